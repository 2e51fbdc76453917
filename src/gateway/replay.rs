//! The shared replay log: the dispatches a detached session may need for RESUME, each
//! serialized once ([`Prepared`], the same `Arc` the live sessions received) and kept once
//! per guild (or per user, for user-addressed dispatches), whatever the number of detached
//! sessions. A detached session holds only a cursor (a log position); RESUME reads the logs
//! of its guilds and user after the cursor and filters them through the session's current
//! permissions and intents (`resume.rs`).
//!
//! Bounded by time (`gateway.replay_seconds`: an entry older than that cannot be needed, the
//! sessions detached before it have expired) and by bytes (`gateway.replay_log_bytes` over
//! all logs, oldest first). A log remembers the newest position it dropped (`floor`); a
//! RESUME whose cursor is older than that gets INVALID_SESSION.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Prepared;
use crate::events::{Audience, Dispatch, Event};
use crate::permissions::Overwrite;

/// A CHANNEL_DELETE's overwrites, from its payload: the channel's logged events are
/// filtered through them at RESUME, the channel being gone from the snapshot.
pub(crate) fn fallback_of(d: &Dispatch) -> Option<Arc<[Overwrite]>> {
    (d.event == Event::ChannelDelete)
        .then(|| crate::service::snapshot::overwrites_of_payload(&d.data).map(Into::into))
        .flatten()
}

/// Whether THREAD_MEMBERS_UPDATE payload `data` adds or removes `user`: she gets it even
/// without the GUILD_MEMBERS intent its other readers need (Discord "Gateway Events > Thread
/// Members Update").
pub(crate) fn thread_member_concerned(data: &serde_json::Value, user: i64) -> bool {
    let id = user.to_string();
    let named = |v: &serde_json::Value| v.as_str() == Some(id.as_str());
    data["added_members"]
        .as_array()
        .is_some_and(|a| a.iter().any(|m| named(&m["user_id"])))
        || data["removed_member_ids"]
            .as_array()
            .is_some_and(|a| a.iter().any(named))
}

/// Which log an entry belongs to: a guild's or a user's, the keys of a cluster's streams.
pub(crate) use crate::events::StreamKey as LogKey;

/// One logged dispatch and what routing needs to filter it again at RESUME.
#[derive(Clone)]
pub(crate) struct Entry {
    /// Log position (the registry's dispatch clock).
    pub pos: u64,
    pub event: Arc<Prepared>,
    /// Intent bit(s) a session needs (any), 0 = always.
    pub intent: u64,
    /// Guild dispatches: the channel whose VIEW_CHANNEL gates it.
    pub channel: Option<i64>,
    /// A deleted channel's overwrites (from the CHANNEL_DELETE payload).
    pub fallback: Option<Arc<[Overwrite]>>,
    /// Subject to MESSAGE_CONTENT.
    pub has_content: bool,
}

impl Entry {
    /// The entry of dispatch `d`, serialized as `event` (shared with its live deliveries),
    /// at log position `pos`; `fallback`: [`fallback_of`] `d`.
    pub(crate) fn of(
        d: &Dispatch,
        event: Arc<Prepared>,
        fallback: Option<Arc<[Overwrite]>>,
        pos: u64,
    ) -> Entry {
        let channel = match &d.audience {
            Audience::Guild { channel, .. } => channel.map(|c| c.db()),
            Audience::Users(_) => None,
        };
        Entry {
            pos,
            event,
            intent: d.intent,
            channel,
            fallback,
            has_content: d.has_content,
        }
    }

    fn bytes(&self) -> usize {
        self.event.data.len() + self.event.stripped.as_ref().map_or(0, |s| s.len()) + 160
    }
}

#[derive(Default)]
struct Log {
    entries: VecDeque<Entry>,
    /// Newest position dropped from this log, and when it was logged.
    floor: u64,
    floor_at: Option<Instant>,
}

/// The dispatches of every guild and user with a detached session, oldest first.
pub(crate) struct ReplayLog {
    logs: HashMap<LogKey, Log>,
    /// Every entry of every log in append order: `(log, position, when, bytes)`.
    order: VecDeque<(LogKey, u64, Instant, usize)>,
    bytes: usize,
    pub max_bytes: usize,
    pub ttl: Duration,
}

impl Default for ReplayLog {
    fn default() -> Self {
        ReplayLog {
            logs: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            max_bytes: 64 << 20,
            ttl: Duration::from_secs(300),
        }
    }
}

/// One log as saved across a restart (`restart.rs`): its floor, the age of that floor, and
/// its entries with their ages, oldest first.
pub(crate) struct Dumped {
    pub key: LogKey,
    pub floor: u64,
    pub floor_age: Option<Duration>,
    pub entries: Vec<(Entry, Duration)>,
}

