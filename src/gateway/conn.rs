//! One WebSocket connection: HELLO, IDENTIFY/RESUME, heartbeats, client commands, and
//! writing the session's buffered dispatches.

use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tungstenite::Message;
use tungstenite::protocol::CloseFrame;

use super::admission::Refused;
use super::compress::Transport;
use super::upgrade::{Socket, push_binary, push_text};
use super::{Gateway, GatewayQuery, Session, SessionState, close};
use crate::error::Error;
use crate::events::{Event, intents};
use crate::service::Actor;
use crate::service::bots::approved_intents;
use crate::service::presence::{Presence, PresenceSource};
use crate::snowflake::Snowflake;

#[derive(Deserialize)]
struct Frame {
    op: i64,
    #[serde(default)]
    d: Value,
}

#[derive(Deserialize)]
struct Identify {
    token: String,
    #[serde(default)]
    intents: Option<u64>,
    #[serde(default)]
    large_threshold: Option<u64>,
    #[serde(default)]
    presence: Option<Value>,
    #[serde(default)]
    shard: Option<[u64; 2]>,
    /// Discord's client `capabilities` bitfield; Hearth reads bit 11
    /// ([`super::passive::PASSIVE_GUILD_UPDATE`]) from user sessions only.
    #[serde(default)]
    capabilities: Option<u64>,
}

#[derive(Deserialize)]
struct Resume {
    token: String,
    session_id: String,
    #[serde(default)]
    seq: Option<u64>,
}

#[derive(Deserialize)]
struct RequestMembers {
    guild_id: Value,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    presences: Option<bool>,
    #[serde(default)]
    user_ids: Option<Value>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Why a connection loop ended.
enum End {
    /// Send this close code.
    Close(u16, &'static str),
    /// The peer went away.
    Gone,
    /// The client closed with 1000 or 1001: the session ends.
    Finished,
    /// The peer stopped reading while a write was pending; the socket is dropped.
    Stalled,
}

struct Conn {
    gw: Arc<Gateway>,
    socket: Socket,
    transport: Transport,
    session: Option<Arc<Session>>,
    /// Who the session is (op 4 acts as them).
    actor: Option<Actor>,
    generation: u64,
    resume_url: String,
}

impl Conn {
    /// Appends the WebSocket message(s) of one payload to `out`: text, or binary compressed
    /// with the connection's transport; fragmented past `upgrade::FRAGMENT_BYTES`.
    fn message(&mut self, text: String, out: &mut Vec<Message>) -> Result<(), End> {
        match self.transport.encode(text.as_bytes()) {
            Ok(None) => push_text(out, text),
            Ok(Some(bin)) => push_binary(out, bin),
            Err(_) => return Err(End::Close(close::UNKNOWN_ERROR, "compression failed")),
        }
        Ok(())
    }

    async fn send_text(&mut self, text: String) -> Result<(), End> {
        let mut msgs = Vec::with_capacity(1);
        self.message(text, &mut msgs)?;
        self.send_all(msgs).await
    }

    /// Queues `msgs` on the socket and flushes once: frames queued together leave in as few
    /// writes as the socket takes.
    async fn send_all(&mut self, msgs: Vec<Message>) -> Result<(), End> {
        let session = self.session.clone();
        let socket = &mut self.socket;
        let send = async move {
            for m in msgs {
                socket.feed(m).await?;
            }
            socket.flush().await
        };
        let Some(s) = session else {
            return send.await.map_err(|_| End::Gone);
        };
        // A write blocked by a client that does not read must not keep the session attached:
        // wake up when the dispatcher marks this session as too slow.
        tokio::pin!(send);
        loop {
            tokio::select! {
                r = &mut send => return r.map_err(|_| End::Gone),
                _ = s.notify.notified() => {
                    let kill = s.state.lock().kill;
                    if kill.is_some() {
                        return Err(End::Stalled);
                    }
                }
            }
        }
    }

    async fn send_op(&mut self, op: u8, d: Value) -> Result<(), End> {
        self.send_text(json!({"op": op, "d": d, "s": null, "t": null}).to_string())
            .await
    }

