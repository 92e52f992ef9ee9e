//! `POST /webhooks/clerk`: verify, publish with a confirm, and only then answer 2xx.

use actix_web::{web, HttpRequest, HttpResponse};
use tracing::{field::Empty, info, warn, Instrument};

use crate::{
    errors::WebhookError,
    metrics::Metrics,
    publisher::{Outgoing, Publisher},
    signature::Secrets,
};

pub async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    secrets: web::Data<Secrets>,
    publisher: web::Data<Publisher>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, WebhookError> {
    metrics.in_flight.inc();
    let span = tracing::info_span!(
        "webhook",
        svix_id = Empty,
        event_type = Empty,
        object_id = Empty,
        outcome = Empty
    );
    let result = handle(&req, &body, &secrets, &publisher)
        .instrument(span.clone())
        .await;
    metrics.in_flight.dec();
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(e) => e.outcome(),
    };
    metrics.requests.with_label_values(&[outcome]).inc();
    span.record("outcome", outcome);
    let _enter = span.enter();
    match &result {
        Ok(_) => info!(bytes = body.len(), "event accepted"),
        Err(e @ WebhookError::Unavailable(_)) => {
            warn!(error = %shared::report::chain(e), "event not accepted")
        }
        Err(e) => info!(error = %e, "request refused"),
    }
    result
}

async fn handle(
    req: &HttpRequest,
    body: &[u8],
    secrets: &Secrets,
    publisher: &Publisher,
) -> Result<HttpResponse, WebhookError> {
    let span = tracing::Span::current();
    let verified = secrets.verify(req.headers(), body)?;
    span.record("svix_id", verified.svix_id.as_str());
    let route = shared::event::route(body).map_err(|e| WebhookError::NotAnEvent(e.to_string()))?;
    span.record("event_type", route.event_type.as_str());
    if let Some(id) = &route.object_id {
        span.record("object_id", id.as_str());
    }
    publisher
        .publish(Outgoing {
            event_type: &route.event_type,
            svix_id: &verified.svix_id,
            svix_timestamp: verified.svix_timestamp,
            body,
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "accepted",
        "id": verified.svix_id,
    })))
}
