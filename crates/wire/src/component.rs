//! Message components and modals (Discord "Components > Using Message Components",
//! "Interactions > Receiving and Responding > Interaction Response Object > Modal"):
//! action rows (type 1) holding buttons (2), selects (3 string, 5 user, 6 role, 7
//! mentionable, 8 channel) or, in modals, text inputs (4). One flat object as Discord
//! documents it: which fields apply depends on `type`; the rules are in Hearth's
//! `service::components`. Components belong to the bot's server (their `custom_id`s are
//! the application's own strings); the snowflakes they may hold (custom emojis' ids, SKUs,
//! selects' `default_values`) are visited like any id ([`crate::ids`]).

use serde::{Deserialize, Serialize};

use crate::ids::Ids;
use crate::{ChannelType, Emoji, Snowflake};

/// Component Object (legacy message components; Discord "Components > Component
/// Reference"). `type`: 1 ACTION_ROW (`components`), 2 BUTTON (`style` 1 primary, 2
/// secondary, 3 success, 4 danger with `custom_id`; 5 link with `url`; 6 premium, refused
/// by Hearth), 3 STRING_SELECT (`options`), 4 TEXT_INPUT (modals only: `style` 1 short, 2
/// paragraph, `label`, `min_length`/`max_length` in characters, `required`, `value`), 5
/// USER_SELECT, 6 ROLE_SELECT, 7 MENTIONABLE_SELECT, 8 CHANNEL_SELECT (`channel_types`).
/// In a modal submit, text inputs carry the user's `value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: u8,
    /// The component's identifier within its message (1 to 2147483647, unique in the
    /// message; 0 or absent: given by the server): the sender's, or given on storing (Discord "Component Reference > Anatomy of a
    /// Component": ids not given are auto-populated sequentially in the order the
    /// components appear). hikari reads it on every component of a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A unicode emoji (`{"name": "🔥"}`) or a custom one (`{"id", "name", "animated"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<Emoji>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Premium buttons' SKU (refused: Hearth has no SKUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// STRING_SELECT: 1 to 25 options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<SelectOption>>,
    /// CHANNEL_SELECT: the channel types offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_types: Option<Vec<ChannelType>>,
    /// Selects: up to 150 characters; text inputs: up to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// User, role, mentionable and channel selects' preselected values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_values: Option<Vec<SelectDefaultValue>>,
    /// Selects: 0 to 25, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_values: Option<i64>,
    /// Selects: 1 to 25, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_values: Option<i64>,
    /// Text inputs: 0 to 4000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<i64>,
    /// Text inputs: 1 to 4000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    /// Text inputs: default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Text inputs: the prefilled value (in a modal) or the user's (in a modal submit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// ACTION_ROW: its children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub components: Option<Vec<Component>>,
}

/// Select Default Value Structure (Discord "Component Reference > User Select"): the
/// `id` of a user, role or channel and its `type`: `"user"`, `"role"` or `"channel"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct SelectDefaultValue {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Select Option Structure (STRING_SELECT): `label` and `value` up to 100 characters,
/// `description` up to 100, `default` preselected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct SelectOption {
    pub label: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<Emoji>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

/// `data` of a MESSAGE_COMPONENT interaction as the bot receives it ("Message Component
/// Data Structure"): the clicked component's `custom_id` and `component_type`; for selects
/// the chosen `values` (option values, or ids as strings) and, for entity selects,
/// `resolved`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageComponentData {
    pub custom_id: String,
    pub component_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<crate::ResolvedData>,
}

/// `data` of a MODAL_SUBMIT interaction as the bot receives it ("Modal Submit Data
/// Structure"): the modal's `custom_id` and its action rows, each text input with its
/// `custom_id` and the user's `value`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModalSubmitData {
    pub custom_id: String,
    pub components: Vec<Component>,
}

/// `data` of callback 9 MODAL ("Interaction Response Object > Modal"): `custom_id` (1 to
/// 100 characters), `title` (1 to 45), 1 to 5 action rows each holding one text input.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModalCallbackData {
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub components: Option<Vec<Component>>,
}

/// `data` of callback 8 APPLICATION_COMMAND_AUTOCOMPLETE_RESULT ("Interaction Response
/// Object > Autocomplete"): up to 25 choices (`name` 1 to 100 characters; `value` of the
/// focused option's type).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutocompleteCallbackData {
    #[serde(default)]
    pub choices: Option<Vec<crate::CommandChoice>>,
}

/// `INTERACTION_MODAL_CREATE` to the invoking user's sessions (as Discord's client receives
/// it): the interaction's `id` (posted back as `data.id` of the MODAL_SUBMIT), the
/// client's `nonce`, the `application` (`id`, `name`, `icon`, `bot_id`), the channel and
/// the modal.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InteractionModalCreate {
    pub id: Snowflake,
    pub nonce: Option<String>,
    pub channel_id: Snowflake,
    #[schema(value_type = Object)]
    pub application: serde_json::Value,
    pub custom_id: String,
    pub title: String,
    pub components: Vec<Component>,
}

/// `APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE` to the invoking user's sessions (as
/// Discord's client receives it): the interaction's `nonce` and the application's choices.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutocompleteResponse {
    pub nonce: Option<String>,
    pub choices: Vec<crate::CommandChoice>,
}
