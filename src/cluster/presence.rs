//! Presence shared by every node of a cluster (issue 18, README "Scale-out", spec/cluster.md
//! §7): a user's current presence is one key in Redis, the nodes holding a connected session
//! of the user are a set beside it, and each node's liveness is its score in a sorted set by
//! expiry. A user is online while at least one live node holds a connected session of theirs;
//! when the last one closes, or the node holding it stops renewing its entry (a crash), the
//! user goes offline: a crashed node's users within `cluster.presence_ttl_seconds`.
//! `service/presence.rs` decides what to publish from what these scripts answer.

use std::sync::atomic::{AtomicBool, Ordering};

use super::Cluster;

/// Sets the presence of a user held by a node. KEYS: `pr:{user}`, `ps:{user}`, `pn:{node}`,
/// `pnodes`; ARGV: node, user, presence JSON (empty: offline, the key is deleted while the
/// node still counts as holding the user), lease ms. A node not yet listed in `pnodes` is
/// listed with Redis' now plus the lease, so a node that dies before its first renewal is
/// still reaped. Returns 1 when the stored presence changed, plus 2 when the node was not
/// listed.
const SET_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local unlisted = redis.call('ZADD', KEYS[4], 'NX', now + tonumber(ARGV[4]), ARGV[1]) * 2
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
local old = redis.call('GET', KEYS[1])
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
  if old then return 1 + unlisted end
  return unlisted
end
redis.call('SET', KEYS[1], ARGV[3])
if old == ARGV[3] then return unlisted end
return 1 + unlisted
";

/// Sets the presence of a user held by no node (a user of another server, told by their home
/// server). KEYS: `pr:{user}`; ARGV: presence JSON (empty: offline). Returns 1 when it changed.
const SET_REMOTE_LUA: &str = r"
local old = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  redis.call('DEL', KEYS[1])
  if old then return 1 end
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
if old == ARGV[1] then return 0 end
return 1
";

/// A node holds the user again without changing a presence another node may have set (a
/// session resumed after a restart; this node re-announcing its users after it was taken for
/// dead). KEYS: `pr:{user}`, `ps:{user}`, `pn:{node}`, `pnodes`; ARGV: node, user, presence
/// JSON (empty: none), lease ms. The presence is stored only if none is (`SET NX`). Returns
/// `{1 if it was stored, the stored presence or '', 2 if the node was not listed}`.
const REJOIN_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local unlisted = redis.call('ZADD', KEYS[4], 'NX', now + tonumber(ARGV[4]), ARGV[1]) * 2
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
local stored = 0
if ARGV[3] ~= '' and redis.call('SET', KEYS[1], ARGV[3], 'NX') then
  stored = 1
end
return {stored, redis.call('GET', KEYS[1]) or '', unlisted}
";

/// A node no longer holds a connected session of the user. KEYS: `pr:{user}`, `ps:{user}`,
/// `pn:{node}`; ARGV: node, user. Returns 1 when the user is now offline (no node holds
/// them) and had a presence.
const LEAVE_LUA: &str = r"
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) == 0 then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Renews a node. KEYS: `pnodes`; ARGV: node, lease ms. The node's score becomes Redis' now
/// plus the lease. Returns 1 if the node was still listed, 0 if not (its first renewal, or it
/// was reaped as dead meanwhile).
const BEAT_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local had = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if had then return 1 end
return 0
";

/// Reaps the nodes whose lease ran out (at most ARGV[2] of them per call). KEYS: `pnodes`;
/// ARGV: the key prefix, the node limit. For each: the node leaves every user it held; the
/// users no other node holds lose their presence. Returns those users' ids. Atomic: two nodes
/// reaping at once never both report a user.
const REAP_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, node in ipairs(dead) do
  local pn = ARGV[1] .. 'pn:' .. node
  for _, u in ipairs(redis.call('SMEMBERS', pn)) do
    local ps = ARGV[1] .. 'ps:' .. u
    redis.call('SREM', ps, node)
    if redis.call('SCARD', ps) == 0 and redis.call('DEL', ARGV[1] .. 'pr:' .. u) == 1 then
      table.insert(out, u)
    end
  end
  redis.call('DEL', pn)
  redis.call('ZREM', KEYS[1], node)
end
return out
";

/// Dead nodes reaped per call of [`RedisPresence::reap`].
const REAP_NODES: u32 = 16;
/// Users read per `MGET` of [`RedisPresence::load`].
const LOAD_CHUNK: usize = 1000;

/// The shared presence of a cluster, as one node (`node`: its instance id) sees it.
pub struct RedisPresence {
    cluster: Cluster,
    node: String,
    lease_ms: u64,
    /// Whether Redis has listed this node once (a renewal or a set).
    listed_once: AtomicBool,
    /// Set when Redis no longer listed this node after it had (it was reaped as dead while
    /// alive, e.g. paused longer than the lease): its users' presence is gone.
    lost: AtomicBool,
    set: redis::Script,
    set_remote: redis::Script,
    rejoin: redis::Script,
    leave: redis::Script,
    beat: redis::Script,
    reap: redis::Script,
}

