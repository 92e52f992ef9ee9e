//! Carrying a failed delivery to its retry queue or to the dead-letter queue, with
//! the failure headers, confirmed by the broker before the original is acked.

use std::time::Duration;

use lapin::{message::Delivery, Channel};
use shared::{amqp, topology::Topology};

use super::{decide::Verdict, session::SessionError, Consumer};
use crate::delivery::{self, DeliveryInfo};

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
    /// Republishes `d` to `to` through the default exchange and waits for the confirm.
    pub(super) async fn republish(
        &self,
        publisher: &Channel,
        d: &Delivery,
        info: &DeliveryInfo,
        to: Destination,
        error: &str,
    ) -> Result<(), SessionError> {
        let props = delivery::failed_properties(&d.properties, info, to.attempts, error, to.dead);
        amqp::publish_confirmed(publisher, "", &to.queue, &d.data, props).await?;
        self.metrics.count(&info.event_type, to.outcome);
        Ok(())
    }
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
}
