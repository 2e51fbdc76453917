//! Two-factor authentication (migration 0011): TOTP secrets, backup codes, login tickets,
//! the guild MFA level. Every multi-row change is one transaction.

use super::atomic::write_tx;
use super::{Db, SecurityEntry, log_security, on_db};
use crate::error::Result;

/// A row of `user_totp`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub user_id: i64,
    /// `v1.` + base64(nonce || AES-256-GCM ciphertext).
    pub secret_enc: String,
    /// Highest time step accepted so far.
    pub last_step: i64,
    pub created_at: i64,
}

/// A row of `mfa_backup_codes`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackupCodeRow {
    pub id: i64,
    pub user_id: i64,
    pub code_hash: String,
    pub consumed: bool,
}

/// A row of `mfa_tickets`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaTicketRow {
    pub ticket_hash: String,
    pub user_id: i64,
    pub expires_at: i64,
    pub failures: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Db {
    pub async fn totp(&self, user_id: i64) -> Result<Option<TotpRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT user_id, secret_enc, last_step, created_at FROM user_totp WHERE user_id = $1")
            .bind(user_id).fetch_optional(p).await)?)
    }

    /// Turns TOTP on in one transaction: the secret (with `step` as its last accepted step),
    /// the backup codes `(id, hash)` replacing any old ones, `users.mfa_enabled`, and the
    /// deletion of every session but `keep`. Returns the revoked session ids, or `None` when
    /// TOTP was already enabled (nothing changed).
    pub async fn enable_totp(
        &self,
        user_id: i64,
        secret_enc: &str,
        step: i64,
        codes: &[(i64, String)],
        keep: Option<i64>,
        log: &SecurityEntry,
    ) -> Result<Option<Vec<i64>>> {
        let now = log.at;
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("INSERT INTO user_totp (user_id, secret_enc, last_step, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING")
                .bind(user_id).bind(secret_enc).bind(step).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                None
            } else {
                sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                for (id, hash) in codes {
                    sqlx::query("INSERT INTO mfa_backup_codes (id, user_id, code_hash, consumed) VALUES ($1, $2, $3, FALSE)")
                        .bind(id).bind(user_id).bind(hash).execute(&mut *tx).await?;
                }
                sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
                let revoked: Vec<(i64,)> = sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
                    .bind(user_id).bind(keep.unwrap_or(-1)).fetch_all(&mut *tx).await?;
                for (id,) in &revoked {
                    sqlx::query("INSERT INTO session_revocations (user_id, session_id, created_at) VALUES ($1, $2, $3)")
                        .bind(user_id).bind(id).bind(now).execute(&mut *tx).await?;
                }
                log_security!(tx, log);
                tx.commit().await?;
                Some(revoked.into_iter().map(|r| r.0).collect())
            }
        }))
    }

    /// Turns TOTP off in one transaction: secret, backup codes, pending login tickets and
    /// `users.mfa_enabled`. Returns false when it was not enabled.
    pub async fn disable_totp(&self, user_id: i64, log: &SecurityEntry) -> Result<bool> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM user_totp WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM mfa_tickets WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE users SET mfa_enabled = FALSE WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
            if n > 0 {
                log_security!(tx, log);
            }
            tx.commit().await?;
            n > 0
        }))
    }

    /// Accepts time step `step` for the user if it is later than every step accepted
    /// before (one conditional UPDATE: two concurrent uses of one code cannot both win).
    pub async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2")
            .bind(user_id).bind(step).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The user's backup codes not yet used.
    pub async fn unused_backup_codes(&self, user_id: i64) -> Result<Vec<BackupCodeRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, user_id, code_hash, consumed FROM mfa_backup_codes WHERE user_id = $1 AND NOT consumed ORDER BY id")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// Marks a backup code used; false when it already was (a concurrent use won).
    pub async fn consume_backup_code(&self, id: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("UPDATE mfa_backup_codes SET consumed = TRUE WHERE id = $1 AND NOT consumed")
            .bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Replaces the user's backup codes in one transaction.
    pub async fn replace_backup_codes(
        &self,
        user_id: i64,
        codes: &[(i64, String)],
        log: &SecurityEntry,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            for (id, hash) in codes {
                sqlx::query("INSERT INTO mfa_backup_codes (id, user_id, code_hash, consumed) VALUES ($1, $2, $3, FALSE)")
                    .bind(id).bind(user_id).bind(hash).execute(&mut *tx).await?;
            }
            log_security!(tx, log);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores a login ticket (its hash); also drops the expired tickets of every user.
    pub async fn insert_mfa_ticket(&self, t: &MfaTicketRow, now: i64) -> Result<()> {
        on_db!(self, p => {
            sqlx::query("DELETE FROM mfa_tickets WHERE expires_at <= $1").bind(now).execute(p).await?;
            sqlx::query("INSERT INTO mfa_tickets (ticket_hash, user_id, expires_at, failures, ip, user_agent) VALUES ($1, $2, $3, 0, $4, $5)")
                .bind(&t.ticket_hash).bind(t.user_id).bind(t.expires_at).bind(&t.ip).bind(&t.user_agent)
                .execute(p).await?;
        });
        Ok(())
    }

    /// A ticket that has not expired at `now`.
    pub async fn mfa_ticket(&self, hash: &str, now: i64) -> Result<Option<MfaTicketRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT ticket_hash, user_id, expires_at, failures, ip, user_agent FROM mfa_tickets WHERE ticket_hash = $1 AND expires_at > $2")
            .bind(hash).bind(now).fetch_optional(p).await)?)
    }

    /// Uses a ticket up: deletes it and answers whether this call was the one that did.
    pub async fn take_mfa_ticket(&self, hash: &str) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("DELETE FROM mfa_tickets WHERE ticket_hash = $1")
            .bind(hash).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Counts a wrong code against a ticket; deletes the ticket at `max` failures.
    pub async fn fail_mfa_ticket(&self, hash: &str, max: i64) -> Result<()> {
        on_db!(self, p => {
            sqlx::query("UPDATE mfa_tickets SET failures = failures + 1 WHERE ticket_hash = $1")
                .bind(hash).execute(p).await?;
            sqlx::query("DELETE FROM mfa_tickets WHERE ticket_hash = $1 AND failures >= $2")
                .bind(hash).bind(max).execute(p).await?;
        });
        Ok(())
    }

    /// Whether the account counts as MFA-enabled for a guild's MFA level: its own
    /// second factor (TOTP or a passkey), or for a bot, its application owner's (Discord's rule).
    pub async fn mfa_satisfied(&self, user_id: i64) -> Result<bool> {
        let r: Option<(bool, Option<bool>)> = on_db!(self, p => sqlx::query_as(
            "SELECT u.mfa_enabled OR u.webauthn_enabled, o.mfa_enabled OR o.webauthn_enabled FROM users u
             LEFT JOIN applications a ON a.bot_user_id = u.id
             LEFT JOIN users o ON o.id = a.owner_id
             WHERE u.id = $1")
            .bind(user_id).fetch_optional(p).await)?;
        Ok(r.is_some_and(|(own, owner)| owner.unwrap_or(own)))
    }
}
