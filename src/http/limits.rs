//! Discord's rate limits on every client-API route ("Topics > Rate Limits"): the global
//! limit per token (or address), per-route buckets keyed by the major parameter, and the
//! `X-RateLimit-*` headers; plus the `Via` header and the request's cause scope.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client_ip;
use crate::error::Error;
use crate::ratelimit::{Allowed, KeyedLimiter};

/// The route buckets and the global limit (configured by `rate_limits`).
pub struct RouteLimits {
    /// Proxies whose `X-Forwarded-For` is believed (`trusted_proxies`).
    trusted_proxies: Vec<IpAddr>,
    global: KeyedLimiter<String>,
    default_route: KeyedLimiter<(String, String)>,
    message_create: KeyedLimiter<(String, String)>,
    reactions: KeyedLimiter<(String, String)>,
    /// Per webhook, whoever executes it.
    webhook_execute: KeyedLimiter<(String, String)>,
    /// The configured buckets (for the shared limits).
    config: crate::config::RateLimits,
    /// A cluster's buckets in Redis (`cluster.redis_url`): they decide, and the local
    /// limiters above only stand in while Redis fails.
    shared: Option<crate::cluster::RedisLimits>,
}

impl RouteLimits {
    pub fn new(c: &crate::config::RateLimits, trusted_proxies: &[IpAddr]) -> Self {
        RouteLimits {
            trusted_proxies: trusted_proxies.to_vec(),
            global: KeyedLimiter::new(
                crate::config::Bucket {
                    limit: c.global_per_second,
                    per_seconds: 1.0,
                },
                "global",
                true,
            ),
            default_route: KeyedLimiter::new(c.default_route, "user", false),
            message_create: KeyedLimiter::new(c.message_create, "user", false),
            reactions: KeyedLimiter::new(c.reactions, "user", false),
            webhook_execute: KeyedLimiter::new(c.webhook_execute, "shared", false),
            config: c.clone(),
            shared: None,
        }
    }

    /// Keeps the buckets in the cluster's Redis, shared by every node.
    pub fn shared(mut self, cluster: crate::cluster::Cluster) -> Self {
        self.shared = Some(crate::cluster::RedisLimits::new(cluster));
        self
    }

    /// Takes one token: from the cluster's bucket when there is one (the local limiter when
    /// Redis fails), else from the local limiter.
    async fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        local: &KeyedLimiter<K>,
        key: &K,
        name: &str,
        shared_key: impl FnOnce() -> String,
        bucket: crate::config::Bucket,
        (scope, global): (&'static str, bool),
    ) -> Result<Allowed, Error> {
        if let Some(s) = &self.shared {
            match s.check(name, &shared_key(), bucket, scope, global).await {
                Ok(r) => return r,
                Err(e) => {
                    tracing::warn!(error = %e, "shared rate limit unavailable; local bucket used")
                }
            }
        }
        local.check(key)
    }
    /// Drops state of idle keys (run periodically).
    pub fn shrink(&self) {
        self.global.shrink();
        self.default_route.shrink();
        self.message_create.shrink();
        self.reactions.shrink();
        self.webhook_execute.shrink();
    }
}

/// The major parameter of a path (Discord: channel_id, guild_id or webhook_id).
fn major_param(path: &str) -> &str {
    let mut it = path.split('/');
    while let Some(seg) = it.next() {
        if seg == "channels" || seg == "guilds" || seg == "webhooks" {
            return it.next().unwrap_or("");
        }
    }
    ""
}

