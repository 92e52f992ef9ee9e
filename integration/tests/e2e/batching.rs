//! Batching changes nothing: random histories applied in batches end in the same
//! rows as the same events applied one at a time.

use integration::{event, webhooks::user_event, TestDb};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use serde_json::Value;
use worker::apply::{apply_batch, EventToApply, Payloads};

use crate::T0;

fn history(rng: &mut rand::rngs::StdRng) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<(String, Value)>, e: Value| {
        out.push((format!("msg_{}", integration::unique()), e));
    };
    for u in 0..25 {
        let id = format!("user_b{u}");
        push(&mut out, user_event("user.created", &id, T0, "v0"));
        for v in 1..rng.gen_range(1..4) {
            push(
                &mut out,
                user_event("user.updated", &id, T0 + v * 1000, &format!("v{v}")),
            );
        }
        if rng.gen_bool(0.3) {
            // Deletes come last in Clerk's time.
            push(&mut out, event("user.deleted", &id, T0 + 100_000));
        }
    }
    for o in 0..6 {
        let id = format!("org_b{o}");
        push(&mut out, event("organization.created", &id, T0));
        push(&mut out, event("organization.updated", &id, T0 + 500));
        for m in 0..3 {
            let mut e = event(
                "organizationMembership.created",
                &format!("orgmem_b{o}_{m}"),
                T0,
            );
            e["data"]["organization"]["id"] = id.clone().into();
            e["data"]["public_user_data"]["user_id"] = format!("user_b{}", (o * 3 + m) % 25).into();
            push(&mut out, e);
        }
        if o % 3 == 0 {
            push(&mut out, event("organization.deleted", &id, T0 + 100_000));
        }
    }
    // The other families: invitations and domains of those organizations, roles,
    // billing items paid by those users.
    for o in 0..6 {
        for (t, id) in [
            ("organizationInvitation.created", format!("orginv_b{o}")),
            ("organizationDomain.created", format!("orgdmn_b{o}")),
        ] {
            let mut e = event(t, &id, T0 + 10);
            e["data"]["organization_id"] = format!("org_b{o}").into();
            push(&mut out, e);
        }
        // A row that a cascade tombstones keeps what it held then, so its later
        // versions only come where the organization stays.
        if o % 3 != 0 {
            let mut revoked = event(
                "organizationInvitation.revoked",
                &format!("orginv_b{o}"),
                T0 + 20,
            );
            revoked["data"]["organization_id"] = format!("org_b{o}").into();
            push(&mut out, revoked);
        }
        push(&mut out, event("role.created", &format!("role_b{o}"), T0));
        if rng.gen_bool(0.5) {
            push(
                &mut out,
                event("role.deleted", &format!("role_b{o}"), T0 + 100_000),
            );
        }
        for (t, v) in [
            ("subscriptionItem.active", 0),
            ("subscriptionItem.canceled", 1_000),
        ] {
            let mut e = event(t, &format!("csubi_b{o}"), T0 + v);
            e["data"]["payer"]["user_id"] = format!("user_b{o}").into();
            e["data"]["payer"]["organization_id"] = Value::Null;
            push(&mut out, e);
        }
    }
    push(&mut out, event("session.created", "sess_b", T0));
    // Svix delivers some twice.
    let dups: Vec<_> = out.iter().filter(|_| rng.gen_bool(0.2)).cloned().collect();
    out.extend(dups);
    out.shuffle(rng);
    out
}

async fn apply(db: &TestDb, events: &[(String, Value)], batch: usize) {
    let prepared: Vec<_> = events
        .iter()
        .map(|(id, e)| {
            let env = shared::event::Envelope::parse(&serde_json::to_vec(e).expect("json"))
                .expect("envelope");
            EventToApply::from_envelope(id, env, None, 1, Payloads::Store).expect("valid event")
        })
        .collect();
    db.with(move |c| {
        for chunk in prepared.chunks(batch) {
            for r in apply_batch(c, chunk).expect("batch commits") {
                r.expect("event applies");
            }
        }
    })
    .await;
}

async fn snapshot(db: &TestDb) -> Vec<String> {
    db.with(|c| {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        diesel::sql_query(
            "SELECT concat_ws('|', 'u', id, email, first_name, data::text, clerk_updated_at::text, deleted_at::text) AS line FROM users
             UNION ALL SELECT concat_ws('|', 'o', id, name, data::text, clerk_updated_at::text, deleted_at::text) FROM organizations
             UNION ALL SELECT concat_ws('|', 'm', id, organization_id, user_id, role, data::text, deleted_at::text) FROM organization_memberships
             UNION ALL SELECT concat_ws('|', 'e', svix_id, event_type, (payload IS NULL)::text) FROM webhook_events
             UNION ALL SELECT 'i|' || (to_jsonb(t) - 'synced_at')::text FROM organization_invitations t
             UNION ALL SELECT 'd|' || (to_jsonb(t) - 'synced_at')::text FROM organization_domains t
             UNION ALL SELECT 'r|' || (to_jsonb(t) - 'synced_at')::text FROM roles t
             UNION ALL SELECT 'b|' || (to_jsonb(t) - 'synced_at')::text FROM billing_subscription_items t
             ORDER BY 1",
        )
        .load::<Line>(c)
        .expect("snapshot")
        .into_iter()
        .map(|l| l.line)
        .collect()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_end_where_one_at_a_time_ends() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for round in 0..3 {
        let events = history(&mut rng);
        let (batched, single) = (TestDb::new().await, TestDb::new().await);
        apply(&batched, &events, 40).await;
        apply(&single, &events, 1).await;
        let (a, b) = (snapshot(&batched).await, snapshot(&single).await);
        assert!(
            a.len() > 100,
            "round {round}: a real history ({} rows)",
            a.len()
        );
        if a != b {
            let only_a: Vec<_> = a.iter().filter(|l| !b.contains(l)).collect();
            let only_b: Vec<_> = b.iter().filter(|l| !a.contains(l)).collect();
            panic!("round {round}: batched and one-at-a-time differ\nbatched only: {only_a:#?}\nsingle only: {only_b:#?}");
        }
    }
}
