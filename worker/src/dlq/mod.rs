//! `worker dlq list` and `worker dlq replay`: reading dead letters without losing any,
//! and moving chosen ones back to the events exchange.
//!
//! Both take messages with `basic.get` without acking. What is not moved is never
//! acked, and returns to the queue, in its order, when the channel closes. Reading
//! ([`scan`]) declares nothing and holds one message at a time.

pub mod erased;
pub mod purge;

use anyhow::Context;
use lapin::{
    options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties, Channel,
};
use serde::Serialize;
use shared::{
    amqp::{self, NodeRotation},
    config::AmqpNodes,
    headers::{self, get_int, get_str},
    topology::Topology,
};

/// One dead letter, as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadLetter {
    pub svix_id: Option<String>,
    pub event_type: String,
    pub object_id: Option<String>,
    pub attempts: i64,
    pub reason: String,
    pub first_failed_at: Option<String>,
    pub dead_at: Option<String>,
}

impl DeadLetter {
    fn from_properties(props: &lapin::BasicProperties) -> Self {
        let h = props.headers().as_ref();
        let reason = get_str(h, headers::ERROR).unwrap_or_else(|| {
            match get_str(h, "x-first-death-reason").as_deref() {
                Some("delivery_limit") => "the broker dead-lettered it after too many deliveries (did a worker crash while holding it?)".to_owned(),
                Some(other) => format!("the broker dead-lettered it ({other})"),
                None => "unknown".to_owned(),
            }
        });
        Self {
            svix_id: props
                .message_id()
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .or_else(|| get_str(h, headers::SVIX_ID)),
            event_type: get_str(h, headers::EVENT_TYPE)
                .or_else(|| first_death_routing_key(h))
                .unwrap_or_else(|| "unknown".into()),
            object_id: get_str(h, headers::OBJECT_ID),
            attempts: get_int(h, headers::ATTEMPTS).unwrap_or(0),
            reason,
            first_failed_at: get_str(h, headers::FIRST_FAILED_AT),
            dead_at: get_str(h, headers::DEAD_AT),
        }
    }
}

/// The routing key a message had when the broker itself dead-lettered it (from the
/// first `x-death` entry): for events, their type.
fn first_death_routing_key(headers: Option<&FieldTable>) -> Option<String> {
    let AMQPValue::FieldArray(deaths) = headers?.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(death) = deaths.as_slice().first()? else {
        return None;
    };
    let AMQPValue::FieldArray(keys) = death.inner().get("routing-keys")? else {
        return None;
    };
    match keys.as_slice().first()? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Which dead letters to replay. Empty filters match all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ids: Vec<String>,
    pub event_type: Option<String>,
    /// Text the reason contains (case-insensitive).
    pub reason_contains: Option<String>,
    /// Text the svix-id contains.
    pub svix_id_contains: Option<String>,
    pub limit: Option<usize>,
}

impl Filter {
    pub fn matches(&self, d: &DeadLetter) -> bool {
        (self.ids.is_empty() || d.svix_id.as_ref().is_some_and(|id| self.ids.contains(id)))
            && self.event_type.as_ref().is_none_or(|t| *t == d.event_type)
            && self
                .reason_contains
                .as_ref()
                .is_none_or(|r| d.reason.to_lowercase().contains(&r.to_lowercase()))
            && self
                .svix_id_contains
                .as_ref()
                .is_none_or(|s| d.svix_id.as_ref().is_some_and(|id| id.contains(s.as_str())))
    }
}

/// One dead letter with what it carries: its AMQP properties and its body.
#[derive(Debug, Clone)]
pub struct DeadMessage {
    pub letter: DeadLetter,
    pub properties: lapin::BasicProperties,
    pub body: Vec<u8>,
}

