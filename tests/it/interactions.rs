//! Interactions (issue 14; Discord "Interactions > Receiving and Responding") through the
//! real interfaces: a member's client posts `POST /interactions`, the application's bot
//! receives INTERACTION_CREATE over its gateway connection with `data.resolved`, answers
//! through `POST /interactions/{id}/{token}/callback`, edits `@original` and sends
//! follow-ups through `/webhooks/{app}/{token}`; the members' gateway connections see the
//! resulting messages (ephemeral ones only the invoker); refusals of outsiders, of members
//! without the command's permissions, of bad option values, of second callbacks and of bad
//! tokens; the 3-second deadline's INTERACTION_FAILURE.

use hearth_testkit::build::{Bot, bot_application};
use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

const MESSAGE_CONTENT: u64 = 1 << 15;

/// A server; an owner with a guild; a member (`mate`) and a second member (`other`), each
/// with a gateway connection; the owner's application whose bot is in the guild and
/// connected; a guild command `echo` with a string, an integer and a user option, and an
/// admin-only command `nuke`.
pub(crate) struct Cast {
    pub(crate) srv: TestServer,
    pub(crate) owner: Client,
    pub(crate) guild: Guild,
    pub(crate) bot: Bot,
    pub(crate) bot_gw: Gw,
    pub(crate) mate: Client,
    pub(crate) mate_id: String,
    pub(crate) mate_gw: Gw,
    pub(crate) other: Client,
    pub(crate) other_gw: Gw,
    pub(crate) echo: String,
    pub(crate) nuke: String,
}

pub(crate) async fn cast() -> Cast {
    cast_with(|_| {}).await
}

