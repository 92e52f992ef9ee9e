//! `worker backfill`: reads users, organizations and organization memberships from
//! Clerk's Backend API and applies them under the same ordering rules as webhooks.
//!
//! Each object goes through [`object_change`] and `apply_change` (under every subject lock of the page), one page of a
//! listing per transaction. A row only lands when it is not older than what is stored
//! and is not a tombstone, so a backfill running beside live webhooks converges with
//! them: it never overwrites a newer row, and never brings a deleted object back
//! (those count as `stale`). An object that cannot be applied (no `updated_at`, say)
//! is logged with its id and counted as `skipped`; it does not stop the run.
//!
//! It is idempotent: applying the same version again changes nothing that matters,
//! so it can be interrupted at any point (a page's transaction either committed or
//! did not) and simply run again.
//!
//! Memberships are listed per organization (`GET /v1/organizations/{id}/memberships`)
//! after paging through `GET /v1/organizations`, rather than with an instance-wide
//! membership listing: the per-organization endpoint is the one every Clerk instance
//! has, and it needs nothing beyond the organizations listing we read anyway.
//! Organizations deleted in Clerk are not listed, so their memberships are not read.
//!
//! With `--all-objects` it also reads the instance-wide listings of the other
//! families (`/v1/organization_invitations`, `/v1/organization_domains`,
//! `/v1/organization_roles`, `/v1/organization_permissions`, `/v1/waitlist_entries`,
//! `/v1/billing/subscription_items`); billing subscriptions have no listing.
//!
//! Backfill adds and updates rows; it does not delete rows of objects that are
//! missing from Clerk (a missed `user.deleted` is not detected): `worker reconcile`
//! does that too (see [`crate::reconcile`]).

mod client;

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use diesel::Connection;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::Value;
use shared::{
    backoff::Backoff,
    config::{self, ConfigError},
    db::PgPool,
};
use tracing::{info, warn};

pub use client::{
    parse_page, retry_after, spacing_for_key, ClerkClient, ClientError, ClientStats, Listing, Page,
    Retry, CLERK_API_VERSION, DEFAULT_API_URL, MAX_IDS_PER_LOOKUP, MAX_PAGE_SIZE,
};

use crate::{
    apply::{apply_change, lock_subjects_of, object_change, Change, Family, ObjectKind, Outcome},
    database,
};

/// What `worker backfill` and `worker reconcile` need from the environment.
#[derive(Clone)]
pub struct ClerkApiSettings {
    pub database_url: String,
    /// `DATABASE_SCHEMA`.
    pub database_schema: String,
    /// `CLERK_API_URL`.
    pub api_url: String,
    secret_key: String,
}

impl fmt::Debug for ClerkApiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkApiSettings")
            .field("database_url", &config::redact_url(&self.database_url))
            .field("database_schema", &self.database_schema)
            .field("api_url", &self.api_url)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl ClerkApiSettings {
    /// `CLERK_SECRET_KEY` (required), `CLERK_API_URL`, `DATABASE_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret_key = config::required(
            "CLERK_SECRET_KEY",
            "backfill and reconcile read Clerk's Backend API with the instance's secret key \
             (sk_live_… or sk_test_…, in the Clerk dashboard under API keys)",
        )?
        .trim()
        .to_owned();
        if secret_key.starts_with("pk_") {
            return Err(ConfigError::new(
                "CLERK_SECRET_KEY",
                "holds a publishable key (pk_…): backfill and reconcile need the secret key (sk_…)",
            ));
        }
        let api_url = config::string("CLERK_API_URL", DEFAULT_API_URL)?;
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(ConfigError::new(
                "CLERK_API_URL",
                format!("= {api_url:?} must start with https:// or http://"),
            ));
        }
        let database_url = crate::settings::database_url()?;
        Ok(Self {
            database_url,
            database_schema: crate::settings::database_schema()?,
            api_url,
            secret_key,
        })
    }

    /// A client of the configured API, with Clerk's largest page.
    pub fn client(&self) -> anyhow::Result<ClerkClient> {
        ClerkClient::new(&self.api_url, &self.secret_key, MAX_PAGE_SIZE)
    }
}

/// Which kinds of object to backfill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds {
    pub users: bool,
    pub organizations: bool,
    pub memberships: bool,
    /// `--all-objects`: also the other families that Clerk lists (invitations,
    /// domains, roles, permissions, waitlist entries, billing subscription items).
    pub all_objects: bool,
}

impl Kinds {
    pub fn all() -> Self {
        Self {
            users: true,
            organizations: true,
            memberships: true,
            all_objects: false,
        }
    }

    /// The same kinds, and the other families when `on`.
    pub fn with_all_objects(self, on: bool) -> Self {
        Self {
            all_objects: on,
            ..self
        }
    }

