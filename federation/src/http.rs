//! Outbound HTTPS under the federation transport rules (spec/federation.md §2.4
//! "Transport and outbound safety"), shared by the homeserver and the registrar: the
//! outbound error type [`FedError`], reading capped bodies and mapping transport errors,
//! peers' error answers ([`remote_error`]: only a well-formed `errcode` and a shortened
//! `error` text pass), and [`SafeHttp`], the client that fetches from servers found by
//! discovery or from configured URLs (address policy, extra CA roots, time and redirect
//! caps from an [`OutboundConfig`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::discovery::{BodyError, Discovery, DiscoveryConfig, DiscoveryError, https_client};

/// Why an outbound call to another server (a peer, the registrar, a homeserver asked by the
/// registrar) failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FedError {
    /// `federation.enabled = false`.
    #[error("federation is disabled")]
    Disabled,
    /// The destination is excluded by `deny_domains` / `allow_domains`.
    #[error("{0} is excluded by the federation domain policy")]
    Denied(String),
    /// The destination could not be resolved (the error names the step).
    #[error("discovery: {0}")]
    Discovery(#[from] DiscoveryError),
    /// Connection, TLS or HTTP failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The request took longer than the configured `request_timeout_ms`.
    #[error("timed out")]
    Timeout,
    /// The answer exceeded the cap of the call (`federation.max_response_bytes`, the key
    /// document cap, ...).
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The peer answered a non-2xx status; `errcode` is its code (`H_UNKNOWN` if absent or
    /// malformed), `error` its shortened text (see [`remote_error`]).
    #[error("{status} {errcode}: {error}")]
    Remote {
        status: u16,
        errcode: String,
        error: String,
    },
    /// The answer is not what the protocol says (not JSON, expired key document, ...).
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// We could not build the request (bad path, unserializable body).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A fetched key document does not verify.
    #[error("key document: {0}")]
    Keys(crate::Error),
    /// Signing failed (bad method/path/server name).
    #[error("protocol: {0}")]
    Protocol(crate::Error),
    /// Too many key refetches for this peer in the last minute.
    #[error("key refetch rate limit reached for {0}")]
    RateLimited(String),
}

impl FedError {
    /// The peer's error code for [`FedError::Remote`].
    pub fn errcode(&self) -> Option<&str> {
        match self {
            FedError::Remote { errcode, .. } => Some(errcode),
            _ => None,
        }
    }

    /// Whether sending the same request again can never succeed: the destination is
    /// excluded by policy, the request could not be built, or the peer refused it with a
    /// 4xx other than 401, 408, 421 and 429 (authentication, timeouts, misdirection and
    /// rate limits pass with time or a new signature). Durable queues drop such items
    /// instead of retrying them forever.
    pub fn is_permanent(&self) -> bool {
        match self {
            FedError::Denied(_) | FedError::InvalidRequest(_) => true,
            FedError::Remote { status, .. } => {
                (400..500).contains(status) && !matches!(status, 401 | 408 | 421 | 429)
            }
            _ => false,
        }
    }
}

/// Reads a response body, failing once it exceeds `cap` bytes (see
/// [`crate::discovery::read_capped`]).
///
/// # Errors
/// [`FedError::TooLarge`], or the transport error mapped by [`map_reqwest`].
pub async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, FedError> {
    crate::discovery::read_capped(resp, cap)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit } => FedError::TooLarge { limit },
            BodyError::Transport(e) => map_reqwest(e),
        })
}

/// Maps a transport error, surfacing discovery/address-policy refusals (found anywhere in
/// its source chain) as [`FedError::Discovery`]; otherwise [`FedError::Timeout`] or
/// [`FedError::Transport`] with the whole chain as text.
pub fn map_reqwest(e: reqwest::Error) -> FedError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(d) = s.downcast_ref::<DiscoveryError>() {
            return FedError::Discovery(d.clone());
        }
        src = s.source();
    }
    if e.is_timeout() {
        return FedError::Timeout;
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    FedError::Transport(msg)
}

