//! Publishing events to RabbitMQ with publisher confirms, and keeping the channels
//! alive across broker restarts.
//!
//! A supervisor task owns the connection: it connects to the first node of
//! `AMQP_URL` that answers, declares what it publishes through (the exchange and the
//! events queue, never the dead-letter queue: see
//! [`Topology::declare_events`]), puts one confirm-mode channel per lane in place
//! (see [`channels_for`]), and when one breaks (or can no longer be trusted), reconnects, starting
//! with the next node of the list, and with a capped backoff once every node has
//! been tried. While there is no usable channel a request gets
//! [`PublishError::Unavailable`] at once, and the receiver answers 503.
//!
//! Requests do not publish one by one: each worker thread gathers its requests into
//! batches and keeps a few in flight on a channel of its own (`lanes`), each event
//! told its own outcome by its own confirm (`ledger`).
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

use actix_web::web::Bytes;
use lapin::{
    options::ConfirmSelectOptions,
    types::{FieldTable, ShortString},
    BasicProperties, Channel, Connection,
};
use shared::{
    amqp::NodeRotation, backoff::Backoff, config::AmqpNodes, headers, report::chain,
    topology::Topology,
};
use tokio::{
    sync::{oneshot, Mutex, OwnedMutexGuard},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument, Span};

use crate::metrics::Metrics;

mod lanes;
mod ledger;

pub use lanes::{BATCHES_IN_FLIGHT, MAX_BATCH};

/// How long to wait for the broker's confirm before answering 503. Svix gives an
/// endpoint 15 s.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// Confirm-mode channels for `workers` HTTP worker threads: one each, so a thread
/// never waits for a channel (each carries its thread's batches in flight, see
/// `lanes`). No more than that: lapin checks the flow state of every channel of the
/// connection for each frame it writes.
pub fn channels_for(workers: usize) -> usize {
    workers.max(1)
}

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
    Channel(lapin::Error),
}

/// One event, as it is published.
pub struct Outgoing<'a> {
    pub event_type: &'a str,
    pub svix_id: &'a str,
    pub svix_timestamp: i64,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

/// The channels of one connection, each with its turn.
struct Pool {
    channels: Vec<Channel>,
    turns: Vec<Arc<Mutex<()>>>,
}

impl Pool {
    fn usable(&self) -> bool {
        self.channels.iter().all(|c| c.status().connected())
    }
}

struct Inner {
    nodes: NodeRotation,
    channels: usize,
    topology: Topology,
    /// The exchange's name as lapin takes it, made once.
    exchange: ShortString,
    pool: RwLock<Option<Arc<Pool>>>,
    next: AtomicUsize,
    /// Set when a channel can no longer be trusted to carry only what its ledger
    /// knows of (a confirm timed out and is still pending, or a return named a
    /// message not in flight): the supervisor replaces the connection.
    poisoned: AtomicBool,
    changed: tokio::sync::Notify,
    metrics: Metrics,
}

impl Publisher {
    /// Starts the supervisor. Returns at once; the first connection is made in the
    /// background (use [`Publisher::wait_connected`] to wait for it). The supervisor
    /// task runs until `stop` is cancelled: its handle is for reporting its end.
    pub fn start(
        channels: usize,
        nodes: AmqpNodes,
        topology: Topology,
        metrics: Metrics,
        stop: CancellationToken,
    ) -> (Self, JoinHandle<anyhow::Result<()>>) {
        let inner = Arc::new(Inner {
            nodes: NodeRotation::new(nodes),
            channels: channels.max(1),
            exchange: ShortString::from(topology.exchange()),
            topology,
            pool: RwLock::new(None),
            next: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            metrics,
        });
        let supervisor = tokio::spawn(supervise(inner.clone(), stop));
        (Self { inner }, supervisor)
    }

