//! Files on the token routes (issue 14; Discord "Reference > Uploading Files", "Execute
//! Webhook", "Edit Webhook Message", "Interactions > Receiving and Responding"): a webhook
//! execution, a webhook-message edit, an interaction's callback (types 4 and 7), its
//! follow-ups and `@original` take `multipart/form-data` with `payload_json` (or plain form
//! fields) and `files[n]`; the files become attachments members download byte for byte.
//! An ephemeral message's files reach only its user and expire with the interaction.
//! Refusals: a forged token stores nothing, two-step uploads are for users' clients, limits
//! are 413.

use reqwest::Method;
use serde_json::{Value, json};

use crate::attachments::{BOUNDARY, fetch, form, png};
use crate::harness::*;
use crate::interactions::{Cast, callback_path, cast_with, invoke};

fn multipart() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// `method path` without credentials, with a multipart body.
async fn send(c: &Client, method: Method, path: &str, body: Vec<u8>) -> Resp {
    c.raw(method, path, Some(body), &[("content-type", &multipart())])
        .await
}

/// A multipart body of plain text fields (no `payload_json`) and one file.
fn fields_form(fields: &[(&str, &str)], file: (&str, &[u8])) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    b.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n", file.0).as_bytes(),
    );
    b.extend_from_slice(file.1);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// The cast on a server that deletes released bytes at once.
async fn cast() -> Cast {
    cast_with(|c| c.media.delete_grace_seconds = 0).await
}

