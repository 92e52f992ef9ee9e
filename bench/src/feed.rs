//! `bench --only feed`: what the change feed costs the worker's drain (the same
//! backlog drained with the feed's triggers off and on, alternately, in one run),
//! and how fast `worker relay` publishes a backlog of changes beside that rate.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use diesel::{connection::SimpleConnection, prelude::*, sql_query, sql_types::BigInt};
use lapin::{
    options::{QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::FieldTable,
};

use crate::{
    cpu::{self, Snapshot, Spent},
    load,
    setup::{binary, stop, Bench},
    stats::{CpuTable, Row, Table},
    Args,
};

/// Turns the feed's triggers off or on (the bench's database only).
fn set_feed(bench: &Bench, on: bool) -> anyhow::Result<()> {
    let verb = if on { "ENABLE" } else { "DISABLE" };
    let sql: String = shared::db::OBJECT_TABLES
        .iter()
        .map(|t| {
            format!(
                "ALTER TABLE {t} {verb} TRIGGER {t}_feed_insert; ALTER TABLE {t} {verb} TRIGGER {t}_feed_update;"
            )
        })
        .collect();
    bench.conn()?.batch_execute(&sql)?;
    Ok(())
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn scalar(c: &mut PgConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(sql_query(sql).get_result::<N>(c)?.n)
}

pub async fn feed(
    bench: &Bench,
    args: &Args,
    table: &mut Table,
    cpu: &mut CpuTable,
) -> anyhow::Result<()> {
    let n = args.backlog;
    let mut off = Vec::new();
    let mut on = Vec::new();
    let rounds = [false, true, false, true, false, true];
    for (round, feed_on) in rounds.into_iter().enumerate() {
        set_feed(bench, feed_on)?;
        eprintln!(
            "feed: drain a backlog of {n} events with the change feed {} (round {})",
            if feed_on { "on" } else { "off" },
            round + 1
        );
        let d = load::worker_drain(bench, n, args.batch_size, args.concurrency_db).await?;
        let changes = scalar(&mut bench.conn()?, "SELECT count(*) AS n FROM changes")?;
        anyhow::ensure!(
            (changes > 0) == feed_on,
            "the feed {} but {changes} changes were recorded",
            if feed_on { "was on" } else { "was off" }
        );
        if round + 1 < rounds.len() {
            bench.truncate().await?;
        }
        if feed_on {
            on.push(d)
        } else {
            off.push(d)
        }
    }
    set_feed(bench, true)?;
    let mean = |ds: &[load::Drain]| ds.iter().map(|d| d.rate).sum::<f64>() / ds.len() as f64;
    let (rate_off, rate_on) = (mean(&off), mean(&on));
    for (label, ds) in [("off", &off), ("on", &on)] {
        for (i, d) in ds.iter().enumerate() {
            table.push(Row::rate(
                &format!("feed {label}: drain events/s ({n} backlog, run {})", i + 1),
                d.rate,
                None,
            ));
        }
    }
    table.push(
        Row::rate(
            &format!("feed on: drain events/s, mean of {}", on.len()),
            rate_on,
            Some(rate_off),
        )
        .at_least_of_ceiling(rate_on, rate_off, 0.9),
    );
    let per = |ds: &[load::Drain], f: fn(&load::Drain) -> Spent| {
        let s: f64 = ds.iter().map(|d| f(d).seconds).sum();
        let e: u64 = ds.iter().map(|d| f(d).events).sum();
        Spent::new(s, e)
    };
    // The drain is CPU-bound on this machine: its rate goes as the CPU every process
    // spends per event, which is what the feed's cost is judged by (a bare rate
    // moves by a tenth between two identical runs here).
    let all = |ds: &[load::Drain]| {
        let s: f64 = ds
            .iter()
            .map(|d| d.worker.seconds + d.postgres.seconds + d.rabbitmq.seconds)
            .sum();
        Spent::new(s, ds.iter().map(|d| d.worker.events).sum())
    };
    cpu.push_spent(
        "drain, worker + Postgres + RabbitMQ per event, feed on",
        all(&on),
        all(&off),
        "the same drains with the feed off (at least 0.9: the feed costs at most a tenth of the rate)",
        Some(0.9),
    );
    cpu.push_spent(
        "Postgres per event, feed on",
        per(&on, |d| d.postgres),
        per(&off, |d| d.postgres),
        "the same drains with the feed off",
        None,
    );
    cpu.push_spent(
        "worker process per event, feed on",
        per(&on, |d| d.worker),
        per(&off, |d| d.worker),
        "the same drains with the feed off",
        None,
    );

    // The relay on the last drain's changes, into a queue bound to all of them.
    let relayed = relay(bench).await?;
    table.push(
        Row::rate(
            "relay: changes/s published and confirmed",
            relayed.rate,
            Some(rate_on),
        )
        .at_least_of_ceiling(relayed.rate, rate_on, 1.0),
    );
    cpu.push(
        "relay process per change",
        relayed.cpu.micros_per_event(),
        f64::NAN,
        "",
        None,
    );
    bench.truncate().await?;
    Ok(())
}

struct Relayed {
    rate: f64,
    cpu: Spent,
}

async fn relay(bench: &Bench) -> anyhow::Result<Relayed> {
    let ch = bench.channel().await?;
    bench.topology.declare_changes(&ch).await?;
    let queue = format!("{}.changes.bench", bench.prefix);
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await?;
    ch.queue_bind(
        queue.as_str().into(),
        bench.topology.changes_exchange().as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    let mut conn = bench.conn()?;
    let head = scalar(&mut conn, "SELECT changes_head() AS n")?;
    let rows = scalar(&mut conn, "SELECT count(*) AS n FROM changes")?;
    eprintln!("feed: worker relay publishing {rows} changes (up to seq {head})");
    cpu::settle().await;
    let child = Command::new(binary("worker")?)
        .arg("relay")
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &bench.db_url)
        .env("AMQP_URL", bench.nodes.urls().join(","))
        .env("AMQP_PREFIX", &bench.prefix)
        .stdout(Stdio::null())
        .spawn()
        .context("worker relay starts")?;
    let pid = child.id();
    let progress = |c: &mut PgConnection| {
        scalar(
            c,
            "SELECT coalesce(max(relayed_through), 0) AS n FROM change_relays",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first = None;
    loop {
        let at = progress(&mut conn)?;
        if at > 0 && first.is_none() {
            first = Some((Instant::now(), at, Snapshot::of([pid])));
        }
        if at >= head {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the relay did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let end = (Instant::now(), Snapshot::of([pid]));
    stop(child);
    let (t0, at0, s0) = first.context("nothing relayed")?;
    let relayed = u64::try_from(head - at0).unwrap_or(0);
    ch.queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await?;
    ch.exchange_delete(
        bench.topology.changes_exchange().as_str().into(),
        Default::default(),
    )
    .await?;
    conn.batch_execute("TRUNCATE change_relays")?;
    Ok(Relayed {
        rate: relayed as f64 / end.0.duration_since(t0).as_secs_f64().max(1e-3),
        cpu: Spent::new(end.1.seconds_since(&s0), relayed),
    })
}
