//! Message removal on request (spec/account.md §6): `POST /users/@me/delete` with
//! `delete_messages: true` removes every message of the account in batches (guild channels
//! and DMs, attachments released to the file collector), dispatching MESSAGE_DELETE_BULK and
//! MESSAGE_DELETE; the job is stored in the database and resumes after a restart.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::attachments::{form, png, upload};
use crate::gateway::{DIRECT_MESSAGES, GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

/// Reads dispatches until MESSAGE_DELETE / MESSAGE_DELETE_BULK covered every id of `want`;
/// returns the deletion dispatches seen, as `(t, d)`. Other dispatches are ignored.
pub(crate) async fn deletions_of(gw: &mut Gw, want: &HashSet<String>) -> Vec<(String, Value)> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut events = vec![];
    let mut queued: Vec<Value> = std::mem::take(&mut gw.pending);
    while !want.is_subset(&seen) {
        let v = match queued.pop() {
            Some(v) => v,
            None => gw.next().await.expect("gateway open"),
        };
        let t = v["t"].as_str().unwrap_or_default().to_owned();
        let d = v["d"].clone();
        match t.as_str() {
            "MESSAGE_DELETE" => {
                seen.insert(s(&d["id"]));
            }
            "MESSAGE_DELETE_BULK" => seen.extend(d["ids"].as_array().unwrap().iter().map(s)),
            _ => continue,
        }
        events.push((t, d));
    }
    events
}

/// Alice's messages in the guild of `bob` (150 in `general`, one with a file, one in a
/// second channel) and in their DM; bob's own. Returns (alice's id, her token, her message
/// ids, bob's message ids, the guild, the DM channel id).
struct World {
    srv: TestServer,
    alice_id: String,
    alice_tok: String,
    bob: Client,
    bob_tok: String,
    guild: Guild,
    other: String,
    dm: String,
    alice_msgs: HashSet<String>,
    bob_msgs: Vec<String>,
    file_msg: String,
}

