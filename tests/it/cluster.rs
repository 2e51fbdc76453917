//! Scale-out (issue 18, README "Scale-out", spec/cluster.md): several nodes in one process
//! sharing one PostgreSQL database and one real Redis (127.0.0.1:6379) under a key prefix
//! of their own, removed afterwards. A cluster needs PostgreSQL, so these tests use it
//! whatever `HEARTH_TEST_DATABASE` says.

use serde_json::json;

use crate::gateway::{DIRECT_MESSAGES, GUILD_MESSAGES, GUILD_PRESENCES, GUILDS, Gw};
use crate::harness::*;

pub(crate) const MESSAGE_CONTENT: u64 = 1 << 15;
pub(crate) const REDIS: &str = "redis://127.0.0.1:6379";

/// `n` nodes on one new database and one Redis prefix; dropping it stops the nodes, drops
/// the database and deletes the prefix's keys.
pub(crate) struct TestCluster {
    pub(crate) nodes: Vec<TestServer>,
    database: String,
    prefix: String,
}

impl TestCluster {
    pub(crate) async fn start(n: usize, f: impl Fn(&mut hearth::Config)) -> TestCluster {
        let suffix = unique_suffix();
        let database = format!("hearth_cluster_{suffix}");
        create_pg_database(&database).await;
        let prefix = format!("hearth-test-{suffix}:");
        let mut nodes = vec![];
        for _ in 0..n {
            nodes.push(
                TestServer::start_node(&database, |c| {
                    c.cluster.redis_url = Some(REDIS.into());
                    c.cluster.redis_key_prefix = prefix.clone();
                    f(c);
                })
                .await,
            );
        }
        TestCluster {
            nodes,
            database,
            prefix,
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        drop_pg_database(self.database.clone());
        delete_redis_prefix(self.prefix.clone());
    }
}

/// Deletes every Redis key under `prefix` (a test's own), from a thread of its own: it may
/// be called from `Drop` inside the test's runtime.
pub(crate) fn delete_redis_prefix(prefix: String) {
    let _ = std::thread::spawn(move || {
        let Ok(client) = redis::Client::open(REDIS) else {
            return;
        };
        let Ok(mut con) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut con)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut con);
        }
    })
    .join();
}

#[test]
fn a_redis_cluster_needs_postgresql() {
    let mut c = hearth::Config::default();
    c.cluster.redis_url = Some(REDIS.into());
    let problems = c.validate();
    assert!(
        problems.iter().any(|p| p.contains("needs a PostgreSQL")),
        "{problems:?}"
    );
    c.database_url = Some("postgres://u@localhost/db".into());
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c.cluster.redis_url = Some("http://localhost".into());
    assert!(c.validate().iter().any(|p| p.contains("redis://")));
    // The single node needs no section at all.
    assert!(hearth::Config::default().validate().is_empty());
}

#[tokio::test]
async fn messages_cross_nodes_and_a_permission_change_on_one_node_filters_on_another_at_once() {
    let cl = TestCluster::start(3, |_| {}).await;
    let [n1, n2, n3] = [&cl.nodes[0], &cl.nodes[1], &cl.nodes[2]];
    let (_, alice_tok) = n1.register("alice").await;
    let (_, bob_tok) = n1.register("bob").await;
    let (carol_id, carol_tok) = n1.register("carol").await;
    // Dave is not a member: he must receive nothing of the guild on any node.
    let (_, dave_tok) = n1.register("dave").await;
    let alice1 = n1.client(&alice_tok);
    let g = create_guild(&alice1, "Cluster").await;
    join(&n2.client(&bob_tok), &g.invite).await;
    join(&n3.client(&carol_tok), &g.invite).await;

    let intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT;
    let mut bob2 = Gw::identify(n2, &bob_tok, intents).await;
    assert_eq!(bob2.expect("GUILD_CREATE").await["id"], g.id.as_str());
    let mut carol3 = Gw::identify(n3, &carol_tok, intents).await;
    assert_eq!(carol3.expect("GUILD_CREATE").await["id"], g.id.as_str());
    let mut dave3 = Gw::identify(n3, &dave_tok, intents).await;

    // A message sent through node 1 reaches the sessions on nodes 2 and 3.
    let id = say(&alice1, &g.general, "hello cluster").await;
    for gw in [&mut bob2, &mut carol3] {
        let m = gw.expect("MESSAGE_CREATE").await;
        assert_eq!(
            (m["id"].as_str(), &m["content"]),
            (Some(id.as_str()), &json!("hello cluster"))
        );
    }
    // A channel made on node 1 appears on node 3.
    let lobby = alice1
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "lobby"}),
        )
        .await;
    assert_eq!(lobby.status, 201, "{lobby:?}");
    let lobby = s(&lobby.body["id"]);
    assert_eq!(carol3.expect("CHANNEL_CREATE").await["id"], lobby.as_str());

    // Alice, through node 2, denies carol VIEW_CHANNEL on general; right after the answer a
    // message goes through node 1 into general, then one into lobby.
    let alice2 = n2.client(&alice_tok);
    let r = alice2
        .put(
            &format!("/channels/{}/permissions/{carol_id}", g.general),
            json!({"type": 1, "allow": "0", "deny": "1024"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    say(&alice1, &g.general, "secret").await;
    say(&alice1, &lobby, "public").await;
    // Carol's session on node 3: the channel disappears, then only the lobby message comes.
    assert_eq!(
        carol3.expect("CHANNEL_DELETE").await["id"],
        g.general.as_str()
    );
    let m = carol3
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "public")
        .await;
    assert_eq!(m["channel_id"], lobby.as_str());
    assert!(
        !carol3.pending.iter().any(|v| v["d"]["content"] == "secret"),
        "a hidden message reached node 3: {:?}",
        carol3.pending
    );
    // Bob (node 2) still sees both, in order.
    let secret = bob2
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "secret")
        .await;
    assert_eq!(secret["channel_id"], g.general.as_str());
    bob2.expect_where("MESSAGE_CREATE", |d| d["content"] == "public")
        .await;
    // And node 3 refuses carol the channel's history (the stored overwrite).
    let r = n3
        .client(&carol_tok)
        .get(&format!("/channels/{}/messages", g.general))
        .await;
    assert_err(&r, 403, 50001);

    // The outsider on node 3 got nothing of the guild: his own guild arrives (same user
    // stream) with no message before it.
    let own = n2
        .client(&dave_tok)
        .post("/guilds", json!({"name": "Dave's"}))
        .await;
    assert!(matches!(own.status, 200 | 201), "{own:?}");
    let gc = dave3.expect_without("GUILD_CREATE", "MESSAGE_CREATE").await;
    assert_eq!(gc["id"], own.body["id"]);
}

