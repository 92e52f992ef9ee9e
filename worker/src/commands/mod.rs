//! The `worker` subcommands, each in its own file owning its arguments and its
//! `run` (`main.rs` only parses and dispatches), and what every command shares:
//! logs and traces set up from the environment, and the exit code of an error.

pub mod backfill;
pub mod dlq;
pub mod migrate;
pub mod prune;
pub mod reconcile;
pub mod relay;
pub mod run;

use std::process::ExitCode;

use clap::Subcommand;
use shared::{
    config::{self, ConfigError, LogSettings},
    report::CONFIG_EXIT_CODE,
};

#[derive(Subcommand)]
pub enum Command {
    /// Migrate, declare the topology and consume until SIGTERM or SIGINT (default).
    Run(run::Run),
    /// Create the database and DATABASE_SCHEMA if needed (moving an older install's
    /// tables from public into it), run the migrations, and exit.
    Migrate(migrate::Migrate),
    /// Read and replay the dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: dlq::Dlq,
    },
    /// Read users, organizations and memberships (and with --all-objects the other
    /// families) from Clerk's Backend API and apply them under the ordering rules
    /// (no kind flag: all three). Needs CLERK_SECRET_KEY.
    Backfill(backfill::Backfill),
    /// Compare the tables with Clerk's Backend API and repair drift both ways: apply
    /// what is missing or older, tombstone what Clerk confirms it no longer has (no
    /// kind flag: users, organizations and memberships). Needs CLERK_SECRET_KEY.
    Reconcile(reconcile::Reconcile),
    /// Delete webhook_events records older than a duration (e.g. 7d), and the change
    /// feed's changes older than CHANGES_RETENTION that every relay has passed.
    Prune(prune::Prune),
    /// Publish the change feed to the {prefix}.changes exchange, in order, until
    /// SIGTERM or SIGINT (CHANGES_RELAY_NAME names its cursor).
    Relay(relay::Relay),
}

impl Default for Command {
    fn default() -> Self {
        Self::Run(run::Run::default())
    }
}

/// Sets up logs and traces, runs `command`, and says how it ended: a configuration
/// error exits with the same code in every command.
pub async fn main(command: Command) -> ExitCode {
    let log = match config::load_dotenv().and_then(|()| LogSettings::from_env()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(CONFIG_EXIT_CODE);
        }
    };
    shared::telemetry::run_traced(&log, shared::otel::WORKER_SERVICE, async {
        match execute(command).await {
            Ok(code) => code,
            Err(e) if e.downcast_ref::<ConfigError>().is_some() => {
                eprintln!("{e}");
                ExitCode::from(CONFIG_EXIT_CODE)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
    .await
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(c) => c.run().await?,
        Command::Migrate(c) => c.run().await?,
        Command::Dlq { command } => command.run().await?,
        Command::Backfill(c) => c.run().await?,
        Command::Reconcile(c) => return c.run().await,
        Command::Prune(c) => c.run().await?,
        Command::Relay(c) => c.run().await?,
    }
    Ok(ExitCode::SUCCESS)
}
