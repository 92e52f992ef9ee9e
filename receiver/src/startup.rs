//! Building and running the HTTP server. `main` and the tests call the same code.

use std::{net::TcpListener, time::Duration};

use actix_web::{
    dev::Server,
    http::StatusCode,
    middleware::ErrorHandlers,
    web::{self, PayloadConfig},
    App, HttpResponse, HttpServer,
};
use anyhow::Context;
use shared::{report::report_exit, topology::Topology};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
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
        let stop = CancellationToken::new();
        let metrics = Metrics::new();
        let (publisher, supervisor) = Publisher::start(
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
                handle.stop(true).await;
                stop.cancel();
                let _ = server.await;
                supervised
            }
        }
    }
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
