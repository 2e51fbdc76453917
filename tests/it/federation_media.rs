//! Federation of files (issue 13; spec/federation.md §17) between a host (b) and a member
//! server (a) over real TLS and DNS (`TestNetwork`): an attachment, a remote user's avatar,
//! a guild icon and custom emoji (sent in the join snapshot and by `GUILD_EMOJIS_UPDATE`)
//! are served by the member server at its own URLs, fetched once from the host and kept in
//! its own blob store (on both stores: `name::local`, `name::s3`); the host's media
//! endpoint refuses a hidden channel's attachment to a server with no member who may see
//! it, and unsigned requests; a remote file over the member's limit is refused with a clear
//! error. The member's cached copies are handed to its file collector when what named them
//! goes (a message deleted or an attachment edited away on the host, an emoji removed, an
//! avatar or icon replaced, the guild left), and a fetched attachment is typed by its bytes,
//! whatever the host claims.

use std::io::Cursor;

use base64::Engine;
use image::{ImageFormat, Rgba, RgbaImage};
use reqwest::Method;
use serde_json::{Value, json};

use crate::attachments::{fetch, form, h, on_both_stores, upload};
use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;
use crate::network::TestNetwork;

const A: &str = "a.hearth.test";
const B: &str = "b.hearth.test";
const GUILD_EXPRESSIONS: u64 = 1 << 3;
const ALL: u64 = GUILDS | GUILD_MESSAGES | GUILD_EXPRESSIONS;

on_both_stores!(
    files_of_the_host_are_served_by_the_member_server,
    cached_remote_files_go_when_what_named_them_goes,
    a_fetched_attachment_is_typed_by_its_bytes,
);

