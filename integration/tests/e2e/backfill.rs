//! `worker backfill` against the fake Clerk Backend API of
//! [`integration::fake_clerk`], served on 127.0.0.1: paging,
//! 429 and 5xx retries, a refused key, and the ordering guard beside rows that
//! webhooks already wrote (a newer update, a tombstone).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use integration::{binary, TestDb};
use serde_json::Value;
use shared::event::Envelope;
use worker::{
    apply::{apply_object, object_change, EventToApply, Family, ObjectKind, Outcome, Payloads},
    backfill::{self, ClerkClient, Counts, Kinds, Retry},
};

use crate::T0;
pub(crate) use integration::fake_clerk::{Clerk, FakeClerk, Fault, KEY};

/// A user as the Backend API lists it: the fixture, with its own id, version, first
/// name and primary email (the second address of the list, found by id).
pub(crate) fn user(id: &str, version_ms: i64, first_name: &str) -> Value {
    let mut u =
        shared::examples::event("user.created", id, version_ms).expect("example")["data"].take();
    u["first_name"] = first_name.into();
    u["email_addresses"][0]["email_address"] = format!("{id}.work@example.org").into();
    u["email_addresses"][1]["email_address"] = format!("{id}@example.org").into();
    u
}

pub(crate) fn organization(id: &str, version_ms: i64, name: &str) -> Value {
    let mut o = shared::examples::event("organization.created", id, version_ms).expect("example")
        ["data"]
        .take();
    o["name"] = name.into();
    o["slug"] = name.to_lowercase().replace(' ', "-").into();
    o
}

pub(crate) fn membership(
    id: &str,
    organization_id: &str,
    user_id: &str,
    role: &str,
    version_ms: i64,
) -> Value {
    let mut m = shared::examples::event("organizationMembership.created", id, version_ms)
        .expect("example")["data"]
        .take();
    m["organization"]["id"] = organization_id.into();
    m["public_user_data"]["user_id"] = user_id.into();
    m["role"] = role.into();
    m
}

pub(crate) fn pool(db: &TestDb) -> shared::db::PgPool {
    shared::db::pool(&db.url, shared::db::DEFAULT_SCHEMA, 2).expect("pool")
}

/// Applies a Backend API object as a webhook would have, before the backfill.
pub(crate) async fn apply_now(db: &TestDb, kind: ObjectKind, object: Value) -> Outcome {
    db.with(move |c| {
        let (change, subject) =
            object_change(kind, object.as_object().expect("an object")).expect("valid object");
        apply_object(c, &change, subject.as_deref()).expect("applies")
    })
    .await
}

/// Applies a `user.deleted` webhook at `at_ms`.
pub(crate) async fn delete_user(db: &TestDb, id: &str, at_ms: i64) {
    let event = integration::event("user.deleted", id, at_ms);
    db.with(move |c| {
        let body = serde_json::to_vec(&event).expect("json");
        let envelope = Envelope::parse(&body).expect("envelope");
        let p = EventToApply::from_envelope("msg_delete", envelope, None, 1, Payloads::Discard)
            .expect("prepared");
        apply_object(c, &p.change, p.subject_user_id.as_deref()).expect("applies")
    })
    .await;
}

#[derive(Debug, PartialEq)]
pub(crate) struct OrgRow {
    pub(crate) name: Option<String>,
    pub(crate) slug: Option<String>,
    pub(crate) version: i64,
}

pub(crate) async fn org_row(db: &TestDb, id: &str) -> Option<OrgRow> {
    let id = id.to_owned();
    db.with(move |c| {
        use diesel::prelude::*;
        use shared::schema::organizations::dsl as o;
        o::organizations
            .find(id)
            .select((o::name, o::slug, o::clerk_updated_at))
            .first::<(Option<String>, Option<String>, DateTime<Utc>)>(c)
            .optional()
            .expect("organizations readable")
            .map(|(name, slug, v)| OrgRow {
                name,
                slug,
                version: v.timestamp_millis(),
            })
    })
    .await
}

