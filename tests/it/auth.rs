//! Accounts and sessions: registration rules, login, refresh rotation and reuse detection,
//! logout, session revocation, password change, bot applications and
//! tokens, instance administration, DMs with blocking and DM policy.

use serde_json::json;

use crate::harness::*;

async fn login(c: &Client, login: &str, password: &str) -> Resp {
    c.post("/auth/login", json!({"login": login, "password": password}))
        .await
}

#[tokio::test]
async fn register_validation() {
    let srv = TestServer::start().await;
    let anon = srv.anon();
    let reg = |u: serde_json::Value| {
        let anon = anon.clone();
        async move { anon.post("/auth/register", u).await }
    };
    // (body, field with an error)
    let cases = [
        (
            json!({"username": "a", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "x".repeat(33), "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "bad name", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "bad!", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "ünïcode", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "dash-ed", "password": "long enough"}),
            "username",
        ),
        (json!({"password": "long enough"}), "username"),
        (
            json!({"username": "shorty", "password": "1234567"}),
            "password",
        ),
        (json!({"username": "shorty"}), "password"),
        (
            json!({"username": "same_as_pw", "password": "SAME_AS_PW"}),
            "password",
        ),
        (
            json!({"username": "mailer", "password": "long enough", "email": "nope"}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let r = reg(body.clone()).await;
        assert_field_error(&r, field);
        assert!(r.body.get("token").is_none(), "{body}: {r:?}");
    }
    // Boundaries that are valid: 2 and 32 characters, digits, underscores, periods, 8-char password.
    for name in ["ab", &"y".repeat(32), "with_under.score9"] {
        let r = reg(json!({"username": name, "password": "12345678"})).await;
        assert_eq!(r.status, 201, "{name}: {r:?}");
        assert!(r.body["token"].is_string());
        assert!(r.body["refresh_token"].is_string());
        assert!(r.body["expires_in"].as_u64().unwrap() > 0);
    }
    // Names are stored lower-cased and unique case-insensitively.
    let r = reg(json!({"username": "Carol", "password": "carols password"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let me = srv.client(&s(&r.body["token"])).get("/users/@me").await;
    assert_eq!(me.body["username"], "carol");
    for dup in ["carol", "CAROL", "cArOl"] {
        let r = reg(json!({"username": dup, "password": "another password"})).await;
        assert_field_error(&r, "username");
    }
    // The refused registrations created nothing: none of them can log in.
    for name in ["shorty", "same_as_pw", "mailer"] {
        let r = login(&anon, name, "long enough").await;
        assert_err(&r, 400, 50035);
    }
    // Login is case-insensitive on the name.
    assert_eq!(login(&anon, "CAROL", "carols password").await.status, 200);
}

#[tokio::test]
async fn login_failures_are_indistinguishable() {
    let srv = TestServer::start().await;
    srv.register("alice").await;
    let anon = srv.anon();
    let wrong = login(&anon, "alice", "not the password").await;
    let unknown = login(&anon, "nobody_here", "not the password").await;
    assert_err(&wrong, 400, 50035);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(
        wrong.body, unknown.body,
        "bodies must not reveal which failed"
    );
    assert_eq!(
        wrong.body["errors"]["login"]["_errors"][0]["code"],
        "INVALID_LOGIN"
    );
    let ok = login(&anon, "alice", &password_of("alice")).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body["token"].is_string());
    // Missing fields are a form error, not a 500.
    let r = anon.post("/auth/login", json!({})).await;
    assert_err(&r, 400, 50035);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let srv = TestServer::start().await;
    let first = srv.register_full("alice").await;
    let anon = srv.anon();
    let (t0, r0, sid) = (
        s(&first["token"]),
        s(&first["refresh_token"]),
        s(&first["session_id"]),
    );
    let rot = anon
        .post("/auth/refresh", json!({"refresh_token": r0}))
        .await;
    assert_eq!(rot.status, 200, "{rot:?}");
    let (t1, r1) = (s(&rot.body["token"]), s(&rot.body["refresh_token"]));
    assert_ne!(r1, r0, "refresh token rotates");
    assert_eq!(rot.body["session_id"], sid.as_str(), "same session");
    assert_eq!(srv.client(&t1).get("/users/@me").await.status, 200);

    // A second session of the same user, to observe from.
    let other = login(&anon, "alice", &password_of("alice")).await;
    let other = srv.client(&s(&other.body["token"]));
    let listed = ids(&other.get("/auth/sessions").await.body);
    assert!(listed.contains(&sid));

    // Reusing the rotated token: 401, and the whole session is revoked.
    let reuse = anon
        .post("/auth/refresh", json!({"refresh_token": r0}))
        .await;
    assert_err(&reuse, 401, 0);
    assert_err(&srv.client(&t1).get("/users/@me").await, 401, 0);
    assert_err(&srv.client(&t0).get("/users/@me").await, 401, 0);
    let again = anon
        .post("/auth/refresh", json!({"refresh_token": r1}))
        .await;
    assert_err(&again, 401, 0);
    let listed = ids(&other.get("/auth/sessions").await.body);
    assert!(!listed.contains(&sid), "revoked session still listed");
    // The other session is untouched.
    assert_eq!(other.get("/users/@me").await.status, 200);

    // Garbage and missing tokens.
    let r = anon
        .post("/auth/refresh", json!({"refresh_token": "garbage"}))
        .await;
    assert_err(&r, 401, 0);
    let r = anon.post("/auth/refresh", json!({})).await;
    assert_field_error(&r, "refresh_token");
}

#[tokio::test]
async fn logout_and_session_revocation() {
    let srv = TestServer::start().await;
    let reg = srv.register_full("alice").await;
    let anon = srv.anon();
    let a = srv.client(&s(&reg["token"]));
    let b_pair = login(&anon, "alice", &password_of("alice")).await;
    let b = srv.client(&s(&b_pair.body["token"]));
    let c_pair = login(&anon, "alice", &password_of("alice")).await;
    let c = srv.client(&s(&c_pair.body["token"]));

    // Logout: the token is dead immediately, and so is its refresh token.
    let r = c.post("/auth/logout", json!({})).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(&c.get("/users/@me").await, 401, 0);
    let r = anon
        .post(
            "/auth/refresh",
            json!({"refresh_token": c_pair.body["refresh_token"]}),
        )
        .await;
    assert_err(&r, 401, 0);

    // Listing marks the current session.
    let list = a.get("/auth/sessions").await;
    assert_eq!(list.status, 200);
    let sessions = list.body.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list:?}");
    let current: Vec<_> = sessions.iter().filter(|x| x["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], reg["session_id"]);

    // A revokes B.
    let bsid = s(&b_pair.body["session_id"]);
    let r = a.delete(&format!("/auth/sessions/{bsid}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_err(&b.get("/users/@me").await, 401, 0);
    assert_eq!(a.get("/users/@me").await.status, 200);
    assert_eq!(ids(&a.get("/auth/sessions").await.body).len(), 1);
    // Unknown, or someone else's: 404 Unknown Session.
    assert_err(
        &a.delete(&format!("/auth/sessions/{bsid}")).await,
        404,
        10020,
    );
    let (_, bob) = srv.user("bob").await;
    let asid = s(&reg["session_id"]);
    assert_err(
        &bob.delete(&format!("/auth/sessions/{asid}")).await,
        404,
        10020,
    );
    assert_eq!(a.get("/users/@me").await.status, 200);

    // Malformed credentials.
    for h in ["Bearer nonsense", "Bearer ", "Bot nonsense", "garbage", ""] {
        let r = anon
            .raw(
                reqwest::Method::GET,
                "/users/@me",
                None,
                &[("authorization", h)],
            )
            .await;
        assert_err(&r, 401, 0);
    }
    assert_err(&anon.get("/users/@me").await, 401, 0);
}

#[tokio::test]
async fn password_change_revokes_other_sessions() {
    let srv = TestServer::start().await;
    let (_, a) = srv.user("alice").await;
    let anon = srv.anon();
    let b = login(&anon, "alice", &password_of("alice")).await;
    let b = srv.client(&s(&b.body["token"]));
    let old = password_of("alice");

    // The current password is required and checked.
    let r = a
        .patch("/users/@me", json!({"new_password": "brand new password"}))
        .await;
    assert_field_error(&r, "password");
    let r = a
        .patch(
            "/users/@me",
            json!({"password": "wrong password", "new_password": "brand new password"}),
        )
        .await;
    assert_field_error(&r, "password");
    let r = a
        .patch(
            "/users/@me",
            json!({"password": old, "new_password": "short"}),
        )
        .await;
    assert_field_error(&r, "new_password");
    let r = a
        .patch(
            "/users/@me",
            json!({"password": old, "new_password": "ALICE"}),
        )
        .await;
    assert_field_error(&r, "new_password");
    // Nothing changed so far: B still works, the old password still logs in.
    assert_eq!(b.get("/users/@me").await.status, 200);

    let r = a
        .patch(
            "/users/@me",
            json!({"password": old, "new_password": "brand new password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        a.get("/users/@me").await.status,
        200,
        "current session kept"
    );
    assert_err(&b.get("/users/@me").await, 401, 0);
    assert_err(&login(&anon, "alice", &old).await, 400, 50035);
    assert_eq!(
        login(&anon, "alice", "brand new password").await.status,
        200
    );
}

#[tokio::test]
async fn profile_and_dm_policy_fields() {
    let srv = TestServer::start().await;
    let (id, a) = srv.user("alice").await;
    let r = a
        .patch(
            "/users/@me",
            json!({"global_name": "Alice A.", "bio": "hi", "dm_policy": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["global_name"], "Alice A.");
    assert_eq!(r.body["dm_policy"], 1);
    let me = a.get("/users/@me").await;
    assert_eq!(me.body["global_name"], "Alice A.");
    assert_eq!(me.body["bio"], "hi");
    assert_eq!(me.body["dm_policy"], 1);
    let (_, b) = srv.user("bob").await;
    let pub_view = b.get(&format!("/users/{id}")).await;
    assert_eq!(pub_view.status, 200);
    assert_eq!(pub_view.body["global_name"], "Alice A.");
    assert!(
        pub_view.body.get("dm_policy").is_none(),
        "private field leaked"
    );
    assert!(pub_view.body.get("email").is_none(), "private field leaked");
    let r = a.patch("/users/@me", json!({"dm_policy": 2})).await;
    assert_field_error(&r, "dm_policy");
    let r = a.patch("/users/@me", json!({"global_name": ""})).await;
    assert_field_error(&r, "global_name");
    // Renaming needs the password.
    let r = a.patch("/users/@me", json!({"username": "alicia"})).await;
    assert_field_error(&r, "password");
    // A federating server keeps handles (renames: federation_accounts.rs).
    let r = a
        .patch(
            "/users/@me",
            json!({"username": "alicia", "password": password_of("alice")}),
        )
        .await;
    assert_field_error(&r, "username");
    assert_eq!(a.get("/users/@me").await.body["username"], "alice");
}

/// A profile change reaches the other members of the user's guilds at once: every guild
/// hosted here sends GUILD_MEMBER_UPDATE with the new user object (Discord "Guild Member
/// Update"; what member lists and libraries' `on_user_update` follow), to sessions with
/// GUILD_MEMBERS; a session without the intent gets none, and a change that leaves the
/// profile shown to others alone (the DM policy) announces nothing.
#[tokio::test]
async fn a_profile_change_is_announced_to_the_guilds() {
    use crate::gateway::{GUILD_MEMBERS, GUILD_MESSAGES, GUILDS, Gw};
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let g1 = create_guild(&alice, "One").await;
    let g2 = create_guild(&alice, "Two").await;
    let (_, bob_tok) = srv.register("bob").await;
    let bob = srv.client(&bob_tok);
    join(&bob, &g1.invite).await;
    join(&bob, &g2.invite).await;
    let mut with = Gw::identify(&srv, &bob_tok, GUILDS | GUILD_MEMBERS | GUILD_MESSAGES).await;
    let mut without = Gw::identify(&srv, &bob_tok, GUILDS | GUILD_MESSAGES).await;
    let r = alice.patch("/users/@me", json!({"dm_policy": 1})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = alice
        .patch("/users/@me", json!({"global_name": "Alice A."}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut guilds = vec![];
    for _ in 0..2 {
        let u = with.expect("GUILD_MEMBER_UPDATE").await;
        assert_eq!(u["user"]["id"], alice_id.as_str(), "{u}");
        // The DM policy change before it announced nothing: the first update already
        // carries the new name.
        assert_eq!(u["user"]["global_name"], "Alice A.", "{u}");
        guilds.push(s(&u["guild_id"]));
    }
    guilds.sort();
    let mut want = vec![g1.id.clone(), g2.id.clone()];
    want.sort();
    assert_eq!(guilds, want);
    // A message sent after both updates reached the other session comes after them in
    // the guild's order: the session without the intent got none before it.
    say(&alice, &g1.general, "after the rename").await;
    without.expect("MESSAGE_CREATE").await;
    assert!(
        !without
            .pending
            .iter()
            .any(|v| v["t"] == "GUILD_MEMBER_UPDATE"),
        "{:?}",
        without.pending
    );
    // Nor did the session with the intent get a third update before that message.
    with.expect("MESSAGE_CREATE").await;
    assert!(
        !with.pending.iter().any(|v| v["t"] == "GUILD_MEMBER_UPDATE"),
        "{:?}",
        with.pending
    );
}

#[tokio::test]
async fn bot_applications_tokens_and_authorize() {
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let (bob_id, bob) = srv.user("bob").await;
    let g = create_guild(&alice, "botland").await;
    join(&bob, &g.invite).await;

    let app = alice
        .post(
            "/applications",
            json!({"name": "Helper Bot", "description": "helps"}),
        )
        .await;
    assert_eq!(app.status, 201, "{app:?}");
    let app_id = s(&app.body["id"]);
    let token = s(&app.body["token"]);
    assert_eq!(app.body["bot"]["bot"], true);
    assert_eq!(app.body["owner"]["id"], alice_id.as_str());
    let bot_id = s(&app.body["bot"]["id"]);
    let listed = alice.get("/applications").await;
    assert_eq!(ids(&listed.body), vec![app_id.clone()]);
    assert!(
        listed.body[0].get("token").is_none(),
        "token shown only once"
    );

    // The bot token authenticates as the bot.
    let bot = srv.bot(&token);
    let me = bot.get("/users/@me").await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["bot"], true);
    assert_eq!(me.body["id"], bot_id.as_str());
    let cur = bot.get("/oauth2/applications/@me").await;
    assert_eq!(cur.status, 200, "{cur:?}");
    assert_eq!(cur.body["id"], app_id.as_str());
    assert_eq!(cur.body["owner"]["id"], alice_id.as_str());
    assert!(cur.body["verify_key"].is_string());
    assert_err(&alice.get("/oauth2/applications/@me").await, 403, 20002);
    assert_err(
        &bot.post("/applications", json!({"name": "nested"})).await,
        403,
        20001,
    );
    // A bot token is not a bearer token.
    assert_err(&srv.client(&token).get("/users/@me").await, 401, 0);

    // Not in the guild yet.
    assert_err(&bot.get(&format!("/guilds/{}", g.id)).await, 403, 50001);
    let auth_path = format!("/oauth2/authorize?client_id={app_id}&scope=bot");
    let grant = (perm::VIEW_CHANNEL | perm::SEND_MESSAGES).to_string();
    // Bob lacks MANAGE_GUILD.
    let r = bob
        .post(
            &auth_path,
            json!({"guild_id": g.id, "permissions": grant, "authorize": true}),
        )
        .await;
    assert_err(&r, 403, 50013);
    assert_err(
        &alice
            .get(&format!("/guilds/{}/members/{bot_id}", g.id))
            .await,
        404,
        10007,
    );
    let r = alice
        .post(
            &auth_path,
            json!({"guild_id": g.id, "permissions": grant, "authorize": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let member = alice
        .get(&format!("/guilds/{}/members/{bot_id}", g.id))
        .await;
    assert_eq!(member.status, 200, "{member:?}");
    assert_eq!(member.body["user"]["bot"], true);
    let bot_roles = member.body["roles"].as_array().unwrap().clone();
    assert_eq!(bot_roles.len(), 1);
    let roles = alice.get(&format!("/guilds/{}/roles", g.id)).await;
    let managed = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == bot_roles[0])
        .unwrap()
        .clone();
    assert_eq!(managed["managed"], true);
    assert_eq!(managed["tags"]["bot_id"], bot_id.as_str());
    assert_eq!(s(&managed["permissions"]), grant);
    // The bot can now talk in the guild.
    let m = bot
        .post(
            &format!("/channels/{}/messages", g.general),
            json!({"content": "beep"}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    assert_eq!(m.body["author"]["bot"], true);
    // A managed role cannot be handed out or deleted.
    let r = alice
        .put_empty(&format!(
            "/guilds/{}/members/{bob_id}/roles/{}",
            g.id,
            s(&bot_roles[0])
        ))
        .await;
    assert_err(&r, 400, 50028);
    let r = alice
        .delete(&format!("/guilds/{}/roles/{}", g.id, s(&bot_roles[0])))
        .await;
    assert_err(&r, 400, 50028);
    // The audit log records the bot addition.
    let log = alice
        .get(&format!("/guilds/{}/audit-logs?action_type=28", g.id))
        .await;
    assert_eq!(
        log.body["audit_log_entries"][0]["target_id"],
        bot_id.as_str()
    );

    // Resetting the token: the old one stops working, the new one works.
    assert_err(
        &bob.post(&format!("/applications/{app_id}/bot/reset"), json!({}))
            .await,
        404,
        10002,
    );
    let reset = alice
        .post(&format!("/applications/{app_id}/bot/reset"), json!({}))
        .await;
    assert_eq!(reset.status, 200, "{reset:?}");
    let new_token = s(&reset.body["token"]);
    assert_ne!(new_token, token);
    assert_err(&bot.get("/users/@me").await, 401, 0);
    let me = srv.bot(&new_token).get("/users/@me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], bot_id.as_str());
}

#[tokio::test]
async fn first_user_is_not_admin_setup_token_makes_one_once_and_admin_can_suspend() {
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let (bob_id, bob) = srv.user("bob").await;
    // Registering first makes no administrator (issue 19: a safe first start).
    assert_err(&alice.get("/admin/users").await, 403, 50013);
    let token = srv
        .hearth
        .setup_token_if_no_admin()
        .await
        .unwrap()
        .expect("no admin yet: a setup token");
    // A wrong or missing token is a form error on `token`.
    for body in [json!({"token": "not-the-token"}), json!({})] {
        let r = bob.post("/admin/setup", body).await;
        assert_field_error(&r, "token");
    }
    assert_err(
        &srv.anon()
            .post("/admin/setup", json!({ "token": token }))
            .await,
        401,
        0,
    );
    assert_eq!(
        alice
            .post("/admin/setup", json!({ "token": token }))
            .await
            .status,
        204
    );
    // Single use: refused the second time, for anyone.
    assert_field_error(
        &bob.post("/admin/setup", json!({ "token": token })).await,
        "token",
    );
    // With an administrator, no new token is made.
    assert_eq!(srv.hearth.setup_token_if_no_admin().await.unwrap(), None);
    let users = alice.get("/admin/users").await;
    assert_eq!(users.status, 200, "{users:?}");
    let list = users.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let admin_of = |id: &str| {
        list.iter().find(|u| u["id"] == id).unwrap()["admin"]
            .as_bool()
            .unwrap()
    };
    assert!(admin_of(&alice_id), "alice claimed the setup token");
    assert!(!admin_of(&bob_id));
    assert_err(&bob.get("/admin/users").await, 403, 50013);
    assert_err(
        &bob.patch(
            &format!("/admin/users/{alice_id}"),
            json!({"suspended": true}),
        )
        .await,
        403,
        50013,
    );
    // Admins cannot suspend themselves.
    let r = alice
        .patch(
            &format!("/admin/users/{alice_id}"),
            json!({"suspended": true}),
        )
        .await;
    assert_err(&r, 400, 50035);

    let r = alice
        .patch(
            &format!("/admin/users/{bob_id}"),
            json!({"suspended": true}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = bob.get("/users/@me").await;
    assert!(
        r.status == 401 || (r.status == 403 && r.code() == 40002),
        "suspended user's token still works: {r:?}"
    );
    let r = login(&srv.anon(), "bob", &password_of("bob")).await;
    assert_err(&r, 403, 40002);
    let users = alice.get("/admin/users").await;
    let b = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == bob_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(b["suspended"], true);
    // Lifting the suspension lets them log in again.
    let r = alice
        .patch(
            &format!("/admin/users/{bob_id}"),
            json!({"suspended": false}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        login(&srv.anon(), "bob", &password_of("bob")).await.status,
        200
    );
    // Suspension closed bob's old sessions for good.
    assert_err(&bob.get("/users/@me").await, 401, 0);
    let r = alice
        .patch("/admin/users/123456789", json!({"suspended": true}))
        .await;
    assert_err(&r, 404, 10013);
}

/// A closed server's first account: registration with the setup token is accepted whatever
/// the policy, makes an administrator, and spends the token; without it, closed.
#[tokio::test]
async fn registration_with_the_setup_token_makes_the_first_admin_on_a_closed_server() {
    let srv =
        TestServer::start_with(|c| c.registration = hearth::config::RegistrationPolicy::Closed)
            .await;
    let token = srv.hearth.setup_token_if_no_admin().await.unwrap().unwrap();
    let body = |name: &str, t: &str| json!({"username": name, "password": password_of(name), "setup_token": t});
    let r = srv
        .anon()
        .post("/auth/register", body("mallory", "wrong"))
        .await;
    assert_field_error(&r, "setup_token");
    let r = srv
        .anon()
        .post(
            "/auth/register",
            json!({"username": "plain", "password": password_of("plain")}),
        )
        .await;
    assert_err(&r, 403, 50001);
    let r = srv
        .anon()
        .post("/auth/register", body("root", &token))
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let root = srv.client(&s(&r.body["token"]));
    assert_eq!(root.get("/admin/users").await.status, 200);
    // Spent: a second registration with it makes nothing.
    let r = srv
        .anon()
        .post("/auth/register", body("second", &token))
        .await;
    assert_field_error(&r, "setup_token");
    assert!(
        srv.hearth
            .db
            .user_by_login("second")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        srv.hearth
            .db
            .user_by_login("mallory")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn direct_messages_blocking_and_dm_policy() {
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let (bob_id, bob) = srv.user("bob").await;
    let (_, carol) = srv.user("carol").await;

    // Open a DM (idempotent), talk in it.
    let dm = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    assert_eq!(dm.status, 200, "{dm:?}");
    assert_eq!(dm.body["type"], 1);
    assert_eq!(ids(&dm.body["recipients"]), vec![bob_id.clone()]);
    let dm_id = s(&dm.body["id"]);
    let again = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    assert_eq!(again.body["id"], dm_id.as_str());
    let from_bob = bob
        .post("/users/@me/channels", json!({"recipient_id": alice_id}))
        .await;
    assert_eq!(from_bob.body["id"], dm_id.as_str(), "one DM per pair");
    let m = alice
        .post(
            &format!("/channels/{dm_id}/messages"),
            json!({"content": "psst"}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    assert!(
        m.body.get("guild_id").is_none(),
        "DM message has no guild_id"
    );
    let hist = bob.get(&format!("/channels/{dm_id}/messages")).await;
    assert_eq!(hist.body[0]["content"], "psst");
    let bobs = bob.get("/users/@me/channels").await;
    assert_eq!(ids(&bobs.body), vec![dm_id.clone()]);
    assert_eq!(ids(&bobs.body[0]["recipients"]), vec![alice_id.clone()]);
    // A third party sees nothing.
    assert_err(
        &carol.get(&format!("/channels/{dm_id}/messages")).await,
        403,
        50001,
    );
    // Self and unknown recipients.
    assert_err(
        &alice
            .post("/users/@me/channels", json!({"recipient_id": alice_id}))
            .await,
        400,
        50033,
    );
    assert_err(
        &alice
            .post("/users/@me/channels", json!({"recipient_id": "42"}))
            .await,
        404,
        10013,
    );

    // Bob blocks alice: no DM in either direction.
    let r = bob
        .put(
            &format!("/users/@me/relationships/{alice_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let rels = bob.get("/users/@me/relationships").await;
    assert_eq!(rels.body[0]["id"], alice_id.as_str());
    assert_eq!(rels.body[0]["type"], 2);
    let r = alice
        .post(
            &format!("/channels/{dm_id}/messages"),
            json!({"content": "hello?"}),
        )
        .await;
    assert_err(&r, 403, 50007);
    let r = bob
        .post(
            &format!("/channels/{dm_id}/messages"),
            json!({"content": "go away"}),
        )
        .await;
    assert_err(&r, 403, 50007);
    assert_err(
        &alice
            .post("/users/@me/channels", json!({"recipient_id": bob_id}))
            .await,
        403,
        50007,
    );
    assert_eq!(
        ids(&bob.get(&format!("/channels/{dm_id}/messages")).await.body).len(),
        1
    );
    // Unblocking restores it.
    let r = bob
        .delete(&format!("/users/@me/relationships/{alice_id}"))
        .await;
    assert_eq!(r.status, 204);
    let r = alice
        .post(
            &format!("/channels/{dm_id}/messages"),
            json!({"content": "friends again"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // dm_policy 1: only users sharing a guild may open a DM.
    let carol_id = s(&carol.get("/users/@me").await.body["id"]);
    let r = carol.patch("/users/@me", json!({"dm_policy": 1})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = alice
        .post("/users/@me/channels", json!({"recipient_id": carol_id}))
        .await;
    assert_err(&r, 403, 50007);
    let g = create_guild(&carol, "carols place").await;
    join(&alice, &g.invite).await;
    let r = alice
        .post("/users/@me/channels", json!({"recipient_id": carol_id}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let dm2 = s(&r.body["id"]);
    say(&alice, &dm2, "now we share a guild").await;
    // Leaving the shared guild closes the door again.
    let r = alice.delete(&format!("/users/@me/guilds/{}", g.id)).await;
    assert_eq!(r.status, 204);
    let r = alice
        .post(
            &format!("/channels/{dm2}/messages"),
            json!({"content": "still there?"}),
        )
        .await;
    assert_err(&r, 403, 50007);
}

/// READY lists the user's DM channels and blocks ("Topics > Gateway Events > Ready":
/// `private_channels`, `relationships`), so a client shows its DMs and hides blocked users'
/// messages from the first frame on: each DM with `recipients` (the other user) and
/// `last_message_id`, each block as `{id, type: 2, user}`; a user without either gets `[]`.
/// Blocks made and lifted later reach the user's other sessions as RELATIONSHIP_ADD and
/// RELATIONSHIP_REMOVE (no one else's).
#[tokio::test]
async fn ready_lists_private_channels_and_relationships() {
    use crate::gateway::{GUILDS, Gw};
    let srv = TestServer::start().await;
    let (alice_id, alice) = srv.user("alice").await;
    let (bob_id, bob_tok) = srv.register("bob").await;
    let bob = srv.client(&bob_tok);
    let (carol_id, carol_tok) = srv.register("carol").await;
    let carol = srv.client(&carol_tok);
    let dm = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    assert_eq!(dm.status, 200, "{dm:?}");
    let dm_id = s(&dm.body["id"]);
    let last = say(&alice, &dm_id, "hi bob").await;
    let r = bob
        .put(
            &format!("/users/@me/relationships/{carol_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    let g = Gw::identify(&srv, &bob_tok, GUILDS).await;
    let pcs = &g.ready["private_channels"];
    assert_eq!(ids(pcs), vec![dm_id.clone()], "{pcs}");
    assert_eq!(pcs[0]["type"], 1);
    assert_eq!(pcs[0]["last_message_id"], last.as_str());
    assert_eq!(ids(&pcs[0]["recipients"]), vec![alice_id.clone()]);
    let rels = &g.ready["relationships"];
    assert_eq!(ids(rels), vec![carol_id.clone()], "{rels}");
    assert_eq!(rels[0]["type"], 2);
    assert_eq!(rels[0]["user"]["id"], carol_id.as_str());

    // Carol has no DM and blocked nobody; unblocking empties bob's list, and bob's open
    // session (any intents) hears of blocks and unblocks, carol's does not.
    let mut c = Gw::identify(&srv, &carol_tok, GUILDS).await;
    assert_eq!(c.ready["private_channels"], json!([]));
    assert_eq!(c.ready["relationships"], json!([]));
    let mut live = Gw::identify(&srv, &bob_tok, 0).await;
    let r = bob
        .put(
            &format!("/users/@me/relationships/{alice_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let add = live.expect("RELATIONSHIP_ADD").await;
    assert_eq!(add["id"], alice_id.as_str(), "{add}");
    assert_eq!(add["type"], 2);
    assert_eq!(add["user"]["id"], alice_id.as_str());
    for target in [&carol_id, &alice_id] {
        let r = bob
            .delete(&format!("/users/@me/relationships/{target}"))
            .await;
        assert_eq!(r.status, 204);
        let gone = live.expect("RELATIONSHIP_REMOVE").await;
        assert_eq!(gone, json!({"id": target, "type": 2}));
    }
    // Lifting a block that does not exist says nothing: the next event is the next block.
    let r = bob
        .delete(&format!("/users/@me/relationships/{alice_id}"))
        .await;
    assert_eq!(r.status, 204);
    let g = Gw::identify(&srv, &bob_tok, GUILDS).await;
    assert_eq!(g.ready["relationships"], json!([]));
    assert_eq!(ids(&g.ready["private_channels"]), vec![dm_id]);
    let r = carol
        .put(
            &format!("/users/@me/relationships/{bob_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // Carol hears of her own block only (none of bob's came before it).
    let add = c
        .expect_without("RELATIONSHIP_ADD", "RELATIONSHIP_REMOVE")
        .await;
    assert_eq!(add["id"], bob_id.as_str(), "{add}");
    let r = bob
        .put(
            &format!("/users/@me/relationships/{carol_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let add = live
        .expect_without("RELATIONSHIP_ADD", "RELATIONSHIP_REMOVE")
        .await;
    assert_eq!(add["id"], carol_id.as_str(), "{add}");
}
