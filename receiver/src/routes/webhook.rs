//! `POST /webhooks/clerk`: verify, publish with a confirm, and only then answer 2xx.

use actix_web::{http::header::ContentType, web, HttpRequest, HttpResponse};
use tracing::{info, warn, Instrument, Span};

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
    let span = request_span();
    let result = handle(&req, &body, &secrets, &publisher)
        .instrument(span.clone())
        .await;
    metrics.in_flight.dec();
    if shared::otel::enabled() {
        span.record(
            "outcome",
            match &result {
                Ok(_) => "accepted",
                Err(e) => e.outcome(),
            },
        );
    }
    match &result {
        Ok(_) => metrics.accepted.inc(),
        Err(e) => metrics.requests.with_label_values(&[e.outcome()]).inc(),
    }
    result
}

/// Verifies, reads the route, publishes, and logs one line for the request. Every
/// line about an event carries its `svix_id`, `event_type` and `object_id` as
/// fields of the line itself: a span made per request (and filled in as fields
/// became known) cost a tenth of the receiver's CPU, and nothing logs inside it
/// (the publish happens on the thread's batch task).
async fn handle(
    req: &HttpRequest,
    body: &web::Bytes,
    secrets: &Secrets,
    publisher: &Publisher,
) -> Result<HttpResponse, WebhookError> {
    let verified = match secrets.verify(req.headers(), body) {
        Ok(v) => v,
        Err(e) => {
            let e = WebhookError::from(e);
            info!(outcome = e.outcome(), error = %e, "request refused");
            return Err(e);
        }
    };
    let svix_id = verified.svix_id.as_str();
    let route = match shared::event::route(body) {
        Ok(r) => r,
        Err(e) => {
            let e = WebhookError::NotAnEvent(e.to_string());
            info!(svix_id, outcome = e.outcome(), error = %e, "request refused");
            return Err(e);
        }
    };
    let event_type = route.event_type.as_str();
    let object_id = route.object_id.as_deref();
    if shared::otel::enabled() {
        let span = Span::current();
        span.record("svix_id", svix_id);
        span.record("event_type", event_type);
    }
    let published = publisher
        .publish(Outgoing {
            event_type,
            svix_id,
            svix_timestamp: verified.svix_timestamp,
            body: body.clone(),
        })
        .await;
    match published {
        Ok(()) => {
            info!(
                svix_id,
                event_type,
                object_id,
                outcome = "accepted",
                bytes = body.len(),
                "event accepted"
            );
            Ok(HttpResponse::Ok()
                .content_type(ContentType::json())
                .body(accepted_body(svix_id)))
        }
        Err(e) => {
            let e = WebhookError::from(e);
            warn!(
                svix_id,
                event_type,
                object_id,
                outcome = e.outcome(),
                error = %shared::report::chain(&e),
                "event not accepted"
            );
            Err(e)
        }
    }
}

/// The request's span, when traces are on (see `shared::otel`): `verify` and
/// `publish` happen under it. Off, no span at all (a span per request cost a tenth
/// of the receiver's CPU, see [`handle`]).
fn request_span() -> Span {
    if !shared::otel::enabled() {
        return Span::none();
    }
    tracing::info_span!(
        "POST /webhooks/clerk",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/webhooks/clerk",
        svix_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

/// `{"status":"accepted","id":"<svix-id>"}`, the id escaped as JSON requires.
fn accepted_body(svix_id: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(svix_id.len() + 32);
    body.extend_from_slice(br#"{"status":"accepted","id":"#);
    let start = body.len();
    // Writing a string into a Vec cannot fail; were it to, `null` keeps the JSON valid.
    if serde_json::to_writer(&mut body, svix_id).is_err() {
        body.truncate(start);
        body.extend_from_slice(b"null");
    }
    body.push(b'}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accepted_body_is_json_with_the_id_escaped() {
        let v: serde_json::Value =
            serde_json::from_slice(&accepted_body("msg_\"x\\")).expect("valid JSON");
        assert_eq!(
            v,
            serde_json::json!({"status": "accepted", "id": "msg_\"x\\"})
        );
    }
}
