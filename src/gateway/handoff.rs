//! Sessions that resume on another node of a cluster (spec/cluster.md §9; Discord
//! "Gateway" § Resuming: a client told to RECONNECT (op 7) resumes its session, here on
//! whichever node the load balancer picks).
//!
//! - **Announcing.** When it starts draining and again right before op 7, a node announces
//!   its sessions ([`Gateway::announce_handoff`]), so that a client resuming elsewhere in
//!   the meantime waits for the save (at most [`SAVE_WAIT`] plus `node.drain_delay_ms`).
//! - **Handing off.** Once its connections are closed, the node
//!   ([`Gateway::hand_off_sessions`]) stops reading the streams; the bus feeds a last
//!   [`StreamMark`] after everything it read. Once every shard passed it, each stream entry
//!   the node read is routed, so each resumable session is saved on its own
//!   ([`Handoff::save`], with a time to live of what is left of `gateway.replay_seconds`):
//!   its state and unacknowledged frames, what its node logged for it while it was
//!   detached, and the mark's positions of its guilds' and its user's streams. Nothing is
//!   delivered after that. A session that cannot be saved whole has its announcement
//!   withdrawn (its client identifies at once).
//! - **Adopting.** A RESUME of a session this node does not hold takes the saved one
//!   ([`Handoff::take`]: one node only, and only with its user's token; a second RESUME
//!   elsewhere gets INVALID_SESSION) and registers it detached, in its current guilds
//!   (guilds joined meanwhile get GUILD_CREATE, guilds left GUILD_DELETE), so its logs are
//!   kept from now on; then it asks for marks. At a mark each shard fixes, for the logs it
//!   owns, the log position after which this node's log serves the session and the stream
//!   position up to which it does not ([`Gateway::at_mark`]; not before this node's reader
//!   has reached the old node's position). What lies between the old node's positions and
//!   those is read from the streams ([`Handoff::range`]). Membership is read again after
//!   the marks (a join or leave just before the registration is not in any log).
//! - **Replaying.** RESUME (`resume.rs`) then queues, per log, the old node's entries, the
//!   streams', and this node's log after the fixed position, filtered through the
//!   session's current permissions and intents like any RESUME: every dispatch it missed,
//!   once, each guild's in order.
//! - **Bounded.** A moved session carries at most `gateway.replay_events` frames and log
//!   entries (sessions are built and saved [`SAVE_BATCH`] at a time), and reads at most as
//!   many entries from its streams altogether, visible to it or not; more, a trimmed
//!   stream, a missing position or no mark within [`MARK_WAIT`] give INVALID_SESSION (the
//!   client identifies). A node killed without draining saves nothing: its clients resume from
//!   their crash records (`journal.rs`), adopted here the same way; otherwise they identify
//!   anew. Dispatches that every node derives from the database (`hearth admin` operator
//!   events) are in no stream: those published while a session moves are not replayed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use super::replay::{Entry, LogKey};
use super::restart::{Saved, SavedEntry, SavedLog, SavedPayload, SavedSession, VERSION, ms};
use super::{Gateway, Prepared, Session, shard_of};
use crate::events::{Handoff, MovedSession, StreamEntry, StreamKey, StreamMark, Taken};

/// How long an adoption waits for its marks (then INVALID_SESSION).
pub const MARK_WAIT: Duration = Duration::from_secs(3);
/// How long an announced session stays announced without being saved (a node that died
/// while draining), beyond `node.drain_delay_ms`.
pub const ANNOUNCED_FOR: Duration = Duration::from_secs(60);
/// How long a RESUME waits for an announced session to be saved (then INVALID_SESSION),
/// beyond `node.drain_delay_ms`.
pub const SAVE_WAIT: Duration = Duration::from_secs(20);
/// Sessions built and saved together at a hand-off.
pub const SAVE_BATCH: usize = 256;

/// One session saved by a draining node (`P rs:{session_id}`, spec/cluster.md §9).
#[derive(Serialize, Deserialize)]
pub(super) struct Moved {
    pub(super) version: u32,
    /// Wall clock of the save (ms since the Unix epoch).
    pub(super) saved_at_ms: i64,
    /// The node that saved it.
    pub(super) node: String,
    pub(super) session: SavedSession,
    /// The payloads of its frames and entries, each once.
    pub(super) payloads: Vec<SavedPayload>,
    /// Per log: what the old node logged for it while it was detached.
    pub(super) logs: Vec<(StreamKey, Vec<SavedEntry>)>,
    /// Per stream of its guilds and user: the id of the last entry the old node routed.
    pub(super) positions: Vec<(StreamKey, String)>,
}

