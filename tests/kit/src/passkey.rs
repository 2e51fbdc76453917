//! A software passkey for tests: a real ES256 (P-256, SHA-256) authenticator that answers the
//! server's WebAuthn options the way a browser and a platform authenticator do, so the
//! server's webauthn-rs verification runs on genuine signatures.
//!
//! webauthn-rs's own `webauthn-authenticator-rs` (`SoftPasskey`) needs OpenSSL, which this
//! project does not build with; this one uses RustCrypto's `p256`. It makes attestation
//! "none" registrations (attested credential data with a COSE EC2 key, CBOR by hand) and
//! assertions (authenticator data, `clientDataJSON`, a DER signature over
//! `authData || SHA-256(clientDataJSON)`), with user presence and user verification set.
//! Its fields can be changed to play an attacker: another origin or RP id, a counter that
//! goes back (clone it with `Clone`), no user verification.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A software authenticator holding one discoverable credential.
#[derive(Clone)]
pub struct SoftPasskey {
    key: SigningKey,
    /// The credential id (16 random bytes).
    pub cred_id: Vec<u8>,
    /// The origin the "browser" reports in `clientDataJSON`.
    pub origin: String,
    /// The RP id hashed into authenticator data; `None`: the options' `rpId` / `rp.id`.
    pub rp_id: Option<String>,
    /// The sign counter; each assertion adds one before signing.
    pub counter: u32,
    /// Set the user-verified flag (a PIN or biometric was checked).
    pub user_verified: bool,
    /// The user handle stored at registration (a discoverable credential returns it).
    pub user_handle: Option<Vec<u8>>,
    /// The RP id it was registered for.
    registered_rp: Option<String>,
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url in options")
}

/// A CBOR byte string header + bytes.
fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    match b.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend_from_slice(&[0x58, n as u8]),
        n => {
            out.push(0x59);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(b);
}

/// A CBOR text string (short) header + text.
fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    out.push(0x60 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// The options object of a `{"publicKey": {...}}` JSON string.
fn public_key(options: &str) -> Value {
    let v: Value = serde_json::from_str(options).expect("options are JSON");
    v.get("publicKey").cloned().unwrap_or(v)
}

impl SoftPasskey {
    /// A new authenticator with a fresh key, reporting `origin` (e.g. `https://chat.example`).
    pub fn new(origin: &str) -> SoftPasskey {
        let key = loop {
            if let Ok(k) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        SoftPasskey {
            key,
            cred_id: rand::random::<[u8; 16]>().to_vec(),
            origin: origin.to_owned(),
            rp_id: None,
            counter: 0,
            user_verified: true,
            user_handle: None,
            registered_rp: None,
        }
    }

    /// The credential id as the server lists it (base64url).
    pub fn id(&self) -> String {
        b64(&self.cred_id)
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut f = 0x01; // user present
        if self.user_verified {
            f |= 0x04;
        }
        if attested {
            f |= 0x40;
        }
        f
    }

    /// The COSE_Key of the public key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, point.x().expect("x"));
        out.push(0x22);
        cbor_bytes(&mut out, point.y().expect("y"));
        out
    }

    /// Answers creation options (the `challenge` JSON string of
    /// `POST /users/@me/mfa/webauthn/credentials`) with a `RegisterPublicKeyCredential`
    /// JSON object, attestation "none". Keeps the user handle (discoverable credential).
    pub fn register(&mut self, options: &str) -> Value {
        let pk = public_key(options);
        let rp = self
            .rp_id
            .clone()
            .or_else(|| pk["rp"]["id"].as_str().map(str::to_owned))
            .expect("rp.id");
        self.user_handle = Some(unb64(pk["user"]["id"].as_str().expect("user.id")));
        self.registered_rp = Some(rp.clone());
        let client_data = self.client_data(
            "webauthn.create",
            pk["challenge"].as_str().expect("challenge"),
        );
        let mut auth = Sha256::digest(rp.as_bytes()).to_vec();
        auth.push(self.flags(true));
        auth.extend_from_slice(&self.counter.to_be_bytes());
        auth.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth.extend_from_slice(&(self.cred_id.len() as u16).to_be_bytes());
        auth.extend_from_slice(&self.cred_id);
        auth.extend_from_slice(&self.cose_key());
        let mut att = vec![0xa3];
        cbor_text(&mut att, "fmt");
        cbor_text(&mut att, "none");
        cbor_text(&mut att, "attStmt");
        att.push(0xa0);
        cbor_text(&mut att, "authData");
        cbor_bytes(&mut att, &auth);
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&att),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// Answers request options (`webauthn` of the login answer, `challenge` of
    /// `POST /auth/passkey/start`, or of a 401 60003 answer) with a `PublicKeyCredential`
    /// JSON object: the counter moves up by one and the assertion is signed.
    pub fn assert(&mut self, options: &str) -> Value {
        let pk = public_key(options);
        let rp = self
            .rp_id
            .clone()
            .or_else(|| pk["rpId"].as_str().map(str::to_owned))
            .or_else(|| self.registered_rp.clone())
            .expect("rpId");
        let client_data =
            self.client_data("webauthn.get", pk["challenge"].as_str().expect("challenge"));
        self.counter += 1;
        let mut auth = Sha256::digest(rp.as_bytes()).to_vec();
        auth.push(self.flags(false));
        auth.extend_from_slice(&self.counter.to_be_bytes());
        let mut signed = auth.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let sig: Signature = self.key.sign(&signed);
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth),
                "clientDataJSON": b64(&client_data),
                "signature": b64(sig.to_der().as_bytes()),
                "userHandle": self.user_handle.as_deref().map(b64),
            },
            "clientExtensionResults": {},
        })
    }
}

/// The same assertion with one bit of its signature flipped.
pub fn corrupt_signature(assertion: &Value) -> Value {
    let mut a = assertion.clone();
    let mut sig = unb64(a["response"]["signature"].as_str().expect("signature"));
    let last = sig.len() - 1;
    sig[last] ^= 0x01;
    a["response"]["signature"] = json!(b64(&sig));
    a
}
