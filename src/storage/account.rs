//! Account security rows (migration 0013): sessions' re-authentication time, mailed
//! single-use tokens (stored as SHA-256), the security log (written by the transaction of
//! the change it records, through [`log_security!`]), deleted accounts.

use super::atomic::write_tx;
use super::{Db, SessionRow, on_db};
use crate::error::Result;

/// One entry of a user's security log (`security_log`). `kind` is one of the kinds listed
/// in migration 0013; `detail` a small JSON object as text.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SecurityEntry {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    /// When, ms since the epoch.
    pub at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// Inserts a [`SecurityEntry`] with the transaction `$tx` of the change it records.
macro_rules! log_security {
    ($tx:ident, $e:expr) => {{
        let e: &$crate::storage::SecurityEntry = $e;
        sqlx::query("INSERT INTO security_log (id, user_id, kind, at, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(e.id).bind(e.user_id).bind(&e.kind).bind(e.at).bind(&e.ip).bind(&e.user_agent).bind(&e.detail)
            .execute(&mut *$tx).await?;
    }};
}
pub(super) use log_security;

/// What a mailed token is for (`account_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// A password reset (`POST /auth/reset`).
    Reset,
    /// The verification of an email address (`POST /auth/verify`).
    Verify,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Reset => "reset",
            TokenPurpose::Verify => "verify",
        }
    }
}

/// What taking a mailed token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// No such token (never issued, or already used).
    Unknown,
    /// The token existed but had expired (it is deleted now).
    Expired,
    /// The token was valid and is spent; the change was made. For a reset: the revoked
    /// session ids.
    Done { user_id: i64, revoked: Vec<i64> },
}

impl Db {
    /// When session `id` last proved its user's password or second factor (ms), if ever.
    pub async fn session_reauth_at(&self, id: i64) -> Result<Option<i64>> {
        let r: Option<(Option<i64>,)> = on_db!(self, p => sqlx::query_as("SELECT reauth_at FROM sessions WHERE id = $1")
            .bind(id).fetch_optional(p).await)?;
        Ok(r.and_then(|r| r.0))
    }

    /// Records a password or second-factor proof on session `id` at `now` (ms).
    pub async fn mark_reauth(&self, id: i64, now: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(now).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Stores a new login session (re-authenticated at its creation) with its `login`
    /// security log entry, in one transaction.
    pub async fn insert_session_logged(&self, s: &SessionRow, log: &SecurityEntry) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query(
                "INSERT INTO sessions (id, user_id, refresh_hash, created_at, refreshed_at, ip, user_agent, reauth_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $4)")
                .bind(s.id).bind(s.user_id).bind(&s.refresh_hash).bind(s.created_at).bind(s.refreshed_at)
                .bind(&s.ip).bind(&s.user_agent).execute(&mut *tx).await?;
            log_security!(tx, log);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Appends a security log entry on its own (changes without rows of their own).
    pub async fn log_security(&self, e: &SecurityEntry) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            log_security!(tx, e);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The security log of `user_id`, newest first, entries with an id below `before` (if
    /// given), at most `limit`.
    pub async fn security_log(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<SecurityEntry>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, user_id, kind, at, ip, user_agent, detail FROM security_log WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")
            .bind(user_id).bind(before.unwrap_or(i64::MAX)).bind(limit).fetch_all(p).await)?)
    }

