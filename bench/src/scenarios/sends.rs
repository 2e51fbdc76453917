//! Persisted sends (throughput and ack latency per backend) and send -> MESSAGE_CREATE latency.

use std::time::{Duration, Instant};

use crate::util::*;
use crate::*;

pub(crate) async fn sends(ctx: &mut Ctx, db: DbChoice, concurrency: Option<usize>) -> Res<()> {
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
        let r = sends_run(ctx, &[&srv], v, conc, secs).await;
        srv.stop(false).await;
        r?;
    }
    Ok(())
}

/// `conc` senders for `secs` seconds, sender `i` through `nodes[i % n]` (one database);
/// returns how many messages were sent. CPU is the nodes' sum.
pub(crate) async fn sends_run(
    ctx: &mut Ctx,
    nodes: &[&Server],
    v: DbChoice,
    conc: usize,
    secs: u64,
) -> Res<u64> {
    let apis: Vec<Api> = nodes.iter().map(|n| Api::new(&n.base)).collect();
    let (_, _, channel, code) = setup_guild(&apis[0], &tag()).await?;
    let users = apis[0]
        .users(&format!("{}s", tag()), conc.min(16), Some(&code))
        .await?;
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let t0 = Instant::now();
    let cpu0 = cpu_of(nodes);
    let mut tasks = Vec::new();
    for i in 0..conc {
        let (api, tok, channel) = (
            apis[i % apis.len()].clone(),
            users[i % users.len()].clone(),
            channel.clone(),
        );
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
    let cpu1 = cpu_of(nodes);
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
    Ok(h.len())
}

// ---------------------------------------------------------------------------------------
// latency

/// Sends `n` messages one every `gap` and returns the histogram of REST send ->
/// MESSAGE_CREATE at another user's gateway session (microseconds).
pub(crate) async fn chat_latency(
    srv: &Server,
    api: &Api,
    n: usize,
    gap: Duration,
    prefix: &str,
) -> Res<hdrhistogram::Histogram<u64>> {
    let (owner, _, channel, code) = setup_guild(api, &tag()).await?;
    let rx_tok = api.users(&format!("{}r", tag()), 1, Some(&code)).await?;
    latency_in(srv, api, (&owner, &channel, &rx_tok[0]), n, gap, prefix).await
}

/// [`chat_latency`] in an existing channel: `owner` sends, `rx` receives.
pub(crate) async fn latency_in(
    srv: &Server,
    api: &Api,
    (owner, channel, rx): (&str, &str, &str),
    n: usize,
    gap: Duration,
    prefix: &str,
) -> Res<hdrhistogram::Histogram<u64>> {
    let mut markers = Markers::open(srv, rx, prefix).await?;
    let mut h = hist();
    let mut next = tokio::time::interval(gap);
    for k in 0..n {
        next.tick().await;
        let t = Instant::now();
        api.say(owner, channel, &format!("{prefix}{k}")).await?;
        loop {
            let (got, at) = tokio::time::timeout(Duration::from_secs(10), markers.arrivals.recv())
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
    markers.close().await;
    Ok(h)
}

/// A gateway session (GUILD_MESSAGES) reading the MESSAGE_CREATEs whose content is a prefix
/// and a number: `(number, arrival)` on `arrivals`.
pub(crate) struct Markers {
    pub arrivals: tokio::sync::mpsc::UnboundedReceiver<(usize, Instant)>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Markers {
    /// Identifies `token` on `srv` and reads its dispatches for markers `prefix{k}`.
    pub(crate) async fn open(srv: &Server, token: &str, prefix: &str) -> Res<Markers> {
        let ws = identify(
            &srv.ws_url(""),
            srv.addr,
            None,
            token,
            GUILD_MESSAGES,
            false,
        )
        .await?;
        let (tx, arrivals) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
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
        Ok(Markers {
            arrivals,
            stop,
            task,
        })
    }

    /// Closes the session.
    pub(crate) async fn close(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

pub(crate) async fn latency(ctx: &mut Ctx) -> Res<()> {
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
