//! Accounts and authentication: registration, login, refresh-token rotation, sessions,
//! bot tokens, password changes.
//!
//! - Access tokens are HS256 JWTs (`sub` user id, `sid` session id, `exp`), valid for
//!   `access_token_ttl_seconds` (a longer `exp - iat` is refused even when signed with our
//!   key), and checked against the session store on every request, so revocation is
//!   immediate; revocations are recorded for the gateway of any process
//!   ([`super::revocations`]).
//! - Refresh tokens are 256-bit random strings, stored as SHA-256, rotated on each use;
//!   presenting an already rotated one revokes its whole session (theft detection).
//! - Passwords are argon2id (OWASP parameters by default), hashed on blocking threads behind
//!   a semaphore so a login storm cannot stall the async workers.
//! - Login throttling: a token bucket per client IP (`rate_limits.login_per_ip`), and an
//!   exponential backoff after failures per (account, IP), per IP and per account
//!   ([`super::backoff`]), which never locks the owner out.

use std::net::IpAddr;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::backoff::Backoff;
use super::images::ImageKind;
use super::setup::Grant;
use super::throttles::IpThrottle;
use super::{Actor, Hearth};
use crate::config::{Config, RegistrationPolicy};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Control, Event};
use crate::ratelimit::KeyedLimiter;
use crate::snowflake::Snowflake;
use crate::storage::{Db, SessionRow, SessionSet, UserPatch, UserRow, is_unique_violation, now_ms};
use crate::wire;

/// Secrets and limiters of the auth service.
pub struct AuthState {
    enc: EncodingKey,
    dec: DecodingKey,
    argon: Argon2<'static>,
    hash_slots: Arc<Semaphore>,
    /// A hash of a random password, verified against when the login does not exist so that
    /// timing does not reveal which accounts exist.
    dummy_hash: String,
    pub(crate) register_ip: KeyedLimiter<IpAddr>,
    pub(crate) login_ip: KeyedLimiter<IpAddr>,
    pub(super) backoff: Backoff,
    /// A cluster's login-backoff counters ([`Hearth::share_backoff`]), used instead.
    pub(super) shared_backoff: std::sync::OnceLock<crate::cluster::RedisBackoff>,
    /// Reset and verification mails per login (`super::recovery::FORGOT_PER_LOGIN`).
    pub(super) forgot: KeyedLimiter<String>,
}

/// Clock skew tolerated on access tokens' `exp` and `iat`, and on their lifetime, seconds.
pub const TOKEN_LEEWAY_SECONDS: u64 = 5;
/// Usernames starting with this are kept for deleted accounts (`deleted_user_<hex id>`,
/// [`super::deletion::anonymised_name`]), here and in the handles other servers see.
pub const RESERVED_USERNAME_PREFIX: &str = "deleted_user";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: u64,
    exp: u64,
}

/// Random URL-safe token of 32 bytes.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 hex of a token (what is stored).
pub fn token_hash(t: &str) -> String {
    hex::encode(Sha256::digest(t.as_bytes()))
}

/// Whether `t`'s SHA-256 hex is `stored`, compared in constant time (`subtle`): how long
/// the comparison takes says nothing about where the digests differ.
pub fn token_hash_matches(t: &str, stored: &str) -> bool {
    use subtle::ConstantTimeEq;
    let h = token_hash(t);
    h.len() == stored.len() && bool::from(h.as_bytes().ct_eq(stored.as_bytes()))
}

impl AuthState {
    pub async fn new(config: &Config, db: &Db) -> Result<AuthState> {
        let secret = db.secret("jwt_hs256", random_token).await?;
        let ph = &config.password_hashing;
        let params = Params::new(ph.memory_kib, ph.iterations, ph.parallelism, None)
            .map_err(Error::internal)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon
            .hash_password(random_token().as_bytes())
            .map_err(Error::internal)?
            .to_string();
        let rl = &config.rate_limits;
        Ok(AuthState {
            enc: EncodingKey::from_secret(secret.as_bytes()),
            dec: DecodingKey::from_secret(secret.as_bytes()),
            argon,
            hash_slots: Arc::new(Semaphore::new(ph.max_concurrent.max(1))),
            dummy_hash,
            register_ip: KeyedLimiter::new(rl.register_per_ip, "user", false),
            login_ip: KeyedLimiter::new(rl.login_per_ip, "user", false),
            backoff: Backoff::new(rl.login_backoff.clone()),
            shared_backoff: std::sync::OnceLock::new(),
            forgot: KeyedLimiter::new(super::recovery::FORGOT_PER_LOGIN, "user", false),
        })
    }
}

