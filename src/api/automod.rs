//! Handlers of Auto Moderation rules (Discord "Resources > Auto Moderation"): list, get,
//! create, modify and delete, MANAGE_GUILD. The rules are in `crate::service::automod`.

use axum::Json;
use axum::response::Response;

use super::{H, no_content};
use crate::error::Result;
use crate::http::openapi::ApiError;
use crate::http::{Auth, Body, P, Reason};
use crate::snowflake::Snowflake;
use crate::wire;

type RuleJson = Json<wire::AutoModerationRule>;

/// `GET /guilds/{id}/auto-moderation/rules`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/auto-moderation/rules",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "[wire::AutoModerationRule]", body = Vec<wire::AutoModerationRule>),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn automod_rules(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
) -> Result<Json<Vec<wire::AutoModerationRule>>> {
    Ok(Json(h.automod_rules(&a, g).await?))
}

/// `POST /guilds/{id}/auto-moderation/rules` -> the rule.
#[utoipa::path(
    post,
    path = "/guilds/{guild_id}/auto-moderation/rules",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::AutoModRuleBody, description = "wire::AutoModRuleBody"),
    responses(
        (status = 200, description = "wire::AutoModerationRule", body = wire::AutoModerationRule),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn create_automod_rule(
    h: H,
    Auth(a): Auth,
    P(g): P<Snowflake>,
    Reason(r): Reason,
    Body(b): Body<wire::AutoModRuleBody>,
) -> Result<RuleJson> {
    Ok(Json(h.create_automod_rule(&a, g, b, r.as_deref()).await?))
}

/// `GET /guilds/{id}/auto-moderation/rules/{rule_id}`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("rule_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "wire::AutoModerationRule", body = wire::AutoModerationRule),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn automod_rule(
    h: H,
    Auth(a): Auth,
    P((g, rule)): P<(Snowflake, Snowflake)>,
) -> Result<RuleJson> {
    Ok(Json(h.automod_rule(&a, g, rule).await?))
}

/// `PATCH /guilds/{id}/auto-moderation/rules/{rule_id}` -> the rule.
#[utoipa::path(
    patch,
    path = "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("rule_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    request_body(content = wire::AutoModRuleBody, description = "wire::AutoModRuleBody"),
    responses(
        (status = 200, description = "wire::AutoModerationRule", body = wire::AutoModerationRule),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn modify_automod_rule(
    h: H,
    Auth(a): Auth,
    P((g, rule)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
    Body(b): Body<wire::AutoModRuleBody>,
) -> Result<RuleJson> {
    Ok(Json(
        h.modify_automod_rule(&a, g, rule, b, r.as_deref()).await?,
    ))
}

/// `DELETE /guilds/{id}/auto-moderation/rules/{rule_id}` -> 204.
#[utoipa::path(
    delete,
    path = "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
    tag = "guilds",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("rule_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
pub(super) async fn delete_automod_rule(
    h: H,
    Auth(a): Auth,
    P((g, rule)): P<(Snowflake, Snowflake)>,
    Reason(r): Reason,
) -> Result<Response> {
    h.delete_automod_rule(&a, g, rule, r.as_deref()).await?;
    Ok(no_content())
}
