//! Guilds, channels, overwrites, roles, members and invites (Discord "Resources > Guild",
//! "Resources > Channel", "Resources > Invite", "Topics > Permissions").

use rand::Rng;
use serde_json::{Value, json};

use super::{Actor, ChannelAccess, GuildAccess, Hearth, audit_action as A, change};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Control, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{ChannelRow, GuildRow, InviteRow, OverwriteRow, RoleRow, now_ms};
use crate::wire;

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Channel types Hearth creates in guilds: text, voice, category, announcement.
const GUILD_CHANNEL_TYPES: [u8; 4] = [0, 2, 4, 5];

impl Hearth {
    /// Fails with 403 when the guild is a replica of a guild hosted elsewhere: only the host
    /// changes its structure (spec/federation.md §7.2).
    pub(crate) fn hosted_here(g: &GuildRow) -> Result<()> {
        if g.host_server.is_some() {
            Err(Error::Rule(Rule::RemoteGuild))
        } else {
            Ok(())
        }
    }

    fn guild_audience(guild_id: i64) -> Audience {
        Audience::Guild {
            guild_id: Snowflake::from_db(guild_id),
            channel: None,
        }
    }

    /// Validates a name of `min..=max` characters at `field`.
    fn check_name(name: &str, field: &str, min: usize, max: usize, errs: &mut FieldErrors) {
        let n = name.trim().chars().count();
        if n < min || n > max {
            errs.add(
                field,
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between {min} and {max} in length."),
            );
        }
    }

    /// Permissions an actor may put into a role or overwrite: its own (all if admin/owner).
    fn check_grantable(ga: &GuildAccess, bits: u64) -> Result<()> {
        let base = ga.base();
        if bits & !base != 0 {
            Err(Error::MissingPermissions)
        } else {
            Ok(())
        }
    }

    // ---- guilds ---------------------------------------------------------------------

