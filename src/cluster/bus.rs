//! The event bus of a cluster on Redis (spec/cluster.md).
//!
//! - **Serialized once, forwarded as bytes.** [`RedisBus::publish`] serializes an event once
//!   (JSON, [`WireEvent`]) on the publishing thread; one publisher task writes the bytes to
//!   Redis in publication order, batched in pipelines. A receiving node parses each entry once
//!   and hands one `Arc` to its dispatcher shards, which serialize the payload once for all of
//!   their sessions (`gateway::prepare`).
//! - **Durable events through streams.** Dispatches that are not lossy and every control
//!   notice go to a Redis Stream per guild (`{prefix}g:{id}`) or per addressed user
//!   (`{prefix}u:{id}`), trimmed to about `cluster.stream_max_len` entries. A reader keeps
//!   the last id it read of each stream, so a node that lags or loses its Redis connection
//!   carries on from there. Lossy dispatches (typing, presence) are `PUBLISH`ed on channels
//!   `{prefix}gl:{id}` / `{prefix}ul:{id}`; the publisher drops them first when its backlog
//!   exceeds `gateway.shed_backlog`, and the gateway's shards shed them as on the single node.
//! - **By interest.** A node reads only the streams (and subscribes only the channels) of the
//!   guilds and users its gateway sessions need, connected or detached ([`Interest`], hooked
//!   into the gateway's registry). A newly needed stream is read from its newest entry at the
//!   time of the declaration; an IDENTIFY waits for that ([`EventBus::settled`]) before it
//!   reads READY's state, so nothing falls between state and dispatches.
//! - **Controls reach every node that needs them.** Membership, permission and deletion
//!   notices go to the guild's stream (every node with a session in the guild reads it, in
//!   the same order as the guild's dispatches, so a permission change filters the next
//!   dispatch on every node); revocations to the user's stream. A join also goes to the
//!   joining user's stream with the id of its guild-stream entry, so a node that did not read
//!   the guild yet starts right after the join.
//! - **The local gateway reads Redis too**, so every node routes a guild's events in one
//!   order. [`EventBus::subscribe`] still yields what this node published (the federation
//!   log writer, the registrar link), and [`EventBus::publish_local`] serves what every node
//!   derives itself from the shared database.
//! - **A response follows its events.** [`EventBus::flushed`] resolves once everything
//!   published so far is in Redis; the composition root awaits it before each client-API
//!   response is sent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use redis::streams::{StreamRangeReply, StreamReadReply};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Notify, broadcast, mpsc, watch};

use super::{Cluster, loss};
use crate::events::{
    Audience, BusEvent, Control, Dispatch, Event, EventBus, Handoff, Interest, StreamEntry,
    StreamKey, StreamMark,
};
use crate::snowflake::Snowflake;

/// How long [`EventBus::settled`] and [`EventBus::flushed`] wait at most (Redis down: the
/// caller goes on rather than hang).
pub(super) const WAIT: Duration = Duration::from_secs(3);
/// How long a stream read blocks in Redis before the reader looks at its interest again.
const BLOCK_MS: u64 = 100;
/// Entries taken per stream and read.
const READ_COUNT: u64 = 512;
/// Events written per pipeline.
const BATCH: usize = 256;
/// A join's guild-stream position stays usable this long for a node that starts reading
/// the guild because of it.
const HINT_TTL: Duration = Duration::from_secs(60);

/// Adds an entry to the guild stream and to the user stream (with the guild entry's id).
const JOIN_LUA: &str = "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2]) \
     redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2], 's', id) return id";

/// What travels through Redis (spec/cluster.md §2): a dispatch without its local-only
/// fields (`cause`, `logged`) or a control notice.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireEvent<D> {
    Dispatch(D),
    Control(Control),
}

#[derive(Serialize)]
struct DispatchOut<'a> {
    t: Event,
    d: &'a Value,
    audience: &'a Audience,
    intent: u64,
    has_content: bool,
    lossy: bool,
}

#[derive(Deserialize)]
struct DispatchIn {
    t: Event,
    d: Value,
    audience: Audience,
    intent: u64,
    has_content: bool,
    lossy: bool,
}

