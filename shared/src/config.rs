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

/// `AMQP_URL`: the URL of one RabbitMQ node, or of several nodes of one cluster
/// separated by commas. Never empty; every element is a valid `amqp://` or
/// `amqps://` URL. `Debug` and `Display` show every URL with its password redacted.
/// It also carries `AMQP_CA_FILE` (see [`AmqpNodes::with_ca`]), which every
/// `amqps://` node of the list is verified against.
#[derive(Clone, PartialEq, Eq)]
pub struct AmqpNodes(Vec<String>, Option<CaBundle>);

impl AmqpNodes {
    /// Parses a comma-separated list of node URLs (spaces around commas are allowed).
    /// The error names the element by position, never with its password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut urls: Vec<String> = Vec::new();
        let elements: Vec<&str> = raw.split(',').map(str::trim).collect();
        let count = elements.len();
        for (i, url) in elements.into_iter().enumerate() {
            let which = if count > 1 {
                format!("node {} of {count}", i + 1)
            } else {
                "the URL".to_owned()
            };
            if url.is_empty() {
                return Err(format!(
                    "{which} is empty (a list is URLs separated by commas, with none left blank)"
                ));
            }
            if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
                return Err(format!(
                    "{which} ({}) must start with amqp:// or amqps://",
                    redact_url(url)
                ));
            }
            if let Err(e) = url.parse::<lapin::uri::AMQPUri>() {
                // The parser may quote the whole URL, password included.
                let reason = if e.contains(url) {
                    "not a URL".to_owned()
                } else {
                    e
                };
                return Err(format!(
                    "{which} ({}) is not a valid AMQP URL: {reason}",
                    redact_url(url)
                ));
            }
            if urls.iter().any(|u| u == url) {
                return Err(format!("{which} ({}) is listed twice", redact_url(url)));
            }
            urls.push(url.to_owned());
        }
        Ok(Self(urls, None))
    }

    /// The same nodes, whose `amqps://` connections trust the CA certificates of
    /// `ca` (`AMQP_CA_FILE`) besides the system's; `None`: the system's only.
    #[must_use]
    pub fn with_ca(self, ca: Option<CaBundle>) -> Self {
        Self(self.0, ca)
    }

    /// The CA bundle `amqps://` nodes are verified against, besides the system's.
    pub fn ca(&self) -> Option<&CaBundle> {
        self.1.as_ref()
    }

    /// The node URLs, in the order given. Never empty.
    pub fn urls(&self) -> &[String] {
        &self.0
    }

    /// How many nodes are listed (at least 1).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a list is never empty. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Node `i`'s URL with its password redacted, for logs.
    pub fn redacted(&self, i: usize) -> String {
        self.0
            .get(i)
            .map(|u| redact_url(u))
            .unwrap_or_else(|| "<no such node>".into())
    }
}

impl FromStr for AmqpNodes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Display for AmqpNodes {
    /// The list as it was given, every password shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, url) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&redact_url(url))?;
        }
        Ok(())
    }
}

impl fmt::Debug for AmqpNodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        list.entries(self.0.iter().map(|u| redact_url(u)));
        if let Some(ca) = &self.1 {
            list.entry(&format_args!("AMQP_CA_FILE={}", ca.path()));
        }
        list.finish()
    }
}

/// `AMQP_CA_FILE`: a PEM bundle of CA certificates that `amqps://` connections trust
/// besides the system's store (a private CA, or a self-signed broker certificate).
/// Read and checked once, at start-up: every certificate in it parses.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    path: String,
    pem: String,
    certificates: usize,
}

