//! Auto Moderation (issue 15; Discord "Resources > Auto Moderation"): rule management by
//! members with MANAGE_GUILD (outsiders and plain members refused), Discord's field limits
//! and per-guild limits as 50035 errors, keyword matching with wildcards and the allow list,
//! messages blocked before they are stored or dispatched (sends and edits), alert messages,
//! timeouts, exemptions, audit entries and the gateway events (to MANAGE_GUILD members with
//! the intent only).

use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::*;

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const AUTOMOD_CONFIGURATION: u64 = 1 << 20;
const AUTOMOD_EXECUTION: u64 = 1 << 21;
const MODERATE_MEMBERS: u64 = 1 << 40;
/// Every intent up to GUILD_SCHEDULED_EVENTS and both Auto Moderation intents.
const EVERY_INTENT: u64 = ((1 << 17) - 1) | AUTOMOD_CONFIGURATION | AUTOMOD_EXECUTION;

struct Cast {
    ts: TestServer,
    owner: Client,
    owner_id: String,
    guild: Guild,
    /// Holds a role with MANAGE_GUILD and MODERATE_MEMBERS.
    moder: (String, Client, String),
    /// A plain member.
    bob: (String, Client, String),
    /// A plain member who watches.
    carol: (String, Client, String),
    outsider: Client,
    /// A second text channel (alerts).
    alerts: String,
    /// A third text channel (exempt in some rules).
    free: String,
    /// A role without permissions (exempt in some rules).
    trusted: String,
}

async fn member(ts: &TestServer, guild: &Guild, name: &str) -> (String, Client, String) {
    let (id, token) = ts.register(name).await;
    let c = ts.client(&token);
    join(&c, &guild.invite).await;
    (id, c, token)
}

