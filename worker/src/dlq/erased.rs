//! Copies of erased users' data in the broker: what a dead letter or a retry message
//! says about users who are deleted, and what becomes of it.
//!
//! Erasure (`apply::erasure`) clears Postgres. The events themselves also wait in
//! RabbitMQ: a dead letter until it is replayed or purged, a retry message until its
//! delay ends. A message is judged against Postgres (the tombstoned users, and the
//! registry of the addresses and phone numbers deleted users were known by):
//!
//! - [`Verdict::Drop`]: the message is a deleted user's own event (`user.*`, or
//!   `session.*`, `email.*`, `sms.*` of that user), or is not JSON and names one of
//!   them. Nothing in it can ever apply (a tombstone is terminal, so a user event
//!   after it changes nothing), so dropping it loses nothing.
//! - [`Verdict::Scrub`]: it is about something else (a membership, an invitation, a
//!   waitlist entry) and carries an erased user's data: the names and identifiers
//!   beside their user id, their addresses wherever they appear (unless the object
//!   was made after the erasure: then the address is new data). The scrubbed body
//!   still applies, as the apply path would erase the same fields as it lands.
//! - [`Verdict::Keep`]: it names no erased user's data (an erased user's id alone is
//!   not their data: an organization's `created_by` stays).
//!
//! The operator page shows judged messages only (masked), and `worker dlq
//! purge-erased` drops or rewrites them (see `purge`).

use std::{
    borrow::Cow,
    collections::{BTreeSet, HashMap, HashSet},
};

use chrono::{DateTime, TimeZone, Utc};
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_query,
    sql_types::{Array, Bytea, Text, Timestamptz},
};
use serde_json::Value;

use crate::apply::{
    erasure::{digests_in, Identifier},
    payload::{is_user_id, user_ids_in},
};

/// The fields of an object about a user that are that user's data: removed when the
/// user is erased (the user id itself stays, so the event still applies).
const PERSONAL_FIELDS: [&str; 17] = [
    "first_name",
    "last_name",
    "username",
    "image_url",
    "profile_image_url",
    "identifier",
    "email_address",
    "email_addresses",
    "phone_number",
    "phone_numbers",
    "web3_wallets",
    "external_accounts",
    "passkeys",
    "public_metadata",
    "private_metadata",
    "unsafe_metadata",
    "external_id",
];

/// Event families whose object belongs to one user, named by `data.user_id`.
const USER_OWNED: [&str; 3] = ["session.", "email.", "sms."];

/// What a message names that erasure may concern: small, so that a page of
/// letters keeps its own without their bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Clerk user ids, anywhere in the body or the reason.
    pub user_ids: Vec<String>,
    /// Digests of the email addresses and phone numbers it names.
    pub digests: Vec<Vec<u8>>,
    /// The deleted user whose own event this would be (`data.id` of a `user.*`).
    pub subject_user: Option<String>,
    /// When its object was made (`data.created_at`), if it says.
    pub made_at: Option<DateTime<Utc>>,
    /// Whether the body is a JSON object.
    pub is_json: bool,
}

impl Mentions {
    /// What the message of `event_type` with `body` (and its failure `reason`) names.
    pub fn of_message(event_type: &str, body: &[u8], reason: Option<&str>) -> Self {
        let mut m = match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => {
                let event_type = v["type"].as_str().unwrap_or(event_type);
                let data = &v["data"];
                let subject_user = if event_type.starts_with("user.") {
                    data["id"].as_str()
                } else if USER_OWNED.iter().any(|p| event_type.starts_with(p)) {
                    data["user_id"].as_str()
                } else {
                    None
                };
                Self {
                    user_ids: user_ids_in(&v),
                    digests: digests_in(&v),
                    subject_user: subject_user.filter(|id| is_user_id(id)).map(str::to_owned),
                    made_at: data["created_at"]
                        .as_i64()
                        .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
                    is_json: true,
                }
            }
            _ => Self::of_text(&String::from_utf8_lossy(body)),
        };
        if let Some(r) = reason {
            m.extend(Self::of_text(r));
        }
        m
    }

    /// What a text names: its words that are user ids, email addresses (a word with
    /// an `@`) or phone numbers (`+` and digits).
    pub fn of_text(text: &str) -> Self {
        let mut user_ids = BTreeSet::new();
        let mut digests = BTreeSet::new();
        for (start, end) in words(text) {
            let word = &text[start..end];
            if is_user_id(word) {
                user_ids.insert(word.to_owned());
            } else if let Some(i) = identifier_word(word) {
                digests.insert(i.digest);
            }
        }
        Self {
            user_ids: user_ids.into_iter().collect(),
            digests: digests.into_iter().collect(),
            ..Self::default()
        }
    }

    fn extend(&mut self, other: Self) {
        self.user_ids.extend(other.user_ids);
        self.user_ids.sort_unstable();
        self.user_ids.dedup();
        self.digests.extend(other.digests);
        self.digests.sort_unstable();
        self.digests.dedup();
    }
}

