//! Reading a message request with files (Discord "Reference > Uploading Files"):
//! `multipart/form-data` with a `payload_json` part (the JSON body) and `files[n]` parts;
//! or a plain JSON body. Limits (`media.*`, `limits.max_body_bytes`) are enforced while
//! reading, and a refused body is still read to its end (up to `media.max_total_bytes` more),
//! so the client receives the 413 instead of a reset connection; past that the response
//! says `Connection: close`.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::{Error, field_error};
use crate::http::parse_json;
use crate::service::Hearth;
use crate::service::attachments::Upload;
use crate::wire;

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
async fn read_json(
    req: Request,
    max: usize,
    drain_cap: u64,
) -> Result<wire::CreateMessageBody, Response> {
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

/// The body of `POST /channels/{id}/messages` and its files. Errors (as responses): 413
/// 40005 for a file over `media.max_file_bytes`, a request over `media.max_total_bytes` or a
/// `payload_json` over `limits.max_body_bytes`; 400 50035 on `files` for a malformed
/// multipart body; 50109 / 50035 for a bad `payload_json`.
pub(super) async fn read_message(
    h: &Hearth,
    req: Request,
) -> Result<(wire::CreateMessageBody, Vec<Upload>), Response> {
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
    let mut payload: Option<Bytes> = None;
    let mut files: Vec<Upload> = Vec::new();
    let mut total: u64 = 0;
    // The first limit broken; reading goes on (discarding) so the client gets the answer.
    let mut refused: Option<Error> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(read_failed(refused, e)),
        };
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let is_payload = name == "payload_json";
        let cap = if is_payload {
            json_max as u64
        } else {
            media.max_file_bytes
        };
        let mut buf = BytesMut::new();
        let mut field = field;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(read_failed(refused, e)),
            };
            total += chunk.len() as u64;
            if total > 2 * media.max_total_bytes {
                return Err(refuse(Error::PayloadTooLarge, true));
            }
            if refused.is_some() {
                continue;
            }
            if total > media.max_total_bytes || (buf.len() + chunk.len()) as u64 > cap {
                refused = Some(Error::PayloadTooLarge);
                buf = BytesMut::new();
                continue;
            }
            buf.extend_from_slice(&chunk);
        }
        if refused.is_some() {
            continue;
        }
        if is_payload {
            payload = Some(buf.freeze());
        } else if filename.is_some() || name.starts_with("files[") || name.starts_with("file") {
            let part = name
                .strip_prefix("files[")
                .and_then(|n| n.strip_suffix(']'))
                .map(str::to_string)
                .unwrap_or_else(|| files.len().to_string());
            files.push(Upload {
                part,
                filename,
                bytes: buf.freeze(),
            });
        }
    }
    if let Some(e) = refused {
        return Err(refuse(e, false));
    }
    let body = match payload {
        Some(p) => parse_json(&p).map_err(IntoResponse::into_response)?,
        None => wire::CreateMessageBody::default(),
    };
    Ok((body, files))
}
