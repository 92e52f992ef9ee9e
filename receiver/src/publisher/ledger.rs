//! Telling each event published on one channel what became of it, while several
//! batches are in flight on that channel.
//!
//! With publishes `mandatory`, RabbitMQ sends the `basic.return` of an unroutable
//! message before that message's confirm. lapin queues returns in arrival order
//! and hands the oldest to whichever confirm of the channel it resolves next
//! (`complete_pending` in lapin's `acknowledgement.rs`; a coalesced
//! `basic.ack multiple` resolves its confirms in hash-map order), so a return may
//! ride on the confirm of another message, of another batch, published earlier or
//! later. Two facts make each verdict sound anyway:
//!
//! 1. A confirm that resolves with no return found lapin's queue of returns empty.
//!    So every return that arrived before it (its own message's included, if it
//!    was returned) had already been handed to a confirm that resolved before it.
//!    The publishing task polls every pending confirm of the channel whenever one
//!    of them wakes it ([`Ledger::poll_waiting`]), so when it sees a confirm
//!    resolved, every confirm that resolved earlier is seen in the same pass. While no confirm of the channel has
//!    carried a return, then, each resolved confirm is its own message's final word.
//! 2. Once any confirm carries a return (the channel is *tainted*), a confirm may
//!    carry another message's return, and its own may still be queued. Nothing is
//!    decided then until every confirm of the channel has resolved: by then every
//!    return has been handed out (a first-in, first-out queue served at every
//!    confirm, where each return arrives before its own message's confirm, is empty
//!    once all confirms have resolved), and each message is returned exactly when a
//!    return named its `message_id`. The publishing task sends no new batch while
//!    the channel is tainted, so that moment comes; then the taint is lifted.
//!
//! Returns only happen when the events queue is not bound to the exchange, so the
//! slow path costs nothing in normal running.

use std::collections::HashSet;

use lapin::types::ShortString;

use super::PublishError;

/// A confirm as lapin resolved it: acked or nacked, and the `message_id` of the
/// return it came with, if any (not necessarily this message's).
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub acked: bool,
    pub returned: Option<String>,
}

struct Slot<R> {
    id: ShortString,
    reply: R,
    seen: Option<Result<Confirmed, lapin::Error>>,
}

/// The messages of one channel whose outcome has not been told yet, in the order
/// they were published. `R` is how an outcome is told (a reply channel).
pub struct Ledger<R> {
    slots: Vec<Slot<R>>,
    returned: HashSet<String>,
}

impl<R> Default for Ledger<R> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            returned: HashSet::new(),
        }
    }
}

/// What [`Ledger::settle`] decided.
pub struct Settled<R> {
    /// Each decided message's reply, with its outcome.
    pub told: Vec<(R, Result<(), PublishError>)>,
    /// Returned messages whose `message_id` was no message in flight: the channel
    /// carried something else and can no longer be trusted.
    pub strays: Vec<String>,
}

impl<R> Ledger<R> {
    /// Adds a published message, whose confirm is awaited.
    pub fn push(&mut self, id: ShortString, reply: R) {
        self.slots.push(Slot {
            id,
            reply,
            seen: None,
        });
    }

    /// Polls every message that still waits for its confirm (`poll` says how its
    /// confirm resolved, if it has), pass after pass until a pass finds nothing
    /// newly resolved (see the module's notes), then decides what can be decided.
    pub fn collect(
        &mut self,
        mut poll: impl FnMut(&mut R) -> Option<Result<Confirmed, lapin::Error>>,
    ) -> Settled<R> {
        while self.sweep(&mut poll) {}
        self.settle()
    }

    /// One pass over the messages that wait: records what resolved. Returns
    /// whether anything did.
    fn sweep(
        &mut self,
        poll: &mut impl FnMut(&mut R) -> Option<Result<Confirmed, lapin::Error>>,
    ) -> bool {
        let mut any = false;
        for slot in self.slots.iter_mut().filter(|s| s.seen.is_none()) {
            if let Some(seen) = poll(&mut slot.reply) {
                if let Ok(Confirmed {
                    returned: Some(id), ..
                }) = &seen
                {
                    self.returned.insert(id.clone());
                }
                slot.seen = Some(seen);
                any = true;
            }
        }
        any
    }

