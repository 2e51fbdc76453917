//! Two-factor authentication: TOTP (RFC 6238, `totp-rs`), backup codes, Discord's MFA login
//! flow and the guild MFA level (Discord "Resources > User" MFA routes as its clients call
//! them; "Guild Resource > MFA Level"; JSON error codes 60001-60008).
//!
//! - TOTP: SHA-1, 6 digits, 30 s steps, ±1 step accepted. A code is accepted at most once:
//!   `user_totp.last_step` only moves forward, by one conditional UPDATE, so a code (or any
//!   earlier one) is refused after a use, also under concurrency (RFC 6238 §5.2).
//! - Secrets are stored AES-256-GCM encrypted under a key derived (HKDF-SHA256, info
//!   `hearth.mfa.totp-secret.v1`) from the server secret that signs access tokens; the user
//!   id is the associated data, so a ciphertext moved to another account does not decrypt.
//! - Backup codes: 10 codes of 8 characters `[a-z0-9]` (~41 bits each), argon2id-hashed with
//!   their own salts, single-use (a conditional UPDATE marks a code consumed).
//! - Login: `POST /auth/login` for an MFA account answers a ticket (256 random bits, stored
//!   as SHA-256) valid `mfa.ticket_ttl_seconds` (300 s); `POST /auth/mfa/totp|backup` with
//!   the ticket and a code opens the session and deletes the ticket (single-use). A ticket
//!   dies after `mfa.ticket_max_failures` wrong codes; every code check is also throttled
//!   per account (`mfa.attempts_per_account`, a refilling bucket: no permanent lockout), and
//!   a wrong code at login counts as a login failure ([`super::backoff`]).

use std::net::IpAddr;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::{Rng, RngCore};
use serde_json::json;

use super::auth::{random_token, token_hash};
use super::throttles::IpThrottle;
use super::{Actor, Hearth, audit_action as A, change, to_value};
use crate::config::Config;
use crate::error::{Error, Result, Rule, Unknown, field_error};
use crate::events::{Control, Event};
use crate::permissions::{self as perm, Permissions};
use crate::ratelimit::KeyedLimiter;
use crate::snowflake::Snowflake;
use crate::storage::{Db, GuildRow, Lock, MfaTicketRow, UserRow, now_ms};
use crate::wire;

/// Backup codes made at a time (Discord: 10).
const BACKUP_CODES: usize = 10;

/// Keys and limiters of the MFA service.
pub struct MfaState {
    cipher: Aes256Gcm,
    pub(super) attempts: KeyedLimiter<i64>,
}

impl MfaState {
    pub async fn new(config: &Config, db: &Db) -> Result<MfaState> {
        // The same server secret as the access tokens (created on first use).
        let secret = db.secret("jwt_hs256", random_token).await?;
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, secret.as_bytes());
        let mut key = [0u8; 32];
        hk.expand(b"hearth.mfa.totp-secret.v1", &mut key)
            .map_err(|_| Error::internal("hkdf length"))?;
        Ok(MfaState {
            cipher: Aes256Gcm::new(&key.into()),
            attempts: KeyedLimiter::new(config.mfa.attempts_per_account, "user", false),
        })
    }

    fn encrypt(&self, user_id: i64, plain: &[u8]) -> Result<String> {
        self.seal(&user_id.to_string(), plain)
    }

    /// Seals `plain` under the server's secret-derived key, bound to `aad` (`v1.` + base64
    /// of nonce and ciphertext). Also seals applications' interaction signing keys.
    pub(super) fn seal(&self, aad: &str, plain: &[u8]) -> Result<String> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("totp secret encryption"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("v1.{}", STANDARD_NO_PAD.encode(out)))
    }

    fn decrypt(&self, user_id: i64, stored: &str) -> Result<Vec<u8>> {
        self.open(&user_id.to_string(), stored)
    }

    /// Opens what [`MfaState::seal`] sealed with the same `aad`.
    pub(super) fn open(&self, aad: &str, stored: &str) -> Result<Vec<u8>> {
        let raw = stored
            .strip_prefix("v1.")
            .and_then(|b| STANDARD_NO_PAD.decode(b).ok())
            .filter(|r| r.len() > 12)
            .ok_or_else(|| Error::internal("malformed stored totp secret"))?;
        let nonce: [u8; 12] = raw[..12].try_into().map_err(Error::internal)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &raw[12..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("totp secret does not decrypt"))
    }
}

