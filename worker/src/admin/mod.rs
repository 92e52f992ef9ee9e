//! The operator page (DESIGN.md §6b): served by the worker under `/admin` when
//! `ADMIN_TOKEN` is set. Overview, events, dead letters with replay; the same data as
//! JSON under `/admin/api`.
//!
//! - `token`: the secret and its constant-time check;
//! - `session`: sessions and their CSRF tokens;
//! - `auth`: who may see the page, and the 401 answers;
//! - `data`: what is shown, read from Postgres and RabbitMQ;
//! - `views`: the maud templates;
//! - `routes`: the handlers.

mod auth;
mod data;
mod routes;
mod session;
mod token;
mod views;

use actix_web::web;

pub use data::Sources;
pub use token::AdminToken;

/// What the handlers share.
pub struct AdminState {
    pub token: AdminToken,
    pub sessions: session::Sessions,
    pub sources: Sources,
}

impl AdminState {
    pub fn new(token: AdminToken, sources: Sources) -> Self {
        Self {
            token,
            sessions: session::Sessions::default(),
            sources,
        }
    }
}

/// Mounts `/admin` and `/admin/api`.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AdminState>) {
    cfg.service(
        web::scope("/admin")
            .app_data(state)
            .route("", web::get().to(routes::overview))
            .route("/", web::get().to(routes::overview))
            .route("/login", web::get().to(routes::sign_in_form))
            .route("/login", web::post().to(routes::sign_in))
            .route("/logout", web::post().to(routes::sign_out))
            .route("/events", web::get().to(routes::events))
            .route("/dead-letters", web::get().to(routes::dead_letters))
            .route("/dead-letters/show", web::get().to(routes::dead_letter))
            .route("/dead-letters/replay", web::post().to(routes::replay))
            .route("/refused", web::get().to(routes::refused))
            .route("/api/overview", web::get().to(routes::api::overview))
            .route("/api/events", web::get().to(routes::api::events))
            .route("/api/refused", web::get().to(routes::api::refused))
            .route(
                "/api/dead-letters",
                web::get().to(routes::api::dead_letters),
            )
            .route(
                "/api/dead-letters/replay",
                web::post().to(routes::api::replay),
            )
            .route(
                "/api/dead-letters/{id}",
                web::get().to(routes::api::dead_letter),
            ),
    );
}
