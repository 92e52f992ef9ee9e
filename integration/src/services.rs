//! Stopping and starting the local Postgres and RabbitMQ for fault tests. Every stop
//! returns a guard that starts the service again when dropped, even on panic.

use std::{process::Command, time::Duration};

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs a command that may leave a daemon behind (a Postgres or RabbitMQ server)
/// without the files this process inherited: a test run under `flock -x
/// /tmp/clerk-sync-services.lock …` passes the lock down, and a daemon that kept it
/// would hold the lock for as long as it runs.
fn run_daemon(cmd: &str, args: &[&str]) -> bool {
    const CLOSE_INHERITED: &str = r#"for fd in /proc/self/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
exec "$@""#;
    let mut all = vec!["-c", CLOSE_INHERITED, "bash", cmd];
    all.extend_from_slice(args);
    run("bash", &all)
}

fn pg_version() -> String {
    std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .unwrap_or_else(|| "15".into())
}

/// Starts Postgres again on drop.
pub struct PostgresStopped(());

pub fn stop_postgres() -> PostgresStopped {
    let v = pg_version();
    assert!(
        run(
            "pg_ctlcluster",
            &[
                "--skip-systemctl-redirect",
                &v,
                "main",
                "stop",
                "-m",
                "fast"
            ]
        ),
        "pg_ctlcluster stop"
    );
    PostgresStopped(())
}

