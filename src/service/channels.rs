//! Guild channels and permission overwrites (Discord "Resources > Channel", "Topics > Permissions").

use super::{Actor, ChannelAccess, GuildAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Control, Event, intents};
use crate::permissions::{self as perm};
use crate::snowflake::Snowflake;
use crate::storage::{Change, ChannelRow, Lock, OverwriteRow, now_ms};
use crate::wire::{self, ChannelType, OverwriteType};
use serde_json::{Value, json};

/// Channel types Hearth creates in guilds: text, voice, category, announcement, stage, forum,
/// media.
const GUILD_CHANNEL_TYPES: [ChannelType; 7] = [
    ChannelType::GuildText,
    ChannelType::GuildVoice,
    ChannelType::GuildStageVoice,
    ChannelType::GuildCategory,
    ChannelType::GuildAnnouncement,
    ChannelType::GuildForum,
    ChannelType::GuildMedia,
];

/// A channel name as stored: trimmed; text-like channels' lower-cased with dashes for spaces.
pub(super) fn stored_name(kind: ChannelType, name: &str) -> String {
    if named_like_text(kind) {
        name.trim().to_lowercase().replace(' ', "-")
    } else {
        name.trim().to_string()
    }
}

/// Text-like channels: names lower-cased with dashes, a topic.
pub(super) fn named_like_text(kind: ChannelType) -> bool {
    matches!(
        kind,
        ChannelType::GuildText
            | ChannelType::GuildAnnouncement
            | ChannelType::GuildForum
            | ChannelType::GuildMedia
    )
}

/// The longest topic of a channel type (a forum's guidelines: 4096; others 1024).
fn max_topic(kind: ChannelType) -> usize {
    if matches!(kind, ChannelType::GuildForum | ChannelType::GuildMedia) {
        4096
    } else {
        1024
    }
}

impl Hearth {
    // ---- channels -------------------------------------------------------------------

