//! Stage instances (Discord "Resources > Stage Instance", "Gateway Events > Stage Instance
//! Create/Update/Delete"): create, get, modify and delete over HTTP with their audit entries
//! (83, 84, 85) and dispatches, GUILD_CREATE's `stage_instances`, who may (stage moderators:
//! MANAGE_CHANNELS, MUTE_MEMBERS, MOVE_MEMBERS in the channel) and who sees them (those who
//! see the channel), the channel checks and the one-stage-per-channel rule, a linked
//! scheduled event going ACTIVE then COMPLETED, and the ends: the channel's deletion and the
//! last voice state leaving. Across federation: writes in a replica answer 403 50001 and
//! nothing crosses.
//!
//! Negative gateway cases use a barrier: a later dispatch of the same guild that the session
//! does receive (events are delivered in order).

use serde_json::{Value, json};

use crate::federation_guilds::{A, ALL, B, fed_with};
use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

const GUILD_VOICE_STATES: u64 = 1 << 7;
const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
const MUTE_MEMBERS: u64 = 1 << 22;
const MOVE_MEMBERS: u64 = 1 << 24;
const STAGE_MODERATOR: u64 = perm::MANAGE_CHANNELS | MUTE_MEMBERS | MOVE_MEMBERS;
const HOUR: i64 = 3600 * 1000;

struct Cast {
    ts: TestServer,
    /// The owner: `(id, client, token)`.
    owner: (String, Client, String),
    g: Guild,
    stage: String,
    vc: String,
    /// Holds `stage mods` (MANAGE_CHANNELS, MUTE_MEMBERS, MOVE_MEMBERS) at guild level.
    moder: (String, Client, String),
    mods_role: String,
    /// Plain members.
    alice: (String, Client, String),
    bob: (String, Client, String),
    outsider: Client,
}

async fn user(ts: &TestServer, name: &str) -> (String, Client, String) {
    let (id, token) = ts.register(name).await;
    (id, ts.client(&token), token)
}

async fn channel(owner: &Client, g: &str, body: Value) -> String {
    let r = owner.post(&format!("/guilds/{g}/channels"), body).await;
    assert_eq!(r.status, 201, "create channel: {r:?}");
    s(&r.body["id"])
}

async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let owner = user(&ts, "owner").await;
    let g = create_guild(&owner.1, "stages").await;
    let stage = channel(&owner.1, &g.id, json!({"name": "townhall", "type": 13})).await;
    let vc = channel(&owner.1, &g.id, json!({"name": "lounge", "type": 2})).await;
    let mods_role = create_role(&owner.1, &g.id, "stage mods", STAGE_MODERATOR).await;
    let moder = user(&ts, "moder").await;
    let alice = user(&ts, "alice").await;
    let bob = user(&ts, "bob").await;
    let (_, outsider) = ts.user("outsider").await;
    for c in [&moder.1, &alice.1, &bob.1] {
        join(c, &g.invite).await;
    }
    give_role(&owner.1, &g.id, &moder.0, &mods_role).await;
    Cast {
        ts,
        owner,
        g,
        stage,
        vc,
        moder,
        mods_role,
        alice,
        bob,
        outsider,
    }
}

fn url(channel: &str) -> String {
    format!("/stage-instances/{channel}")
}

/// `c` opens a stage in `channel` with `topic`, asserting success; the instance.
async fn open(c: &Client, channel: &str, topic: &str) -> Value {
    let r = c
        .post(
            "/stage-instances",
            json!({"channel_id": channel, "topic": topic}),
        )
        .await;
    assert_eq!(r.status, 200, "open a stage: {r:?}");
    r.body
}

/// `POST /stage-instances` by `who`.
async fn post(who: &Client, body: Value) -> Resp {
    who.post("/stage-instances", body).await
}

