//! Guilds, roles, members, bans and the audit log (Discord "Resources > Guild", "Resources > Audit Log", "Topics > Permissions > Role Object").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{Ids, Unsupported};
use crate::{ChannelType, Snowflake, User, de_permissions, double_option};

/// Role object ("Topics > Permissions > Role Object").
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Role {
    pub id: Snowflake,
    pub name: String,
    pub color: u32,
    pub colors: RoleColors,
    pub hoist: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    pub position: i64,
    pub permissions: String,
    pub managed: bool,
    pub mentionable: bool,
    pub flags: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<RoleTags>,
}

/// A role's colours ("Role Colors Object"); Hearth sets the primary colour only.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct RoleColors {
    pub primary_color: u32,
    pub secondary_color: Option<u32>,
    pub tertiary_color: Option<u32>,
}

/// Role tags ("Role Tags Structure"); Hearth sets `bot_id` on a bot's managed role.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct RoleTags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<Snowflake>,
}

/// Guild member object ("Resources > Guild > Guild Member Object").
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Member {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub nick: Option<String>,
    pub avatar: Option<String>,
    pub roles: Vec<Snowflake>,
    pub joined_at: String,
    pub premium_since: Option<String>,
    pub deaf: bool,
    pub mute: bool,
    pub flags: u64,
    pub pending: bool,
    pub communication_disabled_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
}

/// Guild object ("Resources > Guild").
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Guild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub icon_hash: Option<String>,
    pub splash: Option<String>,
    pub discovery_splash: Option<String>,
    pub description: Option<String>,
    pub owner_id: Snowflake,
    pub region: Option<String>,
    pub afk_channel_id: Option<Snowflake>,
    pub afk_timeout: u64,
    pub verification_level: i64,
    pub default_message_notifications: i64,
    pub explicit_content_filter: i64,
    pub roles: Vec<Role>,
    /// The guild's custom emoji (without `user`).
    pub emojis: Vec<GuildEmoji>,
    /// Hearth has no stickers: always empty.
    pub stickers: Vec<Unsupported>,
    pub features: Vec<String>,
    pub mfa_level: u8,
    pub application_id: Option<Snowflake>,
    pub system_channel_id: Option<Snowflake>,
    pub system_channel_flags: u64,
    pub rules_channel_id: Option<Snowflake>,
    pub public_updates_channel_id: Option<Snowflake>,
    pub safety_alerts_channel_id: Option<Snowflake>,
    pub vanity_url_code: Option<String>,
    pub banner: Option<String>,
    pub premium_tier: u8,
    pub premium_subscription_count: u64,
    pub preferred_locale: String,
    pub nsfw_level: u8,
    pub premium_progress_bar_enabled: bool,
    pub max_members: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<i64>,
}

/// Custom emoji object ("Resources > Emoji > Emoji Object"). `user` (the creator) only in
/// REST answers to members with CREATE_GUILD_EXPRESSIONS or MANAGE_GUILD_EXPRESSIONS. The
/// image is at the CDN path `/emojis/{id}.{png|webp|gif}`.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct GuildEmoji {
    pub id: Snowflake,
    pub name: String,
    /// Roles allowed to use the emoji; empty: everyone.
    pub roles: Vec<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// Always `true`.
    pub require_colons: bool,
    /// Always `false` (no integrations).
    pub managed: bool,
    pub animated: bool,
    /// Always `true`.
    pub available: bool,
}

/// Body of `POST /guilds/{id}/emojis`: `image` is a data URI (Discord "Image Data").
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct CreateEmojiBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<Snowflake>>,
}

/// Body of `PATCH /guilds/{id}/emojis/{emoji_id}` (`roles: null` allows everyone).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ModifyEmojiBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub roles: Option<Option<Vec<Snowflake>>>,
}

/// Partial guild of `GET /users/@me/guilds`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartialGuild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub banner: Option<String>,
    pub owner: bool,
    pub permissions: String,
    pub features: Vec<String>,
}

/// Ban object.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ban {
    pub reason: Option<String>,
    pub user: User,
}

