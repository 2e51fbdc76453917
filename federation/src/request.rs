//! Federation request authentication (spec §7).
//!
//! The sender signs, with [`Purpose::Request`], the object
//!
//! ```json
//! {"method":"PUT","path":"/_hearth/federation/v1/send/t1?x=1","origin":"a.example",
//!  "destination":"b.example","ts":1700000000000,"body_sha256":"<b64 sha256 of raw body>"}
//! ```
//!
//! (`path` is the raw request target, path plus query exactly as sent on the wire;
//! `body_sha256` is unpadded base64 of SHA-256 of the raw body bytes, the hash of the empty
//! string when there is no body) and sends
//!
//! ```text
//! Authorization: X-Hearth origin="a.example",destination="b.example",key="ed25519:abc",ts="1700000000000",sig="<b64>"
//! ```
//!
//! The receiver ([`verify_request`]) checks, in this order: header shape
//! ([`Error::MalformedAuth`]), destination ([`Error::WrongDestination`]), clock skew beyond
//! [`MAX_CLOCK_SKEW_MS`] ([`Error::ClockSkew`]), key ([`Error::UnknownKey`],
//! [`Error::RevokedKey`], [`Error::ExpiredKey`]), signature ([`Error::BadSignature`]) and finally
//! replay ([`Error::Replayed`], via [`ReplayGuard`]).

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::MAX_CLOCK_SKEW_MS;
use crate::b64;
use crate::error::{Error, Result};
use crate::keys::{KeyLookup, ServerKey, validate_key_id};
use crate::names::validate_server_name;
use crate::sign::{Purpose, sha256_b64, signing_input};

/// The HTTP authorization scheme name (matched case-insensitively).
pub const AUTH_SCHEME: &str = "X-Hearth";

/// Longest accepted request target (path + query), in bytes.
pub const MAX_PATH_LEN: usize = 8192;

/// Unpadded base64 SHA-256 of a raw request body (empty body: hash of the empty string).
pub fn body_sha256(body: &[u8]) -> String {
    sha256_b64(body)
}

/// The fields a request signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFields<'a> {
    /// HTTP method, upper case (`GET`, `PUT`, `POST`, ...).
    pub method: &'a str,
    /// Raw request target: path and query exactly as on the wire (`/a%2Fb?x=1`).
    pub path: &'a str,
    /// Sending server name.
    pub origin: &'a str,
    /// Receiving server name.
    pub destination: &'a str,
    /// Sender's clock, ms since the Unix epoch.
    pub ts: u64,
    /// Raw body bytes (empty for none).
    pub body: &'a [u8],
}

impl RequestFields<'_> {
    /// The signed object `{method, path, origin, destination, ts, body_sha256}`.
    pub fn signed_object(&self) -> Value {
        json!({
            "method": self.method,
            "path": self.path,
            "origin": self.origin,
            "destination": self.destination,
            "ts": self.ts,
            "body_sha256": body_sha256(self.body),
        })
    }

    fn validate(&self) -> Result<()> {
        if self.method.is_empty()
            || self.method.len() > 16
            || !self.method.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err(Error::malformed("method must be 1-16 upper-case letters"));
        }
        if !self.path.starts_with('/')
            || self.path.len() > MAX_PATH_LEN
            || !self.path.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::malformed(
                "path must start with '/' and be at most 8192 visible ASCII characters",
            ));
        }
        validate_server_name(self.origin)?;
        validate_server_name(self.destination)?;
        Ok(())
    }
}

/// The parameters of an `Authorization: X-Hearth ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// Sending server.
    pub origin: String,
    /// Receiving server.
    pub destination: String,
    /// Key id of the signing key (`ed25519:...`).
    pub key: String,
    /// Sender's clock, ms since the Unix epoch.
    pub ts: u64,
    /// Unpadded base64 ed25519 signature (86 characters).
    pub sig: String,
}

impl AuthHeader {
    /// Formats the header value:
    /// `X-Hearth origin="..",destination="..",key="..",ts="..",sig=".."` (this order, no spaces).
    pub fn to_header_value(&self) -> String {
        format!(
            "{AUTH_SCHEME} origin=\"{}\",destination=\"{}\",key=\"{}\",ts=\"{}\",sig=\"{}\"",
            self.origin, self.destination, self.key, self.ts, self.sig
        )
    }

