//! A PgBouncer (Debian's `pgbouncer`) in front of the local Postgres, on a port of
//! its own, for the tests of running behind a pooler. Stopped when dropped.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// PgBouncer's `pool_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
}

/// A running PgBouncer; killed, and its folder removed, on drop.
pub struct PgBouncer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl PgBouncer {
    /// Starts PgBouncer in `mode` in front of 127.0.0.1:5432 (every database, users
    /// trusted as Postgres trusts them here) and waits until it accepts connections.
    pub fn start(mode: PoolMode) -> Self {
        let port = crate::free_port();
        let dir = std::env::temp_dir().join(format!("clerk-sync-pgbouncer-{}", crate::unique()));
        std::fs::create_dir_all(&dir).expect("pgbouncer folder");
        let mode = match mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let d = dir.display();
        std::fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {d}/users.txt\npool_mode = {mode}\n\
                 default_pool_size = 10\nmax_client_conn = 200\n\
                 logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n\
                 ignore_startup_parameters = extra_float_digits\n"
            ),
        )
        .expect("pgbouncer.ini");
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").expect("users.txt");
        // PgBouncer refuses to run as root: as postgres, which must read the folder.
        let as_root = nix_is_root();
        if as_root {
            let _ = Command::new("chown")
                .args(["-R", "postgres", &dir.display().to_string()])
                .status();
        }
        let ini = dir.join("pgbouncer.ini").display().to_string();
        let mut cmd = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "pgbouncer", &ini]);
            c
        } else {
            let mut c = Command::new("pgbouncer");
            c.arg(&ini);
            c
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer starts (apt-get install pgbouncer)");
        let bouncer = Self { port, dir, child };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "pgbouncer did not listen on {port}: {}",
                std::fs::read_to_string(bouncer.dir.join("pgbouncer.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    /// The URL of database `name` through this PgBouncer.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // PgBouncer's own pid (under runuser), then runuser's.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pgbouncer.pid")) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
