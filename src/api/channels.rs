//! Handlers of channels, overwrites, messages, pins and reactions (Discord "Resources > Channel", "Resources > Message").

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{H, PageQuery, no_content};
use crate::error::Result;
use crate::http::openapi::{ApiError, JsonValue, MessageMultipart};
use crate::http::{Auth, Body, P, Q, Reason};
use crate::snowflake::Snowflake;
use crate::wire;

// ---- channels ---------------------------------------------------------------------------

/// `GET /channels/{id}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_channel(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.get_channel(&a, c).await?))
}
/// `PATCH /channels/{id}`.
#[utoipa::path(
    patch,
    path = "/channels/{channel_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::ChannelBody, description = "wire::ChannelBody"),
    responses(
        (status = 200, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_channel(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::ChannelBody>,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.modify_channel(&a, c, b, r.as_deref()).await?))
}
/// `DELETE /channels/{id}`.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::Channel", body = wire::Channel),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_channel(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
) -> Result<Json<wire::Channel>> {
    Ok(Json(h.delete_channel(&a, c, r.as_deref()).await?))
}
/// `PUT /channels/{id}/permissions/{overwrite_id}` -> 204.
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/permissions/{overwrite_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("overwrite_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::PutOverwriteBody, description = "wire::PutOverwriteBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn put_overwrite(
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
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/permissions/{overwrite_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("overwrite_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_overwrite(
    h: H,
    Auth(a): Auth,
    P((c, t)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_overwrite(&a, c, t, r.as_deref()).await?;
    Ok(no_content())
}
/// `GET /channels/{id}/invites`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/invites",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Invite]", body = Vec<wire::Invite>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn channel_invites(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
) -> Result<Json<Vec<wire::Invite>>> {
    Ok(Json(h.channel_invites(&a, c).await?))
}
/// `POST /channels/{id}/invites`.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/invites",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::CreateInviteBody, description = "wire::CreateInviteBody"),
    responses(
        (status = 200, description = "wire::Invite", body = wire::Invite),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_invite(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::CreateInviteBody>,
) -> Result<Json<wire::Invite>> {
    Ok(Json(h.create_invite(&a, c, b, r.as_deref()).await?))
}
/// `POST /channels/{id}/typing` -> 204.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/typing",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn typing(h: H, Auth(a): Auth, P(c): P<Snowflake>) -> Result<Response> {
    h.typing(&a, c).await?;
    Ok(no_content())
}
/// `POST /channels/{id}/messages/{message_id}/ack` -> `{"token": null}`: the caller's read
/// state (Discord's client API; user accounts only, bots get 403 20001).
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/messages/{message_id}/ack",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::AckBody, description = "wire::AckBody"),
    responses(
        (status = 200, description = "wire::AckResponse", body = wire::AckResponse),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn ack_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Body(b): Body<wire::AckBody>,
) -> Result<Json<wire::AckResponse>> {
    Ok(Json(h.ack_message(&a, c, m, b).await?))
}
/// `GET /channels/{id}/messages`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/messages",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("around" = Option<String>, Query, description = "Snowflake id: items around this one"),
        ("before" = Option<String>, Query, description = "Snowflake id: items before this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[wire::Message]", body = Vec<wire::Message>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn get_messages(
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
/// `POST /channels/{id}/messages`: JSON, or `multipart/form-data` with `payload_json` and
/// `files[n]` parts (Discord "Uploading Files"; read by [`super::uploads::read_message`]).
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/messages",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content(
        (wire::CreateMessageBody = "application/json"),
        (MessageMultipart = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "wire::Message", body = wire::Message),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_message(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    req: axum::extract::Request,
) -> Result<Response> {
    let (body, files) = match super::uploads::read_message(
        &h,
        async || h.file_target(&a, c, None).await,
        req,
    )
    .await
    {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    Ok(Json(h.create_message_with(&a, c, body, files).await?).into_response())
}
/// `POST /channels/{id}/attachments` `{files: [{id, filename, file_size}]}` -> `{attachments:
/// [{id, upload_url, upload_filename}]}` (the two-step upload, `service/uploads.rs`).
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/attachments",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::UploadRequestBody, description = "wire::UploadRequestBody"),
    responses(
        (status = 200, description = "wire::UploadSlots", body = wire::UploadSlots),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn request_uploads(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
    Body(b): Body<wire::UploadRequestBody>,
) -> Result<Json<wire::UploadSlots>> {
    Ok(Json(h.request_uploads(&a, c, b).await?))
}
/// `POST /channels/{id}/messages/bulk-delete` -> 204.
#[utoipa::path(
    post,
    path = "/channels/{channel_id}/messages/bulk-delete",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::BulkDeleteBody, description = "wire::BulkDeleteBody"),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn bulk_delete(
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
pub(super) struct PinQuery {
    before: Option<String>,
    limit: Option<i64>,
}

/// `GET /channels/{id}/messages/pins` (`before` ISO timestamp, `limit` 1-50) ->
/// `{items: [{pinned_at, message}], has_more}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/messages/pins",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("before" = Option<String>, Query, description = "ISO 8601 timestamp: pins before this time"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn pins_new(
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
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/pins",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::Message]", body = Vec<wire::Message>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn pins_old(
    h: H,
    Auth(a): Auth,
    P(c): P<Snowflake>,
) -> Result<Json<Vec<wire::Message>>> {
    let (items, _) = h.pins(&a, c, None, 250).await?;
    Ok(Json(items.into_iter().map(|(_, m)| m).collect()))
}
/// `PUT /channels/{id}/messages/pins/{message_id}` and `/channels/{id}/pins/{message_id}` -> 204.
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/messages/pins/{message_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn pin(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.set_pin(&a, c, m, true, r.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE` of the same -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/messages/pins/{message_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn unpin(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.set_pin(&a, c, m, false, r.as_deref()).await?;
    Ok(no_content())
}
/// `GET /channels/{id}/messages/{message_id}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/messages/{message_id}",
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
pub(super) async fn get_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
) -> Result<Json<wire::Message>> {
    Ok(Json(h.get_message(&a, c, m).await?))
}
/// `PATCH /channels/{id}/messages/{message_id}`: JSON, or `multipart/form-data` with
/// `payload_json` and new `files[n]` parts (read by [`super::uploads::read_message`]).
#[utoipa::path(
    patch,
    path = "/channels/{channel_id}/messages/{message_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content(
        (wire::EditMessageBody = "application/json"),
        (MessageMultipart = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "wire::Message", body = wire::Message),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn edit_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    req: axum::extract::Request,
) -> Result<Response> {
    let (body, files) =
        match super::uploads::read_message(&h, async || h.file_target(&a, c, Some(m)).await, req)
            .await
        {
            Ok(v) => v,
            Err(r) => return Ok(r),
        };
    Ok(Json(h.edit_message_with(&a, c, m, body, files).await?).into_response())
}
/// `DELETE /channels/{id}/messages/{message_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/messages/{message_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_message(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_message(&a, c, m, r.as_deref()).await?;
    Ok(no_content())
}
/// `DELETE .../reactions` -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/messages/{message_id}/reactions",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn clear_reactions(
    h: H,
    Auth(a): Auth,
    P((c, m)): P<(Snowflake, Snowflake)>,
) -> Result<Response> {
    h.clear_reactions(&a, c, m, None).await?;
    Ok(no_content())
}
/// `?after=&limit=` of the user lists (reactions, poll answer voters).
#[derive(Deserialize, Default)]
pub(super) struct ReactQuery {
    pub(super) after: Option<Snowflake>,
    pub(super) limit: Option<i64>,
}
/// `GET .../reactions/{emoji}`.
#[utoipa::path(
    get,
    path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji" = String, Path, description = "A reaction emoji: a Unicode emoji, or `name:id` of a custom emoji (URL-encoded)"),
        ("after" = Option<String>, Query, description = "Snowflake id: items after this one"),
        ("limit" = Option<i64>, Query, description = "Page size (the route's range; out of range is clamped or refused with 50035)"),
    ),
    responses(
        (status = 200, description = "[wire::User]", body = Vec<wire::User>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn reaction_users(
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
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji" = String, Path, description = "A reaction emoji: a Unicode emoji, or `name:id` of a custom emoji (URL-encoded)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn clear_emoji(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
) -> Result<Response> {
    h.clear_reactions(&a, c, m, Some(&e)).await?;
    Ok(no_content())
}
/// `PUT .../reactions/{emoji}/@me` -> 204.
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji" = String, Path, description = "A reaction emoji: a Unicode emoji, or `name:id` of a custom emoji (URL-encoded)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn add_reaction(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
) -> Result<Response> {
    h.add_reaction(&a, c, m, &e).await?;
    Ok(no_content())
}
/// `DELETE .../reactions/{emoji}/@me` -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji" = String, Path, description = "A reaction emoji: a Unicode emoji, or `name:id` of a custom emoji (URL-encoded)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn remove_own_reaction(
    h: H,
    Auth(a): Auth,
    P((c, m, e)): P<(Snowflake, Snowflake, String)>,
) -> Result<Response> {
    h.remove_reaction(&a, c, m, &e, None).await?;
    Ok(no_content())
}
/// `DELETE .../reactions/{emoji}/{user_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
    tag = "channels",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("emoji" = String, Path, description = "A reaction emoji: a Unicode emoji, or `name:id` of a custom emoji (URL-encoded)"),
        ("user_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn remove_user_reaction(
    h: H,
    Auth(a): Auth,
    P((c, m, e, u)): P<(Snowflake, Snowflake, String, Snowflake)>,
) -> Result<Response> {
    h.remove_reaction(&a, c, m, &e, Some(u)).await?;
    Ok(no_content())
}
