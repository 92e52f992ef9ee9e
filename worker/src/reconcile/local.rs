//! What reconcile reads from the local tables. Each function runs on a blocking
//! thread through [`database::run`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    sql_query,
    sql_types::{Array, Nullable, Text, Timestamptz},
    QueryableByName, RunQueryDsl,
};
use shared::db::PgPool;

use super::compare::Local;
use crate::{apply::ObjectKind, database};

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Timestamptz)]
    clerk_updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    deleted_at: Option<DateTime<Utc>>,
}

/// The local rows of `ids`, by id.
pub async fn rows(
    pool: &PgPool,
    kind: ObjectKind,
    ids: Vec<String>,
) -> anyhow::Result<HashMap<String, Local>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, clerk_updated_at, deleted_at FROM {} WHERE id = ANY($1)",
        kind.table()
    );
    let rows: Vec<VersionRow> = database::with_connection(pool, move |conn| {
        sql_query(sql).bind::<Array<Text>, _>(ids).load(conn)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Local {
                    version: r.clerk_updated_at,
                    deleted: r.deleted_at.is_some(),
                },
            )
        })
        .collect())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The ids of the live (not tombstoned) rows of a kind.
pub async fn live_ids(pool: &PgPool, kind: ObjectKind) -> anyhow::Result<Vec<String>> {
    let sql = format!("SELECT id FROM {} WHERE deleted_at IS NULL", kind.table());
    let rows: Vec<IdRow> =
        database::with_connection(pool, move |conn| sql_query(sql).load(conn)).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A live membership row, as far as a tombstone needs it.
#[derive(Debug, Clone, QueryableByName)]
pub struct LiveMembership {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub organization_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub clerk_updated_at: DateTime<Utc>,
}

/// Every live membership.
pub async fn live_memberships(pool: &PgPool) -> anyhow::Result<Vec<LiveMembership>> {
    Ok(database::with_connection(pool, |conn| {
        sql_query(
            "SELECT id, organization_id, user_id, clerk_updated_at \
             FROM organization_memberships WHERE deleted_at IS NULL",
        )
        .load(conn)
    })
    .await?)
}

/// A live user or organization row, as far as a tombstone needs it.
#[derive(Debug, Clone, QueryableByName)]
pub struct LiveRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    /// `external_id` of a user, `slug` of an organization: kept on the tombstone, as a
    /// delete webhook keeps them.
    #[diesel(sql_type = Nullable<Text>)]
    pub kept: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub clerk_updated_at: DateTime<Utc>,
}

/// The live rows among `ids` (users or organizations).
pub async fn live_rows(
    pool: &PgPool,
    kind: ObjectKind,
    ids: Vec<String>,
) -> anyhow::Result<Vec<LiveRow>> {
    let kept = match kind {
        ObjectKind::User => "external_id",
        ObjectKind::Organization => "slug",
        ObjectKind::Membership | ObjectKind::Object(_) => "NULL::text",
    };
    let sql = format!(
        "SELECT id, {kept} AS kept, clerk_updated_at FROM {} \
         WHERE id = ANY($1) AND deleted_at IS NULL ORDER BY id",
        kind.table()
    );
    Ok(database::with_connection(pool, move |conn| {
        sql_query(sql).bind::<Array<Text>, _>(ids).load(conn)
    })
    .await?)
}
