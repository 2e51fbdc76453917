//! Application commands (issue 14; Discord "Interactions > Application Commands") through
//! HTTP: global and guild CRUD by the bot and by its owner, the bulk overwrite keeping ids
//! and replacing a scope at once, validation with Discord's paths and limits, refusals of
//! outsiders (another application's bot, a bot not in the guild), command permissions with
//! their permission checks and the APPLICATION_COMMAND_PERMISSIONS_UPDATE dispatch.

use hearth_testkit::build::{Bot, bot_application};
use serde_json::{Value, json};

use crate::gateway::{GUILDS, Gw};
use crate::harness::*;

/// A server, an owner with a guild, and the owner's application whose bot is in the guild.
struct Cast {
    srv: TestServer,
    owner: Client,
    guild: Guild,
    bot: Bot,
}

async fn cast() -> Cast {
    let srv = TestServer::start().await;
    let (_, owner) = srv.user("cmdowner").await;
    let guild = create_guild(&owner, "Commands").await;
    let bot = bot_application(&owner, "Slash Bot", 0, Some(&guild.id))
        .await
        .unwrap();
    Cast {
        srv,
        owner,
        guild,
        bot,
    }
}

fn slash(name: &str) -> Value {
    json!({"name": name, "description": format!("The {name} command")})
}

#[tokio::test]
async fn global_and_guild_commands_crud() {
    let c = cast().await;
    let app = &c.bot.id;
    let b = &c.bot.client;
    let global = format!("/applications/{app}/commands");
    let local = format!("/applications/{app}/guilds/{}/commands", c.guild.id);

    let body = json!({
        "name": "echo",
        "description": "Repeats",
        "name_localizations": {"fr": "écho"},
        "description_localizations": {"fr": "Répète"},
        "default_member_permissions": "8",
        "dm_permission": false,
        "contexts": [0, 1],
        "integration_types": [0],
        "nsfw": false,
        "options": [
            {"type": 3, "name": "text", "description": "What to say", "required": true,
             "min_length": 1, "max_length": 200},
            {"type": 4, "name": "times", "description": "How often", "min_value": 1, "max_value": 5,
             "choices": [{"name": "once", "value": 1}, {"name": "twice", "value": 2, "name_localizations": {"de": "zweimal"}}]},
            {"type": 10, "name": "ratio", "description": "A number", "autocomplete": true},
            {"type": 7, "name": "where", "description": "A channel", "channel_types": [0, 5]},
            {"type": 5, "name": "loud", "description": "Shout"},
            {"type": 6, "name": "who", "description": "A user"},
            {"type": 8, "name": "role", "description": "A role"},
            {"type": 9, "name": "any", "description": "Someone"},
            {"type": 11, "name": "file", "description": "A file"}
        ]
    });
    let r = b.post(&global, body.clone()).await;
    assert_eq!(r.status, 201, "{r:?}");
    let cmd = r.body.clone();
    let id = s(&cmd["id"]);
    assert_eq!(cmd["application_id"], json!(app));
    assert!(cmd.get("guild_id").is_none(), "{cmd}");
    assert_eq!(cmd["type"], 1);
    assert_eq!(cmd["name_localizations"], json!({"fr": "écho"}));
    assert_eq!(cmd["description_localizations"], json!({"fr": "Répète"}));
    assert_eq!(cmd["default_member_permissions"], "8");
    assert_eq!(cmd["dm_permission"], false);
    assert_eq!(cmd["contexts"], json!([0, 1]));
    assert_eq!(cmd["integration_types"], json!([0]));
    assert_eq!(cmd["options"].as_array().unwrap().len(), 9);
    assert_eq!(cmd["options"][0]["required"], true);
    assert_eq!(cmd["options"][0]["max_length"], 200);
    assert_eq!(
        cmd["options"][1]["choices"][1]["name_localizations"],
        json!({"de": "zweimal"})
    );
    assert_eq!(cmd["options"][1]["choices"][0]["value"], 1);
    assert_eq!(cmd["options"][2]["autocomplete"], true);
    assert_eq!(cmd["options"][3]["channel_types"], json!([0, 5]));
    assert!(cmd["version"].is_string());

    // Read back, list, edit (new version, other fields kept), delete.
    let got = b.get(&format!("{global}/{id}")).await;
    assert_eq!(got.body, cmd);
    assert_eq!(ids(&b.get(&global).await.body), vec![id.clone()]);
    let e = b
        .patch(
            &format!("{global}/{id}"),
            json!({"description": "Repeats again"}),
        )
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(e.body["id"], cmd["id"]);
    assert_eq!(e.body["description"], "Repeats again");
    assert_eq!(e.body["options"], cmd["options"]);
    assert_ne!(e.body["version"], cmd["version"]);
    // Creating the same name again replaces the command (same id, 200).
    let again = b.post(&global, slash("echo")).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(s(&again.body["id"]), id);
    assert!(again.body.get("options").is_none());

    // The owner's user token manages them too; guild commands carry guild_id.
    let g = c
        .owner
        .post(&local, json!({"type": 2, "name": "High Five"}))
        .await;
    assert_eq!(g.status, 201, "{g:?}");
    assert_eq!(g.body["guild_id"], json!(c.guild.id));
    assert_eq!(g.body["description"], "");
    assert!(g.body.get("dm_permission").is_none());
    let gid = s(&g.body["id"]);
    assert_eq!(ids(&b.get(&local).await.body), vec![gid.clone()]);
    // Scopes are apart: the guild command is not global and the other way round.
    assert_err(&b.get(&format!("{global}/{gid}")).await, 404, 10063);
    assert_err(&b.get(&format!("{local}/{id}")).await, 404, 10063);

    assert_eq!(b.delete(&format!("{local}/{gid}")).await.status, 204);
    assert_eq!(c.owner.delete(&format!("{global}/{id}")).await.status, 204);
    assert_err(&b.delete(&format!("{global}/{id}")).await, 404, 10063);
    assert_eq!(b.get(&global).await.body, json!([]));
    assert_eq!(b.get(&local).await.body, json!([]));

    // Same paths under /api and /api/v9.
    let v9 = format!("http://{}/api/v9/applications/{app}/commands", c.srv.addr);
    assert_eq!(b.get(&v9).await.status, 200);
}

