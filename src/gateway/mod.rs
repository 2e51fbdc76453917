//! The real-time gateway (Discord "Gateway" and "Gateway Events" documentation).
//!
//! - One dispatcher task consumes the [`crate::events`] bus and routes each dispatch to the
//!   sessions that may see it: guild membership, VIEW_CHANNEL on the channel (from a
//!   per-guild permission cache), intents, and MESSAGE_CONTENT for bots.
//! - A dispatch payload is serialized once ([`Prepared`]) and shared by `Arc`; a session only
//!   adds the small `{"op":0,"t":..,"s":..,"d":` envelope when writing its frame.
//! - Each session has a bounded buffer of `(seq, Arc<Prepared>)`: it is both the outbound
//!   queue and the RESUME replay buffer. A client that falls `session_queue` events behind
//!   is disconnected (it can resume); a buffer that overflows while disconnected makes the
//!   session unresumable (INVALID_SESSION `d:false`).
//! - A heartbeat's `d` (the last seq the client received) acknowledges everything up to it:
//!   those events are dropped from the buffer, since a RESUME must carry a seq at least that
//!   large (an older one gets INVALID_SESSION `d:false`). An idle session therefore keeps no
//!   copy of its READY and GUILD_CREATE after its first heartbeat.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::routing::get;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::events::{Audience, BusEvent, Control, Dispatch, Event, intents};
use crate::ratelimit::KeyedLimiter;
use crate::service::{Actor, Hearth};
use crate::snowflake::Snowflake;

pub mod compress;
mod conn;

use crate::service::presence::Presence;
use crate::service::snapshot::{self, GuildSnapshot};

pub use hearth_wire::close;

/// A dispatch serialized once for every receiver.
pub struct Prepared {
    pub event: Event,
    /// `d` as JSON text.
    pub data: String,
    /// `d` with message content removed (bots without MESSAGE_CONTENT), when it differs.
    pub stripped: Option<String>,
    /// For message events: author and mentioned users (content exemptions).
    pub author: Option<i64>,
    pub mentions: Vec<i64>,
    pub guild: bool,
}

/// One buffered dispatch of a session.
pub(crate) struct Buffered {
    pub seq: u64,
    pub event: Arc<Prepared>,
    pub stripped: bool,
}

/// Mutable state of a gateway session.
pub(crate) struct SessionState {
    pub seq: u64,
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
    /// Channels visible per guild (to emit visibility changes).
    pub visible: HashMap<i64, HashSet<i64>>,
    /// Generation of the connection currently attached (a resume bumps it).
    pub generation: u64,
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
        s.seq += 1;
        let seq = s.seq;
        s.buffer.push_back(Buffered {
            seq,
            event,
            stripped,
        });
        while s.buffer.len() > cap {
            if let Some(b) = s.buffer.pop_front() {
                s.floor = b.seq;
            }
        }
        let behind = (s.seq - s.sent) as usize;
        drop(s);
        self.notify.notify_one();
        behind <= queue
    }
}

impl SessionState {
    /// Drops buffered events up to `seq` (the `d` of a heartbeat: the last seq the client
    /// received), clamped to what was written to the socket. A RESUME must then carry at
    /// least this seq.
    pub(crate) fn ack(&mut self, seq: u64) {
        let upto = seq.min(self.sent);
        while self.buffer.front().is_some_and(|b| b.seq <= upto) {
            if let Some(b) = self.buffer.pop_front() {
                self.floor = b.seq;
            }
        }
        // A burst may have grown the queue; an idle session should not keep that memory.
        if self.buffer.capacity() > 64 && self.buffer.len() < self.buffer.capacity() / 4 {
            self.buffer.shrink_to(self.buffer.len().max(8) * 2);
        }
    }

    /// Whether a RESUME with `seq` can be served from the buffer.
    pub(crate) fn resumable_from(&self, seq: u64) -> bool {
        seq >= self.floor && seq <= self.seq
    }
}