fn owner(k: LogKey) -> i64 {
    match k {
        LogKey::Guild(id) | LogKey::User(id) => id,
    }
}

/// One log of a session being adopted.
struct Slot {
    /// The old node's position in the log's stream (`None`: a guild joined while moving).
    after: Option<(u64, u64)>,
    /// `(log position, stream position)` once fixed at a mark.
    at: Option<(u64, String)>,
}

/// The gateway's marks and the sessions moving away or here.
pub(crate) struct Marks {
    /// Session id → its logs.
    adopting: Mutex<HashMap<String, HashMap<LogKey, Slot>>>,
    /// Woken when a mark fixed positions.
    fixed: Notify,
    /// The newest mark each shard passed, and the minimum over shards.
    passed: Vec<AtomicU64>,
    seen: watch::Sender<u64>,
    /// The newest mark passed.
    last: Mutex<Option<Arc<StreamMark>>>,
    /// Sessions announced as moving away: id → user.
    announced: Mutex<HashMap<String, i64>>,
    /// The sessions were handed off (once per process).
    handed_off: AtomicBool,
    /// Set once they were: nothing is delivered any more (it would be after their save).
    frozen: AtomicBool,
}

impl Marks {
    pub(crate) fn new(shards: usize) -> Marks {
        Marks {
            adopting: Mutex::new(HashMap::new()),
            fixed: Notify::new(),
            passed: (0..shards.max(1)).map(|_| AtomicU64::new(0)).collect(),
            seen: watch::Sender::new(0),
            last: Mutex::new(None),
            announced: Mutex::new(HashMap::new()),
            handed_off: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
        }
    }
}

/// Removes an adoption that did not complete (an error, or the RESUME's connection ended
/// meanwhile) and the session it registered.
struct Adopting<'a> {
    gw: &'a Gateway,
    id: String,
    done: bool,
}

impl Drop for Adopting<'_> {
    fn drop(&mut self) {
        self.gw.marks.adopting.lock().remove(&self.id);
        if !self.done {
            self.gw.unregister(&self.id);
        }
    }
}

impl Gateway {
    /// Whether this node's sessions were handed off: nothing is delivered any more (a
    /// frame after their save would carry a seq the saved session never reached).
    pub(super) fn handed_off(&self) -> bool {
        self.marks.frozen.load(Ordering::Relaxed)
    }

    /// The extra wait a draining node's `node.drain_delay_ms` adds.
    fn drain_delay(&self) -> Duration {
        Duration::from_millis(self.hearth.config.node.drain_delay_ms)
    }

