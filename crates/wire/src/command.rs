//! Application commands and their permissions (Discord "Interactions > Application
//! Commands"): the command object, its options and choices, the bodies of the create, edit
//! and bulk-overwrite routes, and the guild command permissions object (also the payload of
//! `APPLICATION_COMMAND_PERMISSIONS_UPDATE`).
//!
//! Commands belong to one server (the bot's), so these types never cross federation and do
//! not implement `Ids`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    ApplicationCommandOptionType, ApplicationCommandPermissionType, ApplicationCommandType,
    ChannelType, Snowflake, de_permissions, double_option,
};

/// Localized names or descriptions by Discord locale (`"fr"`, `"pt-BR"` ...).
pub type Localizations = BTreeMap<String, String>;

/// Application Command Object. `guild_id` only on guild commands; `dm_permission` only on
/// global ones; `version` changes with every update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationCommand {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: ApplicationCommandType,
    pub application_id: Snowflake,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    /// 1-32 characters; lowercase for CHAT_INPUT.
    pub name: String,
    #[serde(default)]
    pub name_localizations: Option<Localizations>,
    /// 1-100 characters for CHAT_INPUT, empty for USER and MESSAGE.
    pub description: String,
    #[serde(default)]
    pub description_localizations: Option<Localizations>,
    /// CHAT_INPUT only; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<CommandOption>,
    /// A permission set as a decimal string; `null`: everyone may use it by default.
    pub default_member_permissions: Option<String>,
    /// Deprecated by Discord for `contexts`; global commands only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_permission: Option<bool>,
    /// Deprecated by Discord; always `true`.
    pub default_permission: bool,
    pub nsfw: bool,
    /// 0 GUILD_INSTALL, 1 USER_INSTALL.
    pub integration_types: Option<Vec<u8>>,
    /// 0 GUILD, 1 BOT_DM, 2 PRIVATE_CHANNEL; `null`: all contexts.
    pub contexts: Option<Vec<u8>>,
    /// A snowflake that changes whenever the command changes.
    pub version: Snowflake,
}

/// A number as the client sent it: an integer stays an integer (`INTEGER` options), a
/// decimal a decimal (`NUMBER`).
pub type CommandNumber = serde_json::Number;

/// Application Command Option Structure (nested for subcommands and groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommandOption {
    #[serde(rename = "type")]
    pub kind: ApplicationCommandOptionType,
    /// 1-32 characters, lowercase.
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_localizations: Option<Localizations>,
    /// 1-100 characters.
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_localizations: Option<Localizations>,
    /// Value options only; `false` is not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// STRING, INTEGER and NUMBER only; at most 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<CommandChoice>>,
    /// The subcommands of a group, the value options of a subcommand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub options: Option<Vec<CommandOption>>,
    /// CHANNEL only: the channel types offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_types: Option<Vec<ChannelType>>,
    /// INTEGER and NUMBER only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub min_value: Option<CommandNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub max_value: Option<CommandNumber>,
    /// STRING only: 0-6000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<i64>,
    /// STRING only: 1-6000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    /// STRING, INTEGER and NUMBER without `choices`; `false` is not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<bool>,
}

/// A choice's value: a string (STRING options, up to 100 characters) or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChoiceValue {
    Number(CommandNumber),
    String(String),
}

/// The OpenAPI schema (src/http/openapi.rs): a number or a string.
impl utoipa::PartialSchema for ChoiceValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Number))
            .item(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(100)),
            )
            .into()
    }
}
impl utoipa::ToSchema for ChoiceValue {}

/// Application Command Option Choice Structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommandChoice {
    /// 1-100 characters.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_localizations: Option<Localizations>,
    pub value: ChoiceValue,
}

/// `default_member_permissions`: absent (`None`), `null` (`Some(None)`) or a permission set
/// as a string or a number.
fn de_member_permissions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    de_permissions(d).map(Some)
}

/// Body of `POST .../commands`, `PATCH .../commands/{id}` (every field optional; `type`
/// cannot change) and of each element of the bulk overwrite `PUT .../commands` (where `id`
/// may name the command to keep).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ApplicationCommandBody {
    #[serde(default)]
    pub id: Option<Snowflake>,
    /// Defaults to CHAT_INPUT.
    #[serde(default, rename = "type")]
    pub kind: Option<ApplicationCommandType>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub name_localizations: Option<Option<Localizations>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub description_localizations: Option<Option<Localizations>>,
    #[serde(default, deserialize_with = "double_option")]
    pub options: Option<Option<Vec<CommandOption>>>,
    #[serde(default, deserialize_with = "de_member_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub default_member_permissions: Option<Option<u64>>,
    #[serde(default)]
    pub dm_permission: Option<bool>,
    /// Deprecated by Discord; accepted and ignored.
    #[serde(default)]
    pub default_permission: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub integration_types: Option<Option<Vec<u8>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub contexts: Option<Option<Vec<u8>>>,
    #[serde(default)]
    pub nsfw: Option<bool>,
}

/// Application Command Permission Structure: `id` is a role (the guild's id: `@everyone`), a
/// user, or a channel (the guild's id minus 1: every channel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommandPermission {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: ApplicationCommandPermissionType,
    /// Allowed (`true`) or denied.
    pub permission: bool,
}

/// Guild Application Command Permissions Structure: the permissions of one command (or,
/// when `id` is the application's id, of every command of the application) in a guild. The
/// payload of `APPLICATION_COMMAND_PERMISSIONS_UPDATE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuildCommandPermissions {
    pub id: Snowflake,
    pub application_id: Snowflake,
    pub guild_id: Snowflake,
    pub permissions: Vec<CommandPermission>,
}

/// Body of `PUT /applications/{app}/guilds/{guild}/commands/{id}/permissions`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EditCommandPermissionsBody {
    #[serde(default)]
    pub permissions: Option<Vec<CommandPermission>>,
}

/// An application in [`ApplicationCommandIndex`]: what a client shows next to its commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndexApplication {
    pub id: Snowflake,
    pub name: String,
    pub description: String,
    /// Always `null` (Hearth's applications have no icon).
    pub icon: Option<String>,
    pub bot_id: Snowflake,
}

/// `GET /guilds/{guild}/application-command-index` (the route Discord's client uses; not in
/// Discord's public documentation): the applications whose bot is in the guild and their
/// commands usable there (global and the guild's), by name. `version` is the newest
/// command version among them (`"0"` when there is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationCommandIndex {
    pub applications: Vec<IndexApplication>,
    pub application_commands: Vec<ApplicationCommand>,
    pub version: Snowflake,
}
