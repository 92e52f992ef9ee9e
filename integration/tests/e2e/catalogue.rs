//! Clerk's whole webhook catalogue (docs/data-model.md): one signed webhook of each
//! of the 45 types through the receiver ends with the outcome the table gives, in
//! the table it names; payment attempts keep no card details and lose a deleted
//! payer's data.

use diesel::{prelude::*, sql_query, sql_types::Text};
use integration::{unique, Options, TestApp};
use serde_json::{json, Value};

use crate::T0;

/// (event type, effect, table) rows of the catalogue in docs/data-model.md.
fn catalogue() -> Vec<(String, String, Option<String>)> {
    let doc = include_str!("../../../docs/data-model.md");
    let start = doc.find("<!-- catalogue: begin -->").expect("begin marker");
    let end = doc.find("<!-- catalogue: end -->").expect("end marker");
    doc[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let unquote = |s: &str| s.trim_matches('`').to_owned();
            let table = Some(unquote(cells[2])).filter(|t| !t.is_empty());
            (unquote(cells[0]), cells[1].to_owned(), table)
        })
        .collect()
}

/// An event of `event_type` about `id`: Clerk's example where there is one, else the
/// envelope with a minimal object.
fn event_of(event_type: &str, id: &str, at: i64) -> Value {
    shared::examples::event(event_type, id, at).unwrap_or_else(|| {
        json!({
            "type": event_type, "object": "event", "timestamp": at,
            "data": {"id": id, "object": event_type.split('.').next(),
                     "created_at": at, "updated_at": at},
        })
    })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_of_the_catalogue_ends_as_the_table_says() {
    let rows = catalogue();
    assert_eq!(rows.len(), 45, "the 2025-04-15 catalogue lists 45 types");
    let app = TestApp::spawn(Options::default()).await;
    for (event_type, effect, table) in &rows {
        let id = shared::examples::fresh_id(event_type, &unique());
        let svix = app.post(&event_of(event_type, &id, T0)).await;
        let outcome = app.wait_recorded(&svix).await;
        let expected = if effect.starts_with("ignored") {
            "ignored"
        } else {
            "applied"
        };
        assert_eq!(outcome, expected, "{event_type}: {effect}");
        if let Some(table) = table {
            let (object_id, t) = (id.clone(), table.clone());
            let n = app
                .db
                .with(move |c| {
                    sql_query(format!("SELECT count(*) AS n FROM {t} WHERE id = $1"))
                        .bind::<Text, _>(object_id)
                        .get_result::<Count>(c)
                        .expect("the table is readable")
                        .n
                })
                .await;
            assert_eq!(n, 1, "{event_type}: a row {id} in {table}");
        } else {
            assert_eq!(expected, "ignored", "{event_type}: no table, so ignored");
        }
    }
    // A type Clerk may add later is recorded as ignored, not retried.
    let svix = app
        .post(&event_of("somethingNew.created", "obj_new1", T0))
        .await;
    assert_eq!(app.wait_recorded(&svix).await, "ignored");
}

#[derive(QueryableByName, Debug)]
struct Attempt {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    amount: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    currency: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    payer_user_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    paid: bool,
    #[diesel(sql_type = Text)]
    data: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_attempts_keep_no_card_and_lose_a_deleted_payers_data() {
    let app = TestApp::spawn(Options {
        store_payloads: true,
        ..Options::default()
    })
    .await;
    let u = unique();
    let (user, attempt) = (format!("user_payer{u}"), format!("cpayatt_{u}"));
    let payer = json!({"object": "commerce_payer", "id": format!("cpayer_{u}"),
        "user_id": user, "organization_id": null, "email": format!("payer.{u}@example.org"),
        "first_name": format!("Payerfirst{u}"), "last_name": "Poe", "image_url": "https://img.example/p"});
    let mut created = event_of("paymentAttempt.created", &attempt, T0);
    created["data"]["payer"] = payer.clone();
    let mut paid = event_of("paymentAttempt.updated", &attempt, T0 + 1_000);
    paid["data"]["payer"] = payer;
    paid["data"]["paid_at"] = (T0 + 1_000).into();
    for e in [&paid, &created] {
        let svix = app.post(e).await;
        app.wait_recorded(&svix).await;
    }
    let read = |id: String| {
        app.db.with(move |c| {
            sql_query(
                "SELECT status, amount, currency, payer_user_id, paid_at IS NOT NULL AS paid, \
                 data::text AS data FROM billing_payment_attempts WHERE id = $1",
            )
            .bind::<Text, _>(id)
            .get_result::<Attempt>(c)
            .expect("the attempt's row")
        })
    };
    let row = read(attempt.clone()).await;
    assert_eq!(
        row.status.as_deref(),
        Some("paid"),
        "the later event wins: {row:?}"
    );
    assert_eq!(
        (row.amount, row.currency.as_deref()),
        (Some(2500), Some("USD"))
    );
    assert_eq!(row.payer_user_id.as_deref(), Some(user.as_str()));
    assert!(row.paid);
    let stored = format!("{} {:?}", row.data, app.db.events().await);
    for card in ["4242", "payment_source", "expiry_year", "visa"] {
        assert!(!stored.contains(card), "{card} is stored: {stored}");
    }

    let svix = app
        .post(&integration::event("user.deleted", &user, T0 + 5_000))
        .await;
    assert_eq!(app.wait_recorded(&svix).await, "applied");
    let row = read(attempt).await;
    for personal in [format!("payer.{u}@example.org"), format!("Payerfirst{u}")] {
        assert!(!row.data.contains(&personal), "{personal}: {}", row.data);
    }
    assert_eq!(row.amount, Some(2500), "the attempt itself stays");
}
