//! Sessions that survive a graceful restart (issue 21; Discord "Gateway" § Resuming: a
//! client told to RECONNECT (op 7) resumes its session).
//!
//! - At a graceful shutdown, after the client and federation listeners drained and the event
//!   bus was flushed through the dispatcher, [`Gateway::save_for_restart`] writes one
//!   document to the database (`gateway_states`, migrations 0019 and 0035, one per node id):
//!   every resumable session (a connected one is saved as if its connection had just
//!   dropped: its cursor is the last
//!   routed position), its unacknowledged frames, and the shared replay log. Each dispatch
//!   payload is written once, whatever the number of sessions and logs that hold it.
//! - At start, [`Gateway::restore_after_restart`] takes the document (it is deleted in the same
//!   transaction, so it is used once) and rebuilds the detached sessions and the log with
//!   their ages, unless it is older than `gateway.replay_seconds`. The first RESUME after the
//!   restart then gets RESUMED and every dispatch it missed, as after a dropped connection.
//! - A crash (no graceful shutdown) saves nothing: clients get INVALID_SESSION and
//!   re-IDENTIFY, as before.
//! - Bounded: the document holds at most what the gateway held (the log is bounded by
//!   `gateway.replay_log_bytes`, each session's frames by `gateway.replay_events`).
//! - On a cluster (`cluster.redis_url`) nothing goes to the database: each session goes to
//!   Redis on its own, for the node its client resumes on (`handoff.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::replay::{Dumped, Entry, LogKey};
use super::session::Buffered;
use super::{Gateway, Prepared, Session, SessionState};
use crate::events::Event;
use crate::permissions::Overwrite;
use crate::snowflake::Snowflake;
use crate::wire::OverwriteType;

