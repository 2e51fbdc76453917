//! Guild scheduled events across federation (issue 15, spec/federation.md §6.5, §8.2,
//! §8.6): bob hosts the guild on b, alice (a) and carol (c) are members through their own
//! servers, over real TLS and DNS. The host's events and the interest in them reach the
//! member servers with their gateway events and their lists; a member shows interest
//! through her own server; an event in a channel a server's users cannot see never reaches
//! it; creating an event is administrative and refused on a replica; a server joining
//! later gets the open events with its snapshot.

use serde_json::{Value, json};

use crate::federation_guilds::{A, B, C, db_contains, fed_with};
use crate::gateway::{GUILDS, Gw};
use crate::harness::{create_guild, s};
use crate::network::TestNetwork;

const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
const INTENTS: u64 = GUILDS | GUILD_SCHEDULED_EVENTS;
const HOUR: i64 = 3600 * 1000;

fn iso_in(ms: i64) -> String {
    let at = chrono::Utc::now().timestamp_millis() + ms;
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap()
        .to_rfc3339()
}

fn external(name: &str) -> Value {
    json!({
        "name": name, "privacy_level": 2, "entity_type": 3,
        "scheduled_start_time": iso_in(HOUR),
        "scheduled_end_time": iso_in(2 * HOUR),
        "entity_metadata": {"location": "The park"},
    })
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|e| s(&e["name"]))
        .collect()
}

#[tokio::test]
async fn scheduled_events_and_interest_cross_servers() {
    let f = fed_with(|_, _| {}).await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let mut gw_a = Gw::identify(a, &f.alice_tok, INTENTS).await;
    let mut gw_b = Gw::identify(b, &f.bob_tok, INTENTS).await;
    let mut gw_c = Gw::identify(c, &f.carol_tok, INTENTS).await;

    // The host's event reaches both member servers in their own ids, with its recurrence
    // rule (every Wednesday).
    let mut body = external("picnic");
    body["recurrence_rule"] = json!({"frequency": 2, "interval": 1, "by_weekday": [2]});
    let ev = f
        .bob()
        .post(&format!("/guilds/{}/scheduled-events", f.gid_b), body)
        .await;
    assert_eq!(ev.status, 200, "{ev:?}");
    let ev_b = s(&ev.body["id"]);
    let d = gw_a.expect("GUILD_SCHEDULED_EVENT_CREATE").await;
    let ev_a = s(&d["id"]);
    assert_ne!(ev_a, ev_b);
    assert_eq!(d["guild_id"], f.gid_a.as_str());
    assert_eq!(d["name"], "picnic");
    assert_eq!(d["entity_metadata"]["location"], "The park");
    assert_eq!(d["recurrence_rule"], ev.body["recurrence_rule"]);
    assert_eq!(d["recurrence_rule"]["by_weekday"], json!([2]));
    gw_c.expect("GUILD_SCHEDULED_EVENT_CREATE").await;
    let listed = f
        .alice()
        .get(&format!("/guilds/{}/scheduled-events", f.gid_a))
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(names(&listed.body), vec!["picnic"]);
    assert_eq!(
        listed.body[0]["recurrence_rule"],
        ev.body["recurrence_rule"]
    );

    // Alice is interested through a: the host records it, everyone is told.
    let i = f
        .alice()
        .put(
            &format!("/guilds/{}/scheduled-events/{ev_a}/users/@me", f.gid_a),
            json!({}),
        )
        .await;
    assert_eq!(i.status, 204, "relayed interest: {i:?}");
    let d = gw_b.expect("GUILD_SCHEDULED_EVENT_USER_ADD").await;
    assert_eq!(d["guild_scheduled_event_id"], ev_b.as_str());
    let users = f
        .bob()
        .get(&format!(
            "/guilds/{}/scheduled-events/{ev_b}/users",
            f.gid_b
        ))
        .await;
    assert_eq!(users.body[0]["user"]["handle"], format!("alice@{A}"));
    let d = gw_a.expect("GUILD_SCHEDULED_EVENT_USER_ADD").await;
    assert_eq!(d["guild_scheduled_event_id"], ev_a.as_str());
    assert_eq!(d["guild_id"], f.gid_a.as_str());
    let counted = f
        .alice()
        .get(&format!(
            "/guilds/{}/scheduled-events/{ev_a}?with_user_count=true",
            f.gid_a
        ))
        .await;
    assert_eq!(counted.body["user_count"], 1, "{counted:?}");
    let d = gw_c.expect("GUILD_SCHEDULED_EVENT_USER_ADD").await;
    assert_eq!(d["guild_id"], f.gid_c.as_str());

    // The host changes it; the members follow.
    let up = f
        .bob()
        .patch(
            &format!("/guilds/{}/scheduled-events/{ev_b}", f.gid_b),
            json!({"name": "picnic at noon"}),
        )
        .await;
    assert_eq!(up.status, 200, "{up:?}");
    let d = gw_a
        .expect_where("GUILD_SCHEDULED_EVENT_UPDATE", |d| {
            d["name"] == "picnic at noon"
        })
        .await;
    assert_eq!(d["id"], ev_a.as_str());

    // Creating an event needs CREATE_EVENTS, administrative: refused on a replica.
    let no = f
        .alice()
        .post(
            &format!("/guilds/{}/scheduled-events", f.gid_a),
            external("alice's party"),
        )
        .await;
    assert_eq!(no.status, 403, "{no:?}");
    assert_eq!(no.body["code"], 50001);

    // An event in a voice channel only bob's role can see never reaches a or c.
    let hidden = f
        .bob()
        .post(
            &format!("/guilds/{}/channels", f.gid_b),
            json!({"name": "staff voice", "type": 2, "permission_overwrites": [
                {"id": f.gid_b, "type": 0, "allow": "0", "deny": (1u64 << 10).to_string()}
            ]}),
        )
        .await;
    assert_eq!(hidden.status, 201, "{hidden:?}");
    let secret = f
        .bob()
        .post(
            &format!("/guilds/{}/scheduled-events", f.gid_b),
            json!({"name": "secret meeting", "privacy_level": 2, "entity_type": 2,
                   "channel_id": s(&hidden.body["id"]),
                   "scheduled_start_time": iso_in(HOUR)}),
        )
        .await;
    assert_eq!(secret.status, 200, "{secret:?}");
    // A barrier: a later event every server sees.
    let barrier = f
        .bob()
        .post(
            &format!("/guilds/{}/scheduled-events", f.gid_b),
            external("barrier"),
        )
        .await;
    assert_eq!(barrier.status, 200);
    let d = gw_a.expect("GUILD_SCHEDULED_EVENT_CREATE").await;
    assert_eq!(d["name"], "barrier", "the secret event never reached a");
    assert!(!db_contains(a, "secret meeting").await);
    assert!(!db_contains(c, "secret meeting").await);
    let listed = f
        .alice()
        .get(&format!("/guilds/{}/scheduled-events", f.gid_a))
        .await;
    assert_eq!(names(&listed.body), vec!["picnic at noon", "barrier"]);

    // Alice withdraws her interest; bob deletes the event: it goes from a's lists.
    let w = f
        .alice()
        .delete(&format!(
            "/guilds/{}/scheduled-events/{ev_a}/users/@me",
            f.gid_a
        ))
        .await;
    assert_eq!(w.status, 204, "{w:?}");
    let d = gw_b.expect("GUILD_SCHEDULED_EVENT_USER_REMOVE").await;
    assert_eq!(d["guild_scheduled_event_id"], ev_b.as_str());
    let del = f
        .bob()
        .delete(&format!("/guilds/{}/scheduled-events/{ev_b}", f.gid_b))
        .await;
    assert_eq!(del.status, 204, "{del:?}");
    let d = gw_a.expect("GUILD_SCHEDULED_EVENT_DELETE").await;
    assert_eq!(d["id"], ev_a.as_str());
    let gone = f
        .alice()
        .get(&format!("/guilds/{}/scheduled-events/{ev_a}", f.gid_a))
        .await;
    assert_eq!(gone.status, 404, "{gone:?}");
    assert_eq!(gone.body["code"], 10070);
}

