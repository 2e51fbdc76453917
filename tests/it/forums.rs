//! Forum and media channels (issue 15; Discord "Resources > Channel": forum fields, Forum Tag
//! Object, Channel Flags, Start Thread in Forum or Media Channel): settings and their
//! limits, posts as threads with a starter message of the thread's id, applied tags
//! (moderated tags, REQUIRE_TAG), no messages in the forum itself, PINNED, the gateway's
//! THREAD_CREATE / MESSAGE_CREATE / THREAD_UPDATE, and who is refused (the outsider, the
//! member without SEND_MESSAGES in the forum, moderated tags without MANAGE_THREADS).

use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::*;

/// GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | MESSAGE_CONTENT.
pub(crate) const INTENTS: u64 = 1 | 2 | (1 << 9) | (1 << 15);
pub(crate) const MANAGE_THREADS: u64 = 1 << 34;
const REQUIRE_TAG: u64 = 1 << 4;
const HIDE_MEDIA_DOWNLOAD_OPTIONS: u64 = 1 << 15;
pub(crate) const PINNED: u64 = 1 << 1;

pub(crate) struct Cast {
    pub(crate) ts: TestServer,
    pub(crate) owner: Client,
    pub(crate) guild: Guild,
    pub(crate) bob: (String, Client, String),
    pub(crate) carol: (String, Client, String),
    pub(crate) outsider: Client,
}

/// A guild with its owner, two members and an outsider (shared with tests/it/threads.rs).
pub(crate) async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let guild = create_guild(&owner, "forums").await;
    let (bob_id, bob_token) = ts.register("bob").await;
    let (carol_id, carol_token) = ts.register("carol").await;
    let bob = ts.client(&bob_token);
    let carol = ts.client(&carol_token);
    join(&bob, &guild.invite).await;
    join(&carol, &guild.invite).await;
    let (_, outsider) = ts.user("outsider").await;
    Cast {
        ts,
        owner,
        guild,
        bob: (bob_id, bob, bob_token),
        carol: (carol_id, carol, carol_token),
        outsider,
    }
}

