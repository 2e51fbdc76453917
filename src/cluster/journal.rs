//! Crash records of gateway sessions (spec/cluster.md §9.1): the Redis half of
//! [`Handoff::journal`], [`Handoff::beat`] and [`Handoff::take_crashed`].
//!
//! - `P sc:{session_id}`, a hash: `user`, `node` (the instance holding the session), `meta`
//!   (its identity, JSON), `guilds` (JSON list), `min` (the oldest seq a RESUME after a crash
//!   may carry) and one `b:g{id}` / `b:u{id}` per stream: a position in it before every entry
//!   the session was given that is not in an item; one `v:{guild}` per guild: the channels
//!   the session sees there (JSON list) as of its start or the last frames that changed them.
//! - `P sj:{node}`, the node's journal, a stream: one entry per round trip of the node's
//!   writer, whose fields are session ids and whose values are items
//!   `"{first seq} {origin} ..."`, one origin per frame (`g{id}/{ms}-{n}`, `u{id}/{ms}-{n}`,
//!   `c{guild}` for GUILD_CREATE, `d{guild}` for GUILD_DELETE, `s{guild}:{channel}` and
//!   `h{guild}:{channel}` for the CHANNEL_CREATE and CHANNEL_DELETE of a channel shown or
//!   hidden by a permission change, `-` for anything else). Each `XADD` trims the entries
//!   older than the writer's `keep_ms` (`MINID ~`), and the stream lives
//!   `gateway.replay_seconds` past its last entry. One command for a whole batch of
//!   sessions' frames is what makes the records cheap per delivery (BENCHMARKS.md "Crash
//!   records in one stream per node"); a sorted set per session cost one command each.
//! - `P alive:{node}`: the node's beat, living a few seconds past its last renewal.
//!
//! The session hash lives `gateway.replay_seconds` past its start or the last heartbeat
//! that renewed it.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::bus::Shared;
use super::loss::text;
use crate::events::{CrashRecord, Crashed, JournalWrite, StreamKey};

/// Takes a crash record: `nil` when there is none or it is another user's; `alive`, the
/// beat and its remaining time to live (ms) while its node's beat lives; else the hash,
/// deleted in the same step.
const TAKE_LUA: &str = "local user = redis.call('HGET', KEYS[1], 'user') \
     if not user or user ~= ARGV[1] then return nil end \
     local node = redis.call('HGET', KEYS[1], 'node') \
     local beat = node and redis.call('GET', ARGV[2] .. node) \
     if beat then return {'alive', beat, redis.call('PTTL', ARGV[2] .. node)} end \
     local h = redis.call('HGETALL', KEYS[1]) \
     redis.call('DEL', KEYS[1]) \
     return {'taken', h}";

/// Journal entries read per `XRANGE` of [`crash_journal`] (each holds up to 1,024 items, a
/// batch of the node's writer: a page is up to ~16,000 items).
const JOURNAL_PAGE: usize = 16;

fn record_key(sh: &Shared, id: &str) -> String {
    format!("{}sc:{id}", sh.cluster.prefix)
}

fn journal_key(sh: &Shared, node: &str) -> String {
    format!("{}sj:{node}", sh.cluster.prefix)
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

/// [`Handoff::journal`]: one pipeline, in order, with one `XADD` to the node's journal for
/// every frame item of the batch (after the hash writes).
pub(super) fn journal(
    sh: &Arc<Shared>,
    node: &str,
    keep_ms: u64,
    writes: &[JournalWrite],
) -> BoxFuture<'static, Result<(), String>> {
    let mut pipe = redis::pipe();
    let jk = journal_key(sh, node);
    // The clock every timestamp column uses (`crate::storage::now_ms` re-exports it).
    let now_ms = hearth_db::now_ms().max(0) as u64;
    let mut xadd = redis::cmd("XADD");
    xadd.arg(&jk)
        .arg("MINID")
        .arg("~")
        .arg(now_ms.saturating_sub(keep_ms))
        .arg("*");
    let mut items = false;
    let mut journal_ttl = 0;
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
                let rk = record_key(sh, session);
                pipe.cmd("DEL").arg(&rk).ignore();
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
                pipe.cmd("PEXPIRE").arg(&rk).arg((*ttl_ms).max(1)).ignore();
            }
            JournalWrite::Frames {
                session,
                item,
                guilds,
                bases,
                visible,
                ttl_ms,
            } => {
                xadd.arg(session).arg(item);
                items = true;
                journal_ttl = journal_ttl.max(*ttl_ms);
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
                let rk = record_key(sh, session);
                let mut h = redis::cmd("HSET");
                h.arg(&rk).arg("min").arg(*floor);
                hset_bases(&mut h, bases);
                pipe.add_command(h).ignore();
                pipe.cmd("PEXPIRE").arg(&rk).arg((*ttl_ms).max(1)).ignore();
            }
            JournalWrite::Forget { session } => {
                pipe.cmd("DEL").arg(record_key(sh, session)).ignore();
            }
        }
    }
    if items {
        pipe.add_command(xadd).ignore();
        pipe.cmd("PEXPIRE")
            .arg(&jk)
            .arg(journal_ttl.max(1))
            .ignore();
    }
    let mut con = sh.cluster.conn.clone();
    Box::pin(async move {
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|e| e.to_string())
    })
}

/// [`Handoff::beat`]: `SET P alive:{node} {now ns} PX ttl` (nanoseconds since the Unix epoch,
/// so that each renewal stores a new value).
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
    let rk = record_key(sh, session_id);
    let alive = alive_prefix(sh);
    let mut con = sh.cluster.conn.clone();
    Box::pin(async move {
        let v: redis::Value = redis::Script::new(TAKE_LUA)
            .key(rk)
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
                Ok(Crashed::Taken(r))
            }
            _ => Ok(Crashed::None),
        }
    })
}

/// [`Handoff::crash_journal`]: the node's journal read whole, [`JOURNAL_PAGE`] entries per
/// `XRANGE`, on the long reads' connection.
pub(super) fn crash_journal(
    sh: &Arc<Shared>,
    node: &str,
) -> BoxFuture<'static, Result<Vec<(String, String)>, String>> {
    let key = journal_key(sh, node);
    let shared = sh.clone();
    Box::pin(async move {
        let mut con = shared.long_reads().await?;
        let mut out = vec![];
        let mut from = "-".to_string();
        loop {
            let page: redis::Value = redis::cmd("XRANGE")
                .arg(&key)
                .arg(&from)
                .arg("+")
                .arg("COUNT")
                .arg(JOURNAL_PAGE)
                .query_async(&mut con)
                .await
                .map_err(|e| e.to_string())?;
            let entries = list(&page);
            for entry in entries {
                let e = list(entry);
                let Some(id) = e.first().and_then(text) else {
                    continue;
                };
                for pair in e.get(1).map(list).unwrap_or_default().chunks(2) {
                    if let (Some(session), Some(item)) =
                        (pair.first().and_then(text), pair.get(1).and_then(text))
                    {
                        out.push((session, item));
                    }
                }
                from = format!("({id}");
            }
            if entries.len() < JOURNAL_PAGE {
                return Ok(out);
            }
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
