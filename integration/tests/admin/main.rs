//! The operator page (DESIGN.md §6b): its sign-in, CSRF and escaping rules over plain
//! HTTP, and the night-time story (a poisoned event, its cause fixed, its replay) in
//! a real headless Chromium.
//!
//! Set `ADMIN_SCREENSHOTS=docs` to save the screenshots of docs/operator-page.md
//! while the browser test runs.

mod browser;
mod erased;
mod refused;

use std::time::Duration;

use integration::{binary, signal, wait_for, webhooks::user_event, Options, TestApp};
use worker::dlq;

use browser::Browser;

const TOKEN: &str = "test-admin-token-0123456789";
const XSS: &str = "<script>alert(1)</script>";
const T0: i64 = 1_716_883_200_000;

fn options() -> Options {
    Options {
        max_attempts: 1,
        admin_token: Some(TOKEN.to_owned()),
        ..Options::default()
    }
}

fn admin_url(app: &TestApp, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", app.workers[0].metrics_port())
}

/// A client that neither follows redirects nor keeps cookies: each test says what it
/// sends.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
}

/// The first `name="csrf" value="…"` of a page.
fn csrf_in(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().map(str::to_owned)
}

/// Signs in over HTTP as a browser would; returns the session cookie and the CSRF
/// token its pages carry.
async fn sign_in(app: &TestApp, token: &str) -> Result<(String, String), reqwest::StatusCode> {
    sign_in_at(&admin_url(app, ""), token).await
}

/// [`sign_in`] on the worker at `base` (`http://127.0.0.1:PORT`).
async fn sign_in_at(base: &str, token: &str) -> Result<(String, String), reqwest::StatusCode> {
    let http = http();
    let form = http
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .expect("sign-in page");
    let login = set_cookie(&form, "clerk_sync_admin_login").expect("login CSRF cookie");
    let resp = http
        .post(format!("{base}/admin/login"))
        .header("cookie", format!("clerk_sync_admin_login={login}"))
        .form(&[("csrf", login.as_str()), ("token", token)])
        .send()
        .await
        .expect("sign-in");
    if resp.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(resp.status());
    }
    let cookie_line = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("clerk_sync_admin="))
        .expect("session cookie")
        .to_owned();
    assert!(cookie_line.contains("HttpOnly"), "{cookie_line}");
    assert!(cookie_line.contains("SameSite=Strict"), "{cookie_line}");
    let session = set_cookie(&resp, "clerk_sync_admin").expect("session cookie");
    let page = http
        .get(format!("{base}/admin"))
        .header("cookie", format!("clerk_sync_admin={session}"))
        .send()
        .await
        .expect("overview");
    assert_eq!(page.status(), 200);
    let csrf = csrf_in(&page.text().await.expect("html")).expect("a CSRF token on the page");
    Ok((session, csrf))
}

/// Puts a dead letter in place by hand, as the worker writes them.
async fn dead_letter(app: &TestApp, svix_id: &str) {
    let ch = app.broker.channel().await;
    ch.confirm_select(Default::default())
        .await
        .expect("confirms");
    let mut h = lapin::types::FieldTable::default();
    shared::headers::set_str(&mut h, "x-clerk-sync-event-type", "user.updated");
    shared::headers::set_int(&mut h, "x-clerk-sync-attempts", 5);
    shared::headers::set_str(&mut h, "x-clerk-sync-error", "boom");
    ch.basic_publish(
        "".into(),
        app.broker.topology.dead_queue().as_str().into(),
        Default::default(),
        br#"{"type":"user.updated","data":{}}"#,
        lapin::BasicProperties::default()
            .with_message_id(svix_id.into())
            .with_headers(h),
    )
    .await
    .expect("publish")
    .await
    .expect("confirm");
}

