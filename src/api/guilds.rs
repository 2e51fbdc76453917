//! Handlers of guilds, members, roles, bans and the audit log (Discord "Resources > Guild", "Resources > Audit Log").

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{H, PageQuery, no_content};
use crate::error::{Error, Result};
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, ImageBody, P, Q, Reason};
use crate::snowflake::Snowflake;
use crate::wire;

// ---- guilds -----------------------------------------------------------------------------

/// `POST /guilds` -> 201.
#[utoipa::path(
    post,
    path = "/guilds",
    tag = "guilds",
    request_body(content = wire::CreateGuildBody, description = "wire::CreateGuildBody"),
    responses(
        (status = 201, description = "wire::Guild", body = wire::Guild),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_guild(
    h: H,
    Auth(a): Auth,
    ImageBody(b): ImageBody<wire::CreateGuildBody>,
) -> Result<Response> {
    Ok((StatusCode::CREATED, Json(h.create_guild(&a, b).await?)).into_response())
}
/// `GET /guilds/{id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("with_counts" = Option<bool>, Query, description = "Include approximate member and presence counts"),
    ),
    responses(
        (status = 200, description = "wire::Guild", body = wire::Guild),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_guild(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<wire::Guild>> {
    Ok(Json(
        h.get_guild(&a, g, q.with_counts.unwrap_or(false)).await?,
    ))
}
/// `PATCH /guilds/{id}`.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyGuildBody, description = "wire::ModifyGuildBody"),
    responses(
        (status = 200, description = "wire::Guild", body = wire::Guild),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_guild(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    ImageBody(b): ImageBody<wire::ModifyGuildBody>,
) -> Result<Json<wire::Guild>> {
    Ok(Json(h.modify_guild(&a, g, b, r.as_deref()).await?))
}
/// `POST /guilds/{id}/mfa` `{level}` -> `{level}` (Discord "Modify Guild MFA Level").
#[utoipa::path(
    post,
    path = "/guilds/{guild_id}/mfa",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::GuildMfaLevel, description = "wire::GuildMfaLevel"),
    responses(
        (status = 200, description = "wire::GuildMfaLevel", body = wire::GuildMfaLevel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn guild_mfa(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::GuildMfaLevel>,
) -> Result<Json<wire::GuildMfaLevel>> {
    Ok(Json(h.set_guild_mfa_level(&a, g, b, r.as_deref()).await?))
}
/// `DELETE /guilds/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_guild(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Response> {
    h.delete_guild(&a, g).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/channels`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/channels",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Channel]", body = Vec<wire::Channel>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn guild_channels(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<Vec<wire::Channel>>> {
    Ok(Json(h.guild_channels(&a, g).await?))
}
/// `POST /guilds/{id}/channels` -> 201.
#[utoipa::path(
    post,
    path = "/guilds/{guild_id}/channels",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ChannelBody, description = "wire::ChannelBody"),
    responses(
        (status = 201, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_channel(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::ChannelBody>,
) -> Result<Response> {
    Ok((
        StatusCode::CREATED,
        Json(h.create_channel(&a, g, b, r.as_deref()).await?),
    )
        .into_response())
}
/// `PATCH /guilds/{id}/channels` -> 204.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/channels",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = Vec<wire::ChannelPosition>, description = "Vec<wire::ChannelPosition>"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn channel_positions(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Body(b): Body<Vec<wire::ChannelPosition>>,
) -> Result<Response> {
    h.channel_positions(&a, g, b).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/members`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/members",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[wire::Member]", body = Vec<wire::Member>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_members(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Member>>> {
    Ok(Json(h.list_members(&a, g, q.limit, q.after).await?))
}
/// `GET /guilds/{id}/members/search`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/members/search",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
        ("query" = Option<String>, Query, description = "Username or nickname prefix"),
    ),
    responses(
        (status = 200, description = "[wire::Member]", body = Vec<wire::Member>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn search_members(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Member>>> {
    Ok(Json(h.search_members(&a, g, q.query, q.limit).await?))
}
/// `GET /guilds/{id}/members/{user_id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/members/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Member", body = wire::Member),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_member(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Member>> {
    Ok(Json(h.get_member(&a, g, u).await?))
}
/// `PATCH /guilds/{id}/members/{user_id}`.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/members/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyMemberBody, description = "wire::ModifyMemberBody"),
    responses(
        (status = 200, description = "wire::Member", body = wire::Member),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_member(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyMemberBody>,
) -> Result<Json<wire::Member>> {
    Ok(Json(h.modify_member(&a, g, u, b, r.as_deref()).await?))
}
/// `PATCH /guilds/{id}/members/@me` (`nick`).
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/members/@me",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyMemberBody, description = "wire::ModifyMemberBody"),
    responses(
        (status = 200, description = "wire::Member", body = wire::Member),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_me_member(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyMemberBody>,
) -> Result<Json<wire::Member>> {
    let me = a.id();
    let body = wire::ModifyMemberBody {
        nick: b.nick,
        ..Default::default()
    };
    Ok(Json(h.modify_member(&a, g, me, body, r.as_deref()).await?))
}
/// `DELETE /guilds/{id}/members/{user_id}` (kick) -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/members/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn kick(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.kick(&a, g, u, r.as_deref()).await?;
    Ok(no_content())
}
/// `PUT /guilds/{id}/members/{user_id}/roles/{role_id}` -> 204.
#[utoipa::path(
    put,
    path = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("role_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn add_member_role(
    h: H,
    Auth(a): Auth,
    P((g, u, r)): P<(Snowflake, Snowflake, Snowflake)>,
    Reason(re): Reason,
) -> Result<Response> {
    h.member_role(&a, g, u, r, true, re.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE /guilds/{id}/members/{user_id}/roles/{role_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("role_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn remove_member_role(
    h: H,
    Auth(a): Auth,
    P((g, u, r)): P<(Snowflake, Snowflake, Snowflake)>,
    Reason(re): Reason,
) -> Result<Response> {
    h.member_role(&a, g, u, r, false, re.as_deref()).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/roles`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/roles",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Role]", body = Vec<wire::Role>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn roles(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<Vec<wire::Role>>> {
    Ok(Json(h.roles(&a, g).await?))
}
/// `GET /guilds/{id}/roles/{role_id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/roles/{role_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("role_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Role", body = wire::Role),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_role(
    h: H,
    Auth(a): Auth,
    P((g, r)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Role>> {
    h.roles(&a, g)
        .await?
        .into_iter()
        .find(|x| x.id == r)
        .map(Json)
        .ok_or(Error::Unknown(crate::error::Unknown::Role))
}
/// `POST /guilds/{id}/roles`.
#[utoipa::path(
    post,
    path = "/guilds/{guild_id}/roles",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::RoleBody, description = "wire::RoleBody"),
    responses(
        (status = 200, description = "wire::Role", body = wire::Role),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_role(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::RoleBody>,
) -> Result<Json<wire::Role>> {
    Ok(Json(h.create_role(&a, g, b, r.as_deref()).await?))
}
/// `PATCH /guilds/{id}/roles`.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/roles",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = Vec<wire::RolePosition>, description = "Vec<wire::RolePosition>"),
    responses(
        (status = 200, description = "[wire::Role]", body = Vec<wire::Role>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn role_positions(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Body(b): Body<Vec<wire::RolePosition>>,
) -> Result<Json<Vec<wire::Role>>> {
    Ok(Json(h.role_positions(&a, g, b).await?))
}
/// `PATCH /guilds/{id}/roles/{role_id}`.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/roles/{role_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("role_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::RoleBody, description = "wire::RoleBody"),
    responses(
        (status = 200, description = "wire::Role", body = wire::Role),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_role(
    h: H,
    Auth(a): Auth,
    P((g, r)): P<(Snowflake, Snowflake)>,
    Reason(re): Reason,
    Body(b): Body<wire::RoleBody>,
) -> Result<Json<wire::Role>> {
    Ok(Json(h.modify_role(&a, g, r, b, re.as_deref()).await?))
}
/// `DELETE /guilds/{id}/roles/{role_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/roles/{role_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("role_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_role(
    h: H,
    Auth(a): Auth,
    P((g, r)): P<(Snowflake, Snowflake)>,
    Reason(re): Reason,
) -> Result<Response> {
    h.delete_role(&a, g, r, re.as_deref()).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/invites`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/invites",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Invite]", body = Vec<wire::Invite>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn guild_invites(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<Vec<wire::Invite>>> {
    Ok(Json(h.guild_invites(&a, g).await?))
}
/// `GET /guilds/{id}/bans`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/bans",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("before" = Option<String>, Query, description = "Snowflake id: items before this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[wire::Ban]", body = Vec<wire::Ban>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_bans(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Ban>>> {
    Ok(Json(h.list_bans(&a, g, q.limit, q.before, q.after).await?))
}
/// `GET /guilds/{id}/bans/{user_id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/bans/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Ban", body = wire::Ban),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_ban(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Ban>> {
    Ok(Json(h.get_ban(&a, g, u).await?))
}
/// `PUT /guilds/{id}/bans/{user_id}` -> 204.
#[utoipa::path(
    put,
    path = "/guilds/{guild_id}/bans/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::BanBody, description = "wire::BanBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn ban(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::BanBody>,
) -> Result<Response> {
    h.ban(&a, g, u, b, r.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE /guilds/{id}/bans/{user_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/bans/{user_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn unban(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.unban(&a, g, u, r.as_deref()).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/audit-logs`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/audit-logs",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("action_type" = Option<i64>, Query, description = "Audit log action type"),
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("before" = Option<String>, Query, description = "Snowflake id: items before this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
        ("user_id" = Option<String>, Query, description = "Snowflake id: entries of this user"),
    ),
    responses(
        (status = 200, description = "wire::AuditLog", body = wire::AuditLog),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn audit_log(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<wire::AuditLog>> {
    Ok(Json(
        h.audit_log(&a, g, q.user_id, q.action_type, q.before, q.after, q.limit)
            .await?,
    ))
}
