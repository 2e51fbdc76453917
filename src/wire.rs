//! Wire types: every JSON body of the client REST API and gateway payload objects.
//!
//! Shapes follow Discord's API documentation ("Resources > User/Guild/Channel/Message/Invite/
//! Audit Log", "Topics > Permissions > Role Object"); Hearth only adds fields (for example
//! `handle`). Request bodies ignore unknown fields and accept `null` for optional ones,
//! because real libraries send fields Hearth does not use.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::snowflake::Snowflake;

/// Deserializes a field that distinguishes "absent" (`None`) from `null` (`Some(None)`).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Serializes a permission set as Discord does: a decimal string.
pub fn perm_string(p: u64) -> String {
    p.to_string()
}

/// ISO 8601 timestamp with microseconds and `+00:00`, as Discord sends.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Accepts a permission set given as a string (Discord) or a number (older libraries).
pub fn de_permissions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("permissions must be an integer string")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("permissions must be a non-negative integer")),
        Some(_) => Err(serde::de::Error::custom("permissions must be a string")),
    }
}

// ---------------------------------------------------------------------------------------
// Objects

/// User object ("Resources > User"). `handle` is Hearth's `name@server`.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: Snowflake,
    pub username: String,
    pub discriminator: &'static str,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub bot: bool,
    pub system: bool,
    pub public_flags: u64,
    pub flags: u64,
    pub handle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// Hearth: `0` anyone may DM, `1` only users sharing a guild (own user object only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dm_policy: Option<i64>,
}

/// Role object ("Topics > Permissions > Role Object").
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub id: Snowflake,
    pub name: String,
    pub color: u32,
    pub colors: Value,
    pub hoist: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    pub position: i64,
    pub permissions: String,
    pub managed: bool,
    pub mentionable: bool,
    pub flags: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Value>,
}

/// Overwrite object; `type` 0 role, 1 member.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overwrite {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    pub allow: String,
    pub deny: String,
}

/// Channel object ("Resources > Channel"). Fields that do not apply are omitted.
#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_overwrites: Option<Vec<Overwrite>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Option<Snowflake>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nsfw: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_user: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<i64>,
    pub last_message_id: Option<Snowflake>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pin_timestamp: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<User>>,
    pub flags: u64,
}

/// Guild member object ("Resources > Guild > Guild Member Object").
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
}

/// Guild object ("Resources > Guild").
#[derive(Debug, Clone, Serialize)]
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
    pub emojis: Vec<Value>,
    pub stickers: Vec<Value>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<i64>,
}

/// Partial guild of `GET /users/@me/guilds`.
#[derive(Debug, Clone, Serialize)]
pub struct PartialGuild {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub banner: Option<String>,
    pub owner: bool,
    pub permissions: String,
    pub features: Vec<String>,
}

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
    pub kind: u8,
    pub flags: u64,
    pub components: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<MessageReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referenced_message: Option<Option<Box<Message>>>,
}

/// Invite object ("Resources > Invite"), with metadata when the caller may manage it.
#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    #[serde(rename = "type")]
    pub kind: u8,
    pub code: String,
    pub guild: Option<Value>,
    pub channel: Option<Value>,
    pub inviter: Option<User>,
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_member_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uses: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Ban object.
#[derive(Debug, Clone, Serialize)]
pub struct Ban {
    pub reason: Option<String>,
    pub user: User,
}

/// Audit log entry ("Resources > Audit Log").
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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