    /// Parses a header value (spec §7.2). The scheme is matched case-insensitively; parameters
    /// are `name="value"` separated by commas with optional spaces or tabs around them; names
    /// are lower case; values are quoted and contain no `"` or `\`; unknown parameters are
    /// ignored; a duplicated parameter, a missing one, a bad server name, key id, timestamp
    /// (decimal digits, no leading zero, at most 2^53-1) or signature encoding is an error.
    ///
    /// # Errors
    /// [`Error::MalformedAuth`] saying what is wrong.
    pub fn parse(value: &str) -> Result<AuthHeader> {
        let bad = |m: &str| Error::MalformedAuth(m.to_owned());
        let value = value.trim_matches([' ', '\t']);
        let (scheme, rest) = value
            .split_once([' ', '\t'])
            .ok_or_else(|| bad("expected `X-Hearth <params>`"))?;
        if !scheme.eq_ignore_ascii_case(AUTH_SCHEME) {
            return Err(bad("authorization scheme is not X-Hearth"));
        }
        let (mut origin, mut destination, mut key, mut ts, mut sig) =
            (None, None, None, None, None);
        let mut rest = rest.trim_start_matches([' ', '\t']);
        while !rest.is_empty() {
            let (name, after) = rest
                .split_once('=')
                .ok_or_else(|| bad("parameter without '='"))?;
            let name = name.trim_end_matches([' ', '\t']);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(bad("bad parameter name"));
            }
            let after = after
                .trim_start_matches([' ', '\t'])
                .strip_prefix('"')
                .ok_or_else(|| bad("parameter value must be quoted"))?;
            let (val, after) = after
                .split_once('"')
                .ok_or_else(|| bad("unterminated quoted value"))?;
            if val.contains('\\') {
                return Err(bad("escapes are not allowed in parameter values"));
            }
            let slot = match name {
                "origin" => &mut origin,
                "destination" => &mut destination,
                "key" => &mut key,
                "ts" => &mut ts,
                "sig" => &mut sig,
                _ => &mut None,
            };
            if slot.is_some() {
                return Err(bad("duplicate parameter"));
            }
            *slot = Some(val.to_owned());
            let after = after.trim_start_matches([' ', '\t']);
            rest = match after.strip_prefix(',') {
                Some(r) => r.trim_start_matches([' ', '\t']),
                None if after.is_empty() => after,
                None => return Err(bad("expected ',' between parameters")),
            };
        }
        let missing = |n: &str| Error::MalformedAuth(format!("missing parameter {n}"));
        let origin = origin.ok_or_else(|| missing("origin"))?;
        let destination = destination.ok_or_else(|| missing("destination"))?;
        let key = key.ok_or_else(|| missing("key"))?;
        let ts_text = ts.ok_or_else(|| missing("ts"))?;
        let sig = sig.ok_or_else(|| missing("sig"))?;
        let as_auth = |e: Error| Error::MalformedAuth(e.to_string());
        validate_server_name(&origin).map_err(as_auth)?;
        validate_server_name(&destination).map_err(as_auth)?;
        validate_key_id(&key).map_err(as_auth)?;
        let ts_ok = !ts_text.is_empty()
            && ts_text.len() <= 16
            && ts_text.bytes().all(|b| b.is_ascii_digit())
            && (ts_text == "0" || !ts_text.starts_with('0'));
        let ts = ts_text
            .parse::<u64>()
            .ok()
            .filter(|t| ts_ok && *t <= crate::canonical::MAX_SAFE_INTEGER)
            .ok_or_else(|| bad("ts must be a decimal integer of ms"))?;
        b64::decode_array::<64>(&sig, "sig").map_err(as_auth)?;
        Ok(AuthHeader {
            origin,
            destination,
            key,
            ts,
            sig,
        })
    }
}