#[tokio::test]
async fn bulk_overwrite_keeps_ids_and_replaces_the_scope() {
    let c = cast().await;
    let b = &c.bot.client;
    let local = format!("/applications/{}/guilds/{}/commands", c.bot.id, c.guild.id);
    let first = b
        .put(
            &local,
            json!([slash("alpha"), slash("beta"), {"type": 3, "name": "Quote"}]),
        )
        .await;
    assert_eq!(first.status, 200, "{first:?}");
    let by_name = |v: &Value, n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} missing in {v}"))
    };
    let alpha = by_name(&first.body, "alpha");
    let beta = by_name(&first.body, "beta");
    let quote = by_name(&first.body, "Quote");

    // alpha unchanged, beta changed, Quote gone, gamma new.
    let second = b
        .put(
            &local,
            json!([slash("alpha"), {"name": "beta", "description": "Changed"}, slash("gamma")]),
        )
        .await;
    assert_eq!(second.status, 200, "{second:?}");
    let a2 = by_name(&second.body, "alpha");
    let b2 = by_name(&second.body, "beta");
    assert_eq!(
        (a2["id"].clone(), a2["version"].clone()),
        (alpha["id"].clone(), alpha["version"].clone())
    );
    assert_eq!(b2["id"], beta["id"]);
    assert_ne!(b2["version"], beta["version"]);
    assert_eq!(b2["description"], "Changed");
    let listed = b.get(&local).await.body;
    let mut names: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["name"]))
        .collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    assert_err(
        &b.get(&format!("{local}/{}", s(&quote["id"]))).await,
        404,
        10063,
    );

    // A bad element fails the whole overwrite: nothing changes.
    let bad = b
        .put(
            &local,
            json!([slash("delta"), {"name": "Bad Name", "description": "x"}]),
        )
        .await;
    assert_field_error(&bad, "1.name");
    let dup = b.put(&local, json!([slash("same"), slash("same")])).await;
    assert_field_error(&dup, "1.name");
    assert_eq!(b.get(&local).await.body, listed);

    // While an overwrite swaps two complete sets, readers see one set or the other.
    let set_a: Vec<Value> = (0..20).map(|i| slash(&format!("a{i}"))).collect();
    let set_b: Vec<Value> = (0..20).map(|i| slash(&format!("b{i}"))).collect();
    assert_eq!(b.put(&local, json!(set_a)).await.status, 200);
    let writer = {
        let b = b.clone();
        let local = local.clone();
        tokio::spawn(async move {
            for i in 0..6 {
                let set = if i % 2 == 0 { &set_b } else { &set_a };
                assert_eq!(b.put(&local, json!(set)).await.status, 200);
            }
        })
    };
    while !writer.is_finished() {
        let seen = b.get(&local).await.body;
        let names: Vec<String> = seen
            .as_array()
            .unwrap()
            .iter()
            .map(|c| s(&c["name"]))
            .collect();
        assert_eq!(names.len(), 20, "a half-written set: {names:?}");
        let first = names[0].chars().next().unwrap();
        assert!(
            names.iter().all(|n| n.starts_with(first)),
            "mixed sets: {names:?}"
        );
    }
    writer.await.unwrap();

    // An empty array removes every command of the scope.
    assert_eq!(b.put(&local, json!([])).await.body, json!([]));
    assert_eq!(b.get(&local).await.body, json!([]));
}

