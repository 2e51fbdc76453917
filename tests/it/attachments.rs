//! Message attachments (issue 13, Discord "Uploading Files"): multipart uploads with
//! `payload_json` and `files[n]`, attachment objects, signed CDN URLs
//! (`/attachments/{channel}/{id}/{filename}?ex&is&hm`) with byte ranges, limits enforced
//! while files stream into the store, edits removing files and adding them (multipart
//! `PATCH`).
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
    ranges_are_206_and_unsatisfiable_ones_416,
    files_before_the_payload_are_named_by_it,
    refused_and_cut_off_streams_leave_no_orphan,
    multipart_edits_add_keep_and_drop_files,
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

/// `PATCH /channels/{channel}/messages/{message}` with a multipart body.
pub(crate) async fn edit_upload(c: &Client, channel: &str, message: &str, body: Vec<u8>) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    c.raw(
        Method::PATCH,
        &format!("/channels/{channel}/messages/{message}"),
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

/// `GET url` with `headers`: status, headers, bytes.
async fn fetch_with(
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rq = reqwest::Client::new().get(url);
    for (k, v) in headers {
        rq = rq.header(*k, *v);
    }
    let r = rq.send().await.expect("fetch");
    let status = r.status().as_u16();
    let hs = r.headers().clone();
    (status, hs, r.bytes().await.expect("bytes").to_vec())
}

/// Byte ranges (RFC 9110 §14) on a file longer than one S3 part: one range is 206 with
/// `Content-Range` and exactly those bytes (a seek on disk, a ranged `GetObject` on S3), open
/// and suffix ranges included; a range past the end is 416 with `bytes */size`; several
/// ranges, another unit and a stale `If-Range` get the whole file; `If-None-Match` is 304;
/// a range never opens an unsigned URL.
async fn ranges_are_206_and_unsatisfiable_ones_416(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.s3.part_bytes = hearth::media::MIN_PART_BYTES;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "ranges").await;
    let n: usize = 6_000_000;
    let data: Vec<u8> = (0..n as u32).map(|i| (i % 251) as u8).collect();
    let r = upload(&alice, &g.general, form(None, &[("song.bin", &data)])).await;
    assert_eq!(r.status, 200, "{r:?}");
    let url = s(&r.body["attachments"][0]["url"]);
    let (st, hs, bytes) = fetch(&url).await;
    assert_eq!(st, 200);
    assert!(bytes == data, "whole file");
    assert_eq!(h(&hs, "accept-ranges"), "bytes");
    let etag = h(&hs, "etag");
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    // (Range header, start, end exclusive)
    let part = hearth::media::MIN_PART_BYTES as usize;
    let cases = [
        ("bytes=0-99".to_string(), 0, 100),
        ("bytes=5999990-".to_string(), 5_999_990, n),
        ("bytes=-5".to_string(), n - 5, n),
        (
            format!("bytes={}-{}", part - 10, part + 9),
            part - 10,
            part + 10,
        ),
        ("bytes=100-99999999".to_string(), 100, n),
        ("bytes=7-7".to_string(), 7, 8),
    ];
    for (range, a, b) in cases {
        let (st, hs, bytes) = fetch_with(&url, &[("range", &range)]).await;
        assert_eq!(st, 206, "{range}");
        assert_eq!(
            h(&hs, "content-range"),
            format!("bytes {a}-{}/{n}", b - 1),
            "{range}"
        );
        assert_eq!(h(&hs, "content-length"), (b - a).to_string(), "{range}");
        assert_eq!(h(&hs, "content-type"), "application/octet-stream");
        assert!(bytes == data[a..b], "{range}: wrong bytes");
    }
    for range in ["bytes=6000000-", "bytes=9000000-9000001", "bytes=-0"] {
        let (st, hs, body) = fetch_with(&url, &[("range", range)]).await;
        assert_eq!(st, 416, "{range}");
        assert_eq!(h(&hs, "content-range"), format!("bytes */{n}"));
        let v: Value = serde_json::from_slice(&body).expect("JSON error");
        assert_eq!(v["code"], 0);
    }
    // Ignored: several ranges, another unit, malformed; and a stale If-Range.
    for (range, if_range) in [
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=9-1", None),
        ("bytes=0-9", Some("\"stale\"")),
    ] {
        let mut hs = vec![("range", range)];
        hs.extend(if_range.map(|v| ("if-range", v)));
        let (st, hs, bytes) = fetch_with(&url, &hs).await;
        assert_eq!((st, bytes.len()), (200, n), "{range}");
        assert_eq!(h(&hs, "content-range"), "");
    }
    let (st, _, bytes) = fetch_with(&url, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!((st, bytes.as_slice()), (206, &data[..10]));
    let (st, _, bytes) = fetch_with(&url, &[("if-none-match", &etag)]).await;
    assert_eq!((st, bytes.len()), (304, 0));
    let base = url.split('?').next().unwrap();
    assert_eq!(fetch_with(base, &[("range", "bytes=0-9")]).await.0, 404);
}

/// discord.js sends the files before `payload_json`: each file is streamed into the store
/// before the payload is read, and the payload's `attachments` array still names them.
async fn files_before_the_payload_are_named_by_it(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |_| {}).await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "files first").await;
    let mut body = Vec::new();
    for (n, (name, bytes)) in [("x.png", png()), ("y.txt", b"words".to_vec())]
        .iter()
        .enumerate()
    {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[{n}]\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    let payload = json!({"content": "files first", "attachments": [
        {"id": "1", "filename": "notes.txt", "description": "second"},
        {"id": 0, "filename": "cat.png"}]});
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{payload}\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    let r = upload(&alice, &g.general, body).await;
    assert_eq!(r.status, 200, "{r:?}");
    let a = r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    assert_eq!(a.len(), 2);
    assert_eq!(
        (s(&a[0]["filename"]), s(&a[0]["content_type"])),
        ("cat.png".to_string(), "image/png".to_string())
    );
    assert_eq!(a[1]["filename"], "notes.txt");
    assert_eq!(a[1]["description"], "second");
    let (st, _, bytes) = fetch(&s(&a[1]["url"])).await;
    assert_eq!((st, bytes.as_slice()), (200, b"words".as_slice()));
    // A bad payload after stored files: refused, and the files are released.
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\n\r\nabc\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{{nope\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    assert_err(&upload(&alice, &g.general, body).await, 400, 50109);
    let prefix = format!("attachments/{}/", g.general);
    eventually("the refused request's file is released", async || {
        let rows = srv.hearth.db.blob_ledger(&prefix).await.unwrap();
        rows.len() == 3 && rows.iter().filter(|r| r.1.is_some()).count() == 1
    })
    .await;
}

/// A file over `media.max_file_bytes` is refused while it streams (after an S3 part went
/// out), with 413 40005 once the body was read; a request cut off in the middle of a file
/// also stores nothing. Either way: no object or temporary file, no multipart parts, the
/// ledger row recorded before the bytes is released (nothing charged; the collector deletes
/// released rows after the grace period, `tests/it/uploads.rs`).
async fn refused_and_cut_off_streams_leave_no_orphan(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.s3.part_bytes = hearth::media::MIN_PART_BYTES;
        c.media.max_file_bytes = 6 * 1024 * 1024;
        c.media.max_total_bytes = 64 * 1024 * 1024;
    })
    .await;
    let (alice_id, token) = srv.register("alice").await;
    let alice = srv.client(&token);
    let g = create_guild(&alice, "orphans").await;
    let prefix = format!("attachments/{}/", g.general);
    let nothing_stored = async || {
        let listed = srv.hearth.blobs.list(&prefix).await.unwrap();
        assert!(listed.is_empty(), "stored: {listed:?}");
        if let Some(s3) = &srv.s3 {
            let leftovers: Vec<String> = std::fs::read_dir(&s3.root)
                .expect("S3 folder")
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".upload"))
                .collect();
            assert!(leftovers.is_empty(), "multipart leftovers: {leftovers:?}");
        }
        let usage = srv
            .hearth
            .db
            .media_usage(alice_id.parse().unwrap(), g.id.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(usage, (0, 0), "nothing charged");
    };
    let big = vec![b'x'; 7 * 1024 * 1024];
    let r = upload(
        &alice,
        &g.general,
        form(Some(json!({"content": "big"})), &[("big.bin", &big)]),
    )
    .await;
    assert_err(&r, 413, 40005);
    eventually("the refused file's ledger row is released", async || {
        let rows = srv.hearth.db.blob_ledger(&prefix).await.unwrap();
        rows.len() == 1 && rows[0].1.is_some()
    })
    .await;
    nothing_stored().await;

    // Cut off: the request announces 8 MiB, sends 5.5 MiB of a file part, and hangs up.
    {
        use tokio::io::AsyncWriteExt;
        let mut conn = tokio::net::TcpStream::connect(srv.addr)
            .await
            .expect("connect");
        let head = format!(
            "POST /api/v10/channels/{}/messages HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"cut.bin\"\r\n\r\n",
            g.general,
            srv.addr,
            token,
            8 * 1024 * 1024
        );
        conn.write_all(head.as_bytes()).await.expect("head");
        conn.write_all(&vec![b'y'; 5 * 1024 * 1024 + 512 * 1024])
            .await
            .expect("body");
        conn.flush().await.unwrap();
        drop(conn);
    }
    eventually("the cut-off file's ledger row is released", async || {
        let rows = srv.hearth.db.blob_ledger(&prefix).await.unwrap();
        rows.len() == 2 && rows.iter().all(|r| r.1.is_some())
    })
    .await;
    nothing_stored().await;
    // No message was made.
    assert_eq!(
        alice
            .get(&format!("/channels/{}/messages", g.general))
            .await
            .body,
        json!([])
    );
}

