//! Threads (Discord "Topics > Threads", "Resources > Channel": Thread Metadata Object,
//! Thread Member Object, Start Thread routes, List Threads responses). A thread is a
//! [`crate::Channel`] of type 10, 11 or 12 carrying the fields below.

use serde::{Deserialize, Serialize};

use crate::ids::Ids;
use crate::{ChannelType, Snowflake};

/// Thread Metadata Object. Timestamps are ISO 8601; `auto_archive_duration` in minutes
/// (60, 1440, 4320 or 10080).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct ThreadMetadata {
    pub archived: bool,
    pub auto_archive_duration: i64,
    pub archive_timestamp: String,
    pub locked: bool,
    /// Private threads only: whether non-moderators may add other members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_timestamp: Option<String>,
}

/// Thread Member Object. `id` (the thread) and `user_id` are omitted inside GUILD_CREATE in
/// Discord; Hearth always sends them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct ThreadMember {
    pub id: Snowflake,
    pub user_id: Snowflake,
    pub join_timestamp: String,
    pub flags: u64,
    /// THREAD_MEMBER(S)_UPDATE and member lists: the thread's guild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
}

/// `POST /channels/{id}/messages/{message_id}/threads` and `POST /channels/{id}/threads`.
/// `type` only for the standalone form (11 public, default 12 private as in Discord; 10
/// in an announcement channel); `invitable` only for private threads.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct StartThreadBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub auto_archive_duration: Option<i64>,
    #[serde(default)]
    pub rate_limit_per_user: Option<i64>,
    #[serde(rename = "type", default)]
    pub kind: Option<ChannelType>,
    #[serde(default)]
    pub invitable: Option<bool>,
    /// Forum and media channels: the post's starter message (required there; content,
    /// embeds, allowed_mentions, components, flags).
    #[serde(default)]
    pub message: Option<crate::CreateMessageBody>,
    /// Forum and media channels: ids of the forum's tags to apply (at most 5).
    #[serde(default)]
    pub applied_tags: Option<Vec<Snowflake>>,
}

/// `GET /guilds/{id}/threads/active` and the archived lists: the threads, the caller's own
/// thread member objects among them, and (archived lists) whether more pages exist.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThreadList {
    pub threads: Vec<crate::Channel>,
    pub members: Vec<ThreadMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

/// Forum Tag Object ("Resources > Channel"): a tag of a forum or media channel. `name` 0 to
/// 20 characters; `moderated` tags are added and removed only by MANAGE_THREADS holders;
/// at most one of `emoji_id` (a guild emoji) and `emoji_name` (a unicode emoji). In a
/// request (`available_tags` of Create/Modify Channel) `id` is absent for a new tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct ForumTag {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Snowflake>,
    pub name: String,
    #[serde(default)]
    pub moderated: bool,
    #[serde(default)]
    pub emoji_id: Option<Snowflake>,
    #[serde(default)]
    pub emoji_name: Option<String>,
}

/// Default Reaction Object ("Resources > Channel"): the emoji shown to add a reaction to a
/// forum post; one of `emoji_id` (a guild emoji) and `emoji_name` (a unicode emoji).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct DefaultReaction {
    #[serde(default)]
    pub emoji_id: Option<Snowflake>,
    #[serde(default)]
    pub emoji_name: Option<String>,
}
