//! The registry of what deleted users were known by (`erased_identifiers`).
//!
//! A `user.deleted` names only the user's id, and Svix does not keep order: an
//! invitation or a waitlist entry sent to the user's address, or a stale
//! `user.updated` that tells their addresses, may arrive after the delete. So when a
//! user is deleted, every email address and phone number they are known by is
//! recorded here, as a digest only (sha256 of the normalised value: an email
//! trimmed and lower-cased, a phone number as Clerk gives it, trimmed), with the
//! user's id and the delete's time. A row or a payload that arrives later and names
//! one of those identifiers, about something that happened before the delete, is
//! erased as it lands; one that happened after the delete (an invitation created
//! later) is new data and stays.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::{
    pg::PgConnection,
    prelude::*,
    sql_query,
    sql_types::{Array, Bytea, Text, Timestamptz},
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What kind of identifier a digest is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentifierKind {
    Email,
    Phone,
}

impl IdentifierKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }
}

/// An email address or phone number, as its digest: never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identifier {
    pub kind: IdentifierKind,
    pub digest: Vec<u8>,
}

impl Identifier {
    /// An email address, trimmed and lower-cased; `None` when empty.
    pub fn email(value: &str) -> Option<Self> {
        let normal = value.trim().to_lowercase();
        (!normal.is_empty()).then(|| Self {
            kind: IdentifierKind::Email,
            digest: Sha256::digest(normal.as_bytes()).to_vec(),
        })
    }

    /// A phone number as Clerk gives it, trimmed; `None` when empty.
    pub fn phone(value: &str) -> Option<Self> {
        let normal = value.trim();
        (!normal.is_empty()).then(|| Self {
            kind: IdentifierKind::Phone,
            digest: Sha256::digest(normal.as_bytes()).to_vec(),
        })
    }

    /// The advisory-lock key of the identifier (see `apply::locks`): the writer of
    /// an invitation or waitlist entry and the erasure of its address take it.
    pub fn lock_key(&self) -> String {
        let hex: String = self.digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("identifier:{}:{hex}", self.kind.as_str())
    }
}

/// What a deleted user was known by, in plain text, while it is in hand (read from
/// the stored row before the tombstone clears it, or from an event that arrived
/// after the delete). Never stored, never logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownBy {
    /// Trimmed and lower-cased.
    pub emails: BTreeSet<String>,
    pub phones: BTreeSet<String>,
}

impl KnownBy {
    pub fn add_email(&mut self, value: &str) {
        let v = value.trim().to_lowercase();
        if !v.is_empty() {
            self.emails.insert(v);
        }
    }

    pub fn add_phone(&mut self, value: &str) {
        let v = value.trim();
        if !v.is_empty() {
            self.phones.insert(v.to_owned());
        }
    }

    /// A membership's `public_user_data.identifier`: an email address or a phone
    /// number (a username is neither, and is left out).
    pub fn add_identifier(&mut self, value: &str) {
        if value.contains('@') {
            self.add_email(value);
        } else if value.trim().starts_with('+') {
            self.add_phone(value);
        }
    }

    /// The addresses and numbers of a Clerk user object: `email_addresses[]` and
    /// `phone_numbers[]`.
    pub fn add_user_object(&mut self, data: &Value) {
        for a in data["email_addresses"].as_array().into_iter().flatten() {
            if let Some(e) = a["email_address"].as_str() {
                self.add_email(e);
            }
        }
        for p in data["phone_numbers"].as_array().into_iter().flatten() {
            if let Some(n) = p["phone_number"].as_str() {
                self.add_phone(n);
            }
        }
    }

    pub fn extend(&mut self, other: KnownBy) {
        self.emails.extend(other.emails);
        self.phones.extend(other.phones);
    }

    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.phones.is_empty()
    }

    /// Their digests, sorted.
    pub fn identifiers(&self) -> Vec<Identifier> {
        let mut ids: Vec<Identifier> = self
            .emails
            .iter()
            .filter_map(|e| Identifier::email(e))
            .chain(self.phones.iter().filter_map(|p| Identifier::phone(p)))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The digests of every email address and phone number in `value`, at any depth:
/// any string that holds an `@` is taken for an email address, the strings of
/// `phone_number` fields and `identifier` strings starting with `+` for phone
/// numbers. For stored payloads, so that erasing a user finds those that name them
/// by address only. Sorted, without repeats.
pub fn digests_in(value: &Value) -> Vec<Vec<u8>> {
    fn walk(value: &Value, key: Option<&str>, out: &mut BTreeSet<Vec<u8>>) {
        match value {
            Value::String(s) if s.contains('@') && !s.contains(char::is_whitespace) => {
                out.extend(Identifier::email(s).map(|i| i.digest));
            }
            Value::String(s)
                if key == Some("phone_number")
                    || (key == Some("identifier") && s.trim().starts_with('+')) =>
            {
                out.extend(Identifier::phone(s).map(|i| i.digest));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, key, out)),
            Value::Object(fields) => fields.iter().for_each(|(k, v)| walk(v, Some(k), out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, None, &mut out);
    out.into_iter().collect()
}

/// A deleted user an identifier belongs to, and since when.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Erased {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Bytea)]
    pub digest: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Timestamptz)]
    pub erased_at: DateTime<Utc>,
}

