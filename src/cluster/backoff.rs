//! The login backoff (`rate_limits.login_backoff`, [`crate::service::backoff`]) shared by
//! every node of a cluster (issue 18, README "Scale-out", spec/cluster.md §8): the failure
//! counters of the (account, address), address and account keys live in Redis, so failing
//! logins spread over the nodes meet the same waits as on one node. Each key is a hash
//! `{prefix}lb:{key}` of `count` and `last` (ms, Redis' clock) that expires
//! `forget_seconds` after its last failure; reads and failures are one Lua script each
//! (atomic), on Redis' clock so that the nodes' clocks do not matter.

use super::Cluster;

/// For each key of KEYS: `count`, then the ms since its last failure (`0, -1` for a key
/// without failures).
const READ_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'count', 'last')
  if v[1] and v[2] then
    out[#out + 1] = tonumber(v[1])
    out[#out + 1] = math.max(0, now - tonumber(v[2]))
  else
    out[#out + 1] = 0
    out[#out + 1] = -1
  end
end
return out
";

/// Counts one failure under every key of KEYS, each kept ARGV[1] ms after it.
const FAIL_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, k in ipairs(KEYS) do
  redis.call('HINCRBY', k, 'count', 1)
  redis.call('HSET', k, 'last', now)
  redis.call('PEXPIRE', k, ARGV[1])
end
return 1
";

/// The failure counters of a cluster's login backoff.
pub struct RedisBackoff {
    cluster: Cluster,
    read: redis::Script,
    fail: redis::Script,
}

impl RedisBackoff {
    pub fn new(cluster: Cluster) -> RedisBackoff {
        RedisBackoff {
            cluster,
            read: redis::Script::new(READ_LUA),
            fail: redis::Script::new(FAIL_LUA),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}lb:{key}", self.cluster.prefix)
    }

    /// `(failures, ms since the last one)` of each of `keys` (`(0, None)` for a key
    /// without failures or forgotten). `Err` when Redis failed.
    pub async fn read(&self, keys: &[String]) -> redis::RedisResult<Vec<(u32, Option<u64>)>> {
        let mut inv = self.read.prepare_invoke();
        for k in keys {
            inv.key(self.key(k));
        }
        let mut con = self.cluster.conn.clone();
        let flat: Vec<i64> = inv.invoke_async(&mut con).await?;
        Ok(flat
            .chunks(2)
            .map(|c| {
                let count = u32::try_from(c[0]).unwrap_or(u32::MAX);
                (count, u64::try_from(c[1]).ok())
            })
            .collect())
    }

    /// Counts one failure under each of `keys`, forgotten `forget_ms` after it.
    pub async fn fail(&self, keys: &[String], forget_ms: u64) -> redis::RedisResult<()> {
        let mut inv = self.fail.prepare_invoke();
        for k in keys {
            inv.key(self.key(k));
        }
        inv.arg(forget_ms.max(1));
        let mut con = self.cluster.conn.clone();
        let _: i64 = inv.invoke_async(&mut con).await?;
        Ok(())
    }

    /// Forgets the failures of `key`.
    pub async fn forget(&self, key: &str) -> redis::RedisResult<()> {
        let mut con = self.cluster.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<i64>(&mut con)
            .await?;
        Ok(())
    }
}