/// [`cast`] on a server whose configuration `f` adjusts.
pub(crate) async fn cast_with(f: impl FnOnce(&mut hearth::Config)) -> Cast {
    let srv = TestServer::start_with(f).await;
    let (_, owner) = srv.user("slashowner").await;
    let guild = create_guild(&owner, "Slash").await;
    let bot = bot_application(&owner, "Echo Bot", 0, Some(&guild.id))
        .await
        .unwrap();
    let (mate_id, mate_tok) = srv.register("mate").await;
    let mate = srv.client(&mate_tok);
    join(&mate, &guild.invite).await;
    let (_, other_tok) = srv.register("other").await;
    let other = srv.client(&other_tok);
    join(&other, &guild.invite).await;
    let path = format!("/applications/{}/guilds/{}/commands", bot.id, guild.id);
    let echo = bot
        .client
        .post(
            &path,
            json!({"name": "echo", "description": "Repeats", "options": [
                {"type": 3, "name": "text", "description": "What", "required": true, "max_length": 20},
                {"type": 4, "name": "times", "description": "How often", "min_value": 1, "max_value": 3},
                {"type": 6, "name": "who", "description": "To whom"},
            ]}),
        )
        .await;
    assert_eq!(echo.status, 201, "{echo:?}");
    let nuke = bot
        .client
        .post(
            &path,
            json!({"name": "nuke", "description": "Admins only", "default_member_permissions": "8"}),
        )
        .await;
    assert_eq!(nuke.status, 201, "{nuke:?}");
    let bot_gw = Gw::identify(&srv, &bot.token, GUILDS | GUILD_MESSAGES).await;
    let mate_gw = Gw::identify(&srv, &mate_tok, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    let other_gw = Gw::identify(&srv, &other_tok, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    Cast {
        echo: s(&echo.body["id"]),
        nuke: s(&nuke.body["id"]),
        srv,
        owner,
        guild,
        bot,
        bot_gw,
        mate,
        mate_id,
        mate_gw,
        other,
        other_gw,
    }
}

/// The body Discord's client posts to invoke `name` (`id`) with `options`.
/// Message `id` as `other` reads it in the history of `general` (it must be there).
async fn in_history(c: &Cast, id: &Value) -> Value {
    let history = c
        .other
        .get(&format!("/channels/{}/messages?limit=5", c.guild.general))
        .await;
    history
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| &m["id"] == id)
        .unwrap_or_else(|| panic!("{id} in the history: {history:?}"))
        .clone()
}

pub(crate) fn invoke(c: &Cast, id: &str, name: &str, options: Value, nonce: &str) -> Value {
    json!({
        "type": 2,
        "application_id": c.bot.id,
        "guild_id": c.guild.id,
        "channel_id": c.guild.general,
        "session_id": "s",
        "nonce": nonce,
        "data": {"version": "1", "id": id, "name": name, "type": 1, "options": options},
    })
}

/// `mate` invokes `/echo text:<text>`; the bot's INTERACTION_CREATE.
pub(crate) async fn echo(c: &mut Cast, text: &str, nonce: &str) -> Value {
    let body = invoke(
        c,
        &c.echo.clone(),
        "echo",
        json!([{"type": 3, "name": "text", "value": text}]),
        nonce,
    );
    let r = c.mate.post("/interactions", body).await;
    assert_eq!(r.status, 204, "{r:?}");
    c.bot_gw
        .expect_where("INTERACTION_CREATE", |d| {
            d["data"]["options"][0]["value"] == text
        })
        .await
}

pub(crate) fn callback_path(i: &Value) -> String {
    format!("/interactions/{}/{}/callback", s(&i["id"]), s(&i["token"]))
}

#[tokio::test]
async fn the_bot_receives_the_interaction_and_answers_in_the_channel() {
    let mut c = cast().await;
    let body = invoke(
        &c,
        &c.echo.clone(),
        "echo",
        json!([
            {"type": 3, "name": "text", "value": "hello"},
            {"type": 4, "name": "times", "value": 2},
            {"type": 6, "name": "who", "value": c.mate_id.clone()},
        ]),
        "n-1",
    );
    let r = c.mate.post("/interactions", body).await;
    assert_eq!(r.status, 204, "{r:?}");

    // The bot: Discord's interaction object with the resolved user and member.
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(i["type"], 2);
    assert_eq!(i["application_id"], json!(c.bot.id));
    assert_eq!(i["guild_id"], json!(c.guild.id));
    assert_eq!(i["channel_id"], json!(c.guild.general));
    assert_eq!(i["channel"]["id"], json!(c.guild.general));
    assert_eq!(i["version"], 1);
    assert_eq!(i["context"], 0);
    assert_eq!(i["entitlements"], json!([]));
    assert_eq!(i["authorizing_integration_owners"]["0"], json!(c.guild.id));
    assert!(
        i["app_permissions"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(i["member"]["user"]["id"], json!(c.mate_id));
    assert!(i["member"]["permissions"].is_string());
    assert_eq!(i["data"]["id"], json!(c.echo));
    assert_eq!(i["data"]["name"], "echo");
    assert_eq!(i["data"]["type"], 1);
    assert_eq!(i["data"]["guild_id"], json!(c.guild.id));
    assert_eq!(
        i["data"]["options"],
        json!([
            {"type": 3, "name": "text", "value": "hello"},
            {"type": 4, "name": "times", "value": 2},
            {"type": 6, "name": "who", "value": c.mate_id.clone()},
        ])
    );
    let resolved = &i["data"]["resolved"];
    assert_eq!(resolved["users"][&c.mate_id]["username"], "mate");
    assert!(resolved["members"][&c.mate_id]["permissions"].is_string());
    assert!(resolved["members"][&c.mate_id].get("user").is_none());
    assert!(s(&i["token"]).len() >= 32);
    // The invoker's client learns it was delivered, with its nonce.
    let created = c.mate_gw.expect("INTERACTION_CREATE").await;
    assert_eq!(created, json!({"id": i["id"], "nonce": "n-1"}));

    // Type 4 with `with_response`: a message of the bot, type 20, seen by the other member.
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&i)),
            json!({"type": 4, "data": {"content": "hello hello"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["interaction"]["id"], i["id"]);
    assert_eq!(r.body["interaction"]["type"], 2);
    assert_eq!(r.body["interaction"]["response_message_ephemeral"], false);
    assert_eq!(r.body["resource"]["type"], 4);
    let message = &r.body["resource"]["message"];
    assert_eq!(r.body["interaction"]["response_message_id"], message["id"]);
    assert_eq!(message["type"], 20);
    assert_eq!(message["author"]["id"], json!(c.bot.user_id));
    assert_eq!(message["application_id"], json!(c.bot.id));
    assert_eq!(message["interaction_metadata"]["id"], i["id"]);
    assert_eq!(message["interaction_metadata"]["type"], 2);
    assert_eq!(
        message["interaction_metadata"]["user"]["id"],
        json!(c.mate_id)
    );
    assert_eq!(message["interaction"]["name"], "echo");
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == message["id"])
        .await;
    assert_eq!(seen["content"], "hello hello");
    assert_eq!(seen["type"], 20);
    assert_eq!(seen["interaction_metadata"]["user"]["id"], json!(c.mate_id));
    let success = c.mate_gw.expect("INTERACTION_SUCCESS").await;
    assert_eq!(success, json!({"id": i["id"], "nonce": "n-1"}));
    // Stored: history shows it with its metadata.
    let stored = in_history(&c, &message["id"]).await;
    assert_eq!(stored["interaction_metadata"]["id"], i["id"]);
    assert_eq!(stored["interaction"]["user"]["id"], json!(c.mate_id));
    // History shows the invoker as they are now, not as stored with the message.
    let r = c
        .mate
        .patch("/users/@me", json!({"global_name": "Mate Renamed"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let renamed = in_history(&c, &message["id"]).await;
    assert_eq!(
        renamed["interaction_metadata"]["user"]["global_name"],
        "Mate Renamed"
    );
    assert_eq!(
        renamed["interaction"]["user"]["global_name"],
        "Mate Renamed"
    );

    // A second callback: 40060.
    let again = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "again"}}),
        )
        .await;
    assert_err(&again, 400, 40060);
    // @original through the webhook route.
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        c.bot.id,
        s(&i["token"])
    );
    let got = c.srv.anon().get(&original).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["id"], message["id"]);
}

