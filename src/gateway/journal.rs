//! Sessions that survive the crash of their node (spec/cluster.md §9.1; issue 18: "a
//! client whose node died RESUMEs on another node and receives every missed dispatch").
//!
//! On a cluster node with `cluster.crash_resume` (off by default: the writes below cost
//! Redis and node CPU per delivery), each session has a crash record in Redis: its
//! identity, its guilds, and a cursor into the guild and user streams, never a copy of the
//! events.
//!
//! - **Origins.** Every frame knows where it came from ([`Origin`]): a stream entry (the bus's
//!   reader tags what it reads), a GUILD_CREATE or GUILD_DELETE of a guild, or neither.
//! - **Write-ahead.** Before a connection writes frames to its socket, the origins of those
//!   frames are in Redis ([`JournalWrite::Frames`], batched across sessions by one writer
//!   task, [`WRITE_BATCH`] writes per round trip, whose frame items are one entry of the
//!   node's journal stream): whatever the client received is recorded.
//! - **Bases.** When a stream starts to concern a session (IDENTIFY, a join), its base is the
//!   last entry this node routed from that stream before (`Registry::routed`, under the
//!   registry lock that also chooses audiences), or the position the reader started the
//!   stream from: every later entry was given to the session or filtered out for it.
//! - **Acknowledgements.** A heartbeat's seq becomes the record's floor and moves the
//!   positions of the frames dropped from the buffer into the bases ([`JournalWrite::Ack`]):
//!   the items up to the floor are no longer needed, and the journal keeps items for two
//!   heartbeat intervals ([`keep`]). It also renews the record (it lives
//!   `gateway.replay_seconds` past its last write).
//! - **Beat.** Every [`BEAT_EVERY`] the node renews its beat, which lives [`BEAT_TTL`].
//! - **Taking over** ([`Gateway::crashed`]). A RESUME of a session held by no node and not
//!   handed off takes its record once the record's node has no beat (asking again when the
//!   beat is due for renewal or expires; a beat that changed proves the node alive:
//!   INVALID_SESSION). Its items come from its node's journal, read once for all the
//!   sessions taken over from that node (`journals.rs`). With the client's seq `S`, each
//!   stream's position is the newest of
//!   its base and the entries of frames up to `S`; a guild whose GUILD_CREATE came after `S`
//!   is one the client does not have (it gets it again), one whose GUILD_DELETE came after
//!   `S` is one it still has. The session is then adopted like one handed off by a drain
//!   (`handoff.rs`): its streams are read from those positions, filtered through its
//!   current permissions and intents. What it saw of each guild's channels at `S` (the
//!   channels recorded at its start and with each frame that listed or changed them,
//!   [`Origin::Shown`]/[`Origin::Hidden`] frames after `S` put back) is compared with what it
//!   sees now, so channels shown or hidden meanwhile, while its node was dead included, are
//!   announced as CHANNEL_CREATE or CHANNEL_DELETE.
//! - **Refused** (the client identifies anew): `S` older than the record's floor (frames it
//!   never acknowledged were dropped, or the session had moved here and had not been written
//!   since); a frame after the floor up to `S` without its item (newer than anything
//!   recorded, or trimmed from the journal); a stream of one of its guilds without a
//!   position; a record whose writes failed (the node removes it).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::handoff::Moved;
use super::restart::{SavedSession, VERSION};
use super::session::{Buffered, SessionState};
use super::{Gateway, Session};
use crate::events::{CrashRecord, Crashed, Handoff, JournalWrite, StreamEntry, StreamKey};

/// How often a node renews its beat.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);
/// How long a beat lives: a node silent this long is taken for dead.
pub const BEAT_TTL: Duration = Duration::from_secs(3);
/// How long after a beat's renewal is due (or its expiry) a waiting RESUME asks again.
pub const BEAT_MARGIN: Duration = Duration::from_millis(50);
/// Journal writes sent in one round trip at most.
pub const WRITE_BATCH: usize = 1024;
/// How long the writer retries a round trip before it gives up (the sessions concerned lose
/// their records and stay connected).
pub const WRITE_RETRY: Duration = Duration::from_secs(2);

