//! A database per test, dropped at the end.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, Connection, PgConnection};
use shared::{models::User, schema};

/// A connection to `url` whose tables are clerk-sync's (`search_path` = the default
/// schema, `clerk`), as the worker's own connections are.
pub fn connect(url: &str) -> PgConnection {
    shared::db::connect(url, shared::db::DEFAULT_SCHEMA).expect("test database reachable")
}

/// A migrated database of its own. Dropped (with `FORCE`) when the value is.
pub struct TestDb {
    pub url: String,
    owner: bool,
}

/// One `webhook_events` row.
#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub svix_id: String,
    pub event_type: String,
    pub object_id: Option<String>,
    pub outcome: String,
    pub attempts: i32,
    pub payload: Option<serde_json::Value>,
    pub processed_at: DateTime<Utc>,
}

impl TestDb {
    pub async fn new() -> Self {
        let url = format!(
            "postgres://postgres@127.0.0.1:5432/clerk_sync_test_{}",
            crate::unique()
        );
        let u = url.clone();
        tokio::task::spawn_blocking(move || shared::db::migrate(&u, shared::db::DEFAULT_SCHEMA))
            .await
            .expect("migration task")
            .expect("test database migrates");
        Self { url, owner: true }
    }

    /// A handle on a database that may not exist yet; dropped with the handle.
    pub fn owning(url: String) -> Self {
        Self { url, owner: true }
    }

    /// A second handle on the same database that does not drop it.
    pub fn clone_handle(&self) -> Self {
        Self {
            url: self.url.clone(),
            owner: false,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }

    /// Runs `sql` on the maintenance database `postgres` (to alter this database,
    /// or end its sessions).
    pub async fn on_maintenance_db(&self, sql: String) {
        tokio::task::spawn_blocking(move || {
            use diesel::connection::SimpleConnection;
            PgConnection::establish("postgres://postgres@127.0.0.1:5432/postgres")
                .expect("maintenance database")
                .batch_execute(&sql)
                .expect("SQL runs")
        })
        .await
        .expect("task")
    }

    /// Ends every other session on this database (the workers reconnect, and see
    /// `ALTER DATABASE … SET` changes).
    pub async fn end_sessions(&self) {
        let name = self.name().to_owned();
        self.on_maintenance_db(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid();"
        ))
        .await
    }

    /// Runs `f` on a fresh connection on a blocking thread.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> T + Send + 'static,
    ) -> T {
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = connect(&url);
            f(&mut conn)
        })
        .await
        .expect("query task")
    }

    pub async fn execute(&self, sql: &str) {
        let sql = sql.to_owned();
        self.with(move |c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(&sql).expect("SQL runs")
        })
        .await
    }

    pub async fn user(&self, id: &str) -> Option<User> {
        let id = id.to_owned();
        self.with(move |c| {
            schema::users::table
                .find(id)
                .select(User::as_select())
                .first(c)
                .optional()
                .expect("users readable")
        })
        .await
    }

    pub async fn events(&self) -> Vec<EventRow> {
        use schema::webhook_events::dsl as e;
        self.with(|c| {
            e::webhook_events
                .select((
                    e::svix_id,
                    e::event_type,
                    e::object_id,
                    e::outcome,
                    e::attempts,
                    e::payload,
                    e::processed_at,
                ))
                .order(e::processed_at)
                .load(c)
                .expect("webhook_events readable")
        })
        .await
    }

    pub async fn event(&self, svix_id: &str) -> Option<EventRow> {
        self.events()
            .await
            .into_iter()
            .find(|e| e.svix_id == svix_id)
    }

    pub async fn outcome(&self, svix_id: &str) -> Option<String> {
        use schema::webhook_events::dsl as e;
        let id = svix_id.to_owned();
        self.with(move |c| {
            e::webhook_events
                .find(id)
                .select(e::outcome)
                .first::<String>(c)
                .optional()
                .ok()
                .flatten()
        })
        .await
    }

    pub async fn count(&self, table: &'static str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.with(move |c| {
            diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                .get_result::<N>(c)
                .expect("count")
                .n
        })
        .await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.owner {
            let url = self.url.clone();
            // Off the async runtime: Drop may run inside it.
            let _ = std::thread::spawn(move || shared::db::drop_database(&url)).join();
        }
    }
}