/// Version of the saved document; another version is ignored (clients re-IDENTIFY).
pub(super) const VERSION: u32 = 1;

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Saved {
    pub(super) version: u32,
    /// Wall clock of the save (ms since the Unix epoch).
    pub(super) saved_at_ms: i64,
    /// The registry's dispatch clock.
    pub(super) pos: u64,
    /// Every payload, once; sessions and log entries refer to it by index.
    pub(super) payloads: Vec<SavedPayload>,
    pub(super) sessions: Vec<SavedSession>,
    pub(super) logs: Vec<SavedLog>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedPayload {
    pub(super) event: Event,
    pub(super) data: String,
    pub(super) stripped: Option<String>,
    pub(super) author: Option<i64>,
    pub(super) mentions: Vec<i64>,
    pub(super) guild: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedSession {
    pub(super) id: String,
    pub(super) user_id: i64,
    pub(super) bot: bool,
    pub(super) auth_session: Option<i64>,
    pub(super) intents: u64,
    pub(super) large_threshold: u64,
    /// Passive guilds asked for (subscriptions are not saved: clients re-send them).
    #[serde(default)]
    pub(super) passive: bool,
    pub(super) seq: u64,
    pub(super) floor: u64,
    /// `(seq, payload index, stripped)`.
    pub(super) buffer: Vec<(u64, usize, bool)>,
    pub(super) guilds: Vec<i64>,
    pub(super) visible: Vec<(i64, Vec<i64>)>,
    pub(super) cursor: u64,
    /// How long it had been detached at the save (ms).
    pub(super) detached_ms: u64,
    pub(super) joined: Vec<(i64, u64)>,
    pub(super) left: Vec<i64>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedLog {
    /// `true`: a guild's log, `false`: a user's.
    pub(super) guild: bool,
    pub(super) id: i64,
    pub(super) floor: u64,
    pub(super) floor_age_ms: Option<u64>,
    pub(super) entries: Vec<SavedEntry>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedEntry {
    pub(super) pos: u64,
    pub(super) payload: usize,
    pub(super) intent: u64,
    pub(super) channel: Option<i64>,
    pub(super) fallback: Option<Vec<SavedOverwrite>>,
    pub(super) has_content: bool,
    pub(super) age_ms: u64,
}

#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedOverwrite {
    pub(super) id: Snowflake,
    pub(super) kind: OverwriteType,
    pub(super) allow: u64,
    pub(super) deny: u64,
}

impl From<&Overwrite> for SavedOverwrite {
    fn from(o: &Overwrite) -> Self {
        SavedOverwrite {
            id: o.id,
            kind: o.kind,
            allow: o.allow,
            deny: o.deny,
        }
    }
}

impl From<&SavedOverwrite> for Overwrite {
    fn from(o: &SavedOverwrite) -> Self {
        Overwrite {
            id: o.id,
            kind: o.kind,
            allow: o.allow,
            deny: o.deny,
        }
    }
}

impl SavedPayload {
    /// The payload as the dispatcher prepared it.
    pub(super) fn prepared(self) -> Arc<Prepared> {
        let passive = match serde_json::from_str::<serde_json::Value>(&self.data) {
            Ok(d) if self.guild => super::passive::classify(self.event, &d),
            _ => super::passive::Class::Keep,
        };
        Arc::new(Prepared {
            event: self.event,
            data: self.data,
            stripped: self.stripped,
            author: self.author,
            mentions: self.mentions,
            guild: self.guild,
            passive,
            origin: Default::default(),
        })
    }
}

impl SavedEntry {
    /// The log entry, its payload taken from `payloads` (`None`: an unknown index).
    pub(super) fn entry(self, payloads: &[Arc<Prepared>]) -> Option<Entry> {
        Some(Entry {
            pos: self.pos,
            event: payloads.get(self.payload)?.clone(),
            intent: self.intent,
            channel: self.channel,
            fallback: self
                .fallback
                .map(|f| f.iter().map(Overwrite::from).collect()),
            has_content: self.has_content,
        })
    }
}

impl SavedSession {
    /// The session as it was saved, detached for `down_ms` more than it was then, its
    /// buffered frames' payloads taken from `payloads`.
    pub(super) fn session(self, payloads: &[Arc<Prepared>], down_ms: u64, now: Instant) -> Session {
        let buffer: VecDeque<Buffered> = self
            .buffer
            .into_iter()
            .filter_map(|(seq, i, stripped)| {
                Some(Buffered {
                    seq,
                    event: payloads.get(i)?.clone(),
                    stripped,
                })
            })
            .collect();
        let mut state = SessionState::new(self.guilds.into_iter().collect());
        state.started = true;
        state.seq = self.seq;
        state.floor = self.floor;
        state.sent = self.seq;
        state.buffer = buffer;
        state.connected = false;
        state.disconnected_at = Some(ago(now, self.detached_ms + down_ms));
        state.visible = self
            .visible
            .into_iter()
            .map(|(g, c)| (g, c.into_iter().collect()))
            .collect();
        state.cursor = self.cursor;
        state.joined = self.joined.into_iter().collect();
        state.left = self.left.into_iter().collect();
        Session {
            id: self.id,
            user_id: self.user_id,
            bot: self.bot,
            auth_session: self.auth_session,
            intents: self.intents,
            large_threshold: self.large_threshold,
            passive: self.passive,
            state: parking_lot::Mutex::new(state),
            notify: tokio::sync::Notify::new(),
        }
    }
}

/// Payloads by `Arc` identity, each saved once.
#[derive(Default)]
pub(super) struct Payloads {
    index: HashMap<*const Prepared, usize>,
    list: Vec<SavedPayload>,
}

impl Payloads {
    fn of(&mut self, p: &Arc<Prepared>) -> usize {
        *self.index.entry(Arc::as_ptr(p)).or_insert_with(|| {
            self.list.push(SavedPayload {
                event: p.event,
                data: p.data.clone(),
                stripped: p.stripped.clone(),
                author: p.author,
                mentions: p.mentions.clone(),
                guild: p.guild,
            });
            self.list.len() - 1
        })
    }
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn ago(now: Instant, ms: u64) -> Instant {
    now.checked_sub(Duration::from_millis(ms)).unwrap_or(now)
}

impl Gateway {
    /// Writes the resumable sessions and the replay log to the database (module docs). Call
    /// once everything published has been routed (`flushed`: the dispatcher saw the bus
    /// barrier `barrier`). Errors are logged: clients then re-IDENTIFY. On a cluster the
    /// sessions are handed off through Redis instead ([`Gateway::hand_off_sessions`]).
    pub async fn save_for_restart(&self, barrier: u64) {
        // On a cluster the sessions go to Redis, for whichever node the clients resume on
        // (`handoff.rs`).
        if self.hand_off_sessions().await {
            return;
        }
        let mut seen = self.barrier_seen.subscribe();
        if tokio::time::timeout(Duration::from_secs(10), seen.wait_for(|b| *b >= barrier))
            .await
            .is_err()
        {
            tracing::warn!("gateway dispatcher did not drain the bus; sessions are not saved");
            return;
        }
        let doc = self.snapshot_for_restart();
        let sessions = doc.sessions.len();
        let body = match serde_json::to_string(&doc) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the gateway state");
                return;
            }
        };
        match self
            .hearth
            .db
            .save_gateway_state(&self.hearth.node.id, doc.saved_at_ms, &body)
            .await
        {
            Ok(()) => tracing::info!(
                sessions,
                bytes = body.len(),
                "gateway sessions saved for RESUME after the restart"
            ),
            Err(e) => tracing::error!(error = %e, "cannot save the gateway state"),
        }
    }

    pub(super) fn snapshot_for_restart(&self) -> Saved {
        let now = Instant::now();
        // No dispatch between its position and its deliveries (`dispatch.rs`).
        let _routing = self.routing.write();
        let reg = self.registry.lock();
        let mut payloads = Payloads::default();
        let mut sessions = vec![];
        let cfg = &self.hearth.config.gateway;
        let cap = cfg.replay_events.max(cfg.session_queue);
        for s in reg.sessions.values() {
            let mut st = s.state.lock();
            if st.kill == Some(super::close::AUTHENTICATION_FAILED) {
                continue;
            }
            // Passive guilds' updates still held back (coalescing) go into the buffer with
            // the session's next seqs, so that RESUME after the restart delivers them; not
            // into a full buffer, where they would push out events the client may still
            // resume from (the client reads what it missed in a passive guild over REST).
            if st.buffer.len() < cap {
                for u in st.passive.take_all(now) {
                    st.append(u, false, cap);
                }
            }
            let (cursor, detached_ms) = if st.connected {
                (reg.pos, 0)
            } else {
                (st.cursor, st.disconnected_at.map_or(0, |t| ms(t.elapsed())))
            };
            sessions.push(SavedSession {
                id: s.id.clone(),
                user_id: s.user_id,
                bot: s.bot,
                auth_session: s.auth_session,
                intents: s.intents,
                large_threshold: s.large_threshold,
                passive: s.passive,
                seq: st.seq,
                floor: st.floor,
                buffer: st
                    .buffer
                    .iter()
                    .map(|b| (b.seq, payloads.of(&b.event), b.stripped))
                    .collect(),
                guilds: st.guilds.iter().copied().collect(),
                visible: st
                    .visible
                    .iter()
                    .map(|(g, c)| (*g, c.iter().copied().collect()))
                    .collect(),
                cursor,
                detached_ms,
                joined: st.joined.iter().map(|(g, p)| (*g, *p)).collect(),
                left: st.left.iter().copied().collect(),
            });
        }
        let logs = reg
            .log
            .dump(now)
            .into_iter()
            .map(|d| {
                let (guild, id) = match d.key {
                    LogKey::Guild(g) => (true, g),
                    LogKey::User(u) => (false, u),
                };
                SavedLog {
                    guild,
                    id,
                    floor: d.floor,
                    floor_age_ms: d.floor_age.map(ms),
                    entries: d
                        .entries
                        .into_iter()
                        .map(|(e, age)| SavedEntry {
                            pos: e.pos,
                            payload: payloads.of(&e.event),
                            intent: e.intent,
                            channel: e.channel,
                            fallback: e
                                .fallback
                                .map(|f| f.iter().map(SavedOverwrite::from).collect()),
                            has_content: e.has_content,
                            age_ms: ms(age),
                        })
                        .collect(),
                }
            })
            .collect();
        Saved {
            version: VERSION,
            saved_at_ms: crate::storage::now_ms(),
            pos: reg.pos,
            payloads: payloads.list,
            sessions,
            logs,
        }
    }

    /// Takes the document [`Gateway::save_for_restart`] wrote, if any, and rebuilds its
    /// sessions (detached, resumable) and replay log. Returns how many sessions came back.
    /// A document older than `gateway.replay_seconds`, of another version or unreadable is
    /// dropped (its clients re-IDENTIFY).
    pub async fn restore_after_restart(&self) -> usize {
        // Each node takes back its own sessions; a single node on SQLite takes whatever was
        // saved (its id may have changed with its host name).
        let h = &self.hearth;
        let any = !h.db.is_postgres();
        let (saved_at, body) = match h.db.take_gateway_state(&h.node.id, any).await {
            Ok(Some(x)) => x,
            Ok(None) => return 0,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the saved gateway state");
                return 0;
            }
        };
        let ttl_ms = self
            .hearth
            .config
            .gateway
            .replay_seconds
            .saturating_mul(1000);
        let down_ms = u64::try_from(crate::storage::now_ms() - saved_at).unwrap_or(0);
        if down_ms > ttl_ms {
            tracing::info!(
                down_ms,
                "saved gateway sessions expired during the downtime"
            );
            return 0;
        }
        let doc: Saved = match serde_json::from_str(&body) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "saved gateway state unreadable; clients re-identify");
                return 0;
            }
        };
        if doc.version != VERSION {
            return 0;
        }
        let now = Instant::now();
        let payloads: Vec<Arc<Prepared>> = doc
            .payloads
            .into_iter()
            .map(SavedPayload::prepared)
            .collect();
        let mut reg = self.registry.lock();
        reg.pos = reg.pos.max(doc.pos);
        let logs = doc
            .logs
            .into_iter()
            .map(|l| Dumped {
                key: if l.guild {
                    LogKey::Guild(l.id)
                } else {
                    LogKey::User(l.id)
                },
                floor: l.floor,
                floor_age: l.floor_age_ms.map(|a| Duration::from_millis(a + down_ms)),
                entries: l
                    .entries
                    .into_iter()
                    .filter_map(|e| {
                        let age = Duration::from_millis(e.age_ms + down_ms);
                        Some((e.entry(&payloads)?, age))
                    })
                    .collect(),
            })
            .collect();
        reg.log.restore(logs, now);
        let mut restored = 0;
        for s in doc.sessions {
            if reg.sessions.contains_key(&s.id) {
                continue;
            }
            let session = Arc::new(s.session(&payloads, down_ms, now));
            reg.add_user_session(&session);
            for g in session.state.lock().guilds.iter() {
                reg.add_detached(*g);
            }
            reg.sessions.insert(session.id.clone(), session);
            restored += 1;
        }
        tracing::info!(restored, down_ms, "gateway sessions restored for RESUME");
        restored
    }
}
