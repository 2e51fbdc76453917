//! Bad input: malformed and mistyped bodies, oversize bodies, unknown and malformed ids,
//! length rules, unknown routes, and a sweep of garbage that must never produce a 5xx.
//! Also: what real libraries send (unknown fields, nulls) is accepted.

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

struct Setup {
    srv: TestServer,
    alice: Client,
    alice_id: String,
    g: Guild,
    msg: String,
}

async fn setup() -> Setup {
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    srv.make_first_admin(&alice).await;
    let g = create_guild(&alice, "inputs").await;
    let msg = say(&alice, &g.general, "hello").await;
    Setup {
        srv,
        alice,
        alice_id,
        g,
        msg,
    }
}

async fn raw_post(c: &Client, path: &str, body: &[u8]) -> Resp {
    c.raw(Method::POST, path, Some(body.to_vec()), &[]).await
}

#[tokio::test]
async fn malformed_json_is_50109() {
    let t = setup().await;
    let msgs = format!("/channels/{}/messages", t.g.general);
    for body in [
        &b"{"[..],
        b"{\"content\": \"x\"",
        b"{content: 'x'}",
        b"not json at all",
        b"{\"content\": \"x\"} trailing",
        b"{\"content\": \"x\",",
        b"{\"a\":}",
    ] {
        let r = raw_post(&t.alice, &msgs, body).await;
        assert_err(&r, 400, 50109);
        let r = raw_post(&t.alice, "/guilds", body).await;
        assert_err(&r, 400, 50109);
    }
    // Not UTF-8.
    for body in [&b"\xff\xfe\xfd"[..], b"{\"content\": \"\xc3\x28\"}"] {
        let r = raw_post(&t.alice, &msgs, body).await;
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(r.code(), 50109);
    }
    // Deeply nested JSON is refused cleanly.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let r = raw_post(&t.alice, &msgs, deep.as_bytes()).await;
    assert_eq!(r.status, 400, "{r:?}");
    // Nothing was stored by any of these.
    let hist = t.alice.get(&msgs).await;
    assert_eq!(ids(&hist.body), vec![t.msg.clone()]);
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let t = setup().await;
    let msgs = format!("/channels/{}/messages", t.g.general);
    let cases = [
        (msgs.clone(), json!({"content": 123}), "content"),
        (msgs.clone(), json!({"content": "x", "tts": "yes"}), "tts"),
        (
            msgs.clone(),
            json!({"content": "x", "message_reference": {"message_id": true}}),
            "message_reference.message_id",
        ),
        (
            msgs.clone(),
            json!({"content": "x", "allowed_mentions": {"parse": "users"}}),
            "allowed_mentions.parse",
        ),
        (
            msgs.clone(),
            json!({"content": "x", "embeds": [{"title": 5}]}),
            "embeds.0.title",
        ),
        (
            msgs.clone(),
            json!({"content": "x", "embeds": [{"title": "t".repeat(257)}]}),
            "embeds.0.title",
        ),
        (
            msgs.clone(),
            json!({"content": "x", "embeds": [1]}),
            "embeds.0",
        ),
        (msgs.clone(), json!({"content": "x", "flags": -1}), "flags"),
        ("/guilds".to_string(), json!({"name": 5}), "name"),
        ("/guilds".to_string(), json!([]), "_root"),
        (
            format!("/guilds/{}/roles", t.g.id),
            json!({"name": "r", "permissions": []}),
            "permissions",
        ),
        (
            format!("/guilds/{}/roles", t.g.id),
            json!({"name": "r", "permissions": "lots"}),
            "permissions",
        ),
        (
            format!("/guilds/{}/roles", t.g.id),
            json!({"name": "r", "color": 16777216}),
            "color",
        ),
        (
            format!("/channels/{}/messages/bulk-delete", t.g.general),
            json!({"messages": "all"}),
            "messages",
        ),
        (
            format!("/channels/{}/messages/bulk-delete", t.g.general),
            json!({"messages": ["abc", "1"]}),
            "messages.0",
        ),
        (
            format!("/channels/{}/messages/bulk-delete", t.g.general),
            json!({}),
            "messages",
        ),
        (
            format!("/guilds/{}/channels", t.g.id),
            json!({"name": "c", "type": 1}),
            "type",
        ),
        (
            format!("/guilds/{}/channels", t.g.id),
            json!({"name": "c", "type": "text"}),
            "type",
        ),
        (
            format!("/guilds/{}/channels", t.g.id),
            json!({"name": ""}),
            "name",
        ),
        (
            format!("/guilds/{}/channels", t.g.id),
            json!({"name": "c", "parent_id": t.g.general}),
            "parent_id",
        ),
        (
            format!("/channels/{}/invites", t.g.general),
            json!({"max_age": 604801}),
            "max_age",
        ),
        (
            format!("/channels/{}/invites", t.g.general),
            json!({"max_uses": 101}),
            "max_uses",
        ),
        ("/users/@me/channels".to_string(), json!({}), "recipient_id"),
        (
            "/users/@me/channels".to_string(),
            json!({"recipient_id": "not a snowflake"}),
            "recipient_id",
        ),
        ("/guilds".to_string(), json!({"name": "x"}), "name"),
        (
            "/guilds".to_string(),
            json!({"name": "n".repeat(101)}),
            "name",
        ),
        ("/applications".to_string(), json!({"name": "x"}), "name"),
    ];
    for (path, body, field) in cases {
        let r = t.alice.post(&path, body.clone()).await;
        assert!(
            r.status == 400 && r.code() == 50035,
            "POST {path} {body}: {r:?}"
        );
        assert_field_error(&r, field);
    }
    // A long content is refused, the boundary is accepted (counted in characters).
    let r = t
        .alice
        .post(&msgs, json!({"content": "a".repeat(2001)}))
        .await;
    assert_field_error(&r, "content");
    let r = t
        .alice
        .post(&msgs, json!({"content": "é".repeat(2000)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Empty messages.
    for body in [
        json!({}),
        json!({"content": ""}),
        json!({"content": "   "}),
        json!({"content": null, "embeds": []}),
    ] {
        let r = t.alice.post(&msgs, body.clone()).await;
        assert_err(&r, 400, 50006);
    }
    // An embed alone is a message.
    let r = t
        .alice
        .post(&msgs, json!({"embeds": [{"title": "only an embed"}]}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["embeds"][0]["title"], "only an embed");
    // Modify paths name fields too.
    let r = t
        .alice
        .patch(
            &format!("/guilds/{}", t.g.id),
            json!({"verification_level": 9}),
        )
        .await;
    assert_field_error(&r, "verification_level");
    let r = t
        .alice
        .patch(&format!("/channels/{}", t.g.general), json!({"topic": 5}))
        .await;
    assert_field_error(&r, "topic");
    let r = t
        .alice
        .patch(&format!("/channels/{}", t.g.general), json!({"type": 2}))
        .await;
    assert_field_error(&r, "type");
    // Stored state unchanged by all of the above.
    let ch = t.alice.get(&format!("/channels/{}", t.g.general)).await;
    assert_eq!(ch.body["type"], 0);
    assert_eq!(ch.body["name"], "general");
    let roles = t.alice.get(&format!("/guilds/{}/roles", t.g.id)).await;
    assert_eq!(roles.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn oversize_body_is_413() {
    let srv = TestServer::start_with(|c| c.limits.max_body_bytes = 4096).await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "small bodies").await;
    let msgs = format!("/channels/{}/messages", g.general);
    let big = serde_json::to_vec(
        &json!({"content": "x".repeat(1990), "embeds": [{"description": "d".repeat(3000)}]}),
    )
    .unwrap();
    assert!(big.len() > 4096);
    let r = alice.raw(Method::POST, &msgs, Some(big.clone()), &[]).await;
    assert_err(&r, 413, 40005);
    let r = alice
        .raw(Method::POST, "/guilds", Some(big.clone()), &[])
        .await;
    assert_err(&r, 413, 40005);
    let r = alice
        .raw(
            Method::PATCH,
            &format!("/guilds/{}", g.id),
            Some(big.clone()),
            &[],
        )
        .await;
    assert_err(&r, 413, 40005);
    // Garbage of that size is also 413, not a parse error.
    let r = alice
        .raw(Method::POST, &msgs, Some(vec![b'{'; 10_000]), &[])
        .await;
    assert_err(&r, 413, 40005);
    // Nothing stored; a body under the limit still works.
    assert_eq!(alice.get(&msgs).await.body, json!([]));
    let r = alice
        .post(&msgs, json!({"content": "x".repeat(2000)}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn unknown_ids_have_discord_codes() {
    let t = setup().await;
    let a = &t.alice;
    let (g, c) = (&t.g.id, &t.g.general);
    let nope = "1234567890123";
    let cases: Vec<(Method, String, i64)> = vec![
        (Method::GET, format!("/channels/{nope}"), 10003),
        (Method::GET, format!("/channels/{nope}/messages"), 10003),
        (Method::PATCH, format!("/channels/{nope}"), 10003),
        (Method::GET, format!("/guilds/{nope}"), 10004),
        (Method::GET, format!("/guilds/{nope}/channels"), 10004),
        (Method::GET, format!("/channels/{c}/messages/{nope}"), 10008),
        (
            Method::PATCH,
            format!("/channels/{c}/messages/{nope}"),
            10008,
        ),
        (
            Method::DELETE,
            format!("/channels/{c}/messages/{nope}"),
            10008,
        ),
        (
            Method::PUT,
            format!("/channels/{c}/messages/{nope}/reactions/%F0%9F%91%8D/@me"),
            10008,
        ),
        (
            Method::PUT,
            format!("/channels/{c}/messages/pins/{nope}"),
            10008,
        ),
        (Method::GET, format!("/guilds/{g}/roles/{nope}"), 10011),
        (Method::PATCH, format!("/guilds/{g}/roles/{nope}"), 10011),
        (Method::DELETE, format!("/guilds/{g}/roles/{nope}"), 10011),
        (
            Method::PUT,
            format!("/guilds/{g}/members/{}/roles/{nope}", t.alice_id),
            10011,
        ),
        (Method::GET, format!("/users/{nope}"), 10013),
        (Method::PUT, format!("/guilds/{g}/bans/{nope}"), 10013),
        (Method::GET, "/invites/doesnotexist".to_string(), 10006),
        (Method::POST, "/invites/doesnotexist".to_string(), 10006),
        (Method::DELETE, "/invites/doesnotexist".to_string(), 10006),
        (Method::GET, format!("/guilds/{g}/members/{nope}"), 10007),
        (Method::GET, format!("/guilds/{g}/bans/{nope}"), 10026),
        (Method::DELETE, format!("/guilds/{g}/bans/{nope}"), 10026),
        (
            Method::PUT,
            format!("/channels/{c}/messages/{}/reactions/abc/@me", t.msg),
            10014,
        ),
    ];
    for (m, path, code) in cases {
        let body = if m == Method::GET || m == Method::DELETE {
            None
        } else {
            Some(json!({}))
        };
        let r = a.send(m.clone(), &path, body).await;
        assert_eq!((r.status, r.code()), (404, code), "{m} {path}: {r:?}");
        assert!(r.body["message"].as_str().unwrap().starts_with("Unknown"));
    }
}

#[tokio::test]
async fn malformed_ids_and_queries_are_50035() {
    let t = setup().await;
    let a = &t.alice;
    for bad in ["abc", "-1", "1.5", "99999999999999999999999", "%20", "0x10"] {
        for path in [
            format!("/channels/{bad}"),
            format!("/guilds/{bad}"),
            format!("/users/{bad}"),
            format!("/channels/{}/messages/{bad}", t.g.general),
            format!("/guilds/{}/members/{bad}", t.g.id),
        ] {
            let r = a.get(&path).await;
            assert_field_error(&r, "_path");
        }
    }
    let msgs = format!("/channels/{}/messages", t.g.general);
    for q in [
        "before=abc",
        "after=-5",
        "around=x",
        "limit=ten",
        "limit=1e3",
    ] {
        let r = a.get(&format!("{msgs}?{q}")).await;
        assert_err(&r, 400, 50035);
    }
    let r = a
        .get(&format!(
            "/channels/{}/messages/pins?before=yesterday",
            t.g.general
        ))
        .await;
    assert_field_error(&r, "before");
    let r = a
        .get(&format!("/channels/{}/messages/pins?limit=51", t.g.general))
        .await;
    assert_field_error(&r, "limit");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let t = setup().await;
    let a = &t.alice;
    let root = format!("http://{}", t.srv.addr);
    for url in [
        t.srv.url("/nope"),
        t.srv.url("/users/@me/nope"),
        format!("{root}/api/v8/users/@me"),
        format!("{root}/_hearth/elsewhere"),
        format!("{root}/.well-known/elsewhere"),
        format!("{root}/gateway/elsewhere"),
        format!("{root}/api/nope"),
    ] {
        let r = a.get(&url).await;
        assert_eq!(r.status, 404, "{url}: {r:?}");
        assert_eq!(r.code(), 0);
        assert!(r.body["message"].is_string(), "{url}: {r:?}");
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json"),
            "{url}: {r:?}"
        );
    }
    let r = a.delete("/users/@me").await;
    assert_eq!(r.status, 405, "{r:?}");
    assert!(r.body["message"].is_string());
    // All three prefixes serve the API.
    for prefix in ["/api", "/api/v9", "/api/v10"] {
        let r = a.get(&format!("{root}{prefix}/users/@me")).await;
        assert_eq!(r.status, 200, "{prefix}: {r:?}");
        assert_eq!(r.body["id"], t.alice_id.as_str());
    }
    let health = a.get(&format!("{root}/health")).await;
    assert_eq!(health.status, 200);
    // Every other path belongs to the web client (its routes are client-side): index.html.
    for path in ["/", "/totally/elsewhere"] {
        let r = a.get(&format!("{root}{path}")).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert!(
            r.header("content-type")
                .unwrap_or_default()
                .starts_with("text/html"),
            "{path}: {r:?}"
        );
    }
}

#[tokio::test]
async fn library_bodies_with_unknown_fields_and_nulls_are_accepted() {
    let t = setup().await;
    let a = &t.alice;
    let msgs = format!("/channels/{}/messages", t.g.general);
    let r = a
        .post(
            &msgs,
            json!({"content": "hi", "sticker_ids": null, "enforce_nonce": null, "tts": null,
                   "embeds": null, "nonce": null, "allowed_mentions": null, "message_reference": null,
                   "components": [], "attachments": [], "flags": null, "poll": null, "embed": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "hi");
    assert_eq!(r.body["tts"], false);
    let id = s(&r.body["id"]);
    let r = a
        .patch(
            &format!("{msgs}/{id}"),
            json!({"content": "hi again", "embeds": null, "attachments": [], "components": null, "flags": null, "allowed_mentions": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["embeds"], json!([]));
    let r = a
        .post(
            "/guilds",
            json!({"name": "library guild", "region": null, "icon": null, "channels": [], "roles": [],
                   "verification_level": null, "system_channel_id": null, "afk_timeout": 300}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let g2 = s(&r.body["id"]);
    let r = a
        .patch(
            &format!("/guilds/{g2}"),
            json!({"name": "renamed guild", "icon": null, "afk_channel_id": null, "features": [],
                   "description": null, "banner": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "renamed guild");
    let r = a
        .post(
            &format!("/guilds/{g2}/channels"),
            json!({"name": "lib", "type": 0, "topic": null, "parent_id": null, "nsfw": null,
                   "permission_overwrites": null, "rate_limit_per_user": null, "position": null,
                   "default_auto_archive_duration": null, "bitrate": null, "user_limit": null}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = a
        .post(
            &format!("/guilds/{g2}/roles"),
            json!({"name": "lib role", "permissions": null, "color": null, "hoist": null,
                   "icon": null, "unicode_emoji": null, "mentionable": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["permissions"], "0");
    // Permissions as a number, as older libraries send them.
    let r = a
        .post(
            &format!("/guilds/{g2}/roles"),
            json!({"name": "numeric", "permissions": 2048}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["permissions"], "2048");
    // Snowflakes as numbers too.
    let r = a
        .post(
            &msgs,
            json!({"content": "reply", "message_reference": {"message_id": t.msg.parse::<u64>().unwrap(), "guild_id": null, "channel_id": null}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["type"], 19);
    // Multipart with payload_json, as discord.py sends it.
    let boundary = "XhearthX";
    let mp = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--{boundary}--\r\n",
        json!({"content": "from multipart", "tts": null})
    );
    let ct = format!("multipart/form-data; boundary={boundary}");
    let r = a
        .raw(
            Method::POST,
            &msgs,
            Some(mp.into_bytes()),
            &[("content-type", ct.as_str())],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "from multipart");
    // A file without payload_json is a message with one attachment.
    let mp = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let r = a
        .raw(
            Method::POST,
            &msgs,
            Some(mp.into_bytes()),
            &[("content-type", ct.as_str())],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["attachments"][0]["filename"], "a.txt");
    let stored = ids(&a.get(&msgs).await.body);
    assert_eq!(stored.len(), 5, "{stored:?}");
}

/// Every route template, with `{g}` guild, `{c}` channel, `{m}` message, `{u}` user, `{r}`
/// role, `{i}` invite code, `{a}` application, `{s}` session.
const ROUTES: &[&str] = &[
    "/auth/register",
    "/auth/login",
    "/auth/refresh",
    "/auth/sessions",
    "/auth/sessions/{s}",
    "/users/@me",
    "/users/@me/guilds",
    "/users/@me/guilds/{g}",
    "/users/@me/channels",
    "/users/@me/relationships",
    "/users/@me/relationships/{u}",
    "/users/{u}",
    "/guilds",
    "/guilds/{g}",
    "/guilds/{g}/channels",
    "/guilds/{g}/members",
    "/guilds/{g}/members/search",
    "/guilds/{g}/members/@me",
    "/guilds/{g}/members/{u}",
    "/guilds/{g}/members/{u}/roles/{r}",
    "/guilds/{g}/roles",
    "/guilds/{g}/roles/{r}",
    "/guilds/{g}/invites",
    "/guilds/{g}/bans",
    "/guilds/{g}/bans/{u}",
    "/guilds/{g}/audit-logs",
    "/channels/{c}",
    "/channels/{c}/permissions/{u}",
    "/channels/{c}/invites",
    "/channels/{c}/typing",
    "/channels/{c}/messages",
    "/channels/{c}/messages/bulk-delete",
    "/channels/{c}/messages/pins",
    "/channels/{c}/messages/pins/{m}",
    "/channels/{c}/pins",
    "/channels/{c}/pins/{m}",
    "/channels/{c}/messages/{m}",
    "/channels/{c}/messages/{m}/reactions",
    "/channels/{c}/messages/{m}/reactions/{e}",
    "/channels/{c}/messages/{m}/reactions/{e}/@me",
    "/channels/{c}/messages/{m}/reactions/{e}/{u}",
    "/invites/{i}",
    "/applications",
    "/applications/@me",
    "/applications/{a}",
    "/applications/{a}/bot/reset",
    "/oauth2/applications/@me",
    "/oauth2/authorize?client_id={a}&scope=bot",
    "/gateway",
    "/gateway/bot",
    "/admin/users",
    "/admin/users/{u}",
    "/admin/guilds/{g}",
];

#[tokio::test]
async fn garbage_sweep_never_500() {
    let t = setup().await;
    let (bob_id, bob) = t.srv.user("bob").await;
    join(&bob, &t.g.invite).await;
    let app = t
        .alice
        .post("/applications", json!({"name": "sweeper"}))
        .await;
    let app_id = s(&app.body["id"]);
    let role = create_role(&t.alice, &t.g.id, "sweep", 0).await;
    // Real ids first (so handlers run deep), then garbage of every shape.
    let real = [
        ("{g}", t.g.id.clone()),
        ("{c}", t.g.general.clone()),
        ("{m}", t.msg.clone()),
        ("{u}", bob_id.clone()),
        ("{r}", role.clone()),
        ("{i}", t.g.invite.clone()),
        ("{a}", app_id.clone()),
        ("{s}", "1".to_string()),
        ("{e}", "%F0%9F%91%8D".to_string()),
    ];
    let garbage_ids = [
        "0",
        "18446744073709551615",
        "9223372036854775808",
        "-1",
        "abc",
        "%00",
        "a:1",
        "@me",
    ];
    let bodies: Vec<Option<Vec<u8>>> = vec![
        None,
        Some(b"".to_vec()),
        Some(b"null".to_vec()),
        Some(b"[]".to_vec()),
        Some(b"\"str\"".to_vec()),
        Some(b"-1".to_vec()),
        Some(b"{\"name\":null,\"content\":null,\"permissions\":\"-1\",\"type\":255,\"position\":-9223372036854775808,\"limit\":0,\"messages\":[],\"recipient_id\":\"0\",\"nick\":\"\",\"roles\":[\"0\"],\"max_age\":-1,\"delete_message_seconds\":-1,\"refresh_token\":\"\",\"login\":\"\",\"password\":\"\",\"username\":\"\",\"rate_limit_per_user\":-1,\"color\":-1,\"owner_id\":\"0\",\"guild_id\":\"0\",\"flags\":18446744073709551615}".to_vec()),
        Some(
            serde_json::to_vec(&json!({"name": "ok name", "content": "ok", "type": 0,
                "permissions": "9223372036854775807", "position": 9223372036854775807i64,
                "nick": "n", "roles": [role], "messages": [t.msg, t.msg], "recipient_id": bob_id,
                "allow": "18446744073709551615", "deny": "1", "max_uses": 100, "max_age": 0,
                "delete_message_seconds": 604800, "topic": "t", "parent_id": t.g.general,
                "system_channel_id": t.g.general, "rate_limit_per_user": 21600,
                "guild_id": t.g.id, "dm_policy": 1, "bio": "b", "global_name": "g",
                "message_reference": {"message_id": t.msg, "channel_id": "1"},
                "allowed_mentions": {"parse": ["everyone", "roles", "users", "bogus"]},
                "embeds": [{"title": "t", "description": null, "fields": [1, 2]}],
                "nonce": 1.5, "enforce_nonce": true}))
            .unwrap(),
        ),
        Some(vec![0xff, 0x00, 0x7b]),
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let mut jobs = vec![];
    for route in ROUTES {
        let mut real_path = route.to_string();
        for (k, v) in &real {
            real_path = real_path.replace(k, v);
        }
        // Real ids: every method with every body.
        for m in &methods {
            if *m == Method::GET || *m == Method::DELETE {
                jobs.push((m.clone(), real_path.clone(), None));
            } else {
                for b in &bodies {
                    jobs.push((m.clone(), real_path.clone(), b.clone()));
                }
            }
        }
        // Garbage ids: every method, a good and a bad body.
        for gid in garbage_ids {
            let mut p = route.to_string();
            for (k, _) in &real {
                p = p.replace(k, gid);
            }
            if p == real_path {
                continue;
            }
            for m in &methods {
                if *m == Method::GET || *m == Method::DELETE {
                    jobs.push((m.clone(), p.clone(), None));
                } else {
                    jobs.push((m.clone(), p.clone(), bodies[7].clone()));
                    jobs.push((m.clone(), p.clone(), bodies[6].clone()));
                }
            }
        }
    }
    // Destructive calls run last so the real ids stay valid for most of the sweep.
    jobs.sort_by_key(|(m, p, _)| (*m == Method::DELETE, p.contains("/admin/")));
    let total = jobs.len();
    // Bob (a plain member) and alice (owner, instance admin) both sweep.
    let clients = [bob.clone(), t.alice.clone()];
    let results: Vec<(String, Resp)> = futures_util::stream::iter(jobs.into_iter().enumerate())
        .map(|(n, (m, path, body))| {
            let c = clients[n % 2].clone();
            async move {
                let r = c.raw(m.clone(), &path, body.clone(), &[]).await;
                (
                    format!(
                        "{m} {path} body={:?}",
                        body.map(|b| String::from_utf8_lossy(&b)
                            .chars()
                            .take(60)
                            .collect::<String>())
                    ),
                    r,
                )
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(results.len(), total);
    let bad: Vec<String> = results
        .iter()
        .filter(|(_, r)| r.status >= 500)
        .map(|(what, r)| format!("{what} -> {} {}", r.status, r.body))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {total} requests answered 5xx:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // Every error answer is Discord-shaped JSON.
    for (what, r) in &results {
        if r.status >= 400 {
            assert!(
                r.body["message"].is_string() && r.body["code"].is_number(),
                "{what}: non-Discord error {r:?}"
            );
        }
    }
    // The server is still healthy afterwards.
    assert_eq!(t.alice.get("/users/@me").await.status, 200);
}

#[tokio::test]
async fn nul_characters_never_500() {
    // PostgreSQL rejects NUL in text; SQLite stores it. Either way the API must answer 4xx
    // (or store something harmless), never 500.
    let t = setup().await;
    let a = &t.alice;
    let (g, c, m) = (&t.g.id, &t.g.general, &t.msg);
    let nul = "a\u{0}b";
    let body_cases: Vec<(Method, String, serde_json::Value)> = vec![
        (
            Method::POST,
            format!("/channels/{c}/messages"),
            json!({"content": nul}),
        ),
        (
            Method::POST,
            format!("/channels/{c}/messages"),
            json!({"content": "x", "nonce": nul}),
        ),
        (
            Method::POST,
            format!("/channels/{c}/messages"),
            json!({"content": "x", "embeds": [{"title": nul}]}),
        ),
        (
            Method::PATCH,
            format!("/channels/{c}/messages/{m}"),
            json!({"content": nul}),
        ),
        (Method::POST, "/guilds".into(), json!({"name": nul})),
        (
            Method::PATCH,
            format!("/guilds/{g}"),
            json!({"name": nul, "description": nul}),
        ),
        (
            Method::POST,
            format!("/guilds/{g}/channels"),
            json!({"name": nul, "topic": nul}),
        ),
        (
            Method::PATCH,
            format!("/channels/{c}"),
            json!({"topic": nul}),
        ),
        (
            Method::POST,
            format!("/guilds/{g}/roles"),
            json!({"name": nul}),
        ),
        (
            Method::PATCH,
            format!("/guilds/{g}/members/@me"),
            json!({"nick": nul}),
        ),
        (
            Method::PATCH,
            "/users/@me".into(),
            json!({"global_name": nul, "bio": nul}),
        ),
        (
            Method::POST,
            "/applications".into(),
            json!({"name": nul, "description": nul}),
        ),
        (
            Method::POST,
            "/auth/login".into(),
            json!({"login": nul, "password": nul}),
        ),
        (
            Method::POST,
            "/auth/register".into(),
            json!({"username": nul, "password": "long enough"}),
        ),
        (
            Method::POST,
            "/auth/register".into(),
            json!({"username": "nulmail", "password": "long enough", "email": "a\u{0}@b"}),
        ),
        (
            Method::POST,
            "/auth/refresh".into(),
            json!({"refresh_token": nul}),
        ),
    ];
    for (method, path, body) in body_cases {
        let r = a.send(method.clone(), &path, Some(body.clone())).await;
        assert!(r.status < 500, "{method} {path} {body}: {r:?}");
    }
    type RawCase<'a> = (Method, String, Vec<(&'a str, &'a str)>);
    let raw_cases: Vec<RawCase> = vec![
        (Method::GET, "/invites/a%00b".into(), vec![]),
        (Method::POST, "/invites/a%00b".into(), vec![]),
        (Method::DELETE, "/invites/a%00b".into(), vec![]),
        (
            Method::GET,
            format!("/guilds/{g}/members/search?query=a%00b"),
            vec![],
        ),
        (Method::GET, "/users/@me/guilds?before=%00".into(), vec![]),
        (
            Method::PATCH,
            format!("/channels/{c}"),
            vec![("X-Audit-Log-Reason", "bad%00reason")],
        ),
    ];
    for (method, path, headers) in raw_cases {
        let body = (method == Method::PATCH).then(|| b"{\"name\":\"renamed\"}".to_vec());
        let r = a.raw(method.clone(), &path, body, &headers).await;
        assert!(r.status < 500, "{method} {path} {headers:?}: {r:?}");
    }
    // JSON NUL is a form error naming the field, on every backend; nothing is stored.
    let msgs = format!("/channels/{c}/messages");
    let r = a.post(&msgs, json!({"content": nul})).await;
    assert_field_error(&r, "content");
    let r = a
        .post(&msgs, json!({"content": "x", "embeds": [{"title": nul}]}))
        .await;
    assert_field_error(&r, "embeds.0.title");
    // An escaped backslash followed by `u0000` is ordinary text.
    let r = a.post(&msgs, json!({"content": "\\u0000"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "\\u0000");
    let r = a.get("/invites/a%00b").await;
    assert_err(&r, 404, 10006);
    assert_eq!(a.get("/users/@me").await.status, 200);
}

#[tokio::test]
async fn embeds_with_non_integer_numbers_are_refused() {
    let ts = TestServer::start().await;
    let (_, c) = ts.user("alice").await;
    let g = create_guild(&c, "Embeds").await;
    let r = c
        .post(
            &format!("/channels/{}/messages", g.general),
            json!({"embeds": [{"title": "t", "color": 1.5}]}),
        )
        .await;
    assert_err(&r, 400, 50035);
    let ok = c
        .post(
            &format!("/channels/{}/messages", g.general),
            json!({"embeds": [{"title": "t", "color": 16711680}]}),
        )
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
}
