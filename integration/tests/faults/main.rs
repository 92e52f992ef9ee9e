//! Faults for real: Postgres and RabbitMQ stopped and started, workers killed. These
//! tests stop shared services, so they run alone, one at a time, after the others
//! (`scripts/test`). Each service is started again by a guard, even on failure.

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
