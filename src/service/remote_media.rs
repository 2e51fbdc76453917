//! Files of other servers shown here (issue 13; spec/federation.md §17): a replica's
//! attachments, remote users' avatars, replicas' icons, banners, splashes and emoji. Their
//! bytes are not here until someone asks for them: on a request whose blob is missing, the
//! [`GuildHost`](super::ports::GuildHost) port fetches the file from its origin server into
//! the blob store (under `media.max_file_bytes` for attachments, `media.max_image_bytes` for
//! images, `media.max_emoji_bytes` for emoji), and it is served from the store from then on,
//! by the same routes and rules as local files. A fetched attachment is typed by its bytes,
//! never by its host's claim; every cached file has a row in the blob ledger and goes to the
//! file collector ([`super::media_gc`]) when nothing names it any more (spec/federation.md
//! §17.3).

use bytes::Bytes;

use super::Hearth;
use super::images::ImageKind;
use super::ports::{BlobKey, RemoteMedia};
use crate::error::Result;
use crate::storage::AttachmentRow;

impl Hearth {
    /// Fetches the bytes of a replica's attachment `row` (to be stored under `key`) from
    /// its origin when they are not here yet, and returns its row as it is now: the fetch
    /// replaced the host's claimed type, size and dimensions with those of the bytes (see
    /// [`super::ports::GuildHost::fetch_media`]). `None` when the attachment is not remote
    /// (or its row is gone meanwhile).
    ///
    /// # Errors
    /// The errors of [`super::ports::GuildHost::fetch_media`]; 500 when the store fails.
    pub(super) async fn fetch_attachment(
        &self,
        row: &AttachmentRow,
        key: &BlobKey,
    ) -> Result<Option<AttachmentRow>> {
        let media = RemoteMedia::Attachment {
            channel_id: row.channel_id,
            attachment_id: row.id,
        };
        let max = self.config.media.max_file_bytes;
        if !self.host.fetch_media(self, media, key, max).await? {
            return Ok(None);
        }
        self.db.attachment(row.channel_id, row.id).await
    }

    /// The stored image of `kind` under `key` (`owner` is the user or guild id, the emoji
    /// id for emoji; `hash` the image's hash); an image of a remote user or a replica not yet
    /// here is fetched from its origin first. `None` when there is none.
    ///
    /// # Errors
    /// As [`Hearth::fetch_attachment`].
    pub(super) async fn image_blob(
        &self,
        kind: ImageKind,
        owner: i64,
        hash: &str,
        key: &BlobKey,
    ) -> Result<Option<Bytes>> {
        if let Some(b) = self.blobs.get(key).await? {
            return Ok(Some(b));
        }
        let image_max = self.config.media.max_image_bytes;
        let (media, max) = match kind {
            ImageKind::Avatar => (
                RemoteMedia::Avatar {
                    user_id: owner,
                    hash: hash.to_string(),
                },
                image_max,
            ),
            ImageKind::Emoji => (
                RemoteMedia::Emoji { emoji_id: owner },
                self.config.media.max_emoji_bytes,
            ),
            // A replica shows no event cover (spec/federation.md §6.5): only its host stores one.
            ImageKind::EventCover => return Ok(None),
            ImageKind::Icon | ImageKind::Banner | ImageKind::Splash => (
                RemoteMedia::GuildImage {
                    kind,
                    guild_id: owner,
                    hash: hash.to_string(),
                },
                image_max,
            ),
        };
        if self.host.fetch_media(self, media, key, max).await? {
            return self.blobs.get(key).await;
        }
        Ok(None)
    }
}
