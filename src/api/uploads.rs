//! Reading a message request with files (Discord "Reference > Uploading Files"): a send
//! (`POST /channels/{id}/messages`), an edit (`PATCH /channels/{id}/messages/{id}`), a
//! webhook execution or webhook-message edit (`POST /webhooks/{id}/{token}`, `PATCH
//! .../messages/{id}`, also an interaction's follow-ups and `@original`) or an interaction
//! callback (`POST /interactions/{id}/{token}/callback`):
//! `multipart/form-data` with a `payload_json` part (the JSON body) and `files[n]` parts
//! (in any order: discord.js sends the files first), each file streamed into the blob store
//! as it arrives; an `application/x-www-form-urlencoded` form (py-cord's requests without
//! files); or a plain JSON body. A form without `payload_json` gives its other text fields
//! as the body's top-level fields ([`form_fields_json`]). Limits (`media.*`,
//! `limits.max_body_bytes`) are enforced while reading, and a refused body is still read to
//! its end (up to `media.max_total_bytes` more), so the client receives the 413 instead of a
//! reset connection; past that the response says `Connection: close`.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{Error, field_error};
use crate::http::parse_json;
use crate::service::Hearth;
use crate::service::attachments::{FileTarget, Upload};
use crate::service::ports::BlobStream;

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
    // The whole body's bound ([`read_message`]) was passed: 413, the rest unread.
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return refuse(Error::PayloadTooLarge, true);
    }
    let close = refused.is_some();
    refuse(refused.unwrap_or_else(|| bad_form(e.body_text())), close)
}

/// Top-level fields of a form that are always strings (never read as JSON): `content` of
/// `123` stays the text "123".
const STRING_FIELDS: &[&str] = &["content", "username", "avatar_url", "nonce", "thread_name"];

/// The JSON body of a form without `payload_json`: each text field (`name`, `value`) is a
/// top-level field, its value read as JSON (`tts=true`, `flags=64`, `embeds=[...]`) unless it
/// is one of [`STRING_FIELDS`] or not JSON, then the text itself. The first of repeated
/// names counts.
fn form_fields_json(fields: Vec<(String, String)>) -> Bytes {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        if map.contains_key(&k) {
            continue;
        }
        let value = if STRING_FIELDS.contains(&k.as_str()) {
            serde_json::Value::String(v)
        } else {
            serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v))
        };
        map.insert(k, value);
    }
    Bytes::from(serde_json::Value::Object(map).to_string())
}

/// The body `T` of a form: its `payload_json`, else its other text fields
/// ([`form_fields_json`]), else the empty object. Errors: 50109 / 50035 as [`parse_json`].
fn form_body<T: DeserializeOwned + Default>(
    payload: Option<Bytes>,
    fields: Vec<(String, String)>,
) -> Result<T, Error> {
    match payload {
        Some(p) => parse_json(&p),
        None if fields.is_empty() => Ok(T::default()),
        None => parse_json(&form_fields_json(fields)),
    }
}

/// Reads a JSON body of at most `max` bytes; beyond, 413 40005 after draining.
async fn read_json<T: DeserializeOwned>(
    req: Request,
    max: usize,
    drain_cap: u64,
) -> Result<T, Response> {
    let buf = read_bytes(req, max, drain_cap).await?;
    parse_json(&buf).map_err(IntoResponse::into_response)
}

/// Reads an `application/x-www-form-urlencoded` body of at most `max` bytes (413 40005
/// beyond, after draining); its body as [`form_body`]. Errors: 400 50035 on `files` for a
/// malformed form.
async fn read_urlencoded<T: DeserializeOwned + Default>(
    req: Request,
    max: usize,
    drain_cap: u64,
) -> Result<T, Response> {
    let buf = read_bytes(req, max, drain_cap).await?;
    let mut payload = None;
    let mut fields = Vec::new();
    for (k, v) in form_urlencoded::parse(&buf) {
        if k == "payload_json" {
            payload.get_or_insert_with(|| Bytes::from(v.into_owned()));
        } else {
            fields.push((k.into_owned(), v.into_owned()));
        }
    }
    form_body(payload, fields).map_err(IntoResponse::into_response)
}

