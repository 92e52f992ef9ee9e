//! `worker run`: migrate, serve health and metrics, consume until told to stop.

use std::time::Duration;

use anyhow::Context;
use shared::{db, topology::Topology};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    admin::{AdminState, Sources},
    consumer::Consumer,
    http,
    metrics::Metrics,
    settings::Settings,
};

/// Creates the database if needed and runs the migrations, waiting for Postgres to
/// come up (as it may, right after `docker compose up`) for up to `patience`.
pub async fn migrate(database_url: &str, patience: Duration) -> anyhow::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut wait = Duration::from_millis(250);
    loop {
        let url = database_url.to_owned();
        let result = tokio::task::spawn_blocking(move || db::migrate(&url))
            .await
            .context("migration task failed")?;
        match result {
            Ok(applied) => return Ok(applied),
            Err(e) if tokio::time::Instant::now() < deadline => {
                warn!(error = %format!("{e:#}"), "cannot migrate yet; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e).context("could not migrate the database (check DATABASE_URL)"),
        }
    }
}

/// A running worker: what `worker run` starts, and what tests drive.
pub struct Worker {
    stop: CancellationToken,
    consumer: tokio::task::JoinHandle<()>,
    server: actix_web::dev::ServerHandle,
    metrics_port: u16,
    metrics: Metrics,
}

impl Worker {
    /// Migrates, starts the metrics server and the consumer.
    pub async fn start(settings: Settings) -> anyhow::Result<Self> {
        let applied = migrate(&settings.database_url, Duration::from_secs(60)).await?;
        if !applied.is_empty() {
            info!(migrations = ?applied, "database migrated");
        }
        // One connection per batch in flight, and one to tell an outage from an error.
        let pool_size = settings.db_pool_size.max(
            u32::try_from(settings.concurrency)
                .unwrap_or(u32::MAX)
                .saturating_add(1),
        );
        let pool = db::pool(&settings.database_url, pool_size)?;
        let metrics = Metrics::new();
        let admin = admin_state(&settings, &pool);
        let probe = http::DatabaseProbe::new(settings.database_url.clone());
        let (server, metrics_port) =
            http::serve(&settings.metrics_addr, metrics.clone(), probe, admin)?;
        let server_handle = server.handle();
        tokio::spawn(server);
        let stop = CancellationToken::new();
        let consumer = Consumer::new(settings, pool, metrics.clone());
        let token = stop.clone();
        let consumer = tokio::spawn(async move { consumer.run(token).await });
        Ok(Self {
            stop,
            consumer,
            server: server_handle,
            metrics_port,
            metrics,
        })
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
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.wait().await;
    }

    /// Waits until the worker has stopped (after its stop token is cancelled).
    pub async fn wait(self) {
        let _ = self.consumer.await;
        self.server.stop(true).await;
    }
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
    info!("operator page on /admin (ADMIN_TOKEN is set)");
    Some(AdminState::new(
        token,
        Sources {
            pool: pool.clone(),
            amqp_url: settings.amqp.url.clone(),
            topology,
            queues,
        },
    ))
}

/// `worker run`: until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let worker = Worker::start(settings).await?;
    let token = worker.stop_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        info!("signal received: finishing in-flight events, then stopping");
        token.cancel();
    });
    worker.wait().await;
    info!("worker stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
