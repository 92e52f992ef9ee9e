//! Worker metrics, Prometheus text format, names prefixed `clerk_sync_`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Events by type and outcome: applied, stale, duplicate, ignored, retried,
    /// dead_lettered.
    pub events: IntCounterVec,
    /// Time spent in Postgres applying one batch (its transaction, or the ones of
    /// its events applied one by one), without waits for Postgres to come back.
    pub apply_seconds: Histogram,
    /// Time from the receiver accepting an event to its commit.
    pub lag_seconds: Histogram,
    pub consumer_connected: IntGauge,
    pub database_up: IntGauge,
    /// Transactions run again at once because they lost a race (deadlock or
    /// serialization failure); no attempt is charged for those.
    pub reruns: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let events = IntCounterVec::new(
            Opts::new(
                "clerk_sync_worker_events_total",
                "Events handled, by type and outcome.",
            ),
            &["event_type", "outcome"],
        )
        .expect("valid metric");
        let apply_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "clerk_sync_worker_apply_seconds",
                "Time spent in Postgres applying one batch of events, outage waits excluded.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .expect("valid metric");
        let lag_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "clerk_sync_worker_lag_seconds",
                "Time from the receiver accepting an event to its commit.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0,
            ]),
        )
        .expect("valid metric");
        let consumer_connected = IntGauge::new(
            "clerk_sync_worker_consumer_connected",
            "1 while the worker consumes from RabbitMQ.",
        )
        .expect("valid metric");
        let database_up = IntGauge::new(
            "clerk_sync_worker_database_up",
            "0 while the worker waits for Postgres to come back.",
        )
        .expect("valid metric");
        database_up.set(1);
        let reruns = IntCounter::new(
            "clerk_sync_worker_transaction_reruns_total",
            "Transactions run again at once after a deadlock or serialization failure.",
        )
        .expect("valid metric");
        shared::metrics::register(
            &registry,
            vec![
                Box::new(events.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(apply_seconds.clone()),
                Box::new(lag_seconds.clone()),
                Box::new(consumer_connected.clone()),
                Box::new(database_up.clone()),
                Box::new(reruns.clone()),
            ],
        );
        Self {
            registry,
            events,
            apply_seconds,
            lag_seconds,
            consumer_connected,
            database_up,
            reruns,
        }
    }

    pub fn count(&self, event_type: &str, outcome: &str) {
        self.events.with_label_values(&[event_type, outcome]).inc();
    }

    pub fn render(&self) -> String {
        shared::metrics::render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