/// Where one publication goes.
enum Route {
    /// `XADD` to each topic's stream.
    Streams(Vec<StreamKey>),
    /// `PUBLISH` on each topic's channel (lossy).
    Channels(Vec<StreamKey>),
    /// A join: the guild's stream, then the user's with the guild entry's id.
    Join { guild: i64, user: i64 },
}

struct Out {
    seq: u64,
    route: Route,
    bytes: Arc<[u8]>,
    lossy: bool,
}

/// The interest state shared by the gateway's hook, the resolver and the reader.
#[derive(Default)]
struct Topics {
    /// Bumped at every change of `wanted`.
    generation: u64,
    /// Declared by the gateway.
    wanted: HashSet<StreamKey>,
    /// Streams being read, with the last id read.
    reading: HashMap<StreamKey, String>,
    /// Streams being read, with the position their reading started from.
    started: HashMap<StreamKey, String>,
    /// Guild-stream ids of joins seen on user streams (start positions).
    hints: HashMap<i64, (String, Instant)>,
}

/// Counters of the bus (`RedisBus::stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BusStats {
    /// Events written to Redis (one per publication, whatever the number of streams).
    pub published: u64,
    /// Lossy events dropped by the publisher (backlog) or lost with Redis unreachable.
    pub dropped: u64,
    /// Entries and messages read from Redis.
    pub received: u64,
    /// Streams read now.
    pub streams: u64,
    /// Streams found to have lost durable events: trimmed past this node's position, or
    /// given up by this node's publisher (spec/cluster.md §3.1).
    pub lost: u64,
}

pub(super) struct Shared {
    pub(super) cluster: Cluster,
    topics: Mutex<Topics>,
    /// Wakes the resolver after an interest change.
    changed: Notify,
    /// The interest generation the reader has positions for.
    settled: watch::Sender<u64>,
    /// The last publication written (or given up).
    published: watch::Sender<u64>,
    /// Where the reader sends what it reads (the gateway's feed).
    pub(super) feed: broadcast::Sender<BusEvent>,
    /// Publisher backlog over which lossy events are dropped.
    shed_backlog: usize,
    n_published: AtomicU64,
    n_dropped: AtomicU64,
    n_received: AtomicU64,
    pub(super) n_lost: AtomicU64,
    /// [`StreamMark`]s asked for and fed (`handoff.rs`).
    marks: Mutex<Marks>,
    /// The connection of long reads (`Cluster::long_reads`), made on first use.
    pub(super) reads: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
}

/// The marks of the reader (`Handoff::mark`, `Handoff::stop_reading`).
#[derive(Default)]
struct Marks {
    /// The newest mark asked for.
    asked: u64,
    /// The newest mark fed.
    fed: u64,
    /// Reading stops: the reader feeds a last mark and ends.
    stop: bool,
}

impl Shared {
    /// The long reads' connection (made on first use): many RESUMEs read at once after a
    /// node died, on a connection of their own with time to answer.
    pub(super) async fn long_reads(&self) -> Result<redis::aio::ConnectionManager, String> {
        Ok(self
            .reads
            .get_or_try_init(|| self.cluster.long_reads())
            .await
            .map_err(|e| e.to_string())?
            .clone())
    }

    /// Asks the reader for a mark (`stop`: its last one); returns the mark's id.
    pub(super) fn ask_mark(&self, stop: bool) -> u64 {
        let mut m = self.marks.lock();
        m.asked += 1;
        m.stop |= stop;
        m.asked
    }

    /// Feeds a [`StreamMark`] when one was asked for since the last, and tells whether the
    /// reader must end (after feeding the last mark). The reader calls it between reads,
    /// after feeding everything it read.
    fn feed_mark(&self) -> bool {
        let mut m = self.marks.lock();
        if m.fed < m.asked {
            let positions = self
                .topics
                .lock()
                .reading
                .iter()
                .map(|(t, id)| (*t, id.clone()))
                .collect();
            let _ = self.feed.send(BusEvent::Mark(Arc::new(StreamMark {
                id: m.asked,
                positions,
            })));
            m.fed = m.asked;
        }
        m.stop
    }

