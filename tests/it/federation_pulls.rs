//! What a member server may pull from a host's guild log (spec/federation.md §8.3; the
//! former §16 items 4 and 7): a pull starts at the point the server joined, however far back
//! it asks, and the events of a channel that was deleted reach it as stubs unless the
//! overwrites the channel had let one of its members see it (never judged by base
//! permissions alone); and a second join from a member server catches its replica up
//! rather than skipping what it had not yet applied (the former item 8).

use reqwest::Method;
use serde_json::{Value, json};

use crate::federation_guilds::{A, ALL, B, C, general_of};
use crate::gateway::Gw;
use crate::harness::{Client, TestServer, eventually, s};
use crate::network::TestNetwork;

/// A signed `GET` of the host's log from `from`'s federation client, as a member server pulls.
pub(crate) async fn pull(net: &TestNetwork, from: &str, gid_b: &str, after: u64) -> Vec<Value> {
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
pub(crate) async fn join(srv: &TestServer, tok: &str, code: &str) -> Value {
    let mut gw = Gw::identify(srv, tok, ALL).await;
    let r = srv
        .client(tok)
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    gw.expect("GUILD_CREATE").await
}

/// Bob's guild on b: (bob's client, its id, its first channel, a lasting invite code).
pub(crate) async fn bobs_guild(
    net: &TestNetwork,
    bob_tok: &str,
    name: &str,
) -> (Client, String, String, String) {
    let bob = net.server(B).client(bob_tok);
    let g = bob.post("/guilds", json!({ "name": name })).await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid_b = s(&g.body["id"]);
    let general_b = s(&bob.get(&format!("/guilds/{gid_b}/channels")).await.body[0]["id"]);
    let inv = bob
        .post(
            &format!("/channels/{general_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    assert_eq!(inv.status, 200, "{inv:?}");
    let code = s(&inv.body["code"]);
    (bob, gid_b, general_b, code)
}

/// `host` stops pushing to `to`: a frozen node takes its delivery lease for `to` (released
/// with `host.hearth.db.release_lease(&claim, "frozen-node")`). Returns the lease's name.
pub(crate) async fn freeze_delivery(host: &TestServer, to: &str) -> String {
    let claim = format!("delivery:{to}");
    let hb = &host.hearth;
    eventually("a frozen node holds the delivery lease", async || {
        hb.node.give_up(&claim).await;
        let now = now_ms();
        hb.db
            .take_lease(&claim, "frozen-node", now, now + 600_000)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    claim
}

pub(crate) async fn post(c: &Client, channel: &str, content: &str) {
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
    let (bob, gid_b, general_b, code) = bobs_guild(&net, &bob_tok, "Pulled").await;

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
    assert_eq!(
        bob.delete(&format!("/channels/{staff_b}")).await.status,
        200
    );
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
    assert!(
        !hist
            .body
            .to_string()
            .contains("the secret of the staff room")
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The former §16 item 8: a second user of an already-member server joins while the host's
/// pushes to that server are held back. The join's snapshot is newer than the replica's
/// position; the replica catches up through the events in between (a message, a channel
/// deletion) instead of jumping to the snapshot and losing them.
#[tokio::test]
async fn a_second_join_catches_the_replica_up_instead_of_skipping_events() {
    let net = TestNetwork::start_with(&[A, B], |name, c| {
        if name == B {
            c.node.lease_seconds = 3;
        }
    })
    .await;
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, erin_tok) = net.server(A).register("erin").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let (bob, gid_b, general_b, code) = bobs_guild(&net, &bob_tok, "Rejoined").await;
    let old = bob
        .post(&format!("/guilds/{gid_b}/channels"), json!({"name": "old"}))
        .await;
    assert_eq!(old.status, 201, "{old:?}");
    let old_b = s(&old.body["id"]);

    let gc = join(net.server(A), &alice_tok, &code).await;
    let gid_a = s(&gc["id"]);
    let old_a = gc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "old")
        .map(|c| s(&c["id"]))
        .expect("a knows the channel old");
    let mut alice_gw = Gw::identify(net.server(A), &alice_tok, ALL).await;
    post(&bob, &general_b, "delivered normally").await;
    let seen = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(seen["content"], "delivered normally");

    // b stops pushing to a: another (frozen) node holds the delivery lease for a.
    let claim = freeze_delivery(net.server(B), A).await;
    let hb = &net.server(B).hearth;
    post(&bob, &general_b, "said while a was not pushed to").await;
    assert_eq!(bob.delete(&format!("/channels/{old_b}")).await.status, 200);

    // erin, of the same server, joins: the snapshot is past a's replica position.
    join(net.server(A), &erin_tok, &code).await;
    let seen = alice_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["content"] == "said while a was not pushed to"
        })
        .await;
    assert_eq!(seen["channel_id"], general_of(&gc).as_str());
    let gone = alice_gw.expect("CHANNEL_DELETE").await;
    assert_eq!(gone["id"], old_a.as_str());
    let chans = net
        .server(A)
        .client(&alice_tok)
        .get(&format!("/guilds/{gid_a}/channels"))
        .await;
    assert_eq!(chans.status, 200, "{chans:?}");
    assert!(
        !chans.body.to_string().contains(&old_a),
        "the deleted channel survived the second join: {:?}",
        chans.body
    );

    // The lease comes back to b; later events arrive once each.
    hb.db.release_lease(&claim, "frozen-node").await.unwrap();
    post(&bob, &general_b, "after the pause").await;
    let seen = alice_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "after the pause")
        .await;
    assert_eq!(seen["content"], "after the pause");
    let hist = net
        .server(A)
        .client(&alice_tok)
        .get(&format!("/channels/{}/messages?limit=10", general_of(&gc)))
        .await;
    let said: Vec<&str> = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        said.iter()
            .filter(|c| **c == "said while a was not pushed to")
            .count(),
        1,
        "{said:?}"
    );
}

/// Runs one statement of each backend's flavour on a server's database.
async fn exec(srv: &TestServer, sqlite: &[&'static str], postgres: &[&'static str]) {
    match &*srv.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            for q in sqlite {
                sqlx::query(*q).execute(p).await.unwrap();
            }
        }
        hearth_db::Db::Postgres(p) => {
            for q in postgres {
                sqlx::query(*q).execute(p).await.unwrap();
            }
        }
    }
}

