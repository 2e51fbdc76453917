//! Signed history (spec/federation.md §8.2, §8.5; the former §16 item 17): a host signs its
//! history pages and join snapshots at the position of its log they were read at, and a
//! member server uses a page only when that position is one of its verified chain, not on
//! TLS alone.

use hearth_federation::history::{HistoryScope, verify_history};
use reqwest::Method;

use crate::federation_guilds::{A, B, C, general_of};
use crate::federation_pulls::{bobs_guild, join, post};
use crate::harness::{TestServer, eventually, s};
use crate::network::TestNetwork;

/// Sets the stored hash of event `seq` of `guild` in `srv`'s log (a host that rewrote its
/// log), returning the one it had.
async fn rewrite_hash(srv: &TestServer, guild: i64, seq: i64, hash: &str) -> String {
    let old = srv
        .hearth
        .db
        .log_range(guild, seq - 1, 1)
        .await
        .unwrap()
        .remove(0)
        .hash;
    let q = "UPDATE guild_events SET hash = $1 WHERE guild_id = $2 AND seq = $3";
    match &*srv.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            sqlx::query(q)
                .bind(hash)
                .bind(guild)
                .bind(seq)
                .execute(p)
                .await
                .unwrap();
        }
        hearth_db::Db::Postgres(p) => {
            sqlx::query(q)
                .bind(hash)
                .bind(guild)
                .bind(seq)
                .execute(p)
                .await
                .unwrap();
        }
    }
    old
}

#[tokio::test]
async fn history_pages_are_signed_at_a_log_position_the_member_checks_against_its_chain() {
    let net = TestNetwork::start(&[A, B, C]).await;
    let (a, b, c) = (net.server(A), net.server(B), net.server(C));
    let (_, alice_tok) = a.register("alice").await;
    let (_, bob_tok) = b.register("bob").await;
    let (_, carol_tok) = c.register("carol").await;
    let (bob, gid_b, general_b, code) = bobs_guild(&net, &bob_tok, "History").await;
    post(&bob, &general_b, "said before anyone joined").await;
    let gc = join(a, &alice_tok, &code).await;
    join(c, &carol_tok, &code).await;
    let gid: i64 = gid_b.parse().unwrap();
    let (gid_a, general_a) = (s(&gc["id"]), general_of(&gc));

    // a has applied everything b logged (carol's join included): its chain ends at b's head.
    let head = eventually("b logged carol's join", async || {
        b.hearth
            .db
            .log_head(gid)
            .await
            .unwrap()
            .filter(|(seq, _)| *seq >= 2)
    })
    .await;
    let local: i64 = gid_a.parse().unwrap();
    eventually("a applied b's log", async || {
        a.hearth
            .db
            .remote_guild(local)
            .await
            .unwrap()
            .is_some_and(|rg| rg.applied_seq == head.0)
    })
    .await;

    // The page as b serves it to c: signed by b, for this guild and channel, at b's head.
    let path =
        format!("/_hearth/federation/v1/guilds/{gid_b}/channels/{general_b}/messages?limit=10");
    let page = c.fed.request(B, Method::GET, &path, None).await.unwrap();
    let scope = HistoryScope {
        host: B,
        guild_id: &gid_b,
        channel_id: Some(&general_b),
    };
    let pos = verify_history(&page, scope, &c.fed.client.keys()).unwrap();
    assert_eq!(
        (pos.seq, pos.hash.as_deref()),
        (head.0, Some(head.1.as_str()))
    );
    assert!(page.to_string().contains("said before anyone joined"));
    let mut altered = page.clone();
    altered["messages"][0]["content"] = "said by no one".into();
    assert!(verify_history(&altered, scope, &c.fed.client.keys()).is_err());

    // b rewrites its log: the pages it signs now name a position a's chain does not have,
    // and a serves its replica without them.
    let kept = rewrite_hash(
        b,
        gid,
        head.0,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .await;
    let alice = a.client(&alice_tok);
    let hist = alice
        .get(&format!("/channels/{general_a}/messages?limit=10"))
        .await;
    assert_eq!(hist.status, 200, "{hist:?}");
    assert!(
        !hist.body.to_string().contains("said before anyone joined"),
        "a page outside a's chain was used: {:?}",
        hist.body
    );

    // With its log as it was, b's pages are used: the earlier message is backfilled.
    rewrite_hash(b, gid, head.0, &kept).await;
    let hist = alice
        .get(&format!("/channels/{general_a}/messages?limit=10"))
        .await;
    assert_eq!(hist.status, 200, "{hist:?}");
    let said: Vec<&str> = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(said.contains(&"said before anyone joined"), "{said:?}");
}
