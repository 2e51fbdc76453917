//! Message search (issue 15): send throughput with the full-text index maintained and without
//! it, and search latency over many messages seeded straight into the database, as `history`
//! does. SQLite: the FTS5 triggers (migrations 0024 and 0046, read back from the database so
//! that any build's own are restored) dropped, then restored and the index rebuilt. Where the
//! server indexes after the send (the search backlog of migration 0046), the time until the
//! backlog is empty is measured after each indexed round and after seeding, before anything
//! else runs, so its work never lands in the next measurement. PostgreSQL (`--db postgres`): the stored
//! vector column of migration 0045 (with its GIN index) dropped and added again; it indexes
//! the seeded messages, then
//! `VACUUM ANALYZE` runs as autovacuum would after such a load (statistics, GIN's pending
//! list merged) before the searches.

use std::time::{Duration, Instant};

use crate::util::*;
use crate::*;

/// The stored vector and its GIN index (`migrations/postgres/0045_message_search_vector.sql`).
const PG_INDEX: &[&str] = &[
    "ALTER TABLE messages ADD COLUMN search_vector tsvector \
     GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED",
    "CREATE INDEX messages_search_vector ON messages USING GIN (search_vector)",
];

/// A word of the seeded vocabulary: `w0` ... `w{VOCAB-1}`; word `i` is picked with a
/// probability falling with `i` (a few common words, many rare ones).
const VOCAB: u64 = 5_000;

fn word() -> String {
    let r = rand::random::<f64>();
    format!("w{}", ((r * r * r) * VOCAB as f64) as u64)
}

/// The server's database, opened beside it.
enum Store {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Store {
    async fn open(srv: &Server) -> Res<Store> {
        if let Some(name) = &srv.pg_db {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&hearth_testkit::db::pg_url(name))
                .await
                .map_err(err("open the PostgreSQL database"))?;
            return Ok(Store::Postgres(pool));
        }
        Ok(Store::Sqlite(srv.open_sqlite().await?))
    }

    async fn exec(&self, q: &str) -> Res<()> {
        let q = sqlx::AssertSqlSafe(q.to_owned());
        match self {
            Store::Sqlite(p) => sqlx::query(q).execute(p).await.map(|_| ()),
            Store::Postgres(p) => sqlx::query(q).execute(p).await.map(|_| ()),
        }
        .map_err(err("index"))
    }

    /// Stops maintaining the full-text index; returns what [`Store::index_on`] needs to
    /// restore it (SQLite: the statements of the server's own FTS5 triggers).
    async fn index_off(&self) -> Res<Vec<String>> {
        match self {
            Store::Sqlite(p) => {
                let triggers: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'messages_fts_%'",
                )
                .fetch_all(p)
                .await
                .map_err(err("read the triggers"))?;
                if triggers.is_empty() {
                    return Err("no messages_fts_* trigger in the database".into());
                }
                for (name, _) in &triggers {
                    self.exec(&format!("DROP TRIGGER {name}")).await?;
                }
                Ok(triggers.into_iter().map(|(_, sql)| sql).collect())
            }
            // The column goes with its index: sends then neither compute nor index a vector.
            Store::Postgres(_) => {
                self.exec("ALTER TABLE messages DROP COLUMN search_vector")
                    .await?;
                Ok(vec![])
            }
        }
    }

    /// Maintains the full-text index again, over every message (`triggers` from
    /// [`Store::index_off`]). SQLite: the triggers and the rebuild in one transaction.
    async fn index_on(&self, triggers: &[String]) -> Res<()> {
        match self {
            Store::Sqlite(p) => {
                let mut tx = p
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(err("begin"))?;
                for t in triggers {
                    sqlx::query(sqlx::AssertSqlSafe(t.clone()))
                        .execute(&mut *tx)
                        .await
                        .map_err(err("create a trigger"))?;
                }
                sqlx::query("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
                    .execute(&mut *tx)
                    .await
                    .map_err(err("rebuild"))?;
                tx.commit().await.map_err(err("commit"))
            }
            Store::Postgres(_) => {
                for q in PG_INDEX {
                    self.exec(q).await?;
                }
                Ok(())
            }
        }
    }

    /// Waits until the server's search backlog (SQLite, migration 0046) is empty; returns
    /// how long that took, or `None` where there is no backlog (PostgreSQL, or a build that
    /// indexes inside the send).
    async fn backlog_drained(&self) -> Res<Option<Duration>> {
        let Store::Sqlite(p) = self else {
            return Ok(None);
        };
        let (exists,): (bool,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_backlog')",
        )
        .fetch_one(p)
        .await
        .map_err(err("look for the backlog"))?;
        if !exists {
            return Ok(None);
        }
        let t0 = Instant::now();
        loop {
            let (any,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM search_backlog)")
                .fetch_one(p)
                .await
                .map_err(err("look at the backlog"))?;
            if !any {
                return Ok(Some(t0.elapsed()));
            }
            if t0.elapsed() > Duration::from_secs(600) {
                return Err("the search backlog is not empty after 600 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Inserts messages `(id, content)` of `author` in channel `c` of guild `g`, in one
    /// transaction; the index takes them in.
    async fn seed(&self, rows: Vec<(i64, String)>, c: i64, g: i64, author: i64) -> Res<()> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await.map_err(err("begin"))?;
                for (id, text) in rows {
                    sqlx::query("INSERT INTO messages (id, channel_id, guild_id, author_id, content) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id)
                        .bind(c)
                        .bind(g)
                        .bind(author)
                        .bind(text)
                        .execute(&mut *tx)
                        .await
                        .map_err(err("insert"))?;
                }
                tx.commit().await.map_err(err("commit"))
            }
            Store::Postgres(pool) => {
                let (ids, texts): (Vec<i64>, Vec<String>) = rows.into_iter().unzip();
                sqlx::query("INSERT INTO messages (id, channel_id, guild_id, author_id, content) SELECT id, $2, $3, $4, content FROM UNNEST($1::bigint[], $5::text[]) AS t(id, content)")
                    .bind(ids)
                    .bind(c)
                    .bind(g)
                    .bind(author)
                    .bind(texts)
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .map_err(err("insert"))
            }
        }
    }

    /// PostgreSQL: `VACUUM ANALYZE messages`, what autovacuum does after a bulk load (its
    /// thresholds are passed after a million inserts): statistics for the planner and GIN's
    /// pending list merged into the index. SQLite: nothing (FTS5 needs neither).
    async fn settle(&self) -> Res<()> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(_) => self.exec("VACUUM ANALYZE messages").await,
        }
    }

    async fn close(self) {
        match self {
            Store::Sqlite(p) => p.close().await,
            Store::Postgres(p) => p.close().await,
        }
    }
}

