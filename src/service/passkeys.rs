//! Passkeys (WebAuthn, issue 17), verified by webauthn-rs: registration, listing, renaming
//! and deletion (Discord's `/users/@me/mfa/webauthn/credentials`), a passkey as the second
//! factor of a password login (`POST /auth/mfa/webauthn`), passwordless login with a
//! discoverable credential (`POST /auth/passkey/start|finish`) and a passkey as a
//! re-authentication proof (`POST /mfa/finish` `mfa_type: "webauthn"`). spec/account.md §7.
//!
//! - Relying party: `auth.webauthn.*`, checked at start-up against the public URL
//!   ([`WebauthnState::new`]); never a hard-coded host.
//! - Every ceremony's state (webauthn-rs's `PasskeyRegistration`, `PasskeyAuthentication`,
//!   `DiscoverableAuthentication`) stays on the server (`webauthn_ceremonies`, keyed by the
//!   SHA-256 of a 256-bit ticket), expires after `auth.webauthn.ceremony_ttl_seconds` (300 s)
//!   and is taken (deleted) by the first answer, right or wrong: a challenge is answered at
//!   most once.
//! - User verification is **required** (webauthn-rs's passkey policy: the UV flag must be
//!   set at registration and at every assertion), so a passkey is possession plus a PIN or
//!   biometric: it counts as a second factor on its own and logs in without a password.
//!   Attestation is "none"; registration asks for a discoverable credential ("preferred").
//! - After each assertion webauthn-rs's `update_credential` is applied and stored (sign
//!   counter, backup state). A counter that does not move forward (both counters zero
//!   excepted: authenticators without counters) is refused, as webauthn-rs does
//!   (`CredentialPossibleCompromise`), also against the counter stored *now* (another
//!   assertion may have moved it since the ceremony began): a cloned authenticator is caught.
//! - Failed assertions count as failed second factors: login backoff
//!   ([`super::backoff`]), `mfa.attempts_per_account`, and failures of the MFA ticket.
//! - A passkey turns on `mfa_enabled` (Discord counts security keys as MFA): a password
//!   login then needs a second factor, and guild MFA levels accept the account.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use super::auth::{random_token, token_hash};
use super::throttles::IpThrottle;
use super::{Actor, Hearth};
use crate::config::Config;
use crate::error::{Error, Result, Rule, Unknown, field_error};
use crate::snowflake::Snowflake;
use crate::storage::{CeremonyRow, PasskeyRow, UserRow, now_ms};
use crate::wire;

/// The relying party of this server and the ceremony settings.
pub struct WebauthnState {
    /// `None` when passkeys are off (see [`WebauthnState::new`]).
    rp: Option<Webauthn>,
    ttl_ms: i64,
    max_per_user: i64,
}

/// A configuration error of `auth.webauthn`, refused at start-up.
fn config_error(what: String) -> Error {
    Error::internal(format!("configuration: auth.webauthn: {what}"))
}

/// `host` is `rp_id` or a subdomain of it (a suffix at a dot).
fn under(host: &str, rp_id: &str) -> bool {
    host == rp_id || host.ends_with(&format!(".{rp_id}"))
}