/// 403 60003 when `missing` (the guild's MFA level is elevated and the account has no MFA)
/// and `need` holds a permission of [`perm::MFA_REQUIRED`].
pub(crate) fn check_level(missing: bool, need: Permissions) -> Result<()> {
    if missing && need & perm::MFA_REQUIRED != 0 {
        Err(Error::Rule(Rule::MfaRequired))
    } else {
        Ok(())
    }
}

/// A base32 secret (RFC 4648, case and spaces ignored) of 10 to 64 bytes: Discord's client
/// makes 16 characters (80 bits); RFC 4226 recommends 160 bits.
fn parse_secret(s: &str) -> Result<Vec<u8>> {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = totp_rs::Secret::try_from_base32(clean.trim_end_matches('='))
        .map_err(|_| Error::Rule(Rule::InvalidMfaSecret))?
        .as_bytes()
        .to_vec();
    if !(10..=64).contains(&bytes.len()) {
        return Err(Error::Rule(Rule::InvalidMfaSecret));
    }
    Ok(bytes)
}

/// The RFC 6238 parameters every authenticator app supports: SHA-1, 6 digits, 30 s, skew 1.
fn totp_of(secret: Vec<u8>) -> totp_rs::Totp {
    // `build` refuses secrets under 128 bits; Discord's 80-bit ones are checked by
    // `parse_secret` instead (the other parameters are the RFC's defaults).
    totp_rs::Builder::new()
        .with_secret(secret)
        .build_noncompliant()
}

/// The step a 6-digit code matches at the current time (±1 step), if any.
fn matching_step(secret: Vec<u8>, code: &str) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = (now_ms() / 1000).max(0) as u64;
    totp_of(secret).check(&code, now).map(|s| s as i64)
}

