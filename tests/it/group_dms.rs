//! Group DMs (Discord channel type 3): creation, adding and removing recipients, leaving,
//! renaming, their gateway events and system messages, READY's `private_channels`, what
//! works as in 1:1 DMs, and the refusals (outsiders, non-owners, the 10-user limit, blocks,
//! bots, users of other servers).

use hearth_testkit::build::bot_application;
use serde_json::{Value, json};

use crate::gateway::{DIRECT_MESSAGES, Gw};
use crate::harness::{Client, TestServer, assert_err, assert_field_error, assert_ok, ids, s};

const GUILDS: u64 = 1;

struct World {
    ts: TestServer,
    alice: Client,
    alice_id: String,
    bob: Client,
    bob_id: String,
    bob_tok: String,
    carol: Client,
    carol_id: String,
    carol_tok: String,
}

async fn world() -> World {
    let ts = TestServer::start().await;
    let (alice_id, alice_tok) = ts.register("alice").await;
    let (bob_id, bob_tok) = ts.register("bob").await;
    let (carol_id, carol_tok) = ts.register("carol").await;
    World {
        alice: ts.client(&alice_tok),
        bob: ts.client(&bob_tok),
        carol: ts.client(&carol_tok),
        ts,
        alice_id,
        bob_id,
        bob_tok,
        carol_id,
        carol_tok,
    }
}

async fn group(c: &Client, recipients: &[&str]) -> Value {
    let r = c
        .post("/users/@me/channels", json!({"recipients": recipients}))
        .await;
    assert_ok(&r);
    r.body
}

