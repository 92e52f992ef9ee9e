//! The decisions of a reconcile, as pure functions: what a Clerk object is beside the
//! local row, and which live local rows Clerk did not list.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::apply::Change;

/// The local row of an object, as far as comparing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// `clerk_updated_at`: the Clerk version the row reflects.
    pub version: DateTime<Utc>,
    /// Whether the row is a tombstone.
    pub deleted: bool,
}

/// What a listed Clerk object is beside the local row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No local row: apply it.
    Missing,
    /// The local row is older than Clerk's copy: apply it.
    Outdated,
    /// The local row is as new as Clerk's copy, or newer (a webhook got there
    /// first): leave it.
    Current,
    /// The local row is a tombstone. A delete is terminal, so it stays (Clerk may
    /// still list an object for a moment after deleting it).
    Tombstoned,
}

impl Verdict {
    /// Whether the object should be applied.
    pub fn repairs(self) -> bool {
        matches!(self, Self::Missing | Self::Outdated)
    }
}

/// Compares a Clerk object at `clerk_version` with the local row.
pub fn verdict(clerk_version: DateTime<Utc>, local: Option<Local>) -> Verdict {
    match local {
        None => Verdict::Missing,
        Some(l) if l.deleted => Verdict::Tombstoned,
        Some(l) if l.version < clerk_version => Verdict::Outdated,
        Some(_) => Verdict::Current,
    }
}

/// The Clerk version a change carries.
pub fn version(change: &Change) -> Option<DateTime<Utc>> {
    match change {
        Change::User(u) => Some(u.clerk_updated_at),
        Change::Organization(o) => Some(o.clerk_updated_at),
        Change::Membership(m) => Some(m.clerk_updated_at),
        Change::Object(c) => Some(c.version()),
        Change::Ignore => None,
    }
}

/// The live local ids that Clerk did not list, in id order: candidates for `gone`,
/// to be confirmed by looking them up.
pub fn unlisted<'a>(
    live: impl IntoIterator<Item = &'a String>,
    listed: &HashSet<String>,
) -> Vec<String> {
    let mut out: Vec<String> = live
        .into_iter()
        .filter(|id| !listed.contains(*id))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Why a reconcile refuses to tombstone: so many rows look gone that the key more
/// likely belongs to another Clerk instance than this database.
pub fn too_many_gone(gone: usize, live: usize) -> bool {
    gone > MASS_GONE_FLOOR && gone * 100 > live * MASS_GONE_PERCENT
}

/// Up to this many rows may be tombstoned in one run whatever the share.
pub const MASS_GONE_FLOOR: usize = 100;
/// Above the floor, at most this share (percent) of the live rows of a kind.
pub const MASS_GONE_PERCENT: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().expect("time")
    }

    #[test]
    fn verdicts() {
        let live = |ms| {
            Some(Local {
                version: t(ms),
                deleted: false,
            })
        };
        assert_eq!(verdict(t(10), None), Verdict::Missing);
        assert_eq!(verdict(t(10), live(9)), Verdict::Outdated);
        assert_eq!(verdict(t(10), live(10)), Verdict::Current);
        assert_eq!(
            verdict(t(10), live(11)),
            Verdict::Current,
            "a newer webhook wins"
        );
        let tomb = Some(Local {
            version: t(1),
            deleted: true,
        });
        assert_eq!(verdict(t(10), tomb), Verdict::Tombstoned);
        assert!(Verdict::Missing.repairs() && Verdict::Outdated.repairs());
        assert!(!Verdict::Current.repairs() && !Verdict::Tombstoned.repairs());
    }

    #[test]
    fn unlisted_ids_are_sorted_and_unique() {
        let listed: HashSet<String> = ["a".to_owned(), "c".to_owned()].into();
        let live = [
            "d".to_owned(),
            "a".to_owned(),
            "b".to_owned(),
            "b".to_owned(),
        ];
        assert_eq!(unlisted(&live, &listed), vec!["b", "d"]);
    }

    #[test]
    fn mass_gone_guard() {
        assert!(
            !too_many_gone(100, 100),
            "a small instance may lose everything"
        );
        assert!(!too_many_gone(150, 10_000));
        assert!(too_many_gone(150, 1_000));
        assert!(too_many_gone(101, 101));
    }
}
