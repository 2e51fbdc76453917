//! The `hearth` binary: serve (default), migrate, and operator commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hearth::{App, Config};

#[derive(Parser)]
#[command(name = "hearth", version, about = "Hearth: a federated, Discord-compatible community-chat homeserver", after_help = hearth::config::HELP)]
struct Cli {
    /// TOML configuration file (see README "Configuration").
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check or print the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// This server's federation signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Clone, Copy)]
enum ConfigCommand {
    /// Validate the configuration (file, HEARTH_* variables, data_dir, database reachability):
    /// exit 0 with warnings if any, or 1 with every problem found.
    Check,
    /// Print the effective configuration: every setting, its value (secrets masked) and its
    /// source (default, file, env).
    Show,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List every key with its state (current, old, revoked).
    List,
    /// Make a new current key; the previous one stays published as an old key, so what it
    /// signed before stays verifiable.
    Rotate,
    /// Revoke a key (e.g. `ed25519:AbCdEfGh`): nothing it signed is accepted any more. A new
    /// current key is made if it was the current one.
    Revoke { key_id: String },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user (optionally an instance admin).
    CreateUser {
        username: String,
        /// Password (at least 8 characters, not the username).
        #[arg(long, env = "HEARTH_NEW_PASSWORD")]
        password: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password and revoke all of their sessions.
    ResetPassword {
        username: String,
        #[arg(long, env = "HEARTH_NEW_PASSWORD")]
        password: String,
    },
    /// Accounts: list, show, suspend, unsuspend, make-admin, remove-admin. USER is a
    /// username, an email or an id.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Login sessions of a user: list, revoke (their gateway connections close at once).
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Guilds on this server (hosted here or replicated): list, show, delete, transfer.
    Guilds {
        #[command(subcommand)]
        command: GuildsCommand,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Invites: list (all, or of one guild), revoke.
    Invites {
        #[command(subcommand)]
        command: InvitesCommand,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Federation: member servers and their delivery backlog; blocking a server.
    Federation {
        #[command(subcommand)]
        command: FederationCommand,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The registrar link's state as the running server last recorded it.
    Registrar {
        #[command(subcommand)]
        command: RegistrarCommand,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Back up the database (a consistent snapshot, safe while the server runs; pg_dump on
    /// PostgreSQL) and the local file store into DIR, which must be new or empty.
    Backup { dir: PathBuf },
    /// Restore a backup made by `hearth admin backup` into this configuration's (fresh,
    /// empty) database and data directory, with the server stopped; then migrate.
    Restore { dir: PathBuf },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Every account, by id (local, remote and bot users).
    List {
        /// Only ids above this one (the last id of the previous page).
        #[arg(long)]
        after: Option<u64>,
        /// At most this many (1-1000).
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One account in detail.
    Show { user: String },
    /// Suspend: the user cannot log in and every session is closed.
    Suspend { user: String },
    /// Lift a suspension.
    Unsuspend { user: String },
    /// Make the user an instance administrator.
    MakeAdmin { user: String },
    /// Take instance administration away (never from the last administrator).
    RemoveAdmin { user: String },
    /// Delete a local account as the user could (shown as "Deleted User"; sessions, keys
    /// and bot tokens revoked). Refused while the user owns guilds.
    Delete {
        user: String,
        /// Also remove the user's messages (in the background).
        #[arg(long)]
        delete_messages: bool,
    },
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// The user's login sessions.
    List { user: String },
    /// Revoke one session (`--session ID`) or all of the user's sessions.
    Revoke {
        user: String,
        #[arg(long)]
        session: Option<i64>,
    },
}

#[derive(Subcommand)]
enum GuildsCommand {
    /// Every guild, by id.
    List {
        #[arg(long)]
        after: Option<u64>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One guild with its channels and roles.
    Show { guild_id: u64 },
    /// Delete a guild hosted here (members and member servers are told).
    Delete { guild_id: u64 },
    /// Make a member (USER: username, email or id) the owner of a guild hosted here.
    Transfer { guild_id: u64, user: String },
}

#[derive(Subcommand)]
enum InvitesCommand {
    /// Invites, oldest first (at most 1000).
    List {
        /// Only this guild's.
        #[arg(long)]
        guild: Option<u64>,
    },
    /// Delete an invite by its code.
    Revoke { code: String },
}

#[derive(Subcommand)]
enum FederationCommand {
    /// Member servers of guilds hosted here, with undelivered events and delivery lag.
    Peers,
    /// Blocked servers.
    Blocks,
    /// Block a server (`name`, `name:port` or `*.domain`): its requests are refused and
    /// nothing is sent to it, from the running server within a second.
    Block {
        server: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a block.
    Unblock { server: String },
}

#[derive(Subcommand, Clone, Copy)]
enum RegistrarCommand {
    /// The configured registrar and each link's last registration attempt.
    Status,
}

/// Every allocation of the process, Rust's and the C libraries' (SQLite, zlib, zstd, aws-lc),
/// goes through jemalloc: its background threads give freed pages back to the system
/// within about a second (`.cargo/config.toml`), so a reconnect storm's peak does not stay
/// resident as it did with glibc's malloc (BENCHMARKS.md "The allocator"; README "Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The log goes to stderr (stdout is the output of `config show`, `keys list`, ...),
    // coloured only on a terminal; `HEARTH_LOG_FORMAT=json` makes it one JSON object per line
    // (`timestamp`, `level`, `target`, `fields.message` and the event's fields).
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    let log = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match std::env::var("HEARTH_LOG_FORMAT").as_deref() {
        Ok("json") => log.json().init(),
        Ok("text") | Err(_) => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        Ok(other) => {
            eprintln!("configuration error: HEARTH_LOG_FORMAT = {other:?}: use json or text");
            return std::process::ExitCode::from(2);
        }
    }
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let loaded = Config::load_from(cli.config.as_deref(), std::env::vars());
    if let Command::Config { command } = command {
        return config_command(command, cli.config.as_deref(), loaded).await;
    }
    let config = match loaded.map(|l| l.config) {
        Ok(c) => c,
        Err(e) => {
            for p in &e.problems {
                eprintln!("configuration error: {p}");
            }
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = config.check_data_dir(true) {
        eprintln!("configuration error: {e}");
        return std::process::ExitCode::from(2);
    }
    if matches!(command, Command::Serve) {
        for w in config.warnings() {
            tracing::warn!("{w}");
        }
    }
    match run(command, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                hearth::Error::Internal(d) | hearth::Error::Unavailable(d) => {
                    eprintln!("error: {d}")
                }
                other => eprintln!("error: {}", other.sentences()),
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// `hearth config check|show`: exit 0, or 1 with every problem on stderr.
async fn config_command(
    command: ConfigCommand,
    file: Option<&std::path::Path>,
    loaded: Result<hearth::config::Loaded, hearth::config::ConfigError>,
) -> std::process::ExitCode {
    let fail = |problems: &[String]| {
        for p in problems {
            eprintln!("error: {p}");
        }
        std::process::ExitCode::FAILURE
    };
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => return fail(&e.problems),
    };
    let from = file.map_or("no file".to_string(), |f| format!("file {}", f.display()));
    match command {
        ConfigCommand::Show => {
            println!("# effective configuration ({from}, then HEARTH_* variables)");
            print!("{}", loaded.show());
            std::process::ExitCode::SUCCESS
        }
        ConfigCommand::Check => {
            let config = loaded.config;
            let mut problems = Vec::new();
            if let Err(e) = config.check_data_dir(false) {
                problems.push(e);
            }
            if config.database_url().starts_with("postgres") {
                match hearth::storage::Db::connect(&config).await {
                    Ok(db) => db.close().await,
                    Err(hearth::Error::Internal(e)) => problems.push(e),
                    Err(e) => problems.push(format!("{e:?}")),
                }
            }
            if !problems.is_empty() {
                return fail(&problems);
            }
            for w in config.warnings() {
                eprintln!("warning: {w}");
            }
            println!("configuration OK ({from})");
            std::process::ExitCode::SUCCESS
        }
    }
}

async fn run(cmd: Command, config: Config) -> hearth::Result<()> {
    match cmd {
        Command::Config { .. } => unreachable!("handled before"),
        Command::Serve => {
            let app = App::build(config).await?;
            tracing::info!(addr = %app.local_addr(), server_name = %app.hearth.config.server_name, "hearth listening");
            if let Some(token) = app.hearth.setup_token_if_no_admin().await? {
                // The web client's address: `account.public_url`, else `media.public_url`
                // (the bound address when neither is set).
                let c = &app.hearth.config;
                let base = c
                    .account
                    .public_url
                    .clone()
                    .or_else(|| c.media.public_url.clone())
                    .unwrap_or_else(|| format!("http://{}", app.local_addr()));
                let base = base.trim_end_matches('/');
                tracing::warn!(
                    "no instance administrator yet. One-time setup token (single use, valid 24 h): \
                     {token} . Open {base}/setup#{token} in a browser and create the first account \
                     there, or register it with the token (POST {base}/api/v10/auth/register \
                     with \"setup_token\": \"{token}\", any registration policy) or, logged in, \
                     POST {base}/api/v10/admin/setup {{\"token\": \"{token}\"}}; or run \
                     `hearth admin create-user NAME --admin` (README \"First start\"). Each start \
                     without an administrator prints a new token."
                );
            }
            app.serve(shutdown_signal()).await
        }
        Command::Migrate => {
            let db = hearth::storage::Db::connect(&config).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Keys { command } => {
            let db = hearth::storage::Db::connect(&config).await?;
            db.migrate().await?;
            let ring = hearth::s2s::Keyring::load(
                &config.server_name,
                db.clone(),
                config.federation.key_validity_ms,
            )
            .await?;
            match command {
                KeysCommand::List => {}
                KeysCommand::Rotate => {
                    let k = ring.rotate_beside_running_server().await?;
                    println!("new current key {}", k.key_id);
                }
                KeysCommand::Revoke { key_id } => match ring.revoke(&key_id).await? {
                    Some(k) => println!("revoked {}", k.key_id),
                    None => {
                        db.close().await;
                        return Err(hearth::Error::Internal(format!("no key {key_id}")));
                    }
                },
            }
            for k in ring.list() {
                println!(
                    "{}\t{}\t{}\tcreated {}{}{}",
                    k.key_id,
                    k.state(),
                    k.public_key,
                    k.created_at,
                    k.expired_at
                        .map(|t| format!(", expired {t}"))
                        .unwrap_or_default(),
                    k.revoked_at
                        .map(|t| format!(", revoked {t}"))
                        .unwrap_or_default(),
                );
            }
            println!("(a running server picks changes up within a second)");
            db.close().await;
            Ok(())
        }
        Command::Admin { command } => admin(command, config).await,
    }
}

/// `hearth admin ...` on the configured database, beside a running server or not
/// ([`App::operator`]); `restore` before anything opens the database.
async fn admin(command: AdminCommand, config: Config) -> hearth::Result<()> {
    if let AdminCommand::Restore { dir } = &command {
        let r = hearth::backup::restore(&config, dir).await?;
        println!(
            "restored {} ({} database, {} media files); start the server with `hearth serve`",
            r.dir.display(),
            r.database,
            r.media_files
        );
        return Ok(());
    }
    let hearth = App::operator(config).await?;
    let outcome = admin_command(&hearth, command).await;
    let told = hearth.finish().await;
    outcome.and(told)
}

/// One `hearth admin` command on the operator's service layer.
async fn admin_command(
    hearth: &hearth::app::Operator,
    command: AdminCommand,
) -> hearth::Result<()> {
    use hearth::service::operator::UserFlag;
    match command {
        AdminCommand::Restore { .. } => unreachable!("handled above"),
        AdminCommand::CreateUser {
            username,
            password,
            email,
            admin,
        } => {
            let u = hearth
                .create_user(Some(&username), Some(&password), email, admin)
                .await?;
            println!(
                "created user {} ({}){}",
                u.username,
                u.id,
                if u.admin { " [admin]" } else { "" }
            );
        }
        AdminCommand::ResetPassword { username, password } => {
            hearth.admin_reset_password(&username, &password).await?;
            println!("password reset; all sessions of {username} revoked");
        }
        AdminCommand::Users { command, json } => {
            let (user, flag) = match command {
                UsersCommand::List { after, limit } => {
                    let users = hearth
                        .operator_users(after.map(hearth::snowflake::Snowflake), limit)
                        .await?;
                    return print_rows(json, &users, user_line);
                }
                UsersCommand::Show { user } => {
                    let u = hearth.operator_user(&user).await?;
                    let v = hearth.operator_user_view(&u).await?;
                    return print_one(json, &v);
                }
                UsersCommand::Suspend { user } => (user, UserFlag::Suspend),
                UsersCommand::Unsuspend { user } => (user, UserFlag::Unsuspend),
                UsersCommand::MakeAdmin { user } => (user, UserFlag::MakeAdmin),
                UsersCommand::RemoveAdmin { user } => (user, UserFlag::RemoveAdmin),
                UsersCommand::Delete {
                    user,
                    delete_messages,
                } => {
                    let v = hearth.operator_delete_user(&user, delete_messages).await?;
                    if json {
                        return print_one(true, &v);
                    }
                    println!("deleted {user}: now {}", user_line(&v));
                    return Ok(());
                }
            };
            let v = hearth.operator_set_flag(&user, flag).await?;
            if json {
                return print_one(true, &v);
            }
            println!("{}", user_line(&v));
        }
        AdminCommand::Sessions { command, json } => match command {
            SessionsCommand::List { user } => {
                let sessions = hearth.operator_sessions(&user).await?;
                return print_rows(json, &sessions, |s| {
                    format!(
                        "{}\tcreated {}\tlast used {}\t{}\t{}",
                        text(&s["id"]),
                        text(&s["created_at"]),
                        text(&s["refreshed_at"]),
                        text(&s["ip"]),
                        text(&s["user_agent"])
                    )
                });
            }
            SessionsCommand::Revoke { user, session } => {
                let n = hearth.operator_revoke_sessions(&user, session).await?;
                if json {
                    println!("{}", serde_json::json!({ "revoked": n }));
                } else {
                    println!("revoked {n} session(s) of {user}");
                }
            }
        },
        AdminCommand::Guilds { command, json } => match command {
            GuildsCommand::List { after, limit } => {
                let guilds = hearth
                    .operator_guilds(after.map(hearth::snowflake::Snowflake), limit)
                    .await?;
                return print_rows(json, &guilds, guild_line);
            }
            GuildsCommand::Show { guild_id } => {
                let g = hearth
                    .operator_guild(hearth::snowflake::Snowflake(guild_id))
                    .await?;
                return print_one(json, &g);
            }
            GuildsCommand::Delete { guild_id } => {
                hearth
                    .operator_delete_guild(hearth::snowflake::Snowflake(guild_id))
                    .await?;
                done(json, &format!("deleted guild {guild_id}"));
            }
            GuildsCommand::Transfer { guild_id, user } => {
                let g = hearth
                    .operator_transfer_guild(hearth::snowflake::Snowflake(guild_id), &user)
                    .await?;
                if json {
                    return print_one(true, &g);
                }
                println!("{}", guild_line(&g));
            }
        },
        AdminCommand::Invites { command, json } => match command {
            InvitesCommand::List { guild } => {
                let invites = hearth
                    .operator_invites(guild.map(hearth::snowflake::Snowflake))
                    .await?;
                return print_rows(json, &invites, |i| {
                    format!(
                        "{}\tguild {}\tchannel {}\tby {}\t{} use(s) of {}\texpires {}",
                        text(&i["code"]),
                        text(&i["guild_id"]),
                        text(&i["channel_id"]),
                        text(&i["inviter"]),
                        text(&i["uses"]),
                        if i["max_uses"] == 0 {
                            "unlimited".into()
                        } else {
                            text(&i["max_uses"])
                        },
                        if i["expires_at"].is_null() {
                            "never".into()
                        } else {
                            text(&i["expires_at"])
                        },
                    )
                });
            }
            InvitesCommand::Revoke { code } => {
                hearth.operator_revoke_invite(&code).await?;
                done(json, &format!("revoked invite {code}"));
            }
        },
        AdminCommand::Federation { command, json } => match command {
            FederationCommand::Peers => {
                let peers = hearth.operator_peers().await?;
                return print_rows(json, &peers, |p| {
                    format!(
                        "{}\t{} guild(s)\t{} pending\tlag {} s\t{} failure(s){}{}",
                        text(&p["server"]),
                        text(&p["guilds"]),
                        text(&p["pending"]),
                        text(&p["lag_seconds"]),
                        text(&p["failures"]),
                        if p["dead"] == true {
                            format!("\tdead since {} (not pushed to)", text(&p["dead_since"]))
                        } else if p["failing_since"].is_string() {
                            format!("\tunanswered since {}", text(&p["failing_since"]))
                        } else {
                            String::new()
                        },
                        if p["blocked"] == true {
                            "\tblocked"
                        } else {
                            ""
                        },
                    )
                });
            }
            FederationCommand::Blocks => {
                let blocks = hearth.operator_blocks().await?;
                return print_rows(json, &blocks, |b| {
                    format!(
                        "{}\tsince {}\t{}",
                        text(&b["server"]),
                        text(&b["created_at"]),
                        text(&b["reason"])
                    )
                });
            }
            FederationCommand::Block { server, reason } => {
                let new = hearth.operator_block(&server, reason.as_deref()).await?;
                done(
                    json,
                    &if new {
                        format!("blocked {server}")
                    } else {
                        format!("{server} was blocked already")
                    },
                );
            }
            FederationCommand::Unblock { server } => {
                let was = hearth.operator_unblock(&server).await?;
                done(
                    json,
                    &if was {
                        format!("unblocked {server}")
                    } else {
                        format!("{server} was not blocked")
                    },
                );
            }
        },
        AdminCommand::Registrar { command, json } => match command {
            RegistrarCommand::Status => {
                let v = hearth.operator_registrar().await?;
                if json {
                    return print_one(true, &v);
                }
                println!("configured: {}", text(&v["configured"]));
                for l in v["links"].as_array().into_iter().flatten() {
                    println!(
                        "{}\t{} registration(s)\tkey {}\tlast attempt {}\tlast success {}\t{}",
                        text(&l["registrar"]),
                        text(&l["registrations"]),
                        text(&l["registered_key"]),
                        text(&l["last_attempt_at"]),
                        text(&l["last_success_at"]),
                        match &l["last_error"] {
                            serde_json::Value::Null => "ok".to_string(),
                            e => format!("error: {}", text(e)),
                        }
                    );
                }
            }
        },
        AdminCommand::Backup { dir } => {
            let r = hearth::backup::backup(&hearth.config, &hearth.db, &dir).await?;
            println!(
                "backed up into {} ({} database, {} media files{})",
                r.dir.display(),
                r.database,
                r.media_files,
                if r.media == "s3" {
                    "; the S3 bucket is not copied: back it up with the store's tools"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

/// A command's outcome: `{"ok": true, "message": ...}` with `json`, else the sentence.
fn done(json: bool, message: &str) {
    if json {
        println!("{}", serde_json::json!({ "ok": true, "message": message }));
    } else {
        println!("{message}");
    }
}

/// A JSON value as plain text (`-` for null).
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn user_line(u: &serde_json::Value) -> String {
    let mut flags = Vec::new();
    for f in ["admin", "suspended", "bot", "mfa_enabled"] {
        if u[f] == true {
            flags.push(f);
        }
    }
    let name = match u["home_server"].as_str() {
        Some(h) => format!("{}@{h}", text(&u["username"])),
        None => text(&u["username"]),
    };
    format!(
        "{}\t{name}\t{}\tcreated {}\t{} guild(s)",
        text(&u["id"]),
        if flags.is_empty() {
            "-".to_string()
        } else {
            flags.join(",")
        },
        text(&u["created_at"]),
        text(&u["guilds"])
    )
}

fn guild_line(g: &serde_json::Value) -> String {
    format!(
        "{}\t{}\towner {}\t{} member(s)\t{} channel(s){}",
        text(&g["id"]),
        text(&g["name"]),
        text(&g["owner"]),
        text(&g["members"]),
        text(&g["channels"]),
        g["host_server"]
            .as_str()
            .map(|h| format!("\treplica of {h}"))
            .unwrap_or_default()
    )
}

/// Rows as one line each (or a JSON array with `json`).
fn print_rows(
    json: bool,
    rows: &[serde_json::Value],
    line: impl Fn(&serde_json::Value) -> String,
) -> hearth::Result<()> {
    if json {
        println!("{}", serde_json::Value::from(rows.to_vec()));
    } else if rows.is_empty() {
        println!("(none)");
    } else {
        for r in rows {
            println!("{}", line(r));
        }
    }
    Ok(())
}

/// One object as `key: value` lines, lists indented below their key (or JSON with `json`).
fn print_one(json: bool, v: &serde_json::Value) -> hearth::Result<()> {
    if json {
        println!("{v}");
        return Ok(());
    }
    if let Some(o) = v.as_object() {
        for (k, x) in o {
            match x {
                serde_json::Value::Array(items) => {
                    println!("{k}:");
                    for i in items {
                        let parts: Vec<String> = i
                            .as_object()
                            .map(|o| o.values().map(text).collect())
                            .unwrap_or_else(|| vec![text(i)]);
                        println!("  {}", parts.join("\t"));
                    }
                }
                other => println!("{k}: {}", text(other)),
            }
        }
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
