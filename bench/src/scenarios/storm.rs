//! Reconnect storm (issue 21): N identified sessions, spread over worker processes (each
//! may open 20,000 files), lose their connections at the same moment (sockets dropped
//! without a close frame: resumable). Every client reconnects at once and RESUMEs with its
//! last seq; one told INVALID_SESSION IDENTIFYs anew; one closed with 4008 (admission busy)
//! retries after a short random delay. Meanwhile a sender keeps posting messages.
//!
//! Reported: the time until every session is live again, p50/p99 of each client's time to
//! RESUMED/READY, how many resumed and how many had to identify anew, sequence gaps (a
//! dispatch whose `s` is not the previous one + 1 within a session), and for every message
//! the REST API acknowledged whether it reached every receiver exactly once (lost and
//! duplicated deliveries; sessions that had to identify anew legitimately miss what was sent
//! while they were away and are left out of that check), and the server's RSS before the
//! storm, at its end and until it is back within 10 % of the baseline (at most 10 s).
//!
//! Worker protocol (stdin/stdout lines): `go N` identifies N more sessions (`ok total
//! failed`); `cut` drops every socket and waits until all are live again (`live ok failed
//! resumed reidentified refused ms,ms,...`); `check FENCE K1,K2,...` waits until every
//! session saw message FENCE and counts deliveries of the acknowledged messages (`checked
//! lost dup gaps skipped`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::util::*;
use crate::*;

/// Message markers a session can count (the sender stops before).
const MAX_MSGS: usize = 4_096;
const PREFIX: &str = "storm-";

/// A mutex that shrugs off poisoning (a panicked client task only loses its own figures).
struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    fn new(t: T) -> Mutex<T> {
        Mutex(std::sync::Mutex::new(t))
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What one client session saw.
struct St {
    session_id: String,
    seq: u64,
    gaps: u64,
    /// Deliveries of each message marker.
    counts: Vec<u8>,
    /// It had to identify anew (INVALID_SESSION): messages of the gap are not owed to it.
    reidentified: bool,
}

/// How a reconnect ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Back {
    Resumed,
    Identified,
}

struct Conf {
    url: String,
    server: std::net::SocketAddr,
    src: std::net::IpAddr,
    intents: u64,
    hb: Duration,
}

/// Reads one dispatch into the session's state: seq continuity and message markers.
fn note(st: &Mutex<St>, text: &str) {
    let Some(s) = seq_of(text) else {
        return;
    };
    let mut g = st.lock();
    if s != g.seq + 1 {
        g.gaps += 1;
    }
    g.seq = s;
    if let Some(k) = marker(text, PREFIX).filter(|k| *k < MAX_MSGS) {
        g.counts[k] = g.counts[k].saturating_add(1);
    }
}

/// Connects and reads HELLO.
async fn open(c: &Conf) -> Res<Ws> {
    let mut ws = ws_connect(&c.url, c.server, Some(c.src)).await?;
    next_frame(&mut ws).await?;
    Ok(ws)
}

/// Sends IDENTIFY and waits for READY (the new session's id and seq 1).
async fn identify_on(ws: &mut Ws, c: &Conf, tok: &str, st: &Mutex<St>) -> Res<()> {
    send_identify(ws, tok, c.intents).await?;
    loop {
        match next_frame(ws).await? {
            Message::Text(t) if t.contains("\"READY\"") => {
                let v: Value = serde_json::from_str(&t).map_err(err("READY"))?;
                let mut g = st.lock();
                g.session_id = s(&v["d"]["session_id"]);
                g.seq = v["s"].as_u64().unwrap_or(1);
                return Ok(());
            }
            Message::Close(c) => return Err(format!("closed during identify: {c:?}")),
            _ => {}
        }
    }
}

/// Reconnects: RESUME, or IDENTIFY after INVALID_SESSION; replayed dispatches are noted.
async fn come_back(c: &Conf, tok: &str, st: &Mutex<St>) -> Res<(Ws, Back)> {
    let mut ws = open(c).await?;
    let (sid, seq) = {
        let g = st.lock();
        (g.session_id.clone(), g.seq)
    };
    let resume = json!({"op": 6, "d": {"token": tok, "session_id": sid, "seq": seq}});
    ws.send(Message::Text(resume.to_string().into()))
        .await
        .map_err(err("send resume"))?;
    loop {
        match next_frame(&mut ws).await? {
            Message::Text(t) if t.contains("\"op\":9") => {
                st.lock().reidentified = true;
                identify_on(&mut ws, c, tok, st).await?;
                return Ok((ws, Back::Identified));
            }
            Message::Text(t) => {
                note(st, &t);
                if t.contains("\"RESUMED\"") {
                    return Ok((ws, Back::Resumed));
                }
            }
            Message::Close(f) => return Err(format!("closed during resume: {f:?}")),
            _ => {}
        }
    }
}

