//! The life of stored files (issue 13), on both blob stores (`name::local`, `name::s3`):
//! the two-step upload (`POST /channels/{id}/attachments`, PUT to `upload_url`, a message
//! referring to `uploaded_filename`), expiry of unclaimed uploads, deletion of the files of
//! deleted messages, channels and guilds after the grace period (the admin's guild deletion
//! too, images included), the orphan collector, edits adding uploads, and quotas per user
//! and per guild.

use serde_json::{Value, json};

use crate::attachments::{fetch, form, on_both_stores, png, upload};
use crate::harness::*;

on_both_stores!(
    two_step_upload_put_then_send,
    two_step_limits_signatures_and_permissions,
    unclaimed_uploads_expire_with_their_bytes,
    deleted_channels_and_guilds_lose_their_files,
    the_collector_takes_orphans_but_not_young_files,
    quotas_per_user_and_guild_hold_under_races,
    an_oversized_chunked_put_leaves_nothing,
    edits_add_uploads_keep_and_remove_files,
    admin_guild_deletion_releases_files_and_images,
);

/// `POST /channels/{channel}/attachments` for `files` (`(filename, size)`).
async fn request(c: &Client, channel: &str, files: &[(&str, usize)]) -> Resp {
    let files: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, (name, size))| json!({"id": i.to_string(), "filename": name, "file_size": size}))
        .collect();
    c.post(
        &format!("/channels/{channel}/attachments"),
        json!({ "files": files }),
    )
    .await
}

/// PUT `bytes` to a signed upload URL (no credentials); the status.
async fn put(url: &str, bytes: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .put(url)
        .body(bytes)
        .send()
        .await
        .expect("PUT")
        .status()
        .as_u16()
}

/// Sends a message in `channel` made of the upload `uploaded` (an `upload_filename`).
async fn send_uploaded(c: &Client, channel: &str, uploaded: &str, filename: &str) -> Resp {
    c.post(
        &format!("/channels/{channel}/messages"),
        json!({"content": "", "attachments": [
            {"id": "0", "filename": filename, "uploaded_filename": uploaded}]}),
    )
    .await
}

/// The blob key of an attachment object.
fn key_of(channel: &str, a: &Value) -> String {
    format!("attachments/{channel}/{}", s(&a["id"]))
}

async fn two_step_upload_put_then_send(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| c.media.delete_grace_seconds = 0).await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "two step").await;
    let r = request(&alice, &g.general, &[("cat.png", png().len())]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let slot = r.body["attachments"][0].clone();
    assert_eq!(slot["id"], "0");
    let url = s(&slot["upload_url"]);
    let name = s(&slot["upload_filename"]);
    assert!(url.contains("/uploads/") && url.contains("hm="), "{url}");
    assert!(name.ends_with("/cat.png"), "{name}");
    // Not yet PUT: a message cannot use it.
    let early = send_uploaded(&alice, &g.general, &name, "cat.png").await;
    assert_field_error(&early, "attachments.0.uploaded_filename");
    assert_eq!(put(&url, png()).await, 204);
    let m = send_uploaded(&alice, &g.general, &name, "kitten.png").await;
    assert_eq!(m.status, 200, "{m:?}");
    let a = m.body["attachments"][0].clone();
    assert_eq!(a["filename"], "kitten.png");
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(a["size"], png().len());
    assert_eq!(
        (a["width"].clone(), a["height"].clone()),
        (json!(3), json!(2))
    );
    let (st, _, bytes) = fetch(&s(&a["url"])).await;
    assert_eq!((st, bytes), (200, png()));
    // One upload serves one message; the URL is spent.
    let again = send_uploaded(&alice, &g.general, &name, "cat.png").await;
    assert_field_error(&again, "attachments.0.uploaded_filename");
    assert_eq!(put(&url, png()).await, 404);
    // Deleting the message deletes the bytes (grace 0 here).
    let key = key_of(&g.general, &a);
    assert!(srv.blob_exists(&key).await);
    let path = format!("/channels/{}/messages/{}", g.general, s(&m.body["id"]));
    assert_eq!(alice.delete(&path).await.status, 204);
    eventually("the deleted message's bytes are gone", async || {
        !srv.blob_exists(&key).await
    })
    .await;
}

