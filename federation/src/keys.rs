//! Server signing keys, the self-signed key document and a verify-key cache (spec §3).
//!
//! - [`ServerKey`]: an ed25519 signing key with its key id `ed25519:<version>`, where the
//!   version is 1-32 characters of `[A-Za-z0-9_-]` (generated keys use the unpadded URL-safe
//!   base64 of 6 random bytes, 8 characters). Persisted as one line
//!   `ed25519 <version> <base64 seed>` (the Synapse signing-key file format).
//! - [`PublicKey`]: an ed25519 verify key, unpadded standard base64 on the wire (32 bytes).
//! - [`KeyDocument`]: `{server_name, verify_keys, old_verify_keys, revoked_keys?,
//!   valid_until_ts, signatures}`, served at `GET /_hearth/key/v1/server` and signed with
//!   [`Purpose::KeyDocument`] by every key in `verify_keys`.
//! - [`KeyLookup`] / [`KeyStore`]: what verifiers use to find a server's key and its state
//!   (current, old with `expired_ts`, revoked).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::names::validate_server_name;
pub use crate::server_key::{
    ALGORITHM, KeyLookup, KeyState, KnownKey, PublicKey, ServerKey, validate_key_id,
};
use crate::sign::{self, Purpose};

/// Where a server serves its key document (spec §3.2).
pub const KEY_PATH: &str = "/_hearth/key/v1/server";

/// Largest key document a fetcher reads, bytes (spec §2.4 and §15: 64 KiB).
pub const MAX_KEY_DOCUMENT_BYTES: usize = 64 * 1024;

/// Validity a server gives its own key document by default: 1 day in ms (spec §3.2).
pub const DEFAULT_KEY_VALIDITY_MS: u64 = 24 * 60 * 60 * 1000;

/// Longest validity a verifier honours for a fetched key document: 7 days in ms (spec §3.2).
pub const MAX_KEY_VALIDITY_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// `{ "key": "<base64>" }` in `verify_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyKey {
    /// Unpadded standard base64 of the 32-byte ed25519 verify key.
    pub key: String,
}

/// `{ "key": "<base64>", "expired_ts": ms }` in `old_verify_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldVerifyKey {
    /// Unpadded standard base64 of the verify key.
    pub key: String,
    /// The key verifies only objects timestamped strictly before this (ms since the epoch).
    pub expired_ts: u64,
}

/// `{ "key": "<base64>", "revoked_ts": ms }` in `revoked_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedVerifyKey {
    /// Unpadded standard base64 of the verify key.
    pub key: String,
    /// When the operator revoked it (informational: nothing it signed is accepted).
    pub revoked_ts: u64,
}

/// The self-signed key document of a server (spec §3.2), served at
/// `GET /_hearth/key/v1/server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDocument {
    /// The publishing server.
    pub server_name: String,
    /// Keys in use, by key id. At least one; every one signs the document.
    pub verify_keys: BTreeMap<String, VerifyKey>,
    /// Retired keys, by key id, valid for objects timestamped before their `expired_ts`.
    #[serde(default)]
    pub old_verify_keys: BTreeMap<String, OldVerifyKey>,
    /// Compromised keys, by key id. Omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revoked_keys: BTreeMap<String, RevokedVerifyKey>,
    /// Until when (ms since the epoch) peers may use this document without refetching.
    pub valid_until_ts: u64,
}

impl KeyDocument {
    /// A document listing `current` keys (no old or revoked keys yet).
    pub fn new(server_name: &str, current: &[&ServerKey], valid_until_ts: u64) -> Self {
        KeyDocument {
            server_name: server_name.to_owned(),
            verify_keys: current
                .iter()
                .map(|k| {
                    (
                        k.key_id().to_owned(),
                        VerifyKey {
                            key: k.public_key().to_b64(),
                        },
                    )
                })
                .collect(),
            old_verify_keys: BTreeMap::new(),
            revoked_keys: BTreeMap::new(),
            valid_until_ts,
        }
    }

    /// Moves `key_id` from `verify_keys` to `old_verify_keys` with `expired_ts` (rotation).
    ///
    /// # Errors
    /// [`Error::Malformed`] if the key is not current.
    pub fn retire(&mut self, key_id: &str, expired_ts: u64) -> Result<()> {
        let k = self
            .verify_keys
            .remove(key_id)
            .ok_or_else(|| Error::malformed(format!("{key_id} is not a current key")))?;
        self.old_verify_keys.insert(
            key_id.to_owned(),
            OldVerifyKey {
                key: k.key,
                expired_ts,
            },
        );
        Ok(())
    }

