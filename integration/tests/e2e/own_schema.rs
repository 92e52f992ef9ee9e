//! Our own schema in the app's database (DESIGN.md §5, docs/operations.md): the
//! app's `public` tables survive every command and event kind, an install from before
//! the schema is moved out of `public`, three concurrent starts migrate once, and the
//! three documented roles do what they say.

use std::time::Duration;

use diesel::{connection::SimpleConnection, prelude::*, sql_query, sql_types::Text, PgConnection};
use integration::{
    binary, unique, wait_for, wait_for_user::Listener, Options, TestApp, TestDb, SECRET,
};
use shared::examples::EXAMPLES;

use crate::{
    backfill::{membership, organization, user, Clerk, FakeClerk, KEY},
    T0,
};

const BASE: &str = "postgres://postgres@127.0.0.1:5432";

/// The app's own tables, in `public`, named as ours are, with other columns.
const APP_TABLES: &str = "
    CREATE TABLE public.users (id serial PRIMARY KEY, login text NOT NULL UNIQUE, email text);
    INSERT INTO public.users (login, email) VALUES ('alice', 'alice@app.example'), ('bob', NULL);
    CREATE TABLE public.organizations (slug text PRIMARY KEY, plan text);
    INSERT INTO public.organizations VALUES ('acme', 'pro');
    CREATE TABLE public.organization_memberships (login text, slug text);
    INSERT INTO public.organization_memberships VALUES ('alice', 'acme');
    CREATE TABLE public.roles (name text);
    INSERT INTO public.roles VALUES ('admin');
    CREATE TABLE public.permissions (name text);
    CREATE TABLE public.webhook_events (provider text, body text);
    INSERT INTO public.webhook_events VALUES ('stripe', '{}');
    CREATE TABLE public.waitlist_entries (email text);
    CREATE TABLE public.erased_identifiers (note text);
    CREATE FUNCTION public.app_touch() RETURNS integer LANGUAGE sql AS 'SELECT 1';
";

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

fn lines(c: &mut PgConnection, sql: &str) -> Vec<String> {
    let mut out: Vec<String> = sql_query(sql)
        .load::<Line>(c)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect();
    out.sort();
    out
}

/// Everything in `public`: every relation with its columns, every function, and
/// every row of every table, as sorted lines.
fn public_snapshot(url: &str) -> Vec<String> {
    let mut c = PgConnection::establish(url).expect("database reachable");
    let mut out = lines(
        &mut c,
        "SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' ' || \
                coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum) \
                          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS line \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
         UNION ALL \
         SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' \
         UNION ALL \
         SELECT 'trigger ' || t.tgname || ' on ' || c.relname FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.tgisinternal",
    );
    let tables = lines(
        &mut c,
        "SELECT c.relname::text AS line FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r'",
    );
    for t in tables {
        out.extend(lines(
            &mut c,
            &format!("SELECT '{t} row ' || to_jsonb(r)::text AS line FROM public.\"{t}\" r"),
        ));
    }
    out.sort();
    out
}

/// A database made as the app has it: empty, then the app's own tables.
async fn app_database() -> TestDb {
    let url = format!("{BASE}/clerk_sync_test_{}", unique());
    let db = TestDb::owning(url.clone());
    tokio::task::spawn_blocking(move || {
        shared::db::create_database_if_missing(&url).expect("database created");
        PgConnection::establish(&url)
            .expect("database reachable")
            .batch_execute(APP_TABLES)
            .expect("the app's tables");
    })
    .await
    .expect("task");
    db
}

