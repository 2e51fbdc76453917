//! Forum and media channels (issue 15), the refusals: tag limits in Discord's 50035 form on
//! create and edit (20 available tags, 5 applied tags, names of 1 to 20 characters, known
//! tags only), who may reply in, retag, pin, lock and delete a post (the outsider, the member
//! without SEND_MESSAGES_IN_THREADS or MANAGE_THREADS, someone else's post), and the forum's
//! archived and active thread lists.

use serde_json::{Value, json};

use crate::forums::{MANAGE_THREADS, PINNED, cast, forum, post, tag};
use crate::gateway::Gw;
use crate::harness::*;

fn tags(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"name": format!("t{i}")})).collect()
}

#[tokio::test]
async fn forum_tag_limits_are_field_errors() {
    let c = cast().await;
    let g = &c.guild.id;
    let create = |body: Value| {
        let owner = &c.owner;
        async move { owner.post(&format!("/guilds/{g}/channels"), body).await }
    };
    // 20 tags are allowed, 21 are not, on creation as on edit.
    let r = create(json!({"name": "twenty", "type": 15, "available_tags": tags(20)})).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["available_tags"].as_array().unwrap().len(), 20);
    let twenty = s(&r.body["id"]);
    assert_field_error(
        &create(json!({"name": "many", "type": 15, "available_tags": tags(21)})).await,
        "available_tags",
    );
    assert_field_error(
        &create(json!({"name": "many", "type": 16, "available_tags": tags(21)})).await,
        "available_tags",
    );
    let mut more = tags(20);
    more.push(json!({"name": "extra"}));
    assert_field_error(
        &c.owner
            .patch(
                &format!("/channels/{twenty}"),
                json!({"available_tags": more}),
            )
            .await,
        "available_tags",
    );
    // Nothing was stored by the refused edit.
    let got = c.owner.get(&format!("/channels/{twenty}")).await;
    assert_eq!(got.body["available_tags"].as_array().unwrap().len(), 20);
    // An empty name, a name of 21 characters, an emoji name too long.
    assert_field_error(
        &create(json!({"name": "f", "type": 15, "available_tags": [{"name": " "}]})).await,
        "available_tags.0.name",
    );
    assert_field_error(
        &create(json!({"name": "f", "type": 15, "available_tags": [{"name": "ok"}, {"name": "y".repeat(21)}]})).await,
        "available_tags.1.name",
    );
    assert_field_error(
        &create(json!({"name": "f", "type": 15, "available_tags": [{"name": "ok", "emoji_name": "e".repeat(33)}]})).await,
        "available_tags.0.emoji_name",
    );
    // Unknown fields of a tag are ignored, as in every request body, and never stored or
    // echoed; a text channel takes no flags.
    let r =
        create(json!({"name": "f", "type": 15, "available_tags": [{"name": "ok", "colour": 1}]}))
            .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.body["available_tags"][0].get("colour").is_none(), "{r:?}");
    let stored = c
        .owner
        .get(&format!("/channels/{}", s(&r.body["id"])))
        .await;
    assert!(
        stored.body["available_tags"][0].get("colour").is_none(),
        "{stored:?}"
    );
    assert_field_error(
        &create(json!({"name": "t", "type": 0, "flags": 16})).await,
        "flags",
    );
    // Default reaction: one of the two forms; sort order 0 or 1.
    assert_field_error(
        &create(json!({"name": "f", "type": 15, "default_reaction_emoji": {"emoji_id": null, "emoji_name": null}})).await,
        "default_reaction_emoji",
    );
    assert_field_error(
        &create(json!({"name": "f", "type": 15, "default_sort_order": 2})).await,
        "default_sort_order",
    );
    assert_field_error(
        &create(json!({"name": "f", "type": 15, "default_thread_rate_limit_per_user": 21601}))
            .await,
        "default_thread_rate_limit_per_user",
    );

    // Applied tags: at most 5, each one of the forum's, on a post and on its edit.
    let f = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "six", "type": 15, "available_tags": tags(6)}),
        )
        .await;
    assert_eq!(f.status, 201, "{f:?}");
    let fid = s(&f.body["id"]);
    let all: Vec<String> = (0..6).map(|i| tag(&f.body, &format!("t{i}"))).collect();
    let bob = &c.bob.1;
    let body = |applied: &[String]| json!({"name": "p", "message": {"content": "x"}, "applied_tags": applied});
    assert_field_error(&post(bob, &fid, body(&all)).await, "applied_tags");
    let p = post(bob, &fid, body(&all[..5])).await;
    assert_eq!(p.status, 201, "{p:?}");
    assert_eq!(p.body["applied_tags"].as_array().unwrap().len(), 5);
    let pid = s(&p.body["id"]);
    assert_field_error(
        &bob.patch(&format!("/channels/{pid}"), json!({"applied_tags": all}))
            .await,
        "applied_tags",
    );
    let unknown = [all[0].clone(), twenty.clone()];
    assert_field_error(
        &bob.patch(
            &format!("/channels/{pid}"),
            json!({"applied_tags": unknown}),
        )
        .await,
        "applied_tags.1",
    );
    // A tag of another forum is unknown here too.
    let other = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "other", "type": 15, "available_tags": [{"name": "elsewhere"}]}),
        )
        .await;
    let elsewhere = tag(&other.body, "elsewhere");
    assert_field_error(
        &post(bob, &fid, body(std::slice::from_ref(&elsewhere))).await,
        "applied_tags.0",
    );
    let kept = c.owner.get(&format!("/channels/{pid}")).await;
    assert_eq!(kept.body["applied_tags"], json!(all[..5]), "{kept:?}");
}

