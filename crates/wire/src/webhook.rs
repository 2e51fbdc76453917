//! Webhooks (Discord "Resources > Webhook"): the webhook object, the bodies of its routes,
//! and `WEBHOOKS_UPDATE`. Incoming webhooks (type 1) only; they belong to one server and
//! never cross federation, so these types have no [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AllowedMentions, Snowflake, User, double_option};

/// Webhook object ("Resources > Webhook > Webhook Object"). `user` (who created it) is
/// absent from answers of the token routes; `token` is shown once, when the webhook is
/// created, and in answers of the token routes (the caller sent it): Hearth stores only its
/// SHA-256, so `GET /webhooks/{id}` by a manager has no `token` (Discord shows it there).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Snowflake,
    /// 1: incoming.
    #[serde(rename = "type")]
    pub kind: u8,
    pub guild_id: Option<Snowflake>,
    pub channel_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub name: Option<String>,
    /// The avatar's hash (CDN `/avatars/{webhook_id}/{hash}.{ext}`).
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Always `null`: Hearth has no application-owned webhooks.
    pub application_id: Option<Snowflake>,
    /// `{base}/webhooks/{id}/{token}` when `token` is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `POST /channels/{id}/webhooks` ("Create Webhook").
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct CreateWebhookBody {
    #[serde(default)]
    pub name: Option<String>,
    /// A data URI image, or null.
    #[serde(default)]
    pub avatar: Option<String>,
}

/// `PATCH /webhooks/{id}` and `PATCH /webhooks/{id}/{token}` ("Modify Webhook";
/// `channel_id` only without the token).
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct ModifyWebhookBody {
    #[serde(default)]
    pub name: Option<String>,
    /// Absent: unchanged; null: removed; a data URI: replaced.
    #[serde(default, deserialize_with = "double_option")]
    pub avatar: Option<Option<String>>,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
}

/// `POST /webhooks/{id}/{token}` ("Execute Webhook", JSON form).
#[derive(Debug, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct ExecuteWebhookBody {
    #[serde(default)]
    pub content: Option<String>,
    /// Overrides the webhook's name for this message.
    #[serde(default)]
    pub username: Option<String>,
    /// Accepted; Hearth does not fetch other sites' images, so the author's avatar stays
    /// the webhook's.
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub tts: Option<bool>,
    #[serde(default)]
    pub embeds: Option<Vec<Value>>,
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    #[serde(default)]
    pub flags: Option<u64>,
    /// Up to 5 action rows. An interaction's messages may hold any; a webhook's only
    /// link buttons, and only with `?with_components=true` (ignored otherwise, as Discord
    /// does for webhooks no application owns).
    #[serde(default)]
    pub components: Option<Vec<crate::Component>>,
    /// A poll to attach ("Poll Create Request Object"), as on a message send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<crate::PollCreate>,
    /// With `multipart/form-data` files: `{id, filename, description}` per `files[n]` part
    /// (`id` = `n`), as on a message send. Two-step uploads (`uploaded_filename`) are for
    /// users' clients and are not taken here (400 50035).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<crate::AttachmentRef>>,
    /// The name of a post to create with this message (the webhook's channel must be a forum
    /// or media channel; Discord's `thread_name`). Not taken by interaction follow-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_name: Option<String>,
    /// The tags of the post `thread_name` creates (ids of the forum's `available_tags`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_tags: Option<Vec<Snowflake>>,
}

/// `PATCH /webhooks/{id}/{token}/messages/{message_id}` ("Edit Webhook Message").
#[derive(Debug, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct EditWebhookMessageBody {
    #[serde(default, deserialize_with = "double_option")]
    pub content: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub embeds: Option<Option<Vec<Value>>>,
    #[serde(default)]
    pub allowed_mentions: Option<AllowedMentions>,
    /// Absent: unchanged; `null` or `[]`: removed (same rules as on execution).
    #[serde(default, deserialize_with = "double_option")]
    pub components: Option<Option<Vec<crate::Component>>>,
    /// The attachments to keep (by `id`) and the new files' entries (`id` = `n` of their
    /// `files[n]` part); absent: all kept; `null` or `[]`: all removed but the new files.
    #[serde(default, deserialize_with = "double_option")]
    pub attachments: Option<Option<Vec<crate::AttachmentRef>>>,
}

/// `WEBHOOKS_UPDATE` ("Gateway Events > Webhooks Update"), intent GUILD_WEBHOOKS.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhooksUpdate {
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
}

/// `?wait=` and `?with_components=` of the execute routes: `true`/`false`, or `1`/`0` as
/// discord.py sends them.
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct ExecuteQuery {
    #[serde(default)]
    pub wait: Option<String>,
    #[serde(default)]
    pub with_components: Option<String>,
    /// A thread of the webhook's channel to post in (Discord's `thread_id`).
    #[serde(default)]
    pub thread_id: Option<Snowflake>,
}

impl ExecuteQuery {
    /// Whether the message is to be returned.
    pub fn wait(&self) -> bool {
        matches!(
            self.wait.as_deref().map(str::to_ascii_lowercase).as_deref(),
            Some("true" | "1")
        )
    }

    /// Whether a webhook's `components` are taken (Discord: non-interactive ones only).
    pub fn with_components(&self) -> bool {
        matches!(
            self.with_components
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("true" | "1")
        )
    }
}
