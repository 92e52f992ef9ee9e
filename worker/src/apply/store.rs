//! The SQL of applying events.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{now, sql},
    pg::{upsert::excluded, PgConnection},
    prelude::*,
    sql_query,
    sql_types::{Nullable, Text, Timestamptz},
};
use shared::{
    models::{NewMembership, NewOrganization, NewUser, NewWebhookEvent, RawJson},
    schema::{organization_memberships, organizations, users, webhook_events},
};

use super::{families::Family, Change, EventToApply, Outcome};

/// The `webhook_events` row of an event.
fn record_row(e: &EventToApply, outcome: Outcome) -> NewWebhookEvent<'_> {
    NewWebhookEvent {
        svix_id: &e.svix_id,
        event_type: &e.event_type,
        object_id: e.object_id.as_deref(),
        occurred_at: e.occurred_at,
        received_at: e.received_at,
        outcome: outcome.as_str(),
        attempts: e.attempt,
        payload: e.payload.as_ref().map(|p| RawJson(&p.json)),
        subject_user_ids: e.payload.as_ref().map(|p| p.user_ids.as_slice()),
        subject_digests: e.payload.as_ref().map(|p| p.digests.as_slice()),
    }
}

/// Clears the stored payloads, among the records of `svix_ids`, that name a user
/// who is already deleted: a payload recorded after a user's erasure must not bring
/// their personal data back.
pub fn drop_payloads_naming_deleted_users(
    conn: &mut PgConnection,
    svix_ids: &[&str],
) -> QueryResult<()> {
    if svix_ids.is_empty() {
        return Ok(());
    }
    sql_query(
        "UPDATE webhook_events w SET payload = NULL \
         WHERE w.svix_id = ANY($1) AND w.payload IS NOT NULL \
           AND EXISTS (SELECT 1 FROM users u \
                       WHERE u.id = ANY(w.subject_user_ids) AND u.deleted_at IS NOT NULL)",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(svix_ids)
    .execute(conn)?;
    Ok(())
}

/// A stored payload's object was made after `$at` (its `data.created_at`, in ms):
/// then the addresses it names are new data, not the erased user's.
const MADE_AFTER: &str = "coalesce(jsonb_typeof(w.payload->'data'->'created_at') = 'number' \
     AND to_timestamp((w.payload->'data'->>'created_at')::float8 / 1000) > {at}, false)";

/// Clears the stored payloads that name one of `digests` (email addresses and
/// phone numbers of a user erased at `erased_at`), about objects made before then.
/// Rows are locked in svix-id order.
pub fn drop_payloads_naming_digests(
    conn: &mut PgConnection,
    digests: &[Vec<u8>],
    erased_at: DateTime<Utc>,
) -> QueryResult<()> {
    if digests.is_empty() {
        return Ok(());
    }
    let made_after = MADE_AFTER.replace("{at}", "$2");
    sql_query(format!(
        "UPDATE webhook_events SET payload = NULL \
         WHERE svix_id IN (SELECT svix_id FROM webhook_events w \
                           WHERE subject_digests && $1 AND payload IS NOT NULL \
                             AND NOT {made_after} \
                           ORDER BY svix_id FOR UPDATE)"
    ))
    .bind::<diesel::sql_types::Array<diesel::sql_types::Bytea>, _>(digests)
    .bind::<Timestamptz, _>(erased_at)
    .execute(conn)?;
    Ok(())
}

/// Clears the stored payloads, among the records of `svix_ids`, that name an
/// address or a phone number of a user erased after the payload's object was made.
pub fn drop_payloads_naming_erased_identifiers(
    conn: &mut PgConnection,
    svix_ids: &[&str],
) -> QueryResult<()> {
    if svix_ids.is_empty() {
        return Ok(());
    }
    let made_after = MADE_AFTER.replace("{at}", "e.erased_at");
    sql_query(format!(
        "UPDATE webhook_events w SET payload = NULL \
         WHERE w.svix_id = ANY($1) AND w.payload IS NOT NULL \
           AND EXISTS (SELECT 1 FROM erased_identifiers e \
                       WHERE e.digest = ANY(w.subject_digests) AND NOT {made_after})"
    ))
    .bind::<diesel::sql_types::Array<Text>, _>(svix_ids)
    .execute(conn)?;
    Ok(())
}

/// The svix-ids of `events` whose stored payload names an email address or a phone
/// number.
pub fn naming_identifiers<'a>(events: impl IntoIterator<Item = &'a EventToApply>) -> Vec<&'a str> {
    events
        .into_iter()
        .filter(|e| e.payload.as_ref().is_some_and(|p| !p.digests.is_empty()))
        .map(|e| e.svix_id.as_str())
        .collect()
}

