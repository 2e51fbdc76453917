//! Reading a message request with files (Discord "Reference > Uploading Files"), a send
//! (`POST /channels/{id}/messages`) or an edit (`PATCH /channels/{id}/messages/{id}`):
//! `multipart/form-data` with a `payload_json` part (the JSON body) and `files[n]` parts
//! (in any order: discord.js sends the files first), each file streamed into the blob store
//! as it arrives; or a plain JSON body. Limits (`media.*`, `limits.max_body_bytes`) are
//! enforced while reading, and a refused body is still read to its end (up to
//! `media.max_total_bytes` more), so the client receives the 413 instead of a reset
//! connection; past that the response says `Connection: close`.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{Error, field_error};
use crate::http::parse_json;
use crate::service::attachments::{FileTarget, Upload};
use crate::service::ports::BlobStream;
use crate::service::{Actor, Hearth};
use crate::snowflake::Snowflake;

fn bad_form(why: impl std::fmt::Display) -> Error {
    field_error(
        "files",
        "BASE_TYPE_BAD_VALUE",
        format!("Malformed multipart/form-data body: {why}"),
    )
}

/// The error response; `close` adds `Connection: close` (the body was not read to its end).
fn refuse(e: Error, close: bool) -> Response {
    let mut r = e.into_response();
    if close {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// The answer when reading the multipart body fails with `e`: the limit already broken
/// (`refused`, whose answer then closes the connection: the rest of the body is unread), else
/// 400 50035 on `files`.
fn read_failed(refused: Option<Error>, e: axum::extract::multipart::MultipartError) -> Response {
    let close = refused.is_some();
    refuse(refused.unwrap_or_else(|| bad_form(e.body_text())), close)
}

/// Reads a JSON body of at most `max` bytes; beyond, 413 40005 after draining.
async fn read_json<T: DeserializeOwned>(
    req: Request,
    max: usize,
    drain_cap: u64,
) -> Result<T, Response> {
    let mut stream = req.into_body().into_data_stream();
    let mut buf = BytesMut::new();
    let mut seen: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| refuse(bad_form(e), true))?;
        seen += chunk.len() as u64;
        if seen > max as u64 + drain_cap {
            return Err(refuse(Error::PayloadTooLarge, true));
        }
        if seen <= max as u64 {
            buf.extend_from_slice(&chunk);
        }
    }
    if seen > max as u64 {
        return Err(refuse(Error::PayloadTooLarge, false));
    }
    parse_json(&buf).map_err(IntoResponse::into_response)
}

/// What reading one file part ended in (besides the store's own answer).
enum Pumped {
    /// The part was read to its end.
    Done,
    /// The part broke a limit: a 413 40005 went into the store's stream, the rest of the
    /// part was read and discarded.
    TooLarge,
    /// The body could not be read on, or went past twice `media.max_total_bytes`: answer
    /// this at once (the store's stream ended with an error first).
    Stop(Response),
}

