//! `cargo run --release -p bench`: measures clerk-sync on this machine against the
//! machine's own limits, and prints one table.
//!
//! Runs against the local Postgres and RabbitMQ (127.0.0.1 only) with its own
//! database and `AMQP_PREFIX`, both removed at the end. Starts the release
//! `receiver` and `worker` binaries built beside it.

mod load;
mod setup;
mod stats;

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use crate::{
    setup::Bench,
    stats::{Row, Table},
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bench = Bench::new(&args).await.context("setting up")?;
    let result = run(&bench, &args).await;
    bench.cleanup().await;
    let table = result?;
    println!("\n{table}");
    Ok(())
}

async fn run(bench: &Bench, args: &Args) -> anyhow::Result<Table> {
    let mut table = Table::default();
    let secs = Duration::from_secs(args.seconds);

    eprintln!(
        "ceiling: confirmed persistent publishes to a quorum queue ({} publishers, {} node(s): {})",
        args.concurrency,
        bench.nodes.len(),
        bench.nodes
    );
    let ceiling_publish = load::publish_ceiling(bench, args.concurrency, secs).await?;
    bench.purge().await?;
    table.push(Row::rate(
        "ceiling: confirmed publishes/s (lapin, quorum queue)",
        ceiling_publish,
        None,
    ));
    if args.publish_ceiling_only {
        return Ok(table);
    }

    eprintln!(
        "ceiling: the worker's SQL, straight against Postgres, batches of {} on {} connections",
        args.batch_size, args.concurrency_db
    );
    let ceiling_sql =
        load::sql_ceiling(bench, 20_000, args.batch_size, args.concurrency_db).await?;
    bench.truncate().await?;
    table.push(Row::rate(
        &format!(
            "ceiling: worker SQL events/s ({} connections)",
            args.concurrency_db
        ),
        ceiling_sql,
        None,
    ));

    eprintln!("receiver: {} connections for {secs:?}", args.concurrency);
    let r = load::receiver_throughput(bench, args.concurrency, secs).await?;
    bench.purge().await?;
    table.push(Row::rate(
        "receiver: accepted webhooks/s",
        r.rate,
        Some(ceiling_publish),
    ));
    table.push(Row::millis("receiver: latency p50", r.p50));
    table.push(Row::millis("receiver: latency p99", r.p99));
    table.push(Row::megabytes("receiver: peak RSS", r.peak_rss_kb));
    table.push(Row::count("receiver: non-2xx answers", r.failures as f64));

    for n in [10_000, args.backlog] {
        eprintln!("worker: drain a backlog of {n} events");
        let w = load::worker_drain(bench, n, args.batch_size, args.concurrency_db).await?;
        bench.truncate().await?;
        table.push(Row::rate(
            &format!("worker: drain events/s ({n} backlog)"),
            w.rate,
            Some(ceiling_sql),
        ));
        table.push(Row::megabytes(
            &format!("worker: peak RSS ({n} backlog)"),
            w.peak_rss_kb,
        ));
    }

    eprintln!("end to end: {} events/s for {secs:?}", args.rate);
    let started = Instant::now();
    let e = load::end_to_end(bench, args.rate, secs, args.batch_size, args.concurrency_db).await?;
    eprintln!("end to end took {:?}", started.elapsed());
    table.push(Row::millis("end to end: POST to applied, p50", e.p50));
    table.push(Row::millis("end to end: POST to applied, p99", e.p99));
    table.push(Row::rate("end to end: offered events/s", e.rate, None));
    Ok(table)
}
