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
use shared::topology::Topology;
use tokio_util::sync::CancellationToken;

use crate::{
    encoding,
    errors::{json_error, json_error_bodies},
    metrics::Metrics,
    publisher::Publisher,
    routes,
    settings::Settings,
};

/// The webhook path a user pastes into Clerk's dashboard.
pub const WEBHOOK_PATH: &str = "/webhooks/clerk";

pub struct Application {
    port: u16,
    server: Server,
    publisher: Publisher,
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
        let publisher = Publisher::start(
            settings.amqp.url.clone(),
            Topology::new(settings.amqp.prefix.clone()),
            metrics.clone(),
            stop.clone(),
        );
        let server = server(listener, &settings, publisher.clone(), metrics)?;
        Ok(Self {
            port,
            server,
            publisher,
            stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Serves until SIGTERM or SIGINT (actix-web handles both: it stops accepting,
    /// lets in-flight requests finish, then returns), then closes the broker
    /// connection.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.server.await;
        self.stop.cancel();
        // Give the supervisor a moment to close the connection cleanly.
        tokio::time::sleep(Duration::from_millis(100)).await;
        result.context("HTTP server failed")
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
    settings: &Settings,
    publisher: Publisher,
    metrics: Metrics,
) -> anyhow::Result<Server> {
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
            .service(
                web::resource(WEBHOOK_PATH)
                    .wrap(from_fn(encoding::refuse_encoded_bodies))
                    .route(web::post().to(routes::webhook::receive))
                    .default_service(web::to(method_not_allowed)),
            )
            .route("/healthz", web::get().to(routes::health::healthz))
            .route("/readyz", web::get().to(routes::health::readyz))
            .route("/metrics", web::get().to(routes::metrics::metrics))
            .default_service(web::to(not_found))
    })
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
