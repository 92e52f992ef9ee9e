//! One reconcile run: listing each kind, comparing and repairing page by page, and
//! confirming and tombstoning what is gone.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use serde_json::Value;
use shared::db::PgPool;
use tracing::{info, warn};

use super::{
    compare::{self, Verdict},
    local::{self, LiveMembership},
    progress::KindProgress,
    tombstone::{membership_tombstone, tombstone_change},
    KindCounts, Options,
};
use crate::{
    apply::{Change, Family, ObjectKind, Outcome},
    backfill::{apply_changes, changes_of, ClerkClient, ClientError, Listing, MAX_IDS_PER_LOOKUP},
};

/// The id of a listed object.
fn id_of(item: &Value) -> Option<&str> {
    item.get("id").and_then(Value::as_str)
}

/// The user id of a listed membership (`public_user_data.user_id`).
fn membership_user_id(item: &Value) -> Option<&str> {
    item.pointer("/public_user_data/user_id")
        .and_then(Value::as_str)
}

pub(super) struct Run<'a> {
    pub(super) pool: &'a PgPool,
    pub(super) client: &'a ClerkClient,
    pub(super) options: Options,
}

impl Run<'_> {
    /// Users: cursor paging, then the gone check.
    pub(super) async fn users(
        &self,
        bar: &KindProgress,
        counts: &mut KindCounts,
    ) -> anyhow::Result<()> {
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
    pub(super) async fn organizations(
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

    /// One of the other families: offset paging, each page repaired. No gone check:
    /// there is no lookup by id to confirm an absence with, and a listing alone never
    /// tombstones.
    pub(super) async fn objects(
        &self,
        family: Family,
        bar: &KindProgress,
        counts: &mut KindCounts,
    ) -> anyhow::Result<()> {
        let listing = Listing::Objects(family);
        let mut listed = HashSet::new();
        let mut offset = 0;
        loop {
            let page = self
                .client
                .page(&listing, offset)
                .await
                .with_context(|| format!("could not list {} from Clerk", family.table()))?;
            let n = page.items.len();
            self.repair_page(ObjectKind::Object(family), &page.items, &mut listed, counts)
                .await?;
            bar.show("listing", counts);
            if n < self.client.page_size() {
                return Ok(());
            }
            offset += n;
        }
    }

    /// Each listed organization's memberships, then the gone check among the
    /// memberships of those organizations.
    pub(super) async fn memberships(
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
        // Confirm each absence by looking the membership up through its user: an
        // offset listing read while memberships come and go can skip a row on every
        // pass, so a second listing proves nothing.
        let mut confirmed = Vec::new();
        for (organization_id, members) in candidates {
            confirmed.extend(self.confirm_gone(organization_id, members).await?);
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

    /// The memberships among `members` (live rows of organization `organization_id`
    /// that its listing lacked) that Clerk confirms it does not have: it lists no
    /// membership with that id among the memberships of the row's user in the
    /// organization. A row without a user id cannot be looked up and stays.
    async fn confirm_gone(
        &self,
        organization_id: &str,
        members: Vec<LiveMembership>,
    ) -> anyhow::Result<Vec<LiveMembership>> {
        let (members, unknown): (Vec<_>, Vec<_>) =
            members.into_iter().partition(|m| m.user_id.is_some());
        if !unknown.is_empty() {
            info!(
                organization_id,
                memberships = unknown.len(),
                "unlisted memberships without a user id cannot be looked up: left alone"
            );
        }
        let mut gone = Vec::new();
        for chunk in members.chunks(MAX_IDS_PER_LOOKUP) {
            let mut user_ids: Vec<String> =
                chunk.iter().filter_map(|m| m.user_id.clone()).collect();
            user_ids.sort();
            user_ids.dedup();
            let found = self
                .client
                .memberships_of_users(organization_id, &user_ids)
                .await
                .with_context(|| {
                    format!(
                        "could not look up memberships of organization {organization_id} in Clerk \
                         (nothing was tombstoned for it; run reconcile again)"
                    )
                })?;
            let Some(found) = found else {
                info!(
                    organization_id,
                    "organization gone from Clerk while its memberships were checked: left to \
                     reconcile --organizations, which tombstones it with its memberships"
                );
                return Ok(Vec::new());
            };
            if let Some(stranger) = found
                .iter()
                .filter_map(membership_user_id)
                .find(|u| user_ids.binary_search_by(|id| id.as_str().cmp(u)).is_err())
            {
                anyhow::bail!(
                    "looking up memberships of organization {organization_id} by user, Clerk \
                     answered with one of user {stranger}, who was not asked for: the user_id \
                     filter seems unsupported, so absences cannot be confirmed (nothing was \
                     tombstoned for it)"
                );
            }
            let found: HashSet<&str> = found.iter().filter_map(id_of).collect();
            gone.extend(
                chunk
                    .iter()
                    .filter(|m| !found.contains(m.id.as_str()))
                    .cloned(),
            );
        }
        Ok(gone)
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
        let name = kind.name();
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
        let name = kind.name();
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
            // Memberships are confirmed through their user, in
            // `Run::memberships`, which does not call this. The other families have
            // no lookup by id to confirm an absence with: nothing is tombstoned.
            ObjectKind::Membership | ObjectKind::Object(_) => {}
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
                kind.name()
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
        let name = kind.name();
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