/// The sessions subscribed to one guild.
#[derive(Default)]
pub(crate) struct GuildSessions {
    pub sessions: HashMap<String, Arc<Session>>,
    /// How many of them have the GUILD_PRESENCES intent (none: presence updates of the guild
    /// are dropped before any routing work).
    pub presences: usize,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub sessions: HashMap<String, Arc<Session>>,
    pub by_user: HashMap<i64, HashSet<String>>,
    pub by_guild: HashMap<i64, GuildSessions>,
}

impl Registry {
    fn add_to_guild(&mut self, guild: i64, s: &Arc<Session>) {
        let gs = self.by_guild.entry(guild).or_default();
        if gs.sessions.insert(s.id.clone(), s.clone()).is_none()
            && s.intents & intents::GUILD_PRESENCES != 0
        {
            gs.presences += 1;
        }
    }

    fn remove_from_guild(&mut self, guild: i64, id: &str) {
        if let Some(gs) = self.by_guild.get_mut(&guild) {
            if let Some(s) = gs.sessions.remove(id)
                && s.intents & intents::GUILD_PRESENCES != 0
            {
                gs.presences -= 1;
            }
            if gs.sessions.is_empty() {
                self.by_guild.remove(&guild);
            }
        }
    }
}

/// Gateway state shared by all connections.
pub struct Gateway {
    pub(crate) hearth: Arc<Hearth>,
    public_url: String,
    pub(crate) registry: Mutex<Registry>,
    caches: tokio::sync::Mutex<HashMap<i64, Arc<GuildSnapshot>>>,
    pub(crate) shutting_down: std::sync::atomic::AtomicBool,
    pub(crate) shutdown_notify: Notify,
    pub(crate) identify_limit: KeyedLimiter<i64>,
}

impl Gateway {
    /// Creates the gateway and starts its dispatcher on the current runtime.
    pub fn new(hearth: Arc<Hearth>, public_url: String) -> Arc<Gateway> {
        let gw = Arc::new(Gateway {
            hearth: hearth.clone(),
            public_url,
            registry: Mutex::new(Registry::default()),
            caches: tokio::sync::Mutex::new(HashMap::new()),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            shutdown_notify: Notify::new(),
            identify_limit: KeyedLimiter::new(
                crate::config::Bucket {
                    limit: 1000,
                    per_seconds: 86_400.0,
                },
                "user",
                false,
            ),
        });
        let rx = hearth.bus.subscribe();
        let weak = Arc::downgrade(&gw);
        tokio::spawn(dispatcher(weak.clone(), rx));
        tokio::spawn(janitor(weak));
        gw
    }