pub fn start_postgres() {
    let v = pg_version();
    run_daemon(
        "pg_ctlcluster",
        &["--skip-systemctl-redirect", &v, "main", "start"],
    );
    for _ in 0..100 {
        if run("pg_isready", &["-q", "-h", "127.0.0.1", "-p", "5432"]) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for PostgresStopped {
    fn drop(&mut self) {
        start_postgres();
    }
}

/// Starts RabbitMQ's app again on drop.
pub struct RabbitStopped(());

pub fn stop_rabbitmq() -> RabbitStopped {
    assert!(
        run("rabbitmqctl", &["-q", "stop_app"]),
        "rabbitmqctl stop_app"
    );
    RabbitStopped(())
}

pub fn start_rabbitmq() {
    if !run("rabbitmqctl", &["-q", "start_app"]) {
        run_daemon("rabbitmq-server", &["-detached"]);
    }
    run("rabbitmqctl", &["-q", "await_startup"]);
}

impl Drop for RabbitStopped {
    fn drop(&mut self) {
        start_rabbitmq();
    }
}

/// Lifts RabbitMQ's memory alarm on drop (the default watermark, 0.4).
pub struct MemoryAlarm(());

/// Raises RabbitMQ's memory alarm (a watermark far below what the node uses), so
/// the broker blocks every connection that publishes; returns once the alarm is on.
pub fn raise_memory_alarm() -> MemoryAlarm {
    let guard = MemoryAlarm(());
    assert!(
        run(
            "rabbitmqctl",
            &["-q", "set_vm_memory_high_watermark", "0.00001"]
        ),
        "rabbitmqctl set_vm_memory_high_watermark"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !memory_alarm_on() {
        assert!(
            std::time::Instant::now() < deadline,
            "the memory alarm did not go on"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    guard
}

fn memory_alarm_on() -> bool {
    Command::new("rabbitmq-diagnostics")
        .args(["-q", "alarms"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .to_lowercase()
                .contains("memory alarm")
        })
        .unwrap_or(false)
}

impl Drop for MemoryAlarm {
    fn drop(&mut self) {
        run(
            "rabbitmqctl",
            &["-q", "set_vm_memory_high_watermark", "0.4"],
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while memory_alarm_on() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The repository's `scripts/local-cluster`.
fn local_cluster_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-cluster")
}

/// A three-node RabbitMQ cluster on this machine: the main node and two more that
/// `scripts/local-cluster up` started beside it. Dropping it (or [`LocalCluster::down`])
/// runs `scripts/local-cluster down`: the extra nodes are forgotten, stopped and their
/// data removed, leaving the single-node broker the other tests use.
pub struct LocalCluster {
    /// The node names: the main node first (`rabbit@<host>`), then `rabbit2@…`, `rabbit3@…`.
    pub nodes: Vec<String>,
    /// Each node's `amqp://` URL (guest/guest), in the order of `nodes`.
    pub urls: Vec<String>,
    up: bool,
}

/// Starts the cluster (`scripts/local-cluster up`); panics if it does not form.
pub fn local_cluster() -> LocalCluster {
    // A guard first, so a half-formed cluster is taken down too.
    let mut cluster = LocalCluster {
        nodes: Vec::new(),
        urls: Vec::new(),
        up: true,
    };
    assert!(
        run(&local_cluster_script().to_string_lossy(), &["up"]),
        "scripts/local-cluster up"
    );
    let main = main_node();
    let host = main
        .split_once('@')
        .map(|(_, h)| h.to_owned())
        .unwrap_or_default();
    cluster.nodes = vec![main, format!("rabbit2@{host}"), format!("rabbit3@{host}")];
    cluster.urls = [5672, 5673, 5674]
        .iter()
        .map(|port| format!("amqp://guest:guest@127.0.0.1:{port}/%2f"))
        .collect();
    cluster
}

impl LocalCluster {
    /// `AMQP_URL` listing the nodes in `order` (indexes into [`LocalCluster::urls`]).
    pub fn amqp_url(&self, order: &[usize]) -> String {
        order
            .iter()
            .map(|&i| self.urls[i].as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Takes the extra nodes down now; panics if that fails.
    pub fn down(mut self) {
        self.up = false;
        assert!(
            run(&local_cluster_script().to_string_lossy(), &["down"]),
            "scripts/local-cluster down"
        );
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if self.up {
            run(&local_cluster_script().to_string_lossy(), &["down"]);
        }
    }
}

/// The name of the local node `rabbitmqctl` talks to by default.
pub fn main_node() -> String {
    rabbitmqctl(None, &["eval", "node()."])
        .trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .to_owned()
}

/// `rabbitmqctl -q [-n node] args…`'s standard output ("" if it failed).
fn rabbitmqctl(node: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new("rabbitmqctl");
    if let Some(node) = node {
        cmd.args(["-n", node]);
    }
    cmd.arg("-q")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// A quorum queue's leader and members, as node `via` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStatus {
    pub leader: String,
    pub members: Vec<String>,
    /// Members that run now.
    pub online: Vec<String>,
}

/// The status of quorum queue `queue` (vhost `/`), asked of node `via` (a node that
/// runs); `None` if it cannot tell.
pub fn quorum_status(via: &str, queue: &str) -> Option<QuorumStatus> {
    let text = rabbitmqctl(
        Some(via),
        &[
            "list_queues",
            "name",
            "leader",
            "members",
            "online",
            "--formatter",
            "json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_str(&text).ok()?;
    let row = rows.as_array()?.iter().find(|r| r["name"] == queue)?;
    let names = |v: &serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        n.sort();
        n
    };
    Some(QuorumStatus {
        leader: row["leader"].as_str()?.to_owned(),
        members: names(&row["members"]),
        online: names(&row["online"]),
    })
}

/// The nodes of the cluster as node `via` sees them: (members, running), sorted.
pub fn cluster_nodes(via: Option<&str>) -> (Vec<String>, Vec<String>) {
    let text = rabbitmqctl(via, &["cluster_status", "--formatter", "json"]);
    let status: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let names = |key: &str| -> Vec<String> {
        status[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut members = names("disk_nodes");
    members.extend(names("ram_nodes"));
    members.sort();
    let mut running = names("running_nodes");
    running.sort();
    (members, running)
}

/// Starts the RabbitMQ application of a node again on drop.
pub struct NodeStopped(String);

/// Stops the RabbitMQ application of `node` (`rabbitmqctl -n node stop_app`): the
/// node is gone for clients and for the rest of the cluster; its Erlang VM keeps
/// running, so the guard can start it again.
pub fn stop_node(node: &str) -> NodeStopped {
    assert!(
        run("rabbitmqctl", &["-n", node, "-q", "stop_app"]),
        "rabbitmqctl -n {node} stop_app"
    );
    NodeStopped(node.to_owned())
}

impl Drop for NodeStopped {
    fn drop(&mut self) {
        run("rabbitmqctl", &["-n", &self.0, "-q", "start_app"]);
        run("rabbitmqctl", &["-n", &self.0, "-q", "await_startup"]);
    }
}
