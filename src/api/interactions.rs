//! Handlers of interactions (Discord "Interactions > Receiving and Responding"): a user's
//! client invoking a command, and the application's callback authorized by the
//! interaction's token. The rules are in `crate::service::interactions` and
//! `crate::service::interaction_responses`; the follow-up routes are the webhook token
//! routes (`super::webhooks`).

use axum::Json;
use axum::response::{IntoResponse, Response};

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::{ApiError, MessageMultipart};
use crate::http::{Auth, Body, P, Q};
use crate::snowflake::Snowflake;
use crate::wire;

/// `POST /interactions` (a user's client: types 2 APPLICATION_COMMAND, 3
/// MESSAGE_COMPONENT, 4 APPLICATION_COMMAND_AUTOCOMPLETE, 5 MODAL_SUBMIT) -> 204.
#[utoipa::path(
    post,
    path = "/interactions",
    tag = "interactions",
    request_body(content = wire::InteractionRequest, description = "wire::InteractionRequest"),
    responses(
        (status = 204, description = "No content: the interaction was delivered"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_interaction(
    h: H,
    Auth(a): Auth,
    Body(b): Body<wire::InteractionRequest>,
) -> Result<Response> {
    h.create_interaction(&a, b).await?;
    Ok(no_content())
}

/// `POST /interactions/{id}/{token}/callback` (no authentication) -> 204, or with
/// `?with_response=true` the Interaction Callback Response.
#[utoipa::path(
    post,
    path = "/interactions/{interaction_id}/{interaction_token}/callback",
    tag = "interactions",
    params(
        ("interaction_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("interaction_token" = String, Path, description = "The interaction's token"),
        ("with_response" = Option<String>, Query, description = "`true` or `1`: answer the callback response instead of 204"),
    ),
    request_body(description = "wire::InteractionCallbackBody: `data` is a wire::ExecuteWebhookBody (types 4, 7), wire::AutocompleteCallbackData (8) or wire::ModalCallbackData (9); as JSON, or `multipart/form-data` with `payload_json` and `files[n]` (types 4, 7)", content(
        (wire::InteractionCallbackBody = "application/json"),
        (MessageMultipart = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "wire::InteractionCallbackResponse (with ?with_response=true)", body = wire::InteractionCallbackResponse),
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn interaction_callback(
    h: H,
    P((id, token)): P<(Snowflake, String)>,
    Q(q): Q<wire::CallbackQuery>,
    req: axum::extract::Request,
) -> Result<Response> {
    let target = async || h.callback_file_target(id, &token).await;
    let (b, files) = match super::uploads::read_message(&h, target, req).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    Ok(
        match h
            .interaction_callback(id, &token, b, q.with_response(), files)
            .await?
        {
            Some(r) => Json(r).into_response(),
            None => no_content(),
        },
    )
}
