//! Member timeouts (issue 15; Discord "Modify Guild Member", `communication_disabled_until`):
//! a moderator with MODERATE_MEMBERS times a lower-ranked member out for at most 28 days; the
//! member then keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY (reads, no sends, reactions
//! or typing) until the time passes or a moderator ends it. Refused for the outsider, the
//! member without the permission, a target ranking at or above the moderator, administrators
//! and the owner; the change is announced (GUILD_MEMBER_UPDATE), shown on the member and
//! audited.

use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::*;

/// MODERATE_MEMBERS (Discord permission bit 40).
const MODERATE_MEMBERS: u64 = 1 << 40;

struct Cast {
    ts: TestServer,
    owner: Client,
    guild: Guild,
    /// Holds `mods` (MODERATE_MEMBERS).
    moder: (String, Client),
    /// Holds `senior`, ranked above `mods`, without permissions.
    senior: (String, Client),
    /// Holds `admins` (ADMINISTRATOR), ranked below `mods`.
    admin: (String, Client),
    bob: (String, Client, String),
    outsider: Client,
}

async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let guild = create_guild(&owner, "calm").await;
    let g = guild.id.clone();
    // New roles go to the bottom: `senior` above `mods` above `admins`.
    let senior_role = create_role(&owner, &g, "senior", 0).await;
    let mods_role = create_role(&owner, &g, "mods", MODERATE_MEMBERS).await;
    let admins_role = create_role(&owner, &g, "admins", perm::ADMINISTRATOR).await;
    let moder = ts.user("moder").await;
    let senior = ts.user("senior").await;
    let admin = ts.user("admin").await;
    let (bob_id, bob_token) = ts.register("bob").await;
    let bob = ts.client(&bob_token);
    let (_, outsider) = ts.user("outsider").await;
    for c in [&moder.1, &senior.1, &admin.1, &bob] {
        join(c, &guild.invite).await;
    }
    give_role(&owner, &g, &moder.0, &mods_role).await;
    give_role(&owner, &g, &senior.0, &senior_role).await;
    give_role(&owner, &g, &admin.0, &admins_role).await;
    Cast {
        ts,
        owner,
        guild,
        moder,
        senior,
        admin,
        bob: (bob_id, bob, bob_token),
        outsider,
    }
}

fn in_minutes(m: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(m)).to_rfc3339()
}

async fn time_out(by: &Client, guild: &str, user: &str, until: Value) -> Resp {
    by.patch(
        &format!("/guilds/{guild}/members/{user}"),
        json!({ "communication_disabled_until": until }),
    )
    .await
}

async fn send(c: &Client, channel: &str, content: &str) -> Resp {
    c.post(
        &format!("/channels/{channel}/messages"),
        json!({ "content": content }),
    )
    .await
}

