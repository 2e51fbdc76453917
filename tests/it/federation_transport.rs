//! Federation transport over real TLS and real DNS (a [`TestNetwork`]): key documents,
//! signed requests and every rejection, key rotation and revocation, discovery paths, the
//! address policy and the domain policy.

use std::net::Ipv4Addr;

use hearth::s2s::discovery::Via;
use hearth::s2s::{Discovery, DiscoveryError, FedError, Step};
use hearth_federation::keys::{KeyDocument, KeyLookup, KeyState, ServerKey};
use hearth_federation::request::{RequestFields, sign_request};
use hearth_federation::sign::{Purpose, sign_json, verify_signed_by};
use reqwest::Method;
use serde_json::{Value, json};

use crate::network::TestNetwork;

const A: &str = "a.hearth.test";
const B: &str = "b.hearth.test";
const C: &str = "c.hearth.test";
const PING: &str = "/_hearth/federation/v1/ping";

fn now() -> u64 {
    hearth::s2s::now_ms()
}

/// A request header from `origin` to `destination` signed with `key` at `ts`.
fn header(
    key: &ServerKey,
    origin: &str,
    destination: &str,
    method: &str,
    path: &str,
    body: &[u8],
    ts: u64,
) -> String {
    sign_request(
        key,
        &RequestFields {
            method,
            path,
            origin,
            destination,
            ts,
            body,
        },
    )
    .unwrap()
}