/// The svix-ids of `events` whose stored payload names a user.
pub fn naming_users<'a>(events: impl IntoIterator<Item = &'a EventToApply>) -> Vec<&'a str> {
    events
        .into_iter()
        .filter(|e| e.payload.as_ref().is_some_and(|p| !p.user_ids.is_empty()))
        .map(|e| e.svix_id.as_str())
        .collect()
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
    if events.iter().all(|(e, _)| e.payload.is_none()) {
        return prepared::record_all(conn, events);
    }
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

/// Upserts a user, or writes its tombstone. A tombstone lands on any live row and
/// keeps the greater version (a delete is terminal: Clerk never reuses an id), and
/// the stored `external_id` when it names none (see
/// [`super::prepare::user_tombstone`]); a create or update lands only if the stored
/// row is live and not newer. Nothing overwrites a tombstone.
pub fn upsert_user(conn: &mut PgConnection, u: &NewUser) -> QueryResult<Outcome> {
    upsert_users(conn, vec![u]).map(|ids| landed(ids.len()))
}

/// [`upsert_user`] for several users (distinct ids) in one statement. Returns the
/// ids that landed.
pub fn upsert_users(conn: &mut PgConnection, rows: Vec<&NewUser>) -> QueryResult<Vec<String>> {
    prepared::upsert_users(conn, &rows)
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
            c::slug.eq(sql::<Nullable<Text>>(
                "CASE WHEN excluded.deleted_at IS NULL THEN excluded.slug \
                 ELSE coalesce(excluded.slug, organizations.slug) END",
            )),
            c::image_url.eq(excluded(c::image_url)),
            c::created_by.eq(excluded(c::created_by)),
            c::public_metadata.eq(excluded(c::public_metadata)),
            c::data.eq(excluded(c::data)),
            c::clerk_created_at.eq(excluded(c::clerk_created_at)),
            c::clerk_updated_at.eq(sql::<Timestamptz>(
                "greatest(organizations.clerk_updated_at, excluded.clerk_updated_at)",
            )),
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
        .returning(c::id)
        .get_results(conn)
}

