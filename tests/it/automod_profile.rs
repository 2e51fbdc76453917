//! Auto Moderation of member profiles (issue 15; Discord trigger MEMBER_PROFILE, event
//! MEMBER_UPDATE, action BLOCK_MEMBER_INTERACTION; src/service/automod_profile.rs): a
//! member whose nickname, display name or username matches the guild's rule is quarantined
//! (member flag 1 << 7, held like a timed-out member) with GUILD_MEMBER_UPDATE, an audit
//! entry (146) and AUTO_MODERATION_ACTION_EXECUTION; she is released when her profile no
//! longer matches; exempt roles and MANAGE_GUILD holders are never quarantined; a member
//! joining with a matching name is quarantined at once.

use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::*;

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const AUTOMOD_EXECUTION: u64 = 1 << 21;
const QUARANTINED: u64 = 1 << 7;

async fn member(ts: &TestServer, guild: &Guild, name: &str) -> (String, Client, String) {
    let (id, token) = ts.register(name).await;
    let c = ts.client(&token);
    join(&c, &guild.invite).await;
    (id, c, token)
}

async fn send(c: &Client, channel: &str, content: &str) -> Resp {
    c.post(
        &format!("/channels/{channel}/messages"),
        json!({ "content": content }),
    )
    .await
}

async fn nick(c: &Client, g: &str, nick: &str) -> Resp {
    c.patch(&format!("/guilds/{g}/members/@me"), json!({ "nick": nick }))
        .await
}

/// The member's stored flags.
async fn flags_of(ts: &TestServer, g: &str, user: &str) -> i64 {
    ts.hearth
        .db
        .member(g.parse().unwrap(), user.parse().unwrap())
        .await
        .unwrap()
        .expect("a member")
        .flags
}

