//! Publishing events to RabbitMQ with publisher confirms, and keeping the channel
//! alive across broker restarts.
//!
//! A supervisor task owns the connection: it connects, declares the topology, puts a
//! confirm-mode channel in place, and when that channel breaks, reconnects with a
//! capped backoff. Requests take the current channel; while there is none they get
//! [`PublishError::Unavailable`] at once, and the receiver answers 503.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::FieldTable,
    BasicProperties, Channel, Confirmation, Connection,
};
use shared::{amqp, topology::headers, topology::Topology};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::metrics::Metrics;

/// How long to wait for the broker's confirm before answering 503. Svix gives an
/// endpoint 15 s.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an event could not be made durable. Every variant is a 503: Svix retries.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to the broker")]
    Unavailable,
    #[error("the broker refused the event (nack)")]
    Nacked,
    #[error("the broker could not route the event: no queue is bound to the exchange")]
    Returned,
    #[error("the broker did not confirm within {0:?}")]
    Timeout(Duration),
    #[error("the broker channel failed: {0}")]
    Channel(#[from] lapin::Error),
}

/// One event, as it is published.
pub struct Outgoing<'a> {
    pub event_type: &'a str,
    pub svix_id: &'a str,
    pub svix_timestamp: i64,
    pub body: &'a [u8],
}

#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    topology: Topology,
    channel: RwLock<Option<Channel>>,
    changed: tokio::sync::Notify,
    metrics: Metrics,
}

impl Publisher {
    /// Starts the supervisor. Returns at once; the first connection is made in the
    /// background (use [`Publisher::wait_connected`] to wait for it).
    pub fn start(
        url: String,
        topology: Topology,
        metrics: Metrics,
        stop: CancellationToken,
    ) -> Self {
        let inner = Arc::new(Inner {
            url,
            topology,
            channel: RwLock::new(None),
            changed: tokio::sync::Notify::new(),
            metrics,
        });
        tokio::spawn(supervise(inner.clone(), stop));
        Self { inner }
    }

    fn current(&self) -> Option<Channel> {
        let guard = self.inner.channel.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|c| c.status().connected()).cloned()
    }

    /// Whether a confirm-mode channel is open.
    pub fn is_ready(&self) -> bool {
        self.current().is_some()
    }

    /// Waits up to `timeout` for a usable channel.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.is_ready() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.is_ready()
    }

    /// Publishes and waits for the broker's confirm.
    pub async fn publish(&self, event: Outgoing<'_>) -> Result<(), PublishError> {
        let channel = self.current().ok_or(PublishError::Unavailable)?;
        let mut table = FieldTable::default();
        amqp::set_str(&mut table, headers::SVIX_ID, event.svix_id);
        amqp::set_int(&mut table, headers::SVIX_TIMESTAMP, event.svix_timestamp);
        let now = chrono::Utc::now();
        amqp::set_str(
            &mut table,
            headers::RECEIVED_AT,
            &now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(event.svix_id.into())
            .with_timestamp(u64::try_from(now.timestamp()).unwrap_or_default())
            .with_headers(table);

        let started = Instant::now();
        let result = tokio::time::timeout(CONFIRM_TIMEOUT, async {
            channel
                .basic_publish(
                    self.inner.topology.exchange().into(),
                    event.event_type.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    event.body,
                    props,
                )
                .await?
                .await
        })
        .await;
        let outcome = match result {
            Err(_) => Err(PublishError::Timeout(CONFIRM_TIMEOUT)),
            Ok(Err(e)) => Err(PublishError::Channel(e)),
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(_)))) => Err(PublishError::Returned),
            Ok(Ok(Confirmation::Nack(_))) => Err(PublishError::Nacked),
            // Only without confirm mode, which this channel always has.
            Ok(Ok(Confirmation::NotRequested)) => Err(PublishError::Unavailable),
        };
        self.inner
            .metrics
            .confirm_seconds
            .observe(started.elapsed().as_secs_f64());
        if matches!(
            outcome,
            Err(PublishError::Channel(_)) | Err(PublishError::Timeout(_))
        ) {
            // Let the supervisor check the channel now rather than at its next tick.
            self.inner.changed.notify_one();
        }
        outcome
    }
}

async fn open(inner: &Inner) -> anyhow::Result<(Connection, Channel)> {
    let conn = amqp::connect(&inner.url, "clerk-sync receiver").await?;
    let channel = conn.create_channel().await?;
    inner.topology.declare(&channel).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok((conn, channel))
}

async fn supervise(inner: Arc<Inner>, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    let max_backoff = Duration::from_secs(5);
    let mut was_down_logged = false;
    while !stop.is_cancelled() {
        match open(&inner).await {
            Ok((conn, channel)) => {
                info!(
                    "connected to RabbitMQ, publishing to {}",
                    inner.topology.exchange()
                );
                *inner.channel.write().unwrap_or_else(|e| e.into_inner()) = Some(channel.clone());
                inner.metrics.broker_connected.set(1);
                backoff = Duration::from_millis(200);
                was_down_logged = false;
                // Watch the channel until it breaks or we are told to stop.
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = inner.changed.notified() => {},
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {},
                    }
                    if !(channel.status().connected() && conn.status().connected()) {
                        break;
                    }
                }
                *inner.channel.write().unwrap_or_else(|e| e.into_inner()) = None;
                inner.metrics.broker_connected.set(0);
                if stop.is_cancelled() {
                    let _ = conn.close(200, "receiver shutting down".into()).await;
                    return;
                }
                warn!("lost the RabbitMQ channel; reconnecting (requests get 503 meanwhile)");
            }
            Err(e) => {
                if !was_down_logged {
                    warn!(error = %e, "cannot reach RabbitMQ; retrying (requests get 503 meanwhile)");
                    was_down_logged = true;
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {},
                }
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
}
