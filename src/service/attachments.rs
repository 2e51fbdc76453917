//! Message attachments (issue 13; Discord "Reference > Uploading Files" and "Resources >
//! Message > Attachment Object"): storing uploaded files, rendering attachment objects with
//! signed URLs, and checking a signed URL when the file is fetched.
//!
//! **Crash safety.** Each file is first recorded in the blob ledger (`media_blobs`, with
//! the quota check), then its bytes are written to the blob store; the attachment rows are
//! inserted afterwards in the message's own transaction (by the group-commit writer). A
//! crash or a failed insert between the two leaves a ledger row no attachment refers to,
//! which the collector ([`super::media_gc`]) releases and deletes (at once released when
//! the send fails normally), but never a row pointing at missing bytes.
//!
//! **Signed URLs** (as Discord's CDN since 2024): `url` carries `ex` (expiry, Unix seconds,
//! hex), `is` (issue time, hex) and `hm` (hex HMAC-SHA256 under a per-server secret over
//! `{channel_id}/{attachment_id}/{filename}`, `ex` and `is`). A fetch with a missing, wrong
//! or expired signature is 404, so a link copied out of a channel stops working after
//! `media.url_ttl_seconds`, and a guessed URL never works. Message objects are rendered with
//! fresh URLs for whoever may read them.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ports::{BlobKey, BlobReader};
use super::sniff;
use super::{Actor, ChannelAccess, Hearth};
use crate::error::{Error, Result, field_error};
use crate::snowflake::Snowflake;
use crate::storage::{AttachmentRow, BlobCharge};
use crate::wire;

/// One uploaded file part of a message request: `part` is `n` of its `files[n]` name (or its
/// position among the file parts when named otherwise).
#[derive(Debug, Clone)]
pub struct Upload {
    pub part: String,
    /// The part's own filename (`Content-Disposition`), if any.
    pub filename: Option<String>,
    pub bytes: Bytes,
}

/// A served file: its row (name, type, size) and its bytes as a stream.
pub struct AttachmentFile {
    pub row: AttachmentRow,
    pub body: BlobReader,
    /// Whether a browser may show it in place (`Content-Disposition: inline`).
    pub inline: bool,
}

/// Discord-style filename: ASCII letters, digits, `.`, `_`, `-` (others become `_`), at most
/// 100 characters, never empty or only dots.
pub fn clean_filename(name: &str) -> String {
    let mut s: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if s.chars().all(|c| c == '.') {
        s = "unknown".into();
    }
    s
}

