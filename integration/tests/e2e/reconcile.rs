//! `worker reconcile` against the fake Clerk Backend API of `backfill.rs`: missing,
//! outdated and gone rows, a webhook landing during the run, a listing that fails half
//! way, 429 + Retry-After, the cursor, `--dry-run`, and the binary with `--every`.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use diesel::prelude::*;
use integration::{binary, wait_for, TestDb};
use serde_json::Value;
use worker::{
    apply::{apply_object, object_change, ObjectKind, Outcome},
    backfill::{Kinds, Retry, CLERK_API_VERSION},
    reconcile::{self, KindCounts, Options},
};

use crate::{
    backfill::{
        apply_now, membership, membership_row, org_row, organization, pool, user, Clerk, FakeClerk,
        Fault, KEY,
    },
    T0,
};

fn users_only(dry_run: bool) -> Options {
    Options {
        kinds: Kinds::from_flags(true, false, false),
        dry_run,
        force: false,
    }
}

/// Applies a Backend API object as a webhook would, on a connection of its own
/// (blocking: for hooks, which run on the fake server's thread).
fn webhook_now(url: &str, kind: ObjectKind, object: &Value) -> Outcome {
    let mut conn = integration::database::connect(url);
    let (change, subject) =
        object_change(kind, object.as_object().expect("an object")).expect("valid object");
    apply_object(&mut conn, &change, subject.as_deref()).expect("applies")
}

/// Every column that matters of every user row, to show a run changed nothing.
async fn snapshot(db: &TestDb) -> Vec<(String, Option<String>, Option<String>, i64, bool)> {
    db.with(|c| {
        use shared::schema::users::dsl as u;
        u::users
            .order(u::id)
            .select((
                u::id,
                u::email,
                u::first_name,
                u::clerk_updated_at,
                u::deleted_at,
            ))
            .load::<(
                String,
                Option<String>,
                Option<String>,
                chrono::DateTime<chrono::Utc>,
                Option<chrono::DateTime<chrono::Utc>>,
            )>(c)
            .expect("users readable")
            .into_iter()
            .map(|(id, e, f, v, d)| (id, e, f, v.timestamp_millis(), d.is_some()))
            .collect()
    })
    .await
}

/// Rows of `table` matching `condition`.
async fn count_where(db: &TestDb, table: &str, condition: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = format!("SELECT count(*) AS n FROM {table} WHERE {condition}");
    db.with(move |c| diesel::sql_query(sql).get_result::<N>(c).expect("count").n)
        .await
}

fn kc(checked: u64, missing: u64, outdated: u64, gone: u64) -> KindCounts {
    KindCounts {
        checked,
        missing,
        outdated,
        gone,
        ..KindCounts::default()
    }
}

/// Clerk has users 1..=5. Locally: 2 is older than Clerk's copy, 3 is current, 6 is
/// live but deleted in Clerk (and has a membership holding their data), 7 is live and
/// not listed but Clerk has it (created after the listing passed). 1, 4 and 5 are
/// missing; 4 gets a newer webhook while the run reads (see [`race_hook`]).
async fn drifted(db: &TestDb) -> Clerk {
    let users: Vec<Value> = (1..=5)
        .map(|i| user(&format!("user_rc_{i}"), T0 + 100, &format!("Clerk{i}")))
        .collect();
    apply_now(db, ObjectKind::User, user("user_rc_2", T0, "Old2")).await;
    apply_now(db, ObjectKind::User, user("user_rc_3", T0 + 100, "Clerk3")).await;
    apply_now(db, ObjectKind::User, user("user_rc_6", T0, "Deleted6")).await;
    apply_now(db, ObjectKind::User, user("user_rc_7", T0, "New7")).await;
    apply_now(
        db,
        ObjectKind::Membership,
        membership("orgmem_rc_6", "org_rc", "user_rc_6", "org:member", T0),
    )
    .await;
    Clerk {
        users,
        unlisted_users: vec![user("user_rc_7", T0, "New7")],
        ..Clerk::default()
    }
}

