//! Replica locks: events of one remote guild are applied by one task at a time, across every
//! node of this server (README "Scale-out", spec/federation.md §10).
//!
//! Within a process each replica has a `tokio` mutex. On PostgreSQL the holder of that mutex
//! also takes a session-level advisory lock on one connection the process keeps for these
//! locks alone (outside the pool, so a node applying many replicas at once never waits for a
//! pooled connection it holds itself). The key is PostgreSQL's two-key form
//! `(guild_id >> 32, guild_id & 0xffffffff)` as `int4`s, a space the one-key (`bigint`) join
//! locks of the outbox never meet. A node that dies (even `kill -9`) closes its connection
//! and PostgreSQL releases its locks at once; no lease has to lapse. SQLite serves one node:
//! the mutex alone.
//!
//! Limits: a lock held by another node is asked for again every 2-50 ms for up to
//! [`REPLICA_LOCK_WAIT`], then the caller gets [`Error::Unavailable`] (503; a pushing host
//! retries its delivery).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::OwnedMutexGuard;

use crate::error::{Error, Result};

/// Longest wait for a replica lock another node holds (30 s).
pub const REPLICA_LOCK_WAIT: Duration = Duration::from_secs(30);

/// The replica locks of one process.
pub struct ReplicaLocks {
    local: parking_lot::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// PostgreSQL: the connection for the advisory locks (`None` until first used, and
    /// after an error, so the next lock connects anew).
    pg: Option<(
        Arc<PgConnectOptions>,
        tokio::sync::Mutex<Option<PgConnection>>,
    )>,
}

impl std::fmt::Debug for ReplicaLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaLocks")
            .field("cross_node", &self.pg.is_some())
            .finish_non_exhaustive()
    }
}

/// A held replica lock; dropping it releases the lock (the advisory lock from a spawned task).
pub struct ReplicaGuard {
    _local: OwnedMutexGuard<()>,
    held: Option<(Arc<ReplicaLocks>, i64)>,
}

impl Drop for ReplicaGuard {
    fn drop(&mut self) {
        if let Some((locks, key)) = self.held.take() {
            // Released after the mutex: a task of this process that takes the mutex before
            // the unlock runs takes the advisory lock again on the same connection (its
            // count goes to 2, then back to 1), so the lock never lapses in between.
            // (Outside a runtime, being shut down, the connection goes with the process.)
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { locks.unlock(key).await });
            }
        }
    }
}

/// The two `int4` keys of `guild_id`'s advisory lock.
fn keys(guild_id: i64) -> (i32, i32) {
    ((guild_id >> 32) as i32, guild_id as i32)
}

impl ReplicaLocks {
    /// Locks for `db`: cross-node on PostgreSQL, in-process on SQLite.
    pub fn new(db: &hearth_db::Db) -> ReplicaLocks {
        ReplicaLocks {
            local: parking_lot::Mutex::new(HashMap::new()),
            pg: match db {
                hearth_db::Db::Postgres(pool) => {
                    Some((pool.connect_options(), tokio::sync::Mutex::new(None)))
                }
                hearth_db::Db::Sqlite(_) => None,
            },
        }
    }

    /// Takes the lock of replica `guild_id` (the local guild id; `0` is the lock under which
    /// a joined guild's local id is minted): first this process' mutex, then on PostgreSQL
    /// the advisory lock.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when another node held it for [`REPLICA_LOCK_WAIT`];
    /// [`Error::Database`] when PostgreSQL cannot be reached.
    pub async fn lock(self: &Arc<Self>, guild_id: i64) -> Result<ReplicaGuard> {
        let mutex = self.local.lock().entry(guild_id).or_default().clone();
        let local = mutex.lock_owned().await;
        if self.pg.is_none() {
            return Ok(ReplicaGuard {
                _local: local,
                held: None,
            });
        }
        let start = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            if self.try_lock(guild_id).await? {
                return Ok(ReplicaGuard {
                    _local: local,
                    held: Some((self.clone(), guild_id)),
                });
            }
            if start.elapsed() >= REPLICA_LOCK_WAIT {
                return Err(Error::Unavailable(format!(
                    "the replica of guild {guild_id} stayed locked by another node for {} s",
                    REPLICA_LOCK_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// One `pg_try_advisory_lock` on the lock connection (connected on demand; dropped on
    /// an error, which also releases every advisory lock it held).
    async fn try_lock(&self, guild_id: i64) -> Result<bool> {
        let Some((options, conn)) = &self.pg else {
            return Ok(true);
        };
        let mut conn = conn.lock().await;
        if conn.is_none() {
            *conn = Some(PgConnection::connect_with(options).await?);
        }
        let (k1, k2) = keys(guild_id);
        let got = sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1, $2)")
            .bind(k1)
            .bind(k2)
            .fetch_one(conn.as_mut().expect("connected above"))
            .await;
        match got {
            Ok(got) => Ok(got),
            Err(e) => {
                tracing::warn!(error = %e, "the replica lock connection failed; the locks it held are released");
                *conn = None;
                Err(e.into())
            }
        }
    }

    async fn unlock(&self, guild_id: i64) {
        let Some((_, conn)) = &self.pg else {
            return;
        };
        let mut conn = conn.lock().await;
        let Some(c) = conn.as_mut() else {
            // The connection was lost: PostgreSQL released the lock with it.
            return;
        };
        let (k1, k2) = keys(guild_id);
        let r = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1, $2)")
            .bind(k1)
            .bind(k2)
            .fetch_one(c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "releasing a replica lock failed; dropping the lock connection");
            *conn = None;
        }
    }
}