#[tokio::test]
async fn only_the_right_people_reply_retag_pin_lock_and_delete_a_post() {
    let c = cast().await;
    let g = &c.guild.id;
    let bob = &c.bob.1;
    let (carol_id, carol) = (&c.carol.0, &c.carol.1);
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let bug = tag(&f, "bug");
    let mut gw = Gw::identify(&c.ts, &c.carol.2, crate::forums::INTENTS).await;
    let p = post(
        bob,
        &fid,
        json!({"name": "bob's", "message": {"content": "help"}}),
    )
    .await;
    assert_eq!(p.status, 201, "{p:?}");
    let pid = s(&p.body["id"]);
    assert_eq!(p.body["applied_tags"], json!([]));

    // The owner retags their own post (a plain tag): stored and dispatched.
    let r = bob
        .patch(&format!("/channels/{pid}"), json!({"applied_tags": [bug]}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let upd = gw
        .expect_where("THREAD_UPDATE", |d| d["id"] == pid.as_str())
        .await;
    assert_eq!(upd["applied_tags"], json!([bug]));

    // Carol, a member, may reply but not retag, pin, lock, rename or delete bob's post.
    let r = carol
        .post(
            &format!("/channels/{pid}/messages"),
            json!({"content": "me too"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let path = format!("/channels/{pid}");
    assert_err(
        &carol.patch(&path, json!({"applied_tags": []})).await,
        403,
        50013,
    );
    assert_err(
        &carol.patch(&path, json!({"flags": PINNED})).await,
        403,
        50013,
    );
    assert_err(
        &carol.patch(&path, json!({"locked": true})).await,
        403,
        50013,
    );
    assert_err(
        &carol.patch(&path, json!({"name": "mine"})).await,
        403,
        50013,
    );
    assert_err(&carol.delete(&path).await, 403, 50013);
    let shown = carol.get(&path).await;
    assert_eq!(shown.body["applied_tags"], json!([bug]), "{shown:?}");
    assert_eq!(shown.body["flags"], 0);
    assert_eq!(shown.body["name"], "bob's");

    // Without SEND_MESSAGES_IN_THREADS in the forum she can no longer reply (posting a new
    // post needs SEND_MESSAGES, which she keeps, as Discord documents).
    let r = c
        .owner
        .put(
            &format!("/channels/{fid}/permissions/{carol_id}"),
            json!({"type": 1, "allow": "0", "deny": perm::SEND_MESSAGES_IN_THREADS.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(
        &carol
            .post(
                &format!("/channels/{pid}/messages"),
                json!({"content": "again"}),
            )
            .await,
        403,
        50013,
    );
    let own = post(
        carol,
        &fid,
        json!({"name": "carol's", "message": {"content": "q"}}),
    )
    .await;
    assert_eq!(own.status, 201, "{own:?}");

    // The outsider can do nothing with the post.
    let outsider = &c.outsider;
    assert_err(&outsider.get(&path).await, 403, 50001);
    assert_err(
        &outsider.patch(&path, json!({"applied_tags": []})).await,
        403,
        50001,
    );
    assert_err(
        &outsider.get(&format!("/channels/{pid}/messages")).await,
        403,
        50001,
    );
    assert_err(
        &outsider
            .post(
                &format!("/channels/{pid}/messages"),
                json!({"content": "x"}),
            )
            .await,
        403,
        50001,
    );
    assert_err(
        &outsider
            .get(&format!("/channels/{fid}/threads/archived/public"))
            .await,
        403,
        50001,
    );

    // A moderator (MANAGE_THREADS) does what carol may not.
    let role = create_role(&c.owner, g, "mods", MANAGE_THREADS).await;
    give_role(&c.owner, g, carol_id, &role).await;
    let r = carol
        .patch(&path, json!({"flags": PINNED, "locked": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["flags"], PINNED);
    assert_eq!(r.body["thread_metadata"]["locked"], true);
    // Locked: bob, the owner without MANAGE_THREADS, can no longer reply in it.
    assert_err(
        &bob.post(
            &format!("/channels/{pid}/messages"),
            json!({"content": "bump"}),
        )
        .await,
        403,
        160005,
    );
    assert_eq!(carol.delete(&path).await.status, 200);
    assert_err(&bob.get(&path).await, 404, 10003);
}

#[tokio::test]
async fn a_forums_posts_are_in_its_thread_lists() {
    let c = cast().await;
    let g = &c.guild.id;
    let bob = &c.bob.1;
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let bug = tag(&f, "bug");
    let mk = |name: &'static str| {
        let fid = fid.clone();
        let bug = bug.clone();
        async move {
            let r = post(
                bob,
                &fid,
                json!({"name": name, "message": {"content": name}, "applied_tags": [bug]}),
            )
            .await;
            assert_eq!(r.status, 201, "{r:?}");
            s(&r.body["id"])
        }
    };
    let open = mk("open").await;
    let old = mk("old").await;
    let r = bob
        .patch(&format!("/channels/{old}"), json!({"archived": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let active = bob.get(&format!("/guilds/{g}/threads/active")).await;
    assert_eq!(active.status, 200, "{active:?}");
    assert_eq!(ids(&active.body["threads"]), vec![open.clone()]);
    assert_eq!(active.body["threads"][0]["applied_tags"], json!([bug]));
    let archived = bob
        .get(&format!("/channels/{fid}/threads/archived/public"))
        .await;
    assert_eq!(archived.status, 200, "{archived:?}");
    assert_eq!(ids(&archived.body["threads"]), vec![old.clone()]);
    assert_eq!(archived.body["threads"][0]["applied_tags"], json!([bug]));
    assert_eq!(archived.body["has_more"], false);
    // A forum has no private threads: its private lists are empty.
    let mine = bob
        .get(&format!(
            "/channels/{fid}/users/@me/threads/archived/private"
        ))
        .await;
    assert_eq!(mine.status, 200, "{mine:?}");
    assert_eq!(mine.body["threads"], json!([]));
    // An archived post is unarchived by its owner and keeps its tags.
    let r = bob
        .patch(&format!("/channels/{old}"), json!({"archived": false}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["applied_tags"], json!([bug]));
}

#[tokio::test]
async fn forum_emojis_are_the_guilds() {
    let c = cast().await;
    let g = &c.guild.id;
    let uri = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            crate::images::png(8, 8, 7)
        )
    );
    let e = c
        .owner
        .post(
            &format!("/guilds/{g}/emojis"),
            json!({"name": "ours", "image": uri}),
        )
        .await;
    assert_eq!(e.status, 201, "{e:?}");
    let ours = s(&e.body["id"]);
    // The guild's emoji is taken for a tag and the default reaction; an unknown id is not.
    let r = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "f", "type": 15,
                   "available_tags": [{"name": "a", "emoji_id": ours}],
                   "default_reaction_emoji": {"emoji_id": ours}}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["available_tags"][0]["emoji_id"], ours.as_str());
    assert_eq!(r.body["default_reaction_emoji"]["emoji_id"], ours.as_str());
    let fid = s(&r.body["id"]);
    let r = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "f", "type": 15,
                   "available_tags": [{"name": "a"}, {"name": "b", "emoji_id": "1234"}]}),
        )
        .await;
    assert_field_error(&r, "available_tags.1.emoji_id");
    let r = c
        .owner
        .patch(
            &format!("/channels/{fid}"),
            json!({"default_reaction_emoji": {"emoji_id": fid}}),
        )
        .await;
    assert_field_error(&r, "default_reaction_emoji.emoji_id");
    // Once the emoji is deleted, resending the stored list still passes.
    let d = c.owner.delete(&format!("/guilds/{g}/emojis/{ours}")).await;
    assert_eq!(d.status, 204, "{d:?}");
    let tags = c.owner.get(&format!("/channels/{fid}")).await.body["available_tags"].clone();
    let r = c
        .owner
        .patch(&format!("/channels/{fid}"), json!({"available_tags": tags}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

/// A rename by the post's owner racing a moderator's retag never writes back the tags it
/// read before the retag (the compare-and-set covers the applied tags).
#[tokio::test]
async fn a_rename_racing_a_retag_never_undoes_it() {
    let c = cast().await;
    let bob = &c.bob.1;
    let f = forum(&c.owner, &c.guild.id).await;
    let fid = s(&f["id"]);
    let (bug, staff) = (tag(&f, "bug"), tag(&f, "staff"));
    let p = post(
        bob,
        &fid,
        json!({"name": "race", "message": {"content": "go"}}),
    )
    .await;
    assert_eq!(p.status, 201, "{p:?}");
    let path = format!("/channels/{}", s(&p.body["id"]));
    for i in 0..12 {
        let tags = if i % 2 == 0 {
            json!([bug])
        } else {
            json!([staff])
        };
        let name = format!("race {i}");
        let (retag, rename) = tokio::join!(
            c.owner.patch(&path, json!({ "applied_tags": tags })),
            bob.patch(&path, json!({ "name": name })),
        );
        assert_eq!(retag.status, 200, "{retag:?}");
        assert_eq!(rename.status, 200, "{rename:?}");
        let got = bob.get(&path).await;
        assert_eq!(got.body["applied_tags"], tags, "round {i}: {got:?}");
        assert_eq!(got.body["name"], name.as_str(), "round {i}");
    }
}
