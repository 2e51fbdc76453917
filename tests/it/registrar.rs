//! Registrar (issue 5; spec/registrar.md): a real `hearth-registrar` over TLS beside the
//! homeservers of a [`TestNetwork`] (test CA, local DNS), on SQLite or PostgreSQL like the
//! homeservers (`HEARTH_TEST_DATABASE`).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hearth::config::Bucket;
use hearth_federation::request::{RequestFields, sign_request};
use hearth_federation::sign::{self, Purpose};
use hearth_registrar::RegistrarConfig;
use hearth_testkit::fednet::FedNet;
use hearth_testkit::wait::{Outcome, Patience};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Backend, TestServer, backend, create_guild, s};
use crate::network::TestNetwork;

/// DNS name of the test registrar.
pub const NAME: &str = "registrar.hearth.test";

/// A running `hearth-registrar`. Dropping it stops it and deletes its data.
pub struct TestRegistrar {
    /// `https://registrar.hearth.test:PORT` (plain `http://127.0.0.1:PORT` when standalone).
    pub url: String,
    /// Its verify key (unpadded base64).
    pub public_key: String,
    pub addr: SocketAddr,
    pub core: Arc<hearth_registrar::Core>,
    /// A client trusting the test CA and resolving [`NAME`] to the registrar.
    pub http: reqwest::Client,
    data_dir: PathBuf,
    pg_database: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestRegistrar {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(db) = self.pg_database.take() {
            crate::harness::drop_pg_database(db);
        }
    }
}

fn test_config(data_dir: &Path) -> RegistrarConfig {
    let big = Bucket {
        limit: 1_000_000,
        per_seconds: 1.0,
    };
    let mut c = RegistrarConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        server_name: NAME.into(),
        data_dir: data_dir.to_path_buf(),
        check_interval_ms: 100,
        database_max_connections: 4,
        ..RegistrarConfig::default()
    };
    c.rate_limits.per_client = big;
    c.rate_limits.per_server = big;
    c.rate_limits.key_fetches = big;
    c.rate_limits.handle_lookups = Bucket {
        limit: 5,
        per_seconds: 3600.0,
    };
    c
}

impl TestRegistrar {
    /// Starts a registrar over TLS on `ip` inside a test network (called by
    /// [`TestNetwork::start_with_registrar`]): its certificate from the network's CA, an A
    /// record for [`NAME`], the network's outbound settings.
    pub async fn start(
        fed: &FedNet,
        ip: Ipv4Addr,
        rf: impl FnOnce(&mut RegistrarConfig),
    ) -> TestRegistrar {
        let (cert_path, key_path) = fed.ca.issue(&[NAME.to_string()]).unwrap();
        fed.dns.add_a(NAME, ip).await.unwrap();
        let outbound = fed.outbound_config();
        Self::launch(
            |c| {
                c.listen = SocketAddr::new(IpAddr::V4(ip), 0);
                c.tls_cert = Some(cert_path);
                c.tls_key = Some(key_path);
                c.outbound = outbound;
                rf(c);
            },
            Some(fed.ca.certificate().unwrap()),
        )
        .await
    }

    /// A registrar on 127.0.0.1:0 over plain HTTP, outside any network (storage tests).
    pub async fn standalone(rf: impl FnOnce(&mut RegistrarConfig)) -> TestRegistrar {
        Self::launch(rf, None).await
    }