/// Where a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Origin {
    /// Built by this node for the session (READY, a CHANNEL_CREATE after a permission
    /// change, ...) or published without a stream (lossy).
    #[default]
    Local,
    Entry(StreamEntry),
    GuildCreate(i64),
    GuildDelete(i64),
    /// The CHANNEL_CREATE of channel `.1` of guild `.0`, shown by a permission change.
    Shown(i64, i64),
    /// The CHANNEL_DELETE of channel `.1` of guild `.0`, hidden by a permission change.
    Hidden(i64, i64),
}

impl Origin {
    /// The item token (module docs of `cluster/journal.rs`).
    fn push_token(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Origin::Local => write!(out, "-"),
            Origin::Entry(e) => write!(out, "{}/{}-{}", key_token(e.stream), e.id.0, e.id.1),
            Origin::GuildCreate(g) => write!(out, "c{g}"),
            Origin::GuildDelete(g) => write!(out, "d{g}"),
            Origin::Shown(g, c) => write!(out, "s{g}:{c}"),
            Origin::Hidden(g, c) => write!(out, "h{g}:{c}"),
        };
    }

    /// The guild whose visible channels this frame changes or lists.
    fn visibility_of(&self) -> Option<i64> {
        match self {
            Origin::GuildCreate(g) | Origin::Shown(g, _) | Origin::Hidden(g, _) => Some(*g),
            _ => None,
        }
    }

    fn parse(t: &str) -> Option<Origin> {
        if t == "-" {
            return Some(Origin::Local);
        }
        if let Some((k, id)) = t.split_once('/') {
            let stream = match k.split_at_checked(1)? {
                ("g", g) => StreamKey::Guild(g.parse().ok()?),
                ("u", u) => StreamKey::User(u.parse().ok()?),
                _ => return None,
            };
            let id = StreamEntry::parse_id(id)?;
            return Some(Origin::Entry(StreamEntry { stream, id }));
        }
        let channel = |gc: &str| -> Option<(i64, i64)> {
            let (g, c) = gc.split_once(':')?;
            Some((g.parse().ok()?, c.parse().ok()?))
        };
        match t.split_at_checked(1)? {
            ("c", g) => g.parse().ok().map(Origin::GuildCreate),
            ("d", g) => g.parse().ok().map(Origin::GuildDelete),
            ("s", gc) => channel(gc).map(|(g, c)| Origin::Shown(g, c)),
            ("h", gc) => channel(gc).map(|(g, c)| Origin::Hidden(g, c)),
            _ => None,
        }
    }
}

fn key_token(k: StreamKey) -> String {
    match k {
        StreamKey::Guild(g) => format!("g{g}"),
        StreamKey::User(u) => format!("u{u}"),
    }
}

/// What a session's crash record needs on this node (`SessionState::journal`).
#[derive(Debug, Default)]
pub(crate) struct Journaled {
    /// The record was started ([`JournalWrite::Start`]).
    started: bool,
    /// Writes failed: the record was removed, nothing more is written.
    broken: bool,
    /// The oldest seq a RESUME after a crash may carry (at the start).
    pub min_seq: u64,
    /// Bases not written yet (`None`: the stream's start position, asked of the bus).
    bases: Vec<(StreamKey, Option<String>)>,
    /// Positions of the frames dropped from the buffer since the last acknowledgement.
    popped: HashMap<StreamKey, (u64, u64)>,
    /// The guilds changed since the last write.
    guilds_changed: bool,
    /// When the record's time to live was last renewed, and the floor then written.
    renewed: Option<(Instant, u64)>,
}

impl Journaled {
    /// A record to start with these bases.
    pub(crate) fn new(bases: Vec<(StreamKey, Option<String>)>, min_seq: u64) -> Box<Journaled> {
        Box::new(Journaled {
            bases,
            min_seq,
            ..Default::default()
        })
    }

