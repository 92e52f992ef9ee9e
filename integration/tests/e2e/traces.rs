//! Traces (docs/observability.md): the real receiver and worker binaries, started
//! with `OTEL_EXPORTER_OTLP_ENDPOINT`, send OTLP/HTTP protobuf to an endpoint of the
//! test's own; one webhook makes one trace across both services. Without the
//! variable, nothing is sent and the message carries no `traceparent`.

use std::{
    collections::HashMap,
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{web, App, HttpResponse, HttpServer};
use integration::{
    free_port, signal, signed_headers, unique, wait_for, webhooks::user_event, Options, Process,
    TestApp, SECRET, T0,
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{any_value::Value as Any, AnyValue, KeyValue},
    trace::v1::Span,
};
use prost::Message;

use crate::binaries::{spawn_receiver_with, wait_ready};

/// One request to the endpoint: its raw body and its decoding.
type Export = (Vec<u8>, ExportTraceServiceRequest);

/// What the test's OTLP endpoint received.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Export>>>);

impl Received {
    fn requests(&self) -> Vec<Export> {
        self.0.lock().expect("not poisoned").clone()
    }

    /// Every span received, with its service's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for (_, request) in self.requests() {
            for resource_spans in request.resource_spans {
                let service = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|r| attribute(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        out.push((service.clone(), span));
                    }
                }
            }
        }
        out
    }
}

/// An OTLP/HTTP endpoint on 127.0.0.1: `POST /v1/traces` with a protobuf
/// `ExportTraceServiceRequest`, as opentelemetry-otlp sends it.
struct Collector {
    received: Received,
    handle: actix_web::dev::ServerHandle,
    port: u16,
}

