//! Component ids, select `default_values`, custom emojis and ephemeral updates (Discord
//! "Components > Component Reference", "Interactions > Receiving and Responding") through
//! the real interfaces: every way a message gets components (a bot's message and its edit,
//! a webhook's execution, an interaction's response, follow-up, `@original` edit and
//! UPDATE_MESSAGE) checks the optional integer `id`s (1 to 2147483647, unique in the
//! message) and gives the missing ones around the chosen ones; entity selects take
//! `default_values` of their kind; buttons and options take custom emojis; after an
//! UPDATE_MESSAGE on an ephemeral message `@original` reads, edits and deletes it for its
//! user only.

use serde_json::{Value, json};

use crate::harness::*;
use crate::interactions::{Cast, callback_path, cast, invoke};

fn row(children: Value) -> Value {
    json!({"type": 1, "components": children})
}

fn button(id: &str) -> Value {
    json!({"type": 2, "style": 1, "label": "Go", "custom_id": id})
}

fn with_id(mut v: Value, id: Value) -> Value {
    v["id"] = id;
    v
}

/// The error code at `path` of a 400 50035.
fn code_at(r: &Resp, path: &str) -> String {
    assert_field_error(r, path);
    let mut node = &r.body["errors"];
    for part in path.split('.') {
        node = &node[part];
    }
    s(&node["_errors"][0]["code"])
}

/// The `id`s of a message's rows and their children.
fn ids_of(components: &Value) -> Vec<(Value, Vec<Value>)> {
    components
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].clone(),
                r["components"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["id"].clone())
                    .collect(),
            )
        })
        .collect()
}

/// Invokes `echo` as `mate`; the INTERACTION_CREATE the bot receives.
async fn echo(c: &mut Cast, nonce: &str) -> Value {
    let body = invoke(
        c,
        &c.echo,
        "echo",
        json!([{"type": 3, "name": "text", "value": "hi"}]),
        nonce,
    );
    let r = c.mate.post("/interactions", body).await;
    assert_eq!(r.status, 204, "{r:?}");
    c.bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 2)
        .await
}

/// The duplicated, negative and too large ids of a message's components, each refused at
/// its path under `prefix`.
fn bad_ids() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (
            json!([with_id(row(json!([button("a")])), json!(-1))]),
            "0.id",
            "NUMBER_TYPE_MIN",
        ),
        (
            json!([row(json!([with_id(button("a"), json!(2_147_483_648_i64))]))]),
            "0.components.0.id",
            "NUMBER_TYPE_MAX",
        ),
        (
            json!([with_id(
                row(json!([with_id(button("a"), json!(5))])),
                json!(5)
            )]),
            "0.components.0.id",
            "COMPONENT_ID_DUPLICATED",
        ),
        (
            json!([
                row(json!([with_id(button("a"), json!(9))])),
                row(json!([button("b"), with_id(button("c"), json!(9))]))
            ]),
            "1.components.1.id",
            "COMPONENT_ID_DUPLICATED",
        ),
    ]
}