    /// A moved session holds frames up to `seq` (before its first write here): the oldest
    /// seq a RESUME after a crash may carry. No-op once the record was started.
    pub(crate) fn restarted_at(&mut self, seq: u64) {
        if !self.started {
            self.min_seq = seq;
        }
    }

    /// A stream now concerns the session, after entry `base` (`None`: from where the reader
    /// started it).
    pub(crate) fn add_base(&mut self, k: StreamKey, base: Option<&(u64, u64)>) {
        self.bases.push((k, base.map(|b| StreamEntry::id_text(*b))));
        self.guilds_changed = true;
    }

    /// Frame `b` left the buffer (acknowledged, or pushed out).
    pub(crate) fn dropped(&mut self, b: &Buffered) {
        if let Origin::Entry(e) = b.event.origin {
            let p = self.popped.entry(e.stream).or_insert(e.id);
            *p = (*p).max(e.id);
        }
    }
}

/// The identity of a session in its record (`meta`).
#[derive(Serialize, Deserialize)]
struct Meta {
    bot: bool,
    auth: Option<i64>,
    intents: u64,
    large_threshold: u64,
    passive: bool,
}

/// How long a node's journal keeps frame items: two heartbeat intervals. A client's
/// heartbeat acknowledges what it received, and the record's floor follows it, so only a
/// client that missed a heartbeat can need older items; a take-over that finds them gone
/// refuses the RESUME ([`cursor_at`]).
pub(crate) fn keep(gateway: &crate::config::GatewayConfig) -> Duration {
    Duration::from_millis(gateway.heartbeat_interval_ms.saturating_mul(2))
}

/// The journal writer of a node: one task, writes in the order sent.
pub(crate) struct Writer {
    tx: mpsc::UnboundedSender<(Vec<JournalWrite>, Option<oneshot::Sender<bool>>)>,
    handoff: Arc<dyn Handoff>,
}

impl Writer {
    /// Starts the writer and the beat of node `node` on the current runtime; its journal
    /// keeps frame items for `keep`.
    pub(crate) fn start(handoff: Arc<dyn Handoff>, node: String, keep: Duration) -> Writer {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(handoff.clone(), node.clone(), keep, rx));
        let beat = Arc::downgrade(&handoff);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(BEAT_EVERY);
            loop {
                t.tick().await;
                let Some(h) = beat.upgrade() else { return };
                if let Err(e) = h.beat(node.clone(), BEAT_TTL.as_millis() as u64).await {
                    tracing::warn!(error = %e, "cannot renew the node's beat");
                }
            }
        });
        Writer { tx, handoff }
    }

    /// Queues one write without waiting for it.
    fn post(&self, w: JournalWrite) {
        let _ = self.tx.send((vec![w], None));
    }
}

/// The writer task: batches what waits, one round trip per batch, retried for
/// [`WRITE_RETRY`]; tells each sender whether its writes were applied.
async fn write(
    handoff: Arc<dyn Handoff>,
    node: String,
    keep: Duration,
    mut rx: mpsc::UnboundedReceiver<(Vec<JournalWrite>, Option<oneshot::Sender<bool>>)>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(x) => batch.push(x),
                Err(_) => break,
            }
        }
        let writes: Vec<JournalWrite> = batch
            .iter_mut()
            .flat_map(|(w, _)| std::mem::take(w))
            .collect();
        let deadline = Instant::now() + WRITE_RETRY;
        let mut wait = Duration::from_millis(50);
        let ok = loop {
            match handoff
                .journal(&node, keep.as_millis() as u64, &writes)
                .await
            {
                Ok(()) => break true,
                Err(e) if Instant::now() < deadline => {
                    tracing::warn!(error = %e, "cannot write session records; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => {
                    tracing::error!(error = %e, "session records not written");
                    break false;
                }
            }
        };
        for (_, done) in batch {
            if let Some(d) = done {
                let _ = d.send(ok);
            }
        }
    }
}

