//! The Clerk event envelope: `{"type": "...", "data": {...}, "timestamp": ms, ...}`.
//!
//! The receiver only checks that a body is an envelope ([`route`]); the worker parses
//! it whole ([`Envelope::parse`]). Parsing is lenient: only what routing and
//! ordering need is read and required; the rest is skipped, and the body is kept as
//! the bytes received.

use std::{borrow::Cow, fmt};

use chrono::{DateTime, TimeZone, Utc};
use serde::{
    de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::{value::RawValue, Map, Value};

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
                while let Some(Key(key)) = map.next_key()? {
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

/// An object's key, borrowed from the body unless it has escapes. (serde's own
/// `Cow<str>` always allocates: it deserializes through `String`.)
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads a JSON object, building values only for `keys` (and, for the keys of
/// `lists`, only for the given keys of each object in their array) and checking the
/// rest as [`Value`] would (string escapes, number ranges) without building it.
/// `None` when the value is not an object.
#[derive(Clone, Copy)]
struct Keep {
    keys: &'static [&'static str],
    lists: &'static [(&'static str, &'static [&'static str])],
}

impl<'de> DeserializeSeed<'de> for Keep {
    type Value = Option<Map<String, Value>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V(Keep);
        impl<'de> Visitor<'de> for V {
            type Value = Option<Map<String, Value>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kept = Map::new();
                while let Some(Key(key)) = map.next_key()? {
                    if let Some((_, sub)) = self.0.lists.iter().find(|(k, _)| *k == key) {
                        let value = map.next_value_seed(KeepEach(sub))?;
                        kept.insert(key.into_owned(), value);
                    } else if self.0.keys.contains(&key.as_ref()) {
                        let value = map.next_value::<Value>()?;
                        kept.insert(key.into_owned(), value);
                    } else {
                        map.next_value::<Checked>()?;
                    }
                }
                Ok(Some(kept))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(None)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        d.deserialize_any(V(self))
    }
}

/// An array of objects, each read with [`Keep`] for `.0` (`null` for an element that
/// is not an object); `null` when the value is not an array. Everything is checked.
struct KeepEach(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeepEach {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        struct V(&'static [&'static str]);
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let keep = Keep {
                    keys: self.0,
                    lists: &[],
                };
                let mut items = Vec::new();
                while let Some(item) = seq.next_element_seed(keep)? {
                    items.push(item.map_or(Value::Null, Value::Object));
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                while map.next_key::<Checked>()?.is_some() {
                    map.next_value::<Checked>()?;
                }
                Ok(Value::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_str<E>(self, _: &str) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
        }
        d.deserialize_any(V(self.0))
    }
}

/// Any JSON value, checked as [`Value`] would check it (serde_json decodes every
/// string and number through `deserialize_any`), and not kept. Unlike
/// [`IgnoredAny`], which skips strings and numbers without decoding them.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
                while map.next_key::<Checked>()?.is_some() {
                    map.next_value::<Checked>()?;
                }
                Ok(Checked)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_unit<E>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
        }
        d.deserialize_any(V)
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
    /// `data` as received, when [`Envelope::parse_for_apply`] kept in `data` only
    /// what a change reads (see [`USER_KEYS`], [`USER_LISTS`]). `None`: `data` is
    /// whole.
    pub data_text: Option<String>,
}

/// The keys of a user object the worker reads to upsert it
/// ([`Envelope::parse_for_apply`] keeps only these in `data` for `user.created`
/// and `user.updated`).
pub const USER_KEYS: &[&str] = &[
    "id",
    "updated_at",
    "created_at",
    "primary_email_address_id",
    "email_addresses",
    "first_name",
    "last_name",
    "username",
    "image_url",
    "profile_image_url",
    "external_id",
    "public_metadata",
];