/// `c` sends `method` to `path` with a JSON `body` (or none) and `X-Audit-Log-Reason`.
async fn with_reason(
    c: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    reason: &str,
) -> Resp {
    c.raw(
        method,
        path,
        body.map(|b| b.to_string().into_bytes()),
        &[("X-Audit-Log-Reason", reason)],
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

/// The stored instance of `channel`.
async fn stored(ts: &TestServer, channel: &str) -> Option<hearth::storage::StageInstanceRow> {
    ts.hearth
        .db
        .stage_instance(channel.parse().unwrap())
        .await
        .unwrap()
}

/// A STAGE_INSTANCE scheduled event of `channel` starting in an hour, created by `c`.
async fn stage_event(c: &Client, g: &str, channel: &str, name: &str) -> Value {
    let start =
        chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis() + HOUR)
            .unwrap()
            .to_rfc3339();
    let r = c
        .post(
            &format!("/guilds/{g}/scheduled-events"),
            json!({"name": name, "privacy_level": 2, "entity_type": 1, "channel_id": channel,
                   "scheduled_start_time": start}),
        )
        .await;
    assert_eq!(r.status, 200, "create a stage event: {r:?}");
    r.body
}

/// Sends op 4 for `channel` (`None`: leave) and waits until the server handled it.
async fn op4(gw: &mut Gw, guild: &str, channel: Option<&str>) {
    gw.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": channel, "self_mute": false, "self_deaf": false}}))
        .await;
    gw.heartbeat().await;
}

/// Asserts no STAGE_INSTANCE_* dispatch was received so far.
fn no_stage_events(gw: &Gw) {
    let leaked: Vec<&Value> = gw
        .pending
        .iter()
        .filter(|v| {
            v["t"]
                .as_str()
                .is_some_and(|t| t.starts_with("STAGE_INSTANCE"))
        })
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

#[tokio::test]
async fn a_stage_is_opened_read_modified_and_ended_with_audit_and_dispatches() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, GUILDS).await;

    let r = with_reason(
        &c.moder.1,
        reqwest::Method::POST,
        "/stage-instances",
        Some(
            json!({"channel_id": c.stage, "topic": "Weekly town hall", "privacy_level": 2,
                    "send_start_notification": true}),
        ),
        "town hall",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let si = r.body;
    let id = s(&si["id"]);
    assert_eq!(
        si,
        json!({"id": id, "guild_id": g, "channel_id": c.stage, "topic": "Weekly town hall",
               "privacy_level": 2, "discoverable_disabled": false,
               "guild_scheduled_event_id": null})
    );
    assert_eq!(watch.expect("STAGE_INSTANCE_CREATE").await, si);
    let row = stored(&c.ts, &c.stage).await.expect("stored");
    assert_eq!(
        (row.id.to_string(), row.topic.as_str()),
        (id.clone(), "Weekly town hall")
    );

    // Any member who sees the channel reads it; a new session's GUILD_CREATE lists it.
    let got = c.bob.1.get(&url(&c.stage)).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body, si);
    let mut fresh = Gw::identify(&c.ts, &c.bob.2, GUILDS).await;
    assert_eq!(
        fresh.expect("GUILD_CREATE").await["stage_instances"],
        json!([si])
    );

    // The topic changes (trimmed); the same topic again changes nothing.
    let r = with_reason(
        &c.moder.1,
        reqwest::Method::PATCH,
        &url(&c.stage),
        Some(json!({"topic": "  Monthly town hall "})),
        "monthly now",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["topic"], "Monthly town hall");
    assert_eq!(r.body["id"], id.as_str());
    let d = watch.expect("STAGE_INSTANCE_UPDATE").await;
    assert_eq!(d, r.body);
    let same = c
        .moder
        .1
        .patch(
            &url(&c.stage),
            json!({"topic": "Monthly town hall", "privacy_level": 2}),
        )
        .await;
    assert_eq!(same.status, 200, "{same:?}");
    assert_eq!(same.body, d);
    assert_eq!(
        stored(&c.ts, &c.stage).await.unwrap().topic,
        "Monthly town hall"
    );

    let r = with_reason(
        &c.moder.1,
        reqwest::Method::DELETE,
        &url(&c.stage),
        None,
        "done",
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let d = watch.expect("STAGE_INSTANCE_DELETE").await;
    assert_eq!(
        (d["id"].clone(), d["topic"].clone()),
        (json!(id), json!("Monthly town hall"))
    );
    assert_err(&c.bob.1.get(&url(&c.stage)).await, 404, 10067);
    assert!(stored(&c.ts, &c.stage).await.is_none());
    assert_err(&c.moder.1.delete(&url(&c.stage)).await, 404, 10067);
    assert_err(
        &c.moder
            .1
            .patch(&url(&c.stage), json!({"topic": "again"}))
            .await,
        404,
        10067,
    );
    // Only the real change was announced.
    assert!(
        !watch
            .pending
            .iter()
            .any(|v| v["t"] == "STAGE_INSTANCE_UPDATE"),
        "{:?}",
        watch.pending
    );

    // Audit entries: create (83), one update (84) with the topic's change, delete (85).
    let owner = &c.owner.1;
    let created = audit(owner, g, 83).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["target_id"], id.as_str());
    assert_eq!(created[0]["user_id"], c.moder.0.as_str());
    assert_eq!(created[0]["reason"], "town hall");
    assert_eq!(created[0]["options"]["channel_id"], c.stage.as_str());
    assert_eq!(
        created[0]["changes"],
        json!([{"key": "topic", "old_value": null, "new_value": "Weekly town hall"},
               {"key": "privacy_level", "old_value": null, "new_value": 2}])
    );
    let updated = audit(owner, g, 84).await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(updated[0]["reason"], "monthly now");
    assert_eq!(
        updated[0]["changes"],
        json!([{"key": "topic", "old_value": "Weekly town hall", "new_value": "Monthly town hall"}])
    );
    let deleted = audit(owner, g, 85).await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["target_id"], id.as_str());
    assert_eq!(deleted[0]["reason"], "done");
    assert_eq!(deleted[0]["options"]["channel_id"], c.stage.as_str());
}

