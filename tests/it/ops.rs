//! Operating a server (issue 19): configuration that refuses mistakes and a safe first start,
//! checked by running the `hearth` binary as an operator would, with bad input, and reading
//! its messages and exit codes.
//!
//! - Configuration: unknown keys (file) and unknown `HEARTH_*` variables are errors with the
//!   closest valid name; an unsupported `database_url` scheme, an unusable `data_dir` and an
//!   unreachable PostgreSQL are errors naming the setting and the path or host;
//!   `hearth config check` (0/1) and `hearth config show` (secrets masked, sources named).
//! - First start: registering makes no administrator; the log shows a one-time setup token
//!   that makes one once; `hearth admin create-user --admin` works on a running server's
//!   database (both backends).
//! - The admin CLI beside a running server: users listed, shown, suspended, promoted (never
//!   the last administrator demoted); sessions listed and revoked (the server refuses the
//!   token at once); guilds listed and shown; errors as sentences.
//! - Backups: `hearth admin backup` while serving, `hearth admin restore` into a fresh data
//!   directory or database; messages, files and keys come back, later writes do not.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::AsyncBufReadExt;

use crate::harness::*;

/// Output of one run of the binary.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A `hearth` command with no `HEARTH_*` variable inherited from the test's environment.
fn hearth_cmd() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HEARTH_") {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// Runs `hearth ARGS` with `env` to completion.
pub(crate) async fn hearth(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = hearth_cmd();
    cmd.args(args).env("HEARTH_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run hearth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh temporary folder, removed on drop.
struct Tmp(PathBuf);

impl Tmp {
    fn new() -> Tmp {
        let p = std::env::temp_dir().join(format!("hearth_it_ops_{}", unique_suffix()));
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[track_caller]
fn assert_fails_with(r: &Run, code: i32, needles: &[&str]) {
    assert_eq!(r.code, code, "{r:?}");
    for n in needles {
        assert!(r.stderr.contains(n), "stderr lacks {n:?}: {r:?}");
    }
}

#[tokio::test]
async fn unknown_keys_in_the_file_are_errors_naming_the_closest_setting() {
    let t = Tmp::new();
    let data = t.path("data");
    let f = t.file(
        "hearth.toml",
        &format!(
            "server_nme = \"chat.example\"\ndata_dir = \"{data}\"\n[limits]\nmax_mesage_length = 500\n[rate_limit]\nglobal_per_second = 5\n"
        ),
    );
    let f = f.to_str().unwrap();
    let check = hearth(&["--config", f, "config", "check"], &[]).await;
    assert_fails_with(
        &check,
        1,
        &[
            "unknown setting `server_nme`",
            "did you mean `server_name`?",
            "unknown setting `limits.max_mesage_length`",
            "did you mean `limits.max_message_length`?",
            "unknown setting `rate_limit`",
            "did you mean `rate_limits`?",
            f,
        ],
    );
    // Every command refuses to run on it (the server does not start).
    let serve = hearth(&["--config", f, "serve"], &[]).await;
    assert_fails_with(&serve, 2, &["did you mean `server_name`?"]);
    assert!(!Path::new(&data).exists(), "nothing was created");
}

#[tokio::test]
async fn unknown_hearth_variables_are_errors_naming_the_closest_variable() {
    let r = hearth(
        &["config", "check"],
        &[
            ("HEARTH_PUBLIC_GATEWAY_URL", "wss://chat.example/gateway"),
            ("HEARTH_REGISTRATON", "closed"),
        ],
    )
    .await;
    assert_fails_with(
        &r,
        1,
        &[
            "unknown environment variable HEARTH_PUBLIC_GATEWAY_URL",
            "did you mean HEARTH_GATEWAY__PUBLIC_URL (setting `gateway.public_url`)?",
            "unknown environment variable HEARTH_REGISTRATON",
            "did you mean HEARTH_REGISTRATION",
        ],
    );
    let serve = hearth(&["serve"], &[("HEARTH_REGISTRATON", "closed")]).await;
    assert_fails_with(&serve, 2, &["HEARTH_REGISTRATON"]);
    // Variables of other programs and of the binary itself are not settings, and a value of
    // the wrong type names the variable.
    let t = Tmp::new();
    let data = t.path("data");
    let ok = hearth(
        &["config", "check"],
        &[
            ("HEARTH_DATA_DIR", &data),
            ("HEARTH_REGISTRAR_LISTEN", "0.0.0.0:8090"),
            ("HEARTH_TEST_DATABASE", "sqlite"),
            ("HEARTH_NEW_PASSWORD", "whatever"),
        ],
    )
    .await;
    assert_eq!(ok.code, 0, "{ok:?}");
    let bad = hearth(
        &["config", "check"],
        &[("HEARTH_MAIL__SMTP_PORT", "not-a-port")],
    )
    .await;
    assert_fails_with(
        &bad,
        1,
        &["mail.smtp_port", "HEARTH_MAIL__SMTP_PORT", "not-a-port"],
    );
}

#[tokio::test]
async fn a_mysql_database_url_is_refused_not_taken_for_a_sqlite_path() {
    let t = Tmp::new();
    let data = t.path("data");
    let env = [
        ("HEARTH_DATA_DIR", data.as_str()),
        (
            "HEARTH_DATABASE_URL",
            "mysql://hearth:s3cret@db.example:3306/hearth",
        ),
    ];
    for (args, code) in [(&["config", "check"][..], 1), (&["serve"][..], 2)] {
        let r = hearth(args, &env).await;
        assert_fails_with(
            &r,
            code,
            &[
                "database_url = mysql://hearth:***@db.example:3306/hearth",
                "unsupported scheme `mysql`",
            ],
        );
        assert!(!r.stderr.contains("s3cret"), "password shown: {r:?}");
    }
    assert!(!Path::new(&data).join("hearth.db").exists());
}

#[tokio::test]
async fn an_unusable_data_dir_is_an_error_naming_the_path() {
    let t = Tmp::new();
    // A data directory below a regular file cannot be made, whoever runs the server.
    t.file("a-file", "not a folder");
    let below_file = t.path("a-file/data");
    for (args, code) in [(&["config", "check"][..], 1), (&["serve"][..], 2)] {
        let r = hearth(args, &[("HEARTH_DATA_DIR", &below_file)]).await;
        assert_fails_with(&r, code, &["data_dir", &t.path("a-file")]);
    }
    let file_itself = t.path("a-file");
    let r = hearth(&["migrate"], &[("HEARTH_DATA_DIR", &file_itself)]).await;
    assert_fails_with(&r, 2, &["data_dir", &file_itself, "is not a directory"]);
    // A read-only directory (only meaningful when not running as root, which writes anyway).
    let ro = t.0.join("read-only");
    std::fs::create_dir(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(ro.join("probe"), b"x").is_err() {
        let ro_s = ro.display().to_string();
        let r = hearth(&["serve"], &[("HEARTH_DATA_DIR", &ro_s)]).await;
        assert_fails_with(&r, 2, &["data_dir", &ro_s, "not writable"]);
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn an_unreachable_postgresql_is_named_by_host_and_port() {
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://hearth:pw@127.0.0.1:1/hearth";
    let started = std::time::Instant::now();
    for (args, code) in [(&["config", "check"][..], 1), (&["migrate"][..], 1)] {
        let r = hearth(args, &[("HEARTH_DATABASE_URL", url)]).await;
        assert_fails_with(
            &r,
            code,
            &[
                "cannot reach PostgreSQL at 127.0.0.1:1",
                "postgres://hearth:***@127.0.0.1:1/hearth",
            ],
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "a refused connection fails at once, not after the pool's timeout"
    );
}

#[tokio::test]
async fn config_check_passes_a_good_file_and_warns_about_open_registration_on_every_address() {
    let t = Tmp::new();
    let data = t.path("data");
    let good = t.file(
        "good.toml",
        &format!("server_name = \"chat.example\"\ndata_dir = \"{data}\"\nregistration = \"invite_only\"\n[limits]\nmax_message_length = 4000\n"),
    );
    let r = hearth(
        &["--config", good.to_str().unwrap(), "config", "check"],
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("configuration OK"), "{r:?}");
    assert!(!r.stderr.contains("warning"), "{r:?}");
    let risky = t.file(
        "risky.toml",
        &format!("listen = \"0.0.0.0:8080\"\ndata_dir = \"{data}\"\n"),
    );
    let r = hearth(
        &["--config", risky.to_str().unwrap(), "config", "check"],
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("listen = 0.0.0.0:8080") && r.stderr.contains("registration = open"),
        "{r:?}"
    );
    assert!(r.stderr.contains("gateway.public_url"), "{r:?}");
    // A value of the wrong type names the setting and the file.
    let typed = t.file("typed.toml", "listen = 8080\n");
    let r = hearth(
        &["--config", typed.to_str().unwrap(), "config", "check"],
        &[],
    )
    .await;
    assert_fails_with(&r, 1, &["`listen`", "typed.toml"]);
}

#[tokio::test]
async fn config_show_masks_secrets_and_names_each_source() {
    let t = Tmp::new();
    let f = t.file(
        "hearth.toml",
        "server_name = \"chat.example\"\n[mail]\nsmtp_host = \"smtp.example\"\npassword = \"hunter2-mail\"\n",
    );
    let r = hearth(
        &["--config", f.to_str().unwrap(), "config", "show"],
        &[
            ("HEARTH_MEDIA__S3__SECRET_ACCESS_KEY", "s3-secret-value"),
            (
                "HEARTH_DATABASE_URL",
                "postgres://hearth:pg-password@db:5432/hearth",
            ),
            ("HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND", "77"),
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    for secret in ["hunter2-mail", "s3-secret-value", "pg-password"] {
        assert!(!r.stdout.contains(secret), "{secret} shown: {r:?}");
    }
    for line in [
        "server_name = \"chat.example\"  # file",
        "mail.smtp_host = \"smtp.example\"  # file",
        "mail.password = \"***\"  # file",
        "media.s3.secret_access_key = \"***\"  # env",
        "database_url = \"postgres://hearth:***@db:5432/hearth\"  # env",
        "rate_limits.global_per_second = 77  # env",
        "listen = \"127.0.0.1:8080\"  # default",
        "limits.max_message_length = 2000  # default",
        "gateway.public_url = (unset)  # default",
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "no line {line:?}: {r:?}"
        );
    }
}

/// A `hearth serve` process with its log collected.
struct Served {
    proc: tokio::process::Child,
    log: Arc<Mutex<String>>,
    base: String,
    env: Vec<(String, String)>,
    _tmp: Tmp,
    pg: Option<String>,
}

impl Served {
    /// `hearth serve` on a fresh data directory (and a fresh PostgreSQL database with
    /// `HEARTH_TEST_DATABASE=postgres`); waits for `/ready`.
    async fn start() -> Served {
        Served::start_restoring(None).await
    }

    /// [`Served::start`], first restoring the backup in `backup` (if any) into the fresh
    /// data directory or database with `hearth admin restore`.
    async fn start_restoring(backup: Option<&Path>) -> Served {
        let tmp = Tmp::new();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut hashing = hearth::config::PasswordHashing::default();
        hearth_testkit::config::cheap_hashing(&mut hashing);
        let mut env = vec![
            ("HEARTH_LISTEN".to_string(), format!("127.0.0.1:{port}")),
            ("HEARTH_DATA_DIR".to_string(), tmp.path("data")),
            (
                "HEARTH_FEDERATION__ENABLED".to_string(),
                "false".to_string(),
            ),
        ];
        env.extend(hearth_testkit::config::env_vars(
            "HEARTH_PASSWORD_HASHING",
            &hashing,
        ));
        let pg = match backend() {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("hearth_test_{}", unique_suffix());
                create_pg_database(&name).await;
                env.push((
                    "HEARTH_DATABASE_URL".to_string(),
                    hearth_testkit::db::pg_url(&name),
                ));
                Some(name)
            }
        };
        if let Some(dir) = backup {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = hearth(&["admin", "restore", &dir.display().to_string()], &env).await;
            assert_eq!(r.code, 0, "restore: {r:?}");
            assert!(r.stdout.contains("restored"), "{r:?}");
        }
        let mut cmd = hearth_cmd();
        cmd.arg("serve")
            .env("HEARTH_LOG", "warn")
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut proc = cmd.spawn().expect("spawn hearth");
        let log = Arc::new(Mutex::new(String::new()));
        let mut lines = tokio::io::BufReader::new(proc.stderr.take().unwrap()).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&l);
                s.push('\n');
            }
        });
        let http = hearth_testkit::rest::http_client();
        let ready = format!("http://127.0.0.1:{port}/ready");
        eventually("the hearth binary answers /ready", async || {
            if let Ok(Some(st)) = proc.try_wait() {
                panic!("hearth exited: {st}\n{}", log.lock().unwrap());
            }
            matches!(http.get(&ready).send().await, Ok(r) if r.status().is_success())
        })
        .await;
        Served {
            proc,
            log,
            base: format!("http://127.0.0.1:{port}/api/v10"),
            env,
            _tmp: tmp,
            pg,
        }
    }

    fn anon(&self) -> Client {
        Client::new(hearth_testkit::rest::http_client(), &self.base)
    }

    /// The setup token printed in the log (waits for the line).
    async fn setup_token(&self) -> String {
        eventually("the setup token in the log", async || {
            let log = self.log.lock().unwrap();
            log.lines()
                .find(|l| l.contains("no instance administrator yet"))
                .and_then(|l| l.split("valid 24 h): ").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
        })
        .await
    }

    /// `hearth admin create-user NAME --admin` (password [`password_of`]), asserting exit 0.
    async fn create_admin(&self, name: &str) -> Run {
        let password = password_of(name);
        let r = self
            .cli(&[
                "admin",
                "create-user",
                name,
                "--admin",
                "--password",
                &password,
            ])
            .await;
        assert_eq!(r.code, 0, "{r:?}");
        r
    }

    /// `hearth ARGS` on this server's database (same environment).
    async fn cli(&self, args: &[&str]) -> Run {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .filter(|(k, _)| k != "HEARTH_LISTEN")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        hearth(args, &env).await
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.proc.start_kill();
        if let Some(db) = self.pg.take() {
            drop_pg_database(db);
        }
    }
}

async fn register(anon: &Client, name: &str) -> Client {
    let r = anon
        .post(
            "/auth/register",
            json!({"username": name, "password": password_of(name)}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    anon.clone().bearer(&s(&r.body["token"]))
}

#[tokio::test]
async fn first_start_prints_a_single_use_setup_token_and_registering_makes_no_admin() {
    let srv = Served::start().await;
    let token = srv.setup_token().await;
    assert!(token.len() >= 40, "a 256-bit token: {token}");
    let anon = srv.anon();
    // The first account to register is an ordinary one.
    let alice = register(&anon, "alice").await;
    assert_err(&alice.get("/admin/users").await, 403, 50013);
    // The token makes her the administrator, once.
    let r = alice.post("/admin/setup", json!({ "token": token })).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(alice.get("/admin/users").await.status, 200);
    let bob = register(&anon, "bob").await;
    assert_field_error(
        &bob.post("/admin/setup", json!({ "token": token })).await,
        "token",
    );
    assert_err(&bob.get("/admin/users").await, 403, 50013);
    // Only the token's hash is stored: the log line is the one place it exists.
    assert!(
        srv.log
            .lock()
            .unwrap()
            .contains("is an instance administrator now")
    );
}

#[tokio::test]
async fn admin_create_user_makes_an_admin_on_a_running_servers_database() {
    let srv = Served::start().await;
    srv.setup_token().await;
    let r = srv.create_admin("carol").await;
    assert!(
        r.stdout.contains("created user carol") && r.stdout.contains("[admin]"),
        "{r:?}"
    );
    // The running server knows her at once (same database) and she administers it.
    let anon = srv.anon();
    let carol = login(&anon, "carol").await;
    let users = carol.get("/admin/users").await;
    assert_eq!(users.status, 200, "{users:?}");
    assert_eq!(users.body[0]["admin"], true);
    // The setup token printed at start died with the first administrator.
    let token = srv.setup_token().await;
    let dave = register(&anon, "dave").await;
    assert_field_error(
        &dave.post("/admin/setup", json!({ "token": token })).await,
        "token",
    );
    // Errors are sentences, not raw JSON.
    let r = srv
        .cli(&[
            "admin",
            "create-user",
            "carol",
            "--password",
            &password_of("carol"),
        ])
        .await;
    assert_ne!(r.code, 0, "{r:?}");
}

/// `hearth ARGS --json` on `srv`'s database, asserting exit 0; the parsed output.
async fn cli_json(srv: &Served, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let r = srv.cli(&all).await;
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

/// Logs `name` in (password [`password_of`]); the client with the new session's token.
async fn login(anon: &Client, name: &str) -> Client {
    let token = hearth_testkit::build::login(anon, name)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    anon.clone().bearer(&token)
}

#[tokio::test]
async fn the_admin_cli_manages_users_sessions_and_guilds_of_a_running_server() {
    let srv = Served::start().await;
    let anon = srv.anon();
    srv.create_admin("carol").await;
    let bob = register(&anon, "bob").await;
    let me = bob.get("/users/@me").await;
    let bob_id = s(&me.body["id"]);
    let guild = create_guild(&bob, "bobs place").await;

    // Users: listed with their flags, shown by name or id, as JSON and as text.
    let users = cli_json(&srv, &["admin", "users", "list"]).await;
    let by_name = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed: {users}"))
    };
    assert_eq!(by_name("carol")["admin"], true);
    assert_eq!(by_name("bob")["admin"], false);
    assert_eq!(by_name("bob")["guilds"], 1);
    let shown = cli_json(&srv, &["admin", "users", "show", &bob_id]).await;
    assert_eq!(shown["username"], "bob");
    let text = srv.cli(&["admin", "users", "show", "BOB"]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout.contains("username: bob") && text.stdout.contains("suspended: false"),
        "{text:?}"
    );

    // Guilds: listed with owner and counts, shown with channels.
    let guilds = cli_json(&srv, &["admin", "guilds", "list"]).await;
    assert_eq!(guilds[0]["id"], guild.id.as_str(), "{guilds}");
    assert_eq!(guilds[0]["owner"], "bob");
    assert_eq!(guilds[0]["members"], 1);
    let g = cli_json(&srv, &["admin", "guilds", "show", &guild.id]).await;
    assert!(
        g["channel_list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == guild.general.as_str()),
        "{g}"
    );

    // Sessions: listed, and revoked from the CLI: the running server refuses the token.
    let sessions = cli_json(&srv, &["admin", "sessions", "list", "bob"]).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let revoked = cli_json(&srv, &["admin", "sessions", "revoke", "bob"]).await;
    assert_eq!(revoked["revoked"], 1);
    assert_eq!(bob.get("/users/@me").await.status, 401);
    let bob = login(&anon, "bob").await;
    let r = srv
        .cli(&["admin", "sessions", "revoke", "bob", "--session", "12345"])
        .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("session: This user has no session with that id."),
        "{r:?}"
    );

    // Suspension: the session dies and login is refused until unsuspended.
    let r = srv.cli(&["admin", "users", "suspend", "bob"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("suspended"), "{r:?}");
    assert_ne!(bob.get("/users/@me").await.status, 200);
    let refused = anon
        .post(
            "/auth/login",
            json!({"login": "bob", "password": password_of("bob")}),
        )
        .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(
        cli_json(&srv, &["admin", "users", "unsuspend", "bob"]).await["suspended"],
        false
    );
    let bob = login(&anon, "bob").await;
    assert_eq!(bob.get("/users/@me").await.status, 200);

    // Administration: the last administrator stays; a second one may take over.
    let r = srv.cli(&["admin", "users", "remove-admin", "carol"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("only instance administrator"), "{r:?}");
    assert!(!r.stderr.contains('{'), "a sentence, not JSON: {r:?}");
    assert_eq!(bob.get("/admin/users").await.status, 403);
    assert_eq!(
        cli_json(&srv, &["admin", "users", "make-admin", "bob"]).await["admin"],
        true
    );
    assert_eq!(bob.get("/admin/users").await.status, 200);
    assert_eq!(
        cli_json(&srv, &["admin", "users", "remove-admin", "carol"]).await["admin"],
        false
    );

    // Errors are sentences.
    let r = srv.cli(&["admin", "users", "show", "nobody"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("Unknown User") && !r.stderr.contains('{'),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_messages_files_and_keys_into_a_fresh_place() {
    let srv = Served::start().await;
    let anon = srv.anon();
    let alice = register(&anon, "alice").await;
    let guild = create_guild(&alice, "archive").await;
    say(&alice, &guild.general, "remember this").await;
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let up = crate::attachments::upload(
        &alice,
        &guild.general,
        crate::attachments::form(
            Some(json!({"content": "with a file"})),
            &[("notes.bin", &bytes)],
        ),
    )
    .await;
    assert_eq!(up.status, 200, "{up:?}");
    let keys_before = srv.cli(&["keys", "list"]).await;
    assert_eq!(keys_before.code, 0, "{keys_before:?}");

    let out = Tmp::new();
    let dir = out.0.join("backup");
    let r = srv
        .cli(&["admin", "backup", &dir.display().to_string()])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("1 media files"), "{r:?}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], 1);
    // A backup never lands on top of another one.
    let again = srv
        .cli(&["admin", "backup", &dir.display().to_string()])
        .await;
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("is not empty"), "{again:?}");
    // Nor does a restore land on a database in use.
    let r = srv
        .cli(&["admin", "restore", &dir.display().to_string()])
        .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("exists") || r.stderr.contains("tables"),
        "{r:?}"
    );

    // Written after the backup: not in the restored server.
    say(&alice, &guild.general, "after the backup").await;

    let restored = Served::start_restoring(Some(&dir)).await;
    let alice = login(&restored.anon(), "alice").await;
    let msgs = alice
        .get(&format!("/channels/{}/messages", guild.general))
        .await;
    assert_eq!(msgs.status, 200, "{msgs:?}");
    let contents: Vec<&str> = msgs
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(contents.contains(&"remember this"), "{contents:?}");
    assert!(!contents.contains(&"after the backup"), "{contents:?}");
    let with_file = msgs
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "with a file")
        .expect("the message with the file");
    let url = s(&with_file["attachments"][0]["url"]);
    let got = hearth_testkit::rest::http_client()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200, "{url}");
    assert_eq!(
        got.bytes().await.unwrap().to_vec(),
        bytes,
        "the file's bytes"
    );
    // The same signing keys (federation identity) and a server that knows it has an owner.
    let keys_after = restored.cli(&["keys", "list"]).await;
    let ids = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("ed25519:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!ids(&keys_before.stdout).is_empty(), "{keys_before:?}");
    assert_eq!(ids(&keys_after.stdout), ids(&keys_before.stdout));
}

#[tokio::test]
async fn hearth_log_format_json_writes_one_json_object_per_line() {
    let tmp = Tmp::new();
    let data = tmp.path("data");
    let mut cmd = hearth_cmd();
    cmd.arg("serve")
        .env("HEARTH_DATA_DIR", &data)
        .env("HEARTH_LISTEN", "127.0.0.1:0")
        .env("HEARTH_FEDERATION__ENABLED", "false")
        .env("HEARTH_LOG", "info")
        .env("HEARTH_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut proc = cmd.spawn().expect("spawn hearth");
    let mut lines = tokio::io::BufReader::new(proc.stderr.take().unwrap()).lines();
    // Every line up to the "listening" one is a JSON object with a level and a timestamp.
    let listening = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(l)) = lines.next_line().await {
            let v: serde_json::Value =
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
            if v["fields"]["message"] == "hearth listening" {
                return v;
            }
        }
        panic!("the log ended before `hearth listening`");
    })
    .await
    .expect("`hearth listening` within 60 s");
    assert_eq!(listening["level"], "INFO");
    assert!(listening["fields"]["addr"].is_string(), "{listening}");
    let _ = proc.start_kill();
    // Anything but json or text is refused, naming the variable.
    let r = hearth(
        &["migrate"],
        &[
            ("HEARTH_DATA_DIR", data.as_str()),
            ("HEARTH_LOG_FORMAT", "xml"),
        ],
    )
    .await;
    assert_fails_with(&r, 2, &["HEARTH_LOG_FORMAT", "json or text"]);
}

/// Every `HEARTH_*` variable set in `text` (a compose file's section) is a setting.
fn assert_settings(text: &str) {
    let vars: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .filter(|(k, _)| k.starts_with("HEARTH_"))
        .map(|(k, _)| (k.to_string(), String::new()))
        .collect();
    assert!(vars.len() >= 10, "{vars:?}");
    if let Err(e) = hearth::Config::load_from(None, vars) {
        let unknown: Vec<_> = e
            .problems
            .iter()
            .filter(|p| p.contains("unknown"))
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
    }
}

/// Every port a compose file publishes is on loopback and comes from a variable.
fn assert_published_ports(text: &str) {
    for l in text
        .lines()
        .filter(|l| l.trim_start().starts_with("- \"127.0.0.1:"))
    {
        assert!(l.contains("${"), "a published port without a variable: {l}");
    }
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("- \"0.0.0.0:")
                || l.trim_start().starts_with("- \"8080")),
        "a port published on every address"
    );
}

/// docker-compose.yml (no Docker engine here, so checked as text): every `HEARTH_*` variable
/// the homeserver service sets is a setting, Redis (unused) is gone, published ports come
/// from variables, and the registrar logs through `HEARTH_REGISTRAR_LOG`, as the homeserver
/// through `HEARTH_LOG`.
#[test]
fn docker_compose_sets_only_documented_variables_and_ports() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    let hearth = &text[text.find("\n  hearth:\n").expect("hearth service")
        ..text.find("\n  registrar:\n").expect("registrar service")];
    assert_settings(hearth);
    assert!(!text.to_lowercase().contains("redis"));
    assert!(!text.contains("RUST_LOG"));
    assert!(text.contains("HEARTH_REGISTRAR_LOG:") && hearth.contains("HEARTH_LOG:"));
    assert_published_ports(&text);
}

/// docker-compose.cluster.yml (three nodes behind Caddy; run for real, without Docker, by
/// scripts/cluster_smoke.py): every `HEARTH_*` variable is a setting, the three nodes share
/// the Redis of the file and have distinct ids, the proxy health-checks `/ready` and its
/// address is the nodes' trusted proxy, and only the proxy publishes a port.
#[test]
fn docker_compose_cluster_sets_only_documented_variables_and_ports() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docker-compose.cluster.yml"
    ))
    .unwrap();
    assert_settings(&text);
    for n in 1..=3 {
        assert!(
            text.contains(&format!("HEARTH_NODE__ID: hearth-{n}\n")),
            "node {n}"
        );
        assert!(
            text.contains(&format!("hearth-{n}:8080")),
            "node {n} behind the proxy"
        );
    }
    assert!(text.contains("HEARTH_CLUSTER__REDIS_URL: redis://redis:6379/0"));
    assert!(text.contains("health_uri /ready"));
    assert!(text.contains("HEARTH_TRUSTED_PROXIES: '[\"172.30.0.10\"]'"));
    assert!(text.contains("ipv4_address: 172.30.0.10"));
    assert_eq!(
        text.matches("ports:").count(),
        1,
        "only the proxy publishes a port"
    );
    assert_published_ports(&text);
}
