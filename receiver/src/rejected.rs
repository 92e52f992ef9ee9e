//! The log of refused requests: for every 400, 401, 413 and 415 of the webhook
//! endpoint, a small record goes to the bounded `{prefix}.rejected` queue, for the
//! operator page (DESIGN.md §3).
//!
//! A record says when, why (a label and the answer's reason), the `svix-id` if one
//! was sent, the source address (and `X-Forwarded-For`), the user agent, the body's
//! size and the header names: never the body, a header's value (but those named) or
//! a signature.
//!
//! The request path never waits for it: the middleware hands the record to a bounded
//! channel (`try_send`) and answers. One task per receiver publishes them on a
//! connection of its own, without confirms, as transient messages: a log of refusals
//! is worth less than the time of a good request. At most 200 records a second are
//! logged (a flood of forged requests is logged by its first ones, then counted).
//! When the channel is full or the broker is away, records are dropped and counted
//! (`clerk_sync_receiver_rejected_dropped_total`); the refusals themselves are always
//! counted (`clerk_sync_receiver_rejected_total{reason}`).

use std::{net::IpAddr, time::Duration};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{header, StatusCode},
    middleware::Next,
    web, Error,
};
use chrono::{SecondsFormat, Utc};
use lapin::{options::BasicPublishOptions, BasicProperties};
pub use shared::rejection::Rejection;
use shared::{amqp::NodeRotation, backoff::Backoff, config::AmqpNodes, topology::Topology};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Records waiting to be published at most; more are dropped.
const QUEUE: usize = 4096;
/// Records logged per second at most, per receiver, with bursts of as many: a flood
/// of forged requests (tens of thousands a second) would otherwise cost the broker a
/// publish each, and slow the good requests beside it. The rest are counted, not
/// logged: the queue keeps 10,000 anyway.
const RECORDS_PER_SECOND: f64 = 200.0;
/// Header names kept at most, and the longest value kept of the few values kept.
const MAX_HEADER_NAMES: usize = 64;
const MAX_TEXT: usize = 256;

/// Why a request was refused, as the handler knew it: put in the response's
/// extensions, read by [`record_refusals`].
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// The metric label (`bad_signature`, `bad_headers`, …).
    pub reason: &'static str,
}

/// Where records go: the sending half of the channel to the publishing task.
#[derive(Clone)]
pub struct RejectionLog {
    tx: mpsc::Sender<Rejection>,
    metrics: Metrics,
    budget: std::sync::Arc<std::sync::Mutex<Budget>>,
}

/// A token bucket: [`RECORDS_PER_SECOND`], bursts of as many.
#[derive(Debug)]
struct Budget {
    tokens: f64,
    at: std::time::Instant,
}

impl Budget {
    fn take(&mut self, now: std::time::Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * RECORDS_PER_SECOND;
        self.tokens = (self.tokens + refill).min(RECORDS_PER_SECOND);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl RejectionLog {
    /// Starts the task that publishes records to `topology`'s rejected queue on a
    /// connection of its own; it ends when `stop` is cancelled.
    pub fn start(
        nodes: AmqpNodes,
        topology: Topology,
        metrics: Metrics,
        stop: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(publish_all(rx, nodes, topology, metrics.clone(), stop));
        let budget = Budget {
            tokens: RECORDS_PER_SECOND,
            at: std::time::Instant::now(),
        };
        Self {
            tx,
            metrics,
            budget: std::sync::Arc::new(std::sync::Mutex::new(budget)),
        }
    }

    /// Counts the refusal and hands its record on, never waiting; over the log's
    /// rate, or with the hand-off full, the record is dropped (and counted).
    pub fn record(&self, r: Rejection) {
        self.metrics
            .rejected
            .with_label_values(&[r.reason.as_str()])
            .inc();
        let within = self
            .budget
            .lock()
            .map(|mut b| b.take(std::time::Instant::now()))
            .unwrap_or(false);
        if !within || self.tx.try_send(r).is_err() {
            self.metrics.rejected_dropped.inc();
        }
    }
}

async fn publish_all(
    mut rx: mpsc::Receiver<Rejection>,
    nodes: AmqpNodes,
    topology: Topology,
    metrics: Metrics,
    stop: CancellationToken,
) {
    let queue = topology.rejected_queue();
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let connected = async {
            let (conn, _) = NodeRotation::new(nodes.clone())
                .connect("clerk-sync receiver rejected log")
                .await?;
            let channel = conn.create_channel().await?;
            topology.declare_rejected(&channel).await?;
            anyhow::Ok((conn, channel))
        };
        let (conn, channel) = tokio::select! {
            c = connected => match c {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %format!("{e:#}"), "rejected log: broker unreachable; records are dropped meanwhile");
                    // Drop what waits while the broker is away, then try again.
                    while let Ok(_r) = rx.try_recv() {
                        metrics.rejected_dropped.inc();
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_wait()) => continue,
                        () = stop.cancelled() => return,
                    }
                }
            },
            () = stop.cancelled() => return,
        };
        backoff.reset();
        loop {
            let r = tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => r,
                    None => return,
                },
                () = stop.cancelled() => {
                    let _ = conn.close(200, "stopping".into()).await;
                    return;
                }
            };
            let Ok(body) = serde_json::to_vec(&r) else {
                continue;
            };
            let published = channel
                .basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default()
                        .with_content_type("application/json".into())
                        .with_delivery_mode(1),
                )
                .await;
            if published.is_err() {
                metrics.rejected_dropped.inc();
                break;
            }
        }
    }
}

/// Middleware for the webhook route: after the answer is made, a 400, 401, 413 or
/// 415 is recorded (see the module's documentation). The answer is not changed.
pub async fn record_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let res = next.call(req).await?;
    let status = res.status();
    if !matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::UNAUTHORIZED
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
    ) {
        return Ok(res);
    }
    let Some(log) = res.request().app_data::<web::Data<RejectionLog>>().cloned() else {
        return Ok(res);
    };
    let reason = res
        .response()
        .extensions()
        .get::<Refusal>()
        .map(|r| r.reason)
        .unwrap_or(match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_encoding",
            StatusCode::UNAUTHORIZED => "bad_signature",
            _ => "bad_request",
        });
    log.record(rejection(res.request(), status, reason));
    Ok(res)
}

fn rejection(req: &actix_web::HttpRequest, status: StatusCode, reason: &str) -> Rejection {
    let headers = req.headers();
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| truncate(&String::from_utf8_lossy(v.as_bytes())))
    };
    let mut header_names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
    header_names.sort();
    header_names.dedup();
    header_names.truncate(MAX_HEADER_NAMES);
    Rejection {
        at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        status: status.as_u16(),
        reason: reason.to_owned(),
        svix_id: text("svix-id"),
        source: req.peer_addr().map(|a| canonical(a.ip()).to_string()),
        forwarded_for: text("x-forwarded-for"),
        user_agent: text(header::USER_AGENT.as_str()),
        body_bytes: headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        header_names,
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_takes_a_burst_then_its_rate() {
        let t0 = std::time::Instant::now();
        let mut b = Budget {
            tokens: RECORDS_PER_SECOND,
            at: t0,
        };
        let burst = (0..1000).filter(|_| b.take(t0)).count();
        assert_eq!(burst, RECORDS_PER_SECOND as usize);
        let later = t0 + Duration::from_millis(100);
        let refilled = (0..1000).filter(|_| b.take(later)).count();
        assert_eq!(refilled, (RECORDS_PER_SECOND / 10.0) as usize);
    }
}
