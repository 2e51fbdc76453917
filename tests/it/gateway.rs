//! Gateway tests over real WebSockets: handshake, heartbeats, routing to exactly the right
//! sessions (membership, VIEW_CHANNEL, intents, MESSAGE_CONTENT), visibility changes,
//! resume and its limits, compression, slow consumers, bad payloads and revocation.
//!
//! Negative cases ("X must not receive E") use a barrier: after the action whose event must
//! not arrive, a second action whose event must arrive is made; since one dispatcher shard
//! routes a guild's events (and a user's own) in order, receiving a barrier of the same
//! guild (or user stream) without E proves E was not sent. Across guilds the shards give no
//! order (`src/gateway/dispatch.rs`): such a barrier is weaker.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Client, TestServer, s};

const WAIT: Duration = Duration::from_secs(10);

pub const GUILDS: u64 = 1;
pub const GUILD_MEMBERS: u64 = 1 << 1;
pub const GUILD_PRESENCES: u64 = 1 << 8;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
pub const GUILD_MESSAGE_TYPING: u64 = 1 << 11;
pub const DIRECT_MESSAGES: u64 = 1 << 12;
const MESSAGE_CONTENT: u64 = 1 << 15;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Decoder {
    Plain,
    Zlib(flate2::Decompress),
    Zstd(zstd::stream::raw::Decoder<'static>),
}

/// A raw gateway client.
pub struct Gw {
    ws: Ws,
    dec: Decoder,
    pub seq: u64,
    pub session_id: String,
    pub ready: Value,
    /// Dispatches received but not yet consumed by `expect`.
    pub(crate) pending: Vec<Value>,
}

/// How a connection ended.
#[derive(Debug)]
pub enum Closed {
    Code(u16),
    Eof,
}

impl Gw {
    /// Connects without reading HELLO.
    pub async fn connect_raw(ts: &TestServer, query: &str) -> Gw {
        let url = format!("ws://{}/gateway?{query}", ts.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connect");
        Gw {
            ws,
            dec: Decoder::Plain,
            seq: 0,
            session_id: String::new(),
            ready: Value::Null,
            pending: vec![],
        }
    }

    pub async fn connect(ts: &TestServer, query: &str) -> Gw {
        Gw::connect_at(ts, &format!("/gateway?{query}")).await
    }

    /// [`Gw::connect`] over a socket whose receive buffer is `rcvbuf` bytes: a client that
    /// stops reading makes the server's writes block after a few frames (slow consumer).
    pub async fn connect_small_window(ts: &TestServer, rcvbuf: u32) -> Gw {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(rcvbuf).expect("SO_RCVBUF");
        let tcp = socket.connect(ts.addr).await.expect("tcp connect");
        let url = format!("ws://{}/gateway?v=10&encoding=json", ts.addr);
        let (ws, _) =
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("websocket handshake");
        Gw::hello(ws, Decoder::Plain).await
    }

    /// [`Gw::connect`] to `path` (with its query), reading HELLO.
    pub async fn connect_at(ts: &TestServer, path: &str) -> Gw {
        Gw::connect_addr(ts.addr, path).await
    }

    /// [`Gw::connect_at`] a server listening at `addr` (one not run by this process).
    pub async fn connect_addr(addr: std::net::SocketAddr, path: &str) -> Gw {
        let query = path.split_once('?').map_or("", |(_, q)| q);
        let url = format!("ws://{addr}{path}");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connect");
        let dec = if query.contains("compress=zlib-stream") {
            Decoder::Zlib(flate2::Decompress::new(true))
        } else if query.contains("compress=zstd-stream") {
            Decoder::Zstd(zstd::stream::raw::Decoder::new().unwrap())
        } else {
            Decoder::Plain
        };
        Gw::hello(ws, dec).await
    }

    /// A client on `ws` once it has read HELLO.
    async fn hello(ws: Ws, dec: Decoder) -> Gw {
        let mut g = Gw {
            ws,
            dec,
            seq: 0,
            session_id: String::new(),
            ready: Value::Null,
            pending: vec![],
        };
        let hello = g.recv().await.expect("HELLO");
        assert_eq!(hello["op"], 10, "first payload must be HELLO: {hello}");
        assert!(hello["d"]["heartbeat_interval"].as_u64().unwrap() > 0);
        g
    }

    /// Connects, identifies with `token` and `intents`, and consumes READY.
    pub async fn identify(ts: &TestServer, token: &str, intents: u64) -> Gw {
        Gw::identify_addr(ts.addr, token, intents).await
    }

    /// [`Gw::identify`] on a server listening at `addr` (one not run by this process).
    pub async fn identify_addr(addr: std::net::SocketAddr, token: &str, intents: u64) -> Gw {
        let mut g = Gw::connect_addr(addr, "/gateway?v=10&encoding=json").await;
        g.send(json!({"op": 2, "d": {"token": token, "intents": intents, "properties": {"os": "linux", "browser": "test", "device": "test"}}})).await;
        let ready = g.expect("READY").await;
        g.session_id = s(&ready["session_id"]);
        g.ready = ready;
        g
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    fn decode(&mut self, m: Message) -> Result<Option<Value>, Closed> {
        let text = match m {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => match &mut self.dec {
                Decoder::Plain => panic!("binary frame on an uncompressed connection"),
                Decoder::Zlib(d) => {
                    assert!(
                        b.ends_with(&[0, 0, 0xff, 0xff]),
                        "zlib frame must end with the sync marker"
                    );
                    let mut out = Vec::with_capacity(64 * 1024);
                    let mut pos = 0;
                    loop {
                        if out.capacity() - out.len() < 4096 {
                            out.reserve(64 * 1024);
                        }
                        let before = d.total_in();
                        d.decompress_vec(&b[pos..], &mut out, flate2::FlushDecompress::Sync)
                            .unwrap();
                        pos += (d.total_in() - before) as usize;
                        if pos >= b.len() && out.len() < out.capacity() {
                            break;
                        }
                    }
                    String::from_utf8(out).unwrap()
                }
                Decoder::Zstd(d) => {
                    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                    let mut out = vec![];
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut input = InBuffer::around(&b[..]);
                    loop {
                        let mut o = OutBuffer::around(&mut buf[..]);
                        d.run(&mut input, &mut o).unwrap();
                        let n = o.pos();
                        out.extend_from_slice(&buf[..n]);
                        if input.pos == b.len() && n < buf.len() {
                            break;
                        }
                    }
                    String::from_utf8(out).unwrap()
                }
            },
            Message::Close(Some(f)) => return Err(Closed::Code(u16::from(f.code))),
            Message::Close(None) => return Err(Closed::Eof),
            _ => return Ok(None),
        };
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from server: {e}: {text}"));
        if v["op"] == 0 {
            let s = v["s"].as_u64().expect("every dispatch carries s");
            assert_eq!(s, self.seq + 1, "sequence numbers must be gapless: {v}");
            self.seq = s;
        }
        Ok(Some(v))
    }

    /// The next payload (any op), or how the connection closed.
    pub async fn next(&mut self) -> Result<Value, Closed> {
        self.next_for("a gateway payload").await
    }

    async fn next_for(&mut self, what: &str) -> Result<Value, Closed> {
        loop {
            let m = match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!(
                    "timed out waiting for {what}; unconsumed: {:?}",
                    self.pending
                        .iter()
                        .map(|v| v["t"].clone())
                        .collect::<Vec<_>>()
                ),
                Ok(None) => return Err(Closed::Eof),
                Ok(Some(Err(_))) => return Err(Closed::Eof),
                Ok(Some(Ok(m))) => m,
            };
            if let Some(v) = self.decode(m)? {
                return Ok(v);
            }
        }
    }

    pub async fn recv(&mut self) -> Option<Value> {
        self.next().await.ok()
    }

    /// Waits for dispatch `t` and returns its `d`; other dispatches are kept for later.
    pub async fn expect(&mut self, t: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|v| v["t"] == t) {
            return self.pending.remove(i)["d"].clone();
        }
        loop {
            let v = self
                .next_for(t)
                .await
                .unwrap_or_else(|c| panic!("connection closed ({c:?}) while waiting for {t}"));
            if v["op"] == 0 {
                if v["t"] == t {
                    return v["d"].clone();
                }
                self.pending.push(v);
            }
        }
    }

    /// The next dispatch `t` whose `d` satisfies `f`; the others of type `t` are kept.
    pub async fn expect_where(&mut self, t: &str, f: impl Fn(&Value) -> bool) -> Value {
        let mut skipped = vec![];
        let found = loop {
            let d = self.expect(t).await;
            if f(&d) {
                break d;
            }
            skipped.push(json!({"op": 0, "t": t, "d": d}));
        };
        skipped.append(&mut self.pending);
        self.pending = skipped;
        found
    }

    /// Waits for dispatch `barrier`; panics if `forbidden` arrived before it.
    pub async fn expect_without(&mut self, barrier: &str, forbidden: &str) -> Value {
        let d = self.expect(barrier).await;
        assert!(
            !self.pending.iter().any(|v| v["t"] == forbidden),
            "{forbidden} must not have been delivered: {:?}",
            self.pending
        );
        self.pending.clear();
        d
    }

    /// Reads until the server closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Ok(_) => continue,
                Err(Closed::Code(c)) => return Some(c),
                Err(Closed::Eof) => return None,
            }
        }
    }

    /// Ends the connection with a close frame carrying `code`, as a client does.
    pub async fn close_with(&mut self, code: u16) {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }

    pub async fn heartbeat(&mut self) {
        let seq = self.seq;
        self.send(json!({"op": 1, "d": seq})).await;
        loop {
            let v = self.next().await.expect("heartbeat ack");
            if v["op"] == 11 {
                return;
            }
            if v["op"] == 0 {
                self.pending.push(v);
            }
        }
    }
}

