//! Worker configuration from the environment (DESIGN.md §6).

use std::{fmt, time::Duration};

use shared::config::{self, AmqpSettings, ConfigError, LogSettings};

use crate::admin::AdminToken;

/// `Debug` shows URLs redacted (see [`config::redact_url`]).
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    /// `DATABASE_SCHEMA`: the Postgres schema of every table of ours.
    pub database_schema: String,
    /// `worker run --no-migrate`: check that the schema is migrated instead of
    /// migrating (for a runtime role without DDL rights).
    pub migrate: bool,
    pub amqp: AmqpSettings,
    pub log: LogSettings,
    /// Attempts in all before an event is dead-lettered.
    pub max_attempts: u32,
    /// The wait before attempt 2, 3, …; the last one repeats.
    pub retry_delays: Vec<Duration>,
    pub metrics_addr: String,
    /// Deliveries applied in one transaction at most.
    pub batch_size: usize,
    /// `WORKER_BATCH_LINGER`: how long a batch that is not full waits, from its first
    /// delivery, for more (zero: it takes what has arrived and goes).
    pub batch_linger: Duration,
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
    /// The change feed's relay and endpoint.
    pub feed: FeedSettings,
}

/// The change feed's settings (docs/change-feed.md).
#[derive(Clone, Debug)]
pub struct FeedSettings {
    /// `CHANGES_RELAY`: `worker run` also relays the feed to RabbitMQ.
    pub relay: bool,
    /// `CHANGES_RELAY_NAME`: the relay's cursor in `change_relays`.
    pub relay_name: String,
    /// `CHANGES_TOKEN`: a bearer token for `GET /changes` (`ADMIN_TOKEN` works too).
    pub token: Option<AdminToken>,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            relay: false,
            relay_name: DEFAULT_RELAY_NAME.to_owned(),
            token: None,
        }
    }
}

/// The default `CHANGES_RELAY_NAME`.
pub const DEFAULT_RELAY_NAME: &str = "default";

impl FeedSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let relay_name = config::string("CHANGES_RELAY_NAME", DEFAULT_RELAY_NAME)?;
        if relay_name.trim().is_empty() || relay_name.len() > 200 {
            return Err(ConfigError::new(
                "CHANGES_RELAY_NAME",
                "must be 1 to 200 characters",
            ));
        }
        Ok(Self {
            relay: config::flag("CHANGES_RELAY", false)?,
            relay_name,
            token: token("CHANGES_TOKEN")?,
        })
    }
}

/// `CHANGES_RETENTION` (default 7 days): how long `worker prune` keeps the feed's
/// changes (those a relay has not passed are kept longer).
pub fn changes_retention() -> Result<Duration, ConfigError> {
    let raw = config::string("CHANGES_RETENTION", "7d")?;
    humantime::parse_duration(raw.trim()).map_err(|e| {
        ConfigError::new(
            "CHANGES_RETENTION",
            format!("= {raw:?} is invalid: {e}; expected e.g. 7d or 36h"),
        )
    })
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &config::redact_url(&self.database_url))
            .field("database_schema", &self.database_schema)
            .field("migrate", &self.migrate)
            .field("amqp", &self.amqp)
            .field("log", &self.log)
            .field("max_attempts", &self.max_attempts)
            .field("retry_delays", &self.retry_delays)
            .field("metrics_addr", &self.metrics_addr)
            .field("batch_size", &self.batch_size)
            .field("batch_linger", &self.batch_linger)
            .field("prefetch", &self.prefetch)
            .field("concurrency", &self.concurrency)
            .field("db_pool_size", &self.db_pool_size)
            .field("store_payloads", &self.store_payloads)
            .field("admin_token", &self.admin_token)
            .field("feed", &self.feed)
            .finish()
    }
}

