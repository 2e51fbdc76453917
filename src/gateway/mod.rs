//! The real-time gateway (Discord "Gateway" and "Gateway Events" documentation).
//!
//! - A sharded dispatcher (`dispatch.rs`) consumes the [`crate::events`] bus and routes
//!   each dispatch to the sessions that may see it: guild membership, VIEW_CHANNEL on the
//!   channel (from a per-guild permission cache), intents, and MESSAGE_CONTENT for bots.
//!   `gateway.dispatch_shards` tasks (default: one per core) each own the guilds, and the
//!   addressees of user-addressed dispatches, whose id hashes to them: a guild's events
//!   keep their order and its permission and membership changes apply before its next
//!   dispatch; a session's `seq` stays gapless whichever shard pushes; the replay log's
//!   positions, audiences and entries are taken under one registry lock, so a RESUME racing
//!   the shards neither misses nor duplicates a dispatch; a bus barrier completes when every
//!   shard passed it (the argument is in `dispatch.rs`).
//! - A dispatch payload is serialized once ([`Prepared`]) and shared by `Arc`; a session only
//!   adds the small `{"op":0,"t":..,"s":..,"d":` envelope when writing its frame.
//! - Each session has a bounded buffer of `(seq, Arc<Prepared>)`: its outbound queue, and
//!   the RESUME buffer of what it had not received when its connection ended. A client that
//!   falls `session_queue` events behind is disconnected (it can resume).
//! - A close frame 1000/1001 from the client ends the session (a RESUME then gets op 9). A
//!   connection that drops otherwise leaves a *detached* session: out of every dispatch
//!   audience, holding only a cursor into the shared replay log (`replay.rs`), from which
//!   RESUME rebuilds what it missed, filtered through its current permissions and intents
//!   (`resume.rs`). Detached sessions cost nothing per dispatch.
//! - A heartbeat's `d` (the last seq the client received) acknowledges everything up to it:
//!   those events are dropped from the buffer, since a RESUME must carry a seq at least that
//!   large (an older one gets INVALID_SESSION `d:false`). An idle session therefore keeps no
//!   copy of its READY and GUILD_CREATE after its first heartbeat.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub use dispatch::{DispatchHold, shard_of};
pub use ready::ReadyStats;
pub use replay::LogStats;
pub use resume::SessionStats;
pub(crate) use session::{Registry, Session, SessionState};
use stats::{Shed, Traffic};
pub use stats::{ShedStats, TrafficStats};
pub use trim::HeapTrimStats;

use crate::events::{Audience, Dispatch, Event, intents};
use crate::service::{Actor, Hearth};

pub mod admission;
pub mod compress;
mod conn;
mod dispatch;
mod handoff;
mod journal;
mod journals;
mod passive;
mod ranges;
mod ready;
mod replay;
mod restart;
mod resume;
mod session;
mod stats;
mod trim;
mod upgrade;

use crate::http::openapi::{ApiError, JsonValue};
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
    /// What a passive guild does with it (`passive.rs`).
    pub(crate) passive: passive::Class,
    /// Where it came from (a session's crash record, `journal.rs`).
    pub(crate) origin: journal::Origin,
}

impl Prepared {
    /// A gateway-generated dispatch for one session (READY, GUILD_CREATE, ...). A
    /// CHANNEL_CREATE or CHANNEL_DELETE built here is a channel shown or hidden by a
    /// permission change (its origin says so for the crash record).
    pub(crate) fn local(event: Event, data: Value) -> Arc<Prepared> {
        let id = |k: &str| data[k].as_str().and_then(|g| g.parse().ok());
        let shown = || Some((id("guild_id")?, id("id")?));
        let origin = match event {
            Event::GuildCreate => id("id").map(journal::Origin::GuildCreate),
            Event::GuildDelete => id("id").map(journal::Origin::GuildDelete),
            Event::ChannelCreate => shown().map(|(g, c)| journal::Origin::Shown(g, c)),
            Event::ChannelDelete => shown().map(|(g, c)| journal::Origin::Hidden(g, c)),
            _ => None,
        }
        .unwrap_or_default();
        Arc::new(Prepared {
            event,
            data: data.to_string(),
            stripped: None,
            author: None,
            mentions: vec![],
            guild: true,
            passive: passive::Class::Keep,
            origin,
        })
    }
}

