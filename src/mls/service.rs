//! The rules of the MLS services (spec/mls.md): the Authentication Service (device
//! credentials signed with the server key) and the KeyPackage directory (validated uploads,
//! stock, atomic claims with a last-resort fallback, claim limits and the DM policy, remote
//! claims through federation). The hub and the inboxes are in [`super::hub`].

use super::{
    CIPHERSUITE, CLAIMS_PER_MINUTE_PER_CLAIMER, CLAIMS_PER_MINUTE_PER_TARGET,
    CREDENTIAL_VALIDITY_MS, MAX_KEY_PACKAGES,
};
use crate::error::{Error, MlsRefusal, Rule, Unknown};
use crate::service::Actor;
use crate::storage::MlsDeviceRow;
use crate::storage::{UserRow, now_ms};
use crate::wire;
use hearth_federation::b64;
use hearth_federation::device::DeviceCredential;
use openmls::prelude::tls_codec::Deserialize as _;
use openmls::prelude::*;
use openmls_rust_crypto::{MemoryStorage, RustCrypto};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(super) type R<T> = std::result::Result<T, Error>;

/// A member device as the hub routes to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeviceAddr {
    /// `localpart@server`.
    pub user: String,
    /// Device id on the user's server.
    pub device_id: String,
}

impl DeviceAddr {
    pub(super) fn server(&self) -> &str {
        self.user.rsplit_once('@').map_or("", |(_, s)| s)
    }
}

pub(super) fn b64d(text: &str, field: &'static str) -> R<Vec<u8>> {
    b64::decode(text, field).map_err(|e| super::form(field, &e.to_string()))
}

pub(super) fn device_of_credential(c: &Credential) -> Option<DeviceAddr> {
    let basic = BasicCredential::try_from(c.clone()).ok()?;
    let (dc, _) = DeviceCredential::parse(basic.identity()).ok()?;
    Some(DeviceAddr {
        user: dc.user,
        device_id: dc.device_id,
    })
}

/// The hub's public state of a group: a [`PublicGroup`] in a [`MemoryStorage`] that is
/// serialized to the `mls_groups.state` column.
pub(super) fn save_storage(storage: &MemoryStorage) -> String {
    let values = storage.values.read().expect("storage lock");
    let mut pairs: Vec<(String, String)> = values
        .iter()
        .map(|(k, v)| (b64::encode(k), b64::encode(v)))
        .collect();
    pairs.sort();
    serde_json::to_string(&pairs).expect("strings serialize")
}

pub(super) fn load_storage(text: &str) -> crate::error::Result<MemoryStorage> {
    let pairs: Vec<(String, String)> = serde_json::from_str(text).map_err(Error::internal)?;
    let storage = MemoryStorage::default();
    {
        let mut values = storage.values.write().expect("storage lock");
        for (k, v) in pairs {
            values.insert(
                b64::decode(&k, "state").map_err(Error::internal)?,
                b64::decode(&v, "state").map_err(Error::internal)?,
            );
        }
    }
    Ok(storage)
}

/// `hub/…` group ids: the hub is the part before the first `/`.
pub fn hub_of(group_id: &[u8]) -> R<(String, String)> {
    let text = std::str::from_utf8(group_id)
        .map_err(|_| super::bad_message("group id must be UTF-8 \"hub/random\""))?;
    let (hub, rest) = text
        .split_once('/')
        .ok_or_else(|| super::bad_message("group id must be \"hub/random\""))?;
    if hub.is_empty() || rest.len() < 16 || rest.len() > 128 {
        return Err(super::bad_message("group id must be \"hub/random\""));
    }
    Ok((hub.to_owned(), text.to_owned()))
}

pub(super) fn parse_mls_message(bytes: &[u8]) -> R<MlsMessageBodyIn> {
    let msg = MlsMessageIn::tls_deserialize_exact(bytes)
        .map_err(|e| super::bad_message(&format!("not an MLS message: {e}")))?;
    Ok(msg.extract())
}

