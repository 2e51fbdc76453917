//! Passive guilds (spec/gateway.md "Passive guilds"), over real WebSockets: a user session
//! that opted in (IDENTIFY `capabilities` bit 11) gets, in a guild above
//! `gateway.passive_guild_threshold` members that it has not subscribed to, only what
//! mentions it, its own member events and coalesced PASSIVE_UPDATE_V1s; op 37 / op 14
//! make the guild active; bots, sessions without the opt-in and small guilds get every
//! event; RESUME replays the same filtered view with consecutive seqs.

use serde_json::{Value, json};

use crate::gateway::{
    GUILD_MEMBERS, GUILD_MESSAGE_REACTIONS, GUILD_MESSAGE_TYPING, GUILD_MESSAGES, GUILDS, Gw,
};
use crate::gateway::{World, world_with};
use crate::harness::{Client, TestServer, eventually, s, say};

const PASSIVE: u64 = 1 << 11;
const INTENTS: u64 =
    GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS | GUILD_MESSAGE_TYPING;

/// Identifies with `capabilities`, consumes READY and one GUILD_CREATE per guild.
async fn identify(ts: &TestServer, token: &str, intents: u64, caps: u64, guilds: usize) -> Gw {
    let mut g = Gw::connect(ts, "v=10&encoding=json").await;
    g.send(
        json!({"op": 2, "d": {"token": token, "intents": intents, "capabilities": caps,
        "properties": {"os": "linux", "browser": "test", "device": "test"}}}),
    )
    .await;
    let ready = g.expect("READY").await;
    g.session_id = s(&ready["session_id"]);
    g.ready = ready;
    for _ in 0..guilds {
        g.expect("GUILD_CREATE").await;
    }
    // A permission change of the setup routed while the session started may announce a
    // channel again before its GUILD_CREATE (CHANNEL_CREATE): not what these tests look at.
    g.pending.clear();
    g
}

/// A world whose guild has three members (alice, bob, carol) over a threshold of 2, so it
/// is passive; `f` adjusts the configuration further.
async fn big_world(f: impl FnOnce(&mut hearth::Config)) -> (World, Client, String) {
    let w = world_with(|c| {
        c.gateway.passive_guild_threshold = 2;
        // Coalescing long enough that a test sees exactly when updates are sent.
        c.gateway.passive_update_ms = 600_000;
        f(c);
    })
    .await;
    let (carol_id, carol_tok) = w.ts.register("carol").await;
    let carol = w.ts.client(&carol_tok);
    crate::harness::join(&carol, &w.invite).await;
    (w, carol, carol_id)
}

/// The next dispatch `t`; fails if any other dispatch (but `allowed`) came before it.
async fn next_is(g: &mut Gw, t: &str, allowed: &[&str]) -> Value {
    let d = g.expect(t).await;
    let others: Vec<&Value> = g
        .pending
        .iter()
        .filter(|v| !allowed.contains(&v["t"].as_str().unwrap_or("")))
        .collect();
    assert!(
        others.is_empty(),
        "only {t} was expected before: {others:?}"
    );
    g.pending.clear();
    d
}

