//! Traces over OTLP/HTTP (protobuf), on only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set.
//!
//! Off, nothing of this runs: no exporter, no layer, no span made for traces, no
//! header. [`enabled`] is one relaxed atomic load, and every span made only for
//! traces is made behind it.
//!
//! On, the receiver's request span (`POST /webhooks/clerk`, with `verify` and
//! `publish` under it) writes a W3C `traceparent` (and `tracestate`, if any) into the
//! published message's headers ([`inject`]); the worker's span for that event takes
//! it as its remote parent ([`set_remote_parent`]). Retries and replays copy the
//! headers, so every attempt lands in the trace of the webhook.
//!
//! What goes out: spans only (no log events: their error text may quote a
//! database's detail), of our own crates only (`receiver`, `worker`, `shared`), with
//! the fields they are made with (`svix_id`, `event_type`, `object_id`, counts and
//! outcomes). No body, address, name, secret or signature is ever a span field.
//!
//! Spans are batched and sent from a thread of the SDK's own
//! (`OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, …): a request only puts
//! its spans in a bounded queue, and when the endpoint is slow or down they are
//! dropped, never waited for. A failing endpoint is logged once (and once more when
//! it answers again). [`Guard::shutdown`] sends what is left.

use std::{
    fmt,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use lapin::types::{AMQPValue, FieldTable};
use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    propagation::TraceContextPropagator,
    trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter},
    Resource,
};
use tracing::{Metadata, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    filter::{filter_fn, FilterFn, Filtered},
    registry::LookupSpan,
    Layer,
};

use crate::{
    config::{redact_url, ConfigError},
    headers,
};

/// The variables that turn traces on (either one).
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";

/// Default `service.name`s, when neither `OTEL_SERVICE_NAME` nor
/// `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const RECEIVER_SERVICE: &str = "clerk-sync-receiver";
pub const WORKER_SERVICE: &str = "clerk-sync-worker";

/// The crates whose spans are exported.
const OUR_CRATES: [&str; 3] = ["receiver", "worker", "shared"];

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether traces are on in this process (set once by [`Traces::install`]).
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A tracer provider built from the environment, not yet installed.
pub struct Traces {
    provider: SdkTracerProvider,
    service: String,
    endpoint: String,
}

impl fmt::Debug for Traces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traces")
            .field("service", &self.service)
            .field("endpoint", &redact_url(&self.endpoint))
            .finish()
    }
}