    fn current(&self) -> Option<Arc<Pool>> {
        let guard = self.inner.pool.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|p| p.usable()).cloned()
    }

    /// A channel index for a new thread's lanes: each thread its own, in turn.
    fn next_channel(&self) -> usize {
        self.inner.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The channel `preferred` of `pool` if free, else any free one, else the
    /// preferred one's turn when it comes. A thread holds its turn while it has
    /// batches in flight: a channel's confirms are read by one thread's ledger.
    async fn take_turn(&self, pool: &Pool, preferred: usize) -> (Channel, OwnedMutexGuard<()>) {
        let n = pool.channels.len();
        for k in 0..n {
            let i = (preferred + k) % n;
            if let Ok(turn) = pool.turns[i].clone().try_lock_owned() {
                return (pool.channels[i].clone(), turn);
            }
        }
        let i = preferred % n;
        let turn = pool.turns[i].clone().lock_owned().await;
        (pool.channels[i].clone(), turn)
    }

    /// Marks the channels untrustworthy and wakes the supervisor to replace them.
    fn poison(&self) {
        self.inner.poisoned.store(true, Ordering::SeqCst);
        self.inner.changed.notify_one();
    }

    /// Whether the confirm-mode channels are open.
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

    /// Whether `other` is this publisher (or a clone of it).
    fn same_as(&self, other: &Publisher) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Publishes and waits for the broker's confirm. Must be called from within a
    /// `LocalSet`, as actix-web handlers are: the event joins this thread's next
    /// batch.
    pub async fn publish(&self, event: Outgoing<'_>) -> Result<(), PublishError> {
        if !shared::otel::enabled() {
            return self.publish_in(event, &Span::none()).await;
        }
        // Traces on: the span whose context the message carries to the worker.
        let span = info_span!(
            "publish",
            otel.kind = "producer",
            svix_id = event.svix_id,
            event_type = event.event_type,
            messaging.system = "rabbitmq",
            messaging.destination.name = %self.inner.topology.exchange(),
        );
        self.publish_in(event, &span).instrument(span.clone()).await
    }

    /// [`Publisher::publish`], its message carrying `span`'s trace context.
    async fn publish_in(&self, event: Outgoing<'_>, span: &Span) -> Result<(), PublishError> {
        if self.current().is_none() {
            return Err(PublishError::Unavailable);
        }
        let mut table = FieldTable::default();
        shared::otel::inject(span, &mut table);
        headers::set_str(&mut table, headers::SVIX_ID, event.svix_id);
        headers::set_int(&mut table, headers::SVIX_TIMESTAMP, event.svix_timestamp);
        let now = chrono::Utc::now();
        headers::set_str(
            &mut table,
            headers::RECEIVED_AT,
            &now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        let message_id = ShortString::from(event.svix_id);
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message_id.clone())
            .with_timestamp(u64::try_from(now.timestamp()).unwrap_or_default())
            .with_headers(table);

        let started = Instant::now();
        let (reply, answer) = oneshot::channel();
        lanes::submit(
            self,
            lanes::Pending {
                message: lanes::Message {
                    routing_key: event.event_type.into(),
                    body: event.body,
                    properties,
                    message_id,
                },
                reply,
            },
        );
        let outcome = match tokio::time::timeout(CONFIRM_TIMEOUT, answer).await {
            Err(_) => {
                // The event may still be pending on its channel.
                self.poison();
                Err(PublishError::Timeout(CONFIRM_TIMEOUT))
            }
            // The thread's lanes went (its runtime is stopping).
            Ok(Err(_)) => Err(PublishError::Unavailable),
            Ok(Ok(result)) => result,
        };
        self.inner
            .metrics
            .confirm_seconds
            .observe(started.elapsed().as_secs_f64());
        outcome
    }
}

/// Connects to a node and opens the pool. Returns the node's index in `AMQP_URL`
/// with the connection; a failure after connecting names the node too.
async fn open(inner: &Inner) -> Result<(Connection, usize, Pool), (Option<usize>, anyhow::Error)> {
    let (conn, node) = inner
        .nodes
        .connect("clerk-sync receiver")
        .await
        .map_err(|e| (None, e.into()))?;
    match channels(inner, &conn).await {
        Ok(pool) => Ok((conn, node, pool)),
        Err(e) => {
            let _ = conn.close(200, "could not open the channels".into()).await;
            Err((Some(node), e))
        }
    }
}

async fn channels(inner: &Inner, conn: &Connection) -> anyhow::Result<Pool> {
    let mut channels = Vec::with_capacity(inner.channels);
    for i in 0..inner.channels {
        let channel = conn.create_channel().await?;
        if i == 0 {
            inner.topology.declare_events(&channel).await?;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channels.push(channel);
    }
    let turns = (0..channels.len())
        .map(|_| Arc::new(Mutex::new(())))
        .collect();
    Ok(Pool { channels, turns })
}

/// Keeps the confirm-mode channels in place until `stop` is cancelled.
async fn supervise(inner: Arc<Inner>, stop: CancellationToken) -> anyhow::Result<()> {
    let mut backoff = Backoff::default();
    let mut was_down_logged = false;
    while !stop.is_cancelled() {
        match open(&inner).await {
            Ok((conn, node, pool)) => {
                info!(
                    channels = inner.channels,
                    node = %inner.nodes.nodes().redacted(node),
                    "connected to RabbitMQ, publishing to {}",
                    inner.topology.exchange()
                );
                inner.poisoned.store(false, Ordering::SeqCst);
                let pool = Arc::new(pool);
                *inner.pool.write().unwrap_or_else(|e| e.into_inner()) = Some(pool.clone());
                inner.metrics.broker_connected.set(1);
                backoff.reset();
                was_down_logged = false;
                // Watch the channel until it breaks or we are told to stop.
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = inner.changed.notified() => {},
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {},
                    }
                    if !(pool.usable() && conn.status().connected())
                        || inner.poisoned.load(Ordering::SeqCst)
                    {
                        break;
                    }
                }
                *inner.pool.write().unwrap_or_else(|e| e.into_inner()) = None;
                inner.metrics.broker_connected.set(0);
                if stop.is_cancelled() {
                    if let Err(e) = conn.close(200, "receiver shutting down".into()).await {
                        warn!(error = %chain(&e), "could not close the RabbitMQ connection cleanly");
                    }
                    return Ok(());
                }
                if inner.poisoned.load(Ordering::SeqCst) {
                    // Bounded: a node in trouble may never answer the close.
                    let closing = conn.close(200, "replacing channels".into());
                    match tokio::time::timeout(Duration::from_secs(2), closing).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            warn!(error = %chain(&e), "could not close the RabbitMQ connection cleanly");
                        }
                        Err(_) => warn!("the RabbitMQ node did not answer the close; moving on"),
                    }
                }
                // Start with the next node: this one may be the one that went.
                inner.nodes.lost(node);
                warn!(
                    node = %inner.nodes.nodes().redacted(node),
                    "lost a RabbitMQ channel; reconnecting (requests get 503 meanwhile)"
                );
            }
            Err((node, e)) => {
                if let Some(node) = node {
                    inner.nodes.lost(node);
                }
                if !was_down_logged {
                    warn!(error = %format!("{e:#}"), "cannot reach RabbitMQ; retrying (requests get 503 meanwhile)");
                    was_down_logged = true;
                }
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(backoff.next_wait()) => {},
                }
            }
        }
    }
    Ok(())
}
