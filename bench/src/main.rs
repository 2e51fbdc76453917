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
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

mod fed;
mod util;

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
    /// Federation: events received/verified/applied per second and cross-server latency.
    Federation,
    /// Remote join of a guild with many members: time to GUILD_CREATE.
    RemoteJoin {
        #[arg(long)]
        members: Option<usize>,
    },
    /// History page of 50 in a channel with many messages.
    History {
        #[arg(long)]
        messages: Option<usize>,
    },
    /// Login storm (real argon2id) while chatting.
    LoginStorm,
    /// Cold start (to /ready) and idle memory.
    ColdStart,
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
            Cmd::LoginStorm,
            Cmd::Federation,
            Cmd::RemoteJoin { members: None },
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
            Cmd::Federation => fed::federation(&mut ctx).await,
            Cmd::RemoteJoin { members } => fed::remote_join(&mut ctx, members).await,
            Cmd::History { messages } => history(&mut ctx, messages).await,
            Cmd::LoginStorm => login_storm(&mut ctx).await,
            Cmd::ColdStart => cold_start(&mut ctx).await,
            Cmd::All | Cmd::Worker { .. } => Ok(()),
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

// ---------------------------------------------------------------------------------------
// idle sessions

async fn worker(
    url: String,
    server: std::net::SocketAddr,
    src: std::net::IpAddr,
    tokens: PathBuf,
    heartbeat_ms: u64,
    compressed: bool,
    intents: u64,
) -> Res<()> {
    let tokens: Vec<String> = std::fs::read_to_string(&tokens)
        .map_err(err("tokens file"))?
        .lines()
        .map(String::from)
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let mut total = 0usize;
    let mut failed = 0usize;
    let hb = Duration::from_millis(heartbeat_ms);
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(n) = line
            .strip_prefix("go ")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            break;
        };
        let sem = Arc::new(tokio::sync::Semaphore::new(64));
        let mut tasks = Vec::with_capacity(n);
        for i in total..total + n {
            let (url, tok, sem, stop) = (
                url.clone(),
                tokens[i % tokens.len()].clone(),
                sem.clone(),
                stop_rx.clone(),
            );
            let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
            tokio::spawn(async move {
                let permit = sem.acquire_owned().await;
                let mut inflate = compressed.then(|| Inflate::new(&url)).flatten();
                let r = identify_with(&url, server, Some(src), &tok, intents, &mut inflate).await;
                drop(permit);
                match r {
                    Ok(ws) => {
                        let _ = tx.send(true);
                        session_loop(ws, hb, stop, inflate, |_| {}).await;
                    }
                    Err(e) => {
                        eprintln!("worker session: {e}");
                        let _ = tx.send(false);
                    }
                }
            });
            tasks.push(rx);
        }
        for rx in tasks {
            if !rx.await.unwrap_or(false) {
                failed += 1;
            }
        }
        total += n;
        out.write_all(format!("ok {total} {failed}\n").as_bytes())
            .await
            .map_err(err("stdout"))?;
        out.flush().await.map_err(err("stdout"))?;
    }
    let _ = stop_tx.send(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

struct Worker {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Worker {
    async fn go(&mut self, n: usize) -> Res<(usize, usize)> {
        self.stdin
            .write_all(format!("go {n}\n").as_bytes())
            .await
            .map_err(err("worker stdin"))?;
        self.stdin.flush().await.map_err(err("worker stdin"))?;
        let line = tokio::time::timeout(Duration::from_secs(600), self.lines.next_line())
            .await
            .map_err(err("worker timed out"))?
            .map_err(err("worker stdout"))?
            .ok_or("worker ended")?;
        let p: Vec<usize> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        Ok((
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        ))
    }
}

/// Sessions per load-generator worker process (each process may open 20,000 files).
const PER_WORKER: usize = 9_000;

async fn idle(
    ctx: &mut Ctx,
    sessions: Option<usize>,
    compressed: Option<usize>,
    intents: u64,
) -> Res<()> {
    let n_plain = sessions.unwrap_or(ctx.by_scale(20, 2_000, 19_000));
    let n_comp = compressed.unwrap_or(ctx.by_scale(10, 1_000, 4_000));
    let hold = Duration::from_secs(ctx.by_scale(2, 10, 30));
    // Heartbeat interval: Discord's 41.25 s at full scale, short at tiny so the code runs.
    let hb_ms: u64 = ctx.by_scale(1_000, 41_250, 41_250);
    for (mode, n) in [
        ("", n_plain),
        ("zlib-stream", n_comp),
        ("zstd-stream", n_comp),
    ] {
        let label = if mode.is_empty() { "plain" } else { mode };
        ctx.begin(
            "idle",
            &format!("--sessions {n_plain} --compressed-sessions {n_comp} --intents {intents}"),
        );
        let srv = ctx
            .server(&Spawn {
                env: vec![(
                    "HEARTH_GATEWAY__HEARTBEAT_INTERVAL_MS".into(),
                    hb_ms.to_string(),
                )],
                ..Spawn::default()
            })
            .await?;
        let r = idle_run(ctx, &srv, mode, label, n, hold, hb_ms, intents).await;
        srv.stop(false).await;
        r?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn idle_run(
    ctx: &mut Ctx,
    srv: &Server,
    mode: &str,
    label: &str,
    n: usize,
    hold: Duration,
    hb_ms: u64,
    intents: u64,
) -> Res<()> {
    let api = Api::new(&srv.base);
    let (_, _, _, code) = setup_guild(&api, &tag()).await?;
    // Up to 500 sessions per user (the per-user IDENTIFY budget is 1000 a day).
    let users = n.div_ceil(200).max(1);
    let tokens = api
        .users(&format!("{}i", tag()), users, Some(&code))
        .await?;
    let tok_file = std::env::temp_dir().join(format!("hearth_bench_tokens_{}", std::process::id()));
    std::fs::write(&tok_file, tokens.join("\n")).map_err(err("tokens file"))?;
    let query = if mode.is_empty() {
        String::new()
    } else {
        format!("&compress={mode}")
    };
    let url = srv.ws_url(&query);
    let exe = std::env::current_exe().map_err(err("current_exe"))?;
    let n_workers = n.div_ceil(PER_WORKER).max(1);
    let mut workers = Vec::new();
    for w in 0..n_workers {
        let mut child = tokio::process::Command::new(&exe)
            .arg("worker")
            .arg("--url")
            .arg(&url)
            .arg("--server")
            .arg(srv.addr.to_string())
            .arg("--src")
            .arg(format!("127.0.0.{}", 20 + w))
            .arg("--tokens")
            .arg(&tok_file)
            .arg("--heartbeat-ms")
            .arg(hb_ms.to_string())
            .arg("--intents")
            .arg(intents.to_string())
            .args(if mode.is_empty() {
                vec![]
            } else {
                vec!["--compressed"]
            })
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(err("spawn worker"))?;
        let stdin = child.stdin.take().ok_or("worker stdin")?;
        let stdout = child.stdout.take().ok_or("worker stdout")?;
        workers.push(Worker {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // RSS at 0, 1/4, 2/4, 3/4 and all sessions: the slope is the per-session cost.
    let mut points: Vec<(f64, f64)> = vec![(0.0, srv.rss().unwrap_or(0) as f64)];
    let steps = 4;
    let mut connected = 0usize;
    let mut failed = 0usize;
    let mut connect_secs = 0.0;
    for step in 1..=steps {
        let target = n * step / steps;
        let add = target - connected;
        // Spread the step over the workers.
        let mut futs = Vec::new();
        let mut left = add;
        let per = add.div_ceil(n_workers);
        for w in workers.iter_mut() {
            let k = per.min(left);
            left -= k;
            futs.push(w.go(k));
        }
        let t0 = Instant::now();
        let res = futures_util::future::join_all(futs).await;
        connect_secs += t0.elapsed().as_secs_f64();
        failed = 0;
        for r in res {
            failed += r?.1;
        }
        connected = target;
        tokio::time::sleep(Duration::from_millis(800)).await;
        points.push((connected as f64, srv.rss().unwrap_or(0) as f64));
    }
    let cpu0 = srv.cpu();
    tokio::time::sleep(hold).await;
    let cpu1 = srv.cpu();
    let rss_end = srv.rss().unwrap_or(0) as f64;
    for mut w in workers {
        drop(w.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
    }
    let _ = std::fs::remove_file(&tok_file);
    let ok = connected - failed;
    ctx.figs.add(
        &format!("{label}: sessions identified"),
        ok as f64,
        "sessions",
    );
    if failed > 0 {
        return Err(format!("{failed} sessions failed to identify"));
    }
    ctx.figs.add(
        &format!("{label}: connect+identify rate"),
        n as f64 / connect_secs,
        "sessions/s",
    );
    if srv.pid.is_some() {
        let slope = slope(&points);
        if mode.is_empty() {
            ctx.figs.target(
                &format!("{label}: RSS slope"),
                slope / 1.0,
                "KiB/session",
                8.0,
                true,
            );
            ctx.figs.target(
                &format!("{label}: sessions in one process"),
                ok as f64,
                "sessions",
                19_000.0,
                false,
            );
        } else {
            ctx.figs
                .add(&format!("{label}: RSS slope"), slope, "KiB/session");
        }
        ctx.figs.add(
            &format!("{label}: server RSS at {n} sessions"),
            rss_end / 1024.0,
            "MiB",
        );
        if let (Some(a), Some(b)) = (cpu0, cpu1) {
            let pct = (b - a) / hold.as_secs_f64() * 100.0;
            let what = format!(
                "{label}: server CPU, heartbeats every {:.1} s",
                hb_ms as f64 / 1000.0
            );
            if mode.is_empty() {
                ctx.figs.target(&what, pct, "% of a core", 5.0, true);
            } else {
                ctx.figs.add(&what, pct, "% of a core");
            }
        }
    }
    Ok(())
}

/// Least-squares slope of y over x.
fn slope(p: &[(f64, f64)]) -> f64 {
    let n = p.len() as f64;
    let mx = p.iter().map(|x| x.0).sum::<f64>() / n;
    let my = p.iter().map(|x| x.1).sum::<f64>() / n;
    let num: f64 = p.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = p.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    if den == 0.0 { 0.0 } else { num / den }
}

// ---------------------------------------------------------------------------------------
// fan-out

async fn fanout(ctx: &mut Ctx, members: Option<usize>) -> Res<()> {
    let r = members.unwrap_or(ctx.by_scale(20, 1_000, 10_000));
    let lat_msgs = ctx.by_scale(5, 30, 100);
    let burst = ctx.by_scale(10, 50, 200);
    ctx.begin("fanout", &format!("--members {r}"));
    let srv = ctx
        .server(&Spawn {
            env: vec![(
                "HEARTH_GATEWAY__SESSION_QUEUE".into(),
                (burst * 2).max(1024).to_string(),
            )],
            ..Spawn::default()
        })
        .await?;
    let res = fanout_run(ctx, &srv, r, lat_msgs, burst).await;
    srv.stop(false).await;
    res
}

async fn fanout_run(
    ctx: &mut Ctx,
    srv: &Server,
    r: usize,
    lat_msgs: usize,
    burst: usize,
) -> Res<()> {
    let api = Api::new(&srv.base);
    let (owner, _, channel, code) = setup_guild(&api, &tag()).await?;
    let t_seed = Instant::now();
    let tokens = api.users(&format!("{}f", tag()), r, Some(&code)).await?;
    eprintln!(
        "  seeded {r} members in {:.1} s",
        t_seed.elapsed().as_secs_f64()
    );
    let total = lat_msgs + burst;
    let base = Instant::now();
    let count: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let last: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut ready = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let (url, addr, tok, sem, stop, count, last) = (
            srv.ws_url(""),
            srv.addr,
            tok.clone(),
            sem.clone(),
            stop_rx.clone(),
            count.clone(),
            last.clone(),
        );
        let src = std::net::IpAddr::from([127, 0, 0, 40 + (i / 15_000) as u8]);
        let (tx, rx) = tokio::sync::oneshot::channel::<Res<()>>();
        tokio::spawn(async move {
            let p = sem.acquire_owned().await;
            let ws = identify(&url, addr, Some(src), &tok, GUILD_MESSAGES, false).await;
            drop(p);
            match ws {
                Ok(ws) => {
                    let _ = tx.send(Ok(()));
                    session_loop(ws, Duration::from_secs(40), stop, None, |t| {
                        if let Some(k) = marker(t, "fo-")
                            && k < count.len()
                        {
                            last[k].fetch_max(base.elapsed().as_micros() as u64, Ordering::Relaxed);
                            count[k].fetch_add(1, Ordering::Release);
                        }
                    })
                    .await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        ready.push(rx);
    }
    for rx in ready {
        rx.await.map_err(err("session task"))??;
    }
    // Joins and identifies leave the server busy (membership invalidations, presence
    // updates): wait (bounded) until its CPU settles so the phases below measure fan-out.
    if srv.pid.is_some() {
        let t_settle = Instant::now();
        while t_settle.elapsed() < Duration::from_secs(180) {
            let a = srv.cpu().unwrap_or(0.0);
            tokio::time::sleep(Duration::from_secs(1)).await;
            if srv.cpu().unwrap_or(0.0) - a < 0.2 {
                break;
            }
        }
        eprintln!(
            "  server settled {:.1} s after the last identify",
            t_settle.elapsed().as_secs_f64()
        );
    }
    let wait_all = |k: usize, deadline: Instant| {
        let count = count.clone();
        async move {
            hearth_testkit::Patience::within(deadline.saturating_duration_since(Instant::now()))
                .every(Duration::from_micros(200))
                .until("every receiver got the message", async || {
                    count[k].load(Ordering::Acquire) >= r
                })
                .await
                .map_err(|e| {
                    format!(
                        "message {k}: {} of {r} receivers: {e}",
                        count[k].load(Ordering::Acquire)
                    )
                })
        }
    };
    // Phase 1: one message at a time, time to the last receiver.
    let mut h_last = hist();
    for k in 0..lat_msgs {
        let t_send = base.elapsed().as_micros() as u64;
        api.say(&owner, &channel, &format!("fo-{k}")).await?;
        wait_all(k, Instant::now() + Duration::from_secs(30)).await?;
        let dt = last[k].load(Ordering::Relaxed).saturating_sub(t_send);
        h_last.record(dt.max(1)).map_err(err("hist"))?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ctx.figs
        .add("time-to-last-receiver p50", pct_ms(&h_last, 0.5), "ms");
    ctx.figs.target(
        "time-to-last-receiver p99",
        pct_ms(&h_last, 0.99),
        "ms",
        100.0,
        true,
    );
    // Phase 2: a burst of messages (2 senders in flight): deliveries per second.
    let cpu0 = srv.cpu();
    let me0 = self_cpu();
    let t_first = base.elapsed().as_micros() as u64;
    let next = Arc::new(AtomicUsize::new(lat_msgs));
    let mut senders = Vec::new();
    for _ in 0..2 {
        let (api, owner, channel, next) =
            (api.clone(), owner.clone(), channel.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return Ok::<(), String>(());
                }
                api.say(&owner, &channel, &format!("fo-{k}")).await?;
            }
        }));
    }
    for s in senders {
        s.await.map_err(err("sender"))??;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for k in lat_msgs..total {
        wait_all(k, deadline).await?;
    }
    let t_end = (lat_msgs..total)
        .map(|k| last[k].load(Ordering::Relaxed))
        .max()
        .unwrap_or(t_first);
    let cpu1 = srv.cpu();
    let me1 = self_cpu();
    let _ = stop_tx.send(true);
    let deliveries = (burst * r) as f64;
    let secs = (t_end - t_first) as f64 / 1e6;
    ctx.figs.target(
        &format!("burst of {burst} messages: deliveries/s"),
        deliveries / secs,
        "deliveries/s",
        200_000.0,
        false,
    );
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        ctx.figs.target(
            "server CPU per delivery (burst)",
            (b - a) * 1e6 / deliveries,
            "us",
            5.0,
            true,
        );
    }
    ctx.figs.add(
        "load generator CPU per delivery (burst)",
        (me1 - me0) * 1e6 / deliveries,
        "us",
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// persisted sends

async fn sends(ctx: &mut Ctx, db: DbChoice, concurrency: Option<usize>) -> Res<()> {
    let conc = concurrency.unwrap_or(ctx.by_scale(4, 32, 64));
    let secs = ctx.by_scale(2, 5, 10);
    let variants: Vec<DbChoice> = match db {
        DbChoice::All if ctx.target.is_some() => vec![DbChoice::SqliteNormal],
        DbChoice::All => vec![
            DbChoice::SqliteNormal,
            DbChoice::SqliteFull,
            DbChoice::Postgres,
        ],
        d => vec![d],
    };
    for v in variants {
        let name = match v {
            DbChoice::SqliteFull => "sqlite-full",
            DbChoice::Postgres => "postgres",
            _ => "sqlite-normal",
        };
        ctx.begin("sends", &format!("--db {name} --concurrency {conc}"));
        let mut sp = Spawn::default();
        match v {
            DbChoice::SqliteFull => sp
                .env
                .push(("HEARTH_SQLITE_SYNCHRONOUS".into(), "full".into())),
            DbChoice::Postgres => sp.postgres = true,
            _ => {}
        }
        if v == DbChoice::Postgres && pg_exec("SELECT 1").await.is_err() {
            eprintln!("  PostgreSQL at 127.0.0.1:5432 is not reachable: skipped");
            continue;
        }
        let srv = ctx.server(&sp).await?;
        let r = sends_run(ctx, &srv, v, conc, secs).await;
        srv.stop(false).await;
        r?;
    }
    Ok(())
}

async fn sends_run(ctx: &mut Ctx, srv: &Server, v: DbChoice, conc: usize, secs: u64) -> Res<()> {
    let api = Api::new(&srv.base);
    let (_, _, channel, code) = setup_guild(&api, &tag()).await?;
    let users = api
        .users(&format!("{}s", tag()), conc.min(16), Some(&code))
        .await?;
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let t0 = Instant::now();
    let cpu0 = srv.cpu();
    let mut tasks = Vec::new();
    for i in 0..conc {
        let (api, tok, channel) = (api.clone(), users[i % users.len()].clone(), channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = hist();
            let mut k = 0u64;
            while Instant::now() < stop_at {
                let t = Instant::now();
                api.say(&tok, &channel, &format!("persisted {i}-{k}"))
                    .await?;
                h.record(t.elapsed().as_micros().max(1) as u64)
                    .map_err(err("hist"))?;
                k += 1;
            }
            Ok::<_, String>(h)
        }));
    }
    let mut h = hist();
    for t in tasks {
        h.add(t.await.map_err(err("sender"))??)
            .map_err(err("hist"))?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = srv.cpu();
    let rate = h.len() as f64 / elapsed;
    match v {
        DbChoice::Postgres => ctx.figs.target("messages/s", rate, "msg/s", 5_000.0, false),
        DbChoice::SqliteFull => ctx.figs.add("messages/s (synchronous=FULL)", rate, "msg/s"),
        _ => ctx
            .figs
            .target("messages/s", rate, "msg/s", 10_000.0, false),
    }
    ctx.figs.add("ack p50", pct_ms(&h, 0.5), "ms");
    if v == DbChoice::SqliteNormal {
        ctx.figs
            .target("ack p99", pct_ms(&h, 0.99), "ms", 20.0, true);
    } else {
        ctx.figs.add("ack p99", pct_ms(&h, 0.99), "ms");
    }
    if let (Some(a), Some(b)) = (cpu0, cpu1) {
        ctx.figs.add(
            "server CPU per message",
            (b - a) * 1e6 / h.len() as f64,
            "us",
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// latency

/// Sends `n` messages one every `gap` and returns the histogram of REST send ->
/// MESSAGE_CREATE at another user's gateway session (microseconds).
async fn chat_latency(
    srv: &Server,
    api: &Api,
    n: usize,
    gap: Duration,
    prefix: &str,
) -> Res<hdrhistogram::Histogram<u64>> {
    let (owner, _, channel, code) = setup_guild(api, &tag()).await?;
    let rx_tok = api.users(&format!("{}r", tag()), 1, Some(&code)).await?;
    let ws = identify(
        &srv.ws_url(""),
        srv.addr,
        None,
        &rx_tok[0],
        GUILD_MESSAGES,
        false,
    )
    .await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let p = prefix.to_string();
    let task = tokio::spawn(session_loop(
        ws,
        Duration::from_secs(40),
        stop_rx,
        None,
        move |t| {
            if let Some(k) = marker(t, &p) {
                let _ = tx.send((k, Instant::now()));
            }
        },
    ));
    let mut h = hist();
    let mut next = tokio::time::interval(gap);
    for k in 0..n {
        next.tick().await;
        let t = Instant::now();
        api.say(&owner, &channel, &format!("{prefix}{k}")).await?;
        loop {
            let (got, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .map_err(err("MESSAGE_CREATE timeout"))?
                .ok_or("receiver ended")?;
            if got == k {
                h.record(at.duration_since(t).as_micros().max(1) as u64)
                    .map_err(err("hist"))?;
                break;
            }
        }
    }
    let _ = stop_tx.send(true);
    let _ = task.await;
    Ok(h)
}

async fn latency(ctx: &mut Ctx) -> Res<()> {
    let n = ctx.by_scale(20, 300, 2_000);
    ctx.begin("latency", "");
    let srv = ctx.server(&Spawn::default()).await?;
    let api = Api::new(&srv.base);
    let r = chat_latency(&srv, &api, n, Duration::from_millis(5), "lat-").await;
    srv.stop(false).await;
    let h = r?;
    ctx.figs.target(
        "send -> MESSAGE_CREATE p50",
        pct_ms(&h, 0.5),
        "ms",
        2.0,
        true,
    );
    ctx.figs.target(
        "send -> MESSAGE_CREATE p99",
        pct_ms(&h, 0.99),
        "ms",
        10.0,
        true,
    );
    ctx.figs.add("messages", h.len() as f64, "");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// history

async fn history(ctx: &mut Ctx, messages: Option<usize>) -> Res<()> {
    let n = messages.unwrap_or(ctx.by_scale(2_000, 100_000, 1_000_000));
    let pages = ctx.by_scale(50, 500, 3_000);
    ctx.begin("history", &format!("--messages {n}"));
    if ctx.target.is_some() {
        eprintln!("  history seeds the database directly: not available with --target");
        return Ok(());
    }
    let srv = ctx.server(&Spawn::default()).await?;
    let r = history_run(ctx, &srv, n, pages).await;
    srv.stop(false).await;
    r
}

async fn history_run(ctx: &mut Ctx, srv: &Server, n: usize, pages: usize) -> Res<()> {
    let api = Api::new(&srv.base);
    let (owner, gid, channel, _) = setup_guild(&api, &tag()).await?;
    let me = api
        .ok(reqwest::Method::GET, "/users/@me", Some(&owner), None)
        .await?;
    let author: i64 = s(&me["id"]).parse().map_err(err("user id"))?;
    let (gid, cid): (i64, i64) = (
        gid.parse().map_err(err("guild id"))?,
        channel.parse().map_err(err("channel id"))?,
    );
    // Bulk seeding straight into the server's SQLite file (documented in BENCHMARKS.md):
    // a million REST sends would take longer than the measurement.
    let db = srv.dir.as_ref().ok_or("no data dir")?.join("hearth.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .busy_timeout(Duration::from_secs(30));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(err("open hearth.db"))?;
    let sf = hearth::snowflake::SnowflakeGenerator::new(31, 31);
    let t0 = Instant::now();
    let mut ids = Vec::with_capacity(n);
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(50_000);
        let mut tx = pool.begin().await.map_err(err("begin"))?;
        for i in 0..chunk {
            let id = sf.next().db();
            ids.push(id);
            sqlx::query("INSERT INTO messages (id, channel_id, guild_id, author_id, content) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(cid)
                .bind(gid)
                .bind(author)
                .bind(format!("history message {}", done + i))
                .execute(&mut *tx)
                .await
                .map_err(err("insert"))?;
        }
        tx.commit().await.map_err(err("commit"))?;
        done += chunk;
    }
    if let Some(last) = ids.last() {
        sqlx::query("UPDATE channels SET last_message_id = $1 WHERE id = $2")
            .bind(*last)
            .bind(cid)
            .execute(&pool)
            .await
            .map_err(err("update"))?;
    }
    pool.close().await;
    eprintln!(
        "  seeded {n} messages in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let mut h_latest = hist();
    let mut h_random = hist();
    for i in 0..pages {
        let path = if i % 2 == 0 {
            format!("/channels/{channel}/messages?limit=50")
        } else {
            let before = ids[50 + rand::random::<u64>() as usize % (ids.len().max(51) - 50)];
            format!("/channels/{channel}/messages?limit=50&before={before}")
        };
        let t = Instant::now();
        let v = api
            .ok(reqwest::Method::GET, &path, Some(&owner), None)
            .await?;
        let dt = t.elapsed().as_micros().max(1) as u64;
        if v.as_array().map(|a| a.len()) != Some(50.min(n)) {
            return Err(format!("{path}: expected 50 messages"));
        }
        if i % 2 == 0 {
            &mut h_latest
        } else {
            &mut h_random
        }
        .record(dt)
        .map_err(err("hist"))?;
    }
    ctx.figs
        .add("page of 50 (latest) p50", pct_ms(&h_latest, 0.5), "ms");
    ctx.figs.target(
        "page of 50 (latest) p99",
        pct_ms(&h_latest, 0.99),
        "ms",
        2.0,
        true,
    );
    ctx.figs.add(
        "page of 50 (random before=) p50",
        pct_ms(&h_random, 0.5),
        "ms",
    );
    ctx.figs.target(
        "page of 50 (random before=) p99",
        pct_ms(&h_random, 0.99),
        "ms",
        2.0,
        true,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// login storm

async fn login_storm(ctx: &mut Ctx) -> Res<()> {
    let rate = ctx.by_scale(10.0, 50.0, 50.0);
    let secs = ctx.by_scale(2.0, 10.0, 20.0);
    ctx.begin("login-storm", "");
    let srv = ctx
        .server(&Spawn {
            real_hashing: true,
            ..Spawn::default()
        })
        .await?;
    let r = storm_run(ctx, &srv, rate, secs).await;
    srv.stop(false).await;
    r
}

async fn storm_run(ctx: &mut Ctx, srv: &Server, rate: f64, secs: f64) -> Res<()> {
    let api = Api::new(&srv.base);
    let accounts = 20usize;
    let prefix = format!("{}l", tag());
    api.users(&prefix, accounts, None).await?;
    let gap = Duration::from_millis(50);
    let n = (secs / gap.as_secs_f64()) as usize;
    let base = chat_latency(srv, &api, n, gap, "calm-").await?;
    // The storm: `rate` logins per second (each an argon2id verification) while chatting.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ok = Arc::new(AtomicUsize::new(0));
    let storm = {
        let (api, ok, prefix) = (api.clone(), ok.clone(), prefix.clone());
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            let mut i = 0usize;
            let mut inflight = Vec::new();
            while !*stop_rx.borrow() {
                t.tick().await;
                let (api, ok, name) =
                    (api.clone(), ok.clone(), format!("{prefix}{}", i % accounts));
                inflight.push(tokio::spawn(async move {
                    if api.login(&name).await.is_ok() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }));
                i += 1;
            }
            for f in inflight {
                let _ = f.await;
            }
        })
    };
    let t0 = Instant::now();
    let stormy = chat_latency(srv, &api, n, gap, "storm-").await;
    let elapsed = t0.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    let _ = storm.await;
    let stormy = stormy?;
    ctx.figs
        .add("chat p50 without logins", pct_ms(&base, 0.5), "ms");
    ctx.figs
        .add("chat p99 without logins", pct_ms(&base, 0.99), "ms");
    ctx.figs
        .add("chat p50 during the storm", pct_ms(&stormy, 0.5), "ms");
    ctx.figs
        .add("chat p99 during the storm", pct_ms(&stormy, 0.99), "ms");
    ctx.figs.add(
        "successful logins/s during the storm",
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        "logins/s",
    );
    ctx.figs.target(
        "chat p99 storm/calm",
        pct_ms(&stormy, 0.99) / pct_ms(&base, 0.99).max(0.001),
        "x",
        1.2,
        true,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// cold start

async fn cold_start(ctx: &mut Ctx) -> Res<()> {
    let runs = ctx.by_scale(1, 3, 5);
    ctx.begin("cold-start", "");
    if ctx.target.is_some() {
        eprintln!("  cold start spawns its own server: not available with --target");
        return Ok(());
    }
    let bin = hearth_bin(&ctx.bin)?;
    let (mut fresh, mut warm, mut rss) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let srv = Server::spawn(&bin, &Spawn::default()).await?;
        fresh.push(srv.started_in.as_secs_f64() * 1000.0);
        let dir = srv.dir.clone();
        srv.stop(true).await;
        let srv = Server::spawn(
            &bin,
            &Spawn {
                dir,
                ..Spawn::default()
            },
        )
        .await?;
        warm.push(srv.started_in.as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(srv.rss().unwrap_or(0) as f64 / 1024.0);
        srv.stop(false).await;
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v[v.len() / 2]
    };
    ctx.figs.add(
        "spawn -> /ready, fresh data dir (migrations)",
        med(&mut fresh),
        "ms",
    );
    ctx.figs.target(
        "spawn -> /ready, existing data",
        med(&mut warm),
        "ms",
        200.0,
        true,
    );
    ctx.figs
        .target("idle RSS after 1 s", med(&mut rss), "MiB", 30.0, true);
    Ok(())
}