/// Whether `identifier` belongs to an erased user, and to whom since when.
pub fn is_erased_identifier(
    conn: &mut PgConnection,
    identifier: &Identifier,
) -> QueryResult<Option<Erased>> {
    Ok(erased_identifiers(conn, std::slice::from_ref(identifier))?
        .into_iter()
        .next())
}

/// [`is_erased_identifier`] for several: the registry rows of those that are.
pub fn erased_identifiers(
    conn: &mut PgConnection,
    identifiers: &[Identifier],
) -> QueryResult<Vec<Erased>> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<&str> = identifiers.iter().map(|i| i.kind.as_str()).collect();
    let digests: Vec<&[u8]> = identifiers.iter().map(|i| i.digest.as_slice()).collect();
    sql_query(
        "SELECT e.kind, e.digest, e.user_id, e.erased_at FROM erased_identifiers e \
         JOIN unnest($1::text[], $2::bytea[]) AS q(kind, digest) \
           ON e.kind = q.kind AND e.digest = q.digest \
         ORDER BY e.kind, e.digest",
    )
    .bind::<Array<Text>, _>(kinds)
    .bind::<Array<Bytea>, _>(digests)
    .load(conn)
}

/// Records that `identifiers` belonged to `user_id`, erased at `erased_at`. An
/// identifier already recorded keeps the earlier time (Clerk never reuses a user
/// id, but an address may pass from one deleted user to another).
pub fn register(
    conn: &mut PgConnection,
    user_id: &str,
    erased_at: DateTime<Utc>,
    identifiers: &[Identifier],
) -> QueryResult<usize> {
    if identifiers.is_empty() {
        return Ok(0);
    }
    let kinds: Vec<&str> = identifiers.iter().map(|i| i.kind.as_str()).collect();
    let digests: Vec<&[u8]> = identifiers.iter().map(|i| i.digest.as_slice()).collect();
    sql_query(
        "INSERT INTO erased_identifiers AS e (kind, digest, user_id, erased_at) \
         SELECT q.kind, q.digest, $3, $4 FROM unnest($1::text[], $2::bytea[]) AS q(kind, digest) \
         ORDER BY 1, 2 \
         ON CONFLICT (kind, digest) DO UPDATE SET \
             user_id = CASE WHEN excluded.erased_at < e.erased_at THEN excluded.user_id \
                            ELSE e.user_id END, \
             erased_at = least(e.erased_at, excluded.erased_at)",
    )
    .bind::<Array<Text>, _>(kinds)
    .bind::<Array<Bytea>, _>(digests)
    .bind::<Text, _>(user_id)
    .bind::<Timestamptz, _>(erased_at)
    .execute(conn)
}

impl KnownBy {
    /// What a user change tells: its primary address and its user object's.
    pub fn of_user(user: &shared::models::NewUser) -> Self {
        let mut k = Self::default();
        if let Some(e) = &user.email {
            k.add_email(e);
        }
        match &user.data {
            Some(shared::models::JsonDoc::Value(data)) => k.add_user_object(data),
            Some(shared::models::JsonDoc::Text(text)) => {
                if let Ok(data) = serde_json::from_str::<Value>(text) {
                    k.add_user_object(&data);
                }
            }
            None => {}
        }
        k
    }
}

