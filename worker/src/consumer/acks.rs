//! Acknowledging deliveries with one `basic.ack multiple` per settled batch.
//!
//! Batches settle out of order (several are in flight), so an ack with `multiple`
//! may only cover tags that are all settled: up to just below the lowest tag still
//! outstanding. Deliveries arrive in tag order and are registered before they are
//! processed, so every tag below the highest one seen is known.

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
    outstanding: BTreeSet<u64>,
    max_seen: u64,
}

impl State {
    /// The highest tag below which everything seen is settled.
    fn settled_upto(&self) -> u64 {
        match self.outstanding.first() {
            Some(&lowest) => lowest.saturating_sub(1),
            None => self.max_seen,
        }
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
            st.max_seen = st.max_seen.max(tag);
        }
    }

    /// Forgets deliveries handed back to the broker (nack with requeue).
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
                st.outstanding.remove(&tag);
            }
            st.settled_upto()
        };
        if upto > *acked {
            self.channel
                .basic_ack(upto, BasicAckOptions { multiple: true })
                .await?;
            *acked = upto;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_stop_below_the_lowest_outstanding_tag() {
        let mut st = State::default();
        for t in 1..=10 {
            st.outstanding.insert(t);
            st.max_seen = t;
        }
        // The second batch (6..=10) settles first: nothing below 1 is settled.
        for t in 6..=10 {
            st.outstanding.remove(&t);
        }
        assert_eq!(st.settled_upto(), 0);
        // Then the first: everything is.
        for t in 1..=5 {
            st.outstanding.remove(&t);
        }
        assert_eq!(st.settled_upto(), 10);
    }
}
