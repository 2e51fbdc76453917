//! The two-step upload Discord clients use for files (issue 13):
//!
//! 1. `POST /channels/{id}/attachments` `{files: [{id, filename, file_size}]}` (SEND_MESSAGES
//!    and ATTACH_FILES in the channel; sizes under `media.max_file_bytes`, counted against the
//!    quotas at once) answers `{attachments: [{id, upload_url, upload_filename}]}`.
//! 2. The client PUTs the bytes to `upload_url`: a URL on this server
//!    (`/uploads/{channel_id}/{attachment_id}/{filename}?ex&is&hm`, signed like attachment URLs
//!    under the `upload/` domain), valid for `media.upload_ttl_seconds`. The body is streamed
//!    into the blob store; more bytes than announced (or than `media.max_file_bytes`) is 413
//!    40005 and nothing is kept. The type is sniffed from the first bytes.
//! 3. A message send refers to it: `attachments: [{id, filename, uploaded_filename}]`. The
//!    upload is claimed (its pending row deleted in one statement, so it serves one message)
//!    and becomes an attachment with the upload's id and bytes, no copy.
//!
//! 4. Or an interaction's ATTACHMENT option names it (`POST /interactions` with
//!    `data.attachments: [{id, filename, uploaded_filename}]`, Discord's client's shape;
//!    [`Hearth::attachment_options`]): it is not claimed, but shown to the application in
//!    `data.resolved.attachments` with a signed URL (the attachment route serves a finished,
//!    unexpired upload to whoever holds the signed URL) until the upload expires.
//!
//! An upload not claimed within `media.upload_ttl_seconds` expires: the collector
//! ([`super::media_gc`]) deletes its row, then its bytes after the grace period.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use hmac::Mac;

use super::attachments::clean_filename;
use super::ports::{BlobKey, BlobStream};
use super::{Actor, ChannelAccess, Hearth, sniff};
use crate::error::{Error, Result, Rule, field_error};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AttachmentRow, PendingUploadRow, QuotaRefusal, Quotas};
use crate::wire;

/// Replaces the values of ATTACHMENT options (the `data.attachments` entry they name) by the
/// ids of the uploads `by_ref` resolved them to, at every level of `options`.
pub(super) fn name_attachments(
    options: &mut [wire::InteractionDataOption],
    by_ref: &std::collections::BTreeMap<String, wire::Attachment>,
) {
    for o in options {
        if let Some(inner) = o.options.as_mut() {
            name_attachments(inner, by_ref);
        }
        if o.kind == wire::ApplicationCommandOptionType::Attachment
            && let Some(a) = o
                .value
                .as_ref()
                .and_then(|v| v.as_str())
                .and_then(|r| by_ref.get(r))
        {
            o.value = Some(serde_json::Value::String(a.id.to_string()));
        }
    }
}

/// Bytes of the start of an upload kept for sniffing its type and dimensions.
const SNIFF_BYTES: usize = 64 * 1024;

/// The start of a stream as it passed ([`SNIFF_BYTES`] at most), for sniffing its type.
pub(super) type Head = Arc<parking_lot::Mutex<BytesMut>>;

/// `body` limited to `limit` bytes (one more is a 413 40005 item, which makes the store
/// discard the write), keeping its first [`SNIFF_BYTES`] in the returned [`Head`].
pub(super) fn metered(body: BlobStream, limit: u64) -> (BlobStream, Head) {
    let head: Head = Arc::new(parking_lot::Mutex::new(BytesMut::new()));
    let seen = head.clone();
    let mut total = 0u64;
    let counted: BlobStream = Box::pin(body.map(move |chunk| {
        let chunk: Bytes = chunk?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(Error::PayloadTooLarge);
        }
        let mut h = seen.lock();
        if h.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - h.len());
            h.extend_from_slice(&chunk[..take]);
        }
        Ok(chunk)
    }));
    (counted, head)
}

/// The error of a refused quota (413 40005).
pub(super) fn quota_error(r: QuotaRefusal) -> Error {
    tracing::debug!(quota = ?r, "file refused by a storage quota");
    Error::Rule(Rule::StorageQuota)
}