    /// Issues a mailed token (its SHA-256 `hash`) for `user_id`, replacing the user's earlier
    /// tokens of the same purpose; also drops every expired token. One transaction.
    pub async fn issue_account_token(
        &self,
        hash: &str,
        user_id: i64,
        purpose: TokenPurpose,
        email: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1 OR (user_id = $2 AND purpose = $3)")
                .bind(now).bind(user_id).bind(purpose.as_str()).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(hash).bind(user_id).bind(purpose.as_str()).bind(email).bind(now).bind(expires_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The user a live token of `purpose` belongs to (without spending it).
    pub async fn account_token_user(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as(
            "SELECT user_id FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3")
            .bind(hash).bind(purpose.as_str()).bind(now).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// Spends a password reset token: in one transaction, deletes the token (single use),
    /// and if it had not expired sets the password, deletes every session of the user with
    /// its revocation record (the gateway closes them, 4004) and writes `log` (its
    /// `user_id` is filled in).
    pub async fn reset_password_by_token(
        &self,
        hash: &str,
        password_hash: &str,
        now: i64,
        log: &SecurityEntry,
    ) -> Result<Taken> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let row: Option<(i64, i64)> = sqlx::query_as(
                "DELETE FROM account_tokens WHERE token_hash = $1 AND purpose = 'reset' RETURNING user_id, expires_at")
                .bind(hash).fetch_optional(&mut *tx).await?;
            match row {
                None => Taken::Unknown,
                Some((_, expires_at)) if expires_at <= now => {
                    tx.commit().await?;
                    Taken::Expired
                }
                Some((user_id, _)) => {
                    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(password_hash).bind(user_id).execute(&mut *tx).await?;
                    let rows: Vec<(i64,)> = sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
                        .bind(user_id).fetch_all(&mut *tx).await?;
                    for (id,) in &rows {
                        sqlx::query("INSERT INTO session_revocations (user_id, session_id, created_at) VALUES ($1, $2, $3)")
                            .bind(user_id).bind(id).bind(now).execute(&mut *tx).await?;
                    }
                    sqlx::query("DELETE FROM mfa_tickets WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                    let log = SecurityEntry { user_id, ..log.clone() };
                    log_security!(tx, &log);
                    tx.commit().await?;
                    Taken::Done { user_id, revoked: rows.into_iter().map(|r| r.0).collect() }
                }
            }
        }))
    }

