//! Ending and resuming sessions (Discord "Gateway" § Resuming).
//!
//! - A connection that ends with a client close frame 1000 or 1001 ends its session.
//! - Any other end *detaches* the session: it leaves every dispatch audience and keeps only
//!   a cursor (the replay-log position at the disconnect), its guilds and visible channels,
//!   and the frames it had not received yet. Dispatches that follow cost it nothing.
//! - RESUME re-attaches it and queues, with consecutive sequence numbers: what was queued at
//!   the disconnect; GUILD_DELETE / GUILD_CREATE for guilds left or joined meanwhile and
//!   CHANNEL_DELETE / CHANNEL_CREATE for channels hidden or shown meanwhile; then every
//!   logged dispatch after the cursor of its guilds and its user, in order, filtered through
//!   its *current* permissions (VIEW_CHANNEL), intents and MESSAGE_CONTENT. A guild that is
//!   passive for the session at RESUME is replayed as the dispatcher would have delivered
//!   it (`passive.rs`): mentions and its own member events, and one PASSIVE_UPDATE_V1 for
//!   the messages held back. It gets INVALID_SESSION when expired (`gateway.replay_seconds`), when the log dropped part of
//!   what it missed, or when that is more than `gateway.replay_events` dispatches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::passive::{Verdict, verdict};
use super::replay::{Entry, LogKey, LogStats};
use super::{Gateway, Prepared, Session, close, strip_content};
use crate::events::{Event, intents};
use crate::snowflake::Snowflake;

/// What the gateway holds for sessions (tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Sessions with a connection.
    pub connected: usize,
    /// Sessions without one, resumable.
    pub detached: usize,
    /// Session entries over every guild's dispatch audience.
    pub audience: usize,
    /// Dispatches held in per-session buffers, over every session.
    pub buffered: usize,
    /// Dispatches held in detached sessions' buffers.
    pub buffered_detached: usize,
    /// The shared replay log.
    pub log: LogStats,
}

impl Gateway {
    /// Called when connection `generation` of `s` ends; `finished`: the client closed with
    /// 1000 or 1001, which ends the session, otherwise it is detached for RESUME.
    pub(crate) async fn connection_ended(&self, s: &Arc<Session>, generation: u64, finished: bool) {
        {
            let mut reg = self.registry.lock();
            let registered = reg.sessions.get(&s.id).is_some_and(|x| Arc::ptr_eq(x, s));
            let mut st = s.state.lock();
            if st.generation != generation || !st.connected {
                // Another connection resumed it meanwhile.
                return;
            }
            // A slow-consumer kill ends only this connection; the session stays resumable.
            if st.kill == Some(close::UNKNOWN_ERROR) {
                st.kill = None;
            }
            if finished && registered {
                drop(st);
                reg.remove(&s.id);
                self.session_ended(s.user_id, &s.id);
                st = s.state.lock();
                st.connected = false;
            } else {
                st.connected = false;
                st.disconnected_at = Some(Instant::now());
                st.cursor = reg.pos;
                st.buffer.shrink_to_fit();
                let guilds: Vec<i64> = st.guilds.iter().copied().collect();
                drop(st);
                if registered {
                    for g in guilds {
                        reg.detach_from_guild(g, &s.id);
                    }
                }
            }
        }
        self.connection_closed(s.user_id).await;
    }

