//! Foreign webhook formats (Discord "Resources > Webhook > Execute Slack-Compatible
//! Webhook" and "Execute GitHub-Compatible Webhook"), each turned into an ordinary
//! execution ([`Hearth::execute_webhook`]).
//!
//! Slack: `text` (content), `username`, `icon_url` (accepted, not fetched), `attachments`
//! (each a rich embed: `title`, `title_link`, `text` or `fallback`, `pretext`, `color`
//! (`#rrggbb`, or good/warning/danger), `fields` `{title, value, short}`, `author_name`,
//! `author_link`, `author_icon`, `image_url`, `thumb_url`, `footer`; at most 10).
//! GitHub: the `X-GitHub-Event` header names the event; `push`, `issues`, `pull_request`,
//! `issue_comment`, `create`, `delete`, `star`/`watch` and `ping` become one embed
//! summarising it, sent as "GitHub"; any other event is accepted and ignored (204), as
//! Discord does.

use serde_json::{Map, Value, json};

use super::Hearth;
use crate::error::Result;
use crate::snowflake::Snowflake;
use crate::wire;

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut node = v;
    for p in path {
        node = &node[*p];
    }
    node.as_str().unwrap_or("")
}

fn slack_color(c: &str) -> Option<u64> {
    match c {
        "good" => Some(0x2eb886),
        "warning" => Some(0xdaa038),
        "danger" => Some(0xa30200),
        _ => u64::from_str_radix(c.trim_start_matches('#'), 16)
            .ok()
            .filter(|v| *v <= 0xffffff),
    }
}

