//! HTTP error answers: every error body is JSON `{"error": "<short reason>"}`,
//! including the framework's own 404, 405 and 413.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::ServiceResponse,
    http::{
        header::{self, HeaderValue},
        StatusCode,
    },
    middleware::ErrorHandlerResponse,
    HttpResponse, ResponseError,
};

use crate::{metrics::Metrics, publisher::PublishError, signature::VerifyError};

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Everything the webhook endpoint can answer besides 200.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("{0}")]
    NotAnEvent(String),
    /// The cause goes to the log; the client only learns that it may retry.
    #[error("event could not be queued")]
    Unavailable(#[from] PublishError),
}

/// The body of every 503: the broker's error text stays in the log.
pub const UNAVAILABLE_REASON: &str = "event could not be queued, retry later";

impl WebhookError {
    /// The label used in metrics and logs.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Verify(VerifyError::Rejected(_)) => "unauthorized",
            Self::Verify(_) | Self::NotAnEvent(_) => "bad_request",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

impl WebhookError {
    /// The reason label of a refusal (a 4xx), for the rejected log; `None` for a 503.
    pub fn refusal(&self) -> Option<&'static str> {
        Some(match self {
            Self::Verify(VerifyError::BadHeaders(_)) => "bad_headers",
            Self::Verify(VerifyError::NotUtf8) => "not_utf8",
            Self::Verify(VerifyError::Rejected(why)) if why.contains("timestamp") => {
                "stale_timestamp"
            }
            Self::Verify(VerifyError::Rejected(_)) => "bad_signature",
            Self::NotAnEvent(_) => "not_an_event",
            Self::Unavailable(_) => return None,
        })
    }
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Verify(VerifyError::Rejected(_)) => StatusCode::UNAUTHORIZED,
            Self::Verify(_) | Self::NotAnEvent(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut res = HttpResponse::build(self.status_code());
        if let Some(reason) = self.refusal() {
            res.extensions_mut()
                .insert(crate::rejected::Refusal { reason });
        }
        if let Self::Unavailable(_) = self {
            res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        let reason = match self {
            Self::Unavailable(_) => UNAVAILABLE_REASON.to_owned(),
            other => other.to_string(),
        };
        res.json(serde_json::json!({ "error": reason }))
    }
}

/// A JSON error answer.
pub fn json_error(status: StatusCode, reason: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": reason }))
}

/// Middleware hook: gives the framework's own error answers (404, 405, 413, bad
/// payloads) a JSON body. Answers that are JSON already pass unchanged.
pub fn json_error_bodies<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        if let Some(m) = res.request().app_data::<actix_web::web::Data<Metrics>>() {
            m.requests.with_label_values(&["too_large"]).inc();
        }
    }
    let reason = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "body too large".to_owned(),
        StatusCode::NOT_FOUND => "not found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase(),
    };
    let (req, res) = res.into_parts();
    let mut new = json_error(status, &reason);
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let res = ServiceResponse::new(req, new).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}
