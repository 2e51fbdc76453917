//! Stream ranges read for moved sessions, read once per node (spec/cluster.md §9).
//!
//! When a node dies or drains, thousands of its sessions are adopted by the other nodes at
//! once, and each needs what it missed from the same few streams (its guilds' and its
//! user's), from positions close to each other up to the same mark. Read session by
//! session, that is the same entries sent by Redis and decoded and serialized by the node
//! once per session: 5,000 sessions of one guild made the long reads' connection time out
//! (BENCHMARKS.md "Sessions that survive a killed node").
//!
//! [`Ranges`] keeps, per stream, the last range read: a position `lo` known not to be
//! trimmed (found in the stream, or `0-0`), the reader's position `hi` it was read up to, and
//! every dispatch between them, decoded and serialized once ([`Entry`], shared by every
//! session it is given to). A request from `after` up to `upto` is served from it when
//! `lo <= after` and `upto <= hi` (nothing after `lo` can have been trimmed when it was
//! read, so whatever `after` is, the entries after it are all there); a request that
//! reaches past either end reads only the part missing, once, while the other requests for
//! that stream wait for it. A range unused for [`IDLE`] is dropped by the gateway's janitor
//! (every 5 s).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::prepare;
use super::replay::{Entry, LogKey, fallback_of};
use crate::events::{Handoff, StreamEntry};

/// A stream range unused this long is dropped.
pub const IDLE: Duration = Duration::from_secs(5);

/// An entry id (`ms`, `seq`).
type Id = (u64, u64);

/// The per-stream ranges (module docs); `T`: what a stream entry is kept as ([`Entry`]).
pub(crate) struct Ranges<T = Entry> {
    streams: parking_lot::Mutex<HashMap<LogKey, Slot<T>>>,
}

/// A stream's range, if read; requests for the stream take turns on it.
type Slot<T> = Arc<tokio::sync::Mutex<Option<Range<T>>>>;

impl<T> Default for Ranges<T> {
    fn default() -> Self {
        Ranges {
            streams: Default::default(),
        }
    }
}

/// One stream's range: the dispatches after `lo` up to `hi`, oldest first.
struct Range<T> {
    lo: Id,
    hi: Id,
    entries: Vec<(Id, T)>,
    used: Instant,
}

impl<T: Clone> Range<T> {
    /// The entries after `after` up to `upto`, or `None` when there are more than `max`.
    fn between(&self, after: Id, upto: Id, max: usize) -> Option<Vec<T>> {
        let start = self.entries.partition_point(|(id, _)| *id <= after);
        let end = self.entries.partition_point(|(id, _)| *id <= upto);
        let got = &self.entries[start..end.max(start)];
        (got.len() <= max).then(|| got.iter().map(|(_, e)| e.clone()).collect())
    }
}

/// The dispatches [`Handoff::range`] read, as entries with their ids.
fn entries(read: &[Arc<crate::events::Dispatch>]) -> Vec<(Id, Entry)> {
    read.iter()
        .filter_map(|d| {
            let id = d.entry.as_ref()?.id;
            Some((id, Entry::of(d, Arc::new(prepare(d)), fallback_of(d), 0)))
        })
        .collect()
}

impl Ranges<Entry> {
    /// The dispatches of `stream` after `after` up to `upto` as replay entries (log position
    /// 0, for the caller to set), read from Redis only where this node's range of the
    /// stream does not cover them. `None` when there are more than `max`, `after` was
    /// trimmed, or the stream cannot be read (logged).
    pub(crate) async fn read(
        &self,
        handoff: &dyn Handoff,
        stream: LogKey,
        after: &str,
        upto: &str,
        max: usize,
    ) -> Option<Vec<Entry>> {
        self.get(stream, after, upto, max, |after, upto| {
            fetch(handoff, stream, after, upto, max)
        })
        .await
    }
}

