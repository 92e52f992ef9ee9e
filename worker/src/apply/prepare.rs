//! Turning a decoded event into the change it makes, before any database work.
//!
//! Everything that can make an event permanently unusable (no `data.id`, a missing
//! version, a wrong shape) is found here, so it is dead-lettered at once and never
//! costs a transaction.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use shared::{
    event::{datetime_from_millis, millis, Envelope},
    models::{JsonDoc, NewMembership, NewOrganization, NewUser},
};

use super::{
    families::{self, Family, ObjectChange},
    jsonb,
    payload::{self, Payloads, StoredPayload},
};

/// An event that can never apply: retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

/// What an event does to the tables.
#[derive(Debug, Clone)]
pub enum Change {
    /// Upsert or tombstone (when `deleted_at` is set) a user.
    User(NewUser),
    Organization(NewOrganization),
    Membership(NewMembership),
    /// Invitations, domains, roles, permissions, waitlist entries, billing.
    Object(ObjectChange),
    /// A type clerk-sync does not sync: recorded and acked.
    Ignore,
}

/// An event ready to apply: who sent it, and the change it makes.
#[derive(Debug, Clone)]
pub struct EventToApply {
    pub svix_id: String,
    pub event_type: String,
    pub object_id: Option<String>,
    /// The user whose object this event changes (a user, or a membership's member).
    pub subject_user_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// What `webhook_events.payload` keeps (see [`Payloads`]); `None` by default.
    pub payload: Option<StoredPayload>,
    pub change: Change,
}

impl EventToApply {
    /// Builds the change `envelope` makes. `received_at` orders deletes whose
    /// envelope has no timestamp; `payloads` says whether the body is kept.
    pub fn from_envelope(
        svix_id: &str,
        envelope: Envelope,
        received_at: Option<DateTime<Utc>>,
        attempt: i32,
        payloads: Payloads,
    ) -> Result<Self, Permanent> {
        from_envelope(svix_id, envelope, received_at, attempt, payloads)
    }
}

fn from_envelope(
    svix_id: &str,
    envelope: Envelope,
    received_at: Option<DateTime<Utc>>,
    attempt: i32,
    payloads: Payloads,
) -> Result<EventToApply, Permanent> {
    if has_nul_escape(&envelope.body) {
        return Err(Permanent(
            "the body holds a \\u0000 escape, which Postgres jsonb cannot store".into(),
        ));
    }
    let object_id = envelope.object_id().map(str::to_owned);
    let occurred_at = envelope.occurred_at();
    let payload = payload::stored(payloads, &envelope.event_type, &envelope.body);
    let Envelope {
        event_type,
        data,
        data_text,
        ..
    } = envelope;
    let delete_version = || occurred_at.or(received_at).unwrap_or_else(Utc::now);
    let handled = matches!(
        event_type.split_once('.').map(|(kind, _)| kind),
        Some("user" | "organization" | "organizationMembership")
    );
    if handled {
        id(&data)?;
    }
    let (change, subject_user_id) = match event_type.as_str() {
        "user.created" | "user.updated" => {
            if let Some(text) = &data_text {
                jsonb::check(text, "data").map_err(Permanent)?;
            }
            let at = version(&data)?;
            let user = user(data, data_text, at, None)?;
            let subject = Some(user.id.clone());
            (Change::User(user), subject)
        }
        "user.deleted" => {
            let at = delete_version();
            let user = user_tombstone(&id(&data)?, string(&data, "external_id"), at);
            let subject = Some(user.id.clone());
            (Change::User(user), subject)
        }
        "organization.created" | "organization.updated" => {
            let at = version(&data)?;
            (Change::Organization(organization(data, at, None)?), None)
        }
        "organization.deleted" => {
            let at = delete_version();
            (
                Change::Organization(organization_tombstone(
                    &id(&data)?,
                    string(&data, "slug"),
                    at,
                )),
                None,
            )
        }
        "organizationMembership.created" | "organizationMembership.updated" => {
            let at = version(&data)?;
            let m = membership(data, at, None)?;
            let subject = m.user_id.clone();
            (Change::Membership(m), subject)
        }
        "organizationMembership.deleted" => {
            let at = delete_version();
            let m = membership(data, at, Some(at))?;
            let subject = m.user_id.clone();
            (Change::Membership(m), subject)
        }
        other => match families::prepare(other, data, delete_version) {
            Some(prepared) => {
                let (change, subject) = prepared?;
                (Change::Object(change), subject)
            }
            None => (Change::Ignore, None),
        },
    };
    Ok(EventToApply {
        svix_id: svix_id.to_owned(),
        object_id,
        event_type,
        subject_user_id,
        occurred_at,
        received_at,
        attempt,
        payload,
        change,
    })
}

