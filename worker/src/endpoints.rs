//! The worker's own HTTP endpoints on `WORKER_METRICS_ADDR`: `/healthz`, `/readyz`
//! (consuming from RabbitMQ, and Postgres answering now: each probe connects and
//! runs `SELECT 1`), `/metrics`; and the operator
//! page under `/admin` when `ADMIN_TOKEN` is set (otherwise `/admin` is a 404);
//! the change feed's `GET /changes` when `CHANGES_TOKEN` or `ADMIN_TOKEN` is set.

use std::{net::TcpListener, time::Duration};

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use anyhow::Context;

use crate::{admin::AdminState, feed::FeedEndpoint, metrics::Metrics};

/// How `/readyz` asks Postgres whether it answers: a fresh connection each time (a
/// pooled one may be a dead socket that only the next query finds out about).
#[derive(Clone)]
pub struct DatabaseProbe {
    database_url: String,
}

impl DatabaseProbe {
    /// A probe gives up after this long.
    pub const TIMEOUT: Duration = Duration::from_secs(3);

    pub fn new(database_url: String) -> Self {
        Self { database_url }
    }

    /// Whether Postgres accepts a connection and answers `SELECT 1` now.
    pub async fn answers(&self) -> bool {
        let url = self.database_url.clone();
        let probe = tokio::task::spawn_blocking(move || {
            use diesel::{connection::SimpleConnection, Connection, PgConnection};
            PgConnection::establish(&url)
                .ok()
                .is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok())
        });
        matches!(
            tokio::time::timeout(Self::TIMEOUT, probe).await,
            Ok(Ok(true))
        )
    }
}

pub fn serve(
    addr: &str,
    metrics: Metrics,
    database: DatabaseProbe,
    admin: Option<AdminState>,
    feed: Option<FeedEndpoint>,
) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(addr)
        .with_context(|| format!("could not listen on WORKER_METRICS_ADDR={addr}"))?;
    let port = listener.local_addr()?.port();
    let data = web::Data::new(metrics);
    let database = web::Data::new(database);
    let admin = admin.map(web::Data::new);
    let feed = feed.map(web::Data::new);
    let server = HttpServer::new(move || {
        let admin = admin.clone();
        let feed = feed.clone();
        App::new()
            .app_data(data.clone())
            .app_data(database.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics_text))
            .configure(move |cfg| {
                if let Some(state) = admin {
                    crate::admin::configure(cfg, state);
                }
                if let Some(feed) = feed {
                    crate::feed::http::configure(cfg, feed);
                }
            })
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(m: web::Data<Metrics>, probe: web::Data<DatabaseProbe>) -> HttpResponse {
    let consuming = m.consumer_connected.get() == 1;
    let database = probe.answers().await;
    // Postgres may answer a probe and still refuse the work (a full disk, out of
    // memory): while the consumer holds events for an outage, the worker is not ready.
    let holding = m.database_up.get() == 0;
    let ready = consuming && database && !holding;
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "consuming": consuming,
        "database": database,
        "holding_for_database": holding,
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics_text(m: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(shared::metrics::CONTENT_TYPE)
        .body(m.render())
}
