//! Hardening (issue 12): the overwrite rule on every path that writes overwrites, bots
//! refused on invite acceptance, access tokens with absurd lifetimes refused, and the admin
//! CLI's revocations reaching the running server's gateway connections.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{GUILDS, Gw};
use crate::harness::{
    Backend, Client, TestServer, assert_err, create_guild, create_role, give_role, join, perm, s,
};

/// A guild owned by alice where bob is a moderator (MANAGE_CHANNELS | MANAGE_ROLES) denied
/// SEND_MESSAGES in `general` through an overwrite on his role.
struct Moderated {
    /// Keeps the server running for the test.
    _srv: TestServer,
    guild: String,
    general: String,
    alice: Client,
    bob: Client,
    role: String,
}

async fn moderated() -> Moderated {
    let srv = TestServer::start().await;
    let (_, alice) = srv.user("alice").await;
    let (bob_id, bob) = srv.user("bob").await;
    let g = create_guild(&alice, "Guarded").await;
    join(&bob, &g.invite).await;
    let role = create_role(
        &alice,
        &g.id,
        "mods",
        perm::MANAGE_CHANNELS | perm::MANAGE_ROLES,
    )
    .await;
    give_role(&alice, &g.id, &bob_id, &role).await;
    let r = alice
        .put(
            &format!("/channels/{}/permissions/{role}", g.general),
            json!({"type": 0, "allow": "0", "deny": perm::SEND_MESSAGES.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    Moderated {
        _srv: srv,
        guild: g.id,
        general: g.general,
        alice,
        bob,
        role,
    }
}

async fn send(c: &Client, channel: &str) -> u16 {
    c.post(
        &format!("/channels/{channel}/messages"),
        json!({"content": "hello"}),
    )
    .await
    .status
}

async fn overwrites(c: &Client, channel: &str) -> Value {
    let r = c.get(&format!("/channels/{channel}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["permission_overwrites"].clone()
}

#[tokio::test]
async fn a_moderator_cannot_lift_a_deny_he_is_under_on_any_path() {
    let m = moderated().await;
    let (bob, general, role) = (&m.bob, m.general.as_str(), m.role.as_str());
    assert_eq!(send(bob, general).await, 403, "the deny holds");
    let before = overwrites(&m.alice, general).await;

    // PUT (already checked before), DELETE and PATCH with a list without the deny.
    let r = bob
        .put(
            &format!("/channels/{general}/permissions/{role}"),
            json!({"type": 0, "allow": "0", "deny": "0"}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let r = bob
        .delete(&format!("/channels/{general}/permissions/{role}"))
        .await;
    assert_err(&r, 403, 50013);
    let r = bob
        .patch(
            &format!("/channels/{general}"),
            json!({"permission_overwrites": []}),
        )
        .await;
    assert_err(&r, 403, 50013);
    let r = bob
        .patch(
            &format!("/channels/{general}"),
            json!({"permission_overwrites": [
                {"id": role, "type": 0, "allow": perm::SEND_MESSAGES.to_string(), "deny": "0"}
            ]}),
        )
        .await;
    assert_err(&r, 403, 50013);
    assert_eq!(
        overwrites(&m.alice, general).await,
        before,
        "nothing changed"
    );
    assert_eq!(send(bob, general).await, 403, "the deny still holds");

    // What he may do: re-send the list unchanged, and change bits he holds.
    let r = bob
        .patch(
            &format!("/channels/{general}"),
            json!({"permission_overwrites": before.clone()}),
        )
        .await;
    assert_eq!(r.status, 200, "an unchanged list touches nothing: {r:?}");
    let r = bob
        .put(
            &format!("/channels/{general}/permissions/{}", m.guild),
            json!({"type": 0, "allow": "0", "deny": perm::ADD_REACTIONS.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "a bit he holds: {r:?}");

    // Creation: in a category where he is denied SEND_MESSAGES, he cannot create a channel
    // that allows it to him; the owner can.
    let cat = m
        .alice
        .post(
            &format!("/guilds/{}/channels", m.guild),
            json!({"name": "staff", "type": 4, "permission_overwrites": [
                {"id": role, "type": 0, "allow": "0", "deny": perm::SEND_MESSAGES.to_string()}
            ]}),
        )
        .await;
    assert_eq!(cat.status, 201, "{cat:?}");
    let cat = s(&cat.body["id"]);
    let lift = json!({"name": "escape", "parent_id": cat, "permission_overwrites": [
        {"id": role, "type": 0, "allow": perm::SEND_MESSAGES.to_string(), "deny": "0"}
    ]});
    let r = bob
        .post(&format!("/guilds/{}/channels", m.guild), lift.clone())
        .await;
    assert_err(&r, 403, 50013);
    let r = m
        .alice
        .post(&format!("/guilds/{}/channels", m.guild), lift)
        .await;
    assert_eq!(r.status, 201, "the owner may: {r:?}");

    // Category sync: moving `general` (where he is denied) into a category without
    // overwrites with lock_permissions would drop the deny: refused, nothing moves.
    let open = m
        .alice
        .post(
            &format!("/guilds/{}/channels", m.guild),
            json!({"name": "open", "type": 4}),
        )
        .await;
    assert_eq!(open.status, 201, "{open:?}");
    let open = s(&open.body["id"]);
    let r = bob
        .patch(
            &format!("/guilds/{}/channels", m.guild),
            json!([{"id": general, "parent_id": open, "lock_permissions": true}]),
        )
        .await;
    assert_err(&r, 403, 50013);
    let g = m.alice.get(&format!("/channels/{general}")).await;
    assert_eq!(g.body["parent_id"], Value::Null, "not moved: {g:?}");
    assert_eq!(send(bob, general).await, 403, "the deny still holds");

    // The owner's sync copies the category's overwrites.
    let r = m
        .alice
        .patch(
            &format!("/guilds/{}/channels", m.guild),
            json!([{"id": general, "parent_id": cat, "lock_permissions": true}]),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let synced = overwrites(&m.alice, general).await;
    assert_eq!(
        synced,
        overwrites(&m.alice, &cat).await,
        "synced with the category"
    );
}

#[tokio::test]
async fn bots_cannot_accept_invites() {
    let srv = TestServer::start().await;
    let (_, alice) = srv.user("alice").await;
    let g = create_guild(&alice, "No bots by invite").await;
    let bot = hearth_testkit::build::bot_application(&alice, "Walker", 0, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = bot
        .client
        .post(&format!("/invites/{}", g.invite), json!({}))
        .await;
    assert_err(&r, 403, 20001);
    let m = alice
        .get(&format!("/guilds/{}/members/{}", g.id, bot.user_id))
        .await;
    assert_eq!(m.status, 404, "the bot is no member: {m:?}");
    // Its gateway session does not get the guild either.
    let mut gw = Gw::identify(&srv, &format!("Bot {}", bot.token), GUILDS).await;
    let guilds = gw.ready["guilds"].as_array().cloned().unwrap_or_default();
    assert!(guilds.is_empty(), "{guilds:?}");
    gw.heartbeat().await;
    // The way in is OAuth2 authorization by a MANAGE_GUILD user.
    let r = alice
        .post(
            &format!("/oauth2/authorize?client_id={}&scope=bot", bot.id),
            json!({"guild_id": g.id, "permissions": "0", "authorize": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let m = alice
        .get(&format!("/guilds/{}/members/{}", g.id, bot.user_id))
        .await;
    assert_eq!(m.status, 200, "{m:?}");
}

#[derive(serde::Serialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: u64,
    exp: u64,
}

/// A token signed with the server's own key, issued now and valid for `lifetime` seconds.
async fn forge(srv: &TestServer, user: &str, session: &str, lifetime: u64) -> String {
    let secret = srv
        .hearth
        .db
        .secret("jwt_hs256", String::new)
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims {
        sub: user.into(),
        sid: session.into(),
        iat: now,
        exp: now + lifetime,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn access_tokens_longer_lived_than_configured_are_refused() {
    let srv = TestServer::start().await;
    let b = srv.register_full("carol").await;
    let (user, session) = (s(&b["user_id"]), s(&b["session_id"]));
    let ttl = srv.hearth.config.access_token_ttl_seconds;
    // A forgery within the configured lifetime is accepted: the forging is right.
    let ok = forge(&srv, &user, &session, ttl).await;
    assert_eq!(srv.client(&ok).get("/users/@me").await.status, 200);
    // Twenty years, or just over the lifetime and its skew: refused on REST and gateway.
    for lifetime in [20 * 365 * 24 * 3600, ttl + 60] {
        let long = forge(&srv, &user, &session, lifetime).await;
        let r = srv.client(&long).get("/users/@me").await;
        assert_err(&r, 401, 0);
        let mut gw = Gw::connect(&srv, "v=10&encoding=json").await;
        gw.send(json!({"op": 2, "d": {"token": long, "intents": GUILDS,
            "properties": {"os": "linux", "browser": "test", "device": "test"}}}))
            .await;
        assert_eq!(gw.closed().await, Some(4004), "lifetime {lifetime}");
    }
}

#[tokio::test]
async fn admin_cli_password_reset_closes_live_gateway_sessions_within_two_seconds() {
    let srv = TestServer::start().await;
    let (_, dave_tok) = srv.register("dave").await;
    let (_, erin_tok) = srv.register("erin").await;
    let mut dave = Gw::identify(&srv, &dave_tok, GUILDS).await;
    let mut erin = Gw::identify(&srv, &erin_tok, GUILDS).await;
    dave.heartbeat().await;

    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.args([
        "admin",
        "reset-password",
        "dave",
        "--password",
        "a fresh passphrase",
    ])
    .env_remove("HEARTH_CONFIG")
    .env("HEARTH_DATA_DIR", &srv.data_dir)
    .env("HEARTH_LOG", "warn")
    .env("HEARTH_PASSWORD_HASHING__MEMORY_KIB", "8")
    .env("HEARTH_PASSWORD_HASHING__ITERATIONS", "1");
    match srv.backend {
        Backend::Sqlite => cmd.env_remove("HEARTH_DATABASE_URL"),
        Backend::Postgres => cmd.env(
            "HEARTH_DATABASE_URL",
            srv.config.database_url.clone().expect("a PostgreSQL URL"),
        ),
    };
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("run hearth admin");
    let done = Instant::now();
    assert!(
        out.status.success(),
        "hearth admin reset-password: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = tokio::time::timeout(Duration::from_secs(2), dave.closed())
        .await
        .expect("dave's socket closed within 2 s of the command");
    assert_eq!(code, Some(4004));
    assert!(done.elapsed() < Duration::from_secs(2));
    // Only dave's: erin's connection lives on.
    erin.heartbeat().await;
    // The old token is dead, the new password works.
    assert_err(&srv.client(&dave_tok).get("/users/@me").await, 401, 0);
    let r = srv
        .anon()
        .post(
            "/auth/login",
            json!({"login": "dave", "password": "a fresh passphrase"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}