impl WebauthnState {
    /// The relying party from `auth.webauthn` and the public URL (`account.public_url`,
    /// else `media.public_url`, which the composition root fills with the listen address).
    ///
    /// Off when `enabled` is false, or when no `rp_id` is set and the public URL's host is
    /// an IP address (browsers take only domain names as RP ids).
    ///
    /// # Errors
    /// A configuration error when `rp_id` is not a domain name, is neither the public URL's
    /// host nor a suffix of it at a dot, or an origin is not a URL whose host is `rp_id` or
    /// below it.
    pub fn new(config: &Config) -> Result<WebauthnState> {
        let w = &config.auth.webauthn;
        let off = WebauthnState {
            rp: None,
            ttl_ms: (w.ceremony_ttl_seconds.max(1) as i64).saturating_mul(1000),
            max_per_user: w.max_per_user.max(1) as i64,
        };
        if !w.enabled {
            return Ok(off);
        }
        let public = match config
            .account
            .public_url
            .as_deref()
            .or(config.media.public_url.as_deref())
        {
            Some(p) => {
                Some(Url::parse(p).map_err(|e| config_error(format!("public URL {p:?}: {e}")))?)
            }
            None => None,
        };
        let host = public
            .as_ref()
            .and_then(|u| u.domain())
            .map(|h| h.to_ascii_lowercase());
        let rp_id = match (&w.rp_id, &host) {
            (Some(id), _) => id.trim().to_ascii_lowercase(),
            (None, Some(h)) => h.clone(),
            (None, None) => {
                tracing::info!(
                    "passkeys are off: the public URL has no domain name (set account.public_url or auth.webauthn.rp_id)"
                );
                return Ok(off);
            }
        };
        if rp_id.is_empty()
            || rp_id.parse::<IpAddr>().is_ok()
            || rp_id.starts_with('.')
            || rp_id.ends_with('.')
            || rp_id.contains(['/', ':', ' '])
        {
            return Err(config_error(format!(
                "rp_id {rp_id:?} is not a domain name"
            )));
        }
        match &host {
            Some(h) if under(h, &rp_id) => {}
            _ => {
                return Err(config_error(format!(
                    "rp_id {rp_id:?} is neither the host of the public URL ({}) nor a suffix of it; set account.public_url to the URL users open",
                    public.as_ref().map_or("none".into(), |u| u.to_string())
                )));
            }
        }
        let mut origins = Vec::new();
        if w.origins.is_empty() {
            let u = public
                .as_ref()
                .ok_or_else(|| config_error("no origin".into()))?;
            origins.push(
                Url::parse(&u.origin().ascii_serialization())
                    .map_err(|e| config_error(e.to_string()))?,
            );
        }
        for o in &w.origins {
            let u = Url::parse(o).map_err(|e| config_error(format!("origin {o:?}: {e}")))?;
            match u.domain() {
                Some(h) if under(&h.to_ascii_lowercase(), &rp_id) => origins.push(u),
                _ => {
                    return Err(config_error(format!(
                        "origin {o:?} is not rp_id {rp_id:?} or below it"
                    )));
                }
            }
        }
        let name = w
            .rp_name
            .clone()
            .unwrap_or_else(|| config.server_name.clone());
        let mut b = WebauthnBuilder::new(&rp_id, &origins[0])
            .map_err(|e| config_error(format!("rp_id {rp_id:?}: {e}")))?
            .rp_name(&name)
            .timeout(Duration::from_millis(off.ttl_ms as u64));
        for o in &origins[1..] {
            b = b.append_allowed_origin(o);
        }
        let rp = b.build().map_err(|e| config_error(e.to_string()))?;
        Ok(WebauthnState {
            rp: Some(rp),
            ..off
        })
    }
}

/// 400 50035 `webauthn` WEBAUTHN_DISABLED.
fn disabled() -> Error {
    field_error(
        "webauthn",
        "WEBAUTHN_DISABLED",
        "Passkeys are not configured on this server (auth.webauthn).",
    )
}

fn required(field: &str) -> Error {
    field_error(field, "BASE_TYPE_REQUIRED", "This field is required")
}

/// A credential field: a JSON string or the object itself.
fn parse_credential<T: serde::de::DeserializeOwned>(field: &str, v: Option<Value>) -> Result<T> {
    let v = v.ok_or_else(|| required(field))?;
    let parsed = match v {
        Value::String(s) => serde_json::from_str(&s),
        other => serde_json::from_value(other),
    };
    parsed.map_err(|_| {
        field_error(
            field,
            "WEBAUTHN_CREDENTIAL_INVALID",
            "Not a WebAuthn credential (JSON with base64url binary fields).",
        )
    })
}