    /// Whether a return was seen whose messages are not all decided: no new batch
    /// may go out on the channel until [`Ledger::settle`] lifts it.
    pub fn tainted(&self) -> bool {
        !self.returned.is_empty()
    }

    /// Whether any message is undecided.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many messages are undecided.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Decides what can be decided (see the module's notes), removes it and says
    /// what to tell. Only after a pass that found nothing newly resolved.
    fn settle(&mut self) -> Settled<R> {
        let mut told = Vec::new();
        let mut strays = Vec::new();
        if self.returned.is_empty() {
            // Every resolved confirm is its own message's word.
            let mut kept = Vec::with_capacity(self.slots.len());
            for slot in self.slots.drain(..) {
                match slot.seen {
                    None => kept.push(slot),
                    Some(seen) => told.push((slot.reply, verdict(seen, false))),
                }
            }
            self.slots = kept;
        } else if self.slots.iter().all(|s| s.seen.is_some()) {
            let returned = std::mem::take(&mut self.returned);
            let ours: HashSet<&str> = self.slots.iter().map(|s| s.id.as_str()).collect();
            strays = returned
                .iter()
                .filter(|id| !ours.contains(id.as_str()))
                .cloned()
                .collect();
            for slot in self.slots.drain(..) {
                let was_returned = returned.contains(slot.id.as_str());
                if let Some(seen) = slot.seen {
                    told.push((slot.reply, verdict(seen, was_returned)));
                }
            }
        }
        Settled { told, strays }
    }

    /// Takes every undecided message out (the channel is being given up), for each
    /// to be told the same failure.
    pub fn abandon(&mut self) -> Vec<R> {
        self.returned.clear();
        self.slots.drain(..).map(|s| s.reply).collect()
    }
}

