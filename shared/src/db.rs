//! Postgres: connection pool, database creation and embedded migrations.
//!
//! Diesel is synchronous: callers run it on blocking threads
//! (`tokio::task::spawn_blocking`), never on the async runtime.

use std::time::Duration;

use anyhow::{bail, Context};
use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection},
    sql_query,
    sql_types::Text,
    Connection, QueryableByName, RunQueryDsl,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

/// The schema every table of ours lives in unless `DATABASE_SCHEMA` says otherwise.
pub const DEFAULT_SCHEMA: &str = "clerk";

/// The tables of Clerk's objects: each is in the change feed, with the triggers
/// `<table>_feed_insert` and `<table>_feed_update` (migration `…_change_feed`).
pub const OBJECT_TABLES: [&str; 11] = [
    "users",
    "organizations",
    "organization_memberships",
    "organization_invitations",
    "organization_domains",
    "roles",
    "permissions",
    "waitlist_entries",
    "billing_subscriptions",
    "billing_subscription_items",
    "billing_payment_attempts",
];

/// The tables and functions our migrations create, as moved from `public` into the
/// schema by [`migrate`] for an install from before the schema existed. A test
/// (`integration/tests/e2e/own_schema.rs`) checks that this leaves nothing of ours in
/// `public`.
const OUR_TABLES: [&str; 18] = [
    "__diesel_schema_migrations",
    "users",
    "organizations",
    "organization_memberships",
    "webhook_events",
    "organization_invitations",
    "organization_domains",
    "roles",
    "permissions",
    "waitlist_entries",
    "billing_subscriptions",
    "billing_subscription_items",
    "erased_identifiers",
    "billing_payment_attempts",
    "changes",
    "change_sequence",
    "change_retention",
    "change_relays",
];
const OUR_FUNCTIONS: [&str; 18] = [
    "clerk_sync_notify()",
    "clerk_sync_feed_staging()",
    "clerk_sync_feed_mark()",
    "clerk_sync_feed_seal()",
    "clerk_sync_feed_track(regclass,text)",
    "changes_since(bigint,integer)",
    "changes_head()",
    "users_feed()",
    "organizations_feed()",
    "organization_memberships_feed()",
    "organization_invitations_feed()",
    "organization_domains_feed()",
    "roles_feed()",
    "permissions_feed()",
    "waitlist_entries_feed()",
    "billing_subscriptions_feed()",
    "billing_subscription_items_feed()",
    "billing_payment_attempts_feed()",
];

/// Whether `name` may be a `DATABASE_SCHEMA`: a lower-case SQL identifier that needs
/// no quoting (letters, digits, `_`, not starting with a digit, at most 63 bytes).
pub fn is_valid_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with("pg_")
}

/// Session settings for every connection: our schema first on the `search_path`
/// (Diesel's generated schema names no schema, so this is what puts every table,
/// query and migration in it), and a statement or a lock wait that hangs fails
/// instead, and is retried like any other passing failure.
#[derive(Debug, Clone)]
struct SessionSettings {
    schema: String,
}

