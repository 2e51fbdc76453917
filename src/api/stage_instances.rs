//! Handlers of stage instances (Discord "Resources > Stage Instance": Create, Get, Modify and
//! Delete Stage Instance); the rules are in `crate::service::stage_instances`.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P, Reason};
use crate::service::Hearth;
use crate::snowflake::Snowflake;
use crate::wire;

/// The stage-instance routes.
pub(super) fn routes() -> Router<Arc<Hearth>> {
    Router::new()
        .route("/stage-instances", post(create_stage_instance))
        .route(
            "/stage-instances/{channel_id}",
            get(get_stage_instance)
                .patch(modify_stage_instance)
                .delete(delete_stage_instance),
        )
}

type StageJson = Json<wire::StageInstance>;

/// `POST /stage-instances` `{channel_id, topic, privacy_level, send_start_notification,
/// guild_scheduled_event_id}` -> the stage instance (MANAGE_CHANNELS, MUTE_MEMBERS and
/// MOVE_MEMBERS in the stage channel; 400 150006 when it already has one).
#[utoipa::path(
    post,
    path = "/stage-instances",
    tag = "channels",
    request_body(content = wire::CreateStageInstanceBody, description = "wire::CreateStageInstanceBody"),
    responses(
        (status = 200, description = "wire::StageInstance", body = wire::StageInstance),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_stage_instance(
    h: H,
    Auth(a): Auth,
    Reason(r): Reason,
    Body(b): Body<wire::CreateStageInstanceBody>,
) -> Result<StageJson> {
    Ok(Json(h.create_stage_instance(&a, b, r.as_deref()).await?))
}

/// `GET /stage-instances/{channel_id}` -> the channel's live stage instance (404 10067 when
/// none).
#[utoipa::path(
    get,
    path = "/stage-instances/{channel_id}",
    tag = "channels",
    params(("channel_id" = String, Path, description = "A snowflake id (decimal string)")),
    responses(
        (status = 200, description = "wire::StageInstance", body = wire::StageInstance),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_stage_instance(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
) -> Result<StageJson> {
    Ok(Json(h.get_stage_instance(&a, c).await?))
}

/// `PATCH /stage-instances/{channel_id}` `{topic, privacy_level}` -> the stage instance.
#[utoipa::path(
    patch,
    path = "/stage-instances/{channel_id}",
    tag = "channels",
    params(("channel_id" = String, Path, description = "A snowflake id (decimal string)")),
    request_body(content = wire::ModifyStageInstanceBody, description = "wire::ModifyStageInstanceBody"),
    responses(
        (status = 200, description = "wire::StageInstance", body = wire::StageInstance),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_stage_instance(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyStageInstanceBody>,
) -> Result<StageJson> {
    Ok(Json(h.modify_stage_instance(&a, c, b, r.as_deref()).await?))
}

/// `DELETE /stage-instances/{channel_id}` (204): ends the stage.
#[utoipa::path(
    delete,
    path = "/stage-instances/{channel_id}",
    tag = "channels",
    params(("channel_id" = String, Path, description = "A snowflake id (decimal string)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_stage_instance(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_stage_instance(&a, c, r.as_deref()).await?;
    Ok(no_content())
}
