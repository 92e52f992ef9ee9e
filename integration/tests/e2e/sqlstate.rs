//! What a failed statement means is decided by its SQLSTATE: an outage (53xxx,
//! 57P0x, class 08, 25006) holds the events uncharged, a lost race (40P01, 40001)
//! runs the transaction again at once, uncharged; anything else is the event's.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use integration::{event, metric, wait_for, Options, TestApp};
use worker::pg_errors::ErrorClass;

use crate::T0;

/// The class of the error `sql` raises on the test's database, through Diesel.
async fn class_of(url: &str, sql: &'static str) -> (Option<String>, ErrorClass) {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = integration::database::connect(&url);
        let err = conn.batch_execute(sql).expect_err("the statement fails");
        let state = match &err {
            diesel::result::Error::DatabaseError(_, info) => info.sql_state().map(str::to_owned),
            _ => None,
        };
        (state, ErrorClass::of(&err))
    })
    .await
    .expect("task")
}

#[tokio::test]
async fn diesel_reports_the_sql_state_of_a_real_error() {
    let app = TestApp::receiver_only(Options::default()).await;
    for (sql, state, class) in [
        (
            "DO $$ BEGIN RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END $$",
            "53100",
            ErrorClass::Outage,
        ),
        (
            "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'deadlock_detected'; END $$",
            "40P01",
            ErrorClass::RetryNow,
        ),
        (
            "DO $$ BEGIN RAISE EXCEPTION 'could not connect to server'; END $$",
            "P0001",
            ErrorClass::Other,
        ),
        ("SELECT 1/0", "22012", ErrorClass::Other),
    ] {
        assert_eq!(
            class_of(&app.db.url, sql).await,
            (Some(state.to_owned()), class),
            "{sql}"
        );
    }
}

/// A disk that fills up while Postgres still answers queries (53100, raised here by
/// a trigger on every user row): the events are held, uncharged, nothing is
/// dead-lettered, `/readyz` says 503; once the disk has room they all apply once.
/// The backlog is taken as one batch, and one event comes alone after it.
#[tokio::test]
async fn a_full_disk_holds_the_events_uncharged_in_a_batch_of_one_or_many() {
    let mut app = TestApp::spawn(Options {
        workers: 0,
        max_attempts: 2,
        retry_delays: vec![Duration::from_millis(100)],
        ..Options::default()
    })
    .await;
    app.db
        .execute(
            "CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN
               RAISE EXCEPTION 'could not extend file: No space left on device'
                 USING ERRCODE = 'disk_full';
             END $$ LANGUAGE plpgsql;
             CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON users
               FOR EACH ROW EXECUTE FUNCTION disk_full();",
        )
        .await;
    // A backlog first, taken as a batch; then one more on its own.
    let mut held = Vec::new();
    for n in 0..30 {
        held.push(
            app.post(&event("user.created", &format!("user_full_{n}"), T0))
                .await,
        );
    }
    app.start_worker().await;
    wait_for(
        "the worker to hold the events",
        Duration::from_secs(20),
        || async {
            let text = app.worker_metrics(0).await;
            (metric(&text, "clerk_sync_worker_database_up", &[]) == 0.0).then_some(())
        },
    )
    .await;
    let (status, body) = app.worker_readyz(0).await;
    assert_eq!(status, 503, "not ready while holding events: {body}");
    assert_eq!(body["holding_for_database"], true);
    assert_eq!(body["database"], true, "Postgres itself answers");
    // Longer than the retry delay, twice: a charged event would be dead by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    held.push(app.post(&event("user.created", "user_full_last", T0)).await);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        app.broker.count(&app.broker.topology.dead_queue()).await,
        0,
        "nothing dead-lettered"
    );
    assert_eq!(app.db.count("webhook_events").await, 0, "nothing recorded");

    app.db
        .execute("DROP TRIGGER disk_full ON users; DROP FUNCTION disk_full();")
        .await;
    for id in &held {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    let events = app.db.events().await;
    assert_eq!(events.len(), 31);
    assert!(
        events.iter().all(|e| e.attempts == 1),
        "the full disk cost no attempt: {:?}",
        events.iter().map(|e| e.attempts).collect::<Vec<_>>()
    );
    assert_eq!(app.db.count("users").await, 31);
    let text = app.worker_metrics(0).await;
    assert_eq!(
        metric(
            &text,
            "clerk_sync_worker_events_total",
            &[("event_type", "user.created"), ("outcome", "retried")]
        ),
        0.0
    );
    wait_for("ready again", Duration::from_secs(10), || async {
        (app.worker_readyz(0).await.0 == 200).then_some(())
    })
    .await;
}

/// A transaction chosen as a deadlock's victim (40P01, raised here by a trigger the
/// first three times a row is written) is run again at once: the events apply on
/// their first attempt, nothing is retried with backoff or dead-lettered, though
/// two attempts are all they have.
#[tokio::test]
async fn a_deadlock_victim_runs_again_at_once_uncharged() {
    let mut app = TestApp::spawn(Options {
        workers: 0,
        max_attempts: 2,
        retry_delays: vec![Duration::from_secs(30)],
        ..Options::default()
    })
    .await;
    app.db
        .execute(
            "CREATE SEQUENCE victims;
             CREATE FUNCTION victim() RETURNS trigger AS $$ BEGIN
               IF nextval('victims') <= 3 THEN
                 RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
               END IF;
               RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER victim BEFORE INSERT OR UPDATE ON users
               FOR EACH ROW EXECUTE FUNCTION victim();",
        )
        .await;
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(
            app.post(&event("user.created", &format!("user_victim_{n}"), T0))
                .await,
        );
    }
    app.start_worker().await;
    for id in &ids {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    // One alone, after the backlog: a batch of one loses a race too.
    app.db.execute("ALTER SEQUENCE victims RESTART").await;
    let alone = app
        .post(&event("user.created", "user_victim_alone", T0))
        .await;
    assert_eq!(app.wait_recorded(&alone).await, "applied");

    let events = app.db.events().await;
    assert_eq!(events.len(), 21);
    assert!(
        events.iter().all(|e| e.attempts == 1),
        "a lost race cost no attempt: {:?}",
        events.iter().map(|e| e.attempts).collect::<Vec<_>>()
    );
    assert_eq!(app.db.count("users").await, 21);
    let text = app.worker_metrics(0).await;
    assert_eq!(
        metric(&text, "clerk_sync_worker_transaction_reruns_total", &[]),
        6.0,
        "three lost races for the batch, three for the one alone"
    );
    assert_eq!(
        metric(
            &text,
            "clerk_sync_worker_events_total",
            &[("event_type", "user.created"), ("outcome", "retried")]
        ),
        0.0
    );
    assert_eq!(app.broker.count(&app.broker.topology.dead_queue()).await, 0);
}
