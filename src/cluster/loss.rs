//! Repair of lost durable events on the cluster bus (spec/cluster.md §3.1).
//!
//! Two ways a durable event can fail to reach a node's sessions:
//! - **a publication Redis never took** (unreachable past [`super::bus`]'s 3 s): the
//!   publishing node remembers the streams it was for and, once Redis answers again, adds a
//!   notice to each (`guild_events_lost` / `user_events_lost`), which every node reading the
//!   stream routes after what it read before;
//! - **entries trimmed before a lagging node read them** (`MAXLEN ~ cluster.stream_max_len`):
//!   a read that returns at least `min(512, stream_max_len)` entries of a stream means the
//!   node may be that far behind, so the reader then asks Redis for the stream's
//!   `entries-added`, `length` and first entry (`XINFO STREAM`). Entries were lost when some
//!   were ever trimmed (`entries-added > length`) and the oldest one left is newer than the
//!   position the read started from; the node feeds itself the notice.
//!
//! Either notice ends the sessions concerned (close 4009, not resumable: their clients
//! identify anew and read the current state). The trim check errs on one side only: a node
//! exactly as far behind as the stream is long restarts sessions that missed nothing.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use super::bus::{Shared, WAIT};
use crate::events::{BusEvent, Control, StreamEntry, StreamKey};
use crate::snowflake::Snowflake;

/// The notice that events of stream `t` were lost.
pub(super) fn notice(t: StreamKey) -> Control {
    match t {
        StreamKey::Guild(g) => Control::GuildEventsLost {
            guild_id: Snowflake::from_db(g),
        },
        StreamKey::User(u) => Control::UserEventsLost {
            user_id: Snowflake::from_db(u),
        },
    }
}

/// Whether a read of `n` entries calls for the trim check.
pub(super) fn may_have_skipped(n: usize, read_count: u64, stream_max_len: u64) -> bool {
    n as u64 >= read_count.min(stream_max_len)
}

/// From an `XINFO STREAM` reply (a flat list or a map of field and value): whether entries
/// after position `from` (the id a read started from) were trimmed away. `None` when the
/// reply is not understood (the caller assumes nothing was lost).
pub(super) fn trimmed_after(reply: &redis::Value, from: &str) -> Option<bool> {
    let fields: HashMap<String, &redis::Value> = match reply {
        redis::Value::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [k, v] => Some((text(k)?, v)),
                _ => None,
            })
            .collect(),
        redis::Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, v)))
            .collect(),
        _ => return None,
    };
    let int = |name: &str| match fields.get(name) {
        Some(redis::Value::Int(i)) => Some(*i),
        _ => None,
    };
    let (added, length) = (int("entries-added")?, int("length")?);
    let last = fields.get("last-generated-id").and_then(|v| text(v));
    if added <= length
        || last.is_some_and(|l| StreamEntry::parse_id(&l) <= StreamEntry::parse_id(from))
    {
        // Never trimmed, or nothing was added after `from`.
        return Some(false);
    }
    let first = match fields.get("first-entry") {
        Some(redis::Value::Array(e)) => e.first().and_then(text),
        // Trimmed to nothing: everything after `from` went.
        _ => return Some(true),
    }?;
    Some(StreamEntry::parse_id(&first)? > StreamEntry::parse_id(from)?)
}

