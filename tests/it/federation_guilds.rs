//! Guild federation across three homeservers over real TLS and DNS (`TestNetwork`):
//! joins through `code@server`, chat and its edits/deletes/reactions/pins with gateway
//! events asserted on every server, per-server id spaces, hidden channels, remote moderation,
//! downtime of a member and of the host, and the rejections of spec/federation.md §§6-7.

use hearth_federation::event::{HostEvent, OriginAction};
use hearth_federation::sign::content_hash;
use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway::{GUILD_MEMBERS, GUILD_MESSAGE_REACTIONS, GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::{Client, TestServer, eventually, s};
use crate::network::TestNetwork;

pub(crate) const A: &str = "a.hearth.test";
pub(crate) const B: &str = "b.hearth.test";
pub(crate) const C: &str = "c.hearth.test";
pub(crate) const ALL: u64 = GUILDS | GUILD_MESSAGES | GUILD_MEMBERS | GUILD_MESSAGE_REACTIONS;

/// Whether any message or stored replica event of a server contains `needle`.
pub(crate) async fn db_contains(srv: &TestServer, needle: &str) -> bool {
    let pat = format!("%{needle}%");
    let q1 = "SELECT COUNT(*) FROM messages WHERE content LIKE $1";
    let q2 = "SELECT (SELECT COUNT(*) FROM replica_events WHERE event LIKE $1) + (SELECT COUNT(*) FROM guild_events WHERE event LIKE $1)";
    let n: i64 = match &*srv.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            sqlx::query_scalar::<_, i64>(q1)
                .bind(&pat)
                .fetch_one(p)
                .await
                .unwrap()
                + sqlx::query_scalar::<_, i64>(q2)
                    .bind(&pat)
                    .fetch_one(p)
                    .await
                    .unwrap()
        }
        hearth_db::Db::Postgres(p) => {
            sqlx::query_scalar::<_, i64>(q1)
                .bind(&pat)
                .fetch_one(p)
                .await
                .unwrap()
                + sqlx::query_scalar::<_, i64>(q2)
                    .bind(&pat)
                    .fetch_one(p)
                    .await
                    .unwrap()
        }
    };
    n > 0
}

pub(crate) struct Fed {
    pub(crate) net: TestNetwork,
    pub(crate) alice_tok: String,
    pub(crate) bob_tok: String,
    pub(crate) carol_tok: String,
    /// The guild as each server numbers it.
    pub(crate) gid_a: String,
    pub(crate) gid_b: String,
    pub(crate) gid_c: String,
    pub(crate) general_a: String,
    pub(crate) general_b: String,
    pub(crate) general_c: String,
    pub(crate) code: String,
}

impl Fed {
    pub(crate) fn alice(&self) -> Client {
        self.net.server(A).client(&self.alice_tok)
    }
    pub(crate) fn bob(&self) -> Client {
        self.net.server(B).client(&self.bob_tok)
    }
    pub(crate) fn carol(&self) -> Client {
        self.net.server(C).client(&self.carol_tok)
    }
    /// Alice's action creating a message in the host's `general` as her server would sign
    /// it: `txn_id`, `origin_ts` and the content hash of `hashed` (normally the request).
    fn alice_message_action(&self, txn_id: &str, origin_ts: u64, hashed: &Value) -> OriginAction {
        OriginAction {
            host: B.into(),
            guild_id: self.gid_b.clone(),
            channel_id: Some(self.general_b.clone()),
            kind: "message_create".into(),
            sender: format!("alice@{A}"),
            origin: A.into(),
            txn_id: txn_id.into(),
            origin_ts,
            content_hash: content_hash(hashed).unwrap(),
        }
    }
    /// Waits until a's replica applied the host's log up to `head`, then returns the contents
    /// of the newest 50 messages of `general` as alice reads them on a (newest first).
    pub(crate) async fn a_caught_up_to(&self, head: i64) -> Vec<String> {
        let a = self.net.server(A);
        let gid_a: i64 = self.gid_a.parse().unwrap();
        wait_applied("a applied everything", a, gid_a, head).await;
        let h = self
            .alice()
            .get(&format!("/channels/{}/messages?limit=50", self.general_a))
            .await;
        h.body
            .as_array()
            .unwrap()
            .iter()
            .map(|m| s(&m["content"]))
            .collect()
    }
    /// Waits until the host's delivery cursor for a reaches `head`.
    async fn b_acked_a_to(&self, head: i64) {
        let b = self.net.server(B);
        let gid_b: i64 = self.gid_b.parse().unwrap();
        eventually("b's cursor for a reaches the head", || async {
            b.hearth
                .db
                .peer(gid_b, A)
                .await
                .unwrap()
                .is_some_and(|p| p.acked_seq >= head)
        })
        .await;
    }
    /// The newest `seq` of the guild's log on the host (0 when empty).
    /// The id the host (b) gives the member with `handle` (`alice@a.hearth.test`) in its
    /// guild.
    pub(crate) async fn member_id_on_host(&self, handle: &str) -> String {
        let r = self
            .bob()
            .get(&format!("/guilds/{}/members?limit=100", self.gid_b))
            .await;
        let m = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["handle"] == handle)
            .unwrap_or_else(|| panic!("{handle} among {}", r.body))
            .clone();
        s(&m["user"]["id"])
    }
    pub(crate) async fn host_head(&self) -> i64 {
        let gid: i64 = self.gid_b.parse().unwrap();
        let db = &self.net.server(B).hearth.db;
        db.log_head(gid).await.unwrap().map_or(0, |(s, _)| s)
    }
    /// Waits until the host's log reaches `seq` (its writer appends asynchronously).
    pub(crate) async fn host_head_reaches(&self, what: &str, seq: i64) {
        eventually(what, || async { self.host_head().await >= seq }).await;
    }
}

