//! Several nodes of one server on one database (README "Scale-out" / "Nodes and leases",
//! `src/service/node.rs`): every node leases its own snowflake worker id, so ids minted by
//! concurrent nodes never collide; jobs that must run once run on one node and move to
//! another when their holder stops (gracefully, or by stopping to renew); a guild's log is
//! appended only by the holder of its sequencer lease, checked in the append's own
//! transaction; `/ready` turns 503 while a node drains. Each test runs on SQLite (nodes on
//! one database file) and on PostgreSQL (one database).

use std::collections::HashSet;
use std::time::Duration;

use hearth::storage::{LeaseFence, LogAppend, now_ms};
use hearth_testkit::wait::Patience;
use serde_json::json;

use crate::federation_guilds::{A, B, fed_with, wait_applied};
use crate::harness::{TestServer, eventually, s};

/// Short leases, so failover tests wait seconds, not the default 15 s.
const LEASE_SECONDS: u64 = 3;

async fn short_leases() -> TestServer {
    TestServer::start_with(|c| c.node.lease_seconds = LEASE_SECONDS).await
}

/// The worker id the node mints with (0-1023), from its generator's own output.
fn worker_bits(srv: &TestServer) -> u64 {
    (srv.hearth.ids.next().0 >> 12) & 0x3ff
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_started_at_once_lease_distinct_worker_ids() {
    let first = TestServer::start().await;
    assert_eq!(
        first.hearth.node.worker_id(),
        Some(0),
        "a single node mints with worker 0, as before nodes existed"
    );
    let (n2, n3, n4) = tokio::join!(
        first.another_node(|_| {}),
        first.another_node(|_| {}),
        first.another_node(|_| {})
    );
    let nodes = [&first, &n2, &n3, &n4];
    let ids: Vec<u16> = nodes
        .iter()
        .map(|n| n.hearth.node.worker_id().expect("a worker lease"))
        .collect();
    let distinct: HashSet<u16> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "worker ids {ids:?}");
    for n in nodes {
        assert_eq!(
            worker_bits(n),
            u64::from(n.hearth.node.worker_id().unwrap())
        );
    }
    // The leases as stored: four held workers, each by another process.
    let leases = first.hearth.db.leases("worker:").await.unwrap();
    let now = now_ms();
    let held: Vec<_> = leases.iter().filter(|l| l.expires_at > now).collect();
    assert_eq!(held.len(), 4, "{leases:?}");
    let holders: HashSet<&str> = held.iter().map(|l| l.holder.as_str()).collect();
    assert_eq!(holders.len(), 4, "{leases:?}");
    let node_ids: HashSet<&str> = nodes.iter().map(|n| n.hearth.node.id.as_str()).collect();
    assert_eq!(node_ids.len(), 4, "node ids are distinct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_million_snowflakes_from_three_concurrent_nodes_never_collide() {
    let first = TestServer::start().await;
    let (n2, n3) = tokio::join!(first.another_node(|_| {}), first.another_node(|_| {}));
    const PER_NODE: usize = 333_334;
    let gens = [&first, &n2, &n3].map(|n| n.hearth.ids.clone());
    // Every node mints on its own thread at the same time, through its real generator.
    let handles: Vec<_> = gens
        .into_iter()
        .map(|g| {
            std::thread::spawn(move || (0..PER_NODE).map(|_| g.next().0).collect::<Vec<u64>>())
        })
        .collect();
    let mut all = HashSet::with_capacity(PER_NODE * 3);
    for h in handles {
        let ids = h.join().unwrap();
        // Each node's own ids increase strictly.
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        all.extend(ids);
    }
    assert_eq!(all.len(), PER_NODE * 3, "colliding snowflakes across nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_worker_lease_was_taken_stops_using_it_and_leases_another() {
    let srv = short_leases().await;
    let w = srv.hearth.node.worker_id().expect("worker lease");
    // As if this node had paused past its lease and another node took the worker id: the
    // taker's clock is ahead of the lease's expiry.
    let later = now_ms() + 3_600_000;
    let token = srv
        .hearth
        .db
        .take_lease(&format!("worker:{w}"), "thief", later, later + 3_600_000)
        .await
        .unwrap();
    assert!(token.is_some(), "the lapsed lease is taken");
    // At its next renewal the node finds it lost and takes another worker id.
    let w2 = Patience::within(Duration::from_secs(20))
        .until("the node leases another worker id", async || {
            srv.hearth.node.worker_id().filter(|n| *n != w)
        })
        .await
        .unwrap();
    assert_eq!(worker_bits(&srv), u64::from(w2));
    let mine = srv.hearth.db.leases(&format!("worker:{w2}")).await.unwrap();
    assert!(mine[0].holder.starts_with(&srv.hearth.node.id), "{mine:?}");
}

/// A keeper round renews the leases a node still holds a thousand to a statement
/// (`Node::renew_all`): 2,500 sequencer-like leases cost three statements, tokens unchanged,
/// while the one another node took meanwhile is asked for on its own and found lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_keeper_round_renews_thousands_of_leases_in_a_few_statements() {
    let srv = TestServer::start_with(|c| c.node.lease_seconds = 600).await;
    let node = &srv.hearth.node;
    let names: Vec<String> = (0..2500).map(|i| format!("job:bulk-{i:04}")).collect();
    for n in &names {
        assert!(node.want(n).await.unwrap().is_some(), "{n} taken");
    }
    let before = srv.hearth.db.leases("job:bulk-").await.unwrap();
    assert_eq!(before.len(), 2500);
    // Another node takes one of them, as if this node had paused past its expiry.
    let later = now_ms() + 3_600_000;
    let stolen = srv
        .hearth
        .db
        .take_lease("job:bulk-0007", "thief", later, later + 3_600_000)
        .await
        .unwrap();
    assert!(stolen.is_some());
    // A renewal from `t0` on ends after every expiry set before it.
    let newest = before.iter().map(|l| l.expires_at).max().unwrap() - 600_000;
    let t0 = loop {
        let t = now_ms();
        if t > newest {
            break t;
        }
        tokio::task::yield_now().await;
    };
    let ((), calls) = hearth_db::counting(node.renew_all()).await;
    // The worker lease (one), three batches, the stolen lease on its own (one).
    assert_eq!(calls, 5, "statements in one keeper round");
    let after = srv.hearth.db.leases("job:bulk-").await.unwrap();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.name, b.name);
        if a.name == "job:bulk-0007" {
            assert_eq!(a.holder, "thief");
            continue;
        }
        assert_eq!((a.holder.as_str(), a.token), (b.holder.as_str(), b.token));
        assert!(
            a.expires_at >= t0 + 600_000 && b.expires_at < t0 + 600_000,
            "{} renewed: {a:?} / {b:?}",
            a.name
        );
    }
    assert!(
        node.holding("job:bulk-0007").is_none(),
        "the stolen lease is lost"
    );
    assert_eq!(
        node.holding("job:bulk-2499").map(|f| f.token),
        Some(after[2499].token)
    );
}

