//! Messages, reactions and emoji (Discord "Resources > Message", "Resources > Emoji").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{MessageType, Snowflake, User, double_option};

/// Reaction count object on a message.
#[derive(Debug, Clone, Serialize)]
pub struct Reaction {
    pub count: i64,
    pub count_details: Value,
    pub me: bool,
    pub me_burst: bool,
    pub burst_colors: Vec<String>,
    pub emoji: Emoji,
}

/// Partial emoji: unicode (`id: null`) or custom (`name:id`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Emoji {
    pub id: Option<Snowflake>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub animated: bool,
}

/// Message reference of a reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageReference {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    #[serde(default)]
    pub message_id: Option<Snowflake>,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing)]
    pub fail_if_not_exists: Option<bool>,
}

/// Message object ("Resources > Message").
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    pub author: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<Value>,
    pub content: String,
    pub timestamp: String,
    pub edited_timestamp: Option<String>,
    pub tts: bool,
    pub mention_everyone: bool,
    pub mentions: Vec<User>,
    pub mention_roles: Vec<Snowflake>,
    pub attachments: Vec<Value>,
    pub embeds: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Value>,
    pub pinned: bool,
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub flags: u64,
    pub components: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_message: Option<Option<Box<Message>>>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct AllowedMentions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<Snowflake>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Snowflake>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_user: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct CreateMessageBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_nonce: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeds: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_mentions: Option<AllowedMentions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct EditMessageBody {
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub embeds: Option<Option<Vec<Value>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_mentions: Option<AllowedMentions>,
}

#[derive(Debug, Deserialize)]
pub struct BulkDeleteBody {
    pub messages: Vec<Snowflake>,
}
