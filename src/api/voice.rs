//! Handlers of voice states (Discord "Resources > Voice": Get/Modify Current User Voice
//! State, Get/Modify User Voice State); the rules are in `service/voice.rs`.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P};
use crate::service::Hearth;
use crate::snowflake::Snowflake;
use crate::wire;

/// The voice-state routes.
pub(super) fn routes() -> Router<Arc<Hearth>> {
    Router::new()
        .route(
            "/guilds/{guild_id}/voice-states/@me",
            get(get_my_voice_state).patch(modify_my_voice_state),
        )
        .route(
            "/guilds/{guild_id}/voice-states/{user_id}",
            get(get_user_voice_state).patch(modify_user_voice_state),
        )
}

/// `GET /guilds/{guild_id}/voice-states/@me` -> the caller's voice state with `member`
/// (404 10065 when not in voice).
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/voice-states/@me",
    tag = "guilds",
    params(("guild_id" = String, Path, description = "A snowflake id (decimal string)")),
    responses(
        (status = 200, description = "wire::VoiceState", body = wire::VoiceState),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_my_voice_state(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<wire::VoiceState>> {
    Ok(Json(h.get_voice_state(&a, g, None).await?))
}

/// `GET /guilds/{guild_id}/voice-states/{user_id}` -> that member's voice state (404 10065
/// when not in voice).
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/voice-states/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::VoiceState", body = wire::VoiceState),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_user_voice_state(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::VoiceState>> {
    Ok(Json(h.get_voice_state(&a, g, Some(u)).await?))
}

/// `PATCH /guilds/{guild_id}/voice-states/@me` `{channel_id, suppress,
/// request_to_speak_timestamp}` -> 204: the caller's stage state.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/voice-states/@me",
    tag = "guilds",
    params(("guild_id" = String, Path, description = "A snowflake id (decimal string)")),
    request_body = wire::ModifyVoiceStateBody,
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_my_voice_state(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Body(b): Body<wire::ModifyVoiceStateBody>,
) -> Result<Response> {
    h.modify_voice_state(&a, g, None, b).await?;
    Ok(no_content())
}

/// `PATCH /guilds/{guild_id}/voice-states/{user_id}` `{channel_id, suppress}` -> 204: another
/// member's stage state (MUTE_MEMBERS).
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/voice-states/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body = wire::ModifyVoiceStateBody,
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_user_voice_state(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Body(b): Body<wire::ModifyVoiceStateBody>,
) -> Result<Response> {
    h.modify_voice_state(&a, g, Some(u), b).await?;
    Ok(no_content())
}
