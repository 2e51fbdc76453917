//! The sharded dispatcher: `gateway.dispatch_shards` tasks ([`GatewayConfig::shard_count`])
//! each read the whole [`crate::events`] bus (its gateway feed: on a cluster, the guild and
//! user streams this node's sessions need) and route what they own.
//!
//! - **Ownership.** A guild's dispatches and control notices (membership, permissions,
//!   deletion) belong to the shard its id hashes to ([`shard_of`]); a user-addressed
//!   dispatch is split by addressee: each shard routes it to the users it owns (a DM to
//!   two users may be routed by two shards, each serializing it once). Revocations belong
//!   to the user's shard; barriers to every shard.
//! - **Order.** One shard handles its events in bus order, so a guild's dispatches (and a
//!   user's own stream) keep their order, and a permission or membership change is applied
//!   (caches invalidated, audiences changed) before the guild's next dispatch is routed.
//!   Dispatches of different guilds routed by different shards have no order between them.
//! - **Sequence numbers.** Any shard may push to any session; the session's state lock gives
//!   each push the next `seq`, so a session's seqs stay strictly increasing without gaps.
//! - **The replay clock.** A dispatch takes its position (`Registry::pos`), its audience
//!   and its log entry under the registry lock, as the single dispatcher did; a disconnect
//!   sets its cursor, and a RESUME replays, under the same lock. So for a session: every
//!   position at or before its cursor chose it as a live receiver (delivered to its buffer,
//!   possibly just after the disconnect: the buffer is kept and resent), and every later
//!   position found it detached and was logged. Appends to one log come from one shard in
//!   position order. A RESUME therefore neither misses nor duplicates a dispatch. A late
//!   delivery of a position before the cursor may follow replayed dispatches of *other*
//!   guilds; never of its own guild (its shard is still delivering it, so the guild has no
//!   later position yet).
//! - **Delivery outside the lock.** The deliveries (VIEW_CHANNEL, intents, content, the
//!   session's bounded queue and the slow-consumer rule) run after the registry lock is
//!   released, on the shard's task, in parallel with other shards. The routing gate
//!   (`Gateway::routing`, read side) spans position and deliveries; a restart snapshot
//!   takes its write side, so it sees every position delivered or logged.
//! - **Barriers.** Each shard records the newest barrier it passed; `barrier_seen` is the
//!   minimum over shards: everything published before it was routed by every shard.
//! - **Load shedding.** A shard drops a typing or presence dispatch whole when more than
//!   `gateway.shed_backlog` bus events wait behind it in its receiver; the shed is counted
//!   once (by the guild's shard, or the shard of the first addressee).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::sync::{broadcast, watch};

use super::replay::{Entry, LogKey, fallback_of};
use super::{Gateway, Prepared, Session, close, prepare, strip_content};
use crate::events::{Audience, BusEvent, Control, Dispatch, Event, intents};
use crate::permissions::Overwrite;
use crate::service::snapshot::{self, GuildSnapshot};
use crate::snowflake::Snowflake;

#[cfg(doc)]
use crate::config::GatewayConfig;

/// The shard that owns guild or user `id` among `n` (a multiplicative hash: snowflakes'
/// low bits are a per-process counter).
pub fn shard_of(id: i64, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    ((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % n
}

/// The shards' shared state: their number, the newest barrier each passed, what each
/// routed, and the test hold.
pub(crate) struct Shards {
    pub n: usize,
    passed: Vec<AtomicU64>,
    routed: Vec<AtomicU64>,
    /// Outstanding [`DispatchHold`]s: while above 0, shards take events from the bus but
    /// do not handle them.
    held: watch::Sender<usize>,
}

impl Shards {
    pub(crate) fn new(n: usize) -> Shards {
        let n = n.max(1);
        Shards {
            n,
            passed: (0..n).map(|_| AtomicU64::new(0)).collect(),
            routed: (0..n).map(|_| AtomicU64::new(0)).collect(),
            held: watch::Sender::new(0),
        }
    }
}

/// While alive, the dispatcher shards take events from the bus but route none of them, so
/// a backlog builds up deterministically (tests and benchmarks of load shedding). Dropping
/// it releases them.
pub struct DispatchHold<'a> {
    gw: &'a Gateway,
}

impl Drop for DispatchHold<'_> {
    fn drop(&mut self) {
        self.gw
            .shards
            .held
            .send_modify(|h| *h = h.saturating_sub(1));
    }
}

