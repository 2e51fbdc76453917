//! Host side of guild federation (spec/federation.md §§6-8): every non-lossy dispatch of a
//! guild hosted here becomes a signed event in the guild's gapless log, and a durable
//! delivery queue per (peer, guild) pushes the log to member servers.
//!
//! - The **writer** consumes the event bus in order (so `seq` follows commit order) and
//!   appends `{"t": EVENT, "d": payload}` as the content of a host-signed envelope. For an
//!   action relayed from another server, the envelope carries that server's signed action
//!   and the content is `{"request", "result"}`, the result bound by the host-signed
//!   `result_hash`.
//! - **Delivery** ([`super::delivery`]) runs one worker per peer server: contiguous batches
//!   from each guild's acknowledged `seq`, content withheld (a stub) for events in channels
//!   none of the peer's members can see, exponential backoff with jitter capped at one hour
//!   per (peer, guild); a peer unanswered for `federation.dead_peer_after_ms` is marked dead
//!   (no more pushes, probed) and is revived when it answers or contacts us.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hearth_federation::event::{HostEvent, OriginAction, event_hash};
use hearth_federation::sign::content_hash;
use parking_lot::Mutex;
use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{Fed, Federation};
use crate::events::{Audience, BusEvent, Control, Dispatch, Event};
use crate::service::Hearth;
use crate::storage::{LeaseFence, LogAppend, LogScrub, now_ms};

pub use super::sizes::*;

/// Events per delivery batch (at most).
pub const BATCH: i64 = 100;
/// Longest backoff between delivery attempts.
pub const MAX_BACKOFF_MS: i64 = 3_600_000;

/// The host-side log writer and delivery supervisor of one homeserver.
pub struct GuildLog {
    pub(super) hearth: Arc<Hearth>,
    pub(super) fed: Arc<Federation>,
    hosted: Mutex<HashMap<i64, bool>>,
    /// Whether a hosted guild has member servers (only those guilds keep a log).
    federated: Mutex<HashMap<i64, bool>>,
    pub(super) heads: Mutex<HashMap<i64, (i64, String)>>,
    barrier_next: AtomicU64,
    barrier_done: watch::Sender<u64>,
    /// Bumped when a log grows or a worker must look again (wakes every worker).
    pub(super) appended: watch::Sender<u64>,
    workers: Mutex<HashSet<String>>,
    /// Member servers that stopped answering, or are dead (spec §9.4).
    pub(super) health: Mutex<HashMap<String, super::delivery::Health>>,
    /// Set once `health` is loaded from storage (workers wait for it).
    pub(super) health_loaded: watch::Sender<bool>,
    /// The fencing token of each guild sequencer lease last held here (a new token means
    /// another node may have appended meanwhile: the cached head is dropped).
    tokens: Mutex<HashMap<i64, i64>>,
}

impl GuildLog {
    /// Starts the writer (subscribed to the bus now, so nothing published later is missed)
    /// and the delivery supervisor.
    pub fn start(hearth: Arc<Hearth>, fed: Arc<Federation>) -> Arc<GuildLog> {
        let log = Arc::new(GuildLog {
            hearth: hearth.clone(),
            fed,
            hosted: Mutex::new(HashMap::new()),
            federated: Mutex::new(HashMap::new()),
            heads: Mutex::new(HashMap::new()),
            barrier_next: AtomicU64::new(1),
            barrier_done: watch::channel(0).0,
            appended: watch::channel(0).0,
            workers: Mutex::new(HashSet::new()),
            health: Mutex::new(HashMap::new()),
            health_loaded: watch::channel(false).0,
            tokens: Mutex::new(HashMap::new()),
        });
        let rx = hearth.bus.subscribe();
        tokio::spawn(writer(Arc::downgrade(&log), rx));
        tokio::spawn(super::delivery::supervisor(Arc::downgrade(&log)));
        log
    }