impl CaBundle {
    /// Reads and checks the bundle at `path`. The error says what is wrong with the
    /// file (it holds no secret: a CA bundle is public).
    pub fn from_file(path: &str) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| {
            format!("= {path:?} could not be read: {e} (expected a PEM file of CA certificates)")
        })?;
        let pem = String::from_utf8(bytes).map_err(|_| {
            format!("= {path:?} is not a PEM file (not text; a DER certificate must be converted to PEM)")
        })?;
        Self::from_pem(path, pem)
    }

    /// Checks `pem`, the contents of the file at `path`.
    pub fn from_pem(path: &str, pem: String) -> Result<Self, String> {
        use rustls_pki_types::{pem::PemObject, CertificateDer};
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("= {path:?} is not a valid PEM file: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "= {path:?} holds no certificate (expected one or more -----BEGIN CERTIFICATE----- blocks)"
            ));
        }
        for (i, cert) in certs.iter().enumerate() {
            webpki::anchor_from_trusted_cert(cert).map_err(|e| {
                format!(
                    "= {path:?}: certificate {} of {} is not a valid X.509 certificate ({e})",
                    i + 1,
                    certs.len()
                )
            })?;
        }
        Ok(Self {
            path: path.to_owned(),
            certificates: certs.len(),
            pem,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The certificates, PEM-encoded.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// How many certificates it holds (at least 1).
    pub fn certificates(&self) -> usize {
        self.certificates
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("certificates", &self.certificates)
            .finish()
    }
}

/// Settings both binaries share. `Debug` shows the URLs redacted.
#[derive(Clone)]
pub struct AmqpSettings {
    /// `AMQP_URL`: one node or several of one cluster; may hold passwords, which
    /// its `Debug` and `Display` redact.
    pub nodes: AmqpNodes,
    /// `AMQP_PREFIX`: every exchange and queue name starts with it.
    pub prefix: String,
}

impl AmqpSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw = string("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")?;
        let nodes =
            AmqpNodes::parse(&raw).map_err(|reason| ConfigError::new("AMQP_URL", reason))?;
        let ca = optional("AMQP_CA_FILE")?
            .map(|path| CaBundle::from_file(path.trim()))
            .transpose()
            .map_err(|reason| ConfigError::new("AMQP_CA_FILE", reason))?;
        let nodes = nodes.with_ca(ca);
        let prefix = string("AMQP_PREFIX", "clerk")?;
        Self::new(nodes, prefix)
    }

    /// Settings for `nodes` and `prefix`; the prefix is checked as `AMQP_PREFIX` is.
    pub fn new(nodes: AmqpNodes, prefix: String) -> Result<Self, ConfigError> {
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::new(
                "AMQP_PREFIX",
                format!("= {prefix:?} may only hold letters, digits, '-', '_' and '.'"),
            ));
        }
        Ok(Self { nodes, prefix })
    }
}

