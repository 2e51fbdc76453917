//! Account security shapes (issue 17): password reset and email verification bodies, the
//! security log, the data export and account deletion. Hearth's own endpoints where Discord
//! documents none (spec/account.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Snowflake, User};

/// `POST /auth/forgot` `{login}`: a username or email.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ForgotBody {
    pub login: Option<String>,
}

/// `POST /auth/reset` `{token, password}`: the mailed token and the new password.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ResetBody {
    pub token: Option<String>,
    pub password: Option<String>,
}

/// `POST /auth/verify` `{token}`: the mailed verification token.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct VerifyBody {
    pub token: Option<String>,
}

/// `POST /users/@me/delete` `{password, delete_messages}` (Discord: `POST /users/@me/delete`).
/// `delete_messages: true` (Hearth's addition, default `false`) removes the user's messages
/// too, in the background, instead of keeping them under "Deleted User" (spec/account.md §6).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct DeleteAccountBody {
    pub password: Option<String>,
    pub delete_messages: Option<bool>,
}

/// One entry of `GET /users/@me/security-log` (newest first).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecurityLogEntry {
    pub id: Snowflake,
    /// `login`, `mfa_enabled`, `mfa_disabled`, `backup_codes_regenerated`,
    /// `password_changed`, `password_reset`, `email_changed`, `email_verified`,
    /// `sessions_revoked`.
    pub kind: String,
    /// ISO 8601.
    pub at: String,
    /// The client address (logins; `null` for other entries).
    pub ip: Option<String>,
    /// The client's `User-Agent` (logins).
    pub user_agent: Option<String>,
    /// Per kind: `login` `{session_id, new_address, second_factor}`, `sessions_revoked`
    /// `{reason, count}`, changes made by a session `{session_id}`; `{}` otherwise.
    pub detail: Value,
}

/// `GET /users/@me/export`: everything the server holds about the caller that the caller
/// may read (spec/account.md "Data export").
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DataExport {
    /// Format version of this document (1).
    pub version: u32,
    /// ISO 8601 time of the export.
    pub exported_at: String,
    /// The caller's user object (with `email`, `verified`, `mfa_enabled`).
    pub user: User,
    /// Account settings.
    pub settings: ExportSettings,
    /// Guild memberships.
    pub guilds: Vec<ExportMembership>,
    /// The caller's messages in guild channels and plain DMs, oldest first, each with its
    /// channel (and guild) context.
    pub messages: Vec<ExportMessage>,
    /// Plain DM channels (the caller's messages in them are in `messages`).
    pub dm_channels: Vec<ExportDm>,
    /// What the export cannot contain, in words (MLS end-to-end encrypted DMs).
    pub notes: Vec<String>,
    /// The security log, newest first.
    pub security_log: Vec<SecurityLogEntry>,
    /// The account's passkeys (names, dates, backup state; never keys).
    #[serde(default)]
    pub passkeys: Vec<crate::WebauthnCredential>,
}

/// Settings of the export.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportSettings {
    /// 0: anyone may open a DM; 1: only users sharing a guild.
    pub dm_policy: i64,
    /// Users the caller blocked.
    pub blocked_user_ids: Vec<Snowflake>,
    pub mfa_enabled: bool,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// One guild membership of the export.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportMembership {
    pub guild_id: Snowflake,
    pub guild_name: String,
    pub nick: Option<String>,
    pub roles: Vec<Snowflake>,
    /// ISO 8601.
    pub joined_at: String,
    pub owner: bool,
}

/// One message of the export.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportMessage {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    /// `null` for DMs.
    pub guild_id: Option<Snowflake>,
    /// The channel's name (`null` for DMs).
    pub channel_name: Option<String>,
    pub content: String,
    /// ISO 8601.
    pub timestamp: String,
    /// ISO 8601, when edited.
    pub edited_timestamp: Option<String>,
}

/// One plain DM channel of the export.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportDm {
    pub channel_id: Snowflake,
    /// The other participants.
    pub recipients: Vec<Snowflake>,
}