impl Hearth {
    /// The quotas of `media` (bytes, 0 = unlimited).
    pub(super) fn quotas(&self) -> Quotas {
        Quotas {
            per_user: self.config.media.user_quota_bytes,
            per_guild: self.config.media.guild_quota_bytes,
        }
    }

    /// The signed PUT URL of upload `id` of `channel_id`, expiring at `ex` (Unix seconds).
    fn upload_url(&self, channel_id: i64, id: i64, filename: &str, ex: u64) -> String {
        let path = format!("{channel_id}/{id}/{filename}");
        let is = crate::storage::now_ms() as u64 / 1000;
        let hm = hex::encode(
            self.url_mac(&format!("upload/{path}"), ex, is)
                .finalize()
                .into_bytes(),
        );
        let base = self.config.media.public_url.as_deref().unwrap_or("");
        format!(
            "{}/uploads/{path}?ex={ex:x}&is={is:x}&hm={hm}",
            base.trim_end_matches('/')
        )
    }

    /// `POST /channels/{id}/attachments`: one signed upload URL per announced file.
    ///
    /// # Errors
    /// 404/403 50001 for a channel the caller cannot see; 403 50013 without SEND_MESSAGES and
    /// ATTACH_FILES; 400 50008 for a non-text channel (a forum or media channel takes them
    /// for its posts); 400 50035 on `files` for none or more
    /// than `media.max_files_per_message`, or a guild hosted on another server; 413 40005
    /// for a file over `media.max_file_bytes` or over a quota.
    pub async fn request_uploads(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::UploadRequestBody,
    ) -> Result<wire::UploadSlots> {
        let ca = self.channel_access(actor, channel_id).await?;
        if self.replica_of(&ca).await?.is_some() {
            return Err(super::attachments::files_not_federated());
        }
        // A forum's uploads are for its posts' starter messages (`super::forums`).
        if !ca.is_text() && !super::forums::is_forum(ca.channel.kind) {
            return Err(Error::Rule(Rule::NonTextChannel));
        }
        ca.require(perm::SEND_MESSAGES | perm::ATTACH_FILES)?;
        let media = &self.config.media;
        if body.files.is_empty() || body.files.len() > media.max_files_per_message {
            return Err(field_error(
                "files",
                "BASE_TYPE_BAD_LENGTH",
                format!(
                    "Must be between 1 and {} in length.",
                    media.max_files_per_message
                ),
            ));
        }
        if body
            .files
            .iter()
            .any(|f| f.file_size > media.max_file_bytes)
        {
            return Err(Error::PayloadTooLarge);
        }
        let now = crate::storage::now_ms();
        let expires = now + (media.upload_ttl_seconds as i64) * 1000;
        let rows: Vec<PendingUploadRow> = body
            .files
            .iter()
            .map(|f| {
                let id = self.next_id();
                PendingUploadRow {
                    id,
                    channel_id: ca.channel.id,
                    user_id: actor.user.id,
                    filename: clean_filename(&f.filename),
                    declared_size: f.file_size as i64,
                    size: None,
                    content_type: None,
                    width: None,
                    height: None,
                    blob_key: format!("attachments/{}/{id}", ca.channel.id),
                    created_at: now,
                    expires_at: expires,
                }
            })
            .collect();
        if let Some(r) = self
            .db
            .create_pending_uploads(&rows, ca.channel.guild_id, self.quotas(), now)
            .await?
        {
            return Err(quota_error(r));
        }
        // The URL's expiry in whole seconds, rounded up (the row's own expiry is exact).
        let ex = (expires as u64).div_ceil(1000);
        let attachments = body
            .files
            .iter()
            .zip(&rows)
            .enumerate()
            .map(|(i, (f, r))| wire::UploadSlot {
                id: f.id.clone().unwrap_or_else(|| i.into()),
                upload_url: self.upload_url(r.channel_id, r.id, &r.filename, ex),
                upload_filename: format!("{}/{}", r.id, r.filename),
            })
            .collect();
        Ok(wire::UploadSlots { attachments })
    }