impl RedisPresence {
    /// `node` names this process (unique per process); `lease_ms` is
    /// `cluster.presence_ttl_seconds` in ms.
    pub fn new(cluster: Cluster, node: String, lease_ms: u64) -> RedisPresence {
        RedisPresence {
            cluster,
            node,
            lease_ms,
            listed_once: AtomicBool::new(false),
            lost: AtomicBool::new(false),
            set: redis::Script::new(SET_LUA),
            set_remote: redis::Script::new(SET_REMOTE_LUA),
            rejoin: redis::Script::new(REJOIN_LUA),
            leave: redis::Script::new(LEAVE_LUA),
            beat: redis::Script::new(BEAT_LUA),
            reap: redis::Script::new(REAP_LUA),
        }
    }

    /// How long a node's entry lives without renewal (ms).
    pub fn lease_ms(&self) -> u64 {
        self.lease_ms
    }

    fn key(&self, kind: &str, id: impl std::fmt::Display) -> String {
        format!("{}{kind}:{id}", self.cluster.prefix)
    }

    /// Records that this node holds a connected session of `user` whose presence is `json`
    /// (`None`: offline). `Ok(true)` when the cluster's presence of the user changed.
    pub async fn set(&self, user: i64, json: Option<&str>) -> redis::RedisResult<bool> {
        let mut con = self.cluster.conn.clone();
        let changed: i64 = self
            .holding(&self.set, user, json)
            .invoke_async(&mut con)
            .await?;
        self.found(changed & 2 == 0);
        Ok(changed & 1 == 1)
    }

    /// `script` ([`SET_LUA`] or [`REJOIN_LUA`]) with their keys and arguments.
    fn holding<'a>(
        &self,
        script: &'a redis::Script,
        user: i64,
        json: Option<&str>,
    ) -> redis::ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.key(self.key("pr", user))
            .key(self.key("ps", user))
            .key(self.key("pn", &self.node))
            .key(self.nodes_key())
            .arg(&self.node)
            .arg(user)
            .arg(json.unwrap_or(""))
            .arg(self.lease_ms);
        inv
    }

    /// `P pnodes`.
    fn nodes_key(&self) -> String {
        format!("{}pnodes", self.cluster.prefix)
    }

    /// Notes whether Redis listed this node at a renewal or set.
    fn found(&self, listed: bool) {
        if !listed && self.listed_once.load(Ordering::Relaxed) {
            self.lost.store(true, Ordering::Relaxed);
        }
        self.listed_once.store(true, Ordering::Relaxed);
    }

    /// Whether this node found itself unlisted since the last call (then every user it holds
    /// must be set again).
    pub fn take_lost(&self) -> bool {
        self.lost.swap(false, Ordering::Relaxed)
    }

    /// The presence of a user no node holds (a remote user); `Ok(true)` when it changed.
    pub async fn set_remote(&self, user: i64, json: Option<&str>) -> redis::RedisResult<bool> {
        let mut con = self.cluster.conn.clone();
        let changed: i64 = self
            .set_remote
            .key(self.key("pr", user))
            .arg(json.unwrap_or(""))
            .invoke_async(&mut con)
            .await?;
        Ok(changed == 1)
    }

    /// This node holds `user` again; `json` (if any) is stored only when no presence is.
    /// `Ok((stored, the presence now stored))`.
    pub async fn rejoin(
        &self,
        user: i64,
        json: Option<&str>,
    ) -> redis::RedisResult<(bool, Option<String>)> {
        let mut con = self.cluster.conn.clone();
        let (stored, now, unlisted): (i64, String, i64) = self
            .holding(&self.rejoin, user, json)
            .invoke_async(&mut con)
            .await?;
        self.found(unlisted == 0);
        Ok((stored == 1, Some(now).filter(|n| !n.is_empty())))
    }

    /// This node no longer holds a connected session of `user`; `Ok(true)` when the user is
    /// now offline cluster-wide.
    pub async fn leave(&self, user: i64) -> redis::RedisResult<bool> {
        let mut con = self.cluster.conn.clone();
        let offline: i64 = self
            .leave
            .key(self.key("pr", user))
            .key(self.key("ps", user))
            .key(self.key("pn", &self.node))
            .arg(&self.node)
            .arg(user)
            .invoke_async(&mut con)
            .await?;
        Ok(offline == 1)
    }

    /// Renews this node's entry (see [`RedisPresence::take_lost`]).
    pub async fn beat(&self) -> redis::RedisResult<()> {
        let mut con = self.cluster.conn.clone();
        let had: i64 = self
            .beat
            .key(self.nodes_key())
            .arg(&self.node)
            .arg(self.lease_ms)
            .invoke_async(&mut con)
            .await?;
        self.found(had == 1);
        Ok(())
    }

    /// Reaps dead nodes; the users who went offline with them (each reported to one caller).
    pub async fn reap(&self) -> redis::RedisResult<Vec<i64>> {
        let mut con = self.cluster.conn.clone();
        let users: Vec<String> = self
            .reap
            .key(self.nodes_key())
            .arg(&self.cluster.prefix)
            .arg(REAP_NODES)
            .invoke_async(&mut con)
            .await?;
        Ok(users.iter().filter_map(|u| u.parse().ok()).collect())
    }

    /// The stored presence JSON of each of `users` (`None`: offline), in order.
    pub async fn load(&self, users: &[i64]) -> redis::RedisResult<Vec<Option<String>>> {
        let mut con = self.cluster.conn.clone();
        let mut out = Vec::with_capacity(users.len());
        for chunk in users.chunks(LOAD_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|u| self.key("pr", u)).collect();
            let mut cmd = redis::cmd("MGET");
            cmd.arg(keys);
            let got: Vec<Option<String>> = cmd.query_async(&mut con).await?;
            out.extend(got);
        }
        Ok(out)
    }
}
