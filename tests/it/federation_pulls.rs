//! What a member server may pull from a host's guild log (spec/federation.md §8.3; the
//! former §16 items 4 and 7): a pull starts at the point the server joined, however far back
//! it asks, and the events of a channel that was deleted reach it as stubs unless the
//! overwrites the channel had let one of its members see it (never judged by base
//! permissions alone).

use reqwest::Method;
use serde_json::{Value, json};

use crate::federation_guilds::{A, ALL, B, C, general_of};
use crate::gateway::Gw;
use crate::harness::{Client, TestServer, s};
use crate::network::TestNetwork;

/// A signed `GET` of the host's log from `from`'s federation client, as a member server pulls.
async fn pull(net: &TestNetwork, from: &str, gid_b: &str, after: u64) -> Vec<Value> {
    let path = format!("/_hearth/federation/v1/guilds/{gid_b}/events?from={after}&limit=500");
    let srv = net.server(from);
    let auth = srv
        .fed
        .client
        .authorization(B, &Method::GET, &path, b"")
        .unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&net.ca_pem).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .resolve(B, net.server(B).federation_addr.unwrap())
        .build()
        .unwrap();
    let r = http
        .get(format!("https://{B}:{}{path}", net.port))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

/// Joins `srv`'s user to bob's guild through her own server; returns the GUILD_CREATE.
async fn join(srv: &TestServer, tok: &str, code: &str) -> Value {
    let mut gw = Gw::identify(srv, tok, ALL).await;
    let r = srv
        .client(tok)
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    gw.expect("GUILD_CREATE").await
}

async fn post(c: &Client, channel: &str, content: &str) {
    let r = c
        .post(
            &format!("/channels/{channel}/messages"),
            json!({ "content": content }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

fn mentions(events: &[Value], text: &str) -> bool {
    events.iter().any(|e| e.to_string().contains(text))
}

#[tokio::test]
async fn pulls_start_at_the_join_point_and_a_deleted_hidden_channel_stays_withheld() {
    let net = TestNetwork::start_with(&[A, B, C], |_, _| {}).await;
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let (_, carol_tok) = net.server(C).register("carol").await;
    let bob = net.server(B).client(&bob_tok);
    let g = bob.post("/guilds", json!({"name": "Pulled"})).await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid_b = s(&g.body["id"]);
    let general_b = s(&bob.get(&format!("/guilds/{gid_b}/channels")).await.body[0]["id"]);
    let inv = bob
        .post(
            &format!("/channels/{general_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    let code = s(&inv.body["code"]);

    // Alice's server joins first; then bob talks; then carol's server joins.
    let gc = join(net.server(A), &alice_tok, &code).await;
    let general_a = general_of(&gc);
    let mut alice_gw = Gw::identify(net.server(A), &alice_tok, ALL).await;
    post(&bob, &general_b, "said before carol came").await;
    let seen = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(seen["content"], "said before carol came");
    join(net.server(C), &carol_tok, &code).await;
    post(&bob, &general_b, "said after carol came").await;
    let seen = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(seen["content"], "said after carol came");

    // c asks for the whole log: it gets what followed its join only.
    let c_pull = pull(&net, C, &gid_b, 0).await;
    assert!(mentions(&c_pull, "said after carol came"), "{c_pull:?}");
    assert!(
        !mentions(&c_pull, "said before carol came"),
        "a pull from 0 reached before c's join: {c_pull:?}"
    );
    // a, which joined before the message, gets it from the same request.
    let a_pull = pull(&net, A, &gid_b, 0).await;
    assert!(mentions(&a_pull, "said before carol came"), "{a_pull:?}");
    let first_c = c_pull[0]["seq"].as_u64().unwrap();
    let first_a = a_pull[0]["seq"].as_u64().unwrap();
    assert!(first_c > first_a, "c from {first_c}, a from {first_a}");

    // A channel hidden from everyone but bob, a secret in it, then the channel deleted:
    // @everyone may view channels, so judging by base permissions would leak it.
    let staff = bob
        .post(
            &format!("/guilds/{gid_b}/channels"),
            json!({"name": "staff", "permission_overwrites": [
                {"id": gid_b, "type": 0, "allow": "0", "deny": "1024"}]}),
        )
        .await;
    assert_eq!(staff.status, 201, "{staff:?}");
    let staff_b = s(&staff.body["id"]);
    post(&bob, &staff_b, "the secret of the staff room").await;
    assert_eq!(bob.delete(&format!("/channels/{staff_b}")).await.status, 200);
    post(&bob, &general_b, "after the staff room went").await;
    let seen = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(seen["content"], "after the staff room went");
    for who in [A, C] {
        let page = pull(&net, who, &gid_b, 0).await;
        assert!(
            mentions(&page, "after the staff room went"),
            "{who}: {page:?}"
        );
        assert!(
            !mentions(&page, "the secret of the staff room"),
            "the deleted hidden channel's message reached {who} by pull: {page:?}"
        );
    }
    // Nor did a ever store it.
    let hist = net
        .server(A)
        .client(&alice_tok)
        .get(&format!("/channels/{general_a}/messages?limit=10"))
        .await;
    assert!(!hist.body.to_string().contains("the secret of the staff room"));
}