    /// The command's flags: none at all means all three.
    pub fn from_flags(users: bool, organizations: bool, memberships: bool) -> Self {
        if !(users || organizations || memberships) {
            return Self::all();
        }
        Self {
            users,
            organizations,
            memberships,
            all_objects: false,
        }
    }
}

impl fmt::Display for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.users, "users"),
            (self.organizations, "organizations"),
            (self.memberships, "memberships"),
            (self.all_objects, "all other objects"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(", "))
    }
}

/// What came of one kind of object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Objects read from Clerk.
    pub read: u64,
    /// Rows written.
    pub applied: u64,
    /// Objects whose stored row is newer, or a tombstone: left as they were.
    pub stale: u64,
    /// Objects that cannot be applied (logged with their id).
    pub skipped: u64,
}

impl Counts {
    fn log_done(&self, kind: &str) {
        info!(
            kind,
            read = self.read,
            applied = self.applied,
            stale = self.stale,
            skipped = self.skipped,
            "backfill of {kind} done"
        );
    }

    fn add(&mut self, other: Counts) {
        self.read += other.read;
        self.applied += other.applied;
        self.stale += other.stale;
        self.skipped += other.skipped;
    }

    fn message(&self) -> String {
        format!(
            "applied {}, stale {}, skipped {}",
            self.applied, self.stale, self.skipped
        )
    }
}

/// What a backfill did, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The kinds that were asked for.
    pub kinds: Kinds,
    pub users: Counts,
    pub organizations: Counts,
    pub memberships: Counts,
    /// Organizations whose memberships were read.
    pub organizations_scanned: u64,
    /// Organizations deleted in Clerk between their listing and their memberships'.
    pub organizations_gone: u64,
    /// The other families, with `--all-objects`, in the order read.
    pub objects: Vec<(Family, Counts)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "backfill summary:")?;
        for (on, name, c) in [
            (self.kinds.users, "users", &self.users),
            (
                self.kinds.organizations,
                "organizations",
                &self.organizations,
            ),
            (self.kinds.memberships, "memberships", &self.memberships),
        ] {
            if on {
                writeln!(
                    f,
                    "  {name:<14} applied {:>7}  stale {:>7}  skipped {:>7}  (read {})",
                    c.applied, c.stale, c.skipped, c.read
                )?;
            }
        }
        if self.organizations_gone > 0 {
            writeln!(
                f,
                "  {} organizations deleted in Clerk during the run: their memberships were not read",
                self.organizations_gone
            )?;
        }
        for (family, c) in &self.objects {
            writeln!(
                f,
                "  {:<14} applied {:>7}  stale {:>7}  skipped {:>7}  (read {})",
                family.table(),
                c.applied,
                c.stale,
                c.skipped,
                c.read
            )?;
        }
        Ok(())
    }
}

