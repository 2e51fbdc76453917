//! `TestNetwork`: several federating homeservers in one test process, with real TLS and real
//! DNS.
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

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use hearth::Config;
use hearth::config::FederationConfig;
use hickory_server::Server;
use hickory_server::proto::rr::rdata::{A, SOA, SRV};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use crate::harness::TestServer;

/// The DNS zone of test networks.
pub const ZONE: &str = "hearth.test.";
const TTL: u32 = 60;

/// A running network of homeservers (see the module docs). Dropping it stops everything.
pub struct TestNetwork {
    /// The servers, in the order of the names given to [`TestNetwork::start`].
    pub servers: Vec<Option<TestServer>>,
    pub names: Vec<String>,
    /// The test DNS server.
    pub dns_addr: SocketAddr,
    /// PEM file of the test CA.
    pub ca_pem: PathBuf,
    /// The federation port of every server.
    pub port: u16,
    dir: PathBuf,
    zone: Arc<InMemoryZoneHandler>,
    serial: std::sync::atomic::AtomicU32,
    /// The registrar, when started with [`TestNetwork::start_with_registrar`].
    pub registrar: Option<crate::registrar::TestRegistrar>,
    _dns: Server<Catalog>,
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Federation address of the `i`-th server.
pub fn server_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8))
}

/// Whether the `i`-th server is reached through `.well-known` delegation.
pub fn delegated(i: usize) -> bool {
    i == 2
}

