//! Two-factor authentication shapes (Discord's MFA flow as its clients use it:
//! `POST /users/@me/mfa/totp/enable|disable`, `POST /users/@me/mfa/codes-verification`,
//! the `POST /auth/login` MFA answer and `POST /auth/mfa/totp|backup`).

use serde::{Deserialize, Serialize};

use crate::{Snowflake, TokenPair};

/// `POST /users/@me/mfa/totp/enable`: the base32 `secret` the client generated (16 to 103
/// characters, spaces ignored), a current `code` from it and the account `password`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct MfaEnableBody {
    pub secret: Option<String>,
    pub code: Option<String>,
    pub password: Option<String>,
}

/// A body carrying one code: `POST /users/@me/mfa/totp/disable` (a TOTP or backup code).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct MfaCodeBody {
    pub code: Option<String>,
}

/// `POST /users/@me/mfa/codes-verification`. Discord sends an emailed `key` and a `nonce`;
/// Hearth has no email yet and asks for the account `password` instead. Backup codes are
/// stored hashed, so they can only be regenerated (`regenerate` defaults to true).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct MfaCodesBody {
    pub password: Option<String>,
    pub regenerate: Option<bool>,
    pub key: Option<String>,
    pub nonce: Option<String>,
}

/// `POST /mfa/finish` (Discord's re-authentication, "sudo mode"): `mfa_type` is `password`,
/// `totp`, `backup` or `webauthn`, `data` the password, the code, or the passkey assertion
/// (a JSON string). `ticket` (from the 401 60003 answer) is needed for `webauthn` only (it
/// names the challenge); the proof is recorded on the caller's session.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct MfaFinishBody {
    pub ticket: Option<String>,
    pub mfa_type: Option<String>,
    pub data: Option<String>,
}

/// One backup code, as Discord shows it (`code`: 8 characters `[a-z0-9]`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupCode {
    pub user_id: Snowflake,
    pub code: String,
    pub consumed: bool,
}

/// Answer of `POST /users/@me/mfa/totp/enable`: a fresh access token for the caller's
/// session (other sessions are revoked) and the backup codes, shown only this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MfaEnabled {
    pub token: String,
    pub backup_codes: Vec<BackupCode>,
}

/// Answer of `POST /users/@me/mfa/codes-verification`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupCodes {
    pub backup_codes: Vec<BackupCode>,
}

/// Answer of `POST /users/@me/mfa/totp/disable`: a fresh access token.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MfaToken {
    pub token: String,
}

/// The `POST /auth/login` answer for an account with MFA: no token, a `ticket` to complete
/// with `POST /auth/mfa/totp` or `/auth/mfa/backup`, and the methods available.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MfaChallenge {
    /// Always `null` (Discord's shape).
    pub token: Option<String>,
    pub user_id: Snowflake,
    pub mfa: bool,
    pub sms: bool,
    pub ticket: String,
    pub backup: bool,
    pub totp: bool,
    /// When the user has passkeys: the WebAuthn request options as a JSON string
    /// (`{"publicKey": {...}}`) for `navigator.credentials.get`, answered with
    /// `POST /auth/mfa/webauthn` `{code: <the assertion as a JSON string>, ticket}`; else `null`.
    pub webauthn: Option<String>,
}

/// What `POST /auth/login` answers: tokens, or the MFA challenge.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Tokens(TokenPair),
    Mfa(MfaChallenge),
}

/// `POST /auth/mfa/totp` and `POST /auth/mfa/backup`: the login `ticket` and a `code`.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct MfaTicketBody {
    pub code: Option<String>,
    pub ticket: Option<String>,
    /// Sent by Discord clients; ignored.
    pub login_source: Option<String>,
    /// Sent by Discord clients; ignored.
    pub gift_code_sku_id: Option<String>,
}

/// `POST /guilds/{id}/mfa` (Discord "Modify Guild MFA Level"): `level` 0 or 1; answers
/// the same shape.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuildMfaLevel {
    pub level: u8,
}
