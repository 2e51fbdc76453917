//! Handlers of custom emoji (Discord "Resources > Emoji"); the rules are in
//! `crate::service::emojis`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, ImageBody, P, Reason};
use crate::snowflake::Snowflake;
use crate::wire;

/// `GET /guilds/{id}/emojis`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/emojis",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::GuildEmoji]", body = Vec<wire::GuildEmoji>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_emojis(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<Vec<wire::GuildEmoji>>> {
    Ok(Json(h.list_emojis(&a, g).await?))
}
/// `GET /guilds/{id}/emojis/{emoji_id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/emojis/{emoji_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::GuildEmoji", body = wire::GuildEmoji),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_emoji(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::GuildEmoji>> {
    Ok(Json(h.get_emoji(&a, g, e).await?))
}
/// `POST /guilds/{id}/emojis` `{name, image, roles}` -> 201 with the emoji.
#[utoipa::path(
    post,
    path = "/guilds/{guild_id}/emojis",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::CreateEmojiBody, description = "wire::CreateEmojiBody"),
    responses(
        (status = 201, description = "wire::GuildEmoji", body = wire::GuildEmoji),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_emoji(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    ImageBody(b): ImageBody<wire::CreateEmojiBody>,
) -> Result<Response> {
    let e = h.create_emoji(&a, g, b, r.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}
/// `PATCH /guilds/{id}/emojis/{emoji_id}` `{name, roles}`.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/emojis/{emoji_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyEmojiBody, description = "wire::ModifyEmojiBody"),
    responses(
        (status = 200, description = "wire::GuildEmoji", body = wire::GuildEmoji),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_emoji(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyEmojiBody>,
) -> Result<Json<wire::GuildEmoji>> {
    Ok(Json(h.modify_emoji(&a, g, e, b, r.as_deref()).await?))
}
/// `DELETE /guilds/{id}/emojis/{emoji_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/emojis/{emoji_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_emoji(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_emoji(&a, g, e, r.as_deref()).await?;
    Ok(no_content())
}
