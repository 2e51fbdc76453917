//! Handlers of threads (Discord "Topics > Threads"; "Resources > Channel": Start Thread
//! from Message, Start Thread without Message, Join/Add/Leave/Remove Thread Member, Get and
//! List Thread Members, List Public/Private/Joined Private Archived Threads; "Resources >
//! Guild": List Active Guild Threads). Rules in `service/threads.rs` and
//! `service/thread_lists.rs`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P, Q, Reason};
use crate::service::thread_lists::ArchivedList;
use crate::snowflake::Snowflake;
use crate::wire;

/// The routes, merged into [`super::routes`].
pub(super) fn routes() -> axum::Router<std::sync::Arc<crate::service::Hearth>> {
    axum::Router::new()
        .route(
            "/channels/{channel_id}/messages/{message_id}/threads",
            post(start_thread_from_message),
        )
        .route(
            "/channels/{channel_id}/threads",
            // A forum post's files: limits `media.*`, enforced while reading (uploads.rs).
            post(start_thread).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/channels/{channel_id}/thread-members/@me",
            put(join_thread).delete(leave_thread),
        )
        .route(
            "/channels/{channel_id}/thread-members/{user_id}",
            put(add_thread_member)
                .delete(remove_thread_member)
                .get(get_thread_member),
        )
        .route(
            "/channels/{channel_id}/thread-members",
            get(list_thread_members),
        )
        .route("/guilds/{guild_id}/threads/active", get(active_threads))
        .route(
            "/channels/{channel_id}/threads/archived/public",
            get(archived_public),
        )
        .route(
            "/channels/{channel_id}/threads/archived/private",
            get(archived_private),
        )
        .route(
            "/channels/{channel_id}/users/@me/threads/archived/private",
            get(archived_joined),
        )
}

/// `before` (ISO 8601 timestamp or snowflake) and `limit` of the archived lists.
#[derive(Deserialize, Default)]
pub(super) struct ArchivedQuery {
    before: Option<String>,
    limit: Option<i64>,
}

/// `after` and `limit` of the thread member list.
#[derive(Deserialize, Default)]
pub(super) struct MembersQuery {
    after: Option<Snowflake>,
    limit: Option<i64>,
}

/// `POST /channels/{id}/messages/{message_id}/threads` -> the thread.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/messages/{message_id}/threads",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::StartThreadBody, description = "wire::StartThreadBody"),
    responses(
        (status = 201, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn start_thread_from_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::StartThreadBody>,
) -> Result<(axum::http::StatusCode, Json<wire::Channel>)> {
    let t = h
        .start_thread_from_message(&a, c, m, b, r.as_deref())
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(t)))
}

