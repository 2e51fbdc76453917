//! Detached sessions (issue 21): send -> MESSAGE_CREATE latency at a live receiver while 32
//! senders post at a fixed rate (3,000 messages a second at full scale) and N sessions of the
//! same guild (30,000 at full scale) have just dropped (no close frame: resumable), beside the
//! same measurement before the drops. Before the shared replay log each dropped session stayed in
//! the guild's audience and received a copy of every dispatch for `replay_seconds`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::util::*;
use crate::*;

pub(crate) async fn detached(ctx: &mut Ctx, sessions: Option<usize>, rate: Option<u64>) -> Res<()> {
    let n = sessions.unwrap_or(ctx.by_scale(20, 2_000, 30_000));
    let rate = rate.unwrap_or(ctx.by_scale(100, 1_000, 3_000));
    let secs = ctx.by_scale(2, 5, 10);
    ctx.begin("detached", &format!("--sessions {n} --rate {rate}"));
    let srv = ctx.server(&Spawn::default()).await?;
    let res = detached_run(ctx, &srv, n, (rate, secs)).await;
    srv.stop(false).await;
    res
}

async fn detached_run(ctx: &mut Ctx, srv: &Server, n: usize, load: (u64, u64)) -> Res<()> {
    let api = Api::new(&srv.base);
    let (_, _, channel, code) = setup_guild(&api, &tag()).await?;
    let rx = api.users(&format!("{}r", tag()), 1, Some(&code)).await?;
    let senders = api
        .users(&format!("{}w", tag()), SENDERS.min(16), Some(&code))
        .await?;
    // IDENTIFY is limited to 1,000 a day per user.
    let away = api
        .users(&format!("{}d", tag()), n.div_ceil(900), Some(&code))
        .await?;
    let room = (&channel[..], &senders[..], &rx[0][..]);
    let base = loaded_latency(srv, &api, room, load, "det0-").await?;

    let t = Instant::now();
    let (url, addr) = (srv.ws_url(""), srv.addr);
    // Identified and dropped 64 at a time: the server never holds more than that many of
    // these sockets (its open-file limit is below 30,000), but keeps every session.
    let dropped: Vec<Res<()>> = futures_util::stream::iter(0..n)
        .map(|i| {
            let (url, tok) = (url.clone(), away[i % away.len()].clone());
            async move {
                // Dropping the socket without a close frame: the session stays resumable.
                let ws = identify(&url, addr, None, &tok, GUILDS | GUILD_MESSAGES, false).await?;
                drop(ws);
                Ok(())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    dropped.into_iter().collect::<Res<Vec<()>>>()?;
    eprintln!(
        "  {n} sessions identified and dropped in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let with = loaded_latency(srv, &api, room, load, "det1-").await?;

    let (p0, p1) = (pct_ms(&base.0, 0.99), pct_ms(&with.0, 0.99));
    let f = &mut ctx.figs;
    f.add("messages/s sent, no drops", base.1, "msg/s");
    f.add(
        "send -> MESSAGE_CREATE p50, no drops",
        pct_ms(&base.0, 0.5),
        "ms",
    );
    f.add("send -> MESSAGE_CREATE p99, no drops", p0, "ms");
    f.add("messages/s sent, after drops", with.1, "msg/s");
    f.add(
        "send -> MESSAGE_CREATE p50, after drops",
        pct_ms(&with.0, 0.5),
        "ms",
    );
    f.target(
        "send -> MESSAGE_CREATE p99, after drops",
        p1,
        "ms",
        p0 * 1.2,
        true,
    );
    f.add("dropped sessions", n as f64, "");
    Ok(())
}

/// Concurrent senders of [`loaded_latency`] (the issue's load test used 32).
const SENDERS: usize = 32;

/// [`SENDERS`] tasks post to `channel` at `rate` messages a second in all for `secs`
/// seconds (each paced, users taken in turn from `senders`) while `rx`'s session reads them:
/// the histogram of REST send -> MESSAGE_CREATE at `rx` (microseconds) and the rate achieved.
/// Errors: a send that fails, or a message not delivered within 10 s of the last send.
async fn loaded_latency(
    srv: &Server,
    api: &Api,
    (channel, senders, rx): (&str, &[String], &str),
    (rate, secs): (u64, u64),
    prefix: &str,
) -> Res<(hdrhistogram::Histogram<u64>, f64)> {
    let total = (rate * secs) as usize;
    let sent: Arc<Vec<OnceLock<Instant>>> = Arc::new((0..total).map(|_| OnceLock::new()).collect());
    let mut markers = super::sends::Markers::open(srv, rx, prefix).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let every = Duration::from_secs_f64(SENDERS as f64 / rate.max(1) as f64);
    let t0 = Instant::now();
    let mut tasks = vec![];
    for i in 0..SENDERS {
        let (api, tok, channel) = (
            api.clone(),
            senders[i % senders.len()].clone(),
            channel.to_string(),
        );
        let (sent, next, prefix) = (sent.clone(), next.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + every.mul_f64(i as f64 / SENDERS as f64);
            let mut tick = tokio::time::interval_at(start, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= sent.len() {
                    return Ok::<_, String>(());
                }
                let _ = sent[k].set(Instant::now());
                api.say(&tok, &channel, &format!("{prefix}{k}")).await?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(err("sender"))??;
    }
    let achieved = total as f64 / t0.elapsed().as_secs_f64();
    let mut h = hist();
    let mut seen = vec![false; total];
    let mut left = total;
    while left > 0 {
        let (k, at) = tokio::time::timeout(Duration::from_secs(10), markers.arrivals.recv())
            .await
            .map_err(|_| format!("{left} of {total} MESSAGE_CREATEs not delivered within 10 s"))?
            .ok_or("receiver ended")?;
        if k < total && !std::mem::replace(&mut seen[k], true) {
            let t = sent[k].get().ok_or("a delivery before its send")?;
            h.record(at.duration_since(*t).as_micros().max(1) as u64)
                .map_err(err("hist"))?;
            left -= 1;
        }
    }
    markers.close().await;
    Ok((h, achieved))
}