fn verdict(seen: Result<Confirmed, lapin::Error>, returned: bool) -> Result<(), PublishError> {
    match seen {
        Err(e) => Err(PublishError::Channel(e)),
        Ok(_) if returned => Err(PublishError::Returned),
        Ok(Confirmed { acked: true, .. }) => Ok(()),
        Ok(Confirmed { acked: false, .. }) => Err(PublishError::Nacked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(returned: Option<&str>) -> Result<Confirmed, lapin::Error> {
        Ok(Confirmed {
            acked: true,
            returned: returned.map(str::to_owned),
        })
    }

    fn nack() -> Result<Confirmed, lapin::Error> {
        Ok(Confirmed {
            acked: false,
            returned: None,
        })
    }

    /// A reply in these tests: the message's id and its place in publish order.
    type Reply = (&'static str, usize);

    /// Pushes `ids`, each reply its id and a place no other message has; returns
    /// the places.
    fn push(ledger: &mut Ledger<Reply>, ids: &[&'static str]) -> Vec<usize> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        ids.iter()
            .map(|id| {
                let place = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                ledger.push(ShortString::from(*id), (*id, place));
                place
            })
            .collect()
    }

    /// Lapin resolved the confirm of the message at `place` this way.
    fn observe(ledger: &mut Ledger<Reply>, place: usize, seen: Result<Confirmed, lapin::Error>) {
        let mut seen = Some(seen);
        let any = ledger.sweep(&mut |r: &mut Reply| if r.1 == place { seen.take() } else { None });
        assert!(any, "message {place} was not waiting");
    }

    fn told(settled: &Settled<Reply>) -> Vec<(&'static str, &'static str)> {
        let mut told: Vec<_> = settled
            .told
            .iter()
            .map(|((id, _), r)| {
                let verdict = match r {
                    Ok(()) => "ok",
                    Err(PublishError::Returned) => "returned",
                    Err(PublishError::Nacked) => "nacked",
                    Err(_) => "other",
                };
                (*id, verdict)
            })
            .collect();
        told.sort();
        told
    }

    #[test]
    fn while_no_return_is_seen_each_confirm_decides_its_own_message_at_once() {
        let mut ledger = Ledger::default();
        let first = push(&mut ledger, &["a", "b", "c"]);
        observe(&mut ledger, first[1], ack(None));
        observe(&mut ledger, first[2], nack());
        let settled = ledger.settle();
        assert_eq!(told(&settled), [("b", "ok"), ("c", "nacked")]);
        assert_eq!(ledger.len(), 1, "a still waits");
        let i = push(&mut ledger, &["d"]);
        observe(&mut ledger, first[0], ack(None));
        observe(&mut ledger, i[0], ack(None));
        assert_eq!(told(&ledger.settle()), [("a", "ok"), ("d", "ok")]);
        assert!(ledger.is_empty());
    }

    #[test]
    fn a_return_on_an_earlier_batchs_confirm_is_told_to_its_own_message() {
        // Batch one is a, b; batch two is c, d. d's return came before a's confirm
        // resolved, and lapin gave it to a.
        let mut ledger = Ledger::default();
        let i = push(&mut ledger, &["a", "b", "c", "d"]);
        observe(&mut ledger, i[0], ack(Some("d")));
        observe(&mut ledger, i[1], ack(None));
        assert!(ledger.tainted());
        // Nothing is decided while d's fate hangs on confirms still out.
        assert!(ledger.settle().told.is_empty());
        observe(&mut ledger, i[2], ack(None));
        assert!(ledger.settle().told.is_empty());
        observe(&mut ledger, i[3], ack(None));
        let settled = ledger.settle();
        assert_eq!(
            told(&settled),
            [("a", "ok"), ("b", "ok"), ("c", "ok"), ("d", "returned")]
        );
        assert!(settled.strays.is_empty());
        assert!(!ledger.tainted(), "the taint is lifted once all are told");
    }

    #[test]
    fn a_message_whose_confirm_carried_a_return_waits_for_its_own_return() {
        // Returns of a and b queued; lapin resolved b first and gave it a's return.
        // b's own return is still queued when b is seen: b must not be told "ok".
        let mut ledger = Ledger::default();
        let i = push(&mut ledger, &["a", "b"]);
        observe(&mut ledger, i[1], ack(Some("a")));
        assert!(ledger.settle().told.is_empty());
        observe(&mut ledger, i[0], ack(Some("b")));
        assert_eq!(
            told(&ledger.settle()),
            [("a", "returned"), ("b", "returned")]
        );
    }

    #[test]
    fn every_copy_of_a_returned_id_is_returned() {
        // Svix retried while the first delivery was in flight: same id twice.
        let mut ledger = Ledger::default();
        let i = push(&mut ledger, &["a", "a", "b"]);
        observe(&mut ledger, i[0], ack(None));
        observe(&mut ledger, i[1], ack(Some("a")));
        observe(&mut ledger, i[2], ack(None));
        // The first copy was seen first, before any return: it was told "ok" only
        // if settle ran in between, which it did not here.
        assert_eq!(
            told(&ledger.settle()),
            [("a", "returned"), ("a", "returned"), ("b", "ok")]
        );
    }

    #[test]
    fn a_return_of_no_message_in_flight_is_a_stray() {
        let mut ledger = Ledger::default();
        let i = push(&mut ledger, &["a"]);
        observe(&mut ledger, i[0], ack(Some("z")));
        let settled = ledger.settle();
        assert_eq!(told(&settled), [("a", "ok")]);
        assert_eq!(settled.strays, ["z".to_owned()]);
    }

    #[test]
    fn a_confirm_resolving_behind_the_pass_is_seen_before_anything_is_decided() {
        // a is routable, b unroutable. The pass polls a (still pending); then lapin
        // gives b's return to a's confirm and resolves b's with none; then the pass
        // polls b. Deciding after that one pass would tell b "ok".
        let mut ledger = Ledger::default();
        push(&mut ledger, &["a", "b"]);
        let mut polls = 0;
        let settled = ledger.collect(|r: &mut Reply| {
            polls += 1;
            match (polls, r.0) {
                (1, "a") => None,
                (2, "b") => Some(ack(None)),
                (_, "a") => Some(ack(Some("b"))),
                _ => None,
            }
        });
        assert!(polls >= 3, "a second pass was made");
        // b's return was seen: nothing is decided until every confirm is in, and
        // every confirm is in, so both are decided, b as returned.
        assert_eq!(told(&settled), [("a", "ok"), ("b", "returned")]);
        assert!(ledger.is_empty());
    }

    #[test]
    fn abandoning_hands_back_every_undecided_reply() {
        let mut ledger = Ledger::default();
        let i = push(&mut ledger, &["a", "b"]);
        observe(&mut ledger, i[0], ack(Some("b")));
        let mut replies = ledger.abandon();
        replies.sort();
        assert_eq!(replies, [("a", i[0]), ("b", i[1])]);
        assert!(ledger.is_empty() && !ledger.tainted());
    }
}
