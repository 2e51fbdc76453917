//! Outbound federation: [`FederationClient`] signs requests with this server's current key,
//! sends them over HTTPS to the destination found by [`Discovery`], and fetches and caches
//! peers' key documents.
//!
//! Safety limits (spec/federation.md "Transport"): HTTPS only; every connection address goes
//! through the address policy (a DNS hook, so redirects are covered too, and redirects to IP
//! literals are checked by the redirect policy); at most `federation.max_redirects` redirects;
//! a total timeout of `federation.request_timeout_ms`; response bodies are streamed and
//! abandoned past `federation.max_response_bytes`. Error bodies of peers are never passed
//! through: only their `errcode` (if well-formed) and a shortened `error` text.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth_federation::http::{json_answer, map_reqwest};
use hearth_federation::keys::{KeyDocument, KeyLookup, KeyStore, KnownKey, ServerKey};
use hearth_federation::request::{RequestFields, sign_request};
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use reqwest::Method;
use serde_json::Value;

use super::discovery::{Discovery, https_client};
use super::keys::Keyring;
use super::{DomainPolicy, FedError, now_ms};
use crate::config::FederationConfig;

pub use hearth_federation::keys::{KEY_PATH, MAX_KEY_DOCUMENT_BYTES};
/// Unknown-key refetches allowed per peer per minute (on top of fetches of stale documents).
pub const REFETCHES_PER_MINUTE: usize = 6;

/// A last-resort source of a peer's key document (the registrar's key notary, see
/// `crate::registrar`), asked only when the peer's own key endpoint cannot be reached. The
/// answer must already be verified (notary signature with the pinned key, and the document's
/// own self-signature).
#[async_trait::async_trait]
pub trait KeyFallback: Send + Sync {
    /// The last verified key document of `server_name`, if the fallback has one.
    async fn key_document(&self, server_name: &str) -> Option<KeyDocument>;

    /// Where `server_name` was last found, when discovery fails here. Only destinations whose
    /// TLS host is the server name's own host are acceptable (the certificate then still
    /// authenticates the peer); addresses must already pass the address policy.
    async fn destination(&self, _server_name: &str) -> Option<super::Destination> {
        None
    }
}

/// Per-peer key fetch bookkeeping: one fetch at a time, and a cap on unknown-key refetches.
#[derive(Default)]
struct FetchLog {
    recent: VecDeque<Instant>,
}

struct Inner {
    server_name: String,
    enabled: bool,
    policy: DomainPolicy,
    keyring: Arc<Keyring>,
    discovery: Arc<Discovery>,
    http: reqwest::Client,
    max_response_bytes: usize,
    store: RwLock<KeyStore>,
    docs: Mutex<HashMap<String, KeyDocument>>,
    fetches: Mutex<HashMap<String, Arc<tokio::sync::Mutex<FetchLog>>>>,
    fallback: RwLock<Option<Arc<dyn KeyFallback>>>,
    /// The `ts` of the last signed request (ms): see [`FederationClient::next_ts`].
    last_ts: AtomicU64,
}

/// The outbound federation client (cheap to clone).
#[derive(Clone)]
pub struct FederationClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FederationClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationClient")
            .field("server_name", &self.inner.server_name)
            .finish_non_exhaustive()
    }
}

/// A synchronous view of the verify keys known at one instant (peers' fetched documents and
/// this server's own keys); pass it to `hearth_federation` verify functions. Holds a read
/// lock: do not keep it across an `.await`.
pub struct KeysView<'a> {
    guard: RwLockReadGuard<'a, KeyStore>,
    now: u64,
}

impl KeyLookup for KeysView<'_> {
    fn lookup(&self, server_name: &str, key_id: &str) -> Option<KnownKey> {
        self.guard.at(self.now).lookup(server_name, key_id)
    }
}