async fn channel(owner: &Client, guild: &str, name: &str) -> String {
    let r = owner
        .post(
            &format!("/guilds/{guild}/channels"),
            json!({"name": name, "type": 0}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    s(&r.body["id"])
}

async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let (owner_id, owner) = ts.user("owner").await;
    let guild = create_guild(&owner, "watched").await;
    let g = guild.id.clone();
    let mods = create_role(&owner, &g, "mods", perm::MANAGE_GUILD | MODERATE_MEMBERS).await;
    let trusted = create_role(&owner, &g, "trusted", 0).await;
    let moder = member(&ts, &guild, "moder").await;
    give_role(&owner, &g, &moder.0, &mods).await;
    let bob = member(&ts, &guild, "bob").await;
    let carol = member(&ts, &guild, "carol").await;
    let (_, outsider) = ts.user("outsider").await;
    let alerts = channel(&owner, &g, "alerts").await;
    let free = channel(&owner, &g, "free").await;
    Cast {
        ts,
        owner,
        owner_id,
        guild,
        moder,
        bob,
        carol,
        outsider,
        alerts,
        free,
        trusted,
    }
}

fn rules(g: &str) -> String {
    format!("/guilds/{g}/auto-moderation/rules")
}

fn keyword_rule(name: &str, keywords: Value, allow: Value, actions: Value) -> Value {
    json!({
        "name": name,
        "event_type": 1,
        "trigger_type": 1,
        "trigger_metadata": {"keyword_filter": keywords, "allow_list": allow},
        "actions": actions,
        "enabled": true,
    })
}

async fn send(c: &Client, channel: &str, content: &str) -> Resp {
    c.post(
        &format!("/channels/{channel}/messages"),
        json!({ "content": content }),
    )
    .await
}

async fn audit(c: &Client, g: &str, action: i64) -> Vec<Value> {
    let r = c
        .get(&format!("/guilds/{g}/audit-logs?action_type={action}"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["audit_log_entries"].as_array().unwrap().clone()
}

/// Reads up to the MESSAGE_CREATE "barrier"; asserts no dispatch named `prefix...` came.
async fn silent_until_barrier(gw: &mut Gw, prefix: &str) {
    gw.expect_where("MESSAGE_CREATE", |d| d["content"] == "barrier")
        .await;
    let leaked: Vec<&Value> = gw
        .pending
        .iter()
        .filter(|v| v["t"].as_str().is_some_and(|t| t.starts_with(prefix)))
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

#[tokio::test]
async fn rules_are_managed_with_manage_guild_and_announced_to_managers_only() {
    let c = cast().await;
    let g = &c.guild.id;
    let path = rules(g);
    let mut mgw = Gw::identify(&c.ts, &c.moder.2, GUILDS | AUTOMOD_CONFIGURATION).await;
    let mut quiet = Gw::identify(&c.ts, &c.moder.2, GUILDS | GUILD_MESSAGES).await;
    let mut bgw = Gw::identify(&c.ts, &c.bob.2, EVERY_INTENT).await;

    let body = keyword_rule("no cats", json!(["cat*"]), json!([]), json!([{"type": 1}]));
    assert_err(&c.outsider.get(&path).await, 403, 50001);
    assert_err(&c.bob.1.get(&path).await, 403, 50013);
    assert_err(&c.bob.1.post(&path, body.clone()).await, 403, 50013);

    let r = c.moder.1.post(&path, body).await;
    assert_eq!(r.status, 200, "{r:?}");
    let id = s(&r.body["id"]);
    assert_eq!(r.body["guild_id"], g.as_str());
    assert_eq!(r.body["creator_id"], c.moder.0.as_str());
    assert_eq!(r.body["trigger_type"], 1);
    assert_eq!(r.body["event_type"], 1);
    assert_eq!(r.body["enabled"], true);
    assert_eq!(
        r.body["trigger_metadata"],
        json!({"keyword_filter": ["cat*"], "regex_patterns": [], "allow_list": []})
    );
    assert_eq!(r.body["actions"], json!([{"type": 1, "metadata": {}}]));
    let ev = mgw.expect("AUTO_MODERATION_RULE_CREATE").await;
    assert_eq!(ev["id"], id.as_str());

    let one = format!("{path}/{id}");
    assert_err(&c.bob.1.get(&one).await, 403, 50013);
    let got = c.owner.get(&one).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["name"], "no cats");
    let list = c.moder.1.get(&path).await;
    assert_eq!(ids(&list.body), vec![id.clone()]);

    assert_err(
        &c.bob.1.patch(&one, json!({"enabled": false})).await,
        403,
        50013,
    );
    let r = c
        .moder
        .1
        .patch(&one, json!({"name": "no cats at all", "trigger_type": 4}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "no cats at all");
    assert_eq!(r.body["trigger_type"], 1, "the trigger type cannot change");
    let ev = mgw.expect("AUTO_MODERATION_RULE_UPDATE").await;
    assert_eq!(ev["name"], "no cats at all");

    assert_err(&c.bob.1.delete(&one).await, 403, 50013);
    assert_eq!(c.moder.1.delete(&one).await.status, 204);
    let ev = mgw.expect("AUTO_MODERATION_RULE_DELETE").await;
    assert_eq!(ev["id"], id.as_str());
    assert_err(&c.moder.1.get(&one).await, 404, 10000);
    assert_err(&c.moder.1.delete(&one).await, 404, 10000);

    for action in [140, 141, 142] {
        let e = audit(&c.owner, g, action).await;
        assert_eq!(e.len(), 1, "audit {action}: {e:?}");
        assert_eq!(e[0]["target_id"], id.as_str());
        assert_eq!(e[0]["user_id"], c.moder.0.as_str());
    }

    // Nobody else heard of it: a session without the intent and a plain member.
    say(&c.owner, &c.guild.general, "barrier").await;
    for gw in [&mut quiet, &mut bgw] {
        silent_until_barrier(gw, "AUTO_MODERATION_RULE").await;
    }
}

#[tokio::test]
async fn rule_bodies_are_checked_with_discords_limits() {
    let c = cast().await;
    let g = &c.guild.id;
    let path = rules(g);
    let post = |b: Value| {
        let m = c.moder.1.clone();
        let p = path.clone();
        async move { m.post(&p, b).await }
    };
    let block = json!([{"type": 1}]);
    let mut b = keyword_rule("x", json!(["a"]), json!([]), block.clone());
    b.as_object_mut().unwrap().remove("name");
    assert_field_error(&post(b).await, "name");
    assert_field_error(
        &post(keyword_rule(
            &"n".repeat(101),
            json!(["a"]),
            json!([]),
            block.clone(),
        ))
        .await,
        "name",
    );
    assert_field_error(
        &post(keyword_rule(
            "x",
            json!(["a", "k".repeat(61)]),
            json!([]),
            block.clone(),
        ))
        .await,
        "trigger_metadata.keyword_filter.1",
    );
    let many: Vec<String> = (0..1001).map(|i| format!("w{i}")).collect();
    assert_field_error(
        &post(keyword_rule("x", json!(many), json!([]), block.clone())).await,
        "trigger_metadata.keyword_filter",
    );
    let allow: Vec<String> = (0..101).map(|i| format!("w{i}")).collect();
    assert_field_error(
        &post(keyword_rule("x", json!(["a"]), json!(allow), block.clone())).await,
        "trigger_metadata.allow_list",
    );
    let regex = |patterns: Value| {
        json!({"name": "r", "event_type": 1, "trigger_type": 1,
               "trigger_metadata": {"regex_patterns": patterns}, "actions": [{"type": 1}]})
    };
    assert_field_error(
        &post(regex(json!(["(unclosed"]))).await,
        "trigger_metadata.regex_patterns.0",
    );
    assert_field_error(
        &post(regex(json!(["ok", "\\w{1000}\\w{1000}\\w{1000}"]))).await,
        "trigger_metadata.regex_patterns.1",
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("p{i}")).collect();
    assert_field_error(
        &post(regex(json!(eleven))).await,
        "trigger_metadata.regex_patterns",
    );
    assert_field_error(
        &post(regex(json!(["x".repeat(261)]))).await,
        "trigger_metadata.regex_patterns.0",
    );
    // Actions.
    assert_field_error(
        &post(keyword_rule(
            "x",
            json!(["a"]),
            json!([]),
            json!([{"type": 3, "metadata": {"duration_seconds": 2_419_201}}]),
        ))
        .await,
        "actions.0.metadata.duration_seconds",
    );
    assert_field_error(
        &post(keyword_rule(
            "x",
            json!(["a"]),
            json!([]),
            json!([{"type": 2, "metadata": {"channel_id": "12345"}}]),
        ))
        .await,
        "actions.0.metadata.channel_id",
    );
    assert_field_error(
        &post(keyword_rule(
            "x",
            json!(["a"]),
            json!([]),
            json!([{"type": 1, "metadata": {"custom_message": "m".repeat(151)}}]),
        ))
        .await,
        "actions.0.metadata.custom_message",
    );
    assert_field_error(
        &post(keyword_rule("x", json!(["a"]), json!([]), json!([]))).await,
        "actions",
    );
    // Exemptions.
    let mut b = keyword_rule("x", json!(["a"]), json!([]), block.clone());
    b["exempt_roles"] = json!(["1"]);
    assert_field_error(&post(b).await, "exempt_roles.0");
    let mut b = keyword_rule("x", json!(["a"]), json!([]), block.clone());
    b["exempt_roles"] = json!(vec![c.trusted.clone(); 21]);
    assert_field_error(&post(b).await, "exempt_roles");
    let mut b = keyword_rule("x", json!(["a"]), json!([]), block.clone());
    b["exempt_channels"] = json!(["1"]);
    assert_field_error(&post(b).await, "exempt_channels.0");
    // SPAM: one per guild, no TIMEOUT action.
    let spam = |actions: Value| json!({"name": "s", "event_type": 1, "trigger_type": 3, "actions": actions});
    assert_field_error(
        &post(spam(
            json!([{"type": 3, "metadata": {"duration_seconds": 60}}]),
        ))
        .await,
        "actions.0.type",
    );
    assert_eq!(post(spam(json!([{"type": 1}]))).await.status, 200);
    assert_field_error(&post(spam(json!([{"type": 1}]))).await, "trigger_type");
    // MEMBER_PROFILE: the MEMBER_UPDATE event and the BLOCK_MEMBER_INTERACTION action only,
    // one per guild; that action and that event nowhere else.
    let profile = |event: u8, action: u8| {
        json!({"name": "p", "event_type": event, "trigger_type": 6,
               "trigger_metadata": {"keyword_filter": ["x"]}, "actions": [{"type": action}]})
    };
    assert_field_error(&post(profile(1, 4)).await, "event_type");
    assert_field_error(&post(profile(2, 1)).await, "actions.0.type");
    assert_eq!(post(profile(2, 4)).await.status, 200);
    assert_field_error(&post(profile(2, 4)).await, "trigger_type");
    assert_field_error(
        &post(keyword_rule(
            "kq",
            json!(["a"]),
            json!([]),
            json!([{"type": 4}]),
        ))
        .await,
        "actions.0.type",
    );
    let mut on_update = keyword_rule("ku", json!(["a"]), json!([]), block.clone());
    on_update["event_type"] = json!(2);
    assert_field_error(&post(on_update).await, "event_type");
    // Mention spam needs its limit (1-50); one such rule per guild.
    let mention = |limit: Value| {
        json!({"name": "m", "event_type": 1, "trigger_type": 5,
               "trigger_metadata": {"mention_total_limit": limit}, "actions": [{"type": 1}]})
    };
    assert_field_error(
        &post(mention(json!(51))).await,
        "trigger_metadata.mention_total_limit",
    );
    assert_eq!(post(mention(json!(5))).await.status, 200);
    assert_field_error(&post(mention(json!(5))).await, "trigger_type");
    // Six keyword rules, not seven.
    for i in 0..6 {
        let r = post(keyword_rule(
            &format!("k{i}"),
            json!(["a"]),
            json!([]),
            block.clone(),
        ))
        .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_field_error(
        &post(keyword_rule("k7", json!(["a"]), json!([]), block.clone())).await,
        "trigger_type",
    );
    // A preset rule: known presets only.
    let preset = |p: Value| {
        json!({"name": "p", "event_type": 1, "trigger_type": 4,
               "trigger_metadata": {"presets": p}, "actions": [{"type": 1}]})
    };
    assert_field_error(
        &post(preset(json!([9]))).await,
        "trigger_metadata.presets.0",
    );
    let r = post(preset(json!([1, 2, 3]))).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["trigger_metadata"],
        json!({"presets": [1, 2, 3], "allow_list": []})
    );
    // TIMEOUT needs MODERATE_MEMBERS: a manager without it is refused.
    let managers = create_role(&c.owner, g, "managers", perm::MANAGE_GUILD).await;
    give_role(&c.owner, g, &c.carol.0, &managers).await;
    let r = c
        .carol
        .1
        .post(
            &path,
            json!({"name": "t", "event_type": 1, "trigger_type": 1,
                   "trigger_metadata": {"keyword_filter": ["z"]},
                   "actions": [{"type": 3, "metadata": {"duration_seconds": 60}}]}),
        )
        .await;
    assert_err(&r, 403, 50013);
    // Nothing was stored by the refused bodies: 6 keyword rules, one preset, one mention
    // spam, one spam and one member profile rule.
    let list = c.moder.1.get(&path).await;
    assert_eq!(list.body.as_array().unwrap().len(), 10, "{list:?}");
}

#[tokio::test]
async fn keyword_rules_block_sends_and_edits_before_anything_is_stored() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let bob = &c.bob.1;
    let mut cgw = Gw::identify(&c.ts, &c.carol.2, GUILDS | GUILD_MESSAGES).await;
    let mut mgw = Gw::identify(&c.ts, &c.moder.2, GUILDS | AUTOMOD_EXECUTION).await;
    let mut rule = keyword_rule(
        "words",
        json!(["cat*", "*dog", "*ana*", "i like c++"]),
        json!(["banana"]),
        json!([{"type": 1, "metadata": {"custom_message": "Not here."}}]),
    );
    rule["exempt_roles"] = json!([c.trusted]);
    rule["exempt_channels"] = json!([c.free]);
    let r = c.moder.1.post(&rules(g), rule).await;
    assert_eq!(r.status, 200, "{r:?}");
    let rule_id = s(&r.body["id"]);

    for blocked in [
        "Catch this",
        "a HOTDOG!",
        "some analysis",
        "I like C++ a lot",
    ] {
        let r = send(bob, chan, blocked).await;
        assert_err(&r, 400, 200000);
        assert_eq!(
            r.body["message"],
            "Message was blocked by automatic moderation"
        );
    }
    let ev = mgw.expect("AUTO_MODERATION_ACTION_EXECUTION").await;
    assert_eq!(ev["rule_id"], rule_id.as_str());
    assert_eq!(ev["rule_trigger_type"], 1);
    assert_eq!(ev["user_id"], c.bob.0.as_str());
    assert_eq!(ev["channel_id"], chan.as_str());
    assert_eq!(ev["action"]["type"], 1);
    assert_eq!(ev["content"], "Catch this");
    assert_eq!(ev["matched_keyword"], "cat*");
    assert_eq!(ev["matched_content"], "Catch");
    assert!(ev.get("message_id").is_none(), "{ev}");
    assert_eq!(audit(&c.owner, g, 143).await.len(), 4);

    // Allowed: the allow list, words the wildcards do not reach.
    for fine in ["a banana split", "wildcat and doghouse", "scatter"] {
        let r = send(bob, chan, fine).await;
        assert_eq!(r.status, 200, "{fine}: {r:?}");
    }
    // Nothing blocked was stored or dispatched: the first MESSAGE_CREATE carol sees is the
    // first allowed message, and the history holds the allowed ones only.
    let first = cgw.expect("MESSAGE_CREATE").await;
    assert_eq!(first["content"], "a banana split");
    let history = bob
        .get(&format!("/channels/{chan}/messages?limit=50"))
        .await;
    let contents: Vec<String> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["content"]))
        .collect();
    assert_eq!(
        contents[..3],
        ["scatter", "wildcat and doghouse", "a banana split"]
    );
    assert!(
        !contents
            .iter()
            .any(|c| c.contains("Catch") || c.contains("HOTDOG"))
    );

    // Edits are checked too; the message stays as it was.
    let fine = say(bob, chan, "harmless").await;
    let r = bob
        .patch(
            &format!("/channels/{chan}/messages/{fine}"),
            json!({"content": "catapult"}),
        )
        .await;
    assert_err(&r, 400, 200000);
    let ev = mgw
        .expect_where("AUTO_MODERATION_ACTION_EXECUTION", |d| {
            d["content"] == "catapult"
        })
        .await;
    assert_eq!(ev["message_id"], fine.as_str());
    let kept = bob.get(&format!("/channels/{chan}/messages/{fine}")).await;
    assert_eq!(kept.body["content"], "harmless");
    assert!(kept.body["edited_timestamp"].is_null());

    // Exempt: the owner, MANAGE_GUILD, an exempt role, an exempt channel.
    assert_eq!(send(&c.owner, chan, "catch").await.status, 200);
    assert_eq!(send(&c.moder.1, chan, "catch").await.status, 200);
    assert_eq!(send(bob, &c.free, "catch").await.status, 200);
    give_role(&c.owner, g, &c.carol.0, &c.trusted).await;
    assert_eq!(send(&c.carol.1, chan, "catch").await.status, 200);
    // A disabled rule does nothing.
    let r = c
        .moder
        .1
        .patch(
            &format!("{}/{rule_id}", rules(g)),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(send(bob, chan, "catch").await.status, 200);
}

#[tokio::test]
async fn alerts_and_timeouts_run_without_blocking() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let bob = &c.bob.1;
    let mut mgw = Gw::identify(&c.ts, &c.moder.2, GUILDS | AUTOMOD_EXECUTION).await;
    let mut bgw = Gw::identify(&c.ts, &c.bob.2, EVERY_INTENT).await;
    let r = c
        .moder
        .1
        .post(
            &rules(g),
            json!({"name": "pings", "event_type": 1, "trigger_type": 5,
                   "trigger_metadata": {"mention_total_limit": 2},
                   "actions": [
                       {"type": 2, "metadata": {"channel_id": c.alerts}},
                       {"type": 3, "metadata": {"duration_seconds": 600}}
                   ],
                   "enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let rule_id = s(&r.body["id"]);

    // Two unique mentions are within the limit (a repeated one counts once).
    let two = format!("<@{}> <@{}> <@!{}>", c.owner_id, c.carol.0, c.carol.0);
    assert_eq!(send(bob, chan, &two).await.status, 200);
    assert!(
        c.owner
            .get(&format!("/channels/{}/messages", c.alerts))
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Three are not: the message goes through, an alert is posted, bob is timed out.
    let role = &c.trusted;
    let three = format!("<@{}> <@{}> <@&{role}>", c.owner_id, c.carol.0);
    let r = send(bob, chan, &three).await;
    assert_eq!(r.status, 200, "{r:?}");
    let alerts = c
        .owner
        .get(&format!("/channels/{}/messages", c.alerts))
        .await;
    let list = alerts.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{alerts:?}");
    let alert = &list[0];
    assert_eq!(alert["type"], 24);
    assert_eq!(alert["author"]["id"], c.bob.0.as_str());
    assert_eq!(alert["embeds"][0]["type"], "auto_moderation_message");
    assert_eq!(alert["embeds"][0]["description"], three.as_str());
    assert!(alert["mentions"].as_array().unwrap().is_empty());
    let fields = alert["embeds"][0]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["name"] == "rule_name" && f["value"] == "pings")
    );

    let mut seen = vec![];
    for _ in 0..2 {
        let ev = mgw.expect("AUTO_MODERATION_ACTION_EXECUTION").await;
        assert_eq!(ev["rule_id"], rule_id.as_str());
        assert_eq!(ev["rule_trigger_type"], 5);
        assert_eq!(ev["content"], three.as_str());
        seen.push(ev["action"]["type"].as_i64().unwrap());
        if ev["action"]["type"] == 2 {
            assert_eq!(ev["alert_system_message_id"], alert["id"]);
        }
    }
    seen.sort();
    assert_eq!(seen, [2, 3]);

    let m = c
        .owner
        .get(&format!("/guilds/{g}/members/{}", c.bob.0))
        .await;
    assert!(m.body["communication_disabled_until"].is_string(), "{m:?}");
    let upd = bgw
        .expect_where("GUILD_MEMBER_UPDATE", |d| {
            d["user"]["id"] == c.bob.0.as_str()
        })
        .await;
    assert!(upd["communication_disabled_until"].is_string());
    assert_err(&send(bob, chan, "hello?").await, 403, 50013);
    for action in [144, 145] {
        let e = audit(&c.owner, g, action).await;
        assert_eq!(e.len(), 1, "audit {action}: {e:?}");
        assert_eq!(e[0]["user_id"], c.bob.0.as_str());
        assert_eq!(e[0]["options"]["auto_moderation_rule_name"], "pings");
        assert_eq!(e[0]["options"]["channel_id"], chan.as_str());
    }
    // The plain member never receives execution events.
    say(&c.owner, chan, "barrier").await;
    silent_until_barrier(&mut bgw, "AUTO_MODERATION").await;
}

#[tokio::test]
async fn an_exempt_category_covers_its_channels_and_their_threads() {
    let c = cast().await;
    let g = &c.guild.id;
    let bob = &c.bob.1;
    let r = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "quiet corner", "type": 4}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let category = s(&r.body["id"]);
    let r = c
        .owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": "inside", "type": 0, "parent_id": category}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let inside = s(&r.body["id"]);
    let owner = &c.owner;
    let thread_in = |channel: String| async move {
        let r = owner
            .post(
                &format!("/channels/{channel}/threads"),
                json!({"name": "talk", "type": 11}),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        s(&r.body["id"])
    };
    let inner_thread = thread_in(inside.clone()).await;
    let outer_thread = thread_in(c.guild.general.clone()).await;

    let mut rule = keyword_rule(
        "words",
        json!(["cat*"]),
        json!([]),
        json!([{"type": 1, "metadata": {}}]),
    );
    rule["exempt_channels"] = json!([category]);
    let r = c.moder.1.post(&rules(g), rule).await;
    assert_eq!(r.status, 200, "{r:?}");

    // The category's channel and that channel's thread are exempt ...
    assert_eq!(send(bob, &inside, "catch").await.status, 200);
    assert_eq!(send(bob, &inner_thread, "catch").await.status, 200);
    // ... a channel outside it and that channel's thread are not.
    assert_err(&send(bob, &c.guild.general, "catch").await, 400, 200000);
    assert_err(&send(bob, &outer_thread, "catch").await, 400, 200000);
    let stored = bob
        .get(&format!("/channels/{inner_thread}/messages?limit=5"))
        .await;
    assert_eq!(stored.body[0]["content"], "catch", "{stored:?}");
}

#[tokio::test]
async fn a_spam_rule_blocks_the_third_same_text_within_its_window() {
    // Hearth's SPAM rule (docs "Auto Moderation"): the third send of the same text by a member
    // within 30 s, in any channels, case and spacing ignored; short texts never count.
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let bob = &c.bob.1;
    let mut mgw = Gw::identify(&c.ts, &c.moder.2, GUILDS | AUTOMOD_EXECUTION).await;
    let r = c
        .moder
        .1
        .post(
            &rules(g),
            json!({"name": "no spam", "event_type": 1, "trigger_type": 3,
                   "actions": [{"type": 1}, {"type": 2, "metadata": {"channel_id": c.alerts}}],
                   "enabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["trigger_type"], 3);
    let rule_id = s(&r.body["id"]);
    let text = "Free nitro, click the link below";
    assert_eq!(send(bob, chan, text).await.status, 200);
    assert_eq!(send(bob, &c.free, &text.to_uppercase()).await.status, 200);
    // Another member's copy is counted apart; so are short texts and the owner (exempt).
    assert_eq!(send(&c.carol.1, chan, text).await.status, 200);
    for _ in 0..4 {
        assert_eq!(send(bob, chan, "lol").await.status, 200);
    }
    for _ in 0..3 {
        assert_eq!(send(&c.owner, chan, text).await.status, 200);
    }
    let third = "  free NITRO,   click the link below ";
    assert_err(&send(bob, chan, third).await, 400, 200000);
    // Not stored, not dispatched: the last message of the channel is the owner's.
    let last = c
        .owner
        .get(&format!("/channels/{chan}/messages?limit=1"))
        .await;
    assert_eq!(
        last.body[0]["author"]["id"],
        c.owner_id.as_str(),
        "{last:?}"
    );
    // The alert names the rule; the execution events reach the manager; audits 143 and 144.
    let alerts = c
        .owner
        .get(&format!("/channels/{}/messages", c.alerts))
        .await;
    let list = alerts.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{alerts:?}");
    assert_eq!(list[0]["type"], 24);
    assert_eq!(list[0]["embeds"][0]["description"], third);
    let mut seen = vec![];
    for _ in 0..2 {
        let ev = mgw.expect("AUTO_MODERATION_ACTION_EXECUTION").await;
        assert_eq!(ev["rule_id"], rule_id.as_str());
        assert_eq!(ev["rule_trigger_type"], 3);
        assert_eq!(ev["user_id"], c.bob.0.as_str());
        seen.push(ev["action"]["type"].as_i64().unwrap());
    }
    seen.sort();
    assert_eq!(seen, [1, 2]);
    for action in [143, 144] {
        let e = audit(&c.owner, g, action).await;
        assert_eq!(e.len(), 1, "audit {action}: {e:?}");
        assert_eq!(e[0]["options"]["auto_moderation_rule_trigger_type"], "3");
    }
    // Something else still goes through.
    assert_eq!(
        send(bob, chan, "sorry about that, everyone").await.status,
        200
    );
}

#[tokio::test]
async fn webhook_messages_are_not_checked_and_a_members_are() {
    // Discord documents AutoMod blocking app content only for user-installed apps'
    // interaction responses (change log, "User-Installed Apps General Availability"), which
    // Hearth does not have; a webhook has no member to block, alert about or time out, so its
    // messages pass. The same words from a member are blocked.
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let mut mgw = Gw::identify(&c.ts, &c.moder.2, GUILDS | AUTOMOD_EXECUTION).await;
    let rule = keyword_rule(
        "words",
        json!(["cat*"]),
        json!([]),
        json!([{"type": 1}, {"type": 2, "metadata": {"channel_id": c.alerts}}]),
    );
    let r = c.moder.1.post(&rules(g), rule).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c
        .owner
        .post(
            &format!("/channels/{chan}/webhooks"),
            json!({"name": "Feed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let hook = format!(
        "/webhooks/{}/{}?wait=true",
        s(&r.body["id"]),
        s(&r.body["token"])
    );
    let anon = c.bob.1.clone().anon();
    let r = anon.post(&hook, json!({"content": "Catch this"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "Catch this");
    let stored = c
        .bob
        .1
        .get(&format!("/channels/{chan}/messages/{}", s(&r.body["id"])))
        .await;
    assert_eq!(stored.status, 200, "{stored:?}");
    assert!(audit(&c.owner, g, 143).await.is_empty());
    // A member's same words: blocked, and the managers hear of that one only.
    assert_err(&send(&c.bob.1, chan, "Catch this").await, 400, 200000);
    let ev = mgw.expect("AUTO_MODERATION_ACTION_EXECUTION").await;
    assert_eq!(ev["user_id"], c.bob.0.as_str());
    assert_eq!(audit(&c.owner, g, 143).await.len(), 1);
}
