//! The SQL of the other families: versioned upserts, tombstones, and the cascades
//! of `organization.deleted` and `user.deleted`.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{now, sql},
    pg::{upsert::excluded, PgConnection},
    prelude::*,
    sql_query,
    sql_types::{Array, Jsonb, Text, Timestamptz},
};
use serde_json::Value;
use shared::schema::{
    billing_payment_attempts, billing_subscription_items, billing_subscriptions,
    organization_domains, organization_invitations, organizations, permissions, roles,
    waitlist_entries,
};

use super::{Family, ObjectChange};
use crate::apply::Outcome;

/// An upsert under the ordering guard: a create or update lands only on a live row
/// that is not newer; a row written with `deleted_at` lands on any live row and
/// keeps the greater version; nothing overwrites a tombstone.
macro_rules! upsert {
    ($conn:expr, $table:ident, $row:expr, [$($column:ident),*]) => {{
        use diesel::query_dsl::methods::FilterDsl;
        use $table::dsl as c;
        diesel::insert_into($table::table)
            .values($row)
            .on_conflict(c::id)
            .do_update()
            .set((
                $(c::$column.eq(excluded(c::$column)),)*
                c::data.eq(excluded(c::data)),
                c::clerk_created_at.eq(excluded(c::clerk_created_at)),
                c::clerk_updated_at.eq(sql::<Timestamptz>(concat!(
                    "greatest(", stringify!($table), ".clerk_updated_at, excluded.clerk_updated_at)"
                ))),
                c::deleted_at.eq(excluded(c::deleted_at)),
                c::synced_at.eq(now),
            ))
            .filter(
                c::deleted_at.is_null().and(
                    excluded(c::deleted_at)
                        .is_not_null()
                        .or(c::clerk_updated_at.le(excluded(c::clerk_updated_at))),
                ),
            )
            .execute($conn)
    }};
}

fn landed(rows: usize) -> Outcome {
    if rows == 1 {
        Outcome::Applied
    } else {
        Outcome::Stale
    }
}

/// Applies `change` under the ordering guard. An invitation or a domain of an
/// organization that is already deleted is written as a tombstone.
pub fn apply(conn: &mut PgConnection, change: &ObjectChange) -> QueryResult<Outcome> {
    let rows = match change {
        ObjectChange::Invitation(r) => {
            let mut row = r.clone();
            if let Some(org) = &row.organization_id {
                of_deleted_organization(conn, org, &mut row.deleted_at, &mut row.clerk_updated_at)?;
            }
            without_erased_address(
                conn,
                &mut row.email_address,
                &mut row.data,
                row.clerk_created_at,
            )?;
            upsert!(
                conn,
                organization_invitations,
                &row,
                [organization_id, email_address, role, status]
            )?
        }
        ObjectChange::Domain(r) => {
            let mut row = r.clone();
            if let Some(org) = &row.organization_id {
                of_deleted_organization(conn, org, &mut row.deleted_at, &mut row.clerk_updated_at)?;
            }
            upsert!(
                conn,
                organization_domains,
                &row,
                [organization_id, name, enrollment_mode, verified]
            )?
        }
        ObjectChange::Role(r) => upsert!(conn, roles, r, [key, name, description])?,
        ObjectChange::Permission(r) => {
            upsert!(conn, permissions, r, [key, name, description, type_])?
        }
        ObjectChange::WaitlistEntry(r) => {
            let mut row = r.clone();
            without_erased_address(
                conn,
                &mut row.email_address,
                &mut row.data,
                row.clerk_created_at,
            )?;
            upsert!(conn, waitlist_entries, &row, [email_address, status])?
        }
        ObjectChange::Subscription(r) => upsert!(
            conn,
            billing_subscriptions,
            r,
            [status, payer_user_id, payer_organization_id]
        )?,
        ObjectChange::SubscriptionItem(r) => upsert!(
            conn,
            billing_subscription_items,
            r,
            [
                subscription_id,
                plan_id,
                status,
                payer_user_id,
                payer_organization_id
            ]
        )?,
        ObjectChange::PaymentAttempt(r) => upsert!(
            conn,
            billing_payment_attempts,
            r,
            [
                status,
                payer_user_id,
                payer_organization_id,
                amount,
                currency,
                paid_at,
                failed_at
            ]
        )?,
        ObjectChange::Tombstone {
            family,
            id,
            at,
            stub,
        } => tombstone(conn, *family, id, *at, stub)?,
    };
    Ok(landed(rows))
}

