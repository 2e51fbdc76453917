//! Test harness: one real homeserver per test on 127.0.0.1:0, backed by a fresh SQLite file
//! (default) or a fresh PostgreSQL database (`HEARTH_TEST_DATABASE=postgres`), plus the JSON
//! HTTP client, builders and assertions. The plumbing shared with the bench (databases,
//! serving an `App`, the client, builders, polling) is the test kit (`tests/kit`,
//! `hearth_testkit`); this file keeps thin, panicking wrappers over it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use hearth::Config;
use hearth_testkit::app::RunningApp;
use hearth_testkit::{build, db};
use serde_json::{Value, json};

pub use hearth_testkit::build::{Guild, password_of};
pub use hearth_testkit::db::{Backend, PG_ADMIN_URL, backend, unique_suffix};
pub use hearth_testkit::rest::{Client, Resp, s};
pub use hearth_testkit::s3::{Blobs, S3Server};
pub use hearth_testkit::wait::eventually;

/// A running homeserver. Dropping it stops the server and deletes its data (temp dir, or
/// the PostgreSQL database).
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    /// The federation listener's address when `federation.listen` is set.
    pub federation_addr: Option<std::net::SocketAddr>,
    /// The `/metrics` listener's address when `metrics.listen` is set.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `http://ADDR/api/v10`
    pub base: String,
    /// The service layer, for direct checks of stored state.
    pub hearth: Arc<hearth::service::Hearth>,
    /// The gateway, for checks of connection state.
    pub gateway: Arc<hearth::gateway::Gateway>,
    /// The federation layer (keys, discovery, signed client).
    pub fed: Arc<hearth::s2s::Federation>,
    /// The registrar link, when configured.
    pub registrar: Option<Arc<hearth::registrar::Link>>,
    pub backend: Backend,
    /// Where file bytes are kept (`HEARTH_TEST_BLOBS`, or the test's choice).
    pub blobs: Blobs,
    /// The S3 server of [`Blobs::S3`] (its folder is under `data_dir`).
    pub s3: Option<S3Server>,
    pub data_dir: PathBuf,
    pg_database: Option<String>,
    app: Option<RunningApp>,
    /// The configuration the server was built with (for [`TestServer::restart`]).
    pub config: Config,
    http: reqwest::Client,
}

impl TestServer {
    /// A server with functional-test settings (rate limits out of the way).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server whose config is adjusted by `f` after the test defaults are applied, with
    /// the blob store of `HEARTH_TEST_BLOBS`.
    pub async fn start_with(f: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_blobs(hearth_testkit::s3::blobs_from_env(), f).await
    }

    /// A server keeping file bytes in `blobs` (an S3 server is started for [`Blobs::S3`]),
    /// its config adjusted by `f` after the test defaults are applied.
    pub async fn start_blobs(blobs: Blobs, f: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_inner(blobs, None, f).await
    }

    /// A node of a cluster (`tests/it/cluster.rs`): PostgreSQL database `database` (made and
    /// dropped by the caller, shared by the nodes), whatever `HEARTH_TEST_DATABASE` says.
    pub async fn start_node(database: &str, f: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_inner(Blobs::Local, Some(database), f).await
    }

