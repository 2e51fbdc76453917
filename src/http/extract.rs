//! Extractors shared by every HTTP router (client API, MLS, registrar link): the
//! authenticated caller, JSON bodies, path and query parameters, the audit-log reason, the
//! client address and user agent.
//!
//! Every rejection (bad JSON, wrong types, bad path ids, oversize bodies) becomes a
//! Discord-format error from [`crate::error::Error`]. Extractors that need the services take
//! them from any router state `S` with `Arc<Hearth>: FromRef<S>`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{Error, FieldErrors, Rule};
use crate::service::{Actor, Hearth};

/// The authenticated caller (`Authorization: Bearer <jwt>` or `Bot <token>`); 401 otherwise.
pub struct Auth(pub Actor);

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    Arc<Hearth>: FromRef<S>,
{
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        if let Some(a) = parts.extensions.get::<Actor>() {
            return Ok(Auth(a.clone()));
        }
        let h = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthorized)?;
        let actor = Arc::<Hearth>::from_ref(state).authenticate(h).await?;
        crate::events::set_actor(actor.user.id);
        parts.extensions.insert(actor.clone());
        Ok(Auth(actor))
    }
}

/// A JSON body: unknown fields ignored, `null` accepted for optional fields; errors are
/// 50109 (not JSON / not UTF-8), 50035 with the failing field's path, 413 40005 (too large).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::Rule(Rule::InvalidJson)
            }
        })?;
        parse_json(&bytes).map(Body)
    }
}

/// A JSON body that may carry images as data URIs (avatars, banners, icons, splashes,
/// emoji): as [`Body`], but its top-level `"data:..."` strings do not count against
/// `limits.max_body_bytes`, and the whole body may be as large as that plus three images of
/// `media.max_image_bytes` in base64 ([`ImageBody::limit`]); beyond either, 413 40005.
pub struct ImageBody<T>(pub T);

impl<T> ImageBody<T> {
    /// The largest body, bytes.
    pub fn limit(h: &Hearth) -> usize {
        let b64 = h.config.media.max_image_bytes.div_ceil(3) * 4;
        h.config
            .limits
            .max_body_bytes
            .saturating_add(usize::try_from(3 * b64).unwrap_or(usize::MAX))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ImageBody<T>
where
    Arc<Hearth>: FromRef<S>,
{
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let h = Arc::<Hearth>::from_ref(state);
        let bytes = axum::body::to_bytes(req.into_body(), Self::limit(&h))
            .await
            .map_err(|_| Error::PayloadTooLarge)?;
        if bytes.len() > h.config.limits.max_body_bytes {
            let images: usize = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .as_ref()
                .and_then(|v| v.as_object())
                .map(|o| {
                    o.values()
                        .filter_map(|x| x.as_str())
                        .filter(|s| s.starts_with("data:"))
                        .map(str::len)
                        .sum()
                })
                .unwrap_or(0);
            if bytes.len() - images > h.config.limits.max_body_bytes {
                return Err(Error::PayloadTooLarge);
            }
        }
        parse_json(&bytes).map(ImageBody)
    }
}

/// Parses a JSON body with Discord-style errors (see [`Body`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(Error::Rule(Rule::InvalidJson));
    }
    let bytes: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        Ok(v) => {
            // Only whitespace may follow the value (`{...} trailing` is not JSON).
            de.end().map_err(|_| Error::Rule(Rule::InvalidJson))?;
            // PostgreSQL cannot store NUL in text: refuse it here, the same on every backend.
            if has_nul_escape(bytes) {
                let path = serde_json::from_slice::<serde_json::Value>(bytes)
                    .ok()
                    .and_then(|v| nul_path(&v))
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "_root".to_string());
                let mut f = FieldErrors::new();
                f.add(
                    path,
                    "BASE_TYPE_INVALID",
                    "Must not contain NUL characters.",
                );
                return Err(Error::InvalidForm(f));
            }
            Ok(v)
        }
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(Error::Rule(Rule::InvalidJson));
            }
            // Dotted path (`messages.0`, `embeds.0.title`) so the error nests like Discord's.
            let path = e
                .path()
                .iter()
                .filter_map(|seg| match seg {
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect::<Vec<_>>()
                .join(".");
            let path = if path.is_empty() {
                "_root".to_string()
            } else {
                path
            };
            let msg = inner.to_string();
            let code = if msg.contains("missing field") {
                "BASE_TYPE_REQUIRED"
            } else {
                "BASE_TYPE_INVALID"
            };
            let mut f = FieldErrors::new();
            let field = if let Some(rest) = msg.strip_prefix("missing field `") {
                rest.split('`').next().unwrap_or("_root").to_string()
            } else {
                path
            };
            f.add(field, code, strip_position(&msg));
            Err(Error::InvalidForm(f))
        }
    }
}

/// Whether raw JSON has a `\u0000` escape (the only way a NUL gets into a JSON string).
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(&b"0000"[..]) {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Dotted path of the first string (value or key) containing NUL.
fn nul_path(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as V;
    let join = |head: String, rest: String| {
        if rest.is_empty() {
            head
        } else {
            format!("{head}.{rest}")
        }
    };
    match v {
        V::String(s) if s.contains('\0') => Some(String::new()),
        V::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x).map(|p| join(i.to_string(), p))),
        V::Object(o) => o.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some("_root".to_string())
            } else {
                nul_path(x).map(|p| join(k.clone(), p))
            }
        }),
        _ => None,
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Path parameters; a malformed id is a 50035 `NUMBER_TYPE_COERCE`, like Discord.
pub struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(P(v)),
            Err(e) => {
                let mut f = FieldErrors::new();
                f.add(
                    "_path",
                    "NUMBER_TYPE_COERCE",
                    strip_position(&e.body_text()),
                );
                Err(Error::InvalidForm(f))
            }
        }
    }
}

/// Query parameters; bad values are 50035.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Q(v)),
            Err(e) => {
                let mut f = FieldErrors::new();
                f.add(
                    "_query",
                    "BASE_TYPE_INVALID",
                    strip_position(&e.body_text()),
                );
                Err(Error::InvalidForm(f))
            }
        }
    }
}

/// `X-Audit-Log-Reason` (URL-encoded, as Discord libraries send it), at most 512 characters.
pub struct Reason(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Reason {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        Ok(Reason(
            parts
                .headers
                .get("x-audit-log-reason")
                .and_then(|v| v.to_str().ok())
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .chars()
                        .filter(|c| *c != '\0')
                        .take(512)
                        .collect()
                }),
        ))
    }
}

/// The client IP: the socket peer, or the right-most untrusted `X-Forwarded-For` entry when
/// the peer is a configured trusted proxy.
pub struct ClientIp(pub IpAddr);

pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.map(|p| p.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    let chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    chain
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer_ip)
}

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Arc<Hearth>: FromRef<S>,
{
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientIp(client_ip(
            &parts.headers,
            peer,
            &Arc::<Hearth>::from_ref(state).config.trusted_proxies,
        )))
    }
}

/// `User-Agent`, if any.
pub struct UserAgent(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        Ok(UserAgent(
            parts
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        ))
    }
}
