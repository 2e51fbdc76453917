//! Server discovery (spec/federation.md "Discovery"): from a server name to the host that
//! must present the TLS certificate and the socket addresses to connect to. One
//! implementation for the homeserver's federation client and the client SDK's key fetches.
//!
//! Rules, in order (the first that applies wins):
//!
//! 1. **Explicit port.** `host:port` connects to `host`'s A/AAAA addresses on `port`; TLS name
//!    `host`. No delegation, no SRV.
//! 2. **`.well-known` delegation.** `GET https://{name}/.well-known/hearth/server` (port
//!    [`DiscoveryConfig::well_known_port`], 443 by default; at most 64 KiB, https redirects
//!    followed up to [`DiscoveryConfig::max_redirects`]). A 200 answer `{"hearth.server": "host[:port]"}` delegates
//!    to that value (a server-name form: DNS host and optional port, no IP literal), which is
//!    then resolved by rule 1 (with a port) or rules 3-4 applied to the delegated host
//!    (without). The TLS name is the delegated host. A 200 answer that is not such an object is
//!    an error ([`DiscoveryError::WellKnown`]): a broken delegation never silently falls back.
//!    Any other outcome (connection failure, timeout, non-200) means "no delegation".
//! 3. **SRV.** `_hearth._tcp.{host}`: the record with the lowest priority (then highest weight)
//!    whose target resolves gives the target's A/AAAA addresses and the record's port; the TLS
//!    name stays `{host}` (a DNS answer alone never changes which certificate is accepted).
//! 4. **Default.** `{host}`'s A/AAAA addresses on port 8448.
//!
//! Every address that comes out of DNS goes through [`is_public_ip`]: unless
//! [`DiscoveryConfig::allow_private_addresses`] is set, non-public addresses are dropped, and a name
//! that resolves only to such addresses fails with [`DiscoveryError::Refused`] naming the step.
//! Results are cached for the smallest TTL of the DNS answers used (at least 10 s, at most
//! 1 h); failures are cached for 30 s.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use parking_lot::Mutex;

pub use crate::policy::is_public_ip;

/// Default federation port when neither delegation nor SRV names one.
pub const DEFAULT_PORT: u16 = 8448;
/// Largest `.well-known/hearth/server` body read.
pub const MAX_WELL_KNOWN_BYTES: usize = 64 * 1024;
const MIN_TTL: Duration = Duration::from_secs(10);
const MAX_TTL: Duration = Duration::from_secs(3600);
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// Settings of discovery and of the HTTPS clients built on it (the homeserver fills it from
/// its `federation` configuration; the client SDK from its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// DNS servers (`ip:port`, UDP and TCP); empty: the system's `/etc/resolv.conf`.
    pub nameservers: Vec<SocketAddr>,
    /// Allow connections to loopback, private, link-local, CGNAT, ULA, multicast and
    /// unspecified addresses ([`is_public_ip`]); default false. Tests and LAN setups set it.
    pub allow_private_addresses: bool,
    /// Port of the `https://{name}/.well-known/hearth/server` lookup (default 443).
    pub well_known_port: u16,
    /// Timeout of one request (connect, TLS, request and response), ms (default 10 000).
    pub request_timeout_ms: u64,
    /// Redirects followed by the `.well-known` lookup (default 3; federation calls follow none).
    pub max_redirects: usize,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            nameservers: Vec::new(),
            allow_private_addresses: false,
            well_known_port: 443,
            request_timeout_ms: 10_000,
            max_redirects: 3,
        }
    }
}

/// The discovery step an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `.well-known/hearth/server` delegation.
    WellKnown,
    /// The `_hearth._tcp` SRV record (and its target's addresses).
    Srv,
    /// A/AAAA lookup of the host itself (explicit port, delegated host or default port).
    Address,
    /// A redirect or connection target met while talking to a peer.
    Connect,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::WellKnown => "well-known",
            Step::Srv => "srv",
            Step::Address => "address",
            Step::Connect => "connect",
        })
    }
}

