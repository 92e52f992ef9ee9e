//! Events Postgres refuses although they parse: values `jsonb` or `timestamptz`
//! cannot hold are dead-lettered at once with a reason naming the field; an event
//! that exhausts Postgres's resources by itself (its lock table, or a trigger that
//! raises an outage's SQLSTATE for its row only) does not stall the worker.

use std::time::Duration;

use integration::{event, signed_headers, unique, Options, TestApp, SECRET};
use shared::headers::{get_int, get_str};

use crate::T0;

/// Signs and posts `body` as it is (bytes a `serde_json::Value` cannot hold).
async fn post_text(app: &TestApp, body: String) -> String {
    let svix_id = format!("msg_{}", unique());
    let body = body.into_bytes();
    let headers = signed_headers(SECRET, &svix_id, chrono::Utc::now().timestamp(), &body);
    let status = app.post_raw(body, &headers).await.status().as_u16();
    assert_eq!(status, 200, "event {svix_id} accepted");
    svix_id
}

/// A `user.updated` of `id` at `version` whose `data.<key>` is the JSON text `value`.
fn user_update_with(id: &str, version: i64, key: &str, value: &str) -> String {
    let mut e = event("user.updated", id, version);
    e["data"][key] = serde_json::json!("__VALUE__");
    serde_json::to_string(&e)
        .expect("serializable")
        .replace("\"__VALUE__\"", value)
}

#[tokio::test]
async fn values_postgres_refuses_are_dead_lettered_at_once_naming_the_field() {
    let app = TestApp::spawn(Options::default()).await;
    let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    let cases = [
        (
            "user_tiny_number",
            user_update_with(
                "user_tiny_number",
                T0 + 1_000,
                "public_metadata",
                r#"{"x":1e-20000}"#,
            ),
            "data.public_metadata.x: number 1e-20000 is outside what Postgres jsonb accepts",
        ),
        (
            "user_deep_nesting",
            user_update_with("user_deep_nesting", T0 + 1_000, "unsafe_metadata", &deep),
            // serde_json's limit (128), far below Postgres's (its stack: 6000 levels
            // pass at the default max_stack_depth, 20000 do not).
            "recursion limit exceeded",
        ),
        (
            "user_ancient",
            // 7537 BC, in milliseconds: chrono reads it, timestamptz does not.
            user_update_with("user_ancient", T0 + 1_000, "updated_at", "-300000000000000"),
            "data.updated_at",
        ),
    ];
    for (id, _, _) in &cases {
        let created = app.post(&event("user.created", id, T0)).await;
        assert_eq!(app.wait_recorded(&created).await, "applied");
    }
    let mut bad = Vec::new();
    for (_, body, _) in &cases {
        bad.push(post_text(&app, body.clone()).await);
    }
    // Later events of the same subjects apply.
    for (id, _, _) in &cases {
        let later = app.post(&event("user.updated", id, T0 + 2_000)).await;
        assert_eq!(app.wait_recorded(&later).await, "applied");
    }

    let dead = app
        .broker
        .wait_count(
            &app.broker.topology.dead_queue(),
            3,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(dead.len(), 3);
    for ((_, _, reason), svix_id) in cases.iter().zip(&bad) {
        let m = dead
            .iter()
            .find(|m| m.message_id().as_deref() == Some(svix_id.as_str()))
            .expect("dead-lettered");
        let h = m.properties.headers().as_ref();
        assert_eq!(
            get_int(h, "x-clerk-sync-attempts"),
            Some(1),
            "permanent at once"
        );
        let error = get_str(h, "x-clerk-sync-error").unwrap_or_default();
        assert!(error.contains(reason), "{reason} in {error}");
        assert_eq!(app.db.outcome(svix_id).await, None, "no row");
    }
    for (id, _, _) in &cases {
        let u = app.db.user(id).await.expect("row");
        assert_eq!(
            u.clerk_updated_at.timestamp_millis(),
            T0 + 2_000,
            "{id}: the later update applied"
        );
    }
}

#[tokio::test]
async fn an_event_naming_sixty_thousand_users_applies_and_the_worker_goes_on() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let ids: Vec<String> = (0..60_000).map(|n| format!("user_f{n:05}")).collect();
    let mut e = event("user.updated", "user_many_friends", T0);
    e["data"]["unsafe_metadata"] = serde_json::json!({ "friends": ids });
    let many = app.post(&e).await;
    let after = app
        .post(&event("user.created", "user_after_many", T0))
        .await;
    assert_eq!(app.wait_recorded(&after).await, "applied");
    assert_eq!(app.wait_recorded(&many).await, "applied");
    assert!(app.db.user("user_many_friends").await.is_some());
    let record = app.db.event(&many).await.expect("recorded");
    assert_eq!(record.payload, None, "too many users named to store it");
    assert_eq!(record.attempts, 1);
    let kept = app.db.event(&after).await.expect("recorded");
    assert!(
        kept.payload.is_some(),
        "an ordinary payload is still stored"
    );
    // And the worker still applies what comes next.
    let next = app.post(&event("user.created", "user_next", T0)).await;
    assert_eq!(app.wait_recorded(&next).await, "applied");
    assert_eq!(
        app.broker.count(&app.broker.topology.dead_queue()).await,
        0,
        "nothing dead-lettered"
    );
}

/// A trigger that raises an outage's SQLSTATE for one row only: that event is
/// dead-lettered, with the SQLSTATE in its reason, after a bounded number of holds;
/// every other event keeps being applied meanwhile, uncharged.
#[tokio::test]
async fn an_outage_only_one_event_causes_ends_in_the_dead_letter_queue() {
    for code in ["53000", "08006"] {
        let app = TestApp::spawn(Options::default()).await;
        app.db
            .execute(&format!(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN
                   IF NEW.id = 'user_poison' THEN
                     RAISE EXCEPTION 'refused' USING ERRCODE = '{code}';
                   END IF;
                   RETURN NEW; END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON users
                   FOR EACH ROW EXECUTE FUNCTION poison();"
            ))
            .await;
        let poison = app.post(&event("user.created", "user_poison", T0)).await;
        let mut others = Vec::new();
        for n in 0..5 {
            others.push(
                app.post(&event("user.created", &format!("user_ok_{n}"), T0))
                    .await,
            );
        }
        // Events keep coming while the poisoned one is held.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let dead = loop {
            let n = others.len();
            others.push(
                app.post(&event("user.created", &format!("user_ok_{n}"), T0))
                    .await,
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            let dead = app.broker.peek(&app.broker.topology.dead_queue()).await;
            if !dead.is_empty() {
                break dead;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{code}: the poisoned event was never dead-lettered"
            );
        };
        assert_eq!(dead.len(), 1, "{code}: only the poisoned event");
        assert_eq!(dead[0].message_id().as_deref(), Some(poison.as_str()));
        let h = dead[0].properties.headers().as_ref();
        let error = get_str(h, "x-clerk-sync-error").unwrap_or_default();
        assert!(error.contains(code), "{code} in {error}");
        assert_eq!(get_int(h, "x-clerk-sync-attempts"), Some(1));
        for id in &others {
            assert_eq!(app.wait_recorded(id).await, "applied", "{code}");
        }
        assert_eq!(app.db.outcome(&poison).await, None, "{code}: no row");
        assert!(app.db.user("user_poison").await.is_none());
        let events = app.db.events().await;
        assert!(
            events.iter().all(|e| e.attempts == 1),
            "{code}: the others were never charged"
        );
    }
}
