//! RESUME against the shared replay log (issue 21), over real WebSockets: a close frame
//! 1000/1001 ends the session; a dropped connection leaves a detached session that holds no
//! copies of later dispatches and resumes with every missed one, in order, with consecutive
//! sequence numbers, filtered through the permissions it has at RESUME; a RESUME beyond the
//! log's window gets INVALID_SESSION.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw, world, world_with};
use crate::harness::{Client, TestServer, eventually, s, say};
use hearth::gateway::SessionStats;

fn stats(ts: &TestServer) -> SessionStats {
    ts.gateway.session_stats()
}

/// Waits until the server has detached `n` sessions and none is connected.
async fn detached(ts: &TestServer, n: usize) -> SessionStats {
    eventually(&format!("{n} detached sessions"), || async {
        let st = stats(ts);
        (st.detached == n && st.connected == 0).then_some(st)
    })
    .await
}

/// Sends RESUME for `session` from `seq` on a new connection.
pub(crate) async fn resume(ts: &TestServer, token: &str, session: &str, seq: u64) -> Gw {
    let mut r = Gw::connect(ts, "v=10&encoding=json").await;
    r.seq = seq;
    r.send(json!({"op": 6, "d": {"token": token, "session_id": session, "seq": seq}}))
        .await;
    r
}

/// The dispatches before RESUMED, in order (the client checks that seqs are gapless).
pub(crate) async fn until_resumed(r: &mut Gw) -> Vec<Value> {
    let mut out = vec![];
    loop {
        let v = r.next().await.expect("replay");
        assert_ne!(v["op"], 9, "the RESUME was refused: {v}");
        if v["op"] != 0 {
            continue;
        }
        if v["t"] == "RESUMED" {
            return out;
        }
        out.push(v);
    }
}

pub(crate) async fn assert_invalid_session(r: &mut Gw) {
    let v = r.next().await.expect("INVALID_SESSION");
    assert_eq!(
        (v["op"].as_u64(), v["d"].as_bool()),
        (Some(9), Some(false)),
        "{v}"
    );
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|v| v["t"] == t).collect()
}

#[tokio::test]
async fn close_1000_or_1001_ends_the_session_and_other_codes_detach_it() {
    let r = world().await;
    for code in [1000u16, 1001] {
        let mut b = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
        b.expect("GUILD_CREATE").await;
        let (session, seq) = (b.session_id.clone(), b.seq);
        b.close_with(code).await;
        eventually(&format!("close {code} ends the session"), || async {
            stats(&r.ts) == SessionStats::default()
        })
        .await;
        let mut x = resume(&r.ts, &r.bob_tok, &session, seq).await;
        assert_invalid_session(&mut x).await;
    }
    // Another code (here 4000) is a drop: the session stays resumable.
    let mut b = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    b.close_with(4000).await;
    detached(&r.ts, 1).await;
    let id = say(&r.alice, &r.general, "while away").await;
    let mut x = resume(&r.ts, &r.bob_tok, &session, seq).await;
    let got = until_resumed(&mut x).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["d"]["id"], id.as_str());
}

