//! Account deletion across servers (spec/federation.md §18) over real TLS and DNS
//! (`TestNetwork`): alice (a) is in a guild hosted on b, with carol (c). She deletes her
//! account, asking for her messages to be removed, while b cannot be reached: a answers at
//! once, keeps the signed notice through a restart and delivers it when b is back; b then
//! removes her from the guild, shows her as "Deleted User" and removes her message (gateway
//! and REST), and c, told directly, does the same in its replica. A notice about a user of a
//! from any other server is refused and changes nothing.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use hearth::s2s::FedError;
use reqwest::Method;
use serde_json::{Value, json};

use crate::account_deletion::deletions_of;
use crate::federation_guilds::{fed_with, general_of};
use crate::gateway::{GUILD_MEMBERS, GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;
use crate::network::TestNetwork;

const A: &str = "a.hearth.test";
const B: &str = "b.hearth.test";
const C: &str = "c.hearth.test";
const ALL: u64 = GUILDS | GUILD_MEMBERS | GUILD_MESSAGES;
const PATH: &str = "/_hearth/federation/v1/users/deleted";

/// `who` (a token on `srv`) joins the guild of invite `code@B`; returns the GUILD_CREATE.
async fn join_remote(srv: &TestServer, tok: &str, code: &str) -> Value {
    let mut gw = Gw::identify(srv, tok, GUILDS).await;
    let r = srv
        .client(tok)
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    gw.expect("GUILD_CREATE").await
}

/// The member of `guild` on `c`'s server whose handle is `handle`: its user id.
async fn member_id(c: &Client, guild: &str, handle: &str) -> Option<String> {
    let r = c.get(&format!("/guilds/{guild}/members?limit=100")).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["handle"] == handle)
        .map(|m| s(&m["user"]["id"]))
}