impl Hearth {
    /// Creates the local row of a remote user `name@server` from a profile object
    /// (`global_name`, `avatar`, `bot`); if a concurrent request created it first, that row.
    pub async fn insert_remote_user(
        &self,
        name: &str,
        server: &str,
        profile: &serde_json::Value,
    ) -> Result<UserRow> {
        let u = UserRow {
            id: self.next_id(),
            username: name.to_lowercase(),
            global_name: profile["global_name"].as_str().map(str::to_string),
            email: None,
            password_hash: None,
            avatar: profile["avatar"].as_str().map(str::to_string),
            bio: String::new(),
            bot: profile["bot"].as_bool().unwrap_or(false),
            admin: false,
            suspended: false,
            dm_policy: 0,
            created_at: now_ms(),
            home_server: Some(server.to_lowercase()),
            mfa_enabled: false,
            webauthn_enabled: false,
            banner: None,
            email_verified: false,
        };
        match self.db.insert_user(&u).await {
            Ok(()) => Ok(u),
            Err(_) => self
                .db
                .remote_user(server, name)
                .await?
                .ok_or_else(|| Error::internal("remote user vanished")),
        }
    }

    /// Hashes a password with argon2id on a blocking thread, at most `max_concurrent` at once.
    pub async fn hash_password(&self, pw: &str) -> Result<String> {
        let _slot = self
            .auth
            .hash_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        let argon = self.auth.argon.clone();
        let pw = pw.to_owned();
        tokio::task::spawn_blocking(move || {
            argon.hash_password(pw.as_bytes()).map(|h| h.to_string())
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)
    }

    /// Verifies a password against a stored PHC string (blocking thread, bounded).
    pub async fn verify_password(&self, pw: &str, stored: &str) -> Result<bool> {
        let _slot = self
            .auth
            .hash_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        let argon = self.auth.argon.clone();
        let pw = pw.to_owned();
        let stored = stored.to_owned();
        tokio::task::spawn_blocking(move || {
            let Ok(h) = stored.parse::<PasswordHash>() else {
                return false;
            };
            argon.verify_password(pw.as_bytes(), &h).is_ok()
        })
        .await
        .map_err(Error::internal)
    }

    /// Validates a username: 2-32 characters of `[a-z0-9_.]` (input is lower-cased first), not
    /// starting with [`RESERVED_USERNAME_PREFIX`] (50035 `USERNAME_INVALID`).
    pub fn validate_username(name: &str, errs: &mut FieldErrors) -> String {
        let n = name.trim().to_lowercase();
        let len = n.chars().count();
        if !(2..=32).contains(&len) {
            errs.add(
                "username",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 2 and 32 in length.",
            );
        } else if !n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        {
            errs.add(
                "username",
                "USERNAME_INVALID_CHARACTERS",
                "Username can only contain letters a-z, digits, underscores and periods.",
            );
        } else if n.starts_with(RESERVED_USERNAME_PREFIX) {
            errs.add(
                "username",
                "USERNAME_INVALID",
                "This username is reserved for deleted accounts.",
            );
        }
        n
    }

    pub(super) fn validate_password(pw: &str, username: &str, field: &str, errs: &mut FieldErrors) {
        let len = pw.chars().count();
        if len < 8 {
            errs.add(
                field,
                "PASSWORD_TOO_SHORT",
                "Must be at least 8 characters long.",
            );
        } else if len > 256 {
            errs.add(
                field,
                "BASE_TYPE_MAX_LENGTH",
                "Must be 256 or fewer in length.",
            );
        } else if pw.to_lowercase() == username.to_lowercase() {
            errs.add(
                field,
                "PASSWORD_EQUALS_USERNAME",
                "Password must not be your username.",
            );
        }
    }

    /// Creates an account (`POST /auth/register`) and a login session.
    ///
    /// Errors: 50035 (username/password policy, taken username), 403 registration closed,
    /// 429 per-IP registration limit.
    pub async fn register(
        &self,
        body: wire::RegisterBody,
        ip: IpAddr,
        user_agent: Option<String>,
    ) -> Result<wire::TokenPair> {
        self.throttle_ip(IpThrottle::Register, ip).await?;
        // A setup token (first start) admits its holder whatever the policy: an invite-only
        // or closed server has no one yet to invite or create accounts.
        if body.setup_token.is_none() {
            match self.config.registration {
                RegistrationPolicy::Open => {}
                RegistrationPolicy::Closed => return Err(Error::Rule(Rule::RegistrationClosed)),
                RegistrationPolicy::InviteOnly => {
                    let ok = match &body.invite {
                        Some(code) => self.valid_invite(code).await?.is_some(),
                        None => false,
                    };
                    if !ok {
                        return Err(Error::Rule(Rule::RegistrationClosed));
                    }
                }
            }
        }
        let grant = match &body.setup_token {
            Some(t) => Grant::SetupToken(token_hash(t)),
            None => Grant::None,
        };
        let user = self
            .create_user_granting(
                body.username.as_deref(),
                body.password.as_deref(),
                body.email,
                grant,
            )
            .await?;
        if let Some(e) = &user.email
            && self.mailer.is_some()
        {
            self.send_verification(user.id, &user.username, e).await?;
        }
        self.open_session(&user, Some(ip), user_agent, "register")
            .await
    }

    /// `POST /auth/login`. Answers tokens, or for an account with two-factor on, Discord's
    /// MFA challenge with a ticket (see `service::mfa`). Errors: 50035 INVALID_LOGIN (same
    /// for unknown user and wrong password), 429 when throttled, 403 suspended.
    pub async fn login(
        &self,
        body: wire::LoginBody,
        ip: IpAddr,
        user_agent: Option<String>,
    ) -> Result<wire::LoginAnswer> {
        let (Some(login), Some(password)) = (body.login, body.password) else {
            let mut f = FieldErrors::new();
            f.add("login", "BASE_TYPE_REQUIRED", "This field is required");
            f.add("password", "BASE_TYPE_REQUIRED", "This field is required");
            return Err(Error::InvalidForm(f));
        };
        let key = login.trim().to_lowercase();
        self.throttle_ip(IpThrottle::Login, ip).await?;
        let user = self.db.user_by_login(&key).await?;
        let account = Self::backoff_key(user.as_ref().map(|u| u.id), &key);
        self.backoff_check(&account, user.as_ref().map(|u| u.id), ip)
            .await?;
        let stored = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.auth.dummy_hash.clone());
        let ok = self.verify_password(&password, &stored).await?;
        let user = match (user, ok) {
            (Some(u), true) if u.password_hash.is_some() => u,
            _ => {
                self.backoff_fail(&account, ip).await;
                return Err(Error::InvalidLogin);
            }
        };
        self.backoff_succeed(&account, ip).await;
        if user.suspended {
            return Err(Error::Rule(Rule::Suspended));
        }
        if user.mfa_enabled || (user.webauthn_enabled && self.passkeys_enabled()) {
            return Ok(wire::LoginAnswer::Mfa(
                self.mfa_challenge(&user, ip, user_agent).await?,
            ));
        }
        Ok(wire::LoginAnswer::Tokens(
            self.open_session(&user, Some(ip), user_agent, "password")
                .await?,
        ))
    }

