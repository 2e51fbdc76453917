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

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ports::{BlobKey, BlobReader, BlobStream, ByteRange};
use super::sniff;
use super::{Actor, ChannelAccess, Hearth};
use crate::error::{Error, Result, field_error};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AttachmentRow, BlobCharge};
use crate::wire;

/// One file part of a message request, already streamed into the blob store by
/// [`Hearth::receive_file`]: `part` is `n` of its `files[n]` name (or its position among the
/// file parts when named otherwise).
#[derive(Debug, Clone)]
pub struct Upload {
    pub part: String,
    /// The part's own filename (`Content-Disposition`), if any.
    pub filename: Option<String>,
    /// The attachment id it will have.
    pub id: i64,
    /// Its blob key (`attachments/{channel_id}/{id}`), recorded in the ledger.
    pub key: String,
    /// Length, bytes.
    pub size: u64,
    /// Sniffed from the first bytes.
    pub content_type: &'static str,
    /// Width and height in pixels, for images.
    pub dims: Option<(u64, u64)>,
}

/// Where the files of one message request go: checked (channel, permissions) before any
/// byte is stored ([`Hearth::file_target`]).
#[derive(Debug, Clone, Copy)]
pub struct FileTarget {
    channel_id: i64,
    guild_id: Option<i64>,
    user_id: i64,
}

impl FileTarget {
    /// Files for channel `channel_id` (of `guild_id`), charged to user `user_id`: only for
    /// callers that checked the sender first ([`Hearth::file_target`],
    /// [`Hearth::token_file_target`], [`Hearth::callback_file_target`]).
    pub(super) fn new(channel_id: i64, guild_id: Option<i64>, user_id: i64) -> Self {
        Self {
            channel_id,
            guild_id,
            user_id,
        }
    }
}

/// 400 50035 on `files`: files cannot go to a guild hosted on another server yet.
pub(super) fn files_not_federated() -> Error {
    field_error(
        "files",
        "ATTACHMENTS_NOT_FEDERATED",
        "Files cannot be sent to a guild hosted on another server yet.",
    )
}

/// A served file: its row (name, type, size) and its bytes (or the asked range of them) as a
/// stream.
pub struct AttachmentFile {
    pub row: AttachmentRow,
    /// The whole file, or the bytes of `range`.
    pub body: BlobReader,
    /// The bytes served, `start..end` (end exclusive), when a satisfiable `Range` was asked
    /// (the answer is 206); `None` for the whole file (200).
    pub range: Option<std::ops::Range<u64>>,
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

pub(super) fn ref_id(v: &serde_json::Value) -> Option<String> {
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

    /// The checks a message request's files pass before any of their bytes is stored: the
    /// channel (visible, of a guild hosted here or a DM), and for a send (`edit`: `None`) a
    /// text channel (or a forum or media channel, whose files go to a new post), SEND_MESSAGES
    /// and ATTACH_FILES; for an edit of message `edit`, the
    /// message (in this channel, by the caller) and ATTACH_FILES.
    ///
    /// # Errors
    /// 404/403 50001 for a channel the caller cannot see; 400 50035 on `files` in a guild
    /// hosted on another server; 400 50008 for a non-text channel; 403 50013 without
    /// SEND_MESSAGES and ATTACH_FILES (an edit: ATTACH_FILES); 404 10008 for an unknown
    /// message, 403 50005 for another user's.
    pub async fn file_target(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        edit: Option<Snowflake>,
    ) -> Result<FileTarget> {
        let ca = self.channel_access(actor, channel_id).await?;
        if self.replica_of(&ca).await?.is_some() {
            return Err(files_not_federated());
        }
        match edit {
            None => {
                // A forum's files are for its posts' starter messages (`super::forums`).
                if !ca.is_text() && !super::forums::is_forum(ca.channel.kind) {
                    return Err(Error::Rule(crate::error::Rule::NonTextChannel));
                }
                ca.require(perm::SEND_MESSAGES | perm::ATTACH_FILES)?;
            }
            Some(m) => {
                if self.message_in(&ca, m).await?.author_id != actor.user.id {
                    return Err(Error::Rule(crate::error::Rule::NotAuthor));
                }
                ca.require(perm::ATTACH_FILES)?;
            }
        }
        Ok(FileTarget {
            channel_id: ca.channel.id,
            guild_id: ca.channel.guild_id,
            user_id: actor.user.id,
        })
    }

    /// Streams one file part of a message request into the blob store (never the whole
    /// file in memory): its ledger row first (size 0, so a crash leaves a row the collector
    /// releases, never unrecorded bytes), then the bytes under `media.max_file_bytes`, then
    /// its size is charged against the quotas. `body` may end with an error item (the
    /// request's own limit, a read error): nothing is then kept.
    ///
    /// # Errors
    /// 413 40005 for a file over `media.max_file_bytes` or over a quota; `body`'s own error;
    /// 500 when the store cannot be written. On any error the bytes are released (the
    /// collector deletes whatever a store may have kept).
    pub async fn receive_file(
        &self,
        t: &FileTarget,
        part: String,
        filename: Option<String>,
        body: BlobStream,
    ) -> Result<Upload> {
        let id = self.next_id();
        let key = BlobKey::new(format!("attachments/{}/{id}", t.channel_id))?;
        let charge = BlobCharge {
            key: key.as_str(),
            user_id: t.user_id,
            guild_id: t.guild_id,
            size: 0,
        };
        let now = crate::storage::now_ms();
        if let Some(r) = self.db.charge_blobs(&[charge], self.quotas(), now).await? {
            return Err(super::uploads::quota_error(r));
        }
        let released = |e: Error| {
            self.forget_keys(vec![key.as_str().to_string()]);
            Err(e)
        };
        let (body, head) = super::uploads::metered(body, self.config.media.max_file_bytes);
        let size = match self.blobs.put_stream(&key, body).await {
            Ok(n) => n,
            Err(e) => return released(e),
        };
        let refused = self
            .db
            .settle_blob(
                key.as_str(),
                t.user_id,
                t.guild_id,
                size as i64,
                self.quotas(),
            )
            .await;
        match refused {
            Ok(None) => {}
            Ok(Some(r)) => return released(super::uploads::quota_error(r)),
            Err(e) => return released(e),
        }
        let sniffed = sniff::sniff(&head.lock());
        Ok(Upload {
            part,
            filename,
            id,
            key: key.as_str().to_string(),
            size,
            content_type: sniffed.content_type,
            dims: sniffed.dims,
        })
    }

    /// Releases files received by [`Self::receive_file`] that no message will use (the
    /// request failed).
    pub fn discard_files(&self, files: &[Upload]) {
        self.forget_keys(files.iter().map(|f| f.key.clone()).collect());
    }

    /// `r`, the outcome of a request that received `files`; when it failed, the files are
    /// released first ([`Self::discard_files`]).
    pub(super) fn files_kept_if_ok<T>(&self, files: &[Upload], r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.discard_files(files);
        }
        r
    }