    async fn launch(
        rf: impl FnOnce(&mut RegistrarConfig),
        ca: Option<reqwest::Certificate>,
    ) -> TestRegistrar {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let suffix = crate::harness::unique_suffix();
        let data_dir = std::env::temp_dir().join(format!("hearth_reg_{suffix}"));
        let mut config = test_config(&data_dir);
        let pg_database = match backend() {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("hearth_reg_{suffix}");
                crate::harness::create_pg_database(&name).await;
                config.database_url = Some(format!("postgres://postgres@127.0.0.1:5432/{name}"));
                Some(name)
            }
        };
        rf(&mut config);
        let tls = config.tls_cert.is_some();
        let r = hearth_registrar::Registrar::build(config)
            .await
            .expect("registrar build");
        let addr = r.local_addr();
        let public_key = r.public_key().to_b64();
        let core = r.core.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = r
                .serve(async move {
                    let _ = rx.await;
                })
                .await;
        });
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .resolve(NAME, addr);
        if let Some(ca) = ca {
            b = b.tls_certs_merge(vec![ca]);
        }
        let url = if tls {
            format!("https://{NAME}:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
        TestRegistrar {
            url,
            public_key,
            addr,
            core,
            http: b.build().unwrap(),
            data_dir,
            pg_database,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A request to the registrar: `(status, JSON body or {"_raw": text})`.
    pub async fn req(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut rb = self.http.request(method, format!("{}{path}", self.url));
        if let Some(a) = authorization {
            rb = rb.header("authorization", a);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let resp = rb.send().await.expect("registrar request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({"_raw": String::from_utf8_lossy(&bytes)}));
        (status, v)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.req(Method::GET, path, None, None).await
    }

    /// A request signed by homeserver `srv` (its name and current key).
    pub async fn signed(
        &self,
        srv: &TestServer,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        let auth = srv
            .fed
            .client
            .authorization(NAME, &method, path, bytes.as_deref().unwrap_or(&[]))
            .unwrap();
        self.req(method, path, Some(&auth), bytes).await
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

const A_: &str = "a.hearth.test";
const B_: &str = "b.hearth.test";

fn reg(net: &TestNetwork) -> &TestRegistrar {
    net.registrar.as_ref().expect("network without registrar")
}

/// Waits (bounded) until `srv` has completed its first full synchronisation.
async fn wait_synced(srv: &TestServer) {
    let mut rx = srv.registrar.as_ref().expect("registrar link").status();
    let ok = tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|s| s.full_syncs >= 1))
        .await
        .is_ok_and(|r| r.is_ok());
    assert!(
        ok,
        "{} did not sync: {:?}",
        srv.fed.server_name,
        rx.borrow().clone()
    );
    // The link's record for `hearth admin registrar status` (another process) says so too.
    let states = srv.hearth.db.registrar_states().await.unwrap();
    assert_eq!(states.len(), 1, "{states:?}");
    assert!(states[0].registrations >= 1, "{states:?}");
    assert!(states[0].last_success_at.is_some(), "{states:?}");
    assert_eq!(
        states[0].registered_key.as_deref(),
        Some(srv.fed.keyring.current().key_id()),
        "{states:?}"
    );
}

/// Waits (bounded) until `srv` has registered at least `n` times.
async fn wait_registered(srv: &TestServer, n: u64) {
    let mut rx = srv.registrar.as_ref().expect("registrar link").status();
    let ok = tokio::time::timeout(
        Duration::from_secs(30),
        rx.wait_for(|s| s.registrations >= n),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(
        ok,
        "{} did not register: {:?}",
        srv.fed.server_name,
        rx.borrow().clone()
    );
}

/// [`eventually`](hearth_testkit::eventually) within `secs` seconds, looking every 100 ms
/// (handle lookups count against a small bucket).
async fn eventually<O: Outcome>(secs: u64, what: &str, f: impl AsyncFnMut() -> O) -> O::Value {
    Patience::within(Duration::from_secs(secs))
        .every(Duration::from_millis(100))
        .until(what, f)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn network(rf: impl FnOnce(&mut RegistrarConfig)) -> TestNetwork {
    let net =
        TestNetwork::start_with_registrar(&["a.hearth.test", "b.hearth.test"], |_, _| {}, rf).await;
    wait_synced(net.server(A_)).await;
    wait_synced(net.server(B_)).await;
    net
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn registration_proves_domain_control_and_lists_the_server() {
    let net = network(|_| {}).await;
    let r = reg(&net);
    let a = net.server(A_);
    let (st, e) = r.get(&format!("/_registrar/v1/servers/{A_}")).await;
    assert_eq!(st, 200, "{e}");
    assert_eq!(e["server_name"], A_);
    assert_eq!(e["status"], "active");
    assert_eq!(e["stale"], false);
    assert_eq!(e["software"]["name"], "hearth");
    assert_eq!(e["registration_policy"], "open");
    let k = a.fed.keyring.current();
    assert_eq!(
        e["verify_keys"][k.key_id()]["key"],
        k.public_key().to_b64(),
        "{e}"
    );
    assert!(
        s(&e["endpoint"]).starts_with(&format!("https://{A_}:")),
        "{e}"
    );
    // The directory lists both servers.
    let (st, list) = r.get("/_registrar/v1/servers").await;
    assert_eq!(st, 200);
    let names: Vec<&str> = list["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![A_, B_]);
    // Key history starts with the current key.
    let (st, h) = r
        .get(&format!("/_registrar/v1/servers/{A_}/keys/history"))
        .await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["history"][0]["key_id"], k.key_id());
    assert_eq!(h["history"][0]["state"], "current");
    // Registering again (an update) works through a fresh challenge.
    a.registrar
        .as_ref()
        .unwrap()
        .register(&a.hearth)
        .await
        .expect("re-registration");
    // The homeserver's client API lists the directory.
    let (_, alice) = a.user("alice").await;
    let d = alice.get("/discovery/servers").await;
    assert_eq!(d.status, 200, "{d:?}");
    assert_eq!(d.body["servers"].as_array().unwrap().len(), 2);
    // Challenge tokens are one-shot: the homeserver no longer serves a used one, and a
    // token it never asked for is refused.
    let fake = "x".repeat(32);
    let c = reqwest::Client::builder()
        .no_proxy()
        .resolve(A_, a.federation_addr.unwrap())
        .tls_certs_merge(vec![
            reqwest::Certificate::from_pem(&std::fs::read(&net.ca_pem).unwrap()).unwrap(),
        ])
        .build()
        .unwrap();
    let resp = c
        .get(format!(
            "https://{A_}:{}/.well-known/hearth/registrar-challenge/{fake}",
            net.port
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn a_server_cannot_register_update_or_delete_another_domain() {
    let net = network(|_| {}).await;
    let r = reg(&net);
    let a = net.server(A_);
    let b = net.server(B_);
    // a asks for a challenge for b, registers b, updates b's guilds and handles, deletes b:
    // all refused, origin is not b.
    let (st, e) = r
        .signed(
            a,
            Method::POST,
            &format!("/_registrar/v1/servers/{B_}/challenge"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_FORBIDDEN")),
        "{e}"
    );
    let (st, e) = r
        .signed(
            a,
            Method::PUT,
            &format!("/_registrar/v1/servers/{B_}"),
            Some(&json!({"token": "y".repeat(32)})),
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_FORBIDDEN")),
        "{e}"
    );
    let (st, e) = r
        .signed(
            a,
            Method::DELETE,
            &format!("/_registrar/v1/servers/{B_}"),
            None,
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_FORBIDDEN")),
        "{e}"
    );
    let (st, e) = r
        .signed(
            a,
            Method::DELETE,
            &format!("/_registrar/v1/servers/{B_}/guilds/1"),
            None,
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_FORBIDDEN")),
        "{e}"
    );
    // a claims to be b (origin b, signed with a's key): the key b publishes does not verify it.
    for path in [
        format!("/_registrar/v1/servers/{B_}/challenge"),
        format!("/_registrar/v1/servers/{B_}"),
    ] {
        let body = br#"{}"#;
        let auth = sign_request(
            &a.fed.keyring.current(),
            &RequestFields {
                method: "POST",
                path: &path,
                origin: B_,
                destination: NAME,
                ts: hearth::s2s::now_ms(),
                body,
            },
        )
        .unwrap();
        let (st, e) = r
            .req(Method::POST, &path, Some(&auth), Some(body.to_vec()))
            .await;
        assert!(
            st == 401 || st == 405,
            "forged origin must be refused: {st} {e}"
        );
    }
    let path = format!("/_registrar/v1/servers/{B_}");
    let auth = sign_request(
        &a.fed.keyring.current(),
        &RequestFields {
            method: "DELETE",
            path: &path,
            origin: B_,
            destination: NAME,
            ts: hearth::s2s::now_ms(),
            body: b"",
        },
    )
    .unwrap();
    let (st, e) = r.req(Method::DELETE, &path, Some(&auth), None).await;
    assert_eq!(st, 401, "{e}");
    assert!(e["errcode"].as_str().unwrap().starts_with("H_"), "{e}");
    // A token issued to a cannot register b, and b never serves a's token: a registration of
    // b with a's own (valid) token fails domain verification even when signed by b.
    let (st, ch) = r
        .signed(
            a,
            Method::POST,
            &format!("/_registrar/v1/servers/{A_}/challenge"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(st, 200, "{ch}");
    let (st, e) = r
        .signed(
            b,
            Method::PUT,
            &format!("/_registrar/v1/servers/{B_}"),
            Some(&json!({"token": ch["token"]})),
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_VERIFICATION_FAILED")),
        "{e}"
    );
    // b is still listed; b itself may delete its entry.
    let (st, _) = r.get(&format!("/_registrar/v1/servers/{B_}")).await;
    assert_eq!(st, 200);
    let (st, e) = r
        .signed(
            b,
            Method::DELETE,
            &format!("/_registrar/v1/servers/{B_}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{e}");
    let (st, _) = r.get(&format!("/_registrar/v1/servers/{B_}")).await;
    assert_eq!(st, 404);
    // The key history is append-only: it survives the deletion.
    let (st, h) = r
        .get(&format!("/_registrar/v1/servers/{B_}/keys/history"))
        .await;
    assert_eq!(st, 200, "{h}");
}

#[tokio::test]
async fn key_rotation_updates_the_directory_and_history() {
    let net = network(|_| {}).await;
    let r = reg(&net);
    let b = net.server(B_);
    let old = b.fed.keyring.current();
    let new = b.fed.rotate_key().await.unwrap();
    // The homeserver notices its key change and re-registers.
    wait_registered(b, 2).await;
    let (st, e) = r.get(&format!("/_registrar/v1/servers/{B_}")).await;
    assert_eq!(st, 200);
    assert_eq!(e["verify_keys"][&new.key_id]["key"], new.public_key, "{e}");
    assert_eq!(
        e["old_verify_keys"][old.key_id()]["key"],
        old.public_key().to_b64(),
        "{e}"
    );
    assert!(e["verify_keys"].get(old.key_id()).is_none(), "{e}");
    let (_, h) = r
        .get(&format!("/_registrar/v1/servers/{B_}/keys/history"))
        .await;
    let entries: Vec<(String, String)> = h["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (s(&x["key_id"]), s(&x["state"])))
        .collect();
    assert!(
        entries.contains(&(old.key_id().to_owned(), "current".into())),
        "{h}"
    );
    assert!(
        entries.contains(&(old.key_id().to_owned(), "old".into())),
        "{h}"
    );
    assert!(
        entries.contains(&(new.key_id.clone(), "current".into())),
        "{h}"
    );
    // The notary vouches for the new document.
    let (_, n) = r.get(&format!("/_registrar/v1/notary/{B_}")).await;
    let pk = hearth_federation::keys::PublicKey::from_b64(&r.public_key).unwrap();
    let doc = hearth::registrar::verify_notary(&n, &pk, B_, hearth::s2s::now_ms()).unwrap();
    assert!(doc.verify_keys.contains_key(&new.key_id));
}

#[tokio::test]
async fn notary_answer_verifies_and_covers_a_peer_whose_key_endpoint_is_down() {
    let mut net = network(|_| {}).await;
    let r = reg(&net);
    let pk = hearth_federation::keys::PublicKey::from_b64(&r.public_key).unwrap();
    let (st, n) = r.get(&format!("/_registrar/v1/notary/{B_}")).await;
    assert_eq!(st, 200, "{n}");
    assert_eq!(n["registrar"], NAME);
    let now = hearth::s2s::now_ms();
    let doc = hearth::registrar::verify_notary(&n, &pk, B_, now).expect("notary verifies");
    let bk = net.server(B_).fed.keyring.current();
    assert_eq!(doc.verify_keys[bk.key_id()].key, bk.public_key().to_b64());
    // Tampering, another server name and another key are all refused.
    let mut t = n.clone();
    t["verified_ts"] = json!(1);
    assert!(hearth::registrar::verify_notary(&t, &pk, B_, now).is_err());
    assert!(hearth::registrar::verify_notary(&n, &pk, A_, now).is_err());
    let other = hearth_federation::keys::ServerKey::generate().public_key();
    assert!(hearth::registrar::verify_notary(&n, &other, B_, now).is_err());
    // The signature is made for the notary purpose only.
    let sig_id = sign::signatures(&n).unwrap()[NAME]
        .keys()
        .next()
        .unwrap()
        .clone();
    assert!(sign::verify_signature(Purpose::KeyDocument, &n, NAME, &sig_id, &pk).is_err());
    assert!(sign::verify_signature(Purpose::RegistrarNotary, &n, NAME, &sig_id, &pk).is_ok());
    // Unknown servers have no notary answer.
    let (st, e) = r.get("/_registrar/v1/notary/nobody.hearth.test").await;
    assert_eq!((st, e["errcode"].as_str()), (404, Some("R_NOT_FOUND")));

    // Something b signed, then b goes down: a (which never fetched b's keys) verifies it
    // through the notary fallback.
    let mut signed = json!({"what": "an object b signed", "ts": now});
    sign::sign_json(Purpose::Event, &mut signed, B_, &bk).unwrap();
    net.stop(B_);
    let a = net.server(A_);
    let fetched = a.fed.client.server_keys(B_).await.expect("keys via notary");
    assert!(fetched.verify_keys.contains_key(bk.key_id()));
    a.fed.client.ensure_key(B_, bk.key_id()).await.unwrap();
    sign::verify_signed_by(Purpose::Event, &signed, B_, &a.fed.client.keys(), now)
        .expect("verifies with notarised keys");
}

#[tokio::test]
async fn discoverable_guild_is_found_from_another_server_and_joined_through_federation() {
    if backend() == Backend::Postgres {
        // Multi-server scenario: SQLite only (registrar storage is covered on PostgreSQL by
        // the other tests of this module).
        return;
    }
    let net = network(|_| {}).await;
    let a = net.server(A_);
    let b = net.server(B_);
    let (_, owner_token) = b.register("owner").await;
    let owner = b.client(&owner_token);
    let g = create_guild(&owner, "Rustaceans Hearth").await;
    let (_, alice) = a.user("alice").await;
    // Not discoverable yet: nothing to find.
    let r = alice.get("/discovery/guilds?q=rustaceans").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["guilds"].as_array().unwrap().len(), 0);
    // Bad tags are a field error.
    let bad = owner
        .patch(
            &format!("/guilds/{}", g.id),
            json!({"discovery_tags": ["Bad Tag!"]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let p = owner
        .patch(
            &format!("/guilds/{}", g.id),
            json!({"discoverable": true, "description": "systems programming chat", "discovery_tags": ["rust", "programming"]}),
        )
        .await;
    assert_eq!(p.status, 200, "{p:?}");
    let found = eventually(20, "the guild in a's discovery search", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=rustaceans%20hearth").await;
            assert_eq!(r.status, 200, "{r:?}");
            r.body["guilds"].as_array().unwrap().first().cloned()
        }
    })
    .await;
    assert_eq!(found["name"], "Rustaceans Hearth");
    assert_eq!(found["server_name"], B_);
    assert_eq!(found["guild_id"], g.id.as_str());
    assert_eq!(found["member_count"], 1);
    assert_eq!(found["tags"], json!(["rust", "programming"]));
    assert!(found.get("signatures").is_none());
    // Filters and ranking.
    let t = alice.get("/discovery/guilds?tag=rust").await;
    assert_eq!(t.body["guilds"].as_array().unwrap().len(), 1, "{t:?}");
    let t = alice.get("/discovery/guilds?tag=cooking").await;
    assert_eq!(t.body["guilds"].as_array().unwrap().len(), 0, "{t:?}");
    let t = alice.get("/discovery/guilds?q=systems&sort=members").await;
    assert_eq!(t.body["guilds"].as_array().unwrap().len(), 1, "{t:?}");
    let t = alice.get("/discovery/guilds?limit=500").await;
    assert_eq!(t.status, 400, "{t:?}");
    // alice joins through federation with the summary's join code.
    let code = s(&found["join_code"]);
    assert_eq!(
        code,
        format!("{}@{B_}", found["invite_code"].as_str().unwrap())
    );
    let j = alice.post(&format!("/invites/{code}"), json!({})).await;
    assert_eq!(j.status, 200, "{j:?}");
    let mine = alice.get("/users/@me/guilds").await;
    assert!(
        mine.body
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "Rustaceans Hearth"),
        "{mine:?}"
    );
    // The summary follows the member count.
    eventually(20, "member_count 2 in the summary", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=rustaceans").await;
            let first = r.body["guilds"].as_array().unwrap().first().cloned()?;
            (first["member_count"] == 2).then_some(())
        }
    })
    .await;
    // The owner comes online on b (a gateway session): the next update counts them.
    let _gw = crate::gateway::Gw::identify(b, &owner_token, 1).await;
    let p = owner
        .patch(
            &format!("/guilds/{}", g.id),
            json!({"description": "systems programming chat, now with people online"}),
        )
        .await;
    assert_eq!(p.status, 200, "{p:?}");
    eventually(20, "online_count 1 in the summary", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=rustaceans").await;
            let first = r.body["guilds"].as_array().unwrap().first().cloned()?;
            (first["online_count"] == 1).then_some(())
        }
    })
    .await;
    // Private again: gone from the directory.
    let p = owner
        .patch(&format!("/guilds/{}", g.id), json!({"discoverable": false}))
        .await;
    assert_eq!(p.status, 200, "{p:?}");
    eventually(20, "the guild to disappear", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=rustaceans").await;
            r.body["guilds"]
                .as_array()
                .unwrap()
                .is_empty()
                .then_some(())
        }
    })
    .await;
    // Discoverable then deleted: gone too.
    let g2 = create_guild(&owner, "Ephemeral Guild").await;
    owner
        .patch(&format!("/guilds/{}", g2.id), json!({"discoverable": true}))
        .await;
    eventually(20, "the second guild to appear", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=ephemeral").await;
            (!r.body["guilds"].as_array().unwrap().is_empty()).then_some(())
        }
    })
    .await;
    let d = owner.delete(&format!("/guilds/{}", g2.id)).await;
    assert_eq!(d.status, 204, "{d:?}");
    eventually(20, "the deleted guild to disappear", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=ephemeral").await;
            r.body["guilds"]
                .as_array()
                .unwrap()
                .is_empty()
                .then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn servers_that_stop_answering_are_marked_stale() {
    let mut net = network(|c| {
        c.reverify_interval_ms = 200;
        c.stale_after_ms = 600;
        c.delist_after_ms = 3_600_000;
    })
    .await;
    net.stop(B_);
    let r = reg(&net);
    let e = eventually(30, "b to be marked stale", || async {
        let (st, e) = r.get(&format!("/_registrar/v1/servers/{B_}")).await;
        assert_eq!(st, 200, "{e}");
        (e["status"] == "stale").then_some(e)
    })
    .await;
    assert_eq!(e["stale"], true);
    // a keeps answering: still active.
    let (_, ea) = r.get(&format!("/_registrar/v1/servers/{A_}")).await;
    assert_eq!(ea["status"], "active", "{ea}");
    // Stale servers can be filtered out of the directory.
    let (_, list) = r.get("/_registrar/v1/servers?include_stale=false").await;
    let names: Vec<&str> = list["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![A_]);
}

#[tokio::test]
async fn handle_lookup_is_opt_in_exact_and_rate_limited() {
    let net = network(|_| {}).await;
    let r = reg(&net);
    let a = net.server(A_);
    let (_, alice) = a.user("alice").await;
    let (_, _bob) = a.user("bob").await;
    let me = alice.get("/discovery/@me").await;
    assert_eq!(me.body["discoverable"], false);
    let p = alice
        .patch("/discovery/@me", json!({"discoverable": true}))
        .await;
    assert_eq!(p.status, 200, "{p:?}");
    let bad = alice
        .patch("/discovery/@me", json!({"discoverable": "yes"}))
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    // Lookups: each one (hit or miss) counts; the bucket holds 5.
    let card = eventually(20, "alice's card", || async {
        let (st, v) = r.get(&format!("/_registrar/v1/handles/alice@{A_}")).await;
        assert_ne!(st, 429, "rate limited while waiting: {v}");
        (st == 200).then_some(v)
    })
    .await;
    assert_eq!(card["handle"], format!("alice@{A_}"));
    assert_eq!(card["username"], "alice");
    // The homeserver's client API proxies the lookup (and validates the handle first).
    let via_a = alice.get(&format!("/discovery/users/alice@{A_}")).await;
    assert_eq!(via_a.status, 200, "{via_a:?}");
    assert_eq!(via_a.body["username"], "alice");
    let bad = alice.get("/discovery/users/not-a-handle").await;
    assert_eq!(bad.status, 400, "{bad:?}");
    // Not opted in: not found; exact match only (no prefix search).
    let (st, _) = r.get(&format!("/_registrar/v1/handles/bob@{A_}")).await;
    assert_eq!(st, 404);
    let mut limited = None;
    for i in 0..10 {
        let (st, v) = r.get(&format!("/_registrar/v1/handles/user{i}@{A_}")).await;
        if st == 429 {
            limited = Some(v);
            break;
        }
        assert_eq!(st, 404, "{v}");
    }
    let v = limited.expect("handle enumeration must be rate limited");
    assert_eq!(v["errcode"], "R_RATE_LIMITED");
    assert!(v["retry_after_ms"].as_u64().unwrap() > 0, "{v}");
    // Opting out removes the card (seen through the storage, the lookup bucket is empty).
    alice
        .patch("/discovery/@me", json!({"discoverable": false}))
        .await;
    eventually(20, "alice's card to disappear", || async {
        r.core
            .db
            .handle(&format!("alice@{A_}"))
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_errors() {
    let net = network(|c| c.max_body_bytes = 16 * 1024).await;
    let r = reg(&net);
    let a = net.server(A_);
    let code = |v: &Value| v["errcode"].as_str().unwrap_or("").to_owned();
    // Oversize body.
    let big = json!({"name": "x".repeat(20 * 1024)});
    let (st, e) = r
        .signed(
            a,
            Method::PUT,
            &format!("/_registrar/v1/servers/{A_}/guilds/1"),
            Some(&big),
        )
        .await;
    assert_eq!((st, code(&e).as_str()), (413, "R_TOO_LARGE"), "{e}");
    // Malformed names.
    for bad in ["Bad_Name", "127.0.0.1", "a..b"] {
        let (st, e) = r.get(&format!("/_registrar/v1/servers/{bad}")).await;
        assert_eq!((st, code(&e).as_str()), (400, "R_BAD_NAME"), "{bad}: {e}");
    }
    let (st, e) = r.get("/_registrar/v1/handles/not-a-handle").await;
    assert_eq!((st, code(&e).as_str()), (400, "R_BAD_NAME"), "{e}");
    // Bad request signature.
    let path = format!("/_registrar/v1/servers/{A_}/challenge");
    let auth = a
        .fed
        .client
        .authorization(NAME, &Method::POST, &path, b"{}")
        .unwrap();
    let sig_at = auth.find("sig=\"").unwrap() + 5;
    let mut forged = auth.clone().into_bytes();
    forged[sig_at] = if forged[sig_at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (st, e) = r
        .req(Method::POST, &path, Some(&forged), Some(b"{}".to_vec()))
        .await;
    assert_eq!((st, code(&e).as_str()), (401, "H_BAD_SIGNATURE"), "{e}");
    // No signature at all; wrong destination.
    let (st, e) = r.req(Method::POST, &path, None, Some(b"{}".to_vec())).await;
    assert_eq!(st, 401, "{e}");
    let auth = a
        .fed
        .client
        .authorization("elsewhere.hearth.test", &Method::POST, &path, b"{}")
        .unwrap();
    let (st, e) = r
        .req(Method::POST, &path, Some(&auth), Some(b"{}".to_vec()))
        .await;
    assert_eq!((st, code(&e).as_str()), (421, "H_WRONG_DESTINATION"), "{e}");
    // Replay of a valid signed request.
    let auth = a
        .fed
        .client
        .authorization(NAME, &Method::POST, &path, b"{}")
        .unwrap();
    let (st, _) = r
        .req(Method::POST, &path, Some(&auth), Some(b"{}".to_vec()))
        .await;
    assert_eq!(st, 200);
    let (st, e) = r
        .req(Method::POST, &path, Some(&auth), Some(b"{}".to_vec()))
        .await;
    assert_eq!((st, code(&e).as_str()), (401, "H_REPLAYED"), "{e}");
    // Malformed JSON.
    let body = b"{not json".to_vec();
    let auth = a
        .fed
        .client
        .authorization(
            NAME,
            &Method::PUT,
            &format!("/_registrar/v1/servers/{A_}"),
            &body,
        )
        .unwrap();
    let (st, e) = r
        .req(
            Method::PUT,
            &format!("/_registrar/v1/servers/{A_}"),
            Some(&auth),
            Some(body),
        )
        .await;
    assert_eq!((st, code(&e).as_str()), (400, "R_MALFORMED"), "{e}");
    // A guild summary with a bad signature, one signed for another purpose, and one with a
    // missing field.
    let mut summary = json!({
        "server_name": A_, "guild_id": "42", "name": "Forged", "description": null,
        "icon": null, "member_count": 1, "online_count": 0, "tags": [], "language": "en-US",
        "invite_code": "abcdEFGH", "last_activity_ts": 1, "ts": hearth::s2s::now_ms(),
    });
    let key = a.fed.keyring.current();
    let mut other = summary.clone();
    sign::sign_json(Purpose::Event, &mut other, A_, &key).unwrap();
    sign::sign_json(Purpose::GuildSummary, &mut summary, A_, &key).unwrap();
    let mut tampered = summary.clone();
    tampered["member_count"] = json!(1_000_000);
    let gpath = format!("/_registrar/v1/servers/{A_}/guilds/42");
    for (v, want) in [(&tampered, "H_BAD_SIGNATURE"), (&other, "H_BAD_SIGNATURE")] {
        let (st, e) = r.signed(a, Method::PUT, &gpath, Some(v)).await;
        assert_eq!((st, code(&e).as_str()), (401, want), "{e}");
    }
    let mut missing = summary.clone();
    missing.as_object_mut().unwrap().remove("invite_code");
    let (st, e) = r.signed(a, Method::PUT, &gpath, Some(&missing)).await;
    assert_eq!((st, code(&e).as_str()), (400, "R_MALFORMED"), "{e}");
    let (st, e) = r
        .signed(
            a,
            Method::PUT,
            &format!("/_registrar/v1/servers/{A_}/guilds/nope"),
            Some(&summary),
        )
        .await;
    assert_eq!((st, code(&e).as_str()), (400, "R_MALFORMED"), "{e}");
    // The correctly signed summary is accepted.
    let (st, e) = r.signed(a, Method::PUT, &gpath, Some(&summary)).await;
    assert_eq!(st, 200, "{e}");
    // Bad search parameters.
    for q in [
        "limit=0",
        "limit=51",
        "sort=weird",
        "offset=-1",
        "tag=Not%20A%20Tag",
    ] {
        let (st, e) = r.get(&format!("/_registrar/v1/guilds?{q}")).await;
        assert_eq!((st, code(&e).as_str()), (400, "R_MALFORMED"), "{q}: {e}");
    }
    // Unknown endpoint, wrong method.
    let (st, e) = r.get("/_registrar/v1/nothing").await;
    assert_eq!((st, code(&e).as_str()), (404, "R_NOT_FOUND"));
    let (st, _) = r
        .req(Method::POST, "/_registrar/v1/guilds", None, None)
        .await;
    assert_eq!(st, 405);
}

#[tokio::test]
async fn registrar_storage_search_deny_list_and_delisting() {
    // Runs on this backend's storage (PostgreSQL with HEARTH_TEST_DATABASE=postgres).
    let net = network(|_| {}).await;
    let r = reg(&net);
    let a = net.server(A_);
    let b = net.server(B_);
    let db = &r.core.db;
    // Synthetic summaries of b for ranking, filters and pagination.
    let key = b.fed.keyring.current();
    for (i, (name, members, tags, lang, activity)) in [
        ("Rust Beginners", 10, vec!["rust"], "en-US", 5),
        ("Advanced Rust", 50, vec!["rust", "advanced"], "en-US", 1),
        ("Rouille", 5, vec!["rust"], "fr", 9),
        ("Gardening 100%", 500, vec!["garden"], "en-GB", 3),
    ]
    .into_iter()
    .enumerate()
    {
        let mut v = json!({
            "server_name": B_, "guild_id": format!("{}", 100 + i), "name": name,
            "description": format!("about {name}"), "icon": null, "member_count": members,
            "online_count": 0, "tags": tags, "language": lang, "invite_code": format!("code{i}"),
            "last_activity_ts": activity, "ts": hearth::s2s::now_ms(),
        });
        sign::sign_json(Purpose::GuildSummary, &mut v, B_, &key).unwrap();
        let (st, e) = r
            .signed(
                b,
                Method::PUT,
                &format!("/_registrar/v1/servers/{B_}/guilds/{}", 100 + i),
                Some(&v),
            )
            .await;
        assert_eq!(st, 200, "{e}");
    }
    let names = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| s(&x["name"]))
            .collect()
    };
    let (_, v) = r.get("/_registrar/v1/guilds?q=rust").await;
    assert_eq!(v["total"], 3, "{v}");
    // Name matches first, then members: "Rouille" only matches by tag.
    assert_eq!(
        names(&v),
        vec!["Advanced Rust", "Rust Beginners", "Rouille"]
    );
    let (_, v) = r.get("/_registrar/v1/guilds?q=rust&sort=activity").await;
    assert_eq!(
        names(&v),
        vec!["Rouille", "Rust Beginners", "Advanced Rust"]
    );
    let (_, v) = r.get("/_registrar/v1/guilds?tag=rust&language=en").await;
    assert_eq!(names(&v), vec!["Advanced Rust", "Rust Beginners"]);
    let (_, v) = r
        .get("/_registrar/v1/guilds?min_members=20&sort=members")
        .await;
    assert_eq!(names(&v), vec!["Gardening 100%", "Advanced Rust"]);
    // LIKE wildcards in queries are literal.
    let (_, v) = r.get("/_registrar/v1/guilds?q=100%25").await;
    assert_eq!(names(&v), vec!["Gardening 100%"]);
    let (_, v) = r.get("/_registrar/v1/guilds?q=_").await;
    assert_eq!(v["total"], 0, "{v}");
    // Pagination.
    let (_, p1) = r
        .get("/_registrar/v1/guilds?server=b.hearth.test&limit=3")
        .await;
    assert_eq!(p1["total"], 4);
    assert_eq!(p1["next_offset"], 3);
    let (_, p2) = r
        .get("/_registrar/v1/guilds?server=b.hearth.test&limit=3&offset=3")
        .await;
    assert_eq!(names(&p2).len(), 1);
    assert!(p2["next_offset"].is_null(), "{p2}");
    // Operator delisting: b disappears from the directory and search, cannot re-register.
    assert!(r.core.set_delisted(B_, true, "spam").await.unwrap());
    let (st, _) = r.get(&format!("/_registrar/v1/servers/{B_}")).await;
    assert_eq!(st, 404);
    let (_, v) = r.get("/_registrar/v1/guilds?q=rust").await;
    assert_eq!(v["total"], 0, "{v}");
    let (st, e) = r
        .signed(
            b,
            Method::POST,
            &format!("/_registrar/v1/servers/{B_}/challenge"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_DELISTED")),
        "{e}"
    );
    assert!(r.core.set_delisted(B_, false, "").await.unwrap());
    let (st, _) = r.get(&format!("/_registrar/v1/servers/{B_}")).await;
    assert_eq!(st, 200);
    // Deny list: a is refused from then on.
    db.deny("*.hearth.test", "test", 1).await.unwrap();
    let (st, e) = r
        .signed(
            a,
            Method::POST,
            &format!("/_registrar/v1/servers/{A_}/challenge"),
            Some(&json!({})),
        )
        .await;
    assert_eq!((st, e["errcode"].as_str()), (403, Some("R_DENIED")), "{e}");
    assert!(db.undeny("*.hearth.test").await.unwrap());
    let (st, _) = r
        .signed(
            a,
            Method::POST,
            &format!("/_registrar/v1/servers/{A_}/challenge"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(st, 200);
    // The signing key persists across restarts of the registrar's storage.
    let k = hearth_registrar::core::load_or_create_key(db)
        .await
        .unwrap();
    assert_eq!(k.public_key().to_b64(), r.public_key);
}

#[tokio::test]
async fn registrar_down_does_not_block_federation() {
    // A homeserver whose registrar is unreachable starts, serves and federates.
    let net = TestNetwork::start_with(&["a.hearth.test", "b.hearth.test"], |_, c| {
        c.registrar.url = Some("https://registrar.hearth.test:1".into());
    })
    .await;
    let a = net.server(A_);
    let b = net.server(B_);
    let v = a
        .fed
        .request(B_, Method::GET, "/_hearth/federation/v1/ping", None)
        .await
        .expect("federation works without the registrar");
    assert_eq!(v["origin"], A_);
    let mut st = b.registrar.as_ref().unwrap().status();
    tokio::time::timeout(
        Duration::from_secs(20),
        st.wait_for(|s| s.last_error.is_some()),
    )
    .await
    .expect("the link reports its failure")
    .unwrap();
    assert_eq!(st.borrow().registrations, 0);
    // ... and records it for `hearth admin registrar status` (written just after).
    eventually(10, "the link's failure recorded", async || {
        let states = b.hearth.db.registrar_states().await.unwrap();
        states.len() == 1 && states[0].registrations == 0 && states[0].last_error.is_some()
    })
    .await;
    // Clients get a clear 503 from discovery.
    let (_, alice) = a.user("alice").await;
    let r = alice.get("/discovery/guilds?q=x").await;
    assert_eq!(r.status, 503, "{r:?}");
}

#[tokio::test]
async fn outbound_fetches_refuse_private_addresses_unless_allowed() {
    // The test homeservers live on 127.0.0.x: a registrar with the default address policy
    // refuses to fetch their key and challenge documents.
    let net = TestNetwork::start_with_registrar(
        &["a.hearth.test", "b.hearth.test"],
        |_, _| {},
        |c| c.outbound.allow_private_addresses = false,
    )
    .await;
    let r = reg(&net);
    let a = net.server(A_);
    let (st, e) = r
        .signed(
            a,
            Method::POST,
            &format!("/_registrar/v1/servers/{A_}/challenge"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        (st, e["errcode"].as_str()),
        (403, Some("R_VERIFICATION_FAILED")),
        "{e}"
    );
    assert!(s(&e["error"]).contains("refused"), "{e}");
    // The homeserver's link reports the failure and keeps retrying in the background.
    let mut st = a.registrar.as_ref().unwrap().status();
    tokio::time::timeout(
        Duration::from_secs(20),
        st.wait_for(|s| s.last_error.is_some()),
    )
    .await
    .expect("the link reports its failure")
    .unwrap();
    let (st, _) = r.get(&format!("/_registrar/v1/servers/{A_}")).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn discovery_falls_back_to_the_endpoint_the_registrar_verified() {
    let net = network(|_| {}).await;
    let a = net.server(A_);
    // b vanishes from the DNS a uses (a never resolved it); the registrar found it before.
    net.remove_records(B_).await;
    assert!(a.fed.discovery.resolve(B_).await.is_err());
    let v = a
        .fed
        .request(B_, Method::GET, "/_hearth/federation/v1/ping", None)
        .await
        .expect("federation reaches b through the registrar's endpoint");
    assert_eq!(v["origin"], A_);
    assert_eq!(v["destination"], B_);
    // The endpoint is part of the signed notary answer.
    let (_, n) = reg(&net).get(&format!("/_registrar/v1/notary/{B_}")).await;
    assert_eq!(n["endpoint"]["host"], B_, "{n}");
    assert_eq!(n["endpoint"]["port"], net.port, "{n}");
}

#[tokio::test]
async fn every_request_counts_against_the_client_rate_limit() {
    let r = TestRegistrar::standalone(|c| {
        c.rate_limits.per_client = Bucket {
            limit: 3,
            per_seconds: 3600.0,
        };
    })
    .await;
    for _ in 0..3 {
        let (st, v) = r.get("/_registrar/v1/info").await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["server_name"], NAME);
    }
    let (st, v) = r.get("/_registrar/v1/servers").await;
    assert_eq!(
        (st, v["errcode"].as_str()),
        (429, Some("R_RATE_LIMITED")),
        "{v}"
    );
    assert!(v["retry_after_ms"].as_u64().unwrap() > 0, "{v}");
}

/// On a cluster the registrar sync runs on one node, yet a guild made discoverable through
/// another node is listed at once, not at the next full sync (an hour later by default):
/// every node records in Redis the guilds its changes touch, and the node running the sync
/// takes them every second. The server runs two nodes on PostgreSQL and Redis whatever
/// `HEARTH_TEST_DATABASE` says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_guild_made_discoverable_through_another_node_is_listed_before_the_next_full_sync() {
    let suffix = crate::harness::unique_suffix();
    let scratch = crate::nodes::Scratch {
        database: format!("hearth_regsync_{suffix}"),
        prefix: format!("hearth-test-{suffix}:"),
    };
    crate::harness::create_pg_database(&scratch.database).await;
    let url = hearth_testkit::db::pg_url(&scratch.database);
    let net = TestNetwork::start_with_registrar(
        &[A_, B_],
        |name, c| {
            if name == B_ {
                c.database_url = Some(url.clone());
                c.cluster.redis_url = Some(crate::cluster::REDIS.into());
                c.cluster.redis_key_prefix = scratch.prefix.clone();
            }
        },
        |_| {},
    )
    .await;
    wait_synced(net.server(A_)).await;
    let b = net.server(B_);
    wait_synced(b).await;
    let b2 = b.another_node(|_| {}).await;
    let (_, owner_token) = b.register("owner").await;
    let owner = b2.client(&owner_token);
    let g = create_guild(&owner, "Clustered Hearth").await;
    let p = owner
        .patch(
            &format!("/guilds/{}", g.id),
            json!({"discoverable": true, "description": "two nodes", "discovery_tags": ["cluster"]}),
        )
        .await;
    assert_eq!(p.status, 200, "{p:?}");
    let (_, alice) = net.server(A_).user("alice").await;
    let found = eventually(20, "the guild in a's discovery search", || {
        let alice = alice.clone();
        async move {
            let r = alice.get("/discovery/guilds?q=clustered").await;
            assert_eq!(r.status, 200, "{r:?}");
            r.body["guilds"].as_array().unwrap().first().cloned()
        }
    })
    .await;
    assert_eq!(found["guild_id"], g.id.as_str());
    assert_eq!(found["server_name"], B_);
    // Node 1 ran the sync (one full sync, at its start); node 2 never did.
    let status = |srv: &TestServer| srv.registrar.as_ref().unwrap().status().borrow().clone();
    assert_eq!(status(b).full_syncs, 1, "{:?}", status(b));
    assert_eq!(status(&b2).full_syncs, 0, "{:?}", status(&b2));
}
