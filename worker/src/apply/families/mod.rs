//! The other objects Clerk sends, beside users, organizations and memberships:
//! organization invitations and domains, roles, permissions, waitlist entries,
//! billing subscriptions, subscription items and payment attempts (DESIGN.md §4 and
//! §5).
//!
//! Each family has a table of the same shape, and the same rules as the first three:
//! creates, updates and status changes (`organizationInvitation.accepted`,
//! `subscriptionItem.pastDue`, …) are upserts versioned by `data.updated_at` (missing:
//! dead-lettered); a `*.deleted` tombstones the row, whatever versions say; only a
//! tombstone is never overwritten. Families without a delete event (invitations,
//! waitlist entries, billing) only change status.
//!
//! `parse` turns a payload into an [`ObjectChange`]; [`store`] holds the SQL,
//! including the cascades other events trigger: `organization.deleted` tombstones the
//! organization's invitations and domains, `user.deleted` erases the user's personal
//! data from billing rows (as payer) and from invitations and waitlist entries (by
//! email address).

mod parse;
pub mod store;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::object_models::{
    NewBillingPaymentAttempt, NewBillingSubscription, NewBillingSubscriptionItem, NewDomain,
    NewInvitation, NewPermission, NewRole, NewWaitlistEntry,
};

pub use parse::{object_change, prepare};

/// A family of Clerk objects, and its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Invitation,
    Domain,
    Role,
    Permission,
    WaitlistEntry,
    Subscription,
    SubscriptionItem,
    PaymentAttempt,
}

impl Family {
    pub const ALL: [Family; 8] = [
        Family::Invitation,
        Family::Domain,
        Family::Role,
        Family::Permission,
        Family::WaitlistEntry,
        Family::Subscription,
        Family::SubscriptionItem,
        Family::PaymentAttempt,
    ];

    /// The table its rows live in.
    pub fn table(self) -> &'static str {
        match self {
            Self::Invitation => "organization_invitations",
            Self::Domain => "organization_domains",
            Self::Role => "roles",
            Self::Permission => "permissions",
            Self::WaitlistEntry => "waitlist_entries",
            Self::Subscription => "billing_subscriptions",
            Self::SubscriptionItem => "billing_subscription_items",
            Self::PaymentAttempt => "billing_payment_attempts",
        }
    }

    /// The family of an event type (`organizationInvitation.created` → invitations).
    pub fn of_event_type(event_type: &str) -> Option<Self> {
        let kind = event_type.split_once('.')?.0;
        Self::ALL.into_iter().find(|f| f.event_kind() == kind)
    }

    /// The part of its event types before the dot (`organizationInvitation`).
    pub fn event_kind(self) -> &'static str {
        match self {
            Self::Invitation => "organizationInvitation",
            Self::Domain => "organizationDomain",
            Self::Role => "role",
            Self::Permission => "permission",
            Self::WaitlistEntry => "waitlistEntry",
            Self::Subscription => "subscription",
            Self::SubscriptionItem => "subscriptionItem",
            Self::PaymentAttempt => "paymentAttempt",
        }
    }

    /// The columns a tombstone clears (all but `id`, `data`, the time columns, and
    /// the organization of an invitation or a domain).
    pub fn cleared_by_tombstone(self) -> &'static [&'static str] {
        match self {
            Self::Invitation => &["email_address", "role", "status"],
            Self::Domain => &["name", "enrollment_mode", "verified"],
            Self::Role => &["key", "name", "description"],
            Self::Permission => &["key", "name", "description", "type"],
            Self::WaitlistEntry => &["email_address", "status"],
            Self::Subscription => &["status", "payer_user_id", "payer_organization_id"],
            Self::SubscriptionItem => &[
                "subscription_id",
                "plan_id",
                "status",
                "payer_user_id",
                "payer_organization_id",
            ],
            Self::PaymentAttempt => &[
                "status",
                "payer_user_id",
                "payer_organization_id",
                "amount",
                "currency",
            ],
        }
    }

    /// The Backend API listing of the family, instance-wide, paged by
    /// `limit`/`offset` with `{"data": [...], "total_count": N}`; `None` where
    /// Clerk has none (billing subscriptions are read through their items).
    pub fn list_path(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Self::Invitation => &["v1", "organization_invitations"],
            Self::Domain => &["v1", "organization_domains"],
            Self::Role => &["v1", "organization_roles"],
            Self::Permission => &["v1", "organization_permissions"],
            Self::WaitlistEntry => &["v1", "waitlist_entries"],
            Self::SubscriptionItem => &["v1", "billing", "subscription_items"],
            Self::Subscription | Self::PaymentAttempt => return None,
        })
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.table())
    }
}

