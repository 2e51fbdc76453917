//! Test harness: one real homeserver per test on 127.0.0.1:0, backed by a fresh SQLite file
//! (default) or a fresh PostgreSQL database (`HEARTH_TEST_DATABASE=postgres`), plus a small
//! JSON HTTP client.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hearth::Config;
use hearth::config::Bucket;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use sqlx::Connection;

/// Admin connection of the PostgreSQL server the suite uses (trust auth).
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PG_BASE_URL: &str = "postgres://postgres@127.0.0.1:5432";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The database backend of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `HEARTH_TEST_DATABASE`: unset or `sqlite` -> SQLite, `postgres` -> PostgreSQL. Anything
/// else is a mistake and fails the test rather than silently testing SQLite.
pub fn backend() -> Backend {
    match std::env::var("HEARTH_TEST_DATABASE") {
        Err(_) => Backend::Sqlite,
        Ok(v) if v.is_empty() || v.eq_ignore_ascii_case("sqlite") => Backend::Sqlite,
        Ok(v) if v.eq_ignore_ascii_case("postgres") || v.eq_ignore_ascii_case("postgresql") => {
            Backend::Postgres
        }
        Ok(v) => panic!("HEARTH_TEST_DATABASE={v:?}: expected `sqlite` or `postgres`"),
    }
}

pub fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: u32 = rand::random();
    format!("{}_{}_{:08x}", std::process::id(), n, r)
}

/// Rate limits so high that functional tests never see a 429.
pub fn unlimited() -> hearth::config::RateLimits {
    let big = Bucket {
        limit: 1_000_000,
        per_seconds: 1.0,
    };
    hearth::config::RateLimits {
        global_per_second: 1_000_000,
        default_route: big,
        message_create: big,
        reactions: big,
        register_per_ip: big,
        login_per_ip: big,
        login_per_account_ip: big,
        login_per_account: big,
    }
}

/// A running homeserver. Dropping it stops the server and deletes its data (temp dir, or
/// the PostgreSQL database).
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    /// The federation listener's address when `federation.listen` is set.
    pub federation_addr: Option<std::net::SocketAddr>,
    /// `http://ADDR/api/v10`
    pub base: String,
    /// The service layer, for direct checks of stored state.
    pub hearth: Arc<hearth::service::Hearth>,
    /// The gateway, for checks of connection state.
    pub gateway: Arc<hearth::gateway::Gateway>,
    pub backend: Backend,
    pub data_dir: PathBuf,
    pg_database: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The configuration the server was built with (for [`TestServer::restart`]).
    pub config: Config,
    http: reqwest::Client,
}

impl TestServer {
    /// A server with functional-test settings (rate limits out of the way).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server whose config is adjusted by `f` after the test defaults are applied.
    pub async fn start_with(f: impl FnOnce(&mut Config)) -> TestServer {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                std::env::var("HEARTH_TEST_LOG").unwrap_or_else(|_| "hearth=warn".into()),
            )
            .try_init();
        let backend = backend();
        let suffix = unique_suffix();
        let data_dir = std::env::temp_dir().join(format!("hearth_it_{suffix}"));
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.clone(),
            ..Config::default()
        };
        config.password_hashing.memory_kib = 1024;
        config.password_hashing.iterations = 1;
        config.password_hashing.max_concurrent = 4;
        config.database_max_connections = 4;
        config.rate_limits = unlimited();
        let pg_database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("hearth_test_{suffix}");
                create_pg_database(&name).await;
                config.database_url = Some(format!("{PG_BASE_URL}/{name}"));
                Some(name)
            }
        };
        f(&mut config);
        let kept = config.clone();
        let app = match hearth::App::build(config).await {
            Ok(a) => a,
            Err(e) => {
                if let Some(db) = &pg_database {
                    drop_pg_database(db.clone());
                }
                panic!("App::build failed on {backend:?}: {e}");
            }
        };
        let addr = app.local_addr();
        let federation_addr = app.federation_addr();
        let hearth = app.hearth.clone();
        let gateway = app.gateway.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = app
                .serve(async move {
                    let _ = rx.await;
                })
                .await;
        });
        TestServer {
            addr,
            federation_addr,
            base: format!("http://{addr}/api/v10"),
            hearth,
            gateway,
            backend,
            data_dir,
            pg_database,
            shutdown: Some(tx),
            task: Some(task),
            config: kept,
            http: http_client(),
        }
    }

    /// Stops the server gracefully (its data stays) and starts it again with the same
    /// configuration, database and federation address; the client API port may change.
    pub async fn restart(&mut self) {
        self.stop_keeping_data().await;
        self.start_again().await;
    }

    /// Stops the server gracefully, keeping its data (see [`TestServer::start_again`]).
    pub async fn stop_keeping_data(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let abort = t.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(10), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Starts a stopped server again on its data.
    pub async fn start_again(&mut self) {
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().unwrap();
        let app = hearth::App::build(config).await.expect("restart");
        self.addr = app.local_addr();
        self.federation_addr = app.federation_addr();
        self.base = format!("http://{}/api/v10", self.addr);
        self.hearth = app.hearth.clone();
        self.gateway = app.gateway.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.task = Some(tokio::spawn(async move {
            let _ = app
                .serve(async move {
                    let _ = rx.await;
                })
                .await;
        }));
        self.shutdown = Some(tx);
    }

    /// `base + path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An unauthenticated client.
    pub fn anon(&self) -> Client {
        Client {
            http: self.http.clone(),
            base: self.base.clone(),
            auth: None,
            headers: HeaderMap::new(),
        }
    }

    /// A client sending `Authorization: Bearer <token>`.
    pub fn client(&self, token: &str) -> Client {
        self.anon().with_auth(format!("Bearer {token}"))
    }

    /// A client sending `Authorization: Bot <token>`.
    pub fn bot(&self, token: &str) -> Client {
        self.anon().with_auth(format!("Bot {token}"))
    }

    /// Registers `username` (password `<username>-pass-123`); returns the raw 201 body.
    pub async fn register_full(&self, username: &str) -> Value {
        let r = self
            .anon()
            .post(
                "/auth/register",
                json!({"username": username, "password": password_of(username)}),
            )
            .await;
        assert_eq!(r.status, 201, "register {username}: {r:?}");
        r.body
    }

    /// Registers `username`; returns `(user_id, access token)`.
    pub async fn register(&self, username: &str) -> (String, String) {
        let b = self.register_full(username).await;
        (s(&b["user_id"]), s(&b["token"]))
    }

    /// Registers `username`; returns `(user_id, client)`.
    pub async fn user(&self, username: &str) -> (String, Client) {
        let (id, tok) = self.register(username).await;
        (id, self.client(&tok))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(db) = self.pg_database.take() {
            drop_pg_database(db);
        }
    }
}

