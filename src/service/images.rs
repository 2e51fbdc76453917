//! Images sent as data URIs in JSON (Discord "Reference > Image Data"): user avatars and
//! banners, guild icons, banners and splashes, custom emoji, scheduled events' covers.
//!
//! A value is `data:image/{type};base64,{data}`. The claimed type is ignored: the type comes
//! from the bytes ([`sniff`]), and only PNG, JPEG, GIF and WebP are taken. Checks, in order,
//! each a 400 50035 on the field:
//! - not a base64 data URI, not one of the four formats, or bytes that do not decode as
//!   the format they claim: `IMAGE_INVALID` ("Invalid image data");
//! - over `media.max_image_bytes` (emoji: `media.max_emoji_bytes`) once decoded, checked on
//!   the base64 length before decoding: `BINARY_TYPE_MAX_SIZE`;
//! - a canvas over `media.max_image_pixels` (width x height read from the header before
//!   anything is decoded: the decompression-bomb guard), or an animation whose frames hold
//!   more than [`ANIMATION_PIXEL_BUDGET`] times that in all: `IMAGE_TOO_LARGE`.
//!
//! JPEG metadata segments (EXIF with its GPS position, XMP, IPTC, comments) are removed
//! without re-encoding; the colour profile (APP2) and the Adobe marker (APP14) are kept.
//!
//! The stored object is named by its **hash**: the first 32 hex digits of the SHA-256 of the
//! stored bytes, prefixed with `a_` for animated GIF and WebP (as Discord's hashes). The
//! blob key is `{avatars|banners|icons|splashes|guild-events}/{owner id}/{hash}` (emoji:
//! `emojis/{emoji id}/{hash}`), so the same picture uploaded twice is the same object. Bytes
//! are written before the row that names them; a replaced or removed image's bytes (and its
//! resized copies, [`crate::service::cdn`]) are deleted after the change is committed.

use std::io::Cursor;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use image::{AnimationDecoder, ImageDecoder, ImageFormat, Limits};
use sha2::{Digest, Sha256};

use super::Hearth;
use super::ports::BlobKey;
use super::sniff;
use crate::error::{Error, Result, field_error};

/// An animation may decode to at most this many times `media.max_image_pixels` pixels over
/// all its frames (each frame is a full canvas once composed).
pub const ANIMATION_PIXEL_BUDGET: u64 = 16;

/// The kinds of stored images, each with its CDN folder (Discord "Reference > Image
/// Formatting > CDN Endpoints").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Avatar,
    Banner,
    Icon,
    Splash,
    Emoji,
    /// A scheduled event's cover (owner: the event).
    EventCover,
}

impl ImageKind {
    /// The CDN folder and blob-key prefix: `avatars`, `banners`, `icons`, `splashes`, `emojis`,
    /// `guild-events`.
    pub fn folder(self) -> &'static str {
        match self {
            ImageKind::Avatar => "avatars",
            ImageKind::Banner => "banners",
            ImageKind::Icon => "icons",
            ImageKind::Splash => "splashes",
            ImageKind::Emoji => "emojis",
            ImageKind::EventCover => "guild-events",
        }
    }

    /// The blob key of image `hash` of `owner` (`{folder}/{owner}/{hash}`); `None` for a
    /// malformed hash.
    pub fn blob_key(self, owner: i64, hash: &str) -> Option<BlobKey> {
        valid_hash(hash)
            .then(|| BlobKey::new(format!("{}/{owner}/{hash}", self.folder())).ok())
            .flatten()
    }
}

/// An image that passed the checks, with its bytes as they will be stored.
#[derive(Debug, Clone)]
pub struct CheckedImage {
    /// `[a_]` + 32 hex digits.
    pub hash: String,
    pub animated: bool,
    pub bytes: Bytes,
}

/// A new value of an image column: `None` unchanged, `Some(None)` removed, `Some(Some(hash))`.
pub type ImageChange = Option<Option<String>>;

/// One image field of a request: its kind, its name, the value sent, the current hash.
pub type ImageInput<'a> = (ImageKind, &'a str, Option<Option<String>>, Option<&'a str>);

/// An image written to the blob store.
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub hash: String,
    pub animated: bool,
    pub key: BlobKey,
}