async fn open(
    nodes: &AmqpNodes,
    topology: &Topology,
) -> anyhow::Result<(lapin::Connection, Channel, u32)> {
    let (conn, _) = NodeRotation::new(nodes.clone())
        .connect("clerk-sync dlq")
        .await
        .context("could not connect to RabbitMQ (check AMQP_URL)")?;
    let channel = conn.create_channel().await?;
    topology
        .declare(&channel)
        .await
        .context("could not declare the topology")?;
    let queue = channel
        .queue_declare(
            topology.dead_queue().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((conn, channel, queue.message_count()))
}

/// Takes the next dead letter without acking it.
async fn take(
    channel: &Channel,
    topology: &Topology,
) -> lapin::Result<Option<lapin::message::BasicGetMessage>> {
    channel
        .basic_get(
            topology.dead_queue().into(),
            BasicGetOptions { no_ack: false },
        )
        .await
}

/// Reads up to `limit` dead letters in queue order, hands each to `visit` with its
/// properties and body, and removes none; stops early when `visit` returns `false`.
/// Returns how many were read.
///
/// Read-only, for the operator page's GETs as much as for `dlq list`: it declares
/// nothing (a passive declare of the dead-letter queue only; a queue that does not
/// exist yet reads as empty), and every message it takes returns to the queue, in
/// its place, when its channel closes (RabbitMQ marks them redelivered, nothing
/// else). Memory: one message at a time, whatever the queue holds; `visit` keeps
/// what it needs.
pub async fn scan(
    nodes: &AmqpNodes,
    topology: &Topology,
    limit: usize,
    mut visit: impl FnMut(DeadLetter, &BasicProperties, &[u8]) -> bool,
) -> anyhow::Result<usize> {
    scan_queue(nodes, &topology.dead_queue(), limit, |properties, body| {
        visit(DeadLetter::from_properties(properties), properties, body)
    })
    .await
}

/// [`scan`] for any queue: reads up to `limit` messages of `queue` in order, hands
/// each to `visit`, removes none, declares nothing (a missing queue reads as empty).
pub async fn scan_queue(
    nodes: &AmqpNodes,
    queue: &str,
    limit: usize,
    mut visit: impl FnMut(&BasicProperties, &[u8]) -> bool,
) -> anyhow::Result<usize> {
    let (conn, _) = NodeRotation::new(nodes.clone())
        .connect("clerk-sync queue read")
        .await
        .context("could not connect to RabbitMQ (check AMQP_URL)")?;
    let channel = conn.create_channel().await?;
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    let count = match declared {
        Ok(q) => q.message_count(),
        Err(e) => {
            tracing::debug!(error = %e, queue, "no such queue to read (not declared yet)");
            let _ = conn.close(200, "done".into()).await;
            return Ok(0);
        }
    };
    let mut read = 0;
    let result = async {
        for _ in 0..count.min(u32::try_from(limit).unwrap_or(u32::MAX)) {
            let Some(msg) = channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: false })
                .await?
            else {
                break;
            };
            read += 1;
            if !visit(&msg.delivery.properties, &msg.delivery.data) {
                break;
            }
        }
        anyhow::Ok(())
    }
    .await;
    // Closing returns every message we took, in order.
    let _ = channel.close(200, "read".into()).await;
    let _ = conn.close(200, "done".into()).await;
    result.map(|()| read)
}

/// Lists up to `limit` dead letters, oldest first, removing none (see [`scan`]).
pub async fn list(
    nodes: &AmqpNodes,
    topology: &Topology,
    limit: usize,
) -> anyhow::Result<Vec<DeadLetter>> {
    let mut out = Vec::new();
    scan(nodes, topology, limit, |letter, _, _| {
        out.push(letter);
        true
    })
    .await?;
    Ok(out)
}

/// The first dead letter with this svix-id among the first `limit`, with its
/// properties and body (only its own body is kept).
pub async fn find(
    nodes: &AmqpNodes,
    topology: &Topology,
    limit: usize,
    svix_id: &str,
) -> anyhow::Result<Option<DeadMessage>> {
    let mut found = None;
    scan(nodes, topology, limit, |letter, properties, body| {
        if letter.svix_id.as_deref() != Some(svix_id) {
            return true;
        }
        found = Some(DeadMessage {
            letter,
            properties: properties.clone(),
            body: body.to_vec(),
        });
        false
    })
    .await?;
    Ok(found)
}