/// Signs a request and returns the `Authorization` header value (spec §7.1).
///
/// # Errors
/// [`Error::Malformed`] if a field is invalid (method, path, server names).
pub fn sign_request(key: &ServerKey, fields: &RequestFields<'_>) -> Result<String> {
    fields.validate()?;
    let input = signing_input(Purpose::Request, &fields.signed_object())?;
    Ok(AuthHeader {
        origin: fields.origin.to_owned(),
        destination: fields.destination.to_owned(),
        key: key.key_id().to_owned(),
        ts: fields.ts,
        sig: b64::encode(key.sign_raw(&input)),
    }
    .to_header_value())
}

/// An incoming request as the receiver sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Raw request target (path and query as received, before any decoding).
    pub path: &'a str,
    /// Raw body bytes.
    pub body: &'a [u8],
    /// The `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
}

/// A request that passed [`verify_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The authenticated sending server.
    pub origin: String,
    /// The key id that signed.
    pub key_id: String,
    /// The sender's timestamp (ms).
    pub ts: u64,
}

/// Verifies an incoming federation request addressed to `our_name` at time `now` (ms)
/// (spec §7.3). See the module docs for the order of checks. The replay check runs last, so
/// only correctly signed requests are recorded in `replay`.
///
/// # Errors
/// [`Error::MalformedAuth`], [`Error::WrongDestination`], [`Error::ClockSkew`],
/// [`Error::UnknownKey`], [`Error::RevokedKey`], [`Error::ExpiredKey`],
/// [`Error::BadSignature`], [`Error::Replayed`].
pub fn verify_request(
    req: &Incoming<'_>,
    our_name: &str,
    now: u64,
    keys: &impl KeyLookup,
    replay: &ReplayGuard,
) -> Result<VerifiedRequest> {
    let header = AuthHeader::parse(
        req.authorization
            .ok_or_else(|| Error::MalformedAuth("missing Authorization header".into()))?,
    )?;
    if header.destination != our_name {
        return Err(Error::WrongDestination {
            expected: our_name.to_owned(),
            got: header.destination,
        });
    }
    let skew_ms = now.abs_diff(header.ts);
    if skew_ms > MAX_CLOCK_SKEW_MS {
        return Err(Error::ClockSkew { skew_ms });
    }
    let fields = RequestFields {
        method: req.method,
        path: req.path,
        origin: &header.origin,
        destination: &header.destination,
        ts: header.ts,
        body: req.body,
    };
    fields
        .validate()
        .map_err(|e| Error::MalformedAuth(e.to_string()))?;
    let known = keys
        .lookup(&header.origin, &header.key)
        .ok_or_else(|| Error::UnknownKey {
            server_name: header.origin.clone(),
            key_id: header.key.clone(),
        })?;
    known.check_usable(&header.origin, &header.key, header.ts)?;
    let sig = b64::decode_array::<64>(&header.sig, "sig")?;
    let input = signing_input(Purpose::Request, &fields.signed_object())?;
    known.key.verify_raw(&input, &sig)?;
    replay.check_and_record(&header.origin, &sig, header.ts, now)?;
    Ok(VerifiedRequest {
        origin: header.origin,
        key_id: header.key,
        ts: header.ts,
    })
}

/// Remembers accepted requests for the clock-skew window so a captured request cannot be
/// replayed (spec §7.4). Thread-safe; memory is bounded by `capacity` entries.
///
/// An entry `(origin, signature)` is kept until its request would fail the skew check anyway
/// (`ts + MAX_CLOCK_SKEW_MS < now`). When the guard is full, the entry that expires first is
/// evicted and a *floor* is raised to its expiry: any later request whose expiry is not above
/// the floor is answered [`Error::Replayed`] (it cannot be told apart from an evicted one), so
/// under pressure the guard fails closed for the oldest timestamps instead of forgetting.
/// Senders treat `H_REPLAYED` as retryable with a fresh signature.
#[derive(Debug)]
pub struct ReplayGuard {
    capacity: usize,
    inner: Mutex<ReplayInner>,
}

type ReplayKey = (String, [u8; 64]);