    /// Opens a login session of `user` (after the password, and the second factor if any,
    /// were proven: `method` is `register`, `password`, `totp`, `backup`, `webauthn` (a
    /// passkey as second factor) or `passkey` (passwordless)), with its `login`
    /// security log entry in the same transaction. A login from an address the account has
    /// never logged in from sends a notice mail (when mail is on and the account has an email).
    pub(super) async fn open_session(
        &self,
        user: &UserRow,
        ip: Option<IpAddr>,
        user_agent: Option<String>,
        method: &str,
    ) -> Result<wire::TokenPair> {
        let refresh = random_token();
        let now = now_ms();
        let user_agent: Option<String> = user_agent.map(|u| u.chars().take(256).collect());
        let new_address = match ip {
            Some(ip) if method != "register" => {
                !self.db.logged_in_from(user.id, &ip.to_string()).await?
            }
            _ => false,
        };
        let s = SessionRow {
            id: self.next_id(),
            user_id: user.id,
            refresh_hash: token_hash(&refresh),
            created_at: now,
            refreshed_at: now,
            ip: ip.map(|i| i.to_string()),
            user_agent: user_agent.clone(),
        };
        let log = self.security_entry(
            user.id,
            "login",
            ip,
            user_agent.as_deref(),
            serde_json::json!({
                "session_id": Snowflake::from_db(s.id),
                "method": method,
                "new_address": new_address,
            }),
        );
        self.db.insert_session_logged(&s, &log).await?;
        if new_address {
            let what = format!(
                "A new login to your account from {} ({}).",
                s.ip.as_deref().unwrap_or("an unknown address"),
                user_agent.as_deref().unwrap_or("unknown client")
            );
            self.notify(user, "New login to your account", &what);
        }
        self.token_pair(user.id, s.id, refresh)
    }

