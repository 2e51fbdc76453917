//! Registrar integration of the homeserver (issue 5; spec/registrar.md).
//!
//! - [`SafeHttp`] ([`hearth_federation::http`]): outbound HTTPS with the federation transport
//!   rules; the homeserver uses it to call the registrar.
//! - [`Link`]: this server's side. With `registrar.url` set, a background task ([`Link::run`])
//!   registers at start-up (retrying with backoff while the registrar is down; federation never
//!   waits for it), re-registers on every key change and every `registrar.refresh_secs`, and
//!   keeps the summaries of discoverable guilds and the cards of opted-in users current.
//! - The challenge document (`GET /.well-known/hearth/registrar-challenge/{token}`) is served
//!   only for a token this server asked a registrar for (stored in `registrar_challenges`),
//!   signed under `hearth.registrar-challenge.v1`.
//! - The notary fallback ([`crate::s2s::client::KeyFallback`]): when a peer's key endpoint is
//!   unreachable, its keys as last verified by the registrar; when discovery of a peer fails,
//!   the endpoint where the registrar found it (its own host only, so TLS still authenticates
//!   the peer). Accepted only with a valid signature by the pinned `registrar.public_key`.
//! - Client routes: `GET /discovery/guilds`, `GET /discovery/servers`,
//!   `GET /discovery/users/{handle}`, `GET|PATCH /discovery/@me`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_federation::keys::{KeyDocument, PublicKey};
use hearth_federation::sign::{self, Purpose};
use parking_lot::Mutex;
use rand::Rng as _;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::config::{Config, RegistrationPolicy};
use crate::error::{Error, FedRefusal, Result};
use crate::events::{Audience, BusEvent, Control, Event};
use crate::http::Auth;
use crate::s2s::client::KeyFallback;
use crate::s2s::inbound::FedRejection;
use crate::s2s::{FedError, Federation, now_ms};
use crate::service::Hearth;
use crate::service::ports::OnlineMembers;
use crate::snowflake::Snowflake;
use crate::storage::{DiscoverableGuildRow, InviteRow};

pub use hearth_federation::http::SafeHttp;
pub use hearth_federation::registrar::{CHALLENGE_PATH, valid_token};

/// Prefix of every registrar endpoint.
pub const API: &str = "/_registrar/v1";
/// Largest answer read from the registrar.
pub const MAX_REGISTRAR_RESPONSE: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Shared checks

/// Verifies a notary answer (spec/registrar.md "Key notary"): a
/// `hearth.registrar-notary.v1` signature by the registrar with `registrar_key`, the
/// `server_name` asked for, and the enclosed key document's own self-signature. Returns the
/// key document, its `valid_until_ts` capped by the answer's.
///
/// # Errors
/// A description of the first failed check.
pub fn verify_notary(
    answer: &Value,
    registrar_key: &PublicKey,
    server_name: &str,
    now: u64,
) -> std::result::Result<KeyDocument, String> {
    let registrar = answer["registrar"]
        .as_str()
        .ok_or("notary answer without registrar")?;
    let sigs = sign::signatures(answer).map_err(|e| e.to_string())?;
    let ok = sigs.get(registrar).is_some_and(|m| {
        m.keys().any(|id| {
            sign::verify_signature(
                Purpose::RegistrarNotary,
                answer,
                registrar,
                id,
                registrar_key,
            )
            .is_ok()
        })
    });
    if !ok {
        return Err("notary answer is not signed by the pinned registrar key".into());
    }
    if answer["server_name"].as_str() != Some(server_name) {
        return Err("notary answer is about another server".into());
    }
    let valid_until = answer["valid_until_ts"]
        .as_u64()
        .ok_or("notary answer without valid_until_ts")?;
    if valid_until <= now {
        return Err("notary answer expired".into());
    }
    let mut doc =
        KeyDocument::verify(&answer["key_document"], server_name).map_err(|e| e.to_string())?;
    doc.valid_until_ts = doc.valid_until_ts.min(valid_until);
    if doc.valid_until_ts <= now {
        return Err("notarised key document expired".into());
    }
    Ok(doc)
}

