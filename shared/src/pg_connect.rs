//! Opening one Postgres connection with an error fit for one line.
//!
//! Diesel hands the URL to libpq unchanged, so every libpq parameter works
//! (`sslmode=verify-full`, `sslrootcert=…`, `sslcert=…`, `connect_timeout=…`). libpq's
//! message for a failed connection, though, ends with a newline, often spans several
//! lines (one per address tried, or a hint on a line of its own), and when it cannot
//! parse the URL it quotes it, password included. [`establish`] turns it into one
//! line without the password, with a hint for the TLS failures.

use diesel::{pg::PgConnection, Connection, ConnectionError};

/// Postgres did not accept a connection. The message is one line and holds no
/// password of the URL.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectFailed {
    message: String,
}

/// [`PgConnection::establish`], with libpq's message made one line, without the
/// URL's password.
pub fn establish(url: &str) -> Result<PgConnection, ConnectFailed> {
    PgConnection::establish(url).map_err(|e| {
        let raw = match e {
            ConnectionError::BadConnection(m) | ConnectionError::InvalidConnectionUrl(m) => m,
            ConnectionError::InvalidCString(_) => "the URL holds a NUL byte".to_owned(),
            other => other.to_string(),
        };
        ConnectFailed {
            message: one_line(&raw, url),
        }
    })
}

/// `message` (from libpq, about `url`) on one line: its lines joined with `"; "`,
/// every password of `url` shown as `***`, and a hint for the TLS failures.
pub fn one_line(message: &str, url: &str) -> String {
    let mut text = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    for secret in secrets(url) {
        text = mask(&text, &secret);
    }
    if let Some(hint) = hint(&text) {
        text.push_str(" (");
        text.push_str(hint);
        text.push(')');
    }
    text
}

/// What to do about the TLS failures libpq reports.
fn hint(text: &str) -> Option<&'static str> {
    if text.contains("certificate verify failed") {
        Some(
            "the server's certificate is not signed by a CA in the file sslrootcert= names \
             in DATABASE_URL (~/.postgresql/root.crt without it); give the CA that signed it",
        )
    } else if text.contains("does not match host name") {
        Some(
            "with sslmode=verify-full the host in DATABASE_URL must be a name or address \
             the server's certificate lists",
        )
    } else {
        None
    }
}

/// The passwords in `url`, as written and percent-decoded: in the user info
/// (`postgres://user:PASSWORD@host/…`) and as `password=` / `sslpassword=`.
fn secrets(url: &str) -> Vec<String> {
    let mut raw: Vec<&str> = Vec::new();
    let (rest, query) = match url.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (url, None),
    };
    if let Some((_, after_scheme)) = rest.split_once("://") {
        let authority = after_scheme.split('/').next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                raw.push(password);
            }
        }
    }
    for param in query.unwrap_or_default().split('&') {
        if let Some((key, value)) = param.split_once('=') {
            if key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword") {
                raw.push(value);
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for r in raw.into_iter().filter(|r| !r.is_empty()) {
        for s in [r.to_owned(), percent_decode(r)] {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    // Longest first, so a password that holds another is masked whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// Replaces each occurrence of `secret` in `text` that stands on its own (not
/// inside a longer word: a one-letter password does not eat every word that holds
/// that letter) with `***`.
fn mask(text: &str, secret: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(secret) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + secret.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        out.push_str(&rest[..i]);
        if word(before) || word(after) {
            out.push_str(secret);
        } else {
            out.push_str("***");
        }
        rest = &rest[i + secret.len()..];
    }
    out.push_str(rest);
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_lines_become_one() {
        let m = "root certificate file \"/nope.pem\" does not exist\nEither provide the file, \
                 use the system's trusted roots with sslrootcert=system, or change sslmode to \
                 disable server certificate verification.\n";
        let line = one_line(m, "postgres://app:pw@db/clerk?sslmode=verify-full");
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("root certificate file \"/nope.pem\" does not exist; Either"));
    }

    #[test]
    fn a_certificate_failure_says_what_to_check() {
        let line = one_line(
            "connection to server at \"127.0.0.1\", port 5432 failed: SSL error: certificate verify failed\n",
            "postgres://app@127.0.0.1/clerk?sslmode=verify-full&sslrootcert=/ca.pem",
        );
        assert!(line.ends_with("give the CA that signed it)"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn passwords_are_masked_as_written_and_decoded() {
        let url = "postgres://app:p%40ss-w0rd@db/clerk?password=other-secret";
        let line = one_line(
            "invalid percent-encoded token: \"p%40ss-w0rd\"; p@ss-w0rd; other-secret",
            url,
        );
        assert_eq!(line, "invalid percent-encoded token: \"***\"; ***; ***");
    }

    #[test]
    fn a_short_password_does_not_eat_words() {
        let line = one_line(
            "connection to server at \"x\" failed",
            "postgres://app:x@db/clerk",
        );
        assert_eq!(line, "connection to server at \"***\" failed");
        let line = one_line("no host x-ray", "postgres://app:o@db/clerk");
        assert_eq!(line, "no host x-ray");
    }

    #[test]
    fn the_maintenance_url_keeps_the_tls_parameters() {
        let (admin, name) = crate::db::split_database_url(
            "postgres://app:pw@db.example.com:5432/clerk?sslmode=verify-full&sslrootcert=/etc/ssl/ca/root.pem",
        )
        .expect("valid");
        assert_eq!(
            admin,
            "postgres://app:pw@db.example.com:5432/postgres?sslmode=verify-full&sslrootcert=/etc/ssl/ca/root.pem"
        );
        assert_eq!(name, "clerk");
    }

    #[test]
    fn the_url_libpq_quotes_loses_its_password() {
        // libpq rejects this URL before connecting, quoting the password.
        let url = "postgres://postgres:hunter%zz2@127.0.0.1:5432/clerk";
        let e = establish(url)
            .err()
            .expect("an invalid URL does not connect");
        let text = e.to_string();
        assert!(!text.contains("hunter"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}
