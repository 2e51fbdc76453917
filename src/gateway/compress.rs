//! Transport compression (Discord "Gateway > Transport Compression"): `zlib-stream` and
//! `zstd-stream`, one stream context per connection, every payload flushed so that a client
//! can decode each binary frame as it arrives (zlib frames end with `00 00 ff ff`).
//!
//! Memory: a zlib context (flate2/miniz_oxide, 32 KiB window) costs roughly 300 KiB per
//! connection; zstd at level 1 with a 64 KiB window roughly 200 KiB. Uncompressed sessions
//! pay neither.

use flate2::{Compress, Compression, FlushCompress};

/// The compression a connection asked for with `?compress=`.
pub enum Transport {
    None,
    Zlib(Box<Compress>),
    Zstd(Box<zstd::stream::raw::Encoder<'static>>),
}

impl Transport {
    /// `zlib-stream`, `zstd-stream`, anything else (or nothing): uncompressed text frames.
    pub fn from_query(q: Option<&str>) -> Transport {
        match q {
            Some("zlib-stream") => {
                Transport::Zlib(Box::new(Compress::new(Compression::fast(), true)))
            }
            Some("zstd-stream") => match zstd::stream::raw::Encoder::new(1) {
                Ok(mut e) => {
                    use zstd::stream::raw::CParameter;
                    let _ = e.set_parameter(CParameter::WindowLog(16));
                    Transport::Zstd(Box::new(e))
                }
                Err(_) => Transport::None,
            },
            _ => Transport::None,
        }
    }

    /// Compresses one payload; `None` means "send as a text frame".
    pub fn encode(&mut self, text: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
        match self {
            Transport::None => Ok(None),
            Transport::Zlib(c) => {
                let mut out = Vec::with_capacity(text.len() / 2 + 64);
                let mut input = text;
                loop {
                    out.reserve(4096);
                    let before_in = c.total_in();
                    c.compress_vec(input, &mut out, FlushCompress::Sync)
                        .map_err(std::io::Error::other)?;
                    let consumed = (c.total_in() - before_in) as usize;
                    input = &input[consumed..];
                    if input.is_empty() && out.ends_with(&[0, 0, 0xff, 0xff]) {
                        return Ok(Some(out));
                    }
                }
            }
            Transport::Zstd(e) => {
                use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                let mut out = Vec::with_capacity(text.len() / 2 + 64);
                let mut buf = vec![0u8; 16 * 1024];
                let mut input = InBuffer::around(text);
                while input.pos < text.len() {
                    let mut o = OutBuffer::around(&mut buf[..]);
                    e.run(&mut input, &mut o)?;
                    let n = o.pos();
                    out.extend_from_slice(&buf[..n]);
                }
                loop {
                    let mut o = OutBuffer::around(&mut buf[..]);
                    let remaining = e.flush(&mut o)?;
                    let n = o.pos();
                    out.extend_from_slice(&buf[..n]);
                    if remaining == 0 {
                        break;
                    }
                }
                Ok(Some(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn zlib_frames_end_with_sync_marker_and_decode_as_one_stream() {
        let mut t = Transport::from_query(Some("zlib-stream"));
        let a = t.encode(br#"{"op":10}"#).unwrap().unwrap();
        let b = t.encode(br#"{"op":11}"#).unwrap().unwrap();
        assert!(a.ends_with(&[0, 0, 0xff, 0xff]) && b.ends_with(&[0, 0, 0xff, 0xff]));
        let mut d = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(256);
        d.decompress_vec(&a, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, br#"{"op":10}"#);
        out.clear();
        d.decompress_vec(&b, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, br#"{"op":11}"#);
    }

    #[test]
    fn zstd_frames_decode_incrementally() {
        let mut t = Transport::from_query(Some("zstd-stream"));
        let a = t.encode(br#"{"op":10}"#).unwrap().unwrap();
        let b = t.encode(br#"{"op":11}"#).unwrap().unwrap();
        let mut all = a.clone();
        all.extend_from_slice(&b);
        let mut dec = zstd::stream::read::Decoder::new(&all[..]).unwrap();
        let mut s = String::new();
        // The stream is not finished (no end frame), so read what is available.
        let mut buf = [0u8; 64];
        loop {
            match dec.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => s.push_str(std::str::from_utf8(&buf[..n]).unwrap()),
            }
            if s.len() >= 18 {
                break;
            }
        }
        assert_eq!(s, r#"{"op":10}{"op":11}"#);
        assert!(matches!(
            Transport::from_query(Some("bogus")),
            Transport::None
        ));
    }
}
