//! What the operator page shows, read from Postgres and RabbitMQ. Every value here is
//! also served as JSON under `/admin/api/…`.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_query,
    sql_types::{BigInt, Text},
};
use lapin::{
    options::QueueDeclareOptions,
    types::{AMQPValue, FieldTable},
};
use serde::{Deserialize, Serialize};
use shared::{
    amqp::NodeRotation, config::AmqpNodes, db::PgPool, schema::webhook_events, topology::Topology,
};

use shared::headers::{self, get_str};

use crate::dlq::{
    self,
    erased::{self, Mentions, Verdict},
    DeadLetter, Filter,
};

/// Dead letters read at most to list or search them. They are read one at a time
/// and only their headers are kept (a page of them), so a view's memory does not grow
/// with the queue: see [`dlq::scan`].
pub const SCAN_LIMIT: usize = 10_000;

/// Dead letters on one page of the list.
pub const LETTERS_PER_PAGE: usize = 100;
/// Events on one page.
pub const PER_PAGE: i64 = 50;

/// Where the data comes from.
#[derive(Clone)]
pub struct Sources {
    pub pool: PgPool,
    pub amqp_nodes: AmqpNodes,
    pub topology: Topology,
    /// The queues shown with their depth: (what it is, name).
    pub queues: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct QueueDepth {
    pub role: String,
    pub name: String,
    /// None: the broker did not answer for this queue.
    pub messages: Option<u32>,
    pub consumers: Option<u32>,
}

#[derive(Debug, Serialize, QueryableByName)]
pub struct OutcomeCount {
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = BigInt)]
    pub last_hour: i64,
    #[diesel(sql_type = BigInt)]
    pub last_day: i64,
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub queues: Vec<QueueDepth>,
    /// Events recorded in `webhook_events`, by outcome (dead letters leave no row).
    pub outcomes: Vec<OutcomeCount>,
    /// The most recent dead letters, newest first.
    pub last_errors: Vec<DeadLetter>,
}

/// Filters of the events list. Empty strings are no filter.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct EventQuery {
    pub outcome: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub object_id: Option<String>,
    pub page: Option<i64>,
}

impl EventQuery {
    pub fn normalized(self) -> Self {
        Self {
            outcome: non_empty(self.outcome),
            event_type: non_empty(self.event_type),
            object_id: non_empty(self.object_id),
            page: Some(self.page.unwrap_or(1).max(1)),
        }
    }

    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }
}

#[derive(Debug, Serialize, Queryable)]
pub struct EventRow {
    pub svix_id: String,
    pub event_type: String,
    pub object_id: Option<String>,
    pub outcome: String,
    pub attempts: i32,
    pub received_at: Option<DateTime<Utc>>,
    pub processed_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct EventPage {
    pub events: Vec<EventRow>,
    pub page: i64,
    pub per_page: i64,
    pub has_next: bool,
}

/// Filters of the dead-letter list. Empty strings are no filter.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DeadLetterQuery {
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub reason: Option<String>,
    pub svix_id: Option<String>,
    /// The page of the matching dead letters (1 = the oldest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
}

