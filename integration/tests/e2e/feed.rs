//! The change feed: what lands in `changes` for each kind of event, and reading it
//! by SQL and HTTP, retention included (docs/change-feed.md).

use std::time::Duration;

use diesel::{prelude::*, sql_query, PgConnection};
use integration::{
    event, unique,
    webhooks::{membership_event, prepared, user_event},
    Options, TestApp, TestDb,
};
use serde_json::{json, Value};
use shared::feed::FeedChange;
use worker::{
    apply::{apply_batch, EventToApply, Outcome},
    feed::{prune, read},
};

use crate::T0;

/// Every change in the feed, in seq order.
pub(crate) fn all_changes(c: &mut PgConnection) -> Vec<FeedChange> {
    read::since(c, 0, read::MAX_PAGE).expect("the feed reads")
}

/// Applies `events` as one batch; returns the outcomes and the changes it added.
pub(crate) async fn batch(
    db: &TestDb,
    events: Vec<EventToApply>,
) -> (Vec<Outcome>, Vec<FeedChange>) {
    db.with(move |c| {
        let before = read::head(c).expect("head");
        let outcomes = apply_batch(c, &events)
            .expect("the batch commits")
            .into_iter()
            .map(|r| r.expect("each event applies"))
            .collect::<Vec<_>>();
        let added = read::since(c, before, read::MAX_PAGE).expect("the feed reads");
        (outcomes, added)
    })
    .await
}

/// (kind, object id, op, svix-id) of each change, sorted.
fn summary(changes: &[FeedChange]) -> Vec<(String, String, String, Option<String>)> {
    let mut s: Vec<_> = changes
        .iter()
        .map(|c| {
            (
                c.kind.clone(),
                c.object_id.clone(),
                c.op.clone(),
                c.svix_id.clone(),
            )
        })
        .collect();
    s.sort();
    s
}

