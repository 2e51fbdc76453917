//! Polls across federation (issue 15, spec/federation.md §6.5, §8.6): bob hosts the guild on
//! b, alice (a) and carol (c) are members through their own servers, over real TLS and DNS.
//! A poll sent anywhere reaches every server with its question and answers; votes cast
//! through a member server are judged and logged by the host and counted everywhere; the
//! author ends her poll through her server and every server shows it finalized with the
//! host's POLL_RESULT message; only the author may end it.

use serde_json::{Value, json};

use crate::federation_guilds::{A, B, C, fed_with};
use crate::gateway::Gw;
use crate::harness::{Client, s};

/// GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | MESSAGE_CONTENT | GUILD_MESSAGE_POLLS.
const INTENTS: u64 = 1 | (1 << 1) | (1 << 9) | (1 << 15) | (1 << 24);

fn poll(question: &str, answers: &[&str]) -> Value {
    json!({"poll": {
        "question": {"text": question},
        "answers": answers.iter().map(|a| json!({"poll_media": {"text": a}})).collect::<Vec<_>>(),
        "allow_multiselect": false,
    }})
}

/// `[(answer id, count)]` of a poll as `c` sees it in `channel`, and whether it is final.
async fn counts(c: &Client, channel: &str, message: &str) -> (Vec<(u64, i64)>, bool) {
    let m = c
        .get(&format!("/channels/{channel}/messages/{message}"))
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    let r = &m.body["poll"]["results"];
    let list = r["answer_counts"]
        .as_array()
        .unwrap_or_else(|| panic!("results in {}", m.body))
        .iter()
        .map(|a| (a["id"].as_u64().unwrap(), a["count"].as_i64().unwrap()))
        .collect();
    (list, r["is_finalized"] == true)
}

