//! Example Clerk events (the payloads Clerk documents, with made-up values), for
//! `receiver send` and for tests.

use serde_json::Value;

/// The event types clerk-sync applies, with their example payloads.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "user.created",
        include_str!("../fixtures/clerk/user.created.json"),
    ),
    (
        "user.updated",
        include_str!("../fixtures/clerk/user.updated.json"),
    ),
    (
        "user.deleted",
        include_str!("../fixtures/clerk/user.deleted.json"),
    ),
    (
        "organization.created",
        include_str!("../fixtures/clerk/organization.created.json"),
    ),
    (
        "organization.updated",
        include_str!("../fixtures/clerk/organization.updated.json"),
    ),
    (
        "organization.deleted",
        include_str!("../fixtures/clerk/organization.deleted.json"),
    ),
    (
        "organizationMembership.created",
        include_str!("../fixtures/clerk/organizationMembership.created.json"),
    ),
    (
        "organizationMembership.updated",
        include_str!("../fixtures/clerk/organizationMembership.updated.json"),
    ),
    (
        "organizationMembership.deleted",
        include_str!("../fixtures/clerk/organizationMembership.deleted.json"),
    ),
    (
        "session.created",
        include_str!("../fixtures/clerk/session.created.json"),
    ),
];

/// The example payload of `event_type`, as Clerk documents it.
pub fn fixture(event_type: &str) -> Option<Value> {
    EXAMPLES
        .iter()
        .find(|(t, _)| *t == event_type)
        .and_then(|(_, body)| serde_json::from_str(body).ok())
}

/// The example of `event_type` with `data.id` set to `id` and its timestamps
/// (`timestamp`, `data.created_at`, `data.updated_at`) set to `now_ms`.
pub fn event(event_type: &str, id: &str, now_ms: i64) -> Option<Value> {
    let mut event = fixture(event_type)?;
    event["timestamp"] = now_ms.into();
    let data = event.get_mut("data")?.as_object_mut()?;
    data.insert("id".into(), id.into());
    for key in ["created_at", "updated_at"] {
        if data.contains_key(key) {
            data.insert(key.into(), now_ms.into());
        }
    }
    Some(event)
}

/// A fresh id in Clerk's style for the object `event_type` is about.
pub fn fresh_id(event_type: &str, unique: &str) -> String {
    let prefix = match event_type.split('.').next().unwrap_or_default() {
        "user" => "user",
        "organization" => "org",
        "organizationMembership" => "orgmem",
        "session" => "sess",
        _ => "obj",
    };
    format!("{prefix}_{unique}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_an_envelope_of_its_type() {
        for (event_type, body) in EXAMPLES {
            let route = crate::event::route(body.as_bytes()).expect("example is an envelope");
            assert_eq!(&route.event_type, event_type);
        }
    }

    #[test]
    fn events_get_fresh_ids_and_times() {
        let e = event("user.updated", "user_abc", 1_800_000_000_000).expect("known type");
        assert_eq!(e["data"]["id"], "user_abc");
        assert_eq!(e["data"]["updated_at"], 1_800_000_000_000_i64);
        assert_eq!(e["timestamp"], 1_800_000_000_000_i64);
        assert!(event("nope.nope", "x", 0).is_none());
    }
}
