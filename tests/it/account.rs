//! Account security (issue 17, "Recovery and email" and "User data"): the login backoff
//! (per (account, address), per address, per account), re-authentication for sensitive
//! actions, password reset and email verification by real mail, the security log, the data
//! export and account deletion.

use hearth_testkit::smtp::MailSink;
use serde_json::json;

use crate::gateway::{GUILDS, Gw};
use crate::harness::*;

async fn login(c: &Client, login: &str, password: &str) -> Resp {
    c.post("/auth/login", json!({"login": login, "password": password}))
        .await
}

/// The first wait of the watched backoff, seconds (long enough that an immediate retry on a
/// busy machine still falls inside it).
const BASE: f64 = 0.5;

/// Backoff settings small enough to watch: 3 free failures per pair, the first wait `base`
/// seconds (at most 8 times that).
fn watchable(c: &mut hearth::Config, free_per_account: u32, base: f64) {
    c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    c.rate_limits.login_backoff = hearth::config::LoginBackoff {
        free_per_pair: 3,
        free_per_address: 100,
        free_per_account,
        base_seconds: base,
        max_seconds: base * 8.0,
        forget_seconds: 3600.0,
    };
}

fn retry_after(r: &Resp) -> f64 {
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some(), "{r:?}");
    assert_eq!(r.body["global"], json!(false));
    r.body["retry_after"].as_f64().unwrap()
}

/// Guesses once the backoff lets the address try again (polling, refused tries are free);
/// returns the answer to the guess.
async fn guess_when_allowed(c: &Client, account: &str, pw: &str) -> Resp {
    eventually("the backoff lets the next guess through", async || {
        let r = login(c, account, pw).await;
        (r.status != 429).then_some(r)
    })
    .await
}

#[tokio::test]
async fn brute_force_slows_down_but_the_owner_still_logs_in() {
    let srv = TestServer::start_with(|c| watchable(c, 1000, BASE)).await;
    srv.register("alice").await;
    srv.register("bob").await;
    let from = |ip: &str| srv.anon().with_header("x-forwarded-for", ip);
    let attacker = from("203.0.113.7");
    for i in 0..3 {
        assert_err(
            &login(&attacker, "alice", &format!("guess {i}")).await,
            400,
            50035,
        );
    }
    // The fourth guess waits the base delay; so does the right password from that address.
    let w1 = retry_after(&login(&attacker, "alice", "guess 3").await);
    assert!(w1 > 0.0 && w1 <= BASE, "{w1}");
    retry_after(&login(&attacker, "alice", &password_of("alice")).await);
    // Each further failure doubles the wait (up to max_seconds).
    let mut last = BASE;
    for i in 4..7 {
        assert_err(
            &guess_when_allowed(&attacker, "alice", &format!("guess {i}")).await,
            400,
            50035,
        );
        let w = retry_after(&login(&attacker, "alice", "again").await);
        assert!(
            w > last * 0.9 && w <= (last * 2.0f64).min(BASE * 8.0),
            "{w} after {last}"
        );
        last = (last * 2.0f64).min(BASE * 8.0);
    }
    // The owner from another address is not held back, typos included ...
    let home = from("198.51.100.20");
    assert_err(&login(&home, "alice", "typo").await, 400, 50035);
    assert_eq!(
        login(&home, "alice", &password_of("alice")).await.status,
        200
    );
    // ... nor is another account from the attacker's address.
    assert_eq!(
        login(&attacker, "bob", &password_of("bob")).await.status,
        200
    );
    // An untrusted chain entry cannot spoof: the right-most untrusted address is used.
    let spoof = srv
        .anon()
        .with_header("x-forwarded-for", "198.51.100.99, 203.0.113.7");
    retry_after(&login(&spoof, "alice", &password_of("alice")).await);
}

