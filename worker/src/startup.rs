//! `worker run`: migrate, serve health and metrics, consume until told to stop.

use std::time::Duration;

use anyhow::Context;
use shared::{backoff::Backoff, db, report::report_exit, topology::Topology};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    admin::{AdminState, Sources},
    consumer::Consumer,
    endpoints,
    feed::{relay, FeedEndpoint, RelaySettings},
    metrics::Metrics,
    settings::Settings,
};

/// Creates the database and the schema if needed and runs the migrations, waiting
/// for Postgres to come up (as it may, right after `docker compose up`) for up to
/// `patience`. Any other error (a role without the right to create the schema, a
/// transaction pooler, a migration that fails) ends it at once.
pub async fn migrate(
    database_url: &str,
    schema: &str,
    patience: Duration,
) -> anyhow::Result<db::Migrated> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        let (url, s) = (database_url.to_owned(), schema.to_owned());
        let result = tokio::task::spawn_blocking(move || db::migrate(&url, &s))
            .await
            .context("migration task failed")?;
        match result {
            Ok(done) => {
                if done.created_schema {
                    info!(schema, "database schema created");
                }
                if !done.moved_from_public.is_empty() {
                    warn!(
                        schema,
                        moved = ?done.moved_from_public,
                        "an install from before DATABASE_SCHEMA: its tables were moved from public into the schema (the app now reads them as {schema}.users and so on)"
                    );
                }
                return Ok(done);
            }
            Err(e)
                if e.downcast_ref::<db::Unreachable>().is_some()
                    && tokio::time::Instant::now() < deadline =>
            {
                warn!(error = %format!("{e:#}"), "cannot migrate yet; retrying");
                tokio::time::sleep(backoff.next_wait()).await;
            }
            Err(e) => return Err(e).context("could not migrate the database"),
        }
    }
}

/// For `worker run --no-migrate`: checks the connection keeps a session and the
/// schema has every migration this build embeds, waiting for Postgres to come up
/// for up to `patience`.
pub async fn check_migrated(
    database_url: &str,
    schema: &str,
    patience: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        let (url, s) = (database_url.to_owned(), schema.to_owned());
        let result = tokio::task::spawn_blocking(move || {
            db::check_session(&url, &s)?;
            db::pending_migrations(&url, &s)
        })
        .await
        .context("migration check failed")?;
        match result {
            Ok(pending) if pending.is_empty() => {
                info!(schema, "--no-migrate: the schema has every migration");
                return Ok(());
            }
            Ok(pending) => anyhow::bail!(
                "schema \"{schema}\" lacks {} migration(s) of this build ({}): run `worker migrate` \
                 as the owner role, then start the worker again",
                pending.len(),
                pending.join(", ")
            ),
            Err(e)
                if e.downcast_ref::<db::Unreachable>().is_some()
                    && tokio::time::Instant::now() < deadline =>
            {
                warn!(error = %format!("{e:#}"), "cannot check the schema yet; retrying");
                tokio::time::sleep(backoff.next_wait()).await;
            }
            Err(e) => return Err(e).context("could not check the database"),
        }
    }
}

/// A running worker: what `worker run` starts, and what tests drive.
pub struct Worker {
    stop: CancellationToken,
    /// Runs until `stop` is cancelled.
    consumer: JoinHandle<anyhow::Result<()>>,
    /// The HTTP server: runs until stopped through `server`.
    server_task: JoinHandle<anyhow::Result<()>>,
    server: actix_web::dev::ServerHandle,
    metrics_port: u16,
    metrics: Metrics,
}

impl Worker {
    /// Migrates, starts the metrics server and the consumer.
    pub async fn start(settings: Settings) -> anyhow::Result<Self> {
        if settings.migrate {
            let done = migrate(
                &settings.database_url,
                &settings.database_schema,
                Duration::from_secs(60),
            )
            .await?;
            if done.applied.is_empty() {
                info!("database schema up to date: no migration pending");
            } else {
                info!(migrations = ?done.applied, "database migrated");
            }
        } else {
            check_migrated(
                &settings.database_url,
                &settings.database_schema,
                Duration::from_secs(60),
            )
            .await?;
        }
        // One connection per batch in flight, and one to tell an outage from an error.
        let pool_size = settings.db_pool_size.max(
            u32::try_from(settings.concurrency)
                .unwrap_or(u32::MAX)
                .saturating_add(1),
        );
        let pool = db::pool(&settings.database_url, &settings.database_schema, pool_size)?;
        let metrics = Metrics::new();
        let admin = admin_state(&settings, &pool);
        let feed = feed_endpoint(&settings, &pool);
        let probe = endpoints::DatabaseProbe::new(settings.database_url.clone());
        let (server, metrics_port) =
            endpoints::serve(&settings.metrics_addr, metrics.clone(), probe, admin, feed)?;
        let stop = CancellationToken::new();
        let relay = settings.feed.relay.then(|| {
            RelaySettings::new(
                settings.database_url.clone(),
                settings.database_schema.clone(),
                settings.amqp.clone(),
                settings.feed.relay_name.clone(),
            )
        });
        let consumer = Consumer::new(settings, pool, metrics.clone());
        let token = stop.clone();
        let consumer = tokio::spawn(async move {
            match relay {
                // CHANGES_RELAY: the relay runs beside the consumer, until the same stop.
                Some(relay) => {
                    let (_, relayed) =
                        tokio::join!(consumer.run(token.clone()), relay::run(relay, token));
                    relayed.context("the change relay failed")
                }
                None => {
                    consumer.run(token).await;
                    Ok(())
                }
            }
        });
        Ok(Self::assemble(
            stop,
            consumer,
            server,
            metrics_port,
            metrics,
        ))
    }

