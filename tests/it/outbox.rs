//! The federation outbox (spec/federation.md §8, issue 12 defect 8): a host killed with
//! SIGKILL during a burst of sends by its users loses no acknowledged message for its member
//! servers. The host is the built `hearth` binary as a child process (so it can really be
//! killed), the member server runs in this process; they federate over TLS with the test
//! DNS and CA of the test kit's `FedNet`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hearth_testkit::build;
use hearth_testkit::config::{cheap_hashing, env_vars, unlimited};
use hearth_testkit::fednet::FedNet;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::{Backend, TestServer, backend, eventually, s, unique_suffix};
use crate::network::ZONE;

const MEMBER: &str = "a.hearth.test";
const HOST: &str = "b.hearth.test";

/// Users of the host sending at once.
const SENDERS: usize = 8;
/// Acknowledged sends before the kill.
const KILL_AFTER: usize = 60;
/// How long the restarted host may take to deliver what it acknowledged. These tests are
/// about loss, not latency: on a loaded machine (the whole suite in parallel) the member
/// applies the host's rounds slowly, rounds outlast `federation.request_timeout_ms` and are
/// retried after a backoff, so delivery can take well over the default 30 s of patience.
const REDELIVERY: std::time::Duration = std::time::Duration::from_secs(150);

/// The host: `hearth serve` as a child process on a data folder (and database) that
/// survives its restarts.
struct Host {
    env: Vec<(String, String)>,
    dir: PathBuf,
    pg: Option<String>,
    base: String,
    child: Option<tokio::process::Child>,
}

impl Host {
    async fn new(net: &FedNet, i: usize) -> Host {
        let suffix = unique_suffix();
        let dir = std::env::temp_dir().join(format!("hearth_outbox_{suffix}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = hearth_testkit::config::test_config(dir.clone());
        net.configure(i, &mut c);
        let mut env = vec![
            ("HEARTH_LISTEN".to_string(), format!("127.0.0.1:{port}")),
            ("HEARTH_DATA_DIR".into(), dir.display().to_string()),
            ("HEARTH_SERVER_NAME".into(), c.server_name.clone()),
            ("HEARTH_LOG".into(), "warn".into()),
        ];
        env.extend(env_vars("HEARTH_FEDERATION", &c.federation));
        env.extend(env_vars("HEARTH_RATE_LIMITS", &unlimited()));
        let mut h = hearth::config::PasswordHashing::default();
        cheap_hashing(&mut h);
        env.extend(env_vars("HEARTH_PASSWORD_HASHING", &h));
        let pg = match backend() {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("hearth_test_{suffix}");
                hearth_testkit::db::create_pg_database(&name)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                env.push((
                    "HEARTH_DATABASE_URL".into(),
                    hearth_testkit::db::pg_url(&name),
                ));
                Some(name)
            }
        };
        Host {
            env,
            dir,
            pg,
            base: format!("http://127.0.0.1:{port}/api/v10"),
            child: None,
        }
    }

    /// Starts the binary and waits until it answers `/ready`.
    async fn start(&mut self) {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
        cmd.envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        self.child = Some(cmd.spawn().expect("spawn hearth"));
        let ready = self.base.replace("/api/v10", "/ready");
        let http = hearth_testkit::rest::http_client();
        let child = self.child.as_mut().unwrap();
        eventually("the host answers /ready", async || {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the host exited at start"
            );
            http.get(&ready)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    /// SIGKILL, then waits for the process to be gone.
    async fn kill(&mut self) {
        let mut c = self.child.take().expect("running");
        c.start_kill().expect("SIGKILL");
        let _ = c.wait().await;
    }

    fn client(&self, token: &str) -> hearth_testkit::rest::Client {
        hearth_testkit::rest::Client::new(hearth_testkit::rest::http_client(), &self.base)
            .bearer(token)
    }

    fn anon(&self) -> hearth_testkit::rest::Client {
        hearth_testkit::rest::Client::new(hearth_testkit::rest::http_client(), &self.base)
    }

    /// The host's database (for checks of its log).
    async fn db(&self) -> hearth::storage::Db {
        let mut c = hearth_testkit::config::test_config(self.dir.clone());
        if let Some(p) = &self.pg {
            c.database_url = Some(hearth_testkit::db::pg_url(p));
        }
        hearth::storage::Db::connect(&c).await.expect("host db")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(db) = self.pg.take() {
            hearth_testkit::db::drop_pg_database(db);
        }
    }
}

fn v4(i: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 0, 0, 2 + i as u8)
}

/// Every message of a channel, oldest first (paging through `before`).
async fn history(c: &hearth_testkit::rest::Client, channel: &str) -> Vec<Value> {
    let mut all = vec![];
    let mut before: Option<String> = None;
    loop {
        let q = match &before {
            Some(b) => format!("/channels/{channel}/messages?limit=100&before={b}"),
            None => format!("/channels/{channel}/messages?limit=100"),
        };
        let r = c.get(&q).await;
        assert_eq!(r.status, 200, "{r:?}");
        let page = r.body.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        before = Some(s(&page.last().unwrap()["id"]));
        all.extend(page);
    }
    all.reverse();
    all
}

/// `expected` (contents in host order) occurs exactly once each in `seen`, in that order.
fn exactly_once_in_order(what: &str, seen: &[String], expected: &[String]) {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for c in seen {
        *count.entry(c.as_str()).or_default() += 1;
    }
    let dup: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "{what}: delivered more than once: {dup:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| !count.contains_key(e.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: {} acknowledged messages never arrived: {missing:?}",
        missing.len()
    );
    let pos: HashMap<&str, usize> = seen
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let order: Vec<usize> = expected.iter().map(|e| pos[e.as_str()]).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{what}: acknowledged messages out of the host's order"
    );
}

