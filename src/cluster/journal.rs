//! Crash records of gateway sessions (spec/cluster.md §9.1): the Redis half of
//! [`Handoff::journal`], [`Handoff::beat`] and [`Handoff::take_crashed`].
//!
//! - `P sc:{session_id}`, a hash: `user`, `node` (the instance holding the session), `meta`
//!   (its identity, JSON), `guilds` (JSON list), `min` (the oldest seq a RESUME after a crash
//!   may carry) and one `b:g{id}` / `b:u{id}` per stream: a position in it before every entry
//!   the session was given that is not in an item; one `v:{guild}` per guild: the channels
//!   the session sees there (JSON list) as of its start or the last frames that changed them.
//! - `P sj:{session_id}`, a sorted set of items, each scored by its last seq:
//!   `"{first seq} {origin} ..."`, one origin per frame (`g{id}/{ms}-{n}`, `u{id}/{ms}-{n}`,
//!   `c{guild}` for GUILD_CREATE, `d{guild}` for GUILD_DELETE, `s{guild}:{channel}` and
//!   `h{guild}:{channel}` for the CHANNEL_CREATE and CHANNEL_DELETE of a channel shown or
//!   hidden by a permission change, `-` for anything else).
//! - `P alive:{node}`: the node's beat, living a few seconds past its last renewal.
//!
//! Both session keys live `gateway.replay_seconds` past their start or the last heartbeat
//! that renewed them. The sorted set always holds [`KEEP`] (score -1), so that it is never
//! emptied by a trim and recreated without a time to live: an item is one `ZADD`.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::bus::Shared;
use super::loss::text;
use crate::events::{CrashRecord, Crashed, JournalWrite, StreamKey};

/// Takes a crash record: `nil` when there is none or it is another user's; `alive`, the
/// beat and its remaining time to live (ms) while its node's beat lives; else the hash and
/// the items, deleted in the same step.
const TAKE_LUA: &str = "local user = redis.call('HGET', KEYS[1], 'user') \
     if not user or user ~= ARGV[1] then return nil end \
     local node = redis.call('HGET', KEYS[1], 'node') \
     local beat = node and redis.call('GET', ARGV[2] .. node) \
     if beat then return {'alive', beat, redis.call('PTTL', ARGV[2] .. node)} end \
     local h = redis.call('HGETALL', KEYS[1]) \
     local items = redis.call('ZRANGE', KEYS[2], 0, -1) \
     redis.call('DEL', KEYS[1], KEYS[2]) \
     return {'taken', h, items}";

/// The member that keeps a session's items alive (score -1; never trimmed, not an item).
pub(crate) const KEEP: &str = "k";

fn record_key(sh: &Shared, id: &str) -> String {
    format!("{}sc:{id}", sh.cluster.prefix)
}

fn items_key(sh: &Shared, id: &str) -> String {
    format!("{}sj:{id}", sh.cluster.prefix)
}

fn alive_prefix(sh: &Shared) -> String {
    format!("{}alive:", sh.cluster.prefix)
}

/// The hash field of a stream's base position.
fn base_field(k: StreamKey) -> String {
    match k {
        StreamKey::Guild(g) => format!("b:g{g}"),
        StreamKey::User(u) => format!("b:u{u}"),
    }
}

/// The stream of a base field (`None`: another field).
fn stream_of_field(f: &str) -> Option<StreamKey> {
    let rest = f.strip_prefix("b:")?;
    if let Some(g) = rest.strip_prefix('g') {
        return g.parse().ok().map(StreamKey::Guild);
    }
    rest.strip_prefix('u')?.parse().ok().map(StreamKey::User)
}

fn hset_bases(cmd: &mut redis::Cmd, bases: &[(StreamKey, String)]) {
    for (k, id) in bases {
        cmd.arg(base_field(*k)).arg(id);
    }
}

/// The hash field of a guild's visible channels.
fn visible_field(guild: i64) -> String {
    format!("v:{guild}")
}

fn hset_visible(cmd: &mut redis::Cmd, visible: &[(i64, String)]) {
    for (g, list) in visible {
        cmd.arg(visible_field(*g)).arg(list);
    }
}

