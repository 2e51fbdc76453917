//! A node's keeper round (README "Nodes and leases"): how long one round of lease renewals
//! takes for a node holding thousands of leases (guild sequencers and peer deliveries) on
//! PostgreSQL, first with the database idle, then while another node (a spawned `hearth`)
//! persists sends from many clients as fast as it can. The node measured runs in this
//! process on the same database ([`hearth::service::node::Node`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth::service::node::Node;

use crate::util::*;
use crate::*;

/// The spacing of the measured rounds (the keeper itself runs one every `lease_seconds / 3`).
const ROUND_GAP: Duration = Duration::from_millis(100);

pub(crate) async fn keeper(ctx: &mut Ctx, leases: Option<usize>) -> Res<()> {
    let n = leases.unwrap_or(ctx.by_scale(500, 5_500, 20_000));
    let rounds = ctx.by_scale(5, 40, 60);
    let senders = ctx.by_scale(4, 32, 64);
    ctx.begin("keeper", &format!("--leases {n}"));
    if ctx.target.is_some() {
        eprintln!("  keeper joins the server's database as a node: not available with --target");
        return Ok(());
    }
    if pg_exec("SELECT 1").await.is_err() {
        eprintln!("  PostgreSQL at 127.0.0.1:5432 is not reachable: skipped");
        return Ok(());
    }
    let sp = Spawn {
        postgres: true,
        ..Default::default()
    };
    let srv = ctx.server(&sp).await?;
    let r = keeper_run(ctx, &srv, n, rounds, senders).await;
    srv.stop(false).await;
    r
}

async fn keeper_run(
    ctx: &mut Ctx,
    srv: &Server,
    n: usize,
    rounds: usize,
    senders: usize,
) -> Res<()> {
    let db_name = srv
        .pg_db
        .clone()
        .ok_or("the server has no PostgreSQL database")?;
    let mut config = hearth::Config {
        database_url: Some(pg_url(&db_name)),
        ..Default::default()
    };
    config.node.id = Some(format!("bench-keeper-{}", tag()));
    let db = hearth::storage::Db::connect(&config)
        .await
        .map_err(err("connect"))?;
    let node = Node::start(&config, db.clone())
        .await
        .map_err(err("Node::start"))?;
    // One lease in ten a peer's delivery, the others guild sequencers.
    let names: Vec<String> = (0..n)
        .map(|i| {
            if i % 10 == 9 {
                format!("delivery:peer{i}.bench")
            } else {
                format!("sequencer:{}", 1_000_000 + i)
            }
        })
        .collect();
    let t0 = Instant::now();
    for name in &names {
        if node.want(name).await.map_err(err("want"))?.is_none() {
            return Err(format!("{name} is held by another node"));
        }
    }
    eprintln!(
        "  {n} leases taken in {:.1} s (one statement each)",
        t0.elapsed().as_secs_f64()
    );
    let idle = rounds_of(&node, rounds).await?;

    // The load: `senders` clients persisting messages through the spawned node.
    let api = Api::new(&srv.base);
    let (_, _, channel, code) = setup_guild(&api, &tag()).await?;
    let users = api
        .users(&format!("{}k", tag()), senders.min(16), Some(&code))
        .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = vec![];
    for i in 0..senders {
        let (api, tok, channel) = (api.clone(), users[i % users.len()].clone(), channel.clone());
        let (stop, sent) = (stop.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                api.say(&tok, &channel, &format!("load {i}-{k}")).await?;
                sent.fetch_add(1, Ordering::Relaxed);
                k += 1;
            }
            Ok::<(), String>(())
        }));
    }
    // Sends under way before the first measured round.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (s0, t1) = (sent.load(Ordering::Relaxed), Instant::now());
    let loaded = rounds_of(&node, rounds).await;
    let rate = (sent.load(Ordering::Relaxed) - s0) as f64 / t1.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.map_err(err("sender"))??;
    }
    let loaded = loaded?;
    // Every lease is still held after the rounds.
    let held = names.iter().filter(|n| node.holding(n).is_some()).count();
    node.release_all().await;
    db.close().await;
    if held != n {
        return Err(format!("{held} of {n} leases held after the rounds"));
    }

    ctx.figs
        .add("round, database idle, p50", pct_ms(&idle, 0.5), "ms");
    ctx.figs
        .add("round, database idle, p99", pct_ms(&idle, 0.99), "ms");
    ctx.figs.add("sends persisted meanwhile", rate, "msg/s");
    ctx.figs
        .add("round, under sends, p50", pct_ms(&loaded, 0.5), "ms");
    // A round must end well within the renewal interval (lease_seconds / 3 = 5 s by
    // default) and the margin a lease keeps (lease_seconds / 5 = 3 s): a tenth of the
    // interval.
    ctx.figs.target(
        "round, under sends, p99",
        pct_ms(&loaded, 0.99),
        "ms",
        500.0,
        true,
    );
    ctx.figs.add(
        "round, under sends, max",
        loaded.max() as f64 / 1000.0,
        "ms",
    );
    Ok(())
}

/// Times `rounds` keeper rounds ([`Node::renew_all`]), [`ROUND_GAP`] apart (µs).
async fn rounds_of(node: &Node, rounds: usize) -> Res<hdrhistogram::Histogram<u64>> {
    let mut h = hist();
    for _ in 0..rounds {
        let t = Instant::now();
        node.renew_all().await;
        h.record(t.elapsed().as_micros().max(1) as u64)
            .map_err(err("hist"))?;
        tokio::time::sleep(ROUND_GAP).await;
    }
    Ok(h)
}
