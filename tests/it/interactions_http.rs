//! Interactions over HTTP (issue 14; Discord "Interactions > Receiving and Responding",
//! "Overview of Interactions > Setting Up an Endpoint", "Security and Authorization") and
//! components on ephemeral messages. A real HTTP server in the test (axum on 127.0.0.1)
//! plays the application's endpoint: it verifies `X-Signature-Ed25519` over
//! `X-Signature-Timestamp ‖ body` with ed25519-dalek against the application's
//! `verify_key`, refuses bad signatures with 401, answers PING with `{"type": 1}` and
//! answers interactions as the test says. Setting the URL verifies the endpoint (a server
//! that accepts bad signatures, or does not answer PING, is refused with 50035); a member's
//! slash command then reaches the endpoint instead of the bot's gateway, and the answer is
//! the interaction's response (MESSAGE_CREATE to the channel, history); deferred answers
//! and follow-ups; a failing endpoint (500, garbage, timeout) fails the interaction; only
//! the application's owner or bot may set the URL.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use hearth_testkit::build::bot_application;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::harness::*;
use crate::interactions::{Cast, callback_path, cast, cast_with, invoke};

/// How the endpoint answers interactions (PING is always answered `{"type": 1}`).
#[derive(Clone)]
enum Answer {
    Json(Value),
    Status(u16),
    Garbage,
    /// Answers after 5 s (past the 3-second deadline).
    Late,
}

struct Endpoint {
    key: VerifyingKey,
    /// Whether bad signatures are refused (a careless endpoint does not check).
    checks: bool,
    answer: Mutex<Answer>,
    seen: mpsc::UnboundedSender<Value>,
}

async fn endpoint(State(ep): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ts = header("x-signature-timestamp");
    let valid = hex::decode(header("x-signature-ed25519"))
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .is_some_and(|sig| {
            ep.key
                .verify(&[ts.as_bytes(), &body[..]].concat(), &sig)
                .is_ok()
        });
    if !valid && ep.checks {
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if v["type"] == 1 {
        return axum::Json(json!({"type": 1})).into_response();
    }
    let _ = ep.seen.send(v);
    let answer = ep.answer.lock().unwrap().clone();
    match answer {
        Answer::Json(a) => axum::Json(a).into_response(),
        Answer::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Answer::Garbage => "<html>hello</html>".into_response(),
        Answer::Late => {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            axum::Json(json!({"type": 4, "data": {"content": "too late"}})).into_response()
        }
    }
}

/// A running endpoint: its URL, how it answers, what it received.
struct Ep {
    url: String,
    state: Arc<Endpoint>,
    seen: mpsc::UnboundedReceiver<Value>,
}

impl Ep {
    fn answer(&self, a: Answer) {
        *self.state.answer.lock().unwrap() = a;
    }
    /// The next interaction the endpoint received (waits up to 10 s).
    async fn next(&mut self) -> Value {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.seen.recv())
            .await
            .expect("an interaction reaches the endpoint in time")
            .expect("endpoint running")
    }
}

/// Starts an endpoint for the application whose `verify_key` is `key_hex`.
async fn start_endpoint(key_hex: &str, checks: bool) -> Ep {
    let bytes: [u8; 32] = hex::decode(key_hex).unwrap().try_into().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Endpoint {
        key: VerifyingKey::from_bytes(&bytes).unwrap(),
        checks,
        answer: Mutex::new(Answer::Status(500)),
        seen: tx,
    });
    let app = axum::Router::new()
        .route("/interactions", axum::routing::post(endpoint))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ep {
        url: format!("http://{addr}/interactions"),
        state,
        seen: rx,
    }
}