#[tokio::test]
async fn ephemeral_responses_reach_only_the_invoker() {
    let mut c = cast().await;
    let i = echo(&mut c, "secret", "n-2").await;
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "only for you", "flags": 64}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c.mate_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(m["content"], "only for you");
    assert_eq!(m["flags"].as_u64().unwrap() & 64, 64);
    assert_eq!(m["interaction_metadata"]["id"], i["id"]);
    // A public message afterwards reaches the other member, who never got the ephemeral one.
    let after = say(&c.owner, &c.guild.general, "barrier").await;
    // The first MESSAGE_CREATE the other member gets is the barrier.
    let seen = c.other_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(seen["id"], json!(after));
    // Not in the channel's history.
    let history = c
        .other
        .get(&format!("/channels/{}/messages?limit=10", c.guild.general))
        .await;
    assert!(
        !history
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["content"] == "only for you"),
        "{history:?}"
    );
    // The application still reads and edits it through the token.
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        c.bot.id,
        s(&i["token"])
    );
    let got = c.srv.anon().get(&original).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["content"], "only for you");
    let edited = c
        .srv
        .anon()
        .patch(&original, json!({"content": "still only for you"}))
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    let up = c.mate_gw.expect("MESSAGE_UPDATE").await;
    assert_eq!(up["content"], "still only for you");
    // An ephemeral follow-up, too.
    let follow = c
        .srv
        .anon()
        .post(
            &format!("/webhooks/{}/{}?wait=true", c.bot.id, s(&i["token"])),
            json!({"content": "psst", "flags": 64}),
        )
        .await;
    assert_eq!(follow.status, 200, "{follow:?}");
    let psst = c
        .mate_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "psst")
        .await;
    assert_eq!(psst["flags"].as_u64().unwrap() & 64, 64);
    let after = say(&c.owner, &c.guild.general, "barrier 2").await;
    let seen = c
        .other_gw
        .expect_without("MESSAGE_CREATE", "MESSAGE_UPDATE")
        .await;
    assert_eq!(
        seen["id"],
        json!(after),
        "the ephemeral follow-up must not arrive"
    );
}