/// One client: identified, then reading and heartbeating; at each cut it drops its socket
/// and comes back, reporting how long that took.
async fn client(
    c: Arc<Conf>,
    tok: String,
    st: Arc<Mutex<St>>,
    first: tokio::sync::oneshot::Sender<bool>,
    mut cut: tokio::sync::watch::Receiver<u64>,
    back: tokio::sync::mpsc::UnboundedSender<Option<(Duration, Back, u32)>>,
    sem: Arc<tokio::sync::Semaphore>,
) {
    let permit = sem.acquire().await;
    let r = match open(&c).await {
        Ok(mut ws) => identify_on(&mut ws, &c, &tok, &st).await.map(|_| ws),
        Err(e) => Err(e),
    };
    drop(permit);
    let mut ws = match r {
        Ok(ws) => {
            let _ = first.send(true);
            ws
        }
        Err(e) => {
            eprintln!("storm session: {e}");
            let _ = first.send(false);
            return;
        }
    };
    let mut hb = tokio::time::interval(c.hb);
    loop {
        tokio::select! {
            r = cut.changed() => {
                if r.is_err() {
                    break;
                }
                // No close frame: the session stays resumable.
                drop(ws);
                let t0 = Instant::now();
                match reconnect(&c, &tok, &st).await {
                    Some((w, how, refused)) => {
                        ws = w;
                        let _ = back.send(Some((t0.elapsed(), how, refused)));
                    }
                    None => {
                        let _ = back.send(None);
                        return;
                    }
                }
            }
            _ = hb.tick() => {
                let seq = st.lock().seq;
                let beat = Message::Text(json!({"op": 1, "d": seq}).to_string().into());
                if ws.send(beat).await.is_err() {
                    eprintln!("storm session: a live connection failed; resuming");
                    match reconnect(&c, &tok, &st).await {
                        Some((w, ..)) => ws = w,
                        None => return,
                    }
                }
            }
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => note(&st, &t),
                Some(Ok(_)) => {}
                _ => {
                    eprintln!("storm session: the server closed a live connection; resuming");
                    match reconnect(&c, &tok, &st).await {
                        Some((w, ..)) => ws = w,
                        None => return,
                    }
                }
            },
        }
    }
}