    /// Writes every buffered dispatch the client has not received yet, up to 64 frames per
    /// write and flush. Stops once the gateway shuts down: op 7 comes next, and the frames
    /// not written yet reach the client when it resumes (from the saved session here, or on
    /// another node), so a busy connection (each batch waiting for its crash record) does
    /// not hold op 7 back until the node ends.
    async fn flush(&mut self) -> Result<(), End> {
        let Some(s) = self.session.clone() else {
            return Ok(());
        };
        loop {
            if self
                .gw
                .shutting_down
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return Ok(());
            }
            let (frames, last, kill, stale, journal) = {
                let mut guard = s.state.lock();
                let st = &mut *guard;
                let stale = st.generation != self.generation;
                // The buffer is ordered by seq: skip what was sent without scanning it.
                let start = st.buffer.partition_point(|b| b.seq <= st.sent);
                let frames: Vec<String> = st
                    .buffer
                    .range(start..)
                    .take(64)
                    .map(|b| {
                        let d = if b.stripped {
                            b.event.stripped.as_deref().unwrap_or(&b.event.data)
                        } else {
                            &b.event.data
                        };
                        frame(b.event.event.as_str(), b.seq, d)
                    })
                    .collect();
                let last = st
                    .buffer
                    .get(start + frames.len().saturating_sub(1))
                    .map(|b| b.seq);
                // With crash records, the frames' origins are recorded before the socket gets
                // them (`journal.rs`).
                let journal = (!frames.is_empty() && !stale && st.kill.is_none())
                    .then(|| self.gw.journal_frames(&s, st, start, frames.len()))
                    .flatten();
                (frames, last, st.kill, stale, journal)
            };
            if stale {
                // Another connection resumed this session.
                return Err(End::Close(
                    close::UNKNOWN_ERROR,
                    "session resumed elsewhere",
                ));
            }
            if let Some(code) = kill {
                return Err(End::Close(
                    code,
                    match code {
                        close::AUTHENTICATION_FAILED => "Authentication failed.",
                        close::SESSION_TIMED_OUT => "Events were lost; identify again.",
                        _ => "Too slow; resume.",
                    },
                ));
            }
            let Some(last) = last.filter(|_| !frames.is_empty()) else {
                return Ok(());
            };
            if let Some(w) = journal {
                self.gw.journal_wait(&s, w).await;
            }
            let mut msgs = Vec::with_capacity(frames.len());
            for f in frames {
                self.message(f, &mut msgs)?;
            }
            self.send_all(msgs).await?;
            let mut st = s.state.lock();
            if st.generation == self.generation && last > st.sent {
                st.sent = last;
            }
        }
    }

    async fn authenticate(gw: &Gateway, token: &str) -> Option<Actor> {
        let h = &gw.hearth;
        let t = token.trim();
        if t.starts_with("Bot ") || t.starts_with("Bearer ") {
            return h.authenticate(t).await.ok();
        }
        // Without a prefix: a user's access token is a JWT (its `{"…` header encodes as
        // `eyJ`), a bot token starts with the bot's id in base64 (Discord's shape), never
        // `eyJ`. The likely kind is tried first, so a storm of RESUMEs costs one lookup each.
        let bot = format!("Bot {t}");
        let (first, second) = if t.starts_with("eyJ") {
            (t, bot.as_str())
        } else {
            (bot.as_str(), t)
        };
        match h.authenticate(first).await {
            Ok(a) => Some(a),
            Err(_) => h.authenticate(second).await.ok(),
        }
    }