/// Upserts a membership, or writes its tombstone. A membership of an organization
/// or a user that is already deleted is written as a tombstone.
pub fn upsert_membership(conn: &mut PgConnection, m: &NewMembership) -> QueryResult<Outcome> {
    use organization_memberships::dsl as c;
    let org_deleted_at: Option<Option<DateTime<Utc>>> = organizations::table
        .find(&m.organization_id)
        .select(organizations::deleted_at)
        .first(conn)
        .optional()?;
    let user_deleted_at: Option<Option<DateTime<Utc>>> = match &m.user_id {
        Some(user_id) => users::table
            .find(user_id)
            .select(users::deleted_at)
            .first(conn)
            .optional()?,
        None => None,
    };
    let mut row = m.clone();
    if row.deleted_at.is_none() {
        row.deleted_at = org_deleted_at.flatten().or(user_deleted_at.flatten());
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
            c::clerk_updated_at.eq(sql::<Timestamptz>(
                "greatest(organization_memberships.clerk_updated_at, excluded.clerk_updated_at)",
            )),
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
        .execute(conn)
        .map(landed)
}

/// Whose live memberships a cascade tombstones.
#[derive(Debug, Clone, Copy)]
pub enum MembershipsOf<'a> {
    Organization(&'a str),
    User(&'a str),
}

/// Tombstones the live memberships of a deleted organization or user. Rows are
/// locked in id order, so two cascades that meet cannot deadlock.
pub fn tombstone_memberships(
    conn: &mut PgConnection,
    of: MembershipsOf<'_>,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    let (column, id) = match of {
        MembershipsOf::Organization(id) => ("organization_id", id),
        MembershipsOf::User(id) => ("user_id", id),
    };
    sql_query(format!(
        "UPDATE organization_memberships \
         SET deleted_at = $2, clerk_updated_at = greatest(clerk_updated_at, $2), \
             synced_at = now() \
         WHERE id IN (SELECT id FROM organization_memberships \
                      WHERE {column} = $1 AND deleted_at IS NULL ORDER BY id FOR UPDATE)"
    ))
    .bind::<Text, _>(id)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
}

/// Takes the transaction-level advisory locks of `keys` (see
/// [`super::locks`]), in one global order: every transaction that writes about a
/// user or an organization holds its lock first, so a delete and any concurrent
/// write about the same subject run one after the other, and two transactions can
/// never wait on each other's locks in a cycle.
pub fn lock_subjects(conn: &mut PgConnection, keys: &[String]) -> QueryResult<()> {
    lock_subjects_naming(conn, keys, None)
}

/// [`lock_subjects`], and in the same statement tells the change feed which event
/// wrote each object (`events`: the JSON of `attribution::Attribution::map`).
pub fn lock_subjects_naming(
    conn: &mut PgConnection,
    keys: &[String],
    events: Option<&str>,
) -> QueryResult<()> {
    const LOCK: &str = "SELECT count(pg_advisory_xact_lock(h)) FROM \
         (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k \
          ORDER BY h OFFSET 0) AS ordered";
    match events {
        None if keys.is_empty() => Ok(()),
        None => sql_query(LOCK)
            .bind::<diesel::sql_types::Array<Text>, _>(keys)
            .execute(conn)
            .map(drop),
        Some(events) => sql_query(format!(
            "SELECT set_config('clerk_sync.events', $2, true), ({LOCK})"
        ))
        .bind::<diesel::sql_types::Array<Text>, _>(keys)
        .bind::<Text, _>(events)
        .execute(conn)
        .map(drop),
    }
}

/// The organizations and users that `changes` delete: their cascades and erasures
/// write rows that belong to other subjects too (a membership is its organization's
/// and its user's), which the advisory locks alone do not order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deletes {
    pub organizations: Vec<String>,
    pub users: Vec<String>,
}

impl Deletes {
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        let mut d = Self::default();
        for change in changes {
            match change {
                Change::User(u) if u.deleted_at.is_some() => d.users.push(u.id.clone()),
                Change::Organization(o) if o.deleted_at.is_some() => {
                    d.organizations.push(o.id.clone())
                }
                _ => {}
            }
        }
        d.organizations.sort_unstable();
        d.organizations.dedup();
        d.users.sort_unstable();
        d.users.dedup();
        d
    }

    /// Whether one transaction writes two or more cascades: then their rows must be
    /// locked together up front (one cascade alone locks each table's rows in one
    /// statement, in the same table order as [`lock_cascade_rows`]).
    pub fn need_up_front_locks(&self) -> bool {
        self.organizations.len() + self.users.len() > 1
    }
}

/// Locks every row that the cascades and erasures of `deletes` may write, table by
/// table in one fixed order (memberships, invitations, waitlist entries, domains,
/// billing rows, event records), each table's rows in id order in one statement.
/// Two transactions that each delete several organizations and users then lock the
/// rows they share in the same order, so they cannot deadlock: each cascade that
/// follows only takes locks already held. Rows no cascade will change in the end (a
/// tombstone already, say) may be locked too; that costs nothing but a wait.
pub fn lock_cascade_rows(conn: &mut PgConnection, deletes: &Deletes) -> QueryResult<()> {
    use diesel::sql_types::Array;
    let (orgs, users) = (&deletes.organizations, &deletes.users);
    let mut emails = Vec::new();
    for user in users {
        emails.extend(super::families::store::emails_of_user(conn, user)?);
    }
    emails.sort_unstable();
    emails.dedup();
    let lock = |table: &str, key: &str, filter: &str| {
        format!(
            "SELECT count(*) FROM (SELECT {key} FROM {table} WHERE {filter} \
             ORDER BY {key} FOR UPDATE) AS locked"
        )
    };
    let statements = [
        lock(
            "organization_memberships",
            "id",
            "organization_id = ANY($1) OR user_id = ANY($2)",
        ),
        lock(
            Family::Invitation.table(),
            "id",
            "organization_id = ANY($1) OR lower(email_address) = ANY($3)",
        ),
        lock(
            Family::WaitlistEntry.table(),
            "id",
            "lower(email_address) = ANY($3)",
        ),
        lock(Family::Domain.table(), "id", "organization_id = ANY($1)"),
        lock(
            Family::Subscription.table(),
            "id",
            "payer_user_id = ANY($2)",
        ),
        lock(
            Family::SubscriptionItem.table(),
            "id",
            "payer_user_id = ANY($2)",
        ),
        lock(
            Family::PaymentAttempt.table(),
            "id",
            "payer_user_id = ANY($2)",
        ),
        lock(
            "webhook_events",
            "svix_id",
            "subject_user_ids && $2 AND payload IS NOT NULL",
        ),
    ];
    for sql in statements {
        sql_query(sql)
            .bind::<Array<Text>, _>(orgs)
            .bind::<Array<Text>, _>(users)
            .bind::<Array<Text>, _>(&emails)
            .execute(conn)?;
    }
    Ok(())
}