pub(crate) fn general_of(guild_create: &Value) -> String {
    let ch = guild_create["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "general")
        .unwrap_or_else(|| panic!("general channel in {guild_create}"));
    s(&ch["id"])
}

/// The log position `member` applied of its replica `guild` (local id).
pub(crate) async fn applied(member: &TestServer, guild: i64) -> i64 {
    member
        .hearth
        .db
        .remote_guild(guild)
        .await
        .unwrap()
        .expect("replica")
        .applied_seq
}

/// Waits until `member` applied its replica `guild` up to `head`.
pub(crate) async fn wait_applied(what: &str, member: &TestServer, guild: i64, head: i64) {
    eventually(what, async || applied(member, guild).await >= head).await;
}

/// Bob hosts "Fed" on b; alice (a) and carol (c) join through their own servers.
pub(crate) async fn fed_with(f: impl Fn(&str, &mut hearth::Config)) -> Fed {
    let net = TestNetwork::start_with(&[A, B, C], f).await;
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let (_, carol_tok) = net.server(C).register("carol").await;
    let bob = net.server(B).client(&bob_tok);
    let g = bob.post("/guilds", json!({"name": "Fed"})).await;
    assert_eq!(g.status, 201);
    let gid_b = s(&g.body["id"]);
    let general_b = s(&bob.get(&format!("/guilds/{gid_b}/channels")).await.body[0]["id"]);
    let inv = bob
        .post(
            &format!("/channels/{general_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    let code = s(&inv.body["code"]);
    let mut fed = Fed {
        net,
        alice_tok,
        bob_tok,
        carol_tok,
        gid_a: String::new(),
        gid_b,
        gid_c: String::new(),
        general_a: String::new(),
        general_b,
        general_c: String::new(),
        code,
    };
    for (name, who) in [(A, "alice"), (C, "carol")] {
        let tok = if who == "alice" {
            fed.alice_tok.clone()
        } else {
            fed.carol_tok.clone()
        };
        let srv = fed.net.server(name);
        let mut gw = Gw::identify(srv, &tok, ALL).await;
        let r = srv
            .client(&tok)
            .post(&format!("/invites/{}@{B}", fed.code), json!({}))
            .await;
        assert_eq!(r.status, 200, "{who} joins through {name}: {r:?}");
        let gc = gw.expect("GUILD_CREATE").await;
        assert_eq!(gc["name"], "Fed");
        let (gid, general) = (s(&gc["id"]), general_of(&gc));
        if who == "alice" {
            fed.gid_a = gid;
            fed.general_a = general;
        } else {
            fed.gid_c = gid;
            fed.general_c = general;
        }
    }
    fed
}

async fn fed() -> Fed {
    fed_with(|_, _| {}).await
}

#[tokio::test]
async fn three_servers_join_and_chat_with_gateway_events_on_every_side() {
    let f = fed().await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    // Every server numbers the guild in its own id space.
    assert_ne!(f.gid_a, f.gid_b);
    assert_ne!(f.gid_c, f.gid_b);
    let mut bob_gw = Gw::identify(b, &f.bob_tok, ALL).await;
    let mut alice_gw = Gw::identify(a, &f.alice_tok, ALL).await;
    let mut carol_gw = Gw::identify(c, &f.carol_tok, ALL).await;
    // The host sees both remote members with their handles.
    let members = f
        .bob()
        .get(&format!("/guilds/{}/members?limit=10", f.gid_b))
        .await;
    let handles: Vec<String> = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["user"]["handle"]))
        .collect();
    assert!(
        handles.contains(&format!("alice@{A}")) && handles.contains(&format!("carol@{C}")),
        "{handles:?}"
    );

    // Alice speaks through a; bob (b) and carol (c) receive it in real time.
    let m = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "hello from a"}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    assert_eq!(
        m.body["channel_id"],
        f.general_a.as_str(),
        "REST answers in a's ids"
    );
    assert_eq!(m.body["author"]["handle"], format!("alice@{A}"));
    let eb = bob_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(
        (eb["content"].as_str(), eb["channel_id"].as_str()),
        (Some("hello from a"), Some(f.general_b.as_str()))
    );
    assert_eq!(eb["author"]["handle"], format!("alice@{A}"));
    let ec = carol_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(
        (ec["content"].as_str(), ec["channel_id"].as_str()),
        (Some("hello from a"), Some(f.general_c.as_str()))
    );
    let ea = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(
        ea["id"], m.body["id"],
        "alice's own session sees her message with a's id"
    );

    // Carol replies (c's id of alice's message); alice sees the reply pointing at a's id.
    let reply = f.carol().post(&format!("/channels/{}/messages", f.general_c), json!({"content": "hi alice <@".to_string() + ec["author"]["id"].as_str().unwrap() + ">", "message_reference": {"message_id": ec["id"]}})).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let r = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(r["type"], 19);
    assert_eq!(r["message_reference"]["message_id"], m.body["id"]);
    assert_eq!(r["author"]["handle"], format!("carol@{C}"));
    let alice_local = s(&m.body["author"]["id"]);
    assert_eq!(
        r["mentions"][0]["id"],
        alice_local.as_str(),
        "mentions are rewritten into a's ids"
    );
    assert!(
        r["content"]
            .as_str()
            .unwrap()
            .contains(&format!("<@{alice_local}>"))
    );
    let own = carol_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(
        own["id"], reply.body["id"],
        "carol's session sees her reply with c's id"
    );
    let rb = bob_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(
        rb["content"].as_str().unwrap().split('<').next(),
        Some("hi alice ")
    );

    // Bob answers on the host; both remote sessions get it.
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "from the host"}),
        )
        .await;
    assert_eq!(
        alice_gw.expect("MESSAGE_CREATE").await["content"],
        "from the host"
    );
    assert_eq!(
        carol_gw.expect("MESSAGE_CREATE").await["content"],
        "from the host"
    );

    // The member list pages in from the host: a only had alice and bob, now also carol.
    let members = f
        .alice()
        .get(&format!("/guilds/{}/members?limit=10", f.gid_a))
        .await;
    let mut hs: Vec<String> = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["user"]["handle"]))
        .collect();
    hs.sort();
    assert_eq!(
        hs,
        vec![
            format!("alice@{A}"),
            format!("bob@{B}"),
            format!("carol@{C}")
        ]
    );
    // History on a: three messages, newest first, in a's ids.
    let h = f
        .alice()
        .get(&format!("/channels/{}/messages?limit=10", f.general_a))
        .await;
    let contents: Vec<&str> = h
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents[0], "from the host");
    assert_eq!(contents[2], "hello from a");
    assert!(
        h.body
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["channel_id"] == f.general_a.as_str())
    );
}

