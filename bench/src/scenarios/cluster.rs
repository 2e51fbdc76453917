//! Scale-out (issue 18, README "Scale-out", spec/cluster.md): `hearth` nodes sharing one
//! PostgreSQL database and one Redis key prefix, measured beside a single node in the same
//! run.
//!
//! - **sends**: persisted sends (REST, `conc` senders spread over the nodes) with one node
//!   without Redis, then 1, 2 and 3 nodes with it: msg/s, ack p50/p99, CPU per message of
//!   the nodes together and of Redis, Redis commands per message.
//! - **fanout**: one message to M members on one node without Redis, then with their
//!   sessions spread over 3 nodes, without and with crash records (`cluster.crash_resume`,
//!   spec/cluster.md §9.1) (the `fanout` scenario's phases): time to the last receiver,
//!   deliveries/s, CPU per delivery of the nodes and of Redis, Redis commands per delivery.
//! - **drain**: S sessions on one of 3 nodes, which is sent SIGTERM while a sender posts
//!   through another; each client RESUMEs on another node as soon as it gets op 7: time
//!   from SIGTERM to the last RESUMED, op 7 -> RESUMED p50/p99, and every message counted
//!   (sequence gaps, lost and duplicated MESSAGE_CREATEs).
//! - **crash**: the same with SIGKILL instead of SIGTERM: each client RESUMEs on another
//!   node as soon as its connection ends (spec/cluster.md §9.1): time from SIGKILL to the
//!   last RESUMED, connection end -> RESUMED p50/p99, and every message counted.
//!
//! - **idle**: N identified idle sessions spread over 3 nodes, beside a third of them on one
//!   node without Redis: memory per session and heartbeat CPU of the nodes together, Redis
//!   CPU and commands while nothing happens.
//!
//! Redis is the one at `HEARTH_BENCH_REDIS` (default `redis://127.0.0.1:6379`); its CPU is
//! the whole server's, so nothing else should use it during a run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::util::*;
use crate::*;

fn redis_url() -> String {
    std::env::var("HEARTH_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `n` spawned nodes on one new PostgreSQL database (and one Redis key prefix with
/// `redis`), started one after the other (the first migrates).
struct Nodes {
    servers: Vec<Server>,
    db: String,
    prefix: String,
}

impl Nodes {
    async fn start(ctx: &Ctx, n: usize, redis: bool, env: &[(String, String)]) -> Res<Nodes> {
        let db = format!("hearth_bench_cl_{:08x}", rand::random::<u32>());
        hearth_testkit::db::create_pg_database(&db).await?;
        let prefix = format!("hearth-bench-{:08x}:", rand::random::<u32>());
        let mut nodes = Nodes {
            servers: vec![],
            db: db.clone(),
            prefix: prefix.clone(),
        };
        for i in 0..n {
            let mut vars = vec![
                (
                    "HEARTH_DATABASE_URL".to_string(),
                    hearth_testkit::db::pg_url(&db),
                ),
                ("HEARTH_NODE__ID".into(), format!("bench-{i}")),
            ];
            if redis {
                vars.push(("HEARTH_CLUSTER__REDIS_URL".into(), redis_url()));
                vars.push(("HEARTH_CLUSTER__REDIS_KEY_PREFIX".into(), prefix.clone()));
            }
            vars.extend(env.iter().cloned());
            match ctx
                .server(&Spawn {
                    env: vars,
                    ..Spawn::default()
                })
                .await
            {
                Ok(s) => nodes.servers.push(s),
                Err(e) => {
                    nodes.stop().await;
                    return Err(e);
                }
            }
        }
        Ok(nodes)
    }

    fn all(&self) -> Vec<&Server> {
        self.servers.iter().collect()
    }

    /// Stops every node, drops the database and deletes the prefix's keys.
    async fn stop(self) {
        for s in self.servers {
            s.stop(false).await;
        }
        let _ = pg_exec(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.db
        ))
        .await;
        if let Ok(client) = redis::Client::open(redis_url())
            && let Ok(mut con) = client.get_multiplexed_async_connection().await
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.prefix))
                .query_async(&mut con)
                .await
                .unwrap_or_default();
            for chunk in keys.chunks(1000) {
                let _: redis::RedisResult<()> =
                    redis::cmd("DEL").arg(chunk).query_async(&mut con).await;
            }
        }
    }
}

