use std::process::ExitCode;

use clap::{Parser, Subcommand};
use receiver::{
    send::{send, SendArgs},
    settings::signing_secrets,
    Application, Settings,
};
use shared::{config, report::CONFIG_EXIT_CODE};

/// mimalloc instead of glibc's malloc: allocation was 15% of the CPU profile (see
/// the README, Why these dependencies).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// clerk-sync receiver: accepts Clerk webhooks and queues them durably.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve POST /webhooks/clerk (the default).
    Serve,
    /// Sign an example event with the configured secret and post it.
    Send {
        /// Event type, e.g. user.created.
        event_type: String,
        /// The receiver's webhook URL.
        #[arg(long, default_value = "http://127.0.0.1:3000/webhooks/clerk")]
        to: String,
        /// Object id to use (default: a fresh one), e.g. to update or delete a user
        /// created by an earlier send.
        #[arg(long)]
        id: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = config::load_dotenv() {
        eprintln!("{e}");
        return ExitCode::from(CONFIG_EXIT_CODE);
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Send { event_type, to, id } => {
            let secrets = match signing_secrets() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(CONFIG_EXIT_CODE);
                }
            };
            match send(&secrets, &SendArgs { event_type, to, id }).await {
                Ok(sent) => {
                    println!(
                        "{} {} (svix-id {}, object id {})",
                        sent.status, sent.body, sent.svix_id, sent.object_id
                    );
                    if (200..300).contains(&sent.status) {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(CONFIG_EXIT_CODE);
        }
    };
    let log = settings.log.clone();
    shared::telemetry::run_traced(&log, shared::otel::RECEIVER_SERVICE, serve_with(settings)).await
}

async fn serve_with(settings: Settings) -> ExitCode {
    tracing::info!(
        bind = %settings.bind_addr,
        amqp = %settings.amqp.nodes,
        amqp_ca_file = settings.amqp.nodes.ca().map_or("unset", |ca| ca.path()),
        prefix = %settings.amqp.prefix,
        secrets = settings.secrets.len(),
        max_body_bytes = settings.max_body_bytes,
        "starting receiver"
    );
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = app.port(), "listening");
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("receiver stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
