//! The handlers: HTML pages under `/admin`, the same data as JSON under `/admin/api`.

use actix_web::{
    cookie::Cookie,
    http::header,
    web::{self, Bytes},
    HttpRequest, HttpResponse,
};
use serde::Deserialize;

use super::{
    auth::{self, html, Operator},
    data::{DeadLetterQuery, EventQuery, RefusedQuery, ReplayRequest},
    session::{COOKIE, LOGIN_COOKIE},
    token::constant_time_eq,
    views, AdminState,
};

/// A form body (`application/x-www-form-urlencoded`), which may repeat a field.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Logs the cause and answers without it.
fn failed(req: &HttpRequest, csrf: &str, what: &str, e: &anyhow::Error) -> HttpResponse {
    tracing::error!(error = %format!("{e:#}"), "operator page: could not {what}");
    if auth::wants_html(req) {
        html(
            HttpResponse::InternalServerError(),
            views::message(
                "Something went wrong",
                Some(csrf),
                &format!("Could not {what}. The worker's log says why."),
            ),
        )
    } else {
        HttpResponse::InternalServerError()
            .json(serde_json::json!({ "error": format!("could not {what}") }))
    }
}

fn see_other(to: &str) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::SeeOther();
    b.insert_header((header::LOCATION, to.to_owned()));
    b
}

/// A cookie that removes `name`.
fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build(name, "").path("/admin").finish();
    c.make_removal();
    c
}

pub async fn sign_in_form(req: HttpRequest, op: Option<Operator>) -> HttpResponse {
    if op.is_some() {
        return see_other("/admin").finish();
    }
    auth::sign_in_page(&req, HttpResponse::Ok(), None, None)
}

