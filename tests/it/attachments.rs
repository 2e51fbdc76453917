//! Message attachments (issue 13, Discord "Uploading Files"): multipart uploads with
//! `payload_json` and `files[n]`, attachment objects, signed CDN URLs
//! (`/attachments/{channel}/{id}/{filename}?ex&is&hm`), limits, edits removing files.
//! Every test runs on both blob stores: `name::local` (the disk) and `name::s3` (an s3s-fs
//! server started by the test, through aws-sdk-s3).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Runs `async fn $name(blobs: Blobs)` as two tests, `$name::local` and `$name::s3`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::harness::Blobs;
            #[tokio::test]
            async fn local() {
                super::$name(Blobs::Local).await
            }
            #[tokio::test]
            async fn s3() {
                super::$name(Blobs::S3).await
            }
        }
    )*};
}
pub(crate) use on_both_stores;

on_both_stores!(
    two_files_upload_and_come_back_byte_identical,
    unsigned_tampered_and_expired_urls_are_404,
    limits_answer_413_40005_and_400,
    bad_multipart_is_400_never_500,
    edit_removes_one_attachment_and_its_bytes,
    files_need_attach_files,
    large_file_streams_through_the_store,
);

pub(crate) const BOUNDARY: &str = "hearthBoundary7MA4YWxk";

/// A tiny PNG header (IHDR 3x2): enough for the type and dimensions.
pub(crate) fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&3u32.to_be_bytes());
    b.extend_from_slice(&2u32.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0xff, 0x10]);
    b
}

/// A `multipart/form-data` body: `payload_json` (if any), then `files[n]` parts.
pub(crate) fn form(payload: Option<Value>, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(p) = payload {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{p}\r\n").as_bytes(),
        );
    }
    for (n, (name, bytes)) in files.iter().enumerate() {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[{n}]\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

pub(crate) async fn upload(c: &Client, channel: &str, body: Vec<u8>) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    c.raw(
        Method::POST,
        &format!("/channels/{channel}/messages"),
        Some(body),
        &[("content-type", ct.as_str())],
    )
    .await
}

/// `GET url` without credentials: status, headers, bytes.
pub(crate) async fn fetch(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::get(url).await.expect("fetch");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("bytes").to_vec())
}

