//! Serving HTTP/1.1 connections with limits (README "Connections"; `connections.*`
//! settings): the accept loop of the client listener and of the federation listener.
//!
//! - **Admission**: at most `max_per_ip` connections open at once per client address (IPv6 by
//!   its /64; `trusted_proxies` exempt) and `max_total` in all (both listeners together). A
//!   connection beyond a cap is closed at once, before any byte is read, so one address that
//!   holds its cap never takes the slots of others. A slot is held by the socket itself and is
//!   released when the socket is dropped, also after a WebSocket upgrade.
//! - **Timeouts** (a per-connection watchdog fed by the socket's reads and writes): the request
//!   head must arrive within `header_read_timeout_ms` (from the accept, TLS handshake included,
//!   or from the first byte of a later request); a kept-alive connection may idle
//!   `idle_timeout_ms` between requests; while a request is in flight, bytes must move at
//!   least every `idle_timeout_ms`. Upgraded (WebSocket) connections leave the watchdog: the
//!   gateway's heartbeats govern them.
//! - **Graceful shutdown**: the listener stops accepting, idle connections close, requests in
//!   flight finish; [`Server::serve`] returns when every HTTP connection has ended.
//!
//! Requests carry `ConnectInfo<SocketAddr>` (the peer address) like
//! `into_make_service_with_connect_info`, for [`crate::http::ClientIp`] and the rate limits.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::Connections;

/// Descriptors kept free of connections for the database pool, files and outbound requests.
pub const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the limit in effect (`None`
/// where the platform has no such limit or it cannot be read).
pub fn raise_descriptor_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The connection caps shared by every listener of one server.
pub struct Admission {
    max_per_ip: usize,
    max_total: usize,
    exempt: Vec<IpAddr>,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The client address holds `max_per_ip` connections.
    PerIp,
    /// `max_total` connections are open.
    Total,
}

/// `connections.max_total` when it is 0 and the descriptor limit cannot be read.
const DEFAULT_MAX_TOTAL: usize = 10_000;

impl Admission {
    /// Caps from `cfg`, the total lowered to fit `descriptors` (the `RLIMIT_NOFILE` in effect)
    /// less [`RESERVED_DESCRIPTORS`]; `exempt` addresses (trusted proxies) have no per-address
    /// cap.
    pub fn new(cfg: &Connections, exempt: &[IpAddr], descriptors: Option<u64>) -> Arc<Self> {
        let fit = descriptors.map(|n| {
            usize::try_from(n.saturating_sub(RESERVED_DESCRIPTORS).max(16)).unwrap_or(usize::MAX)
        });
        let max_total = match (cfg.max_total, fit) {
            // The default: what the descriptor limit allows.
            (0, Some(fit)) => fit,
            (0, None) => DEFAULT_MAX_TOTAL,
            (configured, Some(fit)) if fit < configured => {
                tracing::warn!(
                    configured,
                    allowed = fit,
                    "connections.max_total lowered to fit the open-file limit"
                );
                fit
            }
            (configured, _) => configured,
        };
        Arc::new(Admission {
            max_per_ip: cfg.max_per_ip.max(1),
            max_total,
            exempt: exempt.iter().map(|ip| key(*ip)).collect(),
            open: Mutex::new(Open::default()),
        })
    }

    /// The total cap in effect.
    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// Takes a slot for a connection from `ip`, or says which cap is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let k = key(ip);
        let capped = !self.exempt.contains(&k);
        let mut open = self.open.lock();
        if open.total >= self.max_total {
            return Err(Refused::Total);
        }
        if capped {
            let n = open.per_ip.entry(k).or_insert(0);
            if *n >= self.max_per_ip {
                return Err(Refused::PerIp);
            }
            *n += 1;
        }
        open.total += 1;
        Ok(Slot {
            admission: self.clone(),
            key: capped.then_some(k),
        })
    }
}

/// The address a connection counts against: IPv4 (also when IPv4-mapped), IPv6 by /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// One admitted connection's place in the caps; released on drop.
pub struct Slot {
    admission: Arc<Admission>,
    key: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock();
        open.total -= 1;
        if let Some(k) = self.key
            && let Some(n) = open.per_ip.get_mut(&k)
        {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&k);
            }
        }
    }
}

/// A listener with its router, caps and timeouts.
pub struct Server {
    pub listener: TcpListener,
    /// TLS terminated here (the federation listener with `tls_cert`/`tls_key`).
    pub tls: Option<TlsAcceptor>,
    pub router: Router,
    pub admission: Arc<Admission>,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// For logs: `client` or `federation`.
    pub name: &'static str,
}

impl Server {
    /// The timeouts of `cfg` for a listener named `name`.
    pub fn new(
        name: &'static str,
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        router: Router,
        admission: Arc<Admission>,
        cfg: &Connections,
    ) -> Server {
        Server {
            listener,
            tls,
            router,
            admission,
            header_timeout: Duration::from_millis(cfg.header_read_timeout_ms.max(1)),
            idle_timeout: Duration::from_millis(cfg.idle_timeout_ms.max(1)),
            name,
        }
    }

