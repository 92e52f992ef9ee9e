//! Reading a delivery: what its properties and headers say (`DeliveryInfo`), and
//! its body decoded into an event ready to apply.

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use shared::{
    event::{Envelope, EnvelopeError},
    headers::{self, get_int, get_str},
    topology::Topology,
};

use crate::apply::{EventToApply, Payloads, Permanent};

/// Why a delivery cannot be decoded into an event. Permanent: the same message never
/// decodes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Undecodable {
    #[error("the message has no svix-id (AMQP message_id)")]
    NoSvixId,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Unusable(#[from] Permanent),
}

/// What we know of a delivery from its properties, even when its body does not parse.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryInfo {
    pub svix_id: Option<String>,
    pub event_type: String,
    pub object_id: Option<String>,
    /// Attempts that already failed.
    pub failed_attempts: u32,
    pub received_at: Option<DateTime<Utc>>,
}

impl DeliveryInfo {
    /// Reads the svix-id, type, object id, failed attempts and arrival time from the
    /// properties and headers.
    pub(crate) fn read(delivery: &Delivery, topology: &Topology) -> Self {
        let props = &delivery.properties;
        let hdrs = props.headers().as_ref();
        let svix_id = props
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .or_else(|| get_str(hdrs, headers::SVIX_ID))
            .filter(|s| !s.is_empty());
        let event_type = get_str(hdrs, headers::EVENT_TYPE).unwrap_or_else(|| {
            if delivery.exchange.as_str() == topology.exchange() {
                delivery.routing_key.as_str().to_owned()
            } else {
                "unknown".to_owned()
            }
        });
        Self {
            svix_id,
            event_type,
            object_id: get_str(hdrs, headers::OBJECT_ID),
            failed_attempts: get_int(hdrs, headers::ATTEMPTS)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            received_at: get_str(hdrs, headers::RECEIVED_AT)
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|d| d.with_timezone(&Utc)),
        }
    }
}

/// Parses the body into an event ready to apply, and completes `info` with the event
/// type and object id the body names.
pub(crate) fn decode(
    delivery: &Delivery,
    info: &mut DeliveryInfo,
    payloads: Payloads,
) -> Result<EventToApply, Undecodable> {
    let svix_id = info.svix_id.clone().ok_or(Undecodable::NoSvixId)?;
    let envelope = Envelope::parse_for_apply(&delivery.data)?;
    info.event_type.clone_from(&envelope.event_type);
    if let Some(id) = envelope.object_id() {
        info.object_id = Some(id.to_owned());
    }
    let attempt = i32::try_from(info.failed_attempts.saturating_add(1)).unwrap_or(i32::MAX);
    Ok(EventToApply::from_envelope(
        &svix_id,
        envelope,
        info.received_at,
        attempt,
        payloads,
    )?)
}
