//! Persistence of a device: account state in `state_dir/state.json` and the whole openmls
//! store in `state_dir/mls-store.json`, each written atomically (write + rename) after every
//! change; [`Client::open`] reloads both.

use std::path::Path;

use hearth_federation::b64;
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;

use crate::{CIPHERSUITE, Client, ClientError, Config, Result};

impl Client {
    pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, data).map_err(|e| ClientError::State(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| ClientError::State(e.to_string()))
    }

    pub(crate) fn save(&self) -> Result<()> {
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
}