fn recipient_ids(ch: &Value) -> Vec<String> {
    let mut v = ids(&ch["recipients"]);
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn create_add_rename_remove_leave_with_events() {
    let w = world().await;
    let mut gb = Gw::identify(&w.ts, &w.bob_tok, DIRECT_MESSAGES).await;
    let mut gc = Gw::identify(&w.ts, &w.carol_tok, DIRECT_MESSAGES).await;
    let g = group(&w.alice, &[&w.bob_id]).await;
    // One recipient is the 1:1 DM, as Discord's client API.
    assert_eq!(g["type"], 1);
    let g = w
        .alice
        .post(
            "/users/@me/channels",
            json!({"recipients": [w.bob_id, w.carol_id], "name": "  plans "}),
        )
        .await;
    assert_ok(&g);
    let g = g.body;
    let id = s(&g["id"]);
    assert_eq!(g["type"], 3);
    assert_eq!(g["owner_id"], w.alice_id.as_str());
    assert_eq!(g["name"], "plans");
    assert!(g["icon"].is_null());
    assert_eq!(recipient_ids(&g), sorted(&[&w.bob_id, &w.carol_id]));
    // Each recipient gets CHANNEL_CREATE listing the others.
    let e = gb.expect("CHANNEL_CREATE").await;
    assert_eq!(e["id"], id.as_str());
    assert_eq!(recipient_ids(&e), sorted(&[&w.alice_id, &w.carol_id]));
    gc.expect("CHANNEL_CREATE").await;

    // Everyone chats as in a DM.
    let m = w
        .bob
        .post(
            &format!("/channels/{id}/messages"),
            json!({"content": "hi all"}),
        )
        .await;
    assert_ok(&m);
    let e = gc.expect("MESSAGE_CREATE").await;
    assert_eq!(e["content"], "hi all");
    assert!(e.get("guild_id").is_none() || e["guild_id"].is_null());

    // Rename by a non-owner recipient: CHANNEL_UPDATE and a CHANNEL_NAME_CHANGE message.
    let r = w
        .carol
        .patch(&format!("/channels/{id}"), json!({"name": "weekend"}))
        .await;
    assert_ok(&r);
    assert_eq!(r.body["name"], "weekend");
    let e = gb.expect("CHANNEL_UPDATE").await;
    assert_eq!(e["name"], "weekend");
    let e = gb.expect_where("MESSAGE_CREATE", |m| m["type"] == 4).await;
    assert_eq!(e["content"], "weekend");
    assert_eq!(e["author"]["id"], w.carol_id.as_str());
    let r = w
        .carol
        .patch(&format!("/channels/{id}"), json!({"name": "x".repeat(101)}))
        .await;
    assert_field_error(&r, "name");

    // Bob adds Dave: Dave gets CHANNEL_CREATE, the others CHANNEL_RECIPIENT_ADD and type 1.
    let (dave_id, dave_tok) = w.ts.register("dave").await;
    let dave = w.ts.client(&dave_tok);
    let mut gd = Gw::identify(&w.ts, &dave_tok, DIRECT_MESSAGES).await;
    let r = w
        .bob
        .put_empty(&format!("/channels/{id}/recipients/{dave_id}"))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let e = gd.expect("CHANNEL_CREATE").await;
    assert_eq!(e["id"], id.as_str());
    assert_eq!(
        recipient_ids(&e),
        sorted(&[&w.alice_id, &w.bob_id, &w.carol_id])
    );
    let e = gc.expect("CHANNEL_RECIPIENT_ADD").await;
    assert_eq!(e["channel_id"], id.as_str());
    assert_eq!(e["user"]["id"], dave_id.as_str());
    let e = gc.expect_where("MESSAGE_CREATE", |m| m["type"] == 1).await;
    assert_eq!(e["author"]["id"], w.bob_id.as_str());
    assert_eq!(e["mentions"][0]["id"], dave_id.as_str());
    // Adding again changes nothing.
    let r = w
        .bob
        .put_empty(&format!("/channels/{id}/recipients/{dave_id}"))
        .await;
    assert_eq!(r.status, 204);
    // Dave reads the history, system messages included.
    let h = dave.get(&format!("/channels/{id}/messages")).await;
    assert_ok(&h);
    let kinds: Vec<i64> = h
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_i64().unwrap())
        .collect();
    assert_eq!(kinds, vec![1, 4, 0]);

    // Only the owner removes others.
    let r = w
        .bob
        .delete(&format!("/channels/{id}/recipients/{}", w.carol_id))
        .await;
    assert_err(&r, 403, 50013);
    let r = w
        .alice
        .delete(&format!("/channels/{id}/recipients/{dave_id}"))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let e = gd.expect("CHANNEL_DELETE").await;
    assert_eq!(e["id"], id.as_str());
    let e = gc.expect("CHANNEL_RECIPIENT_REMOVE").await;
    assert_eq!(e["user"]["id"], dave_id.as_str());
    let e = gc.expect_where("MESSAGE_CREATE", |m| m["type"] == 2).await;
    assert_eq!(e["mentions"][0]["id"], dave_id.as_str());
    // The removed user can neither read nor send any more.
    let r = dave.get(&format!("/channels/{id}/messages")).await;
    assert_err(&r, 403, 50001);
    let r = dave
        .post(
            &format!("/channels/{id}/messages"),
            json!({"content": "still here?"}),
        )
        .await;
    assert_err(&r, 403, 50001);
    let r = dave.get(&format!("/channels/{id}")).await;
    assert_err(&r, 403, 50001);
    let r = dave
        .post(&format!("/channels/{id}/typing"), json!({}))
        .await;
    assert_err(&r, 403, 50001);
    assert!(
        !ids(&dave.get("/users/@me/channels").await.body).contains(&id),
        "the group is gone from Dave's list"
    );
    // ... and no longer receives its messages.
    w.bob
        .post(
            &format!("/channels/{id}/messages"),
            json!({"content": "after dave"}),
        )
        .await;
    let e = gc
        .expect_where("MESSAGE_CREATE", |m| m["content"] == "after dave")
        .await;
    assert_eq!(e["channel_id"], id.as_str());
    let gd2 = Gw::identify(&w.ts, &dave_tok, DIRECT_MESSAGES).await;
    assert!(!ids(&gd2.ready["private_channels"]).contains(&id));

    // The owner leaves: the ownership passes to the earliest remaining recipient (Bob).
    let r = w.alice.delete(&format!("/channels/{id}")).await;
    assert_ok(&r);
    assert_eq!(r.body["id"], id.as_str());
    let e = gb
        .expect_where("CHANNEL_RECIPIENT_REMOVE", |e| {
            e["user"]["id"] == w.alice_id.as_str()
        })
        .await;
    assert_eq!(e["channel_id"], id.as_str());
    let e = gb
        .expect_where("CHANNEL_UPDATE", |e| e["owner_id"] == w.bob_id.as_str())
        .await;
    assert_eq!(recipient_ids(&e), sorted(&[&w.carol_id]));
    gb.expect_where("MESSAGE_CREATE", |m| {
        m["type"] == 2 && m["author"]["id"] == w.alice_id.as_str()
    })
    .await;
    let g = w.bob.get(&format!("/channels/{id}")).await;
    assert_eq!(g.body["owner_id"], w.bob_id.as_str());
    assert_eq!(recipient_ids(&g.body), sorted(&[&w.carol_id]));
    // Carol leaves through the recipients route, then Bob, the last: the channel is gone.
    let r = w
        .carol
        .delete(&format!("/channels/{id}/recipients/{}", w.carol_id))
        .await;
    assert_eq!(r.status, 204);
    gc.expect_where("CHANNEL_DELETE", |c| c["id"] == id.as_str())
        .await;
    let r = w.bob.delete(&format!("/channels/{id}")).await;
    assert_ok(&r);
    gb.expect_where("CHANNEL_DELETE", |c| c["id"] == id.as_str())
        .await;
    let r = w.bob.get(&format!("/channels/{id}")).await;
    assert_err(&r, 404, 10003);
}

