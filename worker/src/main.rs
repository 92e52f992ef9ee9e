//! The `worker` binary: parses the command line and hands it to
//! `worker::commands`, where each command lives in its own file.

use std::process::ExitCode;

use clap::Parser;
use worker::commands::{self, Command};

/// mimalloc instead of glibc's malloc: allocation was 15% of the CPU profile (see
/// the README, Why these dependencies).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// clerk-sync worker: applies Clerk events from RabbitMQ to Postgres.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::main(cli.command.unwrap_or_default()).await
}
