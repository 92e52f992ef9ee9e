//! One change of the change feed (DESIGN.md §3, §5): a row of `changes`, as
//! `changes_since` returns it, `GET /changes` serves it (one JSON object a line) and
//! `worker relay` publishes it to `{prefix}.changes`. Ids and column names only:
//! the object's current values are in its table.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FeedChange {
    /// The position in the feed: increases in commit order, without gaps between
    /// committed changes. A reader keeps the last one it handled as its cursor.
    pub seq: i64,
    /// The object's kind: `user`, `organization`, `organization_membership`,
    /// `organization_invitation`, `organization_domain`, `role`, `permission`,
    /// `waitlist_entry`, `billing_subscription`, `billing_subscription_item`,
    /// `billing_payment_attempt`.
    pub kind: String,
    pub object_id: String,
    /// `upsert` (the row is live) or `tombstone` (it is deleted).
    pub op: String,
    /// The Clerk version written (the row's `clerk_updated_at`), RFC 3339.
    pub version: Option<String>,
    /// The event that wrote it; `None` for backfill and reconcile.
    pub svix_id: Option<String>,
    /// When its transaction committed, RFC 3339.
    pub committed_at: String,
    /// The columns whose values changed (all set columns, for a new row), sorted.
    pub columns: Vec<String>,
}

impl FeedChange {
    /// The routing key `worker relay` publishes it with: `<kind>.<op>`.
    pub fn routing_key(&self) -> String {
        format!("{}.{}", self.kind, self.op)
    }
}

/// SQLSTATE of `changes_since` for a cursor behind the retention.
pub const BEHIND_RETENTION: &str = "CS410";

/// SQLSTATE of `changes_since` for a cursor past the last seq handed out (the feed
/// was restored or recreated).
pub const AHEAD_OF_FEED: &str = "CS409";
