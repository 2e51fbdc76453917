//! Auto Moderation (Discord "Resources > Auto Moderation"): the rule object, its trigger
//! metadata and actions, the bodies of the rule routes, and the payload of
//! `AUTO_MODERATION_ACTION_EXECUTION` ("Gateway Events > Auto Moderation Action Execution").
//! Rules belong to the guild's host and never cross federation, so these types have no
//! [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};

use crate::{AutoModActionType, AutoModEventType, AutoModPreset, AutoModTriggerType, Snowflake};

/// Auto Moderation rule object ("Auto Moderation Rule Object").
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoModerationRule {
    pub id: Snowflake,
    pub guild_id: Snowflake,
    /// 1 to 100 characters.
    pub name: String,
    /// The user who created the rule.
    pub creator_id: Snowflake,
    pub event_type: AutoModEventType,
    pub trigger_type: AutoModTriggerType,
    /// The fields of the rule's trigger type only.
    pub trigger_metadata: TriggerMetadata,
    pub actions: Vec<AutoModerationAction>,
    pub enabled: bool,
    /// Members with one of these roles are not affected (at most 20).
    pub exempt_roles: Vec<Snowflake>,
    /// Messages in these channels (or channels of these categories) are not checked (at
    /// most 50).
    pub exempt_channels: Vec<Snowflake>,
}

/// Trigger metadata ("Auto Moderation Rule Object > Trigger Metadata"): which fields apply
/// depends on the trigger type; absent ones are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TriggerMetadata {
    /// KEYWORD, MEMBER_PROFILE: up to 1000 keywords of up to 60 characters, with `*`
    /// wildcards at either end (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword_filter: Option<Vec<String>>,
    /// KEYWORD, MEMBER_PROFILE: up to 10 Rust-flavoured regular expressions of up to 260
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_patterns: Option<Vec<String>>,
    /// KEYWORD_PRESET: the built-in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<Vec<AutoModPreset>>,
    /// KEYWORD, MEMBER_PROFILE (up to 100) and KEYWORD_PRESET (up to 1000): keywords that
    /// never trigger the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_list: Option<Vec<String>>,
    /// MENTION_SPAM: unique user and role mentions allowed per message (1 to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_total_limit: Option<i64>,
    /// MENTION_SPAM: accepted and shown; Hearth detects no mention raids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention_raid_protection_enabled: Option<bool>,
}

/// An action of a rule ("Auto Moderation Action Object").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoModerationAction {
    #[serde(rename = "type")]
    pub kind: AutoModActionType,
    /// `{}` for actions without metadata.
    #[serde(default)]
    pub metadata: ActionMetadata,
}

/// Action metadata ("Auto Moderation Action Object > Action Metadata").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionMetadata {
    /// SEND_ALERT_MESSAGE: a text channel of the guild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Snowflake>,
    /// TIMEOUT: seconds, 1 to 2419200 (4 weeks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    /// BLOCK_MESSAGE: up to 150 characters shown to the member whose message was blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_message: Option<String>,
}

/// `POST /guilds/{id}/auto-moderation/rules` ("Create Auto Moderation Rule") and, every
/// field optional and `trigger_type` ignored, `PATCH .../rules/{rule_id}` ("Modify Auto
/// Moderation Rule").
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoModRuleBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub event_type: Option<AutoModEventType>,
    #[serde(default)]
    pub trigger_type: Option<AutoModTriggerType>,
    #[serde(default)]
    pub trigger_metadata: Option<TriggerMetadata>,
    #[serde(default)]
    pub actions: Option<Vec<AutoModerationAction>>,
    /// Creation: `false` when absent (Discord's default).
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub exempt_roles: Option<Vec<Snowflake>>,
    #[serde(default)]
    pub exempt_channels: Option<Vec<Snowflake>>,
}

/// `AUTO_MODERATION_ACTION_EXECUTION` ("Gateway Events > Auto Moderation Action
/// Execution"): one per action run. `content` and `matched_content` are emptied for bots
/// without MESSAGE_CONTENT.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoModerationActionExecution {
    pub guild_id: Snowflake,
    pub action: AutoModerationAction,
    pub rule_id: Snowflake,
    pub rule_trigger_type: AutoModTriggerType,
    /// The member whose content triggered the rule.
    pub user_id: Snowflake,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<Snowflake>,
    /// The edited message; absent for a new message (it is checked before it exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Snowflake>,
    /// The alert posted by a SEND_ALERT_MESSAGE action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_system_message_id: Option<Snowflake>,
    pub content: String,
    /// The rule's keyword (or pattern, or preset word) that matched.
    pub matched_keyword: Option<String>,
    /// The part of `content` that matched.
    pub matched_content: Option<String>,
}
