//! The sharded dispatcher (issue 21, `src/gateway/dispatch.rs`), over real WebSockets: with
//! several shards routing busy guilds at once, a session's sequence numbers stay gapless
//! and each guild's order is kept; a RESUME amid concurrent sends gets exactly the missed
//! dispatches; under a dispatcher backlog typing and presence are shed first and counted,
//! and every message, member and permission event still arrives.
//!
//! The backlog is made deterministic with [`hearth::gateway::Gateway::hold_dispatch`]: while
//! held, the shards take bus events but route none, so everything published meanwhile
//! waits behind the first one.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::gateway::{
    GUILD_MEMBERS, GUILD_MESSAGE_TYPING, GUILD_MESSAGES, GUILD_PRESENCES, GUILDS, Gw, World,
    world_with,
};
use crate::harness::{Client, TestServer, create_guild, eventually, join, s, say};
use hearth::service::presence::{Presence, PresenceSource};

/// Messages each sender posts in its guild.
const PER_GUILD: usize = 30;

/// A world with `shards` dispatcher shards and at least four guilds (alice owns them, bob
/// is in all of them) that hash to at least two different shards: `(guild, general)`.
async fn busy_world(shards: usize) -> (World, Vec<(String, String)>) {
    let w = world_with(|c| c.gateway.dispatch_shards = shards).await;
    assert_eq!(w.ts.gateway.dispatch_shards(), shards);
    let shard = |g: &str| w.ts.gateway.shard_of_guild(g.parse().expect("snowflake"));
    let mut guilds = vec![(w.guild.clone(), w.general.clone())];
    while guilds.len() < 4
        || guilds
            .iter()
            .map(|(g, _)| shard(g))
            .collect::<HashSet<_>>()
            .len()
            < 2
    {
        assert!(guilds.len() < 40, "every guild hashed to one shard");
        let g = create_guild(&w.alice, &format!("busy {}", guilds.len())).await;
        join(&w.bob, &g.invite).await;
        guilds.push((g.id, g.general));
    }
    (w, guilds)
}

/// Starts one sender per guild posting `m0` .. `m{PER_GUILD - 1}` in its general channel.
fn start_senders(alice: &Client, guilds: &[(String, String)]) -> Vec<tokio::task::JoinHandle<()>> {
    guilds
        .iter()
        .map(|(_, channel)| {
            let (c, channel) = (alice.clone(), channel.clone());
            tokio::spawn(async move {
                for j in 0..PER_GUILD {
                    say(&c, &channel, &format!("m{j}")).await;
                }
            })
        })
        .collect()
}

/// Each channel's messages were `m0..`, in order, each once, with `extra` (in this order)
/// somewhere among them, each once.
fn assert_channel_streams(got: &HashMap<String, Vec<String>>, channels: &[String], extra: &[&str]) {
    for c in channels {
        let all = got.get(c).cloned().unwrap_or_default();
        let numbered: Vec<&String> = all.iter().filter(|m| m.starts_with('m')).collect();
        let want: Vec<String> = (0..PER_GUILD).map(|j| format!("m{j}")).collect();
        assert_eq!(
            numbered,
            want.iter().collect::<Vec<_>>(),
            "channel {c}: every message once, in send order: {all:?}"
        );
        let others: Vec<&str> = all
            .iter()
            .filter(|m| !m.starts_with('m'))
            .map(|m| m.as_str())
            .collect();
        assert_eq!(others, extra, "channel {c}: {all:?}");
    }
}

/// Records a MESSAGE_CREATE dispatch's content under its channel.
fn record(got: &mut HashMap<String, Vec<String>>, v: &Value) {
    if v["op"] == 0 && v["t"] == "MESSAGE_CREATE" {
        got.entry(s(&v["d"]["channel_id"]))
            .or_default()
            .push(s(&v["d"]["content"]));
    }
}

fn total(got: &HashMap<String, Vec<String>>) -> usize {
    got.values().map(Vec::len).sum()
}

