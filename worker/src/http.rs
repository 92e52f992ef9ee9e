//! The worker's own HTTP endpoints on `WORKER_METRICS_ADDR`: `/healthz`, `/readyz`
//! (consuming from RabbitMQ and Postgres reachable), `/metrics`; and the operator
//! page under `/admin` when `ADMIN_TOKEN` is set (otherwise `/admin` is a 404).

use std::net::TcpListener;

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use anyhow::Context;

use crate::{admin::AdminState, metrics::Metrics};

pub fn serve(
    addr: &str,
    metrics: Metrics,
    admin: Option<AdminState>,
) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(addr)
        .with_context(|| format!("could not listen on WORKER_METRICS_ADDR={addr}"))?;
    let port = listener.local_addr()?.port();
    let data = web::Data::new(metrics);
    let admin = admin.map(web::Data::new);
    let server = HttpServer::new(move || {
        let admin = admin.clone();
        App::new()
            .app_data(data.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics_text))
            .configure(move |cfg| {
                if let Some(state) = admin {
                    crate::admin::configure(cfg, state);
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

async fn readyz(m: web::Data<Metrics>) -> HttpResponse {
    let consuming = m.consumer_connected.get() == 1;
    let database = m.database_up.get() == 1;
    let body = serde_json::json!({
        "status": if consuming && database { "ready" } else { "not ready" },
        "consuming": consuming,
        "database": database,
    });
    if consuming && database {
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