/// Whether JSON text holds the escape `\u0000` (a NUL character), which `jsonb`
/// rejects. A backslash that is itself escaped (`\\u0000`) does not count.
fn has_nul_escape(json: &[u8]) -> bool {
    // Backslashes in a row just before the current one; memchr jumps from one
    // backslash to the next (most bodies have none: this was a byte-by-byte loop
    // over every body).
    let mut run = 0usize;
    let mut previous = None;
    for i in memchr::memchr_iter(b'\\', json) {
        if previous != i.checked_sub(1) {
            run = 0;
        }
        previous = Some(i);
        let escapes = run.is_multiple_of(2);
        if escapes
            && json
                .get(i + 1..i + 6)
                .is_some_and(|r| r.eq_ignore_ascii_case(b"u0000"))
        {
            return true;
        }
        run += 1;
    }
    false
}

/// The kinds of Clerk object clerk-sync keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    User,
    Organization,
    Membership,
    /// One of the other families (invitations, domains, …).
    Object(Family),
}

impl ObjectKind {
    /// The table its rows live in.
    pub fn table(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Organization => "organizations",
            Self::Membership => "organization_memberships",
            Self::Object(family) => family.table(),
        }
    }

    /// Its name in summaries, logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Organization => "organizations",
            Self::Membership => "memberships",
            Self::Object(family) => family.table(),
        }
    }
}

/// The change a Clerk object as read from the Backend API makes (an upsert at its
/// `updated_at`), and the user it holds personal data about.
pub fn object_change(
    kind: ObjectKind,
    data: &Map<String, Value>,
) -> Result<(Change, Option<String>), Permanent> {
    id(data)?;
    let at = version(data)?;
    let data = data.clone();
    Ok(match kind {
        ObjectKind::User => {
            let u = user(data, None, at, None)?;
            let subject = Some(u.id.clone());
            (Change::User(u), subject)
        }
        ObjectKind::Organization => (Change::Organization(organization(data, at, None)?), None),
        ObjectKind::Membership => {
            let m = membership(data, at, None)?;
            let subject = m.user_id.clone();
            (Change::Membership(m), subject)
        }
        ObjectKind::Object(family) => {
            let (change, subject) = families::object_change(family, &data)?;
            (Change::Object(change), subject)
        }
    })
}

pub(super) fn id(data: &Map<String, Value>) -> Result<String, Permanent> {
    data.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Permanent("data.id is missing or not a string".into()))
}

/// `data.updated_at`: the Clerk version of a created or updated object.
pub(super) fn version(data: &Map<String, Value>) -> Result<DateTime<Utc>, Permanent> {
    match data.get("updated_at").and_then(millis) {
        Some(ms) => datetime_from_millis(ms).ok_or_else(|| {
            Permanent(format!(
                "data.updated_at: {ms} ms is outside what Postgres timestamptz accepts (4713 BC to 294276 AD)"
            ))
        }),
        None => Err(Permanent(
            "data.updated_at is missing or not a timestamp: cannot order the event".into(),
        )),
    }
}