/// A row of an organization that is already deleted is written as the tombstone
/// the organization's cascade would have made of it: deleted when the organization
/// was, with the greater version. So the row is the same whichever came first.
fn of_deleted_organization(
    conn: &mut PgConnection,
    organization_id: &str,
    deleted_at: &mut Option<DateTime<Utc>>,
    version: &mut DateTime<Utc>,
) -> QueryResult<()> {
    let organization_deleted_at = organizations::table
        .find(organization_id)
        .select(organizations::deleted_at)
        .first::<Option<DateTime<Utc>>>(conn)
        .optional()?
        .flatten();
    if let (None, Some(at)) = (*deleted_at, organization_deleted_at) {
        *deleted_at = Some(at);
        *version = (*version).max(at);
    }
    Ok(())
}

/// Tombstones `family`'s row `id` as [`ObjectChange::Tombstone`] says: `data`
/// becomes `stub` and the other columns are cleared, as for users, so a tombstone
/// does not depend on the order events came in; the one exception is the
/// `organization_id` of an invitation or a domain, kept from the stored row (NULL
/// for an id never seen).
fn tombstone(
    conn: &mut PgConnection,
    family: Family,
    id: &str,
    at: DateTime<Utc>,
    stub: &Value,
) -> QueryResult<usize> {
    let table = family.table();
    let cleared: String = family
        .cleared_by_tombstone()
        .iter()
        .map(|c| format!("\"{c}\" = NULL, "))
        .collect();
    sql_query(format!(
        "INSERT INTO {table} AS t (id, data, clerk_updated_at, deleted_at) \
         VALUES ($1, $2, $3, $3) \
         ON CONFLICT (id) DO UPDATE SET {cleared}clerk_created_at = NULL, \
             deleted_at = excluded.deleted_at, data = excluded.data, \
             clerk_updated_at = greatest(t.clerk_updated_at, excluded.clerk_updated_at), \
             synced_at = now() \
         WHERE t.deleted_at IS NULL"
    ))
    .bind::<Text, _>(id)
    .bind::<Jsonb, _>(stub)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
}

/// Tombstones the live invitations and domains of a deleted organization. Rows are
/// locked in id order, so two cascades that meet cannot deadlock.
pub fn tombstone_of_organization(
    conn: &mut PgConnection,
    organization_id: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    let mut n = 0;
    for table in [Family::Invitation.table(), Family::Domain.table()] {
        n += sql_query(format!(
            "UPDATE {table} \
             SET deleted_at = $2, clerk_updated_at = greatest(clerk_updated_at, $2), \
                 synced_at = now() \
             WHERE id IN (SELECT id FROM {table} \
                          WHERE organization_id = $1 AND deleted_at IS NULL \
                          ORDER BY id FOR UPDATE)"
        ))
        .bind::<Text, _>(organization_id)
        .bind::<Timestamptz, _>(at)
        .execute(conn)?;
    }
    Ok(n)
}

/// The keys of `payer` objects whose values are personal data.
const PAYER_PERSONAL: [&str; 5] = ["email", "first_name", "last_name", "image_url", "username"];

/// Removes the personal fields of every `payer` object in `value`, at any depth
/// (a subscription's items carry their payer too). Ids stay.
pub fn erase_payer(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, v) in fields.iter_mut() {
                if key == "payer" {
                    if let Value::Object(payer) = v {
                        for k in PAYER_PERSONAL {
                            payer.remove(k);
                        }
                    }
                }
                erase_payer(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(erase_payer),
        _ => {}
    }
}

#[derive(QueryableByName)]
struct IdData {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Jsonb>)]
    data: Option<Value>,
}

