//! Passkeys (issue 17, WebAuthn verified by webauthn-rs) through real HTTP with a software
//! authenticator (`hearth_testkit::passkey::SoftPasskey`, real ES256 signatures): register,
//! list, rename, delete with re-authentication by passkey, a passkey as the second factor of
//! a password login, passwordless login with a discoverable credential, and the attacks: a
//! bad signature, a wrong origin, a wrong RP id, a cloned authenticator's counter, a
//! replayed or expired ceremony ticket, a passkey of another user, no user verification,
//! and the backoff after failed assertions. Also the relying party's configuration check.

use std::time::{Duration, Instant};

use hearth_testkit::passkey::{SoftPasskey, corrupt_signature};
use serde_json::{Value, json};

use crate::harness::*;

/// The public URL of the test servers: its host is the RP id, its origin the one allowed.
const ORIGIN: &str = "https://chat.hearth.test";
const CREDS: &str = "/users/@me/mfa/webauthn/credentials";

async fn server_with(f: impl FnOnce(&mut hearth::Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.account.public_url = Some(ORIGIN.into());
        f(c)
    })
    .await
}

fn options(challenge: &Value) -> Value {
    serde_json::from_str(challenge.as_str().expect("challenge is a JSON string")).unwrap()
}

/// Registers a new software passkey named `name` for the user of `c`; returns it with the
/// stored credential object.
async fn add_passkey(c: &Client, name: &str) -> (SoftPasskey, Value) {
    let start = c.post(CREDS, json!({})).await;
    assert_eq!(start.status, 200, "{start:?}");
    let mut pk = SoftPasskey::new(ORIGIN);
    let cred = pk.register(start.body["challenge"].as_str().unwrap());
    let r = c
        .post(
            CREDS,
            json!({"name": name, "ticket": start.body["ticket"], "credential": cred.to_string()}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    (pk, r.body)
}

/// `POST /auth/passkey/start` -> (ticket, options JSON string).
async fn passwordless_start(srv: &TestServer) -> (String, String) {
    let r = srv.anon().post("/auth/passkey/start", json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    (s(&r.body["ticket"]), s(&r.body["challenge"]))
}

async fn passwordless_finish(srv: &TestServer, ticket: &str, cred: &Value) -> Resp {
    srv.anon()
        .post(
            "/auth/passkey/finish",
            json!({"ticket": ticket, "credential": cred}),
        )
        .await
}

/// A password login of `name` that answers the MFA challenge; returns its body.
async fn password_login(c: &Client, name: &str) -> Value {
    let r = c
        .post(
            "/auth/login",
            json!({"login": name, "password": password_of(name)}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["mfa"], json!(true), "{r:?}");
    r.body
}

async fn log_kinds(c: &Client) -> Vec<String> {
    let r = c.get("/users/@me/security-log").await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["kind"]))
        .collect()
}

#[tokio::test]
async fn register_list_rename_and_delete_with_a_passkey_reauth() {
    let srv = server_with(|c| c.account.reauth_window_seconds = 4).await;
    let (_, tok) = srv.register("alice").await;
    let alice = srv.client(&tok);
    let (_, bob) = srv.user("bob").await;

    // The creation options: this server's RP, attestation none, user verification required,
    // a discoverable credential preferred.
    let start = alice.post(CREDS, json!({})).await;
    assert_eq!(start.status, 200, "{start:?}");
    let o = options(&start.body["challenge"]);
    assert_eq!(o["publicKey"]["rp"]["id"], "chat.hearth.test", "{o}");
    assert_eq!(o["publicKey"]["attestation"], "none");
    let sel = &o["publicKey"]["authenticatorSelection"];
    assert_eq!(sel["userVerification"], "required", "{o}");
    assert_eq!(sel["residentKey"], "preferred", "{o}");
    let mut pk = SoftPasskey::new(ORIGIN);
    let cred = pk.register(start.body["challenge"].as_str().unwrap());
    let ticket = start.body["ticket"].clone();

    // A name is needed (the ticket stays good).
    let r = alice
        .post(CREDS, json!({"ticket": ticket, "credential": cred}))
        .await;
    assert_field_error(&r, "name");
    let r = alice
        .post(
            CREDS,
            json!({"name": "Laptop", "ticket": ticket, "credential": cred}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let id = s(&r.body["id"]);
    assert_eq!(r.body["name"], "Laptop");
    assert_eq!(r.body["type"], 1);
    assert!(r.body["last_used_at"].is_null());
    // The ticket was spent; the same credential again is refused.
    let r = alice
        .post(
            CREDS,
            json!({"name": "Again", "ticket": ticket, "credential": cred}),
        )
        .await;
    assert_err(&r, 400, 60006);
    let again = alice.post(CREDS, json!({})).await;
    let r = alice
        .post(
            CREDS,
            json!({"name": "Again", "ticket": again.body["ticket"], "credential": cred}),
        )
        .await;
    assert_field_error(&r, "credential");

    // Listed; a passkey turns MFA on.
    let list = alice.get(CREDS).await;
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], id.as_str());
    // A passkey is a second factor (`mfa_enabled`), not TOTP (`totp_enabled`).
    let own = alice.get("/users/@me").await.body;
    assert_eq!(own["mfa_enabled"], true);
    assert_eq!(own["totp_enabled"], false, "{own}");
    assert_eq!(bob.get(CREDS).await.body, json!([]));

    // Rename: own passkeys only.
    let r = alice
        .patch(&format!("{CREDS}/{id}"), json!({"name": "Phone"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["name"], "Phone");
    let r = alice
        .patch(&format!("{CREDS}/{id}"), json!({"name": ""}))
        .await;
    assert_field_error(&r, "name");
    let r = bob
        .patch(&format!("{CREDS}/{id}"), json!({"name": "Mine"}))
        .await;
    assert_err(&r, 404, 10100);
    assert_eq!(alice.get(CREDS).await.body[0]["name"], "Phone");

    // Deleting needs a recent proof; once the login's proof is old (watched through the
    // start of a registration, which needs one too and changes nothing) the answer offers the
    // passkey with a challenge, and the passkey proves it.
    eventually("the login's proof expires", async || {
        alice.post(CREDS, json!({})).await.status == 401
    })
    .await;
    let r = alice.delete(&format!("{CREDS}/{id}")).await;
    assert_eq!(r.body["code"], 60003, "{r:?}");
    let methods = r.body["mfa"]["methods"].as_array().unwrap().clone();
    let webauthn = methods
        .iter()
        .find(|m| m["type"] == "webauthn")
        .expect("a webauthn method");
    let reauth_ticket = s(&r.body["mfa"]["ticket"]);
    let assertion = pk.assert(webauthn["challenge"].as_str().unwrap());
    // Bob cannot use alice's challenge.
    let r = bob
        .post(
            "/mfa/finish",
            json!({"mfa_type": "webauthn", "ticket": reauth_ticket, "data": assertion.to_string()}),
        )
        .await;
    assert_err(&r, 400, 60006);
    // ... which spent it; alice asks again.
    let r = alice.delete(&format!("{CREDS}/{id}")).await;
    assert_err(&r, 401, 60003);
    let challenge = r.body["mfa"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "webauthn")
        .unwrap()["challenge"]
        .clone();
    let assertion = pk.assert(challenge.as_str().unwrap());
    let r = alice
        .post(
            "/mfa/finish",
            json!({"mfa_type": "webauthn", "ticket": r.body["mfa"]["ticket"], "data": assertion.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["token"].is_string());
    assert!(alice.get(CREDS).await.body[0]["last_used_at"].is_string());
    let r = bob.delete(&format!("{CREDS}/{id}")).await;
    assert_err(&r, 404, 10100);
    let r = alice.delete(&format!("{CREDS}/{id}")).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(alice.get(CREDS).await.body, json!([]));
    assert_eq!(alice.get("/users/@me").await.body["mfa_enabled"], false);

    // The security log holds each change.
    let kinds = log_kinds(&alice).await;
    for k in ["passkey_added", "passkey_renamed", "passkey_removed"] {
        assert!(kinds.contains(&k.to_string()), "{k} in {kinds:?}");
    }
}

#[tokio::test]
async fn a_passkey_is_a_second_factor_of_a_password_login() {
    let srv = server_with(|_| {}).await;
    let (alice_id, tok) = srv.register("alice").await;
    let alice = srv.client(&tok);
    let (mut pk, stored) = add_passkey(&alice, "Key").await;
    let (_, bob_tok) = srv.register("bob").await;
    let (mut bob_pk, _) = add_passkey(&srv.client(&bob_tok), "Bob's").await;

    // Discord's answer: a ticket, no TOTP, the request options for alice's passkeys.
    let b = password_login(&srv.anon(), "alice").await;
    assert_eq!(b["totp"], false);
    assert_eq!(b["backup"], false);
    assert_eq!(b["sms"], false);
    assert!(b["token"].is_null());
    let o: Value = serde_json::from_str(b["webauthn"].as_str().unwrap()).unwrap();
    assert_eq!(o["publicKey"]["rpId"], "chat.hearth.test");
    assert_eq!(o["publicKey"]["userVerification"], "required");
    assert_eq!(o["publicKey"]["allowCredentials"][0]["id"], pk.id(), "{o}");

    // A TOTP code is no answer for an account without TOTP.
    let ticket = s(&b["ticket"]);
    let r = srv
        .anon()
        .post(
            "/auth/mfa/totp",
            json!({"code": "123456", "ticket": ticket}),
        )
        .await;
    assert_err(&r, 400, 60002);

    // Bob's passkey does not answer alice's challenge.
    let wrong = bob_pk.assert(b["webauthn"].as_str().unwrap());
    let r = srv
        .anon()
        .post(
            "/auth/mfa/webauthn",
            json!({"code": wrong.to_string(), "ticket": ticket}),
        )
        .await;
    assert_err(&r, 400, 60008);
    // The challenge was answered once: the ticket has no passkey challenge left.
    let right = pk.assert(b["webauthn"].as_str().unwrap());
    let r = srv
        .anon()
        .post(
            "/auth/mfa/webauthn",
            json!({"code": right.to_string(), "ticket": ticket}),
        )
        .await;
    assert_err(&r, 400, 60006);

    // A fresh login: alice's passkey completes it.
    let b = password_login(&srv.anon(), "alice").await;
    let ticket = s(&b["ticket"]);
    let a = pk.assert(b["webauthn"].as_str().unwrap());
    let r = srv
        .anon()
        .post(
            "/auth/mfa/webauthn",
            json!({"code": a.to_string(), "ticket": ticket}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["user_id"], alice_id.as_str());
    let fresh = srv.client(&s(&r.body["token"]));
    assert_eq!(fresh.get("/users/@me").await.body["id"], alice_id.as_str());
    // Replaying the ticket and assertion is refused.
    let r = srv
        .anon()
        .post(
            "/auth/mfa/webauthn",
            json!({"code": a.to_string(), "ticket": ticket}),
        )
        .await;
    assert_err(&r, 400, 60006);

    // The login is in the security log with its method; the export lists the passkey's
    // metadata, not its key.
    let log = fresh.get("/users/@me/security-log").await.body;
    let login = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "login" && e["detail"]["method"] == "webauthn")
        .expect("a webauthn login entry");
    assert!(login["ip"].is_string());
    let x = fresh.get("/users/@me/export").await;
    assert_eq!(x.status, 200, "{x:?}");
    let listed = &x.body["passkeys"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], stored["id"]);
    let mut keys: Vec<&str> = listed[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "backed_up",
            "backup_eligible",
            "created_at",
            "id",
            "last_used_at",
            "name",
            "type"
        ]
    );
}

#[tokio::test]
async fn passwordless_login_with_a_discoverable_passkey() {
    let srv = server_with(|_| {}).await;
    let (alice_id, tok) = srv.register("alice").await;
    let (mut pk, _) = add_passkey(&srv.client(&tok), "Key").await;

    let (ticket, challenge) = passwordless_start(&srv).await;
    let o: Value = serde_json::from_str(&challenge).unwrap();
    assert_eq!(o["publicKey"]["rpId"], "chat.hearth.test");
    assert!(
        o["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{o}"
    );
    assert!(o.get("mediation").is_none(), "{o}");
    let a = pk.assert(&challenge);
    let r = passwordless_finish(&srv, &ticket, &a).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["user_id"], alice_id.as_str());
    assert!(r.body["refresh_token"].is_string());
    let me = srv.client(&s(&r.body["token"]));
    assert_eq!(me.get("/users/@me").await.body["id"], alice_id.as_str());
    let log = me.get("/users/@me/security-log").await.body;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "login" && e["detail"]["method"] == "passkey"),
        "{log}"
    );

    // The ticket is single-use, also with the credential as a JSON string.
    let r = passwordless_finish(&srv, &ticket, &json!(a.to_string())).await;
    assert_err(&r, 400, 60006);
    let r = passwordless_finish(&srv, "forged", &a).await;
    assert_err(&r, 400, 60006);
    // The counter moved, and a later assertion passes again.
    let (ticket, challenge) = passwordless_start(&srv).await;
    let r = passwordless_finish(&srv, &ticket, &pk.assert(&challenge)).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn forged_replayed_and_cloned_assertions_are_refused() {
    let srv = server_with(|_| {}).await;
    let (alice_id, tok) = srv.register("alice").await;
    let (mut pk, _) = add_passkey(&srv.client(&tok), "Key").await;
    let (_, bob_tok) = srv.register("bob").await;
    let (bob_pk, _) = add_passkey(&srv.client(&bob_tok), "Bob's").await;
    let clone = pk.clone();

    async fn attempt(srv: &TestServer, make: impl FnOnce(&str) -> Value) -> Resp {
        let (ticket, challenge) = passwordless_start(srv).await;
        passwordless_finish(srv, &ticket, &make(&challenge)).await
    }

    // A bad signature.
    let r = attempt(&srv, |c| corrupt_signature(&pk.clone().assert(c))).await;
    assert_err(&r, 400, 60008);
    // Another origin (a phishing site relaying the challenge).
    let mut evil = pk.clone();
    evil.origin = "https://chat.hearth.evil".into();
    let r = attempt(&srv, |c| evil.assert(c)).await;
    assert_err(&r, 400, 60008);
    // Another RP id in the authenticator data.
    let mut other_rp = pk.clone();
    other_rp.rp_id = Some("hearth.evil".into());
    let r = attempt(&srv, |c| other_rp.assert(c)).await;
    assert_err(&r, 400, 60008);
    // No user verification.
    let mut no_uv = pk.clone();
    no_uv.user_verified = false;
    let r = attempt(&srv, |c| no_uv.assert(c)).await;
    assert_err(&r, 400, 60008);
    // Alice's credential claiming bob's account (bob's user handle).
    let mut swapped = pk.clone();
    swapped.user_handle = bob_pk.user_handle.clone();
    let r = attempt(&srv, |c| swapped.assert(c)).await;
    assert_err(&r, 400, 60008);
    // A credential the server never registered.
    let r = attempt(&srv, |c| {
        let mut stranger = SoftPasskey::new(ORIGIN);
        stranger.user_handle = pk.user_handle.clone();
        stranger.assert(c)
    })
    .await;
    assert_err(&r, 400, 60008);

    // None of these moved the stored counter: the genuine passkey logs in (counter 1) ...
    let r = attempt(&srv, |c| pk.assert(c)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["user_id"], alice_id.as_str());
    let r = attempt(&srv, |c| pk.assert(c)).await;
    assert_eq!(r.status, 200, "{r:?}");
    // ... and a clone made before, its counter behind the stored one, is refused, also as a
    // second factor.
    let mut clone2 = clone.clone();
    let r = attempt(&srv, |c| clone2.assert(c)).await;
    assert_err(&r, 400, 60008);
    let b = password_login(&srv.anon(), "alice").await;
    let mut clone3 = clone.clone();
    clone3.counter = 1; // its next assertion says 2: the stored counter
    let a = clone3.assert(b["webauthn"].as_str().unwrap());
    let r = srv
        .anon()
        .post(
            "/auth/mfa/webauthn",
            json!({"code": a.to_string(), "ticket": b["ticket"]}),
        )
        .await;
    assert_err(&r, 400, 60008);
    // The genuine one still works.
    let r = attempt(&srv, |c| pk.assert(c)).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn an_expired_ceremony_ticket_is_refused() {
    let srv = server_with(|c| c.auth.webauthn.ceremony_ttl_seconds = 2).await;
    let (_, tok) = srv.register("alice").await;
    let (mut pk, _) = add_passkey(&srv.client(&tok), "Key").await;
    let (ticket, challenge) = passwordless_start(&srv).await;
    let started = Instant::now();
    eventually("the ceremony's two seconds pass", async || {
        started.elapsed() > Duration::from_millis(2200)
    })
    .await;
    let r = passwordless_finish(&srv, &ticket, &pk.assert(&challenge)).await;
    assert_err(&r, 400, 60006);
    // A registration ticket expires the same way.
    let c = srv.client(&tok);
    let start = c.post(CREDS, json!({})).await;
    let mut other = SoftPasskey::new(ORIGIN);
    let cred = other.register(start.body["challenge"].as_str().unwrap());
    let started = Instant::now();
    eventually("the ceremony's two seconds pass", async || {
        started.elapsed() > Duration::from_millis(2200)
    })
    .await;
    let r = c
        .post(
            CREDS,
            json!({"name": "Late", "ticket": start.body["ticket"], "credential": cred}),
        )
        .await;
    assert_err(&r, 400, 60006);
}

#[tokio::test]
async fn failed_assertions_back_off_like_failed_logins() {
    let srv = server_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.rate_limits.login_backoff = hearth::config::LoginBackoff {
            free_per_pair: 2,
            free_per_address: 100,
            free_per_account: 1000,
            base_seconds: 30.0,
            max_seconds: 60.0,
            forget_seconds: 3600.0,
        };
    })
    .await;
    let (_, tok) = srv.register("alice").await;
    let (mut pk, _) = add_passkey(&srv.client(&tok), "Key").await;
    let attacker = srv.anon().with_header("x-forwarded-for", "203.0.113.9");
    for _ in 0..2 {
        let r = attacker.post("/auth/passkey/start", json!({})).await;
        let a = corrupt_signature(&pk.assert(r.body["challenge"].as_str().unwrap()));
        let r = attacker
            .post(
                "/auth/passkey/finish",
                json!({"ticket": r.body["ticket"], "credential": a}),
            )
            .await;
        assert_err(&r, 400, 60008);
    }
    // The third try from that address waits, even with a valid assertion ...
    let r = attacker.post("/auth/passkey/start", json!({})).await;
    let a = pk.assert(r.body["challenge"].as_str().unwrap());
    let r = attacker
        .post(
            "/auth/passkey/finish",
            json!({"ticket": r.body["ticket"], "credential": a}),
        )
        .await;
    assert_eq!(r.status, 429, "{r:?}");
    // ... while the owner, from her own address, logs in.
    let owner = srv.anon().with_header("x-forwarded-for", "198.51.100.4");
    let r = owner.post("/auth/passkey/start", json!({})).await;
    let a = pk.assert(r.body["challenge"].as_str().unwrap());
    let r = owner
        .post(
            "/auth/passkey/finish",
            json!({"ticket": r.body["ticket"], "credential": a}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn the_relying_party_comes_from_configuration_and_is_checked() {
    // The zero-config server (public URL on 127.0.0.1) has no RP id: passkeys are off and
    // say so.
    let srv = TestServer::start().await;
    let (_, tok) = srv.register("alice").await;
    let r = srv.anon().post("/auth/passkey/start", json!({})).await;
    assert_eq!(
        r.body["errors"]["webauthn"]["_errors"][0]["code"], "WEBAUTHN_DISABLED",
        "{r:?}"
    );
    let r = srv.client(&tok).post(CREDS, json!({})).await;
    assert_field_error(&r, "webauthn");
    drop(srv);

    // A parent domain of the public URL's host is a valid RP id, with extra origins below it.
    let srv = server_with(|c| {
        c.auth.webauthn.rp_id = Some("hearth.test".into());
        c.auth.webauthn.origins = vec![ORIGIN.into(), "https://app.hearth.test".into()];
    })
    .await;
    let (_, tok) = srv.register("alice").await;
    let start = srv.client(&tok).post(CREDS, json!({})).await;
    assert_eq!(
        options(&start.body["challenge"])["publicKey"]["rp"]["id"],
        "hearth.test"
    );
    let mut pk = SoftPasskey::new("https://app.hearth.test");
    let cred = pk.register(start.body["challenge"].as_str().unwrap());
    let r = srv
        .client(&tok)
        .post(
            CREDS,
            json!({"name": "App", "ticket": start.body["ticket"], "credential": cred}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    drop(srv);

    // A mismatch is refused at start-up with a configuration error.
    for (rp_id, origins) in [
        ("other.test", vec![]),
        ("hearth.test.evil", vec![]),
        ("127.0.0.1", vec![]),
        ("hearth.test", vec!["https://hearth.evil".to_owned()]),
    ] {
        let dir = std::env::temp_dir().join(format!("hearth_it_rp_{}", unique_suffix()));
        let mut c = hearth_testkit::config::test_config(dir.clone());
        c.account.public_url = Some(ORIGIN.into());
        c.auth.webauthn.rp_id = Some(rp_id.into());
        c.auth.webauthn.origins = origins;
        let err = match hearth_testkit::app::RunningApp::start(c).await {
            Ok(_) => panic!("rp_id {rp_id} was accepted"),
            Err(e) => e.to_string(),
        };
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("auth.webauthn"), "{rp_id}: {err}");
    }
}
