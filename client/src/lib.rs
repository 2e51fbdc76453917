//! Hearth client SDK: an account on a homeserver, one MLS device, and end-to-end-encrypted
//! DMs (MLS groups, RFC 9420) with users of any federated server (`spec/mls.md`).
//!
//! ```ignore
//! let mut alice = Client::register(cfg, "alice", "pw").await?;   // account + device + KeyPackages
//! let group = alice.start_dm(&["bob@b.example"]).await?;          // claim, verify, add, Welcome
//! alice.send(&group, "hi").await?;
//! for m in alice.sync().await? { println!("{}: {}", m.sender, m.text) }
//! ```
//!
//! - **Verification.** Every member added or met (claimed KeyPackages, Welcomes, commits) has
//!   its device credential verified against the key of the domain in its handle, fetched from
//!   that domain itself through a [`KeySource`] and pinned on first use; a changed key is
//!   refused with [`ClientError::KeyChanged`] and recorded in [`Client::key_warnings`] until the
//!   user accepts it ([`Client::accept_key_change`]).
//! - **Persistence.** openmls keeps its state in `openmls_rust_crypto`'s `MemoryStorage`; the
//!   SDK writes the whole store to `state_dir/mls-store.json` (atomically, write + rename)
//!   after every operation that changes it, and reloads it at start, so groups, keys and
//!   KeyPackage private keys survive restarts. Account state (token, device, cursor, pins)
//!   lives in `state_dir/state.json`. The store is small for DMs; a database-backed
//!   `StorageProvider` (openmls_sqlite_storage) is the upgrade path for large histories.
//! - **Receiving.** [`Client::sync`] reads the device's inbox by cursor; [`Client::wait`]
//!   waits for a gateway `MLS_MESSAGE` push and then syncs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hearth_federation::b64;
use hearth_federation::device::DeviceCredential;
use hearth_federation::keys::{KeyDocument, KeyStore};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The one ciphersuite Hearth uses.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
/// KeyPackages kept in stock on the server.
pub const STOCK_TARGET: i64 = 5;

/// Everything that can fail in the SDK.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The homeserver answered an error: HTTP status, Discord-style code and message, and the
    /// current epoch for 409 wrong-epoch answers.
    #[error("server: {status} {code}: {message}")]
    Api {
        status: u16,
        code: i64,
        message: String,
        epoch: Option<u64>,
        body: Value,
    },
    #[error("http: {0}")]
    Http(String),
    /// A member's credential does not verify (bad signature, wrong domain, expired, key
    /// mismatch).
    #[error("credential of {who} rejected: {reason}")]
    BadCredential { who: String, reason: String },
    /// The key of `domain` differs from the pinned one.
    #[error("the signing key of {domain} changed (key {key_id}); verify and accept it first")]
    KeyChanged { domain: String, key_id: String },
    #[error("mls: {0}")]
    Mls(String),
    #[error("state: {0}")]
    State(String),
}

type Result<T, E = ClientError> = std::result::Result<T, E>;

fn mls_err(e: impl std::fmt::Debug) -> ClientError {
    ClientError::Mls(format!("{e:?}"))
}

/// Where the SDK gets a domain's key document (`GET /_hearth/key/v1/server` of that domain).
#[async_trait::async_trait]
pub trait KeySource: Send + Sync {
    /// The signed key document of `domain`, as published by `domain` itself.
    async fn key_document(&self, domain: &str) -> Result<Value>;
}

pub use hearth_federation::discovery::DiscoveryConfig;
use hearth_federation::discovery::{Discovery, https_client, read_capped};

/// Path of a server's key document.
pub const KEY_PATH: &str = "/_hearth/key/v1/server";
/// Largest key document read, bytes.
pub const MAX_KEY_DOCUMENT_BYTES: usize = 64 * 1024;

/// Fetches a domain's key document from that domain itself, finding the server exactly as
/// federation does: the shared [`hearth_federation::discovery::Discovery`] (spec/federation.md
/// "Discovery": explicit port, then `.well-known/hearth/server` delegation, then
/// `_hearth._tcp` SRV records, then A/AAAA on port 8448; the address policy; caching), then
/// `GET https://{host}:{port}/_hearth/key/v1/server` over TLS checked for the destination's
/// host (the delegated host, or the server name's own host for SRV and default), at most
/// [`MAX_KEY_DOCUMENT_BYTES`], with federation's transport limits (HTTPS only, no redirects,
/// the configured timeout).
///
/// `localhost` and `*.localhost` are the loopback addresses (RFC 6761 §6.3, answered by the
/// resolver itself), which the address policy refuses unless
/// [`DiscoveryConfig::allow_private_addresses`] is set (local setups). A domain listed in
/// `bases` is fetched from `{base}/_hearth/key/v1/server` instead (an explicit override, for
/// a server reached at an address discovery cannot find), with the same DNS and policy.
pub struct HttpsKeySource {
    discovery: Discovery,
    /// Connects to the addresses discovery chose for a destination's host.
    http: reqwest::Client,
    /// For `bases` URLs: plain A/AAAA lookups with the address policy.
    plain: reqwest::Client,
    bases: HashMap<String, String>,
}

