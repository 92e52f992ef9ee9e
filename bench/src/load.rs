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
use svix::webhooks::Webhook;
use worker::apply::{apply_batch, EventToApply, Payloads};

use crate::{
    setup::{free_port, peak_rss_kb, stop, Bench, SECRET},
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

fn properties(svix_id: &str) -> BasicProperties {
    let mut h = FieldTable::default();
    shared::headers::set_str(&mut h, "svix-id", svix_id);
    shared::headers::set_str(
        &mut h,
        "x-received-at",
        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(svix_id.into())
        .with_headers(h)
}

/// Confirmed persistent publishes per second, `concurrency` publishers on one
/// confirm channel (as the receiver publishes).
pub async fn publish_ceiling(b: &Bench, concurrency: usize, secs: Duration) -> anyhow::Result<f64> {
    let ch = b.channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..1000).map(body).collect());
    let done = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + secs;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let ch = ch.clone();
        let bodies = bodies.clone();
        let done = done.clone();
        let exchange = b.topology.exchange();
        tasks.push(tokio::spawn(async move {
            let mut n = t;
            while Instant::now() < stop_at {
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
                done.fetch_add(1, Ordering::Relaxed);
                n += concurrency;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Events per second the worker's SQL sustains, in batches of `batch`, on
/// `connections` connections at once (as many as the worker has batches in flight).
pub async fn sql_ceiling(
    b: &Bench,
    n: usize,
    batch: usize,
    connections: usize,
) -> anyhow::Result<f64> {
    let events: Vec<_> = (0..n)
        .map(|i| {
            let env = shared::event::Envelope::parse(&body(i)).context("envelope")?;
            EventToApply::from_envelope(
                &format!("msg_sql_{i}"),
                env,
                Some(chrono::Utc::now()),
                1,
                Payloads::Discard,
            )
            .map_err(|e| anyhow::anyhow!(e))
        })
        .collect::<anyhow::Result<_>>()?;
    let batches: Vec<Vec<_>> = events.chunks(batch).map(<[_]>::to_vec).collect();
    let mut shares: Vec<Vec<Vec<_>>> = (0..connections.max(1)).map(|_| Vec::new()).collect();
    for (i, chunk) in batches.into_iter().enumerate() {
        shares[i % connections.max(1)].push(chunk);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for share in shares {
        let mut conn = b.conn()?;
        tasks.push(tokio::task::spawn_blocking(move || {
            for chunk in share {
                for r in apply_batch(&mut conn, &chunk)? {
                    r?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

pub struct Throughput {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub peak_rss_kb: u64,
    pub failures: u64,
}

fn signed_request(
    http: &reqwest::Client,
    hook: &Webhook,
    url: &str,
    id: &str,
    body: Vec<u8>,
) -> anyhow::Result<reqwest::RequestBuilder> {
    let ts = chrono::Utc::now().timestamp();
    let sig = hook.sign(id, ts, &body)?;
    Ok(http
        .post(url)
        .header("content-type", "application/json")
        .header("svix-id", id)
        .header("svix-timestamp", ts.to_string())
        .header("svix-signature", sig)
        .body(body))
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
    anyhow::bail!("receiver did not become ready")
}

/// Accepted webhooks per second and latency at `concurrency` connections.
pub async fn receiver_throughput(
    b: &Bench,
    concurrency: usize,
    secs: Duration,
) -> anyhow::Result<Throughput> {
    let port = free_port()?;
    let child = b.spawn_receiver(port)?;
    let pid = child.id();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    wait_ready(&http, port).await?;
    let url = format!("http://127.0.0.1:{port}/webhooks/clerk");
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new((0..5000).map(body).collect());
    let hook = Arc::new(Webhook::new(SECRET)?);
    let stopping = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (http, url, bodies, hook, stopping, failures) = (
            http.clone(),
            url.clone(),
            bodies.clone(),
            hook.clone(),
            stopping.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = t;
            while !stopping.load(Ordering::Relaxed) {
                let id = format!("msg_recv_{t}_{n}");
                let req =
                    signed_request(&http, &hook, &url, &id, bodies[n % bodies.len()].clone())?;
                let started = Instant::now();
                let ok = req
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    latencies.push(started.elapsed());
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                n += concurrency;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    // One second of warm-up is measured separately and dropped.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    tokio::time::sleep(secs).await;
    stopping.store(true, Ordering::Relaxed);
    let elapsed_measured = started.elapsed();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let total_elapsed = elapsed_measured + Duration::from_secs(1);
    let rss = peak_rss_kb(pid);
    stop(child);
    all.sort();
    Ok(Throughput {
        rate: all.len() as f64 / total_elapsed.as_secs_f64(),
        p50: percentile(&all, 50.0),
        p99: percentile(&all, 99.0),
        peak_rss_kb: rss,
        failures: failures.load(Ordering::Relaxed),
    })
}

pub struct Drain {
    pub rate: f64,
    pub peak_rss_kb: u64,
}

/// Fills the events queue with `n` events, then times a worker draining it.
pub async fn worker_drain(
    b: &Bench,
    n: usize,
    batch: usize,
    concurrency: usize,
) -> anyhow::Result<Drain> {
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
                    properties(&format!("msg_drain_{n}_{i}")),
                )
                .await?;
            drop(confirm);
        }
        ch.wait_for_confirms().await?;
    }
    let child = b.spawn_worker(batch, concurrency)?;
    let pid = child.id();
    let mut conn = b.conn()?;
    let mut first_seen = None;
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let count = b.count_events(&mut conn)?;
        if count > 0 && first_seen.is_none() {
            first_seen = Some((Instant::now(), count));
        }
        if count >= n as i64 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "drain of {n} did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let finished = Instant::now();
    let rss = peak_rss_kb(pid);
    stop(child);
    let (t0, c0) = first_seen.unwrap_or((finished, 0));
    let drained = (n as i64 - c0) as f64;
    Ok(Drain {
        rate: drained / finished.duration_since(t0).as_secs_f64().max(1e-3),
        peak_rss_kb: rss,
    })
}

pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
    pub rate: f64,
}

/// Posts at a steady `rate` for `secs` with receiver and worker running, and measures
/// the time from each POST to its `webhook_events.processed_at`.
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
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    wait_ready(&http, port).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = Arc::new(format!("http://127.0.0.1:{port}/webhooks/clerk"));
    let hook = Arc::new(Webhook::new(SECRET)?);
    let total = (rate * secs.as_secs()) as usize;
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let (http, url, hook) = (http.clone(), url.clone(), hook.clone());
        tasks.push(tokio::spawn(async move {
            let id = format!("msg_e2e_{i}");
            let sent = chrono::Utc::now();
            let req = signed_request(&http, &hook, &url, &id, body(i))?;
            let ok = req
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            Ok::<_, anyhow::Error>((id, sent, ok))
        }));
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    let mut sent = std::collections::HashMap::new();
    for t in tasks {
        let (id, at, ok) = t.await??;
        anyhow::ensure!(ok, "event {id} was not accepted");
        sent.insert(id, at);
    }
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
        rate: offered,
    })
}