pub(crate) fn h(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

const PAGE: &[u8] = b"<html><script>alert(1)</script></html>";

/// alice posts "two files" with cat.png and page.html in her guild's general channel.
async fn two_files(srv: &TestServer) -> (Client, Guild, Resp) {
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "files").await;
    let payload = json!({"content": "two files", "attachments": [
        {"id": 0, "filename": "cat.png", "description": "a cat"},
        {"id": "1", "filename": "page.html"}]});
    let r = upload(
        &alice,
        &g.general,
        form(Some(payload), &[("x.png", &png()), ("y.html", PAGE)]),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    (alice, g, r)
}

async fn two_files_upload_and_come_back_byte_identical(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |_| {}).await;
    let (alice, g, r) = two_files(&srv).await;
    assert_eq!(r.body["content"], "two files");
    let a = r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0]["filename"], "cat.png");
    assert_eq!(a[0]["description"], "a cat");
    assert_eq!(a[0]["content_type"], "image/png");
    assert_eq!(a[0]["size"], png().len());
    assert_eq!(
        (a[0]["width"].clone(), a[0]["height"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(a[1]["filename"], "page.html");
    assert_eq!(a[1]["content_type"], "text/html");
    assert!(a[1].get("width").is_none());
    for x in &a {
        let url = s(&x["url"]);
        assert!(url.contains(&format!("/attachments/{}/{}/", g.general, s(&x["id"]))));
        assert!(
            url.contains("ex=") && url.contains("is=") && url.contains("hm="),
            "{url}"
        );
        assert_eq!(x["proxy_url"], x["url"]);
    }
    // The image is shown in place; the page is a download (it could run script).
    let (st, hs, bytes) = fetch(&s(&a[0]["url"])).await;
    assert_eq!(st, 200);
    assert_eq!(bytes, png());
    assert_eq!(h(&hs, "content-type"), "image/png");
    assert_eq!(h(&hs, "content-length"), png().len().to_string());
    assert_eq!(h(&hs, "x-content-type-options"), "nosniff");
    assert_eq!(
        h(&hs, "content-disposition"),
        "inline; filename=\"cat.png\""
    );
    let (st, hs, bytes) = fetch(&s(&a[1]["url"])).await;
    assert_eq!(st, 200);
    assert_eq!(bytes, PAGE);
    assert_eq!(h(&hs, "content-type"), "text/html");
    assert_eq!(h(&hs, "x-content-type-options"), "nosniff");
    assert_eq!(
        h(&hs, "content-disposition"),
        "attachment; filename=\"page.html\""
    );
    // History and the single message carry the attachments with fresh URLs that work.
    let (_, bob) = srv.user("bob").await;
    join(&bob, &g.invite).await;
    let list = bob.get(&format!("/channels/{}/messages", g.general)).await;
    let seen = list.body[0]["attachments"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(seen.len(), 2);
    let (st, _, bytes) = fetch(&s(&seen[0]["url"])).await;
    assert_eq!((st, bytes), (200, png()));
    let one = alice
        .get(&format!(
            "/channels/{}/messages/{}",
            g.general,
            s(&r.body["id"])
        ))
        .await;
    assert_eq!(one.body["attachments"][1]["filename"], "page.html");
}

async fn unsigned_tampered_and_expired_urls_are_404(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |_| {}).await;
    let (_, _, r) = two_files(&srv).await;
    let url = s(&r.body["attachments"][0]["url"]);
    let other = s(&r.body["attachments"][1]["id"]);
    let (base, query) = url.split_once('?').expect("query");
    // A guessed URL (no signature), a wrong signature, another file with this signature.
    assert_eq!(fetch(base).await.0, 404);
    let tampered = format!("{base}?{}", query.replace("hm=", "hm=00"));
    assert_eq!(fetch(&tampered).await.0, 404);
    let id = s(&r.body["attachments"][0]["id"]);
    assert_eq!(fetch(&url.replace(&id, &other)).await.0, 404);
    assert_eq!(fetch(&url.replace("cat.png", "page.html")).await.0, 404);
    // An outsider cannot list the channel to get fresh URLs.
    let (_, eve) = srv.user("eve").await;
    let ch = s(&r.body["channel_id"]);
    assert_err(
        &eve.get(&format!("/channels/{ch}/messages")).await,
        403,
        50001,
    );
    // With a zero lifetime every URL is already expired.
    let srv = TestServer::start_blobs(blobs, |c| c.media.url_ttl_seconds = 0).await;
    let (_, _, r) = two_files(&srv).await;
    assert_eq!(fetch(&s(&r.body["attachments"][0]["url"])).await.0, 404);
}

async fn limits_answer_413_40005_and_400(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.max_file_bytes = 1000;
        c.media.max_total_bytes = 8000;
        c.media.max_files_per_message = 2;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "limits").await;
    let big = vec![b'a'; 1500];
    let r = upload(&alice, &g.general, form(None, &[("big.txt", &big)])).await;
    assert_err(&r, 413, 40005);
    assert_eq!(r.body["message"], "Request entity too large");
    // Over the request total (read to its end, then answered), and far over it.
    let r = upload(
        &alice,
        &g.general,
        form(None, &[("a.txt", &vec![b'a'; 12_000])]),
    )
    .await;
    assert_err(&r, 413, 40005);
    let r = upload(
        &alice,
        &g.general,
        form(None, &[("a.txt", &vec![b'a'; 40_000])]),
    )
    .await;
    assert_err(&r, 413, 40005);
    // Three files where two are allowed.
    let r = upload(
        &alice,
        &g.general,
        form(None, &[("1.txt", b"1"), ("2.txt", b"2"), ("3.txt", b"3")]),
    )
    .await;
    assert_field_error(&r, "files");
    // Nothing was stored; within the limits it works.
    let msgs = format!("/channels/{}/messages", g.general);
    assert_eq!(alice.get(&msgs).await.body, json!([]));
    let r = upload(&alice, &g.general, form(None, &[("ok.txt", b"fine")])).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["attachments"][0]["content_type"],
        "text/plain; charset=utf-8"
    );
}

