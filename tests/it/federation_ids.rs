//! Typed payloads and id translation (spec/federation.md §§6.5, 13):
//! - every dispatch a host federates parses into its wire type (`Payload`) with nothing
//!   unknown and serializes back unchanged, so the host's payloads and the types agree;
//! - a replica receives every event kind over real federation and neither its stored rows
//!   nor its clients' gateway events carry an id of the host (everything is translated).

use std::collections::{BTreeSet, HashMap, HashSet};

use hearth::events::{Audience, BusEvent};
use hearth::storage::Page;
use hearth_wire::dispatch::{Payload, PayloadError};
use hearth_wire::{Event, Snowflake};
use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::{
    Client, TestServer, create_guild, create_role, eventually, give_role, join, s, say,
};
use crate::network::TestNetwork;

const A: &str = "a.hearth.test";
const B: &str = "b.hearth.test";

/// Every intent a replica's republished events need.
const INTENTS: u64 = 1 // GUILDS
    | 1 << 1 // GUILD_MEMBERS
    | 1 << 2 // GUILD_MODERATION
    | 1 << 6 // GUILD_INVITES
    | 1 << 8 // GUILD_PRESENCES
    | 1 << 9 // GUILD_MESSAGES
    | 1 << 10 // GUILD_MESSAGE_REACTIONS
    | 1 << 11 // GUILD_MESSAGE_TYPING
    | 1 << 15 // MESSAGE_CONTENT
    | 1 << 16 // GUILD_SCHEDULED_EVENTS
    | 1 << 24; // GUILD_MESSAGE_POLLS

const THUMBS: &str = "%F0%9F%91%8D";
const PARTY: &str = "%F0%9F%8E%89";
const GRIN: &str = "%F0%9F%98%80";

fn ok(r: &crate::harness::Resp, what: &str) {
    assert!((200..300).contains(&r.status), "{what}: {r:?}");
}

/// Adds a bot application owned by `owner` to `guild` (a managed role with `tags.bot_id`).
async fn add_bot(owner: &Client, guild: &str) {
    let app = owner
        .post("/applications", json!({"name": "Typebot"}))
        .await;
    ok(&app, "create application");
    let id = s(&app.body["id"]);
    let r = owner
        .post(
            &format!("/oauth2/authorize?client_id={id}&scope=bot"),
            json!({"guild_id": guild, "permissions": "0", "authorize": true}),
        )
        .await;
    ok(&r, "authorize bot");
}

