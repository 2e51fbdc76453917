//! Images as Discord takes and serves them (issue 13): data URIs in JSON for avatars,
//! banners, guild icons and splashes, custom emoji CRUD with its permissions, limits, audit
//! entries and gateway dispatch, custom emoji in reactions, and the CDN paths (`/avatars/..`, `/icons/..`,
//! `/emojis/..`) with `?size=` resizing and format conversion.

use std::io::Cursor;

use base64::Engine;
use hearth::service::ports::BlobKey;
use image::{AnimationDecoder, ImageFormat, Rgba, RgbaImage};
use serde_json::{Value, json};

use crate::gateway::{GUILDS, Gw, world};
use crate::harness::*;

const GUILD_EXPRESSIONS: u64 = 1 << 3;
const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
const CREATE_GUILD_EXPRESSIONS: u64 = 1 << 43;

/// A `w` x `h` PNG with a gradient (tinted by `tint`, so pictures differ).
pub(crate) fn png(w: u32, h: u32, tint: u8) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, y| Rgba([x as u8, y as u8, tint, 255]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A `w` x `h` PNG of noise (it does not compress).
fn noisy_png(w: u32, h: u32) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let img = RgbaImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        Rgba(state.to_le_bytes())
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A two-frame animated GIF.
fn animated_gif(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        enc.set_repeat(image::codecs::gif::Repeat::Infinite)
            .unwrap();
        for c in [0u8, 255] {
            let f = RgbaImage::from_pixel(w, h, Rgba([c, 0, 255 - c, 255]));
            enc.encode_frame(image::Frame::new(f)).unwrap();
        }
    }
    out
}

