//! Users, accounts and sessions (Discord "Resources > User"; Hearth's `/auth/*`).

use serde::{Deserialize, Serialize};

use crate::ids::{Ids, UserObject};
use crate::{Snowflake, double_option};

/// User object ("Resources > User"). `handle` is Hearth's `name@server`.
///
/// Across servers a user is matched by `handle`, never by id (`#[ids(user)]`,
/// spec/federation.md §13).
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
#[ids(user)]
pub struct User {
    pub id: Snowflake,
    pub username: String,
    /// Always `"0"` (Discord's new usernames).
    pub discriminator: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    /// The profile banner's hash (CDN `/banners/{id}/{hash}.{ext}`); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    pub bot: bool,
    pub system: bool,
    pub public_flags: u64,
    pub flags: u64,
    pub handle: String,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// A second factor is on: TOTP or a passkey (own user object only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    /// Hearth: TOTP (an authenticator app) is on, whether or not a passkey is (own user
    /// object only): what a client's two-factor settings show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// Hearth: `0` anyone may DM, `1` only users sharing a guild (own user object only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dm_policy: Option<i64>,
}

/// `"0"`: the discriminator of every user with a unique username (Discord "Resources >
/// User", "Unique usernames"); the serde default of partial user objects.
pub fn zero_discriminator() -> String {
    "0".to_string()
}

impl UserObject for User {
    fn id_mut(&mut self) -> &mut Snowflake {
        &mut self.id
    }
    fn handle(&self) -> &str {
        &self.handle
    }
    fn global_name(&self) -> Option<&str> {
        self.global_name.as_deref()
    }
    fn avatar(&self) -> Option<&str> {
        self.avatar.as_deref()
    }
    fn bot(&self) -> bool {
        self.bot
    }
}

/// Login session listing of `GET /auth/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthSession {
    pub id: Snowflake,
    pub created_at: String,
    pub last_refreshed_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// Response of register, login and refresh.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub user_id: Snowflake,
    pub token: String,
    pub refresh_token: String,
    /// Seconds until `token` expires.
    pub expires_in: u64,
    pub session_id: Snowflake,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterBody {
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Needed when the server's registration policy is `invite_only`.
    #[serde(default)]
    pub invite: Option<String>,
    /// Hearth: the first start's one-time setup token (README "First start"). Valid, it
    /// makes the new account an instance administrator whatever the registration policy;
    /// otherwise 400 50035 `SETUP_TOKEN_INVALID` and no account is made.
    #[serde(default)]
    pub setup_token: Option<String>,
}

/// `POST /admin/setup` (Hearth): `{token}`, the first start's one-time setup token.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct SetupClaimBody {
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    pub login: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ModifyMeBody {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub global_name: Option<Option<String>>,
    /// A data URI (Discord "Image Data"), `null` removes; likewise `banner`.
    #[serde(default, deserialize_with = "double_option")]
    pub avatar: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub banner: Option<Option<String>>,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub new_password: Option<String>,
    /// A new email address (needs `password`; unverified until the mailed link is followed).
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub dm_policy: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
/// `POST /users/@me/channels` ("Resources > User > Create DM", and the user-account form of
/// "Create Group DM"): `recipient_id` opens the 1:1 DM; `recipients` with one id does the
/// same, with none or several (at most 9: 10 users with the caller) creates a group DM
/// (type 3) owned by the caller, named `name` (at most 100 characters) if given.
pub struct CreateDmBody {
    pub recipient_id: Option<Snowflake>,
    #[serde(default)]
    pub recipients: Option<Vec<Snowflake>>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Relationship object ("Resources > Relationship"): `GET /users/@me/relationships` and
/// READY's `relationships`. Hearth keeps blocks only (`type` 2); `nickname` is always null.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Relationship {
    /// The other user's id.
    pub id: Snowflake,
    /// 2: blocked.
    #[serde(rename = "type")]
    pub kind: i64,
    pub user: User,
    pub nickname: Option<String>,
}

/// The `RELATIONSHIP_REMOVE` payload: the relationship with `id` is gone (`type`: what it was).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelationshipRemove {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: i64,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct RelationshipBody {
    #[serde(rename = "type", default)]
    pub kind: Option<i64>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct AdminUserBody {
    #[serde(default)]
    pub suspended: Option<bool>,
    #[serde(default)]
    pub admin: Option<bool>,
}
