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
        let r = idle_run(ctx, &srv, mode, label, n, hold, hb_ms, intents).await;
        srv.stop(false).await;
        r?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn idle_run(
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
pub(crate) fn slope(p: &[(f64, f64)]) -> f64 {
    let n = p.len() as f64;
    let mx = p.iter().map(|x| x.0).sum::<f64>() / n;
    let my = p.iter().map(|x| x.1).sum::<f64>() / n;
    let num: f64 = p.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = p.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    if den == 0.0 { 0.0 } else { num / den }
}