/// When the user was deleted, if they have a tombstone.
pub fn user_deleted_at(
    conn: &mut PgConnection,
    user_id: &str,
) -> QueryResult<Option<DateTime<Utc>>> {
    Ok(users::table
        .find(user_id)
        .select(users::deleted_at)
        .first::<Option<DateTime<Utc>>>(conn)
        .optional()?
        .flatten())
}

/// Erases a deleted user's personal data outside the `users` row: the user's data in
/// their memberships and in the billing rows they pay for, and every stored payload
/// about them.
pub fn erase_user(conn: &mut PgConnection, user_id: &str) -> QueryResult<()> {
    super::families::store::erase_payer_data(conn, user_id)?;
    sql_query(
        "UPDATE organization_memberships \
         SET data = data - 'public_user_data', synced_at = now() \
         WHERE id IN (SELECT id FROM organization_memberships \
                      WHERE user_id = $1 AND data ? 'public_user_data' ORDER BY id FOR UPDATE)",
    )
    .bind::<Text, _>(user_id)
    .execute(conn)?;
    sql_query(
        "UPDATE webhook_events SET payload = NULL \
         WHERE svix_id IN (SELECT svix_id FROM webhook_events \
                           WHERE subject_user_ids @> ARRAY[$1] AND payload IS NOT NULL \
                           ORDER BY svix_id FOR UPDATE)",
    )
    .bind::<Text, _>(user_id)
    .execute(conn)?;
    Ok(())
}