    /// Accepts connections until `shutdown` resolves, then drains them (module docs).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let (drain_tx, mut drain_rx) = mpsc::channel::<()>(1);
        let (stop_tx, stop_rx) = watch::channel(false);
        let timeouts = Timeouts {
            header: self.header_timeout,
            idle: self.idle_timeout,
        };
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                _ = &mut shutdown => break,
                r = self.listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(listener = self.name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let slot = match self.admission.admit(peer.ip()) {
                Ok(s) => s,
                Err(why) => {
                    tracing::debug!(listener = self.name, %peer, ?why, "connection refused");
                    drop(tcp);
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(connection(
                tcp,
                peer,
                slot,
                self.tls.clone(),
                self.router.clone(),
                timeouts,
                stop_rx.clone(),
                drain_tx.clone(),
            ));
        }
        drop(self.listener);
        let _ = stop_tx.send(true);
        drop(drain_tx);
        let _ = drain_rx.recv().await;
    }
}

#[derive(Clone, Copy)]
struct Timeouts {
    header: Duration,
    idle: Duration,
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    tls: Option<TlsAcceptor>,
    router: Router,
    t: Timeouts,
    stop: watch::Receiver<bool>,
    _drain: mpsc::Sender<()>,
) {
    let act = Arc::new(Activity::new());
    match tls {
        None => drive(Io::new(tcp, act.clone(), slot), peer, router, t, stop, act).await,
        Some(acceptor) => match tokio::time::timeout(t.header, acceptor.accept(tcp)).await {
            Ok(Ok(s)) => drive(Io::new(s, act.clone(), slot), peer, router, t, stop, act).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        },
    }
}

async fn drive<T>(
    io: Io<T>,
    peer: SocketAddr,
    router: Router,
    t: Timeouts,
    mut stop: watch::Receiver<bool>,
    act: Arc<Activity>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let a = act.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let guard = InFlight::begin(a.clone());
        let res = router.clone().oneshot(req);
        async move {
            let Ok(res) = res.await;
            if res.status() == hyper::StatusCode::SWITCHING_PROTOCOLS {
                guard.0.upgraded.store(true, Ordering::SeqCst);
            }
            Ok::<_, Infallible>(res.map(|body| Tracked {
                body,
                _guard: guard,
            }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::pin!(conn);
    let dog = watchdog(act, t);
    tokio::pin!(dog);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            _ = stop.wait_for(|v| *v), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            why = &mut dog => {
                tracing::debug!(%peer, why, "connection closed by timeout");
                return;
            }
        }
    }
}

/// What a connection has been doing, for its watchdog; times in ms since `start`.
struct Activity {
    start: Instant,
    /// Last read or write that moved bytes.
    last_io: AtomicU64,
    /// When the connection began waiting for its next request (accept, or the end of the
    /// previous response).
    waiting_since: AtomicU64,
    /// First byte read while waiting (`u64::MAX`: none yet).
    first_byte: AtomicU64,
    in_flight: AtomicU32,
    /// A response has been sent: later waits are keep-alive idle time.
    served: AtomicBool,
    upgraded: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            waiting_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(u64::MAX),
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            let _ =
                self.first_byte
                    .compare_exchange(u64::MAX, now, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }
}

/// Resolves when the connection has exceeded one of its timeouts (module docs), naming it.
async fn watchdog(a: Arc<Activity>, t: Timeouts) -> &'static str {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    loop {
        if a.upgraded.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        let (deadline, why) = if a.in_flight.load(Ordering::SeqCst) > 0 {
            let last = a.last_io.load(Ordering::Relaxed);
            (last.saturating_add(ms(t.idle)), "stalled request")
        } else {
            let first = a.first_byte.load(Ordering::SeqCst);
            let since = a.waiting_since.load(Ordering::SeqCst);
            if !a.served.load(Ordering::SeqCst) {
                (since.saturating_add(ms(t.header)), "header read timeout")
            } else if first == u64::MAX {
                (since.saturating_add(ms(t.idle)), "idle timeout")
            } else {
                (first.saturating_add(ms(t.header)), "header read timeout")
            }
        };
        let now = a.now();
        if now >= deadline {
            return why;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(deadline - now)) => {}
            _ = a.changed.notified() => {}
        }
    }
}

/// A request in flight, from its head to the end of its response body.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(a: Arc<Activity>) -> Self {
        a.in_flight.fetch_add(1, Ordering::SeqCst);
        a.last_io.store(a.now(), Ordering::Relaxed);
        a.changed.notify_one();
        InFlight(a)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        let now = a.now();
        a.waiting_since.store(now, Ordering::SeqCst);
        a.first_byte.store(u64::MAX, Ordering::SeqCst);
        a.served.store(true, Ordering::SeqCst);
        a.in_flight.fetch_sub(1, Ordering::SeqCst);
        a.changed.notify_one();
    }
}

/// A response body that ends its request's [`InFlight`] when hyper drops it (sent or
/// abandoned).
struct Tracked {
    body: axum::body::Body,
    _guard: InFlight,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket with its slot in the caps and its activity record.
struct Io<T> {
    inner: T,
    act: Arc<Activity>,
    _slot: Slot,
}

impl<T> Io<T> {
    fn new(inner: T, act: Arc<Activity>, slot: Slot) -> Self {
        Io {
            inner,
            act,
            _slot: slot,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Io<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.act.read();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Io<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.wrote();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.wrote();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(max_total: usize) -> Connections {
        Connections {
            max_total,
            ..Connections::default()
        }
    }

    #[test]
    fn the_total_follows_the_descriptor_limit() {
        // Default (0): the limit less the reserve, or a fixed figure when it is unknown.
        assert_eq!(
            Admission::new(&caps(0), &[], Some(20_000)).max_total(),
            19_744
        );
        assert_eq!(
            Admission::new(&caps(0), &[], None).max_total(),
            DEFAULT_MAX_TOTAL
        );
        // A configured figure holds below the limit and is lowered above it.
        assert_eq!(
            Admission::new(&caps(500), &[], Some(20_000)).max_total(),
            500
        );
        assert_eq!(
            Admission::new(&caps(30_000), &[], Some(20_000)).max_total(),
            19_744
        );
        // A tiny limit still admits a few connections.
        assert_eq!(Admission::new(&caps(0), &[], Some(100)).max_total(), 16);
    }
}