/// The interaction cast on a server that may post to loopback, with the bot's endpoint
/// set (verified) to a careful test endpoint.
async fn http_cast() -> (Cast, Ep) {
    let c = cast_with(|cfg| cfg.federation.allow_private_addresses = true).await;
    let app = c.bot.client.get("/applications/@me").await;
    assert_eq!(app.status, 200, "{app:?}");
    let ep = start_endpoint(app.body["verify_key"].as_str().unwrap(), true).await;
    let r = c
        .bot
        .client
        .patch(
            "/applications/@me",
            json!({"interactions_endpoint_url": ep.url}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["interactions_endpoint_url"], json!(ep.url));
    (c, ep)
}

/// `mate` invokes `/echo text:<text>` (204).
async fn echo(c: &Cast, text: &str, nonce: &str) {
    let body = invoke(
        c,
        &c.echo,
        "echo",
        json!([{"type": 3, "name": "text", "value": text}]),
        nonce,
    );
    let r = c.mate.post("/interactions", body).await;
    assert_eq!(r.status, 204, "{r:?}");
}

#[tokio::test]
async fn the_endpoint_is_verified_before_it_is_set() {
    let c = cast_with(|cfg| cfg.federation.allow_private_addresses = true).await;
    let app = c.bot.client.get("/applications/@me").await;
    let key = app.body["verify_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64, "{app:?}");
    assert!(hex::decode(&key).is_ok());
    assert_eq!(app.body["interactions_endpoint_url"], Value::Null);
    // The owner sees the same key; it does not change between reads.
    let own = c.owner.get("/applications").await;
    let mine = own
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == json!(c.bot.id))
        .unwrap()
        .clone();
    assert_eq!(mine["verify_key"], json!(key));

    // An endpoint that accepts a bad signature is refused, and nothing is stored.
    let careless = start_endpoint(&key, false).await;
    let r = c
        .bot
        .client
        .patch(
            "/applications/@me",
            json!({"interactions_endpoint_url": careless.url, "description": "changed"}),
        )
        .await;
    assert_field_error(&r, "interactions_endpoint_url");
    let msg = r.body["errors"]["interactions_endpoint_url"]["_errors"][0]["message"]
        .as_str()
        .unwrap();
    assert!(msg.contains("invalid signature"), "{msg}");
    let app = c.bot.client.get("/applications/@me").await;
    assert_eq!(app.body["interactions_endpoint_url"], Value::Null);
    assert_ne!(app.body["description"], "changed");
    // Nothing listening; not a URL; not http(s).
    for bad in ["http://127.0.0.1:1/x", "not a url", "ftp://example.com/x"] {
        let r = c
            .bot
            .client
            .patch(
                "/applications/@me",
                json!({"interactions_endpoint_url": bad}),
            )
            .await;
        assert_field_error(&r, "interactions_endpoint_url");
    }
    // An endpoint whose key is another one's refuses our PING (401): refused.
    let other_key = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
            .verifying_key()
            .to_bytes(),
    );
    let wrong = start_endpoint(&other_key, true).await;
    let r = c
        .owner
        .patch(
            &format!("/applications/{}", c.bot.id),
            json!({"interactions_endpoint_url": wrong.url}),
        )
        .await;
    assert_field_error(&r, "interactions_endpoint_url");

    // A careful endpoint: set by the owner through `PATCH /applications/{id}`.
    let good = start_endpoint(&key, true).await;
    let r = c
        .owner
        .patch(
            &format!("/applications/{}", c.bot.id),
            json!({"interactions_endpoint_url": good.url}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["interactions_endpoint_url"], json!(good.url));
    assert_eq!(r.body["verify_key"], json!(key));
    // Other users cannot touch it.
    for who in [&c.mate, &c.other] {
        let r = who
            .patch(
                &format!("/applications/{}", c.bot.id),
                json!({"interactions_endpoint_url": null}),
            )
            .await;
        assert_err(&r, 404, 10002);
    }
    let app = c.bot.client.get("/applications/@me").await;
    assert_eq!(app.body["interactions_endpoint_url"], json!(good.url));
    // `null` clears it.
    let r = c
        .bot
        .client
        .patch(
            "/applications/@me",
            json!({"interactions_endpoint_url": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["interactions_endpoint_url"], Value::Null);
}

#[tokio::test]
async fn loopback_endpoints_are_refused_by_default() {
    let srv = TestServer::start().await;
    let (_, owner) = srv.user("hostowner").await;
    let bot = bot_application(&owner, "Local Bot", 0, None).await.unwrap();
    let r = bot
        .client
        .patch(
            "/applications/@me",
            json!({"interactions_endpoint_url": "https://127.0.0.1:9/interactions"}),
        )
        .await;
    assert_field_error(&r, "interactions_endpoint_url");
    let r = bot
        .client
        .patch(
            "/applications/@me",
            json!({"interactions_endpoint_url": "http://example.com/interactions"}),
        )
        .await;
    assert_field_error(&r, "interactions_endpoint_url");
}

#[tokio::test]
async fn commands_are_posted_to_the_endpoint_and_its_answer_is_the_response() {
    let (mut c, mut ep) = http_cast().await;
    ep.answer(Answer::Json(
        json!({"type": 4, "data": {"content": "answered over http"}}),
    ));
    echo(&c, "hello", "h-1").await;
    // The endpoint received Discord's interaction object, correctly signed (it checks).
    let i = ep.next().await;
    assert_eq!(i["type"], 2);
    assert_eq!(i["data"]["name"], "echo");
    assert_eq!(i["data"]["options"][0]["value"], "hello");
    assert_eq!(i["member"]["user"]["id"], json!(c.mate_id));
    assert_eq!(i["application_id"], json!(c.bot.id));
    // The response: MESSAGE_CREATE to the channel's members and the history.
    let m = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "answered over http")
        .await;
    assert_eq!(m["author"]["id"], json!(c.bot.user_id));
    assert_eq!(m["interaction_metadata"]["id"], i["id"]);
    assert_eq!(m["type"], 20);
    let history = c
        .other
        .get(&format!("/channels/{}/messages?limit=5", c.guild.general))
        .await;
    assert!(
        history
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == m["id"] && x["content"] == "answered over http"),
        "{history:?}"
    );
    let success = c.mate_gw.expect("INTERACTION_SUCCESS").await;
    assert_eq!(success, json!({"id": i["id"], "nonce": "h-1"}));
    // The bot's gateway saw the message but never the interaction.
    c.bot_gw
        .expect_without("MESSAGE_CREATE", "INTERACTION_CREATE")
        .await;
    // The answer was the callback: a second one is refused.
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "again"}}),
        )
        .await;
    assert_err(&r, 400, 40060);
}

