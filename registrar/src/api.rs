//! The registrar's HTTP API (spec/registrar.md "Endpoints"). Handlers are thin: extract,
//! call one [`Core`] rule, serialize.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::core::{ApiError, ApiResult, Core, check_guild_id, check_name, server_json};
use crate::storage::GuildQuery;

type S = State<Arc<Core>>;

/// The raw body, with 413 `R_TOO_LARGE` beyond `max_body_bytes`.
pub struct RawBody(pub Bytes);

impl<St: Send + Sync> FromRequest<St> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &St) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge
                } else {
                    ApiError::Malformed(e.body_text())
                }
            })
    }
}

fn json_body(b: &[u8]) -> ApiResult<Value> {
    if b.is_empty() {
        return Ok(json!({}));
    }
    let v: Value =
        serde_json::from_slice(b).map_err(|e| ApiError::Malformed(format!("body: {e}")))?;
    hearth_federation::canonical::check(&v)
        .map_err(|e| ApiError::Malformed(format!("body: {e}")))?;
    Ok(v)
}

/// The request context a signed handler needs.
struct Signed {
    method: String,
    path: String,
    auth: Option<String>,
}

fn signed_parts(method: &Method, uri: &OriginalUri, headers: &HeaderMap) -> ApiResult<Signed> {
    let auth = match headers.get(axum::http::header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::from(hearth_federation::Error::MalformedAuth(
                        "Authorization is not visible ASCII".into(),
                    ))
                })?
                .to_owned(),
        ),
    };
    Ok(Signed {
        method: method.as_str().to_owned(),
        path: uri
            .0
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        auth,
    })
}

/// All routes, with the per-client rate limit and the body limit.
pub fn router(core: Arc<Core>) -> Router {
    let max_body = core.config.max_body_bytes;
    Router::new()
        .route("/_registrar/v1/info", get(info))
        .route("/_registrar/v1/servers", get(list_servers))
        .route(
            "/_registrar/v1/servers/{name}",
            get(get_server).put(register).delete(delete_server),
        )
        .route("/_registrar/v1/servers/{name}/challenge", post(challenge))
        .route(
            "/_registrar/v1/servers/{name}/keys/history",
            get(key_history),
        )
        .route(
            "/_registrar/v1/servers/{name}/guilds/{guild_id}",
            put(put_guild).delete(delete_guild),
        )
        .route(
            "/_registrar/v1/servers/{name}/handles/{localpart}",
            put(put_handle).delete(delete_handle),
        )
        .route("/_registrar/v1/notary/{name}", get(notary))
        .route("/_registrar/v1/guilds", get(search_guilds))
        .route("/_registrar/v1/handles/{handle}", get(lookup_handle))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            core.clone(),
            client_limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(core)
}

/// The peer address of a connection, plain or TLS.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(s: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Peer(*s.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, hearth_federation::tls::TlsListener>,
    > for Peer
{
    fn connect_info(
        s: axum::serve::IncomingStream<'_, hearth_federation::tls::TlsListener>,
    ) -> Self {
        Peer(*s.remote_addr())
    }
}

fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip())
}

async fn client_limit(State(core): S, req: Request, next: Next) -> Response {
    let ip = client_ip(&req);
    if let Err(e) = core.limit_client(ip) {
        return e.into_response();
    }
    let mut req = req;
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// The client address (set by the rate-limit middleware).
#[derive(Debug, Clone, Copy)]
struct ClientIp(IpAddr);

/// `GET /_registrar/v1/info`.
async fn info(State(core): S) -> Json<Value> {
    Json(core.info())
}

#[derive(Deserialize)]
struct Page {
    limit: Option<String>,
    offset: Option<String>,
    include_stale: Option<String>,
}

fn int_param(v: Option<&str>, name: &str, default: i64, min: i64, max: i64) -> ApiResult<i64> {
    match v {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ApiError::Malformed(format!("{name}: an integer in {min}..={max}"))),
    }
}

/// `GET /_registrar/v1/servers?limit=&offset=&include_stale=`.
async fn list_servers(State(core): S, Query(p): Query<Page>) -> ApiResult<Json<Value>> {
    let limit = int_param(p.limit.as_deref(), "limit", 50, 1, 200)?;
    let offset = int_param(p.offset.as_deref(), "offset", 0, 0, 100_000)?;
    let include_stale = p.include_stale.as_deref() != Some("false");
    let rows = core.db.servers(include_stale, limit, offset).await?;
    let next = (rows.len() as i64 == limit).then_some(offset + limit);
    Ok(Json(json!({
        "servers": rows.iter().map(server_json).collect::<Vec<_>>(),
        "next_offset": next,
    })))
}

/// `GET /_registrar/v1/servers/{name}`.
async fn get_server(State(core): S, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    core.server_entry(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("{name} is not registered")))
}

/// `POST /_registrar/v1/servers/{name}/challenge` (signed by `name`).
async fn challenge(
    State(core): S,
    Path(name): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    let s = signed_parts(&method, &uri, &headers)?;
    json_body(&body)?;
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    Ok(Json(core.challenge(&name).await?))
}

/// `PUT /_registrar/v1/servers/{name}` `{token, software, registration_policy}` (signed by
/// `name`): register or update with proof of domain control.
async fn register(
    State(core): S,
    Path(name): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    let s = signed_parts(&method, &uri, &headers)?;
    let v = json_body(&body)?;
    if core.denied(&name).await? {
        return Err(ApiError::Denied(format!(
            "{name} is on this registrar's deny list"
        )));
    }
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    Ok(Json(core.register(&name, &v).await?))
}

