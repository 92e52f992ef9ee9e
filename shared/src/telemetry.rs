//! Tracing set-up: `LOG_FORMAT=pretty|json`, filter from `RUST_LOG` (default `info`).
//!
//! Message bodies are personal data and never reach a log line: lapin logs a message
//! the broker returned, body included, at WARN (target [`LAPIN_RETURNS`]), so that
//! target is capped at ERROR unless `RUST_LOG` names it explicitly. We log returns
//! ourselves, without the body.
//!
//! In JSON, each line is one flat object: `timestamp`, `level`, `target`, `message`,
//! the event's fields, and the fields of the spans it happened in (so every line
//! about an event carries `svix_id`, `event_type`, `object_id` at the top level).

use std::{fmt, io::IsTerminal};

use serde_json::{Map, Value};
use tracing::{field::Field, Event, Subscriber};
use tracing_subscriber::{
    field::Visit,
    fmt::{
        format::{JsonFields, Writer},
        FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter,
    },
    layer::SubscriberExt,
    registry::LookupSpan,
    EnvFilter, Registry,
};

use crate::config::{LogFormat, LogSettings};

/// The target under which lapin logs returned messages with their bodies.
pub const LAPIN_RETURNS: &str = "lapin::returned_messages";

/// The filter for `directives` (checked by [`LogSettings::from_env`]; an invalid one
/// falls back to `info`), with lapin's returned-message log capped at ERROR unless
/// the directives name that target.
pub fn filter(directives: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    if directives.contains(LAPIN_RETURNS) {
        return filter;
    }
    match format!("{LAPIN_RETURNS}=error").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Builds the subscriber. `sink` lets tests silence logs or capture them.
pub fn subscriber<W>(
    format: LogFormat,
    directives: &str,
    sink: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = filter(directives);
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(FlatJson)
                    .with_writer(sink),
            ),
        ),
        LogFormat::Pretty => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    // Colours only for a person at a terminal: escape codes are noise
                    // in a log collector, and formatting them cost the receiver 4%
                    // of its CPU.
                    .with_ansi(std::io::stdout().is_terminal())
                    .with_writer(sink),
            ),
        ),
    }
}

/// One flat JSON object a line; span fields (outermost first) are overridden by
/// inner spans' and then by the event's own.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                    if let Ok(Value::Object(fields)) = serde_json::from_str(fields.as_str()) {
                        line.extend(fields);
                    }
                }
            }
        }
        event.record(&mut Fields(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Collects an event's fields into the line.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

/// The subscriber with traces on: each layer has its own filter, so `RUST_LOG` chooses
/// the log lines and [`otel`](crate::otel) the spans it exports.
fn subscriber_with_traces<W>(
    format: LogFormat,
    directives: &str,
    sink: W,
    traces: crate::otel::Traces,
) -> (
    Box<dyn tracing::Subscriber + Send + Sync>,
    crate::otel::Guard,
)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    let filter = filter(directives);
    let (traces, guard) = traces.install();
    let registry = Registry::default().with(traces);
    let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match format {
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(FlatJson)
                    .with_writer(sink)
                    .with_filter(filter),
            ),
        ),
        LogFormat::Pretty => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stdout().is_terminal())
                    .with_writer(sink)
                    .with_filter(filter),
            ),
        ),
    };
    (subscriber, guard)
}

/// [`init`], and traces when `traces` is given (see [`crate::otel`]): keep the guard
/// until the end of `main` and shut it down there, so the last spans are sent.
pub fn init_with_traces(
    settings: &LogSettings,
    traces: Option<crate::otel::Traces>,
) -> Option<crate::otel::Guard> {
    let Some(traces) = traces else {
        init(settings);
        return None;
    };
    let (subscriber, guard) =
        subscriber_with_traces(settings.format, &settings.filter, std::io::stdout, traces);
    let _ = tracing::subscriber::set_global_default(subscriber);
    Some(guard)
}

/// What a binary's `main` does around its work: sets up logs (`log`) and traces
/// from the `OTEL_*` variables as `service`, runs `work`, and sends the last spans.
/// An invalid `OTEL_*` setting is the configuration exit code, said in one line.
pub async fn run_traced<F>(log: &LogSettings, service: &str, work: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = std::process::ExitCode>,
{
    let traces = match crate::otel::Traces::from_env(service) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(crate::report::CONFIG_EXIT_CODE);
        }
    };
    let traces_to = traces
        .as_ref()
        .map(|t| format!("{} as {}", t.endpoint_redacted(), t.service()));
    let mut guard = init_with_traces(log, traces);
    if let Some(to) = traces_to {
        tracing::info!("sending traces to {to} (OTLP/HTTP)");
    }
    let code = work.await;
    if let Some(mut guard) = guard.take() {
        // Blocking (it sends the last spans): not on the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || guard.shutdown()).await;
    }
    code
}

/// Installs the subscriber for the whole process. A second call is a no-op, so tests
/// may call it freely.
pub fn init(settings: &LogSettings) {
    let _ = tracing::subscriber::set_global_default(subscriber(
        settings.format,
        &settings.filter,
        std::io::stdout,
    ));
}

/// For tests: logs to stdout when `TEST_LOG` is set, nowhere otherwise.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing::subscriber::set_global_default(subscriber(
            LogFormat::Pretty,
            "info",
            std::io::stdout,
        ));
    } else {
        let _ = tracing::subscriber::set_global_default(subscriber(
            LogFormat::Pretty,
            "off",
            std::io::sink,
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lapin_returned_messages_are_filtered_at_default_levels() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(LogFormat::Json, "info,lapin=warn", move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "lapin::returned_messages", body = "secret body", "returned");
            tracing::warn!(target: "lapin::channel", "other lapin warnings stay");
        });
        let text = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf8");
        assert!(!text.contains("secret body"), "{text}");
        assert!(text.contains("other lapin warnings stay"), "{text}");
    }

    #[test]
    fn json_lines_are_flat_with_span_fields_on_top() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(LogFormat::Json, "info", move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "event",
                svix_id = "msg_1",
                event_type = "user.created",
                object_id = tracing::field::Empty
            );
            span.record("object_id", "user_1");
            let _enter = span.enter();
            tracing::info!(outcome = "applied", attempts = 2, "event applied");
        });
        let text = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("utf8");
        let line: Value = serde_json::from_str(text.trim()).expect("one JSON object");
        assert_eq!(line["message"], "event applied");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["svix_id"], "msg_1");
        assert_eq!(line["event_type"], "user.created");
        assert_eq!(line["object_id"], "user_1");
        assert_eq!(line["outcome"], "applied");
        assert_eq!(line["attempts"], 2);
    }
}
