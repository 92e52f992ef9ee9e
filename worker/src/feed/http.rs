//! `GET /changes?after=SEQ&limit=N` on the worker's port: the feed as JSON lines,
//! for a bearer token (`CHANGES_TOKEN`, or the operator's `ADMIN_TOKEN`).
//!
//! 200 with one change per line (none: an empty body) and `X-Changes-Next`, the
//! cursor to ask with next, and `X-Changes-Head`; 410 when `after` is behind the
//! retention, 409 when it is ahead of the feed (restored or recreated); 400 for bad
//! parameters; 401 without a valid token; 503 when Postgres is unavailable.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::db::PgPool;

use super::read::{self, ReadError, MAX_PAGE};
use crate::{admin::AdminToken, database};

/// What the endpoint needs.
pub struct FeedEndpoint {
    pub pool: PgPool,
    /// Bearer tokens that may read: `CHANGES_TOKEN`, `ADMIN_TOKEN`.
    pub tokens: Vec<AdminToken>,
}

#[derive(Deserialize)]
pub struct Page {
    after: Option<i64>,
    limit: Option<i32>,
}

pub fn configure(cfg: &mut web::ServiceConfig, endpoint: web::Data<FeedEndpoint>) {
    cfg.service(
        web::resource("/changes")
            .app_data(endpoint)
            .route(web::get().to(changes)),
    );
}

fn error(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder.json(serde_json::json!({ "error": message }))
}

async fn changes(
    req: HttpRequest,
    endpoint: web::Data<FeedEndpoint>,
    page: Result<web::Query<Page>, actix_web::Error>,
) -> HttpResponse {
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .is_some_and(|t| endpoint.tokens.iter().any(|k| k.verify(t)));
    if !authorized {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(serde_json::json!({ "error": "unauthorized: send Authorization: Bearer <CHANGES_TOKEN>" }));
    }
    let Ok(page) = page else {
        return error(
            HttpResponse::BadRequest(),
            "after and limit must be integers: GET /changes?after=SEQ&limit=N",
        );
    };
    let after = page.after.unwrap_or(0);
    let limit = page.limit.unwrap_or(1000);
    if after < 0 || !(1..=MAX_PAGE).contains(&limit) {
        return error(
            HttpResponse::BadRequest(),
            &format!("after must be 0 or more, limit 1 to {MAX_PAGE}"),
        );
    }
    let result = database::with_connection(&endpoint.pool, move |c| {
        Ok(read::since(c, after, limit).and_then(|page| Ok((page, read::head(c)?))))
    })
    .await;
    match result {
        Ok(Ok((changes, head))) => {
            let next = changes.last().map_or(after, |c| c.seq);
            let mut body = Vec::with_capacity(changes.len() * 200);
            for change in &changes {
                if serde_json::to_writer(&mut body, change).is_err() {
                    return error(
                        HttpResponse::InternalServerError(),
                        "could not encode a change",
                    );
                }
                body.push(b'\n');
            }
            HttpResponse::Ok()
                .content_type("application/x-ndjson")
                .insert_header(("X-Changes-Next", next.to_string()))
                // Where a resync starts (docs/change-feed.md, Retention).
                .insert_header(("X-Changes-Head", head.to_string()))
                .body(body)
        }
        Ok(Err(ReadError::BehindRetention(message))) => error(HttpResponse::Gone(), &message),
        Ok(Err(ReadError::AheadOfFeed(message))) => error(HttpResponse::Conflict(), &message),
        Ok(Err(ReadError::Database(e))) => {
            tracing::warn!(error = %e, "GET /changes: the feed could not be read");
            error(
                HttpResponse::ServiceUnavailable(),
                "the feed could not be read from Postgres; try again",
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "GET /changes: no Postgres connection");
            error(
                HttpResponse::ServiceUnavailable(),
                "Postgres is unavailable; try again",
            )
        }
    }
}
