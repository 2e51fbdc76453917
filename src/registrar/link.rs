//! This server's link to its registrar (spec/registrar.md): registration and re-registration
//! on key changes, summaries of discoverable guilds and cards of opted-in users kept current
//! from the event bus, and the key-notary fallback installed in the federation client.

use super::{API, MAX_REGISTRAR_RESPONSE, guild_summary, verify_notary};
use crate::config::{Config, RegistrationPolicy};
use crate::error::{Error, Result};
use crate::events::{Audience, BusEvent, Control, Event};
use crate::s2s::client::KeyFallback;
use crate::s2s::{FedError, Federation, now_ms};
use crate::service::Hearth;
use crate::service::ports::OnlineMembers;
use hearth_federation::http::SafeHttp;
use hearth_federation::keys::{KeyDocument, PublicKey};
use hearth_federation::registrar::valid_token;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub(super) enum Job {
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
    /// Held by the running sync task; given back when it stops, so a node that loses and
    /// later retakes the registrar job lease runs it again.
    jobs_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
    online: std::sync::OnceLock<std::sync::Weak<dyn OnlineMembers>>,
    /// A cluster's record of what its nodes changed ([`Link::share_marks`]).
    marks: std::sync::OnceLock<crate::cluster::RedisRegistrarMarks>,
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
            jobs_rx: tokio::sync::Mutex::new(rx),
            online: std::sync::OnceLock::new(),
            marks: std::sync::OnceLock::new(),
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

    /// On a cluster: every node records in Redis what its changes touched
    /// ([`Link::record_changes`]) and the node running the sync takes it from there every
    /// second, so changes made through any node reach the registrar between full syncs.
    pub fn share_marks(&self, marks: crate::cluster::RedisRegistrarMarks) {
        let _ = self.marks.set(marks);
    }

    /// On a cluster, on every node (until the task is dropped): records the guilds and
    /// users that this node's events concern for the registrar sync, whichever node runs it
    /// (a lag behind the bus records that a full sync is due).
    pub async fn record_changes(self: Arc<Self>, h: Arc<Hearth>) {
        let Some(marks) = self.marks.get() else {
            return;
        };
        let mut bus = h.bus.subscribe();
        loop {
            let first = bus.recv().await;
            let mut events = vec![first];
            while let Ok(ev) = bus.try_recv() {
                events.push(Ok(ev));
            }
            let (mut guilds, mut users, mut full) = (HashSet::new(), HashSet::new(), false);
            for ev in events {
                match ev {
                    Ok(ev) => concerns(&ev, &mut guilds, &mut users),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => full = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
            if full || !guilds.is_empty() || !users.is_empty() {
                let (g, u): (Vec<i64>, Vec<i64>) =
                    (guilds.into_iter().collect(), users.into_iter().collect());
                marks.mark(&g, &u, full).await;
            }
        }
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
        let key = self.fed.keyring.current().key_id().to_owned();
        let error = res.as_ref().err().map(|e| e.sentences());
        self.status.send_modify(|s| match &error {
            None => {
                s.registrations += 1;
                s.registered_key = Some(key.clone());
                s.last_error = None;
            }
            Some(e) => s.last_error = Some(e.clone()),
        });
        // For `hearth admin registrar status` (another process).
        let outcome = error.as_deref().map_or(Ok(key.as_str()), Err);
        if let Err(e) =
            h.db.record_registrar_attempt(&self.base, outcome, now_ms() as i64)
                .await
        {
            tracing::warn!(error = %e, "cannot record the registrar link's state");
        }
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
    /// retries (1 s doubling up to `refresh_secs`), then incremental updates from the event bus
    /// (on a cluster: from the marks of every node, taken every second),
    /// re-registration when this server's current key changes, and a full sync every
    /// `refresh_secs`.
    pub async fn run(self: Arc<Self>, h: Arc<Hearth>) {
        let mut jobs = self.jobs_rx.lock().await;
        // On a cluster the changes of every node, this one's included, come from the marks.
        let marks = self.marks.get();
        let mut bus = marks.is_none().then(|| h.bus.subscribe());
        let mut take_marks = tokio::time::interval(Duration::from_secs(1));
        let mut need_full = true;
        let mut backoff = Duration::from_secs(1);
        let mut next_full = tokio::time::Instant::now();
        let mut key_check = tokio::time::interval(Duration::from_secs(1));
        let mut dirty_guilds: HashSet<i64> = HashSet::new();
        let mut dirty_users: HashSet<i64> = HashSet::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_full) => { need_full = true; }
                ev = async {
                    match bus.as_mut() {
                        Some(b) => b.recv().await,
                        None => std::future::pending().await,
                    }
                } => match ev {
                    Ok(ev) => concerns(&ev, &mut dirty_guilds, &mut dirty_users),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => need_full = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = take_marks.tick(), if marks.is_some() => {
                    if let Some(m) = marks {
                        let (g, u, full) = m.take().await;
                        dirty_guilds.extend(g);
                        dirty_users.extend(u);
                        need_full |= full;
                    }
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

/// Adds the guilds whose summaries and the users whose handle cards `ev` may change.
fn concerns(ev: &BusEvent, guilds: &mut HashSet<i64>, users: &mut HashSet<i64>) {
    match ev {
        BusEvent::Dispatch(d) => {
            if matches!(
                d.event,
                Event::GuildUpdate
                    | Event::GuildDelete
                    | Event::GuildMemberAdd
                    | Event::GuildMemberRemove
            ) && let Audience::Guild { guild_id, .. } = &d.audience
            {
                guilds.insert(guild_id.db());
            }
            if d.event == Event::UserUpdate
                && let Audience::Users(list) = &d.audience
            {
                users.extend(list.iter().map(|u| u.db()));
            }
        }
        BusEvent::Control(
            Control::GuildDeleted { guild_id }
            | Control::MemberJoined { guild_id, .. }
            | Control::MemberLeft { guild_id, .. },
        ) => {
            guilds.insert(guild_id.db());
        }
        // Marks are the gateway's (a cluster bus's feed only).
        BusEvent::Control(_) | BusEvent::Mark(_) => {}
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