/// A guild owned by alice with bob as a member: `(guild_id, general channel id, its invite
/// code, alice, bob tokens and ids)`.
pub(crate) struct World {
    pub(crate) ts: TestServer,
    pub(crate) guild: String,
    pub(crate) general: String,
    pub(crate) invite: String,
    pub(crate) alice: Client,
    pub(crate) alice_tok: String,
    pub(crate) alice_id: String,
    pub(crate) bob: Client,
    pub(crate) bob_tok: String,
    pub(crate) bob_id: String,
}

pub(crate) async fn world_with(f: impl FnOnce(&mut hearth::Config)) -> World {
    let ts = TestServer::start_with(f).await;
    let (alice_id, alice_tok) = ts.register("alice").await;
    let (bob_id, bob_tok) = ts.register("bob").await;
    let alice = ts.client(&alice_tok);
    let bob = ts.client(&bob_tok);
    let g = crate::harness::create_guild(&alice, "Hearth Test").await;
    crate::harness::join(&bob, &g.invite).await;
    World {
        ts,
        guild: g.id,
        general: g.general,
        invite: g.invite,
        alice,
        alice_tok,
        alice_id,
        bob,
        bob_tok,
        bob_id,
    }
}

pub(crate) async fn world() -> World {
    world_with(|_| {}).await
}

async fn say(c: &Client, channel: &str, content: &str) -> Value {
    let r = c
        .post(
            &format!("/channels/{channel}/messages"),
            json!({"content": content}),
        )
        .await;
    assert_eq!(r.status, 200, "send: {r:?}");
    r.body
}

/// Creates a bot app owned by `owner` with `flags`, adds it to `guild`; returns its token and id.
async fn bot_in(w: &World, flags: u64) -> (String, String) {
    let b = hearth_testkit::build::bot_application(&w.alice, "Test Bot", flags, Some(&w.guild))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (b.token, b.id)
}