impl HttpsKeySource {
    /// A source with the system's DNS configuration and (webpki) roots, public addresses
    /// only ([`DiscoveryConfig::default`]). Panics only if the resolver or HTTP client cannot
    /// be built, which [`HttpsKeySource::with_config`] reports instead.
    pub fn new(bases: HashMap<String, String>) -> Self {
        Self::with_roots(bases, Vec::new()).expect("a default key source builds")
    }

    /// [`HttpsKeySource::new`] that also trusts `roots` (extra CAs of local test setups).
    ///
    /// # Errors
    /// [`ClientError::Http`] if the resolver or the HTTP client cannot be built.
    pub fn with_roots(
        bases: HashMap<String, String>,
        roots: Vec<reqwest::Certificate>,
    ) -> Result<Self> {
        Self::with_config(&DiscoveryConfig::default(), bases, roots)
    }

    /// A source with explicit discovery settings: name servers (empty: the system's), the
    /// address policy, the `.well-known` port, timeout and redirects (the homeserver's
    /// `federation.*` settings of the same names), trusting `roots` besides the system roots.
    ///
    /// # Errors
    /// [`ClientError::Http`] if the resolver or the HTTP client cannot be built.
    pub fn with_config(
        cfg: &DiscoveryConfig,
        bases: HashMap<String, String>,
        roots: Vec<reqwest::Certificate>,
    ) -> Result<Self> {
        let discovery = Discovery::new(cfg, &roots).map_err(ClientError::Http)?;
        let http = https_client(cfg, &roots, discovery.connect_resolver(), false)
            .map_err(ClientError::Http)?;
        let plain = https_client(cfg, &roots, discovery.plain_resolver(), false)
            .map_err(ClientError::Http)?;
        Ok(HttpsKeySource {
            discovery,
            http,
            plain,
            bases,
        })
    }

    /// The `https://host:port` base `domain`'s key is fetched from (an entry of `bases`, else
    /// the discovered destination).
    ///
    /// # Errors
    /// [`ClientError::Http`] naming the discovery step that failed.
    pub async fn base_url(&self, domain: &str) -> Result<String> {
        if let Some(b) = self.bases.get(domain) {
            return Ok(b.trim_end_matches('/').to_owned());
        }
        let d = self
            .discovery
            .resolve(domain)
            .await
            .map_err(|e| ClientError::Http(format!("discovery of {domain}: {e}")))?;
        Ok(d.base_url())
    }
}

#[async_trait::async_trait]
impl KeySource for HttpsKeySource {
    async fn key_document(&self, domain: &str) -> Result<Value> {
        let base = self.base_url(domain).await?;
        let http = if self.bases.contains_key(domain) {
            &self.plain
        } else {
            &self.http
        };
        let err = |e: String| ClientError::Http(format!("key of {domain} ({base}{KEY_PATH}): {e}"));
        let r = http
            .get(format!("{base}{KEY_PATH}"))
            .send()
            .await
            .map_err(|e| err(error_chain(&e)))?;
        if !r.status().is_success() {
            return Err(err(format!("HTTP {}", r.status())));
        }
        let body = read_capped(r, MAX_KEY_DOCUMENT_BYTES)
            .await
            .map_err(|e| err(error_chain(&e)))?;
        serde_json::from_slice(&body).map_err(|e| err(format!("not JSON: {e}")))
    }
}

/// An error with its sources (`a: b: c`), so a refused address or a TLS failure is visible.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// How to reach the homeserver and where to keep state.
#[derive(Clone)]
pub struct Config {
    /// Base URL of the client API, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// The homeserver's `server_name` (the domain of the account's handle).
    pub server_name: String,
    /// Folder of `state.json` and `mls-store.json`.
    pub state_dir: PathBuf,
    pub keys: Arc<dyn KeySource>,
}

/// A pinned key of a domain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pin {
    pub key_id: String,
    pub key: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    token: String,
    user: String,
    device_id: String,
    signature_key: String,
    credential: String,
    cursor: String,
    /// Known groups: group id → peers' handles when created/joined.
    groups: BTreeMap<String, Vec<String>>,
    pins: BTreeMap<String, Vec<Pin>>,
    /// Groups this device can no longer use: group id → why (see [`Client::unusable_groups`]).
    #[serde(default)]
    unusable: BTreeMap<String, String>,
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub group_id: String,
    /// `user@server` of the sending device's verified credential.
    pub sender: String,
    pub sender_device: String,
    pub text: String,
}

/// A signing-key change seen for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWarning {
    pub domain: String,
    pub key_id: String,
    pub pinned: Vec<Pin>,
    pub seen: String,
}

/// One user's device.
pub struct Client {
    cfg: Config,
    http: reqwest::Client,
    provider: OpenMlsRustCrypto,
    signer: Option<SignatureKeyPair>,
    state: State,
    docs: HashMap<String, KeyStore>,
    warnings: Vec<KeyWarning>,
    push: Option<tokio::sync::mpsc::UnboundedReceiver<Value>>,
    gateway: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(g) = self.gateway.take() {
            g.abort();
        }
    }
}

fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build()
}

fn tls(v: &impl tls_codec::Serialize) -> Result<String> {
    Ok(b64::encode(v.tls_serialize_detached().map_err(mls_err)?))
}

fn identity_of(c: &Credential) -> Option<Vec<u8>> {
    BasicCredential::try_from(c.clone())
        .ok()
        .map(|b| b.identity().to_vec())
}

