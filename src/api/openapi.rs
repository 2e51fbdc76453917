//! The client API's part of the OpenAPI document ([`crate::http::openapi`]): the annotated
//! handlers of this module's route table, plus one annotation for each path that reuses a
//! handler already annotated at another path (a handler carries one `#[utoipa::path]`).
//! tests/it/openapi.rs checks that every route of the table is listed.

// The functions below the document exist only for their annotations; nothing calls them.
#![allow(dead_code)]

use utoipa::OpenApi;

use super::*;
use crate::http::openapi::{ApiError, JsonArray, JsonObject, JsonValue};
use crate::wire;

/// The operations of [`super::routes`] (paths relative to the API prefix).
#[derive(OpenApi)]
#[openapi(
    paths(
        auth::register,
        auth::login,
        auth::refresh,
        auth::login_totp,
        auth::login_backup,
        passkeys::login_webauthn,
        passkeys::passkey_start,
        passkeys::passkey_finish,
        auth::logout,
        auth::list_sessions,
        auth::delete_session,
        account::mfa_finish,
        account::forgot,
        account::reset,
        account::verify,
        account::verify_resend,
        account::security_log,
        account::export,
        account::delete_me,
        auth::get_me,
        auth::modify_me,
        auth::enable_totp,
        auth::disable_totp,
        auth::backup_codes,
        passkeys::list_passkeys,
        passkeys::register_passkey,
        passkeys::rename_passkey,
        passkeys::delete_passkey,
        auth::my_guilds,
        auth::leave_guild,
        auth::my_dms,
        auth::open_dm,
        auth::relationships,
        auth::set_relationship,
        auth::delete_relationship,
        auth::get_user,
        guilds::create_guild,
        guilds::get_guild,
        guilds::modify_guild,
        guilds::delete_guild,
        guilds::guild_mfa,
        guilds::guild_channels,
        guilds::create_channel,
        guilds::channel_positions,
        guilds::list_members,
        guilds::search_members,
        guilds::modify_me_member,
        guilds::get_member,
        guilds::modify_member,
        guilds::kick,
        guilds::add_member_role,
        guilds::remove_member_role,
        guilds::roles,
        guilds::create_role,
        guilds::role_positions,
        guilds::get_role,
        guilds::modify_role,
        guilds::delete_role,
        guilds::guild_invites,
        guilds::list_bans,
        guilds::get_ban,
        guilds::ban,
        guilds::unban,
        guilds::audit_log,
        emojis::list_emojis,
        emojis::create_emoji,
        emojis::get_emoji,
        emojis::modify_emoji,
        emojis::delete_emoji,
        channels::get_channel,
        channels::modify_channel,
        channels::delete_channel,
        channels::put_overwrite,
        channels::delete_overwrite,
        channels::channel_invites,
        channels::create_invite,
        channels::typing,
        channels::ack_message,
        channels::get_messages,
        polls::poll_vote,
        polls::poll_voters,
        polls::end_poll,
        search::search_channel_messages,
        search::search_guild_messages,
        channels::create_message,
        channels::request_uploads,
        channels::bulk_delete,
        channels::pins_new,
        channels::pin,
        channels::unpin,
        channels::pins_old,
        channels::get_message,
        channels::edit_message,
        channels::delete_message,
        channels::clear_reactions,
        channels::reaction_users,
        channels::clear_emoji,
        channels::add_reaction,
        channels::remove_own_reaction,
        channels::remove_user_reaction,
        interactions::create_interaction,
        interactions::interaction_callback,
        automod::automod_rules,
        automod::create_automod_rule,
        automod::automod_rule,
        automod::modify_automod_rule,
        automod::delete_automod_rule,
        webhooks::channel_webhooks,
        webhooks::create_webhook,
        webhooks::guild_webhooks,
        webhooks::get_webhook,
        webhooks::modify_webhook,
        webhooks::delete_webhook,
        webhooks::get_webhook_with_token,
        webhooks::modify_webhook_with_token,
        webhooks::delete_webhook_with_token,
        webhooks::execute_webhook,
        webhooks::execute_slack_webhook,
        webhooks::execute_github_webhook,
        webhooks::get_webhook_message,
        webhooks::edit_webhook_message,
        webhooks::delete_webhook_message,
        apps::get_invite,
        apps::accept_invite,
        apps::delete_invite,
        apps::my_applications,
        apps::create_application,
        apps::current_application,
        apps::modify_current_application,
        apps::modify_application,
        apps::reset_bot_token,
        commands::list_global_commands,
        commands::create_global_command,
        commands::overwrite_global_commands,
        commands::get_global_command,
        commands::edit_global_command,
        commands::delete_global_command,
        commands::list_guild_commands,
        commands::guild_command_index,
        commands::create_guild_command,
        commands::overwrite_guild_commands,
        commands::guild_command_permissions,
        commands::get_guild_command,
        commands::edit_guild_command,
        commands::delete_guild_command,
        commands::command_permissions,
        commands::edit_command_permissions,
        apps::authorize,
        apps::admin_setup,
        apps::admin_users,
        apps::admin_modify_user,
        apps::admin_delete_guild,
        apps::admin_equivocations,
        absent::empty_list,
        absent::sticker_packs,
        absent::guild_items,
        absent::guild_list,
        absent::application_emojis,
        pin_put_channels_channel_id_pins_message_id,
        unpin_delete_channels_channel_id_pins_message_id,
        current_application_get_oauth2_applications_me,
        empty_list_get_voice_regions,
        guild_list_get_guilds_guild_id_regions
    ),
    components(schemas(
        ApiError,
        JsonArray,
        JsonObject,
        JsonValue,
        crate::wire::Snowflake,
        crate::wire::User,
        crate::wire::TokenPair,
        crate::wire::AuthSession,
        crate::wire::MfaToken,
        crate::wire::ExecuteWebhookBody,
        crate::wire::ModalCallbackData,
        crate::wire::AutocompleteCallbackData,
        crate::wire::Interaction,
        crate::wire::InteractionModalCreate,
        crate::wire::AutocompleteResponse
    ))
)]
pub struct ApiDoc;

