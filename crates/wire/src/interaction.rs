//! Interactions (Discord "Interactions > Receiving and Responding"): the body a user's client
//! posts to `POST /interactions`, the interaction object delivered to the application's bot
//! in `INTERACTION_CREATE`, the callback body and its `with_response` answer, and Hearth's
//! client events (`INTERACTION_CREATE`/`INTERACTION_SUCCESS`/`INTERACTION_FAILURE` with the
//! nonce, to the invoking user's sessions).
//!
//! Interactions belong to the bot's server and never cross federation (no `Ids`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ApplicationCommandOptionType, InteractionType, Member, Role, Snowflake, User};

/// One option value of an invocation ("Application Command Interaction Data Option
/// Structure"): `value` for value options (a string, a number, a boolean, or an id as a
/// string), `options` for subcommands and groups; `focused` in autocomplete only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionDataOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ApplicationCommandOptionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub options: Option<Vec<InteractionDataOption>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focused: Option<bool>,
}

/// `data` of a user's `POST /interactions`. Type 2 (APPLICATION_COMMAND) and 4
/// (APPLICATION_COMMAND_AUTOCOMPLETE): the command by `id`, `name` and `type`; `options`
/// for CHAT_INPUT (in autocomplete exactly one with `focused: true`); `target_id` for USER
/// and MESSAGE commands. Type 3 (MESSAGE_COMPONENT): `custom_id`, `component_type`,
/// `values` (selects). Type 5 (MODAL_SUBMIT): `id` (the interaction that opened the
/// modal), `custom_id`, `components` (action rows of text inputs with `custom_id` and
/// `value`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InteractionRequestData {
    #[serde(default)]
    pub id: Option<Snowflake>,
    #[serde(default)]
    pub name: Option<String>,
    /// Application command type; defaults to CHAT_INPUT.
    #[serde(default, rename = "type")]
    pub kind: Option<u8>,
    #[serde(default)]
    pub version: Option<Snowflake>,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(default)]
    pub options: Option<Vec<InteractionDataOption>>,
    #[serde(default)]
    pub target_id: Option<Snowflake>,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub component_type: Option<u8>,
    #[serde(default)]
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub components: Option<Vec<crate::Component>>,
    /// The files of ATTACHMENT options: `{id, filename, uploaded_filename}` per two-step
    /// upload (`POST /channels/{id}/attachments`, then the PUT), `id` being the value the
    /// option gives (Discord's client: `0`, `1`...).
    #[serde(default)]
    pub attachments: Option<Vec<crate::AttachmentRef>>,
}

/// Body of `POST /interactions` (Discord's client; undocumented by Discord, shape of its web
/// client): `type` 2, 3, 4 or 5, the application, where (`guild_id`, `channel_id`), the
/// component's message (`message_id`, type 3), the client's gateway `session_id` and a
/// `nonce` echoed in Hearth's client events.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct InteractionRequest {
    #[serde(default, rename = "type")]
    pub kind: Option<InteractionType>,
    #[serde(default)]
    pub application_id: Option<Snowflake>,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    #[serde(default)]
    pub channel_id: Option<Snowflake>,
    #[serde(default)]
    pub session_id: Option<String>,
    /// A string or a number, echoed as a string.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub nonce: Option<Value>,
    #[serde(default)]
    pub data: Option<InteractionRequestData>,
    #[serde(default)]
    pub message_id: Option<Snowflake>,
    /// Sent by Discord's client with type 3; ignored.
    #[serde(default)]
    pub message_flags: Option<u64>,
}

/// Resolved Data Structure: the objects the options and `target_id` name, by id. Members
/// are partial (no `user`, with `permissions`); channels partial (with the invoker's
/// `permissions`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolvedData {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<String, User>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, Member>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Role>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub channels: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub messages: BTreeMap<String, Value>,
    /// ATTACHMENT options' files by attachment id (Discord "Resolved Data Structure").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attachments: BTreeMap<String, crate::Attachment>,
}

impl ResolvedData {
    /// Whether nothing was resolved (then `resolved` is omitted).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.members.is_empty()
            && self.roles.is_empty()
            && self.channels.is_empty()
            && self.messages.is_empty()
            && self.attachments.is_empty()
    }
}