#[tokio::test]
async fn every_dispatch_a_host_federates_parses_into_its_type_unchanged() {
    let srv = TestServer::start().await;
    let mut bus = srv.hearth.bus.subscribe();
    let (_, bob) = srv.user("bob").await;
    let (dave_id, dave_tok) = srv.register("dave").await;
    let dave = srv.client(&dave_tok);
    let g = create_guild(&bob, "Types").await;
    let gen_ = g.general.clone();
    join(&dave, &g.invite).await;
    // Dave's presence goes to his guild.
    let _dave_gw = Gw::identify(&srv, &dave_tok, INTENTS).await;
    let role = create_role(&bob, &g.id, "mod", 1024).await;
    ok(
        &bob.patch(
            &format!("/guilds/{}/roles/{role}", g.id),
            json!({"name": "mods", "color": 255, "mentionable": true}),
        )
        .await,
        "update role",
    );
    give_role(&bob, &g.id, &dave_id, &role).await;
    ok(
        &bob.patch(
            &format!("/guilds/{}", g.id),
            json!({"name": "Types 2", "description": "d", "system_channel_id": gen_}),
        )
        .await,
        "update guild",
    );
    // GUILD_EMOJIS_UPDATE (spec/federation.md §17).
    let emoji_png = {
        let img = image::RgbaImage::from_pixel(8, 8, image::Rgba([1, 2, 3, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let emoji_uri = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &emoji_png)
    );
    let e = bob
        .post(
            &format!("/guilds/{}/emojis", g.id),
            json!({"name": "types", "image": emoji_uri}),
        )
        .await;
    assert_eq!(e.status, 201, "create emoji: {e:?}");
    let side = bob
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "side", "topic": "t"}),
        )
        .await;
    ok(&side, "create channel");
    let side = s(&side.body["id"]);
    ok(
        &bob.patch(&format!("/channels/{side}"), json!({"name": "side2"}))
            .await,
        "update channel",
    );
    ok(
        &bob.put(
            &format!("/channels/{side}/permissions/{role}"),
            json!({"type": 0, "allow": "1024", "deny": "0"}),
        )
        .await,
        "overwrite",
    );
    let inv = bob
        .post(&format!("/channels/{side}/invites"), json!({"max_age": 60}))
        .await;
    ok(&inv, "create invite");
    ok(
        &bob.delete(&format!("/invites/{}", s(&inv.body["code"])))
            .await,
        "delete invite",
    );
    let m1 = say(
        &bob,
        &gen_,
        &format!("hi <@{dave_id}> <@&{role}> <#{side}>"),
    )
    .await;
    let reply = dave
        .post(
            &format!("/channels/{gen_}/messages"),
            json!({"content": "re", "message_reference": {"message_id": m1},
                   "embeds": [{"title": "t", "description": "d", "color": 5}]}),
        )
        .await;
    ok(&reply, "reply");
    let reply = s(&reply.body["id"]);
    ok(
        &bob.patch(
            &format!("/channels/{gen_}/messages/{m1}"),
            json!({"content": "edited"}),
        )
        .await,
        "edit",
    );
    let react = |m: &str, e: &str| format!("/channels/{gen_}/messages/{m}/reactions/{e}/@me");
    ok(&dave.put_empty(&react(&m1, THUMBS)).await, "react");
    ok(&bob.put_empty(&react(&m1, THUMBS)).await, "react");
    ok(
        &dave
            .delete(&format!(
                "/channels/{gen_}/messages/{m1}/reactions/{THUMBS}/@me"
            ))
            .await,
        "unreact",
    );
    ok(
        &bob.delete(&format!(
            "/channels/{gen_}/messages/{m1}/reactions/{THUMBS}"
        ))
        .await,
        "remove emoji",
    );
    ok(&bob.put_empty(&react(&m1, PARTY)).await, "react");
    ok(
        &bob.delete(&format!("/channels/{gen_}/messages/{m1}/reactions"))
            .await,
        "remove all",
    );
    ok(&dave.put_empty(&react(&m1, GRIN)).await, "react");
    ok(
        &bob.put_empty(&format!("/channels/{gen_}/messages/pins/{m1}"))
            .await,
        "pin",
    );
    ok(
        &dave
            .post(&format!("/channels/{gen_}/typing"), json!({}))
            .await,
        "typing",
    );
    let m2 = say(&bob, &gen_, "two").await;
    let m3 = say(&bob, &gen_, "three").await;
    ok(
        &bob.post(
            &format!("/channels/{gen_}/messages/bulk-delete"),
            json!({"messages": [m2, m3]}),
        )
        .await,
        "bulk delete",
    );
    ok(
        &bob.delete(&format!("/channels/{gen_}/messages/{reply}"))
            .await,
        "delete",
    );
    // Threads: created, renamed, joined, deleted.
    let starter = say(&bob, &gen_, "thread starter").await;
    let th = bob
        .post(
            &format!("/channels/{gen_}/messages/{starter}/threads"),
            json!({"name": "t1"}),
        )
        .await;
    ok(&th, "start thread");
    let th = s(&th.body["id"]);
    ok(
        &bob.patch(&format!("/channels/{th}"), json!({"name": "t2"}))
            .await,
        "rename thread",
    );
    ok(
        &dave
            .put_empty(&format!("/channels/{th}/thread-members/@me"))
            .await,
        "join thread",
    );
    ok(
        &bob.delete(&format!("/channels/{th}")).await,
        "delete thread",
    );
    // A poll's votes.
    let p = bob
        .post(
            &format!("/channels/{gen_}/messages"),
            json!({"poll": {"question": {"text": "q"}, "answers": [
                {"poll_media": {"text": "x"}}, {"poll_media": {"text": "y"}}]}}),
        )
        .await;
    ok(&p, "poll");
    let votes = format!("/channels/{gen_}/polls/{}/answers/@me", s(&p.body["id"]));
    ok(
        &dave.put(&votes, json!({"answer_ids": ["1"]})).await,
        "vote",
    );
    ok(&dave.put(&votes, json!({"answer_ids": []})).await, "unvote");
    // Scheduled events: created, changed, interest added and removed, deleted.
    let start =
        chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis() + 3_600_000)
            .unwrap()
            .to_rfc3339();
    let end =
        chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis() + 7_200_000)
            .unwrap()
            .to_rfc3339();
    let ev = bob
        .post(
            &format!("/guilds/{}/scheduled-events", g.id),
            json!({"name": "meetup", "privacy_level": 2, "entity_type": 3,
                   "scheduled_start_time": start, "scheduled_end_time": end,
                   "entity_metadata": {"location": "here"}}),
        )
        .await;
    ok(&ev, "create event");
    let ev = format!("/guilds/{}/scheduled-events/{}", g.id, s(&ev.body["id"]));
    ok(
        &bob.patch(&ev, json!({"name": "meetup 2"})).await,
        "update event",
    );
    ok(
        &dave.put(&format!("{ev}/users/@me"), json!({})).await,
        "interested",
    );
    ok(
        &dave.delete(&format!("{ev}/users/@me")).await,
        "not interested",
    );
    ok(&bob.delete(&ev).await, "delete event");
    add_bot(&bob, &g.id).await;
    ok(
        &bob.delete(&format!("/guilds/{}/members/{dave_id}", g.id))
            .await,
        "kick",
    );
    join(&dave, &g.invite).await;
    ok(
        &bob.put(&format!("/guilds/{}/bans/{dave_id}", g.id), json!({}))
            .await,
        "ban",
    );
    ok(
        &bob.delete(&format!("/guilds/{}/bans/{dave_id}", g.id))
            .await,
        "unban",
    );
    ok(
        &bob.delete(&format!("/guilds/{}/roles/{role}", g.id)).await,
        "delete role",
    );
    ok(
        &bob.delete(&format!("/channels/{side}")).await,
        "delete channel",
    );

    // Everything above was published before its request returned.
    let mut seen: HashMap<Event, usize> = HashMap::new();
    while let Ok(ev) = bus.try_recv() {
        let BusEvent::Dispatch(d) = ev else { continue };
        if !matches!(d.audience, Audience::Guild { .. }) {
            continue;
        }
        match Payload::parse(d.event, d.data.clone()) {
            Ok(p) => {
                assert_eq!(p.event(), d.event);
                assert_eq!(
                    p.to_value(),
                    d.data,
                    "{} does not round-trip through its type",
                    d.event
                );
                *seen.entry(d.event).or_default() += 1;
            }
            Err(PayloadError::NotFederated(e)) => {
                panic!("{e} is published to a guild but typed as never federated")
            }
            Err(e) => panic!("{e}: {}", d.data),
        }
    }
    // Every federated kind was made (GUILD_DELETE_FEDERATED is the log's own: checked over
    // federation below).
    for e in Event::ALL {
        if *e == Event::GuildDeleteFederated {
            continue;
        }
        if !matches!(
            Payload::parse(*e, json!(null)),
            Err(PayloadError::NotFederated(_))
        ) {
            assert!(seen.contains_key(e), "no {e} was made: {seen:?}");
        }
    }
}

