//! Passkeys (migration 0014): WebAuthn credentials, user handles and pending ceremonies.
//! Adding and deleting a passkey keep `users.webauthn_enabled` and write their security log
//! entry in the same transaction.

use super::atomic::write_tx;
use super::{Db, SecurityEntry, is_unique_violation, log_security, on_db};
use crate::error::Result;

/// A row of `passkeys`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: i64,
    pub user_id: i64,
    /// The credential id, base64url without padding.
    pub cred_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey` as JSON (public key, counter, backup state).
    pub passkey: String,
    pub counter: i64,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A row of `webauthn_ceremonies`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CeremonyRow {
    pub ticket_hash: String,
    /// `register`, `mfa`, `reauth` or `login`.
    pub kind: String,
    pub user_id: Option<i64>,
    /// webauthn-rs's ceremony state as JSON.
    pub state: String,
    pub expires_at: i64,
}

const PASSKEY_COLS: &str = "id, user_id, cred_id, name, passkey, counter, backup_eligible, backed_up, created_at, last_used_at";

impl Db {
    /// The user's WebAuthn handle, creating it from `fresh` on first use (a concurrent
    /// creation wins: its handle is returned).
    pub async fn webauthn_handle(&self, user_id: i64, fresh: &str) -> Result<String> {
        Ok(on_db!(self, p => {
            sqlx::query("INSERT INTO webauthn_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
                .bind(user_id).bind(fresh).execute(p).await?;
            let (h,): (String,) = sqlx::query_as("SELECT handle FROM webauthn_handles WHERE user_id = $1")
                .bind(user_id).fetch_one(p).await?;
            h
        }))
    }

    /// The account a WebAuthn handle belongs to.
    pub async fn user_by_webauthn_handle(&self, handle: &str) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT user_id FROM webauthn_handles WHERE handle = $1")
            .bind(handle).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys(&self, user_id: i64) -> Result<Vec<PasskeyRow>> {
        let q = format!("SELECT {PASSKEY_COLS} FROM passkeys WHERE user_id = $1 ORDER BY id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(user_id).fetch_all(p).await)?,
        )
    }

    /// A passkey by credential id (base64url).
    pub async fn passkey_by_cred(&self, cred_id: &str) -> Result<Option<PasskeyRow>> {
        let q = format!("SELECT {PASSKEY_COLS} FROM passkeys WHERE cred_id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(cred_id).fetch_optional(p).await)?,
        )
    }

    /// Stores a new passkey, sets `users.webauthn_enabled` and logs `log`, in one
    /// transaction. False (nothing written) when the credential id is registered already,
    /// to this or another account, or the user holds `max` passkeys.
    pub async fn insert_passkey(
        &self,
        r: &PasskeyRow,
        max: i64,
        log: &SecurityEntry,
    ) -> Result<bool> {
        let res: std::result::Result<bool, sqlx::Error> = on_db!(self, p => async {
            let mut tx = write_tx!(self, p);
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
                .bind(r.user_id).fetch_one(&mut *tx).await?;
            if n >= max {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("INSERT INTO passkeys (id, user_id, cred_id, name, passkey, counter, backup_eligible, backed_up, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)")
                .bind(r.id).bind(r.user_id).bind(&r.cred_id).bind(&r.name).bind(&r.passkey)
                .bind(r.counter).bind(r.backup_eligible).bind(r.backed_up).bind(r.created_at)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE users SET webauthn_enabled = TRUE WHERE id = $1").bind(r.user_id).execute(&mut *tx).await?;
            log_security!(tx, log);
            tx.commit().await?;
            Ok(true)
        }.await);
        match res {
            Ok(b) => Ok(b),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames a passkey of `user_id` and logs `log`; false when there is no such passkey.
    pub async fn rename_passkey(
        &self,
        user_id: i64,
        id: i64,
        name: &str,
        log: &SecurityEntry,
    ) -> Result<bool> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $2 AND user_id = $1")
                .bind(user_id).bind(id).bind(name).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                log_security!(tx, log);
            }
            tx.commit().await?;
            n == 1
        }))
    }

    /// Deletes a passkey of `user_id`, recomputes `users.webauthn_enabled` and logs `log`, in
    /// one transaction. When the last passkey goes, pending second-factor and
    /// re-authentication ceremonies go with it. False when there is no such passkey.
    pub async fn delete_passkey(&self, user_id: i64, id: i64, log: &SecurityEntry) -> Result<bool> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM passkeys WHERE id = $2 AND user_id = $1")
                .bind(user_id).bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("UPDATE users SET webauthn_enabled = EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) WHERE id = $1")
                    .bind(user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM webauthn_ceremonies WHERE user_id = $1 AND kind <> 'register' AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)")
                    .bind(user_id).execute(&mut *tx).await?;
                log_security!(tx, log);
            }
            tx.commit().await?;
            n == 1
        }))
    }

    /// Records a use of a passkey: webauthn-rs's updated credential (counter, backup state)
    /// and the time. Only moves the counter forward (`counter` is compared in the UPDATE), so
    /// two concurrent assertions cannot roll it back.
    pub async fn passkey_used(&self, r: &PasskeyRow, now: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE passkeys SET passkey = $2, counter = $3, backup_eligible = $4, backed_up = $5, last_used_at = $6 WHERE id = $1 AND counter <= $3")
            .bind(r.id).bind(&r.passkey).bind(r.counter).bind(r.backup_eligible).bind(r.backed_up).bind(now)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Stores a ceremony; also drops every expired one.
    pub async fn insert_ceremony(&self, c: &CeremonyRow, now: i64) -> Result<()> {
        on_db!(self, p => {
            sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").bind(now).execute(p).await?;
            sqlx::query("INSERT INTO webauthn_ceremonies (ticket_hash, kind, user_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&c.ticket_hash).bind(&c.kind).bind(c.user_id).bind(&c.state).bind(c.expires_at)
                .execute(p).await?;
        });
        Ok(())
    }

    /// Takes a ceremony of `kind` (deletes it: single-use); `None` when unknown, of another
    /// kind, already taken, or expired at `now`.
    pub async fn take_ceremony(
        &self,
        hash: &str,
        kind: &str,
        now: i64,
    ) -> Result<Option<CeremonyRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "DELETE FROM webauthn_ceremonies WHERE ticket_hash = $1 AND kind = $2 RETURNING ticket_hash, kind, user_id, state, expires_at")
            .bind(hash).bind(kind).fetch_optional(p).await)?
            .filter(|c: &CeremonyRow| c.expires_at > now))
    }
}
