//! Serving files at Discord's CDN paths: `GET /attachments/{channel_id}/{attachment_id}/
//! {filename}?ex=..&is=..&hm=..` (signed URLs, checked by [`Hearth::signed_attachment`], ranges); and
//! receiving the bytes of two-step uploads: `PUT /uploads/{channel_id}/{attachment_id}/
//! {filename}?ex=..&is=..&hm=..` (the `upload_url` of `POST /channels/{id}/attachments`,
//! [`Hearth::receive_upload`]). Mounted at the root by the composition root.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::error::{Error, Result, field_error};
use crate::service::Hearth;
use crate::service::ports::ByteRange;
use crate::snowflake::Snowflake;

/// The file routes (no authentication: the URL's signature is the permission).
pub fn routes() -> Router<Arc<Hearth>> {
    Router::new()
        .route(
            "/attachments/{channel_id}/{attachment_id}/{filename}",
            get(attachment),
        )
        .route(
            "/uploads/{channel_id}/{attachment_id}/{filename}",
            // The body is streamed to the store under the upload's own limit.
            put(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// The bytes of a two-step upload, streamed into the blob store: 204 when stored. Errors as
/// [`Hearth::receive_upload`]; a refusal before the body's end also says
/// `Connection: close` (the rest is not read).
async fn upload(
    State(h): State<Arc<Hearth>>,
    Path((channel_id, attachment_id, filename)): Path<(String, String, String)>,
    Query(q): Query<Signed>,
    req: axum::extract::Request,
) -> Response {
    let (Ok(c), Ok(a)) = (
        channel_id.parse::<Snowflake>(),
        attachment_id.parse::<Snowflake>(),
    ) else {
        return Error::RouteNotFound.into_response();
    };
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = req.into_body().into_data_stream().map(|chunk| {
        chunk.map_err(|e| {
            field_error(
                "file",
                "BASE_TYPE_BAD_VALUE",
                format!("The upload could not be read: {e}"),
            )
        })
    });
    let signature = (q.ex.as_deref(), q.is.as_deref(), q.hm.as_deref());
    match h
        .receive_upload(c, a, &filename, signature, length, Box::pin(body))
        .await
    {
        Ok(()) => axum::http::StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            let mut r = e.into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

#[derive(Deserialize, Default)]
struct Signed {
    ex: Option<String>,
    is: Option<String>,
    hm: Option<String>,
}

/// The bytes (streamed from the blob store) with `Content-Type` (sniffed at upload), `Content-Length`,
/// `X-Content-Type-Options: nosniff`, `Content-Disposition` (`inline` for images, audio,
/// video and plain text; `attachment` for everything a browser could run, such as HTML or
/// SVG), `ETag` (the attachment id and size: attachments never change), `Accept-Ranges:
/// bytes` and a private cache lifetime. 404 for a bad or expired signature.
///
/// Ranges (RFC 9110 §14): one `Range: bytes=a-b`, `a-` or `-n` is 206 with `Content-Range:
/// bytes a-b/size` and only those bytes (read from the store from `a` on: a local seek, an S3
/// ranged `GetObject`); a range with no byte of the file is 416 with `Content-Range: bytes
/// */size`; several ranges, another unit, a malformed value or an `If-Range` that is not the
/// current `ETag` get the whole file (200). `If-None-Match` with the `ETag` is 304.
/// tower-http's `ServeFile` does the same for files on disk only, so it cannot serve the S3
/// store; this handler works on any [`crate::service::ports::BlobStore`].
async fn attachment(
    State(h): State<Arc<Hearth>>,
    Path((channel_id, attachment_id, filename)): Path<(String, String, String)>,
    Query(q): Query<Signed>,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    let (Ok(c), Ok(a)) = (
        channel_id.parse::<Snowflake>(),
        attachment_id.parse::<Snowflake>(),
    ) else {
        return Err(Error::RouteNotFound);
    };
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let range = text(header::RANGE).and_then(ByteRange::parse);
    let row = h
        .signed_attachment(
            c,
            a,
            &filename,
            q.ex.as_deref(),
            q.is.as_deref(),
            q.hm.as_deref(),
        )
        .await?;
    let etag = format!("\"{}-{}\"", row.id, row.size);
    if text(header::IF_NONE_MATCH).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        let mut r = axum::http::StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().insert(
            header::ETAG,
            HeaderValue::from_str(&etag).map_err(Error::internal)?,
        );
        return Ok(r);
    }
    let range = range.filter(|_| text(header::IF_RANGE).is_none_or(|v| v.trim() == etag));
    let f = h.open_attachment(row, range).await?;
    let disposition = format!(
        "{}; filename=\"{}\"",
        if f.inline { "inline" } else { "attachment" },
        f.row.filename
    );
    let header = |v: &str| HeaderValue::from_str(v).map_err(Error::internal);
    // A read error mid-stream can only end the response early.
    let stream = f
        .body
        .stream
        .map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string())));
    let mut r = axum::body::Body::from_stream(stream).into_response();
    if f.range.is_some() {
        *r.status_mut() = axum::http::StatusCode::PARTIAL_CONTENT;
    }
    let hs = r.headers_mut();
    hs.insert(header::CONTENT_TYPE, header(&f.row.content_type)?);
    hs.insert(header::CONTENT_LENGTH, HeaderValue::from(f.body.size));
    if let Some(range) = &f.range {
        hs.insert(
            header::CONTENT_RANGE,
            header(&format!(
                "bytes {}-{}/{}",
                range.start,
                range.end - 1,
                f.row.size
            ))?,
        );
    }
    hs.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    hs.insert(header::ETAG, header(&etag)?);
    hs.insert(header::CONTENT_DISPOSITION, header(&disposition)?);
    hs.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    hs.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    hs.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(r)
}
