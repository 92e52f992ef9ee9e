//! The other objects Clerk sends: organization invitations and domains, roles,
//! permissions, waitlist entries, billing subscriptions and items. Every family
//! converges to its last version whatever the order and the duplicates; deletes
//! are terminal; `organization.deleted` and `user.deleted` cascade; an invitation's
//! accept token is never stored.

use diesel::{
    prelude::*,
    sql_query,
    sql_types::{Bool, Jsonb, Nullable, Text},
    Connection, PgConnection,
};
use integration::{event, unique, Options, TestApp, TestDb};
use serde_json::Value;
use shared::event::Envelope;
use worker::apply::{apply_event, Change, EventToApply, Outcome, Payloads};

use crate::T0;

fn prepared(svix_id: &str, event: &Value) -> EventToApply {
    prepared_with(svix_id, event, Payloads::Store)
}

fn prepared_with(svix_id: &str, event: &Value, payloads: Payloads) -> EventToApply {
    let body = serde_json::to_vec(event).expect("json");
    let envelope = Envelope::parse(&body).expect("envelope");
    EventToApply::from_envelope(svix_id, envelope, None, 1, payloads).expect("valid event")
}

/// Applies each event in its own transaction, as a worker does with batches of one.
async fn apply(db: &TestDb, events: Vec<EventToApply>) -> Vec<Outcome> {
    db.with(move |c| {
        events
            .iter()
            .map(|e| c.transaction(|c| apply_event(c, e)).expect("applies"))
            .collect()
    })
    .await
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
struct Row {
    /// The whole row as JSON, without `synced_at`.
    #[diesel(sql_type = Jsonb)]
    whole: Value,
    #[diesel(sql_type = Nullable<Jsonb>)]
    data: Option<Value>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
    #[diesel(sql_type = Bool)]
    deleted: bool,
}

async fn row(db: &TestDb, table: &'static str, id: &str) -> Option<Row> {
    let id = id.to_owned();
    db.with(move |c| {
        sql_query(format!(
            "SELECT to_jsonb(t) - 'synced_at' AS whole, data, \
                    (extract(epoch FROM clerk_updated_at) * 1000)::bigint AS version, \
                    deleted_at IS NOT NULL AS deleted \
             FROM {table} t WHERE id = $1"
        ))
        .bind::<Text, _>(id)
        .get_result::<Row>(c)
        .optional()
        .expect("table readable")
    })
    .await
}

/// Every ordering of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

/// A family's life: its table, and its events in Clerk's order (type, version),
/// each the family's example with `data.id` and the version set.
struct Life {
    table: &'static str,
    events: &'static [(&'static str, i64)],
}

const LIVES: &[Life] = &[
    Life {
        table: "organization_invitations",
        events: &[
            ("organizationInvitation.created", T0),
            ("organizationInvitation.accepted", T0 + 1_000),
            ("organizationInvitation.revoked", T0 + 2_000),
        ],
    },
    Life {
        table: "organization_domains",
        events: &[
            ("organizationDomain.created", T0),
            ("organizationDomain.updated", T0 + 1_000),
            ("organizationDomain.deleted", T0 + 2_000),
        ],
    },
    Life {
        table: "roles",
        events: &[
            ("role.created", T0),
            ("role.updated", T0 + 1_000),
            ("role.deleted", T0 + 2_000),
        ],
    },
    Life {
        table: "permissions",
        events: &[
            ("permission.created", T0),
            ("permission.updated", T0 + 1_000),
            ("permission.deleted", T0 + 2_000),
        ],
    },
    Life {
        table: "waitlist_entries",
        events: &[
            ("waitlistEntry.created", T0),
            ("waitlistEntry.updated", T0 + 1_000),
        ],
    },
    Life {
        table: "billing_subscriptions",
        events: &[
            ("subscription.created", T0),
            ("subscription.pastDue", T0 + 1_000),
            ("subscription.active", T0 + 2_000),
        ],
    },
    Life {
        table: "billing_subscription_items",
        events: &[
            ("subscriptionItem.upcoming", T0),
            ("subscriptionItem.active", T0 + 1_000),
            ("subscriptionItem.pastDue", T0 + 2_000),
            ("subscriptionItem.canceled", T0 + 3_000),
        ],
    },
    Life {
        table: "billing_payment_attempts",
        events: &[
            ("paymentAttempt.created", T0),
            ("paymentAttempt.updated", T0 + 1_000),
        ],
    },
];