pub async fn sign_in(req: HttpRequest, state: web::Data<AdminState>, body: Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    let next = form.get("next").filter(|n| auth::safe_next(n));
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let csrf_ok = match (expected, form.get("csrf")) {
        (Some(e), Some(got)) => !e.is_empty() && constant_time_eq(e.as_bytes(), got.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        tracing::warn!("operator page: a sign-in without its CSRF token was refused");
        return auth::sign_in_page(
            &req,
            HttpResponse::Forbidden(),
            Some("The sign-in form had expired. Please try again."),
            next,
        );
    }
    if !state.token.verify(form.get("token").unwrap_or_default()) {
        tracing::warn!("operator page: sign-in with a wrong token");
        return auth::sign_in_page(
            &req,
            HttpResponse::Unauthorized(),
            Some("Wrong token."),
            next,
        );
    }
    let id = state.sessions.create();
    tracing::info!("operator page: signed in");
    see_other(next.unwrap_or("/admin"))
        .cookie(auth::cookie(&req, COOKIE, id))
        .cookie(removal(LOGIN_COOKIE))
        .finish()
}

pub async fn sign_out(state: web::Data<AdminState>, op: Operator, body: Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    if let Some(refused) = op.csrf_refusal(form.get("csrf")) {
        return refused;
    }
    if let Some((id, _)) = &op.session {
        state.sessions.remove(id);
    }
    see_other("/admin/login").cookie(removal(COOKIE)).finish()
}

pub async fn overview(
    req: HttpRequest,
    state: web::Data<AdminState>,
    op: Operator,
) -> HttpResponse {
    match state.sources.overview().await {
        Ok(o) => html(HttpResponse::Ok(), views::overview(op.csrf(), &o)),
        Err(e) => failed(&req, op.csrf(), "read the overview", &e),
    }
}

pub async fn events(
    req: HttpRequest,
    state: web::Data<AdminState>,
    op: Operator,
    q: web::Query<EventQuery>,
) -> HttpResponse {
    let q = q.into_inner().normalized();
    match state.sources.events(&q).await {
        Ok(p) => html(HttpResponse::Ok(), views::events(op.csrf(), &q, &p)),
        Err(e) => failed(&req, op.csrf(), "read the events", &e),
    }
}

pub async fn dead_letters(
    req: HttpRequest,
    state: web::Data<AdminState>,
    op: Operator,
    q: web::Query<DeadLetterQuery>,
) -> HttpResponse {
    let q = q.into_inner().normalized();
    match state.sources.dead_letters(&q).await {
        Ok(l) => html(HttpResponse::Ok(), views::dead_letters(op.csrf(), &q, &l)),
        Err(e) => failed(&req, op.csrf(), "read the dead letters", &e),
    }
}

pub async fn refused(
    req: HttpRequest,
    state: web::Data<AdminState>,
    op: Operator,
    q: web::Query<RefusedQuery>,
) -> HttpResponse {
    let q = q.into_inner().normalized();
    match state.sources.refused(&q).await {
        Ok(l) => html(HttpResponse::Ok(), views::refused(op.csrf(), &q, &l)),
        Err(e) => failed(&req, op.csrf(), "read the refused requests", &e),
    }
}

#[derive(Deserialize)]
pub struct IdQuery {
    id: String,
}

pub async fn dead_letter(
    req: HttpRequest,
    state: web::Data<AdminState>,
    op: Operator,
    q: web::Query<IdQuery>,
) -> HttpResponse {
    match state.sources.dead_letter(&q.id).await {
        Ok(Some(d)) => html(HttpResponse::Ok(), views::dead_letter(op.csrf(), &d)),
        Ok(None) => html(
            HttpResponse::NotFound(),
            views::message(
                "Not found",
                Some(op.csrf()),
                "No dead letter has this svix-id (was it replayed already?).",
            ),
        ),
        Err(e) => failed(&req, op.csrf(), "read the dead letter", &e),
    }
}

/// Replay from a form: without `confirm=yes` it only counts and asks to confirm.
pub async fn replay(
    req: HttpRequest,
    state: web::Data<AdminState>,
    op: Operator,
    body: Bytes,
) -> HttpResponse {
    let form = Form::parse(&body);
    if let Some(refused) = op.csrf_refusal(form.get("csrf")) {
        return refused;
    }
    let ids = match form.get("scope") {
        Some("selected") => {
            let ids = form.all("id");
            if ids.is_empty() {
                return html(
                    HttpResponse::BadRequest(),
                    views::message(
                        "Nothing selected",
                        Some(op.csrf()),
                        "Tick the dead letters to replay first.",
                    ),
                );
            }
            ids
        }
        Some("matching") => Vec::new(),
        _ => {
            return html(
                HttpResponse::BadRequest(),
                views::message("Bad request", Some(op.csrf()), "Unknown replay scope."),
            )
        }
    };
    let request = ReplayRequest {
        ids,
        query: DeadLetterQuery {
            event_type: form.get("type").map(str::to_owned),
            reason: form.get("reason").map(str::to_owned),
            svix_id: form.get("svix_id").map(str::to_owned),
            page: None,
        }
        .normalized(),
        dry_run: form.get("confirm") != Some("yes"),
    };
    match state.sources.replay(&request).await {
        Ok(r) if r.dry_run => html(
            HttpResponse::Ok(),
            views::confirm_replay(op.csrf(), &request, &r),
        ),
        Ok(r) => html(HttpResponse::Ok(), views::replayed(op.csrf(), &r)),
        Err(e) => failed(&req, op.csrf(), "replay", &e),
    }
}

pub mod api {
    //! The JSON twins of the pages.

    use super::*;

    pub async fn overview(
        req: HttpRequest,
        state: web::Data<AdminState>,
        op: Operator,
    ) -> HttpResponse {
        match state.sources.overview().await {
            Ok(o) => HttpResponse::Ok().json(o),
            Err(e) => failed(&req, op.csrf(), "read the overview", &e),
        }
    }

    pub async fn events(
        req: HttpRequest,
        state: web::Data<AdminState>,
        op: Operator,
        q: web::Query<EventQuery>,
    ) -> HttpResponse {
        match state.sources.events(&q.into_inner().normalized()).await {
            Ok(p) => HttpResponse::Ok().json(p),
            Err(e) => failed(&req, op.csrf(), "read the events", &e),
        }
    }

    pub async fn dead_letters(
        req: HttpRequest,
        state: web::Data<AdminState>,
        op: Operator,
        q: web::Query<DeadLetterQuery>,
    ) -> HttpResponse {
        match state
            .sources
            .dead_letters(&q.into_inner().normalized())
            .await
        {
            Ok(l) => HttpResponse::Ok().json(l),
            Err(e) => failed(&req, op.csrf(), "read the dead letters", &e),
        }
    }

    pub async fn refused(
        req: HttpRequest,
        state: web::Data<AdminState>,
        op: Operator,
        q: web::Query<RefusedQuery>,
    ) -> HttpResponse {
        match state.sources.refused(&q.into_inner().normalized()).await {
            Ok(l) => HttpResponse::Ok().json(l),
            Err(e) => failed(&req, op.csrf(), "read the refused requests", &e),
        }
    }

    pub async fn dead_letter(
        req: HttpRequest,
        state: web::Data<AdminState>,
        op: Operator,
        id: web::Path<String>,
    ) -> HttpResponse {
        match state.sources.dead_letter(&id).await {
            Ok(Some(d)) => HttpResponse::Ok().json(d),
            Ok(None) => HttpResponse::NotFound().json(serde_json::json!({ "error": "not found" })),
            Err(e) => failed(&req, op.csrf(), "read the dead letter", &e),
        }
    }

    /// `POST /admin/api/dead-letters/replay` with a JSON [`ReplayRequest`]. With a
    /// session cookie, the `X-CSRF-Token` header must carry the session's token.
    pub async fn replay(
        req: HttpRequest,
        state: web::Data<AdminState>,
        op: Operator,
        body: web::Json<ReplayRequest>,
    ) -> HttpResponse {
        let csrf = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if op.csrf_refusal(csrf).is_some() {
            return HttpResponse::Forbidden()
                .json(serde_json::json!({ "error": "missing or wrong CSRF token" }));
        }
        let mut request = body.into_inner();
        request.query = request.query.normalized();
        match state.sources.replay(&request).await {
            Ok(r) => HttpResponse::Ok().json(r),
            Err(e) => failed(&req, op.csrf(), "replay", &e),
        }
    }
}