impl SessionSettings {
    fn apply(&self, conn: &mut PgConnection) -> diesel::QueryResult<()> {
        conn.batch_execute(&format!(
            "SET search_path TO \"{}\"; SET lock_timeout = '10s'; SET statement_timeout = '60s'; \
             SET application_name = 'clerk-sync';",
            self.schema
        ))
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool of up to `max_size` connections whose tables are those of `schema`. It
/// connects lazily, so it can be built while Postgres is down.
pub fn pool(database_url: &str, schema: &str, max_size: u32) -> anyhow::Result<PgPool> {
    if !is_valid_schema_name(schema) {
        bail!("DATABASE_SCHEMA {schema:?} is not a lower-case SQL identifier");
    }
    Ok(Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .connection_customizer(Box::new(SessionSettings {
            schema: schema.to_owned(),
        }))
        .build_unchecked(ConnectionManager::new(database_url)))
}

/// One connection whose tables are those of `schema`, with the pool's session
/// settings.
pub fn connect(database_url: &str, schema: &str) -> anyhow::Result<PgConnection> {
    if !is_valid_schema_name(schema) {
        bail!("DATABASE_SCHEMA {schema:?} is not a lower-case SQL identifier");
    }
    let mut conn = establish(database_url)?;
    SessionSettings {
        schema: schema.to_owned(),
    }
    .apply(&mut conn)
    .context("could not set up the Postgres session")?;
    Ok(conn)
}

/// Postgres could not be reached (down, starting up, or a wrong address): worth
/// waiting for, unlike every other failure of migrating.
#[derive(Debug, thiserror::Error)]
#[error("could not connect to Postgres (check DATABASE_URL): {0}")]
pub struct Unreachable(pub String);

/// One connection, its error on one line without the password
/// ([`crate::pg_connect`]): [`Unreachable`] when waiting may cure it, a plain error
/// when it cannot (a certificate that does not verify, a URL libpq cannot read).
fn establish(url: &str) -> anyhow::Result<PgConnection> {
    crate::pg_connect::establish(url).map_err(|e| {
        let text = e.to_string();
        const PERMANENT: [&str; 5] = [
            "certificate verify failed",
            "does not match host name",
            "root certificate file",
            "invalid percent-encoded",
            "invalid URI",
        ];
        if PERMANENT.iter().any(|p| text.contains(p)) {
            anyhow::anyhow!("could not connect to Postgres (check DATABASE_URL): {text}")
        } else {
            Unreachable(text).into()
        }
    })
}

/// Splits `postgres://…/name?opts` into the URL of the maintenance database
/// `postgres` on the same server, and `name`.
pub fn split_database_url(url: &str) -> anyhow::Result<(String, String)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let Some(slash) = base[scheme_end..].rfind('/').map(|i| i + scheme_end) else {
        bail!("DATABASE_URL names no database (expected postgres://host/DATABASE)");
    };
    let name = &base[slash + 1..];
    if name.is_empty() {
        bail!("DATABASE_URL names no database (expected postgres://host/DATABASE)");
    }
    let mut admin = format!("{}/postgres", &base[..slash]);
    if let Some(q) = query {
        admin.push('?');
        admin.push_str(q);
    }
    Ok((admin, name.to_owned()))
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Creates the database named in `database_url` if it does not exist. Returns
/// whether it created it.
pub fn create_database_if_missing(database_url: &str) -> anyhow::Result<bool> {
    let (admin_url, name) = split_database_url(database_url)?;
    let mut conn = establish(&admin_url).map_err(|e| {
        anyhow::anyhow!("{e:#} (connecting to the `postgres` database to create `{name}`)")
    })?;
    let found = sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(&name)
        .get_result::<Exists>(&mut conn)
        .context("could not list databases")?;
    if found.exists {
        return Ok(false);
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match conn.batch_execute(&format!("CREATE DATABASE {quoted}")) {
        Ok(()) => Ok(true),
        // Another process created it between our check and our CREATE: 42P04, or
        // 23505 when the two CREATEs ran at the same moment (pg_database's unique
        // index caught the second).
        Err(diesel::result::Error::DatabaseError(_, info))
            if matches!(info.sql_state(), Some("42P04" | "23505")) =>
        {
            Ok(false)
        }
        Err(e) => Err(e).with_context(|| format!("could not create database `{name}`")),
    }
}

/// Drops the database named in `database_url` (tests clean up with it).
pub fn drop_database(database_url: &str) -> anyhow::Result<()> {
    let (admin_url, name) = split_database_url(database_url)?;
    let mut conn = crate::pg_connect::establish(&admin_url)?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))?;
    Ok(())
}

/// The advisory lock held while migrating: several workers may start at once, one
/// migrates, the others wait for it and then find nothing pending.
const MIGRATION_LOCK: i64 = 7_411_202_611;

/// What [`migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// The versions applied, in order.
    pub applied: Vec<String>,
    /// Whether it created the schema.
    pub created_schema: bool,
    /// The tables and functions it moved from `public` into the schema (an install
    /// from before `DATABASE_SCHEMA` existed).
    pub moved_from_public: Vec<String>,
}