/// The event `i` of `life` for object `id`: updates also change a named field, so
/// that a stale write would show.
fn life_event(life: &Life, i: usize, id: &str) -> Value {
    let (event_type, at) = life.events[i];
    let mut e = event(event_type, id, at);
    if !event_type.ends_with(".deleted") {
        e["data"]["name"] = format!("v{i}").into();
        e["data"]["created_at"] = T0.into();
    }
    e
}

#[tokio::test]
async fn every_family_converges_to_its_last_version_in_any_order_with_duplicates() {
    let db = TestDb::new().await;
    for life in LIVES {
        let last = life.events.len() - 1;
        let deletes = life.events[last].0.ends_with(".deleted");
        for (n, order) in permutations(life.events.len()).into_iter().enumerate() {
            let id = format!("obj_{}_{n}", life.table);
            let svix = |i: usize| format!("msg_{id}_{i}");
            let mut events: Vec<EventToApply> = order
                .iter()
                .map(|&i| prepared(&svix(i), &life_event(life, i, &id)))
                .collect();
            // Svix redelivers the first and the last event.
            events.push(prepared(&svix(order[0]), &life_event(life, order[0], &id)));
            events.push(prepared(
                &svix(order[last]),
                &life_event(life, order[last], &id),
            ));
            let outcomes = apply(&db, events).await;
            assert_eq!(
                &outcomes[outcomes.len() - 2..],
                &[Outcome::Duplicate, Outcome::Duplicate],
                "{id}: a svix-id seen before changes nothing"
            );
            // Whatever the order, the row is the last version.
            let r = row(&db, life.table, &id).await.expect("a row");
            let expected = life_event(life, last, &id)["data"].clone();
            assert_eq!(r.version, life.events[last].1, "{id} order {order:?}");
            assert_eq!(r.deleted, deletes, "{id} order {order:?}");
            if deletes {
                assert_eq!(
                    r.data,
                    Some(expected),
                    "{id}: a tombstone holds the delete's stub"
                );
            } else {
                let mut expected = expected;
                if let Some(d) = expected.as_object_mut() {
                    d.remove("url");
                    d.remove("payment_source");
                }
                assert_eq!(r.data, Some(expected), "{id} order {order:?}");
            }
            // The applied and stale outcomes add up: exactly the events newer than
            // everything before them landed.
            let mut newest = i64::MIN;
            let mut tombstoned = false;
            for (k, &i) in order.iter().enumerate() {
                let at = life.events[i].1;
                let is_delete = life.events[i].0.ends_with(".deleted");
                let lands = !tombstoned && (is_delete || at >= newest);
                assert_eq!(
                    outcomes[k],
                    if lands {
                        Outcome::Applied
                    } else {
                        Outcome::Stale
                    },
                    "{id} order {order:?}, event {i}"
                );
                if lands {
                    newest = newest.max(at);
                    tombstoned |= is_delete;
                }
            }
        }
        // Only a tombstone is never overwritten; a late status change of a family
        // without deletes is an ordinary update.
        if deletes {
            let id = format!("obj_{}_0", life.table);
            let late = life_event(life, 0, &id);
            let mut late = late;
            late["data"]["updated_at"] = (T0 + 60_000).into();
            let out = apply(&db, vec![prepared(&format!("msg_late_{id}"), &late)]).await;
            assert_eq!(out, [Outcome::Stale], "{id}: a tombstone stays");
        }
    }
}

