//! SQL of the MLS services (`src/mls/`, spec/mls.md; migration 0005): devices, KeyPackages,
//! hub groups and their log, device inboxes, the remote-delivery outbox. Every statement runs
//! on SQLite and PostgreSQL. Binary values are unpadded base64 text.

use super::atomic::write_tx;
use super::{Db, on_db};
use crate::error::Result;

/// A row of `mls_devices`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MlsDeviceRow {
    pub id: i64,
    pub user_id: i64,
    pub signature_key: String,
    pub credential: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A row of `mls_groups` (hub side).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MlsGroupRow {
    pub group_id: String,
    pub epoch: i64,
    pub next_seq: i64,
    pub state: String,
    pub created_by: i64,
}

/// A row of `mls_inbox`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MlsInboxRow {
    pub id: i64,
    pub device_id: i64,
    pub group_id: String,
    pub hub: String,
    pub seq: i64,
    pub kind: String,
    pub epoch: i64,
    pub sender: String,
    pub message: String,
    pub created_at: i64,
}

/// A row of `mls_outbox`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MlsOutboxRow {
    pub id: i64,
    pub destination: String,
    pub path: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
}

/// An accepted message to append to a group's log.
#[derive(Debug, Clone)]
pub struct MlsLogEntry<'a> {
    pub seq: i64,
    pub epoch: i64,
    pub kind: &'a str,
    pub sender: &'a str,
    pub message: &'a str,
    pub welcome: Option<&'a str>,
}

const DEVICE_COLS: &str = "id, user_id, signature_key, credential, created_at, expires_at";
const INBOX_COLS: &str =
    "id, device_id, group_id, hub, seq, kind, epoch, sender, message, created_at";

impl Db {
    // ---- devices ------------------------------------------------------------------------

