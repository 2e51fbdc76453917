//! Handlers of application commands and their guild permissions (Discord "Interactions >
//! Application Commands"); the rules are in `crate::service::commands`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P};
use crate::snowflake::Snowflake;
use crate::wire::{self, ApplicationCommandBody};

type Cmd = Json<wire::ApplicationCommand>;
type Cmds = Json<Vec<wire::ApplicationCommand>>;

/// 201 for a new command, 200 for a replaced one (same name and type).
fn created((c, new): (wire::ApplicationCommand, bool)) -> Response {
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(c)).into_response()
}

/// `GET /applications/{app}/commands`.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/commands",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::ApplicationCommand]", body = Vec<wire::ApplicationCommand>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_global_commands(
    h: H,
    Auth(a): Auth,
    P(app): P<Snowflake>,
) -> Result<Cmds> {
    Ok(Json(h.list_commands(&a, app, None).await?))
}
/// `POST /applications/{app}/commands` -> 201 (new) or 200 (replaced).
#[utoipa::path(
    post,
    path = "/applications/{app_id}/commands",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = ApplicationCommandBody, description = "ApplicationCommandBody"),
    responses(
        (status = 200, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = 201, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_global_command(
    h: H,
    Auth(a): Auth,
    P(app): P<Snowflake>,
    Body(b): Body<ApplicationCommandBody>,
) -> Result<Response> {
    Ok(created(h.create_command(&a, app, None, b).await?))
}
/// `PUT /applications/{app}/commands` (bulk overwrite).
#[utoipa::path(
    put,
    path = "/applications/{app_id}/commands",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = Vec<ApplicationCommandBody>, description = "Vec<ApplicationCommandBody>"),
    responses(
        (status = 200, description = "[wire::ApplicationCommand]", body = Vec<wire::ApplicationCommand>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn overwrite_global_commands(
    h: H,
    Auth(a): Auth,
    P(app): P<Snowflake>,
    Body(b): Body<Vec<ApplicationCommandBody>>,
) -> Result<Cmds> {
    Ok(Json(h.overwrite_commands(&a, app, None, b).await?))
}
/// `GET /applications/{app}/commands/{id}`.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/commands/{command_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_global_command(
    h: H,
    Auth(a): Auth,
    P((app, id)): P<(Snowflake, Snowflake)>,
) -> Result<Cmd> {
    Ok(Json(h.get_command(&a, app, None, id).await?))
}
/// `PATCH /applications/{app}/commands/{id}`.
#[utoipa::path(
    patch,
    path = "/applications/{app_id}/commands/{command_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = ApplicationCommandBody, description = "ApplicationCommandBody"),
    responses(
        (status = 200, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn edit_global_command(
    h: H,
    Auth(a): Auth,
    P((app, id)): P<(Snowflake, Snowflake)>,
    Body(b): Body<ApplicationCommandBody>,
) -> Result<Cmd> {
    Ok(Json(h.edit_command(&a, app, None, id, b).await?))
}
/// `DELETE /applications/{app}/commands/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/applications/{app_id}/commands/{command_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_global_command(
    h: H,
    Auth(a): Auth,
    P((app, id)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.delete_command(&a, app, None, id).await?;
    Ok(no_content())
}

/// `GET /applications/{app}/guilds/{guild}/commands`.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/guilds/{guild_id}/commands",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::ApplicationCommand]", body = Vec<wire::ApplicationCommand>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_guild_commands(
    h: H,
    Auth(a): Auth,
    P((app, g)): P<(Snowflake, Snowflake)>,
) -> Result<Cmds> {
    Ok(Json(h.list_commands(&a, app, Some(g)).await?))
}
/// `POST /applications/{app}/guilds/{guild}/commands` -> 201 (new) or 200 (replaced).
#[utoipa::path(
    post,
    path = "/applications/{app_id}/guilds/{guild_id}/commands",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = ApplicationCommandBody, description = "ApplicationCommandBody"),
    responses(
        (status = 200, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = 201, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_guild_command(
    h: H,
    Auth(a): Auth,
    P((app, g)): P<(Snowflake, Snowflake)>,
    Body(b): Body<ApplicationCommandBody>,
) -> Result<Response> {
    Ok(created(h.create_command(&a, app, Some(g), b).await?))
}
/// `PUT /applications/{app}/guilds/{guild}/commands` (bulk overwrite).
#[utoipa::path(
    put,
    path = "/applications/{app_id}/guilds/{guild_id}/commands",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = Vec<ApplicationCommandBody>, description = "Vec<ApplicationCommandBody>"),
    responses(
        (status = 200, description = "[wire::ApplicationCommand]", body = Vec<wire::ApplicationCommand>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn overwrite_guild_commands(
    h: H,
    Auth(a): Auth,
    P((app, g)): P<(Snowflake, Snowflake)>,
    Body(b): Body<Vec<ApplicationCommandBody>>,
) -> Result<Cmds> {
    Ok(Json(h.overwrite_commands(&a, app, Some(g), b).await?))
}
/// `GET /applications/{app}/guilds/{guild}/commands/{id}`.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_guild_command(
    h: H,
    Auth(a): Auth,
    P((app, g, id)): P<(Snowflake, Snowflake, Snowflake)>,
) -> Result<Cmd> {
    Ok(Json(h.get_command(&a, app, Some(g), id).await?))
}
/// `PATCH /applications/{app}/guilds/{guild}/commands/{id}`.
#[utoipa::path(
    patch,
    path = "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = ApplicationCommandBody, description = "ApplicationCommandBody"),
    responses(
        (status = 200, description = "wire::ApplicationCommand", body = wire::ApplicationCommand),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn edit_guild_command(
    h: H,
    Auth(a): Auth,
    P((app, g, id)): P<(Snowflake, Snowflake, Snowflake)>,
    Body(b): Body<ApplicationCommandBody>,
) -> Result<Cmd> {
    Ok(Json(h.edit_command(&a, app, Some(g), id, b).await?))
}
/// `DELETE /applications/{app}/guilds/{guild}/commands/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_guild_command(
    h: H,
    Auth(a): Auth,
    P((app, g, id)): P<(Snowflake, Snowflake, Snowflake)>,
) -> Result<Response> {
    h.delete_command(&a, app, Some(g), id).await?;
    Ok(no_content())
}

/// `GET /applications/{app}/guilds/{guild}/commands/permissions`.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/guilds/{guild_id}/commands/permissions",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::GuildCommandPermissions]", body = Vec<wire::GuildCommandPermissions>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn guild_command_permissions(
    h: H,
    Auth(a): Auth,
    P((app, g)): P<(Snowflake, Snowflake)>,
) -> Result<Json<Vec<wire::GuildCommandPermissions>>> {
    Ok(Json(h.guild_command_permissions(&a, app, g).await?))
}
/// `GET /applications/{app}/guilds/{guild}/commands/{id}/permissions`.
#[utoipa::path(
    get,
    path = "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}/permissions",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::GuildCommandPermissions", body = wire::GuildCommandPermissions),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn command_permissions(
    h: H,
    Auth(a): Auth,
    P((app, g, id)): P<(Snowflake, Snowflake, Snowflake)>,
) -> Result<Json<wire::GuildCommandPermissions>> {
    Ok(Json(h.command_permissions(&a, app, g, id).await?))
}
/// `PUT /applications/{app}/guilds/{guild}/commands/{id}/permissions` `{permissions}`.
#[utoipa::path(
    put,
    path = "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}/permissions",
    tag = "applications",
    params(
        ("app_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("command_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::EditCommandPermissionsBody, description = "wire::EditCommandPermissionsBody"),
    responses(
        (status = 200, description = "wire::GuildCommandPermissions", body = wire::GuildCommandPermissions),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn edit_command_permissions(
    h: H,
    Auth(a): Auth,
    P((app, g, id)): P<(Snowflake, Snowflake, Snowflake)>,
    Body(b): Body<wire::EditCommandPermissionsBody>,
) -> Result<Json<wire::GuildCommandPermissions>> {
    Ok(Json(h.edit_command_permissions(&a, app, g, id, b).await?))
}

/// `GET /guilds/{guild}/application-command-index`: the commands usable in the guild, for
/// a member's client.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/application-command-index",
    tag = "applications",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::ApplicationCommandIndex", body = wire::ApplicationCommandIndex),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn guild_command_index(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<wire::ApplicationCommandIndex>> {
    Ok(Json(h.command_index(&a, g).await?))
}

/// `GET /channels/{channel}/application-command-index`: the commands the caller may use in
/// the channel (permissions applied), for a member's client.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/application-command-index",
    tag = "applications",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::ApplicationCommandIndex", body = wire::ApplicationCommandIndex),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn channel_command_index(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
) -> Result<Json<wire::ApplicationCommandIndex>> {
    Ok(Json(h.channel_command_index(&a, c).await?))
}
