//! End-to-end: the walkthrough a new server operator follows (register, guild, channel,
//! invite, join, chat, replies, reactions, pins, history, edits, deletes, mentions, nonces,
//! slow mode), asserting on responses and on stored state through later reads.

use serde_json::{Value, json};

use crate::harness::*;

const THUMBS: &str = "%F0%9F%91%8D";

/// Two users, a guild of alice's with a `chat` channel, bob joined through an invite.
struct World {
    srv: TestServer,
    alice: Client,
    alice_id: String,
    bob: Client,
    bob_id: String,
    guild: String,
    chan: String,
}

async fn world() -> World {
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let (bob_id, bob) = srv.user("bob").await;
    let g = create_guild(&alice, "Hearth Test").await;
    let c = alice
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "chat", "type": 0}),
        )
        .await;
    assert_eq!(c.status, 201, "{c:?}");
    let chan = s(&c.body["id"]);
    join(&bob, &g.invite).await;
    World {
        srv,
        alice,
        alice_id,
        bob,
        bob_id,
        guild: g.id,
        chan,
    }
}

fn msgs(c: &str) -> String {
    format!("/channels/{c}/messages")
}

#[tokio::test]
async fn walkthrough_register_guild_invite_join_chat() {
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let (bob_id, bob) = srv.user("bob").await;

    // Who am I.
    let me = alice.get("/users/@me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], alice_id.as_str());
    assert_eq!(me.body["username"], "alice");
    assert_eq!(me.body["discriminator"], "0");
    assert_eq!(me.body["bot"], false);

    // Alice creates a guild.
    let g = alice.post("/guilds", json!({"name": "Walkthrough"})).await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid = s(&g.body["id"]);
    assert_eq!(g.body["owner_id"], alice_id.as_str());
    assert_eq!(g.body["name"], "Walkthrough");
    let roles = g.body["roles"].as_array().unwrap();
    let everyone = roles
        .iter()
        .find(|r| r["name"] == "@everyone")
        .expect("@everyone role");
    assert_eq!(everyone["id"], gid.as_str(), "@everyone id == guild id");
    assert_eq!(everyone["position"], 0);
    let p: u64 = s(&everyone["permissions"]).parse().unwrap();
    assert_eq!(p, perm::EVERYONE_DEFAULT, "@everyone permissions");
    assert_eq!(p & perm::VIEW_CHANNEL, perm::VIEW_CHANNEL);
    assert_eq!(p & perm::SEND_MESSAGES, perm::SEND_MESSAGES);
    assert_eq!(p & perm::READ_MESSAGE_HISTORY, perm::READ_MESSAGE_HISTORY);
    for bit in [
        perm::MANAGE_MESSAGES,
        perm::MENTION_EVERYONE,
        perm::PIN_MESSAGES,
        perm::ADMINISTRATOR,
        perm::MANAGE_GUILD,
        perm::MANAGE_ROLES,
        perm::MANAGE_CHANNELS,
        perm::KICK_MEMBERS,
        perm::BAN_MEMBERS,
    ] {
        assert_eq!(p & bit, 0, "@everyone must not have bit {bit:#x}");
    }
    // Stored: a later GET returns the same guild and role.
    let g2 = alice.get(&format!("/guilds/{gid}")).await;
    assert_eq!(g2.status, 200);
    assert_eq!(g2.body["roles"][0]["id"], gid.as_str());
    assert_eq!(s(&g2.body["roles"][0]["permissions"]), p.to_string());

    // A default text channel exists.
    let chans = alice.get(&format!("/guilds/{gid}/channels")).await;
    assert_eq!(chans.status, 200);
    let chans = chans.body.as_array().unwrap().clone();
    assert_eq!(chans.len(), 1, "{chans:?}");
    assert_eq!(chans[0]["type"], 0);
    assert_eq!(chans[0]["guild_id"], gid.as_str());
    let general = s(&chans[0]["id"]);
    assert_eq!(g.body["system_channel_id"], general.as_str());

    // Alice creates a channel and an invite.
    let c = alice
        .post(
            &format!("/guilds/{gid}/channels"),
            json!({"name": "Off Topic", "topic": "anything"}),
        )
        .await;
    assert_eq!(c.status, 201, "{c:?}");
    assert_eq!(c.body["name"], "off-topic");
    assert_eq!(c.body["topic"], "anything");
    let chan = s(&c.body["id"]);
    let inv = alice
        .post(
            &format!("/channels/{chan}/invites"),
            json!({"max_age": 3600}),
        )
        .await;
    assert_eq!(inv.status, 200, "{inv:?}");
    let code = s(&inv.body["code"]);
    assert_eq!(inv.body["guild"]["id"], gid.as_str());
    assert_eq!(inv.body["channel"]["id"], chan.as_str());
    assert_eq!(inv.body["max_age"], 3600);
    assert_eq!(inv.body["uses"], 0);

    // Before joining, bob cannot see the guild; the invite is visible.
    assert_err(&bob.get(&format!("/guilds/{gid}")).await, 403, 50001);
    let peek = bob.get(&format!("/invites/{code}?with_counts=true")).await;
    assert_eq!(peek.status, 200, "{peek:?}");
    assert_eq!(peek.body["guild"]["name"], "Walkthrough");
    assert_eq!(peek.body["approximate_member_count"], 1);

    // Bob joins.
    let j = bob.post(&format!("/invites/{code}"), json!({})).await;
    assert_eq!(j.status, 200, "{j:?}");
    assert_eq!(j.body["guild"]["id"], gid.as_str());
    let mine = bob.get("/users/@me/guilds").await;
    assert_eq!(ids(&mine.body), vec![gid.clone()]);
    assert_eq!(mine.body[0]["owner"], false);
    let member = alice.get(&format!("/guilds/{gid}/members/{bob_id}")).await;
    assert_eq!(member.status, 200, "{member:?}");
    assert_eq!(member.body["user"]["id"], bob_id.as_str());
    let count = alice.get(&format!("/guilds/{gid}?with_counts=true")).await;
    assert_eq!(count.body["approximate_member_count"], 2);
    let invs = alice.get(&format!("/guilds/{gid}/invites")).await;
    let used = invs
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == code.as_str())
        .unwrap()
        .clone();
    assert_eq!(used["uses"], 1);

    // They chat.
    let m1 = alice
        .post(&msgs(&chan), json!({"content": "hello bob"}))
        .await;
    assert_eq!(m1.status, 200, "{m1:?}");
    assert_eq!(m1.body["content"], "hello bob");
    assert_eq!(m1.body["author"]["id"], alice_id.as_str());
    assert_eq!(m1.body["channel_id"], chan.as_str());
    assert_eq!(m1.body["guild_id"], gid.as_str());
    assert_eq!(m1.body["type"], 0);
    assert_eq!(m1.body["pinned"], false);
    assert!(m1.body["edited_timestamp"].is_null());
    let m1_id = s(&m1.body["id"]);
    let m2 = bob.post(&msgs(&chan), json!({"content": "hi alice"})).await;
    assert_eq!(m2.status, 200, "{m2:?}");
    let m2_id = s(&m2.body["id"]);
    assert!(
        m2_id.parse::<u64>().unwrap() > m1_id.parse::<u64>().unwrap(),
        "snowflakes increase"
    );

    // Bob replies to alice.
    let reply = bob
        .post(
            &msgs(&chan),
            json!({"content": "replying", "message_reference": {"message_id": m1_id}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["type"], 19);
    assert_eq!(
        reply.body["message_reference"]["message_id"],
        m1_id.as_str()
    );
    assert_eq!(reply.body["message_reference"]["channel_id"], chan.as_str());
    assert_eq!(reply.body["referenced_message"]["id"], m1_id.as_str());
    assert_eq!(reply.body["referenced_message"]["content"], "hello bob");
    // The replied-to author is mentioned by default.
    assert_eq!(ids(&reply.body["mentions"]), vec![alice_id.clone()]);
    let reply_id = s(&reply.body["id"]);

    // History as stored: newest first, reply carries its reference.
    let hist = alice.get(&msgs(&chan)).await;
    assert_eq!(hist.status, 200);
    assert_eq!(
        ids(&hist.body),
        vec![reply_id.clone(), m2_id.clone(), m1_id.clone()]
    );
    assert_eq!(hist.body[0]["referenced_message"]["id"], m1_id.as_str());
    let ch = alice.get(&format!("/channels/{chan}")).await;
    assert_eq!(ch.body["last_message_id"], reply_id.as_str());

    // Reactions.
    let react = |c: &Client, m: &str| {
        let c = c.clone();
        let path = format!("/channels/{chan}/messages/{m}/reactions/{THUMBS}/@me");
        async move { c.put_empty(&path).await }
    };
    let r = react(&alice, &m2_id).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(react(&bob, &m2_id).await.status, 204);
    // Idempotent.
    assert_eq!(react(&bob, &m2_id).await.status, 204);
    let users = alice
        .get(&format!(
            "/channels/{chan}/messages/{m2_id}/reactions/{THUMBS}"
        ))
        .await;
    assert_eq!(users.status, 200, "{users:?}");
    let mut got = ids(&users.body);
    got.sort();
    let mut want = vec![alice_id.clone(), bob_id.clone()];
    want.sort();
    assert_eq!(got, want);
    let m = alice
        .get(&format!("/channels/{chan}/messages/{m2_id}"))
        .await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["reactions"][0]["count"], 2);
    assert_eq!(m.body["reactions"][0]["me"], true);
    assert_eq!(m.body["reactions"][0]["emoji"]["name"], "👍");
    assert!(m.body["reactions"][0]["emoji"]["id"].is_null());
    // Bob removes his; alice's view shows one left.
    let del = bob
        .delete(&format!(
            "/channels/{chan}/messages/{m2_id}/reactions/{THUMBS}/@me"
        ))
        .await;
    assert_eq!(del.status, 204);
    let m = bob.get(&format!("/channels/{chan}/messages/{m2_id}")).await;
    assert_eq!(m.body["reactions"][0]["count"], 1);
    assert_eq!(m.body["reactions"][0]["me"], false);
    // Bob cannot remove alice's reaction (MANAGE_MESSAGES).
    let r = bob
        .delete(&format!(
            "/channels/{chan}/messages/{m2_id}/reactions/{THUMBS}/{alice_id}"
        ))
        .await;
    assert_err(&r, 403, 50013);
    // Alice (owner) clears them all.
    let r = alice
        .delete(&format!("/channels/{chan}/messages/{m2_id}/reactions"))
        .await;
    assert_eq!(r.status, 204);
    let m = alice
        .get(&format!("/channels/{chan}/messages/{m2_id}"))
        .await;
    assert!(
        m.body.get("reactions").is_none() || m.body["reactions"] == json!([]),
        "{m:?}"
    );
}

#[tokio::test]
async fn pins_need_pin_messages() {
    let w = world().await;
    let chan = &w.chan;
    let m1 = say(&w.bob, chan, "pin me").await;
    let m2 = say(&w.bob, chan, "pin me too").await;
    let m3 = say(&w.alice, chan, "and me").await;

    // Alice pins with the new route...
    let r = w
        .alice
        .put_empty(&format!("/channels/{chan}/messages/pins/{m1}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // ... and with the old one.
    let r = w
        .alice
        .put_empty(&format!("/channels/{chan}/pins/{m2}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    let new = w.bob.get(&format!("/channels/{chan}/messages/pins")).await;
    assert_eq!(new.status, 200, "{new:?}");
    let items = new.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // Most recently pinned first.
    assert_eq!(items[0]["message"]["id"], m2.as_str());
    assert_eq!(items[1]["message"]["id"], m1.as_str());
    assert!(items[0]["pinned_at"].is_string());
    assert_eq!(items[0]["message"]["pinned"], true);
    assert_eq!(new.body["has_more"], false);
    let old = w.bob.get(&format!("/channels/{chan}/pins")).await;
    assert_eq!(old.status, 200);
    assert_eq!(ids(&old.body), vec![m2.clone(), m1.clone()]);
    let ch = w.bob.get(&format!("/channels/{chan}")).await;
    assert!(ch.body["last_pin_timestamp"].is_string(), "{ch:?}");
    // Pagination of the new route.
    let page = w
        .bob
        .get(&format!("/channels/{chan}/messages/pins?limit=1"))
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["has_more"], true);

    // Bob lacks PIN_MESSAGES.
    let r = w
        .bob
        .put_empty(&format!("/channels/{chan}/messages/pins/{m3}"))
        .await;
    assert_err(&r, 403, 50013);
    let r = w
        .bob
        .put_empty(&format!("/channels/{chan}/pins/{m3}"))
        .await;
    assert_err(&r, 403, 50013);
    let r = w
        .bob
        .delete(&format!("/channels/{chan}/messages/pins/{m1}"))
        .await;
    assert_err(&r, 403, 50013);
    let m = w.bob.get(&format!("/channels/{chan}/messages/{m3}")).await;
    assert_eq!(m.body["pinned"], false);

    // With a role carrying PIN_MESSAGES (1 << 51) he can.
    let role = create_role(&w.alice, &w.guild, "pinner", perm::PIN_MESSAGES).await;
    let roles = w.alice.get(&format!("/guilds/{}/roles", w.guild)).await;
    let pinner = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == role.as_str())
        .unwrap()
        .clone();
    assert_eq!(s(&pinner["permissions"]), (1u64 << 51).to_string());
    give_role(&w.alice, &w.guild, &w.bob_id, &role).await;
    let r = w
        .bob
        .put_empty(&format!("/channels/{chan}/messages/pins/{m3}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = w.bob.delete(&format!("/channels/{chan}/pins/{m1}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    let old = w.alice.get(&format!("/channels/{chan}/pins")).await;
    assert_eq!(ids(&old.body), vec![m3.clone(), m2.clone()]);
    let m = w
        .alice
        .get(&format!("/channels/{chan}/messages/{m1}"))
        .await;
    assert_eq!(m.body["pinned"], false);

    // Pins are audited.
    let log = w
        .alice
        .get(&format!("/guilds/{}/audit-logs?action_type=74", w.guild))
        .await;
    assert_eq!(log.status, 200);
    assert_eq!(log.body["audit_log_entries"].as_array().unwrap().len(), 3);
    let log = w
        .alice
        .get(&format!("/guilds/{}/audit-logs?action_type=75", w.guild))
        .await;
    assert_eq!(log.body["audit_log_entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn history_paging_before_after_around_and_limits() {
    let w = world().await;
    let mut sent = vec![];
    for i in 0..10 {
        let c = if i % 2 == 0 { &w.alice } else { &w.bob };
        sent.push(say(c, &w.chan, &format!("message {i}")).await);
    }
    let base = msgs(&w.chan);
    let get = |q: String| {
        let c = w.bob.clone();
        async move { c.get(&q).await }
    };
    let rev = |v: &[String]| v.iter().rev().cloned().collect::<Vec<_>>();

    // Default: everything, newest first.
    let r = get(base.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r.body), rev(&sent));
    // limit
    let r = get(format!("{base}?limit=3")).await;
    assert_eq!(ids(&r.body), rev(&sent[7..]));
    // before: strictly older, newest first.
    let r = get(format!("{base}?before={}&limit=2", sent[5])).await;
    assert_eq!(ids(&r.body), vec![sent[4].clone(), sent[3].clone()]);
    let r = get(format!("{base}?before={}", sent[0])).await;
    assert_eq!(r.body, json!([]));
    // after: strictly newer, the oldest ones after the bound, newest first.
    let r = get(format!("{base}?after={}&limit=2", sent[2])).await;
    assert_eq!(ids(&r.body), vec![sent[4].clone(), sent[3].clone()]);
    let r = get(format!("{base}?after={}", sent[9])).await;
    assert_eq!(r.body, json!([]));
    // around: includes the message itself, split on both sides.
    let r = get(format!("{base}?around={}&limit=4", sent[5])).await;
    let got = ids(&r.body);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.contains(&sent[5]));
    let mut sorted = got.clone();
    sorted.sort_by_key(|x| x.parse::<u64>().unwrap());
    assert_eq!(sorted, sent[3..7].to_vec());
    assert_eq!(got, rev(&sorted), "around is newest first");
    let r = get(format!("{base}?around={}&limit=1", sent[5])).await;
    assert_eq!(ids(&r.body), vec![sent[5].clone()]);
    // Walking back page by page visits every message once.
    let mut seen = vec![];
    let mut before: Option<String> = None;
    loop {
        let q = match &before {
            Some(b) => format!("{base}?limit=4&before={b}"),
            None => format!("{base}?limit=4"),
        };
        let page = ids(&get(q).await.body);
        if page.is_empty() {
            break;
        }
        before = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(seen, rev(&sent));
    // Limits out of range.
    for bad in ["0", "101", "-1"] {
        let r = get(format!("{base}?limit={bad}")).await;
        assert_field_error(&r, "limit");
    }
    let r = get(format!("{base}?limit=100")).await;
    assert_eq!(r.status, 200);
    let r = get(format!("{base}?limit=abc")).await;
    assert_err(&r, 400, 50035);
}

#[tokio::test]
async fn edit_only_by_author() {
    let w = world().await;
    let m = say(&w.bob, &w.chan, "first draft").await;
    let path = format!("/channels/{}/messages/{m}", w.chan);
    let e = w.bob.patch(&path, json!({"content": "final"})).await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(e.body["content"], "final");
    assert!(e.body["edited_timestamp"].is_string());
    // Someone else (even the owner) cannot edit it.
    let e = w.alice.patch(&path, json!({"content": "hacked"})).await;
    assert_err(&e, 403, 50005);
    let got = w.alice.get(&path).await;
    assert_eq!(got.body["content"], "final");
    assert!(got.body["edited_timestamp"].is_string());
    // Editing to empty is refused.
    let e = w.bob.patch(&path, json!({"content": ""})).await;
    assert_err(&e, 400, 50006);
    assert_eq!(w.bob.get(&path).await.body["content"], "final");
}

#[tokio::test]
async fn delete_by_author_and_by_moderator_is_audited() {
    let w = world().await;
    let (carol_id, carol) = w.srv.user("carol").await;
    let inv = create_invite(&w.alice, &w.chan).await;
    join(&carol, &inv).await;
    let by_author = say(&w.bob, &w.chan, "oops").await;
    let by_mod = say(&w.bob, &w.chan, "spam").await;
    let path = |m: &str| format!("/channels/{}/messages/{m}", w.chan);

    // The author deletes their own message.
    let d = w.bob.delete(&path(&by_author)).await;
    assert_eq!(d.status, 204, "{d:?}");
    assert_err(&w.bob.get(&path(&by_author)).await, 404, 10008);
    assert_err(&w.bob.delete(&path(&by_author)).await, 404, 10008);

    // Carol, without MANAGE_MESSAGES, cannot delete bob's message.
    assert_err(&carol.delete(&path(&by_mod)).await, 403, 50013);
    assert_eq!(w.bob.get(&path(&by_mod)).await.status, 200);

    // With a MANAGE_MESSAGES role she can, and the reason is recorded.
    let role = create_role(&w.alice, &w.guild, "mods", perm::MANAGE_MESSAGES).await;
    give_role(&w.alice, &w.guild, &carol_id, &role).await;
    let d = carol
        .raw(
            reqwest::Method::DELETE,
            &path(&by_mod),
            None,
            &[("X-Audit-Log-Reason", "spam%20cleanup")],
        )
        .await;
    assert_eq!(d.status, 204, "{d:?}");
    assert_err(&w.alice.get(&path(&by_mod)).await, 404, 10008);
    let hist = w.alice.get(&msgs(&w.chan)).await;
    assert_eq!(hist.body, json!([]));

    let log = w
        .alice
        .get(&format!("/guilds/{}/audit-logs?action_type=72", w.guild))
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    let entries = log.body["audit_log_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "only the moderator deletion is audited");
    let e = &entries[0];
    assert_eq!(e["user_id"], carol_id.as_str());
    assert_eq!(e["target_id"], w.bob_id.as_str());
    assert_eq!(e["reason"], "spam cleanup");
    assert_eq!(e["options"]["channel_id"], w.chan.as_str());
    assert!(
        ids(&log.body["users"]).contains(&carol_id),
        "users of the log include the moderator"
    );
}

async fn create_invite(c: &Client, chan: &str) -> String {
    let r = c
        .post(
            &format!("/channels/{chan}/invites"),
            json!({"unique": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    s(&r.body["code"])
}

#[tokio::test]
async fn bulk_delete_two_to_hundred() {
    let w = world().await;
    let mut sent = vec![];
    for i in 0..5 {
        sent.push(say(&w.bob, &w.chan, &format!("m{i}")).await);
    }
    let path = format!("/channels/{}/messages/bulk-delete", w.chan);
    // Bob lacks MANAGE_MESSAGES.
    let r = w
        .bob
        .post(&path, json!({"messages": [sent[0], sent[1]]}))
        .await;
    assert_err(&r, 403, 50013);
    // Too few / too many.
    let r = w.alice.post(&path, json!({"messages": [sent[0]]})).await;
    assert_err(&r, 400, 50016);
    let r = w.alice.post(&path, json!({"messages": []})).await;
    assert_err(&r, 400, 50016);
    // Duplicates count once.
    let r = w
        .alice
        .post(&path, json!({"messages": [sent[0], sent[0]]}))
        .await;
    assert_err(&r, 400, 50016);
    let many: Vec<String> = (0..101u64)
        .map(|i| (sent[0].parse::<u64>().unwrap() + 1 + i).to_string())
        .collect();
    let r = w.alice.post(&path, json!({"messages": many})).await;
    assert_err(&r, 400, 50016);
    // Older than 14 days.
    let old = ((1u64 << 22) * 1000).to_string();
    let r = w
        .alice
        .post(&path, json!({"messages": [old, sent[0]]}))
        .await;
    assert_err(&r, 400, 50034);
    assert_eq!(ids(&w.alice.get(&msgs(&w.chan)).await.body).len(), 5);

    // Three of five.
    let r = w
        .alice
        .raw(
            reqwest::Method::POST,
            &path,
            Some(serde_json::to_vec(&json!({"messages": [sent[0], sent[2], sent[4]]})).unwrap()),
            &[("X-Audit-Log-Reason", "cleanup")],
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let left = ids(&w.alice.get(&msgs(&w.chan)).await.body);
    assert_eq!(left, vec![sent[3].clone(), sent[1].clone()]);
    let log = w
        .alice
        .get(&format!("/guilds/{}/audit-logs?action_type=73", w.guild))
        .await;
    let e = &log.body["audit_log_entries"][0];
    assert_eq!(e["options"]["count"], "3");
    assert_eq!(e["reason"], "cleanup");
    // 100 is allowed (ids that do not exist are skipped).
    let hundred: Vec<String> = std::iter::once(sent[1].clone())
        .chain((0..99u64).map(|i| (sent[4].parse::<u64>().unwrap() + 1 + i).to_string()))
        .collect();
    let r = w.alice.post(&path, json!({"messages": hundred})).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        ids(&w.alice.get(&msgs(&w.chan)).await.body),
        vec![sent[3].clone()]
    );
}

#[tokio::test]
async fn mentions_and_allowed_mentions() {
    let w = world().await;
    let (outsider_id, _outsider) = w.srv.user("outsider").await;
    let post = |c: &Client, body: Value| {
        let c = c.clone();
        let path = msgs(&w.chan);
        async move {
            let r = c.post(&path, body).await;
            assert_eq!(r.status, 200, "{r:?}");
            r.body
        }
    };
    // <@id> and <@!id> of a member are parsed; non-members and garbage are not.
    let m = post(
        &w.alice,
        json!({"content": format!("hey <@{}> and <@!{}> and <@{}> and <@nope>", w.bob_id, w.bob_id, outsider_id)}),
    )
    .await;
    assert_eq!(ids(&m["mentions"]), vec![w.bob_id.clone()]);
    assert_eq!(m["mentions"][0]["username"], "bob");
    let stored = w
        .bob
        .get(&format!("/channels/{}/messages/{}", w.chan, s(&m["id"])))
        .await;
    assert_eq!(ids(&stored.body["mentions"]), vec![w.bob_id.clone()]);

    // allowed_mentions.parse = [] suppresses them.
    let m = post(
        &w.alice,
        json!({"content": format!("quiet <@{}>", w.bob_id), "allowed_mentions": {"parse": []}}),
    )
    .await;
    assert_eq!(m["mentions"], json!([]));
    // An explicit users list allows them again.
    let m = post(
        &w.alice,
        json!({"content": format!("loud <@{}>", w.bob_id), "allowed_mentions": {"parse": [], "users": [w.bob_id]}}),
    )
    .await;
    assert_eq!(ids(&m["mentions"]), vec![w.bob_id.clone()]);

    // @everyone needs MENTION_EVERYONE: bob (default perms) does not ping, alice (owner) does.
    let m = post(&w.bob, json!({"content": "@everyone look"})).await;
    assert_eq!(m["mention_everyone"], false);
    let m = post(&w.alice, json!({"content": "@everyone look"})).await;
    assert_eq!(m["mention_everyone"], true);
    let m = post(
        &w.alice,
        json!({"content": "@everyone hush", "allowed_mentions": {"parse": ["users"]}}),
    )
    .await;
    assert_eq!(m["mention_everyone"], false);

    // Roles: a non-mentionable role is only mentioned by someone with MENTION_EVERYONE.
    let role = create_role(&w.alice, &w.guild, "team", 0).await;
    let m = post(&w.bob, json!({"content": format!("<@&{role}> ping")})).await;
    assert_eq!(m["mention_roles"], json!([]));
    let m = post(&w.alice, json!({"content": format!("<@&{role}> ping")})).await;
    assert_eq!(m["mention_roles"], json!([role.clone()]));
    let r = w
        .alice
        .patch(
            &format!("/guilds/{}/roles/{role}", w.guild),
            json!({"mentionable": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    let m = post(&w.bob, json!({"content": format!("<@&{role}> ping")})).await;
    assert_eq!(m["mention_roles"], json!([role.clone()]));

    // Replies: replied_user false does not ping the author.
    let target = say(&w.alice, &w.chan, "reply to me").await;
    let m = post(
        &w.bob,
        json!({"content": "sure", "message_reference": {"message_id": target}, "allowed_mentions": {"parse": [], "replied_user": false}}),
    )
    .await;
    assert_eq!(m["type"], 19);
    assert_eq!(m["mentions"], json!([]));
    // A reply to an unknown message fails unless fail_if_not_exists is false.
    let r = w
        .bob
        .post(
            &msgs(&w.chan),
            json!({"content": "x", "message_reference": {"message_id": "12345"}}),
        )
        .await;
    assert_field_error(&r, "message_reference");
    let m = post(
        &w.bob,
        json!({"content": "x", "message_reference": {"message_id": "12345", "fail_if_not_exists": false}}),
    )
    .await;
    assert_eq!(m["type"], 0);
}

#[tokio::test]
async fn enforce_nonce_deduplicates() {
    let w = world().await;
    let path = msgs(&w.chan);
    let a = w
        .bob
        .post(
            &path,
            json!({"content": "once", "nonce": "n-1", "enforce_nonce": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["nonce"], "n-1");
    let b = w
        .bob
        .post(
            &path,
            json!({"content": "once again", "nonce": "n-1", "enforce_nonce": true}),
        )
        .await;
    assert_eq!(b.status, 200, "{b:?}");
    assert_eq!(b.body["id"], a.body["id"], "same message returned");
    assert_eq!(b.body["content"], "once");
    assert_eq!(ids(&w.bob.get(&path).await.body).len(), 1);
    // Integer nonces work too.
    let c = w
        .bob
        .post(
            &path,
            json!({"content": "int", "nonce": 42, "enforce_nonce": true}),
        )
        .await;
    let d = w
        .bob
        .post(
            &path,
            json!({"content": "int", "nonce": 42, "enforce_nonce": true}),
        )
        .await;
    assert_eq!(c.body["id"], d.body["id"]);
    // Another author with the same nonce gets their own message.
    let e = w
        .alice
        .post(
            &path,
            json!({"content": "mine", "nonce": "n-1", "enforce_nonce": true}),
        )
        .await;
    assert_ne!(e.body["id"], a.body["id"]);
    // Without enforce_nonce, a repeated nonce is a new message.
    let f = w
        .bob
        .post(&path, json!({"content": "dup", "nonce": "n-1"}))
        .await;
    assert_ne!(f.body["id"], a.body["id"]);
    assert_eq!(ids(&w.bob.get(&path).await.body).len(), 4);
    // A nonce over 25 characters is invalid.
    let g = w
        .bob
        .post(&path, json!({"content": "x", "nonce": "a".repeat(26)}))
        .await;
    assert_field_error(&g, "nonce");
}

#[tokio::test]
async fn slow_mode_limits_members_not_owner() {
    let w = world().await;
    let r = w
        .alice
        .patch(
            &format!("/channels/{}", w.chan),
            json!({"rate_limit_per_user": 30}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["rate_limit_per_user"], 30);
    let ch = w.bob.get(&format!("/channels/{}", w.chan)).await;
    assert_eq!(ch.body["rate_limit_per_user"], 30);

    let path = msgs(&w.chan);
    let first = w.bob.post(&path, json!({"content": "one"})).await;
    assert_eq!(first.status, 200);
    let second = w.bob.post(&path, json!({"content": "two"})).await;
    assert_eq!(second.status, 429, "{second:?}");
    assert_eq!(second.code(), 20016);
    let retry = second.body["retry_after"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 30.0, "retry_after {retry}");
    assert_eq!(second.body["global"], false);
    assert!(second.header("retry-after").is_some());
    // The owner is exempt.
    for i in 0..3 {
        let r = w
            .alice
            .post(&path, json!({"content": format!("owner {i}")}))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    // Only bob's first message was stored.
    let hist = w.alice.get(&path).await;
    let bobs: Vec<&Value> = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"]["id"] == w.bob_id.as_str())
        .collect();
    assert_eq!(bobs.len(), 1);
    // Slow mode is per channel: bob can post elsewhere.
    let other = w
        .alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": "fast"}),
        )
        .await;
    let r = w
        .bob
        .post(&msgs(&s(&other.body["id"])), json!({"content": "here"}))
        .await;
    assert_eq!(r.status, 200);
    // Out-of-range values are refused.
    let r = w
        .alice
        .patch(
            &format!("/channels/{}", w.chan),
            json!({"rate_limit_per_user": 21601}),
        )
        .await;
    assert_field_error(&r, "rate_limit_per_user");
}

#[tokio::test]
async fn leave_kick_and_typing() {
    let w = world().await;
    // Typing works for members (204), not for outsiders.
    let r = w
        .bob
        .post(&format!("/channels/{}/typing", w.chan), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // The owner cannot leave.
    let r = w
        .alice
        .delete(&format!("/users/@me/guilds/{}", w.guild))
        .await;
    assert_err(&r, 400, 50055);
    // Bob leaves, then cannot read the channel.
    let r = w
        .bob
        .delete(&format!("/users/@me/guilds/{}", w.guild))
        .await;
    assert_eq!(r.status, 204);
    assert_err(&w.bob.get(&msgs(&w.chan)).await, 403, 50001);
    assert_err(
        &w.alice
            .get(&format!("/guilds/{}/members/{}", w.guild, w.bob_id))
            .await,
        404,
        10007,
    );
    assert_eq!(w.bob.get("/users/@me/guilds").await.body, json!([]));
    let _ = &w.alice_id;
}

/// Group commit: concurrent sends are each acknowledged with a distinct id, history holds
/// every one of them, the channel's `last_message_id` is the newest, and a member's gateway
/// receives the MESSAGE_CREATE events in id order with the ids and timestamps of the
/// responses.
#[tokio::test]
async fn concurrent_sends_commit_in_id_order_and_events_follow_it() {
    use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
    let w = world().await;
    let (_, carol_tok) = w.srv.register("carol").await;
    let carol = w.srv.client(&carol_tok);
    let inv = create_invite(&w.alice, &w.chan).await;
    join(&carol, &inv).await;
    let mut gw = Gw::identify(&w.srv, &carol_tok, GUILDS | GUILD_MESSAGES | (1 << 15)).await;
    const N: usize = 40;
    let mut tasks = vec![];
    for i in 0..N {
        let c = if i % 2 == 0 {
            w.alice.clone()
        } else {
            w.bob.clone()
        };
        let path = msgs(&w.chan);
        tasks.push(tokio::spawn(async move {
            c.post(&path, json!({"content": format!("burst {i}")}))
                .await
        }));
    }
    let mut sent: Vec<(u64, Value)> = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        sent.push((s(&r.body["id"]).parse().unwrap(), r.body));
    }
    sent.sort_by_key(|(id, _)| *id);
    let unique: std::collections::HashSet<u64> = sent.iter().map(|(id, _)| *id).collect();
    assert_eq!(unique.len(), N, "every send got its own id");
    // History (newest first) holds exactly these messages.
    let page = w.bob.get(&format!("{}?limit=100", msgs(&w.chan))).await;
    assert_eq!(page.status, 200, "{page:?}");
    let listed: Vec<u64> = ids(&page.body).iter().map(|i| i.parse().unwrap()).collect();
    let mut expected: Vec<u64> = sent.iter().map(|(id, _)| *id).collect();
    expected.reverse();
    assert_eq!(listed, expected);
    let chan = w.bob.get(&format!("/channels/{}", w.chan)).await;
    assert_eq!(s(&chan.body["last_message_id"]), expected[0].to_string());
    // Events arrive in id order and match the responses (id, timestamp, author, content).
    for (id, body) in &sent {
        let d = gw.expect("MESSAGE_CREATE").await;
        assert_eq!(s(&d["id"]), id.to_string(), "events in id order");
        assert_eq!(d["timestamp"], body["timestamp"]);
        assert_eq!(d["content"], body["content"]);
        assert_eq!(d["author"]["id"], body["author"]["id"]);
        assert!(d["member"]["joined_at"].is_string());
    }
}