impl Gateway {
    /// The time to live of a record after a write.
    fn record_ttl_ms(&self) -> u64 {
        self.hearth
            .config
            .gateway
            .replay_seconds
            .saturating_mul(1000)
    }

    /// Whether this node keeps crash records (`cluster.crash_resume` on a cluster).
    pub(crate) fn keeps_records(&self) -> bool {
        self.journal.is_some()
    }

    /// A new record for a session of `user` in `guilds` (with `cluster.crash_resume`;
    /// `None` otherwise), with bases from what this node routed so far: called under the
    /// registry lock, as the session joins its audiences.
    pub(crate) fn journaled(
        &self,
        routed: &HashMap<StreamKey, (u64, u64)>,
        user: i64,
        guilds: &[i64],
    ) -> Option<Box<Journaled>> {
        self.journal.as_ref()?;
        let bases = guilds
            .iter()
            .map(|g| StreamKey::Guild(*g))
            .chain([StreamKey::User(user)])
            .map(|k| (k, routed.get(&k).map(|id| StreamEntry::id_text(*id))))
            .collect();
        Some(Journaled::new(bases, 0))
    }

    /// The writes that record frames `buffer[start..start + n]` of `s` before they are
    /// written to the socket (a start of the record first, if needed); `None` without a
    /// record.
    pub(super) fn journal_frames(
        &self,
        s: &Session,
        st: &mut SessionState,
        start: usize,
        n: usize,
    ) -> Option<Vec<JournalWrite>> {
        let handoff = &self.journal.as_ref()?.handoff;
        let SessionState {
            journal,
            buffer,
            guilds,
            visible,
            ..
        } = st;
        let j = journal.as_mut().filter(|j| !j.broken)?;
        let ttl_ms = self.record_ttl_ms();
        let mut item = String::new();
        // Guilds whose visible channels these frames list or change.
        let mut seen_changed: Vec<i64> = vec![];
        for b in buffer.range(start..start + n) {
            if let Some(g) = b.event.origin.visibility_of()
                && !seen_changed.contains(&g)
            {
                seen_changed.push(g);
            }
            if item.is_empty() {
                item = b.seq.to_string();
            }
            item.push(' ');
            b.event.origin.push_token(&mut item);
            j.guilds_changed |= matches!(
                b.event.origin,
                Origin::GuildCreate(_) | Origin::GuildDelete(_)
            );
        }
        // Bases known now; the others wait for the reader's start position.
        let mut bases = vec![];
        j.bases.retain(
            |(k, base)| match base.clone().or_else(|| handoff.start_of(*k)) {
                Some(id) => {
                    bases.push((*k, id));
                    false
                }
                None => true,
            },
        );
        // Only a start or a changed membership writes the guilds.
        let guild_list = || {
            let mut list: Vec<i64> = guilds.iter().copied().collect();
            list.sort_unstable();
            list
        };
        // What the session sees now in guild `g`, as a JSON list (the frames being
        // recorded are already in the buffer, so it is at least as new as they are).
        let seen = |g: &i64| -> Option<(i64, String)> {
            let mut list: Vec<i64> = visible.get(g)?.iter().copied().collect();
            list.sort_unstable();
            Some((*g, serde_json::to_string(&list).unwrap_or_default()))
        };
        let mut out = vec![];
        if !j.started {
            j.started = true;
            j.guilds_changed = false;
            j.renewed = Some((Instant::now(), j.min_seq));
            let meta = Meta {
                bot: s.bot,
                auth: s.auth_session,
                intents: s.intents,
                large_threshold: s.large_threshold,
                passive: s.passive,
            };
            out.push(JournalWrite::Start {
                session: s.id.clone(),
                user: s.user_id,
                node: self.hearth.node.instance().to_string(),
                meta: serde_json::to_string(&meta).unwrap_or_default(),
                guilds: guild_list(),
                min_seq: j.min_seq,
                bases: std::mem::take(&mut bases),
                visible: visible.keys().filter_map(seen).collect(),
                ttl_ms,
            });
            seen_changed.clear();
        }
        let guilds = std::mem::take(&mut j.guilds_changed).then(guild_list);
        if !item.is_empty() {
            out.push(JournalWrite::Frames {
                session: s.id.clone(),
                item,
                guilds,
                bases,
                visible: seen_changed.iter().filter_map(seen).collect(),
                ttl_ms,
            });
        }
        Some(out)
    }

