//! Sessions that resume on another node of a cluster (spec/cluster.md §9; Discord
//! "Gateway" § Resuming: a client told to RECONNECT (op 7) resumes its session, here on
//! whichever node the load balancer picks).
//!
//! - **Handing off.** A draining node ([`Gateway::hand_off`], from
//!   [`Gateway::save_for_restart`]) stops reading the streams; the bus feeds a last
//!   [`StreamMark`] after everything it read. Once every shard passed it, each stream entry
//!   the node read is routed, so each resumable session is saved on its own
//!   ([`Handoff::save`], with a time to live of what is left of `gateway.replay_seconds`):
//!   its state and unacknowledged frames, what its node logged for it while it was
//!   detached, and the mark's positions of its guilds' and its user's streams.
//!   Before its clients get op 7, the node announces its sessions
//!   ([`Gateway::announce_handoff`]).
//! - **Adopting.** A RESUME of a session this node does not hold takes the saved one
//!   ([`Handoff::take`]: one node only; a second RESUME elsewhere gets INVALID_SESSION),
//!   waiting up to [`SAVE_WAIT`] while it is only announced
//!   and registers it detached, in its current guilds (membership is read anew: guilds
//!   joined meanwhile get GUILD_CREATE, guilds left GUILD_DELETE), so its logs are kept from
//!   now on; then it asks for a mark. At the mark each shard fixes, for the logs it owns,
//!   the log position after which this node's log serves the session and the stream
//!   position up to which it does not ([`Gateway::at_mark`]). What lies between the old
//!   node's positions and those is read from the streams ([`Handoff::range`]).
//! - **Replaying.** RESUME (`resume.rs`) then queues, per log, the old node's entries, the
//!   streams', and this node's log after the fixed position, filtered through the
//!   session's current permissions and intents like any RESUME: every dispatch it missed,
//!   once, each guild's in order.
//! - **Bounded.** A moved session carries at most `gateway.replay_events` frames and log
//!   entries, and reads at most as many from each stream; more, a trimmed stream, a missing
//!   position or no mark within [`MARK_WAIT`] give INVALID_SESSION (the client identifies).
//!   A node killed without draining saves nothing: its clients identify anew.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use super::replay::{Entry, LogKey};
use super::restart::{Saved, SavedEntry, SavedLog, SavedPayload, SavedSession, VERSION, ms};
use super::{Gateway, Prepared, Session, prepare, shard_of};
use crate::events::{Audience, Event, Handoff, StreamKey, StreamMark, Taken};

/// How long an adoption waits for its mark (then INVALID_SESSION).
pub const MARK_WAIT: Duration = Duration::from_secs(3);
/// How long an announced session stays announced without being saved (a node that died
/// while draining).
pub const ANNOUNCED_FOR: Duration = Duration::from_secs(30);
/// How long a RESUME waits for an announced session to be saved (then INVALID_SESSION).
pub const SAVE_WAIT: Duration = Duration::from_secs(10);

/// One session saved by a draining node (`P rs:{session_id}`, spec/cluster.md §9).
#[derive(Serialize, Deserialize)]
struct Moved {
    version: u32,
    /// Wall clock of the save (ms since the Unix epoch).
    saved_at_ms: i64,
    /// The node that saved it.
    node: String,
    session: SavedSession,
    /// The payloads of its frames and entries, each once.
    payloads: Vec<SavedPayload>,
    /// Per log: what the old node logged for it while it was detached.
    logs: Vec<(StreamKey, Vec<SavedEntry>)>,
    /// Per stream of its guilds and user: the id of the last entry the old node routed.
    positions: Vec<(StreamKey, String)>,
}

fn log_key(k: StreamKey) -> LogKey {
    match k {
        StreamKey::Guild(g) => LogKey::Guild(g),
        StreamKey::User(u) => LogKey::User(u),
    }
}

fn stream_key(k: LogKey) -> StreamKey {
    match k {
        LogKey::Guild(g) => StreamKey::Guild(g),
        LogKey::User(u) => StreamKey::User(u),
    }
}

fn owner(k: LogKey) -> i64 {
    match k {
        LogKey::Guild(id) | LogKey::User(id) => id,
    }
}

/// Per log of a session being adopted: `(log position, stream position)` once fixed at a
/// mark.
type Fixed = HashMap<LogKey, Option<(u64, String)>>;

/// The gateway's marks and the sessions being adopted.
pub(crate) struct Marks {
    /// Session id → its logs' positions.
    adopting: Mutex<HashMap<String, Fixed>>,
    /// Woken when a mark fixed positions.
    fixed: Notify,
    /// The newest mark each shard passed, and the minimum over shards.
    passed: Vec<AtomicU64>,
    seen: watch::Sender<u64>,
    /// The newest mark passed.
    last: Mutex<Option<Arc<StreamMark>>>,
}