    /// `PUT /uploads/{channel_id}/{attachment_id}/{filename}?ex&is&hm`: streams `body` into
    /// the blob store as the upload's bytes (a second PUT replaces the first).
    /// `content_length` is the request's header, checked before anything is read.
    ///
    /// # Errors
    /// 404 for a missing, wrong or expired signature or an unknown, claimed or expired
    /// upload; 413 40005 for more bytes than announced (or than `media.max_file_bytes`):
    /// nothing is stored; the body's own read error; 500 when the store fails.
    pub async fn receive_upload(
        &self,
        channel_id: Snowflake,
        id: Snowflake,
        filename: &str,
        signature: (Option<&str>, Option<&str>, Option<&str>),
        content_length: Option<u64>,
        body: BlobStream,
    ) -> Result<()> {
        let hexnum = |v: Option<&str>| v.and_then(|v| u64::from_str_radix(v, 16).ok());
        let (ex, is, hm) = signature;
        let (Some(ex), Some(is), Some(hm)) =
            (hexnum(ex), hexnum(is), hm.and_then(|h| hex::decode(h).ok()))
        else {
            return Err(Error::RouteNotFound);
        };
        let path = format!("upload/{channel_id}/{id}/{filename}");
        let now = crate::storage::now_ms();
        if ex <= now as u64 / 1000 || self.url_mac(&path, ex, is).verify_slice(&hm).is_err() {
            return Err(Error::RouteNotFound);
        }
        let row = self
            .db
            .pending_upload(id.db())
            .await?
            .filter(|r| {
                r.channel_id == channel_id.db() && r.filename == filename && r.expires_at > now
            })
            .ok_or(Error::RouteNotFound)?;
        let limit = (row.declared_size.max(0) as u64).min(self.config.media.max_file_bytes);
        if content_length.is_some_and(|n| n > limit) {
            return Err(Error::PayloadTooLarge);
        }
        let (counted, head) = metered(body, limit);
        let key = BlobKey::new(row.blob_key.clone())?;
        let n = self.blobs.put_stream(&key, counted).await?;
        let sniffed = sniff::sniff(&head.lock());
        let dims = sniffed.dims.map(|(w, h)| (w as i64, h as i64));
        self.db
            .complete_pending_upload(&row, n as i64, sniffed.content_type, dims)
            .await
    }

