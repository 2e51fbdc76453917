//! `hearth-bench`: the load generator of issue 7 (see BENCHMARKS.md).
//!
//! Each scenario starts its own `hearth` child process (fresh temp data dir or PostgreSQL
//! database; configuration through `HEARTH_*` variables) unless `--target` names a running
//! server, creates users and guilds through the real REST API (argon2 at its minimum cost
//! in the child so thousands of registrations take seconds; the login storm keeps the real
//! cost), drives real gateway WebSockets, and prints a table of figures (JSON with
//! `--json`). Federation scenarios run two homeservers in this process (`hearth::App`) with
//! TLS and a local DNS server, as the integration tests do. Loops are bounded.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

mod fed;
mod scenarios;
mod util;

use scenarios::*;
use util::*;

const GUILD_MESSAGES: u64 = 1 << 9;
const GUILDS: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scale {
    /// Seconds; what CI runs so the tool never rots.
    Tiny,
    /// A minute or so per scenario.
    Small,
    /// The sizes of issue 7's targets.
    Full,
}

#[derive(Parser)]
#[command(
    name = "hearth-bench",
    about = "Load generator and measurements for Hearth (BENCHMARKS.md)"
)]
struct Cli {
    #[arg(long, value_enum, default_value = "tiny", global = true)]
    scale: Scale,
    /// Print the figures as JSON (after the table, on stdout).
    #[arg(long, global = true)]
    json: bool,
    /// A running server (`http://127.0.0.1:8080`) instead of a spawned one. Server-side
    /// RSS/CPU figures are then not reported.
    #[arg(long, global = true)]
    target: Option<String>,
    /// The `hearth` binary to spawn (default: next to this binary).
    #[arg(long, global = true)]
    hearth_bin: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Clone)]
