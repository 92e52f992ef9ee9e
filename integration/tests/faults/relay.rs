//! `worker relay` under faults: killed with SIGKILL mid-stream and started again,
//! then RabbitMQ stopped and started mid-stream, while changes keep committing. A
//! consumer that skips a `message_id` it has seen gets every change once, in order.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use diesel::{prelude::*, sql_query, sql_types::BigInt};
use integration::{
    binary, database::connect, event, services, signal, wait_for, webhooks::prepared, Process,
    TestBroker, TestDb, T0,
};
use lapin::{
    options::{QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::{AMQPValue, FieldTable},
};
use shared::feed::FeedChange;
use worker::{apply::apply_batch, feed::read};

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

fn relayed(url: &str) -> i64 {
    sql_query("SELECT relayed_through AS seq FROM change_relays WHERE name = 'default'")
        .get_result::<Seq>(&mut connect(url))
        .map(|s| s.seq)
        .unwrap_or(0)
}

/// Waits until the relay has published (and saved) past `seq`.
async fn relayed_past(url: &str, seq: i64, what: &str) -> i64 {
    let url = url.to_owned();
    wait_for(what, Duration::from_secs(60), || {
        let url = url.clone();
        async move {
            let n = tokio::task::spawn_blocking(move || relayed(&url))
                .await
                .unwrap_or(0);
            (n > seq).then_some(n)
        }
    })
    .await
}

fn relay_process(db: &TestDb, broker: &TestBroker) -> Process {
    let mut cmd = std::process::Command::new(binary("worker"));
    cmd.arg("relay")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("AMQP_URL", integration::AMQP_URL)
        .env("AMQP_PREFIX", &broker.prefix)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null());
    Process(cmd.spawn().expect("worker relay starts"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_survives_kill_9_and_a_broker_restart_and_a_deduping_consumer_sees_every_change_once(
) {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    let broker = TestBroker::new().await;
    // The app's queue: durable, every change; gone 5 minutes after the test even if
    // it fails before deleting it.
    let queue = format!("{}.changes.app", broker.prefix);
    let ch = broker.channel().await;
    broker
        .topology
        .declare_changes(&ch)
        .await
        .expect("exchange");
    let mut args = FieldTable::default();
    args.insert("x-expires".into(), AMQPValue::LongInt(300_000));
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        args,
    )
    .await
    .expect("queue");
    ch.queue_bind(
        queue.as_str().into(),
        broker.topology.changes_exchange().as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");

    // Changes keep committing: ten new users a batch, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, stop) = (db.url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut conn = connect(&url);
            let mut b = 0;
            while !stop.load(Ordering::SeqCst) {
                let batch: Vec<_> = (0..10)
                    .map(|k| {
                        prepared(
                            &format!("msg_rl_{b}_{k}"),
                            &event("user.created", &format!("user_rl_{b}_{k}"), T0),
                        )
                    })
                    .collect();
                apply_batch(&mut conn, &batch).expect("the batch commits");
                b += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    // SIGKILL mid-stream, then a new relay resumes from the saved cursor.
    let first = relay_process(&db, &broker);
    let at_kill = relayed_past(&db.url, 300, "the first relay to publish 300 changes").await;
    signal(&first, "KILL");
    drop(first);
    let _second = relay_process(&db, &broker);
    let resumed = relayed_past(&db.url, at_kill + 300, "the second relay to carry on").await;

    // RabbitMQ stopped and started mid-stream.
    {
        let _rabbit = services::stop_rabbitmq();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    relayed_past(
        &db.url,
        resumed + 300,
        "the relay to carry on after the broker restart",
    )
    .await;

    stop.store(true, Ordering::SeqCst);
    tokio::task::spawn_blocking(move || writer.join().expect("writer"))
        .await
        .expect("join");
    let all = db
        .with(|c| read::since(c, 0, read::MAX_PAGE).expect("feed"))
        .await;
    let head = all.last().expect("changes").seq;
    relayed_past(&db.url, head - 1, "the relay to publish the whole feed").await;

    // The consumer: every seq once (skipping a message_id it has seen), in order,
    // each as it is stored.
    let messages = broker.drain(&queue).await;
    let mut seen = HashSet::new();
    let mut firsts = Vec::new();
    for m in &messages {
        let id = m.message_id().expect("a message_id");
        if seen.insert(id.clone()) {
            let change: FeedChange = serde_json::from_slice(&m.body).expect("a change");
            assert_eq!(id, change.seq.to_string());
            assert_eq!(m.routing_key, change.routing_key());
            firsts.push(change);
        }
    }
    eprintln!(
        "{} changes, {} messages ({} duplicates)",
        all.len(),
        messages.len(),
        messages.len() - firsts.len()
    );
    assert_eq!(firsts.len(), all.len(), "every change reached the consumer");
    assert_eq!(firsts, all, "in seq order, as stored");
    broker
        .channel()
        .await
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await
        .expect("queue deleted");
}