    /// Applies `writes` of session `s` and waits until they are in Redis; on failure the
    /// record is removed and nothing more is written for it.
    pub(super) async fn journal_wait(&self, s: &Session, writes: Vec<JournalWrite>) {
        let Some(w) = &self.journal else { return };
        let (tx, rx) = oneshot::channel();
        if w.tx.send((writes, Some(tx))).is_ok() && rx.await == Ok(true) {
            return;
        }
        if let Some(j) = s.state.lock().journal.as_mut() {
            j.broken = true;
        }
        w.post(JournalWrite::Forget {
            session: s.id.clone(),
        });
    }

    /// After a heartbeat acknowledged frames: the write that moves the record's floor and
    /// the dropped frames' positions into the bases and renews the record (sent without
    /// waiting); none when the floor did not move and the record was renewed less than a
    /// third of its time to live ago. The floor is written whenever it moves, so the items a
    /// take-over needs are never older than the last heartbeat ([`keep`]).
    pub(super) fn journal_ack(&self, s: &Session, st: &mut SessionState) {
        let Some(w) = &self.journal else { return };
        let floor = st.floor;
        let Some(j) = st.journal.as_mut().filter(|j| j.started && !j.broken) else {
            return;
        };
        let ttl = Duration::from_millis(self.record_ttl_ms());
        if j.popped.is_empty()
            && j.renewed
                .is_some_and(|(at, f)| f == floor && at.elapsed() < ttl / 3)
        {
            return;
        }
        j.renewed = Some((Instant::now(), floor));
        let bases = j
            .popped
            .drain()
            .map(|(k, id)| (k, StreamEntry::id_text(id)))
            .collect();
        w.post(JournalWrite::Ack {
            session: s.id.clone(),
            floor,
            bases,
            ttl_ms: self.record_ttl_ms(),
        });
    }

    /// Session `id` ended for good: its record goes.
    pub(super) fn journal_forget(&self, id: &str) {
        if let Some(w) = &self.journal {
            w.post(JournalWrite::Forget {
                session: id.to_owned(),
            });
        }
    }

    /// The record of session `id` of `user`, whose node died, as a handed-off session for a
    /// client that received up to `seq` (module docs); `None`: no record, its node is alive,
    /// or it cannot be rebuilt whole.
    pub(super) async fn crashed(
        &self,
        handoff: &dyn Handoff,
        user: i64,
        id: &str,
        seq: u64,
    ) -> Option<Moved> {
        let deadline = Instant::now() + BEAT_TTL + Duration::from_millis(500);
        let mut beat: Option<String> = None;
        let mut rec = loop {
            match handoff.take_crashed(id, user).await {
                Ok(Crashed::Taken(r)) => break r,
                Ok(Crashed::Alive(b, left_ms)) => {
                    let now = Instant::now();
                    if beat.get_or_insert_with(|| b.clone()) != &b || now >= deadline {
                        return None;
                    }
                    // Asked again when the beat is due for renewal or has expired: a live
                    // node shows itself within about a second, and a dead node's sessions
                    // ask about four times, not once per 100 ms (thousands of RESUMEs at
                    // once after a crash).
                    let wait = Duration::from_millis(left_ms).min(BEAT_EVERY) + BEAT_MARGIN;
                    tokio::time::sleep(wait.min(deadline - now)).await;
                }
                Ok(Crashed::None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a crashed session's record");
                    return None;
                }
            }
        };
        let meta: Meta = serde_json::from_str(&rec.meta).ok()?;
        // Its items from its node's journal: from the index read for the other sessions of
        // that node, or read anew when that index lacks some (`journals.rs`).
        let mut fresh = false;
        let (guilds, at) = loop {
            let (items, read_here) = match self.journals.items(handoff, &rec.node, id, fresh).await
            {
                Ok(got) => got,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a dead node's journal");
                    return None;
                }
            };
            rec.items = items;
            match cursor_at(&rec, user, seq) {
                Some(c) => break c,
                None if read_here || fresh => return None,
                None => fresh = true,
            }
        };
        // What the client saw at `seq` (its RESUME then announces what changed since, as for
        // any moved session); a guild without a recorded view: what it sees now.
        let mut saw = seen_at(&rec, seq);
        let mut visible = vec![];
        for g in &guilds {
            if let Some(v) = saw.remove(g) {
                visible.push((*g, v.into_iter().collect()));
            } else if let Some(c) = self.cache(*g).await {
                visible.push((*g, c.visible_channels(user).into_iter().collect()));
            }
        }
        Some(Moved {
            version: VERSION,
            saved_at_ms: crate::storage::now_ms(),
            node: rec.node,
            session: SavedSession {
                id: id.to_owned(),
                user_id: user,
                bot: meta.bot,
                auth_session: meta.auth,
                intents: meta.intents,
                large_threshold: meta.large_threshold,
                passive: meta.passive,
                seq,
                floor: seq,
                buffer: vec![],
                guilds: guilds.into_iter().collect(),
                visible,
                cursor: 0,
                detached_ms: 0,
                joined: vec![],
                left: vec![],
            },
            payloads: vec![],
            logs: vec![],
            positions: at,
        })
    }
}