// ---------------------------------------------------------------------------------------
// The link

enum Job {
    Guild(i64),
    User(i64),
}

/// What the link has done so far (for operators and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// Successful registrations since start.
    pub registrations: u64,
    /// The key id current at the last successful registration.
    pub registered_key: Option<String>,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
    /// Completed full synchronisations (registration, summaries, handles).
    pub full_syncs: u64,
}

/// This server's link to its registrar (see the module docs).
pub struct Link {
    base: String,
    pinned: Option<PublicKey>,
    refresh: Duration,
    server_name: String,
    http: SafeHttp,
    fed: Arc<Federation>,
    registrar_name: Mutex<Option<String>>,
    status: watch::Sender<LinkStatus>,
    jobs: mpsc::UnboundedSender<Job>,
    jobs_rx: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
    online: std::sync::OnceLock<std::sync::Weak<dyn OnlineMembers>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.base)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// The link for `config.registrar` (`None` without `registrar.url`). Installs the notary
    /// fallback in the federation client when `registrar.public_key` is pinned.
    ///
    /// # Errors
    /// A `registrar.url` that is not `https://`, a malformed `registrar.public_key`, or an
    /// HTTP client that cannot be built.
    pub fn new(config: &Config, fed: &Arc<Federation>) -> Result<Option<Arc<Link>>> {
        let Some(url) = &config.registrar.url else {
            return Ok(None);
        };
        let base = url.trim_end_matches('/').to_owned();
        if !base.starts_with("https://") {
            return Err(Error::internal(format!(
                "registrar.url {url:?} must be an https:// URL"
            )));
        }
        let pinned = match &config.registrar.public_key {
            Some(k) => Some(
                PublicKey::from_b64(k.trim())
                    .map_err(|e| Error::internal(format!("registrar.public_key: {e}")))?,
            ),
            None => None,
        };
        let roots = crate::s2s::tls::load_roots(&config.federation.extra_ca_certs)
            .map_err(Error::Internal)?;
        let http = SafeHttp::with_discovery(
            &config.federation.discovery_config(),
            &roots,
            fed.discovery.clone(),
        )
        .map_err(Error::Internal)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let link = Arc::new(Link {
            base,
            pinned,
            refresh: Duration::from_secs(config.registrar.refresh_secs.max(1)),
            server_name: config.server_name.clone(),
            http,
            fed: fed.clone(),
            registrar_name: Mutex::new(None),
            status: watch::channel(LinkStatus::default()).0,
            jobs: tx,
            jobs_rx: Mutex::new(Some(rx)),
            online: std::sync::OnceLock::new(),
        });
        if link.pinned.is_some() {
            fed.client.set_key_fallback(link.clone());
        }
        Ok(Some(link))
    }

    /// Lets summaries count online members (users with a connected gateway session).
    pub fn set_online(&self, online: std::sync::Weak<dyn OnlineMembers>) {
        let _ = self.online.set(online);
    }

    /// Members of `guild_id` with at least one connected gateway session.
    fn online_count(&self, guild_id: i64) -> i64 {
        let Some(gw) = self.online.get().and_then(std::sync::Weak::upgrade) else {
            return 0;
        };
        gw.online_members(guild_id)
    }

    /// The registrar's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Watches the link's status (registrations, errors).
    pub fn status(&self) -> watch::Receiver<LinkStatus> {
        self.status.subscribe()
    }

    fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The registrar's server name, from its `/info` (checked against the pinned key).
    ///
    /// # Errors
    /// The registrar is unreachable, or its key is not the pinned one.
    pub async fn registrar_name(&self) -> std::result::Result<String, FedError> {
        if let Some(n) = self.registrar_name.lock().clone() {
            return Ok(n);
        }
        let info = self
            .http
            .request_url(
                Method::GET,
                &self.url_of(&format!("{API}/info")),
                None,
                None,
                64 * 1024,
            )
            .await?;
        let name = info["server_name"]
            .as_str()
            .ok_or_else(|| FedError::InvalidResponse("registrar info without server_name".into()))?
            .to_owned();
        if let Some(pinned) = &self.pinned {
            let listed = info["verify_keys"]
                .as_object()
                .is_some_and(|m| m.values().any(|k| k["key"] == pinned.to_b64()));
            if !listed {
                return Err(FedError::InvalidResponse(
                    "the registrar does not present the pinned registrar.public_key".into(),
                ));
            }
        }
        *self.registrar_name.lock() = Some(name.clone());
        Ok(name)
    }

    /// A request to the registrar signed by this server (`Authorization: X-Hearth`).
    ///
    /// # Errors
    /// [`FedError`].
    pub async fn signed(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> std::result::Result<Value, FedError> {
        let registrar = self.registrar_name().await?;
        let bytes = match body {
            Some(v) => {
                serde_json::to_vec(v).map_err(|e| FedError::InvalidRequest(e.to_string()))?
            }
            None => Vec::new(),
        };
        let auth = self
            .fed
            .client
            .authorization(&registrar, &method, path_and_query, &bytes)?;
        self.http
            .request_url(
                method,
                &self.url_of(path_and_query),
                Some(&auth),
                body.map(|_| bytes),
                MAX_REGISTRAR_RESPONSE,
            )
            .await
    }

    /// An unauthenticated GET of a registrar path.
    ///
    /// # Errors
    /// [`FedError`].
    pub async fn get(&self, path_and_query: &str) -> std::result::Result<Value, FedError> {
        self.http
            .request_url(
                Method::GET,
                &self.url_of(path_and_query),
                None,
                None,
                MAX_REGISTRAR_RESPONSE,
            )
            .await
    }

    /// Registers (or re-registers) this server: asks for a challenge token, records it as
    /// pending, and submits it; the registrar then fetches the signed challenge document from
    /// this server's domain. Returns the registrar's entry for this server.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the registrar is unreachable or refuses.
    pub async fn register(&self, h: &Hearth) -> Result<Value> {
        let res = self.register_inner(h).await;
        self.status.send_modify(|s| match &res {
            Ok(_) => {
                s.registrations += 1;
                s.registered_key = Some(self.fed.keyring.current().key_id().to_owned());
                s.last_error = None;
            }
            Err(e) => s.last_error = Some(e.to_string()),
        });
        res
    }

    async fn register_inner(&self, h: &Hearth) -> Result<Value> {
        let registrar = self.registrar_name().await?;
        let me = &self.server_name;
        let ch = self
            .signed(
                Method::POST,
                &format!("{API}/servers/{me}/challenge"),
                Some(&json!({})),
            )
            .await?;
        let token = ch["token"].as_str().unwrap_or_default().to_owned();
        if !valid_token(&token) || ch["server_name"].as_str() != Some(me) {
            return Err(Error::Unavailable(
                "registrar: malformed challenge answer".into(),
            ));
        }
        let now = crate::storage::now_ms();
        let expires = ch["expires_ts"]
            .as_i64()
            .unwrap_or(now + 600_000)
            .min(now + 3_600_000);
        h.db.insert_registrar_challenge(&token, &registrar, now, expires)
            .await?;
        let policy = match h.config.registration {
            RegistrationPolicy::Open => "open",
            RegistrationPolicy::InviteOnly => "invite_only",
            RegistrationPolicy::Closed => "closed",
        };
        let body = json!({
            "token": token,
            "software": {"name": "hearth", "version": env!("CARGO_PKG_VERSION")},
            "registration_policy": policy,
        });
        let res = self
            .signed(Method::PUT, &format!("{API}/servers/{me}"), Some(&body))
            .await;
        h.db.delete_registrar_challenge(&token, crate::storage::now_ms())
            .await?;
        Ok(res?)
    }

    /// Publishes or withdraws the summary of one guild.
    ///
    /// # Errors
    /// Database or registrar errors.
    pub async fn sync_guild(&self, h: &Hearth, guild_id: i64) -> Result<()> {
        let me = &self.server_name;
        let path = format!("{API}/servers/{me}/guilds/{guild_id}");
        match guild_summary(h, &self.fed, guild_id, self.online_count(guild_id)).await? {
            Some(summary) => {
                self.signed(Method::PUT, &path, Some(&summary)).await?;
            }
            None => match self.signed(Method::DELETE, &path, None).await {
                Ok(_) => {}
                Err(FedError::Remote { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            },
        }
        Ok(())
    }

    /// Publishes or withdraws the handle card of one local user.
    ///
    /// # Errors
    /// Database or registrar errors.
    pub async fn sync_user(&self, h: &Hearth, user_id: i64) -> Result<()> {
        let Some(u) = h.db.user(user_id).await? else {
            return Ok(());
        };
        if u.home_server.is_some() {
            return Ok(());
        }
        let me = &self.server_name;
        let path = format!("{API}/servers/{me}/handles/{}", u.username);
        if h.db.user_discoverable(user_id).await? {
            let card = json!({
                "handle": format!("{}@{me}", u.username),
                "username": u.username,
                "global_name": u.global_name,
                "avatar": u.avatar,
                "bio": u.bio,
            });
            self.signed(Method::PUT, &path, Some(&card)).await?;
        } else {
            match self.signed(Method::DELETE, &path, None).await {
                Ok(_) | Err(FedError::Remote { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Registers, then publishes every discoverable guild and opted-in user and withdraws
    /// guilds the registrar lists that are no longer discoverable.
    ///
    /// # Errors
    /// The first failure.
    pub async fn full_sync(&self, h: &Hearth) -> Result<()> {
        self.register(h).await?;
        let me = &self.server_name;
        let mut listed: HashSet<i64> = HashSet::new();
        let mut offset = 0u64;
        loop {
            let page = self
                .get(&format!(
                    "{API}/guilds?server={me}&limit=50&offset={offset}"
                ))
                .await?;
            let results = page["results"].as_array().cloned().unwrap_or_default();
            for r in &results {
                if let Some(id) = r["guild_id"].as_str().and_then(|s| s.parse().ok()) {
                    listed.insert(id);
                }
            }
            match page["next_offset"].as_u64() {
                Some(n) if n > offset && !results.is_empty() && offset < 10_000 => offset = n,
                _ => break,
            }
        }
        for g in h.db.discoverable_guilds().await? {
            listed.remove(&g.id);
            self.sync_guild(h, g.id).await?;
        }
        for id in listed {
            self.sync_guild(h, id).await?;
        }
        for u in h.db.discoverable_users().await? {
            self.sync_user(h, u.id).await?;
        }
        self.status.send_modify(|s| s.full_syncs += 1);
        Ok(())
    }

    /// Asks the background task to resync the summary of `guild_id`.
    pub fn guild_changed(&self, guild_id: i64) {
        let _ = self.jobs.send(Job::Guild(guild_id));
    }

    /// Asks the background task to resync the handle card of `user_id`.
    pub fn user_changed(&self, user_id: i64) {
        let _ = self.jobs.send(Job::User(user_id));
    }

    /// The background task (spawned by [`crate::App::serve`]): full sync at start-up with
    /// retries (1 s doubling up to `refresh_secs`), then incremental updates from the event bus,
    /// re-registration when this server's current key changes, and a full sync every
    /// `refresh_secs`.
    pub async fn run(self: Arc<Self>, h: Arc<Hearth>) {
        let Some(mut jobs) = self.jobs_rx.lock().take() else {
            return;
        };
        let mut bus = h.bus.subscribe();
        let mut need_full = true;
        let mut backoff = Duration::from_secs(1);
        let mut next_full = tokio::time::Instant::now();
        let mut key_check = tokio::time::interval(Duration::from_secs(1));
        let mut dirty_guilds: HashSet<i64> = HashSet::new();
        let mut dirty_users: HashSet<i64> = HashSet::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_full) => { need_full = true; }
                ev = bus.recv() => match ev {
                    Ok(BusEvent::Dispatch(d)) => {
                        if matches!(d.event, Event::GuildUpdate | Event::GuildDelete | Event::GuildMemberAdd | Event::GuildMemberRemove)
                            && let Audience::Guild { guild_id, .. } = &d.audience
                        {
                            dirty_guilds.insert(guild_id.db());
                        }
                        if d.event == Event::UserUpdate
                            && let Audience::Users(users) = &d.audience
                        {
                            dirty_users.extend(users.iter().map(|u| u.db()));
                        }
                    }
                    Ok(BusEvent::Control(c)) => match c {
                        Control::GuildDeleted { guild_id }
                        | Control::MemberJoined { guild_id, .. }
                        | Control::MemberLeft { guild_id, .. } => {
                            dirty_guilds.insert(guild_id.db());
                        }
                        _ => {}
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => need_full = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                j = jobs.recv() => match j {
                    Some(Job::Guild(g)) => { dirty_guilds.insert(g); }
                    Some(Job::User(u)) => { dirty_users.insert(u); }
                    None => return,
                },
                _ = key_check.tick() => {
                    let current = self.fed.keyring.current().key_id().to_owned();
                    let st = self.status.borrow().clone();
                    if st.registrations > 0
                        && st.registered_key.as_deref() != Some(current.as_str())
                        && let Err(e) = self.register(&h).await
                    {
                        tracing::warn!(error = %e, "registrar: re-registration after a key change failed");
                    }
                }
            }
            if need_full && tokio::time::Instant::now() >= next_full {
                match self.full_sync(&h).await {
                    Ok(()) => {
                        need_full = false;
                        backoff = Duration::from_secs(1);
                        next_full = tokio::time::Instant::now() + self.refresh;
                        dirty_guilds.clear();
                        dirty_users.clear();
                    }
                    Err(e) => {
                        tracing::info!(error = %e, retry_in = ?backoff, "registrar: sync failed");
                        next_full = tokio::time::Instant::now() + backoff;
                        backoff = (backoff * 2).min(self.refresh);
                    }
                }
                continue;
            }
            if need_full {
                continue;
            }
            for g in std::mem::take(&mut dirty_guilds) {
                if let Err(e) = self.sync_guild(&h, g).await {
                    tracing::info!(error = %e, guild = g, "registrar: guild sync failed");
                    need_full = true;
                }
            }
            for u in std::mem::take(&mut dirty_users) {
                if let Err(e) = self.sync_user(&h, u).await {
                    tracing::info!(error = %e, user = u, "registrar: handle sync failed");
                    need_full = true;
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl KeyFallback for Link {
    async fn destination(&self, server_name: &str) -> Option<crate::s2s::Destination> {
        let pinned = self.pinned?;
        let answer = self
            .get(&format!("{API}/notary/{server_name}"))
            .await
            .ok()?;
        verify_notary(&answer, &pinned, server_name, now_ms()).ok()?;
        let ep = &answer["endpoint"];
        let host = ep["host"].as_str()?.to_ascii_lowercase();
        let port = u16::try_from(ep["port"].as_u64()?).ok()?;
        // Only the server name's own host: its certificate then still authenticates the peer.
        let (name_host, name_port) = match server_name.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok()),
            None => (server_name, None),
        };
        if host != name_host || name_port.is_some_and(|p| p != port) {
            return None;
        }
        let allow_private = self.http.discovery().allows_private();
        let addrs: Vec<std::net::SocketAddr> = ep["addresses"]
            .as_array()?
            .iter()
            .filter_map(|a| a.as_str()?.parse::<std::net::IpAddr>().ok())
            .filter(|ip| allow_private || crate::s2s::discovery::is_public_ip(*ip))
            .take(16)
            .map(|ip| std::net::SocketAddr::new(ip, port))
            .collect();
        if addrs.is_empty() {
            return None;
        }
        Some(crate::s2s::Destination {
            server_name: server_name.to_owned(),
            host,
            port,
            addrs,
            via: crate::s2s::discovery::Via::Default,
        })
    }

    async fn key_document(&self, server_name: &str) -> Option<KeyDocument> {
        let pinned = self.pinned?;
        let answer = match self.get(&format!("{API}/notary/{server_name}")).await {
            Ok(a) => a,
            Err(e) => {
                tracing::info!(peer = server_name, error = %e, "registrar notary unavailable");
                return None;
            }
        };
        match verify_notary(&answer, &pinned, server_name, now_ms()) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(peer = server_name, error = %e, "registrar notary answer rejected");
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Guild summaries

const INVITE_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Whether a stored channel kind is a guild text channel.
fn is_text(kind: i64) -> bool {
    crate::wire::ChannelType::from_db(kind) == crate::wire::ChannelType::GuildText
}

/// The permanent invite a discoverable guild is joined through: an existing one that never
/// expires, or a new one in the system channel (else the first text channel) by the owner.
async fn directory_invite(h: &Hearth, g: &DiscoverableGuildRow) -> Result<Option<String>> {
    let invites = h.db.invites_of_guild(g.id).await?;
    if let Some(i) = invites
        .iter()
        .find(|i| i.max_age == 0 && i.max_uses == 0 && !i.temporary)
    {
        return Ok(Some(i.code.clone()));
    }
    let channels = h.db.channels(g.id).await?;
    let channel = g
        .system_channel_id
        .filter(|id| channels.iter().any(|c| c.id == *id && is_text(c.kind)))
        .or_else(|| channels.iter().find(|c| is_text(c.kind)).map(|c| c.id));
    let Some(channel_id) = channel else {
        return Ok(None);
    };
    let code: String = {
        let mut rng = rand::rng();
        (0..10)
            .map(|_| INVITE_ALPHABET[rng.random_range(0..INVITE_ALPHABET.len())] as char)
            .collect()
    };
    h.db.insert_invite(&InviteRow {
        code: code.clone(),
        guild_id: g.id,
        channel_id,
        inviter_id: g.owner_id,
        max_age: 0,
        max_uses: 0,
        uses: 0,
        temporary: false,
        created_at: crate::storage::now_ms(),
    })
    .await?;
    Ok(Some(code))
}

/// The signed summary of guild `guild_id` (with `online_count` members online), or `None`
/// when it is not discoverable, not hosted here, or gone (spec/registrar.md "Guild summary").
///
/// # Errors
/// Database errors.
pub async fn guild_summary(
    h: &Hearth,
    fed: &Federation,
    guild_id: i64,
    online_count: i64,
) -> Result<Option<Value>> {
    let Some(g) = h.db.discoverable_guild(guild_id).await? else {
        return Ok(None);
    };
    if !g.discoverable || g.host_server.is_some() {
        return Ok(None);
    }
    let Some(invite) = directory_invite(h, &g).await? else {
        return Ok(None);
    };
    let member_count = h.db.member_count(g.id).await?;
    let last_activity =
        h.db.guild_last_message_id(g.id)
            .await?
            .map(|id| Snowflake::from_db(id).timestamp_ms())
            .unwrap_or_else(|| Snowflake::from_db(g.id).timestamp_ms());
    let tags: Vec<&str> = g.discovery_tags.split_whitespace().collect();
    let mut v = json!({
        "server_name": fed.server_name,
        "guild_id": g.id.to_string(),
        "name": g.name,
        "description": g.description,
        "icon": g.icon,
        "member_count": member_count,
        "online_count": online_count,
        "tags": tags,
        "language": g.preferred_locale,
        "invite_code": invite,
        "last_activity_ts": last_activity,
        "ts": now_ms(),
    });
    sign::sign_json(
        Purpose::GuildSummary,
        &mut v,
        &fed.server_name,
        &fed.keyring.current(),
    )
    .map_err(Error::internal)?;
    Ok(Some(v))
}

// ---------------------------------------------------------------------------------------
// Routes

/// State of the registrar link's routes: the services, the federation layer (the server's
/// name and key) and the link itself (`None` without `registrar.url`).
#[derive(Clone)]
pub struct LinkApi {
    pub hearth: Arc<Hearth>,
    pub fed: Arc<Federation>,
    pub link: Option<Arc<Link>>,
}

impl axum::extract::FromRef<LinkApi> for Arc<Hearth> {
    fn from_ref(s: &LinkApi) -> Arc<Hearth> {
        s.hearth.clone()
    }
}

impl LinkApi {
    /// The link; 503 when no registrar is configured.
    fn link(&self) -> Result<&Arc<Link>> {
        self.link
            .as_ref()
            .ok_or_else(|| Error::Unavailable("no registrar is configured".into()))
    }
}

/// Federation-listener routes: the challenge document.
pub fn federation_routes() -> Router<LinkApi> {
    Router::new().route(
        &format!("{CHALLENGE_PATH}/{{token}}"),
        get(challenge_document),
    )
}

/// `GET /.well-known/hearth/registrar-challenge/{token}`: the signed challenge document for a
/// token of this server's own pending registration; 404 `H_NOT_FOUND` for any other token.
async fn challenge_document(State(s): State<LinkApi>, Path(token): Path<String>) -> Response {
    let h = &s.hearth;
    if !valid_token(&token) {
        return FedRejection::refuse(FedRefusal::NotFound("no such challenge".into()))
            .into_response();
    }
    let registrar = match h
        .db
        .registrar_challenge(&token, crate::storage::now_ms())
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => {
            return FedRejection::refuse(FedRefusal::NotFound("no such challenge".into()))
                .into_response();
        }
        Err(e) => return FedRejection(e).into_response(),
    };
    let mut doc = json!({
        "registrar": registrar,
        "server_name": s.fed.server_name,
        "token": token,
        "ts": now_ms(),
    });
    match sign::sign_json(
        Purpose::RegistrarChallenge,
        &mut doc,
        &s.fed.server_name,
        &s.fed.keyring.current(),
    ) {
        Ok(()) => Json(doc).into_response(),
        Err(e) => Error::internal(e).into_response(),
    }
}

/// Client routes (mounted under `/api/v10` with the API's rate limits).
pub fn client_routes() -> Router<LinkApi> {
    Router::new()
        .route("/discovery/guilds", get(discovery_guilds))
        .route("/discovery/servers", get(discovery_servers))
        .route("/discovery/users/{handle}", get(discovery_user))
        .route("/discovery/@me", get(my_discovery).patch(set_my_discovery))
}

/// Query parameters passed through to the registrar's guild search.
const GUILD_QUERY_KEYS: [&str; 8] = [
    "q",
    "tag",
    "language",
    "server",
    "min_members",
    "sort",
    "limit",
    "offset",
];

fn passthrough(raw: Option<&str>, allowed: &[&str]) -> Result<String> {
    let mut out = reqwest::Url::parse("https://x/").map_err(Error::internal)?;
    {
        let mut pairs = out.query_pairs_mut();
        for (k, v) in reqwest::Url::parse(&format!("https://x/?{}", raw.unwrap_or("")))
            .map_err(Error::internal)?
            .query_pairs()
        {
            if allowed.contains(&k.as_ref()) {
                if v.len() > 256 {
                    return Err(crate::error::field_error(
                        k.as_ref(),
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 256 or fewer in length.",
                    ));
                }
                pairs.append_pair(&k, &v);
            }
        }
    }
    Ok(out.query().unwrap_or("").to_owned())
}

fn registrar_error(e: FedError) -> Error {
    match e {
        FedError::Remote { status, error, .. } if status == 400 || status == 422 => {
            crate::error::field_error("q", "BASE_TYPE_BAD_VALUE", error)
        }
        FedError::Remote { status: 429, .. } => Error::RateLimited {
            retry_after: 1.0,
            global: false,
            scope: "registrar",
        },
        e => Error::Unavailable(format!("registrar: {e}")),
    }
}

/// `GET /discovery/guilds?q=&tag=&language=&server=&min_members=&sort=&limit=&offset=`: the
/// registrar's search, each summary's signature checked against its server's keys; every
/// result carries `join_code` (`code@server`) for `POST /invites/{join_code}`.
async fn discovery_guilds(
    State(api): State<LinkApi>,
    Auth(_a): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let link = api.link()?;
    let query = passthrough(raw.as_deref(), &GUILD_QUERY_KEYS)?;
    let page = link
        .get(&format!("{API}/guilds?{query}"))
        .await
        .map_err(registrar_error)?;
    let mut guilds = Vec::new();
    for s in page["results"].as_array().cloned().unwrap_or_default() {
        let Some(server) = s["server_name"].as_str().map(str::to_owned) else {
            continue;
        };
        if !verify_summary(&api.fed, &s, &server).await {
            tracing::info!(server, "dropping a guild summary that does not verify");
            continue;
        }
        let code = s["invite_code"].as_str().unwrap_or_default();
        let join_code = if server == api.fed.server_name {
            code.to_owned()
        } else {
            format!("{code}@{server}")
        };
        let mut out = s.clone();
        if let Some(o) = out.as_object_mut() {
            o.remove("signatures");
            o.insert("join_code".into(), json!(join_code));
        }
        guilds.push(out);
    }
    Ok(Json(json!({
        "guilds": guilds,
        "total": page["total"],
        "next_offset": page["next_offset"],
    })))
}

async fn verify_summary(fed: &Federation, s: &Value, server: &str) -> bool {
    let ts = s["ts"].as_u64().unwrap_or(0);
    let sigs = sign::signatures(s).unwrap_or_default();
    let Some(key_id) = sigs.get(server).and_then(|m| m.keys().next()).cloned() else {
        return false;
    };
    if fed.client.ensure_key(server, &key_id).await.is_err() {
        return false;
    }
    sign::verify_signed_by(Purpose::GuildSummary, s, server, &fed.client.keys(), ts).is_ok()
}

/// `GET /discovery/servers?limit=&offset=`: the registrar's server directory.
async fn discovery_servers(
    State(s): State<LinkApi>,
    Auth(_a): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let link = s.link()?;
    let query = passthrough(raw.as_deref(), &["limit", "offset", "include_stale"])?;
    let page = link
        .get(&format!("{API}/servers?{query}"))
        .await
        .map_err(registrar_error)?;
    Ok(Json(page))
}

/// `GET /discovery/users/{handle}`: exact handle lookup at the registrar (404 10013 when
/// unknown or not opted in).
async fn discovery_user(
    State(s): State<LinkApi>,
    Auth(_a): Auth,
    Path(handle): Path<String>,
) -> Result<Json<Value>> {
    let link = s.link()?;
    if hearth_federation::names::parse_handle(&handle).is_err() {
        return Err(crate::error::field_error(
            "handle",
            "BASE_TYPE_BAD_VALUE",
            "Expected localpart@server.",
        ));
    }
    match link.get(&format!("{API}/handles/{handle}")).await {
        Ok(v) => Ok(Json(v)),
        Err(FedError::Remote { status: 404, .. }) => {
            Err(Error::Unknown(crate::error::Unknown::User))
        }
        Err(e) => Err(registrar_error(e)),
    }
}

/// `GET /discovery/@me`: `{discoverable}` (handle lookup opt-in).
async fn my_discovery(State(s): State<LinkApi>, Auth(a): Auth) -> Result<Json<Value>> {
    let on = s.hearth.db.user_discoverable(a.user.id).await?;
    Ok(Json(json!({ "discoverable": on })))
}

/// `PATCH /discovery/@me` `{discoverable: bool}`: opt in to (or out of) handle lookup.
async fn set_my_discovery(
    State(s): State<LinkApi>,
    Auth(a): Auth,
    crate::http::Body(body): crate::http::Body<Value>,
) -> Result<Json<Value>> {
    let Some(on) = body["discoverable"].as_bool() else {
        return Err(crate::error::field_error(
            "discoverable",
            "BASE_TYPE_REQUIRED",
            "This field is required and must be a boolean.",
        ));
    };
    if a.user.bot || a.user.home_server.is_some() {
        return Err(Error::MissingPermissions);
    }
    s.hearth.db.set_user_discoverable(a.user.id, on).await?;
    if let Some(l) = &s.link {
        l.user_changed(a.user.id);
    }
    Ok(Json(json!({ "discoverable": on })))
}