/// Of each entry of a user's `email_addresses`, the keys the worker reads (to find
/// the primary address); the rest of each entry is checked and skipped.
pub const USER_LISTS: &[(&str, &[&str])] = &[("email_addresses", &["id", "email_address"])];

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
        let wire: Wire = serde_json::from_slice(body).map_err(not_an_object)?;
        Self::assemble(body, wire.event_type, wire.data, wire.timestamp, None)
    }

    /// As [`Envelope::parse`], with the same errors for the same bodies, but for
    /// `user.created` and `user.updated` builds values only for what a user upsert
    /// reads ([`USER_KEYS`], and of `email_addresses` each entry's `id` and
    /// `email_address`) and keeps `data` as its text
    /// ([`Envelope::data_text`]), to be stored as it came. Every other value of
    /// `data` is still checked as a value would be (a lone surrogate or a number out
    /// of range is an error, as jsonb cannot store it) without being built. Building
    /// the whole tree, dropping it and serializing it again for `users.data` was
    /// 40% of the worker's CPU.
    pub fn parse_for_apply(body: &[u8]) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct Wire<'a> {
            #[serde(rename = "type")]
            event_type: Option<Value>,
            #[serde(borrow)]
            data: Option<&'a RawValue>,
            timestamp: Option<Value>,
        }
        let wire: Wire = serde_json::from_slice(body).map_err(not_an_object)?;
        let is_user_upsert = matches!(
            &wire.event_type,
            Some(Value::String(t)) if t == "user.created" || t == "user.updated"
        );
        let (data, data_text) = match wire.data {
            None => (None, None),
            Some(raw) if is_user_upsert => {
                let text = raw.get();
                let mut de = serde_json::Deserializer::from_str(text);
                let keep = Keep {
                    keys: USER_KEYS,
                    lists: USER_LISTS,
                };
                let kept = match keep.deserialize(&mut de) {
                    Ok(kept) => kept,
                    // Not an object: `data` is checked below like any other.
                    Err(e) if e.classify() == serde_json::error::Category::Data => None,
                    Err(e) => return Err(EnvelopeError::NotJson(e)),
                };
                match kept {
                    Some(map) => (Some(Value::Object(map)), Some(text.to_owned())),
                    None => (
                        Some(serde_json::from_str(text).map_err(EnvelopeError::NotJson)?),
                        None,
                    ),
                }
            }
            Some(raw) => (
                Some(serde_json::from_str(raw.get()).map_err(EnvelopeError::NotJson)?),
                None,
            ),
        };
        Self::assemble(body, wire.event_type, data, wire.timestamp, data_text)
    }

    /// The envelope from its three read fields, or why they are not one: what both
    /// parses share once they have read the fields.
    fn assemble(
        body: &[u8],
        event_type: Option<Value>,
        data: Option<Value>,
        timestamp: Option<Value>,
        data_text: Option<String>,
    ) -> Result<Self, EnvelopeError> {
        let Some(Value::String(event_type)) = event_type else {
            return Err(EnvelopeError::NotAnEvent("no string `type`".into()));
        };
        let Some(Value::Object(data)) = data else {
            return Err(EnvelopeError::NotAnEvent("no object `data`".into()));
        };
        let timestamp_ms = match timestamp {
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
            data_text,
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

/// A body that does not parse as a whole: not JSON, or JSON but not an object.
fn not_an_object(e: serde_json::Error) -> EnvelopeError {
    match e.classify() {
        serde_json::error::Category::Data => {
            EnvelopeError::NotAnEvent("the body is not a JSON object".into())
        }
        _ => EnvelopeError::NotJson(e),
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

/// The earliest instant Postgres `timestamptz` holds: 4713 BC, November 24, 00:00
/// UTC (`to_timestamp(-210866803200)`; one second earlier is "timestamp out of
/// range"). The latest, 294276 AD, is beyond what chrono represents.
pub const POSTGRES_MIN_MILLIS: i64 = -210_866_803_200_000;

/// The instant `ms` milliseconds after the epoch, if Postgres `timestamptz` can
/// hold it (a value before 4713 BC would pass chrono and fail the transaction).
pub fn datetime_from_millis(ms: i64) -> Option<DateTime<Utc>> {
    if ms < POSTGRES_MIN_MILLIS {
        return None;
    }
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_written_with_escapes_are_read_as_their_text() {
        // `\u0069d` is `id`, `first\u005fname` is `first_name`: both readers borrow
        // plain keys from the body and must still decode escaped ones.
        let body = br#"{"type":"user.updated","data":{"\u0069d":"user_e","first\u005fname":"Ada","x\n":1}}"#;
        assert_eq!(
            route(body).expect("an envelope").object_id.as_deref(),
            Some("user_e")
        );
        let envelope = Envelope::parse_for_apply(body).expect("an envelope");
        assert_eq!(envelope.data.get("id"), Some(&json!("user_e")));
        assert_eq!(envelope.data.get("first_name"), Some(&json!("Ada")));
        assert_eq!(
            envelope.data.len(),
            2,
            "only the kept keys: {:?}",
            envelope.data
        );
    }

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
        assert!(datetime_from_millis(POSTGRES_MIN_MILLIS).is_some());
        assert_eq!(datetime_from_millis(POSTGRES_MIN_MILLIS - 1), None);
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

    /// What a parse says, in a comparable form.
    fn verdict(r: &Result<Envelope, EnvelopeError>) -> String {
        match r {
            Ok(e) => format!(
                "ok {} {:?} {:?}",
                e.event_type,
                e.object_id(),
                e.timestamp_ms
            ),
            Err(EnvelopeError::NotJson(_)) => "not json".into(),
            Err(EnvelopeError::NotAnEvent(m)) => format!("not an event: {m}"),
        }
    }

    /// `v` as [`Envelope::parse_for_apply`] keeps it under key `k`.
    fn reduced(k: &str, v: &Value) -> Value {
        let Some((_, sub)) = USER_LISTS.iter().find(|(key, _)| *key == k) else {
            return v.clone();
        };
        let Value::Array(items) = v else {
            return Value::Null;
        };
        Value::Array(
            items
                .iter()
                .map(|item| match item {
                    Value::Object(m) => Value::Object(
                        m.iter()
                            .filter(|(k, _)| sub.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    _ => Value::Null,
                })
                .collect(),
        )
    }

    #[test]
    fn parse_for_apply_reads_every_example_as_parse_does() {
        for (event_type, body) in crate::examples::EXAMPLES {
            let whole = Envelope::parse(body.as_bytes()).expect("example parses");
            let fast = Envelope::parse_for_apply(body.as_bytes()).expect("example parses");
            assert_eq!(fast.event_type, whole.event_type);
            assert_eq!(fast.timestamp_ms, whole.timestamp_ms);
            assert_eq!(fast.object_id(), whole.object_id());
            assert_eq!(fast.body, whole.body);
            match &fast.data_text {
                Some(text) => {
                    assert!(matches!(*event_type, "user.created" | "user.updated"));
                    // The text is all of `data`; the map, the keys a user upsert reads.
                    let all: Map<String, Value> = serde_json::from_str(text).expect("json");
                    assert_eq!(all, whole.data, "{event_type}");
                    let kept: Map<String, Value> = whole
                        .data
                        .iter()
                        .filter(|(k, _)| USER_KEYS.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), reduced(k, v)))
                        .collect();
                    assert_eq!(fast.data, kept, "{event_type}");
                }
                None => {
                    assert!(!matches!(*event_type, "user.created" | "user.updated"));
                    assert_eq!(fast.data, whole.data, "{event_type}");
                }
            }
        }
    }

    #[test]
    fn parse_for_apply_refuses_what_parse_refuses_wherever_it_is_in_data() {
        let mut bodies = vec![
            "[1]".to_owned(),
            "{nope".to_owned(),
            r#"{"type":"user.created","data":[]}"#.to_owned(),
            r#"{"type":"user.created","data":7}"#.to_owned(),
            r#"{"type":"user.created","data":{"id":"u"}"#.to_owned(),
            r#"{"type":"user.updated"}"#.to_owned(),
            r#"{"type":1,"data":{"id":"u"}}"#.to_owned(),
            r#"{"type":"user.created","data":{"id":"u"},"timestamp":"soon"}"#.to_owned(),
        ];
        for bad in [r#""\ud800""#, "1e999999", r#""\uDC00x""#, "-1e400"] {
            for ty in [
                "user.created",
                "user.updated",
                "user.deleted",
                "organization.created",
            ] {
                // In a key the worker reads, in one it skips, deep inside one, in a
                // key name, and outside `data` (skipped: never stored as a value).
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","first_name":{bad}}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","unsafe_metadata":{bad}}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","x":[1,{{"y":[{bad}]}}]}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","email_addresses":[{{"id":{bad}}}]}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","email_addresses":[{{"id":"e","verification":{{"x":[{bad}]}}}}]}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","email_addresses":[1,"a",null,{{"id":"e"}},[{bad}]]}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","email_addresses":{{"a":{bad}}}}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u","x\ud800":1}}}}"#
                ));
                bodies.push(format!(
                    r#"{{"type":"{ty}","data":{{"id":"u"}},"extra":{bad}}}"#
                ));
            }
        }
        for body in &bodies {
            assert_eq!(
                verdict(&Envelope::parse_for_apply(body.as_bytes())),
                verdict(&Envelope::parse(body.as_bytes())),
                "{body}"
            );
        }
        // And the bad values inside `data` are refused at all.
        let deep = r#"{"type":"user.created","data":{"id":"u","x":[{"y":["\ud800"]}]}}"#;
        assert!(Envelope::parse_for_apply(deep.as_bytes()).is_err());
        let big = r#"{"type":"user.created","data":{"id":"u","x":{"y":1e999999}}}"#;
        assert!(Envelope::parse_for_apply(big.as_bytes()).is_err());
    }
}
