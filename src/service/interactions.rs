//! Invoking application commands (Discord "Interactions > Receiving and Responding"): a
//! user's client posts `POST /interactions` (type 2 APPLICATION_COMMAND or 4
//! APPLICATION_COMMAND_AUTOCOMPLETE here; 3 MESSAGE_COMPONENT and 5 MODAL_SUBMIT in
//! [`super::interaction_kinds`]), as Discord's client does; the server checks the
//! invocation, creates the interaction and delivers `INTERACTION_CREATE` to the
//! application's bot over the gateway, or posts it to the application's interactions
//! endpoint when it set one ([`super::interaction_http`]). The responses (callback, `@original`, follow-ups)
//! are in [`super::interaction_responses`].
//!
//! Checks, in order: a user token (403 20001 for bots); `type` 2, 3, 4 or 5 (400 50035 on
//! `type` otherwise); an application that exists (404 10002); a guild channel the user
//! sees, or the user's DM with the application's bot (404 10003, 403 50001; any other DM:
//! 400 50035 on `channel_id`; a `guild_id` that is not the channel's: 400 50035); the
//! command by `data.id`, global or of that guild, of that application, with the name and
//! type sent, and the application's bot in the guild (404 10063 otherwise; global commands
//! whose `contexts` leave out 0 GUILD neither; in the bot's DM only global commands whose
//! `contexts` hold 1 BOT_DM or are unset, and not `dm_permission: false`); in a guild the
//! user may
//! use it there (403 50013 otherwise): the command's permissions in the guild decide when
//! they name the user, one of their roles (an allowing role wins over a denying one),
//! `@everyone` (the guild's id) or deny the channel (its id, or the guild's id minus 1 for
//! every channel); then the application-wide permissions (the application's id as command
//! id) the same way; else `default_member_permissions` (`null`: everyone; `"0"`:
//! administrators only; else every bit in the user's permissions in the channel); the
//! option values match their declaration ([`super::interaction_options`], 400 50035; in
//! autocomplete exactly one option is `focused`, on an option declared `autocomplete:
//! true`, with a partial value; required options may be missing and nothing is resolved)
//! and the users, members, roles and channels they name exist in the guild
//! (channels seen by the user, of the declared `channel_types`), resolved into
//! `data.resolved`; USER and MESSAGE commands need `data.target_id` (a user; a message of
//! the channel), resolved the same way.
//!
//! In the bot's DM the options' users resolve without members, roles never, channels to
//! DMs the user sees.
//!
//! The interaction: a snowflake id and a 256-bit random token, of which only the SHA-256 is
//! stored; valid `limits.interaction_token_seconds` (15 minutes, as Discord). The bot receives the interaction object
//! (`wire::Interaction`; intent none): in a guild with `guild_id`, `guild`, `member` and
//! `context: 0`; in its DM with `user` instead of `member`, the DM `channel` (with its
//! `recipients`), `authorizing_integration_owners: {"0": "0"}` and `context: 1`; the user's sessions receive Hearth's client event
//! `INTERACTION_CREATE {id, nonce}`, then `INTERACTION_SUCCESS` once the application
//! answers, or `INTERACTION_FAILURE` when it has not answered within 3 seconds
//! ([`ACK_DEADLINE`]; the deadline is a timer in this process: a restart in between leaves
//! the interaction pending). Interactions never cross federation: the command, the bot and
//! the guild must be on this server (a replica's guild: 403 50001).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::interaction_options::{check_autocomplete_options, check_options};
use super::{Actor, ChannelAccess, Hearth, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Event};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{ApplicationRow, CommandRow, InteractionRow, PENDING, now_ms};
use crate::wire::{
    self, ApplicationCommandOptionType as O, ApplicationCommandPermissionType as PT,
    ApplicationCommandType, CommandPermission, InteractionType,
};

/// How long the application has to acknowledge (Discord: 3 seconds).
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);

/// What a message answering an interaction keeps (`messages.interaction`, JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredInteraction {
    pub application_id: Snowflake,
    pub metadata: wire::MessageInteractionMetadata,
}

/// The `application_id`, `interaction_metadata` and legacy `interaction` of a message
/// from its stored column.
pub fn interaction_fields(
    json: Option<&str>,
) -> (
    Option<Snowflake>,
    Option<wire::MessageInteractionMetadata>,
    Option<wire::MessageInteraction>,
) {
    let Some(s) = json.and_then(|j| serde_json::from_str::<StoredInteraction>(j).ok()) else {
        return (None, None, None);
    };
    let legacy = wire::MessageInteraction {
        id: s.metadata.id,
        kind: s.metadata.kind,
        name: s.metadata.name.clone().unwrap_or_default(),
        user: s.metadata.user.clone(),
    };
    (Some(s.application_id), Some(s.metadata), Some(legacy))
}