#[tokio::test]
async fn unknown_and_known_accounts_answer_alike() {
    let srv = TestServer::start_with(|c| watchable(c, 3, 60.0)).await;
    srv.register("alice").await;
    let from = |ip: &str| srv.anon().with_header("x-forwarded-for", ip);
    // The same run against an account that exists and one that does not.
    let mut runs = Vec::new();
    for (who, ip) in [("alice", "203.0.113.1"), ("nobody_here", "203.0.113.2")] {
        let c = from(ip);
        let mut run = Vec::new();
        for i in 0..5 {
            let r = login(&c, who, &format!("guess {i}")).await;
            let wait = r.body["retry_after"].as_f64().map(|w| w.ceil());
            run.push((
                r.status,
                r.body["code"].clone(),
                r.body["errors"].clone(),
                wait,
            ));
        }
        runs.push(run);
    }
    assert_eq!(runs[0], runs[1]);
    assert_eq!(
        runs[0].iter().filter(|r| r.0 == 429).count(),
        2,
        "{:?}",
        runs[0]
    );
    // The account key (3 failures from any address) now holds fresh addresses alike ...
    for who in ["alice", "nobody_here"] {
        let r = login(&from("192.0.2.50"), who, "guess").await;
        retry_after(&r);
    }
    // ... but never an address the account logged in from before (alice registered from
    // 127.0.0.1, the proxy's own address).
    assert_eq!(
        login(&srv.anon(), "alice", &password_of("alice"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn failed_second_factors_count_as_failed_logins() {
    let srv = TestServer::start_with(|c| watchable(c, 1000, BASE)).await;
    let (_, tok) = srv.register("mfa_carol").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let code = |t: u64| {
        let bytes = totp_rs::Secret::try_from_base32(secret)
            .unwrap()
            .as_bytes()
            .to_vec();
        totp_rs::Builder::new()
            .with_secret(bytes)
            .build_noncompliant()
            .generate(t)
            .to_string()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = srv
        .client(&tok)
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": secret, "code": code(now), "password": password_of("mfa_carol")}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let right: u32 = code(now).parse().unwrap();
    let wrong = format!("{:06}", (right + 500_000) % 1_000_000);
    let thief = srv.anon().with_header("x-forwarded-for", "203.0.113.9");
    let r = login(&thief, "mfa_carol", &password_of("mfa_carol")).await;
    let ticket = s(&r.body["ticket"]);
    for _ in 0..3 {
        let r = thief
            .post("/auth/mfa/totp", json!({"code": wrong, "ticket": ticket}))
            .await;
        assert_err(&r, 400, 60008);
    }
    // The fourth code waits, and so does the password step from that address.
    retry_after(
        &thief
            .post("/auth/mfa/totp", json!({"code": wrong, "ticket": ticket}))
            .await,
    );
    retry_after(&login(&thief, "mfa_carol", &password_of("mfa_carol")).await);
    // Carol elsewhere is not held back.
    let home = srv.anon().with_header("x-forwarded-for", "198.51.100.3");
    let r = login(&home, "mfa_carol", &password_of("mfa_carol")).await;
    assert_eq!(r.body["mfa"], json!(true), "{r:?}");
}

/// A base32 TOTP secret of 160 bits.
const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The 6-digit code of [`SECRET`] at Unix time `t`.
fn totp_at(t: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(SECRET)
        .unwrap()
        .as_bytes()
        .to_vec();
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build_noncompliant()
        .generate(t)
        .to_string()
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_proof() {
    let srv = TestServer::start_with(|c| c.account.reauth_window_seconds = 3).await;
    let (_, tok) = srv.register("alice").await;
    let alice = srv.client(&tok);
    let (bob_id, bob) = srv.user("bob").await;
    let (carol_id, _) = srv.user("carol").await;
    let g = create_guild(&alice, "keep").await;
    join(&bob, &g.invite).await;
    let app = alice.post("/applications", json!({"name": "Helper"})).await;
    assert_eq!(app.status, 201, "{app:?}");
    let app_id = s(&app.body["id"]);
    let reset = format!("/applications/{app_id}/bot/reset");
    let guild = format!("/guilds/{}", g.id);

    // Registering proved the password: while that is recent, an ownership transfer gets as
    // far as checking the new owner (carol is no member) ...
    let r = alice.patch(&guild, json!({"owner_id": carol_id})).await;
    assert_field_error(&r, "owner_id");
    // ... and once the window has passed it is refused in Discord's shape.
    let r = eventually("the registration's proof expires", async || {
        let r = alice.patch(&guild, json!({"owner_id": carol_id})).await;
        (r.status == 401).then_some(r)
    })
    .await;
    assert_eq!(r.body["code"], 60003, "{r:?}");
    assert_eq!(r.body["mfa"]["methods"], json!([{"type": "password"}]));
    assert_err(&alice.post(&reset, json!({})).await, 401, 60003);

    // Email changes need the current password, which is also the proof.
    let r = alice
        .patch("/users/@me", json!({"email": "a@example.org"}))
        .await;
    assert_field_error(&r, "password");
    let r = alice
        .patch(
            "/users/@me",
            json!({"email": "a@example.org", "password": "nope nope"}),
        )
        .await;
    assert_field_error(&r, "password");
    let r = alice
        .patch(
            "/users/@me",
            json!({"email": "a@example.org", "password": password_of("alice")}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["email"], "a@example.org");
    assert_eq!(r.body["verified"], false);

    // POST /mfa/finish: a wrong password or type is refused, the right one opens the window.
    eventually("the email change's proof expires", async || {
        alice.post(&reset, json!({})).await.status == 401
    })
    .await;
    let r = alice
        .post(
            "/mfa/finish",
            json!({"mfa_type": "password", "data": "wrong one"}),
        )
        .await;
    assert_field_error(&r, "data");
    let r = alice
        .post("/mfa/finish", json!({"mfa_type": "sms", "data": "123456"}))
        .await;
    assert_field_error(&r, "mfa_type");
    let r = alice
        .post(
            "/mfa/finish",
            json!({"ticket": null, "mfa_type": "password", "data": password_of("alice")}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["token"].is_string());
    assert_eq!(alice.post(&reset, json!({})).await.status, 200);
    let r = alice.patch(&guild, json!({"owner_id": bob_id})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["owner_id"], bob_id.as_str());

    // With TOTP on, the 401 offers it and a code is a proof.
    let r = bob
        .post(
            "/users/@me/mfa/totp/enable",
            json!({"secret": SECRET, "code": totp_at(unix_now()), "password": password_of("bob")}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let bob = srv.client(&s(&r.body["token"]));
    let r = eventually("bob's proof expires", async || {
        let r = bob.patch(&guild, json!({"owner_id": carol_id})).await;
        (r.status == 401).then_some(r)
    })
    .await;
    assert_eq!(
        r.body["mfa"]["methods"],
        json!([{"type": "password"}, {"type": "totp", "backup_codes_allowed": true}])
    );
    // (The next step's code: enabling spent the current one.)
    let r = bob
        .post(
            "/mfa/finish",
            json!({"mfa_type": "totp", "data": totp_at(unix_now() + 30)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_field_error(
        &bob.patch(&guild, json!({"owner_id": carol_id})).await,
        "owner_id",
    );

    // The security log recorded the changes, newest first.
    let kinds = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| s(&e["kind"]))
            .collect()
    };
    let r = bob.get("/users/@me/security-log").await;
    assert_eq!(kinds(&r), ["mfa_enabled", "login"], "{r:?}");
    let r = alice.get("/users/@me/security-log?limit=1").await;
    assert_eq!(kinds(&r), ["email_changed"], "{r:?}");
    assert_eq!(r.body[0]["detail"]["email"], "a@example.org");
    assert!(r.body[0]["detail"]["session_id"].is_string());
    assert_eq!(alice.post("/auth/logout", json!({})).await.status, 204);
    let r = login(&srv.anon(), "alice", &password_of("alice")).await;
    let r = srv
        .client(&s(&r.body["token"]))
        .get("/users/@me/security-log")
        .await;
    assert_eq!(
        kinds(&r)[..3],
        ["login", "sessions_revoked", "email_changed"],
        "{r:?}"
    );
    assert_eq!(r.body[1]["detail"]["reason"], "logout");
}

/// A server that mails through `sink` (plain SMTP on loopback).
async fn with_mail(sink: &MailSink, f: impl FnOnce(&mut hearth::Config)) -> TestServer {
    let port = sink.port;
    TestServer::start_with(move |c| {
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = port;
        c.mail.tls = hearth::config::MailTls::None;
        c.mail.from = Some("Hearth <noreply@hearth.test>".into());
        f(c);
    })
    .await
}

/// Registers `name` with `email`; returns the access token.
async fn register_with_email(srv: &TestServer, name: &str, email: &str) -> String {
    let r = srv
        .anon()
        .post(
            "/auth/register",
            json!({"username": name, "password": password_of(name), "email": email}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    s(&r.body["token"])
}

#[tokio::test]
async fn email_verification_and_password_reset_by_real_mail() {
    let sink = MailSink::start();
    let srv = with_mail(&sink, |_| {}).await;
    let tok = register_with_email(&srv, "alice", "alice@example.org").await;
    let alice = srv.client(&tok);
    let mut gw = Gw::identify(&srv, &tok, GUILDS).await;

    // Registering mails a verification link; the token verifies once.
    let mail = sink.wait_for("alice@example.org", 1).await.remove(0);
    assert!(
        mail.header("subject").unwrap().contains("Verify"),
        "{mail:?}"
    );
    assert!(mail.header("from").unwrap().contains("noreply@hearth.test"));
    let verify = mail.token().expect("token line");
    assert_eq!(alice.get("/users/@me").await.body["verified"], false);
    let r = srv
        .anon()
        .post("/auth/verify", json!({"token": verify}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(alice.get("/users/@me").await.body["verified"], true);
    assert_err(
        &srv.anon()
            .post("/auth/verify", json!({"token": verify}))
            .await,
        400,
        50014,
    );

    // Forgot: 204 for an unknown login and a known one alike; only the account gets mail.
    for login in ["nobody_at_all", "alice"] {
        let r = srv
            .anon()
            .post("/auth/forgot", json!({"login": login}))
            .await;
        assert_eq!(r.status, 204, "{r:?}");
    }
    let mail = sink.wait_for("alice@example.org", 2).await.remove(1);
    assert!(
        mail.header("subject").unwrap().contains("Reset"),
        "{mail:?}"
    );
    let token = mail.token().expect("token line");
    assert_eq!(sink.received().len(), 2, "no mail for the unknown login");

    // A refused password keeps the token; the reset ends every session (4004 on the gateway).
    let r = srv
        .anon()
        .post("/auth/reset", json!({"token": token, "password": "short"}))
        .await;
    assert_field_error(&r, "password");
    let r = srv
        .anon()
        .post(
            "/auth/reset",
            json!({"token": token, "password": "a brand new password"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(gw.closed().await, Some(4004));
    assert_err(&alice.get("/users/@me").await, 401, 0);
    // Used twice: refused.
    let r = srv
        .anon()
        .post(
            "/auth/reset",
            json!({"token": token, "password": "another new password"}),
        )
        .await;
    assert_err(&r, 400, 50014);
    assert_err(
        &login(&srv.anon(), "alice", &password_of("alice")).await,
        400,
        50035,
    );
    let browser = srv.anon().with_header("user-agent", "Mozilla/5.0 (test)");
    let r = login(&browser, "alice", "a brand new password").await;
    assert_eq!(r.status, 200, "{r:?}");
    let alice = srv.client(&s(&r.body["token"]));

    // Notices: the reset, then the login (all sessions were gone, so its address is new).
    let mails = sink.wait_for("alice@example.org", 4).await;
    let subject = |m: &hearth_testkit::smtp::Received| m.header("subject").unwrap();
    assert!(
        mails[2..]
            .iter()
            .any(|m| subject(m).contains("password was reset")),
        "{mails:?}"
    );
    let new_login = mails[2..]
        .iter()
        .find(|m| subject(m).contains("New login"))
        .unwrap();
    assert!(new_login.raw.contains("127.0.0.1"), "{new_login:?}");

    // The security log has it all, newest first, with the login's address and client.
    let r = alice.get("/users/@me/security-log").await;
    assert_eq!(r.status, 200, "{r:?}");
    let kinds: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["login", "password_reset", "email_verified", "login"],
        "{}",
        r.body
    );
    let login_entry = &r.body[0];
    assert_eq!(login_entry["ip"], "127.0.0.1");
    assert_eq!(login_entry["user_agent"], "Mozilla/5.0 (test)");
    assert_eq!(login_entry["detail"]["new_address"], true);
    assert_eq!(login_entry["detail"]["method"], "password");
    assert_eq!(r.body[3]["detail"]["method"], "register");
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    let sink = MailSink::start();
    let srv = with_mail(&sink, |c| c.account.reset_token_ttl_seconds = 0).await;
    register_with_email(&srv, "alice", "alice@example.org").await;
    sink.wait_for("alice@example.org", 1).await;
    let r = srv
        .anon()
        .post("/auth/forgot", json!({"login": "ALICE"}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let token = sink.wait_for("alice@example.org", 2).await[1]
        .token()
        .unwrap();
    let r = srv
        .anon()
        .post(
            "/auth/reset",
            json!({"token": token, "password": "a brand new password"}),
        )
        .await;
    assert_err(&r, 400, 50014);
    assert_eq!(
        login(&srv.anon(), "alice", &password_of("alice"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn without_mail_the_mail_flows_say_so() {
    let srv = TestServer::start().await;
    let (_, tok) = srv.register("alice").await;
    for (path, body) in [
        ("/auth/forgot", json!({"login": "alice"})),
        (
            "/auth/reset",
            json!({"token": "x", "password": "a brand new password"}),
        ),
        ("/auth/verify", json!({"token": "x"})),
    ] {
        let r = srv.anon().post(path, body).await;
        assert_field_error(&r, "email");
        assert_eq!(
            r.body["errors"]["email"]["_errors"][0]["code"], "MAIL_DISABLED",
            "{r:?}"
        );
    }
    let r = srv
        .client(&tok)
        .post("/auth/verify/resend", json!({}))
        .await;
    assert_eq!(
        r.body["errors"]["email"]["_errors"][0]["code"], "MAIL_DISABLED",
        "{r:?}"
    );
}

#[tokio::test]
async fn data_export_then_account_deletion() {
    let srv = TestServer::start().await;
    let (alice_id, alice_tok) = srv.register("alice").await;
    let alice = srv.client(&alice_tok);
    let (bob_id, bob) = srv.user("bob").await;
    let (carol_id, _) = srv.user("carol").await;
    let g = create_guild(&bob, "club").await;
    join(&alice, &g.invite).await;
    let in_guild = say(&alice, &g.general, "hello club").await;
    let dm = alice
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    let dm_id = s(&dm.body["id"]);
    let in_dm = say(&alice, &dm_id, "hi bob").await;
    say(&bob, &dm_id, "not alice's").await;
    let r = alice
        .put(
            &format!("/users/@me/relationships/{carol_id}"),
            json!({"type": 2}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    // The export: profile, settings, memberships, own messages with context, DMs, notes.
    let x = alice.get("/users/@me/export").await;
    assert_eq!(x.status, 200, "{x:?}");
    let x = x.body;
    assert_eq!(x["version"], 1);
    assert_eq!(x["user"]["id"], alice_id.as_str());
    assert_eq!(x["settings"]["blocked_user_ids"], json!([carol_id]));
    assert_eq!(x["guilds"][0]["guild_id"], g.id.as_str());
    assert_eq!(x["guilds"][0]["guild_name"], "club");
    assert_eq!(x["guilds"][0]["owner"], false);
    let msgs = x["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{x}");
    assert_eq!(msgs[0]["id"], in_guild.as_str());
    assert_eq!(msgs[0]["guild_id"], g.id.as_str());
    assert_eq!(msgs[0]["channel_name"], "general");
    assert_eq!(msgs[0]["content"], "hello club");
    assert!(msgs[0]["timestamp"].as_str().unwrap().contains('T'));
    assert_eq!(msgs[1]["id"], in_dm.as_str());
    assert!(msgs[1]["guild_id"].is_null());
    assert_eq!(
        x["dm_channels"],
        json!([{"channel_id": dm_id, "recipients": [bob_id]}])
    );
    assert!(x["notes"][0].as_str().unwrap().contains("MLS"), "{x}");
    assert_eq!(x["security_log"][0]["kind"], "login");

    // Deletion: an owner must transfer first; a wrong password is refused.
    let r = bob
        .post("/users/@me/delete", json!({"password": password_of("bob")}))
        .await;
    assert_err(&r, 400, 40011);
    let r = alice
        .post("/users/@me/delete", json!({"password": "not it at all"}))
        .await;
    assert_field_error(&r, "password");
    let mut gw = Gw::identify(&srv, &alice_tok, GUILDS).await;
    let r = alice
        .post(
            "/users/@me/delete",
            json!({"password": password_of("alice")}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(gw.closed().await, Some(4004));
    assert_err(&alice.get("/users/@me").await, 401, 0);
    assert_err(
        &login(&srv.anon(), "alice", &password_of("alice")).await,
        400,
        50035,
    );

    // Anonymised as "Deleted User"; messages kept; no longer a member.
    let u = bob.get(&format!("/users/{alice_id}")).await;
    assert_eq!(u.body["global_name"], "Deleted User", "{u:?}");
    assert_ne!(u.body["username"], "alice");
    let history = bob.get(&format!("/channels/{}/messages", g.general)).await;
    let kept = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == in_guild.as_str())
        .expect("message kept");
    assert_eq!(kept["content"], "hello club");
    assert_eq!(kept["author"]["global_name"], "Deleted User");
    let r = bob
        .get(&format!("/guilds/{}/members/{alice_id}", g.id))
        .await;
    assert_err(&r, 404, 10007);
    // The name is free again.
    srv.register("alice").await;
}
