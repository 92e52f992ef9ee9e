//! Connecting to RabbitMQ and reading message headers.

use lapin::{
    types::{AMQPValue, FieldTable, LongString, ShortString},
    Connection, ConnectionProperties,
};

/// Connects with a connection name that shows in the management UI.
pub async fn connect(url: &str, name: &str) -> lapin::Result<Connection> {
    let props = ConnectionProperties::default().with_connection_name(LongString::from(name));
    Connection::connect(url, props).await
}

/// A header as a string, whatever string-like type it was sent as.
pub fn header_str(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    let value = headers?.inner().get(key)?;
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        AMQPValue::ByteArray(b) => Some(String::from_utf8_lossy(b.as_slice()).into_owned()),
        other => header_int_value(other).map(|n| n.to_string()),
    }
}

/// A header as an integer, whatever integer type it was sent as.
pub fn header_int(headers: Option<&FieldTable>, key: &str) -> Option<i64> {
    header_int_value(headers?.inner().get(key)?)
}

fn header_int_value(v: &AMQPValue) -> Option<i64> {
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