    pub(super) fn token_pair(
        &self,
        user_id: i64,
        session_id: i64,
        refresh: String,
    ) -> Result<wire::TokenPair> {
        let now = (now_ms() / 1000) as u64;
        let ttl = self.config.access_token_ttl_seconds;
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iat: now,
            exp: now + ttl,
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &self.auth.enc)
            .map_err(Error::internal)?;
        Ok(wire::TokenPair {
            user_id: Snowflake::from_db(user_id),
            token,
            refresh_token: refresh,
            expires_in: ttl,
            session_id: Snowflake::from_db(session_id),
        })
    }

    /// `POST /auth/refresh`: rotates the refresh token. Errors: 401 for an unknown, expired
    /// or already used token; a reused token also revokes its session.
    pub async fn refresh(&self, body: wire::RefreshBody) -> Result<wire::TokenPair> {
        let Some(rt) = body.refresh_token else {
            return Err(field_error(
                "refresh_token",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let h = token_hash(&rt);
        let now = now_ms();
        match self.db.session_by_refresh(&h).await? {
            Some(s) => {
                if s.refreshed_at + (self.config.refresh_token_ttl_seconds as i64) * 1000 < now {
                    self.db.delete_session(s.user_id, s.id).await?;
                    return Err(Error::Unauthorized);
                }
                let user = self.db.user(s.user_id).await?.ok_or(Error::Unauthorized)?;
                if user.suspended {
                    return Err(Error::Rule(Rule::Suspended));
                }
                let new = random_token();
                if !self
                    .db
                    .rotate_refresh(s.id, &h, &token_hash(&new), now)
                    .await?
                {
                    // Lost a race with a concurrent refresh of the same token: that is reuse.
                    self.revoke_sessions(s.user_id, Some(vec![s.id]), "refresh_reuse")
                        .await?;
                    return Err(Error::Unauthorized);
                }
                self.token_pair(s.user_id, s.id, new)
            }
            None => {
                if let Some(sid) = self.db.spent_refresh(&h).await?
                    && let Some(s) = self.db.session(sid).await?
                {
                    tracing::warn!(
                        session = sid,
                        user = s.user_id,
                        "refresh token reuse: revoking session"
                    );
                    self.revoke_sessions(s.user_id, Some(vec![sid]), "refresh_reuse")
                        .await?;
                }
                Err(Error::Unauthorized)
            }
        }
    }

    /// Deletes sessions (all of the user's when `ids` is `None`), recording the revocation
    /// in the same transaction (see [`super::revocations`]), and tells this process's gateway.
    /// `reason` goes into the `sessions_revoked` security log entry (`logout`,
    /// `session_deleted`, `refresh_reuse`, `suspended` ...).
    pub async fn revoke_sessions(
        &self,
        user_id: i64,
        ids: Option<Vec<i64>>,
        reason: &str,
    ) -> Result<()> {
        let which = match &ids {
            Some(ids) => SessionSet::Only(ids),
            None => SessionSet::AllExcept(None),
        };
        let count = ids.as_ref().map(|i| i.len());
        let log = self.security_entry(
            user_id,
            "sessions_revoked",
            None,
            None,
            serde_json::json!({"reason": reason, "sessions": count.map_or("all".into(), |c| c.to_string())}),
        );
        let revoked = self
            .db
            .revoke_sessions_recorded(user_id, which, None, now_ms(), Some(&log))
            .await?;
        match ids {
            Some(_) => self.revoked(user_id, revoked),
            // All of them: also a bot's gateway connections, which have no login session.
            None => self.control(Control::SessionsRevoked {
                user_id: Snowflake::from_db(user_id),
                sessions: None,
            }),
        }
        Ok(())
    }

    /// Publishes the revocation of `sessions` of `user_id` on this process's bus.
    pub(super) fn revoked(&self, user_id: i64, sessions: Vec<i64>) {
        self.control(Control::SessionsRevoked {
            user_id: Snowflake::from_db(user_id),
            sessions: Some(sessions.into_iter().map(Snowflake::from_db).collect()),
        });
    }

    /// Resolves an `Authorization` header value: `Bearer <jwt>`, `Bot <token>`, or a bare
    /// JWT (Discord user clients send tokens without a prefix).
    ///
    /// Errors: 401 for anything invalid, expired or revoked; 403 40002 for suspended users.
    pub async fn authenticate(&self, header: &str) -> Result<Actor> {
        let header = header.trim();
        if let Some(tok) = header.strip_prefix("Bot ") {
            let user = self
                .db
                .bot_user_by_token(&token_hash(tok.trim()))
                .await?
                .ok_or(Error::Unauthorized)?;
            if user.suspended {
                return Err(Error::Rule(Rule::Suspended));
            }
            return Ok(Actor {
                user,
                session_id: None,
            });
        }
        let jwt = header.strip_prefix("Bearer ").unwrap_or(header).trim();
        let (user_id, sid) = self.decode_access(jwt)?;
        // The session row (revocation is immediate) joined with its user: one statement.
        let user = self
            .db
            .session_user(sid)
            .await?
            .ok_or(Error::Unauthorized)?;
        if user.id != user_id {
            return Err(Error::Unauthorized);
        }
        if user.suspended {
            return Err(Error::Rule(Rule::Suspended));
        }
        Ok(Actor {
            user,
            session_id: Some(sid),
        })
    }

    /// Checks a JWT's signature, expiry and lifetime; returns (user id, session id).
    ///
    /// A token whose lifetime `exp - iat` exceeds `access_token_ttl_seconds` (plus
    /// [`TOKEN_LEEWAY_SECONDS`]), or that claims to be issued in the future, is refused even
    /// when its signature is valid: a leaked signing key cannot mint long-lived tokens, and
    /// lowering the configured lifetime also shortens the tokens already issued.
    ///
    /// # Errors
    /// 401 for a bad signature, an expired token, a lifetime over the limit, or bad claims.
    pub fn decode_access(&self, jwt: &str) -> Result<(i64, i64)> {
        let v = Validation {
            leeway: TOKEN_LEEWAY_SECONDS,
            ..Default::default()
        };
        let data = jsonwebtoken::decode::<Claims>(jwt, &self.auth.dec, &v)
            .map_err(|_| Error::Unauthorized)?;
        let now = (now_ms() / 1000) as u64;
        let (iat, exp) = (data.claims.iat, data.claims.exp);
        if exp.saturating_sub(iat) > self.config.access_token_ttl_seconds + TOKEN_LEEWAY_SECONDS
            || iat > now + TOKEN_LEEWAY_SECONDS
        {
            return Err(Error::Unauthorized);
        }
        let uid = data
            .claims
            .sub
            .parse::<i64>()
            .map_err(|_| Error::Unauthorized)?;
        let sid = data
            .claims
            .sid
            .parse::<i64>()
            .map_err(|_| Error::Unauthorized)?;
        Ok((uid, sid))
    }

    /// `POST /auth/logout`: ends the caller's session.
    pub async fn logout(&self, actor: &Actor) -> Result<()> {
        let Some(sid) = actor.session_id else {
            return Err(Error::Rule(Rule::BotsCannotUse));
        };
        self.revoke_sessions(actor.user.id, Some(vec![sid]), "logout")
            .await
    }

    /// `GET /auth/sessions`.
    pub async fn list_sessions(&self, actor: &Actor) -> Result<Vec<wire::AuthSession>> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        Ok(self
            .db
            .sessions_of(actor.user.id)
            .await?
            .into_iter()
            .map(|s| wire::AuthSession {
                id: Snowflake::from_db(s.id),
                created_at: wire::iso(s.created_at),
                last_refreshed_at: wire::iso(s.refreshed_at),
                ip: s.ip,
                user_agent: s.user_agent,
                current: Some(s.id) == actor.session_id,
            })
            .collect())
    }

    /// `DELETE /auth/sessions/{id}`. Errors: 404 Unknown Session.
    pub async fn delete_session(&self, actor: &Actor, id: Snowflake) -> Result<()> {
        if self
            .db
            .session(id.db())
            .await?
            .is_none_or(|s| s.user_id != actor.user.id)
        {
            return Err(Error::Unknown(Unknown::Session));
        }
        self.revoke_sessions(actor.user.id, Some(vec![id.db()]), "session_deleted")
            .await
    }

    /// `PATCH /users/@me`: profile fields; a password change needs `password` (current) and
    /// `new_password`, and revokes every other session.
    ///
    /// A new username, display name or avatar is announced to the user's guilds in the
    /// background ([`Hearth::profile_changed`]), after the answer.
    pub async fn modify_me(
        self: &Arc<Self>,
        actor: &Actor,
        body: wire::ModifyMeBody,
    ) -> Result<wire::User> {
        let mut errs = FieldErrors::new();
        let mut patch = UserPatch::default();
        if let Some(u) = &body.username {
            let name = Self::validate_username(u, &mut errs);
            if name != actor.user.username && self.config.federation.enabled {
                // spec/federation.md §5.1: the handle `username@server` is the user's
                // identity on every server; it never changes while this server federates.
                errs.add(
                    "username",
                    "USERNAME_IMMUTABLE",
                    "Usernames cannot be changed on a server that federates: your username is \
                     your identity on other servers. Change your display name instead.",
                );
            }
            patch.username = Some(name);
        }
        if let Some(g) = body.global_name {
            if let Some(g) = &g
                && !(1..=32).contains(&g.chars().count())
            {
                errs.add(
                    "global_name",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 32 in length.",
                );
            }
            patch.global_name = Some(g);
        }
        if let Some(b) = body.bio {
            if b.chars().count() > 190 {
                errs.add(
                    "bio",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 190 or fewer in length.",
                );
            }
            patch.bio = Some(b);
        }
        if let Some(d) = body.dm_policy {
            if !(0..=1).contains(&d) {
                errs.add(
                    "dm_policy",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (0, 1).",
                );
            }
            patch.dm_policy = Some(d);
        }
        let changing_password = body.new_password.is_some();
        if let Some(np) = &body.new_password {
            if actor.is_bot() {
                return Err(Error::Rule(Rule::BotsCannotUse));
            }
            let name = patch
                .username
                .clone()
                .unwrap_or_else(|| actor.user.username.clone());
            Self::validate_password(np, &name, "new_password", &mut errs);
        }
        if let Some(e) = &body.email {
            if actor.is_bot() {
                return Err(Error::Rule(Rule::BotsCannotUse));
            }
            let e = e.trim();
            if e.len() > 254 || !e.contains('@') {
                errs.add(
                    "email",
                    "EMAIL_TYPE_INVALID_EMAIL",
                    "Not a well formed email address.",
                );
            }
            if actor.user.email.as_deref() != Some(e) {
                patch.email = Some(e.to_owned());
            }
        }
        if (changing_password || patch.username.is_some() || patch.email.is_some())
            && !actor.is_bot()
        {
            // Discord asks for the current password to change username, password or email;
            // it is also the re-authentication of these sensitive changes (service::reauth).
            match &body.password {
                Some(pw) => {
                    errs.clone().into_result()?;
                    self.require_reauth(actor, Some(pw)).await?;
                }
                None => errs.add("password", "BASE_TYPE_REQUIRED", "This field is required"),
            }
        }
        errs.into_result()?;
        let new_hash = match &body.new_password {
            Some(np) => Some(self.hash_password(np).await?),
            None => None,
        };
        let mut log = vec![];
        if let Some(e) = &patch.email {
            let mut entry = self.actor_entry(actor, "email_changed");
            entry.detail = Some(
                serde_json::json!({
                    "session_id": actor.session_id.map(Snowflake::from_db),
                    "email": e,
                })
                .to_string(),
            );
            log.push(entry);
        }
        // Images last: their bytes are written before the row names them.
        let (uid, old_avatar, old_banner) = (
            actor.user.id,
            actor.user.avatar.as_deref(),
            actor.user.banner.as_deref(),
        );
        patch.avatar = self
            .image_field(ImageKind::Avatar, uid, "avatar", body.avatar, old_avatar)
            .await?;
        patch.banner = match self
            .image_field(ImageKind::Banner, uid, "banner", body.banner, old_banner)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                self.settle_image(ImageKind::Avatar, uid, old_avatar, &patch.avatar, false);
                return Err(e);
            }
        };
        let updated = self.db.update_user(actor.user.id, &patch, &log).await;
        let ok = updated.is_ok();
        self.settle_image(ImageKind::Avatar, uid, old_avatar, &patch.avatar, ok);
        self.settle_image(ImageKind::Banner, uid, old_banner, &patch.banner, ok);
        updated.map_err(|e| {
            if is_unique_violation(&e) {
                field_error(
                    "username",
                    "USERNAME_ALREADY_TAKEN",
                    "Username is unavailable.",
                )
            } else {
                e.into()
            }
        })?;
        if let Some(h) = &new_hash {
            // The password, the revocation of every other session and the log entry: one
            // transaction.
            let log = self.actor_entry(actor, "password_changed");
            let revoked = self
                .db
                .revoke_sessions_recorded(
                    actor.user.id,
                    SessionSet::AllExcept(actor.session_id),
                    Some(h),
                    now_ms(),
                    Some(&log),
                )
                .await?;
            self.revoked(actor.user.id, revoked);
            self.notify(
                &actor.user,
                "Your password was changed",
                "The password of your account was changed; every other session was signed out.",
            );
        }
        if let Some(e) = &patch.email {
            // The old address hears of the change; the new one gets a verification link.
            self.notify(
                &actor.user,
                "Your email address was changed",
                &format!("The email address of your account was changed to {e}."),
            );
            if self.mailer.is_some() {
                self.send_verification(actor.user.id, &actor.user.username, e)
                    .await?;
            }
        }
        let user = self
            .db
            .user(actor.user.id)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        let w = self.user_wire(&user, false);
        self.dispatch(
            Event::UserUpdate,
            crate::events::Audience::Users(vec![actor.id()]),
            0,
            serde_json::to_value(self.user_wire(&user, true)).map_err(Error::internal)?,
        );
        let _ = w;
        if user.username != actor.user.username
            || user.global_name != actor.user.global_name
            || user.avatar != actor.user.avatar
        {
            let (h, actor, row) = (Arc::clone(self), actor.clone(), user.clone());
            tokio::spawn(async move { h.profile_changed(&actor, &row).await });
        }
        Ok(self.user_wire(&user, true))
    }

    /// Operator password reset (`hearth admin reset-password`): sets the password and revokes
    /// every session of the user.
    pub async fn admin_reset_password(&self, username: &str, password: &str) -> Result<()> {
        let user = self
            .db
            .user_by_login(username)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        let mut errs = FieldErrors::new();
        Self::validate_password(password, &user.username, "password", &mut errs);
        errs.into_result()?;
        let h = self.hash_password(password).await?;
        // Password and revocation in one transaction; the running server (another process
        // when this is the admin CLI) closes the gateway connections from the recorded rows.
        let log = self.security_entry(
            user.id,
            "password_reset",
            None,
            None,
            serde_json::json!({"by": "operator"}),
        );
        let revoked = self
            .db
            .revoke_sessions_recorded(
                user.id,
                SessionSet::AllExcept(None),
                Some(&h),
                now_ms(),
                Some(&log),
            )
            .await?;
        self.revoked(user.id, revoked);
        Ok(())
    }
}