/// The former §16 item 10: an event the member server cannot apply (here its own database
/// refuses every reaction) is logged and skipped; the guild's later events still arrive
/// instead of the host retrying the failed one forever.
#[tokio::test]
async fn an_event_a_member_cannot_apply_does_not_block_the_guild() {
    let net = TestNetwork::start_with(&[A, B], |_, _| {}).await;
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let (bob, gid_b, general_b, code) = bobs_guild(&net, &bob_tok, "Stubborn").await;
    let gc = join(net.server(A), &alice_tok, &code).await;
    let gid_a = s(&gc["id"]);
    let mut alice_gw = Gw::identify(net.server(A), &alice_tok, ALL).await;
    let m = bob
        .post(
            &format!("/channels/{general_b}/messages"),
            json!({"content": "react to me"}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    let seen = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(seen["content"], "react to me");

    // a's database now refuses every reaction.
    exec(
        net.server(A),
        &[
            "CREATE TRIGGER refuse_reactions BEFORE INSERT ON reactions \
           BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ],
        &[
            "CREATE FUNCTION refuse_reactions() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_reactions BEFORE INSERT ON reactions \
             FOR EACH ROW EXECUTE FUNCTION refuse_reactions()",
        ],
    )
    .await;
    let r = bob
        .put(
            &format!(
                "/channels/{general_b}/messages/{}/reactions/%F0%9F%91%8D/@me",
                s(&m.body["id"])
            ),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    post(&bob, &general_b, "after the refused reaction").await;
    let seen = alice_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["content"] == "after the refused reaction"
        })
        .await;
    assert_eq!(seen["guild_id"], gid_a.as_str());
    // The refused event is stored and chained (the position is past it), not applied.
    let (head, _) = net
        .server(B)
        .hearth
        .db
        .log_head(gid_b.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let applied = net
        .server(A)
        .hearth
        .db
        .remote_guild(gid_a.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .applied_seq;
    assert_eq!(applied, head);
    let q = "SELECT COUNT(*) FROM reactions";
    let reactions: i64 = match &*net.server(A).hearth.db {
        hearth_db::Db::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await.unwrap(),
        hearth_db::Db::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await.unwrap(),
    };
    assert_eq!(reactions, 0);
}
