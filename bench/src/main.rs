//! `cargo run --release -p bench`: measures clerk-sync on this machine against the
//! machine's own limits, and prints one table.
//!
//! Runs against the local Postgres and RabbitMQ (127.0.0.1 only) with its own
//! database and `AMQP_PREFIX`, both removed at the end. Starts the release
//! `receiver` and `worker` binaries built beside it.

mod client;
mod cpu;
mod feed;
mod floors;
mod load;
mod setup;
mod stats;

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use crate::{
    setup::Bench,
    stats::{CpuTable, Row, Table},
};

#[derive(Parser, Debug, Clone)]
#[command(about = "Benchmark clerk-sync on this machine")]
pub struct Args {
    /// Seconds each throughput phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent HTTP connections (and concurrent publishers for the ceiling).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Events in the large worker backlog.
    #[arg(long, default_value_t = 100_000)]
    pub backlog: usize,
    /// Events per second of the end-to-end phase.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Deliveries per worker transaction (WORKER_BATCH_SIZE).
    #[arg(long, default_value_t = 200)]
    pub batch_size: usize,
    /// How long a worker's batch that is not full waits for more
    /// (WORKER_BATCH_LINGER; `0` turns it off).
    #[arg(long, default_value = "3ms")]
    pub batch_linger: String,
    /// Batches a worker applies at once (WORKER_CONCURRENCY).
    #[arg(long, default_value_t = 2)]
    pub concurrency_db: usize,
    /// The broker, as `AMQP_URL`: one node, or the nodes of a cluster separated by
    /// commas (`scripts/local-cluster urls`). The bench connects to the first.
    #[arg(long, default_value = setup::AMQP_URL)]
    pub amqp_url: String,
    /// Measure the publish ceiling only (the broker's cost), skip everything else.
    #[arg(long)]
    pub publish_ceiling_only: bool,
    /// Measure one side only, with its floors: `receiver` (ceiling, sink, receiver)
    /// or `worker` (consumer and SQL floors, worker SQL, drains). For iterating on
    /// one side; the whole pipeline's figure needs both.
    #[arg(long, value_enum)]
    pub only: Option<Side>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Receiver,
    Worker,
    /// Only the end-to-end latency phase.
    EndToEnd,
    /// The change feed: the same drain with the feed off and on, and the relay.
    Feed,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bench = Bench::new(&args).await.context("setting up")?;
    let result = run(&bench, &args).await;
    bench.cleanup().await;
    let (table, cpu) = result?;
    println!("\n{table}\n{cpu}");
    Ok(())
}

async fn run(bench: &Bench, args: &Args) -> anyhow::Result<(Table, CpuTable)> {
    let mut table = Table::default();
    let mut cpu = CpuTable::default();
    let secs = Duration::from_secs(args.seconds);

    if args.publish_ceiling_only {
        let publish = ceiling(bench, args, secs).await?;
        table.push(Row::rate(
            "ceiling: confirmed publishes/s (lapin, quorum queue)",
            publish.rate,
            None,
        ));
        return Ok((table, cpu));
    }
    if args.only == Some(Side::Feed) {
        feed::feed(bench, args, &mut table, &mut cpu).await?;
        return Ok((table, cpu));
    }
    if args.only == Some(Side::EndToEnd) {
        end_to_end(bench, args, secs, &mut table).await?;
        return Ok((table, cpu));
    }
    let receiver = match args.only {
        Some(Side::Worker) => None,
        _ => Some(receiver_side(bench, args, secs, &mut table, &mut cpu).await?),
    };
    let worker = match args.only {
        Some(Side::Receiver) => None,
        _ => Some(worker_side(bench, args, secs, &mut table, &mut cpu).await?),
    };
    if let (Some((ours_r, floor_r)), Some((ours_w, floor_w))) = (receiver, worker) {
        cpu.push(
            "whole pipeline",
            ours_r + ours_w,
            floor_r + floor_w,
            "the sum of the floors above",
            Some(0.75),
        );
    }
    Ok((table, cpu))
}

async fn ceiling(bench: &Bench, args: &Args, secs: Duration) -> anyhow::Result<floors::Floor> {
    eprintln!(
        "ceiling and floor: confirmed persistent publishes to a quorum queue ({} in flight, {} node(s): {})",
        args.concurrency,
        bench.nodes.len(),
        bench.nodes
    );
    cpu::settle().await;
    let publish = load::publish_ceiling(bench, args.concurrency, secs).await?;
    bench.purge().await?;
    Ok(publish)
}