#[tokio::test]
async fn edits_deletes_reactions_and_pins_propagate_and_permissions_are_the_hosts() {
    let f = fed().await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let mut alice_gw = Gw::identify(a, &f.alice_tok, ALL).await;
    let mut bob_gw = Gw::identify(b, &f.bob_tok, ALL).await;
    let mut carol_gw = Gw::identify(c, &f.carol_tok, ALL).await;
    let m = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "draft"}),
        )
        .await;
    let mid_a = s(&m.body["id"]);
    let mid_b = s(&bob_gw.expect("MESSAGE_CREATE").await["id"]);
    let mid_c = s(&carol_gw.expect("MESSAGE_CREATE").await["id"]);
    alice_gw.expect("MESSAGE_CREATE").await;

    let e = f
        .alice()
        .patch(
            &format!("/channels/{}/messages/{mid_a}", f.general_a),
            json!({"content": "final words 7f3a"}),
        )
        .await;
    assert_eq!(
        (e.status, e.body["content"].as_str()),
        (200, Some("final words 7f3a")),
        "{e:?}"
    );
    assert_eq!(
        bob_gw.expect("MESSAGE_UPDATE").await["content"],
        "final words 7f3a"
    );
    assert_eq!(
        carol_gw.expect("MESSAGE_UPDATE").await["id"],
        mid_c.as_str()
    );
    assert_eq!(
        alice_gw.expect("MESSAGE_UPDATE").await["content"],
        "final words 7f3a"
    );

    // A reaction by bob on the host reaches alice and carol.
    let r = f
        .bob()
        .put_empty(&format!(
            "/channels/{}/messages/{mid_b}/reactions/%F0%9F%91%8D/@me",
            f.general_b
        ))
        .await;
    assert_eq!(r.status, 204);
    let ra = alice_gw.expect("MESSAGE_REACTION_ADD").await;
    assert_eq!(
        (ra["message_id"].as_str(), ra["emoji"]["name"].as_str()),
        (Some(mid_a.as_str()), Some("👍"))
    );
    carol_gw.expect("MESSAGE_REACTION_ADD").await;
    // Carol reacts through c; the count on a is 2.
    assert_eq!(
        f.carol()
            .put_empty(&format!(
                "/channels/{}/messages/{mid_c}/reactions/%F0%9F%91%8D/@me",
                f.general_c
            ))
            .await
            .status,
        204
    );
    alice_gw.expect("MESSAGE_REACTION_ADD").await;
    let got = f
        .alice()
        .get(&format!("/channels/{}/messages/{mid_a}", f.general_a))
        .await;
    assert_eq!(got.body["reactions"][0]["count"], 2);

    // Alice may not pin (no PIN_MESSAGES at the host): the host's 403 50013 reaches her client.
    let denied = f
        .alice()
        .put_empty(&format!("/channels/{}/messages/pins/{mid_a}", f.general_a))
        .await;
    assert_eq!((denied.status, denied.code()), (403, 50013), "{denied:?}");
    // Nor delete bob's messages.
    let bm = f
        .bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "bob's"}),
        )
        .await;
    let bm_a = s(&alice_gw.expect("MESSAGE_CREATE").await["id"]);
    let denied = f
        .alice()
        .delete(&format!("/channels/{}/messages/{bm_a}", f.general_a))
        .await;
    assert_eq!((denied.status, denied.code()), (403, 50013), "{denied:?}");
    // Bob pins alice's message; a sees the pin.
    assert_eq!(
        f.bob()
            .put_empty(&format!("/channels/{}/messages/pins/{mid_b}", f.general_b))
            .await
            .status,
        204
    );
    alice_gw.expect("CHANNEL_PINS_UPDATE").await;
    assert_eq!(alice_gw.expect("MESSAGE_UPDATE").await["pinned"], true);
    let pins = f
        .alice()
        .get(&format!("/channels/{}/pins", f.general_a))
        .await;
    assert_eq!(pins.body[0]["id"], mid_a.as_str(), "{pins:?}");
    let _ = bm;

    // Alice deletes her message through a; every server drops it.
    assert_eq!(
        f.alice()
            .delete(&format!("/channels/{}/messages/{mid_a}", f.general_a))
            .await
            .status,
        204
    );
    assert_eq!(
        carol_gw.expect("MESSAGE_DELETE").await["id"],
        mid_c.as_str()
    );
    assert_eq!(bob_gw.expect("MESSAGE_DELETE").await["id"], mid_b.as_str());
    assert_eq!(
        f.carol()
            .get(&format!("/channels/{}/messages/{mid_c}", f.general_c))
            .await
            .status,
        404
    );
    // The deleted content is gone from every server's storage, logs included (stubs remain).
    for srv in [A, B, C] {
        let t = f.net.server(srv);
        eventually("the deleted message's words are gone", || async {
            !db_contains(t, "final words 7f3a").await
        })
        .await;
    }
    // Typing is relayed too (lossy path).
    assert_eq!(
        f.alice()
            .post(&format!("/channels/{}/typing", f.general_a), json!({}))
            .await
            .status,
        204
    );
    // Structure stays the host's: a remote member cannot create channels through a.
    let r = f
        .alice()
        .post(
            &format!("/guilds/{}/channels", f.gid_a),
            json!({"name": "nope"}),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn hidden_channels_reach_no_server_without_a_member_who_may_see_them() {
    let f = fed().await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let mut alice_gw = Gw::identify(a, &f.alice_tok, ALL).await;
    let staff = f.bob().post(&format!("/guilds/{}/channels", f.gid_b), json!({"name": "staff", "permission_overwrites": [{"id": f.gid_b, "type": 0, "allow": "0", "deny": "1024"}]})).await;
    assert_eq!(staff.status, 201);
    let staff_b = s(&staff.body["id"]);
    f.bob()
        .post(
            &format!("/channels/{staff_b}/messages"),
            json!({"content": "top secret plans"}),
        )
        .await;
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "barrier"}),
        )
        .await;
    let e = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(e["content"], "barrier");
    // Nothing of the staff channel reached alice (a late CHANNEL_CREATE of the guild's
    // `general`, from her join's replica, may be pending; it is not the hidden channel).
    assert!(
        !alice_gw
            .pending
            .iter()
            .any(|v| v["t"] == "CHANNEL_CREATE" && v["d"]["name"] == "staff"),
        "the hidden channel reached alice: {:?}",
        alice_gw.pending
    );
    // Neither a's database nor c's holds the secret; the host does.
    assert!(db_contains(b, "top secret plans").await);
    assert!(
        !db_contains(a, "top secret plans").await,
        "a must only get a stub"
    );
    assert!(!db_contains(f.net.server(C), "top secret plans").await);
    let chans = f
        .alice()
        .get(&format!("/guilds/{}/channels", f.gid_a))
        .await;
    assert!(
        !chans
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "staff")
    );

    // Bob lets alice in with a role overwrite: a learns the channel, alice's client gets
    // CHANNEL_CREATE, and its history is backfilled on demand.
    let alice_b = {
        let members = f
            .bob()
            .get(&format!(
                "/guilds/{}/members/search?query=alice&limit=5",
                f.gid_b
            ))
            .await;
        s(&members.body[0]["user"]["id"])
    };
    let role = f
        .bob()
        .post(
            &format!("/guilds/{}/roles", f.gid_b),
            json!({"name": "staff"}),
        )
        .await;
    let role_b = s(&role.body["id"]);
    assert_eq!(
        f.bob()
            .put(
                &format!("/channels/{staff_b}/permissions/{role_b}"),
                json!({"type": 0, "allow": "1024", "deny": "0"})
            )
            .await
            .status,
        204
    );
    assert_eq!(
        f.bob()
            .put_empty(&format!(
                "/guilds/{}/members/{alice_b}/roles/{role_b}",
                f.gid_b
            ))
            .await
            .status,
        204
    );
    // (A CHANNEL_CREATE of `general` may come first: a visibility change routed while her
    // READY was being built repeats the channels she already had.)
    let created = loop {
        let c = alice_gw.expect("CHANNEL_CREATE").await;
        if c["name"] != "general" {
            break c;
        }
    };
    assert_eq!(created["name"], "staff");
    let staff_a = s(&created["id"]);
    let hist = f
        .alice()
        .get(&format!("/channels/{staff_a}/messages"))
        .await;
    assert_eq!(hist.body[0]["content"], "top secret plans", "{hist:?}");
    // c still has no member who may see it.
    assert!(!db_contains(f.net.server(C), "top secret plans").await);
}

#[tokio::test]
async fn remote_kick_and_ban_stop_events_and_rejoin() {
    let f = fed().await;
    let (a, c) = (f.net.server(A), f.net.server(C));
    let mut alice_gw = Gw::identify(a, &f.alice_tok, ALL).await;
    let mut carol_gw = Gw::identify(c, &f.carol_tok, ALL).await;
    let find = |q: &str| {
        let bob = f.bob();
        let gid = f.gid_b.clone();
        let q = q.to_string();
        async move {
            s(&bob
                .get(&format!("/guilds/{gid}/members/search?query={q}&limit=5"))
                .await
                .body[0]["user"]["id"])
        }
    };
    let (alice_b, carol_b) = (find("alice").await, find("carol").await);
    // Kick alice: her sessions on a lose the guild; a stops receiving it.
    assert_eq!(
        f.bob()
            .delete(&format!("/guilds/{}/members/{alice_b}", f.gid_b))
            .await
            .status,
        204
    );
    let gd = alice_gw.expect("GUILD_DELETE").await;
    assert_eq!(gd["id"], f.gid_a.as_str());
    let r = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "still here?"}),
        )
        .await;
    // Its last member gone, a forgot the replica (the id map stays for a rejoin).
    assert!(matches!(r.status, 403 | 404), "{r:?}");
    let gid_a: i64 = f.gid_a.parse().unwrap();
    eventually("a forgets the replica", || async {
        a.hearth.db.remote_guild(gid_a).await.unwrap().is_none()
    })
    .await;
    let b = f.net.server(B);
    let gid_b: i64 = f.gid_b.parse().unwrap();
    eventually("b drops a as a peer of the guild", || async {
        b.hearth.db.peer(gid_b, A).await.unwrap().is_none()
    })
    .await;
    // Ban carol: GUILD_DELETE on c; she cannot rejoin by any invite.
    assert_eq!(
        f.bob()
            .put(&format!("/guilds/{}/bans/{carol_b}", f.gid_b), json!({}))
            .await
            .status,
        204
    );
    carol_gw.expect("GUILD_DELETE").await;
    let r = f
        .carol()
        .post(&format!("/invites/{}@{B}", f.code), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, 40007), "{r:?}");
    // Alice was only kicked: she may come back.
    let r = f
        .alice()
        .post(&format!("/invites/{}@{B}", f.code), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        alice_gw.expect("GUILD_CREATE").await["id"],
        f.gid_a.as_str(),
        "the same local id again"
    );
}

