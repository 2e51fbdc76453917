//! Endpoints of Discord features Hearth does not have yet (soundboard, stickers, voice,
//! application emoji), which bot libraries call while starting: each answers the empty
//! collection Discord returns when there is nothing, with the same authentication and
//! membership rules, so that `on_ready` is reached (py-cord waits on
//! `GET /soundboard-default-sounds`). docs/discord-compatibility.md lists them.

use axum::Json;
use axum::routing::get;
use serde_json::{Value, json};

use super::H;
use crate::error::Result;
use crate::http::openapi::{ApiError, JsonValue};
use crate::http::{Auth, P};
use crate::snowflake::Snowflake;

/// The routes, merged into [`super::routes`].
pub(super) fn routes() -> axum::Router<std::sync::Arc<crate::service::Hearth>> {
    axum::Router::new()
        .route("/soundboard-default-sounds", get(empty_list))
        .route("/sticker-packs", get(sticker_packs))
        .route("/voice/regions", get(empty_list))
        .route("/guilds/{guild_id}/soundboard-sounds", get(guild_items))
        .route("/guilds/{guild_id}/stickers", get(guild_list))
        .route("/guilds/{guild_id}/regions", get(guild_list))
        .route("/applications/{app_id}/emojis", get(application_emojis))
}

/// `GET /soundboard-default-sounds`, `GET /voice/regions` -> `[]` (any token).
#[utoipa::path(
    get,
    path = "/soundboard-default-sounds",
    tag = "other",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn empty_list(Auth(_): Auth) -> Json<Value> {
    Json(json!([]))
}

/// `GET /sticker-packs` -> `{"sticker_packs": []}` (any token).
#[utoipa::path(
    get,
    path = "/sticker-packs",
    tag = "other",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn sticker_packs(Auth(_): Auth) -> Json<Value> {
    Json(json!({"sticker_packs": []}))
}

/// `GET /guilds/{id}/stickers`, `GET /guilds/{id}/regions` -> `[]` for a member; 403 50001
/// for anyone else (as every guild read).
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/stickers",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn guild_list(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Json<Value>> {
    h.guild_access(g, a.user.id).await?;
    Ok(Json(json!([])))
}

/// `GET /guilds/{id}/soundboard-sounds` -> `{"items": []}` for a member; 403 50001 otherwise.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/soundboard-sounds",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn guild_items(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Json<Value>> {
    h.guild_access(g, a.user.id).await?;
    Ok(Json(json!({"items": []})))
}

/// `GET /applications/{id}/emojis` -> `{"items": []}` for the application's bot or owner;
/// 404 10002 for anyone else.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/emojis",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
async fn application_emojis(h: H, Auth(a): Auth, P(app): P<Snowflake>) -> Result<Json<Value>> {
    Ok(Json(h.application_emojis(&a, app).await?))
}
