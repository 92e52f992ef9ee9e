//! Faults on the wire, through a chaos proxy between one binary and RabbitMQ or
//! Postgres: connections cut after a commit and before its ack, mid-batch, while a
//! confirm is pending, and a database that goes silent for longer than a confirm
//! timeout. Only the proxied connections suffer, so these run beside other tests.

use std::time::Duration;

use integration::{
    chaos::{ChaosProxy, Mode},
    event, metric, unique, wait_for, Options, TestApp, AMQP_URL,
};

use crate::T0;

/// Posts `n` `user.created` events for fresh users; returns their svix-ids.
async fn post_users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(
            app.post(&event("user.created", &format!("user_{}", unique()), T0))
                .await,
        );
    }
    ids
}

async fn wait_rows(app: &TestApp, table: &'static str, n: i64, what: &str) {
    wait_for(what, Duration::from_secs(60), || async {
        (app.db.count(table).await >= n).then_some(())
    })
    .await;
}

async fn receiver_ready(app: &TestApp) {
    wait_for(
        "the receiver to be ready",
        Duration::from_secs(20),
        || async {
            let res = app.http.get(app.url("/readyz")).send().await.ok()?;
            (res.status() == 200).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_after_commit_before_ack_applies_each_event_once() {
    let proxy = ChaosProxy::start("127.0.0.1:5672").await;
    let mut app = TestApp::spawn(Options {
        workers: 0,
        worker_amqp_url: Some(proxy.url(AMQP_URL)),
        ..Options::default()
    })
    .await;
    app.start_worker().await;
    // The worker's acks (and anything else it sends) vanish from here on.
    proxy.set(Mode::DropFromClient);
    let ids = post_users(&app, 20).await;
    for id in &ids {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    // Committed, but the broker never heard the acks: drop the connection, and the
    // broker hands the 20 events out again.
    proxy.set(Mode::Pass);
    proxy.cut();
    wait_for(
        "the redelivered events to be recognised as duplicates",
        Duration::from_secs(60),
        || async {
            let text = app.worker_metrics(0).await;
            let dup = metric(
                &text,
                "clerk_sync_worker_events_total",
                &[("outcome", "duplicate")],
            );
            (dup >= 20.0).then_some(())
        },
    )
    .await;
    assert_eq!(app.db.count("webhook_events").await, 20);
    assert_eq!(app.db.count("users").await, 20);
    for id in &ids {
        assert_eq!(app.db.outcome(id).await.as_deref(), Some("applied"));
    }
    let queue = app.broker.topology.events_queue();
    wait_for("the queue to drain", Duration::from_secs(30), || async {
        (app.broker.count(&queue).await == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_mid_batch_loses_and_doubles_nothing() {
    let db_proxy = ChaosProxy::start("127.0.0.1:5432").await;
    let mq_proxy = ChaosProxy::start("127.0.0.1:5672").await;
    let mut app = TestApp::spawn(Options {
        workers: 0,
        // Small batches, so that many are still to come when the links are cut.
        batch_size: 10,
        ..Options::default()
    })
    .await;
    app.options.worker_database_url = Some(db_proxy.url(&app.db.url));
    app.options.worker_amqp_url = Some(mq_proxy.url(AMQP_URL));
    app.start_worker().await;
    let (ids, at_cut) = tokio::join!(post_users(&app, 300), async {
        // Once the first batches landed, Postgres goes silent under a batch in
        // flight, and both links are cut while it waits.
        wait_rows(&app, "users", 20, "the first batches").await;
        db_proxy.set(Mode::Stall);
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Nothing commits while the link is stalled: what is there now is what
        // landed before the cut.
        let at_cut = app.db.count("users").await;
        db_proxy.cut();
        mq_proxy.cut();
        db_proxy.set(Mode::Pass);
        at_cut
    });
    assert!(
        at_cut < 300,
        "the cut came before the last batch ({at_cut})"
    );
    wait_rows(&app, "webhook_events", 300, "every event recorded").await;
    let queue = app.broker.topology.events_queue();
    wait_for("the queue to drain", Duration::from_secs(60), || async {
        (app.broker.count(&queue).await == 0).then_some(())
    })
    .await;
    assert_eq!(app.db.count("webhook_events").await, 300);
    assert_eq!(app.db.count("users").await, 300);
    for id in ids.iter().step_by(37) {
        assert_eq!(app.db.outcome(id).await.as_deref(), Some("applied"));
    }
    assert_eq!(
        app.broker.count(&app.broker.topology.dead_queue()).await,
        0,
        "an outage dead-letters nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_while_a_confirm_is_pending_is_a_503_never_a_200() {
    let proxy = ChaosProxy::start("127.0.0.1:5672").await;
    let app = TestApp::receiver_only(Options {
        receiver_amqp_url: Some(proxy.url(AMQP_URL)),
        ..Options::default()
    })
    .await;
    receiver_ready(&app).await;
    // The broker receives the publishes, but its confirms never come back.
    proxy.set(Mode::HoldFromServer);
    let sends = (0..10).map(|n| {
        let app = &app;
        async move {
            let e = event("user.created", &format!("user_pending_{n}"), T0);
            app.post_as(&format!("msg_{}", unique()), &e).await
        }
    });
    let cut = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        proxy.cut();
        proxy.set(Mode::Pass);
    };
    let (statuses, ()) = tokio::join!(futures_util::future::join_all(sends), cut);
    assert!(
        statuses.iter().all(|s| *s == 503),
        "no 200 without a confirm: {statuses:?}"
    );
    // The receiver reconnects and accepts again.
    receiver_ready(&app).await;
    app.post(&event("user.created", "user_after_cut", T0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_silent_for_longer_than_a_confirm_timeout_holds_the_events() {
    let db_proxy = ChaosProxy::start("127.0.0.1:5432").await;
    let mut app = TestApp::spawn(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    app.options.worker_database_url = Some(db_proxy.url(&app.db.url));
    app.start_worker().await;
    let first = post_users(&app, 5).await;
    for id in &first {
        app.wait_recorded(id).await;
    }
    // Postgres goes silent (no error, no answer) for longer than the 5 s confirm
    // timeout, while events keep coming.
    db_proxy.set(Mode::Stall);
    let held = post_users(&app, 50).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        app.db.count("users").await,
        5,
        "nothing applied while silent"
    );
    db_proxy.set(Mode::Pass);
    for id in &held {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    assert_eq!(app.db.count("webhook_events").await, 55);
    assert_eq!(
        app.broker.count(&app.broker.topology.dead_queue()).await,
        0,
        "nothing dead-lettered"
    );
}
