//! Federation scenarios: two homeservers (`hearth::App`) in this process, federating over
//! TLS (a throw-away CA) and resolving each other through a local DNS server (SRV + A
//! records), on 127.0.0.60/61. The network is the test kit's `FedNet`, the one the
//! integration tests' `TestNetwork` is built on.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth_testkit::app::RunningApp;
use hearth_testkit::fednet::FedNet;
use hearth_testkit::{Patience, config};

use crate::util::*;
use crate::{Ctx, GUILD_MESSAGES, GUILDS, session_loop};

const HOST: &str = "host.hearth.bench";
const MEMBER: &str = "member.hearth.bench";

/// The servers, then the network they run in (dropped in that order).
struct Net {
    nodes: Vec<RunningApp>,
    _fed: FedNet,
}

async fn start(names: &[&str]) -> Res<Net> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let fed = FedNet::start(
        "hearth.bench",
        names,
        |i| Ipv4Addr::new(127, 0, 0, 60 + i as u8),
        |_| false,
    )
    .await?;
    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut c = config::test_config(fed.dir.join(name));
        fed.configure(i, &mut c);
        c.federation.request_timeout_ms = 10_000;
        nodes.push(RunningApp::start(c).await.map_err(err("App::build"))?);
    }
    Ok(Net { nodes, _fed: fed })
}

/// A member-server session that joined the host's guild: its socket (after GUILD_CREATE).
async fn join_remote(
    member: &RunningApp,
    api: &Api,
    name: &str,
    code: &str,
) -> Res<(Ws, Duration)> {
    let (_, tok) = api.register(name).await?;
    let url = format!("ws://{}/gateway?v=10&encoding=json", member.addr);
    let mut ws = identify(
        &url,
        member.addr,
        None,
        &tok,
        GUILDS | GUILD_MESSAGES,
        false,
    )
    .await?;
    let t = Instant::now();
    api.join(&tok, &format!("{code}@{HOST}")).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if Instant::now() > deadline {
            return Err("no GUILD_CREATE on the member server".into());
        }
        if let tokio_tungstenite::tungstenite::Message::Text(t2) = next_frame(&mut ws).await?
            && t2.contains("\"GUILD_CREATE\"")
        {
            return Ok((ws, t.elapsed()));
        }
    }
}

pub async fn federation(ctx: &mut Ctx) -> Res<()> {
    let lat_n = ctx.by_scale(10, 100, 300);
    let burst = ctx.by_scale(20, 500, 3_000);
    ctx.begin("federation", "");
    let net = start(&[HOST, MEMBER]).await?;
    let (host, member) = (&net.nodes[0], &net.nodes[1]);
    let (api_h, api_m) = (Api::new(&host.api_base()), Api::new(&member.api_base()));
    let (_, owner) = api_h.register("owner").await?;
    let (_, channel, code) = api_h.guild(&owner, "fed-bench").await?;
    let (ws, _) = join_remote(member, &api_m, "listener", &code).await?;
    let total = lat_n + burst;
    let base = Instant::now();
    let count = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (c2, l2) = (count.clone(), last.clone());
    let task = tokio::spawn(session_loop(
        ws,
        Duration::from_secs(40),
        stop_rx,
        None,
        move |t| {
            if let Some(k) = marker(t, "fx-") {
                if k < lat_n {
                    let _ = tx.send((k, Instant::now()));
                } else {
                    l2.fetch_max(base.elapsed().as_micros() as u64, Ordering::Relaxed);
                    c2.fetch_add(1, Ordering::Release);
                }
            }
        },
    ));
    // Cross-server latency: host send (REST) -> MESSAGE_CREATE at the member server's gateway.
    let mut h = hist();
    for k in 0..lat_n {
        let t = Instant::now();
        api_h.say(&owner, &channel, &format!("fx-{k}")).await?;
        loop {
            let (got, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .map_err(err("remote MESSAGE_CREATE timeout"))?
                .ok_or("listener ended")?;
            if got == k {
                h.record(at.duration_since(t).as_micros().max(1) as u64)
                    .map_err(err("hist"))?;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Throughput: a burst of host events (8 senders); the member server receives, verifies
    // (host signature, hash chain) and applies each, then dispatches it to the listener.
    let cpu0 = self_cpu();
    let t_first = base.elapsed().as_micros() as u64;
    let next = Arc::new(AtomicUsize::new(lat_n));
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (api, owner, channel, next) =
            (api_h.clone(), owner.clone(), channel.clone(), next.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    return Ok::<(), String>(());
                }
                api.say(&owner, &channel, &format!("fx-{k}")).await?;
            }
        }));
    }
    for s in senders {
        s.await.map_err(err("sender"))??;
    }
    let t_sent = base.elapsed().as_micros() as u64;
    Patience::within(Duration::from_secs(300))
        .every(Duration::from_millis(1))
        .until("the member server applied the burst", async || {
            count.load(Ordering::Acquire) >= burst
        })
        .await
        .map_err(|e| {
            format!(
                "{e}: {} of {burst} events applied on the member server",
                count.load(Ordering::Acquire)
            )
        })?;
    let t_end = last.load(Ordering::Relaxed);
    let cpu1 = self_cpu();
    let _ = stop_tx.send(true);
    let _ = task.await;
    let secs = (t_end - t_first) as f64 / 1e6;
    ctx.figs.target(
        "cross-server send -> remote gateway p50",
        pct_ms(&h, 0.5),
        "ms",
        10.0,
        true,
    );
    ctx.figs.add(
        "cross-server send -> remote gateway p99",
        pct_ms(&h, 0.99),
        "ms",
    );
    ctx.figs.target(
        &format!("events received+verified+applied by the member server ({burst} burst)"),
        burst as f64 / secs,
        "events/s",
        10_000.0,
        false,
    );
    ctx.figs.add(
        "host send rate during the burst (bounds the above)",
        burst as f64 / ((t_sent - t_first) as f64 / 1e6),
        "msg/s",
    );
    ctx.figs.add(
        "whole-process CPU per event (host + member + clients)",
        (cpu1 - cpu0) * 1e6 / burst as f64,
        "us",
    );
    drop(net);
    Ok(())
}

