//! A DNS server for tests (hickory-server, UDP on 127.0.0.1:0) answering one in-memory zone,
//! whose records tests add and remove while it runs.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use hickory_server::Server;
use hickory_server::proto::rr::rdata::{A, SOA, SRV};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use crate::{Res, ctx};

/// TTL of every test record, seconds.
pub const TTL: u32 = 60;

/// A running DNS server for one zone. Dropping it stops the server.
pub struct TestDns {
    /// Where it answers (UDP).
    pub addr: SocketAddr,
    zone: Arc<InMemoryZoneHandler>,
    serial: AtomicU32,
    _server: Server<Catalog>,
}

fn name(n: &str) -> Res<Name> {
    Name::from_str(&format!("{}.", n.trim_end_matches('.'))).map_err(ctx(n))
}

impl TestDns {
    /// Starts a server for `origin` (e.g. `hearth.test`) with only its SOA record.
    ///
    /// # Errors
    /// The socket cannot be bound or the origin is not a name.
    pub async fn start(origin: &str) -> Res<TestDns> {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(ctx("DNS socket"))?;
        let addr = udp.local_addr().map_err(ctx("DNS address"))?;
        let origin = name(origin)?;
        let mut handler =
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            name(&format!("ns.{origin}"))?,
            name(&format!("admin.{origin}"))?,
            1,
            3600,
            600,
            86400,
            1,
        );
        handler.upsert_mut(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)), 1);
        let zone = Arc::new(handler);
        let mut catalog = Catalog::new();
        catalog.upsert(
            LowerName::new(&origin),
            vec![zone.clone() as Arc<dyn ZoneHandler>],
        );
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        Ok(TestDns {
            addr,
            zone,
            serial: AtomicU32::new(2),
            _server: server,
        })
    }

    async fn upsert(&self, r: Record) {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        self.zone.upsert(r, serial).await;
    }

    /// Adds an A record `host` → `ip`.
    ///
    /// # Errors
    /// `host` is not a name.
    pub async fn add_a(&self, host: &str, ip: Ipv4Addr) -> Res<()> {
        self.upsert(Record::from_rdata(name(host)?, TTL, RData::A(A(ip))))
            .await;
        Ok(())
    }

    /// Adds an SRV record `_hearth._tcp.{server}` → `target:port` (priority 0, weight 10).
    ///
    /// # Errors
    /// A name that is not one.
    pub async fn add_srv(&self, server: &str, target: &str, port: u16) -> Res<()> {
        let r = Record::from_rdata(
            name(&format!("_hearth._tcp.{server}"))?,
            TTL,
            RData::SRV(SRV::new(0, 10, port, name(target)?)),
        );
        self.upsert(r).await;
        Ok(())
    }

    /// Removes every record of `host` and of `_hearth._tcp.{host}` (a server that vanishes
    /// from DNS).
    ///
    /// # Errors
    /// `host` is not a name.
    pub async fn remove_records(&self, host: &str) -> Res<()> {
        let a = LowerName::new(&name(host)?);
        let srv = LowerName::new(&name(&format!("_hearth._tcp.{host}"))?);
        self.zone
            .records_mut()
            .await
            .retain(|k, _| k.name != a && k.name != srv);
        Ok(())
    }
}