#[tokio::test]
async fn deferred_then_edit_original_and_follow_ups() {
    let mut c = cast().await;
    let i = echo(&mut c, "later", "n-3").await;
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&i)),
            json!({"type": 5}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["interaction"]["response_message_loading"], true);
    assert_eq!(c.mate_gw.expect("INTERACTION_SUCCESS").await["id"], i["id"]);
    let token = s(&i["token"]);
    let original = format!("/webhooks/{}/{token}/messages/@original", c.bot.id);
    // Nothing yet.
    assert_err(&c.srv.anon().get(&original).await, 404, 10008);
    // The first edit of @original sends the response.
    let e = c
        .srv
        .anon()
        .patch(&original, json!({"content": "done"}))
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(e.body["type"], 20);
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == e.body["id"])
        .await;
    assert_eq!(seen["content"], "done");
    // A later edit changes it.
    let e2 = c
        .srv
        .anon()
        .patch(&original, json!({"content": "done, really"}))
        .await;
    assert_eq!(e2.status, 200, "{e2:?}");
    assert_eq!(e2.body["id"], e.body["id"]);
    let up = c.other_gw.expect("MESSAGE_UPDATE").await;
    assert_eq!(up["content"], "done, really");
    // A follow-up, with its own id; read, edited and deleted by id.
    let f = c
        .srv
        .anon()
        .post(
            &format!("/webhooks/{}/{token}?wait=true", c.bot.id),
            json!({"content": "one more thing"}),
        )
        .await;
    assert_eq!(f.status, 200, "{f:?}");
    assert_ne!(f.body["id"], e.body["id"]);
    assert_eq!(
        f.body["interaction_metadata"]["original_response_message_id"],
        e.body["id"]
    );
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == f.body["id"])
        .await;
    assert_eq!(seen["content"], "one more thing");
    let by_id = format!(
        "/webhooks/{}/{token}/messages/{}",
        c.bot.id,
        s(&f.body["id"])
    );
    assert_eq!(
        c.srv.anon().get(&by_id).await.body["content"],
        "one more thing"
    );
    assert_eq!(c.srv.anon().delete(&by_id).await.status, 204);
    let gone = c.other_gw.expect("MESSAGE_DELETE").await;
    assert_eq!(gone["id"], f.body["id"]);
    // Another message of the channel is not the interaction's.
    let foreign = say(&c.owner, &c.guild.general, "not yours").await;
    let path = format!("/webhooks/{}/{token}/messages/{foreign}", c.bot.id);
    assert_err(&c.srv.anon().get(&path).await, 404, 10008);
    assert_err(&c.srv.anon().delete(&path).await, 404, 10008);
    // Deleting @original: it is gone, and an edit does not make it again.
    assert_eq!(c.srv.anon().delete(&original).await.status, 204);
    assert_err(&c.srv.anon().get(&original).await, 404, 10008);
    assert_err(
        &c.srv
            .anon()
            .patch(&original, json!({"content": "back again"}))
            .await,
        404,
        10008,
    );
}

