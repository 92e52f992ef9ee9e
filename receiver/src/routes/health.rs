//! `GET /healthz` (the process is alive) and `GET /readyz` (the broker channel is
//! usable).

use actix_web::{http::StatusCode, web, HttpResponse};

use crate::{errors::json_error, publisher::Publisher};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(publisher: web::Data<Publisher>) -> HttpResponse {
    if publisher.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        json_error(StatusCode::SERVICE_UNAVAILABLE, "not connected to RabbitMQ")
    }
}
