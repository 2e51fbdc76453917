//! Polls (issue 15; Discord "Resources > Poll"): creation with its limits and SEND_POLLS,
//! votes (single and multiple choice, changed, withdrawn, refused when ended or for bots),
//! voters, MESSAGE_POLL_VOTE_ADD/REMOVE to those who see the channel only, the early end by
//! the author only, and the expiry job's finalization with its POLL_RESULT message; polls
//! in an application's interaction response and follow-up.

use serde_json::{Value, json};

use crate::gateway::Gw;
use crate::harness::*;

/// SEND_POLLS (Discord permission bit 49).
const SEND_POLLS: u64 = 1 << 49;
/// GUILDS | GUILD_MESSAGES | GUILD_MESSAGE_POLLS.
const POLL_INTENTS: u64 = 1 | (1 << 9) | (1 << 24);

struct Cast {
    ts: TestServer,
    owner: Client,
    g: Guild,
    /// Holds a role with SEND_POLLS.
    alice: (String, Client, String),
    /// A member without SEND_POLLS.
    bob: (String, Client, String),
    /// A member who cannot see `general` (member overwrite denying VIEW_CHANNEL).
    eve: (String, Client, String),
    outsider: Client,
    /// A text channel everyone sees (a barrier for the gateway).
    other: String,
}

async fn cast() -> Cast {
    let ts = TestServer::start().await;
    let (_, owner) = ts.user("owner").await;
    let g = create_guild(&owner, "votes").await;
    let (alice_id, alice_tok) = ts.register("alice").await;
    let alice = ts.client(&alice_tok);
    let (bob_id, bob_tok) = ts.register("bob").await;
    let bob = (bob_id, ts.client(&bob_tok), bob_tok);
    let (eve_id, eve_tok) = ts.register("eve").await;
    let eve = ts.client(&eve_tok);
    let (_, outsider) = ts.user("outsider").await;
    for c in [&alice, &bob.1, &eve] {
        join(c, &g.invite).await;
    }
    let role = create_role(&owner, &g.id, "pollsters", SEND_POLLS).await;
    give_role(&owner, &g.id, &alice_id, &role).await;
    let r = owner
        .put(
            &format!("/channels/{}/permissions/{eve_id}", g.general),
            json!({"type": 1, "allow": "0", "deny": perm::VIEW_CHANNEL.to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let other = owner
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "other", "type": 0}),
        )
        .await;
    assert_eq!(other.status, 201, "{other:?}");
    Cast {
        ts,
        owner,
        alice: (alice_id, alice, alice_tok),
        bob,
        eve: (eve_id, eve, eve_tok),
        outsider,
        other: s(&other.body["id"]),
        g,
    }
}

fn poll_body(answers: &[&str], multi: bool) -> Value {
    json!({"poll": {
        "question": {"text": "Lunch?"},
        "answers": answers.iter().map(|a| json!({"poll_media": {"text": a}})).collect::<Vec<_>>(),
        "allow_multiselect": multi,
    }})
}

async fn send_poll(c: &Client, channel: &str, body: Value) -> Resp {
    c.post(&format!("/channels/{channel}/messages"), body).await
}

async fn vote(c: &Client, channel: &str, message: &str, answers: Value) -> Resp {
    c.put(
        &format!("/channels/{channel}/polls/{message}/answers/@me"),
        json!({ "answer_ids": answers }),
    )
    .await
}

