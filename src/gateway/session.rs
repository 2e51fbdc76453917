//! Gateway sessions and their registry: who is in which guild's dispatch audience, and the
//! sessions whose connection dropped (detached: a cursor into the shared replay log, outside
//! every audience).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::Prepared;
use super::journal::Journaled;
use super::passive::PassiveState;
use super::replay::{Entry, LogKey, ReplayLog};
use crate::events::intents;

/// One buffered dispatch of a session.
pub(crate) struct Buffered {
    pub seq: u64,
    pub event: Arc<Prepared>,
    pub stripped: bool,
}

/// Mutable state of a gateway session.
pub(crate) struct SessionState {
    pub seq: u64,
    /// Outbound queue; after a disconnect it keeps only what was queued before it (nothing
    /// is added while detached: the missed dispatches come from the shared replay log).
    pub buffer: VecDeque<Buffered>,
    /// The oldest seq a RESUME may carry: every event up to it has been dropped from
    /// `buffer` (acknowledged by a heartbeat, or pushed out by newer events).
    pub floor: u64,
    /// Last seq written to the socket.
    pub sent: u64,
    pub connected: bool,
    pub disconnected_at: Option<Instant>,
    /// Set when the session must end (revoked): the close code to send.
    pub kill: Option<u16>,
    pub guilds: HashSet<i64>,
    /// Channels visible per guild (to emit visibility changes), from the GUILD_CREATE sent on.
    pub visible: HashMap<i64, HashSet<i64>>,
    /// Guilds whose permissions changed after the session joined their audience but before
    /// their GUILD_CREATE was queued: that GUILD_CREATE is built again from the current
    /// snapshot ([`super::Gateway::push_guild_create`]) instead of being followed by
    /// CHANNEL_CREATEs for channels it lists.
    pub changed_before_create: HashSet<i64>,
    /// Whether READY is queued. Until then the session is already in its guilds' audiences
    /// (so that nothing between the state READY reads and live routing is missed), and what
    /// is routed to it waits in `early`, queued right after READY ([`Session::start`]):
    /// READY is always the first dispatch (seq 1).
    pub started: bool,
    early: Vec<(Arc<Prepared>, bool)>,
    /// Generation of the connection currently attached (a resume bumps it).
    pub generation: u64,
    /// While detached: the replay-log position at the disconnect; every dispatch logged
    /// after it was missed.
    pub cursor: u64,
    /// While detached: guilds joined meanwhile, with the log position of the join.
    pub joined: HashMap<i64, u64>,
    /// While detached: guilds left (or deleted) meanwhile.
    pub left: HashSet<i64>,
    /// Subscriptions and held-back updates of passive guilds (`passive.rs`).
    pub passive: PassiveState,
    /// A session moved here from another node (`handoff.rs`): set until its logs'
    /// positions are fixed; a RESUME meanwhile gets INVALID_SESSION.
    pub adopting: bool,
    /// A moved session: per log, the position after which this node's log serves it
    /// (instead of `cursor`), and what it missed before that (the old node's entries, then
    /// the stream's), replayed first.
    pub handed: HashMap<LogKey, (u64, Vec<Entry>)>,
    /// With `cluster.crash_resume`: what its crash record needs (`journal.rs`).
    pub journal: Option<Box<Journaled>>,
}

impl SessionState {
    /// A connected session's initial state.
    pub(crate) fn new(guilds: HashSet<i64>) -> SessionState {
        SessionState {
            seq: 0,
            buffer: VecDeque::new(),
            floor: 0,
            sent: 0,
            connected: true,
            disconnected_at: None,
            kill: None,
            guilds,
            visible: HashMap::new(),
            changed_before_create: HashSet::new(),
            started: false,
            early: Vec::new(),
            generation: 1,
            cursor: 0,
            joined: HashMap::new(),
            left: HashSet::new(),
            passive: PassiveState::default(),
            adopting: false,
            handed: HashMap::new(),
            journal: None,
        }
    }