    /// Where the current reading of `t` started (`Handoff::start_of`).
    pub(super) fn start_of(&self, t: StreamKey) -> Option<String> {
        self.topics.lock().started.get(&t).cloned()
    }

    pub(super) fn key(&self, t: StreamKey) -> String {
        match t {
            StreamKey::Guild(g) => format!("{}g:{g}", self.cluster.prefix),
            StreamKey::User(u) => format!("{}u:{u}", self.cluster.prefix),
        }
    }
    fn channel(&self, t: StreamKey) -> String {
        match t {
            StreamKey::Guild(g) => format!("{}gl:{g}", self.cluster.prefix),
            StreamKey::User(u) => format!("{}ul:{u}", self.cluster.prefix),
        }
    }
    fn topic_of(&self, key: &str, lossy: bool) -> Option<StreamKey> {
        let rest = key.strip_prefix(self.cluster.prefix.as_str())?;
        let (g, u) = if lossy { ("gl:", "ul:") } else { ("g:", "u:") };
        if let Some(id) = rest.strip_prefix(g) {
            return id.parse().ok().map(StreamKey::Guild);
        }
        rest.strip_prefix(u)?.parse().ok().map(StreamKey::User)
    }

    fn set(&self, t: StreamKey, on: bool) {
        let mut ts = self.topics.lock();
        let changed = if on {
            ts.wanted.insert(t)
        } else {
            ts.reading.remove(&t);
            ts.started.remove(&t);
            ts.wanted.remove(&t)
        };
        if changed {
            ts.generation += 1;
            drop(ts);
            self.changed.notify_one();
        }
    }
}

impl Interest for Shared {
    fn guild(&self, guild_id: i64, on: bool) {
        self.set(StreamKey::Guild(guild_id), on);
    }
    fn user(&self, user_id: i64, on: bool) {
        self.set(StreamKey::User(user_id), on);
    }
}

/// The event bus of a cluster node (module docs).
pub struct RedisBus {
    pub(super) shared: Arc<Shared>,
    /// What this node published (`subscribe`).
    local: broadcast::Sender<BusEvent>,
    /// The publisher's queue, with the sequence number of the last publication.
    out: Mutex<(u64, mpsc::UnboundedSender<Out>)>,
}

