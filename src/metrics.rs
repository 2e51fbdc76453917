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
//! - `hearth_db_connections{state="open"|"idle"}`, `hearth_db_max_connections`.
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
            let c = self.shed.get_or_create(&KindLabel { kind: kind.clone() });
            // A running total from the gateway: raise the counter to it.
            let now = c.get();
            if *total > now {
                c.inc_by(total - now);
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
