//! Reading a delivery: what its headers say (`DeliveryInfo`), and its body decoded
//! into an event ready to apply; and the properties of the messages that carry a
//! failed one to a retry queue or the dead-letter queue, or a dead letter back.

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::{message::Delivery, types::FieldTable, BasicProperties};
use shared::{
    event::{Envelope, EnvelopeError},
    headers::{self, get_int, get_str, set_int, set_str},
    topology::Topology,
};

use crate::apply::{prepare, Permanent, Prepared};

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
) -> Result<Prepared, Undecodable> {
    let svix_id = info.svix_id.clone().ok_or(Undecodable::NoSvixId)?;
    let envelope = Envelope::parse(&delivery.data)?;
    info.event_type.clone_from(&envelope.event_type);
    if let Some(id) = envelope.object_id() {
        info.object_id = Some(id.to_owned());
    }
    let attempt = i32::try_from(info.failed_attempts.saturating_add(1)).unwrap_or(i32::MAX);
    Ok(prepare(&svix_id, envelope, info.received_at, attempt)?)
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The properties of a failed message on its way to a retry queue or the dead-letter
/// queue: the original ones, plus why and how often it failed.
pub(crate) fn failed_properties(
    original: &BasicProperties,
    info: &DeliveryInfo,
    failed_attempts: u32,
    error: &str,
    dead: bool,
) -> BasicProperties {
    let mut table: FieldTable = original.headers().clone().unwrap_or_default();
    let now = now_rfc3339();
    set_int(&mut table, headers::ATTEMPTS, i64::from(failed_attempts));
    if get_str(Some(&table), headers::FIRST_FAILED_AT).is_none() {
        set_str(&mut table, headers::FIRST_FAILED_AT, &now);
    }
    set_str(&mut table, headers::LAST_FAILED_AT, &now);
    set_str(&mut table, headers::ERROR, &truncate(error, 2000));
    set_str(&mut table, headers::EVENT_TYPE, &info.event_type);
    if let Some(id) = &info.object_id {
        set_str(&mut table, headers::OBJECT_ID, id);
    }
    if dead {
        set_str(&mut table, headers::DEAD_AT, &now);
    }
    original.clone().with_headers(table).with_delivery_mode(2)
}

/// The properties of a dead letter sent back for another try: the failure headers
/// are removed, so it gets a fresh attempt budget.
pub(crate) fn replay_properties(original: &BasicProperties) -> BasicProperties {
    let mut map = original
        .headers()
        .as_ref()
        .map(|t| t.inner().clone())
        .unwrap_or_default();
    for key in [
        headers::ATTEMPTS,
        headers::FIRST_FAILED_AT,
        headers::LAST_FAILED_AT,
        headers::ERROR,
        headers::DEAD_AT,
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    ] {
        map.remove(key);
    }
    original
        .clone()
        .with_headers(FieldTable::from(map))
        .with_delivery_mode(2)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
