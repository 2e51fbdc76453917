//! Guilds: create, read, modify, delete, leave (Discord "Resources > Guild").

use super::images::ImageKind;
use super::ports::{RelayAction, RelayOp};
use super::{Actor, GuildAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Control, Event, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{Change, GuildRow, Lock, OutboxItem, now_ms};
use crate::wire;
use serde_json::json;

pub mod layout;

/// Validates directory tags (at most 5, each 1-24 characters of `[a-z0-9-]`, lower-cased,
/// duplicates dropped) and returns them space-separated; problems go to `errs` at
/// `discovery_tags`.
pub fn check_tags(tags: &[String], errs: &mut FieldErrors) -> String {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_ascii_lowercase();
        let ok = (1..=24).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            errs.add(
                "discovery_tags",
                "BASE_TYPE_BAD_VALUE",
                "Tags are 1-24 characters of a-z, 0-9 and '-'.",
            );
            continue;
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 5 {
        errs.add("discovery_tags", "BASE_TYPE_MAX_LENGTH", "At most 5 tags.");
    }
    out.join(" ")
}

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

    /// Where a member's change of guild `g` runs: `None` here (hosted here), else the
    /// replica whose host runs it (the change is relayed, spec/federation.md §8.6). 403 50001
    /// for a replica without its federation record, which cannot be changed at all.
    pub(crate) async fn relay_target(
        &self,
        g: &GuildRow,
    ) -> Result<Option<crate::storage::RemoteGuildRow>> {
        if g.host_server.is_none() {
            return Ok(None);
        }
        match self.db.remote_guild(g.id).await? {
            Some(rg) => Ok(Some(rg)),
            None => Err(Error::Rule(Rule::RemoteGuild)),
        }
    }

    pub(super) fn guild_audience(guild_id: i64) -> Audience {
        Audience::Guild {
            guild_id: Snowflake::from_db(guild_id),
            channel: None,
        }
    }

    /// Validates a name of `min..=max` characters at `field`.
    pub(super) fn check_name(
        name: &str,
        field: &str,
        min: usize,
        max: usize,
        errs: &mut FieldErrors,
    ) {
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
    pub(super) fn check_grantable(ga: &GuildAccess, bits: u64) -> Result<()> {
        let base = ga.base();
        if bits & !base != 0 {
            Err(Error::MissingPermissions)
        } else {
            Ok(())
        }
    }

    // ---- guilds ---------------------------------------------------------------------

    /// `POST /guilds`: creates a guild owned by the caller with `@everyone` (id = guild id,
    /// Discord's default permissions) and a `general` text channel, or with the `roles`,
    /// `channels` and `system_channel_id` of the body (Discord "Create Guild", placeholders
    /// resolved by [`layout::GuildLayout::plan`]), all in one transaction.
    ///
    /// # Errors
    /// 400 50035 naming each bad field (`channels.2.parent_id`); 400 30001 at
    /// `limits.max_guilds_per_user`.
    pub async fn create_guild(
        &self,
        actor: &Actor,
        mut body: wire::CreateGuildBody,
    ) -> Result<wire::Guild> {
        let mut errs = FieldErrors::new();
        let name = body.name.clone().unwrap_or_default();
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
        let now = now_ms();
        let gid = self.next_id();
        let mut next = || self.next_id();
        let plan = layout::GuildLayout::plan(
            &mut body,
            layout::Ids {
                guild: gid,
                owner: actor.user.id,
                now,
                next: &mut next,
            },
            &mut errs,
        );
        errs.into_result()?;
        let icon = match body.icon {
            Some(uri) => Some(
                self.store_image(ImageKind::Icon, gid, "icon", uri)
                    .await?
                    .hash,
            ),
            None => None,
        };
        let g = GuildRow {
            id: gid,
            name: name.trim().to_string(),
            icon: icon.clone(),
            description: body.description,
            owner_id: actor.user.id,
            system_channel_id: plan.system_channel,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            preferred_locale: "en-US".into(),
            created_at: now,
            host_server: None,
            mfa_level: 0,
            banner: None,
            splash: None,
        };
        // The guild, its defaults and its owner's membership in one transaction, with the
        // owner's guild count checked inside it.
        let max = i64::from(self.config.limits.max_guilds_per_user);
        let rows = (&plan.roles[..], &plan.channels[..], &plan.overwrites[..]);
        let created = self.db.create_guild(&g, rows, max).await;
        if !matches!(created, Ok(true)) {
            self.settle_image(ImageKind::Icon, gid, None, &Some(icon), false);
        }
        if !created? {
            return Err(Error::Rule(Rule::MaxGuilds));
        }
        self.control(Control::MemberJoined {
            guild_id: Snowflake::from_db(gid),
            user_id: actor.id(),
        });
        Ok(self.guild_wire(&g, &plan.roles, Some(1)))
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
        let mut w = self.guild_wire(&ga.guild, &ga.roles, count);
        w.emojis = self.guild_emojis_wire(ga.guild.id).await?;
        Ok(w)
    }

    /// `PATCH /guilds/{id}`: MANAGE_GUILD; `owner_id` only by the owner, to a member, after
    /// re-authentication (401 60003, `service::reauth`).
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
            // A sensitive action: the owner's session must have re-authenticated.
            self.require_reauth(actor, None).await?;
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
            .map(|t| check_tags(t, &mut errs));
        errs.into_result()?;
        // Images last: their bytes are written before the row names them.
        let old = ga.guild.clone();
        let images = self
            .image_fields(
                g.id,
                [
                    (ImageKind::Icon, "icon", body.icon, old.icon.as_deref()),
                    (
                        ImageKind::Banner,
                        "banner",
                        body.banner,
                        old.banner.as_deref(),
                    ),
                    (
                        ImageKind::Splash,
                        "splash",
                        body.splash,
                        old.splash.as_deref(),
                    ),
                ],
            )
            .await?;
        for ((key, slot), new) in [
            ("icon_hash", &mut g.icon),
            ("banner_hash", &mut g.banner),
            ("splash_hash", &mut g.splash),
        ]
        .into_iter()
        .zip(&images)
        {
            if let Some(new) = new {
                changes.push(change(key, &*slot, new));
                slot.clone_from(new);
            }
        }
        let settle = |committed: bool| {
            for ((kind, old), new) in [
                (ImageKind::Icon, old.icon.as_deref()),
                (ImageKind::Banner, old.banner.as_deref()),
                (ImageKind::Splash, old.splash.as_deref()),
            ]
            .into_iter()
            .zip(&images)
            {
                self.settle_image(kind, g.id, old, new, committed);
            }
        };
        let audit = self.audit_row(
            g.id,
            actor,
            Some(g.id),
            A::GUILD_UPDATE,
            json!(changes),
            None,
            reason,
        );
        // Read before the change opens (a change uses only itself).
        let emojis = self.guild_emojis_wire(g.id).await?;
        let discoverable = body.discoverable;
        // Settings, discovery and ownership with the audit entry and the log entry in one
        // transaction; a transfer to someone who left meanwhile writes nothing.
        let stored = async {
            let mut ch = self.db.change(Lock::Guild(g.id)).await?;
            if !ch.update_guild(&g, discoverable, tags.as_deref()).await? {
                return Ok(None);
            }
            ch.audit(&audit).await?;
            Ok::<_, Error>(Some(self.commit_guild_update(ch, &g, emojis).await?))
        }
        .await;
        settle(matches!(stored, Ok(Some(_))));
        let Some(w) = stored? else {
            return Err(field_error(
                "owner_id",
                "GUILD_OWNER_INVALID",
                "The new owner must be a member of the guild.",
            ));
        };
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
        if !self.remove_guild(ga.guild.id).await? {
            return Err(Error::Unknown(Unknown::Guild));
        }
        Ok(())
    }

    /// Commits a change of guild `g`'s settings with the GUILD_UPDATE announcing `g` (its
    /// roles read through the change, `emojis` read before it); returns the guild object.
    pub(crate) async fn commit_guild_update(
        &self,
        mut ch: Change,
        g: &GuildRow,
        emojis: Vec<wire::GuildEmoji>,
    ) -> Result<wire::Guild> {
        let roles = ch.roles(g.id).await?;
        let mut w = self.guild_wire(g, &roles, None);
        w.emojis = emojis;
        let d = Self::event_of(
            Event::GuildUpdate,
            Self::guild_audience(g.id),
            intents::GUILDS,
            to_value(&w),
        );
        self.commit(ch, vec![d]).await?;
        Ok(w)
    }

    /// Deletes a hosted guild and, if it has member servers, writes the log entry that
    /// tells them (`GUILD_DELETE_FEDERATED`, spec/federation.md) in the same transaction;
    /// then tells the gateway and hands its files (attachments, and its icon, banner, splash
    /// and emoji images) to the collector. Whether the guild existed. Used by the owner's
    /// `DELETE /guilds/{id}` and the admin's `DELETE /admin/guilds/{id}`.
    pub(crate) async fn remove_guild(&self, guild_id: i64) -> Result<bool> {
        let gid = Snowflake::from_db(guild_id);
        // Read before the change (nothing else is read while it is open).
        let images = match self.db.guild(guild_id).await? {
            Some(g) => self.guild_image_keys(&g).await?,
            None => vec![],
        };
        let data = to_value(&wire::dispatch::GuildDeleteFederated { id: gid });
        let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
        if !ch.delete_guild(guild_id).await? {
            return Ok(false);
        }
        let cause = crate::events::current_cause();
        ch.log(&[OutboxItem {
            guild_id,
            channel_id: None,
            event: Event::GuildDeleteFederated.as_str(),
            data: &data,
            actor_id: cause.as_ref().and_then(|c| c.actor),
            origin: None,
        }])
        .await?;
        ch.commit().await?;
        self.release_files_of(super::media_gc::FilesOf::Guild(guild_id));
        self.release_images(images);
        self.control(Control::GuildDeleted { guild_id: gid });
        Ok(true)
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
                banner: ga.guild.banner.clone(),
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
            self.host
                .relay(self, actor, &rg, RelayAction::new(RelayOp::MemberLeave))
                .await?;
            return Ok(());
        }
        if ga.is_owner() {
            return Err(Error::Rule(Rule::OwnerCannotLeave));
        }
        self.remove_member(ga.guild.id, actor.user.id, None).await
    }

    /// Removes a membership with its audit entry (a kick) and announces it (leave, kick);
    /// nothing if the user is not a member.
    pub(crate) async fn remove_member(
        &self,
        guild_id: i64,
        user_id: i64,
        audit: Option<&crate::storage::AuditRow>,
    ) -> Result<()> {
        self.member_removal(guild_id, user_id, audit, true).await
    }

    /// [`Hearth::remove_member`]; with `delete` false, the membership row is already gone
    /// (deleted by the caller's transaction) and only the removal is published.
    pub(crate) async fn member_removal(
        &self,
        guild_id: i64,
        user_id: i64,
        audit: Option<&crate::storage::AuditRow>,
        delete: bool,
    ) -> Result<()> {
        let user = self.user_wire_by_id(user_id).await?;
        let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
        if !delete || ch.delete_member(guild_id, user_id).await? {
            if let Some(a) = audit {
                ch.audit(a).await?;
            }
            let d = Self::event_of(
                Event::GuildMemberRemove,
                Self::guild_audience(guild_id),
                intents::GUILD_MEMBERS,
                to_value(&wire::dispatch::GuildMemberRemove {
                    guild_id: Snowflake::from_db(guild_id),
                    user,
                }),
            );
            self.commit(ch, vec![d]).await?;
            self.control(Control::MemberLeft {
                guild_id: Snowflake::from_db(guild_id),
                user_id: Snowflake::from_db(user_id),
            });
        }
        Ok(())
    }
}