#[tokio::test]
async fn component_ids_are_checked_everywhere_and_given_around_chosen_ones() {
    let mut c = cast().await;
    let path = format!("/channels/{}/messages", c.guild.general);
    // Chosen ids 1 and 2 on the first row's buttons, 0 (auto) on the second row: the others
    // count from 1 skipping them.
    let r = c
        .bot
        .client
        .post(
            &path,
            json!({"content": "ids", "components": [
                row(json!([with_id(button("a"), json!(1)), with_id(button("b"), json!(2))])),
                with_id(row(json!([button("c")])), json!(0)),
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let expected = vec![
        (json!(3), vec![json!(1), json!(2)]),
        (json!(4), vec![json!(5)]),
    ];
    assert_eq!(ids_of(&r.body["components"]), expected);
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == r.body["id"])
        .await;
    assert_eq!(ids_of(&seen["components"]), expected);
    let mid = s(&r.body["id"]);
    // The largest id is taken.
    let r = c
        .bot
        .client
        .post(
            &path,
            json!({"components": [row(json!([with_id(button("a"), json!(2_147_483_647_i64))]))]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        ids_of(&r.body["components"]),
        vec![(json!(1), vec![json!(2_147_483_647_i64)])]
    );
    let hook = c
        .owner
        .post(
            &format!("/channels/{}/webhooks", c.guild.general),
            json!({"name": "Hook"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{hook:?}");
    let exec = format!(
        "/webhooks/{}/{}?wait=true&with_components=true",
        s(&hook.body["id"]),
        s(&hook.body["token"])
    );
    let link = json!({"type": 2, "style": 5, "label": "Docs", "url": "https://example.com"});
    // An interaction answered, for its follow-up and `@original` routes.
    let i = echo(&mut c, "ids").await;
    let bad_answer = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "x", "components": bad_ids()[2].0}}),
        )
        .await;
    assert_eq!(
        code_at(&bad_answer, "components.0.components.0.id"),
        "COMPONENT_ID_DUPLICATED"
    );
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "answer"}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let hooks = format!("/webhooks/{}/{}", c.bot.id, s(&i["token"]));
    for (components, at, code) in bad_ids() {
        let full = format!("components.{at}");
        let sent = c
            .bot
            .client
            .post(&path, json!({"content": "x", "components": components}))
            .await;
        assert_eq!(code_at(&sent, &full), code, "send {components}");
        let edited = c
            .bot
            .client
            .patch(&format!("{path}/{mid}"), json!({"components": components}))
            .await;
        assert_eq!(code_at(&edited, &full), code, "edit {components}");
        let followup = c
            .srv
            .anon()
            .post(&hooks, json!({"content": "x", "components": components}))
            .await;
        assert_eq!(code_at(&followup, &full), code, "follow-up {components}");
        let original = c
            .srv
            .anon()
            .patch(
                &format!("{hooks}/messages/@original"),
                json!({"components": components}),
            )
            .await;
        assert_eq!(code_at(&original, &full), code, "@original {components}");
        // A webhook's link buttons: the same rules.
        let mut links = components.clone();
        for r in links.as_array_mut().unwrap() {
            for k in r["components"].as_array_mut().unwrap() {
                let id = k["id"].clone();
                *k = link.clone();
                if !id.is_null() {
                    k["id"] = id;
                }
            }
        }
        let hooked = c
            .srv
            .anon()
            .post(&exec, json!({"content": "x", "components": links}))
            .await;
        assert_eq!(code_at(&hooked, &full), code, "webhook {links}");
    }
    // A good follow-up keeps the chosen id and fills the others around it.
    let r = c
        .srv
        .anon()
        .post(
            &format!("{hooks}?wait=true"),
            json!({"content": "f", "components": [row(json!([button("x"), with_id(button("y"), json!(1))]))]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        ids_of(&r.body["components"]),
        vec![(json!(2), vec![json!(3), json!(1)])]
    );
    // Nothing refused reached the channel: the next message the other member sees is the
    // follow-up.
    let next = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["content"] != "answer" && d["content"] != ""
        })
        .await;
    assert_eq!(next["content"], "f", "{next}");
}

#[tokio::test]
async fn selects_take_default_values_of_their_kind_and_emojis_may_be_custom() {
    let mut c = cast().await;
    let path = format!("/channels/{}/messages", c.guild.general);
    let custom = json!({"id": "112233445566778899", "name": "blob", "animated": true});
    let components = json!([
        row(json!([{"type": 2, "style": 2, "custom_id": "e", "emoji": custom}])),
        row(
            json!([{"type": 5, "custom_id": "u", "default_values": [{"id": c.mate_id, "type": "user"}]}])
        ),
        row(
            json!([{"type": 7, "custom_id": "m", "max_values": 2, "default_values": [
            {"id": c.mate_id, "type": "user"}, {"id": c.guild.id, "type": "role"}]}])
        ),
        row(
            json!([{"type": 8, "custom_id": "ch", "default_values": [{"id": c.guild.general, "type": "channel"}]}])
        ),
        row(json!([{"type": 3, "custom_id": "s", "options": [
            {"label": "A", "value": "a", "emoji": {"id": "998877665544332211", "name": "opt"}}]}])),
    ]);
    let r = c
        .bot
        .client
        .post(
            &path,
            json!({"content": "defaults", "components": components}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let got = &r.body["components"];
    assert_eq!(got[0]["components"][0]["emoji"], custom);
    assert_eq!(
        got[1]["components"][0]["default_values"],
        json!([{"id": c.mate_id, "type": "user"}])
    );
    assert_eq!(
        got[2]["components"][0]["default_values"][1],
        json!({"id": c.guild.id, "type": "role"})
    );
    assert_eq!(
        got[4]["components"][0]["options"][0]["emoji"]["id"],
        "998877665544332211"
    );
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == r.body["id"])
        .await;
    assert_eq!(&seen["components"], got);
    // The user select still takes a click with its values.
    let click = json!({
        "type": 3, "application_id": c.bot.id, "guild_id": c.guild.id,
        "channel_id": c.guild.general, "message_id": r.body["id"], "session_id": "s",
        "nonce": "dv", "data": {"custom_id": "u", "component_type": 5, "values": [c.mate_id]},
    });
    let clicked = c.mate.post("/interactions", click).await;
    assert_eq!(clicked.status, 204, "{clicked:?}");
    let i = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 3)
        .await;
    assert_eq!(
        i["message"]["components"][1]["components"][0]["default_values"][0]["type"],
        "user"
    );
    let one = |v: Value| json!({"content": "x", "components": [row(json!([v]))]});
    let p = "components.0.components.0";
    let refusals = [
        (
            json!({"type": 5, "custom_id": "u", "default_values": [{"id": c.guild.id, "type": "role"}]}),
            format!("{p}.default_values.0.type"),
            "BASE_TYPE_CHOICES",
        ),
        (
            json!({"type": 6, "custom_id": "r", "default_values": [{"id": c.mate_id, "type": "user"}]}),
            format!("{p}.default_values.0.type"),
            "BASE_TYPE_CHOICES",
        ),
        (
            json!({"type": 7, "custom_id": "m", "default_values": [{"id": c.guild.general, "type": "channel"}]}),
            format!("{p}.default_values.0.type"),
            "BASE_TYPE_CHOICES",
        ),
        (
            json!({"type": 8, "custom_id": "c", "default_values": [{"id": c.mate_id, "type": "user"}]}),
            format!("{p}.default_values.0.type"),
            "BASE_TYPE_CHOICES",
        ),
        (
            json!({"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}],
                   "default_values": [{"id": c.mate_id, "type": "user"}]}),
            format!("{p}.default_values"),
            "SELECT_COMPONENT_DEFAULT_VALUES_NOT_ALLOWED",
        ),
        (
            json!({"type": 5, "custom_id": "u", "default_values": [
                {"id": c.mate_id, "type": "user"}, {"id": c.bot.user_id, "type": "user"}]}),
            format!("{p}.default_values"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!({"type": 5, "custom_id": "u", "min_values": 2, "max_values": 3,
                   "default_values": [{"id": c.mate_id, "type": "user"}]}),
            format!("{p}.default_values"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            json!({"type": 2, "style": 1, "custom_id": "e", "emoji": {"id": "0", "name": "x"}}),
            format!("{p}.emoji.id"),
            "SNOWFLAKE_TYPE_INVALID",
        ),
        (
            json!({"type": 2, "style": 1, "custom_id": "e", "emoji": {"name": ""}}),
            format!("{p}.emoji.name"),
            "BASE_TYPE_REQUIRED",
        ),
    ];
    for (component, at, code) in refusals {
        let r = c.bot.client.post(&path, one(component.clone())).await;
        assert_eq!(code_at(&r, &at), code, "{component}");
    }
    // Ids that are not snowflakes are refused at their path.
    let r = c
        .bot
        .client
        .post(
            &path,
            one(json!({"type": 5, "custom_id": "u", "default_values": [{"id": "abc", "type": "user"}]})),
        )
        .await;
    assert_field_error(&r, &format!("{p}.default_values.0.id"));
    let r = c
        .bot
        .client
        .post(
            &path,
            one(json!({"type": 2, "style": 1, "custom_id": "e", "emoji": {"id": "blob", "name": "x"}})),
        )
        .await;
    assert_field_error(&r, &format!("{p}.emoji.id"));
}

#[tokio::test]
async fn an_updated_ephemeral_message_is_the_originals_for_its_user_only() {
    let mut c = cast().await;
    let i = echo(&mut c, "eph").await;
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "secret menu", "flags": 64, "components": [
                row(json!([button("eph")]))]}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .mate_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "secret menu")
        .await;
    assert_eq!(ids_of(&m["components"]), vec![(json!(1), vec![json!(2)])]);
    let click = json!({
        "type": 3, "application_id": c.bot.id, "guild_id": c.guild.id,
        "channel_id": c.guild.general, "message_id": m["id"], "message_flags": 64,
        "session_id": "s", "nonce": "e", "data": {"custom_id": "eph", "component_type": 2},
    });
    let r = c.mate.post("/interactions", click).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ci = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 3)
        .await;
    // Duplicated ids are refused before anything is acknowledged.
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&ci),
            json!({"type": 7, "data": {"components": [
                row(json!([with_id(button("a"), json!(4)), with_id(button("b"), json!(4))]))]}}),
        )
        .await;
    assert_eq!(
        code_at(&r, "data.components.0.components.1.id"),
        "COMPONENT_ID_DUPLICATED"
    );
    // UPDATE_MESSAGE: the new components get ids around the chosen one.
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&ci)),
            json!({"type": 7, "data": {"content": "menu used", "components": [
                row(json!([with_id(button("again"), json!(1)), button("more")]))]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let expected = vec![(json!(2), vec![json!(1), json!(3)])];
    assert_eq!(
        ids_of(&r.body["resource"]["message"]["components"]),
        expected
    );
    let up = c
        .mate_gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == m["id"])
        .await;
    assert_eq!(ids_of(&up["components"]), expected);
    // `@original` of the component's interaction is that ephemeral message.
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        c.bot.id,
        s(&ci["token"])
    );
    let got = c.srv.anon().get(&original).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(
        (&got.body["id"], &got.body["content"]),
        (&m["id"], &json!("menu used"))
    );
    assert_eq!(got.body["flags"], 64);
    // A wrong token is no interaction's.
    let wrong = format!("/webhooks/{}/interaction.nope/messages/@original", c.bot.id);
    assert_err(&c.srv.anon().get(&wrong).await, 404, 10015);
    // Edits are checked, then reach its user only.
    let r = c
        .srv
        .anon()
        .patch(
            &original,
            json!({"components": [row(json!([with_id(button("a"), json!(7)), with_id(button("b"), json!(7))]))]}),
        )
        .await;
    assert_eq!(
        code_at(&r, "components.0.components.1.id"),
        "COMPONENT_ID_DUPLICATED"
    );
    let r = c
        .srv
        .anon()
        .patch(
            &original,
            json!({"content": "edited", "components": [row(json!([button("last")]))]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "edited");
    assert_eq!(
        ids_of(&r.body["components"]),
        vec![(json!(1), vec![json!(2)])]
    );
    let up = c
        .mate_gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == m["id"])
        .await;
    assert_eq!(up["content"], "edited");
    // The interaction that showed it reads the edit too.
    let first = format!(
        "/webhooks/{}/{}/messages/@original",
        c.bot.id,
        s(&i["token"])
    );
    assert_eq!(c.srv.anon().get(&first).await.body["content"], "edited");
    // The other member never saw any of it.
    let public = |text: &str| json!({"content": text});
    let path = format!("/channels/{}/messages", c.guild.general);
    assert_eq!(c.bot.client.post(&path, public("one")).await.status, 200);
    let next = c
        .other_gw
        .expect_without("MESSAGE_CREATE", "MESSAGE_UPDATE")
        .await;
    assert_eq!(next["content"], "one");
    // Deleted: MESSAGE_DELETE to its user; then it is gone for both interactions.
    let r = c.srv.anon().delete(&original).await;
    assert_eq!(r.status, 204, "{r:?}");
    let gone = c.mate_gw.expect("MESSAGE_DELETE").await;
    assert_eq!(gone["id"], m["id"]);
    assert_err(&c.srv.anon().get(&original).await, 404, 10008);
    assert_err(&c.srv.anon().get(&first).await, 404, 10008);
    assert_eq!(c.bot.client.post(&path, public("two")).await.status, 200);
    let next = c
        .other_gw
        .expect_without("MESSAGE_CREATE", "MESSAGE_DELETE")
        .await;
    assert_eq!(next["content"], "two");
}
