//! Rate-limit buckets shared by every node of a cluster: the same GCRA as the in-process
//! limiter ([`crate::ratelimit::KeyedLimiter`], governor), kept in Redis and updated by one
//! atomic Lua script per request, so a client meets one bucket whichever node answers, and
//! Discord's `X-RateLimit-*` figures are computed the same way (spec/cluster.md §4).

use crate::config::Bucket;
use crate::error::Error;
use crate::ratelimit::{Allowed, quota};

use super::Cluster;

/// GCRA on a key holding the theoretical arrival time (ms, Redis' clock). ARGV: emission
/// interval (ms, may be fractional), burst. Returns `{1, remaining}` or `{0, wait_ms}`; the
/// key expires when the bucket is full again.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local window = burst * interval
if new_tat - now > window + 0.0005 then
  return {0, tostring(new_tat - now - window)}
end
redis.call('SET', KEYS[1], string.format('%.4f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
return {1, tostring(math.floor((window - (new_tat - now)) / interval + 0.0005))}
";

/// The shared buckets of a cluster.
pub struct RedisLimits {
    cluster: Cluster,
    script: redis::Script,
}

impl RedisLimits {
    pub fn new(cluster: Cluster) -> RedisLimits {
        RedisLimits {
            cluster,
            script: redis::Script::new(GCRA_LUA),
        }
    }

    /// Takes one token of `bucket` for `key` (named `{prefix}rl:{name}:{key}` in Redis).
    /// `Ok(Err(Error::RateLimited))` when the bucket is empty; `Err` when Redis failed (the
    /// caller falls back to its local limiter).
    pub async fn check(
        &self,
        name: &str,
        key: &str,
        bucket: Bucket,
        scope: &'static str,
        global: bool,
    ) -> redis::RedisResult<Result<Allowed, Error>> {
        let (_, limit, interval) = quota(bucket);
        let interval_ms = interval.as_secs_f64() * 1000.0;
        let mut con = self.cluster.conn.clone();
        let (ok, figure): (i64, String) = self
            .script
            .key(format!("{}rl:{name}:{key}", self.cluster.prefix))
            .arg(format!("{interval_ms:.6}"))
            .arg(limit)
            .invoke_async(&mut con)
            .await?;
        let figure: f64 = figure.parse().unwrap_or(0.0);
        Ok(if ok == 1 {
            let remaining = (figure.max(0.0) as u32).min(limit - 1);
            Ok(Allowed {
                limit,
                remaining,
                reset_after: interval.as_secs_f64() * f64::from(limit - remaining),
            })
        } else {
            Err(Error::RateLimited {
                retry_after: (figure.max(1.0)).ceil() / 1000.0,
                global,
                scope,
            })
        })
    }
}