/// One guild's snapshot slot in [`Gateway`]'s cache: empty until its first load completes.
type CacheSlot = tokio::sync::OnceCell<Arc<GuildSnapshot>>;

/// While alive, guild snapshot loads wait ([`Gateway::hold_snapshot_loads`]).
pub struct SnapshotLoadHold<'a> {
    gw: &'a Gateway,
}

impl Drop for SnapshotLoadHold<'_> {
    fn drop(&mut self) {
        self.gw.loads_held.send_modify(|h| *h = h.saturating_sub(1));
    }
}

/// Gateway state shared by all connections.
pub struct Gateway {
    pub(crate) hearth: Arc<Hearth>,
    public_url: String,
    pub(crate) registry: Mutex<Registry>,
    /// Guild snapshots (`service/snapshot.rs`), one slot per guild. The map lock is held only
    /// to find or swap a slot, never across a load: a guild being loaded (a READY with many
    /// guilds, a reload after a role change) delays only the callers that need that guild,
    /// not every dispatcher shard.
    caches: Mutex<HashMap<i64, Arc<CacheSlot>>>,
    /// Outstanding [`SnapshotLoadHold`]s: while above 0, snapshot loads wait (tests only).
    loads_held: tokio::sync::watch::Sender<usize>,
    pub(crate) shutting_down: std::sync::atomic::AtomicBool,
    pub(crate) shutdown_notify: Notify,
    pub(crate) admission: admission::Admission,
    /// The newest bus barrier every dispatcher shard has passed (everything published before
    /// it was routed): [`Gateway::save_for_restart`] waits on it.
    pub(crate) barrier_seen: tokio::sync::watch::Sender<u64>,
    shed: Shed,
    traffic: Traffic,
    /// The dispatcher shards (`dispatch.rs`).
    shards: dispatch::Shards,
    /// The routing gate: a shard holds the read side from a dispatch's position to its last
    /// delivery; a restart snapshot takes the write side (`dispatch.rs`).
    pub(crate) routing: parking_lot::RwLock<()>,
    ready_counters: ready::ReadyCounters,
    /// Heap trimming after connection churn (`trim.rs`).
    trimmer: Arc<trim::Trimmer>,
    /// A cluster bus's stream marks, and the sessions moving here (`handoff.rs`).
    marks: handoff::Marks,
    /// Stream ranges read for moved sessions, shared by them (`ranges.rs`).
    ranges: ranges::Ranges,
    /// With `cluster.crash_resume`: the writer of the sessions' crash records (`journal.rs`).
    journal: Option<journal::Writer>,
    /// Dead nodes' journals, read once per node for the sessions taken over (`journals.rs`).
    journals: journals::Journals,
    /// The clock of every connection's send-rate limiter, made once: making one calibrates
    /// it with CPUID instructions, which trap to the hypervisor on a virtual machine (~6 % of
    /// the CPU of a reconnect storm when every connection made its own).
    pub(crate) clock: governor::clock::DefaultClock,
}