#[tokio::test]
async fn a_matching_profile_is_quarantined_until_it_changes() {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let guild = create_guild(&owner, "names").await;
    let (g, chan) = (guild.id.clone(), guild.general.clone());
    let mods = create_role(&owner, &g, "mods", perm::MANAGE_GUILD).await;
    let trusted = create_role(&owner, &g, "trusted", 0).await;
    let (moder_id, moder, moder_tok) = member(&ts, &guild, "moder").await;
    give_role(&owner, &g, &moder_id, &mods).await;
    let (bob_id, bob, _) = member(&ts, &guild, "bob").await;
    let (carol_id, carol, _) = member(&ts, &guild, "carol").await;
    give_role(&owner, &g, &carol_id, &trusted).await;
    let mut watch = Gw::identify(&ts, &moder_tok, GUILDS | GUILD_MEMBERS | AUTOMOD_EXECUTION).await;

    let rule = owner
        .post(
            &format!("/guilds/{g}/auto-moderation/rules"),
            json!({"name": "no spammers", "event_type": 2, "trigger_type": 6,
                   "trigger_metadata": {"keyword_filter": ["spammer*"], "allow_list": ["spammers"]},
                   "actions": [{"type": 4}], "enabled": true, "exempt_roles": [trusted]}),
        )
        .await;
    assert_eq!(rule.status, 200, "{rule:?}");
    let rule_id = s(&rule.body["id"]);
    // Rules quarantine nobody by themselves; bob's name is fine.
    assert_eq!(send(&bob, &chan, "hello").await.status, 200);

    // Bob takes a matching nickname: quarantined, announced, audited.
    let r = nick(&bob, &g, "Spammer Bob").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["flags"], QUARANTINED, "{r:?}");
    let up = watch
        .expect_where("GUILD_MEMBER_UPDATE", |d| {
            d["user"]["id"] == bob_id.as_str() && d["flags"] == QUARANTINED
        })
        .await;
    assert_eq!(up["nick"], "Spammer Bob");
    let run = watch.expect("AUTO_MODERATION_ACTION_EXECUTION").await;
    assert_eq!(
        (
            run["rule_id"].as_str(),
            run["rule_trigger_type"].as_u64(),
            run["action"]["type"].as_u64(),
            run["user_id"].as_str(),
            run["content"].as_str(),
            run["matched_content"].as_str()
        ),
        (
            Some(rule_id.as_str()),
            Some(6),
            Some(4),
            Some(bob_id.as_str()),
            Some("Spammer Bob"),
            Some("Spammer")
        )
    );
    assert_eq!(run["channel_id"], Value::Null);
    assert_eq!(flags_of(&ts, &g, &bob_id).await, QUARANTINED as i64);
    let entries = owner
        .get(&format!("/guilds/{g}/audit-logs?action_type=146"))
        .await;
    let e = &entries.body["audit_log_entries"][0];
    assert_eq!(
        (e["user_id"].as_str(), e["target_id"].as_str()),
        (Some(bob_id.as_str()), Some(bob_id.as_str())),
        "{entries:?}"
    );
    assert_eq!(e["options"]["auto_moderation_rule_name"], "no spammers");
    assert_eq!(e["options"]["auto_moderation_rule_trigger_type"], "6");

    // Quarantined: no messages, no reactions, no threads.
    let refused = send(&bob, &chan, "let me talk").await;
    assert_eq!(
        (refused.status, refused.body["code"].clone()),
        (403, json!(50013))
    );
    let m = s(&send(&owner, &chan, "react to me").await.body["id"]);
    let react = bob
        .put_empty(&format!(
            "/channels/{chan}/messages/{m}/reactions/%F0%9F%91%8D/@me"
        ))
        .await;
    assert_eq!(react.status, 403, "{react:?}");
    let thread = bob
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "side", "type": 11}),
        )
        .await;
    assert_eq!(thread.status, 403, "{thread:?}");

    // He may still change his nickname: a clean one releases him.
    let r = nick(&bob, &g, "Bobby").await;
    assert_eq!(r.body["flags"], 0, "{r:?}");
    watch
        .expect_where("GUILD_MEMBER_UPDATE", |d| {
            d["user"]["id"] == bob_id.as_str() && d["flags"] == 0 && d["nick"] == "Bobby"
        })
        .await;
    assert_eq!(flags_of(&ts, &g, &bob_id).await, 0);
    assert_eq!(send(&bob, &chan, "free again").await.status, 200);
    // The allow list exempts what it names.
    let r = nick(&bob, &g, "spammers").await;
    assert_eq!(r.body["flags"], 0, "{r:?}");
    assert_eq!(send(&bob, &chan, "still free").await.status, 200);
    let r = nick(&bob, &g, "Bobby").await;
    assert_eq!(r.status, 200);

    // His display name counts too (checked after the profile change is saved).
    let r = bob
        .patch("/users/@me", json!({"global_name": "SpammerKing"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    eventually("bob's display name quarantines him", async || {
        flags_of(&ts, &g, &bob_id).await == QUARANTINED as i64
    })
    .await;
    assert_eq!(send(&bob, &chan, "hi").await.status, 403);

    // Exempt role and MANAGE_GUILD: never quarantined.
    let r = nick(&carol, &g, "spammer carol").await;
    assert_eq!(r.body["flags"], 0, "{r:?}");
    assert_eq!(send(&carol, &chan, "trusted").await.status, 200);
    let r = nick(&moder, &g, "spammer mod").await;
    assert_eq!(r.body["flags"], 0, "{r:?}");
    assert_eq!(flags_of(&ts, &g, &moder_id).await, 0);

    // A member joining with a matching username is quarantined on arrival.
    let (late_id, late, _) = member(&ts, &guild, "spammer99").await;
    assert_eq!(flags_of(&ts, &g, &late_id).await, QUARANTINED as i64);
    assert_eq!(send(&late, &chan, "first!").await.status, 403);
    let shown = owner.get(&format!("/guilds/{g}/members/{late_id}")).await;
    assert_eq!(shown.body["flags"], QUARANTINED, "{shown:?}");

    // A member of another guild is untouched: the rule is this guild's.
    let other = create_guild(&owner, "elsewhere").await;
    join(&late, &other.invite).await;
    assert_eq!(flags_of(&ts, &other.id, &late_id).await, 0);
    assert_eq!(send(&late, &other.general, "fine here").await.status, 200);
}
