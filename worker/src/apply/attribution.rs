//! Which event wrote each row, told to the change feed's triggers (migration
//! `2026-12-08-000001_change_feed`): they stage every row a statement changes, and
//! the feed row carries the svix-id of the event that wrote it.
//!
//! Two settings, local to the transaction, say it:
//! - `clerk_sync.events`, a JSON object from object id to svix-id, set once per
//!   batch with its subject locks (no extra statement). It names only objects that
//!   appear once in the batch; the feed finds a row by its own id, or else by its
//!   parent's (a membership by its user or organization).
//! - `clerk_sync.svix_id`, the event being applied now, set around the few events
//!   the map cannot tell apart: an object that appears twice in the batch, a delete
//!   (its cascades and erasure write other objects' rows), an erasure of a deleted
//!   user's data that another event causes.
//!
//! Backfill and reconcile set neither: their changes have no svix-id.

use std::collections::HashMap;

use diesel::{pg::PgConnection, prelude::*, sql_query, sql_types::Text};

use super::{Change, EventToApply};

/// What a batch tells the feed.
#[derive(Debug, Default)]
pub struct Attribution<'a> {
    /// How many events of the batch write each object.
    writes: HashMap<&'a str, usize>,
}

impl<'a> Attribution<'a> {
    pub fn of(events: &'a [EventToApply]) -> Self {
        let mut writes: HashMap<&str, usize> = HashMap::new();
        for e in events {
            if let Some(id) = written_id(&e.change) {
                *writes.entry(id).or_default() += 1;
            }
        }
        Self { writes }
    }

    /// `clerk_sync.events` for `events` (the batch this was made of), or `None`
    /// when no object appears only once.
    pub fn map(&self, events: &[EventToApply]) -> Option<String> {
        let mut map = serde_json::Map::new();
        for e in events {
            if let Some(id) = written_id(&e.change) {
                if self.writes.get(id) == Some(&1) {
                    map.insert(id.to_owned(), e.svix_id.clone().into());
                }
            }
        }
        (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
    }

    /// Whether the object `e` writes appears only once in the batch.
    pub fn once(&self, e: &EventToApply) -> bool {
        written_id(&e.change).is_some_and(|id| self.writes.get(id) == Some(&1))
    }

    /// Whether `e` must be named while it is applied: the map cannot tell its
    /// writes from another event's.
    pub fn needs_own(&self, e: &EventToApply) -> bool {
        !self.once(e) || deletes_with_cascade(&e.change)
    }
}

/// The id of the object row a change writes.
fn written_id(c: &Change) -> Option<&str> {
    match c {
        Change::User(u) => Some(&u.id),
        Change::Organization(o) => Some(&o.id),
        Change::Membership(m) => Some(&m.id),
        Change::Object(c) => Some(c.id()),
        Change::Ignore => None,
    }
}

/// A user's or an organization's delete: it writes other objects' rows too.
fn deletes_with_cascade(c: &Change) -> bool {
    match c {
        Change::User(u) => u.deleted_at.is_some(),
        Change::Organization(o) => o.deleted_at.is_some(),
        _ => false,
    }
}

/// Sets `clerk_sync.svix_id` to the event applied from now on in this transaction
/// (`None`: no event in particular, the batch's map decides).
pub fn set_current(conn: &mut PgConnection, svix_id: Option<&str>) -> QueryResult<()> {
    sql_query("SELECT set_config('clerk_sync.svix_id', $1, true)")
        .bind::<Text, _>(svix_id.unwrap_or(""))
        .execute(conn)?;
    Ok(())
}