/// The password the harness registers `username` with.
pub fn password_of(username: &str) -> String {
    format!("{username}-pass-123")
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

pub async fn create_pg_database(name: &str) {
    let mut conn = sqlx::PgConnection::connect(PG_ADMIN_URL)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "HEARTH_TEST_DATABASE=postgres but PostgreSQL at {PG_ADMIN_URL} is unreachable: {e}"
            )
        });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = conn.close().await;
}

/// Drops a test database from a separate thread with its own runtime, so it works from
/// `Drop` inside (or outside) any async runtime.
pub fn drop_pg_database(name: String) {
    let res = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut conn = sqlx::PgConnection::connect(PG_ADMIN_URL).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await?;
            let _ = conn.close().await;
            Ok::<(), sqlx::Error>(())
        })
    })
    .join();
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: could not drop test database: {e}"),
        Err(_) => eprintln!("warning: thread dropping the test database panicked"),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP client

/// A response: status, JSON body (`Null` when empty, `{"_raw": text}` when not JSON) and headers.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    /// A header as a string (`None` when absent).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// The Discord error code of the body (`-1` when absent).
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }
    /// `(status, body, headers)`.
    pub fn parts(self) -> (u16, Value, HeaderMap) {
        (self.status, self.body, self.headers)
    }
}

/// A small JSON client bound to one base URL and optional credentials.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    auth: Option<String>,
    headers: HeaderMap,
}

impl Client {
    /// Same client with `Authorization: <value>`.
    pub fn with_auth(mut self, value: String) -> Client {
        self.auth = Some(value);
        self
    }
    /// Same client with an extra header on every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Client {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    /// PUT without a body (reactions, pins, member roles).
    pub async fn put_empty(&self, path: &str) -> Resp {
        self.send(Method::PUT, path, None).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// A JSON request (`body` None: no body).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, path, bytes, &[]).await
    }

    /// A request with a raw body (sent as `application/json` unless `headers` names a
    /// content type) and extra headers.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let mut rb = self
            .http
            .request(method.clone(), &url)
            .headers(self.headers.clone());
        if let Some(a) = &self.auth {
            rb = rb.header("authorization", a);
        }
        if let Some(b) = body {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                rb = rb.header("content-type", "application/json");
            }
            rb = rb.body(b);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| json!({"_raw": String::from_utf8_lossy(&bytes).to_string()}))
        };
        Resp {
            status,
            body,
            headers,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// A JSON string value as `String` (panics otherwise, naming the value).
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// Asserts a Discord-format error: `status` and `code`.
#[track_caller]
pub fn assert_err(r: &Resp, status: u16, code: i64) {
    assert_eq!(
        (r.status, r.code()),
        (status, code),
        "expected {status}/{code}, got {r:?}"
    );
    assert!(
        r.body["message"].is_string(),
        "error body without message: {r:?}"
    );
}

/// Asserts a 2xx status.
#[track_caller]
pub fn assert_ok(r: &Resp) {
    assert!((200..300).contains(&r.status), "expected 2xx, got {r:?}");
}

/// Asserts a 400 50035 whose `errors` has an entry at the dotted `path`.
#[track_caller]
pub fn assert_field_error(r: &Resp, path: &str) {
    assert_err(r, 400, 50035);
    let mut node = &r.body["errors"];
    for part in path.split('.') {
        node = &node[part];
    }
    assert!(
        node["_errors"].is_array() && !node["_errors"].as_array().unwrap().is_empty(),
        "expected a field error at {path:?}: {r:?}"
    );
}

/// Ids of a JSON array of objects.
pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| s(&x["id"]))
        .collect()
}