#[tokio::test]
async fn account_deletion_reaches_the_host_durably_and_only_from_the_home_server() {
    let mut net = TestNetwork::start(&[A, B, C]).await;
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, erin_tok) = net.server(A).register("erin").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let (_, carol_tok) = net.server(C).register("carol").await;
    let bob = net.server(B).client(&bob_tok);
    let g = bob.post("/guilds", json!({"name": "Fed"})).await;
    let gid_b = s(&g.body["id"]);
    let general_b = s(&bob.get(&format!("/guilds/{gid_b}/channels")).await.body[0]["id"]);
    let inv = bob
        .post(
            &format!("/channels/{general_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    let code = s(&inv.body["code"]);
    let gc_a = join_remote(net.server(A), &alice_tok, &code).await;
    join_remote(net.server(A), &erin_tok, &code).await;
    let gc_c = join_remote(net.server(C), &carol_tok, &code).await;
    let general_a = general_of(&gc_a);
    let (gid_c, general_c) = (s(&gc_c["id"]), general_of(&gc_c));
    let alice = net.server(A).client(&alice_tok);
    let said = say(&alice, &general_a, "from alice").await;
    let alice_handle = format!("alice@{A}");
    let alice_b = member_id(&bob, &gid_b, &alice_handle).await.unwrap();
    let erin_b = member_id(&bob, &gid_b, &format!("erin@{A}")).await.unwrap();
    let carol = net.server(C).client(&carol_tok);
    // The message as b and c number it.
    let on = |c: Client, channel: String| async move {
        eventually("the message reached the server", async || {
            let r = c.get(&format!("/channels/{channel}/messages")).await;
            r.body
                .as_array()
                .and_then(|a| a.iter().find(|m| m["content"] == "from alice"))
                .map(|m| s(&m["id"]))
        })
        .await
    };
    let said_b = on(bob.clone(), general_b.clone()).await;
    let said_c = on(carol.clone(), general_c.clone()).await;
    let alice_c = member_id(&carol, &gid_c, &alice_handle)
        .await
        .expect("c knows her as a member");
    let mut bob_gw = Gw::identify(net.server(B), &bob_tok, ALL).await;
    let mut carol_gw = Gw::identify(net.server(C), &carol_tok, ALL).await;

    // b vanishes from DNS; a forgets what it had resolved (restart).
    net.remove_records(B).await;
    net.server_mut(A).restart().await;
    let alice = net.server(A).client(&alice_tok);
    let r = alice
        .post(
            "/users/@me/delete",
            json!({"password": password_of("alice"), "delete_messages": true}),
        )
        .await;
    assert_eq!(r.status, 204, "the home answers without its peers: {r:?}");
    // Her replica copy is gone at home already; the notices wait for b (c has its own).
    let a = net.server(A);
    eventually("a's copy of her message is removed", async || {
        let r = net
            .server(A)
            .client(&erin_tok)
            .get(&format!("/channels/{general_a}/messages"))
            .await;
        r.status == 200 && !ids(&r.body).contains(&said)
    })
    .await;
    let queued = a.hearth.db.notices().await.unwrap();
    assert!(queued.iter().any(|n| n.destination == B), "{queued:?}");
    let body: Value = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(body["handle"], alice_handle.as_str());
    assert_eq!(body["delete_messages"], true);
    eventually("b's notice failed at least once", async || {
        a.hearth
            .db
            .notices()
            .await
            .unwrap()
            .iter()
            .any(|n| n.destination == B && n.attempts > 0)
    })
    .await;

    // c was told at once: she is "Deleted User" there and left its replica.
    eventually("c anonymised her", async || {
        carol.get(&format!("/users/{alice_c}")).await.body["global_name"] == "Deleted User"
    })
    .await;

    // b is back in DNS; a restarts (the notice survives) and delivers it.
    net.add_a(B, Ipv4Addr::new(127, 0, 0, 3)).await;
    let port = net.port;
    net.add_srv(B, B, port).await;
    net.server_mut(A).restart().await;
    let a = net.server(A);

    // b: GUILD_MEMBER_REMOVE and the removal of her message on bob's gateway...
    let removed = bob_gw.expect("GUILD_MEMBER_REMOVE").await;
    assert_eq!(removed["user"]["handle"], alice_handle.as_str());
    deletions_of(&mut bob_gw, &HashSet::from([said_b.clone()])).await;
    // ... and over REST: not a member, "Deleted User" under her new handle, message gone.
    assert_err(
        &bob.get(&format!("/guilds/{gid_b}/members/{alice_b}")).await,
        404,
        10007,
    );
    let u = bob.get(&format!("/users/{alice_b}")).await;
    assert_eq!(u.body["global_name"], "Deleted User", "{u:?}");
    assert!(
        u.body["username"]
            .as_str()
            .unwrap()
            .starts_with("deleted_user_"),
        "{u:?}"
    );
    assert!(
        u.body["handle"]
            .as_str()
            .unwrap()
            .ends_with(&format!("@{A}")),
        "{u:?}"
    );
    assert!(u.body["avatar"].is_null());
    assert_err(
        &bob.get(&format!("/channels/{general_b}/messages/{said_b}"))
            .await,
        404,
        10008,
    );
    // The host's removal is in its log, so member servers it did not tell get it too.
    let b = net.server(B);
    let gid: i64 = gid_b.parse().unwrap();
    eventually("b logged the removal of her message", async || {
        b.hearth
            .db
            .log_range(gid, 0, 500)
            .await
            .unwrap()
            .iter()
            .any(|e| e.event.contains("\"MESSAGE_DELETE") && e.event.contains(&said_b))
    })
    .await;
    eventually("a delivered every notice", async || {
        a.hearth.db.notices().await.unwrap().is_empty()
    })
    .await;
    // c's clients saw her leave and her message go.
    carol_gw.expect("GUILD_MEMBER_REMOVE").await;
    deletions_of(&mut carol_gw, &HashSet::from([said_c.clone()])).await;
    assert_eq!(member_id(&carol, &gid_c, &alice_handle).await, None);

    // A notice about a user of a, from c, is refused; erin is untouched on b.
    let c = net.server(C);
    for (handle, anon) in [
        (format!("erin@{A}"), format!("deleted_user_1@{A}")),
        (format!("erin@{A}"), format!("deleted_user_1@{C}")),
        (format!("carol@{C}"), format!("deleted_user_1@{A}")),
    ] {
        let r = c
            .fed
            .request(
                B,
                Method::POST,
                PATH,
                Some(&json!({"handle": handle, "anonymised_handle": anon,
                             "deleted_at": hearth::storage::now_ms(), "delete_messages": true})),
            )
            .await;
        match r {
            Err(FedError::Remote {
                status, errcode, ..
            }) => assert_eq!((status, errcode.as_str()), (403, "H_ORIGIN_MISMATCH")),
            other => panic!("{handle} / {anon}: {other:?}"),
        }
    }
    let u = bob.get(&format!("/users/{erin_b}")).await;
    assert_eq!(u.body["username"], "erin", "{u:?}");
    assert!(
        member_id(&bob, &gid_b, &format!("erin@{A}"))
            .await
            .is_some()
    );
    // Malformed notices and unknown users.
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            PATH,
            Some(
                &json!({"handle": "not a handle", "anonymised_handle": "x@y",
                         "deleted_at": 0}),
            ),
        )
        .await;
    assert!(
        matches!(&r, Err(FedError::Remote { status: 400, errcode, .. }) if errcode == "H_MALFORMED"),
        "{r:?}"
    );
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            PATH,
            Some(&json!({"handle": format!("nobody@{A}"),
                         "anonymised_handle": format!("deleted_user_2@{A}"),
                         "deleted_at": hearth::storage::now_ms()})),
        )
        .await
        .unwrap();
    assert_eq!(r, json!({"applied": false}));
}

