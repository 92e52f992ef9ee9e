//! Faults for real: Postgres and RabbitMQ stopped and started, workers killed. These
//! tests stop shared services, so they run alone, one at a time, after the others
//! (`scripts/test`). Each service is started again by a guard, even on failure.

mod relay;

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use integration::{
    event, metric, services, signal, wait_for, webhooks::user_event, Options, TestApp, T0,
};

/// Starts the worker binary on a backlog and returns once it has applied some of it.
async fn worker_draining(app: &TestApp) -> integration::Process {
    let child = app.spawn_worker_process(&[]);
    wait_for("some events applied", Duration::from_secs(30), || async {
        (app.db.count("webhook_events").await > 20).then_some(())
    })
    .await;
    child
}

/// Makes each insert into `users` take 10 ms, so a backlog takes seconds and a
/// signal sent while it drains lands mid-stream.
async fn slow_down_inserts(app: &TestApp) {
    app.db
        .execute(
            "CREATE FUNCTION slow() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER slow BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION slow();",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_costs_no_attempt_and_loses_nothing() {
    let app = TestApp::spawn(Options {
        max_attempts: 2,
        ..Options::default()
    })
    .await;
    let warmup = app.post(&event("user.created", "user_warm", T0)).await;
    app.wait_recorded(&warmup).await;

    let mut ids = Vec::new();
    {
        let _postgres = services::stop_postgres();
        for n in 0..50 {
            ids.push(
                app.post(&event("user.created", &format!("user_pg_{n}"), T0))
                    .await,
            );
        }
        // Let the worker hit the outage and wait on it for a while.
        wait_for(
            "the worker to notice the outage",
            Duration::from_secs(20),
            || async {
                let text = app.worker_metrics(0).await;
                (metric(&text, "clerk_sync_worker_database_up", &[]) == 0.0).then_some(())
            },
        )
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    } // Postgres starts again here.

    wait_for("all 50 events applied", Duration::from_secs(60), || async {
        (app.db.count("users").await == 51).then_some(())
    })
    .await;
    for id in &ids {
        let row = app.db.event(id).await.expect("recorded");
        assert_eq!(row.outcome, "applied");
        assert_eq!(row.attempts, 1, "the outage burned no attempt");
    }
    let t = &app.broker.topology;
    assert!(
        app.broker.peek(&t.dead_queue()).await.is_empty(),
        "nothing dead-lettered"
    );
    let text = app.worker_metrics(0).await;
    assert_eq!(
        metric(
            &text,
            "clerk_sync_worker_events_total",
            &[("outcome", "retried")]
        ),
        0.0
    );
    assert_eq!(
        metric(
            &text,
            "clerk_sync_worker_events_total",
            &[("outcome", "dead_lettered")]
        ),
        0.0
    );
    assert_eq!(metric(&text, "clerk_sync_worker_database_up", &[]), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_while_postgres_is_down_hands_its_events_back_uncharged() {
    let mut app = TestApp::spawn(Options {
        max_attempts: 1,
        ..Options::default()
    })
    .await;
    let warmup = app.post(&event("user.created", "user_warm", T0)).await;
    app.wait_recorded(&warmup).await;

    let mut ids = Vec::new();
    {
        let _postgres = services::stop_postgres();
        for n in 0..10 {
            ids.push(
                app.post(&event("user.created", &format!("user_held_{n}"), T0))
                    .await,
            );
        }
        wait_for(
            "the worker to notice the outage",
            Duration::from_secs(20),
            || async {
                let text = app.worker_metrics(0).await;
                (metric(&text, "clerk_sync_worker_database_up", &[]) == 0.0).then_some(())
            },
        )
        .await;
        // Stop it while it holds the events: they go back to the queue, uncharged.
        tokio::time::timeout(Duration::from_secs(30), app.stop_workers())
            .await
            .expect("the worker stops while Postgres is down");
    } // Postgres starts again here.

    app.start_worker().await;
    wait_for("all 10 events applied", Duration::from_secs(60), || async {
        (app.db.count("users").await == 11).then_some(())
    })
    .await;
    for id in &ids {
        let row = app.db.event(id).await.expect("recorded");
        assert_eq!(row.outcome, "applied");
        // With MAX_ATTEMPTS=1 a charged attempt would have dead-lettered it.
        assert_eq!(
            row.attempts, 1,
            "the stop during the outage burned no attempt"
        );
    }
    let t = &app.broker.topology;
    assert!(
        app.broker.peek(&t.dead_queue()).await.is_empty(),
        "nothing dead-lettered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_processes_ride_out_a_rabbitmq_restart() {
    let app = TestApp::spawn(Options::default()).await;
    let before = app.post(&event("user.created", "user_before", T0)).await;
    app.wait_recorded(&before).await;
    let worker_port = app.workers[0].metrics_port();
    let status = |url: String| {
        let http = app.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };

    {
        let _rabbit = services::stop_rabbitmq();
        wait_for("receiver not ready", Duration::from_secs(20), || async {
            (status(app.url("/readyz")).await == 503).then_some(())
        })
        .await;
        let body = serde_json::to_vec(&event("user.created", "user_during", T0)).expect("json");
        let headers = integration::signed_headers(
            integration::SECRET,
            "msg_during_outage",
            chrono::Utc::now().timestamp(),
            &body,
        );
        assert_eq!(
            app.post_raw(body, &headers).await.status(),
            503,
            "never 2xx while down"
        );
        wait_for("worker not ready", Duration::from_secs(20), || async {
            (status(format!("http://127.0.0.1:{worker_port}/readyz")).await == 503).then_some(())
        })
        .await;
    } // RabbitMQ starts again here.

    wait_for("receiver ready again", Duration::from_secs(60), || async {
        (status(app.url("/readyz")).await == 200).then_some(())
    })
    .await;
    wait_for("worker ready again", Duration::from_secs(60), || async {
        (status(format!("http://127.0.0.1:{worker_port}/readyz")).await == 200).then_some(())
    })
    .await;
    let mut after = Vec::new();
    for n in 0..20 {
        after.push(
            app.post(&event("user.created", &format!("user_after_{n}"), T0))
                .await,
        );
    }
    for id in &after {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    assert!(app.db.event("msg_during_outage").await.is_none());
    assert_eq!(app.db.count("users").await, 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_stream_loses_nothing_and_applies_once() {
    let app = TestApp::spawn(Options {
        workers: 0,
        batch_size: 10,
        ..Options::default()
    })
    .await;
    slow_down_inserts(&app).await;
    let mut expected = Vec::new();
    let mut svix_ids = HashSet::new();
    for n in 0..300 {
        let id = format!("user_kill_{n}");
        let e = user_event("user.created", &id, T0 + n, &format!("name{n}"));
        svix_ids.insert(app.post(&e).await);
        expected.push((id, format!("name{n}")));
    }
    // Kill it while it is working through the backlog.
    let mut child = worker_draining(&app).await;
    signal(&child, "KILL");
    let _ = child.wait();
    let applied_at_kill = app.db.count("webhook_events").await;

    let mut child = app.spawn_worker_process(&[]);
    wait_for("every event applied", Duration::from_secs(60), || async {
        (app.db.count("webhook_events").await == svix_ids.len() as i64).then_some(())
    })
    .await;
    signal(&child, "TERM");
    let _ = child.wait();

    assert!(
        applied_at_kill < 300,
        "the kill landed mid-stream ({applied_at_kill} applied)"
    );
    for (id, name) in &expected {
        let u = app
            .db
            .user(id)
            .await
            .unwrap_or_else(|| panic!("{id} applied"));
        assert_eq!(u.first_name.as_deref(), Some(name.as_str()));
    }
    let events = app.db.events().await;
    assert_eq!(events.len(), 300, "one record per event");
    assert!(events.iter().all(|e| e.outcome == "applied"));
    assert!(app
        .broker
        .peek(&app.broker.topology.dead_queue())
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_events_and_exits_zero() {
    let app = TestApp::spawn(Options {
        workers: 0,
        batch_size: 20,
        ..Options::default()
    })
    .await;
    slow_down_inserts(&app).await;
    let mut svix_ids = HashSet::new();
    for n in 0..300 {
        svix_ids.insert(
            app.post(&event("user.created", &format!("user_term_{n}"), T0))
                .await,
        );
    }
    let mut child = worker_draining(&app).await;
    let sent = Instant::now();
    signal(&child, "TERM");
    let status = child.wait().expect("worker exits");
    let applied_at_term = app.db.count("webhook_events").await;
    assert!(
        applied_at_term < 300,
        "the signal landed mid-stream ({applied_at_term} applied)"
    );
    assert!(status.success(), "exit code 0, got {status:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "stopped within 10 s"
    );

    let mut child = app.spawn_worker_process(&[]);
    wait_for("every event applied", Duration::from_secs(60), || async {
        (app.db.count("webhook_events").await == svix_ids.len() as i64).then_some(())
    })
    .await;
    signal(&child, "TERM");
    let _ = child.wait();
    assert_eq!(app.db.count("users").await, 300);
    let events = app.db.events().await;
    assert!(events
        .iter()
        .all(|e| e.outcome == "applied" && e.attempts == 1));
}

/// An organization or a membership as the convergence test reads it back.
#[derive(Debug, Clone, diesel::QueryableByName)]
struct ObjectRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    deleted: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    user_data: bool,
}

/// What one history ends in.
#[derive(Debug, Clone, PartialEq)]
enum Final {
    Live(String),
    Deleted,
}

/// Posts until the receiver accepts, as Svix retries a 503.
async fn post_until_accepted(app: &TestApp, svix_id: &str, e: &serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if app.post_as(svix_id, e).await == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "{svix_id} never accepted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_histories_converge_through_a_killed_worker_and_a_broker_restart() {
    use rand::{seq::SliceRandom, Rng, SeedableRng};
    let app = TestApp::spawn(Options {
        workers: 0,
        batch_size: 25,
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let fresh = || format!("msg_{}", integration::unique());
    let mut posts: Vec<(String, serde_json::Value)> = Vec::new();
    let (mut users, mut orgs, mut members) = (Vec::new(), Vec::new(), Vec::new());

    for n in 0..40 {
        let id = format!("user_cv{n}");
        let updates = rng.gen_range(0..4);
        posts.push((fresh(), user_event("user.created", &id, T0, "v0")));
        for u in 1..=updates {
            let e = user_event("user.updated", &id, T0 + u * 1000, &format!("v{u}"));
            posts.push((fresh(), e));
        }
        let deleted = rng.gen_bool(0.25);
        if deleted {
            // Sometimes older than the last update (a timestamp in seconds).
            let at = if rng.gen_bool(0.5) {
                T0 + 500
            } else {
                T0 + 10_000
            };
            posts.push((fresh(), event("user.deleted", &id, at)));
        }
        let end = if deleted {
            Final::Deleted
        } else {
            Final::Live(format!("v{updates}"))
        };
        users.push((id, end));
    }
    for n in 0..10 {
        let id = format!("org_cv{n}");
        let updates = rng.gen_range(0..3);
        for u in 0..=updates {
            let kind = if u == 0 {
                "organization.created"
            } else {
                "organization.updated"
            };
            let mut e = event(kind, &id, T0 + u * 1000);
            e["data"]["name"] = format!("o{u}").into();
            posts.push((fresh(), e));
        }
        let deleted = rng.gen_bool(0.2);
        if deleted {
            posts.push((fresh(), event("organization.deleted", &id, T0 + 10_000)));
        }
        let end = if deleted {
            Final::Deleted
        } else {
            Final::Live(format!("o{updates}"))
        };
        orgs.push((id, end));
    }
    for (u, (user, user_end)) in users.iter().enumerate() {
        for k in 0..rng.gen_range(1..=3usize) {
            let o = (u + k * 3) % orgs.len();
            let (org, org_end) = &orgs[o];
            let id = format!("orgmem_cv{u}_{o}");
            let member = |kind: &str, at: i64, role: &str| {
                let mut e = event(kind, &id, at);
                e["data"]["organization"]["id"] = org.as_str().into();
                e["data"]["public_user_data"]["user_id"] = user.as_str().into();
                e["data"]["role"] = role.into();
                e
            };
            posts.push((fresh(), member("organizationMembership.created", T0, "r0")));
            let mut role = "r0";
            if rng.gen_bool(0.5) {
                posts.push((
                    fresh(),
                    member("organizationMembership.updated", T0 + 1000, "r1"),
                ));
                role = "r1";
            }
            let removed = rng.gen_bool(0.15);
            if removed {
                posts.push((
                    fresh(),
                    member("organizationMembership.deleted", T0 + 5000, role),
                ));
            }
            let gone = removed || *org_end == Final::Deleted || *user_end == Final::Deleted;
            let end = if gone {
                Final::Deleted
            } else {
                Final::Live(role.to_owned())
            };
            members.push((id, user.clone(), end));
        }
    }
    let distinct = posts.len();
    // Svix delivers at least once: a fifth of the messages twice.
    let dups: Vec<_> = posts
        .iter()
        .filter(|_| rng.gen_bool(0.2))
        .cloned()
        .collect();
    posts.extend(dups);
    posts.shuffle(&mut rng);

    let env = [("WORKER_CONCURRENCY", "4")];
    let mut first = app.spawn_worker_process(&env);
    let second = app.spawn_worker_process(&env);
    let third = {
        let chunks: Vec<Vec<_>> = posts.chunks(16).map(|c| c.to_vec()).collect();
        let total = chunks.len();
        let mut third = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let sends = chunk.iter().map(|(id, e)| post_until_accepted(&app, id, e));
            futures_util::future::join_all(sends).await;
            if i == total / 3 {
                // One worker dies mid-stream; another takes its place.
                signal(&first, "KILL");
                let _ = first.wait();
                third = Some(app.spawn_worker_process(&env));
            }
            if i == 2 * total / 3 {
                // The broker restarts once; the receiver answers 503 meanwhile.
                let _rabbit = services::stop_rabbitmq();
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        third
    };
    wait_for("every event recorded", Duration::from_secs(120), || async {
        (app.db.count("webhook_events").await == distinct as i64).then_some(())
    })
    .await;
    let mut survivors = vec![second];
    survivors.extend(third);
    for mut worker in survivors {
        signal(&worker, "TERM");
        let _ = worker.wait();
    }

    for (id, want) in &users {
        let u = app
            .db
            .user(id)
            .await
            .unwrap_or_else(|| panic!("{id} has a row"));
        let got = match u.deleted_at {
            Some(_) => {
                assert!(u.email.is_none() && u.first_name.is_none(), "{id} erased");
                Final::Deleted
            }
            None => Final::Live(u.first_name.clone().unwrap_or_default()),
        };
        assert_eq!(&got, want, "{id}");
    }
    let rows: Vec<ObjectRow> = app
        .db
        .with(|c| {
            use diesel::prelude::*;
            diesel::sql_query(
                "SELECT id, name, NULL::text AS role, deleted_at IS NOT NULL AS deleted, \
                        false AS user_data FROM organizations \
                 UNION ALL SELECT id, NULL, role, deleted_at IS NOT NULL, \
                        coalesce(data ? 'public_user_data', false) FROM organization_memberships",
            )
            .load::<ObjectRow>(c)
            .expect("rows")
        })
        .await;
    let find = |id: &str| {
        let r = rows
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id} has a row"))
            .clone();
        (r.name, r.role, r.deleted, r.user_data)
    };
    for (id, want) in &orgs {
        let (name, _, deleted, _) = find(id);
        let got = if deleted {
            Final::Deleted
        } else {
            Final::Live(name.unwrap_or_default())
        };
        assert_eq!(&got, want, "{id}");
    }
    let deleted_users: HashSet<&str> = users
        .iter()
        .filter(|(_, end)| *end == Final::Deleted)
        .map(|(id, _)| id.as_str())
        .collect();
    for (id, user, want) in &members {
        let (_, role, deleted, user_data) = find(id);
        let got = if deleted {
            Final::Deleted
        } else {
            Final::Live(role.unwrap_or_default())
        };
        assert_eq!(&got, want, "{id}");
        if deleted_users.contains(user.as_str()) {
            assert!(!user_data, "{id} keeps the deleted {user}'s data");
        }
    }
    for e in app.db.events().await {
        let text = e.payload.map(|p| p.to_string()).unwrap_or_default();
        for user in &deleted_users {
            assert!(
                !text.contains(&format!("\"{user}\"")),
                "{} names deleted {user}",
                e.svix_id
            );
        }
    }
    assert!(app
        .broker
        .peek(&app.broker.topology.dead_queue())
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_broker_stalls_no_consuming_and_sigterm_still_exits_within_10_s() {
    let app = TestApp::spawn(Options {
        workers: 0,
        max_attempts: 3,
        ..Options::default()
    })
    .await;
    // An event whose apply fails, so the worker must republish it to a retry queue.
    app.db
        .execute(
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
               IF NEW.first_name = 'Poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON users \
               FOR EACH ROW EXECUTE FUNCTION poison();",
        )
        .await;
    let poison = app
        .post(&user_event("user.created", "user_poison", T0, "Poison"))
        .await;
    let mut fine = Vec::new();
    for n in 0..20 {
        fine.push(
            app.post(&event("user.created", &format!("user_blocked_{n}"), T0))
                .await,
        );
    }

    let alarm = services::raise_memory_alarm();
    // The receiver cannot make an event durable: 503, never 200.
    let refused = app
        .post_as("msg_during_alarm", &event("user.created", "user_alarm", T0))
        .await;
    assert_eq!(refused, 503, "a blocked broker gets 503");

    let mut worker = app.spawn_worker_process(&[]);
    // Consuming and acking go on while the republish of the poisoned one is blocked.
    for id in &fine {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = Instant::now();
    signal(&worker, "TERM");
    // Bounded, so a worker that hangs fails the test and the guard lifts the alarm.
    let status = loop {
        if let Some(status) = worker.try_wait().expect("worker status") {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(15) {
            drop(alarm);
            panic!("the worker did not stop within 15 s of SIGTERM under the alarm");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "exit code 0, got {status:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "stopped within 10 s under the alarm ({:?})",
        sent.elapsed()
    );
    drop(alarm);

    // The poisoned event was not lost: a worker after the alarm dead-letters it.
    let mut worker = app.spawn_worker_process(&[]);
    let dead = app
        .broker
        .wait_count(
            &app.broker.topology.dead_queue(),
            1,
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(dead[0].message_id().as_deref(), Some(poison.as_str()));
    signal(&worker, "TERM");
    let _ = worker.wait();
    // The event refused with a 503 may still have reached the queue once the alarm
    // lifted (its publish was only blocked): Svix retries it with the same svix-id,
    // and the record makes the retry a duplicate. A 503 promises no 2xx, not absence.
}

/// Which part of the failover test a request was sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    Failover,
    After,
    Rejoined,
}

const PHASES: [Phase; 4] = [
    Phase::Before,
    Phase::Failover,
    Phase::After,
    Phase::Rejoined,
];

/// What the stream of webhooks saw: every attempt's answer, by phase and receiver.
#[derive(Default)]
struct StreamLog {
    /// (phase, receiver index, HTTP status; 0 when the request failed)
    attempts: Vec<(Phase, usize, u16)>,
    /// svix-ids that got a 200, with the user each one creates.
    accepted: Vec<(String, String)>,
    /// Attempts answered 200 in a row, over both receivers (reset by anything else).
    streak: usize,
}

/// Shared between the stream task and the test.
struct Stream {
    phase: std::sync::Mutex<Phase>,
    log: std::sync::Mutex<StreamLog>,
    stop: std::sync::atomic::AtomicBool,
}

impl Stream {
    fn phase(&self) -> Phase {
        *self.phase.lock().expect("phase")
    }

    fn set_phase(&self, phase: Phase) {
        *self.phase.lock().expect("phase") = phase;
    }

    fn accepted_in(&self, phase: Phase) -> usize {
        let log = self.log.lock().expect("log");
        log.attempts
            .iter()
            .filter(|(p, _, s)| *p == phase && *s == 200)
            .count()
    }

    fn streak(&self) -> usize {
        self.log.lock().expect("log").streak
    }
}

/// Posts signed `user.created` events, two at a time (one to each receiver), until
/// told to stop. A request that is not answered 200 is sent again with the same
/// svix-id after 200 ms, as Svix retries.
async fn stream_webhooks(stream: std::sync::Arc<Stream>, ports: [u16; 2]) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut n = 0usize;
    while !stream.stop.load(std::sync::atomic::Ordering::SeqCst) {
        let sends = ports.iter().enumerate().map(|(r, port)| {
            n += 1;
            let user = format!("user_failover_{n}");
            let svix_id = format!("msg_failover_{n}_{}", integration::unique());
            let body =
                serde_json::to_vec(&event("user.created", &user, T0 + n as i64)).expect("json");
            let url = format!("http://127.0.0.1:{port}{}", receiver::WEBHOOK_PATH);
            let (http, stream) = (http.clone(), stream.clone());
            async move {
                loop {
                    let phase = stream.phase();
                    let headers = integration::signed_headers(
                        integration::SECRET,
                        &svix_id,
                        chrono::Utc::now().timestamp(),
                        &body,
                    );
                    let mut req = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone());
                    for (k, v) in &headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    let status = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                    {
                        let mut log = stream.log.lock().expect("log");
                        log.attempts.push((phase, r, status));
                        if status == 200 {
                            log.streak += 1;
                            log.accepted.push((svix_id.clone(), user.clone()));
                        } else {
                            log.streak = 0;
                        }
                    }
                    if status == 200 {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        futures_util::future::join_all(sends.collect::<Vec<_>>()).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_that_leads_the_events_queue_goes_and_no_accepted_event_is_lost() {
    use std::sync::{atomic::Ordering, Arc};

    // Declared first, dropped last: whatever happens, one node again at the end.
    let cluster = services::local_cluster();
    let (members, running) = services::cluster_nodes(None);
    assert_eq!(running.len(), 3, "three nodes run: {running:?}");
    assert_eq!(members.len(), 3, "three members: {members:?}");

    // Each binary gets all three nodes, in different orders (as a deployment would,
    // to spread connections): one receiver and one worker start on each end.
    let mut app = TestApp::spawn(Options {
        workers: 0,
        batch_size: 50,
        receiver_amqp_url: Some(cluster.amqp_url(&[0, 1, 2])),
        ..Options::default()
    })
    .await;
    let ports = [
        app.receiver_port,
        app.spawn_receiver(&cluster.amqp_url(&[1, 2, 0])).await,
    ];
    app.options.worker_amqp_url = Some(cluster.amqp_url(&[0, 1, 2]));
    app.start_worker().await;
    app.options.worker_amqp_url = Some(cluster.amqp_url(&[2, 0, 1]));
    app.start_worker().await;
    let ready = |port: u16| {
        let http = app.http.clone();
        async move {
            http.get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                .map(|r| r.status().as_u16() == 200)
                .unwrap_or(false)
        }
    };
    wait_for("both receivers ready", Duration::from_secs(30), || async {
        (ready(ports[0]).await && ready(ports[1]).await).then_some(())
    })
    .await;

    let queue = app.broker.topology.events_queue();
    let status = services::quorum_status(&cluster.nodes[1], &queue).expect("queue status");
    let mut all = cluster.nodes.clone();
    all.sort();
    assert_eq!(
        status.members, all,
        "the events queue is replicated on all three nodes"
    );
    let leader = status.leader.clone();
    let survivor = cluster
        .nodes
        .iter()
        .find(|n| **n != leader)
        .expect("another node")
        .clone();
    eprintln!("events queue {queue} is led by {leader}; stopping it");

    let stream = Arc::new(Stream {
        phase: std::sync::Mutex::new(Phase::Before),
        log: Default::default(),
        stop: Default::default(),
    });
    let streaming = tokio::spawn(stream_webhooks(stream.clone(), ports));
    wait_for(
        "a steady stream before",
        Duration::from_secs(60),
        || async { (stream.accepted_in(Phase::Before) >= 100).then_some(()) },
    )
    .await;
    let applied = |text: &str| {
        metric(
            text,
            "clerk_sync_worker_events_total",
            &[("outcome", "applied")],
        )
    };

    let applied_after_failover;
    {
        stream.set_phase(Phase::Failover);
        let _stopped = services::stop_node(&leader);
        // Failover is over when another node leads, both receivers are ready, both
        // workers consume, and the receivers have answered 40 requests in a row 200.
        let new_leader = wait_for("a new leader", Duration::from_secs(60), || async {
            services::quorum_status(&survivor, &queue)
                .map(|s| s.leader)
                .filter(|l| *l != leader)
        })
        .await;
        eprintln!("{new_leader} leads {queue} now");
        wait_for("the failover to end", Duration::from_secs(90), || async {
            let consuming = app
                .workers
                .iter()
                .all(|w| w.metrics().consumer_connected.get() == 1);
            (consuming && ready(ports[0]).await && ready(ports[1]).await && stream.streak() >= 40)
                .then_some(())
        })
        .await;
        stream.set_phase(Phase::After);
        applied_after_failover = [
            applied(&app.worker_metrics(0).await),
            applied(&app.worker_metrics(1).await),
        ];
        wait_for("a steady stream after", Duration::from_secs(60), || async {
            (stream.accepted_in(Phase::After) >= 200).then_some(())
        })
        .await;
        // Both workers applied events after the failover.
        for (i, before) in applied_after_failover.iter().enumerate() {
            wait_for(
                &format!("worker {i} applying after the failover"),
                Duration::from_secs(30),
                || async { (applied(&app.worker_metrics(i).await) > *before).then_some(()) },
            )
            .await;
        }
    } // The stopped node starts again here.

    stream.set_phase(Phase::Rejoined);
    wait_for(
        "the cluster whole again",
        Duration::from_secs(60),
        || async {
            let (_, running) = services::cluster_nodes(Some(&survivor));
            let online = services::quorum_status(&survivor, &queue)
                .map(|s| s.online.len())
                .unwrap_or(0);
            (running.len() == 3 && online == 3).then_some(())
        },
    )
    .await;
    wait_for(
        "a steady stream rejoined",
        Duration::from_secs(60),
        || async { (stream.accepted_in(Phase::Rejoined) >= 100).then_some(()) },
    )
    .await;
    stream.stop.store(true, Ordering::SeqCst);
    streaming.await.expect("the stream ends");

    // What the receivers answered, by phase.
    let (attempts, accepted) = {
        let log = stream.log.lock().expect("log");
        (log.attempts.clone(), log.accepted.clone())
    };
    for phase in PHASES {
        for r in 0..2 {
            let of = |want: u16| {
                attempts
                    .iter()
                    .filter(|(p, rr, s)| *p == phase && *rr == r && *s == want)
                    .count()
            };
            let other = attempts
                .iter()
                .filter(|(p, rr, s)| *p == phase && *rr == r && *s != 200 && *s != 503)
                .count();
            eprintln!(
                "{phase:?}, receiver {r}: {} answered 200, {} answered 503, {other} other",
                of(200),
                of(503)
            );
            assert_eq!(other, 0, "{phase:?}, receiver {r}: only 200 or 503");
            if phase != Phase::Failover {
                assert_eq!(
                    of(503),
                    0,
                    "{phase:?}, receiver {r}: no 503 outside the failover"
                );
                assert!(of(200) > 0, "{phase:?}, receiver {r}: 200s");
            }
        }
    }

    // Every event that got a 200 is applied, exactly once.
    let svix_ids: HashSet<&str> = accepted.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(svix_ids.len(), accepted.len(), "one 200 per event");
    wait_for(
        "every accepted event applied",
        Duration::from_secs(120),
        || async { (app.db.count("webhook_events").await == accepted.len() as i64).then_some(()) },
    )
    .await;
    let events = app.db.events().await;
    assert_eq!(events.len(), accepted.len(), "one record per event");
    for e in &events {
        assert!(
            svix_ids.contains(e.svix_id.as_str()),
            "{} was accepted",
            e.svix_id
        );
        assert_eq!(e.outcome, "applied", "{}", e.svix_id);
    }
    assert_eq!(
        app.db.count("users").await,
        accepted.len() as i64,
        "one row per event"
    );
    for (_, user) in accepted.iter().step_by(97) {
        assert!(app.db.user(user).await.is_some(), "{user} has its row");
    }
    assert!(
        app.broker
            .peek(&app.broker.topology.dead_queue())
            .await
            .is_empty(),
        "nothing dead-lettered"
    );
    for i in 0..2 {
        assert_eq!(
            app.workers[i].metrics().consumer_connected.get(),
            1,
            "worker {i} consumes"
        );
    }

    // The test's queues go before the cluster does, and no receiver or worker is left
    // to declare them again when the extra nodes go; then one node again.
    app.stop_all().await;
    drop(app);
    cluster.down();
    let (members, running) = services::cluster_nodes(None);
    assert_eq!(members, [services::main_node()], "one node again");
    assert_eq!(running, members, "and it runs");
}

/// A backlog of events that each name as many users as a stored payload may, taken
/// as one batch: together they take more advisory locks than Postgres's lock table
/// holds (53200). The batch is applied again event by event: every event applies
/// once, uncharged, with its payload.
///
/// Here, not among the e2e tests: it fills the lock table of the Postgres every test
/// shares, so a test beside it could not even connect ("out of shared memory"). For
/// the same reason it waits by counting rows on connections that may be refused
/// while the batch holds its locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_exhausts_the_lock_table_is_applied_event_by_event() {
    let mut app = TestApp::spawn(Options {
        workers: 0,
        store_payloads: true,
        batch_size: 200,
        ..Options::default()
    })
    .await;
    // 200 × 100 locks: 10,000 fit in the local lock table, 20,000 do not.
    let mut posted = Vec::new();
    for n in 0..200 {
        let friends: Vec<String> = (0..99).map(|f| format!("user_f{n}x{f}")).collect();
        let mut e = event("user.updated", &format!("user_crowd_{n}"), T0);
        e["data"]["unsafe_metadata"] = serde_json::json!({ "friends": friends });
        posted.push(app.post(&e).await);
    }
    app.start_worker().await;
    let url = app.db.url.clone();
    wait_for("200 events recorded", Duration::from_secs(120), || {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use diesel::RunQueryDsl;
                let mut conn = shared::db::connect(&url, shared::db::DEFAULT_SCHEMA).ok()?;
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let rows: Vec<N> = diesel::sql_query("SELECT count(*) AS n FROM webhook_events")
                    .load(&mut conn)
                    .ok()?;
                (rows.first()?.n == 200).then_some(())
            })
            .await
            .ok()
            .flatten()
        }
    })
    .await;
    for id in &posted {
        assert_eq!(app.db.outcome(id).await.as_deref(), Some("applied"), "{id}");
    }
    let events = app.db.events().await;
    assert_eq!(events.len(), 200);
    assert!(events
        .iter()
        .all(|e| e.attempts == 1 && e.payload.is_some()));
    assert_eq!(
        app.broker.count(&app.broker.topology.dead_queue()).await,
        0,
        "nothing dead-lettered"
    );
}

/// The counts of the worker's sessions on database `name` (application_name
/// `clerk-sync`): (over TLS, all).
async fn worker_sessions(name: &str) -> (i64, i64) {
    #[derive(diesel::QueryableByName)]
    struct Sessions {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tls: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        all: i64,
    }
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn =
            diesel::PgConnection::establish("postgres://postgres@127.0.0.1:5432/postgres")
                .expect("maintenance database");
        let s: Sessions = diesel::sql_query(
            "SELECT count(*) FILTER (WHERE s.ssl) AS tls, count(*) AS all \
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = $1 AND a.application_name = 'clerk-sync'",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(&mut conn)
        .expect("pg_stat_ssl readable");
        (s.tls, s.all)
    })
    .await
    .expect("query task")
}

/// Runs the real `worker` binary with `args` and only `env` (and PATH); returns its
/// exit code, stdout and stderr.
async fn worker_binary(args: &[&str], env: &[(&str, String)]) -> (Option<i32>, String, String) {
    let mut cmd = tokio::process::Command::new(integration::binary("worker"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the worker binary ends within 120 s")
        .expect("the worker binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 27 item 4. The local Postgres serves a certificate made here; a worker whose
/// DATABASE_URL says `sslmode=verify-full&sslrootcert=<that CA>` creates its
/// database (through the maintenance database, parameters kept), migrates, and
/// applies an event, every session of it over TLS. With another CA, `worker migrate`
/// fails with one line on stderr that says what to check and holds no password; so
/// does a `sslrootcert` that does not exist (libpq says that in two lines).
///
/// Here: it switches the certificate of the Postgres every test shares (back by a
/// guard, even on panic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_verify_full_tls_applies_events_and_a_wrong_ca_fails_in_one_line() {
    let certs = integration::tls::TestCerts::new();
    let _postgres = integration::tls::postgres_serves(&certs);
    let password = format!("pg-secret-{}", integration::unique());
    let name = format!("clerk_sync_test_tls_{}", integration::unique());
    // Trust auth: the password is never asked for, but the URL carries it all along.
    let tls_url = |ca: &std::path::Path| {
        format!(
            "postgres://postgres:{password}@127.0.0.1:5432/{name}?sslmode=verify-full&sslrootcert={}",
            ca.display()
        )
    };
    let mut app = TestApp::spawn(Options {
        workers: 0,
        worker_database_url: Some(tls_url(&certs.ca)),
        ..Options::default()
    })
    .await;
    // The worker creates this database itself, over TLS; dropped at the end.
    let db = integration::TestDb::owning(format!("postgres://postgres@127.0.0.1:5432/{name}"));
    app.start_worker().await;
    let id = app.post(&event("user.created", "user_over_tls", T0)).await;
    let outcome = wait_for(
        "the event applied over TLS",
        Duration::from_secs(30),
        || {
            let (db, id) = (db.clone_handle(), id.clone());
            async move { db.outcome(&id).await }
        },
    )
    .await;
    assert_eq!(outcome, "applied");
    assert!(db.user("user_over_tls").await.is_some(), "the row is there");
    let (tls, all) = worker_sessions(&name).await;
    assert!(all > 0, "the worker has sessions on {name}");
    assert_eq!(tls, all, "every session of the worker is over TLS");
    app.stop_all().await;

    // A CA that did not sign the server's certificate, and one that is not there.
    let missing = certs.dir.join("no-such-ca.pem");
    let (wrong_env, absent_env) = (
        [("DATABASE_URL", tls_url(&certs.wrong_ca))],
        [("DATABASE_URL", tls_url(&missing))],
    );
    let (wrong, absent) = tokio::join!(
        worker_binary(&["migrate"], &wrong_env),
        worker_binary(&["migrate"], &absent_env),
    );
    for ((code, stdout, stderr), what) in [(wrong, "verify failed"), (absent, "does not exist")] {
        assert_eq!(code, Some(1), "a connection error exits 1: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
        assert!(stderr.ends_with('\n'), "{stderr:?}");
        assert!(
            stderr.starts_with(
                "error: could not migrate the database: could not connect to Postgres (check DATABASE_URL)"
            ),
            "{stderr}"
        );
        assert!(stderr.contains(what), "{stderr}");
        for text in [&stdout, &stderr] {
            assert!(!text.contains(&password), "the password leaked: {text}");
        }
        if what == "verify failed" {
            assert!(
                stderr.contains("not signed by a CA in the file sslrootcert= names"),
                "{stderr}"
            );
        }
    }
}

/// Issue 27 item 5. A RabbitMQ node of its own, AMQP over TLS only, with a
/// certificate made here: a receiver and a worker whose AMQP_URL is `amqps://` (the
/// receiver's a list whose first node does not answer) and whose AMQP_CA_FILE is that
/// CA carry a signed webhook to a row in Postgres. With another CA, `worker dlq list`
/// fails in one line without the password; an AMQP_CA_FILE that is missing or not
/// PEM stops both binaries with exit 2 and one line naming the variable.
///
/// Here: it starts a broker node (stopped and removed by a guard, even on panic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_with_amqp_ca_file_carries_a_webhook_to_postgres_and_a_wrong_ca_fails_in_one_line() {
    let certs = integration::tls::TestCerts::new();
    let broker = integration::tls::start_tls_broker(&certs);
    let password = format!("mq-secret-{}", integration::unique());
    broker.add_user("clerk_tls", &password);
    let url = format!("amqps://clerk_tls:{password}@127.0.0.1:{}/%2f", broker.port);
    let unreachable = format!(
        "amqps://clerk_tls:{password}@127.0.0.1:{}/%2f",
        integration::free_port()
    );

    let mut app = TestApp::spawn(Options {
        receiver_amqp_url: Some(format!("{unreachable},{url}")),
        worker_amqp_url: Some(url.clone()),
        amqp_ca_file: Some(certs.ca.clone()),
        ..Options::default()
    })
    .await;
    let id = format!("msg_{}", integration::unique());
    post_until_accepted(&app, &id, &event("user.created", "user_over_amqps", T0)).await;
    assert_eq!(app.wait_recorded(&id).await, "applied");
    assert!(app.db.user("user_over_amqps").await.is_some());
    app.stop_all().await;

    // The real binary reads AMQP_CA_FILE: with the right CA it connects.
    let env = |ca: &std::path::Path| {
        vec![
            ("AMQP_URL", url.clone()),
            ("AMQP_PREFIX", app.broker.prefix.clone()),
            ("AMQP_CA_FILE", ca.to_string_lossy().into_owned()),
        ]
    };
    let (code, stdout, stderr) = worker_binary(&["dlq", "list"], &env(&certs.ca)).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("0 dead letter(s) shown"), "{stdout}");

    // The wrong CA: one line, the node named without its password.
    let (code, stdout, stderr) = worker_binary(&["dlq", "list"], &env(&certs.wrong_ca)).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.contains(&format!(
            "amqps://clerk_tls:***@127.0.0.1:{}/%2f",
            broker.port
        )),
        "{stderr}"
    );
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(
        stderr.contains("AMQP_CA_FILE"),
        "says what to check: {stderr}"
    );
    assert_eq!(
        stderr.matches("UnknownIssuer").count(),
        1,
        "said once: {stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(&password), "the password leaked: {text}");
    }

    // A bad AMQP_CA_FILE stops both binaries at start-up: exit 2, one line.
    let not_pem = certs.dir.join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello\n").expect("file written");
    let missing = certs.dir.join("no-such-ca.pem");
    for (ca, what) in [
        (&not_pem, "holds no certificate"),
        (&missing, "could not be read"),
    ] {
        let (code, _, stderr) = worker_binary(&["dlq", "list"], &env(ca)).await;
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
        assert!(
            stderr.starts_with("invalid configuration: AMQP_CA_FILE"),
            "{stderr}"
        );
        assert!(stderr.contains(what), "{stderr}");
        let out = tokio::process::Command::new(integration::binary("receiver"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CLERK_WEBHOOK_SIGNING_SECRET", integration::SECRET)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("AMQP_URL", &url)
            .env("AMQP_CA_FILE", ca)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(30), out)
            .await
            .expect("the receiver exits at once")
            .expect("the receiver runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
        assert!(
            stderr.starts_with("invalid configuration: AMQP_CA_FILE"),
            "{stderr}"
        );
    }
    drop(broker);
}
