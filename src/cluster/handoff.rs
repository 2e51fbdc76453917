//! Sessions that move between nodes (spec/cluster.md §9): the Redis half of
//! [`Handoff`]. A draining node stores each resumable session under `P rs:{session_id}`
//! (a string with a time to live), announced as `pending` before its clients are told to
//! reconnect; the node a client RESUMEs on takes it (`GET` and `DEL` in one script, leaving
//! `pending` in place), so exactly one node adopts it, and reads what the session missed
//! from the guild and user streams with `XRANGE`.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use redis::streams::StreamRangeReply;

use super::bus::{Shared, Topic, decode};
use crate::events::{BusEvent, Dispatch, Handoff, StreamKey, Taken};

/// The value of an announced session not saved yet.
const PENDING: &str = "pending";

/// `GETDEL` unless the session is only announced.
const TAKE_LUA: &str = "local v = redis.call('GET', KEYS[1]) \
     if v == ARGV[1] then return v end \
     if v then redis.call('DEL', KEYS[1]) end return v";

/// The [`Handoff`] of a [`super::RedisBus`].
pub(super) struct RedisHandoff(pub(super) Arc<Shared>);

impl RedisHandoff {
    fn session_key(&self, id: &str) -> String {
        format!("{}rs:{id}", self.0.cluster.prefix)
    }
}

impl Handoff for RedisHandoff {
    fn mark(&self) -> u64 {
        self.0.ask_mark(false)
    }

    fn stop_reading(&self) -> u64 {
        self.0.ask_mark(true)
    }

    fn announce(
        &self,
        sessions: Vec<String>,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<(), String>> {
        if sessions.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let mut con = self.0.cluster.conn.clone();
        let mut pipe = redis::pipe();
        for id in sessions {
            pipe.cmd("SET")
                .arg(self.session_key(&id))
                .arg(PENDING)
                .arg("PX")
                .arg(ttl_ms.max(1))
                .ignore();
        }
        Box::pin(async move {
            pipe.query_async::<()>(&mut con)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn save(&self, sessions: Vec<(String, String, u64)>) -> BoxFuture<'static, Result<(), String>> {
        if sessions.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let mut con = self.0.cluster.conn.clone();
        let mut pipe = redis::pipe();
        for (id, doc, ttl_ms) in sessions {
            if doc.is_empty() {
                pipe.cmd("DEL").arg(self.session_key(&id)).ignore();
                continue;
            }
            pipe.cmd("SET")
                .arg(self.session_key(&id))
                .arg(doc)
                .arg("PX")
                .arg(ttl_ms.max(1))
                .ignore();
        }
        Box::pin(async move {
            pipe.query_async::<()>(&mut con)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn take(&self, session_id: &str) -> BoxFuture<'static, Result<Taken, String>> {
        let mut con = self.0.cluster.conn.clone();
        let key = self.session_key(session_id);
        Box::pin(async move {
            let v: Option<String> = redis::cmd("EVAL")
                .arg(TAKE_LUA)
                .arg(1)
                .arg(key)
                .arg(PENDING)
                .query_async(&mut con)
                .await
                .map_err(|e| e.to_string())?;
            Ok(match v {
                None => Taken::None,
                Some(v) if v == PENDING => Taken::Pending,
                Some(doc) => Taken::Saved(doc),
            })
        })
    }

    fn range(
        &self,
        stream: StreamKey,
        after: String,
        upto: String,
        max: usize,
    ) -> BoxFuture<'static, Result<Option<Vec<Arc<Dispatch>>>, String>> {
        let shared = self.0.clone();
        Box::pin(async move {
            if after == upto {
                return Ok(Some(vec![]));
            }
            let topic = Topic::of(stream);
            let mut con = shared.cluster.conn.clone();
            // From `after` itself: finding it proves nothing between it and the rest was
            // trimmed (`0-0`, a stream that did not exist yet, has no entry of its own).
            let whole = after == "0-0";
            // `after` and at most `max` entries past it; one more means too many.
            let count = max + 2;
            let reply: StreamRangeReply = redis::cmd("XRANGE")
                .arg(shared.key(topic))
                .arg(&after)
                .arg(&upto)
                .arg("COUNT")
                .arg(count)
                .query_async(&mut con)
                .await
                .map_err(|e| e.to_string())?;
            if reply.ids.len() >= count {
                return Ok(None);
            }
            let mut ids = reply.ids.into_iter();
            if !whole {
                match ids.next() {
                    Some(first) if first.id == after => {}
                    _ => return Ok(None),
                }
            }
            let mut out = vec![];
            for entry in ids {
                let Some(redis::Value::BulkString(bytes)) = entry.map.get("e") else {
                    continue;
                };
                // Controls are not replayed: membership and permissions are read anew.
                if let Some(BusEvent::Dispatch(d)) = decode(&shared, bytes, topic, None) {
                    out.push(d);
                }
            }
            Ok(Some(out))
        })
    }
}
