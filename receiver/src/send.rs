//! `receiver send TYPE --to URL`: signs an example event with the first configured
//! secret and posts it, as Clerk would. For trying clerk-sync without Clerk.

use anyhow::{bail, Context};
use shared::examples;

use crate::signature::Secrets;

pub struct SendArgs {
    pub event_type: String,
    pub to: String,
    /// The object id to use; a fresh one when `None`.
    pub id: Option<String>,
}

/// What the receiver answered.
pub struct Sent {
    pub svix_id: String,
    pub object_id: String,
    pub status: u16,
    pub body: String,
}

/// Builds, signs and posts the event. Errors only when nothing could be sent.
pub async fn send(secrets: &Secrets, args: &SendArgs) -> anyhow::Result<Sent> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let object_id = args
        .id
        .clone()
        .unwrap_or_else(|| examples::fresh_id(&args.event_type, &unique[..24]));
    let now = chrono::Utc::now();
    let Some(event) = examples::event(&args.event_type, &object_id, now.timestamp_millis()) else {
        let known = examples::known_types();
        bail!(
            "no example for event type {:?}; known types: {}",
            args.event_type,
            known.join(", ")
        );
    };
    let body = serde_json::to_vec(&event)?;
    let svix_id = format!("msg_{unique}");
    let timestamp = now.timestamp();
    let signature = secrets
        .sign(&svix_id, timestamp, &body)
        .map_err(anyhow::Error::msg)?;
    let response = reqwest::Client::new()
        .post(&args.to)
        .header("content-type", "application/json")
        .header("svix-id", &svix_id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("could not post to {}: is the receiver running?", args.to))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Ok(Sent {
        svix_id,
        object_id,
        status,
        body,
    })
}