    /// `GET /guilds/{id}/channels`: only channels the caller can view.
    pub async fn guild_channels(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::Channel>> {
        // The caller's roles, the channels and their overwrites from one snapshot.
        let (view, channels, ows) = self
            .db
            .guild_channels_view(guild_id.db(), actor.user.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Guild))?;
        let mfa_missing = self.mfa_missing(&view.guild, actor.user.id).await?;
        let ga = GuildAccess::of_view(view, actor.user.id, mfa_missing)?;
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

    pub(super) fn validate_overwrites(
        ga: &GuildAccess,
        list: &[wire::OverwriteBody],
        errs: &mut FieldErrors,
    ) -> Result<()> {
        for (i, o) in list.iter().enumerate() {
            if let OverwriteType::Unknown(_) = o.kind {
                errs.add(
                    format!("permission_overwrites.{i}.type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (0, 1).",
                );
            }
            if o.kind == OverwriteType::Role && ga.role(o.id.db()).is_none() {
                errs.add(
                    format!("permission_overwrites.{i}.id"),
                    "UNKNOWN_ROLE",
                    "Unknown role.",
                );
            }
        }
        Ok(())
    }

    /// The rows a `permission_overwrites` list stores for channel `channel_id` (bits outside
    /// Discord's defined permissions are dropped, as `PUT .../permissions/{id}` does).
    pub(super) fn overwrite_rows(
        channel_id: i64,
        list: &[wire::OverwriteBody],
    ) -> Vec<OverwriteRow> {
        list.iter()
            .map(|o| OverwriteRow {
                channel_id,
                target_id: o.id.db(),
                kind: o.kind.db(),
                allow_bits: (o.allow.unwrap_or(0) & perm::ALL) as i64,
                deny_bits: (o.deny.unwrap_or(0) & perm::ALL) as i64,
            })
            .collect()
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
        let kind = body.kind.unwrap_or(ChannelType::GuildText);
        if !GUILD_CHANNEL_TYPES.contains(&kind) {
            errs.add(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (0, 2, 4, 5, 15, 16).",
            );
        }
        let name = body.name.clone().unwrap_or_default();
        Self::check_name(&name, "name", 1, 100, &mut errs);
        let name = stored_name(kind, &name);
        if let Some(Some(t)) = &body.topic
            && t.chars().count() > max_topic(kind)
        {
            errs.add(
                "topic",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {} or fewer in length.", max_topic(kind)),
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
        // Where the new channel's overwrites apply before it exists: its category, or the guild.
        let mut held = ga.base();
        if let Some(p) = parent {
            let pc = self.db.channel(p.db()).await?;
            let category = |k: i64| ChannelType::from_db(k) == ChannelType::GuildCategory;
            if kind == ChannelType::GuildCategory
                || pc.is_none_or(|pc| pc.guild_id != Some(ga.guild.id) || !category(pc.kind))
            {
                errs.add(
                    "parent_id",
                    "CHANNEL_PARENT_INVALID",
                    "Parent must be a category of this guild.",
                );
            } else {
                held = ga.in_channel(&self.db.overwrites(p.db()).await?);
            }
        }
        if let Some(list) = &body.permission_overwrites {
            if !list.is_empty() {
                ga.require(perm::MANAGE_ROLES)?;
            }
            Self::validate_overwrites(&ga, list, &mut errs)?;
        }
        errs.into_result()?;
        if let Some(list) = &body.permission_overwrites {
            ga.may_change_overwrites(held, &[], &Self::overwrite_rows(0, list))?;
        }
        let mut c = ChannelRow {
            id: self.next_id(),
            guild_id: Some(ga.guild.id),
            kind: kind.db(),
            name: Some(name),
            topic: body.topic.clone().flatten(),
            position: body.position.unwrap_or(0),
            parent_id: parent.map(|p| p.db()),
            nsfw: body.nsfw.unwrap_or(false),
            rate_limit_per_user: body.rate_limit_per_user.unwrap_or(0),
            bitrate: kind.is_voice().then(|| body.bitrate.unwrap_or(64_000)),
            user_limit: kind.is_voice().then(|| body.user_limit.unwrap_or(0)),
            last_message_id: None,
            last_pin_timestamp: None,
            created_at: now_ms(),
            flags: 0,
            forum: None,
        };
        let mut errs = FieldErrors::new();
        self.check_forum_emojis(&c, &body, &mut errs).await?;
        self.apply_forum_body(&mut c, &body, &mut errs)?;
        errs.into_result()?;
        let ows = Self::overwrite_rows(
            c.id,
            body.permission_overwrites.as_deref().unwrap_or_default(),
        );
        let audit = self.audit_row(
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
        );
        // The channel, its overwrites and the audit entry in one transaction, with the
        // channel limit counted inside it (`Db::create_channel_atomic`).
        let max = i64::from(self.config.limits.max_channels_per_guild);
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if !ch
            .create_channel(&mut c, body.position.is_none(), &ows, max)
            .await?
        {
            return Err(Error::Rule(Rule::MaxChannels));
        }
        ch.audit(&audit).await?;
        // The channel as stored (one overwrite per target, the last given wins).
        let (c, ows) = ch
            .channel_with_overwrites(c.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let w = Self::channel_wire(&c, &ows, None);
        let d = Self::event_of(
            Event::ChannelCreate,
            Audience::Guild {
                guild_id,
                channel: Some(Snowflake::from_db(c.id)),
            },
            intents::GUILDS,
            to_value(&w),
        );
        self.commit(ch, vec![d]).await?;
        Ok(w)
    }

    /// `GET /channels/{id}`.
    pub async fn get_channel(&self, actor: &Actor, channel_id: Snowflake) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(t) = &ca.thread {
            return self.render_thread(&ca.channel, t, actor.user.id).await;
        }
        if ca.owner_id.is_some() {
            return self.render_group(&ca, actor.user.id).await;
        }
        self.render_channel(&ca).await
    }

    pub(super) async fn render_channel(&self, ca: &ChannelAccess) -> Result<wire::Channel> {
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
    /// A group DM's `name` is changed by any recipient ([`Hearth::modify_group_dm`]).
    pub async fn modify_channel(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::ChannelBody,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca.thread.is_some() {
            return self.modify_thread(actor, ca, body, reason).await;
        }
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        if ca.owner_id.is_some() {
            return self.modify_group_dm(actor, &ca, body).await;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_CHANNELS)?;
        let mut c = ca.channel.clone();
        let mut errs = FieldErrors::new();
        let mut changes = vec![];
        if let Some(n) = body.name.clone() {
            Self::check_name(&n, "name", 1, 100, &mut errs);
            let n = if named_like_text(ChannelType::from_db(c.kind)) {
                n.trim().to_lowercase().replace(' ', "-")
            } else {
                n.trim().to_string()
            };
            changes.push(change("name", &c.name, &n));
            c.name = Some(n);
        }
        if let Some(k) = body.kind {
            // Discord allows converting text <-> announcement only.
            let convertible =
                |k| matches!(k, ChannelType::GuildText | ChannelType::GuildAnnouncement);
            if !(convertible(ChannelType::from_db(c.kind)) && convertible(k)) {
                errs.add(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Only text and announcement channels can be converted.",
                );
            }
            c.kind = k.db();
        }
        if let Some(t) = body.topic.clone() {
            let max = max_topic(ChannelType::from_db(c.kind));
            if t.as_ref().is_some_and(|t| t.chars().count() > max) {
                errs.add(
                    "topic",
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {max} or fewer in length."),
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
        self.check_forum_emojis(&ca.channel, &body, &mut errs)
            .await?;
        self.apply_forum_body(&mut c, &body, &mut errs)?;
        errs.into_result()?;
        changes.extend(super::forums::forum_changes(&ca.channel, &c));
        // The last entry for a target wins, as in Discord's replace-all semantics.
        let replaced = body.permission_overwrites.map(|list| {
            let mut rows = Self::overwrite_rows(c.id, &list);
            rows.reverse();
            rows.sort_by_key(|o| o.target_id);
            rows.dedup_by_key(|o| o.target_id);
            rows
        });
        if let Some(after) = &replaced {
            ga.may_change_overwrites(ca.perms, &ca.overwrites, after)?;
        }
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(c.id),
            A::CHANNEL_UPDATE,
            json!(changes),
            None,
            reason,
        );
        // The channel row, the whole overwrite list, the audit entry and the log entry in one
        // transaction: a reader sees the old list or the new one, never a part.
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        ch.update_channel(&c, replaced.as_deref()).await?;
        // Tags the forum no longer has leave its posts in the same transaction.
        let retagged = if body.available_tags.is_some() && super::forums::is_forum(c.kind) {
            Self::drop_removed_tags(&mut ch, &c).await?
        } else {
            vec![]
        };
        ch.audit(&audit).await?;
        let (c, ows) = ch
            .channel_with_overwrites(c.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let w = Self::channel_wire(&c, &ows, None);
        let d = Self::event_of(
            Event::ChannelUpdate,
            Audience::Guild {
                guild_id: Snowflake::from_db(ga.guild.id),
                channel: Some(channel_id),
            },
            intents::GUILDS,
            to_value(&w),
        );
        // The gateway recomputes permissions before it routes the update.
        let controls = match replaced {
            Some(_) => vec![Control::PermissionsChanged {
                guild_id: Snowflake::from_db(ga.guild.id),
            }],
            None => vec![],
        };
        self.commit_then(ch, controls, vec![d]).await?;
        self.publish_post_updates(&retagged).await;
        Ok(w)
    }

    /// `DELETE /channels/{id}`: MANAGE_CHANNELS. DM channels cannot be deleted here (closing a
    /// DM is a no-op that returns it, as Discord does); on a group DM it is leaving
    /// ([`Hearth::leave_group_dm`]).
    pub async fn delete_channel(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<wire::Channel> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca.thread.is_some() {
            return self.delete_thread(actor, ca, reason).await;
        }
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        if ca.owner_id.is_some() {
            return self.leave_group_dm(actor, &ca).await;
        }
        let Some(ga) = &ca.guild else {
            return self.render_channel(&ca).await;
        };
        ca.require(perm::MANAGE_CHANNELS)?;
        let w = Self::channel_wire(&ca.channel, &ca.overwrites, None);
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(ca.channel.id),
            A::CHANNEL_DELETE,
            json!([change("name", &ca.channel.name, Value::Null)]),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        // Its stage instance and scheduled events go with it, announced before the channel
        // (the gateway still knows who sees it).
        let stage = Self::channel_stage_gone(&mut ch, ca.channel.id).await?;
        let (gone, covers) = self.channel_events_gone(&mut ch, ca.channel.id).await?;
        let mut events: Vec<_> = stage.into_iter().chain(gone).collect();
        let Some(threads) = ch.delete_channel(ca.channel.id).await? else {
            return Err(Error::Unknown(Unknown::Channel));
        };
        ch.audit(&audit).await?;
        // The gateway computes the audience from its cache, which still has the channel.
        let d = Self::event_of(
            Event::ChannelDelete,
            Audience::Guild {
                guild_id: Snowflake::from_db(ga.guild.id),
                channel: Some(channel_id),
            },
            intents::GUILDS,
            to_value(&w),
        );
        events.push(d);
        self.commit(ch, events).await?;
        self.release_images(covers);
        for id in std::iter::once(ca.channel.id).chain(threads) {
            self.release_files_of(super::media_gc::FilesOf::Channel(id));
        }
        Ok(w)
    }

    /// `PATCH /guilds/{id}/channels`: positions (and parents). MANAGE_CHANNELS. With
    /// `lock_permissions: true` and a `parent_id`, the channel's overwrites become a copy of
    /// its new category's (Discord's category sync), which needs MANAGE_ROLES in the channel
    /// and passes the overwrite rule of [`super::overwrites`].
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
        let mut synced = vec![];
        let all_ows = self.db.guild_overwrites(ga.guild.id).await?;
        let ows_of = |id: i64| -> Vec<OverwriteRow> {
            all_ows
                .iter()
                .filter(|o| o.channel_id == id)
                .cloned()
                .collect()
        };
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
            if let (Some(true), Some(Some(parent))) = (p.lock_permissions, p.parent_id)
                && channels
                    .iter()
                    .any(|pc| pc.id == parent.db() && pc.kind == 4)
            {
                let before = ows_of(c.id);
                let after: Vec<OverwriteRow> = ows_of(parent.db())
                    .into_iter()
                    .map(|o| OverwriteRow {
                        channel_id: c.id,
                        ..o
                    })
                    .collect();
                let held = ga.in_channel(&before);
                if !perm::has(held, perm::MANAGE_ROLES) {
                    return Err(Error::MissingPermissions);
                }
                ga.may_change_overwrites(held, &before, &after)?;
                synced.push((c.id, after));
            }
            rows.push((
                c.id,
                p.position.unwrap_or(c.position),
                p.parent_id.map(|x| x.map(|x| x.db())),
            ));
        }
        errs.into_result()?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        ch.set_channel_positions(&rows, &synced).await?;
        let (channels, ows) = ch.channels_with_overwrites(ga.guild.id).await?;
        let events = channels
            .iter()
            .filter(|c| rows.iter().any(|r| r.0 == c.id))
            .map(|c| {
                Self::event_of(
                    Event::ChannelUpdate,
                    Audience::Guild {
                        guild_id,
                        channel: Some(Snowflake::from_db(c.id)),
                    },
                    intents::GUILDS,
                    to_value(&Self::channel_wire(c, &ows, None)),
                )
            })
            .collect();
        let controls = match synced.is_empty() {
            true => vec![],
            false => vec![Control::PermissionsChanged { guild_id }],
        };
        self.commit_then(ch, controls, events).await?;
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
        if ca.thread.is_some() {
            // Threads have no overwrites of their own.
            return Err(Error::Rule(Rule::ChannelType));
        }
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_ROLES)?;
        let kind = match body.kind {
            Some(k @ (OverwriteType::Role | OverwriteType::Member)) => k,
            _ => {
                return Err(field_error(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (0, 1).",
                ));
            }
        };
        if kind == OverwriteType::Role && ga.role(target.db()).is_none() {
            return Err(Error::Unknown(Unknown::Role));
        }
        if kind == OverwriteType::Member
            && self.db.member(ga.guild.id, target.db()).await?.is_none()
        {
            return Err(Error::Unknown(Unknown::Member));
        }
        let allow = body.allow.unwrap_or(0) & perm::ALL;
        let deny = body.deny.unwrap_or(0) & perm::ALL;
        let row = OverwriteRow {
            channel_id: ca.channel.id,
            target_id: target.db(),
            kind: kind.db(),
            allow_bits: allow as i64,
            deny_bits: deny as i64,
        };
        let mut after: Vec<OverwriteRow> = ca
            .overwrites
            .iter()
            .filter(|o| o.target_id != target.db())
            .cloned()
            .collect();
        after.push(row.clone());
        ga.may_change_overwrites(ca.perms, &ca.overwrites, &after)?;
        let existed = ca.overwrites.iter().any(|o| o.target_id == target.db());
        let action = if existed {
            A::CHANNEL_OVERWRITE_UPDATE
        } else {
            A::CHANNEL_OVERWRITE_CREATE
        };
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(ca.channel.id),
            action,
            json!([
                change("allow", Value::Null, allow.to_string()),
                change("deny", Value::Null, deny.to_string())
            ]),
            Some(json!({"id": target, "type": kind.value().to_string()})),
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        ch.upsert_overwrite(&row).await?;
        ch.audit(&audit).await?;
        self.commit_channel_change(ch, ga.guild.id, ca.channel.id)
            .await
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
        if ca.thread.is_some() {
            // Threads have no overwrites of their own.
            return Err(Error::Rule(Rule::ChannelType));
        }
        if let Some(g) = &ca.guild {
            Self::hosted_here(&g.guild)?;
        }
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        ca.require(perm::MANAGE_ROLES)?;
        let after: Vec<OverwriteRow> = ca
            .overwrites
            .iter()
            .filter(|o| o.target_id != target.db())
            .cloned()
            .collect();
        ga.may_change_overwrites(ca.perms, &ca.overwrites, &after)?;
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(ca.channel.id),
            A::CHANNEL_OVERWRITE_DELETE,
            json!([]),
            Some(json!({"id": target})),
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if ch.delete_overwrite(ca.channel.id, target.db()).await? {
            ch.audit(&audit).await?;
            self.commit_channel_change(ch, ga.guild.id, ca.channel.id)
                .await?;
        }
        Ok(())
    }

    /// Commits a change of a channel's overwrites with the CHANNEL_UPDATE that re-announces
    /// the channel as the change leaves it; the gateway is asked to recompute permissions
    /// before it routes the update.
    async fn commit_channel_change(
        &self,
        mut ch: Change,
        guild_id: i64,
        channel_id: i64,
    ) -> Result<()> {
        let (c, ows) = ch
            .channel_with_overwrites(channel_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let d = Self::event_of(
            Event::ChannelUpdate,
            Audience::Guild {
                guild_id: Snowflake::from_db(guild_id),
                channel: Some(Snowflake::from_db(channel_id)),
            },
            intents::GUILDS,
            to_value(&Self::channel_wire(&c, &ows, None)),
        );
        let recompute = Control::PermissionsChanged {
            guild_id: Snowflake::from_db(guild_id),
        };
        self.commit_then(ch, vec![recompute], vec![d]).await
    }
}