/// Application Command Data Structure (the `data` of the interaction a bot receives).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationCommandData {
    pub id: Snowflake,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<ResolvedData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<InteractionDataOption>>,
    /// The command's guild, for guild commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<Snowflake>,
}

/// The `data` of an interaction: of a command (types 2 and 4), of a component (3), of a
/// modal submit (5).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum InteractionData {
    Command(ApplicationCommandData),
    Component(crate::MessageComponentData),
    ModalSubmit(crate::ModalSubmitData),
}

/// The partial guild of an interaction (`guild`: id, locale, features).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionGuild {
    pub id: Snowflake,
    pub locale: String,
    pub features: Vec<String>,
}

/// Interaction Object as the application's bot receives it in `INTERACTION_CREATE`. In a
/// guild: `member` with `permissions` (the invoker's in the channel) and no `user`; `channel`
/// with the invoker's `permissions`. `token` authorizes the callback and, for 15 minutes,
/// the follow-ups. `app_permissions`: the bot's permissions in the channel. `context`: 0
/// GUILD; `authorizing_integration_owners`: `{"0": guild_id}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Interaction {
    pub id: Snowflake,
    pub application_id: Snowflake,
    #[serde(rename = "type")]
    pub kind: InteractionType,
    pub data: InteractionData,
    /// The message of the component (MESSAGE_COMPONENT, and MODAL_SUBMIT from one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub message: Option<Box<crate::Message>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<InteractionGuild>,
    #[schema(value_type = Object)]
    pub channel: Value,
    pub channel_id: Snowflake,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub token: String,
    /// Always 1.
    pub version: u8,
    /// A permission set as a decimal string.
    pub app_permissions: String,
    pub locale: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_locale: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub entitlements: Vec<Value>,
    pub authorizing_integration_owners: BTreeMap<String, Snowflake>,
    pub context: u8,
    /// Bytes.
    pub attachment_size_limit: u64,
}

/// Hearth's client events to the invoking user's sessions: `INTERACTION_CREATE` (the
/// interaction was delivered), `INTERACTION_SUCCESS` (the application acknowledged it),
/// `INTERACTION_FAILURE` (no acknowledgement within 3 seconds). `nonce` is the one the
/// client sent.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionClientEvent {
    pub id: Snowflake,
    pub nonce: Option<String>,
}

/// Body of `POST /interactions/{id}/{token}/callback` ("Interaction Response Structure"):
/// `type` 1 PONG, 4 CHANNEL_MESSAGE_WITH_SOURCE, 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
/// 6 DEFERRED_UPDATE_MESSAGE, 7 UPDATE_MESSAGE, 8 APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
/// 9 MODAL. `data`: for 4 and 7 a message (`content`, `embeds`, `allowed_mentions`, `tts`,
/// `components`, `flags`: EPHEMERAL 64, SUPPRESS_EMBEDS 4), the same shape as a webhook
/// execution ([`crate::ExecuteWebhookBody`]); for 8 [`crate::AutocompleteCallbackData`]; for 9
/// [`crate::ModalCallbackData`].
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct InteractionCallbackBody {
    #[serde(default, rename = "type")]
    pub kind: Option<u8>,
    /// ExecuteWebhookBody, AutocompleteCallbackData or ModalCallbackData by `type`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// `?with_response=` of the callback route.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallbackQuery {
    #[serde(default)]
    pub with_response: Option<String>,
}

impl CallbackQuery {
    /// Whether the callback answers its response (200) instead of 204.
    pub fn with_response(&self) -> bool {
        matches!(self.with_response.as_deref(), Some("true" | "1" | "True"))
    }
}

/// Interaction Callback Object (in the answer of a callback with `with_response`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionCallbackInfo {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: InteractionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_message_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_message_loading: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_message_ephemeral: Option<bool>,
}

/// Interaction Callback Resource Object: the callback's type and, for 4, the message.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionCallbackResource {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<crate::Message>,
}

/// Interaction Callback Response Object: the answer of a callback with `with_response=true`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionCallbackResponse {
    pub interaction: InteractionCallbackInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<InteractionCallbackResource>,
}