    /// Claims the two-step uploads a message send refers to (`refs` entries with
    /// `uploaded_filename`) for `actor` in `ca`'s channel, as attachment rows from
    /// `position` on, with the pending rows claimed (for [`Self::unclaim`] if the send fails
    /// later). On an error the uploads already claimed are given back, claimable again.
    ///
    /// # Errors
    /// 403 50013 without ATTACH_FILES; 400 50035 on `attachments.{n}.uploaded_filename` for
    /// an upload that is unknown, not this user's or channel's, not yet PUT, already used
    /// or expired.
    pub(super) async fn claim_uploads(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        refs: &[wire::AttachmentRef],
        position: usize,
    ) -> Result<(Vec<AttachmentRow>, Vec<PendingUploadRow>)> {
        let wanted: Vec<(usize, &wire::AttachmentRef, &str)> = refs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.uploaded_filename.as_deref().map(|u| (i, r, u)))
            .collect();
        if wanted.is_empty() {
            return Ok((vec![], vec![]));
        }
        ca.require(perm::ATTACH_FILES)?;
        let now = crate::storage::now_ms();
        let mut rows: Vec<AttachmentRow> = Vec::with_capacity(wanted.len());
        let mut pending: Vec<PendingUploadRow> = Vec::with_capacity(wanted.len());
        for (i, r, name) in wanted {
            let claimed = match name.split_once('/').and_then(|(id, _)| id.parse().ok()) {
                Some(id) => match self
                    .db
                    .claim_pending_upload(id, actor.user.id, ca.channel.id, now)
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        self.unclaim(pending).await;
                        return Err(e);
                    }
                },
                None => None,
            };
            let u = match claimed {
                Some(u) if format!("{}/{}", u.id, u.filename) == name => u,
                other => {
                    // A wrong filename for a real upload: that one goes back too.
                    pending.extend(other);
                    self.unclaim(pending).await;
                    return Err(field_error(
                        &format!("attachments.{i}.uploaded_filename"),
                        "ATTACHMENT_NOT_FOUND",
                        "Unknown, unfinished, used or expired upload.",
                    ));
                }
            };
            let position = (position + rows.len()) as i64;
            let named = r.filename.as_deref().map(clean_filename);
            pending.push(u.clone());
            let base = Self::upload_row(u);
            rows.push(AttachmentRow {
                position,
                filename: named.unwrap_or(base.filename.clone()),
                description: r
                    .description
                    .as_ref()
                    .map(|d| d.chars().take(1024).collect()),
                ..base
            });
        }
        Ok((rows, pending))
    }

    /// Gives back uploads claimed by [`Self::claim_uploads`] for a send that was refused or
    /// failed: claimable again until they expire. If that fails (storage), their bytes are
    /// released instead, as before claims could be given back.
    pub(super) async fn unclaim(&self, pending: Vec<PendingUploadRow>) {
        if pending.is_empty() {
            return;
        }
        if let Err(e) = self.db.unclaim_pending_uploads(&pending).await {
            tracing::warn!(error = %e, "claimed uploads released instead of given back");
            self.forget_keys(pending.into_iter().map(|u| u.blob_key).collect());
        }
    }

    /// The files of an invocation's ATTACHMENT options (`refs` of kind ATTACHMENT, whose id is
    /// the `id` of an entry of `files`, the request's `data.attachments`), by that id: each
    /// entry's `uploaded_filename` must be a finished, unexpired two-step upload of `actor` in
    /// `ca`'s channel ([`Self::request_uploads`]); it is left unclaimed (its bytes live until
    /// it expires, `media.upload_ttl_seconds` after its request) and answered as an attachment
    /// object with a signed URL. Errors: 400 50035 at the option's path for an id that names
    /// no entry, at `data.attachments.{i}.uploaded_filename` for an unknown, unfinished,
    /// another user's or channel's or expired upload; 403 50013 without ATTACH_FILES.
    pub(super) async fn attachment_options(
        &self,
        actor: &Actor,
        ca: &ChannelAccess,
        refs: &[super::interaction_options::OptionRef],
        files: &[wire::AttachmentRef],
    ) -> Result<std::collections::BTreeMap<String, wire::Attachment>> {
        let mut out = std::collections::BTreeMap::new();
        let refs: Vec<_> = refs
            .iter()
            .filter(|r| r.kind == wire::ApplicationCommandOptionType::Attachment)
            .collect();
        if refs.is_empty() {
            return Ok(out);
        }
        ca.require(perm::ATTACH_FILES)?;
        let now = crate::storage::now_ms();
        for r in refs {
            let key = r.id.to_string();
            let entry = files.iter().enumerate().find(|(_, f)| {
                f.id.as_ref()
                    .and_then(super::attachments::ref_id)
                    .as_deref()
                    == Some(key.as_str())
            });
            let Some((i, f)) = entry else {
                return Err(field_error(
                    &r.path,
                    "INTERACTION_OPTION_ATTACHMENT",
                    "Names no entry of data.attachments.",
                ));
            };
            let upload = match f
                .uploaded_filename
                .as_deref()
                .and_then(|u| u.split_once('/'))
                .and_then(|(id, _)| id.parse::<i64>().ok())
            {
                Some(id) => self.db.pending_upload(id).await?,
                None => None,
            };
            let Some(u) = upload.filter(|u| {
                u.user_id == actor.user.id
                    && u.channel_id == ca.channel.id
                    && u.size.is_some()
                    && u.expires_at > now
                    && f.uploaded_filename.as_deref() == Some(&format!("{}/{}", u.id, u.filename))
            }) else {
                return Err(field_error(
                    &format!("data.attachments.{i}.uploaded_filename"),
                    "ATTACHMENT_NOT_FOUND",
                    "Unknown, unfinished, used or expired upload.",
                ));
            };
            out.insert(key, self.attachment_wire(&Self::upload_row(u)));
        }
        Ok(out)
    }

    /// A finished upload as the attachment it would become (not attached to any message).
    pub(super) fn upload_row(u: PendingUploadRow) -> AttachmentRow {
        AttachmentRow {
            id: u.id,
            message_id: 0,
            channel_id: u.channel_id,
            position: 0,
            filename: u.filename,
            description: None,
            content_type: u
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: u.size.unwrap_or(0),
            width: u.width,
            height: u.height,
            blob_key: u.blob_key,
        }
    }
}
