//! The plumbing of a federation test network: servers on their own loopback addresses
//! (127.0.0.x, one federation port for all), a test CA with one certificate per server, and a
//! DNS zone through which servers find each other (SRV + A records, or `.well-known`
//! delegation to `fed.{name}`). [`FedNet::configure`] points a homeserver's configuration at
//! it; callers start the servers (`tests/it`'s `TestNetwork`, the bench's federation
//! scenarios).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use hearth::Config;
use hearth::config::FederationConfig;
use hearth_federation::http::OutboundConfig;

use crate::dns::TestDns;
use crate::pki::TestCa;
use crate::{Res, ctx};

/// One server of a [`FedNet`].
#[derive(Debug, Clone)]
pub struct FedNode {
    /// Its server name.
    pub name: String,
    /// Its federation address (port [`FedNet::port`]).
    pub ip: Ipv4Addr,
    /// Its certificate and key (PEM files).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// `Some(fed.{name})` when it is found through `.well-known` delegation.
    pub delegate_to: Option<String>,
}

/// A federation network's CA, DNS and addresses (see the module docs). Dropping it stops
/// the DNS server and deletes its files.
pub struct FedNet {
    /// Folder of the CA, certificates and anything else the network writes.
    pub dir: PathBuf,
    pub ca: TestCa,
    pub dns: TestDns,
    /// The federation port of every server.
    pub port: u16,
    pub nodes: Vec<FedNode>,
}

impl Drop for FedNet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Federation ports are handed out from this range, below Linux's default ephemeral range
/// (32768-60999), so no socket bound to port 0 and no outbound connection can take a port
/// between [`free_port_on_all`] probing it and the server binding it.
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// Ports [`free_port_on_all`] has handed out in this process: never handed out twice, so
/// two networks started at once never pick the same one.
static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

/// A port of [`PORTS`] free on every address of `ips` and not handed out before in this
/// process (each test network holds its own for the life of the process).
///
/// # Errors
/// None found in 200 tries.
pub fn free_port_on_all(ips: &[IpAddr]) -> Res<u16> {
    if ips.is_empty() {
        return Err("no address".into());
    }
    let mut handed_out = HANDED_OUT.lock().map_err(|_| "port list poisoned")?;
    let span = PORTS.end - PORTS.start;
    let start = rand::random::<u16>() % span;
    for i in 0..200u16 {
        let port = PORTS.start + (start + i) % span;
        if handed_out.contains(&port) {
            continue;
        }
        let probes: Vec<_> = ips
            .iter()
            .map(|ip| std::net::TcpListener::bind(SocketAddr::new(*ip, port)))
            .collect();
        if probes.iter().all(Result::is_ok) {
            handed_out.push(port);
            return Ok(port);
        }
    }
    Err("no port free on all test addresses".into())
}

impl FedNet {
    /// Sets up a network under DNS zone `zone` for `names`: server `i` listens on `ip(i)`
    /// and is found through SRV (`_hearth._tcp.{name}` → `{name}:port`, A `{name}` →
    /// `ip(i)`), or, when `delegated(i)`, through `.well-known` delegation to `fed.{name}`
    /// (with its own SRV and A records; the certificate covers both names).
    ///
    /// # Errors
    /// Files, keys, sockets or names failing, described.
    pub async fn start(
        zone: &str,
        names: &[&str],
        ip: impl Fn(usize) -> Ipv4Addr,
        delegated: impl Fn(usize) -> bool,
    ) -> Res<FedNet> {
        let dir = std::env::temp_dir().join(format!(
            "hearth_net_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).map_err(ctx("network folder"))?;
        let ca = TestCa::new(&dir, "Hearth test CA")?;
        let dns = TestDns::start(zone).await?;
        let ips: Vec<IpAddr> = (0..names.len()).map(|i| IpAddr::V4(ip(i))).collect();
        let port = free_port_on_all(&ips)?;
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let mut sans = vec![name.to_string()];
            dns.add_a(name, ip(i)).await?;
            let delegate_to = if delegated(i) {
                let fed = format!("fed.{name}");
                dns.add_a(&fed, ip(i)).await?;
                dns.add_srv(&fed, &fed, port).await?;
                sans.push(fed.clone());
                Some(fed)
            } else {
                dns.add_srv(name, name, port).await?;
                None
            };
            let (cert, key) = ca.issue(&sans)?;
            nodes.push(FedNode {
                name: name.to_string(),
                ip: ip(i),
                cert,
                key,
                delegate_to,
            });
        }
        Ok(FedNet {
            dir,
            ca,
            dns,
            port,
            nodes,
        })
    }

    /// Points `c` at this network as server `i`: its name, federation listener with TLS on
    /// `ip(i):port`, `.well-known` delegation if any, and outbound settings
    /// ([`FedNet::federation_config`]).
    pub fn configure(&self, i: usize, c: &mut Config) {
        let n = &self.nodes[i];
        c.server_name = n.name.clone();
        let listen = Some(SocketAddr::new(IpAddr::V4(n.ip), self.port));
        c.federation = FederationConfig {
            listen,
            tls_cert: Some(n.cert.clone()),
            tls_key: Some(n.key.clone()),
            delegate_to: n.delegate_to.clone(),
            ..self.federation_config_from(c.federation.clone())
        };
    }

    fn federation_config_from(&self, base: FederationConfig) -> FederationConfig {
        FederationConfig {
            extra_ca_certs: vec![self.ca.pem.clone()],
            allow_private_addresses: true,
            nameservers: vec![self.dns.addr],
            well_known_port: self.port,
            request_timeout_ms: 5_000,
            ..base
        }
    }

    /// Federation settings of a client inside this network (its DNS, its CA, its ports,
    /// private addresses allowed, 5 s timeout).
    pub fn federation_config(&self) -> FederationConfig {
        self.federation_config_from(FederationConfig::default())
    }

    /// The same as outbound settings (a registrar inside this network).
    pub fn outbound_config(&self) -> OutboundConfig {
        let f = self.federation_config();
        OutboundConfig {
            nameservers: f.nameservers,
            allow_private_addresses: f.allow_private_addresses,
            well_known_port: f.well_known_port,
            request_timeout_ms: f.request_timeout_ms,
            max_redirects: f.max_redirects,
            extra_ca_certs: f.extra_ca_certs,
        }
    }
}