pub async fn remote_join(ctx: &mut Ctx, members: Option<usize>) -> Res<()> {
    let m = members.unwrap_or(ctx.by_scale(50, 10_000, 100_000));
    ctx.begin("remote-join", &format!("--members {m}"));
    let net = start(&[HOST, MEMBER]).await?;
    let (host, member) = (&net.nodes[0], &net.nodes[1]);
    let (api_h, api_m) = (Api::new(&host.api_base()), Api::new(&member.api_base()));
    let (_, owner) = api_h.register("owner").await?;
    let (gid, _, code) = api_h.guild(&owner, "big").await?;
    let gid: i64 = gid.parse().map_err(err("guild id"))?;
    // Bulk seeding of local members straight into the host's database (documented in
    // BENCHMARKS.md): users rows and members rows in one transaction.
    let t0 = Instant::now();
    let sf = hearth::snowflake::SnowflakeGenerator::new(30, 30);
    let now = 1_700_000_000_000i64;
    let pfx = format!("seed{:04x}", rand::random::<u16>());
    macro_rules! seed {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await.map_err(err("begin"))?;
            for i in 0..m {
                let id = sf.next().db();
                let name = format!("{pfx}_{i}");
                sqlx::query("INSERT INTO users (id, username, username_lower, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(&name).bind(&name).bind(now)
                    .execute(&mut *tx).await.map_err(err("insert user"))?;
                sqlx::query("INSERT INTO members (guild_id, user_id, joined_at) VALUES ($1, $2, $3)")
                    .bind(gid).bind(id).bind(now)
                    .execute(&mut *tx).await.map_err(err("insert member"))?;
            }
            tx.commit().await.map_err(err("commit"))?;
        }};
    }
    match &*host.hearth.db {
        hearth_db::Db::Sqlite(p) => seed!(p),
        hearth_db::Db::Postgres(p) => seed!(p),
    }
    eprintln!(
        "  seeded {m} members in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let (_ws, first) = join_remote(member, &api_m, "joiner1", &code).await?;
    let (_ws2, second) = join_remote(member, &api_m, "joiner2", &code).await?;
    ctx.figs.target(
        &format!("remote join of a {m}-member guild -> GUILD_CREATE (first)"),
        first.as_secs_f64(),
        "s",
        1.0,
        true,
    );
    ctx.figs.add(
        "second remote join (replica exists) -> GUILD_CREATE",
        second.as_secs_f64(),
        "s",
    );
    drop(net);
    Ok(())
}
