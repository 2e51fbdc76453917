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
//!
//! Files, one job each (every one adds methods to [`Client`]): `keys.rs` (where domain keys
//! come from: [`KeySource`], [`HttpsKeySource`]), `store.rs` (persistence), `http.rs` (calls
//! to the homeserver), `account.rs` (accounts, devices, KeyPackages), `verify.rs`
//! (credentials, pins, key warnings), `groups.rs` (DMs, membership, sending, sync),
//! `gateway.rs` (push). This file holds the shared types.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use hearth_federation::b64;
use hearth_federation::keys::KeyStore;
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod account;
mod gateway;
mod groups;
mod http;
mod keys;
mod store;
mod verify;

pub use hearth_federation::discovery::DiscoveryConfig;
pub use keys::{HttpsKeySource, KEY_PATH, KeySource, MAX_KEY_DOCUMENT_BYTES};

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
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
