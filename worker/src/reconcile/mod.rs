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
//!   memberships: their organization's memberships are listed again), and those Clerk
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

use std::{
    collections::{HashMap, HashSet},
    fmt,
    time::Instant,
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::{
    db::PgPool,
    models::{NewMembership, NewOrganization, NewUser},
};
use tracing::{info, warn};

pub use metrics::Metrics;

use self::{
    compare::Verdict,
    local::{LiveMembership, LiveRow},
    progress::{KindProgress, Progress},
};
use crate::{
    apply::{Change, ObjectKind, Outcome},
    backfill::{
        apply_changes, changes_of, kind_name, ClerkClient, ClientError, Kinds, Listing,
        MAX_IDS_PER_LOOKUP,
    },
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
/// organization's memberships.
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

/// The id of a listed object.
fn id_of(item: &Value) -> Option<&str> {
    item.get("id").and_then(Value::as_str)
}

struct Run<'a> {
    pool: &'a PgPool,
    client: &'a ClerkClient,
    options: Options,
}

impl Run<'_> {
    /// Users: cursor paging, then the gone check.
    async fn users(&self, bar: &KindProgress, counts: &mut KindCounts) -> anyhow::Result<()> {
        let mut listed = HashSet::new();
        let mut cursor: Option<String> = None;
        // Set once we page by offset instead (the API ignored or refused the cursor).
        let mut offset: Option<usize> = None;
        let mut position = 0usize;
        loop {
            let page = match offset {
                Some(o) => self.client.page(&Listing::Users, o).await,
                None => self.client.users_after(cursor.as_deref()).await,
            };
            let page = match page {
                Err(ClientError::Rejected { status, .. })
                    if offset.is_none() && cursor.is_some() && matches!(status, 400 | 422) =>
                {
                    warn!(
                        status,
                        "Clerk refused the starting_after cursor: paging users by offset from here"
                    );
                    offset = Some(position);
                    continue;
                }
                other => other.context(
                    "could not list users from Clerk (nothing was tombstoned; run reconcile again)",
                )?,
            };
            if offset.is_none() && cursor.is_some() {
                if let Some(first) = page.items.first().and_then(id_of) {
                    if listed.contains(first) {
                        warn!("Clerk ignored the starting_after cursor: paging users by offset from here");
                        offset = Some(position);
                        continue;
                    }
                }
            }
            let n = page.items.len();
            let last = page.items.last().and_then(id_of).map(str::to_owned);
            self.repair_page(ObjectKind::User, &page.items, &mut listed, counts)
                .await?;
            bar.show("listing", counts);
            position += n;
            if n < self.client.page_size() {
                break;
            }
            match (&mut offset, last) {
                (Some(o), _) => *o += n,
                (None, Some(last)) => cursor = Some(last),
                (None, None) => offset = Some(position),
            }
        }
        bar.show("looking up unlisted users", counts);
        self.gone(ObjectKind::User, &listed, counts).await
    }

    /// Organizations: offset paging, applied when asked for, then the gone check.
    /// Returns the ids Clerk listed, in order.
    async fn organizations(
        &self,
        bar: &KindProgress,
        counts: &mut KindCounts,
    ) -> anyhow::Result<Vec<String>> {
        let apply = self.options.kinds.organizations;
        let mut listed = HashSet::new();
        let mut order = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .client
                .page(&Listing::Organizations, offset)
                .await
                .context(
                    "could not list organizations from Clerk (nothing was tombstoned; run reconcile again)",
                )?;
            let n = page.items.len();
            order.extend(page.items.iter().filter_map(id_of).map(str::to_owned));
            if apply {
                self.repair_page(ObjectKind::Organization, &page.items, &mut listed, counts)
                    .await?;
                bar.show("listing", counts);
            } else {
                listed.extend(page.items.iter().filter_map(id_of).map(str::to_owned));
            }
            if n < self.client.page_size() {
                break;
            }
            offset += n;
        }
        if apply {
            bar.show("looking up unlisted organizations", counts);
            self.gone(ObjectKind::Organization, &listed, counts).await?;
        }
        Ok(order)
    }

    /// Each listed organization's memberships, then the gone check among the
    /// memberships of those organizations.
    async fn memberships(
        &self,
        organizations: &[String],
        bar: &KindProgress,
        counts: &mut KindCounts,
    ) -> anyhow::Result<()> {
        let mut listed: HashMap<&str, HashSet<String>> = HashMap::new();
        for (i, organization_id) in organizations.iter().enumerate() {
            let listing = Listing::Memberships {
                organization_id: organization_id.clone(),
            };
            let mut seen = HashSet::new();
            let mut offset = 0;
            loop {
                let page = self.client.page(&listing, offset).await.with_context(|| {
                    format!(
                        "could not list the memberships of organization {organization_id} from Clerk \
                         (nothing was tombstoned; run reconcile again)"
                    )
                })?;
                let n = page.items.len();
                self.repair_page(ObjectKind::Membership, &page.items, &mut seen, counts)
                    .await?;
                bar.show(
                    &format!("organization {}/{}", i + 1, organizations.len()),
                    counts,
                );
                if n < self.client.page_size() {
                    break;
                }
                offset += n;
            }
            listed.insert(organization_id, seen);
        }

        // Live memberships of listed organizations that their listing lacked.
        bar.show("looking up unlisted memberships", counts);
        let live = local::live_memberships(self.pool).await?;
        let live_count = live.len();
        let mut candidates: HashMap<&str, Vec<LiveMembership>> = HashMap::new();
        let mut elsewhere = 0u64;
        for m in live {
            match listed.get_key_value(m.organization_id.as_str()) {
                Some((org, seen)) if !seen.contains(&m.id) => {
                    candidates.entry(*org).or_default().push(m)
                }
                Some(_) => {}
                None => elsewhere += 1,
            }
        }
        if elsewhere > 0 {
            info!(
                memberships = elsewhere,
                "live memberships of organizations Clerk does not list were left alone \
                 (reconcile --organizations tombstones a gone organization and its memberships)"
            );
        }
        // Confirm: list each such organization's memberships again.
        let mut confirmed = Vec::new();
        for (organization_id, members) in candidates {
            let again = self.membership_ids(organization_id).await?;
            confirmed.extend(members.into_iter().filter(|m| !again.contains(&m.id)));
        }
        confirmed.sort_by(|a, b| a.id.cmp(&b.id));
        self.check_mass_gone(ObjectKind::Membership, confirmed.len(), live_count)?;
        if self.options.dry_run {
            for m in &confirmed {
                info!(kind = "memberships", object_id = %m.id, "gone from Clerk: would tombstone (dry run)");
            }
            counts.gone += confirmed.len() as u64;
            return Ok(());
        }
        for chunk in confirmed.chunks(MAX_IDS_PER_LOOKUP) {
            let changes = chunk.iter().map(membership_tombstone).collect();
            self.tombstone(ObjectKind::Membership, changes, counts)
                .await?;
        }
        Ok(())
    }

    /// Every membership id Clerk lists for an organization.
    async fn membership_ids(&self, organization_id: &str) -> anyhow::Result<HashSet<String>> {
        let listing = Listing::Memberships {
            organization_id: organization_id.to_owned(),
        };
        let mut ids = HashSet::new();
        let mut offset = 0;
        loop {
            let page = self.client.page(&listing, offset).await.with_context(|| {
                format!(
                    "could not list the memberships of organization {organization_id} again to confirm \
                     absences (nothing was tombstoned for it)"
                )
            })?;
            let n = page.items.len();
            ids.extend(page.items.iter().filter_map(id_of).map(str::to_owned));
            if n < self.client.page_size() {
                return Ok(ids);
            }
            offset += n;
        }
    }

    /// Compares a page with the local rows and applies what is missing or outdated
    /// (in a dry run, counts it). Adds the page's ids to `listed`.
    async fn repair_page(
        &self,
        kind: ObjectKind,
        items: &[Value],
        listed: &mut HashSet<String>,
        counts: &mut KindCounts,
    ) -> anyhow::Result<()> {
        counts.checked += items.len() as u64;
        listed.extend(items.iter().filter_map(id_of).map(str::to_owned));
        let (changes, skipped) = changes_of(kind, items);
        counts.skipped += skipped;
        let ids = changes.iter().map(|(id, _, _)| id.clone()).collect();
        let local = local::rows(self.pool, kind, ids).await?;
        let mut verdicts = HashMap::new();
        let mut repairs = Vec::new();
        for (id, change, subject) in changes {
            let Some(version) = compare::version(&change) else {
                continue;
            };
            let verdict = compare::verdict(version, local.get(&id).copied());
            if verdict.repairs() {
                verdicts.insert(id.clone(), verdict);
                repairs.push((id, change, subject));
            }
        }
        let name = kind_name(kind);
        if self.options.dry_run {
            for (id, _, _) in &repairs {
                let verdict = verdicts.get(id).copied();
                info!(kind = name, object_id = %id, ?verdict, "would apply (dry run)");
                count(counts, verdict);
            }
            return Ok(());
        }
        for (id, outcome) in apply_changes(self.pool, name, repairs).await? {
            let verdict = verdicts.get(&id).copied();
            match outcome {
                Outcome::Applied => {
                    info!(kind = name, object_id = %id, ?verdict, "repaired from Clerk's copy");
                    count(counts, verdict);
                }
                _ => {
                    info!(kind = name, object_id = %id, "a newer row landed meanwhile: left as it is");
                    counts.superseded += 1;
                }
            }
        }
        Ok(())
    }

    /// Looks up the live rows of `kind` (users or organizations) that Clerk did not
    /// list, and tombstones those Clerk confirms it does not have.
    async fn gone(
        &self,
        kind: ObjectKind,
        listed: &HashSet<String>,
        counts: &mut KindCounts,
    ) -> anyhow::Result<()> {
        let live = local::live_ids(self.pool, kind).await?;
        let candidates = compare::unlisted(&live, listed);
        if candidates.is_empty() {
            return Ok(());
        }
        let name = kind_name(kind);
        info!(
            kind = name,
            unlisted = candidates.len(),
            "live rows Clerk did not list: looking them up"
        );
        let mut confirmed = Vec::new();
        match kind {
            ObjectKind::User => {
                for chunk in candidates.chunks(MAX_IDS_PER_LOOKUP) {
                    let found = self
                        .client
                        .users_by_id(chunk)
                        .await
                        .context("could not look users up in Clerk (nothing was tombstoned)")?;
                    let found: HashSet<&str> = found.iter().filter_map(id_of).collect();
                    if let Some(stranger) = found.iter().find(|id| !chunk.iter().any(|c| c == *id))
                    {
                        anyhow::bail!(
                            "looking users up by id, Clerk answered with user {stranger}, which was not \
                             asked for: the user_id filter seems unsupported, so absences cannot be \
                             confirmed (nothing was tombstoned)"
                        );
                    }
                    confirmed.extend(
                        chunk
                            .iter()
                            .filter(|id| !found.contains(id.as_str()))
                            .cloned(),
                    );
                }
            }
            ObjectKind::Organization => {
                for id in candidates {
                    let found = self.client.organization(&id).await.with_context(|| {
                        format!(
                            "could not look organization {id} up in Clerk (nothing was tombstoned)"
                        )
                    })?;
                    if found.is_none() {
                        confirmed.push(id);
                    }
                }
            }
            // Memberships are confirmed by listing their organization again, in
            // `Run::memberships`, which does not call this.
            ObjectKind::Membership => {}
        }
        self.check_mass_gone(kind, confirmed.len(), live.len())?;
        if self.options.dry_run {
            for id in &confirmed {
                info!(kind = name, object_id = %id, "gone from Clerk: would tombstone (dry run)");
            }
            counts.gone += confirmed.len() as u64;
            return Ok(());
        }
        for chunk in confirmed.chunks(MAX_IDS_PER_LOOKUP) {
            let rows = local::live_rows(self.pool, kind, chunk.to_vec()).await?;
            let changes = rows.iter().map(|r| tombstone_change(kind, r)).collect();
            self.tombstone(kind, changes, counts).await?;
        }
        Ok(())
    }

    fn check_mass_gone(&self, kind: ObjectKind, gone: usize, live: usize) -> anyhow::Result<()> {
        if compare::too_many_gone(gone, live) && !self.options.force {
            anyhow::bail!(
                "{gone} of {live} live {} look gone from Clerk: refusing to tombstone so many \
                 (is CLERK_SECRET_KEY the key of the instance this database follows?). \
                 Nothing was tombstoned; run with --dry-run to see them, --force to tombstone anyway.",
                kind_name(kind)
            );
        }
        Ok(())
    }

    /// Applies tombstones (one transaction) and counts them.
    async fn tombstone(
        &self,
        kind: ObjectKind,
        changes: Vec<(String, Change, Option<String>)>,
        counts: &mut KindCounts,
    ) -> anyhow::Result<()> {
        let name = kind_name(kind);
        for (id, outcome) in apply_changes(self.pool, name, changes).await? {
            if outcome == Outcome::Applied {
                info!(kind = name, object_id = %id, "gone from Clerk: tombstoned");
                counts.gone += 1;
            } else {
                counts.superseded += 1;
            }
        }
        Ok(())
    }
}

