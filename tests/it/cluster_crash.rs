//! A node killed with SIGKILL (issue 18, spec/cluster.md §9.1): its clients RESUME on
//! another node and receive every acknowledged message once, in order, with gapless seqs;
//! the sessions of the surviving nodes miss nothing either. The killed node is the built
//! `hearth` binary ([`ChildNode`]); the others run in this process.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::cluster::{ChildNode, MESSAGE_CONTENT, TestCluster, replayed_until_resumed};
use crate::gateway::{DIRECT_MESSAGES, GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

/// The `content` of every MESSAGE_CREATE among `frames` in `channel`, in order.
fn contents_in(frames: &[Value], channel: &str) -> Vec<String> {
    frames
        .iter()
        .filter(|v| v["t"] == "MESSAGE_CREATE" && v["d"]["channel_id"] == channel)
        .map(|v| s(&v["d"]["content"]))
        .collect()
}

/// Reads op-0 frames until one satisfies `last`; returns them all.
async fn frames_until(gw: &mut Gw, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut out = vec![];
    loop {
        let v = gw.next().await.expect("the connection stays open");
        if v["op"] == 0 {
            let done = last(&v);
            out.push(v);
            if done {
                return out;
            }
        }
    }
}

#[tokio::test]
async fn a_killed_nodes_sessions_resume_elsewhere_with_every_acknowledged_message_once() {
    let cl = TestCluster::start(2, |c| c.cluster.crash_resume = true).await;
    let (_, alice_tok) = cl.nodes[0].register("alice").await;
    let (bob_id, bob_tok) = cl.nodes[0].register("bob").await;
    let (_, carol_tok) = cl.nodes[0].register("carol").await;
    let (_, dave_tok) = cl.nodes[0].register("dave").await;
    let (_, eve_tok) = cl.nodes[0].register("eve").await;
    let alice = cl.nodes[0].client(&alice_tok);
    let g = create_guild(&alice, "Crash").await;
    join(&cl.nodes[0].client(&bob_tok), &g.invite).await;
    join(&cl.nodes[0].client(&carol_tok), &g.invite).await;
    join(&cl.nodes[0].client(&dave_tok), &g.invite).await;
    let dm = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    assert_eq!(dm.status, 200, "{dm:?}");
    let dm = s(&dm.body["id"]);

    // Bob and Dave on the node that will be killed (guild messages come from the guild's
    // stream, direct messages from Bob's user stream); Carol on a surviving node.
    let mut child = ChildNode::start(&cl, 30).await;
    let intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT | DIRECT_MESSAGES;
    let mut bob = Gw::identify_addr(child.addr, &bob_tok, intents).await;
    bob.expect("GUILD_CREATE").await;
    let mut dave = Gw::identify_addr(child.addr, &dave_tok, intents).await;
    dave.expect("GUILD_CREATE").await;
    let mut carol = Gw::identify(&cl.nodes[0], &carol_tok, intents).await;
    carol.expect("GUILD_CREATE").await;
    let mut bob_got: Vec<Value> = vec![];
    say(&alice, &g.general, "before").await;
    say(&alice, &dm, "dm before").await;
    bob_got.extend(frames_until(&mut bob, |v| v["d"]["content"] == "dm before").await);
    // A heartbeat acknowledges those: their positions move into the record's bases.
    bob.heartbeat().await;
    let floor = bob.seq;

    // A burst through node 1, alternating the guild channel and the DM; the node holding
    // Bob is killed once 40 messages were acknowledged (201), while the burst goes on.
    let acked: Arc<parking_lot::Mutex<Vec<(String, String)>>> = Arc::default();
    let (killed_tx, killed_rx) = tokio::sync::oneshot::channel::<()>();
    let (at_40_tx, at_40_rx) = tokio::sync::oneshot::channel::<()>();
    let sender = {
        let (alice, general, dm, acked) = (
            cl.nodes[0].client(&alice_tok),
            g.general.clone(),
            dm.clone(),
            acked.clone(),
        );
        tokio::spawn(async move {
            let mut at_40 = Some(at_40_tx);
            let mut killed = Some(killed_rx);
            for i in 0..120 {
                let channel = if i % 2 == 0 { &general } else { &dm };
                let content = format!("burst {i}");
                say(&alice, channel, &content).await;
                acked.lock().push((channel.clone(), content));
                if i == 40 {
                    if let Some(t) = at_40.take() {
                        let _ = t.send(());
                    }
                    // The rest is sent once the node is dead.
                    if let Some(k) = killed.take() {
                        let _ = k.await;
                    }
                }
            }
        })
    };
    at_40_rx.await.expect("40 messages sent");
    child.kill().await;
    let _ = killed_tx.send(());
    // Bob reads what reached his socket before the kill, then the connection ends.
    loop {
        match bob.next().await {
            Ok(v) if v["op"] == 0 => bob_got.push(v),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // The last three frames he read are taken as lost in flight (a kill cuts off what the
    // kernel had not delivered yet): he resumes from before them and must get them again,
    // from positions older than what his node had recorded as written.
    let lost = 3;
    assert!(bob.seq >= floor + lost, "{bob_got:?}");
    bob_got.truncate(bob_got.len() - lost as usize);
    let seq = bob.seq - lost;
    let received_before = bob_got.len();
    let mut dave_got: Vec<Value> = vec![];
    loop {
        match dave.next().await {
            Ok(v) if v["op"] == 0 => dave_got.push(v),
            Ok(_) => {}
            Err(_) => break,
        }
    }

    // Another user cannot take Bob's session: INVALID_SESSION, and the record stays.
    let mut eve = Gw::connect(&cl.nodes[1], "v=10&encoding=json").await;
    eve.send(json!({"op": 6, "d": {"token": eve_tok, "session_id": bob.session_id, "seq": seq}}))
        .await;
    let v = eve.next().await.expect("INVALID_SESSION");
    assert_eq!((v["op"].as_u64(), v["d"].as_bool()), (Some(9), Some(false)));
    // A session whose node is alive is not taken either (Carol's, on node 1): her node's
    // beat goes on, so node 2 refuses within about a second and her session keeps
    // delivering.
    let mut thief = Gw::connect(&cl.nodes[1], "v=10&encoding=json").await;
    thief
        .send(json!({"op": 6, "d": {"token": carol_tok, "session_id": carol.session_id, "seq": carol.seq}}))
        .await;
    let v = thief.next().await.expect("INVALID_SESSION");
    assert_eq!((v["op"].as_u64(), v["d"].as_bool()), (Some(9), Some(false)));

    // Bob resumes on node 2 with the last seq he received: what he missed, then RESUMED.
    let mut r = Gw::connect(&cl.nodes[1], "v=10&encoding=json").await;
    r.seq = seq;
    r.send(json!({"op": 6, "d": {"token": bob_tok, "session_id": bob.session_id, "seq": seq}}))
        .await;
    bob_got.extend(replayed_until_resumed(&mut r, seq).await);
    sender.await.expect("the burst completes");
    let acked = acked.lock().clone();
    let in_channel = |c: &str| -> Vec<String> {
        std::iter::once(
            if c == g.general {
                "before"
            } else {
                "dm before"
            }
            .to_string(),
        )
        .chain(
            acked
                .iter()
                .filter(|(ch, _)| ch == c)
                .map(|(_, m)| m.clone()),
        )
        .collect()
    };
    let (last_general, last_dm) = (
        in_channel(&g.general).last().cloned().unwrap(),
        in_channel(&dm).last().cloned().unwrap(),
    );
    // Live on node 2 from RESUMED on: the rest of the burst, up to the last of each channel.
    let seen = |got: &[Value], c: &str, m: &str| contents_in(got, c).iter().any(|x| x == m);
    while !(seen(&bob_got, &g.general, &last_general) && seen(&bob_got, &dm, &last_dm)) {
        let v = r.next().await.expect("live on node 2");
        if v["op"] == 0 {
            bob_got.push(v);
        }
    }
    // Every acknowledged message once, each channel's in order (the seqs were checked to be
    // gapless by `Gw` and `replayed_until_resumed`); the kill fell inside the burst.
    assert_eq!(contents_in(&bob_got, &g.general), in_channel(&g.general));
    assert_eq!(contents_in(&bob_got, &dm), in_channel(&dm));
    let before_kill = contents_in(&bob_got[..received_before], &g.general).len()
        + contents_in(&bob_got[..received_before], &dm).len();
    assert!(
        (2..=2 + 41).contains(&before_kill),
        "bob got {before_kill} messages before the kill: some of the burst, and none sent after it"
    );
    // Dave resumes on node 2 too, with every frame he read: the rest of the guild channel,
    // from the range of the guild's stream node 2 read for Bob, extended to where its
    // reader is now (`gateway/ranges.rs`).
    let mut rd = Gw::connect(&cl.nodes[1], "v=10&encoding=json").await;
    rd.seq = dave.seq;
    rd.send(
        json!({"op": 6, "d": {"token": dave_tok, "session_id": dave.session_id, "seq": dave.seq}}),
    )
    .await;
    dave_got.extend(replayed_until_resumed(&mut rd, dave.seq).await);
    while !seen(&dave_got, &g.general, &last_general) {
        let v = rd.next().await.expect("live on node 2");
        if v["op"] == 0 {
            dave_got.push(v);
        }
    }
    assert_eq!(contents_in(&dave_got, &g.general), in_channel(&g.general));
    // Carol, on a surviving node, got the whole guild channel, in order.
    let carol_got = frames_until(&mut carol, |v| v["d"]["content"] == last_general).await;
    let mut expect = in_channel(&g.general);
    expect.remove(0);
    let mut carol_msgs = contents_in(&carol_got, &g.general);
    carol_msgs.retain(|m| m != "before");
    assert_eq!(carol_msgs, expect);

    // Taken once: the same RESUME on node 1 is refused.
    let mut again = Gw::connect(&cl.nodes[0], "v=10&encoding=json").await;
    again
        .send(json!({"op": 6, "d": {"token": bob_tok, "session_id": bob.session_id, "seq": seq}}))
        .await;
    let v = again.next().await.expect("INVALID_SESSION");
    assert_eq!((v["op"].as_u64(), v["d"].as_bool()), (Some(9), Some(false)));
}

/// A text channel `name` of guild `g`, made by its owner.
async fn channel(owner: &Client, g: &str, name: &str) -> String {
    let r = owner
        .post(&format!("/guilds/{g}/channels"), json!({"name": name}))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    s(&r.body["id"])
}

/// Sets (`Some`: allow/deny bits) or removes @everyone's overwrite on `channel`.
async fn everyone(owner: &Client, g: &str, channel: &str, bits: Option<(&str, &str)>) {
    let path = format!("/channels/{channel}/permissions/{g}");
    let r = match bits {
        Some((allow, deny)) => {
            owner
                .put(&path, json!({"type": 0, "allow": allow, "deny": deny}))
                .await
        }
        None => owner.delete(&path).await,
    };
    assert_eq!(r.status, 204, "{r:?}");
}

/// The ids of the `t` dispatches among `frames`.
fn ids_of(frames: &[Value], t: &str) -> Vec<String> {
    frames
        .iter()
        .filter(|v| v["t"] == t)
        .map(|v| s(&v["d"]["id"]))
        .collect()
}

/// Reads until the connection ends (a killed node).
async fn drain(gw: &mut Gw) {
    while gw.next().await.is_ok() {}
}

#[tokio::test]
async fn a_killed_nodes_sessions_learn_which_channels_were_shown_or_hidden_since_their_seq() {
    let cl = TestCluster::start(2, |c| c.cluster.crash_resume = true).await;
    let (_, alice_tok) = cl.nodes[0].register("alice").await;
    let (_, bob_tok) = cl.nodes[0].register("bob").await;
    let (_, dave_tok) = cl.nodes[0].register("dave").await;
    let alice = cl.nodes[0].client(&alice_tok);
    let g = create_guild(&alice, "Views").await;
    join(&cl.nodes[0].client(&bob_tok), &g.invite).await;
    join(&cl.nodes[0].client(&dave_tok), &g.invite).await;
    let x = channel(&alice, &g.id, "x").await;
    let y = channel(&alice, &g.id, "y").await;
    everyone(&alice, &g.id, &y, Some(("0", "1024"))).await;

    // Bob and Dave on the node that will be killed: both see x, neither sees y.
    let mut child = ChildNode::start(&cl, 30).await;
    let mut bob = Gw::identify_addr(child.addr, &bob_tok, GUILDS).await;
    let gc = bob.expect("GUILD_CREATE").await;
    let listed: Vec<String> = gc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["id"]))
        .collect();
    assert!(listed.contains(&x) && !listed.contains(&y), "{listed:?}");
    let mut dave = Gw::identify_addr(child.addr, &dave_tok, GUILDS).await;
    dave.expect("GUILD_CREATE").await;
    let bob_before = bob.seq;

    // While the node lives, x is hidden from everyone: both get its CHANNEL_DELETE.
    everyone(&alice, &g.id, &x, Some(("0", "1024"))).await;
    for gw in [&mut bob, &mut dave] {
        let got = frames_until(gw, |v| v["t"] == "CHANNEL_DELETE").await;
        assert_eq!(ids_of(&got, "CHANNEL_DELETE"), [x.as_str()]);
    }
    child.kill().await;
    drain(&mut bob).await;
    drain(&mut dave).await;
    // While it is dead, y is shown to everyone.
    everyone(&alice, &g.id, &y, None).await;

    // Dave resumes on node 2 with everything he read: y comes as CHANNEL_CREATE; x's
    // CHANNEL_DELETE is not sent again.
    let resume = |tok: &str, gw: &Gw, seq: u64| json!({"op": 6, "d": {"token": tok, "session_id": gw.session_id, "seq": seq}});
    let mut rd = Gw::connect(&cl.nodes[1], "v=10&encoding=json").await;
    rd.seq = dave.seq;
    rd.send(resume(&dave_tok, &dave, dave.seq)).await;
    let got = replayed_until_resumed(&mut rd, dave.seq).await;
    assert_eq!(ids_of(&got, "CHANNEL_CREATE"), [y.as_str()], "{got:?}");
    assert!(ids_of(&got, "CHANNEL_DELETE").is_empty(), "{got:?}");

    // Bob resumes from before x's CHANNEL_DELETE (as if it had been lost in flight): he is
    // told of both changes, x hidden while his node lived and y shown while it was dead.
    let mut rb = Gw::connect(&cl.nodes[1], "v=10&encoding=json").await;
    rb.seq = bob_before;
    rb.send(resume(&bob_tok, &bob, bob_before)).await;
    let got = replayed_until_resumed(&mut rb, bob_before).await;
    assert_eq!(ids_of(&got, "CHANNEL_DELETE"), [x.as_str()], "{got:?}");
    assert_eq!(ids_of(&got, "CHANNEL_CREATE"), [y.as_str()], "{got:?}");
    // Live on node 2 from RESUMED on, his view is the one he was told: x shown again comes
    // as CHANNEL_CREATE.
    everyone(&alice, &g.id, &x, None).await;
    let got = frames_until(&mut rb, |v| v["t"] == "CHANNEL_CREATE").await;
    assert_eq!(ids_of(&got, "CHANNEL_CREATE"), [x.as_str()], "{got:?}");
}