    /// Appends a dispatch with the next seq, dropping the oldest beyond `cap`.
    /// Before READY (`started` unset) it waits in `early` instead, without a seq (at most
    /// `cap`: beyond that the session is a slow consumer and is closed).
    pub(crate) fn append(&mut self, event: Arc<Prepared>, stripped: bool, cap: usize) {
        if !self.started {
            if self.early.len() < cap {
                self.early.push((event, stripped));
            }
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        self.buffer.push_back(Buffered {
            seq,
            event,
            stripped,
        });
        while self.buffer.len() > cap {
            if let Some(b) = self.buffer.pop_front() {
                self.dropped(&b);
            }
        }
    }

    /// Frame `b` left the buffer: a RESUME must carry at least its seq.
    fn dropped(&mut self, b: &Buffered) {
        self.floor = b.seq;
        if let Some(j) = self.journal.as_mut() {
            j.dropped(b);
        }
    }

    /// Drops buffered events up to `seq` (the `d` of a heartbeat: the last seq the client
    /// received), clamped to what was written to the socket. A RESUME must then carry at
    /// least this seq.
    pub(crate) fn ack(&mut self, seq: u64) {
        let upto = seq.min(self.sent);
        while self.buffer.front().is_some_and(|b| b.seq <= upto) {
            if let Some(b) = self.buffer.pop_front() {
                self.dropped(&b);
            }
        }
        // A burst (a replay, a busy channel) may have grown the queue; an idle session
        // should not keep that memory (freeing it took 6-7 MiB off 19,000 sessions resumed
        // after a reconnect storm, BENCHMARKS.md "The allocator, and moved sessions'...").
        if self.buffer.is_empty() {
            self.buffer = VecDeque::new();
        } else if self.buffer.capacity() > 16 && self.buffer.len() < self.buffer.capacity() / 4 {
            self.buffer.shrink_to(self.buffer.len().max(4) * 2);
        }
    }

    /// Events queued and not yet written to the socket (those waiting for READY included).
    pub(crate) fn behind(&self) -> usize {
        (self.seq - self.sent) as usize + self.early.len()
    }

    /// Whether a RESUME with `seq` can be served from the buffer.
    pub(crate) fn resumable_from(&self, seq: u64) -> bool {
        seq >= self.floor && seq <= self.seq
    }
}

/// A gateway session (survives disconnects for RESUME).
pub(crate) struct Session {
    pub id: String,
    pub user_id: i64,
    pub bot: bool,
    /// The login session behind a user token (revocation), `None` for bots.
    pub auth_session: Option<i64>,
    pub intents: u64,
    pub large_threshold: u64,
    /// A user session that asked for passive guilds at IDENTIFY (`passive.rs`; never a bot).
    pub passive: bool,
    pub state: Mutex<SessionState>,
    pub notify: Notify,
}

impl Session {
    /// Appends a dispatch; `false` if the client is too far behind (disconnect it).
    pub(crate) fn push(
        &self,
        event: Arc<Prepared>,
        stripped: bool,
        cap: usize,
        queue: usize,
    ) -> bool {
        let mut s = self.state.lock();
        s.append(event, stripped, cap);
        let behind = s.behind();
        drop(s);
        self.notify.notify_one();
        behind <= queue
    }

    /// Queues READY (`ready`) as the session's first dispatch, then what was routed to it
    /// meanwhile, in order. Returns as [`Session::push`].
    pub(crate) fn start(&self, ready: Arc<Prepared>, cap: usize, queue: usize) -> bool {
        let mut s = self.state.lock();
        s.started = true;
        s.append(ready, false, cap);
        for (e, stripped) in std::mem::take(&mut s.early) {
            s.append(e, stripped, cap);
        }
        let behind = s.behind();
        drop(s);
        self.notify.notify_one();
        behind <= queue
    }

    /// Takes events out of the session's state with `take` and queues them, in one hold of
    /// its lock, so that nothing can come between taking and queuing (a graceful restart's
    /// snapshot of the session). Returns as [`Session::push`] (`true` when nothing was
    /// taken).
    pub(crate) fn push_taken(
        &self,
        cap: usize,
        queue: usize,
        take: impl FnOnce(&mut SessionState) -> Vec<Arc<Prepared>>,
    ) -> bool {
        let mut s = self.state.lock();
        let events = take(&mut s);
        if events.is_empty() {
            return true;
        }
        for e in events {
            s.append(e, false, cap);
        }
        let behind = s.behind();
        drop(s);
        self.notify.notify_one();
        behind <= queue
    }

    /// Ends a connected session that fell more than `gateway.session_queue` events behind
    /// (close 4000; the client may resume from its buffer).
    pub(crate) fn disconnect_slow(&self) {
        let mut st = self.state.lock();
        if st.connected && st.kill.is_none() {
            st.kill = Some(super::close::UNKNOWN_ERROR);
            drop(st);
            self.notify.notify_one();
            tracing::info!(session = %self.id, "slow consumer disconnected");
        }
    }
}

/// The sessions subscribed to one guild.
#[derive(Default)]
pub(crate) struct GuildSessions {
    /// The dispatch audience: connected sessions only.
    pub sessions: HashMap<String, Arc<Session>>,
    /// How many of them have the GUILD_PRESENCES intent (none: presence updates of the guild
    /// are dropped before any routing work).
    pub presences: usize,
    /// Detached sessions of members (the guild's dispatches are then kept in the replay log).
    pub detached: usize,
    /// `sessions` as a shared list, built on first use after a change: routing takes the
    /// audience under the registry lock in O(1) and walks it after releasing the lock.
    list: Option<Arc<[Arc<Session>]>>,
}

impl GuildSessions {
    /// The dispatch audience as a shared list.
    pub(crate) fn audience(&mut self) -> Arc<[Arc<Session>]> {
        self.list
            .get_or_insert_with(|| self.sessions.values().cloned().collect())
            .clone()
    }
}

/// Every session, by id, user and guild, and the shared replay log. One lock: a dispatch
/// takes its log position, its audience and its log entry atomically, so a session that
/// detaches or resumes meanwhile sees each dispatch exactly once (live or replayed).
#[derive(Default)]
pub(crate) struct Registry {
    pub sessions: HashMap<String, Arc<Session>>,
    /// Every session of a user, connected or detached (the sessions themselves: a storm of
    /// closes asks for a user's sessions once per connection, with no lookups by id).
    pub by_user: HashMap<i64, HashMap<String, Arc<Session>>>,
    pub by_guild: HashMap<i64, GuildSessions>,
    /// Position of the last routed dispatch (the replay log's clock).
    pub pos: u64,
    /// With crash records: per stream this node reads, the last entry routed from it (the
    /// base of a session that starts to need it, `journal.rs`).
    pub routed: HashMap<crate::events::StreamKey, (u64, u64)>,
    pub log: ReplayLog,
    /// The bus's interest hook (a cluster's bus reads only the guilds and users named here):
    /// told when a guild or user gains its first session or loses its last.
    pub interest: Option<Arc<dyn crate::events::Interest>>,
}

impl Registry {
    /// The guild's sessions, created (and announced to the bus) when it has none.
    fn guild_entry(&mut self, guild: i64) -> &mut GuildSessions {
        if !self.by_guild.contains_key(&guild)
            && let Some(i) = &self.interest
        {
            i.guild(guild, true);
        }
        self.by_guild.entry(guild).or_default()
    }

