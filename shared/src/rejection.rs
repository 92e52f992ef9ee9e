//! The record of one refused request, as the receiver writes it to
//! `{prefix}.rejected` and the worker's operator page reads it (DESIGN.md §3).
//! Never the body, a signature or a header's value (but those named here).

use serde::{Deserialize, Serialize};

/// One request the webhook endpoint answered 400, 401, 413 or 415.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rejection {
    /// RFC 3339, UTC.
    pub at: String,
    pub status: u16,
    /// A label: `bad_headers`, `not_utf8`, `bad_signature`, `stale_timestamp`,
    /// `not_an_event`, `too_large`, `unsupported_encoding`.
    pub reason: String,
    pub svix_id: Option<String>,
    pub source: Option<String>,
    pub forwarded_for: Option<String>,
    pub user_agent: Option<String>,
    /// The body's size, as `Content-Length` announced it (Svix always sends it).
    pub body_bytes: Option<u64>,
    #[serde(default)]
    pub header_names: Vec<String>,
}