/// Erases a deleted user's personal data from the billing rows they pay for (the
/// payer's name, email address and picture in `data`). Rows are locked in id order.
pub fn erase_payer_data(conn: &mut PgConnection, user_id: &str) -> QueryResult<()> {
    for family in [
        Family::Subscription,
        Family::SubscriptionItem,
        Family::PaymentAttempt,
    ] {
        let table = family.table();
        let rows: Vec<IdData> = sql_query(format!(
            "SELECT id, data FROM {table} WHERE payer_user_id = $1 ORDER BY id FOR UPDATE"
        ))
        .bind::<Text, _>(user_id)
        .load(conn)?;
        for row in rows {
            let Some(mut data) = row.data else { continue };
            let before = data.clone();
            erase_payer(&mut data);
            if data != before {
                sql_query(format!(
                    "UPDATE {table} SET data = $2, synced_at = now() WHERE id = $1"
                ))
                .bind::<Text, _>(&row.id)
                .bind::<Jsonb, _>(&data)
                .execute(conn)?;
            }
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Email {
    #[diesel(sql_type = Text)]
    email: String,
}

/// The email addresses a stored user row knows (its `email` column and every entry
/// of `data.email_addresses`), lower-cased. Read before the user's tombstone clears
/// them.
pub fn emails_of_user(conn: &mut PgConnection, user_id: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<Email> = sql_query(
        "SELECT DISTINCT lower(e) AS email FROM ( \
             SELECT email AS e FROM users WHERE id = $1 AND email IS NOT NULL \
             UNION ALL \
             SELECT a->>'email_address' FROM users, \
                 jsonb_array_elements(CASE WHEN jsonb_typeof(data->'email_addresses') = 'array' \
                                           THEN data->'email_addresses' ELSE '[]' END) AS a \
             WHERE id = $1 AND a->>'email_address' IS NOT NULL) AS x",
    )
    .bind::<Text, _>(user_id)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.email).collect())
}

/// Erases the email addresses of a deleted user from the invitations sent to them
/// and their waitlist entries made before `erased_at` (column, and any field of
/// `data` that holds one, nested ones included). Rows are locked in id order.
pub fn erase_emails(
    conn: &mut PgConnection,
    emails: &std::collections::BTreeSet<String>,
    erased_at: DateTime<Utc>,
) -> QueryResult<()> {
    if emails.is_empty() {
        return Ok(());
    }
    let list: Vec<&str> = emails.iter().map(String::as_str).collect();
    // `lower(email_address)` is indexed; Clerk gives addresses trimmed.
    for table in [Family::Invitation.table(), Family::WaitlistEntry.table()] {
        let rows: Vec<IdData> = sql_query(format!(
            "SELECT id, data FROM {table} WHERE lower(email_address) = ANY($1) \
               AND coalesce(clerk_created_at, '-infinity') <= $2 \
             ORDER BY id FOR UPDATE"
        ))
        .bind::<Array<Text>, _>(&list)
        .bind::<Timestamptz, _>(erased_at)
        .load(conn)?;
        for row in rows {
            let mut data = row.data;
            if let Some(d) = data.as_mut() {
                crate::apply::erasure::scrub_emails(d, emails);
            }
            sql_query(format!(
                "UPDATE {table} SET email_address = NULL, data = $2, synced_at = now() \
                 WHERE id = $1"
            ))
            .bind::<Text, _>(&row.id)
            .bind::<diesel::sql_types::Nullable<Jsonb>, _>(&data)
            .execute(conn)?;
        }
    }
    Ok(())
}

/// An invitation or a waitlist entry to an address of a user deleted after it was
/// made is written without the address (column and `data`): erasure holds whatever
/// came first. One made after the delete is new data and is written as sent.
fn without_erased_address(
    conn: &mut PgConnection,
    email: &mut Option<String>,
    data: &mut Option<Value>,
    created_at: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    use crate::apply::erasure::{is_erased_identifier, scrub_emails, Identifier};
    let Some(identifier) = email.as_deref().and_then(Identifier::email) else {
        return Ok(());
    };
    let Some(erased) = is_erased_identifier(conn, &identifier)? else {
        return Ok(());
    };
    if created_at.is_some_and(|at| at > erased.erased_at) {
        return Ok(());
    }
    let emails =
        std::collections::BTreeSet::from([email.take().unwrap_or_default().trim().to_lowercase()]);
    if let Some(d) = data.as_mut() {
        scrub_emails(d, &emails);
    }
    Ok(())
}

/// Up to `limit` ids of live rows of `family`, after `after` in id order: what
/// reconcile checks against Clerk.
pub fn live_ids(
    conn: &mut PgConnection,
    family: Family,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let table = family.table();
    let rows: Vec<Id> = sql_query(format!(
        "SELECT id FROM {table} WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2"
    ))
    .bind::<Text, _>(after.unwrap_or(""))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A stored row's version and whether it is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct StoredVersion {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Timestamptz)]
    pub clerk_updated_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub deleted: bool,
}

/// The stored versions of `family`'s rows among `ids` (rows never seen are left
/// out): what reconcile compares with Clerk's `updated_at` to count `missing` and
/// `outdated` objects.
pub fn versions(
    conn: &mut PgConnection,
    family: Family,
    ids: &[String],
) -> QueryResult<Vec<StoredVersion>> {
    let table = family.table();
    sql_query(format!(
        "SELECT id, clerk_updated_at, deleted_at IS NOT NULL AS deleted \
         FROM {table} WHERE id = ANY($1) ORDER BY id"
    ))
    .bind::<Array<Text>, _>(ids)
    .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payers_lose_personal_fields_at_any_depth() {
        let mut v = json!({
            "payer": {"user_id": "user_1", "email": "a@example.org", "first_name": "A"},
            "items": [{"payer": {"user_id": "user_1", "last_name": "B", "image_url": "x"}}]
        });
        erase_payer(&mut v);
        assert_eq!(
            v,
            json!({"payer": {"user_id": "user_1"}, "items": [{"payer": {"user_id": "user_1"}}]})
        );
    }
}