    async fn identify(&mut self, d: Value) -> Result<(), End> {
        if self.session.is_some() {
            return Err(End::Close(
                close::ALREADY_AUTHENTICATED,
                "You sent more than one identify payload.",
            ));
        }
        let id: Identify = serde_json::from_value(d)
            .map_err(|_| End::Close(close::DECODE_ERROR, "Invalid identify payload."))?;
        let Some(actor) = Self::authenticate(&self.gw, &id.token).await else {
            return Err(End::Close(
                close::AUTHENTICATION_FAILED,
                "Authentication failed.",
            ));
        };
        let intents = match (id.intents, actor.is_bot()) {
            (Some(i), _) => i,
            (None, true) => {
                return Err(End::Close(close::INVALID_INTENTS, "Intents are required."));
            }
            (None, false) => intents::ALL,
        };
        if intents & !intents::ALL != 0 {
            return Err(End::Close(close::INVALID_INTENTS, "Invalid intent(s)."));
        }
        let mut app = None;
        if actor.is_bot() {
            let a = self
                .gw
                .hearth
                .application_of_bot(actor.user.id)
                .await
                .ok()
                .flatten();
            let approved = a.as_ref().map(|a| approved_intents(a.flags)).unwrap_or(0);
            if intents & intents::PRIVILEGED & !approved != 0 {
                return Err(End::Close(
                    close::DISALLOWED_INTENTS,
                    "Disallowed intent(s).",
                ));
            }
            app = a;
        }
        if let Some([shard, count]) = id.shard
            && (count == 0 || shard >= count || count > 1)
        {
            return Err(End::Close(close::INVALID_SHARD, "Invalid shard."));
        }
        // Admission (gateway::admission): the server-wide rate and a bot's max_concurrency
        // are waited for; a used-up session start limit is refused.
        self.gw
            .admission
            .identify(actor.user.id, actor.is_bot())
            .await
            .map_err(refused)?;
        let guilds = self
            .gw
            .hearth
            .db
            .guild_ids_of(actor.user.id)
            .await
            .map_err(|_| End::Close(close::UNKNOWN_ERROR, "storage"))?;
        let mut sid = [0u8; 16];
        rand::rng().fill_bytes(&mut sid);
        let session = Arc::new(Session {
            id: hex::encode(sid),
            user_id: actor.user.id,
            bot: actor.is_bot(),
            auth_session: actor.session_id,
            intents,
            large_threshold: id.large_threshold.unwrap_or(50).clamp(50, 250),
            passive: !actor.is_bot()
                && id.capabilities.unwrap_or(0) & super::passive::PASSIVE_GUILD_UPDATE != 0,
            state: parking_lot::Mutex::new(SessionState::new(guilds.iter().copied().collect())),
            notify: tokio::sync::Notify::new(),
        });
        self.generation = 1;
        self.actor = Some(actor.clone());
        self.gw.register(session.clone(), &guilds);
        self.session = Some(session.clone());
        // On a cluster, the bus reads this session's guilds and user from now on before READY's
        // state is read (no-op on the single node).
        self.gw.hearth.bus.settled().await;
        let mut ready = json!({
            "v": 10,
            "user": self.gw.hearth.user_wire(&actor.user, true),
            "guilds": guilds.iter().map(|g| json!({"id": Snowflake::from_db(*g), "unavailable": true})).collect::<Vec<_>>(),
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
        });
        if let Some(s) = id.shard {
            ready["shard"] = json!(s);
        }
        if let Some(a) = &app {
            ready["application"] = json!({"id": Snowflake::from_db(a.id), "flags": a.flags});
        }
        // READY (completed with read states, DMs and blocks) and the GUILD_CREATEs, from the
        // guild snapshots and a fixed number of storage calls (gateway::ready).
        if self
            .gw
            .start_session(&actor, &session, &guilds, ready)
            .await
            .is_err()
        {
            // Never started: nothing to resume.
            self.gw.unregister(&session.id);
            return Err(End::Close(close::UNKNOWN_ERROR, "storage"));
        }
        let p = Presence::from_client(id.presence.as_ref());
        self.gw
            .hearth
            .publish_presence_of(&actor.user, &guilds, p)
            .await;
        Ok(())
    }

    async fn resume(&mut self, d: Value) -> Result<(), End> {
        if self.session.is_some() {
            return Err(End::Close(
                close::ALREADY_AUTHENTICATED,
                "Already authenticated.",
            ));
        }
        let r: Resume = serde_json::from_value(d)
            .map_err(|_| End::Close(close::DECODE_ERROR, "Invalid resume payload."))?;
        let resumed = match Self::authenticate(&self.gw, &r.token).await {
            Some(a) => {
                self.actor = Some(a.clone());
                // A RESUME is not a session start, but it takes its turn in the server-wide
                // admission rate (a reconnect storm is mostly RESUMEs), a fraction of an
                // IDENTIFY's.
                self.gw.admission.admit_resume().await.map_err(refused)?;
                let seq = r.seq.unwrap_or(0);
                self.gw.resume(a.user.id, &r.session_id, seq).await
            }
            None => None,
        };
        let Some((s, generation)) = resumed else {
            // Not resumable: the client must identify anew.
            self.send_op(9, json!(false)).await?;
            return Ok(());
        };
        self.generation = generation;
        {
            // A session that moved here: a RESUME after a crash of this node may carry any
            // seq from what it holds now (`journal.rs`).
            let mut st = s.state.lock();
            let seq = st.seq;
            if let Some(j) = st.journal.as_mut() {
                j.restarted_at(seq);
            }
        }
        s.notify.notify_one();
        self.session = Some(s.clone());
        // On a cluster this node holds the user again (a session saved by a restart).
        self.gw.hearth.presence_resumed(s.user_id).await;
        self.flush().await?;
        self.gw.send_to(&s, Event::Resumed, json!({}));
        Ok(())
    }

