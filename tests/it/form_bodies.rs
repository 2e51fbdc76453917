//! Message bodies as forms on the webhook and interaction-callback routes (Discord
//! "Reference > Uploading Files": the JSON as `payload_json`). py-cord sends every
//! interaction response and webhook call as a form, URL-encoded when it has no files: its
//! `/hello` answer was 50109 before (tests/conformance scenario F). A `payload_json` that is
//! not JSON is 50109. Files on these routes: `token_files.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::attachments::{BOUNDARY, form};
use crate::harness::*;
use crate::interactions::{Cast, callback_path, cast};

/// `application/x-www-form-urlencoded` with one field `payload_json` (what aiohttp makes of
/// py-cord's form without files).
fn urlencoded(payload: &Value) -> Vec<u8> {
    let mut out = b"payload_json=".to_vec();
    for b in payload.to_string().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
    out
}

const URLENCODED: &str = "application/x-www-form-urlencoded";

fn multipart() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// `mate` invokes `/echo text:<text>`; the bot's INTERACTION_CREATE.
async fn interaction(c: &mut Cast, text: &str) -> Value {
    crate::interactions::echo(c, text, text).await
}

#[tokio::test]
async fn interaction_callbacks_take_payload_json_urlencoded_or_multipart() {
    let mut c = cast().await;
    let anon = c.srv.anon();

    // URL-encoded, as py-cord sends it (`&`, `+`, `%` and non-ASCII survive the decoding).
    let i = interaction(&mut c, "form").await;
    let cb = json!({"type": 4, "data": {"content": "a+b & 100% \u{e9}"}});
    let r = anon
        .raw(
            Method::POST,
            &callback_path(&i),
            Some(urlencoded(&cb)),
            &[("content-type", URLENCODED)],
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["interaction_metadata"]["id"] == i["id"]
        })
        .await;
    assert_eq!(m["content"], "a+b & 100% \u{e9}");

    // multipart/form-data with only `payload_json`.
    let i = interaction(&mut c, "multi").await;
    let cb = json!({"type": 4, "data": {"content": "from multipart"}});
    let r = anon
        .raw(
            Method::POST,
            &callback_path(&i),
            Some(form(Some(cb), &[])),
            &[("content-type", &multipart())],
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["interaction_metadata"]["id"] == i["id"]
        })
        .await;
    assert_eq!(m["content"], "from multipart");

    // A payload_json that is not JSON is 50109; it does not answer the interaction, so a
    // JSON callback still can.
    let i = interaction(&mut c, "refused").await;
    let r = anon
        .raw(
            Method::POST,
            &callback_path(&i),
            Some(b"payload_json=%7Bnot+json".to_vec()),
            &[("content-type", URLENCODED)],
        )
        .await;
    assert_eq!((r.status, &r.body["code"]), (400, &json!(50109)), "{r:?}");
    let r = anon
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "json after all"}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["interaction_metadata"]["id"] == i["id"]
        })
        .await;
    assert_eq!(m["content"], "json after all");
}

#[tokio::test]
async fn webhooks_are_executed_and_edited_with_form_bodies() {
    let c = cast().await;
    let r = c
        .owner
        .post(
            &format!("/channels/{}/webhooks", c.guild.general),
            json!({"name": "Form Hook"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let path = format!("/webhooks/{}/{}", s(&r.body["id"]), s(&r.body["token"]));
    let anon = c.srv.anon();
    let r = anon
        .raw(
            Method::POST,
            &format!("{path}?wait=true"),
            Some(urlencoded(
                &json!({"content": "urlencoded hook", "username": "Formal"}),
            )),
            &[("content-type", URLENCODED)],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "urlencoded hook");
    assert_eq!(r.body["author"]["username"], "Formal");
    let mid = s(&r.body["id"]);
    let r = anon
        .raw(
            Method::PATCH,
            &format!("{path}/messages/{mid}"),
            Some(form(Some(json!({"content": "edited by form"})), &[])),
            &[("content-type", &multipart())],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // What a member reads.
    let r = c
        .mate
        .get(&format!("/channels/{}/messages/{mid}", c.guild.general))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "edited by form");
}
