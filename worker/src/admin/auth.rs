//! Who may see the page: a signed-in session (cookie) or `Authorization: Bearer`.
//! Anything else is a 401: the sign-in page for browsers, JSON for everyone else.

use std::future::{ready, Ready};

use actix_web::{
    cookie::{Cookie, SameSite},
    dev::Payload,
    http::header,
    web, FromRequest, HttpRequest, HttpResponse,
};

use super::{
    session::{random_token, Session, COOKIE, LIFETIME, LOGIN_COOKIE},
    views, AdminState,
};

/// A request from the operator.
pub struct Operator {
    /// The session, when signed in with the cookie; `None` for a bearer token.
    pub session: Option<(String, Session)>,
}

impl Operator {
    /// The CSRF token forms carry (a bearer client needs none, and gets an empty one).
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |(_, s)| s.csrf.as_str())
    }

    /// A state change needs the session's CSRF token; a bearer token is not sent by a
    /// browser on its own, so it needs none. Returns the refusal, if refused.
    pub fn csrf_refusal(&self, provided: Option<&str>) -> Option<HttpResponse> {
        match &self.session {
            None => None,
            Some((_, s)) if s.csrf_ok(provided) => None,
            Some(_) => {
                tracing::warn!("operator page: a form without a valid CSRF token was refused");
                Some(forbidden_csrf(self.csrf()))
            }
        }
    }
}

pub fn forbidden_csrf(csrf: &str) -> HttpResponse {
    html(
        HttpResponse::Forbidden(),
        views::message(
            "Refused",
            (!csrf.is_empty()).then_some(csrf),
            "This form did not carry a valid CSRF token. Reload the page and try again.",
        ),
    )
}

/// Whether the client wants HTML (a browser) rather than JSON.
pub fn wants_html(req: &HttpRequest) -> bool {
    if req.path().starts_with("/admin/api") {
        return false;
    }
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// An HTML answer with headers that keep the page from being framed, sniffed, cached
/// or running any script.
pub fn html(mut builder: actix_web::HttpResponseBuilder, markup: maud::Markup) -> HttpResponse {
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// A cookie only this page's paths get, never readable by script, never sent on a
/// request that started on another site; `Secure` when the page is reached over HTTPS.
pub fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(LIFETIME.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// The sign-in page with a fresh CSRF cookie for its form; after signing in, the
/// browser goes to `next` (a page of ours, see [`safe_next`]).
pub fn sign_in_page(
    req: &HttpRequest,
    mut builder: actix_web::HttpResponseBuilder,
    error: Option<&str>,
    next: Option<&str>,
) -> HttpResponse {
    let login_csrf = random_token();
    builder.cookie(cookie(req, LOGIN_COOKIE, login_csrf.clone()));
    html(
        builder,
        views::sign_in(&login_csrf, error, next.filter(|n| safe_next(n))),
    )
}

/// Whether `next` is one of our own pages: a path under `/admin`, never another
/// site (`//host`), in plain ASCII that fits in a `Location` header.
pub fn safe_next(next: &str) -> bool {
    (next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?"))
        && !next.starts_with("/admin/login")
        && !next.contains("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// The 401 answer for a request without a valid session or token.
pub fn unauthorized(req: &HttpRequest) -> HttpResponse {
    if wants_html(req) {
        let next = (req.method() == actix_web::http::Method::GET)
            .then(|| req.uri().path_and_query().map(|p| p.as_str()))
            .flatten();
        sign_in_page(req, HttpResponse::Unauthorized(), None, next)
    } else {
        HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(serde_json::json!({ "error": "unauthorized" }))
    }
}

fn authenticate(req: &HttpRequest) -> Option<Operator> {
    let state = req.app_data::<web::Data<AdminState>>()?;
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        // A wrong bearer token is a 401 even with a session cookie beside it.
        let token = auth.to_str().ok()?.strip_prefix("Bearer ")?;
        return state
            .token
            .verify(token)
            .then_some(Operator { session: None });
    }
    let id = req.cookie(COOKIE)?.value().to_owned();
    let session = state.sessions.get(&id)?;
    Some(Operator {
        session: Some((id, session)),
    })
}

impl FromRequest for Operator {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).ok_or_else(|| {
            actix_web::error::InternalError::from_response("unauthorized", unauthorized(req)).into()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn after_sign_in_only_our_own_pages_are_next() {
        for ok in [
            "/admin",
            "/admin/",
            "/admin/dead-letters?type=user.updated&reason=trigger",
        ] {
            assert!(safe_next(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/admin",
            "//evil.example/admin",
            "/admin//evil.example",
            "/adminx",
            "/admin/login",
            "/admin/\\evil",
            "/admin/\u{e9}",
            "/admin/a b",
            "",
        ] {
            assert!(!safe_next(bad), "{bad}");
        }
    }
}
