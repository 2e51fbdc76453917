//! Slow mode (`rate_limit_per_user`) shared by every node of a cluster (issue 18, README
//! "Scale-out", spec/cluster.md §6): a user's last post in a channel is a key that lives for
//! the channel's slow-mode time, so a user meets one slow mode whichever node takes the send.
//! `service/slowmode.rs` keeps the same slots in its own memory on a single node and falls
//! back to them while Redis fails.

use super::Cluster;

/// Deletes KEYS[1] if it still holds ARGV[1] (a slot given back by the send that took it).
const GIVE_BACK_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The shared slow-mode slots of a cluster.
pub struct RedisSlowmode {
    cluster: Cluster,
    give_back: redis::Script,
}

impl RedisSlowmode {
    pub fn new(cluster: Cluster) -> RedisSlowmode {
        RedisSlowmode {
            cluster,
            give_back: redis::Script::new(GIVE_BACK_LUA),
        }
    }

    fn key(&self, channel: i64, user: i64) -> String {
        format!("{}slow:{channel}:{user}", self.cluster.prefix)
    }

    /// Milliseconds until `user` may post in `channel` again (0: now). `Err` when Redis
    /// failed.
    pub async fn wait_ms(&self, channel: i64, user: i64) -> redis::RedisResult<u64> {
        let mut con = self.cluster.conn.clone();
        let ttl: i64 = redis::cmd("PTTL")
            .arg(self.key(channel, user))
            .query_async(&mut con)
            .await?;
        Ok(u64::try_from(ttl).unwrap_or(0))
    }

    /// Takes `user`'s slot in `channel` for `ms` under `token` (`SET NX PX`): `Ok(Ok(()))`
    /// when taken, `Ok(Err(ms until it is free))` when another send holds it. `Err` when
    /// Redis failed.
    pub async fn take(
        &self,
        channel: i64,
        user: i64,
        ms: u64,
        token: &str,
    ) -> redis::RedisResult<Result<(), u64>> {
        let mut con = self.cluster.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(channel, user))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(ms.max(1))
            .query_async(&mut con)
            .await?;
        if set.is_some() {
            return Ok(Ok(()));
        }
        Ok(Err(self.wait_ms(channel, user).await?.max(1)))
    }

    /// Gives back the slot `token` took (nothing if it expired or another send took it).
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
