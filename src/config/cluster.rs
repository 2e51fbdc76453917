//! The `cluster` section: several Hearth nodes sharing one PostgreSQL database and one Redis
//! (README "Scale-out"). Unset `redis_url` (the default) is the single node: an in-process
//! event bus and in-process rate limits, exactly as without this section.

use serde::{Deserialize, Serialize};

/// Redis for scale-out: the event bus between nodes (`src/cluster/bus.rs`, spec/cluster.md)
/// and rate limits shared by every node (`src/cluster/limits.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterConfig {
    /// `redis://host:port/db` (or `rediss://` with TLS). Unset: single node. Needs a
    /// PostgreSQL `database_url` (every node must see the same data).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel this cluster uses (several clusters, or tests,
    /// can share one Redis). Default `hearth:`.
    pub redis_key_prefix: String,
    /// Entries kept per guild or user stream (approximate trim, `XADD MAXLEN ~`): how far a
    /// lagging node can catch up. Default 10000.
    pub stream_max_len: u64,
    /// Seconds a node's presence entry lives without renewal (spec/cluster.md §7): the users
    /// of a node that crashed go offline within this bound. Renewed every third of it.
    /// Default 30; 2 to 3600.
    pub presence_ttl_seconds: u64,
    /// Whether this node keeps a crash record of each gateway session in Redis, so that its
    /// clients can RESUME on another node if it dies without draining (spec/cluster.md §9.1).
    /// Default `false`: each batch of frames a connection writes waits for a Redis write
    /// first (one `XADD` per round trip for all the node's sessions; BENCHMARKS.md "Crash
    /// records in one stream per node"); a node that is killed then leaves its clients to
    /// identify anew. Any node takes the records of dead nodes.
    pub crash_resume: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: None,
            redis_key_prefix: "hearth:".into(),
            stream_max_len: 10_000,
            presence_ttl_seconds: 30,
            crash_resume: false,
        }
    }
}

impl ClusterConfig {
    /// Problems of this section given the database URL in effect, each a sentence.
    pub fn problems(&self, database_url: &str) -> Vec<String> {
        let mut p = Vec::new();
        let Some(url) = &self.redis_url else {
            return p;
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            p.push(format!(
                "cluster.redis_url = {url:?} is not a redis:// or rediss:// URL"
            ));
        }
        if !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            p.push(
                "cluster.redis_url needs a PostgreSQL database_url: the nodes of a cluster share \
                 one database (SQLite is for the single node)"
                    .into(),
            );
        }
        if self.redis_key_prefix.is_empty() || self.redis_key_prefix.len() > 64 {
            p.push("cluster.redis_key_prefix must have 1 to 64 characters".into());
        }
        if self.stream_max_len < 100 {
            p.push(format!(
                "cluster.stream_max_len = {} is below 100",
                self.stream_max_len
            ));
        }
        if !(2..=3600).contains(&self.presence_ttl_seconds) {
            p.push(format!(
                "cluster.presence_ttl_seconds = {} is outside 2..=3600",
                self.presence_ttl_seconds
            ));
        }
        p
    }
}
