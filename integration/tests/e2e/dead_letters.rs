//! Failures: poison messages, retries with backoff, dead letters and replay.

use std::time::{Duration, Instant};

use integration::{event, wait_for, Options, TestApp};
use shared::headers::{get_int, get_str};
use worker::dlq::{self, Filter};

use crate::T0;

#[tokio::test]
async fn a_poison_message_is_dead_lettered_at_once_with_its_reason() {
    let app = TestApp::spawn(Options::default()).await;
    let t = &app.broker.topology;
    app.broker
        .publish_raw("user.created", "msg_poison_1", b"this is not json")
        .await;
    app.broker
        .publish_raw(
            "user.updated",
            "msg_poison_2",
            br#"{"type":"user.updated","data":{"first_name":"no id"}}"#,
        )
        .await;
    let dead = app
        .broker
        .wait_count(&t.dead_queue(), 2, Duration::from_secs(10))
        .await;
    assert_eq!(dead.len(), 2);
    let reasons: Vec<String> = dead
        .iter()
        .map(|m| get_str(m.properties.headers().as_ref(), "x-clerk-sync-error").unwrap_or_default())
        .collect();
    assert!(reasons[0].contains("not JSON"), "{reasons:?}");
    assert!(reasons[1].contains("data.id"), "{reasons:?}");
    for m in &dead {
        let h = m.properties.headers().as_ref();
        assert_eq!(
            get_int(h, "x-clerk-sync-attempts"),
            Some(1),
            "no retries for a poison message"
        );
        assert!(get_str(h, "x-clerk-sync-dead-at").is_some());
    }
    assert_eq!(
        dead[0].body, b"this is not json",
        "the body is kept as it was"
    );
    assert_eq!(
        app.db.count("webhook_events").await,
        0,
        "a dead letter leaves no row"
    );

    let listed = dlq::list(&integration::nodes(None), t, 10)
        .await
        .expect("dlq list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].svix_id.as_deref(), Some("msg_poison_1"));
    assert_eq!(listed[0].event_type, "user.created");
    assert_eq!(listed[1].object_id, None);
    // Listing removes nothing.
    assert_eq!(app.broker.peek(&t.dead_queue()).await.len(), 2);
}

/// How many times the `refuse` trigger has fired: the `attempts` sequence survives
/// the rollbacks.
async fn attempts_made(app: &TestApp) -> i64 {
    app.db
        .with(|c| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM attempts",
            )
            .get_result::<N>(c)
            .expect("sequence")
            .n
        })
        .await
}

