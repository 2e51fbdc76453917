//! Two-factor authentication (issue 17): TOTP enable/disable, Discord's login ticket flow,
//! replay refusal, single-use backup codes, ticket expiry and forgery, and the guild MFA
//! level (60003). Codes are generated with totp-rs from the secret the client chose.

use serde_json::{Value, json};

use crate::harness::*;

/// A base32 secret of 160 bits (what an authenticator app would be given).
pub(crate) const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The 6-digit code of `secret` at Unix time `t`.
pub(crate) fn code_at(secret: &str, t: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build_noncompliant()
        .generate(t)
        .to_string()
}

/// Enables TOTP for `c` (user `name`) with [`SECRET`]; returns (t0, new token, backup codes).
pub(crate) async fn enable(
    srv: &TestServer,
    name: &str,
    token: &str,
) -> (u64, String, Vec<String>) {
    let t0 = now();
    let r = srv
        .client(token)
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": SECRET, "code": code_at(SECRET, t0), "password": password_of(name)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let codes: Vec<String> = r.body["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["consumed"], json!(false));
            assert!(c["user_id"].is_string());
            s(&c["code"])
        })
        .collect();
    assert_eq!(codes.len(), 10);
    (t0, s(&r.body["token"]), codes)
}

pub(crate) async fn login(srv: &TestServer, name: &str) -> Value {
    let r = srv
        .anon()
        .post(
            "/auth/login",
            json!({"login": name, "password": password_of(name)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// Logs in and answers the MFA ticket (asserting Discord's challenge shape).
pub(crate) async fn ticket(srv: &TestServer, name: &str) -> String {
    let b = login(srv, name).await;
    assert_eq!(b["mfa"], json!(true), "{b}");
    assert_eq!(b["totp"], json!(true));
    assert_eq!(b["backup"], json!(true));
    assert_eq!(b["sms"], json!(false));
    assert!(b["webauthn"].is_null() && b["token"].is_null());
    s(&b["ticket"])
}

#[tokio::test]
async fn totp_enable_login_replay_backup_disable() {
    let srv = TestServer::start().await;
    let (_, tok) = srv.register("mfa_alice").await;
    let me = srv.client(&tok);

    // Wrong password, wrong code, bad secret: refused, nothing enabled.
    let r = me
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": SECRET, "code": code_at(SECRET, now()), "password": "nope-nope-nope"}),
        )
        .await;
    assert_field_error(&r, "password");
    let wrong = format!(
        "{:06}",
        (code_at(SECRET, now()).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let r = me
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": SECRET, "code": wrong, "password": password_of("mfa_alice")}),
        )
        .await;
    assert_err(&r, 400, 60008);
    let r = me
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": "not base32!", "code": "123456", "password": password_of("mfa_alice")}),
        )
        .await;
    assert_err(&r, 400, 60005);
    assert_eq!(me.get("/users/@me").await.body["mfa_enabled"], json!(false));

    // Enable: the user object says so; a second enable is 60001.
    let (t0, tok, backup) = enable(&srv, "mfa_alice", &tok).await;
    let me = srv.client(&tok);
    let own = me.get("/users/@me").await.body;
    assert_eq!(own["mfa_enabled"], json!(true));
    assert_eq!(own["totp_enabled"], json!(true), "{own}");
    let r = me
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": SECRET, "code": code_at(SECRET, t0), "password": password_of("mfa_alice")}),
        )
        .await;
    assert_err(&r, 400, 60001);

    // The enabling code cannot log in again (its step is spent).
    let t = ticket(&srv, "mfa_alice").await;
    let r = srv
        .anon()
        .post(
            "/auth/mfa/totp",
            json!({"code": code_at(SECRET, t0), "ticket": t}),
        )
        .await;
    assert_err(&r, 400, 60008);

    // The next step's code completes the login with a working token pair.
    let next = code_at(SECRET, t0 + 30);
    let r = srv
        .anon()
        .post("/auth/mfa/totp", json!({"code": next, "ticket": t}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["refresh_token"].is_string());
    let fresh = srv.client(&s(&r.body["token"]));
    assert_eq!(fresh.get("/users/@me").await.status, 200);

    // The ticket is single-use; the same code on a new ticket is a replay.
    let r = srv
        .anon()
        .post("/auth/mfa/totp", json!({"code": next, "ticket": t}))
        .await;
    assert_err(&r, 400, 60006);
    let t2 = ticket(&srv, "mfa_alice").await;
    let r = srv
        .anon()
        .post("/auth/mfa/totp", json!({"code": next, "ticket": t2}))
        .await;
    assert_err(&r, 400, 60008);

    // A forged ticket is refused.
    let r = srv
        .anon()
        .post(
            "/auth/mfa/totp",
            json!({"code": next, "ticket": "forged-ticket"}),
        )
        .await;
    assert_err(&r, 400, 60006);

    // A backup code works once (typed with a dash and upper case).
    let typed = format!("{}-{}", &backup[0][..4], &backup[0][4..]).to_uppercase();
    let r = srv
        .anon()
        .post("/auth/mfa/backup", json!({"code": typed, "ticket": t2}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let t3 = ticket(&srv, "mfa_alice").await;
    let r = srv
        .anon()
        .post("/auth/mfa/backup", json!({"code": backup[0], "ticket": t3}))
        .await;
    assert_err(&r, 400, 60008);

    // Regenerating backup codes: the old ones stop working.
    let r = me
        .post(
            "/users/@me/mfa/codes-verification",
            json!({"password": password_of("mfa_alice"), "regenerate": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let new_codes: Vec<String> = r.body["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["code"]))
        .collect();
    assert_eq!(new_codes.len(), 10);
    let r = srv
        .anon()
        .post("/auth/mfa/backup", json!({"code": backup[1], "ticket": t3}))
        .await;
    assert_err(&r, 400, 60008);

    // Disable needs a valid code; then login answers tokens again.
    let r = me
        .post("/users/@me/mfa/totp/disable", json!({"code": "000000"}))
        .await;
    assert_err(&r, 400, 60008);
    let r = me
        .post("/users/@me/mfa/totp/disable", json!({"code": new_codes[0]}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let me = srv.client(&s(&r.body["token"]));
    let own = me.get("/users/@me").await.body;
    assert_eq!(own["mfa_enabled"], json!(false));
    assert_eq!(own["totp_enabled"], json!(false), "{own}");
    let b = login(&srv, "mfa_alice").await;
    assert!(b["token"].is_string() && b.get("ticket").is_none(), "{b}");
    let r = me
        .post("/users/@me/mfa/totp/disable", json!({"code": "123456"}))
        .await;
    assert_err(&r, 400, 60002);
}

#[tokio::test]
async fn expired_ticket_and_failed_codes_kill_the_ticket() {
    // Tickets that expire at once.
    let srv = TestServer::start_with(|c| c.mfa.ticket_ttl_seconds = 0).await;
    let (_, tok) = srv.register("mfa_bob").await;
    let (t0, _, _) = enable(&srv, "mfa_bob", &tok).await;
    let t = ticket(&srv, "mfa_bob").await;
    let r = srv
        .anon()
        .post(
            "/auth/mfa/totp",
            json!({"code": code_at(SECRET, t0 + 30), "ticket": t}),
        )
        .await;
    assert_err(&r, 400, 60006);

    // Default lifetime; five wrong codes delete the ticket, even for a right code after.
    let srv = TestServer::start().await;
    let (_, tok) = srv.register("mfa_carol").await;
    let (t0, _, _) = enable(&srv, "mfa_carol", &tok).await;
    let t = ticket(&srv, "mfa_carol").await;
    let right = code_at(SECRET, t0 + 30);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 7) % 1_000_000);
    for _ in 0..5 {
        let r = srv
            .anon()
            .post("/auth/mfa/totp", json!({"code": wrong, "ticket": t}))
            .await;
        assert_err(&r, 400, 60008);
    }
    let r = srv
        .anon()
        .post("/auth/mfa/totp", json!({"code": right, "ticket": t}))
        .await;
    assert_err(&r, 400, 60006);
}

#[tokio::test]
async fn guild_mfa_level_requires_mfa_for_moderation() {
    let srv = TestServer::start().await;
    let (_, otok) = srv.register("mfa_owner").await;
    let owner = srv.client(&otok);
    let g = hearth_testkit::build::create_guild(&owner, "mfa guild")
        .await
        .unwrap();
    let (mod_id, mtok) = srv.register("mfa_mod").await;
    let (victim_id, vtok) = srv.register("mfa_victim").await;
    hearth_testkit::build::join(&srv.client(&mtok), &g.invite)
        .await
        .unwrap();
    hearth_testkit::build::join(&srv.client(&vtok), &g.invite)
        .await
        .unwrap();
    let gid = &g.id;
    let role = owner
        .post(
            &format!("/guilds/{gid}/roles"),
            json!({"name": "mods", "permissions": (perm::KICK_MEMBERS | perm::MANAGE_ROLES | perm::MANAGE_CHANNELS | hearth::permissions::MUTE_MEMBERS | hearth::permissions::MOVE_MEMBERS | hearth::permissions::CREATE_EVENTS).to_string()}),
        )
        .await;
    assert_eq!(role.status, 200, "{role:?}");
    let rid = s(&role.body["id"]);
    let r = owner
        .put_empty(&format!("/guilds/{gid}/members/{mod_id}/roles/{rid}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    // Only an owner with MFA may raise the level.
    let r = owner
        .post(&format!("/guilds/{gid}/mfa"), json!({"level": 1}))
        .await;
    assert_err(&r, 403, 60003);
    let (_, otok, _) = enable(&srv, "mfa_owner", &otok).await;
    let owner = srv.client(&otok);
    let r = srv
        .client(&mtok)
        .post(&format!("/guilds/{gid}/mfa"), json!({"level": 1}))
        .await;
    assert_err(&r, 403, 50001);
    let r = owner
        .post(&format!("/guilds/{gid}/mfa"), json!({"level": 1}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["level"], json!(1));
    assert_eq!(
        owner.get(&format!("/guilds/{gid}")).await.body["mfa_level"],
        json!(1)
    );

    // The moderator without MFA: kick, role and channel management are 60003.
    let m = srv.client(&mtok);
    let r = m
        .delete(&format!("/guilds/{gid}/members/{victim_id}"))
        .await;
    assert_err(&r, 403, 60003);
    let r = m
        .post(&format!("/guilds/{gid}/roles"), json!({"name": "x"}))
        .await;
    assert_err(&r, 403, 60003);
    let r = m
        .post(
            &format!("/guilds/{gid}/channels"),
            json!({"name": "x", "type": 0}),
        )
        .await;
    assert_err(&r, 403, 60003);
    // A stage event needs MANAGE_CHANNELS (with MUTE_MEMBERS and MOVE_MEMBERS): 60003 too.
    let stage = owner
        .post(
            &format!("/guilds/{gid}/channels"),
            json!({"name": "stage", "type": 13}),
        )
        .await;
    assert_eq!(stage.status, 201, "{stage:?}");
    let in_hours = |h: i64| {
        let now = chrono::Utc::now().timestamp_millis();
        chrono::DateTime::from_timestamp_millis(now + h * 3_600_000)
            .unwrap()
            .to_rfc3339()
    };
    let event = |kind: u8, channel: Option<String>| {
        let external = kind == 3;
        json!({"name": "talk", "privacy_level": 2, "entity_type": kind,
               "channel_id": channel, "scheduled_start_time": in_hours(1),
               "scheduled_end_time": external.then(|| in_hours(2)),
               "entity_metadata": external.then(|| json!({"location": "park"}))})
    };
    let events = format!("/guilds/{gid}/scheduled-events");
    let r = m.post(&events, event(1, Some(s(&stage.body["id"])))).await;
    assert_err(&r, 403, 60003);
    // Ordinary actions are not affected (an external event needs CREATE_EVENTS only).
    let r = m
        .post(
            &format!("/channels/{}/messages", g.general),
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = m.post(&events, event(3, None)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The victim is still a member.
    assert_eq!(
        owner
            .get(&format!("/guilds/{gid}/members/{victim_id}"))
            .await
            .status,
        200
    );

    // With MFA the same moderator may kick.
    let (_, mtok, _) = enable(&srv, "mfa_mod", &mtok).await;
    let r = srv
        .client(&mtok)
        .delete(&format!("/guilds/{gid}/members/{victim_id}"))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}
