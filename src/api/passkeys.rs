//! Handlers of passkeys (service::passkeys): Discord's `/users/@me/mfa/webauthn/credentials`
//! and `POST /auth/mfa/webauthn`, Hearth's `POST /auth/passkey/start|finish`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::{ApiError, JsonValue};
use crate::http::{Auth, Body, ClientIp, P, UserAgent};
use crate::snowflake::Snowflake;
use crate::wire;

/// `GET /users/@me/mfa/webauthn/credentials` -> `[credential]`.
#[utoipa::path(
    get,
    path = "/users/@me/mfa/webauthn/credentials",
    tag = "users",
    responses(
        (status = 200, description = "[wire::WebauthnCredential]", body = Vec<wire::WebauthnCredential>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_passkeys(
    h: H,
    Auth(a): Auth,
) -> Result<Json<Vec<wire::WebauthnCredential>>> {
    Ok(Json(h.list_passkeys(&a).await?))
}
/// `POST /users/@me/mfa/webauthn/credentials`: `{}` -> 200 `{ticket, challenge}`;
/// `{name, ticket, credential}` -> 201 the credential.
#[utoipa::path(
    post,
    path = "/users/@me/mfa/webauthn/credentials",
    tag = "users",
    request_body(content = wire::WebauthnCredentialBody, description = "wire::WebauthnCredentialBody"),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = 201, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn register_passkey(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::WebauthnCredentialBody>,
) -> Result<Response> {
    let (created, v) = h.register_passkey(&a, b).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(v)).into_response())
}
/// `PATCH /users/@me/mfa/webauthn/credentials/{id}` `{name}` -> the credential.
#[utoipa::path(
    patch,
    path = "/users/@me/mfa/webauthn/credentials/{credential_id}",
    tag = "users",
    params(
        ("credential_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::WebauthnRenameBody, description = "wire::WebauthnRenameBody"),
    responses(
        (status = 200, description = "wire::WebauthnCredential", body = wire::WebauthnCredential),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn rename_passkey(
    h: H,
    Auth(a): Auth,
    P(id): P<Snowflake>,
    Body(b): Body<wire::WebauthnRenameBody>,
) -> Result<Json<wire::WebauthnCredential>> {
    Ok(Json(h.rename_passkey(&a, id, b).await?))
}
/// `DELETE /users/@me/mfa/webauthn/credentials/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/users/@me/mfa/webauthn/credentials/{credential_id}",
    tag = "users",
    params(
        ("credential_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_passkey(h: H, Auth(a): Auth, P(id): P<Snowflake>) -> Result<Response> {
    h.delete_passkey(&a, id).await?;
    Ok(no_content())
}
/// `POST /auth/mfa/webauthn` `{code, ticket}` -> the token pair of `POST /auth/login`.
#[utoipa::path(
    post,
    path = "/auth/mfa/webauthn",
    tag = "auth",
    request_body(content = wire::MfaTicketBody, description = "wire::MfaTicketBody"),
    responses(
        (status = 200, description = "wire::TokenPair", body = wire::TokenPair),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn login_webauthn(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::MfaTicketBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.login_webauthn(b, ip, ua).await?))
}
/// `POST /auth/passkey/start` -> `{ticket, challenge}`.
#[utoipa::path(
    post,
    path = "/auth/passkey/start",
    tag = "auth",
    responses(
        (status = 200, description = "wire::WebauthnChallenge", body = wire::WebauthnChallenge),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn passkey_start(
    h: H,
    ClientIp(ip): ClientIp,
) -> Result<Json<wire::WebauthnChallenge>> {
    Ok(Json(h.passkey_login_start(ip).await?))
}
/// `POST /auth/passkey/finish` `{ticket, credential}` -> the token pair.
#[utoipa::path(
    post,
    path = "/auth/passkey/finish",
    tag = "auth",
    request_body(content = wire::WebauthnCredentialBody, description = "wire::WebauthnCredentialBody"),
    responses(
        (status = 200, description = "wire::TokenPair", body = wire::TokenPair),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn passkey_finish(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::WebauthnCredentialBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.passkey_login_finish(b, ip, ua).await?))
}
