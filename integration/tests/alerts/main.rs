//! The alert rules (deploy/prometheus/alerts.yml) and the Grafana dashboard
//! (deploy/grafana/clerk-sync.json): promtool checks the rules and runs their unit
//! tests (deploy/prometheus/tests.yml); every alert has a case where it fires and one
//! where it stays silent, and breaking any alert's expression fails its tests; and
//! every metric (and label value) a rule or a panel names is one the real receiver,
//! worker and reconcile export.
//!
//! Needs promtool (Debian package `prometheus`, which `.ci/run` installs).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use integration::{
    fake_clerk::{Clerk, FakeClerk},
    promql::{self, Exported},
    signed_headers, unique, wait_for, Options, TestApp,
};
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn rules_path() -> PathBuf {
    repo().join("deploy/prometheus/alerts.yml")
}

fn tests_path() -> PathBuf {
    repo().join("deploy/prometheus/tests.yml")
}

fn dashboard_path() -> PathBuf {
    repo().join("deploy/grafana/clerk-sync.json")
}

fn yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// Every rule of a rules file: (alert name, or the recorded name; expression).
fn rules(file: &Yaml) -> Vec<(String, String)> {
    let groups = file["groups"].as_sequence().expect("groups: a list");
    let mut out = Vec::new();
    for g in groups {
        for r in g["rules"].as_sequence().expect("rules: a list") {
            let name = r["alert"]
                .as_str()
                .or_else(|| r["record"].as_str())
                .expect("a rule has alert or record");
            let expr = r["expr"].as_str().expect("a rule has expr");
            out.push((name.to_owned(), expr.to_owned()));
        }
    }
    out
}

fn alert_names(file: &Yaml) -> Vec<String> {
    file["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
        .filter_map(|r| r["alert"].as_str().map(str::to_owned))
        .collect()
}

/// promtool's path, or a panic saying how to get it.
fn promtool() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file());
    found.expect("promtool not found: apt-get install --no-install-recommends prometheus")
}

