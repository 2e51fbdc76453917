//! Channels, permission overwrites and invites (Discord "Resources > Channel", "Resources > Invite").

use serde::{Deserialize, Serialize};

use crate::ids::Ids;
use crate::{ChannelType, OverwriteType, Snowflake, User, de_permissions, double_option};

/// Overwrite object; `type` 0 role, 1 member. `id` is the role's or the member's id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct Overwrite {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: OverwriteType,
    pub allow: String,
    pub deny: String,
}

/// Channel object ("Resources > Channel"). Fields that do not apply are omitted.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Channel {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: ChannelType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub topic: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_overwrites: Option<Vec<Overwrite>>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_id: Option<Option<Snowflake>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsfw: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<i64>,
    pub last_message_id: Option<Snowflake>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_pin_timestamp: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<User>>,
    /// Group DMs: the icon hash (`null`: none; Hearth keeps none yet).
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Option<String>>,
    pub flags: u64,
    /// Threads: the creator; group DMs: the owner (who may remove recipients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<Snowflake>,
    /// Threads: archive state and settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_metadata: Option<crate::ThreadMetadata>,
    /// Threads: messages in the thread (the starter message excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_count: Option<i64>,
    /// Threads: number of thread members (Discord stops counting at 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
    /// Threads: messages ever sent in the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_message_sent: Option<i64>,
    /// Threads: the caller's thread member object, when they joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<crate::ThreadMember>,
    /// THREAD_CREATE of a new thread: `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newly_created: Option<bool>,
    /// Forum and media channels: their tags (at most 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_tags: Option<Vec<crate::ForumTag>>,
    /// Threads of forum and media channels: the ids of the tags applied (at most 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_tags: Option<Vec<Snowflake>>,
    /// Forum and media channels: the emoji offered to react to posts.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_reaction_emoji: Option<Option<crate::DefaultReaction>>,
    /// Forum and media channels: the slow mode given to new posts (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_thread_rate_limit_per_user: Option<i64>,
    /// Forum and media channels: 0 latest activity, 1 creation date; `null` unset.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_sort_order: Option<Option<i64>>,
    /// Forum channels: 0 not set, 1 list view, 2 gallery view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_forum_layout: Option<i64>,
    /// Start Thread in Forum or Media Channel: the post's starter message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub message: Option<Box<crate::Message>>,
}

/// Invite object ("Resources > Invite"), with metadata when the caller may manage it.
/// `INVITE_CREATE` adds `channel_id` and `guild_id` (absent elsewhere).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct Invite {
    #[serde(rename = "type")]
    pub kind: u8,
    pub code: String,
    pub guild: Option<InviteGuild>,
    pub channel: Option<InviteChannel>,
    pub inviter: Option<User>,
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Snowflake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
}

/// The partial guild of an invite ("Resources > Invite > Invite Object": `guild`).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct InviteGuild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub features: Vec<String>,
    pub splash: Option<String>,
    pub banner: Option<String>,
    pub verification_level: i64,
    pub nsfw_level: u8,
}

/// The partial channel of an invite (`id`, `name`, `type`).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct InviteChannel {
    pub id: Snowflake,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: ChannelType,
}

#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct OverwriteBody {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: OverwriteType,
    #[serde(default, deserialize_with = "de_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub allow: Option<u64>,
    #[serde(default, deserialize_with = "de_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub deny: Option<u64>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ChannelBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<ChannelType>,
    #[serde(default, deserialize_with = "double_option")]
    pub topic: Option<Option<String>>,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Snowflake>>,
    #[serde(default)]
    pub nsfw: Option<bool>,
    #[serde(default)]
    pub rate_limit_per_user: Option<i64>,
    #[serde(default)]
    pub bitrate: Option<i64>,
    #[serde(default)]
    pub user_limit: Option<i64>,
    #[serde(default)]
    pub permission_overwrites: Option<Vec<OverwriteBody>>,
    /// Threads only: archive or unarchive.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Threads only: lock or unlock (MANAGE_THREADS).
    #[serde(default)]
    pub locked: Option<bool>,
    /// Threads only: minutes of inactivity before archiving (60, 1440, 4320, 10080).
    #[serde(default)]
    pub auto_archive_duration: Option<i64>,
    /// Private threads only: whether non-moderators may add others.
    #[serde(default)]
    pub invitable: Option<bool>,
    /// Channel flags: REQUIRE_TAG (forum, media), HIDE_MEDIA_DOWNLOAD_OPTIONS (media),
    /// PINNED (a forum's post, MANAGE_THREADS).
    #[serde(default)]
    pub flags: Option<u64>,
    /// Forum and media channels: their tags (at most 20; a tag without `id` is new).
    #[serde(default)]
    pub available_tags: Option<Vec<crate::ForumTag>>,
    /// Forum and media channels.
    #[serde(default, deserialize_with = "double_option")]
    pub default_reaction_emoji: Option<Option<crate::DefaultReaction>>,
    /// Forum and media channels: 0 to 21600 seconds.
    #[serde(default)]
    pub default_thread_rate_limit_per_user: Option<i64>,
    /// Forum and media channels: 0 or 1, or `null`.
    #[serde(default, deserialize_with = "double_option")]
    pub default_sort_order: Option<Option<i64>>,
    /// Forum channels: 0, 1 or 2.
    #[serde(default)]
    pub default_forum_layout: Option<i64>,
    /// Threads of forum and media channels: the tags applied (at most 5).
    #[serde(default)]
    pub applied_tags: Option<Vec<Snowflake>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChannelPosition {
    pub id: Snowflake,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Snowflake>>,
    #[serde(default)]
    pub lock_permissions: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PutOverwriteBody {
    #[serde(rename = "type")]
    pub kind: Option<OverwriteType>,
    #[serde(default, deserialize_with = "de_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub allow: Option<u64>,
    #[serde(default, deserialize_with = "de_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub deny: Option<u64>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct CreateInviteBody {
    #[serde(default)]
    pub max_age: Option<i64>,
    #[serde(default)]
    pub max_uses: Option<i64>,
    #[serde(default)]
    pub temporary: Option<bool>,
    #[serde(default)]
    pub unique: Option<bool>,
}