/// The execution of a Slack-compatible body.
pub fn slack_body(v: &Value) -> wire::ExecuteWebhookBody {
    let mut embeds = vec![];
    for a in v["attachments"].as_array().into_iter().flatten().take(10) {
        let mut e = Map::new();
        let mut put = |k: &str, val: Value| {
            if !val.is_null() && val != json!("") {
                e.insert(k.into(), val);
            }
        };
        put("title", json!(str_of(a, &["title"])));
        put("url", json!(str_of(a, &["title_link"])));
        let text = match str_of(a, &["text"]) {
            "" => str_of(a, &["fallback"]),
            t => t,
        };
        let description = match str_of(a, &["pretext"]) {
            "" => text.to_string(),
            p if text.is_empty() => p.to_string(),
            p => format!("{p}\n{text}"),
        };
        put("description", json!(description));
        if let Some(c) = slack_color(str_of(a, &["color"])) {
            put("color", json!(c));
        }
        let fields: Vec<Value> = a["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .take(25)
            .map(|f| {
                json!({"name": str_of(f, &["title"]), "value": str_of(f, &["value"]),
                       "inline": f["short"].as_bool().unwrap_or(false)})
            })
            .collect();
        if !fields.is_empty() {
            put("fields", Value::Array(fields));
        }
        if !str_of(a, &["author_name"]).is_empty() {
            put(
                "author",
                json!({"name": str_of(a, &["author_name"]), "url": a["author_link"], "icon_url": a["author_icon"]}),
            );
        }
        if !str_of(a, &["image_url"]).is_empty() {
            put("image", json!({"url": str_of(a, &["image_url"])}));
        }
        if !str_of(a, &["thumb_url"]).is_empty() {
            put("thumbnail", json!({"url": str_of(a, &["thumb_url"])}));
        }
        if !str_of(a, &["footer"]).is_empty() {
            put("footer", json!({"text": str_of(a, &["footer"])}));
        }
        embeds.push(Value::Object(e));
    }
    wire::ExecuteWebhookBody {
        content: v["text"].as_str().map(str::to_string),
        username: v["username"].as_str().map(str::to_string),
        avatar_url: v["icon_url"].as_str().map(str::to_string),
        embeds: Some(embeds),
        ..Default::default()
    }
}

/// Cuts `s` to `max` characters.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The embed summarising a GitHub event, `None` for events that are ignored.
pub fn github_embed(event: &str, v: &Value) -> Option<Value> {
    let repo = str_of(v, &["repository", "full_name"]);
    let sender = &v["sender"];
    let author = json!({
        "name": str_of(sender, &["login"]),
        "url": str_of(sender, &["html_url"]),
        "icon_url": str_of(sender, &["avatar_url"]),
    });
    let (title, url, description, color): (String, String, String, u64) = match event {
        "ping" => (
            format!("[{repo}] Webhook ping"),
            str_of(v, &["repository", "html_url"]).into(),
            str_of(v, &["zen"]).into(),
            0x7289da,
        ),
        "push" => {
            let branch = str_of(v, &["ref"]).trim_start_matches("refs/heads/");
            let commits = v["commits"].as_array().cloned().unwrap_or_default();
            let n = commits.len();
            let lines: Vec<String> = commits
                .iter()
                .take(5)
                .map(|c| {
                    let id: String = str_of(c, &["id"]).chars().take(7).collect();
                    let msg = str_of(c, &["message"]).lines().next().unwrap_or("");
                    format!(
                        "[`{id}`]({}) {} - {}",
                        str_of(c, &["url"]),
                        cut(msg, 50),
                        str_of(c, &["author", "name"])
                    )
                })
                .collect();
            (
                format!(
                    "[{repo}:{branch}] {n} new commit{}",
                    if n == 1 { "" } else { "s" }
                ),
                str_of(v, &["compare"]).into(),
                lines.join("\n"),
                0x7289da,
            )
        }
        "issues" | "pull_request" => {
            let (key, noun) = if event == "issues" {
                ("issue", "Issue")
            } else {
                ("pull_request", "Pull request")
            };
            let item = &v[key];
            let action = str_of(v, &["action"]);
            (
                format!(
                    "[{repo}] {noun} {action}: #{} {}",
                    item["number"].as_i64().unwrap_or(0),
                    str_of(item, &["title"])
                ),
                str_of(item, &["html_url"]).into(),
                if action == "opened" {
                    cut(str_of(item, &["body"]), 500)
                } else {
                    String::new()
                },
                if action == "closed" {
                    0x000000
                } else {
                    0xeb6420
                },
            )
        }
        "issue_comment" => (
            format!(
                "[{repo}] New comment on issue #{}: {}",
                v["issue"]["number"].as_i64().unwrap_or(0),
                str_of(v, &["issue", "title"])
            ),
            str_of(v, &["comment", "html_url"]).into(),
            cut(str_of(v, &["comment", "body"]), 500),
            0xe68d60,
        ),
        "create" | "delete" => (
            format!(
                "[{repo}] {} {} {}",
                str_of(v, &["ref_type"]),
                str_of(v, &["ref"]),
                if event == "create" {
                    "created"
                } else {
                    "deleted"
                }
            ),
            str_of(v, &["repository", "html_url"]).into(),
            String::new(),
            0x7289da,
        ),
        "star" | "watch" => (
            format!("[{repo}] New star added"),
            str_of(v, &["repository", "html_url"]).into(),
            String::new(),
            0xfcb900,
        ),
        _ => return None,
    };
    let mut e = json!({"title": cut(&title, 256), "color": color, "author": author});
    if !url.is_empty() {
        e["url"] = json!(url);
    }
    if !description.is_empty() {
        e["description"] = json!(cut(&description, 4096));
    }
    Some(e)
}

impl Hearth {
    /// `POST /webhooks/{id}/{token}/slack`: see the module docs.
    pub async fn execute_slack_webhook(
        &self,
        id: Snowflake,
        token: &str,
        body: &Value,
        wait: bool,
    ) -> Result<Option<wire::Message>> {
        self.execute_webhook(id, token, slack_body(body), wait, false, None, vec![])
            .await
    }

    /// `POST /webhooks/{id}/{token}/github` with the `X-GitHub-Event` header `event`: the
    /// token is checked first; an ignored event answers `None`.
    pub async fn execute_github_webhook(
        &self,
        id: Snowflake,
        token: &str,
        event: &str,
        body: &Value,
        wait: bool,
    ) -> Result<Option<wire::Message>> {
        self.webhook_by_token(id, token).await?;
        let Some(embed) = github_embed(event, body) else {
            return Ok(None);
        };
        let b = wire::ExecuteWebhookBody {
            username: Some("GitHub".into()),
            embeds: Some(vec![embed]),
            ..Default::default()
        };
        self.execute_webhook(id, token, b, wait, false, None, vec![])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_attachments_become_embeds() {
        let b = slack_body(&json!({"text": "hi", "username": "bot", "attachments": [
            {"title": "T", "text": "body", "color": "good", "fields": [{"title": "a", "value": "b", "short": true}]}
        ]}));
        assert_eq!(b.content.as_deref(), Some("hi"));
        let e = &b.embeds.unwrap()[0];
        assert_eq!(e["title"], "T");
        assert_eq!(e["description"], "body");
        assert_eq!(e["color"], 0x2eb886);
        assert_eq!(e["fields"][0]["inline"], true);
    }

    #[test]
    fn github_events_are_summarised_or_ignored() {
        let push = json!({"ref": "refs/heads/main", "compare": "https://x/compare",
            "repository": {"full_name": "o/r"}, "sender": {"login": "dev"},
            "commits": [{"id": "0123456789", "message": "Fix it\n\nmore", "url": "u", "author": {"name": "Dev"}}]});
        let e = github_embed("push", &push).unwrap();
        assert_eq!(e["title"], "[o/r:main] 1 new commit");
        assert!(e["description"].as_str().unwrap().contains("`0123456`"));
        assert!(github_embed("fork", &push).is_none());
    }
}