/// Runs promtool with `args`; returns whether it succeeded and what it printed.
fn run_promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool())
        .args(args)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    let rules = rules_path();
    let (ok, out) = run_promtool(&["check", "rules", rules.to_str().expect("utf-8 path")]);
    assert!(ok, "promtool check rules:\n{out}");
    let tests = tests_path();
    let (ok, out) = run_promtool(&["test", "rules", tests.to_str().expect("utf-8 path")]);
    assert!(ok, "promtool test rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn every_alert_has_a_case_where_it_fires_and_one_where_it_is_silent() {
    let alerts = alert_names(&yaml(&rules_path()));
    assert!(alerts.len() >= 10, "{alerts:?}");
    let unique_names: BTreeSet<&String> = alerts.iter().collect();
    assert_eq!(unique_names.len(), alerts.len(), "alert names are unique");

    let tests = yaml(&tests_path());
    assert_eq!(
        tests["rule_files"],
        serde_yaml::from_str::<Yaml>("[alerts.yml]").expect("yaml"),
        "tests.yml tests alerts.yml"
    );
    // alert → (cases that expect it to fire, cases that expect silence).
    let mut cases: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for t in tests["tests"].as_sequence().expect("tests: a list") {
        for case in t["alert_rule_test"].as_sequence().into_iter().flatten() {
            let name = case["alertname"].as_str().expect("a case names its alert");
            let fires = case["exp_alerts"]
                .as_sequence()
                .is_some_and(|a| !a.is_empty());
            let entry = cases.entry(name.to_owned()).or_default();
            if fires {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    let mut problems = Vec::new();
    for a in &alerts {
        match cases.get(a) {
            None => problems.push(format!("{a}: no test case")),
            Some((0, _)) => problems.push(format!("{a}: no case where it fires")),
            Some((_, 0)) => problems.push(format!("{a}: no case where it is silent")),
            Some(_) => {}
        }
    }
    for name in cases.keys() {
        if !alerts.contains(name) {
            problems.push(format!(
                "tests.yml tests {name}, which alerts.yml does not have"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Writes `rules` and a copy of tests.yml into a fresh folder; returns its tests.yml.
fn scratch_copy(rules: &Yaml) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clerk-sync-alerts-{}", unique()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    std::fs::write(
        dir.join("alerts.yml"),
        serde_yaml::to_string(rules).expect("serializable"),
    )
    .expect("written");
    std::fs::copy(tests_path(), dir.join("tests.yml")).expect("copied");
    dir.join("tests.yml")
}

/// The test cases can fail: every alert's expression replaced by one that never
/// fires, and then by one that always fires (in a copy of alerts.yml), makes `promtool
/// test rules` fail on that alert's cases, while the unchanged copy passes. (The rules
/// do not depend on each other, so breaking them all at once is breaking each alone,
/// in one promtool run.)
#[test]
fn breaking_any_alert_fails_its_unit_tests() {
    let original = yaml(&rules_path());
    let run = |rules: &Yaml| {
        let tests = scratch_copy(rules);
        let result = run_promtool(&["test", "rules", tests.to_str().expect("utf-8")]);
        let _ = std::fs::remove_dir_all(tests.parent().expect("its folder"));
        result
    };
    let (ok, out) = run(&original);
    assert!(ok, "the copy passes as the original does:\n{out}");

    let alerts = alert_names(&original);
    let mut survived = Vec::new();
    for (how, broken_expr) in [
        ("never fires", "vector(1) < 0"),
        ("always fires", "vector(1)"),
    ] {
        let mut broken = original.clone();
        for g in broken["groups"].as_sequence_mut().expect("groups") {
            for r in g["rules"].as_sequence_mut().expect("rules") {
                if r["alert"].is_string() {
                    r["expr"] = Yaml::String(broken_expr.to_owned());
                }
            }
        }
        let (ok, out) = run(&broken);
        assert!(
            !ok,
            "every alert {how}: promtool test rules still passes\n{out}"
        );
        for alert in &alerts {
            if !out.contains(&format!("alertname: {alert},")) {
                survived.push(format!("{alert} {how}: none of its cases failed"));
            }
        }
    }
    assert!(survived.is_empty(), "{survived:#?}");
}

/// Every `expr` in the dashboard, with the title of its panel.
fn dashboard_exprs(v: &Value, title: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            let title = m.get("title").and_then(Value::as_str).unwrap_or(title);
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", Value::String(e)) => out.push((title.to_owned(), e.clone())),
                    _ => dashboard_exprs(x, title, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| dashboard_exprs(x, title, out)),
        _ => {}
    }
}

fn dashboard() -> Value {
    let path = dashboard_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn the_dashboard_is_a_grafana_dashboard_whose_panels_all_query() {
    let d = dashboard();
    assert!(
        d["title"].as_str().is_some_and(|t| !t.is_empty()),
        "a title"
    );
    assert!(d["uid"].as_str().is_some_and(|t| !t.is_empty()), "a uid");
    assert!(d["schemaVersion"].as_u64().is_some(), "a schemaVersion");
    let panels = d["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut queried = 0;
    for p in panels {
        let title = p["title"].as_str().unwrap_or("?");
        assert!(
            ids.insert(p["id"].as_u64().expect("a panel id")),
            "{title}: its id is unique"
        );
        if p["type"] == "row" {
            continue;
        }
        assert!(p["gridPos"].is_object(), "{title}: a gridPos");
        let targets = p["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(!targets.is_empty(), "{title}: queries something");
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "{title}: an expr");
            let found = promql::selectors(expr).unwrap_or_else(|e| panic!("{title}: {e}"));
            assert!(!found.is_empty(), "{title}: {expr} selects a metric");
        }
        queried += 1;
    }
    assert!(queried >= 8, "{queried} panels");
}

/// A signed request to the receiver, with a bad signature when `secret` is not the
/// receiver's.
async fn post_signed(app: &TestApp, secret: &str, event: &Value) -> u16 {
    let body = serde_json::to_vec(event).expect("json");
    let id = format!("msg_{}", unique());
    let headers = signed_headers(secret, &id, chrono::Utc::now().timestamp(), &body);
    app.post_raw(body, &headers).await.status().as_u16()
}

async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Starts the real receiver, worker and reconcile metrics, sends them what makes the
/// label values the rules name appear (an accepted event, a 401, a dead letter, a
/// reconcile run), and checks every selector of alerts.yml and of the dashboard
/// against what their `/metrics` export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_dashboard_name_only_metrics_the_binaries_export() {
    let app = TestApp::spawn(Options::default()).await;

    // An accepted event, a signature failure, and a dead letter (no data.id).
    let accepted = app
        .post(&integration::event(
            "user.created",
            &format!("user_{}", unique()),
            integration::T0,
        ))
        .await;
    assert_eq!(app.wait_recorded(&accepted).await, "applied");
    let other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let created = integration::event("user.created", "user_x", integration::T0);
    assert_eq!(post_signed(&app, other, &created).await, 401);
    let poison = json!({"type": "user.updated", "data": {"first_name": "no id"}});
    assert_eq!(post_signed(&app, integration::SECRET, &poison).await, 200);
    let worker_text = wait_for(
        "the dead letter counted",
        Duration::from_secs(20),
        || async {
            let text = app.worker_metrics(0).await;
            (integration::metric(
                &text,
                "clerk_sync_worker_events_total",
                &[("outcome", "dead_lettered")],
            ) >= 1.0)
                .then_some(text)
        },
    )
    .await;
    let receiver_text = get_text(&app.http, &app.url("/metrics")).await;

    // Reconcile's metrics, served by its own endpoint, after a real run against an
    // (empty) fake Clerk.
    let clerk = FakeClerk::start(Clerk::default());
    let metrics = worker::reconcile::Metrics::new();
    let pool = shared::db::pool(&app.db.url, shared::db::DEFAULT_SCHEMA, 2).expect("pool");
    let options = worker::reconcile::Options {
        kinds: worker::backfill::Kinds::all().with_all_objects(true),
        dry_run: false,
        force: false,
    };
    worker::reconcile::reconcile_recorded(&pool, &clerk.client(10), options, &metrics)
        .await
        .expect("a reconcile run");
    let (server, port) =
        worker::reconcile::metrics::serve("127.0.0.1:0", metrics.clone()).expect("serves");
    let handle = server.handle();
    tokio::spawn(server);
    let reconcile_text = get_text(&app.http, &format!("http://127.0.0.1:{port}/metrics")).await;
    handle.stop(false).await;
    clerk.stop().await;

    let mut exported = Exported::new();
    for (who, text) in [
        ("receiver", &receiver_text),
        ("worker", &worker_text),
        ("reconcile", &reconcile_text),
    ] {
        promql::read_exposition(text, &mut exported).unwrap_or_else(|e| panic!("{who}: {e}"));
    }
    for family in ["receiver", "worker", "reconcile"] {
        let prefix = format!("clerk_sync_{family}_");
        assert!(
            exported.keys().any(|k| k.starts_with(&prefix)),
            "{family} exported its metrics"
        );
    }

    let mut uses: Vec<(String, String)> = rules(&yaml(&rules_path()))
        .into_iter()
        .map(|(name, expr)| (format!("alerts.yml {name}"), expr))
        .collect();
    let mut panels = Vec::new();
    dashboard_exprs(&dashboard(), "", &mut panels);
    assert!(!panels.is_empty(), "the dashboard queries");
    uses.extend(
        panels
            .into_iter()
            .map(|(title, expr)| (format!("dashboard panel {title:?}"), expr)),
    );
    let mut problems = Vec::new();
    let mut named = BTreeSet::new();
    for (what, expr) in &uses {
        let selectors = promql::selectors(expr).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!selectors.is_empty(), "{what} selects no metric: {expr}");
        for s in &selectors {
            named.insert(s.metric.clone());
            problems.extend(
                promql::missing(s, &exported)
                    .into_iter()
                    .map(|p| format!("{what}: {p}")),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "{problems:#?}\nexported: {:#?}",
        exported.keys().collect::<Vec<_>>()
    );
    // The checks saw the metrics the alerts are about.
    for m in [
        "clerk_sync_worker_events_total",
        "clerk_sync_worker_lag_seconds_bucket",
        "clerk_sync_worker_database_up",
        "clerk_sync_worker_oldest_in_hand_seconds",
        "clerk_sync_receiver_requests_total",
        "clerk_sync_reconcile_runs_total",
        "clerk_sync_reconcile_last_success_timestamp_seconds",
    ] {
        assert!(
            named.contains(m),
            "{m} is named by a rule or a panel: {named:?}"
        );
    }
}

/// `clerk_sync_worker_oldest_in_hand_seconds` (ClerkSyncWorkerBatchStuck): while a
/// batch waits in Postgres (here on a table lock the test holds), the worker exports
/// the age of its event; once the batch is done, 0 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_held_in_postgres_shows_as_the_oldest_event_in_hand() {
    let app = TestApp::spawn(Options::default()).await;
    let in_hand =
        |text: &str| integration::metric(text, "clerk_sync_worker_oldest_in_hand_seconds", &[]);
    assert_eq!(
        in_hand(&app.worker_metrics(0).await),
        0.0,
        "nothing in hand"
    );

    let (client, connection) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls)
        .await
        .expect("Postgres");
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {}.webhook_events IN ACCESS EXCLUSIVE MODE",
            shared::db::DEFAULT_SCHEMA
        ))
        .await
        .expect("the lock");
    let id = format!("user_{}", unique());
    let svix_id = app
        .post(&integration::event("user.created", &id, integration::T0))
        .await;
    wait_for("the batch in hand", Duration::from_secs(20), || async {
        (in_hand(&app.worker_metrics(0).await) > 0.0).then_some(())
    })
    .await;
    client.batch_execute("COMMIT").await.expect("unlocked");
    assert_eq!(app.wait_recorded(&svix_id).await, "applied");
    wait_for("nothing in hand", Duration::from_secs(20), || async {
        (in_hand(&app.worker_metrics(0).await) == 0.0).then_some(())
    })
    .await;
}
