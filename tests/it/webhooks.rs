//! Incoming webhooks (Bots II; Discord "Resources > Webhook") through HTTP and the gateway:
//! management by a member with MANAGE_WEBHOOKS (and its refusals: the member without the
//! permission, an overwrite taking it away in one channel, the outsider), the token routes,
//! execution with `wait` (the message in history and as MESSAGE_CREATE), WEBHOOKS_UPDATE,
//! forged and revoked tokens, the webhook's own messages, the Slack and GitHub forms, the
//! per-webhook rate limit and the token stored only as a hash.

use serde_json::{Value, json};

use crate::gateway::{GUILD_MESSAGES, GUILDS, Gw};
use crate::harness::*;

const GUILD_WEBHOOKS: u64 = 1 << 5;
const MANAGE_WEBHOOKS: u64 = 1 << 29;

/// A server, an owner with a guild, a member without extra permissions and an outsider.
struct Cast {
    srv: TestServer,
    owner: Client,
    owner_tok: String,
    member: Client,
    member_id: String,
    member_tok: String,
    outsider: Client,
    guild: Guild,
}

async fn cast_with(f: impl FnOnce(&mut hearth::Config)) -> Cast {
    let srv = TestServer::start_with(f).await;
    let (_, owner_tok) = srv.register("hookowner").await;
    let owner = srv.client(&owner_tok);
    let guild = create_guild(&owner, "Hooks").await;
    let (member_id, member_tok) = srv.register("hookmember").await;
    let member = srv.client(&member_tok);
    join(&member, &guild.invite).await;
    let (_, outsider) = srv.user("hookoutsider").await;
    Cast {
        srv,
        owner,
        owner_tok,
        member,
        member_id,
        member_tok,
        outsider,
        guild,
    }
}

async fn cast() -> Cast {
    cast_with(|_| {}).await
}

/// `owner` creates a webhook named `name` in `channel`; returns `(id, token)`.
async fn hook(owner: &Client, channel: &str, name: &str) -> (String, String) {
    let r = owner
        .post(
            &format!("/channels/{channel}/webhooks"),
            json!({"name": name}),
        )
        .await;
    assert_eq!(r.status, 200, "create webhook: {r:?}");
    (s(&r.body["id"]), s(&r.body["token"]))
}

