//! The headers clerk-sync puts on messages, and reading and writing them.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

/// The Svix message id (also the AMQP `message_id`).
pub const SVIX_ID: &str = "svix-id";
/// The Svix timestamp (seconds) of the delivery that was accepted.
pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
/// When the receiver accepted the event (RFC 3339).
pub const RECEIVED_AT: &str = "x-received-at";
/// Attempts that failed so far (absent: none).
pub const ATTEMPTS: &str = "x-clerk-sync-attempts";
/// When the first and the last attempt failed (RFC 3339).
pub const FIRST_FAILED_AT: &str = "x-clerk-sync-first-failed-at";
pub const LAST_FAILED_AT: &str = "x-clerk-sync-last-failed-at";
/// Why the last attempt failed.
pub const ERROR: &str = "x-clerk-sync-error";
/// Set on failed messages: the event type and object id, for listing.
pub const EVENT_TYPE: &str = "x-clerk-sync-event-type";
pub const OBJECT_ID: &str = "x-clerk-sync-object-id";
/// Set on dead letters: when the message was dead-lettered (RFC 3339).
pub const DEAD_AT: &str = "x-clerk-sync-dead-at";

/// A header as a string, whatever string-like type it was sent as.
pub fn get_str(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    let value = headers?.inner().get(key)?;
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        AMQPValue::ByteArray(b) => Some(String::from_utf8_lossy(b.as_slice()).into_owned()),
        other => int_value(other).map(|n| n.to_string()),
    }
}

/// A header as an integer, whatever integer type it was sent as.
pub fn get_int(headers: Option<&FieldTable>, key: &str) -> Option<i64> {
    int_value(headers?.inner().get(key)?)
}

fn int_value(v: &AMQPValue) -> Option<i64> {
    match v {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).parse().ok(),
        _ => None,
    }
}

/// Sets a string header.
pub fn set_str(table: &mut FieldTable, key: &str, value: &str) {
    table.insert(
        ShortString::from(key),
        AMQPValue::LongString(LongString::from(value)),
    );
}

/// Sets an integer header.
pub fn set_int(table: &mut FieldTable, key: &str, value: i64) {
    table.insert(ShortString::from(key), AMQPValue::LongLongInt(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_back_what_was_written_whatever_the_type() {
        let mut t = FieldTable::default();
        set_str(&mut t, SVIX_ID, "msg_1");
        set_int(&mut t, ATTEMPTS, 3);
        t.insert(ShortString::from("short"), AMQPValue::ShortInt(7));
        assert_eq!(get_str(Some(&t), SVIX_ID).as_deref(), Some("msg_1"));
        assert_eq!(get_int(Some(&t), ATTEMPTS), Some(3));
        assert_eq!(get_str(Some(&t), ATTEMPTS).as_deref(), Some("3"));
        assert_eq!(get_int(Some(&t), "short"), Some(7));
        assert_eq!(get_int(Some(&t), "missing"), None);
        assert_eq!(get_str(None, SVIX_ID), None);
    }
}