/// The username of `c`'s user after asking to rename it to `to` (with her password).
async fn rename(c: &Client, who: &str, to: &str) -> Resp {
    c.patch(
        "/users/@me",
        json!({"username": to, "password": password_of(who)}),
    )
    .await
}

/// spec/federation.md §2.3 (§16 item 9 before): a handle never changes. A federating server
/// refuses a rename, so the host keeps knowing her (her posts are accepted, under the same
/// member); her display name travels instead (`profile_update`, §8.6: before, the host and the
/// other member servers kept the name they learnt at her join). With federation off, a rename
/// is an ordinary profile change.
#[tokio::test]
async fn a_federating_server_keeps_handles_and_the_display_name_travels() {
    let fed = fed_with(|_, _| {}).await;
    let (alice, bob, carol) = (fed.alice(), fed.bob(), fed.carol());
    let handle = format!("alice@{A}");
    let at_host = member_id(&bob, &fed.gid_b, &handle)
        .await
        .expect("b knows her");

    let r = rename(&alice, "alice", "alicia").await;
    assert_field_error(&r, "username");
    assert_eq!(
        r.body["errors"]["username"]["_errors"][0]["code"],
        "USERNAME_IMMUTABLE"
    );
    assert_eq!(alice.get("/users/@me").await.body["username"], "alice");
    let r = alice
        .patch("/users/@me", json!({"global_name": "Alicia"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Relayed in the background after the answer.
    eventually("the host learnt her display name", async || {
        let r = bob
            .get(&format!("/guilds/{}/members/{at_host}", fed.gid_b))
            .await;
        r.body["user"]["global_name"] == "Alicia"
    })
    .await;
    say(&alice, &fed.general_a, "still me").await;
    let m = eventually("her message reached the host", async || {
        let r = bob
            .get(&format!("/channels/{}/messages", fed.general_b))
            .await;
        r.body
            .as_array()
            .and_then(|a| a.iter().find(|m| m["content"] == "still me").cloned())
    })
    .await;
    assert_eq!(
        s(&m["author"]["id"]),
        at_host,
        "the same member at the host"
    );
    assert_eq!(m["author"]["handle"], handle.as_str());
    assert_eq!(m["author"]["global_name"], "Alicia");
    // The host's GUILD_MEMBER_UPDATE carries it to the other member server.
    let at_c = member_id(&carol, &fed.gid_c, &handle)
        .await
        .expect("c knows her");
    eventually("c learnt her display name", async || {
        let r = carol
            .get(&format!("/guilds/{}/members/{at_c}", fed.gid_c))
            .await;
        r.body["user"]["global_name"] == "Alicia"
    })
    .await;

    let solo = TestServer::start_with(|c| c.federation.enabled = false).await;
    let (_, a) = solo.user("alice").await;
    solo.user("bob").await;
    assert_field_error(&rename(&a, "alice", "bob").await, "username");
    let r = rename(&a, "alice", "alicia").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(a.get("/users/@me").await.body["username"], "alicia");
}

/// spec/federation.md §18.3, §18.5 (the former §16 items 20 and 21): carol's server (c)
/// learned of alice only through b's events, and a, her home, never heard of c; b relays a's
/// signed notice to c, which anonymises her too. And an event b logged before it applied the
/// notice, naming her old handle, still reaches a after a deleted her: a resolves the handle
/// by b's id of her to her deleted account instead of dropping the event.
#[tokio::test]
async fn a_deletion_reaches_servers_her_home_never_knew_and_her_old_handle_still_resolves() {
    let net = TestNetwork::start(&[A, B, C]).await;
    let (a, b, c) = (net.server(A), net.server(B), net.server(C));
    let (alice_id, alice_tok) = a.register("alice").await;
    let (_, erin_tok) = a.register("erin").await;
    let (_, bob_tok) = b.register("bob").await;
    let (_, carol_tok) = c.register("carol").await;
    let (bob, gid_b, general_b, code) =
        crate::federation_pulls::bobs_guild(&net, &bob_tok, "Relayed").await;
    // carol first: a's replica never lists her.
    let gc_c = join_remote(c, &carol_tok, &code).await;
    let gc_a = join_remote(a, &alice_tok, &code).await;
    join_remote(a, &erin_tok, &code).await;
    let general_a = general_of(&gc_a);
    let (gid_c, general_c) = (s(&gc_c["id"]), general_of(&gc_c));
    let carol = c.client(&carol_tok);
    let alice = a.client(&alice_tok);
    say(&alice, &general_a, "hello from alice").await;
    let alice_c = eventually("c has her message", async || {
        let r = carol.get(&format!("/channels/{general_c}/messages")).await;
        r.body.as_array().and_then(|a| {
            a.iter()
                .find(|m| m["content"] == "hello from alice")
                .map(|m| s(&m["author"]["id"]))
        })
    })
    .await;
    assert_eq!(
        carol.get(&format!("/users/{alice_c}")).await.body["username"],
        "alice"
    );
    let peers = a
        .hearth
        .db
        .deletion_peers(alice_id.parse().unwrap())
        .await
        .unwrap();
    assert!(!peers.contains(&C.to_owned()), "a knows c: {peers:?}");
    let alice_b = member_id(&bob, &gid_b, &format!("alice@{A}"))
        .await
        .unwrap();

    // b stops pushing to a; meanwhile bob mentions alice (b logs her old handle).
    let claim = crate::federation_pulls::freeze_delivery(b, A).await;
    let hb = &b.hearth;
    let r = bob
        .post(
            &format!("/channels/{general_b}/messages"),
            json!({"content": format!("<@{alice_b}> are you there?")}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut erin_gw = Gw::identify(a, &erin_tok, ALL).await;

    let r = alice
        .post(
            "/users/@me/delete",
            json!({"password": password_of("alice")}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    // c, told by b only, anonymises her and drops her from its replica.
    eventually("c anonymised her", async || {
        carol.get(&format!("/users/{alice_c}")).await.body["global_name"] == "Deleted User"
    })
    .await;
    assert_eq!(member_id(&carol, &gid_c, &format!("alice@{A}")).await, None);
    // b removed her on the notice (no relayed leave came first).
    assert_eq!(member_id(&bob, &gid_b, &format!("alice@{A}")).await, None);

    // b delivers to a again: bob's message reaches erin, its mention now "Deleted User".
    hb.db.release_lease(&claim, "frozen-node").await.unwrap();
    let m = erin_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["content"]
                .as_str()
                .is_some_and(|t| t.ends_with("are you there?"))
        })
        .await;
    assert_eq!(
        m["content"],
        format!("<@{alice_id}> are you there?"),
        "the mention names her account at a"
    );
    assert_eq!(m["mentions"][0]["id"], alice_id.as_str());
    let stored = a
        .client(&erin_tok)
        .get(&format!("/channels/{general_a}/messages/{}", s(&m["id"])))
        .await;
    assert_eq!(stored.status, 200, "{stored:?}");
    let mention = &stored.body["mentions"][0];
    assert_eq!(mention["id"], alice_id.as_str());
    assert_eq!(mention["global_name"], "Deleted User", "{mention}");
    assert!(
        mention["handle"]
            .as_str()
            .is_some_and(|h| h.starts_with("deleted_user_")),
        "{mention}"
    );
    // Nothing was created for the old handle at a.
    assert!(a.hearth.db.local_user("alice").await.unwrap().is_none());

    // A relayed notice must carry a's own signature: c signing in a's name is refused, and
    // erin stays who she is on b.
    let mut forged = json!({"handle": format!("erin@{A}"),
                            "anonymised_handle": format!("deleted_user_1@{A}"),
                            "deleted_at": hearth::storage::now_ms()});
    hearth_federation::sign::sign_json(
        hearth_federation::sign::Purpose::UserNotice,
        &mut forged,
        A,
        &c.fed.keyring.current(),
    )
    .unwrap();
    let r = c.fed.request(B, Method::POST, PATH, Some(&forged)).await;
    assert!(
        matches!(&r, Err(FedError::Remote { status: 403, errcode, .. }) if errcode == "H_ORIGIN_MISMATCH"),
        "{r:?}"
    );
    assert!(
        member_id(&bob, &gid_b, &format!("erin@{A}"))
            .await
            .is_some()
    );
}
