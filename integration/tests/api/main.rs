//! The receiver's HTTP contract (DESIGN.md §2), against the real RabbitMQ. No worker
//! runs, so every test can check exactly what reached the queue.

use integration::{event, signed_headers, unique, Options, TestApp, SECRET};
use serde_json::{json, Value};
use shared::headers::get_str;

const SECOND_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn body_of(e: &Value) -> Vec<u8> {
    serde_json::to_vec(e).expect("json")
}

async fn json_body(res: reqwest::Response) -> Value {
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "JSON body, got {ct:?}");
    res.json().await.expect("JSON body")
}

/// Only these svix-ids reached the events queue.
async fn assert_published(app: &TestApp, ids: &[&str]) {
    let taken = app
        .broker
        .wait_count(
            &app.broker.topology.events_queue(),
            ids.len(),
            std::time::Duration::from_secs(5),
        )
        .await;
    let mut got: Vec<String> = taken
        .iter()
        .map(|t| t.message_id().unwrap_or_default())
        .collect();
    got.sort();
    let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "exactly the accepted events are queued");
}

#[tokio::test]
async fn a_verified_event_is_published_with_its_metadata_then_acknowledged() {
    let app = TestApp::receiver_only(Options::default()).await;
    let e = event("user.created", "user_api1", 1_716_883_200_000);
    let body = body_of(&e);
    let id = format!("msg_{}", unique());
    let res = app
        .post_raw(body.clone(), &signed_headers(SECRET, &id, now(), &body))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        json_body(res).await,
        json!({"status": "accepted", "id": id})
    );

    let taken = app.broker.drain(&app.broker.topology.events_queue()).await;
    assert_eq!(taken.len(), 1);
    let m = &taken[0];
    assert_eq!(m.body, body, "the body is the received bytes, unchanged");
    assert_eq!(m.routing_key, "user.created");
    let p = &m.properties;
    assert_eq!(
        p.message_id().as_ref().map(|s| s.as_str()),
        Some(id.as_str())
    );
    assert_eq!(*p.delivery_mode(), Some(2), "persistent");
    assert_eq!(
        p.content_type().as_ref().map(|s| s.as_str()),
        Some("application/json")
    );
    assert!(p.timestamp().is_some());
    let h = p.headers().as_ref();
    assert_eq!(get_str(h, "svix-id").as_deref(), Some(id.as_str()));
    assert!(get_str(h, "svix-timestamp").is_some());
    assert!(get_str(h, "x-received-at").is_some());
}

#[tokio::test]
async fn unbranded_webhook_headers_verify_too() {
    let app = TestApp::receiver_only(Options::default()).await;
    let body = body_of(&event("user.updated", "user_x", 1_716_883_200_000));
    let id = format!("msg_{}", unique());
    let headers: Vec<(String, String)> = signed_headers(SECRET, &id, now(), &body)
        .into_iter()
        .map(|(k, v)| (k.replace("svix-", "webhook-"), v))
        .collect();
    assert_eq!(app.post_raw(body, &headers).await.status(), 200);
    assert_published(&app, &[&id]).await;
}