/// A passkey name: 1 to 32 characters after trimming.
fn valid_name(name: Option<&str>) -> Result<String> {
    let n = name.map(str::trim).ok_or_else(|| required("name"))?;
    if !(1..=32).contains(&n.chars().count()) {
        return Err(field_error(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ));
    }
    Ok(n.to_owned())
}

/// Options as the browser takes them, as a JSON string. Registration asks for a
/// discoverable credential (`residentKey: "preferred"`) so the passkey can log in alone;
/// login options drop webauthn-rs's conditional `mediation` (the client decides).
fn options_json(mut v: Value) -> String {
    if let Some(sel) = v
        .get_mut("publicKey")
        .and_then(|p| p.get_mut("authenticatorSelection"))
        .and_then(Value::as_object_mut)
    {
        sel.insert("residentKey".into(), json!("preferred"));
        sel.insert("requireResidentKey".into(), json!(false));
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("mediation");
    }
    v.to_string()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Sign counter and backup flags of a stored passkey (its webauthn-rs JSON).
fn passkey_facts(pk: &Passkey) -> Result<(String, i64, bool, bool)> {
    let v = serde_json::to_value(pk).map_err(Error::internal)?;
    let c = &v["cred"];
    Ok((
        serde_json::to_string(pk).map_err(Error::internal)?,
        c["counter"].as_i64().unwrap_or(0),
        c["backup_eligible"].as_bool().unwrap_or(false),
        c["backup_state"].as_bool().unwrap_or(false),
    ))
}

/// An assertion webauthn-rs refused: logged with the reason, answered 60008.
fn refused(e: WebauthnError) -> Error {
    tracing::debug!(error = %e, "passkey assertion refused");
    Error::Rule(Rule::InvalidMfaCode)
}

impl Hearth {
    fn rp(&self) -> Result<&Webauthn> {
        self.webauthn.rp.as_ref().ok_or_else(disabled)
    }

    /// Whether passkeys are on (a relying party is configured).
    pub fn passkeys_enabled(&self) -> bool {
        self.webauthn.rp.is_some()
    }

    pub(super) fn passkey_wire(r: &PasskeyRow) -> wire::WebauthnCredential {
        wire::WebauthnCredential {
            id: Snowflake::from_db(r.id),
            name: r.name.clone(),
            kind: 1,
            created_at: wire::iso(r.created_at),
            last_used_at: r.last_used_at.map(wire::iso),
            backup_eligible: r.backup_eligible,
            backed_up: r.backed_up,
        }
    }

    /// Stores a ceremony's state under a fresh ticket; answers the ticket.
    async fn new_ceremony(
        &self,
        kind: &str,
        user_id: Option<i64>,
        state: &impl serde::Serialize,
        ticket: Option<String>,
    ) -> Result<String> {
        let ticket = ticket.unwrap_or_else(random_token);
        let now = now_ms();
        self.db
            .insert_ceremony(
                &CeremonyRow {
                    ticket_hash: token_hash(&ticket),
                    kind: kind.into(),
                    user_id,
                    state: serde_json::to_string(state).map_err(Error::internal)?,
                    expires_at: now + self.webauthn.ttl_ms,
                },
                now,
            )
            .await?;
        Ok(ticket)
    }

    /// Takes the ceremony of `ticket` (single-use). Errors: 60006 unknown, used, expired,
    /// of another kind or of another user.
    async fn take_ceremony<T: serde::de::DeserializeOwned>(
        &self,
        ticket: Option<&str>,
        kind: &str,
        user_id: Option<i64>,
    ) -> Result<T> {
        let ticket = ticket.ok_or_else(|| required("ticket"))?;
        let c = self
            .db
            .take_ceremony(&token_hash(ticket), kind, now_ms())
            .await?
            .filter(|c| user_id.is_none() || c.user_id == user_id)
            .ok_or(Error::Rule(Rule::InvalidMfaTicket))?;
        serde_json::from_str(&c.state).map_err(Error::internal)
    }

    /// `GET /users/@me/mfa/webauthn/credentials`: the caller's passkeys, oldest first.
    /// Errors: 403 20001 bots.
    pub async fn list_passkeys(&self, actor: &Actor) -> Result<Vec<wire::WebauthnCredential>> {
        Self::human_session(actor)?;
        Ok(self
            .db
            .passkeys(actor.user.id)
            .await?
            .iter()
            .map(Self::passkey_wire)
            .collect())
    }

    /// `POST /users/@me/mfa/webauthn/credentials`: `{}` starts a registration and answers
    /// [`wire::WebauthnChallenge`] (creation options: attestation none, user verification
    /// required, discoverable preferred, the user's passkeys excluded); `{name, ticket,
    /// credential}` finishes it and answers the new [`wire::WebauthnCredential`] (201).
    ///
    /// Starting needs a recent proof (spec/account.md §2): a passkey is a way into the
    /// account. Errors: 401 60003; 50035 `webauthn` WEBAUTHN_DISABLED, `name` (1-32
    /// characters), `credential` (not a credential, WEBAUTHN_REGISTRATION_FAILED: refused
    /// by webauthn-rs, WEBAUTHN_CREDENTIAL_EXISTS: registered already or too many
    /// passkeys); 60006 unknown, used or expired ticket; 20001 bots.
    pub async fn register_passkey(
        &self,
        actor: &Actor,
        body: wire::WebauthnCredentialBody,
    ) -> Result<(bool, Value)> {
        Self::human_session(actor)?;
        let rp = self.rp()?;
        let uid = actor.user.id;
        let Some(ticket) = body.ticket.as_deref() else {
            self.require_reauth(actor, None).await?;
            let existing = self.db.passkeys(uid).await?;
            if existing.len() as i64 >= self.webauthn.max_per_user {
                return Err(field_error(
                    "credential",
                    "WEBAUTHN_CREDENTIAL_EXISTS",
                    "This account holds the most passkeys allowed.",
                ));
            }
            let handle = self
                .db
                .webauthn_handle(uid, &Uuid::new_v4().to_string())
                .await?;
            let handle = Uuid::parse_str(&handle).map_err(Error::internal)?;
            let exclude = existing
                .iter()
                .filter_map(|r| URL_SAFE_NO_PAD.decode(&r.cred_id).ok())
                .collect();
            let display = actor
                .user
                .global_name
                .clone()
                .unwrap_or_else(|| actor.user.username.clone());
            let (ccr, state) = rp
                .start_passkey_registration(handle, &actor.user.username, &display, Some(exclude))
                .map_err(Error::internal)?;
            let ticket = self
                .new_ceremony("register", Some(uid), &state, None)
                .await?;
            let challenge = options_json(serde_json::to_value(&ccr).map_err(Error::internal)?);
            return Ok((false, json!(wire::WebauthnChallenge { ticket, challenge })));
        };
        let name = valid_name(body.name.as_deref())?;
        let state: PasskeyRegistration = self
            .take_ceremony(Some(ticket), "register", Some(uid))
            .await?;
        let cred: RegisterPublicKeyCredential = parse_credential("credential", body.credential)?;
        let pk = rp.finish_passkey_registration(&cred, &state).map_err(|e| {
            tracing::debug!(error = %e, "passkey registration refused");
            field_error(
                "credential",
                "WEBAUTHN_REGISTRATION_FAILED",
                "The passkey could not be verified.",
            )
        })?;
        let (json_pk, counter, be, bs) = passkey_facts(&pk)?;
        let row = PasskeyRow {
            id: self.next_id(),
            user_id: uid,
            cred_id: b64(pk.cred_id().as_ref()),
            name,
            passkey: json_pk,
            counter,
            backup_eligible: be,
            backed_up: bs,
            created_at: now_ms(),
            last_used_at: None,
        };
        let mut log = self.actor_entry(actor, "passkey_added");
        log.detail = Some(
            json!({"session_id": actor.session_id.map(Snowflake::from_db),
                   "passkey_id": Snowflake::from_db(row.id), "name": row.name})
            .to_string(),
        );
        if !self
            .db
            .insert_passkey(&row, self.webauthn.max_per_user, &log)
            .await?
        {
            return Err(field_error(
                "credential",
                "WEBAUTHN_CREDENTIAL_EXISTS",
                "This passkey is registered already, or the account holds the most passkeys allowed.",
            ));
        }
        self.user_updated(uid).await?;
        self.notify(
            &actor.user,
            "Passkey added",
            &format!(
                "A passkey named \"{}\" was added to your account.",
                row.name
            ),
        );
        Ok((true, json!(Self::passkey_wire(&row))))
    }

    /// `PATCH /users/@me/mfa/webauthn/credentials/{id}` `{name}`. Errors: 404 10100 not the
    /// caller's passkey, 50035 `name`, 20001 bots.
    pub async fn rename_passkey(
        &self,
        actor: &Actor,
        id: Snowflake,
        body: wire::WebauthnRenameBody,
    ) -> Result<wire::WebauthnCredential> {
        Self::human_session(actor)?;
        let name = valid_name(body.name.as_deref())?;
        let mut log = self.actor_entry(actor, "passkey_renamed");
        log.detail = Some(
            json!({"session_id": actor.session_id.map(Snowflake::from_db),
                   "passkey_id": id, "name": name})
            .to_string(),
        );
        if !self
            .db
            .rename_passkey(actor.user.id, id.db(), &name, &log)
            .await?
        {
            return Err(Error::Unknown(Unknown::Passkey));
        }
        self.db
            .passkeys(actor.user.id)
            .await?
            .iter()
            .find(|r| r.id == id.db())
            .map(Self::passkey_wire)
            .ok_or(Error::Unknown(Unknown::Passkey))
    }

    /// `DELETE /users/@me/mfa/webauthn/credentials/{id}` -> 204. Needs a recent proof
    /// (401 60003), asked once the passkey is known to be the caller's. Errors: 404 10100,
    /// 20001 bots.
    pub async fn delete_passkey(&self, actor: &Actor, id: Snowflake) -> Result<()> {
        Self::human_session(actor)?;
        if !self
            .db
            .passkeys(actor.user.id)
            .await?
            .iter()
            .any(|r| r.id == id.db())
        {
            return Err(Error::Unknown(Unknown::Passkey));
        }
        self.require_reauth(actor, None).await?;
        let mut log = self.actor_entry(actor, "passkey_removed");
        log.detail = Some(
            json!({"session_id": actor.session_id.map(Snowflake::from_db), "passkey_id": id})
                .to_string(),
        );
        if !self.db.delete_passkey(actor.user.id, id.db(), &log).await? {
            return Err(Error::Unknown(Unknown::Passkey));
        }
        self.user_updated(actor.user.id).await?;
        self.notify(
            &actor.user,
            "Passkey removed",
            "A passkey was removed from your account.",
        );
        Ok(())
    }

    /// Request options for the user's passkeys, stored as a ceremony of `kind` (`mfa` under
    /// the login's own `ticket`, or `reauth` under a fresh one). `None` when the user has no
    /// passkey or passkeys are off. Answers (ticket, options as a JSON string).
    pub(super) async fn passkey_challenge(
        &self,
        user: &UserRow,
        kind: &str,
        ticket: Option<String>,
    ) -> Result<Option<(String, String)>> {
        let (Some(rp), true) = (self.webauthn.rp.as_ref(), user.webauthn_enabled) else {
            return Ok(None);
        };
        let keys: Vec<Passkey> = self
            .db
            .passkeys(user.id)
            .await?
            .iter()
            .filter_map(|r| serde_json::from_str(&r.passkey).ok())
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        let (rcr, state) = rp
            .start_passkey_authentication(&keys)
            .map_err(Error::internal)?;
        let ticket = self
            .new_ceremony(kind, Some(user.id), &state, ticket)
            .await?;
        let options = options_json(serde_json::to_value(&rcr).map_err(Error::internal)?);
        Ok(Some((ticket, options)))
    }

    /// Records a verified assertion on the stored passkey `row` of `user_id`: refuses a sign
    /// counter that did not move past the stored one (a cloned authenticator; both zero is
    /// an authenticator without a counter), then applies webauthn-rs's `update_credential`.
    async fn passkey_asserted(
        &self,
        row: PasskeyRow,
        res: &webauthn_rs::prelude::AuthenticationResult,
    ) -> Result<PasskeyRow> {
        let counter = i64::from(res.counter());
        if (counter > 0 || row.counter > 0) && counter <= row.counter {
            tracing::warn!(
                passkey = row.id,
                user = row.user_id,
                "passkey sign counter went back: possible cloned authenticator"
            );
            return Err(Error::Rule(Rule::InvalidMfaCode));
        }
        let mut pk: Passkey = serde_json::from_str(&row.passkey).map_err(Error::internal)?;
        pk.update_credential(res);
        let (json_pk, counter, be, bs) = passkey_facts(&pk)?;
        let row = PasskeyRow {
            passkey: json_pk,
            counter,
            backup_eligible: be,
            backed_up: bs,
            ..row
        };
        self.db.passkey_used(&row, now_ms()).await?;
        Ok(row)
    }

    /// Verifies the assertion `data` (a JSON string) against the state of a `mfa` or
    /// `reauth` ceremony of `user_id` and records the use. Errors: 60006 ticket, 60008 the
    /// assertion (bad signature, wrong origin or RP id, counter, not this user's passkey,
    /// user not verified), 50035 `field` not a credential, 429.
    pub(super) async fn spend_passkey(
        &self,
        user_id: i64,
        kind: &str,
        ticket: Option<&str>,
        data: Option<Value>,
        field: &str,
    ) -> Result<()> {
        self.throttle_mfa(user_id).await?;
        let rp = self.rp()?;
        let state: PasskeyAuthentication = self.take_ceremony(ticket, kind, Some(user_id)).await?;
        let cred: PublicKeyCredential =
            parse_credential(field, data).map_err(|_| Error::Rule(Rule::InvalidMfaCode))?;
        let res = rp
            .finish_passkey_authentication(&cred, &state)
            .map_err(refused)?;
        let row = self
            .db
            .passkey_by_cred(&b64(res.cred_id().as_ref()))
            .await?
            .filter(|r| r.user_id == user_id)
            .ok_or(Error::Rule(Rule::InvalidMfaCode))?;
        self.passkey_asserted(row, &res).await?;
        Ok(())
    }

    /// `POST /auth/mfa/webauthn` `{code: <assertion JSON>, ticket}`: completes a password
    /// login with a passkey; answers the token pair.
    ///
    /// Errors: 60006 unknown, expired or used ticket (or no passkey challenge on it); 60008
    /// the assertion (counted against the ticket and the backoff); 429; 403 40002 suspended.
    pub async fn login_webauthn(
        &self,
        body: wire::MfaTicketBody,
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
        let checked = self
            .spend_passkey(
                t.user_id,
                "mfa",
                Some(&ticket),
                Some(Value::String(code)),
                "code",
            )
            .await;
        self.finish_mfa_login(checked, t, &hash, &account, ip, user_agent, "webauthn")
            .await
    }

    /// `POST /auth/passkey/start` `{}`: a passwordless login ceremony for a discoverable
    /// credential; answers [`wire::WebauthnChallenge`] (no `allowCredentials`: the
    /// authenticator offers the user's passkeys for this RP). Errors: 50035
    /// WEBAUTHN_DISABLED, 429 `rate_limits.login_per_ip`.
    pub async fn passkey_login_start(&self, ip: IpAddr) -> Result<wire::WebauthnChallenge> {
        self.throttle_ip(IpThrottle::Login, ip).await?;
        let (rcr, state) = self
            .rp()?
            .start_discoverable_authentication()
            .map_err(Error::internal)?;
        let ticket = self.new_ceremony("login", None, &state, None).await?;
        let challenge = options_json(serde_json::to_value(&rcr).map_err(Error::internal)?);
        Ok(wire::WebauthnChallenge { ticket, challenge })
    }

    /// `POST /auth/passkey/finish` `{ticket, credential}`: logs in with the assertion of a
    /// discoverable passkey (its user handle names the account); answers the token pair.
    ///
    /// Errors: 60006 unknown, used or expired ticket; 60008 the assertion (unknown
    /// credential, a user handle that is not the credential's account, bad signature, wrong
    /// origin or RP id, counter, user not verified), counted by the backoff; 429; 403 40002.
    pub async fn passkey_login_finish(
        &self,
        body: wire::WebauthnCredentialBody,
        ip: IpAddr,
        user_agent: Option<String>,
    ) -> Result<wire::TokenPair> {
        self.throttle_ip(IpThrottle::Login, ip).await?;
        let rp = self.rp()?;
        let state: DiscoverableAuthentication = self
            .take_ceremony(body.ticket.as_deref(), "login", None)
            .await?;
        let cred: PublicKeyCredential = parse_credential("credential", body.credential)?;
        let cred_id = b64(cred.raw_id.as_ref());
        let row = self.db.passkey_by_cred(&cred_id).await?;
        let account = Self::backoff_key(
            row.as_ref().map(|r| r.user_id),
            &format!("passkey:{cred_id}"),
        );
        self.backoff_check(&account, row.as_ref().map(|r| r.user_id), ip)
            .await?;
        let verified = self.verify_discoverable(rp, row, &cred, state).await;
        let row = match verified {
            Ok(r) => r,
            Err(e) => {
                if matches!(e, Error::Rule(Rule::InvalidMfaCode)) {
                    self.backoff_fail(&account, ip).await;
                }
                return Err(e);
            }
        };
        self.backoff_succeed(&account, ip).await;
        let user = self
            .db
            .user(row.user_id)
            .await?
            .ok_or(Error::Rule(Rule::InvalidMfaCode))?;
        if user.suspended {
            return Err(Error::Rule(Rule::Suspended));
        }
        self.open_session(&user, Some(ip), user_agent, "passkey")
            .await
    }

    /// The checks of a discoverable assertion: the credential is stored, its user handle
    /// is its account's, and webauthn-rs verifies it against the stored key; then the use
    /// is recorded.
    async fn verify_discoverable(
        &self,
        rp: &Webauthn,
        row: Option<PasskeyRow>,
        cred: &PublicKeyCredential,
        state: DiscoverableAuthentication,
    ) -> Result<PasskeyRow> {
        let row = row.ok_or(Error::Rule(Rule::InvalidMfaCode))?;
        self.throttle_mfa(row.user_id).await?;
        let (handle, _) = rp
            .identify_discoverable_authentication(cred)
            .map_err(refused)?;
        if self.db.user_by_webauthn_handle(&handle.to_string()).await? != Some(row.user_id) {
            return Err(Error::Rule(Rule::InvalidMfaCode));
        }
        let pk: Passkey = serde_json::from_str(&row.passkey).map_err(Error::internal)?;
        let res = rp
            .finish_discoverable_authentication_v2(cred, state, &pk)
            .map_err(refused)?;
        self.passkey_asserted(row, &res).await
    }
}
