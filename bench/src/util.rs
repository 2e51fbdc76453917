//! Shared pieces: the spawned `hearth` child process, process statistics from `/proc`, the
//! REST client, the raw gateway client, and result figures. Test settings, PostgreSQL test
//! databases, bounded waiting and the builders (users, guilds, joins) come from the test kit
//! (`hearth_testkit`), shared with the integration tests.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hearth_testkit::{Patience, build, config};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Res<T> = Result<T, String>;

pub fn err<E: std::fmt::Display>(ctx: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{ctx}: {e}")
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub scenario: String,
    pub metric: String,
    pub value: f64,
    pub unit: String,
    /// The target of issue 7, as text (`""` when the figure is informative only).
    pub target: String,
    /// Whether the target is met (only meaningful at `--scale full`).
    pub met: Option<bool>,
    pub command: String,
}

pub struct Figures {
    pub list: Vec<Figure>,
    pub command: String,
    pub scenario: String,
    /// Whether targets are judged (only at `--scale full`, the sizes the targets are for).
    pub judge: bool,
}

impl Figures {
    pub fn add(&mut self, metric: &str, value: f64, unit: &str) {
        self.push(metric, value, unit, "", None);
    }
    /// A figure with a target: `le` = smaller is better (`value <= target`).
    pub fn target(&mut self, metric: &str, value: f64, unit: &str, target: f64, le: bool) {
        let met = if le { value <= target } else { value >= target };
        let met = if self.judge { Some(met) } else { None };
        let t = format!("{} {}", if le { "<=" } else { ">=" }, fmt_num(target));
        self.push(metric, value, unit, &t, met);
    }
    fn push(&mut self, metric: &str, value: f64, unit: &str, target: &str, met: Option<bool>) {
        eprintln!(
            "  [{}] {metric} = {} {unit}{}",
            self.scenario,
            fmt_num(value),
            if target.is_empty() {
                String::new()
            } else {
                format!("  (target {target})")
            }
        );
        self.list.push(Figure {
            scenario: self.scenario.clone(),
            metric: metric.into(),
            value,
            unit: unit.into(),
            target: target.into(),
            met,
            command: self.command.clone(),
        });
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Prints the figures as an aligned table.
pub fn print_table(figs: &[Figure]) {
    let rows: Vec<[String; 5]> = figs
        .iter()
        .map(|f| {
            [
                f.scenario.clone(),
                f.metric.clone(),
                format!("{} {}", fmt_num(f.value), f.unit),
                f.target.clone(),
                match f.met {
                    Some(true) => "met".into(),
                    Some(false) => "NOT met".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let head = ["scenario", "metric", "value", "target", ""];
    let mut w = head.map(str::len);
    for r in &rows {
        for i in 0..5 {
            w[i] = w[i].max(r[i].len());
        }
    }
    let line = |r: &[String; 5]| {
        println!(
            "{:<a$}  {:<b$}  {:>c$}  {:<d$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            a = w[0],
            b = w[1],
            c = w[2],
            d = w[3]
        )
    };
    line(&head.map(String::from));
    let mut last_cmd = String::new();
    for (r, f) in rows.iter().zip(figs) {
        if f.command != last_cmd {
            println!("# {}", f.command);
            last_cmd = f.command.clone();
        }
        line(r);
    }
}

/// Resident set size of `pid` in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// User + system CPU time of `pid` in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Own process CPU seconds.
pub fn self_cpu() -> f64 {
    cpu_secs(std::process::id()).unwrap_or(0.0)
}

/// The server under test: a spawned `hearth` child, or a running one (`--target`).
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub child: Option<tokio::process::Child>,
    pub pid: Option<u32>,
    pub dir: Option<PathBuf>,
    pub pg_db: Option<String>,
    pub started_in: Duration,
}

#[derive(Clone, Default)]
pub struct Spawn {
    /// Extra `HEARTH_*` variables.
    pub env: Vec<(String, String)>,
    /// Keep real argon2 parameters (login storm).
    pub real_hashing: bool,
    /// A PostgreSQL database to create and use.
    pub postgres: bool,
    /// Reuse this data dir (restart).
    pub dir: Option<PathBuf>,
}

pub fn hearth_bin(opt: &Option<PathBuf>) -> Res<PathBuf> {
    if let Some(p) = opt {
        return Ok(p.clone());
    }
    let exe = std::env::current_exe().map_err(err("current_exe"))?;
    let dir = exe.parent().ok_or("no exe dir")?;
    let bin = dir.join("hearth");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: build it first (`cargo build [--release] --bin hearth`) or pass --hearth-bin",
            bin.display()
        ))
    }
}

fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(err("bind"))?;
    Ok(l.local_addr().map_err(err("addr"))?.port())
}

impl Server {
    /// The spawned server's SQLite file, opened beside it (one connection, 30 s busy
    /// timeout) for seeding straight into it.
    pub async fn open_sqlite(&self) -> Res<sqlx::SqlitePool> {
        let db = self.dir.as_ref().ok_or("no data dir")?.join("hearth.db");
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .busy_timeout(Duration::from_secs(30));
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(err("open hearth.db"))
    }

