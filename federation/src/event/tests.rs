//! Tests of event envelopes: signing, verification, stubs, hash chains and equivocation.

use super::*;
use crate::keys::{KeyState, KeyStore, KnownKey};
use serde_json::json;

const T: u64 = 1_700_000_000_000;

struct Net {
    a: ServerKey,
    b: ServerKey,
    keys: KeyStore,
}

fn net() -> Net {
    let a = ServerKey::from_seed("ed25519:a1", [0xa1; 32]).unwrap();
    let b = ServerKey::from_seed("ed25519:b1", [0xb1; 32]).unwrap();
    let mut keys = KeyStore::new();
    keys.insert_key("a.example", "ed25519:a1", KnownKey::current(a.public_key()));
    keys.insert_key("b.example", "ed25519:b1", KnownKey::current(b.public_key()));
    Net { a, b, keys }
}

fn action(content: &Value, txn: &str) -> OriginAction {
    OriginAction {
        host: "b.example".into(),
        guild_id: "1001".into(),
        channel_id: Some("2002".into()),
        kind: types::MESSAGE_CREATE.into(),
        sender: "alice@a.example".into(),
        origin: "a.example".into(),
        txn_id: txn.into(),
        origin_ts: T,
        content_hash: content_hash(content).unwrap(),
    }
}

fn host_event(n: &Net, seq: u64, prev: Option<String>, content: Value) -> Value {
    let signed = action(&content, &format!("t{seq}")).sign(&n.a).unwrap();
    HostEvent {
        host: "b.example".into(),
        guild_id: "1001".into(),
        seq,
        prev_hash: prev,
        host_ts: T + 500,
        object_id: None,
        result_hash: None,
        action: signed,
        content: Some(content),
    }
    .sign(&n.b)
    .unwrap()
}

#[test]
fn origin_action_round_trip_and_purpose() {
    let n = net();
    let content = json!({"content": "hello"});
    let a = action(&content, "m1");
    let signed = a.sign(&n.a).unwrap();
    assert_eq!(OriginAction::verify(&signed, &n.keys.at(T)).unwrap(), a);
    // a host-event signature over the same bytes is not an origin signature
    let mut wrong = serde_json::to_value(&a).unwrap();
    sign::sign_json(Purpose::HostEvent, &mut wrong, "a.example", &n.a).unwrap();
    assert_eq!(
        OriginAction::verify(&wrong, &n.keys.at(T)),
        Err(Error::BadSignature)
    );
    // retargeting the action breaks the signature
    for (field, val) in [
        ("guild_id", json!("1002")),
        ("channel_id", json!("2003")),
        ("host", json!("c.example")),
        ("txn_id", json!("m2")),
    ] {
        let mut t = signed.clone();
        t[field] = val;
        assert_eq!(
            OriginAction::verify(&t, &n.keys.at(T)),
            Err(Error::BadSignature),
            "{field}"
        );
    }
}

#[test]
fn sender_must_belong_to_origin() {
    let n = net();
    let mut a = action(&json!({}), "m1");
    a.sender = "carol@c.example".into();
    assert!(matches!(a.sign(&n.a), Err(Error::OriginMismatch(_))));
}

#[test]
fn host_accepts_only_matching_actions() {
    let n = net();
    let content = json!({"content": "hi"});
    let signed = action(&content, "m1").sign(&n.a).unwrap();
    let target = ActionTarget {
        host: "b.example",
        guild_id: "1001",
        channel_id: Some("2002"),
        request_origin: "a.example",
        now: T + 1000,
    };
    let keys = n.keys.at(T);
    accept_action(&signed, &content, &target, &keys).unwrap();
    let relayed = ActionTarget {
        request_origin: "c.example",
        ..target
    };
    assert!(matches!(
        accept_action(&signed, &content, &relayed, &keys),
        Err(Error::OriginMismatch(_))
    ));
    for t in [
        ActionTarget {
            guild_id: "1009",
            ..target
        },
        ActionTarget {
            channel_id: Some("2009"),
            ..target
        },
        ActionTarget {
            host: "c.example",
            ..target
        },
    ] {
        assert!(matches!(
            accept_action(&signed, &content, &t, &keys),
            Err(Error::WrongTarget(_))
        ));
    }
    let late = ActionTarget {
        now: T + crate::MAX_CLOCK_SKEW_MS + 1,
        ..target
    };
    assert!(matches!(
        accept_action(&signed, &content, &late, &keys),
        Err(Error::ClockSkew { .. })
    ));
    assert_eq!(
        accept_action(&signed, &json!({"content": "bye"}), &target, &keys),
        Err(Error::ContentHashMismatch)
    );
    // an action signed in a.example's name by another key
    let impostor = ServerKey::from_seed("ed25519:a1", [0x66; 32]).unwrap();
    let forged = action(&content, "m2").sign(&impostor).unwrap();
    assert_eq!(
        accept_action(&forged, &content, &target, &keys),
        Err(Error::BadSignature)
    );
    // a signature made for another purpose (a request) over the same object
    let mut other = serde_json::to_value(action(&content, "m3")).unwrap();
    sign::sign_json(Purpose::Request, &mut other, "a.example", &n.a).unwrap();
    assert_eq!(
        accept_action(&other, &content, &target, &keys),
        Err(Error::BadSignature)
    );
}