#[derive(Debug, PartialEq)]
pub(crate) struct MembershipRow {
    pub(crate) organization_id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) has_user_data: bool,
}

pub(crate) async fn membership_row(db: &TestDb, id: &str) -> Option<MembershipRow> {
    let id = id.to_owned();
    db.with(move |c| {
        use diesel::prelude::*;
        use shared::schema::organization_memberships::dsl as m;
        m::organization_memberships
            .find(id)
            .select((m::organization_id, m::user_id, m::role, m::data))
            .first::<(String, Option<String>, Option<String>, Option<Value>)>(c)
            .optional()
            .expect("memberships readable")
            .map(|(organization_id, user_id, role, data)| MembershipRow {
                organization_id,
                user_id,
                role,
                has_user_data: data
                    .as_ref()
                    .and_then(|d| d.get("public_user_data"))
                    .is_some(),
            })
    })
    .await
}

fn counts(read: u64, applied: u64, stale: u64, skipped: u64) -> Counts {
    Counts {
        read,
        applied,
        stale,
        skipped,
    }
}

/// Five users (pages of two), three organizations (one unusable) and their
/// memberships; a 429 and a 500 on the way; one user already updated by a newer
/// webhook and one already deleted.
fn instance() -> Clerk {
    let users = (1..=5)
        .map(|i| user(&format!("user_bf_{i}"), T0 + i, &format!("Backfilled{i}")))
        .collect();
    let mut broken = organization("org_bf_broken", T0, "Broken");
    broken
        .as_object_mut()
        .expect("an object")
        .remove("updated_at");
    let organizations = vec![
        organization("org_bf_a", T0, "Acme"),
        organization("org_bf_b", T0 + 10, "Beta Corp"),
        broken,
    ];
    let memberships = HashMap::from([
        (
            "org_bf_a".to_owned(),
            vec![
                membership("orgmem_bf_a1", "org_bf_a", "user_bf_1", "org:admin", T0),
                membership("orgmem_bf_a2", "org_bf_a", "user_bf_2", "org:member", T0),
                membership("orgmem_bf_a3", "org_bf_a", "user_bf_3", "org:member", T0),
            ],
        ),
        (
            "org_bf_b".to_owned(),
            vec![membership(
                "orgmem_bf_b1",
                "org_bf_b",
                "user_bf_4",
                "org:member",
                T0,
            )],
        ),
    ]);
    Clerk {
        users,
        organizations,
        memberships,
        ..Clerk::default()
    }
    .fault("/v1/users", 2, Fault::RateLimited(Some(1)))
    .fault("/v1/users", 4, Fault::ServerError)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_pages_retries_and_keeps_newer_rows_and_tombstones() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    // What webhooks already did: user 2 was updated after the version Clerk lists
    // (as if the update landed while the backfill read), user 3 was deleted.
    let newer = user("user_bf_2", T0 + 60_000, "NewerByWebhook");
    assert_eq!(
        apply_now(&db, ObjectKind::User, newer).await,
        Outcome::Applied
    );
    delete_user(&db, "user_bf_3", T0 - 1_000).await;

    let clerk = FakeClerk::start(instance());
    let pool = pool(&db);
    let started = Instant::now();
    let summary = backfill::backfill(&pool, &clerk.client(2), Kinds::all())
        .await
        .expect("backfill succeeds");

    assert_eq!(summary.users, counts(5, 3, 2, 0), "{summary}");
    assert_eq!(summary.organizations, counts(3, 2, 0, 1), "{summary}");
    assert_eq!(summary.memberships, counts(4, 4, 0, 0), "{summary}");
    assert_eq!(summary.organizations_scanned, 3);

    // Pages of two: offsets 0, 2, 4; the 429 page and the 500 page were each asked
    // for again, and the 429's Retry-After: 1 was honoured.
    assert_eq!(clerk.offsets("/v1/users"), vec![0, 2, 2, 4, 4]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was waited out"
    );
    assert_eq!(clerk.offsets("/v1/organizations"), vec![0, 2]);
    assert_eq!(
        clerk.offsets("/v1/organizations/org_bf_a/memberships"),
        vec![0, 2]
    );
    assert_eq!(
        clerk.offsets("/v1/organizations/org_bf_b/memberships"),
        vec![0]
    );
    assert_eq!(
        clerk.offsets("/v1/organizations/org_bf_broken/memberships"),
        vec![0],
        "memberships are listed for every organization Clerk lists"
    );
    assert!(clerk
        .requests()
        .iter()
        .all(|(_, _, order)| order.as_deref() == Some("+created_at")));

    // Users: the primary email by id, names, versions.
    for i in [1, 4, 5] {
        let id = format!("user_bf_{i}");
        let u = db.user(&id).await.expect("user row");
        assert_eq!(u.email, Some(format!("{id}@example.org")));
        assert_eq!(u.first_name, Some(format!("Backfilled{i}")));
        assert_eq!(u.last_name.as_deref(), Some("Doe"));
        assert_eq!(u.clerk_updated_at.timestamp_millis(), T0 + i);
        assert!(u.deleted_at.is_none());
    }
    let kept = db.user("user_bf_2").await.expect("user 2");
    assert_eq!(
        kept.first_name.as_deref(),
        Some("NewerByWebhook"),
        "an older backfilled version does not overwrite a newer row"
    );
    assert_eq!(kept.clerk_updated_at.timestamp_millis(), T0 + 60_000);
    let gone = db.user("user_bf_3").await.expect("tombstone");
    assert!(gone.deleted_at.is_some(), "the tombstone stays");
    assert!(gone.email.is_none() && gone.first_name.is_none());
    assert_eq!(db.count("users").await, 5);

    // Organizations: the unusable one is skipped.
    assert_eq!(
        org_row(&db, "org_bf_a").await,
        Some(OrgRow {
            name: Some("Acme".into()),
            slug: Some("acme".into()),
            version: T0
        })
    );
    assert_eq!(
        org_row(&db, "org_bf_b").await,
        Some(OrgRow {
            name: Some("Beta Corp".into()),
            slug: Some("beta-corp".into()),
            version: T0 + 10
        })
    );
    assert_eq!(org_row(&db, "org_bf_broken").await, None);
    assert_eq!(db.count("organizations").await, 2);

    // Memberships, with the deleted user's personal data erased from theirs.
    assert_eq!(
        membership_row(&db, "orgmem_bf_a1").await,
        Some(MembershipRow {
            organization_id: "org_bf_a".into(),
            user_id: Some("user_bf_1".into()),
            role: Some("org:admin".into()),
            has_user_data: true,
        })
    );
    assert_eq!(
        membership_row(&db, "orgmem_bf_b1").await,
        Some(MembershipRow {
            organization_id: "org_bf_b".into(),
            user_id: Some("user_bf_4".into()),
            role: Some("org:member".into()),
            has_user_data: true,
        })
    );
    assert_eq!(
        membership_row(&db, "orgmem_bf_a3").await,
        Some(MembershipRow {
            organization_id: "org_bf_a".into(),
            user_id: Some("user_bf_3".into()),
            role: Some("org:member".into()),
            has_user_data: false,
        }),
        "a deleted user's data is not brought back through a membership"
    );
    assert_eq!(db.count("organization_memberships").await, 4);
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_runs_again_with_the_same_result() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    delete_user(&db, "user_bf_3", T0 - 1_000).await;
    let mut instance = instance();
    instance.faults.clear();
    let clerk = FakeClerk::start(instance);
    let pool = pool(&db);
    let client = clerk.client(2);

    let first = backfill::backfill(&pool, &client, Kinds::all())
        .await
        .expect("first run");
    let mut users_before = Vec::new();
    for i in 1..=5 {
        users_before.push(db.user(&format!("user_bf_{i}")).await);
    }
    let second = backfill::backfill(&pool, &client, Kinds::all())
        .await
        .expect("second run");
    assert_eq!(first.users, counts(5, 4, 1, 0));
    // The same versions again land again (a no-op rewrite); the tombstone is stale.
    assert_eq!(second.users, first.users);
    assert_eq!(second.organizations, first.organizations);
    // The deleted user's membership was written as a tombstone by the first run
    // (a membership of a deleted user is one), so the second run's copy is stale.
    assert_eq!(first.memberships, counts(4, 4, 0, 0));
    assert_eq!(second.memberships, counts(4, 3, 1, 0));
    for (i, before) in (1..=5).zip(users_before) {
        let after = db.user(&format!("user_bf_{i}")).await;
        let strip = |u: Option<shared::models::User>| {
            u.map(|u| (u.email, u.first_name, u.clerk_updated_at, u.deleted_at))
        };
        assert_eq!(strip(after), strip(before), "user_bf_{i} unchanged");
    }
    assert_eq!(db.count("users").await, 5);
    assert_eq!(db.count("organizations").await, 2);
    assert_eq!(db.count("organization_memberships").await, 4);
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_reads_only_the_kinds_asked_for() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut instance = instance();
    instance.faults.clear();
    // Users wrapped in {"data": [...]} are accepted too.
    instance.users_wrapped = true;
    let clerk = FakeClerk::start(instance);
    let pool = pool(&db);
    let client = clerk.client(500);

    let only_memberships =
        backfill::backfill(&pool, &client, Kinds::from_flags(false, false, true))
            .await
            .expect("memberships");
    assert_eq!(only_memberships.memberships, counts(4, 4, 0, 0));
    assert_eq!(only_memberships.users, Counts::default());
    assert_eq!(only_memberships.organizations, Counts::default());
    assert!(clerk.offsets("/v1/users").is_empty());
    assert_eq!(
        clerk.offsets("/v1/organizations"),
        vec![0],
        "organizations are listed to find their memberships"
    );
    assert_eq!(db.count("organizations").await, 0, "but not applied");
    assert_eq!(db.count("users").await, 0);
    assert_eq!(db.count("organization_memberships").await, 4);

    let only_users = backfill::backfill(&pool, &client, Kinds::from_flags(true, false, false))
        .await
        .expect("users");
    assert_eq!(only_users.users, counts(5, 5, 0, 0));
    assert_eq!(clerk.offsets("/v1/users"), vec![0]);
    assert_eq!(clerk.offsets("/v1/organizations"), vec![0]);
    assert_eq!(db.count("users").await, 5);
    assert_eq!(db.count("organizations").await, 0);
    assert!(only_users.to_string().contains("users"));
    assert!(!only_users.to_string().contains("memberships"));
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_deleted_during_the_backfill_is_skipped() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut instance = instance();
    instance.faults.clear();
    // While the first organization's memberships are read, the second one is
    // deleted in Clerk: its memberships listing answers 404.
    instance.hook = Some(Box::new(|clerk: &mut Clerk, path: &str, _offset: usize| {
        if path == "/v1/organizations/org_bf_a/memberships" {
            clerk.organizations.retain(|o| o["id"] != "org_bf_b");
        }
    }));
    let clerk = FakeClerk::start(instance);
    let summary = backfill::backfill(&pool(&db), &clerk.client(500), Kinds::all())
        .await
        .expect("the backfill carries on past a deleted organization");
    assert_eq!(summary.organizations_gone, 1, "{summary}");
    assert!(
        summary
            .to_string()
            .contains("deleted in Clerk during the run"),
        "{summary}"
    );
    assert_eq!(
        membership_row(&db, "orgmem_bf_b1").await,
        None,
        "nothing read for the deleted organization"
    );
    assert!(membership_row(&db, "orgmem_bf_a1").await.is_some());
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_fails_at_once_naming_clerk_secret_key() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let clerk = FakeClerk::start(instance());
    let client = ClerkClient::new(&clerk.url, "sk_test_wrong", 2).expect("client");
    let err = backfill::backfill(&pool(&db), &client, Kinds::all())
        .await
        .expect_err("a 401 fails");
    let message = format!("{err:#}");
    assert!(
        message.contains(
            "CLERK_SECRET_KEY was refused by Clerk (401): check it is the secret key of this instance"
        ),
        "{message}"
    );
    assert!(!message.contains("sk_test_wrong"), "the key is not echoed");
    assert_eq!(clerk.requests().len(), 1, "no retry of a refused key");
    assert_eq!(db.count("users").await, 0);
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_that_keeps_failing_is_given_up_on_after_bounded_retries() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut instance = instance();
    instance.faults.clear();
    // A 429 without Retry-After waits the default and is not counted as a failure;
    // then 500s until the tries run out.
    instance = instance.fault("/v1/organizations", 0, Fault::RateLimited(None));
    for _ in 0..10 {
        instance = instance.fault("/v1/organizations", 0, Fault::ServerError);
    }
    let clerk = FakeClerk::start(instance);
    let client = clerk.client(2).with_retry(Retry {
        max_tries: 3,
        first_backoff: Duration::from_millis(10),
        default_retry_after: Duration::from_millis(10),
        ..Retry::default()
    });
    let err = backfill::backfill(&pool(&db), &client, Kinds::from_flags(false, true, false))
        .await
        .expect_err("gives up");
    let message = format!("{err:#}");
    assert!(
        message.contains("could not read organizations from Clerk"),
        "{message}"
    );
    assert!(message.contains("failed 3 times"), "{message}");
    assert!(message.contains("500"), "{message}");
    assert_eq!(
        clerk.offsets("/v1/organizations"),
        vec![0, 0, 0, 0],
        "one 429, then three 500s"
    );
    assert_eq!(db.count("organizations").await, 0);
    clerk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_binary_backfills_and_needs_the_secret_key() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let mut instance = instance();
    instance.faults.clear();
    let clerk = FakeClerk::start(instance);
    let run = |key: Option<&str>, args: &[&str]| {
        let mut cmd = tokio::process::Command::new(binary("worker"));
        cmd.arg("backfill")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("CLERK_API_URL", &clerk.url)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null());
        if let Some(key) = key {
            cmd.env("CLERK_SECRET_KEY", key);
        }
        cmd.output()
    };

    let out = run(None, &[]).await.expect("worker runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CLERK_SECRET_KEY"), "{stderr}");
    assert!(clerk.requests().is_empty());

    let out = run(Some(KEY), &["--users", "--organizations"])
        .await
        .expect("worker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backfill summary"), "{stdout}");
    let line = |kind: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(kind))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        line("users").as_deref(),
        Some("users applied 5 stale 0 skipped 0 (read 5)"),
        "{stdout}"
    );
    assert_eq!(
        line("organizations").as_deref(),
        Some("organizations applied 2 stale 0 skipped 1 (read 3)"),
        "{stdout}"
    );
    assert_eq!(line("memberships"), None, "not asked for");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(KEY) && !stdout.contains(KEY),
        "the key is never printed"
    );
    assert_eq!(db.count("users").await, 5);
    assert_eq!(db.count("organization_memberships").await, 0);
    clerk.stop().await;
}