impl Gateway {
    /// Creates the gateway and starts its dispatcher shards on the current runtime.
    pub fn new(hearth: Arc<Hearth>, public_url: String) -> Arc<Gateway> {
        let mut registry = Registry::default();
        registry.log.ttl = Duration::from_secs(hearth.config.gateway.replay_seconds);
        registry.log.max_bytes = hearth.config.gateway.replay_log_bytes;
        registry.interest = hearth.bus.interest();
        let gw = Arc::new(Gateway {
            hearth: hearth.clone(),
            public_url,
            registry: Mutex::new(registry),
            caches: Mutex::new(HashMap::new()),
            loads_held: tokio::sync::watch::Sender::new(0),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            shutdown_notify: Notify::new(),
            admission: admission::Admission::new(&hearth.config.gateway),
            barrier_seen: tokio::sync::watch::Sender::new(0),
            shed: Shed::default(),
            traffic: Traffic::default(),
            shards: dispatch::Shards::new(hearth.config.gateway.shard_count()),
            routing: parking_lot::RwLock::new(()),
            ready_counters: ready::ReadyCounters::default(),
            trimmer: Arc::default(),
            marks: handoff::Marks::new(hearth.config.gateway.shard_count()),
            ranges: ranges::Ranges::default(),
            journal: hearth
                .bus
                .handoff()
                .filter(|_| hearth.config.cluster.crash_resume)
                .map(|h| {
                    let keep = journal::keep(&hearth.config.gateway);
                    journal::Writer::start(h, hearth.node.instance().to_string(), keep)
                }),
            journals: journals::Journals::default(),
            clock: governor::clock::DefaultClock::default(),
        });
        gw.start_shards();
        tokio::spawn(janitor(Arc::downgrade(&gw)));
        tokio::spawn(trim::run(
            gw.trimmer.clone(),
            hearth.config.gateway.heap_trim_churn,
        ));
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

    /// `GET /gateway/bot` body (Discord "Get Gateway Bot"): `{url, shards: 1,
    /// session_start_limit: {total, remaining, reset_after (ms), max_concurrency}}`, the
    /// caller's own figures ([`admission::StartLimit`]).
    pub async fn gateway_bot(&self, actor: &Actor, host: Option<&str>) -> Value {
        json!({
            "url": self.public_url(host),
            "shards": 1,
            "session_start_limit": self.admission.start_limit(actor.user.id).await,
        })
    }

    /// Counts `session_start_limit` in the cluster's shared windows (set by the composition
    /// root when `cluster.redis_url` is set).
    pub fn share_session_starts(&self, starts: crate::cluster::RedisStarts) {
        self.admission.share_starts(starts);
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

    /// The guild's snapshot, loaded on first use (one load per guild however many callers
    /// wait for it; a failed or empty load is not kept, so the next caller tries again).
    /// `None`: the guild does not exist, or the load failed (logged).
    pub(crate) async fn cache(&self, guild_id: i64) -> Option<Arc<GuildSnapshot>> {
        let slot = self.caches.lock().entry(guild_id).or_default().clone();
        let loaded = slot
            .get_or_try_init(|| async {
                let mut held = self.loads_held.subscribe();
                let _ = held.wait_for(|h| *h == 0).await;
                match GuildSnapshot::load(&self.hearth, guild_id).await {
                    Ok(Some(c)) => Ok(Arc::new(c)),
                    Ok(None) => Err(None),
                    Err(e) => Err(Some(e)),
                }
            })
            .await;
        match loaded {
            Ok(c) => Some(c.clone()),
            Err(None) => {
                // No such guild: drop the empty slot rather than keep one per unknown id.
                let mut caches = self.caches.lock();
                if caches.get(&guild_id).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                    caches.remove(&guild_id);
                }
                None
            }
            Err(Some(e)) => {
                tracing::error!(error = %e, guild_id, "gateway cache load failed");
                None
            }
        }
    }

    /// Makes every guild snapshot load wait until the returned guard is dropped: for tests
    /// that show a slow load delays only the callers needing that guild.
    #[doc(hidden)]
    pub fn hold_snapshot_loads(&self) -> SnapshotLoadHold<'_> {
        self.loads_held.send_modify(|h| *h += 1);
        SnapshotLoadHold { gw: self }
    }

    /// Snapshot loads waiting on a [`SnapshotLoadHold`].
    #[doc(hidden)]
    pub fn snapshot_loads_waiting(&self) -> usize {
        self.loads_held.receiver_count()
    }

    /// The guild's snapshot if one is loaded; never loads.
    fn cached(&self, guild_id: i64) -> Option<Arc<GuildSnapshot>> {
        let slot = self.caches.lock().get(&guild_id).cloned()?;
        slot.get().cloned()
    }

    /// Drops the guild's snapshot: the next [`Gateway::cache`] loads it anew. A load already
    /// under way finishes into the dropped slot, so its (older) result is never seen by a
    /// caller that comes after this. Returns the dropped snapshot, if one was loaded.
    fn invalidate(&self, guild_id: i64) -> Option<Arc<GuildSnapshot>> {
        let slot = self.caches.lock().remove(&guild_id)?;
        slot.get().cloned()
    }

