//! `worker reconcile`: compare the tables with Clerk's Backend API and repair drift
//! both ways, once or on a schedule.

use std::{process::ExitCode, time::Duration};

use clap::Args;

use super::backfill::{migrated_pool, KindFlags};
use crate::{
    backfill::{ClerkApiSettings, Kinds},
    reconcile, startup,
};

#[derive(Debug, Args)]
pub struct Reconcile {
    #[command(flatten)]
    pub kinds: KindFlags,
    /// Compare and look up, change nothing; print what would change.
    #[arg(long)]
    pub dry_run: bool,
    /// Run again after this pause, forever (e.g. 6h), until SIGTERM or SIGINT.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub every: Option<Duration>,
    /// Serve /metrics (clerk_sync_reconcile_*) and /healthz on this address.
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// Tombstone even when more than 10% of a kind's rows look gone.
    #[arg(long)]
    pub force: bool,
}

impl Reconcile {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let kinds = if self.kinds.all_objects {
            Kinds::all().with_all_objects(true)
        } else {
            self.kinds.three()
        };
        let options = reconcile::Options {
            kinds,
            dry_run: self.dry_run,
            force: self.force,
        };
        reconcile(options, self.every, self.metrics_addr).await
    }
}

/// `worker reconcile`: once, or every `every` until a signal.
async fn reconcile(
    options: reconcile::Options,
    every: Option<Duration>,
    metrics_addr: Option<String>,
) -> anyhow::Result<ExitCode> {
    // Listening from the start: a signal while it migrates stops it cleanly.
    let signal = startup::ShutdownSignal::register();
    let settings = match ClerkApiSettings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    if every.is_some_and(|d| d.is_zero()) {
        eprintln!("--every must be longer than 0s");
        return Ok(ExitCode::from(2));
    }
    let pool = migrated_pool(&settings).await?;
    let client = settings.client()?;
    let metrics = reconcile::Metrics::new();
    let server = match &metrics_addr {
        Some(addr) => {
            let (server, port) = reconcile::metrics::serve(addr, metrics.clone())?;
            tracing::info!(port, "serving /metrics and /healthz");
            let handle = server.handle();
            tokio::spawn(server);
            Some(handle)
        }
        None => None,
    };
    let signal = signal.recv();
    tokio::pin!(signal);
    let mut code = ExitCode::SUCCESS;
    loop {
        tracing::info!(
            api = %settings.api_url,
            kinds = %options.kinds,
            dry_run = options.dry_run,
            "reconcile starting"
        );
        let result = tokio::select! {
            r = reconcile::reconcile_recorded(&pool, &client, options, &metrics) => r,
            _ = &mut signal => {
                eprintln!("interrupted: what was applied so far stays; nothing is tombstoned before a listing is complete");
                // A service stopped between two runs or in one exits 0: interrupting
                // a reconcile is safe. A one-off run that was cut short is not a success.
                if every.is_none() {
                    code = ExitCode::from(130);
                }
                break;
            }
        };
        match result {
            Ok(summary) => print!("{summary}"),
            Err(e) if every.is_some() => {
                tracing::error!(error = %format!("{e:#}"), "reconcile failed; trying again at the next period");
            }
            Err(e) => {
                if let Some(h) = &server {
                    h.stop(false).await;
                }
                return Err(e);
            }
        }
        let Some(pause) = every else { break };
        tracing::info!(next_in = %humantime::format_duration(pause), "reconcile sleeping");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = &mut signal => break,
        }
    }
    if let Some(h) = server {
        h.stop(false).await;
    }
    Ok(code)
}