#[tokio::test]
async fn handshake_ready_and_guild_create() {
    let w = world().await;
    let mut g = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    assert_eq!(g.ready["v"], 10);
    assert_eq!(g.ready["user"]["id"], w.bob_id.as_str());
    assert_eq!(
        g.ready["guilds"][0],
        json!({"id": w.guild, "unavailable": true})
    );
    assert!(
        g.ready["resume_gateway_url"]
            .as_str()
            .unwrap()
            .starts_with("ws://")
    );
    let gc = g.expect("GUILD_CREATE").await;
    assert_eq!(gc["id"], w.guild.as_str());
    assert_eq!(gc["member_count"], 2);
    assert_eq!(
        gc["roles"][0]["id"],
        w.guild.as_str(),
        "@everyone has the guild's id"
    );
    assert!(
        gc["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == w.general.as_str() && c["permission_overwrites"].is_array())
    );
    assert_eq!(gc["members"].as_array().unwrap().len(), 2);
    assert!(gc["joined_at"].is_string());
    g.heartbeat().await;
    // The bot-facing discovery endpoints point at this gateway.
    let r = w.bob.get("/gateway").await;
    assert_eq!(r.body["url"], format!("ws://{}/gateway", w.ts.addr));
}

/// A raw client under the WebSocket layer: the frames exactly as the server wrote them.
mod raw {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameSocket};

    pub type Socket = FrameSocket<TcpStream>;

    /// Sends the upgrade request of RFC 6455 §1.3's example (its key), returns the response
    /// head and the socket, positioned at the first frame.
    pub fn upgrade(addr: SocketAddr) -> (String, Socket) {
        let mut tcp = TcpStream::connect(addr).expect("tcp connect");
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            tcp,
            "GET /gateway?v=10&encoding=json HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        .unwrap();
        // Byte by byte, so nothing after the head is taken from the frame reader.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            tcp.read_exact(&mut b).expect("response head");
            head.push(b[0]);
        }
        (String::from_utf8(head).unwrap(), FrameSocket::new(tcp))
    }

    /// Sends a text frame, masked as a client must (RFC 6455 §5.3).
    pub fn send(ws: &mut Socket, text: &str) {
        let mut f = Frame::message(text.as_bytes().to_vec(), OpCode::Data(Data::Text), true);
        f.header_mut().mask = Some([7, 1, 9, 3]);
        ws.send(f).expect("send frame");
    }

    /// Reads one message: its frames' payload lengths and the reassembled text.
    pub fn message(ws: &mut Socket) -> (Vec<usize>, String) {
        let (mut sizes, mut data) = (Vec::new(), Vec::new());
        loop {
            let f = ws.read(None).expect("read frame").expect("a frame");
            let h = f.header();
            let want = if sizes.is_empty() {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            assert_eq!(h.opcode, want, "frame {} of a message", sizes.len());
            let fin = h.is_final;
            sizes.push(f.payload().len());
            data.extend_from_slice(f.payload());
            if fin {
                return (sizes, String::from_utf8(data).expect("text message"));
            }
        }
    }
}

/// The handshake is RFC 6455's (its example key gives its example accept value), and a
/// payload over 1 KiB leaves as fragments of at most 1 KiB (src/gateway/upgrade.rs: no
/// connection keeps a write buffer the size of its largest payload) that rebuild it whole.
#[tokio::test]
async fn large_payloads_leave_in_fragments_of_a_kibibyte_that_rebuild_them() {
    let w = world().await;
    let (addr, token) = (w.ts.addr, w.bob_tok.clone());
    let (head, mut ws) = tokio::task::spawn_blocking(move || {
        let (head, mut ws) = raw::upgrade(addr);
        let (_, hello) = raw::message(&mut ws);
        assert!(hello.contains("\"op\":10"), "HELLO first: {hello}");
        let identify = json!({"op": 2, "d": {"token": token, "intents": GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT,
            "properties": {"os": "linux", "browser": "raw", "device": "raw"}}});
        raw::send(&mut ws, &identify.to_string());
        (head, ws)
    })
    .await
    .unwrap();
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{head}"
    );
    let (ws, frames) = tokio::task::spawn_blocking(move || {
        let mut got = vec![];
        for _ in 0..2 {
            got.push(raw::message(&mut ws));
        }
        (ws, got)
    })
    .await
    .unwrap();
    let ready: Value = serde_json::from_str(&frames[0].1).unwrap();
    assert_eq!(ready["t"], "READY");
    let gc: Value = serde_json::from_str(&frames[1].1).unwrap();
    assert_eq!(gc["t"], "GUILD_CREATE");
    assert_eq!(gc["d"]["id"], w.guild.as_str());
    // A message of 1,900 characters: its MESSAGE_CREATE is over 1 KiB.
    let content: String = (0..1900)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let sent = say(&w.alice, &w.general, &content).await;
    let (_, (sizes, text)) = tokio::task::spawn_blocking(move || {
        let mut ws = ws;
        let m = raw::message(&mut ws);
        (ws, m)
    })
    .await
    .unwrap();
    let mc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(mc["t"], "MESSAGE_CREATE");
    assert_eq!(mc["d"]["id"], sent["id"]);
    assert_eq!(mc["d"]["content"], content.as_str());
    assert!(sizes.len() >= 2, "fragmented: {sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 1024), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), text.len());
}

/// A request to the socket route that is not a WebSocket upgrade gets Discord's error
/// format naming what is missing, never a 500.
#[tokio::test]
async fn a_plain_request_to_the_socket_route_is_refused_in_discords_format() {
    let ts = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/gateway?v=10", ts.addr);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], 50035, "{body}");
    assert_eq!(
        body["errors"]["connection"]["_errors"][0]["code"],
        "BASE_TYPE_INVALID"
    );
    let r = http
        .get(&url)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["errors"]["sec-websocket-key"].is_object(), "{body}");
}

#[tokio::test]
async fn heartbeat_timeout_closes_with_4009() {
    let ts = TestServer::start_with(|c| c.gateway.heartbeat_interval_ms = 300).await;
    let (_, tok) = ts.register("alice").await;
    let mut g = Gw::identify(&ts, &tok, GUILDS).await;
    assert_eq!(g.closed().await, Some(4009));
}