// ---- a replica receives every event kind ---------------------------------------------------

/// A gateway session that records every dispatch it receives.
struct Recorder {
    gw: Gw,
    /// Every dispatch received, in order: `(t, d)`.
    all: Vec<(String, Value)>,
    /// Received but not yet expected.
    backlog: Vec<(String, Value)>,
}

impl Recorder {
    async fn new(srv: &TestServer, token: &str) -> Recorder {
        Recorder {
            gw: Gw::identify(srv, token, INTENTS).await,
            all: vec![],
            backlog: vec![],
        }
    }

    /// The next dispatch `t` (others are kept for later).
    async fn expect(&mut self, t: &str) -> Value {
        if let Some(i) = self.backlog.iter().position(|(x, _)| x == t) {
            return self.backlog.remove(i).1;
        }
        loop {
            let v = self
                .gw
                .next()
                .await
                .unwrap_or_else(|c| panic!("closed ({c:?}) while waiting for {t}"));
            if v["op"] != 0 {
                continue;
            }
            let name = s(&v["t"]);
            self.all.push((name.clone(), v["d"].clone()));
            if name == t {
                return v["d"].clone();
            }
            self.backlog.push((name, v["d"].clone()));
        }
    }

    /// The next dispatch `t` whose `d` satisfies `f`.
    async fn expect_where(&mut self, t: &str, f: impl Fn(&Value) -> bool) -> Value {
        let mut skipped = vec![];
        let found = loop {
            let d = self.expect(t).await;
            if f(&d) {
                break d;
            }
            skipped.push((t.to_string(), d));
        };
        self.backlog.extend(skipped);
        found
    }
}

/// Every number of at least 16 digits written in `text` that reads as a snowflake minted
/// within the last day (so permission sets and timestamps are not taken for ids).
fn snowflakes(text: &str, since_ms: u64) -> BTreeSet<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|d| d.len() >= 16)
        .filter_map(|d| d.parse::<u64>().ok())
        .filter(|n| {
            let t = Snowflake(*n).timestamp_ms();
            t + 86_400_000 >= since_ms && t <= since_ms + 86_400_000
        })
        .collect()
}

/// The host's ids that appear in `text` and are not also ids of this server: the image of
/// some mapping, or a user row here (ids of two servers can coincide when both mint one in
/// the same millisecond).
async fn leaked(a: &TestServer, host_ids: &BTreeSet<u64>, text: &str, since: u64) -> Vec<u64> {
    let mut out = vec![];
    for id in snowflakes(text, since) {
        if !host_ids.contains(&id) {
            continue;
        }
        let image = a.hearth.db.map_reverse(B, id as i64).await.unwrap();
        let user = a.hearth.db.user(id as i64).await.unwrap();
        if image.is_none() && user.is_none() {
            out.push(id);
        }
    }
    out
}

/// The host's ids: every snowflake in the payloads of its guild log.
async fn host_ids(b: &TestServer, gid_b: &str, since: u64) -> BTreeSet<u64> {
    let rows = b
        .hearth
        .db
        .log_range(gid_b.parse().unwrap(), 0, 500)
        .await
        .unwrap();
    let mut out = BTreeSet::new();
    for r in rows {
        let ev: Value = serde_json::from_str(&r.event).unwrap();
        out.extend(snowflakes(&ev["content"].to_string(), since));
    }
    out
}

/// Everything the replica `gid_a` stores on `a`, as text: the guild, channels, overwrites,
/// roles, members and their roles, messages with their reactions and pins, bans.
async fn replica_rows(a: &TestServer, gid_a: &str) -> String {
    let db = &a.hearth.db;
    let gid: i64 = gid_a.parse().unwrap();
    let mut out = format!("{:?}\n", db.guild(gid).await.unwrap());
    let channels = db.channels(gid).await.unwrap();
    out += &format!("{channels:?}\n");
    out += &format!("{:?}\n", db.guild_overwrites(gid).await.unwrap());
    out += &format!("{:?}\n", db.roles(gid).await.unwrap());
    let members = db.members_page(gid, 0, 1000).await.unwrap();
    out += &format!("{members:?}\n");
    let ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
    out += &format!("{:?}\n", db.member_roles_of(gid, &ids).await.unwrap());
    for c in &channels {
        let msgs = db.messages(c.id, Page::Latest, 100).await.unwrap();
        out += &format!("{msgs:?}\n");
        let ids: Vec<i64> = msgs.iter().map(|m| m.row.id).collect();
        let counts = db.reaction_counts(&ids, 0).await.unwrap();
        out += &format!("{counts:?}\n");
        for r in &counts {
            let users = db
                .reaction_users(r.message_id, &r.emoji, 0, 100)
                .await
                .unwrap();
            out += &format!("{users:?}\n");
        }
        out += &format!("{:?}\n", db.pins(c.id, i64::MAX, 50).await.unwrap());
    }
    out += &format!("{:?}\n", db.bans(gid, 0, i64::MAX, 1000).await.unwrap());
    out
}

