//! The read-only index of the commands usable in a guild that the web client lists when
//! the user types `/` (`GET /guilds/{guild}/application-command-index`): the guild's and
//! global commands of applications whose bot is in the guild, with the applications;
//! refusals of outsiders and unknown guilds.

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
