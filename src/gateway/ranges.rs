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
//! that stream wait for it. A range unused for [`IDLE`] is dropped.

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

/// The per-stream ranges (module docs).
#[derive(Default)]
pub(crate) struct Ranges {
    streams: parking_lot::Mutex<HashMap<LogKey, Arc<tokio::sync::Mutex<Option<Range>>>>>,
}

/// One stream's range: the dispatches after `lo` up to `hi`, oldest first.
struct Range {
    lo: Id,
    hi: Id,
    entries: Vec<(Id, Entry)>,
    used: Instant,
}

impl Range {
    /// The entries after `after` up to `upto`, or `None` when there are more than `max`.
    fn between(&self, after: Id, upto: Id, max: usize) -> Option<Vec<Entry>> {
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

impl Ranges {
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
        let (Some(a), Some(u)) = (StreamEntry::parse_id(after), StreamEntry::parse_id(upto)) else {
            return None;
        };
        if a >= u {
            return Some(vec![]);
        }
        let cell = {
            let mut streams = self.streams.lock();
            streams.retain(|_, r| {
                r.try_lock().map_or(true, |r| {
                    r.as_ref().is_some_and(|r| r.used.elapsed() < IDLE)
                })
            });
            streams.entry(stream).or_default().clone()
        };
        let mut range = cell.lock().await;
        let text = |id: Id| format!("{}-{}", id.0, id.1);
        let (lo, hi) = range.as_ref().map_or(((0, 0), (0, 0)), |r| (r.lo, r.hi));
        let whole = match range.as_mut() {
            Some(r) if lo <= a && u <= hi => {
                r.used = Instant::now();
                return r.between(a, u, max);
            }
            // Below the range, up to its start (found when read: nothing in between).
            Some(r) if a < lo && lo <= u && u <= hi => {
                let add = fetch(handoff, stream, after, &text(lo), max).await?;
                r.entries.splice(0..0, add);
                r.lo = a;
                None
            }
            // Past the range: from its end, when that is an entry still in the stream.
            Some(r) if lo <= a && a <= hi => {
                match fetch(handoff, stream, &text(hi), upto, max).await {
                    Some(add) => {
                        r.entries.extend(add);
                        r.hi = u;
                        None
                    }
                    None => Some(fetch(handoff, stream, after, upto, max).await?),
                }
            }
            _ => Some(fetch(handoff, stream, after, upto, max).await?),
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
    after: &str,
    upto: &str,
    max: usize,
) -> Option<Vec<(Id, Entry)>> {
    let read = handoff
        .range(stream, after.to_owned(), upto.to_owned(), max)
        .await
        .map_err(|e| tracing::warn!(error = %e, "cannot read a stream"))
        .ok()??;
    Some(entries(&read))
}