    /// Spawns `hearth` on a fresh temp data dir (or PostgreSQL database) and waits for `/ready`.
    pub async fn spawn(bin: &std::path::Path, sp: &Spawn) -> Res<Server> {
        let port = free_port()?;
        let dir = match &sp.dir {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!(
                "hearth_bench_{}_{:08x}",
                std::process::id(),
                rand::random::<u32>()
            )),
        };
        let mut cmd = tokio::process::Command::new(bin);
        cmd.env("HEARTH_LISTEN", format!("127.0.0.1:{port}"))
            .env("HEARTH_DATA_DIR", &dir)
            .env("HEARTH_LOG", "warn")
            .env("HEARTH_FEDERATION__ENABLED", "false")
            // Every load-generating client is on loopback: no per-address cap.
            .env("HEARTH_CONNECTIONS__MAX_PER_IP", "1000000")
            .envs(config::env_vars("HEARTH_RATE_LIMITS", &config::unlimited()));
        if !sp.real_hashing {
            // Seeding thousands of users through the real API: argon2 at its minimum cost.
            let mut h = hearth::config::PasswordHashing::default();
            config::cheap_hashing(&mut h);
            cmd.envs(config::env_vars("HEARTH_PASSWORD_HASHING", &h));
        }
        let mut pg_db = None;
        if sp.postgres {
            let name = format!("hearth_bench_{:08x}", rand::random::<u32>());
            hearth_testkit::db::create_pg_database(&name).await?;
            cmd.env("HEARTH_DATABASE_URL", hearth_testkit::db::pg_url(&name));
            pg_db = Some(name);
        }
        for (k, v) in &sp.env {
            cmd.env(k, v);
        }
        // hearth logs (tracing) to stdout: send them to our stderr, next to the progress.
        let log = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null());
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let t0 = Instant::now();
        let child = cmd.spawn().map_err(err("spawn hearth"))?;
        let pid = child.id();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut srv = Server {
            base: format!("http://{addr}/api/v10"),
            addr,
            child: Some(child),
            pid,
            dir: Some(dir),
            pg_db,
            started_in: Duration::ZERO,
        };
        // Ready = the HTTP listener answers `/ready` (database reachable).
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(err("client"))?;
        let url = format!("http://{addr}/ready");
        Patience::within(Duration::from_secs(60))
            .every(Duration::from_millis(2))
            .until("hearth answers /ready", async || {
                if let Ok(r) = http.get(&url).send().await
                    && r.status().is_success()
                {
                    return Some(Ok(()));
                }
                if let Some(c) = srv.child.as_mut()
                    && let Ok(Some(st)) = c.try_wait()
                {
                    return Some(Err(format!("hearth exited: {st}")));
                }
                None
            })
            .await??;
        srv.started_in = t0.elapsed();
        Ok(srv)
    }

    /// A server started elsewhere.
    pub fn target(url: &str) -> Res<Server> {
        let u = url.trim_end_matches('/');
        let hostport = u
            .strip_prefix("http://")
            .ok_or("--target must be http://HOST:PORT")?;
        let addr: SocketAddr = hostport.parse().map_err(err("--target address"))?;
        Ok(Server {
            base: format!("{u}/api/v10"),
            addr,
            child: None,
            pid: None,
            dir: None,
            pg_db: None,
            started_in: Duration::ZERO,
        })
    }

    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/gateway?v=10&encoding=json{query}", self.addr)
    }

    pub fn rss(&self) -> Option<u64> {
        self.pid.and_then(rss_kib)
    }

    pub fn cpu(&self) -> Option<f64> {
        self.pid.and_then(cpu_secs)
    }

    /// Stops the child (SIGKILL) and deletes its data.
    /// Stops a spawned server as an operator would (SIGTERM, then its graceful shutdown:
    /// sessions saved, leases and the node-id claim given up), waiting up to 30 s for it to
    /// exit (then SIGKILL); `keep_dir` as for [`Server::stop`].
    pub async fn stop_gracefully(mut self, keep_dir: bool) -> Res<()> {
        if let (Some(c), Some(pid)) = (self.child.as_mut(), self.pid) {
            signal(pid, "-TERM")?;
            if tokio::time::timeout(Duration::from_secs(30), c.wait())
                .await
                .is_err()
            {
                eprintln!("  the server did not exit within 30 s of SIGTERM: killed");
            }
        }
        self.stop(keep_dir).await;
        Ok(())
    }

    pub async fn stop(mut self, keep_dir: bool) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
        if !keep_dir && let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(db) = self.pg_db.take() {
            let _ = hearth_testkit::db::pg_exec(&format!(
                "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
            ))
            .await;
        }
    }
}

