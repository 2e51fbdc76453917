//! Route table and handlers. Each handler names its method and path, extracts, calls one
//! service method and returns JSON (or 204). Paths follow Discord's API documentation.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, Auth, Body, ClientIp, P, Q, Reason, UserAgent};
use crate::error::{Error, Result};
use crate::service::Hearth;
use crate::snowflake::Snowflake;
use crate::wire;

type H = State<Arc<Hearth>>;

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Routes mounted under `/api`, `/api/v9` and `/api/v10`.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(crate::registrar::client_routes())
        .merge(crate::mls::client_routes())
        // auth
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/sessions", get(list_sessions))
        .route("/auth/sessions/{session_id}", delete(delete_session))
        // users
        .route("/users/@me", get(get_me).patch(modify_me))
        .route("/users/@me/guilds", get(my_guilds))
        .route("/users/@me/guilds/{guild_id}", delete(leave_guild))
        .route("/users/@me/channels", get(my_dms).post(open_dm))
        .route("/users/@me/relationships", get(relationships))
        .route(
            "/users/@me/relationships/{user_id}",
            put(set_relationship).delete(delete_relationship),
        )
        .route("/users/{user_id}", get(get_user))
        // guilds
        .route("/guilds", post(create_guild))
        .route(
            "/guilds/{guild_id}",
            get(get_guild).patch(modify_guild).delete(delete_guild),
        )
        .route(
            "/guilds/{guild_id}/channels",
            get(guild_channels)
                .post(create_channel)
                .patch(channel_positions),
        )
        .route("/guilds/{guild_id}/members", get(list_members))
        .route("/guilds/{guild_id}/members/search", get(search_members))
        .route("/guilds/{guild_id}/members/@me", patch(modify_me_member))
        .route(
            "/guilds/{guild_id}/members/{user_id}",
            get(get_member).patch(modify_member).delete(kick),
        )
        .route(
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            put(add_member_role).delete(remove_member_role),
        )
        .route(
            "/guilds/{guild_id}/roles",
            get(roles).post(create_role).patch(role_positions),
        )
        .route(
            "/guilds/{guild_id}/roles/{role_id}",
            get(get_role).patch(modify_role).delete(delete_role),
        )
        .route("/guilds/{guild_id}/invites", get(guild_invites))
        .route("/guilds/{guild_id}/bans", get(list_bans))
        .route(
            "/guilds/{guild_id}/bans/{user_id}",
            get(get_ban).put(ban).delete(unban),
        )
        .route("/guilds/{guild_id}/audit-logs", get(audit_log))
        // channels
        .route(
            "/channels/{channel_id}",
            get(get_channel)
                .patch(modify_channel)
                .delete(delete_channel),
        )
        .route(
            "/channels/{channel_id}/permissions/{overwrite_id}",
            put(put_overwrite).delete(delete_overwrite),
        )
        .route(
            "/channels/{channel_id}/invites",
            get(channel_invites).post(create_invite),
        )
        .route("/channels/{channel_id}/typing", post(typing))
        .route(
            "/channels/{channel_id}/messages",
            get(get_messages).post(create_message),
        )
        .route(
            "/channels/{channel_id}/messages/bulk-delete",
            post(bulk_delete),
        )
        .route("/channels/{channel_id}/messages/pins", get(pins_new))
        .route(
            "/channels/{channel_id}/messages/pins/{message_id}",
            put(pin).delete(unpin),
        )
        .route("/channels/{channel_id}/pins", get(pins_old))
        .route(
            "/channels/{channel_id}/pins/{message_id}",
            put(pin).delete(unpin),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}",
            get(get_message).patch(edit_message).delete(delete_message),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions",
            delete(clear_reactions),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
            get(reaction_users).delete(clear_emoji),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
            put(add_reaction).delete(remove_own_reaction),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
            delete(remove_user_reaction),
        )
        // invites
        .route(
            "/invites/{code}",
            get(get_invite).post(accept_invite).delete(delete_invite),
        )
        // applications and bots
        .route(
            "/applications",
            get(my_applications).post(create_application),
        )
        .route(
            "/applications/@me",
            get(current_application).patch(modify_current_application),
        )
        .route("/applications/{app_id}", patch(modify_application))
        .route("/applications/{app_id}/bot/reset", post(reset_bot_token))
        .route("/oauth2/applications/@me", get(current_application))
        .route("/oauth2/authorize", post(authorize))
        // gateway discovery
        .route("/gateway", get(gateway))
        .route("/gateway/bot", get(gateway_bot))
        // instance administration
        .route("/admin/users", get(admin_users))
        .route("/admin/users/{user_id}", patch(admin_modify_user))
        .route("/admin/guilds/{guild_id}", delete(admin_delete_guild))
        .route("/admin/federation/equivocations", get(admin_equivocations))
}