#[tokio::test]
async fn a_member_server_down_for_a_while_catches_up_without_duplicates() {
    let mut f = fed().await;
    let h0 = f.host_head().await;
    f.net.server_mut(A).stop_keeping_data().await;
    for i in 0..5 {
        f.bob()
            .post(
                &format!("/channels/{}/messages", f.general_b),
                json!({"content": format!("while a was down {i}")}),
            )
            .await;
    }
    f.net.server_mut(A).start_again().await;
    f.host_head_reaches("the five messages are in the host's log", h0 + 5)
        .await;
    let head = f.host_head().await;
    let contents = f.a_caught_up_to(head).await;
    let expected: Vec<String> = (0..5)
        .rev()
        .map(|i| format!("while a was down {i}"))
        .collect();
    assert_eq!(contents, expected, "all missed messages, in order, once");
    // The host's delivery queue converges as well (acknowledged up to its head).
    f.b_acked_a_to(head).await;
}

#[tokio::test]
async fn the_host_restarting_during_a_burst_loses_and_reorders_nothing() {
    let mut f = fed().await;
    let h0 = f.host_head().await;
    let mut sent = vec![];
    for i in 0..20 {
        let r = f
            .bob()
            .post(
                &format!("/channels/{}/messages", f.general_b),
                json!({"content": format!("burst {i:02}")}),
            )
            .await;
        assert_eq!(r.status, 200);
        sent.push(format!("burst {i:02}"));
        if i == 9 {
            f.net.server_mut(B).restart().await;
        }
    }
    f.host_head_reaches("the whole burst is in the host's log", h0 + 20)
        .await;
    let head = f.host_head().await;
    for (srv, gid) in [(A, &f.gid_a), (C, &f.gid_c)] {
        let t = f.net.server(srv);
        let gid: i64 = gid.parse().unwrap();
        wait_applied("the member applied the whole burst", t, gid, head).await;
    }
    let h = f
        .carol()
        .get(&format!("/channels/{}/messages?limit=50", f.general_c))
        .await;
    let mut got: Vec<String> = h
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["content"]))
        .collect();
    got.reverse();
    assert_eq!(got, sent);
}

#[tokio::test]
async fn a_bad_event_in_a_delivery_keeps_the_valid_ones_before_it_and_redelivery_is_idempotent() {
    let f = fed().await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let gid_a: i64 = f.gid_a.parse().unwrap();
    let gid_b: i64 = f.gid_b.parse().unwrap();
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "before the batch"}),
        )
        .await;
    // The host's log, once its writer appended the message (asynchronously).
    let log = || async {
        b.hearth
            .db
            .log_range(gid_b, 0, 1000)
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str::<Value>(&r.event).unwrap())
            .collect::<Vec<_>>()
    };
    eventually("b logged the message", || async {
        log()
            .await
            .last()
            .is_some_and(|e| e["content"]["d"]["content"] == "before the batch")
    })
    .await;
    let template = log().await.last().unwrap().clone();
    let genuine = template.clone();
    let head = genuine["seq"].as_i64().unwrap();
    let applied = || async {
        a.hearth
            .db
            .remote_guild(gid_a)
            .await
            .unwrap()
            .unwrap()
            .applied_seq
    };
    eventually("a has the genuine event", || async {
        applied().await >= head
    })
    .await;
    // Message events signed by b's real key after its head, in b's id space.
    let key = b.fed.keyring.current();
    let base_id: u64 = s(&template["content"]["d"]["id"]).parse().unwrap();
    let message = |k: u64, text: &str| {
        let mut c = template["content"].clone();
        c["d"]["id"] = json!((base_id + k).to_string());
        c["d"]["content"] = json!(text);
        c
    };
    let e1 = next_event(&genuine, head + 1, message(1, "batch one"), &key, B);
    let e2 = next_event(&e1, head + 2, message(2, "batch two"), &key, B);
    let e3 = next_event(&e2, head + 3, message(3, "batch three"), &key, B);
    let e4 = next_event(&e3, head + 4, message(4, "batch four"), &key, B);
    let mut bad = e3.clone();
    bad["content"]["d"]["content"] = json!("batch tampered");
    let send = |events: Vec<Value>| {
        let fed = b.fed.clone();
        async move {
            fed.request(
                A,
                Method::PUT,
                &format!("/_hearth/federation/v1/send/t{}", rand::random::<u32>()),
                Some(&json!({"events": events})),
            )
            .await
        }
    };
    let mut gw = Gw::identify(a, &f.alice_tok, ALL).await;

    // The tampered third event is refused; the two before it stay applied and are
    // dispatched, the one after it is not looked at.
    assert!(
        send(vec![e1.clone(), e2.clone(), bad, e4.clone()])
            .await
            .is_err()
    );
    assert_eq!(applied().await, head + 2);
    for text in ["batch one", "batch two"] {
        let d = gw.expect("MESSAGE_CREATE").await;
        assert_eq!(d["content"], text);
    }
    assert!(db_contains(a, "batch two").await);
    assert!(!db_contains(a, "batch tampered").await);
    assert!(!db_contains(a, "batch four").await);

    // Redelivering the applied events (with the rest, and an edit of the first message in
    // the same delivery) stores each message once, edited.
    let mut edit = message(1, "batch one edited");
    edit["t"] = json!("MESSAGE_UPDATE");
    let e5 = next_event(&e4, head + 5, edit, &key, B);
    send(vec![e1, e2, e3, e4, e5]).await.unwrap();
    assert_eq!(applied().await, head + 5);
    let h = f
        .alice()
        .get(&format!("/channels/{}/messages?limit=10", f.general_a))
        .await;
    let got: Vec<String> = h
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["content"]))
        .filter(|c| c.starts_with("batch"))
        .collect();
    assert_eq!(
        got,
        ["batch four", "batch three", "batch two", "batch one edited"],
        "each once, in order"
    );
}