    /// `POST /guilds`: creates a guild owned by the caller with `@everyone` (id = guild id,
    /// Discord's default permissions) and a `general` text channel.
    pub async fn create_guild(
        &self,
        actor: &Actor,
        body: wire::CreateGuildBody,
    ) -> Result<wire::Guild> {
        let mut errs = FieldErrors::new();
        let name = body.name.unwrap_or_default();
        Self::check_name(&name, "name", 2, 100, &mut errs);
        if body
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 300)
        {
            errs.add(
                "description",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 300 or fewer in length.",
            );
        }
        errs.into_result()?;
        if self.db.count_guilds_of(actor.user.id).await?
            >= i64::from(self.config.limits.max_guilds_per_user)
        {
            return Err(Error::Rule(Rule::MaxGuilds));
        }
        let now = now_ms();
        let gid = self.next_id();
        let general = ChannelRow {
            id: self.next_id(),
            guild_id: Some(gid),
            kind: 0,
            name: Some("general".into()),
            topic: None,
            position: 0,
            parent_id: None,
            nsfw: false,
            rate_limit_per_user: 0,
            bitrate: None,
            user_limit: None,
            last_message_id: None,
            last_pin_timestamp: None,
            created_at: now,
        };
        let g = GuildRow {
            id: gid,
            name: name.trim().to_string(),
            icon: body.icon,
            description: body.description,
            owner_id: actor.user.id,
            system_channel_id: Some(general.id),
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            preferred_locale: "en-US".into(),
            created_at: now,
            host_server: None,
        };
        let everyone = RoleRow {
            id: gid,
            guild_id: gid,
            name: "@everyone".into(),
            color: 0,
            hoist: false,
            position: 0,
            permissions: perm::EVERYONE_DEFAULT as i64,
            managed: false,
            mentionable: false,
            bot_id: None,
        };
        self.db
            .create_guild(&g, &everyone, std::slice::from_ref(&general))
            .await?;
        self.control(Control::MemberJoined {
            guild_id: Snowflake::from_db(gid),
            user_id: actor.id(),
        });
        Ok(self.guild_wire(&g, &[everyone], Some(1)))
    }

    /// `GET /guilds/{id}` (`with_counts` adds `approximate_member_count`).
    pub async fn get_guild(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        with_counts: bool,
    ) -> Result<wire::Guild> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let count = if with_counts {
            Some(self.db.member_count(ga.guild.id).await?)
        } else {
            None
        };
        Ok(self.guild_wire(&ga.guild, &ga.roles, count))
    }

    /// `PATCH /guilds/{id}`: MANAGE_GUILD; `owner_id` only by the owner, to a member.
    pub async fn modify_guild(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::ModifyGuildBody,
        reason: Option<&str>,
    ) -> Result<wire::Guild> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_GUILD)?;
        let mut g = ga.guild.clone();
        let mut errs = FieldErrors::new();
        let mut changes = vec![];
        if let Some(n) = body.name {
            Self::check_name(&n, "name", 2, 100, &mut errs);
            changes.push(change("name", &g.name, n.trim()));
            g.name = n.trim().to_string();
        }
        if let Some(i) = body.icon {
            g.icon = i;
        }
        if let Some(d) = body.description {
            if d.as_ref().is_some_and(|d| d.chars().count() > 300) {
                errs.add(
                    "description",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 300 or fewer in length.",
                );
            }
            g.description = d;
        }
        if let Some(sc) = body.system_channel_id {
            if let Some(c) = sc {
                let ch = self.db.channel(c.db()).await?;
                if ch.is_none_or(|c| c.guild_id != Some(g.id)) {
                    errs.add("system_channel_id", "CHANNEL_NOT_FOUND", "Unknown channel.");
                }
            }
            g.system_channel_id = sc.map(|c| c.db());
        }
        for (field, v, slot, max) in [
            (
                "verification_level",
                body.verification_level,
                &mut g.verification_level,
                4,
            ),
            (
                "default_message_notifications",
                body.default_message_notifications,
                &mut g.default_message_notifications,
                1,
            ),
            (
                "explicit_content_filter",
                body.explicit_content_filter,
                &mut g.explicit_content_filter,
                2,
            ),
        ] {
            if let Some(v) = v {
                if !(0..=max).contains(&v) {
                    errs.add(
                        field,
                        "BASE_TYPE_CHOICES",
                        format!("Value must be between 0 and {max}."),
                    );
                }
                *slot = v;
            }
        }
        if let Some(l) = body.preferred_locale {
            g.preferred_locale = l.chars().take(16).collect();
        }
        if let Some(o) = body.owner_id {
            if !ga.is_owner() {
                return Err(Error::MissingPermissions);
            }
            if self.db.member(g.id, o.db()).await?.is_none() {
                errs.add(
                    "owner_id",
                    "GUILD_OWNER_INVALID",
                    "The new owner must be a member of the guild.",
                );
            }
            changes.push(change("owner_id", g.owner_id.to_string(), o.to_string()));
            g.owner_id = o.db();
        }
        let tags = body
            .discovery_tags
            .as_ref()
            .map(|t| crate::registrar::check_tags(t, &mut errs));
        errs.into_result()?;
        self.db.update_guild(&g).await?;
        if let Some(d) = body.discoverable {
            self.db.set_guild_discoverable(g.id, d).await?;
        }
        if let Some(t) = tags {
            self.db.set_guild_discovery_tags(g.id, &t).await?;
        }
        self.audit(
            g.id,
            actor,
            Some(g.id),
            A::GUILD_UPDATE,
            json!(changes),
            None,
            reason,
        )
        .await?;
        let w = self.guild_wire(&g, &ga.roles, None);
        self.dispatch(
            "GUILD_UPDATE",
            Self::guild_audience(g.id),
            intents::GUILDS,
            to_value(&w),
        );
        if body.owner_id.is_some() {
            self.control(Control::PermissionsChanged { guild_id });
        }
        Ok(w)
    }

    /// `DELETE /guilds/{id}`: owner only.
    pub async fn delete_guild(&self, actor: &Actor, guild_id: Snowflake) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        if !ga.is_owner() {
            return Err(Error::MissingPermissions);
        }
        self.db.delete_guild(ga.guild.id).await?;
        self.control(Control::GuildDeleted { guild_id });
        Ok(())
    }

    /// `GET /users/@me/guilds` (`before`, `after`, `limit` 1-200, default 200).
    pub async fn my_guilds(
        &self,
        actor: &Actor,
        before: Option<Snowflake>,
        after: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::PartialGuild>> {
        let limit = limit.unwrap_or(200);
        if !(1..=200).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 200.",
            ));
        }
        let rows = self
            .db
            .guilds_of(
                actor.user.id,
                after.map_or(0, |a| a.db()),
                before.map_or(i64::MAX, |b| b.db()),
                limit,
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for g in rows {
            let ga = self.guild_access_of(g, actor.user.id).await?;
            out.push(wire::PartialGuild {
                id: Snowflake::from_db(ga.guild.id),
                name: ga.guild.name.clone(),
                icon: ga.guild.icon.clone(),
                banner: None,
                owner: ga.is_owner(),
                permissions: ga.base().to_string(),
                features: vec![],
            });
        }
        Ok(out)
    }

    /// `DELETE /users/@me/guilds/{id}`: leave. The owner cannot leave.
    pub async fn leave_guild(&self, actor: &Actor, guild_id: Snowflake) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        if ga.guild.host_server.is_some()
            && let Some(rg) = self.db.remote_guild(ga.guild.id).await?
        {
            self.relay(actor, &rg, "member_leave", None, None, None, Value::Null)
                .await?;
            return Ok(());
        }
        if ga.is_owner() {
            return Err(Error::Rule(Rule::OwnerCannotLeave));
        }
        self.remove_member(ga.guild.id, actor.user.id).await
    }

    /// Removes a membership and announces it (leave, kick).
    pub(crate) async fn remove_member(&self, guild_id: i64, user_id: i64) -> Result<()> {
        if self.db.delete_member(guild_id, user_id).await? {
            let user = self.user_wire_by_id(user_id).await?;
            self.dispatch(
                "GUILD_MEMBER_REMOVE",
                Self::guild_audience(guild_id),
                intents::GUILD_MEMBERS,
                json!({"guild_id": Snowflake::from_db(guild_id), "user": user}),
            );
            self.control(Control::MemberLeft {
                guild_id: Snowflake::from_db(guild_id),
                user_id: Snowflake::from_db(user_id),
            });
        }
        Ok(())
    }

    // ---- channels -------------------------------------------------------------------

    /// `GET /guilds/{id}/channels`: only channels the caller can view.
    pub async fn guild_channels(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::Channel>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let channels = self.db.channels(ga.guild.id).await?;
        let ows = self.db.guild_overwrites(ga.guild.id).await?;
        Ok(channels
            .iter()
            .filter(|c| {
                let co: Vec<OverwriteRow> = ows
                    .iter()
                    .filter(|o| o.channel_id == c.id)
                    .cloned()
                    .collect();
                ga.in_channel(&co) & perm::VIEW_CHANNEL != 0
            })
            .map(|c| Self::channel_wire(c, &ows, None))
            .collect())
    }

    fn validate_overwrites(
        ga: &GuildAccess,
        list: &[wire::OverwriteBody],
        errs: &mut FieldErrors,
    ) -> Result<()> {
        for (i, o) in list.iter().enumerate() {
            if o.kind > 1 {
                errs.add(
                    format!("permission_overwrites.{i}.type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (0, 1).",
                );
            }
            if o.kind == 0 && ga.role(o.id.db()).is_none() {
                errs.add(
                    format!("permission_overwrites.{i}.id"),
                    "UNKNOWN_ROLE",
                    "Unknown role.",
                );
            }
            Self::check_grantable(ga, o.allow.unwrap_or(0) | o.deny.unwrap_or(0))?;
        }
        Ok(())
    }

    /// `POST /guilds/{id}/channels`: MANAGE_CHANNELS (and MANAGE_ROLES for overwrites).
    pub async fn create_channel(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::ChannelBody,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_CHANNELS)?;
        let mut errs = FieldErrors::new();
        let kind = body.kind.unwrap_or(0);
        if !GUILD_CHANNEL_TYPES.contains(&kind) {
            errs.add(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (0, 2, 4, 5).",
            );
        }
        let name = body.name.clone().unwrap_or_default();
        Self::check_name(&name, "name", 1, 100, &mut errs);
        let name = if matches!(kind, 0 | 5) {
            name.trim().to_lowercase().replace(' ', "-")
        } else {
            name.trim().to_string()
        };
        if let Some(Some(t)) = &body.topic
            && t.chars().count() > 1024
        {
            errs.add(
                "topic",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 1024 or fewer in length.",
            );
        }
        if let Some(r) = body.rate_limit_per_user
            && !(0..=21600).contains(&r)
        {
            errs.add(
                "rate_limit_per_user",
                "NUMBER_TYPE_MAX",
                "int value should be between 0 and 21600.",
            );
        }
        let parent = body.parent_id.flatten();
        if let Some(p) = parent {
            let pc = self.db.channel(p.db()).await?;
            if kind == 4 || pc.is_none_or(|pc| pc.guild_id != Some(ga.guild.id) || pc.kind != 4) {
                errs.add(
                    "parent_id",
                    "CHANNEL_PARENT_INVALID",
                    "Parent must be a category of this guild.",
                );
            }
        }
        if let Some(list) = &body.permission_overwrites {
            if !list.is_empty() {
                ga.require(perm::MANAGE_ROLES)?;
            }
            Self::validate_overwrites(&ga, list, &mut errs)?;
        }
        errs.into_result()?;
        if self.db.count_channels(ga.guild.id).await?
            >= i64::from(self.config.limits.max_channels_per_guild)
        {
            return Err(Error::Rule(Rule::MaxChannels));
        }
        let position = match body.position {
            Some(p) => p,
            None => self
                .db
                .channels(ga.guild.id)
                .await?
                .iter()
                .map(|c| c.position + 1)
                .max()
                .unwrap_or(0),
        };
        let c = ChannelRow {
            id: self.next_id(),
            guild_id: Some(ga.guild.id),
            kind: i64::from(kind),
            name: Some(name),
            topic: body.topic.flatten(),
            position,
            parent_id: parent.map(|p| p.db()),
            nsfw: body.nsfw.unwrap_or(false),
            rate_limit_per_user: body.rate_limit_per_user.unwrap_or(0),
            bitrate: (kind == 2).then(|| body.bitrate.unwrap_or(64_000)),
            user_limit: (kind == 2).then(|| body.user_limit.unwrap_or(0)),
            last_message_id: None,
            last_pin_timestamp: None,
            created_at: now_ms(),
        };
        self.db.insert_channel(&c).await?;
        let mut ows = vec![];
        for o in body.permission_overwrites.unwrap_or_default() {
            let row = OverwriteRow {
                channel_id: c.id,
                target_id: o.id.db(),
                kind: i64::from(o.kind),
                allow_bits: o.allow.unwrap_or(0) as i64,
                deny_bits: o.deny.unwrap_or(0) as i64,
            };
            self.db.upsert_overwrite(&row).await?;
            ows.push(row);
        }
        self.audit(
            ga.guild.id,
            actor,
            Some(c.id),
            A::CHANNEL_CREATE,
            json!([
                change("name", Value::Null, &c.name),
                change("type", Value::Null, c.kind)
            ]),
            None,
            reason,
        )
        .await?;
        let w = Self::channel_wire(&c, &ows, None);
        self.dispatch(
            "CHANNEL_CREATE",
            Audience::Guild {
                guild_id,
                channel: Some(Snowflake::from_db(c.id)),
            },
            intents::GUILDS,
            to_value(&w),
        );
        Ok(w)
    }

    /// `GET /channels/{id}`.
    pub async fn get_channel(&self, actor: &Actor, channel_id: Snowflake) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        self.render_channel(&ca).await
    }

    async fn render_channel(&self, ca: &ChannelAccess) -> Result<wire::Channel> {
        let recipients = if ca.channel.guild_id.is_none() {
            let mut v = vec![];
            for r in &ca.recipients {
                v.push(self.user_wire_by_id(*r).await?);
            }
            Some(v)
        } else {
            None
        };
        Ok(Self::channel_wire(&ca.channel, &ca.overwrites, recipients))
    }

    /// `PATCH /channels/{id}`: MANAGE_CHANNELS in the channel; overwrites need MANAGE_ROLES.
    pub async fn modify_channel(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::ChannelBody,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_CHANNELS)?;
        let mut c = ca.channel.clone();
        let mut errs = FieldErrors::new();
        let mut changes = vec![];
        if let Some(n) = body.name {
            Self::check_name(&n, "name", 1, 100, &mut errs);
            let n = if matches!(c.kind, 0 | 5) {
                n.trim().to_lowercase().replace(' ', "-")
            } else {
                n.trim().to_string()
            };
            changes.push(change("name", &c.name, &n));
            c.name = Some(n);
        }
        if let Some(k) = body.kind {
            // Discord allows converting text <-> announcement only.
            if !(matches!(c.kind, 0 | 5) && matches!(k, 0 | 5)) {
                errs.add(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Only text and announcement channels can be converted.",
                );
            }
            c.kind = i64::from(k);
        }
        if let Some(t) = body.topic {
            if t.as_ref().is_some_and(|t| t.chars().count() > 1024) {
                errs.add(
                    "topic",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 1024 or fewer in length.",
                );
            }
            changes.push(change("topic", &c.topic, &t));
            c.topic = t;
        }
        if let Some(p) = body.position {
            c.position = p;
        }
        if let Some(n) = body.nsfw {
            c.nsfw = n;
        }
        if let Some(r) = body.rate_limit_per_user {
            if !(0..=21600).contains(&r) {
                errs.add(
                    "rate_limit_per_user",
                    "NUMBER_TYPE_MAX",
                    "int value should be between 0 and 21600.",
                );
            }
            changes.push(change("rate_limit_per_user", c.rate_limit_per_user, r));
            c.rate_limit_per_user = r;
        }
        if let Some(b) = body.bitrate {
            c.bitrate = Some(b.clamp(8000, 384_000));
        }
        if let Some(u) = body.user_limit {
            c.user_limit = Some(u.clamp(0, 99));
        }
        if let Some(p) = body.parent_id {
            if let Some(p) = p {
                let pc = self.db.channel(p.db()).await?;
                if c.kind == 4 || pc.is_none_or(|pc| pc.guild_id != c.guild_id || pc.kind != 4) {
                    errs.add(
                        "parent_id",
                        "CHANNEL_PARENT_INVALID",
                        "Parent must be a category of this guild.",
                    );
                }
            }
            c.parent_id = p.map(|p| p.db());
        }
        if let Some(list) = &body.permission_overwrites {
            ca.require(perm::MANAGE_ROLES)?;
            Self::validate_overwrites(ga, list, &mut errs)?;
        }
        errs.into_result()?;
        self.db.update_channel(&c).await?;
        let mut ows = ca.overwrites.clone();
        if let Some(list) = body.permission_overwrites {
            for o in &ows {
                self.db.delete_overwrite(c.id, o.target_id).await?;
            }
            ows.clear();
            for o in list {
                let row = OverwriteRow {
                    channel_id: c.id,
                    target_id: o.id.db(),
                    kind: i64::from(o.kind),
                    allow_bits: o.allow.unwrap_or(0) as i64,
                    deny_bits: o.deny.unwrap_or(0) as i64,
                };
                self.db.upsert_overwrite(&row).await?;
                ows.push(row);
            }
            self.control(Control::PermissionsChanged {
                guild_id: Snowflake::from_db(ga.guild.id),
            });
        }
        self.audit(
            ga.guild.id,
            actor,
            Some(c.id),
            A::CHANNEL_UPDATE,
            json!(changes),
            None,
            reason,
        )
        .await?;
        let w = Self::channel_wire(&c, &ows, None);
        self.dispatch(
            "CHANNEL_UPDATE",
            Audience::Guild {
                guild_id: Snowflake::from_db(ga.guild.id),
                channel: Some(channel_id),
            },
            intents::GUILDS,
            to_value(&w),
        );
        Ok(w)
    }

    /// `DELETE /channels/{id}`: MANAGE_CHANNELS. DM channels cannot be deleted here (closing a
    /// DM is a no-op that returns it, as Discord does).
    pub async fn delete_channel(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return self.render_channel(&ca).await;
        };
        ca.require(perm::MANAGE_CHANNELS)?;
        let w = Self::channel_wire(&ca.channel, &ca.overwrites, None);
        // Announce before deleting, while the audience can still be computed.
        self.dispatch(
            "CHANNEL_DELETE",
            Audience::Guild {
                guild_id: Snowflake::from_db(ga.guild.id),
                channel: Some(channel_id),
            },
            intents::GUILDS,
            to_value(&w),
        );
        self.db.delete_channel(ca.channel.id).await?;
        self.audit(
            ga.guild.id,
            actor,
            Some(ca.channel.id),
            A::CHANNEL_DELETE,
            json!([change("name", &ca.channel.name, Value::Null)]),
            None,
            reason,
        )
        .await?;
        Ok(w)
    }

    /// `PATCH /guilds/{id}/channels`: positions (and parents). MANAGE_CHANNELS.
    pub async fn channel_positions(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: Vec<wire::ChannelPosition>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_CHANNELS)?;
        let channels = self.db.channels(ga.guild.id).await?;
        let mut errs = FieldErrors::new();
        let mut rows = vec![];
        for (i, p) in body.iter().enumerate() {
            let Some(c) = channels.iter().find(|c| c.id == p.id.db()) else {
                errs.add(format!("{i}.id"), "CHANNEL_NOT_FOUND", "Unknown channel.");
                continue;
            };
            if let Some(Some(parent)) = p.parent_id
                && !channels
                    .iter()
                    .any(|pc| pc.id == parent.db() && pc.kind == 4)
            {
                errs.add(
                    format!("{i}.parent_id"),
                    "CHANNEL_PARENT_INVALID",
                    "Parent must be a category of this guild.",
                );
            }
            rows.push((
                c.id,
                p.position.unwrap_or(c.position),
                p.parent_id.map(|x| x.map(|x| x.db())),
            ));
        }
        errs.into_result()?;
        self.db.set_channel_positions(&rows).await?;
        let ows = self.db.guild_overwrites(ga.guild.id).await?;
        for c in self.db.channels(ga.guild.id).await? {
            if rows.iter().any(|r| r.0 == c.id) {
                let w = Self::channel_wire(&c, &ows, None);
                self.dispatch(
                    "CHANNEL_UPDATE",
                    Audience::Guild {
                        guild_id,
                        channel: Some(Snowflake::from_db(c.id)),
                    },
                    intents::GUILDS,
                    to_value(&w),
                );
            }
        }
        Ok(())
    }

    /// `PUT /channels/{id}/permissions/{overwrite_id}`: MANAGE_ROLES in the channel; one can
    /// only allow or deny permissions one has.
    pub async fn put_overwrite(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        target: Snowflake,
        body: wire::PutOverwriteBody,
        reason: Option<&str>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_ROLES)?;
        let kind = match body.kind {
            Some(k @ (0 | 1)) => k,
            _ => {
                return Err(field_error(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (0, 1).",
                ));
            }
        };
        if kind == 0 && ga.role(target.db()).is_none() {
            return Err(Error::Unknown(Unknown::Role));
        }
        if kind == 1 && self.db.member(ga.guild.id, target.db()).await?.is_none() {
            return Err(Error::Unknown(Unknown::Member));
        }
        let allow = body.allow.unwrap_or(0) & perm::ALL;
        let deny = body.deny.unwrap_or(0) & perm::ALL;
        if !ga.is_owner() && ga.base() & perm::ADMINISTRATOR == 0 && (allow | deny) & !ca.perms != 0
        {
            return Err(Error::MissingPermissions);
        }
        let existed = ca.overwrites.iter().any(|o| o.target_id == target.db());
        self.db
            .upsert_overwrite(&OverwriteRow {
                channel_id: ca.channel.id,
                target_id: target.db(),
                kind: i64::from(kind),
                allow_bits: allow as i64,
                deny_bits: deny as i64,
            })
            .await?;
        let action = if existed {
            A::CHANNEL_OVERWRITE_UPDATE
        } else {
            A::CHANNEL_OVERWRITE_CREATE
        };
        self.audit(
            ga.guild.id,
            actor,
            Some(ca.channel.id),
            action,
            json!([
                change("allow", Value::Null, allow.to_string()),
                change("deny", Value::Null, deny.to_string())
            ]),
            Some(json!({"id": target, "type": kind.to_string()})),
            reason,
        )
        .await?;
        self.channel_changed(ga.guild.id, ca.channel.id).await
    }

    /// `DELETE /channels/{id}/permissions/{overwrite_id}`: MANAGE_ROLES.
    pub async fn delete_overwrite(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        target: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_ROLES)?;
        if self.db.delete_overwrite(ca.channel.id, target.db()).await? {
            self.audit(
                ga.guild.id,
                actor,
                Some(ca.channel.id),
                A::CHANNEL_OVERWRITE_DELETE,
                json!([]),
                Some(json!({"id": target})),
                reason,
            )
            .await?;
            self.channel_changed(ga.guild.id, ca.channel.id).await?;
        }
        Ok(())
    }

    /// Re-announces a channel whose overwrites changed and asks the gateway to recompute.
    async fn channel_changed(&self, guild_id: i64, channel_id: i64) -> Result<()> {
        let c = self
            .db
            .channel(channel_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let ows = self.db.overwrites(channel_id).await?;
        self.control(Control::PermissionsChanged {
            guild_id: Snowflake::from_db(guild_id),
        });
        let w = Self::channel_wire(&c, &ows, None);
        self.dispatch(
            "CHANNEL_UPDATE",
            Audience::Guild {
                guild_id: Snowflake::from_db(guild_id),
                channel: Some(Snowflake::from_db(channel_id)),
            },
            intents::GUILDS,
            to_value(&w),
        );
        Ok(())
    }

    // ---- roles ----------------------------------------------------------------------

    /// `GET /guilds/{id}/roles`.
    pub async fn roles(&self, actor: &Actor, guild_id: Snowflake) -> Result<Vec<wire::Role>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Ok(ga.roles.iter().map(Self::role_wire).collect())
    }

    /// `POST /guilds/{id}/roles`: MANAGE_ROLES; the new role goes to the bottom (position 1)
    /// and may only carry permissions the caller has.
    pub async fn create_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::RoleBody,
        reason: Option<&str>,
    ) -> Result<wire::Role> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let permissions = body.permissions.unwrap_or(0) & perm::ALL;
        Self::check_grantable(&ga, permissions)?;
        let mut errs = FieldErrors::new();
        let name = body.name.unwrap_or_else(|| "new role".into());
        Self::check_name(&name, "name", 1, 100, &mut errs);
        if body.color.is_some_and(|c| c > 0xFF_FFFF) {
            errs.add(
                "color",
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            );
        }
        errs.into_result()?;
        if ga.roles.len() >= self.config.limits.max_roles_per_guild as usize {
            return Err(Error::Rule(Rule::MaxRoles));
        }
        let role = self
            .insert_role_at_bottom(
                &ga,
                name.trim().to_string(),
                permissions,
                body.color.unwrap_or(0),
                body.hoist.unwrap_or(false),
                body.mentionable.unwrap_or(false),
                false,
                None,
            )
            .await?;
        self.audit(
            ga.guild.id,
            actor,
            Some(role.id),
            A::ROLE_CREATE,
            json!([
                change("name", Value::Null, &role.name),
                change("permissions", Value::Null, permissions.to_string())
            ]),
            None,
            reason,
        )
        .await?;
        Ok(Self::role_wire(&role))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_role_at_bottom(
        &self,
        ga: &GuildAccess,
        name: String,
        permissions: u64,
        color: u32,
        hoist: bool,
        mentionable: bool,
        managed: bool,
        bot_id: Option<i64>,
    ) -> Result<RoleRow> {
        let shifted: Vec<(i64, i64)> = ga
            .roles
            .iter()
            .filter(|r| r.position >= 1)
            .map(|r| (r.id, r.position + 1))
            .collect();
        self.db.set_role_positions(&shifted).await?;
        let role = RoleRow {
            id: self.next_id(),
            guild_id: ga.guild.id,
            name,
            color: i64::from(color),
            hoist,
            position: 1,
            permissions: permissions as i64,
            managed,
            mentionable,
            bot_id,
        };
        self.db.insert_role(&role).await?;
        let gid = Snowflake::from_db(ga.guild.id);
        self.dispatch(
            "GUILD_ROLE_CREATE",
            Self::guild_audience(ga.guild.id),
            intents::GUILDS,
            json!({"guild_id": gid, "role": Self::role_wire(&role)}),
        );
        for r in ga.roles.iter().filter(|r| r.position >= 1) {
            let mut r = r.clone();
            r.position += 1;
            self.dispatch(
                "GUILD_ROLE_UPDATE",
                Self::guild_audience(ga.guild.id),
                intents::GUILDS,
                json!({"guild_id": gid, "role": Self::role_wire(&r)}),
            );
        }
        Ok(role)
    }

    /// Hierarchy check for acting on a role: it must rank below the caller's highest role.
    fn require_below(ga: &GuildAccess, role: &RoleRow) -> Result<()> {
        if ga.is_owner() || role.position < ga.top_position() {
            Ok(())
        } else {
            Err(Error::MissingPermissions)
        }
    }

    /// `PATCH /guilds/{id}/roles/{role_id}`: MANAGE_ROLES, role below the caller's highest.
    pub async fn modify_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        role_id: Snowflake,
        body: wire::RoleBody,
        reason: Option<&str>,
    ) -> Result<wire::Role> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let mut role = ga
            .role(role_id.db())
            .cloned()
            .ok_or(Error::Unknown(Unknown::Role))?;
        Self::require_below(&ga, &role)?;
        let mut errs = FieldErrors::new();
        let mut changes = vec![];
        if let Some(n) = body.name
            && role.id != ga.guild.id
        {
            Self::check_name(&n, "name", 1, 100, &mut errs);
            changes.push(change("name", &role.name, n.trim()));
            role.name = n.trim().to_string();
        }
        if let Some(p) = body.permissions {
            let p = p & perm::ALL;
            // Only bits that change must be ones the caller holds.
            Self::check_grantable(&ga, p ^ (role.permissions as u64))?;
            changes.push(change(
                "permissions",
                (role.permissions as u64).to_string(),
                p.to_string(),
            ));
            role.permissions = p as i64;
        }
        if let Some(c) = body.color {
            if c > 0xFF_FFFF {
                errs.add(
                    "color",
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 16777215.",
                );
            }
            role.color = i64::from(c);
        }
        if let Some(h) = body.hoist {
            role.hoist = h;
        }
        if let Some(m) = body.mentionable {
            role.mentionable = m;
        }
        errs.into_result()?;
        self.db.update_role(&role).await?;
        self.audit(
            ga.guild.id,
            actor,
            Some(role.id),
            A::ROLE_UPDATE,
            json!(changes),
            None,
            reason,
        )
        .await?;
        let w = Self::role_wire(&role);
        self.dispatch(
            "GUILD_ROLE_UPDATE",
            Self::guild_audience(ga.guild.id),
            intents::GUILDS,
            json!({"guild_id": guild_id, "role": w}),
        );
        self.control(Control::PermissionsChanged { guild_id });
        Ok(w)
    }

    /// `DELETE /guilds/{id}/roles/{role_id}`: MANAGE_ROLES, hierarchy; not `@everyone`,
    /// not a managed role.
    pub async fn delete_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        role_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let role = ga
            .role(role_id.db())
            .cloned()
            .ok_or(Error::Unknown(Unknown::Role))?;
        Self::require_below(&ga, &role)?;
        if role.id == ga.guild.id || role.managed {
            return Err(Error::Rule(Rule::InvalidRole));
        }
        self.db.delete_role(role.id).await?;
        self.audit(
            ga.guild.id,
            actor,
            Some(role.id),
            A::ROLE_DELETE,
            json!([change("name", &role.name, Value::Null)]),
            None,
            reason,
        )
        .await?;
        self.dispatch(
            "GUILD_ROLE_DELETE",
            Self::guild_audience(ga.guild.id),
            intents::GUILDS,
            json!({"guild_id": guild_id, "role_id": role_id}),
        );
        self.control(Control::PermissionsChanged { guild_id });
        Ok(())
    }

    /// `PATCH /guilds/{id}/roles`: positions; only roles below the caller's highest may move,
    /// and only to positions below it.
    pub async fn role_positions(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: Vec<wire::RolePosition>,
    ) -> Result<Vec<wire::Role>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let top = ga.top_position();
        let mut rows = vec![];
        let mut errs = FieldErrors::new();
        for (i, p) in body.iter().enumerate() {
            let Some(role) = ga.role(p.id.db()) else {
                errs.add(format!("{i}.id"), "UNKNOWN_ROLE", "Unknown role.");
                continue;
            };
            let Some(pos) = p.position else { continue };
            if role.id == ga.guild.id || pos < 1 {
                errs.add(
                    format!("{i}.position"),
                    "BASE_TYPE_CHOICES",
                    "@everyone stays at position 0.",
                );
                continue;
            }
            if !ga.is_owner() && (role.position >= top || pos >= top) {
                return Err(Error::MissingPermissions);
            }
            rows.push((role.id, pos));
        }
        errs.into_result()?;
        self.db.set_role_positions(&rows).await?;
        let roles = self.db.roles(ga.guild.id).await?;
        for r in roles.iter().filter(|r| rows.iter().any(|x| x.0 == r.id)) {
            self.dispatch(
                "GUILD_ROLE_UPDATE",
                Self::guild_audience(ga.guild.id),
                intents::GUILDS,
                json!({"guild_id": guild_id, "role": Self::role_wire(r)}),
            );
        }
        self.control(Control::PermissionsChanged { guild_id });
        Ok(roles.iter().map(Self::role_wire).collect())
    }

    // ---- members --------------------------------------------------------------------

    /// `GET /guilds/{id}/members` (`limit` 1-1000, default 1; `after` user id).
    pub async fn list_members(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        limit: Option<i64>,
        after: Option<Snowflake>,
    ) -> Result<Vec<wire::Member>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let limit = limit.unwrap_or(1);
        if !(1..=1000).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 1000.",
            ));
        }
        if ga.guild.host_server.is_some()
            && let Some(rg) = self.db.remote_guild(ga.guild.id).await?
        {
            // Members page in lazily from the host, in the host's order.
            match self
                .fetch_members(&rg, after.map_or(0, |a| a.db()), limit)
                .await
            {
                Ok(ids) => {
                    let mut out = Vec::with_capacity(ids.len());
                    for uid in ids {
                        out.push(self.member_wire_by_id(ga.guild.id, uid, false).await?);
                    }
                    return Ok(out);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "member paging from the host failed; serving the replica")
                }
            }
        }
        let rows = self
            .db
            .members_page(ga.guild.id, after.map_or(0, |a| a.db()), limit)
            .await?;
        self.members_wire(ga.guild.id, &rows, false).await
    }

    /// `GET /guilds/{id}/members/search?query=&limit=` (prefix of username, nick, global name).
    pub async fn search_members(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        query: Option<String>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::Member>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let Some(q) = query.filter(|q| !q.is_empty()) else {
            return Err(field_error(
                "query",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        if q.contains('\0') {
            return Err(field_error(
                "query",
                "BASE_TYPE_INVALID",
                "Must not contain NUL characters.",
            ));
        }
        let limit = limit.unwrap_or(1);
        if !(1..=1000).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 1000.",
            ));
        }
        let rows = self.db.search_members(ga.guild.id, &q, limit).await?;
        self.members_wire(ga.guild.id, &rows, false).await
    }

    /// `GET /guilds/{id}/members/{user_id}`.
    pub async fn get_member(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<wire::Member> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        self.member_wire_by_id(ga.guild.id, user_id.db(), false)
            .await
    }

    /// Hierarchy check for acting on a member: the target's highest role must rank below the
    /// caller's, and the owner can never be the target.
    async fn require_outranks(&self, ga: &GuildAccess, target: i64) -> Result<()> {
        if target == ga.guild.owner_id {
            return Err(Error::MissingPermissions);
        }
        if ga.is_owner() {
            return Ok(());
        }
        let roles = self.db.member_role_ids(ga.guild.id, target).await?;
        if ga.top_position_of(target, &roles) < ga.top_position() {
            Ok(())
        } else {
            Err(Error::MissingPermissions)
        }
    }

    /// `PATCH /guilds/{id}/members/{user_id}` (and `@me` for `nick`).
    ///
    /// `nick` needs MANAGE_NICKNAMES on others (with hierarchy) or CHANGE_NICKNAME on oneself;
    /// `roles` needs MANAGE_ROLES and every added or removed role must rank below the caller.
    pub async fn modify_member(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        body: wire::ModifyMemberBody,
        reason: Option<&str>,
    ) -> Result<wire::Member> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let target = user_id.db();
        let member = self
            .db
            .member(ga.guild.id, target)
            .await?
            .ok_or(Error::Unknown(Unknown::Member))?;
        let mut changes = vec![];
        if let Some(nick) = &body.nick {
            if target == actor.user.id {
                if !perm::has(ga.base(), perm::CHANGE_NICKNAME)
                    && !perm::has(ga.base(), perm::MANAGE_NICKNAMES)
                {
                    return Err(Error::MissingPermissions);
                }
            } else {
                ga.require(perm::MANAGE_NICKNAMES)?;
                self.require_outranks(&ga, target).await?;
            }
            if nick.as_ref().is_some_and(|n| n.chars().count() > 32) {
                return Err(field_error(
                    "nick",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 32 or fewer in length.",
                ));
            }
        }
        let mut new_roles = None;
        if let Some(roles) = &body.roles {
            ga.require(perm::MANAGE_ROLES)?;
            let current = self.db.member_role_ids(ga.guild.id, target).await?;
            let wanted: Vec<i64> = roles
                .iter()
                .map(|r| r.db())
                .filter(|r| *r != ga.guild.id)
                .collect();
            for r in wanted
                .iter()
                .filter(|r| !current.contains(r))
                .chain(current.iter().filter(|r| !wanted.contains(r)))
            {
                let role = ga.role(*r).ok_or(Error::Unknown(Unknown::Role))?;
                Self::require_below(&ga, role)?;
                if role.managed {
                    return Err(Error::Rule(Rule::InvalidRole));
                }
            }
            changes.push(change(
                "$roles",
                current.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                wanted.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            ));
            new_roles = Some(wanted);
        }
        if let Some(nick) = &body.nick {
            let nick = nick.as_deref().map(str::trim).filter(|n| !n.is_empty());
            changes.push(change("nick", &member.nick, nick));
            self.db.set_nick(ga.guild.id, target, nick).await?;
        }
        if let Some(roles) = &new_roles {
            self.db.set_member_roles(ga.guild.id, target, roles).await?;
        }
        let action = if new_roles.is_some() {
            A::MEMBER_ROLE_UPDATE
        } else {
            A::MEMBER_UPDATE
        };
        if !changes.is_empty() {
            self.audit(
                ga.guild.id,
                actor,
                Some(target),
                action,
                json!(changes),
                None,
                reason,
            )
            .await?;
        }
        self.member_updated(ga.guild.id, target, new_roles.is_some())
            .await
    }

    /// Announces a member change (GUILD_MEMBER_UPDATE) and returns the member.
    async fn member_updated(
        &self,
        guild_id: i64,
        user_id: i64,
        roles_changed: bool,
    ) -> Result<wire::Member> {
        let w = self.member_wire_by_id(guild_id, user_id, true).await?;
        self.dispatch(
            "GUILD_MEMBER_UPDATE",
            Self::guild_audience(guild_id),
            intents::GUILD_MEMBERS,
            to_value(&w),
        );
        if roles_changed {
            self.control(Control::PermissionsChanged {
                guild_id: Snowflake::from_db(guild_id),
            });
        }
        let mut w = w;
        w.guild_id = None;
        Ok(w)
    }

    /// `PUT/DELETE /guilds/{id}/members/{user_id}/roles/{role_id}`: MANAGE_ROLES, the role
    /// must rank below the caller and not be managed or `@everyone`.
    pub async fn member_role(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        role_id: Snowflake,
        add: bool,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_ROLES)?;
        let role = ga
            .role(role_id.db())
            .cloned()
            .ok_or(Error::Unknown(Unknown::Role))?;
        Self::require_below(&ga, &role)?;
        if role.managed || role.id == ga.guild.id {
            return Err(Error::Rule(Rule::InvalidRole));
        }
        if self.db.member(ga.guild.id, user_id.db()).await?.is_none() {
            return Err(Error::Unknown(Unknown::Member));
        }
        if add {
            self.db
                .add_member_role(ga.guild.id, user_id.db(), role.id)
                .await?;
        } else {
            self.db
                .remove_member_role(ga.guild.id, user_id.db(), role.id)
                .await?;
        }
        let key = if add { "$add" } else { "$remove" };
        self.audit(
            ga.guild.id,
            actor,
            Some(user_id.db()),
            A::MEMBER_ROLE_UPDATE,
            json!([{"key": key, "new_value": [{"id": role_id, "name": role.name}]}]),
            None,
            reason,
        )
        .await?;
        self.member_updated(ga.guild.id, user_id.db(), true).await?;
        Ok(())
    }

    /// `DELETE /guilds/{id}/members/{user_id}`: kick. KICK_MEMBERS and hierarchy.
    pub async fn kick(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::KICK_MEMBERS)?;
        if self.db.member(ga.guild.id, user_id.db()).await?.is_none() {
            return Err(Error::Unknown(Unknown::Member));
        }
        self.require_outranks(&ga, user_id.db()).await?;
        self.remove_member(ga.guild.id, user_id.db()).await?;
        self.audit(
            ga.guild.id,
            actor,
            Some(user_id.db()),
            A::MEMBER_KICK,
            json!([]),
            None,
            reason,
        )
        .await
    }

    // ---- invites --------------------------------------------------------------------

    /// Whether `code` could be an invite code at all (checked before it reaches SQL, where
    /// PostgreSQL would reject a NUL in text).
    fn plausible_invite_code(code: &str) -> bool {
        (1..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// An invite that exists and has not expired.
    pub async fn valid_invite(&self, code: &str) -> Result<Option<InviteRow>> {
        if !Self::plausible_invite_code(code) {
            return Ok(None);
        }
        let Some(inv) = self.db.invite(code).await? else {
            return Ok(None);
        };
        if inv.max_age > 0 && inv.created_at + inv.max_age * 1000 < now_ms() {
            self.db.delete_invite(code).await?;
            return Ok(None);
        }
        if inv.max_uses > 0 && inv.uses >= inv.max_uses {
            return Ok(None);
        }
        Ok(Some(inv))
    }

    async fn invite_wire(
        &self,
        inv: &InviteRow,
        with_meta: bool,
        with_counts: bool,
    ) -> Result<wire::Invite> {
        let guild = self.db.guild(inv.guild_id).await?;
        let channel = self.db.channel(inv.channel_id).await?;
        let inviter = self.db.user(inv.inviter_id).await?;
        let count = if with_counts {
            Some(self.db.member_count(inv.guild_id).await?)
        } else {
            None
        };
        Ok(wire::Invite {
            kind: 0,
            code: inv.code.clone(),
            guild: guild.map(|g| json!({"id": Snowflake::from_db(g.id), "name": g.name, "icon": g.icon, "description": g.description, "features": [], "splash": null, "banner": null, "verification_level": g.verification_level, "nsfw_level": 0})),
            channel: channel.map(|c| json!({"id": Snowflake::from_db(c.id), "name": c.name, "type": c.kind})),
            inviter: inviter.map(|u| self.user_wire(&u, false)),
            expires_at: (inv.max_age > 0).then(|| wire::iso(inv.created_at + inv.max_age * 1000)),
            approximate_member_count: count,
            uses: with_meta.then_some(inv.uses),
            max_uses: with_meta.then_some(inv.max_uses),
            max_age: with_meta.then_some(inv.max_age),
            temporary: with_meta.then_some(inv.temporary),
            created_at: with_meta.then(|| wire::iso(inv.created_at)),
        })
    }

    /// `POST /channels/{id}/invites`: CREATE_INSTANT_INVITE. `max_age` 0-604800 s (default
    /// 86400, 0 = never), `max_uses` 0-100 (0 = unlimited); reuses a matching invite unless
    /// `unique`.
    pub async fn create_invite(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::CreateInviteBody,
        reason: Option<&str>,
    ) -> Result<wire::Invite> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::CREATE_INSTANT_INVITE)?;
        let max_age = body.max_age.unwrap_or(86_400);
        let max_uses = body.max_uses.unwrap_or(0);
        let mut errs = FieldErrors::new();
        if !(0..=604_800).contains(&max_age) {
            errs.add(
                "max_age",
                "NUMBER_TYPE_MAX",
                "int value should be between 0 and 604800.",
            );
        }
        if !(0..=100).contains(&max_uses) {
            errs.add(
                "max_uses",
                "NUMBER_TYPE_MAX",
                "int value should be between 0 and 100.",
            );
        }
        errs.into_result()?;
        let temporary = body.temporary.unwrap_or(false);
        if !body.unique.unwrap_or(false)
            && let Some(existing) = self
                .db
                .find_invite(ca.channel.id, actor.user.id, max_age, max_uses, temporary)
                .await?
            && self.valid_invite(&existing.code).await?.is_some()
        {
            return self.invite_wire(&existing, true, false).await;
        }
        const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let code: String = {
            let mut rng = rand::rng();
            (0..8)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect()
        };
        let inv = InviteRow {
            code,
            guild_id: ga.guild.id,
            channel_id: ca.channel.id,
            inviter_id: actor.user.id,
            max_age,
            max_uses,
            uses: 0,
            temporary,
            created_at: now_ms(),
        };
        self.db.insert_invite(&inv).await?;
        self.audit(
            ga.guild.id,
            actor,
            None,
            A::INVITE_CREATE,
            json!([
                change("code", Value::Null, &inv.code),
                change("channel_id", Value::Null, channel_id),
                change("max_uses", Value::Null, max_uses),
                change("max_age", Value::Null, max_age)
            ]),
            None,
            reason,
        )
        .await?;
        let w = self.invite_wire(&inv, true, false).await?;
        let mut ev = to_value(&w);
        ev["channel_id"] = json!(channel_id);
        ev["guild_id"] = json!(Snowflake::from_db(ga.guild.id));
        self.dispatch(
            "INVITE_CREATE",
            Audience::Guild {
                guild_id: Snowflake::from_db(ga.guild.id),
                channel: Some(channel_id),
            },
            intents::GUILD_INVITES,
            ev,
        );
        Ok(w)
    }

    /// `GET /channels/{id}/invites`: MANAGE_CHANNELS.
    pub async fn channel_invites(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<Vec<wire::Invite>> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca.guild.is_none() {
            return Err(Error::Rule(Rule::ChannelType));
        }
        ca.require(perm::MANAGE_CHANNELS)?;
        let mut out = vec![];
        for inv in self.db.invites_of_channel(ca.channel.id).await? {
            out.push(self.invite_wire(&inv, true, false).await?);
        }
        Ok(out)
    }

    /// `GET /guilds/{id}/invites`: MANAGE_GUILD.
    pub async fn guild_invites(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::Invite>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::MANAGE_GUILD)?;
        let mut out = vec![];
        for inv in self.db.invites_of_guild(ga.guild.id).await? {
            out.push(self.invite_wire(&inv, true, false).await?);
        }
        Ok(out)
    }

    /// `GET /invites/{code}` (`with_counts`). Errors: 404 Unknown Invite.
    pub async fn get_invite(&self, code: &str, with_counts: bool) -> Result<wire::Invite> {
        let inv = self
            .valid_invite(code)
            .await?
            .ok_or(Error::Unknown(Unknown::Invite))?;
        self.invite_wire(&inv, false, with_counts).await
    }

    /// `POST /invites/{code}`: joins the guild. Errors: 404 Unknown Invite, 403 40007 banned,
    /// 400 30001 too many guilds. Joining a guild one is in returns the invite unchanged.
    pub async fn accept_invite(&self, actor: &Actor, code: &str) -> Result<wire::Invite> {
        // `code@server`: an invite of another server (federation join, spec §7.1).
        let code = match code.rsplit_once('@') {
            Some((c, server)) if !server.eq_ignore_ascii_case(&self.config.server_name) => {
                return self.remote_join(actor, c, server).await;
            }
            Some((c, _)) => c,
            None => code,
        };
        let inv = self
            .valid_invite(code)
            .await?
            .ok_or(Error::Unknown(Unknown::Invite))?;
        if self.db.ban(inv.guild_id, actor.user.id).await?.is_some() {
            return Err(Error::Rule(Rule::Banned));
        }
        if self.db.member(inv.guild_id, actor.user.id).await?.is_none()
            && self.db.count_guilds_of(actor.user.id).await?
                >= i64::from(self.config.limits.max_guilds_per_user)
        {
            return Err(Error::Rule(Rule::MaxGuilds));
        }
        let (ok, joined) = self
            .db
            .use_invite_and_join(code, inv.guild_id, actor.user.id, now_ms())
            .await?;
        if !ok {
            return Err(Error::Unknown(Unknown::Invite));
        }
        if joined {
            self.member_joined(inv.guild_id, actor.user.id).await?;
        }
        let mut w = self.invite_wire(&inv, false, true).await?;
        w.uses = None;
        Ok(w)
    }

    /// Announces a new member (GUILD_MEMBER_ADD; the gateway sends GUILD_CREATE to them).
    pub(crate) async fn member_joined(&self, guild_id: i64, user_id: i64) -> Result<()> {
        let w = self.member_wire_by_id(guild_id, user_id, true).await?;
        self.control(Control::MemberJoined {
            guild_id: Snowflake::from_db(guild_id),
            user_id: Snowflake::from_db(user_id),
        });
        self.dispatch(
            "GUILD_MEMBER_ADD",
            Self::guild_audience(guild_id),
            intents::GUILD_MEMBERS,
            to_value(&w),
        );
        Ok(())
    }

    /// `DELETE /invites/{code}`: MANAGE_CHANNELS on its channel or MANAGE_GUILD.
    pub async fn delete_invite(
        &self,
        actor: &Actor,
        code: &str,
        reason: Option<&str>,
    ) -> Result<wire::Invite> {
        if !Self::plausible_invite_code(code) {
            return Err(Error::Unknown(Unknown::Invite));
        }
        let inv = self
            .db
            .invite(code)
            .await?
            .ok_or(Error::Unknown(Unknown::Invite))?;
        let ca = self
            .channel_access(actor, Snowflake::from_db(inv.channel_id))
            .await
            .map_err(|e| match e {
                Error::MissingAccess => Error::Unknown(Unknown::Invite),
                e => e,
            })?;
        let ga = ca.guild.as_ref().ok_or(Error::Unknown(Unknown::Invite))?;
        if !perm::has(ca.perms, perm::MANAGE_CHANNELS) && !perm::has(ga.base(), perm::MANAGE_GUILD)
        {
            return Err(Error::MissingPermissions);
        }
        let w = self.invite_wire(&inv, true, false).await?;
        self.db.delete_invite(code).await?;
        self.audit(
            inv.guild_id,
            actor,
            None,
            A::INVITE_DELETE,
            json!([change("code", &inv.code, Value::Null)]),
            None,
            reason,
        )
        .await?;
        self.dispatch("INVITE_DELETE", Audience::Guild { guild_id: Snowflake::from_db(inv.guild_id), channel: Some(Snowflake::from_db(inv.channel_id)) }, intents::GUILD_INVITES,
            json!({"channel_id": Snowflake::from_db(inv.channel_id), "guild_id": Snowflake::from_db(inv.guild_id), "code": inv.code}));
        Ok(w)
    }
}