#[tokio::test]
async fn a_member_joining_through_another_node_receives_the_guild_and_its_next_messages() {
    let cl = TestCluster::start(2, |_| {}).await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    let (_, alice_tok) = n1.register("alice").await;
    let (_, erin_tok) = n1.register("erin").await;
    let alice1 = n1.client(&alice_tok);
    let g = create_guild(&alice1, "Joinable").await;
    // Erin's session lives on node 2, which reads nothing of the guild yet; she joins
    // through node 1.
    let mut erin2 = Gw::identify(n2, &erin_tok, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    join(&n1.client(&erin_tok), &g.invite).await;
    assert_eq!(erin2.expect("GUILD_CREATE").await["id"], g.id.as_str());
    say(&alice1, &g.general, "welcome erin").await;
    assert_eq!(
        erin2.expect("MESSAGE_CREATE").await["content"],
        "welcome erin"
    );
}

/// A user's event (here a direct message, on the user's stream) reaches a node whose guild
/// streams never rest: the reader does not starve the user streams it names beside them
/// (spec/cluster.md §3).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_direct_message_reaches_a_node_whose_guild_streams_never_rest() {
    let cl = TestCluster::start(2, |_| {}).await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    let (_, alice_tok) = n1.register("alice").await;
    let (bob_id, bob_tok) = n1.register("bob").await;
    let alice1 = n1.client(&alice_tok);
    let g = create_guild(&alice1, "Busy").await;
    join(&n2.client(&bob_tok), &g.invite).await;
    let dm = alice1
        .post("/users/@me/channels", json!({"recipient_id": bob_id}))
        .await;
    assert_eq!(dm.status, 200, "{dm:?}");
    let dm = s(&dm.body["id"]);
    let intents = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT;
    let mut bob2 = Gw::identify(n2, &bob_tok, intents).await;
    bob2.expect("GUILD_CREATE").await;
    // Four senders keep the guild's stream busy until the direct message has arrived.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = vec![];
    for i in 0..4 {
        let (c, ch, stop) = (n1.client(&alice_tok), g.general.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                say(&c, &ch, &format!("busy {i}.{n}")).await;
                n += 1;
            }
            n
        }));
    }
    let first = bob2
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == g.general.as_str())
        .await;
    assert!(first["content"].as_str().unwrap().starts_with("busy "));
    let id = say(&alice1, &dm, "a word in private").await;
    let got = bob2
        .expect_where("MESSAGE_CREATE", |d| d["channel_id"] == dm.as_str())
        .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut sent = 0;
    for t in senders {
        sent += t.await.unwrap();
    }
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["content"], "a word in private");
    assert!(sent > 4, "the guild was busy: {sent} messages");
}

#[tokio::test]
async fn a_rate_limit_is_one_bucket_across_nodes() {
    let cl = TestCluster::start(2, |c| {
        c.rate_limits.message_create = hearth::config::Bucket {
            limit: 3,
            per_seconds: 60.0,
        };
    })
    .await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    let (_, tok) = n1.register("alice").await;
    let g = create_guild(&n1.client(&tok), "Limited").await;
    let path = format!("/channels/{}/messages", g.general);
    let mut buckets = vec![];
    for (i, node) in [n1, n2, n1].into_iter().enumerate() {
        let r = node
            .client(&tok)
            .post(&path, json!({"content": format!("m{i}")}))
            .await;
        assert_eq!(r.status, 200, "message {i}: {r:?}");
        assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("3"));
        let remaining = r.header("x-ratelimit-remaining").unwrap();
        assert_eq!(remaining, (2 - i).to_string(), "message {i}: {r:?}");
        let after: f64 = r
            .header("x-ratelimit-reset-after")
            .unwrap()
            .parse()
            .unwrap();
        assert!(after > 0.0 && after <= 60.0, "{after}");
        buckets.push(r.header("x-ratelimit-bucket").unwrap());
    }
    assert!(buckets.windows(2).all(|w| w[0] == w[1]), "{buckets:?}");
    // The bucket is empty on both nodes.
    for node in [n2, n1] {
        let r = node
            .client(&tok)
            .post(&path, json!({"content": "over"}))
            .await;
        assert_eq!(r.status, 429, "{r:?}");
        let retry = r.body["retry_after"].as_f64().unwrap();
        assert!(retry > 0.0 && retry <= 20.0, "{r:?}");
        assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("0"));
    }
    // Exactly the three allowed messages were stored.
    let r = n2.client(&tok).get(&format!("{path}?limit=10")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_array().unwrap().len(), 3, "{r:?}");
}