fn change(
    kind: &str,
    id: &str,
    op: &str,
    svix_id: &str,
) -> (String, String, String, Option<String>) {
    (kind.into(), id.into(), op.into(), Some(svix_id.into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_applied_change_is_one_feed_row_naming_its_event_and_columns_and_nothing_personal() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;

    // Three users, an organization and two memberships, in one batch: six changes.
    let created = event("user.created", "user_f_1", T0 + 10);
    let email = created["data"]["email_addresses"][0]["email_address"]
        .as_str()
        .expect("the example has an email address")
        .to_owned();
    let first = vec![
        prepared("msg_f1", &created),
        prepared("msg_f2", &event("user.created", "user_f_2", T0 + 10)),
        prepared("msg_f3", &event("user.created", "user_f_3", T0 + 10)),
        prepared("msg_f4", &event("organization.created", "org_f", T0)),
        prepared("msg_f5", &membership_event("orgmem_f_1", "org_f", T0)),
        prepared("msg_f6", &membership_event("orgmem_f_2", "org_f", T0)),
    ];
    let (outcomes, added) = batch(&db, first).await;
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Applied),
        "{outcomes:?}"
    );
    assert_eq!(
        summary(&added),
        vec![
            change("organization", "org_f", "upsert", "msg_f4"),
            change("organization_membership", "orgmem_f_1", "upsert", "msg_f5"),
            change("organization_membership", "orgmem_f_2", "upsert", "msg_f6"),
            change("user", "user_f_1", "upsert", "msg_f1"),
            change("user", "user_f_2", "upsert", "msg_f2"),
            change("user", "user_f_3", "upsert", "msg_f3"),
        ]
    );
    let user = added
        .iter()
        .find(|c| c.object_id == "user_f_1")
        .expect("user_f_1");
    for column in ["email", "first_name", "data", "clerk_created_at"] {
        assert!(
            user.columns.contains(&column.to_owned()),
            "{column} in {user:?}"
        );
    }
    assert!(!user.columns.contains(&"synced_at".to_owned()), "{user:?}");
    let version = user
        .version
        .as_deref()
        .expect("the Clerk version is carried");
    let version = chrono::DateTime::parse_from_rfc3339(version).expect("RFC 3339");
    assert_eq!(version.timestamp_millis(), T0 + 10);

    // A duplicate, a stale update, an ignored type and one new user: one change.
    let second = vec![
        prepared("msg_f1", &event("user.created", "user_f_1", T0 + 10)),
        prepared(
            "msg_f7",
            &user_event("user.updated", "user_f_2", T0, "Older"),
        ),
        prepared(
            "msg_f8",
            &json!({"type": "session.created", "object": "event", "data": {"id": "sess_f"}}),
        ),
        prepared("msg_f9", &event("user.created", "user_f_4", T0)),
    ];
    let (outcomes, added) = batch(&db, second).await;
    assert_eq!(
        outcomes,
        vec![
            Outcome::Duplicate,
            Outcome::Stale,
            Outcome::Ignored,
            Outcome::Applied
        ]
    );
    assert_eq!(
        summary(&added),
        vec![change("user", "user_f_4", "upsert", "msg_f9")]
    );

    // One user updated twice in one batch: two changes, each naming its event, in
    // the order they applied; only the column that changed.
    let third = vec![
        prepared(
            "msg_f10",
            &user_event("user.updated", "user_f_3", T0 + 20, "Ada"),
        ),
        prepared(
            "msg_f11",
            &user_event("user.updated", "user_f_3", T0 + 30, "Grace"),
        ),
    ];
    let (outcomes, added) = batch(&db, third).await;
    assert_eq!(outcomes, vec![Outcome::Applied, Outcome::Applied]);
    let named: Vec<_> = added.iter().map(|c| c.svix_id.as_deref()).collect();
    assert_eq!(named, vec![Some("msg_f10"), Some("msg_f11")]);
    for c in &added {
        assert!(c.columns.contains(&"first_name".to_owned()), "{c:?}");
        assert!(!c.columns.contains(&"email".to_owned()), "{c:?}");
    }
    assert!(added[0].seq < added[1].seq);

    // Deleting the organization tombstones it and its memberships: all named after
    // the delete.
    let (outcomes, added) = batch(
        &db,
        vec![prepared(
            "msg_f12",
            &event("organization.deleted", "org_f", T0 + 20),
        )],
    )
    .await;
    assert_eq!(outcomes, vec![Outcome::Applied]);
    assert_eq!(
        summary(&added),
        vec![
            change("organization", "org_f", "tombstone", "msg_f12"),
            change(
                "organization_membership",
                "orgmem_f_1",
                "tombstone",
                "msg_f12"
            ),
            change(
                "organization_membership",
                "orgmem_f_2",
                "tombstone",
                "msg_f12"
            ),
        ]
    );

    // A user's delete: a tombstone whose columns name what was erased. A late
    // update of the deleted user changes nothing, and adds nothing.
    let (outcomes, added) = batch(
        &db,
        vec![prepared(
            "msg_f13",
            &event("user.deleted", "user_f_1", T0 + 40),
        )],
    )
    .await;
    assert_eq!(outcomes, vec![Outcome::Applied]);
    assert_eq!(
        summary(&added),
        vec![change("user", "user_f_1", "tombstone", "msg_f13")]
    );
    for column in ["deleted_at", "email", "first_name"] {
        assert!(
            added[0].columns.contains(&column.to_owned()),
            "{column} in {:?}",
            added[0]
        );
    }
    let (outcomes, added) = batch(
        &db,
        vec![prepared(
            "msg_f14",
            &user_event("user.updated", "user_f_1", T0 + 50, "Back"),
        )],
    )
    .await;
    assert_eq!(outcomes, vec![Outcome::Stale]);
    assert_eq!(added, vec![]);

    // The whole feed: seq 1, 2, 3, ... in commit order, and never a name or an
    // address in it.
    let feed = db.with(all_changes).await;
    let seqs: Vec<i64> = feed.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=feed.len() as i64).collect::<Vec<_>>());
    assert!(feed
        .windows(2)
        .all(|w| w[0].committed_at <= w[1].committed_at));
    let text = serde_json::to_string(&feed).expect("json");
    for personal in [email.as_str(), "Ada", "Grace", "Older", "Back"] {
        assert!(!text.contains(personal), "{personal} in the feed: {text}");
    }
}

