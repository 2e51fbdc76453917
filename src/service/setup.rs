//! Account creation and the first administrator (issue 19, README "First start"): no
//! account becomes an instance administrator by registering. While none exists, `hearth
//! serve` prints a one-time setup token ([`Hearth::setup_token_if_no_admin`]), kept as its
//! SHA-256 in `setup_tokens` (migration 0018); the registration carrying it
//! (`setup_token`) or `POST /admin/setup` by a logged-in user spends it and makes that account
//! an administrator in one transaction. `hearth admin create-user --admin` makes one directly.

use super::auth::{random_token, token_hash};
use super::{Actor, Hearth};
use crate::error::{Error, FieldErrors, Result, field_error};
use crate::storage::{UserRow, is_unique_violation, now_ms};
use crate::wire;

/// Lifetime of the first start's setup token, ms (24 h; each start without an administrator
/// makes a new one).
pub const SETUP_TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;

/// How a new account may become an instance administrator.
pub(super) enum Grant {
    /// A plain account (registration).
    None,
    /// An administrator (`hearth admin create-user --admin`).
    Admin,
    /// An administrator if the setup token with this SHA-256 is valid (spent by the insert).
    SetupToken(String),
}

/// 400 50035 on `field`: the setup token is unknown, used or expired.
fn invalid_setup_token(field: &str) -> Error {
    field_error(
        field,
        "SETUP_TOKEN_INVALID",
        "This setup token is unknown, already used or expired.",
    )
}

impl Hearth {
    /// Creates a user with a password (`hearth admin create-user`); `admin = true` makes an
    /// instance administrator (and voids the setup token). No account becomes an
    /// administrator by being the first (README "First start").
    ///
    /// Errors: 400 50035 on `username` (format, taken), `password`, `email`.
    pub async fn create_user(
        &self,
        username: Option<&str>,
        password: Option<&str>,
        email: Option<String>,
        admin: bool,
    ) -> Result<UserRow> {
        let grant = if admin { Grant::Admin } else { Grant::None };
        self.create_user_granting(username, password, email, grant)
            .await
    }

    /// [`Hearth::create_user`] with the administrator grant `grant`.
    pub(super) async fn create_user_granting(
        &self,
        username: Option<&str>,
        password: Option<&str>,
        email: Option<String>,
        grant: Grant,
    ) -> Result<UserRow> {
        let mut errs = FieldErrors::new();
        let username = match username {
            Some(u) => Self::validate_username(u, &mut errs),
            None => {
                errs.add("username", "BASE_TYPE_REQUIRED", "This field is required");
                String::new()
            }
        };
        match password {
            Some(p) => Self::validate_password(p, &username, "password", &mut errs),
            None => errs.add("password", "BASE_TYPE_REQUIRED", "This field is required"),
        }
        if let Some(e) = &email
            && (e.len() > 254 || !e.contains('@'))
        {
            errs.add(
                "email",
                "EMAIL_TYPE_INVALID_EMAIL",
                "Not a well formed email address.",
            );
        }
        errs.into_result()?;
        let hash = self.hash_password(password.unwrap_or_default()).await?;
        let user = UserRow {
            id: self.next_id(),
            username,
            global_name: None,
            email,
            password_hash: Some(hash),
            avatar: None,
            bio: String::new(),
            bot: false,
            admin: !matches!(grant, Grant::None),
            suspended: false,
            dm_policy: 0,
            created_at: now_ms(),
            home_server: None,
            mfa_enabled: false,
            webauthn_enabled: false,
            banner: None,
            email_verified: false,
        };
        let taken = |e: sqlx::Error| {
            if is_unique_violation(&e) {
                field_error(
                    "username",
                    "USERNAME_ALREADY_TAKEN",
                    "Username is unavailable. Try adding numbers, letters, underscores _ , or periods.",
                )
            } else {
                e.into()
            }
        };
        match &grant {
            Grant::SetupToken(hash) => {
                if !self
                    .db
                    .insert_user_with_setup_token(&user, hash, now_ms())
                    .await
                    .map_err(taken)?
                {
                    return Err(invalid_setup_token("setup_token"));
                }
                tracing::warn!(user = %user.username, "the setup token was used: {} is an instance administrator now", user.username);
            }
            Grant::Admin => {
                self.db.insert_user(&user).await.map_err(taken)?;
                self.db.clear_setup_tokens().await?;
            }
            Grant::None => self.db.insert_user(&user).await.map_err(taken)?,
        }
        Ok(user)
    }

    /// First start (README "First start"): when no instance administrator exists, makes a
    /// new one-time setup token (replacing any earlier one), stores its SHA-256 and answers
    /// it, valid for [`SETUP_TOKEN_TTL_MS`]; `None` (and any stored token forgotten) when an
    /// administrator exists. `hearth serve` prints it in its log.
    pub async fn setup_token_if_no_admin(&self) -> Result<Option<String>> {
        if self.db.count_admins().await? > 0 {
            self.db.clear_setup_tokens().await?;
            return Ok(None);
        }
        let token = random_token();
        let now = now_ms();
        self.db
            .replace_setup_token(&token_hash(&token), now, now + SETUP_TOKEN_TTL_MS)
            .await?;
        Ok(Some(token))
    }

    /// `POST /admin/setup` `{token}`: the logged-in user becomes an instance administrator
    /// with the first start's setup token, which is then spent (single use).
    ///
    /// Errors: 400 50035 on `token` (`SETUP_TOKEN_INVALID`: missing, unknown, used or
    /// expired); 401 without a user token; bots and remote users are refused (50013).
    pub async fn claim_setup(&self, actor: &Actor, body: wire::SetupClaimBody) -> Result<()> {
        if actor.user.bot || actor.user.home_server.is_some() {
            return Err(Error::MissingPermissions);
        }
        let Some(token) = body.token else {
            return Err(invalid_setup_token("token"));
        };
        if !self
            .db
            .claim_setup_token(&token_hash(&token), now_ms(), actor.user.id)
            .await?
        {
            return Err(invalid_setup_token("token"));
        }
        tracing::warn!(user = %actor.user.username, "the setup token was used: {} is an instance administrator now", actor.user.username);
        Ok(())
    }
}