    /// Moves `key_id` (current or old) to `revoked_keys`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the key is not in the document.
    pub fn revoke(&mut self, key_id: &str, revoked_ts: u64) -> Result<()> {
        let key = match (
            self.verify_keys.remove(key_id),
            self.old_verify_keys.remove(key_id),
        ) {
            (Some(k), _) => k.key,
            (None, Some(k)) => k.key,
            (None, None) => {
                return Err(Error::malformed(format!("{key_id} is not in the document")));
            }
        };
        self.revoked_keys
            .insert(key_id.to_owned(), RevokedVerifyKey { key, revoked_ts });
        Ok(())
    }

    /// Serialises and signs the document with [`Purpose::KeyDocument`] by every key in
    /// `signers`, which must be exactly the keys of `verify_keys`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the signers do not match `verify_keys`.
    pub fn sign(&self, signers: &[&ServerKey]) -> Result<Value> {
        let mut ids: Vec<&str> = signers.iter().map(|k| k.key_id()).collect();
        ids.sort_unstable();
        ids.dedup();
        let listed: Vec<&str> = self.verify_keys.keys().map(String::as_str).collect();
        if ids != listed {
            return Err(Error::malformed(
                "a key document is signed by exactly its verify_keys",
            ));
        }
        for k in signers {
            if self.verify_keys[k.key_id()].key != k.public_key().to_b64() {
                return Err(Error::malformed(format!(
                    "{} does not match the listed key",
                    k.key_id()
                )));
            }
        }
        let mut value = serde_json::to_value(self).map_err(|e| Error::malformed(e.to_string()))?;
        for k in signers {
            sign::sign_json(Purpose::KeyDocument, &mut value, &self.server_name, k)?;
        }
        Ok(value)
    }

    /// Parses and checks a fetched key document (spec §3.2): the shape, `server_name ==
    /// expected_server`, every key id and key well-formed, no key id listed twice, and a valid
    /// [`Purpose::KeyDocument`] signature by **every** key in `verify_keys`.
    /// Validity is not checked here; [`KeyStore::insert_document`] caps and records it.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::MissingSignature`] or [`Error::BadSignature`].
    pub fn verify(value: &Value, expected_server: &str) -> Result<KeyDocument> {
        crate::canonical::check(value)?;
        let doc: KeyDocument = serde_json::from_value(strip_signatures(value))
            .map_err(|e| Error::malformed(format!("key document: {e}")))?;
        validate_server_name(&doc.server_name)?;
        if doc.server_name != expected_server {
            return Err(Error::malformed(format!(
                "key document is for {}, expected {expected_server}",
                doc.server_name
            )));
        }
        if doc.verify_keys.is_empty() {
            return Err(Error::malformed("key document has no verify_keys"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for id in doc
            .verify_keys
            .keys()
            .chain(doc.old_verify_keys.keys())
            .chain(doc.revoked_keys.keys())
        {
            validate_key_id(id)?;
            if !seen.insert(id) {
                return Err(Error::malformed(format!("key id {id} listed twice")));
            }
        }
        for k in doc.old_verify_keys.values() {
            PublicKey::from_b64(&k.key)?;
        }
        for k in doc.revoked_keys.values() {
            PublicKey::from_b64(&k.key)?;
        }
        for (id, k) in &doc.verify_keys {
            let key = PublicKey::from_b64(&k.key)?;
            sign::verify_signature(Purpose::KeyDocument, value, &doc.server_name, id, &key)?;
        }
        Ok(doc)
    }
}

fn strip_signatures(value: &Value) -> Value {
    let mut v = value.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("signatures");
        obj.remove("unsigned");
    }
    v
}

#[derive(Debug, Clone)]
struct ServerEntry {
    keys: HashMap<String, KnownKey>,
    /// Until when the current/old keys may be used (min of valid_until_ts and fetch + 7 days).
    fresh_until: u64,
}

/// In-memory verify-key cache (spec §3.4).
///
/// Holds, per server, the keys of its last verified [`KeyDocument`] and how long they may be
/// used. Revocations are sticky: a key once seen revoked stays revoked even if a later document
/// omits it. Keys of a document past its freshness are not returned by [`KeyStore::at`] (the
/// homeserver refetches first); statically configured keys ([`KeyStore::insert_key`]) never
/// go stale.
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    servers: HashMap<String, ServerEntry>,
    revoked: HashMap<(String, String), KnownKey>,
}

impl KeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a document verified with [`KeyDocument::verify`], fetched at `fetched_at`
    /// (ms). Replaces the server's previous keys, except that revocations accumulate.
    ///
    /// # Errors
    /// [`Error::Malformed`] if a key does not decode (cannot happen for verified documents).
    pub fn insert_document(&mut self, doc: &KeyDocument, fetched_at: u64) -> Result<()> {
        let mut keys = HashMap::new();
        for (id, k) in &doc.verify_keys {
            keys.insert(id.clone(), KnownKey::current(PublicKey::from_b64(&k.key)?));
        }
        for (id, k) in &doc.old_verify_keys {
            keys.insert(
                id.clone(),
                KnownKey {
                    key: PublicKey::from_b64(&k.key)?,
                    state: KeyState::Old {
                        expired_ts: k.expired_ts,
                    },
                },
            );
        }
        for (id, k) in &doc.revoked_keys {
            let known = KnownKey {
                key: PublicKey::from_b64(&k.key)?,
                state: KeyState::Revoked {
                    revoked_ts: k.revoked_ts,
                },
            };
            self.revoked
                .insert((doc.server_name.clone(), id.clone()), known);
        }
        let fresh_until = doc
            .valid_until_ts
            .min(fetched_at.saturating_add(MAX_KEY_VALIDITY_MS));
        self.servers
            .insert(doc.server_name.clone(), ServerEntry { keys, fresh_until });
        Ok(())
    }

