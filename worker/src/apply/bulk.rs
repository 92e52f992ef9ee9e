//! The fast path of a batch: a few multi-row statements instead of two or more per
//! event. On this kind of machine a statement round trip costs far more than the
//! row work, so this is where a worker's throughput comes from.
//!
//! It gives the same outcomes as applying the events one by one: records are
//! inserted together (a svix-id seen before, or twice in the batch, is a
//! duplicate); creates and updates of users and organizations whose object appears
//! once in the batch are upserted together under the same guard; everything else
//! (deletes, memberships, objects touched twice) goes through `apply_change` one
//! event at a time, in a fixed order.

use std::collections::{HashMap, HashSet};

use diesel::{pg::PgConnection, prelude::*, result::Error as DieselError};
use shared::schema::users;

use super::{
    apply_change,
    attribution::{self, Attribution},
    erasure, locks, store, Change, EventToApply, ObjectKind, Outcome,
};

/// Applies `events` inside the caller's transaction. Any error fails the whole batch.
pub fn apply(
    conn: &mut PgConnection,
    events: &[EventToApply],
) -> Result<Vec<Outcome>, DieselError> {
    let mut outcomes = vec![Outcome::Duplicate; events.len()];

    // 0. The locks of every subject of the batch, in one order, before any write;
    // then the rows its cascades share with other subjects, likewise.
    let attribution = Attribution::of(events);
    store::lock_subjects_naming(
        conn,
        &locks::of_events(events),
        attribution.map(events).as_deref(),
    )?;
    super::lock_cascades(conn, events.iter().map(|e| &e.change))?;

    // 1. Records, in svix-id order; the first of two equal svix-ids wins.
    let mut seen = HashSet::new();
    let mut fresh: Vec<usize> = (0..events.len())
        .filter(|&i| seen.insert(events[i].svix_id.as_str()))
        .collect();
    fresh.sort_by(|&a, &b| events[a].svix_id.cmp(&events[b].svix_id));
    let rows: Vec<(&EventToApply, Outcome)> = fresh
        .iter()
        .map(|&i| (&events[i], initial(&events[i])))
        .collect();
    let inserted: HashSet<String> = store::record_all(conn, &rows)?.into_iter().collect();
    let recorded: Vec<usize> = fresh
        .into_iter()
        .filter(|&i| inserted.contains(&events[i].svix_id))
        .collect();
    store::drop_payloads_naming_deleted_users(
        conn,
        &store::naming_users(recorded.iter().map(|&i| &events[i])),
    )?;
    store::drop_payloads_naming_erased_identifiers(
        conn,
        &store::naming_identifiers(recorded.iter().map(|&i| &events[i])),
    )?;

    // 2. Which changes can go together: creates and updates of an object that this
    // batch touches once.
    let mut touches: HashMap<(ObjectKind, &str), usize> = HashMap::new();
    for &i in &recorded {
        if let Some(key) = object_key(&events[i].change) {
            *touches.entry(key).or_default() += 1;
        }
    }
    let together = |i: usize| {
        let c = &events[i].change;
        let live = match c {
            Change::User(u) => u.deleted_at.is_none(),
            Change::Organization(o) => o.deleted_at.is_none(),
            _ => false,
        };
        // Once in the whole batch too (a duplicate beside it included), so that
        // the feed's map names the event that wrote it.
        live && object_key(c).is_some_and(|k| touches.get(&k) == Some(&1))
            && attribution.once(&events[i])
    };
    let (mut bulk, mut single): (Vec<usize>, Vec<usize>) =
        recorded.iter().partition(|&&i| together(i));
    bulk.sort_by(|&a, &b| events[a].object_id.cmp(&events[b].object_id));
    single.sort_by(|&a, &b| {
        (events[a].object_id.as_deref(), &events[a].svix_id)
            .cmp(&(events[b].object_id.as_deref(), &events[b].svix_id))
    });

    // 3. Users and organizations together.
    let users: Vec<_> = bulk
        .iter()
        .filter_map(|&i| match &events[i].change {
            Change::User(u) => Some((i, u)),
            _ => None,
        })
        .collect();
    let orgs: Vec<_> = bulk
        .iter()
        .filter_map(|&i| match &events[i].change {
            Change::Organization(o) => Some((i, o)),
            _ => None,
        })
        .collect();
    let mut stale_users: Vec<String> = Vec::new();
    if !users.is_empty() {
        let rows: Vec<_> = users.iter().map(|(_, u)| *u).collect();
        let landed: HashSet<String> = store::upsert_users(conn, rows)?.into_iter().collect();
        for (i, u) in &users {
            outcomes[*i] = if landed.contains(&u.id) {
                Outcome::Applied
            } else {
                stale_users.push(u.id.clone());
                Outcome::Stale
            };
        }
    }
    if !orgs.is_empty() {
        let rows: Vec<_> = orgs.iter().map(|(_, o)| *o).collect();
        let landed: HashSet<String> = store::upsert_organizations(conn, rows)?
            .into_iter()
            .collect();
        for (i, o) in &orgs {
            outcomes[*i] = if landed.contains(&o.id) {
                Outcome::Applied
            } else {
                Outcome::Stale
            };
        }
    }
    // A stale create or update may be stale because the user is deleted: then it
    // must not keep their data in its record.
    if !stale_users.is_empty() {
        let deleted: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> = users::table
            .filter(users::id.eq_any(&stale_users))
            .filter(users::deleted_at.is_not_null())
            .select((users::id, users::deleted_at))
            .load(conn)?;
        for (id, at) in &deleted {
            let refused = users.iter().find(|(_, u)| &u.id == id);
            // The erasure writes other objects' rows: the feed names the refused event.
            attribution::set_current(conn, refused.map(|(i, _)| events[*i].svix_id.as_str()))?;
            // What the refused change tells the user was known by is erased too.
            if let (Some(at), Some((_, u))) = (at, refused) {
                erasure::erase_known(conn, id, *at, &erasure::KnownBy::of_user(u))?;
            }
            store::erase_user(conn, id)?;
        }
        if !deleted.is_empty() {
            attribution::set_current(conn, None)?;
        }
    }

    // 4. The rest, one at a time; those the feed's map cannot tell apart named
    // while they apply.
    let mut named = false;
    for i in single {
        let e = &events[i];
        if attribution.needs_own(e) {
            attribution::set_current(conn, Some(&e.svix_id))?;
            named = true;
        } else if named {
            attribution::set_current(conn, None)?;
            named = false;
        }
        outcomes[i] = apply_change(
            conn,
            &e.change,
            e.subject_user_id.as_deref(),
            Some(&e.svix_id),
        )?;
    }

    // 5. Stale outcomes, together.
    let stale: Vec<&str> = recorded
        .iter()
        .filter(|&&i| outcomes[i] == Outcome::Stale)
        .map(|&i| events[i].svix_id.as_str())
        .collect();
    store::set_stale(conn, &stale)?;
    Ok(outcomes)
}

fn initial(e: &EventToApply) -> Outcome {
    match e.change {
        Change::Ignore => Outcome::Ignored,
        _ => Outcome::Applied,
    }
}

/// The table and id a change writes, for changes that write one row.
fn object_key(c: &Change) -> Option<(ObjectKind, &str)> {
    match c {
        Change::User(u) => Some((ObjectKind::User, u.id.as_str())),
        Change::Organization(o) => Some((ObjectKind::Organization, o.id.as_str())),
        Change::Membership(m) => Some((ObjectKind::Membership, m.id.as_str())),
        Change::Object(c) => Some((ObjectKind::Object(c.family()), c.id())),
        Change::Ignore => None,
    }
}