/// Sends `signal` (`-TERM`, `-KILL`) to process `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) -> Res<()> {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .map_err(err("kill"))?;
    if !status.success() {
        return Err(format!("kill {signal} {pid} failed"));
    }
    Ok(())
}

pub use hearth_testkit::db::{pg_exec, pg_url};

/// The CPU seconds of every node together; `None` unless each is a spawned child.
pub fn cpu_of(nodes: &[&Server]) -> Option<f64> {
    nodes.iter().map(|n| n.cpu()).sum()
}

/// A JSON REST client for one server.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(256)
                .timeout(Duration::from_secs(60))
                .build()
                .expect("reqwest client"),
            base: base.to_string(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res<(u16, Value)> {
        let mut rq = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            rq = rq.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let r = rq.send().await.map_err(err(path))?;
        let st = r.status().as_u16();
        let text = r.text().await.map_err(err(path))?;
        let v = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok((st, v))
    }

    pub async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res<Value> {
        let (st, v) = self.call(method, path, token, body).await?;
        if (200..300).contains(&st) {
            Ok(v)
        } else {
            Err(format!("{path}: HTTP {st}: {v}"))
        }
    }

    /// The test kit's client over this API's connection pool.
    fn kit(&self) -> hearth_testkit::rest::Client {
        hearth_testkit::rest::Client::new(self.http.clone(), &self.base)
    }

    /// Registers `name`; returns `(user id, token)`.
    pub async fn register(&self, name: &str) -> Res<(String, String)> {
        let u = build::register(&self.kit(), name).await?;
        Ok((u.id, u.token))
    }

    /// Logs `name` in; returns its token.
    pub async fn login(&self, name: &str) -> Res<String> {
        build::login(&self.kit(), name).await
    }

    /// Creates a guild; returns `(guild id, first channel id, invite code)`.
    pub async fn guild(&self, token: &str, name: &str) -> Res<(String, String, String)> {
        let g = build::create_guild(&self.kit().bearer(token), name).await?;
        Ok((g.id, g.general, g.invite))
    }

    pub async fn join(&self, token: &str, code: &str) -> Res<()> {
        build::join(&self.kit().bearer(token), code).await
    }

    pub async fn say(&self, token: &str, channel: &str, content: &str) -> Res<Value> {
        self.ok(
            reqwest::Method::POST,
            &format!("/channels/{channel}/messages"),
            Some(token),
            Some(json!({"content": content})),
        )
        .await
    }

    /// Registers `n` users named `{prefix}{i}` (concurrently) and joins them to `code`;
    /// their tokens in order of `i`.
    pub async fn users(&self, prefix: &str, n: usize, code: Option<&str>) -> Res<Vec<String>> {
        let users = build::register_many(&self.kit(), prefix, n, code).await?;
        Ok(users.into_iter().map(|u| u.token).collect())
    }
}

pub fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Small client buffers: thousands of client sockets live in one load-generator process.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Source ports this process takes in turn, from [`FIRST_PORT`] (each worker process binds
/// its own source address, so a counter per process is enough).
static NEXT_PORT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
const FIRST_PORT: u32 = 10_000;
const PORTS: u32 = 55_000;

/// Binds `sock` to `ip` and the next free port of [`NEXT_PORT`]. Not port 0: the kernel then
/// picks a port at `bind` without the destination, searching the address's bound ports, and
/// at ~20,000 sockets that search took 90 % of a storm worker's CPU (`inet_bind2_bucket_find`
/// in `perf`), slowing the clients, not the server. A port in use (or in TIME_WAIT from an
/// earlier connection) is skipped.
fn bind_source(sock: &TcpSocket, ip: IpAddr) -> Res<()> {
    for _ in 0..PORTS {
        let n = NEXT_PORT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = u16::try_from(FIRST_PORT + n % PORTS).map_err(err("port"))?;
        match sock.bind(SocketAddr::new(ip, port)) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(format!("bind source: {e}")),
        }
    }
    Err(format!("bind source: no free port on {ip}"))
}

