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

use std::collections::{HashMap, HashSet, VecDeque};
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
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    /// Wall clock of the save (ms since the Unix epoch).
    saved_at_ms: i64,
    /// The registry's dispatch clock.
    pos: u64,
    /// Every payload, once; sessions and log entries refer to it by index.
    payloads: Vec<SavedPayload>,
    sessions: Vec<SavedSession>,
    logs: Vec<SavedLog>,
}

#[derive(Serialize, Deserialize)]
struct SavedPayload {
    event: Event,
    data: String,
    stripped: Option<String>,
    author: Option<i64>,
    mentions: Vec<i64>,
    guild: bool,
}

#[derive(Serialize, Deserialize)]
struct SavedSession {
    id: String,
    user_id: i64,
    bot: bool,
    auth_session: Option<i64>,
    intents: u64,
    large_threshold: u64,
    /// Passive guilds asked for (subscriptions are not saved: clients re-send them).
    #[serde(default)]
    passive: bool,
    seq: u64,
    floor: u64,
    /// `(seq, payload index, stripped)`.
    buffer: Vec<(u64, usize, bool)>,
    guilds: Vec<i64>,
    visible: Vec<(i64, Vec<i64>)>,
    cursor: u64,
    /// How long it had been detached at the save (ms).
    detached_ms: u64,
    joined: Vec<(i64, u64)>,
    left: Vec<i64>,
}

#[derive(Serialize, Deserialize)]
struct SavedLog {
    /// `true`: a guild's log, `false`: a user's.
    guild: bool,
    id: i64,
    floor: u64,
    floor_age_ms: Option<u64>,
    entries: Vec<SavedEntry>,
}

#[derive(Serialize, Deserialize)]
struct SavedEntry {
    pos: u64,
    payload: usize,
    intent: u64,
    channel: Option<i64>,
    fallback: Option<Vec<SavedOverwrite>>,
    has_content: bool,
    age_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct SavedOverwrite {
    id: Snowflake,
    kind: OverwriteType,
    allow: u64,
    deny: u64,
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

/// Payloads by `Arc` identity, each saved once.
#[derive(Default)]
struct Payloads {
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

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn ago(now: Instant, ms: u64) -> Instant {
    now.checked_sub(Duration::from_millis(ms)).unwrap_or(now)
}

impl Gateway {
    /// Writes the resumable sessions and the replay log to the database (module docs). Call
    /// once everything published has been routed (`flushed`: the dispatcher saw the bus
    /// barrier `barrier`). Errors are logged: clients then re-IDENTIFY.
    pub async fn save_for_restart(&self, barrier: u64) {
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

    fn snapshot_for_restart(&self) -> Saved {
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
            .map(|p| {
                let passive = match serde_json::from_str::<serde_json::Value>(&p.data) {
                    Ok(d) if p.guild => super::passive::classify(p.event, &d),
                    _ => super::passive::Class::Keep,
                };
                Arc::new(Prepared {
                    event: p.event,
                    data: p.data,
                    stripped: p.stripped,
                    author: p.author,
                    mentions: p.mentions,
                    guild: p.guild,
                    passive,
                })
            })
            .collect();
        let payload = |i: usize| payloads.get(i).cloned();
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
                        let entry = Entry {
                            pos: e.pos,
                            event: payload(e.payload)?,
                            intent: e.intent,
                            channel: e.channel,
                            fallback: e.fallback.map(|f| f.iter().map(Overwrite::from).collect()),
                            has_content: e.has_content,
                        };
                        Some((entry, Duration::from_millis(e.age_ms + down_ms)))
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
            let buffer: VecDeque<Buffered> = s
                .buffer
                .into_iter()
                .filter_map(|(seq, i, stripped)| {
                    Some(Buffered {
                        seq,
                        event: payload(i)?,
                        stripped,
                    })
                })
                .collect();
            let guilds: HashSet<i64> = s.guilds.into_iter().collect();
            let mut state = SessionState::new(guilds.clone());
            state.started = true;
            state.seq = s.seq;
            state.floor = s.floor;
            state.sent = s.seq;
            state.buffer = buffer;
            state.connected = false;
            state.disconnected_at = Some(ago(now, s.detached_ms + down_ms));
            state.visible = s
                .visible
                .into_iter()
                .map(|(g, c)| (g, c.into_iter().collect()))
                .collect();
            state.cursor = s.cursor;
            state.joined = s.joined.into_iter().collect();
            state.left = s.left.into_iter().collect();
            let session = Arc::new(Session {
                id: s.id.clone(),
                user_id: s.user_id,
                bot: s.bot,
                auth_session: s.auth_session,
                intents: s.intents,
                large_threshold: s.large_threshold,
                passive: s.passive,
                state: parking_lot::Mutex::new(state),
                notify: tokio::sync::Notify::new(),
            });
            reg.add_user_session(s.user_id, &s.id);
            for g in guilds {
                reg.add_detached(g);
            }
            reg.sessions.insert(s.id, session);
            restored += 1;
        }
        tracing::info!(restored, down_ms, "gateway sessions restored for RESUME");
        restored
    }
}