/// `RETRY_DELAYS`: the delays of the retry queues, in order.
pub fn retry_delays() -> Result<Vec<Duration>, ConfigError> {
    let delays = config::string("RETRY_DELAYS", "1s,5s,30s,2m,10m")?;
    config::parse_durations(&delays)
        .map_err(|e| ConfigError::new("RETRY_DELAYS", format!("= {delays:?} is invalid: {e}")))
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let max_attempts = config::parsed("MAX_ATTEMPTS", 5u32)?;
        if max_attempts == 0 {
            return Err(ConfigError::new("MAX_ATTEMPTS", "must be at least 1"));
        }
        let retry_delays = retry_delays()?;
        let batch_size = config::parsed("WORKER_BATCH_SIZE", 200usize)?;
        if !(1..=1000).contains(&batch_size) {
            // Multi-row statements carry ~12 parameters a row; Postgres takes 65535.
            return Err(ConfigError::new("WORKER_BATCH_SIZE", "must be 1 to 1000"));
        }
        let batch_linger = batch_linger()?;
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
            database_schema: database_schema()?,
            migrate: true,
            amqp: AmqpSettings::from_env()?,
            log: LogSettings::from_env()?,
            max_attempts,
            retry_delays,
            metrics_addr: config::string("WORKER_METRICS_ADDR", "0.0.0.0:9000")?,
            batch_size,
            batch_linger,
            prefetch,
            concurrency,
            db_pool_size: config::parsed("DB_POOL_SIZE", 4u32)?.max(1),
            store_payloads: config::flag("STORE_PAYLOADS", false)?,
            admin_token: token("ADMIN_TOKEN")?,
            feed: FeedSettings::from_env()?,
        })
    }
}

/// The default `WORKER_BATCH_LINGER`. At 1,000 events/s a batch is otherwise one or
/// two events, each a transaction with its own commit; 3 ms roughly halves the
/// Postgres CPU per event there (docs/speed.md), and a full batch never waits.
pub const DEFAULT_BATCH_LINGER: Duration = Duration::from_millis(3);

/// `WORKER_BATCH_LINGER`, a duration such as `3ms` (`0` turns it off), at most 1 s.
fn batch_linger() -> Result<Duration, ConfigError> {
    const VAR: &str = "WORKER_BATCH_LINGER";
    let Some(raw) = config::optional(VAR)? else {
        return Ok(DEFAULT_BATCH_LINGER);
    };
    parse_linger(&raw).map_err(|e| ConfigError::new(VAR, format!("= {raw:?} is invalid: {e}")))
}

fn parse_linger(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let linger = if raw == "0" {
        Duration::ZERO
    } else {
        humantime::parse_duration(raw).map_err(|e| format!("{e}; expected e.g. 3ms, or 0"))?
    };
    if linger > Duration::from_secs(1) {
        return Err("must be at most 1s (every event of a batch waits up to this long)".into());
    }
    Ok(linger)
}

/// A token variable (`ADMIN_TOKEN`, `CHANGES_TOKEN`): unset or empty turns what it
/// guards off.
fn token(var: &'static str) -> Result<Option<AdminToken>, ConfigError> {
    let value = config::string(var, "")?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    AdminToken::parse(&value)
        .map(Some)
        .map_err(|e| ConfigError::new(var, e))
}

/// `DATABASE_SCHEMA` (default `clerk`), checked.
pub fn database_schema() -> Result<String, ConfigError> {
    let schema = config::string("DATABASE_SCHEMA", shared::db::DEFAULT_SCHEMA)?;
    if !shared::db::is_valid_schema_name(&schema) {
        return Err(ConfigError::new(
            "DATABASE_SCHEMA",
            format!(
                "= {schema:?} is not a lower-case SQL identifier (letters, digits and _, \
                 not starting with a digit or pg_, at most 63 bytes)"
            ),
        ));
    }
    Ok(schema)
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
            database_schema: "clerk".into(),
            migrate: true,
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
            batch_linger: DEFAULT_BATCH_LINGER,
            prefetch: 500,
            concurrency: 2,
            db_pool_size: 4,
            store_payloads: false,
            admin_token: Some(AdminToken::parse("admin-hunter2-0123456789").expect("long enough")),
            feed: FeedSettings {
                token: Some(AdminToken::parse("feed-hunter2-0123456789").expect("long enough")),
                ..FeedSettings::default()
            },
        };
        let text = format!("{settings:?}");
        for secret in [
            "pg-hunter2",
            "pg-hunter3",
            "mq-hunter2",
            "admin-hunter2",
            "feed-hunter2",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("db/clerk"), "{text}");
    }

    #[test]
    fn the_linger_is_a_duration_up_to_one_second() {
        assert_eq!(parse_linger("0"), Ok(Duration::ZERO));
        assert_eq!(parse_linger("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_linger(" 3ms "), Ok(Duration::from_millis(3)));
        assert_eq!(parse_linger("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_linger("2s").is_err());
        assert!(parse_linger("3").is_err(), "a bare number has no unit");
        assert!(parse_linger("soon").is_err());
    }
}
