//! Operator controls (migration 0022): blocked federation servers, the registrar link's last
//! outcome, the events an operator command hands to the running server, and the summaries
//! `hearth admin` and `/metrics` read (federation peers, invites).

use super::atomic::write_tx;
use super::{Db, InviteRow, on_db};
use crate::error::Result;

/// A row of `federation_blocks`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlockRow {
    /// Server name, lower-case (with its port when it has one).
    pub server: String,
    pub reason: Option<String>,
    /// ms since the epoch.
    pub created_at: i64,
}

/// The registrar link's last outcome (`registrar_link_state`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrarStateRow {
    /// The registrar's base URL.
    pub registrar: String,
    /// Successful registrations, over every start.
    pub registrations: i64,
    /// The key id current at the last successful registration.
    pub registered_key: Option<String>,
    /// ms since the epoch.
    pub last_attempt_at: i64,
    pub last_success_at: Option<i64>,
    /// The last attempt's error; `None` when it succeeded.
    pub last_error: Option<String>,
}

/// A member server of hosted guilds, summed over them (`hearth admin federation peers`,
/// `hearth_federation_peer_*` metrics).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeerSummaryRow {
    pub server: String,
    /// Hosted guilds it is a member server of.
    pub guilds: i64,
    /// Log events not yet acknowledged, over those guilds.
    pub pending: i64,
    /// When the oldest unacknowledged event was logged (ms), if any is pending.
    pub oldest_pending_at: Option<i64>,
    /// Consecutive failed deliveries (the highest over its guilds).
    pub failures: i64,
    /// Next delivery attempt (ms; 0 = now).
    pub next_attempt_at: i64,
    /// Whether it is marked dead: no pushes until it answers again (spec/federation.md §9.4).
    pub dead: bool,
    /// Start of its current run of unanswered deliveries (ms), if any.
    pub failing_since: Option<i64>,
    /// When it was marked dead (ms), if it is.
    pub dead_at: Option<i64>,
    /// Push requests attempted over its current guilds (running total).
    pub push_attempts: i64,
    /// Probes sent while it was dead (running total).
    pub probes: i64,
}

/// A row of `operator_events`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperatorEventRow {
    pub id: i64,
    /// A bus event as JSON (`service::relay`).
    pub event: String,
}

