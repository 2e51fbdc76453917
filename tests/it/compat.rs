//! Defects found by pointing unmodified bot libraries at Hearth (issue 14, "Compatibility
//! defects"): what each library sends or expects, checked through the gateway and HTTP.

use serde_json::json;

use crate::gateway::{GUILD_MEMBERS, GUILD_PRESENCES, GUILDS, Gw, world};
use crate::harness::s;

/// Oceanic.js and Eris connect to `{url}/?v=10`: the trailing slash is the same endpoint.
#[tokio::test]
async fn the_gateway_answers_with_a_trailing_slash() {
    let w = world().await;
    let mut g = Gw::connect_at(&w.ts, "/gateway/?v=10&encoding=json").await;
    g.send(json!({"op": 2, "d": {"token": w.alice_tok, "intents": GUILDS, "properties": {"os": "linux", "browser": "oceanic", "device": "oceanic"}}}))
        .await;
    let ready = g.expect("READY").await;
    assert_eq!(ready["user"]["id"], w.alice_id.as_str());
}

/// discord.py and nextcord read `discriminator` whenever a presence's user carries
/// `username`; hikari sends its activity as the legacy `game` object with `state` and `url`
/// set to `null`, and reads every activity's `created_at` (Discord always sends it: a
/// `KeyError` before, and hikari's PRESENCE_UPDATE was lost). Both reach the other members
/// intact.
#[tokio::test]
async fn presences_carry_a_full_partial_user_and_keep_a_hikari_activity() {
    let w = world().await;
    let mut a = Gw::identify(
        &w.ts,
        &w.alice_tok,
        GUILDS | GUILD_MEMBERS | GUILD_PRESENCES,
    )
    .await;
    a.expect("GUILD_CREATE").await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let p = a
        .expect_where("PRESENCE_UPDATE", |d| d["user"]["id"] == w.bob_id.as_str())
        .await;
    assert_eq!(p["user"]["username"], "bob", "{p}");
    assert_eq!(p["user"]["discriminator"], "0", "{p}");
    // hikari's `update_presence(activity=Activity(name="tests", type=PLAYING))`.
    b.send(json!({"op": 3, "d": {"since": null, "afk": false, "status": "online", "game": {"name": "tests", "state": null, "type": 0, "url": null}}}))
        .await;
    let p = a
        .expect_where("PRESENCE_UPDATE", |d| {
            d["user"]["id"] == w.bob_id.as_str() && d["activities"] != json!([])
        })
        .await;
    // `created_at`: the time the server received it (Unix milliseconds).
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 60_000;
    let created = p["activities"][0]["created_at"]
        .as_u64()
        .expect("created_at");
    assert!(created > before, "{p}");
    assert_eq!(
        p["activities"],
        json!([{"name": "tests", "type": 0, "created_at": created}]),
        "{p}"
    );
    assert_eq!(p["user"]["discriminator"], "0");
    // A client's own `created_at` is kept; one that is not a timestamp is replaced.
    b.send(json!({"op": 3, "d": {"since": null, "afk": false, "status": "online", "activities": [{"name": "kept", "type": 0, "created_at": 1_700_000_000_000u64}, {"name": "fixed", "type": 0, "created_at": "soon"}]}}))
        .await;
    let p = a
        .expect_where("PRESENCE_UPDATE", |d| {
            d["user"]["id"] == w.bob_id.as_str() && d["activities"][0]["name"] == "kept"
        })
        .await;
    assert_eq!(
        p["activities"][0]["created_at"], 1_700_000_000_000u64,
        "{p}"
    );
    assert!(
        p["activities"][1]["created_at"]
            .as_u64()
            .expect("created_at")
            > before,
        "{p}"
    );
    // An activity without a name is not shown; a long state is cut to 128 characters;
    // unknown keys are not relayed.
    let long = "x".repeat(500);
    b.send(json!({"op": 3, "d": {"since": null, "afk": false, "status": "idle", "activities": [{"type": 0}, {"name": "custom", "type": 4, "state": long, "secret": "no"}]}}))
        .await;
    let p = a
        .expect_where("PRESENCE_UPDATE", |d| {
            d["user"]["id"] == w.bob_id.as_str() && d["status"] == "idle"
        })
        .await;
    let acts = p["activities"].as_array().expect("activities");
    assert_eq!(acts.len(), 1, "{p}");
    assert_eq!(acts[0]["name"], "custom");
    assert_eq!(s(&acts[0]["state"]).chars().count(), 128);
    assert!(acts[0].get("secret").is_none(), "{p}");
    // The same presence is what GUILD_CREATE shows a newcomer's session.
    let mut a2 = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_PRESENCES).await;
    let g = a2.expect("GUILD_CREATE").await;
    let bob = g["presences"]
        .as_array()
        .and_then(|ps| ps.iter().find(|x| x["user"]["id"] == w.bob_id.as_str()))
        .cloned()
        .expect("bob's presence in GUILD_CREATE");
    assert_eq!(bob["status"], "idle");
    assert_eq!(bob["activities"][0]["name"], "custom");
}

/// Endpoints of absent features that libraries call before `on_ready` answer Discord's empty
/// collections, with the usual authentication and membership rules.
#[tokio::test]
async fn start_up_endpoints_of_absent_features_answer_empty_collections() {
    let w = world().await;
    let bot = hearth_testkit::build::bot_application(&w.alice, "Start Bot", 0, Some(&w.guild))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = bot.client.get("/soundboard-default-sounds").await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])), "{r:?}");
    let r = bot.client.get("/sticker-packs").await;
    assert_eq!(r.body, json!({"sticker_packs": []}), "{r:?}");
    let r = bot.client.get("/voice/regions").await;
    assert_eq!(r.body, json!([]), "{r:?}");
    let r = bot
        .client
        .get(&format!("/guilds/{}/soundboard-sounds", w.guild))
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({"items": []})),
        "{r:?}"
    );
    let r = bot
        .client
        .get(&format!("/guilds/{}/stickers", w.guild))
        .await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])), "{r:?}");
    let r = bot
        .client
        .get(&format!("/applications/{}/emojis", bot.id))
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({"items": []})),
        "{r:?}"
    );
    // Without a token: 401; an outsider: 403 Missing Access (as every guild read), 404
    // Unknown Application.
    let anon = w.ts.anon();
    let r = anon.get("/soundboard-default-sounds").await;
    assert_eq!(r.status, 401, "{r:?}");
    let (_, carol_tok) = w.ts.register("carol").await;
    let carol = w.ts.client(&carol_tok);
    let r = carol.get(&format!("/guilds/{}/stickers", w.guild)).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50001)),
        "{r:?}"
    );
    let r = carol
        .get(&format!("/guilds/{}/soundboard-sounds", w.guild))
        .await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50001)),
        "{r:?}"
    );
    let r = carol.get(&format!("/applications/{}/emojis", bot.id)).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (404, json!(10002)),
        "{r:?}"
    );
}
