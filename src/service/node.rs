//! This process as one node among several sharing one database (README "Scale-out" /
//! "Nodes and leases", ARCHITECTURE.md "Nodes and leases"; the `node` configuration
//! section). A [`Node`] holds its leases in `node_leases` (`src/storage/leases.rs`):
//!
//! - a **snowflake worker id** (`worker:N`, N in 0..1024), taken when the services start
//!   and held by this process alone (the holder is the node id plus a random instance
//!   suffix, so a second process with the same node id never shares it);
//! - **jobs** (`job:NAME`) that must run on one node at a time ([`Node::exclusive`]);
//! - **guild sequencers** (`sequencer:GUILD`, with their fencing token), taken by the
//!   federation log writer.
//!
//! A serving process also **claims its node id** ([`Node::claim`], lease `node:{id}` held
//! by the instance, renewed every [`CLAIM_EVERY`], lapsing after [`CLAIM_TTL`]): a second
//! live process with the same id refuses to start, a restart after a crash waits at most
//! [`CLAIM_TTL`] for the dead process's claim to lapse, and the claim's new holder raises
//! the fencing token of every lease held under the node id, so a frozen predecessor that
//! wakes can no longer append with its old tokens ([`Node::is_superseded`]).
//!
//! A keeper task renews every lease each `lease_seconds / 3` (the leases still held, a
//! thousand to a statement). Each lease is valid locally until the start of its last
//! successful renewal plus `lease_seconds` less a margin of a fifth of it, so this node
//! stops using a lease before any other node can take it. A lost
//! worker id stops the generator ([`SnowflakeGenerator::next`] waits) until the keeper
//! takes a new one; a lost job lease aborts the job's task until the lease comes back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use sha2::Digest;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::service::ports::HealthProbe;
use crate::snowflake::{SnowflakeGenerator, WORKER_IDS};
use crate::storage::{Db, RENEW_BATCH, now_ms};

/// How often [`Node::exclusive`] looks whether its lease is still held.
const SUPERVISE_EVERY: Duration = Duration::from_millis(250);
/// How often a serving node renews its claim on its node id ([`Node::claim`]).
pub const CLAIM_EVERY: Duration = Duration::from_secs(1);
/// How long a node-id claim lives unrenewed: a process silent this long (dead, or frozen)
/// loses its node id to the next process started with it.
pub const CLAIM_TTL: Duration = Duration::from_secs(3);
/// How often [`Node::claim`] looks again at a claim held by another process.
const CLAIM_POLL: Duration = Duration::from_millis(250);

/// One node: its id, its leases and the snowflake generator they license.
pub struct Node {
    /// The node id (`node.id`, or the host name and a hash of `data_dir`): the holder of
    /// job and sequencer leases.
    pub id: String,
    /// The holder of the worker lease: the node id and a random suffix, unique per process.
    instance: String,
    db: Db,
    lease_ms: i64,
    pub(crate) ids: Arc<SnowflakeGenerator>,
    /// The worker id held, if any.
    worker: Mutex<Option<u16>>,
    /// Leases this node wants (jobs, sequencers) → (token, valid until, local ms).
    held: Mutex<HashMap<String, Held>>,
    keeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Set when a graceful shutdown began (`/ready` answers 503).
    draining: AtomicBool,
    /// Set by [`Node::halt`]: no lease is taken or renewed any more.
    halted: AtomicBool,
    /// Set when another process took this node id's claim over ([`Node::is_superseded`]).
    superseded: AtomicBool,
    /// Set once [`Node::claim`] took the node id.
    claimed: AtomicBool,
    /// The task renewing the node-id claim ([`Node::claim`]).
    claimer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Extra readiness checks plugged in by the composition root ([`HealthProbe`]).
    probes: Mutex<Vec<Arc<dyn HealthProbe>>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Held {
    token: i64,
    until: i64,
}

/// A lease held now, with its fencing token ([`Node::holding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub token: i64,
}

