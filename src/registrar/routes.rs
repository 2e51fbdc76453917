//! The registrar link's routes: the challenge document on the federation routes and the
//! `/discovery/*` client routes (spec/registrar.md).

use super::{API, Link};
use crate::error::{Error, FedRefusal, Result};
use crate::http::Auth;
use crate::http::openapi::{ApiError, JsonValue};
use crate::s2s::inbound::FedRejection;
use crate::s2s::{FedError, Federation, now_ms};
use crate::service::Hearth;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_federation::registrar::{CHALLENGE_PATH, valid_token};
use hearth_federation::sign::{self, Purpose};
use serde_json::{Value, json};
use std::sync::Arc;

/// State of the registrar link's routes: the services, the federation layer (the server's
/// name and key) and the link itself (`None` without `registrar.url`).
#[derive(Clone)]
pub struct LinkApi {
    pub hearth: Arc<Hearth>,
    pub fed: Arc<Federation>,
    pub link: Option<Arc<Link>>,
}

impl axum::extract::FromRef<LinkApi> for Arc<Hearth> {
    fn from_ref(s: &LinkApi) -> Arc<Hearth> {
        s.hearth.clone()
    }
}

impl LinkApi {
    /// The link; 503 when no registrar is configured.
    fn link(&self) -> Result<&Arc<Link>> {
        self.link
            .as_ref()
            .ok_or_else(|| Error::Unavailable("no registrar is configured".into()))
    }
}

/// Federation-listener routes: the challenge document.
pub fn federation_routes() -> Router<LinkApi> {
    Router::new().route(
        &format!("{CHALLENGE_PATH}/{{token}}"),
        get(challenge_document),
    )
}

/// `GET /.well-known/hearth/registrar-challenge/{token}`: the signed challenge document for a
/// token of this server's own pending registration; 404 `H_NOT_FOUND` for any other token.
pub(super) async fn challenge_document(
    State(s): State<LinkApi>,
    Path(token): Path<String>,
) -> Response {
    let h = &s.hearth;
    if !valid_token(&token) {
        return FedRejection::refuse(FedRefusal::NotFound("no such challenge".into()))
            .into_response();
    }
    let registrar = match h
        .db
        .registrar_challenge(&token, crate::storage::now_ms())
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => {
            return FedRejection::refuse(FedRefusal::NotFound("no such challenge".into()))
                .into_response();
        }
        Err(e) => return FedRejection(e).into_response(),
    };
    let mut doc = json!({
        "registrar": registrar,
        "server_name": s.fed.server_name,
        "token": token,
        "ts": now_ms(),
    });
    match sign::sign_json(
        Purpose::RegistrarChallenge,
        &mut doc,
        &s.fed.server_name,
        &s.fed.keyring.current(),
    ) {
        Ok(()) => Json(doc).into_response(),
        Err(e) => Error::internal(e).into_response(),
    }
}

/// Client routes (mounted under `/api/v10` with the API's rate limits).
pub fn client_routes() -> Router<LinkApi> {
    Router::new()
        .route("/discovery/guilds", get(discovery_guilds))
        .route("/discovery/servers", get(discovery_servers))
        .route("/discovery/users/{handle}", get(discovery_user))
        .route("/discovery/@me", get(my_discovery).patch(set_my_discovery))
}

/// The OpenAPI operations of [`client_routes`] ([`crate::http::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    discovery_guilds,
    discovery_servers,
    discovery_user,
    my_discovery,
    set_my_discovery
))]
pub struct ApiDoc;

/// Query parameters passed through to the registrar's guild search.
pub(super) const GUILD_QUERY_KEYS: [&str; 8] = [
    "q",
    "tag",
    "language",
    "server",
    "min_members",
    "sort",
    "limit",
    "offset",
];

pub(super) fn passthrough(raw: Option<&str>, allowed: &[&str]) -> Result<String> {
    let mut out = reqwest::Url::parse("https://x/").map_err(Error::internal)?;
    {
        let mut pairs = out.query_pairs_mut();
        for (k, v) in reqwest::Url::parse(&format!("https://x/?{}", raw.unwrap_or("")))
            .map_err(Error::internal)?
            .query_pairs()
        {
            if allowed.contains(&k.as_ref()) {
                if v.len() > 256 {
                    return Err(crate::error::field_error(
                        k.as_ref(),
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 256 or fewer in length.",
                    ));
                }
                pairs.append_pair(&k, &v);
            }
        }
    }
    Ok(out.query().unwrap_or("").to_owned())
}

pub(super) fn registrar_error(e: FedError) -> Error {
    match e {
        FedError::Remote { status, error, .. } if status == 400 || status == 422 => {
            crate::error::field_error("q", "BASE_TYPE_BAD_VALUE", error)
        }
        FedError::Remote { status: 429, .. } => Error::RateLimited {
            retry_after: 1.0,
            global: false,
            scope: "registrar",
        },
        e => Error::Unavailable(format!("registrar: {e}")),
    }
}