impl Client {
    fn new(cfg: Config) -> Client {
        Client {
            http: reqwest::Client::new(),
            provider: OpenMlsRustCrypto::default(),
            signer: None,
            state: State::default(),
            docs: HashMap::new(),
            warnings: Vec::new(),
            push: None,
            gateway: None,
            cfg,
        }
    }

    // ---- persistence ----------------------------------------------------------------

    fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, data).map_err(|e| ClientError::State(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| ClientError::State(e.to_string()))
    }

    fn save(&self) -> Result<()> {
        std::fs::create_dir_all(&self.cfg.state_dir)
            .map_err(|e| ClientError::State(e.to_string()))?;
        let values = self.provider.storage().values.read().expect("store lock");
        let pairs: Vec<(String, String)> = values
            .iter()
            .map(|(k, v)| (b64::encode(k), b64::encode(v)))
            .collect();
        drop(values);
        Self::write_atomic(
            &self.cfg.state_dir.join("mls-store.json"),
            &serde_json::to_vec(&pairs).expect("serializable"),
        )?;
        Self::write_atomic(
            &self.cfg.state_dir.join("state.json"),
            &serde_json::to_vec_pretty(&self.state).expect("serializable"),
        )
    }

    /// Opens a device saved in `cfg.state_dir` (after a restart).
    pub async fn open(cfg: Config) -> Result<Client> {
        let mut c = Client::new(cfg);
        let read = |name: &str| {
            std::fs::read(c.cfg.state_dir.join(name)).map_err(|e| ClientError::State(e.to_string()))
        };
        c.state = serde_json::from_slice(&read("state.json")?)
            .map_err(|e| ClientError::State(e.to_string()))?;
        let pairs: Vec<(String, String)> = serde_json::from_slice(&read("mls-store.json")?)
            .map_err(|e| ClientError::State(e.to_string()))?;
        {
            let mut values = c.provider.storage().values.write().expect("store lock");
            for (k, v) in pairs {
                values.insert(
                    b64::decode(&k, "store").map_err(|e| ClientError::State(e.to_string()))?,
                    b64::decode(&v, "store").map_err(|e| ClientError::State(e.to_string()))?,
                );
            }
        }
        if !c.state.signature_key.is_empty() {
            let pk = b64::decode(&c.state.signature_key, "key")
                .map_err(|e| ClientError::State(e.to_string()))?;
            c.signer = SignatureKeyPair::read(
                c.provider.storage(),
                &pk,
                CIPHERSUITE.signature_algorithm(),
            );
        }
        Ok(c)
    }

    // ---- HTTP ---------------------------------------------------------------------------

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/api/v10{path}", self.cfg.base_url);
        let mut req = self.http.request(method, url);
        if !self.state.token.is_empty() {
            req = req.header("authorization", &self.state.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            return Err(ClientError::Api {
                status,
                code: v["code"].as_i64().unwrap_or(0),
                message: v["message"].as_str().unwrap_or_default().to_owned(),
                epoch: v["epoch"].as_u64(),
                body: v,
            });
        }
        Ok(v)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    // ---- accounts and devices --------------------------------------------------------

    /// Registers an account, sets up this device and its KeyPackages.
    pub async fn register(cfg: Config, username: &str, password: &str) -> Result<Client> {
        let body = json!({"username": username, "password": password});
        Client::sign_in(cfg, "/auth/register", body).await
    }

    /// Logs in to an existing account as a new device (a second device of the user).
    pub async fn login(cfg: Config, username: &str, password: &str) -> Result<Client> {
        let body = json!({"login": username, "password": password});
        Client::sign_in(cfg, "/auth/login", body).await
    }

    /// `POST path` (register or login), keeps the returned token, sets up this device.
    async fn sign_in(cfg: Config, path: &str, body: Value) -> Result<Client> {
        let mut c = Client::new(cfg);
        let v = c.post(path, body).await?;
        c.state.token = v["token"].as_str().unwrap_or_default().to_owned();
        c.setup_device().await?;
        Ok(c)
    }

    /// Makes this device's signature key, registers it (the server signs the credential),
    /// checks the credential against our own server's published key, and fills the
    /// KeyPackage stock.
    pub async fn setup_device(&mut self) -> Result<()> {
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).map_err(mls_err)?;
        signer.store(self.provider.storage()).map_err(mls_err)?;
        let v = self
            .post(
                "/mls/devices",
                json!({"signature_key": b64::encode(signer.public())}),
            )
            .await?;
        let cred = v["credential"].as_str().unwrap_or_default().to_owned();
        let identity =
            b64::decode(&cred, "credential").map_err(|e| ClientError::State(e.to_string()))?;
        let dc = self.verify_identity(&identity, signer.public()).await?;
        self.state.user = dc.user;
        self.state.device_id = dc.device_id;
        self.state.signature_key = b64::encode(signer.public());
        self.state.credential = cred;
        self.signer = Some(signer);
        self.save()?;
        self.replenish().await?;
        Ok(())
    }

    /// `user@server` of this account.
    pub fn user(&self) -> &str {
        &self.state.user
    }

    /// This device's id.
    pub fn device_id(&self) -> &str {
        &self.state.device_id
    }

    /// The access token (for raw API calls).
    pub fn token(&self) -> &str {
        &self.state.token
    }

    fn signer(&self) -> Result<&SignatureKeyPair> {
        self.signer
            .as_ref()
            .ok_or_else(|| ClientError::State("no device set up".into()))
    }

    fn credential_with_key(&self) -> Result<CredentialWithKey> {
        let identity = b64::decode(&self.state.credential, "credential")
            .map_err(|e| ClientError::State(e.to_string()))?;
        Ok(CredentialWithKey {
            credential: BasicCredential::new(identity).into(),
            signature_key: self.signer()?.public().into(),
        })
    }

    fn key_package(&self, last_resort: bool) -> Result<String> {
        let mut b = KeyPackage::builder();
        if last_resort {
            b = b
                .mark_as_last_resort()
                .leaf_node_capabilities(Capabilities::new(
                    None,
                    None,
                    Some(&[ExtensionType::LastResort]),
                    None,
                    None,
                ));
        }
        let bundle = b
            .build(
                CIPHERSUITE,
                &self.provider,
                self.signer()?,
                self.credential_with_key()?,
            )
            .map_err(mls_err)?;
        tls(bundle.key_package())
    }

    /// Tops the server's stock up to [`STOCK_TARGET`] and uploads a last-resort package if
    /// there is none.
    pub async fn replenish(&mut self) -> Result<Value> {
        let path = format!("/mls/devices/{}/key-packages", self.state.device_id);
        let stock = self.get(&path).await?;
        let have = stock["stock"].as_i64().unwrap_or(0);
        let mut kps = Vec::new();
        for _ in have..STOCK_TARGET {
            kps.push(self.key_package(false)?);
        }
        let lr = if stock["last_resort"] == json!(true) {
            None
        } else {
            Some(self.key_package(true)?)
        };
        self.save()?;
        if kps.is_empty() && lr.is_none() {
            return Ok(stock);
        }
        self.post(&path, json!({"key_packages": kps, "last_resort": lr}))
            .await
    }

    /// Uploads exactly these numbers of packages (tests and tools).
    pub async fn upload_key_packages(&mut self, n: usize, last_resort: bool) -> Result<Value> {
        let path = format!("/mls/devices/{}/key-packages", self.state.device_id);
        let kps: Vec<String> = (0..n)
            .map(|_| self.key_package(false))
            .collect::<Result<_>>()?;
        let lr = if last_resort {
            Some(self.key_package(true)?)
        } else {
            None
        };
        self.save()?;
        self.post(&path, json!({"key_packages": kps, "last_resort": lr}))
            .await
    }

    // ---- verification ---------------------------------------------------------------

    /// The signing-key changes seen so far.
    pub fn key_warnings(&self) -> &[KeyWarning] {
        &self.warnings
    }

    /// The pinned keys of `domain`.
    pub fn pins(&self, domain: &str) -> Vec<Pin> {
        self.state.pins.get(domain).cloned().unwrap_or_default()
    }

    /// Accepts the key change of `domain` (after the user checked it out of band): the next
    /// verification pins the keys the domain publishes then.
    pub fn accept_key_change(&mut self, domain: &str) -> Result<()> {
        self.state.pins.remove(domain);
        self.docs.remove(domain);
        self.warnings.retain(|w| w.domain != domain);
        self.save()
    }

    /// Forgets fetched key documents (the next verification refetches them).
    pub fn forget_key_documents(&mut self) {
        self.docs.clear();
    }

    async fn keys_of(&mut self, domain: &str) -> Result<&KeyStore> {
        if !self.docs.contains_key(domain) {
            let v = self.cfg.keys.key_document(domain).await?;
            let doc = KeyDocument::verify(&v, domain).map_err(|e| ClientError::BadCredential {
                who: domain.to_owned(),
                reason: format!("key document: {e}"),
            })?;
            let now = now_ms();
            let mut store = KeyStore::new();
            store
                .insert_document(&doc, now)
                .map_err(|e| ClientError::BadCredential {
                    who: domain.to_owned(),
                    reason: format!("key document: {e}"),
                })?;
            self.docs.insert(domain.to_owned(), store);
        }
        Ok(&self.docs[domain])
    }

    /// Verifies a device credential (identity bytes) against its domain's key and the pin.
    pub async fn verify_identity(
        &mut self,
        identity: &[u8],
        leaf_key: &[u8],
    ) -> Result<DeviceCredential> {
        let (c, v) = DeviceCredential::parse(identity).map_err(|e| ClientError::BadCredential {
            who: "?".into(),
            reason: e.to_string(),
        })?;
        let domain = c
            .server()
            .map_err(|e| ClientError::BadCredential {
                who: c.user.clone(),
                reason: e.to_string(),
            })?
            .to_owned();
        let now = now_ms();
        let store = self.keys_of(&domain).await?;
        let dc = DeviceCredential::verify(identity, &store.at(now), now, Some(leaf_key)).map_err(
            |e| ClientError::BadCredential {
                who: c.user.clone(),
                reason: e.to_string(),
            },
        )?;
        // Pin the key that signed it (trust on first use); a different key is flagged.
        let sigs = hearth_federation::sign::signatures(&v).unwrap_or_default();
        let Some((key_id, _)) = sigs.get(&domain).and_then(|m| m.iter().next()) else {
            return Err(ClientError::BadCredential {
                who: c.user,
                reason: "unsigned".into(),
            });
        };
        use hearth_federation::keys::KeyLookup as _;
        let key = store
            .at(now)
            .lookup(&domain, key_id)
            .map(|k| k.key.to_b64())
            .unwrap_or_default();
        let pin = Pin {
            key_id: key_id.clone(),
            key: key.clone(),
        };
        let pins = self.state.pins.entry(domain.clone()).or_default();
        if pins.is_empty() {
            pins.push(pin);
            self.save()?;
        } else if !pins.contains(&pin) {
            let w = KeyWarning {
                domain: domain.clone(),
                key_id: key_id.clone(),
                pinned: pins.clone(),
                seen: key,
            };
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
            return Err(ClientError::KeyChanged {
                domain,
                key_id: key_id.clone(),
            });
        }
        Ok(dc)
    }

    async fn verify_member(
        &mut self,
        credential: &Credential,
        leaf_key: &[u8],
    ) -> Result<DeviceCredential> {
        let identity = identity_of(credential).ok_or_else(|| ClientError::BadCredential {
            who: "?".into(),
            reason: "not a basic credential".into(),
        })?;
        self.verify_identity(&identity, leaf_key).await
    }

    // ---- groups -----------------------------------------------------------------------

    /// Known group ids (usable or not).
    pub fn groups(&self) -> Vec<String> {
        self.state.groups.keys().cloned().collect()
    }

    /// Groups this device can no longer use, with the reason: it was removed, or the hub
    /// accepted a commit this device cannot process (a member's corrupted membership tag,
    /// spec/mls.md §5.1), so the group is stuck at its epoch for us. Start a new DM with the
    /// same people instead ([`Client::start_dm`]).
    pub fn unusable_groups(&self) -> Vec<(String, String)> {
        self.state
            .unusable
            .iter()
            .map(|(g, r)| (g.clone(), r.clone()))
            .collect()
    }

    /// Removes every device of `user` from the group with one commit (the hub validates it
    /// like any commit and delivers it to every previous member, the removed ones included).
    /// On a 409 the inbox is synced and the commit rebuilt (5 attempts). Returns the number
    /// of leaves removed. Errors: [`ClientError::State`] if `user` has no device in the group.
    pub async fn remove(&mut self, group_id: &str, user: &str) -> Result<usize> {
        for _ in 0..5 {
            let mut group = self.load_group(group_id)?;
            let leaves: Vec<LeafNodeIndex> = group
                .members()
                .filter(|m| {
                    identity_of(&m.credential)
                        .and_then(|i| DeviceCredential::parse(&i).ok())
                        .is_some_and(|(c, _)| c.user.eq_ignore_ascii_case(user))
                })
                .map(|m| m.index)
                .collect();
            if leaves.is_empty() {
                return Err(ClientError::State(format!(
                    "{user} has no device in {group_id}"
                )));
            }
            let (commit, _, _) = group
                .remove_members(&self.provider, self.signer()?, &leaves)
                .map_err(mls_err)?;
            let body = json!({"device_id": self.state.device_id, "message": tls(&commit)?});
            let res = self.post("/mls/messages", body).await;
            match res {
                Ok(_) => {
                    group
                        .merge_pending_commit(&self.provider)
                        .map_err(mls_err)?;
                    if let Some(peers) = self.state.groups.get_mut(group_id) {
                        peers.retain(|p| !p.eq_ignore_ascii_case(user));
                    }
                    self.save()?;
                    return Ok(leaves.len());
                }
                Err(e) => {
                    group
                        .clear_pending_commit(self.provider.storage())
                        .map_err(mls_err)?;
                    self.save()?;
                    match e {
                        ClientError::Api { status: 409, .. } => {
                            self.sync().await?;
                        }
                        e => return Err(e),
                    }
                }
            }
        }
        Err(ClientError::Mls("could not commit after 5 attempts".into()))
    }

    fn load_group(&self, group_id: &str) -> Result<MlsGroup> {
        MlsGroup::load(
            self.provider.storage(),
            &GroupId::from_slice(group_id.as_bytes()),
        )
        .map_err(mls_err)?
        .ok_or_else(|| ClientError::State(format!("unknown group {group_id}")))
    }

    /// The epoch authenticator of a group (compare members' views).
    pub fn epoch_authenticator(&self, group_id: &str) -> Result<Vec<u8>> {
        Ok(self
            .load_group(group_id)?
            .epoch_authenticator()
            .as_slice()
            .to_vec())
    }

    /// The group's epoch.
    pub fn epoch(&self, group_id: &str) -> Result<u64> {
        Ok(self.load_group(group_id)?.epoch().as_u64())
    }

    /// `(user, device)` of every member.
    pub fn members(&self, group_id: &str) -> Result<Vec<(String, String)>> {
        let g = self.load_group(group_id)?;
        Ok(g.members()
            .filter_map(|m| identity_of(&m.credential))
            .filter_map(|i| DeviceCredential::parse(&i).ok())
            .map(|(c, _)| (c.user, c.device_id))
            .collect())
    }

    /// Claims one KeyPackage per device of `user` and verifies each one's credential.
    pub async fn claim(&mut self, user: &str) -> Result<Vec<KeyPackage>> {
        let own = user == self.state.user;
        let body = if own {
            json!({"user": user, "device_id": self.state.device_id})
        } else {
            json!({"user": user})
        };
        let v = self.post("/mls/key-packages/claim", body).await?;
        let mut out = Vec::new();
        for d in v["devices"].as_array().cloned().unwrap_or_default() {
            let bytes = b64::decode(d["key_package"].as_str().unwrap_or_default(), "kp")
                .map_err(|e| ClientError::Mls(e.to_string()))?;
            let kp = KeyPackageIn::tls_deserialize_exact(bytes.as_slice())
                .map_err(mls_err)?
                .validate(self.provider.crypto(), ProtocolVersion::Mls10)
                .map_err(mls_err)?;
            let dc = self
                .verify_member(
                    kp.leaf_node().credential(),
                    kp.leaf_node().signature_key().as_slice(),
                )
                .await?;
            if !dc
                .user
                .eq_ignore_ascii_case(v["user"].as_str().unwrap_or_default())
            {
                return Err(ClientError::BadCredential {
                    who: dc.user,
                    reason: format!("claimed for {user}"),
                });
            }
            out.push(kp);
        }
        Ok(out)
    }

    /// Creates a group with this device, registers it at our homeserver (its hub), and adds
    /// every device of each peer. Returns the group id.
    pub async fn start_dm(&mut self, peers: &[&str]) -> Result<String> {
        let group_id = format!(
            "{}/{}",
            self.cfg.server_name,
            hex::encode(rand::random::<[u8; 16]>())
        );
        let group = MlsGroup::new_with_group_id(
            &self.provider,
            self.signer()?,
            &create_config(),
            GroupId::from_slice(group_id.as_bytes()),
            self.credential_with_key()?,
        )
        .map_err(mls_err)?;
        let gi = group
            .export_group_info(self.provider.crypto(), self.signer()?, false)
            .map_err(mls_err)?;
        let tree = group.export_ratchet_tree();
        self.save()?;
        self.post(
            "/mls/groups",
            json!({"device_id": self.state.device_id, "group_info": tls(&gi)?, "ratchet_tree": tls(&tree)?}),
        )
        .await?;
        self.state.groups.insert(
            group_id.clone(),
            peers.iter().map(|p| p.to_string()).collect(),
        );
        self.save()?;
        let mut kps = Vec::new();
        for p in peers {
            kps.extend(self.claim(p).await?);
        }
        if !kps.is_empty() {
            self.add(&group_id, kps).await?;
        }
        Ok(group_id)
    }

    /// Adds the other devices of this user (a new device) to a group.
    pub async fn add_own_devices(&mut self, group_id: &str) -> Result<usize> {
        let user = self.state.user.clone();
        let kps = self.claim(&user).await?;
        let n = kps.len();
        if n > 0 {
            self.add(group_id, kps).await?;
        }
        Ok(n)
    }

    /// Adds members (verified KeyPackages) with one commit; on a 409 the pending commit is
    /// dropped, the inbox is synced and the commit retried.
    pub async fn add(&mut self, group_id: &str, kps: Vec<KeyPackage>) -> Result<()> {
        for _ in 0..5 {
            let mut group = self.load_group(group_id)?;
            let (commit, welcome, gi) = group
                .add_members(&self.provider, self.signer()?, &kps)
                .map_err(mls_err)?;
            let mut body = json!({"device_id": self.state.device_id, "message": tls(&commit)?, "welcome": tls(&welcome)?});
            if let Some(gi) = gi {
                body["group_info"] = json!(tls(&MlsMessageOut::from(gi))?);
            }
            match self.post("/mls/messages", body).await {
                Ok(_) => {
                    group
                        .merge_pending_commit(&self.provider)
                        .map_err(mls_err)?;
                    self.save()?;
                    return Ok(());
                }
                Err(ClientError::Api { status: 409, .. }) => {
                    group
                        .clear_pending_commit(self.provider.storage())
                        .map_err(mls_err)?;
                    self.save()?;
                    self.sync().await?;
                }
                Err(e) => {
                    group
                        .clear_pending_commit(self.provider.storage())
                        .map_err(mls_err)?;
                    self.save()?;
                    return Err(e);
                }
            }
        }
        Err(ClientError::Mls("could not commit after 5 attempts".into()))
    }

    /// Adds members with one commit attempt and no retry: `Ok(true)` if accepted (merged),
    /// `Ok(false)` on 409 (the pending commit is dropped).
    pub async fn add_once(&mut self, group_id: &str, kps: &[KeyPackage]) -> Result<bool> {
        let mut group = self.load_group(group_id)?;
        let (commit, welcome, _) = group
            .add_members(&self.provider, self.signer()?, kps)
            .map_err(mls_err)?;
        let body = json!({"device_id": self.state.device_id, "message": tls(&commit)?, "welcome": tls(&welcome)?});
        let res = self.post("/mls/messages", body).await;
        match res {
            Ok(_) => {
                group
                    .merge_pending_commit(&self.provider)
                    .map_err(mls_err)?;
                self.save()?;
                Ok(true)
            }
            Err(e) => {
                group
                    .clear_pending_commit(self.provider.storage())
                    .map_err(mls_err)?;
                self.save()?;
                match e {
                    ClientError::Api { status: 409, .. } => Ok(false),
                    e => Err(e),
                }
            }
        }
    }

    /// Creates a group locally only, not registered at any hub (tests of the hub's checks).
    pub fn create_unregistered_group(&mut self, group_id: &str) -> Result<()> {
        MlsGroup::new_with_group_id(
            &self.provider,
            self.signer()?,
            &create_config(),
            GroupId::from_slice(group_id.as_bytes()),
            self.credential_with_key()?,
        )
        .map_err(mls_err)?;
        self.state.groups.insert(group_id.to_owned(), vec![]);
        self.save()
    }

    /// A self-update commit's bytes, left pending (tests of the hub's checks).
    pub fn self_update_raw(&mut self, group_id: &str) -> Result<Vec<u8>> {
        let mut group = self.load_group(group_id)?;
        let bundle = group
            .self_update(
                &self.provider,
                self.signer()?,
                LeafNodeParameters::default(),
            )
            .map_err(mls_err)?;
        let (commit, _, _) = bundle.into_contents();
        group
            .clear_pending_commit(self.provider.storage())
            .map_err(mls_err)?;
        commit.tls_serialize_detached().map_err(mls_err)
    }

    /// Sends a commit made by `make` once, without retry: `Ok(true)` if the hub accepted
    /// it (merged), `Ok(false)` on 409 (dropped).
    pub async fn try_self_update(&mut self, group_id: &str) -> Result<bool> {
        let mut group = self.load_group(group_id)?;
        let bundle = group
            .self_update(
                &self.provider,
                self.signer()?,
                LeafNodeParameters::default(),
            )
            .map_err(mls_err)?;
        let (commit, _, _) = bundle.into_contents();
        let body = json!({"device_id": self.state.device_id, "message": tls(&commit)?});
        match self.post("/mls/messages", body).await {
            Ok(_) => {
                group
                    .merge_pending_commit(&self.provider)
                    .map_err(mls_err)?;
                self.save()?;
                Ok(true)
            }
            Err(ClientError::Api { status: 409, .. }) => {
                group
                    .clear_pending_commit(self.provider.storage())
                    .map_err(mls_err)?;
                self.save()?;
                Ok(false)
            }
            Err(e) => {
                group
                    .clear_pending_commit(self.provider.storage())
                    .map_err(mls_err)?;
                self.save()?;
                Err(e)
            }
        }
    }

    /// Encrypts and sends a text message.
    pub async fn send(&mut self, group_id: &str, text: &str) -> Result<Value> {
        let mut group = self.load_group(group_id)?;
        let msg = group
            .create_message(&self.provider, self.signer()?, text.as_bytes())
            .map_err(mls_err)?;
        self.save()?;
        self.post(
            "/mls/messages",
            json!({"device_id": self.state.device_id, "message": tls(&msg)?}),
        )
        .await
    }

    /// Raw MLS bytes for a message (tests of the hub's checks).
    pub fn encrypt_raw(&mut self, group_id: &str, text: &str) -> Result<Vec<u8>> {
        let mut group = self.load_group(group_id)?;
        let msg = group
            .create_message(&self.provider, self.signer()?, text.as_bytes())
            .map_err(mls_err)?;
        self.save()?;
        msg.tls_serialize_detached().map_err(mls_err)
    }

    /// Reads the inbox from the cursor and processes everything: Welcomes join groups (all
    /// members verified), commits are verified and merged, application messages decrypted.
    pub async fn sync(&mut self) -> Result<Vec<Received>> {
        let mut out = Vec::new();
        loop {
            let path = format!(
                "/mls/devices/{}/inbox?after={}&limit=100",
                self.state.device_id, self.state.cursor
            );
            let v = self.get(&path).await?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            for it in &items {
                if let Err(e) = self.process_item(it, &mut out).await {
                    // A bad item (forged credential, unprocessable message) is skipped, never
                    // merged; key changes surface through key_warnings().
                    eprintln!("hearth-client: item {} skipped: {e}", it["id"]);
                }
                self.state.cursor = it["id"].as_str().unwrap_or_default().to_owned();
            }
            self.save()?;
        }
        Ok(out)
    }

    async fn process_item(&mut self, it: &Value, out: &mut Vec<Received>) -> Result<()> {
        let bytes = b64::decode(it["message"].as_str().unwrap_or_default(), "message")
            .map_err(|e| ClientError::Mls(e.to_string()))?;
        let msg = MlsMessageIn::tls_deserialize_exact(bytes.as_slice()).map_err(mls_err)?;
        match msg.extract() {
            MlsMessageBodyIn::Welcome(w) => {
                let staged =
                    StagedWelcome::new_from_welcome(&self.provider, &join_config(), w, None)
                        .map_err(mls_err)?;
                let members: Vec<Member> = staged.members().collect();
                for m in &members {
                    self.verify_member(&m.credential, m.signature_key.as_slice())
                        .await?;
                }
                let group = staged.into_group(&self.provider).map_err(mls_err)?;
                let gid = String::from_utf8_lossy(group.group_id().as_slice()).into_owned();
                let peers = members
                    .iter()
                    .filter_map(|m| identity_of(&m.credential))
                    .filter_map(|i| DeviceCredential::parse(&i).ok())
                    .map(|(c, _)| c.user)
                    .filter(|u| *u != self.state.user)
                    .collect::<std::collections::BTreeSet<_>>();
                self.state.groups.insert(gid, peers.into_iter().collect());
                self.save()?;
            }
            MlsMessageBodyIn::PublicMessage(m) => self.process_protocol(m.into(), out).await?,
            MlsMessageBodyIn::PrivateMessage(m) => self.process_protocol(m.into(), out).await?,
            _ => return Err(ClientError::Mls("unexpected message".into())),
        }
        Ok(())
    }

    async fn process_protocol(
        &mut self,
        m: ProtocolMessage,
        out: &mut Vec<Received>,
    ) -> Result<()> {
        let gid = String::from_utf8_lossy(m.group_id().as_slice()).into_owned();
        let mut group = self.load_group(&gid)?;
        let is_current_commit =
            m.content_type() == ContentType::Commit && m.epoch() == group.epoch();
        let processed = match group.process_message(&self.provider, m) {
            Ok(p) => p,
            Err(e) => {
                // The hub accepted this commit (it is the group's next epoch) but this device
                // cannot process it, e.g. a bad membership tag the hub cannot check (spec/mls.md
                // §5.1): the group cannot advance for us any more.
                if is_current_commit {
                    self.state.unusable.insert(
                        gid.clone(),
                        format!(
                            "the accepted commit of epoch {} cannot be processed: {e:?}",
                            group.epoch().as_u64()
                        ),
                    );
                    self.save()?;
                }
                return Err(mls_err(e));
            }
        };
        let sender_cred = processed.credential().clone();
        let sender_leaf = match processed.sender() {
            Sender::Member(i) => group.member(*i).cloned(),
            _ => None,
        };
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(a) => {
                let identity = identity_of(&sender_cred).unwrap_or_default();
                let (c, _) = DeviceCredential::parse(&identity)
                    .map_err(|e| ClientError::Mls(e.to_string()))?;
                out.push(Received {
                    group_id: gid,
                    sender: c.user,
                    sender_device: c.device_id,
                    text: String::from_utf8_lossy(&a.into_bytes()).into_owned(),
                });
                self.save()?;
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                for a in staged.add_proposals() {
                    let kp = a.add_proposal().key_package();
                    let (cred, key) = (
                        kp.leaf_node().credential().clone(),
                        kp.leaf_node().signature_key().as_slice().to_vec(),
                    );
                    self.verify_member(&cred, &key).await?;
                }
                let removed_by = sender_leaf
                    .as_ref()
                    .and_then(identity_of)
                    .and_then(|i| DeviceCredential::parse(&i).ok())
                    .map_or_else(|| "?".to_owned(), |(c, _)| c.user);
                group
                    .merge_staged_commit(&self.provider, *staged)
                    .map_err(mls_err)?;
                if !group.is_active() {
                    self.state.unusable.insert(
                        gid.clone(),
                        format!("removed from the group by {removed_by}"),
                    );
                }
                self.save()?;
            }
            _ => {
                self.save()?;
            }
        }
        Ok(())
    }

    // ---- gateway --------------------------------------------------------------------

    /// Connects to the gateway (`ws://…/gateway`) and starts listening for `MLS_MESSAGE`
    /// pushes for this device.
    pub async fn connect_gateway(&mut self) -> Result<()> {
        let url = format!(
            "{}/gateway?v=10&encoding=json",
            self.cfg.base_url.replacen("http", "ws", 1)
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let identify = json!({"op": 2, "d": {"token": self.state.token, "intents": 0, "properties": {"os": "hearth-client", "browser": "hearth-client", "device": "hearth-client"}}});
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            identify.to_string(),
        ))
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let device = self.state.device_id.clone();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut interval = 41_250u64;
            let mut seq = Value::Null;
            let mut beat = tokio::time::interval(Duration::from_millis(interval));
            loop {
                tokio::select! {
                    m = ws.next() => {
                        let Some(Ok(m)) = m else { return };
                        let Ok(text) = m.into_text() else { continue };
                        let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                        if !v["s"].is_null() { seq = v["s"].clone(); }
                        match (v["op"].as_u64(), v["t"].as_str()) {
                            (Some(10), _) => {
                                interval = v["d"]["heartbeat_interval"].as_u64().unwrap_or(interval);
                                beat = tokio::time::interval(Duration::from_millis(interval));
                            }
                            (Some(0), Some("READY")) => {
                                if let Some(r) = ready.take() { let _ = r.send(()); }
                            }
                            (Some(0), Some("MLS_MESSAGE")) if v["d"]["device_id"].as_str() == Some(device.as_str()) => {
                                let _ = tx.send(v["d"].clone());
                            }
                            _ => {}
                        }
                    }
                    _ = beat.tick() => {
                        let hb = json!({"op": 1, "d": seq});
                        if ws.send(tokio_tungstenite::tungstenite::Message::text(hb.to_string())).await.is_err() { return }
                    }
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready_rx)
            .await
            .map_err(|_| ClientError::Http("gateway READY timed out".into()))?
            .map_err(|_| ClientError::Http("gateway closed".into()))?;
        self.push = Some(rx);
        self.gateway = Some(task);
        Ok(())
    }

    /// Waits (at most `timeout`) for a gateway push, then syncs. Without a gateway, syncs.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Vec<Received>> {
        if let Some(rx) = &mut self.push {
            let _ = tokio::time::timeout(timeout, rx.recv()).await;
            while rx.try_recv().is_ok() {}
        }
        self.sync().await
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