impl fmt::Debug for AmqpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpSettings")
            .field("nodes", &self.nodes)
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
            nodes: AmqpNodes::parse("amqp://app:hunter2@rabbit:5672/%2f").expect("valid"),
            prefix: "clerk".into(),
        };
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("rabbit:5672"), "{text}");
    }

    #[test]
    fn one_url_is_a_list_of_one_node() {
        let nodes = AmqpNodes::parse("amqp://guest:guest@127.0.0.1:5672/%2f").expect("valid");
        assert_eq!(nodes.urls(), ["amqp://guest:guest@127.0.0.1:5672/%2f"]);
        assert_eq!(nodes.len(), 1);
    }

    #[test]
    fn a_comma_separated_list_keeps_its_order() {
        let nodes = AmqpNodes::parse(
            "amqp://app:pw@rabbit1:5672/%2f, amqp://app:pw@rabbit2:5672/%2f ,amqps://app:pw@rabbit3/%2f",
        )
        .expect("valid");
        assert_eq!(
            nodes.urls(),
            [
                "amqp://app:pw@rabbit1:5672/%2f",
                "amqp://app:pw@rabbit2:5672/%2f",
                "amqps://app:pw@rabbit3/%2f"
            ]
        );
    }

    #[test]
    fn every_password_of_a_list_is_redacted() {
        let nodes = AmqpNodes::parse(
            "amqp://app:first-secret@rabbit1/%2f,amqp://app:second-secret@rabbit2/%2f",
        )
        .expect("valid");
        for text in [format!("{nodes}"), format!("{nodes:?}"), nodes.redacted(1)] {
            assert!(!text.contains("first-secret"), "{text}");
            assert!(!text.contains("second-secret"), "{text}");
        }
        assert_eq!(
            nodes.to_string(),
            "amqp://app:***@rabbit1/%2f,amqp://app:***@rabbit2/%2f"
        );
    }

    #[test]
    fn a_bad_list_is_refused_naming_the_element_without_its_password() {
        let cases = [
            ("", "the URL is empty"),
            ("amqp://a:pw1@h1/%2f,", "node 2 of 2 is empty"),
            (
                "amqp://a:pw1@h1/%2f,,amqp://a:pw1@h3/%2f",
                "node 2 of 3 is empty",
            ),
            (
                "amqp://a:pw1@h1/%2f,http://a:pw2@h2/",
                "node 2 of 2 (http://a:***@h2/) must start with amqp:// or amqps://",
            ),
            (
                "amqp://a:pw1@h1:notaport/%2f",
                "the URL (amqp://a:***@h1:notaport/%2f) is not a valid AMQP URL",
            ),
            (
                "amqp://a:pw1@h1/%2f,amqp://a:pw1@h1/%2f",
                "node 2 of 2 (amqp://a:***@h1/%2f) is listed twice",
            ),
        ];
        for (raw, want) in cases {
            let e = AmqpNodes::parse(raw).expect_err(raw);
            assert!(e.starts_with(want), "{raw:?}: {e}");
            assert!(!e.contains("pw1") && !e.contains("pw2"), "{raw:?}: {e}");
        }
    }

    /// A CA certificate made with `openssl req -x509` (public, like every CA file).
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBaDCCAQ6gAwIBAgIUKhFtTkjWcipq8AxDEfjsA8hYPkEwCgYIKoZIzj0EAwIw\n\
EjEQMA4GA1UEAwwHdGVzdCBDQTAeFw0yNjEyMDcyMzA4NTdaFw0yNjEyMDkyMzA4\n\
NTdaMBIxEDAOBgNVBAMMB3Rlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n\
AAQ/4a5hA7X9wYxcJ+TiX9lOp4zY1tsS1weAHiE9RXJR2LzAuL2U4yV8YZLJk+VJ\n\
U5B79F86/4eeVEPXTpVNpTvMo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n\
/wQEAwIBBjAdBgNVHQ4EFgQUlEhcGtJebXwbqlJA9dOciKe0KcowCgYIKoZIzj0E\n\
AwIDSAAwRQIhAO0MF1sO/rgvg0iU6DutaVr86RIaN/bf2iyIvAfsJGZSAiBwRj82\n\
6pBQJQ7EPOwk8IcrTFuyoDHt1sqgCsg9a79c1A==\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn a_ca_file_holds_pem_certificates() {
        let ca = CaBundle::from_pem("/ca.pem", CA_PEM.to_owned()).expect("a CA");
        assert_eq!(ca.certificates(), 1);
        let two = CaBundle::from_pem("/ca.pem", format!("{CA_PEM}{CA_PEM}")).expect("two");
        assert_eq!(two.certificates(), 2);
        assert_eq!(
            format!("{ca:?}"),
            r#"CaBundle { path: "/ca.pem", certificates: 1 }"#
        );
        let nodes = AmqpNodes::parse("amqps://a:pw@h/%2f")
            .expect("valid")
            .with_ca(Some(ca));
        assert_eq!(nodes.ca().map(CaBundle::path), Some("/ca.pem"));
        assert!(format!("{nodes:?}").contains("AMQP_CA_FILE=/ca.pem"));
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_refused_saying_why() {
        let cases = [
            ("", "holds no certificate"),
            ("hello\n", "holds no certificate"),
            (
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
                "is not a valid PEM file",
            ),
            (
                "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
                "certificate 1 of 1 is not a valid X.509 certificate",
            ),
        ];
        for (pem, want) in cases {
            let e = CaBundle::from_pem("/x.pem", pem.to_owned()).expect_err(pem);
            assert!(e.starts_with("= \"/x.pem\""), "{e}");
            assert!(e.contains(want), "{pem:?}: {e}");
        }
        let e = CaBundle::from_file("/nonexistent/ca.pem").expect_err("missing");
        assert!(e.contains("could not be read"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn log_format_parses() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