/// `GET /discovery/guilds?q=&tag=&language=&server=&min_members=&sort=&limit=&offset=`: the
/// registrar's search, each summary's signature checked against its server's keys; every
/// result carries `join_code` (`code@server`) for `POST /invites/{join_code}`.
#[utoipa::path(
    get,
    path = "/discovery/guilds",
    tag = "discovery",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn discovery_guilds(
    State(api): State<LinkApi>,
    Auth(_a): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let link = api.link()?;
    let query = passthrough(raw.as_deref(), &GUILD_QUERY_KEYS)?;
    let page = link
        .get(&format!("{API}/guilds?{query}"))
        .await
        .map_err(registrar_error)?;
    let mut guilds = Vec::new();
    for s in page["results"].as_array().cloned().unwrap_or_default() {
        let Some(server) = s["server_name"].as_str().map(str::to_owned) else {
            continue;
        };
        if !verify_summary(&api.fed, &s, &server).await {
            tracing::info!(server, "dropping a guild summary that does not verify");
            continue;
        }
        let code = s["invite_code"].as_str().unwrap_or_default();
        let join_code = if server == api.fed.server_name {
            code.to_owned()
        } else {
            format!("{code}@{server}")
        };
        let mut out = s.clone();
        if let Some(o) = out.as_object_mut() {
            o.remove("signatures");
            o.insert("join_code".into(), json!(join_code));
        }
        guilds.push(out);
    }
    Ok(Json(json!({
        "guilds": guilds,
        "total": page["total"],
        "next_offset": page["next_offset"],
    })))
}

pub(super) async fn verify_summary(fed: &Federation, s: &Value, server: &str) -> bool {
    let ts = s["ts"].as_u64().unwrap_or(0);
    let sigs = sign::signatures(s).unwrap_or_default();
    let Some(key_id) = sigs.get(server).and_then(|m| m.keys().next()).cloned() else {
        return false;
    };
    if fed.client.ensure_key(server, &key_id).await.is_err() {
        return false;
    }
    sign::verify_signed_by(Purpose::GuildSummary, s, server, &fed.client.keys(), ts).is_ok()
}

/// `GET /discovery/servers?limit=&offset=`: the registrar's server directory.
#[utoipa::path(
    get,
    path = "/discovery/servers",
    tag = "discovery",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn discovery_servers(
    State(s): State<LinkApi>,
    Auth(_a): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let link = s.link()?;
    let query = passthrough(raw.as_deref(), &["limit", "offset", "include_stale"])?;
    let page = link
        .get(&format!("{API}/servers?{query}"))
        .await
        .map_err(registrar_error)?;
    Ok(Json(page))
}

/// `GET /discovery/users/{handle}`: exact handle lookup at the registrar (404 10013 when
/// unknown or not opted in).
#[utoipa::path(
    get,
    path = "/discovery/users/{handle}",
    tag = "discovery",
    params(
        ("handle" = String, Path, description = "A user handle `name@server`"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn discovery_user(
    State(s): State<LinkApi>,
    Auth(_a): Auth,
    Path(handle): Path<String>,
) -> Result<Json<Value>> {
    let link = s.link()?;
    if hearth_federation::names::parse_handle(&handle).is_err() {
        return Err(crate::error::field_error(
            "handle",
            "BASE_TYPE_BAD_VALUE",
            "Expected localpart@server.",
        ));
    }
    match link.get(&format!("{API}/handles/{handle}")).await {
        Ok(v) => Ok(Json(v)),
        Err(FedError::Remote { status: 404, .. }) => {
            Err(Error::Unknown(crate::error::Unknown::User))
        }
        Err(e) => Err(registrar_error(e)),
    }
}

/// `GET /discovery/@me`: `{discoverable}` (handle lookup opt-in).
#[utoipa::path(
    get,
    path = "/discovery/@me",
    tag = "discovery",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn my_discovery(State(s): State<LinkApi>, Auth(a): Auth) -> Result<Json<Value>> {
    let on = s.hearth.db.user_discoverable(a.user.id).await?;
    Ok(Json(json!({ "discoverable": on })))
}

/// `PATCH /discovery/@me` `{discoverable: bool}`: opt in to (or out of) handle lookup.
#[utoipa::path(
    patch,
    path = "/discovery/@me",
    tag = "discovery",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn set_my_discovery(
    State(s): State<LinkApi>,
    Auth(a): Auth,
    crate::http::Body(body): crate::http::Body<Value>,
) -> Result<Json<Value>> {
    let Some(on) = body["discoverable"].as_bool() else {
        return Err(crate::error::field_error(
            "discoverable",
            "BASE_TYPE_REQUIRED",
            "This field is required and must be a boolean.",
        ));
    };
    if a.user.bot || a.user.home_server.is_some() {
        return Err(Error::MissingPermissions);
    }
    s.hearth.db.set_user_discoverable(a.user.id, on).await?;
    if let Some(l) = &s.link {
        l.user_changed(a.user.id);
    }
    Ok(Json(json!({ "discoverable": on })))
}