/// Discord "Create Followup Message": directly after DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE the
/// first follow-up is the response (discord.py `defer()` + `followup.send()`): `@original`
/// is that message, it keeps the deferral's ephemeral flag, and the next follow-up is a
/// follow-up of it.
#[tokio::test]
async fn the_first_follow_up_after_a_deferral_is_the_response() {
    let mut c = cast().await;
    for (ephemeral, nonce) in [(false, "n-f1"), (true, "n-f2")] {
        let i = echo(&mut c, "deferred", nonce).await;
        let flags = if ephemeral { 64 } else { 0 };
        let r = c
            .srv
            .anon()
            .post(
                &callback_path(&i),
                json!({"type": 5, "data": {"flags": flags}}),
            )
            .await;
        assert_eq!(r.status, 204, "{r:?}");
        let token = s(&i["token"]);
        let hook = format!("/webhooks/{}/{token}?wait=true", c.bot.id);
        // The body's flags are ignored: the deferral's decide.
        let f = c
            .srv
            .anon()
            .post(
                &hook,
                json!({"content": "took a while", "flags": 64 - flags}),
            )
            .await;
        assert_eq!(f.status, 200, "{f:?}");
        assert_eq!(f.body["type"], 20);
        assert_eq!(f.body["flags"].as_u64().unwrap_or(0) & 64, flags);
        assert_eq!(f.body["interaction_metadata"]["id"], i["id"]);
        assert!(
            f.body["interaction_metadata"]["original_response_message_id"].is_null(),
            "{f:?}"
        );
        let original = format!("/webhooks/{}/{token}/messages/@original", c.bot.id);
        let o = c.srv.anon().get(&original).await;
        assert_eq!(o.status, 200, "{o:?}");
        assert_eq!(o.body["id"], f.body["id"]);
        assert_eq!(o.body["content"], "took a while");
        let seen = c
            .mate_gw
            .expect_where("MESSAGE_CREATE", |d| d["id"] == f.body["id"])
            .await;
        assert_eq!(seen["content"], "took a while");
        if !ephemeral {
            assert_eq!(
                in_history(&c, &f.body["id"]).await["content"],
                "took a while"
            );
        }
        // The next one is a follow-up of that response, with its own id.
        let g = c
            .srv
            .anon()
            .post(&hook, json!({"content": "and more"}))
            .await;
        assert_eq!(g.status, 200, "{g:?}");
        assert_ne!(g.body["id"], f.body["id"]);
        assert_eq!(
            g.body["interaction_metadata"]["original_response_message_id"],
            f.body["id"]
        );
        c.mate_gw
            .expect_where("MESSAGE_CREATE", |d| d["id"] == g.body["id"])
            .await;
    }
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let mut c = cast().await;
    let i = echo(&mut c, "tok", "n-4").await;
    let id = s(&i["id"]);
    let token = s(&i["token"]);
    // The callback with a wrong token or an unknown interaction: 10062.
    let wrong = format!("/interactions/{id}/not-the-token/callback");
    assert_err(
        &c.srv
            .anon()
            .post(&wrong, json!({"type": 4, "data": {"content": "x"}}))
            .await,
        404,
        10062,
    );
    let unknown = format!("/interactions/1234567890/{token}/callback");
    assert_err(
        &c.srv
            .anon()
            .post(&unknown, json!({"type": 4, "data": {"content": "x"}}))
            .await,
        404,
        10062,
    );
    // Follow-ups before the acknowledgement, with a wrong token, or under another
    // application: 10015.
    let early = format!("/webhooks/{}/{token}?wait=true", c.bot.id);
    assert_err(
        &c.srv.anon().post(&early, json!({"content": "x"})).await,
        404,
        10015,
    );
    // Types that do not apply to application commands, and a message missing: 400.
    let r = c
        .srv
        .anon()
        .post(&callback_path(&i), json!({"type": 1}))
        .await;
    assert_field_error(&r, "type");
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 7, "data": {"content": "x"}}),
        )
        .await;
    assert_field_error(&r, "type");
    let r = c
        .srv
        .anon()
        .post(&callback_path(&i), json!({"type": 4, "data": {}}))
        .await;
    assert_err(&r, 400, 50006);
    // Still answerable after those refusals.
    let ok = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "fine"}}),
        )
        .await;
    assert_eq!(ok.status, 204, "{ok:?}");
    let wrong = format!("/webhooks/{}/not-the-token?wait=true", c.bot.id);
    assert_err(
        &c.srv.anon().post(&wrong, json!({"content": "x"})).await,
        404,
        10015,
    );
    let other_app = bot_application(&c.owner, "Other Bot", 0, None)
        .await
        .unwrap();
    let stolen = format!("/webhooks/{}/{token}?wait=true", other_app.id);
    assert_err(
        &c.srv.anon().post(&stolen, json!({"content": "x"})).await,
        404,
        10015,
    );
    let stolen = format!("/webhooks/{}/{token}/messages/@original", other_app.id);
    assert_err(&c.srv.anon().get(&stolen).await, 404, 10015);
}

#[tokio::test]
async fn unanswered_interactions_fail_after_three_seconds() {
    let mut c = cast().await;
    let i = echo(&mut c, "nobody home", "n-5").await;
    assert_eq!(c.mate_gw.expect("INTERACTION_CREATE").await["id"], i["id"]);
    // The deadline passes (expect waits up to 10 s for the event).
    let failed = c.mate_gw.expect("INTERACTION_FAILURE").await;
    assert_eq!(failed, json!({"id": i["id"], "nonce": "n-5"}));
    // Too late to answer.
    let late = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "sorry"}}),
        )
        .await;
    assert_err(&late, 404, 10062);
}

