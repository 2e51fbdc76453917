//! Guild scheduled events (Discord "Resources > Guild Scheduled Event"): CRUD with audit
//! entries and GUILD_SCHEDULED_EVENT_* dispatches, the field checks, who may create and
//! manage, events of hidden channels (REST, gateway, GUILD_CREATE), interest with
//! USER_ADD/REMOVE and `user_count`, the status transitions, the status job on its clock,
//! the limit of open events, and a channel's deletion taking its events.
//!
//! Negative gateway cases use a barrier: a later dispatch of the same guild that the session
//! does receive (events are delivered in order).

use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

pub(crate) const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
pub(crate) const INTENTS: u64 = GUILDS | GUILD_SCHEDULED_EVENTS;
const CREATE_EVENTS: u64 = 1 << 44;
const MANAGE_EVENTS: u64 = 1 << 33;
const VIEW_CHANNEL: u64 = 1 << 10;
pub(crate) const HOUR: i64 = 3600 * 1000;

pub(crate) struct Cast {
    pub(crate) ts: TestServer,
    pub(crate) owner: Client,
    pub(crate) g: Guild,
    pub(crate) vc: String,
    pub(crate) stage: String,
    /// Plain member.
    pub(crate) bob: (String, Client, String),
    /// Holds CREATE_EVENTS.
    alice: (String, Client, String),
    /// Holds MANAGE_EVENTS.
    carol: (String, Client, String),
    outsider: Client,
}

async fn user(ts: &TestServer, name: &str) -> (String, Client, String) {
    let (id, token) = ts.register(name).await;
    (id, ts.client(&token), token)
}

async fn channel(owner: &Client, g: &str, name: &str, kind: u8) -> String {
    let r = owner
        .post(
            &format!("/guilds/{g}/channels"),
            json!({"name": name, "type": kind}),
        )
        .await;
    assert_eq!(r.status, 201, "create channel {name}: {r:?}");
    s(&r.body["id"])
}

pub(crate) async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let g = create_guild(&owner, "events").await;
    let vc = channel(&owner, &g.id, "lounge", 2).await;
    let stage = channel(&owner, &g.id, "townhall", 13).await;
    let creators = create_role(&owner, &g.id, "creators", CREATE_EVENTS).await;
    let managers = create_role(&owner, &g.id, "managers", MANAGE_EVENTS).await;
    let bob = user(&ts, "bob").await;
    let alice = user(&ts, "alice").await;
    let carol = user(&ts, "carol").await;
    let (_, outsider) = ts.user("outsider").await;
    for c in [&bob.1, &alice.1, &carol.1] {
        join(c, &g.invite).await;
    }
    give_role(&owner, &g.id, &alice.0, &creators).await;
    give_role(&owner, &g.id, &carol.0, &managers).await;
    Cast {
        ts,
        owner,
        g,
        vc,
        stage,
        bob,
        alice,
        carol,
        outsider,
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// ISO 8601 of the epoch time `ms`.
pub(crate) fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339()
}

pub(crate) fn external(name: &str) -> Value {
    json!({
        "name": name, "privacy_level": 2, "entity_type": 3,
        "scheduled_start_time": iso(now_ms() + HOUR),
        "scheduled_end_time": iso(now_ms() + 2 * HOUR),
        "entity_metadata": {"location": "The park"},
    })
}

pub(crate) fn voice(name: &str, channel: &str) -> Value {
    json!({
        "name": name, "privacy_level": 2, "entity_type": 2, "channel_id": channel,
        "scheduled_start_time": iso(now_ms() + HOUR),
    })
}

pub(crate) fn events(g: &str) -> String {
    format!("/guilds/{g}/scheduled-events")
}

pub(crate) async fn create(c: &Client, g: &str, body: Value) -> Value {
    let r = c.post(&events(g), body).await;
    assert_eq!(r.status, 200, "create event: {r:?}");
    r.body
}