impl RedisBus {
    /// Starts the publisher, the resolver, the stream reader and the channel listener on the
    /// current runtime. `capacity`: events kept per lagging subscriber; `shed_backlog`: the
    /// publisher backlog over which lossy events are dropped.
    pub fn start(cluster: Cluster, capacity: usize, shed_backlog: usize) -> Arc<RedisBus> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            cluster,
            topics: Mutex::new(Topics::default()),
            changed: Notify::new(),
            settled: watch::Sender::new(0),
            published: watch::Sender::new(0),
            feed: broadcast::channel(capacity).0,
            shed_backlog,
            n_published: AtomicU64::new(0),
            n_dropped: AtomicU64::new(0),
            n_received: AtomicU64::new(0),
            n_lost: AtomicU64::new(0),
            marks: Mutex::new(Marks::default()),
            reads: tokio::sync::OnceCell::new(),
        });
        let (subs_tx, subs_rx) = mpsc::unbounded_channel();
        tokio::spawn(publisher(shared.clone(), rx));
        tokio::spawn(resolver(Arc::downgrade(&shared), subs_tx));
        tokio::spawn(reader(Arc::downgrade(&shared)));
        tokio::spawn(listener(Arc::downgrade(&shared), subs_rx));
        Arc::new(RedisBus {
            shared,
            local: broadcast::channel(capacity).0,
            out: Mutex::new((0, tx)),
        })
    }

    /// The bus's counters.
    pub fn stats(&self) -> BusStats {
        let s = &self.shared;
        BusStats {
            published: s.n_published.load(Ordering::Relaxed),
            dropped: s.n_dropped.load(Ordering::Relaxed),
            received: s.n_received.load(Ordering::Relaxed),
            streams: s.topics.lock().reading.len() as u64,
            lost: s.n_lost.load(Ordering::Relaxed),
        }
    }

    fn encode(event: &BusEvent) -> Option<(Route, Vec<u8>, bool)> {
        let (route, bytes, lossy) = match event {
            BusEvent::Dispatch(d) => {
                let topics: Vec<StreamKey> = match &d.audience {
                    Audience::Guild { guild_id, .. } => vec![StreamKey::Guild(guild_id.db())],
                    Audience::Users(list) => list.iter().map(|u| StreamKey::User(u.db())).collect(),
                };
                let w = WireEvent::Dispatch(DispatchOut {
                    t: d.event,
                    d: &d.data,
                    audience: &d.audience,
                    intent: d.intent,
                    has_content: d.has_content,
                    lossy: d.lossy,
                });
                let route = if d.lossy {
                    Route::Channels(topics)
                } else {
                    Route::Streams(topics)
                };
                (route, serde_json::to_vec(&w), d.lossy)
            }
            BusEvent::Mark(_) => return None,
            BusEvent::Control(c) => {
                let route = match c {
                    Control::Barrier { .. } => return None,
                    Control::MemberJoined { guild_id, user_id } => Route::Join {
                        guild: guild_id.db(),
                        user: user_id.db(),
                    },
                    Control::SessionsRevoked { user_id, .. } => {
                        Route::Streams(vec![StreamKey::User(user_id.db())])
                    }
                    Control::UserEventsLost { user_id } => {
                        Route::Streams(vec![StreamKey::User(user_id.db())])
                    }
                    Control::MemberLeft { guild_id, .. }
                    | Control::PermissionsChanged { guild_id }
                    | Control::GuildDeleted { guild_id }
                    | Control::GuildEventsLost { guild_id } => {
                        Route::Streams(vec![StreamKey::Guild(guild_id.db())])
                    }
                };
                (route, control_entry(c.clone()), false)
            }
        };
        match bytes {
            Ok(b) => Some((route, b, lossy)),
            Err(e) => {
                tracing::error!(error = %e, "cluster bus: event not serializable");
                None
            }
        }
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: BusEvent) {
        let encoded = Self::encode(&event);
        let barrier = matches!(event, BusEvent::Control(Control::Barrier { .. }));
        let _ = self.local.send(event.clone());
        if barrier {
            // Barriers are this node's own (restart snapshot): straight to its gateway.
            let _ = self.shared.feed.send(event);
            return;
        }
        let Some((route, bytes, lossy)) = encoded else {
            return;
        };
        let mut out = self.out.lock();
        out.0 += 1;
        let seq = out.0;
        let _ = out.1.send(Out {
            seq,
            route,
            bytes: bytes.into(),
            lossy,
        });
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.local.subscribe()
    }

    fn feed(&self) -> broadcast::Receiver<BusEvent> {
        self.shared.feed.subscribe()
    }

    fn publish_local(&self, event: BusEvent) {
        let _ = self.local.send(event.clone());
        let _ = self.shared.feed.send(event);
    }

    fn interest(&self) -> Option<Arc<dyn Interest>> {
        Some(self.shared.clone())
    }

    fn handoff(&self) -> Option<Arc<dyn Handoff>> {
        Some(Arc::new(super::handoff::RedisHandoff(self.shared.clone())))
    }

    fn settled(&self) -> BoxFuture<'static, ()> {
        let target = self.shared.topics.lock().generation;
        let mut rx = self.shared.settled.subscribe();
        Box::pin(async move {
            let _ = tokio::time::timeout(WAIT, rx.wait_for(|g| *g >= target)).await;
        })
    }

    fn flushed(&self) -> BoxFuture<'static, ()> {
        let target = self.out.lock().0;
        let mut rx = self.shared.published.subscribe();
        Box::pin(async move {
            let _ = tokio::time::timeout(WAIT, rx.wait_for(|p| *p >= target)).await;
        })
    }
}

/// The `e` field of a control notice's stream entry (spec/cluster.md §2).
pub(super) fn control_entry(c: Control) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&WireEvent::<()>::Control(c))
}

