//! MLS device credentials (spec/mls.md §2): a homeserver binds one of its users, a device id,
//! the device's MLS signature public key and a validity window, and signs the object with its
//! federation key under the `hearth.device-credential.v1` context. The canonical JSON of the
//! signed object is the identity of the device's MLS `BasicCredential`, so every member of a
//! group can check a leaf against the key of the domain named in the handle.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{canonical_json, parse_strict};
use crate::error::{Error, Result};
use crate::keys::{KeyLookup, ServerKey};
use crate::names::validate_server_name;
use crate::sign::{Purpose, sign_json, verify_signed_by};

/// Longest validity a server grants a device credential: 180 days.
pub const MAX_CREDENTIAL_VALIDITY_MS: u64 = 180 * 24 * 3_600_000;

/// The signed content of a device credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCredential {
    /// `localpart@server_name`; the server is the signer.
    pub user: String,
    /// The device id (a decimal snowflake of the user's server).
    pub device_id: String,
    /// Unpadded base64 of the device's MLS signature public key (the leaf's signature key).
    pub signature_key: String,
    /// When the credential was issued (ms since the Unix epoch).
    pub issued_ts: u64,
    /// When it stops being valid (ms since the Unix epoch).
    pub expires_ts: u64,
}

impl DeviceCredential {
    /// The server part of `user`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `user` is not `localpart@server`.
    pub fn server(&self) -> Result<&str> {
        let (local, server) = self
            .user
            .rsplit_once('@')
            .ok_or_else(|| Error::malformed("credential user must be localpart@server"))?;
        if local.is_empty() {
            return Err(Error::malformed("credential user has an empty localpart"));
        }
        validate_server_name(server)?;
        Ok(server)
    }

    /// Signs the credential as `server_name` (which must be the server of `user`) and returns
    /// the canonical JSON bytes used as the MLS `BasicCredential` identity.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `user` is not a user of `server_name`.
    pub fn sign(&self, server_name: &str, key: &ServerKey) -> Result<Vec<u8>> {
        if self.server()? != server_name {
            return Err(Error::malformed(
                "a server signs credentials of its own users only",
            ));
        }
        let mut v = serde_json::to_value(self).map_err(|e| Error::malformed(e.to_string()))?;
        sign_json(Purpose::DeviceCredential, &mut v, server_name, key)?;
        canonical_json(&v)
    }

    /// Parses identity bytes without checking the signature (routing only).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the bytes are not a credential object.
    pub fn parse(identity: &[u8]) -> Result<(DeviceCredential, Value)> {
        let v = parse_strict(identity)?;
        let c: DeviceCredential = serde_json::from_value(v.clone())
            .map_err(|e| Error::malformed(format!("device credential: {e}")))?;
        c.server()?;
        Ok((c, v))
    }

    /// Parses and verifies identity bytes: signed by the server of `user` with a key from
    /// `keys` usable at `issued_ts`, not expired at `now`, issued before `now` (plus 5 minutes of
    /// skew), validity at most [`MAX_CREDENTIAL_VALIDITY_MS`], and, when given, bound to the
    /// expected signature key.
    ///
    /// # Errors
    /// Signature errors of [`verify_signed_by`]; [`Error::Malformed`] for an expired, future or
    /// mismatched credential.
    pub fn verify(
        identity: &[u8],
        keys: &impl KeyLookup,
        now: u64,
        signature_key: Option<&[u8]>,
    ) -> Result<DeviceCredential> {
        let (c, v) = Self::parse(identity)?;
        let server = c.server()?.to_owned();
        verify_signed_by(Purpose::DeviceCredential, &v, &server, keys, c.issued_ts)?;
        if c.expires_ts <= now {
            return Err(Error::malformed("device credential expired"));
        }
        if c.issued_ts > now + crate::MAX_CLOCK_SKEW_MS
            || c.expires_ts <= c.issued_ts
            || c.expires_ts - c.issued_ts > MAX_CREDENTIAL_VALIDITY_MS
        {
            return Err(Error::malformed(
                "device credential validity window is invalid",
            ));
        }
        if let Some(sk) = signature_key
            && crate::b64::encode(sk) != c.signature_key
        {
            return Err(Error::malformed(
                "the leaf's signature key is not the credential's",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyStore, KnownKey};

    #[test]
    fn sign_and_verify() {
        let key = ServerKey::from_seed("ed25519:a", [7; 32]).unwrap();
        let other = ServerKey::from_seed("ed25519:a", [8; 32]).unwrap();
        let c = DeviceCredential {
            user: "alice@a.example".into(),
            device_id: "1".into(),
            signature_key: crate::b64::encode([1u8; 32]),
            issued_ts: 1_000,
            expires_ts: 2_000,
        };
        let id = c.sign("a.example", &key).unwrap();
        let mut store = KeyStore::new();
        store.insert_key(
            "a.example",
            "ed25519:a",
            KnownKey::current(key.public_key()),
        );
        let got = DeviceCredential::verify(&id, &store.at(0), 1_500, Some(&[1u8; 32])).unwrap();
        assert_eq!(got, c);
        assert!(DeviceCredential::verify(&id, &store.at(0), 2_000, None).is_err());
        assert!(DeviceCredential::verify(&id, &store.at(0), 1_500, Some(&[2u8; 32])).is_err());
        assert!(c.sign("b.example", &key).is_err());
        // Signed by another key under the same id: rejected.
        let forged = c.sign("a.example", &other).unwrap();
        assert!(DeviceCredential::verify(&forged, &store.at(0), 1_500, None).is_err());
    }
}