/// Why a server name could not be resolved; each variant names the failing step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// Not a valid server name (spec §2).
    #[error("invalid server name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    /// `.well-known/hearth/server` answered a delegation that is not a valid `host[:port]`.
    #[error("well-known delegation of {name} is invalid: {reason}")]
    WellKnown { name: String, reason: String },
    /// The SRV lookup failed (other than "no such record"), or no SRV target resolved.
    #[error("SRV lookup of _hearth._tcp.{host} failed: {reason}")]
    Srv { host: String, reason: String },
    /// The A/AAAA lookup of a host failed or found nothing.
    #[error("address lookup of {host} failed: {reason}")]
    Address { host: String, reason: String },
    /// Every address found is loopback/private/link-local/... and those are not allowed.
    #[error("{host} resolves to the non-public address {addr} ({step} step); refused")]
    Refused {
        step: Step,
        host: String,
        addr: IpAddr,
    },
}

impl DiscoveryError {
    /// The step that failed (`None` for an invalid name).
    pub fn step(&self) -> Option<Step> {
        match self {
            DiscoveryError::InvalidName { .. } => None,
            DiscoveryError::WellKnown { .. } => Some(Step::WellKnown),
            DiscoveryError::Srv { .. } => Some(Step::Srv),
            DiscoveryError::Address { .. } => Some(Step::Address),
            DiscoveryError::Refused { step, .. } => Some(*step),
        }
    }
}

/// How a destination was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The server name carried a port.
    ExplicitPort,
    /// `.well-known` delegation (then explicit port, SRV or default port of the delegated host).
    WellKnown,
    /// An SRV record of the server name.
    Srv,
    /// `{name}:8448`.
    Default,
}

/// Where to send requests for a server name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The server name asked for.
    pub server_name: String,
    /// Host whose certificate must be presented (TLS SNI) and used in the `Host` header.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Addresses to connect to, in preference order (port included).
    pub addrs: Vec<SocketAddr>,
    /// Which rule produced this destination.
    pub via: Via,
}

impl Destination {
    /// `https://host:port` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }
}

// ---------------------------------------------------------------------------------------
// DNS core shared by discovery and the HTTP clients' resolvers

/// The DNS resolver with the address policy applied.
struct Dns {
    resolver: TokioResolver,
    allow_private: bool,
}

impl Dns {
    fn new(cfg: &DiscoveryConfig) -> Result<Dns, String> {
        let provider = TokioRuntimeProvider::default();
        let builder = if cfg.nameservers.is_empty() {
            match TokioResolver::builder_tokio() {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the system DNS configuration; discovery will fail until name servers are configured (DiscoveryConfig::nameservers, federation.nameservers)");
                    TokioResolver::builder_with_config(
                        ResolverConfig::from_name_servers(Vec::new()),
                        provider,
                    )
                }
            }
        } else {
            let servers = cfg
                .nameservers
                .iter()
                .map(|a| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = a.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = a.port();
                    NameServerConfig::new(a.ip(), true, vec![udp, tcp])
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        let resolver = builder.build().map_err(|e| format!("DNS resolver: {e}"))?;
        Ok(Dns {
            resolver,
            allow_private: cfg.allow_private_addresses,
        })
    }

    fn permitted(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public_ip(ip)
    }

    /// A/AAAA of `host` (or the literal), filtered by the address policy.
    async fn addresses(
        &self,
        host: &str,
        step: Step,
    ) -> Result<(Vec<IpAddr>, Instant), DiscoveryError> {
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return if self.permitted(ip) {
                Ok((vec![ip], Instant::now() + MAX_TTL))
            } else {
                Err(DiscoveryError::Refused {
                    step,
                    host: host.to_owned(),
                    addr: ip,
                })
            };
        }
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        let err = |reason: String| match step {
            Step::Srv => DiscoveryError::Srv {
                host: host.to_owned(),
                reason,
            },
            _ => DiscoveryError::Address {
                host: host.to_owned(),
                reason,
            },
        };
        let lookup = self
            .resolver
            .lookup_ip(fqdn.as_str())
            .await
            .map_err(|e| err(e.to_string()))?;
        let all: Vec<IpAddr> = lookup.iter().collect();
        let first = *all.first().ok_or_else(|| err("no A/AAAA records".into()))?;
        let ok: Vec<IpAddr> = all.into_iter().filter(|ip| self.permitted(*ip)).collect();
        if ok.is_empty() {
            return Err(DiscoveryError::Refused {
                step,
                host: host.to_owned(),
                addr: first,
            });
        }
        Ok((ok, lookup.valid_until()))
    }