    fn assemble(
        stop: CancellationToken,
        consumer: JoinHandle<anyhow::Result<()>>,
        server: actix_web::dev::Server,
        metrics_port: u16,
        metrics: Metrics,
    ) -> Self {
        let server_handle = server.handle();
        let server_task =
            tokio::spawn(async move { server.await.context("the HTTP server failed") });
        Self {
            stop,
            consumer,
            server_task,
            server: server_handle,
            metrics_port,
            metrics,
        }
    }

    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A token that stops the worker when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops taking deliveries, finishes the batch in hand, closes the connection.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.wait().await
    }

    /// Waits until the worker has stopped: after its stop token is cancelled, or when
    /// the consumer or the HTTP server ends on its own (a panic, an error), which is
    /// an error, so `worker run` exits non-zero and is restarted.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Self {
            stop,
            mut consumer,
            mut server_task,
            server,
            ..
        } = self;
        tokio::select! {
            ended = &mut consumer => {
                let consumer = report_exit("consumer", ended, stop.is_cancelled());
                stop.cancel();
                server.stop(true).await;
                let server = report_exit("HTTP server", server_task.await, true);
                consumer.and(server)
            }
            ended = &mut server_task => {
                let server = report_exit("HTTP server", ended, false);
                stop.cancel();
                let consumer = report_exit("consumer", consumer.await, true);
                server.and(consumer)
            }
        }
    }
}

/// `GET /changes`, when `CHANGES_TOKEN` or `ADMIN_TOKEN` is set.
fn feed_endpoint(settings: &Settings, pool: &db::PgPool) -> Option<FeedEndpoint> {
    let tokens: Vec<_> = [settings.feed.token.clone(), settings.admin_token.clone()]
        .into_iter()
        .flatten()
        .collect();
    (!tokens.is_empty()).then(|| FeedEndpoint {
        pool: pool.clone(),
        tokens,
    })
}

/// The operator page's state, when `ADMIN_TOKEN` is set.
fn admin_state(settings: &Settings, pool: &db::PgPool) -> Option<AdminState> {
    let token = settings.admin_token.clone()?;
    let topology = Topology::new(settings.amqp.prefix.clone());
    let mut queues = vec![("events".to_owned(), topology.events_queue())];
    let mut delays = settings.retry_delays.clone();
    delays.dedup();
    for d in delays {
        queues.push((
            format!("retry after {}", humantime::format_duration(d)),
            topology.retry_queue(d),
        ));
    }
    queues.push(("dead letters".to_owned(), topology.dead_queue()));
    queues.push(("refused requests".to_owned(), topology.rejected_queue()));
    info!("operator page on /admin (ADMIN_TOKEN is set)");
    Some(AdminState::new(
        token,
        Sources {
            pool: pool.clone(),
            amqp_nodes: settings.amqp.nodes.clone(),
            topology,
            queues,
        },
    ))
}

/// `worker run`: until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    // Before anything starts: a SIGTERM that comes while the worker starts up (its
    // HTTP server already answering) stops it cleanly instead of killing it.
    let signal = ShutdownSignal::register();
    let worker = Worker::start(settings).await?;
    let token = worker.stop_token();
    tokio::spawn(async move {
        signal.recv().await;
        info!("signal received: finishing in-flight events, then stopping");
        token.cancel();
    });
    worker.wait().await?;
    info!("worker stopped");
    Ok(())
}

/// SIGTERM or SIGINT, listened for from the moment it is registered (a signal
/// before then would end the process with the default action).
pub struct ShutdownSignal {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    pub fn register() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// Resolves on SIGTERM or SIGINT.
    pub async fn recv(self) {
        #[cfg(unix)]
        if let Some(mut term) = self.term {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker whose consumer task is `consumer`, with the real HTTP server.
    fn worker_with(consumer: JoinHandle<anyhow::Result<()>>, stop: CancellationToken) -> Worker {
        let metrics = Metrics::new();
        let probe =
            endpoints::DatabaseProbe::new("postgres://postgres@127.0.0.1:5432/postgres".into());
        let (server, port) = endpoints::serve("127.0.0.1:0", metrics.clone(), probe, None, None)
            .expect("a local port");
        Worker::assemble(stop, consumer, server, port, metrics)
    }

    fn refused(port: u16) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    }

    #[tokio::test]
    async fn a_panicking_consumer_fails_the_worker_and_stops_its_server() {
        let stop = CancellationToken::new();
        let consumer = tokio::spawn(async {
            tokio::task::yield_now().await;
            panic!("the consume loop broke");
        });
        let worker = worker_with(consumer, stop.clone());
        let port = worker.metrics_port();
        let e = worker.wait().await.expect_err("a panic is a failure");
        assert!(
            format!("{e:#}").contains("consumer task panicked: the consume loop broke"),
            "{e:#}"
        );
        assert!(stop.is_cancelled());
        assert!(refused(port), "the HTTP server still answers");
    }

    #[tokio::test]
    async fn a_consumer_that_ends_on_its_own_fails_the_worker() {
        let stop = CancellationToken::new();
        let worker = worker_with(tokio::spawn(async { Ok(()) }), stop);
        let e = worker
            .wait()
            .await
            .expect_err("an unasked end is a failure");
        assert!(format!("{e:#}").contains("ended on its own"), "{e:#}");
    }

    #[tokio::test]
    async fn a_stopped_worker_ends_cleanly() {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let consumer = tokio::spawn(async move {
            token.cancelled().await;
            Ok(())
        });
        let worker = worker_with(consumer, stop);
        worker.shutdown().await.expect("a clean stop");
    }
}
