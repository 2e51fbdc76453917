//! Prometheus metrics (issue 19, README "Metrics and health"), served as `GET /metrics` in the
//! text exposition format on the listener `metrics.listen` only.
//!
//! Counted as requests are served (by [`track`], a route layer, so the `route` label is the
//! route's pattern such as `/api/v10/channels/{channel_id}/messages`, never a raw path):
//! - `hearth_http_requests_total{method, route, status}`;
//! - `hearth_http_request_duration_seconds{method, route}` (histogram, 14 buckets doubling
//!   from 1 ms to about 8 s).
//!
//! Sampled at each scrape from the running parts ([`Sample`], filled by the composition root):
//! - `hearth_gateway_sessions{state="connected"|"detached"}`, `hearth_gateway_buffered_events`,
//!   `hearth_gateway_replay_log_entries`, `hearth_gateway_shed_total{kind}`;
//! - `hearth_db_connections{state="open"|"idle"}`, `hearth_db_max_connections`;
//! - `hearth_gateway_dispatches_total`, `hearth_gateway_deliveries_total` (one per session a
//!   dispatch is queued for), `hearth_gateway_bus_lagged_total` (bus events the dispatcher
//!   missed), `hearth_gateway_sessions_restarted_total` (sessions ended with 4009 because
//!   durable events they needed were lost on the cluster bus, spec/cluster.md §3.1);
//! - `hearth_federation_outbox_entries` (changes not yet in the signed log),
//!   `hearth_federation_peer_pending_events{peer}` and `hearth_federation_peer_lag_seconds{peer}`
//!   (age of the oldest event not yet delivered to that member server; 0 when none),
//!   `hearth_federation_peer_failures{peer}`, `hearth_federation_peer_dead{peer}` (1 while the
//!   member server is marked dead: no pushes, spec/federation.md §9.4) and
//!   `hearth_federation_peer_push_attempts{peer}` (push requests attempted over its current
//!   guilds, a stored running total);
//! - `hearth_search_backlog_messages` (messages stored but not yet in the SQLite search index,
//!   as the message writer last knew it; always 0 on PostgreSQL);
//! - `hearth_job_runs_total{job, result="ok"|"failed"}` (`media_collector`, `message_purge`,
//!   `federation_notice`).
//!
//! Counted by [`MeteredBlobs`], the blob store as the service layer sees it:
//! - `hearth_blob_operations_total{op, result}` (`op`: put, put_stream, get, open, open_range,
//!   delete, list) and `hearth_blob_written_bytes_total`.
//!
//! Each [`Metrics`] has its own registry: several servers in one process (the test suite)
//! never share a counter.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Result;
use crate::service::ports::{BlobEntry, BlobKey, BlobReader, BlobStore, BlobStream};
use async_trait::async_trait;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabel {
    peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
    result: &'static str,
}

/// One member server's delivery state at a scrape.
#[derive(Debug, Clone, Default)]
pub struct PeerSample {
    pub peer: String,
    /// Log events not yet acknowledged.
    pub pending: i64,
    /// Age of the oldest of them, seconds (0 when none).
    pub lag_seconds: f64,
    /// Consecutive failed deliveries (the most of one of its guilds).
    pub failures: i64,
    /// Whether it is marked dead (no pushes).
    pub dead: bool,
    /// Push requests attempted over its current guilds (stored running total).
    pub push_attempts: i64,
}