#[tokio::test]
async fn validation_follows_discords_limits() {
    let c = cast().await;
    let b = &c.bot.client;
    let global = format!("/applications/{}/commands", c.bot.id);
    let post = |v: Value| b.post(&global, v);

    assert_field_error(
        &post(json!({"name": "Ping", "description": "d"})).await,
        "name",
    );
    assert_field_error(
        &post(json!({"name": "with space", "description": "d"})).await,
        "name",
    );
    assert_field_error(
        &post(json!({"name": "x".repeat(33), "description": "d"})).await,
        "name",
    );
    assert_field_error(&post(json!({"name": "nodesc"})).await, "description");
    assert_field_error(
        &post(json!({"name": "long", "description": "d".repeat(101)})).await,
        "description",
    );
    assert_field_error(
        &post(json!({"type": 2, "name": "User Cmd", "description": "no"})).await,
        "description",
    );
    assert_field_error(
        &post(json!({"name": "loc", "description": "d", "name_localizations": {"xx": "loc"}}))
            .await,
        "name_localizations.xx",
    );
    // Options: 26 are too many, 26 choices too, required after optional, duplicates.
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "d"}))
        .collect();
    assert_field_error(
        &post(json!({"name": "many", "description": "d", "options": many})).await,
        "options",
    );
    let choices: Vec<Value> = (0..26)
        .map(|i| json!({"name": format!("c{i}"), "value": format!("v{i}")}))
        .collect();
    let r = post(json!({"name": "ch", "description": "d", "options": [
        {"type": 3, "name": "pick", "description": "d", "choices": choices}]}))
    .await;
    assert_field_error(&r, "options.0.choices");
    let r = post(json!({"name": "order", "description": "d", "options": [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 3, "name": "b", "description": "d", "required": true}]}))
    .await;
    assert_field_error(&r, "options.1.required");
    let r = post(json!({"name": "dup", "description": "d", "options": [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 4, "name": "a", "description": "d"}]}))
    .await;
    assert_field_error(&r, "options.1.name");
    let r = post(json!({"name": "nest", "description": "d", "options": [
        {"type": 2, "name": "grp", "description": "d", "options": [
            {"type": 3, "name": "loose", "description": "d"}]}]}))
    .await;
    assert_field_error(&r, "options.0.options.0.type");
    let r = post(json!({"name": "val", "description": "d", "options": [
        {"type": 4, "name": "n", "description": "d", "choices": [{"name": "x", "value": "text"}]}]}))
    .await;
    assert_field_error(&r, "options.0.choices.0.value");
    // A wrong JSON type is 50035 too (the body parser).
    assert_err(
        &post(json!({"name": 5, "description": "d"})).await,
        400,
        50035,
    );
    assert_eq!(b.get(&global).await.body, json!([]));

    // Five USER commands per scope, then 30032; by bulk overwrite as well.
    for i in 0..5 {
        let r = post(json!({"type": 2, "name": format!("User {i}")})).await;
        assert_eq!(r.status, 201, "{r:?}");
    }
    assert_err(
        &post(json!({"type": 2, "name": "User 5"})).await,
        400,
        30032,
    );
    // A MESSAGE command still fits: the limits are per type.
    assert_eq!(post(json!({"type": 3, "name": "Msg"})).await.status, 201);
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"type": 2, "name": format!("U{i}")}))
        .collect();
    assert_err(&b.put(&global, json!(six)).await, 400, 30032);
    // 100 CHAT_INPUT commands fit in one overwrite, 101 do not.
    let hundred: Vec<Value> = (0..100).map(|i| slash(&format!("c{i}"))).collect();
    assert_eq!(b.put(&global, json!(hundred)).await.status, 200);
    assert_err(&post(slash("one-more")).await, 400, 30032);
    let more: Vec<Value> = (0..101).map(|i| slash(&format!("c{i}"))).collect();
    assert_err(&b.put(&global, json!(more)).await, 400, 30032);
    assert_eq!(b.get(&global).await.body.as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn outsiders_are_refused() {
    let c = cast().await;
    let app = &c.bot.id;
    let local = format!("/applications/{app}/guilds/{}/commands", c.guild.id);
    let global = format!("/applications/{app}/commands");
    let made = c.bot.client.post(&global, slash("mine")).await;
    assert_eq!(made.status, 201);

    // Another application's bot (and its owner) may not touch this application's commands.
    let (_, other_owner) = c.srv.user("otherowner").await;
    let other = bot_application(&other_owner, "Other Bot", 0, None)
        .await
        .unwrap();
    let added = c
        .owner
        .post(
            &format!("/oauth2/authorize?client_id={}&scope=bot", other.id),
            json!({"guild_id": c.guild.id, "permissions": "0", "authorize": true}),
        )
        .await;
    assert_eq!(added.status, 200, "{added:?}");
    assert_err(&other.client.get(&global).await, 403, 20012);
    assert_err(&other.client.put(&global, json!([])).await, 403, 20012);
    assert_err(&other.client.post(&local, slash("x")).await, 403, 20012);
    assert_err(&other_owner.get(&global).await, 403, 20012);
    assert_err(
        &other.client.get("/applications/1/commands").await,
        404,
        10002,
    );
    // A bot not in the guild cannot have commands there: 403 50001, even its owner.
    let (_, stranger) = c.srv.user("stranger").await;
    let lonely = bot_application(&stranger, "Lonely", 0, None).await.unwrap();
    let there = format!("/applications/{}/guilds/{}/commands", lonely.id, c.guild.id);
    assert_err(
        &lonely.client.put(&there, json!([slash("x")])).await,
        403,
        50001,
    );
    assert_err(&lonely.client.get(&there).await, 403, 50001);
    assert_err(&stranger.get(&there).await, 403, 50001);
    let nowhere = format!("/applications/{}/guilds/1/commands", lonely.id);
    assert_err(&lonely.client.get(&nowhere).await, 404, 10004);
    // Without a token: 401.
    assert_eq!(c.owner.clone().anon().get(&global).await.status, 401);
    // Nothing changed.
    assert_eq!(
        ids(&c.bot.client.get(&global).await.body),
        vec![s(&made.body["id"])]
    );
}

/// The APPLICATION_COMMAND_PERMISSION_UPDATE (121) entries of guild `g`, newest first.
async fn permission_audits(c: &Client, g: &str) -> Vec<Value> {
    let r = c
        .get(&format!("/guilds/{g}/audit-logs?action_type=121"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["audit_log_entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn command_permissions_need_manage_guild_and_roles_and_are_dispatched() {
    let c = cast().await;
    let app = &c.bot.id;
    let g = &c.guild.id;
    let cmd = c
        .bot
        .client
        .post(
            &format!("/applications/{app}/guilds/{g}/commands"),
            slash("mod"),
        )
        .await;
    assert_eq!(cmd.status, 201);
    let id = s(&cmd.body["id"]);
    let path = format!("/applications/{app}/guilds/{g}/commands/{id}/permissions");
    let role = create_role(&c.owner, g, "Mods", 0).await;
    let (mate_id, mate) = c.srv.user("mate").await;
    join(&mate, &c.guild.invite).await;
    let body = json!({"permissions": [
        {"id": role, "type": 1, "permission": true},
        {"id": g, "type": 1, "permission": false},
        {"id": mate_id, "type": 2, "permission": true},
        {"id": c.guild.general, "type": 3, "permission": true}
    ]});

    // Nothing set yet.
    assert_err(&c.bot.client.get(&path).await, 404, 10066);
    // A bot token may not set permissions (Discord needs a user's token).
    assert_err(&c.bot.client.put(&path, body.clone()).await, 403, 20001);
    // A member without MANAGE_GUILD and MANAGE_ROLES: 50013; with only MANAGE_GUILD too.
    assert_err(&mate.put(&path, body.clone()).await, 403, 50013);
    let half = create_role(&c.owner, g, "Half", perm::MANAGE_GUILD).await;
    give_role(&c.owner, g, &mate_id, &half).await;
    assert_err(&mate.put(&path, body.clone()).await, 403, 50013);
    // An outsider: 50001.
    let (_, outsider) = c.srv.user("outsider").await;
    assert_err(&outsider.put(&path, body.clone()).await, 403, 50001);
    // Unknown targets are field errors.
    let bad = json!({"permissions": [{"id": "12345", "type": 1, "permission": true}]});
    assert_field_error(&c.owner.put(&path, bad).await, "permissions.0.id");

    // With both permissions: stored, answered and dispatched to the guild (the bot too).
    let full = create_role(&c.owner, g, "Full", perm::MANAGE_GUILD | perm::MANAGE_ROLES).await;
    give_role(&c.owner, g, &mate_id, &full).await;
    let mut bot_gw = Gw::identify(&c.srv, &format!("Bot {}", c.bot.token), GUILDS).await;
    let r = mate.put(&path, body.clone()).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(r.body["application_id"], json!(app));
    assert_eq!(r.body["guild_id"], json!(g));
    assert_eq!(r.body["permissions"], body["permissions"]);
    let d = bot_gw
        .expect("APPLICATION_COMMAND_PERMISSIONS_UPDATE")
        .await;
    assert_eq!(d, r.body);
    assert_eq!(c.bot.client.get(&path).await.body, r.body);
    let all = c
        .bot
        .client
        .get(&format!(
            "/applications/{app}/guilds/{g}/commands/permissions"
        ))
        .await;
    assert_eq!(all.body, json!([r.body]));
    // Members read them; the application's id stands for all its commands.
    assert_eq!(mate.get(&path).await.body, r.body);
    // Audited (121): one change per target, keyed by its id; a second PUT that changes one
    // target and drops another lists just those two; the refused attempts wrote nothing.
    let first = permission_audits(&c.owner, g).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["user_id"], json!(mate_id));
    assert_eq!(first[0]["target_id"], json!(id));
    assert_eq!(first[0]["options"]["application_id"], json!(app));
    let keys: Vec<&Value> = first[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| &ch["key"])
        .collect();
    assert_eq!(
        keys,
        [
            &json!(role),
            &json!(g),
            &json!(mate_id),
            &json!(c.guild.general)
        ]
    );
    assert_eq!(first[0]["changes"][0]["old_value"], Value::Null);
    assert_eq!(first[0]["changes"][0]["new_value"], body["permissions"][0]);
    let second = json!({"permissions": [
        {"id": role, "type": 1, "permission": false},
        {"id": g, "type": 1, "permission": false},
        {"id": mate_id, "type": 2, "permission": true}
    ]});
    assert_eq!(mate.put(&path, second.clone()).await.status, 200);
    let bot_update = bot_gw
        .expect("APPLICATION_COMMAND_PERMISSIONS_UPDATE")
        .await;
    assert_eq!(bot_update["permissions"], second["permissions"]);
    let entries = permission_audits(&c.owner, g).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(
        entries[0]["changes"],
        json!([
            {"key": role, "old_value": body["permissions"][0], "new_value": second["permissions"][0]},
            {"key": c.guild.general, "old_value": body["permissions"][3], "new_value": null}
        ])
    );
    // The same list again changes nothing and is not audited.
    assert_eq!(mate.put(&path, second).await.status, 200);
    assert_eq!(permission_audits(&c.owner, g).await.len(), 2);
    let app_wide = format!("/applications/{app}/guilds/{g}/commands/{app}/permissions");
    assert_eq!(
        c.owner
            .put(&app_wide, json!({"permissions": []}))
            .await
            .status,
        200
    );
    // A command of no scope here: 10063.
    let none = format!("/applications/{app}/guilds/{g}/commands/1/permissions");
    assert_err(
        &c.owner.put(&none, json!({"permissions": []})).await,
        404,
        10063,
    );

    // Deleting the command deletes its permissions; deleting the guild deletes its commands.
    assert_eq!(
        c.bot
            .client
            .delete(&format!("/applications/{app}/guilds/{g}/commands/{id}"))
            .await
            .status,
        204
    );
    let left = c
        .bot
        .client
        .get(&format!(
            "/applications/{app}/guilds/{g}/commands/permissions"
        ))
        .await;
    assert_eq!(left.body.as_array().unwrap().len(), 1, "{left:?}");
    c.bot
        .client
        .post(
            &format!("/applications/{app}/guilds/{g}/commands"),
            slash("again"),
        )
        .await;
    assert_eq!(c.owner.delete(&format!("/guilds/{g}")).await.status, 204);
    let rows = c
        .srv
        .hearth
        .db
        .commands(app.parse().unwrap(), g.parse().unwrap())
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}