impl super::Mls {
    pub(super) fn handle_of(&self, user: &UserRow) -> String {
        format!(
            "{}@{}",
            user.username.to_lowercase(),
            self.config.server_name
        )
    }

    /// Loads `device_id` and checks that it belongs to `actor`.
    pub(super) async fn own_device(&self, actor: &Actor, device_id: &str) -> R<MlsDeviceRow> {
        let id: i64 = device_id
            .parse()
            .map_err(|_| super::form("device_id", "not a device id"))?;
        match self.db.mls_device(id).await? {
            Some(d) if d.user_id == actor.user.id => Ok(d),
            Some(_) => Err(Error::Mls(MlsRefusal::WrongDevice(
                "This device does not belong to you",
            ))),
            None => Err(Error::Mls(MlsRefusal::UnknownDevice)),
        }
    }

    // ---- devices and credentials (AS) ------------------------------------------------

    /// `POST /mls/devices`: registers a device with its MLS signature public key and returns
    /// the server-signed credential.
    pub async fn mls_register_device(&self, actor: &Actor, signature_key: &str) -> R<Value> {
        let key = b64d(signature_key, "signature_key")?;
        if key.len() != 32 {
            return Err(super::form(
                "signature_key",
                "must be a 32-byte Ed25519 public key",
            ));
        }
        let id = self.next_id();
        let now = now_ms().max(0) as u64;
        let cred = DeviceCredential {
            user: self.handle_of(&actor.user),
            device_id: id.to_string(),
            signature_key: b64::encode(&key),
            issued_ts: now,
            expires_ts: now + CREDENTIAL_VALIDITY_MS,
        };
        let identity = cred
            .sign(&self.config.server_name, &self.fed.keyring.current())
            .map_err(Error::internal)?;
        let row = MlsDeviceRow {
            id,
            user_id: actor.user.id,
            signature_key: cred.signature_key.clone(),
            credential: b64::encode(&identity),
            created_at: now as i64,
            expires_at: cred.expires_ts as i64,
        };
        match self.db.mls_insert_device(&row).await {
            Ok(()) => {}
            Err(Error::Internal(e)) if e.contains("UNIQUE") || e.contains("unique") => {
                return Err(super::form(
                    "signature_key",
                    "this key is registered already",
                ));
            }
            Err(e) => return Err(e),
        }
        Ok(json!({
            "device_id": id.to_string(),
            "user": cred.user,
            "credential": row.credential,
            "expires_ts": cred.expires_ts,
        }))
    }

    /// `GET /mls/devices`.
    pub async fn mls_devices(&self, actor: &Actor) -> R<Value> {
        let rows = self.db.mls_devices_of(actor.user.id).await?;
        Ok(Value::Array(
            rows.iter()
                .map(|d| {
                    json!({"device_id": d.id.to_string(), "signature_key": d.signature_key,
                       "credential": d.credential, "expires_ts": d.expires_at})
                })
                .collect(),
        ))
    }

    // ---- KeyPackages ----------------------------------------------------------------