impl<T> Ranges<T> {
    /// Drops the ranges unused for [`IDLE`] (the gateway's janitor, every 5 s).
    pub(crate) fn sweep(&self) {
        self.streams.lock().retain(|_, r| {
            r.try_lock().map_or(true, |r| {
                r.as_ref().is_some_and(|r| r.used.elapsed() < IDLE)
            })
        });
    }
}

impl<T: Clone> Ranges<T> {
    /// The entries of `stream` after `after` up to `upto` (entry ids), `None` when there are
    /// more than `max` or `fetch` gives none. `fetch(after, upto)` reads the entries after
    /// `after` up to `upto` from the stream, `None` when `after` is not in it (trimmed)
    /// or there are more than `max`; it is called only for what the range lacks.
    async fn get<F, Fut>(
        &self,
        stream: LogKey,
        after: &str,
        upto: &str,
        max: usize,
        fetch: F,
    ) -> Option<Vec<T>>
    where
        F: Fn(String, String) -> Fut,
        Fut: std::future::Future<Output = Option<Vec<(Id, T)>>>,
    {
        let (Some(a), Some(u)) = (StreamEntry::parse_id(after), StreamEntry::parse_id(upto)) else {
            return None;
        };
        // Nothing to read; a position past the mark is one the mark does not cover.
        if a >= u {
            return (a == u).then(Vec::new);
        }
        let cell = self.streams.lock().entry(stream).or_default().clone();
        let mut range = cell.lock().await;
        let (lo, hi) = range.as_ref().map_or(((0, 0), (0, 0)), |r| (r.lo, r.hi));
        let whole = match range.as_mut() {
            Some(r) if lo <= a && u <= hi => {
                r.used = Instant::now();
                return r.between(a, u, max);
            }
            // Below the range, up to its start (found when read: nothing in between).
            Some(r) if a < lo && lo <= u && u <= hi => {
                let add = fetch(after.to_owned(), StreamEntry::id_text(lo)).await?;
                r.entries.splice(0..0, add);
                r.lo = a;
                None
            }
            // Past the range: from its end, when that is an entry still in the stream.
            Some(r) if lo <= a && a <= hi => {
                match fetch(StreamEntry::id_text(hi), upto.to_owned()).await {
                    Some(add) => {
                        r.entries.extend(add);
                        r.hi = u;
                        None
                    }
                    None => Some(fetch(after.to_owned(), upto.to_owned()).await?),
                }
            }
            _ => Some(fetch(after.to_owned(), upto.to_owned()).await?),
        };
        if let Some(entries) = whole {
            *range = Some(Range {
                lo: a,
                hi: u,
                entries,
                used: Instant::now(),
            });
        }
        let r = range.as_mut()?;
        r.used = Instant::now();
        r.between(a, u, max)
    }
}

