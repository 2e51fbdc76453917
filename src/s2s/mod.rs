//! Server-to-server transport (issue 4; spec/federation.md): this server's keys, discovery of
//! peers, the signed outbound client, inbound request authentication and the federation
//! routes. Guild replication builds on it (`s2s::guild*`).
//!
//! - A service calls a peer with `hearth.fed.client.request(dest, Method::PUT, path, Some(&body))`
//!   (or [`Federation::request`]); the request is signed with the current key and sent over
//!   HTTPS to the destination [`discovery`] finds.
//! - An inbound handler takes an [`inbound::SignedRequest`] extractor; `req.origin` is the
//!   authenticated sending server. Handlers answer errors with [`inbound::FedRejection`].
//! - Event verification uses [`client::FederationClient::ensure_key`] (async, fetches keys)
//!   then `hearth.fed.client.keys()` (a sync `KeyLookup`).
//!
//! Routes ([`router`]) are served on the federation listener when `federation.listen` is set
//! (HTTPS when `tls_cert`/`tls_key` are set), otherwise on the main listener.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hearth_federation::MAX_CLOCK_SKEW_MS;
use hearth_federation::request::{
    AuthHeader, Incoming, ReplayGuard, VerifiedRequest, verify_request,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::config::{Config, FederationConfig};
use crate::error::{Error, FedRefusal, Result};
use crate::service::Hearth;
use crate::storage::Db;

mod actions;
mod apply;
pub mod client;
pub mod delivery;
pub mod discovery;
pub mod endpoints;
pub mod guild_api;
pub mod guild_log;
mod history;
pub mod host;
pub mod inbound;
pub mod keys;
pub mod media;
pub mod notices;
mod outbox;
pub mod replica;
pub mod sizes;
pub mod translate;

pub use client::{FederationClient, KeysView};
pub use discovery::{Destination, Discovery, DiscoveryError, Step};
pub use hearth_federation::http::FedError;
pub use hearth_federation::policy::DomainPolicy;
/// TLS listener and trust roots: [`hearth_federation::tls`].
pub use hearth_federation::tls;
pub use inbound::{FedRejection, SignedRequest};
pub use keys::{CLI_ROTATION_GRACE_MS, KeyInfo, Keyring};

/// Milliseconds since the Unix epoch, as the federation crate counts time.
pub fn now_ms() -> u64 {
    crate::storage::now_ms().max(0) as u64
}

/// The names in `federation_blocks`.
async fn blocked_servers(db: &Db) -> Result<Vec<String>> {
    Ok(db
        .federation_blocks()
        .await?
        .into_iter()
        .map(|b| b.server)
        .collect())
}

impl From<FedError> for Error {
    fn from(e: FedError) -> Error {
        Error::Unavailable(format!("federation: {e}"))
    }
}

/// The federation layer of one homeserver: keys, discovery, the signed client, inbound
/// verification, and the per-replica locks of guild federation. Built by the composition
/// root; plugged into the service layer as its [`crate::service::ports::GuildHost`].
pub struct Federation {
    pub config: FederationConfig,
    pub server_name: String,
    pub keyring: Arc<Keyring>,
    pub client: FederationClient,
    pub discovery: Arc<Discovery>,
    pub replay: ReplayGuard,
    pub policy: DomainPolicy,
    /// Per-replica locks: events of one remote guild are applied one at a time, across
    /// the nodes of this server ([`crate::storage::ReplicaLocks`]).
    pub(crate) replica_locks: Arc<crate::storage::ReplicaLocks>,
    /// Fetches of remote files under way, by blob key ([`media`]): one fetch per file.
    pub(crate) media_fetches:
        parking_lot::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the sender of stored notices ([`notices::run`]).
    pub(crate) notices: tokio::sync::Notify,
    /// Relayed actions being handled, by `(origin, txn_id)` ([`guild_api`]): one copy of a
    /// transaction at a time, so a concurrent copy waits for the first one's answer.
    pub(crate) txn_locks: parking_lot::Mutex<std::collections::HashMap<TxnKey, AsyncLock>>,
    /// When `federation_txns` was last pruned (ms; see [`guild_api::TXN_RETENTION_MS`]).
    pub(crate) txns_pruned_at: std::sync::atomic::AtomicI64,
}

/// `(origin, txn_id)` of a relayed action.
pub(crate) type TxnKey = (String, String);
/// A lock held across awaits.
pub(crate) type AsyncLock = Arc<tokio::sync::Mutex<()>>;

/// The services and this server's federation layer together: what guild federation code
/// works with. Dereferences to [`Hearth`], so `self.db`, `self.config` and the service
/// methods read as in the service layer; `self.fed` is the federation layer.
pub struct Fed<'a> {
    pub h: &'a Hearth,
    pub fed: &'a Federation,
}

impl std::ops::Deref for Fed<'_> {
    type Target = Hearth;
    fn deref(&self) -> &Hearth {
        self.h
    }
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("server_name", &self.server_name)
            .field("enabled", &self.config.enabled)
            .finish_non_exhaustive()
    }
}

