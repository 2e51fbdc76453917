//! Recovery and email (issue 17): email verification, password reset by mail, and security
//! notices, all through the [`super::ports::Mailer`] port (SMTP, `crate::mail`).
//!
//! - Mail is optional. Without `mail.smtp_host`, `POST /auth/forgot`, `/auth/reset`,
//!   `/auth/verify` and `/auth/verify/resend` answer 400 50035 with the field error
//!   `email` `MAIL_DISABLED` ([`mail_disabled`]) and nothing is mailed; the operator's
//!   `hearth admin reset-password` still works.
//! - Tokens are 256 random bits, mailed once and stored only as SHA-256 in `account_tokens`
//!   (migration 0013), single-use (taken by one `DELETE .. RETURNING`), expiring after
//!   `account.reset_token_ttl_seconds` (1 h) or `account.verify_token_ttl_seconds` (24 h).
//!   A new token replaces the user's earlier ones of the same purpose.
//! - `POST /auth/forgot` answers 204 whether or not the login exists; the mail is sent in
//!   the background, so the answer's timing does not depend on it either. At most
//!   [`FORGOT_PER_LOGIN`] requests per login (existing or not) and the per-address login
//!   bucket apply.
//! - A reset sets the password, deletes every session with its revocation record (gateway
//!   sockets close with 4004, in any process) and writes the `password_reset` security log
//!   entry, in one transaction; a password the policy refuses leaves the token usable.
//! - Notices go to the account's address on a login from a new address and on security
//!   changes (password, email, two-factor, reset, deletion).

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use super::auth::{random_token, token_hash};
use super::ports::{Mail, Mailer};
use super::{Actor, Hearth};
use crate::config::Bucket;
use crate::error::{Error, FieldErrors, Result, Rule, field_error};
use crate::snowflake::Snowflake;
use crate::storage::{Taken, TokenPurpose, UserRow, now_ms};
use crate::wire;

/// `POST /auth/forgot` and `/auth/verify/resend` requests per login (or user) and hour.
pub const FORGOT_PER_LOGIN: Bucket = Bucket {
    limit: 5,
    per_seconds: 3600.0,
};

/// 400 50035 `email` MAIL_DISABLED: the answer of the mail flows when mail is off.
pub fn mail_disabled() -> Error {
    field_error(
        "email",
        "MAIL_DISABLED",
        "Mail is not configured on this server; ask an operator to reset your password (hearth admin reset-password).",
    )
}

fn required(field: &str) -> Error {
    field_error(field, "BASE_TYPE_REQUIRED", "This field is required")
}

impl Hearth {
    fn mailer(&self) -> Result<&Arc<dyn Mailer>> {
        self.mailer.as_ref().ok_or_else(mail_disabled)
    }

