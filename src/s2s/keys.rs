//! This server's signing keys: persisted in `server_keys`, generated on first start, rotated
//! and revoked by `hearth keys ...` (or [`Keyring::rotate`] / [`Keyring::revoke`] in process),
//! published as a self-signed [`KeyDocument`] at `GET /_hearth/key/v1/server`.
//!
//! A running server rereads the table every `federation.key_reload_ms` (500 ms;
//! [`Keyring::reload`]), and at once when a peer refuses a request for a key revoked or
//! retired meanwhile, so a `hearth keys` command run next to it takes effect without a
//! restart. A rotation by that command ([`Keyring::rotate_beside_running_server`]) keeps the
//! old key valid for [`CLI_ROTATION_GRACE_MS`] more, so what the running server signs before
//! it notices stays verifiable (spec/federation.md §3.5). After a revocation the host serves
//! what it signed with the revoked key re-signed with a current one (§3.6).

use hearth_federation::b64;
use hearth_federation::keys::{
    KeyDocument, KeyState, KnownKey, OldVerifyKey, RevokedVerifyKey, ServerKey, VerifyKey,
};
use parking_lot::RwLock;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::storage::{Db, ServerKeyRow, now_ms};

/// After `hearth keys rotate`, the old key's `expired_ts` lies this far ahead (ms): far more
/// than the reload period (`federation.key_reload_ms`, at most 10 s), so a running server that signs with it until its next reload signs
/// only at times the key is still valid for (spec/federation.md §3.5).
pub const CLI_ROTATION_GRACE_MS: i64 = 60_000;

/// One key of this server as the operator sees it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub key_id: String,
    /// Unpadded base64 verify key.
    pub public_key: String,
    pub created_at: i64,
    pub expired_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl KeyInfo {
    /// `current`, `old` or `revoked`.
    pub fn state(&self) -> &'static str {
        match (self.expired_at, self.revoked_at) {
            (_, Some(_)) => "revoked",
            (Some(_), None) => "old",
            (None, None) => "current",
        }
    }

    /// The state as a verifier sees it.
    pub fn known_state(&self) -> KeyState {
        match (self.expired_at, self.revoked_at) {
            (_, Some(t)) => KeyState::Revoked {
                revoked_ts: t.max(0) as u64,
            },
            (Some(t), None) => KeyState::Old {
                expired_ts: t.max(0) as u64,
            },
            (None, None) => KeyState::Current,
        }
    }
}

#[derive(Clone)]
struct Entry {
    key: ServerKey,
    info: KeyInfo,
}

/// The server's keys (cheap to read; writes go to the database first).
pub struct Keyring {
    server_name: String,
    db: Db,
    validity_ms: u64,
    entries: RwLock<Vec<Entry>>,
    /// Reads started by [`Keyring::reload_coalesced`] (under `coalesce`).
    coalesced_reads: std::sync::atomic::AtomicU64,
    coalesce: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("server_name", &self.server_name)
            .field("keys", &self.list())
            .finish_non_exhaustive()
    }
}

fn parse_row(row: &ServerKeyRow) -> Result<Entry> {
    let seed = b64::decode_array::<32>(&row.seed, "key seed")
        .map_err(|e| Error::internal(format!("server_keys {}: {e}", row.key_id)))?;
    let key = ServerKey::from_seed(&row.key_id, seed)
        .map_err(|e| Error::internal(format!("server_keys {}: {e}", row.key_id)))?;
    Ok(Entry {
        info: KeyInfo {
            key_id: row.key_id.clone(),
            public_key: key.public_key().to_b64(),
            created_at: row.created_at,
            expired_at: row.expired_at,
            revoked_at: row.revoked_at,
        },
        key,
    })
}

impl Keyring {
    /// Loads the keys of `db`, generating and storing a first key when none is current.
    pub async fn load(server_name: &str, db: Db, validity_ms: u64) -> Result<Keyring> {
        let ring = Keyring {
            server_name: server_name.to_owned(),
            db,
            validity_ms: validity_ms.clamp(60_000, hearth_federation::keys::MAX_KEY_VALIDITY_MS),
            entries: RwLock::new(Vec::new()),
            coalesced_reads: std::sync::atomic::AtomicU64::new(0),
            coalesce: tokio::sync::Mutex::new(()),
        };
        ring.reload().await?;
        if ring.current_entry().is_none() {
            ring.add_key().await?;
        }
        Ok(ring)
    }

    /// Rereads the table (picks up `hearth keys` commands run by another process). Returns
    /// whether anything changed (a key added, expired or revoked).
    pub async fn reload(&self) -> Result<bool> {
        let rows = self.db.server_keys().await?;
        let entries = rows.iter().map(parse_row).collect::<Result<Vec<_>>>()?;
        let mut held = self.entries.write();
        let changed =
            held.len() != entries.len() || held.iter().zip(&entries).any(|(a, b)| a.info != b.info);
        *held = entries;
        Ok(changed)
    }

    async fn add_key(&self) -> Result<KeyInfo> {
        let key = ServerKey::generate();
        let row = ServerKeyRow {
            key_id: key.key_id().to_owned(),
            seed: b64::encode(key.seed()),
            created_at: now_ms(),
            expired_at: None,
            revoked_at: None,
        };
        self.db.insert_server_key(&row).await?;
        self.reload().await?;
        Ok(parse_row(&row)?.info)
    }