/// Runs the worker binary with `args` against `url`; (success, stdout + stderr).
async fn worker(url: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(binary("worker"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("worker runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_own_public_tables_survive_every_command_and_event_kind() {
    let db = app_database().await;
    let before = public_snapshot(&db.url);
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("relation users r id:integer,login:text,email:text")),
        "{before:#?}"
    );

    let (ok, out) = worker(&db.url, &["migrate"], &[]).await;
    assert!(ok, "{out}");
    assert!(out.contains("schema clerk created"), "{out}");

    // Every example event, through the receiver and a worker on this database.
    let mut app = TestApp::spawn(Options {
        workers: 0,
        store_payloads: true,
        worker_database_url: Some(db.url.clone()),
        ..Options::default()
    })
    .await;
    app.start_worker().await;
    for (event_type, _) in EXAMPLES {
        let out = tokio::process::Command::new(binary("receiver"))
            .args(["send", event_type, "--to", &app.webhook_url()])
            .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
            .output()
            .await
            .expect("receiver send runs");
        assert!(out.status.success(), "send {event_type}");
    }
    let ours = |table: &'static str| {
        let url = db.url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut c = integration::database::connect(&url);
                lines(
                    &mut c,
                    &format!("SELECT count(*)::text AS line FROM {table}"),
                )[0]
                .parse::<usize>()
                .expect("a count")
            })
            .await
            .expect("task")
        }
    };
    wait_for(
        "every example recorded",
        Duration::from_secs(30),
        || async { (ours("webhook_events").await == EXAMPLES.len()).then_some(()) },
    )
    .await;
    assert_eq!(ours("users").await, 3);
    app.stop_all().await;

    // Backfill and reconcile against the fake Backend API, then prune.
    let clerk = FakeClerk::start(Clerk {
        users: vec![user("user_bf1", T0, "Backfilled")],
        organizations: vec![organization("org_bf1", T0, "Backfilled Org")],
        memberships: [(
            "org_bf1".to_owned(),
            vec![membership(
                "orgmem_bf1",
                "org_bf1",
                "user_bf1",
                "org:admin",
                T0,
            )],
        )]
        .into(),
        ..Clerk::default()
    });
    let api = [
        ("CLERK_API_URL", clerk.url.as_str()),
        ("CLERK_SECRET_KEY", KEY),
    ];
    for args in [
        &["backfill"][..],
        &["reconcile"],
        &["prune", "--older-than", "1s", "--force"],
    ] {
        let (ok, out) = worker(&db.url, args, &api).await;
        assert!(ok, "{args:?}: {out}");
    }
    clerk.stop().await;
    assert_eq!(ours("webhook_events").await, 0, "pruned");
    assert!(ours("users").await >= 4, "backfilled into clerk.users");

    assert_eq!(
        public_snapshot(&db.url),
        before,
        "public is as the app left it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_from_before_the_schema_is_moved_out_of_public_once() {
    let url = format!("{BASE}/clerk_sync_test_{}", unique());
    let db = TestDb::owning(url.clone());
    // Today's main made this: every migration and table in public, rows in them, and
    // a view of the app's that reads our users.
    let u = url.clone();
    tokio::task::spawn_blocking(move || {
        shared::db::migrate(&u, "public").expect("an install in public");
        let mut c = shared::db::connect(&u, "public").expect("connects");
        let (change, subject) = worker::apply::object_change(
            worker::apply::ObjectKind::User,
            user("user_old1", T0, "Oldtimer")
                .as_object()
                .expect("object"),
        )
        .expect("valid user");
        worker::apply::apply_object(&mut c, &change, subject.as_deref()).expect("applied");
        c.batch_execute(
            "CREATE TABLE public.app_notes (note text); \
             CREATE VIEW public.app_user_names AS SELECT id, first_name FROM public.users;",
        )
        .expect("the app's objects");
    })
    .await
    .expect("task");

    let (ok, out) = worker(&url, &["migrate"], &[]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "moved 36 tables and functions of an older install from public into schema clerk"
        ),
        "{out}"
    );
    assert_eq!(
        public_snapshot(&url),
        [
            "relation app_notes r note:text",
            "relation app_user_names v id:text,first_name:text",
        ],
        "only the app's own objects are left in public"
    );
    let u = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = integration::database::connect(&u);
        assert_eq!(
            lines(&mut c, "SELECT first_name AS line FROM users"),
            ["Oldtimer"],
            "the rows moved with their table"
        );
        assert_eq!(
            lines(
                &mut c,
                "SELECT first_name AS line FROM public.app_user_names"
            ),
            ["Oldtimer"],
            "the app's view follows the table"
        );
        // The trigger function moved too, and fires from the schema.
        c.batch_execute("LISTEN clerk_sync; UPDATE users SET first_name = 'Moved'")
            .expect("a write fires the moved trigger");
    })
    .await
    .expect("task");

    let (ok, out) = worker(&url, &["migrate"], &[]).await;
    assert!(ok, "{out}");
    assert!(!out.contains("moved"), "once only: {out}");
    assert!(out.contains("migrations applied: 0"), "{out}");
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_started_at_once_on_an_empty_database_migrate_once() {
    let url = format!("{BASE}/clerk_sync_test_{}", unique());
    let db = TestDb::owning(url.clone());
    let env = [("DATABASE_SCHEMA", "sync_app")];
    let (a, b, c) = tokio::join!(
        worker(&url, &["migrate"], &env),
        worker(&url, &["migrate"], &env),
        worker(&url, &["migrate"], &env),
    );
    let mut applied = 0;
    for (ok, out) in [&a, &b, &c] {
        assert!(ok, "{out}");
        assert!(!out.to_lowercase().contains("error"), "{out}");
        assert!(
            !out.contains("retrying"),
            "no start waited on an error: {out}"
        );
        let n: usize = out
            .lines()
            .find_map(|l| l.strip_prefix("migrations applied: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        applied += n;
    }
    let total = {
        use diesel::migration::MigrationSource;
        MigrationSource::<diesel::pg::Pg>::migrations(&shared::db::MIGRATIONS)
            .expect("migrations")
            .len()
    };
    assert_eq!(
        applied, total,
        "the migrations ran once between them: {a:?} {b:?} {c:?}"
    );
    let u = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = PgConnection::establish(&u).expect("connects");
        assert_eq!(
            lines(&mut c, "SELECT count(*)::text AS line FROM sync_app.__diesel_schema_migrations"),
            [total.to_string()]
        );
        assert_eq!(
            lines(&mut c, "SELECT count(*)::text AS line FROM pg_namespace WHERE nspname = 'sync_app'"),
            ["1"]
        );
        assert_eq!(
            lines(
                &mut c,
                "SELECT count(*)::text AS line FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public'"
            ),
            ["0"],
            "nothing in public"
        );
    })
    .await
    .expect("task");
    drop(db);
}