/// Stream positions, as entry ids.
type Positions = Vec<(StreamKey, String)>;

/// The guilds of a crashed session's client that received up to `seq`, and a position per
/// stream of those guilds and of `user` from which the streams give it what it missed
/// (module docs); `None` when the record cannot tell: `seq` below its floor, an item that
/// does not parse, or a frame after the floor up to `seq` without its item (never written,
/// or trimmed from the journal, [`keep`]).
fn cursor_at(rec: &CrashRecord, user: i64, seq: u64) -> Option<(HashSet<i64>, Positions)> {
    let mut guilds: HashSet<i64> = serde_json::from_str::<Vec<i64>>(&rec.guilds)
        .ok()?
        .into_iter()
        .collect();
    if seq < rec.min_seq {
        return None;
    }
    let mut positions: HashMap<StreamKey, (u64, u64)> = HashMap::new();
    for (k, b) in &rec.bases {
        positions.insert(*k, StreamEntry::parse_id(b)?);
    }
    // The frames after the floor up to `seq` found in the items: all of them are needed.
    let mut covered: Vec<u64> = vec![];
    // Per guild: the first GUILD_CREATE (true) or GUILD_DELETE after `seq`.
    let mut after: HashMap<i64, (u64, bool)> = HashMap::new();
    for frame in frames(&rec.items) {
        let (f, origin) = frame?;
        if f > rec.min_seq && f <= seq {
            covered.push(f);
        }
        match (origin, f <= seq) {
            (Origin::Entry(e), true) => {
                let p = positions.entry(e.stream).or_insert(e.id);
                *p = (*p).max(e.id);
            }
            (Origin::GuildCreate(g), false) => keep_first(&mut after, g, f, true),
            (Origin::GuildDelete(g), false) => keep_first(&mut after, g, f, false),
            _ => {}
        }
    }
    covered.sort_unstable();
    covered.dedup();
    if covered.len() as u64 != seq - rec.min_seq {
        return None;
    }
    for (g, (_, created)) in after {
        if created {
            guilds.remove(&g);
        } else {
            guilds.insert(g);
        }
    }
    let mut at = vec![];
    for k in guilds
        .iter()
        .map(|g| StreamKey::Guild(*g))
        .chain([StreamKey::User(user)])
    {
        at.push((k, StreamEntry::id_text(*positions.get(&k)?)));
    }
    Some((guilds, at))
}

