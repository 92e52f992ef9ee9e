//! The plain binaries, as the containers run them: `receiver`, `receiver send`,
//! `worker migrate`, `worker prune`, `worker dlq list`, JSON logs, and SIGTERM.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use integration::{
    binary, event, free_port, signal, wait_for, Options, Process, TestApp, AMQP_URL, SECRET,
};
use serde_json::Value;
use shared::examples::EXAMPLES;

use crate::T0;

/// Starts the receiver binary for `app`'s prefix; stdout goes to the returned file.
pub(crate) fn spawn_receiver(app: &TestApp, port: u16, log: &std::path::Path) -> Process {
    spawn_receiver_with(app, port, log, &[])
}

/// [`spawn_receiver`] with more (or overriding) environment variables.
pub(crate) fn spawn_receiver_with(
    app: &TestApp,
    port: u16,
    log: &std::path::Path,
    extra_env: &[(&str, &str)],
) -> Process {
    Command::new(binary("receiver"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
        .env("AMQP_URL", AMQP_URL)
        .env("AMQP_PREFIX", &app.broker.prefix)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(extra_env.iter().copied())
        .stdout(std::fs::File::create(log).expect("log file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("receiver starts")
        .into()
}

pub(crate) async fn wait_ready(http: &reqwest::Client, port: u16) {
    wait_for(
        "the receiver to be ready",
        Duration::from_secs(20),
        || async {
            let r = http
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                .ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_send_posts_every_example_and_the_worker_applies_them() {
    let app = TestApp::spawn(Options::default()).await;
    for (event_type, _) in EXAMPLES {
        let out = tokio::process::Command::new(binary("receiver"))
            .args(["send", event_type, "--to", &app.webhook_url()])
            .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
            .output()
            .await
            .expect("receiver send runs");
        assert!(
            out.status.success(),
            "send {event_type}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("200 "), "{text}");
    }
    wait_for(
        "every example recorded",
        Duration::from_secs(20),
        || async { (app.db.count("webhook_events").await == EXAMPLES.len() as i64).then_some(()) },
    )
    .await;
    assert_eq!(app.db.count("users").await, 3, "each send uses a fresh id");
    assert_eq!(app.db.count("organizations").await, 3);
    assert_eq!(app.db.count("organization_memberships").await, 3);

    let out = tokio::process::Command::new(binary("receiver"))
        .args([
            "send",
            "user.created",
            "--to",
            "http://127.0.0.1:1/webhooks/clerk",
        ])
        .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success(), "no receiver there: non-zero exit");

    let out = tokio::process::Command::new(binary("receiver"))
        .args(["send", "user.created", "--to", &app.webhook_url()])
        .env(
            "CLERK_WEBHOOK_SIGNING_SECRET",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        )
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success(), "a 401 is a non-zero exit");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_secret_stops_start_up_with_one_line_naming_the_variable() {
    let out = tokio::process::Command::new(binary("receiver"))
        .env_clear()
        .env("CLERK_WEBHOOK_SIGNING_SECRET", "whsec_not*base64*at*all")
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("CLERK_WEBHOOK_SIGNING_SECRET"), "{err}");
    assert!(
        !err.contains("not*base64"),
        "the secret is not echoed: {err}"
    );

    let out = tokio::process::Command::new(binary("worker"))
        .env_clear()
        .env("MAX_ATTEMPTS", "many")
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MAX_ATTEMPTS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_migrate_prune_and_dlq_list_work_from_the_command_line() {
    let app = TestApp::spawn(Options::default()).await;

    // migrate creates a database that does not exist yet.
    let fresh = integration::TestDb::owning(format!(
        "postgres://postgres@127.0.0.1:5432/clerk_sync_test_{}",
        integration::unique()
    ));
    let out = tokio::process::Command::new(binary("worker"))
        .arg("migrate")
        .env("DATABASE_URL", &fresh.url)
        .output()
        .await
        .expect("migrate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fresh.count("users").await, 0, "tables exist");

    // prune deletes old records only.
    let old = app.post(&event("session.created", "sess_old", T0)).await;
    let new = app.post(&event("session.created", "sess_new", T0)).await;
    app.wait_recorded(&old).await;
    app.wait_recorded(&new).await;
    app.db
        .execute(&format!(
            "UPDATE webhook_events SET processed_at = now() - interval '8 days' WHERE svix_id = '{old}'"
        ))
        .await;
    let refused = tokio::process::Command::new(binary("worker"))
        .args(["prune", "--older-than", "1h"])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .await
        .expect("runs");
    assert!(
        !refused.status.success(),
        "shorter than Svix's retry window is refused"
    );
    let out = tokio::process::Command::new(binary("worker"))
        .args(["prune", "--older-than", "7d"])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .await
        .expect("prune runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted 1 "));
    assert!(app.db.event(&old).await.is_none());
    assert!(app.db.event(&new).await.is_some());

    // dlq list --json shows a poison message and removes nothing.
    app.broker
        .publish_raw("user.created", "msg_cli_poison", b"not json")
        .await;
    let t = app.broker.topology.clone();
    app.broker
        .wait_count(&t.dead_queue(), 1, Duration::from_secs(10))
        .await;
    let out = tokio::process::Command::new(binary("worker"))
        .args(["dlq", "list", "--json"])
        .env("AMQP_PREFIX", &app.broker.prefix)
        .output()
        .await
        .expect("dlq list runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["svix_id"], "msg_cli_poison");
    assert_eq!(lines[0]["event_type"], "user.created");
    assert_eq!(lines[0]["attempts"], 1);
    assert!(lines[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("not JSON"));
    assert_eq!(app.broker.peek(&t.dead_queue()).await.len(), 1);

    let out = tokio::process::Command::new(binary("worker"))
        .args(["dlq", "replay", "--dry-run"])
        .env("AMQP_PREFIX", &app.broker.prefix)
        .output()
        .await
        .expect("dlq replay runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("would move 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_event_fields_and_never_the_secret() {
    let app = TestApp::spawn(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    let dir = std::env::temp_dir().join(format!("clerk-sync-logs-{}", integration::unique()));
    std::fs::create_dir_all(&dir).expect("log dir");
    let port = free_port();
    let mut receiver = spawn_receiver(&app, port, &dir.join("receiver.log"));
    let mut worker = app.spawn_worker_process_to(
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "info")],
        std::fs::File::create(dir.join("worker.log"))
            .expect("log file")
            .into(),
    );
    let http = reqwest::Client::new();
    wait_ready(&http, port).await;

    let url = format!("http://127.0.0.1:{port}/webhooks/clerk");
    let mut ids = Vec::new();
    for (n, ty) in ["user.created", "organization.created", "session.created"]
        .iter()
        .enumerate()
    {
        let body = serde_json::to_vec(&event(ty, &format!("obj_{n}"), T0)).expect("json");
        let id = format!("msg_{}", integration::unique());
        let headers =
            integration::signed_headers(SECRET, &id, chrono::Utc::now().timestamp(), &body);
        let mut req = http.post(&url).body(body);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        assert_eq!(req.send().await.expect("post").status(), 200);
        ids.push(id);
    }
    let bad = http
        .post(&url)
        .header("svix-id", "msg_x")
        .header("svix-timestamp", "1")
        .header("svix-signature", "v1,AAAA")
        .body("{}");
    assert_eq!(bad.send().await.expect("post").status(), 401);
    for id in &ids {
        app.wait_recorded(id).await;
    }
    signal(&receiver, "TERM");
    signal(&worker, "TERM");
    assert!(receiver.wait().expect("exit").success());
    assert!(worker.wait().expect("exit").success());

    let worker_log = std::fs::read_to_string(dir.join("worker.log")).expect("worker log");
    let receiver_log = std::fs::read_to_string(dir.join("receiver.log")).expect("receiver log");
    let _ = std::fs::remove_dir_all(&dir);

    let secret_key = SECRET.trim_start_matches("whsec_");
    for (name, log) in [("receiver", &receiver_log), ("worker", &worker_log)] {
        assert!(!log.is_empty(), "{name} logged");
        assert!(!log.contains(secret_key), "{name} logs hold the secret");
        assert!(
            !log.contains("guest:guest"),
            "{name} logs hold the broker password"
        );
        let mut event_lines = 0;
        for line in log.lines() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line}"));
            let msg = v["message"].as_str().unwrap_or_default();
            if msg == "event accepted"
                || msg.starts_with("event applied")
                || msg.starts_with("event ignored")
            {
                event_lines += 1;
                // Flat: the event's fields at the top level of the line.
                let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                for k in ["svix_id", "event_type", "object_id", "outcome"] {
                    assert!(field(k).is_some(), "{name}: {k} missing in {line}");
                }
                assert!(
                    ids.contains(&field("svix_id").unwrap_or_default()),
                    "{line}"
                );
            }
        }
        assert_eq!(event_lines, 3, "{name}: one line per event\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_sigterm_under_load_keeps_every_accepted_event() {
    let app = TestApp::receiver_only(Options::default()).await;
    let dir = std::env::temp_dir().join(format!("clerk-sync-term-{}", integration::unique()));
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let mut receiver = spawn_receiver(&app, port, &dir.join("receiver.log"));
    let http = reqwest::Client::new();
    wait_ready(&http, port).await;
    let url = format!("http://127.0.0.1:{port}/webhooks/clerk");

    let mut tasks = Vec::new();
    for n in 0..400 {
        let http = http.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(n / 4)).await;
            let body =
                serde_json::to_vec(&event("user.updated", &format!("user_{n}"), T0)).expect("json");
            let id = format!("msg_term_{n}");
            let headers =
                integration::signed_headers(SECRET, &id, chrono::Utc::now().timestamp(), &body);
            let mut req = http.post(&url).body(body);
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let status = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            (id, status)
        }));
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    signal(&receiver, "TERM");
    let mut accepted = Vec::new();
    for t in tasks {
        let (id, status) = t.await.expect("task");
        assert!(
            status == 200 || status == 0 || status == 503,
            "status {status}"
        );
        if status == 200 {
            accepted.push(id);
        }
    }
    let exit = receiver.wait().expect("exit");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(exit.success(), "exit 0 after SIGTERM: {exit:?}");
    assert!(
        !accepted.is_empty() && accepted.len() < 400,
        "the signal landed mid-load ({} accepted)",
        accepted.len()
    );
    let queued = app
        .broker
        .wait_count(
            &app.broker.topology.events_queue(),
            accepted.len(),
            Duration::from_secs(10),
        )
        .await;
    let queued: std::collections::HashSet<String> =
        queued.iter().filter_map(|m| m.message_id()).collect();
    for id in &accepted {
        assert!(queued.contains(id), "{id} got a 200 but is not queued");
    }
}

/// Runs a binary with a clean environment plus `env`; returns its exit code and
/// stderr.
fn run_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(binary(name))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command, the environment it runs with, and the variable its error must name.
type ConfigCase<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn a_configuration_error_exits_2_in_every_command() {
    let bad_database = [("DATABASE_URL", "mysql://127.0.0.1/clerk_sync")];
    let bad_amqp = [("AMQP_URL", "http://127.0.0.1:5672")];
    let cases: [ConfigCase; 8] = [
        ("worker", &["run"], &bad_database, "DATABASE_URL"),
        ("worker", &["migrate"], &bad_database, "DATABASE_URL"),
        ("worker", &["prune"], &bad_database, "DATABASE_URL"),
        ("worker", &["backfill"], &[], "CLERK_SECRET_KEY"),
        ("worker", &["dlq", "list"], &bad_amqp, "AMQP_URL"),
        (
            "worker",
            &["migrate"],
            &[("LOG_FORMAT", "xml")],
            "LOG_FORMAT",
        ),
        ("receiver", &["serve"], &[], "CLERK_WEBHOOK_SIGNING_SECRET"),
        (
            "receiver",
            &["send", "user.created"],
            &[],
            "CLERK_WEBHOOK_SIGNING_SECRET",
        ),
    ];
    for (name, args, env, var) in cases {
        let (code, stderr) = run_with(name, args, env);
        assert_eq!(code, Some(2), "{name} {args:?}: {stderr}");
        assert!(
            stderr.contains(var),
            "{name} {args:?} names {var}: {stderr}"
        );
    }
}

#[test]
fn a_bad_node_in_an_amqp_url_list_exits_2_with_one_line_and_no_password() {
    let lists = [
        (
            "amqp://app:mq-s3cret@127.0.0.1:5672/%2f,,amqp://app:mq-s3cret@127.0.0.1:5674/%2f",
            "node 2 of 3 is empty",
        ),
        (
            "amqp://app:mq-s3cret@127.0.0.1:5672/%2f,amqp://app:mq-s3cret@127.0.0.1:port/%2f",
            "node 2 of 2 (amqp://app:***@127.0.0.1:port/%2f) is not a valid AMQP URL",
        ),
    ];
    for (list, reason) in lists {
        for (name, args) in [("worker", &["run"][..]), ("receiver", &["serve"][..])] {
            let (code, stderr) = run_with(
                name,
                args,
                &[("AMQP_URL", list), ("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)],
            );
            assert_eq!(code, Some(2), "{name}: {stderr}");
            assert_eq!(
                stderr.trim().lines().count(),
                1,
                "{name}: one line: {stderr}"
            );
            assert!(
                stderr.contains("AMQP_URL") && stderr.contains(reason),
                "{name}: {stderr}"
            );
            assert!(!stderr.contains("mq-s3cret"), "{name}: {stderr}");
        }
    }
}