/// `PUT /channels/{channel_id}/pins/{message_id}`: served by the same handler as `pin`.
#[utoipa::path(
    put,
    path = "/channels/{channel_id}/pins/{message_id}",
    tag = "channels",
    operation_id = "pin_put_channels_channel_id_pins_message_id",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
fn pin_put_channels_channel_id_pins_message_id() {}

/// `DELETE /channels/{channel_id}/pins/{message_id}`: served by the same handler as `unpin`.
#[utoipa::path(
    delete,
    path = "/channels/{channel_id}/pins/{message_id}",
    tag = "channels",
    operation_id = "unpin_delete_channels_channel_id_pins_message_id",
    params(
        ("channel_id" = String, Path, description = "A snowflake id (decimal string)"),
        ("message_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 204, description = "No content"),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
fn unpin_delete_channels_channel_id_pins_message_id() {}

/// `GET /oauth2/applications/@me`: served by the same handler as `current_application`.
#[utoipa::path(
    get,
    path = "/oauth2/applications/@me",
    tag = "applications",
    operation_id = "current_application_get_oauth2_applications_me",
    responses(
        (status = 200, description = "wire::Application", body = wire::Application),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
fn current_application_get_oauth2_applications_me() {}

/// `GET /voice/regions`: served by the same handler as `empty_list`.
#[utoipa::path(
    get,
    path = "/voice/regions",
    tag = "other",
    operation_id = "empty_list_get_voice_regions",
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
fn empty_list_get_voice_regions() {}

/// `GET /guilds/{guild_id}/regions`: served by the same handler as `guild_list`.
#[utoipa::path(
    get,
    path = "/guilds/{guild_id}/regions",
    tag = "guilds",
    operation_id = "guild_list_get_guilds_guild_id_regions",
    params(
        ("guild_id" = String, Path, description = "A snowflake id (decimal string)"),
    ),
    responses(
        (status = 200, description = "The shape given in the operation's description", body = JsonValue),
        (status = "4XX", description = "Discord-format error", body = ApiError),
    ),
)]
fn guild_list_get_guilds_guild_id_regions() {}
