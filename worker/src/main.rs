use std::{process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use shared::{
    config::{self, AmqpSettings, ConfigError, LogSettings},
    report::CONFIG_EXIT_CODE,
    topology::Topology,
};
use worker::{commands, dlq, startup, Settings};

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

#[derive(Subcommand)]
enum Command {
    /// Migrate, declare the topology and consume until SIGTERM or SIGINT (default).
    Run {
        /// Do not migrate: check that DATABASE_SCHEMA has every migration, and refuse
        /// to start if not (for a runtime role without DDL rights; run `worker
        /// migrate` as the owner first).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Create the database and DATABASE_SCHEMA if needed (moving an older install's
    /// tables from public into it), run the migrations, and exit.
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
    /// Compare the tables with Clerk's Backend API and repair drift both ways: apply
    /// what is missing or older, tombstone what Clerk confirms it no longer has (no
    /// kind flag: users, organizations and memberships). Needs CLERK_SECRET_KEY.
    Reconcile {
        #[arg(long)]
        users: bool,
        #[arg(long)]
        organizations: bool,
        #[arg(long)]
        memberships: bool,
        /// Every kind clerk-sync keeps (today: users, organizations, memberships).
        #[arg(long)]
        all_objects: bool,
        /// Compare and look up, change nothing; print what would change.
        #[arg(long)]
        dry_run: bool,
        /// Run again after this pause, forever (e.g. 6h), until SIGTERM or SIGINT.
        #[arg(long, value_parser = humantime::parse_duration)]
        every: Option<Duration>,
        /// Serve /metrics (clerk_sync_reconcile_*) and /healthz on this address.
        #[arg(long)]
        metrics_addr: Option<String>,
        /// Tombstone even when more than 10% of a kind's rows look gone.
        #[arg(long)]
        force: bool,
    },
    /// Delete webhook_events records older than a duration (e.g. 7d), and the change
    /// feed's changes older than CHANGES_RETENTION that every relay has passed.
    Prune(commands::prune::Prune),
    /// Publish the change feed to the {prefix}.changes exchange, in order, until
    /// SIGTERM or SIGINT (CHANGES_RELAY_NAME names its cursor).
    Relay(commands::relay::Relay),
}

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
    /// Drop the dead letters and retry messages that are deleted users' own events,
    /// and rewrite the others that carry a deleted user's data without it. Needs
    /// DATABASE_URL (to know who is erased).
    PurgeErased {
        /// Count what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match config::load_dotenv().and_then(|()| LogSettings::from_env()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(CONFIG_EXIT_CODE);
        }
    };
    let traces = match shared::otel::Traces::from_env(shared::otel::WORKER_SERVICE) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(CONFIG_EXIT_CODE);
        }
    };
    let traces_to = traces
        .as_ref()
        .map(|t| format!("{} as {}", t.endpoint_redacted(), t.service()));
    let mut traces = shared::telemetry::init_with_traces(&log, traces);
    if let Some(to) = traces_to {
        tracing::info!("sending traces to {to} (OTLP/HTTP)");
    }
    let code = match execute(cli.command.unwrap_or(Command::Run { no_migrate: false })).await {
        Ok(code) => code,
        // Every command exits with the same code for a configuration error.
        Err(e) if e.downcast_ref::<ConfigError>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(CONFIG_EXIT_CODE)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    if let Some(mut guard) = traces.take() {
        // Blocking (it sends the last spans): not on the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || guard.shutdown()).await;
    }
    code
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { no_migrate } => {
            let mut settings = Settings::from_env()?;
            settings.migrate = !no_migrate;
            tracing::info!(
                database = %config::redact_url(&settings.database_url),
                amqp = %settings.amqp.nodes,
                amqp_ca_file = settings.amqp.nodes.ca().map_or("unset", |ca| ca.path()),
                prefix = %settings.amqp.prefix,
                max_attempts = settings.max_attempts,
                retry_delays = ?settings.retry_delays,
                "starting worker"
            );
            startup::run(settings).await?;
        }
        Command::Migrate => {
            let url = worker::settings::database_url()?;
            let schema = worker::settings::database_schema()?;
            let done = startup::migrate(&url, &schema, Duration::from_secs(30)).await?;
            if done.created_schema {
                println!("schema {schema} created");
            }
            if !done.moved_from_public.is_empty() {
                println!(
                    "moved {} tables and functions of an older install from public into schema {schema}: {}",
                    done.moved_from_public.len(),
                    done.moved_from_public.join(", ")
                );
            }
            println!("migrations applied: {}", done.applied.len());
        }
        Command::Backfill {
            users,
            organizations,
            memberships,
            all_objects,
        } => {
            let settings = worker::backfill::ClerkApiSettings::from_env()?;
            let pool = migrated_pool(&settings).await?;
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
        Command::Reconcile {
            users,
            organizations,
            memberships,
            all_objects,
            dry_run,
            every,
            metrics_addr,
            force,
        } => {
            let kinds = if all_objects {
                worker::backfill::Kinds::all().with_all_objects(true)
            } else {
                worker::backfill::Kinds::from_flags(users, organizations, memberships)
            };
            let options = worker::reconcile::Options {
                kinds,
                dry_run,
                force,
            };
            return reconcile(options, every, metrics_addr).await;
        }
        Command::Prune(prune) => prune.run().await?,
        Command::Relay(relay) => relay.run().await?,
        Command::Dlq { command } => {
            let amqp = AmqpSettings::from_env()?;
            let topology = Topology::new(amqp.prefix.clone());
            match command {
                DlqCommand::List { limit, json } => {
                    let letters = dlq::list(&amqp.nodes, &topology, limit).await?;
                    if json {
                        for l in &letters {
                            println!("{}", serde_json::to_string(l)?);
                        }
                    } else {
                        print_table(&letters);
                        println!("{} dead letter(s) shown", letters.len());
                    }
                }
                DlqCommand::PurgeErased { dry_run } => {
                    let pool = shared::db::pool(
                        &worker::settings::database_url()?,
                        &worker::settings::database_schema()?,
                        1,
                    )?;
                    let delays = worker::settings::retry_delays()?;
                    let purged =
                        dlq::purge::purge_erased(&pool, &amqp.nodes, &topology, &delays, dry_run)
                            .await?;
                    for p in &purged {
                        let (q, n, d, r) = (&p.queue, p.read, p.dropped, p.rewritten);
                        if dry_run {
                            println!("{q}: read {n}, would drop {d}, would rewrite {r}");
                        } else {
                            println!("{q}: read {n}, dropped {d}, rewrote {r}");
                        }
                    }
                    let (dropped, rewritten) = purged
                        .iter()
                        .fold((0, 0), |(d, r), p| (d + p.dropped, r + p.rewritten));
                    if dry_run {
                        println!("would drop {dropped} and rewrite {rewritten} message(s) of erased users (dry run: nothing changed)");
                    } else {
                        println!(
                            "dropped {dropped} and rewrote {rewritten} message(s) of erased users"
                        );
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
                    let moved = dlq::replay(&amqp.nodes, &topology, &filter, dry_run).await?;
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

/// For backfill and reconcile: migrates (waiting up to 30 s for Postgres), then a
/// pool of two connections.
async fn migrated_pool(
    settings: &worker::backfill::ClerkApiSettings,
) -> anyhow::Result<shared::db::PgPool> {
    let done = startup::migrate(
        &settings.database_url,
        &settings.database_schema,
        Duration::from_secs(30),
    )
    .await?;
    if !done.applied.is_empty() {
        tracing::info!(migrations = ?done.applied, "database migrated");
    }
    shared::db::pool(&settings.database_url, &settings.database_schema, 2)
}

/// `worker reconcile`: once, or every `every` until a signal.
async fn reconcile(
    options: worker::reconcile::Options,
    every: Option<Duration>,
    metrics_addr: Option<String>,
) -> anyhow::Result<ExitCode> {
    use worker::reconcile;
    let settings = match worker::backfill::ClerkApiSettings::from_env() {
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
    let signal = startup::shutdown_signal();
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