impl Node {
    /// Takes a worker lease for this process and starts the keeper that renews it.
    ///
    /// # Errors
    /// The database fails, or all [`WORKER_IDS`] worker ids are held by live nodes (503).
    pub async fn start(config: &Config, db: Db) -> Result<Arc<Node>> {
        let id = config.node.id.clone().unwrap_or_else(|| default_id(config));
        let instance = format!("{id}#{:016x}", rand::random::<u64>());
        let node = Arc::new(Node {
            id,
            instance,
            db,
            lease_ms: (config.node.lease_seconds.max(3) * 1000) as i64,
            ids: Arc::new(SnowflakeGenerator::leased()),
            worker: Mutex::new(None),
            held: Mutex::new(HashMap::new()),
            keeper: Mutex::new(None),
            draining: AtomicBool::new(false),
            halted: AtomicBool::new(false),
            superseded: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            claimer: Mutex::new(None),
            probes: Mutex::new(Vec::new()),
        });
        node.renew_worker().await?;
        let weak = Arc::downgrade(&node);
        *node.keeper.lock() = Some(tokio::spawn(keep(weak, node.lease_ms)));
        Ok(node)
    }

    /// Marks the node as draining (a graceful shutdown began): [`Node::readiness`] fails.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether a graceful shutdown began.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Adds a readiness check (e.g. a shared cache or bus the node depends on), asked by
    /// every `GET /ready`.
    pub fn add_probe(&self, probe: Arc<dyn HealthProbe>) {
        self.probes.lock().push(probe);
    }

    /// What keeps this node from taking traffic, each a sentence: draining, no worker
    /// lease, and the failing probes.
    pub async fn readiness(&self) -> Vec<String> {
        let mut failing = Vec::new();
        if self.is_draining() {
            failing.push("node is draining (shutting down)".to_string());
        }
        if self.is_superseded() {
            failing.push(format!(
                "node.id {:?} was taken over by another process",
                self.id
            ));
        }
        if self.worker_id().is_none() {
            failing.push("no snowflake worker lease held".to_string());
        }
        let probes: Vec<_> = self.probes.lock().clone();
        for p in probes {
            if let Some(f) = p.check().await {
                failing.push(f);
            }
        }
        failing
    }

    /// Claims this node id for this process (lease `node:{id}`, held by [`Node::instance`])
    /// and keeps the claim renewed every [`CLAIM_EVERY`] until [`Node::release_all`] or
    /// [`Node::halt`]. Called by the composition root of a serving process before anything
    /// keyed by the node id is read (saved gateway sessions, voice states); operator
    /// processes (`hearth admin`) share the id of the running server and do not claim it.
    ///
    /// When another process holds the claim, this waits until it lapses (at most
    /// [`CLAIM_TTL`] and one renewal): a process killed without its graceful shutdown is
    /// replaced after at most that; one that renews it meanwhile is alive. Once taken, the
    /// fencing token of every lease held under the node id (jobs, sequencers, deliveries)
    /// is raised, so writes fenced by a predecessor's tokens fail from then on.
    ///
    /// # Errors
    /// The database fails, or another live process holds the node id (503, naming it).
    pub async fn claim(self: &Arc<Self>) -> Result<()> {
        let name = self.claim_name();
        let ttl = CLAIM_TTL.as_millis() as i64;
        let deadline = tokio::time::Instant::now() + CLAIM_TTL + CLAIM_EVERY;
        // The other holder's claim as first seen: renewed since, it is alive.
        let mut seen: Option<(String, i64)> = None;
        loop {
            let now = now_ms();
            if self
                .db
                .take_lease(&name, &self.instance, now, now + ttl)
                .await?
                .is_some()
            {
                break;
            }
            if let Some(o) = self.claim_row().await? {
                let now_seen = (o.holder, o.expires_at);
                match &seen {
                    Some(first) if *first != now_seen => {
                        return Err(id_in_use(&self.id, &now_seen.0));
                    }
                    Some(_) if tokio::time::Instant::now() >= deadline => {
                        return Err(id_in_use(&self.id, &now_seen.0));
                    }
                    Some(_) => {}
                    None => {
                        tracing::warn!(node = %self.id, holder = %now_seen.0,
                            "node.id is claimed by another process: waiting for its claim to lapse");
                        seen = Some(now_seen);
                    }
                }
            }
            tokio::time::sleep(CLAIM_POLL).await;
        }
        self.claimed.store(true, Ordering::SeqCst);
        self.db.raise_lease_tokens(&self.id).await?;
        let weak = Arc::downgrade(self);
        *self.claimer.lock() = Some(tokio::spawn(keep_claim(weak, name)));
        Ok(())
    }