    /// On a cluster, when a drain starts and before op 7 RECONNECT: announces every
    /// session this node holds as moving, so that a client resuming elsewhere meanwhile
    /// waits for its save.
    pub async fn announce_handoff(&self) {
        let Some(handoff) = self.hearth.bus.handoff() else {
            return;
        };
        let sessions: Vec<(String, i64)> = {
            let reg = self.registry.lock();
            reg.sessions
                .values()
                .map(|s| (s.id.clone(), s.user_id))
                .collect()
        };
        self.marks.announced.lock().extend(sessions.iter().cloned());
        let ttl = ANNOUNCED_FOR + self.drain_delay();
        if let Err(e) = handoff.announce(sessions, ms(ttl)).await {
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
                    if slot.at.is_some() || shard_of(owner(*k), n) != me {
                        continue;
                    }
                    let Some((_, id)) = mark.positions.iter().find(|(p, _)| p == k) else {
                        continue;
                    };
                    // Not behind the old node: what lies between is in neither log.
                    if slot
                        .after
                        .is_some_and(|a| StreamEntry::parse_id(id).is_none_or(|i| i < a))
                    {
                        continue;
                    }
                    slot.at = Some((self.registry.lock().pos, id.clone()));
                    fixed = true;
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
        super::dispatch::passed(&self.marks.passed, &self.marks.seen, me, mark.id);
    }

    /// On a cluster, once the connections are closed: saves every resumable session for
    /// the node its client resumes on (module docs), once. `false` on a single node.
    pub async fn hand_off_sessions(&self) -> bool {
        let Some(handoff) = self.hearth.bus.handoff() else {
            return false;
        };
        if !self.marks.handed_off.swap(true, Ordering::SeqCst) {
            self.hand_off(&*handoff).await;
        }
        true
    }

    /// [`Gateway::hand_off_sessions`]'s work. Failures are logged and withdraw the
    /// announcements: those clients identify anew at once.
    async fn hand_off(&self, handoff: &dyn Handoff) {
        let id = handoff.stop_reading();
        let mut seen = self.marks.seen.subscribe();
        let stopped = tokio::time::timeout(Duration::from_secs(10), seen.wait_for(|m| *m >= id))
            .await
            .is_ok();
        let mark = self.marks.last.lock().clone();
        let Some(mark) = mark.filter(|_| stopped) else {
            tracing::warn!("the stream reader did not stop; sessions are not handed off");
            self.marks.frozen.store(true, Ordering::SeqCst);
            self.withdraw(handoff, HashSet::new()).await;
            return;
        };
        let Saved {
            saved_at_ms,
            payloads: all,
            sessions,
            logs,
            ..
        } = self.snapshot_for_restart();
        self.marks.frozen.store(true, Ordering::SeqCst);
        let cfg = &self.hearth.config.gateway;
        let ttl_ms = cfg.replay_seconds.saturating_mul(1000);
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
        let mut saved = HashSet::new();
        let mut batch = vec![];
        let (mut n, mut failed) = (0, 0);
        for s in sessions {
            let (id, user_id, left) = (
                s.id.clone(),
                s.user_id,
                ttl_ms.saturating_sub(s.detached_ms),
            );
            let doc = (left > 0)
                .then(|| moved(s, &all, &logs, &positions, cfg.replay_events))
                .flatten()
                .and_then(|mut m| {
                    m.saved_at_ms = saved_at_ms;
                    m.node.clone_from(&self.hearth.node.id);
                    serde_json::to_string(&m).ok()
                });
            n += usize::from(doc.is_some());
            batch.push(MovedSession {
                id: id.clone(),
                user_id,
                doc,
                ttl_ms: left,
            });
            saved.insert(id);
            if batch.len() >= SAVE_BATCH
                && let Err(e) = handoff.save(std::mem::take(&mut batch)).await
            {
                failed += SAVE_BATCH;
                tracing::error!(error = %e, "cannot hand gateway sessions off");
            }
        }
        let last = batch.len();
        if let Err(e) = handoff.save(batch).await {
            failed += last;
            tracing::error!(error = %e, "cannot hand gateway sessions off");
        }
        // Announced, but ended since or not resumable: withdrawn.
        self.withdraw(handoff, saved).await;
        tracing::info!(
            sessions = n,
            failed,
            "gateway sessions handed off for RESUME on any node"
        );
    }

    /// Withdraws the announcements of the sessions not in `saved`.
    async fn withdraw(&self, handoff: &dyn Handoff, saved: HashSet<String>) {
        let gone: Vec<MovedSession> = std::mem::take(&mut *self.marks.announced.lock())
            .into_iter()
            .filter(|(id, _)| !saved.contains(id))
            .map(|(id, user_id)| MovedSession {
                id,
                user_id,
                doc: None,
                ttl_ms: 1,
            })
            .collect();
        for chunk in gone.chunks(SAVE_BATCH) {
            if let Err(e) = handoff.save(chunk.to_vec()).await {
                tracing::warn!(error = %e, "cannot withdraw session announcements");
            }
        }
    }

    /// Takes session `id` of `user` from the node that handed it off (or, with no hand-off,
    /// from the crash record of a node that died, for a client that received up to `seq`:
    /// `journal.rs`) and registers it here, detached, with what it missed (module docs).
    /// `None`: none saved, another user's, another node took it, expired, or what it missed
    /// cannot be rebuilt whole.
    pub(super) async fn adopt(&self, user: i64, id: &str, seq: u64) -> Option<Arc<Session>> {
        let handoff = self.hearth.bus.handoff()?;
        let deadline = Instant::now() + SAVE_WAIT + self.drain_delay();
        let doc: Moved = loop {
            match handoff.take(id, user).await {
                Ok(Taken::Saved(b)) => break serde_json::from_str(&b).ok()?,
                Ok(Taken::Pending) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(Taken::None) => break self.crashed(&*handoff, user, id, seq).await?,
                Ok(Taken::Pending) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a handed-off session");
                    return None;
                }
            }
        };
        let cfg = &self.hearth.config.gateway;
        let ttl_ms = cfg.replay_seconds.saturating_mul(1000);
        let down_ms = u64::try_from(crate::storage::now_ms() - doc.saved_at_ms).unwrap_or(0);
        if doc.version != VERSION
            || doc.session.user_id != user
            || doc.session.detached_ms.saturating_add(down_ms) > ttl_ms
        {
            return None;
        }
        let current = self.guilds_of(user).await?;
        let payloads: Vec<Arc<Prepared>> = doc
            .payloads
            .into_iter()
            .map(SavedPayload::prepared)
            .collect();
        let mut old: HashMap<LogKey, Vec<Entry>> = HashMap::new();
        for (k, entries) in doc.logs {
            let list: Option<Vec<Entry>> =
                entries.into_iter().map(|e| e.entry(&payloads)).collect();
            old.insert(k, list?);
        }
        let positions: HashMap<LogKey, String> = doc.positions.into_iter().collect();
        let session = Arc::new(doc.session.session(&payloads, down_ms, Instant::now()));
        let frames = session.state.lock().buffer.len();
        {
            let mut reg = self.registry.lock();
            if reg.sessions.contains_key(&session.id) {
                return None;
            }
            let mut st = session.state.lock();
            // Positions of the old node mean nothing here; guilds it joined while detached
            // there still get their GUILD_CREATE.
            st.cursor = reg.pos;
            let was_joined: Vec<i64> = st.joined.drain().map(|(g, _)| g).collect();
            for g in was_joined.into_iter().filter(|g| current.contains(g)) {
                st.joined.insert(g, reg.pos);
            }
            let before = std::mem::replace(&mut st.guilds, current.clone());
            for g in before.difference(&current) {
                st.visible.remove(g);
                st.left.insert(*g);
            }
            for g in current.difference(&before) {
                st.left.remove(g);
                st.joined.insert(*g, reg.pos);
            }
            st.adopting = true;
            drop(st);
            reg.add_user_session(&session);
            for g in &current {
                reg.add_detached(*g);
            }
            reg.sessions.insert(session.id.clone(), session.clone());
        }
        let mut guard = Adopting {
            gw: self,
            id: session.id.clone(),
            done: false,
        };
        // Not under the registry lock: `at_mark` takes it under this one.
        let slots = current
            .iter()
            .map(|g| LogKey::Guild(*g))
            .chain([LogKey::User(user)])
            .map(|k| {
                let after = positions.get(&k).and_then(|p| StreamEntry::parse_id(p));
                (k, Slot { after, at: None })
            })
            .collect();
        self.marks.adopting.lock().insert(session.id.clone(), slots);
        let fixed = self.wait_for_marks(&*handoff, &session.id).await?;
        // Its crash record here starts from the fixed stream positions: what lies before
        // them is replayed at this RESUME, what follows is routed here.
        let bases: Vec<(StreamKey, Option<String>)> = fixed
            .iter()
            .map(|(k, (_, upto))| (*k, Some(upto.clone())))
            .collect();
        // A join or leave between the membership read and the registration is in no log.
        let now = self.guilds_of(user).await?;
        self.follow_membership(&session, &now);
        let budget = cfg.replay_events.checked_sub(frames)?;
        let handed = self
            .missed(&*handoff, fixed, &positions, &mut old, budget)
            .await?;
        {
            let mut st = session.state.lock();
            for (g, at) in st.joined.iter_mut() {
                // Joined while it moved: its log serves it from the fixed position on.
                if let Some((p, _)) = handed.get(&LogKey::Guild(*g)) {
                    *at = *p;
                }
            }
            st.handed = handed;
            st.adopting = false;
            if self.keeps_records() {
                st.journal = Some(super::journal::Journaled::new(bases, u64::MAX));
            }
        }
        guard.done = true;
        drop(guard);
        // Its voice state, if any, is this node's now (a restart of the old node keeps it).
        if let Err(e) = self.hearth.voice_session_moved(&session.id).await {
            tracing::warn!(error = %e, "cannot move a voice state with its session");
        }
        Some(session)
    }