pub(crate) async fn cluster(
    ctx: &mut Ctx,
    members: Option<usize>,
    sessions: Option<usize>,
    idle_sessions: Option<usize>,
    only: &[String],
) -> Res<()> {
    let run = |phase: &str| only.is_empty() || only.iter().any(|p| p == phase);
    if ctx.target.is_some() {
        return Err("the cluster scenario spawns its own nodes (no --target)".into());
    }
    if pg_exec("SELECT 1").await.is_err() {
        return Err("PostgreSQL at 127.0.0.1:5432 is not reachable".into());
    }
    let probe = RedisProbe::connect(&redis_url()).await?;
    // Persisted sends: one node without Redis, then 1, 2 and 3 nodes with it.
    let conc = ctx.by_scale(4, 32, 64);
    let secs = ctx.by_scale(2, 5, 10);
    let variants: &[(usize, bool)] = if run("sends") {
        &[(1, false), (1, true), (2, true), (3, true)]
    } else {
        &[]
    };
    for &(n, redis) in variants {
        let label = if redis {
            format!("--nodes {n}")
        } else {
            "--nodes 1 --no-redis".to_string()
        };
        ctx.begin("cluster-sends", &format!("{label} --concurrency {conc}"));
        let nodes = Nodes::start(ctx, n, redis, &[]).await?;
        let r0 = probe.sample().await?;
        let sent = sends_run(ctx, &nodes.all(), DbChoice::Postgres, conc, secs).await;
        let r1 = probe.sample().await?;
        nodes.stop().await;
        let sent = sent?;
        if redis {
            r1.since(&r0).figures(ctx, "message", sent.max(1) as f64);
        }
    }
    // Fan-out: one node without Redis, then three nodes.
    let r = members.unwrap_or(ctx.by_scale(30, 1_000, 10_000));
    let (lat_msgs, burst) = (ctx.by_scale(5, 30, 100), ctx.by_scale(10, 50, 200));
    let variants: &[(usize, bool, bool)] = if run("fanout") {
        &[(1, false, false), (3, true, false), (3, true, true)]
    } else {
        &[]
    };
    for &(n, redis, records) in variants {
        let label = match (redis, records) {
            (false, _) => "--nodes 1 --no-redis",
            (true, false) => "--nodes 3",
            (true, true) => "--nodes 3 --crash-records",
        };
        let env = [
            (
                "HEARTH_GATEWAY__SESSION_QUEUE".to_string(),
                (burst * 2).max(1024).to_string(),
            ),
            (
                "HEARTH_CLUSTER__CRASH_RESUME".to_string(),
                records.to_string(),
            ),
        ];
        ctx.begin("cluster-fanout", &format!("{label} --members {r}"));
        let nodes = Nodes::start(ctx, n, redis, &env).await?;
        let probe = redis.then_some(&probe);
        let res = fanout_run(ctx, &nodes.all(), probe, r, lat_msgs, burst).await;
        nodes.stop().await;
        res?;
    }
    // A drained node's sessions resume on the others; then a killed node's, from their
    // crash records.
    for (phase, crash) in [("drain", false), ("crash", true)] {
        if !run(phase) {
            continue;
        }
        let s = sessions.unwrap_or(ctx.by_scale(20, 500, 5_000));
        ctx.begin(
            &format!("cluster-{phase}"),
            &format!("--nodes 3 --sessions {s}"),
        );
        let env = [(
            "HEARTH_CLUSTER__CRASH_RESUME".to_string(),
            crash.to_string(),
        )];
        let nodes = Nodes::start(ctx, 3, true, &env).await?;
        let res = drain_run(ctx, &nodes, s, crash).await;
        nodes.stop().await;
        res?;
    }
    // Idle sessions: a third of them on one node without Redis, then all of them spread
    // over 3 nodes with Redis (the `idle` scenario's run: memory slope and heartbeat CPU,
    // summed over the nodes, and Redis while nothing happens).
    if run("idle") {
        let n = idle_sessions.unwrap_or(ctx.by_scale(30, 3_000, 50_000));
        let hb_ms: u64 = ctx.by_scale(1_000, 41_250, 41_250);
        let hold = Duration::from_secs(ctx.by_scale(2, 10, 45));
        let env = [(
            "HEARTH_GATEWAY__HEARTBEAT_INTERVAL_MS".to_string(),
            hb_ms.to_string(),
        )];
        for (nodes_n, redis, k) in [(1, false, n / 3), (3, true, n)] {
            let label = if redis {
                "3 nodes".to_string()
            } else {
                "1 node, no Redis".to_string()
            };
            ctx.begin("cluster-idle", &format!("--nodes {nodes_n} --sessions {k}"));
            let nodes = Nodes::start(ctx, nodes_n, redis, &env).await?;
            let over = IdleOver {
                servers: nodes.all(),
                redis: redis.then_some(&probe),
                targets: false,
            };
            let res = idle_run(ctx, &over, "", &label, k, hold, hb_ms, GUILDS).await;
            nodes.stop().await;
            res?;
        }
    }
    Ok(())
}