#[tokio::test]
async fn reconcile_can_list_live_ids_and_stored_versions() {
    use worker::apply::{families::store, Family};
    let db = TestDb::new().await;
    let events = vec![
        prepared("m1", &event("role.created", "role_a", T0)),
        prepared("m2", &event("role.created", "role_b", T0 + 1)),
        prepared("m3", &event("role.created", "role_c", T0 + 2)),
        prepared("m4", &event("role.deleted", "role_b", T0 + 5)),
    ];
    apply(&db, events).await;
    let (first, rest, versions) = db
        .with(|c| {
            let first = store::live_ids(c, Family::Role, None, 1).expect("live ids");
            let rest = store::live_ids(c, Family::Role, Some("role_a"), 10).expect("live ids");
            let ids = ["role_a", "role_b", "role_x"].map(String::from);
            let versions = store::versions(c, Family::Role, &ids).expect("versions");
            (first, rest, versions)
        })
        .await;
    assert_eq!(first, ["role_a"]);
    assert_eq!(rest, ["role_c"], "a tombstone is not live");
    let seen: Vec<_> = versions
        .iter()
        .map(|v| {
            (
                v.id.as_str(),
                v.clerk_updated_at.timestamp_millis(),
                v.deleted,
            )
        })
        .collect();
    assert_eq!(seen, [("role_a", T0, false), ("role_b", T0 + 5, true)]);
}

#[tokio::test]
async fn the_columns_hold_what_the_payloads_say() {
    let db = TestDb::new().await;
    let all = [
        ("organizationInvitation.created", "orginv_c"),
        ("organizationDomain.created", "orgdmn_c"),
        ("role.created", "role_c"),
        ("permission.created", "perm_c"),
        ("waitlistEntry.created", "wle_c"),
        ("subscription.created", "csub_c"),
        ("subscriptionItem.active", "csubi_c"),
    ];
    let events = all
        .iter()
        .map(|(t, id)| prepared(&format!("msg_{id}"), &event(t, id, T0)))
        .collect();
    assert!(apply(&db, events)
        .await
        .iter()
        .all(|o| *o == Outcome::Applied));
    let org = "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S";
    let r = row(&db, "organization_invitations", "orginv_c")
        .await
        .expect("row")
        .whole;
    assert_eq!(
        (
            &r["organization_id"],
            &r["email_address"],
            &r["role"],
            &r["status"]
        ),
        (
            &org.into(),
            &"jane.roe@example.org".into(),
            &"org:member".into(),
            &"pending".into()
        )
    );
    let r = row(&db, "organization_domains", "orgdmn_c")
        .await
        .expect("row")
        .whole;
    assert_eq!(
        (
            &r["organization_id"],
            &r["name"],
            &r["enrollment_mode"],
            &r["verified"]
        ),
        (
            &org.into(),
            &"example.org".into(),
            &"automatic_invitation".into(),
            &true.into()
        )
    );
    let r = row(&db, "roles", "role_c").await.expect("row").whole;
    assert_eq!(
        (&r["key"], &r["name"]),
        (&"org:billing".into(), &"Billing manager".into())
    );
    let r = row(&db, "permissions", "perm_c").await.expect("row").whole;
    assert_eq!(
        (&r["key"], &r["type"]),
        (&"org:invoices:read".into(), &"user".into())
    );
    let r = row(&db, "waitlist_entries", "wle_c")
        .await
        .expect("row")
        .whole;
    assert_eq!(
        (&r["email_address"], &r["status"]),
        (&"sam.poe@example.org".into(), &"pending".into())
    );
    let r = row(&db, "billing_subscriptions", "csub_c")
        .await
        .expect("row")
        .whole;
    assert_eq!(
        (
            &r["status"],
            &r["payer_organization_id"],
            &r["payer_user_id"]
        ),
        (&"active".into(), &org.into(), &Value::Null)
    );
    let r = row(&db, "billing_subscription_items", "csubi_c")
        .await
        .expect("row")
        .whole;
    assert_eq!(
        (
            &r["subscription_id"],
            &r["plan_id"],
            &r["status"],
            &r["payer_organization_id"]
        ),
        (
            &"csub_2g7np7Hrk0SN6kj5EDMLDaKNL0S".into(),
            &"cplan_2g7np7Hrk0SN6kj5EDMLDaKNL0S".into(),
            &"active".into(),
            &org.into()
        )
    );
    assert_eq!(
        r["clerk_created_at"]
            .as_str()
            .map(|s| s.starts_with("2024-05-28")),
        Some(true)
    );
}

