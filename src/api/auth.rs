//! Handlers of accounts, sessions and the current user (Discord "Resources > User"; Hearth's `/auth/*`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{H, PageQuery, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, ClientIp, ImageBody, P, Q, UserAgent};
use crate::snowflake::Snowflake;
use crate::wire;

// ---- auth -------------------------------------------------------------------------------

/// `POST /auth/register` -> 201 `{user_id, token, refresh_token, expires_in}`.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body(content = wire::RegisterBody, description = "wire::RegisterBody"),
    responses(
        (status = 201, description = "wire::TokenPair", body = wire::TokenPair),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn register(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::RegisterBody>,
) -> Result<Response> {
    Ok((StatusCode::CREATED, Json(h.register(b, ip, ua).await?)).into_response())
}
/// `POST /auth/login`.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body(content = wire::LoginBody, description = "wire::LoginBody"),
    responses(
        (status = 200, description = "wire::LoginAnswer", body = wire::LoginAnswer),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn login(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::LoginBody>,
) -> Result<Json<wire::LoginAnswer>> {
    Ok(Json(h.login(b, ip, ua).await?))
}
/// `POST /auth/mfa/totp` -> the token pair of `POST /auth/login`.
#[utoipa::path(
    post,
    path = "/auth/mfa/totp",
    tag = "auth",
    request_body(content = wire::MfaTicketBody, description = "wire::MfaTicketBody"),
    responses(
        (status = 200, description = "wire::TokenPair", body = wire::TokenPair),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn login_totp(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::MfaTicketBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.login_mfa(b, false, ip, ua).await?))
}
/// `POST /auth/mfa/backup` -> the token pair of `POST /auth/login`.
#[utoipa::path(
    post,
    path = "/auth/mfa/backup",
    tag = "auth",
    request_body(content = wire::MfaTicketBody, description = "wire::MfaTicketBody"),
    responses(
        (status = 200, description = "wire::TokenPair", body = wire::TokenPair),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn login_backup(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::MfaTicketBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.login_mfa(b, true, ip, ua).await?))
}
/// `POST /auth/refresh`.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body(content = wire::RefreshBody, description = "wire::RefreshBody"),
    responses(
        (status = 200, description = "wire::TokenPair", body = wire::TokenPair),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn refresh(
    h: H,
    Body(b): Body<wire::RefreshBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.refresh(b).await?))
}
/// `POST /auth/logout` -> 204.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn logout(h: H, Auth(a): Auth) -> Result<Response> {
    h.logout(&a).await?;
    Ok(no_content())
}
/// `GET /auth/sessions`.
#[utoipa::path(
    get,
    path = "/auth/sessions",
    tag = "auth",
    responses(
        (status = 200, description = "[wire::AuthSession]", body = Vec<wire::AuthSession>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_sessions(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::AuthSession>>> {
    Ok(Json(h.list_sessions(&a).await?))
}
/// `DELETE /auth/sessions/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/auth/sessions/{session_id}",
    tag = "auth",
    params(
        ("session_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_session(h: H, Auth(a): Auth, P(id): P<Snowflake>) -> Result<Response> {
    h.delete_session(&a, id).await?;
    Ok(no_content())
}

// ---- users ------------------------------------------------------------------------------

/// `GET /users/@me`.
#[utoipa::path(
    get,
    path = "/users/@me",
    tag = "users",
    responses(
        (status = 200, description = "wire::User", body = wire::User),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_me(h: H, Auth(a): Auth) -> Json<wire::User> {
    Json(h.user_wire(&a.user, true))
}
/// `PATCH /users/@me`.
#[utoipa::path(
    patch,
    path = "/users/@me",
    tag = "users",
    request_body(content = wire::ModifyMeBody, description = "wire::ModifyMeBody"),
    responses(
        (status = 200, description = "wire::User", body = wire::User),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_me(
    h: H,
    Auth(a): Auth,
    ImageBody(b): ImageBody<wire::ModifyMeBody>,
) -> Result<Json<wire::User>> {
    Ok(Json(h.modify_me(&a, b).await?))
}
/// `POST /users/@me/mfa/totp/enable` -> `{token, backup_codes}`.
#[utoipa::path(
    post,
    path = "/users/@me/mfa/totp/enable",
    tag = "users",
    request_body(content = wire::MfaEnableBody, description = "wire::MfaEnableBody"),
    responses(
        (status = 200, description = "wire::MfaEnabled", body = wire::MfaEnabled),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn enable_totp(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::MfaEnableBody>,
) -> Result<Json<wire::MfaEnabled>> {
    Ok(Json(h.enable_totp(&a, b).await?))
}
/// `POST /users/@me/mfa/totp/disable` -> `{token}`.
#[utoipa::path(
    post,
    path = "/users/@me/mfa/totp/disable",
    tag = "users",
    request_body(content = wire::MfaCodeBody, description = "wire::MfaCodeBody"),
    responses(
        (status = 200, description = "wire::MfaToken", body = wire::MfaToken),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn disable_totp(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::MfaCodeBody>,
) -> Result<Json<wire::MfaToken>> {
    Ok(Json(h.disable_totp(&a, b).await?))
}
/// `POST /users/@me/mfa/codes-verification` -> `{backup_codes}`.
#[utoipa::path(
    post,
    path = "/users/@me/mfa/codes-verification",
    tag = "users",
    request_body(content = wire::MfaCodesBody, description = "wire::MfaCodesBody"),
    responses(
        (status = 200, description = "wire::BackupCodes", body = wire::BackupCodes),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn backup_codes(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::MfaCodesBody>,
) -> Result<Json<wire::BackupCodes>> {
    Ok(Json(h.regenerate_backup_codes(&a, b).await?))
}
/// `GET /users/{id}`.
#[utoipa::path(
    get,
    path = "/users/{user_id}",
    tag = "users",
    params(
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::User", body = wire::User),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_user(
    h: H,
    Auth(_a): Auth,
    P(id): P<Snowflake>,
) -> Result<Json<wire::User>> {
    Ok(Json(h.user_wire_by_id(id.db()).await?))
}

/// `GET /users/@me/guilds`.
#[utoipa::path(
    get,
    path = "/users/@me/guilds",
    tag = "users",
    params(
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("before" = Option<String>, Query, description = "Snowflake id: items before this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[wire::PartialGuild]", body = Vec<wire::PartialGuild>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn my_guilds(
    h: H,
    Auth(a): Auth,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::PartialGuild>>> {
    Ok(Json(h.my_guilds(&a, q.before, q.after, q.limit).await?))
}
/// `DELETE /users/@me/guilds/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/users/@me/guilds/{guild_id}",
    tag = "users",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn leave_guild(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Response> {
    h.leave_guild(&a, g).await?;
    Ok(no_content())
}
/// `GET /users/@me/channels`.
#[utoipa::path(
    get,
    path = "/users/@me/channels",
    tag = "users",
    responses(
        (status = 200, description = "[wire::Channel]", body = Vec<wire::Channel>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn my_dms(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::Channel>>> {
    Ok(Json(h.my_dms(&a).await?))
}
/// `POST /users/@me/channels`.
#[utoipa::path(
    post,
    path = "/users/@me/channels",
    tag = "users",
    request_body(content = wire::CreateDmBody, description = "wire::CreateDmBody"),
    responses(
        (status = 200, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn open_dm(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::CreateDmBody>,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.open_dm(&a, b).await?))
}
/// `PUT /channels/{id}/recipients/{user_id}` -> 204: any recipient of a group DM adds a
/// user (Discord "Resources > Channel > Group DM Add Recipient"; `service::group_dms`).
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/recipients/{user_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error (10003, 50001, 50024, 10013, 50033, 50007, 30004)", body = ApiError),
    ),
)]
pub(super) async fn add_recipient(
    h: H,
    Auth(a): Auth,
    P((c, u)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.add_group_recipient(&a, c, u).await?;
    Ok(no_content())
}
/// `DELETE /channels/{id}/recipients/{user_id}` -> 204: the owner removes a recipient, or a
/// recipient leaves (Discord "Resources > Channel > Group DM Remove Recipient").
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/recipients/{user_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error (10003, 50001, 50024, 50013, 10013)", body = ApiError),
    ),
)]
pub(super) async fn remove_recipient(
    h: H,
    Auth(a): Auth,
    P((c, u)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.remove_group_recipient(&a, c, u).await?;
    Ok(no_content())
}
/// `GET /users/@me/relationships`.
#[utoipa::path(
    get,
    path = "/users/@me/relationships",
    tag = "users",
    responses(
        (status = 200, description = "[wire::Relationship]", body = Vec<wire::Relationship>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn relationships(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::Relationship>>> {
    Ok(Json(h.relationships(&a).await?))
}
/// `PUT /users/@me/relationships/{id}` -> 204.
#[utoipa::path(
    put,
    path = "/users/@me/relationships/{user_id}",
    tag = "users",
    params(
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::RelationshipBody, description = "wire::RelationshipBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn set_relationship(
    h: H,
    Auth(a): Auth,
    P(u): P<Snowflake>,
    Body(b): Body<wire::RelationshipBody>,
) -> Result<Response> {
    h.set_relationship(&a, u, b).await?;
    Ok(no_content())
}
/// `DELETE /users/@me/relationships/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/users/@me/relationships/{user_id}",
    tag = "users",
    params(
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_relationship(
    h: H,
    Auth(a): Auth,
    P(u): P<Snowflake>,
) -> Result<Response> {
    h.delete_relationship(&a, u).await?;
    Ok(no_content())
}
