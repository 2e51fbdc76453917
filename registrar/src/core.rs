//! The registrar's rules: request authentication, domain-control verification, key history,
//! liveness, summaries and handles (spec/registrar.md).

use std::net::IpAddr;

use hearth_federation::http::{FedError, SafeHttp};
use hearth_federation::keys::{KEY_PATH, KeyDocument, KeyStore, MAX_KEY_DOCUMENT_BYTES, ServerKey};
use hearth_federation::names::validate_server_name;
use hearth_federation::policy::DomainPolicy;
use hearth_federation::ratelimit::{Allowed, KeyedLimiter, Limited};
use hearth_federation::registrar::{CHALLENGE_PATH, valid_token};
use hearth_federation::request::{AuthHeader, Incoming, ReplayGuard, verify_request};
use hearth_federation::sign::{self, Purpose};
use hearth_federation::{MAX_CLOCK_SKEW_MS, b64};
use rand::RngCore as _;
use serde_json::{Value, json};

use crate::config::RegistrarConfig;
use crate::storage::{Db, ServerRow};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    hearth_db::now_ms()
}

pub use crate::error::{ApiError, ApiResult};

fn limited(r: Result<Allowed, Limited>) -> ApiResult<()> {
    r.map(|_| ()).map_err(|l| ApiError::RateLimited {
        error: "rate limited".into(),
        retry_after_ms: (l.retry_after * 1000.0).ceil() as u64,
    })
}

/// Validates a server name in a path (400 `R_BAD_NAME`).
///
/// # Errors
/// [`ApiError`] 400 `R_BAD_NAME`.
pub fn check_name(name: &str) -> ApiResult<()> {
    validate_server_name(name).map_err(|e| ApiError::BadName(e.to_string()))
}

/// Everything the handlers share.
pub struct Core {
    pub config: RegistrarConfig,
    pub db: Db,
    pub key: ServerKey,
    pub http: SafeHttp,
    replay: ReplayGuard,
    per_client: KeyedLimiter<IpAddr>,
    per_server: KeyedLimiter<String>,
    handle_lookups: KeyedLimiter<IpAddr>,
    key_fetches: KeyedLimiter<String>,
    config_deny: DomainPolicy,
}

/// What a signed request proved.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The server that signed.
    pub origin: String,
}

impl Core {
    /// Builds the shared state over an open database.
    ///
    /// # Errors
    /// Outbound client errors (CA files, resolver).
    pub fn new(config: RegistrarConfig, db: Db, key: ServerKey) -> Result<Core, String> {
        let http = SafeHttp::new(&config.outbound)?;
        let rl = &config.rate_limits;
        Ok(Core {
            per_client: KeyedLimiter::new(rl.per_client, "client", true),
            per_server: KeyedLimiter::new(rl.per_server, "server", false),
            handle_lookups: KeyedLimiter::new(rl.handle_lookups, "handles", false),
            key_fetches: KeyedLimiter::new(rl.key_fetches, "key_fetch", false),
            config_deny: DomainPolicy::new(&config.deny_domains, &[]),
            replay: ReplayGuard::default(),
            http,
            key,
            db,
            config,
        })
    }

    /// Drops idle rate-limit state.
    pub fn shrink(&self) {
        self.per_client.shrink();
        self.per_server.shrink();
        self.handle_lookups.shrink();
        self.key_fetches.shrink();
    }

    /// Per-client limit on every request.
    ///
    /// # Errors
    /// 429 `R_RATE_LIMITED`.
    pub fn limit_client(&self, ip: IpAddr) -> ApiResult<()> {
        limited(self.per_client.check(&ip))
    }

    /// Per-client limit on handle lookups.
    ///
    /// # Errors
    /// 429 `R_RATE_LIMITED`.
    pub fn limit_handle_lookup(&self, ip: IpAddr) -> ApiResult<()> {
        limited(self.handle_lookups.check(&ip))
    }

