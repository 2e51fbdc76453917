//! Detached sessions (issue 21): send -> MESSAGE_CREATE latency at a live receiver while N
//! sessions of the same guild have just dropped (no close frame: resumable), beside the same
//! measurement before the drops. Before the shared replay log each dropped session stayed in
//! the guild's audience and received a copy of every dispatch for `replay_seconds`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::util::*;
use crate::*;

pub(crate) async fn detached(ctx: &mut Ctx, sessions: Option<usize>) -> Res<()> {
    let n = sessions.unwrap_or(ctx.by_scale(20, 2_000, 19_000));
    let msgs = ctx.by_scale(20, 300, 1_000);
    ctx.begin("detached", &format!("--sessions {n}"));
    let srv = ctx.server(&Spawn::default()).await?;
    let res = detached_run(ctx, &srv, n, msgs).await;
    srv.stop(false).await;
    res
}

async fn detached_run(ctx: &mut Ctx, srv: &Server, n: usize, msgs: usize) -> Res<()> {
    let api = Api::new(&srv.base);
    let (owner, _, channel, code) = setup_guild(&api, &tag()).await?;
    let rx = api.users(&format!("{}r", tag()), 1, Some(&code)).await?;
    // IDENTIFY is limited to 1,000 a day per user.
    let away = api
        .users(&format!("{}d", tag()), n.div_ceil(900), Some(&code))
        .await?;
    let gap = Duration::from_millis(2);
    let base = latency_in(srv, &api, (&owner, &channel, &rx[0]), msgs, gap, "det0-").await?;

    let t = Instant::now();
    let (url, addr) = (srv.ws_url(""), srv.addr);
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
    let with = latency_in(srv, &api, (&owner, &channel, &rx[0]), msgs, gap, "det1-").await?;

    let (p0, p1) = (pct_ms(&base, 0.99), pct_ms(&with, 0.99));
    ctx.figs
        .add("send -> MESSAGE_CREATE p99, no drops", p0, "ms");
    ctx.figs.add(
        "send -> MESSAGE_CREATE p50, after drops",
        pct_ms(&with, 0.5),
        "ms",
    );
    ctx.figs.target(
        "send -> MESSAGE_CREATE p99, after drops",
        p1,
        "ms",
        p0 * 1.2,
        true,
    );
    ctx.figs.add("dropped sessions", n as f64, "");
    Ok(())
}