/// The erased users and identifiers among what some messages name.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Tombstoned users.
    pub users: HashSet<String>,
    /// Identifier digest → when its user was erased.
    pub identifiers: HashMap<Vec<u8>, DateTime<Utc>>,
}

impl Found {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.identifiers.is_empty()
    }

    /// Whether the identifier with `digest`, in an object made at `made_at`, is an
    /// erased user's (an object made after the erasure holds new data).
    fn is_erased(&self, digest: &[u8], made_at: Option<DateTime<Utc>>) -> bool {
        self.identifiers
            .get(digest)
            .is_some_and(|at| made_at.is_none_or(|m| m <= *at))
    }

    /// Whether anything `m` names is erased.
    pub fn concerns(&self, m: &Mentions) -> bool {
        m.user_ids.iter().any(|u| self.users.contains(u))
            || m.digests.iter().any(|d| self.is_erased(d, m.made_at))
    }
}

/// Looks up, in one round trip each, which of the users and identifiers `mentions`
/// name are erased.
pub fn lookup<'a>(
    conn: &mut PgConnection,
    mentions: impl IntoIterator<Item = &'a Mentions>,
) -> QueryResult<Found> {
    let mut user_ids = BTreeSet::new();
    let mut digests = BTreeSet::new();
    for m in mentions {
        user_ids.extend(m.user_ids.iter().map(String::as_str));
        digests.extend(m.digests.iter().map(Vec::as_slice));
    }
    let mut found = Found::default();
    if !user_ids.is_empty() {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            id: String,
        }
        let ids: Vec<&str> = user_ids.into_iter().collect();
        let rows: Vec<Row> =
            sql_query("SELECT id FROM users WHERE id = ANY($1) AND deleted_at IS NOT NULL")
                .bind::<Array<Text>, _>(ids)
                .load(conn)?;
        found.users = rows.into_iter().map(|r| r.id).collect();
    }
    if !digests.is_empty() {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Bytea)]
            digest: Vec<u8>,
            #[diesel(sql_type = Timestamptz)]
            erased_at: DateTime<Utc>,
        }
        let digests: Vec<&[u8]> = digests.into_iter().collect();
        let rows: Vec<Row> = sql_query(
            "SELECT digest, min(erased_at) AS erased_at FROM erased_identifiers \
             WHERE digest = ANY($1) GROUP BY digest",
        )
        .bind::<Array<Bytea>, _>(digests)
        .load(conn)?;
        found.identifiers = rows.into_iter().map(|r| (r.digest, r.erased_at)).collect();
    }
    Ok(found)
}

/// What becomes of a message (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// A deleted user's own event, or a body that is not JSON and names one.
    Drop {
        user_id: Option<String>,
    },
    /// The message without the erased users' data: its body, and its reason with
    /// their identifiers masked.
    Scrub {
        body: Vec<u8>,
        reason: Option<String>,
    },
}