/// Sends from `conc` senders for `secs`; returns `(messages/s, ack p99 ms)`.
async fn send_rate(
    api: &Api,
    users: &[String],
    channel: &str,
    conc: usize,
    secs: u64,
) -> Res<(f64, f64)> {
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..conc {
        let (api, tok, channel) = (
            api.clone(),
            users[i % users.len()].clone(),
            channel.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut h = hist();
            let mut k = 0u64;
            while Instant::now() < stop_at {
                let t = Instant::now();
                let text = format!("indexed send {i} {k} {} {} {}", word(), word(), word());
                api.say(&tok, &channel, &text).await?;
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
    Ok((
        h.len() as f64 / t0.elapsed().as_secs_f64(),
        pct_ms(&h, 0.99),
    ))
}

pub(crate) async fn search(ctx: &mut Ctx, messages: Option<usize>, db: DbChoice) -> Res<()> {
    let n = messages.unwrap_or(ctx.by_scale(2_000, 100_000, 1_000_000));
    let conc = ctx.by_scale(4, 32, 64);
    let secs = ctx.by_scale(2, 5, 10);
    let queries = ctx.by_scale(30, 300, 1_000);
    let postgres = db == DbChoice::Postgres;
    let name = if postgres { "postgres" } else { "sqlite" };
    ctx.begin("search", &format!("--messages {n} --db {name}"));
    if ctx.target.is_some() {
        eprintln!("  search changes the database directly: not available with --target");
        return Ok(());
    }
    if postgres && pg_exec("SELECT 1").await.is_err() {
        eprintln!("  PostgreSQL at 127.0.0.1:5432 is not reachable: skipped");
        return Ok(());
    }
    let sp = Spawn {
        postgres,
        ..Spawn::default()
    };
    let srv = ctx.server(&sp).await?;
    let r = search_run(ctx, &srv, n, conc, secs, queries).await;
    srv.stop(false).await;
    r
}

async fn search_run(
    ctx: &mut Ctx,
    srv: &Server,
    n: usize,
    conc: usize,
    secs: u64,
    queries: usize,
) -> Res<()> {
    let api = Api::new(&srv.base);
    let (owner, gid, channel, code) = setup_guild(&api, &tag()).await?;
    let users = api
        .users(&format!("{}q", tag()), conc.min(16), Some(&code))
        .await?;
    let store = Store::open(srv).await?;
    let postgres_store = matches!(store, Store::Postgres(_));

    // Sends with the index on, off, on again (the order evens out a drift of the machine).
    let mut on = vec![];
    let mut off = vec![];
    let mut catch_up: Option<Duration> = None;
    for round in 0..3 {
        let indexed = round != 1;
        let saved = if indexed {
            vec![]
        } else {
            store.index_off().await?
        };
        let r = send_rate(&api, &users, &channel, conc, secs).await?;
        eprintln!(
            "  sends with the index {}: {:.0} msg/s, ack p99 {:.2} ms",
            if indexed { "on" } else { "off" },
            r.0,
            r.1
        );
        if indexed {
            if let Some(t) = store.backlog_drained().await? {
                eprintln!(
                    "  the index caught up {:.2} s after the round",
                    t.as_secs_f64()
                );
                catch_up = Some(catch_up.map_or(t, |c| c.max(t)));
            }
            on.push(r);
        } else {
            store.index_on(&saved).await?;
            off.push(r);
        }
    }
    let on_rate = on.iter().map(|r| r.0).sum::<f64>() / on.len() as f64;
    let off_rate = off[0].0;
    ctx.figs
        .add("sends/s, index on (mean of 2 runs)", on_rate, "msg/s");
    ctx.figs.add("sends/s, index off", off_rate, "msg/s");
    ctx.figs.add(
        "ack p99, index on (worse of 2 runs)",
        on.iter().map(|r| r.1).fold(0.0, f64::max),
        "ms",
    );
    ctx.figs.add("ack p99, index off", off[0].1, "ms");
    if let Some(t) = catch_up {
        ctx.figs.add(
            "index caught up after a send round (worse of 2)",
            t.as_secs_f64(),
            "s",
        );
    }
    ctx.figs.add(
        "send throughput with index / without",
        on_rate / off_rate,
        "x",
    );

    // Seeding: n messages of 8 words straight into the database, indexed as they go in (or,
    // with a search backlog, by the server right after).
    let me = api
        .ok(reqwest::Method::GET, "/users/@me", Some(&owner), None)
        .await?;
    let author: i64 = s(&me["id"]).parse().map_err(err("user id"))?;
    let (g, c): (i64, i64) = (
        gid.parse().map_err(err("guild id"))?,
        channel.parse().map_err(err("channel id"))?,
    );
    let sf = hearth::snowflake::SnowflakeGenerator::new(30, 30);
    let t0 = Instant::now();
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(50_000);
        let rows = (0..chunk)
            .map(|_| {
                let text = (0..8).map(|_| word()).collect::<Vec<_>>().join(" ");
                (sf.next().db(), text)
            })
            .collect();
        store.seed(rows, c, g, author).await?;
        done += chunk;
    }
    eprintln!(
        "  seeded {n} messages with their index in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if let Some(t) = store.backlog_drained().await? {
        eprintln!(
            "  the index caught up with the seeded messages {:.1} s later",
            t.as_secs_f64()
        );
    }
    let t1 = Instant::now();
    store.settle().await?;
    store.close().await;
    if postgres_store {
        eprintln!(
            "  VACUUM ANALYZE (as autovacuum after a bulk load) in {:.1} s",
            t1.elapsed().as_secs_f64()
        );
    }

    // Guild searches through REST: a common word, a rare word, two words, a prefix.
    let mut h = hist();
    let mut h_common = hist();
    for i in 0..queries {
        let content = match i % 4 {
            0 => "w1".to_owned(),
            1 => word(),
            2 => format!("{} {}", word(), word()),
            _ => format!("w{}*", rand::random::<u64>() % 50),
        };
        let path = format!(
            "/guilds/{gid}/messages/search?content={}",
            content.replace('*', "%2A").replace(' ', "%20")
        );
        let t = Instant::now();
        let v = api
            .ok(reqwest::Method::GET, &path, Some(&owner), None)
            .await?;
        let dt = t.elapsed().as_micros().max(1) as u64;
        if !v["total_results"].is_i64() {
            return Err(format!("{path}: no total_results"));
        }
        h.record(dt).map_err(err("hist"))?;
        if i % 4 == 0 {
            h_common.record(dt).map_err(err("hist"))?;
        }
    }
    ctx.figs
        .add("search p50 (all queries)", pct_ms(&h, 0.5), "ms");
    ctx.figs.target(
        "search p99 (all queries)",
        pct_ms(&h, 0.99),
        "ms",
        50.0,
        true,
    );
    ctx.figs.add(
        "search p99 (the most common word)",
        pct_ms(&h_common, 0.99),
        "ms",
    );
    Ok(())
}
