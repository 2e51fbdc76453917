//! Handlers of passkeys (service::passkeys): Discord's `/users/@me/mfa/webauthn/credentials`
//! and `POST /auth/mfa/webauthn`, Hearth's `POST /auth/passkey/start|finish`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{H, no_content};
use crate::error::Result;
use crate::http::{Auth, Body, ClientIp, P, UserAgent};
use crate::snowflake::Snowflake;
use crate::wire;

/// `GET /users/@me/mfa/webauthn/credentials` -> `[credential]`.
pub(super) async fn list_passkeys(
    h: H,
    Auth(a): Auth,
) -> Result<Json<Vec<wire::WebauthnCredential>>> {
    Ok(Json(h.list_passkeys(&a).await?))
}
/// `POST /users/@me/mfa/webauthn/credentials`: `{}` -> 200 `{ticket, challenge}`;
/// `{name, ticket, credential}` -> 201 the credential.
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
pub(super) async fn rename_passkey(
    h: H,
    Auth(a): Auth,
    P(id): P<Snowflake>,
    Body(b): Body<wire::WebauthnRenameBody>,
) -> Result<Json<wire::WebauthnCredential>> {
    Ok(Json(h.rename_passkey(&a, id, b).await?))
}
/// `DELETE /users/@me/mfa/webauthn/credentials/{id}` -> 204.
pub(super) async fn delete_passkey(h: H, Auth(a): Auth, P(id): P<Snowflake>) -> Result<Response> {
    h.delete_passkey(&a, id).await?;
    Ok(no_content())
}
/// `POST /auth/mfa/webauthn` `{code, ticket}` -> the token pair of `POST /auth/login`.
pub(super) async fn login_webauthn(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::MfaTicketBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.login_webauthn(b, ip, ua).await?))
}
/// `POST /auth/passkey/start` -> `{ticket, challenge}`.
pub(super) async fn passkey_start(
    h: H,
    ClientIp(ip): ClientIp,
) -> Result<Json<wire::WebauthnChallenge>> {
    Ok(Json(h.passkey_login_start(ip).await?))
}
/// `POST /auth/passkey/finish` `{ticket, credential}` -> the token pair.
pub(super) async fn passkey_finish(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::WebauthnCredentialBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.passkey_login_finish(b, ip, ua).await?))
}
