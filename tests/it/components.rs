//! Message components, modals and autocomplete (issue 14; Discord "Components > Using
//! Message Components", "Interactions > Receiving and Responding") through the real
//! interfaces: a bot sends action rows (validated with Discord's limits and 50035 shapes;
//! a user's are ignored; a webhook's link buttons only with `with_components`); a member's
//! client clicks a button or picks select values (`POST /interactions` type 3), the bot
//! receives INTERACTION_CREATE with the message and answers UPDATE_MESSAGE (MESSAGE_UPDATE
//! to the channel) or DEFERRED_UPDATE_MESSAGE; a modal (callback 9) reaches the invoker's
//! sessions as INTERACTION_MODAL_CREATE and comes back as MODAL_SUBMIT (type 5) checked
//! against it; autocomplete (type 4) is answered with choices (callback 8) delivered as
//! APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE. Refusals: outsiders, members without
//! VIEW_CHANNEL, disabled or unknown components, values out of range, callbacks of the
//! wrong type.

use serde_json::{Value, json};

use crate::harness::*;
use crate::interactions::{Cast, callback_path, cast, invoke};

fn row(children: Value) -> Value {
    json!({"type": 1, "components": children})
}

fn button(id: &str) -> Value {
    json!({"type": 2, "style": 1, "label": "Go", "custom_id": id})
}