    async fn request_members(&mut self, d: Value) -> Result<(), End> {
        let Some(s) = self.session.clone() else {
            return Err(End::Close(close::NOT_AUTHENTICATED, "Not authenticated."));
        };
        let req: RequestMembers = serde_json::from_value(d)
            .map_err(|_| End::Close(close::DECODE_ERROR, "Invalid request."))?;
        let guild_ids: Vec<i64> = match &req.guild_id {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_i64()))
                .collect(),
            v => v
                .as_str()
                .and_then(|s| s.parse().ok())
                .or(v.as_i64())
                .into_iter()
                .collect(),
        };
        let user_ids: Option<Vec<i64>> = req.user_ids.as_ref().map(|v| match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_i64()))
                .collect(),
            v => v
                .as_str()
                .and_then(|s| s.parse().ok())
                .or(v.as_i64())
                .into_iter()
                .collect(),
        });
        if user_ids.is_none()
            && req.query.as_deref().unwrap_or("").is_empty()
            && s.intents & intents::GUILD_MEMBERS == 0
        {
            return Err(End::Close(
                close::DISALLOWED_INTENTS,
                "GUILD_MEMBERS intent required to request all members.",
            ));
        }
        let h = self.gw.hearth.clone();
        for g in guild_ids {
            if !s.state.lock().guilds.contains(&g) {
                continue;
            }
            let limit = req.limit.unwrap_or(0);
            let limit = if limit <= 0 {
                100_000
            } else {
                limit.min(100_000)
            };
            let (rows, not_found) = match &user_ids {
                Some(ids) => {
                    let mut rows = vec![];
                    let mut nf = vec![];
                    for u in ids.iter().take(100) {
                        match h.db.member(g, *u).await {
                            Ok(Some(m)) => rows.push(m),
                            _ => nf.push(Snowflake::from_db(*u)),
                        }
                    }
                    (rows, nf)
                }
                None => {
                    let q = req.query.clone().unwrap_or_default();
                    let rows = if q.is_empty() {
                        h.db.members_page(g, 0, limit).await
                    } else {
                        h.db.search_members(g, &q, limit).await
                    };
                    (rows.unwrap_or_default(), vec![])
                }
            };
            let chunks: Vec<_> = rows.chunks(1000).map(|c| c.to_vec()).collect();
            let count = chunks.len().max(1);
            for i in 0..count {
                let chunk = chunks.get(i).cloned().unwrap_or_default();
                let members = h.members_wire(g, &chunk, false).await.unwrap_or_default();
                let mut d = json!({"guild_id": Snowflake::from_db(g), "members": members, "chunk_index": i, "chunk_count": count, "not_found": if i == 0 { json!(not_found) } else { json!([]) }});
                if req.presences == Some(true) {
                    let users: Vec<i64> = chunk.iter().map(|m| m.user_id).collect();
                    self.gw.hearth.load_presences(&users).await;
                    d["presences"] = json!(
                        chunk
                            .iter()
                            .filter_map(|m| self.gw.hearth.presence_of(m.user_id, g))
                            .collect::<Vec<_>>()
                    );
                }
                if let Some(n) = &req.nonce {
                    d["nonce"] = json!(n);
                }
                self.gw.send_to(&s, Event::GuildMembersChunk, d);
            }
        }
        Ok(())
    }

    /// Op 4, Voice State Update (`service/voice.rs`): join, move or leave voice. As on
    /// Discord, a refused update is not answered; an entered channel is followed by
    /// VOICE_SERVER_UPDATE with `endpoint: null` (no media server is allocated) to this
    /// session only.
    async fn voice_state_update(&mut self, d: Value) -> Result<(), End> {
        let (Some(s), Some(actor)) = (self.session.clone(), self.actor.clone()) else {
            return Err(End::Close(close::NOT_AUTHENTICATED, "Not authenticated."));
        };
        let body: crate::wire::UpdateVoiceState = serde_json::from_value(d)
            .map_err(|_| End::Close(close::DECODE_ERROR, "Invalid voice state payload."))?;
        let guild_id = body.guild_id;
        match self.gw.hearth.update_voice_state(&actor, &s.id, body).await {
            Ok(Some(_)) => {
                let mut token = [0u8; 8];
                rand::rng().fill_bytes(&mut token);
                let d =
                    json!({"token": hex::encode(token), "guild_id": guild_id, "endpoint": null});
                self.gw.send_to(&s, Event::VoiceServerUpdate, d);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "voice state update refused"),
        }
        Ok(())
    }

    async fn handle(&mut self, text: &str, deadline: &mut Instant) -> Result<(), End> {
        if text.len() > self.gw.hearth.config.gateway.max_frame_bytes {
            return Err(End::Close(close::DECODE_ERROR, "Payload too large."));
        }
        let f: Frame = serde_json::from_str(text)
            .map_err(|_| End::Close(close::DECODE_ERROR, "Error while decoding payload."))?;
        match f.op {
            1 => {
                *deadline = Instant::now() + heartbeat_timeout(&self.gw);
                // `d` is the last seq the client received: those events are acknowledged.
                if let (Some(s), Some(seq)) = (&self.session, f.d.as_u64()) {
                    let mut st = s.state.lock();
                    if st.generation == self.generation {
                        st.ack(seq);
                        self.gw.journal_ack(s, &mut st);
                    }
                }
                self.send_op(11, Value::Null).await
            }
            2 => self.identify(f.d).await,
            6 => self.resume(f.d).await,
            3 | 4 | 8 | 14 | 37 if self.session.is_none() => {
                Err(End::Close(close::NOT_AUTHENTICATED, "Not authenticated."))
            }
            3 => {
                let user = self.session.as_ref().map(|s| s.user_id).unwrap_or_default();
                self.gw
                    .hearth
                    .publish_presence(
                        user,
                        Presence::from_client(Some(&f.d)),
                        PresenceSource::Session,
                    )
                    .await;
                Ok(())
            }
            4 => self.voice_state_update(f.d).await,
            8 => self.request_members(f.d).await,
            // LAZY_REQUEST / GUILD_SUBSCRIPTIONS_BULK: the guilds the client opened become
            // active (passive guilds, `passive.rs`); the member-list parts are not served.
            14 | 37 => {
                let guilds = super::passive::subscribed_guilds(f.op, &f.d).ok_or(End::Close(
                    close::DECODE_ERROR,
                    "Invalid guild subscription payload.",
                ))?;
                if let Some(s) = &self.session {
                    self.gw.subscribe(s, &guilds);
                }
                Ok(())
            }
            _ => Err(End::Close(close::UNKNOWN_OPCODE, "Unknown opcode.")),
        }
    }
}

