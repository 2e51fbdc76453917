//! A node id belongs to one running process (README "Nodes and leases", `Node::claim` in
//! `src/service/node.rs`): a second process started with the id of a running node refuses to
//! start; once the running one froze or died, the next one takes the id over within the
//! claim's time to live and raises the fencing tokens of the leases held under it, so the old
//! process's appends are refused; a process whose claim was taken over stops holding those
//! leases, answers `/ready` with 503, and its graceful end leaves them to its successor.
//! Each test runs on SQLite (nodes on one database file) and on PostgreSQL.

use hearth::config::Config;
use hearth::storage::{LeaseFence, LogAppend, now_ms};
use hearth_testkit::app::RunningApp;

use crate::harness::{TestServer, eventually};

/// `/ready`'s status and the checks it names as failing.
async fn ready(srv: &TestServer) -> (u16, String) {
    let r = reqwest::get(format!("http://{}/ready", srv.addr))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Lease `name`, taken (or renewed) by the node of `srv`.
async fn lease(srv: &TestServer, name: &str) -> hearth::service::node::Fence {
    let fence = srv.hearth.node.want(name).await.unwrap();
    fence.unwrap_or_else(|| panic!("{name} is held elsewhere"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_nodes_id_refuses_a_second_process_and_passes_on_once_it_froze() {
    let first = TestServer::start().await;
    let id = first.hearth.node.id.clone();
    let name = "sequencer:4343";
    let old = lease(&first, name).await;
    let same = |c: &mut Config| c.node.id = Some(id.clone());

    // While the first process runs (it renews its claim every second), a second one with its
    // id stops at start, naming the holder.
    let err = match RunningApp::start(first.another_node_config(same)).await {
        Ok(_) => panic!("a second process with a running node's id started"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("is in use by another running process")
            && err.contains(first.hearth.node.instance()),
        "{err}"
    );
    assert_eq!(
        first.hearth.node.holding(name).map(|f| f.token),
        Some(old.token)
    );
    assert_eq!(ready(&first).await.0, 200);

    // The first process freezes (as killed, or paused): the next one with its id starts once
    // the claim lapsed, and raised the token of every lease held under the id.
    first.hearth.node.halt();
    let second = first.another_node(same).await;
    assert_eq!(second.hearth.node.id, id);
    let row = |seq: i64| LogAppend {
        guild_id: 4343,
        seq,
        event: format!("{{\"seq\":{seq}}}"),
        hash: format!("h{seq}"),
        channel_id: None,
        object_id: None,
        created_at: now_ms(),
        scrub: Default::default(),
    };
    let fence = |token: i64| LeaseFence {
        name: name.into(),
        holder: id.clone(),
        token,
    };
    let db = &second.hearth.db;
    // The frozen process wakes and appends with its token: refused, nothing stored.
    let r = db.append_events(&[row(1)], &[fence(old.token)]).await;
    assert!(
        matches!(r, Err(hearth::error::Error::Unavailable(_))),
        "the old process appended under its old token: {r:?}"
    );
    assert_eq!(db.log_head(4343).await.unwrap(), None);
    // The new process holds the lease under the same id, with the raised token.
    let new = lease(&second, name).await;
    assert!(new.token > old.token, "{new:?} after {old:?}");
    db.append_events(&[row(1)], &[fence(new.token)])
        .await
        .unwrap();
    assert_eq!(db.log_head(4343).await.unwrap().map(|h| h.0), Some(1));
    assert_eq!(ready(&second).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_whose_node_id_was_taken_over_stops_holding_its_leases() {
    let srv = TestServer::start().await;
    let node = &srv.hearth.node;
    let job = "job:claim-probe";
    assert!(node.want(job).await.unwrap().is_some());
    assert!(!node.is_superseded());

    // Another process takes the claim over, as if this one had been silent past its time to
    // live (its clock is past the claim's expiry).
    let claim = format!("node:{}", node.id);
    let later = now_ms() + 60_000;
    let db = &srv.hearth.db;
    let taken = db
        .take_lease(&claim, "successor#1", later, later + 600_000)
        .await;
    assert!(taken.unwrap().is_some());

    // At its next renewal the process finds out: it holds nothing under the id any more.
    eventually("the process finds its node id taken over", async || {
        node.is_superseded()
    })
    .await;
    assert!(node.holding(job).is_none());
    assert!(
        node.want(job).await.unwrap().is_none(),
        "it took a lease again"
    );
    let (status, body) = ready(&srv).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("was taken over by another process"), "{body}");
    // Its graceful end gives up its own leases only: the id's belong to the successor.
    node.release_all().await;
    let rows = db.leases(job).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].holder, node.id);
    assert!(rows[0].expires_at > now_ms(), "{rows:?}");
}
