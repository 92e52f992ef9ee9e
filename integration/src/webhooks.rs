//! Building signed Clerk webhooks as Svix sends them.

use serde_json::Value;
use svix::webhooks::Webhook;

/// The secret test deployments use (Svix's documented test secret).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The three `svix-*` headers for `body`, signed with `secret` by the svix crate.
pub fn signed_headers(
    secret: &str,
    svix_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(String, String)> {
    let signature = Webhook::new(secret)
        .expect("valid secret")
        .sign(svix_id, timestamp, body)
        .expect("signable body");
    vec![
        ("svix-id".into(), svix_id.into()),
        ("svix-timestamp".into(), timestamp.to_string()),
        ("svix-signature".into(), signature),
    ]
}

/// An example event of `event_type` about object `id`, at version `version_ms`
/// (`data.updated_at` and the envelope `timestamp`).
pub fn event(event_type: &str, id: &str, version_ms: i64) -> Value {
    shared::examples::event(event_type, id, version_ms).expect("known example type")
}

/// A user event with given names and version.
pub fn user_event(event_type: &str, id: &str, version_ms: i64, first_name: &str) -> Value {
    let mut e = event(event_type, id, version_ms);
    if let Some(data) = e.get_mut("data").and_then(Value::as_object_mut) {
        if data.contains_key("first_name") {
            data.insert("first_name".into(), first_name.into());
        }
    }
    e
}

/// `event` decoded as the worker decodes a delivery with svix-id `svix_id`
/// (payloads discarded), for tests that apply batches straight to Postgres.
pub fn prepared(svix_id: &str, event: &Value) -> worker::apply::EventToApply {
    let body = serde_json::to_vec(event).expect("json");
    worker::apply::EventToApply::from_envelope(
        svix_id,
        shared::event::Envelope::parse(&body).expect("envelope"),
        None,
        1,
        worker::apply::Payloads::Discard,
    )
    .expect("prepared")
}

/// An `organizationMembership.created` example of membership `id` in organization
/// `organization_id`, at version `version_ms`.
pub fn membership_event(id: &str, organization_id: &str, version_ms: i64) -> Value {
    let mut e = event("organizationMembership.created", id, version_ms);
    e["data"]["organization"]["id"] = organization_id.into();
    e
}