/// [`come_back`] until it works: a refused or failed attempt (4008 while the server admits
/// others) is retried after 50-550 ms, up to 200 times. The socket, how it came back and
/// the number of failed attempts; `None` when it gave up.
async fn reconnect(c: &Conf, tok: &str, st: &Mutex<St>) -> Option<(Ws, Back, u32)> {
    let mut refused = 0u32;
    loop {
        match come_back(c, tok, st).await {
            Ok((ws, how)) => return Some((ws, how, refused)),
            Err(_) if refused < 200 => {
                refused += 1;
                let ms = 50 + rand::random::<u64>() % 500;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Err(e) => {
                eprintln!("storm session gave up: {e}");
                return None;
            }
        }
    }
}

/// The hidden `storm-worker` subcommand: clients of one process, driven through stdin.
pub(crate) async fn storm_worker(
    url: String,
    server: std::net::SocketAddr,
    src: std::net::IpAddr,
    tokens: PathBuf,
    heartbeat_ms: u64,
    intents: u64,
) -> Res<()> {
    let tokens: Vec<String> = std::fs::read_to_string(&tokens)
        .map_err(err("tokens file"))?
        .lines()
        .map(String::from)
        .collect();
    let conf = Arc::new(Conf {
        url,
        server,
        src,
        intents,
        hb: Duration::from_millis(heartbeat_ms),
    });
    let (cut_tx, _) = tokio::sync::watch::channel(0u64);
    let (back_tx, mut back_rx) = tokio::sync::mpsc::unbounded_channel();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut states: Vec<Arc<Mutex<St>>> = vec![];
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let mut failed = 0usize;
    while let Ok(Some(line)) = lines.next_line().await {
        let mut w = line.split_whitespace();
        let reply = match (w.next(), w.next(), w.next()) {
            (Some("go"), Some(n), _) => {
                let n: usize = n.parse().map_err(err("go N"))?;
                let mut firsts = vec![];
                for i in states.len()..states.len() + n {
                    let st = Arc::new(Mutex::new(St {
                        session_id: String::new(),
                        seq: 0,
                        gaps: 0,
                        counts: vec![0; MAX_MSGS],
                        reidentified: false,
                    }));
                    states.push(st.clone());
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    tokio::spawn(client(
                        conf.clone(),
                        tokens[i % tokens.len()].clone(),
                        st,
                        tx,
                        cut_tx.subscribe(),
                        back_tx.clone(),
                        sem.clone(),
                    ));
                    firsts.push(rx);
                }
                for rx in firsts {
                    if !rx.await.unwrap_or(false) {
                        failed += 1;
                    }
                }
                format!("ok {} {failed}", states.len())
            }
            (Some("cut"), _, _) => {
                let live = states.len() - failed;
                cut_tx.send_modify(|c| *c += 1);
                let (mut ok, mut bad, mut resumed, mut again, mut refused) = (0, 0, 0, 0, 0);
                let mut ms: Vec<String> = vec![];
                let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
                while ok + bad < live {
                    match tokio::time::timeout_at(deadline, back_rx.recv()).await {
                        Ok(Some(Some((d, how, r)))) => {
                            ok += 1;
                            refused += r;
                            if how == Back::Resumed {
                                resumed += 1;
                            } else {
                                again += 1;
                            }
                            ms.push(format!("{:.3}", d.as_secs_f64() * 1000.0));
                        }
                        Ok(Some(None)) => bad += 1,
                        _ => break,
                    }
                }
                let bad = live - ok;
                format!(
                    "live {ok} {bad} {resumed} {again} {refused} {}",
                    if ms.is_empty() {
                        "-".into()
                    } else {
                        ms.join(",")
                    }
                )
            }
            (Some("check"), Some(fence), Some(acked)) => {
                let fence: usize = fence.parse().map_err(err("fence"))?;
                let acked: Vec<usize> = acked.split(',').filter_map(|k| k.parse().ok()).collect();
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let waiting = states
                        .iter()
                        .filter(|s| s.lock().counts[fence] == 0)
                        .count();
                    if waiting == 0 || Instant::now() > deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let (mut lost, mut dup, mut gaps, mut skipped) = (0u64, 0u64, 0u64, 0u64);
                for s in &states {
                    let g = s.lock();
                    gaps += g.gaps;
                    if g.session_id.is_empty() {
                        continue;
                    }
                    if g.reidentified {
                        skipped += 1;
                        continue;
                    }
                    for &k in &acked {
                        match g.counts[k] {
                            0 => lost += 1,
                            1 => {}
                            n => dup += u64::from(n) - 1,
                        }
                    }
                }
                format!("checked {lost} {dup} {gaps} {skipped}")
            }
            _ => break,
        };
        out.write_all(format!("{reply}\n").as_bytes())
            .await
            .map_err(err("stdout"))?;
        out.flush().await.map_err(err("stdout"))?;
    }
    Ok(())
}

/// A `storm-worker` child and its pipes.
struct Child {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Child {
    async fn ask(&mut self, line: String) -> Res<Vec<String>> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(err("worker stdin"))?;
        self.stdin.flush().await.map_err(err("worker stdin"))?;
        let l = tokio::time::timeout(Duration::from_secs(900), self.lines.next_line())
            .await
            .map_err(err("worker timed out"))?
            .map_err(err("worker stdout"))?
            .ok_or("worker ended")?;
        Ok(l.split_whitespace().skip(1).map(String::from).collect())
    }
}

fn num(v: &[String], i: usize) -> u64 {
    v.get(i).and_then(|x| x.parse().ok()).unwrap_or(0)
}

/// Sessions per worker process (each process may open 20,000 files).
const PER_WORKER: usize = 7_000;

pub(crate) async fn storm(
    ctx: &mut Ctx,
    sessions: Option<usize>,
    settle: Option<u64>,
    message_ms: Option<u64>,
) -> Res<()> {
    let n = sessions.unwrap_or(ctx.by_scale(50, 2_000, 19_000));
    let gap = Duration::from_millis(message_ms.unwrap_or(ctx.by_scale(20, 50, 100)));
    ctx.begin(
        "storm",
        &format!("--sessions {n} --message-ms {}", gap.as_millis()),
    );
    // Heartbeats acknowledge what was received, as real clients do.
    let hb_ms: u64 = ctx.by_scale(1_000, 5_000, 41_250);
    let srv = ctx
        .server(&Spawn {
            env: vec![(
                "HEARTH_GATEWAY__HEARTBEAT_INTERVAL_MS".into(),
                hb_ms.to_string(),
            )],
            ..Spawn::default()
        })
        .await?;
    let settle = Duration::from_secs(settle.unwrap_or(10));
    let r = storm_run(ctx, &srv, n, hb_ms, settle, gap).await;
    srv.stop(false).await;
    r
}

async fn storm_run(
    ctx: &mut Ctx,
    srv: &Server,
    n: usize,
    hb_ms: u64,
    settle: Duration,
    gap: Duration,
) -> Res<()> {
    let api = Api::new(&srv.base);
    let (owner, _, channel, code) = setup_guild(&api, &tag()).await?;
    // Session starts per user are limited (1,000 a window): 200 sessions per user.
    let users = n.div_ceil(200).max(1);
    let tokens = api
        .users(&format!("{}s", tag()), users, Some(&code))
        .await?;
    let tok_file = std::env::temp_dir().join(format!("hearth_bench_storm_{}", std::process::id()));
    std::fs::write(&tok_file, tokens.join("\n")).map_err(err("tokens file"))?;
    let exe = std::env::current_exe().map_err(err("current_exe"))?;
    // Several processes even when small, so that the multi-process path is exercised.
    let n_workers = n.div_ceil(PER_WORKER).max(2);
    let mut workers = vec![];
    for w in 0..n_workers {
        let mut child = tokio::process::Command::new(&exe)
            .arg("storm-worker")
            .args(["--url", &srv.ws_url("")])
            .args(["--server", &srv.addr.to_string()])
            .args(["--src", &format!("127.0.0.{}", 40 + w)])
            .arg("--tokens")
            .arg(&tok_file)
            .args(["--heartbeat-ms", &hb_ms.to_string()])
            .args(["--intents", &(GUILDS | GUILD_MESSAGES).to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(err("spawn storm worker"))?;
        let stdin = child.stdin.take().ok_or("worker stdin")?;
        let stdout = child.stdout.take().ok_or("worker stdout")?;
        workers.push(Child {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        });
    }
    let r = storm_with(
        ctx,
        srv,
        &api,
        (&owner, &channel),
        n,
        &mut workers,
        (settle, gap),
    )
    .await;
    for mut w in workers {
        drop(w.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
    }
    let _ = std::fs::remove_file(&tok_file);
    r
}

async fn storm_with(
    ctx: &mut Ctx,
    srv: &Server,
    api: &Api,
    (owner, channel): (&str, &str),
    n: usize,
    workers: &mut [Child],
    (settle, gap): (Duration, Duration),
) -> Res<()> {
    let t = Instant::now();
    let per = n.div_ceil(workers.len());
    let mut left = n;
    let mut asks = vec![];
    for w in workers.iter_mut() {
        let k = per.min(left);
        left -= k;
        asks.push(w.ask(format!("go {k}")));
    }
    let mut failed = 0;
    for r in futures_util::future::join_all(asks).await {
        failed += num(&r?, 1);
    }
    if failed > 0 {
        return Err(format!("{failed} sessions failed to identify"));
    }
    eprintln!(
        "  {n} sessions identified in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = srv.rss();

    // The sender: one message every `gap` until told to stop; acknowledged markers.
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (api, owner, channel, stop) = (
            Api::new(&srv.base),
            owner.to_string(),
            channel.to_string(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut acked = vec![];
            for k in 0..MAX_MSGS - 1 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if api
                    .say(&owner, &channel, &format!("{PREFIX}{k}"))
                    .await
                    .is_ok()
                {
                    acked.push(k);
                }
                tokio::time::sleep(gap).await;
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    let cuts =
        futures_util::future::join_all(workers.iter_mut().map(|w| w.ask("cut".into()))).await;
    let all_live = t0.elapsed();
    let rss_storm = srv.rss();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = sender.await.map_err(err("sender"))?;
    // The fence: the last marker; every session has everything once it has this.
    let fence = MAX_MSGS - 1;
    api.say(owner, channel, &format!("{PREFIX}{fence}")).await?;
    acked.push(fence);
    let list = acked
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let checks = futures_util::future::join_all(
        workers
            .iter_mut()
            .map(|w| w.ask(format!("check {fence} {list}"))),
    )
    .await;

    let mut h = hist();
    let (mut ok, mut bad, mut resumed, mut again, mut refused) = (0, 0, 0, 0, 0);
    for c in cuts {
        let c = c?;
        ok += num(&c, 0);
        bad += num(&c, 1);
        resumed += num(&c, 2);
        again += num(&c, 3);
        refused += num(&c, 4);
        for ms in c.get(5).map(|s| s.split(',')).into_iter().flatten() {
            if let Ok(v) = ms.parse::<f64>() {
                let _ = h.record(((v * 1000.0) as u64).max(1));
            }
        }
    }
    let (mut lost, mut dup, mut gaps, mut skipped) = (0, 0, 0, 0);
    for c in checks {
        let c = c?;
        lost += num(&c, 0);
        dup += num(&c, 1);
        gaps += num(&c, 2);
        skipped += num(&c, 3);
    }
    // Memory: back within 10 % of the baseline, checked for at most 10 s (followed for
    // `settle`, one stderr line a second, when that is longer).
    let mut back_in = None;
    let t1 = Instant::now();
    let window = settle.max(Duration::from_secs(10));
    let mut traced = 0;
    if let Some(base) = rss0 {
        while t1.elapsed() < window {
            let rss = srv.rss();
            if back_in.is_none()
                && t1.elapsed() < Duration::from_secs(10)
                && rss.is_some_and(|r| r as f64 <= base as f64 * 1.1)
            {
                back_in = Some(t1.elapsed());
                if settle <= Duration::from_secs(10) {
                    break;
                }
            }
            if settle > Duration::from_secs(10) && t1.elapsed().as_secs() >= traced {
                traced = t1.elapsed().as_secs() + 1;
                eprintln!(
                    "  rss {:>4.1} s after: {:.1} MiB",
                    t1.elapsed().as_secs_f64(),
                    rss.unwrap_or(0) as f64 / 1024.0
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let f = &mut ctx.figs;
    f.add("sessions cut at once", n as f64, "sessions");
    f.target("live again", ok as f64, "sessions", n as f64, false);
    f.add("gave up reconnecting", bad as f64, "sessions");
    f.add("resumed", resumed as f64, "sessions");
    f.add(
        "identified anew (INVALID_SESSION)",
        again as f64,
        "sessions",
    );
    f.add("reconnects refused (4008, retried)", refused as f64, "");
    f.add("time until all live again", all_live.as_secs_f64(), "s");
    f.add("time to RESUMED/READY p50", pct_ms(&h, 0.5), "ms");
    f.add("time to RESUMED/READY p99", pct_ms(&h, 0.99), "ms");
    f.target("sequence gaps", gaps as f64, "", 0.0, true);
    f.add(
        "messages acknowledged during the storm",
        acked.len() as f64,
        "",
    );
    f.target("MESSAGE_CREATE lost", lost as f64, "deliveries", 0.0, true);
    f.target(
        "MESSAGE_CREATE duplicated",
        dup as f64,
        "deliveries",
        0.0,
        true,
    );
    f.add(
        "sessions left out of the check (identified anew)",
        skipped as f64,
        "",
    );
    if let (Some(a), Some(b)) = (rss0, rss_storm) {
        f.add("server RSS before", a as f64 / 1024.0, "MiB");
        f.add("server RSS when all live", b as f64 / 1024.0, "MiB");
        f.add(
            "server RSS 10 s after (or when back)",
            srv.rss().unwrap_or(0) as f64 / 1024.0,
            "MiB",
        );
        f.target(
            "RSS back within 10 % of baseline after",
            back_in.map(|d| d.as_secs_f64()).unwrap_or(f64::INFINITY),
            "s",
            10.0,
            true,
        );
    }
    if ok < n as u64 {
        return Err(format!("{} sessions did not come back", n as u64 - ok));
    }
    Ok(())
}