    /// Whether `name` is on the configured or operator deny list.
    ///
    /// # Errors
    /// Database errors.
    pub async fn denied(&self, name: &str) -> ApiResult<bool> {
        if !self.config_deny.allows(name) {
            return Ok(true);
        }
        let list: Vec<String> = self.db.denied().await?.into_iter().map(|d| d.0).collect();
        Ok(!DomainPolicy::new(&list, &[]).allows(name))
    }

    /// The registrar's `verify_keys`.
    pub fn info(&self) -> Value {
        json!({
            "server_name": self.config.server_name,
            "verify_keys": {self.key.key_id(): {"key": self.key.public_key().to_b64()}},
            "software": {"name": "hearth-registrar", "version": env!("CARGO_PKG_VERSION")},
        })
    }

    /// Fetches and checks the key document `name` publishes (through discovery, over HTTPS):
    /// self-signed by every current key, not expired. Returns it parsed and as fetched.
    ///
    /// # Errors
    /// 403 `R_VERIFICATION_FAILED` naming the failure.
    pub async fn fetch_key_document(&self, name: &str) -> ApiResult<(KeyDocument, Value)> {
        let fail = ApiError::VerificationFailed;
        let v = self
            .http
            .get_from_server(name, KEY_PATH, MAX_KEY_DOCUMENT_BYTES)
            .await
            .map_err(|e| fail(format!("cannot fetch the key document of {name}: {e}")))?;
        let doc = KeyDocument::verify(&v, name)
            .map_err(|e| fail(format!("the key document of {name} does not verify: {e}")))?;
        if doc.valid_until_ts <= now_ms() as u64 {
            return Err(fail(format!("the key document of {name} has expired")));
        }
        Ok((doc, v))
    }

    /// Where `name`'s federation endpoint is (from discovery).
    async fn endpoint(&self, name: &str) -> String {
        match self.http.discovery().resolve(name).await {
            Ok(d) => d.base_url(),
            Err(_) => String::new(),
        }
    }

    /// Appends the keys of `doc` to the history of `name` (new entries only).
    async fn record_history(&self, name: &str, doc: &KeyDocument, at: i64) -> ApiResult<()> {
        for (id, k) in &doc.verify_keys {
            self.db
                .append_key_history(name, id, &k.key, "current", None, at)
                .await?;
        }
        for (id, k) in &doc.old_verify_keys {
            self.db
                .append_key_history(name, id, &k.key, "old", Some(k.expired_ts as i64), at)
                .await?;
        }
        for (id, k) in &doc.revoked_keys {
            self.db
                .append_key_history(name, id, &k.key, "revoked", Some(k.revoked_ts as i64), at)
                .await?;
        }
        Ok(())
    }

    /// Keys to verify `name`'s signatures with: its stored document (if registered and still
    /// valid), refetched from the domain when `key_id` is not in it (at most
    /// `rate_limits.key_fetches` per server). A refetch of a registered server counts as a
    /// re-verification (key change: directory and history updated).
    async fn keys_for(&self, name: &str, key_id: &str) -> ApiResult<KeyStore> {
        let now = now_ms();
        let mut store = KeyStore::new();
        if let Some(s) = self.db.server(name).await?
            && let Ok(v) = serde_json::from_str::<Value>(&s.key_document)
            && let Ok(doc) = KeyDocument::verify(&v, name)
        {
            let _ = store.insert_document(&doc, s.verified_at as u64);
            if hearth_federation::keys::KeyLookup::lookup(&store.at(now as u64), name, key_id)
                .is_some()
            {
                return Ok(store);
            }
        }
        limited(self.key_fetches.check(&name.to_owned()))?;
        let (doc, raw) = self.fetch_key_document(name).await?;
        let _ = store.insert_document(&doc, now as u64);
        if self.db.server(name).await?.is_some() {
            let endpoint = self.endpoint(name).await;
            self.db
                .server_verified(name, &endpoint, &raw.to_string(), now)
                .await?;
            self.record_history(name, &doc, now).await?;
        }
        Ok(store)
    }

