//! Convergence under concurrency: deletes are terminal and cascade to memberships,
//! and no two transactions about the same user or organization can commit side by
//! side without seeing each other.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use diesel::{prelude::*, sql_query, sql_types::BigInt, Connection};
use integration::{event, unique, Options, TestApp, TestDb};
use serde_json::Value;
use shared::event::Envelope;
use worker::apply::{apply_batch, apply_event, EventToApply, Outcome, Payloads};

use crate::T0;

fn prepared(svix_id: &str, event: &Value) -> EventToApply {
    let body = serde_json::to_vec(event).expect("json");
    let envelope = Envelope::parse(&body).expect("envelope");
    EventToApply::from_envelope(svix_id, envelope, None, 1, Payloads::Store).expect("valid event")
}

fn member(id: &str, organization_id: &str, user_id: &str, at: i64) -> Value {
    let mut e = event("organizationMembership.created", id, at);
    e["data"]["organization"]["id"] = organization_id.into();
    e["data"]["public_user_data"]["user_id"] = user_id.into();
    e
}

#[derive(Debug, PartialEq)]
struct MembershipRow {
    deleted: bool,
    has_user_data: bool,
}

async fn membership(db: &TestDb, id: &str) -> Option<MembershipRow> {
    let id = id.to_owned();
    db.with(move |c| {
        use shared::schema::organization_memberships::dsl as m;
        m::organization_memberships
            .find(id)
            .select((m::deleted_at, m::data))
            .first::<(Option<chrono::DateTime<chrono::Utc>>, Option<Value>)>(c)
            .optional()
            .expect("memberships readable")
            .map(|(deleted_at, data)| MembershipRow {
                deleted: deleted_at.is_some(),
                has_user_data: data.is_some_and(|d| d.get("public_user_data").is_some()),
            })
    })
    .await
}

#[tokio::test]
async fn a_delete_is_terminal_whatever_the_versions_say() {
    let app = TestApp::spawn(Options::default()).await;
    let user = format!("user_{}", unique());
    let updated = app.post(&event("user.updated", &user, T0 + 5_000)).await;
    assert_eq!(app.wait_recorded(&updated).await, "applied");
    // The delete's envelope timestamp is older than the stored update (Clerk sends
    // seconds, or clocks differ): the user is deleted all the same.
    let mut delete = event("user.deleted", &user, T0);
    delete["timestamp"] = (T0 / 1000).into();
    let deleted = app.post(&delete).await;
    assert_eq!(app.wait_recorded(&deleted).await, "applied");
    let u = app.db.user(&user).await.expect("tombstone");
    assert!(u.deleted_at.is_some(), "the user is deleted");
    assert!(u.email.is_none() && u.first_name.is_none());
    assert_eq!(
        u.clerk_updated_at.timestamp_millis(),
        T0 + 5_000,
        "the tombstone keeps the greater version"
    );
    // Only a tombstone is never overwritten.
    let late = app.post(&event("user.updated", &user, T0 + 9_000)).await;
    assert_eq!(app.wait_recorded(&late).await, "stale");
    let again = app.post(&event("user.deleted", &user, T0 + 10_000)).await;
    assert_eq!(app.wait_recorded(&again).await, "stale");
    assert!(app.db.user(&user).await.expect("row").first_name.is_none());

    // The same for organizations.
    let org = format!("org_{}", unique());
    let o = app
        .post(&event("organization.updated", &org, T0 + 5_000))
        .await;
    app.wait_recorded(&o).await;
    let d = app.post(&event("organization.deleted", &org, T0)).await;
    assert_eq!(app.wait_recorded(&d).await, "applied");
}

