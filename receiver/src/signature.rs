//! Svix signature verification against one or several signing secrets.
//!
//! Verification follows `svix::webhooks::Webhook::verify` step for step (see
//! `Key::verify`) but computes the HMAC-SHA256 with aws-lc, which uses this
//! CPU's SHA extensions; svix's pure-Rust SHA-256 does not, and was the largest
//! item of the receiver's profile. A test checks both give the same answer on
//! valid, tampered, expired, future and malformed requests. Signing (`receiver
//! send`, tests) stays with svix.

use std::{fmt, sync::Arc, time::SystemTime};

use actix_web::http::header::HeaderMap as ActixHeaders;
use aws_lc_rs::{constant_time, hmac};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use svix::webhooks::Webhook;

/// Svix's published example secret (its docs and test vectors use it). Anyone can
/// sign with it, so an endpoint configured with it accepts forged events; the
/// compose stack falls back to it for local trials only.
pub const PUBLIC_TEST_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The configured signing secrets. Clerk keeps an old secret valid for 24 hours after
/// a rotation, so several may be configured; a request verifies if any matches.
#[derive(Clone)]
pub struct Secrets {
    /// For signing.
    hooks: Arc<Vec<Webhook>>,
    /// For verifying: the same secrets, as aws-lc HMAC keys.
    keys: Arc<Vec<Key>>,
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
        let mut keys = Vec::with_capacity(parts.len());
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
            keys.push(Key::new(part).ok_or_else(|| {
                format!("secret #{n} is malformed: after whsec_ it must be base64")
            })?);
        }
        Ok(Self {
            hooks: Arc::new(hooks),
            keys: Arc::new(keys),
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
        // A span for traces only (see `shared::otel`); none when they are off.
        let _span = shared::otel::enabled().then(|| tracing::info_span!("verify").entered());
        let header = |a: &str, b: &str| headers.get(a).or_else(|| headers.get(b));
        let id = header("svix-id", "webhook-id")
            .ok_or_else(|| VerifyError::BadHeaders("missing svix-id header".into()))?
            .to_str()
            .map_err(|_| VerifyError::BadHeaders(MALFORMED_ID.into()))?;
        if !is_svix_id(id) {
            return Err(VerifyError::BadHeaders(MALFORMED_ID.into()));
        }
        let timestamp = header("svix-timestamp", "webhook-timestamp")
            .ok_or_else(|| VerifyError::BadHeaders("missing svix-timestamp header".into()))?
            .to_str()
            .ok()
            .and_then(parse_svix_timestamp)
            .ok_or_else(|| VerifyError::BadHeaders(MALFORMED_TIMESTAMP.into()))?;
        if header("svix-signature", "webhook-signature").is_none() {
            return Err(VerifyError::BadHeaders(
                "missing svix-signature header".into(),
            ));
        }
        let now = unix_now();
        let mut last = VerifyError::Rejected("signature does not match");
        for key in self.keys.iter() {
            match key.verify(body, |name| headers.get(name).map(|v| v.as_bytes()), now) {
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

const MALFORMED_ID: &str = "malformed svix-id header: 1 to 255 visible ASCII characters";
const MALFORMED_TIMESTAMP: &str =
    "malformed svix-timestamp header: a decimal integer of seconds, digits only";

/// DESIGN.md §2: `svix-id` is 1 to 255 visible ASCII characters (0x21 to 0x7e).
/// Stricter than Svix's libraries on purpose: the id becomes the AMQP `message_id`
/// (at most 255 bytes), a primary key and a log field.
fn is_svix_id(id: &str) -> bool {
    (1..=255).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// DESIGN.md §2: `svix-timestamp` is a plain decimal integer of seconds, ASCII
/// digits only: no sign, space, decimal point or exponent (Svix's libraries take a
/// `+`, and a `-` until the tolerance refuses it). `None` when it is anything else,
/// or too large for an `i64`.
fn parse_svix_timestamp(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Seconds since 1970, or `None` before it (svix then refuses every timestamp).
fn unix_now() -> Option<u64> {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Why [`Key::verify`] refused a request: the cases of `svix::webhooks::WebhookError`
/// that verifying can give, in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    MissingHeader(&'static str),
    InvalidHeader(&'static str),
    InvalidTimestamp,
    TimestampTooOld,
    FutureTimestamp,
    InvalidPayload,
    InvalidSignature,
}

/// Svix's tolerance either way, as in svix.
const TOLERANCE_SECONDS: u64 = 5 * 60;

/// One signing secret as an aws-lc HMAC-SHA256 key.
pub(crate) struct Key(hmac::Key);

impl Key {
    /// As `svix::webhooks::Webhook::new`: an optional `whsec_` prefix, then standard
    /// base64 of a non-empty key.
    pub(crate) fn new(secret: &str) -> Option<Self> {
        let secret = secret.strip_prefix("whsec_").unwrap_or(secret);
        let raw = BASE64.decode(secret).ok().filter(|k| !k.is_empty())?;
        Some(Self(hmac::Key::new(hmac::HMAC_SHA256, &raw)))
    }

    /// `svix::webhooks::Webhook::verify`, step for step: the id, signature and
    /// timestamp headers (`svix-*`, else `webhook-*`; visible ASCII), the timestamp
    /// as svix parses it, the tolerance against `now`, the body as UTF-8, then the
    /// expected `v1` signature (over `{id}.{timestamp as parsed}.{body}`, base64)
    /// compared in constant time with each space-separated `v1,…` entry.
    pub(crate) fn verify<'h>(
        &self,
        body: &[u8],
        get: impl Fn(&str) -> Option<&'h [u8]>,
        now: Option<u64>,
    ) -> Result<(), Refusal> {
        let header = |branded: &str, unbranded: &str, name: &'static str| {
            let value = get(branded)
                .or_else(|| get(unbranded))
                .ok_or(Refusal::MissingHeader(name))?;
            visible_ascii(value).ok_or(Refusal::InvalidHeader(name))
        };
        let id = header("svix-id", "webhook-id", "id")?;
        let signatures = header("svix-signature", "webhook-signature", "signature")?;
        let timestamp: i64 = header("svix-timestamp", "webhook-timestamp", "timestamp")?
            .parse()
            .map_err(|_| Refusal::InvalidTimestamp)?;
        let now = now.ok_or(Refusal::InvalidTimestamp)?;
        let ts = u64::try_from(timestamp).map_err(|_| Refusal::InvalidTimestamp)?;
        if ts.saturating_add(TOLERANCE_SECONDS) < now {
            return Err(Refusal::TimestampTooOld);
        }
        if ts > now.saturating_add(TOLERANCE_SECONDS) {
            return Err(Refusal::FutureTimestamp);
        }
        std::str::from_utf8(body).map_err(|_| Refusal::InvalidPayload)?;
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        let mut expected = [0u8; 44];
        let n = BASE64
            .encode_slice(ctx.sign().as_ref(), &mut expected)
            .map_err(|_| Refusal::InvalidSignature)?;
        let expected = &expected[..n];
        let mut matched = false;
        for (version, signature) in signatures.split(' ').filter_map(|s| s.split_once(',')) {
            if version == "v1"
                && signature.len() == expected.len()
                && constant_time::verify_slices_are_equal(signature.as_bytes(), expected).is_ok()
            {
                matched = true;
            }
        }
        if matched {
            Ok(())
        } else {
            Err(Refusal::InvalidSignature)
        }
    }
}

/// `http::HeaderValue::to_str`: visible ASCII or tab only.
fn visible_ascii(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| (32..127).contains(&b) || b == b'\t')
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

fn classify(e: Refusal) -> VerifyError {
    match e {
        Refusal::TimestampTooOld => {
            VerifyError::Rejected("timestamp is older than the 5 minute tolerance")
        }
        Refusal::FutureTimestamp => {
            VerifyError::Rejected("timestamp is more than 5 minutes in the future")
        }
        Refusal::InvalidSignature => VerifyError::Rejected("signature does not match"),
        Refusal::InvalidPayload => VerifyError::NotUtf8,
        Refusal::MissingHeader(h) => VerifyError::BadHeaders(format!("missing svix-{h} header")),
        Refusal::InvalidHeader(h) => VerifyError::BadHeaders(format!("malformed svix-{h} header")),
        Refusal::InvalidTimestamp => {
            VerifyError::BadHeaders("malformed svix-timestamp header".into())
        }
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

    /// The outcome svix itself gives, in our terms.
    fn svix_verdict(hook: &Webhook, body: &[u8], headers: &http::HeaderMap) -> Result<(), Refusal> {
        use svix::webhooks::WebhookError as E;
        hook.verify(body, headers).map_err(|e| match e {
            E::MissingHeader(h) => Refusal::MissingHeader(h),
            E::InvalidHeader(h) => Refusal::InvalidHeader(h),
            E::InvalidTimestamp => Refusal::InvalidTimestamp,
            E::TimestampTooOldError => Refusal::TimestampTooOld,
            E::FutureTimestampError => Refusal::FutureTimestamp,
            E::InvalidPayload => Refusal::InvalidPayload,
            E::InvalidSignature => Refusal::InvalidSignature,
            other => panic!("svix gave {other:?} while verifying"),
        })
    }

    /// One random request: header pairs (in order, repeated names allowed) and a body.
    fn random_request(
        rng: &mut impl rand::Rng,
        signer: &Webhook,
        other: &Webhook,
    ) -> (Vec<(&'static str, Vec<u8>)>, Vec<u8>) {
        use rand::seq::SliceRandom;
        let now = chrono::Utc::now().timestamp();
        let ids: [&[u8]; 7] = [
            b"msg_p5jXN8AQM9LWM0D4loKWxJek",
            b"msg_1",
            b"",
            b"msg with spaces",
            b"msg_\xc3\xa9",
            b"msg_\ttab",
            b"a,b.c",
        ];
        let id = ids.choose(rng).copied().unwrap_or_default().to_vec();
        // Far enough from the tolerance's edges that a second passing between the two
        // verifications cannot change the answer.
        let offsets = [0i64, -100, 100, -297, 297, -303, 303, -100_000, 100_000];
        let ts_value = now + offsets.choose(rng).copied().unwrap_or(0);
        let timestamps: Vec<Vec<u8>> = vec![
            ts_value.to_string().into_bytes(),
            ts_value.to_string().into_bytes(),
            format!("+{ts_value}").into_bytes(),
            format!("0{ts_value}").into_bytes(),
            format!("{ts_value}.0").into_bytes(),
            b"-5".to_vec(),
            b"yesterday".to_vec(),
            b"".to_vec(),
            b"99999999999999999999999".to_vec(),
        ];
        let ts = timestamps.choose(rng).cloned().unwrap_or_default();
        let bodies: Vec<Vec<u8>> = vec![
            br#"{"type":"user.created","data":{"id":"user_1"}}"#.to_vec(),
            (0..rng.gen_range(0..300))
                .map(|_| rng.gen_range(32u8..127))
                .collect(),
            (0..rng.gen_range(1..300))
                .map(|_| rng.gen::<u8>())
                .collect(),
            "{\"name\":\"Zoë 🚀\"}".as_bytes().to_vec(),
            Vec::new(),
        ];
        let body = bodies.choose(rng).cloned().unwrap_or_default();
        // What the signature is computed over: usually the request itself.
        let id_str = String::from_utf8_lossy(&id).into_owned();
        let signed_ts = std::str::from_utf8(&ts)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(ts_value);
        let good = signer
            .sign(&id_str, signed_ts, &body)
            .unwrap_or_else(|_| "v1,notutf8".into());
        let foreign = other.sign(&id_str, signed_ts, &body).unwrap_or_default();
        let stale = signer
            .sign(&id_str, signed_ts - 1, &body)
            .unwrap_or_default();
        let tampered = {
            let mut g = good.clone().into_bytes();
            if let Some(last) = g.len().checked_sub(2) {
                g[last] = if g[last] == b'A' { b'B' } else { b'A' };
            }
            String::from_utf8(g).unwrap_or_default()
        };
        let g = good.trim_start_matches("v1,");
        let sigs: Vec<String> = vec![
            good.clone(),
            good.clone(),
            format!("v1,bogus {good}"),
            format!("{foreign} {good}"),
            format!("{good} {foreign}"),
            format!("v2,{g}"),
            format!("v1,{g}="),
            format!("v1,{}", &g[..g.len().saturating_sub(1)]),
            format!("v1, {g}"),
            format!("v1,{g},extra"),
            format!("{good}  v1,x"),
            format!(" {good}"),
            format!("{good}\t"),
            format!("V1,{g}"),
            foreign,
            stale,
            tampered,
            g.to_owned(),
            String::new(),
            ",".into(),
        ];
        let sig = sigs.choose(rng).cloned().unwrap_or_default().into_bytes();
        let mut pairs = Vec::new();
        for (branded, unbranded, value) in [
            ("svix-id", "webhook-id", id),
            ("svix-timestamp", "webhook-timestamp", ts),
            ("svix-signature", "webhook-signature", sig),
        ] {
            match rng.gen_range(0..10) {
                0 => {}
                1..=5 => pairs.push((branded, value)),
                6..=7 => pairs.push((unbranded, value)),
                8 => {
                    pairs.push((unbranded, b"garbage".to_vec()));
                    pairs.push((branded, value));
                }
                _ => {
                    pairs.push((branded, value));
                    pairs.push((branded, b"second".to_vec()));
                }
            }
        }
        (pairs, body)
    }

    #[test]
    fn verifies_exactly_as_svix_does() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EC2E7);
        let mut outcomes = std::collections::HashMap::<String, usize>::new();
        for round in 0..20_000 {
            let raw: Vec<u8> = (0..rng.gen_range(1..65)).map(|_| rng.gen()).collect();
            let secret = format!("whsec_{}", BASE64.encode(&raw));
            let secret = if round % 7 == 0 {
                secret.trim_start_matches("whsec_").to_owned()
            } else {
                secret
            };
            let hook = Webhook::new(&secret).expect("svix takes it");
            let key = Key::new(&secret).expect("we take it");
            let other = Webhook::new("whsec_dGhpcyBpcyBub3QgdGhlIHRlc3Qgc2VjcmV0IQ==")
                .expect("other secret");
            let (pairs, body) = random_request(&mut rng, &hook, &other);
            let mut actix = ActixHeaders::new();
            let mut http = http::HeaderMap::new();
            for (name, value) in &pairs {
                let (Ok(a), Ok(h)) = (
                    HeaderValue::from_bytes(value),
                    http::HeaderValue::from_bytes(value),
                ) else {
                    continue;
                };
                actix.append(HeaderName::from_static(name), a);
                http.append(*name, h);
            }
            let theirs = svix_verdict(&hook, &body, &http);
            let ours = key.verify(&body, |n| actix.get(n).map(|v| v.as_bytes()), unix_now());
            assert_eq!(
                ours,
                theirs,
                "round {round}: headers {pairs:?}, body {:?}",
                String::from_utf8_lossy(&body)
            );
            *outcomes.entry(format!("{theirs:?}")).or_default() += 1;
        }
        // Every kind of answer was exercised, accepted ones included.
        for expected in [
            "Ok(())",
            "Err(InvalidSignature)",
            "Err(TimestampTooOld)",
            "Err(FutureTimestamp)",
            "Err(InvalidTimestamp)",
            "Err(InvalidPayload)",
            "Err(MissingHeader(\"id\"))",
            "Err(MissingHeader(\"signature\"))",
            "Err(MissingHeader(\"timestamp\"))",
            "Err(InvalidHeader(\"id\"))",
        ] {
            assert!(
                outcomes.get(expected).copied().unwrap_or(0) > 20,
                "{expected} seen too rarely: {outcomes:?}"
            );
        }
    }

    #[test]
    fn secrets_decode_as_svix_decodes_them() {
        for secret in [
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_====",
            "whsec_YQ",
            "whsec_YQ==",
            "whsec_!!",
            "whsec_whsec_YQ==",
        ] {
            assert_eq!(
                Key::new(secret).is_some(),
                Webhook::new(secret).is_ok(),
                "{secret}"
            );
        }
    }

    #[test]
    fn header_forms_are_stricter_than_svix() {
        let s = Secrets::parse(SECRET).expect("valid");
        let hook = Webhook::new(SECRET).expect("valid");
        let body = br#"{"type":"user.created","data":{"id":"user_1"}}"#;
        let now = chrono::Utc::now().timestamp();
        let request = |id: &str, ts: &str, signed_ts: i64| {
            let sig = hook.sign(id, signed_ts, body).expect("svix signs it");
            headers(&[
                ("svix-id", id),
                ("svix-timestamp", ts),
                ("svix-signature", &sig),
            ])
        };
        let n = now.to_string();
        let long = "a".repeat(256);
        for (id, ts, signed_ts, header) in [
            ("", n.as_str(), now, "svix-id"),
            (long.as_str(), &n, now, "svix-id"),
            ("msg with space", &n, now, "svix-id"),
            ("msg_\ttab", &n, now, "svix-id"),
            ("msg_1", &format!("+{now}"), now, "svix-timestamp"),
            ("msg_1", &format!(" {now}"), now, "svix-timestamp"),
            ("msg_1", &format!("{now} "), now, "svix-timestamp"),
            ("msg_1", &format!("{now}.0"), now, "svix-timestamp"),
            ("msg_1", "1.7e9", 1_700_000_000, "svix-timestamp"),
            ("msg_1", "-5", -5, "svix-timestamp"),
            ("msg_1", "", now, "svix-timestamp"),
            ("msg_1", "99999999999999999999", now, "svix-timestamp"),
        ] {
            match s.verify(&request(id, ts, signed_ts), body) {
                Err(VerifyError::BadHeaders(reason)) => {
                    assert!(reason.contains(header), "{id:?} {ts:?}: {reason}")
                }
                other => panic!("{id:?} {ts:?}: {other:?}"),
            }
        }
        // A byte above 0x7e (actix takes it; svix cannot sign a non-UTF-8 id).
        let mut h = request("msg_1", &n, now);
        h.insert(
            HeaderName::from_static("svix-id"),
            HeaderValue::from_bytes(b"msg_\xe9").expect("obs-text is a header value"),
        );
        assert!(matches!(
            s.verify(&h, body),
            Err(VerifyError::BadHeaders(r)) if r.contains("svix-id")
        ));
        // The boundaries: 1 and 255 visible ASCII characters, and leading zeros.
        let visible: String = (0x21u8..=0x7e).map(char::from).cycle().take(255).collect();
        for (id, ts) in [
            ("~", n.clone()),
            (visible.as_str(), n.clone()),
            ("msg_1", format!("0{now}")),
        ] {
            let v = s.verify(&request(id, &ts, now), body).expect("accepted");
            assert_eq!((v.svix_id.as_str(), v.svix_timestamp), (id, now));
        }
    }

    #[test]
    fn the_svix_test_vector_verifies() {
        let key = Key::new(SECRET).expect("valid");
        let body = br#"{"test": 2432232314}"#;
        let h = headers(&[
            ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("svix-timestamp", "1614265330"),
            (
                "svix-signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ]);
        let get = |n: &str| h.get(n).map(|v| v.as_bytes());
        assert_eq!(key.verify(body, get, Some(1614265330 + 10)), Ok(()));
        assert_eq!(
            key.verify(body, get, Some(1614265330 + 301)),
            Err(Refusal::TimestampTooOld)
        );
        assert_eq!(
            key.verify(b"{\"test\": 2432232315}", get, Some(1614265330)),
            Err(Refusal::InvalidSignature)
        );
        assert_eq!(key.verify(body, get, None), Err(Refusal::InvalidTimestamp));
    }
}
