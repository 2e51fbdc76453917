//! `TestNetwork`: several federating homeservers in one test process, with real TLS and real
//! DNS (the CA, DNS zone and addresses are the test kit's `FedNet`).
//!
//! - a test CA (rcgen) and one certificate per server;
//! - a DNS server (hickory-server, UDP on 127.0.0.1:0) with an in-memory `hearth.test.` zone;
//! - one [`TestServer`] per name, client API on 127.0.0.1:0 (plain HTTP), federation listener
//!   with TLS on 127.0.0.{2,3,4,...}:P (one port P for all, so `federation.well_known_port = P`
//!   reaches every server's `/.well-known/hearth/server`), resolving peers through the test
//!   DNS server and trusting the test CA, with private addresses allowed.
//!
//! Discovery paths: the first two servers are found through SRV records
//! (`_hearth._tcp.{name}` → `{name}:P`, A `{name}` → its address); the third server (if any)
//! through `.well-known` delegation: it serves `{"server": "fed.{name}"}`, and
//! `_hearth._tcp.fed.{name}` → `fed.{name}:P`; its certificate covers both names. Further
//! servers use SRV again.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use hearth::Config;
use hearth::config::FederationConfig;
use hearth_testkit::fednet::FedNet;

use crate::harness::TestServer;

/// The DNS zone of test networks.
pub const ZONE: &str = "hearth.test.";

/// A running network of homeservers (see the module docs). Dropping it stops everything.
pub struct TestNetwork {
    /// The servers, in the order of the names given to [`TestNetwork::start`].
    pub servers: Vec<Option<TestServer>>,
    pub names: Vec<String>,
    /// The test DNS server.
    pub dns_addr: std::net::SocketAddr,
    /// PEM file of the test CA.
    pub ca_pem: PathBuf,
    /// The federation port of every server.
    pub port: u16,
    /// The registrar, when started with [`TestNetwork::start_with_registrar`].
    pub registrar: Option<crate::registrar::TestRegistrar>,
    /// CA, DNS and files (dropped after the servers).
    pub fed: FedNet,
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        self.servers.clear();
        self.registrar = None;
    }
}

/// Federation address of the `i`-th server.
pub fn server_ip(i: usize) -> IpAddr {
    IpAddr::V4(v4(i))
}

fn v4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + i as u8)
}

/// Whether the `i`-th server is reached through `.well-known` delegation.
pub fn delegated(i: usize) -> bool {
    i == 2
}

impl TestNetwork {
    /// Starts one homeserver per name (names under `hearth.test`, e.g. `a.hearth.test`).
    pub async fn start(names: &[&str]) -> TestNetwork {
        Self::start_with(names, |_, _| {}).await
    }

    /// Like [`TestNetwork::start`]; `f(name, config)` adjusts each server's configuration
    /// after the network settings are applied.
    pub async fn start_with(names: &[&str], f: impl Fn(&str, &mut Config)) -> TestNetwork {
        Self::start_blobs(names, hearth_testkit::s3::blobs_from_env(), f).await
    }

    /// Like [`TestNetwork::start_with`], every server keeping file bytes in `blobs` (one S3
    /// server each for [`Blobs::S3`](crate::harness::Blobs)).
    pub async fn start_blobs(
        names: &[&str],
        blobs: crate::harness::Blobs,
        f: impl Fn(&str, &mut Config),
    ) -> TestNetwork {
        Self::start_inner(
            names,
            blobs,
            f,
            None::<fn(&mut hearth_registrar::RegistrarConfig)>,
        )
        .await
    }

    /// Like [`TestNetwork::start_with`], plus a registrar named [`crate::registrar::NAME`]
    /// on the next 127.0.0.x address (its own certificate and A record), started before the
    /// homeservers, which get `registrar.url` and the pinned `registrar.public_key`; `rf`
    /// adjusts the registrar's configuration.
    pub async fn start_with_registrar(
        names: &[&str],
        f: impl Fn(&str, &mut Config),
        rf: impl FnOnce(&mut hearth_registrar::RegistrarConfig),
    ) -> TestNetwork {
        Self::start_inner(names, hearth_testkit::s3::blobs_from_env(), f, Some(rf)).await
    }

    async fn start_inner(
        names: &[&str],
        blobs: crate::harness::Blobs,
        f: impl Fn(&str, &mut Config),
        registrar: Option<impl FnOnce(&mut hearth_registrar::RegistrarConfig)>,
    ) -> TestNetwork {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let fed = FedNet::start(ZONE, names, v4, delegated)
            .await
            .unwrap_or_else(|e| panic!("test network: {e}"));
        let registrar = match registrar {
            Some(rf) => {
                Some(crate::registrar::TestRegistrar::start(&fed, v4(names.len()), rf).await)
            }
            None => None,
        };
        let mut servers = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let srv = TestServer::start_blobs(blobs, |c| {
                fed.configure(i, c);
                if let Some(r) = &registrar {
                    c.registrar.url = Some(r.url.clone());
                    c.registrar.public_key = Some(r.public_key.clone());
                }
                f(name, c);
            })
            .await;
            servers.push(Some(srv));
        }
        TestNetwork {
            servers,
            names: names.iter().map(|n| n.to_string()).collect(),
            dns_addr: fed.dns.addr,
            ca_pem: fed.ca.pem.clone(),
            port: fed.port,
            registrar,
            fed,
        }
    }

    fn index(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no server {name} in this network"))
    }

    /// The running server `name`.
    pub fn server(&self, name: &str) -> &TestServer {
        self.servers[self.index(name)]
            .as_ref()
            .unwrap_or_else(|| panic!("{name} was stopped"))
    }

    /// The running server `name`, mutably (restarts).
    pub fn server_mut(&mut self, name: &str) -> &mut TestServer {
        let i = self.index(name);
        self.servers[i]
            .as_mut()
            .unwrap_or_else(|| panic!("{name} was stopped"))
    }

    /// Stops server `name` (its DNS records stay).
    pub fn stop(&mut self, name: &str) {
        let i = self.index(name);
        self.servers[i] = None;
    }

    /// Removes every record of `name` and of `_hearth._tcp.{name}` (a server that vanishes
    /// from DNS).
    pub async fn remove_records(&self, name: &str) {
        self.fed.dns.remove_records(name).await.unwrap();
    }

    /// Adds an A record `name` → `ip`.
    pub async fn add_a(&self, name: &str, ip: Ipv4Addr) {
        self.fed.dns.add_a(name, ip).await.unwrap();
    }

    /// Adds an SRV record `_hearth._tcp.{name}` → `target:port`.
    pub async fn add_srv(&self, name: &str, target: &str, port: u16) {
        self.fed.dns.add_srv(name, target, port).await.unwrap();
    }

    /// Federation settings of a client inside this network (its DNS, its CA, its ports), for
    /// building standalone `Discovery` values in tests.
    pub fn federation_config(&self) -> FederationConfig {
        self.fed.federation_config()
    }
}
