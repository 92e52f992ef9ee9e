//! Erasure does not depend on the order events arrive in: once a `user.deleted` is
//! applied, no row and no stored payload holds any of the deleted user's email
//! addresses, phone numbers or names, whatever arrives later; an invitation made
//! after the delete is new data and stays.

use diesel::{prelude::*, sql_query, sql_types::Text};
use integration::{event, unique, Options, TestApp, TestDb};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use serde_json::{json, Value};

use crate::T0;

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    t: String,
}

/// Every row of every table of the schema as JSON text, lower-cased, but for the
/// rows (and event records) that mention one of `except`.
async fn everything_stored_except(db: &TestDb, except: Vec<String>) -> String {
    db.with(move |c| {
        let tables = sql_query(
            "SELECT table_name::text AS t FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .load::<Text1>(c)
        .expect("tables readable");
        assert!(
            tables.iter().any(|t| t.t == "erased_identifiers"),
            "the schema's tables are listed"
        );
        let mut text = String::new();
        for table in tables {
            let rows = sql_query(format!(
                "SELECT coalesce(string_agg(lower(to_jsonb(t)::text), ' '), '') AS t \
                 FROM \"{}\" t WHERE NOT (to_jsonb(t)::text LIKE ANY($1))",
                table.t
            ))
            .bind::<diesel::sql_types::Array<Text>, _>(
                except.iter().map(|e| format!("%{e}%")).collect::<Vec<_>>(),
            )
            .get_result::<Text1>(c)
            .expect("table readable");
            text.push_str(&table.t);
            text.push_str(": ");
            text.push_str(&rows.t);
            text.push('\n');
        }
        text
    })
    .await
}

/// What a user was known by, unique to one test.
struct Person {
    user: String,
    emails: Vec<String>,
    phone: String,
    names: Vec<String>,
}

impl Person {
    fn new(rng: &mut impl Rng) -> Self {
        let u = unique();
        Self {
            user: format!("user_{u}"),
            emails: vec![
                format!("Pat.{u}@Example.org"),
                format!("pat.work.{u}@example.org"),
            ],
            phone: format!("+1555{:07}", rng.gen_range(0..10_000_000)),
            names: vec![
                format!("Patfirst{u}"),
                format!("Patlast{u}"),
                format!("Patrenamed{u}"),
            ],
        }
    }

    /// Every personal value, lower-cased as the scan is.
    fn personal(&self) -> Vec<String> {
        let mut all: Vec<String> = self.emails.iter().map(|e| e.to_lowercase()).collect();
        all.push(self.phone.clone());
        all.extend(self.names.iter().map(|n| n.to_lowercase()));
        all
    }

    fn user_event(&self, event_type: &str, version: i64, first_name: &str) -> Value {
        let mut e = event(event_type, &self.user, version);
        let d = &mut e["data"];
        d["first_name"] = first_name.into();
        d["last_name"] = self.names[1].clone().into();
        d["email_addresses"] = json!([
            {"id": "idn_primary", "object": "email_address", "email_address": self.emails[0]},
            {"id": "idn_work", "object": "email_address", "email_address": self.emails[1]},
        ]);
        d["primary_email_address_id"] = "idn_primary".into();
        d["phone_numbers"] = json!([
            {"id": "idn_phone", "object": "phone_number", "phone_number": self.phone}
        ]);
        d["primary_phone_number_id"] = "idn_phone".into();
        e
    }
}

fn invitation(id: &str, email: &str, version: i64) -> Value {
    let mut e = event("organizationInvitation.created", id, version);
    e["data"]["email_address"] = email.into();
    e
}

fn membership(p: &Person, id: &str, version: i64) -> Value {
    let mut e = event("organizationMembership.created", id, version);
    let d = &mut e["data"]["public_user_data"];
    d["user_id"] = p.user.clone().into();
    d["first_name"] = p.names[0].clone().into();
    d["last_name"] = p.names[1].clone().into();
    d["identifier"] = p.emails[0].clone().into();
    e
}

/// The whole history of a user who is deleted at `T0 + 10_000`, and one invitation
/// to their address made after that (returned apart: it must stay).
fn history(p: &Person) -> (Vec<Value>, Value, String) {
    let u = unique();
    let mut wle_invited = event("waitlistEntry.updated", &format!("wle_{u}"), T0 + 3_500);
    wle_invited["data"]["email_address"] = p.emails[0].clone().into();
    wle_invited["data"]["status"] = "invited".into();
    wle_invited["data"]["invitation"] = json!({
        "object": "invitation", "id": format!("inv_{u}"), "email_address": p.emails[0],
        "status": "pending", "created_at": T0 + 3_500, "updated_at": T0 + 3_500,
    });
    let mut wle = event("waitlistEntry.created", &format!("wle_{u}"), T0 + 2_500);
    wle["data"]["email_address"] = p.emails[0].clone().into();
    let mut accepted = invitation(&format!("orginv_a{u}"), &p.emails[1], T0 + 3_000);
    accepted["type"] = "organizationInvitation.accepted".into();
    accepted["data"]["status"] = "accepted".into();
    let events = vec![
        p.user_event("user.created", T0, &p.names[0]),
        p.user_event("user.updated", T0 + 1_000, &p.names[2]),
        invitation(&format!("orginv_p{u}"), &p.emails[0], T0 + 2_000),
        invitation(&format!("orginv_a{u}"), &p.emails[1], T0 + 2_200),
        accepted,
        wle,
        wle_invited,
        membership(p, &format!("orgmem_{u}"), T0 + 4_000),
        event("user.deleted", &p.user, T0 + 10_000),
    ];
    let later_id = format!("orginv_later{u}");
    let later = invitation(&later_id, &p.emails[0], T0 + 20_000);
    (events, later, later_id)
}

/// The randomized erasure test: every permutation (with duplicates, some resent
/// under the same svix-id, some under a new one) of a user's whole history, applied
/// by two workers with payloads stored, leaves none of the deleted user's emails,
/// phone numbers or names in any row or payload; an invitation made after the delete
/// keeps its address. `ERASURE_SEED` reproduces a run; the seed is printed.
#[tokio::test]
async fn erasure_holds_for_every_order_of_a_users_history() {
    let seed: u64 = std::env::var("ERASURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("ERASURE_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let app = TestApp::spawn(Options {
        workers: 2,
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let people: Vec<Person> = (0..2).map(|_| Person::new(&mut rng)).collect();
    let mut deliveries: Vec<(String, Value)> = Vec::new();
    let mut later_ids = Vec::new();
    let mut laters = Vec::new();
    for p in &people {
        let (events, later, later_id) = history(p);
        for e in events.into_iter().chain([later.clone()]) {
            let svix = format!("msg_{}", unique());
            deliveries.push((svix.clone(), e.clone()));
            match rng.gen_range(0..4) {
                0 => deliveries.push((svix, e)),
                1 => deliveries.push((format!("msg_{}", unique()), e)),
                _ => {}
            }
        }
        later_ids.push(later_id);
        laters.push((p.emails[0].clone(), later));
    }
    deliveries.shuffle(&mut rng);
    for (svix, e) in &deliveries {
        assert_eq!(app.post_as(svix, e).await, 200, "{svix} {}", e["type"]);
    }
    for (svix, e) in &deliveries {
        let outcome = app.wait_recorded(svix).await;
        assert!(
            ["applied", "stale"].contains(&outcome.as_str()),
            "{} {outcome} (seed {seed})",
            e["type"]
        );
    }
    let text = everything_stored_except(&app.db, later_ids.clone()).await;
    for p in &people {
        for value in p.personal() {
            assert!(
                !text.contains(&value),
                "{value} of deleted user {} is stored (seed {seed}): {text}",
                p.user
            );
        }
    }
    // The invitations made after the delete keep their address.
    for ((email, _), id) in laters.iter().zip(&later_ids) {
        let id = id.clone();
        let stored: Option<String> = app
            .db
            .with(move |c| {
                sql_query("SELECT email_address AS t FROM organization_invitations WHERE id = $1")
                    .bind::<Text, _>(id)
                    .get_result::<Text1>(c)
                    .optional()
                    .expect("readable")
                    .map(|r| r.t)
            })
            .await;
        assert_eq!(
            stored.as_deref(),
            Some(email.as_str()),
            "invitation made after the delete (seed {seed})"
        );
    }
}

/// With `STORE_PAYLOADS=true`, the stored payloads of invitations and waitlist
/// entries sent to a user's address lose it when the user is deleted, although
/// they do not name the user's id.
#[tokio::test]
async fn stored_invitation_and_waitlist_payloads_lose_a_deleted_users_address() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(25);
    let p = Person::new(&mut rng);
    let u = unique();
    let mut wle = event("waitlistEntry.created", &format!("wle_{u}"), T0 + 2_500);
    wle["data"]["email_address"] = p.emails[1].clone().into();
    for e in [
        p.user_event("user.created", T0, &p.names[0]),
        invitation(&format!("orginv_{u}"), &p.emails[0], T0 + 2_000),
        wle,
        event("user.deleted", &p.user, T0 + 10_000),
    ] {
        let svix = app.post(&e).await;
        assert_eq!(app.wait_recorded(&svix).await, "applied", "{}", e["type"]);
    }
    let text = everything_stored_except(&app.db, Vec::new()).await;
    for value in p.personal() {
        assert!(!text.contains(&value), "{value} is stored: {text}");
    }
}
