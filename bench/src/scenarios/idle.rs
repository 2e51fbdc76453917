//! Idle sessions: memory and heartbeat CPU per identified session.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::util::*;
use crate::*;

pub(crate) async fn worker(
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

pub(crate) struct Worker {
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

pub(crate) async fn idle(
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
        let over = IdleOver {
            servers: vec![&srv],
            redis: None,
            targets: true,
        };
        let r = idle_run(ctx, &over, mode, label, n, hold, hb_ms, intents).await;
        srv.stop(false).await;
        r?;
    }
    Ok(())
}

/// What an idle run connects to and how it reports: one server (the `idle` scenario, with
/// its targets) or the nodes of a cluster (`cluster`), whose memory and CPU are summed and
/// whose Redis is sampled.
pub(crate) struct IdleOver<'a> {
    pub servers: Vec<&'a Server>,
    pub redis: Option<&'a RedisProbe>,
    /// Judge the single server against the `idle` scenario's targets.
    pub targets: bool,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn idle_run(
    ctx: &mut Ctx,
    over: &IdleOver<'_>,
    mode: &str,
    label: &str,
    n: usize,
    hold: Duration,
    hb_ms: u64,
    intents: u64,
) -> Res<()> {
    let servers = &over.servers;
    let api = Api::new(&servers[0].base);
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
    let exe = std::env::current_exe().map_err(err("current_exe"))?;
    // Each server takes an equal share of the sessions, through workers of its own.
    let shares: Vec<usize> = (0..servers.len())
        .map(|i| n / servers.len() + usize::from(i < n % servers.len()))
        .collect();
    let mut workers: Vec<(usize, Worker)> = Vec::new();
    for (i, srv) in servers.iter().enumerate() {
        for _ in 0..shares[i].div_ceil(PER_WORKER).max(1) {
            let mut child = tokio::process::Command::new(&exe)
                .arg("worker")
                .arg("--url")
                .arg(srv.ws_url(&query))
                .arg("--server")
                .arg(srv.addr.to_string())
                .arg("--src")
                .arg(format!("127.0.0.{}", 20 + workers.len()))
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
            workers.push((
                i,
                Worker {
                    child,
                    stdin,
                    lines: BufReader::new(stdout).lines(),
                },
            ));
        }
    }
    let rss = || -> f64 {
        servers
            .iter()
            .map(|s| s.rss().unwrap_or(0) as f64)
            .sum::<f64>()
    };
    let cpu = || -> Option<f64> { servers.iter().map(|s| s.cpu()).sum() };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // RSS at 0, 1/4, 2/4, 3/4 and all sessions: the slope is the per-session cost.
    let mut points: Vec<(f64, f64)> = vec![(0.0, rss())];
    let steps = 4;
    let mut connected = vec![0usize; servers.len()];
    let mut failed = 0usize;
    let mut connect_secs = 0.0;
    for step in 1..=steps {
        // Each server's step, spread over its workers.
        let mut left: Vec<usize> = (0..servers.len())
            .map(|i| shares[i] * step / steps - connected[i])
            .collect();
        let per: Vec<usize> = (0..servers.len())
            .map(|i| {
                let mine = workers.iter().filter(|(s, _)| *s == i).count();
                left[i].div_ceil(mine.max(1))
            })
            .collect();
        for (i, add) in left.iter().enumerate() {
            connected[i] += add;
        }
        let mut futs = Vec::new();
        for (i, w) in workers.iter_mut() {
            let k = per[*i].min(left[*i]);
            left[*i] -= k;
            futs.push(w.go(k));
        }
        let t0 = Instant::now();
        let res = futures_util::future::join_all(futs).await;
        connect_secs += t0.elapsed().as_secs_f64();
        failed = 0;
        for r in res {
            failed += r?.1;
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        points.push((connected.iter().sum::<usize>() as f64, rss()));
    }
    let connected: usize = connected.iter().sum();
    let (cpu0, redis0) = (cpu(), sample(over.redis).await?);
    tokio::time::sleep(hold).await;
    let (cpu1, redis1) = (cpu(), sample(over.redis).await?);
    let rss_end = rss();
    for (_, mut w) in workers {
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
    let one = servers.len() == 1;
    let judged = over.targets && one;
    if servers.iter().all(|s| s.pid.is_some()) {
        let slope = slope(&points);
        if mode.is_empty() && judged {
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
        let whose = if one { "server" } else { "nodes'" };
        ctx.figs.add(
            &format!("{label}: {whose} RSS at {n} sessions"),
            rss_end / 1024.0,
            "MiB",
        );
        if let (Some(a), Some(b)) = (cpu0, cpu1) {
            let pct = (b - a) / hold.as_secs_f64() * 100.0;
            let what = format!(
                "{label}: {whose} CPU, heartbeats every {:.1} s",
                hb_ms as f64 / 1000.0
            );
            if mode.is_empty() && judged {
                ctx.figs.target(&what, pct, "% of a core", 5.0, true);
            } else {
                ctx.figs.add(&what, pct, "% of a core");
            }
        }
    }
    if let (Some(a), Some(b)) = (redis0, redis1) {
        let d = b.since(&a);
        let secs = hold.as_secs_f64();
        ctx.figs.add(
            &format!("{label}: Redis CPU while idle"),
            d.cpu / secs * 100.0,
            "% of a core",
        );
        ctx.figs.add(
            &format!("{label}: Redis commands while idle"),
            d.commands as f64 / secs,
            "commands/s",
        );
    }
    Ok(())
}

async fn sample(probe: Option<&RedisProbe>) -> Res<Option<RedisSample>> {
    match probe {
        Some(p) => Ok(Some(p.sample().await?)),
        None => Ok(None),
    }
}

/// Least-squares slope of y over x.
pub(crate) fn slope(p: &[(f64, f64)]) -> f64 {
    let n = p.len() as f64;
    let mx = p.iter().map(|x| x.0).sum::<f64>() / n;
    let my = p.iter().map(|x| x.1).sum::<f64>() / n;
    let num: f64 = p.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = p.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    if den == 0.0 { 0.0 } else { num / den }
}
