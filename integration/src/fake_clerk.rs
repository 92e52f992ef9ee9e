//! A fake Clerk Backend API on 127.0.0.1 for the backfill and reconcile tests: users
//! (bare array or `{"data": [...]}`), organizations, memberships, the other families'
//! listings, lookups by id (users, and memberships by user), `starting_after`
//! cursors, injected 429/500 answers and a hook that changes what Clerk holds in the
//! middle of a run.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use actix_web::{dev::ServerHandle, web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use worker::backfill::ClerkClient;

pub const KEY: &str = "sk_test_backfill_fake_key";

/// A scripted answer given before the real one.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429, with `Retry-After: n` when given.
    RateLimited(Option<u64>),
    /// 500.
    ServerError,
}

/// Called with the fake's state, the path and the offset, before each answer (to
/// change what Clerk or the database holds in the middle of a run).
pub type Hook = Box<dyn FnMut(&mut Clerk, &str, usize) + Send>;

/// What the fake Backend API serves.
#[derive(Default)]
pub struct Clerk {
    pub users: Vec<Value>,
    pub organizations: Vec<Value>,
    pub memberships: HashMap<String, Vec<Value>>,
    /// Users found by a `user_id` lookup but not listed (created after the listing).
    pub unlisted_users: Vec<Value>,
    /// (path, offset) → answers to give, in order, before the real page. A
    /// `starting_after` request counts as the offset just past its cursor.
    pub faults: HashMap<(String, usize), VecDeque<Fault>>,
    /// Every request: (path, offset, order_by).
    pub requests: Vec<(String, usize, Option<String>)>,
    /// Every request's full query string and `Clerk-API-Version` header.
    pub queries: Vec<(String, String, Option<String>)>,
    /// Serve users as `{"data": [...]}` instead of a bare array.
    pub users_wrapped: bool,
    /// Answer `starting_after` requests as if the parameter did not exist.
    pub ignore_cursor: bool,
    /// Answer `user_id` lookups (of users, and of an organization's memberships) as
    /// if the filter did not exist.
    pub ignore_user_id_filter: bool,
    pub hook: Option<Hook>,
    /// The other families' instance-wide listings, by path (`/v1/organization_roles`).
    pub objects: HashMap<String, Vec<Value>>,
}

impl Clerk {
    pub fn fault(mut self, path: &str, offset: usize, fault: Fault) -> Self {
        self.faults
            .entry((path.to_owned(), offset))
            .or_default()
            .push_back(fault);
        self
    }
}

pub type State = Arc<Mutex<Clerk>>;

