//! Handlers of message search (Discord "Resources > Message > Search Guild Messages"); the
//! rules are in `service/search.rs`.

use axum::Json;

use super::H;
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, P, Q};
use crate::service::search::SearchScope;
use crate::snowflake::Snowflake;
use crate::wire;

/// `GET /guilds/{guild_id}/messages/search`: the guild's messages the caller may read.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/messages/search",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("content" = Option<String>, Query, description = "Words the content holds (at most 1024 characters): every word, \"a phrase\" in quotes, word* as a prefix"),
        ("author_id" = Option<Vec<String>>, Query, description = "Repeatable: messages by any of these users or webhooks"),
        ("author_type" = Option<Vec<String>>, Query, description = "Repeatable: user, bot, webhook; -user, -bot, -webhook exclude"),
        ("mentions" = Option<Vec<String>>, Query, description = "Repeatable: messages mentioning any of these users"),
        ("has" = Option<Vec<String>>, Query, description = "Repeatable, all required: link, embed, file, image, video, sound, sticker, poll, snapshot; prefixed with - to exclude"),
        ("min_id" = Option<String>, Query, description = "Snowflake id: only messages after it"),
        ("max_id" = Option<String>, Query, description = "Snowflake id: only messages before it"),
        ("channel_id" = Option<Vec<String>>, Query, description = "Repeatable: only these channels"),
        ("pinned" = Option<bool>, Query, description = "Only pinned (true) or unpinned (false) messages"),
        ("sort_by" = Option<String>, Query, description = "timestamp (default) or relevance"),
        ("sort_order" = Option<String>, Query, description = "desc (default) or asc"),
        ("offset" = Option<i64>, Query, description = "Results to skip, 0-9975"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-25 (default 25)"),
    ),
    responses(
        (status = 200, description = "wire::MessageSearchResult", body = wire::MessageSearchResult),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn search_guild_messages(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Q(q): Q<Vec<(String, String)>>,
) -> Result<Json<wire::MessageSearchResult>> {
    Ok(Json(
        h.search_messages(&a, SearchScope::Guild(g), &q).await?,
    ))
}

/// `GET /channels/{channel_id}/messages/search`: one channel's messages (a DM's too).
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/messages/search",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("content" = Option<String>, Query, description = "Words the content holds (at most 1024 characters): every word, \"a phrase\" in quotes, word* as a prefix"),
        ("author_id" = Option<Vec<String>>, Query, description = "Repeatable: messages by any of these users or webhooks"),
        ("author_type" = Option<Vec<String>>, Query, description = "Repeatable: user, bot, webhook; -user, -bot, -webhook exclude"),
        ("mentions" = Option<Vec<String>>, Query, description = "Repeatable: messages mentioning any of these users"),
        ("has" = Option<Vec<String>>, Query, description = "Repeatable, all required: link, embed, file, image, video, sound, sticker, poll, snapshot; prefixed with - to exclude"),
        ("min_id" = Option<String>, Query, description = "Snowflake id: only messages after it"),
        ("max_id" = Option<String>, Query, description = "Snowflake id: only messages before it"),
        ("pinned" = Option<bool>, Query, description = "Only pinned (true) or unpinned (false) messages"),
        ("sort_by" = Option<String>, Query, description = "timestamp (default) or relevance"),
        ("sort_order" = Option<String>, Query, description = "desc (default) or asc"),
        ("offset" = Option<i64>, Query, description = "Results to skip, 0-9975"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-25 (default 25)"),
    ),
    responses(
        (status = 200, description = "wire::MessageSearchResult", body = wire::MessageSearchResult),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn search_channel_messages(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Q(q): Q<Vec<(String, String)>>,
) -> Result<Json<wire::MessageSearchResult>> {
    Ok(Json(
        h.search_messages(&a, SearchScope::Channel(c), &q).await?,
    ))
}
