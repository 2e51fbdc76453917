//! Handlers of incoming webhooks (Discord "Resources > Webhook"): management by members
//! with MANAGE_WEBHOOKS, the token routes (no authentication), execution (JSON or a form
//! with files, read by `super::uploads`; Slack and GitHub forms) and the webhook's own
//! messages. The rules are in
//! `crate::service::webhooks` and `crate::service::webhook_exec`.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{H, no_content};
use crate::error::Result;
use axum::extract::Request;

use crate::http::openapi::{ApiError, JsonObject, MessageMultipart};
use crate::http::{Auth, Body, ImageBody, P, Q, Reason};
use crate::snowflake::Snowflake;
use crate::wire::{self, ExecuteQuery};

type Hook = Json<wire::Webhook>;
type Hooks = Json<Vec<wire::Webhook>>;

/// The message (200) with `?wait=true`, else 204.
fn executed(m: Option<wire::Message>) -> Response {
    match m {
        Some(m) => Json(m).into_response(),
        None => no_content(),
    }
}

/// `POST /channels/{id}/webhooks` -> the webhook with its token.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/webhooks",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::CreateWebhookBody, description = "wire::CreateWebhookBody"),
    responses(
        (status = 200, description = "wire::Webhook", body = wire::Webhook),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_webhook(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    ImageBody(b): ImageBody<wire::CreateWebhookBody>,
) -> Result<Hook> {
    Ok(Json(h.create_webhook(&a, c, b, r.as_deref()).await?))
}
/// `GET /channels/{id}/webhooks`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/webhooks",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Webhook]", body = Vec<wire::Webhook>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn channel_webhooks(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Hooks> {
    Ok(Json(h.channel_webhooks(&a, c).await?))
}
/// `GET /guilds/{id}/webhooks`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/webhooks",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Webhook]", body = Vec<wire::Webhook>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn guild_webhooks(h: H, Auth(a): Auth, P(g): P<Snowflake>) -> Result<Hooks> {
    Ok(Json(h.guild_webhooks(&a, g).await?))
}
/// `GET /webhooks/{id}`.
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Webhook", body = wire::Webhook),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_webhook(h: H, Auth(a): Auth, P(w): P<Snowflake>) -> Result<Hook> {
    Ok(Json(h.get_webhook(&a, w).await?))
}
/// `PATCH /webhooks/{id}`.
#[utoipa::path(
    patch,
    path = "/webhooks/{webhook_id}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ModifyWebhookBody, description = "wire::ModifyWebhookBody"),
    responses(
        (status = 200, description = "wire::Webhook", body = wire::Webhook),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_webhook(
    h: H,
    Auth(a): Auth,
    P(w): P<Snowflake>,
    Reason(r): Reason,
    ImageBody(b): ImageBody<wire::ModifyWebhookBody>,
) -> Result<Hook> {
    Ok(Json(h.modify_webhook(&a, w, b, r.as_deref()).await?))
}
/// `DELETE /webhooks/{id}` -> 204.
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook_id}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_webhook(
    h: H,
    Auth(a): Auth,
    P(w): P<Snowflake>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_webhook(&a, w, r.as_deref()).await?;
    Ok(no_content())
}

