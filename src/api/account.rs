//! Handlers of account security (issue 17; spec/account.md): re-authentication
//! (`POST /mfa/finish`), password reset and email verification by mail, the security log,
//! the data export and account deletion.

use axum::Json;
use axum::response::Response;
use serde::Deserialize;

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, ClientIp, Q};
use crate::snowflake::Snowflake;
use crate::wire;

/// `POST /mfa/finish` `{mfa_type, data}` -> `{token}` (service::reauth).
#[utoipa::path(
    post,
    path = "/mfa/finish",
    tag = "auth",
    request_body(content = wire::MfaFinishBody, description = "wire::MfaFinishBody"),
    responses(
        (status = 200, description = "wire::MfaToken", body = wire::MfaToken),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn mfa_finish(
    h: H,
    Auth(a): Auth,
    ClientIp(ip): ClientIp,
    Body(b): Body<wire::MfaFinishBody>,
) -> Result<Json<wire::MfaToken>> {
    Ok(Json(h.mfa_finish(&a, b, ip).await?))
}

/// `POST /auth/forgot` `{login}` -> 204 (service::recovery).
#[utoipa::path(
    post,
    path = "/auth/forgot",
    tag = "auth",
    request_body(content = wire::ForgotBody, description = "wire::ForgotBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn forgot(
    h: H,
    ClientIp(ip): ClientIp,
    Body(b): Body<wire::ForgotBody>,
) -> Result<Response> {
    h.forgot_password(b, ip).await?;
    Ok(no_content())
}
/// `POST /auth/reset` `{token, password}` -> 204.
#[utoipa::path(
    post,
    path = "/auth/reset",
    tag = "auth",
    request_body(content = wire::ResetBody, description = "wire::ResetBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn reset(
    h: H,
    ClientIp(ip): ClientIp,
    Body(b): Body<wire::ResetBody>,
) -> Result<Response> {
    h.reset_password(b, ip).await?;
    Ok(no_content())
}
/// `POST /auth/verify` `{token}` -> 204.
#[utoipa::path(
    post,
    path = "/auth/verify",
    tag = "auth",
    request_body(content = wire::VerifyBody, description = "wire::VerifyBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn verify(h: H, Body(b): Body<wire::VerifyBody>) -> Result<Response> {
    h.verify_email(b).await?;
    Ok(no_content())
}
/// `POST /auth/verify/resend` -> 204.
#[utoipa::path(
    post,
    path = "/auth/verify/resend",
    tag = "auth",
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn verify_resend(h: H, Auth(a): Auth) -> Result<Response> {
    h.resend_verification(&a).await?;
    Ok(no_content())
}

/// Query of `GET /users/@me/security-log`.
#[derive(Debug, Deserialize)]
pub(super) struct LogQuery {
    before: Option<Snowflake>,
    limit: Option<i64>,
}
/// `GET /users/@me/security-log` -> `[SecurityLogEntry]` (service::security).
#[utoipa::path(
    get,
    path = "/users/@me/security-log",
    tag = "users",
    params(
        ("before" = Option<String>, Query, description = "Snowflake id: items before this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[wire::SecurityLogEntry]", body = Vec<wire::SecurityLogEntry>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn security_log(
    h: H,
    Auth(a): Auth,
    Q(q): Q<LogQuery>,
) -> Result<Json<Vec<wire::SecurityLogEntry>>> {
    Ok(Json(h.security_log(&a, q.before, q.limit).await?))
}
/// `GET /users/@me/export` -> the data export document (service::export).
#[utoipa::path(
    get,
    path = "/users/@me/export",
    tag = "users",
    responses(
        (status = 200, description = "wire::DataExport", body = wire::DataExport),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn export(h: H, Auth(a): Auth) -> Result<Json<wire::DataExport>> {
    Ok(Json(h.export_data(&a).await?))
}
/// `POST /users/@me/delete` `{password, delete_messages}` -> 204 (service::deletion).
#[utoipa::path(
    post,
    path = "/users/@me/delete",
    tag = "users",
    request_body(content = wire::DeleteAccountBody, description = "wire::DeleteAccountBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_me(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::DeleteAccountBody>,
) -> Result<Response> {
    h.delete_account(&a, b).await?;
    Ok(no_content())
}
