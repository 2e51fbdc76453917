//! Typed configuration of `hearth-registrar`: defaults, then a TOML file (`--config`), then
//! `HEARTH_REGISTRAR_*` environment variables (nested keys joined with `__`, e.g.
//! `HEARTH_REGISTRAR_RATE_LIMITS__HANDLE_LOOKUPS__LIMIT=10`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use hearth_federation::http::OutboundConfig;
use hearth_federation::ratelimit::Bucket;
use serde::{Deserialize, Serialize};

/// Rate limits of the registrar (token buckets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// Every request, per client IP.
    pub per_client: Bucket,
    /// Authenticated (signed) requests, per origin server.
    pub per_server: Bucket,
    /// `GET /handles/{handle}`, per client IP (anti-enumeration; hits and misses count).
    pub handle_lookups: Bucket,
    /// Key document fetches triggered by unknown keys, per server.
    pub key_fetches: Bucket,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_client: Bucket {
                limit: 300,
                per_seconds: 60.0,
            },
            per_server: Bucket {
                limit: 600,
                per_seconds: 60.0,
            },
            handle_lookups: Bucket {
                limit: 20,
                per_seconds: 600.0,
            },
            key_fetches: Bucket {
                limit: 6,
                per_seconds: 60.0,
            },
        }
    }
}

/// The whole registrar configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrarConfig {
    /// Address the HTTP(S) API binds (default `127.0.0.1:8090`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The registrar's own name: the `registrar` of challenge documents, the destination of
    /// signed requests, the signer of notary answers.
    pub server_name: String,
    /// Folder for the SQLite database (default `./registrar-data`).
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://...`; default `sqlite://{data_dir}/registrar.db`.
    pub database_url: Option<String>,
    /// Database connections in the pool.
    pub database_max_connections: u32,
    /// PEM certificate chain; with `tls_key` the API is served over HTTPS (homeservers only
    /// talk to `https://` registrars; without TLS, put a TLS-terminating proxy in front).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Outbound fetches from homeservers: discovery (DNS servers, well-known port), CA
    /// roots, private-address policy, time and redirect caps (the same keys as the
    /// homeserver's `federation.*`).
    pub outbound: OutboundConfig,
    /// Lifetime of a challenge token, ms.
    pub challenge_ttl_ms: u64,
    /// A server's key document is re-verified when its last check is older than this, ms.
    pub reverify_interval_ms: u64,
    /// How often the liveness task looks for servers to re-verify, ms.
    pub check_interval_ms: u64,
    /// A server whose last successful verification is older than this is marked stale, ms.
    pub stale_after_ms: u64,
    /// ... and delisted after this, ms.
    pub delist_after_ms: u64,
    /// Largest request body, bytes (413 `R_TOO_LARGE` beyond).
    pub max_body_bytes: usize,
    /// Guild summaries one server may list.
    pub max_guilds_per_server: i64,
    /// Handles one server may list.
    pub max_handles_per_server: i64,
    /// Domains never registered (in addition to the `admin deny` list in the database).
    pub deny_domains: Vec<String>,
    pub rate_limits: RateLimits,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            server_name: "localhost".into(),
            data_dir: PathBuf::from("./registrar-data"),
            database_url: None,
            database_max_connections: 8,
            tls_cert: None,
            tls_key: None,
            outbound: OutboundConfig::default(),
            challenge_ttl_ms: 10 * 60 * 1000,
            reverify_interval_ms: 60 * 60 * 1000,
            check_interval_ms: 60 * 1000,
            stale_after_ms: 6 * 60 * 60 * 1000,
            delist_after_ms: 7 * 24 * 60 * 60 * 1000,
            max_body_bytes: 64 * 1024,
            max_guilds_per_server: 1000,
            max_handles_per_server: 100_000,
            deny_domains: Vec::new(),
            rate_limits: RateLimits::default(),
        }
    }
}

impl RegistrarConfig {
    /// Loads defaults, then `file` (if any), then `HEARTH_REGISTRAR_*` variables.
    ///
    /// # Errors
    /// An unreadable file or a value of the wrong type, naming the key.
    pub fn load(file: Option<&Path>) -> Result<RegistrarConfig, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(RegistrarConfig::default()));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        fig = fig.merge(Env::prefixed("HEARTH_REGISTRAR_").split("__"));
        fig.extract().map_err(Box::new)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}/registrar.db", self.data_dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_keys_load_from_toml() {
        let dir = std::env::temp_dir().join(format!("hearth_regcfg_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("registrar.toml");
        std::fs::write(
            &file,
            "[outbound]\nallow_private_addresses = true\nextra_ca_certs = [\"/etc/ca.pem\"]\n\
             nameservers = [\"127.0.0.1:5353\"]\nwell_known_port = 8443\nrequest_timeout_ms = 2500\n\
             max_redirects = 1\n\n[rate_limits.handle_lookups]\nlimit = 3\nper_seconds = 60.0\n",
        )
        .unwrap();
        let c = RegistrarConfig::load(Some(&file)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            c.outbound,
            OutboundConfig {
                nameservers: vec!["127.0.0.1:5353".parse().unwrap()],
                allow_private_addresses: true,
                well_known_port: 8443,
                request_timeout_ms: 2500,
                max_redirects: 1,
                extra_ca_certs: vec![PathBuf::from("/etc/ca.pem")],
            }
        );
        assert_eq!(
            c.rate_limits.handle_lookups,
            Bucket {
                limit: 3,
                per_seconds: 60.0
            }
        );
        assert_eq!(c.rate_limits.per_client, RateLimits::default().per_client);
    }
}