impl Db {
    /// Every blocked server, by name.
    pub async fn federation_blocks(&self) -> Result<Vec<BlockRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT server, reason, created_at FROM federation_blocks ORDER BY server")
            .fetch_all(p).await)?)
    }

    /// Blocks `server` (lower-case); `false` if it was blocked already (the reason is kept).
    pub async fn block_server(&self, server: &str, reason: Option<&str>, now: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query(
            "INSERT INTO federation_blocks (server, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT (server) DO NOTHING")
            .bind(server).bind(reason).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Lifts the block `server` (a name or pattern) and, in the same transaction, clears the
    /// delivery backoff that refused deliveries built up for the member servers `peers` it
    /// matched (so their next delivery is attempted at once); `false` if it was not blocked.
    pub async fn unblock_server(&self, server: &str, peers: &[String]) -> Result<bool> {
        let n = on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM federation_blocks WHERE server = $1")
                .bind(server).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                for peer in peers {
                    sqlx::query("UPDATE guild_peers SET failures = 0, next_attempt_at = 0 WHERE server = $1")
                        .bind(peer).execute(&mut *tx).await?;
                }
            }
            tx.commit().await.map(|_| n)
        })?;
        Ok(n > 0)
    }

    /// Whether user `user_id`'s account was deleted (`users.deleted_at` is set).
    pub async fn is_deleted_account(&self, user_id: i64) -> Result<bool> {
        let r: Option<(Option<i64>,)> = on_db!(self, p => sqlx::query_as("SELECT deleted_at FROM users WHERE id = $1")
            .bind(user_id).fetch_optional(p).await)?;
        Ok(matches!(r, Some((Some(_),))))
    }

    /// Records one registration attempt of the link to `registrar` at `now`: a success with
    /// the key it registered (`Ok(key_id)`), or the error.
    pub async fn record_registrar_attempt(
        &self,
        registrar: &str,
        outcome: std::result::Result<&str, &str>,
        now: i64,
    ) -> Result<()> {
        let (ok, key, error) = match outcome {
            Ok(k) => (1i64, Some(k), None),
            Err(e) => (0, None, Some(e)),
        };
        on_db!(self, p => sqlx::query(
            "INSERT INTO registrar_link_state (registrar, registrations, registered_key, last_attempt_at, last_success_at, last_error) \
             VALUES ($1, $2, $3, $4, CASE WHEN $2 = 1 THEN $4 END, $5) \
             ON CONFLICT (registrar) DO UPDATE SET \
               registrations = registrar_link_state.registrations + $2, \
               registered_key = COALESCE($3, registrar_link_state.registered_key), \
               last_attempt_at = $4, \
               last_success_at = CASE WHEN $2 = 1 THEN $4 ELSE registrar_link_state.last_success_at END, \
               last_error = $5")
            .bind(registrar).bind(ok).bind(key).bind(now).bind(error).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The recorded state of every registrar link.
    pub async fn registrar_states(&self) -> Result<Vec<RegistrarStateRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT registrar, registrations, registered_key, last_attempt_at, last_success_at, last_error FROM registrar_link_state ORDER BY registrar")
            .fetch_all(p).await)?)
    }

    /// Member servers of hosted guilds with their delivery backlog, by name.
    pub async fn peer_summaries(&self) -> Result<Vec<PeerSummaryRow>> {
        // The event right after a peer's cursor is its oldest undelivered one; the head is the
        // guild's newest (both one lookup in the primary key per peer).
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT g.*, s.failing_since AS failing_since, s.dead_at AS dead_at, \
               s.dead_at IS NOT NULL AS dead, COALESCE(s.probes, 0) AS probes \
             FROM (SELECT q.server AS server, COUNT(*) AS guilds, \
               CAST(COALESCE(SUM(CASE WHEN q.head > q.acked_seq THEN q.head - q.acked_seq ELSE 0 END), 0) AS BIGINT) AS pending, \
               MIN(q.oldest) AS oldest_pending_at, \
               CAST(MAX(q.failures) AS BIGINT) AS failures, CAST(MIN(q.next_attempt_at) AS BIGINT) AS next_attempt_at, \
               CAST(SUM(q.push_attempts) AS BIGINT) AS push_attempts \
             FROM (SELECT p.server, p.acked_seq, p.failures, p.next_attempt_at, p.push_attempts, \
                     (SELECT MAX(e.seq) FROM guild_events e WHERE e.guild_id = p.guild_id) AS head, \
                     (SELECT e.created_at FROM guild_events e WHERE e.guild_id = p.guild_id AND e.seq = p.acked_seq + 1) AS oldest \
                   FROM guild_peers p) q \
             GROUP BY q.server) g \
             LEFT JOIN federation_peer_states s ON s.server = g.server \
             ORDER BY g.server")
            .fetch_all(p).await)?)
    }

    /// Entries of the federation outbox not yet moved into the log.
    pub async fn outbox_depth(&self) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM guild_outbox")
            .fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Invites of guild `guild_id`, or of every guild, oldest first, at most `limit`.
    pub async fn list_invites(&self, guild_id: Option<i64>, limit: i64) -> Result<Vec<InviteRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT * FROM invites WHERE ($1 IS NULL OR guild_id = $1) ORDER BY created_at, code LIMIT $2")
            .bind(guild_id).bind(limit).fetch_all(p).await)?)
    }

    /// Stores bus events (JSON) for the running server, in one statement each, in order.
    pub async fn insert_operator_events(&self, events: &[String], now: i64) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            for e in events {
                sqlx::query("INSERT INTO operator_events (event, created_at) VALUES ($1, $2)")
                    .bind(e).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// The highest `operator_events` id (0 when empty).
    pub async fn last_operator_event_id(&self) -> Result<i64> {
        let r: (Option<i64>,) = on_db!(self, p => sqlx::query_as("SELECT MAX(id) FROM operator_events")
            .fetch_one(p).await)?;
        Ok(r.0.unwrap_or(0))
    }

    /// Operator events with an id above `after`, by increasing id, at most `limit`.
    pub async fn operator_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<OperatorEventRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, event FROM operator_events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after).bind(limit).fetch_all(p).await)?)
    }

    /// Deletes operator events older than `before` (ms).
    pub async fn prune_operator_events(&self, before: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("DELETE FROM operator_events WHERE created_at < $1")
            .bind(before).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
