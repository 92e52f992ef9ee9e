//! The consume loop, one file per job. An event's path through it:
//!
//! 1. `session`: one connection to RabbitMQ; takes deliveries in batches, several
//!    batches in flight, and reconnects when the connection is lost;
//! 2. `batch`: decodes each delivery ([`crate::delivery`]), applies the events
//!    (`outage` rides out Postgres outages around [`crate::apply`]), asks
//!    `decide` what happens to each, and settles it;
//! 3. `routing`: republishes a failed one to a retry queue or the dead-letter queue,
//!    confirmed (within a bounded wait, one at a time, on a connection of its own)
//!    before the original is acked;
//! 4. `acks`: one `basic.ack multiple` per settled batch.
//!
//! Error policy: a delivery's failure is a typed `decide::Failure` that keeps its
//! cause; only `decide::decide` turns it into an action, and a delivery is acked
//! only with a verdict. Errors that end a session (`session::SessionError`) are
//! logged once, with their cause chain, where the session is restarted.

pub(crate) mod acks;
mod batch;
mod decide;
mod outage;
mod routing;
mod session;

use std::{sync::Arc, time::Duration, time::Instant};

use shared::{amqp::NodeRotation, backoff::Backoff, db::PgPool, report::chain, topology::Topology};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::{metrics::Metrics, settings::Settings};
use decide::RetryPolicy;

/// Everything the consume loop needs.
#[derive(Clone)]
pub struct Consumer {
    settings: Arc<Settings>,
    topology: Topology,
    pool: PgPool,
    metrics: Metrics,
    policy: RetryPolicy,
    /// Unique to this process: every container is pid 1.
    tag: String,
    /// One republish in flight at a time (see `routing`).
    republish_turn: Arc<tokio::sync::Mutex<()>>,
    /// Which node of `AMQP_URL` the next session connects to.
    nodes: Arc<NodeRotation>,
    /// Transactions this worker committed: how `outage` tells an outage of
    /// Postgres from one event that Postgres refuses with an outage's SQLSTATE.
    commits: Arc<std::sync::atomic::AtomicU64>,
}

impl Consumer {
    pub fn new(settings: Settings, pool: PgPool, metrics: Metrics) -> Self {
        let topology = Topology::new(settings.amqp.prefix.clone());
        let nodes = Arc::new(NodeRotation::new(settings.amqp.nodes.clone()));
        let policy = RetryPolicy {
            max_attempts: settings.max_attempts,
            delays: settings.retry_delays.clone(),
        };
        Self {
            settings: Arc::new(settings),
            topology,
            pool,
            metrics,
            policy,
            tag: format!("clerk-sync-worker-{}", uuid::Uuid::new_v4().simple()),
            republish_turn: Arc::default(),
            nodes,
            commits: Arc::default(),
        }
    }

    /// Consumes until `stop` is cancelled, reconnecting to RabbitMQ with a capped
    /// backoff whenever the connection is lost (to the next node of `AMQP_URL`
    /// first, see `session`). Returns once in-flight events are
    /// finished and the connection is closed.
    pub async fn run(&self, stop: CancellationToken) {
        let mut backoff = Backoff::default();
        while !stop.is_cancelled() {
            let started = Instant::now();
            match self.session(&stop).await {
                Ok(()) => break,
                Err(e) => {
                    self.metrics.consumer_connected.set(0);
                    if started.elapsed() > Duration::from_secs(10) {
                        backoff.reset();
                    }
                    let wait = backoff.next_wait();
                    warn!(error = %chain(&e), retry_in = ?wait, "RabbitMQ session ended; reconnecting");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        self.metrics.consumer_connected.set(0);
    }
}