/// `GET /webhooks/{id}/{token}` (no authentication).
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}/{webhook_token}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
    ),
    responses(
        (status = 200, description = "wire::Webhook", body = wire::Webhook),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_webhook_with_token(
    h: H,
    P((w, t)): P<(Snowflake, String)>,
) -> Result<Hook> {
    Ok(Json(h.get_webhook_with_token(w, &t).await?))
}
/// `PATCH /webhooks/{id}/{token}` (no authentication).
#[utoipa::path(
    patch,
    path = "/webhooks/{webhook_id}/{webhook_token}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
    ),
    request_body(content = wire::ModifyWebhookBody, description = "wire::ModifyWebhookBody"),
    responses(
        (status = 200, description = "wire::Webhook", body = wire::Webhook),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_webhook_with_token(
    h: H,
    P((w, t)): P<(Snowflake, String)>,
    ImageBody(b): ImageBody<wire::ModifyWebhookBody>,
) -> Result<Hook> {
    Ok(Json(h.modify_webhook_with_token(w, &t, b).await?))
}
/// `DELETE /webhooks/{id}/{token}` -> 204 (no authentication).
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook_id}/{webhook_token}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_webhook_with_token(
    h: H,
    P((w, t)): P<(Snowflake, String)>,
) -> Result<Response> {
    h.delete_webhook_with_token(w, &t).await?;
    Ok(no_content())
}
/// `POST /webhooks/{id}/{token}` (JSON; `?wait=true` -> the message, else 204).
#[utoipa::path(
    post,
    path = "/webhooks/{webhook_id}/{webhook_token}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
        ("wait" = Option<String>, Query, description = "`true` or `1`: answer the created message instead of 204"),
        ("with_components" = Option<String>, Query, description = "`true` or `1`: take `components` (link buttons only for a webhook; an interaction's follow-ups always take them)"),
        ("thread_id" = Option<String>, Query, description = "Snowflake id: a thread of the webhook's channel to post in"),
    ),
    request_body(content(
        (wire::ExecuteWebhookBody = "application/json"),
        (MessageMultipart = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "wire::Message (with ?wait=true)", body = wire::Message),
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn execute_webhook(
    h: H,
    P((w, t)): P<(Snowflake, String)>,
    Q(q): Q<ExecuteQuery>,
    req: Request,
) -> Result<Response> {
    let target = async || h.token_file_target(w, &t, q.thread_id, None).await;
    let (b, files) = match super::uploads::read_message(&h, target, req).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let wait = q.wait();
    Ok(executed(
        h.execute_webhook(w, &t, b, wait, q.with_components(), q.thread_id, files)
            .await?,
    ))
}
/// `POST /webhooks/{id}/{token}/slack` (`?wait=true` -> the message, else 200 `ok`).
#[utoipa::path(
    post,
    path = "/webhooks/{webhook_id}/{webhook_token}/slack",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
        ("wait" = Option<String>, Query, description = "`true` or `1`: answer the created message instead of 204"),
    ),
    request_body(content = JsonObject, description = "Value"),
    responses(
        (status = 200, description = "wire::Message with ?wait=true, else the text `ok`", content((wire::Message = "application/json"), (String = "text/plain"))),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn execute_slack_webhook(
    h: H,
    P((w, t)): P<(Snowflake, String)>,
    Q(q): Q<ExecuteQuery>,
    Body(b): Body<Value>,
) -> Result<Response> {
    let wait = q.wait();
    Ok(match h.execute_slack_webhook(w, &t, &b, wait).await? {
        Some(m) => Json(m).into_response(),
        None => (StatusCode::OK, "ok").into_response(),
    })
}
/// `POST /webhooks/{id}/{token}/github` with `X-GitHub-Event` (`?wait=true` -> the
/// message; else, and for ignored events, 204).
#[utoipa::path(
    post,
    path = "/webhooks/{webhook_id}/{webhook_token}/github",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
        ("wait" = Option<String>, Query, description = "`true` or `1`: answer the created message instead of 204"),
    ),
    request_body(content = JsonObject, description = "Value"),
    responses(
        (status = 200, description = "wire::Message (with ?wait=true)", body = wire::Message),
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn execute_github_webhook(
    h: H,
    P((w, t)): P<(Snowflake, String)>,
    Q(q): Q<ExecuteQuery>,
    headers: HeaderMap,
    Body(b): Body<Value>,
) -> Result<Response> {
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wait = q.wait();
    Ok(executed(
        h.execute_github_webhook(w, &t, event, &b, wait).await?,
    ))
}
/// `GET /webhooks/{id}/{token}/messages/{message_id}`.
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string); `@original` with an interaction's token"),
    ),
    responses(
        (status = 200, description = "wire::Message", body = wire::Message),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_webhook_message(
    h: H,
    P((w, t, m)): P<(Snowflake, String, String)>,
) -> Result<Json<wire::Message>> {
    Ok(Json(h.get_webhook_message(w, &t, &m).await?))
}
/// `PATCH /webhooks/{id}/{token}/messages/{message_id}`.
#[utoipa::path(
    patch,
    path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string); `@original` with an interaction's token"),
    ),
    request_body(content(
        (wire::EditWebhookMessageBody = "application/json"),
        (MessageMultipart = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "wire::Message", body = wire::Message),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn edit_webhook_message(
    h: H,
    P((w, t, m)): P<(Snowflake, String, String)>,
    req: Request,
) -> Result<Response> {
    let target = async || h.token_file_target(w, &t, None, Some(&m)).await;
    let (b, files) = match super::uploads::read_message(&h, target, req).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    Ok(Json(h.edit_webhook_message(w, &t, &m, b, files).await?).into_response())
}
/// `DELETE /webhooks/{id}/{token}/messages/{message_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("webhook_token" = String, Path, description = "The webhook's token"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string); `@original` with an interaction's token"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_webhook_message(
    h: H,
    P((w, t, m)): P<(Snowflake, String, String)>,
) -> Result<Response> {
    h.delete_webhook_message(w, &t, &m).await?;
    Ok(no_content())
}