/// A TCP relay to the real Redis that the test can cut (every connection and the listener).
struct RedisRelay {
    addr: std::net::SocketAddr,
    tasks: std::sync::Arc<parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl RedisRelay {
    async fn start() -> RedisRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        Self::serve(listener, &tasks);
        RedisRelay { addr, tasks }
    }

    /// Redis is reachable again, at the same address.
    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        Self::serve(listener, &self.tasks);
    }

    fn serve(
        listener: tokio::net::TcpListener,
        tasks: &std::sync::Arc<parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    ) {
        let t = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect("127.0.0.1:6379").await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                t.lock().push(conn);
            }
        });
        tasks.lock().push(accept);
    }

    /// Redis becomes unreachable: the listener and every relayed connection close.
    fn cut(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ready_fails_while_redis_does_not_answer() {
    let relay = RedisRelay::start().await;
    let url = format!("redis://{}", relay.addr);
    let cluster = TestCluster::start(1, |c| c.cluster.redis_url = Some(url.clone())).await;
    let ready = format!("http://{}/ready", cluster.nodes[0].addr);
    let r = reqwest::get(&ready).await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    relay.cut();
    let body = eventually("/ready turns 503 without Redis", async || {
        let r = reqwest::get(&ready).await.unwrap();
        if r.status() == 503 {
            Some(r.json::<serde_json::Value>().await.unwrap())
        } else {
            None
        }
    })
    .await;
    assert!(
        body["failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().starts_with("redis:")),
        "{body}"
    );
}

/// `GET /gateway/bot`'s `session_start_limit` for `token` on `node`.
async fn start_limit(node: &TestServer, token: &str) -> serde_json::Value {
    let r = node.client(token).get("/gateway/bot").await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["session_start_limit"].clone()
}

#[tokio::test]
async fn session_starts_are_one_budget_across_nodes() {
    let cl = TestCluster::start(2, |c| c.gateway.session_start_limit = 2).await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    let (_, bob_tok) = n1.register("bob").await;
    let (_, alice_tok) = n1.register("alice").await;
    let fresh = start_limit(n2, &bob_tok).await;
    assert_eq!(fresh["remaining"], 2, "{fresh}");
    assert_eq!(fresh["reset_after"], 86_400_000u64, "{fresh}");
    // One start on each node: both nodes report the shared window.
    let _a = Gw::identify(n1, &bob_tok, GUILDS).await;
    let one = start_limit(n2, &bob_tok).await;
    assert_eq!(one["remaining"], 1, "{one}");
    let reset = one["reset_after"].as_u64().expect("reset_after in ms");
    assert!(reset > 0 && reset <= 86_400_000, "{one}");
    let _b = Gw::identify(n2, &bob_tok, GUILDS).await;
    assert_eq!(start_limit(n1, &bob_tok).await["remaining"], 0);
    // A third start is refused with 4008 on either node; another user keeps his budget.
    for node in [n1, n2] {
        let mut third = Gw::connect(node, "v=10&encoding=json").await;
        third.send(json!({"op": 2, "d": {"token": bob_tok, "intents": GUILDS, "properties": {"os": "linux", "browser": "test", "device": "test"}}})).await;
        assert_eq!(third.closed().await, Some(4008));
    }
    assert_eq!(start_limit(n1, &bob_tok).await["remaining"], 0);
    let _c = Gw::identify(n2, &alice_tok, GUILDS).await;
    assert_eq!(start_limit(n1, &alice_tok).await["remaining"], 1);
}

#[tokio::test]
async fn address_throttles_are_one_bucket_across_nodes() {
    let two = hearth::config::Bucket {
        limit: 2,
        per_seconds: 600.0,
    };
    let cl = TestCluster::start(2, |c| {
        c.rate_limits.register_per_ip = two;
        c.rate_limits.login_per_ip = two;
    })
    .await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    // Two registrations from one address, one through each node; a third is refused on
    // either node.
    n1.register("first").await;
    n2.register("second").await;
    for node in [n1, n2] {
        let r = node
            .anon()
            .post(
                "/auth/register",
                json!({"username": "third", "password": password_of("third")}),
            )
            .await;
        assert_eq!(r.status, 429, "{r:?}");
        assert!(r.body["retry_after"].as_f64().unwrap() > 0.0, "{r:?}");
    }
    // The same for logins.
    let login = json!({"login": "first", "password": password_of("first")});
    assert_eq!(
        n1.anon().post("/auth/login", login.clone()).await.status,
        200
    );
    assert_eq!(
        n2.anon().post("/auth/login", login.clone()).await.status,
        200
    );
    let r = n1.anon().post("/auth/login", login).await;
    assert_eq!(r.status, 429, "{r:?}");
    // Nothing of the refused registration was stored.
    assert!(n2.hearth.db.user_by_login("third").await.unwrap().is_none());
}

/// Failed logins, re-authentications and second-factor attempts count once across the
/// nodes (the login backoff's counters and `mfa.attempts_per_account` in Redis,
/// spec/cluster.md §8): failures spread over two nodes hold the account back on both, as
/// on one node.
#[tokio::test]
async fn login_failures_and_second_factor_attempts_count_across_nodes() {
    use crate::mfa::{SECRET, code_at, enable, ticket};
    let cl = TestCluster::start(2, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.rate_limits.login_per_ip = hearth::config::Bucket {
            limit: 1000,
            per_seconds: 1.0,
        };
        c.rate_limits.login_backoff = hearth::config::LoginBackoff {
            free_per_pair: 2,
            free_per_address: 100,
            free_per_account: 100,
            base_seconds: 600.0,
            max_seconds: 600.0,
            forget_seconds: 3600.0,
        };
        c.mfa.attempts_per_account = hearth::config::Bucket {
            limit: 3,
            per_seconds: 600.0,
        };
    })
    .await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    n1.register("alice").await;
    let from = |node: &TestServer, ip: &str| node.anon().with_header("x-forwarded-for", ip);
    let attempt = |password: &str| json!({"login": "alice", "password": password});
    // One wrong password through each node: the pair's two free failures are used.
    for node in [n1, n2] {
        let r = from(node, "203.0.113.5")
            .post("/auth/login", attempt("not her password"))
            .await;
        assert_err(&r, 400, 50035);
    }
    // Her right password from that address now waits on either node (checked before the
    // password), the first wait of 600 s; from another address it is let in.
    for node in [n2, n1] {
        let r = from(node, "203.0.113.5")
            .post("/auth/login", attempt(&password_of("alice")))
            .await;
        assert_eq!(r.status, 429, "{r:?}");
        let wait = r.body["retry_after"].as_f64().unwrap();
        assert!(wait > 590.0 && wait <= 600.0, "{r:?}");
    }
    let r = from(n2, "198.51.100.5")
        .post("/auth/login", attempt(&password_of("alice")))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Re-authentication (`POST /mfa/finish` with the password) counts in the same backoff:
    // carol's wrong passwords through each node hold her right one back on both.
    let (_, carol_tok) = n1.register("carol").await;
    let reauth = async |node: &TestServer, password: &str| {
        node.client(&carol_tok)
            .with_header("x-forwarded-for", "203.0.113.9")
            .post(
                "/mfa/finish",
                json!({"mfa_type": "password", "data": password}),
            )
            .await
    };
    for node in [n1, n2] {
        assert_err(&reauth(node, "not her password").await, 400, 50035);
    }
    for node in [n2, n1] {
        let r = reauth(node, &password_of("carol")).await;
        assert_eq!(r.status, 429, "{r:?}");
    }

    // Bob turns on TOTP through node 1 (one second-factor attempt of his three), then
    // answers login tickets with a wrong code through each node, from fresh addresses (so
    // that only the attempts bucket can hold him): his right code is then refused on
    // either node.
    let (_, bob_tok) = n1.register("bob").await;
    let (t0, _, _) = enable(n1, "bob", &bob_tok).await;
    let right = code_at(SECRET, t0 + 30);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 7) % 1_000_000);
    for (node, ip) in [(n2, "192.0.2.1"), (n1, "192.0.2.2")] {
        let t = ticket(node, "bob").await;
        let r = from(node, ip)
            .post("/auth/mfa/totp", json!({"code": wrong, "ticket": t}))
            .await;
        assert_err(&r, 400, 60008);
    }
    for (node, ip) in [(n2, "192.0.2.3"), (n1, "192.0.2.4")] {
        let t = ticket(node, "bob").await;
        let r = from(node, ip)
            .post("/auth/mfa/totp", json!({"code": right, "ticket": t}))
            .await;
        assert_eq!(r.status, 429, "{r:?}");
        assert!(r.body["retry_after"].as_f64().unwrap() > 0.0, "{r:?}");
    }
}

