//! A small client of Clerk's Backend API: the listings backfill and reconcile read,
//! with offset or cursor paging, lookups by id, request spacing, rate-limit waits and
//! retries.
//!
//! Requests are spaced to stay under Clerk's rate limit (1,000 requests per 10 s in
//! production, 100 in development: the limit is told by the key, `sk_live_` or
//! `sk_test_`), and a 429 is waited out as its `Retry-After` asks. Every request
//! carries a pinned `Clerk-API-Version`, so a change of Clerk's default version does
//! not change the shapes we read.
//!
//! The secret key only ever goes into the `Authorization` header (marked sensitive);
//! it is in no error message, no log line and no `Debug` output.

use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use reqwest::{
    header::{self, HeaderMap, HeaderValue},
    StatusCode, Url,
};
use serde_json::Value;
use shared::backoff::Backoff;
use tracing::warn;

use crate::apply::Family;

/// Clerk's Backend API.
pub const DEFAULT_API_URL: &str = "https://api.clerk.com";

/// The largest `limit` Clerk accepts on its listings.
pub const MAX_PAGE_SIZE: usize = 500;

/// The most ids one lookup asks for (`GET /v1/users?user_id=…&user_id=…`).
pub const MAX_IDS_PER_LOOKUP: usize = 100;

/// The Backend API version every request asks for (`Clerk-API-Version`).
pub const CLERK_API_VERSION: &str = "2026-05-12";

/// The pause between two requests for a key: Clerk allows 1,000 requests per 10 s to
/// a production instance (`sk_live_…`) and 100 to a development one; we stay at
/// about 80% of that.
pub fn spacing_for_key(secret_key: &str) -> Duration {
    if secret_key.trim().starts_with("sk_live_") {
        Duration::from_millis(12)
    } else {
        Duration::from_millis(125)
    }
}

/// Requests sent and 429s received, for metrics.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Requests sent (every try counts).
    pub requests: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
}

impl ClientStats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

/// How the client waits and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all for one page when Clerk answers 5xx or cannot be reached.
    pub max_tries: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// The wait after a 429 without a usable `Retry-After`.
    pub default_retry_after: Duration,
    /// The longest wait a `Retry-After` may ask for.
    pub max_retry_after: Duration,
    /// 429s in a row for one page before giving up (a 429 is not a failure, but
    /// something that answers nothing else for this long is broken).
    pub max_rate_limited: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_tries: 5,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            default_retry_after: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
            max_rate_limited: 100,
        }
    }
}

/// A request to the Backend API that failed for good.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "CLERK_SECRET_KEY was refused by Clerk ({status}): check it is the secret key of this instance"
    )]
    Unauthorized { status: u16 },
    #[error("GET {url} failed {tries} times, giving up: {last}")]
    Unavailable {
        url: String,
        tries: u32,
        last: String,
    },
    #[error("GET {url} was rate limited (429) {times} times in a row, giving up")]
    RateLimited { url: String, times: u32 },
    #[error("GET {url} answered {status}: {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("GET {url} answered something that is not a list of objects: {reason}")]
    BadBody { url: String, reason: String },
}

impl ClientError {
    /// Clerk answered 404: the object (or the one a listing belongs to) is gone.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Rejected { status: 404, .. })
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The objects, as Clerk sent them.
    pub items: Vec<Value>,
    /// `total_count`, when the listing says it.
    pub total_count: Option<u64>,
}

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// `GET /v1/users`, oldest first.
    Users,
    /// `GET /v1/organizations`, oldest first.
    Organizations,
    /// `GET /v1/organizations/{id}/memberships`, oldest first.
    Memberships { organization_id: String },
    /// The instance-wide listing of another family (`GET /v1/organization_invitations`,
    /// …, see [`Family::list_path`]), in Clerk's default order.
    Objects(Family),
}

impl Listing {
    fn path(&self) -> Vec<&str> {
        match self {
            Self::Users => vec!["v1", "users"],
            Self::Organizations => vec!["v1", "organizations"],
            Self::Memberships { organization_id } => {
                vec!["v1", "organizations", organization_id, "memberships"]
            }
            Self::Objects(family) => family.list_path().unwrap_or_default().to_vec(),
        }
    }
}

/// A client of Clerk's Backend API that reads listings page by page.
#[derive(Clone)]
pub struct ClerkClient {
    http: reqwest::Client,
    base_url: Url,
    page_size: usize,
    retry: Retry,
    /// The least time between the starts of two requests.
    spacing: Duration,
    /// When the next request may start (shared by clones).
    next_slot: Arc<tokio::sync::Mutex<tokio::time::Instant>>,
    stats: Arc<ClientStats>,
}

