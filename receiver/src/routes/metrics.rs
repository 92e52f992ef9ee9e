//! `GET /metrics`: Prometheus text format.

use actix_web::{web, HttpResponse};

use crate::metrics::Metrics;

pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(shared::metrics::CONTENT_TYPE)
        .body(metrics.render())
}
