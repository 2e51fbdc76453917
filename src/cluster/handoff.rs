//! Sessions that move between nodes (spec/cluster.md §9): the Redis half of
//! [`Handoff`]. A draining node announces each resumable session under `P rs:{session_id}`
//! (a hash with its `user`, with a time to live) before its clients are told to reconnect,
//! then adds its `doc`; the node a client RESUMEs on takes it with one script (nothing for
//! another user; `pending` while there is no document yet; else the document, deleted), so
//! exactly one node adopts it, and reads what the session missed from the guild and user
//! streams with `XRANGE`.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use redis::streams::StreamRangeReply;

use super::bus::{Shared, decode};
use crate::events::{
    BusEvent, Crashed, Dispatch, Handoff, JournalWrite, MovedSession, StreamKey, Taken,
};

/// Takes a saved session: `nil` when there is none or it is another user's (left in place),
/// `pending` while it is only announced, else its document, deleted in the same step.
const TAKE_LUA: &str = "local h = redis.call('HMGET', KEYS[1], 'user', 'doc') \
     if not h[1] or h[1] ~= ARGV[1] then return nil end \
     if not h[2] then return ARGV[2] end \
     redis.call('DEL', KEYS[1]) return h[2]";

/// What [`TAKE_LUA`] answers for an announced session.
const PENDING: &str = "pending";

/// The [`Handoff`] of a [`super::RedisBus`].
pub(super) struct RedisHandoff(pub(super) Arc<Shared>);

impl RedisHandoff {
    /// `P rs:{session_id}`: a hash with `user` (from the announcement on) and `doc` (once
    /// saved).
    fn session_key(&self, id: &str) -> String {
        format!("{}rs:{id}", self.0.cluster.prefix)
    }

    fn run(&self, pipe: redis::Pipeline) -> BoxFuture<'static, Result<(), String>> {
        let mut con = self.0.cluster.conn.clone();
        Box::pin(async move {
            pipe.query_async::<()>(&mut con)
                .await
                .map_err(|e| e.to_string())
        })
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
        sessions: Vec<(String, i64)>,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<(), String>> {
        if sessions.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let mut pipe = redis::pipe();
        for (id, user) in sessions {
            let key = self.session_key(&id);
            pipe.cmd("HSET").arg(&key).arg("user").arg(user).ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(ttl_ms.max(1)).ignore();
        }
        self.run(pipe)
    }

    fn save(&self, sessions: Vec<MovedSession>) -> BoxFuture<'static, Result<(), String>> {
        if sessions.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        let mut pipe = redis::pipe();
        for s in sessions {
            let key = self.session_key(&s.id);
            match s.doc {
                None => {
                    pipe.cmd("DEL").arg(&key).ignore();
                }
                Some(doc) => {
                    pipe.cmd("HSET")
                        .arg(&key)
                        .arg("user")
                        .arg(s.user_id)
                        .arg("doc")
                        .arg(doc)
                        .ignore();
                    pipe.cmd("PEXPIRE").arg(&key).arg(s.ttl_ms.max(1)).ignore();
                }
            }
        }
        self.run(pipe)
    }

    fn take(&self, session_id: &str, user_id: i64) -> BoxFuture<'static, Result<Taken, String>> {
        let mut con = self.0.cluster.conn.clone();
        let key = self.session_key(session_id);
        Box::pin(async move {
            let v: Option<String> = redis::Script::new(TAKE_LUA)
                .key(key)
                .arg(user_id)
                .arg(PENDING)
                .invoke_async(&mut con)
                .await
                .map_err(|e| e.to_string())?;
            Ok(match v {
                None => Taken::None,
                Some(v) if v == PENDING => Taken::Pending,
                Some(doc) => Taken::Saved(doc),
            })
        })
    }

    fn held(&self, sessions: Vec<String>) -> BoxFuture<'static, Result<Vec<String>, String>> {
        let mut con = self.0.cluster.conn.clone();
        let keys: Vec<String> = sessions.iter().map(|id| self.session_key(id)).collect();
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(vec![]);
            }
            let mut pipe = redis::pipe();
            for k in &keys {
                pipe.cmd("EXISTS").arg(k);
            }
            let found: Vec<bool> = pipe
                .query_async(&mut con)
                .await
                .map_err(|e| e.to_string())?;
            Ok(sessions
                .into_iter()
                .zip(found)
                .filter_map(|(id, f)| f.then_some(id))
                .collect())
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
            let mut con = shared.long_reads().await?;
            // From `after` itself: finding it proves nothing between it and the rest was
            // trimmed (`0-0`, a stream that did not exist yet, has no entry of its own).
            let whole = after == "0-0";
            // `after` and at most `max` entries past it; one more means too many.
            let count = max + 2;
            let reply: StreamRangeReply = redis::cmd("XRANGE")
                .arg(shared.key(stream))
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
                if let Some(BusEvent::Dispatch(d)) =
                    decode(&shared, bytes, stream, None, Some(&entry.id))
                {
                    out.push(d);
                }
            }
            Ok(Some(out))
        })
    }

    fn start_of(&self, stream: StreamKey) -> Option<String> {
        self.0.start_of(stream)
    }

    fn journal(
        &self,
        node: &str,
        keep_ms: u64,
        writes: &[JournalWrite],
    ) -> BoxFuture<'static, Result<(), String>> {
        super::journal::journal(&self.0, node, keep_ms, writes)
    }

    fn crash_journal(
        &self,
        node: &str,
    ) -> BoxFuture<'static, Result<Vec<(String, String)>, String>> {
        super::journal::crash_journal(&self.0, node)
    }

    fn beat(&self, node: String, ttl_ms: u64) -> BoxFuture<'static, Result<(), String>> {
        super::journal::beat(&self.0, node, ttl_ms)
    }

    fn take_crashed(
        &self,
        session_id: &str,
        user_id: i64,
    ) -> BoxFuture<'static, Result<Crashed, String>> {
        super::journal::take_crashed(&self.0, session_id, user_id)
    }
}