#[tokio::test]
async fn deferred_answers_then_follow_ups() {
    let (mut c, mut ep) = http_cast().await;
    ep.answer(Answer::Json(json!({"type": 5})));
    echo(&c, "later", "h-2").await;
    let i = ep.next().await;
    let success = c.mate_gw.expect("INTERACTION_SUCCESS").await;
    assert_eq!(success["id"], i["id"]);
    let token = s(&i["token"]);
    let original = c
        .srv
        .anon()
        .patch(
            &format!("/webhooks/{}/{token}/messages/@original", c.bot.id),
            json!({"content": "done thinking"}),
        )
        .await;
    assert_eq!(original.status, 200, "{original:?}");
    let follow = c
        .srv
        .anon()
        .post(
            &format!("/webhooks/{}/{token}?wait=true", c.bot.id),
            json!({"content": "and one more"}),
        )
        .await;
    assert_eq!(follow.status, 200, "{follow:?}");
    let first = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "done thinking")
        .await;
    assert_eq!(first["id"], original.body["id"]);
    let second = c
        .other_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "and one more")
        .await;
    assert_eq!(
        second["interaction_metadata"]["original_response_message_id"],
        original.body["id"]
    );
}

#[tokio::test]
async fn failing_endpoints_fail_the_interaction() {
    let (mut c, mut ep) = http_cast().await;
    for (k, answer) in [Answer::Status(500), Answer::Garbage, Answer::Late]
        .into_iter()
        .enumerate()
    {
        ep.answer(answer);
        let nonce = format!("f-{k}");
        echo(&c, "fail", &nonce).await;
        let i = ep.next().await;
        let failed = c
            .mate_gw
            .expect_where("INTERACTION_FAILURE", |d| d["id"] == i["id"])
            .await;
        assert_eq!(failed, json!({"id": i["id"], "nonce": nonce}));
        // Too late to answer through the callback route.
        let r = c
            .srv
            .anon()
            .post(
                &callback_path(&i),
                json!({"type": 4, "data": {"content": "sorry"}}),
            )
            .await;
        assert_err(&r, 404, 10062);
    }
    // An answer the server refuses (PONG to a command) fails it too.
    ep.answer(Answer::Json(json!({"type": 1})));
    echo(&c, "pong?", "f-pong").await;
    let i = ep.next().await;
    c.mate_gw
        .expect_where("INTERACTION_FAILURE", |d| d["id"] == i["id"])
        .await;
}