#[tokio::test]
async fn a_missing_version_dead_letters_and_email_and_sms_are_ignored() {
    for t in [
        "organizationInvitation.accepted",
        "organizationDomain.updated",
        "role.updated",
        "permission.created",
        "waitlistEntry.updated",
        "subscription.pastDue",
        "subscriptionItem.freeTrialEnding",
        "paymentAttempt.updated",
    ] {
        let mut e = event(t, "obj_1", T0);
        e["data"]
            .as_object_mut()
            .expect("data")
            .remove("updated_at");
        let body = serde_json::to_vec(&e).expect("json");
        let err = EventToApply::from_envelope(
            "m",
            Envelope::parse(&body).expect("envelope"),
            None,
            1,
            Payloads::Store,
        )
        .expect_err("no version: permanent");
        assert!(err.0.contains("updated_at"), "{t}: {err}");
    }
    for t in [
        "email.created",
        "sms.created",
        "session.ended",
        "session.pending",
    ] {
        let body = serde_json::json!({"type": t, "timestamp": T0,
            "data": {"id": "x_1", "otp_code": "123456", "body": "Your code is 123456"}});
        let p = EventToApply::from_envelope(
            "m",
            Envelope::parse(&serde_json::to_vec(&body).expect("json")).expect("envelope"),
            None,
            1,
            Payloads::Store,
        )
        .expect("ignored, not failed");
        assert!(matches!(p.change, Change::Ignore), "{t}");
        assert!(p.payload.is_none(), "{t}: never stored");
    }
}

#[tokio::test]
async fn deleting_an_organization_tombstones_its_invitations_and_domains() {
    let db = TestDb::new().await;
    let org = format!("org_{}", unique());
    let other = format!("org_{}", unique());
    let invitation = |id: &str, org: &str, t: &str, at: i64| {
        let mut e = event(t, id, at);
        e["data"]["organization_id"] = org.into();
        e
    };
    let domain = |id: &str, org: &str, at: i64| {
        let mut e = event("organizationDomain.created", id, at);
        e["data"]["organization_id"] = org.into();
        e
    };
    let events = vec![
        prepared("m1", &event("organization.created", &org, T0)),
        prepared(
            "m2",
            &invitation("orginv_a", &org, "organizationInvitation.created", T0),
        ),
        prepared(
            "m3",
            &invitation("orginv_b", &org, "organizationInvitation.created", T0),
        ),
        prepared("m4", &domain("orgdmn_a", &org, T0)),
        prepared(
            "m5",
            &invitation("orginv_other", &other, "organizationInvitation.created", T0),
        ),
        prepared("m6", &domain("orgdmn_other", &other, T0)),
        prepared("m7", &event("organization.deleted", &org, T0 + 5_000)),
    ];
    assert!(apply(&db, events)
        .await
        .iter()
        .all(|o| *o == Outcome::Applied));
    for (table, id) in [
        ("organization_invitations", "orginv_a"),
        ("organization_invitations", "orginv_b"),
        ("organization_domains", "orgdmn_a"),
    ] {
        let r = row(&db, table, id).await.expect("row");
        assert!(r.deleted, "{id} is tombstoned with its organization");
        assert_eq!(r.version, T0 + 5_000);
    }
    for (table, id) in [
        ("organization_invitations", "orginv_other"),
        ("organization_domains", "orgdmn_other"),
    ] {
        assert!(
            !row(&db, table, id).await.expect("row").deleted,
            "{id} is another organization's"
        );
    }
    // Late events: an acceptance of a tombstoned invitation, and a new invitation or
    // domain of the deleted organization, stay tombstones.
    let late = vec![
        prepared(
            "m8",
            &invitation(
                "orginv_a",
                &org,
                "organizationInvitation.accepted",
                T0 + 9_000,
            ),
        ),
        prepared(
            "m9",
            &invitation(
                "orginv_new",
                &org,
                "organizationInvitation.created",
                T0 + 9_000,
            ),
        ),
        prepared("m10", &domain("orgdmn_new", &org, T0 + 9_000)),
    ];
    apply(&db, late).await;
    assert_eq!(
        row(&db, "organization_invitations", "orginv_a")
            .await
            .expect("row")
            .whole["status"],
        "pending"
    );
    for (table, id) in [
        ("organization_invitations", "orginv_new"),
        ("organization_domains", "orgdmn_new"),
    ] {
        assert!(
            row(&db, table, id).await.expect("row").deleted,
            "{id}: its organization is deleted"
        );
    }
}