/// A Backend API object of another family: the webhook example's `data`.
pub(crate) fn object(event_type: &str, id: &str, version_ms: i64) -> Value {
    shared::examples::event(event_type, id, version_ms).expect("example")["data"].take()
}

#[tokio::test]
async fn all_objects_reads_every_family_listing_under_the_ordering_rules() {
    use diesel::prelude::*;
    let db = TestDb::new().await;
    // A webhook already applied a newer version of one role.
    let newer = object("role.created", "role_bf_2", T0 + 60_000);
    assert_eq!(
        apply_now(&db, ObjectKind::Object(Family::Role), newer).await,
        Outcome::Applied
    );
    let mut broken = object("organizationInvitation.created", "orginv_bf_3", T0);
    broken.as_object_mut().expect("object").remove("updated_at");
    let objects = HashMap::from([
        (
            "/v1/organization_invitations".to_owned(),
            vec![
                object("organizationInvitation.created", "orginv_bf_1", T0),
                object("organizationInvitation.created", "orginv_bf_2", T0),
                broken,
            ],
        ),
        (
            "/v1/organization_domains".to_owned(),
            vec![object("organizationDomain.created", "orgdmn_bf_1", T0)],
        ),
        (
            "/v1/organization_roles".to_owned(),
            vec![
                object("role.created", "role_bf_1", T0),
                object("role.created", "role_bf_2", T0),
            ],
        ),
        (
            "/v1/organization_permissions".to_owned(),
            vec![object("permission.created", "perm_bf_1", T0)],
        ),
        (
            "/v1/waitlist_entries".to_owned(),
            vec![object("waitlistEntry.created", "wle_bf_1", T0)],
        ),
        (
            "/v1/billing/subscription_items".to_owned(),
            vec![object("subscriptionItem.active", "csubi_bf_1", T0)],
        ),
    ]);
    let clerk = FakeClerk::start(Clerk {
        objects,
        ..Clerk::default()
    });
    let summary = backfill::backfill(
        &pool(&db),
        &clerk.client(2),
        Kinds::from_flags(false, false, false).with_all_objects(true),
    )
    .await
    .expect("backfill succeeds");
    let by_family: HashMap<Family, Counts> = summary.objects.iter().copied().collect();
    assert_eq!(
        by_family[&Family::Invitation],
        counts(3, 2, 0, 1),
        "{summary}"
    );
    assert_eq!(by_family[&Family::Role], counts(2, 1, 1, 0), "{summary}");
    for f in [
        Family::Domain,
        Family::Permission,
        Family::WaitlistEntry,
        Family::SubscriptionItem,
    ] {
        assert_eq!(by_family[&f], counts(1, 1, 0, 0), "{f}: {summary}");
    }
    assert!(!by_family.contains_key(&Family::Subscription), "no listing");
    assert_eq!(clerk.offsets("/v1/organization_invitations"), vec![0, 2]);
    assert_eq!(
        clerk.offsets("/v1/users"),
        vec![0],
        "no flag: the first three too"
    );
    assert!(summary.to_string().contains("billing_subscription_items"));

    let rows: Vec<(String, Option<String>, Option<Value>)> = db
        .with(|c| {
            use shared::schema::organization_invitations::dsl as i;
            i::organization_invitations
                .select((i::id, i::status, i::data))
                .order(i::id)
                .load(c)
                .expect("invitations")
        })
        .await;
    assert_eq!(rows.len(), 2);
    for (id, status, data) in rows {
        assert_eq!(status.as_deref(), Some("pending"));
        let data = data.expect("data").to_string();
        assert!(
            !data.contains("__clerk_ticket"),
            "{id}: the accept token is not stored"
        );
    }
    let role_version: Option<String> = db
        .with(|c| {
            use shared::schema::roles::dsl as r;
            r::roles
                .find("role_bf_2")
                .select(r::clerk_updated_at)
                .first::<DateTime<Utc>>(c)
                .map(|t| t.timestamp_millis().to_string())
                .ok()
        })
        .await;
    assert_eq!(
        role_version,
        Some((T0 + 60_000).to_string()),
        "the newer row stays"
    );
    clerk.stop().await;
}