/// Creates the database and the schema if needed, moves an older install's tables
/// from `public` into the schema, and runs the pending migrations, all under one
/// advisory lock.
pub fn migrate(database_url: &str, schema: &str) -> anyhow::Result<Migrated> {
    if !is_valid_schema_name(schema) {
        bail!("DATABASE_SCHEMA {schema:?} is not a lower-case SQL identifier");
    }
    create_database_if_missing(database_url)?;
    check_session(database_url, schema)?;
    let mut conn = establish(database_url)?;
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .context("could not take the migration lock")?;
    let result = migrate_locked(&mut conn, schema);
    let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    result
}

fn migrate_locked(conn: &mut PgConnection, schema: &str) -> anyhow::Result<Migrated> {
    let mut done = Migrated {
        created_schema: ensure_schema(conn, schema)?,
        ..Migrated::default()
    };
    if schema != "public" {
        done.moved_from_public = move_from_public(conn, schema)?;
    }
    SessionSettings {
        schema: schema.to_owned(),
    }
    .apply(conn)
    .context("could not set up the Postgres session")?;
    done.applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| anyhow::anyhow!(e).context("migration failed"))?;
    Ok(done)
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// A connection that cannot keep a session, or a schema that is not migrated.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Connections go through a pooler in transaction (or statement) mode.
    #[error(
        "DATABASE_URL goes through a connection pooler in transaction mode (PgBouncer \
         pool_mode=transaction, or a managed service's transaction pooler): clerk-sync \
         needs a session per connection (search_path, advisory locks, prepared \
         statements). Use the pooler's session mode or a direct connection."
    )]
    TransactionPooling,
    /// The session does not keep `search_path` (a pooler that drops it).
    #[error(
        "connections to DATABASE_URL do not keep search_path = \"{0}\" from one statement \
         to the next (a connection pooler that resets sessions?): use session pooling or \
         a direct connection"
    )]
    SearchPathLost(String),
}

/// Checks that a connection to `database_url` is a session of its own: a pooler in
/// transaction mode would hand our connection's server backend to another client
/// between two statements (so `search_path` and advisory locks would leak), and is
/// refused with one clear line.
///
/// How: connection A sets its session up and reads its backend pid, then connection
/// B opens a transaction and reads its own. On a direct connection (or a pooler in
/// session mode) A keeps its backend, and B's can never be A's. A pooler in
/// transaction mode released A's backend when A's statement ended and hands it to B
/// (PgBouncer takes the most recently released server first).
pub fn check_session(database_url: &str, schema: &str) -> anyhow::Result<()> {
    let mut a = connect(database_url, schema)?;
    let pid_a = sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut a)
        .context("could not read the backend pid")?
        .pid;
    let mut b = establish(database_url)?;
    b.batch_execute("BEGIN")
        .context("could not begin a transaction")?;
    let pid_b = sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut b)
        .context("could not read the backend pid")?
        .pid;
    let _ = b.batch_execute("ROLLBACK");
    drop(b);
    if pid_a == pid_b {
        return Err(SessionError::TransactionPooling.into());
    }
    let current = sql_query("SELECT coalesce(current_setting('search_path'), '') AS name")
        .get_result::<Name>(&mut a)
        .context("could not read search_path")?
        .name;
    if current.trim_matches('"') != schema {
        return Err(SessionError::SearchPathLost(schema.to_owned()).into());
    }
    Ok(())
}

