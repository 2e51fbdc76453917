//! Message search (issue 15; Discord "Search Guild Messages"; README "Search"):
//! `GET /guilds/{id}/messages/search` and `GET /channels/{id}/messages/search` through the
//! database's full-text engine (SQLite FTS5, PostgreSQL tsvector + GIN), the filters, paging,
//! sorting, what the caller may read, the index following edits and deletes, and 400s.

use serde_json::{Value, json};

use crate::attachments::{form, png, upload};
use crate::gateway::{World, world};
use crate::harness::{Client, assert_err, assert_field_error, perm, s, say};

/// Percent-encodes a query value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The query string of `pairs`.
fn qs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A guild search by `c`, asserting 200; the answer.
async fn search(c: &Client, guild: &str, pairs: &[(&str, &str)]) -> Value {
    let r = c
        .get(&format!("/guilds/{guild}/messages/search?{}", qs(pairs)))
        .await;
    assert_eq!(r.status, 200, "search {pairs:?}: {r:?}");
    assert_eq!(r.body["doing_deep_historical_index"], false);
    r.body
}

/// The ids of the results, in order, checking each is a one-message list.
fn found(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages: {body}"))
        .iter()
        .map(|m| {
            assert_eq!(m.as_array().map(Vec::len), Some(1), "{m}");
            s(&m[0]["id"])
        })
        .collect()
}

/// The ids of a guild search by `c`.
async fn ids(c: &Client, guild: &str, pairs: &[(&str, &str)]) -> Vec<String> {
    found(&search(c, guild, pairs).await)
}

async fn channel(w: &World, name: &str) -> String {
    let r = w
        .alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": name}),
        )
        .await;
    assert_eq!(r.status, 201, "create channel: {r:?}");
    s(&r.body["id"])
}

#[tokio::test]
async fn content_words_prefixes_and_phrases() {
    let w = world().await;
    let fox = say(&w.alice, &w.general, "The quick brown Fox jumps").await;
    let dog = say(&w.alice, &w.general, "a lazy dog sleeps; brown too").await;
    let both = say(&w.bob, &w.general, "brown fox meets lazy dog").await;
    say(&w.alice, &w.general, "nothing to see").await;

    // Every word must match, in any order, case-insensitively; newest first by default.
    assert_eq!(
        ids(&w.bob, &w.guild, &[("content", "brown")]).await,
        vec![both.clone(), dog.clone(), fox.clone()]
    );
    assert_eq!(
        ids(&w.bob, &w.guild, &[("content", "FOX brown")]).await,
        vec![both.clone(), fox.clone()]
    );
    assert_eq!(
        ids(&w.bob, &w.guild, &[("content", "fox dog")]).await,
        vec![both.clone()]
    );
    // A prefix with `*`; a whole word only without it.
    assert_eq!(
        ids(&w.bob, &w.guild, &[("content", "jum*")]).await,
        vec![fox.clone()]
    );
    assert!(
        ids(&w.bob, &w.guild, &[("content", "jum")])
            .await
            .is_empty()
    );
    // A quoted phrase: the words adjacent and in order.
    assert_eq!(
        ids(&w.bob, &w.guild, &[("content", "\"lazy dog\"")]).await,
        vec![both.clone(), dog.clone()]
    );
    assert!(
        ids(&w.bob, &w.guild, &[("content", "\"dog lazy\"")])
            .await
            .is_empty()
    );
    // The answer's shape: messages rendered as history renders them, without reactions.
    let r = search(&w.bob, &w.guild, &[("content", "meets")]).await;
    assert_eq!(r["total_results"], 1);
    let m = &r["messages"][0][0];
    assert_eq!(m["content"], "brown fox meets lazy dog");
    assert_eq!(m["author"]["id"], w.bob_id.as_str());
    assert_eq!(m["channel_id"], w.general.as_str());
    assert_eq!(r["threads"], json!([]));
    assert_eq!(r["members"], json!([]));
    // Query text that the engines' own syntax would choke on is only words here.
    for odd in [
        "\"",
        "*",
        "AND OR NOT (",
        "'",
        "\\",
        "fox:*",
        "a & b | !c",
        "NEAR(fox dog)",
        "-fox",
        "fox\"",
        "🦊",
    ] {
        search(&w.bob, &w.guild, &[("content", odd)]).await;
    }
}

