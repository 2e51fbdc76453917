//! Where the SDK gets a domain's key document: the [`KeySource`] trait and
//! [`HttpsKeySource`], which finds the domain's server through federation discovery.

use std::collections::HashMap;

use serde_json::Value;

use crate::{ClientError, Result};

/// Where the SDK gets a domain's key document (`GET /_hearth/key/v1/server` of that domain).
#[async_trait::async_trait]
pub trait KeySource: Send + Sync {
    /// The signed key document of `domain`, as published by `domain` itself.
    async fn key_document(&self, domain: &str) -> Result<Value>;
}

use hearth_federation::discovery::{Discovery, DiscoveryConfig, https_client, read_capped};
pub use hearth_federation::keys::{KEY_PATH, MAX_KEY_DOCUMENT_BYTES};

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
