//! Interactions in a DM with the application's bot (Discord "Interactions > Receiving and
//! Responding", context 1 BOT_DM) through the real interfaces: a user invokes a global
//! command usable there (`contexts` with 1, or none; not `dm_permission: false`) in their
//! DM with the bot; the bot receives INTERACTION_CREATE with `user` (no `member`, no
//! `guild_id`), the DM `channel` and `context: 1`, answers in the DM (the user's sessions
//! get the message), and the user clicks the answer's button. Refusals: guild commands,
//! commands not for DMs, a DM with someone else, someone else's DM with the bot, a
//! `guild_id`.

use serde_json::{Value, json};

use crate::harness::*;
use crate::interactions::{Cast, callback_path, cast};

/// A global command of the bot (`body`); its id.
async fn global(c: &Cast, body: Value) -> String {
    let r = c
        .bot
        .client
        .post(&format!("/applications/{}/commands", c.bot.id), body)
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    s(&r.body["id"])
}

/// What Discord's client posts to invoke `name` (`id`) in channel `channel`, no guild.
fn in_dm(c: &Cast, channel: &str, id: &str, name: &str, nonce: &str) -> Value {
    json!({
        "type": 2,
        "application_id": c.bot.id,
        "channel_id": channel,
        "session_id": "s",
        "nonce": nonce,
        "data": {"version": "1", "id": id, "name": name, "type": 1},
    })
}

#[tokio::test]
async fn global_commands_run_in_the_bots_dm() {
    let mut c = cast().await;
    let ping = global(&c, json!({"name": "ping", "description": "Pong"})).await;
    let dm_only = global(
        &c,
        json!({"name": "dmonly", "description": "DM", "contexts": [1]}),
    )
    .await;
    let guild_only = global(
        &c,
        json!({"name": "guildonly", "description": "Guild", "contexts": [0]}),
    )
    .await;
    let no_dm = global(
        &c,
        json!({"name": "nodm", "description": "No DM", "dm_permission": false}),
    )
    .await;
    let dm = c
        .mate
        .post(
            "/users/@me/channels",
            json!({"recipient_id": c.bot.user_id}),
        )
        .await;
    assert_eq!(dm.status, 200, "{dm:?}");
    let dm = s(&dm.body["id"]);
    let r = c
        .mate
        .post("/interactions", in_dm(&c, &dm, &ping, "ping", "dm-1"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(i["context"], 1, "{i}");
    assert_eq!(i["user"]["id"], json!(c.mate_id));
    assert!(
        i.get("member").is_none() && i.get("guild_id").is_none(),
        "{i}"
    );
    assert!(i.get("guild").is_none(), "{i}");
    assert_eq!(i["channel_id"], json!(dm));
    assert_eq!(
        (&i["channel"]["id"], &i["channel"]["type"]),
        (&json!(dm), &json!(1))
    );
    assert_eq!(i["channel"]["recipients"][0]["id"], json!(c.mate_id));
    assert_eq!(i["authorizing_integration_owners"], json!({"0": "0"}));
    assert_eq!(i["data"]["name"], "ping");
    let created = c.mate_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(created, json!({"id": i["id"], "nonce": "dm-1"}));
    // The answer is a message of the bot in the DM, with a button.
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&i)),
            json!({"type": 4, "data": {"content": "pong", "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "label": "Again", "custom_id": "again"}]}]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let answer = &r.body["resource"]["message"];
    assert_eq!(answer["channel_id"], json!(dm));
    let seen = c
        .mate_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == answer["id"])
        .await;
    assert_eq!(seen["author"]["id"], json!(c.bot.user_id));
    assert_eq!(seen["interaction_metadata"]["user"]["id"], json!(c.mate_id));
    let history = c.mate.get(&format!("/channels/{dm}/messages")).await;
    assert_eq!(history.body[0]["content"], "pong", "{history:?}");
    // A follow-up and `@original` work in the DM too.
    let hooks = format!("/webhooks/{}/{}", c.bot.id, s(&i["token"]));
    let r = c
        .srv
        .anon()
        .post(&format!("{hooks}?wait=true"), json!({"content": "more"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["channel_id"], json!(dm));
    let r = c
        .srv
        .anon()
        .patch(
            &format!("{hooks}/messages/@original"),
            json!({"content": "pong!"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // The user clicks the button: a component interaction in the DM.
    let click = json!({
        "type": 3, "application_id": c.bot.id, "channel_id": dm, "message_id": answer["id"],
        "session_id": "s", "nonce": "dm-2", "data": {"custom_id": "again", "component_type": 2},
    });
    let r = c.mate.post("/interactions", click).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ci = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 3)
        .await;
    assert_eq!(
        (&ci["context"], &ci["user"]["id"]),
        (&json!(1), &json!(c.mate_id))
    );
    assert_eq!(ci["message"]["id"], answer["id"]);
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&ci),
            json!({"type": 7, "data": {"content": "updated", "components": []}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let up = c
        .mate_gw
        .expect_where("MESSAGE_UPDATE", |d| {
            d["id"] == answer["id"] && d["content"] == "updated"
        })
        .await;
    assert_eq!(up["components"], json!([]));
    // A command declared for DMs only works there.
    let r = c
        .mate
        .post("/interactions", in_dm(&c, &dm, &dm_only, "dmonly", "dm-3"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // Commands not for DMs, and the guild's commands, are unknown there.
    for (id, name) in [
        (&guild_only, "guildonly"),
        (&no_dm, "nodm"),
        (&c.echo, "echo"),
    ] {
        let r = c
            .mate
            .post("/interactions", in_dm(&c, &dm, id, name, "no"))
            .await;
        assert_err(&r, 404, 10063);
    }
    // A command for DMs only is unknown in the guild.
    let mut body = in_dm(&c, &c.guild.general, &dm_only, "dmonly", "gd");
    body["guild_id"] = json!(c.guild.id);
    assert_err(&c.mate.post("/interactions", body).await, 404, 10063);
    // A guild id with a DM channel is refused.
    let mut body = in_dm(&c, &dm, &ping, "ping", "g");
    body["guild_id"] = json!(c.guild.id);
    assert_field_error(&c.mate.post("/interactions", body).await, "guild_id");
    // Someone else's DM with the bot is not theirs to use.
    let theirs = c
        .other
        .post(
            "/users/@me/channels",
            json!({"recipient_id": c.bot.user_id}),
        )
        .await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    let r = c
        .mate
        .post(
            "/interactions",
            in_dm(&c, &s(&theirs.body["id"]), &ping, "ping", "x"),
        )
        .await;
    assert_err(&r, 403, 50001);
    // A DM with someone who is not the bot takes no interactions of it.
    let other_id = c.other.get("/users/@me").await.body["id"].clone();
    let plain = c
        .mate
        .post("/users/@me/channels", json!({"recipient_id": other_id}))
        .await;
    assert_eq!(plain.status, 200, "{plain:?}");
    let r = c
        .mate
        .post(
            "/interactions",
            in_dm(&c, &s(&plain.body["id"]), &ping, "ping", "y"),
        )
        .await;
    assert_field_error(&r, "channel_id");
    // The bot itself cannot invoke.
    let r = c
        .bot
        .client
        .post("/interactions", in_dm(&c, &dm, &ping, "ping", "z"))
        .await;
    assert_err(&r, 403, 20001);
    // Only the interactions asked for reached the bot.
    let next = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 2)
        .await;
    assert_eq!(next["data"]["name"], "dmonly");
}
