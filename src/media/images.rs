//! Serving images at Discord's CDN paths (public, as on Discord: the hash is the name):
//! `GET /avatars/{user_id}/{hash}.{ext}`, `/banners/{id}/{hash}.{ext}`,
//! `/icons/{guild_id}/{hash}.{ext}`, `/splashes/{guild_id}/{hash}.{ext}`,
//! `/guild-events/{event_id}/{hash}.{ext}` and `/emojis/{emoji_id}.{ext}`, with `?size=`; the rules are
//! [`Hearth::cdn_image`](crate::service::Hearth::cdn_image)'s. Mounted at the root beside
//! the attachment route.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::service::Hearth;
use crate::service::images::ImageKind;

/// The image routes (no authentication).
pub fn routes() -> Router<Arc<Hearth>> {
    Router::new()
        // `/avatars/{user_id}`, `/banners/{id}` (users and guilds), `/icons/{guild_id}`,
        // `/splashes/{guild_id}`: `{hash}.{ext}` under the owner.
        .route("/avatars/{owner}/{file}", get(owned::<AVATAR>))
        .route("/banners/{owner}/{file}", get(owned::<BANNER>))
        .route("/icons/{owner}/{file}", get(owned::<ICON>))
        .route("/splashes/{owner}/{file}", get(owned::<SPLASH>))
        .route("/guild-events/{owner}/{file}", get(owned::<EVENT_COVER>))
        .route("/emojis/{file}", get(emoji))
}

#[derive(Deserialize, Default)]
struct Size {
    size: Option<String>,
}

/// The image with `Content-Type`, `ETag`, `Cache-Control: public, max-age=31536000,
/// immutable` (the name changes with the content) and `X-Content-Type-Options: nosniff`;
/// 304 when `If-None-Match` holds the entity tag.
async fn serve(
    h: &Hearth,
    kind: ImageKind,
    owner: Option<&str>,
    file: &str,
    size: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response> {
    let img = h.cdn_image(kind, owner, file, size).await?;
    let etag = HeaderValue::from_str(&img.etag).map_err(Error::internal)?;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == img.etag || t.trim() == "*")
        });
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        img.bytes.into_response()
    };
    let hs = r.headers_mut();
    hs.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(img.content_type),
    );
    hs.insert(header::ETAG, etag);
    hs.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    hs.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}

/// The kinds served under an owner id, as const parameters of [`owned`].
const AVATAR: u8 = 0;
const BANNER: u8 = 1;
const ICON: u8 = 2;
const SPLASH: u8 = 3;
const EVENT_COVER: u8 = 4;

/// `GET /{avatars|banners|icons|splashes|guild-events}/{owner}/{hash}.{ext}`.
async fn owned<const KIND: u8>(
    State(h): State<Arc<Hearth>>,
    Path((owner, file)): Path<(String, String)>,
    Query(q): Query<Size>,
    headers: HeaderMap,
) -> Result<Response> {
    let kind = match KIND {
        AVATAR => ImageKind::Avatar,
        BANNER => ImageKind::Banner,
        ICON => ImageKind::Icon,
        EVENT_COVER => ImageKind::EventCover,
        _ => ImageKind::Splash,
    };
    serve(&h, kind, Some(&owner), &file, q.size.as_deref(), &headers).await
}

/// `GET /emojis/{emoji_id}.{ext}`.
async fn emoji(
    State(h): State<Arc<Hearth>>,
    Path(file): Path<String>,
    Query(q): Query<Size>,
    headers: HeaderMap,
) -> Result<Response> {
    serve(
        &h,
        ImageKind::Emoji,
        None,
        &file,
        q.size.as_deref(),
        &headers,
    )
    .await
}
