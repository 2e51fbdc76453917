//! The `federation` section: server-to-server settings (spec/federation.md; README
//! "Federation").

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Federation settings (spec/federation.md; README "Federation").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FederationConfig {
    /// Whether this server talks to other servers at all (default true). When false no
    /// federation route is served and every outbound federation call fails.
    pub enabled: bool,
    /// Address of the separate federation listener (e.g. `0.0.0.0:8448`; port 0 picks a free
    /// one). `None` (default): no separate listener; the federation routes (`/_hearth/...`,
    /// `/.well-known/hearth/server`) are served on the main `listen` address, for use behind a
    /// reverse proxy that terminates TLS.
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain for the federation listener. With `tls_key`, the listener serves
    /// HTTPS itself; without them it serves plain HTTP (behind a TLS-terminating proxy).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) matching `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates trusted for outbound TLS in addition to the system roots.
    pub extra_ca_certs: Vec<PathBuf>,
    /// Allow outbound connections to loopback, private, link-local, CGNAT, ULA, multicast and
    /// unspecified addresses (default false; tests and LAN deployments set it). Also governs
    /// applications' interactions endpoints, which may then be plain `http://` too.
    pub allow_private_addresses: bool,
    /// DNS servers for discovery (`ip:port`); empty: the system's `/etc/resolv.conf`.
    pub nameservers: Vec<SocketAddr>,
    /// Server names never federated with, inbound or outbound (`example.org` matches that
    /// name, `*.example.org` its subdomains).
    pub deny_domains: Vec<String>,
    /// If not empty, the only server names federated with (same patterns as `deny_domains`).
    pub allow_domains: Vec<String>,
    /// Largest response body read from a remote server, in bytes (default 8 MiB).
    pub max_response_bytes: usize,
    /// Timeout of one outbound request (connect, TLS, request and response), ms.
    pub request_timeout_ms: u64,
    /// Redirects followed by an outbound request (default 3).
    pub max_redirects: usize,
    /// Served as `{"server": delegate_to}` at `/.well-known/hearth/server` (delegation of this
    /// server name to another `host[:port]`); `None`: that path answers 404.
    pub delegate_to: Option<String>,
    /// Port of the `https://{server_name}/.well-known/hearth/server` lookup (default 443;
    /// the test network changes it).
    pub well_known_port: u16,
    /// Validity of this server's published key document, ms (default 24 h, at most 7 days).
    pub key_validity_ms: u64,
    /// How often a running server rereads its keys, ms (changes made by `hearth keys` in
    /// another process; default 500, 50..=10000, spec/federation.md §3.5). A request a peer
    /// refuses for a key revoked or retired meanwhile rereads them at once and is signed again.
    pub key_reload_ms: u64,
    /// A member server that has answered none of our deliveries for this long, ms, is marked
    /// dead: nothing more is pushed to it until it is back (spec/federation.md §9.4; default
    /// 3 days, at least 1000).
    pub dead_peer_after_ms: u64,
    /// Interval between the probes (`GET /_hearth/federation/v1/version`, signed) of a dead
    /// member server, ms; the first one that is answered revives it (spec/federation.md
    /// §9.4; default 1 hour, at least 1000).
    pub dead_peer_probe_ms: u64,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            enabled: true,
            listen: None,
            tls_cert: None,
            tls_key: None,
            extra_ca_certs: Vec::new(),
            allow_private_addresses: false,
            nameservers: Vec::new(),
            deny_domains: Vec::new(),
            allow_domains: Vec::new(),
            max_response_bytes: 8 * 1024 * 1024,
            request_timeout_ms: 10_000,
            max_redirects: 3,
            delegate_to: None,
            well_known_port: 443,
            key_validity_ms: 24 * 60 * 60 * 1000,
            key_reload_ms: 500,
            dead_peer_after_ms: 3 * 24 * 60 * 60 * 1000,
            dead_peer_probe_ms: 60 * 60 * 1000,
        }
    }
}
