//! Connection limits (issue 12, defect 5; README "Connections"): header-read and idle
//! timeouts, the cap per client address and the total cap, through raw TCP sockets. Loopback
//! is a /8 on Linux, so sockets bound to 127.0.0.2, 127.0.0.3, ... are other client addresses.
//! The settings are small so each test waits only for the server's own timeouts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::gateway::Gw;
use crate::harness::{TestServer, eventually};

/// An address of the loopback /8.
fn lo(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

async fn connect_from(server: SocketAddr, from: IpAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).unwrap();
    sock.connect(server).await.expect("connect")
}

/// A slowloris socket: a request head that is never finished.
async fn stalled(server: SocketAddr, from: IpAddr) -> TcpStream {
    let mut s = connect_from(server, from).await;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: hearth\r\nX-Slow: ")
        .await
        .unwrap();
    s
}

/// Whether the server has closed `s` (EOF or reset), looking for at most 50 ms.
async fn closed_now(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => false,
        Err(_) => false,
    }
}

/// `GET /health` on a fresh connection from `from`: the status, or `None` when the server
/// closed the connection without an answer.
async fn health_from(server: SocketAddr, from: IpAddr) -> Option<u16> {
    let mut s = connect_from(server, from).await;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: hearth\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("answer or close within 10 s")
        .ok()?;
    let head = String::from_utf8_lossy(&out);
    head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// A connection from `from` that has been served `GET /health` and is kept alive.
async fn kept_alive(server: SocketAddr, from: IpAddr) -> TcpStream {
    let mut s = connect_from(server, from).await;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: hearth\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "first request on the connection is served"
    );
    s
}

#[tokio::test]
async fn slow_request_heads_are_closed_after_the_header_timeout() {
    let ts = TestServer::start_with(|c| {
        c.connections.header_read_timeout_ms = 300;
        c.connections.idle_timeout_ms = 60_000;
    })
    .await;
    let mut slow = Vec::new();
    for i in 0..20 {
        slow.push(stalled(ts.addr, lo(10 + i % 4)).await);
    }
    // A normal client is served meanwhile.
    assert_eq!(health_from(ts.addr, lo(2)).await, Some(200));
    for (i, s) in slow.iter_mut().enumerate() {
        // Trickling a byte now and then does not extend the deadline.
        eventually(&format!("slow socket {i} is closed"), async || {
            s.write_all(b"x").await.is_err() || closed_now(s).await
        })
        .await;
    }
    assert_eq!(health_from(ts.addr, lo(2)).await, Some(200));
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let ts = TestServer::start_with(|c| {
        c.connections.header_read_timeout_ms = 60_000;
        c.connections.idle_timeout_ms = 300;
    })
    .await;
    let mut s = kept_alive(ts.addr, lo(1)).await;
    // Kept alive after the response, then closed once idle for 300 ms (not after the 60 s
    // header timeout).
    eventually("the idle connection is closed", async || {
        closed_now(&mut s).await
    })
    .await;
}

#[tokio::test]
async fn one_address_at_its_cap_does_not_lock_out_others() {
    let ts = TestServer::start_with(|c| {
        c.connections.max_per_ip = 4;
        c.connections.header_read_timeout_ms = 120_000;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(stalled(ts.addr, lo(1)).await);
    }
    // Beyond the cap, the address's new connections are closed at once, unanswered...
    for _ in 0..3 {
        let mut extra = stalled(ts.addr, lo(1)).await;
        eventually(
            "a connection beyond the per-address cap is closed",
            async || closed_now(&mut extra).await,
        )
        .await;
    }
    assert_eq!(health_from(ts.addr, lo(1)).await, None);
    // ... while other addresses are served, and the held sockets stay open.
    for i in 2..6 {
        assert_eq!(health_from(ts.addr, lo(i)).await, Some(200));
    }
    for s in &mut held {
        assert!(!closed_now(s).await, "held connections are not closed");
    }
    // Closing one of them frees its slot.
    held.pop();
    eventually("a slot is released when its socket closes", async || {
        health_from(ts.addr, lo(1)).await == Some(200)
    })
    .await;
}

#[tokio::test]
async fn the_total_cap_refuses_beyond_it_and_recovers() {
    let ts = TestServer::start_with(|c| {
        c.connections.max_total = 6;
        c.connections.max_per_ip = 100;
        c.connections.header_read_timeout_ms = 120_000;
    })
    .await;
    let mut held = Vec::new();
    for i in 0..6 {
        held.push(stalled(ts.addr, lo(20 + i)).await);
    }
    eventually("a connection beyond the total cap is closed", async || {
        let mut extra = stalled(ts.addr, lo(30)).await;
        closed_now(&mut extra).await
    })
    .await;
    assert_eq!(health_from(ts.addr, lo(31)).await, None);
    held.clear();
    eventually(
        "the server accepts again once connections close",
        async || health_from(ts.addr, lo(31)).await == Some(200),
    )
    .await;
}

#[tokio::test]
async fn gateway_websockets_hold_their_slot_until_closed() {
    let ts = TestServer::start_with(|c| {
        c.connections.max_per_ip = 2;
        c.connections.idle_timeout_ms = 300;
    })
    .await;
    let mut a = Gw::connect(&ts, "v=10&encoding=json").await;
    let b = Gw::connect(&ts, "v=10&encoding=json").await;
    // Upgraded connections still count against their address, and the idle timeout of HTTP
    // does not close them.
    assert_eq!(health_from(ts.addr, lo(1)).await, None);
    drop(b);
    eventually("the closed WebSocket's slot is released", async || {
        health_from(ts.addr, lo(1)).await == Some(200)
    })
    .await;
    // Once an HTTP connection opened later has been closed as idle, the older WebSocket, idle
    // since HELLO, is still served.
    let mut http = kept_alive(ts.addr, lo(3)).await;
    eventually("the idle HTTP connection is closed", async || {
        closed_now(&mut http).await
    })
    .await;
    a.heartbeat().await;
}

/// The backlog of the listening socket on `port`, as the kernel reports it (the Send-Q of a
/// listening socket in `ss -l`, iproute2).
fn backlog_of(port: u16) -> u32 {
    let out = std::process::Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let cols: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(cols.first(), Some(&"LISTEN"), "{text}");
    cols[2].parse().expect("Send-Q is a number")
}

#[tokio::test]
async fn the_listener_queues_listen_backlog_connections() {
    // A reconnect storm queues thousands of handshakes: tokio's own `bind` asks for 1,024.
    let ts = TestServer::start_with(|c| c.connections.listen_backlog = 77).await;
    assert_eq!(backlog_of(ts.addr.port()), 77);
    let ts = TestServer::start().await;
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .expect("somaxconn")
        .trim()
        .parse()
        .expect("a number");
    assert_eq!(
        backlog_of(ts.addr.port()),
        somaxconn.min(65_535),
        "the default asks for 65,535, which the kernel lowers to somaxconn"
    );
}