/// Reads the kinds asked for from Clerk and applies them: users, then
/// organizations, then each organization's memberships.
pub async fn backfill(
    pool: &PgPool,
    client: &ClerkClient,
    kinds: Kinds,
) -> anyhow::Result<Summary> {
    let progress = Progress::new();
    let mut summary = Summary {
        kinds,
        ..Summary::default()
    };

    if kinds.users {
        let bar = progress.bar("users");
        read_and_apply(
            pool,
            client,
            &Listing::Users,
            Some(ObjectKind::User),
            &bar,
            &mut summary.users,
            &mut |_| {},
        )
        .await?;
        bar.done(&summary.users);
        summary.users.log_done("users");
    }

    if kinds.organizations || kinds.memberships {
        let bar = progress.bar(if kinds.organizations {
            "organizations"
        } else {
            "organizations (listing only)"
        });
        let mut organization_ids = Vec::new();
        let mut counts = Counts::default();
        read_and_apply(
            pool,
            client,
            &Listing::Organizations,
            kinds.organizations.then_some(ObjectKind::Organization),
            &bar,
            &mut counts,
            &mut |o| {
                if let Some(id) = o.get("id").and_then(Value::as_str) {
                    organization_ids.push(id.to_owned());
                }
            },
        )
        .await?;
        bar.done(&counts);
        if kinds.organizations {
            summary.organizations = counts;
            counts.log_done("organizations");
        }

        if kinds.memberships {
            let bar = progress.bar("memberships");
            let total = organization_ids.len();
            for (i, organization_id) in organization_ids.into_iter().enumerate() {
                bar.set_note(format!(" (organization {}/{total})", i + 1));
                let listing = Listing::Memberships { organization_id };
                let read = read_and_apply(
                    pool,
                    client,
                    &listing,
                    Some(ObjectKind::Membership),
                    &bar,
                    &mut summary.memberships,
                    &mut |_| {},
                )
                .await;
                match read {
                    Ok(()) => summary.organizations_scanned += 1,
                    // Deleted in Clerk since it was listed: its delete webhook (or
                    // reconcile) tombstones it; there is nothing more to read.
                    Err(e)
                        if e.downcast_ref::<ClientError>()
                            .is_some_and(ClientError::is_not_found) =>
                    {
                        if let Listing::Memberships { organization_id } = &listing {
                            warn!(
                                organization_id,
                                "organization deleted in Clerk during the backfill (its memberships answer 404): skipped"
                            );
                        }
                        summary.organizations_gone += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            bar.done(&summary.memberships);
            let c = summary.memberships;
            info!(
                kind = "memberships",
                organizations = summary.organizations_scanned,
                read = c.read,
                applied = c.applied,
                stale = c.stale,
                skipped = c.skipped,
                "backfill of memberships done"
            );
        }
    }

    if kinds.all_objects {
        summary.objects = backfill_objects(pool, client, &progress).await?;
    }
    Ok(summary)
}

/// Reads and applies every other family that Clerk lists (`--all-objects`). Billing
/// subscriptions have no listing: their items, which name their subscription, do.
/// Reconcile reads the same listings: [`Family::list_path`] and
/// [`crate::apply::families::store::live_ids`].
async fn backfill_objects(
    pool: &PgPool,
    client: &ClerkClient,
    progress: &Progress,
) -> anyhow::Result<Vec<(Family, Counts)>> {
    let mut done = Vec::new();
    for family in Family::ALL {
        if family.list_path().is_none() {
            continue;
        }
        let bar = progress.bar(family.table());
        let mut counts = Counts::default();
        read_and_apply(
            pool,
            client,
            &Listing::Objects(family),
            Some(ObjectKind::Object(family)),
            &bar,
            &mut counts,
            &mut |_| {},
        )
        .await?;
        bar.done(&counts);
        counts.log_done(family.table());
        done.push((family, counts));
    }
    Ok(done)
}

/// Pages through `listing` until a page is shorter than the page size, applying
/// each page (as objects of the kind `apply` names; `None` only lists) in one
/// transaction and adding what came of it to `counts`, and showing every object to
/// `seen`.
async fn read_and_apply(
    pool: &PgPool,
    client: &ClerkClient,
    listing: &Listing,
    apply: Option<ObjectKind>,
    bar: &KindBar,
    counts: &mut Counts,
    seen: &mut (dyn FnMut(&Value) + Send),
) -> anyhow::Result<()> {
    let mut offset = 0usize;
    loop {
        let page = client
            .page(listing, offset)
            .await
            .with_context(|| format!("could not read {} from Clerk", listing_name(listing)))?;
        if let (Some(total), Listing::Organizations | Listing::Objects(_)) =
            (page.total_count, listing)
        {
            bar.set_length(total);
        }
        let n = page.items.len();
        page.items.iter().for_each(&mut *seen);
        if let Some(kind) = apply {
            counts.add(apply_page(pool, kind, page.items).await?);
            bar.show(counts);
        }
        bar.inc(n as u64);
        if n < client.page_size() {
            return Ok(());
        }
        offset += n;
    }
}

/// Tries a page's transaction this many times on database errors (a deadlock or a
/// lock timeout beside live workers may pass).
const PAGE_TRIES: u32 = 5;

/// Applies one page in one transaction.
async fn apply_page(pool: &PgPool, kind: ObjectKind, items: Vec<Value>) -> anyhow::Result<Counts> {
    let mut counts = Counts {
        read: items.len() as u64,
        ..Counts::default()
    };
    let (changes, skipped) = changes_of(kind, &items);
    counts.skipped += skipped;
    if changes.is_empty() {
        return Ok(counts);
    }
    let outcomes = apply_changes(pool, kind.name(), changes).await?;
    for (_, outcome) in outcomes {
        match outcome {
            Outcome::Applied => counts.applied += 1,
            Outcome::Stale => counts.stale += 1,
            // apply_object gives neither for an object change.
            Outcome::Duplicate | Outcome::Ignored => counts.skipped += 1,
        }
    }
    Ok(counts)
}

/// The changes Clerk objects make (id, change, the user it holds personal data
/// about), and how many objects cannot be applied (each logged with its id).
pub(crate) fn changes_of(
    kind: ObjectKind,
    items: &[Value],
) -> (Vec<(String, Change, Option<String>)>, u64) {
    let mut skipped = 0;
    let mut changes = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("<no id>")
            .to_owned();
        let Some(object) = item.as_object() else {
            skipped += 1;
            warn!(
                kind = kind.name(),
                "skipping an entry that is not a JSON object"
            );
            continue;
        };
        match object_change(kind, object) {
            Ok((change, subject)) => changes.push((id, change, subject)),
            Err(e) => {
                skipped += 1;
                warn!(kind = kind.name(), object_id = %id, reason = %e, "skipping an object that cannot be applied");
            }
        }
    }
    (changes, skipped)
}

/// Applies `changes` (id, change, the user it holds personal data about) in one
/// transaction, in id order, each under the ordering guard; retries the transaction
/// on database errors. Returns the outcomes in id order. Backfill and reconcile
/// share it.
pub(crate) async fn apply_changes(
    pool: &PgPool,
    what: &str,
    mut changes: Vec<(String, Change, Option<String>)>,
) -> anyhow::Result<Vec<(String, Outcome)>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    // Take row locks in id order, as the worker's batches do, so that a backfill
    // and live workers cannot deadlock each other.
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    let changes = Arc::new(changes);
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    let mut tries = 0;
    let outcomes = loop {
        tries += 1;
        let page = Arc::clone(&changes);
        let result = database::with_connection(pool, move |conn| {
            conn.transaction(|conn| {
                // Every subject's lock first, in the workers' order.
                lock_subjects_of(conn, page.iter().map(|(_, change, _)| change))?;
                page.iter()
                    .map(|(_, change, subject)| {
                        apply_change(conn, change, subject.as_deref(), None)
                    })
                    .collect::<Result<Vec<Outcome>, _>>()
            })
        })
        .await;
        match result {
            Ok(outcomes) => break outcomes,
            Err(e) if tries < PAGE_TRIES => {
                let wait = backoff.next_wait();
                warn!(kind = what, error = %shared::report::chain(&e), retry_in = ?wait, "applying a page failed; retrying it");
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("could not apply a page of {what} to Postgres after {tries} tries")
                })
            }
        }
    };
    Ok(changes
        .iter()
        .map(|(id, _, _)| id.clone())
        .zip(outcomes)
        .collect())
}