#[tokio::test]
async fn deleting_a_user_tombstones_their_memberships() {
    let app = TestApp::spawn(Options::default()).await;
    let user = format!("user_{}", unique());
    let (org_a, org_b) = (format!("org_{}", unique()), format!("org_{}", unique()));
    let (m_a, m_b) = (
        format!("orgmem_{}", unique()),
        format!("orgmem_{}", unique()),
    );
    for e in [
        event("user.created", &user, T0),
        member(&m_a, &org_a, &user, T0),
        member(&m_b, &org_b, &user, T0),
    ] {
        let id = app.post(&e).await;
        assert_eq!(app.wait_recorded(&id).await, "applied");
    }
    let d = app.post(&event("user.deleted", &user, T0 + 1_000)).await;
    assert_eq!(app.wait_recorded(&d).await, "applied");
    for m in [&m_a, &m_b] {
        let row = membership(&app.db, m).await.expect("row");
        assert_eq!(
            row,
            MembershipRow {
                deleted: true,
                has_user_data: false
            },
            "{m}"
        );
    }
    // A membership event for the deleted user (even a newer one, even a new id) is
    // stored as a tombstone, without their data.
    let later = format!("orgmem_{}", unique());
    for e in [
        member(&m_a, &org_a, &user, T0 + 5_000),
        member(&later, &org_a, &user, T0 + 5_000),
    ] {
        let id = app.post(&e).await;
        app.wait_recorded(&id).await;
    }
    for m in [&m_a, &later] {
        let row = membership(&app.db, m).await.expect("row");
        assert!(row.deleted && !row.has_user_data, "{m}: {row:?}");
    }
}

