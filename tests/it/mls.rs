//! End-to-end-encrypted DMs (issue 6, spec/mls.md) in the three-server `TestNetwork` (TLS,
//! local DNS) with the real client SDK (`hearth-client`) and openmls on both sides.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hearth_client::{
    Client, ClientError, Config, DiscoveryConfig, HttpsKeySource, KeySource, Received,
};
use hearth_federation::b64;
use hearth_federation::sign::{Purpose, sign_json};
use serde_json::{Value, json};

use crate::harness::{Backend, assert_err, eventually, password_of};
use crate::network::TestNetwork;

const A: &str = "a.hearth.test";
const B: &str = "b.hearth.test";
const C: &str = "c.hearth.test";

/// The SDK's own key source, finding domains through the network's DNS server (SRV for a and
/// b, `.well-known` delegation for c) and trusting its CA; `allow_private` as the SDK option
/// (every test server listens on a loopback address).
fn key_source(net: &TestNetwork, allow_private: bool) -> HttpsKeySource {
    let fed = net.federation_config();
    let roots = hearth::s2s::tls::load_roots(&fed.extra_ca_certs).unwrap();
    let cfg = DiscoveryConfig {
        allow_private_addresses: allow_private,
        ..fed.discovery_config()
    };
    HttpsKeySource::with_config(&cfg, HashMap::new(), roots).unwrap()
}

struct World {
    net: TestNetwork,
    keys: Arc<dyn KeySource>,
    dir: PathBuf,
}

impl World {
    async fn start() -> World {
        let net = TestNetwork::start(&[A, B, C]).await;
        let keys = Arc::new(key_source(&net, true));
        let dir = std::env::temp_dir().join(format!("hearth_mls_{:08x}", rand::random::<u32>()));
        World { net, keys, dir }
    }

    fn cfg(&self, server: &str, who: &str) -> Config {
        Config {
            base_url: format!("http://{}", self.net.server(server).addr),
            server_name: server.to_owned(),
            state_dir: self.dir.join(who),
            keys: self.keys.clone(),
        }
    }

