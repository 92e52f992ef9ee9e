//! The consume loop: take deliveries in batches, apply them, then ack; send failures
//! to a retry queue or the dead-letter queue (each republish confirmed before the
//! original is acked); ride out outages of Postgres and RabbitMQ.

use std::{sync::Arc, time::Duration, time::Instant};

use futures_util::{future::join_all, stream::FuturesUnordered, StreamExt};
use lapin::{
    message::Delivery,
    options::{
        BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
        BasicQosOptions, ConfirmSelectOptions,
    },
    types::FieldTable,
    Channel, Confirmation,
};
use shared::{amqp, db::PgPool, topology::Topology};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn};

use crate::{
    acks::Acks,
    apply::{apply_batch, Outcome, Payloads, Prepared},
    database::{self, DbError},
    delivery::{self, Meta},
    metrics::Metrics,
    settings::Settings,
};

/// Everything the consume loop needs.
#[derive(Clone)]
pub struct Consumer {
    settings: Arc<Settings>,
    topology: Topology,
    pool: PgPool,
    metrics: Metrics,
}

/// Why a session with the broker ended.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("RabbitMQ: {0}")]
    Broker(#[from] lapin::Error),
    #[error("RabbitMQ closed the consumer")]
    ConsumerClosed,
    #[error("RabbitMQ did not confirm a republished message: {0}")]
    NotConfirmed(String),
}

/// What became of one delivery.
enum Verdict {
    Done(Outcome),
    Failed { error: String, permanent: bool },
}

impl Consumer {
    pub fn new(settings: Settings, pool: PgPool, metrics: Metrics) -> Self {
        let topology = Topology::new(settings.amqp.prefix.clone());
        Self {
            settings: Arc::new(settings),
            topology,
            pool,
            metrics,
        }
    }