/// The migrations this build embeds that `schema` has not applied (for
/// `worker run --no-migrate`, whose role may not run them). An unmigrated schema
/// says which command to run.
pub fn pending_migrations(database_url: &str, schema: &str) -> anyhow::Result<Vec<String>> {
    use diesel::migration::MigrationSource;
    let mut conn = connect(database_url, schema)?;
    let table = sql_query("SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS exists")
        .get_result::<Exists>(&mut conn)
        .context("could not look for the migrations table")?;
    if !table.exists {
        bail!(
            "schema \"{schema}\" is not migrated (no __diesel_schema_migrations): run \
             `worker migrate` as the owner role first"
        );
    }
    let applied: std::collections::HashSet<String> =
        sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<Version>(&mut conn)
            .context("could not read __diesel_schema_migrations")?
            .into_iter()
            .map(|v| v.version)
            .collect();
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("the embedded migrations cannot be read: {e}"))?;
    Ok(embedded
        .iter()
        .map(|m| m.name().version().to_string())
        .filter(|v| !applied.contains(v))
        .collect())
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Creates `schema` if it does not exist; whether it did. Without the right to, says
/// which statement an owner must run.
fn ensure_schema(conn: &mut PgConnection, schema: &str) -> anyhow::Result<bool> {
    let found =
        sql_query("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists")
            .bind::<Text, _>(schema)
            .get_result::<Exists>(conn)
            .context("could not list schemas")?;
    if found.exists {
        return Ok(false);
    }
    match conn.batch_execute(&format!("CREATE SCHEMA \"{schema}\"")) {
        Ok(()) => Ok(true),
        Err(diesel::result::Error::DatabaseError(_, info)) if info.sql_state() == Some("42501") => {
            let me = sql_query("SELECT current_user::text AS name")
                .get_result::<Name>(conn)
                .map(|n| n.name)
                .unwrap_or_else(|_| "<this role>".to_owned());
            bail!(
                "schema \"{schema}\" does not exist and this role may not create it; \
                 as an owner of the database, run: CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{me}\";"
            )
        }
        Err(e) => Err(e).with_context(|| format!("could not create schema \"{schema}\"")),
    }
}

/// Moves the tables and functions of an install from before `DATABASE_SCHEMA`
/// (everything in `public`) into `schema`, in one transaction, when `public` holds
/// our migrations' table and `schema` does not. Returns what moved.
fn move_from_public(conn: &mut PgConnection, schema: &str) -> anyhow::Result<Vec<String>> {
    let rows = sql_query(
        "SELECT n.nspname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = '__diesel_schema_migrations' AND n.nspname IN ('public', $1)",
    )
    .bind::<Text, _>(schema)
    .load::<Name>(conn)
    .context("could not look for an install in public")?;
    let in_public = rows.iter().any(|r| r.name == "public");
    let in_schema = rows.iter().any(|r| r.name == schema);
    if !in_public || in_schema {
        return Ok(Vec::new());
    }
    // Only an install of ours: public's migrations table lists our first migration.
    let ours = sql_query(
        "SELECT EXISTS (SELECT 1 FROM public.__diesel_schema_migrations \
                        WHERE version = '20261126000001') AS exists",
    )
    .get_result::<Exists>(conn)
    .context("could not read public.__diesel_schema_migrations")?;
    if !ours.exists {
        return Ok(Vec::new());
    }
    conn.transaction(|conn| {
        let mut moved = Vec::new();
        for table in OUR_TABLES {
            let exists = sql_query("SELECT to_regclass($1) IS NOT NULL AS exists")
                .bind::<Text, _>(format!("public.{table}"))
                .get_result::<Exists>(conn)?;
            if exists.exists {
                conn.batch_execute(&format!("ALTER TABLE public.{table} SET SCHEMA \"{schema}\""))?;
                moved.push(table.to_owned());
            }
        }
        for function in OUR_FUNCTIONS {
            let exists = sql_query("SELECT to_regprocedure($1) IS NOT NULL AS exists")
                .bind::<Text, _>(format!("public.{function}"))
                .get_result::<Exists>(conn)?;
            if exists.exists {
                conn.batch_execute(&format!(
                    "ALTER FUNCTION public.{function} SET SCHEMA \"{schema}\""
                ))?;
                // The change feed's functions run with the search_path they were
                // made with: now the schema's.
                if function != "clerk_sync_notify()" {
                    conn.batch_execute(&format!(
                        "ALTER FUNCTION \"{schema}\".{function} SET search_path = \"{schema}\", pg_temp"
                    ))?;
                }
                moved.push(function.to_owned());
            }
        }
        diesel::QueryResult::Ok(moved)
    })
    .with_context(|| {
        format!("could not move the tables of an older install from public into schema \"{schema}\" (nothing moved)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_split() {
        let (admin, name) =
            split_database_url("postgres://postgres@127.0.0.1:5432/clerk_sync?sslmode=disable")
                .expect("valid url");
        assert_eq!(
            admin,
            "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
        );
        assert_eq!(name, "clerk_sync");
        assert!(split_database_url("postgres://127.0.0.1:5432/").is_err());
        assert!(split_database_url("postgres://127.0.0.1:5432").is_err());
    }
}
