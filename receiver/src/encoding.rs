//! Bodies are taken exactly as sent: a request with a `Content-Encoding` other than
//! `identity` gets 415 before its body is read. Decompressing would inflate a small
//! body in memory before any authentication (a deflate bomb), and the bytes verified
//! and published would no longer be the bytes Svix signed.

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header::CONTENT_ENCODING, StatusCode},
    middleware::Next,
    web, Error,
};

use crate::{errors::json_error, metrics::Metrics};

/// The outcome label of a refused encoding, in metrics and logs.
pub const OUTCOME: &str = "unsupported_encoding";

/// Whether every `Content-Encoding` value is `identity` (or there is none).
pub fn is_identity(req: &ServiceRequest) -> bool {
    req.headers().get_all(CONTENT_ENCODING).all(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case("identity"))
        })
    })
}

/// Middleware for the webhook route: 415 with a JSON error for an encoded body.
pub async fn refuse_encoded_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if is_identity(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    if let Some(metrics) = req.app_data::<web::Data<Metrics>>() {
        metrics.requests.with_label_values(&[OUTCOME]).inc();
    }
    tracing::info!(
        outcome = OUTCOME,
        "request refused: the body has a Content-Encoding"
    );
    let res = json_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content-Encoding is not supported: send the body as is (identity)",
    );
    Ok(req.into_response(res).map_into_right_body())
}