    /// Consumes until `stop` is cancelled, reconnecting to RabbitMQ with a capped
    /// backoff whenever the connection is lost. Returns once in-flight events are
    /// finished and the connection is closed.
    pub async fn run(&self, stop: CancellationToken) {
        let mut backoff = Backoff::new();
        while !stop.is_cancelled() {
            let started = Instant::now();
            match self.session(&stop).await {
                Ok(()) => break,
                Err(e) => {
                    self.metrics.consumer_connected.set(0);
                    if started.elapsed() > Duration::from_secs(10) {
                        backoff = Backoff::new();
                    }
                    let wait = backoff.next();
                    warn!(error = %e, retry_in = ?wait, "RabbitMQ session ended; reconnecting");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        self.metrics.consumer_connected.set(0);
    }

    async fn session(&self, stop: &CancellationToken) -> Result<(), SessionEnd> {
        let conn = amqp::connect(&self.settings.amqp.url, "clerk-sync worker").await?;
        let publisher = conn.create_channel().await?;
        self.topology.declare(&publisher).await?;
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
        let tag = format!("clerk-sync-worker-{}", std::process::id());
        let consumer = channel
            .basic_consume(
                self.topology.events_queue().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.metrics.consumer_connected.set(1);
        info!(queue = %self.topology.events_queue(), "consuming");

        // Up to `concurrency` batches in flight: one is applied while the next is
        // decoded, settled or waiting on the broker.
        let mut batches = consumer.ready_chunks(self.settings.batch_size);
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
                        break Err(SessionEnd::ConsumerClosed);
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
                warn!(error = %e, "a batch could not be settled; RabbitMQ will deliver it again");
            }
        }
        self.metrics.consumer_connected.set(0);
        if result.is_ok() {
            info!("stopping: cancelling the consumer");
            let _ = channel
                .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                .await;
            // Deliveries prefetched but not started go back to the queue on close.
            let _ = conn.close(200, "worker shutting down".into()).await;
        }
        result
    }

    /// Applies one batch of deliveries and settles each.
    async fn process(
        &self,
        publisher: &Channel,
        acks: &Acks,
        deliveries: Vec<Delivery>,
        stop: &CancellationToken,
    ) -> Result<(), SessionEnd> {
        let mut metas = Vec::with_capacity(deliveries.len());
        let mut verdicts: Vec<Option<Verdict>> = Vec::with_capacity(deliveries.len());
        let mut events = Vec::new();
        let mut slots = Vec::new();
        for (i, d) in deliveries.iter().enumerate() {
            let mut meta = delivery::meta(d, &self.topology);
            match delivery::decode(
                d,
                &mut meta,
                Payloads::from_flag(self.settings.store_payloads),
            ) {
                Ok(event) => {
                    events.push(event);
                    slots.push(i);
                    verdicts.push(None);
                }
                Err(e) => verdicts.push(Some(Verdict::Failed {
                    error: e.0,
                    permanent: true,
                })),
            }
            metas.push(meta);
        }

        if !events.is_empty() {
            let events = Arc::new(events);
            let started = Instant::now();
            let Some(results) = self.apply_riding_out_outages(events.clone(), stop).await else {
                // Stopping while Postgres is down: hand everything back, unharmed.
                for d in &deliveries {
                    let _ = d
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await;
                }
                acks.returned(deliveries.iter().map(|d| d.delivery_tag));
                return Ok(());
            };
            self.metrics
                .apply_seconds
                .observe(started.elapsed().as_secs_f64());
            for ((slot, result), event) in slots.iter().zip(results).zip(events.iter()) {
                verdicts[*slot] = Some(match result {
                    Ok(outcome) => {
                        self.observe_lag(event);
                        Verdict::Done(outcome)
                    }
                    Err(error) => Verdict::Failed {
                        error,
                        permanent: false,
                    },
                });
            }
        }

        // Republish failures first, confirmed, then ack everything.
        let mut confirms = Vec::new();
        for ((d, meta), verdict) in deliveries.iter().zip(&metas).zip(&verdicts) {
            let span = info_span!(
                "event",
                svix_id = meta.svix_id.as_deref().unwrap_or("-"),
                event_type = %meta.event_type,
                object_id = meta.object_id.as_deref().unwrap_or("-"),
            );
            let _enter = span.enter();
            match verdict {
                Some(Verdict::Done(outcome)) => {
                    info!(outcome = outcome.as_str(), "event {}", outcome.as_str());
                    self.metrics.count(&meta.event_type, outcome.as_str());
                }
                Some(Verdict::Failed { error, permanent }) => {
                    confirms.push(self.republish_failed(publisher, d, meta, error, *permanent));
                }
                None => {}
            }
        }
        for confirm in join_all(confirms).await {
            confirm?;
        }
        acks.settle(deliveries.iter().map(|d| d.delivery_tag))
            .await?;
        Ok(())
    }

    fn observe_lag(&self, event: &Prepared) {
        if let Some(received) = event.received_at {
            let lag = chrono::Utc::now() - received;
            self.metrics
                .lag_seconds
                .observe(lag.num_microseconds().unwrap_or(0).max(0) as f64 / 1e6);
        }
    }

    /// Sends a failed delivery to its retry queue, or to the dead-letter queue when it
    /// is permanent or out of attempts, and waits for the broker's confirm.
    async fn republish_failed(
        &self,
        publisher: &Channel,
        d: &Delivery,
        meta: &Meta,
        error: &str,
        permanent: bool,
    ) -> Result<(), SessionEnd> {
        let failed = meta.failed_attempts.saturating_add(1);
        let dead = permanent || failed >= self.settings.max_attempts;
        let (queue, outcome) = if dead {
            (self.topology.dead_queue(), "dead_lettered")
        } else {
            (
                self.topology.retry_queue(self.settings.delay_after(failed)),
                "retried",
            )
        };
        let span = info_span!(
            "event",
            svix_id = meta.svix_id.as_deref().unwrap_or("-"),
            event_type = %meta.event_type,
            object_id = meta.object_id.as_deref().unwrap_or("-"),
            outcome,
        );
        if dead {
            span.in_scope(|| error!(attempts = failed, permanent, error, "event dead-lettered"));
        } else {
            span.in_scope(|| {
                warn!(
                    attempts = failed,
                    retry_in = ?self.settings.delay_after(failed),
                    error,
                    "event failed; will retry"
                )
            });
        }
        let props = delivery::failed_properties(&d.properties, meta, failed, error, dead);
        let confirm = publisher
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &d.data,
                props,
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) => {
                self.metrics.count(&meta.event_type, outcome);
                Ok(())
            }
            Confirmation::Ack(Some(_)) => Err(SessionEnd::NotConfirmed(format!(
                "queue {queue} does not exist"
            ))),
            Confirmation::Nack(_) => Err(SessionEnd::NotConfirmed(format!(
                "queue {queue} refused the message"
            ))),
            Confirmation::NotRequested => Err(SessionEnd::NotConfirmed(
                "channel not in confirm mode".into(),
            )),
        }
    }