#[tokio::test]
async fn sharded_dispatch_keeps_each_guilds_order_and_gapless_seqs() {
    let (w, guilds) = busy_world(4).await;
    let channels: Vec<String> = guilds.iter().map(|(_, c)| c.clone()).collect();
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    for _ in &guilds {
        b.expect("GUILD_CREATE").await;
    }
    let before = w.ts.gateway.shard_routed();
    let senders = start_senders(&w.alice, &guilds);
    // Gw::next asserts that every dispatch's seq is the previous one + 1.
    let mut got = HashMap::new();
    while total(&got) < guilds.len() * PER_GUILD {
        let v = b.next().await.expect("bob stays connected");
        record(&mut got, &v);
    }
    for t in senders {
        t.await.expect("sender");
    }
    assert_channel_streams(&got, &channels, &[]);
    // Both cores' worth of shards routed the traffic.
    let after = w.ts.gateway.shard_routed();
    let busy = before.iter().zip(&after).filter(|(x, y)| *y > *x).count();
    assert!(
        busy >= 2,
        "only {busy} shard(s) routed: {before:?} -> {after:?}"
    );
}

#[tokio::test]
async fn a_resume_amid_concurrent_sends_across_shards_gets_exactly_the_missed_events() {
    let (w, guilds) = busy_world(4).await;
    let channels: Vec<String> = guilds.iter().map(|(_, c)| c.clone()).collect();
    // A live observer in every guild: once it has a dispatch, the same routing step has
    // logged it for bob's detached session (position, audience and log entry are taken
    // under one lock).
    let mut a = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_MESSAGES).await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    for _ in &guilds {
        a.expect("GUILD_CREATE").await;
        b.expect("GUILD_CREATE").await;
    }
    let senders = start_senders(&w.alice, &guilds);
    // Bob reads part of the stream, then his connection drops mid-stream.
    let mut got = HashMap::new();
    while total(&got) < 8 {
        let v = b.next().await.expect("bob stays connected");
        record(&mut got, &v);
    }
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b);
    eventually("bob's session detached", || async {
        let st = w.ts.gateway.session_stats();
        (st.detached == 1).then_some(())
    })
    .await;
    // Routed while he is away (so logged, whatever the senders are doing meanwhile).
    for c in &channels {
        say(&w.alice, c, "away").await;
    }
    for c in &channels {
        a.expect_where("MESSAGE_CREATE", |d| {
            d["channel_id"] == c.as_str() && d["content"] == "away"
        })
        .await;
    }
    // Published before the RESUME but routed after it: the shards are held meanwhile.
    let hold = w.ts.gateway.hold_dispatch();
    for c in &channels {
        say(&w.alice, c, "held").await;
    }
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.seq = seq;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": seq}}))
        .await;
    let mut replayed = HashMap::new();
    loop {
        let v = r.next().await.expect("replay");
        assert_ne!(v["op"], 9, "the RESUME was refused: {v}");
        if v["t"] == "RESUMED" {
            break;
        }
        record(&mut replayed, &v);
        record(&mut got, &v);
    }
    for c in &channels {
        let replay = replayed.get(c).cloned().unwrap_or_default();
        assert!(replay.iter().any(|m| m == "away"), "{c}: {replay:?}");
        assert!(!replay.iter().any(|m| m == "held"), "{c}: {replay:?}");
    }
    drop(hold);
    for t in senders {
        t.await.expect("sender");
    }
    // Live again: the rest, each exactly once (and seqs still gapless from the resumed one).
    while total(&got) < channels.len() * (PER_GUILD + 2) {
        let v = r.next().await.expect("bob stays connected");
        record(&mut got, &v);
    }
    assert_channel_streams(&got, &channels, &["away", "held"]);
    // Nothing more is queued for him: a final message comes next, with the next seq.
    say(&w.alice, &channels[0], "last").await;
    let v = r.expect("MESSAGE_CREATE").await;
    assert_eq!(v["content"], "last", "no duplicate before it");
}

