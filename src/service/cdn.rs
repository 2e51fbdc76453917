//! Serving stored images at Discord's CDN paths (Discord "Reference > Image Formatting"):
//! `/avatars/{user_id}/{hash}.{ext}`, `/banners/{id}/{hash}.{ext}`,
//! `/icons/{guild_id}/{hash}.{ext}`, `/splashes/{guild_id}/{hash}.{ext}` and
//! `/emojis/{emoji_id}.{ext}`, with `ext` one of `png`, `jpg` (`jpeg`), `webp`, `gif`, and an
//! optional `?size=` (a power of two from 16 to 4096).
//!
//! These are public, as on Discord: the hash (or the emoji id) is the name. The stored image
//! is served as it is when neither a size nor another format is asked; otherwise it is
//! decoded (under the upload's pixel limit), scaled down to fit a `size` x `size` box
//! (aspect kept, never enlarged), encoded in the asked format (JPEG loses transparency; WebP
//! is lossless) and the result is kept in the blob store under a derived key
//! (`cache/{key}.{size or 0}.{ext}`, [`derived_keys`]) for the next request.
//!
//! **Animations** (animated GIF and animated WebP; their hashes start with `a_`):
//! - asked as `.gif`: stays animated: every frame is decoded (the WebP ones composed on
//!   the canvas), resized and encoded as an animated GIF with its delays, looping forever;
//! - an animated WebP asked as `.webp`: served **as stored, not resized** (with or without
//!   `size`): the `image` crate decodes WebP animations but encodes only still WebP images,
//!   and a resized copy would silently lose the animation;
//! - asked as `.png` or `.jpg`, or an animated GIF asked as `.webp`: the first frame, as
//!   Discord's CDN serves static formats of an animated image (ask `.gif` for the animation).

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::webp::WebPDecoder;
use image::imageops::FilterType;
use image::{AnimationDecoder, DynamicImage, Frame, ImageDecoder, ImageFormat};

use super::Hearth;
use super::images::{ImageKind, format_of, limits, valid_hash, webp_animated};
use super::ports::BlobKey;
use super::sniff;
use crate::error::{Error, Result, Unknown, field_error};
use crate::snowflake::Snowflake;

/// The sizes a client may ask for (`?size=`).
pub const SIZES: [u32; 9] = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// The file extensions served, with their formats.
const EXTS: [(&str, ImageFormat); 5] = [
    ("png", ImageFormat::Png),
    ("jpg", ImageFormat::Jpeg),
    ("jpeg", ImageFormat::Jpeg),
    ("webp", ImageFormat::WebP),
    ("gif", ImageFormat::Gif),
];

/// An image as served: bytes, media type and entity tag (quoted).
#[derive(Debug, Clone)]
pub struct CdnImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub etag: String,
}

fn content_type(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Gif => "image/gif",
        ImageFormat::WebP => "image/webp",
        _ => "image/png",
    }
}

fn ext_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Gif => "gif",
        ImageFormat::WebP => "webp",
        _ => "png",
    }
}

fn derived_key(key: &BlobKey, size: u32, f: ImageFormat) -> Result<BlobKey> {
    BlobKey::new(format!("cache/{}.{size}.{}", key.as_str(), ext_name(f)))
}

/// Every key a resized or converted copy of the image under `key` may be kept under.
pub fn derived_keys(key: &BlobKey) -> Vec<BlobKey> {
    let formats = [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::WebP,
        ImageFormat::Gif,
    ];
    std::iter::once(0)
        .chain(SIZES)
        .flat_map(|s| formats.iter().map(move |f| (s, *f)))
        .filter_map(|(s, f)| derived_key(key, s, f).ok())
        .collect()
}

/// Parses `?size=`: `None` when absent; 400 50035 on `size` unless a power of two from 16
/// to 4096.
pub fn parse_size(size: Option<&str>) -> Result<Option<u32>> {
    let Some(s) = size else { return Ok(None) };
    match s.parse::<u32>() {
        Ok(n) if SIZES.contains(&n) => Ok(Some(n)),
        _ => Err(field_error(
            "size",
            "BASE_TYPE_CHOICES",
            "Size must be a power of two from 16 to 4096.",
        )),
    }
}