#[test]
fn host_event_round_trip_and_chain() {
    let n = net();
    let keys = n.keys.at(T);
    let e1 = host_event(&n, 1, None, json!({"content": "one"}));
    let v1 = verify_event(&e1, &keys).unwrap();
    assert_eq!(v1.envelope.seq, 1);
    assert_eq!(v1.action.sender, "alice@a.example");
    let e2 = host_event(&n, 2, Some(v1.hash.clone()), json!({"content": "two"}));
    let v2 = verify_event(&e2, &keys).unwrap();
    check_link(&v1, &v2).unwrap();
    assert!(matches!(check_link(&v2, &v1), Err(Error::ChainBreak(_))));
    let e2b = host_event(&n, 2, Some(v2.hash.clone()), json!({"content": "two"}));
    let v2b = verify_event(&e2b, &keys).unwrap();
    assert!(matches!(check_link(&v1, &v2b), Err(Error::ChainBreak(_))));
    // prev_hash rules
    let signed = action(&json!({}), "x").sign(&n.a).unwrap();
    let mut bad = HostEvent {
        host: "b.example".into(),
        guild_id: "1001".into(),
        seq: 2,
        prev_hash: None,
        host_ts: T,
        object_id: None,
        result_hash: None,
        action: signed,
        content: None,
    };
    assert!(bad.sign(&n.b).is_err());
    bad.seq = 1;
    bad.prev_hash = Some(v1.hash.clone());
    assert!(bad.sign(&n.b).is_err());
}

#[test]
fn tampered_events_are_rejected() {
    let n = net();
    let keys = n.keys.at(T);
    let e = host_event(&n, 1, None, json!({"content": "one"}));
    // content substituted: host signature still fine (content is not covered), hash is not
    let mut t = e.clone();
    t["content"] = json!({"content": "evil"});
    assert_eq!(verify_event(&t, &keys), Err(Error::ContentHashMismatch));
    // envelope field changed
    let mut t = e.clone();
    t["host_ts"] = json!(T + 1);
    assert_eq!(verify_event(&t, &keys), Err(Error::BadSignature));
    // origin signature forged (re-signed by the host's key in the origin's name)
    let mut forged = action(&json!({"content": "one"}), "t1");
    forged.sender = "alice@a.example".into();
    let mut fv = serde_json::to_value(&forged).unwrap();
    let impostor_a = ServerKey::from_seed("ed25519:a1", [0xb1; 32]).unwrap();
    sign::sign_json(Purpose::Event, &mut fv, "a.example", &impostor_a).unwrap();
    let ev = HostEvent {
        host: "b.example".into(),
        guild_id: "1001".into(),
        seq: 1,
        prev_hash: None,
        host_ts: T,
        object_id: None,
        result_hash: None,
        action: fv,
        content: Some(json!({"content": "one"})),
    }
    .sign(&n.b)
    .unwrap();
    assert_eq!(verify_event(&ev, &keys), Err(Error::BadSignature));
    // host signature forged by the origin's key
    let mut hv = serde_json::to_value(HostEvent {
        content: None,
        ..serde_json::from_value::<HostEvent>(e.clone()).unwrap()
    })
    .unwrap();
    hv.as_object_mut().unwrap().remove("signatures");
    let impostor_b = ServerKey::from_seed("ed25519:b1", [0xa1; 32]).unwrap();
    sign::sign_json(Purpose::HostEvent, &mut hv, "b.example", &impostor_b).unwrap();
    assert_eq!(verify_event(&hv, &keys), Err(Error::BadSignature));
    // an action of guild 1001 cannot be placed into guild 1009's log
    let inner = e["action"].clone();
    let moved = HostEvent {
        host: "b.example".into(),
        guild_id: "1009".into(),
        seq: 1,
        prev_hash: None,
        host_ts: T,
        object_id: None,
        result_hash: None,
        action: inner,
        content: None,
    };
    assert!(matches!(moved.sign(&n.b), Err(Error::WrongTarget(_))));
    let mut moved_v = e.clone();
    moved_v["guild_id"] = json!("1009");
    moved_v.as_object_mut().unwrap().remove("signatures");
    moved_v.as_object_mut().unwrap().remove("content");
    sign::sign_json(Purpose::HostEvent, &mut moved_v, "b.example", &n.b).unwrap();
    assert!(matches!(
        verify_event(&moved_v, &keys),
        Err(Error::WrongTarget(_))
    ));
}