impl Gateway {
    /// Holds every dispatcher shard ([`DispatchHold`]): for tests and benchmarks only.
    #[doc(hidden)]
    pub fn hold_dispatch(&self) -> DispatchHold<'_> {
        self.shards.held.send_modify(|h| *h += 1);
        DispatchHold { gw: self }
    }

    /// The number of dispatcher shards.
    pub fn dispatch_shards(&self) -> usize {
        self.shards.n
    }

    /// The shard that routes guild `guild_id`'s dispatches.
    pub fn shard_of_guild(&self, guild_id: i64) -> usize {
        shard_of(guild_id, self.shards.n)
    }

    /// Dispatches (or parts of user-addressed ones) each shard routed since start.
    pub fn shard_routed(&self) -> Vec<u64> {
        self.shards
            .routed
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .collect()
    }

    /// Starts the shards on the current runtime, each with its own bus receiver.
    pub(crate) fn start_shards(self: &Arc<Gateway>) {
        for me in 0..self.shards.n {
            let rx = self.hearth.bus.feed();
            let held = self.shards.held.subscribe();
            tokio::spawn(shard(Arc::downgrade(self), me, rx, held));
        }
    }

    /// Shard `me` passed barrier `id`: `barrier_seen` becomes the minimum over shards.
    fn passed_barrier(&self, me: usize, id: u64) {
        passed(&self.shards.passed, &self.barrier_seen, me, id);
    }

    /// Whether the payload's `id` is a public thread of the guild's loaded snapshot (`false`
    /// when unknown: the snapshot is then dropped as for any structure change).
    fn is_public_thread(&self, guild_id: i64, data: &serde_json::Value) -> bool {
        let id = data["id"].as_str().and_then(|v| v.parse::<i64>().ok());
        match (id, self.cached(guild_id)) {
            (Some(id), Some(c)) => c.threads.get(&id).is_some_and(|t| t.thread.kind != 12),
            _ => false,
        }
    }

    /// Routes one dispatch: for a guild audience, the whole dispatch; for a user audience,
    /// the part addressed to `users` (the addressees this shard owns).
    async fn route(&self, d: &Dispatch, users: &[i64]) {
        // Caches follow the structure they describe. Membership of a public thread is not
        // part of it (only a private thread's members decide who sees it).
        if let Audience::Guild { guild_id, .. } = &d.audience
            && (matches!(
                d.event,
                Event::ChannelCreate
                    | Event::ChannelUpdate
                    | Event::ThreadCreate
                    | Event::ThreadUpdate
                    | Event::GuildRoleCreate
                    | Event::GuildRoleDelete
                    | Event::GuildRoleUpdate
                    | Event::GuildUpdate
            ) || d.event == Event::ThreadMembersUpdate
                && !self.is_public_thread(guild_id.db(), &d.data))
        {
            self.invalidate(guild_id.db());
        }
        // Nobody may need it: no live audience and nothing to log for detached members.
        let cache = match &d.audience {
            Audience::Guild { guild_id, .. } => {
                let wanted = {
                    let reg = self.registry.lock();
                    reg.by_guild.get(&guild_id.db()).is_some_and(|gs| {
                        (gs.detached > 0 && !d.lossy)
                            || (!gs.sessions.is_empty()
                                && (d.intent != intents::GUILD_PRESENCES || gs.presences > 0))
                    })
                };
                if !wanted {
                    if matches!(d.event, Event::ChannelDelete | Event::ThreadDelete) {
                        self.invalidate(guild_id.db());
                    }
                    return;
                }
                let Some(cache) = self.cache(guild_id.db()).await else {
                    return;
                };
                Some(cache)
            }
            Audience::Users(_) => None,
        };
        let prepared = Arc::new(prepare(d));
        let fallback = fallback_of(d);
        // The routing gate (read side) spans the position and the deliveries, so that a
        // restart snapshot (write side) sees every position delivered or logged.
        {
            let _routing = self.routing.read();
            let targets: Vec<Arc<Session>>;
            let audience: Option<Arc<[Arc<Session>]>>;
            {
                // One lock for the position, the audience and the log entry: a session that
                // detaches or resumes meanwhile gets this dispatch exactly once (module docs).
                let mut reg = self.registry.lock();
                reg.pos += 1;
                let pos = reg.pos;
                // The bases of crash records (`journal.rs`); nothing to track without them.
                if let Some(e) = d.entry.filter(|_| self.keeps_records()) {
                    reg.routed.insert(e.stream, e.id);
                }
                let entry = || Entry::of(d, prepared.clone(), fallback.clone(), pos);
                match (&d.audience, &cache) {
                    (Audience::Users(_), _) => {
                        let mut live = vec![];
                        for &u in users {
                            let mut logged = d.lossy;
                            for s in reg.of_user(u) {
                                if !s.state.lock().connected {
                                    if !logged {
                                        let e = entry();
                                        reg.log.append(LogKey::User(u), e);
                                        logged = true;
                                    }
                                    continue;
                                }
                                if d.intent != 0 && s.intents & d.intent == 0 {
                                    continue;
                                }
                                live.push(s);
                            }
                        }
                        targets = live;
                        audience = None;
                    }
                    (Audience::Guild { guild_id, .. }, Some(_)) => {
                        let (sessions, detached) = match reg.by_guild.get_mut(&guild_id.db()) {
                            Some(gs)
                                if d.intent != intents::GUILD_PRESENCES || gs.presences > 0 =>
                            {
                                (Some(gs.audience()), gs.detached)
                            }
                            Some(gs) => (None, gs.detached),
                            None => (None, 0),
                        };
                        if detached > 0 && !d.lossy {
                            let e = entry();
                            reg.log.append(LogKey::Guild(guild_id.db()), e);
                        }
                        targets = vec![];
                        audience = sessions;
                    }
                    (Audience::Guild { .. }, None) => {
                        targets = vec![];
                        audience = None;
                    }
                }
            }
            // Outside the registry lock (other shards route meanwhile): the sessions chosen
            // under it get the dispatch; one that detached since keeps it in its buffer (its
            // cursor is at or after this position, so RESUME does not replay it again).
            for s in &targets {
                let strip = strip_content(d.has_content, s, &prepared);
                self.deliver(s, prepared.clone(), strip);
            }
            if let (Audience::Guild { channel, .. }, Some(cache), Some(sessions)) =
                (&d.audience, &cache, audience)
            {
                let channel = channel.map(|c| c.db());
                self.fan_out(d, &prepared, cache, &sessions, channel, fallback.as_deref());
            }
        }
        if let Audience::Guild { guild_id, .. } = &d.audience
            && matches!(d.event, Event::ChannelDelete | Event::ThreadDelete)
        {
            self.invalidate(guild_id.db());
        }
    }

    /// Delivers a guild dispatch to the live sessions that may see it.
    fn fan_out(
        &self,
        d: &Dispatch,
        prepared: &Arc<Prepared>,
        cache: &GuildSnapshot,
        sessions: &[Arc<Session>],
        channel: Option<i64>,
        fallback: Option<&[Overwrite]>,
    ) {
        let ows = channel.map(|c| cache.overwrites_of(c, fallback));
        // Passive guilds (`passive.rs`): only for a dispatch a passive guild may hold back,
        // in a guild large enough; then only sessions that asked for it are looked at.
        let passive_now = (!matches!(prepared.passive, super::passive::Class::Keep)
            && self.passive_sized(cache))
        .then(std::time::Instant::now);
        // Members with @everyone's permissions only share one answer; the others are
        // computed once per user.
        let mut plain_view: Option<bool> = None;
        let mut view_memo: HashMap<i64, bool> = HashMap::new();
        for s in sessions {
            if d.intent != 0
                && s.intents & d.intent == 0
                && !(d.event == Event::ThreadMembersUpdate
                    && super::replay::thread_member_concerned(&d.data, s.user_id))
            {
                continue;
            }
            if let (Some(c), Some(ows)) = (channel, ows) {
                let view = || cache.can_view(s.user_id, c, fallback);
                // A private thread's members see it whatever their permissions.
                let ok = if cache.is_plain(s.user_id, ows) && !cache.is_private_thread(c) {
                    *plain_view.get_or_insert_with(view)
                } else {
                    *view_memo.entry(s.user_id).or_insert_with(view)
                };
                if !ok {
                    continue;
                }
            }
            if let Some(now) = passive_now
                && s.passive
                && !self.passive_pass(s, prepared, cache, now)
            {
                continue;
            }
            let strip = strip_content(d.has_content, s, prepared);
            if d.lossy {
                let behind = s.state.lock().behind();
                if behind > self.hearth.config.gateway.session_queue / 2 {
                    self.shed.count(d.event, false);
                    continue;
                }
            }
            self.deliver(s, prepared.clone(), strip);
        }
    }

    async fn control(&self, c: Control) {
        match c {
            Control::SessionsRevoked { user_id, sessions } => {
                for s in self.sessions_of_user(user_id.db()) {
                    let hit = match (&sessions, s.auth_session) {
                        (None, _) => true,
                        (Some(list), Some(a)) => list.iter().any(|x| x.db() == a),
                        (Some(_), None) => false,
                    };
                    if hit {
                        s.state.lock().kill = Some(close::AUTHENTICATION_FAILED);
                        s.notify.notify_one();
                        self.unregister(&s.id);
                    }
                }
            }
            Control::MemberJoined { guild_id, user_id } => {
                // O(1): only the new member's roles are read (a reload would read every
                // member, O(n^2) for n joins).
                let cached = self.cached(guild_id.db());
                if let Some(c) = cached {
                    c.member_joined();
                    match self
                        .hearth
                        .db
                        .member_role_ids(guild_id.db(), user_id.db())
                        .await
                    {
                        Ok(roles) => c.set_member_roles(user_id.db(), roles),
                        Err(_) => {
                            self.invalidate(guild_id.db());
                        }
                    }
                }
                let g = guild_id.db();
                for s in self.sessions_of_user(user_id.db()) {
                    let live = {
                        let mut reg = self.registry.lock();
                        let mut st = s.state.lock();
                        if let Some(j) = st.journal.as_mut() {
                            j.add_base(LogKey::Guild(g), reg.routed.get(&LogKey::Guild(g)));
                        }
                        if st.connected {
                            st.guilds.insert(g);
                            drop(st);
                            reg.add_to_guild(g, &s);
                            true
                        } else {
                            // Detached: GUILD_CREATE and the guild's log from now on at RESUME.
                            if st.guilds.insert(g) && reg.sessions.contains_key(&s.id) {
                                reg.add_detached(g);
                            }
                            st.left.remove(&g);
                            st.joined.insert(g, reg.pos);
                            false
                        }
                    };
                    if live && s.intents & intents::GUILDS != 0 {
                        self.send_guild_create(guild_id.db(), &s).await;
                    }
                }
            }
            Control::MemberLeft { guild_id, user_id } => {
                let cached = self.cached(guild_id.db());
                if let Some(c) = cached {
                    c.remove_member(user_id.db());
                }
                for s in self.sessions_of_user(user_id.db()) {
                    self.leave(&s, guild_id.db());
                }
            }
            Control::GuildDeleted { guild_id } => {
                self.invalidate(guild_id.db());
                for s in self.sessions_of_guild(guild_id.db()) {
                    self.leave(&s, guild_id.db());
                }
            }
            Control::GuildEventsLost { guild_id } => {
                let g = guild_id.db();
                self.invalidate(g);
                let hit: Vec<Arc<Session>> = self
                    .registry
                    .lock()
                    .sessions
                    .values()
                    .filter(|s| s.state.lock().guilds.contains(&g))
                    .cloned()
                    .collect();
                self.start_anew(&hit);
            }
            Control::UserEventsLost { user_id } => {
                let hit = self.sessions_of_user(user_id.db());
                self.start_anew(&hit);
            }
            // Handled by every shard in `shard`.
            Control::Barrier { .. } => {}
            Control::PermissionsChanged { guild_id } => {
                self.invalidate(guild_id.db());
                let Some(cache) = self.cache(guild_id.db()).await else {
                    return;
                };
                for s in self.sessions_of_guild(guild_id.db()) {
                    let now = cache.visible_channels(s.user_id);
                    let before = {
                        let mut st = s.state.lock();
                        match st.visible.get_mut(&guild_id.db()) {
                            Some(v) => std::mem::replace(v, now.clone()),
                            None => {
                                // No GUILD_CREATE queued yet: the one to come is built
                                // from a snapshot with this change (`push_guild_create`).
                                st.changed_before_create.insert(guild_id.db());
                                continue;
                            }
                        }
                    };
                    if s.intents & intents::GUILDS == 0 {
                        continue;
                    }
                    for gone in before.difference(&now) {
                        self.send_to(&s, Event::ChannelDelete, json!({"id": Snowflake::from_db(*gone), "guild_id": guild_id, "type": 0}));
                    }
                    let gained: HashSet<i64> = now.difference(&before).copied().collect();
                    for new in &gained {
                        if let Some(p) = cache.channel_payload(*new) {
                            self.send_to(&s, Event::ChannelCreate, p);
                        }
                    }
                    // The active threads of the channels gained (Discord: THREAD_LIST_SYNC
                    // "when the current user gains access to a channel").
                    if !gained.is_empty() {
                        match snapshot::thread_list_sync(&self.hearth, &cache, s.user_id, &gained)
                            .await
                        {
                            Ok(Some(v)) => self.send_to(&s, Event::ThreadListSync, v),
                            Ok(None) => {}
                            Err(e) => tracing::error!(error = %e, "THREAD_LIST_SYNC build failed"),
                        }
                    }
                }
            }
        }
    }

    /// Ends sessions that missed durable events ([`Control::GuildEventsLost`]): a connected
    /// one is closed with 4009 (Discord: "reconnect and start a new session"), and none can
    /// be resumed, so each client identifies anew and reads the current state.
    fn start_anew(&self, sessions: &[Arc<Session>]) {
        if sessions.is_empty() {
            return;
        }
        tracing::warn!(
            sessions = sessions.len(),
            "gateway: sessions that missed events start anew"
        );
        self.traffic
            .restarted
            .fetch_add(sessions.len() as u64, Ordering::Relaxed);
        for s in sessions {
            s.state.lock().kill = Some(close::SESSION_TIMED_OUT);
            s.notify.notify_one();
            self.unregister(&s.id);
        }
    }

    fn leave(&self, s: &Session, guild: i64) {
        let (was, live) = {
            let mut reg = self.registry.lock();
            let mut st = s.state.lock();
            let was = st.guilds.remove(&guild);
            st.passive.forget(guild);
            st.changed_before_create.remove(&guild);
            let live = st.connected;
            if !live {
                // Detached: GUILD_DELETE at RESUME.
                st.joined.remove(&guild);
                if was {
                    st.left.insert(guild);
                }
            }
            drop(st);
            if live {
                reg.remove_from_guild(guild, &s.id);
            } else if was && reg.sessions.contains_key(&s.id) {
                reg.forget_detached(guild);
            }
            (was, live)
        };
        if was && live && s.intents & intents::GUILDS != 0 {
            self.send_to(
                s,
                Event::GuildDelete,
                json!({"id": Snowflake::from_db(guild)}),
            );
        }
    }
}

