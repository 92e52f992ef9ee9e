//! `stack-load`: signed `user.created` webhooks at a steady rate, for
//! `scripts/stack-test` (the stack in containers, reached through its published port).
//!
//! ```text
//! stack-load --to URL --count N [--rate PER_SECOND] [--out FILE]
//! ```
//!
//! Signs with `CLERK_WEBHOOK_SIGNING_SECRET` (default: the development secret the
//! compose file falls back to), using the svix crate's `sign`. Like Svix, it sends an
//! event again (same `svix-id`, fresh signature) while the receiver does not answer
//! 2xx, up to 30 times half a second apart. Every event that got a 2xx is written to
//! `--out` as `svix_id,user_id`, one a line; the last line of stdout says how many
//! were sent, accepted and given up on. Exits non-zero only when nothing could be
//! done at all (bad arguments, unwritable output).

use std::{
    io::Write,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use integration::{signed_headers, webhooks::user_event, SECRET};
use tokio::sync::Semaphore;

const ATTEMPTS: u32 = 30;
const RETRY_DELAY: Duration = Duration::from_millis(500);

struct Args {
    to: String,
    count: usize,
    rate: f64,
    out: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        to: "http://127.0.0.1:3000/webhooks/clerk".into(),
        count: 100,
        rate: 200.0,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value; usage: stack-load --to URL --count N [--rate PER_SECOND] [--out FILE]"))
        };
        match flag.as_str() {
            "--to" => args.to = value()?,
            "--count" => args.count = value()?.parse().context("--count: a number")?,
            "--rate" => args.rate = value()?.parse().context("--rate: events per second")?,
            "--out" => args.out = Some(value()?),
            other => bail!("unknown argument {other:?}; usage: stack-load --to URL --count N [--rate PER_SECOND] [--out FILE]"),
        }
    }
    if args.rate <= 0.0 {
        bail!("--rate must be above 0");
    }
    Ok(args)
}

enum Outcome {
    Accepted { svix_id: String, user_id: String },
    GaveUp { svix_id: String, last: String },
}

async fn deliver(client: &reqwest::Client, to: &str, secret: &str, n: usize, run: &str) -> Outcome {
    let svix_id = format!("msg_stack_{run}_{n}");
    let user_id = format!("user_stack_{run}_{n}");
    let now_ms = chrono::Utc::now().timestamp_millis();
    let body = match serde_json::to_vec(&user_event("user.created", &user_id, now_ms, "Stack")) {
        Ok(body) => body,
        Err(e) => {
            return Outcome::GaveUp {
                svix_id,
                last: format!("could not encode the event: {e}"),
            }
        }
    };
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(RETRY_DELAY).await;
        }
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = client
            .post(to)
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in signed_headers(secret, &svix_id, timestamp, &body) {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                return Outcome::Accepted { svix_id, user_id };
            }
            Ok(response) => last = format!("answered {}", response.status()),
            Err(e) => last = format!("not sent: {e}"),
        }
    }
    Outcome::GaveUp { svix_id, last }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let secret = std::env::var("CLERK_WEBHOOK_SIGNING_SECRET").unwrap_or_else(|_| SECRET.into());
    let run = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("could not build the HTTP client")?;
    let in_flight = Arc::new(Semaphore::new(64));
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.count);
    for n in 0..args.count {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = Arc::clone(&in_flight)
            .acquire_owned()
            .await
            .context("the in-flight limit was closed")?;
        let (client, to, secret, run) =
            (client.clone(), args.to.clone(), secret.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = deliver(&client, &to, &secret, n, &run).await;
            drop(permit);
            outcome
        }));
    }
    let mut accepted = Vec::new();
    let mut gave_up = 0usize;
    for task in tasks {
        match task.await.context("a sender task panicked")? {
            Outcome::Accepted { svix_id, user_id } => {
                accepted.push(format!("{svix_id},{user_id}\n"))
            }
            Outcome::GaveUp { svix_id, last } => {
                gave_up += 1;
                eprintln!("gave up on {svix_id}: {last}");
            }
        }
    }
    if let Some(path) = &args.out {
        let mut file =
            std::fs::File::create(path).with_context(|| format!("could not create {path}"))?;
        file.write_all(accepted.concat().as_bytes())
            .with_context(|| format!("could not write {path}"))?;
    }
    println!(
        "sent {} in {:.1}s: {} accepted, {} given up",
        args.count,
        started.elapsed().as_secs_f64(),
        accepted.len(),
        gave_up
    );
    Ok(())
}
