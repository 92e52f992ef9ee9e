//! What `webhook_events.payload` keeps (DESIGN.md §5).
//!
//! Nothing, by default: event bodies are personal data. With `STORE_PAYLOADS=true`
//! the body is kept without `event_attributes` (the client's IP address and user
//! agent), never for `email.*`, `sms.*` (one-time codes, message bodies) or
//! `session.*`, together with every Clerk user id it names, so that erasing a
//! deleted user finds every payload about them wherever Clerk put the id
//! (`data.id`, `data.user_id`, `public_user_data.user_id`, `payer.user_id`,
//! `created_by`, …). Sign-in links with their tickets (an invitation's `url`, a
//! waitlist entry's `invitation.url`) are never kept: see `credentials`.

use serde_json::{Map, Value};

use super::credentials;

/// Whether event bodies are stored (`STORE_PAYLOADS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Payloads {
    /// `webhook_events.payload` stays NULL (the default).
    #[default]
    Discard,
    /// Bodies are stored, stripped as described above.
    Store,
}

impl Payloads {
    pub fn from_flag(store: bool) -> Self {
        if store {
            Self::Store
        } else {
            Self::Discard
        }
    }
}

/// A payload as stored, and the users it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPayload {
    /// JSON text of the envelope without `event_attributes`.
    pub json: Vec<u8>,
    /// Clerk user ids found anywhere in it, sorted, without repeats.
    pub user_ids: Vec<String>,
    /// The digests of the email addresses and phone numbers it names (see
    /// [`super::erasure::digests_in`]), so that erasure finds it by those too.
    pub digests: Vec<Vec<u8>>,
}

/// Event families whose payloads are never stored: email and sms events carry
/// one-time codes and message bodies, session events a user's devices and places.
const NEVER_STORED: [&str; 3] = ["email.", "sms.", "session."];

/// Users a stored payload may name at most. The transaction that stores a payload
/// holds an advisory lock for each user it names (so a concurrent `user.deleted`
/// cannot miss it, see `locks`); a body naming tens of thousands of users would take
/// that many locks and exhaust Postgres's lock table (53200) for every event beside
/// it. Such a payload is not stored: the event itself still applies, under the locks
/// of the subjects it writes.
pub const MAX_NAMED_USERS: usize = 100;

/// The top-level field with the request's metadata (client IP, user agent).
const EVENT_ATTRIBUTES: &str = "event_attributes";

/// What to store for an event of `event_type` whose body is `body`.
pub fn stored(policy: Payloads, event_type: &str, body: &[u8]) -> Option<StoredPayload> {
    if policy == Payloads::Discard || NEVER_STORED.iter().any(|p| event_type.starts_with(p)) {
        return None;
    }
    let mut envelope: Map<String, Value> = serde_json::from_slice(body).ok()?;
    envelope.remove(EVENT_ATTRIBUTES);
    let kind = event_type
        .split_once('.')
        .map_or(event_type, |(kind, _)| kind);
    if let Some(Value::Object(data)) = envelope.get_mut("data") {
        credentials::drop_links(kind, data);
    }
    // Once over the whole envelope, `data` included.
    credentials::drop_ticket_strings(&mut envelope);
    let mut user_ids = Vec::new();
    for value in envelope.values() {
        collect_user_ids(value, &mut user_ids);
    }
    user_ids.sort_unstable();
    user_ids.dedup();
    if user_ids.len() > MAX_NAMED_USERS {
        tracing::warn!(
            named_users = user_ids.len(),
            limit = MAX_NAMED_USERS,
            "payload not stored: it names more users than one event may lock"
        );
        return None;
    }
    let digests = envelope
        .get("data")
        .map(super::erasure::digests_in)
        .unwrap_or_default();
    let json = serde_json::to_vec(&envelope).ok()?;
    Some(StoredPayload {
        json,
        user_ids,
        digests,
    })
}

/// Whether `s` looks like a Clerk user id: `user_` and letters or digits.
pub(crate) fn is_user_id(s: &str) -> bool {
    s.strip_prefix("user_")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Every Clerk user id in `value`, at any depth, sorted, without repeats.
pub(crate) fn user_ids_in(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_user_ids(value, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

fn collect_user_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if is_user_id(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_user_ids(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| collect_user_ids(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{
        "type": "organizationMembership.created",
        "data": {
            "id": "orgmem_1",
            "organization": {"id": "org_1", "created_by": "user_creator1"},
            "public_user_data": {"user_id": "user_member1", "identifier": "a@example.org"},
            "payer": {"user_id": "user_payer1"},
            "note": "user_ is not an id, nor is user_a-b"
        },
        "event_attributes": {"http_request": {"client_ip": "203.0.113.9", "user_agent": "Mozilla"}},
        "timestamp": 1716883200000
    }"#;

    #[test]
    fn nothing_is_stored_by_default() {
        assert_eq!(
            stored(Payloads::default(), "user.created", BODY.as_bytes()),
            None
        );
    }

    #[test]
    fn stored_payloads_lose_event_attributes_and_name_every_user() {
        let p = stored(
            Payloads::Store,
            "organizationMembership.created",
            BODY.as_bytes(),
        )
        .expect("stored");
        let text = String::from_utf8(p.json).expect("utf8");
        assert!(!text.contains("event_attributes"), "{text}");
        assert!(!text.contains("203.0.113.9"), "{text}");
        assert!(text.contains("orgmem_1"), "{text}");
        assert_eq!(p.user_ids, ["user_creator1", "user_member1", "user_payer1"]);
    }

    #[test]
    fn an_invitation_payload_loses_its_accept_token() {
        let body = r#"{"type":"organizationInvitation.created","data":{"id":"orginv_1",
            "url":"https://example.org/accept?__clerk_ticket=tok_secret"}}"#;
        let p = stored(
            Payloads::Store,
            "organizationInvitation.created",
            body.as_bytes(),
        )
        .expect("stored");
        let text = String::from_utf8(p.json).expect("utf8");
        assert!(
            !text.contains("tok_secret") && text.contains("orginv_1"),
            "{text}"
        );
    }

    #[test]
    fn a_payload_naming_too_many_users_is_not_stored() {
        let ids = |n: usize| -> Vec<String> { (0..n).map(|i| format!("user_f{i}")).collect() };
        let body = |n| {
            serde_json::json!({"type": "user.updated", "data": {"id": "user_1", "friends": ids(n)}})
                .to_string()
        };
        let kept = stored(
            Payloads::Store,
            "user.updated",
            body(MAX_NAMED_USERS - 1).as_bytes(),
        )
        .expect("stored");
        assert_eq!(kept.user_ids.len(), MAX_NAMED_USERS);
        assert_eq!(
            stored(
                Payloads::Store,
                "user.updated",
                body(MAX_NAMED_USERS).as_bytes()
            ),
            None
        );
    }

    #[test]
    fn email_sms_and_session_payloads_are_never_stored() {
        for t in [
            "email.created",
            "sms.created",
            "session.created",
            "session.ended",
        ] {
            assert_eq!(stored(Payloads::Store, t, BODY.as_bytes()), None, "{t}");
        }
    }
}
