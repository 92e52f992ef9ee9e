//! The tombstones reconcile writes for objects Clerk no longer has: what a delete
//! webhook would write.

use chrono::{DateTime, Utc};
use shared::models::NewMembership;

use super::local::{LiveMembership, LiveRow};
use crate::apply::{deleted_stub, organization_tombstone, user_tombstone, Change, ObjectKind};

/// The version a reconcile tombstone carries: now, or the stored version if that is
/// later (a delete is terminal; the tombstone keeps the greater version).
fn tombstone_version(stored: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(stored)
}

/// The tombstone of a gone user or organization: the one a delete webhook writes
/// (the same constructor; the stored `external_id` or `slug` is kept).
pub(super) fn tombstone_change(
    kind: ObjectKind,
    row: &LiveRow,
) -> (String, Change, Option<String>) {
    let at = tombstone_version(row.clerk_updated_at);
    let id = row.id.clone();
    match kind {
        ObjectKind::Organization => (
            id.clone(),
            Change::Organization(organization_tombstone(&id, row.kept.clone(), at)),
            None,
        ),
        _ => (
            id.clone(),
            Change::User(user_tombstone(&id, row.kept.clone(), at)),
            Some(id),
        ),
    }
}

/// The tombstone of a gone membership.
pub(super) fn membership_tombstone(m: &LiveMembership) -> (String, Change, Option<String>) {
    let at = tombstone_version(m.clerk_updated_at);
    (
        m.id.clone(),
        Change::Membership(NewMembership {
            id: m.id.clone(),
            organization_id: m.organization_id.clone(),
            user_id: m.user_id.clone(),
            role: None,
            public_metadata: None,
            data: Some(deleted_stub("organization_membership", &m.id)),
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
    fn a_tombstone_never_goes_back_in_time() {
        let future = Utc::now() + chrono::Duration::days(1);
        assert_eq!(tombstone_version(future), future);
        assert!(tombstone_version(DateTime::<Utc>::UNIX_EPOCH) > DateTime::<Utc>::UNIX_EPOCH);
    }
}
