//! Bot applications, adding bots to guilds (OAuth2 `bot` scope), and instance
//! administration (Discord "Resources > Application", "Topics > OAuth2 > Bots").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::auth::{random_token, token_hash};
use super::{Actor, Hearth, audit_action as A};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::intents;
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{ApplicationRow, RoleRow, UserRow, now_ms};
use crate::wire;

/// Application flags that approve privileged intents (Discord "Application Flags"):
/// GATEWAY_PRESENCE(_LIMITED), GATEWAY_GUILD_MEMBERS(_LIMITED), GATEWAY_MESSAGE_CONTENT(_LIMITED).
pub mod app_flags {
    pub const GATEWAY_PRESENCE: i64 = 1 << 12;
    pub const GATEWAY_PRESENCE_LIMITED: i64 = 1 << 13;
    pub const GATEWAY_GUILD_MEMBERS: i64 = 1 << 14;
    pub const GATEWAY_GUILD_MEMBERS_LIMITED: i64 = 1 << 15;
    pub const GATEWAY_MESSAGE_CONTENT: i64 = 1 << 18;
    pub const GATEWAY_MESSAGE_CONTENT_LIMITED: i64 = 1 << 19;
    /// Flags an owner may set with `PATCH /applications/@me`.
    pub const SETTABLE: i64 =
        GATEWAY_PRESENCE_LIMITED | GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED;
}

/// Privileged intents an application's flags approve.
pub fn approved_intents(flags: i64) -> u64 {
    use app_flags::*;
    let mut i = 0;
    if flags & (GATEWAY_PRESENCE | GATEWAY_PRESENCE_LIMITED) != 0 {
        i |= intents::GUILD_PRESENCES;
    }
    if flags & (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED) != 0 {
        i |= intents::GUILD_MEMBERS;
    }
    if flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED) != 0 {
        i |= intents::MESSAGE_CONTENT;
    }
    i
}

