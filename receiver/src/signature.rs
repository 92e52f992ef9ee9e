//! Svix signature verification against one or several signing secrets.

use std::{fmt, sync::Arc};

use actix_web::http::header::HeaderMap as ActixHeaders;
use svix::webhooks::{Webhook, WebhookError};

/// The headers Svix sends, in both their branded and unbranded spellings.
const HEADERS: [&str; 6] = [
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// Svix's published example secret (its docs and test vectors use it). Anyone can
/// sign with it, so an endpoint configured with it accepts forged events; the
/// compose stack falls back to it for local trials only.
pub const PUBLIC_TEST_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The configured signing secrets. Clerk keeps an old secret valid for 24 hours after
/// a rotation, so several may be configured; a request verifies if any matches.
#[derive(Clone)]
pub struct Secrets {
    hooks: Arc<Vec<Webhook>>,
    /// Whether one of them is [`PUBLIC_TEST_SECRET`].
    public_test_secret: bool,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} configured, redacted)", self.hooks.len())
    }
}

/// Why a request does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Missing or malformed `svix-*` headers: 400.
    #[error("{0}")]
    BadHeaders(String),
    /// The body is not UTF-8, so it cannot be a signed Clerk event: 400.
    #[error("body is not UTF-8")]
    NotUtf8,
    /// No secret matches, or the timestamp is outside the tolerance: 401.
    #[error("{0}")]
    Rejected(&'static str),
}

/// What a verified request told us about itself.
#[derive(Debug, Clone)]
pub struct Verified {
    pub svix_id: String,
    pub svix_timestamp: i64,
}

impl Secrets {
    /// Parses one `whsec_…` secret or several separated by commas or white space.
    /// The error never contains the secrets themselves.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            return Err("is empty: set it to the endpoint's signing secret (whsec_…)".into());
        }
        let mut hooks = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let n = i + 1;
            if !part.starts_with("whsec_") {
                return Err(format!(
                    "secret #{n} does not start with whsec_: copy the endpoint's signing secret from Clerk's dashboard"
                ));
            }
            let hook = Webhook::new(part)
                .map_err(|_| format!("secret #{n} is malformed: after whsec_ it must be base64"))?;
            hooks.push(hook);
        }
        Ok(Self {
            hooks: Arc::new(hooks),
            public_test_secret: parts.contains(&PUBLIC_TEST_SECRET),
        })
    }

    /// Whether one of the secrets is Svix's public test secret, with which anyone
    /// can forge events.
    pub fn uses_public_test_secret(&self) -> bool {
        self.public_test_secret
    }

    pub fn len(&self) -> usize {
        self.hooks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Signs like Svix does, with the first secret: `v1,<base64>`.
    pub fn sign(&self, svix_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
        let hook = self.hooks.first().ok_or("no secret configured")?;
        hook.sign(svix_id, timestamp, body)
            .map_err(|e| format!("cannot sign: {e}"))
    }

    /// Verifies `body` against the Svix headers.
    pub fn verify(&self, headers: &ActixHeaders, body: &[u8]) -> Result<Verified, VerifyError> {
        let mut map = http::HeaderMap::with_capacity(3);
        for name in HEADERS {
            if let Some(value) = headers.get(name) {
                let value = http::HeaderValue::from_bytes(value.as_bytes())
                    .map_err(|_| VerifyError::BadHeaders(format!("malformed {name} header")))?;
                map.insert(name, value);
            }
        }
        let header = |a: &str, b: &str| map.get(a).or_else(|| map.get(b));
        let id = header("svix-id", "webhook-id")
            .ok_or_else(|| VerifyError::BadHeaders("missing svix-id header".into()))?
            .to_str()
            .map_err(|_| VerifyError::BadHeaders("malformed svix-id header".into()))?;
        if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(VerifyError::BadHeaders("malformed svix-id header".into()));
        }
        let timestamp = header("svix-timestamp", "webhook-timestamp")
            .ok_or_else(|| VerifyError::BadHeaders("missing svix-timestamp header".into()))?
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| VerifyError::BadHeaders("malformed svix-timestamp header".into()))?;
        if header("svix-signature", "webhook-signature").is_none() {
            return Err(VerifyError::BadHeaders(
                "missing svix-signature header".into(),
            ));
        }
        let mut last = VerifyError::Rejected("signature does not match");
        for hook in self.hooks.iter() {
            match hook.verify(body, &map) {
                Ok(()) => {
                    return Ok(Verified {
                        svix_id: id.to_owned(),
                        svix_timestamp: timestamp,
                    })
                }
                Err(e) => last = classify(e),
            }
        }
        Err(last)
    }
}

