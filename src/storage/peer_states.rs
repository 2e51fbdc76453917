//! Delivery health of member servers (migration 0028, spec/federation.md §9.3-§9.4): when a
//! server stopped answering, when it was marked dead, and the probes sent to it while dead;
//! and the per-(guild, server) failure records of pushes.

use super::{Db, on_db, write_tx};
use crate::error::Result;

/// A row of `federation_peer_states`: a member server whose deliveries went unanswered.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeerStateRow {
    pub server: String,
    /// Start of the current run of unanswered deliveries (ms); `None`: it answers.
    pub failing_since: Option<i64>,
    /// When it was marked dead (ms); `None`: alive.
    pub dead_at: Option<i64>,
    /// Probes sent while dead (running total).
    pub probes: i64,
    /// Time of the last probe (ms).
    pub last_probe_at: Option<i64>,
}

impl Db {
    /// Every stored peer state (read once at start-up).
    pub async fn peer_states(&self) -> Result<Vec<PeerStateRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT server, failing_since, dead_at, probes, last_probe_at FROM federation_peer_states \
             WHERE failing_since IS NOT NULL OR dead_at IS NOT NULL ORDER BY server")
            .fetch_all(p).await)?)
    }

    /// The stored state of `server`, if any.
    pub async fn peer_state(&self, server: &str) -> Result<Option<PeerStateRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT server, failing_since, dead_at, probes, last_probe_at FROM federation_peer_states WHERE server = $1")
            .bind(server).fetch_optional(p).await)?)
    }

    /// Records that `server` has not answered since `since` (ms; an earlier start is kept).
    pub async fn peer_failing(&self, server: &str, since: i64) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO federation_peer_states (server, failing_since) VALUES ($1, $2) \
             ON CONFLICT (server) DO UPDATE SET failing_since = COALESCE(federation_peer_states.failing_since, $2)")
            .bind(server).bind(since).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Marks `server` dead at `at` (ms; an earlier mark is kept).
    pub async fn peer_dead(&self, server: &str, at: i64) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO federation_peer_states (server, failing_since, dead_at) VALUES ($1, $2, $2) \
             ON CONFLICT (server) DO UPDATE SET dead_at = COALESCE(federation_peer_states.dead_at, $2)")
            .bind(server).bind(at).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Counts a probe of dead `server` sent at `at` (ms).
    pub async fn peer_probed(&self, server: &str, at: i64) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "UPDATE federation_peer_states SET probes = probes + 1, last_probe_at = $2 WHERE server = $1")
            .bind(server).bind(at).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// `server` answered: it is neither failing nor dead any more, and (`reset_backoff`) the
    /// backoff of all its guilds is cleared, in one transaction.
    pub async fn peer_answering(&self, server: &str, reset_backoff: bool) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("UPDATE federation_peer_states SET failing_since = NULL, dead_at = NULL WHERE server = $1")
                .bind(server).execute(&mut *tx).await?;
            if reset_backoff {
                sqlx::query("UPDATE guild_peers SET failures = 0, next_attempt_at = 0 WHERE server = $1")
                    .bind(server).execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Records a failed push of guild `guild_id` to `server`: its consecutive `failures` and
    /// the time of its next attempt (ms); counts the attempt.
    pub async fn guild_peer_failed(
        &self,
        guild_id: i64,
        server: &str,
        failures: i64,
        next_attempt_at: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "UPDATE guild_peers SET failures = $1, next_attempt_at = $2, push_attempts = push_attempts + 1 \
             WHERE guild_id = $3 AND server = $4")
            .bind(failures).bind(next_attempt_at).bind(guild_id).bind(server).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