#[tokio::test]
async fn components_of_ephemeral_messages_are_clickable_by_their_user() {
    let mut c = cast().await;
    echo(&c, "hi", "n-e").await;
    let i = c.bot_gw.expect("INTERACTION_CREATE").await;
    let r = c
        .srv
        .anon()
        .post(
            &callback_path(&i),
            json!({"type": 4, "data": {"content": "secret menu", "flags": 64, "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "eph"}]}
            ]}}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let m = c
        .mate_gw
        .expect_where("MESSAGE_CREATE", |d| d["content"] == "secret menu")
        .await;
    assert_eq!(m["flags"], 64);
    let click = |nonce: &str| {
        json!({
            "type": 3,
            "application_id": c.bot.id,
            "guild_id": c.guild.id,
            "channel_id": c.guild.general,
            "message_id": m["id"],
            "message_flags": 64,
            "session_id": "s",
            "nonce": nonce,
            "data": {"custom_id": "eph", "component_type": 2},
        })
    };
    // Someone else cannot use it: to them it does not exist.
    assert_err(&c.other.post("/interactions", click("x")).await, 404, 10008);
    // An unknown custom id on it is refused as on any message.
    let mut bad = click("y");
    bad["data"]["custom_id"] = json!("nope");
    assert_field_error(&c.mate.post("/interactions", bad).await, "data.custom_id");
    // Its user clicks: the bot gets the component interaction with the message.
    let r = c.mate.post("/interactions", click("z")).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ci = c
        .bot_gw
        .expect_where("INTERACTION_CREATE", |d| d["type"] == 3)
        .await;
    assert_eq!(ci["data"], json!({"custom_id": "eph", "component_type": 2}));
    assert_eq!(ci["message"]["id"], m["id"]);
    assert_eq!(ci["message"]["flags"], 64);
    // UPDATE_MESSAGE edits it for that user only.
    let r = c
        .srv
        .anon()
        .post(
            &format!("{}?with_response=true", callback_path(&ci)),
            json!({"type": 7, "data": {"content": "menu used", "components": []}}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["resource"]["message"]["content"], "menu used");
    let up = c
        .mate_gw
        .expect_where("MESSAGE_UPDATE", |d| d["id"] == m["id"])
        .await;
    assert_eq!(up["content"], "menu used");
    assert_eq!(up["components"], json!([]));
    // The other member never saw any of it: their next event is a public message.
    let r = c
        .bot
        .client
        .post(
            &format!("/channels/{}/messages", c.guild.general),
            json!({"content": "public"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let next = c
        .other_gw
        .expect_without("MESSAGE_CREATE", "MESSAGE_UPDATE")
        .await;
    assert_eq!(next["content"], "public");
}