#[tokio::test]
async fn filters_authors_mentions_has_pinned_channels_and_ids() {
    let w = world().await;
    let other = channel(&w, "other").await;
    let plain = say(&w.alice, &w.general, "plain words").await;
    let mention = say(&w.alice, &w.general, &format!("hey <@{}>", w.bob_id)).await;
    let link = say(&w.bob, &w.general, "see https://example.org/page").await;
    let r = w
        .alice
        .post(
            &format!("/channels/{}/messages", w.general),
            json!({"content": "with embed", "embeds": [{"title": "card"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let embed = s(&r.body["id"]);
    let r = upload(
        &w.alice,
        &w.general,
        form(
            Some(json!({"content": "a picture"})),
            &[("cat.png", &png())],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let image = s(&r.body["id"]);
    let r = upload(
        &w.alice,
        &w.general,
        form(
            Some(json!({"content": "a text"})),
            &[("notes.txt", b"hello")],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let text_file = s(&r.body["id"]);
    let elsewhere = say(&w.bob, &other, "in the other channel").await;
    let r = w
        .alice
        .put_empty(&format!("/channels/{}/pins/{plain}", w.general))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    // A webhook's message.
    let r = w
        .alice
        .post(
            &format!("/channels/{}/webhooks", w.general),
            json!({"name": "hook"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (hid, htok) = (s(&r.body["id"]), s(&r.body["token"]));
    let r =
        w.ts.anon()
            .post(
                &format!("/webhooks/{hid}/{htok}?wait=true"),
                json!({"content": "from the hook"}),
            )
            .await;
    assert_eq!(r.status, 200, "{r:?}");
    let hooked = s(&r.body["id"]);

    let all = vec![
        hooked.clone(),
        elsewhere.clone(),
        text_file.clone(),
        image.clone(),
        embed.clone(),
        link.clone(),
        mention.clone(),
        plain.clone(),
    ];
    let b = &w.bob;
    let g = w.guild.as_str();
    assert_eq!(ids(b, g, &[]).await, all);
    assert_eq!(
        ids(b, g, &[("author_id", &w.bob_id)]).await,
        vec![elsewhere.clone(), link.clone()]
    );
    // Repeatable: any of the authors.
    assert_eq!(
        ids(b, g, &[("author_id", &w.bob_id), ("author_id", &hid)]).await,
        vec![hooked.clone(), elsewhere.clone(), link.clone()]
    );
    assert_eq!(
        ids(b, g, &[("author_type", "webhook")]).await,
        vec![hooked.clone()]
    );
    assert_eq!(
        ids(b, g, &[("author_type", "-webhook")]).await,
        all[1..].to_vec()
    );
    assert_eq!(
        ids(b, g, &[("author_type", "user")]).await,
        all[1..].to_vec()
    );
    assert!(ids(b, g, &[("author_type", "bot")]).await.is_empty());
    assert_eq!(
        ids(b, g, &[("mentions", &w.bob_id)]).await,
        vec![mention.clone()]
    );
    assert!(ids(b, g, &[("mentions", &w.alice_id)]).await.is_empty());
    assert_eq!(ids(b, g, &[("has", "link")]).await, vec![link.clone()]);
    assert_eq!(ids(b, g, &[("has", "embed")]).await, vec![embed.clone()]);
    assert_eq!(
        ids(b, g, &[("has", "file")]).await,
        vec![text_file.clone(), image.clone()]
    );
    assert_eq!(ids(b, g, &[("has", "image")]).await, vec![image.clone()]);
    assert_eq!(
        ids(b, g, &[("has", "file"), ("has", "-image")]).await,
        vec![text_file.clone()]
    );
    assert!(ids(b, g, &[("has", "video")]).await.is_empty());
    assert!(ids(b, g, &[("has", "sticker")]).await.is_empty());
    assert_eq!(ids(b, g, &[("has", "-poll")]).await, all);
    assert_eq!(ids(b, g, &[("pinned", "true")]).await, vec![plain.clone()]);
    assert_eq!(ids(b, g, &[("pinned", "false")]).await, all[..7].to_vec());
    assert_eq!(
        ids(b, g, &[("channel_id", &other)]).await,
        vec![elsewhere.clone()]
    );
    assert_eq!(
        ids(b, g, &[("channel_id", &other), ("channel_id", &w.general)]).await,
        all
    );
    // Exclusive id bounds.
    assert_eq!(
        ids(b, g, &[("min_id", &embed), ("max_id", &elsewhere)]).await,
        vec![text_file.clone(), image.clone()]
    );
    // Filters combine with the content query; the channel form searches its channel.
    assert_eq!(
        ids(b, g, &[("content", "other"), ("author_id", &w.bob_id)]).await,
        vec![elsewhere.clone()]
    );
    let r = b
        .get(&format!(
            "/channels/{other}/messages/search?content=channel"
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(found(&r.body), vec![elsewhere.clone()]);
}

#[tokio::test]
async fn paging_totals_and_sort_orders() {
    let w = world().await;
    let mut sent = vec![];
    for i in 0..30 {
        sent.push(say(&w.alice, &w.general, &format!("entry number {i}")).await);
    }
    say(&w.alice, &w.general, "unrelated").await;
    let newest: Vec<String> = sent.iter().rev().cloned().collect();
    let b = &w.bob;
    let g = w.guild.as_str();

    // Default page: 25, newest first, with the total of every match.
    let r = search(b, g, &[("content", "entry")]).await;
    assert_eq!(r["total_results"], 30);
    assert_eq!(found(&r), newest[..25].to_vec());
    let r = search(b, g, &[("content", "entry"), ("offset", "25")]).await;
    assert_eq!(r["total_results"], 30);
    assert_eq!(found(&r), newest[25..].to_vec());
    let r = search(
        b,
        g,
        &[("content", "entry"), ("offset", "10"), ("limit", "5")],
    )
    .await;
    assert_eq!(found(&r), newest[10..15].to_vec());
    // Past the end: an empty page, the total still there.
    let r = search(b, g, &[("content", "entry"), ("offset", "9975")]).await;
    assert_eq!(r["total_results"], 30);
    assert!(found(&r).is_empty());
    // Oldest first.
    let r = search(
        b,
        g,
        &[("content", "entry"), ("sort_order", "asc"), ("limit", "3")],
    )
    .await;
    assert_eq!(found(&r), sent[..3].to_vec());
    // Relevance: the best match first (a message repeating the word ranks above one
    // holding it once), then the rest.
    let loud = say(&w.alice, &w.general, "zebra zebra zebra").await;
    let quiet = say(
        &w.alice,
        &w.general,
        "one zebra among many other words in a long sentence here",
    )
    .await;
    let r = search(b, g, &[("content", "zebra"), ("sort_by", "relevance")]).await;
    assert_eq!(found(&r), vec![loud.clone(), quiet.clone()]);
    let r = search(
        b,
        g,
        &[
            ("content", "zebra"),
            ("sort_by", "relevance"),
            ("sort_order", "asc"),
        ],
    )
    .await;
    assert_eq!(found(&r), vec![quiet, loud]);
}

#[tokio::test]
async fn only_channels_the_caller_may_read() {
    let w = world().await;
    let hidden = channel(&w, "hidden").await;
    let nohistory = channel(&w, "no-history").await;
    let open = say(&w.alice, &w.general, "secret plans everywhere").await;
    let in_hidden = say(&w.alice, &hidden, "secret plans hidden").await;
    let in_nohistory = say(&w.alice, &nohistory, "secret plans without history").await;
    // bob may not view `hidden` (a member overwrite); nobody but the owner may read the
    // history of `no-history` (an @everyone overwrite).
    let r = w
        .alice
        .put(
            &format!("/channels/{hidden}/permissions/{}", w.bob_id),
            json!({"type": 1, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = w
        .alice
        .put(
            &format!("/channels/{nohistory}/permissions/{}", w.guild),
            json!({"type": 0, "allow": "0", "deny": perm::READ_MESSAGE_HISTORY.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");

    let q = [("content", "secret")];
    let r = search(&w.bob, &w.guild, &q).await;
    assert_eq!(r["total_results"], 1);
    assert_eq!(found(&r), vec![open.clone()]);
    // Asking for the hidden channels by id adds nothing.
    let r = search(
        &w.bob,
        &w.guild,
        &[
            ("content", "secret"),
            ("channel_id", &hidden),
            ("channel_id", &nohistory),
        ],
    )
    .await;
    assert_eq!(r["total_results"], 0);
    // The owner reads everything.
    assert_eq!(
        ids(&w.alice, &w.guild, &q).await,
        vec![in_nohistory.clone(), in_hidden.clone(), open.clone()]
    );
    // The channel form: Missing Access where bob cannot view, Missing Permissions where he
    // cannot read the history.
    let r = w
        .bob
        .get(&format!(
            "/channels/{hidden}/messages/search?content=secret"
        ))
        .await;
    assert_err(&r, 403, 50001);
    let r = w
        .bob
        .get(&format!(
            "/channels/{nohistory}/messages/search?content=secret"
        ))
        .await;
    assert_err(&r, 403, 50013);
    // Granting the history back through a role shows the channel at once.
    let role = crate::harness::create_role(&w.alice, &w.guild, "readers", 0).await;
    crate::harness::give_role(&w.alice, &w.guild, &w.bob_id, &role).await;
    let r = w
        .alice
        .put(
            &format!("/channels/{nohistory}/permissions/{role}"),
            json!({"type": 0, "allow": perm::READ_MESSAGE_HISTORY.to_string(), "deny": "0"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(ids(&w.bob, &w.guild, &q).await, vec![in_nohistory, open]);
}

#[tokio::test]
async fn outsiders_are_refused_and_dms_are_searchable_by_their_recipients() {
    let w = world().await;
    say(&w.alice, &w.general, "members only").await;
    let (_, carol) = w.ts.user("carol").await;
    let r = carol
        .get(&format!(
            "/guilds/{}/messages/search?content=members",
            w.guild
        ))
        .await;
    assert_err(&r, 403, 50001);
    let r = carol
        .get(&format!(
            "/channels/{}/messages/search?content=members",
            w.general
        ))
        .await;
    assert_err(&r, 403, 50001);
    let r = carol.get("/guilds/1/messages/search?content=x").await;
    assert_err(&r, 404, 10004);
    let r = carol.get("/channels/1/messages/search?content=x").await;
    assert_err(&r, 404, 10003);
    let r =
        w.ts.anon()
            .get(&format!("/guilds/{}/messages/search", w.guild))
            .await;
    assert_eq!(r.status, 401, "{r:?}");

    // A DM between alice and bob: both recipients search it, carol may not.
    let r = w
        .alice
        .post("/users/@me/channels", json!({"recipient_id": w.bob_id}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let dm = s(&r.body["id"]);
    let m = say(&w.alice, &dm, "a private note").await;
    say(&w.alice, &dm, "something else").await;
    for c in [&w.alice, &w.bob] {
        let r = c
            .get(&format!("/channels/{dm}/messages/search?content=private"))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(found(&r.body), vec![m.clone()]);
    }
    let r = carol
        .get(&format!("/channels/{dm}/messages/search?content=private"))
        .await;
    assert_err(&r, 403, 50001);
}

#[tokio::test]
async fn edits_and_deletes_reach_the_index() {
    let w = world().await;
    let g = w.guild.as_str();
    let m = say(&w.alice, &w.general, "original wording").await;
    let gone = say(&w.alice, &w.general, "doomed wording").await;
    let r = w
        .alice
        .patch(
            &format!("/channels/{}/messages/{m}", w.general),
            json!({"content": "revised phrasing"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(ids(&w.bob, g, &[("content", "original")]).await.is_empty());
    assert_eq!(
        ids(&w.bob, g, &[("content", "revised")]).await,
        vec![m.clone()]
    );
    assert_eq!(
        ids(&w.bob, g, &[("content", "wording")]).await,
        vec![gone.clone()]
    );

    let r = w
        .alice
        .delete(&format!("/channels/{}/messages/{gone}", w.general))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(ids(&w.bob, g, &[("content", "doomed")]).await.is_empty());
    let r = search(&w.bob, g, &[]).await;
    assert_eq!(r["total_results"], 1);

    // Bulk deletion and a channel's deletion take their messages out of the index too.
    let other = channel(&w, "other").await;
    let a = say(&w.alice, &w.general, "bulk one").await;
    let b2 = say(&w.alice, &w.general, "bulk two").await;
    let r = w
        .alice
        .post(
            &format!("/channels/{}/messages/bulk-delete", w.general),
            json!({"messages": [a, b2]}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(ids(&w.alice, g, &[("content", "bulk")]).await.is_empty());
    say(&w.alice, &other, "channel bound text").await;
    assert_eq!(ids(&w.alice, g, &[("content", "bound")]).await.len(), 1);
    let r = w.alice.delete(&format!("/channels/{other}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(ids(&w.alice, g, &[("content", "bound")]).await.is_empty());
    // The revised message is still found after all that.
    assert_eq!(ids(&w.alice, g, &[("content", "phrasing")]).await, vec![m]);

    // Stored state: on SQLite the FTS5 index holds exactly the stored messages (FTS5's own
    // integrity check compares it with the content table); on PostgreSQL the GIN index is
    // PostgreSQL's, and no stored message holds the deleted or replaced words.
    match &*w.ts.hearth.db {
        hearth_db::Db::Sqlite(p) => {
            sqlx::query(
                "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)",
            )
            .execute(p)
            .await
            .expect("the FTS5 index matches the messages");
            let (indexed, stored): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM messages_fts_docsize), (SELECT COUNT(*) FROM messages)",
            )
            .fetch_one(p)
            .await
            .expect("counts");
            assert_eq!(indexed, stored);
        }
        hearth_db::Db::Postgres(p) => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM messages WHERE search_vector @@ to_tsquery('simple', 'doomed | original | bulk | bound')",
            )
            .fetch_one(p)
            .await
            .expect("count");
            assert_eq!(n, 0);
        }
    }
}

#[tokio::test]
async fn bad_parameters_are_400_with_the_field() {
    let w = world().await;
    let base = format!("/guilds/{}/messages/search", w.guild);
    let long = "x".repeat(1025);
    for (q, field) in [
        ("limit=0".to_owned(), "limit"),
        ("limit=26".to_owned(), "limit"),
        ("limit=ten".to_owned(), "limit"),
        ("offset=-1".to_owned(), "offset"),
        ("offset=9976".to_owned(), "offset"),
        ("author_id=abc".to_owned(), "author_id"),
        ("mentions=-5".to_owned(), "mentions"),
        (
            "channel_id=99999999999999999999999".to_owned(),
            "channel_id",
        ),
        ("min_id=x".to_owned(), "min_id"),
        ("max_id=".to_owned(), "max_id"),
        ("has=everything".to_owned(), "has"),
        ("author_type=robot".to_owned(), "author_type"),
        ("sort_by=size".to_owned(), "sort_by"),
        ("sort_order=up".to_owned(), "sort_order"),
        ("pinned=maybe".to_owned(), "pinned"),
        (format!("content={long}"), "content"),
    ] {
        let r = w.bob.get(&format!("{base}?{q}")).await;
        assert_field_error(&r, field);
    }
    // The channel form checks the same way, and a malformed path id is 400 too.
    let r = w
        .bob
        .get(&format!(
            "/channels/{}/messages/search?limit=100",
            w.general
        ))
        .await;
    assert_field_error(&r, "limit");
    let r = w.bob.get("/guilds/nope/messages/search").await;
    assert_err(&r, 400, 50035);
    // Limits accepted at their bounds; unknown parameters ignored, as Discord does.
    let r = w
        .bob
        .get(&format!(
            "{base}?limit=25&offset=9975&include_nsfw=true&slop=2"
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn total_results_is_exact_up_to_its_cap_and_pages_reach_past_it() {
    // `total_results` is exact up to 5,000 (storage::search::MAX_COUNTED) and says 5,000
    // beyond it; pages still reach `offset` 9,975. 10,005 messages seeded straight into the
    // tables (the triggers or the stored vector index them as any insert): every one says
    // `flood`, every 4th `tide` (a frequent word: on PostgreSQL counted by walking the newest
    // messages), every 50th `rare` (counted through the index), so both ways are checked
    // against the exact numbers.
    let w = world().await;
    let (gid, cid): (i64, i64) = (w.guild.parse().unwrap(), w.general.parse().unwrap());
    let author: i64 = w.alice_id.parse().unwrap();
    let ids: Vec<i64> = (0..10_005).map(|_| w.ts.hearth.next_id()).collect();
    let text = |i: usize, id: i64| {
        let mut t = format!("flood {id}");
        if i.is_multiple_of(4) {
            t.push_str(" tide");
        }
        if i.is_multiple_of(50) {
            t.push_str(" rare");
        }
        t
    };
    for (n, chunk) in ids.chunks(500).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(j, id)| {
                format!(
                    "({id}, {cid}, {gid}, {author}, '{}')",
                    text(n * 500 + j, *id)
                )
            })
            .collect();
        let q = format!(
            "INSERT INTO messages (id, channel_id, guild_id, author_id, content) VALUES {}",
            values.join(", ")
        );
        let q = sqlx::AssertSqlSafe(q);
        match &*w.ts.hearth.db {
            hearth_db::Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(|_| ()),
            hearth_db::Db::Postgres(p) => sqlx::query(q).execute(p).await.map(|_| ()),
        }
        .unwrap();
    }
    if let hearth_db::Db::Postgres(p) = &*w.ts.hearth.db {
        // Statistics as autovacuum would gather them after such a load.
        sqlx::query("ANALYZE messages").execute(p).await.unwrap();
    }
    let g = w.guild.as_str();
    let r = search(&w.bob, g, &[("content", "flood")]).await;
    assert_eq!(r["total_results"], 5_000, "{}", r["total_results"]);
    assert_eq!(found(&r).len(), 25);
    // Past the cap: the last reachable page is served in full.
    let last = search(&w.bob, g, &[("content", "flood"), ("offset", "9975")]).await;
    assert_eq!(last["total_results"], 5_000);
    let last_ids = found(&last);
    assert_eq!(last_ids.len(), 25);
    // Newest first: offset 9,975 of 10,005 starts at the 30th oldest message.
    assert_eq!(last_ids[0], ids[29].to_string());
    let first = search(&w.bob, g, &[("content", "flood"), ("limit", "1")]).await;
    assert_eq!(found(&first), vec![ids[ids.len() - 1].to_string()]);
    // Under the cap, exact: 2,502 `tide` (every 4th of 10,005), 201 `rare`.
    let tide = search(&w.bob, g, &[("content", "tide")]).await;
    assert_eq!(tide["total_results"], 2_502);
    assert_eq!(found(&tide)[0], ids[10_004].to_string());
    let rare = search(&w.bob, g, &[("content", "rare")]).await;
    assert_eq!(rare["total_results"], 201);
    assert_eq!(found(&rare)[0], ids[10_000].to_string());
    // A prefix (`tid*`) and two words count the same way.
    let prefix = search(&w.bob, g, &[("content", "tid*")]).await;
    assert_eq!(prefix["total_results"], 2_502);
    let both = search(&w.bob, g, &[("content", "tide rare")]).await;
    assert_eq!(both["total_results"], 101);
}