#[tokio::test]
async fn message_events_reach_exactly_the_right_sessions() {
    let w = world().await;
    let (_, carol_tok) = w.ts.register("carol").await;
    let carol = w.ts.client(&carol_tok);
    let own = carol.post("/guilds", json!({"name": "Carol's"})).await;
    let carol_general = s(&carol
        .get(&format!("/guilds/{}/channels", s(&own.body["id"])))
        .await
        .body[0]["id"]);

    let mut a = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_MESSAGES).await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    let mut c = Gw::identify(&w.ts, &carol_tok, GUILDS | GUILD_MESSAGES).await;

    let m = say(&w.alice, &w.general, "hello guild").await;
    let ea = a.expect("MESSAGE_CREATE").await;
    let eb = b.expect("MESSAGE_CREATE").await;
    assert_eq!(ea["id"], m["id"]);
    assert_eq!(
        eb["content"], "hello guild",
        "human sessions receive content"
    );
    assert_eq!(eb["guild_id"], w.guild.as_str());
    assert_eq!(eb["member"]["roles"], json!([]));
    // Carol (outsider) gets her own guild's message but never alice's.
    say(&carol, &carol_general, "barrier").await;
    let ec = c.expect_without("MESSAGE_CREATE", "MESSAGE_CREATE").await;
    assert_eq!(ec["content"], "barrier");

    // A channel hidden from @everyone: bob gets no events from it, alice (owner) does.
    let hidden = w.alice.post(&format!("/guilds/{}/channels", w.guild), json!({"name": "staff", "permission_overwrites": [{"id": w.guild, "type": 0, "allow": "0", "deny": "1024"}]})).await;
    assert_eq!(hidden.status, 201, "{hidden:?}");
    let hidden_id = s(&hidden.body["id"]);
    a.expect("CHANNEL_CREATE").await;
    say(&w.alice, &hidden_id, "secret").await;
    assert_eq!(a.expect("MESSAGE_CREATE").await["content"], "secret");
    say(&w.alice, &w.general, "public").await;
    let eb = b.expect_without("MESSAGE_CREATE", "CHANNEL_CREATE").await;
    assert_eq!(
        eb["content"], "public",
        "bob must not see the hidden channel's message first"
    );

    // Edits, deletes and reactions follow the same routing.
    let mid = s(&m["id"]);
    w.alice
        .patch(
            &format!("/channels/{}/messages/{mid}", w.general),
            json!({"content": "edited"}),
        )
        .await;
    assert_eq!(b.expect("MESSAGE_UPDATE").await["content"], "edited");
    w.bob
        .put_empty(&format!(
            "/channels/{}/messages/{mid}/reactions/%F0%9F%94%A5/@me",
            w.general
        ))
        .await;
    w.alice
        .delete(&format!("/channels/{}/messages/{mid}", w.general))
        .await;
    let d = a.expect("MESSAGE_DELETE").await;
    assert_eq!(d["id"], mid.as_str());
    // Alice did not ask for reaction events.
    assert!(!a.pending.iter().any(|v| v["t"] == "MESSAGE_REACTION_ADD"));
}

#[tokio::test]
async fn intents_gate_events_and_message_content() {
    let w = world().await;
    // A bot without MESSAGE_CONTENT approval asking for it is refused (4014).
    let (tok_plain, _) = bot_in(&w, 0).await;
    let mut g = Gw::connect(&w.ts, "v=10&encoding=json").await;
    g.send(json!({"op": 2, "d": {"token": tok_plain, "intents": GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, "properties": {}}})).await;
    assert_eq!(g.closed().await, Some(4014));

    // Without MESSAGE_CONTENT the bot sees empty content except where it is mentioned.
    let mut nb = Gw::identify(&w.ts, &tok_plain, GUILDS | GUILD_MESSAGES).await;
    let bot_id = s(&nb.ready["user"]["id"]);
    say(&w.alice, &w.general, "not for bots").await;
    let e = nb.expect("MESSAGE_CREATE").await;
    assert_eq!(
        e["content"], "",
        "content must be stripped without MESSAGE_CONTENT"
    );
    say(&w.alice, &w.general, &format!("hi <@{bot_id}>")).await;
    let e = nb.expect("MESSAGE_CREATE").await;
    assert_eq!(
        e["content"],
        format!("hi <@{bot_id}>"),
        "mentions of the bot keep content"
    );

    // With approval (GATEWAY_MESSAGE_CONTENT_LIMITED) content arrives.
    let (tok_mc, _) = bot_in(&w, 1 << 19).await;
    let mut mb = Gw::identify(&w.ts, &tok_mc, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT).await;
    // A bot with only GUILDS gets no message events at all.
    let (tok_guilds, _) = bot_in(&w, 0).await;
    let mut gb = Gw::identify(&w.ts, &tok_guilds, GUILDS).await;
    say(&w.alice, &w.general, "full content").await;
    assert_eq!(mb.expect("MESSAGE_CREATE").await["content"], "full content");
    // Barrier for the GUILDS-only bot: a channel creation.
    w.alice
        .post(
            &format!("/guilds/{}/channels", w.guild),
            json!({"name": "barrier"}),
        )
        .await;
    gb.expect_without("CHANNEL_CREATE", "MESSAGE_CREATE").await;

    // Typing needs GUILD_MESSAGE_TYPING; member events need GUILD_MEMBERS.
    let mut typing = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGE_TYPING).await;
    let mut no_typing = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    assert_eq!(
        w.alice
            .post(&format!("/channels/{}/typing", w.general), json!({}))
            .await
            .status,
        204
    );
    let t = typing.expect("TYPING_START").await;
    assert_eq!(t["user_id"], w.alice_id.as_str());
    say(&w.alice, &w.general, "barrier2").await;
    no_typing
        .expect_without("MESSAGE_CREATE", "TYPING_START")
        .await;

    // Undefined intent bits close with 4013.
    let mut g = Gw::connect(&w.ts, "v=10&encoding=json").await;
    g.send(json!({"op": 2, "d": {"token": w.bob_tok, "intents": 1u64 << 40, "properties": {}}}))
        .await;
    assert_eq!(g.closed().await, Some(4013));
}