/// Shard `me` passed marker `id` (a barrier, a stream mark): `passed[me]` rises to it and
/// `seen` to the minimum over shards (every shard passed it).
pub(super) fn passed(passed: &[AtomicU64], seen: &watch::Sender<u64>, me: usize, id: u64) {
    passed[me].fetch_max(id, Ordering::SeqCst);
    let all = passed
        .iter()
        .map(|p| p.load(Ordering::SeqCst))
        .min()
        .unwrap_or(id);
    seen.send_modify(|v| *v = (*v).max(all));
}

/// What shard `me` of `n` does with a bus event.
enum Part {
    /// Not its own.
    Skip,
    /// A dispatch to route; `users`: the addressees it owns (user audiences); `primary`:
    /// it counts the dispatch (traffic, shedding).
    Dispatch {
        users: Vec<i64>,
        primary: bool,
    },
    Control,
    Barrier(u64),
    /// A cluster bus's stream mark: every shard (`handoff.rs`).
    Mark,
}

fn part(ev: &BusEvent, me: usize, n: usize) -> Part {
    let mine = |id: Snowflake| shard_of(id.db(), n) == me;
    match ev {
        BusEvent::Dispatch(d) => match &d.audience {
            Audience::Guild { guild_id, .. } if mine(*guild_id) => Part::Dispatch {
                users: vec![],
                primary: true,
            },
            Audience::Guild { .. } => Part::Skip,
            Audience::Users(list) => {
                let users: Vec<i64> = list.iter().filter(|u| mine(**u)).map(|u| u.db()).collect();
                if users.is_empty() {
                    return Part::Skip;
                }
                let primary = list.first().is_some_and(|u| mine(*u));
                Part::Dispatch { users, primary }
            }
        },
        BusEvent::Mark(_) => Part::Mark,
        BusEvent::Control(c) => {
            let owner = match c {
                Control::Barrier { id } => return Part::Barrier(*id),
                Control::SessionsRevoked { user_id, .. } | Control::UserEventsLost { user_id } => {
                    *user_id
                }
                Control::MemberJoined { guild_id, .. }
                | Control::MemberLeft { guild_id, .. }
                | Control::PermissionsChanged { guild_id }
                | Control::GuildDeleted { guild_id }
                | Control::GuildEventsLost { guild_id } => *guild_id,
            };
            if mine(owner) {
                Part::Control
            } else {
                Part::Skip
            }
        }
    }
}