/// Opens a WebSocket to `url` from source address `src` (each connection on a port of its
/// own, [`bind_source`]), or from the kernel's choice of address and port.
pub async fn ws_connect(url: &str, server: SocketAddr, src: Option<IpAddr>) -> Res<Ws> {
    let sock = TcpSocket::new_v4().map_err(err("socket"))?;
    if let Some(ip) = src {
        bind_source(&sock, ip)?;
    }
    let tcp = sock.connect(server).await.map_err(err("connect"))?;
    let _ = tcp.set_nodelay(true);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(ws_config()))
        .await
        .map_err(err("websocket handshake"))?;
    Ok(ws)
}

/// Connects, reads HELLO, sends IDENTIFY and waits for READY (uncompressed connections) or
/// for the first frame after HELLO (compressed ones). Returns the socket.
pub async fn identify(
    url: &str,
    server: SocketAddr,
    src: Option<IpAddr>,
    token: &str,
    intents: u64,
    compressed: bool,
) -> Res<Ws> {
    let mut inflate = compressed.then(|| Inflate::new(url)).flatten();
    identify_with(url, server, src, token, intents, &mut inflate).await
}

/// Sends IDENTIFY (op 2) with `token` and `intents`.
pub async fn send_identify(ws: &mut Ws, token: &str, intents: u64) -> Res<()> {
    let ident = json!({"op": 2, "d": {"token": token, "intents": intents,
        "properties": {"os": "linux", "browser": "hearth-bench", "device": "hearth-bench"}}});
    ws.send(Message::Text(ident.to_string().into()))
        .await
        .map_err(err("send identify"))
}

/// [`identify`] with the decompressor of a compressed session, which must see every frame
/// of the connection (the stream context spans it).
pub async fn identify_with(
    url: &str,
    server: SocketAddr,
    src: Option<IpAddr>,
    token: &str,
    intents: u64,
    inflate: &mut Option<Inflate>,
) -> Res<Ws> {
    let mut ws = ws_connect(url, server, src).await?;
    let hello = next_frame(&mut ws).await?;
    if let (Some(i), Message::Binary(b)) = (inflate.as_mut(), &hello) {
        i.text(b)?;
    }
    send_identify(&mut ws, token, intents).await?;
    loop {
        let m = next_frame(&mut ws).await?;
        match m {
            Message::Text(t) if t.contains("\"READY\"") => return Ok(ws),
            Message::Binary(b) => match inflate.as_mut() {
                Some(i) => {
                    if i.text(&b)?.contains("\"READY\"") {
                        return Ok(ws);
                    }
                }
                None => return Ok(ws),
            },
            Message::Close(c) => return Err(format!("closed during identify: {c:?}")),
            _ => {}
        }
    }
}

/// Decompresses the binary frames of a `zlib-stream` or `zstd-stream` session, so that the
/// load generator can read their `s` (heartbeats acknowledge it) like a real client.
pub enum Inflate {
    Zlib(Box<flate2::Decompress>),
    Zstd(Box<zstd::stream::raw::Decoder<'static>>),
}

impl Inflate {
    /// The decompressor for the `compress=` of a gateway URL, if any.
    pub fn new(url: &str) -> Option<Inflate> {
        if url.contains("compress=zlib-stream") {
            Some(Inflate::Zlib(Box::new(flate2::Decompress::new(true))))
        } else if url.contains("compress=zstd-stream") {
            zstd::stream::raw::Decoder::new()
                .ok()
                .map(|d| Inflate::Zstd(Box::new(d)))
        } else {
            None
        }
    }

