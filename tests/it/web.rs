//! The web client (issue 16) from the server's side: the embedded client at `/` with its
//! SPA fallback and security headers, server paths keeping Discord's JSON 404, the Spacebar
//! discovery document, the unauthenticated invite preview the client's `/invite/CODE` needs,
//! and the wire fixtures that tie the client's TypeScript types to `hearth-wire`.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::harness::*;
use hearth::wire;

/// A client for paths outside the API (the harness's clients are bound to `/api/v10`).
fn root_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn client_is_served_at_root_with_spa_fallback_and_csp() {
    let server = TestServer::start().await;
    let http = root_client();
    let base = format!("http://{}", server.addr);

    for path in ["/", "/channels/1/2", "/invite/abc", "/login"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        // Attachment URLs point at `media.public_url` (here the bound address): the page
        // may show them inline even when opened under another name of the server.
        assert!(
            csp.contains(&format!(
                "img-src 'self' http://{} data: blob:;",
                server.addr
            )),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        let body = r.text().await.unwrap();
        assert!(body.contains("<html"), "{path}: {body}");
        assert!(!body.contains("<script>"), "no inline script: {body}");
    }

    // When the client is embedded, its hashed assets are served with a long lifetime.
    if hearth::web::client_built() {
        let index = http.get(&base).send().await.unwrap().text().await.unwrap();
        let script = index
            .split("src=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("index.html loads a script");
        assert!(script.starts_with("/assets/"), "{script}");
        let r = http.get(format!("{base}{script}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert!(r.headers().get("content-encoding").is_none());
        let vary = r.headers().get("vary").cloned();
        let plain = r.bytes().await.unwrap();

        // The precompressed copies (every `npm run build` writes them; a `web/dist` left by an
        // older build has none, and then nothing is compressed): brotli preferred, gzip
        // otherwise, none when refused.
        let copies = http
            .get(format!("{base}{script}.br"))
            .send()
            .await
            .unwrap()
            .status()
            == 200;
        if !copies {
            assert!(vary.is_none());
            let r = http
                .get(format!("{base}{script}"))
                .header("accept-encoding", "br, gzip")
                .send()
                .await
                .unwrap();
            assert!(r.headers().get("content-encoding").is_none());
        } else {
            assert_eq!(vary.unwrap(), "accept-encoding");
            let get = |accept: &'static str| {
                http.get(format!("{base}{script}"))
                    .header("accept-encoding", accept)
                    .send()
            };
            let r = get("gzip, deflate, br, zstd").await.unwrap();
            assert_eq!(r.headers()["content-encoding"], "br");
            assert_eq!(r.headers()["vary"], "accept-encoding");
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/javascript")
            );
            let br = r.bytes().await.unwrap();
            assert!(
                br.len() < plain.len() / 2,
                "{} of {}",
                br.len(),
                plain.len()
            );
            let r = get("gzip;q=1.0, br;q=0").await.unwrap();
            assert_eq!(r.headers()["content-encoding"], "gzip");
            let mut unzipped = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(&r.bytes().await.unwrap()[..]),
                &mut unzipped,
            )
            .unwrap();
            assert_eq!(unzipped, plain);
            let r = get("identity").await.unwrap();
            assert!(r.headers().get("content-encoding").is_none());
            assert_eq!(r.bytes().await.unwrap(), plain);
        }
    }
    let r = http
        .get(format!("{base}/assets/missing-1234.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn server_paths_keep_discords_json_404() {
    let server = TestServer::start().await;
    let http = root_client();
    let base = format!("http://{}", server.addr);
    for path in [
        "/api/v10/nope",
        "/api/nope",
        "/api",
        "/gateway/nope",
        "/_hearth/federation/v1/nope",
        "/.well-known/nope",
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], 0, "{path}: {body}");
        assert_eq!(body["message"], "404: Not Found", "{path}: {body}");
    }
    // Other methods never get the page.
    let r = http
        .post(format!("{base}/channels/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Health and the API itself are unaffected.
    let r = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = server.anon().get("/gateway").await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn spacebar_client_discovery() {
    let server = TestServer::start().await;
    let http = root_client();
    let base = format!("http://{}", server.addr);
    let r = http
        .get(format!("{base}/.well-known/spacebar/client"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["api"]["baseUrl"], format!("{base}/api"));
    assert_eq!(v["api"]["apiVersions"]["default"], "10");
    assert!(
        v["api"]["apiVersions"]["active"]
            .as_array()
            .unwrap()
            .contains(&"10".into())
    );
    assert_eq!(v["cdn"], base);
    assert_eq!(v["gateway"], format!("ws://{}/gateway", server.addr));
}

#[tokio::test]
async fn invite_preview_needs_no_token() {
    let server = TestServer::start().await;
    let (_, owner) = server.user("owner").await;
    let g = create_guild(&owner, "Preview Club").await;
    let r = server.anon().get(&format!("/invites/{}", g.invite)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["guild"]["name"], "Preview Club");
    let r = server.anon().get("/invites/doesnotexist").await;
    assert_err(&r, 404, 10006);
}

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("web/wire-fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The fixture is exactly a server object: it parses into the `hearth-wire` type (which
/// requires its fields) and serializes back to itself (a field the type does not know is
/// dropped by the parse, so it fails the comparison).
fn server_object<T: DeserializeOwned + Serialize>(name: &str) {
    let v = fixture(name);
    let parsed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("web/wire-fixtures/{name}.json is no hearth-wire object: {e}"));
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        v,
        "web/wire-fixtures/{name}.json differs from the server's serialization"
    );
}

/// The client's TypeScript types (web/src/api/wire.ts) are checked against these fixtures by
/// `tsc` (web/src/api/wire.check.ts); this test checks the fixtures against hearth-wire.
#[test]
fn web_wire_fixtures_match_hearth_wire() {
    server_object::<wire::User>("user");
    // TokenPair is only serialized by the server: the fixture's fields build one, which must
    // serialize back to the fixture (a missing field fails here, an extra one the comparison).
    let t = fixture("token_pair");
    let field = |k: &str| {
        t[k].as_str()
            .unwrap_or_else(|| panic!("token_pair.{k}"))
            .to_string()
    };
    let pair = wire::TokenPair {
        user_id: field("user_id").parse().unwrap(),
        token: field("token"),
        refresh_token: field("refresh_token"),
        expires_in: t["expires_in"].as_u64().unwrap(),
        session_id: field("session_id").parse().unwrap(),
    };
    assert_eq!(serde_json::to_value(&pair).unwrap(), t);
    server_object::<wire::Guild>("guild");
    server_object::<wire::Channel>("channel");
    server_object::<wire::Message>("message");
    server_object::<wire::Invite>("invite");
    server_object::<wire::dispatch::MessageDelete>("message_delete");
    server_object::<wire::dispatch::TypingStart>("typing_start");
    server_object::<wire::dispatch::ReactionRemove>("reaction_remove");
    server_object::<wire::Channel>("dm_channel");
    server_object::<wire::Channel>("group_dm_channel");
    server_object::<wire::dispatch::ChannelRecipient>("channel_recipient");
    server_object::<wire::Relationship>("relationship");
    server_object::<wire::RelationshipRemove>("relationship_remove");
    server_object::<wire::PassiveUpdate>("passive_update");
    server_object::<wire::MessageSearchResult>("message_search_result");
    // Threads and forums (issue 15's objects as the client reads them).
    server_object::<wire::Channel>("thread_channel");
    server_object::<wire::Channel>("forum_channel");
    server_object::<wire::ThreadList>("thread_list");
    server_object::<wire::Message>("message_with_thread");

    // Request bodies: every field the client sends is one the server reads.
    let b: wire::RegisterBody = serde_json::from_value(fixture("register_body")).unwrap();
    assert!(b.username.is_some() && b.password.is_some() && b.email.is_some());
    let b: wire::LoginBody = serde_json::from_value(fixture("login_body")).unwrap();
    assert!(b.login.is_some() && b.password.is_some());
    let b: wire::CreateGuildBody = serde_json::from_value(fixture("create_guild_body")).unwrap();
    assert!(b.name.is_some());
    let b: wire::CreateMessageBody =
        serde_json::from_value(fixture("create_message_body")).unwrap();
    assert!(b.content.is_some() && b.nonce.is_some());
    let b: wire::EditMessageBody = serde_json::from_value(fixture("edit_message_body")).unwrap();
    assert!(matches!(b.content, Some(Some(_))));
    let b: wire::CreateInviteBody = serde_json::from_value(fixture("create_invite_body")).unwrap();
    assert!(b.max_age.is_some());
    let b: wire::ChannelBody = serde_json::from_value(fixture("create_channel_body")).unwrap();
    assert!(b.name.is_some() && b.kind.is_some() && b.position.is_some());
    assert!(matches!(b.topic, Some(Some(_))) && matches!(b.parent_id, Some(Some(_))));
    let b: wire::RoleBody = serde_json::from_value(fixture("create_role_body")).unwrap();
    assert!(b.name.is_some() && b.permissions == Some(1_099_645_018_118));
    assert!(b.color.is_some() && b.hoist.is_some() && b.mentionable.is_some());
    let b: wire::CreateDmBody = serde_json::from_value(fixture("create_dm_body")).unwrap();
    assert!(b.recipient_id.is_some());
    let b: wire::CreateDmBody = serde_json::from_value(fixture("create_group_dm_body")).unwrap();
    assert_eq!(b.recipients.map(|r| r.len()), Some(2));
    assert!(b.name.is_some());
    let b: wire::RelationshipBody = serde_json::from_value(fixture("relationship_body")).unwrap();
    assert_eq!(b.kind, Some(2));
    bots_fixtures();
}

/// Bots (issues 14, 16): the command index and the interaction events are server objects;
/// the `POST /interactions` bodies the client builds (checked equal to these fixtures by
/// `web/src/bots.fixtures.test.ts`) have every field read by the server, and the category
/// sync body (`PATCH /guilds/{id}/channels`) too.
fn bots_fixtures() {
    server_object::<wire::ApplicationCommandIndex>("application_command_index");
    server_object::<wire::InteractionModalCreate>("interaction_modal_create");
    server_object::<wire::InteractionClientEvent>("interaction_event");
    server_object::<wire::AutocompleteResponse>("autocomplete_response");
    let body = |name: &str| -> wire::InteractionRequest {
        let b: wire::InteractionRequest = serde_json::from_value(fixture(name))
            .unwrap_or_else(|e| panic!("web/wire-fixtures/{name}.json: {e}"));
        assert!(b.application_id.is_some() && b.guild_id.is_some() && b.channel_id.is_some());
        assert!(b.session_id.is_some() && b.nonce.as_ref().is_some_and(|n| n.is_string()));
        b
    };
    let kind = |b: &wire::InteractionRequest| b.kind.map(|k| k.value());
    let b = body("interaction_command_body");
    let d = b.data.as_ref().unwrap();
    assert_eq!(kind(&b), Some(2));
    assert!(d.id.is_some() && d.name.is_some() && d.kind == Some(1) && d.version.is_some());
    let o = &d.options.as_ref().unwrap()[0];
    assert_eq!(
        (o.name.as_str(), o.options.as_ref().map(Vec::len)),
        ("set", Some(1))
    );
    let b = body("interaction_context_body");
    let d = b.data.as_ref().unwrap();
    assert_eq!((kind(&b), d.kind), (Some(2), Some(3)));
    assert!(d.target_id.is_some() && d.options.is_none() && d.version.is_some());
    let b = body("interaction_component_body");
    let d = b.data.as_ref().unwrap();
    assert_eq!(kind(&b), Some(3));
    assert!(b.message_id.is_some() && b.message_flags == Some(0));
    assert!(d.custom_id.is_some() && d.component_type == Some(3) && d.values.is_some());
    let b = body("interaction_autocomplete_body");
    let d = b.data.as_ref().unwrap();
    assert_eq!(kind(&b), Some(4));
    assert!(d.options.as_ref().unwrap()[1].focused == Some(true));
    let b = body("interaction_modal_body");
    let d = b.data.as_ref().unwrap();
    assert_eq!(kind(&b), Some(5));
    assert!(d.id.is_some() && d.custom_id.is_some() && d.components.is_some());
    let sync: Vec<wire::ChannelPosition> =
        serde_json::from_value(fixture("channel_sync_body")).unwrap();
    assert!(sync[0].lock_permissions == Some(true) && matches!(sync[0].parent_id, Some(Some(_))));
}

/// The web client's member list shows a newcomer online: GUILD_MEMBER_ADD is followed by the
/// newcomer's PRESENCE_UPDATE when they are online (as on Discord).
#[tokio::test]
async fn a_member_who_joins_while_online_is_shown_online() {
    use crate::gateway::{GUILD_MEMBERS, GUILD_PRESENCES, GUILDS, Gw};
    let server = TestServer::start().await;
    let (_, owner_tok) = server.register("alice").await;
    let g = create_guild(&server.client(&owner_tok), "Club").await;
    let (bob_id, bob_tok) = server.register("bob").await;
    let mut a = Gw::identify(
        &server,
        &owner_tok,
        GUILDS | GUILD_MEMBERS | GUILD_PRESENCES,
    )
    .await;
    a.expect("GUILD_CREATE").await;
    let _b = Gw::identify(&server, &bob_tok, GUILDS).await;
    join(&server.client(&bob_tok), &g.invite).await;
    a.expect("GUILD_MEMBER_ADD").await;
    loop {
        let p = a.expect("PRESENCE_UPDATE").await;
        if p["user"]["id"] == bob_id.as_str() {
            assert_eq!(p["status"], "online");
            break;
        }
    }
}

/// Whether `fixture` has the shape of `real`: every key of an object in the fixture is in
/// the real object with a value of the same JSON kind (`null` on either side matches
/// anything: optional fields), arrays compared by their first elements. `path` names the
/// place in failure messages.
fn assert_shape(path: &str, fixture: &Value, real: &Value) {
    match (fixture, real) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(f), Value::Object(r)) => {
            for (k, v) in f {
                let Some(rv) = r.get(k) else {
                    panic!("{path}.{k} is in the fixture but not in the server's payload");
                };
                assert_shape(&format!("{path}.{k}"), v, rv);
            }
        }
        (Value::Array(f), Value::Array(r)) => {
            if let (Some(a), Some(b)) = (f.first(), r.first()) {
                assert_shape(&format!("{path}[0]"), a, b);
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => panic!("{path}: the fixture has {fixture} where the server sends {real}"),
    }
}

/// With `HEARTH_WRITE_FIXTURES=1`, writes `value` as web/wire-fixtures/{name}.json (how the
/// fixtures below are refreshed from a real server); then returns the stored fixture.
fn captured(name: &str, value: &Value) -> Value {
    if std::env::var_os("HEARTH_WRITE_FIXTURES").is_some() {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("web/wire-fixtures")
            .join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(value).unwrap() + "\n";
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    fixture(name)
}

/// The objects the client reads from the gateway and from the guild-administration routes,
/// as a real server sends them (web/wire-fixtures, checked against the client's types by
/// `tsc` through web/src/api/wire.check.ts):
/// - READY and GUILD_CREATE are built by the gateway as JSON (no `hearth-wire` type): their
///   fixtures must have the shape of what a session of a real server gets here (every field
///   the fixture has, with the same JSON kind);
/// - roles, members, custom emoji, bans, the audit log, webhooks, presences, read states and
///   MESSAGE_ACK are `hearth-wire` types: each fixture is exactly one ([`server_object`]).
#[tokio::test]
async fn gateway_and_administration_fixtures_are_what_a_server_sends() {
    use crate::gateway::{GUILD_MEMBERS, GUILD_PRESENCES, GUILDS, Gw};
    let server = TestServer::start().await;
    let (alice_id, alice_tok) = server.register("alice").await;
    let alice = server.client(&alice_tok);
    let g = create_guild(&alice, "Fixtures").await;
    let (bob_id, bob_tok) = server.register("bob").await;
    let bob = server.client(&bob_tok);
    join(&bob, &g.invite).await;
    let role = create_role(&alice, &g.id, "moderators", perm::MANAGE_MESSAGES).await;
    let r = alice
        .patch(
            &format!("/guilds/{}/roles/{role}", g.id),
            json!({"color": 0x3366cc, "hoist": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    give_role(&alice, &g.id, &bob_id, &role).await;
    let (carol_id, carol_tok) = server.register("carol").await;
    join(&server.client(&carol_tok), &g.invite).await;
    let r = alice
        .put(
            &format!("/guilds/{}/bans/{carol_id}", g.id),
            json!({"delete_message_seconds": 0}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let png = {
        let img = image::RgbaImage::from_pixel(8, 8, image::Rgba([1, 2, 3, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let uri = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &png)
    );
    let r = alice
        .post(
            &format!("/guilds/{}/emojis", g.id),
            json!({"name": "hearth", "image": uri}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let emoji = r.body;
    let r = alice
        .post(
            &format!("/channels/{}/webhooks", g.general),
            json!({"name": "Announcer"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let webhook = r.body;
    let first = say(&bob, &g.general, &format!("hello <@{alice_id}>")).await;
    let r = alice
        .post(
            &format!("/channels/{}/messages/{first}/ack", g.general),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    say(&bob, &g.general, "unread").await;
    let r = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let mut a = Gw::identify(
        &server,
        &alice_tok,
        GUILDS | GUILD_MEMBERS | GUILD_PRESENCES,
    )
    .await;
    let ready = a.ready.clone();
    let guild_create = a.expect("GUILD_CREATE").await;
    let _b = Gw::identify(&server, &bob_tok, GUILDS).await;
    let presence = loop {
        let p = a.expect("PRESENCE_UPDATE").await;
        if p["user"]["id"] == bob_id.as_str() {
            break p;
        }
    };
    let last = say(&bob, &g.general, "acked on another session").await;
    let r = alice
        .post(
            &format!("/channels/{}/messages/{last}/ack", g.general),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let ack = a.expect("MESSAGE_ACK").await;
    // The account screens: the sessions list, and TOTP turned on (its backup codes).
    let sessions = alice.get("/auth/sessions").await.body;
    let (_, dora_tok) = server.register("dora").await;
    let t0 = crate::mfa::now();
    let r = server
        .client(&dora_tok)
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": crate::mfa::SECRET, "code": crate::mfa::code_at(crate::mfa::SECRET, t0), "password": password_of("dora")}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mfa_enabled = r.body;

    assert_shape("ready", &captured("ready", &ready), &ready);
    assert_shape(
        "guild_create",
        &captured("guild_create", &guild_create),
        &guild_create,
    );
    let roles = alice.get(&format!("/guilds/{}/roles", g.id)).await.body;
    let role_obj = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == role.as_str())
        .cloned()
        .unwrap();
    let member = alice
        .get(&format!("/guilds/{}/members/{bob_id}", g.id))
        .await
        .body;
    let bans = alice.get(&format!("/guilds/{}/bans", g.id)).await.body;
    let audit = alice
        .get(&format!("/guilds/{}/audit-logs", g.id))
        .await
        .body;
    // Each captured object still has the shape of its fixture (a field the server dropped
    // or retyped fails here), and each fixture is exactly a hearth-wire object (below).
    for (name, value) in [
        ("role", &role_obj),
        ("member", &member),
        ("guild_emoji", &emoji),
        ("ban", &bans[0]),
        ("audit_log", &audit),
        ("webhook", &webhook),
        ("presence_update", &presence),
        ("read_state", &ready["read_state"]),
        ("message_ack", &ack),
        ("auth_sessions", &sessions),
        ("mfa_enabled", &mfa_enabled),
    ] {
        assert_shape(name, &captured(name, value), value);
    }
    server_object::<wire::Role>("role");
    server_object::<wire::Member>("member");
    server_object::<wire::GuildEmoji>("guild_emoji");
    server_object::<wire::Ban>("ban");
    server_object::<wire::AuditLog>("audit_log");
    server_object::<wire::Webhook>("webhook");
    server_object::<wire::dispatch::PresenceUpdate>("presence_update");
    server_object::<wire::ReadState>("read_state");
    server_object::<wire::MessageAck>("message_ack");
    server_object::<Vec<wire::AuthSession>>("auth_sessions");
    server_object::<wire::MfaEnabled>("mfa_enabled");
    // The profile form's request body: every field the client sends is one the server reads.
    let b: wire::ModifyMeBody = serde_json::from_value(fixture("modify_me_body")).unwrap();
    assert!(matches!(b.global_name, Some(Some(_))) && matches!(b.avatar, Some(None)));
    assert_eq!(b.dm_policy, Some(1));
}