impl Federation {
    /// Loads (or creates) the server keys and builds discovery and the client.
    ///
    /// # Errors
    /// Database errors; unreadable `extra_ca_certs`; a resolver or HTTP client that cannot be
    /// built.
    pub async fn new(config: &Config, db: &Db) -> Result<Federation> {
        let cfg = config.federation.clone();
        let keyring =
            Arc::new(Keyring::load(&config.server_name, db.clone(), cfg.key_validity_ms).await?);
        let roots = tls::load_roots(&cfg.extra_ca_certs).map_err(Error::Internal)?;
        let discovery =
            Arc::new(Discovery::new(&cfg.discovery_config(), &roots).map_err(Error::Internal)?);
        let policy = DomainPolicy::new(&cfg.deny_domains, &cfg.allow_domains);
        policy.set_blocked(blocked_servers(db).await?);
        let client = FederationClient::new(
            &cfg,
            &config.server_name,
            policy.clone(),
            keyring.clone(),
            discovery.clone(),
            &roots,
        )
        .map_err(Error::Internal)?;
        Ok(Federation {
            server_name: config.server_name.clone(),
            config: cfg,
            keyring,
            client,
            discovery,
            replay: ReplayGuard::default(),
            policy,
            replica_locks: Arc::new(crate::storage::ReplicaLocks::new(db)),
            media_fetches: parking_lot::Mutex::new(std::collections::HashMap::new()),
            notices: tokio::sync::Notify::new(),
            txn_locks: parking_lot::Mutex::new(std::collections::HashMap::new()),
            txns_pruned_at: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Whether federation is enabled.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Signed request to a peer; see [`FederationClient::request`].
    ///
    /// # Errors
    /// [`FedError`].
    pub async fn request(
        &self,
        destination: &str,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> std::result::Result<Value, FedError> {
        self.client
            .request(destination, method, path_and_query, body)
            .await
    }

    /// Rotates this server's key (see [`Keyring::rotate`]).
    pub async fn rotate_key(&self) -> Result<KeyInfo> {
        let k = self.keyring.rotate().await?;
        self.client.refresh_own_keys();
        Ok(k)
    }

    /// Revokes one of this server's keys (see [`Keyring::revoke`]).
    pub async fn revoke_key(&self, key_id: &str) -> Result<Option<KeyInfo>> {
        let k = self.keyring.revoke(key_id).await?;
        self.client.refresh_own_keys();
        Ok(k)
    }

    /// Rereads the keys from the database (changes made by `hearth keys` in another process).
    pub async fn reload_keys(&self) -> Result<()> {
        if self.keyring.reload().await? {
            self.client.refresh_own_keys();
        }
        Ok(())
    }

    /// [`Federation::reload_keys`] with the reads of callers arriving together shared
    /// ([`Keyring::reload_coalesced`]).
    pub async fn reload_keys_coalesced(&self) -> Result<()> {
        if self.keyring.reload_coalesced().await? {
            self.client.refresh_own_keys();
        }
        Ok(())
    }

    /// Rereads the servers an operator blocked (`hearth admin federation block`, another
    /// process): every request to or from them is refused from now on. Returns the list.
    pub async fn reload_blocks(&self, db: &Db) -> Result<Vec<String>> {
        let blocked = blocked_servers(db).await?;
        self.policy.set_blocked(blocked.clone());
        Ok(blocked)
    }

    /// Authenticates an inbound request (what [`SignedRequest`] does): header shape,
    /// destination, clock skew, domain policy, origin key (fetched if needed), signature,
    /// replay.
    ///
    /// # Errors
    /// [`FedRejection`] with the code of the first failed check.
    pub async fn verify_request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        authorization: Option<&str>,
    ) -> std::result::Result<VerifiedRequest, FedRejection> {
        if !self.config.enabled {
            return Err(FedRejection::refuse(FedRefusal::Forbidden(
                "federation is disabled on this server".into(),
            )));
        }
        let header = AuthHeader::parse(authorization.ok_or_else(|| {
            hearth_federation::Error::MalformedAuth("missing Authorization header".into())
        })?)?;
        // Cheap checks before any key fetch (verify_request repeats them).
        if header.destination != self.server_name {
            return Err(hearth_federation::Error::WrongDestination {
                expected: self.server_name.clone(),
                got: header.destination,
            }
            .into());
        }
        let now = now_ms();
        let skew_ms = now.abs_diff(header.ts);
        if skew_ms > MAX_CLOCK_SKEW_MS {
            return Err(hearth_federation::Error::ClockSkew { skew_ms }.into());
        }
        if !self.policy.allows(&header.origin) {
            return Err(FedRejection::denied(&header.origin));
        }
        if let Err(e) = self.client.ensure_key(&header.origin, &header.key).await {
            tracing::debug!(origin = %header.origin, error = %e, "cannot fetch the origin's keys");
            if !matches!(e, FedError::RateLimited(_)) {
                return Err(FedRejection::refuse(FedRefusal::UnknownKey(format!(
                    "cannot fetch the keys of {}: {e}",
                    header.origin
                ))));
            }
        }
        let incoming = Incoming {
            method,
            path,
            body,
            authorization,
        };
        Ok(verify_request(
            &incoming,
            &self.server_name,
            now_ms(),
            &self.client.keys(),
            &self.replay,
        )?)
    }
}

// ---------------------------------------------------------------------------------------
// Routes

/// State of the federation routes: the services, the federation layer and the guild log.
#[derive(Clone)]
pub struct FedState {
    pub hearth: Arc<Hearth>,
    pub fed: Arc<Federation>,
    /// The log writer and delivery queue of guilds hosted here.
    pub log: Arc<guild_log::GuildLog>,
}

impl FedState {
    /// The borrowed context of guild federation code.
    pub fn ctx(&self) -> Fed<'_> {
        Fed {
            h: &self.hearth,
            fed: &self.fed,
        }
    }
}

impl axum::extract::FromRef<FedState> for Arc<Hearth> {
    fn from_ref(s: &FedState) -> Arc<Hearth> {
        s.hearth.clone()
    }
}

impl axum::extract::FromRef<FedState> for Arc<Federation> {
    fn from_ref(s: &FedState) -> Arc<Federation> {
        s.fed.clone()
    }
}

/// The transport and guild routes of federation: `GET /_hearth/key/v1/server`,
/// `GET /_hearth/federation/v1/version`, `GET|POST /_hearth/federation/v1/ping`
/// (authenticated; answers `{origin, destination}`), `GET /.well-known/hearth/server`
/// (`{"hearth.server": delegate_to}` or 404), the guild routes of [`guild_api`], the file
/// routes of [`media`] and the user notices of [`notices`]. No
/// fallback: the composition root adds [`not_found`] on the federation listener.
pub fn router() -> Router<FedState> {
    Router::new()
        .route(client::KEY_PATH, get(key_document))
        .route("/_hearth/federation/v1/version", get(version))
        .route("/_hearth/federation/v1/ping", get(ping).post(ping))
        .route("/.well-known/hearth/server", get(well_known))
        .merge(guild_api::routes())
        .merge(media::routes())
        .merge(notices::routes())
}

/// Fallback of the federation listener: 404 `H_NOT_FOUND`.
pub async fn not_found() -> FedRejection {
    FedRejection::not_found()
}

/// `GET /_hearth/key/v1/server`: the keys as stored now (reread first, requests arriving
/// together sharing one read, so a `hearth keys` command run beside this server is published
/// at once, spec §3.5, §3.6).
async fn key_document(State(fed): State<Arc<Federation>>) -> Response {
    if let Err(e) = fed.reload_keys_coalesced().await {
        tracing::warn!(error = %e, "cannot reread the server keys; publishing the last read");
    }
    match fed.keyring.signed_document(now_ms()) {
        Ok(doc) => (
            [(axum::http::header::CACHE_CONTROL, "max-age=3600")],
            axum::Json(doc),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn ping(State(fed): State<Arc<Federation>>, req: SignedRequest) -> axum::Json<Value> {
    axum::Json(json!({
        "origin": req.origin,
        "destination": fed.server_name,
    }))
}

async fn version() -> axum::Json<Value> {
    axum::Json(json!({
        "server": {"name": "hearth", "version": env!("CARGO_PKG_VERSION")},
        "protocols": ["v1"],
    }))
}

async fn well_known(State(fed): State<Arc<Federation>>) -> Response {
    match &fed.config.delegate_to {
        Some(server) => axum::Json(json!({ "hearth.server": server })).into_response(),
        None => FedRejection::refuse(FedRefusal::NotFound("this server does not delegate".into()))
            .into_response(),
    }
}

/// Longest wait between two attempts of a durable federation delivery (MLS outbox, user
/// notices), ms: one hour.
pub const MAX_RETRY_BACKOFF_MS: i64 = 3_600_000;

/// The wait after `attempts` (1, 2, ...) failed attempts of a durable federation delivery,
/// ms: 1 s doubling (1, 2, 4 ... s) plus up to a quarter of jitter, at most
/// [`MAX_RETRY_BACKOFF_MS`].
pub fn retry_backoff_ms(attempts: i64) -> i64 {
    use rand::Rng;
    let base = (500i64 << attempts.clamp(1, 22)).min(MAX_RETRY_BACKOFF_MS);
    let jitter = rand::rng().random_range(0..=base / 4);
    (base + jitter).min(MAX_RETRY_BACKOFF_MS)
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        for (attempts, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (12, 2_048_000)] {
            let d = retry_backoff_ms(attempts);
            assert!((base..=base + base / 4).contains(&d), "{attempts}: {d}");
        }
        assert_eq!(retry_backoff_ms(40), MAX_RETRY_BACKOFF_MS);
    }
}
