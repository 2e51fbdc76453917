//! Keyed token buckets (governor's GCRA) for Hearth's servers (the `server` feature): the
//! homeserver's Discord-style limits (which report the figures of Discord's `X-RateLimit-*`
//! headers) and the registrar's per-client and per-server limits. The configuration unit is
//! a [`Bucket`] of `limit` requests per `per_seconds`.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

/// A token bucket: `limit` requests per `per_seconds` (burst `limit`, refilled evenly).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub limit: u32,
    pub per_seconds: f64,
}

/// The state of a bucket after an allowed request.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_after: f64,
}

/// A refused request: the bucket is empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limited {
    /// Seconds until one request fits, rounded up to the millisecond.
    pub retry_after: f64,
    /// The limiter's `global` flag (Discord's global limit).
    pub global: bool,
    /// The limiter's scope (Discord's `X-RateLimit-Scope`: "user", "shared", "global").
    pub scope: &'static str,
}

/// A keyed token bucket.
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    inner: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>,
    limit: u32,
    interval: Duration,
    scope: &'static str,
    global: bool,
}

/// Quota of `limit` per `per_seconds` (burst `limit`, refill evenly); a zero limit counts as
/// 1 and a non-positive or non-finite period as 1 s. Returns the quota, the limit and the
/// refill interval of one token.
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
    /// A limiter for `bucket`; `scope` and `global` are reported in [`Limited`].
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

    /// Takes one token for `key`.
    ///
    /// # Errors
    /// [`Limited`] with the wait in seconds.
    pub fn check(&self, key: &K) -> Result<Allowed, Limited> {
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
                Err(Limited {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_the_wait() {
        let l = KeyedLimiter::new(
            Bucket {
                limit: 2,
                per_seconds: 10.0,
            },
            "user",
            false,
        );
        let a = l.check(&"k").unwrap();
        assert_eq!((a.limit, a.remaining), (2, 1));
        assert!((a.reset_after - 5.0).abs() < 1e-9, "{a:?}");
        assert_eq!(l.check(&"k").unwrap().remaining, 0);
        let e = l.check(&"k").unwrap_err();
        assert!(e.retry_after > 4.0 && e.retry_after <= 5.0, "{e:?}");
        assert_eq!((e.global, e.scope), (false, "user"));
        // Other keys have their own bucket.
        assert!(l.check(&"other").is_ok());
        assert_eq!(l.limit(), 2);
    }

    #[test]
    fn degenerate_buckets_are_clamped() {
        let (_, limit, interval) = quota(Bucket {
            limit: 0,
            per_seconds: f64::NAN,
        });
        assert_eq!((limit, interval), (1, Duration::from_secs(1)));
    }
}