/// Permission bits used by the tests (Discord "Permissions").
pub mod perm {
    pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
    pub const STREAM: u64 = 1 << 9;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const SEND_TTS_MESSAGES: u64 = 1 << 12;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
    pub const CONNECT: u64 = 1 << 20;
    pub const SPEAK: u64 = 1 << 21;
    pub const USE_VAD: u64 = 1 << 25;
    pub const CHANGE_NICKNAME: u64 = 1 << 26;
    pub const MANAGE_NICKNAMES: u64 = 1 << 27;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    pub const PIN_MESSAGES: u64 = 1 << 51;

    /// `@everyone` of a new guild, written out independently of the server's constant.
    pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | STREAM
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | USE_VAD
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS;
}

/// A guild with an owner and invited members, for tests that need one.
pub struct Guild {
    pub id: String,
    /// The default `general` text channel.
    pub general: String,
    pub invite: String,
}

/// `owner` creates a guild named `name`; returns its id, default channel and an unlimited invite.
pub async fn create_guild(owner: &Client, name: &str) -> Guild {
    let g = owner.post("/guilds", json!({"name": name})).await;
    assert_eq!(g.status, 201, "create guild: {g:?}");
    let id = s(&g.body["id"]);
    let chans = owner.get(&format!("/guilds/{id}/channels")).await;
    assert_eq!(chans.status, 200, "{chans:?}");
    let general = chans.body.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let inv = owner
        .post(
            &format!("/channels/{general}/invites"),
            json!({"max_age": 0, "max_uses": 0, "unique": true}),
        )
        .await;
    assert_eq!(inv.status, 200, "create invite: {inv:?}");
    Guild {
        id,
        general,
        invite: s(&inv.body["code"]),
    }
}

/// `c` joins with `code`, asserting success.
pub async fn join(c: &Client, code: &str) {
    let r = c.post(&format!("/invites/{code}"), json!({})).await;
    assert_eq!(r.status, 200, "join {code}: {r:?}");
}

/// `owner` creates a role with `permissions` in `guild`; returns its id.
pub async fn create_role(owner: &Client, guild: &str, name: &str, permissions: u64) -> String {
    let r = owner
        .post(
            &format!("/guilds/{guild}/roles"),
            json!({"name": name, "permissions": permissions.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "create role {name}: {r:?}");
    s(&r.body["id"])
}

/// `owner` gives `role` to `user`.
pub async fn give_role(owner: &Client, guild: &str, user: &str, role: &str) {
    let r = owner
        .put_empty(&format!("/guilds/{guild}/members/{user}/roles/{role}"))
        .await;
    assert_eq!(r.status, 204, "give role: {r:?}");
}

/// Posts `content` in `channel`; returns the message id.
pub async fn say(c: &Client, channel: &str, content: &str) -> String {
    let r = c
        .post(
            &format!("/channels/{channel}/messages"),
            json!({"content": content}),
        )
        .await;
    assert_eq!(r.status, 200, "post message: {r:?}");
    s(&r.body["id"])
}

#[tokio::test]
async fn migrations_apply_on_this_backend() {
    let srv = TestServer::start().await;
    // The server answers and its database is ready.
    let ready = srv.anon().get(&format!("http://{}/ready", srv.addr)).await;
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.body["status"], "ready");
    // Every migration file of this backend is recorded as applied successfully.
    let dir = match srv.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let files = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir),
    )
    .unwrap()
    .filter(|e| {
        e.as_ref()
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "sql")
    })
    .count() as i64;
    assert!(files >= 1);
    let applied: i64 = match &*srv.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(p)
                .await
                .unwrap()
        }
        hearth_db::Db::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        applied, files,
        "applied migrations vs files in migrations/{dir}"
    );
    // The backend is the one requested.
    match (srv.backend, &*srv.hearth.db) {
        (Backend::Sqlite, hearth_db::Db::Sqlite(_))
        | (Backend::Postgres, hearth_db::Db::Postgres(_)) => {}
        (b, _) => panic!("requested {b:?} but the server runs another backend"),
    }
    // The schema works end to end: a write and a read.
    let (id, c) = srv.user("migrated").await;
    let me = c.get("/users/@me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], id.as_str());
}

#[tokio::test]
async fn migrations_are_idempotent_on_restart() {
    // A second App over the same database applies nothing new and starts cleanly.
    let srv = TestServer::start().await;
    let (_, c) = srv.user("before_restart").await;
    assert_eq!(c.get("/users/@me").await.status, 200);
    let mut config = srv.hearth.config.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let app = hearth::App::build(config)
        .await
        .expect("second build over a migrated database");
    let n = app.hearth.db.clone();
    match &*n {
        hearth_db::Db::Sqlite(p) => {
            let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(p)
                .await
                .unwrap();
            assert_eq!(users, 1);
        }
        hearth_db::Db::Postgres(p) => {
            let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(p)
                .await
                .unwrap();
            assert_eq!(users, 1);
        }
    }
    n.close().await;
}
