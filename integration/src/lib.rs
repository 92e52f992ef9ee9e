//! Helpers for clerk-sync's integration tests: each test gets its own database and
//! its own `AMQP_PREFIX`, both removed when the test ends, and starts the receiver and
//! worker through the same `build`/`start` functions the binaries call.

pub mod broker;
pub mod chaos;
pub mod database;
pub mod fake_clerk;
pub mod pgbouncer;
pub mod promql;
pub mod services;
pub mod tls;
pub mod wait_for_user;
pub mod webhooks;

use std::{future::Future, time::Duration};

pub use broker::TestBroker;
pub use database::TestDb;
pub use webhooks::{event, signed_headers, SECRET};

use receiver::Application;
use shared::config::{AmqpNodes, AmqpSettings, LogSettings};
use worker::startup::Worker;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// `AMQP_URL` as a test gives it (one URL or a comma-separated list), or the local
/// broker's.
pub fn nodes(url: Option<&str>) -> AmqpNodes {
    AmqpNodes::parse(url.unwrap_or(AMQP_URL)).expect("a test's AMQP_URL is valid")
}

/// A short unique string.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// Polls `check` until it returns `Some`, or panics after `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How to start a test deployment.
#[derive(Debug, Clone)]
pub struct Options {
    pub workers: usize,
    pub max_attempts: u32,
    pub retry_delays: Vec<Duration>,
    pub batch_size: usize,
    /// The workers' `WORKER_BATCH_LINGER`.
    pub batch_linger: Duration,
    /// Signing secrets the receiver accepts.
    pub secrets: String,
    pub max_body_bytes: usize,
    /// Overrides the receiver's `AMQP_URL` (one URL or a list; to test an unreachable
    /// broker or a cluster). The receiver is not awaited then.
    pub receiver_amqp_url: Option<String>,
    /// The worker's `STORE_PAYLOADS`.
    pub store_payloads: bool,
    /// Overrides the workers' `AMQP_URL` (to go through a [`chaos::ChaosProxy`], or
    /// list the nodes of a cluster).
    pub worker_amqp_url: Option<String>,
    /// Overrides the workers' database URL (likewise).
    pub worker_database_url: Option<String>,
    /// `ADMIN_TOKEN` of the workers: the operator page is on when set.
    pub admin_token: Option<String>,
    /// `worker run --no-migrate`: the workers check the schema instead of migrating.
    pub no_migrate: bool,
    /// `AMQP_CA_FILE` of the receiver and the workers (for `amqps://` URLs).
    pub amqp_ca_file: Option<std::path::PathBuf>,
    /// `CHANGES_RELAY` of the workers: each also relays the change feed.
    pub relay: bool,
    /// `CHANGES_TOKEN` of the workers.
    pub changes_token: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workers: 1,
            max_attempts: 5,
            retry_delays: vec![Duration::from_millis(200)],
            batch_size: 100,
            batch_linger: worker::settings::DEFAULT_BATCH_LINGER,
            secrets: SECRET.to_owned(),
            max_body_bytes: 1_048_576,
            receiver_amqp_url: None,
            store_payloads: false,
            worker_amqp_url: None,
            worker_database_url: None,
            admin_token: None,
            no_migrate: false,
            amqp_ca_file: None,
            relay: false,
            changes_token: None,
        }
    }
}

/// A receiver and workers on their own database and prefix.
pub struct TestApp {
    /// The receivers started by [`TestApp::spawn`] and [`TestApp::spawn_receiver`].
    receivers: Vec<actix_web::dev::ServerHandle>,
    pub db: TestDb,
    pub broker: TestBroker,
    pub options: Options,
    pub receiver_port: u16,
    pub workers: Vec<Worker>,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(options: Options) -> Self {
        shared::telemetry::init_for_tests();
        let db = TestDb::new().await;
        let broker = TestBroker::new().await;
        if let Ok(mut d) = broker.retry_delays.lock() {
            d.extend(options.retry_delays.iter().copied());
        }
        let mut app = Self {
            receivers: Vec::new(),
            receiver_port: 0,
            workers: Vec::new(),
            http: reqwest::Client::new(),
            db,
            broker,
            options,
        };
        app.receiver_port = app.start_receiver().await;
        for _ in 0..app.options.workers {
            app.start_worker().await;
        }
        app
    }

    /// A receiver only: nothing consumes, so tests can inspect the queue.
    pub async fn receiver_only(options: Options) -> Self {
        Self::spawn(Options {
            workers: 0,
            ..options
        })
        .await
    }