/// The publish ceiling, the HTTP sink and the receiver. Returns the receiver's and
/// RabbitMQ's CPU per webhook, ours and the floors'.
async fn receiver_side(
    bench: &Bench,
    args: &Args,
    secs: Duration,
    table: &mut Table,
    cpu: &mut CpuTable,
) -> anyhow::Result<(f64, f64)> {
    let publish = ceiling(bench, args, secs).await?;
    table.push(Row::rate(
        "ceiling: confirmed publishes/s (lapin, quorum queue)",
        publish.rate,
        None,
    ));
    eprintln!(
        "floor: confirmed publishes on 32 channels, one in flight each (the previous receiver's way)"
    );
    cpu::settle().await;
    let publish_32 = load::publish(bench, 32, 32, secs).await?;
    bench.purge().await?;

    eprintln!(
        "floor: HTTP sink (aws-lc HMAC, answers 200), {} connections for {secs:?}",
        args.concurrency
    );
    cpu::settle().await;
    let sink = load::sink_throughput(args.concurrency, secs).await?;
    table.push(Row::rate("floor: HTTP sink requests/s", sink.rate, None));

    eprintln!("receiver: {} connections for {secs:?}", args.concurrency);
    cpu::settle().await;
    let r = load::receiver_throughput(bench, args.concurrency, secs).await?;
    bench.purge().await?;
    table.push(
        Row::rate("receiver: accepted webhooks/s", r.rate, Some(publish.rate)).at_least_of_ceiling(
            r.rate,
            publish.rate,
            0.6,
        ),
    );
    table.push(Row::millis("receiver: latency p50", r.p50));
    table.push(Row::millis("receiver: latency p99", r.p99).at_most(
        r.p99.as_secs_f64() * 1000.0,
        10.0,
        "10 ms",
    ));
    table.push(Row::megabytes("receiver: peak RSS", r.peak_rss_kb).at_most(
        r.peak_rss_kb as f64 / 1024.0,
        25.0,
        "25 MB",
    ));
    table.push(Row::count("receiver: non-2xx answers", r.failures as f64));
    if let Some(mean) = r.mean_batch {
        table.push(Row::count(
            "receiver: events per publish batch (mean)",
            mean,
        ));
    }

    let flood = (args.concurrency / 4).max(1);
    eprintln!(
        "receiver under a flood of forged webhooks: {} good connections, {flood} posting 4000 401s/s, for {secs:?}",
        args.concurrency
    );
    cpu::settle().await;
    let f = load::receiver_throughput_flooded(bench, args.concurrency, flood, secs).await?;
    bench.purge().await?;
    table.push(Row::rate(
        "receiver under a 401 flood: accepted webhooks/s",
        f.rate,
        None,
    ));
    table.push(Row::rate(
        "receiver under a 401 flood: forged requests refused/s",
        f.refused_rate,
        None,
    ));
    table.push(
        Row::millis("receiver under a 401 flood: good requests' p99", f.p99).at_most(
            f.p99.as_secs_f64() / r.p99.as_secs_f64().max(1e-6),
            1.5,
            "1.5 × the p99 without the flood",
        ),
    );

    eprintln!(
        "floor: the raw confirmed publisher paced at the receiver's rate ({:.0}/s, at most {} in flight)",
        r.rate, args.concurrency
    );
    cpu::settle().await;
    let paced = load::publish_paced(bench, args.concurrency, 1, secs, Some(r.rate)).await?;
    bench.purge().await?;
    table.push(Row::rate(
        "floor: raw confirmed publishes/s, paced at the receiver's rate",
        paced.rate,
        None,
    ));
    // RabbitMQ's own confirm latency at the receiver's rate, 64 in flight: the
    // receiver's latency with its HTTP and batching taken away.
    table.push(Row::millis(
        "floor: paced raw publisher, publish to confirmed, p50",
        stats::percentile(&paced.latencies, 50.0),
    ));
    table.push(Row::millis(
        "floor: paced raw publisher, publish to confirmed, p99",
        stats::percentile(&paced.latencies, 99.0),
    ));

    let receiver_floor = sink.server.micros_per_event() + publish.client.micros_per_event();
    cpu.push(
        "receiver process",
        r.server.micros_per_event(),
        receiver_floor,
        "bench-sink + raw confirmed publisher (client)",
        Some(0.6),
    );
    cpu.push_spent(
        "RabbitMQ per accepted webhook",
        r.rabbitmq,
        publish.server,
        "RabbitMQ per raw confirmed publish, 64 in flight",
        Some(0.8),
    );
    cpu.push_spent(
        "(detail) RabbitMQ per accepted webhook, against a raw publish at the same rate",
        r.rabbitmq,
        paced.server,
        "RabbitMQ per raw confirmed publish paced at the receiver's rate",
        None,
    );
    cpu.push(
        "(detail) receiver process, against the floor at the same rate",
        r.server.micros_per_event(),
        sink.server.micros_per_event() + paced.client.micros_per_event(),
        "bench-sink + the paced raw publisher (client, its timers included)",
        None,
    );
    cpu.push_spent(
        "(detail) RabbitMQ per raw confirmed publish, 32 channels, one in flight each",
        publish_32.server,
        publish.server,
        "the same, 64 in flight on one channel",
        None,
    );
    cpu.push_spent(
        "(detail) load generator per webhook (not counted in any ratio)",
        r.client,
        sink.client,
        "the same load against bench-sink",
        None,
    );
    cpu.note(format!(
        "receiver floor = HTTP sink {:.1} + publishing client {:.1}",
        sink.server.micros_per_event(),
        publish.client.micros_per_event(),
    ));
    Ok((
        r.server.micros_per_event() + r.rabbitmq.micros_per_event(),
        receiver_floor + publish.server.micros_per_event(),
    ))
}