    /// The name of this node id's claim lease.
    fn claim_name(&self) -> String {
        format!("node:{}", self.id)
    }

    /// The row of this node id's claim, if any (`leases` matches by prefix: `node:a` would
    /// also find `node:ab`).
    async fn claim_row(&self) -> Result<Option<crate::storage::LeaseRow>> {
        let name = self.claim_name();
        Ok(self
            .db
            .leases(&name)
            .await?
            .into_iter()
            .find(|l| l.name == name))
    }

    /// Whether another process took this node id's claim over (this one was frozen or
    /// silent past [`CLAIM_TTL`], or two processes were started with one id): this process
    /// then holds no lease under the node id any more (its jobs stop, its sequencers append
    /// nothing) and `/ready` answers 503. Its own snowflake worker lease stays.
    pub fn is_superseded(&self) -> bool {
        self.superseded.load(Ordering::SeqCst)
    }

    /// Whether the leases held under the node id are this process's to give up: it never
    /// claimed the id (an operator process, a test) or its claim was not taken by another
    /// process since (a superseded or frozen process's successor owns them).
    async fn owns_id(&self) -> bool {
        if self.is_superseded() {
            return false;
        }
        if !self.claimed.load(Ordering::SeqCst) {
            return true;
        }
        match self.claim_row().await {
            Ok(row) => row.is_none_or(|l| l.holder == self.instance),
            Err(_) => false,
        }
    }

    /// Gives up every lease held under the node id, locally only (their rows now belong to
    /// the process that took the claim over).
    fn supersede(&self, holder: &str) {
        if self.superseded.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::error!(node = %self.id, holder,
            "node.id was taken over by another process: this process stops holding its leases \
             (give each node its own node.id)");
        self.held.lock().clear();
    }

    /// The worker id this node mints with, while it holds it.
    pub fn worker_id(&self) -> Option<u16> {
        let (n, valid) = self.ids.worker();
        (valid && *self.worker.lock() == Some(n)).then_some(n)
    }

    /// The snowflake generator licensed by the worker lease.
    pub fn ids(&self) -> &Arc<SnowflakeGenerator> {
        &self.ids
    }

    /// Takes or renews the worker lease (a new worker id when the old one was taken by
    /// another node meanwhile).
    async fn renew_worker(&self) -> Result<()> {
        if self.halted.load(Ordering::SeqCst) {
            return Ok(());
        }
        let start = now_ms();
        let expires = start + self.lease_ms;
        let current = *self.worker.lock();
        if let Some(n) = current {
            let name = format!("worker:{n}");
            if self
                .db
                .take_lease(&name, &self.instance, start, expires)
                .await?
                .is_some()
            {
                self.ids.extend(self.valid_until(start));
                return Ok(());
            }
            tracing::warn!(worker = n, node = %self.id, "snowflake worker lease lost: taking another");
            self.ids.suspend();
            *self.worker.lock() = None;
        }
        match self
            .db
            .take_worker_lease(&self.instance, WORKER_IDS, start, expires)
            .await?
        {
            Some((n, _)) => {
                *self.worker.lock() = Some(n);
                self.ids.set_worker(n, self.valid_until(start));
                tracing::info!(worker = n, node = %self.id, "snowflake worker id leased");
                Ok(())
            }
            None => Err(Error::Unavailable(
                "every snowflake worker id is leased by a live node".into(),
            )),
        }
    }

    /// Until when (local ms) a lease renewed at `start` may be used.
    fn valid_until(&self, start: i64) -> u64 {
        (start + self.lease_ms - self.lease_ms / 5).max(0) as u64
    }

    /// Wants lease `name` (`job:..`, `sequencer:..`): the keeper takes and renews it from
    /// now on. Tries once at once and tells whether it is held.
    ///
    /// # Errors
    /// The database fails.
    pub async fn want(&self, name: &str) -> Result<Option<Fence>> {
        if self.is_superseded() {
            return Ok(None);
        }
        self.held.lock().entry(name.to_string()).or_default();
        self.renew(name).await
    }

