//! The `gateway` section: the real-time gateway's limits, replay window, admission rates,
//! load shedding, dispatcher shards and passive guilds (README "Gateway" and the configuration table).

use serde::{Deserialize, Serialize};

/// Gateway settings (used by the real-time gateway).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayConfig {
    /// HELLO `heartbeat_interval` in milliseconds (Discord: 41250).
    pub heartbeat_interval_ms: u64,
    /// Public gateway URL given by `GET /gateway`; default `ws://{listen}/gateway`.
    pub public_url: Option<String>,
    /// Most dispatches one RESUME may replay (beyond: INVALID_SESSION).
    pub replay_events: usize,
    /// How long a detached session stays resumable, and dispatches stay in the shared
    /// replay log, in seconds.
    pub replay_seconds: u64,
    /// Byte budget of the shared replay log over all guilds and users (oldest dropped first;
    /// a RESUME that needs a dropped entry gets INVALID_SESSION).
    pub replay_log_bytes: usize,
    /// Outbound frames queued per session before a slow client is disconnected.
    pub session_queue: usize,
    /// Largest inbound frame in bytes (close 4002 beyond).
    pub max_frame_bytes: usize,
    /// Time a connection has after HELLO to IDENTIFY or RESUME, ms (default 20 000); beyond
    /// it the connection is closed with 4003 (not authenticated), heartbeats or not.
    pub identify_timeout_ms: u64,
    /// IDENTIFYs admitted per second over the whole server (default 1 000; 0: no limit). A
    /// RESUME takes `1 / resumes_per_identify` of an IDENTIFY's share of this rate. Beyond it
    /// connections wait their turn (README "Gateway admission").
    pub admission_per_second: u32,
    /// RESUMEs admitted in the place of one IDENTIFY (default 10; at least 1): a RESUME
    /// builds no READY, it re-attaches a session and replays from the shared log, so a
    /// reconnect storm of RESUMEs is admitted this many times faster than one of IDENTIFYs.
    pub resumes_per_identify: u32,
    /// Longest wait for admission, ms (default 15 000); a connection not admitted by then is
    /// closed with 4008 and reconnects later.
    pub admission_wait_ms: u64,
    /// IDENTIFYs per bot per 5 seconds (Discord's `max_concurrency`, default 16); beyond it
    /// an IDENTIFY waits. User clients are not held to it.
    pub max_concurrency: u32,
    /// Session starts (IDENTIFYs) per user per window (Discord's `session_start_limit.total`,
    /// default 1 000); beyond it IDENTIFY is closed with 4008 until the window ends.
    pub session_start_limit: u32,
    /// Length of that window, seconds (default 86 400, Discord's 24 hours).
    pub session_start_window_seconds: u64,
    /// Load shedding: bus events waiting for the dispatcher beyond which typing and presence
    /// updates are dropped before routing (default 4 096; message, member and permission
    /// events are never dropped). A session more than `session_queue / 2` frames behind
    /// gets no typing or presence either.
    pub shed_backlog: usize,
    /// Dispatcher shards: tasks that route dispatches in parallel, each owning the guilds
    /// (and, for user-addressed dispatches, the users) whose id hashes to it (README
    /// "Gateway"). Default 0: the machine's available parallelism; at least 1 is used.
    pub dispatch_shards: usize,
    /// Gateway connection starts and ends after which freed heap is given back to the
    /// operating system (glibc `malloc_trim`, once the churn has settled for half a second;
    /// README "Memory"). For a process whose allocator is glibc's malloc (the `hearth`
    /// binary's is jemalloc, which needs no trimming). Default 0: never.
    pub heap_trim_churn: u64,
    /// Passive guilds (spec/gateway.md "Passive guilds"): a guild with more members than
    /// this is passive for a user session that opted in (IDENTIFY `capabilities` bit 11) and
    /// has not subscribed to it (op 14 / op 37). Default 1 000.
    pub passive_guild_threshold: u64,
    /// Seconds a subscription keeps a guild active after it was last sent (clients re-send
    /// it while the guild is open); default 900; 0: until the session ends.
    pub passive_idle_seconds: u64,
    /// Subscribed (active) guilds per session; subscribing to one more makes the least
    /// recently subscribed passive again. Default 5 (at least 1 is used).
    pub passive_subscribed_guilds: usize,
    /// Coalescing of `PASSIVE_UPDATE_V1`: at most one per passive guild and session per this
    /// many milliseconds (the first at once). Default 1 000.
    pub passive_update_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            heartbeat_interval_ms: 41_250,
            public_url: None,
            replay_events: 2_000,
            replay_seconds: 300,
            replay_log_bytes: 64 << 20,
            session_queue: 1_024,
            max_frame_bytes: 16 * 1024,
            identify_timeout_ms: 20_000,
            admission_per_second: 1_000,
            resumes_per_identify: 10,
            admission_wait_ms: 15_000,
            max_concurrency: 16,
            session_start_limit: 1_000,
            session_start_window_seconds: 86_400,
            shed_backlog: 4_096,
            dispatch_shards: 0,
            heap_trim_churn: 0,
            passive_guild_threshold: 1_000,
            passive_idle_seconds: 900,
            passive_subscribed_guilds: 5,
            passive_update_ms: 1_000,
        }
    }
}

impl GatewayConfig {
    /// The number of dispatcher shards in use: `dispatch_shards`, or the available
    /// parallelism when it is 0 (1 if unknown); at least 1.
    pub fn shard_count(&self) -> usize {
        match self.dispatch_shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}