    /// Spends an email verification token: in one transaction, deletes it and, if it had not
    /// expired and the user's email is still the one it was sent to, marks the email
    /// verified and writes `log` (its `user_id` filled in). A token for a replaced address
    /// answers [`Taken::Unknown`].
    pub async fn verify_email_by_token(
        &self,
        hash: &str,
        now: i64,
        log: &SecurityEntry,
    ) -> Result<Taken> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let row: Option<(i64, Option<String>, i64)> = sqlx::query_as(
                "DELETE FROM account_tokens WHERE token_hash = $1 AND purpose = 'verify' RETURNING user_id, email, expires_at")
                .bind(hash).fetch_optional(&mut *tx).await?;
            let taken = match row {
                None => Taken::Unknown,
                Some((_, _, expires_at)) if expires_at <= now => Taken::Expired,
                Some((user_id, email, _)) => {
                    let n = sqlx::query("UPDATE users SET email_verified = TRUE WHERE id = $1 AND email = $2")
                        .bind(user_id).bind(&email).execute(&mut *tx).await?.rows_affected();
                    if n == 0 {
                        Taken::Unknown
                    } else {
                        let log = SecurityEntry { user_id, ..log.clone() };
                        log_security!(tx, &log);
                        Taken::Done { user_id, revoked: vec![] }
                    }
                }
            };
            tx.commit().await?;
            taken
        }))
    }

    /// The messages `user_id` wrote, oldest first, ids above `after`, at most `limit`, each
    /// with its channel's guild and name (`ExportMessageRow`).
    pub async fn messages_by_author(
        &self,
        user_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportMessageRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT m.id, m.channel_id, c.guild_id, c.name AS channel_name, m.content, m.edited_at \
             FROM messages m JOIN channels c ON c.id = m.channel_id \
             WHERE m.author_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3")
            .bind(user_id).bind(after).bind(limit).fetch_all(p).await)?)
    }

    /// The plain DM channels of `user_id`: (channel id, the other participant).
    pub async fn dm_pairs_of(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT channel_id, CASE WHEN user_low = $1 THEN user_high ELSE user_low END FROM dm_channels \
             WHERE user_low = $1 OR user_high = $1 ORDER BY channel_id")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// The memberships of `user_id`: (guild id, guild name, owner id, nick, joined_at).
    pub async fn memberships_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<(i64, String, i64, Option<String>, i64)>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT g.id, g.name, g.owner_id, m.nick, m.joined_at FROM members m JOIN guilds g ON g.id = m.guild_id \
             WHERE m.user_id = $1 ORDER BY g.id")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// Guilds whose owner is `user_id` (hosted here).
    pub async fn owned_guild_ids(&self, user_id: i64) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT id FROM guilds WHERE owner_id = $1 ORDER BY id")
            .bind(user_id).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    /// Anonymises account `user_id` as Discord's "Deleted User", in one transaction: the
    /// profile is replaced (`username` = `anon_name`, `global_name` "Deleted User", no email,
    /// password, avatar or bio), every session is deleted with its revocation record,
    /// two-factor secrets, backup codes, tickets, passkeys with their handle and ceremonies, mailed tokens, the security log,
    /// relationships (both ways), MLS devices with their key packages and memberships are
    /// deleted, and the bot token hashes of the user's applications become `dead_prefix` +
    /// the application id (not a SHA-256 hex string, so no token matches). Messages are kept;
    /// with `purge` a message purge job is stored for the user (spec/account.md §6). The
    /// federation `notices` announcing the deletion are queued in the same transaction.
    /// Returns (the revoked session ids, the bot user ids whose tokens died).
    pub async fn delete_account(
        &self,
        user_id: i64,
        anon_name: &str,
        dead_prefix: &str,
        now: i64,
        purge: bool,
        notices: &[super::NewNotice],
    ) -> Result<(Vec<i64>, Vec<i64>)> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query(
                "UPDATE users SET username = $2, username_lower = $2, global_name = 'Deleted User', email = NULL, \
                 email_verified = FALSE, password_hash = NULL, avatar = NULL, bio = '', mfa_enabled = FALSE, webauthn_enabled = FALSE, \
                 dm_policy = 0, admin = FALSE, deleted_at = $3 WHERE id = $1")
                .bind(user_id).bind(anon_name).bind(now).execute(&mut *tx).await?;
            let sessions: Vec<(i64,)> = sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
                .bind(user_id).fetch_all(&mut *tx).await?;
            for (id,) in &sessions {
                sqlx::query("INSERT INTO session_revocations (user_id, session_id, created_at) VALUES ($1, $2, $3)")
                    .bind(user_id).bind(id).bind(now).execute(&mut *tx).await?;
            }
            for q in [
                "DELETE FROM user_totp WHERE user_id = $1",
                "DELETE FROM mfa_backup_codes WHERE user_id = $1",
                "DELETE FROM mfa_tickets WHERE user_id = $1",
                "DELETE FROM passkeys WHERE user_id = $1",
                "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
                "DELETE FROM webauthn_handles WHERE user_id = $1",
                "DELETE FROM account_tokens WHERE user_id = $1",
                "DELETE FROM security_log WHERE user_id = $1",
                "DELETE FROM relationships WHERE user_id = $1 OR target_id = $1",
                "DELETE FROM mls_key_packages WHERE device_id IN (SELECT id FROM mls_devices WHERE user_id = $1)",
                "DELETE FROM mls_devices WHERE user_id = $1",
                "DELETE FROM member_roles WHERE user_id = $1",
                "DELETE FROM members WHERE user_id = $1",
                "DELETE FROM scheduled_event_users WHERE user_id = $1",
                "DELETE FROM read_states WHERE user_id = $1",
            ] {
                sqlx::query(q).bind(user_id).execute(&mut *tx).await?;
            }
            let bots: Vec<(i64,)> = sqlx::query_as("UPDATE applications SET bot_token_hash = $2 || CAST(id AS TEXT) WHERE owner_id = $1 RETURNING bot_user_id")
                .bind(user_id).bind(dead_prefix).fetch_all(&mut *tx).await?;
            if purge {
                sqlx::query(super::deletion::START_PURGE_SQL)
                    .bind(user_id).bind(now).execute(&mut *tx).await?;
            }
            for n in notices {
                sqlx::query(super::deletion::INSERT_NOTICE_SQL)
                    .bind(n.id).bind(&n.destination).bind(&n.path).bind(&n.body).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            (sessions.into_iter().map(|r| r.0).collect(), bots.into_iter().map(|r| r.0).collect())
        }))
    }
}

/// One message of a data export: the message with its channel's guild and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportMessageRow {
    pub id: i64,
    pub channel_id: i64,
    pub guild_id: Option<i64>,
    pub channel_name: Option<String>,
    pub content: String,
    pub edited_at: Option<i64>,
}
