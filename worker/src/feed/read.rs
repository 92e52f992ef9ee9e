//! Reading the feed: `changes_since`, the one way every reader goes (the relay, the
//! HTTP endpoint, and the app's SQL).

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::{
    pg::PgConnection,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
    sql_query,
    sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz},
};
use shared::feed::{FeedChange, AHEAD_OF_FEED, BEHIND_RETENTION};

/// Changes a reader may ask for at once.
pub const MAX_PAGE: i32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The cursor points at changes `worker prune` has deleted: the reader must
    /// resync from the tables (the message says how).
    #[error("{0}")]
    BehindRetention(String),
    /// The cursor is past the last seq handed out: the feed was restored or
    /// recreated, and the reader must resync.
    #[error("{0}")]
    AheadOfFeed(String),
    #[error(transparent)]
    Database(#[from] DieselError),
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    object_id: String,
    #[diesel(sql_type = Text)]
    op: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    version: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    svix_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    committed_at: DateTime<Utc>,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl From<Row> for FeedChange {
    fn from(r: Row) -> Self {
        Self {
            seq: r.seq,
            kind: r.kind,
            object_id: r.object_id,
            op: r.op,
            version: r.version.map(rfc3339),
            svix_id: r.svix_id,
            committed_at: rfc3339(r.committed_at),
            columns: r.columns,
        }
    }
}

/// At most `limit` changes after `after`, in seq order.
pub fn since(
    conn: &mut PgConnection,
    after: i64,
    limit: i32,
) -> Result<Vec<FeedChange>, ReadError> {
    let rows: Vec<Row> = sql_query("SELECT * FROM changes_since($1, $2)")
        .bind::<BigInt, _>(after)
        .bind::<Integer, _>(limit.clamp(0, MAX_PAGE))
        .load(conn)
        .map_err(|e| match &e {
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
                let said = || {
                    let hint = info.hint().map(|h| format!(" {h}")).unwrap_or_default();
                    format!("{}.{hint}", info.message())
                };
                match info.sql_state() {
                    Some(BEHIND_RETENTION) => ReadError::BehindRetention(said()),
                    Some(AHEAD_OF_FEED) => ReadError::AheadOfFeed(said()),
                    _ => ReadError::Database(e),
                }
            }
            _ => ReadError::Database(e),
        })?;
    Ok(rows.into_iter().map(FeedChange::from).collect())
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    head: i64,
}

/// The newest seq committed (0 before any change).
pub fn head(conn: &mut PgConnection) -> QueryResult<i64> {
    sql_query("SELECT changes_head() AS head")
        .get_result::<Head>(conn)
        .map(|h| h.head)
}