/// A two-frame animated WebP, `w` x `h`: VP8X (animation flag) + ANIM + two ANMF frames
/// holding the lossless VP8L bitstreams of the `image` crate's still-WebP encoder (the
/// crate decodes WebP animations but cannot encode one).
fn animated_webp(w: u32, h: u32) -> Vec<u8> {
    let le24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let mut chunks = b"VP8X".to_vec();
    chunks.extend_from_slice(&10u32.to_le_bytes());
    chunks.extend_from_slice(&[0x02 | 0x10, 0, 0, 0]);
    chunks.extend(le24(w - 1));
    chunks.extend(le24(h - 1));
    chunks.extend_from_slice(b"ANIM");
    chunks.extend_from_slice(&6u32.to_le_bytes());
    chunks.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    for c in [0u8, 255] {
        let f = RgbaImage::from_pixel(w, h, Rgba([c, 0, 255 - c, 255]));
        let mut still = Cursor::new(Vec::new());
        f.write_to(&mut still, ImageFormat::WebP).unwrap();
        let still = still.into_inner();
        assert_eq!(&still[12..16], b"VP8L", "a simple lossless WebP");
        let mut anmf = [le24(0), le24(0), le24(w - 1), le24(h - 1), le24(100)].concat();
        anmf.push(0);
        anmf.extend_from_slice(&still[12..]);
        chunks.extend_from_slice(b"ANMF");
        chunks.extend_from_slice(&(anmf.len() as u32).to_le_bytes());
        chunks.extend_from_slice(&anmf);
        if anmf.len() % 2 == 1 {
            chunks.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((4 + chunks.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    out
}

/// A JPEG with an EXIF segment (APP1) holding a fake GPS position.
fn jpeg_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 16, image::Rgb([10, 200, 30]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    let j = out.into_inner();
    let payload = b"Exif\0\0GPSLatitude=48.8584N";
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(payload);
    let mut with = j[..2].to_vec();
    with.extend_from_slice(&app1);
    with.extend_from_slice(&j[2..]);
    with
}

/// A PNG header claiming 50000 x 50000 pixels (a decompression bomb's shape).
fn bomb_png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&50_000u32.to_be_bytes());
    b.extend_from_slice(&50_000u32.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&[0u8; 64]);
    b
}

pub(crate) fn uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// `GET {server}{path}` without credentials: status, headers, bytes.
async fn cdn(
    srv: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rq = reqwest::Client::new().get(format!("http://{}{path}", srv.addr));
    for (k, v) in headers {
        rq = rq.header(*k, *v);
    }
    let r = rq.send().await.expect("fetch");
    let status = r.status().as_u16();
    let hs = r.headers().clone();
    (status, hs, r.bytes().await.expect("bytes").to_vec())
}

fn header(hs: &reqwest::header::HeaderMap, name: &str) -> String {
    hs.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn dims(bytes: &[u8], f: ImageFormat) -> (u32, u32) {
    let img = image::load_from_memory_with_format(bytes, f).expect("decodes");
    (img.width(), img.height())
}

/// The first field error code at `field`.
fn field_code(r: &Resp, field: &str) -> String {
    assert_err(r, 400, 50035);
    s(&r.body["errors"][field]["_errors"][0]["code"])
}

fn is_hash(v: &Value) -> bool {
    let h = s(v);
    let h = h.strip_prefix("a_").unwrap_or(&h);
    h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn avatar_is_stored_by_hash_and_served_resized_and_converted() {
    let w = world().await;
    let mut gw = Gw::identify(&w.ts, &w.alice_tok, GUILDS).await;
    let original = png(256, 128, 7);
    let r = w
        .alice
        .patch("/users/@me", json!({"avatar": uri("image/png", &original)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(is_hash(&r.body["avatar"]), "{r:?}");
    let hash = s(&r.body["avatar"]);
    assert_eq!(w.alice.get("/users/@me").await.body["avatar"], json!(hash));
    let upd = gw.expect("USER_UPDATE").await;
    assert_eq!(upd["avatar"], json!(hash));

    let base = format!("/avatars/{}/{hash}", w.alice_id);
    // As stored: the bytes sent, with cache and type headers.
    let (st, hs, bytes) = cdn(&w.ts, &format!("{base}.png"), &[]).await;
    assert_eq!(st, 200);
    assert_eq!(bytes, original);
    assert_eq!(header(&hs, "content-type"), "image/png");
    assert_eq!(header(&hs, "x-content-type-options"), "nosniff");
    assert!(header(&hs, "cache-control").contains("max-age"), "{hs:?}");
    let etag = header(&hs, "etag");
    assert!(!etag.is_empty());
    let (st, _, _) = cdn(&w.ts, &format!("{base}.png"), &[("if-none-match", &etag)]).await;
    assert_eq!(st, 304);
    // Resized (aspect kept) and converted; the second fetch comes from the cache.
    for _ in 0..2 {
        let (st, _, bytes) = cdn(&w.ts, &format!("{base}.png?size=64"), &[]).await;
        assert_eq!(st, 200);
        assert_eq!(dims(&bytes, ImageFormat::Png), (64, 32));
    }
    let (st, hs, bytes) = cdn(&w.ts, &format!("{base}.webp?size=32"), &[]).await;
    assert_eq!(st, 200);
    assert_eq!(header(&hs, "content-type"), "image/webp");
    assert_eq!(dims(&bytes, ImageFormat::WebP), (32, 16));
    let (st, hs, bytes) = cdn(&w.ts, &format!("{base}.jpg"), &[]).await;
    assert_eq!(st, 200);
    assert_eq!(header(&hs, "content-type"), "image/jpeg");
    assert_eq!(dims(&bytes, ImageFormat::Jpeg), (256, 128));
    // Never enlarged.
    let (_, _, bytes) = cdn(&w.ts, &format!("{base}.png?size=4096"), &[]).await;
    assert_eq!(dims(&bytes, ImageFormat::Png), (256, 128));

    // Bad sizes, unknown hashes and extensions: Discord-format errors.
    for bad in ["100", "8", "8192", "x"] {
        let (st, _, body) = cdn(&w.ts, &format!("{base}.png?size={bad}"), &[]).await;
        assert_eq!(st, 400, "size={bad}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], 50035);
    }
    for bad in [
        format!("/avatars/{}/{}.png", w.alice_id, "0".repeat(32)),
        format!("/avatars/{}/{hash}.png", w.bob_id),
        format!("{base}.svg"),
        format!("/avatars/{}/..%2F..%2Fetc.png", w.alice_id),
        "/avatars/x/y.png".to_string(),
    ] {
        let (st, hs, body) = cdn(&w.ts, &bad, &[]).await;
        assert_eq!(st, 404, "{bad}");
        assert!(
            header(&hs, "content-type").starts_with("application/json"),
            "{bad}"
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["message"].is_string(), "{bad}: {v}");
    }

    // The same picture again is the same hash; a new one replaces it and the old bytes go.
    let again = w
        .alice
        .patch("/users/@me", json!({"avatar": uri("image/png", &original)}))
        .await;
    assert_eq!(again.body["avatar"], json!(hash));
    let r = w
        .alice
        .patch("/users/@me", json!({"avatar": uri("image/png", &png(16, 16, 99)), "banner": uri("image/png", &png(60, 20, 1))}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (new_hash, banner) = (s(&r.body["avatar"]), s(&r.body["banner"]));
    assert_ne!(new_hash, hash);
    let (st, _, _) = cdn(
        &w.ts,
        &format!("/avatars/{}/{new_hash}.png", w.alice_id),
        &[],
    )
    .await;
    assert_eq!(st, 200);
    let (st, _, bytes) = cdn(&w.ts, &format!("/banners/{}/{banner}.png", w.alice_id), &[]).await;
    assert_eq!((st, dims(&bytes, ImageFormat::Png)), (200, (60, 20)));
    let old = BlobKey::new(format!("avatars/{}/{hash}", w.alice_id)).unwrap();
    let resized = BlobKey::new(format!("cache/avatars/{}/{hash}.64.png", w.alice_id)).unwrap();
    eventually("the old avatar's bytes and copies are deleted", || async {
        w.ts.hearth.blobs.get(&old).await.unwrap().is_none()
            && w.ts.hearth.blobs.get(&resized).await.unwrap().is_none()
    })
    .await;
    let (st, _, _) = cdn(&w.ts, &format!("{base}.png"), &[]).await;
    assert_eq!(st, 404);
    // null removes.
    let r = w.alice.patch("/users/@me", json!({"avatar": null})).await;
    assert_eq!(r.body["avatar"], Value::Null);
    let upd = loop {
        let u = gw.expect("USER_UPDATE").await;
        if u["avatar"].is_null() {
            break u;
        }
    };
    assert_eq!(upd["banner"], json!(banner));
}

#[tokio::test]
async fn bad_images_are_refused_with_field_errors() {
    let srv = TestServer::start_with(|c| {
        c.media.max_image_bytes = 8 * 1024;
        c.limits.max_body_bytes = 4096;
    })
    .await;
    let (_, alice) = srv.user("alice").await;
    let put = |v: Value| {
        let alice = alice.clone();
        async move { alice.patch("/users/@me", json!({"avatar": v})).await }
    };
    for bad in [
        json!("hello"),
        json!("data:image/png,notbase64"),
        json!("data:image/png;base64,!!!!"),
        json!(uri("image/png", b"just some text, not an image")),
        json!(uri(
            "image/svg+xml",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>"
        )),
        // A real header with a broken body.
        json!(uri("image/png", &png(40, 40, 3)[..60])),
    ] {
        let r = put(bad.clone()).await;
        assert_eq!(field_code(&r, "avatar"), "IMAGE_INVALID", "{bad}: {r:?}");
    }
    let r = put(json!(uri("image/png", &noisy_png(64, 64)))).await;
    assert_eq!(field_code(&r, "avatar"), "BINARY_TYPE_MAX_SIZE", "{r:?}");
    let r = put(json!(uri("image/png", &bomb_png()))).await;
    assert_eq!(field_code(&r, "avatar"), "IMAGE_TOO_LARGE", "{r:?}");
    // Nothing changed.
    assert_eq!(alice.get("/users/@me").await.body["avatar"], Value::Null);
    // An image may take the body past `limits.max_body_bytes`; the rest of it may not.
    let mid = uri("image/png", &noisy_png(40, 40));
    assert!(mid.len() > 4096);
    let r = alice
        .patch(
            "/users/@me",
            json!({"avatar": mid, "pad": "x".repeat(5000)}),
        )
        .await;
    assert_err(&r, 413, 40005);
    let r = put(json!(mid)).await;
    assert_eq!(r.status, 200, "{r:?}");

    // JPEG metadata (EXIF with its GPS position) is gone from the stored file.
    let j = jpeg_with_exif();
    let r = put(json!(uri("image/jpeg", &j))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let id = s(&r.body["id"]);
    let (st, _, bytes) = cdn(
        &srv,
        &format!("/avatars/{id}/{}.jpg", s(&r.body["avatar"])),
        &[],
    )
    .await;
    assert_eq!(st, 200);
    let has = |b: &[u8], n: &[u8]| b.windows(n.len()).any(|w| w == n);
    assert!(has(&j, b"GPSLatitude") && !has(&bytes, b"GPSLatitude"));
    assert_eq!(dims(&bytes, ImageFormat::Jpeg), (32, 16));
}

#[tokio::test]
async fn guild_images_need_manage_guild_and_reach_the_gateway() {
    let w = world().await;
    let (_, carol) = w.ts.user("carol").await;
    let icon = uri("image/png", &png(128, 128, 5));
    // An icon at creation.
    let r = w
        .alice
        .post("/guilds", json!({"name": "With icon", "icon": icon}))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (gid, hash) = (s(&r.body["id"]), s(&r.body["icon"]));
    assert!(is_hash(&r.body["icon"]));
    let (st, _, bytes) = cdn(&w.ts, &format!("/icons/{gid}/{hash}.png?size=16"), &[]).await;
    assert_eq!((st, dims(&bytes, ImageFormat::Png)), (200, (16, 16)));

    // A member without MANAGE_GUILD and an outsider cannot change the images.
    let mut bob_gw = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let path = format!("/guilds/{}", w.guild);
    let r = w.bob.patch(&path, json!({"icon": icon})).await;
    assert_err(&r, 403, 50013);
    let r = carol.patch(&path, json!({"banner": icon})).await;
    assert!(r.status == 403 || r.status == 404, "{r:?}");
    assert!(r.body["code"].as_i64().unwrap() > 0, "{r:?}");

    let r = w
        .alice
        .patch(
            &path,
            json!({"icon": icon, "banner": uri("image/png", &png(96, 32, 8)), "splash": uri("image/gif", &animated_gif(20, 10))}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (icon_h, banner_h, splash_h) = (
        s(&r.body["icon"]),
        s(&r.body["banner"]),
        s(&r.body["splash"]),
    );
    assert_eq!(icon_h, hash, "the same picture is the same hash");
    assert!(splash_h.starts_with("a_"), "animated: {splash_h}");
    let upd = bob_gw.expect("GUILD_UPDATE").await;
    assert_eq!(
        (s(&upd["icon"]), s(&upd["banner"]), s(&upd["splash"])),
        (icon_h.clone(), banner_h.clone(), splash_h.clone())
    );
    let (st, _, bytes) = cdn(&w.ts, &format!("/banners/{}/{banner_h}.webp", w.guild), &[]).await;
    assert_eq!((st, dims(&bytes, ImageFormat::WebP)), (200, (96, 32)));
    let (st, hs, bytes) = cdn(
        &w.ts,
        &format!("/splashes/{}/{splash_h}.gif?size=16", w.guild),
        &[],
    )
    .await;
    assert_eq!(
        (st, header(&hs, "content-type")),
        (200, "image/gif".to_string())
    );
    let frames = image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 2, "still animated");
    assert_eq!(frames[0].buffer().dimensions(), (16, 8));
    // The audit log records the change of hashes.
    let log = w
        .alice
        .get(&format!("/guilds/{}/audit-logs?action_type=1", w.guild))
        .await;
    let keys: Vec<String> = log.body["audit_log_entries"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["key"]))
        .collect();
    assert!(keys.contains(&"banner_hash".to_string()), "{keys:?}");
    // null removes.
    let r = w.alice.patch(&path, json!({"banner": null})).await;
    assert_eq!((r.status, r.body["banner"].clone()), (200, Value::Null));
    assert_eq!(s(&r.body["icon"]), icon_h);
    // Deleting the guild hands its images to the file collector, which deletes them after
    // `media.delete_grace_seconds` (tests/it/uploads.rs: admin_guild_deletion_*).
    let key = BlobKey::new(format!("icons/{}/{icon_h}", w.guild)).unwrap();
    assert!(w.ts.hearth.blobs.get(&key).await.unwrap().is_some());
    let r = w.alice.delete(&path).await;
    assert_eq!(r.status, 204, "{r:?}");
    eventually("the deleted guild's icon is released", || async {
        let rows = w.ts.hearth.db.blob_ledger(key.as_str()).await.unwrap();
        rows.len() == 1 && rows[0].1.is_some()
    })
    .await;
}

/// Animated WebP on the CDN (`src/service/cdn.rs`): as `.gif` it stays animated (every
/// frame resized); as `.webp` it is served as stored, animated and unresized, even with a
/// `size` (the `image` crate cannot encode WebP animations, and a still would lose the
/// animation silently); as `.png` it is its first frame, resized, as Discord serves static
/// formats.
#[tokio::test]
async fn animated_webp_stays_animated_or_is_served_unresized() {
    let w = world().await;
    let webp = animated_webp(40, 20);
    let r = w
        .alice
        .patch("/users/@me", json!({"avatar": uri("image/webp", &webp)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let hash = s(&r.body["avatar"]);
    assert!(hash.starts_with("a_"), "animated: {hash}");
    let base = format!("/avatars/{}/{hash}", w.alice_id);
    let (st, hs, bytes) = cdn(&w.ts, &format!("{base}.gif?size=16"), &[]).await;
    assert_eq!(
        (st, header(&hs, "content-type")),
        (200, "image/gif".to_string())
    );
    let frames = image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 2, "still animated");
    assert_eq!(frames[0].buffer().dimensions(), (16, 8));
    assert_ne!(
        frames[0].buffer().get_pixel(4, 4),
        frames[1].buffer().get_pixel(4, 4),
        "two different frames"
    );
    for q in ["", "?size=16", "?size=4096"] {
        let (st, hs, bytes) = cdn(&w.ts, &format!("{base}.webp{q}"), &[]).await;
        assert_eq!(st, 200, "{q}");
        assert_eq!(header(&hs, "content-type"), "image/webp");
        assert!(bytes == webp, "{q}: served as stored");
    }
    let (st, _, bytes) = cdn(&w.ts, &format!("{base}.png?size=16"), &[]).await;
    assert_eq!((st, dims(&bytes, ImageFormat::Png)), (200, (16, 8)));
}

async fn make_emoji(c: &Client, guild: &str, name: &str, image: &str) -> Resp {
    c.post(
        &format!("/guilds/{guild}/emojis"),
        json!({"name": name, "image": image}),
    )
    .await
}

#[tokio::test]
async fn emoji_crud_with_permissions_audit_and_gateway() {
    let w = world().await;
    let g = w.guild.clone();
    let (_, carol) = w.ts.user("carol").await;
    let img = uri("image/png", &png(64, 64, 1));
    // Without CREATE/MANAGE_GUILD_EXPRESSIONS: 403; outsiders see nothing.
    assert_err(&make_emoji(&w.bob, &g, "bobs", &img).await, 403, 50013);
    let r = carol.get(&format!("/guilds/{g}/emojis")).await;
    assert!(r.status == 403 || r.status == 404, "{r:?}");

    let creator = create_role(&w.alice, &g, "creators", CREATE_GUILD_EXPRESSIONS).await;
    give_role(&w.alice, &g, &w.bob_id, &creator).await;
    let mut bob_gw = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_EXPRESSIONS).await;
    let r = make_emoji(&w.bob, &g, "bobs_emoji", &img).await;
    assert_eq!(r.status, 201, "{r:?}");
    let bobs = s(&r.body["id"]);
    assert_eq!(s(&r.body["user"]["id"]), w.bob_id);
    assert_eq!(
        (r.body["animated"].clone(), r.body["require_colons"].clone()),
        (json!(false), json!(true))
    );
    let upd = bob_gw.expect("GUILD_EMOJIS_UPDATE").await;
    assert_eq!(s(&upd["guild_id"]), g);
    assert_eq!(ids(&upd["emojis"]), vec![bobs.clone()]);

    // Names, roles and images are checked.
    let long = "x".repeat(33);
    for (bad, code) in [
        ("a", "BASE_TYPE_BAD_LENGTH"),
        (long.as_str(), "BASE_TYPE_BAD_LENGTH"),
        ("bad-name", "STRING_TYPE_REGEX"),
        ("émoji", "STRING_TYPE_REGEX"),
    ] {
        let r = make_emoji(&w.alice, &g, bad, &img).await;
        assert_eq!(field_code(&r, "name"), code, "{bad}: {r:?}");
    }
    let r = w
        .alice
        .post(
            &format!("/guilds/{g}/emojis"),
            json!({"name": "nope", "image": img, "roles": ["1"]}),
        )
        .await;
    assert_field_error(&r, "roles");
    let r = make_emoji(&w.alice, &g, "noimage", "data:image/png;base64,AAAA").await;
    assert_eq!(field_code(&r, "image"), "IMAGE_INVALID");

    // alice's emoji, restricted to a role, animated.
    let r = w
        .alice
        .post(
            &format!("/guilds/{g}/emojis"),
            json!({"name": "party", "image": uri("image/gif", &animated_gif(32, 32)), "roles": [creator]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let party = s(&r.body["id"]);
    assert_eq!(r.body["animated"], json!(true));
    assert_eq!(r.body["roles"], json!([creator]));

    // The creator may change their own emoji only.
    let r = w
        .bob
        .patch(
            &format!("/guilds/{g}/emojis/{party}"),
            json!({"name": "mine"}),
        )
        .await;
    assert_err(&r, 403, 50013);
    assert_err(
        &w.bob.delete(&format!("/guilds/{g}/emojis/{party}")).await,
        403,
        50013,
    );
    let r = w
        .bob
        .patch(
            &format!("/guilds/{g}/emojis/{bobs}"),
            json!({"name": "renamed"}),
        )
        .await;
    assert_eq!(
        (r.status, s(&r.body["name"])),
        (200, "renamed".to_string()),
        "{r:?}"
    );
    let r = w
        .alice
        .patch(
            &format!("/guilds/{g}/emojis/{party}"),
            json!({"roles": null}),
        )
        .await;
    assert_eq!(r.body["roles"], json!([]));

    // Listed, in the guild object and in GUILD_CREATE.
    let list = w.bob.get(&format!("/guilds/{g}/emojis")).await;
    assert_eq!(ids(&list.body).len(), 2);
    assert!(list.body[0]["user"].is_object(), "creators see creators");
    let guild = w.bob.get(&format!("/guilds/{g}")).await;
    assert_eq!(ids(&guild.body["emojis"]).len(), 2);
    let mut alice_gw = Gw::identify(&w.ts, &w.alice_tok, GUILDS).await;
    let gc = alice_gw.expect("GUILD_CREATE").await;
    assert_eq!(ids(&gc["emojis"]).len(), 2, "{gc}");
    let one = w.alice.get(&format!("/guilds/{g}/emojis/{party}")).await;
    assert_eq!(s(&one.body["name"]), "party");
    assert_err(
        &w.alice.get(&format!("/guilds/{g}/emojis/123")).await,
        404,
        10014,
    );

    // Served by id; animated stays animated as GIF, resized as asked.
    let (st, _, bytes) = cdn(&w.ts, &format!("/emojis/{bobs}.png?size=16"), &[]).await;
    assert_eq!((st, dims(&bytes, ImageFormat::Png)), (200, (16, 16)));
    let (st, hs, _) = cdn(&w.ts, &format!("/emojis/{party}.gif"), &[]).await;
    assert_eq!(
        (st, header(&hs, "content-type")),
        (200, "image/gif".to_string())
    );

    // Deleting removes the row, then the bytes.
    let key =
        w.ts.hearth
            .db
            .emoji_by_id(bobs.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .blob_key;
    let r = w.alice.delete(&format!("/guilds/{g}/emojis/{bobs}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    let (st, _, _) = cdn(&w.ts, &format!("/emojis/{bobs}.png"), &[]).await;
    assert_eq!(st, 404);
    // Its bytes go to the file collector (deleted after the grace period).
    eventually("the deleted emoji's bytes are released", || async {
        let rows = w.ts.hearth.db.blob_ledger(&key).await.unwrap();
        rows.len() == 1 && rows[0].1.is_some()
    })
    .await;
    loop {
        let u = bob_gw.expect("GUILD_EMOJIS_UPDATE").await;
        if ids(&u["emojis"]) == vec![party.clone()] {
            break;
        }
    }

    // One audit entry per change, with its target.
    for (action, target) in [(60, &bobs), (61, &party), (62, &bobs)] {
        let log = w
            .alice
            .get(&format!("/guilds/{g}/audit-logs?action_type={action}"))
            .await;
        let entries = log.body["audit_log_entries"].as_array().unwrap().clone();
        assert!(
            entries.iter().any(|e| s(&e["target_id"]) == *target),
            "{action}: {entries:?}"
        );
    }
}

#[tokio::test]
async fn emoji_limits_hold_under_concurrent_creates() {
    let srv = TestServer::start().await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "emoji limits").await;
    let img = uri("image/png", &png(8, 8, 0));
    let tries = (0..56).map(|n| {
        let (alice, g, img) = (alice.clone(), g.id.clone(), img.clone());
        async move { make_emoji(&alice, &g, &format!("e{n}"), &img).await }
    });
    let results = futures_util::future::join_all(tries).await;
    let made = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(made, 50, "exactly the static limit");
    for r in results.iter().filter(|r| r.status != 201) {
        assert_err(r, 400, 30008);
    }
    // Animated emoji are counted apart.
    let r = make_emoji(
        &alice,
        &g.id,
        "anim",
        &uri("image/gif", &animated_gif(8, 8)),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let list = alice.get(&format!("/guilds/{}/emojis", g.id)).await;
    assert_eq!(ids(&list.body).len(), 51);
}

#[tokio::test]
async fn manage_guild_expressions_manages_every_emoji() {
    let w = world().await;
    let g = w.guild.clone();
    let r = make_emoji(&w.alice, &g, "owners", &uri("image/png", &png(8, 8, 2))).await;
    let id = s(&r.body["id"]);
    // A member without the permission does not see creators.
    let list = w.bob.get(&format!("/guilds/{g}/emojis")).await;
    assert!(list.body[0].get("user").is_none(), "{list:?}");
    let mods = create_role(&w.alice, &g, "mods", MANAGE_GUILD_EXPRESSIONS).await;
    give_role(&w.alice, &g, &w.bob_id, &mods).await;
    let r = w
        .bob
        .patch(
            &format!("/guilds/{g}/emojis/{id}"),
            json!({"name": "renamed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        w.bob
            .delete(&format!("/guilds/{g}/emojis/{id}"))
            .await
            .status,
        204
    );
}

/// Custom emoji in reactions (Discord "Create Reaction" with `name:id`): an emoji of the
/// channel's guild, role-restricted ones only for holders of one of their roles, anything
/// else 10014; `MESSAGE_REACTION_ADD`/`REMOVE` and message objects carry `{id, name,
/// animated}`; the reaction follows the emoji's id (a rename shows the new name, a deleted
/// emoji a null name), and the listing and removal routes take `name:id` too.
#[tokio::test]
async fn custom_emoji_reactions_follow_discord_rules() {
    const REACTIONS: u64 = 1 << 10;
    let w = world().await;
    let g = w.guild.clone();
    let party = make_emoji(&w.alice, &g, "party", &uri("image/png", &png(32, 32, 5))).await;
    assert_eq!(party.status, 201, "{party:?}");
    let party_id = s(&party.body["id"]);
    let vip_role = create_role(&w.alice, &g, "vip", 0).await;
    let vip = w
        .alice
        .post(
            &format!("/guilds/{g}/emojis"),
            json!({"name": "vip", "image": uri("image/gif", &animated_gif(16, 16)), "roles": [vip_role]}),
        )
        .await;
    assert_eq!(vip.status, 201, "{vip:?}");
    let vip_id = s(&vip.body["id"]);
    assert_eq!(vip.body["animated"], true);
    let other = create_guild(&w.alice, "elsewhere").await;
    let foreign = make_emoji(
        &w.alice,
        &other.id,
        "foreign",
        &uri("image/png", &png(16, 16, 9)),
    )
    .await;
    assert_eq!(foreign.status, 201, "{foreign:?}");
    let foreign_id = s(&foreign.body["id"]);

    let m = w
        .alice
        .post(
            &format!("/channels/{}/messages", w.general),
            json!({"content": "react"}),
        )
        .await;
    let mid = s(&m.body["id"]);
    let react = |e: String| format!("/channels/{}/messages/{mid}/reactions/{e}/@me", w.general);
    let mut gw = Gw::identify(&w.ts, &w.bob_tok, GUILDS | REACTIONS).await;

    let r = w
        .bob
        .put(&react(format!("party:{party_id}")), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let ev = gw.expect("MESSAGE_REACTION_ADD").await;
    assert_eq!(ev["emoji"]["id"], party_id.as_str());
    assert_eq!(ev["emoji"]["name"], "party");
    assert_eq!(ev["user_id"], w.bob_id.as_str());
    let msg = w
        .bob
        .get(&format!("/channels/{}/messages/{mid}", w.general))
        .await;
    let reactions = msg.body["reactions"].as_array().expect("reactions").clone();
    assert_eq!(reactions.len(), 1, "{reactions:?}");
    assert_eq!(reactions[0]["emoji"]["id"], party_id.as_str());
    assert_eq!(reactions[0]["emoji"]["name"], "party");
    assert_eq!(
        (reactions[0]["count"].clone(), reactions[0]["me"].clone()),
        (json!(1), json!(true))
    );
    let users = w
        .alice
        .get(&format!(
            "/channels/{}/messages/{mid}/reactions/party:{party_id}",
            w.general
        ))
        .await;
    assert_eq!(ids(&users.body), vec![w.bob_id.clone()]);

    // Role-restricted: not without the role; with it, the animated emoji reacts.
    let r = w.bob.put(&react(format!("vip:{vip_id}")), json!({})).await;
    assert_err(&r, 404, 10014);
    give_role(&w.alice, &g, &w.bob_id, &vip_role).await;
    let r = w.bob.put(&react(format!("vip:{vip_id}")), json!({})).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ev = gw.expect("MESSAGE_REACTION_ADD").await;
    assert_eq!(
        (ev["emoji"]["id"].clone(), ev["emoji"]["animated"].clone()),
        (json!(vip_id), json!(true))
    );
    // Another guild's emoji, an unknown id, a malformed one: 10014.
    for bad in [
        format!("foreign:{foreign_id}"),
        "ghost:123456789".into(),
        "party:nope".into(),
    ] {
        let r = w.bob.put(&react(bad.clone()), json!({})).await;
        assert_err(&r, 404, 10014);
    }
    // An outsider sees nothing.
    let (_, carol) = w.ts.user("carol").await;
    let r = carol
        .put(&react(format!("party:{party_id}")), json!({}))
        .await;
    assert!(r.status == 403 || r.status == 404, "{r:?}");

    // The reaction follows the emoji's id: renamed, it shows the new name (any name in the
    // route reaches it); deleted, a null name.
    let r = w
        .alice
        .patch(
            &format!("/guilds/{g}/emojis/{party_id}"),
            json!({"name": "fiesta"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = w
        .alice
        .put(&react(format!("fiesta:{party_id}")), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let msg = w
        .alice
        .get(&format!("/channels/{}/messages/{mid}", w.general))
        .await;
    let reactions = msg.body["reactions"].as_array().unwrap().clone();
    assert_eq!(reactions.len(), 2, "{reactions:?}");
    assert_eq!(reactions[0]["emoji"]["name"], "fiesta");
    assert_eq!(reactions[0]["count"], 2);
    let r = w.bob.delete(&react(format!("party:{party_id}"))).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ev = gw.expect("MESSAGE_REACTION_REMOVE").await;
    assert_eq!(ev["emoji"]["id"], party_id.as_str());
    assert_eq!(ev["emoji"]["name"], "fiesta");
    let r = w
        .alice
        .delete(&format!("/guilds/{g}/emojis/{vip_id}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let msg = w
        .alice
        .get(&format!("/channels/{}/messages/{mid}", w.general))
        .await;
    let reactions = msg.body["reactions"].as_array().unwrap().clone();
    let gone = reactions
        .iter()
        .find(|x| x["emoji"]["id"] == vip_id.as_str())
        .unwrap_or_else(|| panic!("{reactions:?}"));
    assert!(gone["emoji"]["name"].is_null(), "{gone}");
    assert_eq!(gone["count"], 1);
}