/// Per guild of the record's `visible`, the channels the client saw once it had frame `seq`:
/// the recorded view, with each channel shown or hidden by a frame after `seq` put back as
/// the first such frame found it (a channel first shown after `seq` was hidden then, one
/// first hidden was visible).
fn seen_at(rec: &CrashRecord, seq: u64) -> HashMap<i64, HashSet<i64>> {
    let mut seen: HashMap<i64, HashSet<i64>> = rec
        .visible
        .iter()
        .filter_map(|(g, list)| Some((*g, serde_json::from_str::<HashSet<i64>>(list).ok()?)))
        .collect();
    // Per (guild, channel): the first change after `seq` (seq, shown).
    let mut first: HashMap<(i64, i64), (u64, bool)> = HashMap::new();
    for (f, origin) in frames(&rec.items).flatten() {
        let change = match origin {
            Origin::Shown(g, c) => ((g, c), true),
            Origin::Hidden(g, c) => ((g, c), false),
            _ => continue,
        };
        if f > seq {
            let e = first.entry(change.0).or_insert((f, change.1));
            if f < e.0 {
                *e = (f, change.1);
            }
        }
    }
    for ((g, c), (_, shown)) in first {
        if let Some(v) = seen.get_mut(&g) {
            if shown {
                v.remove(&c);
            } else {
                v.insert(c);
            }
        }
    }
    seen
}

/// Each recorded frame of `items` (`"{first seq} {origin} ..."`) as its seq and origin;
/// `None` for an item or origin that does not parse.
fn frames(items: &[String]) -> impl Iterator<Item = Option<(u64, Origin)>> + '_ {
    items.iter().flat_map(|item| {
        let mut parts = item.split(' ');
        let first: Option<u64> = parts.next().and_then(|f| f.parse().ok());
        let tokens: Vec<Option<(u64, Origin)>> = match first {
            None => vec![None],
            Some(first) => parts
                .enumerate()
                .map(|(i, t)| Some((first + i as u64, Origin::parse(t)?)))
                .collect(),
        };
        tokens
    })
}

