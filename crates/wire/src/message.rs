//! Messages, reactions and emoji (Discord "Resources > Message", "Resources > Emoji").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::Ids;
use crate::{InteractionType, Member, MessageType, Snowflake, User, double_option};

/// Reaction count object on a message. `me` and `me_burst` are the viewer's.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Reaction {
    pub count: i64,
    pub count_details: ReactionCountDetails,
    pub me: bool,
    pub me_burst: bool,
    pub burst_colors: Vec<String>,
    pub emoji: Emoji,
}

/// Reaction counts by kind ("Reaction Count Details Object").
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct ReactionCountDetails {
    pub burst: i64,
    pub normal: i64,
}

/// Partial emoji: unicode (`id: null`) or custom (`name:id`; Hearth has no custom emojis
/// yet, so `id` is always null; it would be an emoji of the sender's server).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct Emoji {
    pub id: Option<Snowflake>,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub animated: bool,
}

/// Message reference of a reply. Also part of request bodies, so unknown fields are
/// ignored here (every field it has is an id or a flag).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct MessageReference {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<u8>,
    /// Absent on a THREAD_CREATED message, which refers to its thread only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Snowflake>,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing)]
    pub fail_if_not_exists: Option<bool>,
}

/// Message object ("Resources > Message"). The gateway's `MESSAGE_CREATE` and
/// `MESSAGE_UPDATE` add the author's `member` (without `user`) in guilds.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Message {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    pub author: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    /// The webhook that sent it ("Resources > Webhook"); `author` is then the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<Snowflake>,
    /// The text; its mentions are ids.
    #[ids(text)]
    pub content: String,
    pub timestamp: String,
    pub edited_timestamp: Option<String>,
    pub tts: bool,
    pub mention_everyone: bool,
    pub mentions: Vec<User>,
    pub mention_roles: Vec<Snowflake>,
    /// The message's files, with signed URLs fresh for the viewer.
    pub attachments: Vec<Attachment>,
    #[ids(
        skip = "embeds are the sender's free-form rich content (title, description, \
                  fields, urls, colors); Discord's embed object holds no snowflake, and \
                  mentions in embed text are shown as written"
    )]
    pub embeds: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ids(skip = "the sending client's own token, echoed back to it; not an id of any server")]
    pub nonce: Option<Value>,
    pub pinned: bool,
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub flags: u64,
    /// Message components (action rows of buttons and selects) of a message sent by a bot,
    /// an application's interaction or a webhook ("Components > Using Message
    /// Components"); empty for other messages.
    pub components: Vec<crate::Component>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(no_recursion)]
    pub referenced_message: Option<Option<Box<Message>>>,
    /// The application of a message answering an interaction (Discord: set on interaction
    /// responses and follow-ups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ids(skip = "an application of the bot's server, the one that answered; not a guild object")]
    pub application_id: Option<Snowflake>,
    /// The interaction this message answers ("Message Interaction Metadata Object").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_metadata: Option<MessageInteractionMetadata>,
    /// The deprecated form of `interaction_metadata` that libraries still read ("Message
    /// Interaction Object").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<MessageInteraction>,
    /// The message's poll ("Resources > Poll"), with the results as the viewer sees them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<crate::Poll>,
    /// The thread this message started (Discord "Resources > Message": `thread`), as the
    /// viewer may see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub thread: Option<Box<crate::Channel>>,
}