    pub async fn mls_insert_device(&self, d: &MlsDeviceRow) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO mls_devices (id, user_id, signature_key, credential, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(d.id).bind(d.user_id).bind(&d.signature_key).bind(&d.credential).bind(d.created_at).bind(d.expires_at)
            .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn mls_device(&self, id: i64) -> Result<Option<MlsDeviceRow>> {
        let q = format!("SELECT {DEVICE_COLS} FROM mls_devices WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn mls_devices_of(&self, user_id: i64) -> Result<Vec<MlsDeviceRow>> {
        let q = format!("SELECT {DEVICE_COLS} FROM mls_devices WHERE user_id = $1 ORDER BY id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(user_id).fetch_all(p).await)?,
        )
    }

    // ---- key packages -------------------------------------------------------------------

    /// Stores a package; a last-resort package replaces the device's previous one. Returns
    /// `false` if a package with this reference exists already.
    #[allow(clippy::too_many_arguments)]
    pub async fn mls_insert_key_package(
        &self,
        id: i64,
        device_id: i64,
        kp_ref: &str,
        data: &str,
        last_resort: bool,
        expires_at: i64,
    ) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if last_resort {
                sqlx::query("DELETE FROM mls_key_packages WHERE device_id = $1 AND last_resort = TRUE")
                    .bind(device_id).execute(&mut *tx).await?;
            }
            let n = sqlx::query("INSERT INTO mls_key_packages (id, device_id, kp_ref, data, last_resort, expires_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kp_ref) DO NOTHING")
                .bind(id).bind(device_id).bind(kp_ref).bind(data).bind(last_resort).bind(expires_at)
                .execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// `(unclaimed unexpired one-time packages, whether a last-resort package exists)`.
    pub async fn mls_stock(&self, device_id: i64, now: i64) -> Result<(i64, bool)> {
        on_db!(self, p => {
            let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mls_key_packages WHERE device_id = $1 AND last_resort = FALSE AND claimed_at IS NULL AND expires_at > $2")
                .bind(device_id).bind(now).fetch_one(p).await?;
            let lr: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM mls_key_packages WHERE device_id = $1 AND last_resort = TRUE AND expires_at > $2")
                .bind(device_id).bind(now).fetch_one(p).await?;
            Ok((n.0, lr.0 > 0))
        })
    }

    /// Claims one package of `device_id` for `claimer`: the oldest unclaimed unexpired
    /// one-time package (marked claimed, never handed out again), else the last-resort
    /// package (reusable). Returns `(data, last_resort)`.
    pub async fn mls_claim(
        &self,
        device_id: i64,
        claimer: &str,
        now: i64,
    ) -> Result<Option<(String, bool)>> {
        // The UPDATE re-checks `claimed_at IS NULL`, so two concurrent claims of the same row
        // cannot both succeed; the loser tries the next row.
        for _ in 0..8 {
            let row: Option<(i64, String)> = on_db!(self, p => sqlx::query_as("SELECT id, data FROM mls_key_packages WHERE device_id = $1 AND last_resort = FALSE AND claimed_at IS NULL AND expires_at > $2 ORDER BY id LIMIT 1")
                .bind(device_id).bind(now).fetch_optional(p).await)?;
            let Some((id, data)) = row else { break };
            let n = on_db!(self, p => sqlx::query("UPDATE mls_key_packages SET claimed_by = $1, claimed_at = $2 WHERE id = $3 AND claimed_at IS NULL")
                .bind(claimer).bind(now).bind(id).execute(p).await?.rows_affected());
            if n == 1 {
                return Ok(Some((data, false)));
            }
        }
        let lr: Option<(i64, String)> = on_db!(self, p => sqlx::query_as("SELECT id, data FROM mls_key_packages WHERE device_id = $1 AND last_resort = TRUE AND expires_at > $2 ORDER BY id DESC LIMIT 1")
            .bind(device_id).bind(now).fetch_optional(p).await)?;
        if let Some((id, data)) = lr {
            on_db!(self, p => sqlx::query("UPDATE mls_key_packages SET claimed_by = $1, claimed_at = $2 WHERE id = $3")
                .bind(claimer).bind(now).bind(id).execute(p).await.map(|_| ()))?;
            return Ok(Some((data, true)));
        }
        Ok(None)
    }

    // ---- groups (hub) ----------------------------------------------------------------

    pub async fn mls_insert_group(&self, g: &MlsGroupRow, now: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("INSERT INTO mls_groups (group_id, epoch, next_seq, state, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (group_id) DO NOTHING")
            .bind(&g.group_id).bind(g.epoch).bind(g.next_seq).bind(&g.state).bind(g.created_by).bind(now)
            .execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    pub async fn mls_group(&self, group_id: &str) -> Result<Option<MlsGroupRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT group_id, epoch, next_seq, state, created_by FROM mls_groups WHERE group_id = $1")
            .bind(group_id).fetch_optional(p).await)?,
        )
    }