fn free_port_on_all(n: usize) -> u16 {
    for _ in 0..50 {
        let first = std::net::TcpListener::bind(SocketAddr::new(server_ip(0), 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        let others: Vec<_> = (1..n)
            .map(|i| std::net::TcpListener::bind(SocketAddr::new(server_ip(i), port)))
            .collect();
        if others.iter().all(Result::is_ok) {
            return port;
        }
    }
    panic!("no port free on all test addresses");
}

impl TestNetwork {
    /// Starts one homeserver per name (names under `hearth.test`, e.g. `a.hearth.test`).
    pub async fn start(names: &[&str]) -> TestNetwork {
        Self::start_with(names, |_, _| {}).await
    }

    /// Like [`TestNetwork::start`]; `f(name, config)` adjusts each server's configuration
    /// after the network settings are applied.
    pub async fn start_with(names: &[&str], f: impl Fn(&str, &mut Config)) -> TestNetwork {
        Self::start_inner(names, f, None::<fn(&mut hearth_registrar::RegistrarConfig)>).await
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
        Self::start_inner(names, f, Some(rf)).await
    }

    async fn start_inner(
        names: &[&str],
        f: impl Fn(&str, &mut Config),
        registrar: Option<impl FnOnce(&mut hearth_registrar::RegistrarConfig)>,
    ) -> TestNetwork {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!(
            "hearth_net_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();

        // Test CA and one certificate per server.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Hearth test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let ca_pem = dir.join("ca.pem");
        std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        // DNS server: bind first so the servers can be configured with its address.
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dns_addr = udp.local_addr().unwrap();
        let origin = Name::from_str(ZONE).unwrap();
        let mut handler =
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            Name::from_str("ns.hearth.test.").unwrap(),
            Name::from_str("admin.hearth.test.").unwrap(),
            1,
            3600,
            600,
            86400,
            1,
        );
        handler.upsert_mut(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)), 1);

        let port = free_port_on_all(names.len());
        let mut certs = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let ip = server_ip(i);
            let mut sans = vec![name.to_string()];
            let a = |n: &str| {
                Record::from_rdata(
                    Name::from_str(&format!("{n}.")).unwrap(),
                    TTL,
                    RData::A(A(match ip {
                        IpAddr::V4(v4) => v4,
                        IpAddr::V6(_) => unreachable!(),
                    })),
                )
            };
            let srv = |n: &str| {
                Record::from_rdata(
                    Name::from_str(&format!("_hearth._tcp.{n}.")).unwrap(),
                    TTL,
                    RData::SRV(SRV::new(
                        0,
                        10,
                        port,
                        Name::from_str(&format!("{n}.")).unwrap(),
                    )),
                )
            };
            handler.upsert_mut(a(name), 1);
            if delegated(i) {
                let fed = format!("fed.{name}");
                handler.upsert_mut(a(&fed), 1);
                handler.upsert_mut(srv(&fed), 1);
                sans.push(fed);
            } else {
                handler.upsert_mut(srv(name), 1);
            }
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(sans).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name.to_string());
            let cert = params.signed_by(&key, &issuer).unwrap();
            let cert_path = dir.join(format!("{name}.pem"));
            let key_path = dir.join(format!("{name}.key"));
            std::fs::write(&cert_path, cert.pem()).unwrap();
            std::fs::write(&key_path, key.serialize_pem()).unwrap();
            certs.push((cert_path, key_path));
        }
        let zone = Arc::new(handler);
        let mut catalog = Catalog::new();
        catalog.upsert(
            LowerName::new(&origin),
            vec![zone.clone() as Arc<dyn ZoneHandler>],
        );
        let mut dns = Server::new(catalog);
        dns.register_socket(udp);

        let registrar = match registrar {
            Some(rf) => Some(
                crate::registrar::TestRegistrar::start(
                    &zone,
                    &issuer,
                    &dir,
                    server_ip(names.len()),
                    hearth_federation::http::OutboundConfig {
                        extra_ca_certs: vec![ca_pem.clone()],
                        allow_private_addresses: true,
                        nameservers: vec![dns_addr],
                        well_known_port: port,
                        request_timeout_ms: 5_000,
                        ..Default::default()
                    },
                    ca_pem.clone(),
                    rf,
                )
                .await,
            ),
            None => None,
        };

        let mut servers = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let (cert, key) = certs[i].clone();
            let ca = ca_pem.clone();
            let srv = TestServer::start_with(|c| {
                c.server_name = name.to_string();
                c.federation.listen = Some(SocketAddr::new(server_ip(i), port));
                c.federation.tls_cert = Some(cert);
                c.federation.tls_key = Some(key);
                c.federation.extra_ca_certs = vec![ca];
                c.federation.allow_private_addresses = true;
                c.federation.nameservers = vec![dns_addr];
                c.federation.well_known_port = port;
                c.federation.request_timeout_ms = 5_000;
                if delegated(i) {
                    c.federation.delegate_to = Some(format!("fed.{name}"));
                }
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
            dns_addr,
            ca_pem,
            port,
            dir,
            zone,
            serial: std::sync::atomic::AtomicU32::new(2),
            registrar,
            _dns: dns,
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
        let a = LowerName::new(&Name::from_str(&format!("{name}.")).unwrap());
        let srv = LowerName::new(&Name::from_str(&format!("_hearth._tcp.{name}.")).unwrap());
        self.zone
            .records_mut()
            .await
            .retain(|k, _| k.name != a && k.name != srv);
    }

    /// Adds an A record `name` → `ip`.
    pub async fn add_a(&self, name: &str, ip: Ipv4Addr) {
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = Record::from_rdata(
            Name::from_str(&format!("{name}.")).unwrap(),
            TTL,
            RData::A(A(ip)),
        );
        self.zone.upsert(r, serial).await;
    }

    /// Adds an SRV record `_hearth._tcp.{name}` → `target:port`.
    pub async fn add_srv(&self, name: &str, target: &str, port: u16) {
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let r = Record::from_rdata(
            Name::from_str(&format!("_hearth._tcp.{name}.")).unwrap(),
            TTL,
            RData::SRV(SRV::new(
                0,
                10,
                port,
                Name::from_str(&format!("{target}.")).unwrap(),
            )),
        );
        self.zone.upsert(r, serial).await;
    }

    /// Federation settings of a client inside this network (its DNS, its CA, its ports), for
    /// building standalone `Discovery` values in tests.
    pub fn federation_config(&self) -> FederationConfig {
        FederationConfig {
            extra_ca_certs: vec![self.ca_pem.clone()],
            allow_private_addresses: true,
            nameservers: vec![self.dns_addr],
            well_known_port: self.port,
            request_timeout_ms: 5_000,
            ..FederationConfig::default()
        }
    }
}
