//! Organizations and memberships: the same ordering rules and tombstones as users,
//! and erasure of a deleted user's data in their memberships.

use integration::{event, Options, TestApp};
use serde_json::Value;

use crate::T0;

#[derive(Debug, PartialEq)]
struct Org {
    name: Option<String>,
    slug: Option<String>,
    created_by: Option<String>,
    version: i64,
    deleted: bool,
}

async fn org(app: &TestApp, id: &str) -> Option<Org> {
    let id = id.to_owned();
    app.db
        .with(move |c| {
            use diesel::prelude::*;
            use shared::schema::organizations::dsl as o;
            o::organizations
                .find(id)
                .select((
                    o::name,
                    o::slug,
                    o::created_by,
                    o::clerk_updated_at,
                    o::deleted_at,
                ))
                .first::<(
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    chrono::DateTime<chrono::Utc>,
                    Option<chrono::DateTime<chrono::Utc>>,
                )>(c)
                .optional()
                .expect("organizations readable")
                .map(|(name, slug, created_by, v, d)| Org {
                    name,
                    slug,
                    created_by,
                    version: v.timestamp_millis(),
                    deleted: d.is_some(),
                })
        })
        .await
}

#[derive(Debug, PartialEq)]
struct Membership {
    organization_id: String,
    user_id: Option<String>,
    role: Option<String>,
    deleted: bool,
    data: Option<Value>,
}

async fn membership(app: &TestApp, id: &str) -> Option<Membership> {
    let id = id.to_owned();
    app.db
        .with(move |c| {
            use diesel::prelude::*;
            use shared::schema::organization_memberships::dsl as m;
            m::organization_memberships
                .find(id)
                .select((
                    m::organization_id,
                    m::user_id,
                    m::role,
                    m::deleted_at,
                    m::data,
                ))
                .first::<(
                    String,
                    Option<String>,
                    Option<String>,
                    Option<chrono::DateTime<chrono::Utc>>,
                    Option<Value>,
                )>(c)
                .optional()
                .expect("memberships readable")
                .map(|(organization_id, user_id, role, d, data)| Membership {
                    organization_id,
                    user_id,
                    role,
                    deleted: d.is_some(),
                    data,
                })
        })
        .await
}

fn named_org(event_type: &str, id: &str, version: i64, name: &str) -> Value {
    let mut e = event(event_type, id, version);
    e["data"]["name"] = name.into();
    e
}

fn member(
    event_type: &str,
    id: &str,
    org_id: &str,
    user_id: &str,
    version: i64,
    role: &str,
) -> Value {
    let mut e = event(event_type, id, version);
    e["data"]["organization"]["id"] = org_id.into();
    e["data"]["public_user_data"]["user_id"] = user_id.into();
    e["data"]["role"] = role.into();
    e
}

#[tokio::test]
async fn an_organization_lives_and_dies_in_any_order() {
    let app = TestApp::spawn(Options::default()).await;
    let upd = app
        .post(&named_org(
            "organization.updated",
            "org_a",
            T0 + 1000,
            "Acme 2",
        ))
        .await;
    assert_eq!(app.wait_recorded(&upd).await, "applied");
    let cre = app
        .post(&named_org("organization.created", "org_a", T0, "Acme 1"))
        .await;
    assert_eq!(app.wait_recorded(&cre).await, "stale");
    let o = org(&app, "org_a").await.expect("row");
    assert_eq!(o.name.as_deref(), Some("Acme 2"));
    assert_eq!(o.slug.as_deref(), Some("acme-corp"));
    assert_eq!(
        o.created_by.as_deref(),
        Some("user_2g7np7Hrk0SN6kj5EDMLDaKNL0S")
    );
    assert_eq!(o.version, T0 + 1000);

    let m = app
        .post(&member(
            "organizationMembership.created",
            "orgmem_a",
            "org_a",
            "user_a",
            T0,
            "org:member",
        ))
        .await;
    assert_eq!(app.wait_recorded(&m).await, "applied");

    let del = app
        .post(&event("organization.deleted", "org_a", T0 + 5000))
        .await;
    assert_eq!(app.wait_recorded(&del).await, "applied");
    let o = org(&app, "org_a").await.expect("tombstone");
    assert!(o.deleted && o.name.is_none());
    assert!(
        membership(&app, "orgmem_a").await.expect("row").deleted,
        "a deleted organization tombstones its memberships"
    );

    let late = app
        .post(&named_org(
            "organization.updated",
            "org_a",
            T0 + 9000,
            "Zombie Corp",
        ))
        .await;
    assert_eq!(app.wait_recorded(&late).await, "stale");
    assert!(org(&app, "org_a").await.expect("row").deleted);

    // A membership created late, for an organization already deleted, lands as a tombstone.
    let late_m = app
        .post(&member(
            "organizationMembership.created",
            "orgmem_late",
            "org_a",
            "user_b",
            T0 + 100,
            "org:member",
        ))
        .await;
    app.wait_recorded(&late_m).await;
    assert!(membership(&app, "orgmem_late").await.expect("row").deleted);
}