    /// Applies the events; while Postgres is unreachable, waits and tries again (no
    /// attempt is counted). `None` when told to stop while waiting.
    async fn apply_riding_out_outages(
        &self,
        events: Arc<Vec<Prepared>>,
        stop: &CancellationToken,
    ) -> Option<Vec<Result<Outcome, String>>> {
        let all = self.apply_slice(&events, 0..events.len(), stop).await?;
        match all {
            Ok(results) => Some(results),
            Err(e) if events.len() == 1 => Some(vec![Err(e.to_string())]),
            Err(e) => {
                // The batch failed as a whole though Postgres is fine: apply the
                // events one by one, so only the guilty one is charged.
                warn!(error = %e, size = events.len(), "batch failed; applying its events one by one");
                let mut results = Vec::with_capacity(events.len());
                for i in 0..events.len() {
                    results.push(match self.apply_slice(&events, i..i + 1, stop).await? {
                        Ok(mut one) => one.pop().unwrap_or(Err("no result".into())),
                        Err(e) => Err(e.to_string()),
                    });
                }
                Some(results)
            }
        }
    }

    /// Applies `events[range]` in one `apply_batch`, waiting out Postgres outages.
    /// The outer error is a failure of the whole transaction; `None` when told to stop
    /// while waiting.
    async fn apply_slice(
        &self,
        events: &Arc<Vec<Prepared>>,
        range: std::ops::Range<usize>,
        stop: &CancellationToken,
    ) -> Option<Result<Vec<Result<Outcome, String>>, DbError>> {
        let mut backoff = Backoff::new();
        loop {
            let batch = events.clone();
            let range = range.clone();
            match database::run(&self.pool, move |conn| apply_batch(conn, &batch[range])).await {
                Ok(results) => {
                    self.database_back();
                    return Some(Ok(results
                        .into_iter()
                        .map(|r| r.map_err(|e| e.to_string()))
                        .collect()));
                }
                Err(e) if database::is_outage(&self.pool, &e).await => {
                    if !self.wait_for_database(&e, &mut backoff, stop).await {
                        return None;
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn database_back(&self) {
        if self.metrics.database_up.get() == 0 {
            info!("Postgres is back; carrying on");
            self.metrics.database_up.set(1);
        }
    }

    /// Waits out a Postgres outage. `false` when told to stop meanwhile.
    async fn wait_for_database(
        &self,
        error: &DbError,
        backoff: &mut Backoff,
        stop: &CancellationToken,
    ) -> bool {
        let wait = backoff.next();
        if self.metrics.database_up.get() == 1 {
            warn!(error = %error, "Postgres is unreachable; holding events until it is back (no attempt is counted)");
            self.metrics.database_up.set(0);
        }
        tokio::select! {
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(wait) => true,
        }
    }
}

/// Capped exponential backoff: 200 ms doubling to 5 s.
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: Duration::from_millis(200),
        }
    }

    fn next(&mut self) -> Duration {
        let current = self.next;
        self.next = (self.next * 2).min(Duration::from_secs(5));
        current
    }
}
