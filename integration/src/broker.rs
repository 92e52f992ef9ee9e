//! An `AMQP_PREFIX` per test, its queues and exchange deleted at the end.

use std::time::Duration;

use lapin::{
    options::{
        BasicAckOptions, BasicGetOptions, BasicPublishOptions, ExchangeDeleteOptions,
        QueueDeclareOptions, QueueDeleteOptions,
    },
    types::FieldTable,
    BasicProperties, Channel, Connection,
};
use shared::topology::Topology;

use crate::AMQP_URL;

pub struct TestBroker {
    pub prefix: String,
    pub topology: Topology,
    /// Retry delays in use, so their queues are deleted too.
    pub retry_delays: std::sync::Mutex<Vec<Duration>>,
}

/// A message taken from a queue.
#[derive(Debug, Clone)]
pub struct Taken {
    pub routing_key: String,
    pub properties: BasicProperties,
    pub body: Vec<u8>,
}

impl Taken {
    /// The AMQP `message_id`: the svix-id.
    pub fn message_id(&self) -> Option<String> {
        self.properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
    }
}

impl TestBroker {
    pub async fn new() -> Self {
        let prefix = format!("test-{}", crate::unique());
        let topology = Topology::new(prefix.clone());
        let b = Self {
            prefix,
            topology,
            retry_delays: Default::default(),
        };
        let ch = b.channel().await;
        b.topology.declare(&ch).await.expect("topology declares");
        b
    }

    pub async fn channel(&self) -> Channel {
        connect().await.create_channel().await.expect("channel")
    }

    /// Number of messages ready in `queue`, as the broker reports it.
    pub async fn count(&self, queue: &str) -> u32 {
        let ch = self.channel().await;
        ch.queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map(|q| q.message_count())
        .unwrap_or(0)
    }

    /// Takes (and acks) every message in `queue` now.
    pub async fn drain(&self, queue: &str) -> Vec<Taken> {
        self.take_all(queue, true).await
    }

    /// Waits until `queue` holds `n` messages (by reading them without acking).
    pub async fn wait_count(&self, queue: &str, n: usize, timeout: Duration) -> Vec<Taken> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let seen = self.peek(queue).await;
            if seen.len() >= n || tokio::time::Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reads every message in `queue` without removing any.
    pub async fn peek(&self, queue: &str) -> Vec<Taken> {
        self.take_all(queue, false).await
    }

    /// Reads every message in `queue`, in order; acks (removes) them if `remove`,
    /// else they return to the queue when the connection closes.
    async fn take_all(&self, queue: &str, remove: bool) -> Vec<Taken> {
        let conn = connect().await;
        let ch = conn.create_channel().await.expect("channel");
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await
            .expect("basic.get")
        {
            out.push(Taken {
                routing_key: m.delivery.routing_key.as_str().to_owned(),
                properties: m.delivery.properties.clone(),
                body: m.delivery.data.clone(),
            });
            if remove {
                m.delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("ack");
            }
        }
        let _ = conn.close(200, "done".into()).await;
        out
    }

    /// Publishes raw bytes to the events exchange, as the receiver would.
    pub async fn publish_raw(&self, routing_key: &str, svix_id: &str, body: &[u8]) {
        let ch = self.channel().await;
        ch.confirm_select(Default::default())
            .await
            .expect("confirms");
        let confirm = ch
            .basic_publish(
                self.topology.exchange().into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                BasicProperties::default()
                    .with_message_id(svix_id.into())
                    .with_delivery_mode(2),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        assert!(confirm.is_ack(), "published");
    }
}

async fn connect() -> Connection {
    shared::amqp::connect(AMQP_URL, "clerk-sync tests")
        .await
        .expect("RabbitMQ reachable on 127.0.0.1:5672")
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let topology = self.topology.clone();
        let delays = self
            .retry_delays
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let conn = shared::amqp::connect(AMQP_URL, "clerk-sync test cleanup")
                    .await
                    .ok()?;
                let ch = conn.create_channel().await.ok()?;
                for q in topology.all_queues(&delays) {
                    let _ = ch
                        .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
                for exchange in [topology.exchange(), topology.changes_exchange()] {
                    let _ = ch
                        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                }
                let _ = conn.close(200, "cleaned".into()).await;
                Some(())
            })
        })
        .join();
    }
}
