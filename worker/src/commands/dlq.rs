//! `worker dlq`: read, replay and purge the dead-letter queue.

use clap::Subcommand;
use shared::{config::AmqpSettings, topology::Topology};

use crate::{dlq, settings};

#[derive(Subcommand)]
pub enum Dlq {
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

impl Dlq {
    pub async fn run(self) -> anyhow::Result<()> {
        let amqp = AmqpSettings::from_env()?;
        let topology = Topology::new(amqp.prefix.clone());
        match self {
            Self::List { limit, json } => {
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
            Self::PurgeErased { dry_run } => {
                let pool =
                    shared::db::pool(&settings::database_url()?, &settings::database_schema()?, 1)?;
                let delays = settings::retry_delays()?;
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
            Self::Replay {
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
        Ok(())
    }
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