#[track_caller]
fn assert_remote(r: Result<Value, FedError>, status: u16, code: &str) {
    match r {
        Err(FedError::Remote {
            status: s, errcode, ..
        }) => assert_eq!(
            (s, errcode.as_str()),
            (status, code),
            "expected {status} {code}"
        ),
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn key_document_is_served_over_tls_fetched_verified_and_cached() {
    let mut net = TestNetwork::start(&[A, B]).await;
    let (a, b) = (net.server(A), net.server(B));

    // Served by b's TLS listener, self-signed, for b.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&net.ca_pem).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .resolve(B, b.federation_addr.unwrap())
        .build()
        .unwrap();
    let resp = http
        .get(format!("https://{B}:{}/_hearth/key/v1/server", net.port))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "max-age=3600");
    let raw: Value = resp.json().await.unwrap();
    let doc = KeyDocument::verify(&raw, B).unwrap();
    let version: Value = http
        .get(format!(
            "https://{B}:{}/_hearth/federation/v1/version",
            net.port
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["protocols"], json!(["v1"]));
    // Unauthenticated federation call: 401 H_MALFORMED_AUTH, federation error format.
    let r = http
        .get(format!(
            "https://{B}:{}/_hearth/federation/v1/ping",
            net.port
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errcode"], "H_MALFORMED_AUTH");
    assert!(body["error"].is_string());
    let b_key = b.fed.keyring.current();
    assert!(doc.verify_keys.contains_key(b_key.key_id()));
    assert!(doc.valid_until_ts > now() + 23 * 3600 * 1000);

    // a fetches it through discovery and caches it.
    let fetched = a.fed.client.server_keys(B).await.unwrap();
    assert_eq!(fetched.verify_keys, doc.verify_keys);
    let known = a.fed.client.keys().lookup(B, b_key.key_id()).unwrap();
    assert_eq!(known.state, KeyState::Current);
    assert_eq!(known.key, b_key.public_key());
    net.stop(B);
    let cached = net.server(A).fed.client.server_keys(B).await.unwrap();
    assert_eq!(cached.verify_keys, doc.verify_keys);
}

#[tokio::test]
async fn signed_requests_are_accepted_over_srv_and_well_known() {
    let net = TestNetwork::start(&[A, B, C]).await;
    let (a, b, c) = (net.server(A), net.server(B), net.server(C));

    let r = a.fed.request(B, Method::GET, PING, None).await.unwrap();
    assert_eq!(r, json!({"origin": A, "destination": B}));
    let r = b
        .fed
        .request(A, Method::POST, PING, Some(&json!({"hello": 1})))
        .await
        .unwrap();
    assert_eq!(r, json!({"origin": B, "destination": A}));
    // c is reached through its .well-known delegation, and reaches the others.
    let r = a.fed.request(C, Method::GET, PING, None).await.unwrap();
    assert_eq!(r, json!({"origin": A, "destination": C}));
    let r = c.fed.request(B, Method::GET, PING, None).await.unwrap();
    assert_eq!(r, json!({"origin": C, "destination": B}));

    // Identical requests sent at once (same method, path, body, so the same signature if
    // signed in the same millisecond) are all accepted: the client never signs two requests
    // with the same ts, so the receiver's replay guard sees distinct signatures.
    let body = json!({"n": 1});
    let same = futures_util::future::join_all(
        (0..20).map(|_| a.fed.request(B, Method::POST, PING, Some(&body))),
    )
    .await;
    for r in same {
        assert_eq!(r.unwrap(), json!({"origin": A, "destination": B}));
    }

    let d = a.fed.discovery.resolve(B).await.unwrap();
    assert_eq!((d.via, d.host.as_str(), d.port), (Via::Srv, B, net.port));
    assert_eq!(d.addrs, vec![b.federation_addr.unwrap()]);
    let d = a.fed.discovery.resolve(C).await.unwrap();
    assert_eq!(d.via, Via::WellKnown);
    assert_eq!(d.host, format!("fed.{C}"));
    assert_eq!(d.addrs, vec![c.federation_addr.unwrap()]);

    // Unknown federation route: 404 H_NOT_FOUND on the federation listener.
    assert_remote(
        a.fed.request(B, Method::GET, "/_hearth/nope", None).await,
        404,
        "H_NOT_FOUND",
    );
}

#[tokio::test]
async fn forged_tampered_misaddressed_stale_and_replayed_requests_are_rejected() {
    let net = TestNetwork::start(&[A, B]).await;
    let a = net.server(A);
    let client = &a.fed.client;
    let key = a.fed.keyring.current();
    let send =
        |auth: Option<String>, body: &[u8]| client.send(B, Method::POST, PING, body.to_vec(), auth);

    // No header / garbage header.
    assert_remote(send(None, b"").await, 401, "H_MALFORMED_AUTH");
    assert_remote(
        send(Some("Bearer x".into()), b"").await,
        401,
        "H_MALFORMED_AUTH",
    );

    // A key a never published.
    let stranger = ServerKey::generate();
    let h = header(&stranger, A, B, "POST", PING, b"", now());
    assert_remote(send(Some(h), b"").await, 401, "H_UNKNOWN_KEY");

    // A valid header with the signature of another request.
    let good = header(&key, A, B, "POST", PING, b"", now());
    let other = header(&key, A, B, "POST", PING, b"{}", now());
    let sig_of = |h: &str| {
        h.rsplit_once("sig=\"")
            .unwrap()
            .1
            .trim_end_matches('"')
            .to_owned()
    };
    let forged = format!(
        "{}sig=\"{}\"",
        good.rsplit_once("sig=\"").unwrap().0,
        sig_of(&other)
    );
    assert_remote(send(Some(forged), b"").await, 401, "H_BAD_SIGNATURE");

    // Tampered body.
    let h = header(&key, A, B, "POST", PING, br#"{"amount":1}"#, now());
    assert_remote(
        send(Some(h), br#"{"amount":9}"#).await,
        401,
        "H_BAD_SIGNATURE",
    );

    // Addressed to another server.
    let h = header(&key, A, C, "POST", PING, b"", now());
    assert_remote(send(Some(h), b"").await, 421, "H_WRONG_DESTINATION");

    // Timestamp more than 5 minutes away, either side.
    let h = header(&key, A, B, "POST", PING, b"", now() - 6 * 60 * 1000);
    assert_remote(send(Some(h), b"").await, 401, "H_CLOCK_SKEW");
    let h = header(&key, A, B, "POST", PING, b"", now() + 6 * 60 * 1000);
    assert_remote(send(Some(h), b"").await, 401, "H_CLOCK_SKEW");

    // Replay: the first copy passes, the second is refused.
    let h = header(&key, A, B, "POST", PING, b"{}", now());
    assert_eq!(send(Some(h.clone()), b"{}").await.unwrap()["origin"], A);
    assert_remote(send(Some(h), b"{}").await, 401, "H_REPLAYED");

    // A signature made for another purpose (an event signature over the very same object).
    let ts = now();
    let fields = RequestFields {
        method: "POST",
        path: PING,
        origin: A,
        destination: B,
        ts,
        body: b"",
    };
    let mut obj = fields.signed_object();
    sign_json(Purpose::Event, &mut obj, A, &key).unwrap();
    let event_sig = obj["signatures"][A][key.key_id()]
        .as_str()
        .unwrap()
        .to_owned();
    let h = format!(
        "X-Hearth origin=\"{A}\",destination=\"{B}\",key=\"{}\",ts=\"{ts}\",sig=\"{event_sig}\"",
        key.key_id()
    );
    assert_remote(send(Some(h), b"").await, 401, "H_BAD_SIGNATURE");

    // Claiming to be another server with our key.
    let h = header(&key, "c.hearth.test", B, "POST", PING, b"", now());
    let r = send(Some(h), b"").await;
    assert!(
        matches!(&r, Err(FedError::Remote { status: 401, errcode, .. }) if errcode == "H_UNKNOWN_KEY"),
        "{r:?}"
    );
}

/// spec/federation.md §3.5: `hearth keys rotate` runs in its own process beside the running
/// server (here: a second keyring on the same database). The running server signs with the
/// old key until it rereads the keys, and what it signs then still verifies at its peers,
/// because the CLI leaves the old key valid for a grace period; the running server switches
/// to the new key within its reload period.
#[tokio::test]
async fn a_cli_rotation_beside_the_running_server_keeps_what_it_signs_meanwhile_valid() {
    let net = TestNetwork::start(&[A, B]).await;
    let (a, b) = (net.server(A), net.server(B));
    a.fed.request(B, Method::GET, PING, None).await.unwrap();
    let k1 = a.fed.keyring.current();
    let cli = hearth::s2s::Keyring::load(
        A,
        a.hearth.db.clone(),
        a.hearth.config.federation.key_validity_ms,
    )
    .await
    .unwrap();
    let k2 = cli.rotate_beside_running_server().await.unwrap();
    // Signed with the old key after the CLI committed (the running server has not reread).
    let ts = now();
    let mut event = json!({"type": "test", "ts": ts});
    sign_json(Purpose::Event, &mut event, A, &k1).unwrap();
    crate::harness::eventually("the running server signs with the new key", || async {
        a.fed.keyring.current().key_id() == k2.key_id
    })
    .await;
    // b meets the new key, refetches a's document and finds k1 expired in the future.
    let r = a.fed.request(B, Method::GET, PING, None).await.unwrap();
    assert_eq!(r["origin"], A);
    assert!(b.fed.client.keys().lookup(A, &k2.key_id).is_some());
    match b.fed.client.keys().lookup(A, k1.key_id()).map(|k| k.state) {
        Some(KeyState::Old { expired_ts, .. }) => assert!(expired_ts > ts, "{expired_ts} <= {ts}"),
        other => panic!("k1 should be old: {other:?}"),
    }
    assert_eq!(
        verify_signed_by(Purpose::Event, &event, A, &b.fed.client.keys(), ts).unwrap(),
        k1.key_id()
    );
}

#[tokio::test]
async fn key_rotation_keeps_old_signatures_and_revocation_is_final() {
    let net = TestNetwork::start(&[A, B]).await;
    let (a, b) = (net.server(A), net.server(B));
    a.fed.request(B, Method::GET, PING, None).await.unwrap();

    // An event signed by a's first key before the rotation.
    let k1 = a.fed.keyring.current();
    let before = now() - 1_000;
    let mut event = json!({"type": "test", "ts": before});
    sign_json(Purpose::Event, &mut event, A, &k1).unwrap();

    let k2_info = a.fed.rotate_key().await.unwrap();
    let k2 = a.fed.keyring.current();
    assert_eq!(k2.key_id(), k2_info.key_id);
    assert_ne!(k1.key_id(), k2.key_id());
    let doc = a.fed.client.server_keys(A).await.unwrap();
    assert!(doc.verify_keys.contains_key(k2.key_id()));
    assert!(doc.old_verify_keys.contains_key(k1.key_id()));

    // New requests use the new key; b learns it (and k1's expiry) by refetching.
    let r = a.fed.request(B, Method::GET, PING, None).await.unwrap();
    assert_eq!(r["origin"], A);
    let old = b.fed.client.keys().lookup(A, k1.key_id()).unwrap();
    assert!(matches!(old.state, KeyState::Old { .. }), "{old:?}");
    // The old signature still verifies (timestamp before expiry) ...
    assert_eq!(
        verify_signed_by(Purpose::Event, &event, A, &b.fed.client.keys(), before).unwrap(),
        k1.key_id()
    );
    // ... but the old key cannot sign new requests.
    let h = header(&k1, A, B, "GET", PING, b"", now());
    assert_remote(
        a.fed
            .client
            .send(B, Method::GET, PING, Vec::new(), Some(h))
            .await,
        401,
        "H_EXPIRED_KEY",
    );

    // Revoke k2 (the current key): a gets a new key k3; b learns of the revocation when it
    // meets k3, and from then on nothing signed by k2 is accepted, whatever its time.
    a.fed.revoke_key(k2.key_id()).await.unwrap().unwrap();
    let k3 = a.fed.keyring.current();
    assert_ne!(k3.key_id(), k2.key_id());
    a.fed.request(B, Method::GET, PING, None).await.unwrap();
    let h = header(&k2, A, B, "GET", PING, b"", now());
    assert_remote(
        a.fed
            .client
            .send(B, Method::GET, PING, Vec::new(), Some(h))
            .await,
        401,
        "H_REVOKED_KEY",
    );
    let mut ev2 = json!({"type": "test", "ts": before});
    sign_json(Purpose::Event, &mut ev2, A, &k2).unwrap();
    assert!(matches!(
        verify_signed_by(Purpose::Event, &ev2, A, &b.fed.client.keys(), 0),
        Err(hearth_federation::Error::RevokedKey { .. })
    ));
    let doc = a.fed.client.server_keys(A).await.unwrap();
    assert!(doc.revoked_keys.contains_key(k2.key_id()));
    // The key list an operator sees.
    let states: Vec<(String, &str)> = a
        .fed
        .keyring
        .list()
        .iter()
        .map(|k| (k.key_id.clone(), k.state()))
        .collect();
    assert_eq!(
        states,
        vec![
            (k1.key_id().to_owned(), "old"),
            (k2.key_id().to_owned(), "revoked"),
            (k3.key_id().to_owned(), "current"),
        ]
    );
}

#[tokio::test]
async fn domain_policy_applies_both_ways_and_responses_are_capped() {
    const D: &str = "d.hearth.test";
    let net = TestNetwork::start_with(&[A, B, C, D], |name, c| {
        if name == B {
            c.federation.deny_domains = vec![A.into()];
        }
        if name == D {
            c.federation.max_response_bytes = 64;
        }
    })
    .await;
    let (a, b, c, d) = (net.server(A), net.server(B), net.server(C), net.server(D));
    // Inbound: b refuses a.
    assert_remote(
        a.fed.request(B, Method::GET, PING, None).await,
        403,
        "H_DENIED",
    );
    // Outbound: b does not talk to a.
    let r = b.fed.request(A, Method::GET, PING, None).await;
    assert!(matches!(r, Err(FedError::Denied(ref d)) if d == A), "{r:?}");
    // Others are unaffected.
    b.fed.request(C, Method::GET, PING, None).await.unwrap();
    c.fed.request(B, Method::GET, PING, None).await.unwrap();
    // d reads at most 64 bytes of an answer.
    let r = d.fed.client.server_keys(C).await;
    assert!(matches!(r, Err(FedError::TooLarge { limit: 64 })), "{r:?}");
}

#[tokio::test]
async fn discovery_refuses_private_addresses_naming_the_step() {
    let net = TestNetwork::start(&[A]).await;
    net.add_a("lan.hearth.test", Ipv4Addr::new(192, 168, 1, 20))
        .await;
    net.add_a("target.hearth.test", Ipv4Addr::new(10, 1, 2, 3))
        .await;
    net.add_srv("srv.hearth.test", "target.hearth.test", 8449)
        .await;

    let mut cfg = net.federation_config();
    cfg.allow_private_addresses = false;
    let strict = Discovery::new(&cfg.discovery_config(), &[]).unwrap();
    // a.hearth.test: SRV → a.hearth.test → 127.0.0.2.
    let e = strict.resolve(A).await.unwrap_err();
    assert!(
        matches!(&e, DiscoveryError::Refused { step: Step::Srv, addr, .. } if addr.is_loopback()),
        "{e:?}"
    );
    assert_eq!(e.step(), Some(Step::Srv));
    // No SRV, an A record in 192.168/16: refused at the address step.
    let e = strict.resolve("lan.hearth.test").await.unwrap_err();
    assert!(
        matches!(
            &e,
            DiscoveryError::Refused {
                step: Step::Address,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("address step"), "{e}");
    let e = strict.resolve("srv.hearth.test").await.unwrap_err();
    assert!(
        matches!(
            &e,
            DiscoveryError::Refused {
                step: Step::Srv,
                ..
            }
        ),
        "{e:?}"
    );
    // Explicit port: address step.
    let e = strict.resolve("lan.hearth.test:8448").await.unwrap_err();
    assert!(
        matches!(
            &e,
            DiscoveryError::Refused {
                step: Step::Address,
                ..
            }
        ),
        "{e:?}"
    );
    // A name that does not exist at all.
    let e = strict.resolve("missing.hearth.test").await.unwrap_err();
    assert!(matches!(&e, DiscoveryError::Address { .. }), "{e:?}");
    // Not a server name.
    let e = strict.resolve("127.0.0.1").await.unwrap_err();
    assert!(matches!(&e, DiscoveryError::InvalidName { .. }), "{e:?}");

    // With private addresses allowed the same names resolve.
    let lax = Discovery::new(&net.federation_config().discovery_config(), &[]).unwrap();
    let d = lax.resolve("lan.hearth.test").await.unwrap();
    assert_eq!((d.via, d.port), (Via::Default, 8448));
    let d = lax.resolve("srv.hearth.test").await.unwrap();
    assert_eq!(
        (d.via, d.port, d.host.as_str()),
        (Via::Srv, 8449, "srv.hearth.test")
    );
    assert_eq!(d.addrs, vec!["10.1.2.3:8449".parse().unwrap()]);

    // The homeserver's client refuses too when its policy forbids private addresses.
    let mut cfg = net.federation_config();
    cfg.allow_private_addresses = false;
    let srv = crate::harness::TestServer::start_with(|c| {
        c.server_name = "strict.hearth.test".into();
        c.federation = cfg;
    })
    .await;
    let r = srv.fed.request(A, Method::GET, PING, None).await;
    assert!(
        matches!(
            &r,
            Err(FedError::Discovery(DiscoveryError::Refused {
                step: Step::Srv,
                ..
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_broken_delegation_fails_discovery_instead_of_falling_back() {
    // c (the delegated server of the network) publishes an invalid delegation.
    let net = TestNetwork::start_with(&[A, B, C], |name, c| {
        if name == C {
            c.federation.delegate_to = Some("Not A Host!".into());
        }
    })
    .await;
    let a = net.server(A);
    let e = a.fed.discovery.resolve(C).await.unwrap_err();
    assert!(matches!(&e, DiscoveryError::WellKnown { .. }), "{e:?}");
    assert_eq!(e.step(), Some(Step::WellKnown));
    let r = a.fed.request(C, Method::GET, PING, None).await;
    assert!(
        matches!(
            &r,
            Err(FedError::Discovery(DiscoveryError::WellKnown { .. }))
        ),
        "{r:?}"
    );
    // b's .well-known answers 404: no delegation, SRV is used.
    assert_eq!(a.fed.discovery.resolve(B).await.unwrap().via, Via::Srv);
}