/// Judges the message with `body` and failure `reason`, which names `m`, against
/// what was `found` erased.
pub fn judge(body: &[u8], reason: Option<&str>, m: &Mentions, found: &Found) -> Verdict {
    if !found.concerns(m) {
        return Verdict::Keep;
    }
    if let Some(user) = m.subject_user.as_ref().filter(|u| found.users.contains(*u)) {
        return Verdict::Drop {
            user_id: Some(user.clone()),
        };
    }
    if !m.is_json {
        return Verdict::Drop {
            user_id: m
                .user_ids
                .iter()
                .find(|u| found.users.contains(*u))
                .cloned(),
        };
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Verdict::Drop { user_id: None };
    };
    let body_changed = scrub(&mut value, None, found, m.made_at);
    let masked_reason = reason.map(|r| mask_text(r, found, m.made_at));
    let reason_changed = matches!(masked_reason, Some(Cow::Owned(_)));
    if !body_changed && !reason_changed {
        return Verdict::Keep;
    }
    Verdict::Scrub {
        body: if body_changed {
            serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec())
        } else {
            body.to_vec()
        },
        reason: masked_reason.map(Cow::into_owned),
    }
}

/// Removes the erased users' data from `value` (see the module's documentation).
/// Returns whether anything went.
fn scrub(
    value: &mut Value,
    key: Option<&str>,
    found: &Found,
    made_at: Option<DateTime<Utc>>,
) -> bool {
    match value {
        Value::Object(fields) => {
            let before = fields.len();
            let about_erased_user = ["user_id", "id"].iter().any(|k| {
                fields.get(*k).and_then(Value::as_str).is_some_and(|id| {
                    found.users.contains(id)
                        && (*k == "user_id" || fields.get("object") == Some(&"user".into()))
                })
            });
            if about_erased_user {
                for f in PERSONAL_FIELDS {
                    fields.remove(f);
                }
            }
            fields.retain(|k, v| !is_erased_string(v, Some(k), found, made_at));
            let mut changed = fields.len() != before;
            for (k, v) in fields.iter_mut() {
                changed |= scrub(v, Some(k), found, made_at);
            }
            changed
        }
        Value::Array(items) => {
            let before = items.len();
            items.retain(|v| !is_erased_string(v, key, found, made_at));
            let mut changed = items.len() != before;
            for v in items.iter_mut() {
                changed |= scrub(v, key, found, made_at);
            }
            changed
        }
        _ => false,
    }
}

/// Whether `v` is a string that is an erased identifier, read as `digests_in` reads
/// payloads (an email address anywhere; a phone number under `phone_number`, or an
/// `identifier` starting with `+`).
fn is_erased_string(
    v: &Value,
    key: Option<&str>,
    found: &Found,
    made_at: Option<DateTime<Utc>>,
) -> bool {
    let Some(s) = v.as_str() else {
        return false;
    };
    let identifier = if s.contains('@') && !s.contains(char::is_whitespace) {
        Identifier::email(s)
    } else if key == Some("phone_number")
        || (key == Some("identifier") && s.trim().starts_with('+'))
    {
        Identifier::phone(s)
    } else {
        None
    };
    identifier.is_some_and(|i| found.is_erased(&i.digest, made_at))
}

