//! Slow mode (`rate_limit_per_user`) shared by every node of a cluster (issue 18, README
//! "Scale-out", spec/cluster.md §6): a user's last post time in a channel is a key in Redis,
//! compared with the channel's current slow mode by atomic scripts on Redis' clock, so a user
//! meets one slow mode whichever node takes the send.
//! `service/slowmode.rs` keeps the same slots in its own memory on a single node and falls
//! back to them while Redis fails.

use super::Cluster;

/// The longest slow mode Discord allows (`rate_limit_per_user`, 21,600 s): how long a post
/// time is kept, so that raising a channel's slow mode holds back recent posters too.
pub const KEEP_MS: u64 = 21_600_000;

/// Milliseconds until the poster of KEYS[1] may post again under a slow mode of ARGV[1] ms
/// (0: now), on Redis' clock. The key holds `token:post_ms`.
const WAIT_LUA: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local post = tonumber(string.match(v, ':(%d+)$'))
if not post then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = tonumber(ARGV[1]) - (now - post)
if wait < 0 then return 0 end
return wait
";

/// Takes the slot at KEYS[1] under token ARGV[1] when the last post is at least ARGV[2] ms
/// old (`{1, 0}`), else `{0, ms to wait}`; the post time is kept [`KEEP_MS`] (ARGV[3]).
const TAKE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('GET', KEYS[1])
if v then
  local post = tonumber(string.match(v, ':(%d+)$'))
  if post then
    local wait = tonumber(ARGV[2]) - (now - post)
    if wait > 0 then return {0, wait} end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. now, 'PX', ARGV[3])
return {1, 0}
";

/// Deletes KEYS[1] if the send of token ARGV[1] still holds it (a slot given back).
const GIVE_BACK_LUA: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The shared slow-mode slots of a cluster.
pub struct RedisSlowmode {
    cluster: Cluster,
    wait: redis::Script,
    take: redis::Script,
    give_back: redis::Script,
}

impl RedisSlowmode {
    pub fn new(cluster: Cluster) -> RedisSlowmode {
        RedisSlowmode {
            cluster,
            wait: redis::Script::new(WAIT_LUA),
            take: redis::Script::new(TAKE_LUA),
            give_back: redis::Script::new(GIVE_BACK_LUA),
        }
    }

    fn key(&self, channel: i64, user: i64) -> String {
        format!("{}slow:{channel}:{user}", self.cluster.prefix)
    }

    /// Milliseconds until `user` may post in `channel` again under a slow mode of `ms` (the
    /// channel's current `rate_limit_per_user`; 0: now). `Err` when Redis failed.
    pub async fn wait_ms(&self, channel: i64, user: i64, ms: u64) -> redis::RedisResult<u64> {
        let mut con = self.cluster.conn.clone();
        let wait: i64 = self
            .wait
            .key(self.key(channel, user))
            .arg(ms)
            .invoke_async(&mut con)
            .await?;
        Ok(u64::try_from(wait).unwrap_or(0))
    }

    /// Takes `user`'s slot in `channel` under a slow mode of `ms`, for the send `token`:
    /// `Ok(Ok(()))` when taken, `Ok(Err(ms to wait))` when the last post is more recent.
    /// `Err` when Redis failed.
    pub async fn take(
        &self,
        channel: i64,
        user: i64,
        ms: u64,
        token: &str,
    ) -> redis::RedisResult<Result<(), u64>> {
        let mut con = self.cluster.conn.clone();
        let (taken, wait): (i64, i64) = self
            .take
            .key(self.key(channel, user))
            .arg(token)
            .arg(ms)
            .arg(KEEP_MS)
            .invoke_async(&mut con)
            .await?;
        Ok(if taken == 1 {
            Ok(())
        } else {
            Err(u64::try_from(wait).unwrap_or(1).max(1))
        })
    }

    /// Gives back the slot `token` took (nothing if another send took it since).
    pub async fn give_back(&self, channel: i64, user: i64, token: &str) -> redis::RedisResult<()> {
        let mut con = self.cluster.conn.clone();
        let _: i64 = self
            .give_back
            .key(self.key(channel, user))
            .arg(token)
            .invoke_async(&mut con)
            .await?;
        Ok(())
    }
}
