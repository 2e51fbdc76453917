//! Application commands (Discord "Interactions > Application Commands"): global commands
//! under `/applications/{app}/commands` and guild commands under
//! `/applications/{app}/guilds/{guild}/commands` (list, create, get, edit, delete, bulk
//! overwrite), and their guild permissions (`.../guilds/{guild}/commands/permissions`,
//! `.../commands/{id}/permissions`), and the read-only index of the commands usable in a
//! guild a member's client lists (`GET /guilds/{guild}/application-command-index`).
//!
//! Who may manage an application's commands: its bot (bot token) and its owner (user
//! token); anyone else gets 403 20012, an unknown application 404 10002. Guild commands also
//! need the application's bot in the guild (else 403 50001; 404 10004 for no such guild).
//! Each scope (global, or one guild) holds at most [`MAX_CHAT_INPUT`] CHAT_INPUT,
//! [`MAX_USER`] USER and [`MAX_MESSAGE`] MESSAGE commands (400 30032), counted in the
//! writing transaction. Creating a command whose name and type exist in the scope replaces
//! that command (same id, new version; 200 instead of 201), as Discord does. A bulk overwrite
//! replaces the scope's commands in one transaction, keeping the ids of commands whose name
//! and type match. Validation: [`super::command_rules`].
//!
//! Command permissions are set by people, not bots (Discord requires a user's Bearer token):
//! a user token of a member with MANAGE_GUILD and MANAGE_ROLES (403 20001 for a bot token,
//! 50013 without the permissions), at most [`MAX_COMMAND_PERMISSIONS`] entries naming roles
//! of the guild (the guild's id: `@everyone`), users, or channels of the guild (the guild's
//! id minus 1: every channel). Each change is announced to the guild with
//! `APPLICATION_COMMAND_PERMISSIONS_UPDATE` (no intent needed), which never crosses
//! federation. Invoking commands: [`super::interactions`].

use serde_json::{Value, json};