pub(crate) async fn audit(c: &Client, g: &str, action: i64) -> Vec<Value> {
    let r = c
        .get(&format!("/guilds/{g}/audit-logs?action_type={action}"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["audit_log_entries"].as_array().unwrap().clone()
}

/// The next dispatch `t` about event `id`.
pub(crate) async fn about(gw: &mut Gw, t: &str, id: &str) -> Value {
    gw.expect_where(t, |d| d["id"] == id || d["guild_scheduled_event_id"] == id)
        .await
}

/// Asserts no GUILD_SCHEDULED_EVENT_* dispatch about `id` was received so far.
fn nothing_about(gw: &Gw, id: &str) {
    let leaked: Vec<&Value> = gw
        .pending
        .iter()
        .filter(|v| v["d"]["id"] == id || v["d"]["guild_scheduled_event_id"] == id)
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

#[tokio::test]
async fn events_are_created_listed_modified_and_deleted_with_audit_and_dispatches() {
    let c = cast().await;
    let g = &c.g.id;
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let mut deaf = Gw::identify(&c.ts, &c.bob.2, GUILDS | GUILD_MESSAGES).await;

    let ext = create(&c.owner, g, external("Picnic")).await;
    let id = s(&ext["id"]);
    assert_eq!(ext["guild_id"], g.as_str());
    assert_eq!(ext["status"], 1);
    assert_eq!(ext["entity_type"], 3);
    assert_eq!(ext["channel_id"], Value::Null);
    assert_eq!(ext["entity_metadata"]["location"], "The park");
    assert_eq!(ext["privacy_level"], 2);
    assert_eq!(ext["creator"]["username"], "owner");
    assert_eq!(ext["image"], Value::Null);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_CREATE", &id).await;
    assert_eq!(d["name"], "Picnic");

    let vev = create(&c.owner, g, voice("Chat", &c.vc)).await;
    let vid = s(&vev["id"]);
    assert_eq!(vev["channel_id"], c.vc.as_str());
    assert_eq!(vev["entity_metadata"], Value::Null);

    let list = c.bob.1.get(&events(g)).await;
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(ids(&list.body), vec![id.clone(), vid.clone()]);
    assert!(list.body[0].get("user_count").is_none());
    let counted = c
        .bob
        .1
        .get(&format!("{}?with_user_count=true", events(g)))
        .await;
    assert_eq!(counted.body[0]["user_count"], 0);
    let one = c.bob.1.get(&format!("{}/{vid}", events(g))).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["name"], "Chat");

    // A new session's GUILD_CREATE carries them.
    let mut fresh = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let gc = fresh.expect("GUILD_CREATE").await;
    assert_eq!(
        ids(&gc["guild_scheduled_events"]),
        vec![id.clone(), vid.clone()]
    );

    let r = c
        .owner
        .raw(
            reqwest::Method::PATCH,
            &format!("{}/{id}", events(g)),
            Some(
                json!({"name": "Big picnic", "description": "Bring food"})
                    .to_string()
                    .into_bytes(),
            ),
            &[("X-Audit-Log-Reason", "renamed")],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "Big picnic");
    assert_eq!(r.body["description"], "Bring food");
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["name"], "Big picnic");

    let r = c
        .owner
        .raw(
            reqwest::Method::DELETE,
            &format!("{}/{vid}", events(g)),
            None,
            &[("X-Audit-Log-Reason", "not needed")],
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_DELETE", &vid).await;
    assert_eq!(d["channel_id"], c.vc.as_str());
    assert_err(
        &c.bob.1.get(&format!("{}/{vid}", events(g))).await,
        404,
        10070,
    );
    assert_eq!(ids(&c.bob.1.get(&events(g)).await.body), vec![id.clone()]);

    // Audit entries: create (100), update (101) with its reason, delete (102).
    let created = audit(&c.owner, g, 100).await;
    assert_eq!(created.len(), 2);
    let updated = audit(&c.owner, g, 101).await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["target_id"], id.as_str());
    assert_eq!(updated[0]["reason"], "renamed");
    let keys: Vec<&str> = updated[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["name", "description"]);
    let deleted = audit(&c.owner, g, 102).await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["reason"], "not needed");

    // Without the intent, none of it; a message is the barrier.
    say(&c.owner, &c.g.general, "barrier").await;
    deaf.expect_where("MESSAGE_CREATE", |d| d["content"] == "barrier")
        .await;
    assert!(
        !deaf.pending.iter().any(|v| v["t"]
            .as_str()
            .is_some_and(|t| t.starts_with("GUILD_SCHEDULED_EVENT"))),
        "{:?}",
        deaf.pending
    );
}

