//! `worker reconcile`: compares the tables with Clerk's Backend API and repairs drift
//! both ways.
//!
//! For each kind asked for, it lists Clerk's objects (users by the `starting_after`
//! cursor, oldest first, falling back to offsets if the API ignores the cursor;
//! organizations and each organization's memberships by offset) and compares each
//! page with the local rows:
//!
//! - `missing` (no local row) and `outdated` (the local row is older) objects are
//!   applied through the same path as webhooks and backfill ([`apply_object`] under
//!   the ordering guard), so a webhook that lands meanwhile with a newer version is
//!   never overwritten: the repair is then `superseded`;
//! - once a listing has been read to its end, the live local rows Clerk did not list
//!   are looked up by id (users: up to 100 ids a request; organizations: one by one;
//!   memberships: through their user, `?user_id=` on the organization's listing, one
//!   page, since an offset listing that changes while it is read can skip a row on
//!   every pass), and those Clerk
//!   confirms it does not have are `gone`: tombstoned with erasure, as a delete
//!   webhook would. A listing that fails part way stops the run before this step, so
//!   nothing is ever tombstoned on a partial listing or on a listing alone.
//!
//! If more than [`compare::MASS_GONE_PERCENT`]% of a kind's live rows (and more than
//! [`compare::MASS_GONE_FLOOR`]) would be tombstoned, the run stops instead: that is
//! what a key of another Clerk instance looks like. `--force` allows it.
//!
//! `--dry-run` reads and compares everything, looks absences up, and changes
//! nothing: the counts are what a run would change.
//!
//! [`apply_object`]: crate::apply::apply_object

pub mod compare;
mod local;
pub mod metrics;
mod progress;
mod run;
mod tombstone;

use std::{fmt, time::Instant};

use chrono::Utc;
use shared::db::PgPool;
use tracing::info;

pub use metrics::Metrics;

use self::{progress::Progress, run::Run};
use crate::{
    apply::Family,
    backfill::{ClerkClient, Kinds},
};

/// What to reconcile, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    pub kinds: Kinds,
    /// Compare and look up, change nothing.
    pub dry_run: bool,
    /// Tombstone even when a large share of a kind looks gone.
    pub force: bool,
}

/// What came of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Objects Clerk listed, compared with the local rows.
    pub checked: u64,
    /// Applied (or, in a dry run, would be): Clerk has it, no local row did.
    pub missing: u64,
    /// Applied (or would be): the local row was older than Clerk's copy.
    pub outdated: u64,
    /// Tombstoned (or would be): Clerk confirmed it no longer has the object.
    pub gone: u64,
    /// Repairs that found a newer row when applied (a webhook got there during the
    /// run): left as the webhook wrote them.
    pub superseded: u64,
    /// Objects that cannot be applied (no `updated_at`, say), logged with their id.
    pub skipped: u64,
}

impl KindCounts {
    fn message(&self) -> String {
        format!(
            "checked {}, missing {}, outdated {}, gone {}",
            self.checked, self.missing, self.outdated, self.gone
        )
    }
}

/// What a reconcile did, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub kinds: Kinds,
    pub dry_run: bool,
    pub users: KindCounts,
    pub organizations: KindCounts,
    pub memberships: KindCounts,
    /// The other families, with `--all-objects`, in the order read.
    pub objects: Vec<(Family, KindCounts)>,
}