#[tokio::test]
async fn a_slow_snapshot_load_of_one_guild_does_not_stall_the_other_shards() {
    let (w, guilds) = busy_world(2).await;
    let shard = |g: &str| w.ts.gateway.shard_of_guild(g.parse().expect("snowflake"));
    let slow = guilds[0].0.clone();
    let (_, other) = guilds
        .iter()
        .find(|(g, _)| shard(g) != shard(&slow))
        .expect("a guild on another shard");
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    for _ in &guilds {
        b.expect("GUILD_CREATE").await;
    }
    // READY loaded every snapshot. A new role drops the slow guild's snapshot, and its shard
    // starts loading it again: that load is held.
    let hold = w.ts.gateway.hold_snapshot_loads();
    let role = w
        .alice
        .post(&format!("/guilds/{slow}/roles"), json!({"name": "slow"}))
        .await;
    assert_eq!(role.status, 200, "{role:?}");
    eventually("the slow guild's reload is under way", || async {
        (w.ts.gateway.snapshot_loads_waiting() == 1).then_some(())
    })
    .await;
    // Meanwhile another shard routes its guild's message (it used to wait for the one cache
    // lock the slow load held).
    say(&w.alice, other, "meanwhile").await;
    let v = b
        .expect_without("MESSAGE_CREATE", "GUILD_ROLE_CREATE")
        .await;
    assert_eq!(v["content"], "meanwhile");
    assert_eq!(v["channel_id"], other.as_str());
    assert_eq!(w.ts.gateway.snapshot_loads_waiting(), 1, "still held");
    // Released, the slow guild's dispatch follows.
    drop(hold);
    let v = b.expect("GUILD_ROLE_CREATE").await;
    assert_eq!(v["guild_id"], slow.as_str());
    assert_eq!(v["role"]["name"], "slow");
}

/// Bob's presence set to `status` directly through the service layer (it is published to
/// his guilds as a lossy PRESENCE_UPDATE, as a gateway op 3 would).
async fn presence(ts: &TestServer, user: &str, status: &str) {
    ts.hearth
        .publish_presence(
            user.parse().expect("snowflake"),
            Presence {
                status: status.into(),
                activities: json!([]),
            },
            PresenceSource::Session,
        )
        .await;
}

