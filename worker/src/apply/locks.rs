//! Which subjects an event writes about, as advisory-lock keys.
//!
//! Every transaction that applies an event holds, before it writes anything (its
//! event record included), a transaction-level advisory lock for each user and
//! organization the event concerns (see [`super::store::lock_subjects`]): the user
//! a user event changes, the organization and the member of a membership event, the
//! organization of an organization event, and every user a stored payload names.
//! So `user.deleted` and a membership event for the same user, or
//! `organization.deleted` and a new membership of that organization, never commit
//! side by side without seeing each other: the second one sees the tombstone.

use super::{Change, EventToApply};

fn user(id: &str) -> String {
    format!("user:{id}")
}

fn organization(id: &str) -> String {
    format!("organization:{id}")
}

/// The keys of the subjects `change` writes about.
pub fn of_change(change: &Change) -> Vec<String> {
    match change {
        Change::User(u) => vec![user(&u.id)],
        Change::Organization(o) => vec![organization(&o.id)],
        Change::Membership(m) => {
            let mut keys = vec![organization(&m.organization_id)];
            keys.extend(m.user_id.as_deref().map(user));
            keys
        }
        Change::Object(c) => c
            .organization_id()
            .map(organization)
            .into_iter()
            .chain(c.user_id().map(user))
            .chain(address_of(c).map(|i| i.lock_key()))
            .collect(),
        Change::Ignore => Vec::new(),
    }
}

/// The address an invitation or a waitlist entry is sent to: its writer and the
/// erasure of a deleted user's addresses take its lock (see `apply::erasure`).
fn address_of(c: &super::ObjectChange) -> Option<super::erasure::Identifier> {
    use super::ObjectChange;
    let email = match c {
        ObjectChange::Invitation(r) => r.email_address.as_deref(),
        ObjectChange::WaitlistEntry(r) => r.email_address.as_deref(),
        _ => None,
    }?;
    super::erasure::Identifier::email(email)
}

/// The keys of every subject of `events`: their changes, and the users their
/// stored payloads name.
pub fn of_events<'a>(events: impl IntoIterator<Item = &'a EventToApply>) -> Vec<String> {
    let mut keys = Vec::new();
    for e in events {
        keys.extend(of_change(&e.change));
        if let Some(p) = &e.payload {
            keys.extend(p.user_ids.iter().map(|id| user(id)));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}
