//! `worker prune` deletes in bounded chunks, each in its own transaction.

use diesel::prelude::*;
use integration::TestDb;
use worker::apply::prune;

#[tokio::test]
async fn prune_deletes_old_records_in_chunks_and_keeps_the_rest() {
    let db = TestDb::new().await;
    db.execute(
        "INSERT INTO webhook_events (svix_id, event_type, outcome, processed_at) \
         SELECT 'msg_old_' || n, 'user.updated', 'applied', now() - interval '10 days' \
         FROM generate_series(1, 2500) AS n; \
         INSERT INTO webhook_events (svix_id, event_type, outcome, processed_at) \
         SELECT 'msg_new_' || n, 'user.updated', 'applied', now() \
         FROM generate_series(1, 30) AS n;",
    )
    .await;
    let (pruned, left) = db
        .with(|c| {
            let cutoff = chrono::Utc::now() - chrono::Duration::days(7);
            let pruned = prune(c, cutoff, 1000).expect("prune");
            let left: i64 = shared::schema::webhook_events::table
                .count()
                .get_result(c)
                .expect("count");
            (pruned, left)
        })
        .await;
    assert_eq!(pruned.records, 2500);
    assert_eq!(pruned.chunks, 3, "at most 1000 records a transaction");
    assert_eq!(left, 30, "recent records stay");
}