pub(super) fn string(data: &Map<String, Value>, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn object(data: &Map<String, Value>, key: &str) -> Option<Value> {
    data.get(key).filter(|v| v.is_object()).cloned()
}

pub(super) fn time(data: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    data.get(key)
        .and_then(millis)
        .and_then(datetime_from_millis)
}

/// The primary email address: the entry of `email_addresses` whose `id` is
/// `primary_email_address_id` (not necessarily the first).
pub fn primary_email(data: &Map<String, Value>) -> Option<String> {
    let primary = data.get("primary_email_address_id")?.as_str()?;
    data.get("email_addresses")?
        .as_array()?
        .iter()
        .find(|e| e.get("id").and_then(Value::as_str) == Some(primary))?
        .get("email_address")?
        .as_str()
        .map(str::to_owned)
}

/// The user `data` describes. `text`, when given, is all of `data` as received
/// (`data` may then hold only the keys read here: see
/// [`Envelope::parse_for_apply`]), and is what `users.data` stores.
fn user(
    data: Map<String, Value>,
    text: Option<String>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
) -> Result<NewUser, Permanent> {
    Ok(NewUser {
        id: id(&data)?,
        email: primary_email(&data),
        first_name: string(&data, "first_name"),
        last_name: string(&data, "last_name"),
        username: string(&data, "username"),
        image_url: string(&data, "image_url").or_else(|| string(&data, "profile_image_url")),
        external_id: string(&data, "external_id"),
        public_metadata: object(&data, "public_metadata"),
        clerk_created_at: time(&data, "created_at"),
        clerk_updated_at: updated_at,
        deleted_at,
        data: Some(match text {
            Some(text) => JsonDoc::Text(text),
            None => JsonDoc::Value(Value::Object(data)),
        }),
    })
}

/// The tombstone of a deleted user, whoever writes it (a `user.deleted` webhook,
/// or reconcile for a user Clerk no longer has): its id, the stub `{object: "user",
/// id, deleted: true}` as `data`, the `external_id` (the application's own id for
/// the user, so it can tell which of its users is gone), every other column
/// cleared. `external_id` is the delete's when it names one; when it does not
/// (Clerk's `user.deleted` usually does not) the stored row's is kept (see
/// `store::upsert_users`).
pub fn user_tombstone(id: &str, external_id: Option<String>, at: DateTime<Utc>) -> NewUser {
    NewUser {
        id: id.to_owned(),
        email: None,
        first_name: None,
        last_name: None,
        username: None,
        image_url: None,
        external_id,
        public_metadata: None,
        data: Some(JsonDoc::Value(deleted_stub("user", id))),
        clerk_created_at: None,
        clerk_updated_at: at,
        deleted_at: Some(at),
    }
}

/// The tombstone of a deleted organization, whoever writes it: as
/// [`user_tombstone`], keeping the `slug` (the delete's, else the stored one).
pub fn organization_tombstone(
    id: &str,
    slug: Option<String>,
    at: DateTime<Utc>,
) -> NewOrganization {
    NewOrganization {
        id: id.to_owned(),
        name: None,
        slug,
        image_url: None,
        created_by: None,
        public_metadata: None,
        data: Some(deleted_stub("organization", id)),
        clerk_created_at: None,
        clerk_updated_at: at,
        deleted_at: Some(at),
    }
}

/// `{object, id, deleted: true}`: what Clerk's delete events carry as `data`, and
/// what a tombstone keeps of it, whatever the event held.
pub fn deleted_stub(object: &str, id: &str) -> Value {
    serde_json::json!({ "object": object, "id": id, "deleted": true })
}

/// `{object, id, deleted}` of a deletion event, nothing else.
pub(super) fn stub(data: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for key in ["object", "id", "deleted"] {
        if let Some(v) = data.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

fn organization(
    data: Map<String, Value>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
) -> Result<NewOrganization, Permanent> {
    Ok(NewOrganization {
        id: id(&data)?,
        name: string(&data, "name"),
        slug: string(&data, "slug"),
        image_url: string(&data, "image_url"),
        created_by: string(&data, "created_by"),
        public_metadata: object(&data, "public_metadata"),
        clerk_created_at: time(&data, "created_at"),
        clerk_updated_at: updated_at,
        deleted_at,
        data: Some(Value::Object(data)),
    })
}

fn membership(
    data: Map<String, Value>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
) -> Result<NewMembership, Permanent> {
    let organization_id = data
        .get("organization")
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Permanent("data.organization.id is missing or not a string".into()))?;
    let user_id = data
        .get("public_user_data")
        .and_then(|u| u.get("user_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(NewMembership {
        id: id(&data)?,
        organization_id,
        user_id,
        role: string(&data, "role"),
        public_metadata: object(&data, "public_metadata"),
        clerk_created_at: time(&data, "created_at"),
        clerk_updated_at: updated_at,
        deleted_at,
        data: Some(Value::Object(data)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(body: &str) -> Envelope {
        Envelope::parse(body.as_bytes()).expect("envelope")
    }

    #[test]
    fn primary_email_is_found_by_id_not_position() {
        let e = envelope(shared::examples::EXAMPLES[0].1);
        assert_eq!(
            primary_email(&e.data).as_deref(),
            Some("john.doe@example.org")
        );
    }

    #[test]
    fn the_fast_parse_makes_the_same_user_with_data_as_received() {
        for (event_type, body) in shared::examples::EXAMPLES {
            if !matches!(*event_type, "user.created" | "user.updated") {
                continue;
            }
            let change =
                |e: Envelope| match EventToApply::from_envelope("m", e, None, 1, Payloads::Discard)
                    .expect("valid")
                    .change
                {
                    Change::User(u) => u,
                    other => panic!("not a user change: {other:?}"),
                };
            let whole = change(Envelope::parse(body.as_bytes()).expect("parses"));
            let fast = change(Envelope::parse_for_apply(body.as_bytes()).expect("parses"));
            assert!(
                fast.email.is_some(),
                "{event_type}: the example has a primary email"
            );
            assert!(matches!(fast.data, Some(JsonDoc::Text(_))), "{event_type}");
            let as_json = |u: &NewUser| -> Value {
                serde_json::from_str(&u.data.as_ref().expect("data").to_text()).expect("json")
            };
            assert_eq!(as_json(&fast), as_json(&whole), "{event_type}");
            let without_data = |u: NewUser| NewUser { data: None, ..u };
            assert_eq!(
                format!("{:?}", without_data(fast)),
                format!("{:?}", without_data(whole)),
                "{event_type}"
            );
        }
    }

    #[test]
    fn handled_types_need_an_id_and_a_version() {
        let no_id = envelope(r#"{"type":"user.created","data":{"updated_at":1}}"#);
        assert!(EventToApply::from_envelope("m", no_id, None, 1, Payloads::Discard).is_err());
        let no_version = envelope(r#"{"type":"user.updated","data":{"id":"user_1"}}"#);
        assert!(EventToApply::from_envelope("m", no_version, None, 1, Payloads::Discard).is_err());
        let no_org = envelope(
            r#"{"type":"organizationMembership.created","data":{"id":"m","updated_at":1}}"#,
        );
        assert!(EventToApply::from_envelope("m", no_org, None, 1, Payloads::Discard).is_err());
        let other = envelope(r#"{"type":"session.created","data":{}}"#);
        assert!(matches!(
            EventToApply::from_envelope("m", other, None, 1, Payloads::Discard)
                .expect("ignored")
                .change,
            Change::Ignore
        ));
    }

    #[test]
    fn a_nul_escape_is_permanent_but_an_escaped_backslash_is_not() {
        assert!(has_nul_escape(br#"{"a":"x\u0000y"}"#));
        assert!(!has_nul_escape(br#"{"a":"x\\u0000y"}"#));
        assert!(has_nul_escape(br#"{"a":"x\\\u0000y"}"#));
        let e = envelope(
            r#"{"type":"user.created","data":{"id":"u","updated_at":1,"first_name":"a\u0000"}}"#,
        );
        assert!(EventToApply::from_envelope("m", e, None, 1, Payloads::Discard).is_err());
    }

    #[test]
    fn values_jsonb_cannot_store_are_permanent_in_data_and_never_stored_elsewhere() {
        // Inside `data` (bound as jsonb): the body does not parse, so the event is
        // dead-lettered at once instead of failing every attempt.
        for bad in [r#""\ud800""#, "1e999999"] {
            let body = format!(
                r#"{{"type":"user.created","data":{{"id":"user_1","updated_at":1,"first_name":{bad}}}}}"#
            );
            assert!(Envelope::parse(body.as_bytes()).is_err(), "{body}");
        }
        // Elsewhere in the envelope: applied, and the payload is not stored.
        for bad in [r#""\ud800""#, "1e999999"] {
            let body = format!(
                r#"{{"type":"user.created","data":{{"id":"user_1","updated_at":1}},"extra":{bad}}}"#
            );
            let p = EventToApply::from_envelope("m", envelope(&body), None, 1, Payloads::Store)
                .expect("valid");
            assert!(p.payload.is_none(), "{body}");
            assert!(matches!(p.change, Change::User(_)));
        }
    }

    #[test]
    fn times_before_4713_bc_are_permanent_as_the_version_and_null_elsewhere() {
        let ancient = -300_000_000_000_000_i64;
        let e = envelope(&format!(
            r#"{{"type":"user.updated","data":{{"id":"user_1","updated_at":{ancient}}}}}"#
        ));
        let err =
            EventToApply::from_envelope("m", e, None, 1, Payloads::Discard).expect_err("permanent");
        assert!(err.0.starts_with("data.updated_at: "), "{err}");
        let e = envelope(&format!(
            r#"{{"type":"user.updated","timestamp":{ancient},"data":{{"id":"user_1","updated_at":1716883200000,"created_at":{ancient}}}}}"#
        ));
        let p = EventToApply::from_envelope("m", e, None, 1, Payloads::Discard).expect("valid");
        assert_eq!(p.occurred_at, None);
        let Change::User(u) = p.change else {
            panic!("not a user change")
        };
        assert_eq!(u.clerk_created_at, None);
    }

    #[test]
    fn user_deleted_is_a_tombstone_versioned_by_the_envelope() {
        let e = envelope(
            r#"{"type":"user.deleted","timestamp":1716883900000,"data":{"object":"user","id":"user_1","deleted":true}}"#,
        );
        let p = EventToApply::from_envelope("m", e, None, 1, Payloads::Discard).expect("valid");
        let Change::User(u) = p.change else {
            panic!("not a user change")
        };
        assert_eq!(u.deleted_at, datetime_from_millis(1_716_883_900_000));
        assert_eq!(
            u.clerk_updated_at,
            datetime_from_millis(1_716_883_900_000).expect("t")
        );
        assert!(u.email.is_none());
        assert_eq!(p.subject_user_id.as_deref(), Some("user_1"));
    }
}