fn listing_name(listing: &Listing) -> String {
    match listing {
        Listing::Users => "users".into(),
        Listing::Organizations => "organizations".into(),
        Listing::Memberships { organization_id } => {
            format!("the memberships of organization {organization_id}")
        }
        Listing::Objects(family) => family.table().into(),
    }
}

/// Progress on stderr, one line per kind. indicatif draws nothing when stderr is
/// not a terminal.
struct Progress {
    multi: MultiProgress,
}

impl Progress {
    fn new() -> Self {
        Self {
            multi: MultiProgress::new(),
        }
    }

    fn bar(&self, label: &str) -> KindBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(spinner_style());
        bar.set_prefix(label.to_owned());
        if !self.multi.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        KindBar {
            bar,
            note: Mutex::new(String::new()),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // indicatif leaves the cursor at the end of the last line.
        if !self.multi.is_hidden() {
            eprintln!();
        }
    }
}

const SPINNER_TEMPLATE: &str =
    "{spinner} {prefix:<14} {human_pos:>8} read  {msg}  [{elapsed}, {per_sec}]";
const BAR_TEMPLATE: &str = "{spinner} {prefix:<14} [{bar:24}] {human_pos:>8}/{human_len} read  \
     {msg}  [{elapsed}, {per_sec}, eta {eta}]";

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template(SPINNER_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(BAR_TEMPLATE)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A kind's progress line; left on screen as it stood if the run fails.
struct KindBar {
    bar: ProgressBar,
    /// Shown after the counts (which organization's memberships are being read).
    note: Mutex<String>,
}

impl KindBar {
    fn set_length(&self, total: u64) {
        if self.bar.length().is_none() {
            self.bar.set_style(bar_style());
        }
        self.bar.set_length(total);
    }

    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    fn set_note(&self, note: String) {
        if let Ok(mut n) = self.note.lock() {
            *n = note;
        }
    }

    fn show(&self, counts: &Counts) {
        let note = self.note.lock().map(|n| n.clone()).unwrap_or_default();
        self.bar.set_message(format!("{}{note}", counts.message()));
    }

    fn done(&self, counts: &Counts) {
        self.bar.finish_with_message(counts.message());
    }
}

impl Drop for KindBar {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_templates_are_valid() {
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }

    #[test]
    fn no_flag_means_every_kind() {
        assert_eq!(Kinds::from_flags(false, false, false), Kinds::all());
        let users = Kinds::from_flags(true, false, false);
        assert!(users.users && !users.organizations && !users.memberships);
        assert_eq!(users.to_string(), "users");
    }

    #[test]
    fn settings_do_not_show_the_key() {
        let s = ClerkApiSettings {
            database_url: "postgres://u:pw@h/db".into(),
            database_schema: "clerk".into(),
            api_url: DEFAULT_API_URL.into(),
            secret_key: "sk_test_hidden".into(),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("sk_test_hidden") && !shown.contains("pw"));
    }
}