#[test]
fn stub_still_verifies_and_keeps_hash() {
    let n = net();
    let keys = n.keys.at(T);
    let e = host_event(&n, 1, None, json!({"content": "secret"}));
    let full = verify_event(&e, &keys).unwrap();
    let s = stub(&e, StubReason::Withheld).unwrap();
    assert!(s.get("content").is_none());
    assert_eq!(s["unsigned"]["content_state"], "withheld");
    let vs = verify_event(&s, &keys).unwrap();
    assert!(vs.is_stub());
    assert_eq!(vs.hash, full.hash);
    assert_eq!(event_hash(&s).unwrap(), event_hash(&e).unwrap());
    // backfilling a substituted content into the stub fails the hash check
    let mut filled = s.clone();
    filled["content"] = json!({"content": "not the original"});
    assert_eq!(
        verify_event(&filled, &keys),
        Err(Error::ContentHashMismatch)
    );
    // the original content fits
    let mut filled = s.clone();
    filled["content"] = json!({"content": "secret"});
    assert!(verify_event(&filled, &keys).is_ok());
    assert!(
        vs.action
            .check_content(&json!({"content": "other"}))
            .is_err()
    );
}

#[test]
fn revoked_host_key_rejects_old_events() {
    let n = net();
    let e = host_event(&n, 1, None, json!({}));
    let mut keys = n.keys.clone();
    keys.insert_key(
        "b.example",
        "ed25519:b1",
        KnownKey {
            key: n.b.public_key(),
            state: KeyState::Revoked { revoked_ts: T + 10 },
        },
    );
    assert!(matches!(
        verify_event(&e, &keys.at(T)),
        Err(Error::RevokedKey { .. })
    ));
}

#[test]
fn revoked_origin_key_keeps_the_chain_but_not_the_event() {
    let n = net();
    let e = host_event(&n, 1, None, json!({"content": "x"}));
    let mut keys = n.keys.clone();
    keys.insert_key(
        "a.example",
        "ed25519:a1",
        KnownKey {
            key: n.a.public_key(),
            state: KeyState::Revoked { revoked_ts: T + 10 },
        },
    );
    assert!(matches!(
        verify_event(&e, &keys.at(T)),
        Err(Error::RevokedKey { .. })
    ));
    let (env, hash) = verify_envelope(&e, &keys.at(T)).unwrap();
    assert_eq!(env.seq, 1);
    assert_eq!(hash, event_hash(&e).unwrap());
    // the host signature is still required
    let mut t = e.clone();
    t["seq"] = json!(2);
    t["prev_hash"] = json!(hash);
    assert_eq!(verify_envelope(&t, &keys.at(T)), Err(Error::BadSignature));
}

#[test]
fn equivocation_is_detected() {
    let n = net();
    let keys = n.keys.at(T);
    let a = host_event(&n, 5, Some(sha256_b64(b"x")), json!({"content": "a"}));
    let b = host_event(&n, 5, Some(sha256_b64(b"x")), json!({"content": "b"}));
    let proof = EquivocationProof::detect(&a, &b, &keys).unwrap().unwrap();
    proof.verify(&keys).unwrap();
    assert_eq!(proof.error().code(), "H_EQUIVOCATION");
    assert!(proof.first.get("content").is_none());
    // an event and its stub are the same event
    let s = stub(&a, StubReason::Removed).unwrap();
    assert_eq!(EquivocationProof::detect(&a, &s, &keys).unwrap(), None);
    // different seqs are not comparable
    let c = host_event(&n, 6, Some(sha256_b64(b"x")), json!({"content": "a"}));
    assert!(EquivocationProof::detect(&a, &c, &keys).is_err());
}

