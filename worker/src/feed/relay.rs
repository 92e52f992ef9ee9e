//! `worker relay`: publishes the change feed to RabbitMQ, in order, at least once.
//!
//! Each change goes to the `{prefix}.changes` topic exchange with routing key
//! `<kind>.<op>`, `message_id` = its seq, persistent, in a confirm-mode channel. A
//! page of changes is published, every confirm awaited, and only then is the seq
//! reached saved in `change_relays` (same database as the feed). A relay killed or
//! cut off between the confirm and the save publishes that page again when it
//! resumes: duplicates carry the same `message_id`, and each seq's first copy comes
//! in seq order, so a consumer that skips what it has seen gets every change once.
//!
//! One relay per `CHANGES_RELAY_NAME` works at a time: it holds a session advisory
//! lock on its own connection, and another with the same name waits for it.

use std::time::Duration;

use anyhow::Context;
use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    prelude::*,
    sql_query,
    sql_types::{BigInt, Bool, Text},
};
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::ShortString,
    BasicProperties, Channel, Confirmation,
};
use shared::{
    amqp::NodeRotation, backoff::Backoff, config::AmqpSettings, feed::FeedChange, report::chain,
    topology::Topology,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::read::{self, ReadError};

/// The advisory lock class of relays (the second key is the name's hash).
const RELAY_LOCK_CLASS: i32 = 0x636c_7279; // "clry"

/// What a relay needs.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub database_url: String,
    pub database_schema: String,
    pub amqp: AmqpSettings,
    /// `CHANGES_RELAY_NAME`: whose cursor in `change_relays`.
    pub name: String,
    /// Changes published before their confirms are awaited and the cursor saved.
    pub page: i32,
}

impl RelaySettings {
    /// The default page: large enough to keep the broker's confirms streaming.
    pub const PAGE: i32 = 1000;

    /// A relay named `name` of the feed in `database_url`/`database_schema`, to the
    /// broker of `amqp`, with the default page.
    pub fn new(
        database_url: String,
        database_schema: String,
        amqp: AmqpSettings,
        name: String,
    ) -> Self {
        Self {
            database_url,
            database_schema,
            amqp,
            name,
            page: Self::PAGE,
        }
    }
}

/// Relays until `stop` is cancelled, reconnecting to Postgres and RabbitMQ as long
/// as it takes. Returns an error only for what waiting cannot cure (a bad
/// `DATABASE_SCHEMA`).
pub async fn run(settings: RelaySettings, stop: CancellationToken) -> anyhow::Result<()> {
    let topology = Topology::new(&settings.amqp.prefix);
    let rotation = NodeRotation::new(settings.amqp.nodes.clone());
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    while !stop.is_cancelled() {
        let mut db = match Leader::lead(&settings, &stop).await {
            Ok(Some(db)) => db,
            Ok(None) => return Ok(()),
            Err(e) => {
                warn!(error = %format!("{e:#}"), relay = %settings.name, "change relay: Postgres unavailable; retrying");
                pause(backoff.next_wait(), &stop).await;
                continue;
            }
        };
        let (conn, node) = match rotation.connect("clerk-sync relay").await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %chain(&e), relay = %settings.name, "change relay: RabbitMQ unavailable; retrying");
                pause(backoff.next_wait(), &stop).await;
                continue;
            }
        };
        let channel = match open_channel(&conn, &topology).await {
            Ok(ch) => ch,
            Err(e) => {
                warn!(error = %format!("{e:#}"), relay = %settings.name, "change relay: cannot open its channel; retrying");
                rotation.lost(node);
                pause(backoff.next_wait(), &stop).await;
                continue;
            }
        };
        match relay(&mut db, &channel, &topology, &settings, &stop, &mut backoff).await {
            Ok(()) => {
                let _ = conn.close(200, "relay stopped".into()).await;
                return Ok(());
            }
            Err(Broke::Broker(e)) => {
                warn!(error = %format!("{e:#}"), relay = %settings.name, "change relay: RabbitMQ failed; publishing again from the saved cursor");
                rotation.lost(node);
            }
            Err(Broke::Database(e)) => {
                warn!(error = %format!("{e:#}"), relay = %settings.name, "change relay: Postgres failed; publishing again from the saved cursor");
                let _ = conn.close(200, "relay reconnecting".into()).await;
            }
        }
        pause(backoff.next_wait(), &stop).await;
    }
    Ok(())
}

/// Why relaying stopped short.
enum Broke {
    Broker(anyhow::Error),
    Database(anyhow::Error),
}

async fn open_channel(conn: &lapin::Connection, topology: &Topology) -> anyhow::Result<Channel> {
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    topology
        .declare_changes(&channel)
        .await
        .context("could not declare the changes exchange")?;
    Ok(channel)
}