    /// Stops wanting lease `name` and gives it up.
    pub async fn give_up(&self, name: &str) {
        self.held.lock().remove(name);
        if self.is_superseded() {
            return;
        }
        if let Err(e) = self.db.release_lease(name, &self.id).await {
            tracing::warn!(lease = name, error = %e, "cannot release a lease");
        }
    }

    /// Lease `name` with its fencing token, while this node holds it (locally valid).
    pub fn holding(&self, name: &str) -> Option<Fence> {
        let held = self.held.lock();
        let h = held.get(name)?;
        (h.until > now_ms()).then_some(Fence { token: h.token })
    }

    /// Whether this node runs job `job` now (holds `job:{job}`).
    pub fn runs(&self, job: &str) -> bool {
        self.holding(&format!("job:{job}")).is_some()
    }

    /// Tries to take or renew one wanted lease.
    async fn renew(&self, name: &str) -> Result<Option<Fence>> {
        if self.halted.load(Ordering::SeqCst) || self.is_superseded() {
            return Ok(None);
        }
        let start = now_ms();
        let token = self
            .db
            .take_lease(name, &self.id, start, start + self.lease_ms)
            .await?;
        let mut held = self.held.lock();
        let Some(h) = held.get_mut(name) else {
            return Ok(None);
        };
        match token {
            Some(t) => {
                *h = Held {
                    token: t,
                    until: self.valid_until(start) as i64,
                };
                Ok(Some(Fence { token: t }))
            }
            None => {
                *h = Held::default();
                Ok(None)
            }
        }
    }

    /// One round of the keeper: the worker lease, then every wanted lease. The leases still
    /// held are renewed [`RENEW_BATCH`] to a statement; each of the others (lost, lapsed,
    /// never taken) is asked for with a statement of its own. So a node holding thousands
    /// of sequencer leases renews them with a few statements per round.
    pub async fn renew_all(&self) {
        if let Err(e) = self.renew_worker().await {
            tracing::warn!(node = %self.id, error = %e, "cannot renew the snowflake worker lease");
        }
        let names: Vec<String> = self.held.lock().keys().cloned().collect();
        let mut others = Vec::new();
        for chunk in names.chunks(RENEW_BATCH) {
            match self.renew_held(chunk).await {
                Ok(renewed) => others.extend(chunk.iter().filter(|n| !renewed.contains(*n))),
                Err(e) => tracing::warn!(error = %e, "cannot renew leases"),
            }
        }
        for name in others {
            if let Err(e) = self.renew(name).await {
                tracing::warn!(lease = %name, error = %e, "cannot renew a lease");
            }
        }
    }

    /// Renews, in one statement, those of `names` this node still holds; returns them.
    async fn renew_held(&self, names: &[String]) -> Result<HashSet<String>> {
        if self.halted.load(Ordering::SeqCst) || self.is_superseded() {
            return Ok(HashSet::new());
        }
        let start = now_ms();
        let rows = self
            .db
            .renew_leases(names, &self.id, start, start + self.lease_ms)
            .await?;
        let until = self.valid_until(start) as i64;
        let mut held = self.held.lock();
        let mut renewed = HashSet::with_capacity(rows.len());
        for (name, token) in rows {
            if let Some(h) = held.get_mut(&name) {
                *h = Held { token, until };
            }
            renewed.insert(name);
        }
        Ok(renewed)
    }

    /// Runs the task `make()` builds while this node holds `job:{job}`: started when the
    /// lease is taken, aborted as soon as it is lost (another node then runs it), started
    /// again when it comes back or when it ended while the lease is held (checked every
    /// `SUPERVISE_EVERY`). Never returns; aborting it aborts the job too.
    pub async fn exclusive<F, Fut>(self: Arc<Self>, job: &'static str, make: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let name = format!("job:{job}");
        if let Err(e) = self.want(&name).await {
            tracing::warn!(job, error = %e, "cannot take a job lease");
        }
        // Dropping the guard aborts the job: when the lease is lost, and when this
        // supervisor itself is aborted (a shutdown), so the job never outlives it.
        let mut running: Option<AbortOnDrop> = None;
        let mut tick = tokio::time::interval(SUPERVISE_EVERY);
        loop {
            tick.tick().await;
            if self.holding(&name).is_some() {
                match &running {
                    Some(r) if !r.0.is_finished() => {}
                    Some(_) => {
                        tracing::warn!(job, node = %self.id, "job ended while its lease is held: starting it again");
                        running = Some(AbortOnDrop(tokio::spawn(make())));
                    }
                    None => {
                        tracing::info!(job, node = %self.id, "job lease taken: running the job here");
                        running = Some(AbortOnDrop(tokio::spawn(make())));
                    }
                }
            } else if running.take().is_some() {
                tracing::info!(job, node = %self.id, "job lease lost: stopping the job here");
            }
        }
    }