impl Summary {
    /// The kinds asked for, with their counts.
    pub fn per_kind(&self) -> Vec<(&'static str, &KindCounts)> {
        [
            (self.kinds.users, "users", &self.users),
            (
                self.kinds.organizations,
                "organizations",
                &self.organizations,
            ),
            (self.kinds.memberships, "memberships", &self.memberships),
        ]
        .into_iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, name, c)| (name, c))
        .chain(self.objects.iter().map(|(f, c)| (f.table(), c)))
        .collect()
    }

    /// Whether the run changed (or, dry, would change) anything.
    pub fn found_drift(&self) -> bool {
        self.per_kind()
            .iter()
            .any(|(_, c)| c.missing + c.outdated + c.gone > 0)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "reconcile summary (dry run: nothing changed; the counts are what a run would change):"
            )?;
        } else {
            writeln!(f, "reconcile summary:")?;
        }
        for (name, c) in self.per_kind() {
            write!(
                f,
                "  {name:<14} checked {:>7}  missing {:>5}  outdated {:>5}  gone {:>5}",
                c.checked, c.missing, c.outdated, c.gone
            )?;
            if c.superseded > 0 {
                write!(f, "  superseded {}", c.superseded)?;
            }
            if c.skipped > 0 {
                write!(f, "  skipped {}", c.skipped)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Reconciles the kinds asked for: users, then organizations, then each listed
/// organization's memberships, then (`--all-objects`) the other families Clerk lists.
/// For those, what is missing or outdated is repaired; absences are not checked
/// (Clerk has no lookup by id for them to confirm one), so nothing is tombstoned.
pub async fn reconcile(
    pool: &PgPool,
    client: &ClerkClient,
    options: Options,
) -> anyhow::Result<Summary> {
    let progress = Progress::new();
    let mut summary = Summary {
        kinds: options.kinds,
        dry_run: options.dry_run,
        ..Summary::default()
    };
    let run = Run {
        pool,
        client,
        options,
    };
    if options.kinds.users {
        let bar = progress.kind("users");
        run.users(&bar, &mut summary.users).await?;
        bar.done(&summary.users);
        log_done("users", &summary.users, options.dry_run);
    }
    if options.kinds.organizations || options.kinds.memberships {
        let bar = progress.kind(if options.kinds.organizations {
            "organizations"
        } else {
            "organizations (listing only)"
        });
        let organizations = run.organizations(&bar, &mut summary.organizations).await?;
        bar.done(&summary.organizations);
        if options.kinds.organizations {
            log_done("organizations", &summary.organizations, options.dry_run);
        }
        if options.kinds.memberships {
            let bar = progress.kind("memberships");
            run.memberships(&organizations, &bar, &mut summary.memberships)
                .await?;
            bar.done(&summary.memberships);
            log_done("memberships", &summary.memberships, options.dry_run);
        }
    }
    if options.kinds.all_objects {
        for family in Family::ALL {
            if family.list_path().is_none() {
                continue;
            }
            let bar = progress.kind(family.table());
            let mut counts = KindCounts::default();
            run.objects(family, &bar, &mut counts).await?;
            bar.done(&counts);
            log_done(family.table(), &counts, options.dry_run);
            summary.objects.push((family, counts));
        }
    }
    Ok(summary)
}

/// [`reconcile`], adding what it did to `metrics` (runs, duration, counts, requests).
pub async fn reconcile_recorded(
    pool: &PgPool,
    client: &ClerkClient,
    options: Options,
    metrics: &Metrics,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let (requests, limited) = (client.stats().requests(), client.stats().rate_limited());
    let result = reconcile(pool, client, options).await;
    metrics
        .requests
        .inc_by(client.stats().requests().saturating_sub(requests));
    metrics
        .rate_limited
        .inc_by(client.stats().rate_limited().saturating_sub(limited));
    metrics.last_duration.set(started.elapsed().as_secs_f64());
    match &result {
        Ok(summary) => {
            metrics.record(summary);
            metrics.runs.with_label_values(&["ok"]).inc();
            metrics.last_success.set(Utc::now().timestamp() as f64);
        }
        Err(_) => metrics.runs.with_label_values(&["failed"]).inc(),
    }
    result
}

fn log_done(kind: &str, c: &KindCounts, dry_run: bool) {
    info!(
        kind,
        dry_run,
        checked = c.checked,
        missing = c.missing,
        outdated = c.outdated,
        gone = c.gone,
        superseded = c.superseded,
        skipped = c.skipped,
        "reconcile of {kind} done"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_kind_asked_for() {
        let s = Summary {
            kinds: Kinds::from_flags(true, false, true),
            dry_run: true,
            users: KindCounts {
                checked: 5,
                missing: 1,
                outdated: 2,
                gone: 3,
                ..KindCounts::default()
            },
            ..Summary::default()
        };
        let text = s.to_string();
        assert!(text.contains("dry run"), "{text}");
        let users = text
            .lines()
            .find(|l| l.trim_start().starts_with("users"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
        assert_eq!(
            users.as_deref(),
            Some("users checked 5 missing 1 outdated 2 gone 3")
        );
        assert!(text.contains("memberships") && !text.contains("organizations"));
        assert!(s.found_drift());
    }
}
