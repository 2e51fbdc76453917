//! Handlers of invites, applications, OAuth2 bot authorization and instance administration (Discord "Resources > Invite", "Resources > Application", "Topics > OAuth2").

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{H, PageQuery, no_content};
use crate::error::Result;
use crate::http::openapi::{ApiError, JsonArray, JsonValue};
use crate::http::{Auth, Body, P, Q, Reason};
use crate::snowflake::Snowflake;
use crate::wire;

// ---- invites ----------------------------------------------------------------------------

/// `GET /invites/{code}`: no token needed, as on Discord, so that a visitor opening an
/// invite link sees which guild it leads to before signing up (the web client's `/invite/CODE`).
#[utoipa::path(
    get,
    path = "/invites/{code}",
    tag = "invites",
    params(
        ("code" = String, Path, description = "An invite code"),
        ("with_counts" = Option<bool>, Query, description = "Include approximate member and presence counts"),
    ),
    responses(
        (status = 200, description = "wire::Invite", body = wire::Invite),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_invite(
    h: H,
    P(code): P<String>,
    Q(q): Q<PageQuery>,
) -> Result<Json<wire::Invite>> {
    Ok(Json(
        h.get_invite(&code, q.with_counts.unwrap_or(false)).await?,
    ))
}
/// `POST /invites/{code}`: join.
#[utoipa::path(
    post,
    path = "/invites/{code}",
    tag = "invites",
    params(
        ("code" = String, Path, description = "An invite code"),
    ),
    responses(
        (status = 200, description = "wire::Invite", body = wire::Invite),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn accept_invite(
    h: H,
    Auth(a): Auth,
    P(code): P<String>,
) -> Result<Json<wire::Invite>> {
    Ok(Json(h.accept_invite(&a, &code).await?))
}
/// `DELETE /invites/{code}`.
#[utoipa::path(
    delete,
    path = "/invites/{code}",
    tag = "invites",
    params(
        ("code" = String, Path, description = "An invite code"),
    ),
    responses(
        (status = 200, description = "wire::Invite", body = wire::Invite),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_invite(
    h: H,
    Auth(a): Auth,
    P(code): P<String>,
    Reason(r): Reason,
) -> Result<Json<wire::Invite>> {
    Ok(Json(h.delete_invite(&a, &code, r.as_deref()).await?))
}

// ---- applications -----------------------------------------------------------------------

/// `POST /applications` -> 201 with the bot `token`.
#[utoipa::path(
    post,
    path = "/applications",
    tag = "applications",
    request_body(content = wire::CreateApplicationBody, description = "wire::CreateApplicationBody"),
    responses(
        (status = 201, description = "wire::Application", body = wire::Application),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_application(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::CreateApplicationBody>,
) -> Result<Response> {
    Ok((
        StatusCode::CREATED,
        Json(h.create_application(&a, b).await?),
    )
        .into_response())
}
/// `GET /applications`.
#[utoipa::path(
    get,
    path = "/applications",
    tag = "applications",
    responses(
        (status = 200, description = "[wire::Application]", body = Vec<wire::Application>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn my_applications(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::Application>>> {
    Ok(Json(h.my_applications(&a).await?))
}
/// `GET /applications/@me`, `GET /oauth2/applications/@me` (bot token).
#[utoipa::path(
    get,
    path = "/applications/@me",
    tag = "applications",
    responses(
        (status = 200, description = "wire::Application", body = wire::Application),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn current_application(h: H, Auth(a): Auth) -> Result<Json<wire::Application>> {
    Ok(Json(h.current_application(&a).await?))
}
/// `PATCH /applications/@me` (bot token).
#[utoipa::path(
    patch,
    path = "/applications/@me",
    tag = "applications",
    request_body(content = wire::ModifyApplicationBody, description = "wire::ModifyApplicationBody"),
    responses(
        (status = 200, description = "wire::Application", body = wire::Application),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_current_application(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::ModifyApplicationBody>,
) -> Result<Json<wire::Application>> {
    Ok(Json(h.modify_application(&a, None, b).await?))
}
/// `PATCH /applications/{id}` (owner).
#[utoipa::path(
    patch,
    path = "/applications/{app_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyApplicationBody, description = "wire::ModifyApplicationBody"),
    responses(
        (status = 200, description = "wire::Application", body = wire::Application),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_application(
    h: H,
    Auth(a): Auth,
    P(id): P<Snowflake>,
    Body(b): Body<wire::ModifyApplicationBody>,
) -> Result<Json<wire::Application>> {
    Ok(Json(h.modify_application(&a, Some(id), b).await?))
}
/// `POST /applications/{id}/bot/reset` -> `{token}`.
#[utoipa::path(
    post,
    path = "/applications/{app_id}/bot/reset",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn reset_bot_token(
    h: H,
    Auth(a): Auth,
    P(id): P<Snowflake>,
) -> Result<Json<Value>> {
    Ok(Json(json!({"token": h.reset_bot_token(&a, id).await?})))
}

#[derive(Deserialize)]
pub(super) struct AuthorizeQuery {
    client_id: Snowflake,
    #[serde(default)]
    scope: Option<String>,
}
/// `POST /oauth2/authorize?client_id=&scope=bot` `{guild_id, permissions, authorize}`.
#[utoipa::path(
    post,
    path = "/oauth2/authorize",
    tag = "applications",
    params(
        ("client_id" = String, Query, description = "The application id (snowflake)"),
        ("scope" = Option<String>, Query, description = "OAuth2 scopes, space-separated (`bot`)"),
    ),
    request_body(content = wire::AuthorizeBody, description = "wire::AuthorizeBody"),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn authorize(
    h: H,
    Auth(a): Auth,
    Q(q): Q<AuthorizeQuery>,
    Body(b): Body<wire::AuthorizeBody>,
) -> Result<Json<Value>> {
    Ok(Json(
        h.authorize_bot(&a, q.client_id, q.scope.as_deref().unwrap_or("bot"), b)
            .await?,
    ))
}

// ---- admin ------------------------------------------------------------------------------

/// `GET /admin/users` (instance admins).
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "admin",
    params(
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[Value]", body = JsonArray),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn admin_users(
    h: H,
    Auth(a): Auth,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<Value>>> {
    Ok(Json(h.admin_list_users(&a, q.after, q.limit).await?))
}
/// `PATCH /admin/users/{id}` `{suspended?, admin?}` -> 204.
#[utoipa::path(
    patch,
    path = "/admin/users/{user_id}",
    tag = "admin",
    params(
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::AdminUserBody, description = "wire::AdminUserBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn admin_modify_user(
    h: H,
    Auth(a): Auth,
    P(u): P<Snowflake>,
    Body(b): Body<wire::AdminUserBody>,
) -> Result<Response> {
    h.admin_modify_user(&a, u, b).await?;
    Ok(no_content())
}
/// `POST /admin/setup` `{token}` -> 204: the caller becomes an instance administrator with
/// the first start's setup token (README "First start").
#[utoipa::path(
    post,
    path = "/admin/setup",
    tag = "admin",
    request_body(content = wire::SetupClaimBody, description = "wire::SetupClaimBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn admin_setup(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::SetupClaimBody>,
) -> Result<Response> {
    h.claim_setup(&a, b).await?;
    Ok(no_content())
}
/// `DELETE /admin/guilds/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/admin/guilds/{guild_id}",
    tag = "admin",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn admin_delete_guild(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Response> {
    h.admin_delete_guild(&a, g).await?;
    Ok(no_content())
}

/// `GET /admin/federation/equivocations` (instance admins).
#[utoipa::path(
    get,
    path = "/admin/federation/equivocations",
    tag = "admin",
    responses(
        (status = 200, description = "[Value]", body = JsonArray),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn admin_equivocations(h: H, Auth(a): Auth) -> Result<Json<Vec<Value>>> {
    Ok(Json(h.admin_equivocations(&a).await?))
}

/// `GET /admin/federation/peers` (instance admins): the member servers of this server's
/// guilds with their delivery state, as `hearth admin federation peers` shows them; 50013 for
/// anyone else. Hearth's own route (Discord has no federation).
#[utoipa::path(
    get,
    path = "/admin/federation/peers",
    tag = "admin",
    responses(
        (status = 200, description = "[{server, guilds, pending, lag_seconds, failures, next_attempt_at, failing_since, dead, dead_since, push_attempts, probes, blocked}]", body = JsonArray),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn admin_peers(h: H, Auth(a): Auth) -> Result<Json<Vec<Value>>> {
    Ok(Json(h.admin_peers(&a).await?))
}