    /// `AMQP_CA_FILE`, read and checked as the binaries do.
    fn ca(&self) -> Option<shared::config::CaBundle> {
        self.options.amqp_ca_file.as_ref().map(|path| {
            shared::config::CaBundle::from_file(&path.to_string_lossy())
                .expect("the test's AMQP_CA_FILE is valid")
        })
    }

    pub fn receiver_settings(&self) -> receiver::Settings {
        receiver::Settings {
            amqp: AmqpSettings {
                nodes: nodes(self.options.receiver_amqp_url.as_deref()).with_ca(self.ca()),
                prefix: self.broker.prefix.clone(),
            },
            log: LogSettings::default(),
            bind_addr: "127.0.0.1:0".into(),
            max_body_bytes: self.options.max_body_bytes,
            secrets: receiver::signature::Secrets::parse(&self.options.secrets)
                .expect("test secrets are valid"),
        }
    }

    pub fn worker_settings(&self) -> worker::Settings {
        worker::Settings {
            database_url: self
                .options
                .worker_database_url
                .clone()
                .unwrap_or_else(|| self.db.url.clone()),
            database_schema: shared::db::DEFAULT_SCHEMA.to_owned(),
            migrate: !self.options.no_migrate,
            amqp: AmqpSettings {
                nodes: nodes(self.options.worker_amqp_url.as_deref()).with_ca(self.ca()),
                prefix: self.broker.prefix.clone(),
            },
            log: LogSettings::default(),
            max_attempts: self.options.max_attempts,
            retry_delays: self.options.retry_delays.clone(),
            metrics_addr: "127.0.0.1:0".into(),
            batch_size: self.options.batch_size,
            batch_linger: self.options.batch_linger,
            prefetch: 500,
            concurrency: 2,
            db_pool_size: 4,
            store_payloads: self.options.store_payloads,
            admin_token: self.options.admin_token.as_deref().map(|t| {
                worker::admin::AdminToken::parse(t).expect("test admin token is long enough")
            }),
            feed: worker::settings::FeedSettings {
                relay: self.options.relay,
                token: self.options.changes_token.as_deref().map(|t| {
                    worker::admin::AdminToken::parse(t).expect("test changes token is long enough")
                }),
                ..Default::default()
            },
        }
    }

    async fn start_receiver(&mut self) -> u16 {
        let app = Application::build(self.receiver_settings())
            .await
            .expect("receiver starts");
        let port = app.port();
        if self.options.receiver_amqp_url.is_none() {
            assert!(
                app.publisher()
                    .wait_connected(Duration::from_secs(10))
                    .await,
                "receiver connected to RabbitMQ"
            );
        }
        self.receivers.push(app.server_handle());
        tokio::spawn(app.run_until_stopped());
        port
    }

    /// Starts one more receiver of this deployment with `AMQP_URL` = `amqp_url` (one
    /// URL or a list), waits until it is connected, and returns its port.
    pub async fn spawn_receiver(&mut self, amqp_url: &str) -> u16 {
        let mut settings = self.receiver_settings();
        settings.amqp.nodes = nodes(Some(amqp_url)).with_ca(self.ca());
        let app = Application::build(settings).await.expect("receiver starts");
        assert!(
            app.publisher()
                .wait_connected(Duration::from_secs(20))
                .await,
            "receiver connected to RabbitMQ"
        );
        let port = app.port();
        self.receivers.push(app.server_handle());
        tokio::spawn(app.run_until_stopped());
        port
    }