    /// [`Keyring::reload`], coalesced: callers arriving together share one read that started
    /// after each of them arrived (so each sees every change committed before it called), and
    /// the table is read by one of them at a time however many call. Returns whether this
    /// caller's read changed anything (`false` when it shared another's).
    pub async fn reload_coalesced(&self) -> Result<bool> {
        use std::sync::atomic::Ordering::SeqCst;
        let ticket = self.coalesced_reads.load(SeqCst);
        let _one = self.coalesce.lock().await;
        if self.coalesced_reads.load(SeqCst) > ticket {
            // A read started after this call arrived and has finished.
            return Ok(false);
        }
        self.coalesced_reads.fetch_add(1, SeqCst);
        self.reload().await
    }

    /// This server's name.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    fn current_entry(&self) -> Option<Entry> {
        self.entries
            .read()
            .iter()
            .rev()
            .find(|e| e.info.state() == "current")
            .cloned()
    }

    /// The key new signatures are made with (the newest current key).
    pub fn current(&self) -> ServerKey {
        self.current_entry()
            .map(|e| e.key)
            .expect("a keyring always has a current key")
    }

    /// The ids of the revoked keys (asked per delivery batch: no copy of the other keys).
    pub fn revoked_key_ids(&self) -> Vec<String> {
        self.entries
            .read()
            .iter()
            .filter(|e| e.info.revoked_at.is_some())
            .map(|e| e.info.key_id.clone())
            .collect()
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.entries.read().iter().map(|e| e.info.clone()).collect()
    }

    /// Every key with the state a verifier must give it.
    pub fn known_keys(&self) -> Vec<(String, KnownKey)> {
        self.entries
            .read()
            .iter()
            .map(|e| {
                (
                    e.info.key_id.clone(),
                    KnownKey {
                        key: e.key.public_key(),
                        state: e.info.known_state(),
                    },
                )
            })
            .collect()
    }

    /// The key document valid until `now + key_validity_ms`.
    pub fn document(&self, now: u64) -> KeyDocument {
        let entries = self.entries.read();
        let current: Vec<&ServerKey> = entries
            .iter()
            .filter(|e| e.info.state() == "current")
            .map(|e| &e.key)
            .collect();
        let mut doc = KeyDocument::new(&self.server_name, &current, now + self.validity_ms);
        for e in entries.iter() {
            match e.info.known_state() {
                KeyState::Current => {
                    doc.verify_keys.insert(
                        e.info.key_id.clone(),
                        VerifyKey {
                            key: e.info.public_key.clone(),
                        },
                    );
                }
                KeyState::Old { expired_ts } => {
                    doc.old_verify_keys.insert(
                        e.info.key_id.clone(),
                        OldVerifyKey {
                            key: e.info.public_key.clone(),
                            expired_ts,
                        },
                    );
                }
                KeyState::Revoked { revoked_ts } => {
                    doc.revoked_keys.insert(
                        e.info.key_id.clone(),
                        RevokedVerifyKey {
                            key: e.info.public_key.clone(),
                            revoked_ts,
                        },
                    );
                }
            }
        }
        doc
    }

    /// The signed key document served at `GET /_hearth/key/v1/server`.
    pub fn signed_document(&self, now: u64) -> Result<Value> {
        let doc = self.document(now);
        let entries = self.entries.read();
        let signers: Vec<&ServerKey> = entries
            .iter()
            .filter(|e| e.info.state() == "current")
            .map(|e| &e.key)
            .collect();
        doc.sign(&signers).map_err(Error::internal)
    }

    /// Makes a new current key and retires every other current key (it stays published in
    /// `old_verify_keys` with `expired_ts` = now, so what it signed before stays verifiable).
    /// Returns the new key.
    pub async fn rotate(&self) -> Result<KeyInfo> {
        self.rotate_with_grace(0).await
    }

    /// [`Keyring::rotate`] for `hearth keys rotate`, run in another process beside a running
    /// server: the retired keys expire [`CLI_ROTATION_GRACE_MS`] from now instead of now, so
    /// events and requests the running server signs with them until its next reload
    /// (`federation.key_reload_ms`) stay valid for every verifier (spec/federation.md §3.5).
    pub async fn rotate_beside_running_server(&self) -> Result<KeyInfo> {
        self.rotate_with_grace(CLI_ROTATION_GRACE_MS).await
    }

    async fn rotate_with_grace(&self, grace_ms: i64) -> Result<KeyInfo> {
        let new = {
            let key = ServerKey::generate();
            let row = ServerKeyRow {
                key_id: key.key_id().to_owned(),
                seed: b64::encode(key.seed()),
                created_at: now_ms(),
                expired_at: None,
                revoked_at: None,
            };
            self.db.insert_server_key(&row).await?;
            row
        };
        self.db
            .expire_server_keys_except(&new.key_id, now_ms() + grace_ms)
            .await?;
        self.reload().await?;
        Ok(parse_row(&new)?.info)
    }

    /// Revokes `key_id`: published in `revoked_keys`, nothing it signed is accepted again.
    /// When it was the last current key a new one is generated. Returns the key, or `None` if
    /// there is no such key.
    pub async fn revoke(&self, key_id: &str) -> Result<Option<KeyInfo>> {
        if !self.db.revoke_server_key(key_id, now_ms()).await? {
            return Ok(None);
        }
        self.reload().await?;
        if self.current_entry().is_none() {
            self.add_key().await?;
        }
        Ok(self.list().into_iter().find(|k| k.key_id == key_id))
    }
}