/// POST to applied at `--rate` events per second, receiver and worker together.
async fn end_to_end(
    bench: &Bench,
    args: &Args,
    secs: Duration,
    table: &mut Table,
) -> anyhow::Result<()> {
    eprintln!("end to end: {} events/s for {secs:?}", args.rate);
    let started = Instant::now();
    cpu::settle().await;
    let e = load::end_to_end(bench, args.rate, secs, args.batch_size, args.concurrency_db).await?;
    eprintln!("end to end took {:?}", started.elapsed());
    table.push(Row::millis("end to end: POST to applied, p50", e.p50));
    table.push(
        Row::millis("end to end: POST to applied, p99", e.p99).at_most(
            e.p99.as_secs_f64() * 1000.0,
            15.0,
            "15 ms",
        ),
    );
    table.push(Row::rate("end to end: offered events/s", e.rate, None));
    table.push(Row::millis(
        "end to end: POST to answered (durable), p50",
        e.answered_p50,
    ));
    table.push(Row::millis(
        "end to end: POST to answered (durable), p99",
        e.answered_p99,
    ));
    Ok(())
}

/// The consumer and SQL floors, the worker's SQL, the drains and the end-to-end
/// latency. Returns the worker's, RabbitMQ's and Postgres's CPU per event, ours and
/// the floors'.
async fn worker_side(
    bench: &Bench,
    args: &Args,
    secs: Duration,
    table: &mut Table,
    cpu: &mut CpuTable,
) -> anyhow::Result<(f64, f64)> {
    let consumed_n = 50_000;
    eprintln!("floor: a raw consumer draining {consumed_n} events (prefetch 500, ack per 200)");
    let consume = floors::consume(bench, consumed_n).await?;
    table.push(Row::rate(
        "floor: raw consumer events/s",
        consume.rate,
        None,
    ));

    eprintln!(
        "floor: the least SQL, batches of {} on {} connections",
        args.batch_size, args.concurrency_db
    );
    cpu::settle().await;
    let sql_floor = floors::sql(bench, 20_000, args.batch_size, args.concurrency_db).await?;
    bench.truncate().await?;
    table.push(Row::rate(
        "floor: least SQL events/s (two statements per batch)",
        sql_floor.rate,
        None,
    ));

    eprintln!(
        "ceiling: the worker's SQL, straight against Postgres, batches of {} on {} connections",
        args.batch_size, args.concurrency_db
    );
    cpu::settle().await;
    let sql = load::sql_ceiling(bench, 20_000, args.batch_size, args.concurrency_db).await?;
    bench.truncate().await?;
    table.push(Row::rate(
        &format!(
            "ceiling: worker SQL events/s ({} connections)",
            args.concurrency_db
        ),
        sql.rate,
        None,
    ));

    let mut drains = Vec::new();
    for n in [10_000, args.backlog] {
        eprintln!("worker: drain a backlog of {n} events");
        let w = load::worker_drain(bench, n, args.batch_size, args.concurrency_db).await?;
        bench.truncate().await?;
        table.push(
            Row::rate(
                &format!("worker: drain events/s ({n} backlog)"),
                w.rate,
                Some(sql.rate),
            )
            .at_least(w.rate, 10_000.0, "10000/s"),
        );
        table.push(Row::megabytes(
            &format!("worker: peak RSS ({n} backlog)"),
            w.peak_rss_kb,
        ));
        drains.push((n, w));
    }

    end_to_end(bench, args, secs, table).await?;

    // CPU per event beside the floors. The worker's figures are the largest backlog's.
    let (_, w) = drains.last().context("a drain ran")?;
    cpu.push_spent(
        "worker process",
        w.worker,
        consume.client,
        "raw consumer, prefetch 500, ack multiple per 200",
        Some(0.5),
    );
    cpu.push_spent(
        "RabbitMQ per delivered event",
        w.rabbitmq,
        consume.server,
        "RabbitMQ delivering to the raw consumer",
        None,
    );
    cpu.push_spent(
        "Postgres per event",
        w.postgres,
        sql_floor.server,
        "two multi-row statements per 200 events, 2 sessions",
        Some(0.85),
    );
    cpu.note(format!(
        "the raw consumer floor is {:.1} in its client",
        consume.client.micros_per_event(),
    ));
    cpu.push_spent(
        "(detail) Postgres, worker SQL without RabbitMQ",
        sql.server,
        sql_floor.server,
        "apply_batch straight against Postgres",
        None,
    );
    for (n, d) in &drains {
        cpu.push_spent(
            &format!("(detail) worker process, {n} backlog"),
            d.worker,
            consume.client,
            "",
            None,
        );
    }
    Ok((
        w.worker.micros_per_event() + w.rabbitmq.micros_per_event() + w.postgres.micros_per_event(),
        consume.client.micros_per_event()
            + consume.server.micros_per_event()
            + sql_floor.server.micros_per_event(),
    ))
}