#[tokio::test]
async fn forged_tampered_replayed_and_misdirected_federation_traffic_is_rejected() {
    let f = fed().await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let gid_b: i64 = f.gid_b.parse().unwrap();
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "genuine"}),
        )
        .await;
    let (head, _) = b.hearth.db.log_head(gid_b).await.unwrap().unwrap();
    eventually("a has the genuine event", || async {
        a.hearth
            .db
            .remote_guild(f.gid_a.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .applied_seq
            >= head
    })
    .await;
    let rows = b.hearth.db.log_range(gid_b, head - 1, 1).await.unwrap();
    let genuine: Value = serde_json::from_str(&rows[0].event).unwrap();
    let send = |ev: Value| {
        let fed = b.fed.clone();
        async move {
            fed.request(
                A,
                Method::PUT,
                &format!("/_hearth/federation/v1/send/t{}", rand::random::<u32>()),
                Some(&json!({"events": [ev]})),
            )
            .await
        }
    };

    // Tampered content: the content hash no longer matches.
    let mut tampered = genuine.clone();
    tampered["content"]["d"]["content"] = json!("forged words");
    assert!(send(tampered).await.is_err());
    assert!(!db_contains(a, "forged words").await);

    // A forged host signature (another key claiming to be b) on the next seq.
    let forger = hearth_federation::keys::ServerKey::generate();
    let fake = next_event(
        &genuine,
        head + 1,
        json!({"t": "MESSAGE_CREATE", "d": {"content": "forged by key"}}),
        &forger,
        B,
    );
    assert!(send(fake).await.is_err());

    // Equivocation: b's real key signs a different event at an already applied position.
    let equivocal = next_event_at(
        &genuine,
        head,
        json!({"t": "GUILD_UPDATE", "d": {"name": "rewritten"}}),
        &b.fed.keyring.current(),
        B,
    );
    assert!(send(equivocal).await.is_err());
    let proofs = a.hearth.db.equivocations().await.unwrap();
    assert_eq!(proofs.len(), 1, "the proof is kept for the operator");
    assert_eq!(proofs[0].2, head);
    // Alice is a's operator (made with the setup token): the proof is listed for her.
    f.net.server(A).make_first_admin(&f.alice()).await;
    let listed = f.alice().get("/admin/federation/equivocations").await;
    assert_eq!(
        (listed.status, listed.body[0]["host"].as_str()),
        (200, Some(B)),
        "{listed:?}"
    );

    // Events of b's guild delivered by c are refused (only the host may deliver).
    let r = c
        .fed
        .request(
            A,
            Method::PUT,
            "/_hearth/federation/v1/send/x1",
            Some(&json!({"events": [genuine.clone()]})),
        )
        .await;
    assert!(r.is_err());

    // A server speaking for a user of another domain: c joins as alice@a.
    let r = c.fed.request(B, Method::POST, "/_hearth/federation/v1/join", Some(&json!({"invite_code": f.code, "user": {"username": "alice", "handle": format!("alice@{A}")}}))).await;
    assert!(
        matches!(r, Err(hearth::s2s::FedError::Remote { status: 403, .. })),
        "{r:?}"
    );

    // An origin-signed action replayed into another channel, and replayed as is.
    let staff = f
        .bob()
        .post(
            &format!("/guilds/{}/channels", f.gid_b),
            json!({"name": "other"}),
        )
        .await;
    let other_b = s(&staff.body["id"]);
    let request = json!({"op": "message_create", "channel_id": f.general_b, "message_id": null, "emoji": null, "body": {"content": "signed once"}});
    let action = f
        .alice_message_action("replay1", hearth::s2s::now_ms(), &request)
        .sign(&a.fed.keyring.current())
        .unwrap();
    let path = format!("/_hearth/federation/v1/guilds/{}/actions", f.gid_b);
    let ok = a
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": action, "content": request})),
        )
        .await
        .expect("genuine action");
    let again = a
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": action, "content": request})),
        )
        .await
        .expect("replay answers the first result");
    assert_eq!(
        ok["result"]["id"], again["result"]["id"],
        "an action is applied once per (origin, txn)"
    );
    let mut moved = request.clone();
    moved["channel_id"] = json!(other_b);
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": action, "content": moved})),
        )
        .await;
    assert!(r.is_err(), "replayed into another channel: {r:?}");
    let other_guild = f.bob().post("/guilds", json!({"name": "Other"})).await;
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            &format!(
                "/_hearth/federation/v1/guilds/{}/actions",
                s(&other_guild.body["id"])
            ),
            Some(&json!({"action": action, "content": request})),
        )
        .await;
    assert!(r.is_err(), "replayed into another guild: {r:?}");
    // c relaying a's action is refused too.
    let r = c
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": action, "content": request})),
        )
        .await;
    assert!(r.is_err(), "relayed by another server: {r:?}");
    let hist = f
        .bob()
        .get(&format!("/channels/{}/messages?limit=20", f.general_b))
        .await;
    let n = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content"] == "signed once")
        .count();
    assert_eq!(n, 1);
}

/// An event following `prev` at `seq` (prev_hash = hash of `prev`), signed by `key` as `host`.
fn next_event(
    prev: &Value,
    seq: i64,
    content: Value,
    key: &hearth_federation::keys::ServerKey,
    host: &str,
) -> Value {
    let prev_hash = hearth_federation::event::event_hash(prev).unwrap();
    build_event(prev, seq, Some(prev_hash), content, key, host)
}

/// An event at `seq` with the same predecessor as `at` (an alternative history).
fn next_event_at(
    at: &Value,
    seq: i64,
    content: Value,
    key: &hearth_federation::keys::ServerKey,
    host: &str,
) -> Value {
    build_event(
        at,
        seq,
        at["prev_hash"].as_str().map(str::to_string),
        content,
        key,
        host,
    )
}

fn build_event(
    like: &Value,
    seq: i64,
    prev_hash: Option<String>,
    content: Value,
    key: &hearth_federation::keys::ServerKey,
    host: &str,
) -> Value {
    let action = OriginAction {
        host: host.into(),
        guild_id: s(&like["guild_id"]),
        channel_id: None,
        kind: "guild_update".into(),
        sender: format!("_host@{host}"),
        origin: host.into(),
        txn_id: format!("f{}", rand::random::<u32>()),
        origin_ts: hearth::s2s::now_ms(),
        content_hash: content_hash(&content).unwrap(),
    }
    .sign(key)
    .unwrap();
    HostEvent {
        host: host.into(),
        guild_id: s(&like["guild_id"]),
        seq: seq as u64,
        prev_hash,
        host_ts: hearth::s2s::now_ms(),
        object_id: None,
        action,
        content: Some(content),
        result_hash: None,
    }
    .sign(key)
    .unwrap()
}

#[tokio::test]
async fn a_server_on_the_hosts_deny_list_cannot_join() {
    let net = TestNetwork::start_with(&[A, B, C], |name, c| {
        if name == B {
            c.federation.deny_domains = vec![C.to_string()];
        }
    })
    .await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let bob = net.server(B).client(&bob_tok);
    let g = bob.post("/guilds", json!({"name": "Closed"})).await;
    let gid = s(&g.body["id"]);
    let general = s(&bob.get(&format!("/guilds/{gid}/channels")).await.body[0]["id"]);
    let code = s(&bob
        .post(&format!("/channels/{general}/invites"), json!({}))
        .await
        .body["code"]);
    let (_, carol_tok) = net.server(C).register("carol").await;
    let r = net
        .server(C)
        .client(&carol_tok)
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    let (_, alice_tok) = net.server(A).register("alice").await;
    let r = net
        .server(A)
        .client(&alice_tok)
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "a is not denied: {r:?}");
}

#[tokio::test]
async fn a_gap_is_filled_from_the_host_before_the_next_event_is_applied() {
    let f = fed().await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let gid_a: i64 = f.gid_a.parse().unwrap();
    let gid_b: i64 = f.gid_b.parse().unwrap();
    // The log writer appends asynchronously: know where the log stands first.
    let h0 = b
        .hearth
        .db
        .log_head(gid_b)
        .await
        .unwrap()
        .map_or(0, |(s, _)| s);
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "first of two"}),
        )
        .await;
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "second of two"}),
        )
        .await;
    eventually("both messages are in the host's log", || async {
        b.hearth
            .db
            .log_head(gid_b)
            .await
            .unwrap()
            .is_some_and(|(s, _)| s >= h0 + 2)
    })
    .await;
    let (head, _) = b.hearth.db.log_head(gid_b).await.unwrap().unwrap();
    wait_applied("a applied both", a, gid_a, head).await;
    // Rewind a by two events, as if they had never arrived: the position back (the
    // applier only moves it forward) and their stored events gone.
    let rows = b.hearth.db.log_range(gid_b, head - 3, 3).await.unwrap();
    let rewind = "UPDATE remote_guilds SET applied_seq = $2, last_hash = $3 WHERE guild_id = $1";
    let forget = "DELETE FROM replica_events WHERE guild_id = $1 AND seq > $2";
    let (seq, hash) = (rows[0].seq, rows[0].hash.clone());
    match &*a.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            let q = sqlx::query(rewind).bind(gid_a).bind(seq).bind(&hash);
            q.execute(p).await.unwrap();
            let q = sqlx::query(forget).bind(gid_a).bind(seq);
            q.execute(p).await.unwrap();
        }
        hearth_db::Db::Postgres(p) => {
            let q = sqlx::query(rewind).bind(gid_a).bind(seq).bind(&hash);
            q.execute(p).await.unwrap();
            let q = sqlx::query(forget).bind(gid_a).bind(seq);
            q.execute(p).await.unwrap();
        }
    }
    assert!(
        a.hearth
            .db
            .replica_event(gid_a, head - 1)
            .await
            .unwrap()
            .is_none()
    );
    // Hand a only the newest: it sees the gap, pulls the missing event, applies in order.
    let ev: Value = serde_json::from_str(&rows[2].event).unwrap();
    assert_eq!(rows[2].seq, head);
    b.fed
        .request(
            A,
            Method::PUT,
            "/_hearth/federation/v1/send/gap1",
            Some(&json!({"events": [ev]})),
        )
        .await
        .expect("accepted after filling the gap");
    assert_eq!(
        a.hearth
            .db
            .remote_guild(gid_a)
            .await
            .unwrap()
            .unwrap()
            .applied_seq,
        head
    );
    assert!(
        a.hearth
            .db
            .replica_event(gid_a, head - 1)
            .await
            .unwrap()
            .is_some(),
        "the missing event was pulled"
    );
    let h = f
        .alice()
        .get(&format!("/channels/{}/messages?limit=2", f.general_a))
        .await;
    let contents: Vec<String> = h
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["content"]))
        .collect();
    assert_eq!(
        contents,
        vec!["second of two".to_string(), "first of two".to_string()]
    );
}