    /// Registers a new session and its guilds.
    pub(crate) fn register(&self, s: Arc<Session>, guilds: &[i64]) {
        let mut reg = self.registry.lock();
        s.state.lock().journal = self.journaled(&reg.routed, s.user_id, guilds);
        reg.add_user_session(&s);
        for g in guilds {
            reg.add_to_guild(*g, &s);
        }
        reg.sessions.insert(s.id.clone(), s);
    }

    /// Removes a session entirely (unresumable).
    pub(crate) fn unregister(&self, id: &str) {
        let gone = self.registry.lock().remove(id);
        if let Some(s) = gone {
            self.session_ended(s.user_id, &s.id);
        }
    }

    /// A session ended for good (closed with 1000/1001, expired, revoked, not resumable):
    /// the voice states it holds end (`service/voice.rs`), in a task of their own.
    pub(crate) fn session_ended(&self, user: i64, id: &str) {
        self.journal_forget(id);
        let (h, id) = (self.hearth.clone(), id.to_owned());
        tokio::spawn(async move { h.voice_session_ended(user, &id).await });
    }

    /// The ids of the sessions held (connected or detached).
    pub fn session_ids(&self) -> Vec<String> {
        self.registry.lock().sessions.keys().cloned().collect()
    }

    /// The sessions of a user, connected or detached.
    fn sessions_of_user(&self, user: i64) -> Vec<Arc<Session>> {
        self.registry.lock().of_user(user)
    }