impl DeadLetterQuery {
    pub fn normalized(self) -> Self {
        Self {
            event_type: non_empty(self.event_type),
            reason: non_empty(self.reason),
            svix_id: non_empty(self.svix_id),
            page: Some(self.page.unwrap_or(1).max(1)),
        }
    }

    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    pub fn filter(&self) -> Filter {
        Filter {
            event_type: self.event_type.clone(),
            reason_contains: self.reason.clone(),
            svix_id_contains: self.svix_id.clone(),
            ..Filter::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.event_type.is_none() && self.reason.is_none() && self.svix_id.is_none()
    }
}

#[derive(Debug, Serialize)]
pub struct DeadLetterList {
    /// Dead letters read from the queue (at most `SCAN_LIMIT`).
    pub scanned: usize,
    /// Whether the queue holds more than were read.
    pub truncated: bool,
    /// How many of those read match the filter.
    pub matched: usize,
    /// This page of them, oldest first.
    pub matching: Vec<DeadLetter>,
    pub page: usize,
    pub per_page: usize,
}

impl DeadLetterList {
    pub fn has_next(&self) -> bool {
        self.page * self.per_page < self.matched
    }
}

#[derive(Debug, Serialize)]
pub struct DeadLetterDetail {
    #[serde(flatten)]
    pub letter: DeadLetter,
    pub content_type: Option<String>,
    pub headers: BTreeMap<String, serde_json::Value>,
    /// The body: pretty-printed when it is JSON, else as text.
    pub payload: String,
    pub payload_is_json: bool,
    /// Why some of it is not shown: it holds a deleted user's data (see
    /// `dlq::erased`). The reason and headers are masked too.
    pub masked: Option<String>,
}

/// One request the receiver refused, as it logged it (the record both share).
pub type RefusedRequest = shared::rejection::Rejection;

/// Filters of the refused requests. Empty strings are no filter.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RefusedQuery {
    /// The reason label (`bad_signature`, …), exactly.
    pub reason: Option<String>,
    /// The HTTP status, exactly.
    pub status: Option<String>,
    /// Text the source address or `X-Forwarded-For` contains.
    pub source: Option<String>,
    /// Text the svix-id contains.
    pub svix_id: Option<String>,
    /// The page (1 = the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
}

impl RefusedQuery {
    pub fn normalized(self) -> Self {
        Self {
            reason: non_empty(self.reason),
            status: non_empty(self.status),
            source: non_empty(self.source),
            svix_id: non_empty(self.svix_id),
            page: Some(self.page.unwrap_or(1).max(1)),
        }
    }

    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    pub fn matches(&self, r: &RefusedRequest) -> bool {
        self.reason.as_ref().is_none_or(|x| *x == r.reason)
            && self
                .status
                .as_ref()
                .is_none_or(|x| *x == r.status.to_string())
            && self.source.as_ref().is_none_or(|x| {
                r.source.as_ref().is_some_and(|s| s.contains(x.as_str()))
                    || r.forwarded_for
                        .as_ref()
                        .is_some_and(|s| s.contains(x.as_str()))
            })
            && self
                .svix_id
                .as_ref()
                .is_none_or(|x| r.svix_id.as_ref().is_some_and(|s| s.contains(x.as_str())))
    }

    pub fn is_empty(&self) -> bool {
        self.reason.is_none()
            && self.status.is_none()
            && self.source.is_none()
            && self.svix_id.is_none()
    }
}

#[derive(Debug, Serialize)]
pub struct RefusedList {
    /// Records read from the queue (it keeps the newest 10,000).
    pub scanned: usize,
    /// How many match the filter.
    pub matched: usize,
    /// This page of them, newest first.
    pub matching: Vec<RefusedRequest>,
    /// Matches per reason label (of those read), for the summary.
    pub by_reason: BTreeMap<String, usize>,
    pub page: usize,
    pub per_page: usize,
}

impl RefusedList {
    pub fn has_next(&self) -> bool {
        self.page * self.per_page < self.matched
    }
}

/// What to replay: the listed ids, or (with none) all that match the filters.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ReplayRequest {
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(flatten)]
    pub query: DeadLetterQuery,
    /// Count only; move nothing.
    #[serde(default)]
    pub dry_run: bool,
}