#[tokio::test]
async fn ready_lists_group_dms_and_dm_features_work() {
    let w = world().await;
    let g = group(&w.alice, &[&w.bob_id, &w.carol_id]).await;
    let id = s(&g["id"]);
    let gb = Gw::identify(&w.ts, &w.bob_tok, DIRECT_MESSAGES | GUILDS).await;
    let pc = gb.ready["private_channels"].as_array().unwrap();
    let c = pc
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("group in READY");
    assert_eq!(c["type"], 3);
    assert_eq!(c["owner_id"], w.alice_id.as_str());
    assert_eq!(recipient_ids(c), sorted(&[&w.alice_id, &w.carol_id]));
    let list = w.carol.get("/users/@me/channels").await;
    assert!(ids(&list.body).contains(&id));

    // Messages, edits, reactions, pins, acks and search as in a DM.
    let m = w
        .bob
        .post(
            &format!("/channels/{id}/messages"),
            json!({"content": "findable words"}),
        )
        .await;
    assert_ok(&m);
    let mid = s(&m.body["id"]);
    let r = w
        .bob
        .patch(
            &format!("/channels/{id}/messages/{mid}"),
            json!({"content": "findable edited"}),
        )
        .await;
    assert_ok(&r);
    let r = w
        .carol
        .put_empty(&format!(
            "/channels/{id}/messages/{mid}/reactions/%F0%9F%91%8D/@me"
        ))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = w
        .alice
        .put_empty(&format!("/channels/{id}/pins/{mid}"))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let pins = w.carol.get(&format!("/channels/{id}/pins")).await;
    assert_eq!(ids(&pins.body), vec![mid.clone()]);
    let r = w
        .carol
        .post(&format!("/channels/{id}/messages/{mid}/ack"), json!({}))
        .await;
    assert_ok(&r);
    let r = w
        .carol
        .post(&format!("/channels/{id}/typing"), json!({}))
        .await;
    assert_eq!(r.status, 204);
    let found = w
        .alice
        .get(&format!("/channels/{id}/messages/search?content=edited"))
        .await;
    assert_ok(&found);
    assert_eq!(found.body["total_results"], 1);
    let r = w
        .bob
        .delete(&format!("/channels/{id}/messages/{mid}"))
        .await;
    assert_eq!(r.status, 204);
    // The acked read state is in Carol's READY while she is a recipient.
    let gc = Gw::identify(&w.ts, &w.carol_tok, DIRECT_MESSAGES).await;
    let entries = gc.ready["read_state"]["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["id"] == id.as_str()),
        "{entries:?}"
    );
    assert_ok(&w.carol.delete(&format!("/channels/{id}")).await);
    let gc = Gw::identify(&w.ts, &w.carol_tok, DIRECT_MESSAGES).await;
    let entries = gc.ready["read_state"]["entries"].as_array().unwrap();
    assert!(
        !entries.iter().any(|e| e["id"] == id.as_str()),
        "{entries:?}"
    );
}