/// The [`FedError::Remote`] for a non-2xx answer `status` with `body`: a peer's error body
/// is never passed through, only its `errcode` when well-formed (1-64 characters of
/// `[A-Z0-9_]`, else `H_UNKNOWN`) and at most 300 characters of its `error` text, control
/// characters dropped.
pub fn remote_error(status: u16, body: &[u8]) -> FedError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let errcode = v
        .get("errcode")
        .and_then(Value::as_str)
        .filter(|c| {
            !c.is_empty()
                && c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .unwrap_or("H_UNKNOWN")
        .to_owned();
    let error: String = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    FedError::Remote {
        status,
        errcode,
        error,
    }
}

/// The JSON answer of a response read with at most `cap` bytes: the body of a 2xx (`Null`
/// when empty), [`remote_error`] otherwise.
///
/// # Errors
/// As [`read_capped`]; [`FedError::Remote`]; [`FedError::InvalidResponse`] for a 2xx body
/// that is not JSON or has a duplicated object key.
pub async fn json_answer(resp: reqwest::Response, cap: usize) -> Result<Value, FedError> {
    let status = resp.status();
    let bytes = read_capped(resp, cap).await?;
    if !status.is_success() {
        return Err(remote_error(status.as_u16(), &bytes));
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    // Duplicated keys refused (spec §4.3): two parsers keeping different copies would see
    // different signed data.
    crate::canonical::parse_unique_keys(&bytes)
        .map_err(|e| FedError::InvalidResponse(format!("answer is not JSON: {e}")))
}

/// Settings of outbound fetches from other servers outside a homeserver's federation
/// configuration (the registrar's `outbound.*`): discovery, address policy, trust roots and
/// caps. The homeserver fills the same values from its `federation.*` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboundConfig {
    /// DNS servers for discovery (`ip:port`); empty: the system's `/etc/resolv.conf`.
    pub nameservers: Vec<SocketAddr>,
    /// Allow connections to loopback, private, link-local, CGNAT, ULA, multicast and
    /// unspecified addresses (default false; never on a public service).
    pub allow_private_addresses: bool,
    /// Port of the `https://{name}/.well-known/hearth/server` lookup (default 443).
    pub well_known_port: u16,
    /// Timeout of one request (connect, TLS, request and response), ms (default 10 000).
    pub request_timeout_ms: u64,
    /// Redirects followed by the `.well-known` lookup (default 3; fetches follow none).
    pub max_redirects: usize,
    /// PEM files of CA certificates trusted besides the system roots.
    pub extra_ca_certs: Vec<PathBuf>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        let d = DiscoveryConfig::default();
        OutboundConfig {
            nameservers: d.nameservers,
            allow_private_addresses: d.allow_private_addresses,
            well_known_port: d.well_known_port,
            request_timeout_ms: d.request_timeout_ms,
            max_redirects: d.max_redirects,
            extra_ca_certs: Vec::new(),
        }
    }
}

impl OutboundConfig {
    /// The discovery and HTTPS-client part of these settings.
    pub fn discovery_config(&self) -> DiscoveryConfig {
        DiscoveryConfig {
            nameservers: self.nameservers.clone(),
            allow_private_addresses: self.allow_private_addresses,
            well_known_port: self.well_known_port,
            request_timeout_ms: self.request_timeout_ms,
            max_redirects: self.max_redirects,
        }
    }
}

/// Outbound HTTPS under the federation transport rules: destinations found by discovery
/// (`.well-known`, SRV, default port) or configured URLs, every connection address through
/// the address policy, extra CA roots, the request timeout, no redirects, capped bodies.
/// The registrar fetches challenge and key documents from homeservers with it; the
/// homeserver calls its registrar with it.
pub struct SafeHttp {
    discovery: Arc<Discovery>,
    pinned: reqwest::Client,
    plain: reqwest::Client,
}

impl std::fmt::Debug for SafeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeHttp").finish_non_exhaustive()
    }
}