    /// Turns the files of a message request (already stored by [`Self::receive_file`]) into
    /// attachment rows, claims the two-step uploads the payload refers to
    /// ([`Hearth::claim_uploads`]) and returns the rows (the message id is filled in at
    /// commit). `refs` is the payload's `attachments` array: an entry whose `id` is a part's
    /// `n` gives its filename and description.
    ///
    /// # Errors
    /// 400 50035 on `files` beyond `media.max_files_per_message` (parts and uploads
    /// together); the errors of [`Hearth::claim_uploads`]. The caller releases the files on
    /// any error ([`Self::discard_files`]); uploads already claimed are given back here.
    /// Also returns the claimed pending rows ([`Hearth::unclaim`] if the send fails later).
    pub(super) async fn store_uploads(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        refs: &[wire::AttachmentRef],
        files: &[Upload],
    ) -> Result<(Vec<AttachmentRow>, Vec<crate::storage::PendingUploadRow>)> {
        let media = &self.config.media;
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
        let mut rows = Self::file_rows(ca.channel.id, refs, files, 0);
        let (claimed, pending) = self.claim_uploads(ca, actor, refs, rows.len()).await?;
        rows.extend(claimed);
        Ok((rows, pending))
    }

    /// The attachment rows of a request's files (in part order, from `position` on) in
    /// channel `channel_id`: each named by the `refs` entry whose `id` is its part's `n`
    /// (filename, description), else by its own filename.
    pub(super) fn file_rows(
        channel_id: i64,
        refs: &[wire::AttachmentRef],
        files: &[Upload],
        position: usize,
    ) -> Vec<AttachmentRow> {
        files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let meta = refs
                    .iter()
                    .find(|r| r.id.as_ref().and_then(ref_id).as_deref() == Some(f.part.as_str()));
                let name = meta
                    .and_then(|m| m.filename.clone())
                    .or(f.filename.clone())
                    .unwrap_or_else(|| "unknown".into());
                AttachmentRow {
                    id: f.id,
                    message_id: 0,
                    channel_id,
                    position: (position + i) as i64,
                    filename: clean_filename(&name),
                    description: meta
                        .and_then(|m| m.description.clone())
                        .map(|d| d.chars().take(1024).collect()),
                    content_type: f.content_type.to_string(),
                    size: f.size as i64,
                    width: f.dims.map(|d| d.0 as i64),
                    height: f.dims.map(|d| d.1 as i64),
                    blob_key: f.key.clone(),
                }
            })
            .collect()
    }

    /// Releases the bytes of attachments whose rows are gone (or were never stored): their
    /// ledger rows are marked released now and the collector ([`super::media_gc`]) deletes
    /// the bytes after `media.delete_grace_seconds`. In the background; a failure leaves
    /// them to the collector's scan.
    pub(super) fn forget_blobs(&self, rows: &[AttachmentRow]) {
        self.forget_keys(rows.iter().map(|r| r.blob_key.clone()).collect());
    }

    /// [`Self::forget_blobs`] by blob key.
    pub(super) fn forget_keys(&self, keys: Vec<String>) {
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

    /// `GET /attachments/{channel_id}/{attachment_id}/{filename}?ex&is&hm`: the attachment's
    /// row, when the signature is right and not expired (its bytes: [`Self::open_attachment`]).
    ///
    /// A finished, unexpired two-step upload is served the same way (an interaction's
    /// ATTACHMENT option shows it to the application before any message holds it).
    ///
    /// # Errors
    /// 404 for a missing, wrong or expired signature, an unknown attachment or a filename
    /// that is not the attachment's.
    pub async fn signed_attachment(
        &self,
        channel_id: Snowflake,
        id: Snowflake,
        filename: &str,
        ex: Option<&str>,
        is: Option<&str>,
        hm: Option<&str>,
    ) -> Result<AttachmentRow> {
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
        if let Some(row) = self.db.attachment(channel_id.db(), id.db()).await? {
            return if row.filename == filename {
                Ok(row)
            } else {
                Err(Error::RouteNotFound)
            };
        }
        // A finished two-step upload an interaction's ATTACHMENT option showed to its
        // application (`super::uploads`), until it expires.
        self.db
            .pending_upload(id.db())
            .await?
            .filter(|u| {
                u.channel_id == channel_id.db()
                    && u.filename == filename
                    && u.size.is_some()
                    && u.expires_at > crate::storage::now_ms()
            })
            .map(Self::upload_row)
            .ok_or(Error::RouteNotFound)
    }

    /// The bytes of attachment `row` (from [`Self::signed_attachment`]): all of them, or with
    /// `range` (a parsed `Range` header) only those, read from the store without the ones
    /// before them. A replica's file not yet here is fetched whole from its origin first
    /// ([`Self::fetch_attachment`]); it is then served with the type, size and dimensions
    /// measured from its bytes, not those the origin claimed.
    ///
    /// # Errors
    /// 416 when `range` holds no byte of the file; the errors of a fetch
    /// ([`super::ports::GuildHost::fetch_media`]); 500 when stored bytes are missing or
    /// unreadable.
    pub async fn open_attachment(
        &self,
        mut row: AttachmentRow,
        range: Option<ByteRange>,
    ) -> Result<AttachmentFile> {
        let key = BlobKey::new(row.blob_key.clone())?;
        let mut opened = self.open_bytes(&row, &key, range).await?;
        if opened.is_none()
            && let Some(fetched) = self.fetch_attachment(&row, &key).await?
        {
            row = fetched;
            opened = self.open_bytes(&row, &key, range).await?;
        }
        let (body, range) =
            opened.ok_or_else(|| Error::internal(format!("attachment {} has no bytes", row.id)))?;
        let inline = sniff::inline_safe(&row.content_type);
        Ok(AttachmentFile {
            row,
            body,
            range,
            inline,
        })
    }

    /// The stored bytes of `row` under `key` (all, or those of `range` resolved against the
    /// row's size) and the resolved range; `None` when the store has none.
    ///
    /// # Errors
    /// 416 when `range` holds no byte of the file; 500 when the store fails.
    async fn open_bytes(
        &self,
        row: &AttachmentRow,
        key: &BlobKey,
        range: Option<ByteRange>,
    ) -> Result<Option<(BlobReader, Option<std::ops::Range<u64>>)>> {
        let size = row.size.max(0) as u64;
        Ok(match range {
            None => self.blobs.open(key).await?.map(|b| (b, None)),
            Some(r) => {
                let r = r.resolve(size).ok_or(Error::RangeNotSatisfiable { size })?;
                self.blobs
                    .open_range(key, r.clone())
                    .await?
                    .map(|b| (b, Some(r)))
            }
        })
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
