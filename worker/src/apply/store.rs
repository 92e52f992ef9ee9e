//! The SQL of applying events.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{now, sql},
    pg::{upsert::excluded, PgConnection},
    prelude::*,
    sql_query,
    sql_types::{Text, Timestamptz},
};
use shared::{
    models::{NewMembership, NewOrganization, NewUser, NewWebhookEvent, RawJson},
    schema::{organization_memberships, organizations, users, webhook_events},
};

use super::{EventToApply, Outcome};

/// The `webhook_events` row of an event.
fn record_row(e: &EventToApply, outcome: Outcome) -> NewWebhookEvent<'_> {
    NewWebhookEvent {
        svix_id: &e.svix_id,
        event_type: &e.event_type,
        object_id: e.object_id.as_deref(),
        subject_user_id: e.subject_user_id.as_deref(),
        occurred_at: e.occurred_at,
        received_at: e.received_at,
        outcome: outcome.as_str(),
        attempts: e.attempt,
        payload: Some(RawJson(&e.payload)),
    }
}

/// Inserts the event's record; `false` when its svix-id is already recorded.
pub fn record(conn: &mut PgConnection, e: &EventToApply, outcome: Outcome) -> QueryResult<bool> {
    let inserted = diesel::insert_into(webhook_events::table)
        .values(&record_row(e, outcome))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// Inserts the records of several events (distinct svix-ids) in one statement.
/// Returns the svix-ids that were not recorded before.
pub fn record_all(
    conn: &mut PgConnection,
    events: &[(&EventToApply, Outcome)],
) -> QueryResult<Vec<String>> {
    let rows: Vec<NewWebhookEvent<'_>> = events
        .iter()
        .map(|(e, outcome)| record_row(e, *outcome))
        .collect();
    diesel::insert_into(webhook_events::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(webhook_events::svix_id)
        .get_results(conn)
}

/// Marks several records stale in one statement.
pub fn set_stale(conn: &mut PgConnection, svix_ids: &[&str]) -> QueryResult<()> {
    if svix_ids.is_empty() {
        return Ok(());
    }
    diesel::update(webhook_events::table.filter(webhook_events::svix_id.eq_any(svix_ids)))
        .set(webhook_events::outcome.eq(Outcome::Stale.as_str()))
        .execute(conn)?;
    Ok(())
}

pub fn set_outcome(conn: &mut PgConnection, svix_id: &str, outcome: Outcome) -> QueryResult<()> {
    diesel::update(webhook_events::table.find(svix_id))
        .set(webhook_events::outcome.eq(outcome.as_str()))
        .execute(conn)?;
    Ok(())
}

fn landed(rows: usize) -> Outcome {
    if rows == 1 {
        Outcome::Applied
    } else {
        Outcome::Stale
    }
}

/// Upserts a user, or writes its tombstone. Lands only if the stored row is not
/// newer and not a tombstone.
pub fn upsert_user(conn: &mut PgConnection, u: &NewUser) -> QueryResult<Outcome> {
    upsert_users(conn, vec![u]).map(|ids| landed(ids.len()))
}

/// [`upsert_user`] for several users (distinct ids) in one statement. Returns the
/// ids that landed.
pub fn upsert_users(conn: &mut PgConnection, rows: Vec<&NewUser>) -> QueryResult<Vec<String>> {
    use diesel::query_dsl::methods::FilterDsl;
    use users::dsl as c;
    diesel::insert_into(users::table)
        .values(rows)
        .on_conflict(c::id)
        .do_update()
        .set((
            c::email.eq(excluded(c::email)),
            c::first_name.eq(excluded(c::first_name)),
            c::last_name.eq(excluded(c::last_name)),
            c::username.eq(excluded(c::username)),
            c::image_url.eq(excluded(c::image_url)),
            c::external_id.eq(excluded(c::external_id)),
            c::public_metadata.eq(excluded(c::public_metadata)),
            c::data.eq(excluded(c::data)),
            c::clerk_created_at.eq(excluded(c::clerk_created_at)),
            c::clerk_updated_at.eq(excluded(c::clerk_updated_at)),
            c::deleted_at.eq(excluded(c::deleted_at)),
            c::synced_at.eq(now),
        ))
        .filter(
            c::deleted_at
                .is_null()
                .and(c::clerk_updated_at.le(excluded(c::clerk_updated_at))),
        )
        .returning(c::id)
        .get_results(conn)
}

pub fn upsert_organization(conn: &mut PgConnection, o: &NewOrganization) -> QueryResult<Outcome> {
    upsert_organizations(conn, vec![o]).map(|ids| landed(ids.len()))
}

/// [`upsert_organization`] for several organizations (distinct ids) in one
/// statement. Returns the ids that landed.
pub fn upsert_organizations(
    conn: &mut PgConnection,
    rows: Vec<&NewOrganization>,
) -> QueryResult<Vec<String>> {
    use diesel::query_dsl::methods::FilterDsl;
    use organizations::dsl as c;
    diesel::insert_into(organizations::table)
        .values(rows)
        .on_conflict(c::id)
        .do_update()
        .set((
            c::name.eq(excluded(c::name)),
            c::slug.eq(excluded(c::slug)),
            c::image_url.eq(excluded(c::image_url)),
            c::created_by.eq(excluded(c::created_by)),
            c::public_metadata.eq(excluded(c::public_metadata)),
            c::data.eq(excluded(c::data)),
            c::clerk_created_at.eq(excluded(c::clerk_created_at)),
            c::clerk_updated_at.eq(excluded(c::clerk_updated_at)),
            c::deleted_at.eq(excluded(c::deleted_at)),
            c::synced_at.eq(now),
        ))
        .filter(
            c::deleted_at
                .is_null()
                .and(c::clerk_updated_at.le(excluded(c::clerk_updated_at))),
        )
        .returning(c::id)
        .get_results(conn)
}

/// Upserts a membership, or writes its tombstone. A membership of an organization
/// that is already deleted is written as a tombstone.
pub fn upsert_membership(conn: &mut PgConnection, m: &NewMembership) -> QueryResult<Outcome> {
    use organization_memberships::dsl as c;
    let org_deleted_at: Option<Option<DateTime<Utc>>> = organizations::table
        .find(&m.organization_id)
        .select(organizations::deleted_at)
        .first(conn)
        .optional()?;
    let mut row = m.clone();
    if let (Some(Some(at)), None) = (org_deleted_at, row.deleted_at) {
        row.deleted_at = Some(at);
    }
    use diesel::query_dsl::methods::FilterDsl;
    diesel::insert_into(organization_memberships::table)
        .values(&row)
        .on_conflict(c::id)
        .do_update()
        .set((
            c::organization_id.eq(excluded(c::organization_id)),
            c::user_id.eq(excluded(c::user_id)),
            c::role.eq(excluded(c::role)),
            c::public_metadata.eq(excluded(c::public_metadata)),
            c::data.eq(excluded(c::data)),
            c::clerk_created_at.eq(excluded(c::clerk_created_at)),
            c::clerk_updated_at.eq(excluded(c::clerk_updated_at)),
            c::deleted_at.eq(excluded(c::deleted_at)),
            c::synced_at.eq(now),
        ))
        .filter(
            c::deleted_at
                .is_null()
                .and(c::clerk_updated_at.le(excluded(c::clerk_updated_at))),
        )
        .execute(conn)
        .map(landed)
}

/// Tombstones the live memberships of a deleted organization.
pub fn tombstone_memberships_of(
    conn: &mut PgConnection,
    organization_id: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    use organization_memberships::dsl as c;
    diesel::update(
        organization_memberships::table
            .filter(c::organization_id.eq(organization_id))
            .filter(c::deleted_at.is_null()),
    )
    .set((
        c::deleted_at.eq(at),
        c::clerk_updated_at.eq(sql::<Timestamptz>("greatest(clerk_updated_at, ")
            .bind::<Timestamptz, _>(at)
            .sql(")")),
        c::synced_at.eq(now),
    ))
    .execute(conn)
}

/// Whether the user has a tombstone.
pub fn user_is_deleted(conn: &mut PgConnection, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::deleted_at.is_not_null()),
    ))
    .get_result::<bool>(conn)
}

/// Erases a deleted user's personal data outside the `users` row: the user's data in
/// their memberships, and every stored payload about them.
pub fn erase_user(conn: &mut PgConnection, user_id: &str) -> QueryResult<()> {
    sql_query(
        "UPDATE organization_memberships \
         SET data = data - 'public_user_data', synced_at = now() \
         WHERE user_id = $1 AND data ? 'public_user_data'",
    )
    .bind::<Text, _>(user_id)
    .execute(conn)?;
    diesel::update(
        webhook_events::table
            .filter(webhook_events::subject_user_id.eq(user_id))
            .filter(webhook_events::payload.is_not_null()),
    )
    .set(webhook_events::payload.eq(None::<serde_json::Value>))
    .execute(conn)?;
    Ok(())
}

pub fn prune(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(webhook_events::table.filter(webhook_events::processed_at.lt(cutoff)))
        .execute(conn)
}
