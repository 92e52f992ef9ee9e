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
        "organizationInvitation.created",
        include_str!("../fixtures/clerk/organizationInvitation.created.json"),
    ),
    (
        "organizationDomain.created",
        include_str!("../fixtures/clerk/organizationDomain.created.json"),
    ),
    (
        "organizationDomain.deleted",
        include_str!("../fixtures/clerk/organizationDomain.deleted.json"),
    ),
    (
        "role.created",
        include_str!("../fixtures/clerk/role.created.json"),
    ),
    (
        "role.deleted",
        include_str!("../fixtures/clerk/role.deleted.json"),
    ),
    (
        "permission.created",
        include_str!("../fixtures/clerk/permission.created.json"),
    ),
    (
        "permission.deleted",
        include_str!("../fixtures/clerk/permission.deleted.json"),
    ),
    (
        "waitlistEntry.created",
        include_str!("../fixtures/clerk/waitlistEntry.created.json"),
    ),
    (
        "subscription.created",
        include_str!("../fixtures/clerk/subscription.created.json"),
    ),
    (
        "subscriptionItem.active",
        include_str!("../fixtures/clerk/subscriptionItem.active.json"),
    ),
    (
        "paymentAttempt.created",
        include_str!("../fixtures/clerk/paymentAttempt.created.json"),
    ),
    (
        "session.created",
        include_str!("../fixtures/clerk/session.created.json"),
    ),
];

/// The other event types of the families above, Clerk's status events: each is its
/// family's example with the type (and `data.status`, when given) changed.
pub const STATUS_EVENTS: &[(&str, &str, Option<&str>)] = &[
    (
        "organizationInvitation.accepted",
        "organizationInvitation.created",
        Some("accepted"),
    ),
    (
        "organizationInvitation.revoked",
        "organizationInvitation.created",
        Some("revoked"),
    ),
    (
        "organizationDomain.updated",
        "organizationDomain.created",
        None,
    ),
    ("role.updated", "role.created", None),
    ("permission.updated", "permission.created", None),
    (
        "waitlistEntry.updated",
        "waitlistEntry.created",
        Some("invited"),
    ),
    ("subscription.updated", "subscription.created", None),
    (
        "subscription.active",
        "subscription.created",
        Some("active"),
    ),
    (
        "subscription.pastDue",
        "subscription.created",
        Some("past_due"),
    ),
    (
        "subscriptionItem.created",
        "subscriptionItem.active",
        Some("upcoming"),
    ),
    ("subscriptionItem.updated", "subscriptionItem.active", None),
    (
        "subscriptionItem.pastDue",
        "subscriptionItem.active",
        Some("past_due"),
    ),
    (
        "subscriptionItem.canceled",
        "subscriptionItem.active",
        Some("canceled"),
    ),
    (
        "subscriptionItem.ended",
        "subscriptionItem.active",
        Some("ended"),
    ),
    (
        "subscriptionItem.abandoned",
        "subscriptionItem.active",
        Some("abandoned"),
    ),
    (
        "subscriptionItem.incomplete",
        "subscriptionItem.active",
        Some("incomplete"),
    ),
    (
        "subscriptionItem.upcoming",
        "subscriptionItem.active",
        Some("upcoming"),
    ),
    (
        "subscriptionItem.freeTrialEnding",
        "subscriptionItem.active",
        None,
    ),
    (
        "paymentAttempt.updated",
        "paymentAttempt.created",
        Some("paid"),
    ),
];

/// Every event type with an example: [`EXAMPLES`] and [`STATUS_EVENTS`].
pub fn known_types() -> Vec<&'static str> {
    EXAMPLES
        .iter()
        .map(|(t, _)| *t)
        .chain(STATUS_EVENTS.iter().map(|(t, _, _)| *t))
        .collect()
}

/// The example payload of `event_type`, as Clerk documents it.
pub fn fixture(event_type: &str) -> Option<Value> {
    if let Some((_, base, status)) = STATUS_EVENTS.iter().find(|(t, _, _)| *t == event_type) {
        let mut event = fixture(base)?;
        event["type"] = (*event_type).into();
        if let Some(status) = status {
            event["data"]["status"] = (*status).into();
        }
        return Some(event);
    }
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
        "organizationInvitation" => "orginv",
        "organizationDomain" => "orgdmn",
        "role" => "role",
        "permission" => "perm",
        "waitlistEntry" => "wle",
        "subscription" => "csub",
        "subscriptionItem" => "csubi",
        "paymentAttempt" => "cpayatt",
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
    fn status_events_are_their_family_example_with_another_type() {
        for t in known_types() {
            let e = fixture(t).expect("every known type has an example");
            assert_eq!(e["type"], t);
        }
        let e = fixture("subscriptionItem.pastDue").expect("known");
        assert_eq!(e["data"]["status"], "past_due");
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
