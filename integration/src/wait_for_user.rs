//! The "Waiting for a new user" example of docs/app-integration.md, compiled and
//! tested here (`notify::the_readme_example_waits_for_a_user`). Keep the two
//! identical.

// docs/app-integration.md: begin
use std::time::Duration;

use futures_util::{stream, StreamExt};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls, Row};

/// A Postgres connection that listens on `clerk_sync`.
pub struct Listener {
    client: Client,
    changes: mpsc::UnboundedReceiver<serde_json::Value>,
}

impl Listener {
    pub async fn connect(database_url: &str) -> Result<Self, tokio_postgres::Error> {
        let (client, mut connection) = tokio_postgres::connect(database_url, NoTls).await?;
        let (tx, changes) = mpsc::unbounded_channel();
        // The connection delivers notifications as messages: forward them.
        let messages = stream::poll_fn(move |cx| connection.poll_message(cx));
        tokio::spawn(messages.for_each(move |message| {
            if let Ok(AsyncMessage::Notification(n)) = message {
                if let Ok(change) = serde_json::from_str(n.payload()) {
                    let _ = tx.send(change);
                }
            }
            futures_util::future::ready(())
        }));
        client.batch_execute("LISTEN clerk_sync").await?;
        Ok(Self { client, changes })
    }

    /// The live user `id`, waiting up to `timeout` for clerk-sync to write it.
    /// `Ok(None)`: still not there (fall back to Clerk's Backend API, or answer 404).
    pub async fn wait_for_user(
        &mut self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Look first: the row may have landed before we listened.
            let row = self
                .client
                .query_opt(
                    "SELECT id, email, first_name, last_name FROM clerk.users \
                     WHERE id = $1 AND deleted_at IS NULL",
                    &[&id],
                )
                .await?;
            if row.is_some() {
                return Ok(row);
            }
            // Then wait for a change to this user, and look again.
            loop {
                match tokio::time::timeout_at(deadline, self.changes.recv()).await {
                    Err(_) => return Ok(None),   // timed out
                    Ok(None) => return Ok(None), // connection lost: reconnect, look again
                    Ok(Some(c)) if c["table"] == "users" && c["id"] == id => break,
                    Ok(Some(_)) => {} // another row: keep waiting
                }
            }
        }
    }
}
// docs/app-integration.md: end