#[tokio::test]
async fn rejected_requests_get_their_status_and_publish_nothing() {
    let app = TestApp::receiver_only(Options {
        max_body_bytes: 64 * 1024,
        ..Options::default()
    })
    .await;
    let body = body_of(&event("user.created", "user_api2", 1_716_883_200_000));
    let id = || format!("msg_{}", unique());

    // Wrong secret.
    let res = app
        .post_raw(
            body.clone(),
            &signed_headers(SECOND_SECRET, &id(), now(), &body),
        )
        .await;
    assert_eq!(res.status(), 401);
    assert!(json_body(res).await["error"].is_string());

    // Timestamp 6 minutes old, and 6 minutes ahead.
    for skew in [-360, 360] {
        let res = app
            .post_raw(
                body.clone(),
                &signed_headers(SECRET, &id(), now() + skew, &body),
            )
            .await;
        assert_eq!(res.status(), 401, "timestamp skewed by {skew}s");
        json_body(res).await;
    }

    // Each missing header.
    for missing in ["svix-id", "svix-timestamp", "svix-signature"] {
        let headers: Vec<(String, String)> = signed_headers(SECRET, &id(), now(), &body)
            .into_iter()
            .filter(|(k, _)| k != missing)
            .collect();
        let res = app.post_raw(body.clone(), &headers).await;
        assert_eq!(res.status(), 400, "without {missing}");
        let err = json_body(res).await;
        assert!(
            err["error"].as_str().unwrap_or_default().contains(missing),
            "the error names {missing}: {err}"
        );
    }

    // Malformed timestamp.
    let mut headers = signed_headers(SECRET, &id(), now(), &body);
    headers[1].1 = "not-a-number".into();
    assert_eq!(app.post_raw(body.clone(), &headers).await.status(), 400);

    // A body changed after signing.
    let headers = signed_headers(SECRET, &id(), now(), &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(app.post_raw(tampered, &headers).await.status(), 401);

    // Verified, but not JSON; verified JSON that is not an event envelope.
    for bad in [
        &b"hello, not json"[..],
        br#"[1,2,3]"#,
        br#"{"type":"user.created"}"#,
        br#"{"type":42,"data":{}}"#,
        br#"{"type":"user.created","data":"x"}"#,
    ] {
        let res = app
            .post_raw(bad.to_vec(), &signed_headers(SECRET, &id(), now(), bad))
            .await;
        assert_eq!(res.status(), 400, "body {:?}", String::from_utf8_lossy(bad));
        json_body(res).await;
    }

    // Larger than MAX_BODY_BYTES, correctly signed.
    let mut big = event("user.created", "user_big", 1_716_883_200_000);
    big["data"]["public_metadata"] = json!({ "blob": "x".repeat(70 * 1024) });
    let big = body_of(&big);
    let res = app
        .post_raw(big.clone(), &signed_headers(SECRET, &id(), now(), &big))
        .await;
    assert_eq!(res.status(), 413);
    assert_eq!(json_body(res).await["error"], "body too large");

    // One good event, so an empty queue cannot pass by accident.
    let good = id();
    assert_eq!(
        app.post_raw(body.clone(), &signed_headers(SECRET, &good, now(), &body))
            .await
            .status(),
        200
    );
    assert_published(&app, &[&good]).await;
}

#[tokio::test]
async fn any_configured_secret_verifies_and_any_listed_signature_may_match() {
    let app = TestApp::receiver_only(Options {
        secrets: format!("{SECRET}, {SECOND_SECRET}"),
        ..Options::default()
    })
    .await;
    let body = body_of(&event("organization.created", "org_1", 1_716_883_200_000));

    let with_second = format!("msg_{}", unique());
    let res = app
        .post_raw(
            body.clone(),
            &signed_headers(SECOND_SECRET, &with_second, now(), &body),
        )
        .await;
    assert_eq!(res.status(), 200, "second secret verifies");

    let both = format!("msg_{}", unique());
    let ts = now();
    let mut headers = signed_headers(SECRET, &both, ts, &body);
    let right = headers[2].1.clone();
    headers[2].1 = format!("v1,d3Jvbmcgc2lnbmF0dXJlIGZvciB0ZXN0cw== {right}");
    assert_eq!(app.post_raw(body.clone(), &headers).await.status(), 200);

    let only_wrong = format!("msg_{}", unique());
    let mut headers = signed_headers(SECRET, &only_wrong, ts, &body);
    headers[2].1 = "v1,d3Jvbmcgc2lnbmF0dXJlIGZvciB0ZXN0cw==".into();
    assert_eq!(app.post_raw(body.clone(), &headers).await.status(), 401);

    assert_published(&app, &[&with_second, &both]).await;
}

#[tokio::test]
async fn unhandled_types_are_accepted_and_published() {
    let app = TestApp::receiver_only(Options::default()).await;
    let id = app
        .post(&event("session.created", "sess_1", 1_716_883_200_000))
        .await;
    assert_published(&app, &[&id]).await;
}

#[tokio::test]
async fn an_unreachable_broker_gets_503_never_2xx() {
    let app = TestApp::receiver_only(Options {
        receiver_amqp_url: Some("amqp://guest:guest@127.0.0.1:1/%2f".into()),
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        let body = body_of(&event("user.created", "user_503", 1_716_883_200_000));
        let res = app
            .post_raw(
                body.clone(),
                &signed_headers(SECRET, &format!("msg_{}", unique()), now(), &body),
            )
            .await;
        assert_eq!(res.status(), 503);
        assert!(
            res.headers().get("retry-after").is_some(),
            "Retry-After set"
        );
        // The cause ("not connected to the broker", the broker's text) stays in the
        // log: the client only learns that it may retry.
        assert_eq!(
            json_body(res).await,
            json!({"error": "event could not be queued, retry later"})
        );
    }
    let ready = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let healthy = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(healthy.status(), 200);
}

#[tokio::test]
async fn framework_errors_are_json_and_probes_answer() {
    let app = TestApp::receiver_only(Options::default()).await;
    let res = app.http.get(app.url("/nowhere")).send().await.expect("404");
    assert_eq!(res.status(), 404);
    assert_eq!(json_body(res).await["error"], "not found");
    let res = app.http.get(app.webhook_url()).send().await.expect("405");
    assert_eq!(res.status(), 405);
    assert_eq!(json_body(res).await["error"], "method not allowed");
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("h")
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("r")
            .status(),
        200
    );
}

#[tokio::test]
async fn metrics_count_requests_by_outcome() {
    let app = TestApp::receiver_only(Options {
        max_body_bytes: 64 * 1024,
        ..Options::default()
    })
    .await;
    app.post(&event("user.created", "user_m", 1_716_883_200_000))
        .await;
    let big = vec![b'x'; 65 * 1024];
    let status = app
        .post_raw(big.clone(), &signed_headers(SECRET, "msg_big", now(), &big))
        .await
        .status();
    assert_eq!(status, 413);
    let body = b"{}".to_vec();
    let status = app
        .post_raw(
            body.clone(),
            &signed_headers(SECOND_SECRET, "msg_m2", now(), &body),
        )
        .await
        .status();
    assert_eq!(status, 401);
    let res = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; version=0.0.4")
    );
    let text = res.text().await.expect("text");
    let m = |outcome| {
        integration::metric(
            &text,
            "clerk_sync_receiver_requests_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(m("accepted"), 1.0);
    assert_eq!(m("unauthorized"), 1.0);
    assert_eq!(m("too_large"), 1.0);
    assert_eq!(
        integration::metric(&text, "clerk_sync_receiver_broker_connected", &[]),
        1.0
    );
    assert_eq!(
        integration::metric(
            &text,
            "clerk_sync_receiver_publish_confirm_seconds_count",
            &[]
        ),
        1.0
    );
}

#[tokio::test]
async fn encoded_bodies_get_415_and_publish_nothing() {
    let app = TestApp::receiver_only(Options::default()).await;
    let body = body_of(&event("user.created", "user_enc", 1_716_883_200_000));
    for encoding in ["gzip", "deflate", "br", "identity, gzip", "x-custom"] {
        let id = format!("msg_{}", unique());
        let mut headers = signed_headers(SECRET, &id, now(), &body);
        headers.push(("content-encoding".into(), encoding.into()));
        let res = app.post_raw(body.clone(), &headers).await;
        assert_eq!(res.status(), 415, "Content-Encoding: {encoding}");
        assert!(json_body(res).await["error"].is_string());
    }
    // `identity` is the body as sent: accepted.
    let id = format!("msg_{}", unique());
    let mut headers = signed_headers(SECRET, &id, now(), &body);
    headers.push(("content-encoding".into(), "identity".into()));
    assert_eq!(app.post_raw(body.clone(), &headers).await.status(), 200);
    assert_published(&app, &[&id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_event_never_gets_a_200_even_when_confirms_coalesce() {
    use lapin::{options::QueueBindOptions, types::FieldTable};
    let app = TestApp::receiver_only(Options::default()).await;
    // Only user events are routable now: organization events come back unroutable,
    // interleaved with routable ones, so the broker's acks cover both kinds at once.
    let topology = &app.broker.topology;
    let channel = app.broker.channel().await;
    channel
        .queue_bind(
            topology.events_queue().as_str().into(),
            topology.exchange().as_str().into(),
            "user.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind user.#");
    channel
        .queue_unbind(
            topology.events_queue().as_str().into(),
            topology.exchange().as_str().into(),
            "#".into(),
            FieldTable::default(),
        )
        .await
        .expect("unbind #");

    let sends = (0..600).map(|n| {
        let event_type = if n % 2 == 0 {
            "user.created"
        } else {
            "organization.created"
        };
        let e = event(event_type, &format!("obj_{n}"), 1_716_883_200_000);
        let id = format!("msg_{}", unique());
        let app = &app;
        async move {
            let status = app.post_as(&id, &e).await;
            (id, event_type, status)
        }
    });
    let results = futures_util::future::join_all(sends).await;
    let accepted: Vec<&(String, &str, u16)> = results.iter().filter(|r| r.2 == 200).collect();
    let queued: std::collections::HashSet<String> = app
        .broker
        .wait_count(
            &topology.events_queue(),
            accepted.len(),
            std::time::Duration::from_secs(10),
        )
        .await
        .iter()
        .filter_map(|m| m.message_id())
        .collect();
    for (id, event_type, status) in &results {
        if *event_type == "organization.created" {
            assert_eq!(
                *status, 503,
                "{id}: an unroutable event was answered {status}"
            );
        } else {
            // Each return is told to its own event: no routable event of a batch
            // is refused for another's return.
            assert_eq!(*status, 200, "{id}: a routable event was answered {status}");
        }
        if *status == 200 {
            assert!(
                queued.contains(id),
                "{id} ({event_type}) got a 200 but is not queued"
            );
        }
    }
    assert_eq!(accepted.len(), 300, "every routable event is accepted");
}

/// What the svix crate's own verifier says of a request: `Ok` or its error.
fn svix_verdict(headers: &[(String, Vec<u8>)], body: &[u8]) -> Result<(), String> {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in headers {
        map.append(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            reqwest::header::HeaderValue::from_bytes(v).expect("value"),
        );
    }
    svix::webhooks::Webhook::new(SECRET)
        .expect("secret")
        .verify(body, &map)
        .map_err(|e| format!("{e:?}"))
}

/// `svix-*` headers with the given id and timestamp text, over `body` signed with
/// the svix crate at `signed_ts` (what svix itself parses the timestamp as).
fn headers_with(id: &[u8], ts: &str, signed_ts: i64, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let id_text = String::from_utf8_lossy(id).into_owned();
    let sig = svix::webhooks::Webhook::new(SECRET)
        .expect("secret")
        .sign(&id_text, signed_ts, body)
        .expect("svix signs it");
    vec![
        ("svix-id".into(), id.to_vec()),
        ("svix-timestamp".into(), ts.as_bytes().to_vec()),
        ("svix-signature".into(), sig.into_bytes()),
    ]
}

async fn post_bytes(
    app: &TestApp,
    body: &[u8],
    headers: &[(String, Vec<u8>)],
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.webhook_url())
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(
            k.as_str(),
            reqwest::header::HeaderValue::from_bytes(v).expect("sendable header value"),
        );
    }
    req.send().await.expect("request reaches the receiver")
}

/// DESIGN §2: `svix-id` is 1–255 visible ASCII characters and `svix-timestamp` ASCII
/// digits only, stricter than Svix's own libraries (which accept several of these
/// shapes, as their verifier shows here). Every other shape, correctly signed with
/// the svix crate, is a 400 whose reason names the header; the boundaries pass.
#[tokio::test]
async fn header_forms_are_stricter_than_svix_and_the_boundaries_pass() {
    let app = TestApp::receiver_only(Options::default()).await;
    let body = body_of(&event("user.created", "user_forms", 1_716_883_200_000));
    let good_id = || format!("msg_{}", unique()).into_bytes();
    let n = now();
    let cases: Vec<(&str, Vec<u8>, String, i64, &str)> = vec![
        ("empty id", Vec::new(), n.to_string(), n, "svix-id"),
        ("256-char id", vec![b'a'; 256], n.to_string(), n, "svix-id"),
        (
            "id with a space",
            b"msg with space".to_vec(),
            n.to_string(),
            n,
            "svix-id",
        ),
        (
            "id with a byte above 0x7e",
            "msg_é".as_bytes().to_vec(),
            n.to_string(),
            n,
            "svix-id",
        ),
        (
            "timestamp with a plus sign",
            good_id(),
            format!("+{n}"),
            n,
            "svix-timestamp",
        ),
        (
            "timestamp with a decimal point",
            good_id(),
            format!("{n}.0"),
            n,
            "svix-timestamp",
        ),
        (
            "timestamp with an exponent",
            good_id(),
            "1.7e9".into(),
            1_700_000_000,
            "svix-timestamp",
        ),
        (
            "negative timestamp",
            good_id(),
            "-5".into(),
            -5,
            "svix-timestamp",
        ),
    ];
    let mut svix_accepts = Vec::new();
    for (what, id, ts, signed_ts, header) in &cases {
        let headers = headers_with(id, ts, *signed_ts, &body);
        if svix_verdict(&headers, &body).is_ok() {
            svix_accepts.push(*what);
        }
        let res = post_bytes(&app, &body, &headers).await;
        assert_eq!(res.status(), 400, "{what}");
        let err = json_body(res).await;
        let reason = err["error"].as_str().unwrap_or_default();
        assert!(
            reason.contains(header),
            "{what}: the reason names {header}: {err}"
        );
    }
    // Where we are stricter than Svix: its verifier accepts these.
    assert_eq!(
        svix_accepts,
        [
            "empty id",
            "256-char id",
            "id with a space",
            "timestamp with a plus sign"
        ]
    );

    // A space before the value is HTTP's optional whitespace (RFC 9110 §5.5), not
    // part of the value: the receiver is handed the plain integer, and accepts.
    // (`Secrets::verify` refuses a timestamp that still holds a space: see
    // `signature::tests::header_forms_are_stricter_than_svix`.)
    let spaced = good_id();
    let headers = headers_with(&spaced, &format!(" {n}"), n, &body);
    assert_eq!(post_bytes(&app, &body, &headers).await.status(), 200);

    // The boundaries: 1 and 255 visible ASCII characters, every one of them used.
    let visible: Vec<u8> = (0x21u8..=0x7e).collect();
    let long: Vec<u8> = visible.iter().copied().cycle().take(255).collect();
    let mut accepted = Vec::new();
    for id in [b"~".to_vec(), long] {
        let id_text = String::from_utf8(id.clone()).expect("ASCII");
        let headers = headers_with(&id, &n.to_string(), n, &body);
        assert_eq!(
            svix_verdict(&headers, &body),
            Ok(()),
            "svix accepts {id_text}"
        );
        let res = post_bytes(&app, &body, &headers).await;
        assert_eq!(res.status(), 200, "id of {} characters", id.len());
        assert_eq!(json_body(res).await["id"], id_text.as_str());
        accepted.push(id_text);
    }
    accepted.push(String::from_utf8(spaced).expect("ASCII"));
    let accepted: Vec<&str> = accepted.iter().map(String::as_str).collect();
    assert_published(&app, &accepted).await;
}
