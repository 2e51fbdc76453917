//! Handlers of account security (issue 17): re-authentication (`POST /mfa/finish`).

use axum::Json;

use super::H;
use crate::error::Result;
use crate::http::{Auth, Body, ClientIp};
use crate::wire;

/// `POST /mfa/finish` `{mfa_type, data}` -> `{token}` (service::reauth).
pub(super) async fn mfa_finish(
    h: H,
    Auth(a): Auth,
    ClientIp(ip): ClientIp,
    Body(b): Body<wire::MfaFinishBody>,
) -> Result<Json<wire::MfaToken>> {
    Ok(Json(h.mfa_finish(&a, b, ip).await?))
}