    /// The holder name of this process (the node id and a random suffix): unique per process,
    /// so two processes started with one node id are still two holders (presence, spec/cluster.md §7).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Stops renewing without giving anything up, as if the process had frozen or died: the
    /// leases lapse after `lease_seconds` (for tests of failover).
    pub fn halt(&self) {
        self.halted.store(true, Ordering::SeqCst);
        for task in [&self.keeper, &self.claimer] {
            if let Some(k) = task.lock().take() {
                k.abort();
            }
        }
        self.held.lock().clear();
        self.ids.suspend();
    }

    /// Graceful end: stops the keeper and gives up every lease of this node and process,
    /// so other nodes take them over at once; the node-id claim goes last (with the
    /// process's own leases), so the next process with this id finds the others free.
    /// A superseded process gives up only its own (the node id's belong to its successor).
    pub async fn release_all(&self) {
        self.halted.store(true, Ordering::SeqCst);
        for task in [&self.keeper, &self.claimer] {
            if let Some(k) = task.lock().take() {
                k.abort();
            }
        }
        self.held.lock().clear();
        let holders = if self.owns_id().await {
            vec![&self.id, &self.instance]
        } else {
            vec![&self.instance]
        };
        for holder in holders {
            if let Err(e) = self.db.release_leases_of(holder).await {
                tracing::warn!(node = %self.id, error = %e, "cannot release the leases");
            }
        }
    }

    /// Gives up this process's worker lease only (an operator process sharing the node id
    /// of a running server).
    pub async fn release_worker(&self) {
        if let Some(k) = self.keeper.lock().take() {
            k.abort();
        }
        let _ = self.db.release_leases_of(&self.instance).await;
    }
}

/// A job's task, aborted when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The keeper: renews every lease each third of the lease time, until the node is dropped.
async fn keep(node: Weak<Node>, lease_ms: i64) {
    let mut tick = tokio::time::interval(Duration::from_millis((lease_ms / 3) as u64));
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(n) = node.upgrade() else { return };
        n.renew_all().await;
    }
}

/// The claim's renewal task: every [`CLAIM_EVERY`] until the node is dropped, halted or
/// superseded (another process holds the claim: [`Node::supersede`]).
async fn keep_claim(node: Weak<Node>, name: String) {
    let mut tick = tokio::time::interval(CLAIM_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(n) = node.upgrade() else { return };
        if n.halted.load(Ordering::SeqCst) {
            return;
        }
        let now = now_ms();
        let ttl = CLAIM_TTL.as_millis() as i64;
        match n.db.take_lease(&name, &n.instance, now, now + ttl).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let holder = n.claim_row().await.ok().flatten().map(|l| l.holder);
                n.supersede(holder.as_deref().unwrap_or("?"));
                return;
            }
            Err(e) => tracing::warn!(node = %n.id, error = %e, "cannot renew the node-id claim"),
        }
    }
}

/// The error of a process whose node id another live process holds.
fn id_in_use(id: &str, holder: &str) -> Error {
    Error::Unavailable(format!(
        "node.id {id:?} is in use by another running process ({holder}): give each node its \
         own node.id (HEARTH_NODE__ID)"
    ))
}

/// The default node id: the host name and the first 8 hex digits of the SHA-256 of the
/// absolute `data_dir`.
fn default_id(config: &Config) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hearth".into());
    let dir = std::path::absolute(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone());
    let hash = sha2::Sha256::digest(dir.to_string_lossy().as_bytes());
    format!("{host}-{}", &hex::encode(hash)[..8])
}
