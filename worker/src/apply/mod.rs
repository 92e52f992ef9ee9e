//! Applying events to Postgres: one record per svix-id, and the ordering guard.
//!
//! [`EventToApply`] is a decoded event with the change it makes, built before any
//! database work (`prepare`). [`apply_event`] applies one inside the caller's transaction. [`apply_batch`]
//! applies several in one transaction: first with a few multi-row statements and no
//! savepoints (`bulk`); if that fails, again event by event with a savepoint each,
//! so one failing event leaves the others applied. `store` holds the statements.

mod attribution;
mod bulk;
mod credentials;
pub mod erasure;
pub mod families;
mod jsonb;
mod locks;
pub(crate) mod payload;
mod prepare;
mod store;

use attribution::Attribution;
use diesel::{pg::PgConnection, result::Error as DieselError, Connection};
use store::MembershipsOf;

use crate::pg_errors::ErrorClass;

pub use families::{Family, ObjectChange};
pub use payload::{Payloads, StoredPayload};
pub use prepare::{
    deleted_stub, object_change, organization_tombstone, primary_email, user_tombstone, Change,
    EventToApply, ObjectKind, Permanent,
};

/// What came of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The change landed.
    Applied,
    /// What is stored is newer (or a tombstone): nothing changed.
    Stale,
    /// This svix-id was seen before: nothing changed, nothing stored.
    Duplicate,
    /// A type clerk-sync does not sync: recorded, nothing else.
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Stale => "stale",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
        }
    }
}

/// Applies one event: locks its subjects, records its svix-id (a duplicate stops
/// here), applies the change under the ordering guard, and erases personal data
/// where a user is deleted. Call it inside a transaction.
pub fn apply_event(conn: &mut PgConnection, event: &EventToApply) -> Result<Outcome, DieselError> {
    let events = std::slice::from_ref(event);
    let attribution = Attribution::of(events);
    store::lock_subjects_naming(
        conn,
        &locks::of_events(events),
        attribution.map(events).as_deref(),
    )?;
    if attribution.needs_own(event) {
        attribution::set_current(conn, Some(&event.svix_id))?;
    }
    record_and_apply(conn, event)
}

/// [`apply_event`] for a caller that holds the event's subject locks already (a
/// batch takes them all at once): one statement fewer per event.
fn record_and_apply(conn: &mut PgConnection, event: &EventToApply) -> Result<Outcome, DieselError> {
    let initial = match event.change {
        Change::Ignore => Outcome::Ignored,
        _ => Outcome::Applied,
    };
    if !store::record(conn, event, initial)? {
        return Ok(Outcome::Duplicate);
    }
    store::drop_payloads_naming_deleted_users(conn, &store::naming_users([event]))?;
    store::drop_payloads_naming_erased_identifiers(conn, &store::naming_identifiers([event]))?;
    let outcome = apply_change(
        conn,
        &event.change,
        event.subject_user_id.as_deref(),
        Some(&event.svix_id),
    )?;
    if outcome == Outcome::Stale {
        store::set_outcome(conn, &event.svix_id, outcome)?;
    }
    Ok(outcome)
}

/// Takes the advisory locks of every subject of `changes` at once, in the one global
/// order (see `apply::locks`), then the rows their deletes cascade to. A transaction that applies several changes one by one with
/// [`apply_object`] (a backfill or reconcile page) calls this first, so it cannot
/// deadlock with a worker's batch.
pub fn lock_subjects_of<'a>(
    conn: &mut PgConnection,
    changes: impl IntoIterator<Item = &'a Change>,
) -> Result<(), DieselError> {
    let changes: Vec<&Change> = changes.into_iter().collect();
    let mut keys: Vec<String> = changes.iter().copied().flat_map(locks::of_change).collect();
    keys.sort_unstable();
    keys.dedup();
    store::lock_subjects(conn, &keys)?;
    lock_cascades(conn, changes)
}

/// Locks up front the rows that the deletes among `changes` cascade to, when there
/// are two or more of them (see [`store::lock_cascade_rows`]). Call it after the
/// subject locks.
pub(super) fn lock_cascades<'a>(
    conn: &mut PgConnection,
    changes: impl IntoIterator<Item = &'a Change>,
) -> Result<(), DieselError> {
    let deletes = store::Deletes::of(changes);
    if deletes.need_up_front_locks() {
        store::lock_cascade_rows(conn, &deletes)?;
    }
    Ok(())
}

/// Applies a change under the ordering guard, without recording an event: a deleted
/// organization or user tombstones its memberships, and whatever concerns a deleted
/// user has their personal data erased. Webhooks and backfill share it. It takes the
/// change's subject locks (a no-op where the caller holds them already).
pub fn apply_object(
    conn: &mut PgConnection,
    change: &Change,
    subject_user_id: Option<&str>,
) -> Result<Outcome, DieselError> {
    store::lock_subjects(conn, &locks::of_change(change))?;
    apply_change(conn, change, subject_user_id, None)
}