    /// `_hearth._tcp.{host}`: `Ok(None)` when there is no such record.
    async fn srv(
        &self,
        host: &str,
    ) -> Result<Option<(Vec<SocketAddr>, u16, Instant)>, DiscoveryError> {
        let qname = format!("_hearth._tcp.{}.", host.trim_end_matches('.'));
        let lookup = match self.resolver.srv_lookup(qname.as_str()).await {
            Ok(l) => l,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok(None),
            Err(e) => {
                return Err(DiscoveryError::Srv {
                    host: host.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let mut records: Vec<(u16, u16, u16, String)> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(srv) => Some((
                    srv.priority,
                    srv.weight,
                    srv.port,
                    srv.target
                        .to_ascii()
                        .trim_end_matches('.')
                        .to_ascii_lowercase(),
                )),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Ok(None);
        }
        // RFC 2782: lowest priority first; among equals, prefer the heavier (deterministic).
        records.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut last_err = None;
        for (_, _, port, target) in records {
            if target.is_empty() {
                // "." target: the service is decidedly not available.
                return Err(DiscoveryError::Srv {
                    host: host.to_owned(),
                    reason: "SRV target \".\": no federation service".into(),
                });
            }
            match self.addresses(&target, Step::Srv).await {
                Ok((ips, until)) => {
                    let until = until.min(lookup.valid_until());
                    let addrs = ips
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, port))
                        .collect();
                    return Ok(Some((addrs, port, until)));
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| DiscoveryError::Srv {
            host: host.to_owned(),
            reason: "no SRV target resolved".into(),
        }))
    }
}

/// Pinned addresses per TLS host, written by discovery and read by the federation client's
/// DNS hook, so a request to `https://{host}:{port}` connects to the addresses discovery
/// chose (SRV targets) while TLS checks the certificate of `{host}`.
type Pins = Mutex<HashMap<String, (Vec<SocketAddr>, Instant)>>;

/// `reqwest` DNS hook: pinned addresses if discovery chose some for this host, else an A/AAAA
/// lookup; always with the address policy, so redirects cannot reach private addresses either.
/// Made by [`Discovery::connect_resolver`] and [`Discovery::plain_resolver`]; used by
/// [`https_client`].
pub struct PolicyResolver {
    dns: Arc<Dns>,
    pins: Option<Arc<Pins>>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let dns = self.dns.clone();
        let pinned = self.pins.as_ref().and_then(|p| {
            let g = p.lock();
            g.get(&host)
                .filter(|(_, until)| *until > Instant::now())
                .map(|(a, _)| a.clone())
        });
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match pinned {
                Some(a) => a,
                None => {
                    let (ips, _) = dns.addresses(&host, Step::Connect).await?;
                    ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect()
                }
            };
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

// ---------------------------------------------------------------------------------------
// Discovery

#[derive(Debug, Clone)]
enum Cached {
    Found(Destination),
    Failed(DiscoveryError),
}

/// Resolves server names (see the module docs for the rules); cheap to share.
pub struct Discovery {
    dns: Arc<Dns>,
    pins: Arc<Pins>,
    well_known: reqwest::Client,
    well_known_port: u16,
    cache: Mutex<HashMap<String, (Cached, Instant)>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("allow_private", &self.dns.allow_private)
            .field("well_known_port", &self.well_known_port)
            .finish_non_exhaustive()
    }
}

impl Discovery {
    /// Builds the resolver from `cfg` (name servers, address policy, well-known port) and the
    /// HTTPS client for `.well-known` lookups (trusting `extra_roots` besides the system roots).
    ///
    /// # Errors
    /// A description when the resolver or the HTTP client cannot be built.
    pub fn new(
        cfg: &DiscoveryConfig,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Discovery, String> {
        let dns = Arc::new(Dns::new(cfg)?);
        let well_known = https_client(
            cfg,
            extra_roots,
            PolicyResolver {
                dns: dns.clone(),
                pins: None,
            },
            true,
        )?;
        Ok(Discovery {
            dns,
            pins: Arc::new(Mutex::new(HashMap::new())),
            well_known,
            well_known_port: cfg.well_known_port,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The DNS hook for an HTTP client that talks to discovered destinations.
    pub fn connect_resolver(&self) -> PolicyResolver {
        PolicyResolver {
            dns: self.dns.clone(),
            pins: Some(self.pins.clone()),
        }
    }

    /// The DNS hook for an HTTP client that talks to configured URLs (the registrar): plain
    /// A/AAAA lookups through the same resolver and address policy, no discovery pins.
    pub fn plain_resolver(&self) -> PolicyResolver {
        PolicyResolver {
            dns: self.dns.clone(),
            pins: None,
        }
    }

    /// Whether outbound connections to non-public addresses are allowed.
    pub fn allows_private(&self) -> bool {
        self.dns.allow_private
    }

    /// Forgets every cached result (tests, operators after a DNS change).
    pub fn clear_cache(&self) {
        self.cache.lock().clear();
    }

    /// Resolves `server_name` to a [`Destination`], from the cache when fresh.
    ///
    /// # Errors
    /// [`DiscoveryError`] naming the failing step.
    pub async fn resolve(&self, server_name: &str) -> Result<Destination, DiscoveryError> {
        let now = Instant::now();
        if let Some((c, until)) = self.cache.lock().get(server_name).cloned()
            && until > now
        {
            return match c {
                Cached::Found(d) => {
                    self.pin(&d, until);
                    Ok(d)
                }
                Cached::Failed(e) => Err(e),
            };
        }
        let res = self.resolve_uncached(server_name).await;
        let mut cache = self.cache.lock();
        if cache.len() > 10_000 {
            cache.retain(|_, (_, until)| *until > now);
        }
        match res {
            Ok((d, until)) => {
                let until = until.clamp(now + MIN_TTL, now + MAX_TTL);
                cache.insert(server_name.to_owned(), (Cached::Found(d.clone()), until));
                drop(cache);
                self.pin(&d, until);
                Ok(d)
            }
            Err(e) => {
                cache.insert(
                    server_name.to_owned(),
                    (Cached::Failed(e.clone()), now + NEGATIVE_TTL),
                );
                Err(e)
            }
        }
    }

    /// Pins the addresses of a destination found elsewhere (the registrar fallback) for the
    /// connect resolver, for the minimum TTL.
    pub fn pin_fallback(&self, d: &Destination) {
        self.pin(d, Instant::now() + MIN_TTL);
    }

    fn pin(&self, d: &Destination, until: Instant) {
        self.pins
            .lock()
            .insert(d.host.to_ascii_lowercase(), (d.addrs.clone(), until));
    }

    async fn resolve_uncached(&self, name: &str) -> Result<(Destination, Instant), DiscoveryError> {
        crate::names::validate_server_name(name).map_err(|e| DiscoveryError::InvalidName {
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
        if let Some((host, port)) = split_port(name) {
            let (ips, until) = self.dns.addresses(host, Step::Address).await?;
            return Ok((dest(name, host, port, &ips, Via::ExplicitPort), until));
        }
        if let Some(delegated) = self.well_known(name).await? {
            let (d, until) = self.resolve_host(name, &delegated).await?;
            return Ok((
                Destination {
                    via: Via::WellKnown,
                    ..d
                },
                until,
            ));
        }
        self.resolve_host(name, name).await
    }

    /// Rules 1, 3 and 4 for `host` (the server name or its delegated host).
    async fn resolve_host(
        &self,
        name: &str,
        host: &str,
    ) -> Result<(Destination, Instant), DiscoveryError> {
        if let Some((h, port)) = split_port(host) {
            let (ips, until) = self.dns.addresses(h, Step::Address).await?;
            return Ok((dest(name, h, port, &ips, Via::ExplicitPort), until));
        }
        if let Some((addrs, port, until)) = self.dns.srv(host).await? {
            return Ok((
                Destination {
                    server_name: name.to_owned(),
                    host: host.to_owned(),
                    port,
                    addrs,
                    via: Via::Srv,
                },
                until,
            ));
        }
        let (ips, until) = self.dns.addresses(host, Step::Address).await?;
        Ok((dest(name, host, DEFAULT_PORT, &ips, Via::Default), until))
    }

    /// Rule 2: `Ok(Some(host[:port]))` when `name` delegates, `Ok(None)` when it does not.
    async fn well_known(&self, name: &str) -> Result<Option<String>, DiscoveryError> {
        let url = if self.well_known_port == 443 {
            format!("https://{name}/.well-known/hearth/server")
        } else {
            format!(
                "https://{name}:{}/.well-known/hearth/server",
                self.well_known_port
            )
        };
        let resp = match self.well_known.get(&url).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(%name, error = %e, "no .well-known delegation (request failed)");
                return Ok(None);
            }
        };
        if resp.status() != reqwest::StatusCode::OK {
            return Ok(None);
        }
        let invalid = |reason: String| DiscoveryError::WellKnown {
            name: name.to_owned(),
            reason,
        };
        let body = match read_capped(resp, MAX_WELL_KNOWN_BYTES).await {
            Ok(b) => b,
            Err(BodyError::TooLarge { .. }) => {
                return Err(invalid(format!(
                    "body larger than {MAX_WELL_KNOWN_BYTES} bytes"
                )));
            }
            // Cut off mid-body (timeout, reset): as if the lookup had failed.
            Err(_) => return Ok(None),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let server = v
            .get("hearth.server")
            .and_then(|s| s.as_str())
            .ok_or_else(|| invalid("no \"hearth.server\" string".into()))?;
        crate::names::validate_server_name(server)
            .map_err(|e| invalid(format!("{server:?}: {e}")))?;
        Ok(Some(server.to_owned()))
    }
}

/// An HTTPS client with the federation transport limits (spec/federation.md "Transport"):
/// HTTPS only, no proxy, a total timeout of `cfg.request_timeout_ms` (connect at most 5 s),
/// `extra_roots` trusted besides the system roots, connection addresses from `resolver` (so
/// the address policy applies to every connection), and redirects followed only with
/// `follow_redirects` (up to `cfg.max_redirects`, https only, never to a refused IP literal:
/// such a redirect fails with a [`DiscoveryError::Refused`] of step [`Step::Connect`] in its
/// error chain).
///
/// # Errors
/// A description when the client cannot be built.
pub fn https_client(
    cfg: &DiscoveryConfig,
    extra_roots: &[reqwest::Certificate],
    resolver: PolicyResolver,
    follow_redirects: bool,
) -> Result<reqwest::Client, String> {
    let timeout = Duration::from_millis(cfg.request_timeout_ms.max(1));
    let max_redirects = if follow_redirects {
        cfg.max_redirects
    } else {
        0
    };
    let allow_private = cfg.allow_private_addresses;
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            if max_redirects == 0 {
                return attempt.stop();
            }
            return attempt.error(format!("more than {max_redirects} redirects"));
        }
        if attempt.url().scheme() != "https" {
            return attempt.error("redirect to a non-https URL");
        }
        let ip = attempt
            .url()
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        if let Some(ip) = ip
            && !allow_private
            && !is_public_ip(ip)
        {
            let host = attempt.url().host_str().unwrap_or_default().to_owned();
            return attempt.error(DiscoveryError::Refused {
                step: Step::Connect,
                host,
                addr: ip,
            });
        }
        attempt.follow()
    });
    reqwest::Client::builder()
        .no_proxy()
        .https_only(true)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(policy)
        .tls_certs_merge(extra_roots.iter().cloned())
        .dns_resolver(Arc::new(resolver))
        .user_agent(concat!("hearth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Why [`read_capped`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is (or announced to be) larger than `limit` bytes.
    #[error("response body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The transfer failed (reset, timeout, ...).
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body, failing once it exceeds `cap` bytes (checked against
/// `Content-Length` first, then while streaming).
///
/// # Errors
/// [`BodyError::TooLarge`], or [`BodyError::Transport`] when the transfer fails.
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge { limit: cap });
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if out.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { limit: cap });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn split_port(name: &str) -> Option<(&str, u16)> {
    let (h, p) = name.rsplit_once(':')?;
    Some((h, p.parse().ok()?))
}

fn dest(name: &str, host: &str, port: u16, ips: &[IpAddr], via: Via) -> Destination {
    Destination {
        server_name: name.to_owned(),
        host: host.to_owned(),
        port,
        addrs: ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect(),
        via,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_split() {
        assert_eq!(split_port("a.example:8448"), Some(("a.example", 8448)));
        assert_eq!(split_port("a.example"), None);
    }
}