fn invalid(field: &str) -> Error {
    field_error(field, "IMAGE_INVALID", "Invalid image data")
}

fn too_many_pixels(field: &str, max: u64) -> Error {
    field_error(
        field,
        "IMAGE_TOO_LARGE",
        format!("Image must be at most {max} pixels (width x height)."),
    )
}

/// Whether `hash` has the shape of an image hash (`[a_]` + 32 lower-case hex digits).
pub fn valid_hash(hash: &str) -> bool {
    let h = hash.strip_prefix("a_").unwrap_or(hash);
    h.len() == 32
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The `image` crate's format of a sniffed media type (the four taken).
pub(super) fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decoder limits for a `w` x `h` canvas: no larger image, and no allocation beyond four
/// bytes per pixel of it (plus slack for the decoder's own buffers).
pub(super) fn limits(w: u64, h: u64) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(w.min(u32::MAX as u64) as u32);
    l.max_image_height = Some(h.min(u32::MAX as u64) as u32);
    l.max_alloc = Some(w * h * 4 * 2 + (1 << 20));
    l
}

/// Removes JPEG metadata segments (APP1: EXIF and XMP; APP3-APP13 and APP15: IPTC and
/// vendor data; COM) before the first scan. `None` when the segment structure is broken.
pub fn strip_jpeg_metadata(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b.get(..2)?);
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        if marker == 0xFF {
            i += 1;
            continue;
        }
        // Start of scan (the entropy-coded data follows) or end of image: copy the rest.
        if marker == 0xDA || marker == 0xD9 {
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
        let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
        let end = i + 2 + len;
        let seg = b.get(i..end)?;
        let metadata = matches!(marker, 0xE1 | 0xE3..=0xED | 0xEF | 0xFE);
        if !metadata {
            out.extend_from_slice(seg);
        }
        i = end;
    }
}

/// Whether a WebP file is animated (the VP8X header's animation flag).
pub(super) fn webp_animated(b: &[u8]) -> bool {
    b.get(12..16) == Some(b"VP8X") && b.get(20).is_some_and(|f| f & 0x02 != 0)
}

/// Checks a data URI against the rules of the module documentation and returns the image
/// to store. CPU-bound (it decodes the image): run it on a blocking thread.
///
/// # Errors
/// 400 50035 on `field`: `IMAGE_INVALID`, `BINARY_TYPE_MAX_SIZE`, `IMAGE_TOO_LARGE`.
pub fn check_image(
    field: &str,
    uri: &str,
    max_bytes: u64,
    max_pixels: u64,
) -> Result<CheckedImage> {
    let rest = uri
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("data:"))
        .map(|_| &uri[5..])
        .ok_or_else(|| invalid(field))?;
    let (head, data) = rest.split_once(',').ok_or_else(|| invalid(field))?;
    if !head.to_ascii_lowercase().ends_with(";base64") {
        return Err(invalid(field));
    }
    // The decoded size, known from the base64 length before decoding anything.
    let decoded_len = (data.len() as u64 / 4) * 3;
    if decoded_len > max_bytes + 3 {
        return Err(field_error(
            field,
            "BINARY_TYPE_MAX_SIZE",
            format!(
                "File cannot be larger than {:.1} kb.",
                max_bytes as f64 / 1024.0
            ),
        ));
    }
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let raw = engine.decode(data).map_err(|_| invalid(field))?;
    if raw.len() as u64 > max_bytes {
        return Err(field_error(
            field,
            "BINARY_TYPE_MAX_SIZE",
            format!(
                "File cannot be larger than {:.1} kb.",
                max_bytes as f64 / 1024.0
            ),
        ));
    }
    let sniffed = sniff::sniff(&raw);
    let format = format_of(sniffed.content_type).ok_or_else(|| invalid(field))?;
    let (w, h) = sniffed.dims.ok_or_else(|| invalid(field))?;
    if w == 0 || h == 0 {
        return Err(invalid(field));
    }
    if w.saturating_mul(h) > max_pixels {
        return Err(too_many_pixels(field, max_pixels));
    }
    let bytes = if format == ImageFormat::Jpeg {
        strip_jpeg_metadata(&raw).ok_or_else(|| invalid(field))?
    } else {
        raw
    };
    let animated = match format {
        ImageFormat::Gif => {
            gif_frames(&bytes, w, h, max_pixels).map_err(|e| match e {
                FrameError::Invalid => invalid(field),
                FrameError::TooMany => too_many_pixels(field, max_pixels),
            })? > 1
        }
        _ => {
            let mut r = image::ImageReader::with_format(Cursor::new(&bytes[..]), format);
            r.limits(limits(w, h));
            r.decode().map_err(|_| invalid(field))?;
            format == ImageFormat::WebP && webp_animated(&bytes)
        }
    };
    let digest = hex::encode(Sha256::digest(&bytes));
    let hash = format!("{}{}", if animated { "a_" } else { "" }, &digest[..32]);
    Ok(CheckedImage {
        hash,
        animated,
        bytes: Bytes::from(bytes),
    })
}