/// Routes outside the API prefix: health, readiness, the gateway WebSocket.
pub fn top_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/gateway", get(crate::gateway::ws_handler))
}

/// `GET /health`: liveness.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /ready`: 200 when the database answers, 503 otherwise.
async fn ready(h: H) -> Result<Json<Value>> {
    if h.db.ping().await {
        Ok(Json(json!({"status": "ready"})))
    } else {
        Err(Error::Unavailable("database unreachable".into()))
    }
}

// ---- auth -------------------------------------------------------------------------------

/// `POST /auth/register` -> 201 `{user_id, token, refresh_token, expires_in}`.
async fn register(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::RegisterBody>,
) -> Result<Response> {
    Ok((StatusCode::CREATED, Json(h.register(b, ip, ua).await?)).into_response())
}
/// `POST /auth/login`.
async fn login(
    h: H,
    ClientIp(ip): ClientIp,
    UserAgent(ua): UserAgent,
    Body(b): Body<wire::LoginBody>,
) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.login(b, ip, ua).await?))
}
/// `POST /auth/refresh`.
async fn refresh(h: H, Body(b): Body<wire::RefreshBody>) -> Result<Json<wire::TokenPair>> {
    Ok(Json(h.refresh(b).await?))
}
/// `POST /auth/logout` -> 204.
async fn logout(h: H, Auth(a): Auth) -> Result<Response> {
    h.logout(&a).await?;
    Ok(no_content())
}
/// `GET /auth/sessions`.
async fn list_sessions(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::AuthSession>>> {
    Ok(Json(h.list_sessions(&a).await?))
}
/// `DELETE /auth/sessions/{id}` -> 204.
async fn delete_session(h: H, Auth(a): Auth, P(id): P<Snowflake>) -> Result<Response> {
    h.delete_session(&a, id).await?;
    Ok(no_content())
}

// ---- users ------------------------------------------------------------------------------

/// `GET /users/@me`.
async fn get_me(h: H, Auth(a): Auth) -> Json<wire::User> {
    Json(h.user_wire(&a.user, true))
}
/// `PATCH /users/@me`.
async fn modify_me(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::ModifyMeBody>,
) -> Result<Json<wire::User>> {
    Ok(Json(h.modify_me(&a, b).await?))
}
/// `GET /users/{id}`.
async fn get_user(h: H, Auth(_a): Auth, P(id): P<Snowflake>) -> Result<Json<wire::User>> {
    Ok(Json(h.user_wire_by_id(id.db()).await?))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    before: Option<Snowflake>,
    after: Option<Snowflake>,
    around: Option<Snowflake>,
    limit: Option<i64>,
    with_counts: Option<bool>,
    query: Option<String>,
    user_id: Option<Snowflake>,
    action_type: Option<i64>,
}

/// `GET /users/@me/guilds`.
async fn my_guilds(
    h: H,
    Auth(a): Auth,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::PartialGuild>>> {
    Ok(Json(h.my_guilds(&a, q.before, q.after, q.limit).await?))
}
/// `DELETE /users/@me/guilds/{id}` -> 204.
async fn leave_guild(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Response> {
    h.leave_guild(&a, g).await?;
    Ok(no_content())
}
/// `GET /users/@me/channels`.
async fn my_dms(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::Channel>>> {
    Ok(Json(h.my_dms(&a).await?))
}
/// `POST /users/@me/channels`.
async fn open_dm(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::CreateDmBody>,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.open_dm(&a, b).await?))
}
/// `GET /users/@me/relationships`.
async fn relationships(h: H, Auth(a): Auth) -> Result<Json<Vec<Value>>> {
    Ok(Json(h.relationships(&a).await?))
}
/// `PUT /users/@me/relationships/{id}` -> 204.
async fn set_relationship(
    h: H,
    Auth(a): Auth,
    P(u): P<Snowflake>,
    Body(b): Body<wire::RelationshipBody>,
) -> Result<Response> {
    h.set_relationship(&a, u, b).await?;
    Ok(no_content())
}
/// `DELETE /users/@me/relationships/{id}` -> 204.
async fn delete_relationship(h: H, Auth(a): Auth, P(u): P<Snowflake>) -> Result<Response> {
    h.delete_relationship(&a, u).await?;
    Ok(no_content())
}

// ---- guilds -----------------------------------------------------------------------------

/// `POST /guilds` -> 201.
async fn create_guild(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::CreateGuildBody>,
) -> Result<Response> {
    Ok((StatusCode::CREATED, Json(h.create_guild(&a, b).await?)).into_response())
}
/// `GET /guilds/{id}`.
async fn get_guild(
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
async fn modify_guild(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyGuildBody>,
) -> Result<Json<wire::Guild>> {
    Ok(Json(h.modify_guild(&a, g, b, r.as_deref()).await?))
}
/// `DELETE /guilds/{id}` -> 204.
async fn delete_guild(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Response> {
    h.delete_guild(&a, g).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/channels`.
async fn guild_channels(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<Vec<wire::Channel>>> {
    Ok(Json(h.guild_channels(&a, g).await?))
}
/// `POST /guilds/{id}/channels` -> 201.
async fn create_channel(
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
async fn channel_positions(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Body(b): Body<Vec<wire::ChannelPosition>>,
) -> Result<Response> {
    h.channel_positions(&a, g, b).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/members`.
async fn list_members(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Member>>> {
    Ok(Json(h.list_members(&a, g, q.limit, q.after).await?))
}
/// `GET /guilds/{id}/members/search`.
async fn search_members(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Member>>> {
    Ok(Json(h.search_members(&a, g, q.query, q.limit).await?))
}
/// `GET /guilds/{id}/members/{user_id}`.
async fn get_member(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Member>> {
    Ok(Json(h.get_member(&a, g, u).await?))
}
/// `PATCH /guilds/{id}/members/{user_id}`.
async fn modify_member(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyMemberBody>,
) -> Result<Json<wire::Member>> {
    Ok(Json(h.modify_member(&a, g, u, b, r.as_deref()).await?))
}
/// `PATCH /guilds/{id}/members/@me` (`nick`).
async fn modify_me_member(
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
async fn kick(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.kick(&a, g, u, r.as_deref()).await?;
    Ok(no_content())
}
/// `PUT /guilds/{id}/members/{user_id}/roles/{role_id}` -> 204.
async fn add_member_role(
    h: H,
    Auth(a): Auth,
    P((g, u, r)): P<(Snowflake, Snowflake, Snowflake)>,
    Reason(re): Reason,
) -> Result<Response> {
    h.member_role(&a, g, u, r, true, re.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE /guilds/{id}/members/{user_id}/roles/{role_id}` -> 204.
async fn remove_member_role(
    h: H,
    Auth(a): Auth,
    P((g, u, r)): P<(Snowflake, Snowflake, Snowflake)>,
    Reason(re): Reason,
) -> Result<Response> {
    h.member_role(&a, g, u, r, false, re.as_deref()).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/roles`.
async fn roles(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Json<Vec<wire::Role>>> {
    Ok(Json(h.roles(&a, g).await?))
}
/// `GET /guilds/{id}/roles/{role_id}`.
async fn get_role(
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
async fn create_role(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::RoleBody>,
) -> Result<Json<wire::Role>> {
    Ok(Json(h.create_role(&a, g, b, r.as_deref()).await?))
}
/// `PATCH /guilds/{id}/roles`.
async fn role_positions(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Body(b): Body<Vec<wire::RolePosition>>,
) -> Result<Json<Vec<wire::Role>>> {
    Ok(Json(h.role_positions(&a, g, b).await?))
}
/// `PATCH /guilds/{id}/roles/{role_id}`.
async fn modify_role(
    h: H,
    Auth(a): Auth,
    P((g, r)): P<(Snowflake, Snowflake)>,
    Reason(re): Reason,
    Body(b): Body<wire::RoleBody>,
) -> Result<Json<wire::Role>> {
    Ok(Json(h.modify_role(&a, g, r, b, re.as_deref()).await?))
}
/// `DELETE /guilds/{id}/roles/{role_id}` -> 204.
async fn delete_role(
    h: H,
    Auth(a): Auth,
    P((g, r)): P<(Snowflake, Snowflake)>,
    Reason(re): Reason,
) -> Result<Response> {
    h.delete_role(&a, g, r, re.as_deref()).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/invites`.
async fn guild_invites(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Json<Vec<wire::Invite>>> {
    Ok(Json(h.guild_invites(&a, g).await?))
}
/// `GET /guilds/{id}/bans`.
async fn list_bans(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Ban>>> {
    Ok(Json(h.list_bans(&a, g, q.limit, q.before, q.after).await?))
}
/// `GET /guilds/{id}/bans/{user_id}`.
async fn get_ban(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Ban>> {
    Ok(Json(h.get_ban(&a, g, u).await?))
}
/// `PUT /guilds/{id}/bans/{user_id}` -> 204.
async fn ban(
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
async fn unban(
    h: H,
    Auth(a): Auth,
    P((g, u)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.unban(&a, g, u, r.as_deref()).await?;
    Ok(no_content())
}
/// `GET /guilds/{id}/audit-logs`.
async fn audit_log(
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

// ---- channels ---------------------------------------------------------------------------

/// `GET /channels/{id}`.
async fn get_channel(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Json<wire::Channel>> {
    Ok(Json(h.get_channel(&a, c).await?))
}
/// `PATCH /channels/{id}`.
async fn modify_channel(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::ChannelBody>,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.modify_channel(&a, c, b, r.as_deref()).await?))
}
/// `DELETE /channels/{id}`.
async fn delete_channel(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.delete_channel(&a, c, r.as_deref()).await?))
}
/// `PUT /channels/{id}/permissions/{overwrite_id}` -> 204.
async fn put_overwrite(
    h: H,
    Auth(a): Auth,
    P((c, t)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::PutOverwriteBody>,
) -> Result<Response> {
    h.put_overwrite(&a, c, t, b, r.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE /channels/{id}/permissions/{overwrite_id}` -> 204.
async fn delete_overwrite(
    h: H,
    Auth(a): Auth,
    P((c, t)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_overwrite(&a, c, t, r.as_deref()).await?;
    Ok(no_content())
}
/// `GET /channels/{id}/invites`.
async fn channel_invites(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
) -> Result<Json<Vec<wire::Invite>>> {
    Ok(Json(h.channel_invites(&a, c).await?))
}
/// `POST /channels/{id}/invites`.
async fn create_invite(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::CreateInviteBody>,
) -> Result<Json<wire::Invite>> {
    Ok(Json(h.create_invite(&a, c, b, r.as_deref()).await?))
}
/// `POST /channels/{id}/typing` -> 204.
async fn typing(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Response> {
    h.typing(&a, c).await?;
    Ok(no_content())
}
/// `GET /channels/{id}/messages`.
async fn get_messages(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<PageQuery>,
) -> Result<Json<Vec<wire::Message>>> {
    Ok(Json(
        h.get_messages(&a, c, q.before, q.after, q.around, q.limit)
            .await?,
    ))
}
/// `POST /channels/{id}/messages`: JSON, or `multipart/form-data` with `payload_json`
/// (attachments are not stored yet; file parts are rejected).
async fn create_message(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    req: axum::extract::Request,
) -> Result<Json<wire::Message>> {
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: wire::CreateMessageBody = if ct.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, &())
            .await
            .map_err(|_| Error::Rule(crate::error::Rule::InvalidJson))?;
        let mut payload = None;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|_| Error::Rule(crate::error::Rule::InvalidJson))?
        {
            if field.name() == Some("payload_json") {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| Error::Rule(crate::error::Rule::InvalidJson))?;
                payload = Some(super::parse_json(&bytes)?);
            } else {
                return Err(crate::error::field_error(
                    "files",
                    "ATTACHMENTS_NOT_SUPPORTED",
                    "File uploads are not supported by this server yet.",
                ));
            }
        }
        payload.unwrap_or_default()
    } else {
        let Body(b) = Body::<wire::CreateMessageBody>::from_request(req, &()).await?;
        b
    };
    Ok(Json(h.create_message(&a, c, body).await?))
}
use axum::extract::FromRequest;
/// `POST /channels/{id}/messages/bulk-delete` -> 204.
async fn bulk_delete(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::BulkDeleteBody>,
) -> Result<Response> {
    h.bulk_delete(&a, c, b, r.as_deref()).await?;
    Ok(no_content())
}

#[derive(Deserialize, Default)]
struct PinQuery {
    before: Option<String>,
    limit: Option<i64>,
}

/// `GET /channels/{id}/messages/pins` (`before` ISO timestamp, `limit` 1-50) ->
/// `{items: [{pinned_at, message}], has_more}`.
async fn pins_new(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<PinQuery>,
) -> Result<Json<Value>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=50).contains(&limit) {
        return Err(crate::error::field_error(
            "limit",
            "NUMBER_TYPE_MAX",
            "int value should be between 1 and 50.",
        ));
    }
    let before = match q.before {
        Some(b) => Some(
            chrono::DateTime::parse_from_rfc3339(&b)
                .map_err(|_| {
                    crate::error::field_error(
                        "before",
                        "DATE_TYPE_PARSE",
                        "Could not parse timestamp.",
                    )
                })?
                .timestamp_millis(),
        ),
        None => None,
    };
    let (items, has_more) = h.pins(&a, c, before, limit).await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(|(at, m)| json!({"pinned_at": wire::iso(at), "message": m}))
        .collect();
    Ok(Json(json!({"items": items, "has_more": has_more})))
}
/// `GET /channels/{id}/pins` (older form): an array of messages.
async fn pins_old(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Json<Vec<wire::Message>>> {
    let (items, _) = h.pins(&a, c, None, 250).await?;
    Ok(Json(items.into_iter().map(|(_, m)| m).collect()))
}
/// `PUT /channels/{id}/messages/pins/{message_id}` and `/channels/{id}/pins/{message_id}` -> 204.
async fn pin(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.set_pin(&a, c, m, true, r.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE` of the same -> 204.
async fn unpin(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.set_pin(&a, c, m, false, r.as_deref()).await?;
    Ok(no_content())
}
/// `GET /channels/{id}/messages/{message_id}`.
async fn get_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Message>> {
    Ok(Json(h.get_message(&a, c, m).await?))
}
/// `PATCH /channels/{id}/messages/{message_id}`.
async fn edit_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Body(b): Body<wire::EditMessageBody>,
) -> Result<Json<wire::Message>> {
    Ok(Json(h.edit_message(&a, c, m, b).await?))
}
/// `DELETE /channels/{id}/messages/{message_id}` -> 204.
async fn delete_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_message(&a, c, m, r.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE .../reactions` -> 204.
async fn clear_reactions(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.clear_reactions(&a, c, m, None).await?;
    Ok(no_content())
}
#[derive(Deserialize, Default)]
struct ReactQuery {
    after: Option<Snowflake>,
    limit: Option<i64>,
}
/// `GET .../reactions/{emoji}`.
async fn reaction_users(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
    Q(q): Q<ReactQuery>,
) -> Result<Json<Vec<wire::User>>> {
    Ok(Json(
        h.reaction_users(&a, c, m, &e, q.after, q.limit).await?,
    ))
}
/// `DELETE .../reactions/{emoji}` -> 204.
async fn clear_emoji(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
) -> Result<Response> {
    h.clear_reactions(&a, c, m, Some(&e)).await?;
    Ok(no_content())
}
/// `PUT .../reactions/{emoji}/@me` -> 204.
async fn add_reaction(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
) -> Result<Response> {
    h.add_reaction(&a, c, m, &e).await?;
    Ok(no_content())
}
/// `DELETE .../reactions/{emoji}/@me` -> 204.
async fn remove_own_reaction(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
) -> Result<Response> {
    h.remove_reaction(&a, c, m, &e, None).await?;
    Ok(no_content())
}
/// `DELETE .../reactions/{emoji}/{user_id}` -> 204.
async fn remove_user_reaction(
    h: H,
    Auth(a): Auth,
    P((c, m, e, u)): P<(Snowflake, Snowflake, String, Snowflake)>,
) -> Result<Response> {
    h.remove_reaction(&a, c, m, &e, Some(u)).await?;
    Ok(no_content())
}

// ---- invites ----------------------------------------------------------------------------

/// `GET /invites/{code}`.
async fn get_invite(
    h: H,
    Auth(_a): Auth,
    P(code): P<String>,
    Q(q): Q<PageQuery>,
) -> Result<Json<wire::Invite>> {
    Ok(Json(
        h.get_invite(&code, q.with_counts.unwrap_or(false)).await?,
    ))
}
/// `POST /invites/{code}`: join.
async fn accept_invite(h: H, Auth(a): Auth, P(code): P<String>) -> Result<Json<wire::Invite>> {
    Ok(Json(h.accept_invite(&a, &code).await?))
}
/// `DELETE /invites/{code}`.
async fn delete_invite(
    h: H,
    Auth(a): Auth,
    P(code): P<String>,
    Reason(r): Reason,
) -> Result<Json<wire::Invite>> {
    Ok(Json(h.delete_invite(&a, &code, r.as_deref()).await?))
}

// ---- applications -----------------------------------------------------------------------

/// `POST /applications` -> 201 with the bot `token`.
async fn create_application(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::CreateApplicationBody>,
) -> Result<Response> {
    Ok((
        StatusCode::CREATED,
        Json(h.create_application(&a, b).await?),
    )
        .into_response())
}
/// `GET /applications`.
async fn my_applications(h: H, Auth(a): Auth) -> Result<Json<Vec<wire::Application>>> {
    Ok(Json(h.my_applications(&a).await?))
}
/// `GET /applications/@me`, `GET /oauth2/applications/@me` (bot token).
async fn current_application(h: H, Auth(a): Auth) -> Result<Json<wire::Application>> {
    Ok(Json(h.current_application(&a).await?))
}
/// `PATCH /applications/@me` (bot token).
async fn modify_current_application(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::ModifyApplicationBody>,
) -> Result<Json<wire::Application>> {
    Ok(Json(h.modify_application(&a, None, b).await?))
}
/// `PATCH /applications/{id}` (owner).
async fn modify_application(
    h: H,
    Auth(a): Auth,
    P(id): P<Snowflake>,
    Body(b): Body<wire::ModifyApplicationBody>,
) -> Result<Json<wire::Application>> {
    Ok(Json(h.modify_application(&a, Some(id), b).await?))
}
/// `POST /applications/{id}/bot/reset` -> `{token}`.
async fn reset_bot_token(h: H, Auth(a): Auth, P(id): P<Snowflake>) -> Result<Json<Value>> {
    Ok(Json(json!({"token": h.reset_bot_token(&a, id).await?})))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Snowflake,
    #[serde(default)]
    scope: Option<String>,
}
/// `POST /oauth2/authorize?client_id=&scope=bot` `{guild_id, permissions, authorize}`.
async fn authorize(
    h: H,
    Auth(a): Auth,
    Q(q): Q<AuthorizeQuery>,
    Body(b): Body<wire::AuthorizeBody>,
) -> Result<Json<Value>> {
    Ok(Json(
        h.authorize_bot(&a, q.client_id, q.scope.as_deref().unwrap_or("bot"), b)
            .await?,
    ))
}

// ---- gateway discovery ------------------------------------------------------------------

/// `GET /gateway` -> `{url}`.
async fn gateway(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Json<Value> {
    Json(json!({"url": s.gateway.public_url(host(&headers))}))
}

fn host(h: &axum::http::HeaderMap) -> Option<&str> {
    h.get("host").and_then(|v| v.to_str().ok())
}
/// `GET /gateway/bot` -> `{url, shards, session_start_limit}` (bot token).
async fn gateway_bot(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Auth(a): Auth,
) -> Json<Value> {
    Json(s.gateway.gateway_bot(&a, host(&headers)))
}

// ---- admin ------------------------------------------------------------------------------

/// `GET /admin/users` (instance admins).
async fn admin_users(h: H, Auth(a): Auth, Q(q): Q<PageQuery>) -> Result<Json<Vec<Value>>> {
    Ok(Json(h.admin_list_users(&a, q.after, q.limit).await?))
}
/// `PATCH /admin/users/{id}` `{suspended?, admin?}` -> 204.
async fn admin_modify_user(
    h: H,
    Auth(a): Auth,
    P(u): P<Snowflake>,
    Body(b): Body<wire::AdminUserBody>,
) -> Result<Response> {
    h.admin_modify_user(&a, u, b).await?;
    Ok(no_content())
}
/// `DELETE /admin/guilds/{id}` -> 204.
async fn admin_delete_guild(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Response> {
    h.admin_delete_guild(&a, g).await?;
    Ok(no_content())
}

/// `GET /admin/federation/equivocations` (instance admins).
async fn admin_equivocations(h: H, Auth(a): Auth) -> Result<Json<Vec<Value>>> {
    Ok(Json(h.admin_equivocations(&a).await?))
}