#[tokio::test]
async fn a_failing_event_is_retried_with_growing_delays_then_dead_lettered_and_replayed() {
    let delays = vec![
        Duration::from_millis(300),
        Duration::from_millis(600),
        Duration::from_millis(1200),
    ];
    let app = TestApp::spawn(Options {
        max_attempts: 4,
        retry_delays: delays.clone(),
        ..Options::default()
    })
    .await;
    let t = app.broker.topology.clone();
    app.db
        .execute(
            "CREATE SEQUENCE attempts;
             CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN
               IF NEW.id = 'user_cursed' THEN
                 PERFORM nextval('attempts');
                 RAISE EXCEPTION 'user_cursed is refused by a trigger';
               END IF;
               RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER refuse BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .await;
    let started = Instant::now();
    let cursed = app.post(&event("user.created", "user_cursed", T0)).await;
    // The other event goes in once the first attempt has been made, so that it is
    // not in the same batch: a batch that fails is applied again event by event,
    // which would fire the trigger twice in one attempt.
    wait_for(
        "the first attempt on user_cursed",
        Duration::from_secs(20),
        || async { (attempts_made(&app).await >= 1).then_some(()) },
    )
    .await;
    let fine = app.post(&event("user.created", "user_fine", T0)).await;
    assert_eq!(
        app.wait_recorded(&fine).await,
        "applied",
        "other events go on"
    );

    let dead = app
        .broker
        .wait_count(&t.dead_queue(), 1, Duration::from_secs(20))
        .await;
    assert_eq!(dead.len(), 1);
    let h = dead[0].properties.headers().as_ref();
    assert_eq!(get_int(h, "x-clerk-sync-attempts"), Some(4));
    let reason = get_str(h, "x-clerk-sync-error").unwrap_or_default();
    assert!(reason.contains("refused by a trigger"), "{reason}");
    assert!(get_str(h, "x-clerk-sync-first-failed-at").is_some());
    assert!(get_str(h, "svix-id").is_some(), "original headers kept");
    assert!(
        started.elapsed() >= Duration::from_millis(2100),
        "waited the retry delays"
    );

    // Four attempts (a sequence survives the rollbacks), spaced by the growing
    // delays: 300 + 600 + 1200 ms between the first failure and the last.
    let attempts = attempts_made(&app).await;
    assert_eq!(attempts, 4);
    let at = |k| {
        chrono::DateTime::parse_from_rfc3339(&get_str(h, k).unwrap_or_default())
            .expect("RFC 3339 time")
    };
    let spread = at("x-clerk-sync-last-failed-at") - at("x-clerk-sync-first-failed-at");
    assert!(
        spread >= chrono::Duration::milliseconds(2000),
        "first to last failure took {spread:?}"
    );
    assert!(
        app.db.event(&cursed).await.is_none(),
        "no row for a dead letter"
    );

    // Fix the cause, then replay that one.
    app.db.execute("DROP TRIGGER refuse ON users").await;
    let moved = dlq::replay(
        &integration::nodes(None),
        &t,
        &Filter {
            ids: vec![cursed.clone()],
            ..Filter::default()
        },
        false,
    )
    .await
    .expect("replay");
    assert_eq!(moved.len(), 1);
    assert_eq!(app.wait_recorded(&cursed).await, "applied");
    assert!(app.db.user("user_cursed").await.is_some());
    assert!(app.broker.peek(&t.dead_queue()).await.is_empty());
}

#[tokio::test]
async fn replay_filters_leave_the_rest_in_place_and_in_order() {
    // No worker: dead letters are put in place by hand, as the worker writes them.
    let app = TestApp::receiver_only(Options::default()).await;
    let t = app.broker.topology.clone();
    let ch = app.broker.channel().await;
    ch.confirm_select(Default::default())
        .await
        .expect("confirms");
    let letters = [
        ("msg_a", "user.created"),
        ("msg_b", "user.updated"),
        ("msg_c", "user.created"),
        ("msg_d", "organization.created"),
        ("msg_e", "user.created"),
    ];
    for (id, ty) in letters {
        let mut h = lapin::types::FieldTable::default();
        shared::headers::set_str(&mut h, "x-clerk-sync-event-type", ty);
        shared::headers::set_int(&mut h, "x-clerk-sync-attempts", 5);
        shared::headers::set_str(&mut h, "x-clerk-sync-error", "boom");
        ch.basic_publish(
            "".into(),
            t.dead_queue().as_str().into(),
            Default::default(),
            br#"{"type":"x","data":{}}"#,
            lapin::BasicProperties::default()
                .with_message_id(id.into())
                .with_headers(h),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    }
    let ids = |v: &[dlq::DeadLetter]| -> Vec<String> {
        v.iter()
            .map(|d| d.svix_id.clone().unwrap_or_default())
            .collect()
    };

    let dry = dlq::replay(&integration::nodes(None), &t, &Filter::default(), true)
        .await
        .expect("dry run");
    assert_eq!(ids(&dry), ["msg_a", "msg_b", "msg_c", "msg_d", "msg_e"]);
    assert_eq!(
        app.broker.peek(&t.dead_queue()).await.len(),
        5,
        "dry run moves nothing"
    );

    let by_id = dlq::replay(
        &integration::nodes(None),
        &t,
        &Filter {
            ids: vec!["msg_b".into()],
            ..Filter::default()
        },
        false,
    )
    .await
    .expect("by id");
    assert_eq!(ids(&by_id), ["msg_b"]);

    let by_type_limited = dlq::replay(
        &integration::nodes(None),
        &t,
        &Filter {
            event_type: Some("user.created".into()),
            limit: Some(2),
            ..Filter::default()
        },
        false,
    )
    .await
    .expect("by type");
    assert_eq!(ids(&by_type_limited), ["msg_a", "msg_c"]);

    let left = dlq::list(&integration::nodes(None), &t, 100)
        .await
        .expect("list");
    assert_eq!(ids(&left), ["msg_d", "msg_e"], "the rest stays, in order");

    // The moved ones are back on the events queue, with a fresh attempt budget.
    let back = app
        .broker
        .wait_count(&t.events_queue(), 3, Duration::from_secs(5))
        .await;
    assert_eq!(back.len(), 3);
    for m in &back {
        let h = m.properties.headers().as_ref();
        assert_eq!(get_int(h, "x-clerk-sync-attempts"), None);
        assert_eq!(get_str(h, "x-clerk-sync-error"), None);
    }
    let keys: Vec<&str> = back.iter().map(|m| m.routing_key.as_str()).collect();
    assert_eq!(keys, ["user.updated", "user.created", "user.created"]);
}

#[tokio::test]
async fn one_bad_event_in_a_batch_is_dead_lettered_alone() {
    let mut app = TestApp::spawn(Options {
        workers: 0,
        max_attempts: 1,
        batch_size: 100,
        ..Options::default()
    })
    .await;
    let t = app.broker.topology.clone();
    app.db
        .execute(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN
               IF NEW.id = 'user_batch_cursed' THEN RAISE EXCEPTION 'refused by a trigger'; END IF;
               RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER refuse BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .await;
    // A backlog, so the worker takes it in batches.
    let mut good = Vec::new();
    for n in 0..60 {
        if n == 20 {
            app.broker
                .publish_raw("user.created", "msg_batch_poison", b"{not json")
                .await;
        }
        if n == 40 {
            app.post_as(
                "msg_batch_cursed",
                &event("user.created", "user_batch_cursed", T0),
            )
            .await;
        }
        good.push(
            app.post(&event("user.created", &format!("user_batch_{n}"), T0))
                .await,
        );
    }
    app.start_worker().await;
    for id in &good {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    let dead = app
        .broker
        .wait_count(&t.dead_queue(), 2, Duration::from_secs(10))
        .await;
    let mut ids: Vec<String> = dead.iter().filter_map(|m| m.message_id()).collect();
    ids.sort();
    assert_eq!(ids, ["msg_batch_cursed", "msg_batch_poison"]);
    assert_eq!(app.db.count("users").await, 60);
    assert_eq!(app.db.count("webhook_events").await, 60);
    let text = app.worker_metrics(0).await;
    let batches = integration::metric(&text, "clerk_sync_worker_apply_seconds_count", &[]);
    assert!(
        batches < 40.0,
        "events were applied in batches ({batches} transactions for 61)"
    );
}

#[tokio::test]
async fn an_error_whose_text_looks_like_an_outage_is_still_the_events_fault() {
    let app = TestApp::spawn(Options {
        max_attempts: 2,
        retry_delays: vec![Duration::from_millis(200)],
        ..Options::default()
    })
    .await;
    // A trigger raising a plain error whose message happens to read like a lost
    // connection: Postgres is fine, so the event is retried and dead-lettered, not
    // held as an outage forever.
    app.db
        .execute(
            "CREATE FUNCTION mimic() RETURNS trigger AS $$ BEGIN
               IF NEW.id = 'user_mimic' THEN
                 RAISE EXCEPTION 'could not connect to server: terminating connection';
               END IF;
               RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER mimic BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION mimic();",
        )
        .await;
    let mimic = app.post(&event("user.created", "user_mimic", T0)).await;
    let dead = app
        .broker
        .wait_count(
            &app.broker.topology.dead_queue(),
            1,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(dead[0].message_id().as_deref(), Some(mimic.as_str()));
    let h = dead[0].properties.headers().as_ref();
    assert_eq!(get_int(h, "x-clerk-sync-attempts"), Some(2));
    let text = app.worker_metrics(0).await;
    assert_eq!(
        integration::metric(&text, "clerk_sync_worker_database_up", &[]),
        1.0,
        "no outage was declared"
    );
}

#[tokio::test]
async fn a_read_only_database_holds_the_events_uncharged() {
    let app = TestApp::spawn(Options {
        max_attempts: 2,
        retry_delays: vec![Duration::from_millis(100)],
        ..Options::default()
    })
    .await;
    let warm = app.post(&event("user.created", "user_ro_warm", T0)).await;
    app.wait_recorded(&warm).await;
    // As after a failover to a replica: every new transaction is read-only (25006).
    let name = app.db.name().to_owned();
    app.db
        .on_maintenance_db(format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = on"
        ))
        .await;
    app.db.end_sessions().await;
    let held = app.post(&event("user.created", "user_ro", T0)).await;
    wait_for(
        "the worker to hold the event",
        Duration::from_secs(20),
        || async {
            let text = app.worker_metrics(0).await;
            (integration::metric(&text, "clerk_sync_worker_database_up", &[]) == 0.0).then_some(())
        },
    )
    .await;
    // Longer than both retry delays: a charged event would be dead by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.broker.count(&app.broker.topology.dead_queue()).await,
        0,
        "nothing dead-lettered"
    );
    app.db
        .on_maintenance_db(format!(
            "ALTER DATABASE {name} RESET default_transaction_read_only"
        ))
        .await;
    app.db.end_sessions().await;
    assert_eq!(app.wait_recorded(&held).await, "applied");
    assert_eq!(
        app.db.event(&held).await.expect("recorded").attempts,
        1,
        "the read-only spell cost no attempt"
    );
}