/// Reads a body of at most `max` bytes; beyond, 413 40005 after draining (up to `drain_cap`
/// more, then `Connection: close`).
async fn read_bytes(req: Request, max: usize, drain_cap: u64) -> Result<BytesMut, Response> {
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
    Ok(buf)
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

/// The body `T` of a message request (`wire::CreateMessageBody`, `wire::EditMessageBody`,
/// `wire::ExecuteWebhookBody`, `wire::EditWebhookMessageBody`,
/// `wire::InteractionCallbackBody`) and its files, each streamed into the blob store as it
/// arrives ([`Hearth::receive_file`]: at most a few chunks of it in memory here, one S3 part
/// in the store), after `target` (awaited once, when the first file part arrives: requests
/// without files need no ATTACH_FILES) accepted the sender and named the channel: for a
/// member [`Hearth::file_target`], on the token routes [`Hearth::token_file_target`] and
/// [`Hearth::callback_file_target`]. Errors (as responses): 413 40005 for a file over
/// `media.max_file_bytes` (noticed while streaming: the partial write is discarded), a
/// request over `media.max_total_bytes`, a `payload_json` (or the text fields together) over
/// `limits.max_body_bytes` or a quota; 400 50035 on `files` for a malformed body or more
/// than `media.max_files_per_message` file parts; `target`'s errors; 50109 / 50035 for a bad
/// `payload_json`. A refused body is read to its end (discarded) so the client gets the
/// answer, unless it goes past twice `media.max_total_bytes` or cannot be read: then the
/// answer says `Connection: close`. Files already stored when a request is refused are
/// released ([`Hearth::discard_files`]).
pub(super) async fn read_message<T, F>(
    h: &Hearth,
    target: F,
    req: Request,
) -> Result<(T, Vec<Upload>), Response>
where
    T: DeserializeOwned + Default,
    F: AsyncFnOnce() -> crate::error::Result<FileTarget>,
{
    let media = &h.config.media;
    let json_max = h.config.limits.max_body_bytes;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        return Ok((
            read_urlencoded(req, json_max, media.max_total_bytes).await?,
            vec![],
        ));
    }
    if !ct.starts_with("multipart/form-data") {
        return Ok((
            read_json(req, json_max, media.max_total_bytes).await?,
            vec![],
        ));
    }
    let mut target = Some(target);
    // The whole body is bounded, multipart headers included (a part's header is buffered
    // until its end, before any of the counts below see it): twice `media.max_total_bytes`
    // and `limits.max_body_bytes`, plus 64 KiB of framing. Past it the answer is 413.
    let cap = usize::try_from(2 * media.max_total_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(json_max)
        .saturating_add(64 * 1024);
    let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, cap)));
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| refuse(bad_form(e.body_text()), false))?;
    let mut files: Vec<Upload> = Vec::new();
    let answer = |files: &[Upload], r: Response| {
        h.discard_files(files);
        r
    };
    let mut payload: Option<Bytes> = None;
    // The other text fields, for a form without `payload_json`; their bytes with the payload's
    // count against `limits.max_body_bytes`.
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut kept: usize = 0;
    let mut accepted: Option<FileTarget> = None;
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
        if is_file
            && refused.is_none()
            && accepted.is_none()
            && let Some(f) = target.take()
        {
            match f().await {
                Ok(t) => accepted = Some(t),
                Err(e) => refused = Some(e),
            }
        }
        if is_file
            && refused.is_none()
            && let Some(t) = &accepted
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
        // The payload or a text field (kept), or a part that is refused or a file not taken
        // (read and discarded).
        let keep = !is_file && refused.is_none();
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
            if total > media.max_total_bytes || kept + buf.len() + chunk.len() > json_max {
                refused = Some(Error::PayloadTooLarge);
                buf = BytesMut::new();
                continue;
            }
            buf.extend_from_slice(&chunk);
        }
        if keep && refused.is_none() {
            kept += buf.len() + name.len();
            if kept > json_max {
                refused = Some(Error::PayloadTooLarge);
            } else if is_payload {
                payload.get_or_insert(buf.freeze());
            } else if let Ok(text) = String::from_utf8(buf.to_vec()) {
                // A field that is not text is not a body field: ignored.
                fields.push((name, text));
            }
        }
    }
    if let Some(e) = refused {
        return Err(answer(&files, refuse(e, false)));
    }
    match form_body(payload, fields) {
        Ok(body) => Ok((body, files)),
        Err(e) => Err(answer(&files, e.into_response())),
    }
}
