//! The floors: the least work each component could do for the same events, measured
//! on the same machine in the same run, so that CPU per event can be compared with
//! something real.
//!
//! - HTTP: `bench-sink`, an actix-web server that checks the Svix HMAC with
//!   aws-lc and answers 200 (driven by the same load generator as the receiver);
//! - publishing: lapin, 64 confirmed publishes in flight on one channel
//!   ([`crate::load::publish_ceiling`]);
//! - consuming: lapin, prefetch 500, one `basic.ack multiple` per 200 deliveries;
//! - Postgres: two multi-row statements per 200 events (the records, and the user
//!   upserts under the ordering guard), prepared once, on two sessions.

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::{
    sql_query,
    sql_types::{Array, Nullable, Text, Timestamptz},
    Connection, RunQueryDsl,
};
use futures_util::StreamExt;
use lapin::{
    options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
};
use worker::apply::{Change, EventToApply, Payloads};

use crate::{
    cpu::{self, Snapshot, Spent},
    load::{body, fill_queue},
    setup::Bench,
};

/// What a floor measured: its rate, and the CPU of the client and of the server.
pub struct Floor {
    pub rate: f64,
    pub client: Spent,
    pub server: Spent,
    /// Each operation's time, sorted (the paced publisher only: from the publish
    /// to its confirm).
    pub latencies: Vec<Duration>,
}