/// `DELETE /_registrar/v1/servers/{name}` (signed by `name`).
async fn delete_server(
    State(core): S,
    Path(name): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    let s = signed_parts(&method, &uri, &headers)?;
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    if !core.db.delete_server(&name).await? {
        return Err(ApiError::NotFound(format!("{name} is not registered")));
    }
    Ok(Json(json!({})))
}

/// `GET /_registrar/v1/servers/{name}/keys/history`.
async fn key_history(State(core): S, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    let rows = core.db.key_history(&name).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound(format!("no key history for {name}")));
    }
    Ok(Json(json!({
        "server_name": name,
        "history": rows.iter().map(|r| json!({
            "key_id": r.key_id,
            "key": r.public_key,
            "state": r.state,
            "state_ts": r.state_ts,
            "observed_ts": r.observed_at,
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /_registrar/v1/notary/{name}`.
async fn notary(State(core): S, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    Ok(Json(core.notary(&name).await?))
}

/// `PUT /_registrar/v1/servers/{name}/guilds/{guild_id}` (signed by `name`): body is the
/// signed summary.
async fn put_guild(
    State(core): S,
    Path((name, guild_id)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    check_guild_id(&guild_id)?;
    let s = signed_parts(&method, &uri, &headers)?;
    let v = json_body(&body)?;
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    core.put_guild(&name, &guild_id, &v).await?;
    Ok(Json(json!({})))
}

/// `DELETE /_registrar/v1/servers/{name}/guilds/{guild_id}` (signed by `name`).
async fn delete_guild(
    State(core): S,
    Path((name, guild_id)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    check_guild_id(&guild_id)?;
    let s = signed_parts(&method, &uri, &headers)?;
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    if !core.db.delete_guild(&name, &guild_id).await? {
        return Err(ApiError::NotFound("no such guild summary".into()));
    }
    Ok(Json(json!({})))
}

/// `PUT /_registrar/v1/servers/{name}/handles/{localpart}` (signed by `name`).
async fn put_handle(
    State(core): S,
    Path((name, localpart)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    let s = signed_parts(&method, &uri, &headers)?;
    let v = json_body(&body)?;
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    core.put_handle(&name, &localpart, &v).await?;
    Ok(Json(json!({})))
}

/// `DELETE /_registrar/v1/servers/{name}/handles/{localpart}` (signed by `name`).
async fn delete_handle(
    State(core): S,
    Path((name, localpart)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    check_name(&name)?;
    let s = signed_parts(&method, &uri, &headers)?;
    let auth = core
        .authenticate(&s.method, &s.path, &body, s.auth.as_deref())
        .await?;
    Core::require_origin(&auth, &name)?;
    if !core
        .db
        .delete_handle(&format!("{localpart}@{name}"), &name)
        .await?
    {
        return Err(ApiError::NotFound("no such handle".into()));
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
    tag: Option<String>,
    language: Option<String>,
    server: Option<String>,
    min_members: Option<String>,
    sort: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /_registrar/v1/guilds?q=&tag=&language=&server=&min_members=&sort=&limit=&offset=`.
async fn search_guilds(State(core): S, Query(p): Query<Search>) -> ApiResult<Json<Value>> {
    let q = p.q.unwrap_or_default();
    if q.chars().count() > 100 {
        return Err(ApiError::Malformed("q: at most 100 characters".into()));
    }
    let words: Vec<String> = q
        .to_lowercase()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if words.len() > 8 {
        return Err(ApiError::Malformed("q: at most 8 words".into()));
    }
    let tag = p.tag.filter(|t| !t.is_empty());
    if let Some(t) = &tag
        && !(t.len() <= 24
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(ApiError::Malformed(
            "tag: 1-24 characters of [a-z0-9-]".into(),
        ));
    }
    let language = p.language.filter(|l| !l.is_empty());
    if let Some(l) = &language
        && (l.len() > 16
            || !l
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(ApiError::Malformed(
            "language: a locale such as en-US".into(),
        ));
    }
    let server = p.server.filter(|s| !s.is_empty());
    if let Some(s) = &server {
        check_name(s)?;
    }
    let sort = p.sort.unwrap_or_else(|| "relevance".into());
    if !["relevance", "members", "activity"].contains(&sort.as_str()) {
        return Err(ApiError::Malformed(
            "sort: one of relevance, members, activity".into(),
        ));
    }
    let limit = int_param(p.limit.as_deref(), "limit", 20, 1, 50)?;
    let offset = int_param(p.offset.as_deref(), "offset", 0, 0, 1000)?;
    let min_members = match p.min_members.as_deref() {
        None | Some("") => None,
        m => Some(int_param(m, "min_members", 0, 0, 1_000_000_000)?),
    };
    let (total, rows) = core
        .db
        .search_guilds(&GuildQuery {
            words,
            tag,
            language,
            server,
            min_members,
            sort,
            limit,
            offset,
        })
        .await?;
    let results: Vec<Value> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect();
    let next = (offset + (results.len() as i64) < total).then_some(offset + limit);
    Ok(Json(json!({
        "total": total,
        "results": results,
        "next_offset": next,
    })))
}

/// `GET /_registrar/v1/handles/{handle}`: exact match only; every lookup (hit or miss)
/// counts against the client's `handle_lookups` bucket.
async fn lookup_handle(
    State(core): S,
    Path(handle): Path<String>,
    req_ip: axum::Extension<ClientIp>,
) -> ApiResult<Json<Value>> {
    core.limit_handle_lookup(req_ip.0.0)?;
    hearth_federation::names::parse_handle(&handle)
        .map_err(|e| ApiError::BadName(e.to_string()))?;
    let card = core
        .db
        .handle(&handle)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such handle".into()))?;
    Ok(Json(
        serde_json::from_str(&card).map_err(ApiError::internal)?,
    ))
}
