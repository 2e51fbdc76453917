//! Test vectors of `spec/vectors/*.json` (spec §12).
//!
//! `check_*` tests read each file, recompute every expected value from the inputs in the file
//! (seeds, fields, texts) with this crate and compare exactly, so the spec and the code cannot
//! drift. `regenerate_vectors` (ignored) rewrites the files from the fixed inputs below:
//!
//! ```text
//! cargo test -p hearth-federation regenerate_vectors -- --ignored
//! ```

use std::path::PathBuf;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::b64;
use crate::canonical::{canonical_string, parse_strict};
use crate::event::{self, HostEvent, OriginAction, StubReason};
use crate::keys::{KeyDocument, KeyStore, KnownKey, OldVerifyKey, ServerKey};
use crate::request::{self, Incoming, ReplayGuard, RequestFields};
use crate::sign::{Purpose, content_hash, signing_input};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

fn read(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(name: &str, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(dir().join(name), text).unwrap();
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

/// A fixed seed: SHA-256 of `hearth test vector seed <label>`.
fn fixed_seed(label: &str) -> [u8; 32] {
    Sha256::digest(format!("hearth test vector seed {label}")).into()
}

fn key_json(server: &str, key: &ServerKey) -> Value {
    json!({
        "server_name": server,
        "key_id": key.key_id(),
        "seed": b64::encode(key.seed()),
        "public_key": key.public_key().to_b64(),
        "persisted": key.to_persisted(),
    })
}

fn key_from_json(v: &Value) -> ServerKey {
    let key = ServerKey::from_seed(
        s(&v["key_id"]),
        b64::decode_array::<32>(s(&v["seed"]), "seed").unwrap(),
    )
    .unwrap();
    assert_eq!(key.public_key().to_b64(), s(&v["public_key"]));
    assert_eq!(key.to_persisted(), s(&v["persisted"]));
    let back = ServerKey::from_persisted(s(&v["persisted"])).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    key
}

fn text_of(input: &[u8]) -> String {
    String::from_utf8(input.to_vec()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// canonical_json.json

const CANONICAL_VALID: &[(&str, &str)] = &[
    ("empty object", "{}"),
    ("empty array", " [ ] "),
    ("scalars", r#"[true, false, null, 0, -1, "x"]"#),
    (
        "keys sorted, whitespace removed",
        r#"{ "b": 1, "a": 2, "c": { "z": [], "y": {} } }"#,
    ),
    (
        "keys sorted by code point: upper case before lower case, ASCII before non-ASCII",
        r#"{"b": 1, "B": 2, "a": 3, "_": 4, "é": 5, "~": 6, "1": 7, "": 8}"#,
    ),
    (
        "non-BMP keys sort by code point, not by UTF-16 unit (U+FF61 < U+1F600)",
        "{\"\u{1F600}\": \"smile\", \"\u{FF61}\": \"halfwidth\", \"\u{4E2D}\": \"zhong\"}",
    ),
    (
        "nested objects sorted at every level",
        r#"{"outer": {"b": {"d": 1, "c": 2}, "a": [{"y": 1, "x": 2}]}}"#,
    ),
    (
        "string escapes: quote, backslash, controls; slash and non-ASCII as is",
        r#"{"s": "q\" b\\ n\n t\t r\r f\f b\b nul\u0000 us\u001f del\u007f / \/ é \u00e9 \u2028 😀 \ud83d\ude00"}"#,
    ),
    (
        "integer limits ±(2^53-1)",
        "[9007199254740991, -9007199254740991, 0, 100]",
    ),
];

const CANONICAL_INVALID: &[(&str, &str)] = &[
    ("fraction", "1.5"),
    ("fraction of zero", "1.0"),
    ("exponent", "1e3"),
    ("exponent with an integral value", "1E0"),
    ("negative zero float", "-0.0"),
    ("negative zero without fraction", "-0"),
    ("nested float", r#"{"a": [{"b": 0.1}]}"#),
    ("integer 2^53", "9007199254740992"),
    ("integer -2^53", "-9007199254740992"),
    ("u64 max", "18446744073709551615"),
    ("duplicate key", r#"{"a": 1, "a": 1}"#),
    ("nested duplicate key", r#"{"x": {"b": 1, "a": 2, "b": 3}}"#),
];

fn gen_canonical() -> Value {
    let mut valid = Vec::new();
    for (name, text) in CANONICAL_VALID {
        let v = parse_strict(text.as_bytes()).unwrap();
        match canonical_string(&v) {
            Ok(c) => valid.push(json!({
                "name": name,
                "input_text": text,
                "canonical": c,
                "sha256": content_hash(&v).unwrap(),
            })),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    let invalid: Vec<Value> = CANONICAL_INVALID
        .iter()
        .map(|(name, text)| {
            let err = parse_strict(text.as_bytes()).unwrap_err();
            json!({"name": name, "input_text": text, "error": err.code()})
        })
        .collect();
    json!({
        "description": "Canonical JSON (spec/federation.md §4). Parse input_text as JSON (strictly, §4.3), encode it canonically: the UTF-8 bytes must equal `canonical`, and `sha256` is the unpadded standard base64 SHA-256 of those bytes (the content hash of §5.4). Every `invalid` input must be refused, when parsing or encoding, with the given error code.",
        "valid": valid,
        "invalid": invalid,
    })
}

#[test]
fn check_canonical_json() {
    let file = read("canonical_json.json");
    let valid = file["valid"].as_array().unwrap();
    assert!(valid.len() >= CANONICAL_VALID.len());
    for case in valid {
        let v = parse_strict(s(&case["input_text"]).as_bytes()).unwrap();
        assert_eq!(
            canonical_string(&v).unwrap(),
            s(&case["canonical"]),
            "{}",
            case["name"]
        );
        assert_eq!(
            content_hash(&v).unwrap(),
            s(&case["sha256"]),
            "{}",
            case["name"]
        );
        // canonical output is a fixed point
        let again = parse_strict(s(&case["canonical"]).as_bytes()).unwrap();
        assert_eq!(canonical_string(&again).unwrap(), s(&case["canonical"]));
    }
    let invalid = file["invalid"].as_array().unwrap();
    assert!(invalid.len() >= CANONICAL_INVALID.len());
    for case in invalid {
        let err = parse_strict(s(&case["input_text"]).as_bytes()).unwrap_err();
        assert_eq!(err.code(), s(&case["error"]), "{}", case["name"]);
    }
}

// ---------------------------------------------------------------------------------------------
// signed_event.json

const EVENT_T0: u64 = 1_700_000_000_000;

struct EventSpec {
    kind: &'static str,
    channel_id: Option<&'static str>,
    sender: &'static str,
    txn_id: &'static str,
    origin_ts: u64,
    host_ts: u64,
    object_id: Option<&'static str>,
    content: Value,
}

fn event_specs() -> Vec<EventSpec> {
    vec![
        EventSpec {
            kind: event::types::MEMBER_JOIN,
            channel_id: None,
            sender: "alice@a.example",
            txn_id: "join-1",
            origin_ts: EVENT_T0,
            host_ts: EVENT_T0 + 120,
            object_id: None,
            content: json!({"invite_code": "hearth"}),
        },
        EventSpec {
            kind: event::types::MESSAGE_CREATE,
            channel_id: Some("1234567890123456789"),
            sender: "alice@a.example",
            txn_id: "msg-1",
            origin_ts: EVENT_T0 + 60_000,
            host_ts: EVENT_T0 + 60_250,
            object_id: Some("1200000000000000042"),
            content: json!({
                "content": "Grüße aus a.example 👋 \"quoted\"\n",
                "nonce": "42",
                "tts": false,
                "embeds": [],
            }),
        },
    ]
}

fn gen_signed_event() -> Value {
    let a = ServerKey::from_seed("ed25519:a1", fixed_seed("a.example")).unwrap();
    let b = ServerKey::from_seed("ed25519:b1", fixed_seed("b.example")).unwrap();
    let mut prev: Option<String> = None;
    let mut events = Vec::new();
    for (i, spec) in event_specs().into_iter().enumerate() {
        let action = OriginAction {
            host: "b.example".into(),
            guild_id: "1100000000000000001".into(),
            channel_id: spec.channel_id.map(str::to_owned),
            kind: spec.kind.into(),
            sender: spec.sender.into(),
            origin: "a.example".into(),
            txn_id: spec.txn_id.into(),
            origin_ts: spec.origin_ts,
            content_hash: content_hash(&spec.content).unwrap(),
        };
        let action_json = serde_json::to_value(&action).unwrap();
        let signed_action = action.sign(&a).unwrap();
        let host_event = HostEvent {
            host: "b.example".into(),
            guild_id: "1100000000000000001".into(),
            seq: i as u64 + 1,
            prev_hash: prev.clone(),
            host_ts: spec.host_ts,
            object_id: spec.object_id.map(str::to_owned),
            action: signed_action.clone(),
            content: Some(spec.content.clone()),
            result_hash: None,
        };
        let signed_event = host_event.sign(&b).unwrap();
        let mut envelope = serde_json::to_value(&host_event).unwrap();
        let env = envelope.as_object_mut().unwrap();
        env.remove("action");
        env.remove("content");
        let mut host_signed_part = signed_event.clone();
        host_signed_part.as_object_mut().unwrap().remove("content");
        let hash = event::event_hash(&signed_event).unwrap();
        events.push(json!({
            "content": spec.content,
            "content_hash": action.content_hash,
            "origin_action": action_json,
            "origin_signing_input": text_of(&signing_input(Purpose::Event, &signed_action).unwrap()),
            "signed_action": signed_action,
            "envelope": envelope,
            "host_signing_input": text_of(&signing_input(Purpose::HostEvent, &host_signed_part).unwrap()),
            "signed_event": signed_event,
            "event_hash": hash,
            "stub": event::stub(&signed_event, StubReason::Withheld).unwrap(),
        }));
        prev = Some(hash);
    }
    json!({
        "description": "Two consecutive events of guild 1100000000000000001 hosted on b.example, by alice@a.example (spec/federation.md §6). For each event: content_hash = b64(SHA-256(canonical(content))); origin_signing_input = \"hearth.event.v1\" 0x00 canonical(origin_action); signed_action = origin_action + signatures by a.example; the host event is envelope + {action: signed_action, content}; host_signing_input = \"hearth.host-event.v1\" 0x00 canonical(event without content, signatures, unsigned); event_hash = b64(SHA-256(canonical(event without content, signatures, unsigned))) is the next event's prev_hash; stub is the event without content and with unsigned.content_state, and still verifies. Seeds are SHA-256(\"hearth test vector seed <server_name>\"); signatures are deterministic ed25519 (RFC 8032).",
        "keys": [key_json("a.example", &a), key_json("b.example", &b)],
        "events": events,
    })
}

#[test]
fn check_signed_event() {
    let file = read("signed_event.json");
    let keys: Vec<ServerKey> = file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(key_from_json)
        .collect();
    let mut store = KeyStore::new();
    for (k, kj) in keys.iter().zip(file["keys"].as_array().unwrap()) {
        store.insert_key(
            s(&kj["server_name"]),
            k.key_id(),
            KnownKey::current(k.public_key()),
        );
    }
    let key_of = |server: &str| {
        let i = file["keys"]
            .as_array()
            .unwrap()
            .iter()
            .position(|k| k["server_name"] == server)
            .unwrap();
        &keys[i]
    };
    let events = file["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let mut prev: Option<event::VerifiedEvent> = None;
    for e in events {
        let content = &e["content"];
        assert_eq!(content_hash(content).unwrap(), s(&e["content_hash"]));
        let action: OriginAction = serde_json::from_value(e["origin_action"].clone()).unwrap();
        assert_eq!(action.content_hash, s(&e["content_hash"]));
        let signed_action = action.sign(key_of(&action.origin)).unwrap();
        assert_eq!(signed_action, e["signed_action"]);
        assert_eq!(
            text_of(&signing_input(Purpose::Event, &signed_action).unwrap()),
            s(&e["origin_signing_input"])
        );
        let env = &e["envelope"];
        let host_event = HostEvent {
            host: s(&env["host"]).into(),
            guild_id: s(&env["guild_id"]).into(),
            seq: u(&env["seq"]),
            prev_hash: env.get("prev_hash").map(|h| s(h).to_owned()),
            host_ts: u(&env["host_ts"]),
            object_id: env.get("object_id").map(|h| s(h).to_owned()),
            action: signed_action,
            content: Some(content.clone()),
            result_hash: None,
        };
        let signed_event = host_event.sign(key_of(&host_event.host)).unwrap();
        assert_eq!(signed_event, e["signed_event"]);
        let mut part = signed_event.clone();
        part.as_object_mut().unwrap().remove("content");
        assert_eq!(
            text_of(&signing_input(Purpose::HostEvent, &part).unwrap()),
            s(&e["host_signing_input"])
        );
        assert_eq!(
            event::event_hash(&signed_event).unwrap(),
            s(&e["event_hash"])
        );
        let stub = event::stub(&signed_event, StubReason::Withheld).unwrap();
        assert_eq!(stub, e["stub"]);
        let keys_now = store.at(0);
        let verified = event::verify_event(&e["signed_event"], &keys_now).unwrap();
        let verified_stub = event::verify_event(&e["stub"], &keys_now).unwrap();
        assert_eq!(verified.hash, verified_stub.hash);
        if let Some(p) = &prev {
            event::check_link(p, &verified).unwrap();
        } else {
            assert_eq!(verified.envelope.seq, 1);
        }
        prev = Some(verified);
    }
}

// ---------------------------------------------------------------------------------------------
// signed_request.json

fn request_specs() -> Vec<(&'static str, &'static str, &'static [u8], u64)> {
    vec![
        (
            "PUT",
            "/_hearth/federation/v1/send/txn-0001",
            br#"{"events":[],"edus":[]}"#,
            1_700_000_000_000,
        ),
        (
            "GET",
            "/_hearth/federation/v1/guilds/1100000000000000001/events?from=1&limit=100",
            b"",
            1_700_000_060_000,
        ),
        (
            "GET",
            "/_hearth/federation/v1/users/b%C3%A9atrice%40a.example/profile",
            b"",
            1_700_000_120_000,
        ),
    ]
}

fn gen_signed_request() -> Value {
    let a = ServerKey::from_seed("ed25519:a1", fixed_seed("a.example")).unwrap();
    let requests: Vec<Value> = request_specs()
        .into_iter()
        .map(|(method, path, body, ts)| {
            let f = RequestFields {
                method,
                path,
                origin: "a.example",
                destination: "b.example",
                ts,
                body,
            };
            json!({
                "method": method,
                "path": path,
                "origin": f.origin,
                "destination": f.destination,
                "ts": ts,
                "body": text_of(body),
                "signed_object": f.signed_object(),
                "signing_input": text_of(&signing_input(Purpose::Request, &f.signed_object()).unwrap()),
                "authorization": request::sign_request(&a, &f).unwrap(),
            })
        })
        .collect();
    json!({
        "description": "Signed federation requests from a.example to b.example (spec/federation.md §7). `body` is the raw body as UTF-8 text (empty: no body); signed_object = {method, path, origin, destination, ts, body_sha256 = b64(SHA-256(raw body))}; signing_input = \"hearth.request.v1\" 0x00 canonical(signed_object); `authorization` is the exact Authorization header value. The key's seed is SHA-256(\"hearth test vector seed a.example\").",
        "key": key_json("a.example", &a),
        "requests": requests,
    })
}

#[test]
fn check_signed_request() {
    let file = read("signed_request.json");
    let key = key_from_json(&file["key"]);
    let mut store = KeyStore::new();
    store.insert_key(
        s(&file["key"]["server_name"]),
        key.key_id(),
        KnownKey::current(key.public_key()),
    );
    let reqs = file["requests"].as_array().unwrap();
    assert!(reqs.len() >= 2);
    for r in reqs {
        let f = RequestFields {
            method: s(&r["method"]),
            path: s(&r["path"]),
            origin: s(&r["origin"]),
            destination: s(&r["destination"]),
            ts: u(&r["ts"]),
            body: s(&r["body"]).as_bytes(),
        };
        assert_eq!(f.signed_object(), r["signed_object"]);
        assert_eq!(
            text_of(&signing_input(Purpose::Request, &f.signed_object()).unwrap()),
            s(&r["signing_input"])
        );
        let header = request::sign_request(&key, &f).unwrap();
        assert_eq!(header, s(&r["authorization"]));
        let ok = request::verify_request(
            &Incoming {
                method: f.method,
                path: f.path,
                body: f.body,
                authorization: Some(&header),
            },
            f.destination,
            f.ts,
            &store.at(f.ts),
            &ReplayGuard::default(),
        )
        .unwrap();
        assert_eq!(ok.origin, f.origin);
    }
}

// ---------------------------------------------------------------------------------------------
// key_document.json

fn gen_key_document() -> Value {
    let current = ServerKey::from_seed("ed25519:b2", fixed_seed("b.example rotated")).unwrap();
    let old = ServerKey::from_seed("ed25519:b1", fixed_seed("b.example")).unwrap();
    let revoked = ServerKey::from_seed("ed25519:b0", fixed_seed("b.example revoked")).unwrap();
    let mut doc = KeyDocument::new("b.example", &[&current], 1_700_086_400_000);
    doc.old_verify_keys.insert(
        old.key_id().into(),
        OldVerifyKey {
            key: old.public_key().to_b64(),
            expired_ts: 1_700_000_000_000,
        },
    );
    doc.old_verify_keys.insert(
        revoked.key_id().into(),
        OldVerifyKey {
            key: revoked.public_key().to_b64(),
            expired_ts: 1_690_000_000_000,
        },
    );
    doc.revoke(revoked.key_id(), 1_695_000_000_000).unwrap();
    let unsigned = serde_json::to_value(&doc).unwrap();
    let signed = doc.sign(&[&current]).unwrap();
    json!({
        "description": "The key document of b.example after one rotation (b1 -> b2) and one revocation (b0) (spec/federation.md §3). signing_input = \"hearth.key-document.v1\" 0x00 canonical(document without signatures); `signed` is what GET /_hearth/key/v1/server returns. Seeds are SHA-256(\"hearth test vector seed <label>\").",
        "keys": [
            key_json("b.example", &current),
            key_json("b.example", &old),
            key_json("b.example", &revoked),
        ],
        "document": unsigned,
        "signing_input": text_of(&signing_input(Purpose::KeyDocument, &unsigned).unwrap()),
        "signed": signed,
    })
}

#[test]
fn check_key_document() {
    let file = read("key_document.json");
    let keys: Vec<ServerKey> = file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(key_from_json)
        .collect();
    let doc: KeyDocument = serde_json::from_value(file["document"].clone()).unwrap();
    assert_eq!(
        text_of(&signing_input(Purpose::KeyDocument, &file["document"]).unwrap()),
        s(&file["signing_input"])
    );
    let signers: Vec<&ServerKey> = keys
        .iter()
        .filter(|k| doc.verify_keys.contains_key(k.key_id()))
        .collect();
    assert_eq!(doc.sign(&signers).unwrap(), file["signed"]);
    assert_eq!(
        KeyDocument::verify(&file["signed"], "b.example").unwrap(),
        doc
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn generators_match_files() {
    // The files are exactly what the generators produce (so regenerating is a no-op).
    assert_eq!(read("canonical_json.json"), gen_canonical());
    assert_eq!(read("signed_event.json"), gen_signed_event());
    assert_eq!(read("signed_request.json"), gen_signed_request());
    assert_eq!(read("key_document.json"), gen_key_document());
}

#[test]
#[ignore = "rewrites spec/vectors/*.json; run explicitly"]
fn regenerate_vectors() {
    std::fs::create_dir_all(dir()).unwrap();
    write("canonical_json.json", &gen_canonical());
    write("signed_event.json", &gen_signed_event());
    write("signed_request.json", &gen_signed_request());
    write("key_document.json", &gen_key_document());
}
