//! Carrying a failed delivery to its retry queue or to the dead-letter queue, with
//! the failure headers, confirmed by the broker before the original is acked.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use lapin::{message::Delivery, types::FieldTable, BasicProperties, Channel};
use shared::{
    amqp,
    headers::{self, get_str, set_int, set_str},
    topology::Topology,
};

use super::{decide::Verdict, session::SessionError, Consumer};
use crate::delivery::DeliveryInfo;

/// The longest wait for the confirm of a republished message. Under a broker alarm
/// publishing blocks; the original then stays unacked (RabbitMQ delivers it again)
/// and SIGTERM's 10 seconds hold.
pub(super) const REPUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a failed delivery goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Destination {
    queue: String,
    /// Attempts failed so far, written to the message.
    attempts: u32,
    dead: bool,
    outcome: &'static str,
}

impl Destination {
    /// Where `verdict` sends a delivery; `None` when it stays (acked or held).
    pub(super) fn of(verdict: Verdict, topology: &Topology) -> Option<Self> {
        match verdict {
            Verdict::Retry { attempts, delay } => Some(Self::retry(topology, attempts, delay)),
            Verdict::DeadLetter { attempts } => Some(Self {
                queue: topology.dead_queue(),
                attempts,
                dead: true,
                outcome: verdict.as_str(),
            }),
            Verdict::Ack(_) | Verdict::Hold => None,
        }
    }

    fn retry(topology: &Topology, attempts: u32, delay: Duration) -> Self {
        Self {
            queue: topology.retry_queue(delay),
            attempts,
            dead: false,
            outcome: "retried",
        }
    }
}

impl Consumer {
    /// Republishes `d` to `to` through the default exchange and waits for the
    /// confirm, at most [`REPUBLISH_TIMEOUT`]. One republish is in flight at a time:
    /// RabbitMQ may confirm several publishes of a channel with one
    /// `basic.ack multiple`, and lapin then attaches a return to whichever confirm it
    /// resolves first, so with several in flight a retry that went nowhere could look
    /// confirmed and its original be acked. Republishing is the failure path: one at
    /// a time costs nothing that matters.
    pub(super) async fn republish(
        &self,
        publisher: &Channel,
        d: &Delivery,
        info: &DeliveryInfo,
        to: Destination,
        error: &str,
    ) -> Result<(), SessionError> {
        let props = failed_properties(&d.properties, info, to.attempts, error, to.dead);
        let _turn = self.republish_turn.lock().await;
        let published = amqp::publish_confirmed(publisher, "", &to.queue, &d.data, props);
        tokio::time::timeout(REPUBLISH_TIMEOUT, published)
            .await
            .map_err(|_| SessionError::RepublishTimeout(REPUBLISH_TIMEOUT))??;
        self.metrics.count(&info.event_type, to.outcome);
        Ok(())
    }
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The properties of a failed message on its way to a retry queue or the dead-letter
/// queue: the original ones, plus why and how often it failed.
fn failed_properties(
    original: &BasicProperties,
    info: &DeliveryInfo,
    failed_attempts: u32,
    error: &str,
    dead: bool,
) -> BasicProperties {
    let mut table: FieldTable = original.headers().clone().unwrap_or_default();
    let now = now_rfc3339();
    set_int(&mut table, headers::ATTEMPTS, i64::from(failed_attempts));
    if get_str(Some(&table), headers::FIRST_FAILED_AT).is_none() {
        set_str(&mut table, headers::FIRST_FAILED_AT, &now);
    }
    set_str(&mut table, headers::LAST_FAILED_AT, &now);
    set_str(&mut table, headers::ERROR, &truncate(error, 2000));
    set_str(&mut table, headers::EVENT_TYPE, &info.event_type);
    if let Some(id) = &info.object_id {
        set_str(&mut table, headers::OBJECT_ID, id);
    }
    if dead {
        set_str(&mut table, headers::DEAD_AT, &now);
    }
    original.clone().with_headers(table).with_delivery_mode(2)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::Outcome;

    #[test]
    fn verdicts_route_to_their_queues() {
        let t = Topology::new("p");
        let retry = Destination::of(
            Verdict::Retry {
                attempts: 2,
                delay: Duration::from_secs(5),
            },
            &t,
        )
        .expect("a retry moves");
        assert_eq!(retry.queue, "p.events.retry.5000ms");
        assert!(!retry.dead);
        let dead = Destination::of(Verdict::DeadLetter { attempts: 5 }, &t).expect("moves");
        assert_eq!(dead.queue, "p.events.dead");
        assert_eq!((dead.attempts, dead.dead), (5, true));
        assert_eq!(Destination::of(Verdict::Ack(Outcome::Applied), &t), None);
        assert_eq!(Destination::of(Verdict::Hold, &t), None);
    }

    fn info() -> DeliveryInfo {
        DeliveryInfo {
            svix_id: Some("msg_1".into()),
            event_type: "user.updated".into(),
            object_id: Some("user_1".into()),
            failed_attempts: 0,
            received_at: None,
        }
    }

    #[test]
    fn retries_and_dead_letters_keep_the_trace_context() {
        let mut table = FieldTable::default();
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        set_str(&mut table, shared::otel::TRACEPARENT, parent);
        set_str(&mut table, shared::otel::TRACESTATE, "vendor=1");
        let original = BasicProperties::default().with_headers(table);
        for dead in [false, true] {
            let failed = failed_properties(&original, &info(), 1, "boom", dead);
            let h = failed.headers().as_ref();
            assert_eq!(
                get_str(h, shared::otel::TRACEPARENT).as_deref(),
                Some(parent)
            );
            assert_eq!(
                get_str(h, shared::otel::TRACESTATE).as_deref(),
                Some("vendor=1")
            );
        }
    }

    #[test]
    fn failure_headers_count_attempts_and_keep_the_first_failure() {
        let first = failed_properties(&BasicProperties::default(), &info(), 1, "boom", false);
        let h = first.headers().as_ref();
        assert_eq!(headers::get_int(h, headers::ATTEMPTS), Some(1));
        assert_eq!(get_str(h, headers::ERROR).as_deref(), Some("boom"));
        assert_eq!(
            get_str(h, headers::EVENT_TYPE).as_deref(),
            Some("user.updated")
        );
        assert_eq!(get_str(h, headers::OBJECT_ID).as_deref(), Some("user_1"));
        assert_eq!(get_str(h, headers::DEAD_AT), None);
        let first_failed = get_str(h, headers::FIRST_FAILED_AT).expect("set");

        let second = failed_properties(&first, &info(), 2, "boom again", true);
        let h = second.headers().as_ref();
        assert_eq!(headers::get_int(h, headers::ATTEMPTS), Some(2));
        assert_eq!(get_str(h, headers::FIRST_FAILED_AT), Some(first_failed));
        assert!(get_str(h, headers::DEAD_AT).is_some());
        assert_eq!(second.delivery_mode(), &Some(2));
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééé", 3), "é…");
    }
}