#[tokio::test]
async fn memberships_follow_the_ordering_rules_and_deletes_keep_the_whole_membership() {
    let app = TestApp::spawn(Options::default()).await;
    let upd = app
        .post(&member(
            "organizationMembership.updated",
            "orgmem_x",
            "org_x",
            "user_x",
            T0 + 2000,
            "org:admin",
        ))
        .await;
    assert_eq!(app.wait_recorded(&upd).await, "applied");
    let cre = app
        .post(&member(
            "organizationMembership.created",
            "orgmem_x",
            "org_x",
            "user_x",
            T0,
            "org:member",
        ))
        .await;
    assert_eq!(app.wait_recorded(&cre).await, "stale");
    let m = membership(&app, "orgmem_x").await.expect("row");
    assert_eq!(m.role.as_deref(), Some("org:admin"));
    assert_eq!(m.organization_id, "org_x");
    assert_eq!(m.user_id.as_deref(), Some("user_x"));

    let mut del = member(
        "organizationMembership.deleted",
        "orgmem_x",
        "org_x",
        "user_x",
        T0 + 3000,
        "org:admin",
    );
    del["timestamp"] = (T0 + 3000).into();
    let del = app.post(&del).await;
    assert_eq!(app.wait_recorded(&del).await, "applied");
    let m = membership(&app, "orgmem_x").await.expect("tombstone");
    assert!(m.deleted);
    assert_eq!(
        m.role.as_deref(),
        Some("org:admin"),
        "the delete carries the whole membership"
    );

    let late = app
        .post(&member(
            "organizationMembership.updated",
            "orgmem_x",
            "org_x",
            "user_x",
            T0 + 9000,
            "org:member",
        ))
        .await;
    assert_eq!(app.wait_recorded(&late).await, "stale");
    assert!(membership(&app, "orgmem_x").await.expect("row").deleted);
}

#[tokio::test]
async fn deleting_a_user_erases_them_from_memberships_and_every_stored_payload() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let mut ids = Vec::new();
    ids.push(app.post(&event("user.created", "user_e", T0)).await);
    ids.push(
        app.post(&member(
            "organizationMembership.created",
            "orgmem_e",
            "org_e",
            "user_e",
            T0,
            "org:member",
        ))
        .await,
    );
    for id in &ids {
        app.wait_recorded(id).await;
    }
    let before = membership(&app, "orgmem_e").await.expect("row");
    assert!(before
        .data
        .as_ref()
        .is_some_and(|d| d.to_string().contains("john.doe@example.org")));

    let del = app.post(&event("user.deleted", "user_e", T0 + 1000)).await;
    app.wait_recorded(&del).await;
    // A membership event about the deleted user arriving late is stored without them.
    let late = app
        .post(&member(
            "organizationMembership.updated",
            "orgmem_e",
            "org_e",
            "user_e",
            T0 + 2000,
            "org:admin",
        ))
        .await;
    app.wait_recorded(&late).await;

    let personal = [
        "john.doe@example.org",
        "john.work@example.org",
        "\"John\"",
        "\"Doe\"",
    ];
    let m = membership(&app, "orgmem_e").await.expect("row");
    let data = m.data.map(|d| d.to_string()).unwrap_or_default();
    for p in personal {
        assert!(!data.contains(p), "membership data holds {p}: {data}");
    }
    assert_eq!(
        m.user_id.as_deref(),
        Some("user_e"),
        "the link to the user stays"
    );
    for e in app.db.events().await {
        let text = e.payload.map(|p| p.to_string()).unwrap_or_default();
        for p in personal {
            assert!(!text.contains(p), "{} payload holds {p}", e.svix_id);
        }
    }
    let u = app.db.user("user_e").await.expect("tombstone");
    for field in [
        &u.email,
        &u.first_name,
        &u.last_name,
        &u.username,
        &u.image_url,
    ] {
        assert!(field.is_none());
    }
}