async fn bad_multipart_is_400_never_500(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |_| {}).await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "bad forms").await;
    let msgs = format!("/channels/{}/messages", g.general);
    // No boundary.
    let r = alice
        .raw(
            Method::POST,
            &msgs,
            Some(b"hello".to_vec()),
            &[("content-type", "multipart/form-data")],
        )
        .await;
    assert_field_error(&r, "files");
    // A body that is not the announced form.
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let r = alice
        .raw(
            Method::POST,
            &msgs,
            Some(format!("--{BOUNDARY}\r\nnonsense without end").into_bytes()),
            &[("content-type", ct.as_str())],
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    // payload_json that is not JSON.
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{{nope\r\n"
    )
    .into_bytes();
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let r = upload(&alice, &g.general, body).await;
    assert_err(&r, 400, 50109);
    assert_eq!(alice.get(&msgs).await.body, json!([]));
}

async fn edit_removes_one_attachment_and_its_bytes(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| c.media.delete_grace_seconds = 0).await;
    let (alice, g, r) = two_files(&srv).await;
    let a = r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    let path = format!("/channels/{}/messages/{}", g.general, s(&r.body["id"]));
    let e = alice
        .patch(&path, json!({"attachments": [{"id": a[0]["id"]}]}))
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    let kept = e.body["attachments"].as_array().expect("kept").clone();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"], a[0]["id"]);
    assert!(e.body["edited_timestamp"].is_string());
    assert_eq!(fetch(&s(&kept[0]["url"])).await.0, 200);
    assert_eq!(fetch(&s(&a[1]["url"])).await.0, 404);
    let blob = format!("attachments/{}/{}", g.general, s(&a[1]["id"]));
    eventually("the removed file's bytes are deleted", async || {
        !srv.blob_exists(&blob).await
    })
    .await;
    // Content edits keep the remaining file; removing the last file of an empty message is
    // refused (50006).
    let e = alice.patch(&path, json!({"content": "changed"})).await;
    assert_eq!(e.body["attachments"].as_array().map(Vec::len), Some(1));
    let e = alice
        .patch(&path, json!({"content": "", "attachments": []}))
        .await;
    assert_err(&e, 400, 50006);
    // Deleting the message deletes its rows and bytes.
    let kept_blob = format!("attachments/{}/{}", g.general, s(&a[0]["id"]));
    assert!(srv.blob_exists(&kept_blob).await);
    assert_eq!(alice.delete(&path).await.status, 204);
    assert_eq!(fetch(&s(&kept[0]["url"])).await.0, 404);
    eventually("the message's file bytes are deleted", async || {
        !srv.blob_exists(&kept_blob).await
    })
    .await;
}

async fn files_need_attach_files(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |_| {}).await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "no files").await;
    let (_, bob) = srv.user("bob").await;
    join(&bob, &g.invite).await;
    // @everyone without ATTACH_FILES.
    let everyone = alice.get(&format!("/guilds/{}/roles", g.id)).await;
    let perms: u64 = s(&everyone.body[0]["permissions"]).parse().unwrap();
    let r = alice
        .patch(
            &format!("/guilds/{}/roles/{}", g.id, g.id),
            json!({"permissions": (perms & !(1u64 << 15)).to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = upload(&bob, &g.general, form(None, &[("a.txt", b"hi")])).await;
    assert_err(&r, 403, 50013);
    // Text without files still goes through.
    say(&bob, &g.general, "words only").await;
}

/// A file several S3 parts long (parts of 5 MiB, the minimum, here) is stored as a
/// multipart upload and served back byte for byte, streamed.
async fn large_file_streams_through_the_store(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.s3.part_bytes = hearth::media::MIN_PART_BYTES;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "big").await;
    let big: Vec<u8> = (0..11_000_000u32).map(|i| (i % 251) as u8).collect();
    let r = upload(&alice, &g.general, form(None, &[("big.bin", &big)])).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["attachments"][0]["size"], big.len());
    let (st, hs, bytes) = fetch(&s(&r.body["attachments"][0]["url"])).await;
    assert_eq!(st, 200);
    assert_eq!(h(&hs, "content-length"), big.len().to_string());
    assert!(bytes == big, "the bytes differ");
    if let Some(s3) = &srv.s3 {
        let key = format!(
            "attachments/{}/{}",
            g.general,
            s(&r.body["attachments"][0]["id"])
        );
        assert_eq!(
            std::fs::metadata(s3.object_path(&key))
                .expect("object")
                .len(),
            big.len() as u64
        );
    }
}
