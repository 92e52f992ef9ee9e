//! Publishing a batch of events on one confirm-mode channel and telling each event
//! what became of it.
//!
//! A channel carries one batch at a time: every publish of the batch goes out
//! together, and the next batch starts only when every confirm of this one has
//! arrived. That is what makes a `basic.return` attributable. RabbitMQ sends the
//! return of an unroutable message before the confirm of that message, but lapin
//! attaches each return to whichever confirm it resolves next (see NOTES.md), so a
//! return may ride on another message's confirm. Within a batch nothing is lost:
//! lapin queues returns in arrival order and each confirm takes the oldest, every
//! return arrives before its own message's confirm, and so by the time every
//! confirm of the batch has resolved, every return of the batch has been taken by
//! one of them (a first-in, first-out queue served greedily matches as many
//! arrivals to later takers as any pairing can, and pairing each return with its
//! own confirm is one such pairing). The batch then names the returned messages
//! by their `message_id`, not by the confirm they came with.

use std::collections::HashSet;

use actix_web::web::Bytes;
use futures_util::future::join_all;
use lapin::{
    options::BasicPublishOptions, types::ShortString, BasicProperties, Channel, Confirmation,
};

use super::PublishError;

/// One event, ready to go out.
pub struct Message {
    pub routing_key: ShortString,
    pub body: Bytes,
    pub properties: BasicProperties,
    /// The `message_id` in `properties`, by which a return names it.
    pub message_id: ShortString,
}

/// What became of a batch.
pub struct Outcome {
    /// One per message, in the batch's order.
    pub results: Vec<Result<(), PublishError>>,
    /// Returned messages whose `message_id` is none of the batch's: the channel
    /// carried something else, and can no longer be trusted.
    pub strays: Vec<Option<String>>,
}

/// Publishes every message of `batch` on `channel` (mandatory, so that a message no
/// queue receives comes back) and waits for all their confirms. The channel must
/// carry nothing else until this returns.
pub async fn publish(channel: &Channel, exchange: &ShortString, batch: Vec<Message>) -> Outcome {
    let ids: Vec<ShortString> = batch.iter().map(|m| m.message_id.clone()).collect();
    let sends = batch.into_iter().map(|m| {
        let exchange = exchange.clone();
        async move {
            channel
                .basic_publish(
                    exchange,
                    m.routing_key,
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &m.body,
                    m.properties,
                )
                .await?
                .await
        }
    });
    // `join_all` polls every publish before any of them waits: the frames of the
    // whole batch are queued for lapin's I/O thread together. Results come back in
    // the batch's order, each with its own message's confirm.
    let confirms = join_all(sends).await.into_iter().map(|c| {
        c.map(|confirmation| match confirmation {
            Confirmation::Ack(r) => Confirmed {
                acked: true,
                returned: r.map(|r| id_of(&r.properties)),
            },
            Confirmation::Nack(r) => Confirmed {
                acked: false,
                returned: r.map(|r| id_of(&r.properties)),
            },
            // Only without confirm mode, which these channels never lack.
            Confirmation::NotRequested => Confirmed {
                acked: false,
                returned: None,
            },
        })
    });
    settle(&ids, confirms.collect())
}

fn id_of(properties: &BasicProperties) -> String {
    properties
        .message_id()
        .as_ref()
        .map_or_else(String::new, |id| id.as_str().to_owned())
}

/// A confirm as lapin resolved it: acked or nacked, and the `message_id` of the
/// return it came with, if any (not necessarily this message's).
#[derive(Debug, Clone)]
struct Confirmed {
    acked: bool,
    returned: Option<String>,
}

/// Tells each message of a batch what became of it, given every confirm of the
/// batch: a message is returned if any confirm of the batch came with its return.
fn settle(ids: &[ShortString], confirms: Vec<Result<Confirmed, lapin::Error>>) -> Outcome {
    let returned: HashSet<&str> = confirms
        .iter()
        .filter_map(|c| c.as_ref().ok()?.returned.as_deref())
        .collect();
    let ours: HashSet<&str> = ids.iter().map(|id| id.as_str()).collect();
    let strays = returned
        .iter()
        .filter(|id| !ours.contains(*id))
        .map(|id| (!id.is_empty()).then(|| (*id).to_owned()))
        .collect();
    let results = ids
        .iter()
        .zip(&confirms)
        .map(|(id, confirmed)| match confirmed {
            Err(e) => Err(PublishError::Channel(e.clone())),
            Ok(_) if returned.contains(id.as_str()) => Err(PublishError::Returned),
            Ok(Confirmed { acked: true, .. }) => Ok(()),
            Ok(Confirmed { acked: false, .. }) => Err(PublishError::Nacked),
        })
        .collect();
    Outcome { results, strays }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<ShortString> {
        names.iter().map(|n| ShortString::from(*n)).collect()
    }

    fn ack(returned: Option<&str>) -> Result<Confirmed, lapin::Error> {
        Ok(Confirmed {
            acked: true,
            returned: returned.map(str::to_owned),
        })
    }

    fn verdicts(outcome: &Outcome) -> Vec<&'static str> {
        outcome
            .results
            .iter()
            .map(|r| match r {
                Ok(()) => "ok",
                Err(PublishError::Returned) => "returned",
                Err(PublishError::Nacked) => "nacked",
                Err(_) => "other",
            })
            .collect()
    }

    #[test]
    fn a_return_on_another_messages_confirm_is_told_to_its_own_message() {
        // lapin resolved a's confirm first and gave it c's return.
        let outcome = settle(
            &ids(&["a", "b", "c"]),
            vec![ack(Some("c")), ack(None), ack(None)],
        );
        assert_eq!(verdicts(&outcome), ["ok", "ok", "returned"]);
        assert!(outcome.strays.is_empty());
    }

    #[test]
    fn a_nack_and_a_return_are_each_their_own_messages() {
        let outcome = settle(
            &ids(&["a", "b"]),
            vec![
                ack(Some("b")),
                Ok(Confirmed {
                    acked: false,
                    returned: None,
                }),
            ],
        );
        assert_eq!(verdicts(&outcome), ["ok", "returned"]);
        let outcome = settle(
            &ids(&["a", "b"]),
            vec![
                Ok(Confirmed {
                    acked: false,
                    returned: None,
                }),
                ack(None),
            ],
        );
        assert_eq!(verdicts(&outcome), ["nacked", "ok"]);
    }

    #[test]
    fn every_copy_of_a_returned_id_is_returned() {
        // Svix retried while the first delivery was in flight: same id twice.
        let outcome = settle(
            &ids(&["a", "a", "b"]),
            vec![ack(None), ack(Some("a")), ack(None)],
        );
        assert_eq!(verdicts(&outcome), ["returned", "returned", "ok"]);
    }

    #[test]
    fn a_return_of_no_message_of_the_batch_is_a_stray() {
        let outcome = settle(&ids(&["a"]), vec![ack(Some("z"))]);
        assert_eq!(verdicts(&outcome), ["ok"]);
        assert_eq!(outcome.strays, [Some("z".to_owned())]);
    }
}