    fn ctx(&self) -> Fed<'_> {
        Fed {
            h: &self.hearth,
            fed: &self.fed,
        }
    }

    /// Waits until the writer has processed everything published before this call. Returns
    /// the barrier's id: the gateway's dispatcher reports passing it too
    /// (`Gateway::save_for_restart`).
    pub async fn barrier(&self) -> u64 {
        let id = self.barrier_next.fetch_add(1, Ordering::SeqCst);
        let mut rx = self.barrier_done.subscribe();
        self.hearth.control(Control::Barrier { id });
        let _ =
            tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|done| *done >= id)).await;
        id
    }

    /// `(seq, hash)` of a hosted guild's newest event (`(0, None)` when empty).
    pub async fn head(&self, guild_id: i64) -> crate::error::Result<(i64, Option<String>)> {
        Ok(match self.hearth.db.log_head(guild_id).await? {
            Some((s, h)) => (s, Some(h)),
            None => (0, None),
        })
    }

    /// A peer contacted us (any authenticated guild request, spec §9.3-§9.4): if it was
    /// unanswered or dead, it is alive again: its stored state and the backoff of all its
    /// guilds are cleared and its worker delivers at once, from its cursors.
    pub fn contact(self: &Arc<Self>, server: &str) {
        if self.health.lock().contains_key(server) {
            let log = self.clone();
            let srv = server.to_string();
            tokio::spawn(async move {
                log.answering(&srv, true).await;
                log.kick(&srv);
            });
        }
    }

    /// Wakes the delivery workers of every peer of `guilds` (after their logs grew).
    pub(super) async fn kick_peers_of(self: &Arc<Self>, guilds: impl IntoIterator<Item = i64>) {
        for g in guilds {
            match self.hearth.db.peers_of_guild(g).await {
                Ok(peers) => {
                    for p in peers {
                        self.kick(&p.server);
                    }
                }
                Err(e) => tracing::error!(error = %e, "federation peers lookup failed"),
            }
        }
    }

    /// Makes sure a delivery worker runs for `server` and wakes it.
    pub fn kick(self: &Arc<Self>, server: &str) {
        let new = self.workers.lock().insert(server.to_string());
        if new {
            tokio::spawn(super::delivery::deliver(
                Arc::downgrade(self),
                server.to_string(),
            ));
        }
        self.appended.send_modify(|n| *n += 1);
    }

    /// The sequencer lease of hosted guild `guild_id` (`sequencer:{id}`, spec/federation.md
    /// §9.5) when this node holds it or can take it now: the fence every append of the guild
    /// checks in its transaction. `None`: another node sequences the guild.
    pub(super) async fn sequencer(&self, guild_id: i64) -> Option<LeaseFence> {
        let node = &self.hearth.node;
        let name = format!("sequencer:{guild_id}");
        let fence = match node.holding(&name) {
            Some(f) => f,
            None => match node.want(&name).await {
                Ok(Some(f)) => f,
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(guild_id, error = %e, "cannot take a sequencer lease");
                    return None;
                }
            },
        };
        if self.tokens.lock().insert(guild_id, fence.token) != Some(fence.token) {
            self.heads.lock().remove(&guild_id);
        }
        Some(LeaseFence {
            name,
            holder: node.id.clone(),
            token: fence.token,
        })
    }

    /// Hands a dispatch this node may not sequence to the guild's sequencer, through the
    /// outbox (it moves the entry into the log).
    async fn hand_over(&self, guild_id: i64, d: &Dispatch) -> crate::error::Result<()> {
        let Audience::Guild { channel, .. } = &d.audience else {
            return Ok(());
        };
        let item = crate::storage::OutboxItem {
            guild_id,
            channel_id: channel.map(|c| c.db()),
            event: d.event.as_str(),
            data: &d.data,
            actor_id: d.cause.as_ref().and_then(|c| c.actor),
            origin: d.cause.as_ref().and_then(|c| c.origin.as_ref()),
        };
        self.hearth.db.outbox_push(item).await?;
        Ok(())
    }

    async fn is_hosted(&self, guild_id: i64) -> bool {
        if let Some(h) = self.hosted.lock().get(&guild_id) {
            return *h;
        }
        let hosted = matches!(self.hearth.db.remote_guild(guild_id).await, Ok(None));
        self.hosted.lock().insert(guild_id, hosted);
        hosted
    }

    /// Starts logging a guild before a server joins it, so that nothing published between
    /// the join and its snapshot is missed (stored: changes committed from now on write their
    /// log entries to the outbox). Errors: storage.
    pub async fn federate(&self, guild_id: i64) -> crate::error::Result<()> {
        self.hearth.db.federate_guild(guild_id).await?;
        self.federated.lock().insert(guild_id, true);
        Ok(())
    }

    /// Whether a hosted guild keeps a log (from its first member server's join until the
    /// last one leaves: a server that joins later starts from a snapshot). Cached; on
    /// PostgreSQL, where another node may federate the guild (README "Scale-out"), only a
    /// `true` is cached and a `false` is read again each time.
    async fn is_federated(&self, guild_id: i64) -> bool {
        if let Some(f) = self.federated.lock().get(&guild_id) {
            return *f;
        }
        let f = matches!(self.hearth.db.is_federated_guild(guild_id).await, Ok(true));
        if f || !matches!(&*self.hearth.db, hearth_db::Db::Postgres(_)) {
            self.federated.lock().insert(guild_id, f);
        }
        f
    }

    /// Drops a member server of a guild (see [`crate::storage::Db::remove_peer`]).
    pub(super) async fn remove_peer(&self, guild_id: i64, server: &str) {
        let _ = self.hearth.db.remove_peer(guild_id, server).await;
        self.federated.lock().remove(&guild_id);
    }

    async fn sender_handle(&self, actor: Option<i64>) -> String {
        let server = &self.hearth.config.server_name;
        if let Some(a) = actor
            && let Ok(Some(u)) = self.hearth.db.user(a).await
            && u.home_server.is_none()
        {
            return format!("{}@{server}", u.username.to_lowercase());
        }
        format!("_host@{server}")
    }

    async fn append(
        &self,
        guild_id: i64,
        t: Event,
        data: &Value,
        channel: Option<i64>,
        cause: Option<&crate::events::Cause>,
        fence: &LeaseFence,
    ) -> crate::error::Result<()> {
        let h = &self.hearth;
        let row = self
            .prepare(guild_id, t, data, channel, cause, &mut HashMap::new())
            .await?;
        if let Err(e) = h.db.append_event(&row, std::slice::from_ref(fence)).await {
            self.heads.lock().remove(&guild_id);
            return Err(e);
        }
        let seq = row.seq;
        self.heads.lock().insert(guild_id, (seq, row.hash));
        self.after_append(guild_id, t, data, seq).await
    }

    /// Signs the next event of a guild's log (after the cached head) without storing it.
    /// `senders` caches sender handles by user id over one group of appends.
    pub(super) async fn prepare(
        &self,
        guild_id: i64,
        t: Event,
        data: &Value,
        channel: Option<i64>,
        cause: Option<&crate::events::Cause>,
        senders: &mut HashMap<i64, String>,
    ) -> crate::error::Result<LogAppend> {
        let h = &self.hearth;
        let server = h.config.server_name.clone();
        let cached = self.heads.lock().get(&guild_id).cloned();
        let head = match cached {
            Some(x) => Some(x),
            None => h.db.log_head(guild_id).await?,
        };
        let seq = head.as_ref().map_or(1, |(s, _)| s + 1);
        let now = now_ms() as u64;
        let mut result = json!({"t": t.as_str(), "d": data});
        if matches!(t, Event::MessageCreate | Event::MessageUpdate)
            && let Some(d) = result["d"].as_object_mut()
        {
            // A reply's copy of its original is not logged: it would outlive the original's
            // deletion. Member servers quote their own copy (spec §6.5).
            d.remove("referenced_message");
        }
        let key = self.fed.keyring.current();
        let (action, content, result_hash) = match cause.and_then(|c| c.origin.clone()) {
            Some((signed, request)) => {
                let rh = content_hash(&result).map_err(crate::error::Error::internal)?;
                (
                    signed,
                    json!({"request": request, "result": result}),
                    Some(rh),
                )
            }
            None => {
                let a = OriginAction {
                    host: server.clone(),
                    guild_id: guild_id.to_string(),
                    channel_id: channel.map(|c| c.to_string()),
                    kind: t.as_str().to_lowercase(),
                    sender: match cause.and_then(|c| c.actor) {
                        Some(a) => match senders.get(&a) {
                            Some(s) => s.clone(),
                            None => {
                                let s = self.sender_handle(Some(a)).await;
                                senders.insert(a, s.clone());
                                s
                            }
                        },
                        None => self.sender_handle(None).await,
                    },
                    origin: server.clone(),
                    txn_id: format!("h{}", h.next_id()),
                    origin_ts: now,
                    content_hash: content_hash(&result).map_err(crate::error::Error::internal)?,
                };
                (
                    a.sign(&key).map_err(crate::error::Error::internal)?,
                    result,
                    None,
                )
            }
        };
        let ev = HostEvent {
            host: server,
            guild_id: guild_id.to_string(),
            seq: seq as u64,
            prev_hash: head.map(|(_, hash)| hash),
            host_ts: now,
            object_id: None,
            action,
            content: Some(content),
            result_hash,
        };
        let signed = ev.sign(&key).map_err(crate::error::Error::internal)?;
        let hash = event_hash(&signed).map_err(crate::error::Error::internal)?;
        Ok(LogAppend {
            guild_id,
            seq,
            event: signed.to_string(),
            hash,
            channel_id: channel,
            object_id: message_object(t, data),
            created_at: now as i64,
            scrub: scrub_of(t, data),
        })
    }

    /// What follows a stored append: final positions of departing servers, the wake-up of
    /// the delivery workers.
    pub(super) async fn after_append(
        &self,
        guild_id: i64,
        t: Event,
        data: &Value,
        seq: i64,
    ) -> crate::error::Result<()> {
        let h = &self.hearth;
        // A server whose last member left receives this event, then no more.
        if matches!(t, Event::GuildMemberRemove | Event::GuildBanAdd)
            && let Some(handle) = data
                .get("user")
                .and_then(|u| u.get("handle"))
                .and_then(|x| x.as_str())
            && let Some((_, srv)) = handle.split_once('@')
            && srv != h.config.server_name
            && h.db.members_from(guild_id, srv).await? == 0
        {
            h.db.set_peer_final(guild_id, srv, Some(seq)).await?;
        }
        if t == Event::GuildDeleteFederated {
            for p in h.db.peers_of_guild(guild_id).await? {
                h.db.set_peer_final(guild_id, &p.server, Some(seq)).await?;
            }
        }
        self.appended.send_modify(|n| *n += 1);
        Ok(())
    }
}

