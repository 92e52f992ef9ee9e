//! Out-of-order, late and concurrent events converge on Clerk's state.

use std::{collections::HashMap, time::Duration};

use integration::{event, wait_for, webhooks::user_event, Options, TestApp};
use rand::{seq::SliceRandom, Rng, SeedableRng};

use crate::T0;

#[tokio::test]
async fn an_update_before_its_create_converges() {
    let app = TestApp::spawn(Options::default()).await;
    let upd = app
        .post(&user_event("user.updated", "user_ooo", T0 + 500, "Later"))
        .await;
    assert_eq!(app.wait_recorded(&upd).await, "applied");
    let cre = app
        .post(&user_event("user.created", "user_ooo", T0, "Earlier"))
        .await;
    assert_eq!(app.wait_recorded(&cre).await, "stale");
    let u = app.db.user("user_ooo").await.expect("row");
    assert_eq!(u.first_name.as_deref(), Some("Later"));
    assert_eq!(u.clerk_updated_at.timestamp_millis(), T0 + 500);
}

#[tokio::test]
async fn an_older_update_after_a_newer_one_is_stale() {
    let app = TestApp::spawn(Options::default()).await;
    let a = app
        .post(&user_event("user.created", "user_old", T0, "First"))
        .await;
    app.wait_recorded(&a).await;
    let b = app
        .post(&user_event("user.updated", "user_old", T0 + 2000, "Newest"))
        .await;
    assert_eq!(app.wait_recorded(&b).await, "applied");
    let c = app
        .post(&user_event("user.updated", "user_old", T0 + 1000, "Older"))
        .await;
    assert_eq!(app.wait_recorded(&c).await, "stale");
    let u = app.db.user("user_old").await.expect("row");
    assert_eq!(u.first_name.as_deref(), Some("Newest"));
    assert_eq!(app.db.event(&c).await.expect("row").outcome, "stale");
}

#[tokio::test]
async fn nothing_brings_a_deleted_user_back() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    // A delete for a user never seen inserts the tombstone.
    let d = app
        .post(&event("user.deleted", "user_gone", T0 + 5000))
        .await;
    assert_eq!(app.wait_recorded(&d).await, "applied");
    let late_update = app
        .post(&user_event(
            "user.updated",
            "user_gone",
            T0 + 9000,
            "Zombie",
        ))
        .await;
    assert_eq!(app.wait_recorded(&late_update).await, "stale");
    let late_create = app
        .post(&user_event("user.created", "user_gone", T0, "Zombie"))
        .await;
    assert_eq!(app.wait_recorded(&late_create).await, "stale");
    let u = app.db.user("user_gone").await.expect("tombstone");
    assert!(u.deleted_at.is_some());
    assert!(u.first_name.is_none() && u.email.is_none());
    // No stored payload holds the personal data of a deleted user.
    for e in app.db.events().await {
        let text = e.payload.map(|p| p.to_string()).unwrap_or_default();
        assert!(
            !text.contains("Zombie") && !text.contains("john.doe@example.org"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn deleting_a_user_erases_their_earlier_payloads() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let c = app.post(&event("user.created", "user_erase", T0)).await;
    app.wait_recorded(&c).await;
    assert!(
        app.db.event(&c).await.expect("row").payload.is_some(),
        "stored while alive"
    );
    let d = app.post(&event("user.deleted", "user_erase", T0 + 1)).await;
    app.wait_recorded(&d).await;
    for e in app.db.events().await {
        let text = e.payload.map(|p| p.to_string()).unwrap_or_default();
        assert!(
            !text.contains("john.doe@example.org") && !text.contains("\"John\""),
            "{text}"
        );
    }
    let u = app.db.user("user_erase").await.expect("tombstone");
    let data = u.data.map(|d| d.to_string()).unwrap_or_default();
    assert!(!data.contains("john.doe@example.org"), "{data}");
}

/// The expected final state of one user after its history.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    first_name: Option<String>,
    version: i64,
    deleted: bool,
}

#[tokio::test]
async fn two_workers_converge_on_shuffled_duplicated_histories() {
    let mut app = TestApp::spawn(Options {
        workers: 2,
        batch_size: 20,
        ..Options::default()
    })
    .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut posts = Vec::new();
    let mut expected = HashMap::new();
    for n in 0..120 {
        let id = format!("user_many_{n}");
        let updates = rng.gen_range(0..4);
        let deleted = rng.gen_bool(0.25);
        let mut history = vec![(
            format!("msg_{}", integration::unique()),
            user_event("user.created", &id, T0, "v0"),
        )];
        for u in 1..=updates {
            history.push((
                format!("msg_{}", integration::unique()),
                user_event("user.updated", &id, T0 + u * 1000, &format!("v{u}")),
            ));
        }
        if deleted {
            history.push((
                format!("msg_{}", integration::unique()),
                event("user.deleted", &id, T0 + 10_000),
            ));
        }
        expected.insert(
            id.clone(),
            Expected {
                first_name: (!deleted).then(|| format!("v{updates}")),
                version: if deleted {
                    T0 + 10_000
                } else {
                    T0 + updates * 1000
                },
                deleted,
            },
        );
        // Svix delivers at least once: some messages twice.
        let dups: Vec<_> = history
            .iter()
            .filter(|_| rng.gen_bool(0.3))
            .cloned()
            .collect();
        posts.extend(history);
        posts.extend(dups);
    }
    posts.shuffle(&mut rng);
    let distinct: std::collections::HashSet<_> = posts.iter().map(|(s, _)| s.clone()).collect();

    // Post with some concurrency, as Svix would.
    let chunks: Vec<Vec<_>> = posts.chunks(16).map(|c| c.to_vec()).collect();
    for chunk in chunks {
        let futs = chunk.iter().map(|(svix_id, e)| app.post_as(svix_id, e));
        for status in futures_util::future::join_all(futs).await {
            assert_eq!(status, 200);
        }
    }

    wait_for("every event recorded", Duration::from_secs(60), || async {
        (app.db.count("webhook_events").await == distinct.len() as i64).then_some(())
    })
    .await;

    for (id, want) in &expected {
        let u = app
            .db
            .user(id)
            .await
            .unwrap_or_else(|| panic!("{id} has a row"));
        let got = Expected {
            first_name: u.first_name.clone(),
            version: u.clerk_updated_at.timestamp_millis(),
            deleted: u.deleted_at.is_some(),
        };
        assert_eq!(&got, want, "{id}");
    }
    assert_eq!(app.db.count("users").await, expected.len() as i64);
    app.stop_workers().await;
}
