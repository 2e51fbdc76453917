//! `POST /guilds` with Discord's `roles`, `channels` and `system_channel_id` (placeholder ids
//! that overwrites, parents and the system channel refer to): the web client's templates
//! create a whole guild this way, in one transaction.

use serde_json::{Value, json};

use crate::harness::*;

/// The channel of `list` named `name`.
fn channel<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no channel {name} in {list}"))
}

#[tokio::test]
async fn a_guild_is_created_with_its_roles_channels_and_overwrites() {
    let srv = TestServer::start().await;
    let (owner_id, owner) = srv.user("olive").await;
    let everyone = perm::VIEW_CHANNEL | perm::SEND_MESSAGES | perm::READ_MESSAGE_HISTORY;
    let r = owner
        .post(
            "/guilds",
            json!({
                "name": "Laid Out",
                "roles": [
                    {"id": 0, "permissions": everyone.to_string(), "color": 0x112233},
                    {"id": "7", "name": "Moderator", "permissions": perm::MANAGE_MESSAGES.to_string(), "color": 0x3498db, "hoist": true},
                ],
                // The child comes before its category: placeholders are resolved whole.
                "channels": [
                    {"id": 2, "name": "Welcome Here", "type": 0, "parent_id": 1, "topic": "Start here",
                     "permission_overwrites": [
                        {"id": 0, "type": 0, "deny": perm::SEND_MESSAGES.to_string()},
                        {"id": 7, "type": 0, "allow": perm::SEND_MESSAGES.to_string()},
                        {"id": owner_id, "type": 1, "allow": perm::MANAGE_MESSAGES.to_string()},
                     ]},
                    {"id": 1, "name": "Information", "type": 4},
                    {"id": 3, "name": "Lounge", "type": 2, "parent_id": 1},
                    {"name": "chat", "type": 0},
                ],
                "system_channel_id": 2,
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let gid = s(&r.body["id"]);
    let roles = owner.get(&format!("/guilds/{gid}/roles")).await.body;
    let role = |name: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no role {name}: {roles}"))
    };
    let at_everyone = role("@everyone");
    assert_eq!(at_everyone["id"], gid.as_str());
    assert_eq!(at_everyone["permissions"], everyone.to_string());
    let moderator = role("Moderator");
    assert_eq!(moderator["permissions"], perm::MANAGE_MESSAGES.to_string());
    assert_eq!(moderator["color"], 0x3498db);
    assert_eq!(moderator["hoist"], true);
    assert_eq!(moderator["position"], 1);

    let channels = owner.get(&format!("/guilds/{gid}/channels")).await.body;
    assert_eq!(channels.as_array().unwrap().len(), 4, "{channels}");
    let info = channel(&channels, "Information");
    let welcome = channel(&channels, "welcome-here");
    let lounge = channel(&channels, "Lounge");
    assert_eq!(info["type"], 4);
    assert_eq!(welcome["parent_id"], info["id"]);
    assert_eq!(lounge["parent_id"], info["id"]);
    assert_eq!(welcome["topic"], "Start here");
    assert_eq!(lounge["bitrate"], 64_000);
    assert!(channel(&channels, "chat")["parent_id"].is_null());
    let ow = welcome["permission_overwrites"].as_array().unwrap();
    let of = |id: &str| {
        ow.iter()
            .find(|o| o["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no overwrite for {id}: {ow:?}"))
    };
    assert_eq!(of(&gid)["deny"], perm::SEND_MESSAGES.to_string());
    assert_eq!(
        of(&s(&moderator["id"]))["allow"],
        perm::SEND_MESSAGES.to_string()
    );
    assert_eq!(of(&owner_id)["type"], 1);
    let guild = owner.get(&format!("/guilds/{gid}")).await.body;
    assert_eq!(guild["system_channel_id"], welcome["id"]);

    // The overwrites work: a member may not post in #welcome-here until the role lets him.
    let invite = owner
        .post(
            &format!("/channels/{}/invites", s(&welcome["id"])),
            json!({}),
        )
        .await;
    assert_eq!(invite.status, 200, "{invite:?}");
    let (member_id, member) = srv.user("milo").await;
    join(&member, &s(&invite.body["code"])).await;
    let path = format!("/channels/{}/messages", s(&welcome["id"]));
    let r = member.post(&path, json!({"content": "hi"})).await;
    assert_err(&r, 403, 50013);
    give_role(&owner, &gid, &member_id, &s(&moderator["id"])).await;
    let r = member.post(&path, json!({"content": "hi"})).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn a_bad_layout_is_refused_whole_naming_the_field() {
    let srv = TestServer::start().await;
    let (_, owner) = srv.user("olive").await;
    let cat = json!({"id": 1, "name": "Category", "type": 4});
    let cases = [
        (
            json!({"channels": [cat, {"name": "a", "parent_id": 9}]}),
            "channels.1.parent_id",
        ),
        (
            json!({"channels": [cat, {"name": "a", "type": 0, "id": 5}, {"name": "b", "parent_id": 5}]}),
            "channels.2.parent_id",
        ),
        (
            json!({"channels": [cat, {"name": "sub", "type": 4, "parent_id": 1}]}),
            "channels.1.parent_id",
        ),
        (
            json!({"channels": [cat, {"id": 1, "name": "twin"}]}),
            "channels.1.id",
        ),
        (
            json!({"channels": [{"name": "forum", "type": 15}]}),
            "channels.0.type",
        ),
        (json!({"channels": [{"name": ""}]}), "channels.0.name"),
        (
            json!({"channels": [{"name": "a", "permission_overwrites": [{"id": 4, "type": 0}]}]}),
            "channels.0.permission_overwrites.0.id",
        ),
        (
            json!({"channels": [{"name": "a", "permission_overwrites": [{"id": "12345", "type": 1}]}]}),
            "channels.0.permission_overwrites.0.id",
        ),
        (
            json!({"channels": [{"id": 1, "name": "v", "type": 2}], "system_channel_id": 1}),
            "system_channel_id",
        ),
        (json!({"system_channel_id": 1}), "system_channel_id"),
        (
            json!({"roles": [{"id": 0}, {"id": 3, "name": ""}]}),
            "roles.1.name",
        ),
        (
            json!({"roles": [{"id": 0}, {"id": 0, "name": "again"}]}),
            "roles.1.id",
        ),
        (
            json!({"roles": [{"id": 0, "color": 0x1000000}]}),
            "roles.0.color",
        ),
    ];
    for (mut body, path) in cases {
        body["name"] = json!("Refused");
        let r = owner.post("/guilds", body.clone()).await;
        assert_field_error(&r, path);
    }
    let too_many: Vec<Value> = (0..501).map(|i| json!({"name": format!("c{i}")})).collect();
    let r = owner
        .post("/guilds", json!({"name": "Refused", "channels": too_many}))
        .await;
    assert_field_error(&r, "channels");
    // Nothing of any refused layout was stored.
    let mine = owner.get("/users/@me/guilds").await;
    assert_eq!(mine.body, json!([]), "{mine:?}");
    // An empty list is a guild without channels (and no system channel).
    let r = owner
        .post("/guilds", json!({"name": "Empty", "channels": []}))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.body["system_channel_id"].is_null(), "{r:?}");
    let chans = owner
        .get(&format!("/guilds/{}/channels", s(&r.body["id"])))
        .await;
    assert_eq!(chans.body, json!([]));
}

/// The web client's template body (web/wire-fixtures/create_guild_template_body.json, equal
/// to what its `templateBody` builds, checked by vitest) creates the guild it describes.
#[tokio::test]
async fn the_web_clients_template_body_creates_its_guild() {
    let srv = TestServer::start().await;
    let (_, owner) = srv.user("olive").await;
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("web/wire-fixtures/create_guild_template_body.json");
    let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let r = owner.post("/guilds", body.clone()).await;
    assert_eq!(r.status, 201, "{r:?}");
    let gid = s(&r.body["id"]);
    let channels = owner.get(&format!("/guilds/{gid}/channels")).await.body;
    assert_eq!(
        channels.as_array().unwrap().len(),
        body["channels"].as_array().unwrap().len()
    );
    for sent in body["channels"].as_array().unwrap() {
        let made = channel(&channels, sent["name"].as_str().unwrap());
        assert_eq!(made["type"], sent["type"]);
        if let Some(p) = sent["parent_id"].as_i64() {
            let parent = body["channels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == p)
                .unwrap();
            assert_eq!(
                channel(&channels, parent["name"].as_str().unwrap())["id"],
                made["parent_id"]
            );
        }
    }
    assert_eq!(
        r.body["system_channel_id"],
        channel(&channels, "general")["id"]
    );
    let roles = owner.get(&format!("/guilds/{gid}/roles")).await.body;
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "Tutor"),
        "{roles}"
    );
}