impl ReplayRequest {
    pub fn filter(&self) -> Filter {
        if self.ids.is_empty() {
            self.query.filter()
        } else {
            Filter {
                ids: self.ids.clone(),
                ..Filter::default()
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ReplayResult {
    pub dry_run: bool,
    pub count: usize,
    pub letters: Vec<DeadLetter>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Sources {
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().context("no Postgres connection")?;
            f(&mut conn).context("query failed")
        })
        .await
        .context("database task failed")?
    }

    /// Masks, in the reasons of `letters`, the addresses and phone numbers of
    /// deleted users (a trigger's message may quote a value).
    async fn mask_reasons(&self, letters: &mut [DeadLetter]) -> anyhow::Result<()> {
        let mentions: Vec<Mentions> = letters
            .iter()
            .map(|l| Mentions::of_text(&l.reason))
            .collect();
        if mentions.iter().all(|m| m.digests.is_empty()) {
            return Ok(());
        }
        let found = self
            .with_conn(move |conn| erased::lookup(conn, &mentions))
            .await
            .context("could not tell whether dead letters name deleted users")?;
        for l in letters {
            if let std::borrow::Cow::Owned(masked) = erased::mask_text(&l.reason, &found, None) {
                l.reason = masked;
            }
        }
        Ok(())
    }

    pub async fn overview(&self) -> anyhow::Result<Overview> {
        let outcomes = self.with_conn(|conn| {
            sql_query(
                "SELECT outcome, \
                   count(*) FILTER (WHERE processed_at > now() - interval '1 hour') AS last_hour, \
                   count(*) AS last_day \
                 FROM webhook_events WHERE processed_at > now() - interval '1 day' \
                 GROUP BY outcome ORDER BY outcome",
            )
            .load::<OutcomeCount>(conn)
        });
        let (outcomes, queues) = tokio::join!(outcomes, self.queue_depths());
        // Only after the depths: reading the dead letters holds them, unacked, and a
        // held message is not counted as in the queue.
        // The five most recent, kept while the queue is read one letter at a time.
        let mut last_errors: Vec<DeadLetter> = Vec::with_capacity(6);
        dlq::scan(
            &self.amqp_nodes,
            &self.topology,
            SCAN_LIMIT,
            |letter, _, _| {
                last_errors.push(letter);
                // RFC 3339 in UTC sorts as text.
                last_errors.sort_by(|a, b| b.dead_at.cmp(&a.dead_at));
                last_errors.truncate(5);
                true
            },
        )
        .await?;
        self.mask_reasons(&mut last_errors).await?;
        Ok(Overview {
            queues,
            outcomes: outcomes?,
            last_errors,
        })
    }

    async fn queue_depths(&self) -> Vec<QueueDepth> {
        let unknown = |role: &str, name: &str| QueueDepth {
            role: role.to_owned(),
            name: name.to_owned(),
            messages: None,
            consumers: None,
        };
        let rotation = NodeRotation::new(self.amqp_nodes.clone());
        let conn = match rotation.connect("clerk-sync admin").await {
            Ok((c, _)) => c,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "operator page: RabbitMQ unreachable");
                return self.queues.iter().map(|(r, n)| unknown(r, n)).collect();
            }
        };
        let mut out = Vec::new();
        for (role, name) in &self.queues {
            // A passive declare of a missing queue closes the channel: one per queue.
            let depth = match conn.create_channel().await {
                Ok(ch) => {
                    let q = ch
                        .queue_declare(
                            name.as_str().into(),
                            QueueDeclareOptions {
                                passive: true,
                                ..Default::default()
                            },
                            FieldTable::default(),
                        )
                        .await;
                    let _ = ch.close(200, "read".into()).await;
                    q.ok()
                }
                Err(_) => None,
            };
            out.push(match depth {
                Some(q) => QueueDepth {
                    role: role.clone(),
                    name: name.clone(),
                    messages: Some(q.message_count()),
                    consumers: Some(q.consumer_count()),
                },
                None => unknown(role, name),
            });
        }
        let _ = conn.close(200, "done".into()).await;
        out
    }