enum Cmd {
    /// Every scenario in turn.
    All,
    /// Idle identified sessions: RSS slope per session and heartbeat CPU (plain, zlib, zstd).
    Idle {
        /// Sessions (default by scale: 20 / 2,000 / 19,000).
        #[arg(long)]
        sessions: Option<usize>,
        /// Sessions for the compressed runs (default 10 / 1,000 / 4,000).
        #[arg(long)]
        compressed_sessions: Option<usize>,
        /// IDENTIFY intents (default GUILDS: each session receives its GUILD_CREATE).
        #[arg(long, default_value_t = GUILDS)]
        intents: u64,
    },
    /// One message to a channel with N connected members.
    Fanout {
        #[arg(long)]
        members: Option<usize>,
    },
    /// Persisted sends (REST, many concurrent senders) on SQLite normal/full and PostgreSQL.
    Sends {
        #[arg(long, value_enum, default_value = "all")]
        db: DbChoice,
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// send -> MESSAGE_CREATE latency at low load.
    Latency,
    /// send -> MESSAGE_CREATE latency with N sessions of the guild just dropped, beside the
    /// same run without them (issue 21: a closed session costs nothing per dispatch).
    Detached {
        /// Dropped sessions (default by scale: 20 / 2,000 / 30,000).
        #[arg(long)]
        sessions: Option<usize>,
        /// Messages per second posted by 32 senders while the receiver measures (default by
        /// scale: 100 / 1,000 / 3,000).
        #[arg(long)]
        rate: Option<u64>,
    },
    /// Reconnect storm (issue 21): N identified sessions cut at once, all RESUME (or
    /// IDENTIFY after INVALID_SESSION) while a sender keeps sending: time until all are live,
    /// p99 to RESUMED/READY, sequence gaps, lost/duplicated MESSAGE_CREATEs, server RSS.
    Storm {
        /// Sessions (default by scale: 50 / 2,000 / 19,000).
        #[arg(long)]
        sessions: Option<usize>,
        /// How long to follow the server's RSS after the storm, seconds (default 10, the
        /// target's window); a trace of one sample a second goes to stderr.
        #[arg(long)]
        settle_seconds: Option<u64>,
        /// Milliseconds between the sender's messages to the sessions' guild (default by
        /// scale: 20 / 50 / 100; at full scale that is 190,000 deliveries a second once all
        /// 19,000 sessions are live).
        #[arg(long)]
        message_ms: Option<u64>,
    },
    /// Scale-out (issue 18): nodes on one PostgreSQL database and one Redis (sends with 1-3
    /// nodes, fan-out over 3 nodes, a drained or killed node's sessions resuming elsewhere, idle
    /// sessions over 3 nodes).
    Cluster {
        /// Members of the fan-out (default by scale: 30 / 1,000 / 10,000).
        #[arg(long)]
        members: Option<usize>,
        /// Sessions on the drained (or killed) node (default 20 / 500 / 5,000).
        #[arg(long)]
        sessions: Option<usize>,
        /// Idle sessions over the 3 nodes; the single node holds a third of them (default
        /// 30 / 3,000 / 50,000).
        #[arg(long)]
        idle_sessions: Option<usize>,
        /// Only these phases (default all): sends, fanout, drain, crash, idle.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Federation: events received/verified/applied per second and cross-server latency.
    Federation,
    /// Remote join of a guild with many members: time to GUILD_CREATE.
    RemoteJoin {
        #[arg(long)]
        members: Option<usize>,
    },
    /// A node's keeper round with thousands of leases on PostgreSQL, idle and under sends.
    Keeper {
        #[arg(long)]
        leases: Option<usize>,
    },
    /// History page of 50 in a channel with many messages.
    History {
        #[arg(long)]
        messages: Option<usize>,
    },
    /// Message search: send throughput with the full-text index on and off, and search
    /// latency over N seeded messages, on SQLite (default) or PostgreSQL (`--db postgres`).
    Search {
        #[arg(long)]
        messages: Option<usize>,
        #[arg(long, value_enum, default_value = "sqlite-normal")]
        db: DbChoice,
    },
    /// Login storm (real argon2id) while chatting.
    LoginStorm,
    /// Cold start (to /ready) and idle memory.
    ColdStart,
    /// Files: upload/download throughput on the local disk and S3 stores beside the raw
    /// disk and S3 figures, and server RSS while clients upload large files at once.
    Media,
    /// Internal: a worker process holding idle gateway sessions (driven through stdin).
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        url: String,
        #[arg(long)]
        server: std::net::SocketAddr,
        #[arg(long)]
        src: std::net::IpAddr,
        #[arg(long)]
        tokens: PathBuf,
        #[arg(long)]
        heartbeat_ms: u64,
        #[arg(long)]
        compressed: bool,
        #[arg(long)]
        intents: u64,
    },
    /// Internal: a worker process of the reconnect storm (driven through stdin).
    #[command(hide = true)]
    StormWorker {
        #[arg(long)]
        url: String,
        #[arg(long)]
        server: std::net::SocketAddr,
        #[arg(long)]
        src: std::net::IpAddr,
        #[arg(long)]
        tokens: PathBuf,
        #[arg(long)]
        heartbeat_ms: u64,
        #[arg(long)]
        intents: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DbChoice {
    All,
    SqliteNormal,
    SqliteFull,
    Postgres,
}

pub struct Ctx {
    scale: Scale,
    target: Option<String>,
    bin: Option<PathBuf>,
    pub figs: Figures,
}

impl Ctx {
    fn by_scale<T: Copy>(&self, tiny: T, small: T, full: T) -> T {
        match self.scale {
            Scale::Tiny => tiny,
            Scale::Small => small,
            Scale::Full => full,
        }
    }

    fn begin(&mut self, scenario: &str, args: &str) {
        let scale = format!("{:?}", self.scale).to_lowercase();
        self.figs.scenario = scenario.into();
        self.figs.command = format!(
            "hearth-bench --scale {scale} {scenario}{}{}",
            if args.is_empty() { "" } else { " " },
            args
        );
        eprintln!("== {} ==", self.figs.command);
    }

    async fn server(&self, sp: &Spawn) -> Res<Server> {
        match &self.target {
            Some(t) => Server::target(t),
            None => Server::spawn(&hearth_bin(&self.bin)?, sp).await,
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Cmd::Worker {
        url,
        server,
        src,
        tokens,
        heartbeat_ms,
        compressed,
        intents,
    } = cli.cmd.clone()
    {
        return match worker(url, server, src, tokens, heartbeat_ms, compressed, intents).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("worker: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Cmd::StormWorker {
        url,
        server,
        src,
        tokens,
        heartbeat_ms,
        intents,
    } = cli.cmd.clone()
    {
        return match storm_worker(url, server, src, tokens, heartbeat_ms, intents).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("storm worker: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let mut ctx = Ctx {
        scale: cli.scale,
        target: cli.target.clone(),
        bin: cli.hearth_bin.clone(),
        figs: Figures {
            list: vec![],
            command: String::new(),
            scenario: String::new(),
            judge: cli.scale == Scale::Full,
        },
    };
    let scenarios: Vec<Cmd> = match &cli.cmd {
        Cmd::All => vec![
            Cmd::ColdStart,
            Cmd::Latency,
            Cmd::Detached {
                sessions: None,
                rate: None,
            },
            Cmd::Storm {
                sessions: None,
                settle_seconds: None,
                message_ms: None,
            },
            Cmd::Sends {
                db: DbChoice::All,
                concurrency: None,
            },
            Cmd::Fanout { members: None },
            Cmd::Idle {
                sessions: None,
                compressed_sessions: None,
                intents: GUILDS,
            },
            Cmd::History { messages: None },
            Cmd::Keeper { leases: None },
            Cmd::Search {
                messages: None,
                db: DbChoice::SqliteNormal,
            },
            Cmd::LoginStorm,
            Cmd::Cluster {
                members: None,
                sessions: None,
                idle_sessions: None,
                only: vec![],
            },
            Cmd::Federation,
            Cmd::RemoteJoin { members: None },
            Cmd::Media,
        ],
        c => vec![c.clone()],
    };
    let mut failed = Vec::new();
    for sc in scenarios {
        let r = match sc {
            Cmd::Idle {
                sessions,
                compressed_sessions,
                intents,
            } => idle(&mut ctx, sessions, compressed_sessions, intents).await,
            Cmd::Fanout { members } => fanout(&mut ctx, members).await,
            Cmd::Sends { db, concurrency } => sends(&mut ctx, db, concurrency).await,
            Cmd::Latency => latency(&mut ctx).await,
            Cmd::Detached { sessions, rate } => detached(&mut ctx, sessions, rate).await,
            Cmd::Storm {
                sessions,
                settle_seconds,
                message_ms,
            } => storm(&mut ctx, sessions, settle_seconds, message_ms).await,
            Cmd::Cluster {
                members,
                sessions,
                idle_sessions,
                only,
            } => cluster(&mut ctx, members, sessions, idle_sessions, &only).await,
            Cmd::Federation => fed::federation(&mut ctx).await,
            Cmd::RemoteJoin { members } => fed::remote_join(&mut ctx, members).await,
            Cmd::History { messages } => history(&mut ctx, messages).await,
            Cmd::Keeper { leases } => keeper(&mut ctx, leases).await,
            Cmd::Search { messages, db } => search(&mut ctx, messages, db).await,
            Cmd::LoginStorm => login_storm(&mut ctx).await,
            Cmd::ColdStart => cold_start(&mut ctx).await,
            Cmd::Media => media(&mut ctx).await,
            Cmd::All | Cmd::Worker { .. } | Cmd::StormWorker { .. } => Ok(()),
        };
        if let Err(e) = r {
            eprintln!("!! {} failed: {e}", ctx.figs.command);
            failed.push(format!("{}: {e}", ctx.figs.command));
        }
    }
    println!();
    print_table(&ctx.figs.list);
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ctx.figs.list).unwrap_or_default()
        );
    }
    if failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        for f in &failed {
            eprintln!("FAILED {f}");
        }
        std::process::ExitCode::FAILURE
    }
}

/// Owner token, guild id, channel id, invite code of a fresh guild on `api`.
async fn setup_guild(api: &Api, tag: &str) -> Res<(String, String, String, String)> {
    let owner = format!("{tag}owner{:06x}", rand::random::<u32>() & 0xffffff);
    let (_, tok) = api.register(&owner).await?;
    let (g, c, code) = api.guild(&tok, "bench").await?;
    Ok((tok, g, c, code))
}

fn tag() -> String {
    format!("b{:05x}", rand::random::<u32>() & 0xfffff)
}

/// Keeps a session alive: heartbeats carrying the last `s` received (which lets the server
/// drop what it no longer needs to replay), the first within 0.5 s, then every `hb`; hands
/// the text of frames to `on_text` (decompressed with `inflate` on compressed sessions),
/// until `stop` flips or the connection ends. The session has received READY (`s` = 1).
async fn session_loop(
    mut ws: Ws,
    hb: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut inflate: Option<Inflate>,
    mut on_text: impl FnMut(&str),
) {
    let first = Duration::from_millis(rand::random::<u64>() % hb.as_millis().clamp(1, 500) as u64);
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + first, hb);
    let mut seq = 1u64;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = t.tick() => {
                if ws.send(Message::Text(json!({"op": 1, "d": seq}).to_string().into())).await.is_err() {
                    break;
                }
            }
            m = ws.next() => {
                let inflated;
                let text: &str = match &m {
                    Some(Ok(Message::Text(txt))) => txt.as_str(),
                    Some(Ok(Message::Binary(b))) => match inflate.as_mut().map(|i| i.text(b)) {
                        Some(Ok(txt)) => {
                            inflated = txt;
                            &inflated
                        }
                        _ => break,
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    _ => continue,
                };
                if let Some(s) = seq_of(text) {
                    seq = seq.max(s);
                }
                on_text(text);
            }
        }
    }
    let _ = ws.close(None).await;
}