#[tokio::test]
async fn a_domain_delete_keeps_the_stored_organization() {
    let db = TestDb::new().await;
    let org = format!("org_{}", unique());
    let mut created = event("organizationDomain.created", "orgdmn_1", T0);
    created["data"]["organization_id"] = org.as_str().into();
    apply(&db, vec![prepared("m1", &created)]).await;
    let deleted = event("organizationDomain.deleted", "orgdmn_1", T0 + 1_000);
    assert_eq!(
        apply(&db, vec![prepared("m2", &deleted)]).await,
        [Outcome::Applied]
    );
    let r = row(&db, "organization_domains", "orgdmn_1")
        .await
        .expect("row");
    assert!(r.deleted);
    assert_eq!(r.whole["organization_id"], org.as_str());
    assert!(
        r.whole["name"].is_null() && r.whole["verified"].is_null(),
        "the other columns are cleared: {}",
        r.whole
    );
    // A delete of a domain never seen leaves a tombstone that a late create cannot undo.
    let never = event("organizationDomain.deleted", "orgdmn_2", T0);
    apply(&db, vec![prepared("m3", &never)]).await;
    let mut late = event("organizationDomain.created", "orgdmn_2", T0 + 5_000);
    late["data"]["organization_id"] = org.as_str().into();
    assert_eq!(
        apply(&db, vec![prepared("m4", &late)]).await,
        [Outcome::Stale]
    );
    let r = row(&db, "organization_domains", "orgdmn_2")
        .await
        .expect("row");
    assert!(r.deleted && r.whole["organization_id"].is_null());
}