/// One dispatcher shard (module docs).
async fn shard(
    gw: std::sync::Weak<Gateway>,
    me: usize,
    mut rx: broadcast::Receiver<BusEvent>,
    mut held: watch::Receiver<usize>,
) {
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(
                    missed = n,
                    shard = me,
                    "gateway dispatcher lagged behind the event bus"
                );
                if let Some(gw) = gw.upgrade() {
                    gw.traffic.bus_lagged.fetch_add(n, Ordering::Relaxed);
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let is_held = *held.borrow() > 0;
        if is_held && held.wait_for(|h| *h == 0).await.is_err() {
            return;
        }
        let Some(gw) = gw.upgrade() else { return };
        match (part(&ev, me, gw.shards.n), ev) {
            (Part::Skip, _) => {}
            (Part::Barrier(id), _) => gw.passed_barrier(me, id),
            (Part::Mark, BusEvent::Mark(m)) => gw.at_mark(me, &m),
            (Part::Control, BusEvent::Control(c)) => gw.control(c).await,
            (Part::Dispatch { users, primary }, BusEvent::Dispatch(d)) => {
                // Load shedding: behind the bus, typing and presence go first.
                if d.lossy && rx.len() > gw.hearth.config.gateway.shed_backlog {
                    if primary {
                        gw.shed.count(d.event, true);
                    }
                    continue;
                }
                if primary {
                    gw.traffic.dispatches.fetch_add(1, Ordering::Relaxed);
                }
                gw.shards.routed[me].fetch_add(1, Ordering::Relaxed);
                gw.route(&d, &users).await;
            }
            (_, _) => {}
        }
    }
}