    /// Base of the links in mails: `account.public_url`, else `media.public_url`.
    fn link_base(&self) -> String {
        self.config
            .account
            .public_url
            .clone()
            .or_else(|| self.config.media.public_url.clone())
            .unwrap_or_else(|| format!("http://{}", self.config.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// Sends `mail` in the background when mail is on; a failure is logged.
    fn send_later(&self, mail: Mail) {
        if let Some(m) = self.mailer.clone() {
            let mut sends = self.mail_sends.lock();
            // Finished sends are reaped here, so the set holds only those under way.
            while sends.try_join_next().is_some() {}
            sends.spawn(async move {
                if let Err(e) = m.send(mail).await {
                    tracing::warn!(error = %e, "mail not sent");
                }
            });
        }
    }

    /// Waits (at most `within`) for the mails under way, e.g. before an operator command's
    /// process exits.
    pub async fn mail_sent(&self, within: std::time::Duration) {
        let mut sends = std::mem::take(&mut *self.mail_sends.lock());
        let all = async { while sends.join_next().await.is_some() {} };
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!("mail still under way at exit; not sent");
        }
    }

    /// A security notice to `user`'s address (when mail is on and the account has one).
    pub(super) fn notify(&self, user: &UserRow, subject: &str, what: &str) {
        let Some(to) = user.email.clone() else {
            return;
        };
        self.send_later(Mail {
            to,
            subject: format!("[{}] {subject}", self.config.server_name),
            body: format!(
                "Hello {},\n\n{what}\n\nIf this was not you, reset your password at {}/reset \
                 and review your sessions and security log.\n",
                user.username,
                self.link_base()
            ),
        });
    }

    /// Issues an email verification token for `email` of `user_id` and mails its link.
    pub(super) async fn send_verification(
        &self,
        user_id: i64,
        username: &str,
        email: &str,
    ) -> Result<()> {
        let token = random_token();
        let now = now_ms();
        let ttl = self.config.account.verify_token_ttl_seconds as i64;
        self.db
            .issue_account_token(
                &token_hash(&token),
                user_id,
                TokenPurpose::Verify,
                Some(email),
                now,
                now.saturating_add(ttl.saturating_mul(1000)),
            )
            .await?;
        self.send_later(Mail {
            to: email.to_owned(),
            subject: format!("[{}] Verify your email address", self.config.server_name),
            body: format!(
                "Hello {username},\n\nconfirm this address for your account: {}/verify#token={token}\n\n\
                 token: {token}\n\nThe link works once, for {} hours.\n",
                self.link_base(),
                ttl / 3600
            ),
        });
        Ok(())
    }

    /// `POST /auth/forgot` `{login}` -> 204, whether or not the login exists; mails a reset
    /// link to an existing account's address.
    ///
    /// Errors: 400 50035 `email` MAIL_DISABLED when mail is off, 50035 `login` missing, 429 throttled (same for every
    /// login).
    pub async fn forgot_password(&self, body: wire::ForgotBody, ip: IpAddr) -> Result<()> {
        self.mailer()?;
        let login = body.login.ok_or_else(|| required("login"))?;
        self.auth.login_ip.check(&ip)?;
        let key = login.trim().to_lowercase();
        self.auth.forgot.check(&format!("l:{key}"))?;
        let Some(user) = self.db.user_by_login(&key).await? else {
            return Ok(());
        };
        let Some(email) = user.email.clone().filter(|_| user.password_hash.is_some()) else {
            return Ok(());
        };
        let token = random_token();
        let now = now_ms();
        let ttl = self.config.account.reset_token_ttl_seconds as i64;
        self.db
            .issue_account_token(
                &token_hash(&token),
                user.id,
                TokenPurpose::Reset,
                None,
                now,
                now.saturating_add(ttl.saturating_mul(1000)),
            )
            .await?;
        self.send_later(Mail {
            to: email,
            subject: format!("[{}] Reset your password", self.config.server_name),
            body: format!(
                "Hello {},\n\nsomeone (from {ip}) asked to reset the password of your account. \
                 To choose a new one: {}/reset#token={token}\n\ntoken: {token}\n\nThe link works once, \
                 for {} minutes. If this was not you, ignore this mail.\n",
                user.username,
                self.link_base(),
                ttl / 60
            ),
        });
        Ok(())
    }

    /// `POST /auth/reset` `{token, password}` -> 204: sets the password and ends every
    /// session of the account (one transaction; gateway sockets close with 4004).
    ///
    /// Errors: 400 50035 `email` MAIL_DISABLED when mail is off; 400 50014 unknown, used or expired token; 50035 missing
    /// field or a password the policy refuses (the token stays usable); 429 throttled.
    pub async fn reset_password(&self, body: wire::ResetBody, ip: IpAddr) -> Result<()> {
        self.mailer()?;
        self.auth.login_ip.check(&ip)?;
        let (Some(token), Some(password)) = (body.token, body.password) else {
            let mut f = FieldErrors::new();
            f.add("token", "BASE_TYPE_REQUIRED", "This field is required");
            f.add("password", "BASE_TYPE_REQUIRED", "This field is required");
            return Err(Error::InvalidForm(f));
        };
        let hash = token_hash(&token);
        if let Some(uid) = self
            .db
            .account_token_user(&hash, TokenPurpose::Reset, now_ms())
            .await?
            && let Some(u) = self.db.user(uid).await?
        {
            let mut errs = FieldErrors::new();
            Self::validate_password(&password, &u.username, "password", &mut errs);
            errs.into_result()?;
        }
        let h = self.hash_password(&password).await?;
        let log = self.security_entry(0, "password_reset", Some(ip), None, json!({"by": "mail"}));
        match self
            .db
            .reset_password_by_token(&hash, &h, now_ms(), &log)
            .await?
        {
            Taken::Done { user_id, revoked } => {
                self.revoked(user_id, revoked);
                if let Some(u) = self.db.user(user_id).await? {
                    self.notify(
                        &u,
                        "Your password was reset",
                        "The password of your account was reset by mail; every session was signed out.",
                    );
                }
                Ok(())
            }
            Taken::Unknown | Taken::Expired => Err(Error::Rule(Rule::InvalidAccountToken)),
        }
    }

    /// `POST /auth/verify` `{token}` -> 204: marks the address the token was mailed to as
    /// verified (if it is still the account's).
    ///
    /// Errors: 400 50035 `email` MAIL_DISABLED when mail is off; 400 50014 unknown, used, expired or replaced token.
    pub async fn verify_email(&self, body: wire::VerifyBody) -> Result<()> {
        self.mailer()?;
        let token = body.token.ok_or_else(|| required("token"))?;
        let log = self.security_entry(0, "email_verified", None, None, json!({}));
        match self
            .db
            .verify_email_by_token(&token_hash(&token), now_ms(), &log)
            .await?
        {
            Taken::Done { user_id, .. } => self.user_updated(user_id).await,
            Taken::Unknown | Taken::Expired => Err(Error::Rule(Rule::InvalidAccountToken)),
        }
    }

    /// `POST /auth/verify/resend` -> 204: a new verification mail to the caller's address.
    ///
    /// Errors: 400 50035 `email` MAIL_DISABLED when mail is off; 50035 `email` when the account has none; 429; 20001 bots.
    pub async fn resend_verification(&self, actor: &Actor) -> Result<()> {
        self.mailer()?;
        Self::human_session(actor)?;
        let Some(email) = actor.user.email.clone() else {
            return Err(required("email"));
        };
        self.auth
            .forgot
            .check(&format!("u:{}", Snowflake::from_db(actor.user.id)))?;
        self.send_verification(actor.user.id, &actor.user.username, &email)
            .await
    }
}
