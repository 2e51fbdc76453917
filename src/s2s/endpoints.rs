//! Outbound HTTP to applications' interactions endpoints (the service port
//! [`InteractionEndpoints`]; Discord "Interactions > Receiving and Responding"): the same
//! address policy as federation (every address a name resolves to, and an address written
//! in the URL, must be public unless `federation.allow_private_addresses`), HTTPS only
//! unless private addresses are allowed (tests and LAN deployments), no redirects, the
//! caller's timeout and a capped answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::discovery::{Discovery, is_public_ip};
use crate::config::FederationConfig;
use crate::error::{Error, Result};
use crate::service::ports::{EndpointAnswer, InteractionEndpoints};

/// The HTTP client of interactions endpoints.
pub struct EndpointClient {
    http: reqwest::Client,
    allow_private: bool,
}

impl EndpointClient {
    /// A client over `discovery`'s resolver (address policy) trusting the configured extra
    /// CA roots.
    ///
    /// # Errors
    /// Unreadable CA files, a client that cannot be built.
    pub fn new(cfg: &FederationConfig, discovery: &Discovery) -> Result<EndpointClient> {
        let roots = super::tls::load_roots(&cfg.extra_ca_certs).map_err(Error::Internal)?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .https_only(!cfg.allow_private_addresses)
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge(roots)
            .dns_resolver(Arc::new(discovery.plain_resolver()))
            .user_agent(concat!("hearth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("interactions HTTP client: {e}")))?;
        Ok(EndpointClient {
            http,
            allow_private: cfg.allow_private_addresses,
        })
    }
}

#[async_trait]
impl InteractionEndpoints for EndpointClient {
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        timeout: Duration,
        cap: usize,
    ) -> std::result::Result<EndpointAnswer, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
        // The resolver checks names; an address in the URL is checked here.
        let literal = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        if let Some(ip) = literal
            && !self.allow_private
            && !is_public_ip(ip)
        {
            return Err(format!("the address {ip} is not public"));
        }
        let mut rb = self
            .http
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        let exchange = async {
            let resp = rb.body(body).send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = hearth_federation::discovery::read_capped(resp, cap)
                .await
                .map_err(|e| e.to_string())?;
            Ok(EndpointAnswer { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
    }
}