impl Marks {
    pub(crate) fn new(shards: usize) -> Marks {
        Marks {
            adopting: Mutex::new(HashMap::new()),
            fixed: Notify::new(),
            passed: (0..shards.max(1)).map(|_| AtomicU64::new(0)).collect(),
            seen: watch::Sender::new(0),
            last: Mutex::new(None),
        }
    }
}

impl Gateway {
    /// On a cluster, before op 7 RECONNECT: announces every session this node holds as
    /// about to be saved, so that a client resuming elsewhere at once waits for it.
    pub async fn announce_handoff(&self) {
        let Some(handoff) = self.hearth.bus.handoff() else {
            return;
        };
        let ids = self.session_ids();
        if let Err(e) = handoff.announce(ids, ms(ANNOUNCED_FOR)).await {
            tracing::warn!(error = %e, "cannot announce the sessions' handoff");
        }
    }

    /// Shard `me` reached `mark`: everything fed before it was routed by this shard. Fixes
    /// the positions of the adopted sessions' logs it owns (module docs).
    pub(super) fn at_mark(&self, me: usize, mark: &Arc<StreamMark>) {
        let n = self.shards.n;
        let mut fixed = false;
        {
            let mut adopting = self.marks.adopting.lock();
            for logs in adopting.values_mut() {
                for (k, slot) in logs.iter_mut() {
                    if slot.is_some() || shard_of(owner(*k), n) != me {
                        continue;
                    }
                    let sk = stream_key(*k);
                    if let Some((_, id)) = mark.positions.iter().find(|(p, _)| *p == sk) {
                        *slot = Some((self.registry.lock().pos, id.clone()));
                        fixed = true;
                    }
                }
            }
        }
        if fixed {
            self.marks.fixed.notify_waiters();
        }
        {
            let mut last = self.marks.last.lock();
            if last.as_ref().is_none_or(|l| l.id < mark.id) {
                *last = Some(mark.clone());
            }
        }
        let m = &self.marks;
        m.passed[me].fetch_max(mark.id, Ordering::SeqCst);
        let all = m
            .passed
            .iter()
            .map(|p| p.load(Ordering::SeqCst))
            .min()
            .unwrap_or(mark.id);
        m.seen.send_modify(|v| *v = (*v).max(all));
    }

    /// Saves every resumable session to the cluster for the node its client resumes on
    /// (module docs). Errors are logged: those clients identify anew.
    pub(super) async fn hand_off(&self, handoff: Arc<dyn Handoff>) {
        let id = handoff.stop_reading();
        let mut seen = self.marks.seen.subscribe();
        if tokio::time::timeout(Duration::from_secs(10), seen.wait_for(|m| *m >= id))
            .await
            .is_err()
        {
            tracing::warn!("the stream reader did not stop; sessions are not handed off");
            return;
        }
        let Some(mark) = self.marks.last.lock().clone() else {
            return;
        };
        let Saved {
            saved_at_ms,
            payloads: all,
            sessions,
            logs,
            ..
        } = self.snapshot_for_restart();
        let ttl_ms = self
            .hearth
            .config
            .gateway
            .replay_seconds
            .saturating_mul(1000);
        let positions: HashMap<StreamKey, &String> =
            mark.positions.iter().map(|(k, id)| (*k, id)).collect();
        let logs: HashMap<LogKey, &SavedLog> = logs
            .iter()
            .map(|l| {
                let k = if l.guild {
                    LogKey::Guild(l.id)
                } else {
                    LogKey::User(l.id)
                };
                (k, l)
            })
            .collect();
        let mut docs = vec![];
        let mut skipped = 0;
        for mut s in sessions {
            let left = ttl_ms.saturating_sub(s.detached_ms);
            let keys: Vec<LogKey> = s
                .guilds
                .iter()
                .map(|g| LogKey::Guild(*g))
                .chain([LogKey::User(s.user_id)])
                .collect();
            let joined: HashMap<i64, u64> = s.joined.iter().copied().collect();
            let mut payloads = Picked::new(&all);
            let mut moved_logs = vec![];
            let mut at = vec![];
            let mut ok = left > 0;
            for k in &keys {
                let Some(id) = positions.get(&stream_key(*k)) else {
                    ok = false;
                    break;
                };
                at.push((stream_key(*k), (*id).clone()));
                let from = match k {
                    LogKey::Guild(g) => joined.get(g).map_or(s.cursor, |j| (*j).max(s.cursor)),
                    LogKey::User(_) => s.cursor,
                };
                let Some(log) = logs.get(k) else { continue };
                if log.floor > from {
                    // Part of what it missed was dropped from the log.
                    ok = false;
                    break;
                }
                let entries: Vec<SavedEntry> = log
                    .entries
                    .iter()
                    .filter(|e| e.pos > from)
                    .map(|e| SavedEntry {
                        payload: payloads.pick(e.payload),
                        ..e.clone()
                    })
                    .collect();
                if !entries.is_empty() {
                    moved_logs.push((stream_key(*k), entries));
                }
            }
            if !ok {
                skipped += 1;
                // Withdraws its announcement: its client identifies at once.
                docs.push((s.id, String::new(), 1));
                continue;
            }
            for b in &mut s.buffer {
                b.1 = payloads.pick(b.1);
            }
            let doc = Moved {
                version: VERSION,
                saved_at_ms,
                node: self.hearth.node.id.clone(),
                session: s,
                payloads: payloads.list,
                logs: moved_logs,
                positions: at,
            };
            match serde_json::to_string(&doc) {
                Ok(body) => docs.push((doc.session.id.clone(), body, left)),
                Err(e) => tracing::error!(error = %e, "cannot encode a session"),
            }
        }
        let n = docs.len() - skipped;
        match handoff.save(docs).await {
            Ok(()) => tracing::info!(
                sessions = n,
                skipped,
                "gateway sessions handed off for RESUME on any node"
            ),
            Err(e) => tracing::error!(error = %e, "cannot hand the gateway sessions off"),
        }
    }

