//! The worked example of docs/change-feed.md (a welcome email, once), run as
//! written.

use diesel::{prelude::*, sql_query, PgConnection};
use integration::{
    event,
    webhooks::{prepared, user_event},
    TestDb,
};
use serde_json::Value;
use worker::feed::read;

use crate::{
    feed::{batch, Seq},
    T0,
};

/// The SQL of docs/change-feed.md's worked example: (once, each step).
fn welcome_sql() -> (String, String) {
    let doc = include_str!("../../../docs/change-feed.md");
    let block = doc
        .split("<!-- welcome: begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- welcome: end -->").next())
        .expect("the welcome markers");
    let sql = block
        .trim()
        .trim_start_matches("```sql")
        .trim_end_matches("```");
    let (once, step) = sql.split_once("-- Each step").expect("the step");
    (once.to_owned(), format!("-- Each step{step}"))
}

/// A `user.updated` of `id` with the same `created_at` as the `user.created`
/// example (Clerk never changes it; the two examples differ).
fn updated(id: &str, version_ms: i64, first_name: &str) -> Value {
    let mut e = user_event("user.updated", id, version_ms, first_name);
    e["data"]["created_at"] = event("user.created", id, T0)["data"]["created_at"].clone();
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_welcome_consumer_queues_each_new_user_once_through_crashes() {
    use diesel::{connection::SimpleConnection, Connection};

    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let (once, step) = welcome_sql();
    // The app's own connection: its tables in public, ours named `clerk.`.
    let app = |url: &str| PgConnection::establish(url).expect("the app connects");
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Welcome {
        #[diesel(sql_type = diesel::sql_types::Text)]
        user_id: String,
    }
    let welcomes = |c: &mut PgConnection| -> Vec<String> {
        sql_query("SELECT user_id FROM welcome_emails ORDER BY user_id")
            .load::<Welcome>(c)
            .expect("welcomes")
            .into_iter()
            .map(|w| w.user_id)
            .collect()
    };

    // A user from before the consumer: never welcomed.
    batch(
        &db,
        vec![prepared("msg_w0", &event("user.created", "user_w_old", T0))],
    )
    .await;
    let url = db.url.clone();
    let mut c = tokio::task::spawn_blocking(move || {
        let mut c = app(&url);
        c.batch_execute(&once).expect("the consumer's tables");
        c
    })
    .await
    .expect("task");

    // Two sign-ups, a backfilled user, an update of an old user.
    batch(
        &db,
        vec![
            prepared("msg_w1", &event("user.created", "user_w_1", T0)),
            prepared("msg_w2", &event("user.created", "user_w_2", T0)),
            prepared("msg_w3", &updated("user_w_old", T0 + 5, "Old")),
        ],
    )
    .await;
    db.with(|c| {
        let backfilled = prepared("unused", &event("user.created", "user_w_backfilled", T0));
        worker::apply::apply_object(c, &backfilled.change, None).expect("applies");
    })
    .await;

    // The consumer crashes in the middle of a step: nothing of it stays.
    c.batch_execute(&format!("BEGIN; {step} ROLLBACK;"))
        .expect("a step, rolled back");
    assert_eq!(welcomes(&mut c), Vec::<String>::new());
    // It runs again, and again: each sign-up queued once.
    c.batch_execute(&step).expect("a step");
    c.batch_execute(&step).expect("a step with nothing new");
    assert_eq!(welcomes(&mut c), vec!["user_w_1", "user_w_2"]);

    // A later sign-up and an update of a welcomed user.
    batch(
        &db,
        vec![
            prepared("msg_w4", &event("user.created", "user_w_3", T0)),
            prepared("msg_w5", &updated("user_w_1", T0 + 5, "Again")),
        ],
    )
    .await;
    c.batch_execute(&step).expect("a step");
    assert_eq!(welcomes(&mut c), vec!["user_w_1", "user_w_2", "user_w_3"]);
    let head = db.with(|c| read::head(c).expect("head")).await;
    let cursor = sql_query("SELECT seq FROM welcome_cursor WHERE consumer = 'welcome'")
        .get_result::<Seq>(&mut c)
        .expect("cursor")
        .seq;
    assert_eq!(cursor, head, "the cursor is past every change");
}
