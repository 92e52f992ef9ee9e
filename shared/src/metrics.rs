//! Prometheus plumbing both binaries use. Each binary owns its registry: no global
//! recorder, so tests can run several in one process.

use prometheus::{core::Collector, Encoder, Registry, TextEncoder};

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Registers `collectors` with `registry`. Panics on a name registered twice, which
/// is a programming error caught by any test that builds the metrics.
pub fn register(registry: &Registry, collectors: Vec<Box<dyn Collector>>) {
    for c in collectors {
        registry.register(c).expect("metric registered once");
    }
}

/// The registry's metrics in Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&registry.gather(), &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}
