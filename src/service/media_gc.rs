//! The file collector (issue 13): deletes the bytes of files nobody refers to any more,
//! never before a grace period, from the blob ledger (`media_blobs`, migration 0012).
//!
//! A file's ledger row is written before its bytes. It is **released** (`released_at`):
//! - at once by the request that deleted its rows: message delete and bulk delete, an edit
//!   removing it, a send that failed ([`Hearth::forget_blobs`]), a deleted channel or guild
//!   ([`Hearth::release_files_of`]);
//! - for images (outside `attachments/`, which have no ledger row while in use), when their
//!   keys can never be used again: a deleted guild's icon, banner, splash and emoji, a
//!   deleted emoji (`Hearth::release_images`: a released row charged to no one); deleting
//!   such a row's bytes also deletes the image's resized copies;
//! - by each timed pass's **scan** when it is an attachment's (local or remote) that no
//!   attachment and no pending upload refers to and it is older than
//!   `media.orphan_age_seconds` (crashes between a write and its row, deletions by other
//!   paths), so a file being uploaded right now is never taken;
//! - when its two-step upload expired unclaimed (the pass deletes expired pending rows
//!   first);
//! - for files of other servers cached here (spec/federation.md §17.3: recorded live, charged
//!   to no one, when fetched, [`crate::storage::Db::record_remote_blob`]), by the change
//!   that made them useless, on the member side of federation: a replica's message deleted
//!   (or bulk-deleted), an attachment removed by the host's edit, a channel deleted, an
//!   emoji removed, the replica dropped (guild deleted or left by the last local member), a
//!   remote user's avatar or a replica's icon, banner or splash replaced
//!   ([`Hearth::files_released`] wakes the collector).
//!
//! Released rows count no more against the quotas. A pass deletes the bytes of rows released
//! more than `media.delete_grace_seconds` ago (links already handed out keep working until
//! then), then their rows. Every `media.orphan_scan_seconds` it also lists the store under
//! `attachments/` and `remote/` and deletes blobs with no ledger row older than
//! `media.orphan_age_seconds` (leftover temporary files of the local store included). Other
//! prefixes (avatars, icons, emoji) are not this collector's unless released: their owners
//! keep their own references.
//!
//! The pass runs every `media.collect_interval_seconds`, and sooner when a release wakes it
//! (a woken pass only deletes what is due; it does not scan).

use std::sync::Arc;
use std::time::Duration;

use super::Hearth;
use super::ports::BlobKey;
use crate::error::Result;
use crate::storage::{BlobScope, REMOTE_ATTACHMENTS, REMOTE_FILES, now_ms};

/// Ledger rows handled per batch of a pass.
const BATCH: i64 = 500;
/// The store prefix this collector owns.
const PREFIX: &str = "attachments/";

/// Whose files to release after a deletion ([`Hearth::release_files_of`]).
#[derive(Debug, Clone, Copy)]
pub enum FilesOf {
    Channel(i64),
    Guild(i64),
}

/// What one pass did (counts of rows or blobs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    /// Expired two-step uploads removed.
    pub expired_uploads: u64,
    /// Ledger rows the scan found unreferenced and released.
    pub released: u64,
    /// Blobs deleted after their grace period.
    pub deleted: u64,
    /// Blobs deleted by the store scan (no ledger row at all).
    pub orphans: u64,
}

impl Hearth {
    /// Wakes the collector after `n` files were released by a change that recorded their
    /// release itself (the member side of federation, spec/federation.md §17.3); nothing
    /// when `n` is 0.
    pub(crate) fn files_released(&self, n: u64) {
        if n > 0 {
            self.media_gc.notify_one();
        }
    }

    /// Releases the files of a deleted channel or guild (their rows went with it), in the
    /// background, and wakes the collector. A channel's are its uploads (`attachments/{id}/`)
    /// or, for a replica's channel, the files fetched from its host
    /// (`remote/attachments/{id}/`).
    pub(crate) fn release_files_of(&self, of: FilesOf) {
        let (db, wake) = (self.db.clone(), self.media_gc.clone());
        tokio::spawn(async move {
            let now = now_ms();
            let released = async {
                match of {
                    FilesOf::Guild(g) => {
                        db.release_unreferenced(i64::MAX, now, Some(BlobScope::Guild(g)))
                            .await
                    }
                    FilesOf::Channel(c) => {
                        let mut n = 0;
                        for prefix in [format!("{PREFIX}{c}/"), format!("{REMOTE_ATTACHMENTS}{c}/")]
                        {
                            n += db
                                .release_unreferenced(
                                    i64::MAX,
                                    now,
                                    Some(BlobScope::Prefix(&prefix)),
                                )
                                .await?;
                        }
                        Ok(n)
                    }
                }
            }
            .await;
            match released {
                Ok(_) => wake.notify_one(),
                Err(e) => tracing::warn!(error = %e, "files left to the collector's scan"),
            }
        });
    }