/// `[(answer id, count, me_voted)]` of a message's poll as `c` sees it.
async fn counts(c: &Client, channel: &str, message: &str) -> Vec<(u64, i64, bool)> {
    let m = c
        .get(&format!("/channels/{channel}/messages/{message}"))
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    m.body["poll"]["results"]["answer_counts"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {m:?}"))
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap(),
                c["count"].as_i64().unwrap(),
                c["me_voted"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn polls_are_created_within_discords_limits_with_send_polls() {
    let c = cast().await;
    let ch = &c.g.general;
    let r = send_poll(&c.owner, ch, poll_body(&["Soup", "Salad", "Pie"], false)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let p = &r.body["poll"];
    assert_eq!(p["question"]["text"], "Lunch?");
    let answers: Vec<(u64, String)> = p["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["answer_id"].as_u64().unwrap(),
                s(&a["poll_media"]["text"]),
            )
        })
        .collect();
    assert_eq!(
        answers,
        vec![(1, "Soup".into()), (2, "Salad".into()), (3, "Pie".into())]
    );
    assert_eq!(p["allow_multiselect"], false);
    assert_eq!(p["layout_type"], 1);
    assert_eq!(
        p["results"],
        json!({"is_finalized": false, "answer_counts": []})
    );
    // The expiry is 24 hours after the send by default.
    let expiry = chrono::DateTime::parse_from_rfc3339(&s(&p["expiry"])).unwrap();
    let sent = chrono::DateTime::parse_from_rfc3339(&s(&r.body["timestamp"])).unwrap();
    let hours = (expiry - sent).num_minutes();
    assert!((24 * 60 - 1..=24 * 60 + 1).contains(&hours), "{hours}");
    // The message reads back with its poll.
    let id = s(&r.body["id"]);
    let got = c.owner.get(&format!("/channels/{ch}/messages/{id}")).await;
    assert_eq!(got.body["poll"]["answers"], p["answers"]);

    // Invalid polls: 50035 at the field's path.
    let long_q = "q".repeat(301);
    let long_a = "a".repeat(56);
    let cases = [
        (
            json!({"answers": [{"poll_media": {"text": "x"}}]}),
            "poll.question",
        ),
        (
            json!({"question": {"text": long_q}, "answers": [{"poll_media": {"text": "x"}}]}),
            "poll.question.text",
        ),
        (
            json!({"question": {"text": " "}, "answers": [{"poll_media": {"text": "x"}}]}),
            "poll.question.text",
        ),
        (
            json!({"question": {"text": "q"}, "answers": []}),
            "poll.answers",
        ),
        (
            json!({"question": {"text": "q"}, "answers": vec![json!({"poll_media": {"text": "x"}}); 11]}),
            "poll.answers",
        ),
        (
            json!({"question": {"text": "q"}, "answers": [{"poll_media": {"text": "x"}}, {"poll_media": {"text": long_a}}]}),
            "poll.answers.1.poll_media.text",
        ),
        (
            json!({"question": {"text": "q"}, "answers": [{"poll_media": {"text": "x", "emoji": {"name": "abc"}}}]}),
            "poll.answers.0.poll_media.emoji.name",
        ),
        (
            json!({"question": {"text": "q"}, "answers": [{"poll_media": {"text": "x", "emoji": {"id": "123"}}}]}),
            "poll.answers.0.poll_media.emoji.id",
        ),
        (
            json!({"question": {"text": "q"}, "answers": [{"poll_media": {"text": "x"}}], "duration": 0}),
            "poll.duration",
        ),
        (
            json!({"question": {"text": "q"}, "answers": [{"poll_media": {"text": "x"}}], "duration": 769}),
            "poll.duration",
        ),
        (
            json!({"question": {"text": "q"}, "answers": [{"poll_media": {"text": "x"}}], "layout_type": 2}),
            "poll.layout_type",
        ),
    ];
    for (poll, path) in cases {
        let r = send_poll(&c.owner, ch, json!({ "poll": poll })).await;
        assert_field_error(&r, path);
    }
    // Limits are inclusive; a Unicode emoji is kept.
    let max = json!({"poll": {
        "question": {"text": "q".repeat(300)},
        "answers": (0..10).map(|i| json!({"poll_media": {"text": format!("{i}{}", "a".repeat(54)), "emoji": {"name": "🍕"}}})).collect::<Vec<_>>(),
        "duration": 768,
    }});
    let r = send_poll(&c.owner, ch, max).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["poll"]["answers"][9]["poll_media"]["emoji"]["name"],
        "🍕"
    );

    // SEND_POLLS: bob lacks it, alice's role grants it; the outsider sees nothing.
    let body = poll_body(&["a", "b"], false);
    assert_err(&send_poll(&c.bob.1, ch, body.clone()).await, 403, 50013);
    assert_eq!(send_poll(&c.alice.1, ch, body.clone()).await.status, 200);
    assert_err(&send_poll(&c.outsider, ch, body.clone()).await, 403, 50001);
    // bob may still send ordinary messages.
    say(&c.bob.1, ch, "no poll").await;

    // A poll cannot be edited; the content can, and the poll stays.
    let path = format!("/channels/{ch}/messages/{id}");
    let e = c
        .owner
        .patch(&path, json!({"poll": {"question": {"text": "Dinner?"}}}))
        .await;
    assert_err(&e, 400, 520003);
    let e = c.owner.patch(&path, json!({"content": "vote!"})).await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(e.body["content"], "vote!");
    assert_eq!(e.body["poll"]["question"]["text"], "Lunch?");

    // A webhook may send a poll.
    let w = c
        .owner
        .post(&format!("/channels/{ch}/webhooks"), json!({"name": "hook"}))
        .await;
    assert_eq!(w.status, 200, "{w:?}");
    let exec =
        c.ts.anon()
            .post(
                &format!(
                    "/webhooks/{}/{}?wait=true",
                    s(&w.body["id"]),
                    s(&w.body["token"])
                ),
                poll_body(&["yes", "no"], true),
            )
            .await;
    assert_eq!(exec.status, 200, "{exec:?}");
    assert_eq!(exec.body["poll"]["allow_multiselect"], true);
}

#[tokio::test]
async fn votes_follow_the_polls_rules_and_reach_those_who_see_the_channel() {
    let c = cast().await;
    let ch = c.g.general.clone();
    let r = send_poll(&c.owner, &ch, poll_body(&["Soup", "Salad", "Pie"], false)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let m = s(&r.body["id"]);
    let mut bob_gw = Gw::identify(&c.ts, &c.bob.2, POLL_INTENTS).await;
    let mut eve_gw = Gw::identify(&c.ts, &c.eve.2, POLL_INTENTS).await;

    // alice votes Soup: bob sees the vote.
    assert_eq!(vote(&c.alice.1, &ch, &m, json!([1])).await.status, 204);
    let d = bob_gw.expect("MESSAGE_POLL_VOTE_ADD").await;
    assert_eq!(
        d,
        json!({"user_id": c.alice.0, "channel_id": ch, "message_id": m, "guild_id": c.g.id, "answer_id": 1})
    );
    // bob votes Salad (an id as a string is taken too).
    assert_eq!(vote(&c.bob.1, &ch, &m, json!(["2"])).await.status, 204);
    assert_eq!(
        counts(&c.alice.1, &ch, &m).await,
        vec![(1, 1, true), (2, 1, false)]
    );
    assert_eq!(
        counts(&c.owner, &ch, &m).await,
        vec![(1, 1, false), (2, 1, false)]
    );
    // Single choice: one answer at most; unknown answers are refused.
    assert_field_error(
        &vote(&c.alice.1, &ch, &m, json!([1, 2])).await,
        "answer_ids",
    );
    assert_field_error(&vote(&c.alice.1, &ch, &m, json!([9])).await, "answer_ids.0");
    assert_field_error(
        &vote(&c.alice.1, &ch, &m, json!(["x"])).await,
        "answer_ids.0",
    );
    // alice changes her mind: REMOVE Soup, ADD Pie.
    assert_eq!(vote(&c.alice.1, &ch, &m, json!([3])).await.status, 204);
    let removed = bob_gw
        .expect_where("MESSAGE_POLL_VOTE_REMOVE", |d| d["user_id"] == c.alice.0)
        .await;
    assert_eq!(removed["answer_id"], 1);
    let added = bob_gw
        .expect_where("MESSAGE_POLL_VOTE_ADD", |d| d["answer_id"] == 3)
        .await;
    assert_eq!(added["user_id"], c.alice.0);
    assert_eq!(
        counts(&c.alice.1, &ch, &m).await,
        vec![(2, 1, false), (3, 1, true)]
    );
    // Voting the same again changes nothing and announces nothing.
    assert_eq!(vote(&c.alice.1, &ch, &m, json!([3])).await.status, 204);
    // An empty list withdraws her vote.
    assert_eq!(vote(&c.alice.1, &ch, &m, json!([])).await.status, 204);
    let removed = bob_gw
        .expect_where("MESSAGE_POLL_VOTE_REMOVE", |d| d["answer_id"] == 3)
        .await;
    assert_eq!(removed["user_id"], c.alice.0);
    assert_eq!(counts(&c.alice.1, &ch, &m).await, vec![(2, 1, false)]);

    // Who may vote: not the outsider, not eve (cannot see the channel), not a bot.
    assert_err(&vote(&c.outsider, &ch, &m, json!([1])).await, 403, 50001);
    assert_err(&vote(&c.eve.1, &ch, &m, json!([1])).await, 403, 50001);
    let bot = hearth_testkit::build::bot_application(&c.owner, "Voter", 0, Some(&c.g.id))
        .await
        .unwrap();
    assert_err(&vote(&bot.client, &ch, &m, json!([1])).await, 403, 520000);
    // Not a poll: 520006.
    let plain = say(&c.owner, &ch, "plain").await;
    assert_err(
        &vote(&c.alice.1, &ch, &plain, json!([1])).await,
        400,
        520006,
    );

    // eve saw none of the votes: the barrier is a message in a channel she sees.
    say(&c.owner, &c.other, "barrier").await;
    let barrier = eve_gw.expect("MESSAGE_CREATE").await;
    assert_eq!(barrier["channel_id"], c.other.as_str());
    assert!(
        !eve_gw.pending.iter().any(|v| v["t"]
            .as_str()
            .is_some_and(|t| t.starts_with("MESSAGE_POLL_VOTE"))),
        "{:?}",
        eve_gw.pending
    );

    // Voters of an answer, with paging and limits.
    assert_eq!(vote(&c.owner, &ch, &m, json!([2])).await.status, 204);
    let path = format!("/channels/{ch}/polls/{m}/answers/2");
    let v = c.alice.1.get(&path).await;
    assert_eq!(v.status, 200, "{v:?}");
    let mut expect = vec![
        c.bob.0.clone(),
        s(&c.owner.get("/users/@me").await.body["id"]),
    ];
    expect.sort_by_key(|i| i.parse::<u64>().unwrap());
    assert_eq!(ids(&v.body["users"]), expect);
    let page = c.alice.1.get(&format!("{path}?limit=1")).await;
    assert_eq!(ids(&page.body["users"]), expect[..1]);
    let after = c.alice.1.get(&format!("{path}?after={}", expect[0])).await;
    assert_eq!(ids(&after.body["users"]), expect[1..]);
    assert_field_error(&c.alice.1.get(&format!("{path}?limit=0")).await, "limit");
    assert_field_error(
        &c.alice
            .1
            .get(&format!("/channels/{ch}/polls/{m}/answers/11"))
            .await,
        "answer_id",
    );
    assert_err(&c.outsider.get(&path).await, 403, 50001);

    // Multiple choice: several answers at once.
    let r = send_poll(&c.owner, &ch, poll_body(&["a", "b", "c"], true)).await;
    let multi = s(&r.body["id"]);
    assert_eq!(
        vote(&c.alice.1, &ch, &multi, json!([1, 3, 3])).await.status,
        204
    );
    assert_eq!(
        counts(&c.alice.1, &ch, &multi).await,
        vec![(1, 1, true), (3, 1, true)]
    );
}

#[tokio::test]
async fn only_the_author_ends_a_poll_and_the_expiry_job_finalizes() {
    let c = cast().await;
    let ch = c.g.general.clone();
    let r = send_poll(&c.alice.1, &ch, poll_body(&["Soup", "Salad"], false)).await;
    let m = s(&r.body["id"]);
    assert_eq!(vote(&c.bob.1, &ch, &m, json!([1])).await.status, 204);
    let mut gw = Gw::identify(&c.ts, &c.alice.2, POLL_INTENTS).await;

    let expire = format!("/channels/{ch}/polls/{m}/expire");
    assert_err(&c.bob.1.post(&expire, json!({})).await, 403, 50013);
    assert_err(&c.owner.post(&expire, json!({})).await, 403, 50013);
    assert_err(&c.outsider.post(&expire, json!({})).await, 403, 50001);
    let plain = say(&c.alice.1, &ch, "plain").await;
    assert_err(
        &c.alice
            .1
            .post(&format!("/channels/{ch}/polls/{plain}/expire"), json!({}))
            .await,
        400,
        520006,
    );
    let ended = c.alice.1.post(&expire, json!({})).await;
    assert_eq!(ended.status, 200, "{ended:?}");
    assert_eq!(
        ended.body["poll"]["results"],
        json!({"is_finalized": true, "answer_counts": [{"id": 1, "count": 1, "me_voted": false}]})
    );
    let upd = gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == m.as_str())
        .await;
    assert_eq!(upd["poll"]["results"]["is_finalized"], true);
    let result = gw.expect_where("MESSAGE_CREATE", |d| d["type"] == 46).await;
    assert_eq!(result["message_reference"]["message_id"], m.as_str());
    assert_eq!(result["author"]["id"], c.alice.0.as_str());
    let embed = &result["embeds"][0];
    assert_eq!(embed["type"], "poll_result");
    let field = |n: &str| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .map(|f| s(&f["value"]))
    };
    assert_eq!(field("poll_question_text").as_deref(), Some("Lunch?"));
    assert_eq!(field("victor_answer_id").as_deref(), Some("1"));
    assert_eq!(field("victor_answer_text").as_deref(), Some("Soup"));
    assert_eq!(field("total_votes").as_deref(), Some("1"));
    // Ended: no more votes, no second end.
    assert_err(&vote(&c.bob.1, &ch, &m, json!([2])).await, 400, 520001);
    assert_err(&c.alice.1.post(&expire, json!({})).await, 400, 520001);
    assert_eq!(counts(&c.bob.1, &ch, &m).await, vec![(1, 1, true)]);

    // The expiry job: a one-hour poll stays open until its time, then is finalized.
    let mut body = poll_body(&["x", "y"], false);
    body["poll"]["duration"] = json!(1);
    let r = send_poll(&c.alice.1, &ch, body).await;
    let p = s(&r.body["id"]);
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(c.ts.hearth.finalize_due_polls(now).await.unwrap(), 0);
    assert_eq!(vote(&c.bob.1, &ch, &p, json!([2])).await.status, 204);
    assert_eq!(vote(&c.owner, &ch, &p, json!([2])).await.status, 204);
    let later = now + 3_600_000 + 1_000;
    assert_eq!(c.ts.hearth.finalize_due_polls(later).await.unwrap(), 1);
    assert_eq!(c.ts.hearth.finalize_due_polls(later).await.unwrap(), 0);
    let got = c.bob.1.get(&format!("/channels/{ch}/messages/{p}")).await;
    assert_eq!(
        got.body["poll"]["results"],
        json!({"is_finalized": true, "answer_counts": [{"id": 2, "count": 2, "me_voted": true}]})
    );
    gw.expect_where("MESSAGE_UPDATE", |d| d["id"] == p.as_str())
        .await;
    let result = gw
        .expect_where("MESSAGE_CREATE", |d| {
            d["type"] == 46 && d["message_reference"]["message_id"] == p.as_str()
        })
        .await;
    assert_eq!(result["embeds"][0]["type"], "poll_result");
    assert_eq!(vote(&c.bob.1, &ch, &p, json!([1])).await.status, 400);
    // The result message is in the history.
    let history = c
        .bob
        .1
        .get(&format!("/channels/{ch}/messages?limit=5"))
        .await;
    assert!(
        history
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["type"] == 46 && h["message_reference"]["message_id"] == p.as_str()),
        "{history:?}"
    );
}