/// What one session of the drain saw.
#[derive(Default)]
struct Seen {
    /// op 7 -> RESUMED, µs; `None`: not resumed.
    resumed_in: Option<u64>,
    /// When RESUMED arrived, µs after the SIGTERM.
    resumed_at: Option<u64>,
    gaps: u64,
    /// Times each message `dr-k` arrived.
    got: Vec<u8>,
    invalid: bool,
}

/// The drain (`crash`: SIGKILL instead of SIGTERM, and clients resume when their
/// connection ends rather than after op 7).
async fn drain_run(ctx: &mut Ctx, nodes: &Nodes, s: usize, crash: bool) -> Res<()> {
    let holder = &nodes.servers[0];
    let api = Api::new(&nodes.servers[1].base);
    let (owner, _, channel, code) = setup_guild(&api, &tag()).await?;
    let tokens = api.users(&format!("{}d", tag()), s, Some(&code)).await?;
    // One message every 20 ms: room for more than three minutes.
    let max_msgs = 10_000;
    let seen: Vec<Arc<Mutex<Seen>>> = (0..s)
        .map(|_| {
            Arc::new(Mutex::new(Seen {
                got: vec![0; max_msgs],
                ..Seen::default()
            }))
        })
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let term_at: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut ready = vec![];
    for (i, tok) in tokens.iter().enumerate() {
        let others: Vec<(String, std::net::SocketAddr)> = nodes.servers[1..]
            .iter()
            .map(|n| (n.ws_url(""), n.addr))
            .collect();
        let back = others[i % others.len()].clone();
        let (url, addr, tok, sem, stop, seen, term_at) = (
            holder.ws_url(""),
            holder.addr,
            tok.clone(),
            sem.clone(),
            stop_rx.clone(),
            seen[i].clone(),
            term_at.clone(),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<Res<()>>();
        tokio::spawn(async move {
            let p = sem.acquire_owned().await;
            let start = start_session(&url, addr, &tok).await;
            drop(p);
            match start {
                Ok((ws, id)) => {
                    let _ = tx.send(Ok(()));
                    drain_client(ws, id, &tok, back, stop, seen, term_at, crash).await;
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
    // A sender through node 2, before, during and after the drain.
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (sender_stop_tx, mut sender_stop) = tokio::sync::watch::channel(false);
    let sender = {
        let (api, owner, channel, sent) =
            (api.clone(), owner.clone(), channel.clone(), sent.clone());
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_millis(20));
            loop {
                tokio::select! {
                    _ = sender_stop.changed() => return Ok::<(), String>(()),
                    _ = t.tick() => {}
                }
                let k = sent.load(std::sync::atomic::Ordering::Relaxed);
                if k >= max_msgs {
                    return Ok(());
                }
                api.say(&owner, &channel, &format!("dr-{k}")).await?;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = holder.pid.ok_or("the holder is not a spawned node")?;
    let t0 = Instant::now();
    let _ = term_at.set(t0);
    signal(pid, if crash { "-KILL" } else { "-TERM" })?;
    // Until every session resumed (or gave up), then a little traffic more.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut done = 0;
        for x in &seen {
            let x = x.lock().await;
            if x.resumed_at.is_some() || x.invalid {
                done += 1;
            }
        }
        if done == s || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = sender_stop_tx.send(true);
    sender.await.map_err(err("sender"))??;
    let n_sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    // Every message sent is delivered (bounded wait).
    let settle = Instant::now() + Duration::from_secs(20);
    loop {
        let mut missing = 0;
        for x in &seen {
            let x = x.lock().await;
            if !x.invalid {
                missing += x.got[..n_sent].iter().filter(|c| **c == 0).count();
            }
        }
        if missing == 0 || Instant::now() > settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let mut h = hist();
    let (mut resumed, mut invalid, mut gaps, mut lost, mut dup, mut last) = (0, 0, 0, 0, 0, 0u64);
    for x in &seen {
        let x = x.lock().await;
        if let (Some(d), Some(at)) = (x.resumed_in, x.resumed_at) {
            resumed += 1;
            h.record(d.max(1)).map_err(err("hist"))?;
            last = last.max(at);
        }
        invalid += usize::from(x.invalid);
        gaps += x.gaps;
        // A refused session identifies anew: what it missed is not owed to it.
        if !x.invalid {
            lost += x.got[..n_sent].iter().filter(|c| **c == 0).count();
        }
        dup += x.got[..n_sent].iter().filter(|c| **c > 1).count();
    }
    eprintln!("  {n_sent} messages sent; {resumed} of {s} sessions resumed, {invalid} refused");
    ctx.figs.add(
        "sessions resumed on another node",
        resumed as f64,
        "sessions",
    );
    ctx.figs.add(
        "RESUMEs refused (INVALID_SESSION)",
        invalid as f64,
        "sessions",
    );
    let (signal, cue) = if crash {
        ("SIGKILL", "connection lost")
    } else {
        ("SIGTERM", "op 7")
    };
    ctx.figs.add(
        &format!("{signal} -> last session RESUMED"),
        last as f64 / 1e6,
        "s",
    );
    ctx.figs
        .add(&format!("{cue} -> RESUMED p50"), pct_ms(&h, 0.5), "ms");
    ctx.figs
        .add(&format!("{cue} -> RESUMED p99"), pct_ms(&h, 0.99), "ms");
    ctx.figs
        .target("sequence gaps", gaps as f64, "gaps", 0.0, true);
    ctx.figs.target(
        "MESSAGE_CREATEs lost (resumed sessions)",
        lost as f64,
        "messages",
        0.0,
        true,
    );
    ctx.figs.target(
        "MESSAGE_CREATEs duplicated",
        dup as f64,
        "messages",
        0.0,
        true,
    );
    Ok(())
}

/// IDENTIFY (GUILD_MESSAGES) on `url`; the socket and the session id from READY.
async fn start_session(url: &str, addr: std::net::SocketAddr, tok: &str) -> Res<(Ws, String)> {
    let mut ws = ws_connect(url, addr, None).await?;
    next_frame(&mut ws).await?;
    send_identify(&mut ws, tok, GUILD_MESSAGES).await?;
    loop {
        if let Message::Text(t) = next_frame(&mut ws).await?
            && t.contains("\"READY\"")
        {
            let v: Value = serde_json::from_str(&t).map_err(err("READY"))?;
            let id = v["d"]["session_id"]
                .as_str()
                .ok_or("READY without session_id")?;
            return Ok((ws, id.to_string()));
        }
    }
}

/// One session of the drain: reads (checking seqs and counting `dr-k`), and on op 7 (with
/// `crash`, when its connection ends) RESUMEs at once on `back`.
#[allow(clippy::too_many_arguments)]
async fn drain_client(
    mut ws: Ws,
    id: String,
    tok: &str,
    back: (String, std::net::SocketAddr),
    mut stop: tokio::sync::watch::Receiver<bool>,
    seen: Arc<Mutex<Seen>>,
    term_at: Arc<std::sync::OnceLock<Instant>>,
    crash: bool,
) {
    let mut seq = 1u64;
    let mut op7: Option<Instant> = None;
    let mut hb = tokio::time::interval(Duration::from_secs(20));
    loop {
        let m = tokio::select! {
            _ = stop.changed() => return,
            _ = hb.tick() => {
                let _ = ws.send(Message::Text(json!({"op": 1, "d": seq}).to_string().into())).await;
                continue;
            }
            m = ws.next() => m,
        };
        let text = match m {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            // The drained node closed the connection after op 7 (or the node died): resume
            // elsewhere.
            _ if op7.is_some() || crash => {
                if crash {
                    if op7.is_some() {
                        // The resumed connection ended too.
                        return;
                    }
                    op7 = Some(Instant::now());
                }
                let Ok(mut fresh) = ws_connect(&back.0, back.1, None).await else {
                    seen.lock().await.invalid = true;
                    return;
                };
                let _ = next_frame(&mut fresh).await;
                let resume = json!({"op": 6, "d": {"token": tok, "session_id": id, "seq": seq}});
                if fresh
                    .send(Message::Text(resume.to_string().into()))
                    .await
                    .is_err()
                {
                    seen.lock().await.invalid = true;
                    return;
                }
                ws = fresh;
                continue;
            }
            _ => return,
        };
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => continue,
        };
        match v["op"].as_u64() {
            Some(7) => op7 = Some(Instant::now()),
            Some(9) => {
                seen.lock().await.invalid = true;
                return;
            }
            Some(0) => {
                let s = v["s"].as_u64().unwrap_or(0);
                let mut x = seen.lock().await;
                if s != seq + 1 {
                    x.gaps += 1;
                }
                seq = s;
                if v["t"] == "RESUMED" {
                    if let (Some(t7), Some(t0)) = (op7, term_at.get()) {
                        x.resumed_in = Some(t7.elapsed().as_micros() as u64);
                        x.resumed_at = Some(t0.elapsed().as_micros() as u64);
                    }
                } else if let Some(k) = marker(&text, "dr-")
                    && k < x.got.len()
                {
                    x.got[k] = x.got[k].saturating_add(1);
                }
            }
            _ => {}
        }
    }
}