/// `text` with every word that is an erased identifier replaced by `[erased]`.
pub fn mask_text<'a>(text: &'a str, found: &Found, made_at: Option<DateTime<Utc>>) -> Cow<'a, str> {
    let erased: Vec<(usize, usize)> = words(text)
        .filter(|(s, e)| {
            identifier_word(&text[*s..*e]).is_some_and(|i| found.is_erased(&i.digest, made_at))
        })
        .collect();
    if erased.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in erased {
        out.push_str(&text[at..s]);
        out.push_str("[erased]");
        at = e;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// A word of free text read as an identifier: an email address (it holds an `@`)
/// or a phone number (`+` and at least six digits).
fn identifier_word(word: &str) -> Option<Identifier> {
    if word.contains('@') {
        Identifier::email(word)
    } else if word
        .strip_prefix('+')
        .is_some_and(|d| d.len() >= 6 && d.bytes().all(|b| b.is_ascii_digit()))
    {
        Identifier::phone(word)
    } else {
        None
    }
}

/// The byte spans of the words of `text`: split on white space, quotes and
/// punctuation that no address holds, trailing dots left out.
fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let is_break = |c: char| c.is_whitespace() || "\"'`,;:()<>[]{}=\\/|".contains(c);
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_break(c), start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans.into_iter().filter_map(move |(s, e)| {
        let word = text[s..e].trim_end_matches('.');
        (!word.is_empty()).then_some((s, s + word.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ANN: &str = "user_2ann";
    const AT: i64 = 1_716_883_200_000;

    fn found() -> Found {
        let erased_at = Utc.timestamp_millis_opt(AT).single().expect("time");
        Found {
            users: HashSet::from([ANN.to_owned()]),
            identifiers: HashMap::from([
                (
                    Identifier::email("ann@example.org").expect("email").digest,
                    erased_at,
                ),
                (
                    Identifier::phone("+15555550100").expect("phone").digest,
                    erased_at,
                ),
            ]),
        }
    }

    fn judged(event_type: &str, body: &Value, reason: Option<&str>) -> Verdict {
        let bytes = serde_json::to_vec(body).expect("json");
        let m = Mentions::of_message(event_type, &bytes, reason);
        judge(&bytes, reason, &m, &found())
    }

    fn scrubbed(v: Verdict) -> (Value, Option<String>) {
        match v {
            Verdict::Scrub { body, reason } => {
                (serde_json::from_slice(&body).expect("json"), reason)
            }
            other => panic!("not scrubbed: {other:?}"),
        }
    }

    #[test]
    fn an_erased_users_own_events_are_dropped() {
        let body = json!({"type": "user.updated", "data": {"id": ANN, "first_name": "Ann"}});
        assert_eq!(
            judged("user.updated", &body, None),
            Verdict::Drop {
                user_id: Some(ANN.into())
            }
        );
        let other = json!({"type": "user.updated", "data": {"id": "user_2bob", "first_name": "Bob",
            "email_addresses": [{"email_address": "bob@example.org"}]}});
        assert_eq!(judged("user.updated", &other, None), Verdict::Keep);
    }

    #[test]
    fn a_membership_keeps_its_user_id_and_loses_the_name_beside_it() {
        let body = json!({"type": "organizationMembership.created", "data": {
            "id": "orgmem_1", "organization": {"id": "org_1", "created_by": ANN},
            "public_user_data": {"user_id": ANN, "first_name": "Ann", "last_name": "Poe",
                "identifier": "ann@example.org", "image_url": "https://img.example/ann"}}});
        let (v, _) = scrubbed(judged("organizationMembership.created", &body, None));
        assert_eq!(v["data"]["public_user_data"], json!({"user_id": ANN}));
        assert_eq!(v["data"]["organization"]["created_by"], ANN);
    }

    #[test]
    fn an_invitation_loses_the_address_unless_made_after_the_erasure() {
        let before = json!({"type": "invitation.created", "data": {"id": "inv_1",
            "email_address": "Ann@Example.org", "created_at": AT - 1, "status": "pending"}});
        let (v, _) = scrubbed(judged("invitation.created", &before, None));
        assert_eq!(v["data"].get("email_address"), None);
        assert_eq!(v["data"]["status"], "pending");
        let after = json!({"type": "invitation.created", "data": {"id": "inv_2",
            "email_address": "ann@example.org", "created_at": AT + 1}});
        assert_eq!(judged("invitation.created", &after, None), Verdict::Keep);
    }

    #[test]
    fn reasons_lose_erased_addresses_and_numbers() {
        let body = json!({"type": "organization.updated", "data": {"id": "org_1"}});
        let reason = "refused: ann@example.org. (or +15555550100), not bob@example.org";
        let (_, r) = scrubbed(judged("organization.updated", &body, Some(reason)));
        assert_eq!(
            r.as_deref(),
            Some("refused: [erased]. (or [erased]), not bob@example.org")
        );
    }

    #[test]
    fn a_body_that_is_not_json_and_names_an_erased_user_is_dropped() {
        let body = b"garbage {email: ann@example.org";
        let m = Mentions::of_message("user.updated", body, None);
        assert!(matches!(
            judge(body, None, &m, &found()),
            Verdict::Drop { .. }
        ));
        let clean = b"garbage {email: bob@example.org";
        let m = Mentions::of_message("user.updated", clean, None);
        assert_eq!(judge(clean, None, &m, &found()), Verdict::Keep);
    }

    #[test]
    fn an_erased_users_id_alone_is_kept() {
        let body =
            json!({"type": "organization.updated", "data": {"id": "org_1", "created_by": ANN}});
        assert_eq!(judged("organization.updated", &body, None), Verdict::Keep);
    }
}