#[tokio::test]
async fn membership_and_permission_changes_take_effect_for_the_next_event() {
    let w = world().await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES | GUILD_MEMBERS).await;
    b.expect("GUILD_CREATE").await;
    let mut a = Gw::identify(&w.ts, &w.alice_tok, GUILDS | GUILD_MESSAGES | GUILD_MEMBERS).await;
    a.expect("GUILD_CREATE").await;

    // Hiding general from @everyone: bob receives CHANNEL_DELETE, then no messages from it.
    let r = w
        .alice
        .put(
            &format!("/channels/{}/permissions/{}", w.general, w.guild),
            json!({"type": 0, "allow": "0", "deny": "1024"}),
        )
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let del = b.expect("CHANNEL_DELETE").await;
    assert_eq!(del["id"], w.general.as_str());
    say(&w.alice, &w.general, "hidden now").await;
    a.expect("MESSAGE_CREATE").await;
    // A member overwrite gives it back: CHANNEL_CREATE, and messages flow again.
    let r = w
        .alice
        .put(
            &format!("/channels/{}/permissions/{}", w.general, w.bob_id),
            json!({"type": 1, "allow": "1024", "deny": "0"}),
        )
        .await;
    assert_eq!(r.status, 204);
    let cr = b.expect("CHANNEL_CREATE").await;
    assert_eq!(cr["id"], w.general.as_str());
    say(&w.alice, &w.general, "visible again").await;
    assert_eq!(b.expect("MESSAGE_CREATE").await["content"], "visible again");
    // Lift the @everyone deny again (bob's view does not change: no visibility event).
    assert_eq!(
        w.alice
            .delete(&format!("/channels/{}/permissions/{}", w.general, w.guild))
            .await
            .status,
        204
    );

    // A new member: their session gets GUILD_CREATE; members with GUILD_MEMBERS get the add.
    let (carol_id, carol_tok) = w.ts.register("carol").await;
    let mut c = Gw::identify(&w.ts, &carol_tok, GUILDS | GUILD_MESSAGES).await;
    let inv = w
        .alice
        .post(
            &format!("/channels/{}/invites", w.general),
            json!({"unique": true}),
        )
        .await;
    let code = s(&inv.body["code"]);
    w.ts.client(&carol_tok)
        .post(&format!("/invites/{code}"), json!({}))
        .await;
    let gc = c.expect("GUILD_CREATE").await;
    assert_eq!(gc["id"], w.guild.as_str());
    let add = a.expect("GUILD_MEMBER_ADD").await;
    assert_eq!(add["user"]["id"], carol_id.as_str());
    say(&w.alice, &w.general, "welcome").await;
    assert_eq!(c.expect("MESSAGE_CREATE").await["content"], "welcome");

    // Kick: GUILD_DELETE to the kicked user's sessions, then nothing from that guild.
    let r = w
        .alice
        .delete(&format!("/guilds/{}/members/{carol_id}", w.guild))
        .await;
    assert_eq!(r.status, 204);
    let gd = c.expect("GUILD_DELETE").await;
    assert_eq!(gd["id"], w.guild.as_str());
    let rem = a.expect("GUILD_MEMBER_REMOVE").await;
    assert_eq!(rem["user"]["id"], carol_id.as_str());
    say(&w.alice, &w.general, "after kick").await;
    let carol = w.ts.client(&carol_tok);
    let own = carol.post("/guilds", json!({"name": "Carol's"})).await;
    // Her own new guild arrives (barrier) without the kicked guild's message.
    let gc = c.expect_without("GUILD_CREATE", "MESSAGE_CREATE").await;
    assert_eq!(gc["id"], own.body["id"]);

    // Roles: GUILD_ROLE_CREATE reaches members.
    let role = w
        .alice
        .post(
            &format!("/guilds/{}/roles", w.guild),
            json!({"name": "mods"}),
        )
        .await;
    let rc = b.expect("GUILD_ROLE_CREATE").await;
    assert_eq!(rc["role"]["id"], role.body["id"]);
    // Bans: GUILD_BAN_ADD needs GUILD_MODERATION (bob did not ask for it).
    let mut mods = Gw::identify(&w.ts, &w.alice_tok, GUILDS | (1 << 2)).await;
    w.alice
        .put(&format!("/guilds/{}/bans/{carol_id}", w.guild), json!({}))
        .await;
    let ban = mods.expect("GUILD_BAN_ADD").await;
    assert_eq!(ban["user"]["id"], carol_id.as_str());
}