/// [`Handoff::range`] as entries; `None` when it gives none (logged when it failed).
async fn fetch(
    handoff: &dyn Handoff,
    stream: LogKey,
    after: String,
    upto: String,
    max: usize,
) -> Option<Vec<(Id, Entry)>> {
    let read = handoff
        .range(stream, after, upto, max)
        .await
        .map_err(|e| tracing::warn!(error = %e, "cannot read a stream"))
        .ok()??;
    Some(entries(&read))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of entries `1-0` ..= `20-0` (value: the ms part) whose entries before
    /// `3-0` were trimmed; `fetch` as the stream answers it, logging each call.
    struct Stream {
        calls: parking_lot::Mutex<Vec<(String, String)>>,
    }

    impl Stream {
        fn new() -> Stream {
            Stream {
                calls: Default::default(),
            }
        }

        async fn fetch(&self, after: String, upto: String, max: usize) -> Option<Vec<(Id, u64)>> {
            self.calls.lock().push((after.clone(), upto.clone()));
            let (a, u) = (
                StreamEntry::parse_id(&after)?,
                StreamEntry::parse_id(&upto)?,
            );
            let ids: Vec<Id> = (3..=20).map(|ms| (ms, 0)).collect();
            if a != (0, 0) && !ids.contains(&a) {
                return None;
            }
            let got: Vec<(Id, u64)> = ids
                .into_iter()
                .filter(|id| *id > a && *id <= u)
                .map(|id| (id, id.0))
                .collect();
            (got.len() <= max).then_some(got)
        }

        fn calls(&self) -> Vec<(String, String)> {
            std::mem::take(&mut *self.calls.lock())
        }
    }

    async fn get(r: &Ranges<u64>, s: &Stream, after: &str, upto: &str) -> Option<Vec<u64>> {
        let max = 10;
        r.get(LogKey::Guild(1), after, upto, max, |a, u| {
            s.fetch(a, u, max)
        })
        .await
    }

    fn pair(a: &str, u: &str) -> (String, String) {
        (a.to_owned(), u.to_owned())
    }

    #[tokio::test]
    async fn a_range_is_read_once_and_extended_only_by_what_it_lacks() {
        let (r, s) = (Ranges::default(), Stream::new());
        assert_eq!(get(&r, &s, "5-0", "10-0").await, Some((6..=10).collect()));
        assert_eq!(s.calls(), vec![pair("5-0", "10-0")]);
        // Inside: nothing read (a position between entries is fine: nothing after 5-0
        // could have been trimmed when it was read).
        assert_eq!(get(&r, &s, "7-0", "9-0").await, Some(vec![8, 9]));
        assert_eq!(get(&r, &s, "7-3", "10-0").await, Some(vec![8, 9, 10]));
        assert_eq!(s.calls(), vec![]);
        // Below: only up to the range's start.
        assert_eq!(get(&r, &s, "3-0", "8-0").await, Some((4..=8).collect()));
        assert_eq!(s.calls(), vec![pair("3-0", "5-0")]);
        // Past: only from the range's end.
        assert_eq!(get(&r, &s, "6-0", "14-0").await, Some((7..=14).collect()));
        assert_eq!(s.calls(), vec![pair("10-0", "14-0")]);
        assert_eq!(get(&r, &s, "3-0", "13-0").await, Some((4..=13).collect()));
        assert_eq!(s.calls(), vec![]);
        // More than `max` (10): none, whether read or not.
        assert_eq!(get(&r, &s, "3-0", "14-0").await, None);
        assert_eq!(s.calls(), vec![]);
    }

    #[tokio::test]
    async fn a_trimmed_start_or_an_end_that_is_no_entry_is_read_whole() {
        let (r, s) = (Ranges::default(), Stream::new());
        // 1-0 was trimmed: none, and nothing kept (the janitor drops the empty slot).
        assert_eq!(get(&r, &s, "1-0", "6-0").await, None);
        assert_eq!(s.calls(), vec![pair("1-0", "6-0")]);
        r.sweep();
        assert!(r.streams.lock().is_empty());
        // Read up to a position that is no entry (a reader's position between entries).
        assert_eq!(get(&r, &s, "8-0", "10-5").await, Some(vec![9, 10]));
        s.calls();
        // Past it: reading from 10-5 finds no such entry, so the request is read whole.
        assert_eq!(get(&r, &s, "9-0", "12-0").await, Some(vec![10, 11, 12]));
        assert_eq!(s.calls(), vec![pair("10-5", "12-0"), pair("9-0", "12-0")]);
        // A range just used is kept by the janitor.
        r.sweep();
        assert_eq!(r.streams.lock().len(), 1);
        // Below a range whose start was trimmed meanwhile is none.
        assert_eq!(get(&r, &s, "2-0", "12-0").await, None);
        // An empty request reads nothing; one that ends before it starts is none.
        s.calls();
        assert_eq!(get(&r, &s, "12-0", "12-0").await, Some(vec![]));
        assert_eq!(get(&r, &s, "12-0", "11-0").await, None);
        assert_eq!(s.calls(), vec![]);
    }
}