    async fn start_inner(
        blobs: Blobs,
        shared_pg: Option<&str>,
        f: impl FnOnce(&mut Config),
    ) -> TestServer {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                std::env::var("HEARTH_TEST_LOG").unwrap_or_else(|_| "hearth=warn".into()),
            )
            .try_init();
        let backend = if shared_pg.is_some() {
            Backend::Postgres
        } else {
            backend()
        };
        let suffix = unique_suffix();
        let data_dir = std::env::temp_dir().join(format!("hearth_it_{suffix}"));
        let mut config = hearth_testkit::config::test_config(data_dir.clone());
        config.database_max_connections = 4;
        let pg_database = match (backend, shared_pg) {
            (_, Some(name)) => {
                config.database_url = Some(db::pg_url(name));
                None
            }
            (Backend::Sqlite, None) => None,
            (Backend::Postgres, None) => {
                let name = format!("hearth_test_{suffix}");
                create_pg_database(&name).await;
                config.database_url = Some(db::pg_url(&name));
                Some(name)
            }
        };
        let s3 = match blobs {
            Blobs::Local => None,
            Blobs::S3 => {
                let s3 = S3Server::start(&data_dir.join("s3"))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                s3.apply(&mut config);
                Some(s3)
            }
        };
        f(&mut config);
        let kept = config.clone();
        let app = match RunningApp::start(config).await {
            Ok(a) => a,
            Err(e) => {
                if let Some(db) = &pg_database {
                    drop_pg_database(db.clone());
                }
                panic!("App::build failed on {backend:?}: {e}");
            }
        };
        TestServer {
            addr: app.addr,
            federation_addr: app.federation_addr,
            metrics_addr: app.metrics_addr,
            base: app.api_base(),
            hearth: app.hearth.clone(),
            gateway: app.gateway.clone(),
            fed: app.fed.clone(),
            registrar: app.registrar.clone(),
            backend,
            blobs,
            s3,
            data_dir,
            pg_database,
            app: Some(app),
            config: kept,
            http: hearth_testkit::rest::http_client(),
        }
    }

    /// Stops the server gracefully (its data stays) and starts it again with the same
    /// configuration, database and federation address; the client API port may change.
    pub async fn restart(&mut self) {
        self.stop_keeping_data().await;
        self.start_again().await;
    }

    /// The configuration [`TestServer::another_node`] starts with (its own data directory,
    /// listeners on port 0, no node id), changed by `f`.
    pub fn another_node_config(&self, f: impl FnOnce(&mut Config)) -> Config {
        let suffix = unique_suffix();
        let mut config = self.config.clone();
        config.database_url = Some(self.config.database_url());
        config.data_dir = std::env::temp_dir().join(format!("hearth_it_{suffix}"));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.media.public_url = None;
        config.node.id = None;
        // Its own federation listener (the network's DNS names the first node's).
        config.federation.listen = config
            .federation
            .listen
            .map(|a| std::net::SocketAddr::new(a.ip(), 0));
        f(&mut config);
        config
    }

    /// Another node of this server (README "Scale-out"): its own process state, listener
    /// and data folder (so its own default node id), on the same database (the same
    /// PostgreSQL database, or the same SQLite file) and configuration, adjusted by `f`.
    /// Dropping it stops the node; the database stays with `self`.
    pub async fn another_node(&self, f: impl FnOnce(&mut Config)) -> TestServer {
        let config = self.another_node_config(f);
        let data_dir = config.data_dir.clone();
        let kept = config.clone();
        let app = RunningApp::start(config).await.expect("start another node");
        TestServer {
            addr: app.addr,
            federation_addr: app.federation_addr,
            metrics_addr: app.metrics_addr,
            base: app.api_base(),
            hearth: app.hearth.clone(),
            gateway: app.gateway.clone(),
            fed: app.fed.clone(),
            registrar: app.registrar.clone(),
            backend: self.backend,
            blobs: self.blobs,
            s3: None,
            data_dir,
            pg_database: None,
            app: Some(app),
            config: kept,
            http: hearth_testkit::rest::http_client(),
        }
    }

    /// Stops the server gracefully, keeping its data (see [`TestServer::start_again`]).
    pub async fn stop_keeping_data(&mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
    }

    /// Starts a graceful stop (its data stays) in the background: its gateway clients get
    /// op 7 while it runs; the handle ends with the stop.
    pub fn begin_stop(&mut self) -> tokio::task::JoinHandle<()> {
        let app = self.app.take().expect("a running server");
        tokio::spawn(app.stop())
    }

    /// Starts a stopped server again on its data.
    pub async fn start_again(&mut self) {
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().unwrap();
        let app = RunningApp::start(config).await.expect("restart");
        self.addr = app.addr;
        self.federation_addr = app.federation_addr;
        self.metrics_addr = app.metrics_addr;
        self.base = app.api_base();
        self.hearth = app.hearth.clone();
        self.gateway = app.gateway.clone();
        self.fed = app.fed.clone();
        self.registrar = app.registrar.clone();
        self.app = Some(app);
    }

    /// Whether the blob store holds `key` (asked through the store itself, S3 or disk).
    pub async fn blob_exists(&self, key: &str) -> bool {
        let key = hearth::service::ports::BlobKey::new(key).expect("blob key");
        self.hearth
            .blobs
            .get(&key)
            .await
            .expect("blob store")
            .is_some()
    }

    /// `base + path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An unauthenticated client.
    pub fn anon(&self) -> Client {
        Client::new(self.http.clone(), &self.base)
    }

    /// A client sending `Authorization: Bearer <token>`.
    pub fn client(&self, token: &str) -> Client {
        self.anon().bearer(token)
    }

    /// A client sending `Authorization: Bot <token>`.
    pub fn bot(&self, token: &str) -> Client {
        self.anon().bot(token)
    }

    /// Registers `username` (password [`password_of`]); returns the raw 201 body.
    pub async fn register_full(&self, username: &str) -> Value {
        build::register_body(&self.anon(), username)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
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

    /// An instance administrator `username` (password [`password_of`]), created the way
    /// `hearth admin create-user NAME --admin` does (no account becomes one by registering);
    /// returns `(user_id, client)` of a fresh login.
    pub async fn admin(&self, username: &str) -> (String, Client) {
        let u = self
            .hearth
            .create_user(Some(username), Some(&password_of(username)), None, true)
            .await
            .unwrap_or_else(|e| panic!("create admin {username}: {e:?}"));
        let tok = build::login(&self.anon(), username)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (u.id.to_string(), self.client(&tok))
    }

    /// Makes the (registered) user of `client` the instance administrator with the first
    /// start's setup token, as an operator would (`POST /admin/setup`; README "First start").
    ///
    /// # Panics
    /// When the server already has an administrator or the claim fails.
    pub async fn make_first_admin(&self, client: &Client) {
        let token = self
            .hearth
            .setup_token_if_no_admin()
            .await
            .expect("setup token")
            .expect("no administrator yet");
        let r = client.post("/admin/setup", json!({ "token": token })).await;
        assert_eq!(r.status, 204, "POST /admin/setup: {r:?}");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.app.take());
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(db) = self.pg_database.take() {
            drop_pg_database(db);
        }
    }
}

