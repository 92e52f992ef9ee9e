use std::{process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use shared::{
    config::{self, AmqpSettings, LogSettings},
    topology::Topology,
};
use worker::{dlq, startup, Settings};

/// clerk-sync worker: applies Clerk events from RabbitMQ to Postgres.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, declare the topology and consume until SIGTERM or SIGINT (default).
    Run,
    /// Create the database if needed, run the migrations, and exit.
    Migrate,
    /// Read and replay the dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Read users, organizations and memberships (and with --all-objects the other
    /// families) from Clerk's Backend API and apply them under the ordering rules
    /// (no kind flag: all three). Needs CLERK_SECRET_KEY.
    Backfill {
        #[arg(long)]
        users: bool,
        #[arg(long)]
        organizations: bool,
        #[arg(long)]
        memberships: bool,
        /// Also invitations, domains, roles, permissions, waitlist entries and
        /// billing subscription items (with no other flag: everything).
        #[arg(long)]
        all_objects: bool,
    },
    /// Delete webhook_events records older than a duration (e.g. 7d).
    Prune {
        /// e.g. 7d, 36h. Records younger than Svix's ~28 h retry window are what
        /// deduplicates retries, so less than 30h is refused without --force.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "7d")]
        older_than: Duration,
        /// Allow --older-than below 30h.
        #[arg(long)]
        force: bool,
    },
}

/// Svix retries for about 28 hours; dedup records must outlive that.
const MIN_RETENTION: Duration = Duration::from_secs(30 * 3600);

#[derive(Subcommand)]
enum DlqCommand {
    /// Show dead letters without removing them.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back to the events exchange (all of them, with no filter).
    Replay {
        /// Only this svix-id (repeatable).
        #[arg(long = "id")]
        ids: Vec<String>,
        /// Only this event type.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// Move at most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// Print what would move, move nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = config::load_dotenv() {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let log = match LogSettings::from_env() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init(&log);
    match execute(cli.command.unwrap_or(Command::Run)).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run => {
            let settings = match Settings::from_env() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            tracing::info!(
                database = %config::redact_url(&settings.database_url),
                amqp = %config::redact_url(&settings.amqp.url),
                prefix = %settings.amqp.prefix,
                max_attempts = settings.max_attempts,
                retry_delays = ?settings.retry_delays,
                "starting worker"
            );
            startup::run(settings).await?;
        }
        Command::Migrate => {
            let url = worker::settings::database_url()?;
            let applied = startup::migrate(&url, Duration::from_secs(30)).await?;
            println!("migrations applied: {}", applied.len());
        }
        Command::Backfill {
            users,
            organizations,
            memberships,
            all_objects,
        } => {
            let settings = match worker::backfill::Settings::from_env() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let applied = startup::migrate(&settings.database_url, Duration::from_secs(30)).await?;
            if !applied.is_empty() {
                tracing::info!(migrations = ?applied, "database migrated");
            }
            let pool = shared::db::pool(&settings.database_url, 2)?;
            let client = settings.client()?;
            let kinds = worker::backfill::Kinds::from_flags(users, organizations, memberships)
                .with_all_objects(all_objects);
            tracing::info!(api = %settings.api_url, %kinds, "backfill starting");
            let summary = tokio::select! {
                summary = worker::backfill::backfill(&pool, &client, kinds) => summary?,
                _ = tokio::signal::ctrl_c() => anyhow::bail!(
                    "interrupted: the pages applied so far stay; run `worker backfill` again to finish (it is safe to rerun)"
                ),
            };
            print!("{summary}");
        }
        Command::Prune { older_than, force } => {
            if older_than < MIN_RETENTION && !force {
                anyhow::bail!(
                    "--older-than {} is shorter than 30h: Svix retries for about 28 h, and a \
                     retry whose record is gone would be applied again. Use --force to prune anyway.",
                    humantime::format_duration(older_than)
                );
            }
            let url = worker::settings::database_url()?;
            let cutoff = chrono::Utc::now()
                - chrono::Duration::from_std(older_than)
                    .map_err(|_| anyhow::anyhow!("--older-than is too large"))?;
            let deleted = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                use diesel::Connection;
                let mut conn = diesel::PgConnection::establish(&url)?;
                Ok(worker::apply::prune(&mut conn, cutoff)?)
            })
            .await??;
            println!("deleted {deleted} webhook_events records processed before {cutoff}");
        }
        Command::Dlq { command } => {
            let amqp = AmqpSettings::from_env()?;
            let topology = Topology::new(amqp.prefix.clone());
            match command {
                DlqCommand::List { limit, json } => {
                    let letters = dlq::list(&amqp.url, &topology, limit).await?;
                    if json {
                        for l in &letters {
                            println!("{}", serde_json::to_string(l)?);
                        }
                    } else {
                        print_table(&letters);
                        println!("{} dead letter(s) shown", letters.len());
                    }
                }
                DlqCommand::Replay {
                    ids,
                    event_type,
                    limit,
                    dry_run,
                } => {
                    let filter = dlq::Filter {
                        ids,
                        event_type,
                        limit,
                        ..Default::default()
                    };
                    let moved = dlq::replay(&amqp.url, &topology, &filter, dry_run).await?;
                    if dry_run {
                        print_table(&moved);
                        println!(
                            "would move {} dead letter(s) (dry run: nothing moved)",
                            moved.len()
                        );
                    } else {
                        println!(
                            "moved {} dead letter(s) back to {}",
                            moved.len(),
                            topology.exchange()
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(letters: &[dlq::DeadLetter]) {
    if letters.is_empty() {
        return;
    }
    println!(
        "{:<36} {:<32} {:<34} {:>8}  {:<24}  REASON",
        "SVIX-ID", "TYPE", "OBJECT-ID", "ATTEMPTS", "DEAD-AT"
    );
    for l in letters {
        println!(
            "{:<36} {:<32} {:<34} {:>8}  {:<24}  {}",
            l.svix_id.as_deref().unwrap_or("-"),
            l.event_type,
            l.object_id.as_deref().unwrap_or("-"),
            l.attempts,
            l.dead_at.as_deref().unwrap_or("-"),
            l.reason
        );
    }
}