async fn two_step_limits_signatures_and_permissions(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.max_file_bytes = 1000;
        c.media.max_files_per_message = 2;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "limits").await;
    // Sizes and counts are checked when announced.
    assert_err(
        &request(&alice, &g.general, &[("big.bin", 1001)]).await,
        413,
        40005,
    );
    let three = request(&alice, &g.general, &[("a", 1), ("b", 1), ("c", 1)]).await;
    assert_field_error(&three, "files");
    assert_field_error(&request(&alice, &g.general, &[]).await, "files");
    // More bytes than announced: 413, nothing kept, the upload stays unfinished.
    let r = request(&alice, &g.general, &[("a.txt", 10)]).await;
    let url = s(&r.body["attachments"][0]["upload_url"]);
    let name = s(&r.body["attachments"][0]["upload_filename"]);
    assert_eq!(put(&url, vec![b'a'; 11]).await, 413);
    let id = name.split('/').next().unwrap().to_string();
    assert!(
        !srv.blob_exists(&format!("attachments/{}/{id}", g.general))
            .await
    );
    assert_field_error(
        &send_uploaded(&alice, &g.general, &name, "a.txt").await,
        "attachments.0.uploaded_filename",
    );
    // A tampered or unsigned URL is 404.
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(put(base, b"x".to_vec()).await, 404);
    let tampered = format!("{base}?{}", query.replace("hm=", "hm=00"));
    assert_eq!(put(&tampered, b"x".to_vec()).await, 404);
    assert_eq!(put(&url, b"0123456789".to_vec()).await, 204);
    // Another user cannot claim alice's upload, even in a channel both can use.
    let (_, bob) = srv.user("bob").await;
    join(&bob, &g.invite).await;
    assert_field_error(
        &send_uploaded(&bob, &g.general, &name, "a.txt").await,
        "attachments.0.uploaded_filename",
    );
    assert_eq!(
        send_uploaded(&alice, &g.general, &name, "a.txt")
            .await
            .status,
        200
    );
    // An outsider cannot announce files; a member without ATTACH_FILES neither.
    let (_, eve) = srv.user("eve").await;
    assert_err(&request(&eve, &g.general, &[("x", 1)]).await, 403, 50001);
    let everyone = alice.get(&format!("/guilds/{}/roles", g.id)).await;
    let perms: u64 = s(&everyone.body[0]["permissions"]).parse().unwrap();
    let r = alice
        .patch(
            &format!("/guilds/{}/roles/{}", g.id, g.id),
            json!({"permissions": (perms & !perm::ATTACH_FILES).to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_err(&request(&bob, &g.general, &[("x", 1)]).await, 403, 50013);
}

async fn unclaimed_uploads_expire_with_their_bytes(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.upload_ttl_seconds = 2;
        c.media.delete_grace_seconds = 0;
        c.media.orphan_age_seconds = 0;
    })
    .await;
    let (alice_id, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "expiry").await;
    let r = request(&alice, &g.general, &[("a.txt", 5)]).await;
    let url = s(&r.body["attachments"][0]["upload_url"]);
    let name = s(&r.body["attachments"][0]["upload_filename"]);
    assert_eq!(put(&url, b"hello".to_vec()).await, 204);
    let key = format!(
        "attachments/{}/{}",
        g.general,
        name.split('/').next().unwrap()
    );
    assert!(srv.blob_exists(&key).await);
    let (user, guild) = (alice_id.parse().unwrap(), g.id.parse().unwrap());
    assert_eq!(
        srv.hearth.db.media_usage(user, guild).await.unwrap(),
        (5, 5)
    );
    eventually(
        "the expired upload and its bytes are collected",
        async || {
            srv.hearth.collect_media(true, false).await.unwrap();
            !srv.blob_exists(&key).await
        },
    )
    .await;
    assert_eq!(
        srv.hearth.db.media_usage(user, guild).await.unwrap(),
        (0, 0)
    );
    assert_eq!(put(&url, b"hello".to_vec()).await, 404);
    assert_field_error(
        &send_uploaded(&alice, &g.general, &name, "a.txt").await,
        "attachments.0.uploaded_filename",
    );
}