#[tokio::test]
async fn a_replica_receives_every_event_kind_and_keeps_no_host_id() {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let net = TestNetwork::start(&[A, B]).await;
    let (a, b) = (net.server(A), net.server(B));
    let (alice_a, alice_tok) = a.register("alice").await;
    let alice = a.client(&alice_tok);
    let (bob_b, bob) = b.user("bob").await;
    let (dave_b, dave_tok) = b.register("dave").await;
    let dave = b.client(&dave_tok);
    let g = create_guild(&bob, "Ids").await;
    let (gid_b, general_b) = (g.id.clone(), g.general.clone());

    let mut rec = Recorder::new(a, &alice_tok).await;
    let r = alice
        .post(&format!("/invites/{}@{B}", g.invite), json!({}))
        .await;
    ok(&r, "alice joins through a");
    let gc = rec.expect("GUILD_CREATE").await;
    let gid_a = s(&gc["id"]);
    assert_ne!(gid_a, gid_b);
    let general_a = s(&gc["channels"][0]["id"]);
    let bob_a = s(&gc["owner_id"]);
    assert_ne!(bob_a, bob_b);
    // B's id of alice (her remote user row there).
    let members = bob.get(&format!("/guilds/{gid_b}/members?limit=10")).await;
    let alice_b = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["handle"] == format!("alice@{A}"))
        .map(|m| s(&m["user"]["id"]))
        .unwrap();

    // Roles.
    let role_b = create_role(&bob, &gid_b, "mod", 1024).await;
    let d = rec.expect("GUILD_ROLE_CREATE").await;
    assert_eq!(d["guild_id"], gid_a.as_str());
    let role_a = s(&d["role"]["id"]);
    assert_ne!(role_a, role_b);
    ok(
        &bob.patch(
            &format!("/guilds/{gid_b}/roles/{role_b}"),
            json!({"name": "mods", "mentionable": true}),
        )
        .await,
        "update role",
    );
    let d = rec
        .expect_where("GUILD_ROLE_UPDATE", |d| d["role"]["name"] == "mods")
        .await;
    assert_eq!(d["role"]["id"], role_a.as_str());
    give_role(&bob, &gid_b, &alice_b, &role_b).await;
    let d = rec.expect("GUILD_MEMBER_UPDATE").await;
    assert_eq!(
        (d["user"]["id"].as_str(), d["guild_id"].as_str()),
        (Some(alice_a.as_str()), Some(gid_a.as_str()))
    );
    assert_eq!(d["roles"], json!([role_a]));

    // Channels.
    let side = bob
        .post(
            &format!("/guilds/{gid_b}/channels"),
            json!({"name": "side", "topic": "t"}),
        )
        .await;
    ok(&side, "create channel");
    let side_b = s(&side.body["id"]);
    let d = rec.expect("CHANNEL_CREATE").await;
    let side_a = s(&d["id"]);
    assert_ne!(side_a, side_b);
    assert_eq!(d["guild_id"], gid_a.as_str());
    ok(
        &bob.patch(&format!("/channels/{side_b}"), json!({"name": "side2"}))
            .await,
        "update channel",
    );
    let d = rec.expect("CHANNEL_UPDATE").await;
    assert_eq!(
        (d["id"].as_str(), d["name"].as_str()),
        (Some(side_a.as_str()), Some("side2"))
    );
    ok(
        &bob.put(
            &format!("/channels/{side_b}/permissions/{role_b}"),
            json!({"type": 0, "allow": "1024", "deny": "0"}),
        )
        .await,
        "overwrite",
    );
    let d = rec
        .expect_where("CHANNEL_UPDATE", |d| {
            d["permission_overwrites"]
                .as_array()
                .is_some_and(|o| o.len() == 1)
        })
        .await;
    assert_eq!(d["permission_overwrites"][0]["id"], role_a.as_str());

    // The guild.
    ok(
        &bob.patch(
            &format!("/guilds/{gid_b}"),
            json!({"name": "Ids 2", "system_channel_id": side_b}),
        )
        .await,
        "update guild",
    );
    let d = rec.expect("GUILD_UPDATE").await;
    assert_eq!(
        (
            d["id"].as_str(),
            d["system_channel_id"].as_str(),
            d["owner_id"].as_str()
        ),
        (
            Some(gid_a.as_str()),
            Some(side_a.as_str()),
            Some(bob_a.as_str())
        )
    );
    assert_eq!(d["roles"].as_array().map(Vec::len), Some(2));

    // Another member of the host, her presence and typing.
    join(&dave, &g.invite).await;
    let d = rec.expect("GUILD_MEMBER_ADD").await;
    assert_eq!(d["user"]["handle"], format!("dave@{B}"));
    let dave_a = s(&d["user"]["id"]);
    assert_ne!(dave_a, dave_b);
    let _dave_gw = Gw::identify(b, &dave_tok, INTENTS).await;
    let d = rec
        .expect_where("PRESENCE_UPDATE", |d| {
            d["user"]["handle"] == format!("dave@{B}")
        })
        .await;
    assert_eq!(
        (d["user"]["id"].as_str(), d["guild_id"].as_str()),
        (Some(dave_a.as_str()), Some(gid_a.as_str()))
    );
    ok(
        &dave
            .post(&format!("/channels/{general_b}/typing"), json!({}))
            .await,
        "typing",
    );
    let d = rec.expect("TYPING_START").await;
    assert_eq!(
        (
            d["channel_id"].as_str(),
            d["user_id"].as_str(),
            d["member"]["user"]["id"].as_str()
        ),
        (
            Some(general_a.as_str()),
            Some(dave_a.as_str()),
            Some(dave_a.as_str())
        )
    );

    // Messages: mentions of a user, a role and a channel; a relayed reply; an edit.
    let m1_b = say(
        &bob,
        &general_b,
        &format!("hi <@{alice_b}> <@&{role_b}> <#{side_b}>"),
    )
    .await;
    let d = rec.expect("MESSAGE_CREATE").await;
    let m1_a = s(&d["id"]);
    assert_ne!(m1_a, m1_b);
    assert_eq!(
        d["content"],
        format!("hi <@{alice_a}> <@&{role_a}> <#{side_a}>")
    );
    assert_eq!(
        (
            d["channel_id"].as_str(),
            d["author"]["id"].as_str(),
            d["mentions"][0]["id"].as_str()
        ),
        (
            Some(general_a.as_str()),
            Some(bob_a.as_str()),
            Some(alice_a.as_str())
        )
    );
    assert_eq!(d["mention_roles"], json!([role_a]));
    let reply = alice
        .post(
            &format!("/channels/{general_a}/messages"),
            json!({"content": format!("re <@{bob_a}>"), "message_reference": {"message_id": m1_a}}),
        )
        .await;
    ok(&reply, "relayed reply");
    assert_eq!(reply.body["channel_id"], general_a.as_str());
    let d = rec.expect("MESSAGE_CREATE").await;
    let reply_a = s(&d["id"]);
    assert_eq!(reply.body["id"], reply_a.as_str());
    assert_eq!(d["content"], format!("re <@{bob_a}>"));
    assert_eq!(d["message_reference"]["message_id"], m1_a.as_str());
    assert_eq!(d["referenced_message"]["id"], m1_a.as_str());
    ok(
        &bob.patch(
            &format!("/channels/{general_b}/messages/{m1_b}"),
            json!({"content": format!("edited <#{side_b}>")}),
        )
        .await,
        "edit",
    );
    let d = rec.expect("MESSAGE_UPDATE").await;
    assert_eq!(
        (d["id"].as_str(), d["content"].as_str()),
        (
            Some(m1_a.as_str()),
            Some(format!("edited <#{side_a}>").as_str())
        )
    );

    // Reactions.
    ok(
        &alice
            .put_empty(&format!(
                "/channels/{general_a}/messages/{m1_a}/reactions/{THUMBS}/@me"
            ))
            .await,
        "relayed reaction",
    );
    let d = rec.expect("MESSAGE_REACTION_ADD").await;
    assert_eq!(
        (
            d["user_id"].as_str(),
            d["message_id"].as_str(),
            d["message_author_id"].as_str(),
            d["member"]["user"]["id"].as_str()
        ),
        (
            Some(alice_a.as_str()),
            Some(m1_a.as_str()),
            Some(bob_a.as_str()),
            Some(alice_a.as_str())
        )
    );
    let on = |m: &str, e: &str| format!("/channels/{general_b}/messages/{m}/reactions/{e}");
    ok(
        &bob.put_empty(&format!("{}/@me", on(&m1_b, PARTY))).await,
        "react",
    );
    let d = rec.expect("MESSAGE_REACTION_ADD").await;
    assert_eq!(d["user_id"], bob_a.as_str());
    ok(
        &bob.delete(&format!("{}/@me", on(&m1_b, PARTY))).await,
        "unreact",
    );
    let d = rec.expect("MESSAGE_REACTION_REMOVE").await;
    assert_eq!(
        (d["user_id"].as_str(), d["message_id"].as_str()),
        (Some(bob_a.as_str()), Some(m1_a.as_str()))
    );
    let m2_b = say(&bob, &general_b, "two").await;
    let m2_a = s(&rec.expect("MESSAGE_CREATE").await["id"]);
    ok(
        &bob.put_empty(&format!("{}/@me", on(&m2_b, GRIN))).await,
        "react",
    );
    rec.expect("MESSAGE_REACTION_ADD").await;
    ok(&bob.delete(&on(&m2_b, GRIN)).await, "remove emoji");
    let d = rec.expect("MESSAGE_REACTION_REMOVE_EMOJI").await;
    assert_eq!(d["message_id"], m2_a.as_str());
    ok(
        &bob.put_empty(&format!("{}/@me", on(&m2_b, GRIN))).await,
        "react",
    );
    rec.expect("MESSAGE_REACTION_ADD").await;
    ok(
        &bob.delete(&format!("/channels/{general_b}/messages/{m2_b}/reactions"))
            .await,
        "remove all",
    );
    let d = rec.expect("MESSAGE_REACTION_REMOVE_ALL").await;
    assert_eq!(
        (d["message_id"].as_str(), d["channel_id"].as_str()),
        (Some(m2_a.as_str()), Some(general_a.as_str()))
    );

    // Pins, deletions.
    ok(
        &bob.put_empty(&format!("/channels/{general_b}/messages/pins/{m1_b}"))
            .await,
        "pin",
    );
    let d = rec.expect("CHANNEL_PINS_UPDATE").await;
    assert_eq!(d["channel_id"], general_a.as_str());
    let d = rec
        .expect_where("MESSAGE_UPDATE", |d| d["pinned"] == true)
        .await;
    assert_eq!(d["id"], m1_a.as_str());
    let m3_b = say(&bob, &general_b, "three").await;
    let m3_a = s(&rec.expect("MESSAGE_CREATE").await["id"]);
    ok(
        &bob.post(
            &format!("/channels/{general_b}/messages/bulk-delete"),
            json!({"messages": [m2_b, m3_b]}),
        )
        .await,
        "bulk delete",
    );
    let d = rec.expect("MESSAGE_DELETE_BULK").await;
    let mut ids: Vec<String> = d["ids"].as_array().unwrap().iter().map(s).collect();
    ids.sort();
    let mut want = vec![m2_a.clone(), m3_a.clone()];
    want.sort();
    assert_eq!(ids, want);
    let reply_b = bob
        .get(&format!("/channels/{general_b}/messages?limit=10"))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"].as_str().is_some_and(|c| c.starts_with("re ")))
        .map(|m| s(&m["id"]))
        .unwrap();
    ok(
        &bob.delete(&format!("/channels/{general_b}/messages/{reply_b}"))
            .await,
        "delete",
    );
    let d = rec.expect("MESSAGE_DELETE").await;
    assert_eq!(d["id"], reply_a.as_str());

    // Threads (spec/federation.md §6.5): a thread from a message has the message's id.
    let t = bob
        .post(
            &format!("/channels/{general_b}/messages/{m1_b}/threads"),
            json!({"name": "t1"}),
        )
        .await;
    ok(&t, "start thread");
    let d = rec.expect("THREAD_CREATE").await;
    let thread_a = s(&d["id"]);
    assert_eq!(thread_a, m1_a, "the thread has its starter's local id");
    assert_eq!(
        (
            d["parent_id"].as_str(),
            d["owner_id"].as_str(),
            d["guild_id"].as_str()
        ),
        (
            Some(general_a.as_str()),
            Some(bob_a.as_str()),
            Some(gid_a.as_str())
        )
    );
    let j = alice
        .put_empty(&format!("/channels/{thread_a}/thread-members/@me"))
        .await;
    assert_eq!(j.status, 204, "relayed join: {j:?}");
    let d = rec.expect("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(
        (
            d["id"].as_str(),
            d["added_members"][0]["user_id"].as_str(),
            d["added_members"][0]["member"]["user"]["id"].as_str()
        ),
        (
            Some(thread_a.as_str()),
            Some(alice_a.as_str()),
            Some(alice_a.as_str())
        )
    );
    assert_eq!(d["added_members"][0]["presence"], Value::Null);
    ok(
        &bob.patch(&format!("/channels/{m1_b}"), json!({"name": "t2"}))
            .await,
        "rename thread",
    );
    let d = rec
        .expect_where("THREAD_UPDATE", |d| d["name"] == "t2")
        .await;
    assert_eq!(d["id"], thread_a.as_str());
    let db = &a.hearth.db;
    let thread_rows = format!(
        "{:?}\n{:?}",
        db.active_threads(gid_a.parse().unwrap()).await.unwrap(),
        db.thread_members(thread_a.parse().unwrap(), 0, 100)
            .await
            .unwrap()
    );
    assert!(thread_rows.contains(&alice_a), "{thread_rows}");
    let host_now = host_ids(b, &gid_b, since).await;
    let left = leaked(a, &host_now, &thread_rows, since).await;
    assert!(
        left.is_empty(),
        "host ids {left:?} in the replica's threads:\n{thread_rows}"
    );
    ok(
        &bob.delete(&format!("/channels/{m1_b}")).await,
        "delete thread",
    );
    let d = rec.expect("THREAD_DELETE").await;
    assert_eq!(
        (d["id"].as_str(), d["parent_id"].as_str()),
        (Some(thread_a.as_str()), Some(general_a.as_str()))
    );

    // A poll and a relayed vote (spec/federation.md §6.5).
    let p = bob
        .post(
            &format!("/channels/{general_b}/messages"),
            json!({"poll": {"question": {"text": "q"}, "answers": [
                {"poll_media": {"text": "x"}}, {"poll_media": {"text": "y"}}]}}),
        )
        .await;
    ok(&p, "poll");
    let d = rec
        .expect_where("MESSAGE_CREATE", |d| d["poll"]["question"]["text"] == "q")
        .await;
    let poll_a = s(&d["id"]);
    let votes = format!("/channels/{general_a}/polls/{poll_a}/answers/@me");
    ok(
        &alice.put(&votes, json!({"answer_ids": ["2"]})).await,
        "relayed vote",
    );
    let d = rec.expect("MESSAGE_POLL_VOTE_ADD").await;
    assert_eq!(
        (
            d["user_id"].as_str(),
            d["message_id"].as_str(),
            d["channel_id"].as_str(),
            d["guild_id"].as_str()
        ),
        (
            Some(alice_a.as_str()),
            Some(poll_a.as_str()),
            Some(general_a.as_str()),
            Some(gid_a.as_str())
        )
    );
    ok(
        &alice.put(&votes, json!({"answer_ids": []})).await,
        "relayed unvote",
    );
    let d = rec.expect("MESSAGE_POLL_VOTE_REMOVE").await;
    assert_eq!(d["answer_id"], 2);

    // Scheduled events (spec/federation.md §6.5).
    let start =
        chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis() + 3_600_000)
            .unwrap()
            .to_rfc3339();
    let voice = bob
        .post(
            &format!("/guilds/{gid_b}/channels"),
            json!({"name": "voice", "type": 2}),
        )
        .await;
    ok(&voice, "voice channel");
    let voice_b = s(&voice.body["id"]);
    let voice_a = s(&rec
        .expect_where("CHANNEL_CREATE", |d| d["name"] == "voice")
        .await["id"]);
    let ev = bob
        .post(
            &format!("/guilds/{gid_b}/scheduled-events"),
            json!({"name": "meetup", "privacy_level": 2, "entity_type": 2,
                   "channel_id": voice_b, "scheduled_start_time": start}),
        )
        .await;
    ok(&ev, "create event");
    let ev_b = s(&ev.body["id"]);
    let d = rec.expect("GUILD_SCHEDULED_EVENT_CREATE").await;
    let ev_a = s(&d["id"]);
    assert_ne!(ev_a, ev_b);
    assert_eq!(
        (
            d["guild_id"].as_str(),
            d["channel_id"].as_str(),
            d["creator_id"].as_str()
        ),
        (
            Some(gid_a.as_str()),
            Some(voice_a.as_str()),
            Some(bob_a.as_str())
        )
    );
    let on_a = format!("/guilds/{gid_a}/scheduled-events/{ev_a}");
    ok(
        &alice.put(&format!("{on_a}/users/@me"), json!({})).await,
        "relayed interest",
    );
    let d = rec.expect("GUILD_SCHEDULED_EVENT_USER_ADD").await;
    assert_eq!(
        (
            d["guild_scheduled_event_id"].as_str(),
            d["user_id"].as_str(),
            d["guild_id"].as_str()
        ),
        (
            Some(ev_a.as_str()),
            Some(alice_a.as_str()),
            Some(gid_a.as_str())
        )
    );
    ok(
        &alice.delete(&format!("{on_a}/users/@me")).await,
        "relayed disinterest",
    );
    let d = rec.expect("GUILD_SCHEDULED_EVENT_USER_REMOVE").await;
    assert_eq!(d["user_id"], alice_a.as_str());
    let on_b = format!("/guilds/{gid_b}/scheduled-events/{ev_b}");
    ok(
        &bob.patch(&on_b, json!({"name": "meetup 2"})).await,
        "update event",
    );
    let d = rec.expect("GUILD_SCHEDULED_EVENT_UPDATE").await;
    assert_eq!(
        (d["id"].as_str(), d["name"].as_str()),
        (Some(ev_a.as_str()), Some("meetup 2"))
    );
    let ev_row = format!(
        "{:?}",
        a.hearth
            .db
            .scheduled_events(gid_a.parse().unwrap())
            .await
            .unwrap()
    );
    let host_now = host_ids(b, &gid_b, since).await;
    let left = leaked(a, &host_now, &ev_row, since).await;
    assert!(
        left.is_empty(),
        "host ids {left:?} in the replica's events:\n{ev_row}"
    );
    ok(&bob.delete(&on_b).await, "delete event");
    let d = rec.expect("GUILD_SCHEDULED_EVENT_DELETE").await;
    assert_eq!(d["id"], ev_a.as_str());

    // Invites are logged and delivered, not applied.
    let inv = bob
        .post(
            &format!("/channels/{side_b}/invites"),
            json!({"max_age": 60}),
        )
        .await;
    ok(&inv, "invite");
    ok(
        &bob.delete(&format!("/invites/{}", s(&inv.body["code"])))
            .await,
        "delete invite",
    );

    // Moderation of the other member.
    ok(
        &bob.delete(&format!("/guilds/{gid_b}/members/{dave_b}"))
            .await,
        "kick",
    );
    let d = rec.expect("GUILD_MEMBER_REMOVE").await;
    assert_eq!(d["user"]["id"], dave_a.as_str());
    join(&dave, &g.invite).await;
    rec.expect("GUILD_MEMBER_ADD").await;
    ok(
        &bob.put(&format!("/guilds/{gid_b}/bans/{dave_b}"), json!({}))
            .await,
        "ban",
    );
    let d = rec.expect("GUILD_BAN_ADD").await;
    assert_eq!(
        (d["user"]["id"].as_str(), d["guild_id"].as_str()),
        (Some(dave_a.as_str()), Some(gid_a.as_str()))
    );
    let d = rec.expect("GUILD_MEMBER_REMOVE").await;
    assert_eq!(d["user"]["id"], dave_a.as_str());

    // The replica's rows hold no host id (the ban included).
    let host = host_ids(b, &gid_b, since).await;
    for known in [&gid_b, &general_b, &role_b, &side_b, &m1_b, &bob_b, &dave_b] {
        assert!(
            host.contains(&known.parse().unwrap()),
            "{known} in the host log"
        );
    }
    let rows = replica_rows(a, &gid_a).await;
    assert!(rows.contains(&dave_a), "the ban is stored: {rows}");
    let left = leaked(a, &host, &rows, since).await;
    assert!(
        left.is_empty(),
        "host ids {left:?} in the replica's rows:\n{rows}"
    );

    ok(
        &bob.delete(&format!("/guilds/{gid_b}/bans/{dave_b}")).await,
        "unban",
    );
    let d = rec.expect("GUILD_BAN_REMOVE").await;
    assert_eq!(d["user"]["id"], dave_a.as_str());
    ok(
        &bob.delete(&format!("/guilds/{gid_b}/roles/{role_b}")).await,
        "delete role",
    );
    let d = rec.expect("GUILD_ROLE_DELETE").await;
    assert_eq!(
        (d["role_id"].as_str(), d["guild_id"].as_str()),
        (Some(role_a.as_str()), Some(gid_a.as_str()))
    );
    ok(
        &bob.delete(&format!("/channels/{side_b}")).await,
        "delete channel",
    );
    let d = rec.expect("CHANNEL_DELETE").await;
    assert_eq!(d["id"], side_a.as_str());
    let rows = replica_rows(a, &gid_a).await;
    let left = leaked(a, &host, &rows, since).await;
    assert!(
        left.is_empty(),
        "host ids {left:?} in the replica's rows:\n{rows}"
    );

    // The host deletes the guild: the replica goes, alice's session is told.
    ok(
        &bob.delete(&format!("/guilds/{gid_b}")).await,
        "delete guild",
    );
    let d = rec.expect("GUILD_DELETE").await;
    assert_eq!(d["id"], gid_a.as_str());
    // (The session is told first; the replica's rows go right after.)
    eventually("the replica is dropped", async || {
        a.hearth
            .db
            .guild(gid_a.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    })
    .await;

    // Every event kind of the host's log reached the replica in its type, and alice's
    // session never saw a host id.
    let host = host_ids(b, &gid_b, since).await;
    let rows = b
        .hearth
        .db
        .log_range(gid_b.parse().unwrap(), 0, 500)
        .await
        .unwrap();
    let mut kinds = HashSet::new();
    for r in rows {
        let ev: Value = serde_json::from_str(&r.event).unwrap();
        let c = &ev["content"];
        if c.is_null() {
            // A stub: the content of a deleted message (and, once the guild is deleted, of
            // every message) left the log; the action still names its kind.
            if let Some(Ok(t)) = ev["action"]["type"]
                .as_str()
                .map(|k| k.to_uppercase().parse::<Event>())
            {
                kinds.insert(t);
            }
            continue;
        }
        let result = if c.get("result").is_some() {
            &c["result"]
        } else {
            c
        };
        let t: Event = s(&result["t"]).parse().unwrap();
        let p =
            Payload::parse(t, result["d"].clone()).unwrap_or_else(|e| panic!("logged {t}: {e}"));
        assert_eq!(p.to_value(), result["d"], "logged {t} round-trips");
        kinds.insert(t);
    }
    for t in [
        Event::MessagePollVoteAdd,
        Event::MessagePollVoteRemove,
        Event::GuildScheduledEventCreate,
        Event::GuildScheduledEventUpdate,
        Event::GuildScheduledEventDelete,
        Event::GuildScheduledEventUserAdd,
        Event::GuildScheduledEventUserRemove,
        Event::ThreadCreate,
        Event::ThreadUpdate,
        Event::ThreadDelete,
        Event::ThreadMembersUpdate,
        Event::MessageCreate,
        Event::MessageUpdate,
        Event::MessageDelete,
        Event::MessageDeleteBulk,
        Event::MessageReactionAdd,
        Event::MessageReactionRemove,
        Event::MessageReactionRemoveAll,
        Event::MessageReactionRemoveEmoji,
        Event::ChannelPinsUpdate,
        Event::ChannelCreate,
        Event::ChannelUpdate,
        Event::ChannelDelete,
        Event::GuildRoleCreate,
        Event::GuildRoleUpdate,
        Event::GuildRoleDelete,
        Event::GuildUpdate,
        Event::GuildMemberAdd,
        Event::GuildMemberUpdate,
        Event::GuildMemberRemove,
        Event::GuildBanAdd,
        Event::GuildBanRemove,
        Event::GuildDeleteFederated,
        Event::InviteCreate,
        Event::InviteDelete,
    ] {
        assert!(kinds.contains(&t), "the host logged no {t}");
    }
    let mut received: BTreeSet<&str> = BTreeSet::new();
    for (t, d) in &rec.all {
        received.insert(t);
        let left = leaked(a, &host, &d.to_string(), since).await;
        assert!(left.is_empty(), "host ids {left:?} in alice's {t}: {d}");
    }
    for t in [
        "TYPING_START",
        "PRESENCE_UPDATE",
        "MESSAGE_REACTION_REMOVE_EMOJI",
        "GUILD_BAN_REMOVE",
    ] {
        assert!(received.contains(t), "alice received no {t}");
    }
}