#[tokio::test]
async fn invocations_are_checked() {
    let c = cast().await;
    let echo_id = c.echo.clone();
    // Option values that do not match their declaration: 400 50035 under data.options.
    for (options, path) in [
        (
            json!([{"type": 3, "name": "text", "value": 5}]),
            "data.options.0.value",
        ),
        (
            json!([{"type": 3, "name": "text", "value": "x".repeat(21)}]),
            "data.options.0.value",
        ),
        (
            json!([{"type": 3, "name": "text", "value": "a"}, {"type": 4, "name": "times", "value": 9}]),
            "data.options.1.value",
        ),
        (
            json!([{"type": 3, "name": "text", "value": "a"}, {"type": 4, "name": "times", "value": "2"}]),
            "data.options.1.value",
        ),
        (
            json!([{"type": 4, "name": "text", "value": 1}]),
            "data.options.0.type",
        ),
        (
            json!([{"type": 4, "name": "times", "value": 1}]),
            "data.options",
        ),
        (
            json!([{"type": 3, "name": "text", "value": "a"}, {"type": 6, "name": "who", "value": "123"}]),
            "data.options.1.value",
        ),
    ] {
        let r = c
            .mate
            .post(
                "/interactions",
                invoke(&c, &echo_id, "echo", options.clone(), "x"),
            )
            .await;
        assert_field_error(&r, path);
    }
    // An unknown command, or one under the wrong name: 10063.
    let r = c
        .mate
        .post(
            "/interactions",
            invoke(&c, "1234567", "echo", json!([]), "x"),
        )
        .await;
    assert_err(&r, 404, 10063);
    let r = c
        .mate
        .post(
            "/interactions",
            invoke(
                &c,
                &echo_id,
                "other",
                json!([{"type": 3, "name": "text", "value": "a"}]),
                "x",
            ),
        )
        .await;
    assert_err(&r, 404, 10063);
    // A member without the command's default_member_permissions: 50013; the owner may.
    let nuke = c.nuke.clone();
    let r = c
        .mate
        .post("/interactions", invoke(&c, &nuke, "nuke", json!([]), "x"))
        .await;
    assert_err(&r, 403, 50013);
    let r = c
        .owner
        .post("/interactions", invoke(&c, &nuke, "nuke", json!([]), "x"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // Command permissions: denying the member's user turns `echo` off for them only.
    let perms = format!(
        "/applications/{}/guilds/{}/commands/{}/permissions",
        c.bot.id, c.guild.id, echo_id
    );
    let set = c
        .owner
        .put(
            &perms,
            json!({"permissions": [{"id": c.mate_id, "type": 2, "permission": false}]}),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    let ok_opts = json!([{"type": 3, "name": "text", "value": "a"}]);
    let r = c
        .mate
        .post(
            "/interactions",
            invoke(&c, &echo_id, "echo", ok_opts.clone(), "x"),
        )
        .await;
    assert_err(&r, 403, 50013);
    let r = c
        .other
        .post(
            "/interactions",
            invoke(&c, &echo_id, "echo", ok_opts.clone(), "x"),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // An outsider: not a member of the guild.
    let (_, outsider) = c.srv.user("outsider").await;
    let r = outsider
        .post(
            "/interactions",
            invoke(&c, &echo_id, "echo", ok_opts.clone(), "x"),
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    // A bot cannot invoke commands.
    let r = c
        .bot
        .client
        .post("/interactions", invoke(&c, &echo_id, "echo", ok_opts, "x"))
        .await;
    assert_err(&r, 403, 20001);
    // A type a user's client does not post (1 PING).
    let mut body = invoke(&c, &echo_id, "echo", json!([]), "x");
    body["type"] = json!(1);
    assert_field_error(&c.mate.post("/interactions", body).await, "type");
    // A nonce beyond Discord's 25 characters, or an object: 400 on `nonce`.
    let ok_opts = json!([{"type": 3, "name": "text", "value": "a"}]);
    for nonce in [json!("n".repeat(26)), json!({"a": 1})] {
        let mut body = invoke(&c, &echo_id, "echo", ok_opts.clone(), "x");
        body["nonce"] = nonce;
        assert_field_error(&c.other.post("/interactions", body).await, "nonce");
    }
    // Only the missing field is named.
    let mut body = invoke(&c, &echo_id, "echo", ok_opts.clone(), "x");
    body.as_object_mut().unwrap().remove("channel_id");
    let r = c.other.post("/interactions", body).await;
    assert_field_error(&r, "channel_id");
    assert!(r.body["errors"].get("application_id").is_none(), "{r:?}");
    // A channel overwrite denying USE_APPLICATION_COMMANDS (bit 31) to @everyone turns every
    // command off there for members; the owner keeps them.
    let deny = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{}", c.guild.general, c.guild.id),
            json!({"type": 0, "allow": "0", "deny": (1u64 << 31).to_string()}),
        )
        .await;
    assert_eq!(deny.status, 204, "{deny:?}");
    let r = c
        .other
        .post(
            "/interactions",
            invoke(&c, &echo_id, "echo", ok_opts.clone(), "x"),
        )
        .await;
    assert_err(&r, 403, 50013);
    let r = c
        .owner
        .post("/interactions", invoke(&c, &echo_id, "echo", ok_opts, "x"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}

/// A forum or media channel holds posts, not messages: a command invoked there is refused
/// (400 40058), so no answer can be stored in the forum itself.
#[tokio::test]
async fn commands_are_not_run_in_a_forum() {
    let mut c = cast().await;
    let f = c
        .owner
        .post(
            &format!("/guilds/{}/channels", c.guild.id),
            json!({"name": "help", "type": 15}),
        )
        .await;
    assert_eq!(f.status, 201, "{f:?}");
    let mut body = invoke(
        &c,
        &c.echo.clone(),
        "echo",
        json!([{"type": 3, "name": "text", "value": "in a forum"}]),
        "forum",
    );
    body["channel_id"] = f.body["id"].clone();
    let r = c.mate.post("/interactions", body).await;
    assert_err(&r, 400, 40058);
    // The bot got nothing; the next invocation elsewhere is the next it sees.
    let i = echo(&mut c, "in general", "general").await;
    assert_eq!(i["data"]["options"][0]["value"], "in general");
    assert_eq!(i["channel_id"], c.guild.general.as_str());
}

#[tokio::test]
async fn tokens_stop_answering_when_the_interaction_expires() {
    // Tokens live `limits.interaction_token_seconds` (15 minutes by default): 2 s here.
    let mut c = cast_with(|cfg| cfg.limits.interaction_token_seconds = 2).await;
    let i = echo(&mut c, "brief", "n-exp").await;
    let anon = c.srv.anon();
    let r = anon
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "now"}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let hook = format!("/webhooks/{}/{}", c.bot.id, s(&i["token"]));
    let r = anon
        .post(&format!("{hook}?wait=true"), json!({"content": "in time"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        anon.get(&format!("{hook}/messages/@original")).await.status,
        200
    );
    // Once expired: follow-ups and @original are 10015, a callback 10062.
    eventually("the token expires", async || {
        anon.get(&format!("{hook}/messages/@original")).await.status == 404
    })
    .await;
    assert_err(
        &anon
            .post(&format!("{hook}?wait=true"), json!({"content": "late"}))
            .await,
        404,
        10015,
    );
    assert_err(
        &anon.get(&format!("{hook}/messages/@original")).await,
        404,
        10015,
    );
    assert_err(
        &anon
            .patch(
                &format!("{hook}/messages/@original"),
                json!({"content": "late"}),
            )
            .await,
        404,
        10015,
    );
    assert_err(
        &anon
            .post(
                &callback_path(&i),
                json!({"type": 4, "data": {"content": "late"}}),
            )
            .await,
        404,
        10062,
    );
    // The late follow-up never reached the channel.
    let history = c
        .other
        .get(&format!("/channels/{}/messages?limit=10", c.guild.general))
        .await;
    assert!(
        history
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["content"] != "late"),
        "{history:?}"
    );
}
