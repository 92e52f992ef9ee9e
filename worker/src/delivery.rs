//! Decoding a delivery into an event, and building the messages that carry a failed
//! one to a retry queue or to the dead-letter queue.

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::{message::Delivery, types::FieldTable, BasicProperties};
use shared::{
    amqp::{header_int, header_str, set_int, set_str},
    event::Envelope,
    topology::{headers, Topology},
};

use crate::apply::{prepare, Payloads, Permanent, Prepared};

/// What we know of a delivery, even when it does not parse.
#[derive(Debug, Clone)]
pub struct Meta {
    pub svix_id: Option<String>,
    pub event_type: String,
    pub object_id: Option<String>,
    /// Attempts that already failed.
    pub failed_attempts: u32,
    pub received_at: Option<DateTime<Utc>>,
}

pub fn meta(delivery: &Delivery, topology: &Topology) -> Meta {
    let props = &delivery.properties;
    let hdrs = props.headers().as_ref();
    let svix_id = props
        .message_id()
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .or_else(|| header_str(hdrs, headers::SVIX_ID))
        .filter(|s| !s.is_empty());
    let event_type = header_str(hdrs, headers::EVENT_TYPE).unwrap_or_else(|| {
        if delivery.exchange.as_str() == topology.exchange() {
            delivery.routing_key.as_str().to_owned()
        } else {
            "unknown".to_owned()
        }
    });
    Meta {
        svix_id,
        event_type,
        object_id: header_str(hdrs, headers::OBJECT_ID),
        failed_attempts: header_int(hdrs, headers::ATTEMPTS)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        received_at: header_str(hdrs, headers::RECEIVED_AT)
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&Utc)),
    }
}

/// Parses the body into an event ready to apply. Errors are permanent.
pub fn decode(
    delivery: &Delivery,
    meta: &mut Meta,
    payloads: Payloads,
) -> Result<Prepared, Permanent> {
    let svix_id = meta
        .svix_id
        .clone()
        .ok_or_else(|| Permanent("message has no svix-id (AMQP message_id)".into()))?;
    let envelope = Envelope::parse(&delivery.data).map_err(|e| Permanent(e.to_string()))?;
    meta.event_type.clone_from(&envelope.event_type);
    if let Some(id) = envelope.object_id() {
        meta.object_id = Some(id.to_owned());
    }
    let attempt = i32::try_from(meta.failed_attempts.saturating_add(1)).unwrap_or(i32::MAX);
    prepare(&svix_id, envelope, meta.received_at, attempt, payloads)
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The properties of a failed message on its way to a retry queue or the dead-letter
/// queue: the original ones, plus why and how often it failed.
pub fn failed_properties(
    original: &BasicProperties,
    meta: &Meta,
    failed_attempts: u32,
    error: &str,
    dead: bool,
) -> BasicProperties {
    let mut table: FieldTable = original.headers().clone().unwrap_or_default();
    let now = now_rfc3339();
    set_int(&mut table, headers::ATTEMPTS, i64::from(failed_attempts));
    if header_str(Some(&table), headers::FIRST_FAILED_AT).is_none() {
        set_str(&mut table, headers::FIRST_FAILED_AT, &now);
    }
    set_str(&mut table, headers::LAST_FAILED_AT, &now);
    set_str(&mut table, headers::ERROR, &truncate(error, 2000));
    set_str(&mut table, headers::EVENT_TYPE, &meta.event_type);
    if let Some(id) = &meta.object_id {
        set_str(&mut table, headers::OBJECT_ID, id);
    }
    if dead {
        set_str(&mut table, headers::DEAD_AT, &now);
    }
    original.clone().with_headers(table).with_delivery_mode(2)
}

/// The properties of a dead letter sent back for another try: the failure headers
/// are removed, so it gets a fresh attempt budget.
pub fn replay_properties(original: &BasicProperties) -> BasicProperties {
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
