//! The event bus: what the service layer announces after a change is committed.
//!
//! Services publish [`Dispatch`]es (Discord gateway event name, payload, audience) and
//! [`Control`] notices (revocations, membership changes) here; the gateway subscribes and
//! decides, per session, who receives what. [`EventBus`] is an interface so that a Redis
//! implementation can sit behind it for scale-out; [`LocalBus`] is the in-process one.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::snowflake::Snowflake;

pub use hearth_wire::{Event, intents};

/// Who may receive a dispatch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Members of a guild; if `channel` is set, only those who can VIEW_CHANNEL it.
    Guild {
        guild_id: Snowflake,
        channel: Option<Snowflake>,
    },
    /// Exactly these users (DM recipients, the user whose account changed ...).
    Users(Vec<Snowflake>),
}

/// One gateway dispatch (op 0) as produced by the service layer.
#[derive(Debug, Clone)]
pub struct Dispatch {
    /// Event name (`t`), e.g. [`Event::MessageCreate`].
    pub event: Event,
    pub data: Value,
    pub audience: Audience,
    /// Intent bit(s) a session needs (any of them) to receive it; 0 = always.
    pub intent: u64,
    /// Message events: whether `content`/`embeds` are subject to MESSAGE_CONTENT.
    pub has_content: bool,
    /// Lossy events (typing, presence) may be dropped under load; the rest never are.
    pub lossy: bool,
    /// Who caused it (filled in by `Hearth::publish` from the request's [`CAUSE`]).
    pub cause: Option<Arc<Cause>>,
    /// Its federation log entry was written to the outbox in the change's own transaction
    /// (spec/federation.md §8): the log writer moves it from there, not from the bus.
    pub logged: bool,
    /// The stream entry it was read from, on a cluster (set by the bus's reader; `None` for
    /// what a node publishes or derives itself).
    pub entry: Option<StreamEntry>,
}

/// A durable stream entry: its stream and its id `ms-seq` as numbers (spec/cluster.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamEntry {
    pub stream: StreamKey,
    pub id: (u64, u64),
}

impl StreamEntry {
    /// The entry id of `id` (`ms-seq`); `None`: not one.
    pub fn parse_id(id: &str) -> Option<(u64, u64)> {
        let (ms, seq) = id.split_once('-')?;
        Some((ms.parse().ok()?, seq.parse().ok()?))
    }

    /// An entry id as Redis writes it (`ms-seq`); [`StreamEntry::parse_id`] reads it back.
    pub fn id_text(id: (u64, u64)) -> String {
        format!("{}-{}", id.0, id.1)
    }
}

/// What caused a dispatch: the acting user and, for an action relayed from another server,
/// the origin-signed action and the request content it signs (spec/federation.md §6).
#[derive(Debug, Clone, Default)]
pub struct Cause {
    /// Local id of the acting user.
    pub actor: Option<i64>,
    /// `(signed origin action, request content)` when the action came through federation.
    pub origin: Option<(Value, Value)>,
    /// The dispatch republishes a lossy notice received through federation (it must not be
    /// forwarded again).
    pub federated: bool,
}

tokio::task_local! {
    /// The cause of whatever the current request publishes (set by the API layer and the
    /// federation action handler; read by `Hearth::publish`).
    pub static CAUSE: std::cell::RefCell<Cause>;
}

/// Records the acting user for the current request, if a cause scope is active.
pub fn set_actor(user_id: i64) {
    let _ = CAUSE.try_with(|c| c.borrow_mut().actor = Some(user_id));
}

/// The cause of the current request, if any.
pub fn current_cause() -> Option<Arc<Cause>> {
    CAUSE
        .try_with(|c| {
            let c = c.borrow();
            (c.actor.is_some() || c.origin.is_some() || c.federated).then(|| Arc::new(c.clone()))
        })
        .ok()
        .flatten()
}

/// Notices for the gateway that are not dispatches themselves.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// These login sessions (or all of the user's if `None`) are revoked: close with 4004.
    SessionsRevoked {
        user_id: Snowflake,
        sessions: Option<Vec<Snowflake>>,
    },
    /// A user joined a guild (their sessions start receiving it).
    MemberJoined {
        guild_id: Snowflake,
        user_id: Snowflake,
    },
    /// A user left, was kicked or banned (their sessions get GUILD_DELETE and stop).
    MemberLeft {
        guild_id: Snowflake,
        user_id: Snowflake,
    },
    /// Roles, overwrites or member roles changed: visibility must be recomputed.
    PermissionsChanged { guild_id: Snowflake },
    /// The guild was deleted.
    GuildDeleted { guild_id: Snowflake },
    /// Durable events of the guild may have been lost before this node routed them (a
    /// publication Redis never took, or stream entries trimmed before a lagging node read
    /// them; spec/cluster.md §3.1): every session in the guild, connected or detached, starts
    /// anew (close 4009; its RESUME is refused).
    GuildEventsLost { guild_id: Snowflake },
    /// The same for the events addressed to a user: the user's sessions start anew.
    UserEventsLost { user_id: Snowflake },
    /// A marker: consumers that track it report having processed everything before it.
    Barrier { id: u64 },
}

