//! Delivery from a host to its member servers (spec/federation.md §9.3-§9.4), three servers
//! over real TLS and DNS (`TestNetwork`, the fixture of `federation_guilds`: bob hosts "Fed"
//! on b, alice (a) and carol (c) joined it):
//!
//! - backoff is kept per (member server, guild): a guild whose events a member keeps
//!   refusing backs off alone, the member's other guild is delivered at once meanwhile, and
//!   the refused guild catches up, in order, once the cause is gone;
//! - a member server that stays down past `federation.dead_peer_after_ms` is marked dead
//!   (stored, listed by `hearth admin federation peers`, on `/metrics`), is no longer pushed
//!   to (only probed), and when it comes back it catches up with every message in order.

use std::time::Duration;

use hearth::storage::{PeerRow, PeerStateRow, now_ms};
use hearth_testkit::wait::Patience;
use serde_json::{Value, json};

use crate::federation_guilds::{A, ALL, B, C, applied, fed_with, general_of, wait_applied};
use crate::gateway::Gw;
use crate::harness::{Client, TestServer, eventually, s};
use crate::operator::cli_json;

/// The contents of `channel`'s newest 100 messages as `client` reads them, oldest first.
pub(crate) async fn contents(client: &Client, channel: &str) -> Vec<String> {
    let r = client
        .get(&format!("/channels/{channel}/messages?limit=100"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut v: Vec<String> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["content"]))
        .collect();
    v.reverse();
    v
}

/// Posts `text` in `channel` as `client`, asserting success.
async fn say(client: &Client, channel: &str, text: &str) {
    let r = client
        .post(
            &format!("/channels/{channel}/messages"),
            json!({"content": text}),
        )
        .await;
    assert_eq!(r.status, 200, "{text}: {r:?}");
}

/// The host's delivery row of `server` for `guild` (host ids).
async fn peer(host: &TestServer, guild: &str, server: &str) -> PeerRow {
    host.hearth
        .db
        .peer(guild.parse().unwrap(), server)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{server} is no peer of {guild}"))
}

/// The host's stored health record of `server`.
async fn state(host: &TestServer, server: &str) -> Option<PeerStateRow> {
    host.hearth.db.peer_state(server).await.unwrap()
}

/// The newest seq of a hosted guild's log.
async fn head(host: &TestServer, guild: &str) -> i64 {
    host.hearth
        .db
        .log_head(guild.parse().unwrap())
        .await
        .unwrap()
        .map_or(0, |(s, _)| s)
}

/// `server`'s line of `hearth admin federation peers --json` on `host`.
async fn admin_line(host: &TestServer, server: &str) -> Value {
    let peers = cli_json(host, &["admin", "federation", "peers"]).await;
    peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["server"] == server)
        .unwrap_or_else(|| panic!("{server} not listed: {peers}"))
        .clone()
}