    /// The guilds of `user` now (`None`: the database failed, logged).
    async fn guilds_of(&self, user: i64) -> Option<HashSet<i64>> {
        match self.hearth.db.guild_ids_of(user).await {
            Ok(g) => Some(g.into_iter().collect()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the guilds of a moved session");
                None
            }
        }
    }

    /// Brings a session being adopted to membership `now`: guilds joined are logged from
    /// here on (GUILD_CREATE at RESUME), guilds left get GUILD_DELETE.
    fn follow_membership(&self, s: &Session, now: &HashSet<i64>) {
        let mut reg = self.registry.lock();
        let mut st = s.state.lock();
        let joined: Vec<i64> = now.difference(&st.guilds).copied().collect();
        let left: Vec<i64> = st.guilds.difference(now).copied().collect();
        for g in joined {
            st.guilds.insert(g);
            st.left.remove(&g);
            st.joined.insert(g, reg.pos);
            reg.add_detached(g);
        }
        for g in left {
            st.guilds.remove(&g);
            st.joined.remove(&g);
            st.visible.remove(&g);
            st.left.insert(g);
            reg.forget_detached(g);
        }
    }

    /// Asks for marks until every log of session `id` has its positions fixed (at most
    /// [`MARK_WAIT`]).
    async fn wait_for_marks(
        &self,
        handoff: &dyn Handoff,
        id: &str,
    ) -> Option<HashMap<LogKey, (u64, String)>> {
        let deadline = Instant::now() + MARK_WAIT;
        loop {
            let fixed = self.marks.fixed.notified();
            tokio::pin!(fixed);
            fixed.as_mut().enable();
            {
                let adopting = self.marks.adopting.lock();
                let logs = adopting.get(id)?;
                if logs.values().all(|s| s.at.is_some()) {
                    return Some(
                        logs.iter()
                            .filter_map(|(k, s)| Some((*k, s.at.clone()?)))
                            .collect(),
                    );
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            handoff.mark();
            let _ = tokio::time::timeout(Duration::from_millis(200), fixed).await;
        }
    }

    /// Per log of a moved session: the fixed log position, and the entries it missed before
    /// it (the old node's, then the stream's between the old node's position and the fixed
    /// one), `budget` at most altogether. `None` when that cannot be rebuilt whole.
    async fn missed(
        &self,
        handoff: &dyn Handoff,
        fixed: HashMap<LogKey, (u64, String)>,
        positions: &HashMap<LogKey, String>,
        old: &mut HashMap<LogKey, Vec<Entry>>,
        mut budget: usize,
    ) -> Option<HashMap<LogKey, (u64, Vec<Entry>)>> {
        let mut out = HashMap::new();
        for (k, (pos, upto)) in fixed {
            let mut entries = old.remove(&k).unwrap_or_default();
            match (positions.get(&k), k) {
                (Some(after), _) => {
                    let left = budget.checked_sub(entries.len())?;
                    let read = self.ranges.read(handoff, k, after, &upto, left).await?;
                    entries.extend(read);
                }
                // A guild it joined while it moved (the old node saved a position for every
                // other log): GUILD_CREATE, then this node's log.
                (None, LogKey::Guild(_)) => entries.clear(),
                (None, LogKey::User(_)) => return None,
            }
            budget = budget.checked_sub(entries.len())?;
            for e in &mut entries {
                e.pos = pos;
            }
            out.insert(k, (pos, entries));
        }
        Some(out)
    }
}

/// The document of one session at a hand-off (without `saved_at_ms` and `node`): its state
/// and frames, its node's entries for it, its streams' positions. `None` when a stream of
/// it was not read, its log dropped part of what it missed, or it would carry more than
/// `max` frames and entries.
fn moved(
    mut s: SavedSession,
    all: &[SavedPayload],
    logs: &HashMap<LogKey, &SavedLog>,
    positions: &HashMap<StreamKey, &String>,
    max: usize,
) -> Option<Moved> {
    let keys: Vec<LogKey> = s
        .guilds
        .iter()
        .map(|g| LogKey::Guild(*g))
        .chain([LogKey::User(s.user_id)])
        .collect();
    let joined: HashMap<i64, u64> = s.joined.iter().copied().collect();
    let mut payloads = Picked::new(all);
    let mut moved_logs = vec![];
    let mut at = vec![];
    let mut count = s.buffer.len();
    for k in &keys {
        let id = positions.get(k)?;
        at.push((*k, (*id).clone()));
        let from = match k {
            LogKey::Guild(g) => joined.get(g).map_or(s.cursor, |j| (*j).max(s.cursor)),
            LogKey::User(_) => s.cursor,
        };
        let Some(log) = logs.get(k) else { continue };
        if log.floor > from {
            return None;
        }
        let mine = log.entries.iter().filter(|e| e.pos > from);
        count += mine.clone().count();
        if count > max {
            return None;
        }
        let entries: Vec<SavedEntry> = mine
            .map(|e| SavedEntry {
                payload: payloads.pick(e.payload),
                ..e.clone()
            })
            .collect();
        if !entries.is_empty() {
            moved_logs.push((*k, entries));
        }
    }
    for b in &mut s.buffer {
        b.1 = payloads.pick(b.1);
    }
    Some(Moved {
        version: VERSION,
        saved_at_ms: 0,
        node: String::new(),
        session: s,
        payloads: payloads.list,
        logs: moved_logs,
        positions: at,
    })
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