    /// Appends an accepted message and advances the group (one transaction). `state` is the
    /// new public state for a commit. Fails (unique violation) if `seq` was taken.
    pub async fn mls_append(
        &self,
        group_id: &str,
        e: &MlsLogEntry<'_>,
        new_epoch: i64,
        state: Option<&str>,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("INSERT INTO mls_group_log (group_id, seq, epoch, kind, sender, message, welcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(group_id).bind(e.seq).bind(e.epoch).bind(e.kind).bind(e.sender).bind(e.message).bind(e.welcome).bind(now)
                .execute(&mut *tx).await?;
            match state {
                Some(s) => sqlx::query("UPDATE mls_groups SET epoch = $1, next_seq = $2, state = $3 WHERE group_id = $4")
                    .bind(new_epoch).bind(e.seq + 1).bind(s).bind(group_id).execute(&mut *tx).await?,
                None => sqlx::query("UPDATE mls_groups SET next_seq = $1 WHERE group_id = $2")
                    .bind(e.seq + 1).bind(group_id).execute(&mut *tx).await?,
            };
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(())
    }

    // ---- inboxes ----------------------------------------------------------------------

    /// Inserts an inbox item; `false` if the same (device, group, seq, kind) exists already.
    pub async fn mls_inbox_insert(&self, r: &MlsInboxRow) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("INSERT INTO mls_inbox (id, device_id, group_id, hub, seq, kind, epoch, sender, message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (device_id, group_id, seq, kind) DO NOTHING")
            .bind(r.id).bind(r.device_id).bind(&r.group_id).bind(&r.hub).bind(r.seq).bind(&r.kind).bind(r.epoch).bind(&r.sender).bind(&r.message).bind(r.created_at)
            .execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    pub async fn mls_inbox(
        &self,
        device_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<MlsInboxRow>> {
        let q = format!(
            "SELECT {INBOX_COLS} FROM mls_inbox WHERE device_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(device_id).bind(after).bind(limit).fetch_all(p).await)?,
        )
    }

    // ---- outbox -------------------------------------------------------------------------

    pub async fn mls_outbox_insert(
        &self,
        id: i64,
        destination: &str,
        path: &str,
        body: &str,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO mls_outbox (id, destination, path, body, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5)")
            .bind(id).bind(destination).bind(path).bind(body).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Destinations whose queue head (their oldest row) is due at `now`. Each destination's
    /// rows are delivered strictly in insertion (= per-group `seq`) order, so only the head's
    /// `next_attempt_at` counts: a head in backoff holds back the rows behind it.
    pub async fn mls_outbox_due_destinations(&self, now: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_db!(self, p => sqlx::query_as("SELECT o.destination FROM mls_outbox o JOIN (SELECT MIN(id) AS id FROM mls_outbox GROUP BY destination) h ON o.id = h.id WHERE o.next_attempt_at <= $1 ORDER BY o.id")
            .bind(now).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The first `limit` rows queued for `destination`, oldest first.
    pub async fn mls_outbox_queue(
        &self,
        destination: &str,
        limit: i64,
    ) -> Result<Vec<MlsOutboxRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT id, destination, path, body, attempts, next_attempt_at FROM mls_outbox WHERE destination = $1 ORDER BY id LIMIT $2")
            .bind(destination).bind(limit).fetch_all(p).await)?,
        )
    }

    /// The earliest attempt time of any destination's queue head.
    pub async fn mls_outbox_next(&self) -> Result<Option<i64>> {
        let r: (Option<i64>,) = on_db!(self, p => sqlx::query_as("SELECT MIN(o.next_attempt_at) FROM mls_outbox o JOIN (SELECT MIN(id) AS id FROM mls_outbox GROUP BY destination) h ON o.id = h.id")
            .fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Removes delivered (or dropped) rows.
    pub async fn mls_outbox_done(&self, ids: &[i64]) -> Result<()> {
        for id in ids {
            on_db!(self, p => sqlx::query("DELETE FROM mls_outbox WHERE id = $1").bind(*id).execute(p).await.map(|_| ()))?;
        }
        Ok(())
    }

    pub async fn mls_outbox_retry(&self, id: i64, attempts: i64, next_at: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE mls_outbox SET attempts = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(attempts).bind(next_at).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Every stored MLS text value (tests scan them for plaintext).
    pub async fn mls_all_blobs(&self) -> Result<Vec<String>> {
        Ok(on_db!(self, p => {
            let mut out: Vec<String> = Vec::new();
            for q in [
                "SELECT message FROM mls_inbox",
                "SELECT message FROM mls_group_log",
                "SELECT COALESCE(welcome, '') FROM mls_group_log",
                "SELECT state FROM mls_groups",
                "SELECT body FROM mls_outbox",
                "SELECT data FROM mls_key_packages",
            ] {
                let rows: Vec<(String,)> = sqlx::query_as(q).fetch_all(p).await?;
                out.extend(rows.into_iter().map(|r| r.0));
            }
            out
        }))
    }
}
