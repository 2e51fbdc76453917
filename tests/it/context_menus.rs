//! Context-menu commands (Discord "Application Commands > User Commands / Message
//! Commands"): a member invokes a USER command (type 2) on another member and a MESSAGE
//! command (type 3) on a message through `POST /interactions` with `data.target_id`; the
//! bot's INTERACTION_CREATE carries the target in `data.resolved` (the user with its member
//! object; the message as the channel's history shows it). Refused: a missing target, an
//! unknown user, a message of another channel, a command invoked under the wrong type, and a
//! member without READ_MESSAGE_HISTORY for a MESSAGE command.

use serde_json::{Value, json};

use crate::harness::*;
use crate::interactions::{Cast, cast};

/// The guild commands `Wave at` (USER) and `Quote` (MESSAGE); their ids.
async fn context_commands(c: &Cast) -> (String, String) {
    let path = format!("/applications/{}/guilds/{}/commands", c.bot.id, c.guild.id);
    let user = c
        .bot
        .client
        .post(&path, json!({"type": 2, "name": "Wave at"}))
        .await;
    assert_eq!(user.status, 201, "{user:?}");
    let message = c
        .bot
        .client
        .post(&path, json!({"type": 3, "name": "Quote"}))
        .await;
    assert_eq!(message.status, 201, "{message:?}");
    (s(&user.body["id"]), s(&message.body["id"]))
}

/// The body a client posts to run context-menu command `id` of `kind` on `target`.
fn on_target(c: &Cast, id: &str, name: &str, kind: u8, target: Option<&str>) -> Value {
    let mut data = json!({"id": id, "name": name, "type": kind});
    if let Some(t) = target {
        data["target_id"] = json!(t);
    }
    json!({
        "type": 2,
        "application_id": c.bot.id,
        "guild_id": c.guild.id,
        "channel_id": c.guild.general,
        "session_id": "s",
        "nonce": format!("ctx-{name}"),
        "data": data,
    })
}

#[tokio::test]
async fn user_and_message_commands_resolve_their_target() {
    let mut c = cast().await;
    let (wave, quote) = context_commands(&c).await;
    // The index lists them with their types, for the members' context menus.
    let index = c
        .mate
        .get(&format!("/guilds/{}/application-command-index", c.guild.id))
        .await;
    assert_eq!(index.status, 200, "{index:?}");
    let types: Vec<(String, u64)> = index.body["application_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cmd| (s(&cmd["name"]), cmd["type"].as_u64().unwrap()))
        .collect();
    assert!(types.contains(&("Wave at".into(), 2)), "{types:?}");
    assert!(types.contains(&("Quote".into(), 3)), "{types:?}");

    // USER: the target user and their member object are resolved.
    let other_id = s(&c.other.get("/users/@me").await.body["id"]);
    let r = c
        .mate
        .post(
            "/interactions",
            on_target(&c, &wave, "Wave at", 2, Some(&other_id)),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["data"]["name"] == "Wave at")
        .await;
    assert_eq!(i["type"], 2);
    assert_eq!(i["data"]["type"], 2);
    assert_eq!(i["data"]["target_id"], other_id.as_str());
    assert_eq!(
        i["data"]["resolved"]["users"][&other_id]["username"],
        "other"
    );
    assert!(
        i["data"]["resolved"]["members"][&other_id]["joined_at"].is_string(),
        "{i}"
    );
    assert_eq!(i["member"]["user"]["id"], c.mate_id.as_str());
    assert!(i["data"].get("options").is_none(), "{i}");

    // MESSAGE: the target message, as the history shows it.
    let said = say(&c.other, &c.guild.general, "quote me").await;
    let r = c
        .mate
        .post(
            "/interactions",
            on_target(&c, &quote, "Quote", 3, Some(&said)),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["data"]["name"] == "Quote")
        .await;
    assert_eq!(i["data"]["type"], 3);
    assert_eq!(i["data"]["target_id"], said.as_str());
    let m = &i["data"]["resolved"]["messages"][&said];
    assert_eq!(m["content"], "quote me");
    assert_eq!(m["author"]["id"], other_id.as_str());
    assert_eq!(m["channel_id"], c.guild.general.as_str());

    // The bot answers in the channel; members see it.
    let answer = c
        .srv
        .anon()
        .post(
            &crate::interactions::callback_path(&i),
            json!({"type": 4, "data": {"content": "> quote me"}}),
        )
        .await;
    assert_eq!(answer.status, 204, "{answer:?}");
    let shown = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "> quote me")
        .await;
    assert_eq!(shown["interaction_metadata"]["type"], 2);
}

#[tokio::test]
async fn context_menu_invocations_are_checked() {
    let c = cast().await;
    let (wave, quote) = context_commands(&c).await;
    // No target: a field error.
    let r = c
        .mate
        .post("/interactions", on_target(&c, &wave, "Wave at", 2, None))
        .await;
    assert_field_error(&r, "data.target_id");
    // An unknown user.
    let r = c
        .mate
        .post(
            "/interactions",
            on_target(&c, &wave, "Wave at", 2, Some("123456789")),
        )
        .await;
    assert_field_error(&r, "data.target_id");
    // A message of another channel is not a target in this one.
    let elsewhere = c
        .owner
        .post(
            &format!("/guilds/{}/channels", c.guild.id),
            json!({"name": "elsewhere", "type": 0}),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "{elsewhere:?}");
    let there = say(&c.owner, &s(&elsewhere.body["id"]), "not here").await;
    let r = c
        .mate
        .post(
            "/interactions",
            on_target(&c, &quote, "Quote", 3, Some(&there)),
        )
        .await;
    assert_field_error(&r, "data.target_id");
    // A command invoked under another type is unknown.
    let here = say(&c.owner, &c.guild.general, "here").await;
    let r = c
        .mate
        .post(
            "/interactions",
            on_target(&c, &quote, "Quote", 2, Some(&here)),
        )
        .await;
    assert_err(&r, 404, 10063);
    // Without READ_MESSAGE_HISTORY in the channel, no message is shown to the bot.
    let everyone = c.guild.id.clone();
    let deny = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{everyone}", c.guild.general),
            json!({"type": 0, "allow": "0", "deny": perm::READ_MESSAGE_HISTORY.to_string()}),
        )
        .await;
    assert_eq!(deny.status, 204, "{deny:?}");
    let r = c
        .mate
        .post(
            "/interactions",
            on_target(&c, &quote, "Quote", 3, Some(&here)),
        )
        .await;
    assert_err(&r, 403, 50013);
}