fn keep_first(after: &mut HashMap<i64, (u64, bool)>, g: i64, seq: u64, created: bool) {
    let e = after.entry(g).or_insert((seq, created));
    if seq < e.0 {
        *e = (seq, created);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_survive_their_tokens() {
        for o in [
            Origin::Local,
            Origin::Entry(StreamEntry {
                stream: StreamKey::Guild(41),
                id: (1_764_000_000_000, 3),
            }),
            Origin::Entry(StreamEntry {
                stream: StreamKey::User(9),
                id: (5, 0),
            }),
            Origin::GuildCreate(41),
            Origin::GuildDelete(41),
            Origin::Shown(41, 42),
            Origin::Hidden(41, 43),
        ] {
            let mut t = String::new();
            o.push_token(&mut t);
            assert_eq!(Origin::parse(&t), Some(o), "{t}");
        }
        for bad in [
            "", "x1", "g1/2", "c", "q9/1-2", "cX", "s1", "h1:", "s:2", "hX:2",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    fn record(items: &[&str]) -> CrashRecord {
        CrashRecord {
            node: "n#1".into(),
            meta: String::new(),
            // Guild 20 was joined (GUILD_CREATE at seq 7), guild 30 left (GUILD_DELETE at 8).
            guilds: "[10,20]".into(),
            min_seq: 2,
            bases: vec![
                (StreamKey::Guild(10), "100-0".into()),
                (StreamKey::Guild(20), "150-0".into()),
                (StreamKey::Guild(30), "90-0".into()),
                (StreamKey::User(5), "80-0".into()),
            ],
            visible: vec![],
            items: items.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn at(r: &CrashRecord, seq: u64) -> Option<(Vec<i64>, Positions)> {
        cursor_at(r, 5, seq).map(|(g, mut p)| {
            let mut g: Vec<i64> = g.into_iter().collect();
            g.sort_unstable();
            p.sort();
            (g, p)
        })
    }

    #[test]
    fn a_crashed_sessions_cursor_is_that_of_the_last_frame_its_client_received() {
        let r = record(&[
            "3 g10/101-0 - u5/81-0",
            "6 g10/102-0 c20 d30 g20/151-0 u5/82-0",
        ]);
        let p = |g10: &str, g20: Option<&str>, g30: Option<&str>, u5: &str| {
            let mut v = vec![(StreamKey::Guild(10), g10.to_string())];
            v.extend(g20.map(|x| (StreamKey::Guild(20), x.to_string())));
            v.extend(g30.map(|x| (StreamKey::Guild(30), x.to_string())));
            v.push((StreamKey::User(5), u5.to_string()));
            v.sort();
            v
        };
        // Mid-item: frames 3 and 4 received; 5 onwards come again from the streams. The
        // client has neither the GUILD_CREATE of 20 nor the GUILD_DELETE of 30.
        assert_eq!(
            at(&r, 4),
            Some((vec![10, 30], p("101-0", None, Some("90-0"), "80-0")))
        );
        assert_eq!(
            at(&r, 6),
            Some((vec![10, 30], p("102-0", None, Some("90-0"), "81-0")))
        );
        // Both guild frames received: 20 is his (from its base), 30 is not.
        assert_eq!(
            at(&r, 8),
            Some((vec![10, 20], p("102-0", Some("150-0"), None, "81-0")))
        );
        assert_eq!(
            at(&r, 10),
            Some((vec![10, 20], p("102-0", Some("151-0"), None, "82-0")))
        );
        // Older than the floor, or newer than anything written: unknown.
        assert_eq!(at(&r, 1), None);
        assert_eq!(at(&r, 11), None);
        // Items up to the floor, still in the journal after the acknowledgement, change
        // nothing (their positions are in the bases).
        let mut kept = r.clone();
        kept.items.insert(0, "1 g10/99-0 u5/79-0".into());
        assert_eq!(at(&kept, 4), at(&r, 4));
        // The first item trimmed from the journal: frames 3-5 cannot be placed, so neither
        // can any seq after them; at the floor nothing is needed.
        let mut trimmed = r.clone();
        trimmed.items.remove(0);
        assert_eq!(at(&trimmed, 6), None);
        assert_eq!(at(&trimmed, 10), None);
        assert_eq!(
            at(&trimmed, 2),
            Some((vec![10, 30], p("100-0", None, Some("90-0"), "80-0")))
        );
        // A guild without any position cannot be resumed.
        let mut r = r;
        r.bases.retain(|(k, _)| *k != StreamKey::Guild(10));
        assert_eq!(at(&r, 2), None);
    }

    #[test]
    fn what_a_crashed_session_saw_is_the_recorded_view_less_the_changes_after_its_seq() {
        let mut r = record(&[
            // Frame 4 hides 12 in guild 10, frame 6 shows 13, frame 7 shows 12 again.
            "3 g10/101-0 h10:12 -",
            "6 s10:13 s10:12 h20:21",
        ]);
        // As written with frame 7: 11, 12 and 13 seen in 10; 20's view was never written.
        r.visible = vec![(10, "[11,12,13]".into()), (30, "[31]".into())];
        let saw = |seq: u64| {
            let mut v: Vec<(i64, Vec<i64>)> = seen_at(&r, seq)
                .into_iter()
                .map(|(g, c)| {
                    let mut c: Vec<i64> = c.into_iter().collect();
                    c.sort_unstable();
                    (g, c)
                })
                .collect();
            v.sort();
            v
        };
        let views = |in_10: &[i64]| vec![(10, in_10.to_vec()), (30, vec![31])];
        // Before frame 4: 12 still seen, 13 not yet.
        assert_eq!(saw(3), views(&[11, 12]));
        // After 4 (12 hidden), before 6.
        assert_eq!(saw(5), views(&[11]));
        // After 6: 13 shown; 12 comes back with frame 7.
        assert_eq!(saw(6), views(&[11, 13]));
        assert_eq!(saw(7), views(&[11, 12, 13]));
        assert_eq!(saw(9), views(&[11, 12, 13]));
    }
}
