//! Handlers of guild scheduled events (Discord "Resources > Guild Scheduled Event"): list,
//! create, get, modify, delete, the interested users, and the caller's interest
//! (`PUT`/`DELETE .../users/@me`, the routes Discord's client uses). The rules are in
//! `crate::service::scheduled_events` and `crate::service::scheduled_event_users`.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P, Q, Reason};
use crate::service::Hearth;
use crate::service::scheduled_event_users::UsersPage;
use crate::snowflake::Snowflake;
use crate::wire;

pub(super) fn routes() -> Router<Arc<Hearth>> {
    Router::new()
        .route(
            "/guilds/{guild_id}/scheduled-events",
            get(list_scheduled_events).post(create_scheduled_event),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{event_id}",
            get(get_scheduled_event)
                .patch(modify_scheduled_event)
                .delete(delete_scheduled_event),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{event_id}/users",
            get(scheduled_event_users),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{event_id}/users/@me",
            put(add_interest).delete(remove_interest),
        )
}

type EventJson = Json<wire::GuildScheduledEvent>;

/// `?with_user_count=`.
#[derive(Deserialize, Default)]
pub(super) struct CountQuery {
    with_user_count: Option<bool>,
}

/// `?limit=&before=&after=&with_member=` of the users list.
#[derive(Deserialize, Default)]
pub(super) struct UsersQuery {
    limit: Option<i64>,
    before: Option<Snowflake>,
    after: Option<Snowflake>,
    with_member: Option<bool>,
}

/// `GET /guilds/{id}/scheduled-events`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/scheduled-events",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("with_user_count" = Option<bool>, Query, description = "Include each event's user_count"),
    ),
    responses(
        (status = 200, description = "[wire::GuildScheduledEvent]", body = Vec<wire::GuildScheduledEvent>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn list_scheduled_events(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<CountQuery>,
) -> Result<Json<Vec<wire::GuildScheduledEvent>>> {
    Ok(Json(
        h.list_scheduled_events(&a, g, q.with_user_count.unwrap_or(false))
            .await?,
    ))
}

/// `POST /guilds/{id}/scheduled-events` -> the event.
#[utoipa::path(
    post,
    path = "/guilds/{guild_id}/scheduled-events",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::CreateScheduledEventBody, description = "wire::CreateScheduledEventBody"),
    responses(
        (status = 200, description = "wire::GuildScheduledEvent", body = wire::GuildScheduledEvent),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_scheduled_event(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::CreateScheduledEventBody>,
) -> Result<EventJson> {
    Ok(Json(
        h.create_scheduled_event(&a, g, b, r.as_deref()).await?,
    ))
}

/// `GET /guilds/{id}/scheduled-events/{event_id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/scheduled-events/{event_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("event_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("with_user_count" = Option<bool>, Query, description = "Include the event's user_count"),
    ),
    responses(
        (status = 200, description = "wire::GuildScheduledEvent", body = wire::GuildScheduledEvent),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_scheduled_event(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
    Q(q): Q<CountQuery>,
) -> Result<EventJson> {
    Ok(Json(
        h.get_scheduled_event(&a, g, e, q.with_user_count.unwrap_or(false))
            .await?,
    ))
}

/// `PATCH /guilds/{id}/scheduled-events/{event_id}` -> the event.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/scheduled-events/{event_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("event_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyScheduledEventBody, description = "wire::ModifyScheduledEventBody"),
    responses(
        (status = 200, description = "wire::GuildScheduledEvent", body = wire::GuildScheduledEvent),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_scheduled_event(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::ModifyScheduledEventBody>,
) -> Result<EventJson> {
    Ok(Json(
        h.modify_scheduled_event(&a, g, e, b, r.as_deref()).await?,
    ))
}

/// `DELETE /guilds/{id}/scheduled-events/{event_id}` (204).
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/scheduled-events/{event_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("event_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_scheduled_event(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_scheduled_event(&a, g, e, r.as_deref()).await?;
    Ok(no_content())
}

/// `GET /guilds/{id}/scheduled-events/{event_id}/users`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/scheduled-events/{event_id}/users",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("event_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-100 (default 100)"),
        ("before" = Option<String>, Query, description = "Snowflake id: users before this user (wins over after)"),
        ("after" = Option<String>, Query, description = "Snowflake id: users after this user"),
        ("with_member" = Option<bool>, Query, description = "Include each user's member object"),
    ),
    responses(
        (status = 200, description = "[wire::GuildScheduledEventUser]", body = Vec<wire::GuildScheduledEventUser>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn scheduled_event_users(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
    Q(q): Q<UsersQuery>,
) -> Result<Json<Vec<wire::GuildScheduledEventUser>>> {
    let page = UsersPage {
        limit: q.limit,
        before: q.before,
        after: q.after,
        with_member: q.with_member.unwrap_or(false),
    };
    Ok(Json(h.scheduled_event_users(&a, g, e, page).await?))
}

/// `PUT /guilds/{id}/scheduled-events/{event_id}/users/@me` (204): Hearth's route for the
/// caller's interest (Discord's client uses it; not in Discord's public reference).
#[utoipa::path(
    put,
    path = "/guilds/{guild_id}/scheduled-events/{event_id}/users/@me",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("event_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "Interested"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn add_interest(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.add_scheduled_event_interest(&a, g, e).await?;
    Ok(no_content())
}

/// `DELETE /guilds/{id}/scheduled-events/{event_id}/users/@me` (204).
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/scheduled-events/{event_id}/users/@me",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("event_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "Not interested"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn remove_interest(
    h: H,
    Auth(a): Auth,
    P((g, e)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.remove_scheduled_event_interest(&a, g, e).await?;
    Ok(no_content())
}
