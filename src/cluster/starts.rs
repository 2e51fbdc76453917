//! Discord's `session_start_limit` shared by every node of a cluster (issue 18, README
//! "Scale-out", spec/cluster.md §5): one fixed window per user in Redis, counted by one
//! atomic Lua script per IDENTIFY, so a user (a bot's shards, a browser's tabs) meets one
//! budget whichever node its connections reach. `gateway/admission.rs` keeps the same window
//! in its own memory when the node runs alone, and falls back to it when Redis fails.

use super::Cluster;

/// Takes one session start from the window at KEYS[1]. ARGV: total starts per window, the
/// window (ms). The window opens with the first start and expires with its key. Returns
/// `{1, ms left in the window}` when taken, `{0, ms left}` when the window is used up.
const TAKE_LUA: &str = r"
local used = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if used > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {0, ttl}
end
return {1, ttl}
";

/// The shared session-start windows of a cluster.
pub struct RedisStarts {
    cluster: Cluster,
    script: redis::Script,
}

impl RedisStarts {
    pub fn new(cluster: Cluster) -> RedisStarts {
        RedisStarts {
            cluster,
            script: redis::Script::new(TAKE_LUA),
        }
    }

    fn key(&self, user: i64) -> String {
        format!("{}starts:{user}", self.cluster.prefix)
    }

    /// Takes one of `total` session starts of `user` per `window_ms`: `Ok(Ok(ms left in the
    /// window))`, or `Ok(Err(ms until the window ends))` when they are used up. `Err` when
    /// Redis failed (the caller falls back to its own window).
    pub async fn take(
        &self,
        user: i64,
        total: u32,
        window_ms: u64,
    ) -> redis::RedisResult<Result<u64, u64>> {
        let mut con = self.cluster.conn.clone();
        let (taken, ttl): (i64, i64) = self
            .script
            .key(self.key(user))
            .arg(total)
            .arg(window_ms.max(1))
            .invoke_async(&mut con)
            .await?;
        let ttl = u64::try_from(ttl).unwrap_or(0);
        Ok(if taken == 1 { Ok(ttl) } else { Err(ttl) })
    }

    /// `(starts used, ms until the window ends)` of `user`'s open window, `None` when none
    /// is open (takes nothing).
    pub async fn peek(&self, user: i64) -> redis::RedisResult<Option<(u32, u64)>> {
        let mut con = self.cluster.conn.clone();
        let (used, ttl): (Option<u32>, i64) = redis::pipe()
            .get(self.key(user))
            .pttl(self.key(user))
            .query_async(&mut con)
            .await?;
        Ok(match (used, u64::try_from(ttl)) {
            (Some(u), Ok(t)) => Some((u, t)),
            _ => None,
        })
    }
}
