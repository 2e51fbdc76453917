//! Re-authentication for sensitive actions (issue 17; Discord's "sudo mode"): changing the
//! password or the email, deleting the account, resetting a bot token and transferring a
//! guild's ownership need the password or a second factor proven by the caller's session
//! within `account.reauth_window_seconds` (default
//! [`crate::config::REAUTH_WINDOW_SECONDS`], 5 minutes).
//!
//! - A login proves the password (and the second factor), so a session starts
//!   re-authenticated; `POST /mfa/finish` `{mfa_type, data}` proves it again later. The
//!   time is kept on the session row (`sessions.reauth_at`, migration 0013), so it ends with
//!   the session and holds for every process.
//! - Actions whose body carries the current `password` (`PATCH /users/@me`,
//!   `POST /users/@me/delete`) take that as the proof instead.
//! - Without a proof: 401 60003 "Two factor is required for this operation" with Discord's
//!   `mfa: {ticket: null, methods: [{type: "password"}, {type: "totp", ..}]}`.
//! - Bot tokens are not interactive and skip this check (their actions are the owner's
//!   choice of token; the owner's own sensitive actions are checked).
//! - Wrong passwords and codes at `/mfa/finish` count as login failures ([`super::backoff`])
//!   and against `mfa.attempts_per_account`.
//! - An account with passkeys may prove itself with one: the 401 answer then carries a
//!   `webauthn` method with its challenge and `mfa.ticket` ([`super::passkeys`]).
//! - Disabling MFA needs a current TOTP or backup code in its body, which is itself a second
//!   factor proven at that moment.

use std::net::IpAddr;

use super::{Actor, Hearth};
use crate::error::{Error, Result, Rule, field_error};
use crate::storage::now_ms;
use crate::wire;

impl Hearth {
    /// Refuses a sensitive action of `actor` without a recent proof: `password` (the body's
    /// current password, checked now) or the session's last proof within the window.
    ///
    /// # Errors
    /// 401 60003 ([`Error::ReauthRequired`]) without a proof; 400 50035 `password`
    /// PASSWORD_DOES_NOT_MATCH for a wrong one; 429 when the account's code checks are
    /// throttled.
    pub(super) async fn require_reauth(&self, actor: &Actor, password: Option<&str>) -> Result<()> {
        let Some(sid) = actor.session_id else {
            return Ok(());
        };
        if let Some(pw) = password {
            self.throttle_mfa(actor.user.id).await?;
            self.check_own_password(&actor.user, Some(pw)).await?;
            return self.db.mark_reauth(sid, now_ms()).await;
        }
        let window = (self.config.account.reauth_window_seconds as i64).saturating_mul(1000);
        match self.db.session_reauth_at(sid).await? {
            Some(at) if now_ms().saturating_sub(at) <= window => Ok(()),
            _ => Err(Error::ReauthRequired {
                totp: actor.user.mfa_enabled,
                webauthn: self
                    .passkey_challenge(&actor.user, "reauth", None)
                    .await?
                    .map(Box::new),
            }),
        }
    }

    /// `POST /mfa/finish` `{mfa_type: "password"|"totp"|"backup"|"webauthn", data,
    /// ticket}`: proves the password or a second factor for the caller's session; answers
    /// `{token}` (a fresh access token of the same session). For `webauthn`, `data` is the
    /// passkey assertion (a JSON string) answering the challenge of the 401 60003 answer
    /// whose `mfa.ticket` is `ticket`.
    ///
    /// # Errors
    /// 400 50035 (`mfa_type` not one of the four, `data` missing, `data`
    /// PASSWORD_DOES_NOT_MATCH), 60002 TOTP not enabled, 60006 unknown, used or expired
    /// passkey ticket, 60008 wrong code or refused assertion, 429 backoff or throttled,
    /// 20001 bot tokens.
    pub async fn mfa_finish(
        &self,
        actor: &Actor,
        body: wire::MfaFinishBody,
        ip: IpAddr,
    ) -> Result<wire::MfaToken> {
        let sid = Self::human_session(actor)?;
        let uid = actor.user.id;
        let data = body
            .data
            .ok_or_else(|| field_error("data", "BASE_TYPE_REQUIRED", "This field is required"))?;
        let account = Self::backoff_key(Some(uid), "");
        self.backoff_check(&account, Some(uid), ip).await?;
        let checked = match body.mfa_type.as_deref() {
            Some("password") => {
                self.throttle_mfa(uid).await?;
                self.check_own_password(&actor.user, Some(&data))
                    .await
                    .map_err(|_| {
                        field_error(
                            "data",
                            "PASSWORD_DOES_NOT_MATCH",
                            "Password does not match.",
                        )
                    })
            }
            Some("totp") => self.spend_totp(uid, &data).await,
            Some("backup") => self.spend_backup(uid, &data).await,
            Some("webauthn") => {
                self.spend_passkey(
                    uid,
                    "reauth",
                    body.ticket.as_deref(),
                    Some(serde_json::Value::String(data)),
                    "data",
                )
                .await
            }
            _ => {
                return Err(field_error(
                    "mfa_type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of ('password', 'totp', 'backup', 'webauthn').",
                ));
            }
        };
        if let Err(e) = checked {
            if matches!(e, Error::InvalidForm(_) | Error::Rule(Rule::InvalidMfaCode)) {
                self.backoff_fail(&account, ip).await;
            }
            return Err(e);
        }
        self.db.mark_reauth(sid, now_ms()).await?;
        Ok(wire::MfaToken {
            token: self.token_pair(uid, sid, String::new())?.token,
        })
    }
}
