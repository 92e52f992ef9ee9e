//! Copies of a deleted user's data in the broker (DESIGN.md §4, erasure): the
//! operator page masks them, `worker dlq purge-erased` drops the user's own events
//! and rewrites the others without the data, and what it rewrites still applies.

use std::time::Duration;

use integration::{binary, event, unique, webhooks::user_event, Options, TestApp};
use lapin::{options::BasicPublishOptions, types::FieldTable, BasicProperties};
use serde_json::{json, Value};
use shared::headers;

use crate::{admin_url, api_get, sign_in, TOKEN};

const T0: i64 = 1_716_883_200_000;
/// The retry queue the test parks a message in: long enough that it stays there.
const PARKED: Duration = Duration::from_secs(600);

/// Publishes `body` straight into `queue`, as the worker writes dead letters.
async fn put(
    app: &TestApp,
    queue: &str,
    svix_id: &str,
    event_type: &str,
    reason: &str,
    body: &[u8],
) {
    let ch = app.broker.channel().await;
    ch.confirm_select(Default::default())
        .await
        .expect("confirms");
    let mut h = FieldTable::default();
    headers::set_str(&mut h, headers::EVENT_TYPE, event_type);
    headers::set_int(&mut h, headers::ATTEMPTS, 1);
    headers::set_str(&mut h, headers::ERROR, reason);
    ch.basic_publish(
        "".into(),
        queue.into(),
        BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        },
        body,
        BasicProperties::default()
            .with_message_id(svix_id.into())
            .with_delivery_mode(2)
            .with_headers(h),
    )
    .await
    .expect("publish")
    .await
    .expect("confirm");
}