/// Applies the global and per-route limits and adds Discord's rate-limit headers.
pub async fn rate_limit(
    State(limits): State<Arc<RouteLimits>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let identity = match req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        Some(a) => format!("t:{}", crate::service::auth::token_hash(a)),
        None => {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0);
            format!(
                "ip:{}",
                client_ip(req.headers(), peer, &limits.trusted_proxies)
            )
        }
    };
    let global_bucket = crate::config::Bucket {
        limit: limits.config.global_per_second,
        per_seconds: 1.0,
    };
    let global = limits
        .check(
            &limits.global,
            &identity,
            "global",
            || identity.clone(),
            global_bucket,
            ("global", true),
        )
        .await;
    if let Err(e) = global {
        let retry = match &e {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => 0.0,
        };
        let mut resp = e.into_response();
        add_headers(
            resp.headers_mut(),
            &Allowed {
                limit: limits.global.limit(),
                remaining: 0,
                reset_after: retry,
            },
            "global",
        );
        return resp;
    }
    let method = req.method().clone();
    // Executions of a webhook share one bucket per webhook, whoever sends them.
    let execute = method == Method::POST
        && route.contains("/webhooks/{webhook_id}/{webhook_token}")
        && !route.contains("/messages/");
    let c = &limits.config;
    let (limiter, bucket_name, bucket, scope) = if execute {
        (
            &limits.webhook_execute,
            "webhook_execute",
            c.webhook_execute,
            "shared",
        )
    } else if method == Method::POST && route.ends_with("/channels/{channel_id}/messages") {
        (
            &limits.message_create,
            "message_create",
            c.message_create,
            "user",
        )
    } else if route.contains("/reactions") {
        (&limits.reactions, "reactions", c.reactions, "user")
    } else {
        (&limits.default_route, "default", c.default_route, "user")
    };
    let route_key = format!(
        "{method} {bucket_name} {}",
        if bucket_name == "default" {
            route.as_str()
        } else {
            ""
        }
    );
    let key = (
        if execute { String::new() } else { identity },
        format!("{route_key} {}", major_param(req.uri().path())),
    );
    let bucket_hash = crate::service::auth::token_hash(&route_key)[..16].to_string();
    let checked = limits
        .check(
            limiter,
            &key,
            bucket_name,
            || format!("{}|{}", key.0, key.1),
            bucket,
            (scope, false),
        )
        .await;
    match checked {
        Ok(a) => {
            let mut resp = next.run(req).await;
            add_headers(resp.headers_mut(), &a, &bucket_hash);
            resp
        }
        Err(e) => {
            let mut resp = e.into_response();
            if let Ok(v) = HeaderValue::from_str(&bucket_hash) {
                resp.headers_mut().insert("x-ratelimit-bucket", v);
            }
            resp.headers_mut()
                .insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            resp
        }
    }
}

fn add_headers(h: &mut HeaderMap, a: &Allowed, bucket: &str) {
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let pairs = [
        ("x-ratelimit-limit", a.limit.to_string()),
        ("x-ratelimit-remaining", a.remaining.to_string()),
        ("x-ratelimit-reset", format!("{:.3}", now + a.reset_after)),
        ("x-ratelimit-reset-after", format!("{:.3}", a.reset_after)),
        ("x-ratelimit-bucket", bucket.to_string()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

/// Sends a response only after everything its request published is on the cluster's bus
/// ([`crate::events::EventBus::flushed`]; mounted by the composition root for a cluster).
pub async fn flush_bus(
    State(bus): State<Arc<dyn crate::events::EventBus>>,
    req: Request,
    next: Next,
) -> Response {
    let resp = next.run(req).await;
    bus.flushed().await;
    resp
}

/// Runs the rest of the request in a task of its own, so that it always runs to its end.
///
/// Hyper drops a request's future when its client hangs up (a client timeout, a closed tab,
/// a federation peer killed mid-push). Dropped while awaiting a transaction's commit, a
/// handler would leave the change committed (the database finishes the `COMMIT` it was
/// sent) but never publish its dispatches: a retry then finds the change applied and
/// publishes nothing, so live sessions miss it for good. In its own task the handler
/// finishes; only the answer is lost. The request's tracing span goes with it. A panic in
/// the handler is answered 500 in Discord's format (`{"code": 0, "message": ...}`).
pub async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    match tokio::spawn(next.run(req).in_current_span()).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked");
            Error::internal(format!("request handler failed: {e}")).into_response()
        }
    }
}

/// Adds `Via` to every response (discord.py treats a 429 without it as a proxy ban), and runs
/// the request inside a [`crate::events::CAUSE`] scope so that what it publishes names its
/// actor.
pub async fn via_header(req: Request, next: Next) -> Response {
    let mut resp = crate::events::CAUSE
        .scope(
            std::cell::RefCell::new(crate::events::Cause::default()),
            next.run(req),
        )
        .await;
    resp.headers_mut()
        .insert("via", HeaderValue::from_static("1.1 hearth"));
    resp
}