fn update_of(channels: &[(&str, &str)], guild: &str) -> Value {
    json!({
        "guild_id": guild,
        "channels": channels.iter().map(|(c, m)| json!({"id": c, "last_message_id": m})).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn a_passive_guild_sends_mentions_own_events_and_coalesced_updates_only() {
    let (w, carol, carol_id) = big_world(|_| {}).await;
    // A small guild (alice and bob) is never passive.
    let small = crate::harness::create_guild(&w.alice, "Small").await;
    crate::harness::join(&w.bob, &small.invite).await;
    let team = crate::harness::create_role(&w.alice, &w.guild, "team", 0).await;
    crate::harness::give_role(&w.alice, &w.guild, &w.bob_id, &team).await;

    let mut b = identify(&w.ts, &w.bob_tok, INTENTS, PASSIVE, 2).await;

    // An unmentioned message: no MESSAGE_CREATE, an update at once (the first one).
    let m1 = say(&w.alice, &w.general, "plain 1").await;
    let u = next_is(&mut b, "PASSIVE_UPDATE_V1", &[]).await;
    assert_eq!(u, update_of(&[(&w.general, &m1)], &w.guild));

    // Coalesced (within `passive_update_ms`): no update yet. Edits, reactions, typing and
    // other members' events are held back too.
    let m2 = say(&w.alice, &w.general, "plain 2").await;
    let m3 = say(&carol, &w.general, "plain 3").await;
    let edit = w
        .alice
        .patch(
            &format!("/channels/{}/messages/{m1}", w.general),
            json!({"content": "edited"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{edit:?}");
    let react = w
        .alice
        .put_empty(&format!(
            "/channels/{}/messages/{m1}/reactions/%F0%9F%91%8D/@me",
            w.general
        ))
        .await;
    assert_eq!(react.status, 204, "{react:?}");
    let typing = w
        .alice
        .post(&format!("/channels/{}/typing", w.general), json!({}))
        .await;
    assert_eq!(typing.status, 204, "{typing:?}");
    let nick = w
        .alice
        .patch(
            &format!("/guilds/{}/members/{carol_id}", w.guild),
            json!({"nick": "Caz"}),
        )
        .await;
    assert_eq!(nick.status, 200, "{nick:?}");

    // The small guild is not passive: every message.
    let sm = say(&w.alice, &small.general, "small talk").await;
    assert_eq!(s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]), sm);

    // Mentions come through: the user, a role it has, @everyone; and its own messages and
    // its own member events.
    let direct = say(&carol, &w.general, &format!("hi <@{}>", w.bob_id)).await;
    assert_eq!(
        s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]),
        direct
    );
    let role = say(&w.alice, &w.general, &format!("team <@&{team}>")).await;
    assert_eq!(s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]), role);
    let everyone = say(&w.alice, &w.general, "@everyone hello").await;
    assert_eq!(
        s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]),
        everyone
    );
    let own = say(&w.bob, &w.general, "my own").await;
    assert_eq!(s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]), own);
    let me = w
        .bob
        .patch(
            &format!("/guilds/{}/members/@me", w.guild),
            json!({"nick": "Bobby"}),
        )
        .await;
    assert_eq!(me.status, 200, "{me:?}");
    let upd = next_is(&mut b, "GUILD_MEMBER_UPDATE", &[]).await;
    assert_eq!(upd["user"]["id"], w.bob_id.as_str());
    // Structure events are not held back.
    let ch = w
        .alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": "news"}),
        )
        .await;
    assert_eq!(ch.status, 201, "{ch:?}");
    next_is(&mut b, "CHANNEL_CREATE", &[]).await;

    // Subscribing (op 37) flushes the pending update at once and makes the guild active.
    b.send(json!({"op": 37, "d": {"subscriptions": {w.guild.clone(): {"typing": true, "activities": true, "threads": true}}}}))
        .await;
    let u = next_is(&mut b, "PASSIVE_UPDATE_V1", &[]).await;
    assert_eq!(u, update_of(&[(&w.general, &m3)], &w.guild));
    assert!(m2 < m3);
    let live = say(&carol, &w.general, "now live").await;
    assert_eq!(s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]), live);
    let edit = carol
        .patch(
            &format!("/channels/{}/messages/{live}", w.general),
            json!({"content": "edited live"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{edit:?}");
    next_is(&mut b, "MESSAGE_UPDATE", &[]).await;
}

#[tokio::test]
async fn bots_sessions_without_the_opt_in_and_small_guilds_get_every_event() {
    // Four members with the bot over a threshold of 3.
    let (w, _carol, carol_id) = big_world(|c| c.gateway.passive_guild_threshold = 3).await;
    let bot = hearth_testkit::build::bot_application(&w.alice, "Bot", 0, Some(&w.guild))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The bot sends the capability anyway: bots always get full events.
    let mut bot_gw = identify(&w.ts, &bot.token, GUILDS | GUILD_MESSAGES, PASSIVE, 1).await;
    let mut plain = identify(&w.ts, &w.bob_tok, INTENTS, 0, 1).await;
    let mut opted = identify(&w.ts, &w.bob_tok, INTENTS, PASSIVE, 1).await;
    let m = say(&w.alice, &w.general, "to everyone").await;
    assert_eq!(s(&bot_gw.expect("MESSAGE_CREATE").await["id"]), m);
    assert_eq!(s(&plain.expect("MESSAGE_CREATE").await["id"]), m);
    next_is(&mut opted, "PASSIVE_UPDATE_V1", &[]).await;
    let t = w
        .alice
        .post(&format!("/channels/{}/typing", w.general), json!({}))
        .await;
    assert_eq!(t.status, 204, "{t:?}");
    plain.expect("TYPING_START").await;

    // At the threshold (carol is kicked: 3 members, threshold 3) nothing is passive.
    let gone = w
        .alice
        .delete(&format!("/guilds/{}/members/{carol_id}", w.guild))
        .await;
    assert_eq!(gone.status, 204, "{gone:?}");
    let m = say(&w.alice, &w.general, "small again").await;
    assert_eq!(
        s(&next_is(&mut opted, "MESSAGE_CREATE", &["GUILD_MEMBER_REMOVE"]).await["id"]),
        m
    );
}

#[tokio::test]
async fn subscriptions_beyond_the_cap_make_the_oldest_guild_passive_again() {
    let (w, carol, _) = big_world(|c| {
        c.gateway.passive_subscribed_guilds = 1;
        c.gateway.passive_update_ms = 0;
    })
    .await;
    let other = crate::harness::create_guild(&w.alice, "Other").await;
    crate::harness::join(&w.bob, &other.invite).await;
    crate::harness::join(&carol, &other.invite).await;
    let mut b = identify(&w.ts, &w.bob_tok, INTENTS, PASSIVE, 2).await;
    // Op 14 (LAZY_REQUEST) for the first guild.
    b.send(json!({"op": 14, "d": {"guild_id": w.guild, "typing": true, "channels": {}}}))
        .await;
    // The connection handles its frames in order: the ack means the subscription is in.
    b.heartbeat().await;
    let m = say(&w.alice, &w.general, "active").await;
    assert_eq!(s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]), m);
    let o = say(&w.alice, &other.general, "passive other").await;
    let u = next_is(&mut b, "PASSIVE_UPDATE_V1", &[]).await;
    assert_eq!(u, update_of(&[(&other.general, &o)], &other.id));
    // Subscribing to the other guild pushes the first out (cap 1).
    b.send(json!({"op": 37, "d": {"subscriptions": {other.id.clone(): {}}}}))
        .await;
    b.heartbeat().await;
    let o2 = say(&w.alice, &other.general, "other is active").await;
    assert_eq!(s(&next_is(&mut b, "MESSAGE_CREATE", &[]).await["id"]), o2);
    let m2 = say(&w.alice, &w.general, "first is passive").await;
    let u = next_is(&mut b, "PASSIVE_UPDATE_V1", &[]).await;
    assert_eq!(u, update_of(&[(&w.general, &m2)], &w.guild));
    // A malformed subscription closes with 4002; an unauthenticated one with 4003.
    b.send(json!({"op": 37, "d": {"nope": 1}})).await;
    assert_eq!(b.closed().await, Some(4002));
    let mut anon = Gw::connect(&w.ts, "v=10&encoding=json").await;
    anon.send(json!({"op": 37, "d": {"subscriptions": {}}}))
        .await;
    assert_eq!(anon.closed().await, Some(4003));
}