/// A `w` x `h` PNG with a gradient tinted by `tint`.
fn png(w: u32, h: u32, tint: u8) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, y| Rgba([x as u8, y as u8, tint, 255]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn uri(bytes: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// `GET http://{server}{path}` without credentials: status, headers, bytes.
async fn cdn(srv: &TestServer, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    fetch(&format!("http://{}{path}", srv.addr)).await
}

/// An attachment URL of a message object, made absolute on `srv` when relative.
fn absolute(srv: &TestServer, url: &str) -> String {
    if url.starts_with("http") {
        url.to_string()
    } else {
        format!("http://{}{url}", srv.addr)
    }
}

/// Bob hosts "Files" on b (with an icon and one emoji); alice joins it through a. Returns
/// the network, both tokens, the GUILD_CREATE alice got and her gateway.
struct World {
    net: TestNetwork,
    alice_tok: String,
    bob_tok: String,
    gid_b: String,
    general_b: String,
    icon: Vec<u8>,
    early_emoji: Vec<u8>,
    guild_create: Value,
    alice_gw: Gw,
}

impl World {
    fn bob(&self) -> Client {
        self.net.server(B).client(&self.bob_tok)
    }
    fn alice(&self) -> Client {
        self.net.server(A).client(&self.alice_tok)
    }
    fn general_a(&self) -> String {
        let ch = self.guild_create["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "general")
            .expect("general on a")
            .clone();
        s(&ch["id"])
    }
}

async fn world(net: TestNetwork) -> World {
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let bob = net.server(B).client(&bob_tok);
    let g = bob.post("/guilds", json!({"name": "Files"})).await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid_b = s(&g.body["id"]);
    let icon = png(64, 32, 9);
    let r = bob
        .patch(&format!("/guilds/{gid_b}"), json!({"icon": uri(&icon)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let early_emoji = png(32, 32, 100);
    let r = bob
        .post(
            &format!("/guilds/{gid_b}/emojis"),
            json!({"name": "early", "image": uri(&early_emoji)}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let general_b = s(&bob.get(&format!("/guilds/{gid_b}/channels")).await.body[0]["id"]);
    let inv = bob
        .post(
            &format!("/channels/{general_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    let code = s(&inv.body["code"]);
    let mut alice_gw = Gw::identify(net.server(A), &alice_tok, ALL).await;
    let r = net
        .server(A)
        .client(&alice_tok)
        .post(&format!("/invites/{code}@{B}"), json!({}))
        .await;
    assert_eq!(r.status, 200, "alice joins through a: {r:?}");
    let guild_create = alice_gw.expect("GUILD_CREATE").await;
    World {
        net,
        alice_tok,
        bob_tok,
        gid_b,
        general_b,
        icon,
        early_emoji,
        guild_create,
        alice_gw,
    }
}

async fn files_of_the_host_are_served_by_the_member_server(blobs: Blobs) {
    let net = TestNetwork::start_blobs(&[A, B], blobs, |_, _| {}).await;
    let mut w = world(net).await;
    let general_a = w.general_a();
    let gid_a = s(&w.guild_create["id"]);
    let (a, b) = (w.net.server(A), w.net.server(B));

    // Bob's avatar, then a file in general.
    let avatar = png(48, 48, 200);
    let r = w
        .bob()
        .patch("/users/@me", json!({"avatar": uri(&avatar)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let avatar_hash = s(&r.body["avatar"]);
    let file = png(3, 2, 50);
    let sent = upload(
        &w.bob(),
        &w.general_b,
        form(
            Some(json!({"content": "a file", "attachments": [{"id": 0, "filename": "cat.png", "description": "a cat"}]})),
            &[("cat.png", &file)],
        ),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let host_att = sent.body["attachments"][0].clone();

    // Alice's event carries the attachment in a's ids with a's signed URL.
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(ev["content"], "a file");
    let att = ev["attachments"][0].clone();
    let att_id = s(&att["id"]);
    assert_ne!(att_id, s(&host_att["id"]), "a's own id for the attachment");
    assert_eq!(att["filename"], "cat.png");
    assert_eq!(att["description"], "a cat");
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], file.len());
    let url = s(&att["url"]);
    assert!(
        url.contains(&format!("/attachments/{general_a}/{att_id}/cat.png?")) && url.contains("hm="),
        "{url}"
    );
    assert!(!url.contains(B), "{url}");
    assert!(
        !a.blob_exists(&format!("remote/attachments/{general_a}/{att_id}"))
            .await,
        "fetched on first request only"
    );
    // Concurrent first requests: one fetch, everyone gets the same bytes.
    let full = absolute(a, &url);
    let got = futures_util::future::join_all((0..4).map(|_| fetch(&full))).await;
    for (st, hs, bytes) in got {
        assert_eq!(st, 200);
        assert_eq!(bytes, file);
        assert_eq!(h(&hs, "content-type"), "image/png");
        assert_eq!(h(&hs, "x-content-type-options"), "nosniff");
    }
    assert!(
        a.blob_exists(&format!("remote/attachments/{general_a}/{att_id}"))
            .await,
        "kept in a's own store"
    );
    // REST on a shows the same attachment with a fresh URL of a.
    let msgs = w
        .alice()
        .get(&format!("/channels/{general_a}/messages?limit=1"))
        .await;
    assert_eq!(msgs.status, 200);
    let rest_att = &msgs.body[0]["attachments"][0];
    assert_eq!(s(&rest_att["id"]), att_id);
    let (st, _, bytes) = fetch(&absolute(a, &s(&rest_att["url"]))).await;
    assert_eq!((st, bytes), (200, file.clone()));
    // A guessed or tampered URL on a is 404, as for local files.
    let tampered = full.replace("hm=", "hm=00");
    assert_eq!(fetch(&tampered).await.0, 404);

    // Bob's avatar, at a's CDN path under a's id of bob.
    let bob_a = s(&ev["author"]["id"]);
    assert_eq!(ev["author"]["avatar"], json!(avatar_hash));
    let (st, hs, bytes) = cdn(a, &format!("/avatars/{bob_a}/{avatar_hash}.png")).await;
    assert_eq!(st, 200, "remote avatar");
    assert_eq!(bytes, avatar);
    assert_eq!(h(&hs, "content-type"), "image/png");
    let (st, _, small) = cdn(a, &format!("/avatars/{bob_a}/{avatar_hash}.webp?size=16")).await;
    assert_eq!(st, 200);
    assert!(!small.is_empty());
    // A hash that is not bob's current avatar fetches nothing.
    let (st, _, _) = cdn(a, &format!("/avatars/{bob_a}/{}.png", "0".repeat(32))).await;
    assert_eq!(st, 404);

    // The guild icon, at a's CDN path under a's id of the guild.
    let icon_hash = s(&w.guild_create["icon"]);
    let (st, hs, bytes) = cdn(a, &format!("/icons/{gid_a}/{icon_hash}.png")).await;
    assert_eq!(st, 200, "remote icon");
    assert_eq!(bytes, w.icon);
    assert_eq!(h(&hs, "content-type"), "image/png");

    // The emoji of the join snapshot, in a's ids.
    let emojis = w.guild_create["emojis"].as_array().expect("emojis").clone();
    assert_eq!(emojis.len(), 1, "{emojis:?}");
    assert_eq!(emojis[0]["name"], "early");
    let early_a = s(&emojis[0]["id"]);
    let early_b = s(&w
        .bob()
        .get(&format!("/guilds/{}/emojis", w.gid_b))
        .await
        .body[0]["id"]);
    assert_ne!(early_a, early_b);
    let (st, _, bytes) = cdn(a, &format!("/emojis/{early_a}.png")).await;
    assert_eq!((st, bytes), (200, w.early_emoji.clone()));
    // An emoji created after the join arrives with GUILD_EMOJIS_UPDATE and is served too.
    let late = png(16, 16, 33);
    let r = w
        .bob()
        .post(
            &format!("/guilds/{}/emojis", w.gid_b),
            json!({"name": "late", "image": uri(&late)}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let upd = w.alice_gw.expect("GUILD_EMOJIS_UPDATE").await;
    assert_eq!(upd["guild_id"], gid_a.as_str());
    let list = upd["emojis"].as_array().unwrap().clone();
    let late_a = list
        .iter()
        .find(|e| e["name"] == "late")
        .map(|e| s(&e["id"]))
        .unwrap_or_else(|| panic!("late in {list:?}"));
    let (st, _, bytes) = cdn(a, &format!("/emojis/{late_a}.png")).await;
    assert_eq!((st, bytes), (200, late));
    let listed = w.alice().get(&format!("/guilds/{gid_a}/emojis")).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    // Deleting it on the host removes it on a.
    let r = w
        .bob()
        .delete(&format!("/guilds/{}/emojis/{}", w.gid_b, s(&r.body["id"])))
        .await;
    assert_eq!(r.status, 204);
    let upd = w.alice_gw.expect("GUILD_EMOJIS_UPDATE").await;
    assert_eq!(upd["emojis"].as_array().unwrap().len(), 1);
    assert_eq!(cdn(a, &format!("/emojis/{late_a}.png")).await.0, 404);
    let _ = b;

    // With the host gone, a still serves what it fetched, from its own store.
    w.net.stop(B);
    let a = w.net.server(A);
    let (st, _, bytes) = fetch(&full).await;
    assert_eq!((st, bytes), (200, file));
    let (st, _, bytes) = cdn(a, &format!("/avatars/{bob_a}/{avatar_hash}.png")).await;
    assert_eq!((st, bytes), (200, avatar));
}

/// The host's media path of an attachment object sent on the host.
fn media_path(channel_b: &str, att: &Value) -> String {
    format!(
        "/_hearth/federation/v1/media/attachments/{channel_b}/{}",
        s(&att["id"])
    )
}

#[tokio::test]
async fn hidden_attachments_unsigned_requests_and_oversize_files_are_refused() {
    // a takes remote files of at most 1 KiB.
    let net = TestNetwork::start_with(&[A, B], |name, c| {
        if name == A {
            c.media.max_file_bytes = 1024;
        }
    })
    .await;
    let mut w = world(net).await;
    let general_a = w.general_a();
    let (a, b) = (w.net.server(A), w.net.server(B));

    // A channel nobody but bob sees, with a file; and a file in general.
    let staff = w.bob().post(&format!("/guilds/{}/channels", w.gid_b), json!({"name": "staff", "permission_overwrites": [{"id": w.gid_b, "type": 0, "allow": "0", "deny": "1024"}]})).await;
    assert_eq!(staff.status, 201, "{staff:?}");
    let staff_b = s(&staff.body["id"]);
    let secret = b"secret plans, not for a".to_vec();
    let hidden = upload(
        &w.bob(),
        &staff_b,
        form(Some(json!({"content": ""})), &[("plans.txt", &secret)]),
    )
    .await;
    assert_eq!(hidden.status, 200, "{hidden:?}");
    let small = b"hello from the host".to_vec();
    let visible = upload(
        &w.bob(),
        &w.general_b,
        form(Some(json!({"content": "small"})), &[("hello.txt", &small)]),
    )
    .await;
    assert_eq!(visible.status, 200, "{visible:?}");
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(ev["content"], "small");

    // a asks the host directly, signed: the visible file comes with its stored type, the
    // hidden one is unknown to a (no member of a may see the channel).
    let ok_path = media_path(&w.general_b, &visible.body["attachments"][0]);
    let resp = a
        .fed
        .client
        .get_file(B, &ok_path, 1 << 20)
        .await
        .expect("visible file");
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), small);
    let hidden_path = media_path(&staff_b, &hidden.body["attachments"][0]);
    match a.fed.client.get_file(B, &hidden_path, 1 << 20).await {
        Err(hearth::s2s::FedError::Remote {
            status, errcode, ..
        }) => assert_eq!((status, errcode.as_str()), (404, "H_NOT_FOUND")),
        Err(e) => panic!("hidden file: {e}"),
        Ok(r) => panic!("hidden file served: {}", r.status()),
    }
    // Unsigned: refused before anything is looked up.
    match a
        .fed
        .client
        .send(B, Method::GET, &ok_path, Vec::new(), None)
        .await
    {
        Err(hearth::s2s::FedError::Remote { status, .. }) => {
            assert!(status == 401 || status == 400, "unsigned: {status}")
        }
        other => panic!("unsigned request: {other:?}"),
    }
    // Unknown ids are 404 too.
    let unknown = "/_hearth/federation/v1/media/attachments/1/2";
    assert!(matches!(
        a.fed.client.get_file(B, unknown, 1 << 20).await,
        Err(hearth::s2s::FedError::Remote { status: 404, .. })
    ));
    // Images of the host are public to any signed server; an unknown hash is 404.
    let icon = s(&w.guild_create["icon"]);
    let icon_path = format!(
        "/_hearth/federation/v1/media/guilds/{}/icons/{icon}",
        w.gid_b
    );
    let r = a.fed.client.get_file(B, &icon_path, 1 << 20).await.unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), w.icon);
    let bad = format!(
        "/_hearth/federation/v1/media/guilds/{}/icons/{}",
        w.gid_b,
        "0".repeat(32)
    );
    assert!(matches!(
        a.fed.client.get_file(B, &bad, 1 << 20).await,
        Err(hearth::s2s::FedError::Remote { status: 404, .. })
    ));

    // A file over a's limit for remote files: a refuses it with a clear error and keeps
    // nothing.
    let big = vec![b'x'; 4096];
    let sent = upload(
        &w.bob(),
        &w.general_b,
        form(Some(json!({"content": "big"})), &[("big.txt", &big)]),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(ev["content"], "big");
    let att = &ev["attachments"][0];
    assert_eq!(att["size"], 4096);
    let r = reqwest::get(absolute(a, &s(&att["url"]))).await.unwrap();
    assert_eq!(r.status().as_u16(), 502);
    let body: Value = r.json().await.unwrap();
    assert!(
        s(&body["message"]).contains("larger than 1024 bytes"),
        "{body}"
    );
    assert!(
        !a.blob_exists(&format!("remote/attachments/{general_a}/{}", s(&att["id"])))
            .await
    );
    // The host still serves it to its own members.
    let (st, _, bytes) = fetch(&absolute(b, &s(&sent.body["attachments"][0]["url"]))).await;
    assert_eq!((st, bytes), (200, big));
}

/// Runs the member's collector until `key` is gone from its store (the test servers keep
/// no grace period: `media.delete_grace_seconds = 0`).
async fn collected(srv: &TestServer, key: &str) {
    eventually(&format!("{key} deleted by the collector"), async || {
        srv.hearth.collect_media(false, false).await.unwrap();
        !srv.blob_exists(key).await
    })
    .await;
}

/// Whether `key` has a live (unreleased) row in the server's blob ledger.
async fn live_in_ledger(srv: &TestServer, key: &str) -> bool {
    srv.hearth
        .db
        .blob_ledger(key)
        .await
        .unwrap()
        .iter()
        .any(|(k, released)| k == key && released.is_none())
}

/// limitation 18 of spec/federation.md §16, fixed: a member server's cached copy of a host's
/// file is recorded in its blob ledger when fetched and released (then deleted after the
/// grace period, resized copies included) when what named it goes: an attachment edited
/// away, a message deleted, an emoji removed, a remote user's avatar or the guild's icon
/// replaced, the guild left by the last local member. Files still named stay.
async fn cached_remote_files_go_when_what_named_them_goes(blobs: Blobs) {
    let net =
        TestNetwork::start_blobs(&[A, B], blobs, |_, c| c.media.delete_grace_seconds = 0).await;
    let mut w = world(net).await;
    let general_a = w.general_a();
    let gid_a = s(&w.guild_create["id"]);

    // Bob's avatar, and a message with two files; a fetches all three.
    let avatar = png(48, 48, 7);
    let r = w
        .bob()
        .patch("/users/@me", json!({"avatar": uri(&avatar)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let old_avatar = s(&r.body["avatar"]);
    let sent = upload(
        &w.bob(),
        &w.general_b,
        form(
            Some(json!({"content": "two files"})),
            &[("one.txt", b"first file"), ("two.txt", b"second file")],
        ),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let host_atts = sent.body["attachments"].as_array().unwrap().clone();
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    let bob_a = s(&ev["author"]["id"]);
    let atts = ev["attachments"].as_array().unwrap().clone();
    let key = |att: &Value| format!("remote/attachments/{general_a}/{}", s(&att["id"]));
    let urls: Vec<String> = atts
        .iter()
        .map(|x| absolute(w.net.server(A), &s(&x["url"])))
        .collect();
    for (u, want) in urls.iter().zip([&b"first file"[..], b"second file"]) {
        let (st, _, bytes) = fetch(u).await;
        assert_eq!((st, bytes.as_slice()), (200, want));
    }
    let a = w.net.server(A);
    for att in &atts {
        assert!(a.blob_exists(&key(att)).await, "cached");
        assert!(live_in_ledger(a, &key(att)).await, "recorded in a's ledger");
    }
    let avatar_key = format!("avatars/{bob_a}/{old_avatar}");
    let (st, _, _) = cdn(a, &format!("/avatars/{bob_a}/{old_avatar}.webp?size=16")).await;
    assert_eq!(st, 200);
    assert!(a.blob_exists(&avatar_key).await);
    let resized = format!("cache/{avatar_key}.16.webp");
    assert!(a.blob_exists(&resized).await, "a resized copy");
    // The emoji of the join snapshot and the icon, fetched too.
    let early_a = s(&w.guild_create["emojis"][0]["id"]);
    assert_eq!(cdn(a, &format!("/emojis/{early_a}.png")).await.0, 200);
    let emoji_key = format!("remote/emojis/{early_a}");
    assert!(a.blob_exists(&emoji_key).await);
    let old_icon = s(&w.guild_create["icon"]);
    assert_eq!(
        cdn(a, &format!("/icons/{gid_a}/{old_icon}.png")).await.0,
        200
    );
    let icon_key = format!("icons/{gid_a}/{old_icon}");
    assert!(a.blob_exists(&icon_key).await);

    // The host's edit keeps the first file only: a's copy of the second goes.
    let path_b = format!("/channels/{}/messages/{}", w.general_b, s(&sent.body["id"]));
    let e = w
        .bob()
        .patch(
            &path_b,
            json!({"attachments": [{"id": host_atts[0]["id"]}]}),
        )
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    let upd = w.alice_gw.expect("MESSAGE_UPDATE").await;
    assert_eq!(ids(&upd["attachments"]), vec![s(&atts[0]["id"])]);
    collected(a, &key(&atts[1])).await;
    assert_eq!(fetch(&urls[1]).await.0, 404);
    assert!(a.blob_exists(&key(&atts[0])).await, "the kept file stays");
    let (st, _, bytes) = fetch(&urls[0]).await;
    assert_eq!((st, bytes), (200, b"first file".to_vec()));

    // The host deletes the message: a's copy of the first file goes, its URL is 404.
    assert_eq!(w.bob().delete(&path_b).await.status, 204);
    w.alice_gw.expect("MESSAGE_DELETE").await;
    collected(a, &key(&atts[0])).await;
    assert_eq!(fetch(&urls[0]).await.0, 404);

    // The emoji is deleted on the host.
    let early_b = s(&w
        .bob()
        .get(&format!("/guilds/{}/emojis", w.gid_b))
        .await
        .body[0]["id"]);
    let r = w
        .bob()
        .delete(&format!("/guilds/{}/emojis/{early_b}", w.gid_b))
        .await;
    assert_eq!(r.status, 204);
    w.alice_gw.expect("GUILD_EMOJIS_UPDATE").await;
    collected(a, &emoji_key).await;
    assert_eq!(cdn(a, &format!("/emojis/{early_a}.png")).await.0, 404);

    // Bob's new avatar reaches a with his next message: the old one goes, resized copy too.
    let r = w
        .bob()
        .patch("/users/@me", json!({"avatar": uri(&png(48, 48, 99))}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let new_avatar = s(&r.body["avatar"]);
    say(&w.bob(), &w.general_b, "new face").await;
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(ev["author"]["avatar"], json!(new_avatar));
    collected(a, &avatar_key).await;
    collected(a, &resized).await;
    assert_eq!(
        cdn(a, &format!("/avatars/{bob_a}/{new_avatar}.png"))
            .await
            .0,
        200
    );
    let new_avatar_key = format!("avatars/{bob_a}/{new_avatar}");
    assert!(a.blob_exists(&new_avatar_key).await);

    // A new icon: the old one's copy goes.
    let r = w
        .bob()
        .patch(
            &format!("/guilds/{}", w.gid_b),
            json!({"icon": uri(&png(64, 32, 77))}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let new_icon = s(&r.body["icon"]);
    let upd = w.alice_gw.expect("GUILD_UPDATE").await;
    assert_eq!(upd["icon"], json!(new_icon));
    collected(a, &icon_key).await;
    assert_eq!(
        cdn(a, &format!("/icons/{gid_a}/{new_icon}.png")).await.0,
        200
    );
    let new_icon_key = format!("icons/{gid_a}/{new_icon}");
    assert!(a.blob_exists(&new_icon_key).await);

    // One more file, fetched; then alice, a's only member, leaves: the replica is dropped
    // and every file of it cached on a goes (the remote user's avatar stays).
    let sent = upload(
        &w.bob(),
        &w.general_b,
        form(
            Some(json!({"content": "last"})),
            &[("last.txt", b"last file")],
        ),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    let last = ev["attachments"][0].clone();
    assert_eq!(fetch(&absolute(a, &s(&last["url"]))).await.0, 200);
    assert!(a.blob_exists(&key(&last)).await);
    let r = w
        .alice()
        .delete(&format!("/users/@me/guilds/{gid_a}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    collected(a, &key(&last)).await;
    collected(a, &new_icon_key).await;
    assert!(
        a.blob_exists(&new_avatar_key).await,
        "bob's avatar is his, not the guild's"
    );
    assert!(live_in_ledger(a, &new_avatar_key).await);
}

/// limitation 19 of spec/federation.md §16, fixed: the member server types a fetched
/// attachment from its bytes (as uploads are), whatever the host's message object and media
/// answer claim. Here the host's stored type is forged (`image/png`, 3x2, for HTML bytes):
/// a shows the claim until the file is fetched, then serves it as the HTML it is (a
/// download, `nosniff`) and shows the sniffed type, without dimensions, from then on.
async fn a_fetched_attachment_is_typed_by_its_bytes(blobs: Blobs) {
    let net = TestNetwork::start_blobs(&[A, B], blobs, |_, _| {}).await;
    let (a, b) = (net.server(A), net.server(B));
    let (_, alice_tok) = a.register("alice").await;
    let (_, bob_tok) = b.register("bob").await;
    let bob = b.client(&bob_tok);
    let g = bob.post("/guilds", json!({"name": "Forged"})).await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid_b = s(&g.body["id"]);
    let general_b = s(&bob.get(&format!("/guilds/{gid_b}/channels")).await.body[0]["id"]);
    const PAGE: &[u8] = b"<html><script>alert(document.domain)</script></html>";
    let sent = upload(
        &bob,
        &general_b,
        form(Some(json!({"content": "a picture"})), &[("cat.png", PAGE)]),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(sent.body["attachments"][0]["content_type"], "text/html");
    // The host lies from now on: its row says a 3x2 PNG.
    let host_id: i64 = s(&sent.body["attachments"][0]["id"]).parse().unwrap();
    let q =
        "UPDATE attachments SET content_type = 'image/png', width = 3, height = 2 WHERE id = $1";
    match &*b.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            sqlx::query(q).bind(host_id).execute(p).await.unwrap();
        }
        hearth_db::Db::Postgres(p) => {
            sqlx::query(q).bind(host_id).execute(p).await.unwrap();
        }
    }
    let inv = bob
        .post(
            &format!("/channels/{general_b}/invites"),
            json!({"max_age": 0}),
        )
        .await;
    let alice = a.client(&alice_tok);
    let r = alice
        .post(&format!("/invites/{}@{B}", s(&inv.body["code"])), json!({}))
        .await;
    assert_eq!(r.status, 200, "alice joins through a: {r:?}");
    let mine = alice.get("/users/@me/guilds").await;
    let gid_a = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Forged")
        .map(|g| s(&g["id"]))
        .unwrap_or_else(|| panic!("the replica on a: {mine:?}"));
    let chans = alice.get(&format!("/guilds/{gid_a}/channels")).await;
    let general_a = chans
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "general")
        .map(|c| s(&c["id"]))
        .expect("general on a");
    // History from the host (a backfill) carries the claim; a shows it until it fetched the
    // file.
    let page = alice
        .get(&format!("/channels/{general_a}/messages?limit=10"))
        .await;
    assert_eq!(page.status, 200, "{page:?}");
    let att = page.body[0]["attachments"][0].clone();
    assert_eq!(att["content_type"], "image/png", "the host's claim: {att}");
    let (st, hs, bytes) = fetch(&absolute(a, &s(&att["url"]))).await;
    assert_eq!((st, bytes.as_slice()), (200, PAGE));
    assert_eq!(h(&hs, "content-type"), "text/html");
    assert!(
        h(&hs, "content-disposition").starts_with("attachment"),
        "{hs:?}"
    );
    assert_eq!(h(&hs, "x-content-type-options"), "nosniff");
    // From now on a shows what the bytes are, in REST and in later events, and serves it so
    // again (also a range of it).
    let page = alice
        .get(&format!("/channels/{general_a}/messages?limit=10"))
        .await;
    let att = page.body[0]["attachments"][0].clone();
    assert_eq!(att["content_type"], "text/html", "{att}");
    assert!(att.get("width").is_none_or(Value::is_null), "{att}");
    let r = reqwest::Client::new()
        .get(absolute(a, &s(&att["url"])))
        .header("range", "bytes=0-5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(h(r.headers(), "content-type"), "text/html");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &PAGE[..6]);
    let mut gw = Gw::identify(a, &alice_tok, ALL).await;
    let path_b = format!("/channels/{general_b}/messages/{}", s(&sent.body["id"]));
    let e = bob
        .patch(&path_b, json!({"content": "still a picture"}))
        .await;
    assert_eq!(e.status, 200, "{e:?}");
    let upd = gw.expect("MESSAGE_UPDATE").await;
    assert_eq!(upd["attachments"][0]["content_type"], "text/html", "{upd}");
    let (st, hs, _) = fetch(&absolute(a, &s(&upd["attachments"][0]["url"]))).await;
    assert_eq!(st, 200);
    assert_eq!(h(&hs, "content-type"), "text/html");
}

/// Custom emoji in reactions across servers: a member of a replica reacts with the replica's
/// emoji (its local id, mapped back to the host's before the relay), the host stores it under
/// its own emoji, and the member's replica shows the host's reactions under its local id.
#[tokio::test]
async fn custom_emoji_reactions_cross_federation() {
    let net = TestNetwork::start_with(&[A, B], |_, _| {}).await;
    let mut w = world(net).await;
    let general_a = w.general_a();
    let early_a = s(&w.guild_create["emojis"][0]["id"]);
    let early_b = s(&w
        .bob()
        .get(&format!("/guilds/{}/emojis", w.gid_b))
        .await
        .body[0]["id"]);
    let mid_b = say(&w.bob(), &w.general_b, "react here").await;
    let ev = w.alice_gw.expect("MESSAGE_CREATE").await;
    let mid_a = s(&ev["id"]);
    let on_a = format!("/channels/{general_a}/messages/{mid_a}");
    let on_b = format!("/channels/{}/messages/{mid_b}", w.general_b);

    let r = w
        .alice()
        .put(&format!("{on_a}/reactions/early:{early_a}/@me"), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let host = w.bob().get(&on_b).await;
    assert_eq!(
        host.body["reactions"][0]["emoji"]["id"],
        early_b.as_str(),
        "{host:?}"
    );
    assert_eq!(host.body["reactions"][0]["emoji"]["name"], "early");
    let local = w.alice().get(&on_a).await;
    assert_eq!(
        local.body["reactions"][0]["emoji"]["id"],
        early_a.as_str(),
        "{local:?}"
    );
    assert_eq!(local.body["reactions"][0]["me"], true);
    // An id the host never sent is refused on a.
    let r = w
        .alice()
        .put(&format!("{on_a}/reactions/early:{early_b}/@me"), json!({}))
        .await;
    assert_err(&r, 404, 10014);

    // Bob's reaction on the host arrives under a's id.
    let r = w
        .bob()
        .put(&format!("{on_b}/reactions/early:{early_b}/@me"), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    eventually("bob's reaction on a", async || {
        w.alice().get(&on_a).await.body["reactions"][0]["count"] == 2
    })
    .await;
    let r = w
        .alice()
        .delete(&format!("{on_a}/reactions/early:{early_a}/@me"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let host = w.bob().get(&on_b).await;
    assert_eq!(host.body["reactions"][0]["count"], 1, "{host:?}");
    assert_eq!(host.body["reactions"][0]["me"], true);
}