fn classify(e: WebhookError) -> VerifyError {
    match e {
        WebhookError::TimestampTooOldError => {
            VerifyError::Rejected("timestamp is older than the 5 minute tolerance")
        }
        WebhookError::FutureTimestampError => {
            VerifyError::Rejected("timestamp is more than 5 minutes in the future")
        }
        WebhookError::InvalidSignature => VerifyError::Rejected("signature does not match"),
        WebhookError::InvalidPayload => VerifyError::NotUtf8,
        WebhookError::MissingHeader(h) => {
            VerifyError::BadHeaders(format!("missing svix-{h} header"))
        }
        WebhookError::InvalidHeader(h) => {
            VerifyError::BadHeaders(format!("malformed svix-{h} header"))
        }
        WebhookError::InvalidTimestamp => {
            VerifyError::BadHeaders("malformed svix-timestamp header".into())
        }
        other => VerifyError::BadHeaders(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn headers(pairs: &[(&str, &str)]) -> ActixHeaders {
        let mut h = ActixHeaders::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn svix_test_vector_signs() {
        let s = Secrets::parse(SECRET).expect("valid");
        assert_eq!(
            s.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into())
        );
    }

    #[test]
    fn the_public_test_secret_is_recognised() {
        assert!(Secrets::parse(SECRET)
            .expect("valid")
            .uses_public_test_secret());
        let own = "whsec_dGhpcyBpcyBub3QgdGhlIHRlc3Qgc2VjcmV0IQ==";
        assert!(!Secrets::parse(own)
            .expect("valid")
            .uses_public_test_secret());
        assert!(Secrets::parse(&format!("{own} {SECRET}"))
            .expect("two")
            .uses_public_test_secret());
    }

    #[test]
    fn malformed_secrets_are_refused_without_echoing_them() {
        let err = Secrets::parse("whsec_!!!notbase64").expect_err("malformed");
        assert!(!err.contains("notbase64"), "{err}");
        assert!(Secrets::parse("sk_live_abc").is_err());
        assert!(Secrets::parse(" , ").is_err());
        assert_eq!(
            Secrets::parse(&format!("{SECRET}, {SECRET} {SECRET}"))
                .expect("three")
                .len(),
            3
        );
        assert!(!format!("{:?}", Secrets::parse(SECRET).expect("valid")).contains("MfKQ"));
    }

    #[test]
    fn verification_classifies_failures() {
        let s = Secrets::parse(SECRET).expect("valid");
        let now = chrono::Utc::now().timestamp();
        let body = br#"{"type":"user.created","data":{}}"#;
        let sig = s.sign("msg_1", now, body).expect("sign");
        let ts = now.to_string();
        let ok = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &sig),
        ]);
        assert_eq!(s.verify(&ok, body).expect("valid").svix_id, "msg_1");
        assert!(matches!(
            s.verify(&ok, b"{}"),
            Err(VerifyError::Rejected(_))
        ));
        let no_sig = headers(&[("svix-id", "msg_1"), ("svix-timestamp", &ts)]);
        assert!(matches!(
            s.verify(&no_sig, body),
            Err(VerifyError::BadHeaders(_))
        ));
        let not_utf8 = b"\xff\xfe{}";
        let sig = s.sign("msg_1", now, body).expect("sign");
        let h = headers(&[
            ("svix-id", "msg_1"),
            ("svix-timestamp", &ts),
            ("svix-signature", &sig),
        ]);
        assert!(matches!(s.verify(&h, not_utf8), Err(VerifyError::NotUtf8)));
        let bad_ts = headers(&[
            ("svix-id", "msg_1"),
            ("svix-timestamp", "yesterday"),
            ("svix-signature", &sig),
        ]);
        assert!(matches!(
            s.verify(&bad_ts, body),
            Err(VerifyError::BadHeaders(_))
        ));
    }
}