impl FederationClient {
    pub(crate) fn new(
        cfg: &FederationConfig,
        server_name: &str,
        policy: DomainPolicy,
        keyring: Arc<Keyring>,
        discovery: Arc<Discovery>,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<FederationClient, String> {
        let http = https_client(
            &cfg.discovery_config(),
            extra_roots,
            discovery.connect_resolver(),
            false,
        )?;
        let client = FederationClient {
            inner: Arc::new(Inner {
                last_ts: AtomicU64::new(0),
                server_name: server_name.to_owned(),
                enabled: cfg.enabled,
                policy,
                keyring,
                discovery,
                http,
                max_response_bytes: cfg.max_response_bytes,
                store: RwLock::new(KeyStore::new()),
                docs: Mutex::new(HashMap::new()),
                fetches: Mutex::new(HashMap::new()),
                fallback: RwLock::new(None),
            }),
        };
        client.refresh_own_keys();
        Ok(client)
    }

    /// Installs the key fallback (the registrar notary), used when a peer's key endpoint is
    /// unreachable; never asked first.
    pub fn set_key_fallback(&self, fallback: Arc<dyn KeyFallback>) {
        *self.inner.fallback.write() = Some(fallback);
    }

    /// Copies this server's keys (and their states) into the verify-key store.
    pub fn refresh_own_keys(&self) {
        let mut store = self.inner.store.write();
        for (id, k) in self.inner.keyring.known_keys() {
            store.insert_key(&self.inner.server_name, &id, k);
        }
    }

    /// The verify keys known now (see [`KeysView`]). Call [`FederationClient::ensure_key`]
    /// first for keys that may not be cached yet.
    pub fn keys(&self) -> KeysView<'_> {
        KeysView {
            guard: self.inner.store.read(),
            now: now_ms(),
        }
    }