async fn world(n: usize) -> World {
    let srv = TestServer::start().await;
    let (alice_id, alice_tok) = srv.register("alice").await;
    let alice = srv.client(&alice_tok);
    let (bob_id, bob_tok) = srv.register("bob").await;
    let bob = srv.client(&bob_tok);
    let guild = create_guild(&bob, "club").await;
    join(&alice, &guild.invite).await;
    let other = bob
        .post(
            &format!("/guilds/{}/channels", guild.id),
            json!({"name": "other"}),
        )
        .await;
    assert_eq!(other.status, 201, "{other:?}");
    let other = s(&other.body["id"]);
    let dm = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    let dm = s(&dm.body["id"]);
    let mut alice_msgs = HashSet::new();
    for i in 0..n {
        alice_msgs.insert(say(&alice, &guild.general, &format!("alice {i}")).await);
    }
    let r = upload(
        &alice,
        &guild.general,
        form(Some(json!({"content": "a file"})), &[("cat.png", &png())]),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let file_msg = s(&r.body["id"]);
    alice_msgs.insert(file_msg.clone());
    alice_msgs.insert(say(&alice, &other, "elsewhere").await);
    alice_msgs.insert(say(&alice, &dm, "in private").await);
    let bob_msgs = vec![
        say(&bob, &guild.general, "bob stays").await,
        say(&bob, &dm, "bob's dm stays").await,
    ];
    World {
        srv,
        alice_id,
        alice_tok,
        bob,
        bob_tok,
        guild,
        other,
        dm,
        alice_msgs,
        bob_msgs,
        file_msg,
    }
}

/// Every message id of `channel` (newest first), paging through the whole history.
async fn history(c: &Client, channel: &str) -> Vec<String> {
    let mut out = vec![];
    let mut before = String::new();
    loop {
        let q = if before.is_empty() {
            format!("/channels/{channel}/messages?limit=100")
        } else {
            format!("/channels/{channel}/messages?limit=100&before={before}")
        };
        let r = c.get(&q).await;
        assert_eq!(r.status, 200, "{r:?}");
        let page = ids(&r.body);
        if page.is_empty() {
            return out;
        }
        before = page.last().unwrap().clone();
        out.extend(page);
    }
}

#[tokio::test]
async fn account_deletion_with_delete_messages_removes_them_in_batches() {
    let w = world(150).await;
    let alice = w.srv.client(&w.alice_tok);
    let mut gw = Gw::identify(
        &w.srv,
        &w.bob_tok,
        GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES,
    )
    .await;
    let prefix = format!("attachments/{}/", w.guild.general);
    assert_eq!(w.srv.hearth.db.blob_ledger(&prefix).await.unwrap().len(), 1);

    // The option is a boolean.
    let r = alice
        .post(
            "/users/@me/delete",
            json!({"password": password_of("alice"), "delete_messages": "yes"}),
        )
        .await;
    assert_field_error(&r, "delete_messages");
    let r = alice
        .post(
            "/users/@me/delete",
            json!({"password": password_of("alice"), "delete_messages": true}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    // Bob's gateway hears every removal: bulk in guild channels (at most 100 a batch),
    // one by one in the DM.
    let events = deletions_of(&mut gw, &w.alice_msgs).await;
    let general = w.guild.general.as_str();
    let bulks: Vec<usize> = events
        .iter()
        .filter(|(t, d)| t == "MESSAGE_DELETE_BULK" && d["channel_id"] == general)
        .map(|(_, d)| d["ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(bulks.iter().sum::<usize>(), 151, "{events:?}");
    assert!(bulks.iter().all(|n| *n <= 100), "{bulks:?}");
    for (t, d) in &events {
        assert!(
            d["guild_id"].is_null() == (d["channel_id"] == w.dm.as_str()),
            "{t} {d}"
        );
        if d["channel_id"] == w.dm.as_str() || d["channel_id"] == w.other.as_str() {
            assert_eq!(t, "MESSAGE_DELETE", "{d}");
        }
    }

    // Only bob's messages are left; the file is released to the collector; the job ended.
    assert_eq!(
        history(&w.bob, &w.guild.general).await,
        vec![w.bob_msgs[0].clone()]
    );
    assert!(history(&w.bob, &w.other).await.is_empty());
    assert_eq!(history(&w.bob, &w.dm).await, vec![w.bob_msgs[1].clone()]);
    let r = w
        .bob
        .get(&format!(
            "/channels/{}/messages/{}",
            w.guild.general, w.file_msg
        ))
        .await;
    assert_err(&r, 404, 10008);
    let ledger = w.srv.hearth.db.blob_ledger(&prefix).await.unwrap();
    assert!(ledger[0].1.is_some(), "released: {ledger:?}");
    eventually("the purge job is done", async || {
        w.srv.hearth.db.message_purges().await.unwrap().is_empty()
    })
    .await;
    let u = w.bob.get(&format!("/users/{}", w.alice_id)).await;
    assert_eq!(u.body["global_name"], "Deleted User", "{u:?}");
}

#[tokio::test]
async fn account_deletion_purge_job_resumes_from_stored_state_after_a_restart() {
    let mut w = world(120).await;
    let alice_id: i64 = w.alice_id.parse().unwrap();
    let alice = w.srv.client(&w.alice_tok);
    // Deleted without removal: the messages stay.
    let r = alice
        .post(
            "/users/@me/delete",
            json!({"password": password_of("alice")}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(w.srv.hearth.db.message_purges().await.unwrap().is_empty());
    assert_eq!(history(&w.bob, &w.guild.general).await.len(), 122);

    // A job that had run one batch when the server went down: its row is all that is left.
    assert_eq!(w.srv.hearth.purge_batch(alice_id).await.unwrap(), 100);
    w.srv.stop_keeping_data().await;
    let db = hearth::storage::Db::connect(&w.srv.config).await.unwrap();
    db.start_message_purge(alice_id, hearth::storage::now_ms())
        .await
        .unwrap();
    db.close().await;
    w.srv.start_again().await;

    // The server resumes it at start-up and removes the rest.
    let bob = w.srv.client(&w.bob_tok);
    eventually("the stored job ran to its end", async || {
        w.srv.hearth.db.message_purges().await.unwrap().is_empty()
    })
    .await;
    assert_eq!(
        history(&bob, &w.guild.general).await,
        vec![w.bob_msgs[0].clone()]
    );
    assert!(history(&bob, &w.other).await.is_empty());
    assert_eq!(history(&bob, &w.dm).await, vec![w.bob_msgs[1].clone()]);
}
