//! Threads (issue 15; Discord "Topics > Threads"): public threads from a message and without
//! one, private threads, thread members, sending in threads (SEND_MESSAGES_IN_THREADS),
//! archive and lock rules, the lists, the gateway events (THREAD_CREATE, THREAD_UPDATE,
//! THREAD_MEMBER(S)_UPDATE, GUILD_CREATE `threads`) and who does not get them (a member who
//! cannot view the parent, a non-member of a private thread), and the archiver, whose clock
//! the test passes in.

use serde_json::{Value, json};

use crate::forums::cast;
use crate::gateway::Gw;
use crate::harness::*;

const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
/// GUILDS | GUILD_MEMBERS | GUILD_MESSAGES.
const INTENTS: u64 = 1 | 2 | (1 << 9);

async fn thread_from(c: &Client, chan: &str, msg: &str, body: Value) -> Resp {
    c.post(&format!("/channels/{chan}/messages/{msg}/threads"), body)
        .await
}

async fn send(c: &Client, chan: &str, content: &str) -> Resp {
    c.post(
        &format!("/channels/{chan}/messages"),
        json!({"content": content}),
    )
    .await
}

/// `@everyone`'s permissions become `perms`.
async fn everyone(owner: &Client, g: &str, perms: u64) {
    let r = owner
        .patch(
            &format!("/guilds/{g}/roles/{g}"),
            json!({"permissions": perms.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn a_public_thread_from_a_message_takes_its_id_members_and_messages() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob_id, bob, bob_token) = (&c.bob.0, &c.bob.1, &c.bob.2);
    let mut gw = Gw::identify(&c.ts, bob_token, INTENTS).await;
    let msg = say(&c.owner, chan, "let's discuss").await;

    let r = thread_from(bob, chan, &msg, json!({"name": " plans "})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let t = r.body.clone();
    assert_eq!(t["id"], msg.as_str(), "the thread takes the message's id");
    assert_eq!(t["type"], 11);
    assert_eq!(t["name"], "plans");
    assert_eq!(t["parent_id"], chan.as_str());
    assert_eq!(t["guild_id"], g.as_str());
    assert_eq!(t["owner_id"], bob_id.as_str());
    assert_eq!(t["thread_metadata"]["archived"], false);
    assert_eq!(t["thread_metadata"]["locked"], false);
    assert_eq!(t["thread_metadata"]["auto_archive_duration"], 4320);
    assert_eq!(t["member"]["user_id"], bob_id.as_str());
    assert!(t.get("permission_overwrites").is_none(), "{t}");
    let created = gw.expect("THREAD_CREATE").await;
    assert_eq!(created["id"], msg.as_str());
    assert_eq!(created["newly_created"], true);
    let me = gw.expect("THREAD_MEMBER_UPDATE").await;
    assert_eq!(me["id"], msg.as_str());

    // One thread per message; bad input is a form error.
    assert_err(
        &thread_from(bob, chan, &msg, json!({"name": "again"})).await,
        400,
        160004,
    );
    let other = say(&c.owner, chan, "another").await;
    assert_field_error(&thread_from(bob, chan, &other, json!({})).await, "name");
    assert_field_error(
        &thread_from(
            bob,
            chan,
            &other,
            json!({"name": "x", "auto_archive_duration": 5}),
        )
        .await,
        "auto_archive_duration",
    );
    assert_err(
        &thread_from(bob, chan, "1234", json!({"name": "x"})).await,
        404,
        10008,
    );
    // Outsiders see nothing.
    assert_err(
        &thread_from(&c.outsider, chan, &other, json!({"name": "x"})).await,
        403,
        50001,
    );
    assert_err(
        &c.outsider.get(&format!("/channels/{msg}")).await,
        403,
        50001,
    );

    // Messages in the thread reach those who see it.
    let r = send(&c.owner, &msg, "in the thread").await;
    assert_eq!(r.status, 200, "{r:?}");
    let ev = gw
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == msg.as_str())
        .await;
    assert_eq!(ev["content"], "in the thread");

    // Members: the owner joins, is listed, leaves.
    let r = c
        .owner
        .put_empty(&format!("/channels/{msg}/thread-members/@me"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let upd = gw.expect("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(upd["member_count"], 2);
    let list = bob.get(&format!("/channels/{msg}/thread-members")).await;
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.body.as_array().unwrap().len(), 2, "{list:?}");
    let shown = bob.get(&format!("/channels/{msg}")).await;
    assert_eq!(shown.body["member_count"], 2, "{shown:?}");
    assert_eq!(shown.body["message_count"], 1, "{shown:?}");
    let owner_id = s(&c.owner.get("/users/@me").await.body["id"]);
    let r = c
        .owner
        .delete(&format!("/channels/{msg}/thread-members/@me"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(
        &bob.get(&format!("/channels/{msg}/thread-members/{owner_id}"))
            .await,
        404,
        10007,
    );
    let mine = bob
        .get(&format!("/channels/{msg}/thread-members/{bob_id}"))
        .await;
    assert_eq!(mine.status, 200, "{mine:?}");

    // Guild channel lists leave threads out; the active list has it.
    let chans = c.owner.get(&format!("/guilds/{g}/channels")).await;
    assert!(!ids(&chans.body).contains(&msg), "{chans:?}");
    let active = bob.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(active.status, 200, "{active:?}");
    assert_eq!(ids(&active.body["threads"]), vec![msg.clone()]);
    assert_eq!(active.body["members"][0]["user_id"], bob_id.as_str());
    assert_err(
        &c.outsider.get(&format!("/guilds/{g}/threads/active")).await,
        403,
        50001,
    );

    // Deleting needs MANAGE_THREADS.
    assert_err(&bob.delete(&format!("/channels/{msg}")).await, 403, 50013);
    let r = c.owner.delete(&format!("/channels/{msg}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let gone = gw.expect("THREAD_DELETE").await;
    assert_eq!(gone["id"], msg.as_str());
    assert_err(&bob.get(&format!("/channels/{msg}")).await, 404, 10003);
}

#[tokio::test]
async fn thread_permissions_are_the_parents_and_need_the_thread_bits() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let bob = &c.bob.1;
    let msg = say(&c.owner, chan, "topic").await;
    let t = thread_from(&c.owner, chan, &msg, json!({"name": "t"})).await;
    assert_eq!(t.status, 201, "{t:?}");

    // Without CREATE_PUBLIC_THREADS nor SEND_MESSAGES_IN_THREADS: refused, while sending in
    // the parent still works.
    everyone(
        &c.owner,
        g,
        perm::EVERYONE_DEFAULT & !perm::CREATE_PUBLIC_THREADS & !perm::SEND_MESSAGES_IN_THREADS,
    )
    .await;
    let other = say(&c.owner, chan, "another").await;
    assert_err(
        &thread_from(bob, chan, &other, json!({"name": "x"})).await,
        403,
        50013,
    );
    assert_err(
        &bob.post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "x", "type": 11}),
        )
        .await,
        403,
        50013,
    );
    assert_err(&send(bob, &msg, "in thread").await, 403, 50013);
    assert_eq!(send(bob, chan, "in parent").await.status, 200);
    // Private threads need CREATE_PRIVATE_THREADS (not granted by default).
    everyone(&c.owner, g, perm::EVERYONE_DEFAULT).await;
    assert_err(
        &bob.post(&format!("/channels/{chan}/threads"), json!({"name": "p"}))
            .await,
        403,
        50013,
    );
    assert_eq!(send(bob, &msg, "in thread").await.status, 200);
    // A thread inside a thread is refused.
    let r = thread_from(bob, &msg, "1", json!({"name": "nested"})).await;
    assert_err(&r, 400, 50024);
}

#[tokio::test]
async fn a_hidden_parent_hides_its_threads_everywhere() {
    let c = cast().await;
    let g = &c.guild.id;
    let (carol_id, carol, carol_token) = (&c.carol.0, &c.carol.1, &c.carol.2);
    let bob_token = &c.bob.2;
    let secret = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "secret", "type": 0}),
        )
        .await;
    assert_eq!(secret.status, 201, "{secret:?}");
    let secret = s(&secret.body["id"]);
    let r = c
        .owner
        .put(
            &format!("/channels/{secret}/permissions/{carol_id}"),
            json!({"type": 1, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let mut bob_gw = Gw::identify(&c.ts, bob_token, INTENTS).await;
    let mut carol_gw = Gw::identify(&c.ts, carol_token, INTENTS).await;

    let t = c
        .owner
        .post(
            &format!("/channels/{secret}/threads"),
            json!({"name": "hush", "type": 11}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    let tid = s(&t.body["id"]);
    assert_eq!(t.body["type"], 11);
    assert_eq!(send(&c.owner, &tid, "whisper").await.status, 200);
    bob_gw.expect("THREAD_CREATE").await;
    bob_gw
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == tid.as_str())
        .await;
    // Carol gets neither: a later message in general arrives, nothing of the thread before.
    say(&c.owner, &c.guild.general, "barrier").await;
    carol_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["channel_id"] == c.guild.general.as_str()
        })
        .await;
    assert!(
        !carol_gw
            .pending
            .iter()
            .any(|v| v["t"] == "THREAD_CREATE" || v["d"]["channel_id"] == tid.as_str()),
        "carol saw the hidden thread: {:?}",
        carol_gw.pending
    );
    // REST: no access, not listed, cannot join.
    assert_err(&carol.get(&format!("/channels/{tid}")).await, 403, 50001);
    assert_err(&send(carol, &tid, "hi").await, 403, 50001);
    assert_err(
        &carol
            .put_empty(&format!("/channels/{tid}/thread-members/@me"))
            .await,
        403,
        50001,
    );
    let active = carol.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(ids(&active.body["threads"]), Vec::<String>::new());
    let active = c.bob.1.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(ids(&active.body["threads"]), vec![tid.clone()]);
    // Adding carol is refused too.
    assert_err(
        &c.owner
            .put_empty(&format!("/channels/{tid}/thread-members/{carol_id}"))
            .await,
        403,
        50001,
    );
    // GUILD_CREATE `threads` of a new session.
    let mut gw = Gw::identify(&c.ts, carol_token, INTENTS).await;
    let gc = gw.expect("GUILD_CREATE").await;
    assert_eq!(gc["threads"], json!([]), "{gc}");
    let mut gw = Gw::identify(&c.ts, bob_token, INTENTS).await;
    let gc = gw.expect("GUILD_CREATE").await;
    assert_eq!(ids(&gc["threads"]), vec![tid.clone()], "{gc}");
}

#[tokio::test]
async fn private_threads_are_seen_by_their_members_and_managers_only() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob_id, bob) = (&c.bob.0, &c.bob.1);
    let (carol_id, carol, carol_token) = (&c.carol.0, &c.carol.1, &c.carol.2);
    let role = create_role(&c.owner, g, "private", CREATE_PRIVATE_THREADS).await;
    give_role(&c.owner, g, bob_id, &role).await;
    let mut carol_gw = Gw::identify(&c.ts, carol_token, INTENTS).await;

    let t = bob
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "secret plans", "invitable": false}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    let tid = s(&t.body["id"]);
    assert_eq!(t.body["type"], 12);
    assert_eq!(t.body["thread_metadata"]["invitable"], false);
    assert_eq!(send(bob, &tid, "psst").await.status, 200);

    // Carol (no MANAGE_THREADS, not a member) sees nothing; the owner (all permissions) does.
    assert_err(&carol.get(&format!("/channels/{tid}")).await, 403, 50001);
    assert_eq!(c.owner.get(&format!("/channels/{tid}")).await.status, 200);
    let active = carol.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(ids(&active.body["threads"]), Vec::<String>::new());

    // Not invitable: bob (no MANAGE_THREADS) cannot add carol; the owner can.
    assert_err(
        &bob.put_empty(&format!("/channels/{tid}/thread-members/{carol_id}"))
            .await,
        403,
        50013,
    );
    let r = c
        .owner
        .put_empty(&format!("/channels/{tid}/thread-members/{carol_id}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let me = carol_gw.expect("THREAD_MEMBER_UPDATE").await;
    assert_eq!(me["id"], tid.as_str());
    // Discord "Thread Create": the private thread is new to her, with her thread member.
    let tc = carol_gw.expect("THREAD_CREATE").await;
    assert_eq!(
        (
            tc["id"].as_str(),
            tc["type"].as_u64(),
            tc["member"]["user_id"].as_str()
        ),
        (Some(tid.as_str()), Some(12), Some(carol_id.as_str())),
        "{tc}"
    );
    assert!(tc.get("newly_created").is_none(), "{tc}");
    assert!(
        !carol_gw
            .pending
            .iter()
            .any(|v| v["d"]["channel_id"] == tid.as_str()),
        "carol saw the thread's message before joining: {:?}",
        carol_gw.pending
    );
    assert_eq!(carol.get(&format!("/channels/{tid}")).await.status, 200);
    assert_eq!(send(bob, &tid, "welcome").await.status, 200);
    carol_gw
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == tid.as_str())
        .await;
    let active = carol.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(ids(&active.body["threads"]), vec![tid.clone()]);
    // The private thread's owner may remove members; carol may not remove bob.
    assert_err(
        &carol
            .delete(&format!("/channels/{tid}/thread-members/{bob_id}"))
            .await,
        403,
        50013,
    );
    let r = bob
        .delete(&format!("/channels/{tid}/thread-members/{carol_id}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(&carol.get(&format!("/channels/{tid}")).await, 403, 50001);
    // Archived private lists: MANAGE_THREADS for all, the joined list for members.
    let r = bob
        .patch(&format!("/channels/{tid}"), json!({"archived": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_err(
        &bob.get(&format!("/channels/{chan}/threads/archived/private"))
            .await,
        403,
        50013,
    );
    let all = c
        .owner
        .get(&format!("/channels/{chan}/threads/archived/private"))
        .await;
    assert_eq!(ids(&all.body["threads"]), vec![tid.clone()], "{all:?}");
    let joined = bob
        .get(&format!(
            "/channels/{chan}/users/@me/threads/archived/private"
        ))
        .await;
    assert_eq!(
        ids(&joined.body["threads"]),
        vec![tid.clone()],
        "{joined:?}"
    );
    let joined = carol
        .get(&format!(
            "/channels/{chan}/users/@me/threads/archived/private"
        ))
        .await;
    assert_eq!(ids(&joined.body["threads"]), Vec::<String>::new());
}

#[tokio::test]
async fn archived_and_locked_threads_follow_discords_rules() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob, bob_token) = (&c.bob.1, &c.bob.2);
    let carol = &c.carol.1;
    let mut gw = Gw::identify(&c.ts, bob_token, INTENTS).await;
    let msg = say(bob, chan, "topic").await;
    let t = thread_from(
        bob,
        chan,
        &msg,
        json!({"name": "t", "auto_archive_duration": 60}),
    )
    .await;
    assert_eq!(t.status, 201, "{t:?}");
    let tid = msg.clone();
    gw.expect("THREAD_CREATE").await;

    // Only the owner or MANAGE_THREADS renames, archives; bad values are form errors.
    assert_err(
        &carol
            .patch(&format!("/channels/{tid}"), json!({"name": "mine"}))
            .await,
        403,
        50013,
    );
    assert_field_error(
        &bob.patch(
            &format!("/channels/{tid}"),
            json!({"auto_archive_duration": 7}),
        )
        .await,
        "auto_archive_duration",
    );
    assert_err(
        &bob.patch(&format!("/channels/{tid}"), json!({"locked": true}))
            .await,
        403,
        50013,
    );
    let r = bob
        .patch(
            &format!("/channels/{tid}"),
            json!({"name": "renamed", "archived": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "renamed");
    assert_eq!(r.body["thread_metadata"]["archived"], true);
    let upd = gw.expect("THREAD_UPDATE").await;
    assert_eq!(upd["thread_metadata"]["archived"], true);

    // Archived: no messages, no member changes, no edits but unarchiving.
    assert_err(&send(bob, &tid, "hello?").await, 400, 50083);
    assert_err(
        &carol
            .put_empty(&format!("/channels/{tid}/thread-members/@me"))
            .await,
        400,
        50083,
    );
    assert_err(
        &bob.patch(&format!("/channels/{tid}"), json!({"name": "x"}))
            .await,
        400,
        50083,
    );
    let public = carol
        .get(&format!("/channels/{chan}/threads/archived/public"))
        .await;
    assert_eq!(public.status, 200, "{public:?}");
    assert_eq!(ids(&public.body["threads"]), vec![tid.clone()]);
    assert_eq!(public.body["has_more"], false);
    let active = carol.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(ids(&active.body["threads"]), Vec::<String>::new());
    // Any member who may send unarchives an unlocked thread.
    let r = carol
        .patch(&format!("/channels/{tid}"), json!({"archived": false}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(send(bob, &tid, "back").await.status, 200);

    // Locked: only MANAGE_THREADS sends or unarchives.
    let r = c
        .owner
        .patch(&format!("/channels/{tid}"), json!({"locked": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["thread_metadata"]["locked"], true);
    assert_err(&send(bob, &tid, "still here").await, 403, 160005);
    assert_eq!(send(&c.owner, &tid, "moderator").await.status, 200);
    let r = bob
        .patch(&format!("/channels/{tid}"), json!({"archived": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_err(
        &bob.patch(&format!("/channels/{tid}"), json!({"archived": false}))
            .await,
        403,
        50013,
    );
    let r = c
        .owner
        .patch(
            &format!("/channels/{tid}"),
            json!({"archived": false, "locked": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["thread_metadata"]["archived"], false);
    assert_eq!(r.body["thread_metadata"]["locked"], false);
    assert_eq!(send(bob, &tid, "unlocked").await.status, 200);
}

#[tokio::test]
async fn the_archiver_archives_idle_threads_on_its_clock() {
    let c = cast().await;
    let chan = &c.guild.general;
    let (bob, bob_token) = (&c.bob.1, &c.bob.2);
    let msg = say(bob, chan, "topic").await;
    let r = thread_from(
        bob,
        chan,
        &msg,
        json!({"name": "short", "auto_archive_duration": 60}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let other = say(bob, chan, "topic 2").await;
    let r = thread_from(
        bob,
        chan,
        &other,
        json!({"name": "long", "auto_archive_duration": 1440}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let mut gw = Gw::identify(&c.ts, bob_token, INTENTS).await;
    let now = chrono::Utc::now().timestamp_millis();

    let n =
        c.ts.hearth
            .archive_idle_threads(now + 59 * 60_000)
            .await
            .unwrap();
    assert_eq!(n, 0);
    let n =
        c.ts.hearth
            .archive_idle_threads(now + 61 * 60_000)
            .await
            .unwrap();
    assert_eq!(n, 1, "only the thread idle for more than an hour");
    let upd = gw.expect("THREAD_UPDATE").await;
    assert_eq!(upd["id"], msg.as_str());
    assert_eq!(upd["thread_metadata"]["archived"], true);
    let shown = bob.get(&format!("/channels/{msg}")).await;
    assert_eq!(shown.body["thread_metadata"]["archived"], true);
    let shown = bob.get(&format!("/channels/{other}")).await;
    assert_eq!(shown.body["thread_metadata"]["archived"], false);
    // A day later the other one goes too, once.
    assert_eq!(send(bob, &other, "still alive").await.status, 200);
    let n =
        c.ts.hearth
            .archive_idle_threads(now + 1441 * 60_000)
            .await
            .unwrap();
    assert_eq!(n, 1);
    let n =
        c.ts.hearth
            .archive_idle_threads(now + 1441 * 60_000)
            .await
            .unwrap();
    assert_eq!(n, 0, "archived threads stay archived");
}

#[tokio::test]
async fn webhooks_post_in_a_thread_of_their_channel() {
    let c = cast().await;
    let chan = &c.guild.general;
    let msg = say(&c.owner, chan, "topic").await;
    let r = thread_from(&c.owner, chan, &msg, json!({"name": "hooked"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let hook = c
        .owner
        .post(
            &format!("/channels/{chan}/webhooks"),
            json!({"name": "hook"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{hook:?}");
    let (hid, token) = (s(&hook.body["id"]), s(&hook.body["token"]));
    let anon = c.ts.anon();
    let r = anon
        .post(
            &format!("/webhooks/{hid}/{token}?wait=true&thread_id={msg}"),
            json!({"content": "into the thread"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["channel_id"], msg.as_str());
    let history = c.owner.get(&format!("/channels/{msg}/messages")).await;
    assert_eq!(history.body[0]["content"], "into the thread", "{history:?}");
    // Not a thread of the webhook's channel.
    let r = anon
        .post(
            &format!("/webhooks/{hid}/{token}?thread_id={chan}"),
            json!({"content": "x"}),
        )
        .await;
    assert_err(&r, 404, 10003);
    // Archived: refused.
    let a = c
        .owner
        .patch(&format!("/channels/{msg}"), json!({"archived": true}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let r = anon
        .post(
            &format!("/webhooks/{hid}/{token}?thread_id={msg}"),
            json!({"content": "x"}),
        )
        .await;
    assert_err(&r, 400, 50083);
}

#[tokio::test]
async fn a_resume_replays_what_was_missed_in_a_thread() {
    let c = cast().await;
    let chan = &c.guild.general;
    let bob_token = &c.bob.2;
    let msg = say(&c.owner, chan, "topic").await;
    let r = thread_from(&c.owner, chan, &msg, json!({"name": "t"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    // Without GUILD_MEMBERS: of the THREAD_MEMBERS_UPDATEs missed, only his own comes back.
    let mut gw = Gw::identify(&c.ts, bob_token, 1 | (1 << 9)).await;
    gw.expect("GUILD_CREATE").await;
    let (session, seq) = (gw.session_id.clone(), gw.seq);
    drop(gw); // no close frame: resumable
    eventually("bob's session detached", || async {
        (c.ts.gateway.session_stats().detached == 1).then_some(())
    })
    .await;
    let missed = say(&c.owner, &msg, "in the thread").await;
    for who in [&c.carol.0, &c.bob.0] {
        let r = c
            .owner
            .put_empty(&format!("/channels/{msg}/thread-members/{who}"))
            .await;
        assert_eq!(r.status, 204, "{r:?}");
    }
    let mut r = Gw::connect(&c.ts, "v=10&encoding=json").await;
    r.seq = seq;
    r.send(json!({"op": 6, "d": {"token": bob_token, "session_id": session, "seq": seq}}))
        .await;
    let mut got = vec![];
    loop {
        let v = r.next().await.expect("replay");
        assert_ne!(v["op"], 9, "the RESUME was refused: {v}");
        if v["t"] == "RESUMED" {
            break;
        }
        if v["op"] == 0 {
            got.push(v);
        }
    }
    let created: Vec<&Value> = got.iter().filter(|v| v["t"] == "MESSAGE_CREATE").collect();
    assert_eq!(created.len(), 1, "the thread message is replayed: {got:?}");
    assert_eq!(created[0]["d"]["id"], missed.as_str());
    assert_eq!(created[0]["d"]["channel_id"], msg.as_str());
    let members: Vec<&Value> = got
        .iter()
        .filter(|v| v["t"] == "THREAD_MEMBERS_UPDATE")
        .collect();
    assert_eq!(members.len(), 1, "only bob's own: {got:?}");
    assert_eq!(
        members[0]["d"]["added_members"][0]["user_id"],
        c.bob.0.as_str()
    );
}

#[tokio::test]
async fn a_public_thread_without_a_message_is_announced_in_its_parent() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob_id, bob) = (&c.bob.0, &c.bob.1);
    let mut gw = Gw::identify(&c.ts, &c.carol.2, INTENTS | (1 << 15)).await;
    let r = bob
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "ideas", "type": 11}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let tid = s(&r.body["id"]);
    gw.expect_where("THREAD_CREATE", |d| d["id"] == tid.as_str())
        .await;
    let ev = gw
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == chan.as_str())
        .await;
    assert_eq!(ev["type"], 18);
    assert_eq!(ev["content"], "ideas");
    assert_eq!(ev["author"]["id"], bob_id.as_str());
    assert!(ev["member"].is_object(), "{ev}");
    assert_eq!(
        ev["message_reference"],
        json!({"type": 0, "channel_id": tid, "guild_id": g})
    );
    // Stored in the parent's history, the latest message there.
    let hist = c
        .carol
        .1
        .get(&format!("/channels/{chan}/messages?limit=1"))
        .await;
    assert_eq!(hist.body[0]["id"], ev["id"], "{hist:?}");
    assert_eq!(hist.body[0]["type"], 18);
    assert_eq!(
        hist.body[0]["message_reference"]["channel_id"],
        tid.as_str()
    );
    let parent = c.carol.1.get(&format!("/channels/{chan}")).await;
    assert_eq!(parent.body["last_message_id"], ev["id"]);

    // A private thread is not announced (the owner makes it: CREATE_PRIVATE_THREADS is not a
    // default), nor is a thread started from a recent message (its starter message is in
    // view).
    let r = c
        .owner
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "secret", "type": 12}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let msg = say(bob, chan, "from here").await;
    let r = thread_from(bob, chan, &msg, json!({"name": "branch"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let hist = c.owner.get(&format!("/channels/{chan}/messages")).await;
    let eighteen: Vec<&Value> = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == 18)
        .collect();
    assert_eq!(eighteen.len(), 1, "{hist:?}");
    // A member who may not create threads leaves no message either.
    everyone(
        &c.owner,
        g,
        perm::EVERYONE_DEFAULT & !perm::CREATE_PUBLIC_THREADS,
    )
    .await;
    let r = c
        .carol
        .1
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "nope", "type": 11}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let hist = c
        .owner
        .get(&format!("/channels/{chan}/messages?limit=1"))
        .await;
    assert_eq!(hist.body[0]["id"], json!(msg), "{hist:?}");

    // A thread from an old message (followed by OLD_STARTER_AFTER = 5 messages) is announced.
    let old = say(bob, chan, "an old one").await;
    for i in 0..5 {
        say(bob, chan, &format!("later {i}")).await;
    }
    // (The owner starts them: @everyone lost CREATE_PUBLIC_THREADS above.)
    let r = thread_from(&c.owner, chan, &old, json!({"name": "elder"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let ev = gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["type"] == 18 && d["content"] == "elder"
        })
        .await;
    assert_eq!(ev["message_reference"]["channel_id"], old.as_str());
    let hist = c
        .owner
        .get(&format!("/channels/{chan}/messages?limit=1"))
        .await;
    assert_eq!(
        (
            hist.body[0]["type"].as_u64(),
            hist.body[0]["content"].as_str()
        ),
        (Some(18), Some("elder")),
        "{hist:?}"
    );
    // One message short of old: no announcement.
    let recent = say(bob, chan, "recent").await;
    for i in 0..4 {
        say(bob, chan, &format!("after {i}")).await;
    }
    let r = thread_from(&c.owner, chan, &recent, json!({"name": "young"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let hist = c
        .owner
        .get(&format!("/channels/{chan}/messages?limit=1"))
        .await;
    assert_eq!(hist.body[0]["content"], "after 3", "{hist:?}");
}

/// Discord's THREAD_MEMBERS_UPDATE gives each added member its guild `member` and nullable
/// `presence` (discord.js keeps the member as `ThreadMember#member`, Oceanic.js reads it; the
/// conformance scenario K found them missing). Sessions without GUILD_MEMBERS get no event.
#[tokio::test]
async fn thread_members_update_carries_the_added_member_and_presence() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob, bob_token) = (&c.bob.1, &c.bob.2);
    let (carol_id, carol_token) = (&c.carol.0, &c.carol.2);
    let owner_id = s(&c.owner.get("/users/@me").await.body["id"]);
    let mut bob_gw = Gw::identify(&c.ts, bob_token, INTENTS).await;
    let msg = say(&c.owner, chan, "topic").await;
    let t = thread_from(bob, chan, &msg, json!({"name": "topic"})).await;
    assert_eq!(t.status, 201, "{t:?}");
    let tid = s(&t.body["id"]);

    // The owner (no gateway session: offline) joins: `presence` is null.
    let r = c
        .owner
        .put_empty(&format!("/channels/{tid}/thread-members/@me"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let upd = bob_gw
        .expect_where("THREAD_MEMBERS_UPDATE", |d| d["id"] == tid.as_str())
        .await;
    let added = &upd["added_members"][0];
    assert_eq!(added["user_id"], owner_id.as_str(), "{upd}");
    assert_eq!(added["member"]["user"]["id"], owner_id.as_str(), "{upd}");
    assert!(added["member"]["joined_at"].is_string(), "{upd}");
    assert!(added["member"]["roles"].is_array(), "{upd}");
    assert!(added["member"].get("guild_id").is_none(), "{upd}");
    assert!(added.get("presence").is_some_and(Value::is_null), "{upd}");

    // Carol, online, is added by bob: her member (with her role) and her presence.
    let role = create_role(&c.owner, g, "helpers", 0).await;
    give_role(&c.owner, g, carol_id, &role).await;
    let mut carol_gw = Gw::identify(&c.ts, carol_token, INTENTS).await;
    // A second session of bob's watches without GUILD_MEMBERS (GUILDS | GUILD_MESSAGES),
    // and one of carol's.
    let mut plain_gw = Gw::identify(&c.ts, bob_token, 1 | (1 << 9)).await;
    let mut carol_plain = Gw::identify(&c.ts, carol_token, 1 | (1 << 9)).await;
    let r = bob
        .put_empty(&format!("/channels/{tid}/thread-members/{carol_id}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let upd = bob_gw
        .expect_where("THREAD_MEMBERS_UPDATE", |d| d["id"] == tid.as_str())
        .await;
    assert_eq!(upd["member_count"], 3, "{upd}");
    let added = &upd["added_members"][0];
    assert_eq!(added["user_id"], carol_id.as_str(), "{upd}");
    assert_eq!(added["id"], tid.as_str(), "{upd}");
    assert_eq!(added["member"]["user"]["id"], carol_id.as_str(), "{upd}");
    assert_eq!(added["member"]["roles"], json!([role]), "{upd}");
    assert_eq!(added["presence"]["user"]["id"], carol_id.as_str(), "{upd}");
    assert_eq!(added["presence"]["status"], "online", "{upd}");
    // Her own session gets THREAD_MEMBER_UPDATE (the thread member alone).
    let me = carol_gw.expect("THREAD_MEMBER_UPDATE").await;
    assert_eq!(me["user_id"], carol_id.as_str());
    assert!(me.get("member").is_none(), "{me}");
    // Without GUILD_MEMBERS: only the member added hears of it (Discord "Thread Members
    // Update"); bob's plain session does not (a message in the thread is the barrier).
    let mine = carol_plain.expect("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(mine["added_members"][0]["user_id"], carol_id.as_str());
    assert_eq!(send(bob, &tid, "welcome").await.status, 200);
    plain_gw
        .expect_without("MESSAGE_CREATE", "THREAD_MEMBERS_UPDATE")
        .await;
    // An outsider cannot add anyone.
    assert_err(
        &c.outsider
            .put_empty(&format!("/channels/{tid}/thread-members/{carol_id}"))
            .await,
        403,
        50001,
    );
}
