//! Handlers of polls (Discord "Resources > Poll" and its client's vote route); the rules are
//! in `service/polls.rs`.

use axum::Json;
use axum::response::Response;

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P, Q};
use crate::snowflake::Snowflake;
use crate::wire;

/// `PUT /channels/{channel_id}/polls/{message_id}/answers/@me` `{answer_ids}` -> 204: the
/// caller's votes (Discord's client route; an empty list removes them).
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/polls/{message_id}/answers/@me",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body = wire::PollVoteBody,
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn poll_vote(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Body(b): Body<wire::PollVoteBody>,
) -> Result<Response> {
    h.poll_vote(&a, c, m, b).await?;
    Ok(no_content())
}

/// `GET /channels/{channel_id}/polls/{message_id}/answers/{answer_id}` ("Get Answer
/// Voters") -> `{users}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("answer_id" = String, Path, description = "An answer_id of the poll (1-10)"),
        ("after" = Option<String>, Query, description = "Snowflake id: voters after this user"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-100 (default 25)"),
    ),
    responses(
        (status = 200, description = "wire::PollVoters", body = wire::PollVoters),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn poll_voters(
    h: H,
    Auth(a): Auth,
    P((c, m, answer)): P<(Snowflake, Snowflake, String)>,
    Q(q): Q<super::channels::ReactQuery>,
) -> Result<Json<wire::PollVoters>> {
    Ok(Json(
        h.poll_voters(&a, c, m, &answer, q.after, q.limit).await?,
    ))
}

/// `POST /channels/{channel_id}/polls/{message_id}/expire` ("End Poll") -> the message.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/polls/{message_id}/expire",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Message", body = wire::Message),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn end_poll(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Message>> {
    Ok(Json(h.end_poll(&a, c, m).await?))
}
