//! Files of other servers shown here (issue 13; spec/federation.md §17): a replica's
//! attachments, remote users' avatars, replicas' icons, banners, splashes and emoji. Their
//! bytes are not here until someone asks for them: on a request whose blob is missing, the
//! [`GuildHost`](super::ports::GuildHost) port fetches the file from its origin server into
//! the blob store (under `media.max_file_bytes` for attachments, `media.max_image_bytes` for
//! images, `media.max_emoji_bytes` for emoji), and it is served from the store from then on,
//! by the same routes and rules as local files.

use bytes::Bytes;

use super::Hearth;
use super::images::ImageKind;
use super::ports::{BlobKey, BlobReader, RemoteMedia};
use crate::error::Result;
use crate::storage::AttachmentRow;

impl Hearth {
    /// The bytes of attachment `row` (stored under `key`) as a stream; a replica's
    /// attachment not yet here is fetched from its origin first. `None` when there are no
    /// bytes and the attachment is not remote.
    ///
    /// # Errors
    /// The errors of [`super::ports::GuildHost::fetch_media`]; 500 when the store fails.
    pub(super) async fn open_attachment_blob(
        &self,
        row: &AttachmentRow,
        key: &BlobKey,
    ) -> Result<Option<BlobReader>> {
        if let Some(r) = self.blobs.open(key).await? {
            return Ok(Some(r));
        }
        let media = RemoteMedia::Attachment {
            channel_id: row.channel_id,
            attachment_id: row.id,
        };
        let max = self.config.media.max_file_bytes;
        if self.host.fetch_media(self, media, key, max).await? {
            return self.blobs.open(key).await;
        }
        Ok(None)
    }

    /// The stored image of `kind` under `key` (`owner` is the user or guild id, the emoji
    /// id for emoji; `hash` the image's hash); an image of a remote user or a replica not yet
    /// here is fetched from its origin first. `None` when there is none.
    ///
    /// # Errors
    /// As [`Hearth::open_attachment_blob`].
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
