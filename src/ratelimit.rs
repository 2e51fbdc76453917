//! Token-bucket rate limiting (governor's GCRA) with the figures Discord's headers need.
//!
//! Source for semantics: Discord API docs, "Topics > Rate Limits". In-process for now; a
//! Redis-backed implementation can replace [`KeyedLimiter`] for scale-out.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::Bucket;
use crate::error::Error;

/// The state of a bucket after an allowed request.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_after: f64,
}

/// A keyed token bucket.
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    inner: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>,
    limit: u32,
    interval: Duration,
    scope: &'static str,
    global: bool,
}

/// Quota of `limit` per `per_seconds` (burst `limit`, refill evenly).
pub fn quota(b: Bucket) -> (Quota, u32, Duration) {
    let limit = b.limit.max(1);
    let per = if b.per_seconds.is_finite() && b.per_seconds > 0.0 {
        b.per_seconds
    } else {
        1.0
    };
    let interval = Duration::from_secs_f64(per / f64::from(limit)).max(Duration::from_nanos(1));
    let q = Quota::with_period(interval)
        .expect("interval is positive")
        .allow_burst(NonZeroU32::new(limit).expect("limit >= 1"));
    (q, limit, interval)
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter for `bucket`; `scope` is reported in `X-RateLimit-Scope` ("user", "shared",
    /// "global"), `global` marks the global limit in 429 bodies.
    pub fn new(bucket: Bucket, scope: &'static str, global: bool) -> Self {
        let (q, limit, interval) = quota(bucket);
        KeyedLimiter {
            inner: RateLimiter::keyed(q).with_middleware::<StateInformationMiddleware>(),
            limit,
            interval,
            scope,
            global,
        }
    }

    /// Takes one token for `key`. Errors: [`Error::RateLimited`] with the wait in seconds.
    pub fn check(&self, key: &K) -> Result<Allowed, Error> {
        match self.inner.check_key(key) {
            Ok(snap) => {
                let remaining = snap.remaining_burst_capacity();
                let missing = self.limit.saturating_sub(remaining);
                Ok(Allowed {
                    limit: self.limit,
                    remaining,
                    reset_after: self.interval.as_secs_f64() * f64::from(missing),
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Error::RateLimited {
                    retry_after: (wait.as_secs_f64() * 1000.0).ceil() / 1000.0,
                    global: self.global,
                    scope: self.scope,
                })
            }
        }
    }

    /// Requests allowed per window (the burst).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Forgets keys whose buckets are full (bounded memory).
    pub fn shrink(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}
