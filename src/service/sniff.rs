//! Media types from the bytes (magic numbers), never the uploader's claim, and image
//! dimensions read from the file header (no decoding, so no decompression bomb).
//! Formats: the WHATWG MIME Sniffing standard's signatures for the types listed here.

/// What the bytes are: the media type, and `(width, height)` in pixels for images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    pub dims: Option<(u64, u64)>,
}

fn be16(b: &[u8], i: usize) -> Option<u64> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?) as u64)
}
fn le16(b: &[u8], i: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?) as u64)
}
fn be32(b: &[u8], i: usize) -> Option<u64> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as u64)
}
fn le24(b: &[u8], i: usize) -> Option<u64> {
    let s = b.get(i..i + 3)?;
    Some(s[0] as u64 | (s[1] as u64) << 8 | (s[2] as u64) << 16)
}

fn jpeg_dims(b: &[u8]) -> Option<(u64, u64)> {
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = be16(b, i + 2)? as usize;
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some((be16(b, i + 7)?, be16(b, i + 5)?));
        }
        i += 2 + len;
    }
    None
}

fn webp_dims(b: &[u8]) -> Option<(u64, u64)> {
    match b.get(12..16)? {
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        b"VP8 " => Some((le16(b, 26)? & 0x3FFF, le16(b, 28)? & 0x3FFF)),
        b"VP8L" => {
            let v = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?) as u64;
            Some(((v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1))
        }
        _ => None,
    }
}

/// The media type of `b` and, for PNG, GIF, JPEG and WebP, its dimensions.
/// Text that a browser would run or render as a document (HTML, SVG, XML) is recognized as
/// such, so it can be served as a download; other UTF-8 is `text/plain; charset=utf-8`;
/// anything else unknown is `application/octet-stream`.
pub fn sniff(b: &[u8]) -> Sniffed {
    let s = |content_type| Sniffed {
        content_type,
        dims: None,
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed {
            content_type: "image/png",
            dims: be32(b, 16).zip(be32(b, 20)),
        };
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Sniffed {
            content_type: "image/gif",
            dims: le16(b, 6).zip(le16(b, 8)),
        };
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed {
            content_type: "image/jpeg",
            dims: jpeg_dims(b),
        };
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return Sniffed {
            content_type: "image/webp",
            dims: webp_dims(b),
        };
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WAVE") {
        return s("audio/wav");
    }
    if b.starts_with(b"%PDF-") {
        return s("application/pdf");
    }
    if b.starts_with(b"PK\x03\x04") {
        return s("application/zip");
    }
    if b.starts_with(b"OggS") {
        return s("audio/ogg");
    }
    if b.starts_with(b"ID3") || b.starts_with(&[0xFF, 0xFB]) {
        return s("audio/mpeg");
    }
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return s("video/webm");
    }
    if b.get(4..8) == Some(b"ftyp") {
        return s("video/mp4");
    }
    let head = &b[..b.len().min(1024)];
    // A cut in the middle of a character at the 1024-byte mark is still text.
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        Err(e) if e.valid_up_to() + 4 > head.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    let Some(text) = text else {
        return s("application/octet-stream");
    };
    if text.contains('\0') {
        return s("application/octet-stream");
    }
    let lower = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    if lower.contains("<svg") {
        return s("image/svg+xml");
    }
    if [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<iframe",
        "<!--",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
        || lower.contains("<script")
    {
        return s("text/html");
    }
    if lower.starts_with("<?xml") {
        return s("application/xml");
    }
    s("text/plain; charset=utf-8")
}

/// Whether a browser may show this type in place: images, audio, video and plain text
/// (served with `nosniff`). Everything else (HTML, SVG, XML, PDF, archives) is a download.
pub fn inline_safe(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/gif" | "image/jpeg" | "image/webp" | "text/plain; charset=utf-8"
    ) || content_type.starts_with("audio/")
        || content_type.starts_with("video/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_dimensions_come_from_the_bytes() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&3u32.to_be_bytes());
        png.extend_from_slice(&2u32.to_be_bytes());
        assert_eq!(sniff(&png).content_type, "image/png");
        assert_eq!(sniff(&png).dims, Some((3, 2)));
        let gif = b"GIF89a\x05\x00\x07\x00";
        assert_eq!(sniff(gif).dims, Some((5, 7)));
        assert_eq!(sniff(b"<svg xmlns=...>").content_type, "image/svg+xml");
        assert_eq!(sniff(b"  <!DOCTYPE html><p>").content_type, "text/html");
        assert_eq!(sniff(b"hello").content_type, "text/plain; charset=utf-8");
        assert_eq!(
            sniff(&[0, 1, 2, 0xff]).content_type,
            "application/octet-stream"
        );
        assert!(!inline_safe("text/html") && !inline_safe("image/svg+xml"));
        assert!(inline_safe("image/png"));
    }
}