impl Traces {
    /// `None` unless `OTEL_EXPORTER_OTLP_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and not empty). The rest of the
    /// standard variables are read by the OpenTelemetry SDK as usual.
    pub fn from_env(default_service: &str) -> Result<Option<Self>, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (name, endpoint) = match (var(TRACES_ENDPOINT_VAR), var(ENDPOINT_VAR)) {
            (Some(e), _) => (TRACES_ENDPOINT_VAR, e),
            (None, Some(e)) => (ENDPOINT_VAR, e),
            (None, None) => return Ok(None),
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(ConfigError::new(
                if name == TRACES_ENDPOINT_VAR {
                    TRACES_ENDPOINT_VAR
                } else {
                    ENDPOINT_VAR
                },
                format!(
                    "= {:?} is not an http:// or https:// URL; give the collector's OTLP/HTTP \
                     address (e.g. http://127.0.0.1:4318) or unset it to turn traces off",
                    redact_url(&endpoint)
                ),
            ));
        }
        if let Some(protocol) = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .filter(|p| p != "http/protobuf")
        {
            return Err(ConfigError::new(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                format!(
                    "= {protocol:?} is not supported: clerk-sync sends OTLP over HTTP with \
                     protobuf only; set it to http/protobuf or unset it"
                ),
            ));
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| {
                ConfigError::new(
                    if name == TRACES_ENDPOINT_VAR {
                        TRACES_ENDPOINT_VAR
                    } else {
                        ENDPOINT_VAR
                    },
                    format!("could not set up the OTLP exporter ({e}); check the OTEL_EXPORTER_OTLP_* variables"),
                )
            })?;
        let service = service_name(default_service);
        let resource = Resource::builder()
            .with_service_name(service.clone())
            .build();
        let processor = BatchSpanProcessor::builder(LogOnce::new(exporter, &endpoint)).build();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_span_processor(processor)
            .build();
        Ok(Some(Self {
            provider,
            service,
            endpoint,
        }))
    }

    /// The `service.name` spans are sent under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The endpoint, password (if any) replaced by `***`.
    pub fn endpoint_redacted(&self) -> String {
        redact_url(&self.endpoint)
    }

    /// Turns traces on for this process: the layer to add to the subscriber (with
    /// its own filter: spans of our crates, at INFO and above, whatever `RUST_LOG`
    /// says), and the guard that flushes on shutdown.
    pub fn install<S>(self) -> (Filtered<TraceLayer<S>, OursOnly, S>, Guard)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let tracer = self.provider.tracer("clerk-sync");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(filter_fn(ours_only as fn(&Metadata<'_>) -> bool));
        ENABLED.store(true, Ordering::Relaxed);
        (
            layer,
            Guard {
                provider: Some(self.provider),
            },
        )
    }
}

/// The layer [`Traces::install`] gives.
pub type TraceLayer<S> =
    tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>;
/// Its filter.
pub type OursOnly = FilterFn<fn(&Metadata<'_>) -> bool>;

fn ours_only(meta: &Metadata<'_>) -> bool {
    meta.is_span()
        && *meta.level() <= tracing::Level::INFO
        && OUR_CRATES.iter().any(|c| {
            meta.target()
                .strip_prefix(c)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// `OTEL_SERVICE_NAME`, else a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else
/// `default`.
fn service_name(default: &str) -> String {
    if let Some(name) = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty())
    {
        return name;
    }
    if let Ok(attributes) = std::env::var("OTEL_RESOURCE_ATTRIBUTES") {
        for pair in attributes.split(',') {
            if let Some((k, v)) = pair.split_once('=') {
                if k.trim() == "service.name" && !v.trim().is_empty() {
                    return v.trim().to_owned();
                }
            }
        }
    }
    default.to_owned()
}

/// Flushes and stops the exporter when shut down or dropped.
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Guard {
    /// Sends the spans still queued (bounded by the SDK's timeouts) and stops the
    /// exporter. Blocking: call it from a blocking thread or at the very end of
    /// `main`.
    pub fn shutdown(&mut self) {
        if let Some(provider) = self.provider.take() {
            ENABLED.store(false, Ordering::Relaxed);
            if let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5)) {
                tracing::warn!(error = %e, "could not send the last spans to the OTLP endpoint");
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The exporter, logging a failing endpoint once (and once when it answers again)
/// rather than at every batch.
#[derive(Debug)]
struct LogOnce<E> {
    inner: E,
    endpoint: String,
    failing: AtomicBool,
}

impl<E> LogOnce<E> {
    fn new(inner: E, endpoint: &str) -> Self {
        Self {
            inner,
            endpoint: endpoint.to_owned(),
            failing: AtomicBool::new(false),
        }
    }
}

impl<E: SpanExporter> SpanExporter for LogOnce<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        match &result {
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    let error = e
                        .to_string()
                        .replace(&self.endpoint, &redact_url(&self.endpoint));
                    tracing::warn!(
                        endpoint = %redact_url(&self.endpoint),
                        error,
                        "cannot send spans to the OTLP endpoint; dropping them until it answers \
                         (webhooks are not affected; check OTEL_EXPORTER_OTLP_ENDPOINT and the collector)"
                    );
                }
            }
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        endpoint = %redact_url(&self.endpoint),
                        "the OTLP endpoint answers again; sending spans"
                    );
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The W3C trace context header names.
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// Writes `span`'s context as `traceparent` (and `tracestate`) into `table`. Nothing
/// when traces are off or the span is not recorded.
pub fn inject(span: &Span, table: &mut FieldTable) {
    if !enabled() {
        return;
    }
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new().inject_context(&cx, &mut TableInjector(table));
}

/// Makes the context in `headers` (a `traceparent` the receiver wrote) `span`'s
/// parent. Nothing when traces are off or the headers carry no valid context (the
/// span keeps the parent it has). Whether a remote parent was set.
pub fn set_remote_parent(span: &Span, headers: Option<&FieldTable>) -> bool {
    if !enabled() {
        return false;
    }
    let cx = TraceContextPropagator::new().extract(&TableExtractor(headers));
    // Fails only for a span that is disabled or already started: then it keeps its
    // local parent, which is still a correct trace.
    cx.span().span_context().is_valid() && span.set_parent(cx).is_ok()
}

/// Makes `parent` the parent of `span` (made elsewhere, not yet entered).
pub fn set_local_parent(span: &Span, parent: &Span) {
    if enabled() {
        let _ = span.set_parent(parent.context());
    }
}

/// Links `span` to `to` (e.g. an event's span to its batch's).
pub fn link(span: &Span, to: &Span) {
    if !enabled() {
        return;
    }
    let cx = to.context();
    let target = cx.span().span_context().clone();
    if target.is_valid() {
        span.add_link(target);
    }
}

struct TableInjector<'a>(&'a mut FieldTable);

impl Injector for TableInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        headers::set_str(self.0, key, &value);
    }
}

struct TableExtractor<'a>(Option<&'a FieldTable>);

impl Extractor for TableExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.0?.inner().get(key)? {
            AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok(),
            AMQPValue::ShortString(s) => Some(s.as_str()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .map(|t| t.inner().keys().map(|k| k.as_str()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_written_reads_back() {
        let mut table = FieldTable::default();
        let mut injector = TableInjector(&mut table);
        injector.set(
            TRACEPARENT,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        );
        let extractor = TableExtractor(Some(&table));
        assert_eq!(
            extractor.get(TRACEPARENT),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        let cx = TraceContextPropagator::new().extract(&extractor);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(TableExtractor(None).get(TRACEPARENT).is_none());
    }

    #[test]
    fn off_nothing_is_written() {
        // ENABLED is false in unit tests: no layer was installed.
        let mut table = FieldTable::default();
        inject(&Span::none(), &mut table);
        assert!(table.inner().is_empty());
    }

    #[test]
    fn only_spans_of_our_crates_are_exported() {
        let prefixes = |t: &str| {
            OUR_CRATES.iter().any(|c| {
                t.strip_prefix(c)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
        };
        assert!(prefixes("worker::consumer::batch"));
        assert!(prefixes("receiver"));
        assert!(!prefixes("receivers"));
        assert!(!prefixes("lapin::channel"));
        assert!(!prefixes("reqwest::connect"));
    }
}