    pub async fn events(&self, q: &EventQuery) -> anyhow::Result<EventPage> {
        let q = q.clone().normalized();
        let page = q.page();
        let rows = self
            .with_conn(move |conn| {
                let mut query = webhook_events::table
                    .select((
                        webhook_events::svix_id,
                        webhook_events::event_type,
                        webhook_events::object_id,
                        webhook_events::outcome,
                        webhook_events::attempts,
                        webhook_events::received_at,
                        webhook_events::processed_at,
                    ))
                    .order((
                        webhook_events::processed_at.desc(),
                        webhook_events::svix_id.desc(),
                    ))
                    .into_boxed();
                if let Some(o) = q.outcome {
                    query = query.filter(webhook_events::outcome.eq(o));
                }
                if let Some(t) = q.event_type {
                    query = query.filter(webhook_events::event_type.eq(t));
                }
                if let Some(id) = q.object_id {
                    query = query.filter(webhook_events::object_id.eq(id));
                }
                query
                    .offset((page - 1).saturating_mul(PER_PAGE))
                    .limit(PER_PAGE + 1)
                    .load::<EventRow>(conn)
            })
            .await?;
        let has_next = rows.len() as i64 > PER_PAGE;
        let mut events = rows;
        events.truncate(PER_PAGE as usize);
        Ok(EventPage {
            events,
            page,
            per_page: PER_PAGE,
            has_next,
        })
    }

    pub async fn dead_letters(&self, q: &DeadLetterQuery) -> anyhow::Result<DeadLetterList> {
        let filter = q.filter();
        let page = q.page();
        let skip = (page - 1) * LETTERS_PER_PAGE;
        let mut matched = 0;
        let mut matching = Vec::new();
        let scanned = dlq::scan(
            &self.amqp_nodes,
            &self.topology,
            SCAN_LIMIT,
            |letter, _, _| {
                if filter.matches(&letter) {
                    if matched >= skip && matching.len() < LETTERS_PER_PAGE {
                        matching.push(letter);
                    }
                    matched += 1;
                }
                true
            },
        )
        .await?;
        self.mask_reasons(&mut matching).await?;
        Ok(DeadLetterList {
            scanned,
            truncated: scanned >= SCAN_LIMIT,
            matched,
            matching,
            page,
            per_page: LETTERS_PER_PAGE,
        })
    }

    /// The requests the receiver refused, newest first, a page of them. The queue
    /// is read one record at a time, and only the newest `page × per_page` matches
    /// are kept.
    pub async fn refused(&self, q: &RefusedQuery) -> anyhow::Result<RefusedList> {
        let keep = q.page() * LETTERS_PER_PAGE;
        let mut newest: std::collections::VecDeque<RefusedRequest> =
            std::collections::VecDeque::with_capacity(keep.min(1024));
        let mut matched = 0;
        let mut by_reason = BTreeMap::new();
        let scanned = dlq::scan_queue(
            &self.amqp_nodes,
            &self.topology.rejected_queue(),
            shared::topology::REJECTED_MAX_LENGTH as usize,
            |_, body| {
                let Ok(r) = serde_json::from_slice::<RefusedRequest>(body) else {
                    return true;
                };
                if q.matches(&r) {
                    matched += 1;
                    *by_reason.entry(r.reason.clone()).or_insert(0) += 1;
                    if newest.len() == keep {
                        newest.pop_front();
                    }
                    newest.push_back(r);
                }
                true
            },
        )
        .await?;
        // The queue is oldest first: the newest `keep` are at the back.
        let skip = (q.page() - 1) * LETTERS_PER_PAGE;
        let matching: Vec<RefusedRequest> = newest
            .into_iter()
            .rev()
            .skip(skip)
            .take(LETTERS_PER_PAGE)
            .collect();
        Ok(RefusedList {
            scanned,
            matched,
            matching,
            by_reason,
            page: q.page(),
            per_page: LETTERS_PER_PAGE,
        })
    }

