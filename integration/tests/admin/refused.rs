//! The log of refused requests (DESIGN.md §3, `{prefix}.rejected`): every 400, 401,
//! 413 and 415 of the webhook endpoint leaves a small record, never the body or a
//! signature, counted by reason, listed on the operator page; the answers are the
//! same, with the broker there or not.

use std::time::Duration;

use integration::{
    metric, signed_headers, unique, wait_for, webhooks::user_event, Options, TestApp, SECRET,
};
use serde_json::Value;

use crate::{admin_url, api_get, sign_in, TOKEN};

const T0: i64 = 1_716_883_200_000;
const OTHER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_logged_counted_and_listed_without_bodies_or_signatures() {
    let app = TestApp::spawn(Options {
        admin_token: Some(TOKEN.to_owned()),
        max_body_bytes: 4096,
        ..Options::default()
    })
    .await;
    let u = unique();
    let secret_mail = format!("body.{u}@example.org");
    let mut event = user_event("user.created", &format!("user_{u}"), T0, "Refusee");
    event["data"]["email_addresses"] =
        serde_json::json!([{"id": "idn_1", "email_address": secret_mail}]);
    let body = serde_json::to_vec(&event).expect("json");
    let now = chrono::Utc::now().timestamp();
    let post = |headers: Vec<(String, String)>, body: Vec<u8>| {
        let mut headers = headers;
        headers.push(("user-agent".into(), format!("refusal-test/{u}")));
        headers.push(("x-forwarded-for".into(), "203.0.113.7".into()));
        let app = &app;
        async move {
            let resp = app.post_raw(body, &headers).await;
            let status = resp.status().as_u16();
            let text = resp.text().await.expect("body");
            (status, text)
        }
    };
    let forged = signed_headers(OTHER_SECRET, &format!("msg_forged{u}"), now, &body);
    let forged_signature = forged[2].1.clone();
    let stale = signed_headers(SECRET, &format!("msg_stale{u}"), now - 3_600, &body);
    let mut encoded = signed_headers(SECRET, &format!("msg_gzip{u}"), now, &body);
    encoded.push(("content-encoding".into(), "gzip".into()));
    let answers = [
        post(forged, body.clone()).await,
        post(stale, body.clone()).await,
        post(
            vec![("svix-id".into(), format!("msg_bare{u}"))],
            body.clone(),
        )
        .await,
        post(
            signed_headers(SECRET, &format!("msg_big{u}"), now, &[b' '; 8192]),
            vec![b' '; 8192],
        )
        .await,
        post(encoded, body.clone()).await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [401, 401, 400, 413, 415], "{answers:?}");
    for (_, text) in &answers {
        let v: Value = serde_json::from_str(text).expect("a JSON error body");
        assert!(v["error"].is_string(), "{text}");
    }
    // A good request is not logged.
    let good = app.post(&event).await;
    assert_eq!(app.wait_recorded(&good).await, "applied");

    let queue = app.broker.topology.rejected_queue();
    let records = app
        .broker
        .wait_count(&queue, 5, Duration::from_secs(20))
        .await;
    assert_eq!(records.len(), 5, "one record per refusal");
    let text: String = records
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    for secret in [
        secret_mail.as_str(),
        forged_signature.as_str(),
        "Refusee",
        "v1,",
    ] {
        assert!(!text.contains(secret), "{secret} is in the log: {text}");
    }
    let records: Vec<Value> = records
        .iter()
        .map(|m| serde_json::from_slice(&m.body).expect("a JSON record"))
        .collect();
    let reasons: Vec<&str> = records
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        reasons,
        [
            "bad_signature",
            "stale_timestamp",
            "bad_headers",
            "too_large",
            "unsupported_encoding"
        ]
    );
    let first = &records[0];
    assert_eq!(first["status"], 401);
    assert_eq!(first["svix_id"], format!("msg_forged{u}"));
    assert_eq!(first["source"], "127.0.0.1");
    assert_eq!(first["forwarded_for"], "203.0.113.7");
    assert_eq!(first["user_agent"], format!("refusal-test/{u}"));
    assert_eq!(first["body_bytes"], body.len());
    let names: Vec<&str> = first["header_names"]
        .as_array()
        .expect("header names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for h in ["svix-id", "svix-signature", "svix-timestamp", "user-agent"] {
        assert!(names.contains(&h), "{names:?}");
    }
    assert_eq!(records[3]["body_bytes"], 8192);

    // Counted by reason.
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for reason in [
        "bad_signature",
        "stale_timestamp",
        "bad_headers",
        "too_large",
        "unsupported_encoding",
    ] {
        assert_eq!(
            metric(
                &metrics,
                "clerk_sync_receiver_rejected_total",
                &[("reason", reason)]
            ),
            1.0,
            "{reason}: {metrics}"
        );
    }

    // Listed on the operator page, newest first, with filters; reading removes none.
    let base = admin_url(&app, "");
    let (status, list) = api_get(&base, "/admin/api/refused?status=401").await;
    assert_eq!(status, 200, "{list}");
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list["matched"], 2, "{list}");
    assert_eq!(
        list["matching"][0]["reason"], "stale_timestamp",
        "newest first: {list}"
    );
    let (_, list) = api_get(&base, "/admin/api/refused?reason=too_large").await;
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list["matched"], 1, "{list}");
    let (_, list) = api_get(&base, "/admin/api/refused?source=203.0.113").await;
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list["matched"], 5, "{list}");
    let (session, _) = sign_in(&app, TOKEN).await.expect("signed in");
    let html = reqwest::Client::new()
        .get(format!("{base}/admin/refused?reason=bad_signature"))
        .header("cookie", format!("clerk_sync_admin={session}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains(&format!("msg_forged{u}")), "{html}");
    assert!(!html.contains(&format!("msg_stale{u}")), "filtered: {html}");
    assert_eq!(app.broker.count(&queue).await, 5, "reading removes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_broker_refusals_are_answered_the_same() {
    let app = TestApp::receiver_only(Options {
        receiver_amqp_url: Some("amqp://guest:guest@127.0.0.1:1/%2f".into()),
        ..Options::default()
    })
    .await;
    let body = br#"{"type":"user.created","data":{"id":"user_1"}}"#.to_vec();
    let headers = signed_headers(
        OTHER_SECRET,
        "msg_nobroker",
        chrono::Utc::now().timestamp(),
        &body,
    );
    for _ in 0..50 {
        let resp = app.post_raw(body.clone(), &headers).await;
        assert_eq!(resp.status().as_u16(), 401, "a refusal is not a 503");
    }
    wait_for(
        "the refusals counted, and their records dropped while the broker is away",
        Duration::from_secs(20),
        || {
            let req = app.http.get(app.url("/metrics")).send();
            async move {
                let text = req.await.ok()?.text().await.ok()?;
                let counted = metric(
                    &text,
                    "clerk_sync_receiver_rejected_total",
                    &[("reason", "bad_signature")],
                );
                let dropped = metric(&text, "clerk_sync_receiver_rejected_dropped_total", &[]);
                (counted == 50.0 && dropped == 50.0).then_some(())
            }
        },
    )
    .await;
}