enum FrameError {
    Invalid,
    TooMany,
}

/// Decodes every frame of a GIF (one at a time) and counts them; the frames' pixels in all
/// stay within [`ANIMATION_PIXEL_BUDGET`] x `max_pixels`.
fn gif_frames(b: &[u8], w: u64, h: u64, max_pixels: u64) -> std::result::Result<u64, FrameError> {
    let mut d =
        image::codecs::gif::GifDecoder::new(Cursor::new(b)).map_err(|_| FrameError::Invalid)?;
    d.set_limits(limits(w, h))
        .map_err(|_| FrameError::TooMany)?;
    let budget = ANIMATION_PIXEL_BUDGET * max_pixels;
    let mut n = 0u64;
    for f in d.into_frames() {
        f.map_err(|_| FrameError::Invalid)?;
        n += 1;
        if n * w * h > budget {
            return Err(FrameError::TooMany);
        }
    }
    if n == 0 {
        return Err(FrameError::Invalid);
    }
    Ok(n)
}

impl Hearth {
    /// Checks the data URI `uri` of `field` (see the module documentation) and writes it to
    /// the blob store as `{kind folder}/{owner}/{hash}`.
    ///
    /// # Errors
    /// 400 50035 on `field` (see [`check_image`]); 500 when the store cannot be written.
    pub(super) async fn store_image(
        &self,
        kind: ImageKind,
        owner: i64,
        field: &str,
        uri: String,
    ) -> Result<StoredImage> {
        let media = &self.config.media;
        let max_bytes = if kind == ImageKind::Emoji {
            media.max_emoji_bytes
        } else {
            media.max_image_bytes
        };
        let max_pixels = media.max_image_pixels;
        let f = field.to_string();
        let img = tokio::task::spawn_blocking(move || check_image(&f, &uri, max_bytes, max_pixels))
            .await
            .map_err(Error::internal)??;
        let key = BlobKey::new(format!("{}/{owner}/{}", kind.folder(), img.hash))?;
        self.blobs.put(&key, img.bytes).await?;
        Ok(StoredImage {
            hash: img.hash,
            animated: img.animated,
            key,
        })
    }

