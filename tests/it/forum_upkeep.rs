//! A forum's settings kept consistent (issue 15's review): tags removed from a forum leave
//! its posts (stored, fetched, THREAD_UPDATE), a tag's or default reaction's `emoji_name` is
//! one Unicode emoji, and every forum setting a PATCH changes is in the audit log's
//! CHANNEL_UPDATE entry; a post racing a tag's removal never keeps the removed tag.

use serde_json::{Value, json};

use crate::forums::{INTENTS, cast, forum, post, tag};
use crate::gateway::Gw;
use crate::harness::*;

fn tags_of(v: &Value) -> Vec<String> {
    v["applied_tags"]
        .as_array()
        .unwrap_or_else(|| panic!("no applied_tags in {v}"))
        .iter()
        .map(s)
        .collect()
}

#[tokio::test]
async fn removed_tags_leave_the_posts() {
    let c = cast().await;
    let f = forum(&c.owner, &c.guild.id).await;
    let fid = s(&f["id"]);
    let (bug, staff) = (tag(&f, "bug"), tag(&f, "staff"));
    let p1 = post(
        &c.bob.1,
        &fid,
        json!({"name": "one", "message": {"content": "1"}, "applied_tags": [bug]}),
    )
    .await;
    assert_eq!(p1.status, 201, "{p1:?}");
    let p2 = post(
        &c.owner,
        &fid,
        json!({"name": "two", "message": {"content": "2"}, "applied_tags": [bug, staff]}),
    )
    .await;
    assert_eq!(p2.status, 201, "{p2:?}");
    let (p1, p2) = (s(&p1.body["id"]), s(&p2.body["id"]));
    let mut gw = Gw::identify(&c.ts, &c.carol.2, INTENTS).await;

    // bug goes, staff stays (by its id), a new tag comes.
    let r = c
        .owner
        .patch(
            &format!("/channels/{fid}"),
            json!({"available_tags": [
                {"id": staff, "name": "staff", "moderated": true, "emoji_name": "🔒"},
                {"name": "new"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let got = c.bob.1.get(&format!("/channels/{p1}")).await;
    assert_eq!(tags_of(&got.body), Vec::<String>::new(), "{got:?}");
    let got = c.bob.1.get(&format!("/channels/{p2}")).await;
    assert_eq!(tags_of(&got.body), vec![staff.clone()], "{got:?}");
    let ev = gw
        .expect_where("THREAD_UPDATE", |d| d["id"] == p1.as_str())
        .await;
    assert_eq!(tags_of(&ev), Vec::<String>::new());
    let ev = gw
        .expect_where("THREAD_UPDATE", |d| d["id"] == p2.as_str())
        .await;
    assert_eq!(tags_of(&ev), vec![staff.clone()]);
    // The active list says the same.
    let list = c
        .bob
        .1
        .get(&format!("/guilds/{}/threads/active", c.guild.id))
        .await;
    let t2 = list.body["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == p2.as_str())
        .cloned()
        .unwrap();
    assert_eq!(tags_of(&t2), vec![staff]);
    // The removed id cannot be applied any more.
    let r = c
        .bob
        .1
        .patch(&format!("/channels/{p1}"), json!({"applied_tags": [bug]}))
        .await;
    assert_field_error(&r, "applied_tags.0");
}

#[tokio::test]
async fn tag_and_reaction_emoji_names_are_single_emoji() {
    let c = cast().await;
    let g = &c.guild.id;
    let create = |body: Value| {
        let owner = &c.owner;
        async move { owner.post(&format!("/guilds/{g}/channels"), body).await }
    };
    for bad in ["x", "ok", "👍👍", "🇫", "1", ":thumbsup:"] {
        let r = create(json!({"name": "f", "type": 15,
            "available_tags": [{"name": "a"}, {"name": "b", "emoji_name": bad}]}))
        .await;
        assert_field_error(&r, "available_tags.1.emoji_name");
        let r = create(json!({"name": "f", "type": 15,
            "default_reaction_emoji": {"emoji_id": null, "emoji_name": bad}}))
        .await;
        assert_field_error(&r, "default_reaction_emoji.emoji_name");
    }
    let r = create(json!({"name": "f", "type": 15,
        "available_tags": [{"name": "a", "emoji_name": "👩‍💻"}, {"name": "b", "emoji_name": "🇫🇷"},
                           {"name": "c", "emoji_name": "👍🏽"}, {"name": "d", "emoji_name": "1️⃣"}],
        "default_reaction_emoji": {"emoji_id": null, "emoji_name": "❤️"}}))
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let fid = s(&r.body["id"]);
    // PATCH checks the same.
    let r = c
        .owner
        .patch(
            &format!("/channels/{fid}"),
            json!({"available_tags": [{"name": "a", "emoji_name": "nope"}]}),
        )
        .await;
    assert_field_error(&r, "available_tags.0.emoji_name");
}

#[tokio::test]
async fn forum_settings_changes_are_in_the_audit_log() {
    let c = cast().await;
    let g = &c.guild.id;
    let f = forum(&c.owner, g).await;
    let fid = s(&f["id"]);
    let staff = tag(&f, "staff");
    let r = c
        .owner
        .patch(
            &format!("/channels/{fid}"),
            json!({
                "available_tags": [{"id": staff, "name": "staff", "moderated": true, "emoji_name": "🔒"}],
                "default_reaction_emoji": {"emoji_id": null, "emoji_name": "🔥"},
                "default_sort_order": 0,
                "default_forum_layout": 1,
                "default_thread_rate_limit_per_user": 30,
                "flags": 16
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let log = c
        .owner
        .get(&format!("/guilds/{g}/audit-logs?action_type=11"))
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    let entry = log.body["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target_id"] == fid.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no CHANNEL_UPDATE entry: {log:?}"));
    let change = |key: &str| -> Value {
        entry["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("no change {key} in {entry}"))
    };
    let tags = change("available_tags");
    assert_eq!(tags["old_value"].as_array().unwrap().len(), 2, "{tags}");
    assert_eq!(tags["new_value"][0]["id"], staff.as_str(), "{tags}");
    let r = change("default_reaction_emoji");
    assert_eq!(
        (&r["old_value"]["emoji_name"], &r["new_value"]["emoji_name"]),
        (&json!("👍"), &json!("🔥"))
    );
    let v = |key: &str| {
        let c = change(key);
        (c["old_value"].clone(), c["new_value"].clone())
    };
    assert_eq!(v("default_sort_order"), (json!(1), json!(0)));
    assert_eq!(v("default_forum_layout"), (json!(2), json!(1)));
    assert_eq!(
        v("default_thread_rate_limit_per_user"),
        (json!(10), json!(30))
    );
    assert_eq!(v("flags"), (json!(0), json!(16)));
    // A PATCH that changes nothing of the forum records none of these keys.
    let r = c
        .owner
        .patch(&format!("/channels/{fid}"), json!({"name": "renamed"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let log = c
        .owner
        .get(&format!("/guilds/{g}/audit-logs?action_type=11&limit=1"))
        .await;
    let keys: Vec<String> = log.body["audit_log_entries"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["key"]))
        .collect();
    assert_eq!(keys, vec!["name".to_string()], "{log:?}");
    // A member without MANAGE_CHANNELS changes nothing and sees no log.
    let r = c
        .bob
        .1
        .patch(
            &format!("/channels/{fid}"),
            json!({"default_sort_order": 1}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let r = c
        .bob
        .1
        .get(&format!("/guilds/{g}/audit-logs?action_type=11"))
        .await;
    assert_err(&r, 403, 50013);
}

#[tokio::test]
async fn a_post_racing_a_tag_removal_never_keeps_the_removed_tag() {
    // The post's tags are checked, then checked again under the guild lock the forum's
    // PATCH takes: whichever commits first, no post ends with a tag the forum no longer has.
    let c = cast().await;
    for round in 0..6 {
        let f = forum(&c.owner, &c.guild.id).await;
        let fid = s(&f["id"]);
        let (bug, staff) = (tag(&f, "bug"), tag(&f, "staff"));
        let forum_path = format!("/channels/{fid}");
        let body = json!({"name": format!("race {round}"), "message": {"content": "?"},
                          "applied_tags": [bug]});
        let only_staff = json!({"available_tags": [
            {"id": staff, "name": "staff", "moderated": true, "emoji_name": "🔒"}]});
        let (made, patched) = tokio::join!(
            post(&c.bob.1, &fid, body),
            c.owner.patch(&forum_path, only_staff),
        );
        assert_eq!(patched.status, 200, "{patched:?}");
        match made.status {
            // Made first, it had the tag until the removal dropped it; made after the
            // checks but before the removal committed, it is stored without it.
            201 => {
                let got = c
                    .bob
                    .1
                    .get(&format!("/channels/{}", s(&made.body["id"])))
                    .await;
                assert_eq!(
                    tags_of(&got.body),
                    Vec::<String>::new(),
                    "round {round}: {got:?}"
                );
            }
            // The removal came first: the tag is unknown to the post's checks.
            _ => assert_field_error(&made, "applied_tags.0"),
        }
    }
}