/// The stored column of a message received from another server (its metadata as sent).
pub fn stored_interaction(m: &wire::Message) -> Option<String> {
    let s = StoredInteraction {
        application_id: m.application_id?,
        metadata: m.interaction_metadata.clone()?,
    };
    serde_json::to_string(&s).ok()
}

/// The verdict of a list of command permissions for a member in a channel: `None` when
/// the list says nothing about them.
fn verdict(
    list: &[CommandPermission],
    guild_id: i64,
    user_id: i64,
    roles: &[i64],
    channel_id: i64,
) -> Option<bool> {
    let find = |kind: PT, id: i64| {
        list.iter()
            .find(|p| p.kind == kind && p.id.db() == id)
            .map(|p| p.permission)
    };
    let channel = find(PT::Channel, channel_id).or_else(|| find(PT::Channel, guild_id - 1));
    if channel == Some(false) {
        return Some(false);
    }
    if let Some(v) = find(PT::User, user_id) {
        return Some(v);
    }
    let role_verdicts: Vec<bool> = roles
        .iter()
        .filter(|r| **r != guild_id)
        .filter_map(|r| find(PT::Role, *r))
        .collect();
    if role_verdicts.contains(&true) {
        return Some(true);
    }
    if role_verdicts.contains(&false) {
        return Some(false);
    }
    find(PT::Role, guild_id)
}

/// Whether a global command may be used in a DM with its application's bot (Discord
/// "Application Commands > Contexts"): `contexts` holding 1 BOT_DM, or none declared; and
/// not `dm_permission: false`.
fn usable_in_dm(b: &super::command_rules::StoredBody) -> bool {
    b.contexts.as_ref().is_none_or(|c| c.contains(&1)) && b.dm_permission != Some(false)
}

/// What [`Hearth::interaction_context`] checked of a user's interaction.
pub struct InteractionContext {
    pub app: ApplicationRow,
    pub ca: ChannelAccess,
    /// `None` in a DM with the application's bot (context 1 BOT_DM).
    pub guild_id: Option<i64>,
    pub data: wire::InteractionRequestData,
    pub nonce: Option<String>,
    /// The component's message (type 3).
    pub message_id: Option<Snowflake>,
}

/// The interaction to store and deliver ([`Hearth::deliver_interaction`]).
pub struct NewInteraction {
    pub kind: InteractionType,
    /// The command's type; 0 for components and modals.
    pub command_type: i64,
    /// The command's full name, or the `custom_id`.
    pub name: String,
    pub data: wire::InteractionData,
    /// The component's message as the bot sees it.
    pub message: Option<wire::Message>,
    pub message_id: Option<i64>,
    /// For a MODAL_SUBMIT, the interaction that opened the modal.
    pub parent_id: Option<i64>,
}

impl Hearth {
    /// Whether the member of `ca` may use `cmd` of `app` there (see the module docs).
    pub(super) async fn may_use(
        &self,
        ca: &ChannelAccess,
        app: &ApplicationRow,
        cmd: &CommandRow,
    ) -> Result<bool> {
        let ga = ca.guild.as_ref().ok_or(Error::MissingAccess)?;
        for target in [cmd.id, app.id] {
            if let Some(json) = self
                .db
                .command_permission(ga.guild.id, app.id, target)
                .await?
            {
                let list: Vec<CommandPermission> =
                    serde_json::from_str(&json).map_err(Error::internal)?;
                if let Some(v) = verdict(
                    &list,
                    ga.guild.id,
                    ga.user_id,
                    &ga.member_roles,
                    ca.channel.id,
                ) {
                    return Ok(v);
                }
            }
        }
        let declared = super::commands::stored_body(cmd)?.default_member_permissions;
        Ok(match declared.and_then(|d| d.parse::<u64>().ok()) {
            None => true,
            Some(0) => ca.perms & perm::ADMINISTRATOR != 0,
            Some(need) => ca.perms & need == need,
        })
    }

