//! Federation scenarios: two homeservers (`hearth::App`) in this process, federating over
//! TLS (a throw-away CA from rcgen) and resolving each other through a local DNS server
//! (hickory-server, SRV + A records), on 127.0.0.60/61. A minimal copy of the integration
//! tests' `TestNetwork` (tests/it/network.rs).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth::Config;
use hearth::config::{Bucket, RateLimits};
use hickory_server::Server as DnsServer;
use hickory_server::proto::rr::rdata::{A, SOA, SRV};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use crate::util::*;
use crate::{Ctx, GUILD_MESSAGES, GUILDS, session_loop};

const HOST: &str = "host.hearth.bench";
const MEMBER: &str = "member.hearth.bench";

struct Node {
    base: String,
    addr: SocketAddr,
    hearth: Arc<hearth::service::Hearth>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Net {
    nodes: Vec<Node>,
    dir: PathBuf,
    _dns: DnsServer<Catalog>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(s) = n.stop.take() {
                let _ = s.send(());
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 60 + i as u8)
}

fn free_port_on_all(n: usize) -> Res<u16> {
    for _ in 0..50 {
        let first = std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip(0)), 0))
            .map_err(err("bind"))?;
        let port = first.local_addr().map_err(err("addr"))?.port();
        if (1..n)
            .all(|i| std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(ip(i)), port)).is_ok())
        {
            return Ok(port);
        }
    }
    Err("no port free on all federation addresses".into())
}

fn unlimited() -> RateLimits {
    let big = Bucket {
        limit: 100_000_000,
        per_seconds: 1.0,
    };
    RateLimits {
        global_per_second: 100_000_000,
        default_route: big,
        message_create: big,
        reactions: big,
        register_per_ip: big,
        login_per_ip: big,
        login_per_account_ip: big,
        login_per_account: big,
    }
}

async fn start(names: &[&str]) -> Res<Net> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!(
        "hearth_bench_net_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).map_err(err("temp dir"))?;
    let ca_key = rcgen::KeyPair::generate().map_err(err("ca key"))?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err("ca"))?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Hearth bench CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err("ca cert"))?;
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).map_err(err("ca.pem"))?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(err("dns bind"))?;
    let dns_addr = udp.local_addr().map_err(err("dns addr"))?;
    let origin = Name::from_str("hearth.bench.").map_err(err("name"))?;
    let mut zone: InMemoryZoneHandler =
        InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
    let n = |s: &str| Name::from_str(s).expect("valid name");
    let soa = SOA::new(
        n("ns.hearth.bench."),
        n("admin.hearth.bench."),
        1,
        3600,
        600,
        86400,
        1,
    );
    zone.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1);
    let port = free_port_on_all(names.len())?;
    let mut certs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        zone.upsert_mut(
            Record::from_rdata(n(&format!("{name}.")), 60, RData::A(A(ip(i)))),
            1,
        );
        zone.upsert_mut(
            Record::from_rdata(
                n(&format!("_hearth._tcp.{name}.")),
                60,
                RData::SRV(SRV::new(0, 10, port, n(&format!("{name}.")))),
            ),
            1,
        );
        let key = rcgen::KeyPair::generate().map_err(err("key"))?;
        let mut params =
            rcgen::CertificateParams::new(vec![name.to_string()]).map_err(err("cert params"))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        let cert = params.signed_by(&key, &issuer).map_err(err("cert"))?;
        let (c, k) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, cert.pem()).map_err(err("cert file"))?;
        std::fs::write(&k, key.serialize_pem()).map_err(err("key file"))?;
        certs.push((c, k));
    }
    let zone = Arc::new(zone);
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![zone as Arc<dyn ZoneHandler>]);
    let mut dns = DnsServer::new(catalog);
    dns.register_socket(udp);

    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut c = Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.join(name),
            server_name: name.to_string(),
            rate_limits: unlimited(),
            ..Config::default()
        };
        c.password_hashing.memory_kib = 8;
        c.password_hashing.iterations = 1;
        c.password_hashing.max_concurrent = 4;
        c.federation.listen = Some(SocketAddr::new(IpAddr::V4(ip(i)), port));
        c.federation.tls_cert = Some(certs[i].0.clone());
        c.federation.tls_key = Some(certs[i].1.clone());
        c.federation.extra_ca_certs = vec![ca_pem.clone()];
        c.federation.allow_private_addresses = true;
        c.federation.nameservers = vec![dns_addr];
        c.federation.well_known_port = port;
        c.federation.request_timeout_ms = 10_000;
        let app = hearth::App::build(c).await.map_err(err("App::build"))?;
        let addr = app.local_addr();
        let hearth = app.hearth.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .serve(async move {
                    let _ = rx.await;
                })
                .await;
        });
        nodes.push(Node {
            base: format!("http://{addr}/api/v10"),
            addr,
            hearth,
            stop: Some(tx),
        });
    }
    Ok(Net {
        nodes,
        dir,
        _dns: dns,
    })
}

/// A member-server session that joined the host's guild: its socket (after GUILD_CREATE).
async fn join_remote(member: &Node, api: &Api, name: &str, code: &str) -> Res<(Ws, Duration)> {
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
    let (api_h, api_m) = (Api::new(&host.base), Api::new(&member.base));
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
    let deadline = Instant::now() + Duration::from_secs(300);
    while count.load(Ordering::Acquire) < burst {
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {burst} events applied on the member server",
                count.load(Ordering::Acquire)
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
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
    let (api_h, api_m) = (Api::new(&host.base), Api::new(&member.base));
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
