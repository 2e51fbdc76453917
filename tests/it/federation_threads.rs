//! Threads across federation (issue 15, spec/federation.md §6.5, §6.6): bob hosts the guild
//! on b, alice (a) and carol (c) are members through their own servers, over real TLS and
//! DNS. A host's threads reach the member servers with their gateway events and messages,
//! members start, change, join and post in threads through their own server (relayed and
//! judged by the host), private threads reach only the servers of their members, and a
//! deletion reaches everyone.

use serde_json::json;

use crate::federation_guilds::{A, ALL, B, C, db_contains, fed_with};
use crate::gateway::Gw;
use crate::harness::{eventually, s};

#[tokio::test]
async fn threads_cross_servers_both_ways_under_the_hosts_rules() {
    let f = fed_with(|_, _| {}).await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let mut gw_a = Gw::identify(a, &f.alice_tok, ALL).await;
    let mut gw_b = Gw::identify(b, &f.bob_tok, ALL).await;
    let mut gw_c = Gw::identify(c, &f.carol_tok, ALL).await;

    // The host's thread from a message reaches both member servers, in their own ids.
    let starter = f
        .bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "shall we plan?"}),
        )
        .await;
    assert_eq!(starter.status, 200, "{starter:?}");
    let mid_b = s(&starter.body["id"]);
    let t = f
        .bob()
        .post(
            &format!("/channels/{}/messages/{mid_b}/threads", f.general_b),
            json!({"name": "plans"}),
        )
        .await;
    assert_eq!(
        t.status, 201,
        "the host starts a thread in a federated guild: {t:?}"
    );
    let thread_b = s(&t.body["id"]);
    let created_a = gw_a
        .expect_where("THREAD_CREATE", |d| d["name"] == "plans")
        .await;
    assert_eq!(created_a["parent_id"], f.general_a.as_str());
    assert_eq!(created_a["guild_id"], f.gid_a.as_str());
    assert_eq!(created_a["type"], 11);
    let thread_a = s(&created_a["id"]);
    assert_ne!(
        thread_a, thread_b,
        "a numbers the thread in its own id space"
    );
    let created_c = gw_c
        .expect_where("THREAD_CREATE", |d| d["name"] == "plans")
        .await;
    let thread_c = s(&created_c["id"]);
    // The thread is in a's replica: its lists and its GUILD_CREATE-side state.
    let active = f
        .alice()
        .get(&format!("/guilds/{}/threads/active", f.gid_a))
        .await;
    assert_eq!(active.status, 200, "{active:?}");
    assert!(
        active.body["threads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == thread_a.as_str() && t["thread_metadata"]["archived"] == false),
        "{}",
        active.body
    );

    // The host's message in the thread reaches alice in a's thread.
    let said = f
        .bob()
        .post(
            &format!("/channels/{thread_b}/messages"),
            json!({"content": "first idea from bob"}),
        )
        .await;
    assert_eq!(said.status, 200, "{said:?}");
    let m = gw_a
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "first idea from bob")
        .await;
    assert_eq!(m["channel_id"], thread_a.as_str());

    // Alice posts in the thread through a: the host runs it, everyone sees it.
    let r = f
        .alice()
        .post(
            &format!("/channels/{thread_a}/messages"),
            json!({"content": "alice agrees"}),
        )
        .await;
    assert_eq!(r.status, 200, "a member posts in a remote thread: {r:?}");
    assert_eq!(r.body["channel_id"], thread_a.as_str());
    let m = gw_b
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "alice agrees")
        .await;
    assert_eq!(m["channel_id"], thread_b.as_str());
    let m = gw_c
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "alice agrees")
        .await;
    assert_eq!(m["channel_id"], thread_c.as_str());
    let history = f
        .alice()
        .get(&format!("/channels/{thread_a}/messages"))
        .await;
    let texts: Vec<String> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["content"]))
        .collect();
    assert_eq!(texts, vec!["alice agrees", "first idea from bob"]);

    // Alice joins the host's thread: the host holds her membership, her sessions are told.
    let j = f
        .alice()
        .put(
            &format!("/channels/{thread_a}/thread-members/@me"),
            json!({}),
        )
        .await;
    assert_eq!(j.status, 204, "{j:?}");
    let me = gw_a.expect("THREAD_MEMBER_UPDATE").await;
    assert_eq!(me["id"], thread_a.as_str());
    let alice_b = f.member_id_on_host(&format!("alice@{A}")).await;
    let members = f
        .bob()
        .get(&format!("/channels/{thread_b}/thread-members"))
        .await;
    assert!(
        members
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user_id"] == alice_b.as_str()),
        "{}",
        members.body
    );

    // Alice starts her own public thread from a; the host owns the record of it.
    let mine = f
        .alice()
        .post(
            &format!("/channels/{}/threads", f.general_a),
            json!({"name": "alice's corner", "type": 11}),
        )
        .await;
    assert_eq!(
        mine.status, 201,
        "a member starts a thread remotely: {mine:?}"
    );
    assert_eq!(mine.body["name"], "alice's corner");
    assert_eq!(mine.body["parent_id"], f.general_a.as_str());
    let on_b = gw_b
        .expect_where("THREAD_CREATE", |d| d["name"] == "alice's corner")
        .await;
    assert_eq!(on_b["owner_id"], alice_b.as_str());
    assert_eq!(on_b["parent_id"], f.general_b.as_str());
    gw_c.expect_where("THREAD_CREATE", |d| d["name"] == "alice's corner")
        .await;

    // The host archives its thread: the members see it, and posting there is refused by
    // the host's rule (50083), relayed unchanged.
    let arch = f
        .bob()
        .patch(&format!("/channels/{thread_b}"), json!({"archived": true}))
        .await;
    assert_eq!(arch.status, 200, "{arch:?}");
    let up = gw_a
        .expect_where("THREAD_UPDATE", |d| d["id"] == thread_a.as_str())
        .await;
    assert_eq!(up["thread_metadata"]["archived"], true);
    let refused = f
        .alice()
        .post(
            &format!("/channels/{thread_a}/messages"),
            json!({"content": "too late"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.body["code"], 50083);

    // A member without CREATE_PUBLIC_THREADS is refused by the host.
    let everyone = f.gid_b.clone();
    let deny = f
        .bob()
        .put(
            &format!("/channels/{}/permissions/{everyone}", f.general_b),
            json!({"type": 0, "allow": "0", "deny": (1u64 << 35).to_string()}),
        )
        .await;
    assert_eq!(deny.status, 204, "{deny:?}");
    let no = f
        .alice()
        .post(
            &format!("/channels/{}/threads", f.general_a),
            json!({"name": "not allowed", "type": 11}),
        )
        .await;
    assert_eq!(no.status, 403, "{no:?}");
    assert_eq!(no.body["code"], 50013);
    assert!(!db_contains(b, "not allowed").await);

    // Deleting needs MANAGE_THREADS, which is administrative: refused on a replica.
    let del = f.alice().delete(&format!("/channels/{thread_a}")).await;
    assert_eq!(del.status, 403, "{del:?}");
    assert_eq!(del.body["code"], 50001);

    // The host deletes its thread: it goes from every replica.
    let del = f.bob().delete(&format!("/channels/{thread_b}")).await;
    assert_eq!(del.status, 200, "{del:?}");
    let gone = gw_a.expect("THREAD_DELETE").await;
    assert_eq!(gone["id"], thread_a.as_str());
    assert_eq!(gone["parent_id"], f.general_a.as_str());
    gw_c.expect_where("THREAD_DELETE", |d| d["id"] == thread_c.as_str())
        .await;
    let tid_a: i64 = thread_a.parse().unwrap();
    eventually("a's replica drops the thread", || async {
        a.hearth.db.channel(tid_a).await.unwrap().is_none()
    })
    .await;
    let read = f
        .alice()
        .get(&format!("/channels/{thread_a}/messages"))
        .await;
    assert_eq!(read.status, 404, "{read:?}");
}

#[tokio::test]
async fn a_private_thread_reaches_only_the_servers_of_its_members() {
    let f = fed_with(|_, _| {}).await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let mut gw_a = Gw::identify(a, &f.alice_tok, ALL).await;
    let mut gw_c = Gw::identify(c, &f.carol_tok, ALL).await;
    let p = f
        .bob()
        .post(
            &format!("/channels/{}/threads", f.general_b),
            json!({"name": "backroom", "type": 12}),
        )
        .await;
    assert_eq!(p.status, 201, "{p:?}");
    let private_b = s(&p.body["id"]);
    let said = f
        .bob()
        .post(
            &format!("/channels/{private_b}/messages"),
            json!({"content": "private words"}),
        )
        .await;
    assert_eq!(said.status, 200);
    // A public barrier: once it is applied everywhere, the private thread's events were
    // delivered before it (as stubs).
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "barrier one"}),
        )
        .await;
    let e = gw_a.expect_without("MESSAGE_CREATE", "THREAD_CREATE").await;
    assert_eq!(e["content"], "barrier one");
    let e = gw_c.expect_without("MESSAGE_CREATE", "THREAD_CREATE").await;
    assert_eq!(e["content"], "barrier one");
    assert!(db_contains(b, "private words").await);
    assert!(!db_contains(a, "private words").await, "withheld from a");
    assert!(!db_contains(c, "private words").await, "withheld from c");

    // Bob adds alice: a receives the thread (through the channel list) and alice her
    // membership; c still knows nothing of it.
    let alice_b = f.member_id_on_host(&format!("alice@{A}")).await;
    let add = f
        .bob()
        .put(
            &format!("/channels/{private_b}/thread-members/{alice_b}"),
            json!({}),
        )
        .await;
    assert_eq!(add.status, 204, "{add:?}");
    let me = gw_a.expect("THREAD_MEMBER_UPDATE").await;
    let private_a = s(&me["id"]);
    // The private thread is new to her: THREAD_CREATE with her thread member.
    let tc = gw_a.expect("THREAD_CREATE").await;
    assert_eq!(tc["id"], private_a.as_str());
    assert_eq!(tc["member"]["user_id"], me["user_id"], "{tc}");
    let mu = gw_a.expect("THREAD_MEMBERS_UPDATE").await;
    assert_eq!(mu["id"], private_a.as_str());
    let pid: i64 = private_a.parse().unwrap();
    let t = a
        .hearth
        .db
        .thread(pid)
        .await
        .unwrap()
        .expect("a holds the private thread");
    assert_eq!(t.kind, 12);
    let listed = f
        .alice()
        .get(&format!("/guilds/{}/threads/active", f.gid_a))
        .await;
    assert!(
        listed.body["threads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == private_a.as_str() && t["name"] == "backroom"),
        "{}",
        listed.body
    );
    // Alice answers in it through a.
    let r = f
        .alice()
        .post(
            &format!("/channels/{private_a}/messages"),
            json!({"content": "alice in the backroom"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    f.bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            json!({"content": "barrier two"}),
        )
        .await;
    let e = gw_c.expect_without("MESSAGE_CREATE", "THREAD_CREATE").await;
    assert_eq!(e["content"], "barrier two");
    assert!(
        !db_contains(c, "alice in the backroom").await,
        "withheld from c"
    );
    let threads_c = c
        .hearth
        .db
        .active_threads(f.gid_c.parse().unwrap())
        .await
        .unwrap();
    assert!(threads_c.is_empty(), "c holds no thread: {threads_c:?}");
}