/// While Clerk serves the page with user 4 (an older copy), a webhook with a newer
/// version of user 4 lands.
fn race_hook(clerk: &mut Clerk, db_url: String) {
    let mut fired = false;
    clerk.hook = Some(Box::new(move |_, path, offset| {
        if path == "/v1/users" && offset == 2 && !fired {
            fired = true;
            let newer = user("user_rc_4", T0 + 60_000, "NewerByWebhook");
            assert_eq!(
                webhook_now(&db_url, ObjectKind::User, &newer),
                Outcome::Applied
            );
        }
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_missing_and_outdated_users_and_tombstones_gone_ones() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut clerk = drifted(&db).await;
    race_hook(&mut clerk, db.url.clone());
    // A 429 on the second page: its Retry-After is obeyed.
    let clerk = FakeClerk::start(clerk.fault("/v1/users", 2, Fault::RateLimited(Some(1))));
    let client = clerk.client(2).with_spacing(Duration::ZERO);
    let metrics = reconcile::Metrics::new();

    let started = Instant::now();
    let summary = reconcile::reconcile_recorded(&pool(&db), &client, users_only(false), &metrics)
        .await
        .expect("reconcile succeeds");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was waited out"
    );
    // Missing: 1 and 5 (4 arrived by webhook first). Outdated: 2. Gone: 6.
    assert_eq!(summary.users, kc(5, 2, 1, 1), "{summary}");

    for (id, name, version) in [
        ("user_rc_1", "Clerk1", T0 + 100),
        ("user_rc_2", "Clerk2", T0 + 100),
        ("user_rc_3", "Clerk3", T0 + 100),
        ("user_rc_4", "NewerByWebhook", T0 + 60_000),
        ("user_rc_5", "Clerk5", T0 + 100),
        ("user_rc_7", "New7", T0),
    ] {
        let u = db.user(id).await.expect("user row");
        assert_eq!(u.first_name.as_deref(), Some(name), "{id}");
        assert_eq!(u.clerk_updated_at.timestamp_millis(), version, "{id}");
        assert!(u.deleted_at.is_none(), "{id} is live");
    }
    let gone = db.user("user_rc_6").await.expect("tombstone");
    assert!(gone.deleted_at.is_some(), "confirmed gone: tombstoned");
    assert!(gone.email.is_none() && gone.first_name.is_none() && gone.last_name.is_none());
    assert_eq!(
        gone.data,
        Some(serde_json::json!({"object": "user", "id": "user_rc_6", "deleted": true}))
    );
    let m = membership_row(&db, "orgmem_rc_6")
        .await
        .expect("membership");
    assert!(
        !m.has_user_data,
        "the gone user's data is erased everywhere"
    );

    // Cursor paging oldest first; one lookup of the two unlisted ids; the pinned
    // version on every request.
    let queries = clerk.queries();
    let pages: Vec<&str> = queries
        .iter()
        .filter(|(_, q, _)| !q.contains("user_id="))
        .map(|(_, q, _)| q.as_str())
        .collect();
    assert_eq!(pages.len(), 4, "3 pages and the 429: {pages:?}");
    assert!(pages.iter().all(|q| q.contains("order_by=%2Bcreated_at")));
    assert!(!pages[0].contains("starting_after") && !pages[0].contains("offset"));
    assert!(pages[1].contains("starting_after=user_rc_2"), "{pages:?}");
    assert!(pages[3].contains("starting_after=user_rc_4"), "{pages:?}");
    let lookups: Vec<&str> = queries
        .iter()
        .filter(|(_, q, _)| q.contains("user_id="))
        .map(|(_, q, _)| q.as_str())
        .collect();
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert!(lookups[0].contains("user_id=user_rc_6") && lookups[0].contains("user_id=user_rc_7"));
    assert!(queries
        .iter()
        .all(|(_, _, v)| v.as_deref() == Some(CLERK_API_VERSION)));

    let text = metrics.render();
    let m = |name, labels: &[(&str, &str)]| integration::metric(&text, name, labels);
    assert_eq!(
        m("clerk_sync_reconcile_checked_total", &[("kind", "users")]),
        5.0
    );
    assert_eq!(
        m("clerk_sync_reconcile_missing_total", &[("kind", "users")]),
        2.0
    );
    assert_eq!(
        m("clerk_sync_reconcile_outdated_total", &[("kind", "users")]),
        1.0
    );
    assert_eq!(
        m("clerk_sync_reconcile_gone_total", &[("kind", "users")]),
        1.0
    );
    assert_eq!(
        m("clerk_sync_reconcile_runs_total", &[("result", "ok")]),
        1.0
    );
    assert_eq!(m("clerk_sync_reconcile_rate_limited_total", &[]), 1.0);
    assert_eq!(m("clerk_sync_reconcile_api_requests_total", &[]), 5.0);

    // A second run finds nothing to do.
    let again = reconcile::reconcile(&pool(&db), &client, users_only(false))
        .await
        .expect("second run");
    assert_eq!(again.users, kc(5, 0, 0, 0), "{again}");
    assert!(!again.found_drift());
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_counts_what_a_run_would() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let clerk = FakeClerk::start(drifted(&db).await);
    let client = clerk.client(2).with_spacing(Duration::ZERO);
    let before = snapshot(&db).await;
    let membership_before = membership_row(&db, "orgmem_rc_6").await;

    let dry = reconcile::reconcile(&pool(&db), &client, users_only(true))
        .await
        .expect("dry run");
    assert!(dry.dry_run);
    // Without the racing webhook, 4 is missing too.
    assert_eq!(dry.users, kc(5, 3, 1, 1), "{dry}");
    assert!(dry.to_string().contains("dry run"));
    assert_eq!(snapshot(&db).await, before, "a dry run changes no row");
    assert_eq!(membership_row(&db, "orgmem_rc_6").await, membership_before);

    let real = reconcile::reconcile(&pool(&db), &client, users_only(false))
        .await
        .expect("real run");
    assert_eq!(
        real.users, dry.users,
        "the real run does what the dry run said"
    );
    assert_ne!(snapshot(&db).await, before);
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_fails_half_way_tombstones_nothing() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut clerk = drifted(&db).await;
    for _ in 0..5 {
        clerk = clerk.fault("/v1/users", 4, Fault::ServerError);
    }
    let clerk = FakeClerk::start(clerk);
    let client = clerk
        .client(2)
        .with_spacing(Duration::ZERO)
        .with_retry(Retry {
            max_tries: 2,
            first_backoff: Duration::from_millis(10),
            ..Retry::default()
        });
    let err = reconcile::reconcile(&pool(&db), &client, users_only(false))
        .await
        .expect_err("the listing fails");
    let message = format!("{err:#}");
    assert!(
        message.contains("could not list users from Clerk"),
        "{message}"
    );
    assert!(message.contains("nothing was tombstoned"), "{message}");

    let six = db.user("user_rc_6").await.expect("user 6");
    assert!(
        six.deleted_at.is_none(),
        "not listed, but the listing broke off"
    );
    assert_eq!(six.first_name.as_deref(), Some("Deleted6"));
    assert!(
        clerk
            .queries()
            .iter()
            .all(|(_, q, _)| !q.contains("user_id=")),
        "no lookup either"
    );
    // The pages read before the failure were applied (that is always safe).
    assert_eq!(
        db.user("user_rc_1")
            .await
            .and_then(|u| u.first_name)
            .as_deref(),
        Some("Clerk1")
    );
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_the_api_ignores_falls_back_to_offsets() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut clerk = drifted(&db).await;
    clerk.ignore_cursor = true;
    let clerk = FakeClerk::start(clerk);
    let client = clerk.client(2).with_spacing(Duration::ZERO);
    let summary = reconcile::reconcile(&pool(&db), &client, users_only(false))
        .await
        .expect("reconcile succeeds");
    assert_eq!(summary.users, kc(5, 3, 1, 1), "{summary}");
    // Cursor page 1, cursor page 2 (ignored: page 1 again), then offsets 2 and 4.
    assert_eq!(clerk.offsets("/v1/users")[..4], [0, 0, 2, 4]);
    assert!(db.user("user_rc_7").await.expect("7").deleted_at.is_none());
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_that_ignores_the_ids_confirms_no_absence() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut clerk = drifted(&db).await;
    clerk.ignore_user_id_filter = true;
    let clerk = FakeClerk::start(clerk);
    let client = clerk.client(500).with_spacing(Duration::ZERO);
    let err = reconcile::reconcile(&pool(&db), &client, users_only(false))
        .await
        .expect_err("absences cannot be confirmed");
    assert!(
        format!("{err:#}").contains("nothing was tombstoned"),
        "{err:#}"
    );
    assert!(db.user("user_rc_6").await.expect("6").deleted_at.is_none());
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn so_many_gone_rows_are_refused_without_force() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    db.execute(
        "INSERT INTO users (id, clerk_updated_at) \
         SELECT 'user_many_' || i, now() - interval '1 day' FROM generate_series(1, 120) AS i",
    )
    .await;
    // Another instance's key: Clerk lists one user, none of ours.
    let clerk = FakeClerk::start(Clerk {
        users: vec![user("user_other", T0, "Other")],
        ..Clerk::default()
    });
    let client = clerk.client(500).with_spacing(Duration::ZERO);
    let err = reconcile::reconcile(&pool(&db), &client, users_only(false))
        .await
        .expect_err("refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("120 of 121 live users look gone"),
        "{message}"
    );
    assert_eq!(
        count_where(&db, "users", "deleted_at IS NOT NULL").await,
        0,
        "nothing tombstoned"
    );
    let forced = reconcile::reconcile(
        &pool(&db),
        &client,
        Options {
            force: true,
            ..users_only(false)
        },
    )
    .await
    .expect("forced");
    assert_eq!(forced.users.gone, 120);
    assert_eq!(
        count_where(&db, "users", "deleted_at IS NOT NULL").await,
        120
    );
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_and_memberships_are_reconciled() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    // Clerk: organizations A (current locally) and C (missing); A has memberships
    // a1 (listed) and a3 (missing). Locally also: a2 in A (gone from Clerk), and
    // organization B with membership b1 (B deleted in Clerk).
    apply_now(
        &db,
        ObjectKind::Organization,
        organization("org_rc_a", T0, "Acme"),
    )
    .await;
    apply_now(
        &db,
        ObjectKind::Organization,
        organization("org_rc_b", T0, "Beta"),
    )
    .await;
    for (id, org, user_id) in [
        ("orgmem_rc_a1", "org_rc_a", "user_1"),
        ("orgmem_rc_a2", "org_rc_a", "user_2"),
        ("orgmem_rc_b1", "org_rc_b", "user_3"),
    ] {
        apply_now(
            &db,
            ObjectKind::Membership,
            membership(id, org, user_id, "org:member", T0),
        )
        .await;
    }
    let clerk = FakeClerk::start(Clerk {
        organizations: vec![
            organization("org_rc_a", T0, "Acme"),
            organization("org_rc_c", T0 + 5, "Gamma"),
        ],
        memberships: HashMap::from([(
            "org_rc_a".to_owned(),
            vec![
                membership("orgmem_rc_a1", "org_rc_a", "user_1", "org:member", T0),
                membership("orgmem_rc_a3", "org_rc_a", "user_4", "org:admin", T0),
            ],
        )]),
        ..Clerk::default()
    });
    let client = clerk.client(500).with_spacing(Duration::ZERO);
    let summary = reconcile::reconcile(
        &pool(&db),
        &client,
        Options {
            kinds: Kinds::from_flags(false, true, true),
            dry_run: false,
            force: false,
        },
    )
    .await
    .expect("reconcile succeeds");
    assert_eq!(summary.organizations, kc(2, 1, 0, 1), "{summary}");
    // b1 went with its organization (a cascade, not counted here); a2 is gone.
    assert_eq!(summary.memberships, kc(2, 1, 0, 1), "{summary}");

    assert_eq!(
        org_row(&db, "org_rc_c")
            .await
            .and_then(|o| o.name)
            .as_deref(),
        Some("Gamma")
    );
    let deleted = |table: &'static str, id: &'static str| {
        let db = db.clone_handle();
        async move {
            count_where(
                &db,
                table,
                &format!("id = '{id}' AND deleted_at IS NOT NULL"),
            )
            .await
                == 1
        }
    };
    assert!(deleted("organizations", "org_rc_b").await);
    assert!(deleted("organization_memberships", "orgmem_rc_b1").await);
    assert!(deleted("organization_memberships", "orgmem_rc_a2").await);
    assert!(!deleted("organization_memberships", "orgmem_rc_a1").await);
    assert!(!deleted("organizations", "org_rc_a").await);
    assert_eq!(
        membership_row(&db, "orgmem_rc_a3")
            .await
            .and_then(|m| m.role)
            .as_deref(),
        Some("org:admin")
    );
    // B was looked up by id (404) before it was tombstoned; A's memberships were
    // listed once, and a2's absence confirmed by a lookup through its user.
    assert!(clerk
        .requests()
        .iter()
        .any(|(p, _, _)| p == "/v1/organizations/org_rc_b"));
    assert_eq!(
        clerk.offsets("/v1/organizations/org_rc_a/memberships"),
        vec![0, 0]
    );
    let lookups: Vec<String> = clerk
        .queries()
        .into_iter()
        .filter(|(p, q, _)| p == "/v1/organizations/org_rc_a/memberships" && q.contains("user_id="))
        .map(|(_, q, _)| q)
        .collect();
    assert_eq!(lookups, vec!["limit=500&user_id=user_2".to_owned()]);
    clerk.stop().await;
}

/// An organization with memberships s1..s5 (Clerk) and s9 (local only, gone from
/// Clerk), listed two a page while members leave and join: s1 leaves after the first
/// page, so s3 slides onto the page already read; then s0 joins and s2 leaves, which
/// would make a second listing skip s3 again.
async fn shifting_memberships(db: &TestDb) -> Clerk {
    apply_now(
        db,
        ObjectKind::Organization,
        organization("org_rc_s", T0, "Shifting"),
    )
    .await;
    let m = |n: u32| {
        membership(
            &format!("orgmem_rc_s{n}"),
            "org_rc_s",
            &format!("user_s{n}"),
            "org:member",
            T0,
        )
    };
    for n in [1, 2, 3, 4, 5, 9] {
        apply_now(db, ObjectKind::Membership, m(n)).await;
    }
    let mut served: HashMap<usize, usize> = HashMap::new();
    let hook = move |clerk: &mut Clerk, path: &str, offset: usize| {
        if path != "/v1/organizations/org_rc_s/memberships" {
            return;
        }
        let n = served.entry(offset).or_default();
        *n += 1;
        let Some(list) = clerk.memberships.get_mut("org_rc_s") else {
            return;
        };
        match (offset, *n) {
            (2, 1) => list.retain(|x| x["id"] != "orgmem_rc_s1"),
            (0, 2) => list.insert(0, m(0)),
            (2, 2) => list.retain(|x| x["id"] != "orgmem_rc_s2"),
            _ => {}
        }
    };
    Clerk {
        organizations: vec![organization("org_rc_s", T0, "Shifting")],
        memberships: HashMap::from([("org_rc_s".to_owned(), (1..=5).map(m).collect())]),
        hook: Some(Box::new(hook)),
        ..Clerk::default()
    }
}

fn memberships_only() -> Options {
    Options {
        kinds: Kinds::from_flags(false, false, true),
        dry_run: false,
        force: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_an_offset_listing_skips_twice_is_not_tombstoned() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let clerk = FakeClerk::start(shifting_memberships(&db).await);
    let client = clerk.client(2).with_spacing(Duration::ZERO);
    let summary = reconcile::reconcile(&pool(&db), &client, memberships_only())
        .await
        .expect("reconcile succeeds");
    // Listed: s1, s2, s4, s5 (s3 skipped). Gone: s9 only.
    assert_eq!(summary.memberships, kc(4, 0, 0, 1), "{summary}");
    let live = |id: &'static str| {
        let db = db.clone_handle();
        async move {
            count_where(
                &db,
                "organization_memberships",
                &format!("id = '{id}' AND deleted_at IS NULL"),
            )
            .await
                == 1
        }
    };
    assert!(
        live("orgmem_rc_s3").await,
        "s3 is a member in Clerk: it must stay live"
    );
    for id in [
        "orgmem_rc_s1",
        "orgmem_rc_s2",
        "orgmem_rc_s4",
        "orgmem_rc_s5",
    ] {
        assert!(live(id).await, "{id} was listed: it stays live");
    }
    assert!(
        !live("orgmem_rc_s9").await,
        "s9 is gone from Clerk: tombstoned"
    );
    assert_eq!(
        count_where(
            &db,
            "organization_memberships",
            "id = 'orgmem_rc_s9' AND deleted_at IS NOT NULL"
        )
        .await,
        1
    );
    // The absences were looked up through their users, in one request.
    let lookups: Vec<String> = clerk
        .queries()
        .into_iter()
        .filter(|(_, q, _)| q.contains("user_id="))
        .map(|(_, q, _)| q)
        .collect();
    assert_eq!(
        lookups,
        vec!["limit=500&user_id=user_s3&user_id=user_s9".to_owned()]
    );
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_lookup_that_ignores_the_users_confirms_no_absence() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut clerk = shifting_memberships(&db).await;
    clerk.ignore_user_id_filter = true;
    let clerk = FakeClerk::start(clerk);
    let client = clerk.client(2).with_spacing(Duration::ZERO);
    let err = reconcile::reconcile(&pool(&db), &client, memberships_only())
        .await
        .expect_err("absences cannot be confirmed");
    assert!(
        format!("{err:#}").contains("nothing was tombstoned"),
        "{err:#}"
    );
    assert_eq!(
        count_where(&db, "organization_memberships", "deleted_at IS NOT NULL").await,
        0
    );
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_binary_reconciles_dry_and_every_period() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let clerk = FakeClerk::start(drifted(&db).await);
    let command = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(binary("worker"));
        cmd.arg("reconcile")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("CLERK_API_URL", &clerk.url)
            .env("CLERK_SECRET_KEY", KEY)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd
    };
    let before = snapshot(&db).await;
    let out = command(&["--users", "--dry-run"])
        .output()
        .await
        .expect("worker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dry run"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("users"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(
        line.as_deref(),
        Some("users checked 5 missing 3 outdated 1 gone 1"),
        "{stdout}"
    );
    assert_eq!(snapshot(&db).await, before);

    let out = command(&["--all-objects", "--dry-run"])
        .output()
        .await
        .expect("worker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for kind in ["users", "organizations", "memberships"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(kind)),
            "--all-objects reconciles {kind}: {stdout}"
        );
    }
    let out = command(&["--every", "0s"])
        .output()
        .await
        .expect("worker runs");
    assert_eq!(out.status.code(), Some(2), "a zero period is refused");
    assert_eq!(snapshot(&db).await, before);

    // --every: runs, pauses, runs again; serves its metrics; stops on SIGTERM.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("address").port()
    };
    let child = command(&[
        "--users",
        "--every",
        "300ms",
        "--metrics-addr",
        &format!("127.0.0.1:{port}"),
    ])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("worker starts");
    let http = reqwest::Client::new();
    let text = wait_for("two reconcile runs", Duration::from_secs(30), || {
        let http = http.clone();
        async move {
            let text = http
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (integration::metric(
                &text,
                "clerk_sync_reconcile_runs_total",
                &[("result", "ok")],
            ) >= 2.0)
                .then_some(text)
        }
    })
    .await;
    assert_eq!(
        integration::metric(
            &text,
            "clerk_sync_reconcile_gone_total",
            &[("kind", "users")]
        ),
        1.0,
        "the second run found nothing more: {text}"
    );
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("exits after SIGTERM")
        .expect("exit status");
    assert!(out.status.success(), "exit after SIGTERM: {:?}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.matches("reconcile summary:").count() >= 2,
        "{stdout}"
    );
    assert!(db.user("user_rc_6").await.expect("6").deleted_at.is_some());
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_spaced() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let clerk = FakeClerk::start(drifted(&db).await);
    let client = clerk.client(2).with_spacing(Duration::from_millis(200));
    let started = Instant::now();
    reconcile::reconcile(&pool(&db), &client, users_only(true))
        .await
        .expect("dry run");
    let requests = clerk.requests().len();
    assert_eq!(requests, 4, "three pages and one lookup");
    assert!(
        started.elapsed() >= Duration::from_millis(200) * (requests as u32 - 1),
        "each request waited for its slot"
    );
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_objects_repairs_the_other_families_and_tombstones_none_of_them() {
    use worker::apply::Family;
    let db = TestDb::new().await;
    let role = |id: &str, at: i64| crate::backfill::object("role.created", id, at);
    // Outdated locally, newer locally (a webhook), and a live role Clerk does not
    // list: with no lookup by id to confirm its absence, it is left alone.
    for (id, at) in [
        ("role_rc_old", T0),
        ("role_rc_new", T0 + 60_000),
        ("role_rc_unlisted", T0),
    ] {
        apply_now(&db, ObjectKind::Object(Family::Role), role(id, at)).await;
    }
    // Every other family's listing is empty.
    let mut objects: HashMap<String, Vec<Value>> = Family::ALL
        .iter()
        .filter_map(|f| f.list_path())
        .map(|path| (format!("/{}", path.join("/")), Vec::new()))
        .collect();
    objects.insert(
        "/v1/organization_roles".to_owned(),
        vec![
            role("role_rc_missing", T0),
            role("role_rc_old", T0 + 1_000),
            role("role_rc_new", T0 + 1_000),
        ],
    );
    let clerk = FakeClerk::start(Clerk {
        objects,
        ..Clerk::default()
    });
    let options = Options {
        kinds: Kinds::from_flags(false, false, false).with_all_objects(true),
        dry_run: false,
        force: false,
    };
    let summary = reconcile::reconcile(&pool(&db), &clerk.client(500), options)
        .await
        .expect("reconcile succeeds");
    let roles = summary
        .objects
        .iter()
        .find(|(f, _)| *f == Family::Role)
        .map(|(_, c)| *c)
        .expect("roles reconciled");
    assert_eq!(
        roles,
        KindCounts {
            checked: 3,
            missing: 1,
            outdated: 1,
            gone: 0,
            superseded: 0,
            skipped: 0,
        },
        "{summary}"
    );
    let version = |id: &'static str| {
        db.with(move |c| {
            diesel::sql_query(
                "SELECT (extract(epoch FROM clerk_updated_at) * 1000)::bigint AS v, \
                        deleted_at IS NOT NULL AS deleted FROM roles WHERE id = $1",
            )
            .bind::<diesel::sql_types::Text, _>(id)
            .get_result::<RoleRow>(c)
            .optional()
            .expect("roles readable")
        })
    };
    assert_eq!(
        version("role_rc_missing").await,
        Some(RoleRow {
            v: T0,
            deleted: false
        })
    );
    assert_eq!(
        version("role_rc_old").await,
        Some(RoleRow {
            v: T0 + 1_000,
            deleted: false
        })
    );
    assert_eq!(
        version("role_rc_new").await,
        Some(RoleRow {
            v: T0 + 60_000,
            deleted: false
        }),
        "the newer local row wins"
    );
    assert_eq!(
        version("role_rc_unlisted").await,
        Some(RoleRow {
            v: T0,
            deleted: false
        }),
        "never tombstoned on a listing alone"
    );
    assert!(summary.to_string().contains("roles"), "{summary}");
    clerk.stop().await;
}

#[derive(Debug, PartialEq, diesel::QueryableByName)]
struct RoleRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    v: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    deleted: bool,
}

