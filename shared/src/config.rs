//! Reading configuration from the environment (DESIGN.md §6).
//!
//! Defaults are compiled in and work against services on localhost; a `.env` file in
//! the working directory is read first, and the real environment wins over it. Every
//! error names the variable, so start-up can fail with one clear line.

use std::{
    fmt::{self, Display},
    str::FromStr,
    time::Duration,
};

/// A missing or invalid configuration value.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var} {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(var: &'static str, reason: impl Into<String>) -> Self {
        Self {
            var,
            reason: reason.into(),
        }
    }
}

/// Reads `.env` from the working directory if there is one. Variables already set in
/// the environment keep their values.
pub fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(ConfigError::new(".env", format!("could not be read: {e}"))),
    }
}

/// The value of `var`, or `None` when it is unset or empty.
pub fn optional(var: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(var) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::new(var, "is not valid UTF-8")),
    }
}

/// The value of `var`; an error naming it when it is unset.
pub fn required(var: &'static str, hint: &str) -> Result<String, ConfigError> {
    optional(var)?.ok_or_else(|| ConfigError::new(var, format!("is not set: {hint}")))
}

/// The value of `var` parsed as `T`, or `default` when unset.
pub fn parsed<T>(var: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match optional(var)? {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| ConfigError::new(var, format!("= {raw:?} is invalid: {e}"))),
    }
}

/// A yes/no variable (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`), or
/// `default` when unset.
pub fn flag(var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match optional(var)? {
        None => Ok(default),
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(
                var,
                format!("= {raw:?} is invalid: expected true or false"),
            )),
        },
    }
}

/// A string variable with a default.
pub fn string(var: &'static str, default: &str) -> Result<String, ConfigError> {
    Ok(optional(var)?.unwrap_or_else(|| default.to_owned()))
}

/// Parses a list of durations such as `1s,5s,30s,2m,10m` (commas or spaces).
pub fn parse_durations(raw: &str) -> Result<Vec<Duration>, String> {
    let delays = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if delays.is_empty() {
        return Err("needs at least one delay, e.g. 1s,5s,30s".into());
    }
    if let Some(zero) = delays.iter().find(|d| d.is_zero()) {
        return Err(format!("delays must be positive, got {zero:?}"));
    }
    Ok(delays)
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pretty" | "text" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("expected `pretty` or `json`, got {other:?}")),
        }
    }
}

/// Settings both binaries share. `Debug` shows the URL redacted.
#[derive(Clone)]
pub struct AmqpSettings {
    /// `AMQP_URL`: may hold a password; never log it whole (see [`redact_url`]).
    pub url: String,
    /// `AMQP_PREFIX`: every exchange and queue name starts with it.
    pub prefix: String,
}

impl AmqpSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let url = string("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")?;
        if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
            return Err(ConfigError::new(
                "AMQP_URL",
                "must start with amqp:// or amqps://",
            ));
        }
        let prefix = string("AMQP_PREFIX", "clerk")?;
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::new(
                "AMQP_PREFIX",
                format!("= {prefix:?} may only hold letters, digits, '-', '_' and '.'"),
            ));
        }
        Ok(Self { url, prefix })
    }
}

impl fmt::Debug for AmqpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpSettings")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Settings for logging.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `RUST_LOG`, checked: tracing's `EnvFilter` directives.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".into(),
        }
    }
}

impl LogSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let filter = string("RUST_LOG", "info")?;
        tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| {
            ConfigError::new(
                "RUST_LOG",
                format!("= {filter:?} is not a valid log filter ({e}); e.g. `info` or `info,worker=debug`"),
            )
        })?;
        Ok(Self {
            format: parsed("LOG_FORMAT", LogFormat::Pretty)?,
            filter,
        })
    }
}

/// A URL fit for logs: the password in the user info (`scheme://user:***@host/…`)
/// and any `password` query parameter (libpq's `?password=…`) are replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparseable url>".into();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut out = match rest.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => format!("{scheme}://{rest}"),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if is_secret_param(key) => format!("{key}=***"),
                _ => param.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// Query parameters that carry a secret in libpq and AMQP URLs.
fn is_secret_param(key: &str) -> bool {
    ["password", "sslpassword", "pass"]
        .iter()
        .any(|s| key.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_commas_and_spaces() {
        let d = parse_durations("1s, 5s 2m,10m").expect("valid list");
        assert_eq!(
            d,
            vec![
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(120),
                Duration::from_secs(600)
            ]
        );
        assert!(parse_durations("").is_err());
        assert!(parse_durations("1s,soon").is_err());
        assert!(parse_durations("0s").is_err());
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            redact_url("postgres://app@db:5432/clerk?sslmode=require&password=hunter2"),
            "postgres://app@db:5432/clerk?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgresql:///clerk?host=/run/pg&PASSWORD=hunter2&user=app"),
            "postgresql:///clerk?host=/run/pg&PASSWORD=***&user=app"
        );
        assert_eq!(
            redact_url("postgres://u:p%40ss@h/db?password=x"),
            "postgres://u:***@h/db?password=***"
        );
    }

    #[test]
    fn amqp_settings_debug_hides_the_password() {
        let s = AmqpSettings {
            url: "amqp://app:hunter2@rabbit:5672/%2f".into(),
            prefix: "clerk".into(),
        };
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("rabbit:5672"), "{text}");
    }

    #[test]
    fn log_format_parses() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
