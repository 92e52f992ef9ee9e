//! CPU time of processes, from `/proc/PID/stat` (user + system, every thread of the
//! process), for CPU microseconds per event.
//!
//! What is counted for each component:
//! - a process we start (receiver, worker, sink): the process, all its threads;
//! - RabbitMQ: the `beam.smp` process (all schedulers and I/O threads);
//! - Postgres: the backends of the bench's database that are alive at both ends of
//!   a phase (the bench's own polling connection excluded). Background processes
//!   (WAL writer, checkpointer) are not counted, in ours or in the floor.

use std::collections::HashMap;

use anyhow::Context;

/// Clock ticks per second of `/proc/PID/stat` (`sysconf(_SC_CLK_TCK)`: 100 on every
/// Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// user + system ticks of a process (or thread), if it still exists.
pub fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields are
    // counted from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The process whose command name is `comm` (the first found).
pub fn find_process(comm: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == comm)
        })
}

/// The RabbitMQ node's process.
pub fn rabbitmq_pid() -> anyhow::Result<u32> {
    find_process("beam.smp").context("no beam.smp process: is RabbitMQ running on this host?")
}

/// CPU ticks of a set of processes at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    ticks: HashMap<u32, u64>,
}

impl Snapshot {
    pub fn of(pids: impl IntoIterator<Item = u32>) -> Self {
        Self {
            ticks: pids
                .into_iter()
                .filter_map(|p| Some((p, ticks(p)?)))
                .collect(),
        }
    }

    /// CPU seconds spent since `earlier` by the processes present in both.
    pub fn seconds_since(&self, earlier: &Snapshot) -> f64 {
        let ticks: u64 = self
            .ticks
            .iter()
            .filter_map(|(pid, t)| Some(t.saturating_sub(*earlier.ticks.get(pid)?)))
            .sum();
        ticks as f64 / TICKS_PER_SECOND
    }
}

/// CPU seconds a phase cost, by component.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    pub seconds: f64,
    pub events: u64,
}

impl Spent {
    pub fn new(seconds: f64, events: u64) -> Self {
        Self { seconds, events }
    }

    /// CPU microseconds per event.
    pub fn micros_per_event(&self) -> f64 {
        if self.events == 0 {
            return f64::NAN;
        }
        self.seconds * 1e6 / self.events as f64
    }
}

/// This process's own CPU ticks.
pub fn own_snapshot() -> Snapshot {
    Snapshot::of([std::process::id()])
}

/// The Postgres backends connected to `database`, except `exclude` (our own).
pub fn postgres_backends(
    conn: &mut diesel::PgConnection,
    database: &str,
    exclude: &[i32],
) -> anyhow::Result<Vec<u32>> {
    use diesel::{sql_query, sql_types::Integer, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Backend {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    let rows: Vec<Backend> = sql_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
    )
    .bind::<diesel::sql_types::Text, _>(database)
    .load(conn)
    .context("listing Postgres backends")?;
    Ok(rows
        .into_iter()
        .filter(|b| !exclude.contains(&b.pid))
        .filter_map(|b| u32::try_from(b.pid).ok())
        .collect())
}

/// The server pid of a connection.
pub fn backend_pid(conn: &mut diesel::PgConnection) -> anyhow::Result<i32> {
    use diesel::{dsl::sql, sql_types::Integer, RunQueryDsl};
    Ok(diesel::select(sql::<Integer>("pg_backend_pid()")).get_result(conn)?)
}

/// Busy and total jiffies of the whole machine (`/proc/stat`, every CPU; idle and
/// I/O wait count as not busy).
fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// Waits until the machine is quiet (under a tenth of its CPUs busy for two
/// samples of 200 ms in a row), at most 30 s, so that a phase does not pay for what
/// the one before left behind: RabbitMQ compacting the log of the messages just
/// purged, Postgres checkpointing, a process still exiting.
pub async fn settle() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let started = std::time::Instant::now();
    let mut quiet = 0;
    let Some(mut before) = machine_jiffies() else {
        return;
    };
    while started.elapsed() < std::time::Duration::from_secs(30) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let Some(now) = machine_jiffies() else {
            return;
        };
        let (busy, total) = (now.0 - before.0, now.1 - before.1);
        before = now;
        if total > 0 && (busy as f64 / total as f64) < 0.1 {
            quiet += 1;
            if quiet == 2 {
                return;
            }
        } else {
            quiet = 0;
        }
    }
    eprintln!(
        "  (the machine was still more than {:.1} CPUs busy after 30 s; measuring anyway)",
        0.1 * cpus
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_ticks() {
        let before = ticks(std::process::id()).expect("own stat");
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i ^ (x >> 3));
        }
        assert!(x != 1);
        let after = ticks(std::process::id()).expect("own stat");
        assert!(after >= before);
    }
}
