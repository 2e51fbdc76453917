//! The `threads` and `members` of a search answer (Discord "Search Guild Messages": the
//! threads that contain the returned messages, and a thread member object for each of them
//! the caller has joined), as each caller may see them.

use serde_json::Value;
use serde_json::json;

use crate::forums::cast;
use crate::harness::*;

async fn search(c: &Client, g: &str, word: &str) -> Value {
    let r = c
        .get(&format!("/guilds/{g}/messages/search?content={word}"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `(thread id, user id)` of each thread member object.
fn memberships(v: &Value) -> Vec<(String, String)> {
    v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(&m["id"]), s(&m["user_id"])))
        .collect()
}

#[tokio::test]
async fn search_answers_carry_the_threads_of_their_results() {
    let c = cast().await;
    let (g, chan) = (&c.guild.id, &c.guild.general);
    let (bob_id, bob) = (&c.bob.0, &c.bob.1);
    let owner_id = s(&c.owner.get("/users/@me").await.body["id"]);
    let t = c
        .owner
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "pub", "type": 11}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    let public = s(&t.body["id"]);
    say(&c.owner, &public, "zebra in public").await;
    let role = create_role(&c.owner, g, "private", 1 << 36).await;
    give_role(&c.owner, g, bob_id, &role).await;
    let t = bob
        .post(
            &format!("/channels/{chan}/threads"),
            json!({"name": "mine", "type": 12}),
        )
        .await;
    assert_eq!(t.status, 201, "{t:?}");
    let private = s(&t.body["id"]);
    say(bob, &private, "zebra in private").await;
    say(bob, chan, "zebra in the channel").await;

    // Bob: both threads; his membership is the private thread's.
    let r = search(bob, g, "zebra").await;
    assert_eq!(r["total_results"], 3);
    assert_eq!(
        sorted(ids(&r["threads"])),
        sorted(vec![public.clone(), private.clone()])
    );
    let pt = r["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == public.as_str())
        .unwrap();
    assert_eq!(pt["type"], 11);
    assert_eq!(pt["parent_id"], chan.as_str());
    assert_eq!(pt["name"], "pub");
    assert!(pt["thread_metadata"].is_object(), "{pt}");
    assert_eq!(memberships(&r), vec![(private.clone(), bob_id.clone())]);
    // The owner (MANAGE_THREADS) sees both; his membership is the public thread's.
    let r = search(&c.owner, g, "zebra").await;
    assert_eq!(
        sorted(ids(&r["threads"])),
        sorted(vec![public.clone(), private.clone()])
    );
    assert_eq!(memberships(&r), vec![(public.clone(), owner_id)]);
    // Carol sees neither the private thread's message nor the thread.
    let r = search(&c.carol.1, g, "zebra").await;
    assert_eq!(r["total_results"], 2);
    assert_eq!(ids(&r["threads"]), vec![public.clone()]);
    assert_eq!(r["members"], json!([]));
    // Results outside threads bring no thread.
    let r = c
        .carol
        .1
        .get(&format!(
            "/guilds/{g}/messages/search?content=zebra&channel_id={chan}"
        ))
        .await;
    assert_eq!(r.body["threads"], json!([]), "{r:?}");
    // A thread's own search carries the thread.
    let r = bob
        .get(&format!(
            "/channels/{private}/messages/search?content=zebra"
        ))
        .await;
    assert_eq!(ids(&r.body["threads"]), vec![private.clone()], "{r:?}");
    let r = c
        .outsider
        .get(&format!("/guilds/{g}/messages/search?content=zebra"))
        .await;
    assert_err(&r, 403, 50001);
}
