//! One session with RabbitMQ: connect to the first node of `AMQP_URL` that answers
//! (after a lost session, starting with the next one), declare the topology, consume
//! in batches with up to `WORKER_CONCURRENCY` in flight, and on stop finish them and
//! close.

use futures_util::{future::Either, stream::FuturesUnordered, StreamExt};
use lapin::Connection;
use lapin::{
    options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions},
    types::FieldTable,
};
use shared::{amqp, report::chain, topology};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{acks::Acks, Consumer};

/// Why a session with the broker ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("no RabbitMQ node answered")]
    Connect(#[from] amqp::ConnectError),
    #[error("RabbitMQ failed")]
    Broker(#[from] lapin::Error),
    #[error("RabbitMQ closed the consumer")]
    ConsumerClosed,
    #[error("RabbitMQ did not take a republished message")]
    NotRepublished(#[from] amqp::PublishError),
    #[error("RabbitMQ did not confirm a republished message within {0:?} (a memory or disk alarm blocks publishing?)")]
    RepublishTimeout(std::time::Duration),
}

impl Consumer {
    /// Runs one session. `Ok` when stopped, an error when the connection is lost.
    pub(super) async fn session(&self, stop: &CancellationToken) -> Result<(), SessionError> {
        let (conn, node) = self.nodes.connect("clerk-sync worker").await?;
        let result = self.session_on(conn, stop).await;
        if result.is_err() {
            // The next session starts with the next node: this one may be gone.
            self.nodes.lost(node);
        }
        result
    }

    async fn session_on(
        &self,
        conn: Connection,
        stop: &CancellationToken,
    ) -> Result<(), SessionError> {
        // Republishing on a connection of its own: under a memory or disk alarm
        // RabbitMQ blocks the connections that publish, and consuming and acking must
        // go on meanwhile. It tries the consuming connection's node first.
        let (publishing, _) = self.nodes.connect("clerk-sync worker (republish)").await?;
        let publisher = publishing.create_channel().await?;
        self.declare_dead_queue(&publishing).await?;
        self.topology.declare_events(&publisher).await?;
        self.topology
            .declare_retry_queues(&publisher, &self.settings.retry_delays)
            .await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let channel = conn.create_channel().await?;
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        let consumer = channel
            .basic_consume(
                self.topology.events_queue().into(),
                self.tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.metrics.consumer_connected.set(1);
        info!(queue = %self.topology.events_queue(), tag = %self.tag, "consuming");

        // Up to `concurrency` batches in flight: one is applied while the next is
        // decoded, settled or waiting on the broker. A batch is taken only when a
        // slot is free; then it holds what has arrived, and when that is less than a
        // full batch it waits up to `batch_linger` from its first delivery for more
        // (fewer, larger transactions at moderate rates; a backlog fills a batch at
        // once and never waits).
        let size = self.settings.batch_size;
        let mut batches = if self.settings.batch_linger.is_zero() {
            Either::Left(consumer.ready_chunks(size))
        } else {
            Either::Right(Box::pin(tokio_stream::StreamExt::chunks_timeout(
                consumer,
                size,
                self.settings.batch_linger,
            )))
        };
        let acks = Acks::new(channel.clone());
        let mut in_flight = FuturesUnordered::new();
        let result = loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break Ok(()),
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Err(e) = done {
                        break Err(e);
                    }
                }
                next = batches.next(), if in_flight.len() < self.settings.concurrency => {
                    let Some(items) = next else {
                        break Err(SessionError::ConsumerClosed);
                    };
                    let mut deliveries = Vec::with_capacity(items.len());
                    let mut broken = None;
                    for item in items {
                        match item {
                            Ok(d) => deliveries.push(d),
                            Err(e) => broken = Some(e),
                        }
                    }
                    if !deliveries.is_empty() {
                        acks.received(deliveries.iter().map(|d| d.delivery_tag));
                        in_flight.push(self.process(&publisher, &acks, deliveries, stop));
                    }
                    if let Some(e) = broken {
                        break Err(e.into());
                    }
                }
            }
        };
        // Finish the batches in hand, whatever ended the session.
        while let Some(done) = in_flight.next().await {
            if let Err(e) = done {
                warn!(error = %chain(&e), "a batch could not be settled; RabbitMQ will deliver it again");
            }
        }
        self.metrics.consumer_connected.set(0);
        if result.is_ok() {
            info!("stopping: cancelling the consumer");
            if let Err(e) = channel
                .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
                .await
            {
                warn!(error = %chain(&e), "could not cancel the consumer; closing anyway");
            }
            // Deliveries prefetched but not started go back to the queue on close.
            if let Err(e) = conn.close(200, "worker shutting down".into()).await {
                warn!(error = %chain(&e), "could not close the RabbitMQ connection cleanly");
            }
        }
        // A blocked connection may never answer a close: bounded.
        let closing = publishing.close(200, "worker session ended".into());
        if !matches!(
            tokio::time::timeout(std::time::Duration::from_secs(2), closing).await,
            Ok(Ok(()))
        ) {
            warn!("could not close the republishing connection cleanly");
        }
        result
    }
}

impl Consumer {
    /// Declares the dead-letter queue on a channel of its own. It is a classic queue,
    /// which lives on one node of a cluster: while that node is down RabbitMQ refuses
    /// the declare (the queue exists), and consuming goes on without it. An original
    /// is acked only once its republish is confirmed and not returned (`routing`), so
    /// whatever the broker does with a dead-letter republish meanwhile, the event is
    /// not lost.
    async fn declare_dead_queue(&self, conn: &Connection) -> Result<(), SessionError> {
        let channel = conn.create_channel().await?;
        match self.topology.declare_dead_queue(&channel).await {
            Ok(()) => {
                if let Err(e) = channel.close(200, "declared".into()).await {
                    warn!(error = %chain(&e), "could not close the declaring channel");
                }
                Ok(())
            }
            Err(e) if topology::is_home_node_down(&e) => {
                warn!(
                    queue = %self.topology.dead_queue(),
                    error = %chain(&e),
                    "the dead-letter queue's RabbitMQ node is down: not declared again; \
                     consuming goes on, dead-lettering waits for that node"
                );
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