/// One dispatch frame, `{"t":..,"s":..,"op":0,"d":..}`, around the shared payload `d`
/// (one copy of `d`).
fn frame(event: &str, seq: u64, d: &str) -> String {
    let mut f = String::with_capacity(d.len() + event.len() + 40);
    f.push_str(r#"{"t":""#);
    f.push_str(event);
    f.push_str(r#"","s":"#);
    let _ = write!(f, "{seq}");
    f.push_str(r#","op":0,"d":"#);
    f.push_str(d);
    f.push('}');
    f
}

fn heartbeat_timeout(gw: &Gateway) -> Duration {
    Duration::from_millis(gw.hearth.config.gateway.heartbeat_interval_ms * 3 / 2)
}

/// Runs a connection until it closes.
pub(crate) async fn run(gw: Arc<Gateway>, socket: Socket, q: GatewayQuery, resume_url: String) {
    // Connection starts and ends drive heap trimming (`trim.rs`).
    gw.churn();
    let mut c = Conn {
        gw: gw.clone(),
        socket,
        transport: Transport::from_query(q.compress.as_deref()),
        session: None,
        actor: None,
        generation: 0,
        resume_url,
    };
    let end = drive(&mut c, &q).await;
    if let End::Close(code, reason) = end {
        // Bounded: a client that stopped reading must not hold the task forever.
        let close = c.socket.send(Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        })));
        let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
    }
    if let Some(s) = &c.session {
        let finished = matches!(end, End::Finished);
        gw.connection_ended(s, c.generation, finished).await;
    }
    // The socket's buffers are freed before the end is counted.
    drop(c);
    gw.churn();
}