async fn deleted_channels_and_guilds_lose_their_files(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| c.media.delete_grace_seconds = 0).await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "doomed").await;
    let other = alice
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "other", "type": 0}),
        )
        .await;
    assert_eq!(other.status, 201, "{other:?}");
    let other = s(&other.body["id"]);
    // A thread of `other`: its files go with its parent.
    let thread = alice
        .post(
            &format!("/channels/{other}/threads"),
            json!({"name": "side", "type": 11}),
        )
        .await;
    assert_eq!(thread.status, 201, "{thread:?}");
    let thread = s(&thread.body["id"]);
    let mut keys = vec![];
    for ch in [&g.general, &other, &thread] {
        let r = upload(&alice, ch, form(None, &[("a.txt", b"bytes")])).await;
        assert_eq!(r.status, 200, "{r:?}");
        keys.push(key_of(ch, &r.body["attachments"][0]));
    }
    assert_eq!(
        alice.delete(&format!("/channels/{other}")).await.status,
        200
    );
    eventually("the deleted channel's file is gone", async || {
        !srv.blob_exists(&keys[1]).await
    })
    .await;
    eventually("the deleted channel's thread's file is gone", async || {
        !srv.blob_exists(&keys[2]).await
    })
    .await;
    assert!(srv.blob_exists(&keys[0]).await);
    assert_eq!(alice.delete(&format!("/guilds/{}", g.id)).await.status, 204);
    eventually("the deleted guild's file is gone", async || {
        !srv.blob_exists(&keys[0]).await
    })
    .await;
}

async fn the_collector_takes_orphans_but_not_young_files(blobs: Blobs) {
    use hearth::service::ports::BlobKey;
    let srv = TestServer::start_blobs(blobs, |c| c.media.delete_grace_seconds = 0).await;
    let (alice_id, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "orphans").await;
    let r = upload(&alice, &g.general, form(None, &[("kept.txt", b"kept")])).await;
    let kept = key_of(&g.general, &r.body["attachments"][0]);
    // Bytes no row knows (a crash before the ledger existed, a leftover temporary file),
    // and a ledger row whose message never committed (a crash before the insert).
    let stray = format!("attachments/{}/1234", g.general);
    let k = BlobKey::new(stray.clone()).unwrap();
    srv.hearth.blobs.put(&k, "stray".into()).await.unwrap();
    let lost = format!("attachments/{}/5678", g.general);
    let charge = hearth::storage::BlobCharge {
        key: &lost,
        user_id: alice_id.parse().unwrap(),
        guild_id: Some(g.id.parse().unwrap()),
        size: 4,
    };
    let quotas = hearth::storage::Quotas {
        per_user: 0,
        per_guild: 0,
    };
    let now = hearth::storage::now_ms();
    srv.hearth
        .db
        .charge_blobs(&[charge], quotas, now)
        .await
        .unwrap();
    let k2 = BlobKey::new(lost.clone()).unwrap();
    srv.hearth.blobs.put(&k2, "lost".into()).await.unwrap();
    // Young (under media.orphan_age_seconds, 1 h by default): both stay.
    srv.hearth.collect_media(true, true).await.unwrap();
    assert!(srv.blob_exists(&stray).await && srv.blob_exists(&lost).await);
    drop(srv);
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.delete_grace_seconds = 0;
        c.media.orphan_age_seconds = 0;
    })
    .await;
    let (alice_id, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "orphans").await;
    let r = upload(&alice, &g.general, form(None, &[("kept.txt", b"kept")])).await;
    let kept2 = key_of(&g.general, &r.body["attachments"][0]);
    let stray = format!("attachments/{}/1234", g.general);
    srv.hearth
        .blobs
        .put(&BlobKey::new(stray.clone()).unwrap(), "stray".into())
        .await
        .unwrap();
    let lost = format!("attachments/{}/5678", g.general);
    let charge = hearth::storage::BlobCharge {
        key: &lost,
        user_id: alice_id.parse().unwrap(),
        guild_id: Some(g.id.parse().unwrap()),
        size: 4,
    };
    srv.hearth
        .db
        .charge_blobs(&[charge], quotas, hearth::storage::now_ms() - 10)
        .await
        .unwrap();
    srv.hearth
        .blobs
        .put(&BlobKey::new(lost.clone()).unwrap(), "lost".into())
        .await
        .unwrap();
    eventually("orphans are collected", async || {
        srv.hearth.collect_media(true, true).await.unwrap();
        !srv.blob_exists(&stray).await && !srv.blob_exists(&lost).await
    })
    .await;
    assert!(srv.blob_exists(&kept2).await, "a referenced file stays");
    let _ = kept;
}

