//! Fan-out: one message to every member of a large guild (time to last receiver, CPU per delivery).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::util::*;
use crate::*;

pub(crate) async fn fanout(ctx: &mut Ctx, members: Option<usize>) -> Res<()> {
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
    let res = fanout_run(ctx, &[&srv], None, r, lat_msgs, burst).await;
    srv.stop(false).await;
    res
}

/// The fan-out phases with member `i`'s session on `nodes[i % n]` (one database; REST
/// through the first); CPU is the nodes' sum, and Redis' when `redis` is given.
pub(crate) async fn fanout_run(
    ctx: &mut Ctx,
    nodes: &[&Server],
    redis: Option<&RedisProbe>,
    r: usize,
    lat_msgs: usize,
    burst: usize,
) -> Res<()> {
    let api = Api::new(&nodes[0].base);
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
        let srv = nodes[i % nodes.len()];
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
    if nodes.iter().all(|n| n.pid.is_some()) {
        let t_settle = Instant::now();
        while t_settle.elapsed() < Duration::from_secs(180) {
            let a = cpu_of(nodes).unwrap_or(0.0);
            tokio::time::sleep(Duration::from_secs(1)).await;
            if cpu_of(nodes).unwrap_or(0.0) - a < 0.2 {
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
    let cpu0 = cpu_of(nodes);
    let redis0 = match redis {
        Some(p) => Some(p.sample().await?),
        None => None,
    };
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
    let cpu1 = cpu_of(nodes);
    let me1 = self_cpu();
    let redis1 = match redis {
        Some(p) => Some(p.sample().await?),
        None => None,
    };
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
    if let (Some(a), Some(b)) = (redis0, redis1) {
        b.since(&a).figures(ctx, "delivery (burst)", deliveries);
    }
    ctx.figs.add(
        "load generator CPU per delivery (burst)",
        (me1 - me0) * 1e6 / deliveries,
        "us",
    );
    Ok(())
}