    /// The new value of an image column from a request field: `None` unchanged (absent, or
    /// the current hash sent back), `Some(None)` removed, `Some(Some(hash))` a new image,
    /// already stored. Call [`Hearth::settle_image`] once the change is committed or failed.
    pub(super) async fn image_field(
        &self,
        kind: ImageKind,
        owner: i64,
        field: &str,
        value: Option<Option<String>>,
        current: Option<&str>,
    ) -> Result<ImageChange> {
        match value {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(v)) if Some(v.as_str()) == current => Ok(None),
            Some(Some(v)) => {
                let s = self.store_image(kind, owner, field, v).await?;
                Ok(Some(Some(s.hash)))
            }
        }
    }

    /// [`Hearth::image_field`] for several image fields of one owner, in order; when one
    /// fails, the images already stored for the others are forgotten.
    pub(super) async fn image_fields<const N: usize>(
        &self,
        owner: i64,
        fields: [ImageInput<'_>; N],
    ) -> Result<Vec<ImageChange>> {
        let mut done: Vec<(ImageKind, Option<&str>, ImageChange)> = Vec::new();
        for (kind, field, value, current) in fields {
            match self.image_field(kind, owner, field, value, current).await {
                Ok(v) => done.push((kind, current, v)),
                Err(e) => {
                    for (k, old, new) in &done {
                        self.settle_image(*k, owner, *old, new, false);
                    }
                    return Err(e);
                }
            }
        }
        Ok(done.into_iter().map(|d| d.2).collect())
    }

    /// After a change of an image column from `old` to `new` (see [`Hearth::image_field`]):
    /// when `committed`, the old image's bytes go; otherwise the new image's bytes (unless
    /// they are the old ones).
    pub(super) fn settle_image(
        &self,
        kind: ImageKind,
        owner: i64,
        old: Option<&str>,
        new: &ImageChange,
        committed: bool,
    ) {
        let Some(new) = new else { return };
        if new.as_deref() == old {
            return;
        }
        let gone = if committed { old } else { new.as_deref() };
        if let Some(key) = gone.and_then(|hash| kind.blob_key(owner, hash)) {
            self.forget_image(key);
        }
    }

    /// Hands images whose keys are never used again (a deleted guild's icon, banner, splash
    /// and emoji; a deleted emoji) to the file collector ([`super::media_gc`]): their bytes
    /// and resized copies are deleted after `media.delete_grace_seconds`, as attachments are.
    /// In the background; if the ledger cannot be written they are deleted at once.
    pub(super) fn release_images(&self, keys: Vec<BlobKey>) {
        if keys.is_empty() {
            return;
        }
        let (db, wake, blobs) = (self.db.clone(), self.media_gc.clone(), self.blobs.clone());
        tokio::spawn(async move {
            let names: Vec<String> = keys.iter().map(|k| k.as_str().to_string()).collect();
            match db
                .release_image_blobs(&names, crate::storage::now_ms())
                .await
            {
                Ok(()) => wake.notify_one(),
                Err(e) => {
                    tracing::warn!(error = %e, "images deleted without a grace period");
                    for key in keys {
                        delete_image(blobs.as_ref(), &key).await;
                    }
                }
            }
        });
    }

    /// Deletes an image's bytes and every resized copy of it, in the background; a failure
    /// only leaves an orphan for the collector.
    pub(super) fn forget_image(&self, key: BlobKey) {
        let blobs = self.blobs.clone();
        tokio::spawn(async move { delete_image(blobs.as_ref(), &key).await });
    }
}

/// Deletes the image under `key` and every resized copy of it; a failure is logged (the
/// bytes stay as an orphan).
pub(super) async fn delete_image(blobs: &dyn super::ports::BlobStore, key: &BlobKey) {
    let mut keys = vec![key.clone()];
    keys.extend(super::cdn::derived_keys(key));
    for k in keys {
        if let Err(e) = blobs.delete(&k).await {
            tracing::warn!(key = k.as_str(), error = %e, "image bytes left as an orphan");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_metadata_is_stripped() {
        // SOI, APP0 (kept), APP1 "Exif" (dropped), COM (dropped), SOS + data + EOI.
        let mut j = vec![0xFF, 0xD8];
        j.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, b'J', b'F']);
        j.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, b'E', b'x', b'i', b'f']);
        j.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x03, b'c']);
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]);
        let s = strip_jpeg_metadata(&j).unwrap();
        assert_eq!(
            s,
            vec![
                0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'J', b'F', 0xFF, 0xDA, 0x00, 0x02, 1, 2, 3,
                0xFF, 0xD9
            ]
        );
        assert!(strip_jpeg_metadata(&[0xFF, 0xD8, 0x00]).is_none());
    }

    #[test]
    fn hashes_have_discords_shape() {
        assert!(valid_hash("0123456789abcdef0123456789abcdef"));
        assert!(valid_hash("a_0123456789abcdef0123456789abcdef"));
        assert!(!valid_hash("0123456789ABCDEF0123456789abcdef"));
        assert!(!valid_hash("../x"));
        assert!(!valid_hash("b_0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn data_uris_are_checked() {
        let e = check_image("avatar", "not a uri", 1024, 1 << 20).unwrap_err();
        assert_eq!(e.status(), 400);
        let e = check_image("avatar", "data:image/png;base64,aGVsbG8=", 1024, 1 << 20).unwrap_err();
        assert_eq!(e.status(), 400);
        let big = format!("data:image/png;base64,{}", "A".repeat(4000));
        assert!(check_image("avatar", &big, 1024, 1 << 20).is_err());
    }
}