impl fmt::Debug for ClerkClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkClient")
            .field("base_url", &self.base_url.as_str())
            .field("page_size", &self.page_size)
            .field("spacing", &self.spacing)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl ClerkClient {
    /// A client of the API at `base_url` (e.g. `https://api.clerk.com`) that
    /// authenticates with `secret_key` and asks for `page_size` objects a page
    /// (clamped to 1..=500).
    pub fn new(base_url: &str, secret_key: &str, page_size: usize) -> anyhow::Result<Self> {
        let base_url = Url::parse(base_url.trim())
            .map_err(|e| anyhow::anyhow!("CLERK_API_URL = {base_url:?} is not a URL: {e}"))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            anyhow::bail!("CLERK_API_URL = {base_url} must be an http:// or https:// URL");
        }
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", secret_key.trim())).map_err(|_| {
                anyhow::anyhow!("CLERK_SECRET_KEY holds characters an HTTP header cannot carry")
            })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            "Clerk-API-Version",
            HeaderValue::from_static(CLERK_API_VERSION),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!(
                "clerk-sync/",
                env!("CARGO_PKG_VERSION"),
                " (backfill, reconcile)"
            ))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base_url,
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            retry: Retry::default(),
            spacing: spacing_for_key(secret_key),
            next_slot: Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now())),
            stats: Arc::default(),
        })
    }

    /// The same client with another pause between requests (zero: none).
    pub fn with_spacing(mut self, spacing: Duration) -> Self {
        self.spacing = spacing;
        self
    }

    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Requests sent and 429s received so far (shared by clones).
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The same client with other waits and retries.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The URL of `path` under the API's base URL (each segment escaped).
    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        url
    }

    /// The URL of the page of `listing` that starts at `offset`.
    pub fn page_url(&self, listing: &Listing, offset: usize) -> Url {
        let mut url = self.url(&listing.path());
        let mut query = url.query_pairs_mut();
        query
            .append_pair("limit", &self.page_size.to_string())
            .append_pair("offset", &offset.to_string());
        // Not every listing of the other families takes `order_by`; re-reading an
        // object that a new one pushed down a page is harmless.
        if !matches!(listing, Listing::Objects(_)) {
            query.append_pair("order_by", "+created_at");
        }
        drop(query);
        url
    }

    /// The page of `listing` that starts at `offset`. Waits out 429s as
    /// `Retry-After` asks; retries 5xx answers and connection errors with
    /// exponential backoff; fails at once on 401/403 and other 4xx.
    pub async fn page(&self, listing: &Listing, offset: usize) -> Result<Page, ClientError> {
        self.listing_page(self.page_url(listing, offset)).await
    }

    /// The URL of the page of users created after the user `after` (the first page
    /// with `None`), oldest first: cursor paging, which stays fast at any depth.
    pub fn users_after_url(&self, after: Option<&str>) -> Url {
        let mut url = self.url(&["v1", "users"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &self.page_size.to_string())
                .append_pair("order_by", "+created_at");
            if let Some(after) = after {
                q.append_pair("starting_after", after);
            }
        }
        url
    }

    /// The page of users created after the user `after` (see [`Self::users_after_url`]).
    pub async fn users_after(&self, after: Option<&str>) -> Result<Page, ClientError> {
        self.listing_page(self.users_after_url(after)).await
    }

    /// The users among `ids` (at most [`MAX_IDS_PER_LOOKUP`]) that Clerk has.
    pub async fn users_by_id(&self, ids: &[String]) -> Result<Vec<Value>, ClientError> {
        let mut url = self.url(&["v1", "users"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &MAX_PAGE_SIZE.to_string());
            for id in ids.iter().take(MAX_IDS_PER_LOOKUP) {
                q.append_pair("user_id", id);
            }
        }
        Ok(self.listing_page(url).await?.items)
    }

    /// The URL of [`Self::memberships_of_users`].
    pub fn memberships_of_users_url(&self, organization_id: &str, user_ids: &[String]) -> Url {
        let mut url = self.url(&["v1", "organizations", organization_id, "memberships"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &MAX_PAGE_SIZE.to_string());
            for id in user_ids.iter().take(MAX_IDS_PER_LOOKUP) {
                q.append_pair("user_id", id);
            }
        }
        url
    }

    /// The memberships of organization `organization_id` held by the users `user_ids`
    /// (at most [`MAX_IDS_PER_LOOKUP`]): a lookup, one page (a user has at most one
    /// membership in an organization, and the page holds more than a lookup asks
    /// for), so nothing can shift out of it while it is read, as it can between the
    /// pages of an offset listing. `Ok(None)` when Clerk answers 404 (the
    /// organization is gone).
    pub async fn memberships_of_users(
        &self,
        organization_id: &str,
        user_ids: &[String],
    ) -> Result<Option<Vec<Value>>, ClientError> {
        let url = self.memberships_of_users_url(organization_id, user_ids);
        match self.get_found(url.clone()).await? {
            None => Ok(None),
            Some(body) => parse_page(body)
                .map(|page| Some(page.items))
                .map_err(|reason| ClientError::BadBody {
                    url: url.to_string(),
                    reason,
                }),
        }
    }

    /// The organization `id`, or `None` when Clerk answers 404.
    pub async fn organization(&self, id: &str) -> Result<Option<Value>, ClientError> {
        self.get_found(self.url(&["v1", "organizations", id])).await
    }

    async fn listing_page(&self, url: Url) -> Result<Page, ClientError> {
        let body = self.get(url.clone()).await?;
        parse_page(body).map_err(|reason| ClientError::BadBody {
            url: url.to_string(),
            reason,
        })
    }

    async fn get(&self, url: Url) -> Result<Value, ClientError> {
        match self.get_found(url.clone()).await? {
            Some(body) => Ok(body),
            None => Err(ClientError::Rejected {
                url: url.to_string(),
                status: 404,
                body: "not found".into(),
            }),
        }
    }

    /// Waits for this request's slot, so requests start at least `spacing` apart.
    async fn pace(&self) {
        if self.spacing.is_zero() {
            return;
        }
        let mut next = self.next_slot.lock().await;
        let now = tokio::time::Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = tokio::time::Instant::now() + self.spacing;
    }

    /// GETs `url`: the JSON body, or `None` on a 404.
    async fn get_found(&self, url: Url) -> Result<Option<Value>, ClientError> {
        let mut failures = 0u32;
        let mut rate_limited = 0u32;
        let mut backoff = Backoff::new(self.retry.first_backoff, self.retry.max_backoff);
        loop {
            self.pace().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.http.get(url.clone()).send().await {
                Err(e) => format!("cannot reach Clerk: {}", chain(&e)),
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                        rate_limited += 1;
                        if rate_limited > self.retry.max_rate_limited {
                            return Err(ClientError::RateLimited {
                                url: url.to_string(),
                                times: rate_limited,
                            });
                        }
                        let wait = retry_after(response.headers())
                            .unwrap_or(self.retry.default_retry_after)
                            .min(self.retry.max_retry_after);
                        warn!(url = %url, wait = ?wait, "rate limited by Clerk (429): waiting as Retry-After asks, then trying the same page again");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    rate_limited = 0;
                    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                        return Err(ClientError::Unauthorized {
                            status: status.as_u16(),
                        });
                    }
                    if status == StatusCode::NOT_FOUND {
                        return Ok(None);
                    }
                    if status.is_success() {
                        match response.bytes().await {
                            Ok(bytes) => {
                                return serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                                    ClientError::BadBody {
                                        url: url.to_string(),
                                        reason: format!("not JSON: {e}"),
                                    }
                                })
                            }
                            Err(e) => format!("the answer broke off: {}", chain(&e)),
                        }
                    } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
                        let body = response.text().await.unwrap_or_default();
                        format!("{status}: {}", snippet(&body))
                    } else {
                        let body = response.text().await.unwrap_or_default();
                        return Err(ClientError::Rejected {
                            url: url.to_string(),
                            status: status.as_u16(),
                            body: snippet(&body),
                        });
                    }
                }
            };
            failures += 1;
            if failures >= self.retry.max_tries {
                return Err(ClientError::Unavailable {
                    url: url.to_string(),
                    tries: failures,
                    last: failure,
                });
            }
            let wait = backoff.next_wait();
            warn!(url = %url, error = %failure, attempt = failures, retry_in = ?wait, "Clerk request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// A listing's body: a bare array, or `{"data": [...], "total_count": N}`.
pub fn parse_page(body: Value) -> Result<Page, String> {
    match body {
        Value::Array(items) => Ok(Page {
            items,
            total_count: None,
        }),
        Value::Object(mut map) => {
            let total_count = map.get("total_count").and_then(Value::as_u64);
            match map.remove("data") {
                Some(Value::Array(items)) => Ok(Page { items, total_count }),
                _ => Err("an object without a `data` array".into()),
            }
        }
        other => Err(format!("a JSON {}", kind_of(&other))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `Retry-After` in seconds (fractions allowed). An HTTP date or garbage is `None`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = raw.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The first 300 characters of a body, for an error message.
fn snippet(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return "(empty body)".into();
    }
    let mut s: String = body.chars().take(300).collect();
    if s.len() < body.len() {
        s.push('…');
    }
    s
}

/// An error with its sources, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_listing_shapes_parse() {
        let bare = parse_page(json!([{"id": "user_1"}, {"id": "user_2"}])).expect("array");
        assert_eq!(bare.items.len(), 2);
        assert_eq!(bare.total_count, None);
        let wrapped =
            parse_page(json!({"data": [{"id": "org_1"}], "total_count": 7})).expect("object");
        assert_eq!(wrapped.items.len(), 1);
        assert_eq!(wrapped.total_count, Some(7));
        assert!(parse_page(json!({"errors": []})).is_err());
        assert!(parse_page(json!("nope")).is_err());
    }

    #[test]
    fn retry_after_is_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn page_urls_keep_the_base_path_and_escape_ids() {
        let c = ClerkClient::new("http://127.0.0.1:9/clerk/", "sk_test_x", 2).expect("client");
        assert_eq!(
            c.page_url(&Listing::Users, 4).as_str(),
            "http://127.0.0.1:9/clerk/v1/users?limit=2&offset=4&order_by=%2Bcreated_at"
        );
        let m = Listing::Memberships {
            organization_id: "org_1/x".into(),
        };
        assert_eq!(
            c.page_url(&m, 0).path(),
            "/clerk/v1/organizations/org_1%2Fx/memberships"
        );
        assert_eq!(
            ClerkClient::new("https://api.clerk.com", "k", 10_000)
                .expect("client")
                .page_size(),
            MAX_PAGE_SIZE
        );
    }

    #[test]
    fn cursor_and_lookup_urls() {
        let c = ClerkClient::new("https://api.clerk.com", "sk_test_x", 500).expect("client");
        assert_eq!(
            c.users_after_url(None).as_str(),
            "https://api.clerk.com/v1/users?limit=500&order_by=%2Bcreated_at"
        );
        assert_eq!(
            c.users_after_url(Some("user_2g&x")).as_str(),
            "https://api.clerk.com/v1/users?limit=500&order_by=%2Bcreated_at&starting_after=user_2g%26x"
        );
    }

    #[test]
    fn membership_lookup_url_names_each_user_once_per_parameter() {
        let c = ClerkClient::new("https://api.clerk.com", "sk_test_x", 10).expect("client");
        let ids = vec!["user_a".to_owned(), "user_b&c".to_owned()];
        assert_eq!(
            c.memberships_of_users_url("org_1", &ids).as_str(),
            "https://api.clerk.com/v1/organizations/org_1/memberships?limit=500&user_id=user_a&user_id=user_b%26c"
        );
        let many: Vec<String> = (0..150).map(|i| format!("user_{i}")).collect();
        let url = c.memberships_of_users_url("org_1", &many);
        assert_eq!(
            url.query_pairs().filter(|(k, _)| k == "user_id").count(),
            MAX_IDS_PER_LOOKUP
        );
    }

    #[test]
    fn requests_are_paced_for_the_key_s_instance() {
        assert_eq!(spacing_for_key("sk_live_abc"), Duration::from_millis(12));
        assert_eq!(spacing_for_key("sk_test_abc"), Duration::from_millis(125));
        // Both stay under Clerk's limits (1,000 and 100 requests per 10 s).
        assert!(Duration::from_secs(10).as_millis() / 12 < 1000);
        assert!(Duration::from_secs(10).as_millis() / 125 < 100);
        let c = ClerkClient::new("https://api.clerk.com", "sk_live_k", 1).expect("client");
        assert_eq!(c.spacing(), Duration::from_millis(12));
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let c = ClerkClient::new("https://api.clerk.com", "sk_test_secret", 10).expect("client");
        assert!(!format!("{c:?}").contains("sk_test_secret"));
        assert!(ClerkClient::new("ftp://x", "k", 10).is_err());
    }
}