    /// Validates one uploaded KeyPackage for `device` (signature and lifetime through
    /// openmls, lifetime range, ciphersuite, credential = the device's, last-resort flag).
    pub(super) fn mls_check_key_package(
        &self,
        device: &MlsDeviceRow,
        bytes: &[u8],
        want_last_resort: bool,
    ) -> R<(String, i64)> {
        let crypto = RustCrypto::default();
        let kp_in = match parse_mls_message(bytes) {
            Ok(MlsMessageBodyIn::KeyPackage(kp)) => kp,
            Ok(_) => return Err(super::bad_key_package("not a KeyPackage")),
            Err(_) => KeyPackageIn::tls_deserialize_exact(bytes)
                .map_err(|e| super::bad_key_package(&format!("not a KeyPackage: {e}")))?,
        };
        let kp = kp_in
            .validate(&crypto, ProtocolVersion::Mls10)
            .map_err(|e| super::bad_key_package(&format!("invalid KeyPackage: {e}")))?;
        if kp.ciphersuite() != CIPHERSUITE {
            return Err(super::bad_key_package(
                "unsupported ciphersuite (only MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)",
            ));
        }
        if !kp.life_time().has_acceptable_range() {
            return Err(super::bad_key_package("lifetime range too long"));
        }
        if kp.last_resort() != want_last_resort {
            return Err(super::bad_key_package(if want_last_resort {
                "last_resort must be a last-resort KeyPackage"
            } else {
                "a last-resort KeyPackage goes in last_resort"
            }));
        }
        let leaf = kp.leaf_node();
        if b64::encode(leaf.signature_key().as_slice()) != device.signature_key {
            return Err(super::bad_key_package(
                "the leaf's signature key is not this device's",
            ));
        }
        let basic = BasicCredential::try_from(leaf.credential().clone())
            .map_err(|_| super::bad_key_package("the credential must be a basic credential"))?;
        let stored = b64::decode(&device.credential, "credential").map_err(Error::internal)?;
        if basic.identity() != stored.as_slice() {
            return Err(super::bad_key_package(
                "the credential is not this device's current credential",
            ));
        }
        let kp_ref = kp.hash_ref(&crypto).map_err(Error::internal)?;
        let not_after_ms = (kp.life_time().not_after() as i64).saturating_mul(1000);
        Ok((b64::encode(kp_ref.as_slice()), not_after_ms))
    }

    /// `POST /mls/devices/{device_id}/key-packages`.
    pub async fn mls_upload_key_packages(
        &self,
        actor: &Actor,
        device_id: &str,
        packages: &[String],
        last_resort: Option<&str>,
    ) -> R<Value> {
        let device = self.own_device(actor, device_id).await?;
        if packages.len() > MAX_KEY_PACKAGES {
            return Err(super::form("key_packages", "at most 100 per request"));
        }
        let mut checked = Vec::new();
        for p in packages {
            let bytes = b64d(p, "key_packages")?;
            let (r, exp) = self.mls_check_key_package(&device, &bytes, false)?;
            checked.push((r, p.clone(), false, exp));
        }
        if let Some(lr) = last_resort {
            let bytes = b64d(lr, "last_resort")?;
            let (r, exp) = self.mls_check_key_package(&device, &bytes, true)?;
            checked.push((r, lr.to_owned(), true, exp));
        }
        let (stock, _) = self.db.mls_stock(device.id, now_ms()).await?;
        if stock as usize + checked.len() > 500 {
            return Err(super::form("key_packages", "at most 500 in stock"));
        }
        for (r, data, lr, exp) in checked {
            self.db
                .mls_insert_key_package(self.next_id(), device.id, &r, &data, lr, exp)
                .await?;
        }
        self.mls_stock(actor, device_id).await
    }

    /// `GET /mls/devices/{device_id}/key-packages`: the stock.
    pub async fn mls_stock(&self, actor: &Actor, device_id: &str) -> R<Value> {
        let device = self.own_device(actor, device_id).await?;
        let (n, lr) = self.db.mls_stock(device.id, now_ms()).await?;
        Ok(json!({"device_id": device.id.to_string(), "stock": n, "last_resort": lr}))
    }

