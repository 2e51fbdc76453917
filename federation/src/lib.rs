//! Hearth federation protocol: the pieces of `spec/federation.md` that need no homeserver.
//!
//! - [`canonical`]: canonical JSON, the byte form everything is signed and hashed in (spec §4);
//! - [`keys`]: server signing keys, the self-signed key document, and a verify-key cache with
//!   rotation and revocation (spec §3);
//! - [`sign`]: domain-separated signatures (`context || 0x00 || canonical_json`) and content
//!   hashes (spec §5);
//! - [`request`]: `Authorization: X-Hearth ...` request signing and verification, with a bounded
//!   replay guard (spec §7);
//! - [`event`]: the guild event envelope with origin and host signatures, content-less stubs,
//!   hash chaining and equivocation proofs (spec §6);
//! - [`names`]: server names and user handles (spec §2);
//! - [`discovery`]: from a server name to where its server is reached (`.well-known`
//!   delegation, SRV, A/AAAA), with the address policy and the HTTPS client rules (spec
//!   "Discovery", "Transport"); shared by the homeserver, the registrar and the client SDK;
//! - [`policy`]: the domain policy (deny/allow patterns) and the address policy;
//! - [`http`]: outbound HTTPS for servers ([`http::SafeHttp`]), the outbound error
//!   [`http::FedError`], capped reads and peers' error answers;
//! - [`tls`]: extra trust roots; with the `server` feature the TLS listener;
//! - [`registrar`]: the registrar protocol's shared shapes (challenge path, token shape);
//! - [`ratelimit`] (`server` feature): keyed token buckets.
//!
//! Time is always milliseconds since the Unix epoch (`u64`); binary values travel as unpadded
//! standard base64 (RFC 4648 §4 alphabet, no `=`), see [`b64`].
//!
//! `spec/vectors/*.json` are reproduced exactly by this crate's tests (`src/vectors.rs`).

pub mod canonical;
pub mod device;
pub mod discovery;
pub mod error;
pub mod event;
pub mod history;
pub mod http;
pub mod keys;
pub mod names;
pub mod policy;
#[cfg(feature = "server")]
pub mod ratelimit;
pub mod registrar;
pub mod request;
pub mod server_key;
pub mod sign;
pub mod tls;

#[cfg(test)]
mod vectors;

pub use error::{Error, Result};

/// Unpadded standard base64 (spec §4.2), the encoding of keys, signatures and hashes.
pub mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;

    use crate::error::{Error, Result};

    /// Encodes `bytes` as unpadded standard base64.
    pub fn encode(bytes: impl AsRef<[u8]>) -> String {
        STANDARD_NO_PAD.encode(bytes)
    }

    /// Decodes unpadded standard base64. Padding (`=`), the URL-safe alphabet, whitespace and
    /// non-zero trailing bits are rejected with [`Error::Malformed`], so every byte string has
    /// exactly one accepted encoding.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming `what`.
    pub fn decode(text: &str, what: &str) -> Result<Vec<u8>> {
        STANDARD_NO_PAD
            .decode(text)
            .map_err(|e| Error::malformed(format!("{what}: invalid unpadded base64 ({e})")))
    }

    /// Decodes unpadded standard base64 into exactly `N` bytes.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the text is not valid or has the wrong length.
    pub fn decode_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N]> {
        let bytes = decode(text, what)?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
            Error::malformed(format!("{what}: expected {N} bytes, got {}", bytes.len()))
        })
    }
}

/// Default allowed clock skew for signed requests: 5 minutes, in milliseconds (spec §7.3).
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