    /// Starts one more worker; returns its index.
    pub async fn start_worker(&mut self) -> usize {
        let w = Worker::start(self.worker_settings())
            .await
            .expect("worker starts");
        wait_for("the worker to consume", Duration::from_secs(10), || {
            let ready = w.metrics().consumer_connected.get() == 1;
            async move { ready.then_some(()) }
        })
        .await;
        self.workers.push(w);
        self.workers.len() - 1
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.receiver_port)
    }

    pub fn webhook_url(&self) -> String {
        self.url(receiver::WEBHOOK_PATH)
    }

    /// Posts `body` with `headers` to the webhook endpoint.
    pub async fn post_raw(&self, body: Vec<u8>, headers: &[(String, String)]) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.webhook_url())
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send().await.expect("request reaches the receiver")
    }

    /// Signs `event` as Svix would, with `svix_id`, and posts it. Returns the status.
    pub async fn post_as(&self, svix_id: &str, event: &serde_json::Value) -> u16 {
        let body = serde_json::to_vec(event).expect("serializable");
        let headers = signed_headers(SECRET, svix_id, chrono::Utc::now().timestamp(), &body);
        self.post_raw(body, &headers).await.status().as_u16()
    }

    /// Signs and posts `event` with a fresh svix-id; asserts a 200. Returns the id.
    pub async fn post(&self, event: &serde_json::Value) -> String {
        let svix_id = format!("msg_{}", unique());
        let status = self.post_as(&svix_id, event).await;
        assert_eq!(status, 200, "event {svix_id} accepted");
        svix_id
    }

    /// Waits until `svix_id` is recorded in `webhook_events`; returns its outcome.
    pub async fn wait_recorded(&self, svix_id: &str) -> String {
        let id = svix_id.to_owned();
        wait_for(
            &format!("{svix_id} in webhook_events"),
            Duration::from_secs(20),
            || {
                let db = self.db.clone_handle();
                let id = id.clone();
                async move { db.outcome(&id).await }
            },
        )
        .await
    }

    /// Prometheus text from the worker `i`.
    pub async fn worker_metrics(&self, i: usize) -> String {
        let port = self.workers[i].metrics_port();
        self.http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .expect("metrics reachable")
            .text()
            .await
            .expect("text")
    }

    /// The status and JSON body of worker `i`'s `/readyz`.
    pub async fn worker_readyz(&self, i: usize) -> (u16, serde_json::Value) {
        let port = self.workers[i].metrics_port();
        let res = self
            .http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .expect("readyz reachable");
        let status = res.status().as_u16();
        (status, res.json().await.expect("readyz answers JSON"))
    }

    /// Stops the receivers and the workers gracefully, so that none of them connects
    /// again and declares its topology after the broker's cleanup (as they would
    /// after a test took a broker node away).
    pub async fn stop_all(&mut self) {
        for r in self.receivers.drain(..) {
            r.stop(true).await;
        }
        self.stop_workers().await;
    }

    /// Stops every worker gracefully.
    pub async fn stop_workers(&mut self) {
        for w in self.workers.drain(..) {
            w.shutdown().await.expect("the worker stops cleanly");
        }
    }
}

/// The value of a metric line `name{labels} value`, summed over matching lines.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            let metric_name = series.split('{').next().unwrap_or_default();
            metric_name == name
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

/// A Clerk `updated_at` (ms) that tests count versions from.
pub const T0: i64 = 1_716_883_200_000;

/// A local TCP port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A clerk-sync binary (`receiver` or `worker`) built beside the test binaries.
pub fn binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` first",
        path.display()
    );
    path
}

impl TestApp {
    /// Starts the real `worker` binary against this deployment.
    pub fn spawn_worker_process(&self, extra_env: &[(&str, &str)]) -> Process {
        let stdout = if std::env::var_os("TEST_LOG").is_some() {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        };
        self.spawn_worker_process_to(extra_env, stdout)
    }

    /// Starts the real `worker` binary with its stdout sent to `stdout`.
    pub fn spawn_worker_process_to(
        &self,
        extra_env: &[(&str, &str)],
        stdout: std::process::Stdio,
    ) -> Process {
        let s = self.worker_settings();
        let delays: Vec<String> = s
            .retry_delays
            .iter()
            .map(|d| format!("{}ms", d.as_millis()))
            .collect();
        let mut cmd = std::process::Command::new(binary("worker"));
        cmd.arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &s.database_url)
            .env("AMQP_URL", s.amqp.nodes.urls().join(","))
            .env("AMQP_PREFIX", &s.amqp.prefix)
            .env("MAX_ATTEMPTS", s.max_attempts.to_string())
            .env("RETRY_DELAYS", delays.join(","))
            .env("WORKER_METRICS_ADDR", "127.0.0.1:0")
            .env("WORKER_BATCH_SIZE", s.batch_size.to_string())
            .env(
                "WORKER_BATCH_LINGER",
                format!("{}us", s.batch_linger.as_micros()),
            )
            .env("STORE_PAYLOADS", s.store_payloads.to_string())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(stdout);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Process(cmd.spawn().expect("worker binary starts"))
    }
}

/// A child process that is killed when dropped, so a failing test leaves none behind.
pub struct Process(pub std::process::Child);

impl From<std::process::Child> for Process {
    fn from(child: std::process::Child) -> Self {
        Self(child)
    }
}

impl std::ops::Deref for Process {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Process {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Sends SIGTERM (or SIGKILL) to a child process.
pub fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{sig}");
}
