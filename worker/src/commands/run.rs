//! `worker run` (the default): migrate, declare the topology and consume until
//! SIGTERM or SIGINT.

use clap::Args;
use shared::config;

use crate::{startup, Settings};

#[derive(Debug, Args, Default)]
pub struct Run {
    /// Do not migrate: check that DATABASE_SCHEMA has every migration, and refuse
    /// to start if not (for a runtime role without DDL rights; run `worker
    /// migrate` as the owner first).
    #[arg(long)]
    pub no_migrate: bool,
}

impl Run {
    pub async fn run(self) -> anyhow::Result<()> {
        let mut settings = Settings::from_env()?;
        settings.migrate = !self.no_migrate;
        tracing::info!(
            database = %config::redact_url(&settings.database_url),
            amqp = %settings.amqp.nodes,
            amqp_ca_file = settings.amqp.nodes.ca().map_or("unset", |ca| ca.path()),
            prefix = %settings.amqp.prefix,
            max_attempts = settings.max_attempts,
            retry_delays = ?settings.retry_delays,
            "starting worker"
        );
        startup::run(settings).await
    }
}