/// Writes publications in order, a pipeline per batch; retries a failed batch for up to
/// [`WAIT`], then gives it up (logged and counted), and from then on tries every 500 ms to
/// tell the readers of its durable streams that events were lost ([`loss`]).
async fn publisher(s: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Out>) {
    let mut con = s.cluster.conn.clone();
    let max_len = s.cluster.stream_max_len;
    let mut batch = Vec::with_capacity(BATCH);
    let mut lost: HashSet<StreamKey> = HashSet::new();
    loop {
        let got = if lost.is_empty() {
            rx.recv_many(&mut batch, BATCH).await
        } else {
            let next = rx.recv_many(&mut batch, BATCH);
            match tokio::time::timeout(Duration::from_millis(500), next).await {
                Ok(n) => n,
                Err(_) => {
                    loss::tell(&s, &mut con, &mut lost).await;
                    continue;
                }
            }
        };
        if got == 0 {
            return;
        }
        let last = batch.last().map(|o| o.seq).unwrap_or(0);
        let backlog = rx.len();
        let mut pipe = redis::pipe();
        let mut written = 0u64;
        let mut durable: Vec<StreamKey> = Vec::new();
        for o in batch.drain(..) {
            if o.lossy && backlog > s.shed_backlog {
                s.n_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            written += 1;
            match &o.route {
                Route::Streams(ts) => {
                    durable.extend_from_slice(ts);
                    for t in ts {
                        pipe.cmd("XADD")
                            .arg(s.key(*t))
                            .arg("MAXLEN")
                            .arg("~")
                            .arg(max_len)
                            .arg("*")
                            .arg("e")
                            .arg(&*o.bytes)
                            .ignore();
                    }
                }
                Route::Channels(ts) => {
                    for t in ts {
                        pipe.cmd("PUBLISH")
                            .arg(s.channel(*t))
                            .arg(&*o.bytes)
                            .ignore();
                    }
                }
                Route::Join { guild, user } => {
                    durable.extend([StreamKey::Guild(*guild), StreamKey::User(*user)]);
                    pipe.cmd("EVAL")
                        .arg(JOIN_LUA)
                        .arg(2)
                        .arg(s.key(StreamKey::Guild(*guild)))
                        .arg(s.key(StreamKey::User(*user)))
                        .arg(max_len)
                        .arg(&*o.bytes)
                        .ignore();
                }
            }
        }
        let started = Instant::now();
        loop {
            // A connection being re-established holds requests back rather than failing
            // them: the wait is bounded here, not by the connection.
            let left = WAIT.saturating_sub(started.elapsed());
            let sent = tokio::time::timeout(left, pipe.query_async::<()>(&mut con)).await;
            let sent = sent.unwrap_or_else(|_| {
                Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "no answer from Redis",
                )))
            });
            match sent {
                Ok(()) => {
                    s.n_published.fetch_add(written, Ordering::Relaxed);
                    if !lost.is_empty() {
                        loss::tell(&s, &mut con, &mut lost).await;
                    }
                    break;
                }
                Err(e) if started.elapsed() < WAIT => {
                    tracing::warn!(error = %e, "cluster bus: publishing to Redis failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, events = written, "cluster bus: events lost (Redis unreachable)");
                    s.n_dropped.fetch_add(written, Ordering::Relaxed);
                    lost.extend(durable);
                    break;
                }
            }
        }
        s.published.send_modify(|p| *p = (*p).max(last));
    }
}