    /// The objects the options (and `target_id`, or an entity select's values) name, in
    /// `data.resolved`.
    pub(super) async fn resolve(
        &self,
        actor: &Actor,
        ca: &ChannelAccess,
        refs: &[super::interaction_options::OptionRef],
    ) -> Result<wire::ResolvedData> {
        // In the bot's DM (no guild): users without members, no roles, DM channels.
        let ga = ca.guild.as_ref();
        let mut out = wire::ResolvedData::default();
        let mut errs = FieldErrors::new();
        for r in refs.iter().filter(|r| r.kind != O::Attachment) {
            let key = r.id.to_string();
            let as_role = matches!(r.kind, O::Role | O::Mentionable)
                .then(|| ga.and_then(|ga| ga.role(r.id.db())))
                .flatten();
            if let Some(role) = as_role {
                out.roles.insert(key, Self::role_wire(role));
                continue;
            }
            match r.kind {
                O::User | O::Mentionable => {
                    let Some(u) = self.db.user(r.id.db()).await? else {
                        errs.add(&r.path, "INTERACTION_OPTION_UNKNOWN_USER", "Unknown user");
                        continue;
                    };
                    out.users.insert(key.clone(), self.user_wire(&u, false));
                    let Some(ga) = ga else { continue };
                    if self.db.member(ga.guild.id, u.id).await?.is_some() {
                        let their = self
                            .guild_access(Snowflake::from_db(ga.guild.id), u.id)
                            .await?;
                        let mut m = self.member_wire_by_id(ga.guild.id, u.id, false).await?;
                        m.user = None;
                        m.permissions = Some(wire::perm_string(their.in_channel(&ca.overwrites)));
                        out.members.insert(key, m);
                    }
                }
                O::Channel => {
                    let seen = match self.channel_access(actor, r.id).await {
                        Ok(c) if c.channel.guild_id == ga.map(|ga| ga.guild.id) => Some(c),
                        _ => None,
                    };
                    let Some(c) = seen else {
                        errs.add(
                            &r.path,
                            "INTERACTION_OPTION_UNKNOWN_CHANNEL",
                            "Unknown channel",
                        );
                        continue;
                    };
                    let kind = wire::ChannelType::from_db(c.channel.kind);
                    if r.channel_types.as_ref().is_some_and(|t| !t.contains(&kind)) {
                        errs.add(
                            &r.path,
                            "INTERACTION_OPTION_CHANNEL_TYPE",
                            "The channel's type is not one the option takes.",
                        );
                        continue;
                    }
                    let mut v = to_value(&Self::channel_wire(&c.channel, &c.overwrites, None));
                    v["permissions"] = wire::perm_string(c.perms).into();
                    out.channels.insert(key, v);
                }
                _ => errs.add(&r.path, "INTERACTION_OPTION_UNKNOWN_ROLE", "Unknown role"),
            }
        }
        errs.into_result()?;
        Ok(out)
    }