#[tokio::test]
async fn concurrent_votes_are_counted_once_each() {
    let c = cast().await;
    let ch = c.g.general.clone();
    let r = send_poll(&c.owner, &ch, poll_body(&["a", "b", "c"], true)).await;
    let m = s(&r.body["id"]);
    let mut voters = vec![];
    for i in 0..8 {
        let (_, v) = c.ts.user(&format!("voter{i}")).await;
        join(&v, &c.g.invite).await;
        voters.push(v);
    }
    // Everyone votes twice at once (the second choice replaces the first).
    let all = voters.iter().flat_map(|v| {
        [
            vote(v, &ch, &m, json!([1, 2])),
            vote(v, &ch, &m, json!([2, 3])),
        ]
    });
    for r in futures_util::future::join_all(all).await {
        assert_eq!(r.status, 204, "{r:?}");
    }
    let got = counts(&c.owner, &ch, &m).await;
    let n = |id: u64| got.iter().find(|c| c.0 == id).map_or(0, |c| c.1);
    // Each voter holds exactly one of the two choices: b is in both.
    assert_eq!(n(2), 8, "{got:?}");
    assert_eq!(n(1) + n(3), 8, "{got:?}");
    let b = c
        .owner
        .get(&format!("/channels/{ch}/polls/{m}/answers/2?limit=100"))
        .await;
    assert_eq!(b.body["users"].as_array().unwrap().len(), 8, "{b:?}");
}