/// Gives each newly wanted stream its start position (a join's hint, or the stream's newest
/// id now) and keeps the channel subscriptions equal to the interest.
async fn resolver(s: std::sync::Weak<Shared>, subs: mpsc::UnboundedSender<(Vec<String>, bool)>) {
    let mut con = match s.upgrade() {
        Some(s) => s.cluster.conn.clone(),
        None => return,
    };
    let mut subscribed: HashSet<StreamKey> = HashSet::new();
    let mut first = true;
    loop {
        let Some(sh) = s.upgrade() else { return };
        if !first {
            // Woken by an interest change; the timeout lets the task end with the bus.
            let _ = tokio::time::timeout(Duration::from_secs(1), sh.changed.notified()).await;
        }
        first = false;
        let (generation, new, gone, hints) = {
            let mut ts = sh.topics.lock();
            ts.hints.retain(|_, (_, at)| at.elapsed() < HINT_TTL);
            let new: Vec<StreamKey> = ts
                .wanted
                .iter()
                .filter(|t| !ts.reading.contains_key(t))
                .copied()
                .collect();
            let hints: HashMap<StreamKey, String> = new
                .iter()
                .filter_map(|t| match t {
                    StreamKey::Guild(g) => ts.hints.get(g).map(|(id, _)| (*t, id.clone())),
                    StreamKey::User(_) => None,
                })
                .collect();
            let gone: Vec<StreamKey> = subscribed.difference(&ts.wanted).copied().collect();
            (ts.generation, new, gone, hints)
        };
        let lookup: Vec<StreamKey> = new
            .iter()
            .filter(|t| !hints.contains_key(t))
            .copied()
            .collect();
        let mut pipe = redis::pipe();
        for t in &lookup {
            pipe.cmd("XREVRANGE")
                .arg(sh.key(*t))
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1);
        }
        let newest: redis::RedisResult<Vec<StreamRangeReply>> = if lookup.is_empty() {
            Ok(vec![])
        } else {
            pipe.query_async(&mut con).await
        };
        match newest {
            Ok(rows) => {
                let mut ts = sh.topics.lock();
                for (t, row) in lookup.iter().zip(rows) {
                    let id = row.ids.into_iter().next().map(|e| e.id);
                    if ts.wanted.contains(t) && !ts.reading.contains_key(t) {
                        let id = id.unwrap_or_else(|| "0-0".into());
                        ts.started.insert(*t, id.clone());
                        ts.reading.insert(*t, id);
                    }
                }
                for (t, id) in hints {
                    if ts.wanted.contains(&t) && !ts.reading.contains_key(&t) {
                        ts.started.insert(t, id.clone());
                        ts.reading.insert(t, id);
                    }
                }
                drop(ts);
                sh.settled.send_modify(|g| *g = (*g).max(generation));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster bus: cannot read stream positions; retrying");
                drop(sh);
                tokio::time::sleep(Duration::from_millis(200)).await;
                first = true;
                continue;
            }
        }
        let add: Vec<String> = new
            .iter()
            .filter(|t| subscribed.insert(**t))
            .map(|t| sh.channel(*t))
            .collect();
        for t in &gone {
            subscribed.remove(t);
        }
        let remove: Vec<String> = gone.iter().map(|t| sh.channel(*t)).collect();
        if !add.is_empty() {
            let _ = subs.send((add, true));
        }
        if !remove.is_empty() {
            let _ = subs.send((remove, false));
        }
    }
}