#[tokio::test]
async fn key_rotation_keeps_the_conversation_verifiable() {
    let f = fed().await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let mut carol_gw = Gw::identify(c, &f.carol_tok, ALL).await;
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "before rotation"}),
        )
        .await;
    assert_eq!(
        carol_gw.expect("MESSAGE_CREATE").await["content"],
        "before rotation"
    );
    let gid_b: i64 = f.gid_b.parse().unwrap();
    let (old_head, _) = b.hearth.db.log_head(gid_b).await.unwrap().unwrap();
    // The host rotates: new events carry the new key, which peers fetch on first sight.
    let old_key = b.fed.keyring.current().key_id().to_string();
    b.fed.rotate_key().await.unwrap();
    assert_ne!(b.fed.keyring.current().key_id(), old_key);
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "after rotation"}),
        )
        .await;
    assert_eq!(
        carol_gw.expect("MESSAGE_CREATE").await["content"],
        "after rotation"
    );
    // A member rotates too: its relayed actions still verify at the host, and at the other
    // member servers, which had cached its old key document (spec/federation.md §3.4: on a
    // failed verification the origin's document is refetched as well as the host's).
    let r = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "a before rotating"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        carol_gw.expect("MESSAGE_CREATE").await["content"],
        "a before rotating"
    );
    let a_old_key = a.fed.keyring.current().key_id().to_string();
    assert!(
        hearth_federation::server_key::KeyLookup::lookup(&c.fed.client.keys(), A, &a_old_key)
            .is_some(),
        "c cached a's key document"
    );
    a.fed.rotate_key().await.unwrap();
    let r = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "a rotated"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        carol_gw.expect("MESSAGE_CREATE").await["content"],
        "a rotated"
    );
    // Events signed by the old key still verify (old keys stay in the key document).
    let old = b.hearth.db.log_range(gid_b, old_head - 1, 1).await.unwrap();
    let ev: Value = serde_json::from_str(&old[0].event).unwrap();
    c.fed.client.refresh_server_keys(B).await.unwrap();
    let verified = { hearth_federation::event::verify_event(&ev, &c.fed.client.keys()) };
    assert!(verified.is_ok(), "{verified:?}");
}

#[tokio::test]
async fn an_action_with_a_forged_origin_signature_is_refused() {
    let f = fed().await;
    let a = f.net.server(A);
    let request = json!({"op": "message_create", "channel_id": f.general_b, "message_id": null, "emoji": null, "body": {"content": "forged origin"}});
    let forged = f
        .alice_message_action("forged1", hearth::s2s::now_ms(), &request)
        .sign(&hearth_federation::keys::ServerKey::generate())
        .unwrap();
    let path = format!("/_hearth/federation/v1/guilds/{}/actions", f.gid_b);
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": forged, "content": request})),
        )
        .await;
    assert!(
        matches!(
            r,
            Err(hearth::s2s::FedError::Remote {
                status: 401 | 403,
                ..
            })
        ),
        "{r:?}"
    );
    // Tampered content under a genuine signature is refused as well.
    let genuine = f
        .alice_message_action("tamper1", hearth::s2s::now_ms(), &request)
        .sign(&a.fed.keyring.current())
        .unwrap();
    let mut changed = request.clone();
    changed["body"]["content"] = json!("changed in transit");
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": genuine, "content": changed})),
        )
        .await;
    assert!(r.is_err(), "{r:?}");
    let hist = f
        .bob()
        .get(&format!("/channels/{}/messages?limit=10", f.general_b))
        .await;
    assert!(
        !hist
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"] == "forged origin" || m["content"] == "changed in transit")
    );
}

/// spec/federation.md §4.3: every logged payload must be canonical JSON (integers within
/// ±(2^53−1), no floats). Each entrance that could carry a free-form number (message create
/// and edit, webhook execution, an action relayed by a member server, and a signed action
/// sent straight to the host) refuses a non-canonical embed with 400 50035 before anything
/// is stored or logged, and an embed at the bound is logged and federated intact.
#[tokio::test]
async fn numbers_that_cannot_be_hashed_are_refused_at_every_entrance_and_the_bound_federates() {
    let f = fed().await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let mut alice_gw = Gw::identify(a, &f.alice_tok, ALL).await;
    // Nested beyond canonical JSON's 64 levels once wrapped in an event.
    let mut deep = json!(1);
    for _ in 0..70 {
        deep = json!([deep]);
    }
    let bad_embeds = [
        json!([{"title": "float", "color": 1.5}]),
        json!([{"title": "huge", "color": 9_007_199_254_740_992_u64}]),
        json!([{"title": "nested", "fields": [{"name": "n", "value": "v", "x": -1e300}]}]),
        json!([{"title": "deep", "x": deep}]),
    ];
    let msgs_b = format!("/channels/{}/messages", f.general_b);
    let msgs_a = format!("/channels/{}/messages", f.general_a);
    let head = f.host_head().await;
    for embeds in &bad_embeds {
        // On the host, by its own user.
        let r = f.bob().post(&msgs_b, json!({"embeds": embeds})).await;
        crate::harness::assert_err(&r, 400, 50035);
        // Relayed from a member server.
        let r = f.alice().post(&msgs_a, json!({"embeds": embeds})).await;
        crate::harness::assert_err(&r, 400, 50035);
    }
    // An edit and a webhook execution carrying one are refused too.
    let mid = s(&f
        .bob()
        .post(&msgs_b, json!({"content": "plain"}))
        .await
        .body["id"]);
    alice_gw.expect("MESSAGE_CREATE").await;
    let r = f
        .bob()
        .patch(&format!("{msgs_b}/{mid}"), json!({"embeds": bad_embeds[0]}))
        .await;
    crate::harness::assert_err(&r, 400, 50035);
    let hook = f
        .bob()
        .post(
            &format!("/channels/{}/webhooks", f.general_b),
            json!({"name": "numbers"}),
        )
        .await;
    assert_eq!(hook.status, 200, "{hook:?}");
    let exec = format!(
        "/webhooks/{}/{}?wait=true",
        s(&hook.body["id"]),
        s(&hook.body["token"])
    );
    let r = b.anon().post(&exec, json!({"embeds": bad_embeds[1]})).await;
    crate::harness::assert_err(&r, 400, 50035);
    // A signed action sent straight to the host by alice's server, bypassing its client API:
    // its content cannot be hashed, so the signature covers a stand-in's hash; the host
    // refuses it as not canonical (spec/federation.md §4.3) before anything else.
    let request = json!({"op": "message_create", "channel_id": f.general_b, "message_id": null,
        "emoji": null, "body": {"embeds": [{"title": "direct", "color": 0.5}]}});
    let stand_in = json!({"op": "message_create", "channel_id": f.general_b, "message_id": null,
        "emoji": null, "body": {"embeds": [{"title": "direct", "color": 0}]}});
    let action = f
        .alice_message_action("unhashable1", hearth::s2s::now_ms(), &stand_in)
        .sign(&a.fed.keyring.current())
        .unwrap();
    let path = format!("/_hearth/federation/v1/guilds/{}/actions", f.gid_b);
    let r = a
        .fed
        .request(
            B,
            Method::POST,
            &path,
            Some(&json!({"action": action, "content": request})),
        )
        .await;
    assert!(
        matches!(
            &r,
            Err(hearth::s2s::FedError::Remote { status: 400, errcode, .. })
                if errcode == "H_NOT_CANONICAL"
        ),
        "{r:?}"
    );
    // Nothing of the refused ones was stored or logged.
    for needle in ["float", "huge", "nested", "deep", "direct"] {
        assert!(!db_contains(b, needle).await, "{needle} stored on the host");
    }
    // (The message "plain" and the webhook's creation were logged meanwhile.)
    let after_refusals = f.host_head().await;
    assert!(after_refusals > head);
    // At the bound, the embed is logged and reaches the member server unchanged.
    let ok = f
        .bob()
        .post(
            &msgs_b,
            json!({"embeds": [{"title": "bound", "color": 16_711_680,
                "fields": [{"name": "max", "value": "9007199254740991"}]}]}),
        )
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let got = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(got["embeds"][0]["title"], "bound");
    assert_eq!(got["embeds"][0]["color"], 16_711_680);
    f.host_head_reaches("the bound embed logged", after_refusals + 1)
        .await;
}

