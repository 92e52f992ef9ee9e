//! Safe by default: what is stored, what is logged, and what the receiver refuses
//! before it reads a body.

use std::{path::PathBuf, process::Stdio, time::Duration};

use integration::{binary, event, free_port, unique, wait_for, Options, TestApp, AMQP_URL, SECRET};
use lapin::types::FieldTable;
use serde_json::{json, Value};

use crate::{
    binaries::{spawn_receiver_with, wait_ready},
    T0,
};

fn stored(options: Options) -> Options {
    Options {
        store_payloads: true,
        ..options
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clerk-sync-{name}-{}", unique()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

async fn payload(app: &TestApp, svix_id: &str) -> Option<Value> {
    app.db.event(svix_id).await.expect("recorded").payload
}

#[tokio::test]
async fn payloads_are_not_stored_by_default() {
    let app = TestApp::spawn(Options::default()).await;
    let user = format!("user_{}", unique());
    let ids = [
        app.post(&event("user.created", &user, T0)).await,
        app.post(&event(
            "organization.created",
            &format!("org_{}", unique()),
            T0,
        ))
        .await,
    ];
    for id in &ids {
        assert_eq!(app.wait_recorded(id).await, "applied");
        assert_eq!(payload(&app, id).await, None, "{id} stored its payload");
    }
    // The synced row itself is complete.
    let u = app.db.user(&user).await.expect("user row");
    assert_eq!(u.email.as_deref(), Some("john.doe@example.org"));
}

#[tokio::test]
async fn stored_payloads_lose_event_attributes_and_codes_are_never_stored() {
    let app = TestApp::spawn(stored(Options::default())).await;
    let user = format!("user_{}", unique());
    let created = app.post(&event("user.created", &user, T0)).await;
    assert_eq!(app.wait_recorded(&created).await, "applied");
    let p = payload(&app, &created).await.expect("stored when asked");
    assert_eq!(p["data"]["id"], user.as_str());
    assert!(p.get("event_attributes").is_none(), "{p}");
    assert!(!p.to_string().contains("192.0.2.10"), "client IP kept: {p}");

    let attributes = json!({"http_request": {"client_ip": "192.0.2.99", "user_agent": "UA"}});
    let email = json!({
        "type": "email.created", "object": "event", "timestamp": T0,
        "data": {"object": "email", "id": format!("ema_{}", unique()), "user_id": user,
                 "to_email_address": "john.doe@example.org", "slug": "verification_code",
                 "data": {"otp_code": "424242"}, "body": "Your code is 424242"},
        "event_attributes": attributes,
    });
    let sms = json!({
        "type": "sms.created", "object": "event", "timestamp": T0,
        "data": {"object": "sms_message", "id": format!("sms_{}", unique()),
                 "to_phone_number": "+15555550100", "message": "Your code is 424242"},
        "event_attributes": attributes,
    });
    let mut session = event("session.created", &format!("sess_{}", unique()), T0);
    session["data"]["user_id"] = user.clone().into();
    for e in [email, sms, session] {
        let id = app.post(&e).await;
        assert_eq!(app.wait_recorded(&id).await, "ignored");
        assert_eq!(payload(&app, &id).await, None, "{} stored", e["type"]);
    }
}

/// Events of every family that can name `user`, each in a different place. The
/// addresses are the user's own: erasure also drops a payload that names a deleted
/// user's address, whoever else it is about.
fn events_naming(user: &str, at: i64) -> Vec<Value> {
    let email = format!("{}@example.org", user.to_lowercase());
    let mut org = event("organization.created", &format!("org_{}", unique()), at);
    org["data"]["created_by"] = user.into();
    let mut member = event(
        "organizationMembership.created",
        &format!("orgmem_{}", unique()),
        at,
    );
    member["data"]["public_user_data"]["user_id"] = user.into();
    member["data"]["public_user_data"]["identifier"] = email.clone().into();
    let invitation = json!({
        "type": "organizationInvitation.accepted", "object": "event", "timestamp": at,
        "data": {"object": "organization_invitation", "id": format!("orginv_{}", unique()),
                 "email_address": email, "organization_id": "org_x",
                 "role": "org:member", "status": "accepted",
                 "public_inviter_data": {"user_id": user, "first_name": "John"},
                 "created_at": at, "updated_at": at},
    });
    let subscription = json!({
        "type": "subscription.created", "object": "event", "timestamp": at,
        "data": {"object": "commerce_subscription", "id": format!("csub_{}", unique()),
                 "status": "active",
                 "payer": {"user_id": user, "email": email,
                           "first_name": "John", "last_name": "Doe"},
                 "created_at": at, "updated_at": at},
    });
    let update = event("user.updated", user, at);
    // The examples' own addresses become this user's.
    let work = format!("{}.work@example.org", user.to_lowercase());
    [org, member, invitation, subscription, update]
        .into_iter()
        .map(|e| {
            let text = e
                .to_string()
                .replace("john.doe@example.org", &email)
                .replace("john.work@example.org", &work);
            serde_json::from_str(&text).expect("still JSON")
        })
        .collect()
}

#[tokio::test]
async fn erasure_covers_every_stored_payload_that_names_the_user() {
    let app = TestApp::spawn(stored(Options::default())).await;
    let user = format!("user_{}", unique());
    let bystander = format!("user_{}", unique());
    let mut about_user = vec![app.post(&event("user.created", &user, T0)).await];
    for e in events_naming(&user, T0 + 100) {
        about_user.push(app.post(&e).await);
    }
    let mut about_bystander = Vec::new();
    for e in events_naming(&bystander, T0 + 100) {
        about_bystander.push(app.post(&e).await);
    }
    for id in about_user.iter().chain(&about_bystander) {
        app.wait_recorded(id).await;
        assert!(payload(&app, id).await.is_some(), "{id} stored while alive");
    }

    let deleted = app.post(&event("user.deleted", &user, T0 + 1000)).await;
    app.wait_recorded(&deleted).await;
    // Events that name the user and arrive after the deletion.
    for e in events_naming(&user, T0 + 2000) {
        about_user.push(app.post(&e).await);
    }
    for id in &about_user {
        app.wait_recorded(id).await;
        assert_eq!(
            payload(&app, id).await,
            None,
            "{id} keeps a payload that names the deleted user"
        );
    }
    for id in &about_bystander {
        assert!(
            payload(&app, id).await.is_some(),
            "{id} is not about the deleted user and keeps its payload"
        );
    }
    for e in app.db.events().await {
        let text = e.payload.map(|p| p.to_string()).unwrap_or_default();
        assert!(!text.contains(&user), "{} names {user}: {text}", e.svix_id);
    }
}

/// A raw deflate stream (zlib framing, as `Content-Encoding: deflate` sends it) of
/// about `compressed` bytes that inflates about 160 times: one fixed-Huffman block
/// of a zero byte, then back-references of 258 bytes at distance 1.
fn deflate_bomb(compressed: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        /// `len` bits of `value`, least significant first (header fields).
        fn value(&mut self, value: u32, len: u32) {
            for i in 0..len {
                self.bit((value >> i) & 1);
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.bit((code >> i) & 1);
            }
        }
        fn bit(&mut self, b: u32) {
            self.acc |= b << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.value(1, 1); // BFINAL
    bits.value(1, 2); // BTYPE = fixed Huffman
    bits.code(0x30, 8); // literal 0
    let matches = compressed * 8 / 13;
    for _ in 0..matches {
        bits.code(0b1100_0101, 8); // length symbol 285: 258 bytes
        bits.code(0, 5); // distance symbol 0: distance 1
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        bits.out.push(bits.acc as u8);
    }
    let inflated = 1 + matches as u64 * 258;
    let adler = ((inflated % 65521) << 16) | 1;
    bits.out.extend_from_slice(&(adler as u32).to_be_bytes());
    bits.out
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_bomb_gets_415_and_the_receivers_memory_stays_flat() {
    let app = TestApp::receiver_only(Options::default()).await;
    let dir = temp_dir("bomb");
    let port = free_port();
    let receiver = spawn_receiver_with(&app, port, &dir.join("receiver.log"), &[]);
    let http = reqwest::Client::new();
    wait_ready(&http, port).await;
    let url = format!("http://127.0.0.1:{port}/webhooks/clerk");

    let bomb = deflate_bomb(1 << 20);
    assert!(bomb.len() > 1_000_000);
    let before = rss_kib(receiver.id());
    for encoding in ["deflate", "gzip"] {
        for _ in 0..3 {
            // An attacker has no valid signature: what matters is what happens
            // before any authentication.
            let headers = [
                ("svix-id".to_owned(), format!("msg_{}", unique())),
                (
                    "svix-timestamp".to_owned(),
                    chrono::Utc::now().timestamp().to_string(),
                ),
                ("svix-signature".to_owned(), "v1,Zm9yZ2Vk".to_owned()),
            ];
            let mut req = http
                .post(&url)
                .header("content-type", "application/json")
                .header("content-encoding", encoding)
                .body(bomb.clone());
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let res = req.send().await.expect("answer");
            assert_eq!(res.status(), 415, "Content-Encoding: {encoding}");
            let body: Value = res.json().await.expect("JSON error");
            assert!(body["error"].is_string(), "{body}");
        }
    }
    let after = rss_kib(receiver.id());
    assert!(
        after < before + 8 * 1024,
        "RSS grew from {before} KiB to {after} KiB: the body was inflated"
    );
    assert_eq!(
        app.broker.count(&app.broker.topology.events_queue()).await,
        0,
        "nothing published"
    );
    drop(receiver);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_test_secret_is_a_loud_warning_at_every_start() {
    let app = TestApp::receiver_only(Options::default()).await;
    let dir = temp_dir("secret");
    let own = "whsec_dGhpcyBpcyBub3QgdGhlIHRlc3Qgc2VjcmV0IQ==";
    let http = reqwest::Client::new();
    for (name, secret, warned) in [("public", SECRET, true), ("own", own, false)] {
        let log = dir.join(format!("{name}.log"));
        let port = free_port();
        let receiver = spawn_receiver_with(
            &app,
            port,
            &log,
            &[("CLERK_WEBHOOK_SIGNING_SECRET", secret)],
        );
        wait_ready(&http, port).await;
        drop(receiver);
        let text = std::fs::read_to_string(&log).expect("log");
        let warning = text.lines().find(|l| l.contains("SECURITY WARNING"));
        assert_eq!(warning.is_some(), warned, "{name} secret:\n{text}");
        if let Some(line) = warning {
            let v: Value = serde_json::from_str(line).expect("JSON line");
            assert_eq!(v["level"], "WARN");
        }
        assert!(
            !text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "secret logged"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_publish_is_a_503_and_leaves_no_body_in_the_log() {
    let app = TestApp::receiver_only(Options::default()).await;
    let dir = temp_dir("returned");
    let log = dir.join("receiver.log");
    let port = free_port();
    // `warn` for lapin: its returned-message line is WARN, and must be filtered even so.
    let receiver = spawn_receiver_with(&app, port, &log, &[("RUST_LOG", "info,lapin=warn")]);
    let http = reqwest::Client::new();
    wait_ready(&http, port).await;
    // Nothing is bound to the exchange any more: the publish comes back unroutable.
    let topology = &app.broker.topology;
    app.broker
        .channel()
        .await
        .queue_unbind(
            topology.events_queue().as_str().into(),
            topology.exchange().as_str().into(),
            "#".into(),
            FieldTable::default(),
        )
        .await
        .expect("unbind");

    let marker = format!("Personal{}", unique());
    let mut e = event("user.created", &format!("user_{}", unique()), T0);
    e["data"]["first_name"] = marker.clone().into();
    let body = serde_json::to_vec(&e).expect("json");
    let id = format!("msg_{}", unique());
    let headers = integration::signed_headers(SECRET, &id, chrono::Utc::now().timestamp(), &body);
    let mut req = http
        .post(format!("http://127.0.0.1:{port}/webhooks/clerk"))
        .body(body.clone());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let res = req.send().await.expect("answer");
    assert_eq!(res.status(), 503, "an unroutable event is never accepted");
    // Let the log line about the return be written, then stop the receiver.
    wait_for("the refusal in the log", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move { text.contains("event not accepted").then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(receiver);
    let text = std::fs::read_to_string(&log).expect("log");
    // The body as text, and as lapin's Debug of its bytes.
    let as_bytes = format!("{:?}", &body[..24]);
    let as_bytes = as_bytes.trim_matches(|c| c == '[' || c == ']');
    assert!(!text.contains(&marker), "body logged:\n{text}");
    assert!(!text.contains(as_bytes), "body bytes logged:\n{text}");
    assert!(
        !text.contains("lapin::returned_messages"),
        "lapin's returned-message line is filtered:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_rust_log_stops_start_up_with_one_line_naming_it() {
    for (bin, args) in [("receiver", vec![]), ("worker", vec!["run"])] {
        let child = tokio::process::Command::new(binary(bin))
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
            .env("AMQP_URL", AMQP_URL)
            .env("AMQP_PREFIX", format!("test-{}", unique()))
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/never_used")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("WORKER_METRICS_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info,worker=loud")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("runs");
        // An accepted filter would start the service and never exit.
        let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{bin} started with an invalid RUST_LOG"))
            .expect("output");
        assert_eq!(out.status.code(), Some(2), "{bin}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{bin}: one line: {stderr}");
        assert!(lines[0].contains("RUST_LOG"), "{bin}: {stderr}");
    }
}