    /// RESUME (op 6) of `session_id` by `user` from `seq` (the last seq the client received):
    /// re-attaches the session and queues what it missed. Returns the session and the new
    /// connection generation, or `None` for INVALID_SESSION.
    pub(crate) async fn resume(
        &self,
        user: i64,
        session_id: &str,
        seq: u64,
    ) -> Option<(Arc<Session>, u64)> {
        let cfg = &self.hearth.config.gateway;
        let held = self.registry.lock().sessions.get(session_id).cloned();
        // Not held here: on a cluster, a session another node handed off (`handoff.rs`).
        let s = match held {
            Some(s) => s,
            None => self.adopt(user, session_id, seq).await?,
        };
        if s.user_id != user {
            return None;
        }
        let ttl = Duration::from_secs(cfg.replay_seconds);
        let (guilds, joined) = {
            let mut st = s.state.lock();
            if !st.resumable_from(seq)
                || st.kill == Some(close::AUTHENTICATION_FAILED)
                || st.adopting
            {
                return None;
            }
            if st.connected {
                // Its old connection has not noticed its end yet: take the session over
                // (that connection sees the new generation and closes).
                st.sent = seq;
                st.kill = None;
                st.generation += 1;
                return Some((s.clone(), st.generation));
            }
            if st.disconnected_at.is_some_and(|t| t.elapsed() > ttl) {
                drop(st);
                self.unregister(&s.id);
                return None;
            }
            (st.guilds.clone(), st.joined.clone())
        };
        // Current permissions of its guilds, and GUILD_CREATE for those joined meanwhile.
        let mut caches = HashMap::new();
        for g in &guilds {
            if let Some(c) = self.cache(*g).await {
                caches.insert(*g, c);
            }
        }
        let mut creates = HashMap::new();
        if s.intents & intents::GUILDS != 0 {
            for g in joined.keys() {
                if let Some(created) = self.guild_create_for(*g, &s).await {
                    creates.insert(*g, created);
                }
            }
        }

        let mut reg = self.registry.lock();
        if !reg.sessions.contains_key(&s.id) {
            return None;
        }
        let mut st = s.state.lock();
        if st.connected || !st.resumable_from(seq) || st.guilds != guilds || st.joined != joined {
            // Another RESUME, or a membership change, won the race: the client retries.
            return None;
        }
        let cursor = st.cursor;
        // A moved session: what it missed before this node's log serves it (`handoff.rs`).
        let mut handed = std::mem::take(&mut st.handed);
        let mut since = |log: &super::replay::ReplayLog, key: LogKey, from: Option<u64>| {
            let (base, mut entries) = handed.remove(&key).unwrap_or((cursor, vec![]));
            let from = from.map_or(base, |j| j.max(base));
            entries.extend(log.since(key, from).ok()?);
            Some(entries)
        };
        let now = Instant::now();
        let guild_events = s.intents & intents::GUILDS != 0;
        let mut synthetic: Vec<Arc<Prepared>> = vec![];
        // Guilds left or deleted meanwhile.
        let mut gone: Vec<i64> = st.left.drain().collect();
        for g in guilds.iter().filter(|g| !caches.contains_key(g)) {
            st.guilds.remove(g);
            reg.forget_detached(*g);
            gone.push(*g);
        }
        for g in gone {
            st.visible.remove(&g);
            if guild_events {
                synthetic.push(Prepared::local(
                    Event::GuildDelete,
                    json!({"id": Snowflake::from_db(g)}),
                ));
            }
        }
        let mut replay: Vec<(u64, Arc<Prepared>, bool)> = vec![];
        let mut gap = false;
        let current: Vec<i64> = st.guilds.iter().copied().collect();
        for g in current {
            let Some(cache) = caches.get(&g) else {
                continue;
            };
            let Some(entries) = since(&reg.log, LogKey::Guild(g), joined.get(&g).copied()) else {
                gap = true;
                break;
            };
            if joined.contains_key(&g) {
                if let Some((v, visible)) = creates.remove(&g) {
                    st.visible.insert(g, visible);
                    synthetic.push(Prepared::local(Event::GuildCreate, v));
                }
            } else {
                let now = cache.visible_channels(s.user_id);
                let before = st.visible.insert(g, now.clone()).unwrap_or_default();
                let created: HashSet<i64> = entries
                    .iter()
                    .filter(|e| e.event.event == Event::ChannelCreate)
                    .filter_map(|e| e.channel)
                    .collect();
                if guild_events {
                    for c in before.difference(&now) {
                        synthetic.push(Prepared::local(
                            Event::ChannelDelete,
                            json!({"id": Snowflake::from_db(*c), "guild_id": Snowflake::from_db(g), "type": 0}),
                        ));
                    }
                    for c in now.difference(&before).filter(|c| !created.contains(c)) {
                        if let Some(p) = cache.channel_payload(*c) {
                            synthetic.push(Prepared::local(Event::ChannelCreate, p));
                        }
                    }
                }
            }
            // A guild passive for the session now gets the passive view (`passive.rs`):
            // mentions and its own member events, one PASSIVE_UPDATE_V1 for the rest.
            let passive = s.passive
                && self.passive_sized(cache)
                && !st.passive.is_active(g, now, self.passive_idle());
            let mut unread: BTreeMap<i64, i64> = BTreeMap::new();
            let mut unread_at = cursor;
            // Whether the session sees a channel's entries, once per channel: the cache and
            // the user are the same for every entry (this runs under the registry lock).
            let mut sees: HashMap<i64, bool> = HashMap::new();
            for e in entries {
                if !wants(&s, &e) {
                    continue;
                }
                if let Some(c) = e.channel {
                    let visible = match e.fallback.as_deref() {
                        // A CHANNEL_DELETE carries the deleted channel's overwrites.
                        Some(f) => cache.can_view(s.user_id, c, Some(f)),
                        // A channel deleted since: its other events are moot.
                        None => *sees.entry(c).or_insert_with(|| {
                            (cache.channels.iter().any(|ch| ch.id == c)
                                || cache.threads.contains_key(&c))
                                && cache.can_view(s.user_id, c, None)
                        }),
                    };
                    if !visible {
                        continue;
                    }
                }
                if passive {
                    match verdict(&e.event, s.user_id, cache) {
                        Verdict::Deliver => {}
                        Verdict::Skip => continue,
                        Verdict::Unread { channel, id } => {
                            let last = unread.entry(channel).or_insert(id);
                            *last = (*last).max(id);
                            unread_at = e.pos;
                            continue;
                        }
                    }
                }
                let strip = strip_content(e.has_content, &s, &e.event);
                replay.push((e.pos, e.event, strip));
            }
            if passive && let Some(u) = st.passive.take_with(g, unread, now) {
                replay.push((unread_at, u, false));
            }
        }
        match since(&reg.log, LogKey::User(s.user_id), None) {
            Some(entries) => replay.extend(entries.into_iter().filter(|e| wants(&s, e)).map(|e| {
                // As live: AutoMod executions carry content (MESSAGE_CONTENT).
                let strip = strip_content(e.has_content, &s, &e.event);
                (e.pos, e.event, strip)
            })),
            None => gap = true,
        }
        replay.sort_by_key(|(pos, _, _)| *pos);
        let missed = (st.seq - seq) as usize + synthetic.len() + replay.len();
        if gap || missed > cfg.replay_events {
            drop(st);
            reg.remove(&s.id);
            self.session_ended(s.user_id, &s.id);
            return None;
        }
        st.sent = seq;
        st.connected = true;
        st.disconnected_at = None;
        st.kill = None;
        st.generation += 1;
        st.joined.clear();
        let cap = cfg.replay_events.max(cfg.session_queue);
        for p in synthetic {
            st.append(p, false, cap);
        }
        for (_, p, strip) in replay {
            st.append(p, strip, cap);
        }
        let generation = st.generation;
        let attach: Vec<i64> = st.guilds.iter().copied().collect();
        drop(st);
        for g in attach {
            reg.forget_detached(g);
            reg.add_to_guild(g, &s);
        }
        Some((s, generation))
    }

    /// Counts of what the gateway holds for its sessions and in the replay log.
    pub fn session_stats(&self) -> SessionStats {
        let reg = self.registry.lock();
        let mut out = SessionStats {
            audience: reg.by_guild.values().map(|g| g.sessions.len()).sum(),
            log: reg.log.stats(),
            ..Default::default()
        };
        for s in reg.sessions.values() {
            let st = s.state.lock();
            out.buffered += st.buffer.len();
            if st.connected {
                out.connected += 1;
            } else {
                out.detached += 1;
                out.buffered_detached += st.buffer.len();
            }
        }
        out
    }
}

/// Whether a session's intents let a logged dispatch through (a THREAD_MEMBERS_UPDATE that
/// adds or removes its user always does).
fn wants(s: &Session, e: &Entry) -> bool {
    e.intent == 0
        || s.intents & e.intent != 0
        || e.event.event == Event::ThreadMembersUpdate
            && serde_json::from_str::<serde_json::Value>(&e.event.data)
                .is_ok_and(|d| super::replay::thread_member_concerned(&d, s.user_id))
}