#[tokio::test]
async fn deleting_a_user_erases_payer_and_invitee_data() {
    let db = TestDb::new().await;
    let user = format!("user_{}", unique());
    let email = "john.doe@example.org";
    let payer = |t: &str, id: &str, at: i64| {
        let mut e = event(t, id, at);
        e["data"]["payer"]["user_id"] = user.as_str().into();
        e["data"]["payer"]["organization_id"] = Value::Null;
        e["data"]["payer"]["email"] = email.into();
        e
    };
    let mut invitation = event("organizationInvitation.created", "orginv_u", T0);
    invitation["data"]["email_address"] = "John.Doe@Example.org".into();
    let mut waitlist = event("waitlistEntry.created", "wle_u", T0);
    waitlist["data"]["email_address"] = email.into();
    let mut other_waitlist = event("waitlistEntry.created", "wle_other", T0);
    other_waitlist["data"]["email_address"] = "someone.else@example.org".into();
    let events = vec![
        prepared("m1", &event("user.created", &user, T0)),
        prepared("m2", &invitation),
        prepared("m3", &waitlist),
        prepared("m4", &other_waitlist),
        prepared("m5", &payer("subscription.created", "csub_u", T0)),
        prepared("m6", &payer("subscriptionItem.active", "csubi_u", T0)),
    ];
    assert!(apply(&db, events)
        .await
        .iter()
        .all(|o| *o == Outcome::Applied));
    let item = row(&db, "billing_subscription_items", "csubi_u")
        .await
        .expect("row");
    assert_eq!(item.whole["payer_user_id"], user.as_str());
    assert_eq!(item.data.expect("data")["payer"]["first_name"], "John");

    apply(
        &db,
        vec![prepared("m7", &event("user.deleted", &user, T0 + 5_000))],
    )
    .await;
    // A billing item that arrives after the deletion is erased as it lands.
    apply(
        &db,
        vec![prepared(
            "m8",
            &payer("subscriptionItem.updated", "csubi_late", T0 + 9_000),
        )],
    )
    .await;

    for (table, id) in [
        ("billing_subscriptions", "csub_u"),
        ("billing_subscription_items", "csubi_u"),
        ("billing_subscription_items", "csubi_late"),
    ] {
        let r = row(&db, table, id).await.expect("row");
        let text = r.whole.to_string();
        assert!(
            !text.contains(email) && !text.contains("\"John\"") && !text.contains("Doe"),
            "{id}: {text}"
        );
        assert_eq!(r.whole["payer_user_id"], user.as_str(), "{id}: ids stay");
    }
    for (table, id) in [
        ("organization_invitations", "orginv_u"),
        ("waitlist_entries", "wle_u"),
    ] {
        let r = row(&db, table, id).await.expect("row");
        assert!(r.whole["email_address"].is_null(), "{id}");
        assert!(
            !r.whole.to_string().to_lowercase().contains(email),
            "{id}: {}",
            r.whole
        );
    }
    assert_eq!(
        row(&db, "waitlist_entries", "wle_other")
            .await
            .expect("row")
            .whole["email_address"],
        "someone.else@example.org"
    );
    // No stored payload names the deleted user any more.
    let leftover: i64 = db
        .with(move |c| {
            use shared::schema::webhook_events::dsl as w;
            w::webhook_events
                .filter(w::payload.is_not_null())
                .filter(w::subject_user_ids.contains(vec![user]))
                .count()
                .get_result(c)
                .expect("count")
        })
        .await;
    assert_eq!(leftover, 0);
}

#[tokio::test]
async fn the_invitation_token_is_never_stored_end_to_end() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let id = format!("orginv_{}", unique());
    for (t, at) in [
        ("organizationInvitation.created", T0),
        ("organizationInvitation.accepted", T0 + 1_000),
    ] {
        let svix = app.post(&event(t, &id, at)).await;
        assert_eq!(app.wait_recorded(&svix).await, "applied");
    }
    let r = row(&app.db, "organization_invitations", &id)
        .await
        .expect("row");
    assert_eq!(r.whole["status"], "accepted");
    let everything = app
        .db
        .with(|c| {
            sql_query(
                "SELECT coalesce(string_agg(payload::text, ' '), '') AS t FROM webhook_events \
                 UNION ALL SELECT coalesce(string_agg(to_jsonb(i)::text, ' '), '') \
                 FROM organization_invitations i",
            )
            .load::<Text1>(c)
            .expect("readable")
        })
        .await;
    let text: String = everything.into_iter().map(|t| t.t).collect();
    assert!(text.contains(&id), "payloads are stored: {text}");
    assert!(
        !text.contains("__clerk_ticket"),
        "the accept token is nowhere: {text}"
    );
}

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    t: String,
}