    /// Authenticates a signed request (spec/registrar.md "Authentication"): X-Hearth header
    /// addressed to this registrar, within 5 minutes, from a server not on the deny list,
    /// signed with a key its domain publishes, not replayed, within the per-server rate limit.
    ///
    /// # Errors
    /// 401 with the federation code of the failed check (`H_BAD_SIGNATURE`, `H_UNKNOWN_KEY`,
    /// `H_WRONG_DESTINATION`, `H_CLOCK_SKEW`, `H_REPLAYED`, `H_MALFORMED_AUTH`, ...), 403
    /// `R_DENIED`, 403 `R_VERIFICATION_FAILED` (keys unreachable), 429 `R_RATE_LIMITED`.
    pub async fn authenticate(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        authorization: Option<&str>,
    ) -> ApiResult<Authenticated> {
        let header = AuthHeader::parse(authorization.ok_or_else(|| {
            hearth_federation::Error::MalformedAuth("missing Authorization header".into())
        })?)?;
        if header.destination != self.config.server_name {
            return Err(hearth_federation::Error::WrongDestination {
                expected: self.config.server_name.clone(),
                got: header.destination,
            }
            .into());
        }
        let now = now_ms() as u64;
        let skew_ms = now.abs_diff(header.ts);
        if skew_ms > MAX_CLOCK_SKEW_MS {
            return Err(hearth_federation::Error::ClockSkew { skew_ms }.into());
        }
        if self.denied(&header.origin).await? {
            return Err(ApiError::Denied(format!(
                "{} is on this registrar's deny list",
                header.origin
            )));
        }
        limited(self.per_server.check(&header.origin))?;
        let store = self.keys_for(&header.origin, &header.key).await?;
        let v = verify_request(
            &Incoming {
                method,
                path,
                body,
                authorization,
            },
            &self.config.server_name,
            now_ms() as u64,
            &store.at(now_ms() as u64),
            &self.replay,
        )?;
        Ok(Authenticated { origin: v.origin })
    }

