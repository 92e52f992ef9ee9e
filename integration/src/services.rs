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
    run(
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
        run("rabbitmq-server", &["-detached"]);
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