/// Re-encodes `src` (of format `from`) as `to`, fitting it into a `size` box when given;
/// `None` when `src` is to be served as it is (an animated WebP asked as WebP: see the
/// module documentation). CPU-bound: run it on a blocking thread.
fn transform(
    src: &[u8],
    from: ImageFormat,
    size: Option<u32>,
    to: ImageFormat,
    max_pixels: u64,
) -> Result<Option<Vec<u8>>> {
    let (w, h) = sniff::sniff(src)
        .dims
        .ok_or_else(|| Error::internal("stored image without dimensions"))?;
    if w.saturating_mul(h) > max_pixels {
        return Err(Error::internal("stored image over the pixel limit"));
    }
    let fit = |img: DynamicImage| match size {
        Some(s) if img.width() > s || img.height() > s => img.resize(s, s, FilterType::CatmullRom),
        _ => img,
    };
    let mut out = Cursor::new(Vec::new());
    let animated_webp = from == ImageFormat::WebP && webp_animated(src);
    if animated_webp && to == ImageFormat::WebP {
        return Ok(None);
    }
    if to == ImageFormat::Gif && (from == ImageFormat::Gif || animated_webp) {
        let frames = if animated_webp {
            let mut d = WebPDecoder::new(Cursor::new(src)).map_err(Error::internal)?;
            d.set_limits(limits(w, h)).map_err(Error::internal)?;
            d.into_frames()
        } else {
            let mut d = GifDecoder::new(Cursor::new(src)).map_err(Error::internal)?;
            d.set_limits(limits(w, h)).map_err(Error::internal)?;
            d.into_frames()
        };
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).map_err(Error::internal)?;
        for f in frames {
            let f = f.map_err(Error::internal)?;
            let delay = f.delay();
            let img = fit(DynamicImage::ImageRgba8(f.into_buffer())).to_rgba8();
            enc.encode_frame(Frame::from_parts(img, 0, 0, delay))
                .map_err(Error::internal)?;
        }
        drop(enc);
        return Ok(Some(out.into_inner()));
    }
    let mut r = image::ImageReader::with_format(Cursor::new(src), from);
    r.limits(limits(w, h));
    let img = fit(r.decode().map_err(Error::internal)?);
    let img = match to {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(img.to_rgb8()),
        _ => DynamicImage::ImageRgba8(img.to_rgba8()),
    };
    if to == ImageFormat::Jpeg {
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        img.write_with_encoder(enc).map_err(Error::internal)?;
    } else {
        img.write_to(&mut out, to).map_err(Error::internal)?;
    }
    Ok(Some(out.into_inner()))
}

impl Hearth {
    /// `GET /{avatars|banners|icons|splashes}/{owner}/{hash}.{ext}?size=` and
    /// `GET /emojis/{emoji_id}.{ext}?size=` (`owner` is `None` for emoji, whose `file` is
    /// `{emoji_id}.{ext}`): the image, resized and converted as the module documentation says.
    ///
    /// # Errors
    /// 404 (Discord's `404: Not Found`) for a malformed path, an unknown extension, hash,
    /// owner or emoji; 400 50035 on `size` for a size that is not a power of two from 16 to
    /// 4096; 500 when the store cannot be read or written.
    pub async fn cdn_image(
        &self,
        kind: ImageKind,
        owner: Option<&str>,
        file: &str,
        size: Option<&str>,
    ) -> Result<CdnImage> {
        let (name, ext) = file.rsplit_once('.').ok_or(Error::RouteNotFound)?;
        let to = EXTS
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(ext))
            .map(|(_, f)| *f)
            .ok_or(Error::RouteNotFound)?;
        let size = parse_size(size)?;
        let (key, hash, owner) = match (kind, owner) {
            (ImageKind::Emoji, None) => {
                let id: Snowflake = name.parse().map_err(|_| Error::RouteNotFound)?;
                let row = self
                    .db
                    .emoji_by_id(id.db())
                    .await?
                    .ok_or(Error::Unknown(Unknown::Emoji))?;
                let hash = row.blob_key.rsplit('/').next().unwrap_or("").to_string();
                (BlobKey::new(row.blob_key)?, hash, id.db())
            }
            (_, Some(owner)) => {
                let owner: Snowflake = owner.parse().map_err(|_| Error::RouteNotFound)?;
                if !valid_hash(name) {
                    return Err(Error::RouteNotFound);
                }
                let key = BlobKey::new(format!("{}/{owner}/{name}", kind.folder()))?;
                (key, name.to_string(), owner.db())
            }
            _ => return Err(Error::RouteNotFound),
        };
        let etag = format!("\"{hash}.{}.{}\"", size.unwrap_or(0), ext_name(to));
        let found = |bytes: Bytes| CdnImage {
            bytes,
            content_type: content_type(to),
            etag: etag.clone(),
        };
        let dkey = derived_key(&key, size.unwrap_or(0), to)?;
        if let Some(b) = self.blobs.get(&dkey).await? {
            return Ok(found(b));
        }
        let src = self
            .image_blob(kind, owner, &hash, &key)
            .await?
            .ok_or(Error::RouteNotFound)?;
        let from = format_of(sniff::sniff(&src).content_type)
            .ok_or_else(|| Error::internal(format!("{} is not an image", key.as_str())))?;
        if size.is_none() && from == to {
            return Ok(found(src));
        }
        let max_pixels = self.config.media.max_image_pixels;
        let kept = src.clone();
        let out = tokio::task::spawn_blocking(move || transform(&src, from, size, to, max_pixels))
            .await
            .map_err(Error::internal)??;
        let Some(out) = out else {
            return Ok(found(kept));
        };
        let out = Bytes::from(out);
        self.blobs.put(&dkey, out.clone()).await?;
        Ok(found(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_powers_of_two_from_16_to_4096() {
        assert_eq!(parse_size(None).unwrap(), None);
        assert_eq!(parse_size(Some("128")).unwrap(), Some(128));
        for bad in ["0", "8", "100", "8192", "x", "-16"] {
            assert_eq!(parse_size(Some(bad)).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn derived_keys_cover_every_size_and_format() {
        let k = BlobKey::new("avatars/1/0123456789abcdef0123456789abcdef").unwrap();
        let d = derived_keys(&k);
        assert_eq!(d.len(), 40);
        assert!(
            d.iter()
                .any(|x| x.as_str() == "cache/avatars/1/0123456789abcdef0123456789abcdef.64.webp")
        );
    }
}
