//! Scale-out on Redis (README "Scale-out", spec/cluster.md): several nodes share one
//! PostgreSQL database and one Redis. [`Cluster`] is the Redis connection of a node, built
//! by the composition root from the `cluster` section; [`RedisBus`] is the event bus between
//! nodes, [`RedisLimits`] the rate-limit buckets, [`RedisBackoff`] the login backoff's
//! failure counters, [`RedisStarts`] the session-start
//! windows (`session_start_limit`), [`RedisSlowmode`] the slow-mode slots and
//! [`RedisPresence`] the presence every node shares. Without `cluster.redis_url` none of this exists and the node runs alone on its
//! in-process bus.

pub mod backoff;
pub mod bus;
pub mod handoff;
mod journal;
pub mod limits;
mod loss;
pub mod presence;
pub mod registrar;
pub mod slowmode;
pub mod starts;

use redis::aio::ConnectionManager;

pub use backoff::RedisBackoff;
pub use bus::RedisBus;
pub use limits::RedisLimits;
pub use presence::RedisPresence;
pub use registrar::RedisRegistrarMarks;
pub use slowmode::RedisSlowmode;
pub use starts::RedisStarts;

use crate::config::ClusterConfig;
use crate::error::{Error, Result};

/// How long `/ready` waits for Redis to answer a `PING` (500 ms).
pub const REDIS_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a long read ([`Cluster::long_reads`]) may take to answer.
pub const LONG_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A node's Redis: the client (for dedicated connections: the stream reader and pub/sub)
/// and a shared multiplexed connection that reconnects by itself.
#[derive(Clone)]
pub struct Cluster {
    pub client: redis::Client,
    pub conn: ConnectionManager,
    /// `cluster.redis_key_prefix`: prefix of every key and channel.
    pub prefix: String,
    /// `cluster.stream_max_len`.
    pub stream_max_len: u64,
}

impl Cluster {
    /// Connects to `cluster.redis_url`; `None` when it is unset (single node).
    ///
    /// # Errors
    /// [`Error::Internal`] when the URL is invalid or Redis does not answer.
    pub async fn connect(c: &ClusterConfig) -> Result<Option<Cluster>> {
        let Some(url) = &c.redis_url else {
            return Ok(None);
        };
        let client = redis::Client::open(url.as_str())
            .map_err(|e| Error::internal(format!("cluster.redis_url: {e}")))?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(|e| Error::internal(format!("cannot connect to Redis: {e}")))?;
        Ok(Some(Cluster {
            client,
            conn,
            prefix: c.redis_key_prefix.clone(),
            stream_max_len: c.stream_max_len,
        }))
    }

    /// A second connection of its own (blocking reads must not stall the shared one).
    pub(crate) async fn dedicated(&self) -> redis::RedisResult<ConnectionManager> {
        self.client.get_connection_manager().await
    }

    /// A connection of its own for long reads (what moved sessions missed, read by many
    /// RESUMEs at once), whose answers may take up to [`LONG_READ_TIMEOUT`].
    pub(crate) async fn long_reads(&self) -> redis::RedisResult<ConnectionManager> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(LONG_READ_TIMEOUT));
        self.client.get_connection_manager_with_config(config).await
    }
}

impl Cluster {
    /// `None` when Redis answers a `PING` within [`REDIS_PROBE_TIMEOUT`], else a sentence
    /// (`redis: ...`); the composition root makes it a `/ready` probe, so a node that cannot
    /// reach the cluster's bus takes no new traffic (README "Scale-out").
    pub async fn ping(&self) -> Option<String> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(REDIS_PROBE_TIMEOUT, ping).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(format!("redis: {e}")),
            Err(_) => Some(format!(
                "redis: no answer to PING within {} ms",
                REDIS_PROBE_TIMEOUT.as_millis()
            )),
        }
    }
}