/// Every row of every table of the schema, as JSON text.
async fn everything_stored(db: &TestDb) -> String {
    db.with(|c| {
        let tables = sql_query(
            "SELECT table_name::text AS t FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .load::<Text1>(c)
        .expect("tables readable");
        assert!(
            tables.iter().any(|t| t.t == "waitlist_entries"),
            "the schema's tables are listed"
        );
        let mut text = String::new();
        for table in tables {
            let rows = sql_query(format!(
                "SELECT coalesce(string_agg(to_jsonb(t)::text, ' '), '') AS t FROM \"{}\" t",
                table.t
            ))
            .get_result::<Text1>(c)
            .expect("table readable");
            text.push_str(&rows.t);
            text.push('\n');
        }
        text
    })
    .await
}

/// A waitlist entry's invitation and an instance invitation carry a sign-in URL whose
/// `__clerk_ticket` is a credential: after signed webhooks of both (payloads
/// stored), no column of any table, and no stored payload, holds the ticket.
#[tokio::test]
async fn sign_in_tickets_are_never_stored_end_to_end() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let ticket = format!("eyJhbGciOiJIUzI1NiJ9.ticket-{}.c2ln", unique());
    let url = format!(
        "https://accounts.example.org/sign-up?__clerk_ticket={ticket}&__clerk_status=sign_up"
    );
    let entry = format!("wle_{}", unique());
    let created = event("waitlistEntry.created", &entry, T0);
    let mut invited = event("waitlistEntry.updated", &entry, T0 + 1_000);
    invited["data"]["status"] = "invited".into();
    invited["data"]["invitation"] = serde_json::json!({
        "object": "invitation", "id": format!("inv_{}", unique()),
        "email_address": "sam.poe@example.org", "status": "pending", "revoked": false,
        "url": url, "public_metadata": {}, "expires_at": T0 + 86_400_000,
        "created_at": T0 + 1_000, "updated_at": T0 + 1_000,
    });
    // Clerk's instance invitations (not an organization's) have the same `url`; no
    // table syncs them, but their payload is stored like any other.
    let instance_invitation = format!("inv_{}", unique());
    let invitation = serde_json::json!({
        "type": "invitation.created", "object": "event", "timestamp": T0,
        "data": {"object": "invitation", "id": instance_invitation,
                 "email_address": "kim.loe@example.org", "status": "pending",
                 "url": url, "created_at": T0, "updated_at": T0},
    });
    let mut org_invitation = event(
        "organizationInvitation.created",
        &format!("orginv_{}", unique()),
        T0,
    );
    org_invitation["data"]["url"] = url.clone().into();
    for (e, outcome) in [
        (&created, "applied"),
        (&invited, "applied"),
        (&invitation, "ignored"),
        (&org_invitation, "applied"),
    ] {
        let svix = app.post(e).await;
        assert_eq!(app.wait_recorded(&svix).await, outcome, "{}", e["type"]);
    }
    let r = row(&app.db, "waitlist_entries", &entry).await.expect("row");
    assert_eq!(r.whole["status"], "invited");
    assert_eq!(
        r.data.as_ref().map(|d| &d["invitation"]["status"]),
        Some(&Value::from("pending")),
        "the rest of the invitation is kept"
    );
    let text = everything_stored(&app.db).await;
    assert!(
        text.contains(&entry) && text.contains(&instance_invitation),
        "payloads are stored: {text}"
    );
    assert!(
        !text.contains(&ticket) && !text.contains("__clerk_ticket"),
        "a sign-in ticket is stored: {text}"
    );
}