/// `POST /channels/{id}/threads` -> the thread.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/threads",
    tag = "threads",
    params(("channel_id" = String, Path, description = "A snowflake id (decimal string)")),
    request_body(content = wire::StartThreadBody, description = "wire::StartThreadBody"),
    responses(
        (status = 201, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
///
/// JSON, or multipart (`payload_json` and `files[n]`) for a post of a forum or media channel
/// with files (Discord "Start Thread in Forum or Media Channel").
pub(super) async fn start_thread(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    req: axum::extract::Request,
) -> Result<Response> {
    let (b, files) = match super::uploads::read_message::<wire::StartThreadBody, _>(
        &h,
        async || h.file_target(&a, c, None).await,
        req,
    )
    .await
    {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let t = h.start_thread_with(&a, c, b, files, r.as_deref()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(t)).into_response())
}

/// `PUT /channels/{id}/thread-members/@me` -> 204.
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/thread-members/@me",
    tag = "threads",
    params(("channel_id" = String, Path, description = "A snowflake id (decimal string)")),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn join_thread(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Response> {
    h.add_thread_member(&a, c, None).await?;
    Ok(no_content())
}

/// `DELETE /channels/{id}/thread-members/@me` -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/thread-members/@me",
    tag = "threads",
    params(("channel_id" = String, Path, description = "A snowflake id (decimal string)")),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn leave_thread(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Response> {
    h.remove_thread_member(&a, c, None).await?;
    Ok(no_content())
}

/// `PUT /channels/{id}/thread-members/{user_id}` -> 204.
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/thread-members/{user_id}",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn add_thread_member(
    h: H,
    Auth(a): Auth,
    P((c, u)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.add_thread_member(&a, c, Some(u)).await?;
    Ok(no_content())
}

/// `DELETE /channels/{id}/thread-members/{user_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/thread-members/{user_id}",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn remove_thread_member(
    h: H,
    Auth(a): Auth,
    P((c, u)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.remove_thread_member(&a, c, Some(u)).await?;
    Ok(no_content())
}

/// `GET /channels/{id}/thread-members/{user_id}` -> the thread member.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/thread-members/{user_id}",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::ThreadMember", body = wire::ThreadMember),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_thread_member(
    h: H,
    Auth(a): Auth,
    P((c, u)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::ThreadMember>> {
    Ok(Json(h.get_thread_member(&a, c, u).await?))
}

/// `GET /channels/{id}/thread-members?after=&limit=` -> thread members by user id.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/thread-members",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("after" = Option<String>, Query, description = "Snowflake id: members after this user"),
        ("limit" = Option<i64>, Query, description = "1 to 100 (default 100)"),
    ),
    responses(
        (status = 200, description = "[wire::ThreadMember]", body = Vec<wire::ThreadMember>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_thread_members(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<MembersQuery>,
) -> Result<Json<Vec<wire::ThreadMember>>> {
    Ok(Json(h.list_thread_members(&a, c, q.after, q.limit).await?))
}

/// `GET /guilds/{id}/threads/active` -> `{threads, members}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/threads/active",
    tag = "threads",
    params(("guild_id" = String, Path, description = "A snowflake id (decimal string)")),
    responses(
        (status = 200, description = "wire::ThreadList", body = wire::ThreadList),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn active_threads(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<wire::ThreadList>> {
    Ok(Json(h.active_guild_threads(&a, g).await?))
}

async fn archived(
    h: H,
    a: &crate::service::Actor,
    c: Snowflake,
    list: ArchivedList,
    q: ArchivedQuery,
) -> Result<Json<wire::ThreadList>> {
    Ok(Json(
        h.archived_threads(a, c, list, q.before.as_deref(), q.limit)
            .await?,
    ))
}

/// `GET /channels/{id}/threads/archived/public` -> `{threads, members, has_more}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/threads/archived/public",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("before" = Option<String>, Query, description = "ISO 8601 timestamp: threads archived before it"),
        ("limit" = Option<i64>, Query, description = "1 to 100 (default 50)"),
    ),
    responses(
        (status = 200, description = "wire::ThreadList", body = wire::ThreadList),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn archived_public(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<ArchivedQuery>,
) -> Result<Json<wire::ThreadList>> {
    archived(h, &a, c, ArchivedList::Public, q).await
}

/// `GET /channels/{id}/threads/archived/private` -> `{threads, members, has_more}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/threads/archived/private",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("before" = Option<String>, Query, description = "ISO 8601 timestamp: threads archived before it"),
        ("limit" = Option<i64>, Query, description = "1 to 100 (default 50)"),
    ),
    responses(
        (status = 200, description = "wire::ThreadList", body = wire::ThreadList),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn archived_private(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<ArchivedQuery>,
) -> Result<Json<wire::ThreadList>> {
    archived(h, &a, c, ArchivedList::Private, q).await
}

/// `GET /channels/{id}/users/@me/threads/archived/private` -> `{threads, members, has_more}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/users/@me/threads/archived/private",
    tag = "threads",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("before" = Option<String>, Query, description = "Snowflake id or ISO 8601 timestamp"),
        ("limit" = Option<i64>, Query, description = "1 to 100 (default 50)"),
    ),
    responses(
        (status = 200, description = "wire::ThreadList", body = wire::ThreadList),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn archived_joined(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<ArchivedQuery>,
) -> Result<Json<wire::ThreadList>> {
    archived(h, &a, c, ArchivedList::JoinedPrivate, q).await
}
