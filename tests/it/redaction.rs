//! Deleted content is gone from every server (issue 20, spec/federation.md §6.4 and §6.5):
//! a reply carries no copy of its original in the host's log (member servers quote their own
//! copy), a deleted message, a deleted channel's messages and a deleted guild's messages
//! leave the host's log and every member's stored events as `removed` stubs (the hash chain
//! still links), a server that lost sight of a channel still drops its copies when a message
//! there is deleted, and on SQLite the words are gone from the files after a checkpoint.
//! Three servers over TLS and DNS, on the backend `HEARTH_TEST_DATABASE` selects.

use hearth_federation::event::event_hash;
use serde_json::{Value, json};

use crate::erasure::files_contain;
use crate::federation_guilds::{A, ALL, B, C, db_contains, fed_with};
use crate::gateway::Gw;
use crate::harness::{eventually, s};

/// Every server's storage loses `words` (messages, the host's log, members' events).
async fn gone_everywhere(f: &crate::federation_guilds::Fed, words: &str) {
    for srv in [A, B, C] {
        let t = f.net.server(srv);
        eventually(&format!("'{words}' is gone from {srv}"), || async {
            !db_contains(t, words).await
        })
        .await;
    }
}

/// The host's log of the guild: gapless, each event linked to the one before by its hash
/// (stubs included); returns the events.
async fn host_log(f: &crate::federation_guilds::Fed) -> Vec<Value> {
    let gid: i64 = f.gid_b.parse().unwrap();
    let rows = f
        .net
        .server(B)
        .hearth
        .db
        .log_range(gid, 0, 100_000)
        .await
        .unwrap();
    let events: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.event).unwrap())
        .collect();
    for (i, pair) in events.windows(2).enumerate() {
        assert_eq!(pair[1]["seq"], i as u64 + 2, "the log is gapless");
        assert_eq!(
            pair[1]["prev_hash"].as_str().unwrap(),
            event_hash(&pair[0]).unwrap(),
            "event {} links to the one before (stubs hash as their events)",
            i + 2
        );
    }
    events
}

/// Bob makes channel `name` on the host and posts `words` there; returns the channel's and
/// the message's host ids once both member servers hold the message.
async fn channel_with(
    f: &crate::federation_guilds::Fed,
    name: &str,
    words: &str,
) -> (String, String) {
    let c = f
        .bob()
        .post(
            &format!("/guilds/{}/channels", f.gid_b),
            json!({"name": name}),
        )
        .await;
    assert_eq!(c.status, 201, "{c:?}");
    let channel = s(&c.body["id"]);
    let r = f
        .bob()
        .post(
            &format!("/channels/{channel}/messages"),
            json!({"content": words}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    for srv in [A, C] {
        let t = f.net.server(srv);
        eventually(&format!("{srv} holds the {name} message"), || async {
            db_contains(t, words).await
        })
        .await;
    }
    (channel, s(&r.body["id"]))
}

/// The number of `removed` stubs in the host's log.
fn removed(events: &[Value]) -> usize {
    events
        .iter()
        .filter(|e| e["unsigned"]["content_state"] == "removed")
        .count()
}

#[tokio::test]
async fn deleted_content_leaves_quotes_logs_replicas_and_files_on_every_server() {
    let f = fed_with(|_, _| {}).await;
    let mut alice_gw = Gw::identify(f.net.server(A), &f.alice_tok, ALL).await;

    // Bob's original and alice's reply to it (relayed through a).
    let original = "original words 5e1a";
    let r = f
        .bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": original}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let orig_a = s(&alice_gw.expect("MESSAGE_CREATE").await["id"]);
    let r = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "reply words 61d0", "message_reference": {"message_id": orig_a}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let reply_a = s(&r.body["id"]);
    // Alice's server quotes its own copy of the original, in the dispatch and in REST.
    let d = alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(d["id"], reply_a.as_str());
    assert_eq!(d["referenced_message"]["content"], original, "{d}");
    assert_eq!(d["referenced_message"]["id"], orig_a.as_str());
    // The host's log holds the reply without a copy of the original: the original's words
    // are in exactly one logged event (its own).
    let events = host_log(&f).await;
    let quoting = events
        .iter()
        .filter(|e| e.to_string().contains(original))
        .count();
    assert_eq!(quoting, 1, "the original's words are logged once");
    assert!(
        !events
            .iter()
            .any(|e| e.to_string().contains("referenced_message")),
        "no logged event quotes another"
    );
    let stubs_before = removed(&events);

    // Bob deletes the original: its words are gone from every server, the reply stays and
    // quotes nothing (Discord's null).
    let orig_b = s(&f
        .bob()
        .get(&format!("/channels/{}/messages?limit=5", f.general_b))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == original)
        .unwrap()["id"]);
    let r = f
        .bob()
        .delete(&format!("/channels/{}/messages/{orig_b}", f.general_b))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        alice_gw.expect("MESSAGE_DELETE").await["id"],
        orig_a.as_str()
    );
    gone_everywhere(&f, original).await;
    let r = f
        .alice()
        .get(&format!("/channels/{}/messages/{reply_a}", f.general_a))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "reply words 61d0");
    assert!(
        r.body
            .get("referenced_message")
            .is_some_and(serde_json::Value::is_null),
        "a reply to a deleted message says null: {:?}",
        r.body
    );
    let events = host_log(&f).await;
    assert_eq!(
        removed(&events),
        stubs_before + 1,
        "the original's event became a removed stub"
    );

    // A channel the members can no longer see: a deletion there still reaches them.
    let hidden = "hidden words 3d4e";
    let (staff_b, hidden_b) = channel_with(&f, "staff", hidden).await;
    // @everyone loses VIEW_CHANNEL there (the guild's id is @everyone's).
    let r = f
        .bob()
        .put(
            &format!("/channels/{staff_b}/permissions/{}", f.gid_b),
            json!({"type": 0, "allow": "0", "deny": "1024"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = f
        .bob()
        .delete(&format!("/channels/{staff_b}/messages/{hidden_b}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    gone_everywhere(&f, hidden).await;

    // A deleted channel's messages.
    let scratched = "scratch words 9b2c";
    let (scratch_b, _) = channel_with(&f, "scratch", scratched).await;
    let r = f.bob().delete(&format!("/channels/{scratch_b}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    gone_everywhere(&f, scratched).await;
    host_log(&f).await;

    // On SQLite the words are gone from the servers' files after a checkpoint.
    if matches!(&*f.net.server(B).hearth.db, hearth_db::Db::Sqlite(_)) {
        for srv in [A, B, C] {
            let t = f.net.server(srv);
            assert!(t.hearth.checkpoint_now().await.unwrap());
            for words in [original, hidden, scratched] {
                assert!(
                    !files_contain(&t.data_dir, words.as_bytes()),
                    "'{words}' is still in the files of {srv}"
                );
            }
        }
    }

    // A deleted guild: the reply's words leave the host's log too.
    assert!(db_contains(f.net.server(B), "reply words 61d0").await);
    let r = f.bob().delete(&format!("/guilds/{}", f.gid_b)).await;
    assert_eq!(r.status, 204, "{r:?}");
    gone_everywhere(&f, "reply words 61d0").await;
    host_log(&f).await;
}