/// Waits for a PRESENCE_UPDATE about `handle` (others are skipped).
async fn presence_of(gw: &mut Gw, handle: &str) -> Value {
    for _ in 0..20 {
        let p = gw.expect("PRESENCE_UPDATE").await;
        if p["user"]["handle"] == handle {
            return p;
        }
    }
    panic!("no presence of {handle}");
}

#[tokio::test]
async fn presence_and_typing_cross_servers_as_lossy_notices() {
    use crate::gateway::{GUILD_MESSAGE_TYPING, GUILD_PRESENCES};
    let f = fed().await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let intents = GUILDS | GUILD_PRESENCES | GUILD_MESSAGE_TYPING;
    let mut bob_gw = Gw::identify(b, &f.bob_tok, intents).await;
    let mut carol_gw = Gw::identify(c, &f.carol_tok, intents).await;
    // Alice comes online on a: the host and the third server see it, in their own ids.
    let mut alice_gw = Gw::identify(a, &f.alice_tok, intents).await;
    let alice = format!("alice@{A}");
    let pb = presence_of(&mut bob_gw, &alice).await;
    assert_eq!(
        (pb["status"].as_str(), pb["guild_id"].as_str()),
        (Some("online"), Some(f.gid_b.as_str()))
    );
    let pc = presence_of(&mut carol_gw, &alice).await;
    assert_eq!(pc["guild_id"], f.gid_c.as_str());
    // She goes idle with an activity.
    alice_gw.send(json!({"op": 3, "d": {"since": null, "activities": [{"name": "federating", "type": 0}], "status": "idle", "afk": false}})).await;
    let pc = presence_of(&mut carol_gw, &alice).await;
    assert_eq!(
        (pc["status"].as_str(), pc["activities"][0]["name"].as_str()),
        (Some("idle"), Some("federating"))
    );
    // Typing in general reaches both other servers.
    assert_eq!(
        f.alice()
            .post(&format!("/channels/{}/typing", f.general_a), json!({}))
            .await
            .status,
        204
    );
    let t = bob_gw.expect("TYPING_START").await;
    assert_eq!(t["channel_id"], f.general_b.as_str());
    let t = carol_gw.expect("TYPING_START").await;
    assert_eq!(t["channel_id"], f.general_c.as_str());
    // Typing in a channel c's members cannot see does not reach c.
    let staff = f.bob().post(&format!("/guilds/{}/channels", f.gid_b), json!({"name": "staff", "permission_overwrites": [{"id": f.gid_b, "type": 0, "allow": "0", "deny": "1024"}]})).await;
    let staff_b = s(&staff.body["id"]);
    assert_eq!(
        f.bob()
            .post(&format!("/channels/{staff_b}/typing"), json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        f.bob()
            .post(&format!("/channels/{}/typing", f.general_b), json!({}))
            .await
            .status,
        204
    );
    let t = carol_gw.expect("TYPING_START").await;
    assert_eq!(
        t["channel_id"],
        f.general_c.as_str(),
        "the hidden channel's typing must not reach c"
    );
}

/// Spec §8.3, §9.2, §15: events travel in batches and pull pages bounded by bytes, and an
/// event above the federation event cap (the host raised its client body limit) travels as
/// its `too_large` stub, so neither pushes nor a catch-up by pull ever stall on size.
#[tokio::test]
async fn large_events_travel_in_byte_bounded_batches_and_pages_and_never_stall() {
    const MIB: usize = 1024 * 1024;
    let mut f = fed_with(|name, cfg| {
        if name == B {
            cfg.limits.max_body_bytes = 12 * MIB;
        }
    })
    .await;
    f.net.server_mut(A).stop_keeping_data().await;
    let c = f.net.server(C);
    let mut gw_c = Gw::identify(c, &f.carol_tok, ALL).await;
    let h0 = f.host_head().await;
    let big = |i: usize, bytes: usize| json!({"content": format!("big {i}"), "embeds": [{"footer": {"text": "x".repeat(bytes)}}]});
    // Six events of 1.5 MiB (9 MiB in all: more than a batch, a page and a response cap),
    // then one of 9 MiB (above the event cap), then a small one.
    for i in 0..6 {
        let r = f
            .bob()
            .post(
                &format!("/channels/{}/messages", f.general_b),
                big(i, 3 * MIB / 2),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    let r = f
        .bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            big(6, 9 * MIB),
        )
        .await;
    assert_eq!(r.status, 200, "the host's client limit allows it");
    let r = f
        .bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "after the big ones"}),
        )
        .await;
    assert_eq!(r.status, 200);
    f.host_head_reaches("the eight messages are logged", h0 + 8)
        .await;
    let head = f.host_head().await;

    // Pushes to c: every message arrives, in order; the oversized one as a stub (nothing
    // applied), and the one after it still arrives.
    for i in 0..6 {
        let m = gw_c.expect("MESSAGE_CREATE").await;
        assert_eq!(m["content"], format!("big {i}"));
        assert_eq!(
            m["embeds"][0]["footer"]["text"].as_str().map(str::len),
            Some(3 * MIB / 2)
        );
    }
    let m = gw_c.expect("MESSAGE_CREATE").await;
    assert_eq!(m["content"], "after the big ones");
    let gid_b: i64 = f.gid_b.parse().unwrap();
    let b = f.net.server(B);
    eventually("b's cursor for c reaches the head", || async {
        b.hearth
            .db
            .peer(gid_b, C)
            .await
            .unwrap()
            .is_some_and(|p| p.acked_seq >= head)
    })
    .await;

    // A pull page is bounded by bytes (4 MiB of events at most, at least one event) and
    // carries the oversized event as its stub.
    let path =
        |from: i64| format!("/_hearth/federation/v1/guilds/{gid_b}/events?from={from}&limit=500");
    let page = c
        .fed
        .request(B, Method::GET, &path(h0), None)
        .await
        .unwrap();
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "two 1.5 MiB events fill a 4 MiB page");
    assert_eq!(events[0]["seq"], h0 + 1);
    let mut from = h0;
    let mut stubs = Vec::new();
    while from < head {
        let page = c
            .fed
            .request(B, Method::GET, &path(from), None)
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        assert!(!events.is_empty(), "a page below the head is never empty");
        assert!(
            page.to_string().len() <= 8 * MIB,
            "a page fits the response cap"
        );
        for e in events {
            if e["unsigned"]["content_state"] == "too_large" {
                assert!(e.get("content").is_none());
                stubs.push(e["seq"].as_i64().unwrap());
            }
        }
        from = events.last().unwrap()["seq"].as_i64().unwrap();
    }
    assert_eq!(stubs, vec![h0 + 7], "only the 9 MiB event is a stub");
    drop(gw_c);

    // a, back after missing everything, catches up (pull at start-up, pushes) to the head.
    f.net.server_mut(A).start_again().await;
    let contents: Vec<String> = f.a_caught_up_to(head).await.into_iter().take(7).collect();
    let mut expected = vec!["after the big ones".to_string()];
    expected.extend((0..6).rev().map(|i| format!("big {i}")));
    assert_eq!(
        contents, expected,
        "all, in order, once; not the oversized one"
    );
    f.b_acked_a_to(head).await;
}

