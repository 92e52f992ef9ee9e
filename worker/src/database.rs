//! Running Diesel on blocking threads (with the caller's span, so log lines from
//! inside carry its `svix_id`), and telling an outage from an event's fault.

use diesel::{connection::SimpleConnection, result::Error as DieselError};
use shared::db::{PgPool, PgPooled};

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
    /// Whether the error says Postgres itself is unusable: the connection is gone,
    /// or the server is read-only.
    pub fn is_connection_loss(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            // By kind, never by message text: a trigger may raise any text it likes.
            // Anything else is an outage only if Postgres does not answer a probe
            // (see `is_outage`).
            Self::Query(e) => crate::apply::is_outage_kind(e),
            _ => false,
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
async fn is_healthy(pool: &PgPool) -> bool {
    with_connection(pool, |conn| conn.batch_execute("SELECT 1"))
        .await
        .is_ok()
}

/// Whether `err` is an outage (not the event's fault): the connection was lost, or
/// Postgres does not answer now.
pub async fn is_outage(pool: &PgPool, err: &DbError) -> bool {
    err.is_connection_loss() || !is_healthy(pool).await
}
