//! Keys revoked while servers run (spec/federation.md §3.3, §3.5, §3.6; the former §16
//! item 12): `hearth keys revoke` is published at once and takes effect at once for
//! requests (a node still signing with the revoked key rereads when refused), a host serves
//! its log re-signed with its current key, and the actions logged before a revocation stay
//! verifiable for the member servers.

use hearth::s2s::Keyring;
use hearth_federation::event::{host_key_ids, verify_event};
use hearth_federation::keys::{KeyLookup, KeyState};
use reqwest::Method;

use crate::federation_guilds::{A, ALL, B, C};
use crate::federation_pulls::{bobs_guild, freeze_delivery, join, post, pull};
use crate::gateway::Gw;
use crate::harness::{TestServer, eventually, s};
use crate::network::TestNetwork;

const PING: &str = "/_hearth/federation/v1/ping";

/// `hearth keys ...` run in another process beside `srv`: a second keyring on its database.
async fn cli_keyring(srv: &TestServer, name: &str) -> Keyring {
    Keyring::load(
        name,
        srv.hearth.db.clone(),
        srv.hearth.config.federation.key_validity_ms,
    )
    .await
    .unwrap()
}

/// The ids of the keys b signed the envelope of the logged event saying `text` with.
async fn stored_signers(b: &TestServer, gid_b: &str, text: &str) -> Vec<String> {
    host_key_ids(&logged_event(b, gid_b, text).await)
}

/// The event of b's log saying `text`, as stored, once it is logged (the log is written
/// after the change commits).
async fn logged_event(b: &TestServer, gid_b: &str, text: &str) -> serde_json::Value {
    let event = eventually("b logged the event", async || {
        let rows = b
            .hearth
            .db
            .log_range(gid_b.parse().unwrap(), 0, 500)
            .await
            .unwrap();
        rows.into_iter()
            .find(|r| r.event.contains(text))
            .map(|r| r.event)
    })
    .await;
    serde_json::from_str(&event).unwrap()
}

#[tokio::test]
async fn keys_revoked_beside_running_servers_leave_the_log_verifiable_and_delivered() {
    // b rereads its keys only every 10 s: the moment between the CLI's revocation and the
    // running server's reread is long enough to sign in, deterministically.
    let net = TestNetwork::start_with(&[A, B, C], |name, c| {
        if name != C {
            c.federation.key_reload_ms = 10_000;
        }
    })
    .await;
    let (a, b, c) = (net.server(A), net.server(B), net.server(C));
    let (_, alice_tok) = a.register("alice").await;
    let (_, bob_tok) = b.register("bob").await;
    let (_, carol_tok) = c.register("carol").await;
    let (bob, gid_b, general_b, code) = bobs_guild(&net, &bob_tok, "Revocations").await;
    let gc_a = join(a, &alice_tok, &code).await;
    let gc_c = join(c, &carol_tok, &code).await;
    let mut carol_gw = Gw::identify(c, &carol_tok, ALL).await;

    // c is not pushed to while everything below is logged.
    let claim = freeze_delivery(b, C).await;
    let general_a = crate::federation_guilds::general_of(&gc_a);
    post(&a.client(&alice_tok), &general_a, "relayed from a").await;
    post(&bob, &general_b, "from b before").await;
    let kb1 = b.fed.keyring.current().key_id().to_owned();
    let ka1 = a.fed.keyring.current().key_id().to_owned();

    // Another node of b, which rereads its keys only every 10 s too.
    let b2 = b
        .another_node(|cfg| cfg.federation.key_reload_ms = 10_000)
        .await;
    // `hearth keys revoke` of b's key beside the running b, which goes on signing with it.
    cli_keyring(b, B).await.revoke(&kb1).await.unwrap().unwrap();
    post(&bob, &general_b, "from b in the moment").await;
    assert_eq!(
        stored_signers(b, &gid_b, "from b in the moment").await,
        vec![kb1.clone()],
        "b still signed with its revoked key (the test's premise)"
    );
    // a's key is revoked too, after b sequenced alice's action; a, still signing with it,
    // relays another one, which b (not yet aware) sequences after the revocation.
    cli_keyring(a, A).await.revoke(&ka1).await.unwrap().unwrap();
    post(
        &a.client(&alice_tok),
        &general_a,
        "relayed from a after its revocation",
    )
    .await;

    // c learns both revocations (a server rereads its keys before publishing them).
    c.fed.client.refresh_server_keys(A).await.unwrap();
    c.fed.client.refresh_server_keys(B).await.unwrap();
    for (server, key) in [(A, &ka1), (B, &kb1)] {
        let state = c.fed.client.keys().lookup(server, key).map(|k| k.state);
        assert!(
            matches!(state, Some(KeyState::Revoked { .. })),
            "{server} {key}: {state:?}"
        );
    }

    // At once, not at a node's next reread: b's second node still signs with the revoked
    // key; c refuses its request, and the node rereads its keys and signs again.
    assert_eq!(b2.fed.keyring.current().key_id(), kb1);
    let r = b2.fed.request(C, Method::GET, PING, None).await.unwrap();
    assert_eq!(r["origin"], B);
    assert_ne!(b2.fed.keyring.current().key_id(), kb1);
    drop(b2);

    // Everything b serves from its log verifies with c's keys, and none of it under kb1,
    // except the action a signed after it revoked the key: c cannot tell it from a thief's.
    let events = pull(&net, C, &gid_b, 0).await;
    assert!(
        events
            .iter()
            .any(|e| e.to_string().contains("from b in the moment")),
        "{events:?}"
    );
    let mut late_seq = None;
    for e in &events {
        assert!(!host_key_ids(e).contains(&kb1), "seq {}", e["seq"]);
        let v = verify_event(e, &c.fed.client.keys());
        if e.to_string()
            .contains("relayed from a after its revocation")
        {
            assert!(
                matches!(v, Err(hearth_federation::Error::RevokedKey { .. })),
                "{v:?}"
            );
            late_seq = e["seq"].as_i64();
        } else {
            v.unwrap_or_else(|err| panic!("seq {}: {err}", e["seq"]));
        }
    }
    let late_seq = late_seq.expect("b logged a's late action");

    // Pushed to c once its delivery resumes: every message, in order, applied.
    b.hearth
        .db
        .release_lease(&claim, "frozen-node")
        .await
        .unwrap();
    post(&bob, &general_b, "after all that").await;
    // a's late action is chained at c as a `revoked` stub, never applied, and holds nothing
    // back.
    for text in [
        "relayed from a",
        "from b before",
        "from b in the moment",
        "after all that",
    ] {
        let m = carol_gw
            .expect_where("MESSAGE_CREATE", |d| d["content"].is_string())
            .await;
        assert_eq!(m["content"], text);
    }
    let gid_c: i64 = s(&gc_c["id"]).parse().unwrap();
    let (_, stored) = c
        .hearth
        .db
        .replica_event(gid_c, late_seq)
        .await
        .unwrap()
        .expect("c chained the late event");
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["unsigned"]["content_state"], "revoked", "{stored}");
    assert!(stored.get("content").is_none());
    // The stored log itself is unchanged (re-signed when served, not rewritten).
    assert_eq!(
        stored_signers(b, &gid_b, "from b before").await,
        vec![kb1.clone()]
    );
    // A thief's envelope under kb1 is refused: the stored, kb1-signed event as it is.
    let raw = logged_event(b, &gid_b, "from b before").await;
    assert!(matches!(
        verify_event(&raw, &c.fed.client.keys()),
        Err(hearth_federation::Error::RevokedKey { .. })
    ));
}