    async fn user(&self, server: &str, name: &str) -> Client {
        let mut c = Client::register(self.cfg(server, name), name, &password_of(name))
            .await
            .unwrap();
        c.connect_gateway().await.unwrap();
        c
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Syncs (woken by gateway pushes) until `n` messages arrived; bounded.
async fn recv(c: &mut Client, n: usize) -> Vec<Received> {
    let what = format!("{} receives {n} messages", c.user());
    let mut got = Vec::new();
    eventually(&what, async || {
        if got.len() < n {
            got.extend(c.wait(Duration::from_millis(500)).await.unwrap());
        }
        got.len() >= n
    })
    .await;
    got
}

/// Syncs until `c` is at `epoch` in `group` (commits are delivered asynchronously); bounded.
async fn reach_epoch(c: &mut Client, group: &str, epoch: u64) -> Vec<Received> {
    let what = format!("{} reaches epoch {epoch}", c.user());
    let mut got = Vec::new();
    eventually(&what, async || {
        got.extend(c.wait(Duration::from_millis(300)).await.unwrap());
        c.groups().iter().any(|g| g == group) && c.epoch(group).unwrap() >= epoch
    })
    .await;
    got
}

fn texts(v: &[Received]) -> Vec<(String, String)> {
    v.iter()
        .map(|m| (m.sender.clone(), m.text.clone()))
        .collect()
}

async fn api(
    c: &Client,
    w: &World,
    server: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> crate::harness::Resp {
    w.net
        .server(server)
        .client(c.token())
        .send(method, path, body)
        .await
}

/// Every byte the server stores: SQLite files (all of the data folder) or, on PostgreSQL,
/// every MLS column (base64-decoded).
async fn scan_for(w: &World, server: &str, secrets: &[&str]) {
    let s = w.net.server(server);
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    if s.backend == Backend::Sqlite {
        for e in std::fs::read_dir(&s.data_dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                blobs.push(std::fs::read(p).unwrap());
            }
        }
    }
    for t in s.hearth.db.mls_all_blobs().await.unwrap() {
        blobs.push(t.clone().into_bytes());
        if let Ok(b) = b64::decode(&t, "blob") {
            blobs.push(b);
        }
    }
    for secret in secrets {
        for b in &blobs {
            assert!(
                !b.windows(secret.len()).any(|x| x == secret.as_bytes()),
                "{server} stores the plaintext {secret:?}"
            );
        }
    }
}

#[tokio::test]
async fn encrypted_dms_across_three_servers() {
    let w = World::start().await;
    let mut alice = w.user(A, "alice").await;
    let mut bob = w.user(B, "bob").await;
    let mut carol = w.user(C, "carol").await;
    assert_eq!(alice.user(), "alice@a.hearth.test");

    // alice@a and bob@b: a DM, messages both ways.
    let dm = alice.start_dm(&["bob@b.hearth.test"]).await.unwrap();
    alice.send(&dm, "hello bob, secret one").await.unwrap();
    let got = recv(&mut bob, 1).await;
    assert_eq!(
        texts(&got),
        [("alice@a.hearth.test".into(), "hello bob, secret one".into())]
    );
    bob.send(&dm, "hi alice, secret two").await.unwrap();
    let got = recv(&mut alice, 1).await;
    assert_eq!(
        texts(&got),
        [("bob@b.hearth.test".into(), "hi alice, secret two".into())]
    );
    assert_eq!(
        alice.epoch_authenticator(&dm).unwrap(),
        bob.epoch_authenticator(&dm).unwrap()
    );
    // Both pinned the other's domain key, fetched from that domain.
    assert_eq!(alice.pins(B).len(), 1);
    assert_eq!(bob.pins(A).len(), 1);

    // A second device of bob's joins (added by his first device) and reads new messages.
    let mut bob2 = Client::login(w.cfg(B, "bob2"), "bob", &password_of("bob"))
        .await
        .unwrap();
    bob2.connect_gateway().await.unwrap();
    assert_eq!(bob.add_own_devices(&dm).await.unwrap(), 1);
    let epoch = bob.epoch(&dm).unwrap();
    let _ = reach_epoch(&mut alice, &dm, epoch).await;
    let _ = reach_epoch(&mut bob2, &dm, epoch).await;
    alice
        .send(&dm, "secret three for both devices")
        .await
        .unwrap();
    assert_eq!(
        recv(&mut bob2, 1).await[0].text,
        "secret three for both devices"
    );
    assert_eq!(
        recv(&mut bob, 1).await[0].text,
        "secret three for both devices"
    );
    assert_eq!(alice.members(&dm).unwrap().len(), 3);

    // A group DM with carol@c (hub: a).
    let group = alice
        .start_dm(&["bob@b.hearth.test", "carol@c.hearth.test"])
        .await
        .unwrap();
    let _ = reach_epoch(&mut carol, &group, 1).await;
    carol.send(&group, "carol's secret four").await.unwrap();
    let got = recv(&mut alice, 1).await;
    assert_eq!(
        texts(&got),
        [("carol@c.hearth.test".into(), "carol's secret four".into())]
    );
    let mut all = reach_epoch(&mut bob, &group, 1).await;
    while !all
        .iter()
        .any(|m: &Received| m.text == "carol's secret four")
    {
        all.extend(recv(&mut bob, 1).await);
    }
    assert_eq!(
        alice.epoch_authenticator(&group).unwrap(),
        carol.epoch_authenticator(&group).unwrap()
    );

    // A restart keeps the groups (openmls state persisted by the SDK).
    drop(alice);
    let mut alice = Client::open(w.cfg(A, "alice")).await.unwrap();
    assert!(alice.groups().contains(&dm) && alice.groups().contains(&group));
    alice.send(&dm, "secret five after restart").await.unwrap();
    let mut got = Vec::new();
    while !got
        .iter()
        .any(|m: &Received| m.text == "secret five after restart")
    {
        got.extend(recv(&mut bob2, 1).await);
    }
    bob.send(&dm, "secret six to the restarted alice")
        .await
        .unwrap();
    assert_eq!(
        recv(&mut alice, 1).await[0].text,
        "secret six to the restarted alice"
    );

    // No server stores any plaintext.
    let secrets = [
        "secret one",
        "secret two",
        "secret three",
        "secret four",
        "secret five",
        "secret six",
    ];
    for s in [A, B, C] {
        scan_for(&w, s, &secrets).await;
    }
}

#[tokio::test]
async fn hub_ordering_policies_and_refusals() {
    let w = World::start().await;
    let mut alice = w.user(A, "alice").await;
    let mut bob = w.user(B, "bob").await;
    let dm = alice.start_dm(&["bob@b.hearth.test"]).await.unwrap();
    let _ = reach_epoch(&mut bob, &dm, 1).await;

    // Two concurrent commits for epoch 1: one accepted, the other refused with 409; the loser
    // catches up and commits again; both end with the same epoch authenticator.
    let (ra, rb) = tokio::join!(alice.try_self_update(&dm), bob.try_self_update(&dm));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra ^ rb, "exactly one commit wins: alice {ra}, bob {rb}");
    let (winner, loser) = if ra {
        (&mut alice, &mut bob)
    } else {
        (&mut bob, &mut alice)
    };
    let _ = reach_epoch(loser, &dm, 2).await;
    assert!(loser.try_self_update(&dm).await.unwrap());
    let _ = reach_epoch(winner, &dm, 3).await;
    assert_eq!(
        alice.epoch_authenticator(&dm).unwrap(),
        bob.epoch_authenticator(&dm).unwrap()
    );

    // A commit at a stale epoch is refused with the current epoch, and its Welcome is never
    // delivered: carol (c) gets nothing.
    let mut carol = w.user(C, "carol").await;
    let kps = alice.claim("carol@c.hearth.test").await.unwrap();
    assert!(bob.try_self_update(&dm).await.unwrap()); // epoch 4; alice has not synced
    let stale = alice.self_update_raw(&dm).unwrap();
    let r = api(
        &alice,
        &w,
        A,
        reqwest::Method::POST,
        "/mls/messages",
        Some(json!({"device_id": alice.device_id(), "message": b64::encode(&stale)})),
    )
    .await;
    assert_err(&r, 409, 60004);
    assert_eq!(r.body["epoch"], 4);
    assert!(!alice.add_once(&dm, &kps).await.unwrap());
    // The hub's answer was final; give the (absent) delivery every chance, then check.
    let _ = reach_epoch(&mut alice, &dm, 4).await;
    assert!(carol.sync().await.unwrap().is_empty());
    assert!(carol.groups().is_empty(), "no Welcome for a refused commit");
    let inbox = api(
        &carol,
        &w,
        C,
        reqwest::Method::GET,
        &format!("/mls/devices/{}/inbox", carol.device_id()),
        None,
    )
    .await;
    assert_eq!(inbox.body["items"].as_array().unwrap().len(), 0);

    // Bad input gets clear 4xx answers.
    let dev = alice.device_id().to_owned();
    let alice_http = w.net.server(A).client(alice.token());
    let post = |body: Value| {
        let c = alice_http.clone();
        async move { c.post("/mls/messages", body).await }
    };
    let good = alice.encrypt_raw(&dm, "x").unwrap();
    let r = post(json!({"device_id": dev, "message": b64::encode(&good[..good.len() / 2])})).await;
    assert_err(&r, 400, 60001); // truncated MLS bytes
    let r = post(json!({"device_id": dev, "message": "not base64!"})).await;
    assert_err(&r, 400, 50035);
    let r = post(json!({"device_id": bob.device_id(), "message": b64::encode(&good)})).await;
    assert_err(&r, 404, 10070); // a device this server does not know
    // A commit of bob's sent as if from alice's device: wrong sender device.
    let bobs = bob.self_update_raw(&dm).unwrap();
    let r = post(json!({"device_id": dev, "message": b64::encode(&bobs)})).await;
    assert_err(&r, 403, 60003);
    // A commit for a group the hub does not know.
    let unknown = format!("{A}/{}", "f".repeat(32));
    alice.create_unregistered_group(&unknown).unwrap();
    let c = alice.self_update_raw(&unknown).unwrap();
    let r = post(json!({"device_id": dev, "message": b64::encode(&c)})).await;
    assert_err(&r, 404, 10071);
    // A commit from a non-member (dave forges a group with the same id): refused.
    let mut dave = w.user(A, "dave").await;
    dave.create_unregistered_group(&dm).unwrap();
    let forged = dave.self_update_raw(&dm).unwrap();
    let r = api(
        &dave,
        &w,
        A,
        reqwest::Method::POST,
        "/mls/messages",
        Some(json!({"device_id": dave.device_id(), "message": b64::encode(&forged)})),
    )
    .await;
    assert!(
        r.status == 400 || r.status == 403 || r.status == 409,
        "{r:?}"
    );
    // An invalid commit: a valid commit with a flipped byte in its signature (the signature
    // precedes the 33-byte confirmation and membership tags).
    let mut bad = alice.self_update_raw(&dm).unwrap();
    let n = bad.len();
    bad[n - 66 - 20] ^= 0x55;
    let r = post(json!({"device_id": dev, "message": b64::encode(&bad)})).await;
    assert!(r.status == 400, "{r:?}");
    // Everyone still agrees.
    alice.send(&dm, "still fine").await.unwrap();
    assert_eq!(recv(&mut bob, 1).await[0].text, "still fine");

    // KeyPackage exhaustion falls back to the last-resort package; then the rate limit.
    let frank = w.user(B, "frank").await;
    let claim = |who: &Client| {
        let c = w.net.server(A).client(who.token());
        async move {
            c.post(
                "/mls/key-packages/claim",
                json!({"user": "frank@b.hearth.test"}),
            )
            .await
        }
    };
    let mut last_resort = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..7 {
        let r = claim(&alice).await;
        assert_eq!(r.status, 200, "{r:?}");
        let d = &r.body["devices"][0];
        assert_eq!(d["device_id"], frank.device_id());
        let lr = d["last_resort"].as_bool().unwrap();
        if !lr {
            assert!(
                seen.insert(d["key_package"].to_string()),
                "a package handed out twice"
            );
        }
        last_resort.push(lr);
    }
    assert_eq!(last_resort, [false, false, false, false, false, true, true]);
    let stock = api(
        &frank,
        &w,
        B,
        reqwest::Method::GET,
        &format!("/mls/devices/{}/key-packages", frank.device_id()),
        None,
    )
    .await;
    assert_eq!(stock.body["stock"], 0);
    assert_eq!(stock.body["last_resort"], true);
    for _ in 0..3 {
        assert_eq!(claim(&alice).await.status, 200);
    }
    let r = claim(&alice).await;
    assert_eq!(r.status, 429, "{r:?}");

    // DM policy: gina admits only people she shares a guild with.
    let gina = w.user(B, "gina").await;
    let r = api(
        &gina,
        &w,
        B,
        reqwest::Method::PATCH,
        "/users/@me",
        Some(json!({"dm_policy": 1})),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = api(
        &alice,
        &w,
        A,
        reqwest::Method::POST,
        "/mls/key-packages/claim",
        Some(json!({"user": "gina@b.hearth.test"})),
    )
    .await;
    assert_err(&r, 403, 50007);
    match alice.claim("gina@b.hearth.test").await {
        Err(ClientError::Api {
            status: 403,
            code: 50007,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

/// The SDK's key source finds each domain as federation does (SRV for b, `.well-known`
/// delegation to `fed.c...` for c), fetches the key document from that domain's own server,
/// and applies the address policy unless allowed.
#[tokio::test]
async fn sdk_key_source_uses_federation_discovery() {
    let w = World::start().await;
    let keys = key_source(&w.net, true);
    let port = w.net.port;
    assert_eq!(
        keys.base_url(B).await.unwrap(),
        format!("https://{B}:{port}")
    );
    assert_eq!(
        keys.base_url(C).await.unwrap(),
        format!("https://fed.{C}:{port}")
    );
    for d in [A, B, C] {
        let doc = keys.key_document(d).await.unwrap();
        assert_eq!(doc["server_name"], d);
        let key = w.net.server(d).fed.keyring.current();
        assert!(doc["verify_keys"].get(key.key_id()).is_some(), "{d}: {doc}");
    }
    // Unknown domain: discovery fails, named in the error.
    let e = keys.key_document("nowhere.hearth.test").await.unwrap_err();
    assert!(
        matches!(&e, ClientError::Http(m) if m.contains("nowhere.hearth.test")),
        "{e}"
    );
    // Without the private-address allowance, the loopback addresses of the test servers are
    // refused, as federation refuses them.
    let strict = key_source(&w.net, false);
    let e = strict.key_document(B).await.unwrap_err();
    assert!(
        matches!(&e, ClientError::Http(m) if m.contains("non-public address")),
        "{e}"
    );
}

#[tokio::test]
async fn credentials_are_verified_and_keys_pinned() {
    let w = World::start().await;
    let mut alice = w.user(A, "alice").await;
    let bob = w.user(B, "bob").await;

    // A credential for a user of b signed by a (a malicious server speaking for b's users),
    // and one naming b but signed with a's key: both rejected by the SDK.
    let key = w.net.server(A).fed.keyring.current();
    let sk = [9u8; 32];
    let now = hearth_federation_now();
    let mut forged = json!({"user": "mallory@b.hearth.test", "device_id": "1",
        "signature_key": b64::encode(sk), "issued_ts": now, "expires_ts": now + 3_600_000});
    sign_json(Purpose::DeviceCredential, &mut forged, A, &key).unwrap();
    let bytes = hearth_federation::canonical::canonical_json(&forged).unwrap();
    assert!(matches!(
        alice.verify_identity(&bytes, &sk).await,
        Err(ClientError::BadCredential { .. })
    ));
    let mut forged2 = json!({"user": "mallory@b.hearth.test", "device_id": "1",
        "signature_key": b64::encode(sk), "issued_ts": now, "expires_ts": now + 3_600_000});
    sign_json(Purpose::DeviceCredential, &mut forged2, B, &key).unwrap();
    let bytes = hearth_federation::canonical::canonical_json(&forged2).unwrap();
    assert!(matches!(
        alice.verify_identity(&bytes, &sk).await,
        Err(ClientError::BadCredential { .. })
    ));

    // bob's genuine packages verify, and alice pins b's key.
    let kps = alice.claim("bob@b.hearth.test").await.unwrap();
    assert_eq!(kps.len(), 1);
    let pinned = alice.pins(B);
    assert_eq!(pinned.len(), 1);

    // b rotates its key; bob's new device is signed with the new key: alice flags the change
    // and refuses it until accepted.
    w.net.server(B).fed.rotate_key().await.unwrap();
    let _bob2 = Client::login(w.cfg(B, "bob2"), "bob", &password_of("bob"))
        .await
        .unwrap();
    alice.forget_key_documents();
    let mut flagged = false;
    for _ in 0..3 {
        match alice.claim("bob@b.hearth.test").await {
            Err(ClientError::KeyChanged { domain, .. }) => {
                assert_eq!(domain, B);
                flagged = true;
                break;
            }
            Ok(_) => {} // a package signed by the old key came first
            Err(e) => panic!("{e}"),
        }
    }
    assert!(flagged, "the changed key of b must be flagged");
    assert_eq!(alice.key_warnings().len(), 1);
    assert_eq!(alice.key_warnings()[0].domain, B);
    alice.accept_key_change(B).unwrap();
    assert!(alice.key_warnings().is_empty());
    drop(bob);
}

/// The hub delivers to a member server in `(group, seq)` order, also across an outage of that
/// server: later items wait behind a failed one (spec/federation.md §8.9).
#[tokio::test]
async fn remote_delivery_keeps_seq_order_across_an_outage() {
    let mut w = World::start().await;
    let mut alice = w.user(A, "alice").await;
    let mut bob = w.user(B, "bob").await;
    let group = alice.start_dm(&["bob@b.hearth.test"]).await.unwrap();
    reach_epoch(&mut bob, &group, 1).await;
    let bob_device = bob.device_id().to_owned();
    drop(bob);

    // B goes down; alice goes on, with a commit in the middle: the messages after it are in
    // the next epoch, so bob cannot read them unless the commit reaches him first.
    w.net.server_mut(B).stop_keeping_data().await;
    alice.send(&group, "one").await.unwrap();
    alice.send(&group, "two").await.unwrap();
    assert!(alice.try_self_update(&group).await.unwrap());
    alice.send(&group, "three").await.unwrap();
    alice.send(&group, "four").await.unwrap();

    // The hub tried B, failed, and holds all five items for it in seq order.
    let queued = eventually(
        "the outbox for B holds all five items, tried once",
        async || {
            let q = w
                .net
                .server(A)
                .hearth
                .db
                .mls_outbox_queue(B, 100)
                .await
                .unwrap();
            (q.len() == 5 && q[0].attempts >= 1).then_some(q)
        },
    )
    .await;
    let queued_seqs: Vec<i64> = queued
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(
        queued_seqs.windows(2).all(|p| p[0] < p[1]),
        "{queued_seqs:?}"
    );

    // B comes back: bob (the same device, reopened from its state) reads everything, in order.
    w.net.server_mut(B).start_again().await;
    let mut bob = Client::open(w.cfg(B, "bob")).await.unwrap();
    assert_eq!(bob.device_id(), bob_device);
    bob.connect_gateway().await.unwrap();
    let got = recv(&mut bob, 4).await;
    let who = "alice@a.hearth.test".to_owned();
    assert_eq!(
        texts(&got),
        ["one", "two", "three", "four"].map(|t| (who.clone(), t.to_owned()))
    );
    assert_eq!(bob.epoch(&group).unwrap(), 2);
    assert_eq!(
        bob.epoch_authenticator(&group).unwrap(),
        alice.epoch_authenticator(&group).unwrap()
    );
    // B's inbox for the device holds the group's items in seq order, each once.
    let inbox = api(
        &bob,
        &w,
        B,
        reqwest::Method::GET,
        &format!("/mls/devices/{bob_device}/inbox?limit=100"),
        None,
    )
    .await;
    let seqs: Vec<i64> = inbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["group_id"] == group.as_str() && it["kind"] != "welcome")
        .map(|it| it["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, queued_seqs);
    // And the hub's queue drains.
    eventually("the outbox to B drains", async || {
        w.net
            .server(A)
            .hearth
            .db
            .mls_outbox_queue(B, 100)
            .await
            .unwrap()
            .is_empty()
    })
    .await;
}

/// Remote claims follow the target's blocks and DM policy whether or not the target's server
/// knows the claimer (spec/mls.md §4).
#[tokio::test]
async fn remote_claims_respect_blocks_and_dm_policy() {
    let w = World::start().await;
    let mut alice = w.user(A, "alice").await; // will share a guild with gina
    let frank = w.user(A, "frank").await; // never meets gina
    let gina = w.user(B, "gina").await;
    let gina_api = w.net.server(B).client(gina.token());
    let g = gina_api.post("/guilds", json!({"name": "Shared"})).await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid = g.body["id"].as_str().unwrap().to_owned();
    let chans = gina_api.get(&format!("/guilds/{gid}/channels")).await;
    let general = chans.body[0]["id"].as_str().unwrap().to_owned();
    let inv = gina_api
        .post(&format!("/channels/{general}/invites"), json!({}))
        .await;
    let code = inv.body["code"].as_str().unwrap().to_owned();
    let r = w
        .net
        .server(A)
        .client(alice.token())
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let members = gina_api
        .get(&format!("/guilds/{gid}/members?limit=10"))
        .await;
    let alice_on_b = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["handle"] == "alice@a.hearth.test")
        .unwrap_or_else(|| panic!("alice is not a member on B: {members:?}"))["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b_db = &w.net.server(B).hearth.db;
    assert!(b_db.remote_user(A, "frank").await.unwrap().is_none());

    async fn claim_gina(c: &Client, w: &World) -> crate::harness::Resp {
        api(
            c,
            w,
            A,
            reqwest::Method::POST,
            "/mls/key-packages/claim",
            Some(json!({"user": "gina@b.hearth.test"})),
        )
        .await
    }
    let set_policy = |p: i64| {
        gina_api.send(
            reqwest::Method::PATCH,
            "/users/@me",
            Some(json!({"dm_policy": p})),
        )
    };
    // Policy 1 (shared guild only): alice may claim, frank (no user row on B) may not.
    assert_eq!(set_policy(1).await.status, 200);
    let r = claim_gina(&alice, &w).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["devices"].as_array().unwrap().len(), 1);
    assert_err(&claim_gina(&frank, &w).await, 403, 50007);

    // gina blocks alice: refused despite the shared guild, under either policy.
    let r = gina_api
        .put(
            &format!("/users/@me/relationships/{alice_on_b}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(&claim_gina(&alice, &w).await, 403, 50007);
    assert_eq!(set_policy(0).await.status, 200);
    assert_err(&claim_gina(&alice, &w).await, 403, 50007);
    match alice.claim("gina@b.hearth.test").await {
        Err(ClientError::Api {
            status: 403,
            code: 50007,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Policy 0 admits a stranger.
    let r = claim_gina(&frank, &w).await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// `Client::remove`: alice removes carol from a group DM with one commit, validated by the hub
/// and delivered to carol too; carol's SDK reports the group unusable, the hub refuses her
/// messages, and alice and bob go on without her.
#[tokio::test]
async fn a_removed_member_is_told_and_refused() {
    let w = World::start().await;
    let mut alice = w.user(A, "alice").await;
    let mut bob = w.user(B, "bob").await;
    let mut carol = w.user(C, "carol").await;
    let group = alice
        .start_dm(&["bob@b.hearth.test", "carol@c.hearth.test"])
        .await
        .unwrap();
    reach_epoch(&mut bob, &group, 1).await;
    reach_epoch(&mut carol, &group, 1).await;
    let stale = carol.encrypt_raw(&group, "still here?").unwrap();

    match alice.remove(&group, "dave@c.hearth.test").await {
        Err(ClientError::State(_)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        alice.remove(&group, "carol@c.hearth.test").await.unwrap(),
        1
    );
    let members: Vec<String> = alice
        .members(&group)
        .unwrap()
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(members, ["alice@a.hearth.test", "bob@b.hearth.test"]);
    reach_epoch(&mut bob, &group, 2).await;
    assert_eq!(
        bob.epoch_authenticator(&group).unwrap(),
        alice.epoch_authenticator(&group).unwrap()
    );

    // carol receives the commit that removes her and is told.
    let why = eventually("carol is told of her removal", async || {
        carol.wait(Duration::from_millis(300)).await.unwrap();
        carol
            .unusable_groups()
            .into_iter()
            .find(|(g, _)| *g == group)
            .map(|(_, why)| why)
    })
    .await;
    assert!(
        why.contains("removed from the group by alice@a.hearth.test"),
        "{why}"
    );
    // The hub refuses what she encrypted before (epoch 1 is still in the window): not a member.
    let r = api(
        &carol,
        &w,
        C,
        reqwest::Method::POST,
        "/mls/messages",
        Some(json!({"device_id": carol.device_id(), "message": b64::encode(&stale)})),
    )
    .await;
    assert_err(&r, 403, 60005);

    // alice and bob go on; carol gets nothing more.
    alice.send(&group, "just us").await.unwrap();
    let got = recv(&mut bob, 1).await;
    assert_eq!(
        texts(&got),
        [("alice@a.hearth.test".to_owned(), "just us".to_owned())]
    );
    let inbox = api(
        &carol,
        &w,
        C,
        reqwest::Method::GET,
        &format!("/mls/devices/{}/inbox?limit=100", carol.device_id()),
        None,
    )
    .await;
    let kinds: Vec<(String, i64)> = inbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|it| it["group_id"] == group.as_str())
        .map(|it| {
            (
                it["kind"].as_str().unwrap().to_owned(),
                it["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["welcome", "commit"],
        "{kinds:?}"
    );
}

/// The hub cannot check a commit's membership tag (RFC 9420 §6.2: a MAC under the epoch's
/// membership_key, which only members hold). A member device that corrupts it gets the commit
/// accepted; the other members cannot process it, their SDK reports the group unusable, and a
/// new DM works (spec/mls.md §5.1).
#[tokio::test]
async fn a_commit_with_a_corrupted_membership_tag_is_reported_and_the_dm_restarted() {
    let w = World::start().await;
    let mut alice = w.user(A, "alice").await;
    let mut bob = w.user(B, "bob").await;
    let group = alice.start_dm(&["bob@b.hearth.test"]).await.unwrap();
    reach_epoch(&mut bob, &group, 1).await;

    // bob's device sends a self-update commit whose membership tag (the last bytes of the
    // PublicMessage) is corrupted; signature and framing are intact, so the hub accepts it.
    let mut commit = bob.self_update_raw(&group).unwrap();
    let last = commit.len() - 1;
    commit[last] ^= 0x01;
    let r = api(
        &bob,
        &w,
        B,
        reqwest::Method::POST,
        "/mls/messages",
        Some(json!({"device_id": bob.device_id(), "message": b64::encode(&commit)})),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["epoch"], 2);

    // alice cannot process it: her SDK reports the group as unusable.
    let why = eventually("alice reports the group", async || {
        alice.wait(Duration::from_millis(300)).await.unwrap();
        alice
            .unusable_groups()
            .into_iter()
            .find(|(g, _)| *g == group)
            .map(|(_, why)| why)
    })
    .await;
    assert!(why.contains("cannot be processed"), "{why}");
    assert_eq!(alice.epoch(&group).unwrap(), 1);

    // A new DM replaces it.
    let again = alice.start_dm(&["bob@b.hearth.test"]).await.unwrap();
    assert_ne!(again, group);
    alice.send(&again, "new group").await.unwrap();
    let got = recv(&mut bob, 1).await;
    assert_eq!(got[0].group_id, again);
    assert_eq!(got[0].text, "new group");
}

fn hearth_federation_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