/// What appending event `t` removes from the log ([`LogScrub`], in the append's
/// transaction): the deleted messages' events (and replies still quoting them), a deleted
/// channel's message events, every message event of a deleted guild.
pub fn scrub_of(t: Event, data: &Value) -> LogScrub {
    let id = |v: Option<&Value>| v.and_then(|i| i.as_str()).and_then(|i| i.parse().ok());
    match t {
        Event::MessageDelete => LogScrub::Messages(id(data.get("id")).into_iter().collect()),
        Event::MessageDeleteBulk => LogScrub::Messages(
            data.get("ids")
                .and_then(|a| a.as_array())
                .map(|a| a.iter().filter_map(|i| id(Some(i))).collect())
                .unwrap_or_default(),
        ),
        Event::ChannelDelete => LogScrub::Channels(id(data.get("id")).into_iter().collect()),
        Event::GuildDeleteFederated => LogScrub::Guild,
        _ => LogScrub::Nothing,
    }
}

/// The message an event carries content of (message create and update events).
pub fn message_object(t: Event, data: &Value) -> Option<i64> {
    match t {
        Event::MessageCreate | Event::MessageUpdate => data
            .get("id")
            .and_then(|i| i.as_str())
            .and_then(|i| i.parse().ok()),
        _ => None,
    }
}

