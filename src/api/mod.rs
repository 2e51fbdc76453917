//! The client API (Discord's REST API, "Resources" and "Topics" of its documentation): the
//! route table mounted under `/api`, `/api/v9` and `/api/v10` by the composition root, and
//! the handlers, one file per group of resources. Each handler names its method and path,
//! extracts, calls one service method and returns JSON (or 204).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::service::Hearth;
use crate::snowflake::Snowflake;

mod absent;
mod account;
mod apps;
mod auth;
mod automod;
mod channels;
mod commands;
mod emojis;
mod guilds;
mod interactions;
pub mod openapi;
mod passkeys;
mod polls;
mod scheduled_events;
mod search;
mod stage_instances;
mod threads;
mod uploads;
mod voice;
mod webhooks;

use account::*;
use apps::*;
use auth::*;
use automod::*;
use channels::*;
use commands::*;
use emojis::*;
use guilds::*;
use interactions::*;
use passkeys::*;
use polls::*;
use search::*;
use webhooks::*;

type H = State<Arc<Hearth>>;

/// 204 No Content.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Routes mounted under `/api`, `/api/v9` and `/api/v10`.
pub fn routes() -> Router<Arc<Hearth>> {
    Router::new()
        // auth
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/mfa/totp", post(login_totp))
        .route("/auth/mfa/backup", post(login_backup))
        .route("/auth/mfa/webauthn", post(login_webauthn))
        .route("/auth/passkey/start", post(passkey_start))
        .route("/auth/passkey/finish", post(passkey_finish))
        .route("/auth/logout", post(logout))
        .route("/auth/sessions", get(list_sessions))
        .route("/auth/sessions/{session_id}", delete(delete_session))
        .route("/mfa/finish", post(mfa_finish))
        .route("/auth/forgot", post(forgot))
        .route("/auth/reset", post(reset))
        .route("/auth/verify", post(verify))
        .route("/auth/verify/resend", post(verify_resend))
        .route("/users/@me/security-log", get(security_log))
        .route("/users/@me/export", get(export))
        .route("/users/@me/delete", post(delete_me))
        // users
        .route("/users/@me", get(get_me).patch(modify_me))
        .route("/users/@me/mfa/totp/enable", post(enable_totp))
        .route("/users/@me/mfa/totp/disable", post(disable_totp))
        .route("/users/@me/mfa/codes-verification", post(backup_codes))
        .route(
            "/users/@me/mfa/webauthn/credentials",
            get(list_passkeys).post(register_passkey),
        )
        .route(
            "/users/@me/mfa/webauthn/credentials/{credential_id}",
            patch(rename_passkey).delete(delete_passkey),
        )
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
        .route("/guilds/{guild_id}/mfa", post(guild_mfa))
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
        .route(
            "/guilds/{guild_id}/emojis",
            get(list_emojis).post(create_emoji),
        )
        .route(
            "/guilds/{guild_id}/emojis/{emoji_id}",
            get(get_emoji).patch(modify_emoji).delete(delete_emoji),
        )
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
            get(get_messages)
                .post(create_message)
                // Its body limits are `media.*`, enforced while reading (uploads.rs).
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/channels/{channel_id}/messages/search",
            get(search_channel_messages),
        )
        .route(
            "/guilds/{guild_id}/messages/search",
            get(search_guild_messages),
        )
        .route("/channels/{channel_id}/attachments", post(request_uploads))
        .route(
            "/channels/{channel_id}/messages/bulk-delete",
            post(bulk_delete),
        )
        .route("/channels/{channel_id}/messages/pins", get(pins_new))
        .route(
            "/channels/{channel_id}/messages/pins/{message_id}",
            put(pin).delete(unpin),
        )
        .route(
            "/channels/{channel_id}/recipients/{user_id}",
            put(add_recipient).delete(remove_recipient),
        )
        .route("/channels/{channel_id}/pins", get(pins_old))
        .route(
            "/channels/{channel_id}/pins/{message_id}",
            put(pin).delete(unpin),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}",
            get(get_message)
                .patch(edit_message)
                .delete(delete_message)
                // An edit's body limits are `media.*`, enforced while reading (uploads.rs).
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}/ack",
            post(ack_message),
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
        // polls (Discord "Resources > Poll"; the vote route is Discord's client's)
        .route(
            "/channels/{channel_id}/polls/{message_id}/answers/@me",
            put(poll_vote),
        )
        .route(
            "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}",
            get(poll_voters),
        )
        .route(
            "/channels/{channel_id}/polls/{message_id}/expire",
            post(end_poll),
        )
        // webhooks (Discord "Resources > Webhook")
        .route(
            "/channels/{channel_id}/webhooks",
            get(channel_webhooks).post(create_webhook),
        )
        .route("/guilds/{guild_id}/webhooks", get(guild_webhooks))
        // Auto Moderation (Discord "Resources > Auto Moderation")
        .route(
            "/guilds/{guild_id}/auto-moderation/rules",
            get(automod_rules).post(create_automod_rule),
        )
        .route(
            "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
            get(automod_rule)
                .patch(modify_automod_rule)
                .delete(delete_automod_rule),
        )
        .route(
            "/webhooks/{webhook_id}",
            get(get_webhook)
                .patch(modify_webhook)
                .delete(delete_webhook),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}",
            get(get_webhook_with_token)
                .patch(modify_webhook_with_token)
                .delete(delete_webhook_with_token)
                // Files: the limits are `media.*`, enforced while reading (uploads.rs).
                .post(axum::handler::Handler::layer(
                    execute_webhook,
                    axum::extract::DefaultBodyLimit::disable(),
                )),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}/slack",
            post(execute_slack_webhook),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}/github",
            post(execute_github_webhook),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            get(get_webhook_message)
                .patch(axum::handler::Handler::layer(
                    edit_webhook_message,
                    axum::extract::DefaultBodyLimit::disable(),
                ))
                .delete(delete_webhook_message),
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
        // interactions (Discord "Interactions > Receiving and Responding")
        .route("/interactions", post(create_interaction))
        .route(
            "/interactions/{interaction_id}/{interaction_token}/callback",
            post(axum::handler::Handler::layer(
                interaction_callback,
                axum::extract::DefaultBodyLimit::disable(),
            )),
        )
        // application commands
        .route(
            "/applications/{app_id}/commands",
            get(list_global_commands)
                .post(create_global_command)
                .put(overwrite_global_commands),
        )
        .route(
            "/applications/{app_id}/commands/{command_id}",
            get(get_global_command)
                .patch(edit_global_command)
                .delete(delete_global_command),
        )
        .route(
            "/applications/{app_id}/guilds/{guild_id}/commands",
            get(list_guild_commands)
                .post(create_guild_command)
                .put(overwrite_guild_commands),
        )
        .route(
            "/guilds/{guild_id}/application-command-index",
            get(guild_command_index),
        )
        .route(
            "/channels/{channel_id}/application-command-index",
            get(channel_command_index),
        )
        .route(
            "/applications/{app_id}/guilds/{guild_id}/commands/permissions",
            get(guild_command_permissions),
        )
        .route(
            "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}",
            get(get_guild_command)
                .patch(edit_guild_command)
                .delete(delete_guild_command),
        )
        .route(
            "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}/permissions",
            get(command_permissions).put(edit_command_permissions),
        )
        .route("/oauth2/applications/@me", get(current_application))
        .route("/oauth2/authorize", post(authorize))
        // instance administration
        .route("/admin/setup", post(admin_setup))
        .route("/admin/users", get(admin_users))
        .route("/admin/users/{user_id}", patch(admin_modify_user))
        .route("/admin/guilds/{guild_id}", delete(admin_delete_guild))
        .route("/admin/federation/equivocations", get(admin_equivocations))
        .route("/admin/federation/peers", get(admin_peers))
        .merge(absent::routes())
        .merge(threads::routes())
        .merge(voice::routes())
        .merge(scheduled_events::routes())
        .merge(stage_instances::routes())
}

/// Routes outside the API prefix: liveness and readiness.
pub fn top_routes() -> Router<Arc<Hearth>> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// `GET /health`: liveness.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /ready`: 200 `{"status": "ready"}` when the database and the file store answer;
/// 503 `{"status": "not ready", "failing": [sentence, ...]}` naming each part that does not
/// ([`Hearth::readiness`]).
async fn ready(h: H) -> Response {
    let failing = h.readiness().await;
    if failing.is_empty() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "failing": failing})),
        )
            .into_response()
    }
}

/// Paging and filter parameters shared by list routes (`before`/`after`/`around` ids,
/// `limit`, and route-specific filters).
#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    pub(crate) before: Option<Snowflake>,
    pub(crate) after: Option<Snowflake>,
    pub(crate) around: Option<Snowflake>,
    pub(crate) limit: Option<i64>,
    pub(crate) with_counts: Option<bool>,
    pub(crate) query: Option<String>,
    pub(crate) user_id: Option<Snowflake>,
    pub(crate) action_type: Option<i64>,
}