/// Audit entries of `action` in `guild`.
async fn audit(owner: &Client, guild: &str, action: i64) -> Vec<Value> {
    let r = owner
        .get(&format!(
            "/guilds/{guild}/audit-logs?action_type={action}&limit=100"
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["audit_log_entries"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn managers_create_list_modify_and_delete_webhooks() {
    let c = cast().await;
    let g = &c.guild;
    let mut gw = Gw::identify(&c.srv, &c.owner_tok, GUILDS | GUILD_WEBHOOKS).await;
    let path = format!("/channels/{}/webhooks", g.general);

    // Names: 1-80 characters, never "clyde" or "discord" (any case).
    for bad in ["", "My Clyde", "DISCORD hook", &"x".repeat(81)] {
        assert_field_error(&c.owner.post(&path, json!({"name": bad})).await, "name");
    }
    assert_field_error(&c.owner.post(&path, json!({})).await, "name");

    let r = c
        .owner
        .post(&path, json!({"name": "Deploys", "avatar": null}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let w = r.body.clone();
    let id = s(&w["id"]);
    assert_eq!(w["type"], 1);
    assert_eq!(w["name"], "Deploys");
    assert_eq!(w["channel_id"], json!(g.general));
    assert_eq!(w["guild_id"], json!(g.id));
    assert_eq!(w["user"]["username"], "hookowner");
    assert!(w["avatar"].is_null());
    let token = s(&w["token"]);
    assert!(token.len() >= 40, "{w}");
    assert!(s(&w["url"]).ends_with(&format!("/api/webhooks/{id}/{token}")));
    let up = gw.expect("WEBHOOKS_UPDATE").await;
    assert_eq!(up, json!({"guild_id": g.id, "channel_id": g.general}));

    // Lists and reads by the manager (no token: only its hash is kept).
    assert_eq!(ids(&c.owner.get(&path).await.body), vec![id.clone()]);
    let all = c.owner.get(&format!("/guilds/{}/webhooks", g.id)).await;
    assert_eq!(ids(&all.body), vec![id.clone()]);
    let got = c.owner.get(&format!("/webhooks/{id}")).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["name"], "Deploys");
    assert!(got.body.get("token").is_none(), "{:?}", got.body);
    // The token routes: no user, the token echoed.
    let anon = c.srv.anon();
    let t = anon.get(&format!("/webhooks/{id}/{token}")).await;
    assert_eq!(t.status, 200, "{t:?}");
    assert!(t.body.get("user").is_none(), "{:?}", t.body);
    assert_eq!(t.body["token"], json!(token));

    // Modify: name, then a move to another channel of the guild (both announced).
    let other = c
        .owner
        .post(
            &format!("/guilds/{}/channels", g.id),
            json!({"name": "ops", "type": 0}),
        )
        .await;
    assert_eq!(other.status, 201, "{other:?}");
    let other = s(&other.body["id"]);
    let m = c
        .owner
        .patch(
            &format!("/webhooks/{id}"),
            json!({"name": "Releases", "channel_id": other}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    assert_eq!(m.body["name"], "Releases");
    assert_eq!(m.body["channel_id"], json!(other));
    let mut seen = vec![];
    for _ in 0..2 {
        seen.push(s(&gw.expect("WEBHOOKS_UPDATE").await["channel_id"]));
    }
    seen.sort();
    let mut want = vec![g.general.clone(), other.clone()];
    want.sort();
    assert_eq!(seen, want);
    assert!(ids(&c.owner.get(&path).await.body).is_empty());
    // A channel of another guild is refused.
    let g2 = create_guild(&c.owner, "Elsewhere").await;
    let bad = c
        .owner
        .patch(
            &format!("/webhooks/{id}"),
            json!({"channel_id": g2.general}),
        )
        .await;
    assert_field_error(&bad, "channel_id");
    // With the token: name only.
    let m = anon
        .patch(
            &format!("/webhooks/{id}/{token}"),
            json!({"name": "Tokened"}),
        )
        .await;
    assert_eq!(m.status, 200, "{m:?}");
    assert_eq!(m.body["name"], "Tokened");
    assert!(m.body.get("user").is_none());

    // Delete; then it is unknown, by id and by token.
    let d = c.owner.delete(&format!("/webhooks/{id}")).await;
    assert_eq!(d.status, 204, "{d:?}");
    assert_err(&c.owner.get(&format!("/webhooks/{id}")).await, 404, 10015);
    assert_err(
        &anon.get(&format!("/webhooks/{id}/{token}")).await,
        404,
        10015,
    );
    assert_err(
        &anon
            .post(&format!("/webhooks/{id}/{token}"), json!({"content": "x"}))
            .await,
        404,
        10015,
    );

    // Audit entries: create, update (twice: by the manager only, not the token), delete.
    assert_eq!(audit(&c.owner, &g.id, 50).await.len(), 1);
    assert_eq!(audit(&c.owner, &g.id, 51).await.len(), 1);
    let del = audit(&c.owner, &g.id, 52).await;
    assert_eq!(del.len(), 1);
    assert_eq!(del[0]["target_id"], json!(id));

    // Delete with the token.
    let (id2, token2) = hook(&c.owner, &g.general, "Second").await;
    let d = anon.delete(&format!("/webhooks/{id2}/{token2}")).await;
    assert_eq!(d.status, 204, "{d:?}");
    assert_err(&c.owner.get(&format!("/webhooks/{id2}")).await, 404, 10015);
}

#[tokio::test]
async fn members_without_manage_webhooks_and_outsiders_are_refused() {
    let c = cast().await;
    let g = &c.guild;
    let (id, _) = hook(&c.owner, &g.general, "Deploys").await;
    let path = format!("/channels/{}/webhooks", g.general);
    for (who, status, code) in [(&c.member, 403, 50013), (&c.outsider, 403, 50001)] {
        assert_err(
            &who.post(&path, json!({"name": "Mine"})).await,
            status,
            code,
        );
        assert_err(&who.get(&path).await, status, code);
        assert_err(
            &who.get(&format!("/guilds/{}/webhooks", g.id)).await,
            status,
            code,
        );
        assert_err(&who.get(&format!("/webhooks/{id}")).await, status, code);
        assert_err(
            &who.patch(&format!("/webhooks/{id}"), json!({"name": "Taken"}))
                .await,
            status,
            code,
        );
        assert_err(&who.delete(&format!("/webhooks/{id}")).await, status, code);
    }
    // With the permission from a role, but denied by the channel's overwrite: the guild's
    // list works, the channel's does not.
    let role = create_role(&c.owner, &g.id, "Hookers", MANAGE_WEBHOOKS).await;
    give_role(&c.owner, &g.id, &c.member_id, &role).await;
    assert_eq!(c.member.get(&path).await.status, 200);
    let ow = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{}", g.general, c.member_id),
            json!({"type": 1, "allow": "0", "deny": MANAGE_WEBHOOKS.to_string()}),
        )
        .await;
    assert_eq!(ow.status, 204, "{ow:?}");
    assert_err(&c.member.get(&path).await, 403, 50013);
    assert_err(&c.member.get(&format!("/webhooks/{id}")).await, 403, 50013);
    let all = c.member.get(&format!("/guilds/{}/webhooks", g.id)).await;
    assert_eq!(ids(&all.body), vec![id.clone()]);
    // Unauthenticated management is 401.
    assert_eq!(c.srv.anon().get(&path).await.status, 401);
    // Nothing changed.
    assert_eq!(
        c.owner.get(&format!("/webhooks/{id}")).await.body["name"],
        "Deploys"
    );
}

#[tokio::test]
async fn executing_posts_a_message_from_the_webhook() {
    let c = cast().await;
    let g = &c.guild;
    let (id, token) = hook(&c.owner, &g.general, "Deploys").await;
    let mut gw = Gw::identify(&c.srv, &c.member_tok, GUILDS | GUILD_MESSAGES | (1 << 15)).await;
    let anon = c.srv.anon();
    let exec = format!("/webhooks/{id}/{token}");

    let r = anon
        .post(
            &format!("{exec}?wait=true"),
            json!({"content": format!("shipped <@{}>", c.member_id), "username": "CI",
                   "tts": false, "embeds": [{"title": "Build 7", "description": "green"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let m = r.body.clone();
    let mid = s(&m["id"]);
    assert_eq!(m["webhook_id"], json!(id));
    assert_eq!(m["author"]["id"], json!(id));
    assert_eq!(m["author"]["username"], "CI");
    assert_eq!(m["author"]["bot"], true);
    assert_eq!(m["author"]["discriminator"], "0000");
    assert_eq!(m["channel_id"], json!(g.general));
    assert_eq!(m["embeds"][0]["title"], "Build 7");
    assert_eq!(m["mentions"][0]["id"], json!(c.member_id));

    // On the member's gateway and in history.
    let ev = gw.expect("MESSAGE_CREATE").await;
    assert_eq!(ev["id"], json!(mid));
    assert_eq!(ev["webhook_id"], json!(id));
    assert_eq!(ev["author"]["username"], "CI");
    assert_eq!(ev["content"], m["content"]);
    let hist = c
        .member
        .get(&format!("/channels/{}/messages", g.general))
        .await;
    let found = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == json!(mid))
        .cloned()
        .expect("in history");
    assert_eq!(found["webhook_id"], json!(id));
    assert_eq!(found["author"]["username"], "CI");
    assert_eq!(found["author"]["bot"], true);

    // `wait=1`, as discord.py sends it, with a parameter Hearth ignores.
    let r = anon
        .post(
            &format!("{exec}?wait=1&with_components=0"),
            json!({"content": "numeric wait"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "numeric wait");
    gw.expect("MESSAGE_CREATE").await;

    // Without wait: 204; the webhook's own name is the author.
    let r = anon.post(&exec, json!({"content": "quiet"})).await;
    assert_eq!(r.status, 204, "{r:?}");
    let ev = gw.expect("MESSAGE_CREATE").await;
    assert_eq!(ev["author"]["username"], "Deploys");

    // Bad bodies.
    assert_err(&anon.post(&exec, json!({"content": ""})).await, 400, 50006);
    assert_field_error(
        &anon
            .post(&exec, json!({"content": "x", "username": "clyde"}))
            .await,
        "username",
    );
    // A forged token: 401 50027; an unknown webhook: 404 10015.
    let forged = format!("/webhooks/{id}/{}", "A".repeat(token.len()));
    assert_err(
        &anon.post(&forged, json!({"content": "x"})).await,
        401,
        50027,
    );
    assert_err(&anon.get(&forged).await, 401, 50027);
    assert_err(
        &anon
            .post(&format!("/webhooks/1234/{token}"), json!({"content": "x"}))
            .await,
        404,
        10015,
    );

    // The token is stored only as its SHA-256.
    let q = "SELECT COUNT(*) FROM webhooks WHERE token_hash = $1";
    let q_plain = "SELECT COUNT(*) FROM webhooks WHERE token_hash = $1 OR name = $1";
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    };
    let (hashed, plain): (i64, i64) = hearth_db::on_db!(&c.srv.hearth.db, p => (
        sqlx::query_scalar(q).bind(&hash).fetch_one(p).await.unwrap(),
        sqlx::query_scalar(q_plain).bind(&token).fetch_one(p).await.unwrap(),
    ));
    assert_eq!((hashed, plain), (1, 0));
}

#[tokio::test]
async fn webhook_messages_are_edited_and_deleted_through_the_token_only() {
    let c = cast().await;
    let g = &c.guild;
    let (id, token) = hook(&c.owner, &g.general, "Deploys").await;
    let (id2, token2) = hook(&c.owner, &g.general, "Other").await;
    let anon = c.srv.anon();
    let mut gw = Gw::identify(&c.srv, &c.member_tok, GUILDS | GUILD_MESSAGES | (1 << 15)).await;
    let r = anon
        .post(
            &format!("/webhooks/{id}/{token}?wait=true"),
            json!({"content": "v1"}),
        )
        .await;
    let mid = s(&r.body["id"]);
    gw.expect("MESSAGE_CREATE").await;
    let own = format!("/webhooks/{id}/{token}/messages/{mid}");

    let got = anon.get(&own).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["content"], "v1");
    let e = anon.patch(&own, json!({"content": "v2"})).await;
    assert_eq!(e.status, 200, "{e:?}");
    assert_eq!(e.body["content"], "v2");
    assert!(e.body["edited_timestamp"].is_string());
    assert_eq!(e.body["author"]["username"], "Deploys");
    let ev = gw.expect("MESSAGE_UPDATE").await;
    assert_eq!(ev["content"], "v2");

    // Another webhook's token, a member's message, a forged token: refused.
    let foreign = format!("/webhooks/{id2}/{token2}/messages/{mid}");
    assert_err(&anon.get(&foreign).await, 404, 10008);
    assert_err(
        &anon.patch(&foreign, json!({"content": "x"})).await,
        404,
        10008,
    );
    assert_err(&anon.delete(&foreign).await, 404, 10008);
    let said = say(&c.member, &g.general, "mine").await;
    let theirs = format!("/webhooks/{id}/{token}/messages/{said}");
    assert_err(
        &anon.patch(&theirs, json!({"content": "x"})).await,
        404,
        10008,
    );
    assert_err(&anon.delete(&theirs).await, 404, 10008);
    let forged = format!("/webhooks/{id}/{token2}/messages/{mid}");
    assert_err(&anon.delete(&forged).await, 401, 50027);
    let mine = c
        .member
        .get(&format!("/channels/{}/messages/{said}", g.general))
        .await;
    assert_eq!(mine.body["content"], "mine");

    let d = anon.delete(&own).await;
    assert_eq!(d.status, 204, "{d:?}");
    let ev = gw.expect("MESSAGE_DELETE").await;
    assert_eq!(ev["id"], json!(mid));
    assert_err(&anon.get(&own).await, 404, 10008);
}

#[tokio::test]
async fn slack_and_github_forms_post_messages() {
    let c = cast().await;
    let g = &c.guild;
    let (id, token) = hook(&c.owner, &g.general, "Integrations").await;
    let anon = c.srv.anon();
    let base = format!("/webhooks/{id}/{token}");

    let r = anon
        .post(
            &format!("{base}/slack?wait=true"),
            json!({"text": "from slack", "username": "slackbot",
                   "attachments": [{"title": "Alert", "text": "disk", "color": "danger"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["content"], "from slack");
    assert_eq!(r.body["author"]["username"], "slackbot");
    assert_eq!(r.body["embeds"][0]["title"], "Alert");
    assert_eq!(r.body["embeds"][0]["color"], 0xa30200);
    let r = anon
        .post(&format!("{base}/slack"), json!({"text": "no wait"}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let gh = anon.clone().with_header("X-GitHub-Event", "push");
    let push = json!({"ref": "refs/heads/main", "compare": "https://example.test/c",
        "repository": {"full_name": "hearth/hearth", "html_url": "https://example.test/r"},
        "sender": {"login": "dev", "html_url": "https://example.test/dev", "avatar_url": ""},
        "commits": [{"id": "abcdef0123", "message": "Add webhooks", "url": "https://example.test/x",
                     "author": {"name": "Dev"}}]});
    let r = gh.post(&format!("{base}/github?wait=true"), push).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["author"]["username"], "GitHub");
    assert_eq!(
        r.body["embeds"][0]["title"],
        "[hearth/hearth:main] 1 new commit"
    );
    let issue = json!({"action": "opened", "issue": {"number": 3, "title": "Bug", "html_url": "https://example.test/i/3", "body": "broken"},
        "repository": {"full_name": "hearth/hearth"}, "sender": {"login": "dev"}});
    let r = anon
        .clone()
        .with_header("X-GitHub-Event", "issues")
        .post(&format!("{base}/github?wait=true"), issue)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body["embeds"][0]["title"],
        "[hearth/hearth] Issue opened: #3 Bug"
    );
    // An event it does not summarise: 204, no message.
    let before = c
        .owner
        .get(&format!("/channels/{}/messages", g.general))
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    let r = anon
        .clone()
        .with_header("X-GitHub-Event", "fork")
        .post(&format!("{base}/github?wait=true"), json!({}))
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let after = c
        .owner
        .get(&format!("/channels/{}/messages", g.general))
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    // The token is checked for ignored events too.
    let r = anon
        .clone()
        .with_header("X-GitHub-Event", "fork")
        .post(&format!("/webhooks/{id}/wrong/github"), json!({}))
        .await;
    assert_err(&r, 401, 50027);
}

#[tokio::test]
async fn executions_are_rate_limited_per_webhook() {
    let c = cast_with(|cfg| {
        cfg.rate_limits.webhook_execute = hearth::config::Bucket {
            limit: 2,
            per_seconds: 60.0,
        };
    })
    .await;
    let g = &c.guild;
    let (id, token) = hook(&c.owner, &g.general, "Busy").await;
    let (id2, token2) = hook(&c.owner, &g.general, "Idle").await;
    let anon = c.srv.anon();
    let exec = format!("/webhooks/{id}/{token}");
    for i in 0..2 {
        let r = anon.post(&exec, json!({"content": format!("m{i}")})).await;
        assert_eq!(r.status, 204, "{r:?}");
    }
    // The third, from another client or through the Slack form, waits.
    let r = c.member.post(&exec, json!({"content": "m2"})).await;
    assert_eq!(r.status, 429, "{r:?}");
    let retry = r.body["retry_after"].as_f64().expect("retry_after");
    assert!(retry > 0.0 && retry <= 60.0, "{retry}");
    assert_eq!(r.body["global"], false);
    assert!(r.header("retry-after").is_some());
    let r = anon
        .post(&format!("{exec}/slack"), json!({"text": "m3"}))
        .await;
    assert_eq!(r.status, 429, "{r:?}");
    // Another webhook has its own bucket.
    let r = anon
        .post(
            &format!("/webhooks/{id2}/{token2}"),
            json!({"content": "ok"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
}

/// A webhook's message in a guild with a member server reaches the member's clients like any
/// message, with its `webhook_id` and the author shown, as a bot.
#[tokio::test]
async fn webhook_messages_reach_member_servers() {
    const A: &str = "a.hearth.test";
    const B: &str = "b.hearth.test";
    let net = crate::network::TestNetwork::start(&[A, B]).await;
    let (_, alice_tok) = net.server(A).register("alice").await;
    let (_, bob_tok) = net.server(B).register("bob").await;
    let bob = net.server(B).client(&bob_tok);
    let g = create_guild(&bob, "Fed hooks").await;
    let a = net.server(A);
    let mut gw = Gw::identify(a, &alice_tok, GUILDS | GUILD_MESSAGES).await;
    let r = a
        .client(&alice_tok)
        .post(&format!("/invites/{}@{B}", g.invite), json!({}))
        .await;
    assert_eq!(r.status, 200, "alice joins through a: {r:?}");
    let gc = gw.expect("GUILD_CREATE").await;
    let general_a = s(&gc["channels"][0]["id"]);

    let (id, token) = hook(&bob, &g.general, "Deploys").await;
    let r = net
        .server(B)
        .anon()
        .post(
            &format!("/webhooks/{id}/{token}?wait=true"),
            json!({"content": "across servers", "username": "CI"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let ev = gw
        .expect_where("MESSAGE_CREATE", |e| e["content"] == "across servers")
        .await;
    assert_eq!(ev["channel_id"], json!(general_a));
    assert_eq!(ev["author"]["username"], "CI");
    assert_eq!(ev["author"]["bot"], true);
    assert!(ev["webhook_id"].is_string(), "{ev}");
    assert_eq!(ev["webhook_id"], ev["author"]["id"]);
    let hist = a
        .client(&alice_tok)
        .get(&format!("/channels/{general_a}/messages"))
        .await;
    let m = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "across servers")
        .cloned()
        .expect("in a's history");
    assert_eq!(m["author"]["username"], "CI");
    assert_eq!(m["webhook_id"], ev["webhook_id"]);
}