use super::command_rules::{CommandSpec, StoredBody, check_command};
use super::{Actor, Hearth, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::Event;
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{ApplicationRow, CommandRow, CommandWrite};
use crate::wire::{
    self, ApplicationCommandBody, ApplicationCommandPermissionType as PT, ApplicationCommandType,
};

/// CHAT_INPUT commands per scope (Discord: 100).
pub const MAX_CHAT_INPUT: i64 = 100;
/// USER commands per scope (Discord: 5).
pub const MAX_USER: i64 = 5;
/// MESSAGE commands per scope (Discord: 5).
pub const MAX_MESSAGE: i64 = 5;
/// Entries of one command's permissions in a guild (Discord: 100).
pub const MAX_COMMAND_PERMISSIONS: usize = 100;

/// The per-scope limit of commands of type `kind`.
fn max_of(kind: ApplicationCommandType) -> i64 {
    match kind {
        ApplicationCommandType::User => MAX_USER,
        ApplicationCommandType::Message => MAX_MESSAGE,
        _ => MAX_CHAT_INPUT,
    }
}

/// The stored body of a command row (options, default permissions ...).
pub(super) fn stored_body(r: &CommandRow) -> Result<StoredBody> {
    serde_json::from_str(&r.body).map_err(Error::internal)
}

/// The command object of a stored row.
fn command_wire(r: &CommandRow) -> Result<wire::ApplicationCommand> {
    let b: StoredBody = serde_json::from_str(&r.body).map_err(Error::internal)?;
    Ok(wire::ApplicationCommand {
        id: Snowflake::from_db(r.id),
        kind: ApplicationCommandType::from_db(r.kind),
        application_id: Snowflake::from_db(r.application_id),
        guild_id: r.guild_id.map(Snowflake::from_db),
        name: r.name.clone(),
        name_localizations: b.name_localizations,
        description: b.description,
        description_localizations: b.description_localizations,
        options: b.options,
        default_member_permissions: b.default_member_permissions,
        dm_permission: b.dm_permission,
        default_permission: true,
        nsfw: b.nsfw,
        integration_types: b.integration_types,
        contexts: b.contexts,
        version: Snowflake::from_db(r.version),
    })
}

/// The validated spec of a stored row (for edits).
fn spec_of(r: &CommandRow) -> Result<CommandSpec> {
    Ok(CommandSpec {
        kind: ApplicationCommandType::from_db(r.kind),
        name: r.name.clone(),
        body: serde_json::from_str(&r.body).map_err(Error::internal)?,
    })
}

impl Hearth {
    /// The application `app_id` if the caller is its bot or its owner. Errors: 404 10002,
    /// 403 20012.
    async fn command_app(&self, actor: &Actor, app_id: Snowflake) -> Result<ApplicationRow> {
        let app = self
            .db
            .application(app_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        if actor.user.id != app.bot_user_id && actor.user.id != app.owner_id {
            return Err(Error::Rule(Rule::NotAppAuthorized));
        }
        Ok(app)
    }

    /// The scope of a route: 0 (global) or the guild, whose members must include the
    /// application's bot. Errors: 404 10004, 403 50001.
    async fn command_scope(&self, app: &ApplicationRow, guild: Option<Snowflake>) -> Result<i64> {
        let Some(g) = guild else { return Ok(0) };
        if self.db.member(g.db(), app.bot_user_id).await?.is_none() {
            return Err(match self.db.guild(g.db()).await? {
                Some(_) => Error::MissingAccess,
                None => Error::Unknown(Unknown::Guild),
            });
        }
        Ok(g.db())
    }

    /// The stored row of a validated command of `app` in `scope`, with a new version.
    fn command_row(&self, app: &ApplicationRow, scope: i64, spec: &CommandSpec) -> CommandRow {
        CommandRow {
            id: self.next_id(),
            application_id: app.id,
            scope,
            guild_id: (scope != 0).then_some(scope),
            kind: spec.kind.db(),
            name: spec.name.clone(),
            version: self.next_id(),
            body: serde_json::to_string(&spec.body).unwrap_or_default(),
        }
    }

    /// `GET /applications/{app}/commands` and `GET .../guilds/{guild}/commands`: the
    /// scope's commands by id (localizations always included). Errors: see the module docs.
    pub async fn list_commands(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Option<Snowflake>,
    ) -> Result<Vec<wire::ApplicationCommand>> {
        let app = self.command_app(actor, app_id).await?;
        let scope = self.command_scope(&app, guild).await?;
        self.db
            .commands(app.id, scope)
            .await?
            .iter()
            .map(command_wire)
            .collect()
    }

    /// `GET /guilds/{guild}/application-command-index` (read-only, for a member's client):
    /// the applications whose bot is in the guild and their global and guild commands.
    /// The commands' permissions are not applied here (an invocation checks them: 403
    /// 50013). Errors: 404 10004 (no such guild), 403 50001 (not a member).
    pub async fn command_index(
        &self,
        actor: &Actor,
        guild: Snowflake,
    ) -> Result<wire::ApplicationCommandIndex> {
        if self.db.member(guild.db(), actor.user.id).await?.is_none() {
            return Err(match self.db.guild(guild.db()).await? {
                Some(_) => Error::MissingAccess,
                None => Error::Unknown(Unknown::Guild),
            });
        }
        let rows = self.db.guild_command_index(guild.db()).await?;
        self.index_of(rows, None).await
    }

    /// `GET /channels/{channel}/application-command-index` (read-only, for a member's client,
    /// which lists it when the user types `/` there): as the guild's index, but only the
    /// commands the caller may use in that channel (the command's and the application's
    /// permissions in the guild, then `default_member_permissions`, as an invocation checks
    /// them); none without USE_APPLICATION_COMMANDS there or in a forum or media channel, and
    /// no global command whose `contexts` leave out GUILD. A DM or group DM has no commands
    /// here (empty index). Errors: 404 10003 (no such
    /// channel), 403 50001 (a channel the caller cannot see).
    pub async fn channel_command_index(
        &self,
        actor: &Actor,
        channel: Snowflake,
    ) -> Result<wire::ApplicationCommandIndex> {
        let ca = self.channel_access(actor, channel).await?;
        let Some(ga) = ca.guild.as_ref() else {
            return self.index_of(vec![], None).await;
        };
        // As an invocation: nothing without USE_APPLICATION_COMMANDS or in a forum, and no
        // global command whose `contexts` leave out 0 GUILD.
        if !perm::has(ca.perms, perm::USE_APPLICATION_COMMANDS)
            || super::forums::is_forum(ca.channel.kind)
        {
            return self.index_of(vec![], None).await;
        }
        let rows = self
            .db
            .guild_command_index(ga.guild.id)
            .await?
            .into_iter()
            .filter(|c| {
                c.scope != 0
                    || stored_body(c)
                        .is_ok_and(|b| b.contexts.as_ref().is_none_or(|x| x.contains(&0)))
            })
            .collect();
        self.index_of(rows, Some(&ca)).await
    }

    /// The index of `rows` with their applications; with `usable_in`, only the commands its
    /// member may use there.
    async fn index_of(
        &self,
        rows: Vec<CommandRow>,
        usable_in: Option<&super::ChannelAccess>,
    ) -> Result<wire::ApplicationCommandIndex> {
        let mut apps: Vec<crate::storage::ApplicationRow> = Vec::new();
        let mut kept = Vec::with_capacity(rows.len());
        for r in rows {
            let app = match apps.iter().find(|a| a.id == r.application_id) {
                Some(a) => a.clone(),
                None => match self.db.application(r.application_id).await? {
                    Some(a) => {
                        apps.push(a.clone());
                        a
                    }
                    None => continue,
                },
            };
            if let Some(ca) = usable_in
                && !self.may_use(ca, &app, &r).await?
            {
                continue;
            }
            kept.push(r);
        }
        let rows = kept;
        let applications: Vec<wire::IndexApplication> = apps
            .into_iter()
            .filter(|app| rows.iter().any(|r| r.application_id == app.id))
            .map(|app| wire::IndexApplication {
                id: Snowflake::from_db(app.id),
                name: app.name,
                description: app.description,
                icon: None,
                bot_id: Snowflake::from_db(app.bot_user_id),
            })
            .collect();
        let version = Snowflake::from_db(rows.iter().map(|r| r.version).max().unwrap_or(0));
        Ok(wire::ApplicationCommandIndex {
            applications,
            application_commands: rows.iter().map(command_wire).collect::<Result<_>>()?,
            version,
        })
    }

    /// `GET .../commands/{id}`. Errors: 404 10063, and see the module docs.
    pub async fn get_command(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Option<Snowflake>,
        id: Snowflake,
    ) -> Result<wire::ApplicationCommand> {
        let app = self.command_app(actor, app_id).await?;
        let scope = self.command_scope(&app, guild).await?;
        let row = self
            .db
            .command(app.id, scope, id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::ApplicationCommand))?;
        command_wire(&row)
    }

    /// `POST .../commands`: creates a command, or replaces the scope's command of the same
    /// name and type; `(command, created)`. Errors: 400 50035 (see
    /// [`super::command_rules`]), 400 30032 at the scope's limit, and see the module docs.
    pub async fn create_command(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Option<Snowflake>,
        body: ApplicationCommandBody,
    ) -> Result<(wire::ApplicationCommand, bool)> {
        let app = self.command_app(actor, app_id).await?;
        let scope = self.command_scope(&app, guild).await?;
        let mut errs = FieldErrors::new();
        let spec = check_command(body, scope == 0, "", &mut errs);
        errs.into_result()?;
        let row = self.command_row(&app, scope, &spec);
        match self.db.upsert_command(&row, max_of(spec.kind)).await? {
            CommandWrite::Stored(r, created) => Ok((command_wire(&r)?, created)),
            CommandWrite::Limit => Err(Error::Rule(Rule::MaxApplicationCommands)),
            CommandWrite::NameTaken | CommandWrite::Missing => {
                Err(Error::internal("upsert answered an update outcome"))
            }
        }
    }

    /// `PATCH .../commands/{id}`: the given fields replace the stored ones (`type` cannot
    /// change); a new version; a rename drops the command's permissions. Errors: 404 10063,
    /// 400 50035 (also for a name another command of the type has), and see the module docs.
    pub async fn edit_command(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Option<Snowflake>,
        id: Snowflake,
        body: ApplicationCommandBody,
    ) -> Result<wire::ApplicationCommand> {
        let app = self.command_app(actor, app_id).await?;
        let scope = self.command_scope(&app, guild).await?;
        let old = self
            .db
            .command(app.id, scope, id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::ApplicationCommand))?;
        let mut errs = FieldErrors::new();
        let spec = check_command(spec_of(&old)?.merged(body), scope == 0, "", &mut errs);
        errs.into_result()?;
        let row = CommandRow {
            id: old.id,
            ..self.command_row(&app, scope, &spec)
        };
        match self.db.update_command(&row).await? {
            CommandWrite::Stored(r, _) => command_wire(&r),
            CommandWrite::Missing => Err(Error::Unknown(Unknown::ApplicationCommand)),
            CommandWrite::NameTaken => Err(field_error(
                "name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )),
            CommandWrite::Limit => Err(Error::Rule(Rule::MaxApplicationCommands)),
        }
    }

    /// `DELETE .../commands/{id}` (with its permissions). Errors: 404 10063, and see the
    /// module docs.
    pub async fn delete_command(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Option<Snowflake>,
        id: Snowflake,
    ) -> Result<()> {
        let app = self.command_app(actor, app_id).await?;
        let scope = self.command_scope(&app, guild).await?;
        if !self.db.delete_command(app.id, scope, id.db()).await? {
            return Err(Error::Unknown(Unknown::ApplicationCommand));
        }
        Ok(())
    }

    /// `PUT .../commands` with an array of commands: the scope's commands become exactly
    /// these, in one transaction (a reader sees the old set or the new one). Commands whose
    /// name and type match a stored one keep its id (and version, when unchanged); the
    /// others are new; the rest are deleted with their permissions. Errors: 400 50035 with
    /// paths under the array index (`0.name`), duplicate names included; 400 30032 when a
    /// type exceeds its limit; and see the module docs.
    pub async fn overwrite_commands(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Option<Snowflake>,
        bodies: Vec<ApplicationCommandBody>,
    ) -> Result<Vec<wire::ApplicationCommand>> {
        let app = self.command_app(actor, app_id).await?;
        let scope = self.command_scope(&app, guild).await?;
        let mut errs = FieldErrors::new();
        let mut specs: Vec<CommandSpec> = Vec::with_capacity(bodies.len());
        for (i, b) in bodies.into_iter().enumerate() {
            let spec = check_command(b, scope == 0, &i.to_string(), &mut errs);
            if specs
                .iter()
                .any(|s| s.kind == spec.kind && s.name == spec.name)
            {
                errs.add(
                    format!("{i}.name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                );
            }
            specs.push(spec);
        }
        errs.into_result()?;
        for kind in [
            ApplicationCommandType::ChatInput,
            ApplicationCommandType::User,
            ApplicationCommandType::Message,
        ] {
            if specs.iter().filter(|s| s.kind == kind).count() as i64 > max_of(kind) {
                return Err(Error::Rule(Rule::MaxApplicationCommands));
            }
        }
        let rows: Vec<CommandRow> = specs
            .iter()
            .map(|s| self.command_row(&app, scope, s))
            .collect();
        self.db
            .overwrite_commands(app.id, scope, &rows)
            .await?
            .iter()
            .map(command_wire)
            .collect()
    }

    // ---- permissions ----------------------------------------------------------------

    /// The application whose command permissions a caller reads in `guild`: its bot or
    /// owner (the bot being in the guild), or a member of the guild with a user token.
    async fn permissions_app(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Snowflake,
    ) -> Result<ApplicationRow> {
        match self.command_app(actor, app_id).await {
            Ok(app) => {
                self.command_scope(&app, Some(guild)).await?;
                Ok(app)
            }
            Err(Error::Rule(Rule::NotAppAuthorized)) if !actor.is_bot() => {
                self.guild_access(guild, actor.user.id).await?;
                self.db
                    .application(app_id.db())
                    .await?
                    .ok_or(Error::Unknown(Unknown::Application))
            }
            Err(e) => Err(e),
        }
    }

    fn permissions_wire(
        app: &ApplicationRow,
        guild: Snowflake,
        command_id: i64,
        json: &str,
    ) -> Result<wire::GuildCommandPermissions> {
        Ok(wire::GuildCommandPermissions {
            id: Snowflake::from_db(command_id),
            application_id: Snowflake::from_db(app.id),
            guild_id: guild,
            permissions: serde_json::from_str(json).map_err(Error::internal)?,
        })
    }

    /// `GET /applications/{app}/guilds/{guild}/commands/permissions`: every stored
    /// permission set of the application in the guild (see [`Self::permissions_app`]).
    pub async fn guild_command_permissions(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Snowflake,
    ) -> Result<Vec<wire::GuildCommandPermissions>> {
        let app = self.permissions_app(actor, app_id, guild).await?;
        self.db
            .command_permissions(guild.db(), app.id)
            .await?
            .iter()
            .map(|(c, j)| Self::permissions_wire(&app, guild, *c, j))
            .collect()
    }

    /// `GET /applications/{app}/guilds/{guild}/commands/{id}/permissions`. Errors: 404
    /// 10066 when none are set.
    pub async fn command_permissions(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Snowflake,
        id: Snowflake,
    ) -> Result<wire::GuildCommandPermissions> {
        let app = self.permissions_app(actor, app_id, guild).await?;
        let json = self
            .db
            .command_permission(guild.db(), app.id, id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::CommandPermissions))?;
        Self::permissions_wire(&app, guild, id.db(), &json)
    }

    /// `PUT /applications/{app}/guilds/{guild}/commands/{id}/permissions`
    /// `{permissions: [{id, type, permission}]}`: replaces the command's (or, with the
    /// application's id, the application's) permissions in the guild and announces
    /// `APPLICATION_COMMAND_PERMISSIONS_UPDATE` to the guild.
    ///
    /// # Errors
    /// 403 20001 for a bot token; 404 10002; 404 10004 / 403 50001 for a guild the caller
    /// is not in; 403 50013 without MANAGE_GUILD and MANAGE_ROLES; 403 50001 when the
    /// application's bot is not in the guild; 404 10063 for a command that is neither
    /// global nor the guild's; 400 50035 for more than 100 entries, an unknown role or
    /// channel, an unknown user, a duplicate target.
    pub async fn edit_command_permissions(
        &self,
        actor: &Actor,
        app_id: Snowflake,
        guild: Snowflake,
        id: Snowflake,
        body: wire::EditCommandPermissionsBody,
    ) -> Result<wire::GuildCommandPermissions> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        let app = self
            .db
            .application(app_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        let ga = self.guild_access(guild, actor.user.id).await?;
        ga.require(perm::MANAGE_GUILD | perm::MANAGE_ROLES)?;
        if self
            .db
            .member(ga.guild.id, app.bot_user_id)
            .await?
            .is_none()
        {
            return Err(Error::MissingAccess);
        }
        let Some(list) = body.permissions else {
            return Err(field_error(
                "permissions",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let mut errs = FieldErrors::new();
        if list.len() > MAX_COMMAND_PERMISSIONS {
            errs.add(
                "permissions",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_COMMAND_PERMISSIONS} or fewer in length."),
            );
        }
        errs.into_result()?;
        let channels = self.db.channels(ga.guild.id).await?;
        let mut errs = FieldErrors::new();
        for (i, p) in list.iter().enumerate() {
            let path = format!("permissions.{i}.id");
            let known = match p.kind {
                PT::Role => ga.role(p.id.db()).is_some(),
                PT::Channel => {
                    p.id.db() == ga.guild.id - 1 || channels.iter().any(|c| c.id == p.id.db())
                }
                PT::User => self.db.user(p.id.db()).await?.is_some(),
                PT::Unknown(_) => {
                    errs.add(
                        format!("permissions.{i}.type"),
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {1, 2, 3}.",
                    );
                    continue;
                }
            };
            if !known {
                errs.add(
                    &path,
                    "APPLICATION_COMMAND_PERMISSIONS_INVALID_ID",
                    format!("Unknown {:?} {}.", p.kind, p.id),
                );
            }
            if list[..i].iter().any(|q| q.id == p.id && q.kind == p.kind) {
                errs.add(
                    &path,
                    "APPLICATION_COMMAND_PERMISSIONS_DUPLICATE_ID",
                    "Each target may appear once.",
                );
            }
        }
        errs.into_result()?;
        let json = serde_json::to_string(&list).map_err(Error::internal)?;
        // Audited as Discord does (APPLICATION_COMMAND_PERMISSION_UPDATE 121): one change per
        // target whose permission changed, keyed by the target's id, the permission objects
        // as old and new values; `options.application_id`. The old list is the one the
        // writing transaction replaces (read under its lock).
        let audit = |old: &str| {
            let changes = permission_changes(old, &json);
            (!changes.is_empty()).then(|| {
                self.audit_row(
                    ga.guild.id,
                    actor,
                    Some(id.db()),
                    super::audit_action::APPLICATION_COMMAND_PERMISSION_UPDATE,
                    Value::Array(changes),
                    Some(json!({"application_id": app_id})),
                    None,
                )
            })
        };
        if !self
            .db
            .set_command_permissions(ga.guild.id, app.id, id.db(), &json, audit)
            .await?
        {
            return Err(Error::Unknown(Unknown::ApplicationCommand));
        }
        let out = Self::permissions_wire(&app, guild, id.db(), &json)?;
        self.dispatch(
            Event::ApplicationCommandPermissionsUpdate,
            Self::guild_audience(ga.guild.id),
            0,
            to_value(&out),
        );
        Ok(out)
    }
}

/// The audit changes between two stored permission lists (JSON arrays of
/// `{id, type, permission}`): one `{key: target id, old_value, new_value}` per target added,
/// removed or changed, in the new list's order then the removed ones.
fn permission_changes(old: &str, new: &str) -> Vec<Value> {
    let by_target = |s: &str| -> Vec<(String, Value)> {
        let list: Vec<Value> = serde_json::from_str(s).unwrap_or_default();
        list.into_iter()
            .map(|p| (p["id"].as_str().unwrap_or_default().to_owned(), p))
            .collect()
    };
    super::changes_between(&by_target(old), &by_target(new))
}