#[derive(Debug, Default)]
struct ReplayInner {
    seen: HashSet<ReplayKey>,
    by_expiry: BTreeSet<(u64, ReplayKey)>,
    floor: u64,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl ReplayGuard {
    /// Default capacity: 100 000 remembered requests (about 25 MB at most), i.e. a sustained
    /// 333 accepted requests per second over the 5-minute window before the floor rises.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A guard remembering at most `capacity` (≥ 1) requests.
    pub fn new(capacity: usize) -> Self {
        ReplayGuard {
            capacity: capacity.max(1),
            inner: Mutex::new(ReplayInner::default()),
        }
    }

    /// Number of requests currently remembered.
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `(origin, sig)` of a request timestamped `ts`, seen at `now` (both ms).
    ///
    /// # Errors
    /// [`Error::Replayed`] if it was already recorded, or is at or below the eviction floor.
    pub fn check_and_record(&self, origin: &str, sig: &[u8; 64], ts: u64, now: u64) -> Result<()> {
        let expiry = ts.saturating_add(MAX_CLOCK_SKEW_MS);
        let mut g = self.lock();
        // Forget what can no longer pass the skew check.
        while let Some(first) = g.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            if let Some((_, key)) = g.by_expiry.pop_first() {
                g.seen.remove(&key);
            }
        }
        if expiry <= g.floor {
            return Err(Error::Replayed);
        }
        let key = (origin.to_owned(), *sig);
        if g.seen.contains(&key) {
            return Err(Error::Replayed);
        }
        while g.seen.len() >= self.capacity {
            let Some((exp, old)) = g.by_expiry.pop_first() else {
                break;
            };
            g.seen.remove(&old);
            g.floor = g.floor.max(exp);
            if expiry <= g.floor {
                return Err(Error::Replayed);
            }
        }
        g.seen.insert(key.clone());
        g.by_expiry.insert((expiry, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyState, KeyStore, KnownKey};

    const NOW: u64 = 1_700_000_000_000;

    fn setup() -> (ServerKey, KeyStore) {
        let k = ServerKey::from_seed("ed25519:a1", [0xa1; 32]).unwrap();
        let mut store = KeyStore::new();
        store.insert_key("a.example", "ed25519:a1", KnownKey::current(k.public_key()));
        (k, store)
    }

    fn fields(ts: u64) -> RequestFields<'static> {
        RequestFields {
            method: "PUT",
            path: "/_hearth/federation/v1/send/t1?x=%2F1",
            origin: "a.example",
            destination: "b.example",
            ts,
            body: br#"{"events":[]}"#,
        }
    }

    fn incoming<'a>(header: &'a str, f: &RequestFields<'a>) -> Incoming<'a> {
        Incoming {
            method: f.method,
            path: f.path,
            body: f.body,
            authorization: Some(header),
        }
    }

    #[test]
    fn good_request_verifies() {
        let (k, store) = setup();
        let f = fields(NOW);
        let h = sign_request(&k, &f).unwrap();
        assert!(h.starts_with("X-Hearth origin=\"a.example\",destination=\"b.example\""));
        let guard = ReplayGuard::default();
        let v = verify_request(
            &incoming(&h, &f),
            "b.example",
            NOW + 1000,
            &store.at(NOW),
            &guard,
        )
        .unwrap();
        assert_eq!(v.origin, "a.example");
        assert_eq!(v.key_id, "ed25519:a1");
        assert_eq!(v.ts, NOW);
    }

    #[test]
    fn wrong_destination() {
        let (k, store) = setup();
        let f = fields(NOW);
        let h = sign_request(&k, &f).unwrap();
        let r = verify_request(
            &incoming(&h, &f),
            "c.example",
            NOW,
            &store.at(NOW),
            &ReplayGuard::default(),
        );
        assert!(matches!(r, Err(Error::WrongDestination { .. })));
        assert_eq!(r.unwrap_err().code(), "H_WRONG_DESTINATION");
    }

    #[test]
    fn clock_skew_both_ways() {
        let (k, store) = setup();
        let guard = ReplayGuard::default();
        for ts in [NOW - MAX_CLOCK_SKEW_MS - 1, NOW + MAX_CLOCK_SKEW_MS + 1] {
            let f = fields(ts);
            let h = sign_request(&k, &f).unwrap();
            let r = verify_request(&incoming(&h, &f), "b.example", NOW, &store.at(NOW), &guard);
            assert_eq!(
                r,
                Err(Error::ClockSkew {
                    skew_ms: MAX_CLOCK_SKEW_MS + 1
                })
            );
        }
        // exactly at the limit is accepted
        let f = fields(NOW - MAX_CLOCK_SKEW_MS);
        let h = sign_request(&k, &f).unwrap();
        assert!(
            verify_request(&incoming(&h, &f), "b.example", NOW, &store.at(NOW), &guard).is_ok()
        );
    }

    #[test]
    fn bad_signature_on_any_changed_field() {
        let (k, store) = setup();
        let guard = ReplayGuard::default();
        let f = fields(NOW);
        let h = sign_request(&k, &f).unwrap();
        let mut changed = vec![
            RequestFields {
                method: "POST",
                ..f.clone()
            },
            RequestFields {
                path: "/_hearth/federation/v1/send/t2?x=%2F1",
                ..f.clone()
            },
            RequestFields {
                path: "/_hearth/federation/v1/send/t1?x=/1",
                ..f.clone()
            },
            RequestFields {
                body: br#"{"events":[1]}"#,
                ..f.clone()
            },
        ];
        changed.push(RequestFields {
            body: b"",
            ..f.clone()
        });
        for g in &changed {
            let r = verify_request(&incoming(&h, g), "b.example", NOW, &store.at(NOW), &guard);
            assert_eq!(r, Err(Error::BadSignature), "{g:?}");
        }
        // a header whose ts was edited
        let edited = h.replace(&format!("ts=\"{NOW}\""), &format!("ts=\"{}\"", NOW + 1));
        let r = verify_request(
            &incoming(&edited, &f),
            "b.example",
            NOW,
            &store.at(NOW),
            &guard,
        );
        assert_eq!(r, Err(Error::BadSignature));
        // signed by another key with the same id
        let other = ServerKey::from_seed("ed25519:a1", [0xee; 32]).unwrap();
        let h2 = sign_request(&other, &f).unwrap();
        let r = verify_request(&incoming(&h2, &f), "b.example", NOW, &store.at(NOW), &guard);
        assert_eq!(r.unwrap_err().code(), "H_BAD_SIGNATURE");
    }

    #[test]
    fn unknown_and_revoked_keys() {
        let (_, store) = setup();
        let guard = ReplayGuard::default();
        let f = fields(NOW);
        let stranger = ServerKey::from_seed("ed25519:zz", [0x33; 32]).unwrap();
        let h = sign_request(&stranger, &f).unwrap();
        let r = verify_request(&incoming(&h, &f), "b.example", NOW, &store.at(NOW), &guard);
        assert!(matches!(r, Err(Error::UnknownKey { .. })));
        assert_eq!(r.unwrap_err().code(), "H_UNKNOWN_KEY");

        let (k, _) = setup();
        let mut revoked = KeyStore::new();
        revoked.insert_key(
            "a.example",
            "ed25519:a1",
            KnownKey {
                key: k.public_key(),
                state: KeyState::Revoked { revoked_ts: 0 },
            },
        );
        let h = sign_request(&k, &f).unwrap();
        let r = verify_request(
            &incoming(&h, &f),
            "b.example",
            NOW,
            &revoked.at(NOW),
            &guard,
        );
        assert!(matches!(r, Err(Error::RevokedKey { .. })));
    }

    #[test]
    fn replay_is_rejected() {
        let (k, store) = setup();
        let guard = ReplayGuard::default();
        let f = fields(NOW);
        let h = sign_request(&k, &f).unwrap();
        let req = incoming(&h, &f);
        verify_request(&req, "b.example", NOW, &store.at(NOW), &guard).unwrap();
        let r = verify_request(&req, "b.example", NOW + 10, &store.at(NOW), &guard);
        assert_eq!(r, Err(Error::Replayed));
        assert_eq!(r.unwrap_err().code(), "H_REPLAYED");
        // once outside the window it fails the skew check instead
        let later = NOW + MAX_CLOCK_SKEW_MS + 1;
        assert!(matches!(
            verify_request(&req, "b.example", later, &store.at(NOW), &guard),
            Err(Error::ClockSkew { .. })
        ));
        // a fresh signature of the same request is fine
        let f2 = fields(NOW + 1);
        let h2 = sign_request(&k, &f2).unwrap();
        assert!(
            verify_request(
                &incoming(&h2, &f2),
                "b.example",
                NOW,
                &store.at(NOW),
                &guard
            )
            .is_ok()
        );
        assert_eq!(guard.len(), 2);
        // requests with bad signatures are not recorded
        let tampered = RequestFields {
            body: b"{}",
            ..f2.clone()
        };
        assert_eq!(
            verify_request(
                &incoming(&h2, &tampered),
                "b.example",
                NOW,
                &store.at(NOW),
                &guard
            ),
            Err(Error::BadSignature)
        );
        assert_eq!(guard.len(), 2);
    }

    #[test]
    fn replay_guard_bounded_and_fails_closed() {
        let g = ReplayGuard::new(3);
        let sig = |n: u8| [n; 64];
        for n in 0..3u8 {
            g.check_and_record("a.example", &sig(n), NOW + u64::from(n), NOW)
                .unwrap();
        }
        assert_eq!(g.len(), 3);
        // full: the entry expiring first (ts NOW) is evicted and becomes the floor
        g.check_and_record("a.example", &sig(9), NOW + 10, NOW)
            .unwrap();
        assert_eq!(g.len(), 3);
        // the evicted one cannot be replayed, nor anything as old
        assert_eq!(
            g.check_and_record("a.example", &sig(0), NOW, NOW),
            Err(Error::Replayed)
        );
        assert_eq!(
            g.check_and_record("b.example", &sig(5), NOW, NOW),
            Err(Error::Replayed)
        );
        // the remembered ones are still rejected
        assert_eq!(
            g.check_and_record("a.example", &sig(1), NOW + 1, NOW),
            Err(Error::Replayed)
        );
        // same signature bytes from another origin are a different request
        g.check_and_record("b.example", &sig(1), NOW + 20, NOW)
            .unwrap();
        // entries expire with time
        let later = NOW + 30 + MAX_CLOCK_SKEW_MS + 1;
        g.check_and_record("a.example", &sig(7), later, later)
            .unwrap();
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn header_parsing() {
        let sig = b64::encode([7u8; 64]);
        let good = format!(
            "x-hearth  origin=\"a.example\" , destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",future=\"1\",sig=\"{sig}\""
        );
        let h = AuthHeader::parse(&good).unwrap();
        assert_eq!(h.origin, "a.example");
        assert_eq!(h.ts, 12);
        assert_eq!(AuthHeader::parse(&h.to_header_value()).unwrap(), h);
        let bad = [
            String::new(),
            "Bearer abc".into(),
            "X-Hearth origin=\"a.example\",destination=\"b.example\",key=\"ed25519:k\",ts=\"12\""
                .to_owned(),
            format!(
                "X-Hearth origin=\"a.example\",origin=\"a.example\",destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=a.example,destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=\"a.example\",destination=\"b.example\",key=\"ed25519:k\",ts=\"012\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=\"a.example\",destination=\"b.example\",key=\"ed25519:k\",ts=\"-1\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=\"a.example\",destination=\"b.example\",key=\"rsa:k\",ts=\"12\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=\"A.example\",destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=\"a.example\",destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",sig=\"{sig}==\""
            ),
            format!(
                "X-Hearth origin=\"a.example\" destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",sig=\"{sig}\""
            ),
            format!(
                "X-Hearth origin=\"a.ex\\\"ample\",destination=\"b.example\",key=\"ed25519:k\",ts=\"12\",sig=\"{sig}\""
            ),
        ];
        for b in &bad {
            assert!(
                matches!(AuthHeader::parse(b), Err(Error::MalformedAuth(_))),
                "{b}"
            );
        }
    }

    #[test]
    fn missing_header_is_malformed() {
        let (_, store) = setup();
        let f = fields(NOW);
        let req = Incoming {
            method: f.method,
            path: f.path,
            body: f.body,
            authorization: None,
        };
        let r = verify_request(
            &req,
            "b.example",
            NOW,
            &store.at(NOW),
            &ReplayGuard::default(),
        );
        assert_eq!(r.unwrap_err().code(), "H_MALFORMED_AUTH");
    }
}
