//! Voice states (Discord "Resources > Voice", "Gateway Events > Update Voice State / Voice
//! State Update", "Modify Guild Member", "Modify (Current) User Voice State"): joins, moves
//! and leaves through gateway op 4 seen by other members' sessions (intent
//! GUILD_VOICE_STATES), CONNECT, `user_limit` (atomic; MOVE_MEMBERS exceeds it), timeouts,
//! server mute/deafen/move/disconnect through the member PATCH, the end of the holding session,
//! the losses that end a state (permission, kick, ban, leave, channel deletion), GUILD_CREATE's
//! `voice_states`, and the stage's suppress and request to speak.
//!
//! Op 4 is never answered on refusal (as on Discord): a heartbeat after it is the sync point
//! (a connection handles its frames in order, so the ACK comes after the op 4 was handled),
//! and negative event cases use a barrier of the same guild (see `gateway.rs`).

use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

const GUILD_VOICE_STATES: u64 = 1 << 7;
const MUTE_MEMBERS: u64 = 1 << 22;
const DEAFEN_MEMBERS: u64 = 1 << 23;
const MOVE_MEMBERS: u64 = 1 << 24;
const REQUEST_TO_SPEAK: u64 = 1 << 32;
const MODERATE_MEMBERS: u64 = 1 << 40;
const VOICE: u64 = GUILDS | GUILD_MESSAGES | GUILD_VOICE_STATES;

struct Cast {
    ts: TestServer,
    owner: Client,
    g: Guild,
    /// Voice channels `vc1` (no limit), `vc2` (no limit) and the stage.
    vc1: String,
    vc2: String,
    stage: String,
    /// Holds `mods` (MOVE, MUTE, DEAFEN, MODERATE_MEMBERS), the lowest role.
    moder: (String, Client, String),
    /// Holds `senior`, above `mods`, without permissions.
    alice: (String, Client, String),
    bob: (String, Client, String),
    outsider: Client,
}

async fn user(ts: &TestServer, name: &str) -> (String, Client, String) {
    let (id, token) = ts.register(name).await;
    (id, ts.client(&token), token)
}

async fn channel(owner: &Client, g: &str, name: &str, kind: u8, limit: u64) -> String {
    let r = owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": name, "type": kind, "user_limit": limit}),
        )
        .await;
    assert_eq!(r.status, 201, "create channel {name}: {r:?}");
    assert_eq!(r.body["type"], kind);
    s(&r.body["id"])
}

async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let g = create_guild(&owner, "voices").await;
    let vc1 = channel(&owner, &g.id, "lounge", 2, 0).await;
    let vc2 = channel(&owner, &g.id, "quiet", 2, 0).await;
    let stage = channel(&owner, &g.id, "townhall", 13, 0).await;
    // New roles go to the bottom: `senior` above `mods`.
    let senior = create_role(&owner, &g.id, "senior", 0).await;
    let mods = create_role(
        &owner,
        &g.id,
        "mods",
        MOVE_MEMBERS | MUTE_MEMBERS | DEAFEN_MEMBERS | MODERATE_MEMBERS,
    )
    .await;
    let moder = user(&ts, "moder").await;
    let alice = user(&ts, "alice").await;
    let bob = user(&ts, "bob").await;
    let (_, outsider) = ts.user("outsider").await;
    for c in [&moder.1, &alice.1, &bob.1] {
        join(c, &g.invite).await;
    }
    give_role(&owner, &g.id, &moder.0, &mods).await;
    give_role(&owner, &g.id, &alice.0, &senior).await;
    Cast {
        ts,
        owner,
        g,
        vc1,
        vc2,
        stage,
        moder,
        alice,
        bob,
        outsider,
    }
}

/// Sends op 4 for `channel` (`None`: leave) and waits until the server handled it.
async fn op4(gw: &mut Gw, guild: &str, channel: Option<&str>) {
    gw.send(json!({"op": 4, "d": {"guild_id": guild, "channel_id": channel, "self_mute": false, "self_deaf": false}}))
        .await;
    gw.heartbeat().await;
}

/// The next VOICE_STATE_UPDATE of `user`.
async fn vsu(gw: &mut Gw, user: &str) -> Value {
    gw.expect_where("VOICE_STATE_UPDATE", |d| d["user_id"] == user)
        .await
}

fn state_url(g: &str, who: &str) -> String {
    format!("/guilds/{g}/voice-states/{who}")
}