    /// `POST /interactions` from a user's client: type 2 APPLICATION_COMMAND and 4
    /// APPLICATION_COMMAND_AUTOCOMPLETE here, 3 MESSAGE_COMPONENT and 5 MODAL_SUBMIT in
    /// [`super::interaction_kinds`]. Checks the invocation, stores the interaction and
    /// delivers it (see the module docs). 204.
    pub async fn create_interaction(
        self: &Arc<Self>,
        actor: &Actor,
        body: wire::InteractionRequest,
    ) -> Result<()> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        match body.kind {
            Some(InteractionType::ApplicationCommand) => {
                self.command_interaction(actor, body, false).await
            }
            Some(InteractionType::ApplicationCommandAutocomplete) => {
                self.command_interaction(actor, body, true).await
            }
            Some(InteractionType::MessageComponent) => {
                self.component_interaction(actor, body).await
            }
            Some(InteractionType::ModalSubmit) => self.modal_submit_interaction(actor, body).await,
            _ => Err(field_error(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of {2, 3, 4, 5}.",
            )),
        }
    }

    /// What every interaction a user posts needs: `application_id`, `channel_id` and `data`
    /// given (400 50035), the application (404 10002), a guild channel the user sees or
    /// their DM with the application's bot (404 10003, 403 50001; another DM: 400 50035),
    /// `guild_id` the channel's (400 50035), the guild hosted here (403 50001), a valid
    /// `nonce` (400 50035).
    pub(super) async fn interaction_context(
        &self,
        actor: &Actor,
        body: wire::InteractionRequest,
    ) -> Result<InteractionContext> {
        let missing = [
            ("application_id", body.application_id.is_none()),
            ("channel_id", body.channel_id.is_none()),
            ("data", body.data.is_none()),
        ];
        let (Some(app_id), Some(channel_id), Some(data)) =
            (body.application_id, body.channel_id, body.data)
        else {
            let mut errs = FieldErrors::new();
            for (field, missing) in missing {
                if missing {
                    errs.add(field, "BASE_TYPE_REQUIRED", "This field is required");
                }
            }
            return Err(errs.into_result().unwrap_err());
        };
        let app = self
            .db
            .application(app_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        let ca = self.channel_access(actor, channel_id).await?;
        let guild_id = ca.channel.guild_id;
        // A DM: only the user's DM with the application's bot (BOT_DM).
        if guild_id.is_none() && !ca.recipients.contains(&app.bot_user_id) {
            return Err(field_error(
                "channel_id",
                "INTERACTION_CHANNEL",
                "Hearth runs interactions in guild channels and in DMs with the application's bot only.",
            ));
        }
        // A forum or media channel holds posts, not messages: an answer could not go there.
        if super::forums::is_forum(ca.channel.kind) {
            return Err(Error::Rule(Rule::ForumMessage));
        }
        if body.guild_id.is_some_and(|g| Some(g.db()) != guild_id) {
            return Err(field_error(
                "guild_id",
                "INTERACTION_GUILD",
                "The channel is not in this guild.",
            ));
        }
        if let Some(ga) = ca.guild.as_ref() {
            Self::hosted_here(&ga.guild)?;
        }
        // Discord's nonce: a string or an integer of at most 25 characters.
        let nonce = match body.nonce {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.chars().count() <= 25 => Some(s),
            Some(serde_json::Value::Number(n)) if n.to_string().len() <= 25 => Some(n.to_string()),
            Some(_) => {
                return Err(field_error(
                    "nonce",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be a string or integer of 25 or fewer characters.",
                ));
            }
        };
        Ok(InteractionContext {
            app,
            ca,
            guild_id,
            data,
            nonce,
            message_id: body.message_id,
        })
    }

    /// Types 2 and 4 (`autocomplete`): the command checks of the module docs. In
    /// autocomplete exactly one option has `focused: true`, declared `autocomplete: true`,
    /// its value partial (any string or number); required options may be missing; nothing
    /// is resolved and the user's sessions get no client event but the choices.
    async fn command_interaction(
        self: &Arc<Self>,
        actor: &Actor,
        body: wire::InteractionRequest,
        autocomplete: bool,
    ) -> Result<()> {
        let cx = self.interaction_context(actor, body).await?;
        let data = &cx.data;
        let Some(command_id) = data.id else {
            return Err(field_error(
                "data.id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let (app, ca) = (&cx.app, &cx.ca);
        let cmd = match cx.guild_id {
            Some(guild_id) => match self.db.member(guild_id, app.bot_user_id).await? {
                None => None,
                Some(_) => match self.db.command(app.id, 0, command_id.db()).await? {
                    // A global command whose `contexts` leave out 0 GUILD is not for guilds.
                    Some(c) => Some(c).filter(|c| {
                        super::commands::stored_body(c)
                            .is_ok_and(|b| b.contexts.as_ref().is_none_or(|x| x.contains(&0)))
                    }),
                    None => self.db.command(app.id, guild_id, command_id.db()).await?,
                },
            },
            // In the bot's DM: global commands usable there (see [`usable_in_dm`]).
            None => match self.db.command(app.id, 0, command_id.db()).await? {
                Some(c) if usable_in_dm(&super::commands::stored_body(&c)?) => Some(c),
                _ => None,
            },
        };
        let kind = ApplicationCommandType::from(data.kind.unwrap_or(1));
        let cmd = cmd
            .filter(|c| data.name.as_deref().is_none_or(|n| n == c.name))
            .filter(|c| ApplicationCommandType::from_db(c.kind) == kind)
            .ok_or(Error::Unknown(Unknown::ApplicationCommand))?;
        // In a guild: USE_APPLICATION_COMMANDS in the channel (overwrites and timeouts
        // included), then the command's own permissions. A DM has neither.
        if ca.guild.is_some() {
            ca.require(perm::USE_APPLICATION_COMMANDS)?;
            if !self.may_use(ca, app, &cmd).await? {
                return Err(Error::MissingPermissions);
            }
        }
        let declared = super::commands::stored_body(&cmd)?.options;
        let mut errs = FieldErrors::new();
        let given = data.options.as_deref().unwrap_or(&[]);
        let mut checked = if autocomplete {
            if kind != ApplicationCommandType::ChatInput {
                return Err(field_error(
                    "data.type",
                    "INTERACTION_AUTOCOMPLETE_TYPE",
                    "Only CHAT_INPUT commands have autocomplete.",
                ));
            }
            check_autocomplete_options(&cmd.name, &declared, given, &mut errs)
        } else {
            check_options(&cmd.name, &declared, given, &mut errs)
        };
        let target = match kind {
            ApplicationCommandType::User | ApplicationCommandType::Message => {
                match data.target_id {
                    Some(t) => Some(t),
                    None => {
                        errs.add(
                            "data.target_id",
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        errs.into_result()?;
        if kind == ApplicationCommandType::User
            && let Some(t) = target
        {
            checked.refs.push(super::interaction_options::OptionRef {
                kind: O::User,
                id: t,
                channel_types: None,
                path: "data.target_id".into(),
            });
        }
        let mut resolved = if autocomplete {
            wire::ResolvedData::default()
        } else {
            self.resolve(actor, ca, &checked.refs).await?
        };
        if !autocomplete {
            let files = data.attachments.as_deref().unwrap_or_default();
            let by_ref = self
                .attachment_options(actor, ca, &checked.refs, files)
                .await?;
            super::uploads::name_attachments(&mut checked.options, &by_ref);
            resolved.attachments = by_ref
                .into_values()
                .map(|a| (a.id.to_string(), a))
                .collect();
        }
        if kind == ApplicationCommandType::Message
            && let Some(t) = target
        {
            // The target is shown to the bot: only a message the invoker may read.
            ca.require(perm::READ_MESSAGE_HISTORY)?;
            let m = self
                .db
                .message(ca.channel.id, t.db())
                .await?
                .ok_or_else(|| {
                    field_error("data.target_id", "INTERACTION_TARGET", "Unknown message")
                })?;
            let w = self.render_one(&m, actor.user.id).await?;
            resolved.messages.insert(t.to_string(), to_value(&w));
        }
        let data = wire::InteractionData::Command(wire::ApplicationCommandData {
            id: Snowflake::from_db(cmd.id),
            name: cmd.name.clone(),
            kind: kind.value(),
            resolved: (!resolved.is_empty()).then_some(resolved),
            options: (!checked.options.is_empty()).then_some(checked.options),
            guild_id: cmd.guild_id.map(Snowflake::from_db),
            target_id: target,
        });
        let kind_of = if autocomplete {
            InteractionType::ApplicationCommandAutocomplete
        } else {
            InteractionType::ApplicationCommand
        };
        self.deliver_interaction(
            actor,
            &cx,
            NewInteraction {
                kind: kind_of,
                command_type: kind.db(),
                name: checked.full_name,
                data,
                message: None,
                message_id: None,
                parent_id: None,
            },
        )
        .await
    }

    /// Stores the interaction and delivers it: INTERACTION_CREATE with the interaction
    /// object to the application's bot; to the user's sessions Hearth's client event
    /// `INTERACTION_CREATE {id, nonce}` and, unless a callback settles it within
    /// [`ACK_DEADLINE`], `INTERACTION_FAILURE` (none of these for autocomplete).
    pub(super) async fn deliver_interaction(
        self: &Arc<Self>,
        actor: &Actor,
        cx: &InteractionContext,
        n: NewInteraction,
    ) -> Result<()> {
        let (app, ca, guild_id) = (&cx.app, &cx.ca, cx.guild_id);
        let id = self.next_id();
        let token = format!("interaction.{}", super::auth::random_token());
        let now = now_ms();
        let row = InteractionRow {
            id,
            application_id: app.id,
            token_hash: super::auth::token_hash(&token),
            kind: n.kind.value() as i64,
            command_type: n.command_type,
            user_id: actor.user.id,
            guild_id,
            channel_id: ca.channel.id,
            name: n.name,
            nonce: cx.nonce.clone(),
            state: PENDING,
            response_type: None,
            ephemeral: 0,
            original_id: None,
            created_at: now,
            expires_at: now
                + (self.config.limits.interaction_token_seconds as i64).saturating_mul(1000),
            message_id: n.message_id,
            modal: None,
            parent_id: n.parent_id,
        };
        self.db.insert_interaction(&row, now).await?;

        let gid = guild_id.map(Snowflake::from_db);
        // Who invoked it and the bot's permissions there: a member of the guild, or (in the
        // bot's DM, context 1) the user and the DM's permissions.
        let (member, user, app_permissions, channel) = match gid {
            Some(g) => {
                let bot_ga = self.guild_access(g, app.bot_user_id).await?;
                let mut member = self.member_wire_by_id(g.db(), actor.user.id, false).await?;
                member.permissions = Some(wire::perm_string(ca.perms));
                let mut channel = to_value(&Self::channel_wire(&ca.channel, &ca.overwrites, None));
                channel["permissions"] = wire::perm_string(ca.perms).into();
                (
                    Some(member),
                    None,
                    wire::perm_string(bot_ga.in_channel(&ca.overwrites)),
                    channel,
                )
            }
            None => {
                let me = self.user_wire(&actor.user, false);
                let mut channel = to_value(&Self::channel_wire(
                    &ca.channel,
                    &[],
                    Some(vec![me.clone()]),
                ));
                channel["permissions"] = wire::perm_string(ca.perms).into();
                (None, Some(me), wire::perm_string(ca.perms), channel)
            }
        };
        let interaction = wire::Interaction {
            id: Snowflake::from_db(id),
            application_id: Snowflake::from_db(app.id),
            kind: n.kind,
            data: n.data,
            message: n.message.map(Box::new),
            guild_id: gid,
            guild: gid.map(|g| wire::InteractionGuild {
                id: g,
                locale: "en-US".into(),
                features: vec![],
            }),
            channel,
            channel_id: Snowflake::from_db(ca.channel.id),
            member,
            user,
            token,
            version: 1,
            app_permissions,
            locale: "en-US".into(),
            guild_locale: gid.map(|_| "en-US".into()),
            entitlements: vec![],
            // Discord: the guild for a guild install; "0" in the bot's DM.
            authorizing_integration_owners: BTreeMap::from([(
                "0".to_string(),
                gid.unwrap_or(Snowflake(0)),
            )]),
            // 0 GUILD, 1 BOT_DM.
            context: if gid.is_some() { 0 } else { 1 },
            attachment_size_limit: self.config.media.max_file_bytes,
        };
        let silent = n.kind == InteractionType::ApplicationCommandAutocomplete;
        let client_event = wire::InteractionClientEvent {
            id: Snowflake::from_db(id),
            nonce: cx.nonce.clone(),
        };
        let endpoint = self.db.application_endpoint_url(app.id).await?;
        if endpoint.is_none() {
            self.publish(Self::event_of(
                Event::InteractionCreate,
                Audience::Users(vec![Snowflake::from_db(app.bot_user_id)]),
                0,
                to_value(&interaction),
            ));
        }
        if !silent {
            self.publish(Self::event_of(
                Event::InteractionCreate,
                Audience::Users(vec![actor.id()]),
                0,
                to_value(&client_event),
            ));
        }
        if let Some(url) = endpoint {
            // Over HTTP the request's own deadline decides ([`super::interaction_http`]).
            self.post_interaction(url, interaction, actor.id(), client_event, !silent);
            return Ok(());
        }
        // The deadline: unless a callback settled it first, the interaction fails and the
        // user's sessions are told.
        let h = self.clone();
        let user = actor.id();
        tokio::spawn(async move {
            tokio::time::sleep(ACK_DEADLINE).await;
            h.fail_interaction(id, user, &client_event, !silent).await;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: i64, kind: PT, permission: bool) -> CommandPermission {
        CommandPermission {
            id: Snowflake::from_db(id),
            kind,
            permission,
        }
    }

    #[test]
    fn command_permission_verdicts() {
        let (g, u, r1, r2, c) = (100, 7, 201, 202, 300);
        assert_eq!(verdict(&[], g, u, &[r1], c), None);
        assert_eq!(
            verdict(&[p(u, PT::User, false)], g, u, &[r1], c),
            Some(false)
        );
        let roles = [p(r1, PT::Role, false), p(r2, PT::Role, true)];
        assert_eq!(verdict(&roles, g, u, &[r1, r2], c), Some(true));
        assert_eq!(verdict(&roles, g, u, &[r1], c), Some(false));
        assert_eq!(verdict(&[p(g, PT::Role, false)], g, u, &[], c), Some(false));
        assert_eq!(
            verdict(
                &[p(g - 1, PT::Channel, false), p(u, PT::User, true)],
                g,
                u,
                &[],
                c
            ),
            Some(false)
        );
    }
}
