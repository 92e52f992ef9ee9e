//! End to end: signed webhooks over HTTP, through RabbitMQ, applied by the worker to
//! Postgres. Real services, a database and a prefix per test.

mod acks;
mod backfill;
mod batching;
mod binaries;
mod catalogue;
mod chaos;
mod convergence;
mod dead_letters;
mod erasure;
mod feed;
mod feed_order;
mod feed_sql;
mod feed_welcome;
mod linger;
mod migrations;
mod notify;
mod objects;
mod ordering;
mod organizations;
mod own_schema;
mod prune;
mod reconcile;
mod refused;
mod safety;
mod sqlstate;
mod traces;

use std::time::Duration;

use integration::{event, metric, webhooks::user_event, Options, TestApp};

pub use integration::T0;

#[tokio::test]
async fn a_user_is_created_updated_and_deleted() {
    let app = TestApp::spawn(Options::default()).await;
    let id = "user_lifecycle";

    let created = app.post(&event("user.created", id, T0)).await;
    assert_eq!(app.wait_recorded(&created).await, "applied");
    let u = app.db.user(id).await.expect("user row");
    assert_eq!(
        u.email.as_deref(),
        Some("john.doe@example.org"),
        "primary email by id, not the first in the list"
    );
    assert_eq!(u.first_name.as_deref(), Some("John"));
    assert_eq!(u.last_name.as_deref(), Some("Doe"));
    assert_eq!(
        u.image_url.as_deref(),
        Some("https://img.clerk.com/preview.png")
    );
    assert_eq!(u.clerk_updated_at.timestamp_millis(), T0);
    assert_eq!(u.clerk_created_at.map(|t| t.timestamp_millis()), Some(T0));
    assert!(u.deleted_at.is_none());
    assert_eq!(u.data.as_ref().and_then(|d| d["id"].as_str()), Some(id));

    let updated = app
        .post(&user_event("user.updated", id, T0 + 1000, "Johnny"))
        .await;
    assert_eq!(app.wait_recorded(&updated).await, "applied");
    let u = app.db.user(id).await.expect("user row");
    assert_eq!(u.first_name.as_deref(), Some("Johnny"));
    assert_eq!(u.clerk_updated_at.timestamp_millis(), T0 + 1000);

    let deleted = app.post(&event("user.deleted", id, T0 + 2000)).await;
    assert_eq!(app.wait_recorded(&deleted).await, "applied");
    let u = app.db.user(id).await.expect("tombstone stays");
    assert_eq!(u.deleted_at.map(|t| t.timestamp_millis()), Some(T0 + 2000));
    assert!(u.email.is_none() && u.first_name.is_none() && u.last_name.is_none());
    assert!(u.username.is_none() && u.image_url.is_none() && u.public_metadata.is_none());

    let events = app.db.events().await;
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .all(|e| e.outcome == "applied" && e.attempts == 1));
    assert_eq!(app.db.count("users").await, 1);
}

#[tokio::test]
async fn the_same_svix_id_three_times_has_one_effect() {
    let app = TestApp::spawn(Options::default()).await;
    let e = event("user.created", "user_dup", T0);
    let svix_id = format!("msg_{}", integration::unique());
    for _ in 0..3 {
        assert_eq!(app.post_as(&svix_id, &e).await, 200);
    }
    // A marker sent after the three: once it is applied, the three were handled.
    let marker = app.post(&event("user.created", "user_marker", T0)).await;
    app.wait_recorded(&marker).await;
    integration::wait_for(
        "three deliveries counted",
        Duration::from_secs(10),
        || async {
            let text = app.worker_metrics(0).await;
            let applied = metric(
                &text,
                "clerk_sync_worker_events_total",
                &[("outcome", "applied")],
            );
            let duplicate = metric(
                &text,
                "clerk_sync_worker_events_total",
                &[("outcome", "duplicate")],
            );
            (applied + duplicate >= 4.0).then_some(())
        },
    )
    .await;
    let text = app.worker_metrics(0).await;
    assert_eq!(
        metric(
            &text,
            "clerk_sync_worker_events_total",
            &[("event_type", "user.created"), ("outcome", "duplicate")]
        ),
        2.0
    );
    let rows: Vec<_> = app
        .db
        .events()
        .await
        .into_iter()
        .filter(|r| r.svix_id == svix_id)
        .collect();
    assert_eq!(rows.len(), 1, "one webhook_events row");
    assert_eq!(rows[0].outcome, "applied");
    assert_eq!(app.db.count("users").await, 2);
}

#[tokio::test]
async fn unhandled_types_are_recorded_as_ignored() {
    let app = TestApp::spawn(Options::default()).await;
    let id = app.post(&event("session.created", "sess_1", T0)).await;
    assert_eq!(app.wait_recorded(&id).await, "ignored");
    let row = app.db.event(&id).await.expect("row");
    assert_eq!(row.event_type, "session.created");
    assert_eq!(row.object_id.as_deref(), Some("sess_1"));
    assert_eq!(app.db.count("users").await, 0);
}

#[tokio::test]
async fn worker_metrics_and_probes_answer() {
    let app = TestApp::spawn(Options::default()).await;
    let id = app.post(&event("user.created", "user_metrics", T0)).await;
    app.wait_recorded(&id).await;
    let port = app.workers[0].metrics_port();
    let ready = app
        .http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let text = app.worker_metrics(0).await;
    assert_eq!(
        metric(
            &text,
            "clerk_sync_worker_events_total",
            &[("event_type", "user.created"), ("outcome", "applied")]
        ),
        1.0
    );
    assert_eq!(
        metric(&text, "clerk_sync_worker_consumer_connected", &[]),
        1.0
    );
    assert!(metric(&text, "clerk_sync_worker_lag_seconds_count", &[]) >= 1.0);
    assert!(metric(&text, "clerk_sync_worker_apply_seconds_count", &[]) >= 1.0);
}

#[tokio::test]
async fn readyz_asks_postgres_itself() {
    let app = TestApp::spawn(Options::default()).await;
    let readyz = || async {
        let (status, body) = app.worker_readyz(0).await;
        (status, body["database"].as_bool())
    };
    assert_eq!(readyz().await, (200, Some(true)));
    // The worker's database refuses connections, though no event has run into it.
    let name = app.db.name().to_owned();
    app.db
        .on_maintenance_db(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await;
    app.db.end_sessions().await;
    assert_eq!(readyz().await, (503, Some(false)));
    app.db
        .on_maintenance_db(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await;
    assert_eq!(readyz().await, (200, Some(true)));
}