/// Everything on the bus.
#[derive(Debug, Clone)]
pub enum BusEvent {
    Dispatch(Arc<Dispatch>),
    Control(Control),
    /// A cluster bus's stream positions ([`StreamMark`]); never published, only fed.
    Mark(Arc<StreamMark>),
}

/// A durable stream of a cluster's bus (spec/cluster.md §1): a guild's (`P g:{id}`) or a
/// user's (`P u:{id}`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StreamKey {
    Guild(i64),
    User(i64),
}

/// Where a cluster bus's feed stands in each stream it reads (spec/cluster.md §9): every
/// entry up to `positions[k]` of stream `k` was fed before this mark, every later one
/// after it. Fed on request ([`Handoff::mark`]) and when reading stops
/// ([`Handoff::stop_reading`]).
#[derive(Debug, Clone)]
pub struct StreamMark {
    /// Increasing per bus.
    pub id: u64,
    /// `(stream, id of its last entry fed)`; a stream read but with nothing fed yet has the
    /// position it is read from.
    pub positions: Vec<(StreamKey, String)>,
}

/// A session saved for another node ([`Handoff::save`]).
#[derive(Debug, Clone)]
pub struct MovedSession {
    pub id: String,
    pub user_id: i64,
    /// The document; `None` withdraws the announcement.
    pub doc: Option<String>,
    /// Time to live, ms.
    pub ttl_ms: u64,
}

/// What [`Handoff::take`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Nothing (never saved, expired, or another node took it).
    None,
    /// Announced, not saved yet: ask again shortly.
    Pending,
    /// The saved document, now taken.
    Saved(String),
}

/// What a cluster bus offers for sessions that move between nodes (spec/cluster.md §9): a
/// store for saved sessions, taken once, and reads of the durable streams.
pub trait Handoff: Send + Sync + 'static {
    /// Asks for a [`BusEvent::Mark`] in the feed (after what the reader fed so far); returns
    /// its id.
    fn mark(&self) -> u64;
    /// Stops reading the streams; the last thing fed is a mark, whose id is returned.
    fn stop_reading(&self) -> u64;
    /// Announces that these sessions `(session id, user id)` are about to be saved (for
    /// `ttl_ms` at most): a node their clients resume on meanwhile waits for them
    /// ([`Taken::Pending`]).
    fn announce(
        &self,
        sessions: Vec<(String, i64)>,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<(), String>>;
    /// Stores saved sessions; a [`MovedSession`] without a document withdraws an
    /// announcement.
    fn save(&self, sessions: Vec<MovedSession>) -> BoxFuture<'static, Result<(), String>>;
    /// Takes (reads and deletes, atomically) session `session_id` of user `user_id`; another
    /// user's is left in place ([`Taken::None`]).
    fn take(&self, session_id: &str, user_id: i64) -> BoxFuture<'static, Result<Taken, String>>;
    /// Which of these sessions are announced or saved now.
    fn held(&self, sessions: Vec<String>) -> BoxFuture<'static, Result<Vec<String>, String>>;
    /// The dispatches of `stream` after entry `after` up to entry `upto` (both entry ids), as
    /// the feed would carry them; `None` when entries between them were trimmed or there
    /// are more than `max`.
    fn range(
        &self,
        stream: StreamKey,
        after: String,
        upto: String,
        max: usize,
    ) -> BoxFuture<'static, Result<Option<Vec<Arc<Dispatch>>>, String>>;
    /// The position the reader started the current reading of `stream` from (`None`: not
    /// read, or not started yet).
    fn start_of(&self, stream: StreamKey) -> Option<String>;
    /// Applies journal writes of node `node` (its instance name) to its sessions' crash
    /// records, in order, in one round trip; the frame items go to the node's journal, which
    /// keeps those of the last `keep_ms` milliseconds.
    fn journal(
        &self,
        node: &str,
        keep_ms: u64,
        writes: &[JournalWrite],
    ) -> BoxFuture<'static, Result<(), String>>;
    /// The frame items in the journal of node `node`, oldest first, as (session id, item).
    fn crash_journal(
        &self,
        node: &str,
    ) -> BoxFuture<'static, Result<Vec<(String, String)>, String>>;
    /// Tells that node `node` is alive for `ttl_ms` more (its beat changes at every call).
    fn beat(&self, node: String, ttl_ms: u64) -> BoxFuture<'static, Result<(), String>>;
    /// Takes (reads and deletes, atomically) the crash record of session `session_id` of
    /// user `user_id`, unless its node is alive ([`Crashed::Alive`], left in place). Its
    /// `items` are empty: they are in its node's journal ([`Handoff::crash_journal`]).
    fn take_crashed(
        &self,
        session_id: &str,
        user_id: i64,
    ) -> BoxFuture<'static, Result<Crashed, String>>;
}