#[tokio::test]
async fn opening_needs_a_stage_moderator_a_stage_channel_and_no_open_stage() {
    let c = cast().await;
    let g = &c.g.id;
    let m = &c.moder.1;

    // Field checks (400 50035 at the field).
    assert_field_error(&post(m, json!({"channel_id": c.stage})).await, "topic");
    assert_field_error(
        &post(m, json!({"channel_id": c.stage, "topic": "   "})).await,
        "topic",
    );
    assert_field_error(
        &post(m, json!({"channel_id": c.stage, "topic": "x".repeat(121)})).await,
        "topic",
    );
    assert_field_error(&post(m, json!({"topic": "t"})).await, "channel_id");
    assert_field_error(
        &post(
            m,
            json!({"channel_id": c.stage, "topic": "t", "privacy_level": 1}),
        )
        .await,
        "privacy_level",
    );
    assert_field_error(
        &post(
            m,
            json!({"channel_id": c.stage, "topic": "t", "privacy_level": 3}),
        )
        .await,
        "privacy_level",
    );

    // Who: a plain member lacks the permissions, an outsider cannot see the channel.
    let body = json!({"channel_id": c.stage, "topic": "t"});
    assert_err(&post(&c.bob.1, body.clone()).await, 403, 50013);
    assert_err(&post(&c.outsider, body.clone()).await, 403, 50001);
    assert_err(&c.outsider.get(&url(&c.stage)).await, 403, 50001);
    assert_err(&c.bob.1.get(&url(&c.stage)).await, 404, 10067);
    // The permissions count in the channel: an overwrite taking MOVE_MEMBERS away.
    let guarded = channel(
        &c.owner.1,
        g,
        json!({"name": "guarded", "type": 13, "permission_overwrites": [
            {"id": c.mods_role, "type": 0, "allow": "0", "deny": MOVE_MEMBERS.to_string()}]}),
    )
    .await;
    assert_err(
        &post(m, json!({"channel_id": guarded, "topic": "t"})).await,
        403,
        50013,
    );

    // Where: a stage channel of a guild.
    assert_err(
        &post(m, json!({"channel_id": "1", "topic": "t"})).await,
        404,
        10003,
    );
    assert_err(
        &post(m, json!({"channel_id": c.g.general, "topic": "t"})).await,
        400,
        50024,
    );
    assert_err(
        &post(m, json!({"channel_id": c.vc, "topic": "t"})).await,
        400,
        50024,
    );
    assert!(
        stored(&c.ts, &c.stage).await.is_none(),
        "nothing was opened"
    );

    // One stage per channel.
    let si = open(m, &c.stage, "first").await;
    assert_err(
        &post(
            &c.owner.1,
            json!({"channel_id": c.stage, "topic": "second"}),
        )
        .await,
        400,
        150006,
    );
    assert_eq!(
        stored(&c.ts, &c.stage).await.unwrap().id.to_string(),
        s(&si["id"])
    );

    // Modify and delete need the same.
    assert_err(
        &c.bob
            .1
            .patch(&url(&c.stage), json!({"topic": "mine"}))
            .await,
        403,
        50013,
    );
    assert_err(&c.bob.1.delete(&url(&c.stage)).await, 403, 50013);
    assert_err(
        &c.outsider
            .patch(&url(&c.stage), json!({"topic": "mine"}))
            .await,
        403,
        50001,
    );
    assert_err(&c.outsider.delete(&url(&c.stage)).await, 403, 50001);
    assert_field_error(
        &m.patch(&url(&c.stage), json!({"privacy_level": 1})).await,
        "privacy_level",
    );
    assert_field_error(
        &m.patch(&url(&c.stage), json!({"topic": ""})).await,
        "topic",
    );
    assert_eq!(c.bob.1.get(&url(&c.stage)).await.body, si);
    assert_eq!(audit(&c.owner.1, g, 83).await.len(), 1);
    assert!(audit(&c.owner.1, g, 84).await.is_empty());
}