/// The bot's message in `general` with a button `go`, a disabled button `off`, a string
/// select `pick` (a, b, c; one or two values) and a user select `who`.
async fn bot_message(c: &mut Cast) -> Value {
    let r = c
        .bot
        .client
        .post(
            &format!("/channels/{}/messages", c.guild.general),
            json!({"content": "choose", "components": [
                row(json!([button("go"), {"type": 2, "style": 4, "label": "Off", "custom_id": "off", "disabled": true},
                           {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com/docs"}])),
                row(json!([{"type": 3, "custom_id": "pick", "min_values": 1, "max_values": 2, "placeholder": "Pick",
                            "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}, {"label": "C", "value": "c"}]}])),
                row(json!([{"type": 5, "custom_id": "who"}])),
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == r.body["id"])
        .await;
    assert_eq!(seen["components"], r.body["components"]);
    r.body
}

/// What Discord's client posts when `custom_id` of message `m` is used.
fn click(c: &Cast, m: &Value, custom_id: &str, component_type: u8, values: Option<Value>) -> Value {
    let mut data = json!({"custom_id": custom_id, "component_type": component_type});
    if let Some(v) = values {
        data["values"] = v;
    }
    json!({
        "type": 3,
        "application_id": c.bot.id,
        "guild_id": c.guild.id,
        "channel_id": c.guild.general,
        "message_id": m["id"],
        "message_flags": 0,
        "session_id": "s",
        "nonce": "click",
        "data": data,
    })
}

#[tokio::test]
async fn bots_send_checked_components_and_users_cannot() {
    let mut c = cast().await;
    let m = bot_message(&mut c).await;
    assert_eq!(m["components"].as_array().unwrap().len(), 3);
    assert_eq!(m["components"][0]["components"][0]["custom_id"], "go");
    // Every component has an `id`, given in order (rows before their children), as Discord
    // does: hikari reads it on every button of a message.
    let ids: Vec<(Value, Vec<Value>)> = m["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let kids = r["components"].as_array().unwrap();
            (
                r["id"].clone(),
                kids.iter().map(|k| k["id"].clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            (json!(1), vec![json!(2), json!(3), json!(4)]),
            (json!(5), vec![json!(6)]),
            (json!(7), vec![json!(8)]),
        ]
    );
    // Ids a bot chose are kept, the others skip them.
    let r = c
        .bot
        .client
        .post(
            &format!("/channels/{}/messages", c.guild.general),
            json!({"content": "ids", "components": [
                {"type": 1, "id": 2, "components": [button("x"), {"type": 2, "style": 1, "label": "Y", "custom_id": "y", "id": 1}]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let got = c
        .mate
        .get(&format!(
            "/channels/{}/messages/{}",
            c.guild.general,
            s(&r.body["id"])
        ))
        .await;
    let row0 = &got.body["components"][0];
    assert_eq!(
        (
            &row0["id"],
            &row0["components"][0]["id"],
            &row0["components"][1]["id"]
        ),
        (&json!(2), &json!(3), &json!(1)),
        "{got:?}"
    );
    assert_eq!(
        m["components"][1]["components"][0]["options"][2]["value"],
        "c"
    );
    let path = format!("/channels/{}/messages", c.guild.general);
    let send = |components: Value| json!({"content": "x", "components": components});
    let refusals = [
        (
            json!(
                (0..6)
                    .map(|i| row(json!([button(&format!("b{i}"))])))
                    .collect::<Vec<_>>()
            ),
            "components",
        ),
        (json!([button("top")]), "components.0"),
        (
            json!([row(json!([button("a")])), row(json!([button("a")]))]),
            "components.1.components.0.custom_id",
        ),
        (
            json!([row(json!(
                (0..6).map(|i| button(&format!("b{i}"))).collect::<Vec<_>>()
            ))]),
            "components.0.components",
        ),
        (
            json!([row(
                json!([button("a"), {"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}]}])
            )]),
            "components.0.components",
        ),
        (
            json!([row(
                json!([{"type": 2, "style": 1, "label": "x".repeat(81), "custom_id": "a"}])
            )]),
            "components.0.components.0.label",
        ),
        (
            json!([row(
                json!([{"type": 2, "style": 1, "label": "L", "custom_id": "x".repeat(101)}])
            )]),
            "components.0.components.0.custom_id",
        ),
        (
            json!([row(json!([{"type": 2, "style": 1, "label": "L"}]))]),
            "components.0.components.0.custom_id",
        ),
        (
            json!([row(json!([{"type": 2, "style": 5, "label": "L"}]))]),
            "components.0.components.0.url",
        ),
        (
            json!([row(json!([{"type": 2, "style": 6, "sku_id": "1"}]))]),
            "components.0.components.0.style",
        ),
        (
            json!([row(
                json!([{"type": 3, "custom_id": "s", "options": (0..26).map(|i| json!({"label": "L", "value": format!("v{i}")})).collect::<Vec<_>>()}])
            )]),
            "components.0.components.0.options",
        ),
        (
            json!([row(
                json!([{"type": 3, "custom_id": "s", "max_values": 26, "options": [{"label": "A", "value": "a"}]}])
            )]),
            "components.0.components.0.max_values",
        ),
        (
            json!([row(
                json!([{"type": 5, "custom_id": "s", "placeholder": "p".repeat(151)}])
            )]),
            "components.0.components.0.placeholder",
        ),
        (
            json!([row(
                json!([{"type": 4, "custom_id": "t", "style": 1, "label": "T"}])
            )]),
            "components.0.components.0",
        ),
    ];
    for (components, field) in refusals {
        let r = c.bot.client.post(&path, send(components.clone())).await;
        assert_field_error(&r, field);
    }
    // A user's components are ignored, as Discord does.
    let r = c
        .mate
        .post(&path, send(json!([row(json!([button("mine")]))])))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["components"], json!([]));
    // The bot edits them away: MESSAGE_UPDATE, and history agrees.
    let edit = c
        .bot
        .client
        .patch(
            &format!("{path}/{}", s(&m["id"])),
            json!({"components": []}),
        )
        .await;
    assert_eq!(edit.status, 200, "{edit:?}");
    assert_eq!(edit.body["components"], json!([]));
    let up = c
        .other_gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == m["id"])
        .await;
    assert_eq!(up["components"], json!([]));
    let got = c.other.get(&format!("{path}/{}", s(&m["id"]))).await;
    assert_eq!(got.body["components"], json!([]));
    // A webhook: components only with `with_components`, and then link buttons only.
    let hook = c
        .owner
        .post(
            &format!("/channels/{}/webhooks", c.guild.general),
            json!({"name": "Hook"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{hook:?}");
    let exec = format!(
        "/webhooks/{}/{}",
        s(&hook.body["id"]),
        s(&hook.body["token"])
    );
    let link = json!([row(
        json!([{"type": 2, "style": 5, "label": "Docs", "url": "https://example.com"}])
    )]);
    let r = c
        .srv
        .anon()
        .post(&format!("{exec}?wait=true"), send(link.clone()))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["components"], json!([]));
    let r = c
        .srv
        .anon()
        .post(
            &format!("{exec}?wait=true&with_components=true"),
            send(link.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // As sent, with the ids the server gave (row 1, its button 2).
    assert_eq!(
        r.body["components"],
        json!([{"type": 1, "id": 1, "components": [
            {"type": 2, "id": 2, "style": 5, "label": "Docs", "url": "https://example.com"}]}])
    );
    let r = c
        .srv
        .anon()
        .post(
            &format!("{exec}?wait=true&with_components=true"),
            send(json!([row(json!([button("hooked")]))])),
        )
        .await;
    assert_field_error(&r, "components.0.components.0.style");
}

#[tokio::test]
async fn clicks_reach_the_bot_and_update_message_edits_the_message() {
    let mut c = cast().await;
    let m = bot_message(&mut c).await;
    let r = c
        .mate
        .post("/interactions", click(&c, &m, "go", 2, None))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(i["type"], 3);
    assert_eq!(i["data"], json!({"custom_id": "go", "component_type": 2}));
    assert_eq!(i["message"]["id"], m["id"]);
    assert_eq!(i["message"]["components"], m["components"]);
    assert_eq!(i["member"]["user"]["id"], json!(c.mate_id));
    let created = c.mate_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(created, json!({"id": i["id"], "nonce": "click"}));
    // Callbacks of other kinds: 8 is autocomplete's only.
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 8, "data": {"choices": []}}),
        )
        .await;
    assert_field_error(&r, "type");
    // A bad update is refused before anything is acknowledged.
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 7, "data": {"components": [button("bare")]}}),
        )
        .await;
    assert_field_error(&r, "data.components.0");
    // UPDATE_MESSAGE: the component's message is edited, MESSAGE_UPDATE to the channel.
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&i)),
            json!({"type": 7, "data": {"content": "clicked", "components": [row(json!([button("again")]))]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["interaction"]["type"], 3);
    assert_eq!(r.body["resource"]["type"], 7);
    assert_eq!(r.body["resource"]["message"]["id"], m["id"]);
    let up = c
        .other_gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == m["id"])
        .await;
    assert_eq!(up["content"], "clicked");
    assert_eq!(up["components"][0]["components"][0]["custom_id"], "again");
    let got = c
        .other
        .get(&format!(
            "/channels/{}/messages/{}",
            c.guild.general,
            s(&m["id"])
        ))
        .await;
    assert_eq!(got.body["content"], "clicked");
    assert_eq!(got.body["components"].as_array().unwrap().len(), 1);
    let success = c.mate_gw.expect("INTERACTION_SUCCESS").await;
    assert_eq!(success["id"], i["id"]);
    // The old components are gone: `go` is unknown now.
    let r = c
        .mate
        .post("/interactions", click(&c, &m, "go", 2, None))
        .await;
    assert_field_error(&r, "data.custom_id");

    // DEFERRED_UPDATE_MESSAGE, then `@original` is the component's message.
    let r = c
        .mate
        .post("/interactions", click(&c, &m, "again", 2, None))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    let r = c
        .srv
        .anon()
        .post(&callback_path(&i), json!({"type": 6}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        c.bot.id,
        s(&i["token"])
    );
    let r = c
        .srv
        .anon()
        .patch(&original, json!({"content": "later", "components": []}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["id"], m["id"]);
    let up = c
        .other_gw
        .expect_where("MESSAGE_UPDATE", |d| {
            d["id"] == m["id"] && d["content"] == "later"
        })
        .await;
    assert_eq!(up["components"], json!([]));
    // A follow-up of a component's interaction names the component's message (Discord
    // "Message Interaction Metadata": `interacted_message_id`; hikari requires it).
    let f = c
        .srv
        .anon()
        .post(
            &format!("/webhooks/{}/{}?wait=true", c.bot.id, s(&i["token"])),
            json!({"content": "noted"}),
        )
        .await;
    assert_eq!(f.status, 200, "{f:?}");
    assert_eq!(f.body["type"], 0);
    assert_eq!(f.body["interaction_metadata"]["type"], 3);
    assert_eq!(
        f.body["interaction_metadata"]["interacted_message_id"],
        m["id"]
    );
    assert!(
        f.body["interaction_metadata"].get("name").is_none(),
        "{f:?}"
    );
}

#[tokio::test]
async fn component_interactions_are_checked() {
    let mut c = cast().await;
    let m = bot_message(&mut c).await;
    let mate = c.mate.clone();
    let post = move |b: Value| {
        let mate = mate.clone();
        async move { mate.post("/interactions", b).await }
    };
    // Disabled, unknown, of another type.
    assert_field_error(&post(click(&c, &m, "off", 2, None)).await, "data.custom_id");
    assert_field_error(
        &post(click(&c, &m, "nope", 2, None)).await,
        "data.custom_id",
    );
    assert_field_error(
        &post(click(&c, &m, "go", 3, None)).await,
        "data.component_type",
    );
    assert_field_error(
        &post(click(&c, &m, "go", 2, Some(json!(["a"])))).await,
        "data.values",
    );
    // Select values: among the options, between min_values and max_values.
    assert_field_error(
        &post(click(&c, &m, "pick", 3, Some(json!(["z"])))).await,
        "data.values.0",
    );
    assert_field_error(
        &post(click(&c, &m, "pick", 3, Some(json!([])))).await,
        "data.values",
    );
    assert_field_error(
        &post(click(&c, &m, "pick", 3, Some(json!(["a", "b", "c"])))).await,
        "data.values",
    );
    assert_field_error(
        &post(click(&c, &m, "pick", 3, Some(json!(["a", "a"])))).await,
        "data.values.1",
    );
    let r = post(click(&c, &m, "pick", 3, Some(json!(["a", "c"])))).await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(i["data"]["values"], json!(["a", "c"]));
    // A user select: the user resolved.
    let r = post(click(&c, &m, "who", 5, Some(json!([c.mate_id.clone()])))).await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["data"]["custom_id"] == "who")
        .await;
    assert_eq!(i["data"]["values"], json!([c.mate_id.clone()]));
    assert_eq!(
        i["data"]["resolved"]["users"][&c.mate_id]["username"],
        "mate"
    );
    assert!(i["data"]["resolved"]["members"][&c.mate_id].is_object());
    assert_field_error(
        &post(click(&c, &m, "who", 5, Some(json!(["1"])))).await,
        "data.values.0",
    );
    // Not the application's message; no message at all.
    let theirs = say(&c.owner, &c.guild.general, "mine").await;
    let r = post(click(&c, &json!({"id": theirs}), "go", 2, None)).await;
    assert_field_error(&r, "message_id");
    let r = post(click(&c, &json!({"id": "12345"}), "go", 2, None)).await;
    assert_err(&r, 404, 10008);
    let mut missing = click(&c, &m, "go", 2, None);
    missing.as_object_mut().unwrap().remove("message_id");
    assert_field_error(&post(missing).await, "message_id");
    // An outsider.
    let (_, outsider) = c.srv.user("outsider").await;
    let r = outsider
        .post("/interactions", click(&c, &m, "go", 2, None))
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    // A member who cannot VIEW_CHANNEL (an overwrite on @everyone); the owner still can.
    let deny = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{}", c.guild.general, c.guild.id),
            json!({"type": 0, "allow": "0", "deny": (1u64 << 10).to_string()}),
        )
        .await;
    assert_eq!(deny.status, 204, "{deny:?}");
    let r = post(click(&c, &m, "go", 2, None)).await;
    assert_err(&r, 403, 50001);
    let r = c
        .owner
        .post("/interactions", click(&c, &m, "go", 2, None))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}

/// `mate` invokes `/echo`; the bot's interaction.
async fn echo(c: &mut Cast, nonce: &str) -> Value {
    let body = invoke(
        c,
        &c.echo.clone(),
        "echo",
        json!([{"type": 3, "name": "text", "value": "hi"}]),
        nonce,
    );
    let r = c.mate.post("/interactions", body).await;
    assert_eq!(r.status, 204, "{r:?}");
    c.bot_gw.expect("INTERACTION_CREATE").await
}

fn modal() -> Value {
    json!({"custom_id": "form", "title": "Your name", "components": [
        row(json!([{"type": 4, "custom_id": "name", "style": 1, "label": "Name", "min_length": 2, "max_length": 10}])),
        row(json!([{"type": 4, "custom_id": "bio", "style": 2, "label": "Bio", "required": false}])),
    ]})
}

fn submit(c: &Cast, opened_by: &Value, custom_id: &str, name: &str) -> Value {
    json!({
        "type": 5,
        "application_id": c.bot.id,
        "guild_id": c.guild.id,
        "channel_id": c.guild.general,
        "session_id": "s",
        "nonce": "sub",
        "data": {"id": opened_by["id"], "custom_id": custom_id, "components": [
            row(json!([{"type": 4, "custom_id": "name", "value": name}])),
        ]},
    })
}

#[tokio::test]
async fn a_modal_goes_to_the_invoker_and_comes_back_checked() {
    let mut c = cast().await;
    let i = echo(&mut c, "m-1").await;
    let cb = callback_path(&i);
    // Bad modals, refused before anything is acknowledged.
    let mut long_title = modal();
    long_title["title"] = json!("t".repeat(46));
    assert_field_error(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 9, "data": long_title}))
            .await,
        "data.title",
    );
    let mut with_button = modal();
    with_button["components"] = json!([row(json!([button("b")]))]);
    assert_field_error(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 9, "data": with_button}))
            .await,
        "data.components.0.components.0",
    );
    let mut none = modal();
    none["components"] = json!([]);
    assert_field_error(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 9, "data": none}))
            .await,
        "data.components",
    );
    // Commands cannot be answered with 6, 7 or 8.
    for kind in [6, 7, 8] {
        assert_field_error(&c.srv.anon().post(&cb, json!({"type": kind})).await, "type");
    }
    let r = c
        .srv
        .anon()
        .post(&cb, json!({"type": 9, "data": modal()}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let shown = c.mate_gw.expect("INTERACTION_MODAL_CREATE").await;
    assert_eq!(shown["id"], i["id"]);
    assert_eq!(shown["nonce"], "m-1");
    assert_eq!(shown["custom_id"], "form");
    assert_eq!(shown["title"], "Your name");
    assert_eq!(shown["channel_id"], json!(c.guild.general));
    assert_eq!(shown["application"]["id"], json!(c.bot.id));
    assert_eq!(shown["components"], modal()["components"]);

    // Submissions checked against the modal.
    assert_field_error(
        &c.mate
            .post("/interactions", submit(&c, &i, "form", "A"))
            .await,
        "data.components.0.components.0.value",
    );
    assert_field_error(
        &c.mate
            .post("/interactions", submit(&c, &i, "other", "Al"))
            .await,
        "data.custom_id",
    );
    let mut unknown = submit(&c, &i, "form", "Al");
    unknown["data"]["components"][0]["components"][0]["custom_id"] = json!("age");
    assert_field_error(
        &c.mate.post("/interactions", unknown).await,
        "data.components.0.components.0.custom_id",
    );
    // Only the invoker, only for a modal that was sent.
    assert_err(
        &c.other
            .post("/interactions", submit(&c, &i, "form", "Al"))
            .await,
        404,
        10062,
    );
    let j = echo(&mut c, "m-2").await;
    assert_err(
        &c.mate
            .post("/interactions", submit(&c, &j, "form", "Al"))
            .await,
        404,
        10062,
    );

    let r = c
        .mate
        .post("/interactions", submit(&c, &i, "form", "Al"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let sub = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 5)
        .await;
    assert_eq!(sub["data"]["custom_id"], "form");
    // With the modal's component ids, counted from 1 as Discord sends them (hikari reads
    // `id` of every submitted component).
    assert_eq!(
        sub["data"]["components"],
        json!([
            {"type": 1, "id": 1, "components": [{"type": 4, "id": 2, "custom_id": "name", "value": "Al"}]},
            {"type": 1, "id": 3, "components": [{"type": 4, "id": 4, "custom_id": "bio", "value": ""}]},
        ])
    );
    assert!(sub.get("message").is_none());
    // A modal cannot answer a modal submit, nor can UPDATE_MESSAGE without a component.
    let scb = callback_path(&sub);
    assert_field_error(
        &c.srv
            .anon()
            .post(&scb, json!({"type": 9, "data": modal()}))
            .await,
        "type",
    );
    assert_field_error(
        &c.srv
            .anon()
            .post(&scb, json!({"type": 7, "data": {"content": "x"}}))
            .await,
        "type",
    );
    let r = c
        .srv
        .anon()
        .post(
            &format!("{scb}?with_response=true"),
            json!({"type": 4, "data": {"content": "thanks Al"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["resource"]["message"]["type"], 0);
    let meta = &r.body["resource"]["message"]["interaction_metadata"];
    assert_eq!(meta["type"], 5);
    // The interaction whose modal it answers (Discord: `triggering_interaction_metadata`;
    // hikari requires it).
    let trigger = &meta["triggering_interaction_metadata"];
    assert_eq!(trigger["id"], i["id"]);
    assert_eq!(trigger["type"], 2);
    assert_eq!(trigger["name"], "echo");
    assert_eq!(trigger["user"]["id"], json!(c.mate_id));
    assert!(meta.get("interacted_message_id").is_none(), "{meta}");
}

#[tokio::test]
async fn autocomplete_choices_reach_the_invoker() {
    let mut c = cast().await;
    let path = format!("/applications/{}/guilds/{}/commands", c.bot.id, c.guild.id);
    let pick = c
        .bot
        .client
        .post(
            &path,
            json!({"name": "fruit", "description": "Pick a fruit", "options": [
                {"type": 3, "name": "name", "description": "Which", "required": true, "autocomplete": true},
                {"type": 4, "name": "count", "description": "How many", "required": true},
            ]}),
        )
        .await;
    assert_eq!(pick.status, 201, "{pick:?}");
    let id = s(&pick.body["id"]);
    let ask = |c: &Cast, options: Value| {
        let mut b = invoke(c, &id, "fruit", options, "ac-1");
        b["type"] = json!(4);
        b
    };
    // Exactly one focused option, declared with autocomplete.
    assert_field_error(
        &c.mate
            .post(
                "/interactions",
                ask(&c, json!([{"type": 3, "name": "name", "value": "ap"}])),
            )
            .await,
        "data.options",
    );
    assert_field_error(
        &c.mate
            .post(
                "/interactions",
                ask(
                    &c,
                    json!([{"type": 4, "name": "count", "value": 1, "focused": true}]),
                ),
            )
            .await,
        "data.options.0.focused",
    );
    let r = c
        .mate
        .post(
            "/interactions",
            ask(
                &c,
                json!([{"type": 3, "name": "name", "value": "ap", "focused": true}]),
            ),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(i["type"], 4);
    assert_eq!(
        i["data"]["options"],
        json!([{"type": 3, "name": "name", "value": "ap", "focused": true}])
    );
    let cb = callback_path(&i);
    // Autocomplete takes callback 8 only, with at most 25 choices.
    assert_field_error(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 4, "data": {"content": "x"}}))
            .await,
        "type",
    );
    assert_field_error(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 9, "data": modal()}))
            .await,
        "type",
    );
    let many: Vec<Value> = (0..26)
        .map(|k| json!({"name": format!("f{k}"), "value": format!("f{k}")}))
        .collect();
    assert_field_error(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 8, "data": {"choices": many}}))
            .await,
        "data.choices",
    );
    let choices =
        json!([{"name": "Apple", "value": "apple"}, {"name": "Apricot", "value": "apricot"}]);
    let r = c
        .srv
        .anon()
        .post(&cb, json!({"type": 8, "data": {"choices": choices}}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let got = c
        .mate_gw
        .expect("APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE")
        .await;
    assert_eq!(got, json!({"nonce": "ac-1", "choices": choices}));
    // Answered once.
    assert_err(
        &c.srv
            .anon()
            .post(&cb, json!({"type": 8, "data": {"choices": []}}))
            .await,
        400,
        40060,
    );
    // An application command interaction with the same options, unfocused, is a normal
    // invocation: `count` is required there.
    let mut normal = ask(&c, json!([{"type": 3, "name": "name", "value": "apple"}]));
    normal["type"] = json!(2);
    assert_field_error(&c.mate.post("/interactions", normal).await, "data.options");
}