#[tokio::test]
async fn slow_mode_holds_a_member_back_on_every_node() {
    let cl = TestCluster::start(2, |_| {}).await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    let (_, alice_tok) = n1.register("alice").await;
    let (_, bob_tok) = n1.register("bob").await;
    let alice = n1.client(&alice_tok);
    let g = create_guild(&alice, "Slow").await;
    join(&n2.client(&bob_tok), &g.invite).await;
    let r = alice
        .patch(
            &format!("/channels/{}", g.general),
            json!({"rate_limit_per_user": 60}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Bob posts through node 1; through node 2 he is held back for the rest of the minute.
    say(&n1.client(&bob_tok), &g.general, "first").await;
    let r = n2
        .client(&bob_tok)
        .post(
            &format!("/channels/{}/messages", g.general),
            json!({"content": "too soon"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (429, 20016), "{r:?}");
    let wait = r.body["retry_after"].as_f64().unwrap();
    assert!(wait > 50.0 && wait <= 60.0, "{r:?}");
    // Alice manages the channel: slow mode does not hold her back on either node.
    say(&alice, &g.general, "owner 1").await;
    say(&n2.client(&alice_tok), &g.general, "owner 2").await;
    // Slow mode lowered to one second: bob may post again through node 2 a second after his
    // post, not a minute.
    let r = alice
        .patch(
            &format!("/channels/{}", g.general),
            json!({"rate_limit_per_user": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let bob2 = n2.client(&bob_tok);
    eventually("bob posts again under the lowered slow mode", || async {
        let r = bob2
            .post(
                &format!("/channels/{}/messages", g.general),
                json!({"content": "later"}),
            )
            .await;
        assert!(matches!(r.status, 200 | 429), "{r:?}");
        r.status == 200
    })
    .await;
    // Nothing of the refused send was stored.
    let hist = alice
        .get(&format!("/channels/{}/messages?limit=10", g.general))
        .await;
    assert!(
        !hist
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"] == "too soon"),
        "{hist:?}"
    );
}

/// A node of a [`TestCluster`] run by the built `hearth` binary, so that it can die by
/// SIGKILL: the cluster's database and Redis prefix, its own data folder and port.
pub(crate) struct ChildNode {
    proc: tokio::process::Child,
    pub(crate) addr: std::net::SocketAddr,
    dir: std::path::PathBuf,
}

impl ChildNode {
    /// Starts the node with `cluster.presence_ttl_seconds = ttl`; waits for `/ready`.
    pub(crate) async fn start(cl: &TestCluster, ttl: u64) -> ChildNode {
        use hearth_testkit::config::{cheap_hashing, env_vars, unlimited};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("hearth_it_node_{}", unique_suffix()));
        let mut hashing = hearth::config::PasswordHashing::default();
        cheap_hashing(&mut hashing);
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
        cmd.env("HEARTH_LISTEN", format!("127.0.0.1:{port}"))
            .env("HEARTH_DATA_DIR", &dir)
            .env("HEARTH_SERVER_NAME", &cl.nodes[0].config.server_name)
            .env("HEARTH_LOG", "error")
            .env("HEARTH_FEDERATION__ENABLED", "false")
            .env(
                "HEARTH_DATABASE_URL",
                hearth_testkit::db::pg_url(&cl.database),
            )
            .env("HEARTH_CLUSTER__REDIS_URL", REDIS)
            .env("HEARTH_CLUSTER__REDIS_KEY_PREFIX", &cl.prefix)
            .env("HEARTH_CLUSTER__PRESENCE_TTL_SECONDS", ttl.to_string())
            .env("HEARTH_CLUSTER__CRASH_RESUME", "true")
            .envs(env_vars("HEARTH_RATE_LIMITS", &unlimited()))
            .envs(env_vars("HEARTH_PASSWORD_HASHING", &hashing))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        let mut proc = cmd.spawn().expect("spawn hearth");
        let http = hearth_testkit::rest::http_client();
        let ready = format!("http://127.0.0.1:{port}/ready");
        eventually("the node answers /ready", async || {
            if let Ok(Some(st)) = proc.try_wait() {
                panic!("hearth exited: {st}");
            }
            matches!(http.get(&ready).send().await, Ok(r) if r.status().is_success())
        })
        .await;
        ChildNode {
            proc,
            addr: ([127, 0, 0, 1], port).into(),
            dir,
        }
    }

    /// SIGKILL, and reap: the node dies without a word to Redis or its clients.
    pub(crate) async fn kill(&mut self) {
        self.proc.kill().await.expect("kill -9 hearth");
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.proc.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The next PRESENCE_UPDATE of `user` that `gw` receives (its `status`).
async fn next_presence_of(gw: &mut Gw, user: &str) -> String {
    let p = gw
        .expect_where("PRESENCE_UPDATE", |d| d["user"]["id"] == user)
        .await;
    s(&p["status"])
}

#[tokio::test]
async fn presence_is_one_across_nodes_and_a_killed_nodes_users_go_offline() {
    // Presence entries of a node live 4 s without renewal.
    let cl = TestCluster::start(2, |c| c.cluster.presence_ttl_seconds = 4).await;
    let [n1, n2] = [&cl.nodes[0], &cl.nodes[1]];
    let (_, alice_tok) = n1.register("alice").await;
    let (bob, bob_tok) = n1.register("bob").await;
    let g = create_guild(&n1.client(&alice_tok), "Presence").await;
    join(&n1.client(&bob_tok), &g.invite).await;
    let intents = GUILDS | GUILD_PRESENCES;
    let mut alice1 = Gw::identify(n1, &alice_tok, intents).await;
    alice1.expect("GUILD_CREATE").await;

    // Bob comes online on node 2; Alice, on node 1, is told.
    let mut bob2 = Gw::identify(n2, &bob_tok, intents).await;
    bob2.expect("GUILD_CREATE").await;
    assert_eq!(next_presence_of(&mut alice1, &bob).await, "online");
    // A session started later on node 1 lists him online in its GUILD_CREATE: node 1 holds
    // no session of his, the presence comes from Redis.
    let mut alice1b = Gw::identify(n1, &alice_tok, intents).await;
    let gc = alice1b.expect("GUILD_CREATE").await;
    let listed: Vec<&serde_json::Value> = gc["presences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["user"]["id"] == bob.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{}", gc["presences"]);
    assert_eq!(listed[0]["status"], "online");

    // Bob also connects through node 1, then closes his node-2 session: he is still online
    // (node 1 holds him), so the next presence Alice hears of him is the status he sets.
    let mut bob1 = Gw::identify(n1, &bob_tok, intents).await;
    bob1.expect("GUILD_CREATE").await;
    bob2.close_with(1000).await;
    bob1.send(
        json!({"op": 3, "d": {"status": "idle", "since": null, "activities": [], "afk": true}}),
    )
    .await;
    assert_eq!(next_presence_of(&mut alice1, &bob).await, "idle");
    // Closing his last session makes him offline, once.
    bob1.close_with(1000).await;
    assert_eq!(next_presence_of(&mut alice1, &bob).await, "offline");

    // Bob's only session is on a node that is killed with SIGKILL: nobody tells Redis, and
    // the node's entry lapses; a surviving node publishes him offline.
    let mut child = ChildNode::start(&cl, 4).await;
    let mut bob_c = Gw::identify_addr(child.addr, &bob_tok, intents).await;
    bob_c.expect("GUILD_CREATE").await;
    assert_eq!(next_presence_of(&mut alice1, &bob).await, "online");
    child.kill().await;
    assert_eq!(next_presence_of(&mut alice1, &bob).await, "offline");
    // And a new session no longer lists him.
    let mut alice1c = Gw::identify(n1, &alice_tok, intents).await;
    let gc = alice1c.expect("GUILD_CREATE").await;
    assert!(
        !gc["presences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user"]["id"] == bob.as_str()),
        "{}",
        gc["presences"]
    );
    // Alice herself is listed online throughout.
    assert!(
        gc["presences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["status"] == "online"),
        "{}",
        gc["presences"]
    );
}

#[tokio::test]
async fn a_drained_nodes_users_stay_online_while_they_reconnect_elsewhere() {
    let mut cl = TestCluster::start(2, |c| c.cluster.presence_ttl_seconds = 4).await;
    let (_, alice_tok) = cl.nodes[0].register("alice").await;
    let (bob, bob_tok) = cl.nodes[0].register("bob").await;
    let alice = cl.nodes[0].client(&alice_tok);
    let g = create_guild(&alice, "Drain").await;
    join(&cl.nodes[0].client(&bob_tok), &g.invite).await;
    let mut alice1 = Gw::identify(
        &cl.nodes[0],
        &alice_tok,
        GUILDS | GUILD_PRESENCES | GUILD_MESSAGES,
    )
    .await;
    alice1.expect("GUILD_CREATE").await;
    let mut bob2 = Gw::identify(&cl.nodes[1], &bob_tok, GUILDS | GUILD_PRESENCES).await;
    bob2.expect("GUILD_CREATE").await;
    assert_eq!(next_presence_of(&mut alice1, &bob).await, "online");

    // Node 2, Bob's only node, drains and stops (op 7 to Bob); Bob identifies on node 1.
    let instance = cl.nodes[1].hearth.node.instance().to_string();
    cl.nodes[1].stop_keeping_data().await;
    let mut bob1 = Gw::identify(&cl.nodes[0], &bob_tok, GUILDS).await;
    bob1.expect("GUILD_CREATE").await;
    // Node 2's entry lapses and is reaped; Bob, held by node 1, is not published offline.
    let key = format!("{}pnodes", cl.prefix);
    eventually("the stopped node's presence entry is reaped", async || {
        let client = redis::Client::open(REDIS).expect("redis url");
        let mut con = client.get_connection().expect("redis");
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(&key)
            .arg(&instance)
            .query(&mut con)
            .expect("ZSCORE");
        score.is_none()
    })
    .await;
    say(&alice, &g.general, "fence").await;
    loop {
        let v = alice1.next().await.expect("open");
        assert!(
            !(v["t"] == "PRESENCE_UPDATE" && v["d"]["user"]["id"] == bob.as_str()),
            "a presence of bob across the drain: {v}"
        );
        if v["t"] == "MESSAGE_CREATE" && v["d"]["content"] == "fence" {
            break;
        }
    }
}

/// The op-0 frames a resumed connection receives up to RESUMED, checked to carry the seqs
/// after `seq` without a gap.
pub(crate) async fn replayed_until_resumed(r: &mut Gw, mut seq: u64) -> Vec<serde_json::Value> {
    let mut got = vec![];
    loop {
        let v = r.next().await.expect("the resumed connection stays open");
        if v["op"] == 9 {
            panic!("INVALID_SESSION instead of RESUMED; got before: {got:?}");
        }
        if v["op"] != 0 {
            continue;
        }
        seq += 1;
        assert_eq!(v["s"].as_u64(), Some(seq), "seqs without gaps: {v}");
        if v["t"] == "RESUMED" {
            return got;
        }
        got.push(v);
    }
}

#[tokio::test]
async fn a_drained_nodes_sessions_resume_on_another_node_with_every_missed_dispatch() {
    let mut cl = TestCluster::start(3, |_| {}).await;
    let (_, alice_tok) = cl.nodes[0].register("alice").await;
    let (bob_id, bob_tok) = cl.nodes[0].register("bob").await;
    let (_, carol_tok) = cl.nodes[0].register("carol").await;
    let alice = cl.nodes[0].client(&alice_tok);
    let g = create_guild(&alice, "Moving").await;
    join(&cl.nodes[0].client(&bob_tok), &g.invite).await;
    join(&cl.nodes[0].client(&carol_tok), &g.invite).await;
    let secret = alice
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "secret"}),
        )
        .await;
    assert_eq!(secret.status, 201, "{secret:?}");
    let secret = secret.body["id"].as_str().unwrap().to_string();

    // Bob and Carol on node 2. Bob's connection drops (no close frame): node 2 logs what
    // follows for him; Carol stays connected until the drain.
    let intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT;
    let mut bob = Gw::identify(&cl.nodes[1], &bob_tok, intents).await;
    bob.expect("GUILD_CREATE").await;
    let mut carol = Gw::identify(&cl.nodes[1], &carol_tok, intents).await;
    carol.expect("GUILD_CREATE").await;
    say(&alice, &g.general, "before").await;
    bob.expect_where("MESSAGE_CREATE", |d| d["content"] == "before")
        .await;
    let (session, seq) = (bob.session_id.clone(), bob.seq);
    drop(bob);
    let node2 = cl.nodes[1].gateway.clone();
    eventually("node 2 holds bob's session detached", async || {
        node2.session_stats().detached == 1
    })
    .await;
    for i in 0..3 {
        say(&alice, &g.general, &format!("logged {i}")).await;
    }
    eventually("node 2 logged the three messages for bob", async || {
        node2.session_stats().log.entries >= 3
    })
    .await;
    drop(node2);
    carol
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "logged 2")
        .await;

    // Node 2 drains: op 7 to Carol, who resumes on node 1 at once (her session is announced
    // as moving: node 1 waits until node 2 saved it), having missed one message.
    let stopping = cl.nodes[1].begin_stop();
    loop {
        let v = carol.next().await.expect("op 7 before the close");
        if v["op"] == 7 {
            break;
        }
    }
    say(&alice, &g.general, "during the drain").await;
    let mut rc = Gw::connect(&cl.nodes[0], "v=10&encoding=json").await;
    let carol_seq = carol.seq;
    rc.seq = carol_seq;
    rc.send(json!({"op": 6, "d": {"token": carol_tok, "session_id": carol.session_id, "seq": carol_seq}}))
        .await;
    let got = replayed_until_resumed(&mut rc, carol_seq).await;
    let contents: Vec<&str> = got
        .iter()
        .filter(|v| v["t"] == "MESSAGE_CREATE")
        .map(|v| v["d"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["during the drain"]);
    stopping.await.expect("node 2 stopped");

    // Bob's session went to Redis with node 2's stream positions. What is sent now is only
    // in the streams; and bob loses the secret channel meanwhile.
    for i in 0..3 {
        say(&alice, &g.general, &format!("streamed {i}")).await;
    }
    say(&alice, &secret, "hidden since").await;
    let deny = alice
        .put(
            &format!("/channels/{secret}/permissions/{bob_id}"),
            json!({"type": 1, "allow": "0", "deny": (1u64 << 10).to_string()}),
        )
        .await;
    assert_eq!(deny.status, 204, "{deny:?}");

    // Bob joins another guild while he moves: GUILD_CREATE at RESUME.
    let elsewhere = create_guild(&alice, "Elsewhere").await;
    join(&cl.nodes[0].client(&bob_tok), &elsewhere.invite).await;

    // Bob resumes on node 1: every missed dispatch, once, in order, through his current
    // permissions, then RESUMED; then live. Node 1's shards are held while it adopts him and
    // a message is sent: wherever it falls (in the stream before node 1's mark, or in node
    // 1's log after it), it arrives once.
    let mut r = Gw::connect(&cl.nodes[0], "v=10&encoding=json").await;
    r.seq = seq;
    let held = cl.nodes[0].gateway.hold_dispatch();
    r.send(json!({"op": 6, "d": {"token": bob_tok, "session_id": session, "seq": seq}}))
        .await;
    say(&alice, &g.general, "at the boundary").await;
    drop(held);
    let mut got = replayed_until_resumed(&mut r, seq).await;
    assert!(
        got.iter()
            .any(|v| v["t"] == "GUILD_CREATE" && v["d"]["id"] == elsewhere.id.as_str()),
        "the guild joined meanwhile: {got:?}"
    );
    assert!(
        got.iter()
            .any(|v| v["t"] == "CHANNEL_DELETE" && v["d"]["id"] == secret.as_str()),
        "the channel hidden meanwhile is deleted for bob: {got:?}"
    );
    say(&alice, &g.general, "live").await;
    loop {
        let v = r.next().await.expect("live");
        if v["op"] == 0 {
            let live = v["t"] == "MESSAGE_CREATE" && v["d"]["content"] == "live";
            got.push(v);
            if live {
                break;
            }
        }
    }
    let contents: Vec<&str> = got
        .iter()
        .filter(|v| v["t"] == "MESSAGE_CREATE")
        .map(|v| v["d"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "logged 0",
            "logged 1",
            "logged 2",
            "during the drain",
            "streamed 0",
            "streamed 1",
            "streamed 2",
            "at the boundary",
            "live"
        ]
    );
    say(&alice, &elsewhere.general, "in the new guild").await;
    assert_eq!(
        r.expect("MESSAGE_CREATE").await["content"],
        "in the new guild"
    );
    // Carol, live on node 1 since her RESUME, got what followed it, the secret's included.
    for c in [
        "streamed 0",
        "streamed 1",
        "streamed 2",
        "hidden since",
        "at the boundary",
        "live",
    ] {
        assert_eq!(rc.expect("MESSAGE_CREATE").await["content"], c);
    }

    // Taken once: the session cannot be resumed on node 3 as well.
    let mut x = Gw::connect(&cl.nodes[2], "v=10&encoding=json").await;
    x.send(json!({"op": 6, "d": {"token": bob_tok, "session_id": session, "seq": seq}}))
        .await;
    let v = x.next().await.expect("INVALID_SESSION");
    assert_eq!((v["op"].as_u64(), v["d"].as_bool()), (Some(9), Some(false)));
}

#[tokio::test]
async fn a_moved_sessions_voice_state_survives_the_restart_of_its_old_node() {
    const GUILD_VOICE_STATES: u64 = 1 << 7;
    let mut cl = TestCluster::start(2, |_| {}).await;
    let (_, alice_tok) = cl.nodes[0].register("alice").await;
    let (bob_id, bob_tok) = cl.nodes[0].register("bob").await;
    let alice = cl.nodes[0].client(&alice_tok);
    let g = create_guild(&alice, "Voice").await;
    join(&cl.nodes[0].client(&bob_tok), &g.invite).await;
    let vc = alice
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "talk", "type": 2}),
        )
        .await;
    assert_eq!(vc.status, 201, "{vc:?}");
    let vc = vc.body["id"].as_str().unwrap().to_string();
    let state = format!("/guilds/{}/voice-states/{bob_id}", g.id);

    // Bob talks through node 2, which drains; he resumes on node 1; node 2 starts again.
    let mut bob = Gw::identify(&cl.nodes[1], &bob_tok, GUILDS | GUILD_VOICE_STATES).await;
    bob.expect("GUILD_CREATE").await;
    bob.send(json!({"op": 4, "d": {"guild_id": g.id, "channel_id": vc, "self_mute": false, "self_deaf": false}}))
        .await;
    bob.expect("VOICE_STATE_UPDATE").await;
    cl.nodes[1].stop_keeping_data().await;
    let mut r = Gw::connect(&cl.nodes[0], "v=10&encoding=json").await;
    r.seq = bob.seq;
    r.send(json!({"op": 6, "d": {"token": bob_tok, "session_id": bob.session_id, "seq": bob.seq}}))
        .await;
    r.expect("RESUMED").await;
    cl.nodes[1].start_again().await;

    // Node 2's start ended the voice states of its own sessions only: Bob's moved with him.
    let st = alice.get(&state).await;
    assert_eq!(st.status, 200, "{st:?}");
    assert_eq!(st.body["channel_id"], vc.as_str());
    // It ends with the session that holds it now.
    r.close_with(1000).await;
    eventually("bob's voice state ends with his session", async || {
        alice.get(&state).await.status == 404
    })
    .await;
}

/// A node that falls further behind a guild's stream than the stream keeps (its position
/// trimmed away before it read on; here 3,000 entries land in one transaction, as a burst
/// while the node stalls would) ends the sessions in that guild with 4009: their RESUME is
/// refused and a new IDENTIFY gets the guild and its next messages. A session in another
/// guild goes on untouched (spec/cluster.md §3.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_of_a_guild_whose_stream_was_trimmed_past_the_node_start_anew() {
    let cl = TestCluster::start(1, |c| c.cluster.stream_max_len = 100).await;
    let n = &cl.nodes[0];
    let (_, alice_tok) = n.register("alice").await;
    let (_, bob_tok) = n.register("bob").await;
    let (alice, bob) = (n.client(&alice_tok), n.client(&bob_tok));
    let lost = create_guild(&alice, "Lost").await;
    let kept = create_guild(&bob, "Kept").await;
    let intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT;
    let mut a = Gw::identify(n, &alice_tok, intents).await;
    assert_eq!(a.expect("GUILD_CREATE").await["id"], lost.id.as_str());
    let mut b = Gw::identify(n, &bob_tok, intents).await;
    assert_eq!(b.expect("GUILD_CREATE").await["id"], kept.id.as_str());
    // The node reads the guild's stream up to this message.
    say(&alice, &lost.general, "before").await;
    assert_eq!(a.expect("MESSAGE_CREATE").await["content"], "before");

    let key = format!("{}g:{}", cl.prefix, lost.id);
    let mut con = redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut burst = redis::pipe();
    burst.atomic();
    for i in 0..3_000 {
        burst
            .cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(100)
            .arg("*")
            .arg("filler")
            .arg(i)
            .ignore();
    }
    let () = burst.query_async(&mut con).await.unwrap();

    assert_eq!(a.closed().await, Some(4009));
    let mut r = crate::resume::resume(n, &alice_tok, &a.session_id, a.seq).await;
    crate::resume::assert_invalid_session(&mut r).await;
    let mut again = Gw::identify(n, &alice_tok, intents).await;
    assert_eq!(again.expect("GUILD_CREATE").await["id"], lost.id.as_str());
    say(&alice, &lost.general, "after").await;
    assert_eq!(again.expect("MESSAGE_CREATE").await["content"], "after");
    say(&bob, &kept.general, "untouched").await;
    assert_eq!(b.expect("MESSAGE_CREATE").await["content"], "untouched");
    assert_eq!(n.gateway.traffic_stats().restarted, 1);
}

/// A node that cannot reach Redis for longer than it retries a publication (3 s) gives the
/// events up; once Redis answers again it adds a lost-events notice to their streams, and
/// every session that missed them, on either node, ends with 4009 (RESUME refused) instead
/// of going on without them; a new session finds the message in the channel's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_given_up_while_redis_was_unreachable_restart_the_sessions_that_missed_them() {
    let relay = RedisRelay::start().await;
    let cl = TestCluster::start(1, |_| {}).await;
    let n1 = &cl.nodes[0];
    let url = format!("redis://{}", relay.addr);
    let n2 = n1
        .another_node(|c| c.cluster.redis_url = Some(url.clone()))
        .await;
    let (_, alice_tok) = n1.register("alice").await;
    let (_, bob_tok) = n1.register("bob").await;
    let g = create_guild(&n1.client(&alice_tok), "Cut").await;
    join(&n1.client(&bob_tok), &g.invite).await;
    let intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT;
    let mut bob1 = Gw::identify(n1, &bob_tok, intents).await;
    assert_eq!(bob1.expect("GUILD_CREATE").await["id"], g.id.as_str());
    let mut alice2 = Gw::identify(&n2, &alice_tok, intents).await;
    assert_eq!(alice2.expect("GUILD_CREATE").await["id"], g.id.as_str());
    say(&n2.client(&alice_tok), &g.general, "through").await;
    assert_eq!(bob1.expect("MESSAGE_CREATE").await["content"], "through");

    relay.cut();
    // Stored, answered after the publisher's 3 s, and never in Redis.
    let lost = say(&n2.client(&alice_tok), &g.general, "lost on the way").await;
    relay.restore().await;

    assert_eq!(bob1.closed().await, Some(4009));
    assert_eq!(alice2.closed().await, Some(4009));
    let mut r = crate::resume::resume(n1, &bob_tok, &bob1.session_id, bob1.seq).await;
    crate::resume::assert_invalid_session(&mut r).await;
    let mut again = Gw::identify(n1, &bob_tok, intents).await;
    assert_eq!(again.expect("GUILD_CREATE").await["id"], g.id.as_str());
    let history = n1
        .client(&bob_tok)
        .get(&format!("/channels/{}/messages?limit=5", g.general))
        .await;
    assert_eq!(history.body[0]["id"], lost.as_str(), "{history:?}");
    assert_eq!(n1.gateway.traffic_stats().restarted, 1);
    assert_eq!(n2.gateway.traffic_stats().restarted, 1);
}
