//! The admin CLI's guild, invite, account and federation commands (issue 19), run as the
//! `hearth` binary on the database of a server serving in this process, so the live effects
//! are asserted where clients see them: gateway events, REST answers, federation requests
//! over TLS, and the `/metrics` exposition.
//!
//! - Invites listed and revoked (INVITE_DELETE live, the code gone), guild ownership
//!   transferred (GUILD_UPDATE live; non-members and owners refused), a guild deleted
//!   (GUILD_DELETE live), accounts deleted (tokens refused; owners refused until they hand
//!   their guilds over); errors as sentences with exit 1.
//! - Federation: member servers listed with their backlog; a blocked server's requests are
//!   refused and nothing is delivered to it, then delivery resumes when it is unblocked;
//!   delivery lag and pending events per peer on `/metrics`.
//! - Registrar status from the running server's record.

use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway::{GUILDS, Gw};
use crate::harness::*;
use crate::network::TestNetwork;
use crate::ops::{Run, hearth};

/// `GUILD_INVITES` (Discord "Gateway Intents").
const GUILD_INVITES: u64 = 1 << 6;

/// The environment that points `hearth admin` at `ts`'s database.
fn env_of(ts: &TestServer) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "HEARTH_DATA_DIR".to_string(),
            ts.config.data_dir.display().to_string(),
        ),
        (
            "HEARTH_SERVER_NAME".to_string(),
            ts.config.server_name.clone(),
        ),
        (
            "HEARTH_FEDERATION__ENABLED".to_string(),
            "false".to_string(),
        ),
    ];
    if let Some(url) = &ts.config.database_url {
        env.push(("HEARTH_DATABASE_URL".to_string(), url.clone()));
    }
    env
}

/// `hearth ARGS` on `ts`'s database.
async fn cli(ts: &TestServer, args: &[&str]) -> Run {
    let env = env_of(ts);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    hearth(args, &env).await
}

/// `hearth ARGS --json` on `ts`'s database, asserting exit 0; the parsed output.
pub(crate) async fn cli_json(ts: &TestServer, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let r = cli(ts, &all).await;
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

#[track_caller]
fn assert_sentence(r: &Run, needle: &str) {
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(needle), "stderr lacks {needle:?}: {r:?}");
    assert!(!r.stderr.contains('{'), "a sentence, not JSON: {r:?}");
}