/// Creates PostgreSQL database `name`.
///
/// # Panics
/// When PostgreSQL at 127.0.0.1:5432 is unreachable or refuses.
pub async fn create_pg_database(name: &str) {
    db::create_pg_database(name)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {PG_ADMIN_URL} is needed here: {e}"));
}

/// Drops a test database (from `Drop` too; see [`db::drop_pg_database`]).
pub fn drop_pg_database(name: String) {
    db::drop_pg_database(name);
}

// ---------------------------------------------------------------------------------------
// Small helpers

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

/// `owner` creates a guild named `name`; returns its id, default channel and an unlimited invite.
pub async fn create_guild(owner: &Client, name: &str) -> Guild {
    build::create_guild(owner, name)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `c` joins with `code`, asserting success.
pub async fn join(c: &Client, code: &str) {
    build::join(c, code).await.unwrap_or_else(|e| panic!("{e}"))
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
    // A second App over the same database applies nothing new and starts cleanly (as
    // another node: the first one still runs under its node id).
    let srv = TestServer::start().await;
    let (_, c) = srv.user("before_restart").await;
    assert_eq!(c.get("/users/@me").await.status, 200);
    let mut config = srv.hearth.config.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.node.id = Some(format!("{}-second", srv.hearth.node.id));
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

#[tokio::test]
async fn kit_builders_make_what_they_say() {
    // The test kit's builders (shared with the bench) through the real API.
    let srv = TestServer::start().await;
    let owner = build::register(&srv.anon(), "kit_owner").await.unwrap();
    let me = owner.client.get("/users/@me").await;
    assert_eq!(me.body["id"], owner.id.as_str());
    let (g, members) = build::guild_with_members(&owner.client, "kit guild", "kit_m", 3)
        .await
        .unwrap();
    let names: Vec<String> = (0..3).map(|i| format!("kit_m{i}")).collect();
    assert_eq!(members.len(), 3);
    let listed = owner
        .client
        .get(&format!("/guilds/{}/members?limit=10", g.id))
        .await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let mut got: Vec<String> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["user"]["username"]))
        .filter(|n| n != "kit_owner")
        .collect();
    got.sort();
    assert_eq!(got, names);
    for m in &members {
        let r = m
            .client
            .get(&format!("/channels/{}/messages", g.general))
            .await;
        assert_eq!(r.status, 200, "a member reads the general channel: {r:?}");
    }
    let bot = build::bot_application(&owner.client, "Kit Bot", 0, Some(&g.id))
        .await
        .unwrap();
    let me = bot.client.get("/users/@me").await;
    assert_eq!(
        (me.body["bot"].as_bool(), s(&me.body["id"])),
        (Some(true), bot.user_id.clone())
    );
    let member = owner
        .client
        .get(&format!("/guilds/{}/members/{}", g.id, bot.user_id))
        .await;
    assert_eq!(member.status, 200, "the bot joined the guild: {member:?}");
    // A failed step is reported, not hidden: the name is taken.
    let e = build::register(&srv.anon(), "kit_owner")
        .await
        .err()
        .unwrap();
    assert!(e.contains("register kit_owner"), "{e}");
}