/// A reply's string (bulk or simple), `None` for anything else.
pub(super) fn text(v: &redis::Value) -> Option<String> {
    match v {
        redis::Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        redis::Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Adds a lost-events notice to each stream in `lost` (one pipeline); empties `lost` once
/// Redis took them.
pub(super) async fn tell(
    s: &Shared,
    con: &mut impl redis::aio::ConnectionLike,
    lost: &mut HashSet<StreamKey>,
) {
    let mut pipe = redis::pipe();
    for t in lost.iter() {
        let Ok(bytes) = super::bus::control_entry(notice(*t)) else {
            continue;
        };
        pipe.cmd("XADD")
            .arg(s.key(*t))
            .arg("MAXLEN")
            .arg("~")
            .arg(s.cluster.stream_max_len)
            .arg("*")
            .arg("e")
            .arg(bytes)
            .ignore();
    }
    let sent = tokio::time::timeout(WAIT, pipe.query_async::<()>(con)).await;
    match sent {
        Ok(Ok(())) => {
            tracing::warn!(
                streams = lost.len(),
                "cluster bus: the readers of streams whose events were lost are told"
            );
            s.n_lost.fetch_add(lost.len() as u64, Ordering::Relaxed);
            lost.clear();
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cluster bus: cannot tell of lost events yet; retrying")
        }
        Err(_) => tracing::warn!("cluster bus: no answer from Redis yet to tell of lost events"),
    }
}

/// The trim check (module docs) for streams whose last read was long: feeds a lost-events
/// notice for each stream trimmed past the position its read started from.
pub(super) async fn check_trimmed(
    sh: &Shared,
    con: &mut impl redis::aio::ConnectionLike,
    suspects: &[(StreamKey, String, String)],
) {
    let mut pipe = redis::pipe();
    for (_, key, _) in suspects {
        pipe.cmd("XINFO").arg("STREAM").arg(key);
    }
    let infos: Vec<redis::Value> = match pipe.query_async(con).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "cluster bus: cannot check streams for trimmed entries");
            return;
        }
    };
    for ((topic, key, from), info) in suspects.iter().zip(&infos) {
        if trimmed_after(info, from) == Some(true) {
            tracing::error!(stream = %key, from = %from, "cluster bus: entries were trimmed before this node read them");
            sh.n_lost.fetch_add(1, Ordering::Relaxed);
            let _ = sh.feed.send(BusEvent::Control(notice(*topic)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn info(added: i64, length: i64, first: Option<&str>) -> Value {
        let first = match first {
            Some(id) => Value::Array(vec![bulk(id), Value::Array(vec![])]),
            None => Value::Nil,
        };
        Value::Array(vec![
            bulk("length"),
            Value::Int(length),
            bulk("entries-added"),
            Value::Int(added),
            bulk("first-entry"),
            first,
        ])
    }

    #[test]
    fn entries_newer_than_the_start_trimmed_away_are_lost() {
        // (entries added, length, first entry left, where the read started, lost?)
        let cases = [
            // Never trimmed: nothing lost, wherever the read started.
            (300, 300, Some("5-0"), "0-0", false),
            // Trimmed, but the oldest entry left is at or before the start.
            (300, 100, Some("5-0"), "5-0", false),
            (300, 100, Some("5-0"), "7-3", false),
            // Trimmed past the start.
            (300, 100, Some("9-0"), "5-1", true),
            (300, 100, Some("5-2"), "5-1", true),
            (300, 100, Some("5-0"), "0-0", true),
            (300, 0, None, "5-0", true),
        ];
        for (added, length, first, from, lost) in cases {
            let got = trimmed_after(&info(added, length, first), from);
            assert_eq!(got, Some(lost), "{added} {length} {first:?} {from}");
        }
        // Not understood.
        assert_eq!(trimmed_after(&Value::Nil, "5-0"), None);
    }

    #[test]
    fn nothing_is_lost_when_nothing_came_after_the_start() {
        let mut v = info(300, 0, None);
        if let Value::Array(items) = &mut v {
            items.extend([bulk("last-generated-id"), bulk("5-0")]);
        }
        assert_eq!(trimmed_after(&v, "5-0"), Some(false));
        assert_eq!(trimmed_after(&v, "4-9"), Some(true));
    }

    #[test]
    fn a_long_read_calls_for_the_check() {
        assert!(may_have_skipped(512, 512, 10_000));
        assert!(!may_have_skipped(511, 512, 10_000));
        assert!(may_have_skipped(100, 512, 100));
        assert!(!may_have_skipped(99, 512, 100));
    }
}