#[tokio::test]
async fn a_dispatcher_backlog_sheds_typing_and_presence_first_and_nothing_else() {
    let w = world_with(|c| {
        c.gateway.dispatch_shards = 2;
        c.gateway.shed_backlog = 2;
    })
    .await;
    let (carol_id, carol_tok) = w.ts.register("carol").await;
    let carol = w.ts.client(&carol_tok);
    let all = GUILDS | GUILD_MEMBERS | GUILD_PRESENCES | GUILD_MESSAGES | GUILD_MESSAGE_TYPING;
    let mut a = Gw::identify(&w.ts, &w.alice_tok, all).await;
    a.expect("GUILD_CREATE").await;
    // Her own IDENTIFY presence is routed before the backlog is built.
    a.expect_where("PRESENCE_UPDATE", |d| {
        d["user"]["id"] == w.alice_id.as_str()
    })
    .await;
    let typing = format!("/channels/{}/typing", w.general);
    let start = w.ts.gateway.shed_stats();

    let hold = w.ts.gateway.hold_dispatch();
    for _ in 0..3 {
        assert_eq!(w.bob.post(&typing, json!({})).await.status, 204);
    }
    for status in ["online", "idle", "dnd"] {
        presence(&w.ts, &w.bob_id, status).await;
    }
    for j in 0..3 {
        say(&w.bob, &w.general, &format!("m{j}")).await;
    }
    join(&carol, &w.invite).await;
    let role = w
        .alice
        .post(
            &format!("/guilds/{}/roles", w.guild),
            json!({"name": "mods"}),
        )
        .await;
    assert_eq!(role.status, 200, "{role:?}");
    let role = s(&role.body["id"]);
    let r = w
        .alice
        .put(
            &format!("/guilds/{}/members/{}/roles/{role}", w.guild, w.bob_id),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = w
        .alice
        .put(
            &format!("/channels/{}/permissions/{role}", w.general),
            json!({"type": 0, "allow": "0", "deny": "2048"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = w
        .alice
        .delete(&format!("/guilds/{}/members/{carol_id}", w.guild))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let end = say(&w.alice, &w.general, "end").await;
    drop(hold);

    // Everything but typing and presence arrives, in the guild's order.
    let mut seen = vec![];
    loop {
        let v = a.next().await.expect("alice stays connected");
        if v["op"] != 0 {
            continue;
        }
        let t = s(&v["t"]);
        let d = &v["d"];
        let tag = match t.as_str() {
            "MESSAGE_CREATE" => format!("message {}", s(&d["content"])),
            "GUILD_MEMBER_ADD" | "GUILD_MEMBER_REMOVE" => format!("{t} {}", s(&d["user"]["id"])),
            "GUILD_MEMBER_UPDATE" => format!("{t} {} {}", s(&d["user"]["id"]), d["roles"]),
            "GUILD_ROLE_CREATE" => format!("{t} {}", s(&d["role"]["id"])),
            "CHANNEL_UPDATE" => format!("{t} {}", s(&d["id"])),
            _ => t.clone(),
        };
        seen.push(tag);
        if t == "MESSAGE_CREATE" && s(&d["id"]) == end {
            break;
        }
    }
    assert!(
        !seen
            .iter()
            .any(|t| t == "TYPING_START" || t == "PRESENCE_UPDATE"),
        "typing and presence are shed under the backlog: {seen:?}"
    );
    let want = [
        "message m0".to_string(),
        "message m1".into(),
        "message m2".into(),
        format!("GUILD_MEMBER_ADD {carol_id}"),
        format!("GUILD_ROLE_CREATE {role}"),
        format!("GUILD_MEMBER_UPDATE {} [\"{role}\"]", w.bob_id),
        format!("CHANNEL_UPDATE {}", w.general),
        format!("GUILD_MEMBER_REMOVE {carol_id}"),
        "message end".into(),
    ];
    let kept: Vec<&String> = seen.iter().filter(|t| want.contains(t)).collect();
    assert_eq!(
        kept,
        want.iter().collect::<Vec<_>>(),
        "all of them, in order: {seen:?}"
    );

    let shed = w.ts.gateway.shed_stats();
    assert_eq!(
        (
            shed.typing_dispatches - start.typing_dispatches,
            shed.presence_dispatches - start.presence_dispatches,
        ),
        (3, 3),
        "{shed:?}"
    );
    assert_eq!(
        (shed.typing_deliveries, shed.presence_deliveries),
        (start.typing_deliveries, start.presence_deliveries),
        "no session was behind: {shed:?}"
    );
    // The operator sees the same counts and the shards.
    w.ts.make_first_admin(&w.alice).await;
    let r = w.alice.get("/admin/gateway").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["shed"]["typing_dispatches"], shed.typing_dispatches);
    assert_eq!(
        r.body["shed"]["presence_dispatches"],
        shed.presence_dispatches
    );
    assert_eq!(r.body["dispatch"]["shards"], 2, "{r:?}");
    // A member without the role sees nothing.
    let r = w.bob.get("/admin/gateway").await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50013)),
        "{r:?}"
    );

    // Without a backlog, typing is routed again (alice's: bob's role may no longer send
    // there).
    assert_eq!(w.alice.post(&typing, json!({})).await.status, 204);
    let t = a.expect("TYPING_START").await;
    assert_eq!(t["user_id"], w.alice_id.as_str());
    assert_eq!(
        w.ts.gateway.shed_stats().typing_dispatches,
        shed.typing_dispatches
    );
}