#[tokio::test]
async fn join_move_and_leave_reach_other_members_with_a_null_voice_server() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watcher = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    let mut a = Gw::identify(&c.ts, &c.alice.2, VOICE).await;

    op4(&mut a, g, Some(&c.vc1)).await;
    let server = a.expect("VOICE_SERVER_UPDATE").await;
    assert_eq!(server["guild_id"], g.as_str());
    assert!(server["endpoint"].is_null(), "no media server: {server}");
    assert!(server["token"].is_string());
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(d["guild_id"], g.as_str());
    assert_eq!(d["channel_id"], c.vc1.as_str());
    assert_eq!(d["session_id"], a.session_id.as_str());
    assert_eq!(d["member"]["user"]["id"], c.alice.0.as_str());
    for k in ["mute", "deaf", "self_mute", "self_deaf", "suppress"] {
        assert_eq!(d[k], false, "{k}: {d}");
    }
    assert!(d["request_to_speak_timestamp"].is_null());
    // Her own session sees it too.
    assert_eq!(vsu(&mut a, &c.alice.0).await["channel_id"], c.vc1.as_str());

    let me = c.alice.1.get(&state_url(g, "@me")).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["channel_id"], c.vc1.as_str());
    assert_eq!(me.body["member"]["user"]["id"], c.alice.0.as_str());
    let other = c.bob.1.get(&state_url(g, &c.alice.0)).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body["user_id"], c.alice.0.as_str());
    assert_err(&c.outsider.get(&state_url(g, &c.alice.0)).await, 403, 50001);
    assert_err(&c.bob.1.get(&state_url(g, "@me")).await, 404, 10065);

    // Self mute is a change of the state; a move to vc2 another.
    a.send(json!({"op": 4, "d": {"guild_id": g, "channel_id": c.vc1, "self_mute": true, "self_deaf": false}}))
        .await;
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(
        (d["channel_id"].clone(), d["self_mute"].clone()),
        (json!(c.vc1), json!(true))
    );
    op4(&mut a, g, Some(&c.vc2)).await;
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(d["channel_id"], c.vc2.as_str());
    a.expect("VOICE_SERVER_UPDATE").await;

    op4(&mut a, g, None).await;
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert!(d["channel_id"].is_null(), "left: {d}");
    assert_err(&c.alice.1.get(&state_url(g, "@me")).await, 404, 10065);
}

#[tokio::test]
async fn the_intent_gates_voice_state_updates_and_guild_create_voice_states() {
    let c = cast().await;
    let g = &c.g.id;
    let mut without = Gw::identify(&c.ts, &c.bob.2, GUILDS | GUILD_MESSAGES).await;
    let mut a = Gw::identify(&c.ts, &c.alice.2, VOICE).await;
    op4(&mut a, g, Some(&c.vc1)).await;
    a.expect("VOICE_SERVER_UPDATE").await;
    // Published before this message, in the same guild: the barrier.
    say(&c.owner, &c.g.general, "barrier").await;
    without
        .expect_without("MESSAGE_CREATE", "VOICE_STATE_UPDATE")
        .await;

    // New sessions: GUILD_CREATE carries the state only with the intent.
    let mut with = Gw::connect(&c.ts, "v=10&encoding=json").await;
    with.send(json!({"op": 2, "d": {"token": c.bob.2, "intents": VOICE, "properties": {}}}))
        .await;
    with.expect("READY").await;
    let gc = with.expect("GUILD_CREATE").await;
    let states = gc["voice_states"].as_array().expect("voice_states");
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["user_id"], c.alice.0.as_str());
    assert_eq!(states[0]["channel_id"], c.vc1.as_str());
    assert_eq!(states[0]["session_id"], a.session_id.as_str());
    assert!(
        states[0].get("guild_id").is_none(),
        "lacks guild_id: {}",
        states[0]
    );

    let mut plain = Gw::connect(&c.ts, "v=10&encoding=json").await;
    plain
        .send(json!({"op": 2, "d": {"token": c.bob.2, "intents": GUILDS, "properties": {}}}))
        .await;
    plain.expect("READY").await;
    let gc = plain.expect("GUILD_CREATE").await;
    assert_eq!(gc["voice_states"], json!([]));
}

