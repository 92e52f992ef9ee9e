//! `NOTIFY clerk_sync`: a real `LISTEN` connection hears of every applied row change
//! once it is committed (the row is there when the notification arrives), of nothing
//! for a duplicate, a stale or an ignored event, and of one notification per row
//! for a batch, cascades included.

use std::time::{Duration, Instant};

use diesel::{prelude::*, sql_query, sql_types::Text, PgConnection};
use integration::{
    event,
    webhooks::{membership_event, prepared, user_event},
    Options, TestApp, TestDb,
};
use serde_json::{json, Value};
use shared::event::Envelope;
use worker::apply::{apply_batch, EventToApply, Outcome, Payloads};

use crate::T0;

/// A connection that has run `LISTEN clerk_sync`.
async fn listen(url: &str) -> PgConnection {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = integration::database::connect(&url);
        sql_query("LISTEN clerk_sync")
            .execute(&mut conn)
            .expect("LISTEN");
        conn
    })
    .await
    .expect("listen task")
}

/// A notification, and whether its row could be read when it arrived.
#[derive(Debug, PartialEq)]
struct Heard {
    payload: Value,
    row_visible: bool,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Collects `clerk_sync` notifications until one whose payload has `"id": until`
/// (included), reading each one's row as it arrives. Panics after 20 s.
async fn hear_until(mut conn: PgConnection, until: &str) -> (PgConnection, Vec<Heard>) {
    let until = until.to_owned();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut heard = Vec::new();
        loop {
            let batch: Vec<_> = conn
                .notifications_iter()
                .collect::<Result<_, _>>()
                .expect("notifications");
            for n in batch {
                assert_eq!(n.channel, "clerk_sync");
                let payload: Value = serde_json::from_str(&n.payload).expect("a JSON payload");
                let table = payload["table"].as_str().expect("table").to_owned();
                assert!(
                    [
                        "users",
                        "organizations",
                        "organization_memberships",
                        "organization_invitations",
                        "organization_domains",
                        "roles",
                        "permissions",
                        "waitlist_entries",
                        "billing_subscriptions",
                        "billing_subscription_items",
                    ]
                    .contains(&table.as_str()),
                    "{payload}"
                );
                let id = payload["id"].as_str().expect("id").to_owned();
                let row_visible =
                    sql_query(format!("SELECT count(*) AS n FROM {table} WHERE id = $1"))
                        .bind::<Text, _>(&id)
                        .get_result::<N>(&mut conn)
                        .expect("row lookup")
                        .n
                        == 1;
                heard.push(Heard {
                    payload,
                    row_visible,
                });
                if id == until {
                    return (conn, heard);
                }
            }
            assert!(
                Instant::now() < deadline,
                "no notification for {until} within 20 s; heard {heard:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    })
    .await
    .expect("listener task")
}

fn heard(table: &str, id: &str, op: &str) -> Heard {
    Heard {
        payload: json!({"table": table, "id": id, "op": op}),
        row_visible: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_hears_of_an_applied_user_once_it_is_committed_and_of_nothing_else() {
    let app = TestApp::spawn(Options::default()).await;
    let conn = listen(&app.db.url).await;
    let listener = tokio::spawn(async move { hear_until(conn, "user_nt_marker").await });

    let created = event("user.created", "user_nt_1", T0 + 1_000);
    let svix_id = app.post(&created).await;
    assert_eq!(app.wait_recorded(&svix_id).await, "applied");
    // A duplicate, a stale update and an ignored type change nothing: no notification.
    assert_eq!(app.post_as(&svix_id, &created).await, 200);
    let stale = app
        .post(&user_event("user.updated", "user_nt_1", T0, "Older"))
        .await;
    assert_eq!(app.wait_recorded(&stale).await, "stale");
    let ignored = app
        .post(
            &json!({"type": "session.created", "object": "event", "timestamp": T0,
                      "data": {"id": "sess_nt", "user_id": "user_nt_1"}}),
        )
        .await;
    assert_eq!(app.wait_recorded(&ignored).await, "ignored");
    let marker = app.post(&event("user.created", "user_nt_marker", T0)).await;
    app.wait_recorded(&marker).await;

    let (_, notifications) = listener.await.expect("listener");
    assert_eq!(
        notifications,
        vec![
            heard("users", "user_nt_1", "upsert"),
            heard("users", "user_nt_marker", "upsert"),
        ],
        "one notification for the applied create, none for the duplicate, the stale \
         update or the ignored event; each row readable when its notification arrived"
    );
    // The exact text applications match on.
    let text = listen_text(&app.db.url).await;
    assert_eq!(
        text, r#"{"table":"users","id":"user_nt_2","op":"delete"}"#,
        "compact JSON, keys in this order"
    );
}

/// Applies a `user.deleted` for a new id and returns the notification's raw text.
async fn listen_text(url: &str) -> String {
    let mut conn = listen(url).await;
    let url = url.to_owned();
    let body = serde_json::to_vec(&event("user.deleted", "user_nt_2", T0)).expect("json");
    tokio::task::spawn_blocking(move || {
        let mut c = integration::database::connect(&url);
        let p = EventToApply::from_envelope(
            "msg_nt_text",
            Envelope::parse(&body).expect("envelope"),
            None,
            1,
            Payloads::Discard,
        )
        .expect("prepared");
        apply_batch(&mut c, &[p]).expect("applies")
    })
    .await
    .expect("apply task");
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(n) = conn.notifications_iter().next() {
                return n.expect("notification").payload;
            }
            assert!(Instant::now() < deadline, "no notification");
            std::thread::sleep(Duration::from_millis(10));
        }
    })
    .await
    .expect("listener task")
}

/// Applies `events` as one batch, then sends a marker notification and returns what
/// the listener heard up to it.
async fn batch(
    db: &TestDb,
    conn: PgConnection,
    marker: &str,
    events: Vec<EventToApply>,
) -> (PgConnection, Vec<Outcome>, Vec<Heard>) {
    let marker_payload = json!({"table": "users", "id": marker, "op": "upsert"}).to_string();
    let outcomes = db
        .with(move |c| {
            let outcomes = apply_batch(c, &events)
                .expect("the batch commits")
                .into_iter()
                .map(|r| r.expect("each event applies"))
                .collect::<Vec<_>>();
            sql_query("SELECT pg_notify('clerk_sync', $1)")
                .bind::<Text, _>(marker_payload)
                .execute(c)
                .expect("marker");
            outcomes
        })
        .await;
    let (conn, mut heard) = hear_until(conn, marker).await;
    heard.pop();
    (conn, outcomes, heard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sends_one_notification_per_changed_row() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let conn = listen(&db.url).await;

    // Three users and an organization with two memberships, in one batch.
    let first = vec![
        prepared("msg_b1", &event("user.created", "user_b_1", T0 + 10)),
        prepared("msg_b2", &event("user.created", "user_b_2", T0 + 10)),
        prepared("msg_b3", &event("user.created", "user_b_3", T0 + 10)),
        prepared("msg_b4", &event("organization.created", "org_b", T0)),
        prepared("msg_b5", &membership_event("orgmem_b_1", "org_b", T0)),
        prepared("msg_b6", &membership_event("orgmem_b_2", "org_b", T0)),
    ];
    let (conn, outcomes, mut heard1) = batch(&db, conn, "marker_1", first).await;
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Applied),
        "{outcomes:?}"
    );
    heard1.sort_by_key(|h| h.payload.to_string());
    let mut expected = vec![
        heard("organization_memberships", "orgmem_b_1", "upsert"),
        heard("organization_memberships", "orgmem_b_2", "upsert"),
        heard("organizations", "org_b", "upsert"),
        heard("users", "user_b_1", "upsert"),
        heard("users", "user_b_2", "upsert"),
        heard("users", "user_b_3", "upsert"),
    ];
    expected.sort_by_key(|h| h.payload.to_string());
    assert_eq!(heard1, expected);

    // A duplicate, a stale update, an ignored type and one new user: one notification.
    let second = vec![
        prepared("msg_b1", &event("user.created", "user_b_1", T0 + 10)),
        prepared(
            "msg_b7",
            &user_event("user.updated", "user_b_2", T0, "Older"),
        ),
        prepared(
            "msg_b8",
            &json!({"type": "session.created", "object": "event", "data": {"id": "sess_b"}}),
        ),
        prepared("msg_b9", &event("user.created", "user_b_4", T0)),
    ];
    let (conn, outcomes, heard2) = batch(&db, conn, "marker_2", second).await;
    assert_eq!(
        outcomes,
        vec![
            Outcome::Duplicate,
            Outcome::Stale,
            Outcome::Ignored,
            Outcome::Applied
        ]
    );
    assert_eq!(heard2, vec![heard("users", "user_b_4", "upsert")]);

    // Deleting the organization tombstones it and its memberships: a `delete` each.
    let third = vec![prepared(
        "msg_b10",
        &event("organization.deleted", "org_b", T0 + 20),
    )];
    let (_, outcomes, mut heard3) = batch(&db, conn, "marker_3", third).await;
    assert_eq!(outcomes, vec![Outcome::Applied]);
    heard3.sort_by_key(|h| h.payload.to_string());
    let mut expected = vec![
        heard("organizations", "org_b", "delete"),
        heard("organization_memberships", "orgmem_b_1", "delete"),
        heard("organization_memberships", "orgmem_b_2", "delete"),
    ];
    expected.sort_by_key(|h| h.payload.to_string());
    assert_eq!(heard3, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_example_waits_for_a_user() {
    let app = TestApp::spawn(Options::default()).await;
    let mut listener = integration::wait_for_user::Listener::connect(&app.db.url)
        .await
        .expect("listens");

    // Not there, and nothing comes: the wait ends with None at its timeout.
    let none = listener
        .wait_for_user("user_rd_never", Duration::from_millis(300))
        .await
        .expect("query");
    assert!(none.is_none());

    // Waiting first, the webhook landing meanwhile: the row is returned.
    let mut waiting = listener;
    let wait = tokio::spawn(async move {
        let row = waiting
            .wait_for_user("user_rd_1", Duration::from_secs(20))
            .await;
        (waiting, row)
    });
    let svix_id = app.post(&event("user.created", "user_rd_1", T0)).await;
    let (mut listener, row) = wait.await.expect("wait task");
    let row = row.expect("query").expect("the user arrived");
    assert_eq!(row.get::<_, String>("id"), "user_rd_1");
    assert_eq!(
        row.get::<_, Option<String>>("email").as_deref(),
        Some("john.doe@example.org")
    );
    app.wait_recorded(&svix_id).await;

    // Already there before the wait: found at once.
    let again = listener
        .wait_for_user("user_rd_1", Duration::from_millis(1))
        .await
        .expect("query");
    assert!(again.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_families_announce_their_rows_too() {
    let app = TestApp::spawn(Options::default()).await;
    let conn = listen(&app.db.url).await;
    let listener = tokio::spawn(async move { hear_until(conn, "user_nt_families").await });
    for e in [
        event("role.created", "role_nt", T0),
        event("role.deleted", "role_nt", T0 + 1_000),
        event("user.created", "user_nt_families", T0),
    ] {
        let id = app.post(&e).await;
        assert_eq!(app.wait_recorded(&id).await, "applied");
    }
    let (_, notifications) = listener.await.expect("listener");
    assert_eq!(
        notifications,
        vec![
            heard("roles", "role_nt", "upsert"),
            heard("roles", "role_nt", "delete"),
            heard("users", "user_nt_families", "upsert"),
        ]
    );
}
