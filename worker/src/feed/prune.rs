//! Retention of the feed: `worker prune` deletes changes committed before a cutoff
//! (`CHANGES_RETENTION` ago) that every relay has passed, oldest first, a chunk per
//! short transaction, and records how far it went (`change_retention`), so that a
//! reader whose cursor is older gets an error instead of a silent skip.

use chrono::{DateTime, Utc};
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_query,
    sql_types::{BigInt, Nullable, Timestamptz},
};

/// What one prune of the feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrunedChanges {
    pub changes: usize,
    /// Every change up to this seq may be gone now.
    pub pruned_through: i64,
    /// The least seq a relay has passed, when a relay holds changes back.
    pub held_by_relay: Option<i64>,
}

#[derive(QueryableByName)]
struct Chunk {
    #[diesel(sql_type = BigInt)]
    deleted: i64,
    #[diesel(sql_type = BigInt)]
    pruned_through: i64,
}

#[derive(QueryableByName)]
struct Relays {
    #[diesel(sql_type = Nullable<BigInt>)]
    least: Option<i64>,
}

/// Deletes the changes committed before `cutoff` that every relay has passed,
/// `chunk` at a time.
pub fn prune(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    chunk: i64,
) -> QueryResult<PrunedChanges> {
    let least = sql_query("SELECT min(relayed_through) AS least FROM change_relays")
        .get_result::<Relays>(conn)?
        .least;
    let mut done = PrunedChanges {
        held_by_relay: least,
        ..Default::default()
    };
    loop {
        // The oldest changes, up to the first one that is too young or not relayed:
        // the feed is deleted from its start only, so `pruned_through` is exact.
        let c = sql_query(
            "WITH head AS ( \
                 SELECT seq, committed_at FROM changes \
                 WHERE seq > (SELECT pruned_through FROM change_retention) \
                 ORDER BY seq LIMIT $3 \
             ), kept AS ( \
                 SELECT min(seq) AS seq FROM head \
                 WHERE committed_at >= $1 OR ($2::bigint IS NOT NULL AND seq > $2) \
             ), doomed AS ( \
                 DELETE FROM changes WHERE seq IN ( \
                     SELECT seq FROM head WHERE seq < coalesce((SELECT seq FROM kept), 9223372036854775807)) \
                 RETURNING seq \
             ), moved AS ( \
                 UPDATE change_retention SET pruned_through = (SELECT max(seq) FROM doomed), \
                        pruned_at = now() \
                 WHERE EXISTS (SELECT 1 FROM doomed) \
                 RETURNING pruned_through \
             ) \
             SELECT (SELECT count(*) FROM doomed) AS deleted, \
                    coalesce((SELECT pruned_through FROM moved), \
                             (SELECT pruned_through FROM change_retention)) AS pruned_through",
        )
        .bind::<Timestamptz, _>(cutoff)
        .bind::<Nullable<BigInt>, _>(least)
        .bind::<BigInt, _>(chunk.max(1))
        .get_result::<Chunk>(conn)?;
        done.pruned_through = c.pruned_through;
        if c.deleted == 0 {
            return Ok(done);
        }
        done.changes += usize::try_from(c.deleted).unwrap_or(0);
    }
}
