//! Domain-separated signatures and content hashes (spec §5).
//!
//! Every signature a Hearth server makes is an ed25519 signature over
//!
//! ```text
//! signing_input = context || 0x00 || canonical_json(object without "signatures" and "unsigned")
//! ```
//!
//! where `context` is the ASCII string of a [`Purpose`] (`hearth.event.v1`, ...). Canonical JSON
//! never contains a NUL byte and no context contains one, so the framing is unambiguous, and a
//! signature made for one purpose never verifies for another. Signatures are stored in the
//! object itself, Matrix-style: `"signatures": {server_name: {key_id: unpadded_b64(sig)}}`.
//!
//! Hashes ([`content_hash`], [`sha256_b64`]) are unpadded standard base64 of SHA-256.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::b64;
use crate::canonical::canonical_json;
use crate::error::{Error, Result};
use crate::server_key::{KeyLookup, KeyState, PublicKey, ServerKey};

/// What a signature is for. The context string is part of the signed bytes (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// `hearth.event.v1`: an origin server's signature over a user's action (spec §6.2).
    Event,
    /// `hearth.host-event.v1`: a host's signature over a sequenced log entry (spec §6.3).
    HostEvent,
    /// `hearth.request.v1`: a federation request (spec §7).
    Request,
    /// `hearth.key-document.v1`: a server's key document (spec §3.2).
    KeyDocument,
    /// `hearth.registrar-challenge.v1`: a registrar domain-control challenge (registrar spec).
    RegistrarChallenge,
    /// `hearth.guild-summary.v1`: a public guild summary for the registrar directory.
    GuildSummary,
    /// `hearth.registrar-notary.v1`: a registrar's notary answer vouching for another
    /// server's key document (registrar spec).
    RegistrarNotary,
    /// `hearth.device-credential.v1`: an MLS device credential (E2EE spec).
    DeviceCredential,
    /// `hearth.user-notice.v1`: a home server's notice about one of its users (an account
    /// deletion, spec §18), relayable by hosts to their member servers.
    UserNotice,
    /// `hearth.history.v1`: a host's join snapshot or history page, bound to its log
    /// position (spec §8.2, §8.5).
    History,
}

impl Purpose {
    /// Every purpose of protocol version 1.
    pub const ALL: [Purpose; 10] = [
        Purpose::Event,
        Purpose::HostEvent,
        Purpose::Request,
        Purpose::KeyDocument,
        Purpose::RegistrarChallenge,
        Purpose::GuildSummary,
        Purpose::RegistrarNotary,
        Purpose::DeviceCredential,
        Purpose::UserNotice,
        Purpose::History,
    ];

    /// The context string placed before the canonical JSON in the signed bytes.
    pub const fn context(self) -> &'static str {
        match self {
            Purpose::Event => "hearth.event.v1",
            Purpose::HostEvent => "hearth.host-event.v1",
            Purpose::Request => "hearth.request.v1",
            Purpose::KeyDocument => "hearth.key-document.v1",
            Purpose::RegistrarChallenge => "hearth.registrar-challenge.v1",
            Purpose::GuildSummary => "hearth.guild-summary.v1",
            Purpose::RegistrarNotary => "hearth.registrar-notary.v1",
            Purpose::DeviceCredential => "hearth.device-credential.v1",
            Purpose::UserNotice => "hearth.user-notice.v1",
            Purpose::History => "hearth.history.v1",
        }
    }
}

/// `signatures` of a signed object: server name → key id → unpadded base64 signature.
pub type Signatures = BTreeMap<String, BTreeMap<String, String>>;

/// The exact bytes signed for `value` under `purpose`:
/// `context || 0x00 || canonical_json(value minus "signatures" and "unsigned")`.
///
/// # Errors
/// [`Error::Malformed`] if `value` is not a JSON object; canonical JSON errors.
pub fn signing_input(purpose: Purpose, value: &Value) -> Result<Vec<u8>> {
    let obj = value
        .as_object()
        .ok_or_else(|| Error::malformed("only JSON objects are signed"))?;
    let mut stripped = Map::with_capacity(obj.len());
    for (k, v) in obj {
        if k != "signatures" && k != "unsigned" {
            stripped.insert(k.clone(), v.clone());
        }
    }
    let json = canonical_json(&Value::Object(stripped))?;
    let context = purpose.context().as_bytes();
    let mut out = Vec::with_capacity(context.len() + 1 + json.len());
    out.extend_from_slice(context);
    out.push(0);
    out.extend_from_slice(&json);
    Ok(out)
}