impl Hearth {
    fn bot_token_for(bot_id: i64) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(bot_id.to_string()),
            random_token()
        )
    }

    async fn application_wire(
        &self,
        app: &ApplicationRow,
        token: Option<String>,
    ) -> Result<wire::Application> {
        let owner = self.user_wire_by_id(app.owner_id).await?;
        let bot = self.user_wire_by_id(app.bot_user_id).await?;
        let (verify_key, interactions_endpoint_url) = self.interactions_fields(app.id).await?;
        Ok(wire::Application {
            id: Snowflake::from_db(app.id),
            name: app.name.clone(),
            icon: None,
            description: app.description.clone(),
            bot_public: app.bot_public,
            bot_require_code_grant: false,
            verify_key,
            interactions_endpoint_url,
            flags: app.flags,
            owner,
            bot,
            team: None,
            summary: String::new(),
            rpc_origins: vec![],
            token,
        })
    }

    /// `POST /applications` `{name, description?}`: creates an application with a bot user
    /// (same id) and returns it with the bot `token` (shown once). Humans only.
    pub async fn create_application(
        &self,
        actor: &Actor,
        body: wire::CreateApplicationBody,
    ) -> Result<wire::Application> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        let mut errs = FieldErrors::new();
        let name = body.name.unwrap_or_default();
        if !(2..=32).contains(&name.trim().chars().count()) {
            errs.add(
                "name",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 2 and 32 in length.",
            );
        }
        errs.into_result()?;
        let id = self.next_id();
        // Bot usernames follow the same rules; derive one and make it unique.
        let base: String = name
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        let username = format!(
            "{}_{}",
            if base.len() >= 2 { base } else { "bot".into() },
            // The low digits of a snowflake change with every id (time and increment).
            &id.to_string()[id.to_string().len().saturating_sub(8)..]
        );
        let bot = UserRow {
            id,
            username,
            global_name: Some(name.trim().to_string()),
            email: None,
            password_hash: None,
            avatar: None,
            bio: String::new(),
            bot: true,
            admin: false,
            suspended: false,
            dm_policy: 0,
            created_at: now_ms(),
            home_server: None,
            mfa_enabled: false,
            webauthn_enabled: false,
            banner: None,
            email_verified: false,
        };
        let token = Self::bot_token_for(id);
        let app = ApplicationRow {
            id,
            name: name.trim().to_string(),
            description: body
                .description
                .unwrap_or_default()
                .chars()
                .take(400)
                .collect(),
            owner_id: actor.user.id,
            bot_user_id: id,
            bot_token_hash: token_hash(&token),
            bot_public: true,
            flags: 0,
            created_at: now_ms(),
        };
        // The bot user and its application in one transaction.
        self.db.create_application(&bot, &app).await?;
        self.application_wire(&app, Some(token)).await
    }

    /// `GET /applications` (own applications, Hearth extension).
    pub async fn my_applications(&self, actor: &Actor) -> Result<Vec<wire::Application>> {
        let mut out = vec![];
        for a in self.db.applications_of(actor.user.id).await? {
            out.push(self.application_wire(&a, None).await?);
        }
        Ok(out)
    }

    async fn owned_application(&self, actor: &Actor, app_id: Snowflake) -> Result<ApplicationRow> {
        let app = self
            .db
            .application(app_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        if app.owner_id != actor.user.id && app.bot_user_id != actor.user.id {
            return Err(Error::Unknown(Unknown::Application));
        }
        Ok(app)
    }

    /// `GET /applications/{id}/emojis` (Discord "Resources > Emoji", application emoji, which
    /// Hearth does not have): `{"items": []}` for the application's bot or owner. Errors:
    /// 404 10002 for anyone else.
    pub async fn application_emojis(
        &self,
        actor: &Actor,
        app_id: Snowflake,
    ) -> Result<serde_json::Value> {
        self.owned_application(actor, app_id).await?;
        Ok(serde_json::json!({"items": []}))
    }

    /// `POST /applications/{id}/bot/reset`: new bot token; the old one stops working and the
    /// bot's gateway sessions are closed. Owner only, re-authenticated (401 60003 without a
    /// recent proof, see `service::reauth`).
    pub async fn reset_bot_token(&self, actor: &Actor, app_id: Snowflake) -> Result<String> {
        let app = self.owned_application(actor, app_id).await?;
        if app.owner_id != actor.user.id {
            return Err(Error::Unknown(Unknown::Application));
        }
        self.require_reauth(actor, None).await?;
        let token = Self::bot_token_for(app.bot_user_id);
        self.db.set_bot_token(app.id, &token_hash(&token)).await?;
        self.control(crate::events::Control::SessionsRevoked {
            user_id: Snowflake::from_db(app.bot_user_id),
            sessions: None,
        });
        Ok(token)
    }

    /// `GET /oauth2/applications/@me` and `GET /applications/@me` (bot token).
    pub async fn current_application(&self, actor: &Actor) -> Result<wire::Application> {
        if !actor.is_bot() {
            return Err(Error::Rule(Rule::OnlyBots));
        }
        let app = self
            .db
            .application_by_bot(actor.user.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        self.application_wire(&app, None).await
    }

    /// The application of a bot user, if any (gateway: privileged intent approval).
    pub async fn application_of_bot(&self, bot_user_id: i64) -> Result<Option<ApplicationRow>> {
        self.db.application_by_bot(bot_user_id).await
    }

    /// `PATCH /applications/@me` (bot token) or `PATCH /applications/{id}` (owner):
    /// `name`, `description`, `flags` (only the `*_LIMITED` privileged-intent bits),
    /// `interactions_endpoint_url` (verified first: `super::interaction_http`; 400 50035).
    pub async fn modify_application(
        &self,
        actor: &Actor,
        app_id: Option<Snowflake>,
        body: wire::ModifyApplicationBody,
    ) -> Result<wire::Application> {
        let app = match app_id {
            Some(id) => self.owned_application(actor, id).await?,
            None => self
                .db
                .application_by_bot(actor.user.id)
                .await?
                .ok_or(Error::Unknown(Unknown::Application))?,
        };
        if let Some(f) = body.flags
            && f & !app_flags::SETTABLE != 0
        {
            return Err(field_error(
                "flags",
                "BASE_TYPE_CHOICES",
                "Only the GATEWAY_*_LIMITED flags can be set.",
            ));
        }
        if body
            .name
            .as_ref()
            .is_some_and(|n| !(2..=32).contains(&n.trim().chars().count()))
        {
            return Err(field_error(
                "name",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 2 and 32 in length.",
            ));
        }
        // The endpoint is verified before anything is stored (see `interaction_http`).
        if let Some(url) = body.interactions_endpoint_url {
            self.set_interactions_endpoint(app.id, url).await?;
        }
        let flags = body.flags.map(|f| (app.flags & !app_flags::SETTABLE) | f);
        self.db
            .update_application(
                app.id,
                body.name.as_deref().map(str::trim),
                body.description.as_deref(),
                flags,
            )
            .await?;
        let app = self
            .db
            .application(app.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        self.application_wire(&app, None).await
    }

    /// `POST /oauth2/authorize?client_id=&scope=bot` `{guild_id, permissions, authorize}`:
    /// adds the application's bot to a guild. The caller needs MANAGE_GUILD there and may
    /// only grant permissions they hold; a managed role with those permissions is created
    /// for the bot, as Discord does. Errors: 10002, 50013, 40007 (bot banned).
    pub async fn authorize_bot(
        &self,
        actor: &Actor,
        client_id: Snowflake,
        scope: &str,
        body: wire::AuthorizeBody,
    ) -> Result<serde_json::Value> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        if !scope.split([' ', '+']).any(|s| s == "bot") {
            return Err(field_error(
                "scope",
                "BASE_TYPE_CHOICES",
                "Only the bot scope is supported.",
            ));
        }
        if body.authorize == Some(false) {
            return Ok(json!({"location": null}));
        }
        let app = self
            .db
            .application(client_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Application))?;
        if !app.bot_public && app.owner_id != actor.user.id {
            return Err(Error::Unknown(Unknown::Application));
        }
        let Some(guild_id) = body.guild_id else {
            return Err(field_error(
                "guild_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::MANAGE_GUILD)?;
        let permissions = body.permissions.unwrap_or(0) & perm::ALL;
        if permissions & !ga.base() != 0 {
            return Err(Error::MissingPermissions);
        }
        if self.db.ban(ga.guild.id, app.bot_user_id).await?.is_some() {
            return Err(Error::Rule(Rule::Banned));
        }
        if self
            .db
            .member(ga.guild.id, app.bot_user_id)
            .await?
            .is_none()
        {
            let role = RoleRow {
                id: self.next_id(),
                guild_id: ga.guild.id,
                name: app.name.clone(),
                color: 0,
                hoist: false,
                position: 1,
                permissions: permissions as i64,
                managed: true,
                mentionable: false,
                bot_id: Some(app.bot_user_id),
            };
            let audit = self.audit_row(
                ga.guild.id,
                actor,
                Some(app.bot_user_id),
                A::BOT_ADD,
                json!([]),
                None,
                None,
            );
            // The bot's membership, its managed role and the audit entry in one transaction.
            self.insert_role_at_bottom(
                &ga,
                role,
                None,
                Some((app.bot_user_id, now_ms())),
                Some(&audit),
            )
            .await?;
            self.publish_presence_to_guild(app.bot_user_id, ga.guild.id)
                .await;
        }
        Ok(
            json!({"location": format!("https://{}/oauth2/authorized", self.config.server_name), "guild_id": guild_id}),
        )
    }

    // ---- instance administration ----------------------------------------------------

    /// Instance administrators only. Errors: 403 50013 for anyone else.
    pub(crate) fn require_admin(actor: &Actor) -> Result<()> {
        if actor.user.admin {
            Ok(())
        } else {
            Err(Error::MissingPermissions)
        }
    }

    /// `GET /admin/users?after=&limit=` (instance admins).
    pub async fn admin_list_users(
        &self,
        actor: &Actor,
        after: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<Vec<serde_json::Value>> {
        Self::require_admin(actor)?;
        let limit = limit.unwrap_or(100).clamp(1, 1000);
        Ok(self
            .db
            .list_users(after.map_or(0, |a| a.db()), limit)
            .await?
            .iter()
            .map(|u| {
                let mut v = serde_json::to_value(self.user_wire(u, false)).unwrap_or_default();
                v["admin"] = json!(u.admin);
                v["suspended"] = json!(u.suspended);
                v["created_at"] = json!(wire::iso(u.created_at));
                v
            })
            .collect())
    }

    /// `PATCH /admin/users/{id}` `{suspended?, admin?}`: suspending closes the user's sessions.
    pub async fn admin_modify_user(
        &self,
        actor: &Actor,
        user_id: Snowflake,
        body: wire::AdminUserBody,
    ) -> Result<()> {
        Self::require_admin(actor)?;
        if user_id.db() == actor.user.id
            && (body.suspended == Some(true) || body.admin == Some(false))
        {
            return Err(field_error(
                "user_id",
                "BASE_TYPE_CHOICES",
                "Admins cannot suspend or demote themselves.",
            ));
        }
        if !self
            .db
            .set_user_flags(user_id.db(), body.admin, body.suspended)
            .await?
        {
            return Err(Error::Unknown(Unknown::User));
        }
        if body.suspended == Some(true) {
            self.revoke_sessions(user_id.db(), None, "suspended")
                .await?;
        }
        Ok(())
    }

    /// `GET /admin/federation/peers`: the member servers of this server's guilds, for
    /// operators, as `hearth admin federation peers` lists them ([`Hearth::operator_peers`]:
    /// `server`, `guilds`, `pending`, `lag_seconds`, `failures`, `next_attempt_at`,
    /// `failing_since`, `dead`, `dead_since`, `push_attempts`, `probes`, `blocked`). Read
    /// only. Errors: 50013 for a caller who is not an instance administrator.
    pub async fn admin_peers(&self, actor: &Actor) -> Result<Vec<serde_json::Value>> {
        Self::require_admin(actor)?;
        self.operator_peers().await
    }

    /// `GET /admin/federation/equivocations`: proofs that a host signed two different events
    /// at one position of a guild log (spec/federation.md, equivocation), for operators.
    pub async fn admin_equivocations(&self, actor: &Actor) -> Result<Vec<serde_json::Value>> {
        Self::require_admin(actor)?;
        Ok(self
            .db
            .equivocations()
            .await?
            .into_iter()
            .map(|(host, guild, seq, proof)| {
                json!({"host": host, "host_guild_id": guild.to_string(), "seq": seq, "proof": serde_json::from_str::<serde_json::Value>(&proof).unwrap_or_default()})
            })
            .collect())
    }

    /// `DELETE /admin/guilds/{id}`: an instance admin deletes any guild.
    pub async fn admin_delete_guild(&self, actor: &Actor, guild_id: Snowflake) -> Result<()> {
        Self::require_admin(actor)?;
        if !self.remove_guild(guild_id.db()).await? {
            return Err(Error::Unknown(Unknown::Guild));
        }
        Ok(())
    }
}