/// A multipart `PATCH` (Discord: `payload_json` + `files[n]`) edits a message's files through
/// its `attachments` array: listed ids are kept, unlisted ones removed (their bytes deleted
/// after the grace period), entries whose `id` is a part's `n` name the new files, which are
/// streamed in under the limits and quotas of sends. A refused edit (a file over the limit,
/// another user's message, no ATTACH_FILES, too many files) leaves the message as it was and
/// no byte behind.
async fn multipart_edits_add_keep_and_drop_files(blobs: Blobs) {
    let srv = TestServer::start_blobs(blobs, |c| {
        c.media.delete_grace_seconds = 0;
        c.media.max_file_bytes = 64 * 1024;
        c.media.max_files_per_message = 3;
    })
    .await;
    let (_, token) = srv.register("alice").await;
    let alice = srv.client(&token);
    let g = create_guild(&alice, "files").await;
    let r = upload(
        &alice,
        &g.general,
        form(
            Some(json!({"content": "two files"})),
            &[("cat.png", &png()), ("page.html", PAGE)],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let a = r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    let mid = s(&r.body["id"]);
    let path = format!("/channels/{}/messages/{mid}", g.general);
    let mut gw = crate::gateway::Gw::identify(
        &srv,
        &token,
        crate::gateway::GUILDS | crate::gateway::GUILD_MESSAGES,
    )
    .await;

    // Keep cat.png, drop page.html, add notes.txt (named by its entry).
    let notes = b"new notes, added by an edit".to_vec();
    let e = edit_upload(
        &alice,
        &g.general,
        &mid,
        form(
            Some(json!({"content": "edited", "attachments": [
                {"id": a[0]["id"]},
                {"id": 0, "filename": "notes.txt", "description": "added later"}]})),
            &[("whatever.bin", &notes)],
        ),
    )
    .await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(e.body["content"], "edited");
    assert!(e.body["edited_timestamp"].is_string());
    let list = e.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["id"], a[0]["id"]);
    let added = list[1].clone();
    assert_eq!(added["filename"], "notes.txt");
    assert_eq!(added["description"], "added later");
    assert_eq!(added["size"], notes.len());
    assert!(
        s(&added["content_type"]).starts_with("text/plain"),
        "{added}"
    );
    let (st, _, bytes) = fetch(&s(&added["url"])).await;
    assert_eq!((st, bytes), (200, notes.clone()));
    assert_eq!(fetch(&s(&a[1]["url"])).await.0, 404);
    let upd = gw.expect("MESSAGE_UPDATE").await;
    assert_eq!(ids(&upd["attachments"]), ids(&e.body["attachments"]));
    let dropped = format!("attachments/{}/{}", g.general, s(&a[1]["id"]));
    eventually("the dropped file's bytes are deleted", async || {
        !srv.blob_exists(&dropped).await
    })
    .await;
    // As stored.
    let read = alice.get(&path).await;
    assert_eq!(ids(&read.body["attachments"]), ids(&e.body["attachments"]));
    let kept_keys: Vec<String> = list
        .iter()
        .map(|x| format!("attachments/{}/{}", g.general, s(&x["id"])))
        .collect();
    let unchanged = async |why: &str| {
        let read = alice.get(&path).await;
        assert_eq!(read.body["content"], "edited", "{why}");
        assert_eq!(
            ids(&read.body["attachments"]),
            ids(&e.body["attachments"]),
            "{why}"
        );
    };
    // Nothing but the message's two files is left in the store or live in the ledger once
    // the collector ran.
    let no_orphan = async |why: &str| {
        let prefix = format!("attachments/{}/", g.general);
        eventually(&format!("no orphan after {why}"), async || {
            let live: Vec<String> = srv
                .hearth
                .db
                .blob_ledger(&prefix)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.1.is_none())
                .map(|r| r.0)
                .collect();
            srv.hearth.collect_media(false, false).await.unwrap();
            let mut stored: Vec<String> = srv
                .hearth
                .blobs
                .list(&prefix)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.key)
                .collect();
            stored.sort();
            live == kept_keys && stored == kept_keys
        })
        .await;
    };

    // A file over `media.max_file_bytes`: 413 40005, the message as it was.
    let big = vec![b'x'; 64 * 1024 + 1];
    let r = edit_upload(
        &alice,
        &g.general,
        &mid,
        form(
            Some(json!({"content": "too big", "attachments": [{"id": added["id"]}, {"id": 0}]})),
            &[("big.bin", &big)],
        ),
    )
    .await;
    assert_err(&r, 413, 40005);
    unchanged("an oversize file").await;
    no_orphan("an oversize file").await;

    // Kept and added over `media.max_files_per_message` (3): 2 kept + 2 new.
    let r = edit_upload(
        &alice,
        &g.general,
        &mid,
        form(
            Some(json!({"attachments": [{"id": a[0]["id"]}, {"id": added["id"]}, {"id": 0}, {"id": 1}]})),
            &[("x.txt", b"x"), ("y.txt", b"y")],
        ),
    )
    .await;
    assert_field_error(&r, "attachments");
    unchanged("too many files").await;
    no_orphan("too many files").await;

    // Another member may not add files to alice's message; once @everyone lacks
    // ATTACH_FILES, bob may not add files to his own either; an outsider sees nothing.
    let (_, bob) = srv.user("bob").await;
    join(&bob, &g.invite).await;
    let r = edit_upload(&bob, &g.general, &mid, form(None, &[("b.txt", b"bob")])).await;
    assert_err(&r, 403, 50005);
    unchanged("another user's edit").await;
    let bobs = say(&bob, &g.general, "bob's words").await;
    let everyone = alice.get(&format!("/guilds/{}/roles", g.id)).await;
    let perms: u64 = s(&everyone.body[0]["permissions"]).parse().unwrap();
    let r = alice
        .patch(
            &format!("/guilds/{}/roles/{}", g.id, g.id),
            json!({"permissions": (perms & !(1u64 << 15)).to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = edit_upload(&bob, &g.general, &bobs, form(None, &[("b.txt", b"bob")])).await;
    assert_err(&r, 403, 50013);
    let (_, carol) = srv.user("carol").await;
    let r = edit_upload(&carol, &g.general, &mid, form(None, &[("c.txt", b"carol")])).await;
    assert!(r.status == 403 || r.status == 404, "{r:?}");
    no_orphan("refused senders").await;
    // A JSON edit still works on the same route.
    let e = alice.patch(&path, json!({"content": "json again"})).await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(ids(&e.body["attachments"]), ids(&read.body["attachments"]));
}