/// What a stored user row and their memberships know them by (the `email` column,
/// `data.email_addresses`, `data.phone_numbers`, and the memberships'
/// `public_user_data.identifier`). Read before the user's tombstone and erasure
/// clear them.
pub fn known_by_stored_user(conn: &mut PgConnection, user_id: &str) -> QueryResult<KnownBy> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        email: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
        data: Option<Value>,
    }
    let rows: Vec<Row> = sql_query(
        "SELECT email, data FROM users WHERE id = $1 \
         UNION ALL \
         SELECT data->'public_user_data'->>'identifier', NULL FROM organization_memberships \
         WHERE user_id = $1 AND data ? 'public_user_data'",
    )
    .bind::<Text, _>(user_id)
    .load(conn)?;
    let mut k = KnownBy::default();
    for row in rows {
        if let Some(e) = &row.email {
            k.add_identifier(e);
        }
        if let Some(d) = &row.data {
            k.add_user_object(d);
        }
    }
    Ok(k)
}

/// Erases what `user_id`, deleted at `erased_at`, was known by: records it in the
/// registry (so what arrives later is erased as it lands), and removes the
/// addresses from the invitations and waitlist entries made before `erased_at`
/// (column and `data`) and the stored payloads about those that name them. Takes
/// the identifiers' advisory locks first, so an invitation to one of them that is
/// being written meanwhile is either seen here or sees the registry.
pub fn erase_known(
    conn: &mut PgConnection,
    user_id: &str,
    erased_at: DateTime<Utc>,
    known: &KnownBy,
) -> QueryResult<()> {
    if known.is_empty() {
        return Ok(());
    }
    let identifiers = known.identifiers();
    let keys: Vec<String> = identifiers.iter().map(Identifier::lock_key).collect();
    super::store::lock_subjects(conn, &keys)?;
    register(conn, user_id, erased_at, &identifiers)?;
    super::families::store::erase_emails(conn, &known.emails, erased_at)?;
    let digests: Vec<Vec<u8>> = identifiers.into_iter().map(|i| i.digest).collect();
    super::store::drop_payloads_naming_digests(conn, &digests, erased_at)
}

/// Removes from `value`, at any depth, every field whose string is one of `emails`
/// (compared trimmed and lower-cased). Returns whether anything went.
pub fn scrub_emails(value: &mut Value, emails: &BTreeSet<String>) -> bool {
    match value {
        Value::Object(fields) => {
            let before = fields.len();
            fields.retain(|_, v| {
                !v.as_str()
                    .is_some_and(|s| emails.contains(&s.trim().to_lowercase()))
            });
            let mut changed = fields.len() != before;
            for v in fields.values_mut() {
                changed |= scrub_emails(v, emails);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| scrub_emails(v, emails) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_are_normalised_before_their_digest() {
        assert_eq!(
            Identifier::email(" Sam.Poe@Example.org "),
            Identifier::email("sam.poe@example.org")
        );
        assert_ne!(
            Identifier::email("sam.poe@example.org"),
            Identifier::email("sam.poe@example.com")
        );
        assert_eq!(Identifier::email("  "), None);
    }

    #[test]
    fn a_user_object_tells_its_addresses_and_numbers() {
        let mut k = KnownBy::default();
        k.add_user_object(&json!({
            "email_addresses": [{"email_address": "A@example.org"}, {"email_address": "b@example.org"}],
            "phone_numbers": [{"phone_number": "+15555550100"}]
        }));
        k.add_identifier("someone");
        assert_eq!(
            k.emails.iter().collect::<Vec<_>>(),
            ["a@example.org", "b@example.org"]
        );
        assert_eq!(k.phones.iter().collect::<Vec<_>>(), ["+15555550100"]);
        assert_eq!(k.identifiers().len(), 3);
    }

    #[test]
    fn payload_digests_find_addresses_at_any_depth() {
        let v = json!({"data": {"email_address": "A@example.org",
            "invitation": {"email_address": "c@example.org"},
            "phone_numbers": [{"phone_number": "+15555550100"}], "note": "a @ b"}});
        let d = digests_in(&v);
        assert_eq!(d.len(), 3);
        assert!(d.contains(&Identifier::email("a@example.org").expect("email").digest));
        assert!(d.contains(&Identifier::phone("+15555550100").expect("phone").digest));
    }

    #[test]
    fn scrubbing_removes_the_address_everywhere() {
        let mut v = json!({"email_address": "A@example.org", "status": "pending",
            "invitation": {"email_address": "a@example.org", "id": "inv_1"}});
        let emails = BTreeSet::from(["a@example.org".to_owned()]);
        assert!(scrub_emails(&mut v, &emails));
        assert_eq!(
            v,
            json!({"status": "pending", "invitation": {"id": "inv_1"}})
        );
    }
}