/// Deletes at most `chunk` records processed before `cutoff`, in one short
/// transaction bounded by a statement timeout, locking rows in svix-id order and
/// skipping rows another transaction holds (an erasure, say). Returns how many.
pub fn prune_chunk(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    chunk: i64,
) -> QueryResult<usize> {
    use diesel::Connection;
    conn.transaction(|conn| {
        sql_query("SET LOCAL statement_timeout = '30s'").execute(conn)?;
        sql_query(
            "DELETE FROM webhook_events WHERE svix_id IN \
             (SELECT svix_id FROM webhook_events WHERE processed_at < $1 \
              ORDER BY svix_id LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind::<Timestamptz, _>(cutoff)
        .bind::<diesel::sql_types::BigInt, _>(chunk)
        .execute(conn)
    })
}

/// The statements of a batch's fast path with one bind parameter per column (an
/// array of the batch's values), not one per value: their text is the same for any
/// batch size, so Diesel prepares each once per connection and Postgres neither
/// parses nor plans a 2,400-parameter statement per batch.
mod prepared {
    use diesel::{
        pg::PgConnection,
        prelude::*,
        sql_query,
        sql_types::{Array, Int4, Jsonb, Nullable, Text, Timestamptz},
    };
    use shared::models::NewUser;

    use super::{EventToApply, Outcome};

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }

    /// `store::record_all` for records without a payload (the default).
    pub(super) fn record_all(
        conn: &mut PgConnection,
        events: &[(&EventToApply, Outcome)],
    ) -> QueryResult<Vec<String>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = events.iter().map(|(e, _)| e.svix_id.as_str()).collect();
        let types: Vec<&str> = events.iter().map(|(e, _)| e.event_type.as_str()).collect();
        let objects: Vec<Option<&str>> =
            events.iter().map(|(e, _)| e.object_id.as_deref()).collect();
        let occurred: Vec<_> = events.iter().map(|(e, _)| e.occurred_at).collect();
        let received: Vec<_> = events.iter().map(|(e, _)| e.received_at).collect();
        let outcomes: Vec<&str> = events.iter().map(|(_, o)| o.as_str()).collect();
        let attempts: Vec<i32> = events.iter().map(|(e, _)| e.attempt).collect();
        let ids: Vec<Id> = sql_query(
            "INSERT INTO webhook_events \
               (svix_id, event_type, object_id, occurred_at, received_at, outcome, attempts) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], \
                                  $5::timestamptz[], $6::text[], $7::int4[]) \
             ON CONFLICT DO NOTHING RETURNING svix_id AS id",
        )
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Text>, _>(types)
        .bind::<Array<Nullable<Text>>, _>(objects)
        .bind::<Array<Nullable<Timestamptz>>, _>(occurred)
        .bind::<Array<Nullable<Timestamptz>>, _>(received)
        .bind::<Array<Text>, _>(outcomes)
        .bind::<Array<Int4>, _>(attempts)
        .load(conn)?;
        Ok(ids.into_iter().map(|r| r.id).collect())
    }

    /// `store::upsert_users`: the same guard (a tombstone lands on any live row and
    /// keeps the greater version; a create or update only on a live row not newer;
    /// nothing overwrites a tombstone).
    pub(super) fn upsert_users(
        conn: &mut PgConnection,
        rows: &[&NewUser],
    ) -> QueryResult<Vec<String>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        type Texts<'a> = Vec<Option<&'a str>>;
        let text = |f: fn(&NewUser) -> &Option<String>| -> Texts<'_> {
            rows.iter().map(|u| f(u).as_deref()).collect()
        };
        let ids: Vec<&str> = rows.iter().map(|u| u.id.as_str()).collect();
        let ids: Vec<Id> = sql_query(
            "INSERT INTO users AS u (id, email, first_name, last_name, username, image_url, \
               external_id, public_metadata, data, clerk_created_at, clerk_updated_at, deleted_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
               $6::text[], $7::text[], $8::jsonb[], $9::jsonb[], $10::timestamptz[], \
               $11::timestamptz[], $12::timestamptz[]) \
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
               first_name = excluded.first_name, last_name = excluded.last_name, \
               username = excluded.username, image_url = excluded.image_url, \
               external_id = CASE WHEN excluded.deleted_at IS NULL THEN excluded.external_id \
                 ELSE coalesce(excluded.external_id, u.external_id) END, \
               public_metadata = excluded.public_metadata, \
               data = excluded.data, clerk_created_at = excluded.clerk_created_at, \
               clerk_updated_at = greatest(u.clerk_updated_at, excluded.clerk_updated_at), \
               deleted_at = excluded.deleted_at, synced_at = now() \
             WHERE u.deleted_at IS NULL \
               AND (excluded.deleted_at IS NOT NULL \
                    OR u.clerk_updated_at <= excluded.clerk_updated_at) \
             RETURNING id",
        )
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Nullable<Text>>, _>(text(|u| &u.email))
        .bind::<Array<Nullable<Text>>, _>(text(|u| &u.first_name))
        .bind::<Array<Nullable<Text>>, _>(text(|u| &u.last_name))
        .bind::<Array<Nullable<Text>>, _>(text(|u| &u.username))
        .bind::<Array<Nullable<Text>>, _>(text(|u| &u.image_url))
        .bind::<Array<Nullable<Text>>, _>(text(|u| &u.external_id))
        .bind::<Array<Nullable<Jsonb>>, _>(
            rows.iter()
                .map(|u| u.public_metadata.as_ref())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Jsonb>>, _>(rows.iter().map(|u| u.data.as_ref()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(
            rows.iter().map(|u| u.clerk_created_at).collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|u| u.clerk_updated_at).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(
            rows.iter().map(|u| u.deleted_at).collect::<Vec<_>>(),
        )
        .load(conn)?;
        Ok(ids.into_iter().map(|r| r.id).collect())
    }
}