    fn sessions_of_guild(&self, guild: i64) -> Vec<Arc<Session>> {
        let reg = self.registry.lock();
        reg.by_guild
            .get(&guild)
            .map(|gs| gs.sessions.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Sends a gateway-generated dispatch to one session.
    pub(crate) fn send_to(&self, s: &Session, event: Event, data: Value) {
        self.deliver(s, Prepared::local(event, data), false);
    }

    fn deliver(&self, s: &Session, p: Arc<Prepared>, stripped: bool) {
        if self.handed_off() {
            return;
        }
        let cfg = &self.hearth.config.gateway;
        if s.push(
            p,
            stripped,
            cfg.replay_events.max(cfg.session_queue),
            cfg.session_queue,
        ) {
            self.traffic
                .deliveries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else {
            // Too slow: disconnect; the client may resume from its buffer.
            s.disconnect_slow();
        }
    }

    /// Builds the GUILD_CREATE for a user's session from the guild's current snapshot, with
    /// the channels it lists (the session's `visible` set once it is queued).
    pub(crate) async fn guild_create_for(
        &self,
        guild_id: i64,
        s: &Session,
    ) -> Option<(Value, HashSet<i64>)> {
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
            Ok(v) => v.map(|mut v| {
                without_voice_states(s, &mut v);
                (v, cache.visible_channels(s.user_id))
            }),
            Err(e) => {
                tracing::error!(error = %e, "GUILD_CREATE build failed");
                None
            }
        }
    }

    /// Queues a GUILD_CREATE listing the channels `visible` for a session in the guild's
    /// audience, in one hold of the session's lock with the record of `visible`, unless the
    /// guild's permissions changed since the session joined the audience
    /// (`changed_before_create`): the payload may then be older than the change, whose
    /// routing sent nothing (no GUILD_CREATE to compare with), and `false` asks the caller
    /// for one built from the current snapshot. `force` queues it anyway.
    pub(crate) fn push_guild_create(
        &self,
        s: &Session,
        guild_id: i64,
        payload: Value,
        visible: HashSet<i64>,
        force: bool,
    ) -> bool {
        if self.handed_off() {
            return true;
        }
        let cfg = &self.hearth.config.gateway;
        let mut raced = false;
        let mut queued = false;
        let kept = s.push_taken(
            cfg.replay_events.max(cfg.session_queue),
            cfg.session_queue,
            |st| {
                // Left meanwhile: its GUILD_DELETE is queued already.
                if !st.guilds.contains(&guild_id) {
                    return vec![];
                }
                if st.changed_before_create.remove(&guild_id) && !force {
                    raced = true;
                    return vec![];
                }
                st.visible.insert(guild_id, visible);
                queued = true;
                vec![Prepared::local(Event::GuildCreate, payload)]
            },
        );
        if !kept {
            s.disconnect_slow();
        } else if queued {
            self.traffic
                .deliveries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        !raced
    }

    /// Builds and queues a session's GUILD_CREATE from the guild's current snapshot
    /// ([`Gateway::push_guild_create`]), again while permission changes overtake it (at most
    /// three builds; the third is queued whatever happened meanwhile).
    pub(crate) async fn send_guild_create(&self, guild_id: i64, s: &Session) {
        for attempt in 0..3 {
            let Some((v, visible)) = self.guild_create_for(guild_id, s).await else {
                return;
            };
            if self.push_guild_create(s, guild_id, v, visible, attempt == 2) {
                return;
            }
        }
    }

    /// Called when a connection ends; the user's presence ends on this node when they have
    /// no connected session here ([`crate::service::Hearth::presence_ended`]).
    pub(crate) async fn connection_closed(&self, user: i64) {
        // On a cluster, a draining node's users stay online while their clients reconnect
        // elsewhere; those that do not are reaped with its presence entry (spec/cluster.md
        // §7). A single node publishes them offline as it stops.
        if self.hearth.presence_is_shared()
            && self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let any = self.registry.lock().user_connected(user);
        if !any {
            self.hearth.presence_ended(user).await;
        }
    }
}

/// GUILD_CREATE's `voice_states` is empty for a session without GUILD_VOICE_STATES.
pub(crate) fn without_voice_states(s: &Session, guild_create: &mut Value) {
    if s.intents & intents::GUILD_VOICE_STATES == 0
        && let Some(o) = guild_create.as_object_mut()
    {
        o.insert("voice_states".into(), Value::Array(vec![]));
    }
}

/// Whether `s` gets the content-stripped payload: a bot without MESSAGE_CONTENT that is
/// neither the author nor mentioned (Discord "Message Content Intent").
pub(crate) fn strip_content(has_content: bool, s: &Session, p: &Prepared) -> bool {
    has_content
        && s.bot
        && s.intents & intents::MESSAGE_CONTENT == 0
        && p.author != Some(s.user_id)
        && !p.mentions.contains(&s.user_id)
        && p.stripped.is_some()
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
        // Guild messages, and Auto Moderation executions (sent to users by id).
        if matches!(d.audience, Audience::Guild { .. })
            || d.event == crate::events::Event::AutoModerationActionExecution
        {
            let mut s = d.data.clone();
            for (k, v) in [
                ("content", json!("")),
                ("matched_content", json!("")),
                ("embeds", json!([])),
                ("attachments", json!([])),
                ("components", json!([])),
            ] {
                if s.get(k).is_some() {
                    s[k] = v;
                }
            }
            // A poll is content too (Discord: MESSAGE_CONTENT covers `poll`).
            if let Some(o) = s.as_object_mut() {
                o.remove("poll");
            }
            if let Some(r) = s.get_mut("referenced_message").filter(|r| r.is_object()) {
                r["content"] = json!("");
                r["embeds"] = json!([]);
            }
            stripped = Some(s.to_string());
        }
    }
    let guild = matches!(d.audience, Audience::Guild { .. });
    Prepared {
        event: d.event,
        data,
        stripped,
        author,
        mentions,
        guild,
        passive: if guild {
            passive::classify(d.event, &d.data)
        } else {
            passive::Class::Keep
        },
        origin: d.entry.map(journal::Origin::Entry).unwrap_or_default(),
    }
}

/// Every 5 s: drops sessions disconnected for longer than `replay_seconds`, and what the
/// replay log, the admission windows, the moved sessions' ranges and the dead nodes' journals
/// no longer need.
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
        gw.registry.lock().log.sweep(std::time::Instant::now());
        gw.admission.shrink();
        gw.ranges.sweep();
        gw.journals.sweep();
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

/// The WebSocket endpoint, mounted at the top level: `GET /gateway`, and `GET /gateway/`
/// (Oceanic.js and Eris append `/?v=10` to the URL of "Get Gateway Bot").
pub fn socket_routes() -> Router<GatewayState> {
    Router::new()
        .route("/gateway", get(ws_handler))
        .route("/gateway/", get(ws_handler))
}

/// Gateway discovery, mounted under the API prefixes (Discord "Get Gateway", "Get Gateway
/// Bot"): `GET /gateway` -> `{url}`, `GET /gateway/bot` -> `{url, shards,
/// session_start_limit}`.
pub fn api_routes() -> Router<GatewayState> {
    Router::new()
        .route("/gateway", get(gateway_url))
        .route("/gateway/bot", get(gateway_bot_route))
        .route("/admin/gateway", get(admin_gateway))
}

/// The OpenAPI operations of [`api_routes`] ([`crate::http::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(gateway_url, gateway_bot_route, admin_gateway))]
pub struct ApiDoc;

fn host(h: &axum::http::HeaderMap) -> Option<&str> {
    h.get("host").and_then(|v| v.to_str().ok())
}

/// `GET /gateway` -> `{url}`.
#[utoipa::path(get, path = "/gateway", tag = "gateway", responses(
    (status = 200, description = "The shape given in the operation's description", body = JsonValue),
    (status = "4XX", description = "Discord-format error", body = ApiError),
))]
async fn gateway_url(
    State(s): State<GatewayState>,
    headers: axum::http::HeaderMap,
) -> axum::Json<Value> {
    axum::Json(json!({"url": s.gateway.public_url(host(&headers))}))
}

