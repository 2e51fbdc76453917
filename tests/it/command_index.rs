//! The read-only index of the commands usable in a guild that the web client lists when
//! the user types `/` (`GET /guilds/{guild}/application-command-index`): the guild's and
//! global commands of applications whose bot is in the guild, with the applications;
//! refusals of outsiders and unknown guilds. The channel's index
//! (`GET /channels/{channel}/application-command-index`) lists only what the member may use
//! there.

use hearth_testkit::build::bot_application;
use serde_json::json;

use crate::interactions::cast;

#[tokio::test]
async fn members_list_the_commands_usable_in_their_guild() {
    let c = cast().await;
    // A global command of the guild's bot, and an application whose bot is elsewhere.
    let global = c
        .bot
        .client
        .post(
            &format!("/applications/{}/commands", c.bot.id),
            json!({"name": "ping", "description": "Pong"}),
        )
        .await;
    assert_eq!(global.status, 201, "{global:?}");
    let elsewhere = bot_application(&c.owner, "Elsewhere", 0, None)
        .await
        .unwrap();
    let r = elsewhere
        .client
        .post(
            &format!("/applications/{}/commands", elsewhere.id),
            json!({"name": "hidden", "description": "Not here"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");

    let path = format!("/guilds/{}/application-command-index", c.guild.id);
    let r = c.mate.get(&path).await;
    assert_eq!(r.status, 200, "{r:?}");
    let names: Vec<&str> = r.body["application_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "nuke", "ping"]);
    assert_eq!(r.body["application_commands"][0]["id"], c.echo.as_str());
    assert_eq!(
        r.body["application_commands"][0]["options"][0]["name"],
        "text"
    );
    assert_eq!(r.body["applications"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["applications"][0]["id"], c.bot.id.as_str());
    assert_eq!(r.body["applications"][0]["name"], "Echo Bot");
    assert_eq!(r.body["applications"][0]["bot_id"], c.bot.user_id.as_str());
    assert_eq!(r.body["version"], global.body["version"]);

    // An outsider, and a guild that does not exist.
    let (_, tok) = c.srv.register("stranger").await;
    let stranger = c.srv.client(&tok);
    let r = stranger.get(&path).await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50001)),
        "{r:?}"
    );
    let r = c.mate.get("/guilds/1/application-command-index").await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (404, json!(10004)),
        "{r:?}"
    );
}

/// The names in an index answer.
fn names(r: &crate::harness::Resp) -> Vec<String> {
    r.body["application_commands"]
        .as_array()
        .unwrap_or_else(|| panic!("{r:?}"))
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_channel_index_lists_only_what_the_member_may_use_there() {
    let c = cast().await;
    let path = format!("/channels/{}/application-command-index", c.guild.general);
    // `nuke` is for administrators (default_member_permissions "8"): the owner sees it, a
    // member does not.
    let r = c.owner.get(&path).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(names(&r), ["echo", "nuke"]);
    assert_eq!(names(&c.mate.get(&path).await), ["echo"]);
    // Per-command overrides in the guild: `nuke` allowed to `mate`, `echo` denied to
    // @everyone (the guild's id).
    let perms = |id: &str| {
        format!(
            "/applications/{}/guilds/{}/commands/{id}/permissions",
            c.bot.id, c.guild.id
        )
    };
    let r = c
        .owner
        .put(
            &perms(&c.nuke),
            json!({"permissions": [{"id": c.mate_id, "type": 2, "permission": true}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c
        .owner
        .put(
            &perms(&c.echo),
            json!({"permissions": [{"id": c.guild.id, "type": 1, "permission": false}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(names(&c.mate.get(&path).await), ["nuke"]);
    // What the index says is what an invocation gets: `echo` is refused to mate.
    let body = crate::interactions::invoke(
        &c,
        &c.echo,
        "echo",
        json!([{"type": 3, "name": "text", "value": "x"}]),
        "n",
    );
    let r = c.mate.post("/interactions", body).await;
    assert_eq!((r.status, &r.body["code"]), (403, &json!(50013)), "{r:?}");
    // Without USE_APPLICATION_COMMANDS in the channel nothing is listed (nor runs).
    let r = c
        .owner
        .put(
            &format!("/channels/{}/permissions/{}", c.guild.general, c.guild.id),
            json!({"type": 0, "allow": "0", "deny": (1u64 << 31).to_string()}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert!(names(&c.mate.get(&path).await).is_empty());
    // An outsider cannot read the channel's index; an unknown channel is 404.
    let (_, tok) = c.srv.register("stranger").await;
    let r = c.srv.client(&tok).get(&path).await;
    assert_eq!(r.status, 403, "{r:?}");
    let r = c.mate.get("/channels/1/application-command-index").await;
    assert_eq!((r.status, &r.body["code"]), (404, &json!(10003)), "{r:?}");
}