/// Message Interaction Metadata Object (Discord "Resources > Message"): the interaction a
/// message answers. `authorizing_integration_owners` maps an installation context (`"0"`
/// guild, `"1"` user) to the guild's or user's id.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct MessageInteractionMetadata {
    #[ids(skip = "an interaction of the bot's server: no object of the guild")]
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// The user who invoked it.
    pub user: User,
    #[ids(skip = "the ids of the installation's owners as the bot's server knows them")]
    pub authorizing_integration_owners: std::collections::BTreeMap<String, Snowflake>,
    /// The response's message id (on follow-ups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ids(skip = "a message of the bot's server")]
    pub original_response_message_id: Option<Snowflake>,
    /// The command's name (APPLICATION_COMMAND only; Discord includes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Application command type (1 CHAT_INPUT, 2 USER, 3 MESSAGE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_type: Option<u8>,
    /// The message whose component was used (MESSAGE_COMPONENT only; Discord sends it and
    /// hikari requires it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ids(skip = "a message of the bot's server")]
    pub interacted_message_id: Option<Snowflake>,
    /// The interaction (a command's or a component's) whose modal this MODAL_SUBMIT
    /// answers (MODAL_SUBMIT only; Discord sends it and hikari requires it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub triggering_interaction_metadata: Option<Box<MessageInteractionMetadata>>,
}

/// Message Interaction Object (deprecated by Discord for `interaction_metadata`).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct MessageInteraction {
    #[ids(skip = "an interaction of the bot's server: no object of the guild")]
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// The command's name (with the subcommand group and subcommand, space separated).
    pub name: String,
    pub user: User,
}

/// Attachment object (Discord "Resources > Message > Attachment Object"). `url` and
/// `proxy_url` are signed and expire (`ex`, `is`, `hm` query parameters, as Discord's CDN);
/// `size` in bytes, `width`/`height` in pixels (images only).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Attachment {
    #[ids(
        skip = "the host's attachment id: a member server maps it through id_map itself when it stores the attachment, with its own URL (spec/federation.md §17.3)"
    )]
    pub id: Snowflake,
    pub filename: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub size: u64,
    pub url: String,
    pub proxy_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
}

/// An entry of `attachments` in a create or edit body (Discord "Uploading Files"): on
/// create, `id` names the `files[n]` part (`n`); on edit, the id of an attachment to keep
/// (attachments not listed are removed). `id` may be a number or a string.
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct AttachmentRef {
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A two-step upload to attach: the `upload_filename` that
    /// `POST /channels/{id}/attachments` returned, after its bytes were PUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_filename: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Default, utoipa::ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, Default, utoipa::ToSchema)]
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
    /// Metadata of the uploaded `files[n]` parts (multipart requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentRef>>,
    /// Bots only (up to 5 action rows); ignored for user accounts, as Discord does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<crate::Component>>,
    /// A poll to attach ("Poll Create Request Object"); needs SEND_POLLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<crate::PollCreate>,
}

#[derive(Debug, Serialize, Deserialize, Default, utoipa::ToSchema)]
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
    /// The attachments to keep (by id); the others are removed. Absent or null: unchanged.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub attachments: Option<Option<Vec<AttachmentRef>>>,
    /// Bots only: absent unchanged, `null` or `[]` removes them.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub components: Option<Option<Vec<crate::Component>>>,
    /// A poll cannot be edited: any non-null value is refused (400 520003).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BulkDeleteBody {
    pub messages: Vec<Snowflake>,
}

/// `POST /channels/{id}/attachments` (Discord's two-step upload): the files a client is
/// about to send.
#[derive(Debug, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct UploadRequestBody {
    #[serde(default)]
    pub files: Vec<UploadRequestFile>,
}

/// One announced file: `id` is the client's own reference (echoed back), `file_size` in
/// bytes.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadRequestFile {
    #[serde(default)]
    pub id: Option<Value>,
    pub filename: String,
    pub file_size: u64,
}

/// The answer to [`UploadRequestBody`]: one slot per file, in order.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadSlots {
    pub attachments: Vec<UploadSlot>,
}

/// Where to PUT one file (`upload_url`, signed, expiring) and the name a message refers to
/// it by (`attachments: [{id, filename, uploaded_filename: upload_filename}]`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadSlot {
    /// The request's `id` (its position when it had none).
    pub id: Value,
    pub upload_url: String,
    pub upload_filename: String,
}