#[tokio::test]
async fn resume_replays_missed_events_in_order() {
    let w = world().await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    say(&w.alice, &w.general, "before").await;
    b.expect("MESSAGE_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b); // the socket drops mid-stream
    let mut sent = vec![];
    for i in 0..5 {
        sent.push(s(
            &say(&w.alice, &w.general, &format!("missed {i}")).await["id"]
        ));
    }
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.seq = seq;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": seq}}))
        .await;
    let mut got = vec![];
    for _ in 0..5 {
        got.push(s(&r.expect("MESSAGE_CREATE").await["id"]));
    }
    assert_eq!(got, sent, "every missed event, in order");
    r.expect("RESUMED").await;
    say(&w.alice, &w.general, "live").await;
    assert_eq!(r.expect("MESSAGE_CREATE").await["content"], "live");

    // An unknown session is not resumable: op 9 d:false.
    let mut x = Gw::connect(&w.ts, "v=10&encoding=json").await;
    x.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": "nope", "seq": 1}}))
        .await;
    let v = x.next().await.expect("INVALID_SESSION");
    assert_eq!((v["op"].as_u64(), v["d"].as_bool()), (Some(9), Some(false)));
}

#[tokio::test]
async fn resume_beyond_the_replay_buffer_is_refused() {
    let w = world_with(|c| {
        c.gateway.replay_events = 3;
        c.gateway.session_queue = 3;
    })
    .await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    let (session, seq) = (b.session_id.clone(), b.seq);
    drop(b);
    for i in 0..6 {
        say(&w.alice, &w.general, &format!("overflow {i}")).await;
    }
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": seq}}))
        .await;
    let v = r.next().await.expect("INVALID_SESSION");
    assert_eq!(
        (v["op"].as_u64(), v["d"].as_bool()),
        (Some(9), Some(false)),
        "{v}"
    );
}

#[tokio::test]
async fn heartbeat_acknowledges_events_and_older_resumes_are_refused() {
    let w = world().await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    let ready_seq = b.seq;
    b.expect("GUILD_CREATE").await;
    say(&w.alice, &w.general, "seen").await;
    b.expect("MESSAGE_CREATE").await;
    // The heartbeat carries the last seq received: everything up to it is acknowledged.
    b.heartbeat().await;
    let (session, acked) = (b.session_id.clone(), b.seq);
    assert!(acked > ready_seq, "{acked} > {ready_seq}");
    drop(b);
    let missed = s(&say(&w.alice, &w.general, "missed").await["id"]);

    // Resuming from before the acknowledged seq cannot be served completely: op 9 d:false
    // (not a replay that silently starts after a gap).
    let mut old = Gw::connect(&w.ts, "v=10&encoding=json").await;
    old.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": ready_seq}}))
        .await;
    let v = old.next().await.expect("INVALID_SESSION");
    assert_eq!(
        (v["op"].as_u64(), v["d"].as_bool()),
        (Some(9), Some(false)),
        "{v}"
    );

    // Resuming from the acknowledged seq replays exactly what came after it.
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.seq = acked;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": acked}}))
        .await;
    let m = r.expect("MESSAGE_CREATE").await;
    assert_eq!(s(&m["id"]), missed);
    assert_eq!(
        r.seq,
        acked + 1,
        "replay starts right after the acknowledged seq"
    );
    r.expect("RESUMED").await;
}

#[tokio::test]
async fn compressed_transports_deliver_the_same_events() {
    let w = world().await;
    for q in [
        "v=10&encoding=json&compress=zlib-stream",
        "v=10&encoding=json&compress=zstd-stream",
    ] {
        let mut g = Gw::connect(&w.ts, q).await;
        g.send(json!({"op": 2, "d": {"token": w.bob_tok, "intents": GUILDS | GUILD_MESSAGES, "properties": {}}})).await;
        g.expect("READY").await;
        g.expect("GUILD_CREATE").await;
        say(&w.alice, &w.general, q).await;
        assert_eq!(g.expect("MESSAGE_CREATE").await["content"], q);
        g.heartbeat().await;
    }
    // An unknown compression falls back to plain text frames rather than closing.
    let mut g = Gw::connect(&w.ts, "v=10&encoding=json&compress=bogus").await;
    g.heartbeat().await;
}

#[tokio::test]
async fn bad_payloads_close_with_documented_codes() {
    let w = world().await;
    let cases: Vec<(&str, Value, u16)> = vec![
        ("unknown opcode", json!({"op": 99, "d": null}), 4001),
        (
            "command before identify",
            json!({"op": 3, "d": {"status": "idle"}}),
            4003,
        ),
        (
            "bad token",
            json!({"op": 2, "d": {"token": "garbage", "intents": 1, "properties": {}}}),
            4004,
        ),
        (
            "identify without token",
            json!({"op": 2, "d": {"intents": 1}}),
            4002,
        ),
    ];
    for (name, payload, code) in cases {
        let mut g = Gw::connect(&w.ts, "v=10&encoding=json").await;
        g.send(payload).await;
        assert_eq!(g.closed().await, Some(code), "{name}");
    }
    let mut g = Gw::connect(&w.ts, "v=10&encoding=json").await;
    g.ws.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(g.closed().await, Some(4002), "invalid JSON");
    let mut g = Gw::connect(&w.ts, "v=10&encoding=json").await;
    g.ws.send(Message::Text(
        format!(r#"{{"op":1,"d":"{}"}}"#, "x".repeat(20_000)).into(),
    ))
    .await
    .unwrap();
    assert_eq!(g.closed().await, Some(4002), "oversize frame");
    let mut g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    g.send(json!({"op": 2, "d": {"token": w.bob_tok, "intents": 1, "properties": {}}}))
        .await;
    assert_eq!(g.closed().await, Some(4005), "identify twice");
    let mut g = Gw::connect_raw(&w.ts, "v=3&encoding=json").await;
    assert_eq!(g.closed().await, Some(4012), "unsupported version");
    // The server is still healthy.
    assert_eq!(w.bob.get("/users/@me").await.status, 200);
}

#[tokio::test]
async fn revocation_closes_sockets_and_prevents_resume() {
    let w = world().await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let session = b.session_id.clone();
    assert_eq!(w.bob.post("/auth/logout", json!({})).await.status, 204);
    assert_eq!(b.closed().await, Some(4004));
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": session, "seq": 1}}))
        .await;
    let v = r.next().await;
    // The token itself is revoked, so the resume is refused either way.
    match v {
        Ok(v) => assert_eq!(
            (v["op"].as_u64(), v["d"].as_bool()),
            (Some(9), Some(false)),
            "{v}"
        ),
        Err(c) => panic!("expected INVALID_SESSION, got close {c:?}"),
    }

    // A bot token reset closes the bot's sockets.
    let (tok, app_id) = bot_in(&w, 0).await;
    let mut g = Gw::identify(&w.ts, &tok, GUILDS).await;
    let r = w
        .alice
        .post(&format!("/applications/{app_id}/bot/reset"), json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(g.closed().await, Some(4004));
}

#[tokio::test]
async fn slow_consumer_is_disconnected_and_can_resume() {
    let w = world_with(|c| c.gateway.session_queue = 8).await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    let big = "x".repeat(1900);
    // Bob stops reading; keep sending until the server gives up on him. The kernel socket
    // buffers absorb the first few hundred KiB, so this is bounded generously.
    let mut closed = false;
    for _ in 0..2000 {
        say(&w.alice, &w.general, &big).await;
        if w.ts.gateway.connected_sessions() == 0 {
            closed = true;
            break;
        }
    }
    assert!(closed, "a client that does not read must be disconnected");
    // The client drains what was sent before the server gave up, then sees the end: a 4000
    // close frame when it still fit into the socket, otherwise the end of the stream.
    let code = b.closed().await;
    assert!(matches!(code, Some(4000) | None), "{code:?}");
    // The session itself survives for RESUME.
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.seq = b.seq;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": b.session_id, "seq": b.seq}}))
        .await;
    r.expect("RESUMED").await;
}

#[tokio::test]
async fn request_guild_members_and_presence() {
    let w = world().await;
    let mut a = Gw::identify(
        &w.ts,
        &w.alice_tok,
        GUILDS | GUILD_MEMBERS | GUILD_PRESENCES,
    )
    .await;
    a.expect("GUILD_CREATE").await;
    a.send(json!({"op": 8, "d": {"guild_id": w.guild, "query": "", "limit": 0, "nonce": "n1"}}))
        .await;
    let chunk = a.expect("GUILD_MEMBERS_CHUNK").await;
    assert_eq!(chunk["nonce"], "n1");
    assert_eq!(chunk["members"].as_array().unwrap().len(), 2);
    a.send(json!({"op": 8, "d": {"guild_id": w.guild, "user_ids": [w.bob_id, "1"], "limit": 0}}))
        .await;
    let chunk = a.expect("GUILD_MEMBERS_CHUNK").await;
    assert_eq!(chunk["members"][0]["user"]["id"], w.bob_id.as_str());
    assert_eq!(chunk["not_found"], json!(["1"]));
    // Bob comes online, goes idle, then offline when his last session closes.
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    let mut p = a.expect("PRESENCE_UPDATE").await;
    if p["user"]["id"] == w.alice_id.as_str() {
        // Alice's own presence (she came online first).
        p = a.expect("PRESENCE_UPDATE").await;
    }
    assert_eq!(
        (p["user"]["id"].as_str(), p["status"].as_str()),
        (Some(w.bob_id.as_str()), Some("online"))
    );
    b.send(json!({"op": 3, "d": {"since": null, "activities": [{"name": "testing", "type": 0}], "status": "idle", "afk": false}})).await;
    let p = a.expect("PRESENCE_UPDATE").await;
    assert_eq!(p["status"], "idle");
    assert_eq!(p["activities"][0]["name"], "testing");
    drop(b);
    let p = a.expect("PRESENCE_UPDATE").await;
    assert_eq!(p["status"], "offline");
}

#[tokio::test]
async fn dm_events_need_direct_message_intents() {
    let w = world().await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, DIRECT_MESSAGES | GUILDS | GUILD_MESSAGES).await;
    let dm = w
        .alice
        .post("/users/@me/channels", json!({"recipient_id": w.bob_id}))
        .await;
    let dm_id = s(&dm.body["id"]);
    say(&w.alice, &dm_id, "psst").await;
    let e = b.expect("MESSAGE_CREATE").await;
    assert_eq!(e["channel_id"], dm_id.as_str());
    assert!(
        e.get("guild_id").is_none() || e["guild_id"].is_null(),
        "a DM has no guild_id: {e}"
    );
    let mut no_dm = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    say(&w.alice, &dm_id, "psst again").await;
    say(&w.alice, &w.general, "barrier").await;
    let e = no_dm.expect("MESSAGE_CREATE").await;
    assert_eq!(
        e["content"], "barrier",
        "the DM must not reach a session without DIRECT_MESSAGES"
    );
    // Reactions in guilds reach sessions with GUILD_MESSAGE_REACTIONS.
    let mut r = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGE_REACTIONS).await;
    let m = say(&w.alice, &w.general, "react").await;
    w.alice
        .put_empty(&format!(
            "/channels/{}/messages/{}/reactions/%F0%9F%91%8D/@me",
            w.general,
            s(&m["id"])
        ))
        .await;
    let e = r.expect("MESSAGE_REACTION_ADD").await;
    assert_eq!(e["emoji"]["name"], "👍");
    assert_eq!(e["user_id"], w.alice_id.as_str());
}

#[tokio::test]
async fn graceful_shutdown_sends_reconnect_and_clients_can_resume_after_restart() {
    let mut w = world().await;
    let mut b = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    b.expect("GUILD_CREATE").await;
    w.ts.stop_keeping_data().await;
    // op 7 RECONNECT arrives before the connection closes.
    let mut saw_reconnect = false;
    loop {
        match b.next().await {
            Ok(v) if v["op"] == 7 => saw_reconnect = true,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert!(
        saw_reconnect,
        "the server must ask clients to reconnect before shutting down"
    );
    // The session was saved at the shutdown (gateway::restart): the client resumes it on the
    // new process; a fresh IDENTIFY works as well.
    w.ts.start_again().await;
    let mut r = Gw::connect(&w.ts, "v=10&encoding=json").await;
    r.seq = b.seq;
    r.send(json!({"op": 6, "d": {"token": w.bob_tok, "session_id": b.session_id, "seq": b.seq}}))
        .await;
    r.expect("RESUMED").await;
    let bob = w.ts.client(&w.bob_tok);
    w.bob = bob;
    let mut again = Gw::identify(&w.ts, &w.bob_tok, GUILDS | GUILD_MESSAGES).await;
    assert_eq!(again.expect("GUILD_CREATE").await["id"], w.guild.as_str());
}

#[tokio::test]
async fn more_than_120_commands_a_minute_close_with_4008() {
    let w = world().await;
    let mut g = Gw::identify(&w.ts, &w.bob_tok, GUILDS).await;
    for _ in 0..125 {
        let seq = g.seq;
        if g.ws
            .send(Message::Text(json!({"op": 1, "d": seq}).to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(g.closed().await, Some(4008));
}

#[tokio::test]
async fn a_connection_that_heartbeats_but_never_identifies_is_closed_with_4003() {
    let ts = TestServer::start_with(|c| c.gateway.identify_timeout_ms = 400).await;
    let (_, tok) = ts.register("alice").await;
    let mut idle = Gw::connect(&ts, "v=10&encoding=json").await;
    let mut ready = Gw::identify(&ts, &tok, GUILDS).await;
    // Heartbeating well within the heartbeat interval does not stand in for IDENTIFY.
    let mut beat = tokio::time::interval(Duration::from_millis(100));
    let code = loop {
        tokio::select! {
            _ = beat.tick() => idle.send(json!({"op": 1, "d": null})).await,
            r = idle.next() => match r {
                Ok(v) => assert_eq!(v["op"], 11, "only heartbeat acks before the close: {v}"),
                Err(Closed::Code(c)) => break Some(c),
                Err(Closed::Eof) => break None,
            },
        }
    };
    assert_eq!(code, Some(4003));
    // The identified connection, older than the deadline, stays open.
    ready.heartbeat().await;
}

#[tokio::test]
async fn frames_over_the_size_limit_close_with_4002() {
    let ts = TestServer::start_with(|c| c.gateway.max_frame_bytes = 4096).await;
    let (_, tok) = ts.register("alice").await;
    // A frame at the limit is read.
    let mut g = Gw::identify(&ts, &tok, GUILDS).await;
    let at_limit = format!(r#"{{"op":1,"d":null,"x":"{}"}}"#, "x".repeat(4096 - 24));
    assert_eq!(at_limit.len(), 4096);
    g.ws.send(Message::Text(at_limit.into())).await.unwrap();
    loop {
        if g.next().await.expect("heartbeat ack")["op"] == 11 {
            break;
        }
    }
    // Just over, far over (beyond any read buffer), text or binary: closed with 4002.
    for (name, msg) in [
        ("one byte over", Message::Text("y".repeat(4097).into())),
        ("far over", Message::Text("z".repeat(1 << 20).into())),
        (
            "binary far over",
            Message::Binary(vec![b' '; 1 << 20].into()),
        ),
    ] {
        let mut g = Gw::identify(&ts, &tok, GUILDS).await;
        // The server may close while the frame is still being written.
        let _ = g.ws.send(msg).await;
        assert_eq!(g.closed().await, Some(4002), "{name}");
    }
    // The server is still serving.
    let mut g = Gw::identify(&ts, &tok, GUILDS).await;
    g.heartbeat().await;
}

#[tokio::test]
async fn under_pressure_typing_is_shed_first_and_messages_never() {
    // A session more than session_queue / 2 = 32 frames behind gets no typing; at 64 behind
    // it would be disconnected.
    // Messages of 64 KiB fill the server's socket buffer (up to 4 MiB) in a few dozen sends.
    let w = world_with(|c| {
        c.gateway.session_queue = 64;
        c.limits.max_message_length = 65_536;
    })
    .await;
    let mut b = Gw::connect_small_window(&w.ts, 4096).await;
    b.send(json!({"op": 2, "d": {"token": w.bob_tok, "intents": GUILDS | GUILD_MESSAGES | GUILD_MESSAGE_TYPING, "properties": {"os": "linux", "browser": "test", "device": "test"}}}))
        .await;
    b.expect("READY").await;
    b.expect("GUILD_CREATE").await;
    // Bob stops reading. Alice sends large messages, each followed by a typing notice, until
    // the server sheds a typing delivery (bob's socket is full and he is 32 frames behind).
    let big = "m".repeat(65_536);
    let typing = format!("/channels/{}/typing", w.general);
    let mut sent = vec![];
    let mut typings = 0u64;
    for _ in 0..300 {
        sent.push(s(&say(&w.alice, &w.general, &big).await["id"]));
        assert_eq!(w.alice.post(&typing, json!({})).await.status, 204);
        typings += 1;
        if w.ts.gateway.shed_stats().typing_deliveries > 0 {
            break;
        }
    }
    assert!(
        w.ts.gateway.shed_stats().typing_deliveries > 0,
        "no typing was shed after {} messages",
        sent.len()
    );
    // Still behind: ten more typing notices are all shed, five more messages all queued.
    for i in 0..10 {
        assert_eq!(w.alice.post(&typing, json!({})).await.status, 204);
        typings += 1;
        if i % 2 == 0 {
            sent.push(s(&say(&w.alice, &w.general, "small").await["id"]));
        }
    }
    let last = sent.last().cloned().unwrap();
    // Bob reads again: every message, in order; the typing notices minus the shed ones.
    let mut got = vec![];
    let mut typing_got = 0u64;
    while got.last() != Some(&last) {
        let v = b.next().await.expect("bob stays connected");
        if v["op"] != 0 {
            continue;
        }
        match v["t"].as_str() {
            Some("MESSAGE_CREATE") => got.push(s(&v["d"]["id"])),
            Some("TYPING_START") => typing_got += 1,
            _ => {}
        }
    }
    assert_eq!(got, sent, "no message was shed");
    let shed = w.ts.gateway.shed_stats();
    assert!(shed.typing_deliveries >= 10, "{shed:?}");
    assert_eq!(typing_got + shed.typing_deliveries, typings, "{shed:?}");
    assert_eq!((shed.typing_dispatches, shed.presence_dispatches), (0, 0));
    // An instance administrator sees the same counts; a member without the role does not.
    w.ts.make_first_admin(&w.alice).await;
    let r = w.alice.get("/admin/gateway").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["shed"]["typing_deliveries"], shed.typing_deliveries);
    assert_eq!(r.body["sessions"]["connected"], 1, "{r:?}");
    let r = w.bob.get("/admin/gateway").await;
    assert_eq!(
        (r.status, r.body["code"].clone()),
        (403, json!(50013)),
        "{r:?}"
    );
}