/// Pages through the feed from the saved cursor until `stop` or a failure. Two
/// pages are in flight at most: the next one is read and published while the
/// broker confirms the one before, and the cursor moves past a page only once all
/// of it is confirmed (pages confirm in order: one channel).
async fn relay(
    db: &mut Leader,
    channel: &Channel,
    topology: &Topology,
    settings: &RelaySettings,
    stop: &CancellationToken,
    backoff: &mut Backoff,
) -> Result<(), Broke> {
    let mut read_from = db.cursor().await.map_err(Broke::Database)?;
    info!(relay = %settings.name, cursor = read_from, exchange = %topology.changes_exchange(), "change relay publishing");
    let exchange = topology.changes_exchange();
    let mut in_flight: std::collections::VecDeque<(i64, Vec<Confirm>)> = Default::default();
    loop {
        if stop.is_cancelled() {
            // What is published is confirmed before stopping, so its cursor is saved.
            while let Some((last, confirms)) = in_flight.pop_front() {
                await_confirms(confirms).await.map_err(Broke::Broker)?;
                db.save(last).await.map_err(Broke::Database)?;
            }
            return Ok(());
        }
        let page = if in_flight.len() < 2 {
            db.read(read_from, settings.page)
                .await
                .map_err(Broke::Database)?
        } else {
            Vec::new()
        };
        if let Some(last) = page.last().map(|c| c.seq) {
            let confirms = publish_page(channel, &exchange, &page)
                .await
                .map_err(Broke::Broker)?;
            in_flight.push_back((last, confirms));
            read_from = last;
            if in_flight.len() < 2 {
                continue;
            }
        }
        match in_flight.pop_front() {
            Some((last, confirms)) => {
                await_confirms(confirms).await.map_err(Broke::Broker)?;
                db.save(last).await.map_err(Broke::Database)?;
                tracing::debug!(relay = %settings.name, to = last, "changes relayed");
                backoff.reset();
            }
            None => db
                .wait_for_changes(Duration::from_secs(1), stop)
                .await
                .map_err(Broke::Database)?,
        }
    }
}

type Confirm = (i64, lapin::PublisherConfirm);

/// Publishes every change of `page` (all in flight at once); returns their confirms.
async fn publish_page(
    channel: &Channel,
    exchange: &str,
    page: &[FeedChange],
) -> anyhow::Result<Vec<Confirm>> {
    let mut confirms = Vec::with_capacity(page.len());
    for change in page {
        let body = serde_json::to_vec(change).context("could not encode a change")?;
        let properties = BasicProperties::default()
            .with_message_id(ShortString::from(change.seq.to_string()))
            .with_content_type(ShortString::from("application/json"))
            .with_type(ShortString::from(change.kind.as_str()))
            .with_delivery_mode(2);
        let confirm = channel
            .basic_publish(
                exchange.into(),
                change.routing_key().as_str().into(),
                BasicPublishOptions::default(),
                &body,
                properties,
            )
            .await
            .with_context(|| format!("could not publish change {}", change.seq))?;
        confirms.push((change.seq, confirm));
    }
    Ok(confirms)
}

/// How long the relay waits for a page's confirms before it gives the connection
/// up and publishes again (a broker under a memory or disk alarm blocks publishers:
/// the relay must not hang, nor keep `worker run` from stopping).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// `Ok` only when the broker has taken every one of `confirms`.
async fn await_confirms(confirms: Vec<Confirm>) -> anyhow::Result<()> {
    for (seq, confirm) in confirms {
        let confirmed = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
            .await
            .map_err(|_| {
                anyhow::anyhow!("no confirm for change {seq} within {CONFIRM_TIMEOUT:?}")
            })?;
        match confirmed.with_context(|| format!("no confirm for change {seq}"))? {
            Confirmation::Ack(_) => {}
            Confirmation::Nack(_) => anyhow::bail!("RabbitMQ refused change {seq} (nack)"),
            Confirmation::NotRequested => {
                anyhow::bail!("the relay's channel is not in confirm mode")
            }
        }
    }
    Ok(())
}

async fn pause(wait: Duration, stop: &CancellationToken) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = stop.cancelled() => {}
    }
}