async fn drive(c: &mut Conn, q: &GatewayQuery) -> End {
    if let Some(v) = &q.v
        && !matches!(v.as_str(), "6" | "7" | "8" | "9" | "10")
    {
        return End::Close(close::INVALID_API_VERSION, "Invalid API version.");
    }
    if q.encoding.as_deref().is_some_and(|e| e != "json") {
        return End::Close(close::DECODE_ERROR, "Only encoding=json is supported.");
    }
    let interval = c.gw.hearth.config.gateway.heartbeat_interval_ms;
    if let Err(e) = c.send_op(10, json!({"heartbeat_interval": interval})).await {
        return e;
    }
    let gw = c.gw.clone();
    let mut deadline = Instant::now() + heartbeat_timeout(&gw);
    // One timer for the connection, moved by heartbeats (not a new timer per wake-up).
    let timeout = tokio::time::sleep_until(deadline);
    tokio::pin!(timeout);
    // IDENTIFY (or RESUME) is due within `identify_timeout_ms` of HELLO, heartbeats or not.
    let identify_by = tokio::time::sleep(Duration::from_millis(
        gw.hearth.config.gateway.identify_timeout_ms,
    ));
    tokio::pin!(identify_by);
    let limiter = RateLimiter::direct_with_clock(
        Quota::per_minute(NonZeroU32::new(120).expect("nonzero")),
        gw.clock.clone(),
    );
    loop {
        if c.gw.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = c.send_op(7, Value::Null).await;
            return End::Close(1012, "Server restarting; resume.");
        }
        if let Err(e) = c.flush().await {
            return e;
        }
        let session = c.session.clone();
        let notified = async {
            match &session {
                Some(s) => s.notify.notified().await,
                None => std::future::pending().await,
            }
        };
        // `Gateway::shutdown` wakes every session through its own `notify`; only a
        // connection without a session waits on the shared one.
        let shutdown = async {
            match &session {
                Some(_) => std::future::pending().await,
                None => gw.shutdown_notify.notified().await,
            }
        };
        tokio::select! {
            msg = c.socket.next() => {
                let text = match msg {
                    None => return End::Gone,
                    Some(Err(e)) => return read_error(e),
                    Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
                    Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                        Ok(t) => t,
                        Err(_) => return End::Close(close::DECODE_ERROR, "Error while decoding payload."),
                    },
                    Some(Ok(Message::Close(f))) => {
                        let code = f.map(|f| u16::from(f.code));
                        return if matches!(code, Some(1000 | 1001)) { End::Finished } else { End::Gone };
                    }
                    Some(Ok(_)) => continue,
                };
                if limiter.check().is_err() {
                    return End::Close(close::RATE_LIMITED, "You are being rate limited.");
                }
                // Boxed: the idle connection's future stays small; the command's own future
                // (IDENTIFY's storage reads) lives only while it runs.
                if let Err(e) = Box::pin(c.handle(&text, &mut deadline)).await {
                    return e;
                }
                if timeout.deadline() != deadline {
                    timeout.as_mut().reset(deadline);
                }
            }
            _ = notified => {}
            _ = &mut timeout => return End::Close(close::SESSION_TIMED_OUT, "Session timed out."),
            _ = &mut identify_by, if c.session.is_none() => {
                return End::Close(close::NOT_AUTHENTICATED, "Identify timed out.");
            }
            _ = shutdown => {}
        }
    }
}

/// The close for a connection that admission refused: 4008 (Discord's "rate limited", after
/// which clients reconnect), with the reason.
fn refused(r: Refused) -> End {
    match r {
        Refused::Busy => End::Close(
            close::RATE_LIMITED,
            "The server is busy admitting sessions; reconnect later.",
        ),
        Refused::StartLimit { .. } => {
            End::Close(close::RATE_LIMITED, "Session start limit reached.")
        }
    }
}

/// A failed read: a frame or message over the size limit closes with 4002 (Discord's "decode
/// error": the payload is refused, not silently dropped); anything else means the peer is gone.
fn read_error(e: tungstenite::Error) -> End {
    match e {
        tungstenite::Error::Capacity(_) => End::Close(close::DECODE_ERROR, "Payload too large."),
        _ => End::Gone,
    }
}

impl From<Error> for End {
    fn from(_: Error) -> End {
        End::Close(close::UNKNOWN_ERROR, "Unknown error.")
    }
}
