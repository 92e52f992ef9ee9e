//! Acknowledging deliveries with one `basic.ack multiple` per settled batch.
//!
//! Batches settle out of order (several are in flight), so an ack with `multiple`
//! may only cover tags that are all settled: up to just below the lowest tag still
//! outstanding. Deliveries arrive in tag order and are registered before they are
//! processed, so every tag below the highest one seen is known.
//!
//! The tag an ack names must itself be unacknowledged at the broker: RabbitMQ
//! closes the channel on an ack for a tag it no longer holds (one handed back with
//! a nack, say), and every batch committed but not yet acked on it comes back. So
//! an ack names the highest *settled* tag below the lowest outstanding one, never a
//! handed-back tag; handed-back tags below it are skipped by the broker.

use std::{collections::BTreeSet, sync::Mutex};

use lapin::{options::BasicAckOptions, Channel};

pub struct Acks {
    channel: Channel,
    /// Tags taken and not yet settled. Only ever held briefly, never across an await.
    state: Mutex<State>,
    /// The highest tag acked. Held across the send, so acks go out in increasing
    /// order (an ack below one already sent would close the channel).
    acked: tokio::sync::Mutex<u64>,
}

#[derive(Default)]
struct State {
    /// Taken, not yet settled nor handed back.
    outstanding: BTreeSet<u64>,
    /// Settled, not yet acked.
    settled: BTreeSet<u64>,
}

impl State {
    /// The tag to ack with `multiple`: the highest settled one below the lowest
    /// outstanding one (`None` when there is none).
    fn ack_upto(&self) -> Option<u64> {
        let limit = self.outstanding.first().copied().unwrap_or(u64::MAX);
        self.settled.range(..limit).next_back().copied()
    }

    /// Forgets the settled tags an ack up to `upto` covered.
    fn acked(&mut self, upto: u64) {
        self.settled = self.settled.split_off(&(upto + 1));
    }
}

impl Acks {
    pub fn new(channel: Channel) -> Self {
        Self {
            channel,
            state: Mutex::default(),
            acked: tokio::sync::Mutex::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers deliveries taken from the consumer, before they are processed.
    pub fn received(&self, tags: impl IntoIterator<Item = u64>) {
        let mut st = self.state();
        for tag in tags {
            st.outstanding.insert(tag);
        }
    }

    /// Forgets deliveries handed back to the broker (nack with requeue): no ack will
    /// name them.
    pub fn returned(&self, tags: impl IntoIterator<Item = u64>) {
        let mut st = self.state();
        for tag in tags {
            st.outstanding.remove(&tag);
        }
    }

    /// Marks deliveries settled (applied, or republished with a confirm) and acks
    /// everything settled up to the lowest outstanding tag.
    pub async fn settle(&self, tags: impl IntoIterator<Item = u64>) -> lapin::Result<()> {
        let mut acked = self.acked.lock().await;
        let upto = {
            let mut st = self.state();
            for tag in tags {
                if st.outstanding.remove(&tag) {
                    st.settled.insert(tag);
                }
            }
            st.ack_upto()
        };
        if let Some(upto) = upto.filter(|&u| u > *acked) {
            self.channel
                .basic_ack(upto, BasicAckOptions { multiple: true })
                .await?;
            *acked = upto;
            self.state().acked(upto);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(tags: std::ops::RangeInclusive<u64>) -> State {
        State {
            outstanding: tags.collect(),
            settled: BTreeSet::new(),
        }
    }

    fn settle(st: &mut State, tags: impl IntoIterator<Item = u64>) {
        for t in tags {
            if st.outstanding.remove(&t) {
                st.settled.insert(t);
            }
        }
    }

    #[test]
    fn acks_stop_below_the_lowest_outstanding_tag() {
        let mut st = state(1..=10);
        // The second batch (6..=10) settles first: nothing below 1 is settled.
        settle(&mut st, 6..=10);
        assert_eq!(st.ack_upto(), None);
        // Then the first: everything is.
        settle(&mut st, 1..=5);
        assert_eq!(st.ack_upto(), Some(10));
        st.acked(10);
        assert_eq!(st.ack_upto(), None);
    }

    #[test]
    fn an_ack_never_names_a_handed_back_tag() {
        let mut st = state(1..=10);
        // A shutdown during an outage hands back the last batch.
        for t in 6..=10 {
            st.outstanding.remove(&t);
        }
        settle(&mut st, 1..=5);
        assert_eq!(
            st.ack_upto(),
            Some(5),
            "not 10: the broker no longer holds it"
        );
        // Handed-back tags in the middle are skipped, not named.
        let mut st = state(1..=6);
        st.outstanding.remove(&3);
        settle(&mut st, [1, 2, 4]);
        assert_eq!(st.ack_upto(), Some(4));
        settle(&mut st, [5]);
        assert_eq!(st.ack_upto(), Some(5));
    }
}