/// The runs of `job` a node recorded.
fn runs(srv: &TestServer, job: &str) -> u64 {
    srv.hearth
        .jobs
        .snapshot()
        .into_iter()
        .find(|j| j.job == job)
        .map_or(0, |j| j.ok + j.failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_runs_on_one_node_and_moves_when_its_holder_stops() {
    let first = short_leases().await;
    let second = first.another_node(|_| {}).await;
    let third = first.another_node(|_| {}).await;
    let mut nodes = [second, third, first];
    // The thread archiver runs on exactly one node (its first pass comes at once).
    let holder = eventually("one node runs the thread archiver", async || {
        let running: Vec<usize> = (0..3)
            .filter(|i| nodes[*i].hearth.node.runs("thread_archiver"))
            .collect();
        (running.len() == 1 && runs(&nodes[running[0]], "thread_archiver") > 0).then(|| running[0])
    })
    .await;
    for (i, n) in nodes.iter().enumerate() {
        if i != holder {
            assert!(!n.hearth.node.runs("thread_archiver"));
            assert_eq!(runs(n, "thread_archiver"), 0, "node {i} ran it too");
        }
    }
    // So does the MLS outbox delivery (every node delivered it before).
    eventually("one node delivers the MLS outbox", async || {
        (0..3)
            .filter(|i| nodes[*i].hearth.node.runs("mls_outbox"))
            .count()
            == 1
    })
    .await;
    let db = nodes[2].hearth.db.clone();
    let lease = db.leases("job:thread_archiver").await.unwrap();
    assert_eq!(lease[0].holder, nodes[holder].hearth.node.id);

    // The holder stops renewing (frozen or dead, nothing given up): once its lease lapses
    // another node takes the job over, with a higher fencing token.
    nodes[holder].hearth.node.halt();
    assert!(!nodes[holder].hearth.node.runs("thread_archiver"));
    let next = Patience::within(Duration::from_secs(20))
        .until("another node takes the job over", async || {
            (0..3).find(|i| *i != holder && nodes[*i].hearth.node.runs("thread_archiver"))
        })
        .await
        .unwrap();
    eventually("the new holder runs it", async || {
        runs(&nodes[next], "thread_archiver") > 0
    })
    .await;
    let after = db.leases("job:thread_archiver").await.unwrap();
    assert_eq!(after[0].holder, nodes[next].hearth.node.id);
    assert!(after[0].token > lease[0].token, "{lease:?} then {after:?}");
    assert!(!nodes[holder].hearth.node.runs("thread_archiver"));

    // A graceful stop gives the lease up at once: the remaining node takes it.
    let last = (0..3).find(|i| *i != holder && *i != next).unwrap();
    nodes[next].stop_keeping_data().await;
    eventually(
        "the last node takes the job after a graceful stop",
        async || nodes[last].hearth.node.runs("thread_archiver"),
    )
    .await;
    let released = db.leases("job:thread_archiver").await.unwrap();
    assert_eq!(released[0].holder, nodes[last].hearth.node.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sequencer_that_lost_its_lease_cannot_append_to_the_guild_log() {
    let srv = TestServer::start().await;
    let db = &srv.hearth.db;
    let now = now_ms();
    let name = "sequencer:4242";
    // Node "old" holds the guild's sequencer lease, then pauses past its expiry; node "new"
    // takes it over (its clock is past the expiry).
    let old = db
        .take_lease(name, "old", now, now + 1_000)
        .await
        .unwrap()
        .unwrap();
    let later = now + 2_000;
    let new = db
        .take_lease(name, "new", later, later + 3_600_000)
        .await
        .unwrap()
        .unwrap();
    assert!(new > old, "the token rises with the takeover");
    // The old holder cannot take it back while the new one holds it.
    assert_eq!(
        db.take_lease(name, "old", later, later + 1_000)
            .await
            .unwrap(),
        None
    );
    let row = |seq: i64| LogAppend {
        guild_id: 4242,
        seq,
        event: format!("{{\"seq\":{seq}}}"),
        hash: format!("h{seq}"),
        channel_id: None,
        object_id: None,
        created_at: now,
        scrub: Default::default(),
    };
    let fence = |holder: &str, token: i64| LeaseFence {
        name: name.into(),
        holder: holder.into(),
        token,
    };
    // The paused old holder wakes and appends with its old token: refused, nothing stored.
    let r = db.append_events(&[row(1)], &[fence("old", old)]).await;
    assert!(
        matches!(r, Err(hearth::error::Error::Unavailable(_))),
        "a stale sequencer appended: {r:?}"
    );
    let r = db
        .append_from_outbox(&[row(1)], &[], &[fence("old", old)])
        .await;
    assert!(
        matches!(r, Err(hearth::error::Error::Unavailable(_))),
        "a stale sequencer moved the outbox: {r:?}"
    );
    // Even with the holder's name, a stale token is refused.
    let r = db.append_event(&row(1), &[fence("new", old)]).await;
    assert!(
        matches!(r, Err(hearth::error::Error::Unavailable(_))),
        "a stale token appended: {r:?}"
    );
    assert_eq!(db.log_head(4242).await.unwrap(), None);
    // The new holder appends.
    db.append_events(&[row(1), row(2)], &[fence("new", new)])
        .await
        .unwrap();
    assert_eq!(db.log_head(4242).await.unwrap().map(|h| h.0), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ready_answers_503_while_a_node_drains() {
    let srv = TestServer::start().await;
    let url = format!("http://{}/ready", srv.addr);
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    srv.hearth.node.drain();
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("draining")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_node_takes_over_a_guilds_sequencer_and_the_member_gets_a_gapless_log() {
    let f = fed_with(|_, c| c.node.lease_seconds = LEASE_SECONDS).await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let b2 = b.another_node(|_| {}).await;
    let gid_b: i64 = f.gid_b.parse().unwrap();
    let gid_a: i64 = f.gid_a.parse().unwrap();
    let say = |srv: &TestServer, text: &str| {
        let c = srv.client(&f.bob_tok);
        let (ch, text) = (f.general_b.clone(), text.to_string());
        async move {
            let r = c
                .post(
                    &format!("/channels/{ch}/messages"),
                    json!({"content": text}),
                )
                .await;
            assert_eq!(r.status, 200, "{text}: {r:?}");
        }
    };
    // Node 1 of b sequences the guild (it appended the joins).
    let seq = b
        .hearth
        .db
        .leases(&format!("sequencer:{gid_b}"))
        .await
        .unwrap();
    assert_eq!(seq[0].holder, b.hearth.node.id, "{seq:?}");
    say(b, "one").await;
    // A send through node 2 reaches the log through the outbox and node 1.
    say(&b2, "two").await;
    let h2 = Patience::within(Duration::from_secs(30))
        .until("node 1 appends node 2's send", async || {
            let n = log_head(b, gid_b).await;
            b.hearth
                .db
                .outbox_take(1)
                .await
                .unwrap()
                .is_empty()
                .then_some(n)
        })
        .await
        .unwrap();
    wait_applied("a applied both", a, gid_a, h2).await;

    // Node 1 freezes (stops renewing, appends nothing): node 2 takes the sequencer and
    // delivery over once the leases lapse, and sends through it reach a in order.
    b.hearth.node.halt();
    for t in ["three", "four", "five"] {
        say(&b2, t).await;
    }
    let h5 = Patience::within(Duration::from_secs(40))
        .until(
            "node 2 appends after taking the sequencer over",
            async || {
                let n = log_head(&b2, gid_b).await;
                (n >= h2 + 3 && b2.hearth.db.outbox_take(1).await.unwrap().is_empty()).then_some(n)
            },
        )
        .await
        .unwrap();
    let after = b2
        .hearth
        .db
        .leases(&format!("sequencer:{gid_b}"))
        .await
        .unwrap();
    assert_eq!(after[0].holder, b2.hearth.node.id, "{after:?}");
    assert!(after[0].token > seq[0].token);
    Patience::within(Duration::from_secs(40))
        .until("a applied everything", async || {
            crate::federation_guilds::applied(a, gid_a).await >= h5
        })
        .await
        .unwrap();
    // The host's log is gapless, and a has every message once, in order.
    let rows = b2.hearth.db.log_range(gid_b, 0, 10_000).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=h5).collect::<Vec<_>>());
    let msgs = f
        .alice()
        .get(&format!("/channels/{}/messages?limit=50", f.general_a))
        .await;
    let mut contents: Vec<String> = msgs
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == 0)
        .map(|m| s(&m["content"]))
        .collect();
    contents.reverse();
    assert_eq!(contents, ["one", "two", "three", "four", "five"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drain_delay_serves_on_while_ready_answers_503_then_sends_op_7() {
    use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
    let mut srv = TestServer::start_with(|c| c.node.drain_delay_ms = 5_000).await;
    let (_, tok) = srv.register("alice").await;
    let client = srv.client(&tok);
    let g = crate::harness::create_guild(&client, "Drain").await;
    let mut gw = Gw::identify(&srv, &tok, GUILDS | GUILD_MESSAGES).await;
    gw.expect("GUILD_CREATE").await;
    let ready = format!("http://{}/ready", srv.addr);
    let stopping = tokio::spawn(async move {
        srv.stop_keeping_data().await;
        srv
    });
    eventually("/ready answers 503", async || {
        reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE)
    })
    .await;
    // During the delay the node still serves: a message is accepted and reaches the open
    // session, which has not been told to reconnect yet.
    crate::harness::say(&client, &g.general, "while draining").await;
    loop {
        let v = gw.next().await.expect("the session is open");
        assert_ne!(v["op"], 7, "op 7 before the delay ended: {v}");
        if v["t"] == "MESSAGE_CREATE" {
            assert_eq!(v["d"]["content"], "while draining");
            break;
        }
    }
    // Then op 7 RECONNECT, and the node stops.
    loop {
        let v = gw.next().await.expect("op 7 before the close");
        if v["op"] == 7 {
            break;
        }
    }
    let _srv = stopping.await.expect("stopped");
}

/// Drops a test's PostgreSQL database and Redis keys when it ends (after its servers, when
/// declared before them).
pub(crate) struct Scratch {
    pub(crate) database: String,
    pub(crate) prefix: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        crate::harness::drop_pg_database(self.database.clone());
        crate::cluster::delete_redis_prefix(self.prefix.clone());
    }
}

/// Two nodes of a member server apply one run of its host's events at once: each node is
/// handed the same run while the host's own push to the first node is under way too, all
/// starting from the same position (an outside session held the replica's advisory lock,
/// as a third node would, while the host logged the run). Every event is applied once: both
/// calls succeed, the replica ends at the host's head, each role exists once, and a session
/// on either node gets each GUILD_ROLE_CREATE once (the nodes share Redis, so a dispatch
/// published by either reaches both). The member server runs on PostgreSQL and Redis
/// whatever `HEARTH_TEST_DATABASE` says: the lock is PostgreSQL's (README "Scale-out").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_applying_one_run_of_a_replica_at_once_apply_each_event_once() {
    use sqlx::Connection;

    let suffix = crate::harness::unique_suffix();
    let scratch = Scratch {
        database: format!("hearth_replica_{suffix}"),
        prefix: format!("hearth-test-{suffix}:"),
    };
    crate::harness::create_pg_database(&scratch.database).await;
    let url = hearth_testkit::db::pg_url(&scratch.database);
    let f = fed_with(|name, c| {
        if name == A {
            c.database_url = Some(url.clone());
            c.cluster.redis_url = Some(crate::cluster::REDIS.into());
            c.cluster.redis_key_prefix = scratch.prefix.clone();
        }
    })
    .await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let a2 = a.another_node(|_| {}).await;
    let gid_a: i64 = f.gid_a.parse().unwrap();
    let gid_b: i64 = f.gid_b.parse().unwrap();
    let intents = crate::gateway::GUILDS | crate::gateway::GUILD_MESSAGES;
    let mut sessions = [
        crate::gateway::Gw::identify(a, &f.alice_tok, intents).await,
        crate::gateway::Gw::identify(&a2, &f.alice_tok, intents).await,
    ];

    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let keys = ((gid_a >> 32) as i32, gid_a as i32);
    sqlx::query("SELECT pg_advisory_lock($1, $2)")
        .bind(keys.0)
        .bind(keys.1)
        .execute(&mut holder)
        .await
        .unwrap();
    let from = crate::federation_guilds::applied(a, gid_a).await;
    let bob = b.client(&f.bob_tok);
    for name in ["one", "two", "three"] {
        let r = bob
            .post(&format!("/guilds/{}/roles", f.gid_b), json!({"name": name}))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    crate::harness::say(&bob, &f.general_b, "after the roles").await;
    let rows = Patience::within(Duration::from_secs(30))
        .until("b logs the run", async || {
            let rows = b.hearth.db.log_range(gid_b, from, 100).await.unwrap();
            rows.last()
                .is_some_and(|r| r.event.contains("after the roles"))
                .then_some(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        crate::federation_guilds::applied(a, gid_a).await,
        from,
        "nothing is applied while the lock is held elsewhere"
    );
    let head = rows.last().unwrap().seq;
    let events: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.event).unwrap())
        .collect();
    let (on_1, on_2) = (
        hearth::s2s::Fed {
            h: &a.hearth,
            fed: &a.fed,
        },
        hearth::s2s::Fed {
            h: &a2.hearth,
            fed: &a2.fed,
        },
    );
    let (r1, r2, ()) = tokio::join!(
        on_1.receive_events(B, &events),
        on_2.receive_events(B, &events),
        async {
            sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                .bind(keys.0)
                .bind(keys.1)
                .execute(&mut holder)
                .await
                .unwrap();
        }
    );
    r1.unwrap();
    r2.unwrap();
    assert_eq!(crate::federation_guilds::applied(a, gid_a).await, head);
    assert_eq!(crate::federation_guilds::applied(&a2, gid_a).await, head);

    let roles = a
        .client(&f.alice_tok)
        .get(&format!("/guilds/{gid_a}/roles"))
        .await;
    let mut names: Vec<String> = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(&r["name"]))
        .filter(|n| ["one", "two", "three"].contains(&n.as_str()))
        .collect();
    names.sort();
    assert_eq!(names, ["one", "three", "two"], "{:?}", roles.body);

    // A later message closes the count: what either node published before it has arrived.
    crate::harness::say(&bob, &f.general_b, "end").await;
    for gw in &mut sessions {
        gw.expect_where("MESSAGE_CREATE", |d| d["content"] == "end")
            .await;
        let mut created: Vec<String> = gw
            .pending
            .iter()
            .filter(|v| v["t"] == "GUILD_ROLE_CREATE")
            .map(|v| s(&v["d"]["role"]["name"]))
            .collect();
        created.sort();
        assert_eq!(created, ["one", "three", "two"]);
        let messages = gw
            .pending
            .iter()
            .filter(|v| v["t"] == "MESSAGE_CREATE" && v["d"]["content"] == "after the roles")
            .count();
        assert_eq!(messages, 1);
    }
}

/// The position of the last entry of hosted guild `gid`'s log on `srv` (0: none yet).
async fn log_head(srv: &TestServer, gid: i64) -> i64 {
    srv.hearth
        .db
        .log_head(gid)
        .await
        .unwrap()
        .map_or(0, |h| h.0)
}

/// [`fed_with`]'s network (b hosts the guild, a and c are members) with a second node of b,
/// and the guild's ids on a and on b.
async fn host_with_two_nodes() -> (crate::federation_guilds::Fed, TestServer, i64, i64) {
    let f = fed_with(|_, _| {}).await;
    let b2 = f.net.server(B).another_node(|_| {}).await;
    let gid_a: i64 = f.gid_a.parse().unwrap();
    let gid_b: i64 = f.gid_b.parse().unwrap();
    (f, b2, gid_a, gid_b)
}

/// An operator command (`hearth admin guilds transfer`, its own process) changes a
/// federated guild while two nodes of its server run, each relaying the command's events to
/// its own sessions: the change's log entry goes to the outbox in the command's own
/// transaction, so the guild's log holds it once (not once per node), and the member server
/// applies the log up to its head.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_change_to_a_federated_guild_is_logged_once_whatever_the_nodes() {
    let (f, b2, gid_a, gid_b) = host_with_two_nodes().await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let (dave_id, dave_tok) = b.register("dave").await;
    let invite = b
        .client(&f.bob_tok)
        .post(
            &format!("/channels/{}/invites", f.general_b),
            json!({"max_age": 0}),
        )
        .await;
    crate::harness::join(&b2.client(&dave_tok), &s(&invite.body["code"])).await;
    let before = log_head(b, gid_b).await;
    let guilds = crate::gateway::GUILDS;
    let mut on_1 = crate::gateway::Gw::identify(b, &f.bob_tok, guilds).await;
    let mut on_2 = crate::gateway::Gw::identify(&b2, &dave_tok, guilds).await;

    let g = crate::operator::cli_json(b, &["admin", "guilds", "transfer", &f.gid_b, "dave"]).await;
    assert_eq!(g["owner"], "dave", "{g}");
    // Each node relays the command's events: its sessions see the new owner ...
    for gw in [&mut on_1, &mut on_2] {
        gw.expect_where("GUILD_UPDATE", |d| d["owner_id"] == dave_id.as_str())
            .await;
    }
    // ... and a message sent through it afterwards reaches the log after everything the
    // node's log writer took before it (it handles its node's events in order).
    crate::harness::say(&b.client(&f.bob_tok), &f.general_b, "through node 1").await;
    crate::harness::say(&b2.client(&dave_tok), &f.general_b, "through node 2").await;
    let rows = Patience::within(Duration::from_secs(30))
        .until("both messages are logged", async || {
            let rows = b.hearth.db.log_range(gid_b, before, 1_000).await.unwrap();
            let logged = |text: &str| rows.iter().any(|r| r.event.contains(text));
            (logged("through node 1") && logged("through node 2")).then_some(rows)
        })
        .await
        .unwrap();
    let transfers = rows
        .iter()
        .filter(|r| r.event.contains("\"GUILD_UPDATE\"") && r.event.contains(&dave_id))
        .count();
    assert_eq!(transfers, 1, "{rows:#?}");
    let head = rows.last().unwrap().seq;
    wait_applied("a applies the log", a, gid_a, head).await;
}

/// Changes to a federated guild made one after another through two nodes (each answered
/// before the next is sent), only one of which sequences the guild, reach the guild's log
/// in the order they were made: every change, the sequencer's own included, goes through
/// the outbox, which the sequencer moves into the log in commit order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_made_through_two_nodes_are_logged_in_the_order_they_were_made() {
    let (f, b2, gid_a, gid_b) = host_with_two_nodes().await;
    let (a, b) = (f.net.server(A), f.net.server(B));
    let before = log_head(b, gid_b).await;
    let nodes = [b, &b2];
    let mut made = vec![];
    for i in 0..8 {
        let node = nodes[i % 2];
        let bob = node.client(&f.bob_tok);
        let name = format!("change-{i}");
        if i % 4 < 2 {
            crate::harness::say(&bob, &f.general_b, &name).await;
        } else {
            let r = bob
                .post(&format!("/guilds/{}/roles", f.gid_b), json!({"name": name}))
                .await;
            assert_eq!(r.status, 200, "{r:?}");
        }
        made.push(name);
    }
    // The entries that make the changes (later ones, such as role updates, name them too).
    let creation = |r: &hearth::storage::LogRow| {
        ["\"MESSAGE_CREATE\"", "\"GUILD_ROLE_CREATE\""]
            .iter()
            .any(|t| r.event.contains(t))
    };
    let rows = Patience::within(Duration::from_secs(30))
        .until("every change is logged", async || {
            let rows = b.hearth.db.log_range(gid_b, before, 1_000).await.unwrap();
            let done = made.iter().all(|m| {
                rows.iter()
                    .any(|r| creation(r) && r.event.contains(&format!("\"{m}\"")))
            });
            done.then_some(rows)
        })
        .await
        .unwrap();
    let logged: Vec<&String> = rows
        .iter()
        .filter(|r| creation(r))
        .filter_map(|r| made.iter().find(|m| r.event.contains(&format!("\"{m}\""))))
        .collect();
    assert_eq!(logged, made.iter().collect::<Vec<_>>());
    wait_applied("a applies the log", a, gid_a, rows.last().unwrap().seq).await;
}
