//! Applying events while Postgres may be down: an outage is waited out (no attempt
//! is charged); a batch that fails although Postgres is fine is applied again event
//! by event, so only the guilty event is charged.
//!
//! An outage's SQLSTATE (class 53 or 08) that one event causes every time (it takes
//! more locks than the lock table has, or a trigger raises 53000 for its row) must
//! not stall the worker. So when a transaction fails with an outage's SQLSTATE while
//! Postgres answers a probe, a batch is applied again event by event, the suspects
//! last; a suspect event alone is held, and once it has failed so
//! [`REFUSAL_HOLD_LIMIT`] times while this worker committed other transactions
//! meanwhile, it is dead-lettered as permanent. A real outage (Postgres down: the
//! probe fails; or a full disk, a read-only failover: nothing else commits either)
//! is still waited out, however long.

use std::{
    ops::Range,
    sync::{atomic::Ordering, Arc},
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
    /// An outage's SQLSTATE although Postgres answers: perhaps these events' own
    /// fault. Given back at once (not waited out) when the caller asked so.
    Suspect(DbError),
    /// One event that Postgres refused with an outage's SQLSTATE again and again
    /// while it committed other transactions.
    Refused(Refused),
}

/// The reason a refused event is dead-lettered with.
#[derive(Debug, thiserror::Error)]
#[error("Postgres refused this event with SQLSTATE {sql_state} on {tries} tries while it applied other events; taken as this event's own fault")]
pub(super) struct Refused {
    sql_state: String,
    tries: u32,
    #[source]
    error: DbError,
}

/// Whether a suspect slice is given back at once or held.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Suspects {
    GiveBack,
    /// Held; `since` is what this worker had committed when the event was first
    /// suspected (else: at its first refusal here).
    Hold {
        since: Option<u64>,
    },
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
        let whole = self
            .apply_slice(
                &events,
                0..n,
                stop,
                &mut busy,
                Suspects::Hold { since: None },
            )
            .await;
        let results = match whole {
            Slice::Applied(results) => results,
            Slice::Stopped => return held(n),
            Slice::Refused(r) => vec![Err(Failure::Permanent(r.into()))],
            Slice::Failed(e) | Slice::Suspect(e) if n == 1 => {
                vec![Err(Failure::Transient(e.into()))]
            }
            Slice::Failed(e) | Slice::Suspect(e) => {
                warn!(error = %chain(&e), size = n, "batch failed; applying its events one by one");
                self.apply_one_by_one(&events, stop, &mut busy).await
            }
        };
        self.metrics.apply_seconds.observe(busy.as_secs_f64());
        results
    }

    /// Applies each of `events` in its own transaction. Those that fail with an
    /// outage's SQLSTATE while Postgres answers go last, so the others are applied
    /// first (and show whether Postgres commits anything at all).
    async fn apply_one_by_one(
        &self,
        events: &Arc<Vec<EventToApply>>,
        stop: &CancellationToken,
        busy: &mut Duration,
    ) -> Vec<Result<Outcome, Failure>> {
        let n = events.len();
        let mut results: Vec<Result<Outcome, Failure>> = held(n);
        let mut suspects = Vec::new();
        let since = Some(self.commits.load(Ordering::Relaxed));
        for i in 0..n {
            match self
                .apply_slice(events, i..i + 1, stop, busy, Suspects::GiveBack)
                .await
            {
                Slice::Suspect(_) => suspects.push(i),
                Slice::Stopped => return results,
                slice => results[i] = one(slice),
            }
        }
        for i in suspects {
            match self
                .apply_slice(events, i..i + 1, stop, busy, Suspects::Hold { since })
                .await
            {
                Slice::Stopped => return results,
                slice => results[i] = one(slice),
            }
        }
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
        suspects: Suspects,
    ) -> Slice {
        let mut backoff = Backoff::default();
        let mut reruns = 0;
        // Tries refused with an outage's SQLSTATE while Postgres answered, and what
        // this worker had committed at the first of them.
        let mut refusals = 0u32;
        let mut commits_at_first_refusal = match suspects {
            Suspects::Hold { since } => since,
            Suspects::GiveBack => None,
        };
        let alone = range.len() == 1;
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
                    self.commits.fetch_add(1, Ordering::Relaxed);
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
                    if e.class() == ErrorClass::Outage && database::is_healthy(&self.pool).await {
                        if !alone || suspects == Suspects::GiveBack {
                            return Slice::Suspect(e);
                        }
                        refusals += 1;
                        let first = *commits_at_first_refusal
                            .get_or_insert_with(|| self.commits.load(Ordering::Relaxed));
                        let others_committed = self.commits.load(Ordering::Relaxed) > first;
                        if refusals >= REFUSAL_HOLD_LIMIT && others_committed {
                            return Slice::Refused(Refused {
                                sql_state: e.sql_state().unwrap_or("-").to_owned(),
                                tries: refusals,
                                error: e,
                            });
                        }
                    }
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

/// How many times one event alone may fail with an outage's SQLSTATE while Postgres
/// answers and commits other transactions before it is dead-lettered as permanent
/// (the waits between tries follow the outage backoff: 0.2 s doubling to 5 s, so
/// about 6 s for five).
pub(super) const REFUSAL_HOLD_LIMIT: u32 = 5;

/// The one result of a slice of one event.
fn one(slice: Slice) -> Result<Outcome, Failure> {
    match slice {
        Slice::Applied(mut one) => one
            .pop()
            .unwrap_or_else(|| Err(Failure::Transient(NoResult.into()))),
        Slice::Failed(e) | Slice::Suspect(e) => Err(Failure::Transient(e.into())),
        Slice::Refused(r) => Err(Failure::Permanent(r.into())),
        Slice::Stopped => Err(Failure::Outage),
    }
}

fn held(n: usize) -> Vec<Result<Outcome, Failure>> {
    (0..n).map(|_| Err(Failure::Outage)).collect()
}