#[tokio::test]
async fn a_stage_in_a_hidden_channel_reaches_only_who_sees_the_channel() {
    let c = cast().await;
    let g = &c.g.id;
    let hidden = channel(
        &c.owner.1,
        g,
        json!({"name": "backstage", "type": 13, "permission_overwrites": [
            {"id": g, "type": 0, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}]}),
    )
    .await;
    let mut bob_gw = Gw::identify(&c.ts, &c.bob.2, GUILDS | GUILD_MESSAGES).await;
    let mut owner_gw = Gw::identify(&c.ts, &c.owner.2, GUILDS).await;
    let si = open(&c.owner.1, &hidden, "secret rehearsal").await;
    assert_eq!(owner_gw.expect("STAGE_INSTANCE_CREATE").await, si);
    say(&c.owner.1, &c.g.general, "barrier").await;
    bob_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "barrier")
        .await;
    no_stage_events(&bob_gw);
    assert_err(&c.bob.1.get(&url(&hidden)).await, 403, 50001);
    assert_err(
        &c.bob.1.patch(&url(&hidden), json!({"topic": "peek"})).await,
        403,
        50001,
    );

    let mut fresh = Gw::identify(&c.ts, &c.bob.2, GUILDS).await;
    assert_eq!(
        fresh.expect("GUILD_CREATE").await["stage_instances"],
        json!([])
    );
    let mut fresh = Gw::identify(&c.ts, &c.owner.2, GUILDS).await;
    assert_eq!(
        fresh.expect("GUILD_CREATE").await["stage_instances"],
        json!([si])
    );
}

