//! Read states (Discord's client API): `POST /channels/{id}/messages/{id}/ack`, READY's
//! `read_state` with its mention counts, and `MESSAGE_ACK` to the user's sessions.

use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw, World, world};
use crate::harness::{assert_err, create_role, give_role, perm, s};

fn ack_path(channel: &str, message: &str) -> String {
    format!("/channels/{channel}/messages/{message}/ack")
}

async fn say(c: &crate::harness::Client, channel: &str, content: &str) -> String {
    crate::harness::say(c, channel, content).await
}

/// The READY entry of `channel`, if any.
fn entry(ready: &Value, channel: &str) -> Option<Value> {
    ready["read_state"]["entries"]
        .as_array()
        .expect("read_state.entries")
        .iter()
        .find(|e| e["id"] == channel)
        .cloned()
}

async fn ack(w: &World, channel: &str, message: &str, body: Value) {
    let r = w.bob.post(&ack_path(channel, message), body).await;
    assert_eq!(r.status, 200, "ack: {r:?}");
    assert_eq!(r.body, json!({"token": null}));
}

#[tokio::test]
async fn ready_shows_acked_channels_with_their_mentions() {
    let w = world().await;
    let first = say(&w.alice, &w.general, "hello").await;
    // Discord's client body, with a field Hearth does not know.
    ack(
        &w,
        &w.general,
        &first,
        json!({"token": null, "last_viewed": 3, "mention_count": 0}),
    )
    .await;
    let role = create_role(&w.alice, &w.guild, "crew", 0).await;
    give_role(&w.alice, &w.guild, &w.bob_id, &role).await;
    let other_role = create_role(&w.alice, &w.guild, "others", 0).await;
    // Counted: bob, his role, @everyone (alice owns the guild, so she may).
    say(&w.alice, &w.general, &format!("hi <@{}>", w.bob_id)).await;
    say(&w.alice, &w.general, &format!("crew <@&{role}>")).await;
    say(&w.alice, &w.general, "@everyone look").await;
    // Not counted: no mention, someone else, a role bob lacks, bob's own mention of himself.
    say(&w.alice, &w.general, "plain").await;
    say(&w.alice, &w.general, &format!("<@{}>", w.alice_id)).await;
    say(&w.alice, &w.general, &format!("<@&{other_role}>")).await;
    say(&w.bob, &w.general, &format!("me <@{}> @everyone", w.bob_id)).await;

    let g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let rs = &g.ready["read_state"];
    assert_eq!(rs["partial"], false);
    assert_eq!(rs["version"], 1);
    assert_eq!(
        rs["entries"],
        json!([{"id": w.general, "last_message_id": first, "mention_count": 3,
                "last_pin_timestamp": null, "flags": 0}])
    );

    // A pin shows in the entry; alice, who never acked, has no entries.
    let r = w
        .alice
        .put_empty(&format!("/channels/{}/pins/{first}", w.general))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let e = entry(&g.ready, &w.general).expect("entry");
    assert!(e["last_pin_timestamp"].is_string(), "{e}");
    let g = Gw::identify(&w.ts, &w.alice_tok, GUILDS).await;
    assert_eq!(
        g.ready["read_state"],
        json!({"version": 0, "partial": false, "entries": []})
    );

    // Bob loses VIEW_CHANNEL on general: the entry is not shown any more.
    let r = w
        .alice
        .put(
            &format!("/channels/{}/permissions/{}", w.general, w.bob_id),
            json!({"type": 1, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    assert_eq!(g.ready["read_state"]["entries"], json!([]));
}

#[tokio::test]
async fn acks_move_forward_only_unless_manual_and_reach_every_session() {
    let w = world().await;
    let m1 = say(&w.alice, &w.general, "one").await;
    say(&w.alice, &w.general, &format!("two <@{}>", w.bob_id)).await;
    let m3 = say(&w.alice, &w.general, "three").await;
    // Two sessions of bob (one without any intent: MESSAGE_ACK ignores intents), one of alice.
    let mut b1 = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    let mut b2 = Gw::identify(&w.ts, &w.bob_tok, 0).await;
    let mut a = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_MESSAGES).await;

    ack(&w, &w.general, &m3, json!({"token": null})).await;
    let want = json!({"channel_id": w.general, "message_id": m3, "version": 1,
                      "mention_count": 0, "ack_type": 0});
    assert_eq!(b1.expect("MESSAGE_ACK").await, want);
    assert_eq!(b2.expect("MESSAGE_ACK").await, want);

    // An older message does not move it back.
    ack(&w, &w.general, &m1, json!({"token": null})).await;
    for g in [&mut b1, &mut b2] {
        let d = g.expect("MESSAGE_ACK").await;
        assert_eq!(
            (s(&d["message_id"]), d["version"].clone()),
            (m3.clone(), json!(2))
        );
    }

    // "Mark unread": manual sets it exactly, with the mentions left after it.
    ack(
        &w,
        &w.general,
        &m1,
        json!({"token": null, "manual": true, "mention_count": 1}),
    )
    .await;
    let d = b1.expect("MESSAGE_ACK").await;
    assert_eq!(
        d,
        json!({"channel_id": w.general, "message_id": m1, "version": 3,
               "mention_count": 1, "ack_type": 0})
    );
    b2.expect("MESSAGE_ACK").await;
    let g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let e = entry(&g.ready, &w.general).expect("entry");
    assert_eq!(
        (s(&e["last_message_id"]), e["mention_count"].clone()),
        (m1, json!(1))
    );
    assert_eq!(g.ready["read_state"]["version"], 3);

    // Alice's session never gets bob's acks (barrier: her next MESSAGE_CREATE).
    let barrier = say(&w.alice, &w.general, "barrier").await;
    a.expect_without("MESSAGE_CREATE", "MESSAGE_ACK").await;

    // GUILD_CREATE shows each channel's real newest message (what clients compare read
    // states with), though the gateway's guild cache was loaded before it was sent.
    let mut g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let gc = g.expect("GUILD_CREATE").await;
    let general = gc["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["id"] == w.general.as_str())
        .cloned()
        .expect("general");
    assert_eq!(s(&general["last_message_id"]), barrier);
}

#[tokio::test]
async fn acks_are_refused_as_discord_does() {
    let w = world().await;
    let m = say(&w.alice, &w.general, "hello").await;

    // Unknown channel, unknown message, a message of another channel.
    let r = w.bob.post(&ack_path("1", &m), json!({"token": null})).await;
    assert_err(&r, 404, 10003);
    let r = w
        .bob
        .post(&ack_path(&w.general, "1"), json!({"token": null}))
        .await;
    assert_err(&r, 404, 10008);
    let r = w
        .alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": "other"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let other = s(&r.body["id"]);
    let r = w
        .bob
        .post(&ack_path(&other, &m), json!({"token": null}))
        .await;
    assert_err(&r, 404, 10008);

    // A member without VIEW_CHANNEL there.
    let secret_msg = say(&w.alice, &other, "secret").await;
    let r = w
        .alice
        .put(
            &format!("/channels/{other}/permissions/{}", w.guild),
            json!({"type": 0, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = w
        .bob
        .post(&ack_path(&other, &secret_msg), json!({"token": null}))
        .await;
    assert_err(&r, 403, 50001);

    // Someone who is not a member.
    let (_, carol) = w.ts.user("carol").await;
    let r = carol
        .post(&ack_path(&w.general, &m), json!({"token": null}))
        .await;
    assert_err(&r, 403, 50001);

    // Bots keep no read states: 403 20001 ("Bots cannot use this endpoint").
    let bot = hearth_testkit::build::bot_application(&w.alice, "Ack Bot", 0, Some(&w.guild))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r =
        w.ts.bot(&bot.token)
            .post(&ack_path(&w.general, &m), json!({"token": null}))
            .await;
    assert_err(&r, 403, 20001);

    // Bad bodies: 400 50035, never 500.
    for body in [
        json!({"manual": "yes"}),
        json!({"mention_count": -1}),
        json!({"mention_count": "many"}),
        json!({"token": 5}),
    ] {
        let r = w.bob.post(&ack_path(&w.general, &m), body.clone()).await;
        assert_eq!((r.status, r.code()), (400, 50035), "{body}: {r:?}");
    }
    // Nothing of the refusals was stored.
    let g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    assert_eq!(g.ready["read_state"]["entries"], json!([]));
}

/// A deleted account keeps no read states (they say what it read, and when): they go in the
/// deletion's transaction, with its sessions and memberships.
#[tokio::test]
async fn a_deleted_account_keeps_no_read_states() {
    let w = world().await;
    let m = say(&w.alice, &w.general, "read me").await;
    ack(&w, &w.general, &m, json!({"token": null})).await;
    let bob_id = w.bob_id.parse::<i64>().unwrap();
    assert_eq!(
        w.ts.hearth.db.read_states_of(bob_id).await.unwrap().len(),
        1
    );
    let r = w
        .bob
        .post(
            "/users/@me/delete",
            json!({"password": crate::harness::password_of("bob")}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(
        w.ts.hearth
            .db
            .read_states_of(bob_id)
            .await
            .unwrap()
            .is_empty()
    );
}
