//! Session revocations that any process records and the running server watches
//! (migration 0007, `session_revocations`).

use super::atomic::write_tx;
use super::{Db, SecurityEntry, log_security, on_db};
use crate::error::Result;

/// A row of `session_revocations`: login session `session_id` of `user_id` was revoked at
/// `created_at` (ms). `id` increases with each row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevocationRow {
    pub id: i64,
    pub user_id: i64,
    pub session_id: i64,
    pub created_at: i64,
}

/// Which login sessions of a user a revocation ends.
#[derive(Debug, Clone, Copy)]
pub enum SessionSet<'a> {
    /// Exactly these (those of another user are left alone).
    Only(&'a [i64]),
    /// Every session, except the given one.
    AllExcept(Option<i64>),
}

impl Db {
    /// Deletes the `which` sessions of `user_id` and records one revocation row per deleted
    /// session; with `password_hash`, also sets the user's password; with `log`, writes that
    /// security log entry. One transaction, so a watcher in another process sees the
    /// revocation exactly when the sessions are gone. Returns the deleted session ids.
    pub async fn revoke_sessions_recorded(
        &self,
        user_id: i64,
        which: SessionSet<'_>,
        password_hash: Option<&str>,
        now: i64,
        log: Option<&SecurityEntry>,
    ) -> Result<Vec<i64>> {
        let ids: Vec<i64> = on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if let Some(h) = password_hash {
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(h).bind(user_id).execute(&mut *tx).await?;
            }
            let mut ids = vec![];
            match which {
                SessionSet::Only(list) => {
                    for id in list {
                        let n = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
                            .bind(id).bind(user_id).execute(&mut *tx).await?.rows_affected();
                        if n > 0 {
                            ids.push(*id);
                        }
                    }
                }
                SessionSet::AllExcept(keep) => {
                    let rows: Vec<(i64,)> = sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
                        .bind(user_id).bind(keep.unwrap_or(-1)).fetch_all(&mut *tx).await?;
                    ids.extend(rows.into_iter().map(|r| r.0));
                }
            }
            for id in &ids {
                sqlx::query("INSERT INTO session_revocations (user_id, session_id, created_at) VALUES ($1, $2, $3)")
                    .bind(user_id).bind(id).bind(now).execute(&mut *tx).await?;
            }
            if let Some(e) = log {
                log_security!(tx, e);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ids)
        })?;
        Ok(ids)
    }

    /// Revocations with an id above `after`, by increasing id, at most `limit`.
    pub async fn revocations_after(&self, after: i64, limit: i64) -> Result<Vec<RevocationRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, user_id, session_id, created_at FROM session_revocations WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after).bind(limit).fetch_all(p).await)?)
    }

    /// The highest revocation id (0 when there is none).
    pub async fn last_revocation_id(&self) -> Result<i64> {
        let r: (Option<i64>,) = on_db!(self, p => sqlx::query_as("SELECT MAX(id) FROM session_revocations")
            .fetch_one(p).await)?;
        Ok(r.0.unwrap_or(0))
    }

    /// Deletes revocations recorded before `before` (ms); returns how many.
    pub async fn prune_revocations(&self, before: i64) -> Result<u64> {
        Ok(
            on_db!(self, p => sqlx::query("DELETE FROM session_revocations WHERE created_at < $1")
            .bind(before).execute(p).await?.rows_affected()),
        )
    }
}