/// Bus events the writer takes at once (what is already pending, up to this many).
const WRITER_GROUP: usize = 256;

/// The writer task: appends hosted guilds' dispatches in bus order. What is pending on the
/// bus is taken at once and its plain dispatches are appended in one transaction.
async fn writer(
    log: std::sync::Weak<GuildLog>,
    mut rx: tokio::sync::broadcast::Receiver<BusEvent>,
) {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    // Entries a crash left in the outbox go first.
    let every = match log.upgrade() {
        Some(l) => {
            super::outbox::drain(&l).await;
            super::outbox::drain_every(&l.hearth.db)
        }
        None => return,
    };
    let mut drained = tokio::time::Instant::now();
    loop {
        // Entries other nodes handed over (and retries after errors) are moved at least
        // this often, however busy the bus.
        if drained.elapsed() >= every {
            let Some(l) = log.upgrade() else { return };
            super::outbox::drain(&l).await;
            drained = tokio::time::Instant::now();
        }
        let first = match tokio::time::timeout(every, rx.recv()).await {
            Err(_) => continue,
            Ok(r) => r,
        };
        let first = match first {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                tracing::error!(
                    missed = n,
                    "federation log writer lagged behind the event bus"
                );
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let mut pending = vec![first];
        while pending.len() < WRITER_GROUP {
            match rx.try_recv() {
                Ok(ev) => pending.push(ev),
                Err(TryRecvError::Lagged(n)) => {
                    tracing::error!(
                        missed = n,
                        "federation log writer lagged behind the event bus"
                    );
                }
                Err(_) => break,
            }
        }
        let Some(log) = log.upgrade() else { return };
        let mut group: Vec<Arc<Dispatch>> = vec![];
        // Dispatches whose entries are in the outbox: one drain after a run of them (each
        // was committed before it was published, so the drain finds them all).
        let mut drain = false;
        for ev in pending {
            match ev {
                // Application commands belong to this server's applications, webhooks to
                // this server; AutoMod, voice and stage instances are not federated (yet);
                // THREAD_MEMBER_UPDATE and THREAD_LIST_SYNC are about one
                // user's sessions: never logged.
                BusEvent::Dispatch(d)
                    if matches!(
                        d.event,
                        Event::ApplicationCommandPermissionsUpdate
                            | Event::WebhooksUpdate
                            | Event::AutoModerationRuleCreate
                            | Event::AutoModerationRuleUpdate
                            | Event::AutoModerationRuleDelete
                            | Event::AutoModerationActionExecution
                            | Event::ThreadListSync
                            | Event::ThreadMemberUpdate
                            | Event::VoiceStateUpdate
                            | Event::VoiceServerUpdate
                            | Event::StageInstanceCreate
                            | Event::StageInstanceUpdate
                            | Event::StageInstanceDelete
                    ) => {}
                BusEvent::Dispatch(d) if d.logged => {
                    write_group(&log, std::mem::take(&mut group)).await;
                    drain = true;
                }
                BusEvent::Dispatch(d) if groupable(&d) => {
                    if std::mem::take(&mut drain) {
                        super::outbox::drain(&log).await;
                    }
                    group.push(d)
                }
                other => {
                    write_group(&log, std::mem::take(&mut group)).await;
                    if std::mem::take(&mut drain) {
                        super::outbox::drain(&log).await;
                    }
                    write_one(&log, other).await;
                }
            }
        }
        write_group(&log, group).await;
        if drain {
            super::outbox::drain(&log).await;
        }
    }
}

/// Whether a dispatch can be appended with others in one transaction: a non-lossy guild
/// event whose append has no follow-up writes (departures set final positions; the
/// scrubbing of deletions is part of the append's transaction).
fn groupable(d: &Dispatch) -> bool {
    matches!(d.audience, Audience::Guild { .. })
        && !d.lossy
        && !matches!(d.event, Event::GuildMemberRemove | Event::GuildBanAdd)
}

/// Appends a group of plain dispatches (in bus order) in one transaction, then wakes the
/// peers of the guilds concerned. If the transaction fails, nothing of it is stored and each
/// dispatch is appended on its own instead.
async fn write_group(log: &Arc<GuildLog>, group: Vec<Arc<Dispatch>>) {
    if group.len() <= 1 {
        for d in group {
            write_one(log, BusEvent::Dispatch(d)).await;
        }
        return;
    }
    let mut rows = vec![];
    let mut senders = HashMap::new();
    let mut fences: HashMap<i64, Option<LeaseFence>> = HashMap::new();
    let mut failed = false;
    for d in &group {
        let Audience::Guild { guild_id, channel } = &d.audience else {
            continue;
        };
        let gid = guild_id.db();
        if !log.is_hosted(gid).await || !log.is_federated(gid).await {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(e) = fences.entry(gid) {
            e.insert(log.sequencer(gid).await);
        }
        if fences[&gid].is_none() {
            // Another node sequences this guild: the group goes one by one (handed over).
            failed = true;
            break;
        }
        match log
            .prepare(
                gid,
                d.event,
                &d.data,
                channel.map(|c| c.db()),
                d.cause.as_deref(),
                &mut senders,
            )
            .await
        {
            Ok(row) => {
                // Tentatively: the next event of the guild chains to this one.
                log.heads.lock().insert(gid, (row.seq, row.hash.clone()));
                rows.push(row);
            }
            Err(e) => {
                tracing::error!(error = %e, event = d.event.as_str(), "federation log append failed");
                failed = true;
                break;
            }
        }
    }
    let guilds: HashSet<i64> = rows.iter().map(|r| r.guild_id).collect();
    let stored = !failed
        && {
            let fences: Vec<LeaseFence> = fences.into_values().flatten().collect();
            match log.hearth.db.append_events(&rows, &fences).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "grouped federation log append failed; appending one by one");
                    false
                }
            }
        };
    if !stored {
        // Nothing of the group is stored: forget the tentative heads and go one by one.
        {
            let mut heads = log.heads.lock();
            for g in &guilds {
                heads.remove(g);
            }
        }
        for d in group {
            write_one(log, BusEvent::Dispatch(d)).await;
        }
        return;
    }
    if rows.is_empty() {
        return;
    }
    log.appended.send_modify(|n| *n += 1);
    log.kick_peers_of(guilds).await;
}