/// Signs `value` (a JSON object) for `purpose` as `server_name` with `key`, adding
/// `signatures[server_name][key_id]`. Other signatures already present are kept and are not
/// covered (they are stripped from the signed bytes).
///
/// # Errors
/// As [`signing_input`]; [`Error::Malformed`] if `signatures` exists and is not an object of
/// objects.
pub fn sign_json(
    purpose: Purpose,
    value: &mut Value,
    server_name: &str,
    key: &ServerKey,
) -> Result<()> {
    let sig = b64::encode(key.sign_raw(&signing_input(purpose, value)?));
    let obj = value
        .as_object_mut()
        .ok_or_else(|| Error::malformed("only JSON objects are signed"))?;
    let sigs = obj
        .entry("signatures")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| Error::malformed("signatures must be an object"))?;
    let by_server = sigs
        .entry(server_name)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| Error::malformed("signatures.<server> must be an object"))?;
    by_server.insert(key.key_id().to_owned(), Value::String(sig));
    Ok(())
}

/// Parses the `signatures` member of a signed object (absent → empty).
///
/// # Errors
/// [`Error::Malformed`] if it is not an object of objects of strings.
pub fn signatures(value: &Value) -> Result<Signatures> {
    match value.get("signatures") {
        None => Ok(Signatures::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| Error::malformed("signatures must map server -> key id -> string")),
    }
}

/// Verifies `signatures[server_name][key_id]` on `value` for `purpose` with the given verify
/// key (no key-state checks: see [`verify_signed_by`] for that).
///
/// # Errors
/// [`Error::MissingSignature`] if there is no such signature, [`Error::Malformed`] if it is
/// not 64 bytes of unpadded base64, [`Error::BadSignature`] if it does not verify.
pub fn verify_signature(
    purpose: Purpose,
    value: &Value,
    server_name: &str,
    key_id: &str,
    key: &PublicKey,
) -> Result<()> {
    let sigs = signatures(value)?;
    let sig = sigs
        .get(server_name)
        .and_then(|m| m.get(key_id))
        .ok_or_else(|| Error::MissingSignature(format!("{server_name} {key_id}")))?;
    let sig = b64::decode_array::<64>(sig, "signature")?;
    key.verify_raw(&signing_input(purpose, value)?, &sig)
}

/// Verifies that `value` is signed for `purpose` by `server_name` with a key from `keys` that is
/// usable for an object timestamped `ts` (spec §5.3). Returns the key id that verified.
///
/// Rules: only `ed25519:` key ids are considered; if any of the server's signatures is by a
/// revoked key the object is rejected; otherwise one valid signature by a usable (current, or
/// old with `ts < expired_ts`) key suffices.
///
/// # Errors
/// [`Error::MissingSignature`] (no `ed25519:` signature by the server), [`Error::RevokedKey`],
/// [`Error::UnknownKey`] (no signing key known), [`Error::ExpiredKey`], [`Error::BadSignature`],
/// [`Error::Malformed`].
pub fn verify_signed_by(
    purpose: Purpose,
    value: &Value,
    server_name: &str,
    keys: &impl KeyLookup,
    ts: u64,
) -> Result<String> {
    let sigs = signatures(value)?;
    let mine: Vec<(&String, &String)> = sigs
        .get(server_name)
        .map(|m| {
            m.iter()
                .filter(|(id, _)| id.starts_with("ed25519:"))
                .collect()
        })
        .unwrap_or_default();
    if mine.is_empty() {
        return Err(Error::MissingSignature(server_name.to_owned()));
    }
    let known: Vec<_> = mine
        .iter()
        .filter_map(|(id, sig)| keys.lookup(server_name, id).map(|k| (*id, *sig, k)))
        .collect();
    for (id, _, k) in &known {
        if let KeyState::Revoked { .. } = k.state {
            return Err(Error::RevokedKey {
                server_name: server_name.to_owned(),
                key_id: (*id).clone(),
            });
        }
    }
    if known.is_empty() {
        return Err(Error::UnknownKey {
            server_name: server_name.to_owned(),
            key_id: mine[0].0.clone(),
        });
    }
    let input = signing_input(purpose, value)?;
    let mut err = Error::BadSignature;
    for (id, sig, k) in &known {
        if let Err(e) = k.check_usable(server_name, id, ts) {
            err = e;
            continue;
        }
        let sig = b64::decode_array::<64>(sig, "signature")?;
        match k.key.verify_raw(&input, &sig) {
            Ok(()) => return Ok((*id).clone()),
            Err(e) => err = e,
        }
    }
    Err(err)
}