/// What an event of one of these families does to its table.
#[derive(Debug, Clone)]
pub enum ObjectChange {
    Invitation(NewInvitation),
    Domain(NewDomain),
    Role(NewRole),
    Permission(NewPermission),
    WaitlistEntry(NewWaitlistEntry),
    Subscription(NewBillingSubscription),
    SubscriptionItem(NewBillingSubscriptionItem),
    PaymentAttempt(NewBillingPaymentAttempt),
    /// A `*.deleted` (or an object Clerk no longer has): the row becomes a tombstone
    /// like a user's: `data` is `stub` (`{object, id, deleted}`), the other columns
    /// are cleared ([`Family::cleared_by_tombstone`]), `deleted_at` is set and the
    /// greater version kept. An invitation or a domain keeps its stored
    /// `organization_id` (`organizationDomain.deleted` does not name it).
    Tombstone {
        family: Family,
        id: String,
        at: DateTime<Utc>,
        stub: Value,
    },
}

impl ObjectChange {
    pub fn family(&self) -> Family {
        match self {
            Self::Invitation(_) => Family::Invitation,
            Self::Domain(_) => Family::Domain,
            Self::Role(_) => Family::Role,
            Self::Permission(_) => Family::Permission,
            Self::WaitlistEntry(_) => Family::WaitlistEntry,
            Self::Subscription(_) => Family::Subscription,
            Self::SubscriptionItem(_) => Family::SubscriptionItem,
            Self::PaymentAttempt(_) => Family::PaymentAttempt,
            Self::Tombstone { family, .. } => *family,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Invitation(r) => &r.id,
            Self::Domain(r) => &r.id,
            Self::Role(r) => &r.id,
            Self::Permission(r) => &r.id,
            Self::WaitlistEntry(r) => &r.id,
            Self::Subscription(r) => &r.id,
            Self::SubscriptionItem(r) => &r.id,
            Self::PaymentAttempt(r) => &r.id,
            Self::Tombstone { id, .. } => id,
        }
    }

    pub fn is_delete(&self) -> bool {
        matches!(self, Self::Tombstone { .. })
    }

    /// The Clerk version the change carries.
    pub fn version(&self) -> DateTime<Utc> {
        match self {
            Self::Invitation(r) => r.clerk_updated_at,
            Self::Domain(r) => r.clerk_updated_at,
            Self::Role(r) => r.clerk_updated_at,
            Self::Permission(r) => r.clerk_updated_at,
            Self::WaitlistEntry(r) => r.clerk_updated_at,
            Self::Subscription(r) => r.clerk_updated_at,
            Self::SubscriptionItem(r) => r.clerk_updated_at,
            Self::PaymentAttempt(r) => r.clerk_updated_at,
            Self::Tombstone { at, .. } => *at,
        }
    }

    /// The tombstone of `family`'s object `id`, as of `at` (for reconcile: an
    /// object Clerk no longer has).
    pub fn tombstone(family: Family, id: &str, at: DateTime<Utc>) -> Self {
        Self::Tombstone {
            family,
            id: id.to_owned(),
            at,
            stub: serde_json::json!({"id": id, "deleted": true}),
        }
    }

    /// The organization the row belongs to: an invitation's or a domain's, or the
    /// paying organization of a billing row.
    pub fn organization_id(&self) -> Option<&str> {
        match self {
            Self::Invitation(r) => r.organization_id.as_deref(),
            Self::Domain(r) => r.organization_id.as_deref(),
            Self::Subscription(r) => r.payer_organization_id.as_deref(),
            Self::SubscriptionItem(r) => r.payer_organization_id.as_deref(),
            _ => None,
        }
    }

    /// The user whose personal data the row holds: the paying user of a billing row.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::Subscription(r) => r.payer_user_id.as_deref(),
            Self::SubscriptionItem(r) => r.payer_user_id.as_deref(),
            Self::PaymentAttempt(r) => r.payer_user_id.as_deref(),
            _ => None,
        }
    }
}