/// Handles one bus event on its own.
async fn write_one(log: &Arc<GuildLog>, ev: BusEvent) {
    match ev {
        BusEvent::Dispatch(d) => {
            if let Err(e) = write_dispatch(log, &d).await {
                tracing::error!(error = %e, event = d.event.as_str(), "federation log append failed");
            }
        }
        BusEvent::Control(Control::Barrier { id }) => {
            log.barrier_done.send_modify(|v| *v = (*v).max(id));
        }
        BusEvent::Control(Control::GuildDeleted { guild_id }) => {
            // Its GUILD_DELETE_FEDERATED entry was written to the outbox with the deletion
            // (`Hearth::remove_guild`): move it into the log before forgetting the guild.
            super::outbox::drain(log).await;
            log.hosted.lock().remove(&guild_id.db());
        }
        BusEvent::Control(_) | BusEvent::Mark(_) => {}
    }
}

async fn write_dispatch(log: &Arc<GuildLog>, d: &Dispatch) -> crate::error::Result<()> {
    let Audience::Guild { guild_id, channel } = &d.audience else {
        return Ok(());
    };
    if d.lossy {
        // Typing and presence: pushed once, never queued, never forwarded twice.
        if d.cause.as_ref().is_some_and(|c| c.federated) {
            return Ok(());
        }
        let gid = guild_id.db();
        if log.is_hosted(gid).await {
            if log.is_federated(gid).await {
                forward_edu(log, gid, d.event, &d.data, channel.map(|c| c.db())).await;
            }
        } else if d.event == Event::PresenceUpdate {
            presence_to_host(log, gid, &d.data).await;
        }
        return Ok(());
    }
    let gid = guild_id.db();
    if !log.is_hosted(gid).await || !log.is_federated(gid).await {
        return Ok(());
    }
    // Only the guild's sequencer appends; another node's dispatch (or one whose lease was
    // lost on the way) reaches it through the outbox.
    let appended = match log.sequencer(gid).await {
        Some(fence) => {
            log.append(
                gid,
                d.event,
                &d.data,
                channel.map(|c| c.db()),
                d.cause.as_deref(),
                &fence,
            )
            .await
        }
        None => Err(crate::storage::lease_lost()),
    };
    if let Err(e) = appended {
        if !matches!(e, crate::error::Error::Unavailable(_)) {
            return Err(e);
        }
        return log.hand_over(gid, d).await;
    }
    for p in log.hearth.db.peers_of_guild(guild_id.db()).await? {
        log.kick(&p.server);
    }
    Ok(())
}