async fn quotas_per_user_and_guild_hold_under_races(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.user_quota_bytes = 1000;
        c.media.guild_quota_bytes = 1500;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "quota").await;
    let file = vec![b'q'; 600];
    let ok = upload(&alice, &g.general, form(None, &[("a.txt", &file)])).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    // The user quota: 600 + 600 > 1000, also for an announced two-step upload.
    let over = upload(&alice, &g.general, form(None, &[("b.txt", &file)])).await;
    assert_err(&over, 413, 40005);
    assert_err(
        &request(&alice, &g.general, &[("b.txt", 600)]).await,
        413,
        40005,
    );
    // Deleting the message gives the bytes back at once.
    let path = format!("/channels/{}/messages/{}", g.general, s(&ok.body["id"]));
    assert_eq!(alice.delete(&path).await.status, 204);
    eventually("the quota is free again", async || {
        upload(&alice, &g.general, form(None, &[("c.txt", &file)]))
            .await
            .status
            == 200
    })
    .await;
    // The guild quota (1500): bob and carol race for the last 900 bytes; one wins.
    let (_, bob) = srv.user("bob").await;
    let (_, carol) = srv.user("carol").await;
    join(&bob, &g.invite).await;
    join(&carol, &g.invite).await;
    let (rb, rc) = tokio::join!(
        upload(&bob, &g.general, form(None, &[("b.txt", &file)])),
        upload(&carol, &g.general, form(None, &[("c.txt", &file)])),
    );
    let mut statuses = [rb.status, rc.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 413], "{rb:?} {rc:?}");
}

/// PUTs `total` bytes to `url` with `Transfer-Encoding: chunked` (no length announced, so
/// the server only finds out while streaming) over a raw connection; the status line's
/// code, if the server answered before closing.
async fn put_chunked(url: &str, total: usize) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("path");
    let mut conn = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "PUT /{path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let _ = conn.write_all(head.as_bytes()).await;
    let chunk = vec![b'z'; 256 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        let mut frame = format!("{n:x}\r\n").into_bytes();
        frame.extend_from_slice(&chunk[..n]);
        frame.extend_from_slice(b"\r\n");
        if conn.write_all(&frame).await.is_err() {
            break;
        }
        sent += n;
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|c| c.parse().ok())
}

/// A PUT that goes over its announced size while streaming (after more than one S3 part) is
/// refused and leaves no object and no pending multipart parts behind.
async fn an_oversized_chunked_put_leaves_nothing(blobs: Blobs) {
    // Parts of 5 MiB: the refusal comes after the first part was sent (then aborted).
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.s3.part_bytes = hearth::media::MIN_PART_BYTES;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "chunked").await;
    let announced = 6 * 1024 * 1024;
    let r = request(&alice, &g.general, &[("big.bin", announced)]).await;
    let url = s(&r.body["attachments"][0]["upload_url"]);
    let name = s(&r.body["attachments"][0]["upload_filename"]);
    let status = put_chunked(&url, 2 * announced).await;
    assert!(matches!(status, None | Some(413)), "{status:?}");
    let key = format!(
        "attachments/{}/{}",
        g.general,
        name.split('/').next().unwrap()
    );
    assert!(!srv.blob_exists(&key).await);
    if let Some(s3) = &srv.s3 {
        let leftovers: Vec<String> = std::fs::read_dir(&s3.root)
            .expect("S3 folder")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".upload"))
            .collect();
        assert!(leftovers.is_empty(), "multipart leftovers: {leftovers:?}");
    }
    // The exact size still goes through, as a multipart object on S3.
    let status = put_chunked(&url, announced).await;
    assert_eq!(status, Some(204));
    let m = send_uploaded(&alice, &g.general, &name, "big.bin").await;
    assert_eq!(m.status, 200, "{m:?}");
    assert_eq!(m.body["attachments"][0]["size"], announced);
}

