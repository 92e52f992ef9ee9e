//! The change feed's SQL under what sessions other than the worker's do: constraints
//! made IMMEDIATE, savepoints rolled back, transactions rolled back, a temporary
//! table named like ours, and a cursor from a feed that was recreated.

use diesel::{connection::SimpleConnection, prelude::*, sql_query};
use integration::TestDb;
use worker::feed::read::{self, ReadError};

use crate::feed::all_changes;

fn insert(id: &str) -> String {
    format!("INSERT INTO users (id, first_name, clerk_updated_at) VALUES ('{id}', 'A', now());")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_holds_what_committed_whatever_the_session_does() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let script = [
        // IMMEDIATE: each statement seals at its end; none may be lost.
        format!(
            "BEGIN; SET CONSTRAINTS ALL IMMEDIATE; {} {} \
             UPDATE users SET first_name = 'B' WHERE id = 'user_s1'; COMMIT;",
            insert("user_s1"),
            insert("user_s2")
        ),
        // A savepoint rolled back takes its rows' changes with it.
        format!(
            "BEGIN; {} SAVEPOINT a; {} ROLLBACK TO a; {} COMMIT;",
            insert("user_s3"),
            insert("user_s4"),
            insert("user_s5")
        ),
        // A transaction rolled back leaves no change and no hole.
        format!("BEGIN; {} ROLLBACK;", insert("user_s6")),
        // A session's own temporary table named `changes` catches nothing.
        format!(
            "CREATE TEMPORARY TABLE changes (LIKE clerk.changes); BEGIN; {} COMMIT; \
             DROP TABLE pg_temp.changes;",
            insert("user_s7")
        ),
        // A statement that writes nothing (a stale upsert) seals nothing.
        "BEGIN; INSERT INTO users (id, clerk_updated_at) VALUES ('user_s7', now()) \
         ON CONFLICT DO NOTHING; COMMIT;"
            .to_owned(),
    ];
    db.with(move |c| {
        for sql in &script {
            c.batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    })
    .await;
    let feed = db.with(all_changes).await;
    let got: Vec<(i64, &str)> = feed.iter().map(|c| (c.seq, c.object_id.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (1, "user_s1"),
            (2, "user_s2"),
            (3, "user_s1"),
            (4, "user_s3"),
            (5, "user_s5"),
            (6, "user_s7"),
        ]
    );

    // A cursor past the last seq handed out (the feed was restored or recreated):
    // an error, never empty pages forever.
    let ahead = db.with(|c| read::since(c, 7, 10)).await;
    match ahead {
        Err(ReadError::AheadOfFeed(message)) => {
            assert!(message.contains("ahead of the feed"), "{message}");
            assert!(message.contains("resync"), "{message}");
        }
        other => panic!("a cursor ahead of the feed must fail, got {other:?}"),
    }
    let at_head = db.with(|c| read::since(c, 6, 10).map(|p| p.len())).await;
    assert_eq!(at_head.expect("reads"), 0);
    let head = db
        .with(|c| {
            #[derive(QueryableByName)]
            struct Last {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                last_seq: i64,
            }
            sql_query("SELECT last_seq FROM change_sequence")
                .get_result::<Last>(c)
                .map(|l| l.last_seq)
        })
        .await;
    assert_eq!(head.expect("last seq"), 6, "no seq taken for nothing");
}