/// [`Handoff::journal`]: one pipeline, in order.
pub(super) fn journal(
    sh: &Arc<Shared>,
    writes: &[JournalWrite],
) -> BoxFuture<'static, Result<(), String>> {
    let mut pipe = redis::pipe();
    for w in writes {
        match w {
            JournalWrite::Start {
                session,
                user,
                node,
                meta,
                guilds,
                min_seq,
                bases,
                visible,
                ttl_ms,
            } => {
                let (rk, ik) = (record_key(sh, session), items_key(sh, session));
                pipe.cmd("DEL").arg(&rk).arg(&ik).ignore();
                let mut h = redis::cmd("HSET");
                h.arg(&rk)
                    .arg("user")
                    .arg(*user)
                    .arg("node")
                    .arg(node)
                    .arg("meta")
                    .arg(meta)
                    .arg("guilds")
                    .arg(serde_json::to_string(guilds).unwrap_or_default())
                    .arg("min")
                    .arg(*min_seq);
                hset_bases(&mut h, bases);
                hset_visible(&mut h, visible);
                pipe.add_command(h).ignore();
                pipe.cmd("ZADD").arg(&ik).arg(-1).arg(KEEP).ignore();
                pipe.cmd("PEXPIRE").arg(&rk).arg((*ttl_ms).max(1)).ignore();
                pipe.cmd("PEXPIRE").arg(&ik).arg((*ttl_ms).max(1)).ignore();
            }
            JournalWrite::Frames {
                session,
                last,
                item,
                guilds,
                bases,
                visible,
                ttl_ms,
            } => {
                let ik = items_key(sh, session);
                pipe.cmd("ZADD").arg(&ik).arg(*last).arg(item).ignore();
                if guilds.is_some() || !bases.is_empty() || !visible.is_empty() {
                    let rk = record_key(sh, session);
                    let mut h = redis::cmd("HSET");
                    h.arg(&rk);
                    if let Some(g) = guilds {
                        h.arg("guilds")
                            .arg(serde_json::to_string(g).unwrap_or_default());
                    }
                    hset_bases(&mut h, bases);
                    hset_visible(&mut h, visible);
                    pipe.add_command(h).ignore();
                    pipe.cmd("PEXPIRE").arg(&rk).arg((*ttl_ms).max(1)).ignore();
                }
            }
            JournalWrite::Ack {
                session,
                floor,
                bases,
                ttl_ms,
            } => {
                let (rk, ik) = (record_key(sh, session), items_key(sh, session));
                let mut h = redis::cmd("HSET");
                h.arg(&rk).arg("min").arg(*floor);
                hset_bases(&mut h, bases);
                pipe.add_command(h).ignore();
                pipe.cmd("ZREMRANGEBYSCORE")
                    .arg(&ik)
                    .arg(0)
                    .arg(*floor)
                    .ignore();
                pipe.cmd("PEXPIRE").arg(&rk).arg((*ttl_ms).max(1)).ignore();
                pipe.cmd("PEXPIRE").arg(&ik).arg((*ttl_ms).max(1)).ignore();
            }
            JournalWrite::Forget { session } => {
                pipe.cmd("DEL")
                    .arg(record_key(sh, session))
                    .arg(items_key(sh, session))
                    .ignore();
            }
        }
    }
    let mut con = sh.cluster.conn.clone();
    Box::pin(async move {
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|e| e.to_string())
    })
}

/// [`Handoff::beat`]: `SET P alive:{node} {now ms} PX ttl`.
pub(super) fn beat(
    sh: &Arc<Shared>,
    node: String,
    ttl_ms: u64,
) -> BoxFuture<'static, Result<(), String>> {
    let key = format!("{}{node}", alive_prefix(sh));
    let mut con = sh.cluster.conn.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    Box::pin(async move {
        redis::cmd("SET")
            .arg(key)
            .arg(now.to_string())
            .arg("PX")
            .arg(ttl_ms.max(1))
            .query_async::<()>(&mut con)
            .await
            .map_err(|e| e.to_string())
    })
}

fn list(v: &redis::Value) -> &[redis::Value] {
    match v {
        redis::Value::Array(a) => a,
        _ => &[],
    }
}

/// [`Handoff::take_crashed`].
pub(super) fn take_crashed(
    sh: &Arc<Shared>,
    session_id: &str,
    user_id: i64,
) -> BoxFuture<'static, Result<Crashed, String>> {
    let (rk, ik) = (record_key(sh, session_id), items_key(sh, session_id));
    let alive = alive_prefix(sh);
    let mut con = sh.cluster.conn.clone();
    Box::pin(async move {
        let v: redis::Value = redis::Script::new(TAKE_LUA)
            .key(rk)
            .key(ik)
            .arg(user_id)
            .arg(alive)
            .invoke_async(&mut con)
            .await
            .map_err(|e| e.to_string())?;
        let parts = list(&v);
        match parts.first().and_then(text).as_deref() {
            Some("alive") => Ok(Crashed::Alive(
                parts.get(1).and_then(text).unwrap_or_default(),
                match parts.get(2) {
                    Some(redis::Value::Int(ms)) => (*ms).max(0) as u64,
                    _ => 0,
                },
            )),
            Some("taken") => {
                let mut r = CrashRecord::default();
                let h = parts.get(1).map(list).unwrap_or_default();
                for pair in h.chunks(2) {
                    let (Some(f), Some(v)) =
                        (pair.first().and_then(text), pair.get(1).and_then(text))
                    else {
                        continue;
                    };
                    match f.as_str() {
                        "node" => r.node = v,
                        "meta" => r.meta = v,
                        "guilds" => r.guilds = v,
                        "min" => r.min_seq = v.parse().unwrap_or(u64::MAX),
                        _ => {
                            if let Some(k) = stream_of_field(&f) {
                                r.bases.push((k, v));
                            } else if let Some(g) =
                                f.strip_prefix("v:").and_then(|g| g.parse().ok())
                            {
                                r.visible.push((g, v));
                            }
                        }
                    }
                }
                r.items = parts
                    .get(2)
                    .map(list)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(text)
                    .filter(|i| i != KEEP)
                    .collect();
                Ok(Crashed::Taken(r))
            }
            _ => Ok(Crashed::None),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_fields_name_their_stream_and_back() {
        for k in [StreamKey::Guild(12), StreamKey::User(7)] {
            assert_eq!(stream_of_field(&base_field(k)), Some(k));
        }
        assert_eq!(stream_of_field("b:x1"), None);
        assert_eq!(stream_of_field("min"), None);
    }
}