/// Runs `worker dlq purge-erased` (with `extra` arguments) against the test's
/// deployment; its standard output.
async fn purge(app: &TestApp, extra: &[&str]) -> String {
    let s = app.worker_settings();
    let out = tokio::process::Command::new(binary("worker"))
        .args(["dlq", "purge-erased"])
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &s.database_url)
        .env("AMQP_URL", s.amqp.nodes.urls().join(","))
        .env("AMQP_PREFIX", &s.amqp.prefix)
        .env("RETRY_DELAYS", format!("{}s", PARKED.as_secs()))
        .output()
        .await
        .expect("worker dlq purge-erased runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_users_letters_are_masked_on_the_page_and_purged_from_the_broker() {
    let app = TestApp::spawn(Options {
        max_attempts: 1,
        retry_delays: vec![PARKED],
        admin_token: Some(TOKEN.to_owned()),
        ..Options::default()
    })
    .await;
    let u = unique();
    let ann = format!("user_ann{u}");
    let bob = format!("user_bob{u}");
    let ann_email = format!("ann.{u}@example.org");
    let digits: String = u
        .bytes()
        .take(7)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let ann_phone = format!("+1555{digits}");
    let ann_names = [format!("Annfirst{u}"), format!("Annlast{u}")];
    let bob_email = format!("bob.{u}@example.org");
    // Ann's personal values, as the checks below look for them.
    let personal = [
        ann_email.clone(),
        ann_phone.clone(),
        ann_names[0].to_lowercase(),
        ann_names[1].to_lowercase(),
    ];
    let person = |id: &str, email: &str, version: i64, first: &str| {
        let mut e = user_event("user.created", id, version, first);
        let d = &mut e["data"];
        d["email_addresses"] =
            json!([{"id": "idn_1", "object": "email_address", "email_address": email}]);
        d["primary_email_address_id"] = "idn_1".into();
        e
    };

    // A trigger that refuses a user named Refused, quoting their address (as a
    // trigger's message may): their update is dead-lettered with it in the reason.
    app.db
        .execute(
            "CREATE FUNCTION refuse_user() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.first_name = 'Refused' THEN RAISE EXCEPTION 'refused %', NEW.email; END IF; \
               RETURN NEW; END $$; \
             CREATE TRIGGER refuse_user BEFORE INSERT OR UPDATE ON users \
               FOR EACH ROW EXECUTE FUNCTION refuse_user();",
        )
        .await;
    let mut ann_created = person(&ann, &ann_email, T0, &ann_names[0]);
    ann_created["data"]["last_name"] = ann_names[1].clone().into();
    ann_created["data"]["phone_numbers"] =
        json!([{"id": "idn_p", "object": "phone_number", "phone_number": ann_phone}]);
    for e in [ann_created, person(&bob, &bob_email, T0, "Bob")] {
        let svix = app.post(&e).await;
        assert_eq!(app.wait_recorded(&svix).await, "applied");
    }
    let ann_refused = app
        .post(&person(&ann, &ann_email, T0 + 1_000, "Refused"))
        .await;
    let bob_refused = app
        .post(&person(&bob, &bob_email, T0 + 1_000, "Refused"))
        .await;
    let t = app.broker.topology.clone();
    let dead = t.dead_queue();
    app.broker
        .wait_count(&dead, 2, Duration::from_secs(20))
        .await;

    // Letters about others that name Ann, and one of Ann's own in a retry queue.
    let mut membership = event(
        "organizationMembership.created",
        &format!("orgmem_{u}"),
        T0 + 2_000,
    );
    membership["data"]["public_user_data"] = json!({
        "user_id": ann, "first_name": ann_names[0], "last_name": ann_names[1],
        "identifier": ann_email, "image_url": "https://img.example/ann",
    });
    membership["data"]["organization"] = json!({"id": format!("org_{u}"), "created_by": ann});
    let mut before = event(
        "organizationInvitation.created",
        &format!("orginv_b{u}"),
        T0 + 2_000,
    );
    before["data"]["email_address"] = ann_email.clone().into();
    let mut after = event(
        "organizationInvitation.created",
        &format!("orginv_a{u}"),
        T0 + 20_000,
    );
    after["data"]["email_address"] = ann_email.clone().into();
    let letters = [
        (
            "msg_mem",
            "organizationMembership.created",
            serde_json::to_vec(&membership).expect("json"),
        ),
        (
            "msg_before",
            "organizationInvitation.created",
            serde_json::to_vec(&before).expect("json"),
        ),
        (
            "msg_after",
            "organizationInvitation.created",
            serde_json::to_vec(&after).expect("json"),
        ),
        (
            "msg_garbage",
            "user.updated",
            format!("{{not json, {ann_email}").into_bytes(),
        ),
    ];
    for (id, ty, body) in &letters {
        put(&app, &dead, &format!("{id}{u}"), ty, "boom", body).await;
    }
    let parked = t.retry_queue(PARKED);
    let ann_retry =
        serde_json::to_vec(&person(&ann, &ann_email, T0 + 1_500, &ann_names[0])).expect("json");
    put(
        &app,
        &parked,
        &format!("msg_retry{u}"),
        "user.updated",
        "boom",
        &ann_retry,
    )
    .await;

    // Before Ann is deleted, the page shows her data: the masking below is erasure's.
    let base = admin_url(&app, "");
    let (status, shown) = api_get(&base, &format!("/admin/api/dead-letters/{ann_refused}")).await;
    assert_eq!(status, 200, "{shown}");
    assert!(shown.contains(&ann_email), "{shown}");

    let deleted = app.post(&event("user.deleted", &ann, T0 + 10_000)).await;
    assert_eq!(app.wait_recorded(&deleted).await, "applied");

    // The page: no letter shows Ann's data, but the invitation made after her
    // deletion; Bob's letter is whole.
    let detail = |id: String| {
        let base = base.clone();
        async move {
            let (status, body) = api_get(&base, &format!("/admin/api/dead-letters/{id}")).await;
            assert_eq!(status, 200, "{id}: {body}");
            let v: Value = serde_json::from_str(&body).expect("JSON detail");
            (body.to_lowercase(), v)
        }
    };
    for id in [
        ann_refused.clone(),
        format!("msg_mem{u}"),
        format!("msg_before{u}"),
        format!("msg_garbage{u}"),
    ] {
        let (text, v) = detail(id.clone()).await;
        for value in &personal {
            assert!(!text.contains(value), "{id} shows {value}: {text}");
        }
        assert!(
            v["masked"].is_string(),
            "{id} says why it is masked: {text}"
        );
    }
    let (text, v) = detail(format!("msg_mem{u}")).await;
    let payload: Value =
        serde_json::from_str(v["payload"].as_str().expect("payload")).expect("JSON payload");
    assert_eq!(
        payload["data"]["public_user_data"],
        json!({"user_id": ann}),
        "{text}"
    );
    let (text, v) = detail(format!("msg_after{u}")).await;
    assert!(text.contains(&ann_email), "made after the deletion: {text}");
    assert!(v["masked"].is_null(), "{text}");
    let (text, v) = detail(bob_refused.clone()).await;
    assert!(text.contains(&bob_email), "{text}");
    assert!(v["masked"].is_null(), "{text}");
    let (_, list) = api_get(&base, "/admin/api/dead-letters").await;
    let list: Value = serde_json::from_str(&list).expect("JSON list");
    let reasons: Vec<(String, String)> = list["matching"]
        .as_array()
        .expect("letters")
        .iter()
        .map(|l| {
            (
                l["svix_id"].as_str().unwrap_or_default().to_owned(),
                l["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let reason_of = |id: &str| {
        reasons
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{id} listed: {reasons:?}"))
    };
    assert!(!reason_of(&ann_refused).contains(&ann_email), "{reasons:?}");
    assert!(reason_of(&ann_refused).contains("[erased]"), "{reasons:?}");
    assert!(reason_of(&bob_refused).contains(&bob_email), "{reasons:?}");
    // The HTML page too.
    let (session, _) = sign_in(&app, TOKEN).await.expect("signed in");
    let html = reqwest::Client::new()
        .get(format!("{base}/admin/dead-letters/show?id=msg_mem{u}"))
        .header("cookie", format!("clerk_sync_admin={session}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains(r#"id="masked""#), "{html}");
    assert!(!html.contains(&ann_names[0]), "{html}");

    // Reading changed nothing; a dry run neither.
    assert_eq!(app.broker.count(&dead).await, 6);
    assert_eq!(app.broker.count(&parked).await, 1);
    let dry = purge(&app, &["--dry-run"]).await;
    assert!(dry.contains("would drop 3 and rewrite 2"), "{dry}");
    assert_eq!(app.broker.count(&dead).await, 6);
    assert_eq!(app.broker.count(&parked).await, 1);

    let done = purge(&app, &[]).await;
    assert!(done.contains("dropped 3 and rewrote 2"), "{done}");
    assert!(
        done.contains(&format!("{dead}: read 6, dropped 2, rewrote 2")),
        "{done}"
    );
    assert!(
        done.contains(&format!("{parked}: read 1, dropped 1, rewrote 0")),
        "{done}"
    );
    assert_eq!(app.broker.count(&parked).await, 0);
    let left = app.broker.peek(&dead).await;
    let mut ids: Vec<String> = left.iter().filter_map(|m| m.message_id()).collect();
    ids.sort();
    let mut expected = vec![
        bob_refused.clone(),
        format!("msg_after{u}"),
        format!("msg_before{u}"),
        format!("msg_mem{u}"),
    ];
    expected.sort();
    assert_eq!(ids, expected);
    for m in &left {
        let id = m.message_id().unwrap_or_default();
        let text = format!(
            "{} {:?}",
            String::from_utf8_lossy(&m.body),
            m.properties.headers()
        )
        .to_lowercase();
        if id == format!("msg_after{u}") {
            assert!(text.contains(&ann_email), "{text}");
            continue;
        }
        for value in &personal {
            assert!(
                !text.contains(value),
                "{id} keeps {value} in the broker: {text}"
            );
        }
        if id == bob_refused {
            assert!(text.contains(&bob_email), "{text}");
        }
    }
    // A second purge finds nothing more.
    let again = purge(&app, &[]).await;
    assert!(again.contains("dropped 0 and rewrote 0"), "{again}");

    // What was rewritten still applies: the membership, replayed.
    let out = tokio::process::Command::new(binary("worker"))
        .args(["dlq", "replay", "--id", &format!("msg_mem{u}")])
        .env("AMQP_PREFIX", &app.broker.prefix)
        .output()
        .await
        .expect("dlq replay runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(app.wait_recorded(&format!("msg_mem{u}")).await, "applied");
    assert_eq!(app.db.count("organization_memberships").await, 1);
}