/// Reads the streams of interest from their positions and feeds the gateway.
async fn reader(s: std::sync::Weak<Shared>) {
    let mut con = None;
    loop {
        let Some(sh) = s.upgrade() else { return };
        // Everything read so far is fed: a mark asked for goes after it.
        if sh.feed_mark() {
            return;
        }
        if con.is_none() {
            match sh.cluster.dedicated().await {
                Ok(c) => con = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster bus: cannot connect the stream reader");
                    drop(sh);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
        }
        let (keys, ids): (Vec<String>, Vec<String>) = {
            let ts = sh.topics.lock();
            ts.reading
                .iter()
                .map(|(t, id)| (sh.key(*t), id.clone()))
                .unzip()
        };
        if keys.is_empty() {
            let wake = sh.settled.subscribe();
            drop(sh);
            let mut wake = wake;
            let _ = tokio::time::timeout(Duration::from_millis(BLOCK_MS), wake.changed()).await;
            continue;
        }
        let Some(c) = con.as_mut() else { continue };
        let read: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(BLOCK_MS)
            .arg("STREAMS")
            .arg(&keys)
            .arg(&ids)
            .query_async(c)
            .await;
        let reply = match read {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cluster bus: stream read failed; retrying");
                drop(sh);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let mut suspects: Vec<(StreamKey, String, String)> = Vec::new();
        for stream in reply.keys {
            let Some(topic) = sh.topic_of(&stream.key, false) else {
                continue;
            };
            if loss::may_have_skipped(stream.ids.len(), READ_COUNT, sh.cluster.stream_max_len)
                && let Some(i) = keys.iter().position(|k| *k == stream.key)
            {
                suspects.push((topic, stream.key.clone(), ids[i].clone()));
            }
            for entry in stream.ids {
                sh.n_received.fetch_add(1, Ordering::Relaxed);
                {
                    let mut ts = sh.topics.lock();
                    match ts.reading.get_mut(&topic) {
                        Some(pos) => *pos = entry.id.clone(),
                        // No longer wanted (or re-declared with a new position).
                        None => break,
                    }
                }
                let bytes = match entry.map.get("e") {
                    Some(redis::Value::BulkString(b)) => b.as_slice(),
                    _ => continue,
                };
                let since = match entry.map.get("s") {
                    Some(redis::Value::BulkString(b)) => String::from_utf8(b.clone()).ok(),
                    _ => None,
                };
                if let Some(ev) = decode(&sh, bytes, topic, since, Some(&entry.id)) {
                    let _ = sh.feed.send(ev);
                }
            }
        }
        if !suspects.is_empty() {
            loss::check_trimmed(&sh, c, &suspects).await;
        }
    }
}

/// Parses an entry (or a channel message) read from `topic` into what the gateway routes;
/// `None` when it is not for this node's feed. `id`: the entry's id (none for a channel
/// message).
pub(super) fn decode(
    sh: &Shared,
    bytes: &[u8],
    topic: StreamKey,
    since: Option<String>,
    id: Option<&str>,
) -> Option<BusEvent> {
    let w: WireEvent<DispatchIn> = match serde_json::from_slice(bytes) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cluster bus: unreadable entry skipped");
            return None;
        }
    };
    match w {
        WireEvent::Dispatch(d) => {
            // A user stream's copy of a dispatch to several users is routed to that user.
            let audience = match (topic, d.audience) {
                (StreamKey::User(u), Audience::Users(_)) => {
                    Audience::Users(vec![Snowflake::from_db(u)])
                }
                (_, a) => a,
            };
            Some(BusEvent::Dispatch(Arc::new(Dispatch {
                event: d.t,
                data: d.d,
                audience,
                intent: d.intent,
                has_content: d.has_content,
                lossy: d.lossy,
                cause: None,
                logged: false,
                entry: id
                    .and_then(StreamEntry::parse_id)
                    .map(|id| StreamEntry { stream: topic, id }),
            })))
        }
        WireEvent::Control(c) => {
            if let (StreamKey::User(_), Control::MemberJoined { guild_id, .. }) = (topic, &c) {
                // The guild stream's copy serves a node that reads the guild; another starts
                // reading it right after the join.
                let mut ts = sh.topics.lock();
                if ts.reading.contains_key(&StreamKey::Guild(guild_id.db())) {
                    return None;
                }
                if let Some(id) = since {
                    ts.hints.insert(guild_id.db(), (id, Instant::now()));
                }
            }
            Some(BusEvent::Control(c))
        }
    }
}

/// Receives lossy events on the channels of interest (reconnecting and resubscribing after
/// a failure).
async fn listener(
    s: std::sync::Weak<Shared>,
    mut subs: mpsc::UnboundedReceiver<(Vec<String>, bool)>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    loop {
        let Some(sh) = s.upgrade() else { return };
        let pubsub = match sh.cluster.client.get_async_pubsub().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cluster bus: cannot connect the channel listener");
                drop(sh);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        drop(sh);
        let (mut sink, mut stream) = pubsub.split();
        if !channels.is_empty() {
            let all: Vec<String> = channels.iter().cloned().collect();
            if sink.subscribe(all).await.is_err() {
                continue;
            }
        }
        loop {
            tokio::select! {
                change = subs.recv() => {
                    let Some((list, on)) = change else { return };
                    let r = if on {
                        channels.extend(list.iter().cloned());
                        sink.subscribe(&list).await
                    } else {
                        for c in &list {
                            channels.remove(c);
                        }
                        sink.unsubscribe(&list).await
                    };
                    if r.is_err() {
                        break;
                    }
                }
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    let Some(sh) = s.upgrade() else { return };
                    let Some(topic) = sh.topic_of(msg.get_channel_name(), true) else {
                        continue;
                    };
                    sh.n_received.fetch_add(1, Ordering::Relaxed);
                    if let Some(ev) = decode(&sh, msg.get_payload_bytes(), topic, None, None) {
                        let _ = sh.feed.send(ev);
                    }
                }
            }
        }
    }
}