/// A backup code as typed: spaces and dashes dropped, lower case.
fn normalize_backup(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn required(field: &str) -> Error {
    field_error(field, "BASE_TYPE_REQUIRED", "This field is required")
}

impl Hearth {
    /// Whether `guild` asks for MFA and `user_id`'s account (a bot: its owner's) lacks it.
    pub(super) async fn mfa_missing(&self, guild: &GuildRow, user_id: i64) -> Result<bool> {
        if guild.mfa_level < 1 {
            return Ok(false);
        }
        Ok(!self.db.mfa_satisfied(user_id).await?)
    }

    /// Ten fresh backup codes: (plain codes, their `(id, argon2 hash)` rows).
    async fn new_backup_codes(&self) -> Result<(Vec<String>, Vec<(i64, String)>)> {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let plain: Vec<String> = (0..BACKUP_CODES)
            .map(|_| {
                let mut rng = rand::rng();
                (0..8)
                    .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                    .collect()
            })
            .collect();
        let mut rows = Vec::with_capacity(plain.len());
        for c in &plain {
            rows.push((self.next_id(), self.hash_password(c).await?));
        }
        Ok((plain, rows))
    }

    fn backup_wire(user_id: i64, codes: Vec<String>) -> Vec<wire::BackupCode> {
        codes
            .into_iter()
            .map(|code| wire::BackupCode {
                user_id: Snowflake::from_db(user_id),
                code,
                consumed: false,
            })
            .collect()
    }

    /// Checks a TOTP code of `user` and spends its step. Errors: 429 throttled, 60002 TOTP
    /// not enabled, 60008 wrong, out of window or already used.
    pub(super) async fn spend_totp(&self, user_id: i64, code: &str) -> Result<()> {
        self.throttle_mfa(user_id).await?;
        let row = self
            .db
            .totp(user_id)
            .await?
            .ok_or(Error::Rule(Rule::MfaDisabled))?;
        let secret = self.mfa.decrypt(user_id, &row.secret_enc)?;
        match matching_step(secret, code) {
            Some(step) if self.db.accept_totp_step(user_id, step).await? => Ok(()),
            _ => Err(Error::Rule(Rule::InvalidMfaCode)),
        }
    }

    /// Checks a backup code of `user` and marks it used. Errors: 429, 60008.
    pub(super) async fn spend_backup(&self, user_id: i64, code: &str) -> Result<()> {
        self.throttle_mfa(user_id).await?;
        let code = normalize_backup(code);
        if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::Rule(Rule::InvalidMfaCode));
        }
        for row in self.db.unused_backup_codes(user_id).await? {
            if self.verify_password(&code, &row.code_hash).await? {
                return if self.db.consume_backup_code(row.id).await? {
                    Ok(())
                } else {
                    Err(Error::Rule(Rule::InvalidMfaCode))
                };
            }
        }
        Err(Error::Rule(Rule::InvalidMfaCode))
    }

    pub(super) async fn check_own_password(&self, user: &UserRow, pw: Option<&str>) -> Result<()> {
        let (Some(pw), Some(stored)) = (pw, user.password_hash.as_deref()) else {
            return Err(required("password"));
        };
        if self.verify_password(pw, stored).await? {
            Ok(())
        } else {
            Err(field_error(
                "password",
                "PASSWORD_DOES_NOT_MATCH",
                "Password does not match.",
            ))
        }
    }

    pub(super) fn human_session(actor: &Actor) -> Result<i64> {
        match actor.session_id {
            Some(s) if !actor.is_bot() => Ok(s),
            _ => Err(Error::Rule(Rule::BotsCannotUse)),
        }
    }

    /// `POST /users/@me/mfa/totp/enable` `{secret, code, password}`: turns TOTP on, makes
    /// backup codes and revokes every other session of the user (one transaction).
    ///
    /// Errors: 50035 (missing field, `password` PASSWORD_DOES_NOT_MATCH), 60001 already
    /// enabled, 60005 bad secret, 60008 wrong code, 429 throttled, 20001 bots.
    pub async fn enable_totp(
        &self,
        actor: &Actor,
        body: wire::MfaEnableBody,
    ) -> Result<wire::MfaEnabled> {
        let sid = Self::human_session(actor)?;
        let uid = actor.user.id;
        if actor.user.mfa_enabled {
            return Err(Error::Rule(Rule::MfaEnabled));
        }
        self.check_own_password(&actor.user, body.password.as_deref())
            .await?;
        let secret = parse_secret(body.secret.as_deref().ok_or_else(|| required("secret"))?)?;
        let code = body.code.ok_or_else(|| required("code"))?;
        self.throttle_mfa(uid).await?;
        let step = matching_step(secret.clone(), &code).ok_or(Error::Rule(Rule::InvalidMfaCode))?;
        let enc = self.mfa.encrypt(uid, &secret)?;
        let (plain, rows) = self.new_backup_codes().await?;
        let revoked = self
            .db
            .enable_totp(
                uid,
                &enc,
                step,
                &rows,
                Some(sid),
                &self.actor_entry(actor, "mfa_enabled"),
            )
            .await?
            .ok_or(Error::Rule(Rule::MfaEnabled))?;
        self.control(Control::SessionsRevoked {
            user_id: actor.id(),
            sessions: Some(revoked.into_iter().map(Snowflake::from_db).collect()),
        });
        self.user_updated(uid).await?;
        self.notify(
            &actor.user,
            "Two-factor authentication enabled",
            "Two-factor authentication was turned on for your account; every other session was signed out.",
        );
        Ok(wire::MfaEnabled {
            token: self.token_pair(uid, sid, String::new())?.token,
            backup_codes: Self::backup_wire(uid, plain),
        })
    }

    /// `POST /users/@me/mfa/totp/disable` `{code}` (a TOTP or an unused backup code): turns
    /// TOTP off and drops the backup codes. Errors: 60002 not enabled, 60008, 429, 20001.
    pub async fn disable_totp(
        &self,
        actor: &Actor,
        body: wire::MfaCodeBody,
    ) -> Result<wire::MfaToken> {
        let sid = Self::human_session(actor)?;
        let uid = actor.user.id;
        if !actor.user.mfa_enabled {
            return Err(Error::Rule(Rule::MfaDisabled));
        }
        let code = body.code.ok_or_else(|| required("code"))?;
        let digits = code.chars().filter(|c| !c.is_whitespace()).count() == 6
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_whitespace());
        if digits {
            self.spend_totp(uid, &code).await?;
        } else {
            self.spend_backup(uid, &code).await?;
        }
        if !self
            .db
            .disable_totp(uid, &self.actor_entry(actor, "mfa_disabled"))
            .await?
        {
            return Err(Error::Rule(Rule::MfaDisabled));
        }
        self.user_updated(uid).await?;
        self.notify(
            &actor.user,
            "Two-factor authentication disabled",
            "Two-factor authentication was turned off for your account.",
        );
        Ok(wire::MfaToken {
            token: self.token_pair(uid, sid, String::new())?.token,
        })
    }

    /// `POST /users/@me/mfa/codes-verification` `{password, regenerate}`: new backup codes
    /// replacing the old ones. Codes are stored hashed, so `regenerate: false` (view) is
    /// refused with 50035. Errors: 60002 not enabled, 50035 password, 20001 bots.
    pub async fn regenerate_backup_codes(
        &self,
        actor: &Actor,
        body: wire::MfaCodesBody,
    ) -> Result<wire::BackupCodes> {
        Self::human_session(actor)?;
        if !actor.user.mfa_enabled {
            return Err(Error::Rule(Rule::MfaDisabled));
        }
        self.check_own_password(&actor.user, body.password.as_deref())
            .await?;
        if body.regenerate == Some(false) {
            return Err(field_error(
                "regenerate",
                "BASE_TYPE_CHOICES",
                "Backup codes are stored hashed; they can only be regenerated.",
            ));
        }
        let (plain, rows) = self.new_backup_codes().await?;
        self.db
            .replace_backup_codes(
                actor.user.id,
                &rows,
                &self.actor_entry(actor, "backup_codes_regenerated"),
            )
            .await?;
        Ok(wire::BackupCodes {
            backup_codes: Self::backup_wire(actor.user.id, plain),
        })
    }

    /// The `POST /auth/login` answer for an MFA account: a fresh single-use ticket; `totp`
    /// and `backup` when TOTP is on, `webauthn` (request options for the user's passkeys,
    /// stored under the same ticket) when the account has passkeys.
    pub(super) async fn mfa_challenge(
        &self,
        user: &UserRow,
        ip: IpAddr,
        user_agent: Option<String>,
    ) -> Result<wire::MfaChallenge> {
        let ticket = random_token();
        let now = now_ms();
        self.db
            .insert_mfa_ticket(
                &MfaTicketRow {
                    ticket_hash: token_hash(&ticket),
                    user_id: user.id,
                    expires_at: now + (self.config.mfa.ticket_ttl_seconds as i64) * 1000,
                    failures: 0,
                    ip: Some(ip.to_string()),
                    user_agent: user_agent.map(|u| u.chars().take(256).collect()),
                },
                now,
            )
            .await?;
        let webauthn = self
            .passkey_challenge(user, "mfa", Some(ticket.clone()))
            .await?
            .map(|(_, options)| options);
        Ok(wire::MfaChallenge {
            token: None,
            user_id: Snowflake::from_db(user.id),
            mfa: true,
            sms: false,
            ticket,
            backup: user.mfa_enabled,
            totp: user.mfa_enabled,
            webauthn,
        })
    }

    /// `POST /auth/mfa/totp` (`backup` false) or `/auth/mfa/backup` `{code, ticket}`:
    /// completes a login; answers what `POST /auth/login` answers without MFA.
    ///
    /// Errors: 60006 unknown, expired or used ticket; 60008 wrong code (counted against
    /// the ticket); 429 throttled; 403 40002 suspended.
    pub async fn login_mfa(
        &self,
        body: wire::MfaTicketBody,
        backup: bool,
        ip: IpAddr,
        user_agent: Option<String>,
    ) -> Result<wire::TokenPair> {
        self.throttle_ip(IpThrottle::Login, ip).await?;
        let ticket = body.ticket.ok_or_else(|| required("ticket"))?;
        let code = body.code.ok_or_else(|| required("code"))?;
        let hash = token_hash(&ticket);
        let t = self
            .db
            .mfa_ticket(&hash, now_ms())
            .await?
            .ok_or(Error::Rule(Rule::InvalidMfaTicket))?;
        let account = Self::backoff_key(Some(t.user_id), "");
        self.backoff_check(&account, Some(t.user_id), ip).await?;
        let checked = if backup {
            self.spend_backup(t.user_id, &code).await
        } else {
            self.spend_totp(t.user_id, &code).await
        };
        let method = if backup { "backup" } else { "totp" };
        self.finish_mfa_login(checked, t, &hash, &account, ip, user_agent, method)
            .await
    }

    /// The end of every second-factor login (`login_mfa`, `login_webauthn`), given the
    /// factor's verdict `checked` on ticket `t` (stored under `hash`): a wrong code (60008)
    /// counts against the backoff key `account` and the ticket; otherwise the ticket is taken
    /// (once: 60006 if another request took it) and a session opened, recorded as `method`.
    /// Errors: the verdict's; 60006; 403 40002 suspended.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish_mfa_login(
        &self,
        checked: Result<()>,
        t: MfaTicketRow,
        hash: &str,
        account: &str,
        ip: IpAddr,
        user_agent: Option<String>,
        method: &str,
    ) -> Result<wire::TokenPair> {
        if let Err(e) = checked {
            if matches!(e, Error::Rule(Rule::InvalidMfaCode)) {
                self.backoff_fail(account, ip).await;
                self.db
                    .fail_mfa_ticket(hash, self.config.mfa.ticket_max_failures.max(1) as i64)
                    .await?;
            }
            return Err(e);
        }
        self.backoff_succeed(account, ip).await;
        if !self.db.take_mfa_ticket(hash).await? {
            return Err(Error::Rule(Rule::InvalidMfaTicket));
        }
        let user = self
            .db
            .user(t.user_id)
            .await?
            .ok_or(Error::Rule(Rule::InvalidMfaTicket))?;
        if user.suspended {
            return Err(Error::Rule(Rule::Suspended));
        }
        self.open_session(&user, Some(ip), user_agent.or(t.user_agent), method)
            .await
    }

    /// `POST /guilds/{id}/mfa` `{level}` (Discord "Modify Guild MFA Level"): owner only, and
    /// the owner's account must have MFA. Errors: 50035 level not 0/1, 403 50001 not the
    /// owner (or a remote guild), 60003 owner without MFA.
    pub async fn set_guild_mfa_level(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::GuildMfaLevel,
        reason: Option<&str>,
    ) -> Result<wire::GuildMfaLevel> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        if !ga.is_owner() {
            return Err(Error::MissingAccess);
        }
        if body.level > 1 {
            return Err(field_error(
                "level",
                "BASE_TYPE_CHOICES",
                "Value must be one of (0, 1).",
            ));
        }
        if !self.db.mfa_satisfied(actor.user.id).await? {
            return Err(Error::Rule(Rule::MfaRequired));
        }
        let mut g = ga.guild.clone();
        let level = body.level as i64;
        if g.mfa_level != level {
            let audit = self.audit_row(
                g.id,
                actor,
                Some(g.id),
                A::GUILD_UPDATE,
                json!([change("mfa_level", g.mfa_level, level)]),
                None,
                reason,
            );
            g.mfa_level = level;
            let emojis = self.guild_emojis_wire(g.id).await?;
            let mut ch = self.db.change(Lock::Guild(g.id)).await?;
            ch.set_guild_mfa_level(g.id, level).await?;
            ch.audit(&audit).await?;
            self.commit_guild_update(ch, &g, emojis).await?;
        }
        Ok(body)
    }

    /// Tells the user's sessions their user object changed (`USER_UPDATE`).
    pub(super) async fn user_updated(&self, user_id: i64) -> Result<()> {
        let user = self
            .db
            .user(user_id)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        self.dispatch(
            Event::UserUpdate,
            crate::events::Audience::Users(vec![Snowflake::from_db(user_id)]),
            0,
            to_value(&self.user_wire(&user, true)),
        );
        Ok(())
    }
}
