//! Passkey (WebAuthn) shapes: Discord's credential routes
//! (`/users/@me/mfa/webauthn/credentials`, `POST /auth/mfa/webauthn`) and Hearth's
//! passwordless login (`POST /auth/passkey/start|finish`). spec/account.md §7.
//!
//! WebAuthn options and credentials travel as JSON *strings* where Discord's clients send
//! strings (`challenge`, the `code` of `POST /auth/mfa/webauthn`, `data` of `/mfa/finish`);
//! bodies that take a credential accept it as a JSON string or as the object itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Snowflake;

/// A registered passkey as listed (`GET /users/@me/mfa/webauthn/credentials`); never the key.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebauthnCredential {
    pub id: Snowflake,
    /// The user's name for it (1-32 characters).
    pub name: String,
    /// Discord's credential type: 1 (WebAuthn).
    #[serde(rename = "type")]
    pub kind: u8,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601 of the last login or re-authentication with it; `null` before.
    pub last_used_at: Option<String>,
    /// The authenticator may sync it to other devices (a "multi-device" passkey).
    pub backup_eligible: bool,
    /// It is backed up (synced) now, as the authenticator last said.
    pub backed_up: bool,
}

/// `POST /users/@me/mfa/webauthn/credentials` (both steps) and `POST /auth/passkey/finish`:
/// step one is `{}`; step two carries the `ticket` of step one, the `credential` the
/// browser made (`navigator.credentials.create`/`get` as JSON: base64url binary fields) and,
/// when registering, its `name`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct WebauthnCredentialBody {
    pub name: Option<String>,
    pub ticket: Option<String>,
    /// A JSON string or the object itself.
    pub credential: Option<Value>,
}

/// `PATCH /users/@me/mfa/webauthn/credentials/{id}` `{name}`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct WebauthnRenameBody {
    pub name: Option<String>,
}

/// A started ceremony: the `ticket` to send back with its answer, and `challenge`, the
/// WebAuthn options as a JSON string (`{"publicKey": {...}}`, binary fields base64url) for
/// `navigator.credentials.create` (registration) or `.get` (login).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebauthnChallenge {
    pub ticket: String,
    pub challenge: String,
}