#[tokio::test]
async fn a_permission_change_while_ready_is_built_neither_precedes_nor_repeats_guild_create() {
    let w = world_with(|_| {}).await;
    // A channel hidden from bob, and a second guild of his whose snapshot nobody loaded yet.
    let r = w
        .alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": "secret", "permission_overwrites": [{"id": w.bob_id, "type": 1, "allow": "0", "deny": "1024"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let secret = s(&r.body["id"]);
    let later = create_guild(&w.alice, "Later").await;
    join(&w.bob, &later.invite).await;
    // Carol, a member of the first guild only, makes the gateway load its snapshot.
    let (_, carol_tok) = w.ts.register("carol").await;
    join(&w.ts.client(&carol_tok), &w.invite).await;
    let mut carol = Gw::identify(&w.ts, &carol_tok, GUILDS).await;
    carol.expect("GUILD_CREATE").await;

    // Bob identifies while snapshot loads are held: his session joins both guilds'
    // audiences, and building READY waits for the second guild's snapshot.
    let hold = w.ts.gateway.hold_snapshot_loads();
    let mut bob = Gw::connect(&w.ts, "v=10&encoding=json").await;
    bob.send(json!({"op": 2, "d": {"token": w.bob_tok, "intents": GUILDS | GUILD_MESSAGES, "properties": {"os": "linux", "browser": "test", "device": "test"}}}))
        .await;
    eventually("READY's build waits for a snapshot", || async {
        (w.ts.gateway.snapshot_loads_waiting() == 1).then_some(())
    })
    .await;
    // A message is routed to the session meanwhile (the guild's snapshot is loaded).
    let routed = |gw: &hearth::gateway::Gateway| gw.shard_routed().iter().sum::<u64>();
    let before = routed(&w.ts.gateway);
    say(&w.alice, &w.general, "early").await;
    eventually("the early message is routed", || async {
        (routed(&w.ts.gateway) > before).then_some(())
    })
    .await;
    // Meanwhile alice lets bob see the secret channel: its routing reloads the first
    // guild's snapshot (held too), then finds bob's session without a GUILD_CREATE yet.
    let r = w
        .alice
        .put(
            &format!("/channels/{secret}/permissions/{}", w.bob_id),
            json!({"type": 1, "allow": "1024", "deny": "0"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    eventually("the permission change's reload waits too", || async {
        (w.ts.gateway.snapshot_loads_waiting() == 2).then_some(())
    })
    .await;
    drop(hold);

    // Everything bob receives up to a fence message sent after both GUILD_CREATEs.
    let mut seen: Vec<Value> = vec![];
    let mut creates = 0;
    while creates < 2 {
        let v = bob.next().await.expect("open");
        if v["op"] == 0 {
            if v["t"] == "GUILD_CREATE" {
                creates += 1;
            }
            seen.push(v);
        }
    }
    say(&w.alice, &w.general, "fence").await;
    loop {
        let v = bob.next().await.expect("open");
        if v["op"] == 0 {
            let fence = v["t"] == "MESSAGE_CREATE" && v["d"]["content"] == "fence";
            seen.push(v);
            if fence {
                break;
            }
        }
    }
    let names: Vec<&str> = seen.iter().map(|v| v["t"].as_str().unwrap_or("")).collect();
    let gc = seen
        .iter()
        .position(|v| v["t"] == "GUILD_CREATE" && v["d"]["id"] == w.guild.as_str())
        .unwrap_or_else(|| panic!("no GUILD_CREATE of the guild: {names:?}"));
    // READY first, though a message was routed to the session before it (and kept).
    assert_eq!(names.first(), Some(&"READY"), "{names:?}");
    assert!(
        seen.iter()
            .any(|v| v["t"] == "MESSAGE_CREATE" && v["d"]["content"] == "early"),
        "{names:?}"
    );
    // No channel announced before the guild's GUILD_CREATE.
    assert!(
        !names[..gc].contains(&"CHANNEL_CREATE"),
        "CHANNEL_CREATE before GUILD_CREATE: {names:?}"
    );
    // Each visible channel is announced once: listed by GUILD_CREATE or created after it.
    let mut announced: Vec<String> = seen[gc]["d"]["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| s(&c["id"]))
        .collect();
    announced.extend(
        seen[gc..]
            .iter()
            .filter(|v| v["t"] == "CHANNEL_CREATE")
            .map(|v| s(&v["d"]["id"])),
    );
    let unique: HashSet<&String> = announced.iter().collect();
    assert_eq!(
        unique.len(),
        announced.len(),
        "announced twice: {announced:?}"
    );
    assert!(announced.contains(&secret), "{announced:?}");
    assert!(announced.contains(&w.general), "{announced:?}");
}