/// `changes_since` for a given role's connection, as the app would call it.
#[derive(QueryableByName, Debug)]
pub(crate) struct Seq {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) seq: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_changes_pages_the_feed_and_a_cursor_behind_the_retention_is_told_to_resync() {
    let token = format!("changes-token-{}", unique());
    let app = TestApp::spawn(Options {
        changes_token: Some(token.clone()),
        ..Options::default()
    })
    .await;
    let port = app.workers[0].metrics_port();
    let url = |q: &str| format!("http://127.0.0.1:{port}/changes{q}");

    let mut ids = Vec::new();
    for (i, id) in ["user_h_1", "user_h_2", "user_h_3"].iter().enumerate() {
        let svix = app.post(&event("user.created", id, T0 + i as i64)).await;
        assert_eq!(app.wait_recorded(&svix).await, "applied");
        ids.push(svix);
    }

    // Without a token, or with a wrong one: 401.
    let res = app.http.get(url("")).send().await.expect("reachable");
    assert_eq!(res.status().as_u16(), 401);
    let res = app
        .http
        .get(url(""))
        .bearer_auth("wrong-token-0123456789")
        .send()
        .await
        .expect("reachable");
    assert_eq!(res.status().as_u16(), 401);

    // Pages of two: JSON lines, and the cursor to ask with next.
    let get = |q: String| {
        let req = app.http.get(url(&q)).bearer_auth(&token);
        async move { req.send().await.expect("reachable") }
    };
    let res = get("?after=0&limit=2".into()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    assert_eq!(res.headers()["x-changes-next"], "2");
    assert_eq!(res.headers()["x-changes-head"], "3");
    let body = res.text().await.expect("body");
    let page: Vec<FeedChange> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a change per line"))
        .collect();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].seq, 1);
    assert_eq!(page[0].svix_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(page[0].kind, "user");
    let res = get("?after=2&limit=2".into()).await;
    assert_eq!(res.headers()["x-changes-next"], "3");
    let rest = res.text().await.expect("body");
    assert_eq!(rest.lines().count(), 1);
    let res = get("?after=3".into()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["x-changes-next"], "3");
    assert_eq!(res.text().await.expect("body"), "");
    // A cursor from a feed that was recreated: 409, never empty pages forever.
    assert_eq!(get("?after=99".into()).await.status().as_u16(), 409);
    // The scheme is case-insensitive (RFC 7235).
    let lower = app
        .http
        .get(url("?after=3"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(lower.status().as_u16(), 200);
    for bad in ["?after=x", "?after=-1", "?limit=0", "?limit=10001"] {
        assert_eq!(get(bad.into()).await.status().as_u16(), 400, "{bad}");
    }

    // A relay that has published through seq 2 holds seq 3 back from prune.
    app.db
        .execute("INSERT INTO change_relays (name, relayed_through) VALUES ('app', 2)")
        .await;
    let pruned = app
        .db
        .with(|c| prune::prune(c, chrono::Utc::now() + chrono::Duration::seconds(5), 1))
        .await
        .expect("prune");
    assert_eq!(pruned.changes, 2);
    assert_eq!(pruned.pruned_through, 2);
    assert_eq!(pruned.held_by_relay, Some(2));

    // A cursor behind what was pruned: 410 over HTTP, SQLSTATE CS410 in SQL, both
    // saying to resync; a cursor at the retention reads on.
    let res = get("?after=1".into()).await;
    assert_eq!(res.status().as_u16(), 410);
    let body: Value = res.json().await.expect("json");
    let message = body["error"].as_str().expect("error");
    assert!(message.contains("behind the retention"), "{message}");
    assert!(message.contains("Resync"), "{message}");
    let sql = app
        .db
        .with(|c| {
            sql_query("SELECT seq FROM changes_since(0, 10)")
                .load::<Seq>(c)
                .map(|r| r.len())
        })
        .await;
    match sql {
        Err(diesel::result::Error::DatabaseError(_, info)) => {
            assert_eq!(info.sql_state(), Some(shared::feed::BEHIND_RETENTION));
            assert!(
                info.message().contains("behind the retention"),
                "{}",
                info.message()
            );
        }
        other => panic!("a cursor behind the retention must fail, got {other:?}"),
    }
    let res = get("?after=2".into()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.expect("body").lines().count(), 1);
    let head = app.db.with(|c| read::head(c).expect("head")).await;
    assert_eq!(head, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_run_with_changes_relay_publishes_each_change_to_the_changes_exchange() {
    let app = TestApp::spawn(Options {
        relay: true,
        ..Options::default()
    })
    .await;
    // The app's own queue, bound to every change.
    let queue = format!("{}.changes.app", app.broker.prefix);
    let ch = app.broker.channel().await;
    app.broker
        .topology
        .declare_changes(&ch)
        .await
        .expect("exchange");
    ch.queue_declare(
        queue.as_str().into(),
        lapin::options::QueueDeclareOptions::default(),
        // Gone a minute after the test, even if it fails before deleting it.
        lapin::types::FieldTable::from(std::collections::BTreeMap::from([(
            "x-expires".into(),
            lapin::types::AMQPValue::LongInt(60_000),
        )])),
    )
    .await
    .expect("queue");
    ch.queue_bind(
        queue.as_str().into(),
        app.broker.topology.changes_exchange().as_str().into(),
        "user.*".into(),
        Default::default(),
        Default::default(),
    )
    .await
    .expect("bind");

    let created = app.post(&event("user.created", "user_r_1", T0)).await;
    // Applied before the delete is sent (in one batch, the delete could go first and
    // leave the create stale: one change).
    assert_eq!(app.wait_recorded(&created).await, "applied");
    let deleted = app.post(&event("user.deleted", "user_r_1", T0 + 10)).await;
    assert_eq!(app.wait_recorded(&deleted).await, "applied");
    let got = app
        .broker
        .wait_count(&queue, 2, Duration::from_secs(20))
        .await;
    assert_eq!(got.len(), 2, "{got:?}");
    let routing: Vec<_> = got.iter().map(|m| m.routing_key.as_str()).collect();
    assert_eq!(routing, vec!["user.upsert", "user.tombstone"]);
    let ids: Vec<_> = got.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids, vec![Some("1".to_owned()), Some("2".to_owned())]);
    let first: FeedChange = serde_json::from_slice(&got[0].body).expect("a change");
    assert_eq!(first.svix_id.as_deref(), Some(created.as_str()));
    assert_eq!(got[0].properties.delivery_mode(), &Some(2));
    // Saved only after the confirm: the cursor reaches the last one.
    integration::wait_for("the relay's cursor", Duration::from_secs(10), || {
        let db = app.db.clone_handle();
        async move {
            let n = db
                .with(|c| {
                    sql_query(
                        "SELECT relayed_through AS seq FROM change_relays WHERE name = 'default'",
                    )
                    .get_result::<Seq>(c)
                    .map(|r| r.seq)
                    .unwrap_or(0)
                })
                .await;
            (n == 2).then_some(())
        }
    })
    .await;
    ch.queue_delete(queue.as_str().into(), Default::default())
        .await
        .expect("queue deleted");
}