/// One write to the crash records of a node's sessions (spec/cluster.md §9.1,
/// [`Handoff::journal`]), in the order given.
#[derive(Debug, Clone)]
pub enum JournalWrite {
    /// A session starts on this node (IDENTIFY, or a RESUME that moved it here): its record
    /// is replaced. `meta`: its identity as JSON; `min_seq`: the oldest seq a RESUME after a
    /// crash may carry; `bases`: a position per stream before anything routed to it.
    Start {
        session: String,
        user: i64,
        node: String,
        meta: String,
        guilds: Vec<i64>,
        min_seq: u64,
        bases: Vec<(StreamKey, String)>,
        /// Per guild, the channels the session sees (JSON list).
        visible: Vec<(i64, String)>,
        ttl_ms: u64,
    },
    /// Frames are about to be written to the socket: `item` lists their
    /// origins (it goes to the node's journal, one stream entry per round trip for every
    /// session); `guilds` (when they changed), more `bases` and the channels the session now
    /// sees in each guild whose visible channels these frames change (`visible`, JSON
    /// lists) come with them.
    Frames {
        session: String,
        item: String,
        guilds: Option<Vec<i64>>,
        bases: Vec<(StreamKey, String)>,
        visible: Vec<(i64, String)>,
        ttl_ms: u64,
    },
    /// The client acknowledged the frames up to `floor` (or they were dropped): `bases`
    /// take their positions, the items up to it are no longer needed, and the record lives
    /// `ttl_ms` more.
    Ack {
        session: String,
        floor: u64,
        bases: Vec<(StreamKey, String)>,
        ttl_ms: u64,
    },
    /// The session ended: its record goes.
    Forget { session: String },
}

/// A session's crash record as [`Handoff::take_crashed`] took it.
#[derive(Debug, Clone, Default)]
pub struct CrashRecord {
    pub node: String,
    pub meta: String,
    /// The guilds as last written (JSON list).
    pub guilds: String,
    pub min_seq: u64,
    pub bases: Vec<(StreamKey, String)>,
    /// Per guild, the channels the session saw as last written (JSON list).
    pub visible: Vec<(i64, String)>,
    /// The frame items, oldest first: `"{first seq} {origin} {origin} ..."` (from the
    /// node's journal, [`Handoff::crash_journal`]).
    pub items: Vec<String>,
}

/// What [`Handoff::take_crashed`] found.
#[derive(Debug, Clone)]
pub enum Crashed {
    /// No record (never written, expired, taken, or another user's).
    None,
    /// The record's node is alive: its beat now (a changed beat proves it alive) and the
    /// milliseconds the beat has left to live unless renewed (Redis `PTTL`).
    Alive(String, u64),
    /// The record, now taken.
    Taken(CrashRecord),
}

/// The bus interface: publish after commit, subscribe from the gateway.
///
/// `subscribe` yields what *this process* published (the federation log writer and the
/// registrar link consume it); `feed` yields what this process's gateway must route. On the
/// single node ([`LocalBus`]) both are the same channel and the other methods do nothing; the
/// Redis bus of a cluster (`crate::cluster::RedisBus`) feeds the gateway from the guild and
/// user streams its sessions need ([`Interest`]), whichever node published.
pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, event: BusEvent);
    fn subscribe(&self) -> broadcast::Receiver<BusEvent>;
    /// What the gateway routes (default: [`EventBus::subscribe`]).
    fn feed(&self) -> broadcast::Receiver<BusEvent> {
        self.subscribe()
    }
    /// Publishes to this process only: for events every node derives itself from the shared
    /// database (operator events, revocation rows), which must not be repeated by each node.
    fn publish_local(&self, event: BusEvent) {
        self.publish(event)
    }
    /// The gateway's interest hook (which guilds and users its sessions need); `None`: every
    /// event reaches the feed anyway.
    fn interest(&self) -> Option<Arc<dyn Interest>> {
        None
    }
    /// The session handoff of a cluster bus; `None` on a single node.
    fn handoff(&self) -> Option<Arc<dyn Handoff>> {
        None
    }
    /// Resolves once the feed reads every guild and user declared through [`Interest`] so far,
    /// from a position no earlier than the declaration (an IDENTIFY waits for it before it
    /// reads READY's state, so no dispatch falls between the two).
    fn settled(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
    /// Resolves once everything this process published so far is visible to every other
    /// node (a response is sent only after its events left: a change made through one node
    /// is in force on every node before the client can act on the answer).
    fn flushed(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// Which guilds and users the gateway's sessions need (connected or detached). Called under
/// the gateway's registry lock when a guild or user gains its first session (`on = true`) or
/// loses its last one: implementations only record the change.
pub trait Interest: Send + Sync + 'static {
    fn guild(&self, guild_id: i64, on: bool);
    fn user(&self, user_id: i64, on: bool);
}

/// In-process bus over a tokio broadcast channel.
pub struct LocalBus {
    tx: broadcast::Sender<BusEvent>,
}

impl LocalBus {
    /// A bus keeping at most `capacity` undelivered events per subscriber.
    pub fn new(capacity: usize) -> Self {
        LocalBus {
            tx: broadcast::channel(capacity).0,
        }
    }
}

impl EventBus for LocalBus {
    fn publish(&self, event: BusEvent) {
        // No subscriber (no gateway yet) is not an error.
        let _ = self.tx.send(event);
    }
    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.tx.subscribe()
    }
}
