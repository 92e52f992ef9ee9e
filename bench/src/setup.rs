//! The bench's own database and prefix, and the binaries it starts.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use diesel::{connection::SimpleConnection, PgConnection, RunQueryDsl};
use lapin::{
    options::{QueueDeleteOptions, QueuePurgeOptions},
    Channel,
};
use shared::{amqp::NodeRotation, config::AmqpNodes, topology::Topology};

use crate::Args;

/// The local broker: the default of `--amqp-url`.
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub struct Bench {
    pub topology: Topology,
    pub prefix: String,
    pub db_url: String,
    pub retry_delays: Vec<Duration>,
    /// `--amqp-url`: one node or the nodes of a cluster.
    pub nodes: AmqpNodes,
    /// `--batch-linger`, the worker's `WORKER_BATCH_LINGER`.
    pub batch_linger: String,
}

impl Bench {
    pub async fn new(args: &Args) -> anyhow::Result<Self> {
        let nodes =
            AmqpNodes::parse(&args.amqp_url).map_err(|e| anyhow::anyhow!("--amqp-url: {e}"))?;
        let unique = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let prefix = format!("bench-{unique}");
        // No TLS on loopback, as in the compose stack (the postgres image serves
        // none): a local Postgres with `ssl = on` would otherwise have libpq encrypt
        // every statement and row, floors and worker alike, doubling Postgres's CPU
        // per event (measured: 123 against 60 µs).
        let db_url =
            format!("postgres://postgres@127.0.0.1:5432/clerk_sync_bench_{unique}?sslmode=disable");
        let url = db_url.clone();
        tokio::task::spawn_blocking(move || shared::db::migrate(&url, shared::db::DEFAULT_SCHEMA))
            .await??;
        let topology = Topology::new(prefix.clone());
        let b = Self {
            topology,
            prefix,
            db_url,
            retry_delays: vec![Duration::from_secs(1)],
            nodes,
            batch_linger: args.batch_linger.clone(),
        };
        let ch = b.channel().await?;
        b.topology.declare(&ch).await?;
        b.topology
            .declare_retry_queues(&ch, &b.retry_delays)
            .await?;
        Ok(b)
    }

    pub async fn channel(&self) -> anyhow::Result<Channel> {
        let (conn, _) = NodeRotation::new(self.nodes.clone())
            .connect("clerk-sync bench")
            .await
            .with_context(|| format!("RabbitMQ at {}", self.nodes))?;
        Ok(conn.create_channel().await?)
    }

    /// The name of the bench's database.
    pub fn db_name(&self) -> String {
        let path = self.db_url.split('?').next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or_default().to_owned()
    }

    pub fn conn(&self) -> anyhow::Result<PgConnection> {
        shared::db::connect(&self.db_url, shared::db::DEFAULT_SCHEMA)
    }

    /// Empties the events queue.
    pub async fn purge(&self) -> anyhow::Result<()> {
        let ch = self.channel().await?;
        ch.queue_purge(
            self.topology.events_queue().into(),
            QueuePurgeOptions::default(),
        )
        .await?;
        Ok(())
    }

    /// Empties the tables.
    pub async fn truncate(&self) -> anyhow::Result<()> {
        let mut c = self.conn()?;
        c.batch_execute(
            "TRUNCATE users, organizations, organization_memberships, webhook_events, changes",
        )?;
        Ok(())
    }

    pub fn count_events(&self, c: &mut PgConnection) -> anyhow::Result<i64> {
        use diesel::{dsl::count_star, QueryDsl};
        Ok(shared::schema::webhook_events::table
            .select(count_star())
            .first(c)?)
    }

    pub fn spawn_receiver(&self, port: u16) -> anyhow::Result<Child> {
        Ok(Command::new(binary("receiver")?)
            .env_clear()
            .envs(log_settings())
            .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
            .env("AMQP_URL", self.nodes.urls().join(","))
            .env("AMQP_PREFIX", &self.prefix)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .spawn()?)
    }

    pub fn spawn_worker(&self, batch_size: usize, concurrency: usize) -> anyhow::Result<Child> {
        Ok(Command::new(binary("worker")?)
            .env_clear()
            .envs(log_settings())
            .env("DATABASE_URL", &self.db_url)
            .env("AMQP_URL", self.nodes.urls().join(","))
            .env("AMQP_PREFIX", &self.prefix)
            .env("RETRY_DELAYS", "1s")
            .env("WORKER_METRICS_ADDR", "127.0.0.1:0")
            .env("WORKER_BATCH_SIZE", batch_size.to_string())
            .env("WORKER_BATCH_LINGER", &self.batch_linger)
            .env("WORKER_CONCURRENCY", concurrency.to_string())
            .stdout(Stdio::null())
            .spawn()?)
    }

    pub async fn cleanup(&self) {
        if let Ok(ch) = self.channel().await {
            for q in self.topology.all_queues(&self.retry_delays) {
                if let Err(e) = ch
                    .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                    .await
                {
                    eprintln!("cleanup: could not delete queue {q}: {e}");
                }
            }
            if let Err(e) = ch
                .exchange_delete(self.topology.exchange().into(), Default::default())
                .await
            {
                eprintln!("cleanup: could not delete exchange: {e}");
            }
        }
        let url = self.db_url.clone();
        let _ = tokio::task::spawn_blocking(move || shared::db::drop_database(&url)).await;
    }
}

/// A release binary built beside this one.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("bench binary has a directory")?
        .join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build with `cargo build --release --workspace`",
        path.display()
    );
    Ok(path)
}

/// Peak resident set size of a process, in kB (`VmHWM`).
pub fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Sends SIGTERM and waits.
pub fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `RUST_LOG` and `LOG_FORMAT` from the bench's own environment, if set, for the
/// binaries it starts (their logs go nowhere, but what they cost is measured).
fn log_settings() -> Vec<(String, String)> {
    // And the OpenTelemetry variables, so `OTEL_EXPORTER_OTLP_ENDPOINT=… bench`
    // measures with traces on.
    std::env::vars()
        .filter(|(k, _)| k == "RUST_LOG" || k == "LOG_FORMAT" || k.starts_with("OTEL_"))
        .collect()
}