    /// Drops the guild's sessions (announced to the bus).
    fn drop_guild(&mut self, guild: i64) {
        self.routed.remove(&LogKey::Guild(guild));
        if self.by_guild.remove(&guild).is_some()
            && let Some(i) = &self.interest
        {
            i.guild(guild, false);
        }
    }

    /// Records a session of a user (announced to the bus when it is the user's first).
    pub(crate) fn add_user_session(&mut self, s: &Arc<Session>) {
        let set = self.by_user.entry(s.user_id).or_default();
        if set.is_empty()
            && let Some(i) = &self.interest
        {
            i.user(s.user_id, true);
        }
        set.insert(s.id.clone(), s.clone());
    }

    /// Adds a connected session to a guild's audience.
    pub(crate) fn add_to_guild(&mut self, guild: i64, s: &Arc<Session>) {
        let gs = self.guild_entry(guild);
        gs.list = None;
        if gs.sessions.insert(s.id.clone(), s.clone()).is_none()
            && s.intents & intents::GUILD_PRESENCES != 0
        {
            gs.presences += 1;
        }
    }

    /// Removes a session from a guild's audience.
    pub(crate) fn remove_from_guild(&mut self, guild: i64, id: &str) {
        if let Some(gs) = self.by_guild.get_mut(&guild) {
            if let Some(s) = gs.sessions.remove(id) {
                gs.list = None;
                if s.intents & intents::GUILD_PRESENCES != 0 {
                    gs.presences -= 1;
                }
            }
            if gs.sessions.is_empty() && gs.detached == 0 {
                self.drop_guild(guild);
            }
        }
    }

    /// Moves a session out of a guild's audience into its detached count.
    pub(crate) fn detach_from_guild(&mut self, guild: i64, id: &str) {
        self.guild_entry(guild).detached += 1;
        self.remove_from_guild(guild, id);
    }

    /// Forgets one detached session of a guild.
    pub(crate) fn forget_detached(&mut self, guild: i64) {
        if let Some(gs) = self.by_guild.get_mut(&guild) {
            gs.detached = gs.detached.saturating_sub(1);
            if gs.sessions.is_empty() && gs.detached == 0 {
                self.drop_guild(guild);
            }
        }
    }

    /// Counts a detached session of a guild (it joined while detached).
    pub(crate) fn add_detached(&mut self, guild: i64) {
        self.guild_entry(guild).detached += 1;
    }

    /// The sessions of a user, connected or detached.
    pub(crate) fn of_user(&self, user: i64) -> Vec<Arc<Session>> {
        self.by_user
            .get(&user)
            .map(|of| of.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether any session of `user` has a connection (registry, then session lock).
    pub(crate) fn user_connected(&self, user: i64) -> bool {
        self.by_user
            .get(&user)
            .is_some_and(|of| of.values().any(|s| s.state.lock().connected))
    }

    /// Removes a session entirely (unresumable), connected or detached.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Arc<Session>> {
        let s = self.sessions.remove(id)?;
        if let Some(set) = self.by_user.get_mut(&s.user_id) {
            set.remove(id);
            if set.is_empty() {
                self.by_user.remove(&s.user_id);
                self.routed.remove(&LogKey::User(s.user_id));
                if let Some(i) = &self.interest {
                    i.user(s.user_id, false);
                }
            }
        }
        let (connected, guilds): (bool, Vec<i64>) = {
            let st = s.state.lock();
            (st.connected, st.guilds.iter().copied().collect())
        };
        for g in guilds {
            if connected {
                self.remove_from_guild(g, id);
            } else {
                self.forget_detached(g);
            }
        }
        Some(s)
    }
}