#[tokio::test]
async fn refusals_outsiders_limits_blocks_bots() {
    let w = world().await;
    let (_, eve) = w.ts.user("eve").await;
    let g = group(&w.alice, &[&w.bob_id]).await;
    // `recipients: [bob]` alone is the 1:1 DM; a group needs none or two or more.
    assert_eq!(g["type"], 1);
    let g = group(&w.alice, &[]).await;
    assert_eq!(g["type"], 3);
    assert_eq!(ids(&g["recipients"]), Vec::<String>::new());
    let id = s(&g["id"]);
    // Outsiders: 50001 everywhere, 10003 for unknown channels.
    for r in [
        eve.get(&format!("/channels/{id}")).await,
        eve.get(&format!("/channels/{id}/messages")).await,
        eve.post(&format!("/channels/{id}/messages"), json!({"content": "x"}))
            .await,
        eve.put_empty(&format!("/channels/{id}/recipients/{}", w.carol_id))
            .await,
        eve.delete(&format!("/channels/{id}/recipients/{}", w.alice_id))
            .await,
        eve.patch(&format!("/channels/{id}"), json!({"name": "mine"}))
            .await,
        eve.delete(&format!("/channels/{id}")).await,
    ] {
        assert_err(&r, 403, 50001);
    }
    let r = w.alice.put_empty("/channels/1234/recipients/1").await;
    assert_err(&r, 404, 10003);
    // Unknown users, oneself, bots.
    let r = w
        .alice
        .put_empty(&format!("/channels/{id}/recipients/4242"))
        .await;
    assert_err(&r, 404, 10013);
    let r = w
        .alice
        .post(
            "/users/@me/channels",
            json!({"recipients": [w.bob_id, "4242"]}),
        )
        .await;
    assert_err(&r, 404, 10013);
    let r = w
        .alice
        .post(
            "/users/@me/channels",
            json!({"recipients": [w.bob_id, w.alice_id]}),
        )
        .await;
    assert_err(&r, 400, 50033);
    // Removing someone who is not a recipient.
    let r = w
        .alice
        .delete(&format!("/channels/{id}/recipients/{}", w.bob_id))
        .await;
    assert_err(&r, 404, 10013);
    // A 1:1 DM is no group: 50024.
    let dm = w
        .alice
        .post("/users/@me/channels", json!({"recipient_id": w.bob_id}))
        .await;
    let r = w
        .alice
        .put_empty(&format!(
            "/channels/{}/recipients/{}",
            s(&dm.body["id"]),
            w.carol_id
        ))
        .await;
    assert_err(&r, 400, 50024);

    // Blocks either way: 50007, at creation and when adding.
    let r = w
        .carol
        .put(
            &format!("/users/@me/relationships/{}", w.alice_id),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = w
        .alice
        .post(
            "/users/@me/channels",
            json!({"recipients": [w.bob_id, w.carol_id]}),
        )
        .await;
    assert_err(&r, 403, 50007);
    let r = w
        .alice
        .put_empty(&format!("/channels/{id}/recipients/{}", w.carol_id))
        .await;
    assert_err(&r, 403, 50007);
    // Bob (not blocked by Carol) may add her to a group of Alice's; nothing enforces blocks
    // between existing recipients, as Discord.
    let r = w
        .alice
        .put_empty(&format!("/channels/{id}/recipients/{}", w.bob_id))
        .await;
    assert_eq!(r.status, 204);
    let r = w
        .bob
        .put_empty(&format!("/channels/{id}/recipients/{}", w.carol_id))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);

    // Bots can neither be added nor create group DMs (20001); the DM policy is the 1:1 rule.
    let bot = bot_application(&w.alice, "Helper", 0, None).await.unwrap();
    let r = w
        .alice
        .put_empty(&format!("/channels/{id}/recipients/{}", bot.user_id))
        .await;
    assert_err(&r, 400, 50033);
    let r = bot
        .client
        .post(
            "/users/@me/channels",
            json!({"recipients": [w.bob_id, w.carol_id]}),
        )
        .await;
    assert_err(&r, 403, 20001);
    let (_, frank) = w.ts.user("frank").await;
    let r = frank.patch("/users/@me", json!({"dm_policy": 1})).await;
    assert_ok(&r);
    let frank_id = s(&r.body["id"]);
    let r = w
        .alice
        .put_empty(&format!("/channels/{id}/recipients/{frank_id}"))
        .await;
    assert_err(&r, 403, 50007);
    let stored = w.alice.get(&format!("/channels/{id}")).await;
    assert!(!recipient_ids(&stored.body).contains(&frank_id));

    // The limit: 10 users in all.
    let mut many = vec![];
    for i in 0..9 {
        many.push(w.ts.register(&format!("user{i}")).await.0);
    }
    let mut body: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    body.push(&w.bob_id);
    let r = w
        .alice
        .post("/users/@me/channels", json!({"recipients": body}))
        .await;
    assert_field_error(&r, "recipients");
    let full = group(
        &w.alice,
        &many.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    )
    .await;
    let fid = s(&full["id"]);
    assert_eq!(full["recipients"].as_array().unwrap().len(), 9);
    let r = w
        .alice
        .put_empty(&format!("/channels/{fid}/recipients/{}", w.bob_id))
        .await;
    assert_err(&r, 400, 30004);
    let stored = w.alice.get(&format!("/channels/{fid}")).await;
    assert_eq!(stored.body["recipients"].as_array().unwrap().len(), 9);
}
