//! One batch: decode each delivery, apply the events, decide what happens to each
//! delivery, and settle it. Every delivery gets a verdict before anything is acked.

use std::sync::Arc;

use futures_util::future::join_all;
use lapin::{message::Delivery, options::BasicNackOptions, Channel};
use shared::report::chain;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn, Instrument, Span};

use super::{
    acks::Acks,
    decide::{decide, Failure, Verdict},
    routing::Destination,
    session::SessionError,
    Consumer,
};
use crate::{
    apply::{EventToApply, Outcome, Payloads},
    delivery::{self, DeliveryInfo},
};

/// An event whose apply gave no result: a bug, retried rather than acked.
#[derive(Debug, thiserror::Error)]
#[error("applying the batch gave no result for this event")]
pub(super) struct NoResult;

impl Consumer {
    /// Applies one batch of deliveries and settles each by its verdict: failures are
    /// republished (confirmed) first, then everything settled is acked.
    pub(super) async fn process(
        &self,
        publisher: &Channel,
        acks: &Acks,
        deliveries: Vec<Delivery>,
        stop: &CancellationToken,
    ) -> Result<(), SessionError> {
        // Traces only (see `shared::otel`): the batch, its transaction and its acks.
        // Each event's span continues the receiver's trace and links to the batch.
        let batch_span = if shared::otel::enabled() {
            info_span!("batch", events = deliveries.len())
        } else {
            Span::none()
        };
        let mut spans = Vec::with_capacity(deliveries.len());
        let mut infos = Vec::with_capacity(deliveries.len());
        let mut results: Vec<Result<Outcome, Failure>> = Vec::with_capacity(deliveries.len());
        let mut events = Vec::new();
        let mut slots = Vec::new();
        let payloads = Payloads::from_flag(self.settings.store_payloads);
        for (i, d) in deliveries.iter().enumerate() {
            let mut info = DeliveryInfo::read(d, &self.topology);
            match delivery::decode(d, &mut info, payloads) {
                Ok(event) => {
                    events.push(event);
                    slots.push(i);
                    // Replaced by the event's own result below.
                    results.push(Err(Failure::Transient(NoResult.into())));
                }
                Err(e) => results.push(Err(Failure::Permanent(e.into()))),
            }
            let span = event_span(&info);
            if shared::otel::enabled() {
                span.record("otel.kind", "consumer");
                if !shared::otel::set_remote_parent(&span, d.properties.headers().as_ref()) {
                    // No trace context (published before traces were on): under the batch.
                    shared::otel::set_local_parent(&span, &batch_span);
                }
                shared::otel::link(&span, &batch_span);
            }
            spans.push(span);
            infos.push(info);
        }
        // In hand until this returns (its acks included), however it ends.
        let _in_hand = self
            .metrics
            .in_hand
            .hold(events.iter().filter_map(|e| e.received_at).min());
        if !events.is_empty() {
            let events = Arc::new(events);
            let apply_span = if shared::otel::enabled() {
                info_span!(parent: &batch_span, "apply", events = events.len())
            } else {
                Span::none()
            };
            let applied = self
                .apply_riding_out_outages(events.clone(), stop)
                .instrument(apply_span)
                .await;
            for ((slot, result), event) in slots.iter().zip(applied).zip(events.iter()) {
                if result.is_ok() {
                    self.observe_lag(event);
                }
                results[*slot] = result;
            }
        }

        let mut settled = Vec::with_capacity(deliveries.len());
        let mut held = Vec::new();
        let mut republished = Vec::new();
        for (((d, info), result), span) in deliveries.iter().zip(&infos).zip(&results).zip(&spans) {
            let verdict = decide(result, info.failed_attempts, &self.policy);
            span.in_scope(|| log_verdict(verdict, result));
            if shared::otel::enabled() {
                span.record("outcome", verdict.as_str());
            }
            let span = span.clone();
            match Destination::of(verdict, &self.topology) {
                Some(to) => {
                    let error = match result {
                        Err(failure) => chain(failure),
                        Ok(_) => String::new(),
                    };
                    republished.push(
                        async move {
                            self.republish(publisher, d, info, to, &error).await?;
                            Ok::<_, SessionError>(d.delivery_tag)
                        }
                        .instrument(span),
                    );
                }
                None if verdict == Verdict::Hold => held.push(d),
                None => {
                    self.metrics.count(&info.event_type, verdict.as_str());
                    settled.push(d.delivery_tag);
                }
            }
        }
        for done in join_all(republished).await {
            settled.push(done?);
        }
        for d in &held {
            // Stopping while Postgres is down: hand it back unharmed. If the channel
            // is gone, the broker redelivers it anyway.
            let requeue = BasicNackOptions {
                requeue: true,
                ..Default::default()
            };
            if let Err(e) = d.nack(requeue).await {
                warn!(error = %chain(&e), "could not hand a delivery back; RabbitMQ will deliver it again");
            }
        }
        acks.returned(held.iter().map(|d| d.delivery_tag));
        let ack_span = if shared::otel::enabled() {
            info_span!(parent: &batch_span, "ack", events = settled.len())
        } else {
            Span::none()
        };
        acks.settle(settled).instrument(ack_span).await?;
        // The events' spans end here, once their deliveries are settled.
        drop(spans);
        Ok(())
    }

    fn observe_lag(&self, event: &EventToApply) {
        if let Some(received) = event.received_at {
            let lag = chrono::Utc::now() - received;
            self.metrics
                .lag_seconds
                .observe(lag.num_microseconds().unwrap_or(0).max(0) as f64 / 1e6);
        }
    }
}

/// The span every line about one delivery is logged in.
fn event_span(info: &DeliveryInfo) -> Span {
    info_span!(
        "event",
        svix_id = info.svix_id.as_deref().unwrap_or("-"),
        event_type = %info.event_type,
        object_id = info.object_id.as_deref().unwrap_or("-"),
        outcome = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
    )
}

fn log_verdict(verdict: Verdict, result: &Result<Outcome, Failure>) {
    let outcome = verdict.as_str();
    let error = match result {
        Err(failure) => chain(failure),
        Ok(_) => String::new(),
    };
    match verdict {
        Verdict::Ack(_) => info!(outcome, "event {outcome}"),
        Verdict::Retry { attempts, delay } => {
            warn!(outcome, attempts, retry_in = ?delay, error, "event failed; will retry")
        }
        Verdict::DeadLetter { attempts } => {
            let permanent = matches!(result, Err(Failure::Permanent(_)));
            error!(outcome, attempts, permanent, error, "event dead-lettered")
        }
        Verdict::Hold => info!(
            outcome,
            "stopping while Postgres is down: event handed back"
        ),
    }
}
