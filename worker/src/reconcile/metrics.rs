//! `clerk_sync_reconcile_*` metrics, and the small HTTP server that exposes them
//! (`--metrics-addr`): `/healthz` and `/metrics`.

use std::net::TcpListener;

use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use prometheus::{Gauge, IntCounter, IntCounterVec, Opts, Registry};

use super::{KindCounts, Summary};
use crate::apply::Family;

/// Every `kind` a run can count: users, organizations, memberships, and the other
/// families `--all-objects` lists.
pub fn kinds() -> Vec<&'static str> {
    ["users", "organizations", "memberships"]
        .into_iter()
        .chain(
            Family::ALL
                .into_iter()
                .filter(|f| f.list_path().is_some())
                .map(Family::table),
        )
        .collect()
}

/// The `result`s of `clerk_sync_reconcile_runs_total`.
pub const RESULTS: [&str; 2] = ["ok", "failed"];

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Objects listed by Clerk and compared, by kind.
    pub checked: IntCounterVec,
    /// Rows applied because they were missing locally, by kind.
    pub missing: IntCounterVec,
    /// Rows applied because the local copy was older, by kind.
    pub outdated: IntCounterVec,
    /// Rows tombstoned because Clerk no longer has the object, by kind.
    pub gone: IntCounterVec,
    /// Runs, by result (`ok`, `failed`).
    pub runs: IntCounterVec,
    /// Unix time of the end of the last run that succeeded.
    pub last_success: Gauge,
    /// How long the last run took, in seconds.
    pub last_duration: Gauge,
    /// Requests sent to Clerk's Backend API (every try).
    pub requests: IntCounter,
    /// 429 answers from Clerk.
    pub rate_limited: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let by_kind = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["kind"]).expect("valid metric")
        };
        let checked = by_kind(
            "clerk_sync_reconcile_checked_total",
            "Objects listed by Clerk and compared with the local rows.",
        );
        let missing = by_kind(
            "clerk_sync_reconcile_missing_total",
            "Objects Clerk has that had no local row, applied.",
        );
        let outdated = by_kind(
            "clerk_sync_reconcile_outdated_total",
            "Local rows older than Clerk's copy, brought up to date.",
        );
        let gone = by_kind(
            "clerk_sync_reconcile_gone_total",
            "Live local rows whose object Clerk no longer has, tombstoned.",
        );
        let runs = IntCounterVec::new(
            Opts::new(
                "clerk_sync_reconcile_runs_total",
                "Reconcile runs, by result.",
            ),
            &["result"],
        )
        .expect("valid metric");
        let last_success = Gauge::new(
            "clerk_sync_reconcile_last_success_timestamp_seconds",
            "Unix time at which the last successful reconcile run ended.",
        )
        .expect("valid metric");
        let last_duration = Gauge::new(
            "clerk_sync_reconcile_last_run_duration_seconds",
            "How long the last reconcile run took.",
        )
        .expect("valid metric");
        let requests = IntCounter::new(
            "clerk_sync_reconcile_api_requests_total",
            "Requests sent to Clerk's Backend API, retries included.",
        )
        .expect("valid metric");
        let rate_limited = IntCounter::new(
            "clerk_sync_reconcile_rate_limited_total",
            "429 answers from Clerk's Backend API (each waited out).",
        )
        .expect("valid metric");
        // Every series exists from start-up at 0, so that `increase()` sees the first
        // failed run and the drift of the first run too (a series born at its first
        // value shows no increase).
        for kind in kinds() {
            for counter in [&checked, &missing, &outdated, &gone] {
                counter.with_label_values(&[kind]);
            }
        }
        for result in RESULTS {
            runs.with_label_values(&[result]);
        }
        shared::metrics::register(
            &registry,
            vec![
                Box::new(checked.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(missing.clone()),
                Box::new(outdated.clone()),
                Box::new(gone.clone()),
                Box::new(runs.clone()),
                Box::new(last_success.clone()),
                Box::new(last_duration.clone()),
                Box::new(requests.clone()),
                Box::new(rate_limited.clone()),
            ],
        );
        Self {
            registry,
            checked,
            missing,
            outdated,
            gone,
            runs,
            last_success,
            last_duration,
            requests,
            rate_limited,
        }
    }

    /// Adds what a run did. A dry run changed nothing: only `checked` counts it.
    pub fn record(&self, summary: &Summary) {
        for (kind, c) in summary.per_kind() {
            self.add(kind, c, summary.dry_run);
        }
    }

    fn add(&self, kind: &str, c: &KindCounts, dry_run: bool) {
        self.checked.with_label_values(&[kind]).inc_by(c.checked);
        if !dry_run {
            self.missing.with_label_values(&[kind]).inc_by(c.missing);
            self.outdated.with_label_values(&[kind]).inc_by(c.outdated);
            self.gone.with_label_values(&[kind]).inc_by(c.gone);
        }
    }

    pub fn render(&self) -> String {
        shared::metrics::render(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `/healthz` and `/metrics` on `addr`; returns the server and its port.
pub fn serve(addr: &str, metrics: Metrics) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(addr)
        .with_context(|| format!("could not listen on --metrics-addr {addr}"))?;
    let port = listener.local_addr()?.port();
    let data = web::Data::new(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route(
                "/healthz",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
                }),
            )
            .route("/metrics", web::get().to(text))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}

async fn text(m: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(shared::metrics::CONTENT_TYPE)
        .body(m.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_result_is_exported_at_zero_before_the_first_run() {
        let text = Metrics::new().render();
        let has = |line: String| {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        };
        for kind in kinds() {
            for name in ["checked", "missing", "outdated", "gone"] {
                has(format!(
                    "clerk_sync_reconcile_{name}_total{{kind=\"{kind}\"}} 0"
                ));
            }
        }
        for result in RESULTS {
            has(format!(
                "clerk_sync_reconcile_runs_total{{result=\"{result}\"}} 0"
            ));
        }
        assert!(
            kinds().contains(&"organization_invitations"),
            "{:?}",
            kinds()
        );
    }
}
