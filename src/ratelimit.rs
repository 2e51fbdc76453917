//! Token-bucket rate limiting with the figures Discord's headers need: the shared keyed
//! limiter ([`hearth_federation::ratelimit`], governor's GCRA) answering the homeserver's
//! [`Error::RateLimited`].
//!
//! Source for semantics: Discord API docs, "Topics > Rate Limits". In-process for now; a
//! Redis-backed implementation can replace [`KeyedLimiter`] for scale-out.

use std::hash::Hash;

pub use hearth_federation::ratelimit::{Allowed, quota};

use crate::config::Bucket;
use crate::error::Error;

/// A keyed token bucket.
pub struct KeyedLimiter<K: Hash + Eq + Clone>(hearth_federation::ratelimit::KeyedLimiter<K>);

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter for `bucket`; `scope` is reported in `X-RateLimit-Scope` ("user", "shared",
    /// "global"), `global` marks the global limit in 429 bodies.
    pub fn new(bucket: Bucket, scope: &'static str, global: bool) -> Self {
        KeyedLimiter(hearth_federation::ratelimit::KeyedLimiter::new(
            bucket, scope, global,
        ))
    }

    /// Takes one token for `key`. Errors: [`Error::RateLimited`] with the wait in seconds.
    pub fn check(&self, key: &K) -> Result<Allowed, Error> {
        self.0.check(key).map_err(|l| Error::RateLimited {
            retry_after: l.retry_after,
            global: l.global,
            scope: l.scope,
        })
    }

    /// Requests allowed per window (the burst).
    pub fn limit(&self) -> u32 {
        self.0.limit()
    }

    /// Forgets keys whose buckets are full (bounded memory).
    pub fn shrink(&self) {
        self.0.shrink()
    }
}