    /// Checks that an authenticated request speaks for `name` (403 `R_FORBIDDEN` otherwise).
    ///
    /// # Errors
    /// 403 `R_FORBIDDEN`.
    pub fn require_origin(auth: &Authenticated, name: &str) -> ApiResult<()> {
        if auth.origin == name {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{} may not act for {name}: only a server controls its own entry",
                auth.origin
            )))
        }
    }

    /// Issues a challenge token for `name` (at most 5 pending per server).
    ///
    /// # Errors
    /// 403 `R_DELISTED` for an operator-delisted server, 429 `R_RATE_LIMITED` for too many
    /// pending tokens.
    pub async fn challenge(&self, name: &str) -> ApiResult<Value> {
        if let Some(s) = self.db.server(name).await?
            && s.locked
        {
            return Err(ApiError::Delisted(format!(
                "{name} was delisted by the registrar operator"
            )));
        }
        let now = now_ms();
        if self.db.pending_challenges(name, now).await? >= 5 {
            return Err(ApiError::RateLimited {
                error: "too many pending challenges".into(),
                retry_after_ms: self.config.challenge_ttl_ms,
            });
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        use base64::Engine as _;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let expires = now + self.config.challenge_ttl_ms as i64;
        self.db.insert_challenge(&token, name, now, expires).await?;
        Ok(json!({
            "registrar": self.config.server_name,
            "server_name": name,
            "token": token,
            "expires_ts": expires,
            "path": format!("{CHALLENGE_PATH}/{token}"),
        }))
    }

    /// Registration with proof of domain control: consumes the token, fetches the challenge
    /// document from `name` (federation discovery, HTTPS) and the key document the domain
    /// publishes, checks the document (`registrar`, `server_name`, `token`, `ts` within 5
    /// minutes) and its `hearth.registrar-challenge.v1` signature, then stores the entry and
    /// appends new keys to the history.
    ///
    /// # Errors
    /// 400 `R_MALFORMED`, 403 `R_DELISTED`, 403 `R_VERIFICATION_FAILED`.
    pub async fn register(&self, name: &str, body: &Value) -> ApiResult<Value> {
        let token = body["token"]
            .as_str()
            .filter(|t| valid_token(t))
            .ok_or_else(|| ApiError::Malformed("token: expected a challenge token".into()))?;
        let text = |k: &str, max: usize| -> ApiResult<String> {
            let v = body.pointer(k).and_then(Value::as_str).unwrap_or("");
            if v.chars().count() > max || v.chars().any(char::is_control) {
                return Err(ApiError::Malformed(format!(
                    "{k}: at most {max} printable characters"
                )));
            }
            Ok(v.to_owned())
        };
        let software_name = text("/software/name", 64)?;
        let software_version = text("/software/version", 64)?;
        let policy = body["registration_policy"].as_str().unwrap_or("unknown");
        if !["open", "invite_only", "closed", "unknown"].contains(&policy) {
            return Err(ApiError::Malformed(
                "registration_policy: one of open, invite_only, closed".into(),
            ));
        }
        if let Some(s) = self.db.server(name).await?
            && s.locked
        {
            return Err(ApiError::Delisted(format!(
                "{name} was delisted by the registrar operator"
            )));
        }
        let now = now_ms();
        let fail = ApiError::VerificationFailed;
        if !self.db.take_challenge(token, name, now).await? {
            return Err(fail(format!("no pending challenge {token} for {name}")));
        }
        let path = format!("{CHALLENGE_PATH}/{token}");
        let doc = self
            .http
            .get_from_server(name, &path, 16 * 1024)
            .await
            .map_err(|e| match e {
                FedError::Remote { status, errcode, .. } => fail(format!(
                    "{name} does not serve the challenge ({status} {errcode}): it did not ask for this token"
                )),
                e => fail(format!("cannot fetch the challenge from {name}: {e}")),
            })?;
        if doc["registrar"].as_str() != Some(self.config.server_name.as_str())
            || doc["server_name"].as_str() != Some(name)
            || doc["token"].as_str() != Some(token)
        {
            return Err(fail(
                "the challenge document does not match the challenge".into(),
            ));
        }
        let ts = doc["ts"]
            .as_u64()
            .ok_or_else(|| fail("challenge without ts".into()))?;
        if ts.abs_diff(now as u64) > MAX_CLOCK_SKEW_MS {
            return Err(fail("the challenge document's ts is not current".into()));
        }
        let (keys, raw) = self.fetch_key_document(name).await?;
        let mut store = KeyStore::new();
        store
            .insert_document(&keys, now as u64)
            .map_err(ApiError::internal)?;
        sign::verify_signed_by(
            Purpose::RegistrarChallenge,
            &doc,
            name,
            &store.at(now as u64),
            ts,
        )
        .map_err(|e| fail(format!("the challenge signature does not verify: {e}")))?;
        let endpoint = self.endpoint(name).await;
        let existing = self.db.server(name).await?;
        self.db
            .upsert_server(&ServerRow {
                server_name: name.to_owned(),
                endpoint,
                software_name,
                software_version,
                registration_policy: policy.to_owned(),
                key_document: raw.to_string(),
                registered_at: existing.map_or(now, |s| s.registered_at),
                verified_at: now,
                checked_at: now,
                failures: 0,
                status: "active".into(),
                locked: false,
                delisted_reason: None,
            })
            .await?;
        self.record_history(name, &keys, now).await?;
        self.server_entry(name)
            .await?
            .ok_or_else(|| ApiError::internal("registered server vanished"))
    }

    /// The directory entry of `name` (`None` when unknown or delisted).
    ///
    /// # Errors
    /// Database errors.
    pub async fn server_entry(&self, name: &str) -> ApiResult<Option<Value>> {
        Ok(self
            .db
            .server(name)
            .await?
            .filter(|s| s.status != "delisted")
            .map(|s| server_json(&s)))
    }

    /// The notary answer for `name`: its key document as last verified, signed by the
    /// registrar under `hearth.registrar-notary.v1`.
    ///
    /// # Errors
    /// 404 `R_NOT_FOUND` when `name` is not listed.
    pub async fn notary(&self, name: &str) -> ApiResult<Value> {
        let s = self
            .db
            .server(name)
            .await?
            .filter(|s| s.status != "delisted")
            .ok_or_else(|| ApiError::NotFound(format!("{name} is not registered")))?;
        let doc: Value = serde_json::from_str(&s.key_document).map_err(ApiError::internal)?;
        let valid_until = doc["valid_until_ts"]
            .as_u64()
            .unwrap_or(0)
            .min(s.verified_at as u64 + hearth_federation::keys::MAX_KEY_VALIDITY_MS);
        // Where discovery finds the server from here (a fallback for peers whose discovery
        // fails); omitted when it cannot be resolved now.
        let endpoint = match self.http.discovery().resolve(name).await {
            Ok(d) => json!({
                "host": d.host,
                "port": d.port,
                "addresses": d.addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>(),
            }),
            Err(_) => Value::Null,
        };
        let mut answer = json!({
            "registrar": self.config.server_name,
            "server_name": name,
            "endpoint": endpoint,
            "key_document": doc,
            "verified_ts": s.verified_at,
            "status": s.status,
            "valid_until_ts": valid_until,
            "ts": now_ms(),
        });
        sign::sign_json(
            Purpose::RegistrarNotary,
            &mut answer,
            &self.config.server_name,
            &self.key,
        )
        .map_err(ApiError::internal)?;
        Ok(answer)
    }

    /// Re-verifies one server (liveness): fetch its key document; success refreshes the entry
    /// and history, failure counts towards stale and delisted.
    ///
    /// # Errors
    /// Database errors.
    pub async fn reverify(&self, name: &str) -> ApiResult<bool> {
        let now = now_ms();
        match self.fetch_key_document(name).await {
            Ok((doc, raw)) => {
                let endpoint = self.endpoint(name).await;
                self.db
                    .server_verified(name, &endpoint, &raw.to_string(), now)
                    .await?;
                self.record_history(name, &doc, now).await?;
                Ok(true)
            }
            Err(e) => {
                tracing::info!(server = name, error = %e, "re-verification failed");
                self.db
                    .server_check_failed(
                        name,
                        now,
                        now - self.config.stale_after_ms as i64,
                        now - self.config.delist_after_ms as i64,
                    )
                    .await?;
                Ok(false)
            }
        }
    }

    /// One pass of the liveness task: re-verifies every server last checked more than
    /// `reverify_interval_ms` ago. Returns how many were checked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn check_due(&self) -> ApiResult<usize> {
        let due = self
            .db
            .servers_to_check(now_ms() - self.config.reverify_interval_ms as i64)
            .await?;
        for s in &due {
            self.reverify(&s.server_name).await?;
        }
        Ok(due.len())
    }

    /// Stores a guild summary after checking its shape and `hearth.guild-summary.v1` signature
    /// by `name`.
    ///
    /// # Errors
    /// 400 `R_MALFORMED`, 403 `R_NOT_REGISTERED`, 403 `R_LIMIT_EXCEEDED`, 401
    /// `H_BAD_SIGNATURE` / `H_MISSING_SIGNATURE` / `H_UNKNOWN_KEY`.
    pub async fn put_guild(&self, name: &str, guild_id: &str, summary: &Value) -> ApiResult<()> {
        self.require_listed(name).await?;
        check_guild_id(guild_id)?;
        let obj = summary
            .as_object()
            .ok_or_else(|| ApiError::Malformed("a summary is a JSON object".into()))?;
        if obj.get("server_name").and_then(Value::as_str) != Some(name)
            || obj.get("guild_id").and_then(Value::as_str) != Some(guild_id)
        {
            return Err(ApiError::Malformed(
                "server_name and guild_id must match the path".into(),
            ));
        }
        let s = |k: &str| obj.get(k).and_then(Value::as_str);
        let gname = s("name").unwrap_or("");
        if !(1..=100).contains(&gname.chars().count()) {
            return Err(ApiError::Malformed("name: 1-100 characters".into()));
        }
        let description = match obj.get("description") {
            None | Some(Value::Null) => "",
            Some(Value::String(d)) if d.chars().count() <= 300 => d.as_str(),
            _ => {
                return Err(ApiError::Malformed(
                    "description: at most 300 characters".into(),
                ));
            }
        };
        match obj.get("icon") {
            None | Some(Value::Null) => {}
            Some(Value::String(i)) if i.len() <= 256 => {}
            _ => {
                return Err(ApiError::Malformed(
                    "icon: a hash of at most 256 characters".into(),
                ));
            }
        }
        let count = |k: &str| {
            obj.get(k)
                .and_then(Value::as_i64)
                .filter(|n| (0..=1_000_000_000).contains(n))
                .ok_or_else(|| ApiError::Malformed(format!("{k}: a non-negative integer")))
        };
        let member_count = count("member_count")?;
        let online_count = count("online_count")?;
        let last_activity_ts = count_ts(obj.get("last_activity_ts"), "last_activity_ts")?;
        let ts = count_ts(obj.get("ts"), "ts")?;
        let tags: Vec<String> = match obj.get("tags") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() <= 5 => a
                .iter()
                .map(|t| {
                    t.as_str()
                        .filter(|t| {
                            (1..=24).contains(&t.len())
                                && t.bytes().all(|b| {
                                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
                                })
                        })
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ApiError::Malformed("tags: 1-24 characters of [a-z0-9-]".into())
                        })
                })
                .collect::<ApiResult<_>>()?,
            _ => return Err(ApiError::Malformed("tags: at most 5".into())),
        };
        let language = s("language").unwrap_or("");
        if language.len() > 16
            || !language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::Malformed(
                "language: a locale such as en-US".into(),
            ));
        }
        let invite = s("invite_code").unwrap_or("");
        if !(1..=32).contains(&invite.len()) || !invite.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::Malformed(
                "invite_code: 1-32 letters and digits".into(),
            ));
        }
        if ts > now_ms() as u64 + MAX_CLOCK_SKEW_MS {
            return Err(ApiError::Malformed("ts is in the future".into()));
        }
        let key_id = sign::signatures(summary)?
            .get(name)
            .and_then(|m| m.keys().next().cloned())
            .ok_or_else(|| hearth_federation::Error::MissingSignature(name.to_owned()))?;
        let store = self.keys_for(name, &key_id).await?;
        sign::verify_signed_by(
            Purpose::GuildSummary,
            summary,
            name,
            &store.at(now_ms() as u64),
            ts,
        )?;
        let (exists, total) = self.db.guild_counts(name, guild_id).await?;
        if !exists && total >= self.config.max_guilds_per_server {
            return Err(ApiError::LimitExceeded(format!(
                "at most {} guilds per server",
                self.config.max_guilds_per_server
            )));
        }
        let search_text = format!("{} {} {}", gname, description, tags.join(" ")).to_lowercase();
        self.db
            .upsert_guild(
                &crate::storage::GuildEntry {
                    server_name: name.to_owned(),
                    guild_id: guild_id.to_owned(),
                    name: gname.to_owned(),
                    member_count,
                    online_count,
                    tags: format!(" {} ", tags.join(" ")),
                    language: language.to_owned(),
                    last_activity_ts: last_activity_ts as i64,
                    search_text,
                    summary: summary.to_string(),
                },
                now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Fails with 403 `R_NOT_REGISTERED` unless `name` is registered and not delisted.
    ///
    /// # Errors
    /// As described.
    pub async fn require_listed(&self, name: &str) -> ApiResult<ServerRow> {
        self.db
            .server(name)
            .await?
            .filter(|s| s.status != "delisted")
            .ok_or_else(|| {
                ApiError::NotRegistered(format!("{name} is not a listed server: register first"))
            })
    }

    /// Stores a handle card of `name`'s user `localpart`.
    ///
    /// # Errors
    /// 400 `R_MALFORMED`, 403 `R_NOT_REGISTERED`, 403 `R_LIMIT_EXCEEDED`.
    pub async fn put_handle(&self, name: &str, localpart: &str, card: &Value) -> ApiResult<()> {
        self.require_listed(name).await?;
        let handle = format!("{localpart}@{name}");
        hearth_federation::names::parse_handle(&handle)
            .map_err(|e| ApiError::BadName(e.to_string()))?;
        let obj = card
            .as_object()
            .ok_or_else(|| ApiError::Malformed("a card is a JSON object".into()))?;
        if obj.get("handle").and_then(Value::as_str) != Some(handle.as_str()) {
            return Err(ApiError::Malformed(
                "handle must be localpart@server of the path".into(),
            ));
        }
        let mut out = serde_json::Map::new();
        out.insert("handle".into(), json!(handle));
        for (k, max) in [
            ("username", 64),
            ("global_name", 64),
            ("avatar", 256),
            ("bio", 400),
        ] {
            match obj.get(k) {
                None | Some(Value::Null) => {}
                Some(Value::String(v)) if v.chars().count() <= max => {
                    out.insert(k.into(), json!(v));
                }
                _ => {
                    return Err(ApiError::Malformed(format!(
                        "{k}: a string of at most {max} characters"
                    )));
                }
            }
        }
        if self.db.handle_count(name).await? >= self.config.max_handles_per_server {
            return Err(ApiError::LimitExceeded(
                "too many handles for this server".into(),
            ));
        }
        self.db
            .upsert_handle(&handle, name, &Value::Object(out).to_string(), now_ms())
            .await?;
        Ok(())
    }

    /// Admin: delists `name` (refusing re-registration) or relists it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_delisted(&self, name: &str, delisted: bool, reason: &str) -> ApiResult<bool> {
        Ok(self.db.set_delisted(name, delisted, reason).await?)
    }
}