#[tokio::test]
async fn a_linked_scheduled_event_goes_active_with_the_stage_and_completed_after_it() {
    let c = cast().await;
    let g = &c.g.id;
    let owner = &c.owner.1;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    let ev = stage_event(owner, g, &c.stage, "Town hall").await;
    let ev_id = s(&ev["id"]);
    assert_eq!(ev["status"], 1);
    assert!(ev["entity_id"].is_null());

    // Events that are not this stage's, or are finished, are refused.
    let start =
        chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis() + HOUR)
            .unwrap()
            .to_rfc3339();
    let voice_ev = owner
        .post(
            &format!("/guilds/{g}/scheduled-events"),
            json!({"name": "Chat", "privacy_level": 2, "entity_type": 2, "channel_id": c.vc,
                   "scheduled_start_time": start}),
        )
        .await;
    assert_eq!(voice_ev.status, 200, "{voice_ev:?}");
    let other_stage = channel(owner, g, json!({"name": "annex", "type": 13})).await;
    let elsewhere = stage_event(owner, g, &other_stage, "Annex talk").await;
    let canceled = stage_event(owner, g, &c.stage, "Called off").await;
    let r = owner
        .patch(
            &format!("/guilds/{g}/scheduled-events/{}", s(&canceled["id"])),
            json!({"status": 4}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    for wrong in [&voice_ev.body["id"], &elsewhere["id"], &json!("1")] {
        let r = owner
            .post(
                "/stage-instances",
                json!({"channel_id": c.stage, "topic": "t", "guild_scheduled_event_id": wrong}),
            )
            .await;
        assert_field_error(&r, "guild_scheduled_event_id");
    }
    let r = owner
        .post(
            "/stage-instances",
            json!({"channel_id": c.stage, "topic": "t", "guild_scheduled_event_id": canceled["id"]}),
        )
        .await;
    assert_err(&r, 400, 180000);
    assert!(stored(&c.ts, &c.stage).await.is_none());

    // Linked: the event starts, naming the stage.
    let r = owner
        .post(
            "/stage-instances",
            json!({"channel_id": c.stage, "topic": "Town hall", "guild_scheduled_event_id": ev_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let si = r.body;
    let si_id = s(&si["id"]);
    assert_eq!(si["guild_scheduled_event_id"], ev_id.as_str());
    assert_eq!(watch.expect("STAGE_INSTANCE_CREATE").await, si);
    let d = watch
        .expect_where("GUILD_SCHEDULED_EVENT_UPDATE", |d| {
            d["id"] == ev_id.as_str()
        })
        .await;
    assert_eq!(
        (d["status"].clone(), d["entity_id"].clone()),
        (json!(2), json!(si_id))
    );
    let got = c
        .bob
        .1
        .get(&format!("/guilds/{g}/scheduled-events/{ev_id}"))
        .await;
    assert_eq!(
        (got.body["status"].clone(), got.body["entity_id"].clone()),
        (json!(2), json!(si_id))
    );
    assert_eq!(c.bob.1.get(&url(&c.stage)).await.body, si);

    // The stage ends: the event is completed, still naming it.
    assert_eq!(owner.delete(&url(&c.stage)).await.status, 204);
    assert_eq!(
        watch.expect("STAGE_INSTANCE_DELETE").await["id"],
        si_id.as_str()
    );
    let d = watch
        .expect_where("GUILD_SCHEDULED_EVENT_UPDATE", |d| {
            d["id"] == ev_id.as_str()
        })
        .await;
    assert_eq!(
        (d["status"].clone(), d["entity_id"].clone()),
        (json!(3), json!(si_id))
    );
    let got = owner
        .get(&format!("/guilds/{g}/scheduled-events/{ev_id}"))
        .await;
    assert_eq!(got.body["status"], 3);
    let row =
        c.ts.hearth
            .db
            .scheduled_event(g.parse().unwrap(), ev_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (row.status, row.entity_id),
        (3, Some(si_id.parse().unwrap()))
    );
    // A finished event cannot start a stage again.
    let r = owner
        .post(
            "/stage-instances",
            json!({"channel_id": c.stage, "topic": "again", "guild_scheduled_event_id": ev_id}),
        )
        .await;
    assert_err(&r, 400, 180000);
}

#[tokio::test]
async fn the_stage_ends_with_its_channel() {
    let c = cast().await;
    let g = &c.g.id;
    let owner = &c.owner.1;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    let ev = stage_event(owner, g, &c.stage, "Town hall").await;
    let ev_id = s(&ev["id"]);
    let r = owner
        .post(
            "/stage-instances",
            json!({"channel_id": c.stage, "topic": "Town hall", "guild_scheduled_event_id": ev_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let si_id = s(&r.body["id"]);
    watch.expect("STAGE_INSTANCE_CREATE").await;
    watch.pending.clear();

    assert_eq!(
        owner.delete(&format!("/channels/{}", c.stage)).await.status,
        200
    );
    let gone = watch.expect("CHANNEL_DELETE").await;
    assert_eq!(gone["id"], c.stage.as_str());
    // Announced before the channel's deletion (so kept while waiting for it).
    let before: Vec<&str> = watch
        .pending
        .iter()
        .filter_map(|v| v["t"].as_str())
        .collect();
    assert!(
        before.contains(&"STAGE_INSTANCE_DELETE"),
        "STAGE_INSTANCE_DELETE before CHANNEL_DELETE: {before:?}"
    );
    assert_eq!(
        watch.expect("STAGE_INSTANCE_DELETE").await["id"],
        si_id.as_str()
    );
    // The event goes with the channel.
    let d = watch.expect("GUILD_SCHEDULED_EVENT_DELETE").await;
    assert_eq!(d["id"], ev_id.as_str());
    assert!(stored(&c.ts, &c.stage).await.is_none());
    assert_err(&owner.get(&url(&c.stage)).await, 404, 10003);
    assert!(
        audit(owner, g, 85).await.is_empty(),
        "nobody ended it by hand"
    );
}

#[tokio::test]
async fn the_stage_ends_when_the_last_voice_state_leaves() {
    let c = cast().await;
    let g = &c.g.id;
    let owner = &c.owner.1;
    let voice = GUILDS | GUILD_MESSAGES | GUILD_VOICE_STATES;
    let mut watch = Gw::identify(&c.ts, &c.owner.2, GUILDS | GUILD_SCHEDULED_EVENTS).await;
    let mut a = Gw::identify(&c.ts, &c.alice.2, voice).await;
    let mut b = Gw::identify(&c.ts, &c.bob.2, voice).await;
    op4(&mut a, g, Some(&c.stage)).await;
    op4(&mut b, g, Some(&c.stage)).await;
    let ev = stage_event(owner, g, &c.stage, "Town hall").await;
    let ev_id = s(&ev["id"]);
    let r = owner
        .post(
            "/stage-instances",
            json!({"channel_id": c.stage, "topic": "Town hall", "guild_scheduled_event_id": ev_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let si_id = s(&r.body["id"]);
    watch.expect("STAGE_INSTANCE_CREATE").await;
    let d = watch
        .expect_where("GUILD_SCHEDULED_EVENT_UPDATE", |d| {
            d["id"] == ev_id.as_str()
        })
        .await;
    assert_eq!(d["status"], 2, "started with the stage: {d}");

    // Alice leaves: bob is still there, the stage stays.
    op4(&mut a, g, None).await;
    assert_eq!(c.bob.1.get(&url(&c.stage)).await.status, 200);
    // Bob moves to a voice channel: the stage is empty and ends, its event completes.
    op4(&mut b, g, Some(&c.vc)).await;
    let d = watch.expect("STAGE_INSTANCE_DELETE").await;
    assert_eq!(d["id"], si_id.as_str());
    let d = watch
        .expect_where("GUILD_SCHEDULED_EVENT_UPDATE", |d| {
            d["id"] == ev_id.as_str()
        })
        .await;
    assert_eq!(d["status"], 3);
    assert!(stored(&c.ts, &c.stage).await.is_none());
    assert_err(&owner.get(&url(&c.stage)).await, 404, 10067);

    // A stage opened while nobody is there stays until someone came and left.
    let si = open(owner, &c.stage, "Open floor").await;
    op4(&mut a, g, Some(&c.stage)).await;
    assert_eq!(c.bob.1.get(&url(&c.stage)).await.body, si);
    // Alice's session ends (a close 1000 ends its voice state): the stage ends.
    a.close_with(1000).await;
    let d = watch.expect("STAGE_INSTANCE_DELETE").await;
    assert_eq!(d["id"], si["id"]);
    // Committed before it was announced.
    assert!(stored(&c.ts, &c.stage).await.is_none());

    // A moderator's disconnect of the last one ends it too.
    let si = open(owner, &c.stage, "Last call").await;
    op4(&mut b, g, Some(&c.stage)).await;
    let r = owner
        .patch(
            &format!("/guilds/{g}/members/{}", c.bob.0),
            json!({"channel_id": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let d = watch.expect("STAGE_INSTANCE_DELETE").await;
    assert_eq!(d["id"], si["id"]);
    assert!(stored(&c.ts, &c.stage).await.is_none());
    assert!(
        audit(owner, g, 85).await.is_empty(),
        "nobody ended them by hand"
    );
}

#[tokio::test]
async fn stage_instances_stay_on_the_guilds_host() {
    let f = fed_with(|_, _| {}).await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let mut gw_a = Gw::identify(a, &f.alice_tok, ALL).await;
    let mut gw_b = Gw::identify(b, &f.bob_tok, GUILDS).await;

    // The host's new stage channel reaches the replica on a.
    let stage_b = channel(&f.bob(), &f.gid_b, json!({"name": "townhall", "type": 13})).await;
    let created = gw_a
        .expect_where("CHANNEL_CREATE", |d| d["name"] == "townhall")
        .await;
    assert_eq!(created["type"], 13);
    let stage_a = s(&created["id"]);

    // On the host, its owner opens a stage; nothing of it reaches a.
    let si = open(&f.bob(), &stage_b, "Host only").await;
    assert_eq!(gw_b.expect("STAGE_INSTANCE_CREATE").await, si);
    say(&f.bob(), &f.general_b, "after the stage").await;
    gw_a.expect_where("MESSAGE_CREATE", |d| d["content"] == "after the stage")
        .await;
    no_stage_events(&gw_a);
    assert_err(&f.alice().get(&url(&stage_a)).await, 404, 10067);

    // In the replica, the writes are the host's.
    let r = f
        .alice()
        .post(
            "/stage-instances",
            json!({"channel_id": stage_a, "topic": "mine"}),
        )
        .await;
    assert_err(&r, 403, 50001);
    assert_err(
        &f.alice()
            .patch(&url(&stage_a), json!({"topic": "mine"}))
            .await,
        403,
        50001,
    );
    assert_err(&f.alice().delete(&url(&stage_a)).await, 403, 50001);
    assert!(stored(a, &stage_a).await.is_none());
    assert_eq!(f.bob().get(&url(&stage_b)).await.body, si);
}
