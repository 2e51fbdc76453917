//! Server discovery (spec/federation.md "Discovery"): the implementation lives in
//! [`hearth_federation::discovery`], shared with the client SDK; this module re-exports it and
//! adapts the homeserver's [`FederationConfig`] to its [`DiscoveryConfig`].

pub use hearth_federation::discovery::{
    BodyError, DEFAULT_PORT, Destination, Discovery, DiscoveryConfig, DiscoveryError,
    MAX_WELL_KNOWN_BYTES, PolicyResolver, Step, Via, https_client, is_public_ip,
};

use crate::config::FederationConfig;

impl FederationConfig {
    /// The discovery and HTTPS-client settings of this configuration: `nameservers`,
    /// `allow_private_addresses`, `well_known_port`, `request_timeout_ms`, `max_redirects`.
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
