//! The phases of the benchmark.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use lapin::{
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::FieldTable,
    BasicProperties,
};
use worker::apply::apply_batch;

use crate::{
    client,
    cpu::{self, Snapshot, Spent},
    floors::{self, Floor},
    setup::{binary, free_port, peak_rss_kb, stop, Bench, SECRET},
    stats::percentile,
};

/// A realistic event body (~2.5 KB, the documented `user.created`) for object `n`.
pub fn body(n: usize) -> Vec<u8> {
    let e = shared::examples::event(
        "user.created",
        &format!("user_bench_{n:08}"),
        1_716_883_200_000 + n as i64,
    )
    .unwrap_or_default();
    serde_json::to_vec(&e).unwrap_or_default()
}

/// The properties and headers the receiver publishes with.
fn properties(svix_id: &str) -> BasicProperties {
    use shared::headers;
    let now = chrono::Utc::now();
    let mut h = FieldTable::default();
    headers::set_str(&mut h, headers::SVIX_ID, svix_id);
    headers::set_int(&mut h, headers::SVIX_TIMESTAMP, now.timestamp());
    headers::set_str(
        &mut h,
        headers::RECEIVED_AT,
        &now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(svix_id.into())
        .with_timestamp(u64::try_from(now.timestamp()).unwrap_or_default())
        .with_headers(h)
}

/// Confirmed persistent publishes per second, `concurrency` publishers on one
/// confirm channel (`concurrency` publishes in flight), with the CPU they cost this
/// process (the client) and RabbitMQ.
pub async fn publish_ceiling(
    b: &Bench,
    concurrency: usize,
    secs: Duration,
) -> anyhow::Result<Floor> {
    publish(b, concurrency, 1, secs).await
}

/// Confirmed publishes by `concurrency` publishers spread over `channels` channels of
/// one connection, each publisher waiting for its confirm before the next publish.
pub async fn publish(
    b: &Bench,
    concurrency: usize,
    channels: usize,
    secs: Duration,
) -> anyhow::Result<Floor> {
    publish_paced(b, concurrency, channels, secs, None).await
}

/// As [`publish`], but at no more than `rate` publishes per second when given: each
/// publisher takes its turn every `concurrency / rate` seconds (turns spread evenly),
/// or at once when its last confirm came late. RabbitMQ's cost per message falls as
/// the rate rises (more messages per write and per fsync of its log), so the cost
/// of a publish is compared at the same rate as well as at the ceiling's.
pub async fn publish_paced(
    b: &Bench,
    concurrency: usize,
    channels: usize,
    secs: Duration,
    rate: Option<f64>,
) -> anyhow::Result<Floor> {
    let beam = cpu::rabbitmq_pid()?;
    let (conn, _) = shared::amqp::NodeRotation::new(b.nodes.clone())
        .connect("clerk-sync bench")
        .await
        .with_context(|| format!("RabbitMQ at {}", b.nodes))?;
    let mut chans = Vec::new();
    for _ in 0..channels.max(1) {
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        chans.push(ch);
    }
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..1000).map(body).collect());
    let done = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + secs;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let ch = chans[t % chans.len()].clone();
        let bodies = bodies.clone();
        let done = done.clone();
        let exchange = b.topology.exchange();
        let mut turns = rate.map(|rate| {
            let period = Duration::from_secs_f64(concurrency as f64 / rate.max(1.0));
            let first = tokio::time::Instant::now() + period.mul_f64(t as f64 / concurrency as f64);
            let mut turns = tokio::time::interval_at(first, period);
            turns.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            turns
        });
        tasks.push(tokio::spawn(async move {
            let mut n = t;
            let mut latencies = Vec::new();
            while Instant::now() < stop_at {
                if let Some(turns) = turns.as_mut() {
                    turns.tick().await;
                }
                // From the publish, as the receiver phase times a request from its
                // send: both are closed loops of 64. Only when paced: the ceiling's
                // client cost is a floor, and carries nothing it does not need.
                let sent = turns.is_some().then(Instant::now);
                let id = format!("msg_ceiling_{t}_{n}");
                let confirm = ch
                    .basic_publish(
                        exchange.as_str().into(),
                        "user.created".into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        &bodies[n % bodies.len()],
                        properties(&id),
                    )
                    .await?
                    .await?;
                anyhow::ensure!(confirm.is_ack(), "publish not confirmed");
                if let Some(sent) = sent {
                    latencies.push(sent.elapsed());
                }
                done.fetch_add(1, Ordering::Relaxed);
                n += concurrency;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let (own0, beam0) = (cpu::own_snapshot(), Snapshot::of([beam]));
    let started = Instant::now();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let (own1, beam1) = (cpu::own_snapshot(), Snapshot::of([beam]));
    latencies.sort_unstable();
    let n = done.load(Ordering::Relaxed);
    Ok(Floor {
        latencies,
        rate: n as f64 / elapsed.as_secs_f64(),
        client: Spent::new(own1.seconds_since(&own0), n),
        server: Spent::new(beam1.seconds_since(&beam0), n),
    })
}

/// Events per second the worker's SQL (`apply_batch`, as the worker calls it)
/// sustains in batches of `batch` on `connections` connections at once, and the CPU
/// it costs Postgres.
pub async fn sql_ceiling(
    b: &Bench,
    n: usize,
    batch: usize,
    connections: usize,
) -> anyhow::Result<Floor> {
    let events = floors::events(n, "sql")?;
    let batches: Vec<Vec<_>> = events.chunks(batch.max(1)).map(<[_]>::to_vec).collect();
    floors::sql_phase(b, floors::deal(batches, connections), n, |conn, chunk| {
        for r in apply_batch(conn, chunk)? {
            r?;
        }
        Ok(())
    })
    .await
}

pub struct Throughput {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub peak_rss_kb: u64,
    pub failures: u64,
    /// CPU of the server process, per accepted request.
    pub server: Spent,
    /// CPU of RabbitMQ, per accepted request.
    pub rabbitmq: Spent,
    /// CPU of the load generator (this process), per accepted request.
    pub client: Spent,
    /// Events per publish batch, on average (the receiver's metrics; none for the
    /// sink).
    pub mean_batch: Option<f64>,
    /// Forged requests answered 401 per second, beside the good ones (the flood).
    pub refused_rate: f64,
}

async fn wait_ready(http: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("server on port {port} did not become ready")
}

/// Accepted webhooks per second and latency at `concurrency` connections, for the
/// release `receiver`.
pub async fn receiver_throughput(
    b: &Bench,
    concurrency: usize,
    secs: Duration,
) -> anyhow::Result<Throughput> {
    receiver_throughput_flooded(b, concurrency, 0, secs).await
}

/// [`receiver_throughput`] with `flood` more connections posting forged webhooks
/// (a wrong signing secret: 401, and a record for the rejected log), together
/// [`FLOOD_RATE`] a second.
pub async fn receiver_throughput_flooded(
    b: &Bench,
    concurrency: usize,
    flood: usize,
    secs: Duration,
) -> anyhow::Result<Throughput> {
    let port = free_port()?;
    let child = b.spawn_receiver(port)?;
    let result = http_load(child.id(), port, concurrency, flood, secs).await;
    stop(child);
    result
}

/// The same load against `bench-sink`, the HTTP floor.
pub async fn sink_throughput(concurrency: usize, secs: Duration) -> anyhow::Result<Throughput> {
    let port = free_port()?;
    let child = std::process::Command::new(binary("bench-sink")?)
        .env_clear()
        .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let result = http_load(child.id(), port, concurrency, 0, secs).await;
    stop(child);
    result
}

/// Forged requests per second of the flood, all its connections together: a sender
/// with a rotated secret retrying hard, about a third of what the receiver accepts
/// here.
const FLOOD_RATE: f64 = 4000.0;

/// A signing secret the receiver does not know: what a flood of forged webhooks is
/// signed with.
const FORGED_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// `concurrency` keep-alive connections posting distinct signed `user.created`
/// events to the server `pid` listening on `port`: one second of warm-up, then
/// `secs` measured (rate, latency, and CPU of the server and of RabbitMQ).
async fn http_load(
    pid: u32,
    port: u16,
    concurrency: usize,
    flood: usize,
    secs: Duration,
) -> anyhow::Result<Throughput> {
    let beam = cpu::rabbitmq_pid()?;
    let http = reqwest::Client::new();
    wait_ready(&http, port).await?;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..5000).map(body).collect());
    let signer = Arc::new(client::Signer::new(SECRET)?);
    let stopping = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (bodies, signer, stopping, measuring, accepted, failures) = (
            bodies.clone(),
            signer.clone(),
            stopping.clone(),
            measuring.clone(),
            accepted.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut conn = client::Connection::open(addr, "/webhooks/clerk").await?;
            let mut n = t;
            while !stopping.load(Ordering::Relaxed) {
                let id = format!("msg_recv_{port}_{t}_{n}");
                let started = Instant::now();
                let status = conn
                    .post_webhook(&signer, &id, &bodies[n % bodies.len()])
                    .await?;
                if (200..300).contains(&status) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(started.elapsed());
                    }
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                n += concurrency;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let refused = Arc::new(AtomicU64::new(0));
    let forger = Arc::new(client::Signer::new(FORGED_SECRET)?);
    let mut flooders = Vec::new();
    for t in 0..flood {
        let (bodies, forger, stopping, refused) = (
            bodies.clone(),
            forger.clone(),
            stopping.clone(),
            refused.clone(),
        );
        flooders.push(tokio::spawn(async move {
            let mut conn = client::Connection::open(addr, "/webhooks/clerk").await?;
            let mut n = t;
            let mut pace =
                tokio::time::interval(Duration::from_secs_f64(flood as f64 / FLOOD_RATE));
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stopping.load(Ordering::Relaxed) {
                pace.tick().await;
                let id = format!("msg_forged_{port}_{t}_{n}");
                let status = conn
                    .post_webhook(&forger, &id, &bodies[n % bodies.len()])
                    .await?;
                if status == 401 {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    // One second of warm-up, not measured.
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let refused0 = refused.load(Ordering::Relaxed);
    let (server0, beam0, own0, n0) = (
        Snapshot::of([pid]),
        Snapshot::of([beam]),
        cpu::own_snapshot(),
        accepted.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    tokio::time::sleep(secs).await;
    let (server1, beam1, own1, n1) = (
        Snapshot::of([pid]),
        Snapshot::of([beam]),
        cpu::own_snapshot(),
        accepted.load(Ordering::Relaxed),
    );
    let elapsed = started.elapsed();
    let refused_n = refused.load(Ordering::Relaxed) - refused0;
    stopping.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    for f in flooders {
        f.await??;
    }
    let rss = peak_rss_kb(pid);
    let mean_batch = mean_batch(&http, port).await;
    all.sort();
    let n = n1 - n0;
    Ok(Throughput {
        rate: n as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 50.0),
        p99: percentile(&all, 99.0),
        peak_rss_kb: rss,
        failures: failures.load(Ordering::Relaxed),
        server: Spent::new(server1.seconds_since(&server0), n),
        rabbitmq: Spent::new(beam1.seconds_since(&beam0), n),
        client: Spent::new(own1.seconds_since(&own0), n),
        mean_batch,
        refused_rate: refused_n as f64 / elapsed.as_secs_f64(),
    })
}

/// `clerk_sync_receiver_publish_batch_size` sum / count from `/metrics`.
async fn mean_batch(http: &reqwest::Client, port: u16) -> Option<f64> {
    let text = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    let sum = value("clerk_sync_receiver_publish_batch_size_sum ")?;
    let count = value("clerk_sync_receiver_publish_batch_size_count ")?;
    (count > 0.0).then(|| sum / count)
}

pub struct Drain {
    pub rate: f64,
    pub peak_rss_kb: u64,
    /// CPU per drained event: the worker, RabbitMQ, Postgres backends.
    pub worker: Spent,
    pub rabbitmq: Spent,
    pub postgres: Spent,
}

/// Puts `n` events in the events queue, confirmed, 2,000 in flight at most.
pub async fn fill_queue(b: &Bench, n: usize, tag: &str) -> anyhow::Result<()> {
    let ch = b.channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let exchange = b.topology.exchange();
    for start in (0..n).step_by(2000) {
        for i in start..(start + 2000).min(n) {
            // Confirms are awaited for the whole window below.
            let confirm = ch
                .basic_publish(
                    exchange.as_str().into(),
                    "user.created".into(),
                    BasicPublishOptions::default(),
                    &body(i),
                    properties(&format!("msg_{tag}_{n}_{i}")),
                )
                .await?;
            drop(confirm);
        }
        ch.wait_for_confirms().await?;
    }
    let _ = ch.close(200, "filled".into()).await;
    Ok(())
}

/// Fills the events queue with `n` events, then times a worker draining it, from
/// its first commit to its last.
pub async fn worker_drain(
    b: &Bench,
    n: usize,
    batch: usize,
    concurrency: usize,
) -> anyhow::Result<Drain> {
    fill_queue(b, n, "drain").await?;
    cpu::settle().await;
    let beam = cpu::rabbitmq_pid()?;
    let child = b.spawn_worker(batch, concurrency)?;
    let pid = child.id();
    let mut conn = b.conn()?;
    let own = cpu::backend_pid(&mut conn)?;
    let mut first_seen = None;
    let mut backends = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let count = b.count_events(&mut conn)?;
        if count > 0 && first_seen.is_none() {
            backends = cpu::postgres_backends(&mut conn, &b.db_name(), &[own])?;
            let snap = (
                Snapshot::of([pid]),
                Snapshot::of([beam]),
                Snapshot::of(backends.clone()),
            );
            first_seen = Some((Instant::now(), b.count_events(&mut conn)?, snap));
        }
        if count >= n as i64 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "drain of {n} did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let finished = Instant::now();
    let (w1, r1, p1) = (
        Snapshot::of([pid]),
        Snapshot::of([beam]),
        Snapshot::of(backends),
    );
    let rss = peak_rss_kb(pid);
    stop(child);
    let (t0, c0, (w0, r0, p0)) = first_seen.context("no event was applied")?;
    let drained = u64::try_from(n as i64 - c0).unwrap_or(0);
    Ok(Drain {
        rate: drained as f64 / finished.duration_since(t0).as_secs_f64().max(1e-3),
        peak_rss_kb: rss,
        worker: Spent::new(w1.seconds_since(&w0), drained),
        rabbitmq: Spent::new(r1.seconds_since(&r0), drained),
        postgres: Spent::new(p1.seconds_since(&p0), drained),
    })
}

pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    /// From when each POST was due to the receiver's answer (the event durable in
    /// RabbitMQ).
    pub answered_p50: Duration,
    pub answered_p99: Duration,
    pub rate: f64,
}

/// Connections the end-to-end phase posts on, at most (one per event per second
/// below 32/s, so a connection is never idle long enough for the receiver's
/// keep-alive to close it). Each sends every `connections / rate` seconds; at
/// 1,000/s that is every 32 ms, far longer than an answer takes, so the schedule is
/// kept.
const E2E_CONNECTIONS: usize = 32;

/// Posts at a steady `rate` for `secs` with receiver and worker running, and measures
/// the time from each POST to its `webhook_events.processed_at`. Each event's time
/// is counted from when it was due, not when it went out, so a late answer that
/// delays the next send is not hidden. The lean client (as in the throughput phase)
/// keeps the load generator's own CPU, which shares the two cores, small.
pub async fn end_to_end(
    b: &Bench,
    rate: u64,
    secs: Duration,
    batch: usize,
    concurrency: usize,
) -> anyhow::Result<Latency> {
    let port = free_port()?;
    let receiver = b.spawn_receiver(port)?;
    let worker = b.spawn_worker(batch, concurrency)?;
    let http = reqwest::Client::new();
    wait_ready(&http, port).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let signer = Arc::new(client::Signer::new(SECRET)?);
    let total = (rate * secs.as_secs()) as usize;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..total).map(body).collect());
    let connections = E2E_CONNECTIONS.min(rate.max(1) as usize);
    let period = Duration::from_secs_f64(connections as f64 / rate.max(1) as f64);
    let (t0, wall0) = (tokio::time::Instant::now(), chrono::Utc::now());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let (bodies, signer) = (bodies.clone(), signer.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = client::Connection::open(addr, "/webhooks/clerk").await?;
            let first = t0 + period.mul_f64(c as f64 / connections as f64);
            let mut turns = tokio::time::interval_at(first, period);
            turns.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sent = Vec::new();
            for i in (c..total).step_by(connections) {
                let due = turns.tick().await;
                let id = format!("msg_e2e_{i}");
                let status = conn.post_webhook(&signer, &id, &bodies[i]).await?;
                anyhow::ensure!((200..300).contains(&status), "event {id} got {status}");
                let since_start = chrono::Duration::from_std(due - t0).unwrap_or_default();
                sent.push((id, wall0 + since_start, due.elapsed()));
            }
            Ok::<_, anyhow::Error>(sent)
        }));
    }
    let mut sent = std::collections::HashMap::with_capacity(total);
    let mut answered = Vec::with_capacity(total);
    for t in tasks {
        for (id, due, took) in t.await?? {
            sent.insert(id, due);
            answered.push(took);
        }
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    answered.sort();
    let mut conn = b.conn()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while b.count_events(&mut conn)? < total as i64 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "end-to-end events not all applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(receiver);
    stop(worker);
    use diesel::{QueryDsl, RunQueryDsl, TextExpressionMethods};
    use shared::schema::webhook_events::dsl as e;
    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = e::webhook_events
        .filter(e::svix_id.like("msg_e2e_%"))
        .select((e::svix_id, e::processed_at))
        .load(&mut conn)?;
    let mut lat: Vec<Duration> = rows
        .iter()
        .filter_map(|(id, at)| {
            let s = sent.get(id)?;
            (*at - *s).to_std().ok().or(Some(Duration::ZERO))
        })
        .collect();
    lat.sort();
    Ok(Latency {
        p50: percentile(&lat, 50.0),
        p99: percentile(&lat, 99.0),
        answered_p50: percentile(&answered, 50.0),
        answered_p99: percentile(&answered, 99.0),
        rate: offered,
    })
}