    /// Adds one key that never goes stale (configuration, tests).
    pub fn insert_key(&mut self, server_name: &str, key_id: &str, key: KnownKey) {
        if let KeyState::Revoked { .. } = key.state {
            self.revoked
                .insert((server_name.to_owned(), key_id.to_owned()), key);
            return;
        }
        self.servers
            .entry(server_name.to_owned())
            .or_insert_with(|| ServerEntry {
                keys: HashMap::new(),
                fresh_until: u64::MAX,
            })
            .keys
            .insert(key_id.to_owned(), key);
    }

    /// Until when the server's cached document may be used, if one is cached.
    pub fn fresh_until(&self, server_name: &str) -> Option<u64> {
        self.servers.get(server_name).map(|e| e.fresh_until)
    }

    /// Whether the server's keys must be (re)fetched before use at `now`.
    pub fn needs_refresh(&self, server_name: &str, now: u64) -> bool {
        self.fresh_until(server_name).is_none_or(|t| now >= t)
    }

    /// A view of the store at time `now` (ms) for the verify functions: revoked keys are always
    /// visible as revoked; other keys only while their document is fresh.
    pub fn at(&self, now: u64) -> KeyStoreAt<'_> {
        KeyStoreAt { store: self, now }
    }
}

/// [`KeyStore`] seen at one instant; see [`KeyStore::at`].
#[derive(Debug, Clone, Copy)]
pub struct KeyStoreAt<'a> {
    store: &'a KeyStore,
    now: u64,
}