/// Moves the dead letters that match `filter` back to the events exchange, each with
/// a fresh attempt budget and confirmed by the broker before it leaves the dead-letter
/// queue. With `dry_run`, moves nothing and returns what would move.
pub async fn replay(
    nodes: &AmqpNodes,
    topology: &Topology,
    filter: &Filter,
    dry_run: bool,
) -> anyhow::Result<Vec<DeadLetter>> {
    let (conn, channel, count) = open(nodes, topology).await?;
    let publisher = conn.create_channel().await?;
    publisher.confirm_select(Default::default()).await?;
    let mut moved = Vec::new();
    for _ in 0..count {
        if filter.limit.is_some_and(|l| moved.len() >= l) {
            break;
        }
        let Some(msg) = take(&channel, topology).await? else {
            break;
        };
        let letter = DeadLetter::from_properties(&msg.delivery.properties);
        if !filter.matches(&letter) {
            continue;
        }
        if !dry_run {
            amqp::publish_confirmed(
                &publisher,
                &topology.exchange(),
                &letter.event_type,
                &msg.delivery.data,
                replay_properties(&msg.delivery.properties),
            )
            .await
            .with_context(|| {
                format!(
                    "RabbitMQ did not take the replayed message {:?}; it stays in the dead-letter queue",
                    letter.svix_id
                )
            })?;
            msg.delivery.ack(BasicAckOptions::default()).await?;
        }
        moved.push(letter);
    }
    let _ = channel.close(200, "replayed".into()).await;
    let _ = conn.close(200, "done".into()).await;
    Ok(moved)
}

/// The properties of a dead letter sent back for another try: the failure headers
/// are removed, so it gets a fresh attempt budget.
fn replay_properties(original: &BasicProperties) -> BasicProperties {
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

#[cfg(test)]
mod tests {
    use lapin::types::{FieldArray, LongString, ShortString};

    use super::*;

    #[test]
    fn broker_dead_letters_are_listed_by_their_original_routing_key() {
        let mut death = FieldTable::default();
        death.insert(
            ShortString::from("routing-keys"),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::LongString(
                LongString::from("user.updated"),
            )])),
        );
        let mut h = FieldTable::default();
        h.insert(
            ShortString::from("x-death"),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        shared::headers::set_str(&mut h, "x-first-death-reason", "delivery_limit");
        let letter =
            DeadLetter::from_properties(&lapin::BasicProperties::default().with_headers(h));
        assert_eq!(letter.event_type, "user.updated");
        assert!(
            letter.reason.contains("too many deliveries"),
            "{}",
            letter.reason
        );
    }

    #[test]
    fn a_replay_keeps_the_trace_context_and_drops_the_failure_headers() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut h = FieldTable::default();
        shared::headers::set_str(&mut h, shared::otel::TRACEPARENT, parent);
        shared::headers::set_str(&mut h, shared::otel::TRACESTATE, "vendor=1");
        shared::headers::set_str(&mut h, headers::ERROR, "boom");
        let replayed = replay_properties(&lapin::BasicProperties::default().with_headers(h));
        let h = replayed.headers().as_ref();
        assert_eq!(
            shared::headers::get_str(h, shared::otel::TRACEPARENT).as_deref(),
            Some(parent)
        );
        assert_eq!(
            shared::headers::get_str(h, shared::otel::TRACESTATE).as_deref(),
            Some("vendor=1")
        );
        assert_eq!(shared::headers::get_str(h, headers::ERROR), None);
    }

    #[test]
    fn filters_match_reason_text_and_svix_id_parts() {
        let letter = DeadLetter {
            svix_id: Some("msg_2abc".into()),
            event_type: "user.updated".into(),
            object_id: None,
            attempts: 5,
            reason: "Refused by a Trigger".into(),
            first_failed_at: None,
            dead_at: None,
        };
        let f = |reason: Option<&str>, id: Option<&str>| Filter {
            reason_contains: reason.map(str::to_owned),
            svix_id_contains: id.map(str::to_owned),
            ..Filter::default()
        };
        assert!(f(None, None).matches(&letter));
        assert!(f(Some("trigger"), Some("2ab")).matches(&letter));
        assert!(!f(Some("constraint"), None).matches(&letter));
        assert!(!f(None, Some("3")).matches(&letter));
    }
}
