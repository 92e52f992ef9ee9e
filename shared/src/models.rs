//! Rows as the worker writes them: one insert struct per table.

use std::io::Write;

use chrono::{DateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    serialize::{self, IsNull, Output, ToSql},
    sql_types::Jsonb,
    AsExpression,
};
use serde_json::Value;

use crate::schema::{organization_memberships, organizations, users, webhook_events};

/// A user as Clerk last described it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    pub external_id: Option<String>,
    pub public_metadata: Option<Value>,
    pub data: Option<JsonDoc>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A JSON document bound as `jsonb`: a value, or the text of one as it was received
/// and checked (see `Envelope::parse_for_apply`), bound as it is without building a
/// value and serializing it again.
#[derive(Debug, Clone, PartialEq, AsExpression)]
#[diesel(sql_type = Jsonb)]
pub enum JsonDoc {
    Value(Value),
    Text(String),
}

impl JsonDoc {
    /// The document as JSON text.
    pub fn to_text(&self) -> String {
        match self {
            Self::Value(v) => v.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

impl ToSql<Jsonb, Pg> for JsonDoc {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        match self {
            Self::Value(v) => <Value as ToSql<Jsonb, Pg>>::to_sql(v, out),
            Self::Text(t) => {
                // jsonb's binary format: a version byte, then the JSON text.
                out.write_all(&[1])?;
                out.write_all(t.as_bytes())?;
                Ok(IsNull::No)
            }
        }
    }
}

/// A user row as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub image_url: Option<String>,
    pub external_id: Option<String>,
    pub public_metadata: Option<Value>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization {
    pub id: String,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub image_url: Option<String>,
    pub created_by: Option<String>,
    pub public_metadata: Option<Value>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organization_memberships)]
pub struct NewMembership {
    pub id: String,
    pub organization_id: String,
    pub user_id: Option<String>,
    pub role: Option<String>,
    pub public_metadata: Option<Value>,
    pub data: Option<Value>,
    pub clerk_created_at: Option<DateTime<Utc>>,
    pub clerk_updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The record that an event was seen, and what came of it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_events)]
pub struct NewWebhookEvent<'a> {
    pub svix_id: &'a str,
    pub event_type: &'a str,
    pub object_id: Option<&'a str>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub outcome: &'a str,
    pub attempts: i32,
    pub payload: Option<RawJson<'a>>,
    /// Every Clerk user the stored payload names (NULL when no payload is stored).
    pub subject_user_ids: Option<&'a [String]>,
    /// The digests of every email address and phone number the stored payload
    /// names (see `erased_identifiers`; NULL when no payload is stored).
    pub subject_digests: Option<&'a [Vec<u8>]>,
}

/// JSON text that is already valid (it was parsed once), bound as `jsonb` as it is,
/// without building and serializing a value again.
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = Jsonb)]
pub struct RawJson<'a>(pub &'a [u8]);

impl ToSql<Jsonb, Pg> for RawJson<'_> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        // jsonb's binary format: a version byte, then the JSON text.
        out.write_all(&[1])?;
        out.write_all(self.0)?;
        Ok(IsNull::No)
    }
}