/// Runs `first` in a transaction that stays open until `second`, started on another
/// connection once `first` has applied, has either committed or is seen waiting for
/// a lock; then commits `first`. Returns both outcomes.
pub(crate) async fn interleave(
    db: &TestDb,
    first: EventToApply,
    second: EventToApply,
) -> (Outcome, Outcome) {
    let url = db.url.clone();
    let second_done = Arc::new(AtomicBool::new(false));
    let (applied_tx, applied_rx) = std::sync::mpsc::channel::<()>();

    let done = second_done.clone();
    let url_b = url.clone();
    let b = std::thread::spawn(move || {
        let mut conn = integration::database::connect(&url_b);
        applied_rx.recv().expect("first applied");
        let outcome = conn
            .transaction(|c| apply_event(c, &second))
            .expect("second applies");
        done.store(true, Ordering::SeqCst);
        outcome
    });
    let a = std::thread::spawn(move || {
        let mut conn = integration::database::connect(&url);
        let mut watcher = integration::database::connect(&url);
        conn.transaction(|c| {
            let outcome = apply_event(c, &first)?;
            applied_tx.send(()).expect("second waits");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if second_done.load(Ordering::SeqCst) {
                    break;
                }
                #[derive(QueryableByName)]
                struct Waiting {
                    #[diesel(sql_type = BigInt)]
                    n: i64,
                }
                let waiting: Waiting = sql_query(
                    "SELECT count(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                )
                .get_result(&mut watcher)
                .expect("pg_stat_activity");
                if waiting.n > 0 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the second transaction neither ran nor waited"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok::<_, diesel::result::Error>(outcome)
        })
        .expect("first applies")
    });
    let first = tokio::task::spawn_blocking(move || a.join().expect("first thread"))
        .await
        .expect("join");
    let second = tokio::task::spawn_blocking(move || b.join().expect("second thread"))
        .await
        .expect("join");
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_committing_beside_user_deleted_keeps_no_personal_data() {
    let db = TestDb::new().await;
    let user = format!("user_{}", unique());
    let org = format!("org_{}", unique());
    let m = format!("orgmem_{}", unique());
    let create = prepared("msg_member", &member(&m, &org, &user, T0));
    let delete = prepared("msg_delete", &event("user.deleted", &user, T0 + 1_000));
    let (first, second) = interleave(&db, create, delete).await;
    assert_eq!((first, second), (Outcome::Applied, Outcome::Applied));
    let row = membership(&db, &m).await.expect("row");
    assert!(
        row.deleted && !row.has_user_data,
        "a deleted user's membership stays live or keeps their data: {row:?}"
    );
    let payload = db.event("msg_member").await.expect("recorded").payload;
    assert_eq!(
        payload, None,
        "the membership's payload names the deleted user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_committing_beside_organization_deleted_is_tombstoned() {
    let db = TestDb::new().await;
    let org = format!("org_{}", unique());
    let m = format!("orgmem_{}", unique());
    let user = format!("user_{}", unique());
    let create = prepared("msg_member", &member(&m, &org, &user, T0));
    let delete = prepared(
        "msg_delete",
        &event("organization.deleted", &org, T0 + 1_000),
    );
    let (first, second) = interleave(&db, create, delete).await;
    assert_eq!((first, second), (Outcome::Applied, Outcome::Applied));
    let row = membership(&db, &m).await.expect("row");
    assert!(
        row.deleted,
        "a membership of a deleted organization stays live"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_built_to_cross_never_deadlock() {
    let db = TestDb::new().await;
    for round in 0..20 {
        // Two organizations and two users, each user a member of both; one batch
        // deletes the organizations, the other the users, in opposite orders, so
        // their cascades meet on every membership.
        let users: Vec<String> = (0..2).map(|_| format!("user_{}", unique())).collect();
        let orgs: Vec<String> = (0..2).map(|_| format!("org_{}", unique())).collect();
        // Each organization has also invited the users' address (the example users
        // share one), so the organization cascades and the users' erasures meet on
        // invitations too.
        let mut setup = Vec::new();
        for u in &users {
            setup.push(prepared(
                &format!("msg_setup_{}", unique()),
                &event("user.created", u, T0),
            ));
        }
        for (i, o) in orgs.iter().enumerate() {
            for (j, u) in users.iter().enumerate() {
                let m = member(&format!("orgmem_{round}_{i}_{j}_{}", unique()), o, u, T0);
                setup.push(prepared(&format!("msg_setup_{}", unique()), &m));
                let mut inv = event(
                    "organizationInvitation.created",
                    &format!("orginv_{round}_{i}_{j}_{}", unique()),
                    T0,
                );
                inv["data"]["organization_id"] = o.as_str().into();
                inv["data"]["email_address"] = "john.doe@example.org".into();
                setup.push(prepared(&format!("msg_setup_{}", unique()), &inv));
            }
        }
        let url = db.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = integration::database::connect(&url);
            for r in apply_batch(&mut c, &setup).expect("setup batch") {
                r.expect("setup event");
            }
        })
        .await
        .expect("setup");

        let batch = |kind: &str, ids: &[String], reverse: bool| -> Vec<EventToApply> {
            let mut ids: Vec<&String> = ids.iter().collect();
            if reverse {
                ids.reverse();
            }
            ids.iter()
                .map(|id| prepared(&format!("msg_{}", unique()), &event(kind, id, T0 + 1_000)))
                .collect()
        };
        let a = batch("organization.deleted", &orgs, false);
        let b = batch("user.deleted", &users, true);
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let run = |events: Vec<EventToApply>| {
            let url = db.url.clone();
            let barrier = barrier.clone();
            tokio::task::spawn_blocking(move || {
                let mut c = integration::database::connect(&url);
                barrier.wait();
                apply_batch(&mut c, &events)
            })
        };
        let (ra, rb) = tokio::join!(run(a), run(b));
        for result in [ra.expect("task a"), rb.expect("task b")] {
            let outcomes = result.unwrap_or_else(|e| panic!("round {round}: batch failed: {e}"));
            for o in outcomes {
                assert_eq!(
                    o.unwrap_or_else(|e| panic!("round {round}: {e}")),
                    Outcome::Applied
                );
            }
        }
    }
    let live: i64 = db
        .with(|c| {
            use shared::schema::organization_memberships::dsl as m;
            m::organization_memberships
                .filter(m::deleted_at.is_null())
                .count()
                .get_result(c)
                .expect("count")
        })
        .await;
    assert_eq!(
        live, 0,
        "every membership of a deleted user or org is tombstoned"
    );
    let invitations: Vec<(bool, bool)> = db
        .with(|c| {
            sql_query(
                "SELECT deleted_at IS NOT NULL AS deleted, email_address IS NULL AS erased \
                 FROM organization_invitations",
            )
            .load::<InvitationState>(c)
            .expect("invitations readable")
            .into_iter()
            .map(|r| (r.deleted, r.erased))
            .collect()
        })
        .await;
    assert_eq!(invitations.len(), 80);
    assert!(
        invitations.iter().all(|&s| s == (true, true)),
        "every invitation tombstoned with its address erased: {invitations:?}"
    );
}

#[derive(QueryableByName)]
struct InvitationState {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    deleted: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    erased: bool,
}
