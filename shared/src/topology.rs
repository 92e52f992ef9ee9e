//! RabbitMQ topology (DESIGN.md §3). Every name derives from `AMQP_PREFIX`.
//!
//! ```text
//! receiver ─▶ {p}.events (topic exchange) ─#─▶ {p}.events (quorum queue) ─▶ workers
//!                                                 ▲            │ delivery limit (crash loops)
//!   worker ─▶ {p}.events.retry.{ms}ms (TTL) ──────┘            ▼
//!   worker ─▶ {p}.events.dead (dead letters, kept until replayed)
//! ```
//!
//! Retry queues have no consumer: a message waits there for the queue's TTL, then is
//! dead-lettered through the default exchange straight into the events queue. One
//! queue per delay, since per-message TTL only expires at the head of a queue.

use std::time::Duration;

use lapin::{
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString, ShortString},
    Channel, ExchangeKind,
};

/// How many times the broker may hand out one message before dead-lettering it on its
/// own. Only crash loops should get there: the worker holds messages during Postgres
/// outages instead of returning them, and counts its own attempts in a header. Worker
/// restarts and broker restarts do return the messages a worker holds (up to
/// `WORKER_PREFETCH`), so the limit leaves room for many of those.
pub const DELIVERY_LIMIT: i64 = 50;

/// Records of refused requests the `{prefix}.rejected` queue keeps at most.
pub const REJECTED_MAX_LENGTH: i64 = 10_000;

/// The names of one deployment's exchanges and queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
}

