//! Message search indexing after the send (issue 15; migration 0046; README "Search"): on
//! SQLite a new message waits in `search_backlog` and the message writer indexes it when
//! sends pause; a search indexes what is left first; a backlog left by a stop is indexed
//! after the start; edits and deletes of waiting messages keep the FTS5 index whole. On
//! PostgreSQL there is no backlog and the same searches find the same messages.

use std::time::Duration;

use crate::gateway::world;
use crate::harness::{Client, say};

/// The ids a guild search for `content` returns, newest first.
async fn found(c: &Client, guild: &str, content: &str) -> Vec<String> {
    let r = c
        .get(&format!(
            "/guilds/{guild}/messages/search?content={content}"
        ))
        .await;
    assert_eq!(r.status, 200, "search {content}: {r:?}");
    r.body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages: {r:?}"))
        .iter()
        .map(|m| m[0]["id"].as_str().expect("id").to_owned())
        .collect()
}

/// SQLite: `(waiting in the backlog, in the FTS5 index, stored)`, after checking that the
/// index is whole: FTS5's own integrity check of its structures, and every stored message
/// either in the index or waiting, never both, with nothing else in the index. With an
/// empty backlog, FTS5 also compares its index with the text of every message.
async fn index_state(p: &sqlx::SqlitePool) -> (i64, i64, i64) {
    sqlx::query("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        .execute(p)
        .await
        .expect("the FTS5 index is whole");
    let (waiting, indexed, stored, neither, both, stray): (i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM search_backlog), \
                    (SELECT COUNT(*) FROM messages_fts_docsize), \
                    (SELECT COUNT(*) FROM messages), \
                    (SELECT COUNT(*) FROM messages WHERE id NOT IN (SELECT id FROM messages_fts_docsize) \
                        AND id NOT IN (SELECT message_id FROM search_backlog)), \
                    (SELECT COUNT(*) FROM search_backlog WHERE message_id IN (SELECT id FROM messages_fts_docsize)), \
                    (SELECT COUNT(*) FROM messages_fts_docsize WHERE id NOT IN (SELECT id FROM messages))",
        )
        .fetch_one(p)
        .await
        .expect("counts");
    assert_eq!(
        (neither, both, stray),
        (0, 0, 0),
        "messages neither indexed nor waiting, both, and index entries of no message"
    );
    if waiting == 0 {
        sqlx::query("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
            .execute(p)
            .await
            .expect("the FTS5 index matches the text of every message");
    }
    (waiting, indexed, stored)
}

#[tokio::test]
async fn sends_are_indexed_when_they_pause() {
    let w = world().await;
    let mut backlog = w.ts.hearth.search_backlog();
    let mut sent = vec![];
    for i in 0..5 {
        sent.push(say(&w.alice, &w.general, &format!("paused word{i} lantern")).await);
    }
    match &*w.ts.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            // The writer counted each stored message before acknowledging it, and empties the
            // backlog once the sends stop, without any search asking it to.
            tokio::time::timeout(Duration::from_secs(10), backlog.wait_for(|n| *n == 0))
                .await
                .expect("the backlog is indexed within 10 s of the last send")
                .expect("writer running");
            let (waiting, indexed, stored) = index_state(p).await;
            assert_eq!(waiting, 0);
            assert_eq!(indexed, stored);
            assert!(stored >= 5, "{stored}");
        }
        hearth_db::Db::Postgres(_) => assert_eq!(*backlog.borrow(), 0),
    }
    sent.reverse();
    assert_eq!(found(&w.bob, &w.guild, "lantern").await, sent);
    assert_eq!(
        found(&w.bob, &w.guild, "word3").await,
        vec![sent[1].clone()]
    );
}

#[tokio::test]
async fn a_backlog_left_at_a_stop_is_found_and_edits_and_deletes_keep_the_index_whole() {
    let mut w = world().await;
    let kept = say(&w.alice, &w.general, "kept alpha").await;
    w.ts.stop_keeping_data().await;

    // With the server down: "kept" is indexed, then messages are stored as the last
    // transactions before a crash would leave them (committed, not yet indexed); one
    // waiting message is edited and one deleted, and the indexed one is edited.
    let db = hearth::storage::Db::connect(&w.ts.config)
        .await
        .expect("open the database");
    db.flush_search_backlog().await.expect("index");
    let ids = hearth::snowflake::SnowflakeGenerator::new(7, 7);
    let orphans: Vec<i64> = (0..3).map(|_| ids.next().db()).collect();
    let (g, c, a): (i64, i64, i64) = (
        w.guild.parse().unwrap(),
        w.general.parse().unwrap(),
        w.alice_id.parse().unwrap(),
    );
    hearth_db::on_db!(&*db, p => {
        for (id, text) in orphans.iter().zip(["orphan one", "orphan two", "orphan three"]) {
            sqlx::query("INSERT INTO messages (id, channel_id, guild_id, author_id, content) VALUES ($1, $2, $3, $4, $5)")
                .bind(id).bind(c).bind(g).bind(a).bind(text)
                .execute(p).await.expect("insert");
        }
        sqlx::query("UPDATE messages SET content = 'orphan revised' WHERE id = $1")
            .bind(orphans[1]).execute(p).await.expect("edit a waiting message");
        sqlx::query("DELETE FROM messages WHERE id = $1")
            .bind(orphans[2]).execute(p).await.expect("delete a waiting message");
        sqlx::query("UPDATE messages SET content = 'kept beta' WHERE id = $1")
            .bind(kept.parse::<i64>().unwrap()).execute(p).await.expect("edit an indexed message");
    });
    if let hearth_db::Db::Sqlite(p) = &*db {
        let (waiting, indexed, stored) = index_state(p).await;
        assert_eq!(waiting, 2, "the deleted one left the backlog");
        assert_eq!(indexed + waiting, stored);
    } else {
        assert_eq!(
            db.index_search_backlog(100).await.expect("no-op"),
            (0, false)
        );
    }
    db.close().await;

    w.ts.start_again().await;
    let bob = w.ts.client(&w.bob_tok);
    let (one, two) = (orphans[0].to_string(), orphans[1].to_string());
    assert_eq!(
        found(&bob, &w.guild, "orphan").await,
        vec![two.clone(), one]
    );
    assert_eq!(found(&bob, &w.guild, "revised").await, vec![two]);
    assert!(found(&bob, &w.guild, "three").await.is_empty());
    assert!(found(&bob, &w.guild, "alpha").await.is_empty());
    assert_eq!(found(&bob, &w.guild, "beta").await, vec![kept]);
    if let hearth_db::Db::Sqlite(p) = &*w.ts.hearth.db {
        let (waiting, indexed, stored) = index_state(p).await;
        assert_eq!((waiting, indexed), (0, stored));
    }
}
