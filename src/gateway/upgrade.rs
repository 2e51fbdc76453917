//! The gateway's WebSocket upgrade and socket (RFC 6455), built on tungstenite directly
//! rather than axum's `WebSocketUpgrade`, for one reason: memory per idle session.
//!
//! tungstenite formats every outgoing frame into its own write buffer, a `Vec` that keeps
//! the capacity of the largest frame the connection ever wrote (the session's READY or
//! GUILD_CREATE, several KiB) for the connection's life; axum gives no way to reach it. Here:
//!
//! - a payload over [`FRAGMENT_BYTES`] leaves as fragments (RFC 6455 §5.4: a first frame
//!   with the payload's opcode, continuation frames, the last one final), so tungstenite's
//!   buffer never grows past one fragment plus a frame header;
//! - tungstenite hands each frame on at once (`write_buffer_size` 0) to [`WsIo`], which
//!   gathers the frames of one flush (up to [`WRITE_AT_BYTES`]) so they leave in one write,
//!   and frees its buffer once the socket took everything.
//!
//! The handshake itself is tungstenite's (`create_response_with_body`): GET over HTTP/1.1,
//! `Connection: Upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Version: 13`, a key. A
//! request missing one of them gets 400 / 50035 naming the header (405 for another method).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tungstenite::Message;
use tungstenite::error::{Error as WsError, ProtocolError};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::error::{Error, field_error};

/// The largest frame payload the gateway writes, bytes; longer payloads are fragmented.
pub const FRAGMENT_BYTES: usize = 1024;
/// Frames gathered for one flush are written to the socket once they reach this many bytes.
pub const WRITE_AT_BYTES: usize = 8 * 1024;
/// The read buffer's size, bytes (client payloads are small; tungstenite grows it for a
/// larger frame, up to the frame limit).
pub const READ_BUFFER_BYTES: usize = 1024;

/// A gateway connection's socket once upgraded.
pub type Socket = WebSocketStream<WsIo<TokioIo<hyper::upgrade::Upgraded>>>;

/// Answers a WebSocket upgrade request: 101 and `run` spawned with the socket once hyper
/// hands the connection over, or the Discord-format error of a request that is not one.
/// `max_bytes` bounds a client frame and message (`gateway.max_frame_bytes`).
pub fn accept<F, Fut>(mut req: Request, max_bytes: usize, run: F) -> Response
where
    F: FnOnce(Socket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let res = match tungstenite::handshake::server::create_response_with_body(&req, Body::empty) {
        Ok(res) => res,
        Err(e) => return refusal(&e).into_response(),
    };
    let Some(on_upgrade) = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        return field_error(
            "connection",
            "BASE_TYPE_INVALID",
            "Connection is not upgradable.",
        )
        .into_response();
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(max_bytes))
        .max_frame_size(Some(max_bytes));
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let io = WsIo::new(TokioIo::new(upgraded));
        run(WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await).await;
    });
    res
}

/// The error for a request tungstenite's handshake refused.
fn refusal(e: &WsError) -> Error {
    let header = match e {
        WsError::Protocol(ProtocolError::WrongHttpMethod) => return Error::MethodNotAllowed,
        WsError::Protocol(ProtocolError::MissingConnectionUpgradeHeader) => "connection",
        WsError::Protocol(ProtocolError::MissingUpgradeWebSocketHeader) => "upgrade",
        WsError::Protocol(ProtocolError::MissingSecWebSocketVersionHeader) => {
            "sec-websocket-version"
        }
        WsError::Protocol(ProtocolError::MissingSecWebSocketKey) => "sec-websocket-key",
        _ => "version",
    };
    field_error(
        header,
        "BASE_TYPE_INVALID",
        format!("Not a WebSocket upgrade: {e}."),
    )
}

/// Appends the WebSocket message(s) of a text payload to `out`: one text frame when it fits
/// in [`FRAGMENT_BYTES`], else fragments (see [`push_binary`]).
pub fn push_text(out: &mut Vec<Message>, payload: String) {
    if payload.len() <= FRAGMENT_BYTES {
        out.push(Message::Text(payload.into()));
    } else {
        fragment(out, Bytes::from(payload.into_bytes()), Data::Text);
    }
}

/// Appends the WebSocket message(s) of a binary payload to `out`: one binary frame when it
/// fits in [`FRAGMENT_BYTES`], else a first frame with the payload's opcode, continuation
/// frames and a final one, each of at most [`FRAGMENT_BYTES`] (slices of one buffer).
pub fn push_binary(out: &mut Vec<Message>, payload: Vec<u8>) {
    if payload.len() <= FRAGMENT_BYTES {
        out.push(Message::Binary(payload.into()));
    } else {
        fragment(out, Bytes::from(payload), Data::Binary);
    }
}

fn fragment(out: &mut Vec<Message>, payload: Bytes, kind: Data) {
    let mut at = 0;
    while at < payload.len() {
        let end = (at + FRAGMENT_BYTES).min(payload.len());
        let op = OpCode::Data(if at == 0 { kind } else { Data::Continue });
        out.push(Message::Frame(Frame::message(
            payload.slice(at..end),
            op,
            end == payload.len(),
        )));
        at = end;
    }
}

/// The connection under tungstenite: reads go straight through; writes are gathered in a
/// buffer of [`WRITE_AT_BYTES`], allocated by the first write after a flush, written out
/// when full and on flush, then freed (so an idle connection holds no write buffer).
pub struct WsIo<T> {
    inner: T,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    done: usize,
}

impl<T: AsyncWrite + Unpin> WsIo<T> {
    pub fn new(inner: T) -> Self {
        WsIo {
            inner,
            out: Vec::new(),
            done: 0,
        }
    }

    /// Writes the buffer out and frees it.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.done < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.done += n;
        }
        self.done = 0;
        self.out = Vec::new();
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WsIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WsIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.out.len() + buf.len() > WRITE_AT_BYTES {
            ready!(self.poll_drain(cx))?;
        }
        if self.out.is_empty() {
            // One allocation per flush, never grown: frames past it are written out first.
            self.out.reserve(WRITE_AT_BYTES.max(buf.len()));
        }
        self.out.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_over_the_fragment_size_leaves_as_fragments_that_rebuild_it() {
        let payload: String = (0..FRAGMENT_BYTES * 2 + 10)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut out = Vec::new();
        push_text(&mut out, payload.clone());
        assert_eq!(out.len(), 3);
        let mut rebuilt = Vec::new();
        for (i, m) in out.iter().enumerate() {
            let Message::Frame(f) = m else {
                panic!("fragment {i} is not a raw frame: {m:?}");
            };
            let h = f.header();
            let want = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            assert_eq!(h.opcode, want);
            assert_eq!(h.is_final, i == 2);
            assert!(f.payload().len() <= FRAGMENT_BYTES);
            rebuilt.extend_from_slice(f.payload());
        }
        assert_eq!(rebuilt, payload.as_bytes());
    }

    #[test]
    fn a_small_payload_is_one_message_of_its_kind() {
        let mut out = Vec::new();
        push_text(&mut out, "{\"op\":11}".to_string());
        push_binary(&mut out, b"\x78\x9c".to_vec());
        assert!(matches!(&out[0], Message::Text(t) if t.as_str() == "{\"op\":11}"));
        assert!(matches!(&out[1], Message::Binary(b) if &b[..] == b"\x78\x9c"));
    }
}