impl Topology {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The exchange the receiver publishes to (topic, routing key = event type).
    pub fn exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// The queue the workers consume.
    pub fn events_queue(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// The dead-letter queue.
    pub fn dead_queue(&self) -> String {
        format!("{}.events.dead", self.prefix)
    }

    /// The change feed's exchange (topic, routing key `<kind>.<op>`), published to
    /// by `worker relay`; the app binds its own queues.
    pub fn changes_exchange(&self) -> String {
        format!("{}.changes", self.prefix)
    }

    /// Declares [`Topology::changes_exchange`]: durable. Idempotent.
    pub async fn declare_changes(&self, channel: &Channel) -> lapin::Result<()> {
        channel
            .exchange_declare(
                self.changes_exchange().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
    }

    /// The log of requests the receiver refused (400, 401, 413, 415): a bounded queue
    /// of small JSON records, the oldest dropped first (see [`REJECTED_MAX_LENGTH`]).
    pub fn rejected_queue(&self) -> String {
        format!("{}.rejected", self.prefix)
    }

    /// Declares [`Topology::rejected_queue`]: durable, at most
    /// [`REJECTED_MAX_LENGTH`] records, the oldest dropped when full. Idempotent (the
    /// receivers declare it with the same arguments).
    pub async fn declare_rejected(&self, channel: &Channel) -> lapin::Result<()> {
        let mut args = FieldTable::default();
        args.insert(
            ShortString::from("x-max-length"),
            AMQPValue::LongLongInt(REJECTED_MAX_LENGTH),
        );
        args.insert(
            ShortString::from("x-overflow"),
            AMQPValue::LongString(LongString::from("drop-head")),
        );
        channel
            .queue_declare(
                self.rejected_queue().as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await?;
        Ok(())
    }

    /// The retry queue that holds messages for `delay`.
    pub fn retry_queue(&self, delay: Duration) -> String {
        format!("{}.events.retry.{}ms", self.prefix, delay.as_millis())
    }

    /// Declares the exchange, the events queue and the dead-letter queue. Idempotent.
    /// For tools and tests; the binaries declare in parts (see
    /// [`Topology::declare_events`]).
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        self.declare_dead_queue(channel).await?;
        self.declare_events(channel).await
    }

    /// Declares the exchange, the events queue and its binding: what publishing and
    /// consuming need. Idempotent, and on a cluster it needs only a majority of the
    /// nodes (the events queue is a quorum queue).
    pub async fn declare_events(&self, channel: &Channel) -> lapin::Result<()> {
        channel
            .exchange_declare(
                self.exchange().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                self.events_queue().into(),
                durable(),
                table(&[
                    ("x-queue-type", string("quorum")),
                    ("x-delivery-limit", AMQPValue::LongLongInt(DELIVERY_LIMIT)),
                    ("x-dead-letter-exchange", string("")),
                    ("x-dead-letter-routing-key", string(&self.dead_queue())),
                    ("x-dead-letter-strategy", string("at-least-once")),
                    ("x-overflow", string("reject-publish")),
                ]),
            )
            .await?;
        channel
            .queue_bind(
                self.events_queue().into(),
                self.exchange().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    }

    /// Declares the dead-letter queue: a classic durable queue. It is read by `dlq
    /// list` and `dlq replay`, which return what they do not take; a quorum queue
    /// would count those returns against its delivery limit (20 by default on
    /// RabbitMQ 4). A classic queue lives on one node of a cluster: while that node
    /// is down, declaring it fails (see [`is_home_node_down`]).
    pub async fn declare_dead_queue(&self, channel: &Channel) -> lapin::Result<()> {
        channel
            .queue_declare(
                self.dead_queue().into(),
                durable(),
                table(&[("x-queue-type", string("classic"))]),
            )
            .await?;
        Ok(())
    }

    /// Declares one retry queue per delay. Idempotent.
    pub async fn declare_retry_queues(
        &self,
        channel: &Channel,
        delays: &[Duration],
    ) -> lapin::Result<()> {
        for delay in delays {
            let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            channel
                .queue_declare(
                    self.retry_queue(*delay).into(),
                    durable(),
                    table(&[
                        ("x-queue-type", string("quorum")),
                        ("x-message-ttl", AMQPValue::LongLongInt(ttl)),
                        ("x-dead-letter-exchange", string("")),
                        ("x-dead-letter-routing-key", string(&self.events_queue())),
                        ("x-dead-letter-strategy", string("at-least-once")),
                        ("x-overflow", string("reject-publish")),
                    ]),
                )
                .await?;
        }
        Ok(())
    }

    /// Every queue name this deployment may use, for clean-up in tests and tools,
    /// in the order to delete them: each before the queue it dead-letters into
    /// (retry queues, then events, then dead letters). RabbitMQ 3.10 answers the
    /// delete of a retry queue whose dead-letter target is already gone with an
    /// `INTERNAL_ERROR` that closes the connection (seen from the bench's clean-up,
    /// which then left the retry queue and the exchange behind).
    pub fn all_queues(&self, delays: &[Duration]) -> Vec<String> {
        let mut names: Vec<String> = delays.iter().map(|d| self.retry_queue(*d)).collect();
        names.push(self.events_queue());
        names.push(self.dead_queue());
        names.push(self.rejected_queue());
        names
    }
}

/// Whether a declare failed because the queue exists and its node is down: RabbitMQ
/// answers a declare of a classic durable queue whose home node is unreachable with
/// 404 NOT_FOUND (a declare that is not passive has no other reason to).
pub fn is_home_node_down(error: &lapin::Error) -> bool {
    match error.kind() {
        lapin::ErrorKind::ProtocolError(e) => matches!(
            e.kind(),
            lapin::protocol::AMQPErrorKind::Soft(lapin::protocol::AMQPSoftError::NOTFOUND)
        ),
        _ => false,
    }
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..Default::default()
    }
}

fn string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in entries {
        t.insert(ShortString::from(*k), v.clone());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_prefix() {
        let t = Topology::new("acme");
        assert_eq!(t.exchange(), "acme.events");
        assert_eq!(t.events_queue(), "acme.events");
        assert_eq!(t.dead_queue(), "acme.events.dead");
        assert_eq!(
            t.retry_queue(Duration::from_secs(30)),
            "acme.events.retry.30000ms"
        );
    }

    #[test]
    fn queues_are_listed_each_before_the_queue_it_dead_letters_into() {
        let t = Topology::new("acme");
        assert_eq!(
            t.all_queues(&[Duration::from_secs(1), Duration::from_secs(30)]),
            [
                "acme.events.retry.1000ms",
                "acme.events.retry.30000ms",
                "acme.events",
                "acme.events.dead",
                "acme.rejected"
            ]
        );
    }

    fn refused(kind: lapin::protocol::AMQPErrorKind) -> lapin::Error {
        lapin::ErrorKind::ProtocolError(lapin::protocol::AMQPError::new(kind, "refused".into()))
            .into()
    }

    #[test]
    fn only_a_404_says_the_home_node_is_down() {
        use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
        assert!(is_home_node_down(&refused(AMQPErrorKind::Soft(
            AMQPSoftError::NOTFOUND
        ))));
        assert!(!is_home_node_down(&refused(AMQPErrorKind::Soft(
            AMQPSoftError::PRECONDITIONFAILED
        ))));
        assert!(!is_home_node_down(&refused(AMQPErrorKind::Hard(
            AMQPHardError::CONNECTIONFORCED
        ))));
        let io: lapin::Error = std::io::Error::other("reset").into();
        assert!(!is_home_node_down(&io));
    }
}
