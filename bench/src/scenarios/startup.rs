//! Login storm (chat latency while logins hash passwords) and cold start (time and memory).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::util::*;
use crate::*;

pub(crate) async fn login_storm(ctx: &mut Ctx) -> Res<()> {
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

pub(crate) async fn storm_run(ctx: &mut Ctx, srv: &Server, rate: f64, secs: f64) -> Res<()> {
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

pub(crate) async fn cold_start(ctx: &mut Ctx) -> Res<()> {
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
        // A restart after a graceful stop (a crashed process's node-id claim would make the
        // next start wait up to 3 s for it to lapse: README "Node ids").
        srv.stop_gracefully(true).await?;
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
