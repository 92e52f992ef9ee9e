//! `worker dlq purge-erased`: drops or rewrites the dead letters and retry messages
//! that hold an erased user's data (see [`super::erased`] for which and how).
//!
//! Each queue is read with `basic.get`, a hundred messages at a time, judged against
//! Postgres in one lookup per hundred, and then: a dropped message is acked; a
//! rewritten one is published again to the same queue, with the broker's confirm,
//! before its original is acked (so a failure leaves the original, never neither);
//! a kept one is not acked and returns to its place when the channel closes. A
//! rewritten message goes to the tail of its queue, and a rewritten retry message
//! waits its queue's delay again.

use std::time::Duration;

use anyhow::Context;
use lapin::{
    message::BasicGetMessage,
    options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions},
    types::FieldTable,
    BasicProperties,
};
use serde::Serialize;
use shared::{
    amqp::{self, NodeRotation},
    config::AmqpNodes,
    db::PgPool,
    headers::{self, get_str, set_str},
    topology::Topology,
};

use super::{
    erased::{self, Mentions, Verdict},
    DeadLetter,
};
use crate::database::with_connection;

/// Messages held (unacked) and judged together.
const CHUNK: usize = 100;

/// What a purge did to one queue (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub queue: String,
    /// Messages read (all the queue held when the purge reached it).
    pub read: usize,
    /// A deleted user's own events, removed.
    pub dropped: usize,
    /// Other events, put back without the erased users' data.
    pub rewritten: usize,
}

/// Purges the dead-letter queue and the retry queue of each of `retry_delays`.
/// With `dry_run`, changes nothing and counts what would change.
pub async fn purge_erased(
    pool: &PgPool,
    nodes: &AmqpNodes,
    topology: &Topology,
    retry_delays: &[Duration],
    dry_run: bool,
) -> anyhow::Result<Vec<Purged>> {
    let mut queues = vec![topology.dead_queue()];
    queues.extend(retry_delays.iter().map(|d| topology.retry_queue(*d)));
    let (conn, _) = NodeRotation::new(nodes.clone())
        .connect("clerk-sync dlq purge-erased")
        .await
        .context("could not connect to RabbitMQ (check AMQP_URL)")?;
    let mut out = Vec::new();
    for queue in queues {
        let result = purge_queue(pool, &conn, &queue, dry_run)
            .await
            .with_context(|| format!("purging {queue} stopped; what was done stays done"));
        match result {
            Ok(p) => out.push(p),
            Err(e) => {
                let _ = conn.close(200, "failed".into()).await;
                return Err(e);
            }
        }
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(out)
}

async fn purge_queue(
    pool: &PgPool,
    conn: &lapin::Connection,
    queue: &str,
    dry_run: bool,
) -> anyhow::Result<Purged> {
    let mut purged = Purged {
        queue: queue.to_owned(),
        ..Purged::default()
    };
    // A passive declare of a missing queue closes its channel: one of its own.
    let channel = conn.create_channel().await?;
    let count = match channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
    {
        Ok(q) => q.message_count() as usize,
        Err(e) => {
            tracing::debug!(error = %e, queue, "no such queue to purge (not declared yet)");
            return Ok(purged);
        }
    };
    let publisher = conn.create_channel().await?;
    publisher.confirm_select(Default::default()).await?;
    let result = async {
        while purged.read < count {
            let mut held: Vec<(BasicGetMessage, Mentions, Option<String>)> = Vec::new();
            while held.len() < CHUNK && purged.read < count {
                let Some(msg) = channel
                    .basic_get(queue.into(), BasicGetOptions { no_ack: false })
                    .await?
                else {
                    break;
                };
                purged.read += 1;
                let letter = DeadLetter::from_properties(&msg.delivery.properties);
                let reason = get_str(
                    msg.delivery.properties.headers().as_ref(),
                    headers::ERROR,
                );
                let m = Mentions::of_message(&letter.event_type, &msg.delivery.data, reason.as_deref());
                held.push((msg, m, reason));
            }
            if held.is_empty() {
                break;
            }
            let mentions: Vec<Mentions> = held.iter().map(|(_, m, _)| m.clone()).collect();
            let found = with_connection(pool, move |c| erased::lookup(c, &mentions))
                .await
                .context("could not look up the erased users in Postgres (check DATABASE_URL)")?;
            for (msg, m, reason) in held {
                match erased::judge(&msg.delivery.data, reason.as_deref(), &m, &found) {
                    Verdict::Keep => {}
                    Verdict::Drop { .. } => {
                        purged.dropped += 1;
                        if !dry_run {
                            msg.delivery.ack(BasicAckOptions::default()).await?;
                        }
                    }
                    Verdict::Scrub { body, reason } => {
                        purged.rewritten += 1;
                        if !dry_run {
                            let properties = rewritten(&msg.delivery.properties, reason.as_deref());
                            amqp::publish_confirmed(&publisher, "", queue, &body, properties)
                                .await
                                .context("RabbitMQ did not take the rewritten message; the original stays")?;
                            msg.delivery.ack(BasicAckOptions::default()).await?;
                        }
                    }
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    // Closing returns every kept message, in order.
    let _ = channel.close(200, "purged".into()).await;
    let _ = publisher.close(200, "purged".into()).await;
    result.map(|()| purged)
}

/// The properties of a rewritten message: the original's, with the masked reason.
fn rewritten(original: &BasicProperties, reason: Option<&str>) -> BasicProperties {
    let mut h = original.headers().clone().unwrap_or_default();
    if let Some(r) = reason {
        set_str(&mut h, headers::ERROR, r);
    }
    original.clone().with_headers(h).with_delivery_mode(2)
}