    /// One pass of the collector: expired uploads, then (with `scan`) unreferenced ledger
    /// rows and, with `scan_store`, the store itself; then the bytes whose grace period is
    /// over. Public so that operators' tools and tests can run one at a chosen moment.
    ///
    /// # Errors
    /// 500 when the database or the store fails (the next pass retries).
    pub async fn collect_media(&self, scan: bool, scan_store: bool) -> Result<Collected> {
        let media = &self.config.media;
        let now = now_ms();
        let grace = (media.delete_grace_seconds as i64).saturating_mul(1000);
        let age = (media.orphan_age_seconds as i64).saturating_mul(1000);
        let mut out = Collected {
            expired_uploads: self.db.delete_expired_uploads(now).await?,
            ..Collected::default()
        };
        if scan || out.expired_uploads > 0 {
            out.released = self
                .db
                .release_unreferenced(now.saturating_sub(age), now, None)
                .await?;
        }
        if scan_store {
            out.orphans = self.collect_store_orphans(now.saturating_sub(age)).await?;
        }
        loop {
            let due = self
                .db
                .released_blobs(now.saturating_sub(grace), BATCH)
                .await?;
            for key in &due {
                if let Ok(k) = BlobKey::new(key.clone()) {
                    if key.starts_with(PREFIX) || key.starts_with(REMOTE_ATTACHMENTS) {
                        self.blobs.delete(&k).await?;
                    } else {
                        // An image (`Hearth::release_images`, or cached from another
                        // server): its resized copies too.
                        super::images::delete_image(self.blobs.as_ref(), &k).await;
                    }
                }
                self.db.forget_blob(key).await?;
                out.deleted += 1;
            }
            if (due.len() as i64) < BATCH {
                break;
            }
        }
        Ok(out)
    }

    /// Deletes the blobs under [`PREFIX`] and [`REMOTE_FILES`] (every cached remote file has a
    /// ledger row, written before its bytes) that have no ledger row and were
    /// last written before `before` (Unix ms); returns how many.
    async fn collect_store_orphans(&self, before: i64) -> Result<u64> {
        let mut old: Vec<String> = Vec::new();
        for prefix in [PREFIX, REMOTE_FILES] {
            old.extend(
                self.blobs
                    .list(prefix)
                    .await?
                    .into_iter()
                    .filter(|e| e.modified_ms < before)
                    .map(|e| e.key),
            );
        }
        let mut n = 0;
        for chunk in old.chunks(BATCH as usize) {
            let known = self.db.known_blobs(chunk).await?;
            for key in chunk.iter().filter(|k| !known.contains(*k)) {
                if let Ok(k) = BlobKey::new(key.clone()) {
                    self.blobs.delete(&k).await?;
                    n += 1;
                }
            }
        }
        if n > 0 {
            tracing::info!(count = n, "orphan files removed from the blob store");
        }
        Ok(n)
    }

    /// The collector's task (spawned by the composition root): a pass every
    /// `media.collect_interval_seconds` (with the ledger scan, and the store scan every
    /// `media.orphan_scan_seconds`), and a short pass whenever a release wakes it.
    pub async fn run_media_collector(self: Arc<Self>) {
        let media = &self.config.media;
        let every = Duration::from_secs(media.collect_interval_seconds.max(1));
        let scan_every = Duration::from_secs(media.orphan_scan_seconds.max(1));
        let mut last_store_scan = tokio::time::Instant::now();
        loop {
            let timed = tokio::select! {
                _ = tokio::time::sleep(every) => true,
                _ = self.media_gc.notified() => false,
            };
            let scan_store = timed && last_store_scan.elapsed() >= scan_every;
            if scan_store {
                last_store_scan = tokio::time::Instant::now();
            }
            let pass = self.collect_media(timed, scan_store).await;
            self.jobs.record("media_collector", pass.is_ok());
            match pass {
                Ok(c) if c != Collected::default() => tracing::debug!(?c, "file collector pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "file collector pass failed"),
            }
        }
    }
}
