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
    QueryableByName, RunQueryDsl,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

/// Session settings for every pooled connection: a statement or a lock wait that
/// hangs fails instead, and is retried like any other passing failure.
#[derive(Debug, Clone, Copy)]
struct SessionSettings;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "SET lock_timeout = '10s'; SET statement_timeout = '60s'; \
             SET application_name = 'clerk-sync';",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool of up to `max_size` connections. It connects lazily, so it can be built
/// while Postgres is down.
pub fn pool(database_url: &str, max_size: u32) -> anyhow::Result<PgPool> {
    Ok(Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(false)
        .connection_customizer(Box::new(SessionSettings))
        .build_unchecked(ConnectionManager::new(database_url)))
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
    let mut conn = crate::pg_connect::establish(&admin_url).with_context(|| {
        format!("could not connect to the `postgres` database to create `{name}`")
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
        // Another process created it between our check and our CREATE.
        Err(e) if e.to_string().contains("already exists") => Ok(false),
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

/// Creates the database if needed and runs the pending migrations. Returns the
/// versions applied.
pub fn migrate(database_url: &str) -> anyhow::Result<Vec<String>> {
    create_database_if_missing(database_url)?;
    let mut conn =
        crate::pg_connect::establish(database_url).context("could not connect to Postgres")?;
    // Several workers may start at once: one migrates, the others wait for it.
    conn.batch_execute("SELECT pg_advisory_lock(7411202611)")
        .context("could not take the migration lock")?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| anyhow::anyhow!(e).context("migration failed"));
    let _ = conn.batch_execute("SELECT pg_advisory_unlock(7411202611)");
    result
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
