//! The life of stored files (migration 0012): two-step uploads (`pending_uploads`) and the
//! blob ledger (`media_blobs`) behind quotas, grace-period deletion and orphan collection.
//! The migration's comment describes both tables; the rules are in
//! `crate::service::media_gc` and `crate::service::uploads`. Besides the blobs of
//! `attachments/`, the ledger holds the files of other servers cached here
//! (spec/federation.md §17.3: `remote/attachments/`, `remote/emojis/`, and remote users'
//! and replicas' images under their ordinary keys), charged to no one (user 0, size as
//! fetched) and, except avatars, to the replica's guild: [`Db::record_remote_blob`].

use super::atomic::{lock_row, write_tx};
use super::change::{Change, Lock, Tx, on_tx};
use super::{Db, on_db};
use crate::error::Result;

/// One announced two-step upload (`POST /channels/{id}/attachments`). Sizes in bytes,
/// times in Unix ms.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingUploadRow {
    /// The attachment id it becomes.
    pub id: i64,
    pub channel_id: i64,
    pub user_id: i64,
    /// Cleaned filename (the `upload_filename` is `{id}/{filename}`).
    pub filename: String,
    /// The size the client announced: the PUT may not send more.
    pub declared_size: i64,
    /// Bytes received by the PUT; `None` until it completed.
    pub size: Option<i64>,
    pub content_type: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub blob_key: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const PENDING_COLS: &str = "id, channel_id, user_id, filename, declared_size, size, content_type, width, height, blob_key, created_at, expires_at";

/// Inserts pending-upload rows (`&[PendingUploadRow]`) in transaction `$tx`; an optional
/// literal SQL suffix follows the `VALUES` (e.g. `" ON CONFLICT (id) DO NOTHING"`).
macro_rules! insert_pending {
    ($tx:expr, $rows:expr $(, $suffix:literal)?) => {{
        let q = concat!(
            "INSERT INTO pending_uploads (id, channel_id, user_id, filename, declared_size, size, ",
            "content_type, width, height, blob_key, created_at, expires_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            $(, $suffix)?
        );
        for u in $rows {
            sqlx::query(q)
                .bind(u.id)
                .bind(u.channel_id)
                .bind(u.user_id)
                .bind(&u.filename)
                .bind(u.declared_size)
                .bind(u.size)
                .bind(&u.content_type)
                .bind(u.width)
                .bind(u.height)
                .bind(&u.blob_key)
                .bind(u.created_at)
                .bind(u.expires_at)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(super) use insert_pending;

/// The key prefix of every file of another server cached here under a key of its own
/// (attachments and emoji; spec/federation.md §17.3).
pub const REMOTE_FILES: &str = "remote/";
/// The key prefix of remote attachments cached here (spec/federation.md §17.3).
pub const REMOTE_ATTACHMENTS: &str = "remote/attachments/";

/// A remote attachment as its fetched bytes are ([`Db::settle_remote_blob`]).
#[derive(Debug, Clone, Copy)]
pub struct MeasuredAttachment<'a> {
    pub channel_id: i64,
    pub id: i64,
    /// Sniffed from the bytes.
    pub content_type: &'a str,
    /// Width and height in pixels, for images.
    pub dims: Option<(i64, i64)>,
}

/// A blob to charge to `user_id` (and `guild_id`, `None` in DMs): `size` bytes under `key`.
#[derive(Debug, Clone)]
pub struct BlobCharge<'a> {
    pub key: &'a str,
    pub user_id: i64,
    pub guild_id: Option<i64>,
    pub size: i64,
}

/// Quotas in bytes of live (not released) blobs; 0 = unlimited.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub per_user: u64,
    pub per_guild: u64,
}

/// Part of the ledger: the blobs charged to a guild, or those whose key starts with a
/// prefix (`attachments/{channel_id}/`: a channel's files; matched with `LIKE`, so a prefix
/// should hold no `%` or `_`).
#[derive(Debug, Clone, Copy)]
pub enum BlobScope<'a> {
    Guild(i64),
    Prefix(&'a str),
}

/// Which quota refused a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRefusal {
    User,
    Guild,
}

