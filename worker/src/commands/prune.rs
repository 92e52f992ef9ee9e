//! `worker prune`: deletes `webhook_events` records older than `--older-than`, and
//! the change feed's changes older than `CHANGES_RETENTION` that every relay has
//! passed.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::{apply, feed, settings};

/// Svix retries for about 28 hours; dedup records must outlive that.
pub const MIN_RETENTION: Duration = Duration::from_secs(30 * 3600);

#[derive(Debug, Args)]
pub struct Prune {
    /// e.g. 7d, 36h. Records younger than Svix's ~28 h retry window are what
    /// deduplicates retries, so less than 30h is refused without --force.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "7d")]
    pub older_than: Duration,
    /// Allow --older-than below 30h.
    #[arg(long)]
    pub force: bool,
}

fn ago(d: Duration, what: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let d = chrono::Duration::from_std(d).with_context(|| format!("{what} is too large"))?;
    Ok(chrono::Utc::now() - d)
}

impl Prune {
    pub async fn run(self) -> anyhow::Result<()> {
        if self.older_than < MIN_RETENTION && !self.force {
            anyhow::bail!(
                "--older-than {} is shorter than 30h: Svix retries for about 28 h, and a \
                 retry whose record is gone would be applied again. Use --force to prune anyway.",
                humantime::format_duration(self.older_than)
            );
        }
        let url = settings::database_url()?;
        let schema = settings::database_schema()?;
        let retention = settings::changes_retention()?;
        let cutoff = ago(self.older_than, "--older-than")?;
        let changes_cutoff = ago(retention, "CHANGES_RETENTION")?;
        let (records, changes) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut conn = shared::db::connect(&url, &schema)?;
            let records = apply::prune(&mut conn, cutoff, apply::PRUNE_CHUNK)
                .context("could not prune webhook_events")?;
            let changes = feed::prune::prune(&mut conn, changes_cutoff, apply::PRUNE_CHUNK)
                .context("could not prune the change feed")?;
            Ok((records, changes))
        })
        .await
        .context("the prune task failed")??;
        println!(
            "deleted {} webhook_events records processed before {cutoff} ({} chunks)",
            records.records, records.chunks
        );
        println!(
            "deleted {} changes committed before {changes_cutoff} (CHANGES_RETENTION {}); the feed now starts after seq {}",
            changes.changes,
            humantime::format_duration(retention),
            changes.pruned_through
        );
        if let Some(least) = changes.held_by_relay {
            println!("relays have published through seq {least} at least: younger changes are kept for them");
        }
        Ok(())
    }
}