#[tokio::test]
async fn an_interaction_response_and_a_follow_up_carry_polls() {
    // Discord "Receiving and Responding > Messages": `poll` in the callback data and in a
    // follow-up, checked as a message's poll; members vote on them as on any other.
    use crate::interactions::{callback_path, cast as slash_cast, echo};
    let mut c = slash_cast().await;
    let i = echo(&mut c, "lunch", "poll-1").await;
    let token = s(&i["token"]);
    let poll = |q: &str| {
        json!({"question": {"text": q}, "duration": 2,
               "answers": [{"poll_media": {"text": "Pizza"}}, {"poll_media": {"text": "Soup"}}]})
    };
    // A bad poll is refused at its path and takes nothing: the callback can still be made.
    let bad = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"poll": {"question": {"text": "No answers"}, "answers": []}}}),
        )
        .await;
    assert_field_error(&bad, "poll.answers");
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&i)),
            json!({"type": 4, "data": {"poll": poll("Lunch?")}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let m = r.body["resource"]["message"].clone();
    assert_eq!(m["poll"]["question"]["text"], "Lunch?");
    assert_eq!(m["poll"]["answers"][1]["poll_media"]["text"], "Soup");
    let seen = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["id"] == m["id"])
        .await;
    assert_eq!(seen["poll"]["answers"][0]["poll_media"]["text"], "Pizza");
    let general = c.guild.general.clone();
    let id = s(&m["id"]);
    assert_eq!(vote(&c.other, &general, &id, json!([2])).await.status, 204);
    assert_eq!(
        counts(&c.other, &general, &id).await,
        vec![(2, 1, true)],
        "the vote on the response's poll"
    );

    // A follow-up with its own poll.
    let f = c
        .srv
        .anon()
        .post(
            &format!("/webhooks/{}/{token}?wait=true", c.bot.id),
            json!({"poll": poll("Dessert?")}),
        )
        .await;
    assert_eq!(f.status, 200, "{f:?}");
    assert_eq!(f.body["poll"]["question"]["text"], "Dessert?");
    let fid = s(&f.body["id"]);
    assert_eq!(vote(&c.mate, &general, &fid, json!([1])).await.status, 204);
    assert_eq!(counts(&c.mate, &general, &fid).await, vec![(1, 1, true)]);
}