/// Sum of live blob bytes charged to `$col = $id`, inside transaction `$tx`.
macro_rules! live_bytes {
    ($tx:expr, $col:literal, $id:expr) => {{
        let (n,): (i64,) = sqlx::query_as(concat!(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM media_blobs WHERE ",
            $col,
            " = $1 AND released_at IS NULL"
        ))
        .bind($id)
        .fetch_one(&mut *$tx)
        .await?;
        n
    }};
}

/// Inserts ledger rows for `charges` (with `created_at = $now`) inside transaction `$tx`,
/// after checking `$quotas`; evaluates to `Err(QuotaRefusal)` when one is exceeded (the
/// caller then drops the transaction).
macro_rules! charge_in_tx {
    ($db:expr, $tx:expr, $charges:expr, $quotas:expr, $now:expr) => {{
        let mut refused = None;
        let first = $charges.first();
        if let Some(c) = first {
            let total: i64 = $charges.iter().map(|c| c.size).sum();
            // Lock order: the guild, then the user.
            if let Some(g) = c.guild_id {
                lock_row!($db, $tx, guilds, g);
            }
            lock_row!($db, $tx, users, c.user_id);
            if $quotas.per_guild > 0
                && let Some(g) = c.guild_id
                && live_bytes!($tx, "guild_id", g) + total > $quotas.per_guild as i64
            {
                refused = Some(QuotaRefusal::Guild);
            }
            if refused.is_none()
                && $quotas.per_user > 0
                && live_bytes!($tx, "user_id", c.user_id) + total > $quotas.per_user as i64
            {
                refused = Some(QuotaRefusal::User);
            }
        }
        if refused.is_none() {
            for c in $charges {
                sqlx::query("INSERT INTO media_blobs (blob_key, user_id, guild_id, size, created_at, released_at) VALUES ($1, $2, $3, $4, $5, NULL)")
                    .bind(c.key).bind(c.user_id).bind(c.guild_id).bind(c.size).bind($now)
                    .execute(&mut *$tx).await?;
            }
        }
        refused
    }};
}