impl KeyLookup for KeyStoreAt<'_> {
    fn lookup(&self, server_name: &str, key_id: &str) -> Option<KnownKey> {
        if let Some(k) = self
            .store
            .revoked
            .get(&(server_name.to_owned(), key_id.to_owned()))
        {
            return Some(*k);
        }
        let entry = self.store.servers.get(server_name)?;
        if self.now >= entry.fresh_until {
            return None;
        }
        entry.keys.get(key_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, seed: u8) -> ServerKey {
        ServerKey::from_seed(id, [seed; 32]).unwrap()
    }

    #[test]
    fn generate_and_persist_round_trip() {
        let k = ServerKey::generate();
        validate_key_id(k.key_id()).unwrap();
        assert_eq!(k.version().len(), 8);
        let text = k.to_persisted();
        assert!(text.starts_with("ed25519 "));
        let back = ServerKey::from_persisted(&format!("  {text}\n")).unwrap();
        assert_eq!(back.key_id(), k.key_id());
        assert_eq!(back.public_key(), k.public_key());
        assert_eq!(back.seed(), k.seed());
        assert!(!format!("{k:?}").contains(&crate::b64::encode(k.seed())));
        assert_ne!(ServerKey::generate().key_id(), k.key_id());
    }

    #[test]
    fn persisted_form_errors() {
        for bad in [
            "",
            "ed25519 v1",
            "rsa v1 AAAA",
            "ed25519 v1 AAAA",
            "ed25519 v/1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "ed25519 v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "ed25519 v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA extra",
        ] {
            assert!(ServerKey::from_persisted(bad).is_err(), "{bad:?}");
        }
        assert!(
            ServerKey::from_persisted("ed25519 v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .is_ok()
        );
    }

    #[test]
    fn public_key_base64_round_trip() {
        let k = key("ed25519:a", 7);
        let b = k.public_key().to_b64();
        assert_eq!(b.len(), 43);
        assert!(!b.contains('='));
        assert_eq!(PublicKey::from_b64(&b).unwrap(), k.public_key());
        assert!(PublicKey::from_b64(&format!("{b}=")).is_err());
    }

    #[test]
    fn key_document_sign_verify() {
        let k1 = key("ed25519:one", 1);
        let doc = KeyDocument::new("a.example", &[&k1], 1_000);
        let signed = doc.sign(&[&k1]).unwrap();
        assert_eq!(KeyDocument::verify(&signed, "a.example").unwrap(), doc);
        // wrong server name
        assert!(KeyDocument::verify(&signed, "b.example").is_err());
        // tampered validity
        let mut t = signed.clone();
        t["valid_until_ts"] = 2_000.into();
        assert_eq!(
            KeyDocument::verify(&t, "a.example"),
            Err(Error::BadSignature)
        );
        // signed by a key that is not listed
        let k2 = key("ed25519:two", 2);
        assert!(doc.sign(&[&k2]).is_err());
        // a document signed for another purpose does not verify
        let mut other = serde_json::to_value(&doc).unwrap();
        sign::sign_json(Purpose::Request, &mut other, "a.example", &k1).unwrap();
        assert_eq!(
            KeyDocument::verify(&other, "a.example"),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn rotation_and_revocation_in_store() {
        let k1 = key("ed25519:one", 1);
        let k2 = key("ed25519:two", 2);
        let mut doc = KeyDocument::new("a.example", &[&k2], 10_000);
        doc.old_verify_keys.insert(
            "ed25519:one".into(),
            OldVerifyKey {
                key: k1.public_key().to_b64(),
                expired_ts: 5_000,
            },
        );
        let signed = doc.sign(&[&k2]).unwrap();
        let doc = KeyDocument::verify(&signed, "a.example").unwrap();
        let mut store = KeyStore::new();
        store.insert_document(&doc, 1_000).unwrap();
        let view = store.at(2_000);
        let old = view.lookup("a.example", "ed25519:one").unwrap();
        assert!(old.check_usable("a.example", "ed25519:one", 4_999).is_ok());
        assert!(matches!(
            old.check_usable("a.example", "ed25519:one", 5_000),
            Err(Error::ExpiredKey { .. })
        ));
        assert_eq!(
            view.lookup("a.example", "ed25519:two").unwrap().state,
            KeyState::Current
        );
        // stale after valid_until_ts
        assert!(
            store
                .at(10_000)
                .lookup("a.example", "ed25519:two")
                .is_none()
        );
        assert!(store.needs_refresh("a.example", 10_000));
        assert!(!store.needs_refresh("a.example", 9_999));

        // revoke "one"; a later document that forgets the revocation does not undo it
        let mut doc2 = doc.clone();
        doc2.revoke("ed25519:one", 6_000).unwrap();
        store.insert_document(&doc2, 6_000).unwrap();
        let mut doc3 = KeyDocument::new("a.example", &[&k2], 20_000);
        doc3.old_verify_keys = doc.old_verify_keys.clone();
        store.insert_document(&doc3, 7_000).unwrap();
        let got = store.at(8_000).lookup("a.example", "ed25519:one").unwrap();
        assert!(matches!(got.state, KeyState::Revoked { .. }));
        assert!(matches!(
            got.check_usable("a.example", "ed25519:one", 1),
            Err(Error::RevokedKey { .. })
        ));
        // validity is capped at 7 days after the fetch
        let far = KeyDocument::new("c.example", &[&k1], u64::MAX);
        store.insert_document(&far, 0).unwrap();
        assert_eq!(store.fresh_until("c.example"), Some(MAX_KEY_VALIDITY_MS));
    }
}
