//! Applying events while Postgres may be down: an outage is waited out (no attempt
//! is charged); a batch that fails although Postgres is fine is applied again event
//! by event, so only the guilty event is charged.

use std::{
    ops::Range,
    sync::Arc,
    time::{Duration, Instant},
};

use shared::{backoff::Backoff, report::chain};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{batch::NoResult, decide::Failure, Consumer};
use crate::{
    apply::{apply_batch, EventToApply, Outcome},
    database::{self, DbError},
    pg_errors::ErrorClass,
};

/// What came of applying a slice of events in one transaction.
enum Slice {
    /// One result per event, in order.
    Applied(Vec<Result<Outcome, Failure>>),
    /// The transaction as a whole failed, and Postgres is fine.
    Failed(DbError),
    /// Told to stop while Postgres was down.
    Stopped,
}

impl Consumer {
    /// Applies `events`: one result per event, in order. Events not applied because
    /// the worker is stopping while Postgres is down get [`Failure::Outage`].
    pub(super) async fn apply_riding_out_outages(
        &self,
        events: Arc<Vec<EventToApply>>,
        stop: &CancellationToken,
    ) -> Vec<Result<Outcome, Failure>> {
        let n = events.len();
        let mut busy = Duration::ZERO;
        let results = match self.apply_slice(&events, 0..n, stop, &mut busy).await {
            Slice::Applied(results) => results,
            Slice::Stopped => return held(n),
            Slice::Failed(e) if n == 1 => vec![Err(Failure::Transient(e.into()))],
            Slice::Failed(e) => {
                warn!(error = %chain(&e), size = n, "batch failed; applying its events one by one");
                let mut results = Vec::with_capacity(n);
                for i in 0..n {
                    match self.apply_slice(&events, i..i + 1, stop, &mut busy).await {
                        Slice::Applied(mut one) => results.push(
                            one.pop()
                                .unwrap_or_else(|| Err(Failure::Transient(NoResult.into()))),
                        ),
                        Slice::Failed(e) => results.push(Err(Failure::Transient(e.into()))),
                        Slice::Stopped => {
                            results.extend(held(n - i));
                            break;
                        }
                    }
                }
                results
            }
        };
        self.metrics.apply_seconds.observe(busy.as_secs_f64());
        results
    }

    /// Applies `events[range]` in one `apply_batch`, waiting out Postgres outages.
    /// Adds the time spent in Postgres (not waiting for it) to `busy`.
    async fn apply_slice(
        &self,
        events: &Arc<Vec<EventToApply>>,
        range: Range<usize>,
        stop: &CancellationToken,
        busy: &mut Duration,
    ) -> Slice {
        let mut backoff = Backoff::default();
        let mut reruns = 0;
        loop {
            let batch = events.clone();
            let range = range.clone();
            let started = Instant::now();
            let result =
                database::with_connection(&self.pool, move |conn| apply_batch(conn, &batch[range]))
                    .await;
            *busy += started.elapsed();
            match result {
                Ok(results) => {
                    self.database_back();
                    return Slice::Applied(
                        results
                            .into_iter()
                            .map(|r| r.map_err(|e| Failure::Transient(e.into())))
                            .collect(),
                    );
                }
                Err(e) if e.class() == ErrorClass::RetryNow && reruns < RERUN_LIMIT => {
                    reruns += 1;
                    self.metrics.reruns.inc();
                    info!(error = %chain(&e), rerun = reruns, "the transaction lost a race; running it again (no attempt is counted)");
                    // A moment's random pause, so two transactions that deadlocked
                    // do not meet again in step.
                    tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 20)).await;
                }
                Err(e) if database::is_outage(&self.pool, &e).await => {
                    if !self.wait_for_database(&e, &mut backoff, stop).await {
                        return Slice::Stopped;
                    }
                }
                Err(e) => return Slice::Failed(e),
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
        let wait = backoff.next_wait();
        if self.metrics.database_up.get() == 1 {
            warn!(error = %chain(error), "Postgres is unreachable; holding events until it is back (no attempt is counted)");
            self.metrics.database_up.set(0);
        }
        tokio::select! {
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(wait) => true,
        }
    }
}

/// How many times in a row a transaction that lost a race (deadlock, serialization
/// failure) is run again at once before it counts as an ordinary failure: a bound,
/// so that a transaction that can never win is retried with backoff and charged.
const RERUN_LIMIT: u32 = 10;

fn held(n: usize) -> Vec<Result<Outcome, Failure>> {
    (0..n).map(|_| Err(Failure::Outage)).collect()
}