/// A two-step upload ready to be used: `(upload_filename, attachment id)`.
async fn uploaded(c: &Client, channel: &str, filename: &str, bytes: Vec<u8>) -> (String, String) {
    let r = request(c, channel, &[(filename, bytes.len())]).await;
    assert_eq!(r.status, 200, "{r:?}");
    let url = s(&r.body["attachments"][0]["upload_url"]);
    let name = s(&r.body["attachments"][0]["upload_filename"]);
    assert_eq!(put(&url, bytes).await, 204);
    let id = name.split('/').next().unwrap().to_string();
    (name, id)
}

/// `PATCH` of a message's `attachments` array (Discord: the files to keep, by id, and new
/// ones): `uploaded_filename` entries add two-step uploads after the kept files, files left
/// out are removed (their bytes deleted after the grace period), a used, unknown or other
/// user's upload is refused and changes nothing, and the file limit counts kept and added.
async fn edits_add_uploads_keep_and_remove_files(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.delete_grace_seconds = 0;
        c.media.max_files_per_message = 3;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "edits").await;
    let m = upload(
        &alice,
        &g.general,
        form(Some(json!({"content": "v1"})), &[("a.txt", b"first")]),
    )
    .await;
    assert_eq!(m.status, 200, "{m:?}");
    let a = m.body["attachments"][0].clone();
    assert!(m.body["edited_timestamp"].is_null());
    let path = format!("/channels/{}/messages/{}", g.general, s(&m.body["id"]));

    // Keep a, add b.
    let (b_name, b_id) = uploaded(&alice, &g.general, "b.png", png()).await;
    let e = alice
        .patch(&path, json!({"attachments": [
            {"id": a["id"]},
            {"id": "0", "filename": "bee.png", "description": "added", "uploaded_filename": b_name}]}))
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    let list = e.body["attachments"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["id"], a["id"]);
    assert_eq!(
        (
            s(&list[1]["id"]),
            s(&list[1]["filename"]),
            s(&list[1]["content_type"])
        ),
        (b_id.clone(), "bee.png".to_string(), "image/png".to_string())
    );
    assert_eq!(list[1]["description"], "added");
    assert!(e.body["edited_timestamp"].is_string());
    let (st, _, bytes) = fetch(&s(&list[1]["url"])).await;
    assert_eq!((st, bytes), (200, png()));
    // As stored: a later read has both, in that order.
    let read = alice.get(&path).await;
    let ids: Vec<String> = read.body["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| s(&x["id"]))
        .collect();
    assert_eq!(ids, vec![s(&a["id"]), b_id.clone()]);

    // The same upload again, an unknown one, and another user's: refused, nothing changes.
    let (_, bob) = srv.user("bob").await;
    join(&bob, &g.invite).await;
    let (bobs, _) = uploaded(&bob, &g.general, "bob.txt", b"bob".to_vec()).await;
    for bad in [b_name.clone(), "123/nope.txt".to_string(), bobs] {
        let e = alice
            .patch(&path, json!({"attachments": [{"id": a["id"]}, {"id": b_id}, {"id": "0", "uploaded_filename": bad}]}))
            .await;
        assert_field_error(&e, "attachments.2.uploaded_filename");
    }
    assert_eq!(
        alice.get(&path).await.body["attachments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Over the file limit: 2 kept + 2 added > 3.
    let (c_name, c_id) = uploaded(&alice, &g.general, "c.txt", b"third".to_vec()).await;
    let (d_name, _) = uploaded(&alice, &g.general, "d.txt", b"fourth".to_vec()).await;
    let e = alice
        .patch(
            &path,
            json!({"attachments": [{"id": a["id"]}, {"id": b_id},
            {"id": "0", "uploaded_filename": c_name}, {"id": "1", "uploaded_filename": d_name}]}),
        )
        .await;
    assert_field_error(&e, "attachments");

    // Remove a, keep b, add c: [b, c]; a's bytes go.
    let e = alice
        .patch(&path, json!({"attachments": [{"id": b_id}, {"id": "0", "filename": "c.txt", "uploaded_filename": c_name}]}))
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    let ids: Vec<String> = e.body["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| s(&x["id"]))
        .collect();
    assert_eq!(ids, vec![b_id.clone(), c_id.clone()]);
    let a_key = key_of(&g.general, &a);
    eventually("the removed file's bytes are deleted", async || {
        !srv.blob_exists(&a_key).await
    })
    .await;
    assert!(
        srv.blob_exists(&format!("attachments/{}/{c_id}", g.general))
            .await
    );
    // Content-only edits keep the files.
    let e = alice.patch(&path, json!({"content": "v2"})).await;
    assert_eq!(e.body["attachments"].as_array().map(Vec::len), Some(2));
}

/// A PNG data URI, `w` x `h`, tinted.
fn png_uri(w: u32, h: u32, tint: u8) -> String {
    use base64::Engine;
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, tint, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    )
}

/// An instance admin's `DELETE /admin/guilds/{id}` (like the owner's deletion) hands the
/// guild's attachments and its icon, banner, splash and emoji images to the collector: the
/// ledger rows are released at once, and after the grace period the bytes are gone, the
/// images' resized copies too.
async fn admin_guild_deletion_releases_files_and_images(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| c.media.delete_grace_seconds = 0).await;
    let (_, admin) = srv.admin("admin").await;
    let (_, bob) = srv.user("bob").await;
    let g = create_guild(&bob, "doomed by admin").await;
    let r = bob
        .patch(
            &format!("/guilds/{}", g.id),
            json!({"icon": png_uri(64, 64, 1), "banner": png_uri(96, 32, 2), "splash": png_uri(32, 32, 3)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut keys: Vec<String> = [
        ("icons", "icon"),
        ("banners", "banner"),
        ("splashes", "splash"),
    ]
    .iter()
    .map(|(folder, field)| format!("{folder}/{}/{}", g.id, s(&r.body[*field])))
    .collect();
    let e = bob
        .post(
            &format!("/guilds/{}/emojis", g.id),
            json!({"name": "doomed", "image": png_uri(32, 32, 4)}),
        )
        .await;
    assert_eq!(e.status, 201, "{e:?}");
    let emoji = s(&e.body["id"]);
    let emoji_key = srv
        .hearth
        .db
        .emoji_by_id(emoji.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .blob_key;
    keys.push(emoji_key.clone());
    // A resized copy of the icon and of the emoji, kept in the store.
    let icon = s(&r.body["icon"]);
    for path in [
        format!("/icons/{}/{icon}.webp?size=16", g.id),
        format!("/emojis/{emoji}.png?size=16"),
    ] {
        let st = reqwest::get(format!("http://{}{path}", srv.addr))
            .await
            .unwrap()
            .status();
        assert_eq!(st, 200, "{path}");
    }
    keys.push(format!("cache/icons/{}/{icon}.16.webp", g.id));
    keys.push(format!("cache/{emoji_key}.16.png"));
    let m = upload(&bob, &g.general, form(None, &[("a.txt", b"bytes")])).await;
    assert_eq!(m.status, 200, "{m:?}");
    keys.push(key_of(&g.general, &m.body["attachments"][0]));
    for k in &keys {
        assert!(srv.blob_exists(k).await, "{k} stored");
    }
    // Not bob's admin route; the admin's.
    assert_err(
        &bob.delete(&format!("/admin/guilds/{}", g.id)).await,
        403,
        50013,
    );
    assert_eq!(
        admin
            .delete(&format!("/admin/guilds/{}", g.id))
            .await
            .status,
        204
    );
    for k in &keys {
        eventually(
            "the deleted guild's files and images are gone",
            async || !srv.blob_exists(k).await,
        )
        .await;
    }
    eventually("the collector forgot their ledger rows", async || {
        srv.hearth
            .db
            .blob_ledger("icons/")
            .await
            .unwrap()
            .is_empty()
            && srv
                .hearth
                .db
                .blob_ledger("emojis/")
                .await
                .unwrap()
                .is_empty()
    })
    .await;
}
