//! Accounts and devices: register or log in, set up this device (its MLS signature key and
//! the credential the server signs), and keep KeyPackages in stock on the server.

use hearth_federation::b64;
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use serde_json::{Value, json};

use crate::{CIPHERSUITE, Client, ClientError, Config, Result, STOCK_TARGET, mls_err, tls};

impl Client {
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
    pub(crate) async fn sign_in(cfg: Config, path: &str, body: Value) -> Result<Client> {
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

    pub(crate) fn signer(&self) -> Result<&SignatureKeyPair> {
        self.signer
            .as_ref()
            .ok_or_else(|| ClientError::State("no device set up".into()))
    }

    pub(crate) fn credential_with_key(&self) -> Result<CredentialWithKey> {
        let identity = b64::decode(&self.state.credential, "credential")
            .map_err(|e| ClientError::State(e.to_string()))?;
        Ok(CredentialWithKey {
            credential: BasicCredential::new(identity).into(),
            signature_key: self.signer()?.public().into(),
        })
    }

    pub(crate) fn key_package(&self, last_resort: bool) -> Result<String> {
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
}