/// Application object ("Resources > Application").
#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub description: String,
    pub bot_public: bool,
    pub bot_require_code_grant: bool,
    pub verify_key: String,
    pub flags: i64,
    pub owner: User,
    pub bot: User,
    pub team: Option<Value>,
    pub summary: String,
    pub rpc_origins: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Login session listing of `GET /auth/sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct AuthSession {
    pub id: Snowflake,
    pub created_at: String,
    pub last_refreshed_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// Response of register, login and refresh.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub user_id: Snowflake,
    pub token: String,
    pub refresh_token: String,
    /// Seconds until `token` expires.
    pub expires_in: u64,
    pub session_id: Snowflake,
}

// ---------------------------------------------------------------------------------------
// Request bodies

#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Needed when the server's registration policy is `invite_only`.
    #[serde(default)]
    pub invite: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    pub login: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ModifyMeBody {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub global_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub avatar: Option<Option<String>>,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub new_password: Option<String>,
    #[serde(default)]
    pub dm_policy: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CreateGuildBody {
    pub name: Option<String>,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ModifyGuildBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub icon: Option<Option<String>>,
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

#[derive(Debug, Deserialize, Clone)]
pub struct OverwriteBody {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default, deserialize_with = "de_permissions")]
    pub allow: Option<u64>,
    #[serde(default, deserialize_with = "de_permissions")]
    pub deny: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ChannelBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<u8>,
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
}

#[derive(Debug, Deserialize)]
pub struct ChannelPosition {
    pub id: Snowflake,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Snowflake>>,
    #[serde(default)]
    pub lock_permissions: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct RolePosition {
    pub id: Snowflake,
    #[serde(default)]
    pub position: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct PutOverwriteBody {
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    #[serde(default, deserialize_with = "de_permissions")]
    pub allow: Option<u64>,
    #[serde(default, deserialize_with = "de_permissions")]
    pub deny: Option<u64>,
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

#[derive(Debug, Deserialize, Default)]
pub struct ModifyMemberBody {
    #[serde(default, deserialize_with = "double_option")]
    pub nick: Option<Option<String>>,
    #[serde(default)]
    pub roles: Option<Vec<Snowflake>>,
    #[serde(default)]
    pub mute: Option<bool>,
    #[serde(default)]
    pub deaf: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
pub struct RoleBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de_permissions")]
    pub permissions: Option<u64>,
    #[serde(default)]
    pub color: Option<u32>,
    #[serde(default)]
    pub hoist: Option<bool>,
    #[serde(default)]
    pub mentionable: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
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

#[derive(Debug, Deserialize, Default)]
pub struct BanBody {
    #[serde(default)]
    pub delete_message_seconds: Option<i64>,
    #[serde(default)]
    pub delete_message_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct CreateDmBody {
    pub recipient_id: Option<Snowflake>,
}

#[derive(Debug, Deserialize, Default)]
pub struct RelationshipBody {
    #[serde(rename = "type", default)]
    pub kind: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct CreateApplicationBody {
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ModifyApplicationBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub flags: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizeBody {
    pub guild_id: Option<Snowflake>,
    #[serde(default, deserialize_with = "de_permissions")]
    pub permissions: Option<u64>,
    #[serde(default)]
    pub authorize: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
pub struct AdminUserBody {
    #[serde(default)]
    pub suspended: Option<bool>,
    #[serde(default)]
    pub admin: Option<bool>,
}

// ---------------------------------------------------------------------------------------
// MLS (spec/mls.md; federation bodies in spec/federation.md §8.9). Binary values are
// unpadded standard base64 of their TLS encoding; ids are decimal strings.

/// `POST /mls/devices`.
#[derive(Debug, Deserialize)]
pub struct MlsRegisterDeviceBody {
    /// The device's 32-byte Ed25519 MLS signature public key.
    pub signature_key: String,
}

/// `POST /mls/devices/{device_id}/key-packages`.
#[derive(Debug, Deserialize)]
pub struct MlsUploadBody {
    #[serde(default)]
    pub key_packages: Vec<String>,
    #[serde(default)]
    pub last_resort: Option<String>,
}

/// Query of `GET /mls/devices/{device_id}/inbox`.
#[derive(Debug, Deserialize)]
pub struct MlsInboxQuery {
    /// The cursor: the `id` of the last item read.
    pub after: Option<String>,
    /// Page size, 1..=500 (default 100).
    pub limit: Option<i64>,
}

/// `POST /mls/key-packages/claim`.
#[derive(Debug, Deserialize)]
pub struct MlsClaimBody {
    /// `name@server` (a bare name means this server).
    pub user: String,
    /// The caller's own device, left out when claiming the caller's own devices.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// `POST /mls/groups`.
#[derive(Debug, Deserialize)]
pub struct MlsCreateGroupBody {
    pub device_id: String,
    /// An MlsMessage carrying the GroupInfo at epoch 0.
    pub group_info: String,
    pub ratchet_tree: String,
}

/// `POST /mls/messages`.
#[derive(Debug, Deserialize)]
pub struct MlsSendBody {
    pub device_id: String,
    /// An MlsMessage: a PublicMessage commit or a PrivateMessage application message.
    pub message: String,
    #[serde(default)]
    pub welcome: Option<String>,
    #[serde(default)]
    pub group_info: Option<String>,
}

/// Federation `POST /_hearth/federation/v1/mls/claim`.
#[derive(Debug, Deserialize, Serialize)]
pub struct MlsFedClaimBody {
    /// The claimer's handle; its domain must be the request's origin.
    pub claimer: String,
    /// The target's local name on the receiving server.
    pub user: String,
}

/// Federation `POST /_hearth/federation/v1/mls/submit`: `POST /mls/messages` relayed by the
/// sender's server to the group's hub.
#[derive(Debug, Deserialize, Serialize)]
pub struct MlsFedSubmitBody {
    /// The sender's handle; its domain must be the request's origin.
    pub sender: String,
    pub device_id: String,
    pub message: String,
    #[serde(default)]
    pub welcome: Option<String>,
    #[serde(default)]
    pub group_info: Option<String>,
}

/// A member device, as the hub addresses it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct MlsDeviceRef {
    /// `name@server`.
    pub user: String,
    pub device_id: String,
}

/// One accepted item delivered by a group's hub to a member server (federation
/// `POST /_hearth/federation/v1/mls/deliver`, alone or in `{"items": [...]}`), or to its own
/// local devices.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MlsDeliverItem {
    pub group_id: String,
    pub hub: String,
    pub seq: i64,
    /// `commit`, `application` or `welcome`.
    pub kind: String,
    pub epoch: i64,
    /// The sending user's handle.
    pub sender: String,
    /// The MlsMessage (base64).
    pub message: String,
    /// The devices of the receiving server to put it in the inboxes of.
    pub devices: Vec<MlsDeviceRef>,
}

/// An inbox item (`GET /mls/devices/{device_id}/inbox` items and `MLS_MESSAGE` dispatches).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MlsInboxItem {
    /// The cursor value of this item.
    pub id: String,
    pub device_id: String,
    pub group_id: String,
    pub hub: String,
    pub seq: i64,
    /// `commit`, `application` or `welcome`.
    pub kind: String,
    pub epoch: i64,
    pub sender: String,
    pub message: String,
}

/// `GET /mls/devices/{device_id}/inbox`.
#[derive(Debug, Clone, Serialize)]
pub struct MlsInboxPage {
    pub items: Vec<MlsInboxItem>,
    /// The `id` of the last item (the `after` given if the page is empty).
    pub cursor: String,
}