/// `{action, content}` for a `message_create` of `text` by alice, signed by a for `txn` at
/// `origin_ts`.
fn alice_says(f: &Fed, txn: &str, text: &str, origin_ts: u64) -> Value {
    let request = json!({"op": "message_create", "channel_id": f.general_b, "message_id": null, "emoji": null, "body": {"content": text}});
    let action = f
        .alice_message_action(txn, origin_ts, &request)
        .sign(&f.net.server(A).fed.keyring.current())
        .unwrap();
    json!({"action": action, "content": request})
}

/// A request from a to b with `body` sent byte for byte (signed now by a, over TLS):
/// status, `Content-Type` and the JSON answer.
async fn raw_from_a(f: &Fed, method: Method, path: &str, body: &[u8]) -> (u16, String, Value) {
    let a = f.net.server(A);
    let auth = a.fed.client.authorization(B, &method, path, body).unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&f.net.ca_pem).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .resolve(B, f.net.server(B).federation_addr.unwrap())
        .build()
        .unwrap();
    let r = http
        .request(method, format!("https://{B}:{}{path}", f.net.port))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, ctype, v)
}

/// How many messages of the host's `general` read `text`.
async fn count_on_host(f: &Fed, text: &str) -> usize {
    let hist = f
        .bob()
        .get(&format!("/channels/{}/messages?limit=100", f.general_b))
        .await;
    hist.body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content"] == text)
        .count()
}

/// Runs one statement on a server's database.
async fn exec_sql(srv: &TestServer, q: &str) {
    match &*srv.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            sqlx::query(sqlx::AssertSqlSafe(q))
                .execute(p)
                .await
                .unwrap();
        }
        hearth_db::Db::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(q))
                .execute(p)
                .await
                .unwrap();
        }
    }
}

/// spec/federation.md §6.6, §10.5: a relayed action runs once per `(origin, txn_id)`; two
/// concurrent copies, a copy sent after the skew window with a fresh request signature, and
/// a copy after the host stopped between running it and storing its answer all get the
/// first answer (200, `application/json`), and one message exists.
#[tokio::test]
async fn a_relayed_action_runs_once_and_every_copy_gets_the_first_answer() {
    let f = fed().await;
    let a = f.net.server(A);
    let path = format!("/_hearth/federation/v1/guilds/{}/actions", f.gid_b);
    let now = hearth::s2s::now_ms();

    // Two copies at once (each request signed on its own): one runs, the other waits for
    // its answer.
    let body = alice_says(&f, "once1", "said once", now);
    let (r1, r2) = tokio::join!(
        a.fed.request(B, Method::POST, &path, Some(&body)),
        a.fed.request(B, Method::POST, &path, Some(&body)),
    );
    let first = r1.expect("first copy");
    assert_eq!(r2.expect("concurrent copy"), first);
    assert_eq!(first["result"]["content"], "said once");
    assert_eq!(count_on_host(&f, "said once").await, 1);

    // A late retry: its action was signed 6 minutes ago (beyond the 5-minute skew window;
    // to the host this is the same action resent 6 minutes later), the request is signed
    // now. The first answer, as JSON.
    let late = alice_says(&f, "once1", "said once", now - 6 * 60 * 1000);
    let (status, ctype, answer) =
        raw_from_a(&f, Method::POST, &path, late.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ctype, "application/json");
    assert_eq!(answer, first);
    assert_eq!(count_on_host(&f, "said once").await, 1);

    // An action that old which never ran is refused, and does not run.
    let stale = alice_says(&f, "stale1", "too late", now - 6 * 60 * 1000);
    let (status, _, err) = raw_from_a(&f, Method::POST, &path, stale.to_string().as_bytes()).await;
    assert_eq!(
        (status, err["errcode"].as_str()),
        (401, Some("H_CLOCK_SKEW")),
        "{err}"
    );
    assert_eq!(count_on_host(&f, "too late").await, 0);

    // The host stopped after the action's change committed (its record is written in that
    // transaction) but before storing the answer: a retry gets the answer rebuilt from the
    // record, and nothing runs again.
    let body = alice_says(&f, "once2", "crash in between", hearth::s2s::now_ms());
    let first = a
        .fed
        .request(B, Method::POST, &path, Some(&body))
        .await
        .expect("first copy");
    exec_sql(
        f.net.server(B),
        &format!(
            "UPDATE federation_txns SET result = '' WHERE origin = '{A}' AND txn_id = 'once2'"
        ),
    )
    .await;
    let again = a
        .fed
        .request(B, Method::POST, &path, Some(&body))
        .await
        .expect("retry");
    assert_eq!(again["result"]["id"], first["result"]["id"]);
    assert_eq!(again["result"]["content"], "crash in between");
    assert_eq!(count_on_host(&f, "crash in between").await, 1);

    // A refused action has no record: once the cause is fixed, the same txn runs.
    let missing = alice_says(&f, "once3", "", hearth::s2s::now_ms());
    let r = a.fed.request(B, Method::POST, &path, Some(&missing)).await;
    assert!(
        matches!(&r, Err(hearth::s2s::FedError::Remote { status: 400, .. })),
        "{r:?}"
    );
    let n: i64 = f
        .net
        .server(B)
        .hearth
        .db
        .txn_record(A, "once3")
        .await
        .unwrap()
        .map_or(0, |_| 1);
    assert_eq!(n, 0);
}

/// spec/federation.md §4.3: a signed body with a duplicated key is refused (400
/// `H_MALFORMED`, naming the key) before anything is applied, whichever copy a parser would
/// keep.
#[tokio::test]
async fn a_signed_body_with_a_duplicated_key_is_refused_and_nothing_is_applied() {
    let f = fed().await;
    let path = format!("/_hearth/federation/v1/guilds/{}/actions", f.gid_b);
    // The action signs the last copy of `content`, which a parser keeping the last
    // duplicate would run.
    let signed = alice_says(&f, "dup1", "the last copy", hearth::s2s::now_ms());
    let text = signed.to_string();
    let dup = text.replacen(
        r#""content":"the last copy""#,
        r#""content":"the first copy","content":"the last copy""#,
        1,
    );
    assert_ne!(dup, text);
    let (status, _, err) = raw_from_a(&f, Method::POST, &path, dup.as_bytes()).await;
    assert_eq!(
        (status, err["errcode"].as_str()),
        (400, Some("H_MALFORMED")),
        "{err}"
    );
    assert!(
        err["error"].as_str().unwrap().contains("duplicate key"),
        "{err}"
    );
    // A duplicated member at the top of a push body too.
    let (status, _, err) = raw_from_a(
        &f,
        Method::PUT,
        "/_hearth/federation/v1/send/dup2",
        br#"{"events": [], "events": []}"#,
    )
    .await;
    assert_eq!(
        (status, err["errcode"].as_str()),
        (400, Some("H_MALFORMED")),
        "{err}"
    );
    // A float is not canonical.
    let (status, _, err) = raw_from_a(
        &f,
        Method::PUT,
        "/_hearth/federation/v1/send/dup3",
        br#"{"events": [], "edus": [], "x": 1.5}"#,
    )
    .await;
    assert_eq!(
        (status, err["errcode"].as_str()),
        (400, Some("H_NOT_CANONICAL")),
        "{err}"
    );
    assert_eq!(count_on_host(&f, "the last copy").await, 0);
    assert_eq!(count_on_host(&f, "the first copy").await, 0);
    assert!(
        f.net
            .server(B)
            .hearth
            .db
            .txn_record(A, "dup1")
            .await
            .unwrap()
            .is_none()
    );
    // The same action without the duplicate runs.
    let (status, _, ok) = raw_from_a(&f, Method::POST, &path, text.as_bytes()).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(count_on_host(&f, "the last copy").await, 1);
}
