//! History pages over HTTP (latency of the newest and of older pages).

use std::time::Instant;

use crate::util::*;
use crate::*;

pub(crate) async fn history(ctx: &mut Ctx, messages: Option<usize>) -> Res<()> {
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

pub(crate) async fn history_run(ctx: &mut Ctx, srv: &Server, n: usize, pages: usize) -> Res<()> {
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
    let pool = srv.open_sqlite().await?;
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
