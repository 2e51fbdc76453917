//! Applications and bot authorization (Discord "Resources > Application", "Topics > OAuth2").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Snowflake, User, de_permissions, double_option};

/// Application object ("Resources > Application").
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Application {
    pub id: Snowflake,
    pub name: String,
    pub icon: Option<String>,
    pub description: String,
    pub bot_public: bool,
    pub bot_require_code_grant: bool,
    /// The hex ed25519 public key that verifies what the server posts to the
    /// application's interactions endpoint (`X-Signature-Ed25519`).
    pub verify_key: String,
    /// Where interactions are posted instead of the gateway (Discord "Receiving and
    /// Responding"); `null`: over the gateway.
    pub interactions_endpoint_url: Option<String>,
    pub flags: i64,
    pub owner: User,
    pub bot: User,
    pub team: Option<Value>,
    pub summary: String,
    pub rpc_origins: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateApplicationBody {
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ModifyApplicationBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub flags: Option<i64>,
    /// `null` or `""` clears it; a URL is verified first (a signed PING answered with
    /// `{"type": 1}`, a badly signed one refused with 401).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub interactions_endpoint_url: Option<Option<String>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AuthorizeBody {
    pub guild_id: Option<Snowflake>,
    #[serde(default, deserialize_with = "de_permissions")]
    #[schema(value_type = Option<crate::PermissionBits>)]
    pub permissions: Option<u64>,
    #[serde(default)]
    pub authorize: Option<bool>,
}
