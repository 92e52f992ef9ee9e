//! Rows of the other objects Clerk sends (invitations, domains, roles, permissions,
//! waitlist entries, billing), as the worker writes them: one insert struct per
//! table (DESIGN.md §5). Every one has `id`, its named columns, `data` (the Clerk
//! object as last applied), `clerk_created_at`, `clerk_updated_at` (the version it
//! reflects) and `deleted_at` (set on a tombstone).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use crate::schema::{
    billing_payment_attempts, billing_subscription_items, billing_subscriptions,
    organization_domains, organization_invitations, permissions, roles, waitlist_entries,
};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organization_invitations)]
pub struct NewInvitation {
    pub id: String,
    pub organization_id: Option<String>,
    pub email_address: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    /// Without `url`: it holds the accept token.
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organization_domains)]
pub struct NewDomain {
    pub id: String,
    pub organization_id: Option<String>,
    pub name: Option<String>,
    pub enrollment_mode: Option<String>,
    pub verified: Option<bool>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = roles)]
pub struct NewRole {
    pub id: String,
    pub key: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = permissions)]
pub struct NewPermission {
    pub id: String,
    pub key: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub type_: Option<String>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = waitlist_entries)]
pub struct NewWaitlistEntry {
    pub id: String,
    pub email_address: Option<String>,
    pub status: Option<String>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = billing_subscriptions)]
pub struct NewBillingSubscription {
    pub id: String,
    pub status: Option<String>,
    pub payer_user_id: Option<String>,
    pub payer_organization_id: Option<String>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = billing_subscription_items)]
pub struct NewBillingSubscriptionItem {
    pub id: String,
    pub subscription_id: Option<String>,
    pub plan_id: Option<String>,
    pub status: Option<String>,
    pub payer_user_id: Option<String>,
    pub payer_organization_id: Option<String>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = billing_payment_attempts)]
pub struct NewBillingPaymentAttempt {
    pub id: String,
    pub status: Option<String>,
    pub payer_user_id: Option<String>,
    pub payer_organization_id: Option<String>,
    /// In the currency's minor unit.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}
