//! READY and GUILD_CREATE of a session start served from the gateway's guild snapshots and a
//! fixed number of batched storage calls (issue 21): the content is that of the REST API
//! (`GET /users/@me/channels`, `GET /users/@me/relationships`, the guild's roles and
//! channels, the read states with their mention counts), and the storage calls do not grow
//! with the user's guilds, DMs and read states.

use serde_json::{Value, json};

use hearth::service::snapshot::{GuildSnapshot, guild_create};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::{
    Client, TestServer, create_guild, create_role, give_role, ids, join, perm, s, say,
};

/// What the test built for bob, in order of creation.
#[derive(Default)]
struct Built {
    /// `(guild id, general channel id, hidden channel id)`.
    guilds: Vec<(String, String, String)>,
    /// Bob's read states: `(guild id or None, channel id, acked message id, mentions after)`.
    acks: Vec<(Option<String>, String, String, i64)>,
    dms: Vec<String>,
    blocks: usize,
}

/// Adds `k` guilds of alice that bob joins (a role for bob in every other one, a channel
/// hidden from @everyone, a read state with one mention after it) and `k` DMs of bob with
/// fresh users (a read state each), and one block.
async fn grow(
    ts: &TestServer,
    alice: &Client,
    bob: &Client,
    bob_id: &str,
    b: &mut Built,
    k: usize,
) {
    for i in 0..k {
        let n = b.guilds.len();
        let g = create_guild(alice, &format!("g{n}")).await;
        join(bob, &g.invite).await;
        if i % 2 == 0 {
            let role = create_role(alice, &g.id, &format!("crew{n}"), 0).await;
            give_role(alice, &g.id, bob_id, &role).await;
        }
        let hidden = alice
            .post(
                &format!("/guilds/{}/channels", g.id),
                json!({"name": "staff", "type": 0, "permission_overwrites": [
                    {"id": g.id, "type": 0, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}]}),
            )
            .await;
        assert_eq!(hidden.status, 201, "{hidden:?}");
        let hidden = s(&hidden.body["id"]);
        let first = say(alice, &g.general, "hello").await;
        ack(bob, &g.general, &first).await;
        say(alice, &g.general, &format!("hi <@{bob_id}>")).await;
        say(alice, &g.general, "plain").await;
        b.acks
            .push((Some(g.id.clone()), g.general.clone(), first, 1));
        b.guilds.push((g.id, g.general, hidden));

        let (friend_id, friend) = ts.user(&format!("friend{n}")).await;
        let dm = bob
            .post("/users/@me/channels", json!({"recipient_id": friend_id}))
            .await;
        assert_eq!(dm.status, 200, "{dm:?}");
        let dm = s(&dm.body["id"]);
        let m = say(&friend, &dm, "psst").await;
        ack(bob, &dm, &m).await;
        say(&friend, &dm, &format!("<@{bob_id}> again")).await;
        b.acks.push((None, dm.clone(), m, 1));
        b.dms.push(dm);
    }
    let (enemy_id, _) = ts.user(&format!("enemy{}", b.guilds.len())).await;
    let r = bob
        .put(
            &format!("/users/@me/relationships/{enemy_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    b.blocks += 1;
}

async fn ack(c: &Client, channel: &str, message: &str) {
    let r = c
        .post(
            &format!("/channels/{channel}/messages/{message}/ack"),
            json!({"token": null}),
        )
        .await;
    assert_eq!(r.status, 200, "ack: {r:?}");
}

/// Identifies bob and checks READY and every GUILD_CREATE against the REST API and what
/// was built; returns the storage calls of the session start (snapshot loads apart).
async fn check_ready(ts: &TestServer, bob: &Client, tok: &str, b: &Built) -> u64 {
    let before = ts.gateway.ready_stats();
    let mut g = Gw::identify(ts, tok, GUILDS | GUILD_MESSAGES).await;
    let ready = g.ready.clone();

    // Guild ids, DMs and blocks: as the REST API answers.
    let mut want: Vec<String> = b.guilds.iter().map(|x| x.0.clone()).collect();
    want.sort_by_key(|x| x.parse::<i64>().unwrap());
    assert_eq!(ids(&ready["guilds"]), want);
    assert_eq!(
        ready["private_channels"],
        bob.get("/users/@me/channels").await.body
    );
    assert_eq!(ids(&ready["private_channels"]).len(), b.dms.len());
    assert_eq!(
        ready["relationships"],
        bob.get("/users/@me/relationships").await.body
    );
    assert_eq!(ready["relationships"].as_array().unwrap().len(), b.blocks);

    // Read states: DMs first, then by guild id, each by channel id; one mention after each.
    let mut acks: Vec<_> = b.acks.iter().collect();
    acks.sort_by_key(|(g, c, _, _)| {
        (
            g.as_ref().map(|g| g.parse::<i64>().unwrap()),
            c.parse::<i64>().unwrap(),
        )
    });
    let entries: Vec<Value> = acks
        .iter()
        .map(|(_, c, m, n)| {
            json!({"id": c, "last_message_id": m, "mention_count": n,
                   "last_pin_timestamp": null, "flags": 0})
        })
        .collect();
    assert_eq!(ready["read_state"]["entries"], json!(entries));
    assert_eq!(ready["read_state"]["partial"], false);
    assert_eq!(ready["read_state"]["version"], b.acks.len());

    // One GUILD_CREATE per guild, with what the REST API shows.
    for _ in 0..b.guilds.len() {
        let gc = g.expect("GUILD_CREATE").await;
        let (gid, general, hidden) = b
            .guilds
            .iter()
            .find(|x| x.0 == s(&gc["id"]))
            .expect("a guild of bob");
        let roles = bob.get(&format!("/guilds/{gid}/roles")).await.body;
        assert_eq!(
            sorted(ids(&gc["roles"])),
            sorted(ids(&roles)),
            "roles of {gid}"
        );
        let chans = bob.get(&format!("/guilds/{gid}/channels")).await.body;
        assert_eq!(
            sorted(ids(&gc["channels"])),
            sorted(ids(&chans)),
            "visible channels of {gid}"
        );
        assert!(!ids(&gc["channels"]).contains(hidden));
        let gen_rest = bob.get(&format!("/channels/{general}")).await.body;
        let gen_gc = gc["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == general.as_str())
            .unwrap();
        assert_eq!(gen_gc["last_message_id"], gen_rest["last_message_id"]);
        assert!(gen_gc["last_message_id"].is_string());
        let members = bob
            .get(&format!("/guilds/{gid}/members?limit=100"))
            .await
            .body;
        assert_eq!(
            member_roles(&gc["members"]),
            member_roles(&members),
            "members of {gid}"
        );
        assert_eq!(gc["member_count"], 2);
        assert_eq!(gc["large"], false);
        assert!(gc["joined_at"].is_string());
    }
    let after = ts.gateway.ready_stats();
    assert_eq!(after.readies, before.readies + 1);
    after.last_calls
}

/// Storage calls of READY and the GUILD_CREATEs built per DM, per read state and per guild
/// (`Hearth::read_state`, `my_dms`, `relationships`, `snapshot::guild_create`: the session
/// start before issue 21, still the REST and guild-join paths), snapshots loaded beforehand.
async fn calls_per_item(ts: &TestServer, tok: &str, bob_id: &str) -> u64 {
    let h = ts.hearth.clone();
    let actor = h.authenticate(tok).await.expect("bob's token");
    let uid: i64 = bob_id.parse().unwrap();
    let mut snaps = vec![];
    for g in h.db.guild_ids_of(uid).await.unwrap() {
        snaps.push(GuildSnapshot::load(&h, g).await.unwrap().unwrap());
    }
    let none = |_: i64| None;
    let (_, calls) = hearth::storage::counting(async {
        h.read_state(&actor).await.unwrap();
        h.my_dms(&actor).await.unwrap();
        h.relationships(&actor).await.unwrap();
        for snap in &snaps {
            guild_create(&h, snap, uid, 50, &none)
                .await
                .unwrap()
                .unwrap();
        }
    })
    .await;
    calls
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `(user id, role ids)` of a list of members.
fn member_roles(v: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = v
        .as_array()
        .unwrap_or_else(|| panic!("members: {v}"))
        .iter()
        .map(|m| (s(&m["user"]["id"]), m["roles"].clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn ready_reads_a_fixed_number_of_times_however_many_guilds_dms_and_read_states() {
    let ts = TestServer::start().await;
    let (_, alice) = ts.user("alice").await;
    let (bob_id, tok) = ts.register("bob").await;
    let bob = ts.client(&tok);
    let mut b = Built::default();

    grow(&ts, &alice, &bob, &bob_id, &mut b, 2).await;
    let small = check_ready(&ts, &bob, &tok, &b).await;
    let per_item_small = calls_per_item(&ts, &tok, &bob_id).await;
    grow(&ts, &alice, &bob, &bob_id, &mut b, 4).await;
    let large = check_ready(&ts, &bob, &tok, &b).await;
    let per_item_large = calls_per_item(&ts, &tok, &bob_id).await;
    eprintln!(
        "READY + GUILD_CREATEs storage calls: per item {per_item_small} (2 guilds, 2 DMs, 4 read \
         states) / {per_item_large} (6, 6, 12); batched {small} / {large}"
    );
    assert!(per_item_large > per_item_small, "the per-item path grows");
    assert_eq!(
        small, large,
        "storage calls of READY with 2 guilds/DMs vs 6 guilds/DMs"
    );
    assert!(large <= 18, "{large} storage calls");
    assert!(large > 0, "the counter counts");
}