/// Sends a lossy notice to one server (fire and forget).
fn push_edu(log: &Arc<GuildLog>, server: String, edu: Value) {
    let fed = log.fed.clone();
    tokio::spawn(async move {
        let txn = format!("edu{}", rand::rng().random::<u64>());
        let body = json!({"events": [], "edus": [edu]});
        if let Err(e) = fed
            .request(
                &server,
                Method::PUT,
                &format!("/_hearth/federation/v1/send/{txn}"),
                Some(&body),
            )
            .await
        {
            tracing::debug!(server, error = %e, "lossy notice not delivered");
        }
    });
}

/// The home server of the user a notice is about (from its handle).
fn home_of(data: &Value) -> Option<String> {
    data.get("user")
        .and_then(|u| u.get("handle"))
        .and_then(|h| h.as_str())
        .and_then(|h| h.rsplit_once('@'))
        .map(|(_, s)| s.to_string())
}

/// Typing and presence of a hosted guild go to its member servers: typing only to servers
/// with a member who may see the channel, presence not back to the user's own server.
async fn forward_edu(
    log: &Arc<GuildLog>,
    guild_id: i64,
    t: Event,
    data: &Value,
    channel: Option<i64>,
) {
    let Ok(peers) = log.hearth.db.peers_of_guild(guild_id).await else {
        return;
    };
    let home = home_of(data);
    for p in peers {
        if home.as_deref() == Some(p.server.as_str()) {
            continue;
        }
        if let Some(c) = channel
            && !log
                .ctx()
                .server_sees(guild_id, &p.server, c)
                .await
                .unwrap_or(false)
        {
            continue;
        }
        push_edu(
            log,
            p.server,
            json!({"host_guild_id": guild_id.to_string(), "t": t.as_str(), "d": data}),
        );
    }
}

/// A local user's presence in a replica goes to the guild's host, which shares it.
async fn presence_to_host(log: &Arc<GuildLog>, guild_id: i64, data: &Value) {
    if home_of(data).as_deref() != Some(log.hearth.config.server_name.as_str()) {
        return;
    }
    let Ok(Some(rg)) = log.hearth.db.remote_guild(guild_id).await else {
        return;
    };
    let d = json!({"user": {"handle": data["user"]["handle"]}, "status": data["status"], "activities": data["activities"]});
    push_edu(
        log,
        rg.host,
        json!({"host_guild_id": rg.host_guild_id.to_string(), "t": Event::PresenceUpdate.as_str(), "d": d}),
    );
}