/// A RESUME cursor older than what a log still holds.
#[derive(Debug)]
pub(crate) struct Gap;

/// Size of the replay log (for tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Logs (guilds and users) held.
    pub logs: usize,
    /// Entries over all logs.
    pub entries: usize,
    /// Approximate bytes held.
    pub bytes: usize,
}

impl ReplayLog {
    /// Appends `entry` to `key`'s log, then drops what is too old or over the byte budget.
    pub(crate) fn append(&mut self, key: LogKey, entry: Entry) {
        let now = Instant::now();
        let bytes = entry.bytes();
        self.order.push_back((key, entry.pos, now, bytes));
        self.bytes += bytes;
        self.logs.entry(key).or_default().entries.push_back(entry);
        self.expire(now);
        while self.bytes > self.max_bytes && self.drop_oldest() {}
    }

    fn drop_oldest(&mut self) -> bool {
        let Some((key, pos, at, bytes)) = self.order.pop_front() else {
            return false;
        };
        self.bytes -= bytes;
        if let Some(log) = self.logs.get_mut(&key) {
            if log.entries.front().is_some_and(|e| e.pos == pos) {
                log.entries.pop_front();
            }
            log.floor = pos;
            log.floor_at = Some(at);
        }
        true
    }

    /// Drops entries older than the TTL.
    pub(crate) fn expire(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|(_, _, at, _)| now.duration_since(*at) > self.ttl)
        {
            self.drop_oldest();
        }
    }

    /// Drops entries older than the TTL, and empty logs whose last drop is older than the
    /// TTL (every session that could have missed it has expired): the janitor's pass.
    pub(crate) fn sweep(&mut self, now: Instant) {
        self.expire(now);
        let ttl = self.ttl;
        self.logs.retain(|_, l| {
            !l.entries.is_empty() || l.floor_at.is_some_and(|t| now.duration_since(t) <= ttl)
        });
    }

    /// The entries of `key`'s log after position `after`; [`Gap`] when some were dropped.
    pub(crate) fn since(&self, key: LogKey, after: u64) -> Result<Vec<Entry>, Gap> {
        let Some(log) = self.logs.get(&key) else {
            return Ok(vec![]);
        };
        if log.floor > after {
            return Err(Gap);
        }
        let start = log.entries.partition_point(|e| e.pos <= after);
        Ok(log.entries.range(start..).cloned().collect())
    }

    /// Every log with the ages of its floor and entries at `now` (a restart saves them).
    pub(crate) fn dump(&self, now: Instant) -> Vec<Dumped> {
        let at: HashMap<(LogKey, u64), Instant> = self
            .order
            .iter()
            .map(|(k, pos, at, _)| ((*k, *pos), *at))
            .collect();
        self.logs
            .iter()
            .map(|(key, l)| Dumped {
                key: *key,
                floor: l.floor,
                floor_age: l.floor_at.map(|t| now.saturating_duration_since(t)),
                entries: l
                    .entries
                    .iter()
                    .map(|e| {
                        let age = at
                            .get(&(*key, e.pos))
                            .map_or(Duration::ZERO, |t| now.saturating_duration_since(*t));
                        (e.clone(), age)
                    })
                    .collect(),
            })
            .collect()
    }

    /// Adds logs saved by [`ReplayLog::dump`] (before any entry is appended), in position
    /// order, then drops what is too old or over the byte budget.
    pub(crate) fn restore(&mut self, logs: Vec<Dumped>, now: Instant) {
        let ago = |d: Duration| now.checked_sub(d).unwrap_or(now);
        let mut all: Vec<(LogKey, Entry, Instant)> = vec![];
        for d in logs {
            let log = self.logs.entry(d.key).or_default();
            log.floor = log.floor.max(d.floor);
            log.floor_at = d.floor_age.map(ago);
            all.extend(d.entries.into_iter().map(|(e, age)| (d.key, e, ago(age))));
        }
        all.sort_by_key(|(_, e, _)| e.pos);
        for (key, e, at) in all {
            let bytes = e.bytes();
            self.order.push_back((key, e.pos, at, bytes));
            self.bytes += bytes;
            self.logs.entry(key).or_default().entries.push_back(e);
        }
        self.expire(now);
        while self.bytes > self.max_bytes && self.drop_oldest() {}
    }

    pub(crate) fn stats(&self) -> LogStats {
        LogStats {
            logs: self.logs.len(),
            entries: self.order.len(),
            bytes: self.bytes,
        }
    }
}