#[tokio::test]
async fn the_admin_cli_revokes_invites_transfers_and_deletes_guilds_and_accounts_live() {
    let ts = TestServer::start().await;
    let (bob_id, bob_tok) = ts.register("bob").await;
    let bob = ts.client(&bob_tok);
    let (dave_id, dave_tok) = ts.register("dave").await;
    let dave = ts.client(&dave_tok);
    let (_, carol) = ts.user("carol").await;
    let guild = create_guild(&bob, "bobs place").await;
    join(&dave, &guild.invite).await;
    let extra = bob
        .post(
            &format!("/channels/{}/invites", guild.general),
            json!({"max_age": 3600, "max_uses": 5}),
        )
        .await;
    assert_eq!(extra.status, 200, "{extra:?}");
    let extra = s(&extra.body["code"]);
    let mut gw = Gw::identify(&ts, &dave_tok, GUILDS | GUILD_INVITES).await;

    // Invites: listed with their limits, then one revoked: gone, and members are told.
    let invites = cli_json(&ts, &["admin", "invites", "list", "--guild", &guild.id]).await;
    let listed = invites
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == extra.as_str())
        .unwrap_or_else(|| panic!("{extra} not listed: {invites}"));
    assert_eq!(listed["inviter"], "bob");
    assert_eq!(listed["max_uses"], 5);
    assert!(listed["expires_at"].is_string(), "{listed}");
    let r = cli(&ts, &["admin", "invites", "revoke", &extra]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let d = gw.expect("INVITE_DELETE").await;
    assert_eq!(d["code"], extra.as_str());
    assert_err(
        &ts.anon().get(&format!("/invites/{extra}")).await,
        404,
        10006,
    );
    assert_sentence(
        &cli(&ts, &["admin", "invites", "revoke", &extra]).await,
        "Unknown Invite",
    );

    // Ownership: only to a member, never to the owner; the members see the new owner live.
    assert_sentence(
        &cli(&ts, &["admin", "guilds", "transfer", &guild.id, "carol"]).await,
        "The new owner must be a member of the guild.",
    );
    assert_sentence(
        &cli(&ts, &["admin", "guilds", "transfer", &guild.id, "bob"]).await,
        "This user owns the guild already.",
    );
    let g = cli_json(&ts, &["admin", "guilds", "transfer", &guild.id, "dave"]).await;
    assert_eq!(g["owner"], "dave", "{g}");
    let up = gw
        .expect_where("GUILD_UPDATE", |d| d["owner_id"] == dave_id.as_str())
        .await;
    assert_eq!(up["id"], guild.id.as_str());
    assert_eq!(
        bob.get(&format!("/guilds/{}", guild.id)).await.body["owner_id"],
        dave_id.as_str()
    );
    // The new owner has the owner's powers at once (a permission check on the server).
    let r = dave
        .patch(
            &format!("/guilds/{}", guild.id),
            json!({"name": "daves place"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // Accounts: an owner is refused until the guild is handed over; bob no longer owns it.
    assert_sentence(
        &cli(&ts, &["admin", "users", "delete", "dave"]).await,
        "transfer ownership",
    );
    let mut bob_gw = Gw::identify(&ts, &bob_tok, GUILDS).await;
    let deleted = cli_json(&ts, &["admin", "users", "delete", "bob"]).await;
    assert_ne!(deleted["username"], "bob", "{deleted}");
    assert_eq!(bob.get("/users/@me").await.status, 401);
    assert_eq!(bob_gw.closed().await, Some(4004), "bob's connection ends");
    assert_sentence(
        &cli(&ts, &["admin", "users", "delete", &bob_id]).await,
        "This account is deleted already.",
    );
    // The last instance administrator stays.
    ts.admin("root").await;
    assert_sentence(
        &cli(&ts, &["admin", "users", "delete", "root"]).await,
        "only instance administrator",
    );
    let r = ts
        .anon()
        .post(
            "/auth/login",
            json!({"login": "bob", "password": password_of("bob")}),
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_sentence(
        &cli(&ts, &["admin", "users", "delete", "nobody"]).await,
        "Unknown User",
    );

    // Deleting the guild: members see it go; it is gone for everyone.
    let r = cli(&ts, &["admin", "guilds", "delete", &guild.id]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("deleted guild"), "{r:?}");
    let gone = gw.expect("GUILD_DELETE").await;
    assert_eq!(gone["id"], guild.id.as_str());
    assert_err(
        &dave.get(&format!("/guilds/{}", guild.id)).await,
        404,
        10004,
    );
    assert_sentence(
        &cli(&ts, &["admin", "guilds", "delete", &guild.id]).await,
        "Unknown Guild",
    );
    // Carol was never part of it and is untouched.
    assert_eq!(carol.get("/users/@me").await.status, 200);
}

const A: &str = "a.hearth.test";
const B: &str = "b.hearth.test";

#[tokio::test]
async fn a_blocked_server_is_refused_both_ways_until_unblocked() {
    let net = TestNetwork::start_with(&[A, B], |_, c| {
        c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let (a, b) = (net.server(A), net.server(B));
    let (_, alice) = a.user("alice").await;
    let (_, bob_tok) = b.register("bob").await;
    let bob = b.client(&bob_tok);
    let guild = create_guild(&alice, "federated").await;
    let mut gw = Gw::identify(b, &bob_tok, GUILDS).await;
    let joined = bob
        .post(&format!("/invites/{}@{A}", guild.invite), json!({}))
        .await;
    assert_eq!(joined.status, 200, "{joined:?}");
    let gc = gw.expect("GUILD_CREATE").await;
    let general_b = s(&gc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "general")
        .unwrap_or_else(|| panic!("general in {gc}"))["id"]);

    // The member server is listed with its backlog.
    let peers = cli_json(a, &["admin", "federation", "peers"]).await;
    assert_eq!(peers[0]["server"], B, "{peers}");
    assert_eq!(peers[0]["guilds"], 1);
    assert_eq!(peers[0]["blocked"], false);
    // Instance administrators read the same list over REST; nobody else does.
    assert_err(&alice.get("/admin/federation/peers").await, 403, 50013);
    assert_err(&bob.get("/admin/federation/peers").await, 403, 50013);
    let (_, op) = a.admin("operator").await;
    let listed = op.get("/admin/federation/peers").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.body[0]["server"], B, "{listed:?}");
    assert_eq!(listed.body[0]["guilds"], 1);
    assert_eq!(listed.body[0]["blocked"], false);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));

    // Blocked: b's requests are refused within a poll, and a sends it nothing.
    for own in [A, "*.hearth.test"] {
        assert_sentence(
            &cli(a, &["admin", "federation", "block", own]).await,
            "this server's own name",
        );
    }
    let r = cli(
        a,
        &["admin", "federation", "block", B, "--reason", "spam wave"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let blocks = cli_json(a, &["admin", "federation", "blocks"]).await;
    assert_eq!(blocks[0]["server"], B);
    assert_eq!(blocks[0]["reason"], "spam wave");
    eventually("a refuses b's requests", async || {
        b.fed
            .request(A, Method::GET, "/_hearth/federation/v1/ping", None)
            .await
            .is_err()
    })
    .await;
    let refused = b
        .fed
        .request(A, Method::GET, "/_hearth/federation/v1/ping", None)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("H_DENIED"), "{refused}");
    assert!(
        a.fed
            .request(B, Method::GET, "/_hearth/federation/v1/ping", None)
            .await
            .is_err(),
        "a still talks to b"
    );
    say(&alice, &guild.general, "said while blocked").await;
    let lagging = eventually("the undelivered event shows", async || {
        let p = cli_json(a, &["admin", "federation", "peers"]).await;
        (p[0]["pending"].as_i64() >= Some(1) && p[0]["failures"].as_i64() >= Some(1)).then_some(p)
    })
    .await;
    assert_eq!(lagging[0]["blocked"], true, "{lagging}");
    let listed = op.get("/admin/federation/peers").await;
    assert_eq!(listed.body[0]["blocked"], true, "{listed:?}");
    let m = crate::metrics::scrape(a).await;
    let pending = format!("hearth_federation_peer_pending_events{{peer=\"{B}\"}}");
    assert!(
        m.get(&pending).is_some_and(|v| *v >= 1.0),
        "{pending} in {m:?}"
    );
    let lag = format!("hearth_federation_peer_lag_seconds{{peer=\"{B}\"}}");
    assert!(m.get(&lag).is_some_and(|v| *v > 0.0), "{lag} in {m:?}");
    let seen = bob
        .get(&format!("/channels/{general_b}/messages?limit=10"))
        .await;
    assert!(
        !seen.body.to_string().contains("said while blocked"),
        "delivered to a blocked server: {seen:?}"
    );

    // Unblocked: the backlog arrives and requests pass again.
    let r = cli(a, &["admin", "federation", "unblock", B]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("unblocked"), "{r:?}");
    eventually("the message held back reaches b", async || {
        let r = bob
            .get(&format!("/channels/{general_b}/messages?limit=10"))
            .await;
        r.body.to_string().contains("said while blocked")
    })
    .await;
    eventually("a accepts b's requests", async || {
        b.fed
            .request(A, Method::GET, "/_hearth/federation/v1/ping", None)
            .await
            .is_ok()
    })
    .await;
    let done = eventually("nothing pending", async || {
        let p = cli_json(a, &["admin", "federation", "peers"]).await;
        (p[0]["pending"] == 0).then_some(p)
    })
    .await;
    assert_eq!(done[0]["lag_seconds"], 0.0, "{done}");
    assert_eq!(done[0]["blocked"], false);
}

#[tokio::test]
async fn registrar_status_reads_what_the_running_server_recorded() {
    let ts = TestServer::start().await;
    let v = cli_json(&ts, &["admin", "registrar", "status"]).await;
    assert!(v["configured"].is_null(), "{v}");
    assert_eq!(v["links"], json!([]));
    // What a running link records after each attempt is what the CLI shows.
    ts.hearth
        .db
        .record_registrar_attempt("https://registrar.test", Err("registrar unreachable"), 1000)
        .await
        .unwrap();
    ts.hearth
        .db
        .record_registrar_attempt("https://registrar.test", Ok("ed25519:abc"), 2000)
        .await
        .unwrap();
    ts.hearth
        .db
        .record_registrar_attempt("https://registrar.test", Err("timed out"), 3000)
        .await
        .unwrap();
    let v = cli_json(&ts, &["admin", "registrar", "status"]).await;
    let l = &v["links"][0];
    assert_eq!(l["registrar"], "https://registrar.test", "{v}");
    assert_eq!(l["registrations"], 1);
    assert_eq!(l["registered_key"], "ed25519:abc");
    assert_eq!(l["last_error"], "timed out");
    assert_eq!(l["last_success_at"], "1970-01-01T00:00:02.000000+00:00");
    assert_eq!(l["last_attempt_at"], "1970-01-01T00:00:03.000000+00:00");
    let text = cli(&ts, &["admin", "registrar", "status"]).await;
    assert!(
        text.stdout.contains("error: timed out") && text.stdout.contains("1 registration(s)"),
        "{text:?}"
    );
}