impl SafeHttp {
    /// Builds discovery (DNS servers, address policy, well-known port) and the HTTPS clients
    /// (system roots plus `extra_ca_certs`, `request_timeout_ms`, no redirects) from `cfg`.
    ///
    /// # Errors
    /// Unreadable CA files, a resolver or client that cannot be built.
    pub fn new(cfg: &OutboundConfig) -> Result<SafeHttp, String> {
        let roots = crate::tls::load_roots(&cfg.extra_ca_certs)?;
        let dcfg = cfg.discovery_config();
        let discovery = Arc::new(Discovery::new(&dcfg, &roots)?);
        Self::with_discovery(&dcfg, &roots, discovery)
    }

    /// Builds the HTTPS clients over an existing `discovery` (which then also pins the
    /// addresses the clients connect to), trusting `roots` besides the system roots.
    ///
    /// # Errors
    /// A client that cannot be built.
    pub fn with_discovery(
        cfg: &DiscoveryConfig,
        roots: &[reqwest::Certificate],
        discovery: Arc<Discovery>,
    ) -> Result<SafeHttp, String> {
        let pinned = https_client(cfg, roots, discovery.connect_resolver(), false)?;
        let plain = https_client(cfg, roots, discovery.plain_resolver(), false)?;
        Ok(SafeHttp {
            discovery,
            pinned,
            plain,
        })
    }

    /// The discovery used for server names.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// `GET path_and_query` from the server `server_name`, found by federation discovery
    /// (`.well-known`, SRV, default port), over HTTPS, reading at most `cap` bytes of JSON.
    ///
    /// # Errors
    /// [`FedError`]: discovery (naming the step), refused address, transport, timeout, too
    /// large, non-2xx ([`FedError::Remote`]) or not JSON.
    pub async fn get_from_server(
        &self,
        server_name: &str,
        path_and_query: &str,
        cap: usize,
    ) -> Result<Value, FedError> {
        let dest = self.discovery.resolve(server_name).await?;
        let url = reqwest::Url::parse(&format!("{}{path_and_query}", dest.base_url()))
            .map_err(|e| FedError::InvalidRequest(format!("bad path {path_and_query:?}: {e}")))?;
        let resp = self.pinned.get(url).send().await.map_err(map_reqwest)?;
        json_answer(resp, cap).await
    }

    /// A request to a configured HTTPS URL (the registrar), with the address policy applied
    /// to its host. Answers the JSON body of a 2xx (`Null` when empty).
    ///
    /// # Errors
    /// As [`SafeHttp::get_from_server`].
    pub async fn request_url(
        &self,
        method: Method,
        url: &str,
        authorization: Option<&str>,
        body: Option<Vec<u8>>,
        cap: usize,
    ) -> Result<Value, FedError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| FedError::InvalidRequest(format!("bad URL {url:?}: {e}")))?;
        let mut rb = self.plain.request(method, url);
        if let Some(a) = authorization {
            rb = rb.header(reqwest::header::AUTHORIZATION, a);
        }
        if let Some(b) = body {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let resp = rb.send().await.map_err(map_reqwest)?;
        json_answer(resp, cap).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_errors_pass_only_a_wellformed_code_and_a_short_text() {
        let e = remote_error(403, br#"{"errcode":"H_FORBIDDEN","error":"no\u0007 way"}"#);
        assert!(
            matches!(&e, FedError::Remote { status: 403, errcode, error } if errcode == "H_FORBIDDEN" && error == "no way"),
            "{e:?}"
        );
        let long = format!(r#"{{"errcode":"bad code","error":"{}"}}"#, "x".repeat(1000));
        match remote_error(500, long.as_bytes()) {
            FedError::Remote { errcode, error, .. } => {
                assert_eq!(errcode, "H_UNKNOWN");
                assert_eq!(error.len(), 300);
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(remote_error(502, b"<html>").errcode(), Some("H_UNKNOWN"));
    }

    #[test]
    fn outbound_defaults_match_discovery_defaults() {
        assert_eq!(
            OutboundConfig::default().discovery_config(),
            DiscoveryConfig::default()
        );
    }
}