    /// Takes session `id` of `user` from the node that handed it off and registers it here,
    /// detached, with what it missed (module docs). `None`: none saved, another node took
    /// it, another user's, expired, or what it missed cannot be rebuilt whole.
    pub(super) async fn adopt(&self, user: i64, id: &str) -> Option<Arc<Session>> {
        let handoff = self.hearth.bus.handoff()?;
        let deadline = Instant::now() + SAVE_WAIT;
        let body = loop {
            match handoff.take(id).await {
                Ok(Taken::Saved(b)) => break b,
                Ok(Taken::Pending) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(_) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a handed-off session");
                    return None;
                }
            }
        };
        let doc: Moved = serde_json::from_str(&body).ok()?;
        let cfg = &self.hearth.config.gateway;
        let ttl_ms = cfg.replay_seconds.saturating_mul(1000);
        let down_ms = u64::try_from(crate::storage::now_ms() - doc.saved_at_ms).unwrap_or(0);
        if doc.version != VERSION
            || doc.session.user_id != user
            || doc.session.detached_ms.saturating_add(down_ms) > ttl_ms
        {
            return None;
        }
        // Membership now: guilds joined while it moved get GUILD_CREATE, guilds left
        // GUILD_DELETE.
        let current: std::collections::HashSet<i64> = match self.hearth.db.guild_ids_of(user).await
        {
            Ok(g) => g.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the guilds of a moved session");
                return None;
            }
        };
        let payloads: Vec<Arc<Prepared>> = doc
            .payloads
            .into_iter()
            .map(SavedPayload::prepared)
            .collect();
        let mut old: HashMap<LogKey, Vec<Entry>> = HashMap::new();
        for (k, entries) in doc.logs {
            let list: Option<Vec<Entry>> =
                entries.into_iter().map(|e| e.entry(&payloads)).collect();
            old.insert(log_key(k), list?);
        }
        let positions: HashMap<LogKey, String> = doc
            .positions
            .into_iter()
            .map(|(k, id)| (log_key(k), id))
            .collect();
        let session = Arc::new(doc.session.session(&payloads, down_ms, Instant::now()));
        let keys: Vec<LogKey> = current
            .iter()
            .map(|g| LogKey::Guild(*g))
            .chain([LogKey::User(user)])
            .collect();
        {
            let mut reg = self.registry.lock();
            if reg.sessions.contains_key(&session.id) {
                return None;
            }
            let mut st = session.state.lock();
            let before = std::mem::replace(&mut st.guilds, current.clone());
            for g in before.difference(&current) {
                st.joined.remove(g);
                st.visible.remove(g);
                st.left.insert(*g);
            }
            for g in current.difference(&before) {
                st.left.remove(g);
                st.joined.insert(*g, 0);
            }
            st.adopting = true;
            drop(st);
            reg.add_user_session(user, &session.id);
            for g in &current {
                reg.add_detached(*g);
            }
            reg.sessions.insert(session.id.clone(), session.clone());
        }
        // Not under the registry lock: `at_mark` takes it under this one.
        self.marks.adopting.lock().insert(
            session.id.clone(),
            keys.iter().map(|k| (*k, None)).collect(),
        );
        let fixed = self.wait_for_mark(&handoff, &session.id).await;
        let handed = match fixed {
            Some(fixed) => self.missed(&handoff, fixed, &positions, &mut old).await,
            None => None,
        };
        let Some(handed) = handed else {
            self.unregister(&session.id);
            return None;
        };
        let mut st = session.state.lock();
        let joined: Vec<i64> = st.joined.keys().copied().collect();
        for g in joined {
            // Joined while it moved: its guild's log serves it from the fixed position on.
            let at = handed.get(&LogKey::Guild(g)).map_or(0, |(p, _)| *p);
            st.joined.insert(g, at);
        }
        st.handed = handed;
        st.adopting = false;
        drop(st);
        Some(session)
    }

    /// Asks for marks until every log of session `id` has its positions fixed (at most
    /// [`MARK_WAIT`]); then forgets the adoption.
    async fn wait_for_mark(
        &self,
        handoff: &Arc<dyn Handoff>,
        id: &str,
    ) -> Option<HashMap<LogKey, (u64, String)>> {
        let deadline = Instant::now() + MARK_WAIT;
        let result = loop {
            let fixed = self.marks.fixed.notified();
            tokio::pin!(fixed);
            fixed.as_mut().enable();
            {
                let adopting = self.marks.adopting.lock();
                let logs = adopting.get(id)?;
                if logs.values().all(Option::is_some) {
                    break Some(
                        logs.iter()
                            .filter_map(|(k, v)| Some((*k, v.clone()?)))
                            .collect(),
                    );
                }
            }
            if Instant::now() >= deadline {
                break None;
            }
            handoff.mark();
            let _ = tokio::time::timeout(Duration::from_millis(200), fixed).await;
        };
        self.marks.adopting.lock().remove(id);
        result
    }

    /// Per log of a moved session: the fixed log position, and the entries it missed before
    /// it (the old node's, then the stream's between the old node's position and the fixed
    /// one). `None` when that cannot be rebuilt whole.
    async fn missed(
        &self,
        handoff: &Arc<dyn Handoff>,
        fixed: HashMap<LogKey, (u64, String)>,
        positions: &HashMap<LogKey, String>,
        old: &mut HashMap<LogKey, Vec<Entry>>,
    ) -> Option<HashMap<LogKey, (u64, Vec<Entry>)>> {
        let max = self.hearth.config.gateway.replay_events;
        let mut out = HashMap::new();
        for (k, (pos, upto)) in fixed {
            let mut entries = old.remove(&k).unwrap_or_default();
            match (positions.get(&k), k) {
                (Some(after), _) => {
                    let read = handoff
                        .range(stream_key(k), after.clone(), upto, max)
                        .await
                        .map_err(|e| tracing::warn!(error = %e, "cannot read a stream"))
                        .ok()??;
                    entries.extend(read.iter().map(|d| entry_of(d, pos)));
                }
                // A guild it joined while it moved (the old node saved a position for every
                // other log): GUILD_CREATE, then this node's log.
                (None, LogKey::Guild(_)) => entries.clear(),
                (None, LogKey::User(_)) => return None,
            }
            for e in &mut entries {
                e.pos = pos;
            }
            if entries.len() > max {
                return None;
            }
            out.insert(k, (pos, entries));
        }
        Some(out)
    }
}