#[tokio::test]
async fn polls_votes_and_their_end_cross_servers() {
    let f = fed_with(|_, _| {}).await;
    let (a, b, c) = (f.net.server(A), f.net.server(B), f.net.server(C));
    let mut gw_a = Gw::identify(a, &f.alice_tok, INTENTS).await;
    let mut gw_b = Gw::identify(b, &f.bob_tok, INTENTS).await;
    let mut gw_c = Gw::identify(c, &f.carol_tok, INTENTS).await;

    // The host's poll reaches a and c with its question and answers.
    let p = f
        .bob()
        .post(
            &format!("/channels/{}/messages", f.general_b),
            poll("Lunch?", &["pizza", "soup"]),
        )
        .await;
    assert_eq!(p.status, 200, "{p:?}");
    let pb = s(&p.body["id"]);
    let m = gw_a
        .expect_where("MESSAGE_CREATE", |d| {
            d["poll"]["question"]["text"] == "Lunch?"
        })
        .await;
    let pa = s(&m["id"]);
    assert_eq!(m["poll"]["answers"][1]["poll_media"]["text"], "soup");
    let m = gw_c
        .expect_where("MESSAGE_CREATE", |d| {
            d["poll"]["question"]["text"] == "Lunch?"
        })
        .await;
    let pc = s(&m["id"]);

    // Alice votes through a: the host records it and every server counts it.
    let v = f
        .alice()
        .put(
            &format!("/channels/{}/polls/{pa}/answers/@me", f.general_a),
            json!({"answer_ids": ["2"]}),
        )
        .await;
    assert_eq!(v.status, 204, "relayed vote: {v:?}");
    let d = gw_b.expect("MESSAGE_POLL_VOTE_ADD").await;
    assert_eq!(
        (d["message_id"].as_str(), d["answer_id"].as_u64()),
        (Some(pb.as_str()), Some(2))
    );
    let d = gw_c.expect("MESSAGE_POLL_VOTE_ADD").await;
    assert_eq!(d["message_id"], pc.as_str());
    assert_eq!(
        counts(&f.bob(), &f.general_b, &pb).await,
        (vec![(2, 1)], false)
    );
    assert_eq!(
        counts(&f.carol(), &f.general_c, &pc).await,
        (vec![(2, 1)], false)
    );
    let mine = f
        .alice()
        .get(&format!("/channels/{}/messages/{pa}", f.general_a))
        .await;
    assert_eq!(
        mine.body["poll"]["results"]["answer_counts"][0]["me_voted"],
        true
    );
    // A vote for an answer that does not exist is refused by the host's rule.
    let bad = f
        .alice()
        .put(
            &format!("/channels/{}/polls/{pa}/answers/@me", f.general_a),
            json!({"answer_ids": ["7"]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(bad.body["code"], 50035);
    // Carol may not end bob's poll.
    let no = f
        .carol()
        .post(
            &format!("/channels/{}/polls/{pc}/expire", f.general_c),
            json!({}),
        )
        .await;
    assert_eq!(no.status, 403, "{no:?}");

    // Alice sends her own poll through a (SEND_POLLS granted in the channel); bob votes on
    // the host; she ends it.
    let everyone = f.gid_b.clone();
    let grant = f
        .bob()
        .put(
            &format!("/channels/{}/permissions/{everyone}", f.general_b),
            json!({"type": 0, "allow": (1u64 << 49).to_string(), "deny": "0"}),
        )
        .await;
    assert_eq!(grant.status, 204, "{grant:?}");
    let mine = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            poll("Tea or coffee?", &["tea", "coffee"]),
        )
        .await;
    assert_eq!(mine.status, 200, "a relayed poll: {mine:?}");
    assert_eq!(mine.body["poll"]["question"]["text"], "Tea or coffee?");
    let qa = s(&mine.body["id"]);
    let m = gw_b
        .expect_where("MESSAGE_CREATE", |d| {
            d["poll"]["question"]["text"] == "Tea or coffee?"
        })
        .await;
    let qb = s(&m["id"]);
    assert_eq!(m["author"]["handle"], format!("alice@{A}"));
    let v = f
        .bob()
        .put(
            &format!("/channels/{}/polls/{qb}/answers/@me", f.general_b),
            json!({"answer_ids": ["1"]}),
        )
        .await;
    assert_eq!(v.status, 204, "{v:?}");
    let d = gw_a
        .expect_where("MESSAGE_POLL_VOTE_ADD", |d| d["message_id"] == qa.as_str())
        .await;
    assert_eq!(d["answer_id"], 1);
    let end = f
        .alice()
        .post(
            &format!("/channels/{}/polls/{qa}/expire", f.general_a),
            json!({}),
        )
        .await;
    assert_eq!(end.status, 200, "relayed end: {end:?}");
    assert_eq!(
        end.body["poll"]["results"]["is_finalized"], true,
        "{}",
        end.body
    );
    let up = gw_c
        .expect_where("MESSAGE_UPDATE", |d| {
            d["poll"]["question"]["text"] == "Tea or coffee?"
                && d["poll"]["results"]["is_finalized"] == true
        })
        .await;
    let qc = s(&up["id"]);
    assert_eq!(
        counts(&f.carol(), &f.general_c, &qc).await,
        (vec![(1, 1)], true)
    );
    // The host's POLL_RESULT message (type 46) replies to the poll everywhere.
    let result = gw_c
        .expect_where("MESSAGE_CREATE", |d| d["type"] == 46)
        .await;
    assert_eq!(result["message_reference"]["message_id"], qc.as_str());
    // A finalized poll takes no vote, on any server.
    let late = f
        .alice()
        .put(
            &format!("/channels/{}/polls/{qa}/answers/@me", f.general_a),
            json!({"answer_ids": ["2"]}),
        )
        .await;
    assert_eq!(late.status, 400, "{late:?}");
    assert_eq!(late.body["code"], 520001);
    // The member servers never finalize a replica's poll themselves.
    let pid: i64 = pa.parse().unwrap();
    let open = a
        .hearth
        .db
        .message(f.general_a.parse().unwrap(), pid)
        .await
        .unwrap()
        .unwrap()
        .poll_open_until;
    assert!(open.is_some(), "bob's poll is still open on a");
    assert_eq!(
        counts(&f.alice(), &f.general_a, &pa).await,
        (vec![(2, 1)], false)
    );
}