/// Audit log entry ("Resources > Audit Log").
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLogEntry {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    pub user_id: Snowflake,
    pub target_id: Option<String>,
    pub action_type: i64,
    pub changes: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Audit log ("Get Guild Audit Log" response).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLog {
    pub audit_log_entries: Vec<AuditLogEntry>,
    pub users: Vec<User>,
    pub integrations: Vec<Value>,
    pub threads: Vec<Value>,
    pub webhooks: Vec<Value>,
    pub application_commands: Vec<Value>,
    pub auto_moderation_rules: Vec<Value>,
    pub guild_scheduled_events: Vec<Value>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct CreateGuildBody {
    pub name: Option<String>,
    /// A data URI (Discord "Image Data").
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Discord "Create Guild" `roles`: the first entry sets `@everyone`'s permissions and
    /// colour, the others are created in order (positions 1, 2, ...). At most 250.
    #[serde(default)]
    pub roles: Option<Vec<CreateGuildRole>>,
    /// Discord "Create Guild" `channels`: created in order instead of the default
    /// `#general` (their `position` is ignored). At most 500.
    #[serde(default)]
    pub channels: Option<Vec<CreateGuildChannel>>,
    /// The placeholder `id` of a text channel of `channels` that receives system messages.
    #[serde(default)]
    pub system_channel_id: Option<Snowflake>,
}

/// A role of [`CreateGuildBody::roles`]: `id` is a placeholder (any integer or string
/// snowflake) by which the channels' overwrites name it; the rest as [`RoleBody`].
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct CreateGuildRole {
    #[serde(default)]
    pub id: Option<Snowflake>,
    #[serde(flatten)]
    pub role: RoleBody,
}

/// A channel of [`CreateGuildBody::channels`] (Discord "Create Guild", partial channel
/// objects): `id` is a placeholder, `parent_id` the placeholder of a category of the same
/// list, overwrites name roles by their placeholders (type 0) or the creator (type 1).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct CreateGuildChannel {
    #[serde(default)]
    pub id: Option<Snowflake>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<ChannelType>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub parent_id: Option<Snowflake>,
    #[serde(default)]
    pub nsfw: Option<bool>,
    #[serde(default)]
    pub permission_overwrites: Option<Vec<crate::OverwriteBody>>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ModifyGuildBody {
    #[serde(default)]
    pub name: Option<String>,
    /// A data URI (Discord "Image Data"), `null` removes; likewise `banner` and `splash`.
    #[serde(default, deserialize_with = "double_option")]
    pub icon: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub banner: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub splash: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    #[serde(default)]
    pub owner_id: Option<Snowflake>,
    #[serde(default, deserialize_with = "double_option")]
    pub system_channel_id: Option<Option<Snowflake>>,
    #[serde(default)]
    pub verification_level: Option<i64>,
    #[serde(default)]
    pub default_message_notifications: Option<i64>,
    #[serde(default)]
    pub explicit_content_filter: Option<i64>,
    #[serde(default)]
    pub preferred_locale: Option<String>,
    /// Hearth: list the guild in the registrar's public directory (spec/registrar.md).
    #[serde(default)]
    pub discoverable: Option<bool>,
    /// Hearth: directory tags (at most 5, each 1-24 characters of `[a-z0-9-]`).
    #[serde(default)]
    pub discovery_tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RolePosition {
    pub id: Snowflake,
    #[serde(default)]
    pub position: Option<i64>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ModifyMemberBody {
    #[serde(default, deserialize_with = "double_option")]
    pub nick: Option<Option<String>>,
    #[serde(default)]
    pub roles: Option<Vec<Snowflake>>,
    #[serde(default)]
    pub mute: Option<bool>,
    #[serde(default)]
    pub deaf: Option<bool>,
    /// Moves the member to this voice or stage channel (MOVE_MEMBERS), or disconnects them
    /// from voice with `null`; 400 40032 when the member is not in voice.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Option<Snowflake>>,
    /// ISO 8601 end of a timeout (at most 28 days ahead), or `null` to end it (Discord "Modify
    /// Guild Member"; MODERATE_MEMBERS).
    #[serde(default, deserialize_with = "double_option")]
    pub communication_disabled_until: Option<Option<String>>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct RoleBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub permissions: Option<u64>,
    #[serde(default)]
    pub color: Option<u32>,
    #[serde(default)]
    pub hoist: Option<bool>,
    #[serde(default)]
    pub mentionable: Option<bool>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct BanBody {
    #[serde(default)]
    pub delete_message_seconds: Option<i64>,
    #[serde(default)]
    pub delete_message_days: Option<i64>,
}