/// The two example queries of docs/app-integration.md, as written there.
#[tokio::test]
async fn the_documented_queries_answer() {
    let db = TestDb::new().await;
    let org = "org_readme";
    let user = "user_readme";
    let mut member = event("organizationMembership.created", "orgmem_readme", T0);
    member["data"]["organization"]["id"] = org.into();
    member["data"]["public_user_data"]["user_id"] = user.into();
    member["data"]["role"] = "org:billing".into();
    let mut item = event("subscriptionItem.active", "csubi_readme", T0);
    item["data"]["payer"]["organization_id"] = org.into();
    let mut ended = event("subscriptionItem.ended", "csubi_readme_old", T0);
    ended["data"]["payer"]["organization_id"] = org.into();
    ended["data"]["plan"]["name"] = "Free".into();
    let events = vec![
        prepared("m1", &member),
        prepared("m2", &event("role.created", "role_readme", T0)),
        prepared("m3", &item),
        prepared("m4", &ended),
    ];
    apply(&db, events).await;

    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/app-integration.md"
    ))
    .expect("docs/app-integration.md readable");
    let query = |marker: &str| -> String {
        let start = doc.find(marker).expect("marker in docs/app-integration.md");
        let sql = &doc[start..];
        let begin = sql.find("```sql\n").expect("sql block") + 7;
        let end = sql[begin..].find("```").expect("end of block") + begin;
        sql[begin..end].to_owned()
    };
    let plan_sql = query("Which plan is this organization on");
    let perm_sql = query("Which permissions does this member have");

    #[derive(QueryableByName, Debug)]
    struct Plan {
        #[diesel(sql_type = Nullable<Text>)]
        plan: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        status: Option<String>,
    }
    #[derive(QueryableByName, Debug)]
    struct Permission {
        #[diesel(sql_type = Nullable<Text>)]
        permission: Option<String>,
    }
    let (plans, permissions) = db
        .with(move |c: &mut PgConnection| {
            let plans = sql_query(plan_sql.replace(":organization_id", "$1"))
                .bind::<Text, _>(org)
                .load::<Plan>(c)
                .expect("plan query runs");
            let permissions = sql_query(
                perm_sql
                    .replace(":organization_id", "$1")
                    .replace(":user_id", "$2"),
            )
            .bind::<Text, _>(org)
            .bind::<Text, _>(user)
            .load::<Permission>(c)
            .expect("permission query runs");
            (plans, permissions)
        })
        .await;
    assert_eq!(plans.len(), 1, "{plans:?}");
    assert_eq!(plans[0].plan.as_deref(), Some("Pro"));
    assert_eq!(plans[0].status.as_deref(), Some("active"));
    let mut keys: Vec<_> = permissions
        .into_iter()
        .filter_map(|p| p.permission)
        .collect();
    keys.sort();
    assert_eq!(keys, ["org:invoices:read", "org:sys_billing:manage"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_or_domain_committing_beside_organization_deleted_is_tombstoned() {
    let db = TestDb::new().await;
    for (n, t, table) in [
        (
            0,
            "organizationInvitation.created",
            "organization_invitations",
        ),
        (1, "organizationDomain.created", "organization_domains"),
    ] {
        for delete_first in [false, true] {
            let org = format!("org_{}", unique());
            let id = format!("obj_{n}_{delete_first}");
            let mut create = event(t, &id, T0);
            create["data"]["organization_id"] = org.as_str().into();
            let create = prepared(&format!("msg_c_{id}"), &create);
            let delete = prepared(
                &format!("msg_d_{id}"),
                &event("organization.deleted", &org, T0 + 1_000),
            );
            let (first, second) = if delete_first {
                crate::convergence::interleave(&db, delete, create).await
            } else {
                crate::convergence::interleave(&db, create, delete).await
            };
            assert_eq!((first, second), (Outcome::Applied, Outcome::Applied));
            let r = row(&db, table, &id).await.expect("row");
            assert!(
                r.deleted,
                "{id}: a {t} of a deleted organization stays live"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_billing_item_committing_beside_user_deleted_keeps_no_payer_data() {
    let db = TestDb::new().await;
    for delete_first in [false, true] {
        let user = format!("user_{}", unique());
        let id = format!("csubi_{}", unique());
        let mut item = event("subscriptionItem.active", &id, T0);
        item["data"]["payer"]["user_id"] = user.as_str().into();
        item["data"]["payer"]["organization_id"] = Value::Null;
        // Without stored payloads: the payer's lock comes from the change itself.
        let item = prepared_with(&format!("msg_i_{id}"), &item, Payloads::Discard);
        let delete = prepared(
            &format!("msg_d_{id}"),
            &event("user.deleted", &user, T0 + 1_000),
        );
        let (first, second) = if delete_first {
            crate::convergence::interleave(&db, delete, item).await
        } else {
            crate::convergence::interleave(&db, item, delete).await
        };
        assert_eq!((first, second), (Outcome::Applied, Outcome::Applied));
        let r = row(&db, "billing_subscription_items", &id)
            .await
            .expect("row");
        let payer = &r.whole["data"]["payer"];
        assert_eq!(payer["user_id"], user.as_str());
        assert!(
            payer.get("email").is_none() && payer.get("first_name").is_none(),
            "delete first: {delete_first}: {payer}"
        );
    }
}