#[tokio::test]
async fn a_dropped_connection_resumes_with_every_missed_message_in_order() {
    let r = world().await;
    let mut b = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    say(&r.alice, &r.general, "before").await;
    b.expect("MESSAGE_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b); // no close frame: the connection just drops
    let at_drop = detached(&r.ts, 1).await;
    assert_eq!(
        at_drop.audience, 0,
        "a detached session leaves the audience"
    );
    let mut sent = vec![];
    for i in 0..30 {
        sent.push(say(&r.alice, &r.general, &format!("missed {i}")).await);
    }
    let away = stats(&r.ts);
    assert_eq!(
        away.buffered_detached, at_drop.buffered_detached,
        "a detached session receives no copies"
    );
    assert_eq!(
        away.log.entries,
        at_drop.log.entries + 30,
        "logged once each"
    );

    let mut x = resume(&r.ts, &r.bob_tok, &session, seq).await;
    let got = until_resumed(&mut x).await;
    let ids: Vec<String> = of_type(&got, "MESSAGE_CREATE")
        .iter()
        .map(|v| s(&v["d"]["id"]))
        .collect();
    assert_eq!(ids, sent, "every missed message, in order");
    let seqs: Vec<u64> = got.iter().map(|v| v["s"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (seq + 1..=seq + got.len() as u64).collect();
    assert_eq!(
        seqs, expected,
        "consecutive sequence numbers after the resumed seq"
    );
    let back = stats(&r.ts);
    assert_eq!((back.connected, back.detached, back.audience), (1, 0, 1));
    // Live again, with the next seq.
    let id = say(&r.alice, &r.general, "live").await;
    assert_eq!(s(&x.expect("MESSAGE_CREATE").await["id"]), id);
}

#[tokio::test]
async fn a_channel_hidden_meanwhile_is_not_replayed() {
    let r = world().await;
    let secret = r
        .alice
        .post(
            &format!("/guilds/{}/channels", r.guild),
            json!({"name": "secret"}),
        )
        .await;
    assert_eq!(secret.status, 201, "{secret:?}");
    let secret = s(&secret.body["id"]);
    let mut b = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b);
    detached(&r.ts, 1).await;
    // A live session of the owner: once it has a dispatch, the gateway has logged it for
    // bob's detached session too (one task routes and logs each dispatch in bus order).
    let mut live = Gw::identify(&r.ts, &r.alice_tok, GUILDS | GUILD_MESSAGES).await;
    live.expect("GUILD_CREATE").await;

    let a = say(&r.alice, &r.general, "a").await;
    say(&r.alice, &secret, "hidden 1").await;
    let hide = r
        .alice
        .put(
            &format!("/channels/{secret}/permissions/{}", r.bob_id),
            json!({"type": 1, "allow": "0", "deny": "1024"}),
        )
        .await;
    assert_eq!(hide.status, 204, "{hide:?}");
    say(&r.alice, &secret, "hidden 2").await;
    let b_id = say(&r.alice, &r.general, "b").await;
    // Resume only after the gateway routed "b" (else it would come live, after RESUMED).
    loop {
        let v = live.expect("MESSAGE_CREATE").await;
        if s(&v["id"]) == b_id {
            break;
        }
    }

    let mut x = resume(&r.ts, &r.bob_tok, &session, seq).await;
    let got = until_resumed(&mut x).await;
    let ids: Vec<String> = of_type(&got, "MESSAGE_CREATE")
        .iter()
        .map(|v| s(&v["d"]["id"]))
        .collect();
    assert_eq!(ids, vec![a, b_id], "only the messages bob may see now");
    let deleted = of_type(&got, "CHANNEL_DELETE");
    assert_eq!(deleted.len(), 1, "{got:?}");
    assert_eq!(deleted[0]["d"]["id"], secret.as_str());
    assert!(
        !got.iter().any(|v| v["t"] != "CHANNEL_DELETE"
            && (v["d"]["channel_id"] == secret.as_str() || v["d"]["id"] == secret.as_str())),
        "nothing else of the hidden channel: {got:?}"
    );
    // Bob's own view through REST agrees.
    assert_eq!(
        r.bob
            .get(&format!("/channels/{secret}/messages"))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn guilds_joined_and_left_meanwhile_are_reconciled() {
    let r = world().await;
    let other = crate::harness::create_guild(&r.alice, "Other").await;
    let mut b = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b);
    detached(&r.ts, 1).await;
    say(&r.alice, &other.general, "before bob joined").await;
    crate::harness::join(&r.bob, &other.invite).await;
    let hi = say(&r.alice, &other.general, "hi bob").await;
    let left = r
        .bob
        .delete(&format!("/users/@me/guilds/{}", r.guild))
        .await;
    assert_eq!(left.status, 204, "{left:?}");
    say(&r.alice, &r.general, "after bob left").await;

    let mut x = resume(&r.ts, &r.bob_tok, &session, seq).await;
    let got = until_resumed(&mut x).await;
    let t: Vec<&str> = got.iter().map(|v| v["t"].as_str().unwrap()).collect();
    let gd = of_type(&got, "GUILD_DELETE");
    assert_eq!(gd.len(), 1, "{t:?}");
    assert_eq!(gd[0]["d"]["id"], r.guild.as_str());
    let gc = of_type(&got, "GUILD_CREATE");
    assert_eq!(gc.len(), 1, "{t:?}");
    assert_eq!(gc[0]["d"]["id"], other.id.as_str());
    let msgs = of_type(&got, "MESSAGE_CREATE");
    assert_eq!(
        msgs.len(),
        1,
        "only what was sent in bob's guilds while a member: {t:?}"
    );
    assert_eq!(msgs[0]["d"]["id"], hi.as_str());
    let pos = |name: &str| t.iter().position(|x| *x == name).unwrap();
    assert!(pos("GUILD_CREATE") < pos("MESSAGE_CREATE"), "{t:?}");
}

#[tokio::test]
async fn a_resume_beyond_the_log_window_is_refused() {
    let r = world_with(|c| c.gateway.replay_log_bytes = 4096).await;
    let mut b = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b);
    detached(&r.ts, 1).await;
    for i in 0..20 {
        say(&r.alice, &r.general, &format!("{i} {}", "x".repeat(400))).await;
    }
    assert!(stats(&r.ts).log.bytes <= 4096);
    let mut x = resume(&r.ts, &r.bob_tok, &session, seq).await;
    assert_invalid_session(&mut x).await;
    // The session is gone for good.
    assert_eq!(stats(&r.ts).detached, 0);
}

#[tokio::test]
async fn many_dropped_sessions_hold_no_copies_and_leave_the_audience() {
    const N: usize = 2_000;
    let r = world().await;
    // IDENTIFY is limited to 1,000 a day per user: spread the sessions over four users.
    let users = hearth_testkit::build::register_many(&r.ts.anon(), "away", 4, Some(&r.invite))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tokens: Vec<String> = users.iter().map(|u| u.token.clone()).collect();
    let resumable: Vec<(String, String, u64)> = futures_util::stream::iter(0..N)
        .map(|i| {
            let (ts, tok) = (&r.ts, tokens[i % 4].clone());
            async move {
                let mut g = Gw::identify(ts, &tok, GUILDS | GUILD_MESSAGES).await;
                g.expect("GUILD_CREATE").await;
                (tok, g.session_id.clone(), g.seq)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let at_drop = detached(&r.ts, N).await;
    assert_eq!(at_drop.audience, 0);

    let mut live = Gw::identify(&r.ts, &r.alice_tok, GUILDS | GUILD_MESSAGES).await;
    live.expect("GUILD_CREATE").await;
    let before = stats(&r.ts);
    let mut sent = vec![];
    for i in 0..50 {
        sent.push(say(&r.alice, &r.general, &format!("m{i}")).await);
        assert_eq!(s(&live.expect("MESSAGE_CREATE").await["id"]), sent[i]);
    }
    let after = stats(&r.ts);
    assert_eq!(after.detached, N);
    assert_eq!(after.audience, 1, "only the live session is routed to");
    assert_eq!(
        after.buffered_detached, before.buffered_detached,
        "{N} detached sessions hold no copies"
    );
    assert_eq!(
        after.log.entries,
        before.log.entries + 50,
        "each dispatch is logged once, not once per detached session"
    );
    // Any of them can still resume with all 50.
    let (tok, session, seq) = &resumable[N / 2];
    let mut x = resume(&r.ts, tok, session, *seq).await;
    let got = until_resumed(&mut x).await;
    let ids: Vec<String> = of_type(&got, "MESSAGE_CREATE")
        .iter()
        .map(|v| s(&v["d"]["id"]))
        .collect();
    assert_eq!(ids, sent);
}

/// `GET /gateway/bot`'s `session_start_limit` for `c` (Discord "Get Gateway Bot").
async fn start_limit(c: &Client) -> Value {
    let r = c.get("/gateway/bot").await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["session_start_limit"].clone()
}

/// Sends IDENTIFY on a new connection (READY not awaited).
async fn send_identify(ts: &TestServer, token: &str) -> Gw {
    let mut g = Gw::connect(ts, "v=10&encoding=json").await;
    g.send(json!({"op": 2, "d": {"token": token, "intents": GUILDS, "properties": {"os": "linux", "browser": "test", "device": "test"}}})).await;
    g
}

#[tokio::test]
async fn session_starts_are_counted_reported_and_refused_beyond_the_limit_but_resume_is_not_a_start()
 {
    let r = world_with(|c| c.gateway.session_start_limit = 2).await;
    let fresh = start_limit(&r.bob).await;
    assert_eq!(
        fresh,
        json!({"total": 2, "remaining": 2, "reset_after": 86_400_000u64, "max_concurrency": 16})
    );
    let b1 = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    let one = start_limit(&r.bob).await;
    assert_eq!(one["remaining"], 1, "{one}");
    let reset = one["reset_after"].as_u64().expect("reset_after in ms");
    assert!(reset > 0 && reset <= 86_400_000, "{one}");
    let _b2 = Gw::identify(&r.ts, &r.bob_tok, GUILDS).await;
    assert_eq!(start_limit(&r.bob).await["remaining"], 0);
    // A third session start in the window is refused with 4008; another user is not affected.
    let mut third = send_identify(&r.ts, &r.bob_tok).await;
    assert_eq!(third.closed().await, Some(4008));
    assert_eq!(start_limit(&r.alice).await["remaining"], 2);
    // RESUME is not a session start: a dropped session comes back although none is left.
    let (session, seq) = (b1.session_id.clone(), b1.seq);
    drop(b1);
    eventually("one detached session", || async {
        (stats(&r.ts).detached == 1).then_some(())
    })
    .await;
    let id = say(&r.alice, &r.general, "while away").await;
    let mut back = resume(&r.ts, &r.bob_tok, &session, seq).await;
    let got = until_resumed(&mut back).await;
    assert_eq!(of_type(&got, "MESSAGE_CREATE")[0]["d"]["id"], id.as_str());
    assert_eq!(start_limit(&r.bob).await["remaining"], 0);
}

#[tokio::test]
async fn a_bot_identify_beyond_max_concurrency_waits_and_is_closed_with_4008_when_not_admitted_in_time()
 {
    let r = world_with(|c| {
        c.gateway.max_concurrency = 1;
        c.gateway.admission_wait_ms = 300;
    })
    .await;
    let bot = hearth_testkit::build::bot_application(&r.alice, "Sharded", 0, Some(&r.guild))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(start_limit(&bot.client).await["max_concurrency"], 1);
    let _first = Gw::identify(&r.ts, &bot.token, GUILDS).await;
    // One IDENTIFY per 5 s: the bot's second cannot be admitted within 300 ms.
    let mut second = send_identify(&r.ts, &bot.token).await;
    assert_eq!(second.closed().await, Some(4008));
    assert_eq!(
        start_limit(&bot.client).await["remaining"],
        999,
        "a refused IDENTIFY takes no session start"
    );
    // max_concurrency is a rule of bot sharding: a user opens two sessions at once.
    let _a1 = Gw::identify(&r.ts, &r.alice_tok, GUILDS).await;
    let mut a2 = Gw::identify(&r.ts, &r.alice_tok, GUILDS).await;
    a2.expect("GUILD_CREATE").await;
}

#[tokio::test]
async fn the_server_wide_admission_rate_refuses_a_burst_beyond_it() {
    // One admission per second, no waiting: of simultaneous IDENTIFYs by different users,
    // the first is admitted and the others are closed with 4008 (a later second admits one
    // more, so with 4 at once at least 2 are refused unless they spread over 2 s).
    let ts = TestServer::start_with(|c| {
        c.gateway.admission_per_second = 1;
        c.gateway.admission_wait_ms = 0;
    })
    .await;
    let mut toks = vec![];
    for u in ["u1", "u2", "u3", "u4"] {
        toks.push(ts.register(u).await.1);
    }
    let mut conns = vec![];
    for t in &toks {
        conns.push(send_identify(&ts, t).await);
    }
    let outcomes = futures_util::future::join_all(conns.iter_mut().map(|g| async move {
        match g.next().await {
            Ok(v) if v["t"] == "READY" => Ok(()),
            Ok(v) => panic!("unexpected payload before READY: {v}"),
            Err(e) => Err(format!("{e:?}")),
        }
    }))
    .await;
    let admitted = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused: Vec<_> = outcomes.iter().filter_map(|o| o.clone().err()).collect();
    assert!(admitted >= 1, "{outcomes:?}");
    assert!(refused.len() >= 2, "{outcomes:?}");
    assert!(refused.iter().all(|e| e == "Code(4008)"), "{outcomes:?}");
}

/// Reads until the server's op 7 RECONNECT (graceful shutdown); the dispatches before it are
/// consumed, advancing `g.seq`.
async fn until_reconnect(g: &mut Gw) {
    loop {
        match g.next().await {
            Ok(v) if v["op"] == 7 => return,
            Ok(_) => {}
            Err(c) => panic!("closed ({c:?}) before op 7 RECONNECT"),
        }
    }
}

#[tokio::test]
async fn sessions_resume_after_a_graceful_restart_with_what_they_missed() {
    let mut r = world().await;
    let secret = r
        .alice
        .post(
            &format!("/guilds/{}/channels", r.guild),
            json!({"name": "secret"}),
        )
        .await;
    assert_eq!(secret.status, 201, "{secret:?}");
    let secret = s(&secret.body["id"]);
    // Two sessions of bob: one whose connection dropped before the restart, one connected
    // when it happens.
    let mut b1 = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b1.expect("GUILD_CREATE").await;
    let mut b2 = Gw::identify(&r.ts, &r.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b2.expect("GUILD_CREATE").await;
    let (s1, q1) = (b1.session_id.clone(), b1.seq);
    drop(b1);
    eventually("one detached session", || async {
        (stats(&r.ts).detached == 1).then_some(())
    })
    .await;
    let while_detached = say(&r.alice, &r.general, "while detached").await;
    let hidden_later = say(&r.alice, &secret, "in secret").await;
    for id in [&while_detached, &hidden_later] {
        assert_eq!(&s(&b2.expect("MESSAGE_CREATE").await["id"]), id);
    }
    // Graceful restart: the connected session is told to RECONNECT.
    let restart = async {
        r.ts.restart().await;
    };
    let ((), ()) = tokio::join!(restart, until_reconnect(&mut b2));
    let (s2, q2) = (b2.session_id.clone(), b2.seq);
    drop(b2);
    let back = stats(&r.ts);
    assert_eq!(
        (back.connected, back.detached),
        (0, 2),
        "both sessions are resumable after the restart: {back:?}"
    );
    // Meanwhile: a message, and bob loses sight of the secret channel.
    let alice = r.ts.client(&r.alice_tok);
    let after = say(&alice, &r.general, "after the restart").await;
    let hide = alice
        .put(
            &format!("/channels/{secret}/permissions/{}", r.bob_id),
            json!({"type": 1, "allow": "0", "deny": "1024"}),
        )
        .await;
    assert_eq!(hide.status, 204, "{hide:?}");
    // Resume only after the gateway routed everything (a live session of alice saw it).
    let mut live = Gw::identify(&r.ts, &r.alice_tok, GUILDS | GUILD_MESSAGES).await;
    live.expect("GUILD_CREATE").await;
    let barrier = say(&alice, &r.general, "barrier").await;
    live.expect_where("MESSAGE_CREATE", |d| s(&d["id"]) == barrier)
        .await;

    // The session dropped before the restart: everything since its drop that it may still
    // see, in order, with consecutive seqs; the hidden channel's message is not replayed.
    let mut x1 = resume(&r.ts, &r.bob_tok, &s1, q1).await;
    let got = until_resumed(&mut x1).await;
    let ids: Vec<String> = of_type(&got, "MESSAGE_CREATE")
        .iter()
        .map(|v| s(&v["d"]["id"]))
        .collect();
    assert_eq!(ids, vec![while_detached, after.clone(), barrier.clone()]);
    let seqs: Vec<u64> = got.iter().map(|v| v["s"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (q1 + 1..=q1 + got.len() as u64).collect::<Vec<_>>());
    assert_eq!(of_type(&got, "CHANNEL_DELETE").len(), 1, "{got:?}");
    // The session connected at the restart: what followed its RECONNECT.
    let mut x2 = resume(&r.ts, &r.bob_tok, &s2, q2).await;
    let got = until_resumed(&mut x2).await;
    let ids: Vec<String> = of_type(&got, "MESSAGE_CREATE")
        .iter()
        .map(|v| s(&v["d"]["id"]))
        .collect();
    assert_eq!(ids, vec![after, barrier]);
    // Both are live again.
    let id = say(&alice, &r.general, "live").await;
    assert_eq!(s(&x1.expect("MESSAGE_CREATE").await["id"]), id);
    assert_eq!(s(&x2.expect("MESSAGE_CREATE").await["id"]), id);
    // Another restart saves the three sessions again (dropped or still connected, each is
    // resumable); a session id that was never issued is refused.
    drop((x1, x2, live));
    r.ts.restart().await;
    assert_eq!(stats(&r.ts).detached, 3, "{:?}", stats(&r.ts));
    let mut x = resume(&r.ts, &r.bob_tok, "not-a-session", 1).await;
    assert_invalid_session(&mut x).await;
}