    /// The dead letter with this svix-id, if it is in the queue.
    pub async fn dead_letter(&self, svix_id: &str) -> anyhow::Result<Option<DeadLetterDetail>> {
        let Some(m) = dlq::find(&self.amqp_nodes, &self.topology, SCAN_LIMIT, svix_id).await?
        else {
            return Ok(None);
        };
        let mut header_map: BTreeMap<String, serde_json::Value> = m
            .properties
            .headers()
            .as_ref()
            .map(|h| {
                h.inner()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), amqp_to_json(v)))
                    .collect()
            })
            .unwrap_or_default();
        let mut letter = m.letter;
        let reason = get_str(m.properties.headers().as_ref(), headers::ERROR);
        let mentions = Mentions::of_message(&letter.event_type, &m.body, reason.as_deref());
        let lookup = mentions.clone();
        let found = self
            .with_conn(move |conn| erased::lookup(conn, [&lookup]))
            .await
            .context("could not tell whether the letter is about a deleted user")?;
        let (body, masked) = match erased::judge(&m.body, reason.as_deref(), &mentions, &found) {
            Verdict::Keep => (Some(m.body), None),
            Verdict::Drop { user_id } => (
                None,
                Some(format!(
                    "Not shown: this is an event of {}, whose data is erased. \
                     `worker dlq purge-erased` removes it from the queue.",
                    user_id.map_or_else(
                        || "a deleted user".to_owned(),
                        |u| format!("the deleted user {u}")
                    )
                )),
            ),
            Verdict::Scrub { body, .. } => (
                Some(body),
                Some(
                    "A deleted user's data is masked in this letter (their names and \
                     addresses). `worker dlq purge-erased` rewrites it so in the queue."
                        .to_owned(),
                ),
            ),
        };
        if masked.is_some() {
            letter.reason =
                erased::mask_text(&letter.reason, &found, mentions.made_at).into_owned();
            if let Some(serde_json::Value::String(r)) = header_map.get_mut(headers::ERROR) {
                *r = erased::mask_text(r.as_str(), &found, mentions.made_at).into_owned();
            }
        }
        let (payload, payload_is_json) = match &body {
            None => (String::new(), false),
            Some(body) => match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(v) => (
                    serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()),
                    true,
                ),
                Err(_) => (String::from_utf8_lossy(body).into_owned(), false),
            },
        };
        Ok(Some(DeadLetterDetail {
            letter,
            content_type: m
                .properties
                .content_type()
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            headers: header_map,
            payload,
            payload_is_json,
            masked,
        }))
    }

    /// Replays (or, dry, counts) with the code of `worker dlq replay`.
    pub async fn replay(&self, req: &ReplayRequest) -> anyhow::Result<ReplayResult> {
        let letters =
            dlq::replay(&self.amqp_nodes, &self.topology, &req.filter(), req.dry_run).await?;
        if !req.dry_run {
            tracing::info!(
                moved = letters.len(),
                "operator page: dead letters replayed"
            );
        }
        Ok(ReplayResult {
            dry_run: req.dry_run,
            count: letters.len(),
            letters,
        })
    }
}

/// An AMQP header value as JSON, for showing.
fn amqp_to_json(v: &AMQPValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(i) => (*i).into(),
        AMQPValue::ShortShortUInt(i) => (*i).into(),
        AMQPValue::ShortInt(i) => (*i).into(),
        AMQPValue::ShortUInt(i) => (*i).into(),
        AMQPValue::LongInt(i) => (*i).into(),
        AMQPValue::LongUInt(i) => (*i).into(),
        AMQPValue::LongLongInt(i) => (*i).into(),
        AMQPValue::Timestamp(t) => (*t).into(),
        AMQPValue::ShortString(s) => s.as_str().into(),
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned().into(),
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(amqp_to_json).collect()),
        AMQPValue::FieldTable(t) => Value::Object(
            t.inner()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), amqp_to_json(v)))
                .collect(),
        ),
        other => Value::String(format!("{other:?}")),
    }
}