async fn serve(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    // Repeated keys (`user_id=a&user_id=b`) are lost in the map above.
    let user_ids: Vec<String> = reqwest::Url::parse(&format!("http://x/?{}", req.query_string()))
        .map(|u| {
            u.query_pairs()
                .filter(|(k, _)| k == "user_id")
                .map(|(_, v)| v.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let number =
        |k: &str, default: usize| query.get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (limit, mut offset) = (number("limit", 10), number("offset", 0));
    let path = req.path().to_owned();
    let mut clerk = state.lock().expect("fake Clerk state");
    let cursor = query
        .get("starting_after")
        .filter(|_| !clerk.ignore_cursor && path == "/v1/users");
    if let Some(after) = cursor {
        match clerk.users.iter().position(|u| u["id"] == after.as_str()) {
            Some(i) => offset = i + 1,
            None => {
                return HttpResponse::BadRequest()
                    .json(json!({"errors": [{"code": "resource_not_found"}]}))
            }
        }
    }
    clerk
        .requests
        .push((path.clone(), offset, query.get("order_by").cloned()));
    let version = req
        .headers()
        .get("clerk-api-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    clerk
        .queries
        .push((path.clone(), req.query_string().to_owned(), version));
    if let Some(mut hook) = clerk.hook.take() {
        hook(&mut clerk, &path, offset);
        clerk.hook = Some(hook);
    }

    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {KEY}").as_str());
    if !authorized {
        return HttpResponse::Unauthorized().json(json!({
            "errors": [{"message": "Invalid authentication", "code": "authentication_invalid"}]
        }));
    }
    let fault = clerk
        .faults
        .get_mut(&(path.clone(), offset))
        .and_then(VecDeque::pop_front);
    match fault {
        Some(Fault::RateLimited(after)) => {
            let mut r = HttpResponse::TooManyRequests();
            if let Some(s) = after {
                r.insert_header(("Retry-After", s.to_string()));
            }
            return r.json(json!({"errors": [{"code": "too_many_requests"}]}));
        }
        Some(Fault::ServerError) => {
            return HttpResponse::InternalServerError()
                .json(json!({"errors": [{"code": "internal_clerk_error"}]}));
        }
        None => {}
    }

    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (items, wrapped) = match segments.as_slice() {
        ["v1", "users"] if !user_ids.is_empty() && !clerk.ignore_user_id_filter => {
            let found: Vec<Value> = clerk
                .users
                .iter()
                .chain(&clerk.unlisted_users)
                .filter(|u| user_ids.iter().any(|id| u["id"] == id.as_str()))
                .cloned()
                .collect();
            return HttpResponse::Ok().json(Value::Array(found));
        }
        ["v1", "organizations", id] => {
            return match clerk.organizations.iter().find(|o| o["id"] == *id) {
                Some(o) => HttpResponse::Ok().json(o),
                None => HttpResponse::NotFound()
                    .json(json!({"errors": [{"code": "resource_not_found"}]})),
            }
        }
        ["v1", "users"] => (clerk.users.clone(), clerk.users_wrapped),
        ["v1", "organizations"] => (clerk.organizations.clone(), true),
        ["v1", "organizations", id, "memberships"] => {
            // Clerk answers 404 for the memberships of an organization it no longer has.
            if !clerk.organizations.iter().any(|o| o["id"] == *id) {
                return HttpResponse::NotFound()
                    .json(json!({"errors": [{"code": "resource_not_found"}]}));
            }
            let all = clerk.memberships.get(*id).cloned().unwrap_or_default();
            if user_ids.is_empty() || clerk.ignore_user_id_filter {
                (all, true)
            } else {
                let of_users = all
                    .into_iter()
                    .filter(|m| {
                        user_ids
                            .iter()
                            .any(|u| m["public_user_data"]["user_id"] == u.as_str())
                    })
                    .collect();
                (of_users, true)
            }
        }
        _ => match clerk.objects.get(&path) {
            Some(items) => (items.clone(), true),
            // The other families' listings exist, empty unless a test fills them.
            None if is_family_listing(&path) => (Vec::new(), true),
            None => {
                return HttpResponse::NotFound().json(json!({"errors": [{"code": "not_found"}]}))
            }
        },
    };
    let page: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
    if wrapped {
        HttpResponse::Ok().json(json!({"data": page, "total_count": items.len()}))
    } else {
        HttpResponse::Ok().json(Value::Array(page))
    }
}

/// Whether `path` is the instance-wide listing of one of the other families.
fn is_family_listing(path: &str) -> bool {
    worker::apply::Family::ALL
        .iter()
        .filter_map(|f| f.list_path())
        .any(|segments| format!("/{}", segments.join("/")) == path)
}

/// The fake Backend API, listening on 127.0.0.1.
pub struct FakeClerk {
    pub state: State,
    pub url: String,
    handle: ServerHandle,
}

impl FakeClerk {
    pub fn start(clerk: Clerk) -> Self {
        let state: State = Arc::new(Mutex::new(clerk));
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        let port = listener.local_addr().expect("bound address").port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(serve))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("fake Clerk listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            state,
            url: format!("http://127.0.0.1:{port}"),
            handle,
        }
    }

    pub fn client(&self, page_size: usize) -> ClerkClient {
        ClerkClient::new(&self.url, KEY, page_size).expect("client")
    }

    /// The offsets requested of `path`, in order.
    pub fn offsets(&self, path: &str) -> Vec<usize> {
        self.state
            .lock()
            .expect("state")
            .requests
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, o, _)| *o)
            .collect()
    }

    pub fn requests(&self) -> Vec<(String, usize, Option<String>)> {
        self.state.lock().expect("state").requests.clone()
    }

    /// Every request's (path, query string, Clerk-API-Version).
    pub fn queries(&self) -> Vec<(String, String, Option<String>)> {
        self.state.lock().expect("state").queries.clone()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
