//! A refused send takes nothing from its sender (issue 15's review): a message or forum
//! post refused by AutoMod, or by a bad attachment reference after other uploads were
//! resolved, leaves the two-step uploads claimable and the slow-mode slot
//! (`rate_limit_per_user`) free, so the corrected send goes through at once.

use serde_json::{Value, json};

use crate::harness::*;

/// `c` announces one file in `channel` and PUTs `bytes`; returns its `upload_filename`.
pub(crate) async fn uploaded(c: &Client, channel: &str, name: &str, bytes: Vec<u8>) -> String {
    let r = c
        .post(
            &format!("/channels/{channel}/attachments"),
            json!({"files": [{"id": "0", "filename": name, "file_size": bytes.len()}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let slot = r.body["attachments"][0].clone();
    let put = reqwest::Client::new()
        .put(s(&slot["upload_url"]))
        .body(bytes)
        .send()
        .await
        .expect("PUT");
    assert_eq!(put.status().as_u16(), 204);
    s(&slot["upload_filename"])
}

/// A guild whose owner blocks the word "forbidden" with AutoMod; bob is a plain member.
async fn guarded() -> (TestServer, Client, Guild, Client) {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let guild = create_guild(&owner, "guarded").await;
    let (_, bob) = ts.user("bob").await;
    join(&bob, &guild.invite).await;
    let r = owner
        .post(
            &format!("/guilds/{}/auto-moderation/rules", guild.id),
            json!({
                "name": "words", "event_type": 1, "trigger_type": 1,
                "trigger_metadata": {"keyword_filter": ["forbidden"]},
                "actions": [{"type": 1}], "enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    (ts, owner, guild, bob)
}

fn refs(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": i.to_string(), "filename": "f.txt", "uploaded_filename": n}))
            .collect(),
    )
}

#[tokio::test]
async fn refused_sends_keep_uploads_and_the_slow_mode_slot() {
    let (_ts, owner, g, bob) = guarded().await;
    let chan = &g.general;
    let r = owner
        .patch(
            &format!("/channels/{chan}"),
            json!({"rate_limit_per_user": 600}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let path = format!("/channels/{chan}/messages");
    let up = uploaded(&bob, chan, "a.txt", b"first".to_vec()).await;

    // AutoMod refuses: nothing is taken.
    let r = bob
        .post(
            &path,
            json!({"content": "a forbidden word", "attachments": refs(&[&up])}),
        )
        .await;
    assert_err(&r, 400, 200000);
    // A bad second reference after the first upload was resolved: nothing is taken.
    let r = bob
        .post(
            &path,
            json!({"content": "two", "attachments": refs(&[&up, "1/nothing.txt"])}),
        )
        .await;
    assert_field_error(&r, "attachments.1.uploaded_filename");
    // The right upload under a wrong name: refused, and the upload is not spent either.
    let renamed = format!("{}/other.txt", up.split_once('/').unwrap().0);
    let r = bob
        .post(
            &path,
            json!({"content": "renamed", "attachments": refs(&[&renamed])}),
        )
        .await;
    assert_field_error(&r, "attachments.0.uploaded_filename");
    // The corrected send goes through: the upload is still claimable, the slot still free.
    let r = bob
        .post(
            &path,
            json!({"content": "fine", "attachments": refs(&[&up])}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["attachments"][0]["size"], 5, "{r:?}");
    let (st, _, bytes) = crate::attachments::fetch(&s(&r.body["attachments"][0]["url"])).await;
    assert_eq!((st, bytes), (200, b"first".to_vec()));
    // Now the slot is taken, and the upload spent.
    let r = bob.post(&path, json!({"content": "again"})).await;
    assert_err(&r, 429, 20016);
    let other = uploaded(&owner, chan, "o.txt", b"x".to_vec()).await;
    let r = owner
        .post(&path, json!({"content": "", "attachments": refs(&[&up])}))
        .await;
    assert_field_error(&r, "attachments.0.uploaded_filename");
    let r = owner
        .post(
            &path,
            json!({"content": "", "attachments": refs(&[&other])}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn a_refused_forum_post_keeps_uploads_and_the_slow_mode_slot() {
    let (_ts, owner, g, bob) = guarded().await;
    let r = owner
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "help", "type": 15, "rate_limit_per_user": 600}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let forum = s(&r.body["id"]);
    let path = format!("/channels/{forum}/threads");
    let up = uploaded(&bob, &forum, "a.txt", b"post".to_vec()).await;

    let r = bob
        .post(
            &path,
            json!({"name": "q", "message": {"content": "forbidden", "attachments": refs(&[&up])}}),
        )
        .await;
    assert_err(&r, 400, 200000);
    let r = bob
        .post(
            &path,
            json!({"name": "q", "message": {"content": "x", "attachments": refs(&[&up, "9/no.txt"])}}),
        )
        .await;
    assert_field_error(&r, "attachments.1.uploaded_filename");
    let r = bob
        .post(
            &path,
            json!({"name": "q", "message": {"content": "fine", "attachments": refs(&[&up])}}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["message"]["attachments"][0]["size"], 4, "{r:?}");
    let r = bob
        .post(&path, json!({"name": "q2", "message": {"content": "more"}}))
        .await;
    assert_err(&r, 429, 20016);
}
