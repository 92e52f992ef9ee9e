//! Tracing set-up: `LOG_FORMAT=pretty|json`, filter from `RUST_LOG` (default `info`).

use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt, EnvFilter, Registry};

use crate::config::LogFormat;

/// Builds the subscriber. `sink` lets tests silence logs or capture them.
pub fn subscriber<W>(
    format: LogFormat,
    default_filter: &str,
    sink: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(sink),
            ),
        ),
        LogFormat::Pretty => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_writer(sink),
            ),
        ),
    }
}

/// Installs the subscriber for the whole process. A second call is a no-op, so tests
/// may call it freely.
pub fn init(format: LogFormat) {
    let _ = tracing::subscriber::set_global_default(subscriber(format, "info", std::io::stdout));
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