/// Drops the test's roles when dropped (after the database that holds their grants).
struct Roles(Vec<String>);

impl Drop for Roles {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&format!("{BASE}/postgres")) {
            for r in &self.0 {
                let _ = c.batch_execute(&format!("DROP ROLE IF EXISTS {r}"));
            }
        }
    }
}

/// The SQL of docs/operations.md between its `roles` markers, with the test's names.
fn documented_roles_sql(suffix: &str) -> String {
    let doc = include_str!("../../../docs/operations.md");
    let start = doc.find("<!-- roles: begin -->").expect("begin marker");
    let end = doc.find("<!-- roles: end -->").expect("end marker");
    doc[start..end]
        .lines()
        .filter(|l| !l.starts_with("```") && !l.starts_with("<!--"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("clerk_sync_owner", &format!("owner_{suffix}"))
        .replace("clerk_sync_worker", &format!("runtime_{suffix}"))
        .replace("clerk_sync_app_reader", &format!("reader_{suffix}"))
}

fn role_url(db: &str, role: &str) -> String {
    format!("postgres://{role}:irrelevant-under-trust@127.0.0.1:5432/{db}")
}

/// The SQLSTATE of running `sql` as the connection at `url`; None when it runs.
fn sql_state_of(url: &str, sql: &str) -> Option<String> {
    let mut c = integration::database::connect(url);
    match c.batch_execute(sql) {
        Ok(()) => None,
        Err(diesel::result::Error::DatabaseError(_, info)) => info.sql_state().map(str::to_owned),
        Err(e) => Some(e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_roles_migrate_run_and_read_and_no_more() {
    let suffix = unique();
    let roles = Roles(vec![
        format!("reader_{suffix}"),
        format!("runtime_{suffix}"),
        format!("owner_{suffix}"),
    ]);
    let db = app_database().await;
    let name = db.name().to_owned();
    let sql = documented_roles_sql(&suffix);
    let admin = db.url.clone();
    tokio::task::spawn_blocking(move || {
        PgConnection::establish(&admin)
            .expect("connects")
            .batch_execute(&sql)
            .expect("the documented SQL runs");
    })
    .await
    .expect("task");
    let owner = role_url(&name, &format!("owner_{suffix}"));
    let runtime = role_url(&name, &format!("runtime_{suffix}"));
    let reader = role_url(&name, &format!("reader_{suffix}"));

    // The runtime role cannot migrate, and says so; --no-migrate before the owner
    // migrated refuses to start.
    let (ok, out) = worker(&runtime, &["migrate"], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("permission denied"), "{out}");
    let (ok, out) = worker(&owner, &["migrate"], &[]).await;
    assert!(ok, "{out}");

    // The worker runs as the runtime role, with --no-migrate.
    let mut app = TestApp::spawn(Options {
        workers: 0,
        no_migrate: true,
        worker_database_url: Some(runtime.clone()),
        ..Options::default()
    })
    .await;
    app.start_worker().await;
    // The app listens and reads as its role (the example of docs/app-integration.md).
    let mut listener = Listener::connect(&reader)
        .await
        .expect("the reader connects");
    let svix = app
        .post(&integration::webhooks::user_event(
            "user.created",
            "user_role1",
            T0,
            "Ranger",
        ))
        .await;
    let row = listener
        .wait_for_user("user_role1", Duration::from_secs(20))
        .await
        .expect("the reader reads")
        .unwrap_or_else(|| panic!("user_role1 ({svix}) reached the reader"));
    assert_eq!(
        row.get::<_, Option<String>>("first_name").as_deref(),
        Some("Ranger")
    );
    app.stop_all().await;

    let (ok, out) = worker(&runtime, &["prune", "--older-than", "1s", "--force"], &[]).await;
    assert!(ok, "the runtime role prunes: {out}");

    let (r, w) = (reader.clone(), runtime.clone());
    tokio::task::spawn_blocking(move || {
        // The app's role reads the change feed (docs/change-feed.md), and only reads.
        let feed = worker::feed::read::since(&mut integration::database::connect(&r), 0, 10)
            .expect("the app's role reads the feed");
        assert!(
            feed.iter()
                .any(|c| c.object_id == "user_role1" && c.svix_id.as_deref() == Some(svix.as_str())),
            "{feed:?}"
        );
        assert_eq!(
            sql_state_of(&r, "DELETE FROM changes").as_deref(),
            Some("42501"),
            "the app's role cannot edit the feed"
        );
        assert_eq!(
            sql_state_of(&r, "INSERT INTO users (id) VALUES ('user_forged')").as_deref(),
            Some("42501"),
            "the app's role cannot write"
        );
        assert_eq!(
            sql_state_of(&r, "UPDATE users SET first_name = 'x'").as_deref(),
            Some("42501")
        );
        assert_eq!(
            sql_state_of(&w, "CREATE TABLE clerk.sneaky (x int)").as_deref(),
            Some("42501"),
            "the runtime role has no DDL"
        );
        assert_eq!(
            sql_state_of(&w, "DROP TABLE users").as_deref(),
            Some("42501")
        );
    })
    .await
    .expect("task");
    // Drop the database (and its grants) before the roles.
    drop(listener);
    drop(app);
    drop(db);
    drop(roles);
}

/// Checks the helper's SQL reading: the markers hold all three roles.
#[test]
fn the_documented_sql_names_three_roles() {
    let sql = documented_roles_sql("x");
    for role in ["owner_x", "runtime_x", "reader_x"] {
        assert!(sql.contains(&format!("CREATE ROLE {role}")), "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_may_not_create_the_schema_is_told_what_to_run() {
    let suffix = unique();
    let role = format!("plain_{suffix}");
    let roles = Roles(vec![role.clone()]);
    let db = app_database().await;
    let admin = db.url.clone();
    let r = role.clone();
    tokio::task::spawn_blocking(move || {
        PgConnection::establish(&admin)
            .expect("connects")
            .batch_execute(&format!("CREATE ROLE {r} LOGIN"))
            .expect("role");
    })
    .await
    .expect("task");
    let (ok, out) = worker(&role_url(db.name(), &role), &["migrate"], &[]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "as an owner of the database, run: CREATE SCHEMA \"clerk\" AUTHORIZATION \"{role}\";"
        )),
        "{out}"
    );
    assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
    drop(db);
    drop(roles);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_pgbouncer_in_session_mode_the_worker_migrates_and_applies() {
    use integration::pgbouncer::{PgBouncer, PoolMode};
    let bouncer = PgBouncer::start(PoolMode::Session);
    let mut app = TestApp::spawn(Options {
        workers: 0,
        ..Options::default()
    })
    .await;
    app.options.worker_database_url = Some(bouncer.url(app.db.name()));
    app.start_worker().await;
    let svix = app
        .post(&integration::webhooks::user_event(
            "user.created",
            "user_bouncer1",
            T0,
            "Pooled",
        ))
        .await;
    assert_eq!(app.wait_recorded(&svix).await, "applied");
    let user = app.db.user("user_bouncer1").await.expect("the user row");
    assert_eq!(user.first_name.as_deref(), Some("Pooled"));
    app.stop_all().await;
    drop(bouncer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_pgbouncer_in_transaction_mode_the_worker_refuses_with_one_line() {
    use integration::pgbouncer::{PgBouncer, PoolMode};
    let bouncer = PgBouncer::start(PoolMode::Transaction);
    let db = TestDb::new().await;
    let url = bouncer.url(db.name());
    for args in [&["migrate"][..], &["run"]] {
        let run = worker(
            &url,
            args,
            &[("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")],
        );
        let (ok, out) = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap_or_else(|_| panic!("worker {args:?} exits instead of running on"));
        assert!(!ok, "{args:?}: {out}");
        let errors: Vec<&str> = out.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one line: {out}");
        assert!(
            errors[0].contains("goes through a connection pooler in transaction mode"),
            "{args:?}: {out}"
        );
    }
    drop(bouncer);
}