    /// Claim rate limits: per (claimer, target) and per claimer, per minute.
    pub(super) fn mls_claim_allowed(&self, claimer: &str, target: i64) -> R<()> {
        let now = Instant::now();
        let mut map = self.mls.claims.lock();
        let mut check = |key: (String, i64), limit: usize| -> R<()> {
            let q = map.entry(key).or_default();
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                q.pop_front();
            }
            if q.len() >= limit {
                let retry = q
                    .front()
                    .map_or(60.0, |t| 60.0 - now.duration_since(*t).as_secs_f64());
                return Err(Error::RateLimited {
                    retry_after: retry.max(0.1),
                    global: false,
                    scope: "user",
                });
            }
            Ok(())
        };
        check((claimer.to_owned(), target), CLAIMS_PER_MINUTE_PER_TARGET)?;
        check((claimer.to_owned(), 0), CLAIMS_PER_MINUTE_PER_CLAIMER)?;
        for key in [(claimer.to_owned(), target), (claimer.to_owned(), 0)] {
            map.entry(key).or_default().push_back(now);
        }
        Ok(())
    }

    /// Whether `target` (a local user) admits DMs from `claimer` (a handle `name@server`,
    /// local or remote; spec/mls.md §4), the same rules as Discord-style DMs: neither blocked
    /// the other, and unless the target's `dm_policy` is 0 (anyone), they share a guild.
    /// Fails closed: a claimer this server has no user row for (a remote user it never met)
    /// shares no guild, so any policy other than 0 refuses them; blocks are relationships
    /// between user rows, so a blocked user always has one and is always found. Errors:
    /// 403 50007.
    pub(super) async fn mls_dm_admits(&self, target: &UserRow, claimer: &str) -> R<()> {
        let (local, server) = claimer
            .rsplit_once('@')
            .ok_or_else(|| super::form("user", "not a handle"))?;
        let (local, server) = (local.to_lowercase(), server.to_lowercase());
        if server == self.config.server_name && local == target.username.to_lowercase() {
            return Ok(()); // one's own devices
        }
        let row = if server == self.config.server_name {
            self.db.local_user(&local).await?
        } else {
            self.db.remote_user(&server, &local).await?
        };
        let refused = || Err(Error::Rule(Rule::CannotMessageUser));
        if let Some(c) = &row
            && (self.db.relationship(target.id, c.id).await? == Some(2)
                || self.db.relationship(c.id, target.id).await? == Some(2))
        {
            return refused();
        }
        if target.dm_policy != 0 {
            let shared = match &row {
                Some(c) => self.db.share_guild(c.id, target.id).await?,
                None => false,
            };
            if !shared {
                return refused();
            }
        }
        Ok(())
    }

    /// Claims one KeyPackage per device of the local user `localpart` for `claimer`
    /// (local API and federation): rate limits, DM policy, one package per device.
    pub async fn mls_claim_local(
        &self,
        claimer: &str,
        localpart: &str,
        exclude_device: Option<&str>,
    ) -> R<Value> {
        let target = self
            .db
            .local_user(localpart)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        self.mls_dm_admits(&target, claimer).await?;
        self.mls_claim_allowed(claimer, target.id)?;
        let now = now_ms();
        let mut devices = Vec::new();
        for d in self.db.mls_devices_of(target.id).await? {
            if d.expires_at <= now || exclude_device == Some(d.id.to_string().as_str()) {
                continue;
            }
            if let Some((kp, lr)) = self.db.mls_claim(d.id, claimer, now).await? {
                devices.push(
                    json!({"device_id": d.id.to_string(), "key_package": kp, "last_resort": lr}),
                );
            }
        }
        Ok(json!({"user": self.handle_of(&target), "devices": devices}))
    }

    /// `POST /mls/key-packages/claim` `{user: "name@server", device_id?}`.
    pub async fn mls_claim(
        &self,
        actor: &Actor,
        user: &str,
        exclude_device: Option<&str>,
    ) -> R<Value> {
        let claimer = self.handle_of(&actor.user);
        let (local, server) = match user.rsplit_once('@') {
            Some((l, s)) => (l.to_lowercase(), s.to_lowercase()),
            None => (user.to_lowercase(), self.config.server_name.clone()),
        };
        if local.is_empty() || server.is_empty() {
            return Err(super::form("user", "must be name@server"));
        }
        if server == self.config.server_name {
            return self.mls_claim_local(&claimer, &local, exclude_device).await;
        }
        let body = serde_json::to_value(wire::MlsFedClaimBody {
            claimer,
            user: local,
        })
        .map_err(Error::internal)?;
        let v = self
            .fed
            .request(
                &server,
                Method::POST,
                "/_hearth/federation/v1/mls/claim",
                Some(&body),
            )
            .await
            .map_err(|e| {
                Error::Mls(MlsRefusal::Federation(format!(
                    "cannot reach {server}: {e}"
                )))
            })?;
        super::from_relayed(v)
    }
}