    /// The `Authorization` header value for a request (spec §7.1), signed now with the
    /// current key.
    pub fn authorization(
        &self,
        destination: &str,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<String, FedError> {
        self.authorization_by(
            &self.inner.keyring.current(),
            destination,
            method,
            path_and_query,
            body,
        )
    }

    fn authorization_by(
        &self,
        key: &ServerKey,
        destination: &str,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<String, FedError> {
        sign_request(
            key,
            &RequestFields {
                method: method.as_str(),
                path: path_and_query,
                origin: &self.inner.server_name,
                destination,
                ts: self.next_ts(),
                body,
            },
        )
        .map_err(FedError::Protocol)
    }

    /// The `ts` for the next signed request: now in ms, but strictly after the previous
    /// request's. ed25519 signatures are deterministic, so two identical requests (same
    /// method, path, body and destination) signed in the same millisecond would carry the same
    /// signature, and the receiver's replay guard (spec §7.4) would refuse the second.
    fn next_ts(&self) -> u64 {
        let now = now_ms();
        let prev = self
            .inner
            .last_ts
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(prev + 1)
    }

    fn check_destination(&self, destination: &str) -> Result<(), FedError> {
        if !self.inner.enabled {
            return Err(FedError::Disabled);
        }
        if !self.inner.policy.allows(destination) {
            return Err(FedError::Denied(destination.to_owned()));
        }
        Ok(())
    }

    /// Sends a signed federation request and returns the JSON answer (`Null` for an empty
    /// 2xx body). `path_and_query` is the raw request target (already percent-encoded), e.g.
    /// `/_hearth/federation/v1/ping`.
    ///
    /// # Errors
    /// [`FedError`]: disabled, denied by domain policy, discovery, transport, timeout, too
    /// large, or [`FedError::Remote`] with the peer's `errcode` for a non-2xx answer.
    pub async fn request(
        &self,
        destination: &str,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, FedError> {
        self.check_destination(destination)?;
        let bytes = match body {
            Some(v) => {
                serde_json::to_vec(v).map_err(|e| FedError::InvalidRequest(e.to_string()))?
            }
            None => Vec::new(),
        };
        let bytes = bytes::Bytes::from(bytes);
        let cap = self.inner.max_response_bytes;
        let key = self.inner.keyring.current();
        let auth = self.authorization_by(&key, destination, &method, path_and_query, &bytes)?;
        let first = self
            .send_capped(
                destination,
                method.clone(),
                path_and_query,
                bytes.clone(),
                Some(auth),
                cap,
            )
            .await;
        // Refused for signing with a key `hearth keys` revoked or retired in another process
        // since this server last reread its keys (spec §3.5, §3.6): reread now and sign again,
        // so the command takes effect at once rather than at the next reload.
        let own_key_refused = matches!(
            &first,
            Err(FedError::Remote { status: 401, errcode, .. })
                if errcode == "H_REVOKED_KEY" || errcode == "H_EXPIRED_KEY"
        );
        if own_key_refused && let Err(e) = self.inner.keyring.reload().await {
            tracing::warn!(error = %e, "rereading this server's keys failed");
        }
        if own_key_refused && self.inner.keyring.current().key_id() != key.key_id() {
            self.refresh_own_keys();
            let auth = self.authorization(destination, &method, path_and_query, &bytes)?;
            return self
                .send_capped(destination, method, path_and_query, bytes, Some(auth), cap)
                .await;
        }
        first
    }

    /// Low-level: sends `body` with the given `Authorization` header value (or none) to
    /// `destination`. [`FederationClient::request`] is this plus signing; tests use it to
    /// present forged or replayed headers.
    ///
    /// # Errors
    /// As [`FederationClient::request`].
    pub async fn send(
        &self,
        destination: &str,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
        authorization: Option<String>,
    ) -> Result<Value, FedError> {
        let cap = self.inner.max_response_bytes;
        self.send_capped(
            destination,
            method,
            path_and_query,
            body.into(),
            authorization,
            cap,
        )
        .await
    }

    async fn send_capped(
        &self,
        destination: &str,
        method: Method,
        path_and_query: &str,
        body: bytes::Bytes,
        authorization: Option<String>,
        cap: usize,
    ) -> Result<Value, FedError> {
        let resp = self
            .send_raw(destination, method, path_and_query, body, authorization)
            .await?;
        json_answer(resp, cap).await
    }

    /// A signed `GET` of a file (federation media, spec/federation.md §17): the response of
    /// a 2xx answer whose `Content-Length`, when given, is at most `cap`, for the caller to
    /// stream (it must still stop past `cap` bytes: the length may be absent). The total
    /// time, connection included, is bounded by `federation.request_timeout_ms`; addresses go
    /// through the address policy as for every request.
    ///
    /// # Errors
    /// As [`FederationClient::request`]; [`FedError::TooLarge`] when the announced length
    /// exceeds `cap`.
    pub async fn get_file(
        &self,
        destination: &str,
        path_and_query: &str,
        cap: usize,
    ) -> Result<reqwest::Response, FedError> {
        let auth = self.authorization(destination, &Method::GET, path_and_query, &[])?;
        let resp = self
            .send_raw(
                destination,
                Method::GET,
                path_and_query,
                bytes::Bytes::new(),
                Some(auth),
            )
            .await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let cap = self.inner.max_response_bytes.min(64 * 1024);
            let body = hearth_federation::http::read_capped(resp, cap)
                .await
                .unwrap_or_default();
            return Err(hearth_federation::http::remote_error(status, &body));
        }
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(FedError::TooLarge { limit: cap });
        }
        Ok(resp)
    }

    /// Sends a request to `destination` (found by discovery, or the registrar's fallback)
    /// and returns the response as it is, whatever its status.
    async fn send_raw(
        &self,
        destination: &str,
        method: Method,
        path_and_query: &str,
        body: bytes::Bytes,
        authorization: Option<String>,
    ) -> Result<reqwest::Response, FedError> {
        self.check_destination(destination)?;
        let dest = match self.inner.discovery.resolve(destination).await {
            Ok(d) => d,
            // Discovery failed here: the registrar (if configured) may know the endpoint.
            Err(e) => {
                let fallback = self.inner.fallback.read().clone();
                let found = match fallback {
                    Some(f) => f.destination(destination).await,
                    None => None,
                };
                match found {
                    Some(d) => {
                        tracing::info!(peer = destination, error = %e, "discovery failed; using the registrar's endpoint");
                        self.inner.discovery.pin_fallback(&d);
                        d
                    }
                    None => return Err(e.into()),
                }
            }
        };
        let url = reqwest::Url::parse(&format!("{}{path_and_query}", dest.base_url()))
            .map_err(|e| FedError::InvalidRequest(format!("bad path {path_and_query:?}: {e}")))?;
        let sent = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        if sent != path_and_query {
            return Err(FedError::InvalidRequest(format!(
                "path {path_and_query:?} is not in its on-the-wire form ({sent:?})"
            )));
        }
        let mut rb = self.inner.http.request(method, url);
        if let Some(a) = authorization {
            rb = rb.header(reqwest::header::AUTHORIZATION, a);
        }
        if !body.is_empty() {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        rb.send().await.map_err(map_reqwest)
    }

    /// The key document of `server_name`: from the cache while it is fresh (its
    /// `valid_until_ts`, at most 7 days after the fetch), fetched and verified otherwise.
    ///
    /// # Errors
    /// [`FedError`] from the fetch, or [`FedError::Keys`] for a document that does not verify.
    pub async fn server_keys(&self, server_name: &str) -> Result<KeyDocument, FedError> {
        if server_name == self.inner.server_name {
            return Ok(self.inner.keyring.document(now_ms()));
        }
        if !self.inner.store.read().needs_refresh(server_name, now_ms())
            && let Some(d) = self.inner.docs.lock().get(server_name)
        {
            return Ok(d.clone());
        }
        self.fetch_keys(server_name, false).await
    }

    /// Refetches the key document of `server_name` now (subject to the per-peer refetch cap
    /// when the cached one is still fresh).
    ///
    /// # Errors
    /// As [`FederationClient::server_keys`].
    pub async fn refresh_server_keys(&self, server_name: &str) -> Result<KeyDocument, FedError> {
        self.fetch_keys(server_name, true).await
    }

    /// Makes sure `key_id` of `server_name` is known: refetches the server's document when the
    /// cached one is stale or does not list the key (at most a few times per minute per peer).
    /// Afterwards [`FederationClient::keys`] answers for it (possibly as old or revoked).
    ///
    /// # Errors
    /// [`FedError`] when a needed fetch fails.
    pub async fn ensure_key(&self, server_name: &str, key_id: &str) -> Result<(), FedError> {
        if server_name == self.inner.server_name {
            return Ok(());
        }
        if self.keys().lookup(server_name, key_id).is_some() {
            return Ok(());
        }
        let stale = self.inner.store.read().needs_refresh(server_name, now_ms());
        self.fetch_keys(server_name, !stale).await.map(|_| ())
    }

    async fn fetch_keys(&self, server_name: &str, forced: bool) -> Result<KeyDocument, FedError> {
        self.check_destination(server_name)?;
        let lock = self
            .inner
            .fetches
            .lock()
            .entry(server_name.to_owned())
            .or_default()
            .clone();
        let started = Instant::now();
        let mut log = lock.lock().await;
        // Someone else fetched while we waited: use that.
        if log.recent.back().is_some_and(|t| *t >= started)
            && let Some(d) = self.inner.docs.lock().get(server_name)
        {
            return Ok(d.clone());
        }
        let now = Instant::now();
        while log
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            log.recent.pop_front();
        }
        if forced && log.recent.len() >= REFETCHES_PER_MINUTE {
            return Err(FedError::RateLimited(server_name.to_owned()));
        }
        log.recent.push_back(now);
        let cap = MAX_KEY_DOCUMENT_BYTES.min(self.inner.max_response_bytes);
        let fetched = self
            .send_capped(
                server_name,
                Method::GET,
                KEY_PATH,
                bytes::Bytes::new(),
                None,
                cap,
            )
            .await;
        let doc = match fetched {
            Ok(value) => KeyDocument::verify(&value, server_name).map_err(FedError::Keys)?,
            // Unreachable peer: the registrar notary, if configured, vouches for its keys.
            Err(
                e @ (FedError::Discovery(_)
                | FedError::Transport(_)
                | FedError::Timeout
                | FedError::Remote { .. }),
            ) => {
                let fallback = self.inner.fallback.read().clone();
                let Some(f) = fallback else { return Err(e) };
                match f.key_document(server_name).await {
                    Some(d) if d.server_name == server_name => {
                        tracing::info!(peer = server_name, error = %e, "peer key endpoint unreachable; using the registrar notary");
                        d
                    }
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let fetched_at = now_ms();
        if doc.valid_until_ts <= fetched_at {
            return Err(FedError::InvalidResponse(format!(
                "key document of {server_name} expired at {}",
                doc.valid_until_ts
            )));
        }
        self.inner
            .store
            .write()
            .insert_document(&doc, fetched_at)
            .map_err(FedError::Keys)?;
        self.inner
            .docs
            .lock()
            .insert(server_name.to_owned(), doc.clone());
        Ok(doc)
    }
}