/// `GET /gateway/bot` -> `{url, shards, session_start_limit}` (bot token).
#[utoipa::path(get, path = "/gateway/bot", tag = "gateway", responses(
    (status = 200, description = "The shape given in the operation's description", body = JsonValue),
    (status = "4XX", description = "Discord-format error", body = ApiError),
))]
async fn gateway_bot_route(
    State(s): State<GatewayState>,
    headers: axum::http::HeaderMap,
    crate::http::Auth(a): crate::http::Auth,
) -> axum::Json<Value> {
    axum::Json(s.gateway.gateway_bot(&a, host(&headers)).await)
}

/// `GET /admin/gateway` (instance administrators; 403 50013 otherwise): what the gateway
/// holds and what it shed since start:
/// `{sessions: {connected, detached, audience, buffered, buffered_detached},
///   replay_log: {logs, entries, bytes}, shed: ShedStats,
///   dispatch: {shards, routed: [dispatches routed per shard]},
///   heap_trim: HeapTrimStats}`.
#[utoipa::path(get, path = "/admin/gateway", tag = "admin", responses(
    (status = 200, description = "The shape given in the operation's description", body = JsonValue),
    (status = "4XX", description = "Discord-format error", body = ApiError),
))]
async fn admin_gateway(
    State(s): State<GatewayState>,
    crate::http::Auth(a): crate::http::Auth,
) -> crate::error::Result<axum::Json<Value>> {
    Hearth::require_admin(&a)?;
    let st = s.gateway.session_stats();
    Ok(axum::Json(json!({
        "sessions": {
            "connected": st.connected,
            "detached": st.detached,
            "audience": st.audience,
            "buffered": st.buffered,
            "buffered_detached": st.buffered_detached,
        },
        "replay_log": {"logs": st.log.logs, "entries": st.log.entries, "bytes": st.log.bytes},
        "shed": s.gateway.shed_stats(),
        "dispatch": {"shards": s.gateway.dispatch_shards(), "routed": s.gateway.shard_routed()},
        "heap_trim": s.gateway.heap_trim_stats(),
    })))
}

impl crate::service::ports::OnlineMembers for Gateway {
    fn online_members(&self, guild_id: i64) -> i64 {
        Gateway::online_members(self, guild_id)
    }
}

/// `GET /gateway`: the WebSocket upgrade (`upgrade.rs`: small buffers, so an idle session
/// holds no write buffer; frames queued in one flush are written together up to 8 KiB).
async fn ws_handler(
    State(s): State<GatewayState>,
    Query(q): Query<GatewayQuery>,
    req: axum::extract::Request,
) -> Response {
    let gw = s.gateway.clone();
    let resume_url = gw.public_url(host(req.headers()));
    // Over `max_frame_bytes` the connection closes with 4002 (`conn::read_error`; longer
    // text frames that fit are refused the same way in `Conn::handle`).
    let max = s.hearth.config.gateway.max_frame_bytes.max(64);
    upgrade::accept(req, max, move |socket| conn::run(gw, socket, q, resume_url))
}