/// The body `T` of `POST /channels/{id}/messages` (`edit`: `None`) or of
/// `PATCH /channels/{id}/messages/{edit}` (`wire::CreateMessageBody`,
/// `wire::EditMessageBody`) and its files, each streamed into the blob store as it arrives
/// ([`Hearth::receive_file`]: at most a few chunks of it in memory here, one S3 part in the
/// store), after [`Hearth::file_target`] accepted the sender (when the first file part
/// arrives: requests without files need no ATTACH_FILES; an edit's files only its author). Errors (as
/// responses): 413 40005 for a file over `media.max_file_bytes` (noticed while streaming: the
/// partial write is discarded), a request over `media.max_total_bytes`, a `payload_json` over
/// `limits.max_body_bytes` or a quota; 400 50035 on `files` for a malformed multipart body or
/// more than `media.max_files_per_message` file parts; the errors of
/// [`Hearth::file_target`]; 50109 / 50035 for a bad `payload_json`. A refused body is read
/// to its end (discarded) so the client gets the answer, unless it goes past twice
/// `media.max_total_bytes` or cannot be read: then the answer says `Connection: close`. Files
/// already stored when a request is refused are released ([`Hearth::discard_files`]).
pub(super) async fn read_message<T: DeserializeOwned + Default>(
    h: &Hearth,
    actor: &Actor,
    channel_id: Snowflake,
    edit: Option<Snowflake>,
    req: Request,
) -> Result<(T, Vec<Upload>), Response> {
    let media = &h.config.media;
    let json_max = h.config.limits.max_body_bytes;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        return Ok((
            read_json(req, json_max, media.max_total_bytes).await?,
            vec![],
        ));
    }
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| refuse(bad_form(e.body_text()), false))?;
    let mut files: Vec<Upload> = Vec::new();
    let answer = |files: &[Upload], r: Response| {
        h.discard_files(files);
        r
    };
    let mut payload: Option<Bytes> = None;
    let mut target: Option<FileTarget> = None;
    let mut total: u64 = 0;
    // The first refusal; reading goes on (discarding) so the client gets the answer.
    let mut refused: Option<Error> = None;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(answer(&files, read_failed(refused, e))),
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let is_payload = name == "payload_json";
        let is_file = !is_payload
            && (filename.is_some() || name.starts_with("files[") || name.starts_with("file"));
        if is_file && refused.is_none() && files.len() >= media.max_files_per_message {
            refused = Some(field_error(
                "files",
                "BASE_TYPE_MAX_LENGTH",
                format!(
                    "Must be {} or fewer in length.",
                    media.max_files_per_message
                ),
            ));
        }
        if is_file && refused.is_none() && target.is_none() {
            match h.file_target(actor, channel_id, edit).await {
                Ok(t) => target = Some(t),
                Err(e) => refused = Some(e),
            }
        }
        if is_file
            && refused.is_none()
            && let Some(t) = &target
        {
            let part = name
                .strip_prefix("files[")
                .and_then(|n| n.strip_suffix(']'))
                .map(str::to_string)
                .unwrap_or_else(|| files.len().to_string());
            // The part flows to the store through a small channel (back-pressure: the store
            // takes chunks as fast as it writes them).
            let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::error::Result<Bytes>>(4);
            let body: BlobStream =
                Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
            let stored = h.receive_file(t, part, filename, body);
            let pump = async {
                let mut tx = Some(tx);
                let mut len: u64 = 0;
                let mut over = false;
                loop {
                    let chunk = match field.chunk().await {
                        Ok(Some(c)) => c,
                        Ok(None) => break,
                        Err(e) => {
                            if let Some(tx) = tx.take() {
                                let _ = tx.send(Err(bad_form(e.body_text()))).await;
                            }
                            return Pumped::Stop(read_failed(
                                over.then_some(Error::PayloadTooLarge),
                                e,
                            ));
                        }
                    };
                    len += chunk.len() as u64;
                    total += chunk.len() as u64;
                    if total > 2 * media.max_total_bytes {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(Err(Error::PayloadTooLarge)).await;
                        }
                        return Pumped::Stop(refuse(Error::PayloadTooLarge, true));
                    }
                    if !over && (len > media.max_file_bytes || total > media.max_total_bytes) {
                        over = true;
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(Err(Error::PayloadTooLarge)).await;
                        }
                    }
                    if let Some(sender) = &tx
                        && sender.send(Ok(chunk)).await.is_err()
                    {
                        // The store gave up (its error is its answer): discard the rest.
                        tx = None;
                    }
                }
                if over { Pumped::TooLarge } else { Pumped::Done }
            };
            let (stored, pumped) = tokio::join!(stored, pump);
            match (stored, pumped) {
                (stored, Pumped::Stop(r)) => {
                    files.extend(stored.ok());
                    return Err(answer(&files, r));
                }
                (Ok(f), _) => files.push(f),
                (Err(_), Pumped::TooLarge) => refused = Some(Error::PayloadTooLarge),
                (Err(e), Pumped::Done) => refused = Some(e),
            }
            continue;
        }
        // The payload (kept), or a part that is refused or not a file (read and discarded).
        let keep = is_payload && refused.is_none();
        let mut buf = BytesMut::new();
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(answer(&files, read_failed(refused, e))),
            };
            total += chunk.len() as u64;
            if total > 2 * media.max_total_bytes {
                return Err(answer(&files, refuse(Error::PayloadTooLarge, true)));
            }
            if !keep || refused.is_some() {
                continue;
            }
            if total > media.max_total_bytes || (buf.len() + chunk.len()) as u64 > json_max as u64 {
                refused = Some(Error::PayloadTooLarge);
                buf = BytesMut::new();
                continue;
            }
            buf.extend_from_slice(&chunk);
        }
        if keep && refused.is_none() {
            payload = Some(buf.freeze());
        }
    }
    if let Some(e) = refused {
        return Err(answer(&files, refuse(e, false)));
    }
    let body = match payload {
        Some(p) => match parse_json(&p) {
            Ok(b) => b,
            Err(e) => return Err(answer(&files, e.into_response())),
        },
        None => T::default(),
    };
    Ok((body, files))
}