    /// The text of one binary frame (each frame is flushed by the server).
    pub fn text(&mut self, b: &[u8]) -> Res<String> {
        let mut out: Vec<u8> = Vec::with_capacity(b.len() * 4 + 256);
        match self {
            Inflate::Zlib(d) => {
                let mut pos = 0;
                loop {
                    out.reserve(4096);
                    let before = d.total_in();
                    d.decompress_vec(&b[pos..], &mut out, flate2::FlushDecompress::Sync)
                        .map_err(err("zlib"))?;
                    pos += (d.total_in() - before) as usize;
                    if pos >= b.len() && out.len() < out.capacity() {
                        break;
                    }
                }
            }
            Inflate::Zstd(d) => {
                use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                let mut buf = vec![0u8; 16 * 1024];
                let mut input = InBuffer::around(b);
                loop {
                    let mut o = OutBuffer::around(&mut buf[..]);
                    d.run(&mut input, &mut o).map_err(err("zstd"))?;
                    let n = o.pos();
                    out.extend_from_slice(&buf[..n]);
                    if input.pos == b.len() && n < buf.len() {
                        break;
                    }
                }
            }
        }
        String::from_utf8(out).map_err(err("frame text"))
    }
}

/// The `s` of a dispatch frame (`{"t":..,"s":N,...}`) without a full JSON parse; `None` for
/// other payloads (`"s":null`).
pub fn seq_of(text: &str) -> Option<u64> {
    let i = text.find("\"s\":")? + 4;
    let digits = text[i..].bytes().take_while(u8::is_ascii_digit).count();
    text[i..i + digits].parse().ok()
}

pub async fn next_frame(ws: &mut Ws) -> Res<Message> {
    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        Err(_) => Err("timed out waiting for a gateway frame".into()),
        Ok(None) => Err("gateway connection ended".into()),
        Ok(Some(Err(e))) => Err(format!("gateway: {e}")),
        Ok(Some(Ok(m))) => Ok(m),
    }
}

/// Extracts the number after `"content":"{prefix}` in a MESSAGE_CREATE frame, without a
/// full JSON parse (the load generator must stay cheap).
pub fn marker(text: &str, prefix: &str) -> Option<usize> {
    if !text.contains("\"MESSAGE_CREATE\"") {
        return None;
    }
    let key = format!("\"content\":\"{prefix}");
    let i = text.find(&key)? + key.len();
    let digits: String = text[i..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Percentiles of a histogram of microseconds, in milliseconds.
pub fn pct_ms(h: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

pub fn hist() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram")
}

/// Redis' counters (`INFO`), sampled around a phase to charge its cost to what the phase
/// did: CPU seconds (`used_cpu_user` + `used_cpu_sys`, every client of that Redis counted)
/// and commands processed (`total_commands_processed`).
pub struct RedisProbe {
    con: tokio::sync::Mutex<redis::aio::MultiplexedConnection>,
}

/// One [`RedisProbe`] sample, or the difference of two.
#[derive(Debug, Clone, Copy)]
pub struct RedisSample {
    pub cpu: f64,
    pub commands: u64,
    /// `used_memory`, bytes (a difference may be negative).
    pub memory: f64,
}

impl RedisProbe {
    /// Connects to `url` (`redis://127.0.0.1:6379`).
    pub async fn connect(url: &str) -> Res<RedisProbe> {
        let client = redis::Client::open(url).map_err(err("redis url"))?;
        let con = client
            .get_multiplexed_async_connection()
            .await
            .map_err(err("connect to redis"))?;
        Ok(RedisProbe {
            con: tokio::sync::Mutex::new(con),
        })
    }

    pub async fn sample(&self) -> Res<RedisSample> {
        let mut con = self.con.lock().await;
        let info: String = redis::cmd("INFO")
            .arg("cpu")
            .arg("stats")
            .arg("memory")
            .query_async(&mut *con)
            .await
            .map_err(err("INFO"))?;
        let field = |name: &str| -> f64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        Ok(RedisSample {
            cpu: field("used_cpu_user") + field("used_cpu_sys"),
            commands: field("total_commands_processed") as u64,
            memory: field("used_memory"),
        })
    }
}

impl RedisSample {
    /// What happened between `before` and this sample.
    pub fn since(&self, before: &RedisSample) -> RedisSample {
        RedisSample {
            cpu: self.cpu - before.cpu,
            commands: self.commands.saturating_sub(before.commands),
            memory: self.memory - before.memory,
        }
    }

    /// Adds "Redis CPU per {what}" (µs), "Redis commands per {what}" and "Redis memory
    /// added per {what}" (bytes still used at the end) for `n` of them.
    pub fn figures(&self, ctx: &mut crate::Ctx, what: &str, n: f64) {
        ctx.figs.add(
            &format!("Redis memory added per {what}"),
            self.memory / n,
            "bytes",
        );
        ctx.figs
            .add(&format!("Redis CPU per {what}"), self.cpu * 1e6 / n, "us");
        ctx.figs.add(
            &format!("Redis commands per {what}"),
            self.commands as f64 / n,
            "commands",
        );
    }
}