impl Collector {
    fn start(listener: TcpListener) -> Self {
        let port = listener.local_addr().expect("bound").port();
        let received = Received::default();
        let shared = received.clone();
        let server = HttpServer::new(move || {
            let received = shared.clone();
            App::new()
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route(
                    "/v1/traces",
                    web::post().to(move |body: web::Bytes| {
                        let received = received.clone();
                        async move {
                            match ExportTraceServiceRequest::decode(body.as_ref()) {
                                Ok(request) => {
                                    received
                                        .0
                                        .lock()
                                        .expect("not poisoned")
                                        .push((body.to_vec(), request));
                                    HttpResponse::Ok()
                                        .content_type("application/x-protobuf")
                                        .body(ExportTraceServiceResponse::default().encode_to_vec())
                                }
                                Err(e) => HttpResponse::BadRequest().body(e.to_string()),
                            }
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .expect("the OTLP endpoint listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            received,
            handle,
            port,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(text)
}

fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(n) => Some(n.to_string()),
        Any::BoolValue(b) => Some(b.to_string()),
        Any::DoubleValue(d) => Some(d.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Every attribute value of a request, anywhere in it (resources, spans, events,
/// links), as text.
fn all_values(request: &ExportTraceServiceRequest) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |attributes: &[KeyValue]| {
        out.extend(
            attributes
                .iter()
                .filter_map(|kv| kv.value.as_ref().and_then(text)),
        )
    };
    for rs in &request.resource_spans {
        if let Some(r) = &rs.resource {
            add(&r.attributes);
        }
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                add(&span.attributes);
                for e in &span.events {
                    add(&e.attributes);
                }
                for l in &span.links {
                    add(&l.attributes);
                }
            }
        }
    }
    out
}

/// A `user.created` with its own first name and address, signed.
fn webhook(svix_id: &str, first_name: &str, email: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let event = user_event(
        "user.created",
        &format!("user_{}", unique()),
        T0,
        first_name,
    );
    let body = serde_json::to_string(&event)
        .expect("serializable")
        .replace("john.doe@example.org", email);
    assert!(body.contains(email) && body.contains(first_name), "{body}");
    let headers = signed_headers(
        SECRET,
        svix_id,
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    (body.into_bytes(), headers)
}

async fn post(http: &reqwest::Client, port: u16, body: Vec<u8>, headers: &[(String, String)]) {
    let mut request = http
        .post(format!("http://127.0.0.1:{port}/webhooks/clerk"))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let answer = request.send().await.expect("the receiver answers");
    assert_eq!(answer.status(), 200, "the webhook is accepted");
}

/// SIGTERM, then waits for the exit (the last spans are sent on the way out).
async fn stop(mut process: Process, what: &str) {
    signal(&process, "TERM");
    let exited = wait_for(
        &format!("the {what} to exit after SIGTERM"),
        Duration::from_secs(30),
        || {
            let status = process.0.try_wait().ok().flatten();
            async move { status }
        },
    )
    .await;
    assert!(exited.success(), "{what} exits 0 after SIGTERM: {exited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_is_one_trace_from_the_receiver_to_the_worker_commit() {
    let collector = Collector::start(TcpListener::bind("127.0.0.1:0").expect("a port"));
    // Nothing consumes but the worker binary started below.
    let app = TestApp::receiver_only(Options::default()).await;
    let endpoint = collector.url();
    let dir = std::env::temp_dir().join(format!("clerk-sync-traces-{}", unique()));
    std::fs::create_dir_all(&dir).expect("log dir");
    let port = free_port();
    // The receiver sends every 100 ms; the worker waits a minute, so its spans can
    // only arrive through the flush at shutdown (SIGTERM).
    let receiver = spawn_receiver_with(
        &app,
        port,
        &dir.join("receiver.log"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    wait_ready(&app.http, port).await;
    let worker = app.spawn_worker_process(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
    ]);

    let svix_id = format!("msg_{}", unique());
    let first_name = format!("Philippa{}", unique());
    let email = format!("philippa.{}@example.org", unique());
    let (body, headers) = webhook(&svix_id, &first_name, &email);
    post(&app.http, port, body, &headers).await;
    assert_eq!(app.wait_recorded(&svix_id).await, "applied");

    // The receiver's spans come on their own, every 100 ms.
    wait_for(
        "the receiver's spans at the OTLP endpoint",
        Duration::from_secs(20),
        || {
            let found = collector
                .received
                .spans()
                .iter()
                .any(|(service, _)| service == "clerk-sync-receiver");
            async move { found.then_some(()) }
        },
    )
    .await;
    stop(worker, "worker").await;
    stop(receiver, "receiver").await;
    let spans = wait_for(
        "the worker's spans (sent at shutdown) at the OTLP endpoint",
        Duration::from_secs(10),
        || {
            let spans = collector.received.spans();
            let found = spans
                .iter()
                .any(|(service, _)| service == "clerk-sync-worker");
            async move { found.then_some(spans) }
        },
    )
    .await;

    let of_event = |service: &str| -> Vec<&Span> {
        spans
            .iter()
            .filter(|(s, span)| {
                s == service
                    && attribute(&span.attributes, "svix_id").as_deref() == Some(svix_id.as_str())
            })
            .map(|(_, span)| span)
            .collect()
    };
    let names = |spans: &[&Span]| spans.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let receiver_spans = of_event("clerk-sync-receiver");
    let worker_spans = of_event("clerk-sync-worker");
    let request = receiver_spans
        .iter()
        .find(|s| s.name == "POST /webhooks/clerk")
        .unwrap_or_else(|| panic!("a request span: {:?}", names(&receiver_spans)));
    let event = worker_spans
        .iter()
        .find(|s| s.name == "event")
        .unwrap_or_else(|| panic!("the worker's event span: {:?}", names(&worker_spans)));

    // One trace holds both services' spans.
    assert_eq!(
        event.trace_id, request.trace_id,
        "the worker's span continues the receiver's trace"
    );
    let in_trace: Vec<(String, String)> = spans
        .iter()
        .filter(|(_, s)| s.trace_id == request.trace_id)
        .map(|(service, s)| (service.clone(), s.name.clone()))
        .collect();
    for expected in ["POST /webhooks/clerk", "verify", "publish"] {
        assert!(
            in_trace
                .iter()
                .any(|(s, n)| s == "clerk-sync-receiver" && n == expected),
            "{expected} in the trace: {in_trace:?}"
        );
    }
    // Its parent is a span of the receiver (the publish span, whose context the
    // message carried).
    let receiver_ids: HashMap<&[u8], &str> = spans
        .iter()
        .filter(|(s, _)| s == "clerk-sync-receiver")
        .map(|(_, s)| (s.span_id.as_slice(), s.name.as_str()))
        .collect();
    assert_eq!(
        receiver_ids.get(event.parent_span_id.as_slice()).copied(),
        Some("publish"),
        "the worker's event span has the receiver's publish span as parent"
    );
    // And it links to its batch, whose children are the transaction and the acks.
    let batch = spans
        .iter()
        .find(|(s, span)| {
            s == "clerk-sync-worker"
                && span.name == "batch"
                && event.links.iter().any(|l| l.span_id == span.span_id)
        })
        .map(|(_, span)| span)
        .expect("the event's span links to its batch span");
    for child in ["apply", "ack"] {
        assert!(
            spans.iter().any(|(_, s)| s.name == child
                && s.parent_span_id == batch.span_id
                && s.trace_id == batch.trace_id),
            "{child} under the batch"
        );
    }

    for span in [*request, *event] {
        assert_eq!(
            attribute(&span.attributes, "event_type").as_deref(),
            Some("user.created"),
            "{} carries event_type",
            span.name
        );
    }
    assert_eq!(
        attribute(&event.attributes, "outcome").as_deref(),
        Some("applied")
    );
    assert_eq!(
        attribute(&request.attributes, "outcome").as_deref(),
        Some("accepted")
    );

    // No personal data anywhere: not as an attribute, not in the bytes sent.
    let lower_name = first_name.to_lowercase();
    for (raw, request) in collector.received.requests() {
        for value in all_values(&request) {
            let v = value.to_lowercase();
            assert!(
                !v.contains(&email) && !v.contains(&lower_name),
                "personal data in a span attribute: {value}"
            );
        }
        for needle in [email.as_bytes(), first_name.as_bytes(), SECRET.as_bytes()] {
            assert!(
                !raw.windows(needle.len()).any(|w| w == needle),
                "personal data or the secret in what was sent"
            );
        }
    }
    collector.handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_endpoint_nothing_is_exported_and_no_traceparent_is_published() {
    // The SDK's default endpoint: were an exporter made without the variable, this
    // is where it would send. If the port is taken here, that part is not checked.
    let default_endpoint = TcpListener::bind("127.0.0.1:4318")
        .ok()
        .map(Collector::start);
    let app = TestApp::receiver_only(Options::default()).await;
    let dir = std::env::temp_dir().join(format!("clerk-sync-traces-off-{}", unique()));
    std::fs::create_dir_all(&dir).expect("log dir");
    let port = free_port();
    // The other OTEL_ variables do not turn traces on.
    let receiver = spawn_receiver_with(
        &app,
        port,
        &dir.join("receiver.log"),
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_SERVICE_NAME", "should-not-appear"),
        ],
    );
    wait_ready(&app.http, port).await;
    let svix_id = format!("msg_{}", unique());
    let (body, headers) = webhook(&svix_id, "Philippa", "philippa.off@example.org");
    post(&app.http, port, body, &headers).await;

    let queued = app
        .broker
        .wait_count(
            &app.broker.topology.events_queue(),
            1,
            Duration::from_secs(10),
        )
        .await;
    let message = queued
        .iter()
        .find(|m| m.message_id().as_deref() == Some(svix_id.as_str()))
        .expect("the event is queued");
    let headers = message
        .properties
        .headers()
        .as_ref()
        .expect("the receiver's headers");
    assert!(
        headers.inner().get("svix-id").is_some(),
        "headers are read right"
    );
    for key in ["traceparent", "tracestate"] {
        assert!(
            headers.inner().get(key).is_none(),
            "no {key} header without OTEL_EXPORTER_OTLP_ENDPOINT"
        );
    }
    stop(receiver, "receiver").await;
    if let Some(collector) = default_endpoint {
        assert!(
            collector.received.requests().is_empty(),
            "nothing is sent to the default OTLP endpoint"
        );
        collector.handle.stop(true).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_fails_no_webhook_and_is_logged_once() {
    let app = TestApp::receiver_only(Options::default()).await;
    let dir = std::env::temp_dir().join(format!("clerk-sync-traces-down-{}", unique()));
    std::fs::create_dir_all(&dir).expect("log dir");
    let log = dir.join("receiver.log");
    let port = free_port();
    // Nobody listens there: every export is refused.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let receiver = spawn_receiver_with(
        &app,
        port,
        &log,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    );
    wait_ready(&app.http, port).await;
    let failed = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("cannot send spans to the OTLP endpoint"))
            .count()
    };
    let mut sent = 0;
    // Webhooks keep being accepted while exports fail, before and after the first
    // failure is logged.
    while failed() == 0 || sent < 10 {
        let svix_id = format!("msg_{}", unique());
        let (body, headers) = webhook(&svix_id, "Philippa", "philippa.down@example.org");
        post(&app.http, port, body, &headers).await;
        sent += 1;
        assert!(sent < 500, "the failed export was never logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let queued = app
        .broker
        .wait_count(
            &app.broker.topology.events_queue(),
            sent,
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(queued.len(), sent);
    stop(receiver, "receiver").await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(failed(), 1, "logged once, not at every batch:\n{text}");
    assert!(
        !text.contains("philippa.down"),
        "no personal data in the receiver's log"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