fn count_ts(v: Option<&Value>, k: &str) -> ApiResult<u64> {
    v.and_then(Value::as_u64)
        .filter(|n| *n <= hearth_federation::canonical::MAX_SAFE_INTEGER)
        .ok_or_else(|| ApiError::Malformed(format!("{k}: ms since the Unix epoch")))
}

/// Guild ids are snowflakes: 1-20 decimal digits.
///
/// # Errors
/// 400 `R_MALFORMED`.
pub fn check_guild_id(id: &str) -> ApiResult<()> {
    if (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::Malformed("guild id: 1-20 digits".into()))
    }
}

/// The directory form of a server row.
pub fn server_json(s: &ServerRow) -> Value {
    let doc: Value = serde_json::from_str(&s.key_document).unwrap_or(Value::Null);
    json!({
        "server_name": s.server_name,
        "endpoint": s.endpoint,
        "software": {"name": s.software_name, "version": s.software_version},
        "registration_policy": s.registration_policy,
        "verify_keys": doc["verify_keys"],
        "old_verify_keys": doc.get("old_verify_keys").cloned().unwrap_or(json!({})),
        "revoked_keys": doc.get("revoked_keys").cloned().unwrap_or(json!({})),
        "registered_ts": s.registered_at,
        "verified_ts": s.verified_at,
        "checked_ts": s.checked_at,
        "status": s.status,
        "stale": s.status == "stale",
    })
}

/// Loads the registrar's signing key, generating and storing one on first start.
///
/// # Errors
/// Database errors or a corrupt stored key.
pub async fn load_or_create_key(db: &Db) -> Result<ServerKey, String> {
    if let Some((id, seed)) = db.signing_key().await.map_err(|e| e.to_string())? {
        let seed = b64::decode_array::<32>(&seed, "registrar key").map_err(|e| e.to_string())?;
        return ServerKey::from_seed(&id, seed).map_err(|e| e.to_string());
    }
    let key = ServerKey::generate();
    db.insert_signing_key(key.key_id(), &b64::encode(key.seed()), now_ms())
        .await
        .map_err(|e| e.to_string())?;
    // A concurrent first start may have won: use whatever is stored.
    let (id, seed) = db
        .signing_key()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("signing key vanished")?;
    let seed = b64::decode_array::<32>(&seed, "registrar key").map_err(|e| e.to_string())?;
    ServerKey::from_seed(&id, seed).map_err(|e| e.to_string())
}
