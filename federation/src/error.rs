//! The one error type of the crate.
//!
//! Every fallible function of `hearth_federation` returns [`Error`]. Variants that a homeserver
//! reports to a remote peer carry a stable wire code ([`Error::code`]) and an HTTP status
//! ([`Error::http_status`]); both are listed in `spec/federation.md` §11 ("Errors").

use thiserror::Error as ThisError;

/// Everything that can go wrong while encoding, signing or verifying federation data.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum Error {
    // --- canonical JSON (spec §4) ---
    /// A JSON number with a fraction or exponent; canonical JSON allows integers only.
    #[error("canonical JSON forbids non-integer numbers (found {0})")]
    Float(String),
    /// An integer outside `-(2^53-1) ..= 2^53-1`.
    #[error("integer {0} is outside the canonical JSON range ±(2^53-1)")]
    IntegerOutOfRange(String),
    /// Objects and arrays nested deeper than [`crate::canonical::MAX_DEPTH`].
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),

    // --- shapes and encodings ---
    /// A value does not have the shape the spec requires (missing field, wrong type, bad
    /// server name, bad base64, ...). The string says what.
    #[error("malformed: {0}")]
    Malformed(String),

    // --- keys and signatures (spec §3, §5) ---
    /// The signing server or key id is not known to the verifier (after a key refresh).
    #[error("unknown key {key_id} of {server_name}")]
    UnknownKey {
        /// Server whose key was asked for.
        server_name: String,
        /// Key id such as `ed25519:AbCdEfGh`.
        key_id: String,
    },
    /// The key was revoked by its server: nothing signed by it is accepted, whatever its time.
    #[error("key {key_id} of {server_name} is revoked")]
    RevokedKey {
        /// Server that revoked the key.
        server_name: String,
        /// The revoked key id.
        key_id: String,
    },
    /// An old key used for something timestamped at or after the key's `expired_ts`.
    #[error("key {key_id} of {server_name} expired at {expired_ts} (signed object time {ts})")]
    ExpiredKey {
        /// Server of the key.
        server_name: String,
        /// The old key id.
        key_id: String,
        /// When the key stopped being valid (ms since the Unix epoch).
        expired_ts: u64,
        /// Timestamp of the signed object (ms since the Unix epoch).
        ts: u64,
    },
    /// The object carries no signature of the required server.
    #[error("no signature by {0}")]
    MissingSignature(String),
    /// A signature does not verify (wrong key, wrong purpose, tampered bytes).
    #[error("bad signature")]
    BadSignature,
    /// The content does not hash to the signed `content_hash`.
    #[error("content does not match content_hash")]
    ContentHashMismatch,

    // --- request authentication (spec §7) ---
    /// The `Authorization: X-Hearth ...` header is absent or does not parse.
    #[error("malformed X-Hearth authorization: {0}")]
    MalformedAuth(String),
    /// The request was addressed to another server.
    #[error("request addressed to {got}, this server is {expected}")]
    WrongDestination {
        /// This server's name.
        expected: String,
        /// The destination named in the request.
        got: String,
    },
    /// The request timestamp differs from the receiver's clock by more than the allowed skew.
    #[error("request timestamp is {skew_ms} ms away from our clock")]
    ClockSkew {
        /// Absolute difference in milliseconds.
        skew_ms: u64,
    },
    /// The same signed request was already accepted (or is too old to be told apart from one).
    #[error("replayed request")]
    Replayed,

    // --- event log (spec §6, §10) ---
    /// An action whose sender is not a user of the signing/sending server, or that arrived
    /// from a server other than its origin.
    #[error("origin mismatch: {0}")]
    OriginMismatch(String),
    /// An origin-signed action presented for another host, guild or channel than it names.
    #[error("wrong target: {0}")]
    WrongTarget(String),
    /// A host showed two different events for the same guild and seq; the proof is kept by the
    /// caller (see [`crate::event::EquivocationProof`]).
    #[error("equivocation: two different events for guild {guild_id} seq {seq}")]
    Equivocation {
        /// Guild id (host id space).
        guild_id: String,
        /// The contested sequence number.
        seq: u64,
    },
    /// `seq`/`prev_hash` do not continue the log.
    #[error("chain break: {0}")]
    ChainBreak(String),
}

impl Error {
    /// Stable wire error code (`errcode` in federation error bodies, spec §11).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Float(_) | Error::IntegerOutOfRange(_) | Error::TooDeep(_) => "H_NOT_CANONICAL",
            Error::Malformed(_) => "H_MALFORMED",
            Error::UnknownKey { .. } => "H_UNKNOWN_KEY",
            Error::RevokedKey { .. } => "H_REVOKED_KEY",
            Error::ExpiredKey { .. } => "H_EXPIRED_KEY",
            Error::MissingSignature(_) => "H_MISSING_SIGNATURE",
            Error::BadSignature => "H_BAD_SIGNATURE",
            Error::ContentHashMismatch => "H_CONTENT_HASH_MISMATCH",
            Error::MalformedAuth(_) => "H_MALFORMED_AUTH",
            Error::WrongDestination { .. } => "H_WRONG_DESTINATION",
            Error::ClockSkew { .. } => "H_CLOCK_SKEW",
            Error::Replayed => "H_REPLAYED",
            Error::OriginMismatch(_) => "H_ORIGIN_MISMATCH",
            Error::WrongTarget(_) => "H_WRONG_TARGET",
            Error::Equivocation { .. } => "H_EQUIVOCATION",
            Error::ChainBreak(_) => "H_CHAIN_BREAK",
        }
    }

    /// HTTP status a receiver answers with when this error rejects a request (spec §11).
    pub fn http_status(&self) -> u16 {
        match self {
            Error::MalformedAuth(_)
            | Error::UnknownKey { .. }
            | Error::RevokedKey { .. }
            | Error::ExpiredKey { .. }
            | Error::MissingSignature(_)
            | Error::BadSignature
            | Error::ClockSkew { .. }
            | Error::Replayed => 401,
            Error::WrongDestination { .. } => 421,
            Error::OriginMismatch(_) | Error::WrongTarget(_) => 403,
            Error::Equivocation { .. } | Error::ChainBreak(_) => 409,
            Error::Float(_)
            | Error::IntegerOutOfRange(_)
            | Error::TooDeep(_)
            | Error::Malformed(_)
            | Error::ContentHashMismatch => 400,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Error::Malformed(what.into())
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