#[tokio::test]
async fn connect_is_needed_to_join_and_to_move_someone() {
    let c = cast().await;
    let g = &c.g.id;
    // Nobody but the owner may connect to vc1.
    let r = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{g}", c.vc1),
            json!({"type": 0, "allow": "0", "deny": (1u64 << 20).to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let mut watcher = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    let mut a = Gw::identify(&c.ts, &c.alice.2, VOICE).await;
    op4(&mut a, g, Some(&c.vc1)).await;
    assert_err(&c.alice.1.get(&state_url(g, "@me")).await, 404, 10065);
    op4(&mut a, g, Some(&c.vc2)).await;
    // The first state of alice anyone sees is the one in vc2.
    assert_eq!(
        vsu(&mut watcher, &c.alice.0).await["channel_id"],
        c.vc2.as_str()
    );
    // The moderator has MOVE_MEMBERS but not CONNECT in vc1: 50013.
    let r = c
        .moder
        .1
        .patch(
            &format!("/guilds/{g}/members/{}", c.alice.0),
            json!({"channel_id": c.vc1}),
        )
        .await;
    assert_err(&r, 403, 50013);
    // A text channel is not a voice channel.
    let r = c
        .moder
        .1
        .patch(
            &format!("/guilds/{g}/members/{}", c.alice.0),
            json!({"channel_id": c.g.general}),
        )
        .await;
    assert_err(&r, 400, 50024);
    // The owner may connect there, but alice may not: the move is refused too (it would
    // be undone at once, as losing CONNECT ends a state).
    let r = c
        .owner
        .patch(
            &format!("/guilds/{g}/members/{}", c.alice.0),
            json!({"channel_id": c.vc1}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let st = c.alice.1.get(&state_url(g, "@me")).await;
    assert_eq!(st.body["channel_id"], c.vc2.as_str(), "{st:?}");
}

#[tokio::test]
async fn a_full_channel_refuses_joins_atomically_but_not_move_members() {
    let c = cast().await;
    let g = &c.g.id;
    let small = channel(&c.owner, g, "duo", 2, 2).await;
    let mut gws = vec![];
    let mut users = vec![];
    for i in 0..4 {
        let u = user(&c.ts, &format!("racer{i}")).await;
        join(&u.1, &c.g.invite).await;
        gws.push(Gw::identify(&c.ts, &u.2, VOICE).await);
        users.push(u);
    }
    // Four concurrent joins for two places.
    for gw in gws.iter_mut() {
        gw.send(json!({"op": 4, "d": {"guild_id": g, "channel_id": small, "self_mute": false, "self_deaf": false}}))
            .await;
    }
    for gw in gws.iter_mut() {
        gw.heartbeat().await;
    }
    let mut inside = 0;
    for u in &users {
        let r = u.1.get(&state_url(g, "@me")).await;
        match r.status {
            200 => {
                assert_eq!(r.body["channel_id"], small.as_str());
                inside += 1;
            }
            _ => assert_err(&r, 404, 10065),
        }
    }
    assert_eq!(inside, 2, "user_limit 2 holds under concurrent joins");
    // MOVE_MEMBERS exceeds the limit.
    let mut m = Gw::identify(&c.ts, &c.moder.2, VOICE).await;
    op4(&mut m, g, Some(&small)).await;
    m.expect("VOICE_SERVER_UPDATE").await;
    let r = c.moder.1.get(&state_url(g, "@me")).await;
    assert_eq!(r.body["channel_id"], small.as_str(), "{r:?}");
}

#[tokio::test]
async fn a_timed_out_member_cannot_join_and_a_timeout_ends_the_state() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watcher = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    // The moderator's `mods` role ranks below alice's `senior`: time bob out instead.
    let mut b = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    op4(&mut b, g, Some(&c.vc1)).await;
    assert_eq!(
        vsu(&mut watcher, &c.bob.0).await["channel_id"],
        c.vc1.as_str()
    );
    let until = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    let r = c
        .moder
        .1
        .patch(
            &format!("/guilds/{g}/members/{}", c.bob.0),
            json!({"communication_disabled_until": until}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(vsu(&mut watcher, &c.bob.0).await["channel_id"].is_null());
    op4(&mut b, g, Some(&c.vc1)).await;
    assert_err(&c.bob.1.get(&state_url(g, "@me")).await, 404, 10065);
}

#[tokio::test]
async fn server_mute_deafen_move_and_disconnect_through_the_member_patch() {
    let c = cast().await;
    let g = &c.g.id;
    let member = |u: &str| format!("/guilds/{g}/members/{u}");
    let mut watcher = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    // Not in voice: 40032 for each voice field.
    for body in [
        json!({"mute": true}),
        json!({"deaf": true}),
        json!({"channel_id": null}),
    ] {
        assert_err(
            &c.moder.1.patch(&member(&c.alice.0), body).await,
            400,
            40032,
        );
    }
    let mut a = Gw::identify(&c.ts, &c.alice.2, VOICE).await;
    op4(&mut a, g, Some(&c.vc1)).await;
    vsu(&mut watcher, &c.alice.0).await;

    // Without the permissions; the outsider.
    for body in [
        json!({"mute": true}),
        json!({"deaf": true}),
        json!({"channel_id": c.vc2}),
    ] {
        assert_err(
            &c.bob.1.patch(&member(&c.alice.0), body.clone()).await,
            403,
            50013,
        );
        assert_err(
            &c.outsider.patch(&member(&c.alice.0), body).await,
            403,
            50001,
        );
    }
    // Discord applies no role hierarchy to voice moderation: `mods` ranks below alice's
    // `senior` and still mutes her.
    let r = c
        .moder
        .1
        .patch(&member(&c.alice.0), json!({"mute": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["mute"], true);
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(
        (d["mute"].clone(), d["deaf"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(d["member"]["mute"], true);
    let r = c
        .moder
        .1
        .patch(&member(&c.alice.0), json!({"deaf": true}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(vsu(&mut watcher, &c.alice.0).await["deaf"], true);
    // Audited as a member update.
    let log = c.owner.get(&format!("/guilds/{g}/audit-logs")).await;
    assert!(
        log.body["audit_log_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["changes"]
                .as_array()
                .is_some_and(|ch| ch.iter().any(|x| x["key"] == "mute"))),
        "{log:?}"
    );
    // Move: the server flags stay.
    let r = c
        .moder
        .1
        .patch(&member(&c.alice.0), json!({"channel_id": c.vc2}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(d["channel_id"], c.vc2.as_str());
    assert_eq!(d["mute"], true);
    let st = c.alice.1.get(&state_url(g, "@me")).await;
    assert_eq!(
        (st.body["channel_id"].clone(), st.body["deaf"].clone()),
        (json!(c.vc2), json!(true))
    );
    // Disconnect.
    let r = c
        .moder
        .1
        .patch(&member(&c.alice.0), json!({"channel_id": null}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(vsu(&mut watcher, &c.alice.0).await["channel_id"].is_null());
    assert_err(&c.alice.1.get(&state_url(g, "@me")).await, 404, 10065);
    // The move and the disconnect are audited by who made them: MEMBER_MOVE (26) with the
    // channel, MEMBER_DISCONNECT (27).
    for (action, channel) in [(26, json!(c.vc2)), (27, Value::Null)] {
        let log = c
            .owner
            .get(&format!("/guilds/{g}/audit-logs?action_type={action}"))
            .await;
        let entries = log.body["audit_log_entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{action}: {log:?}");
        assert_eq!(entries[0]["user_id"], c.moder.0.as_str());
        assert_eq!(entries[0]["options"]["count"], "1");
        assert_eq!(entries[0]["options"]["channel_id"], channel, "{log:?}");
    }
}

#[tokio::test]
async fn the_state_ends_with_the_session_that_holds_it() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watcher = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    let mut one = Gw::identify(&c.ts, &c.alice.2, VOICE).await;
    let mut two = Gw::identify(&c.ts, &c.alice.2, VOICE).await;
    op4(&mut one, g, Some(&c.vc1)).await;
    vsu(&mut watcher, &c.alice.0).await;
    // Her other session closes: the state stays.
    two.close_with(1000).await;
    say(&c.owner, &c.g.general, "barrier").await;
    watcher
        .expect_without("MESSAGE_CREATE", "VOICE_STATE_UPDATE")
        .await;
    let st = c.alice.1.get(&state_url(g, "@me")).await;
    assert_eq!(st.status, 200, "{st:?}");
    // Her last session (the holder) closes: the state ends.
    one.close_with(1000).await;
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert!(d["channel_id"].is_null(), "{d}");
    assert_err(&c.alice.1.get(&state_url(g, "@me")).await, 404, 10065);
}

#[tokio::test]
async fn losing_connect_a_kick_a_ban_leaving_and_channel_deletion_end_states() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watcher = Gw::identify(&c.ts, &c.moder.2, VOICE).await;
    let mut a = Gw::identify(&c.ts, &c.alice.2, VOICE).await;

    // CONNECT taken away by an overwrite on the channel.
    op4(&mut a, g, Some(&c.vc1)).await;
    vsu(&mut watcher, &c.alice.0).await;
    let r = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{}", c.vc1, c.alice.0),
            json!({"type": 1, "allow": "0", "deny": (1u64 << 20).to_string()}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(vsu(&mut watcher, &c.alice.0).await["channel_id"].is_null());

    // The channel deleted.
    op4(&mut a, g, Some(&c.vc2)).await;
    vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(
        c.owner.delete(&format!("/channels/{}", c.vc2)).await.status,
        200
    );
    assert!(vsu(&mut watcher, &c.alice.0).await["channel_id"].is_null());

    // A kick.
    op4(&mut a, g, Some(&c.stage)).await;
    vsu(&mut watcher, &c.alice.0).await;
    let r = c
        .owner
        .delete(&format!("/guilds/{g}/members/{}", c.alice.0))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(vsu(&mut watcher, &c.alice.0).await["channel_id"].is_null());

    // A ban.
    let mut b = Gw::identify(&c.ts, &c.bob.2, VOICE).await;
    op4(&mut b, g, Some(&c.stage)).await;
    vsu(&mut watcher, &c.bob.0).await;
    let r = c
        .owner
        .put(&format!("/guilds/{g}/bans/{}", c.bob.0), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(vsu(&mut watcher, &c.bob.0).await["channel_id"].is_null());

    // Leaving the guild.
    let carol = user(&c.ts, "carol").await;
    join(&carol.1, &c.g.invite).await;
    let mut cg = Gw::identify(&c.ts, &carol.2, VOICE).await;
    op4(&mut cg, g, Some(&c.stage)).await;
    vsu(&mut watcher, &carol.0).await;
    let r = carol.1.delete(&format!("/users/@me/guilds/{g}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(vsu(&mut watcher, &carol.0).await["channel_id"].is_null());
}

#[tokio::test]
async fn stage_audience_is_suppressed_and_asks_to_speak() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watcher = Gw::identify(&c.ts, &c.moder.2, VOICE).await;
    let mut a = Gw::identify(&c.ts, &c.alice.2, VOICE).await;
    assert_err(
        &c.alice
            .1
            .patch(&state_url(g, "@me"), json!({"suppress": true}))
            .await,
        404,
        10065,
    );
    op4(&mut a, g, Some(&c.stage)).await;
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(d["suppress"], true, "the audience is suppressed: {d}");

    let now = chrono::Utc::now().to_rfc3339();
    let me = state_url(g, "@me");
    // No REQUEST_TO_SPEAK by default; no MUTE_MEMBERS to unsuppress herself.
    let r = c
        .alice
        .1
        .patch(
            &me,
            json!({"channel_id": c.stage, "request_to_speak_timestamp": now}),
        )
        .await;
    assert_err(&r, 403, 50013);
    assert_err(
        &c.alice.1.patch(&me, json!({"suppress": false})).await,
        403,
        50013,
    );
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_field_error(
        &c.alice
            .1
            .patch(&me, json!({"request_to_speak_timestamp": past}))
            .await,
        "request_to_speak_timestamp",
    );
    let speakers = create_role(&c.owner, g, "speakers", REQUEST_TO_SPEAK).await;
    give_role(&c.owner, g, &c.alice.0, &speakers).await;
    let r = c
        .alice
        .1
        .patch(
            &me,
            json!({"channel_id": c.stage, "request_to_speak_timestamp": now}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert!(d["request_to_speak_timestamp"].is_string(), "{d}");

    // Others: MUTE_MEMBERS and the channel the user is in.
    let hers = state_url(g, &c.alice.0);
    assert_err(
        &c.bob
            .1
            .patch(&hers, json!({"channel_id": c.stage, "suppress": false}))
            .await,
        403,
        50013,
    );
    assert_field_error(
        &c.moder.1.patch(&hers, json!({"suppress": false})).await,
        "channel_id",
    );
    assert_err(
        &c.moder
            .1
            .patch(&hers, json!({"channel_id": c.vc1, "suppress": false}))
            .await,
        404,
        10065,
    );
    let r = c
        .moder
        .1
        .patch(&hers, json!({"channel_id": c.stage, "suppress": false}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let d = vsu(&mut watcher, &c.alice.0).await;
    assert_eq!(d["suppress"], false);
    assert!(
        d["request_to_speak_timestamp"].is_null(),
        "invited to speak: {d}"
    );
    // She may always step down.
    assert_eq!(
        c.alice.1.patch(&me, json!({"suppress": true})).await.status,
        204
    );
    assert_eq!(vsu(&mut watcher, &c.alice.0).await["suppress"], true);

    // In a voice channel the stage route does not apply.
    op4(&mut a, g, Some(&c.vc1)).await;
    vsu(&mut watcher, &c.alice.0).await;
    assert_err(
        &c.alice.1.patch(&me, json!({"suppress": true})).await,
        400,
        50024,
    );
}