/// The relay's own Postgres connection: it holds the relay's advisory lock and
/// listens on `clerk_sync_changes`.
struct Leader {
    conn: Option<PgConnection>,
    name: String,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct Cursor {
    #[diesel(sql_type = BigInt)]
    relayed_through: i64,
}

impl Leader {
    /// Connects and takes the relay's lock, waiting while another relay of the same
    /// name holds it. `None` when stopped while waiting.
    async fn lead(
        settings: &RelaySettings,
        stop: &CancellationToken,
    ) -> anyhow::Result<Option<Self>> {
        let (url, schema) = (
            settings.database_url.clone(),
            settings.database_schema.clone(),
        );
        let conn = tokio::task::spawn_blocking(move || shared::db::connect(&url, &schema))
            .await
            .context("connection task failed")??;
        let mut leader = Self {
            conn: Some(conn),
            name: settings.name.clone(),
        };
        let mut waiting = false;
        loop {
            let name = leader.name.clone();
            let locked = leader
                .call(move |c| {
                    sql_query("SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked")
                        .bind::<diesel::sql_types::Integer, _>(RELAY_LOCK_CLASS)
                        .bind::<Text, _>(&name)
                        .get_result::<Locked>(c)
                        .map(|l| l.locked)
                })
                .await?;
            if locked {
                leader
                    .call(|c| c.batch_execute("LISTEN clerk_sync_changes"))
                    .await?;
                return Ok(Some(leader));
            }
            if !waiting {
                info!(relay = %leader.name, "another relay of this name is publishing; standing by");
                waiting = true;
            }
            pause(Duration::from_secs(2), stop).await;
            if stop.is_cancelled() {
                return Ok(None);
            }
        }
    }

    /// Runs `f` on the connection, on a blocking thread.
    async fn call<T, E, F>(&mut self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut conn = self
            .conn
            .take()
            .context("the relay's connection was lost")?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = f(&mut conn);
            (conn, result)
        })
        .await
        .context("database task failed")?;
        self.conn = Some(conn);
        Ok(result?)
    }

    /// The saved cursor; a relay seen for the first time starts where the
    /// retained feed starts.
    async fn cursor(&mut self) -> anyhow::Result<i64> {
        let name = self.name.clone();
        self.call(move |c| {
            sql_query(
                "INSERT INTO change_relays (name, relayed_through) \
                 SELECT $1, pruned_through FROM change_retention ON CONFLICT (name) DO NOTHING",
            )
            .bind::<Text, _>(&name)
            .execute(c)?;
            sql_query("SELECT relayed_through FROM change_relays WHERE name = $1")
                .bind::<Text, _>(&name)
                .get_result::<Cursor>(c)
                .map(|r| r.relayed_through)
        })
        .await
        .context("could not read the relay's cursor")
    }

    async fn read(&mut self, after: i64, limit: i32) -> anyhow::Result<Vec<FeedChange>> {
        let read = self.call(move |c| read::since(c, after, limit)).await;
        read.map_err(|e| {
            let what = match e.downcast_ref::<ReadError>() {
                // Prune keeps what a relay has not passed, so only a relay whose row
                // was deleted by hand gets here.
                Some(ReadError::BehindRetention(_)) => format!(
                    "relay {:?} is behind the retention: DELETE its row from change_relays to start it again from the oldest change kept",
                    self.name
                ),
                Some(ReadError::AheadOfFeed(_)) => format!(
                    "relay {:?} is ahead of the feed (restored or recreated): set its relayed_through in change_relays to changes_head(), or DELETE its row",
                    self.name
                ),
                _ => "could not read the feed".to_owned(),
            };
            e.context(what)
        })
    }

    /// Moves the cursor forward to `seq`. Fenced: a cursor that another relay of the
    /// same name moved past `seq` (this one lost its lock unnoticed), or a row
    /// deleted by hand, is an error, and the relay starts again from what is saved.
    async fn save(&mut self, seq: i64) -> anyhow::Result<()> {
        let name = self.name.clone();
        let saved = self
            .call(move |c| {
                sql_query(
                    "UPDATE change_relays SET relayed_through = $2, updated_at = now() \
                     WHERE name = $1 AND relayed_through <= $2",
                )
                .bind::<Text, _>(&name)
                .bind::<BigInt, _>(seq)
                .execute(c)
            })
            .await
            .context("could not save the relay's cursor")?;
        anyhow::ensure!(
            saved == 1,
            "relay {:?}: its row in change_relays is gone or already past seq {seq} (another relay of this name?)",
            self.name
        );
        Ok(())
    }

    /// Returns when a change is announced, after `timeout`, or on `stop`.
    async fn wait_for_changes(
        &mut self,
        timeout: Duration,
        stop: &CancellationToken,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline && !stop.is_cancelled() {
            let heard = self
                .call(|c| {
                    let mut heard = false;
                    for n in c.notifications_iter() {
                        n?;
                        heard = true;
                    }
                    Ok::<_, diesel::result::Error>(heard)
                })
                .await?;
            if heard {
                return Ok(());
            }
            pause(Duration::from_millis(20), stop).await;
        }
        Ok(())
    }
}