/// A stream's dispatch as the dispatcher logs it, at log position `pos`.
fn entry_of(d: &crate::events::Dispatch, pos: u64) -> Entry {
    let channel = match &d.audience {
        Audience::Guild { channel, .. } => channel.map(|c| c.db()),
        Audience::Users(_) => None,
    };
    let fallback = if d.event == Event::ChannelDelete {
        crate::service::snapshot::overwrites_of_payload(&d.data).map(Into::into)
    } else {
        None
    };
    Entry {
        pos,
        event: Arc::new(prepare(d)),
        intent: d.intent,
        channel,
        fallback,
        has_content: d.has_content,
    }
}

/// The payloads one moved session refers to, renumbered.
struct Picked<'a> {
    all: &'a [SavedPayload],
    index: HashMap<usize, usize>,
    list: Vec<SavedPayload>,
}

impl<'a> Picked<'a> {
    fn new(all: &'a [SavedPayload]) -> Picked<'a> {
        Picked {
            all,
            index: HashMap::new(),
            list: vec![],
        }
    }

    /// The new index of payload `i` of the whole snapshot.
    fn pick(&mut self, i: usize) -> usize {
        *self.index.entry(i).or_insert_with(|| {
            if let Some(p) = self.all.get(i) {
                self.list.push(p.clone());
            }
            self.list.len().saturating_sub(1)
        })
    }
}