impl Db {
    /// Records `charges` (blobs about to be written, all of one user and guild) in the
    /// ledger in one transaction, unless they would take the user or the guild over
    /// `quotas`: then nothing is written and the refusing quota is returned. Serialized
    /// per guild and user (SQLite's writer lock; PostgreSQL row locks, guild first).
    pub async fn charge_blobs(
        &self,
        charges: &[BlobCharge<'_>],
        quotas: Quotas,
        now: i64,
    ) -> Result<Option<QuotaRefusal>> {
        if charges.is_empty() {
            return Ok(None);
        }
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let refused = charge_in_tx!(self, tx, charges, quotas, now);
            if refused.is_none() {
                tx.commit().await?;
            }
            Ok(refused)
        })
    }

    /// Sets the size of the live ledger row of `key` (recorded with size 0, charged to
    /// `user_id` and `guild_id`, before its bytes were streamed into the store) to `size`,
    /// unless that takes the user or the guild over `quotas`: then nothing is written and the
    /// refusing quota is returned. Serialized like [`Db::charge_blobs`].
    pub async fn settle_blob(
        &self,
        key: &str,
        user_id: i64,
        guild_id: Option<i64>,
        size: i64,
        quotas: Quotas,
    ) -> Result<Option<QuotaRefusal>> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if let Some(g) = guild_id {
                lock_row!(self, tx, guilds, g);
            }
            lock_row!(self, tx, users, user_id);
            if quotas.per_guild > 0
                && let Some(g) = guild_id
                && live_bytes!(tx, "guild_id", g) + size > quotas.per_guild as i64
            {
                return Ok(Some(QuotaRefusal::Guild));
            }
            if quotas.per_user > 0 && live_bytes!(tx, "user_id", user_id) + size > quotas.per_user as i64 {
                return Ok(Some(QuotaRefusal::User));
            }
            sqlx::query("UPDATE media_blobs SET size = $1 WHERE blob_key = $2 AND released_at IS NULL")
                .bind(size).bind(key).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(None)
        })
    }

    /// Hands blobs outside `attachments/` (a deleted guild's or emoji's images, whose keys
    /// are never used again) to the collector: ledger rows released at `now`, charged to no
    /// one (user 0, size 0), so their bytes are deleted after `media.delete_grace_seconds`.
    /// A key already in the ledger keeps its row.
    pub async fn release_image_blobs(&self, keys: &[String], now: i64) -> Result<()> {
        for chunk in keys.chunks(200) {
            on_db!(self, p => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO media_blobs (blob_key, user_id, guild_id, size, created_at, released_at) ",
                );
                qb.push_values(chunk, |mut b, k| {
                    b.push_bind(k).push_bind(0i64).push_bind(None::<i64>).push_bind(0i64).push_bind(now).push_bind(now);
                });
                qb.push(" ON CONFLICT (blob_key) DO NOTHING");
                qb.build().persistent(false).execute(p).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Records a file of another server about to be cached under `key` (before its bytes
    /// are written, so a crash leaves a row and never unrecorded bytes): a live ledger row
    /// charged to no one (user 0, size 0 until [`Db::settle_remote_blob`]), under
    /// `guild_id` (the replica's guild; `None` for avatars). A released row of the same key
    /// is live again.
    pub async fn record_remote_blob(
        &self,
        key: &str,
        guild_id: Option<i64>,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO media_blobs (blob_key, user_id, guild_id, size, created_at, released_at) VALUES ($1, 0, $2, 0, $3, NULL) \
            ON CONFLICT (blob_key) DO UPDATE SET released_at = NULL, guild_id = excluded.guild_id, created_at = excluded.created_at")
            .bind(key).bind(guild_id).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Completes [`Db::record_remote_blob`] once the bytes are stored: the row's `size`, and
    /// for an attachment its row's type, size and dimensions as measured from the bytes, in
    /// one transaction.
    pub async fn settle_remote_blob(
        &self,
        key: &str,
        size: i64,
        attachment: Option<MeasuredAttachment<'_>>,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("UPDATE media_blobs SET size = $1 WHERE blob_key = $2")
                .bind(size).bind(key).execute(&mut *tx).await?;
            if let Some(MeasuredAttachment { channel_id, id, content_type, dims }) = attachment {
                sqlx::query("UPDATE attachments SET content_type = $1, size = $2, width = $3, height = $4 WHERE id = $5 AND channel_id = $6")
                    .bind(content_type).bind(size).bind(dims.map(|d| d.0)).bind(dims.map(|d| d.1))
                    .bind(id).bind(channel_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// [`Db::release_blobs`], answering how many live rows it released.
    pub async fn release_live_blobs(&self, keys: &[String], now: i64) -> Result<u64> {
        let mut ch = self.change(Lock::Nothing).await?;
        let n = ch.release_blobs(keys, now).await?;
        ch.commit().await?;
        Ok(n)
    }

    /// Announces two-step uploads (all of one user in one channel): their ledger rows
    /// (charged with the announced sizes, under `quotas`) and their pending rows, in one
    /// transaction. `Some(refusal)` when over a quota (nothing written).
    pub async fn create_pending_uploads(
        &self,
        us: &[PendingUploadRow],
        guild_id: Option<i64>,
        quotas: Quotas,
        now: i64,
    ) -> Result<Option<QuotaRefusal>> {
        let charges: Vec<BlobCharge<'_>> = us
            .iter()
            .map(|u| BlobCharge {
                key: &u.blob_key,
                user_id: u.user_id,
                guild_id,
                size: u.declared_size,
            })
            .collect();
        if charges.is_empty() {
            return Ok(None);
        }
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let refused = charge_in_tx!(self, tx, &charges, quotas, now);
            if refused.is_some() {
                return Ok(refused);
            }
            insert_pending!(tx, us);
            tx.commit().await?;
            Ok(None)
        })
    }

    /// The pending upload `id`, expired or not.
    pub async fn pending_upload(&self, id: i64) -> Result<Option<PendingUploadRow>> {
        let q = format!("SELECT {PENDING_COLS} FROM pending_uploads WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    /// Records a completed PUT: the bytes received and what they are; the ledger row is
    /// charged the real size (at most the announced one).
    pub async fn complete_pending_upload(
        &self,
        u: &PendingUploadRow,
        size: i64,
        content_type: &str,
        dims: Option<(i64, i64)>,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("UPDATE pending_uploads SET size = $1, content_type = $2, width = $3, height = $4 WHERE id = $5")
                .bind(size).bind(content_type).bind(dims.map(|d| d.0)).bind(dims.map(|d| d.1)).bind(u.id)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE media_blobs SET size = $1 WHERE blob_key = $2")
                .bind(size).bind(&u.blob_key).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Claims the completed, unexpired upload `id` of `user_id` in `channel_id` for a
    /// message: the pending row is deleted (so one upload serves one message) and its
    /// ledger row's `created_at` set to `now` (so the scan leaves the blob alone until the
    /// message commits). `None` when there is no such upload.
    pub async fn claim_pending_upload(
        &self,
        id: i64,
        user_id: i64,
        channel_id: i64,
        now: i64,
    ) -> Result<Option<PendingUploadRow>> {
        let q = format!(
            "DELETE FROM pending_uploads WHERE id = $1 AND user_id = $2 AND channel_id = $3 AND size IS NOT NULL AND expires_at > $4 RETURNING {PENDING_COLS}"
        );
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let row: Option<PendingUploadRow> = sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
                .bind(id).bind(user_id).bind(channel_id).bind(now)
                .fetch_optional(&mut *tx).await?;
            if let Some(r) = &row {
                sqlx::query("UPDATE media_blobs SET created_at = $1 WHERE blob_key = $2")
                    .bind(now).bind(&r.blob_key).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Gives back uploads claimed by [`Db::claim_pending_upload`] for a message that was
    /// refused or failed before it was stored: their pending rows come back as they were
    /// (same expiry), so the uploads can be claimed again. One transaction; a row that is
    /// somehow present already is left alone.
    pub async fn unclaim_pending_uploads(&self, rows: &[PendingUploadRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            insert_pending!(tx, rows, " ON CONFLICT (id) DO NOTHING");
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes pending uploads that expired before `before` (Unix ms); returns how many.
    /// Their blobs become unreferenced and are released by [`Db::release_unreferenced`].
    pub async fn delete_expired_uploads(&self, before: i64) -> Result<u64> {
        Ok(
            on_db!(self, p => sqlx::query("DELETE FROM pending_uploads WHERE expires_at < $1").bind(before).execute(p).await.map(|r| r.rows_affected()))?,
        )
    }

    /// Marks the ledger rows of `keys` released at `now` (their rows were deleted, or the
    /// write that needed them failed). Already released rows keep their time.
    pub async fn release_blobs(&self, keys: &[String], now: i64) -> Result<()> {
        self.release_live_blobs(keys, now).await.map(|_| ())
    }

    /// Marks released (at `now`) every live ledger row of an attachment (under
    /// `attachments/` or [`REMOTE_ATTACHMENTS`]) created before `created_before` (and, with
    /// `scope`, only those of that guild or under that key prefix) that no attachment and no
    /// pending upload refers to: files of deleted channels and guilds, crashes between a
    /// write and its row, remote files whose message went by a path that released nothing.
    /// Returns how many.
    pub async fn release_unreferenced(
        &self,
        created_before: i64,
        now: i64,
        scope: Option<BlobScope<'_>>,
    ) -> Result<u64> {
        let (filter, guild, prefix) = match scope {
            None => ("", 0, String::new()),
            Some(BlobScope::Guild(g)) => (" AND guild_id = $3", g, String::new()),
            Some(BlobScope::Prefix(p)) => (" AND blob_key LIKE $3", 0, format!("{p}%")),
        };
        // Only attachments (local, and remote ones cached here): other rows (cached remote
        // images and emoji) are released by whoever changes the row naming them.
        let q = format!(
            "UPDATE media_blobs SET released_at = $1 WHERE released_at IS NULL AND created_at < $2{filter} \
             AND (blob_key LIKE 'attachments/%' OR blob_key LIKE '{REMOTE_ATTACHMENTS}%') \
             AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_key = media_blobs.blob_key) \
             AND NOT EXISTS (SELECT 1 FROM pending_uploads u WHERE u.blob_key = media_blobs.blob_key)"
        );
        let r = on_db!(self, p => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(q.as_str())).bind(now).bind(created_before);
            match scope {
                None => {}
                Some(BlobScope::Guild(_)) => query = query.bind(guild),
                Some(BlobScope::Prefix(_)) => query = query.bind(prefix.as_str()),
            }
            query.execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(r)
    }

    /// Up to `limit` keys released at or before `before` (Unix ms): their bytes may go.
    pub async fn released_blobs(&self, before: i64, limit: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_db!(self, p => sqlx::query_as(
            "SELECT blob_key FROM media_blobs WHERE released_at IS NOT NULL AND released_at <= $1 ORDER BY released_at LIMIT $2")
            .bind(before).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Removes the ledger row of `key` once its bytes are deleted (only if still released).
    pub async fn forget_blob(&self, key: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("DELETE FROM media_blobs WHERE blob_key = $1 AND released_at IS NOT NULL").bind(key).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The ledger rows whose key starts with `prefix`: `(key, released_at)` (Unix ms), in
    /// key order. For operators' tools and tests.
    pub async fn blob_ledger(&self, prefix: &str) -> Result<Vec<(String, Option<i64>)>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT blob_key, released_at FROM media_blobs WHERE substr(blob_key, 1, length($1)) = $1 ORDER BY blob_key")
            .bind(prefix).fetch_all(p).await)?)
    }

    /// Which of `keys` have a ledger row (the orphan scan keeps those).
    pub async fn known_blobs(&self, keys: &[String]) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for chunk in keys.chunks(200) {
            let rows: Vec<(String,)> = on_db!(self, p => {
                let mut qb = sqlx::QueryBuilder::new("SELECT blob_key FROM media_blobs WHERE blob_key IN (");
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k);
                }
                qb.push(")");
                qb.build_query_as().persistent(false).fetch_all(p).await
            })?;
            out.extend(rows.into_iter().map(|r| r.0));
        }
        Ok(out)
    }

    /// Live (not released) bytes charged to user `user_id` and to guild `guild_id`.
    pub async fn media_usage(&self, user_id: i64, guild_id: i64) -> Result<(i64, i64)> {
        on_db!(self, p => {
            let (u,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM media_blobs WHERE user_id = $1 AND released_at IS NULL")
                .bind(user_id).fetch_one(p).await?;
            let (g,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM media_blobs WHERE guild_id = $1 AND released_at IS NULL")
                .bind(guild_id).fetch_one(p).await?;
            Ok((u, g))
        })
    }
}

impl Change {
    /// Marks the ledger rows of `keys` released at `now` inside this change (the file
    /// collector deletes their bytes after the grace period); already released rows keep
    /// their time. Returns how many live rows it released.
    pub async fn release_blobs(&mut self, keys: &[String], now: i64) -> Result<u64> {
        let mut n = 0;
        for chunk in keys.chunks(200) {
            n += on_tx!(self, tx => {
                let mut qb = sqlx::QueryBuilder::new("UPDATE media_blobs SET released_at = ");
                qb.push_bind(now).push(" WHERE released_at IS NULL AND blob_key IN (");
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k);
                }
                qb.push(")");
                qb.build().persistent(false).execute(&mut *tx).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(n)
    }
}