#[tokio::test]
async fn resume_replays_the_passive_view_with_consecutive_seqs() {
    let (w, carol, _) = big_world(|_| {}).await;
    let second = w
        .alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": "second"}),
        )
        .await;
    assert_eq!(second.status, 201, "{second:?}");
    let second = s(&second.body["id"]);
    let b = identify(&w.ts, &w.bob_tok, INTENTS, PASSIVE, 1).await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b);
    eventually("bob's session detached", || async {
        let st = w.ts.gateway.session_stats();
        (st.detached == 1 && st.connected == 0).then_some(())
    })
    .await;
    // A live session of the owner: once it has a dispatch, it was logged for bob too.
    let mut live = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_MESSAGES).await;
    live.expect("GUILD_CREATE").await;

    let p1 = say(&w.alice, &w.general, "plain 1").await;
    let p2 = say(&carol, &second, "plain 2").await;
    let edit = w
        .alice
        .patch(
            &format!("/channels/{}/messages/{p1}", w.general),
            json!({"content": "edited"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{edit:?}");
    let mention = say(&carol, &w.general, &format!("<@{}> look", w.bob_id)).await;
    let p3 = say(&w.alice, &w.general, "plain 3").await;
    live.expect_where("MESSAGE_CREATE", |d| d["id"] == p3.as_str())
        .await;

    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.seq = seq;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": seq}}))
        .await;
    let mut got = vec![];
    loop {
        let v = r.next().await.expect("replay");
        assert_ne!(v["op"], 9, "the RESUME was refused: {v}");
        if v["op"] != 0 {
            continue;
        }
        if v["t"] == "RESUMED" {
            break;
        }
        got.push(v);
    }
    let kinds: Vec<&str> = got.iter().map(|v| v["t"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["MESSAGE_CREATE", "PASSIVE_UPDATE_V1"], "{got:?}");
    assert_eq!(got[0]["d"]["id"], mention.as_str());
    let mut want = vec![
        (w.general.as_str(), p3.as_str()),
        (second.as_str(), p2.as_str()),
    ];
    want.sort_by_key(|(c, _)| c.parse::<u64>().unwrap());
    assert_eq!(got[1]["d"], update_of(&want, &w.guild));
    let seqs: Vec<u64> = got.iter().map(|v| v["s"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        [seq + 1, seq + 2],
        "consecutive seqs after the resumed one"
    );
    // The mode survives the RESUME: still passive, and a subscription makes it active.
    r.send(json!({"op": 37, "d": {"subscriptions": {w.guild.clone(): {}}}}))
        .await;
    r.heartbeat().await;
    let m = say(&carol, &w.general, "after").await;
    assert_eq!(s(&r.expect("MESSAGE_CREATE").await["id"]), m);
}

/// A passive guild's update still held back (coalescing) when the server restarts
/// gracefully is not lost: it reaches the client before the RECONNECT or in the replay of
/// its RESUME on the restarted server, once, with gapless seqs (issue 21).
#[tokio::test]
async fn a_held_back_update_survives_a_graceful_restart() {
    use crate::resume::{resume, until_resumed};
    let (mut w, carol, _) = big_world(|_| {}).await;
    let mut live = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_MESSAGES).await;
    live.expect("GUILD_CREATE").await;
    let mut b = identify(&w.ts, &w.bob_tok, INTENTS, PASSIVE, 1).await;
    // The first update goes at once; the next is held back (600 s of coalescing).
    let p1 = say(&w.alice, &w.general, "plain 1").await;
    let u = next_is(&mut b, "PASSIVE_UPDATE_V1", &["MESSAGE_CREATE"]).await;
    assert_eq!(u, update_of(&[(&w.general, &p1)], &w.guild));
    let p2 = say(&carol, &w.general, "plain 2").await;
    // Routed to bob's session once alice's saw it.
    live.expect_where("MESSAGE_CREATE", |d| d["id"] == p2.as_str())
        .await;
    let seq = b.seq;
    let restart = async {
        w.ts.restart().await;
    };
    // What bob's connection gets until the RECONNECT (op 7).
    let before = async {
        let mut got: Vec<Value> = std::mem::take(&mut b.pending);
        loop {
            match b.next().await {
                Ok(v) if v["op"] == 7 => return got,
                Ok(v) if v["op"] == 0 => got.push(v),
                Ok(_) => {}
                Err(c) => panic!("closed ({c:?}) before op 7 RECONNECT"),
            }
        }
    };
    let ((), mut got) = tokio::join!(restart, before);
    let (session, acked) = (b.session_id.clone(), b.seq);
    drop(b);
    let mut r = resume(&w.ts, &w.bob_tok, &session, acked).await;
    got.extend(until_resumed(&mut r).await);
    let kinds: Vec<&str> = got.iter().map(|v| v["t"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, ["PASSIVE_UPDATE_V1"], "{got:?}");
    assert_eq!(got[0]["d"], update_of(&[(&w.general, &p2)], &w.guild));
    assert_eq!(got[0]["s"].as_u64(), Some(seq + 1), "{got:?}");
}