#[tokio::test]
async fn bad_bodies_answer_50035_at_the_field() {
    let c = cast().await;
    let g = &c.g.id;
    let post = |b: Value| {
        let (o, p) = (&c.owner, events(g));
        async move { o.post(&p, b).await }
    };
    let mut b = external("x");
    b.as_object_mut().unwrap().remove("name");
    assert_field_error(&post(b).await, "name");
    let mut b = external("x");
    b["name"] = json!("n".repeat(101));
    assert_field_error(&post(b).await, "name");
    let mut b = external("x");
    b["description"] = json!("d".repeat(1001));
    assert_field_error(&post(b).await, "description");
    let mut b = external("x");
    b["scheduled_start_time"] = json!(iso(now_ms() - 60_000));
    assert_field_error(&post(b).await, "scheduled_start_time");
    let mut b = external("x");
    b["scheduled_start_time"] = json!("tomorrow");
    assert_field_error(&post(b).await, "scheduled_start_time");
    let mut b = external("x");
    b["scheduled_end_time"] = json!(iso(now_ms() + HOUR / 2));
    assert_field_error(&post(b).await, "scheduled_end_time");
    let mut b = external("x");
    b.as_object_mut().unwrap().remove("scheduled_end_time");
    assert_field_error(&post(b).await, "scheduled_end_time");
    let mut b = external("x");
    b.as_object_mut().unwrap().remove("entity_metadata");
    assert_field_error(&post(b).await, "entity_metadata.location");
    let mut b = external("x");
    b["entity_metadata"]["location"] = json!("l".repeat(101));
    assert_field_error(&post(b).await, "entity_metadata.location");
    let mut b = external("x");
    b["channel_id"] = json!(c.vc);
    assert_field_error(&post(b).await, "channel_id");
    let mut b = external("x");
    b["privacy_level"] = json!(1);
    assert_field_error(&post(b).await, "privacy_level");
    let mut b = external("x");
    b["entity_type"] = json!(9);
    assert_field_error(&post(b).await, "entity_type");
    let mut b = external("x");
    b["image"] = json!("data:image/png;base64,AAAA");
    assert_field_error(&post(b).await, "image");
    let mut b = voice("x", &c.vc);
    b.as_object_mut().unwrap().remove("channel_id");
    assert_field_error(&post(b).await, "channel_id");
    // A text channel, a stage for a voice event, and a voice channel for a stage event.
    assert_field_error(&post(voice("x", &c.g.general)).await, "channel_id");
    assert_field_error(&post(voice("x", &c.stage)).await, "channel_id");
    let mut b = voice("x", &c.vc);
    b["entity_type"] = json!(1);
    assert_field_error(&post(b).await, "channel_id");
    let mut b = voice("x", &c.vc);
    b["entity_metadata"] = json!({"location": "here"});
    assert_field_error(&post(b).await, "entity_metadata");
    // A stage event in the stage is fine (the owner holds every permission).
    let mut b = voice("Talk", &c.stage);
    b["entity_type"] = json!(1);
    assert_eq!(post(b).await.status, 200);
    // Nothing else was stored.
    assert_eq!(
        c.owner.get(&events(g)).await.body.as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn create_and_manage_need_their_permissions() {
    let c = cast().await;
    let g = &c.g.id;
    // A plain member may not create; an outsider is not in the guild.
    assert_err(&c.bob.1.post(&events(g), external("no")).await, 403, 50013);
    assert_err(
        &c.outsider.post(&events(g), external("no")).await,
        403,
        50001,
    );
    assert_err(&c.outsider.get(&events(g)).await, 403, 50001);

    let mine = create(&c.alice.1, g, external("Alice's")).await;
    let mine = s(&mine["id"]);
    assert_eq!(
        c.alice.1.get(&events(g)).await.body[0]["creator_id"],
        c.alice.0.as_str()
    );
    let theirs = s(&create(&c.owner, g, external("Owner's")).await["id"]);
    assert_err(
        &c.outsider.get(&format!("{}/{mine}", events(g))).await,
        403,
        50001,
    );

    // CREATE_EVENTS manages one's own events only.
    let r = c
        .alice
        .1
        .patch(
            &format!("{}/{mine}", events(g)),
            json!({"name": "Alice's party"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_err(
        &c.alice
            .1
            .patch(
                &format!("{}/{theirs}", events(g)),
                json!({"name": "mine now"}),
            )
            .await,
        403,
        50013,
    );
    assert_err(
        &c.alice.1.delete(&format!("{}/{theirs}", events(g))).await,
        403,
        50013,
    );
    // A plain member manages nothing.
    assert_err(
        &c.bob
            .1
            .patch(&format!("{}/{mine}", events(g)), json!({"name": "bob's"}))
            .await,
        403,
        50013,
    );
    assert_err(
        &c.bob.1.delete(&format!("{}/{mine}", events(g))).await,
        403,
        50013,
    );
    // MANAGE_EVENTS manages anyone's.
    let r = c
        .carol
        .1
        .patch(
            &format!("{}/{theirs}", events(g)),
            json!({"name": "Managed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        c.carol
            .1
            .delete(&format!("{}/{mine}", events(g)))
            .await
            .status,
        204
    );
    assert_err(
        &c.carol.1.delete(&format!("{}/{mine}", events(g))).await,
        404,
        10070,
    );

    // A voice event needs CONNECT in its channel as well.
    let r = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{}", c.vc, c.alice.0),
            json!({"type": 1, "allow": "0", "deny": (1u64 << 20).to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(
        &c.alice.1.post(&events(g), voice("v", &c.vc)).await,
        403,
        50013,
    );
    // A stage event needs MANAGE_CHANNELS, MUTE_MEMBERS and MOVE_MEMBERS there.
    let mut b = voice("s", &c.stage);
    b["entity_type"] = json!(1);
    assert_err(&c.alice.1.post(&events(g), b).await, 403, 50013);
}

#[tokio::test]
async fn an_event_in_a_hidden_channel_is_invisible_to_who_cannot_see_it() {
    let c = cast().await;
    let g = &c.g.id;
    let secret = channel(&c.owner, g, "backstage", 2).await;
    let r = c
        .owner
        .put(
            &format!("/channels/{secret}/permissions/{g}"),
            json!({"type": 0, "allow": "0", "deny": VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let mut bob_gw = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;

    let hidden = s(&create(&c.owner, g, voice("Secret", &secret)).await["id"]);
    let open = s(&create(&c.owner, g, external("Open")).await["id"]);
    // Bob receives the open one (the barrier) and nothing of the hidden one.
    about(&mut bob_gw, "GUILD_SCHEDULED_EVENT_CREATE", &open).await;
    nothing_about(&bob_gw, &hidden);

    assert_eq!(ids(&c.bob.1.get(&events(g)).await.body), vec![open.clone()]);
    assert_eq!(
        ids(&c.owner.get(&events(g)).await.body),
        vec![hidden.clone(), open.clone()]
    );
    let path = format!("{}/{hidden}", events(g));
    assert_err(&c.bob.1.get(&path).await, 404, 10070);
    assert_err(&c.bob.1.get(&format!("{path}/users")).await, 404, 10070);
    assert_err(
        &c.bob.1.put_empty(&format!("{path}/users/@me")).await,
        404,
        10070,
    );
    // Even a manager who cannot see the channel cannot touch it.
    assert_err(
        &c.carol.1.patch(&path, json!({"name": "x"})).await,
        404,
        10070,
    );

    // Interest and edits of the hidden event stay hidden too.
    assert_eq!(
        c.owner.put_empty(&format!("{path}/users/@me")).await.status,
        204
    );
    assert_eq!(
        c.owner
            .patch(&path, json!({"name": "Still secret"}))
            .await
            .status,
        200
    );
    let r = c
        .owner
        .patch(&format!("{}/{open}", events(g)), json!({"name": "Open 2"}))
        .await;
    assert_eq!(r.status, 200);
    about(&mut bob_gw, "GUILD_SCHEDULED_EVENT_UPDATE", &open).await;
    nothing_about(&bob_gw, &hidden);

    // GUILD_CREATE: bob's lists the open one only.
    let mut fresh = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let gc = fresh.expect("GUILD_CREATE").await;
    assert_eq!(ids(&gc["guild_scheduled_events"]), vec![open.clone()]);
    // Let bob see the channel: the event is his to see.
    let r = c
        .owner
        .put(
            &format!("/channels/{secret}/permissions/{}", c.bob.0),
            json!({"type": 1, "allow": VIEW_CHANNEL.to_string(), "deny": "0"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(c.bob.1.get(&path).await.status, 200);
}

#[tokio::test]
async fn interest_is_added_and_removed_with_its_dispatches_and_counted() {
    let c = cast().await;
    let g = &c.g.id;
    let id = s(&create(&c.owner, g, external("Picnic")).await["id"]);
    let path = format!("{}/{id}", events(g));
    let mut watch = Gw::identify(&c.ts, &c.carol.2, INTENTS).await;

    assert_eq!(
        c.bob.1.put_empty(&format!("{path}/users/@me")).await.status,
        204
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_USER_ADD", &id).await;
    assert_eq!(d["user_id"], c.bob.0.as_str());
    assert_eq!(d["guild_id"], g.as_str());
    // Again: nothing changes.
    assert_eq!(
        c.bob.1.put_empty(&format!("{path}/users/@me")).await.status,
        204
    );
    assert_eq!(
        c.alice
            .1
            .put_empty(&format!("{path}/users/@me"))
            .await
            .status,
        204
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_USER_ADD", &id).await;
    assert_eq!(
        d["user_id"],
        c.alice.0.as_str(),
        "bob's second PUT announced nothing"
    );
    assert_err(
        &c.outsider.put_empty(&format!("{path}/users/@me")).await,
        403,
        50001,
    );

    let counted = c.bob.1.get(&format!("{path}?with_user_count=true")).await;
    assert_eq!(counted.body["user_count"], 2);
    let users = c.bob.1.get(&format!("{path}/users")).await;
    assert_eq!(users.status, 200, "{users:?}");
    let mut want = vec![c.bob.0.clone(), c.alice.0.clone()];
    want.sort_by_key(|x| x.parse::<u64>().unwrap());
    let got: Vec<String> = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| s(&u["user"]["id"]))
        .collect();
    assert_eq!(got, want);
    assert_eq!(users.body[0]["guild_scheduled_event_id"], id.as_str());
    assert!(users.body[0].get("member").is_none());
    let with = c.bob.1.get(&format!("{path}/users?with_member=true")).await;
    assert!(with.body[0]["member"]["joined_at"].is_string(), "{with:?}");
    let after = c
        .bob
        .1
        .get(&format!("{path}/users?after={}", want[0]))
        .await;
    assert_eq!(after.body.as_array().unwrap().len(), 1);
    assert_eq!(after.body[0]["user"]["id"], want[1].as_str());
    let before = c
        .bob
        .1
        .get(&format!(
            "{path}/users?before={}&after={}",
            want[1], want[1]
        ))
        .await;
    assert_eq!(before.body[0]["user"]["id"], want[0].as_str());
    let limited = c.bob.1.get(&format!("{path}/users?limit=1")).await;
    assert_eq!(limited.body.as_array().unwrap().len(), 1);
    assert_field_error(
        &c.bob.1.get(&format!("{path}/users?limit=101")).await,
        "limit",
    );
    assert_field_error(
        &c.bob.1.get(&format!("{path}/users?limit=0")).await,
        "limit",
    );

    assert_eq!(
        c.bob.1.delete(&format!("{path}/users/@me")).await.status,
        204
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_USER_REMOVE", &id).await;
    assert_eq!(d["user_id"], c.bob.0.as_str());
    let counted = c.bob.1.get(&format!("{path}?with_user_count=true")).await;
    assert_eq!(counted.body["user_count"], 1);
}

#[tokio::test]
async fn status_moves_only_as_discord_allows() {
    let c = cast().await;
    let g = &c.g.id;
    let id = s(&create(&c.owner, g, voice("Chat", &c.vc)).await["id"]);
    let path = format!("{}/{id}", events(g));
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    // SCHEDULED -> COMPLETED is not a transition.
    assert_field_error(&c.owner.patch(&path, json!({"status": 3})).await, "status");
    let r = c.owner.patch(&path, json!({"status": 2})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], 2);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &id).await;
    assert_eq!(d["status"], 2);
    assert_field_error(&c.owner.patch(&path, json!({"status": 1})).await, "status");
    assert_field_error(&c.owner.patch(&path, json!({"status": 4})).await, "status");
    let r = c.owner.patch(&path, json!({"status": 3})).await;
    assert_eq!(r.body["status"], 3, "{r:?}");
    // A finished event changes no more.
    assert_err(
        &c.owner.patch(&path, json!({"name": "again"})).await,
        400,
        180000,
    );
    assert_err(
        &c.owner.patch(&path, json!({"status": 2})).await,
        400,
        180000,
    );
    assert_err(
        &c.bob.1.put_empty(&format!("{path}/users/@me")).await,
        400,
        180000,
    );
    // SCHEDULED -> CANCELED, then final too.
    let other = s(&create(&c.owner, g, external("Picnic")).await["id"]);
    let opath = format!("{}/{other}", events(g));
    assert_eq!(
        c.owner.patch(&opath, json!({"status": 4})).await.body["status"],
        4
    );
    assert_err(
        &c.owner.patch(&opath, json!({"status": 1})).await,
        400,
        180000,
    );
    // The audit entry of a status change names it.
    let updates = audit(&c.owner, g, 101).await;
    assert!(updates.iter().any(|e| {
        e["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ch| ch["key"] == "status" && ch["new_value"] == 4)
    }));
    // Changing a voice event to EXTERNAL needs channel_id null, a location and an end.
    let v = s(&create(&c.owner, g, voice("Move", &c.vc)).await["id"]);
    let vpath = format!("{}/{v}", events(g));
    assert_field_error(
        &c.owner.patch(&vpath, json!({"entity_type": 3})).await,
        "channel_id",
    );
    let r = c
        .owner
        .patch(
            &vpath,
            json!({"entity_type": 3, "channel_id": null,
                   "entity_metadata": {"location": "Outside"},
                   "scheduled_end_time": iso(now_ms() + 3 * HOUR)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["channel_id"], Value::Null);
    assert_eq!(r.body["entity_metadata"]["location"], "Outside");
}

#[tokio::test]
async fn the_status_job_starts_ends_and_cancels_on_its_clock() {
    let c = cast().await;
    let g = &c.g.id;
    let ext = s(&create(&c.owner, g, external("Picnic")).await["id"]);
    let idle = s(&create(&c.owner, g, voice("Never started", &c.vc)).await["id"]);
    // After the creations: every start is at most `now + HOUR`.
    let now = now_ms();
    let live = s(&create(&c.owner, g, voice("Started", &c.vc)).await["id"]);
    // Watching before the start: its update (status 2) is consumed here, so the later
    // look-ups find the job's updates, not this one delivered late.
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let r = c
        .owner
        .patch(&format!("{}/{live}", events(g)), json!({"status": 2}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &live).await;
    assert_eq!(d["status"], 2);
    let status = |id: String| {
        let (b, p) = (&c.bob.1, events(g));
        async move { b.get(&format!("{p}/{id}")).await.body["status"].clone() }
    };
    let h = &c.ts.hearth;

    // Nobody is in voice: the first pass notes it, five minutes later the event ends.
    assert_eq!(h.scheduled_event_pass(now + 60_000).await.unwrap(), 0);
    assert_eq!(
        h.scheduled_event_pass(now + 60_000 + 4 * 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(status(live.clone()).await, 2);
    assert_eq!(
        h.scheduled_event_pass(now + 60_000 + 5 * 60_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(status(live.clone()).await, 3);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &live).await;
    assert_eq!(d["status"], 3);

    // The external event starts at its start and ends at its end.
    assert_eq!(
        h.scheduled_event_pass(now + HOUR - 60_000).await.unwrap(),
        0
    );
    assert_eq!(h.scheduled_event_pass(now + HOUR + 1000).await.unwrap(), 1);
    assert_eq!(status(ext.clone()).await, 2);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &ext).await;
    assert_eq!(d["status"], 2);
    assert_eq!(
        h.scheduled_event_pass(now + 2 * HOUR + 1000).await.unwrap(),
        1
    );
    assert_eq!(status(ext.clone()).await, 3);
    // The voice event never started: canceled three hours after its start.
    assert_eq!(status(idle.clone()).await, 1);
    assert_eq!(
        h.scheduled_event_pass(now + 4 * HOUR - 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        h.scheduled_event_pass(now + 4 * HOUR + 1000).await.unwrap(),
        1
    );
    assert_eq!(status(idle.clone()).await, 4);
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_UPDATE", &idle).await;
    assert_eq!(d["status"], 4);
}

#[tokio::test]
async fn a_guild_holds_at_most_100_open_events_and_a_channel_takes_its_events_along() {
    let c = cast().await;
    let g = &c.g.id;
    let gid: i64 = g.parse().unwrap();
    // 99 stored directly (the limit counts rows, however they came), one through REST.
    let mut ch =
        c.ts.hearth
            .db
            .change(hearth::storage::Lock::Guild(gid))
            .await
            .unwrap();
    for i in 0..99 {
        ch.insert_scheduled_event(&hearth::storage::ScheduledEventRow {
            id: c.ts.hearth.next_id(),
            guild_id: gid,
            channel_id: None,
            creator_id: None,
            name: format!("e{i}"),
            description: None,
            start_at: now_ms() + HOUR,
            end_at: Some(now_ms() + 2 * HOUR),
            privacy_level: 2,
            status: 1,
            entity_type: 3,
            location: Some("x".into()),
            empty_since: None,
            image: None,
            entity_id: None,
            recurrence_rule: None,
        })
        .await
        .unwrap();
    }
    ch.commit().await.unwrap();
    let last = s(&create(&c.owner, g, external("100th")).await["id"]);
    assert_err(
        &c.owner.post(&events(g), external("101st")).await,
        400,
        30038,
    );
    // A canceled one no longer counts.
    let r = c
        .owner
        .patch(&format!("{}/{last}", events(g)), json!({"status": 4}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Finished events leave the lists (REST and GUILD_CREATE) and stay readable by id.
    let listed = ids(&c.owner.get(&events(g)).await.body);
    assert_eq!(
        listed.len(),
        99,
        "the 99 stored remain, the canceled 100th is gone"
    );
    assert!(!listed.contains(&last));
    let mut fresh = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    let gc = fresh.expect("GUILD_CREATE").await;
    assert!(!ids(&gc["guild_scheduled_events"]).contains(&last));
    let r = c.owner.get(&format!("{}/{last}", events(g))).await;
    assert_eq!(r.body["status"], 4, "{r:?}");
    let v = s(&create(&c.owner, g, voice("In the lounge", &c.vc)).await["id"]);

    // Deleting the lounge deletes its event, announced.
    let mut watch = Gw::identify(&c.ts, &c.bob.2, INTENTS).await;
    assert_eq!(
        c.owner.delete(&format!("/channels/{}", c.vc)).await.status,
        200
    );
    let d = about(&mut watch, "GUILD_SCHEDULED_EVENT_DELETE", &v).await;
    assert_eq!(d["channel_id"], c.vc.as_str());
    assert_err(
        &c.owner.get(&format!("{}/{v}", events(g))).await,
        404,
        10070,
    );
}

#[tokio::test]
async fn concurrent_edits_of_different_fields_both_stay() {
    // Each PATCH is checked against the event as read, then read again under the guild's
    // lock: an edit that raced another starts over from what is stored, so neither field is
    // put back to its old value by the other's stale copy.
    let c = cast().await;
    let g = &c.g.id;
    let id = s(&create(&c.owner, g, external("Race")).await["id"]);
    let path = format!("{}/{id}", events(g));
    for round in 0..8 {
        let name = format!("name {round}");
        let description = format!("description {round}");
        let (a, b) = tokio::join!(
            c.owner.patch(&path, json!({ "name": name })),
            c.carol
                .1
                .patch(&path, json!({ "description": description })),
        );
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(b.status, 200, "{b:?}");
        let now = c.owner.get(&path).await;
        assert_eq!(now.body["name"], name.as_str(), "round {round}: {now:?}");
        assert_eq!(
            now.body["description"],
            description.as_str(),
            "round {round}: {now:?}"
        );
    }
}

#[tokio::test]
async fn an_event_created_while_its_channel_is_deleted_is_refused_or_goes_with_it() {
    // The channel is checked again inside the guild-locked write: a channel deleted between
    // the first checks and the insert is 404 10003 (before them, 50035 at channel_id), never
    // a 500 from the foreign key; an event that won the race is deleted with its channel.
    let c = cast().await;
    let g = &c.g.id;
    for round in 0..6 {
        let vc = channel(&c.owner, g, &format!("doomed-{round}"), 2).await;
        let (list, channel_path) = (events(g), format!("/channels/{vc}"));
        let (made, gone) = tokio::join!(
            c.owner.post(&list, voice("Doomed", &vc)),
            c.owner.delete(&channel_path),
        );
        assert_eq!(gone.status, 200, "{gone:?}");
        match made.status {
            200 => {
                let r = c
                    .owner
                    .get(&format!("{}/{}", events(g), s(&made.body["id"])))
                    .await;
                assert_err(&r, 404, 10070);
            }
            // Gone before the first checks: the field error; gone between them and the
            // write: Unknown Channel.
            400 => assert_field_error(&made, "channel_id"),
            _ => assert_err(&made, 404, 10003),
        }
    }
}

#[tokio::test]
async fn a_member_who_leaves_or_is_banned_is_no_longer_interested() {
    let c = cast().await;
    let g = &c.g.id;
    let id = s(&create(&c.owner, g, external("Fair")).await["id"]);
    let path = format!("{}/{id}", events(g));
    for who in [&c.bob.1, &c.alice.1, &c.carol.1] {
        assert_eq!(
            who.put_empty(&format!("{path}/users/@me")).await.status,
            204
        );
    }
    let count = || async {
        c.owner
            .get(&format!("{path}?with_user_count=true"))
            .await
            .body["user_count"]
            .clone()
    };
    assert_eq!(count().await, 3);
    // bob leaves; alice is banned; carol stays.
    let r = c.bob.1.delete(&format!("/users/@me/guilds/{g}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = c
        .owner
        .put(&format!("/guilds/{g}/bans/{}", c.alice.0), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(count().await, 1);
    let users = c.owner.get(&format!("{path}/users")).await;
    let ids: Vec<String> = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| s(&u["user"]["id"]))
        .collect();
    assert_eq!(ids, vec![c.carol.0.clone()]);
}
