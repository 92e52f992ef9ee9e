//! TLS for the fault tests: certificates made with the `openssl` CLI, the local
//! Postgres switched to one of them (and back, by a guard), and a RabbitMQ node of
//! its own with a TLS listener (stopped and removed by a guard).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use diesel::{connection::SimpleConnection, Connection, PgConnection, RunQueryDsl};

/// Runs `cmd args…`; panics with its stderr if it fails.
fn must(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} does not run: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = clerk-sync test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A folder of certificates made for one test (removed when dropped): a CA, a
/// server certificate it signed for `IP:127.0.0.1` and `DNS:localhost`, and a second
/// CA that signed nothing (the wrong CA).
pub struct TestCerts {
    pub dir: PathBuf,
    /// The CA that signed the server certificate (PEM).
    pub ca: PathBuf,
    /// A CA that did not (PEM).
    pub wrong_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCerts {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("clerk-sync-tls-{}", crate::unique()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        // Postgres and RabbitMQ run as their own users and read the files from here.
        must("chmod", &["0755", &dir.to_string_lossy()]);
        let certs = Self {
            ca: dir.join("ca.pem"),
            wrong_ca: dir.join("wrong-ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            dir,
        };
        let config = certs.dir.join("openssl.cnf");
        std::fs::write(&config, OPENSSL_CONFIG).expect("openssl config written");
        let p = |p: &Path| p.to_string_lossy().into_owned();
        let openssl = |args: &[String]| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            must("openssl", &args);
        };
        let ec_key = |key: &Path| -> Vec<String> {
            [
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .chain(["-keyout".to_owned(), p(key)])
            .collect()
        };
        for (ca, name) in [(&certs.ca, "right"), (&certs.wrong_ca, "wrong")] {
            let mut args: Vec<String> = ["req", "-x509", "-config"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            args.push(p(&config));
            args.extend(ec_key(&certs.dir.join(format!("{name}-ca.key"))));
            args.extend(
                ["-extensions", "ca", "-days", "2", "-out"]
                    .iter()
                    .map(|s| (*s).to_owned()),
            );
            args.push(p(ca));
            args.push("-subj".to_owned());
            args.push(format!(
                "/CN=clerk-sync test CA ({name}) {}",
                crate::unique()
            ));
            openssl(&args);
        }
        let csr = certs.dir.join("server.csr");
        let mut args: Vec<String> = vec!["req".into(), "-new".into(), "-config".into(), p(&config)];
        args.extend(ec_key(&certs.server_key));
        args.extend([
            "-out".into(),
            p(&csr),
            "-subj".into(),
            "/CN=localhost".into(),
        ]);
        openssl(&args);
        openssl(&[
            "x509".into(),
            "-req".into(),
            "-in".into(),
            p(&csr),
            "-CA".into(),
            p(&certs.ca),
            "-CAkey".into(),
            p(&certs.dir.join("right-ca.key")),
            "-set_serial".into(),
            "4242".into(),
            "-days".into(),
            "2".into(),
            "-extfile".into(),
            p(&config),
            "-extensions".into(),
            "server".into(),
            "-out".into(),
            p(&certs.server_cert),
        ]);
        certs
    }

    /// A copy of the server's key owned by `user` with mode 0600, as Postgres and
    /// RabbitMQ want it.
    pub fn key_for(&self, user: &str) -> PathBuf {
        let path = self.dir.join(format!("server-{user}.key"));
        std::fs::copy(&self.server_key, &path).expect("key copied");
        must(
            "chown",
            &[&format!("{user}:{user}"), &path.to_string_lossy()],
        );
        must("chmod", &["0600", &path.to_string_lossy()]);
        path
    }
}

impl Default for TestCerts {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const MAINTENANCE: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The local Postgres serves another certificate until this is dropped; then its
/// `ssl_cert_file` and `ssl_key_file` are reset (`ALTER SYSTEM RESET`) and the
/// configuration reloaded, even if the test panicked.
pub struct PostgresCertificate {
    /// `ssl_cert_file` before the switch, to wait for on the way back.
    original_cert: String,
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    setting: String,
}

fn current_cert_file() -> Option<String> {
    let mut conn = PgConnection::establish(MAINTENANCE).ok()?;
    diesel::sql_query("SELECT setting FROM pg_settings WHERE name = 'ssl_cert_file'")
        .get_result::<Setting>(&mut conn)
        .ok()
        .map(|s| s.setting)
}

fn alter_system(statements: &[String]) -> Result<(), String> {
    let mut conn = PgConnection::establish(MAINTENANCE).map_err(|e| e.to_string())?;
    // ALTER SYSTEM cannot run in a transaction block, so one statement at a time.
    for sql in statements {
        conn.batch_execute(sql).map_err(|e| format!("{sql}: {e}"))?;
    }
    conn.batch_execute("SELECT pg_reload_conf()")
        .map_err(|e| e.to_string())
}

/// Switches the local Postgres to `certs`' server certificate and waits until a
/// `verify-full` connection with its CA succeeds.
pub fn postgres_serves(certs: &TestCerts) -> PostgresCertificate {
    let original_cert = current_cert_file().expect("Postgres answers");
    assert!(
        !original_cert.contains("clerk-sync-tls-"),
        "Postgres still serves a test certificate ({original_cert}) a previous run left: run \
         ALTER SYSTEM RESET ssl_cert_file; ALTER SYSTEM RESET ssl_key_file; SELECT pg_reload_conf();"
    );
    // The guard first: a switch that fails half-way is undone too.
    let guard = PostgresCertificate { original_cert };
    let key = certs.key_for("postgres");
    let quote = |p: &Path| p.to_string_lossy().replace('\'', "''");
    alter_system(&[
        format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            quote(&certs.server_cert)
        ),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", quote(&key)),
    ])
    .expect("ALTER SYSTEM SET ssl_cert_file, ssl_key_file");
    let url = format!(
        "{MAINTENANCE}?sslmode=verify-full&sslrootcert={}",
        certs.ca.display()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match PgConnection::establish(&url) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => {
                panic!("Postgres does not serve the test certificate: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    guard
}

impl Drop for PostgresCertificate {
    fn drop(&mut self) {
        let reset = [
            "ALTER SYSTEM RESET ssl_cert_file".to_owned(),
            "ALTER SYSTEM RESET ssl_key_file".to_owned(),
        ];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let done = alter_system(&reset).is_ok()
                && current_cert_file().as_deref() == Some(self.original_cert.as_str());
            if done {
                return;
            }
            if Instant::now() > deadline {
                eprintln!(
                    "could not restore Postgres's ssl_cert_file to {}: run ALTER SYSTEM RESET \
                     ssl_cert_file; ALTER SYSTEM RESET ssl_key_file; SELECT pg_reload_conf();",
                    self.original_cert
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A RabbitMQ node of its own on this machine (not clustered with the main node,
/// which is left alone): AMQP over TLS only, on `port`, with `certs`' server
/// certificate; the default `guest` user (loopback only). Dropping it stops the node
/// and removes its data and logs.
pub struct TlsBroker {
    pub node: String,
    /// The TLS listener, on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

fn rabbitmqctl_ok(args: &[&str]) -> bool {
    Command::new("timeout")
        .arg("60")
        .arg("rabbitmqctl")
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Starts the node and waits until its TLS listener accepts connections.
pub fn start_tls_broker(certs: &TestCerts) -> TlsBroker {
    let main = crate::services::main_node();
    let host = main
        .split_once('@')
        .map(|(_, h)| h.to_owned())
        .expect("the main RabbitMQ node runs (its name gives the host)");
    let short = format!("clerktls{}", &crate::unique()[..8]);
    let dir = std::env::temp_dir().join(format!("clerk-sync-{short}"));
    let broker = TlsBroker {
        node: format!("{short}@{host}"),
        port: crate::free_port(),
        dir,
    };
    let dist_port = crate::free_port();
    std::fs::create_dir_all(broker.dir.join("mnesia")).expect("node folder");
    std::fs::create_dir_all(broker.dir.join("log")).expect("node folder");
    let key = certs.key_for("rabbitmq");
    let config = format!(
        "listeners.tcp = none\n\
         listeners.ssl.default = 127.0.0.1:{port}\n\
         ssl_options.cacertfile = {ca}\n\
         ssl_options.certfile = {cert}\n\
         ssl_options.keyfile = {key}\n\
         ssl_options.verify = verify_none\n\
         ssl_options.fail_if_no_peer_cert = false\n",
        port = broker.port,
        ca = certs.ca.display(),
        cert = certs.server_cert.display(),
        key = key.display(),
    );
    std::fs::write(broker.dir.join("rabbitmq.conf"), config).expect("node config");
    std::fs::write(broker.dir.join("enabled_plugins"), "[].\n").expect("plugins file");
    must(
        "chown",
        &["-R", "rabbitmq:rabbitmq", &broker.dir.to_string_lossy()],
    );
    let d = |name: &str| broker.dir.join(name).to_string_lossy().into_owned();
    // Debian's rabbitmq-server switches to user rabbitmq (it shares the main node's
    // Erlang cookie, so rabbitmqctl reaches it) and keeps the RABBITMQ_* variables.
    let started = Command::new("bash")
        .arg("-c")
        // Close inherited descriptors: the node outlives the test (see services.rs).
        .arg(
            r#"for fd in /proc/self/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi; done; exec rabbitmq-server -detached"#,
        )
        .current_dir(&broker.dir)
        .env("RABBITMQ_NODENAME", &broker.node)
        .env("RABBITMQ_DIST_PORT", dist_port.to_string())
        .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
        .env("RABBITMQ_LOG_BASE", d("log"))
        .env("RABBITMQ_PID_FILE", d("pid"))
        .env("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
        .env("RABBITMQ_ADVANCED_CONFIG_FILE", d("advanced.config"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(started, "rabbitmq-server -detached ({})", broker.node);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !rabbitmqctl_ok(&["-n", &broker.node, "-q", "await_startup", "--timeout", "10"]) {
        assert!(
            Instant::now() < deadline,
            "{} did not start within 120 s (logs in {})",
            broker.node,
            broker.dir.join("log").display()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    while std::net::TcpStream::connect(("127.0.0.1", broker.port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} does not listen on 127.0.0.1:{}",
            broker.node,
            broker.port
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    broker
}

impl TlsBroker {
    /// `amqps://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqps://guest:guest@127.0.0.1:{}/%2f", self.port)
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let pid_file = self.dir.join("pid");
        rabbitmqctl_ok(&["-n", &self.node, "-q", "stop", &pid_file.to_string_lossy()]);
        // A VM that would not stop: by its pid file, never by name.
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        {
            let alive = || Path::new(&format!("/proc/{pid}")).exists();
            if alive() {
                let _ = Command::new("kill").arg(pid.to_string()).status();
                std::thread::sleep(Duration::from_secs(2));
                if alive() {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TlsBroker {
    /// Adds user `name` with `password` and every permission on vhost `/`.
    pub fn add_user(&self, name: &str, password: &str) {
        assert!(
            rabbitmqctl_ok(&["-n", &self.node, "-q", "add_user", name, password]),
            "rabbitmqctl add_user {name}"
        );
        assert!(
            rabbitmqctl_ok(&[
                "-n",
                &self.node,
                "-q",
                "set_permissions",
                "-p",
                "/",
                name,
                ".*",
                ".*",
                ".*"
            ]),
            "rabbitmqctl set_permissions {name}"
        );
    }
}
