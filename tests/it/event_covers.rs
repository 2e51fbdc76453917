//! Scheduled events' cover images (issue 15; Discord "Guild Scheduled Event Object" `image`
//! and "Image Formatting" `guild-events/{event_id}/{hash}`): stored by hash on create,
//! served at the CDN path, replaced, kept when the current hash is sent back, removed with
//! `null`, audited as `image_hash`; a bad image is 50035 at `image` and changes nothing; a
//! replaced or removed picture's bytes are deleted, a deleted event's go to the file
//! collector.

use hearth::service::ports::BlobKey;
use serde_json::{Value, json};

use crate::harness::*;
use crate::images::{png, uri};

const HOUR: i64 = 3600 * 1000;

fn external(image: Option<String>) -> Value {
    let now = chrono::Utc::now().timestamp_millis();
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339()
    };
    let mut v = json!({
        "name": "Picnic", "privacy_level": 2, "entity_type": 3,
        "scheduled_start_time": iso(now + HOUR),
        "scheduled_end_time": iso(now + 2 * HOUR),
        "entity_metadata": {"location": "The park"},
    });
    if let Some(i) = image {
        v["image"] = json!(i);
    }
    v
}

fn key(event: &str, hash: &str) -> BlobKey {
    BlobKey::new(format!("guild-events/{event}/{hash}")).unwrap()
}

/// Whether the file collector was handed `key` (its ledger row has a release time).
async fn released(ts: &TestServer, key: &BlobKey) -> bool {
    let rows = ts.hearth.db.blob_ledger(key.as_str()).await.unwrap();
    rows.len() == 1 && rows[0].1.is_some()
}

#[tokio::test]
async fn a_cover_is_stored_served_replaced_removed_and_released() {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let g = create_guild(&owner, "covers").await;
    let list = format!("/guilds/{}/scheduled-events", g.id);
    let r = owner
        .post(&list, external(Some(uri("image/png", &png(64, 32, 1)))))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let id = s(&r.body["id"]);
    let first = s(&r.body["image"]);
    assert_eq!(first.len(), 32, "{r:?}");
    let path = format!("{list}/{id}");
    assert_eq!(owner.get(&path).await.body["image"], first.as_str());
    // Served at Discord's CDN path, resized on request.
    let cdn = |p: String| {
        let url = format!("http://{}{p}", ts.addr);
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (st, bytes) = cdn(format!("/guild-events/{id}/{first}.png?size=16")).await;
    assert_eq!(st, 200);
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (16, 8));
    assert_eq!(
        cdn(format!("/guild-events/{id}/{}.png", "0".repeat(32)))
            .await
            .0,
        404
    );
    // Audited with the creation.
    let log = owner
        .get(&format!("/guilds/{}/audit-logs?action_type=100", g.id))
        .await;
    let changes = &log.body["audit_log_entries"][0]["changes"];
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "image_hash" && c["new_value"] == first.as_str()),
        "{log:?}"
    );

    // A bad picture: 50035 at `image`, nothing changes.
    let bad = owner
        .patch(
            &path,
            json!({"image": "data:image/png;base64,AAAA", "name": "x"}),
        )
        .await;
    assert_field_error(&bad, "image");
    let now = owner.get(&path).await;
    assert_eq!(
        (now.body["image"].clone(), now.body["name"].clone()),
        (json!(first), json!("Picnic"))
    );
    // The current hash sent back keeps it; another name changes only the name.
    let r = owner
        .patch(&path, json!({"image": first, "name": "Picnic 2"}))
        .await;
    assert_eq!(
        (r.status, r.body["image"].clone()),
        (200, json!(first)),
        "{r:?}"
    );
    assert!(
        ts.hearth
            .blobs
            .get(&key(&id, &first))
            .await
            .unwrap()
            .is_some()
    );

    // Replaced: the new one is served, the old one goes to the collector; audited.
    let r = owner
        .patch(&path, json!({"image": uri("image/png", &png(40, 40, 9))}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let second = s(&r.body["image"]);
    assert_ne!(second, first);
    assert_eq!(cdn(format!("/guild-events/{id}/{second}.png")).await.0, 200);
    eventually("the replaced cover's bytes are deleted", || async {
        ts.hearth
            .blobs
            .get(&key(&id, &first))
            .await
            .unwrap()
            .is_none()
    })
    .await;
    let log = owner
        .get(&format!("/guilds/{}/audit-logs?action_type=101", g.id))
        .await;
    assert!(
        log.body["audit_log_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["key"] == "image_hash"
                    && c["old_value"] == first.as_str()
                    && c["new_value"] == second.as_str())),
        "{log:?}"
    );

    // null removes it.
    let r = owner.patch(&path, json!({"image": null})).await;
    assert_eq!(
        (r.status, r.body["image"].clone()),
        (200, Value::Null),
        "{r:?}"
    );
    eventually("the removed cover's bytes are deleted", || async {
        ts.hearth
            .blobs
            .get(&key(&id, &second))
            .await
            .unwrap()
            .is_none()
    })
    .await;

    // A deleted event's cover goes too.
    let r = owner
        .post(&list, external(Some(uri("image/png", &png(20, 20, 3)))))
        .await;
    let (other, third) = (s(&r.body["id"]), s(&r.body["image"]));
    assert_eq!(owner.delete(&format!("{list}/{other}")).await.status, 204);
    eventually("the deleted event's cover is released", || async {
        released(&ts, &key(&other, &third)).await
    })
    .await;
}

#[tokio::test]
async fn a_member_who_may_not_manage_the_event_stores_no_cover() {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let g = create_guild(&owner, "covers").await;
    let (_, bob) = ts.user("bob").await;
    join(&bob, &g.invite).await;
    let list = format!("/guilds/{}/scheduled-events", g.id);
    let r = owner.post(&list, external(None)).await;
    let id = s(&r.body["id"]);
    let picture = uri("image/png", &png(30, 30, 7));
    assert_err(
        &bob.post(&list, external(Some(picture.clone()))).await,
        403,
        50013,
    );
    assert_err(
        &bob.patch(&format!("{list}/{id}"), json!({"image": picture}))
            .await,
        403,
        50013,
    );
    assert_eq!(
        owner.get(&format!("{list}/{id}")).await.body["image"],
        Value::Null
    );
    // Nothing was written under the event's folder.
    let stored = ts
        .hearth
        .blobs
        .list(&format!("guild-events/{id}/"))
        .await
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}
