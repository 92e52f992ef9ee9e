//! Worker configuration from the environment (DESIGN.md §6).

use std::{fmt, time::Duration};

use shared::config::{self, AmqpSettings, ConfigError, LogSettings};

use crate::admin::AdminToken;

/// `Debug` shows URLs redacted (see [`config::redact_url`]).
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub amqp: AmqpSettings,
    pub log: LogSettings,
    /// Attempts in all before an event is dead-lettered.
    pub max_attempts: u32,
    /// The wait before attempt 2, 3, …; the last one repeats.
    pub retry_delays: Vec<Duration>,
    pub metrics_addr: String,
    /// Deliveries applied in one transaction at most.
    pub batch_size: usize,
    /// Deliveries the broker may hand this worker before it acks.
    pub prefetch: u16,
    /// Batches applied at once, each on its own connection.
    pub concurrency: usize,
    /// Postgres connections.
    pub db_pool_size: u32,
    /// `STORE_PAYLOADS`: keep event bodies in `webhook_events.payload` (without
    /// `event_attributes`, never for `email.*`, `sms.*` or `session.*`).
    pub store_payloads: bool,
    /// `ADMIN_TOKEN`: the operator page under `/admin` is served only when set.
    pub admin_token: Option<AdminToken>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &config::redact_url(&self.database_url))
            .field("amqp", &self.amqp)
            .field("log", &self.log)
            .field("max_attempts", &self.max_attempts)
            .field("retry_delays", &self.retry_delays)
            .field("metrics_addr", &self.metrics_addr)
            .field("batch_size", &self.batch_size)
            .field("prefetch", &self.prefetch)
            .field("concurrency", &self.concurrency)
            .field("db_pool_size", &self.db_pool_size)
            .field("store_payloads", &self.store_payloads)
            .field("admin_token", &self.admin_token)
            .finish()
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let max_attempts = config::parsed("MAX_ATTEMPTS", 5u32)?;
        if max_attempts == 0 {
            return Err(ConfigError::new("MAX_ATTEMPTS", "must be at least 1"));
        }
        let delays = config::string("RETRY_DELAYS", "1s,5s,30s,2m,10m")?;
        let retry_delays = config::parse_durations(&delays).map_err(|e| {
            ConfigError::new("RETRY_DELAYS", format!("= {delays:?} is invalid: {e}"))
        })?;
        let batch_size = config::parsed("WORKER_BATCH_SIZE", 200usize)?;
        if !(1..=1000).contains(&batch_size) {
            // Multi-row statements carry ~12 parameters a row; Postgres takes 65535.
            return Err(ConfigError::new("WORKER_BATCH_SIZE", "must be 1 to 1000"));
        }
        let prefetch = config::parsed("WORKER_PREFETCH", 500u16)?;
        let concurrency = config::parsed("WORKER_CONCURRENCY", 2usize)?;
        if !(1..=64).contains(&concurrency) {
            return Err(ConfigError::new("WORKER_CONCURRENCY", "must be 1 to 64"));
        }
        if prefetch == 0 {
            return Err(ConfigError::new("WORKER_PREFETCH", "must be at least 1"));
        }
        Ok(Self {
            database_url: database_url()?,
            amqp: AmqpSettings::from_env()?,
            log: LogSettings::from_env()?,
            max_attempts,
            retry_delays,
            metrics_addr: config::string("WORKER_METRICS_ADDR", "0.0.0.0:9000")?,
            batch_size,
            prefetch,
            concurrency,
            db_pool_size: config::parsed("DB_POOL_SIZE", 4u32)?.max(1),
            store_payloads: config::flag("STORE_PAYLOADS", false)?,
            admin_token: admin_token()?,
        })
    }
}

/// `ADMIN_TOKEN`: unset or empty turns the operator page off.
fn admin_token() -> Result<Option<AdminToken>, ConfigError> {
    let value = config::string("ADMIN_TOKEN", "")?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    AdminToken::parse(&value)
        .map(Some)
        .map_err(|e| ConfigError::new("ADMIN_TOKEN", e))
}

/// `DATABASE_URL`, checked.
pub fn database_url() -> Result<String, ConfigError> {
    let url = config::string(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/clerk_sync",
    )?;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError::new(
            "DATABASE_URL",
            "must start with postgres:// or postgresql://",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let settings = Settings {
            database_url: "postgres://app:pg-hunter2@db/clerk?password=pg-hunter3".into(),
            amqp: AmqpSettings {
                nodes: config::AmqpNodes::parse(
                    "amqp://app:mq-hunter2@rabbit/%2f,amqp://app:mq-hunter4@rabbit2/%2f",
                )
                .expect("valid"),
                prefix: "clerk".into(),
            },
            log: LogSettings::default(),
            max_attempts: 5,
            retry_delays: vec![Duration::from_secs(1)],
            metrics_addr: "127.0.0.1:9000".into(),
            batch_size: 200,
            prefetch: 500,
            concurrency: 2,
            db_pool_size: 4,
            store_payloads: false,
            admin_token: Some(AdminToken::parse("admin-hunter2-0123456789").expect("long enough")),
        };
        let text = format!("{settings:?}");
        for secret in ["pg-hunter2", "pg-hunter3", "mq-hunter2", "admin-hunter2"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("db/clerk"), "{text}");
    }
}
