//! Building and running the HTTP server. `main` and the tests call the same code.

use std::{net::TcpListener, time::Duration};

use actix_web::{
    dev::Server,
    http::StatusCode,
    middleware::{from_fn, ErrorHandlers},
    web::{self, PayloadConfig},
    App, HttpResponse, HttpServer,
};
use anyhow::Context;
use shared::{report::report_exit, topology::Topology};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    encoding,
    errors::{json_error, json_error_bodies},
    metrics::Metrics,
    publisher::{self, Publisher},
    rejected::{self, RejectionLog},
    routes,
    settings::Settings,
};

/// The webhook path a user pastes into Clerk's dashboard.
pub const WEBHOOK_PATH: &str = "/webhooks/clerk";

pub struct Application {
    port: u16,
    server: Server,
    publisher: Publisher,
    supervisor: JoinHandle<anyhow::Result<()>>,
    stop: CancellationToken,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and starts connecting to the
    /// broker in the background.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind_addr)
            .with_context(|| format!("could not listen on BIND_ADDR={}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        if settings.secrets.uses_public_test_secret() {
            warn_public_test_secret();
        }
        let stop = CancellationToken::new();
        let metrics = Metrics::new();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (publisher, supervisor) = Publisher::start(
            publisher::channels_for(workers),
            settings.amqp.nodes.clone(),
            Topology::new(settings.amqp.prefix.clone()),
            metrics.clone(),
            stop.clone(),
        );
        let rejected = RejectionLog::start(
            settings.amqp.nodes.clone(),
            Topology::new(settings.amqp.prefix.clone()),
            metrics.clone(),
            stop.clone(),
        );
        let server = server(
            listener,
            workers,
            &settings,
            publisher.clone(),
            rejected,
            metrics,
        )?;
        Ok(Self {
            port,
            server,
            publisher,
            supervisor,
            stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// A handle that stops the server gracefully, as SIGTERM does; then
    /// [`Application::run_until_stopped`] closes the broker connection and returns.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT (actix-web handles both: it stops accepting,
    /// lets in-flight requests finish, then returns), then closes the broker
    /// connection. If the broker supervisor ends first (a panic), stops the server
    /// and fails, so the process exits non-zero and is restarted.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            mut supervisor,
            stop,
            ..
        } = self;
        let handle = server.handle();
        tokio::pin!(server);
        tokio::select! {
            served = &mut server => {
                stop.cancel();
                // Give the supervisor a moment to close the connection cleanly.
                let supervised = match tokio::time::timeout(Duration::from_secs(5), supervisor).await {
                    Ok(ended) => report_exit("broker supervisor", ended, true),
                    Err(_) => Ok(()),
                };
                served.context("HTTP server failed")?;
                supervised
            }
            ended = &mut supervisor => {
                let supervised = report_exit("broker supervisor", ended, false);
                stop.cancel();
                // The server future handles the stop command: drive both.
                let (_, served) = tokio::join!(handle.stop(true), &mut server);
                if let Err(e) = served {
                    tracing::warn!(error = %e, "the HTTP server failed while stopping");
                }
                supervised
            }
        }
    }
}

/// Logged at every start while a configured secret is Svix's public test secret.
fn warn_public_test_secret() {
    tracing::warn!(
        "SECURITY WARNING: CLERK_WEBHOOK_SIGNING_SECRET holds Svix's public test secret \
         (the example secret published in Svix's documentation). Anyone can sign events with it, \
         including user.deleted: never expose this receiver to a network with it. Set \
         CLERK_WEBHOOK_SIGNING_SECRET to your endpoint's signing secret from Clerk's dashboard."
    );
}

fn server(
    listener: TcpListener,
    workers: usize,
    settings: &Settings,
    publisher: Publisher,
    rejected: RejectionLog,
    metrics: Metrics,
) -> anyhow::Result<Server> {
    let rejected = web::Data::new(rejected);
    let secrets = web::Data::new(settings.secrets.clone());
    let publisher = web::Data::new(publisher);
    let metrics = web::Data::new(metrics);
    let max_body = settings.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(ErrorHandlers::new().default_handler(json_error_bodies))
            .app_data(PayloadConfig::new(max_body))
            .app_data(secrets.clone())
            .app_data(publisher.clone())
            .app_data(metrics.clone())
            .app_data(rejected.clone())
            .service(
                web::resource(WEBHOOK_PATH)
                    .wrap(from_fn(encoding::refuse_encoded_bodies))
                    .wrap(from_fn(rejected::record_refusals))
                    .route(web::post().to(routes::webhook::receive))
                    .default_service(web::to(method_not_allowed)),
            )
            .route("/healthz", web::get().to(routes::health::healthz))
            .route("/readyz", web::get().to(routes::health::readyz))
            .route("/metrics", web::get().to(routes::metrics::metrics))
            .default_service(web::to(not_found))
    })
    .workers(workers)
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

async fn method_not_allowed() -> HttpResponse {
    let mut res = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("POST"),
    );
    res
}

async fn not_found() -> HttpResponse {
    json_error(StatusCode::NOT_FOUND, "not found")
}

#[cfg(test)]
mod tests {
    use shared::config::{AmqpNodes, AmqpSettings, LogSettings};

    use super::*;
    use crate::signature::Secrets;

    #[tokio::test]
    async fn a_panicking_broker_supervisor_fails_the_receiver_and_stops_its_server() {
        let settings = Settings {
            amqp: AmqpSettings {
                nodes: AmqpNodes::parse("amqp://guest:guest@127.0.0.1:1/%2f").expect("valid"),
                prefix: "unused".into(),
            },
            log: LogSettings::default(),
            bind_addr: "127.0.0.1:0".into(),
            max_body_bytes: 1024,
            secrets: Secrets::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid"),
        };
        let mut app = Application::build(settings).await.expect("the app builds");
        // A supervisor that panics stands in for the real one.
        app.supervisor.abort();
        app.supervisor = tokio::spawn(async {
            tokio::task::yield_now().await;
            panic!("the supervisor broke");
        });
        let port = app.port();
        let e = app
            .run_until_stopped()
            .await
            .expect_err("a panicking supervisor is a failure");
        assert!(
            format!("{e:#}").contains("broker supervisor task panicked: the supervisor broke"),
            "{e:#}"
        );
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the HTTP server still answers"
        );
    }
}
