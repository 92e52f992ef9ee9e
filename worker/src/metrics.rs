//! Worker metrics, Prometheus text format, names prefixed `clerk_sync_`.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use chrono::{DateTime, Utc};
use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

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
    /// The batches being applied now, with the receive time of each one's oldest
    /// event: `clerk_sync_worker_oldest_in_hand_seconds`.
    pub in_hand: InHand,
    oldest_in_hand: Gauge,
}

/// The batches a worker is applying now (from decoding to the last ack, waits for
/// Postgres included), each with the receive time of its oldest event. Clones share
/// them.
#[derive(Clone, Default)]
pub struct InHand {
    next: Arc<AtomicU64>,
    batches: Arc<Mutex<HashMap<u64, DateTime<Utc>>>>,
}

/// A batch in hand; it leaves [`InHand`] when dropped, however its work ends.
pub struct Held {
    id: u64,
    batches: Arc<Mutex<HashMap<u64, DateTime<Utc>>>>,
}

impl InHand {
    /// Records a batch whose oldest event was received at `oldest` (nothing if no
    /// event carries a receive time).
    pub fn hold(&self, oldest: Option<DateTime<Utc>>) -> Held {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(at) = oldest {
            let mut batches = self.batches.lock().unwrap_or_else(|e| e.into_inner());
            batches.insert(id, at);
        }
        Held {
            id,
            batches: self.batches.clone(),
        }
    }

    /// Seconds from the receipt of the oldest event in hand to `now`; 0 when none.
    pub fn oldest_age(&self, now: DateTime<Utc>) -> f64 {
        let batches = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        batches
            .values()
            .min()
            .map(|at| (now - *at).num_milliseconds().max(0) as f64 / 1e3)
            .unwrap_or(0.0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut batches = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        batches.remove(&self.id);
    }
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
        let oldest_in_hand = Gauge::new(
            "clerk_sync_worker_oldest_in_hand_seconds",
            "Age (since the receiver accepted it) of the oldest event in the batches being applied; 0 when none.",
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
                Box::new(oldest_in_hand.clone()),
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
            in_hand: InHand::default(),
            oldest_in_hand,
        }
    }

    pub fn count(&self, event_type: &str, outcome: &str) {
        self.events.with_label_values(&[event_type, outcome]).inc();
    }

    pub fn render(&self) -> String {
        self.oldest_in_hand.set(self.in_hand.oldest_age(Utc::now()));
        shared::metrics::render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("a valid time")
    }

    #[test]
    fn the_oldest_batch_in_hand_counts_until_it_is_dropped() {
        let in_hand = InHand::default();
        assert_eq!(in_hand.oldest_age(at(100)), 0.0, "nothing in hand");
        let newer = in_hand.hold(Some(at(90)));
        let older = in_hand.hold(Some(at(40)));
        let untimed = in_hand.hold(None);
        assert_eq!(in_hand.oldest_age(at(100)), 60.0);
        drop(older);
        assert_eq!(in_hand.oldest_age(at(100)), 10.0, "the next oldest");
        drop(untimed);
        assert_eq!(in_hand.oldest_age(at(100)), 10.0);
        assert_eq!(in_hand.oldest_age(at(80)), 0.0, "never negative");
        drop(newer);
        assert_eq!(in_hand.oldest_age(at(100)), 0.0);
    }

    #[test]
    fn the_gauge_is_exported_and_follows_what_is_in_hand() {
        let m = Metrics::new();
        assert!(m
            .render()
            .lines()
            .any(|l| l == "clerk_sync_worker_oldest_in_hand_seconds 0"));
        let _held = m
            .in_hand
            .hold(Some(Utc::now() - chrono::Duration::minutes(20)));
        let text = m.render();
        let value: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("clerk_sync_worker_oldest_in_hand_seconds "))
            .and_then(|v| v.parse().ok())
            .expect("the gauge");
        assert!(value >= 1200.0, "{value}");
    }
}
