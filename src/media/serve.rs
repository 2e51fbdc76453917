//! Serving files at Discord's CDN paths: `GET /attachments/{channel_id}/{attachment_id}/
//! {filename}?ex=..&is=..&hm=..` (signed URLs, checked by [`Hearth::attachment_file`]); and
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
/// SVG) and a private cache lifetime. 404 for a bad or expired signature.
async fn attachment(
    State(h): State<Arc<Hearth>>,
    Path((channel_id, attachment_id, filename)): Path<(String, String, String)>,
    Query(q): Query<Signed>,
) -> Result<Response> {
    let (Ok(c), Ok(a)) = (
        channel_id.parse::<Snowflake>(),
        attachment_id.parse::<Snowflake>(),
    ) else {
        return Err(Error::RouteNotFound);
    };
    let f = h
        .attachment_file(
            c,
            a,
            &filename,
            q.ex.as_deref(),
            q.is.as_deref(),
            q.hm.as_deref(),
        )
        .await?;
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
    let hs = r.headers_mut();
    hs.insert(header::CONTENT_TYPE, header(&f.row.content_type)?);
    hs.insert(header::CONTENT_LENGTH, HeaderValue::from(f.body.size));
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