/// A row as JSON without its time columns (`clerk_updated_at`, `deleted_at`,
/// `synced_at`: when each path wrote it), and whether it is a tombstone.
async fn without_times(
    db: &TestDb,
    table: &str,
    id: &str,
) -> (serde_json::Map<String, Value>, bool) {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        whole: Value,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        deleted: bool,
    }
    let sql = format!(
        "SELECT to_jsonb(t) - 'clerk_updated_at' - 'deleted_at' - 'synced_at' AS whole, \
                deleted_at IS NOT NULL AS deleted FROM {table} t WHERE id = $1"
    );
    let id = id.to_owned();
    let r = db
        .with(move |c| {
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::Text, _>(id)
                .get_result::<Found>(c)
                .expect("the row exists")
        })
        .await;
    let Value::Object(row) = r.whole else {
        panic!("a row is an object")
    };
    (row, r.deleted)
}

/// The same user and organization (every column filled) in two databases: one gets
/// Clerk's `user.deleted` and `organization.deleted` webhooks (without the user's
/// `external_id` or the organization's `slug`), the other runs reconcile against a Clerk
/// that no longer has them. Both tombstones hold the same value in every column but
/// the time columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tombstone_is_the_same_whether_a_webhook_or_reconcile_wrote_it() {
    use shared::event::Envelope;
    use worker::apply::{apply_event, EventToApply, Payloads};
    shared::telemetry::init_for_tests();
    let (by_webhook, by_reconcile) = (TestDb::new().await, TestDb::new().await);
    let mut u = user("user_tomb", T0, "Gone");
    u["external_id"] = "app-user-42".into();
    u["username"] = "gone".into();
    u["public_metadata"] = serde_json::json!({"plan": "pro"});
    let o = organization("org_tomb", T0, "Tomb Corp");
    for db in [&by_webhook, &by_reconcile] {
        assert_eq!(
            apply_now(db, ObjectKind::User, u.clone()).await,
            Outcome::Applied
        );
        assert_eq!(
            apply_now(db, ObjectKind::Organization, o.clone()).await,
            Outcome::Applied
        );
        let (live, deleted) = without_times(db, "users", "user_tomb").await;
        assert!(!deleted && live["external_id"] == "app-user-42" && live["email"].is_string());
    }

    // Clerk's `organization.deleted` names the slug; payloads drift, so this one
    // does not (the stored slug is kept all the same).
    let mut org_deleted = integration::event("organization.deleted", "org_tomb", T0 + 1_000);
    org_deleted["data"]
        .as_object_mut()
        .expect("data")
        .remove("slug");
    for (i, e) in [
        integration::event("user.deleted", "user_tomb", T0 + 1_000),
        org_deleted,
    ]
    .into_iter()
    .enumerate()
    {
        let outcome = by_webhook
            .with(move |c| {
                let body = serde_json::to_vec(&e).expect("json");
                let envelope = Envelope::parse(&body).expect("envelope");
                let p = EventToApply::from_envelope(
                    &format!("msg_tomb_{i}"),
                    envelope,
                    None,
                    1,
                    Payloads::Discard,
                )
                .expect("prepared");
                c.transaction(|c| apply_event(c, &p)).expect("applies")
            })
            .await;
        assert_eq!(outcome, Outcome::Applied);
    }

    let clerk = FakeClerk::start(Clerk::default());
    let client = clerk.client(100).with_spacing(Duration::ZERO);
    let options = Options {
        kinds: Kinds::from_flags(true, true, false),
        dry_run: false,
        force: false,
    };
    let summary = reconcile::reconcile(&pool(&by_reconcile), &client, options)
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        (summary.users.gone, summary.organizations.gone),
        (1, 1),
        "{summary}"
    );
    clerk.stop().await;

    for (table, id, columns) in [
        (
            "users",
            "user_tomb",
            &[
                "clerk_created_at",
                "data",
                "email",
                "external_id",
                "first_name",
                "id",
                "image_url",
                "last_name",
                "public_metadata",
                "username",
            ][..],
        ),
        (
            "organizations",
            "org_tomb",
            &[
                "clerk_created_at",
                "created_by",
                "data",
                "id",
                "image_url",
                "name",
                "public_metadata",
                "slug",
            ][..],
        ),
    ] {
        let (webhook, deleted_by_webhook) = without_times(&by_webhook, table, id).await;
        let (reconciled, deleted_by_reconcile) = without_times(&by_reconcile, table, id).await;
        assert!(
            deleted_by_webhook && deleted_by_reconcile,
            "{table}: tombstones"
        );
        let names: Vec<&str> = webhook.keys().map(String::as_str).collect();
        assert_eq!(
            names, columns,
            "{table}: every column but the times is compared"
        );
        for column in columns {
            assert_eq!(
                webhook[*column], reconciled[*column],
                "{table}.{column}: the webhook's tombstone against reconcile's"
            );
        }
    }
    // The shape both share: what a tombstone keeps.
    let (user_row, _) = without_times(&by_webhook, "users", "user_tomb").await;
    assert_eq!(user_row["external_id"], "app-user-42");
    let (org_row, _) = without_times(&by_webhook, "organizations", "org_tomb").await;
    assert_eq!(org_row["slug"], o["slug"]);
    assert!(user_row["email"].is_null() && user_row["first_name"].is_null());
    assert_eq!(
        user_row["data"],
        serde_json::json!({"object": "user", "id": "user_tomb", "deleted": true})
    );
}