fn count(counts: &mut KindCounts, verdict: Option<Verdict>) {
    match verdict {
        Some(Verdict::Missing) => counts.missing += 1,
        Some(Verdict::Outdated) => counts.outdated += 1,
        _ => {}
    }
}

/// The version a reconcile tombstone carries: now, or the stored version if that is
/// later (a delete is terminal; the tombstone keeps the greater version).
fn tombstone_version(stored: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(stored)
}

/// `{object, id, deleted}`, as a delete webhook's data.
fn stub(object: &str, id: &str) -> Value {
    json!({ "object": object, "id": id, "deleted": true })
}

/// The tombstone of a gone user or organization: what a delete webhook writes.
fn tombstone_change(kind: ObjectKind, row: &LiveRow) -> (String, Change, Option<String>) {
    let at = tombstone_version(row.clerk_updated_at);
    let id = row.id.clone();
    match kind {
        ObjectKind::Organization => (
            id.clone(),
            Change::Organization(NewOrganization {
                id: id.clone(),
                name: None,
                slug: row.kept.clone(),
                image_url: None,
                created_by: None,
                public_metadata: None,
                data: Some(stub("organization", &id)),
                clerk_created_at: None,
                clerk_updated_at: at,
                deleted_at: Some(at),
            }),
            None,
        ),
        _ => (
            id.clone(),
            Change::User(NewUser {
                id: id.clone(),
                email: None,
                first_name: None,
                last_name: None,
                username: None,
                image_url: None,
                external_id: row.kept.clone(),
                public_metadata: None,
                data: Some(stub("user", &id)),
                clerk_created_at: None,
                clerk_updated_at: at,
                deleted_at: Some(at),
            }),
            Some(id),
        ),
    }
}

/// The tombstone of a gone membership.
fn membership_tombstone(m: &LiveMembership) -> (String, Change, Option<String>) {
    let at = tombstone_version(m.clerk_updated_at);
    (
        m.id.clone(),
        Change::Membership(NewMembership {
            id: m.id.clone(),
            organization_id: m.organization_id.clone(),
            user_id: m.user_id.clone(),
            role: None,
            public_metadata: None,
            data: Some(stub("organization_membership", &m.id)),
            clerk_created_at: None,
            clerk_updated_at: at,
            deleted_at: Some(at),
        }),
        m.user_id.clone(),
    )
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

    #[test]
    fn a_tombstone_never_goes_back_in_time() {
        let future = Utc::now() + chrono::Duration::days(1);
        assert_eq!(tombstone_version(future), future);
        assert!(tombstone_version(DateTime::<Utc>::UNIX_EPOCH) > DateTime::<Utc>::UNIX_EPOCH);
    }
}