/// A host (child process) with a guild whose users are an owner and `senders` senders, and
/// alice of the member server (in this process) in it, her gateway past its GUILD_CREATE.
struct World {
    _net: FedNet,
    _member: TestServer,
    host: Host,
    owner: String,
    senders: Vec<String>,
    g: build::Guild,
    alice: hearth_testkit::rest::Client,
    gw: Gw,
    /// The guild's GUILD_CREATE on alice's gateway (member-side ids).
    gc: Value,
}

impl World {
    async fn start(senders: usize) -> World {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let net = FedNet::start(ZONE, &[MEMBER, HOST], v4, |_| false)
            .await
            .unwrap_or_else(|e| panic!("test network: {e}"));
        // Alice's gateway is read only after the redelivery (up to `REDELIVERY`): her session
        // must not time out for want of heartbeats meanwhile (1.5 intervals).
        let member = TestServer::start_with(|c| {
            net.configure(0, c);
            c.gateway.heartbeat_interval_ms = 2 * REDELIVERY.as_millis() as u64;
        })
        .await;
        let mut host = Host::new(&net, 1).await;
        host.start().await;
        let owner = build::register(&host.anon(), "owner")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let g = build::create_guild(&host.client(&owner.token), "Outbox")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tokens = vec![];
        for i in 0..senders {
            let u = build::register(&host.anon(), &format!("sender{i}"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            build::join(&host.client(&u.token), &g.invite)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tokens.push(u.token);
        }
        let (_, alice_tok) = member.register("alice").await;
        let alice = member.client(&alice_tok);
        let mut gw = Gw::identify(&member, &alice_tok, GUILDS | GUILD_MESSAGES).await;
        let r = alice
            .post(&format!("/invites/{}@{HOST}", g.invite), json!({}))
            .await;
        assert_eq!(r.status, 200, "alice joins through her server: {r:?}");
        let gc = gw.expect("GUILD_CREATE").await;
        World {
            _net: net,
            _member: member,
            host,
            owner: owner.token,
            senders: tokens,
            g,
            alice,
            gw,
            gc,
        }
    }

    /// The member-side id of the guild's channel `name`.
    fn channel(&self, name: &str) -> String {
        s(&self.gc["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["id"])
    }

    /// After the host's restart: its log is gapless and its outbox drains.
    async fn check_host_log(&self) -> usize {
        let db = self.host.db().await;
        let gid: i64 = self.g.id.parse().unwrap();
        let rows = db.log_range(gid, 0, 10_000).await.unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        eventually("the outbox is drained", async || {
            db.outbox_take(10).await.unwrap().is_empty()
        })
        .await;
        db.close().await;
        seqs.len()
    }

    /// Reads alice's gateway until every one of `expected` arrived as a `t` dispatch (or 8 s
    /// pass without one), then what a heartbeat flushes; returns `key` of each such dispatch.
    async fn collect(
        &mut self,
        t: &str,
        key: impl Fn(&Value) -> String,
        expected: &[String],
    ) -> Vec<String> {
        let mut seen: Vec<String> = vec![];
        while !expected.iter().all(|e| seen.contains(e)) {
            // Nothing for a while: the rest is lost (reported by the caller).
            let Ok(v) =
                tokio::time::timeout(std::time::Duration::from_secs(8), self.gw.next()).await
            else {
                break;
            };
            let v = v.expect("member gateway open");
            if v["op"] == 0 && v["t"] == t {
                seen.push(key(&v["d"]));
            }
        }
        // Anything still queued (a duplicate would follow its original).
        let seq = self.gw.seq;
        self.gw.send(json!({"op": 1, "d": seq})).await;
        loop {
            let v = self.gw.next().await.expect("member gateway open");
            if v["op"] == 11 {
                break;
            }
            if v["op"] == 0 && v["t"] == t {
                seen.push(key(&v["d"]));
            }
        }
        seen
    }
}

#[tokio::test]
async fn acknowledged_sends_reach_member_servers_after_the_host_is_killed() {
    let mut w = World::start(SENDERS).await;
    let general = w.channel("general");
    // The burst: every sender sends in a loop; the host is killed after KILL_AFTER acks.
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let mut tasks = vec![];
    for (i, tok) in w.senders.iter().enumerate() {
        let c = w.host.client(tok);
        let (acked, count) = (acked.clone(), count.clone());
        let channel = w.g.general.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let content = format!("s{i}-{n}");
                let r = c
                    .try_send(
                        Method::POST,
                        &format!("/channels/{channel}/messages"),
                        Some(json!({"content": content})),
                    )
                    .await;
                match r {
                    Ok(r) if r.status == 200 => {
                        let id: i64 = s(&r.body["id"]).parse().unwrap();
                        acked.lock().push((id, content));
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        }));
    }
    eventually("enough acknowledged sends", async || {
        count.load(Ordering::SeqCst) >= KILL_AFTER
    })
    .await;
    w.host.kill().await;
    for t in tasks {
        t.await.unwrap();
    }
    let mut acked = std::mem::take(&mut *acked.lock());
    acked.sort();
    let expected: Vec<String> = acked.into_iter().map(|(_, c)| c).collect();
    assert!(expected.len() >= KILL_AFTER);

    // Restarted on the same data, the host delivers what it acknowledged.
    w.host.start().await;
    let restarted = std::time::Instant::now();
    let mut hist: Vec<String> = vec![];
    let arrived = hearth_testkit::wait::Patience::within(REDELIVERY)
        .every(std::time::Duration::from_millis(200))
        .until(
            "acknowledged messages in the member's history",
            async || {
                hist = history(&w.alice, &general)
                    .await
                    .iter()
                    .map(|m| s(&m["content"]))
                    .collect();
                expected.iter().all(|e| hist.contains(e))
            },
        )
        .await;
    // On failure, say which messages are missing.
    let _ = arrived;
    let redelivered = restarted.elapsed();
    exactly_once_in_order("member history", &hist, &expected);
    let seen = w
        .collect("MESSAGE_CREATE", |d| s(&d["content"]), &expected)
        .await;
    exactly_once_in_order("member gateway", &seen, &expected);
    let events = w.check_host_log().await;
    eprintln!(
        "{} sends acknowledged before the kill, delivered {redelivered:?} after the restart; \
         host log of {events} events",
        expected.len()
    );
}

/// Acknowledged role creations and channel edits of the owner.
const CHANGES_BEFORE_KILL: usize = 30;

#[tokio::test]
async fn acknowledged_guild_changes_reach_member_servers_after_the_host_is_killed() {
    let mut w = World::start(0).await;
    let general = w.channel("general");
    let owner = w.host.client(&w.owner);
    // The burst: the owner creates roles and rewrites the channel's topic, at once, in loops;
    // the host is killed after CHANGES_BEFORE_KILL acknowledged roles.
    let roles: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let topics: Arc<Mutex<Vec<u64>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let role_task = {
        let (c, roles, count, gid) = (owner.clone(), roles.clone(), count.clone(), w.g.id.clone());
        tokio::spawn(async move {
            for n in 0.. {
                let name = format!("r{n}");
                match c
                    .try_send(
                        Method::POST,
                        &format!("/guilds/{gid}/roles"),
                        Some(json!({"name": name})),
                    )
                    .await
                {
                    Ok(r) if r.status == 200 => {
                        roles.lock().push((s(&r.body["id"]).parse().unwrap(), name));
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        })
    };
    let topic_task = {
        let (c, topics, channel) = (owner.clone(), topics.clone(), w.g.general.clone());
        tokio::spawn(async move {
            for n in 0u64.. {
                match c
                    .try_send(
                        Method::PATCH,
                        &format!("/channels/{channel}"),
                        Some(json!({"topic": format!("t{n}")})),
                    )
                    .await
                {
                    Ok(r) if r.status == 200 => topics.lock().push(n),
                    _ => return,
                }
            }
        })
    };
    eventually("enough acknowledged changes", async || {
        count.load(Ordering::SeqCst) >= CHANGES_BEFORE_KILL
    })
    .await;
    w.host.kill().await;
    role_task.await.unwrap();
    topic_task.await.unwrap();
    let mut roles = std::mem::take(&mut *roles.lock());
    roles.sort();
    let expected: Vec<String> = roles.into_iter().map(|(_, n)| n).collect();
    let last_topic = topics.lock().last().copied();

    // Restarted, the host delivers every acknowledged change: each role exists once on the
    // member server and the topic is the last acknowledged one (or a later one whose answer
    // the kill cut off).
    w.host.start().await;
    let restarted = std::time::Instant::now();
    // The topic edits and the role creations interleave in the host's log, so the last
    // acknowledged topic may come after the last acknowledged role: wait for both.
    let roles_path = format!("/guilds/{}/roles", s(&w.gc["id"]));
    let channel_path = format!("/channels/{general}");
    // 0 until a topic arrives (the member's channel has none before the first edit applied).
    let topic_number = |body: &Value| -> u64 {
        body["topic"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches('t')
            .parse()
            .unwrap_or(0)
    };
    let mut names: Vec<String> = vec![];
    let mut got_topic = 0;
    let _ = hearth_testkit::wait::Patience::within(REDELIVERY)
        .every(std::time::Duration::from_millis(200))
        .until(
            "acknowledged roles and topic on the member server",
            async || {
                let r = w.alice.get(&roles_path).await;
                names = r
                    .body
                    .as_array()
                    .map_or(vec![], |a| a.iter().map(|x| s(&x["name"])).collect());
                got_topic = topic_number(&w.alice.get(&channel_path).await.body);
                expected.iter().all(|e| names.contains(e))
                    && last_topic.is_none_or(|t| got_topic >= t)
            },
        )
        .await;
    let redelivered = restarted.elapsed();
    for e in &expected {
        assert_eq!(
            names.iter().filter(|n| *n == e).count(),
            1,
            "role {e} on the member server: {names:?}"
        );
    }
    if let Some(t) = last_topic {
        assert!(
            got_topic >= t,
            "the member's topic t{got_topic} is older than the acknowledged t{t}"
        );
    }
    let seen = w
        .collect("GUILD_ROLE_CREATE", |d| s(&d["role"]["name"]), &expected)
        .await;
    exactly_once_in_order("member gateway", &seen, &expected);
    let events = w.check_host_log().await;
    eprintln!(
        "{} roles and {:?} topics acknowledged before the kill, delivered {redelivered:?} after \
         the restart; host log of {events} events",
        expected.len(),
        last_topic
    );
}

/// A guild becomes federated (its first member server's join) between changes, never during
/// one (spec/federation.md §9.1, §16 item 3): a change that read it was not federated
/// commits before `federate_guild` returns, so the joiner's snapshot (taken after) holds it,
/// and every change after that writes its log entry to the outbox. On PostgreSQL this is the
/// guild's join lock; SQLite serializes writers.
#[tokio::test]
async fn a_guild_becomes_federated_between_changes_never_during_one() {
    use hearth::storage::{Lock, OutboxItem};
    let ts = TestServer::start().await;
    let (_, tok) = ts.register("owner").await;
    let g = crate::harness::create_guild(&ts.client(&tok), "Joining").await;
    let gid: i64 = g.id.parse().unwrap();
    let data = json!({ "id": g.general, "name": "general" });
    let item = OutboxItem {
        guild_id: gid,
        channel_id: None,
        event: "CHANNEL_UPDATE",
        data: &data,
        actor_id: None,
        origin: None,
    };
    let mut before = ts.hearth.db.change(Lock::Nothing).await.unwrap();
    assert!(
        before.log(&[item]).await.unwrap().is_empty(),
        "not federated yet"
    );
    let mut join = tokio::spawn({
        let h = ts.hearth.clone();
        async move { h.db.federate_guild(gid).await }
    });
    // The join waits for the change that read the old answer...
    let early = tokio::time::timeout(std::time::Duration::from_millis(500), &mut join).await;
    assert!(
        early.is_err(),
        "the guild became federated under an open change that read it was not: {early:?}"
    );
    before.commit().await.unwrap();
    join.await.unwrap().unwrap();
    // ... and a change after it logs.
    let mut after = ts.hearth.db.change(Lock::Nothing).await.unwrap();
    assert_eq!(after.log(&[item]).await.unwrap(), vec![gid]);
    after.commit().await.unwrap();
    assert!(ts.hearth.db.is_federated_guild(gid).await.unwrap());
}
