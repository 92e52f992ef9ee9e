//! What happens to a delivery: one pure function, [`decide`], from what came of it
//! (an outcome or a [`Failure`]) and how many attempts already failed to a
//! [`Verdict`]. No broker, no database: the whole retry policy is tested here.

use std::time::Duration;

use crate::apply::Outcome;

/// The boxed cause of a failure, kept for its message chain.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a delivery did not apply.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Retrying cannot help (the body is not an event, a field is missing): dead
    /// letter at once.
    #[error("the event can never apply")]
    Permanent(#[source] Cause),
    /// This attempt failed and another may pass: charged one attempt.
    #[error("the event failed to apply")]
    Transient(#[source] Cause),
    /// Postgres was unavailable and the worker is stopping: the event was never
    /// tried, so no attempt is charged.
    #[error("Postgres is unavailable")]
    Outage,
}

/// What to do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It is done (applied, stale, duplicate or ignored): ack it.
    Ack(Outcome),
    /// Republish it to the retry queue of `delay`, with `attempts` failed so far;
    /// ack the original once the broker confirms.
    Retry { attempts: u32, delay: Duration },
    /// Republish it to the dead-letter queue, with `attempts` failed so far; ack
    /// the original once the broker confirms.
    DeadLetter { attempts: u32 },
    /// Give it back to the broker unharmed (nack with requeue), uncharged.
    Hold,
}

impl Verdict {
    /// The outcome label for logs and metrics.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Self::Ack(outcome) => outcome.as_str(),
            Self::Retry { .. } => "retried",
            Self::DeadLetter { .. } => "dead_lettered",
            Self::Hold => "held",
        }
    }
}

/// How often, and after which waits, a failing event is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all before an event is dead-lettered (at least 1).
    pub(crate) max_attempts: u32,
    /// The wait before attempt 2, 3, …; the last one repeats.
    pub(crate) delays: Vec<Duration>,
}

impl RetryPolicy {
    /// The wait before the next attempt, after `failed` attempts have failed.
    pub(crate) fn delay_after(&self, failed: u32) -> Duration {
        let i = usize::try_from(failed.max(1) - 1).unwrap_or(usize::MAX);
        self.delays
            .get(i)
            .or(self.delays.last())
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }
}

/// What happens to a delivery whose attempts so far have failed `failed_before`
/// times, given what came of this one.
pub(crate) fn decide(
    result: &Result<Outcome, Failure>,
    failed_before: u32,
    policy: &RetryPolicy,
) -> Verdict {
    let attempts = failed_before.saturating_add(1);
    match result {
        Ok(outcome) => Verdict::Ack(*outcome),
        Err(Failure::Outage) => Verdict::Hold,
        Err(Failure::Permanent(_)) => Verdict::DeadLetter { attempts },
        Err(Failure::Transient(_)) if attempts >= policy.max_attempts => {
            Verdict::DeadLetter { attempts }
        }
        Err(Failure::Transient(_)) => Verdict::Retry {
            attempts,
            delay: policy.delay_after(attempts),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_attempts: u32, delays: &[u64]) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            delays: delays.iter().map(|s| Duration::from_secs(*s)).collect(),
        }
    }

    fn transient() -> Result<Outcome, Failure> {
        Err(Failure::Transient("deadlock detected".into()))
    }

    fn permanent() -> Result<Outcome, Failure> {
        Err(Failure::Permanent("data.id is missing".into()))
    }

    #[test]
    fn done_events_are_acked_with_their_outcome() {
        let p = policy(5, &[1]);
        for outcome in [
            Outcome::Applied,
            Outcome::Stale,
            Outcome::Duplicate,
            Outcome::Ignored,
        ] {
            assert_eq!(decide(&Ok(outcome), 3, &p), Verdict::Ack(outcome));
        }
    }

    #[test]
    fn a_transient_failure_counts_one_attempt_and_waits_its_delay() {
        let p = policy(5, &[1, 5, 30]);
        assert_eq!(
            decide(&transient(), 0, &p),
            Verdict::Retry {
                attempts: 1,
                delay: Duration::from_secs(1)
            }
        );
        assert_eq!(
            decide(&transient(), 1, &p),
            Verdict::Retry {
                attempts: 2,
                delay: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn the_last_delay_repeats() {
        let p = policy(10, &[1, 5]);
        for failed_before in 2..9 {
            assert_eq!(
                decide(&transient(), failed_before, &p),
                Verdict::Retry {
                    attempts: failed_before + 1,
                    delay: Duration::from_secs(5)
                }
            );
        }
    }

    #[test]
    fn the_last_attempt_is_dead_lettered() {
        let p = policy(4, &[1]);
        assert!(matches!(decide(&transient(), 2, &p), Verdict::Retry { .. }));
        assert_eq!(
            decide(&transient(), 3, &p),
            Verdict::DeadLetter { attempts: 4 }
        );
        // A count already past the cap (the cap was lowered meanwhile) is dead too.
        assert_eq!(
            decide(&transient(), 9, &p),
            Verdict::DeadLetter { attempts: 10 }
        );
    }

    #[test]
    fn one_attempt_in_all_means_no_retry() {
        let p = policy(1, &[1]);
        assert_eq!(
            decide(&transient(), 0, &p),
            Verdict::DeadLetter { attempts: 1 }
        );
    }

    #[test]
    fn a_permanent_failure_is_dead_lettered_at_once() {
        let p = policy(5, &[1]);
        assert_eq!(
            decide(&permanent(), 0, &p),
            Verdict::DeadLetter { attempts: 1 }
        );
        assert_eq!(
            decide(&permanent(), 2, &p),
            Verdict::DeadLetter { attempts: 3 }
        );
    }

    #[test]
    fn an_outage_is_held_and_never_charged() {
        let p = policy(1, &[1]);
        for failed_before in [0, 1, 4, u32::MAX] {
            assert_eq!(
                decide(&Err(Failure::Outage), failed_before, &p),
                Verdict::Hold
            );
        }
    }

    #[test]
    fn attempts_do_not_overflow() {
        let p = policy(5, &[1]);
        assert_eq!(
            decide(&transient(), u32::MAX, &p),
            Verdict::DeadLetter { attempts: u32::MAX }
        );
    }

    #[test]
    fn no_delays_configured_waits_one_second() {
        assert_eq!(policy(5, &[]).delay_after(1), Duration::from_secs(1));
    }
}