/// A webhook of `general`: its token route.
async fn webhook(c: &Cast) -> String {
    let r = c
        .owner
        .post(
            &format!("/channels/{}/webhooks", c.guild.general),
            json!({"name": "Filer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    format!("/webhooks/{}/{}", s(&r.body["id"]), s(&r.body["token"]))
}

/// `mate` invokes `/echo text:<text>`; the bot's INTERACTION_CREATE.
async fn interaction(c: &mut Cast, text: &str) -> Value {
    crate::interactions::echo(c, text, text).await
}

/// The attachments of message `id` as `other` reads it in `general`.
async fn attachments_seen(c: &Cast, id: &Value) -> Vec<Value> {
    let r = c
        .other
        .get(&format!("/channels/{}/messages/{}", c.guild.general, s(id)))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone()
}

#[tokio::test]
async fn webhooks_execute_and_edit_with_files() {
    let c = cast().await;
    let path = webhook(&c).await;
    let anon = c.srv.anon();
    let image = png();
    // Two files; the payload names the second one.
    let body = form(
        Some(json!({"content": "two files", "username": "Uploader",
                    "attachments": [{"id": 1, "filename": "shot.png", "description": "a screenshot"}]})),
        &[("notes.txt", b"hello notes"), ("raw.bin", &image)],
    );
    let r = send(&anon, Method::POST, &format!("{path}?wait=true"), body).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["author"]["username"], "Uploader");
    let sent = r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone();
    assert_eq!(sent.len(), 2, "{r:?}");
    assert_eq!(sent[0]["filename"], "notes.txt");
    assert_eq!(sent[0]["size"], 11);
    assert_eq!(
        (&sent[1]["filename"], &sent[1]["description"]),
        (&json!("shot.png"), &json!("a screenshot"))
    );
    assert_eq!(sent[1]["content_type"], "image/png");
    assert_eq!(
        (&sent[1]["width"], &sent[1]["height"]),
        (&json!(3), &json!(2))
    );
    let mid = r.body["id"].clone();
    // Members see them and download the very bytes.
    let seen = attachments_seen(&c, &mid).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(fetch(&s(&seen[0]["url"])).await.2, b"hello notes");
    assert_eq!(fetch(&s(&seen[1]["url"])).await.2, image);

    // An edit keeps the first file, drops the second and adds a third.
    let body = form(
        Some(
            json!({"content": "edited", "attachments": [{"id": sent[0]["id"]}, {"id": 0, "filename": "more.txt"}]}),
        ),
        &[("x.txt", b"more bytes")],
    );
    let r = send(
        &anon,
        Method::PATCH,
        &format!("{path}/messages/{}", s(&mid)),
        body,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let names: Vec<&Value> = r.body["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["filename"])
        .collect();
    assert_eq!(names, [&json!("notes.txt"), &json!("more.txt")]);
    let seen = attachments_seen(&c, &mid).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["id"], sent[0]["id"]);
    assert_eq!(fetch(&s(&seen[1]["url"])).await.2, b"more bytes");
    assert_eq!(fetch(&s(&sent[1]["url"])).await.0, 404);
    let dropped = format!("attachments/{}/{}", c.guild.general, s(&sent[1]["id"]));
    eventually("the dropped file's bytes are deleted", async || {
        !c.srv.blob_exists(&dropped).await
    })
    .await;

    // Plain form fields instead of payload_json (`content` stays text even when numeric).
    let body = fields_form(
        &[("content", "12345"), ("username", "Fields")],
        ("f.txt", b"ff"),
    );
    let r = send(&anon, Method::POST, &format!("{path}?wait=true"), body).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "12345");
    assert_eq!(r.body["author"]["username"], "Fields");
    assert_eq!(r.body["attachments"][0]["filename"], "f.txt");
    // ... and URL-encoded.
    let r = anon
        .raw(
            Method::POST,
            &format!("{path}?wait=true"),
            Some(b"content=plain+fields&tts=false".to_vec()),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        (&r.body["content"], &r.body["tts"]),
        (&json!("plain fields"), &json!(false))
    );
}

#[tokio::test]
async fn token_route_refusals_store_nothing() {
    let c = cast_with(|c| {
        c.media.delete_grace_seconds = 0;
        c.media.max_file_bytes = 1024;
    })
    .await;
    let path = webhook(&c).await;
    let anon = c.srv.anon();
    let prefix = format!("attachments/{}/", c.guild.general);
    let id = path.split('/').nth(2).unwrap().to_string();
    // A forged token: refused before any byte is stored.
    let body = form(Some(json!({"content": "x"})), &[("a.txt", b"abc")]);
    let r = send(&anon, Method::POST, &format!("/webhooks/{id}/forged"), body).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.body["code"], 50027);
    let ledger = c.srv.hearth.db.blob_ledger(&prefix).await.unwrap();
    assert!(
        ledger.is_empty(),
        "nothing recorded for a forged token: {ledger:?}"
    );
    // Over media.max_file_bytes: 413 40005, no message.
    let big = vec![b'z'; 4096];
    let body = form(Some(json!({"content": "big"})), &[("big.bin", &big)]);
    let r = send(&anon, Method::POST, &format!("{path}?wait=true"), body).await;
    assert_err(&r, 413, 40005);
    // Two-step uploads are for users' clients.
    let body = form(
        Some(
            json!({"content": "x", "attachments": [{"id": 0, "filename": "a", "uploaded_filename": "u/a"}]}),
        ),
        &[("a.txt", b"abc")],
    );
    let r = send(&anon, Method::POST, &format!("{path}?wait=true"), body).await;
    assert_field_error(&r, "attachments.0.uploaded_filename");
    // Nothing was posted, and every stored byte is released.
    let history = c
        .other
        .get(&format!("/channels/{}/messages", c.guild.general))
        .await;
    assert_eq!(history.body, json!([]), "{history:?}");
    eventually("refused files leave no bytes", async || {
        c.srv.hearth.blobs.list(&prefix).await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn interaction_responses_follow_ups_and_updates_take_files() {
    let mut c = cast().await;
    let anon = c.srv.anon();

    // Type 4 with a file and a button.
    let i = interaction(&mut c, "file").await;
    let cb = json!({"type": 4, "data": {"content": "here", "components": [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]}});
    let r = send(
        &anon,
        Method::POST,
        &callback_path(&i),
        form(Some(cb), &[("r.txt", b"response")]),
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["interaction_metadata"]["id"] == i["id"]
        })
        .await;
    assert_eq!(m["attachments"][0]["filename"], "r.txt");
    assert_eq!(
        fetch(&s(&attachments_seen(&c, &m["id"]).await[0]["url"]))
            .await
            .2,
        b"response"
    );

    // A follow-up with a file; an ephemeral one reaches only the invoker, and its files
    // download until the interaction expires.
    let hook = format!("/webhooks/{}/{}", c.bot.id, s(&i["token"]));
    let r = send(
        &anon,
        Method::POST,
        &format!("{hook}?wait=true"),
        form(Some(json!({"content": "more"})), &[("f.txt", b"follow")]),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        fetch(&s(&attachments_seen(&c, &r.body["id"]).await[0]["url"]))
            .await
            .2,
        b"follow"
    );
    let r = send(
        &anon,
        Method::POST,
        &format!("{hook}?wait=true"),
        form(
            Some(json!({"content": "secret", "flags": 64})),
            &[("s.txt", b"secret")],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let secret = r.body.clone();
    let seen = c
        .mate_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == secret["id"])
        .await;
    assert_eq!(seen["attachments"][0]["filename"], "s.txt");
    assert_eq!(fetch(&s(&seen["attachments"][0]["url"])).await.2, b"secret");
    let r = c
        .other
        .get(&format!(
            "/channels/{}/messages/{}",
            c.guild.general,
            s(&secret["id"])
        ))
        .await;
    assert_err(&r, 404, 10008);
    // Its edit drops that file for another.
    let r = send(
        &anon,
        Method::PATCH,
        &format!("{hook}/messages/{}", s(&secret["id"])),
        form(
            Some(json!({"attachments": [{"id": 0}]})),
            &[("t.txt", b"second secret")],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["attachments"].as_array().map(Vec::len),
        Some(1),
        "{r:?}"
    );
    assert_eq!(r.body["attachments"][0]["filename"], "t.txt");
    assert_eq!(
        fetch(&s(&r.body["attachments"][0]["url"])).await.2,
        b"second secret"
    );

    // The button is clicked; UPDATE_MESSAGE with a file replaces the message's files.
    let click = json!({"type": 3, "application_id": c.bot.id, "guild_id": c.guild.id,
        "channel_id": c.guild.general, "message_id": m["id"], "message_flags": 0,
        "session_id": "s", "nonce": "click", "data": {"custom_id": "go", "component_type": 2}});
    let r = c.mate.post("/interactions", click).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ci = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 3)
        .await;
    let cb = json!({"type": 7, "data": {"content": "updated", "components": [], "attachments": [{"id": 0}]}});
    let r = send(
        &anon,
        Method::POST,
        &callback_path(&ci),
        form(Some(cb), &[("u.txt", b"update")]),
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let u = c
        .other_gw
        .expect_where("MESSAGE_UPDATE", |d| {
            d["id"] == m["id"] && d["content"] == "updated"
        })
        .await;
    assert_eq!(u["attachments"].as_array().map(Vec::len), Some(1), "{u}");
    let seen = attachments_seen(&c, &m["id"]).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["filename"], "u.txt");
    assert_eq!(fetch(&s(&seen[0]["url"])).await.2, b"update");

    // Deferred, then `@original` made by an edit with a file.
    let i = interaction(&mut c, "later").await;
    let r = anon.post(&callback_path(&i), json!({"type": 5})).await;
    assert_eq!(r.status, 204, "{r:?}");
    let hook = format!("/webhooks/{}/{}", c.bot.id, s(&i["token"]));
    let r = send(
        &anon,
        Method::PATCH,
        &format!("{hook}/messages/@original"),
        form(Some(json!({"content": "done"})), &[("d.txt", b"deferred")]),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        fetch(&s(&attachments_seen(&c, &r.body["id"]).await[0]["url"]))
            .await
            .2,
        b"deferred"
    );

    // Files on a callback that makes no message: 400, and it can still be answered, with an
    // ephemeral message carrying a file.
    let i = interaction(&mut c, "eph").await;
    let r = send(
        &anon,
        Method::POST,
        &callback_path(&i),
        form(Some(json!({"type": 5})), &[("a.txt", b"a")]),
    )
    .await;
    assert_field_error(&r, "files");
    let r = send(
        &anon,
        Method::POST,
        &callback_path(&i),
        form(
            Some(json!({"type": 4, "data": {"content": "psst", "flags": 64}})),
            &[("p.txt", b"psst")],
        ),
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .mate_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "psst")
        .await;
    assert_eq!(fetch(&s(&m["attachments"][0]["url"])).await.2, b"psst");
    // Kept: the follow-up's, the update's, the deferred answer's, both ephemeral edits' (the
    // first secret is kept until the interaction expires) and the last one.
    let prefix = format!("attachments/{}/", c.guild.general);
    eventually("only the kept files' bytes remain", async || {
        c.srv.hearth.blobs.list(&prefix).await.unwrap().len() == 6
    })
    .await;
}

/// `mate` uploads `bytes` as `name` in `general` the two-step way; its `upload_filename`.
async fn two_step(c: &Cast, name: &str, bytes: &[u8]) -> String {
    let r = c
        .mate
        .post(
            &format!("/channels/{}/attachments", c.guild.general),
            json!({"files": [{"id": "0", "filename": name, "file_size": bytes.len()}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let slot = &r.body["attachments"][0];
    let put = reqwest::Client::new()
        .put(s(&slot["upload_url"]))
        .body(bytes.to_vec())
        .send()
        .await
        .expect("PUT");
    assert_eq!(put.status().as_u16(), 204);
    s(&slot["upload_filename"])
}

#[tokio::test]
async fn attachment_options_reach_the_bot_resolved_and_downloadable() {
    let mut c = cast().await;
    let r = c
        .bot
        .client
        .post(
            &format!("/applications/{}/guilds/{}/commands", c.bot.id, c.guild.id),
            json!({"name": "scan", "description": "Scans a file", "options": [
                {"type": 11, "name": "file", "description": "The file", "required": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let scan = s(&r.body["id"]);
    let uploaded = two_step(&c, "report.txt", b"quarterly numbers").await;
    let mut body = invoke(
        &c,
        &scan,
        "scan",
        json!([{"type": 11, "name": "file", "value": 0}]),
        "scan",
    );
    body["data"]["attachments"] =
        json!([{"id": "0", "filename": "report.txt", "uploaded_filename": uploaded}]);
    let r = c.mate.post("/interactions", body.clone()).await;
    assert_eq!(r.status, 204, "{r:?}");
    let i = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["data"]["name"] == "scan")
        .await;
    // The option's value is the attachment's id, resolved with a downloadable URL.
    let id = s(&i["data"]["options"][0]["value"]);
    let a = &i["data"]["resolved"]["attachments"][&id];
    assert_eq!(a["id"], json!(id), "{i}");
    assert_eq!(
        (&a["filename"], &a["size"]),
        (&json!("report.txt"), &json!(17))
    );
    assert_eq!(fetch(&s(&a["url"])).await.2, b"quarterly numbers");
    // A tampered URL is 404.
    assert_eq!(
        fetch(&s(&a["url"]).replace("report.txt", "other.txt"))
            .await
            .0,
        404
    );

    // Another member cannot name mate's upload; an entry that names nothing, or a value
    // naming no entry, is refused.
    let r = c.other.post("/interactions", body.clone()).await;
    assert_field_error(&r, "data.attachments.0.uploaded_filename");
    let mut bad = body.clone();
    bad["data"]["options"][0]["value"] = json!(3);
    let r = c.mate.post("/interactions", bad).await;
    assert_field_error(&r, "data.options.0.value");
    let mut bad = body;
    bad["data"]["attachments"][0]["uploaded_filename"] = json!("123/nothing.txt");
    let r = c.mate.post("/interactions", bad).await;
    assert_field_error(&r, "data.attachments.0.uploaded_filename");
}
