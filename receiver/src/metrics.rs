//! Receiver metrics, Prometheus text format, names prefixed `clerk_sync_`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every `outcome` of `clerk_sync_receiver_requests_total`. Each series exists from
/// start-up at 0, so that `rate()` and `increase()` see the first 401 or 503 too (a
/// series born at 1 shows no increase) and an alert can name any of them.
pub const OUTCOMES: [&str; 6] = [
    "accepted",
    "bad_request",
    "unauthorized",
    "too_large",
    "unsupported_encoding",
    "unavailable",
];

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests to the webhook endpoint by outcome: accepted, bad_request,
    /// unauthorized, too_large, unavailable.
    pub requests: IntCounterVec,
    /// `requests` for `accepted`, looked up once.
    pub accepted: IntCounter,
    /// Time from publish to broker confirm.
    pub confirm_seconds: Histogram,
    pub in_flight: IntGauge,
    pub broker_connected: IntGauge,
    /// Events per batch published (see `publisher::lanes`).
    pub batch_size: Histogram,
    /// Refused requests (400, 401, 413, 415) by reason (see `rejected`).
    pub rejected: IntCounterVec,
    /// Records of refused requests not logged (channel full, broker away).
    pub rejected_dropped: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "clerk_sync_receiver_requests_total",
                "Webhook requests by outcome.",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let confirm_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "clerk_sync_receiver_publish_confirm_seconds",
                "Time from publishing an event to the broker's confirm.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("valid metric");
        let in_flight = IntGauge::new(
            "clerk_sync_receiver_in_flight_requests",
            "Webhook requests being handled.",
        )
        .expect("valid metric");
        let broker_connected = IntGauge::new(
            "clerk_sync_receiver_broker_connected",
            "1 when the publishing channel to RabbitMQ is open.",
        )
        .expect("valid metric");
        let batch_size = Histogram::with_opts(
            HistogramOpts::new(
                "clerk_sync_receiver_publish_batch_size",
                "Events per batch a worker thread published together on its channel.",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
        )
        .expect("valid metric");
        let rejected = IntCounterVec::new(
            Opts::new(
                "clerk_sync_receiver_rejected_total",
                "Requests the webhook endpoint refused (400, 401, 413, 415), by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let rejected_dropped = IntCounter::new(
            "clerk_sync_receiver_rejected_dropped_total",
            "Records of refused requests not written to the rejected queue (full, or the broker away).",
        )
        .expect("valid metric");
        shared::metrics::register(
            &registry,
            vec![
                Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(confirm_seconds.clone()),
                Box::new(in_flight.clone()),
                Box::new(broker_connected.clone()),
                Box::new(batch_size.clone()),
                Box::new(rejected.clone()),
                Box::new(rejected_dropped.clone()),
            ],
        );
        for outcome in OUTCOMES {
            requests.with_label_values(&[outcome]);
        }
        let accepted = requests.with_label_values(&["accepted"]);
        Self {
            registry,
            accepted,
            requests,
            confirm_seconds,
            in_flight,
            broker_connected,
            batch_size,
            rejected,
            rejected_dropped,
        }
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
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

    #[test]
    fn every_outcome_is_exported_at_zero_from_the_start() {
        let text = Metrics::new().render();
        for outcome in OUTCOMES {
            let line = format!("clerk_sync_receiver_requests_total{{outcome=\"{outcome}\"}} 0");
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }

    #[test]
    fn the_outcomes_named_elsewhere_are_among_them() {
        assert!(OUTCOMES.contains(&crate::encoding::OUTCOME));
    }
}
