//! Verification of members: device credentials checked against the key of the domain in
//! their handle (fetched through the [`crate::KeySource`], pinned on first use), key-change
//! warnings and their acceptance.

use hearth_federation::device::DeviceCredential;
use hearth_federation::keys::{KeyDocument, KeyStore};
use openmls::prelude::*;

use crate::{Client, ClientError, KeyWarning, Pin, Result, identity_of, now_ms};

impl Client {
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

    pub(crate) async fn keys_of(&mut self, domain: &str) -> Result<&KeyStore> {
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

    pub(crate) async fn verify_member(
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
}