#[tokio::test]
async fn a_timed_out_member_reads_but_cannot_send_react_or_type_until_it_ends() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob_id, bob, bob_token) = (&c.bob.0, &c.bob.1, &c.bob.2);
    let earlier = say(&c.owner, chan, "before the timeout").await;
    let mut gw = Gw::identify(&c.ts, bob_token, 0b11).await;

    let r = time_out(&c.moder.1, g, bob_id, json!(in_minutes(10))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let until = s(&r.body["communication_disabled_until"]);
    assert!(!until.is_empty(), "{r:?}");
    let ev = gw
        .expect_where("GUILD_MEMBER_UPDATE", |d| {
            d["user"]["id"] == bob_id.as_str()
        })
        .await;
    assert_eq!(ev["communication_disabled_until"], until.as_str());
    let shown = c.owner.get(&format!("/guilds/{g}/members/{bob_id}")).await;
    assert_eq!(shown.body["communication_disabled_until"], until.as_str());

    // Reading stays; sending, reacting and typing are refused.
    let read = bob.get(&format!("/channels/{chan}/messages")).await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_err(&send(bob, chan, "let me talk").await, 403, 50013);
    let react = bob
        .put_empty(&format!(
            "/channels/{chan}/messages/{earlier}/reactions/%F0%9F%91%8D/@me"
        ))
        .await;
    assert_err(&react, 403, 50013);
    assert_err(
        &bob.post(&format!("/channels/{chan}/typing"), json!({}))
            .await,
        403,
        50013,
    );
    let msgs = c.owner.get(&format!("/channels/{chan}/messages")).await;
    assert!(
        !msgs.body.to_string().contains("let me talk"),
        "nothing was stored: {msgs:?}"
    );

    // The moderator ends it (null): bob talks again.
    let r = time_out(&c.moder.1, g, bob_id, Value::Null).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["communication_disabled_until"].is_null(), "{r:?}");
    assert_eq!(send(bob, chan, "thanks").await.status, 200);

    // A timeout that runs out lifts itself.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    assert_eq!(
        time_out(&c.moder.1, g, bob_id, json!(soon)).await.status,
        200
    );
    assert_err(&send(bob, chan, "too early").await, 403, 50013);
    eventually("the timeout runs out", async || {
        send(bob, chan, "free again").await.status == 200
    })
    .await;

    // Audited as a member update with the change.
    let log = c
        .owner
        .get(&format!("/guilds/{g}/audit-logs?action_type=24"))
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    let entries = log.body["audit_log_entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["target_id"] == bob_id.as_str()
            && e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|ch| ch["key"] == "communication_disabled_until")),
        "{log:?}"
    );
}

#[tokio::test]
async fn timeouts_need_the_permission_a_lower_target_and_a_sane_time() {
    let c = cast().await;
    let g = &c.guild.id;
    let bob_id = &c.bob.0;
    let until = json!(in_minutes(5));
    // The outsider and the member without MODERATE_MEMBERS.
    let r = time_out(&c.outsider, g, bob_id, until.clone()).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_err(
        &time_out(&c.senior.1, g, bob_id, until.clone()).await,
        403,
        50013,
    );
    // The hierarchy: `senior` ranks above `mods`; nobody times out the owner or themselves.
    assert_err(
        &time_out(&c.moder.1, g, &c.senior.0, until.clone()).await,
        403,
        50013,
    );
    let owner_id = s(&c.owner.get("/users/@me").await.body["id"]);
    assert_err(
        &time_out(&c.moder.1, g, &owner_id, until.clone()).await,
        403,
        50013,
    );
    assert_err(
        &time_out(&c.moder.1, g, &c.moder.0, until.clone()).await,
        403,
        50013,
    );
    // Administrators are never timed out, even by the owner.
    assert_err(
        &time_out(&c.owner, g, &c.admin.0, until.clone()).await,
        403,
        50013,
    );
    // Bad times: more than 28 days ahead, or not a timestamp.
    assert_field_error(
        &time_out(&c.moder.1, g, bob_id, json!(in_minutes(29 * 24 * 60))).await,
        "communication_disabled_until",
    );
    assert_field_error(
        &time_out(&c.moder.1, g, bob_id, json!("next tuesday")).await,
        "communication_disabled_until",
    );
    // None of that timed bob out.
    let shown = c.owner.get(&format!("/guilds/{g}/members/{bob_id}")).await;
    assert!(
        shown.body["communication_disabled_until"].is_null(),
        "{shown:?}"
    );
    assert_eq!(
        send(&c.bob.1, &c.guild.general, "still here").await.status,
        200
    );
    // The owner may time out the moderator; 28 days exactly is allowed.
    let r = time_out(&c.owner, g, &c.moder.0, json!(in_minutes(28 * 24 * 60 - 1))).await;
    assert_eq!(r.status, 200, "{r:?}");
    // A timed-out moderator has lost MODERATE_MEMBERS with everything else.
    assert_err(&time_out(&c.moder.1, g, bob_id, until).await, 403, 50013);
}