/// A raw consumer: prefetch 500, one ack multiple per 200, draining `n` queued events.
pub async fn consume(b: &Bench, n: usize) -> anyhow::Result<Floor> {
    fill_queue(b, n, "floor").await?;
    cpu::settle().await;
    let beam = cpu::rabbitmq_pid()?;
    let ch = b.channel().await?;
    ch.basic_qos(500, BasicQosOptions::default()).await?;
    let (own0, beam0) = (cpu::own_snapshot(), Snapshot::of([beam]));
    let started = Instant::now();
    let mut consumer = ch
        .basic_consume(
            b.topology.events_queue().into(),
            "clerk-sync-bench-floor".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut got = 0usize;
    let mut bytes = 0usize;
    while got < n {
        let d = tokio::time::timeout(Duration::from_secs(30), consumer.next())
            .await
            .context("no delivery within 30 s")?
            .context("consumer ended")??;
        got += 1;
        bytes += d.data.len();
        if got.is_multiple_of(200) || got == n {
            ch.basic_ack(d.delivery_tag, BasicAckOptions { multiple: true })
                .await?;
        }
    }
    let elapsed = started.elapsed();
    let (own1, beam1) = (cpu::own_snapshot(), Snapshot::of([beam]));
    anyhow::ensure!(bytes > 0, "empty deliveries");
    let _ = ch.close(200, "floor done".into()).await;
    Ok(Floor {
        latencies: Vec::new(),
        rate: n as f64 / elapsed.as_secs_f64(),
        client: Spent::new(own1.seconds_since(&own0), n as u64),
        server: Spent::new(beam1.seconds_since(&beam0), n as u64),
    })
}

/// One batch of rows for the least SQL, as arrays.
#[derive(Default)]
struct Rows {
    svix_id: Vec<String>,
    event_type: Vec<String>,
    object_id: Vec<Option<String>>,
    occurred_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    received_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    id: Vec<String>,
    email: Vec<Option<String>>,
    first_name: Vec<Option<String>>,
    last_name: Vec<Option<String>>,
    username: Vec<Option<String>>,
    image_url: Vec<Option<String>>,
    external_id: Vec<Option<String>>,
    public_metadata: Vec<Option<String>>,
    data: Vec<Option<String>>,
    created_at: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    updated_at: Vec<chrono::DateTime<chrono::Utc>>,
}

const RECORDS: &str = "INSERT INTO webhook_events \
     (svix_id, event_type, object_id, occurred_at, received_at, outcome, attempts) \
     SELECT s, t, o, oc, r, 'applied', 1 \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) \
          AS e(s, t, o, oc, r) \
     ON CONFLICT DO NOTHING";

const USERS: &str = "INSERT INTO users AS u (id, email, first_name, last_name, username, \
       image_url, external_id, public_metadata, data, clerk_created_at, clerk_updated_at, \
       synced_at) \
     SELECT id, email, fname, lname, uname, img, ext, pm::jsonb, d::jsonb, ca, ua, now() \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[]) \
          AS r(id, email, fname, lname, uname, img, ext, pm, d, ca, ua) \
     ON CONFLICT (id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name, \
       last_name = excluded.last_name, username = excluded.username, \
       image_url = excluded.image_url, external_id = excluded.external_id, \
       public_metadata = excluded.public_metadata, data = excluded.data, \
       clerk_created_at = excluded.clerk_created_at, \
       clerk_updated_at = greatest(u.clerk_updated_at, excluded.clerk_updated_at), \
       synced_at = now() \
     WHERE u.deleted_at IS NULL AND u.clerk_updated_at <= excluded.clerk_updated_at";

fn rows_of(events: &[EventToApply]) -> anyhow::Result<Rows> {
    let mut r = Rows::default();
    for e in events {
        let Change::User(u) = &e.change else {
            anyhow::bail!("the floor applies user events only");
        };
        r.svix_id.push(e.svix_id.clone());
        r.event_type.push(e.event_type.clone());
        r.object_id.push(e.object_id.clone());
        r.occurred_at.push(e.occurred_at);
        r.received_at.push(e.received_at);
        r.id.push(u.id.clone());
        r.email.push(u.email.clone());
        r.first_name.push(u.first_name.clone());
        r.last_name.push(u.last_name.clone());
        r.username.push(u.username.clone());
        r.image_url.push(u.image_url.clone());
        r.external_id.push(u.external_id.clone());
        r.public_metadata
            .push(u.public_metadata.as_ref().map(|v| v.to_string()));
        r.data.push(u.data.as_ref().map(|d| d.to_text()));
        r.created_at.push(u.clerk_created_at);
        r.updated_at.push(u.clerk_updated_at);
    }
    Ok(r)
}

fn apply_rows(conn: &mut diesel::PgConnection, r: &Rows) -> diesel::QueryResult<()> {
    type Texts = Array<Nullable<Text>>;
    type Times = Array<Nullable<Timestamptz>>;
    conn.transaction(|conn| {
        sql_query(RECORDS)
            .bind::<Array<Text>, _>(&r.svix_id)
            .bind::<Array<Text>, _>(&r.event_type)
            .bind::<Texts, _>(&r.object_id)
            .bind::<Times, _>(&r.occurred_at)
            .bind::<Times, _>(&r.received_at)
            .execute(conn)?;
        sql_query(USERS)
            .bind::<Array<Text>, _>(&r.id)
            .bind::<Texts, _>(&r.email)
            .bind::<Texts, _>(&r.first_name)
            .bind::<Texts, _>(&r.last_name)
            .bind::<Texts, _>(&r.username)
            .bind::<Texts, _>(&r.image_url)
            .bind::<Texts, _>(&r.external_id)
            .bind::<Texts, _>(&r.public_metadata)
            .bind::<Texts, _>(&r.data)
            .bind::<Times, _>(&r.created_at)
            .bind::<Array<Timestamptz>, _>(&r.updated_at)
            .execute(conn)?;
        Ok(())
    })
}

/// The events the SQL phases apply: `n` distinct `user.created`, as the worker
/// decodes them.
pub fn events(n: usize, prefix: &str) -> anyhow::Result<Vec<EventToApply>> {
    (0..n)
        .map(|i| {
            let env = shared::event::Envelope::parse_for_apply(&body(i)).context("envelope")?;
            EventToApply::from_envelope(
                &format!("msg_{prefix}_{i}"),
                env,
                Some(chrono::Utc::now()),
                1,
                Payloads::Discard,
            )
            .map_err(|e| anyhow::anyhow!(e))
        })
        .collect()
}

/// Runs `work` on each share of batches, one connection per share, and measures the
/// Postgres backends of those connections.
pub async fn sql_phase<T: Send + 'static>(
    b: &Bench,
    shares: Vec<Vec<T>>,
    events: usize,
    work: fn(&mut diesel::PgConnection, &T) -> anyhow::Result<()>,
) -> anyhow::Result<Floor> {
    let mut monitor = b.conn()?;
    let own = cpu::backend_pid(&mut monitor)?;
    let mut conns = Vec::new();
    for _ in &shares {
        conns.push(b.conn()?);
    }
    let backends = cpu::postgres_backends(&mut monitor, &b.db_name(), &[own])?;
    let (pg0, own0) = (Snapshot::of(backends.clone()), cpu::own_snapshot());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (share, mut conn) in shares.into_iter().zip(conns) {
        tasks.push(tokio::task::spawn_blocking(move || {
            for batch in &share {
                work(&mut conn, batch)?;
            }
            Ok::<_, anyhow::Error>(conn)
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await??);
    }
    let elapsed = started.elapsed();
    let (pg1, own1) = (Snapshot::of(backends), cpu::own_snapshot());
    drop(done);
    Ok(Floor {
        latencies: Vec::new(),
        rate: events as f64 / elapsed.as_secs_f64(),
        client: Spent::new(own1.seconds_since(&own0), events as u64),
        server: Spent::new(pg1.seconds_since(&pg0), events as u64),
    })
}

/// Deals `batches` round robin into `connections` shares.
pub fn deal<T>(batches: Vec<T>, connections: usize) -> Vec<Vec<T>> {
    let mut shares: Vec<Vec<T>> = (0..connections.max(1)).map(|_| Vec::new()).collect();
    let len = shares.len();
    for (i, batch) in batches.into_iter().enumerate() {
        shares[i % len].push(batch);
    }
    shares
}

/// The least SQL: two multi-row statements per batch, in one transaction.
pub async fn sql(b: &Bench, n: usize, batch: usize, connections: usize) -> anyhow::Result<Floor> {
    let events = events(n, "floor_sql")?;
    let batches = events
        .chunks(batch.max(1))
        .map(rows_of)
        .collect::<anyhow::Result<Vec<_>>>()?;
    sql_phase(b, deal(batches, connections), n, |conn, rows| {
        apply_rows(conn, rows).context("least SQL")
    })
    .await
}