    /// The URL clients connect to: `gateway.public_url` when configured, otherwise
    /// `ws://{Host of the request}/gateway`, otherwise `ws://{listen address}/gateway`.
    pub fn public_url(&self, host: Option<&str>) -> String {
        if let Some(u) = &self.hearth.config.gateway.public_url {
            return u.clone();
        }
        match host.filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        }) {
            Some(h) => format!("ws://{h}/gateway"),
            None => self.public_url.clone(),
        }
    }

    /// `GET /gateway/bot` body (Discord "Get Gateway Bot").
    pub fn gateway_bot(&self, _actor: &Actor, host: Option<&str>) -> Value {
        json!({"url": self.public_url(host), "shards": 1, "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}})
    }

    /// Sends op 7 RECONNECT to every connection and closes them (graceful shutdown).
    pub fn shutdown(&self) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shutdown_notify.notify_waiters();
        let reg = self.registry.lock();
        for s in reg.sessions.values() {
            s.notify.notify_one();
        }
    }

    /// Members of `guild_id` with at least one connected session (registrar summaries).
    pub(crate) fn online_members(&self, guild_id: i64) -> i64 {
        let reg = self.registry.lock();
        let Some(gs) = reg.by_guild.get(&guild_id) else {
            return 0;
        };
        let users: HashSet<i64> = gs
            .sessions
            .values()
            .filter(|s| s.state.lock().connected)
            .map(|s| s.user_id)
            .collect();
        users.len() as i64
    }

    /// Number of sessions currently connected.
    pub fn connected_sessions(&self) -> usize {
        self.registry
            .lock()
            .sessions
            .values()
            .filter(|s| s.state.lock().connected)
            .count()
    }

    pub(crate) async fn cache(&self, guild_id: i64) -> Option<Arc<GuildSnapshot>> {
        let mut caches = self.caches.lock().await;
        if let Some(c) = caches.get(&guild_id) {
            return Some(c.clone());
        }
        match GuildSnapshot::load(&self.hearth, guild_id).await {
            Ok(Some(c)) => {
                let c = Arc::new(c);
                caches.insert(guild_id, c.clone());
                Some(c)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, guild_id, "gateway cache load failed");
                None
            }
        }
    }

    async fn invalidate(&self, guild_id: i64) -> Option<Arc<GuildSnapshot>> {
        self.caches.lock().await.remove(&guild_id)
    }

    /// Registers a new session and its guilds.
    pub(crate) fn register(&self, s: Arc<Session>, guilds: &[i64]) {
        let mut reg = self.registry.lock();
        reg.by_user
            .entry(s.user_id)
            .or_default()
            .insert(s.id.clone());
        for g in guilds {
            reg.add_to_guild(*g, &s);
        }
        reg.sessions.insert(s.id.clone(), s);
    }

    /// Removes a session entirely (unresumable).
    pub(crate) fn unregister(&self, id: &str) {
        let mut reg = self.registry.lock();
        if let Some(s) = reg.sessions.remove(id) {
            if let Some(set) = reg.by_user.get_mut(&s.user_id) {
                set.remove(id);
                if set.is_empty() {
                    reg.by_user.remove(&s.user_id);
                }
            }
            let guilds: Vec<i64> = s.state.lock().guilds.iter().copied().collect();
            for g in guilds {
                reg.remove_from_guild(g, id);
            }
        }
    }

    fn sessions_of_user(&self, user: i64) -> Vec<Arc<Session>> {
        let reg = self.registry.lock();
        reg.by_user
            .get(&user)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| reg.sessions.get(i).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn sessions_of_guild(&self, guild: i64) -> Vec<Arc<Session>> {
        let reg = self.registry.lock();
        reg.by_guild
            .get(&guild)
            .map(|gs| gs.sessions.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The sessions of `guild` a dispatch gated by `intent` may reach; empty when none has
    /// the intent (checked per guild for GUILD_PRESENCES, per session by the caller).
    fn audience_of_guild(&self, guild: i64, intent: u64) -> Vec<Arc<Session>> {
        let reg = self.registry.lock();
        match reg.by_guild.get(&guild) {
            Some(gs) if intent != intents::GUILD_PRESENCES || gs.presences > 0 => {
                gs.sessions.values().cloned().collect()
            }
            _ => vec![],
        }
    }

    /// Sends a gateway-generated dispatch to one session.
    pub(crate) fn send_to(&self, s: &Session, event: Event, data: Value) {
        let p = Arc::new(Prepared {
            event,
            data: data.to_string(),
            stripped: None,
            author: None,
            mentions: vec![],
            guild: true,
        });
        self.deliver(s, p, false);
    }

    fn deliver(&self, s: &Session, p: Arc<Prepared>, stripped: bool) {
        let cfg = &self.hearth.config.gateway;
        if !s.push(
            p,
            stripped,
            cfg.replay_events.max(cfg.session_queue),
            cfg.session_queue,
        ) {
            // Too slow: disconnect; the client may resume from its buffer.
            let mut st = s.state.lock();
            if st.connected && st.kill.is_none() {
                st.kill = Some(close::UNKNOWN_ERROR);
                drop(st);
                s.notify.notify_one();
                tracing::info!(session = %s.id, "slow consumer disconnected");
            }
        }
    }

    /// Builds the GUILD_CREATE for a user's session.
    pub(crate) async fn guild_create_for(&self, guild_id: i64, s: &Session) -> Option<Value> {
        let cache = self.cache(guild_id).await?;
        let pres = |u: i64| {
            if s.intents & intents::GUILD_PRESENCES != 0 || !s.bot {
                self.hearth.presence_of(u, guild_id)
            } else {
                None
            }
        };
        match snapshot::guild_create(&self.hearth, &cache, s.user_id, s.large_threshold, &pres)
            .await
        {
            Ok(v) => {
                s.state
                    .lock()
                    .visible
                    .insert(guild_id, cache.visible_channels(s.user_id));
                v
            }
            Err(e) => {
                tracing::error!(error = %e, "GUILD_CREATE build failed");
                None
            }
        }
    }

    async fn route(&self, d: &Dispatch) {
        // Caches follow the structure they describe.
        if let Audience::Guild { guild_id, .. } = &d.audience
            && matches!(
                d.event,
                Event::ChannelCreate
                    | Event::ChannelUpdate
                    | Event::GuildRoleCreate
                    | Event::GuildRoleDelete
                    | Event::GuildRoleUpdate
                    | Event::GuildUpdate
            )
            && d.event != Event::ChannelDelete
        {
            self.invalidate(guild_id.db()).await;
        }
        let guild_sessions = match &d.audience {
            Audience::Guild { guild_id, .. } => {
                let sessions = self.audience_of_guild(guild_id.db(), d.intent);
                if sessions.is_empty() {
                    if d.event == Event::ChannelDelete {
                        self.invalidate(guild_id.db()).await;
                    }
                    return;
                }
                sessions
            }
            Audience::Users(_) => vec![],
        };
        let prepared = Arc::new(prepare(d));
        match &d.audience {
            Audience::Users(users) => {
                for u in users {
                    for s in self.sessions_of_user(u.db()) {
                        if d.intent != 0 && s.intents & d.intent == 0 {
                            continue;
                        }
                        self.deliver(&s, prepared.clone(), false);
                    }
                }
            }
            Audience::Guild { guild_id, channel } => {
                let Some(cache) = self.cache(guild_id.db()).await else {
                    return;
                };
                let fallback = if d.event == Event::ChannelDelete {
                    snapshot::overwrites_of_payload(&d.data)
                } else {
                    None
                };
                let ows = channel.map(|c| cache.overwrites_of(c.db(), fallback.as_deref()));
                // Members with @everyone's permissions only share one answer; the others are
                // computed once per user.
                let mut plain_view: Option<bool> = None;
                let mut view_memo: HashMap<i64, bool> = HashMap::new();
                for s in guild_sessions {
                    if d.intent != 0 && s.intents & d.intent == 0 {
                        continue;
                    }
                    if let (Some(c), Some(ows)) = (channel, ows) {
                        let view = || cache.can_view(s.user_id, c.db(), fallback.as_deref());
                        let ok = if cache.is_plain(s.user_id, ows) {
                            *plain_view.get_or_insert_with(view)
                        } else {
                            *view_memo.entry(s.user_id).or_insert_with(view)
                        };
                        if !ok {
                            continue;
                        }
                    }
                    let strip = d.has_content
                        && s.bot
                        && s.intents & intents::MESSAGE_CONTENT == 0
                        && prepared.author != Some(s.user_id)
                        && !prepared.mentions.contains(&s.user_id);
                    if d.lossy {
                        let st = s.state.lock();
                        let behind = (st.seq - st.sent) as usize;
                        drop(st);
                        if behind > self.hearth.config.gateway.session_queue / 2 {
                            continue;
                        }
                    }
                    self.deliver(&s, prepared.clone(), strip && prepared.stripped.is_some());
                }
                if d.event == Event::ChannelDelete {
                    self.invalidate(guild_id.db()).await;
                }
            }
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
                let cached = self.caches.lock().await.get(&guild_id.db()).cloned();
                if let Some(c) = cached {
                    match self
                        .hearth
                        .db
                        .member_role_ids(guild_id.db(), user_id.db())
                        .await
                    {
                        Ok(roles) => c.set_member_roles(user_id.db(), roles),
                        Err(_) => {
                            self.invalidate(guild_id.db()).await;
                        }
                    }
                }
                for s in self.sessions_of_user(user_id.db()) {
                    self.registry.lock().add_to_guild(guild_id.db(), &s);
                    s.state.lock().guilds.insert(guild_id.db());
                    if s.intents & intents::GUILDS != 0
                        && let Some(v) = self.guild_create_for(guild_id.db(), &s).await
                    {
                        self.send_to(&s, Event::GuildCreate, v);
                    }
                }
            }
            Control::MemberLeft { guild_id, user_id } => {
                let cached = self.caches.lock().await.get(&guild_id.db()).cloned();
                if let Some(c) = cached {
                    c.remove_member(user_id.db());
                }
                for s in self.sessions_of_user(user_id.db()) {
                    self.leave(&s, guild_id.db());
                }
            }
            Control::GuildDeleted { guild_id } => {
                self.invalidate(guild_id.db()).await;
                for s in self.sessions_of_guild(guild_id.db()) {
                    self.leave(&s, guild_id.db());
                }
            }
            Control::Barrier { .. } => {}
            Control::PermissionsChanged { guild_id } => {
                self.invalidate(guild_id.db()).await;
                let Some(cache) = self.cache(guild_id.db()).await else {
                    return;
                };
                for s in self.sessions_of_guild(guild_id.db()) {
                    let now = cache.visible_channels(s.user_id);
                    let before = s
                        .state
                        .lock()
                        .visible
                        .insert(guild_id.db(), now.clone())
                        .unwrap_or_default();
                    if s.intents & intents::GUILDS == 0 {
                        continue;
                    }
                    for gone in before.difference(&now) {
                        self.send_to(&s, Event::ChannelDelete, json!({"id": Snowflake::from_db(*gone), "guild_id": guild_id, "type": 0}));
                    }
                    for new in now.difference(&before) {
                        if let Some(p) = cache.channel_payload(*new) {
                            self.send_to(&s, Event::ChannelCreate, p);
                        }
                    }
                }
            }
        }
    }

    fn leave(&self, s: &Session, guild: i64) {
        let was = s.state.lock().guilds.remove(&guild);
        self.registry.lock().remove_from_guild(guild, &s.id);
        if was && s.intents & intents::GUILDS != 0 {
            self.send_to(
                s,
                Event::GuildDelete,
                json!({"id": Snowflake::from_db(guild)}),
            );
        }
    }

    /// Called when a connection ends; goes offline when the user has no connected session.
    pub(crate) async fn connection_closed(&self, user: i64) {
        let any = self
            .sessions_of_user(user)
            .iter()
            .any(|s| s.state.lock().connected);
        if !any {
            self.hearth
                .publish_presence(
                    user,
                    Presence {
                        status: "offline".into(),
                        activities: json!([]),
                    },
                )
                .await;
        }
    }
}

/// Serializes a dispatch once (and its content-stripped variant for message events).
/// Public (hidden) for the micro-benchmarks of `hearth-bench`.
#[doc(hidden)]
pub fn prepare(d: &Dispatch) -> Prepared {
    let data = d.data.to_string();
    let (mut author, mut mentions, mut stripped) = (None, vec![], None);
    if d.has_content {
        author = d
            .data
            .get("author")
            .and_then(|a| a.get("id"))
            .and_then(|i| i.as_str())
            .and_then(|i| i.parse().ok());
        mentions = d
            .data
            .get("mentions")
            .and_then(|m| m.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.get("id")?.as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if matches!(d.audience, Audience::Guild { .. }) {
            let mut s = d.data.clone();
            for (k, v) in [
                ("content", json!("")),
                ("embeds", json!([])),
                ("attachments", json!([])),
                ("components", json!([])),
            ] {
                if s.get(k).is_some() {
                    s[k] = v;
                }
            }
            if let Some(r) = s.get_mut("referenced_message").filter(|r| r.is_object()) {
                r["content"] = json!("");
                r["embeds"] = json!([]);
            }
            stripped = Some(s.to_string());
        }
    }
    Prepared {
        event: d.event,
        data,
        stripped,
        author,
        mentions,
        guild: matches!(d.audience, Audience::Guild { .. }),
    }
}

async fn dispatcher(
    gw: std::sync::Weak<Gateway>,
    mut rx: tokio::sync::broadcast::Receiver<BusEvent>,
) {
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(missed = n, "gateway dispatcher lagged behind the event bus");
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let Some(gw) = gw.upgrade() else { return };
        match ev {
            BusEvent::Dispatch(d) => gw.route(&d).await,
            BusEvent::Control(c) => gw.control(c).await,
        }
    }
}

/// Drops sessions disconnected for longer than `replay_seconds`.
async fn janitor(gw: std::sync::Weak<Gateway>) {
    let mut t = tokio::time::interval(Duration::from_secs(5));
    loop {
        t.tick().await;
        let Some(gw) = gw.upgrade() else { return };
        let ttl = Duration::from_secs(gw.hearth.config.gateway.replay_seconds);
        let expired: Vec<String> = {
            let reg = gw.registry.lock();
            reg.sessions
                .values()
                .filter(|s| {
                    let st = s.state.lock();
                    !st.connected && st.disconnected_at.is_some_and(|t| t.elapsed() > ttl)
                })
                .map(|s| s.id.clone())
                .collect()
        };
        for id in expired {
            gw.unregister(&id);
        }
        gw.identify_limit.shrink();
    }
}

/// Query of the gateway URL: `v`, `encoding`, `compress`.
#[derive(serde::Deserialize, Default)]
pub struct GatewayQuery {
    pub v: Option<String>,
    pub encoding: Option<String>,
    pub compress: Option<String>,
}

/// State of the gateway's routes.
#[derive(Clone)]
pub struct GatewayState {
    pub hearth: Arc<Hearth>,
    pub gateway: Arc<Gateway>,
}

impl axum::extract::FromRef<GatewayState> for Arc<Hearth> {
    fn from_ref(s: &GatewayState) -> Arc<Hearth> {
        s.hearth.clone()
    }
}

/// The WebSocket endpoint, mounted at the top level: `GET /gateway`.
pub fn socket_routes() -> Router<GatewayState> {
    Router::new().route("/gateway", get(ws_handler))
}

/// Gateway discovery, mounted under the API prefixes (Discord "Get Gateway", "Get Gateway
/// Bot"): `GET /gateway` -> `{url}`, `GET /gateway/bot` -> `{url, shards,
/// session_start_limit}`.
pub fn api_routes() -> Router<GatewayState> {
    Router::new()
        .route("/gateway", get(gateway_url))
        .route("/gateway/bot", get(gateway_bot_route))
}

fn host(h: &axum::http::HeaderMap) -> Option<&str> {
    h.get("host").and_then(|v| v.to_str().ok())
}

/// `GET /gateway` -> `{url}`.
async fn gateway_url(
    State(s): State<GatewayState>,
    headers: axum::http::HeaderMap,
) -> axum::Json<Value> {
    axum::Json(json!({"url": s.gateway.public_url(host(&headers))}))
}

/// `GET /gateway/bot` -> `{url, shards, session_start_limit}` (bot token).
async fn gateway_bot_route(
    State(s): State<GatewayState>,
    headers: axum::http::HeaderMap,
    crate::http::Auth(a): crate::http::Auth,
) -> axum::Json<Value> {
    axum::Json(s.gateway.gateway_bot(&a, host(&headers)))
}

impl crate::service::ports::OnlineMembers for Gateway {
    fn online_members(&self, guild_id: i64) -> i64 {
        Gateway::online_members(self, guild_id)
    }
}

/// `GET /gateway`: the WebSocket upgrade. Buffers are kept small (1 KiB read) so an idle
/// uncompressed session costs a few KiB; frames queued in one flush are written together up
/// to 8 KiB (tungstenite's write buffer keeps the capacity of the largest write).
async fn ws_handler(
    State(s): State<GatewayState>,
    Query(q): Query<GatewayQuery>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let gw = s.gateway.clone();
    let resume_url = gw.public_url(headers.get("host").and_then(|h| h.to_str().ok()));
    let max = s.hearth.config.gateway.max_frame_bytes;
    ws.read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
        // Over `max_frame_bytes` the connection closes with 4002 (`conn::read_error`; longer
        // text frames that fit are refused the same way in `Conn::handle`).
        .max_message_size(max.max(64))
        .max_frame_size(max.max(64))
        .on_upgrade(move |socket| conn::run(gw, socket, q, resume_url))
}
