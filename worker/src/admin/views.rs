//! The pages, as maud templates: every interpolated value is HTML-escaped by maud
//! unless wrapped in `PreEscaped`, which is used only for the fixed style sheet.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::data::{
    DeadLetterDetail, DeadLetterList, DeadLetterQuery, EventPage, EventQuery, Overview,
    RefusedList, RefusedQuery, ReplayRequest, ReplayResult,
};
use crate::dlq::DeadLetter;

/// Dead letters shown in one list (the JSON API returns all that match).
const LIST_ROWS: usize = 200;

const STYLE: &str = r#"
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:.6em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center}
header a{color:#fff;text-decoration:none}header a.on{text-decoration:underline}header strong{margin-right:auto}
header form{margin:0}main{padding:1em;max-width:1200px;margin:auto}
h1{font-size:1.3em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .5em}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d8dde3;border-radius:6px}
table{border-collapse:collapse;width:100%}th,td{padding:.4em .6em;text-align:left;border-bottom:1px solid #e6e9ed;vertical-align:top}
th{background:#eef1f4;font-weight:600;white-space:nowrap}td.reason{max-width:28em;word-break:break-word}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin-bottom:1em}
label{display:flex;flex-direction:column;font-size:.85em;gap:.15em}input,select,button{font:inherit;padding:.35em .5em}
button{cursor:pointer;border:1px solid #8a94a0;border-radius:4px;background:#fff}button.primary{background:#0b5cad;color:#fff;border-color:#0b5cad}
button.danger{background:#b42318;color:#fff;border-color:#b42318}.actions{display:flex;flex-wrap:wrap;gap:.5em;margin:.8em 0}
pre{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8em;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
.note{color:#57606a;font-size:.9em}.ok{background:#e7f5ea;border:1px solid #9fd4aa;padding:.6em;border-radius:6px}
.err{background:#fdecea;border:1px solid #f0a8a0;padding:.6em;border-radius:6px}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.6em .9em;min-width:10em}
.card b{display:block;font-size:1.5em}code{word-break:break-all}td code{white-space:nowrap;word-break:normal}
@media (max-width:640px){table.rows tr:first-child{display:none}table.rows tr{display:block;border-bottom:1px solid #d8dde3;padding:.3em 0}
table.rows td{display:block;border:0;padding:.1em .6em}table.rows td[data-label]::before{content:attr(data-label) ": ";color:#57606a;font-size:.85em}
td code{white-space:normal;word-break:break-all}}
"#;

/// Which link of the top bar is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Events,
    DeadLetters,
    Refused,
    None,
}

/// A page with the top bar; `csrf` is the session's token (for signing out).
pub fn page(title: &str, nav: Nav, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · clerk-sync" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "clerk-sync" }
                    @if let Some(csrf) = csrf {
                        a class=[(nav == Nav::Overview).then_some("on")] href="/admin" { "Overview" }
                        a class=[(nav == Nav::Events).then_some("on")] href="/admin/events" { "Events" }
                        a class=[(nav == Nav::DeadLetters).then_some("on")] href="/admin/dead-letters" { "Dead letters" }
                        a class=[(nav == Nav::Refused).then_some("on")] href="/admin/refused" { "Refused" }
                        form method="post" action="/admin/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn sign_in(login_csrf: &str, error: Option<&str>, next: Option<&str>) -> Markup {
    page(
        "Sign in",
        Nav::None,
        None,
        html! {
            h1 { "Operator page" }
            @if let Some(e) = error { p class="err" id="error" { (e) } }
            form method="post" action="/admin/login" {
                input type="hidden" name="csrf" value=(login_csrf);
                @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                div class="actions" {
                    label { "Admin token"
                        input type="password" name="token" id="token" autocomplete="current-password" required;
                    }
                }
                button class="primary" type="submit" id="sign-in" { "Sign in" }
            }
            p class="note" { "The token is the worker's ADMIN_TOKEN." }
        },
    )
}

/// A page that only says something went wrong (no detail: that goes to the log).
pub fn message(title: &str, csrf: Option<&str>, text: &str) -> Markup {
    page(
        title,
        Nav::None,
        csrf,
        html! { h1 { (title) } p class="err" { (text) } p { a href="/admin" { "Back to the overview" } } },
    )
}

fn time(t: &Option<String>) -> &str {
    t.as_deref().unwrap_or("—")
}

/// A time to the second, in UTC (the JSON API keeps full precision).
fn short_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

/// A percent-encoded query string.
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

pub fn dead_letter_href(svix_id: &str) -> String {
    format!(
        "/admin/dead-letters/show?{}",
        query(&[("id", Some(svix_id))])
    )
}

pub fn overview(csrf: &str, o: &Overview) -> Markup {
    page(
        "Overview",
        Nav::Overview,
        Some(csrf),
        html! {
            h1 { "Overview" }
            h2 { "Queues" }
            div class="cards" {
                @for q in &o.queues {
                    div class="card" {
                        span { (q.role) }
                        b { (opt(q.messages)) }
                        span class="note" { code { (q.name) } " · " (opt(q.consumers)) " consumer(s)" }
                    }
                }
            }
            p class="note" { "Broker internals: the RabbitMQ management UI." }
            h2 { "Events by outcome" }
            div class="scroll" {
                table id="outcomes" {
                    tr { th { "outcome" } th { "last hour" } th { "last day" } }
                    @for c in &o.outcomes {
                        tr {
                            td { a href={ "/admin/events?" (query(&[("outcome", Some(&c.outcome))])) } { (c.outcome) } }
                            td { (c.last_hour) } td { (c.last_day) }
                        }
                    }
                    @if o.outcomes.is_empty() { tr { td colspan="3" { "No events in the last day." } } }
                }
            }
            p class="note" { "Dead-lettered events leave no row: they are under Dead letters." }
            h2 { "Last errors" }
            (letters_table(&o.last_errors, None))
            p { a href="/admin/dead-letters" { "All dead letters" } " · " a href="/admin/events" { "All events" } }
        },
    )
}

pub fn events(csrf: &str, q: &EventQuery, p: &EventPage) -> Markup {
    let link = |page: i64| {
        format!(
            "/admin/events?{}",
            query(&[
                ("outcome", q.outcome.as_deref()),
                ("type", q.event_type.as_deref()),
                ("object_id", q.object_id.as_deref()),
                ("page", Some(&page.to_string())),
            ])
        )
    };
    page(
        "Events",
        Nav::Events,
        Some(csrf),
        html! {
            h1 { "Events" }
            form class="filters" method="get" action="/admin/events" {
                label { "Outcome"
                    select name="outcome" {
                        option value="" { "any" }
                        @for o in ["applied", "stale", "ignored"] {
                            option value=(o) selected[q.outcome.as_deref() == Some(o)] { (o) }
                        }
                    }
                }
                label { "Type" input name="type" value=[q.event_type.as_deref()] placeholder="user.updated"; }
                label { "Object id" input name="object_id" value=[q.object_id.as_deref()] placeholder="user_…"; }
                button type="submit" { "Filter" }
            }
            div class="scroll" {
                table id="events" class="rows" {
                    tr { th { "svix-id" } th { "type" } th { "object id" } th { "outcome" } th { "attempts" } th { "received" } th { "processed" } }
                    @for e in &p.events {
                        tr {
                            td data-label="svix-id" { code { (e.svix_id) } }
                            td data-label="type" { (e.event_type) }
                            td data-label="object id" { code { (e.object_id.as_deref().unwrap_or("—")) } }
                            td class="outcome" data-label="outcome" { (e.outcome) }
                            td data-label="attempts" { (e.attempts) }
                            td data-label="received" { (e.received_at.map(|t| short_time(&t)).unwrap_or_default()) }
                            td data-label="processed" { (short_time(&e.processed_at)) }
                        }
                    }
                    @if p.events.is_empty() { tr { td colspan="7" { "No events match." } } }
                }
            }
            div class="actions" {
                @if p.page > 1 { a href=(link(p.page - 1)) { "← Newer" } }
                span class="note" { "Page " (p.page) }
                @if p.has_next { a href=(link(p.page + 1)) { "Older →" } }
            }
        },
    )
}

/// The dead letters as a table; with `select`, each row has a checkbox named `id`.
fn letters_table(letters: &[DeadLetter], select: Option<()>) -> Markup {
    html! {
        div class="scroll" {
            table class="letters rows" {
                tr {
                    @if select.is_some() { th { "" } }
                    th { "svix-id" } th { "type" } th { "object id" } th { "attempts" } th { "reason" } th { "dead at" }
                }
                @for d in letters.iter().take(LIST_ROWS) {
                    tr {
                        @if select.is_some() {
                            td { @if let Some(id) = &d.svix_id { input type="checkbox" name="id" value=(id) aria-label="select"; } }
                        }
                        td data-label="svix-id" { @match &d.svix_id {
                            Some(id) => a href=(dead_letter_href(id)) { code { (id) } },
                            None => "—",
                        } }
                        td data-label="type" { (d.event_type) }
                        td data-label="object id" { code { (d.object_id.as_deref().unwrap_or("—")) } }
                        td data-label="attempts" { (d.attempts) }
                        td class="reason" data-label="reason" { (d.reason) }
                        td data-label="dead at" { (time(&d.dead_at)) }
                    }
                }
                @if letters.is_empty() { tr { td colspan="7" { "No dead letters." } } }
            }
        }
        @if letters.len() > LIST_ROWS {
            p class="note" { "Showing " (LIST_ROWS) " of " (letters.len()) "; narrow the filter to see the rest." }
        }
    }
}

fn filter_fields(q: &DeadLetterQuery) -> Markup {
    html! {
        @if let Some(v) = &q.event_type { input type="hidden" name="type" value=(v); }
        @if let Some(v) = &q.reason { input type="hidden" name="reason" value=(v); }
        @if let Some(v) = &q.svix_id { input type="hidden" name="svix_id" value=(v); }
    }
}

pub fn dead_letters(csrf: &str, q: &DeadLetterQuery, list: &DeadLetterList) -> Markup {
    let n = list.matched;
    let page_link = |page: usize| {
        let page = page.to_string();
        format!(
            "/admin/dead-letters?{}",
            query(&[
                ("type", q.event_type.as_deref()),
                ("reason", q.reason.as_deref()),
                ("svix_id", q.svix_id.as_deref()),
                ("page", Some(page.as_str())),
            ])
        )
    };
    page(
        "Dead letters",
        Nav::DeadLetters,
        Some(csrf),
        html! {
            h1 { "Dead letters" }
            form class="filters" method="get" action="/admin/dead-letters" {
                label { "Type" input name="type" value=[q.event_type.as_deref()] placeholder="user.updated"; }
                label { "Reason contains" input name="reason" value=[q.reason.as_deref()] placeholder="trigger"; }
                label { "svix-id contains" input name="svix_id" value=[q.svix_id.as_deref()] placeholder="msg_…"; }
                button type="submit" { "Filter" }
            }
            p id="count" { (n) " dead letter(s) match" @if !q.is_empty() { " the filter" } " (" (list.scanned) " in the queue" @if list.truncated { ", more not read" } ")." }
            form method="post" action="/admin/dead-letters/replay" {
                input type="hidden" name="csrf" value=(csrf);
                (filter_fields(q))
                (letters_table(&list.matching, Some(())))
                @if list.page > 1 || list.has_next() {
                    p class="pager" {
                        "Page " (list.page) " (" (list.per_page) " a page, oldest first). "
                        @if list.page > 1 { a id="prev-page" href=(page_link(list.page - 1)) { "Previous page" } " " }
                        @if list.has_next() { a id="next-page" href=(page_link(list.page + 1)) { "Next page" } }
                    }
                }
                div class="actions" {
                    button type="submit" name="scope" value="selected" id="replay-selected" { "Replay the selected…" }
                    button type="submit" name="scope" value="matching" id="replay-matching" disabled[n == 0] {
                        "Replay all " (n) " that match…"
                    }
                }
            }
            p class="note" { "Each replay asks you to confirm first. Replayed events go back to the events queue with a fresh attempt budget." }
        },
    )
}

pub fn refused(csrf: &str, q: &RefusedQuery, list: &RefusedList) -> Markup {
    let page_link = |page: usize| {
        let page = page.to_string();
        format!(
            "/admin/refused?{}",
            query(&[
                ("reason", q.reason.as_deref()),
                ("status", q.status.as_deref()),
                ("source", q.source.as_deref()),
                ("svix_id", q.svix_id.as_deref()),
                ("page", Some(page.as_str())),
            ])
        )
    };
    page(
        "Refused requests",
        Nav::Refused,
        Some(csrf),
        html! {
            h1 { "Refused requests" }
            p class="note" { "What the receiver answered 400, 401, 413 or 415 to: never the body or a signature. A run of bad_signature after a deploy is a secret rotated on one side only." }
            form class="filters" method="get" action="/admin/refused" {
                label { "Reason" input name="reason" value=[q.reason.as_deref()] placeholder="bad_signature"; }
                label { "Status" input name="status" value=[q.status.as_deref()] placeholder="401"; }
                label { "Source contains" input name="source" value=[q.source.as_deref()] placeholder="203.0.113."; }
                label { "svix-id contains" input name="svix_id" value=[q.svix_id.as_deref()] placeholder="msg_…"; }
                button type="submit" { "Filter" }
            }
            p id="count" { (list.matched) " refused request(s) match" @if !q.is_empty() { " the filter" } " (" (list.scanned) " logged)." }
            @if !list.by_reason.is_empty() {
                p id="by-reason" {
                    @for (reason, n) in &list.by_reason { code { (reason) } " " (n) " " }
                }
            }
            div class="scroll" {
                table id="refused" class="rows" {
                    tr { th { "at" } th { "status" } th { "reason" } th { "svix-id" } th { "source" } th { "user agent" } th { "bytes" } th { "headers" } }
                    @for r in &list.matching {
                        tr {
                            td data-label="at" { (r.at) }
                            td data-label="status" { (r.status) }
                            td data-label="reason" { code { (r.reason) } }
                            td data-label="svix-id" { code { (r.svix_id.as_deref().unwrap_or("—")) } }
                            td data-label="source" {
                                (r.source.as_deref().unwrap_or("—"))
                                @if let Some(f) = &r.forwarded_for { " (for " (f) ")" }
                            }
                            td data-label="user agent" { (r.user_agent.as_deref().unwrap_or("—")) }
                            td data-label="bytes" { (r.body_bytes.map_or_else(|| "—".to_owned(), |b| b.to_string())) }
                            td data-label="headers" { (r.header_names.join(", ")) }
                        }
                    }
                    @if list.matching.is_empty() { tr { td colspan="8" { "No refused requests." } } }
                }
            }
            @if list.page > 1 || list.has_next() {
                p class="pager" {
                    "Page " (list.page) " (" (list.per_page) " a page, newest first). "
                    @if list.page > 1 { a id="prev-page" href=(page_link(list.page - 1)) { "Previous page" } " " }
                    @if list.has_next() { a id="next-page" href=(page_link(list.page + 1)) { "Next page" } }
                }
            }
        },
    )
}

pub fn dead_letter(csrf: &str, d: &DeadLetterDetail) -> Markup {
    let l = &d.letter;
    page(
        "Dead letter",
        Nav::DeadLetters,
        Some(csrf),
        html! {
            h1 { "Dead letter " code { (l.svix_id.as_deref().unwrap_or("—")) } }
            div class="scroll" {
                table id="summary" {
                    tr { th { "type" } td { (l.event_type) } }
                    tr { th { "object id" } td { code { (l.object_id.as_deref().unwrap_or("—")) } } }
                    tr { th { "attempts" } td { (l.attempts) } }
                    tr { th { "reason" } td class="reason" id="reason" { (l.reason) } }
                    tr { th { "first failed" } td { (time(&l.first_failed_at)) } }
                    tr { th { "dead at" } td { (time(&l.dead_at)) } }
                    tr { th { "content type" } td { (d.content_type.as_deref().unwrap_or("—")) } }
                }
            }
            @if let Some(id) = &l.svix_id {
                form method="post" action="/admin/dead-letters/replay" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="id" value=(id);
                    input type="hidden" name="scope" value="selected";
                    div class="actions" { button class="primary" type="submit" id="replay-one" { "Replay this one…" } }
                }
            }
            h2 { "Payload" @if !d.payload_is_json && d.masked.is_none() { " (not JSON)" } }
            @if let Some(note) = &d.masked {
                p class="note" id="masked" { (note) }
            }
            @if !d.payload.is_empty() || d.masked.is_none() {
                pre id="payload" { (d.payload) }
            }
            h2 { "Headers" }
            div class="scroll" {
                table id="headers" {
                    @for (k, v) in &d.headers {
                        tr { th { code { (k) } } td { code { (v) } } }
                    }
                }
            }
        },
    )
}

/// Asks to confirm a replay of `preview.count` dead letters.
pub fn confirm_replay(csrf: &str, req: &ReplayRequest, preview: &ReplayResult) -> Markup {
    page(
        "Confirm replay",
        Nav::DeadLetters,
        Some(csrf),
        html! {
            h1 { "Replay " (preview.count) " dead letter(s)?" }
            @if preview.count == 0 {
                p class="err" { "Nothing matches any more: there is nothing to replay." }
                p { a href="/admin/dead-letters" { "Back to the dead letters" } }
            } @else {
                p id="will-move" { (preview.count) " dead letter(s) will move back to the events queue:" }
                (letters_table(&preview.letters, None))
                form method="post" action="/admin/dead-letters/replay" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="confirm" value="yes";
                    @for id in &req.ids { input type="hidden" name="id" value=(id); }
                    @if req.ids.is_empty() { input type="hidden" name="scope" value="matching"; (filter_fields(&req.query)) }
                    @else { input type="hidden" name="scope" value="selected"; }
                    div class="actions" {
                        button class="danger" type="submit" id="confirm" { "Replay " (preview.count) }
                        a href="/admin/dead-letters" { "Cancel" }
                    }
                }
            }
        },
    )
}

pub fn replayed(csrf: &str, result: &ReplayResult) -> Markup {
    page(
        "Replayed",
        Nav::DeadLetters,
        Some(csrf),
        html! {
            h1 { "Replayed" }
            p class="ok" id="result" { "Moved " (result.count) " dead letter(s) back to the events queue." }
            (letters_table(&result.letters, None))
            p {
                a href="/admin/dead-letters" { "Dead letters" } " · "
                a href="/admin/events" { "Events" }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::data::DeadLetterList;

    const XSS: &str = "<script>alert(1)</script>";

    fn letter() -> DeadLetter {
        DeadLetter {
            svix_id: Some(format!("msg_\"><b>{XSS}")),
            event_type: XSS.to_owned(),
            object_id: Some(XSS.to_owned()),
            attempts: 5,
            reason: format!("refused: {XSS}"),
            first_failed_at: None,
            dead_at: Some(XSS.to_owned()),
        }
    }

    #[test]
    fn untrusted_text_is_escaped_everywhere() {
        let list = DeadLetterList {
            scanned: 1,
            truncated: false,
            matched: 1,
            matching: vec![letter()],
            page: 1,
            per_page: 100,
        };
        let q = DeadLetterQuery {
            event_type: Some(XSS.to_owned()),
            reason: Some("\"><script>".to_owned()),
            svix_id: None,
            page: None,
        };
        let detail = DeadLetterDetail {
            letter: letter(),
            content_type: Some(XSS.to_owned()),
            headers: [(XSS.to_owned(), serde_json::json!(XSS))].into(),
            payload: XSS.to_owned(),
            payload_is_json: false,
            masked: Some(XSS.to_owned()),
        };
        for html in [
            dead_letters("csrf", &q, &list).into_string(),
            dead_letter("csrf", &detail).into_string(),
        ] {
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains("<b>"), "{html}");
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{html}"
            );
        }
    }

    #[test]
    fn links_percent_encode_the_svix_id() {
        assert_eq!(
            dead_letter_href("msg_a&b=c d"),
            "/admin/dead-letters/show?id=msg_a%26b%3Dc+d"
        );
    }
}
