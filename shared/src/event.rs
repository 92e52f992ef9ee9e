//! The Clerk event envelope: `{"type": "...", "data": {...}, "timestamp": ms, ...}`.
//!
//! The receiver only checks that a body is an envelope ([`route`]); the worker parses
//! it whole ([`Envelope::parse`]). Parsing is lenient: only what routing and
//! ordering need is read and required; the rest is skipped, and the body is kept as
//! the bytes received.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::{
    de::{IgnoredAny, MapAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::{Map, Value};

/// Why a body is not a Clerk event envelope. Permanent: the same bytes never parse.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("body is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("not a Clerk event: {0}")]
    NotAnEvent(String),
}

/// What routing and logging need from an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub event_type: String,
    /// `data.id`, when it is a string.
    pub object_id: Option<String>,
}

/// The event type and object id, if `body` is a JSON object with a string `type` and
/// an object `data`. Reads nothing else and copies nothing else.
pub fn route(body: &[u8]) -> Result<Route, EnvelopeError> {
    #[derive(Deserialize)]
    struct RoutingView {
        #[serde(rename = "type")]
        event_type: String,
        data: AnyObject,
    }
    let view: RoutingView = serde_json::from_slice(body).map_err(classify)?;
    if view.event_type.is_empty() || view.event_type.len() > 255 {
        return Err(EnvelopeError::NotAnEvent(
            "`type` must be 1 to 255 bytes long".into(),
        ));
    }
    Ok(Route {
        event_type: view.event_type,
        object_id: view.data.id,
    })
}

fn classify(e: serde_json::Error) -> EnvelopeError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => EnvelopeError::NotAnEvent(format!(
            "expected an object with a string `type` and an object `data` ({e})"
        )),
        _ => EnvelopeError::NotJson(e),
    }
}

/// Matches any JSON object and keeps only its string `id`.
struct AnyObject {
    id: Option<String>,
}

impl<'de> Deserialize<'de> for AnyObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyObject, A::Error> {
                let mut id = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "id" {
                        id = match map.next_value::<Value>()? {
                            Value::String(s) => Some(s),
                            _ => None,
                        };
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(AnyObject { id })
            }
        }
        d.deserialize_map(V)
    }
}

/// A parsed event envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub event_type: String,
    /// `data`: the Clerk object (or the deletion stub).
    pub data: Map<String, Value>,
    /// Envelope `timestamp`, normalised to milliseconds.
    pub timestamp_ms: Option<i64>,
    /// The body as received (valid JSON), kept for `webhook_events.payload`.
    pub body: Vec<u8>,
}

impl Envelope {
    /// Parses `body`, reading only `type`, `data` and `timestamp` into values; the
    /// rest is skipped and kept as bytes.
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(rename = "type")]
            event_type: Option<Value>,
            data: Option<Value>,
            timestamp: Option<Value>,
        }
        let wire: Wire = serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                EnvelopeError::NotAnEvent("the body is not a JSON object".into())
            }
            _ => EnvelopeError::NotJson(e),
        })?;
        let Some(Value::String(event_type)) = wire.event_type else {
            return Err(EnvelopeError::NotAnEvent("no string `type`".into()));
        };
        let Some(Value::Object(data)) = wire.data else {
            return Err(EnvelopeError::NotAnEvent("no object `data`".into()));
        };
        let timestamp_ms = match wire.timestamp {
            None | Some(Value::Null) => None,
            Some(v) => Some(millis(&v).ok_or_else(|| {
                EnvelopeError::NotAnEvent(format!("`timestamp` is not a number: {v}"))
            })?),
        };
        Ok(Self {
            event_type,
            data,
            timestamp_ms,
            body: body.to_vec(),
        })
    }

    /// `data.id`, if it is a non-empty string.
    pub fn object_id(&self) -> Option<&str> {
        self.data
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.timestamp_ms.and_then(datetime_from_millis)
    }
}

/// A Clerk timestamp in milliseconds. Clerk documents milliseconds; some of its
/// examples use seconds, so a value below 10^12 is read as seconds.
pub fn millis(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(if n.unsigned_abs() < 1_000_000_000_000 {
        n.saturating_mul(1000)
    } else {
        n
    })
}

pub fn datetime_from_millis(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn route_accepts_envelopes_only() {
        assert_eq!(
            route(br#"{"type":"user.created","data":{"x":[1],"id":"u"}}"#).expect("an envelope"),
            Route {
                event_type: "user.created".into(),
                object_id: Some("u".into())
            }
        );
        assert!(matches!(route(b"nope"), Err(EnvelopeError::NotJson(_))));
        assert!(matches!(route(b"[1,2]"), Err(EnvelopeError::NotAnEvent(_))));
        assert!(matches!(
            route(br#"{"type":1,"data":{}}"#),
            Err(EnvelopeError::NotAnEvent(_))
        ));
        assert!(matches!(
            route(br#"{"type":"user.created","data":[]}"#),
            Err(EnvelopeError::NotAnEvent(_))
        ));
        assert!(matches!(
            route(br#"{"type":"user.created"}"#),
            Err(EnvelopeError::NotAnEvent(_))
        ));
        assert!(matches!(
            route(br#"{"type":"","data":{}}"#),
            Err(EnvelopeError::NotAnEvent(_))
        ));
    }

    #[test]
    fn timestamps_in_seconds_become_millis() {
        assert_eq!(millis(&json!(1716883200)), Some(1_716_883_200_000));
        assert_eq!(millis(&json!(1716883200123_i64)), Some(1_716_883_200_123));
        assert_eq!(millis(&json!("x")), None);
        // Extremes neither panic nor wrap.
        assert_eq!(millis(&json!(i64::MIN)), Some(i64::MIN));
        assert_eq!(millis(&json!(i64::MAX)), Some(i64::MAX));
        assert_eq!(millis(&json!(-5)), Some(-5000));
        assert_eq!(datetime_from_millis(i64::MIN), None);
    }

    #[test]
    fn envelope_parses_leniently() {
        let env = Envelope::parse(
            br#"{"type":"user.deleted","data":{"id":"user_1","deleted":true},"timestamp":1716883900,"extra":1}"#,
        )
        .expect("valid envelope");
        assert_eq!(env.object_id(), Some("user_1"));
        assert_eq!(env.timestamp_ms, Some(1_716_883_900_000));
        assert!(Envelope::parse(br#"{"type":"x","data":{},"timestamp":"soon"}"#).is_err());
        assert!(matches!(
            Envelope::parse(b"[1]"),
            Err(EnvelopeError::NotAnEvent(_))
        ));
        assert!(matches!(
            Envelope::parse(b"{nope"),
            Err(EnvelopeError::NotJson(_))
        ));
        assert!(matches!(
            Envelope::parse(br#"{"type":"x","data":[]}"#),
            Err(EnvelopeError::NotAnEvent(_))
        ));
    }
}