#[tokio::test]
async fn without_admin_token_the_page_does_not_exist() {
    let app = TestApp::spawn(Options::default()).await;
    for path in ["/admin", "/admin/login", "/admin/api/overview"] {
        let resp = http()
            .get(admin_url(&app, path))
            .header("authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .expect("worker answers");
        assert_eq!(resp.status(), 404, "{path}");
    }
    let health = http()
        .get(admin_url(&app, "/healthz"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn without_a_valid_session_or_token_everything_is_401() {
    let app = TestApp::spawn(options()).await;
    let http = http();

    let api = http
        .get(admin_url(&app, "/admin/api/overview"))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 401);
    let body: serde_json::Value = api.json().await.expect("JSON for API clients");
    assert_eq!(body["error"], "unauthorized");

    let wrong = http
        .get(admin_url(&app, "/admin/api/dead-letters"))
        .header("authorization", "Bearer test-admin-token-0123456780")
        .send()
        .await
        .expect("api");
    assert_eq!(wrong.status(), 401, "a wrong bearer token");

    let forged = http
        .get(admin_url(&app, "/admin/events"))
        .header("accept", "text/html")
        .header("cookie", "clerk_sync_admin=made-up-session")
        .send()
        .await
        .expect("page");
    assert_eq!(forged.status(), 401, "a made-up session");
    assert!(
        forged.text().await.expect("html").contains("Admin token"),
        "browsers get the sign-in page"
    );

    assert_eq!(
        sign_in(&app, "test-admin-token-wrong-one").await.err(),
        Some(reqwest::StatusCode::UNAUTHORIZED),
        "a wrong token does not sign in"
    );
    let (session, csrf) = sign_in(&app, TOKEN).await.expect("the token signs in");

    // A session is a session: its pages answer.
    let page = http
        .get(admin_url(&app, "/admin/dead-letters"))
        .header("cookie", format!("clerk_sync_admin={session}"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);

    // A bearer token opens the JSON API.
    let ok = http
        .get(admin_url(&app, "/admin/api/overview"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("api");
    assert_eq!(ok.status(), 200);
    let overview: serde_json::Value = ok.json().await.expect("json");
    assert!(
        overview["queues"]
            .as_array()
            .is_some_and(|q| q.iter().any(|q| q["role"] == "dead letters")),
        "{overview}"
    );

    // Signing out ends the session.
    let out = http
        .post(admin_url(&app, "/admin/logout"))
        .header("cookie", format!("clerk_sync_admin={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 303);
    let after = http
        .get(admin_url(&app, "/admin/api/overview"))
        .header("cookie", format!("clerk_sync_admin={session}"))
        .send()
        .await
        .expect("api");
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn a_state_change_without_its_csrf_token_is_refused() {
    let app = TestApp::spawn(options()).await;
    let t = app.broker.topology.clone();
    dead_letter(&app, "msg_csrf_kept").await;
    let (session, csrf) = sign_in(&app, TOKEN).await.expect("signed in");
    let http = http();
    let cookie = format!("clerk_sync_admin={session}");

    for form in [
        vec![("scope", "matching"), ("confirm", "yes")],
        vec![
            ("scope", "matching"),
            ("confirm", "yes"),
            ("csrf", "forged"),
        ],
    ] {
        let resp = http
            .post(admin_url(&app, "/admin/dead-letters/replay"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 403, "{form:?}");
    }
    let api = http
        .post(admin_url(&app, "/admin/api/dead-letters/replay"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(
        api.status(),
        403,
        "the API with a cookie needs X-CSRF-Token"
    );
    let out = http
        .post(admin_url(&app, "/admin/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), 403, "signing out needs the token too");
    assert_eq!(
        dlq::list(&integration::nodes(None), &t, 10)
            .await
            .expect("list")
            .len(),
        1,
        "nothing moved"
    );

    // With the token, the same form asks to confirm, and moves nothing yet.
    let preview = http
        .post(admin_url(&app, "/admin/dead-letters/replay"))
        .header("cookie", &cookie)
        .form(&[("scope", "matching"), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(preview.status(), 200);
    assert!(preview
        .text()
        .await
        .expect("html")
        .contains("1 dead letter(s) will move"));
    assert_eq!(app.broker.count(&t.dead_queue()).await, 1);

    // A bearer client needs no CSRF token (a browser never sends one on its own).
    let api = http
        .post(admin_url(&app, "/admin/api/dead-letters/replay"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .json(&serde_json::json!({ "ids": ["msg_csrf_kept"] }))
        .send()
        .await
        .expect("post");
    assert_eq!(api.status(), 200);
    let result: serde_json::Value = api.json().await.expect("json");
    assert_eq!(result["count"], 1, "{result}");
}

#[tokio::test]
async fn an_operator_replays_a_poisoned_event_in_a_browser() {
    let app = TestApp::spawn(options()).await;
    let t = app.broker.topology.clone();
    // The poison: a trigger that refuses one name, as a broken trigger would.
    app.db
        .execute(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN
               IF NEW.first_name = '<script>alert(1)</script>' THEN
                 RAISE EXCEPTION 'refused by a trigger: first_name %', NEW.first_name;
               END IF;
               RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON users
               FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .await;
    let fine = app
        .post(&user_event("user.created", "user_fine", T0, "Ada"))
        .await;
    assert_eq!(app.wait_recorded(&fine).await, "applied");
    let poisoned = app
        .post(&user_event("user.created", "user_poisoned", T0, XSS))
        .await;
    let letters = wait_for("the dead letter", Duration::from_secs(20), || {
        let t = t.clone();
        async move {
            dlq::list(&integration::nodes(None), &t, 10)
                .await
                .ok()
                .filter(|l| !l.is_empty())
        }
    })
    .await;
    assert_eq!(letters[0].svix_id.as_deref(), Some(poisoned.as_str()));

    let b = Browser::start().await;

    // Signed out, following a link to the dead letters: the sign-in page; a wrong
    // token is turned away; the right one leads on to the page the link named.
    let filtered = admin_url(&app, "/admin/dead-letters?type=user.created&reason=trigger");
    b.goto(&filtered).await;
    b.type_into("#token", "not-the-admin-token-at-all").await;
    b.click("#sign-in").await;
    assert_eq!(b.text("#error").await, "Wrong token.");
    b.type_into("#token", TOKEN).await;
    b.click("#sign-in").await;

    // The dead letters, filtered by type and reason; the name shows as text.
    assert!(b.text("#count").await.starts_with("1 dead letter(s) match"));
    assert_eq!(
        b.client.current_url().await.expect("url").as_str(),
        filtered
    );
    let reason = b.text("td.reason").await;
    assert!(reason.contains(XSS), "escaped, shown as text: {reason}");
    b.screenshot("admin-dead-letters.png").await;
    b.client
        .set_window_size(412, 915)
        .await
        .expect("phone-sized window");
    b.screenshot("admin-phone.png").await;
    b.client
        .set_window_size(1280, 900)
        .await
        .expect("window size");

    // The overview counts it and lists it among the last errors.
    b.goto(&admin_url(&app, "/admin")).await;
    let cards = b.text(".cards").await;
    assert!(cards.contains("dead letters\n1"), "{cards}");
    let last = b.text("table.letters").await;
    assert!(last.contains(&poisoned), "the last errors show it: {last}");
    b.screenshot("admin-overview.png").await;

    b.goto(&filtered).await;
    b.click(&format!("a[href*='{poisoned}']")).await;
    let payload = b.text("#payload").await;
    assert!(
        payload.contains(&format!("\"first_name\": \"{XSS}\"")),
        "pretty-printed JSON, as text: {payload}"
    );
    assert!(b.text("#headers").await.contains("x-clerk-sync-error"));
    let scripts = b
        .client
        .find_all(fantoccini::Locator::Css("script"))
        .await
        .expect("query");
    assert!(
        scripts.is_empty(),
        "no script element made it into the page"
    );
    assert!(
        b.client.get_alert_text().await.is_err(),
        "no alert was opened"
    );
    b.screenshot("admin-dead-letter.png").await;

    // Fix the cause, then replay this one, confirming the count.
    app.db.execute("DROP TRIGGER refuse ON users").await;
    b.click("#replay-one").await;
    assert!(b
        .text("#will-move")
        .await
        .starts_with("1 dead letter(s) will move"));
    assert_eq!(
        app.broker.count(&t.dead_queue()).await,
        1,
        "nothing moves before the confirmation"
    );
    b.click("#confirm").await;
    assert!(b
        .text("#result")
        .await
        .starts_with("Moved 1 dead letter(s)"));

    assert_eq!(app.wait_recorded(&poisoned).await, "applied");
    let user = app.db.user("user_poisoned").await.expect("the row applied");
    assert_eq!(user.first_name.as_deref(), Some(XSS));

    // The events page shows it applied.
    b.goto(&admin_url(&app, "/admin/events?object_id=user_poisoned"))
        .await;
    assert_eq!(b.text("#events td.outcome").await, "applied");
    b.goto(&admin_url(&app, "/admin/events")).await;
    b.screenshot("admin-events.png").await;
    assert!(dlq::list(&integration::nodes(None), &t, 10)
        .await
        .expect("list")
        .is_empty());
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_binary_refuses_a_short_token_and_never_logs_one() {
    let out = tokio::process::Command::new(binary("worker"))
        .env_clear()
        .env("ADMIN_TOKEN", "tooshort")
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("ADMIN_TOKEN"), "{err}");
    assert!(!err.contains("tooshort"), "the token is not echoed: {err}");

    let app = TestApp::spawn(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let log = std::env::temp_dir().join(format!("clerk-sync-admin-{}.log", integration::unique()));
    let addr = format!("127.0.0.1:{port}");
    let mut worker = app.spawn_worker_process_to(
        &[
            ("ADMIN_TOKEN", TOKEN),
            ("WORKER_METRICS_ADDR", &addr),
            ("RUST_LOG", "debug"),
        ],
        std::fs::File::create(&log).expect("log file").into(),
    );
    let base = format!("http://{addr}");
    let http = http();
    wait_for("the worker's HTTP server", Duration::from_secs(30), || {
        let req = http.get(format!("{base}/healthz")).send();
        async move { req.await.ok().map(|_| ()) }
    })
    .await;
    let wrong = "test-admin-token-not-the-right-one";
    assert!(sign_in_at(&base, wrong).await.is_err());
    let (session, _) = sign_in_at(&base, TOKEN).await.expect("signed in");
    let api = http
        .get(format!("{base}/admin/api/overview"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 200);
    signal(&worker, "TERM");
    assert!(worker.wait().expect("exit").success());
    let text = std::fs::read_to_string(&log).expect("worker log");
    let _ = std::fs::remove_file(&log);
    assert!(text.contains("operator page"), "it logged the page: {text}");
    for secret in [TOKEN, wrong, session.as_str()] {
        assert!(!text.contains(secret), "the log holds {secret:?}");
    }
}

/// The peak resident memory (VmHWM) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

/// A worker binary with the operator page on a port of its own; its base URL.
async fn admin_worker(app: &TestApp) -> (integration::Process, String) {
    let addr = format!("127.0.0.1:{}", integration::free_port());
    let worker =
        app.spawn_worker_process(&[("ADMIN_TOKEN", TOKEN), ("WORKER_METRICS_ADDR", &addr)]);
    let base = format!("http://{addr}");
    let http = http();
    wait_for("the worker's HTTP server", Duration::from_secs(30), || {
        let req = http.get(format!("{base}/healthz")).send();
        async move { req.await.ok().map(|_| ()) }
    })
    .await;
    (worker, base)
}

async fn api_get(base: &str, path: &str) -> (reqwest::StatusCode, String) {
    let resp = http()
        .get(format!("{base}{path}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("GET");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

/// What views of a dead-letter queue may add to the worker's peak memory, whatever
/// the queue holds: they read one message at a time and keep a page of headers.
/// Measured here: +14 MiB for the views below of 50,000 letters of 4 KiB (the
/// connection, its buffers, the allocator's arenas); +81 MiB when a view held the
/// first 10,000 with their bodies.
const VIEW_MEMORY_BOUND_KIB: u64 = 32 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewing_a_fifty_thousand_letter_queue_stays_within_a_memory_bound() {
    let app = TestApp::spawn(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let (worker, base) = admin_worker(&app).await;
    // 50,000 dead letters of 4 KiB each, published straight into the queue.
    let ch = app.broker.channel().await;
    ch.confirm_select(Default::default())
        .await
        .expect("confirms");
    let body = format!(
        r#"{{"type":"user.updated","data":{{"id":"user_x","bio":"{}"}}}}"#,
        "x".repeat(4096)
    );
    let dead = app.broker.topology.dead_queue();
    for chunk in 0..50 {
        let mut confirms = Vec::with_capacity(1000);
        for i in 0..1000 {
            let mut h = lapin::types::FieldTable::default();
            shared::headers::set_str(&mut h, "x-clerk-sync-event-type", "user.updated");
            shared::headers::set_str(&mut h, "x-clerk-sync-error", "boom");
            confirms.push(
                ch.basic_publish(
                    "".into(),
                    dead.as_str().into(),
                    Default::default(),
                    body.as_bytes(),
                    lapin::BasicProperties::default()
                        .with_message_id(format!("msg_mem_{}", chunk * 1000 + i).into())
                        .with_headers(h),
                )
                .await
                .expect("publish"),
            );
        }
        for c in confirms {
            c.await.expect("confirm");
        }
    }
    let before = peak_rss_kib(worker.0.id());
    let (list_status, list) = api_get(&base, "/admin/api/dead-letters").await;
    let (page_status, page) = api_get(&base, "/admin/api/dead-letters?page=100").await;
    let (overview_status, _) = api_get(&base, "/admin/api/overview").await;
    let (detail_status, detail) = api_get(&base, "/admin/api/dead-letters/msg_mem_9998").await;
    let after = peak_rss_kib(worker.0.id());
    println!(
        "worker peak RSS: {before} KiB before the views, {after} KiB after (+{} KiB; bound {VIEW_MEMORY_BOUND_KIB} KiB)",
        after.saturating_sub(before)
    );
    assert!(
        after.saturating_sub(before) <= VIEW_MEMORY_BOUND_KIB,
        "viewing the queue grew the worker's peak memory by {} KiB (bound {VIEW_MEMORY_BOUND_KIB} KiB)",
        after - before
    );
    assert_eq!(list_status, 200, "{list}");
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    assert_eq!(list["scanned"], 10_000, "{list}");
    assert_eq!(list["truncated"], true);
    assert_eq!(list["matched"], 10_000);
    assert_eq!(list["matching"].as_array().map(Vec::len), Some(100));
    assert_eq!(list["matching"][0]["svix_id"], "msg_mem_0");
    assert_eq!(page_status, 200);
    let page: serde_json::Value = serde_json::from_str(&page).expect("json");
    assert_eq!(
        page["matching"][99]["svix_id"], "msg_mem_9999",
        "the last page read"
    );
    assert_eq!(overview_status, 200);
    assert_eq!(detail_status, 200, "{detail}");
    assert!(detail.contains(&"x".repeat(4096)), "the body, on demand");
    // Nothing was taken out of the queue.
    let q = ch
        .queue_declare(
            dead.as_str().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .expect("the queue");
    assert_eq!(q.message_count(), 50_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_declares_nothing() {
    let app = TestApp::spawn(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let (_worker, base) = admin_worker(&app).await;
    // Once the worker consumes, it has declared its topology (it does so on
    // connecting, not on a GET).
    let events = app.broker.topology.events_queue();
    wait_for("the worker consuming", Duration::from_secs(30), || {
        let broker = &app.broker;
        let events = events.clone();
        async move {
            let ch = broker.channel().await;
            let q = ch
                .queue_declare(
                    events.as_str().into(),
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
                .await
                .ok()?;
            (q.consumer_count() > 0).then_some(())
        }
    })
    .await;
    // An operator removed the dead-letter queue (or it was never declared).
    let ch = app.broker.channel().await;
    let dead = app.broker.topology.dead_queue();
    ch.queue_delete(dead.as_str().into(), Default::default())
        .await
        .expect("deleted");
    for path in [
        "/admin/api/overview",
        "/admin/api/dead-letters",
        "/admin/api/dead-letters/msg_none",
    ] {
        let (status, body) = api_get(&base, path).await;
        assert!(
            status == 200 || status == 404,
            "GET {path}: {status} {body}"
        );
    }
    let ch = app.broker.channel().await;
    let passive = ch
        .queue_declare(
            dead.as_str().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await;
    assert!(
        passive.is_err(),
        "a GET declared the dead-letter queue again"
    );
}
