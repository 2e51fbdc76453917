//! Applications and bot authorization (Discord "Resources > Application", "Topics > OAuth2").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Snowflake, User, de_permissions};

/// Application object ("Resources > Application").
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