/// A forum with the tags `bug` and `staff` (moderated); returns the forum object.
pub(crate) async fn forum(owner: &Client, g: &str) -> Value {
    let r = owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({
                "name": "Help Desk", "type": 15, "topic": "Be kind",
                "available_tags": [
                    {"name": "bug"},
                    {"name": "staff", "moderated": true, "emoji_name": "🔒"}
                ],
                "default_reaction_emoji": {"emoji_id": null, "emoji_name": "👍"},
                "default_sort_order": 1, "default_forum_layout": 2,
                "default_thread_rate_limit_per_user": 10
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

pub(crate) fn tag(forum: &Value, name: &str) -> String {
    let t = forum["available_tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tag {name} in {forum}"));
    s(&t["id"])
}

pub(crate) async fn post(c: &Client, forum: &str, body: Value) -> Resp {
    c.post(&format!("/channels/{forum}/threads"), body).await
}

#[tokio::test]
async fn a_forum_keeps_its_settings_and_refuses_bad_ones() {
    let c = cast().await;
    let g = &c.guild.id;
    let f = forum(&c.owner, g).await;
    assert_eq!(f["type"], 15);
    assert_eq!(f["name"], "help-desk");
    assert_eq!(f["topic"], "Be kind");
    assert_eq!(f["flags"], 0);
    assert_eq!(f["default_sort_order"], 1);
    assert_eq!(f["default_forum_layout"], 2);
    assert_eq!(f["default_thread_rate_limit_per_user"], 10);
    assert_eq!(f["default_reaction_emoji"]["emoji_name"], "👍");
    let tags = f["available_tags"].as_array().unwrap();
    assert_eq!(tags.len(), 2, "{f}");
    assert_eq!(tags[1]["moderated"], true);
    assert_eq!(tags[1]["emoji_name"], "🔒");
    assert!(tags.iter().all(|t| t["id"].is_string()), "{f}");
    let fid = s(&f["id"]);
    let bug = tag(&f, "bug");

    // Stored: GET and the guild's channel list show the same.
    let got = c.bob.1.get(&format!("/channels/{fid}")).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["available_tags"], f["available_tags"]);
    let list = c.owner.get(&format!("/guilds/{g}/channels")).await;
    let listed = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|ch| ch["id"] == fid.as_str())
        .cloned()
        .unwrap();
    assert_eq!(listed["default_forum_layout"], 2);

    // PATCH: a kept tag keeps its id, a new one gets one; REQUIRE_TAG is a flag.
    let r = c
        .owner
        .patch(
            &format!("/channels/{fid}"),
            json!({"available_tags": [{"id": bug, "name": "bugs"}, {"name": "idea"}], "flags": REQUIRE_TAG}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["flags"], REQUIRE_TAG);
    assert_eq!(tag(&r.body, "bugs"), bug);
    assert_ne!(tag(&r.body, "idea"), bug);

    // Limits: 20 tags, names of 20 characters, unique names, one emoji form, layouts.
    let many: Vec<Value> = (0..21).map(|i| json!({"name": format!("t{i}")})).collect();
    let bad = |body: Value| {
        let owner = &c.owner;
        let fid = fid.clone();
        async move { owner.patch(&format!("/channels/{fid}"), body).await }
    };
    assert_field_error(
        &bad(json!({"available_tags": many})).await,
        "available_tags",
    );
    assert_field_error(
        &bad(json!({"available_tags": [{"name": "x".repeat(21)}]})).await,
        "available_tags.0.name",
    );
    assert_err(
        &bad(json!({"available_tags": [{"name": "a"}, {"name": "A"}]})).await,
        400,
        40061,
    );
    assert_field_error(
        &bad(json!({"available_tags": [{"name": "a", "emoji_id": "1", "emoji_name": "x"}]})).await,
        "available_tags.0",
    );
    assert_field_error(
        &bad(json!({"default_forum_layout": 3})).await,
        "default_forum_layout",
    );
    assert_field_error(
        &bad(json!({"flags": HIDE_MEDIA_DOWNLOAD_OPTIONS})).await,
        "flags",
    );
    // Only MANAGE_CHANNELS edits a forum.
    assert_err(
        &c.bob
            .1
            .patch(&format!("/channels/{fid}"), json!({"flags": 0}))
            .await,
        403,
        50013,
    );

    // A media channel: HIDE_MEDIA_DOWNLOAD_OPTIONS yes, a layout no.
    let m = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "clips", "type": 16, "flags": HIDE_MEDIA_DOWNLOAD_OPTIONS}),
        )
        .await;
    assert_eq!(m.status, 201, "{m:?}");
    assert_eq!(m.body["flags"], HIDE_MEDIA_DOWNLOAD_OPTIONS);
    assert!(m.body.get("default_forum_layout").is_none(), "{m:?}");
    let mid = s(&m.body["id"]);
    assert_field_error(
        &c.owner
            .patch(
                &format!("/channels/{mid}"),
                json!({"default_forum_layout": 1}),
            )
            .await,
        "default_forum_layout",
    );

    // A new session's GUILD_CREATE carries the forum as stored.
    let mut gw = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let gc = gw.expect("GUILD_CREATE").await;
    let shown = gc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ch| ch["id"] == fid.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no forum in {gc}"));
    assert_eq!(shown["flags"], REQUIRE_TAG);
    assert_eq!(shown["available_tags"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_post_is_a_thread_with_its_starter_message() {
    let c = cast().await;
    let g = &c.guild.id;
    let (bob_id, bob) = (&c.bob.0, &c.bob.1);
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let (bug, staff) = (tag(&f, "bug"), tag(&f, "staff"));
    let mut gw = Gw::identify(&c.ts, &c.carol.2, INTENTS).await;

    let r = post(
        bob,
        &fid,
        json!({"name": "It crashes", "message": {"content": "steps: ..."}, "applied_tags": [bug]}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let t = r.body.clone();
    let tid = s(&t["id"]);
    assert_eq!(t["type"], 11);
    assert_eq!(t["parent_id"], fid.as_str());
    assert_eq!(t["owner_id"], bob_id.as_str());
    assert_eq!(t["applied_tags"], json!([bug]));
    assert_eq!(
        t["rate_limit_per_user"], 10,
        "the forum's default slow mode"
    );
    assert_eq!(
        t["message"]["id"],
        tid.as_str(),
        "the starter has the thread's id"
    );
    assert_eq!(t["message"]["channel_id"], tid.as_str());
    assert_eq!(t["message"]["content"], "steps: ...");
    assert_eq!(t["member"]["user_id"], bob_id.as_str());

    let created = gw.expect("THREAD_CREATE").await;
    assert_eq!(created["id"], tid.as_str());
    assert_eq!(created["newly_created"], true);
    assert_eq!(created["applied_tags"], json!([bug]));
    assert_eq!(created["parent_id"], fid.as_str());
    let msg = gw
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == tid.as_str())
        .await;
    assert_eq!(msg["id"], tid.as_str());
    assert_eq!(msg["content"], "steps: ...");

    // Stored: the thread's history starts with it; it is not counted as a reply.
    let hist = c.carol.1.get(&format!("/channels/{tid}/messages")).await;
    assert_eq!(hist.status, 200, "{hist:?}");
    assert_eq!(ids(&hist.body), vec![tid.clone()]);
    let shown = c.carol.1.get(&format!("/channels/{tid}")).await;
    assert_eq!(shown.body["message_count"], 0, "{shown:?}");
    assert_eq!(shown.body["applied_tags"], json!([bug]));
    // Replies go in the thread.
    let reply = c
        .carol
        .1
        .post(
            &format!("/channels/{tid}/messages"),
            json!({"content": "same here"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");

    // Nothing is sent in the forum itself.
    assert_err(
        &bob.post(
            &format!("/channels/{fid}/messages"),
            json!({"content": "hi"}),
        )
        .await,
        400,
        40058,
    );
    // Bad posts: no message, unknown tag, too many tags, a thread type.
    assert_field_error(&post(bob, &fid, json!({"name": "x"})).await, "message");
    assert_field_error(
        &post(bob, &fid, json!({"message": {"content": "x"}})).await,
        "name",
    );
    assert_field_error(
        &post(
            bob,
            &fid,
            json!({"name": "x", "message": {"content": "x"}, "applied_tags": ["123"]}),
        )
        .await,
        "applied_tags.0",
    );
    assert_field_error(
        &post(
            bob,
            &fid,
            json!({"name": "x", "message": {"content": "x"}, "applied_tags": [bug, bug, bug, bug, bug, bug]}),
        )
        .await,
        "applied_tags",
    );
    assert_err(
        &post(bob, &fid, json!({"name": "x", "message": {}})).await,
        400,
        50006,
    );

    // A moderated tag needs MANAGE_THREADS, on creation and on edit.
    assert_err(
        &post(
            bob,
            &fid,
            json!({"name": "x", "message": {"content": "x"}, "applied_tags": [staff]}),
        )
        .await,
        403,
        50013,
    );
    assert_err(
        &bob.patch(
            &format!("/channels/{tid}"),
            json!({"applied_tags": [bug, staff]}),
        )
        .await,
        403,
        50013,
    );
    let r = c
        .owner
        .patch(
            &format!("/channels/{tid}"),
            json!({"applied_tags": [bug, staff]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let upd = gw
        .expect_where("THREAD_UPDATE", |d| d["id"] == tid.as_str())
        .await;
    assert_eq!(upd["applied_tags"], json!([bug, staff]));
    // The owner of the post may change its plain tags, not drop the moderated one.
    assert_err(
        &bob.patch(&format!("/channels/{tid}"), json!({"applied_tags": [bug]}))
            .await,
        403,
        50013,
    );
    // Carol is neither the owner nor a moderator.
    assert_err(
        &c.carol
            .1
            .patch(&format!("/channels/{tid}"), json!({"applied_tags": []}))
            .await,
        403,
        50013,
    );

    // REQUIRE_TAG: a post without tags is refused with Discord's error.
    let r = c
        .owner
        .patch(&format!("/channels/{fid}"), json!({"flags": REQUIRE_TAG}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_err(
        &post(bob, &fid, json!({"name": "x", "message": {"content": "x"}})).await,
        400,
        40067,
    );
    assert_err(
        &c.owner
            .patch(&format!("/channels/{tid}"), json!({"applied_tags": []}))
            .await,
        400,
        40067,
    );
}

#[tokio::test]
async fn posting_needs_send_messages_in_the_forum_and_pinning_manage_threads() {
    let c = cast().await;
    let g = &c.guild.id;
    let (carol_id, carol) = (&c.carol.0, &c.carol.1);
    let bob = &c.bob.1;
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let body = || json!({"name": "q", "message": {"content": "?"}});

    // The outsider sees nothing.
    assert_err(&post(&c.outsider, &fid, body()).await, 403, 50001);
    assert_err(
        &c.outsider.get(&format!("/channels/{fid}")).await,
        403,
        50001,
    );
    // Carol without SEND_MESSAGES in the forum (CREATE_PUBLIC_THREADS kept) is refused.
    let r = c
        .owner
        .put(
            &format!("/channels/{fid}/permissions/{carol_id}"),
            json!({"type": 1, "allow": "0", "deny": perm::SEND_MESSAGES.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(&post(carol, &fid, body()).await, 403, 50013);
    // Without CREATE_PUBLIC_THREADS but with SEND_MESSAGES, Discord's documented rule
    // (SEND_MESSAGES) lets bob post.
    let r = c
        .owner
        .patch(
            &format!("/guilds/{g}/roles/{g}"),
            json!({"permissions": (perm::EVERYONE_DEFAULT & !perm::CREATE_PUBLIC_THREADS).to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let first = post(bob, &fid, body()).await;
    assert_eq!(first.status, 201, "{first:?}");
    let first = s(&first.body["id"]);
    let second = post(&c.owner, &fid, body()).await;
    assert_eq!(second.status, 201, "{second:?}");
    let second = s(&second.body["id"]);

    // PINNED: MANAGE_THREADS only, one per forum.
    assert_err(
        &bob.patch(&format!("/channels/{first}"), json!({"flags": PINNED}))
            .await,
        403,
        50013,
    );
    let r = c
        .owner
        .patch(&format!("/channels/{first}"), json!({"flags": PINNED}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["flags"], PINNED);
    assert_err(
        &c.owner
            .patch(&format!("/channels/{second}"), json!({"flags": PINNED}))
            .await,
        400,
        30047,
    );
    let shown = bob.get(&format!("/channels/{first}")).await;
    assert_eq!(shown.body["flags"], PINNED);
    // A role with MANAGE_THREADS may unpin; flags other than PINNED are refused on a post.
    let role = create_role(&c.owner, g, "mods", MANAGE_THREADS).await;
    give_role(&c.owner, g, &c.bob.0, &role).await;
    assert_field_error(
        &bob.patch(&format!("/channels/{first}"), json!({"flags": REQUIRE_TAG}))
            .await,
        "flags",
    );
    let r = bob
        .patch(&format!("/channels/{first}"), json!({"flags": 0}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["flags"], 0);
    // A thread of a text channel has no tags.
    let t = c
        .owner
        .post(
            &format!("/channels/{}/threads", c.guild.general),
            json!({"name": "plain", "type": 11}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    assert_field_error(
        &c.owner
            .patch(
                &format!("/channels/{}", s(&t.body["id"])),
                json!({"applied_tags": []}),
            )
            .await,
        "applied_tags",
    );
    assert_field_error(
        &c.owner
            .post(
                &format!("/channels/{}/threads", c.guild.general),
                json!({"name": "plain", "type": 11, "message": {"content": "x"}}),
            )
            .await,
        "message",
    );
}

#[tokio::test]
async fn gaining_a_channel_syncs_its_active_threads() {
    let c = cast().await;
    let g = &c.guild.id;
    let (carol_id, carol_token) = (&c.carol.0, &c.carol.2);
    let secret = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "secret", "type": 0,
                   "permission_overwrites": [{"id": carol_id, "type": 1, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}]}),
        )
        .await;
    assert_eq!(secret.status, 201, "{secret:?}");
    let secret = s(&secret.body["id"]);
    let t = c
        .owner
        .post(
            &format!("/channels/{secret}/threads"),
            json!({"name": "plans", "type": 11}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    let tid = s(&t.body["id"]);
    let mut gw = Gw::identify(&c.ts, carol_token, INTENTS).await;
    let gc = gw.expect("GUILD_CREATE").await;
    assert_eq!(gc["threads"], json!([]), "{gc}");

    // Carol gains VIEW_CHANNEL: the channel, then its active threads.
    let r = c
        .owner
        .delete(&format!("/channels/{secret}/permissions/{carol_id}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let created = gw
        .expect_where("CHANNEL_CREATE", |d| d["id"] == secret.as_str())
        .await;
    assert_eq!(created["name"], "secret");
    let sync = gw.expect("THREAD_LIST_SYNC").await;
    assert_eq!(sync["guild_id"], g.as_str());
    assert_eq!(sync["channel_ids"], json!([secret]));
    assert_eq!(ids(&sync["threads"]), vec![tid.clone()]);
    assert_eq!(sync["members"], json!([]));
    // And can now read it.
    let r = c.carol.1.get(&format!("/channels/{tid}")).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn a_message_that_started_a_thread_carries_it() {
    let c = cast().await;
    let chan = &c.guild.general;
    let mut gw = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let msg = say(&c.owner, chan, "discuss").await;
    let plain = say(&c.owner, chan, "no thread").await;
    let r = c
        .owner
        .post(
            &format!("/channels/{chan}/messages/{msg}/threads"),
            json!({"name": "talk"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    // MESSAGE_UPDATE of the starter with its thread and HAS_THREAD (1 << 5).
    let upd = gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == msg.as_str())
        .await;
    assert_eq!(upd["thread"]["id"], msg.as_str());
    assert_eq!(upd["thread"]["name"], "talk");
    assert_eq!(upd["content"], "discuss");
    assert_eq!(upd["flags"].as_u64().unwrap() & (1 << 5), 1 << 5);
    // History shows it on that message only.
    let hist = c.bob.1.get(&format!("/channels/{chan}/messages")).await;
    assert_eq!(hist.status, 200, "{hist:?}");
    let find = |id: &str| {
        hist.body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(find(&msg)["thread"]["id"], msg.as_str());
    assert_eq!(find(&msg)["thread"]["parent_id"], chan.as_str());
    assert!(find(&plain).get("thread").is_none());
    let one = c
        .bob
        .1
        .get(&format!("/channels/{chan}/messages/{msg}"))
        .await;
    assert_eq!(one.body["thread"]["id"], msg.as_str(), "{one:?}");
}

/// The ids of the messages found by a guild search for `word`.
async fn found(c: &Client, g: &str, word: &str) -> Vec<String> {
    let r = c
        .get(&format!("/guilds/{g}/messages/search?content={word}"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m[0]["id"]))
        .collect()
}

#[tokio::test]
async fn thread_messages_are_searched_as_their_readers_may_see() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob_id, bob) = (&c.bob.0, &c.bob.1);
    let carol = &c.carol.1;
    // A public thread, a forum post, and a private thread of bob's.
    let t = c
        .owner
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "pub", "type": 11}),
        )
        .await;
    let public = s(&t.body["id"]);
    let in_public = say(&c.owner, &public, "zebra in public").await;
    let f = forum(&c.owner, g).await;
    let p = post(
        &c.owner,
        &s(&f["id"]),
        json!({"name": "p", "message": {"content": "zebra in a post"}}),
    )
    .await;
    assert_eq!(p.status, 201, "{p:?}");
    let starter = s(&p.body["id"]);
    let role = create_role(&c.owner, g, "private", 1 << 36).await;
    give_role(&c.owner, g, bob_id, &role).await;
    let t = bob
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    let private = s(&t.body["id"]);
    let in_private = say(bob, &private, "zebra in private").await;
    // Archived threads are searched too.
    let r = c
        .owner
        .patch(&format!("/channels/{public}"), json!({"archived": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let mut all = vec![in_public.clone(), starter.clone(), in_private.clone()];
    all.sort();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // Bob (member of the private thread) and the owner (MANAGE_THREADS) find all three.
    assert_eq!(sorted(found(bob, g, "zebra").await), all);
    assert_eq!(sorted(found(&c.owner, g, "zebra").await), all);
    // Carol does not find the private thread's message.
    let mut visible = vec![in_public.clone(), starter.clone()];
    visible.sort();
    assert_eq!(sorted(found(carol, g, "zebra").await), visible);
    // A thread's own search as well; the private one is closed to carol.
    let r = carol
        .get(&format!(
            "/channels/{private}/messages/search?content=zebra"
        ))
        .await;
    assert_err(&r, 403, 50001);
    // A hidden parent hides its threads' messages.
    let r = c
        .owner
        .put(
            &format!("/channels/{chan}/permissions/{}", c.carol.0),
            json!({"type": 1, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(found(carol, g, "zebra").await, vec![starter.clone()]);
    let r = c
        .outsider
        .get(&format!("/guilds/{g}/messages/search?content=zebra"))
        .await;
    assert_err(&r, 403, 50001);
}

#[tokio::test]
async fn a_post_takes_a_file_uploaded_to_its_forum() {
    let c = cast().await;
    let bob = &c.bob.1;
    let f = forum(&c.owner, &c.guild.id).await;
    let fid = s(&f["id"]);
    let png = crate::attachments::png();
    let r = bob
        .post(
            &format!("/channels/{fid}/attachments"),
            json!({"files": [{"id": "0", "filename": "shot.png", "file_size": png.len()}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let slot = r.body["attachments"][0].clone();
    let put = reqwest::Client::new()
        .put(s(&slot["upload_url"]))
        .body(png.clone())
        .send()
        .await
        .expect("PUT");
    assert_eq!(put.status().as_u16(), 204);
    let p = post(
        bob,
        &fid,
        json!({"name": "look", "message": {"content": "", "attachments": [
            {"id": "0", "filename": "shot.png", "uploaded_filename": s(&slot["upload_filename"])}]}}),
    )
    .await;
    assert_eq!(p.status, 201, "{p:?}");
    let tid = s(&p.body["id"]);
    let a = p.body["message"]["attachments"][0].clone();
    assert_eq!(a["filename"], "shot.png");
    assert_eq!(a["size"], png.len());
    let (st, _, bytes) = crate::attachments::fetch(&s(&a["url"])).await;
    assert_eq!((st, bytes), (200, png.clone()));
    let hist = bob.get(&format!("/channels/{tid}/messages")).await;
    assert_eq!(hist.body[0]["attachments"][0]["id"], a["id"], "{hist:?}");
}

#[tokio::test]
async fn a_post_takes_multipart_files() {
    use crate::attachments::{BOUNDARY, form, png};
    let c = cast().await;
    let bob = &c.bob.1;
    let f = forum(&c.owner, &c.guild.id).await;
    let fid = s(&f["id"]);
    let bug = tag(&f, "bug");
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let send = |channel: String, body: Vec<u8>| {
        let ct = ct.clone();
        async move {
            bob.raw(
                reqwest::Method::POST,
                &format!("/channels/{channel}/threads"),
                Some(body),
                &[("content-type", ct.as_str())],
            )
            .await
        }
    };
    let payload = json!({"name": "shots", "applied_tags": [bug],
        "message": {"content": "see", "attachments": [{"id": "1", "filename": "b.png", "description": "second"}]}});
    let p = send(
        fid.clone(),
        form(Some(payload), &[("a.png", &png()), ("b.png", &png())]),
    )
    .await;
    assert_eq!(p.status, 201, "{p:?}");
    let tid = s(&p.body["id"]);
    assert_eq!(p.body["applied_tags"], json!([bug]));
    let atts = p.body["message"]["attachments"].as_array().unwrap().clone();
    assert_eq!(atts.len(), 2, "{p:?}");
    assert_eq!(atts[0]["filename"], "a.png");
    assert_eq!(atts[1]["description"], "second");
    let (st, _, bytes) = crate::attachments::fetch(&s(&atts[1]["url"])).await;
    assert_eq!((st, bytes), (200, png()));
    let hist = bob.get(&format!("/channels/{tid}/messages")).await;
    // The same attachments (their URLs are signed afresh, with the second they are issued in).
    let unsigned = |v: &Value| {
        let mut v = v.clone();
        for a in v.as_array_mut().into_iter().flatten() {
            a.as_object_mut()
                .map(|o| (o.remove("url"), o.remove("proxy_url")));
        }
        v
    };
    assert_eq!(
        unsigned(&hist.body[0]["attachments"]),
        unsigned(&json!(atts)),
        "{hist:?}"
    );
    // Refused: a post without its name (the files are released), files on a text channel's
    // thread.
    let r = send(
        fid.clone(),
        form(
            Some(json!({"message": {"content": "x"}})),
            &[("a.png", &png())],
        ),
    )
    .await;
    assert_field_error(&r, "name");
    let r = send(
        c.guild.general.clone(),
        form(Some(json!({"name": "t", "type": 11})), &[("a.png", &png())]),
    )
    .await;
    assert_field_error(&r, "files");
    // JSON still works on the same route, and a text channel's thread has no files.
    let r = post(
        bob,
        &fid,
        json!({"name": "plain", "message": {"content": "x"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["message"]["attachments"], json!([]));
}