#[tokio::test]
async fn a_guild_a_member_keeps_refusing_backs_off_alone_and_catches_up_once_the_cause_is_gone() {
    let f = fed_with(|_, _| {}).await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let bob = f.bob();

    // A second guild on b, "Second", with alice (a) as its only remote member.
    let g2 = bob.post("/guilds", json!({"name": "Second"})).await;
    assert_eq!(g2.status, 201, "{g2:?}");
    let g2_b = s(&g2.body["id"]);
    let general2_b = s(&bob.get(&format!("/guilds/{g2_b}/channels")).await.body[0]["id"]);
    let inv = bob
        .post(
            &format!("/channels/{general2_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    let mut gw = Gw::identify(a, &f.alice_tok, ALL).await;
    let r = f
        .alice()
        .post(&format!("/invites/{}@{B}", s(&inv.body["code"])), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let second_gc = gw
        .expect_where("GUILD_CREATE", |g| g["name"] == "Second")
        .await;
    let (g2_a, general2_a) = (s(&second_gc["id"]), general_of(&second_gc));

    // a's operator blocks c. a can no longer fetch c's keys, so it refuses every event of
    // "Fed" that a user of c caused (spec §10.1 step 3: 401), and nothing after it chains:
    // b's pushes of "Fed" to a fail until the block is lifted.
    assert!(a.hearth.operator_block(C, Some("test")).await.unwrap());
    eventually("a applies the block", async || !a.fed.policy.allows(C)).await;
    say(&f.carol(), &f.general_c, "carol while blocked").await;
    say(&bob, &f.general_b, "bob after carol").await;
    let held = eventually("b's pushes of Fed to a failed twice", async || {
        let p = peer(b, &f.gid_b, A).await;
        (p.failures >= 2).then_some(p)
    })
    .await;
    assert!(held.acked_seq < head(b, &f.gid_b).await, "{held:?}");
    // (What a has applied is read from its replica: its REST history would backfill from b.)
    assert!(
        applied(a, f.gid_a.parse().unwrap()).await <= held.acked_seq,
        "{held:?}"
    );
    assert!(held.next_attempt_at > now_ms(), "backing off: {held:?}");

    // Meanwhile "Second" is delivered to a at once, while "Fed" still waits for its next
    // attempt: the backoff of one guild holds back no other guild of the same server.
    say(&bob, &general2_b, "second guild, promptly").await;
    let second_head = head(b, &g2_b).await;
    eventually("a applied the message of Second", async || {
        applied(a, g2_a.parse().unwrap()).await >= second_head
    })
    .await;
    let fed_now = peer(b, &f.gid_b, A).await;
    let arrived = now_ms();
    assert!(
        arrived < held.next_attempt_at,
        "Second arrived at {arrived}, not before Fed's next attempt at {}",
        held.next_attempt_at
    );
    assert_eq!(fed_now.acked_seq, held.acked_seq, "Fed is still held back");
    let second = eventually("b records a's acknowledgement of Second", async || {
        let p = peer(b, &g2_b, A).await;
        (p.acked_seq >= second_head).then_some(p)
    })
    .await;
    assert_eq!(second.failures, 0, "{second:?}");
    assert!(
        contents(&f.alice(), &general2_a)
            .await
            .contains(&"second guild, promptly".to_string())
    );
    assert_eq!(
        applied(a, f.gid_a.parse().unwrap()).await,
        fed_now.acked_seq,
        "Fed not applied on a"
    );
    // a answered every push (refusals included): b does not count it as failing.
    let line = admin_line(b, A).await;
    assert_eq!(line["dead"], false, "{line}");
    assert!(line["failing_since"].is_null(), "{line}");
    assert!(line["failures"].as_i64() >= Some(2), "{line}");

    // The cause is gone: "Fed" catches up at its next attempt, in order, nothing lost.
    assert!(a.hearth.operator_unblock(C).await.unwrap());
    eventually("a lifts the block", async || a.fed.policy.allows(C)).await;
    let fed_head = head(b, &f.gid_b).await;
    Patience::within(Duration::from_secs(60))
        .until("b delivered Fed to a up to its head", async || {
            peer(b, &f.gid_b, A).await.acked_seq >= fed_head
        })
        .await
        .unwrap();
    assert!(applied(a, f.gid_a.parse().unwrap()).await >= fed_head);
    let seen = contents(&f.alice(), &f.general_a).await;
    assert_eq!(
        seen[seen.len() - 2..],
        ["carol while blocked", "bob after carol"],
        "{seen:?}"
    );
    let caught_up = peer(b, &f.gid_b, A).await;
    assert_eq!(
        (caught_up.failures, caught_up.next_attempt_at),
        (0, 0),
        "{caught_up:?}"
    );
}

#[tokio::test]
async fn a_member_server_down_past_the_bound_is_marked_dead_not_pushed_to_and_catches_up() {
    let mut f = fed_with(|name, c| {
        if name == B {
            c.federation.dead_peer_after_ms = 1_000;
            c.federation.dead_peer_probe_ms = 1_000;
            c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        }
    })
    .await;
    let c_dead = format!("hearth_federation_peer_dead{{peer=\"{C}\"}}");
    let c_attempts = format!("hearth_federation_peer_push_attempts{{peer=\"{C}\"}}");
    let h0 = f.host_head().await;
    f.net.server_mut(C).stop_keeping_data().await;
    let mut sent = vec![];
    for i in 0..3 {
        let text = format!("while c is down {i}");
        say(&f.bob(), &f.general_b, &text).await;
        sent.push(text);
    }

    // Unanswered for longer than the bound: marked dead, stored, listed, exposed.
    let b = f.net.server(B);
    let dead = eventually("b marks c dead", async || {
        state(b, C).await.filter(|s| s.dead_at.is_some())
    })
    .await;
    let (since, dead_at) = (dead.failing_since.unwrap(), dead.dead_at.unwrap());
    assert!(dead_at - since >= 1_000, "{dead:?}");
    let line = admin_line(b, C).await;
    assert_eq!(line["dead"], true, "{line}");
    assert!(line["dead_since"].is_string(), "{line}");
    assert!(line["failing_since"].is_string(), "{line}");
    assert!(line["pending"].as_i64() >= Some(3), "{line}");
    assert_eq!(admin_line(b, A).await["dead"], false);
    let m = crate::metrics::scrape(b).await;
    assert_eq!(m.get(&c_dead), Some(&1.0), "{m:?}");
    let attempts = *m.get(&c_attempts).unwrap_or_else(|| panic!("{m:?}"));
    let stored_attempts = peer(b, &f.gid_b, C).await.push_attempts;
    assert!(stored_attempts >= 2, "pushes were tried before the mark");

    // Chat goes on: a gets every message, c is not pushed to (only probed, every second).
    for i in 3..6 {
        let text = format!("while c is down {i}");
        say(&f.bob(), &f.general_b, &text).await;
        sent.push(text);
    }
    f.host_head_reaches("the six messages are logged", h0 + 6)
        .await;
    let log_head = f.host_head().await;
    let on_a = f.a_caught_up_to(log_head).await;
    assert_eq!(
        on_a[..6],
        sent.iter().rev().cloned().collect::<Vec<_>>()[..]
    );
    let probes = state(b, C).await.unwrap().probes;
    eventually("b probed c six more times", async || {
        state(b, C).await.unwrap().probes >= probes + 6
    })
    .await;
    let still = state(b, C).await.unwrap();
    assert_eq!(still.dead_at, Some(dead_at), "still dead: {still:?}");
    assert_eq!(
        peer(b, &f.gid_b, C).await.push_attempts,
        stored_attempts,
        "no push to a dead server"
    );
    let m = crate::metrics::scrape(b).await;
    assert_eq!(m.get(&c_attempts), Some(&attempts), "{m:?}");
    assert!(peer(b, &f.gid_b, C).await.acked_seq < log_head);

    // c is back: its start-up pull revives it, and it has every message, in order, once.
    f.net.server_mut(C).start_again().await;
    let c = f.net.server(C);
    let gid_c: i64 = f.gid_c.parse().unwrap();
    wait_applied("c applied the whole log", c, gid_c, log_head).await;
    let seen = contents(&f.carol(), &f.general_c).await;
    assert_eq!(seen[seen.len() - 6..], sent[..], "{seen:?}");
    let b = f.net.server(B);
    eventually("b revives c", async || {
        state(b, C)
            .await
            .is_none_or(|s| s.dead_at.is_none() && s.failing_since.is_none())
    })
    .await;
    eventually("b's cursor for c reaches the head", async || {
        peer(b, &f.gid_b, C).await.acked_seq >= log_head
    })
    .await;
    let line = admin_line(b, C).await;
    assert_eq!(line["dead"], false, "{line}");
    assert!(line["dead_since"].is_null(), "{line}");
    assert_eq!(line["pending"], 0, "{line}");
    let m = crate::metrics::scrape(b).await;
    assert_eq!(m.get(&c_dead), Some(&0.0), "{m:?}");
}