/// [`apply_object`] for a caller that holds the change's subject locks already (a
/// batch, or a backfill page after [`lock_subjects_of`]). `svix_id` is the event's,
/// for the change feed (`None` for backfill and reconcile).
pub(crate) fn apply_change(
    conn: &mut PgConnection,
    change: &Change,
    subject_user_id: Option<&str>,
    svix_id: Option<&str>,
) -> Result<Outcome, DieselError> {
    let outcome = match change {
        Change::Ignore => Outcome::Ignored,
        Change::User(user) => {
            // What the user is known by, read before the tombstone clears it.
            let known = match user.deleted_at {
                Some(_) => erasure::known_by_stored_user(conn, &user.id)?,
                None => erasure::KnownBy::default(),
            };
            let outcome = store::upsert_user(conn, user)?;
            match (outcome, user.deleted_at) {
                (Outcome::Applied, Some(at)) => {
                    store::tombstone_memberships(conn, MembershipsOf::User(&user.id), at)?;
                    erasure::erase_known(conn, &user.id, at, &known)?;
                }
                // A create or update refused because the user is deleted still tells
                // what they were known by.
                (Outcome::Stale, None) => {
                    if let Some(at) = store::user_deleted_at(conn, &user.id)? {
                        erasure::erase_known(conn, &user.id, at, &erasure::KnownBy::of_user(user))?;
                    }
                }
                _ => {}
            }
            outcome
        }
        Change::Organization(org) => {
            let outcome = store::upsert_organization(conn, org)?;
            if let (Outcome::Applied, Some(at)) = (outcome, org.deleted_at) {
                store::tombstone_memberships(conn, MembershipsOf::Organization(&org.id), at)?;
                families::store::tombstone_of_organization(conn, &org.id, at)?;
            }
            outcome
        }
        Change::Membership(m) => store::upsert_membership(conn, m)?,
        Change::Object(c) => families::store::apply(conn, c)?,
    };
    if let Some(user_id) = subject_user_id {
        let erased_at = match (change, outcome) {
            (Change::User(u), Outcome::Applied) => u.deleted_at,
            _ => store::user_deleted_at(conn, user_id)?,
        };
        if let Some(at) = erased_at {
            // The erasure writes other objects' rows: the feed names this event for
            // them, and then no event (the batch's map decides again).
            if svix_id.is_some() {
                attribution::set_current(conn, svix_id)?;
            }
            // A membership that arrives after the delete names the user's
            // identifier: what it tells is erased too.
            if let Change::Membership(m) = change {
                let mut known = erasure::KnownBy::default();
                if let Some(id) = m
                    .data
                    .as_ref()
                    .and_then(|d| d["public_user_data"]["identifier"].as_str())
                {
                    known.add_identifier(id);
                }
                erasure::erase_known(conn, user_id, at, &known)?;
            }
            store::erase_user(conn, user_id)?;
            if svix_id.is_some() {
                attribution::set_current(conn, None)?;
            }
        }
    }
    Ok(outcome)
}

/// Applies `events` in one transaction. The outer error is for the transaction as a
/// whole (the connection broke, or the commit failed); the inner results are per
/// event, in the order given.
///
/// The common case, where every event applies, takes the fast path: one transaction,
/// a few multi-row statements, no savepoints (see `bulk`). If any statement fails,
/// that transaction is rolled back and the batch runs again event by event, with a
/// savepoint around each, so the failing event fails alone and the others commit.
pub fn apply_batch(
    conn: &mut PgConnection,
    events: &[EventToApply],
) -> Result<Vec<Result<Outcome, DieselError>>, DieselError> {
    if let [event] = events {
        return conn
            .transaction(|conn| apply_event(conn, event))
            .map(|outcome| vec![Ok(outcome)]);
    }
    // Take row locks in one global order, so concurrent workers cannot deadlock.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| {
        (events[a].object_id.as_deref(), &events[a].svix_id)
            .cmp(&(events[b].object_id.as_deref(), &events[b].svix_id))
    });
    let fast = conn.transaction(|conn| bulk::apply(conn, events));
    match fast {
        Ok(outcomes) => return Ok(outcomes.into_iter().map(Ok).collect()),
        // An outage or a lost race is the batch's, not an event's: the caller waits
        // it out or runs the batch again.
        Err(e) if ErrorClass::of(&e) != ErrorClass::Other => return Err(e),
        Err(_) => {}
    }
    conn.transaction(|conn| {
        // Every subject's lock first, in one order, before any savepoint; then the
        // rows the batch's cascades share with other subjects.
        store::lock_subjects(conn, &locks::of_events(events))?;
        lock_cascades(conn, events.iter().map(|e| &e.change))?;
        let mut results: Vec<Option<Result<Outcome, DieselError>>> =
            (0..events.len()).map(|_| None).collect();
        for i in order {
            let event = &events[i];
            let span = tracing::info_span!(
                "event",
                svix_id = %event.svix_id,
                event_type = %event.event_type,
                object_id = event.object_id.as_deref().unwrap_or("-"),
            );
            let _entered = span.enter();
            // Every event is named for the change feed on this path (it is rare).
            let result = conn.transaction(|conn| {
                attribution::set_current(conn, Some(&event.svix_id))?;
                record_and_apply(conn, event)
            });
            match result {
                // Not this event's fault: the whole batch is rolled back and held or
                // run again, rather than charging the event.
                Err(e) if ErrorClass::of(&e) != ErrorClass::Other => return Err(e),
                result => results[i] = Some(result),
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Err(DieselError::RollbackTransaction)))
            .collect())
    })
}

/// Records deleted by one prune transaction at most.
pub const PRUNE_CHUNK: i64 = 5_000;

/// What `prune` deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub records: usize,
    /// Transactions that deleted something.
    pub chunks: usize,
}

/// Deletes `webhook_events` records processed before `cutoff`, `chunk` at a time,
/// each chunk in its own short transaction (a table of millions of rows is never
/// locked at once, and the workers keep going meanwhile).
pub fn prune(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    chunk: i64,
) -> Result<Pruned, DieselError> {
    let mut pruned = Pruned::default();
    loop {
        let n = store::prune_chunk(conn, cutoff, chunk.max(1))?;
        if n == 0 {
            return Ok(pruned);
        }
        pruned.records += n;
        pruned.chunks += 1;
    }
}