/// Unpadded standard base64 of SHA-256 of `bytes`.
pub fn sha256_b64(bytes: &[u8]) -> String {
    b64::encode(Sha256::digest(bytes))
}

/// The content hash of an event's content (spec §5.4): unpadded base64 of
/// SHA-256(canonical_json(content)). Content may be any canonical JSON value (normally an
/// object).
///
/// # Errors
/// Canonical JSON errors.
pub fn content_hash(content: &Value) -> Result<String> {
    Ok(sha256_b64(&canonical_json(content)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyState, KeyStore, KnownKey};
    use serde_json::json;

    fn key(id: &str, seed: u8) -> ServerKey {
        ServerKey::from_seed(id, [seed; 32]).unwrap()
    }

    #[test]
    fn contexts_are_distinct_and_nul_free() {
        let mut seen = std::collections::HashSet::new();
        for p in Purpose::ALL {
            assert!(seen.insert(p.context()));
            assert!(p.context().is_ascii() && !p.context().contains('\0'));
            assert!(p.context().starts_with("hearth.") && p.context().ends_with(".v1"));
        }
    }

    #[test]
    fn signing_input_layout() {
        let v = json!({"b": 1, "a": "x", "signatures": {"s": {}}, "unsigned": {"age": 5}});
        let input = signing_input(Purpose::Request, &v).unwrap();
        assert_eq!(input, b"hearth.request.v1\0{\"a\":\"x\",\"b\":1}".to_vec());
        assert!(signing_input(Purpose::Request, &json!([1])).is_err());
    }

    #[test]
    fn sign_verify_round_trip() {
        let k = key("ed25519:k1", 3);
        let mut v = json!({"hello": "world", "n": 5, "unsigned": {"note": "not covered"}});
        sign_json(Purpose::GuildSummary, &mut v, "a.example", &k).unwrap();
        let sig = &v["signatures"]["a.example"]["ed25519:k1"];
        assert_eq!(sig.as_str().unwrap().len(), 86);
        verify_signature(
            Purpose::GuildSummary,
            &v,
            "a.example",
            "ed25519:k1",
            &k.public_key(),
        )
        .unwrap();
        // unsigned may change freely
        v["unsigned"]["note"] = json!("changed");
        verify_signature(
            Purpose::GuildSummary,
            &v,
            "a.example",
            "ed25519:k1",
            &k.public_key(),
        )
        .unwrap();
        // a second signature does not disturb the first
        let k2 = key("ed25519:k2", 4);
        sign_json(Purpose::GuildSummary, &mut v, "b.example", &k2).unwrap();
        verify_signature(
            Purpose::GuildSummary,
            &v,
            "a.example",
            "ed25519:k1",
            &k.public_key(),
        )
        .unwrap();
        verify_signature(
            Purpose::GuildSummary,
            &v,
            "b.example",
            "ed25519:k2",
            &k2.public_key(),
        )
        .unwrap();
    }

    #[test]
    fn wrong_purpose_is_rejected() {
        let k = key("ed25519:k1", 3);
        let mut v = json!({"guild_id": "1", "seq": 1});
        sign_json(Purpose::Event, &mut v, "a.example", &k).unwrap();
        for p in Purpose::ALL {
            let r = verify_signature(p, &v, "a.example", "ed25519:k1", &k.public_key());
            if p == Purpose::Event {
                assert!(r.is_ok());
            } else {
                assert_eq!(r, Err(Error::BadSignature), "{p:?}");
            }
        }
    }

    #[test]
    fn tampering_and_wrong_key_are_rejected() {
        let k = key("ed25519:k1", 3);
        let mut v = json!({"a": 1});
        sign_json(Purpose::Event, &mut v, "a.example", &k).unwrap();
        let mut t = v.clone();
        t["a"] = json!(2);
        assert_eq!(
            verify_signature(
                Purpose::Event,
                &t,
                "a.example",
                "ed25519:k1",
                &k.public_key()
            ),
            Err(Error::BadSignature)
        );
        let other = key("ed25519:k1", 9);
        assert_eq!(
            verify_signature(
                Purpose::Event,
                &v,
                "a.example",
                "ed25519:k1",
                &other.public_key()
            ),
            Err(Error::BadSignature)
        );
        assert!(matches!(
            verify_signature(
                Purpose::Event,
                &v,
                "b.example",
                "ed25519:k1",
                &k.public_key()
            ),
            Err(Error::MissingSignature(_))
        ));
        // padded signature encodings are not accepted
        let mut p = v.clone();
        let s = p["signatures"]["a.example"]["ed25519:k1"]
            .as_str()
            .unwrap()
            .to_owned();
        p["signatures"]["a.example"]["ed25519:k1"] = json!(format!("{s}=="));
        assert!(matches!(
            verify_signature(
                Purpose::Event,
                &p,
                "a.example",
                "ed25519:k1",
                &k.public_key()
            ),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn verify_signed_by_key_states() {
        let k = key("ed25519:k1", 3);
        let mut v = json!({"a": 1});
        sign_json(Purpose::Event, &mut v, "a.example", &k).unwrap();
        let mut store = KeyStore::new();
        assert!(matches!(
            verify_signed_by(Purpose::Event, &v, "a.example", &store.at(0), 0),
            Err(Error::UnknownKey { .. })
        ));
        store.insert_key("a.example", "ed25519:k1", KnownKey::current(k.public_key()));
        assert_eq!(
            verify_signed_by(Purpose::Event, &v, "a.example", &store.at(0), 0).unwrap(),
            "ed25519:k1"
        );
        assert!(matches!(
            verify_signed_by(Purpose::Event, &v, "b.example", &store.at(0), 0),
            Err(Error::MissingSignature(_))
        ));
        let mut old = KeyStore::new();
        old.insert_key(
            "a.example",
            "ed25519:k1",
            KnownKey {
                key: k.public_key(),
                state: KeyState::Old { expired_ts: 100 },
            },
        );
        assert!(verify_signed_by(Purpose::Event, &v, "a.example", &old.at(0), 99).is_ok());
        assert!(matches!(
            verify_signed_by(Purpose::Event, &v, "a.example", &old.at(0), 100),
            Err(Error::ExpiredKey { .. })
        ));
        let mut revoked = KeyStore::new();
        revoked.insert_key(
            "a.example",
            "ed25519:k1",
            KnownKey {
                key: k.public_key(),
                state: KeyState::Revoked { revoked_ts: 5 },
            },
        );
        assert!(matches!(
            verify_signed_by(Purpose::Event, &v, "a.example", &revoked.at(0), 0),
            Err(Error::RevokedKey { .. })
        ));
    }

    #[test]
    fn content_hash_is_order_independent() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":[1,2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "y": [1, 2], "x": 1 }"#).unwrap();
        assert_eq!(content_hash(&a).unwrap(), content_hash(&b).unwrap());
        assert_eq!(
            content_hash(&json!({})).unwrap(),
            // sha256("{}")
            "RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o"
        );
        assert!(content_hash(&json!({"f": 1.5})).is_err());
    }
}
