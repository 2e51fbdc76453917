//! Server key primitives (spec §3.1): [`ServerKey`] (an ed25519 signing key with its key
//! id `ed25519:<version>`, persisted as one line `ed25519 <version> <base64 seed>`, the
//! Synapse signing-key file format), [`PublicKey`] (an ed25519 verify key, unpadded standard
//! base64 on the wire, 32 bytes), a known key's [`KeyState`] and the [`KeyLookup`] verifiers
//! use. Signing lives in [`crate::sign`], documents and the cache in [`crate::keys`]; both
//! build on this module, which builds on neither.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore as _;

use crate::b64;
use crate::error::{Error, Result};

/// The only signing algorithm of protocol version 1.
pub const ALGORITHM: &str = "ed25519";

/// Checks a key id: `ed25519:` followed by 1-32 characters of `[A-Za-z0-9_-]`.
///
/// # Errors
/// [`Error::Malformed`] otherwise.
pub fn validate_key_id(key_id: &str) -> Result<()> {
    let version = key_id
        .strip_prefix("ed25519:")
        .ok_or_else(|| Error::malformed(format!("key id {key_id:?} must start with ed25519:")))?;
    let ok = !version.is_empty()
        && version.len() <= 32
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "key id {key_id:?}: version must be 1-32 characters of [A-Za-z0-9_-]"
        )))
    }
}

/// A server's ed25519 signing key and its key id. `Debug` never shows the secret.
#[derive(Clone)]
pub struct ServerKey {
    key_id: String,
    signing: SigningKey,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key().to_b64())
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// Generates a fresh key with a random seed and a random key id `ed25519:<8 chars>`.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut version = [0u8; 6];
        rng.fill_bytes(&mut version);
        use base64::Engine as _;
        let version = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(version);
        ServerKey {
            key_id: format!("ed25519:{version}"),
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// Builds a key from a known 32-byte seed (persisted keys, test vectors).
    ///
    /// # Errors
    /// [`Error::Malformed`] if `key_id` is invalid (see [`validate_key_id`]).
    pub fn from_seed(key_id: &str, seed: [u8; 32]) -> Result<Self> {
        validate_key_id(key_id)?;
        Ok(ServerKey {
            key_id: key_id.to_owned(),
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses the persisted form `ed25519 <version> <unpadded base64 seed>` (surrounding
    /// whitespace ignored).
    ///
    /// # Errors
    /// [`Error::Malformed`] for another algorithm, a bad version or a seed that is not 32
    /// bytes of unpadded base64.
    pub fn from_persisted(text: &str) -> Result<Self> {
        let mut parts = text.split_whitespace();
        let (Some(alg), Some(version), Some(seed), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::malformed(
                "persisted key must be `ed25519 <version> <seed>`",
            ));
        };
        if alg != ALGORITHM {
            return Err(Error::malformed(format!(
                "unsupported key algorithm {alg:?}"
            )));
        }
        let seed = b64::decode_array::<32>(seed, "key seed")?;
        Self::from_seed(&format!("ed25519:{version}"), seed)
    }

    /// The persisted form `ed25519 <version> <unpadded base64 seed>` (no trailing newline).
    /// It contains the secret: store it with mode 0600.
    pub fn to_persisted(&self) -> String {
        format!(
            "{ALGORITHM} {} {}",
            self.version(),
            b64::encode(self.signing.to_bytes())
        )
    }

    /// The 32-byte secret seed.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The key id, e.g. `ed25519:AbCdEf12`.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The part of the key id after `ed25519:`.
    pub fn version(&self) -> &str {
        self.key_id.strip_prefix("ed25519:").unwrap_or(&self.key_id)
    }

    /// The verify key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// Signs raw bytes. Crate-internal: every signature goes through [`crate::sign`], which adds
    /// the purpose context, so this key never signs bytes a peer chose.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// An ed25519 verify key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_b64())
    }
}

impl PublicKey {
    /// Parses 32 bytes of unpadded standard base64.
    ///
    /// # Errors
    /// [`Error::Malformed`] for bad base64, a wrong length or bytes that are not a curve point.
    pub fn from_b64(text: &str) -> Result<Self> {
        let bytes = b64::decode_array::<32>(text, "verify key")?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| Error::malformed("verify key is not a valid ed25519 point"))
    }

    /// Unpadded standard base64 of the 32 key bytes.
    pub fn to_b64(&self) -> String {
        b64::encode(self.0.as_bytes())
    }

    /// Raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Verifies a raw signature with the strict rules of RFC 8032 (no small-order keys, canonical
    /// `S`), so signatures are not malleable.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if the signature does not verify.
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8; 64]) -> Result<()> {
        let sig = Signature::from_bytes(signature);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| Error::BadSignature)
    }
}

/// What a verifier knows about one key of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Listed in `verify_keys`: valid for anything.
    Current,
    /// Listed in `old_verify_keys`: valid only for objects timestamped before `expired_ts`.
    Old {
        /// ms since the Unix epoch.
        expired_ts: u64,
    },
    /// Listed in `revoked_keys` (now or ever): nothing signed by it is accepted.
    Revoked {
        /// ms since the Unix epoch.
        revoked_ts: u64,
    },
}

/// A key and its state, as returned by a [`KeyLookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownKey {
    /// The verify key.
    pub key: PublicKey,
    /// Current, old or revoked.
    pub state: KeyState,
}

impl KnownKey {
    /// A current key.
    pub fn current(key: PublicKey) -> Self {
        KnownKey {
            key,
            state: KeyState::Current,
        }
    }

    /// Checks that this key may verify an object timestamped `ts` (spec §3.3): current keys
    /// always, old keys only when `ts < expired_ts`, revoked keys never.
    ///
    /// # Errors
    /// [`Error::RevokedKey`] or [`Error::ExpiredKey`].
    pub fn check_usable(&self, server_name: &str, key_id: &str, ts: u64) -> Result<()> {
        match self.state {
            KeyState::Current => Ok(()),
            KeyState::Old { expired_ts } if ts < expired_ts => Ok(()),
            KeyState::Old { expired_ts } => Err(Error::ExpiredKey {
                server_name: server_name.to_owned(),
                key_id: key_id.to_owned(),
                expired_ts,
                ts,
            }),
            KeyState::Revoked { .. } => Err(Error::RevokedKey {
                server_name: server_name.to_owned(),
                key_id: key_id.to_owned(),
            }),
        }
    }
}

/// Source of verify keys for signature checks.
pub trait KeyLookup {
    /// The key `key_id` of `server_name`, or `None` if unknown (the caller then answers
    /// [`Error::UnknownKey`], and a homeserver refetches the key document first).
    fn lookup(&self, server_name: &str, key_id: &str) -> Option<KnownKey>;
}

impl<T: KeyLookup + ?Sized> KeyLookup for &T {
    fn lookup(&self, server_name: &str, key_id: &str) -> Option<KnownKey> {
        (**self).lookup(server_name, key_id)
    }
}
