//! Running Diesel on blocking threads (with the caller's span, so log lines from
//! inside carry its `svix_id`), and telling an outage from an event's fault.

use diesel::{connection::SimpleConnection, result::Error as DieselError};
use shared::db::{PgPool, PgPooled};

use crate::pg_errors::ErrorClass;

/// A database call that failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had: Postgres is down or unreachable.
    #[error("cannot get a Postgres connection")]
    Unavailable(#[source] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] DieselError),
    /// The blocking task panicked or was cancelled.
    #[error("the database task did not finish")]
    Panicked(#[source] tokio::task::JoinError),
}

impl DbError {
    /// The SQLSTATE Postgres answered with, if it did.
    pub fn sql_state(&self) -> Option<&str> {
        match self {
            Self::Query(DieselError::DatabaseError(_, info)) => info.sql_state(),
            _ => None,
        }
    }

    /// What the error says about whose fault it is (see [`ErrorClass`]). A pool
    /// that cannot give a connection is an outage.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Unavailable(_) => ErrorClass::Outage,
            Self::Query(e) => ErrorClass::of(e),
            Self::Panicked(_) => ErrorClass::Other,
        }
    }
}

/// Runs `f` with a pooled connection on a blocking thread.
pub async fn with_connection<T, F>(pool: &PgPool, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut PgPooled) -> Result<T, DieselError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let mut conn = pool.get().map_err(DbError::Unavailable)?;
        f(&mut conn).map_err(DbError::from)
    })
    .await
    .map_err(DbError::Panicked)?
}

/// Whether Postgres answers a trivial query now.
pub async fn is_healthy(pool: &PgPool) -> bool {
    with_connection(pool, |conn| conn.batch_execute("SELECT 1"))
        .await
        .is_ok()
}

/// Whether `err` is an outage (not the event's fault): its SQLSTATE says so, or
/// Postgres does not answer a probe now.
pub async fn is_outage(pool: &PgPool, err: &DbError) -> bool {
    match err.class() {
        ErrorClass::Outage => true,
        ErrorClass::RetryNow => false,
        ErrorClass::Other => !is_healthy(pool).await,
    }
}
