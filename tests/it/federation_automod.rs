//! Auto Moderation across federation (issue 15; docs/discord-compatibility.md "Auto
//! Moderation"): bob hosts the guild on b with a keyword rule; alice (a) and carol (c) are
//! members through their own servers, over real TLS and DNS. A message alice sends through
//! her server is relayed to the host, which checks it before anything is stored or logged:
//! blocked, she gets Discord's 400 200000 from her own server, the host's managers get the
//! AUTO_MODERATION_ACTION_EXECUTION naming her, and no server ever shows the message; a clean
//! one goes everywhere as usual.

use serde_json::json;

use crate::federation_delivery::contents;
use crate::federation_guilds::{A, B, C, fed_with};
use crate::gateway::Gw;
use crate::harness::{assert_err, s};

/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT.
const MESSAGES: u64 = 1 | (1 << 9) | (1 << 15);
/// GUILDS | AUTO_MODERATION_EXECUTION.
const EXECUTION: u64 = 1 | (1 << 21);

#[tokio::test]
async fn the_hosts_rules_judge_a_remote_members_messages() {
    let f = fed_with(|_, _| {}).await;
    let (b, c) = (f.net.server(B), f.net.server(C));
    let mut gw_b = Gw::identify(b, &f.bob_tok, EXECUTION).await;
    let mut gw_c = Gw::identify(c, &f.carol_tok, MESSAGES).await;
    let r = f
        .bob()
        .post(
            &format!("/guilds/{}/auto-moderation/rules", f.gid_b),
            json!({
                "name": "words",
                "event_type": 1,
                "trigger_type": 1,
                "trigger_metadata": {"keyword_filter": ["cat*"]},
                "actions": [{"type": 1}],
                "enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let rule = s(&r.body["id"]);

    // Blocked at the host; alice hears Discord's error from her own server.
    let r = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "Catch this"}),
        )
        .await;
    assert_err(&r, 400, 200000);
    let ev = gw_b.expect("AUTO_MODERATION_ACTION_EXECUTION").await;
    assert_eq!(ev["rule_id"], rule.as_str());
    assert_eq!(ev["content"], "Catch this");
    assert_eq!(ev["matched_keyword"], "cat*");
    // The user the host knows alice as: her member on b.
    let alice_on_b = f.member_id_on_host(&format!("alice@{A}")).await;
    assert_eq!(ev["user_id"], alice_on_b.as_str());

    // A clean message goes everywhere; the blocked one came before it nowhere.
    let r = f
        .alice()
        .post(
            &format!("/channels/{}/messages", f.general_a),
            json!({"content": "a dog"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let m = gw_c.expect("MESSAGE_CREATE").await;
    assert_eq!(m["content"], "a dog");
    for (client, channel) in [
        (f.alice(), &f.general_a),
        (f.bob(), &f.general_b),
        (f.carol(), &f.general_c),
    ] {
        let contents = contents(&client, channel).await;
        assert!(contents.contains(&"a dog".to_owned()), "{contents:?}");
        assert!(!contents.contains(&"Catch this".to_owned()), "{contents:?}");
    }
}
