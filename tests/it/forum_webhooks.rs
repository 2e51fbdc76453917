//! Webhooks of forum and media channels (Discord "Execute Webhook": `thread_name`,
//! `applied_tags`, `thread_id`): a new post whose starter message is the webhook's, a reply
//! in an existing post, and Discord's refusals (220001, 220002, 220003, moderated tags, a
//! wrong token, a member without MANAGE_WEBHOOKS).

use serde_json::json;

use crate::forums::{INTENTS, cast, forum, post, tag};
use crate::gateway::Gw;
use crate::harness::*;

const MANAGE_WEBHOOKS: u64 = 1 << 29;

async fn hook(c: &Client, channel: &str) -> (String, String) {
    let r = c
        .post(
            &format!("/channels/{channel}/webhooks"),
            json!({"name": "Feed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    (s(&r.body["id"]), s(&r.body["token"]))
}

#[tokio::test]
async fn a_webhook_creates_posts_in_its_forum() {
    let c = cast().await;
    let g = &c.guild.id;
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let (bug, staff) = (tag(&f, "bug"), tag(&f, "staff"));
    // A member without MANAGE_WEBHOOKS cannot make one there.
    let r = c
        .bob
        .1
        .post(&format!("/channels/{fid}/webhooks"), json!({"name": "x"}))
        .await;
    assert_err(&r, 403, 50013);
    let (id, token) = hook(&c.owner, &fid).await;
    let exec = format!("/webhooks/{id}/{token}?wait=true");
    let anon = c.ts.anon();
    let mut gw = Gw::identify(&c.ts, &c.carol.2, INTENTS).await;

    let r = anon
        .post(
            &exec,
            json!({"content": "release 1.2 is out", "username": "CI",
                   "thread_name": "Release 1.2", "applied_tags": [bug]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let tid = s(&r.body["id"]);
    assert_eq!(
        r.body["channel_id"],
        tid.as_str(),
        "the starter has the post's id"
    );
    assert_eq!(r.body["webhook_id"], id.as_str());
    assert_eq!(r.body["author"]["username"], "CI");
    let created = gw.expect("THREAD_CREATE").await;
    assert_eq!(created["id"], tid.as_str());
    assert_eq!(created["parent_id"], fid.as_str());
    assert_eq!(created["name"], "Release 1.2");
    assert_eq!(created["newly_created"], true);
    assert_eq!(created["owner_id"], id.as_str());
    assert_eq!(created["applied_tags"], json!([bug]));
    let msg = gw.expect("MESSAGE_CREATE").await;
    assert_eq!((&msg["id"], &msg["channel_id"]), (&json!(tid), &json!(tid)));
    // Stored: the post, its tags and its starter in the thread's history.
    let t = c.bob.1.get(&format!("/channels/{tid}")).await;
    assert_eq!(t.status, 200, "{t:?}");
    assert_eq!(t.body["type"], 11);
    assert_eq!(t.body["applied_tags"], json!([bug]));
    let hist = c.bob.1.get(&format!("/channels/{tid}/messages")).await;
    assert_eq!(ids(&hist.body), vec![tid.clone()]);
    assert_eq!(hist.body[0]["content"], "release 1.2 is out");

    // `thread_id` posts in an existing post of the forum.
    let other = post(
        &c.bob.1,
        &fid,
        json!({"name": "q", "message": {"content": "?"}}),
    )
    .await;
    let other = s(&other.body["id"]);
    let r = anon
        .post(
            &format!("{exec}&thread_id={other}"),
            json!({"content": "answer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["channel_id"], other.as_str());

    // Discord's refusals.
    assert_err(
        &anon.post(&exec, json!({"content": "x"})).await,
        400,
        220001,
    );
    assert_err(
        &anon
            .post(
                &format!("{exec}&thread_id={other}"),
                json!({"content": "x", "thread_name": "y"}),
            )
            .await,
        400,
        220002,
    );
    assert_field_error(
        &anon
            .post(&exec, json!({"content": "x", "thread_name": " "}))
            .await,
        "thread_name",
    );
    // A moderated tag needs MANAGE_THREADS, which a webhook does not hold.
    assert_err(
        &anon
            .post(
                &exec,
                json!({"content": "x", "thread_name": "y", "applied_tags": [staff]}),
            )
            .await,
        403,
        50013,
    );
    assert_field_error(
        &anon
            .post(
                &exec,
                json!({"content": "x", "thread_name": "y", "applied_tags": [g]}),
            )
            .await,
        "applied_tags.0",
    );
    assert_err(
        &anon
            .post(
                &format!("/webhooks/{id}/nottheirtoken?wait=true"),
                json!({"content": "x", "thread_name": "y"}),
            )
            .await,
        401,
        50027,
    );
    // Nothing of the refused ones was stored: the forum has the two posts only.
    let active = c.bob.1.get(&format!("/guilds/{g}/threads/active")).await;
    let mut posts = ids(&active.body["threads"]);
    posts.sort();
    let mut want = vec![tid, other];
    want.sort();
    assert_eq!(posts, want);
}

#[tokio::test]
async fn thread_name_is_for_forum_webhooks_only() {
    let c = cast().await;
    let role = create_role(&c.owner, &c.guild.id, "hooks", MANAGE_WEBHOOKS).await;
    give_role(&c.owner, &c.guild.id, &c.bob.0, &role).await;
    let (id, token) = hook(&c.bob.1, &c.guild.general).await;
    let r =
        c.ts.anon()
            .post(
                &format!("/webhooks/{id}/{token}?wait=true"),
                json!({"content": "x", "thread_name": "y"}),
            )
            .await;
    assert_err(&r, 400, 220003);
    let hist = c
        .bob
        .1
        .get(&format!("/channels/{}/messages", c.guild.general))
        .await;
    assert!(
        hist.body
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["content"] != "x"),
        "{hist:?}"
    );
}
