//! The web client (issue 16): the assets built from `web/` by `build.rs` and embedded in the
//! binary, served at `/` with a single-page-application fallback, and the Spacebar client
//! discovery document `/.well-known/spacebar/client`.
//!
//! [`serve`] is the main router's fallback: paths under the API, the gateway, federation and
//! `.well-known` keep Discord's JSON 404 (`Error::RouteNotFound`); any other `GET`/`HEAD`
//! answers the embedded file of that path or, for client routes like `/channels/1/2`,
//! `index.html`. Hashed files under `/assets/` are cached for a year, everything else is
//! `no-cache`. Every answer carries a strict Content-Security-Policy (no inline script).
//! Text files come compressed when the browser accepts it: the build writes brotli and gzip
//! copies next to those of 1 KiB or more (`X.js.br`, `X.js.gz`, web/vite.config.ts), served with
//! `Content-Encoding` and `Vary: Accept-Encoding`, no compression work per request.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::Error;
use crate::service::Hearth;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Served at `/` when the binary was built with `HEARTH_WEB_BUILD=skip` and no `web/dist`.
const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Hearth</title></head><body><h1>Hearth</h1><p>This server was built without its web \
client (HEARTH_WEB_BUILD=skip). Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run \
build</code> and rebuild hearth, or unset HEARTH_WEB_BUILD.</p></body></html>";

/// Path prefixes that never fall back to the client: Discord's JSON 404 stays theirs.
const SERVER_PREFIXES: &[&str] = &["/api", "/gateway", "/_hearth", "/.well-known"];

/// The web client's own routes: `GET /.well-known/spacebar/client`.
pub fn routes() -> Router<Arc<Hearth>> {
    Router::new().route("/.well-known/spacebar/client", get(spacebar_client))
}

/// `GET /.well-known/spacebar/client`: where a Spacebar-compatible client finds this server
/// (Spacebar's client discovery document): `api.baseUrl` (clients append `/v{version}`),
/// the API versions served, the CDN base (this server) and the gateway URL
/// (`gateway.public_url` or `ws://{Host}/gateway`).
async fn spacebar_client(State(h): State<Arc<Hearth>>, headers: HeaderMap) -> Json<Value> {
    let host = host_of(&headers).unwrap_or_else(|| h.config.listen.to_string());
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let origin = format!("{scheme}://{host}");
    let gateway = h.config.gateway.public_url.clone().unwrap_or_else(|| {
        let ws = if scheme == "https" { "wss" } else { "ws" };
        format!("{ws}://{host}/gateway")
    });
    Json(json!({
        "api": {
            "baseUrl": format!("{origin}/api"),
            "apiVersions": {"default": "10", "active": ["9", "10"]},
        },
        "cdn": origin,
        "gateway": gateway,
    }))
}

/// The request's `Host`, when it is a plain host name or address (with an optional port).
fn host_of(headers: &HeaderMap) -> Option<String> {
    let h = headers.get(header::HOST)?.to_str().ok()?;
    (!h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
    .then(|| h.to_string())
}

/// The Content-Security-Policy of every client file: only this origin's code, styles and
/// connections; images also from the origin of `media_public_url` (`media.public_url`,
/// where attachment, avatar and emoji URLs point: another host name of this server, a
/// reverse proxy's name or a CDN), so files show inline wherever the page was opened from.
pub fn policy(media_public_url: Option<&str>) -> HeaderValue {
    let media = media_public_url
        .and_then(|u| reqwest::Url::parse(u).ok())
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
        .map(|o| format!(" {}", o.ascii_serialization()))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'{media} data: blob:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| policy(None))
}

/// The main router's fallback: an embedded file, `index.html` for client routes, or
/// Discord's JSON 404 for server paths and other methods. `csp` is [`policy`]'s; `headers`
/// are the request's (its `Accept-Encoding` picks a precompressed copy).
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap, csp: HeaderValue) -> Response {
    let path = uri.path();
    let server_path = SERVER_PREFIXES
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if server_path || (method != Method::GET && method != Method::HEAD) {
        return Error::RouteNotFound.into_response();
    }
    let rel = path.trim_start_matches('/');
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(bytes) = asset(rel) {
        return file(rel, bytes, accept, csp);
    }
    // A missing hashed asset is a real 404, not the page (a stale tab asking for old code).
    if rel.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match asset("index.html") {
        Some(bytes) => file("index.html", bytes, accept, csp),
        None => {
            let mut r = PLACEHOLDER.into_response();
            secure(r.headers_mut(), "text/html; charset=utf-8", false, csp);
            r
        }
    }
}

fn asset(rel: &str) -> Option<&'static [u8]> {
    if rel.is_empty() {
        return asset("index.html");
    }
    embedded::ASSETS
        .iter()
        .find(|(p, _)| *p == rel)
        .map(|(_, b)| *b)
}

/// Precompressed copies, in order of preference: (`Content-Encoding`, file suffix).
const ENCODINGS: &[(&str, &str)] = &[("br", "br"), ("gzip", "gz")];

/// Whether an `Accept-Encoding` value (RFC 9110 §12.5.3) accepts `coding`: its own entry
/// decides when it has one (accepted unless its `q` is 0), otherwise `*`'s; without either it is
/// not accepted. Parameter names are case-insensitive; an unreadable `q` counts as 0.
fn accepts(accept: &str, coding: &str) -> bool {
    let entries = accept.split(',').map(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| {
                v.trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| q.is_finite())
                    .unwrap_or(0.0)
            });
        (name, q)
    });
    let (mut named, mut any) = (None, None);
    for (name, q) in entries {
        if name.eq_ignore_ascii_case(coding) {
            named = Some(q);
        } else if name == "*" {
            any = Some(q);
        }
    }
    named.or(any).is_some_and(|q| q > 0.0)
}

fn file(rel: &str, bytes: &'static [u8], accept: &str, csp: HeaderValue) -> Response {
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut variants = ENCODINGS
        .iter()
        .filter_map(|(coding, suffix)| Some((*coding, asset(&format!("{rel}.{suffix}"))?)))
        .peekable();
    let compressible = variants.peek().is_some();
    let chosen = variants.find(|(coding, _)| accepts(accept, coding));
    let mut r = chosen.map_or(bytes, |(_, b)| b).into_response();
    if let Some((coding, _)) = chosen {
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    if compressible {
        r.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    secure(
        r.headers_mut(),
        content_type(rel),
        rel.starts_with("assets/"),
        csp,
    );
    r
}

/// Content type, cache lifetime and the security headers of every client file.
fn secure(h: &mut HeaderMap, content_type: &'static str, immutable: bool, csp: HeaderValue) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn content_type(rel: &str) -> &'static str {
    match rel.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether the real client is embedded (false when built with `HEARTH_WEB_BUILD=skip` and no
/// `web/dist`: the placeholder page is served).
pub fn client_built() -> bool {
    embedded::BUILT
}

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn accept_encoding_follows_rfc_9110() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip;q=1.0, br;q=0.5", "br"));
        assert!(!accepts("gzip;q=1.0, br;q=0", "br"));
        assert!(!accepts("br;Q=0, gzip", "br"));
        assert!(!accepts("br;q=nan", "br"));
        assert!(!accepts("br;q=oops", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("br;q=0, *", "br"));
        assert!(accepts("br;q=0, *", "gzip"));
        assert!(!accepts("*;q=0", "gzip"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("", "gzip"));
        assert!(accepts("GZIP", "gzip"));
    }
}