/// What the running parts report at a scrape (gauges and running totals).
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Gateway sessions with a live connection.
    pub sessions_connected: i64,
    /// Gateway sessions kept for RESUME without a connection.
    pub sessions_detached: i64,
    /// Dispatches queued for sessions, not yet written.
    pub buffered_events: i64,
    /// Entries in the gateway's replay logs.
    pub replay_log_entries: i64,
    /// Dispatches shed under pressure since start, by kind (`typing`, `presence`, ...).
    pub shed: Vec<(String, u64)>,
    /// Database connections open and idle, and the pool's maximum.
    pub db_open: i64,
    pub db_idle: i64,
    pub db_max: i64,
    /// Gateway running totals: dispatches routed, deliveries queued, bus events missed.
    pub dispatches: u64,
    pub deliveries: u64,
    pub bus_lagged: u64,
    /// Sessions ended because events they needed were lost on the cluster bus.
    pub sessions_restarted: u64,
    /// Federation outbox entries not yet moved into the log.
    pub outbox_entries: i64,
    /// Messages stored but not yet in the SQLite search index (0 on PostgreSQL).
    pub search_backlog: i64,
    /// Member servers of hosted guilds.
    pub peers: Vec<PeerSample>,
    /// Background job runs: `(job, ok, failed)` running totals.
    pub jobs: Vec<(String, u64, u64)>,
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    sessions: Family<StateLabel, Gauge>,
    buffered: Gauge,
    replay: Gauge,
    shed: Family<KindLabel, Counter<u64, AtomicU64>>,
    db: Family<StateLabel, Gauge>,
    db_max: Gauge,
    dispatches: Counter,
    deliveries: Counter,
    bus_lagged: Counter,
    restarted: Counter,
    outbox: Gauge,
    search_backlog: Gauge,
    peer_pending: Family<PeerLabel, Gauge>,
    peer_lag: Family<PeerLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    peer_failures: Family<PeerLabel, Gauge>,
    peer_dead: Family<PeerLabel, Gauge>,
    peer_attempts: Family<PeerLabel, Gauge>,
    jobs: Family<JobLabels, Counter>,
    blob_ops: Family<OpLabels, Counter>,
    blob_written: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A fresh registry with every metric registered (prefix `hearth_`).
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("hearth");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by method, route pattern and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by method and route pattern",
            latency.clone(),
        );
        let sessions = Family::<StateLabel, Gauge>::default();
        registry.register("gateway_sessions", "Gateway sessions", sessions.clone());
        let buffered = Gauge::default();
        registry.register(
            "gateway_buffered_events",
            "Dispatches queued for gateway sessions, not yet written",
            buffered.clone(),
        );
        let replay = Gauge::default();
        registry.register(
            "gateway_replay_log_entries",
            "Dispatches kept for RESUME",
            replay.clone(),
        );
        let shed = Family::<KindLabel, Counter<u64, AtomicU64>>::default();
        registry.register(
            "gateway_shed",
            "Dispatches shed under pressure, by kind",
            shed.clone(),
        );
        let db = Family::<StateLabel, Gauge>::default();
        registry.register("db_connections", "Database pool connections", db.clone());
        let db_max = Gauge::default();
        registry.register(
            "db_max_connections",
            "Database pool size limit",
            db_max.clone(),
        );
        let dispatches = Counter::default();
        registry.register(
            "gateway_dispatches",
            "Dispatches the gateway routed",
            dispatches.clone(),
        );
        let deliveries = Counter::default();
        registry.register(
            "gateway_deliveries",
            "Dispatches queued for one session each",
            deliveries.clone(),
        );
        let bus_lagged = Counter::default();
        registry.register(
            "gateway_bus_lagged",
            "Bus events the gateway dispatcher missed by falling behind",
            bus_lagged.clone(),
        );
        let restarted = Counter::default();
        registry.register(
            "gateway_sessions_restarted",
            "Sessions ended (close 4009, not resumable) because durable events they needed were lost on the cluster bus",
            restarted.clone(),
        );
        let outbox = Gauge::default();
        registry.register(
            "federation_outbox_entries",
            "Changes of federated guilds not yet moved into the signed log",
            outbox.clone(),
        );
        let search_backlog = Gauge::default();
        registry.register(
            "search_backlog_messages",
            "Messages stored but not yet in the SQLite search index (indexed when sends pause)",
            search_backlog.clone(),
        );
        let peer_pending = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "federation_peer_pending_events",
            "Log events not yet delivered to a member server",
            peer_pending.clone(),
        );
        let peer_lag = Family::<PeerLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "federation_peer_lag_seconds",
            "Age of the oldest log event not yet delivered to a member server",
            peer_lag.clone(),
        );
        let peer_failures = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "federation_peer_failures",
            "Consecutive failed deliveries to a member server",
            peer_failures.clone(),
        );
        let peer_dead = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "federation_peer_dead",
            "1 while a member server is marked dead (nothing is pushed to it)",
            peer_dead.clone(),
        );
        let peer_attempts = Family::<PeerLabel, Gauge>::default();
        registry.register(
            "federation_peer_push_attempts",
            "Push requests attempted to a member server over its current guilds",
            peer_attempts.clone(),
        );
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Background job runs, by job and result",
            jobs.clone(),
        );
        let blob_ops = Family::<OpLabels, Counter>::default();
        registry.register(
            "blob_operations",
            "Blob store operations, by operation and result",
            blob_ops.clone(),
        );
        let blob_written = Counter::default();
        registry.register(
            "blob_written_bytes",
            "Bytes written to the blob store",
            blob_written.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            sessions,
            buffered,
            replay,
            shed,
            db,
            db_max,
            dispatches,
            deliveries,
            bus_lagged,
            restarted,
            outbox,
            search_backlog,
            peer_pending,
            peer_lag,
            peer_failures,
            peer_dead,
            peer_attempts,
            jobs,
            blob_ops,
            blob_written,
        })
    }

    /// `store` counted under `hearth_blob_*` ([`MeteredBlobs`]).
    pub fn metered(self: &Arc<Self>, store: Arc<dyn BlobStore>) -> Arc<dyn BlobStore> {
        Arc::new(MeteredBlobs {
            inner: store,
            metrics: self.clone(),
        })
    }

    /// Counts one served request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The exposition text with the gauges set from `sample`.
    pub fn render(&self, sample: &Sample) -> String {
        let state = |s: &'static str| StateLabel { state: s };
        self.sessions
            .get_or_create(&state("connected"))
            .set(sample.sessions_connected);
        self.sessions
            .get_or_create(&state("detached"))
            .set(sample.sessions_detached);
        self.buffered.set(sample.buffered_events);
        self.replay.set(sample.replay_log_entries);
        for (kind, total) in &sample.shed {
            raise(
                &self.shed.get_or_create(&KindLabel { kind: kind.clone() }),
                *total,
            );
        }
        raise(&self.dispatches, sample.dispatches);
        raise(&self.deliveries, sample.deliveries);
        raise(&self.bus_lagged, sample.bus_lagged);
        raise(&self.restarted, sample.sessions_restarted);
        self.outbox.set(sample.outbox_entries);
        self.search_backlog.set(sample.search_backlog);
        // Peers that are gone drop out of the exposition.
        self.peer_pending.clear();
        self.peer_lag.clear();
        self.peer_failures.clear();
        self.peer_dead.clear();
        self.peer_attempts.clear();
        for p in &sample.peers {
            let l = PeerLabel {
                peer: p.peer.clone(),
            };
            self.peer_pending.get_or_create(&l).set(p.pending);
            self.peer_lag.get_or_create(&l).set(p.lag_seconds);
            self.peer_failures.get_or_create(&l).set(p.failures);
            self.peer_dead.get_or_create(&l).set(i64::from(p.dead));
            self.peer_attempts.get_or_create(&l).set(p.push_attempts);
        }
        for (job, ok, failed) in &sample.jobs {
            for (result, total) in [("ok", *ok), ("failed", *failed)] {
                raise(
                    &self.jobs.get_or_create(&JobLabels {
                        job: job.clone(),
                        result,
                    }),
                    total,
                );
            }
        }
        self.db.get_or_create(&state("open")).set(sample.db_open);
        self.db.get_or_create(&state("idle")).set(sample.db_idle);
        self.db_max.set(sample.db_max);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

/// Raises counter `c` to the running total `total` (kept by the part that counts).
fn raise<A: prometheus_client::metrics::counter::Atomic<u64>>(c: &Counter<u64, A>, total: u64) {
    let now = c.get();
    if total > now {
        c.inc_by(total - now);
    }
}

/// The blob store with every operation counted (`hearth_blob_operations_total{op, result}`,
/// `hearth_blob_written_bytes_total`); otherwise the store it wraps.
pub struct MeteredBlobs {
    inner: Arc<dyn BlobStore>,
    metrics: Arc<Metrics>,
}

impl MeteredBlobs {
    fn count<T>(&self, op: &'static str, r: &Result<T>) {
        let result = if r.is_ok() { "ok" } else { "error" };
        self.metrics
            .blob_ops
            .get_or_create(&OpLabels { op, result })
            .inc();
    }
}

#[async_trait]
impl BlobStore for MeteredBlobs {
    async fn put(&self, key: &BlobKey, bytes: bytes::Bytes) -> Result<()> {
        let n = bytes.len() as u64;
        let r = self.inner.put(key, bytes).await;
        self.count("put", &r);
        if r.is_ok() {
            self.metrics.blob_written.inc_by(n);
        }
        r
    }

    async fn put_stream(&self, key: &BlobKey, stream: BlobStream) -> Result<u64> {
        let r = self.inner.put_stream(key, stream).await;
        self.count("put_stream", &r);
        if let Ok(n) = r {
            self.metrics.blob_written.inc_by(n);
        }
        r
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<bytes::Bytes>> {
        let r = self.inner.get(key).await;
        self.count("get", &r);
        r
    }

    async fn open(&self, key: &BlobKey) -> Result<Option<BlobReader>> {
        let r = self.inner.open(key).await;
        self.count("open", &r);
        r
    }

    async fn open_range(
        &self,
        key: &BlobKey,
        range: std::ops::Range<u64>,
    ) -> Result<Option<BlobReader>> {
        let r = self.inner.open_range(key, range).await;
        self.count("open_range", &r);
        r
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let r = self.inner.delete(key).await;
        self.count("delete", &r);
        r
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobEntry>> {
        let r = self.inner.list(prefix).await;
        self.count("list", &r);
        r
    }
}

/// Route layer: counts the request under its route pattern with its status and duration.
pub async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let res = next.run(req).await;
    m.observe(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}