fn revoked(key: &ServerKey, revoked_ts: u64) -> KnownKey {
    KnownKey {
        key: key.public_key(),
        state: KeyState::Revoked { revoked_ts },
    }
}

#[test]
fn an_origin_key_revoked_after_the_host_sequenced_the_action_keeps_it_valid() {
    let n = net();
    let e = host_event(&n, 1, None, json!({"content": "x"}));
    // host_ts is T + 500: a revocation after it leaves the event whole ...
    let mut keys = n.keys.clone();
    keys.insert_key("a.example", "ed25519:a1", revoked(&n.a, T + 501));
    let v = verify_event(&e, &keys.at(T)).unwrap();
    assert_eq!(v.action.sender, "alice@a.example");
    // ... one at or before it does not (the host could have known)
    let mut keys = n.keys.clone();
    keys.insert_key("a.example", "ed25519:a1", revoked(&n.a, T + 500));
    assert!(matches!(
        verify_event(&e, &keys.at(T)),
        Err(Error::RevokedKey { .. })
    ));
    // a forged action under the revoked key fails its signature even when vouched for
    let mut keys = n.keys.clone();
    keys.insert_key("a.example", "ed25519:a1", revoked(&n.a, T + 501));
    let mut forged: OriginAction = serde_json::from_value(e["action"].clone()).unwrap();
    forged.txn_id = "other".into();
    let mut fv = serde_json::to_value(&forged).unwrap();
    fv["signatures"] = e["action"]["signatures"].clone();
    let env = HostEvent {
        host: "b.example".into(),
        guild_id: "1001".into(),
        seq: 1,
        prev_hash: None,
        host_ts: T + 500,
        object_id: None,
        result_hash: None,
        action: fv,
        content: Some(json!({"content": "x"})),
    }
    .sign(&n.b)
    .unwrap();
    assert_eq!(verify_event(&env, &keys.at(T)), Err(Error::BadSignature));
}

#[test]
fn a_revoked_host_key_is_replaced_by_resigning_and_vouches_for_its_own_actions() {
    // b hosts and acts itself: the action's origin is the host.
    let b1 = ServerKey::from_seed("ed25519:b1", [0xb1; 32]).unwrap();
    let b2 = ServerKey::from_seed("ed25519:b2", [0xb2; 32]).unwrap();
    let content = json!({"content": "from the host"});
    let mut a = action(&content, "h1");
    a.sender = "bob@b.example".into();
    a.origin = "b.example".into();
    let e = HostEvent {
        host: "b.example".into(),
        guild_id: "1001".into(),
        seq: 1,
        prev_hash: None,
        host_ts: T + 500,
        object_id: None,
        result_hash: None,
        action: a.sign(&b1).unwrap(),
        content: Some(content),
    }
    .sign(&b1)
    .unwrap();
    // b1 revoked before the event: refused as signed, ...
    let mut keys = KeyStore::new();
    keys.insert_key("b.example", "ed25519:b1", revoked(&b1, T));
    keys.insert_key(
        "b.example",
        "ed25519:b2",
        KnownKey::current(b2.public_key()),
    );
    assert!(matches!(
        verify_event(&e, &keys.at(T)),
        Err(Error::RevokedKey { .. })
    ));
    // ... whole once the host re-signs the envelope with its current key
    let re = resign_envelope(&e, &b2).unwrap();
    assert_eq!(host_key_ids(&re), vec!["ed25519:b2".to_owned()]);
    assert_eq!(event_hash(&re).unwrap(), event_hash(&e).unwrap());
    let v = verify_event(&re, &keys.at(T)).unwrap();
    assert_eq!(v.action.sender, "bob@b.example");
    assert_eq!(re["content"], e["content"]);
    // a stub re-signs as well
    let st = resign_envelope(&stub(&e, StubReason::Removed).unwrap(), &b2).unwrap();
    assert!(verify_event(&st, &keys.at(T)).unwrap().is_stub());
    // the thief's envelope under b1 stays refused
    assert!(matches!(
        verify_envelope(&e, &keys.at(T)),
        Err(Error::RevokedKey { .. })
    ));
}