fn ref_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Hearth {
    /// The MAC of a signed URL: `path` (the attachment's `{channel}/{id}/{filename}`, or
    /// `upload/...` for upload URLs), expiry and issue time.
    pub(super) fn url_mac(&self, path: &str, ex: u64, is: u64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.media_key.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(format!("{path}|{ex:x}|{is:x}").as_bytes());
        mac
    }

    /// The signed URL of an attachment, valid for `media.url_ttl_seconds` from now.
    pub fn attachment_url(&self, channel_id: i64, id: i64, filename: &str) -> String {
        let path = format!("{channel_id}/{id}/{filename}");
        let is = crate::storage::now_ms() as u64 / 1000;
        let ex = is + self.config.media.url_ttl_seconds;
        let hm = hex::encode(self.url_mac(&path, ex, is).finalize().into_bytes());
        let base = self.config.media.public_url.as_deref().unwrap_or("");
        format!(
            "{}/attachments/{path}?ex={ex:x}&is={is:x}&hm={hm}",
            base.trim_end_matches('/')
        )
    }

    /// The attachment object of a row, with fresh signed URLs.
    pub(super) fn attachment_wire(&self, a: &AttachmentRow) -> wire::Attachment {
        let url = self.attachment_url(a.channel_id, a.id, &a.filename);
        wire::Attachment {
            id: Snowflake::from_db(a.id),
            filename: a.filename.clone(),
            description: a.description.clone(),
            content_type: Some(a.content_type.clone()),
            size: a.size as u64,
            proxy_url: url.clone(),
            url,
            width: a.width.map(|w| w as u64),
            height: a.height.map(|h| h as u64),
        }
    }

    /// Checks the files of a message against `media`'s limits and the quotas, records them
    /// in the blob ledger, writes their bytes to the blob store, claims the two-step uploads
    /// the payload refers to ([`Hearth::claim_uploads`]) and returns the rows (the message id
    /// is filled in at commit). `refs` is the payload's `attachments` array: an entry whose
    /// `id` is a part's `n` gives its filename and description.
    ///
    /// # Errors
    /// 400 50035 on `files` beyond `media.max_files_per_message` (parts and uploads
    /// together); 413 40005 for a file over `media.max_file_bytes` or over a quota; the
    /// errors of [`Hearth::claim_uploads`]; 500 when the store cannot be written. On any
    /// error, what was already stored or claimed is released.
    pub(super) async fn store_uploads(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        refs: &[wire::AttachmentRef],
        files: Vec<Upload>,
    ) -> Result<Vec<AttachmentRow>> {
        let media = &self.config.media;
        let channel_id = ca.channel.id;
        let uploads = refs
            .iter()
            .filter(|r| r.uploaded_filename.is_some())
            .count();
        if files.len() + uploads > media.max_files_per_message {
            return Err(field_error(
                "files",
                "BASE_TYPE_MAX_LENGTH",
                format!(
                    "Must be {} or fewer in length.",
                    media.max_files_per_message
                ),
            ));
        }
        if files
            .iter()
            .any(|f| f.bytes.len() as u64 > media.max_file_bytes)
        {
            return Err(Error::PayloadTooLarge);
        }
        let mut rows = Vec::with_capacity(files.len());
        let mut parts = Vec::with_capacity(files.len());
        for (position, f) in files.into_iter().enumerate() {
            let meta = refs
                .iter()
                .find(|r| r.id.as_ref().and_then(ref_id).as_deref() == Some(f.part.as_str()));
            let name = meta
                .and_then(|m| m.filename.clone())
                .or(f.filename.clone())
                .unwrap_or_else(|| "unknown".into());
            let id = self.next_id();
            let sniffed = sniff::sniff(&f.bytes);
            let key = BlobKey::new(format!("attachments/{channel_id}/{id}"))?;
            rows.push(AttachmentRow {
                id,
                message_id: 0,
                channel_id,
                position: position as i64,
                filename: clean_filename(&name),
                description: meta
                    .and_then(|m| m.description.clone())
                    .map(|d| d.chars().take(1024).collect()),
                content_type: sniffed.content_type.to_string(),
                size: f.bytes.len() as i64,
                width: sniffed.dims.map(|d| d.0 as i64),
                height: sniffed.dims.map(|d| d.1 as i64),
                blob_key: key.as_str().to_string(),
            });
            parts.push((key, f.bytes));
        }
        // The ledger first (quotas), then the bytes: a blob is never stored unrecorded.
        let charges: Vec<BlobCharge<'_>> = rows
            .iter()
            .map(|r| BlobCharge {
                key: &r.blob_key,
                user_id: actor.user.id,
                guild_id: ca.channel.guild_id,
                size: r.size,
            })
            .collect();
        let now = crate::storage::now_ms();
        if let Some(r) = self.db.charge_blobs(&charges, self.quotas(), now).await? {
            return Err(super::uploads::quota_error(r));
        }
        for (key, bytes) in parts {
            if let Err(e) = self.blobs.put(&key, bytes).await {
                self.forget_blobs(&rows);
                return Err(e);
            }
        }
        match self.claim_uploads(ca, actor, refs, rows.len()).await {
            Ok(claimed) => rows.extend(claimed),
            Err(e) => {
                self.forget_blobs(&rows);
                return Err(e);
            }
        }
        Ok(rows)
    }

    /// Releases the bytes of attachments whose rows are gone (or were never stored): their
    /// ledger rows are marked released now and the collector ([`super::media_gc`]) deletes
    /// the bytes after `media.delete_grace_seconds`. In the background; a failure leaves
    /// them to the collector's scan.
    pub(super) fn forget_blobs(&self, rows: &[AttachmentRow]) {
        let keys: Vec<String> = rows.iter().map(|r| r.blob_key.clone()).collect();
        if keys.is_empty() {
            return;
        }
        let (db, wake) = (self.db.clone(), self.media_gc.clone());
        tokio::spawn(async move {
            match db.release_blobs(&keys, crate::storage::now_ms()).await {
                Ok(()) => wake.notify_one(),
                Err(e) => tracing::warn!(error = %e, "attachment bytes left to the orphan scan"),
            }
        });
    }

    /// Splits a message's attachments by an edit's `attachments` array: the rows kept (in
    /// order) and those removed. Entries whose id is not an attachment of the message are
    /// ignored.
    pub(super) fn split_kept(
        current: Vec<AttachmentRow>,
        keep: &[wire::AttachmentRef],
    ) -> (Vec<AttachmentRow>, Vec<AttachmentRow>) {
        let keep: Vec<String> = keep
            .iter()
            .filter_map(|r| r.id.as_ref().and_then(ref_id))
            .collect();
        current
            .into_iter()
            .partition(|a| keep.contains(&a.id.to_string()))
    }

    /// `GET /attachments/{channel_id}/{attachment_id}/{filename}?ex&is&hm`: the file, when
    /// the signature is right and not expired.
    ///
    /// # Errors
    /// 404 for a missing, wrong or expired signature, an unknown attachment or a filename
    /// that is not the attachment's; 500 when stored bytes are missing or unreadable.
    pub async fn attachment_file(
        &self,
        channel_id: Snowflake,
        id: Snowflake,
        filename: &str,
        ex: Option<&str>,
        is: Option<&str>,
        hm: Option<&str>,
    ) -> Result<AttachmentFile> {
        let hexnum = |v: Option<&str>| v.and_then(|v| u64::from_str_radix(v, 16).ok());
        let (Some(ex), Some(is), Some(hm)) =
            (hexnum(ex), hexnum(is), hm.and_then(|h| hex::decode(h).ok()))
        else {
            return Err(Error::RouteNotFound);
        };
        let path = format!("{channel_id}/{id}/{filename}");
        let now = crate::storage::now_ms() as u64 / 1000;
        if ex <= now || self.url_mac(&path, ex, is).verify_slice(&hm).is_err() {
            return Err(Error::RouteNotFound);
        }
        let row = self
            .db
            .attachment(channel_id.db(), id.db())
            .await?
            .filter(|r| r.filename == filename)
            .ok_or(Error::RouteNotFound)?;
        let key = BlobKey::new(row.blob_key.clone())?;
        let body = self
            .open_attachment_blob(&row, &key)
            .await?
            .ok_or_else(|| Error::internal(format!("attachment {} has no bytes", row.id)))?;
        let inline = sniff::inline_safe(&row.content_type);
        Ok(AttachmentFile { row, body, inline })
    }
}

#[cfg(test)]
mod tests {
    use super::clean_filename;

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(clean_filename("my cat.png"), "my_cat.png");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename(".."), "unknown");
        assert_eq!(clean_filename("é.txt"), "_.txt");
    }
}