#[tokio::test]
async fn a_server_joining_later_gets_the_open_events_with_its_snapshot() {
    let net = TestNetwork::start(&[A, B]).await;
    let (a, b) = (net.server(A), net.server(B));
    let (_, bob) = b.user("bob").await;
    let g = create_guild(&bob, "Later").await;
    let ev = bob
        .post(
            &format!("/guilds/{}/scheduled-events", g.id),
            external("already planned"),
        )
        .await;
    assert_eq!(ev.status, 200, "{ev:?}");
    let (_, alice_tok) = a.register("alice").await;
    let mut gw = Gw::identify(a, &alice_tok, INTENTS).await;
    let alice = a.client(&alice_tok);
    let r = alice
        .post(&format!("/invites/{}@{B}", g.invite), json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let gc = gw.expect("GUILD_CREATE").await;
    let gid_a = s(&gc["id"]);
    assert_eq!(
        names(&gc["guild_scheduled_events"]),
        vec!["already planned"],
        "{gc}"
    );
    let listed = alice
        .get(&format!("/guilds/{gid_a}/scheduled-events"))
        .await;
    assert_eq!(names(&listed.body), vec!["already planned"]);
    let ev_a = s(&listed.body[0]["id"]);
    assert_ne!(ev_a, s(&ev.body["id"]));
    // Interest in it goes to the host.
    let i = alice
        .put(
            &format!("/guilds/{gid_a}/scheduled-events/{ev_a}/users/@me"),
            json!({}),
        )
        .await;
    assert_eq!(i.status, 204, "{i:?}");
    let host_users = bob
        .get(&format!(
            "/guilds/{}/scheduled-events/{}/users",
            g.id,
            s(&ev.body["id"])
        ))
        .await;
    assert_eq!(
        host_users.body[0]["user"]["handle"],
        format!("alice@{A}"),
        "{host_users:?}"
    );
}
