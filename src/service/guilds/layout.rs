//! The roles and channels a guild is created with: Discord "Create Guild" (`POST /guilds`)
//! `roles`, `channels` and `system_channel_id`, whose `id`s are placeholders that overwrites,
//! `parent_id` and `system_channel_id` refer to. [`GuildLayout::plan`] checks the whole body
//! and gives every row its real id before anything is stored, so the guild, its roles, its
//! channels and their overwrites are written in one transaction (`Db::create_guild`) or not
//! at all: a template is never half applied.

use std::collections::HashMap;

use crate::error::FieldErrors;
use crate::permissions as perm;
use crate::storage::{ChannelRow, OverwriteRow, RoleRow};
use crate::wire::{self, ChannelType, OverwriteType};

/// At most this many roles in `roles` (`@everyone` included): Discord's role limit.
pub const MAX_ROLES: usize = 250;
/// At most this many channels in `channels`: Discord's channel limit of a guild.
pub const MAX_CHANNELS: usize = 500;
/// The channel types a guild can be created with: text, voice, category, announcement.
/// (Stage, forum and media channels are made afterwards, `POST /guilds/{id}/channels`.)
const TYPES: [ChannelType; 4] = [
    ChannelType::GuildText,
    ChannelType::GuildVoice,
    ChannelType::GuildCategory,
    ChannelType::GuildAnnouncement,
];
/// Longest channel topic (Discord: 1024 characters).
const MAX_TOPIC: usize = 1024;

/// The rows a new guild is created with.
#[derive(Debug)]
pub struct GuildLayout {
    /// `@everyone` first (id = the guild's), then the body's other roles by position.
    pub roles: Vec<RoleRow>,
    pub channels: Vec<ChannelRow>,
    pub overwrites: Vec<OverwriteRow>,
    /// The channel that receives system messages.
    pub system_channel: Option<i64>,
}

/// What the plan needs from its caller: the guild's id and creator, the time, and fresh ids.
pub struct Ids<'a> {
    pub guild: i64,
    pub owner: i64,
    pub now: i64,
    pub next: &'a mut dyn FnMut() -> i64,
}

impl GuildLayout {
    /// The layout of `body` (Discord "Create Guild"):
    /// - `roles`: at most [`MAX_ROLES`]; the first sets `@everyone`'s permissions and colour
    ///   (its name is kept), each other one needs a `name` of 1-100 characters; permissions
    ///   are cut to the bits Hearth knows; colours are 0 to 0xFFFFFF.
    /// - `channels`: at most [`MAX_CHANNELS`], of the types in `TYPES`, named 1-100
    ///   characters (text-like names lower-cased with dashes), topics of at most 1024;
    ///   `parent_id` names a category of the list (not itself a category); overwrites name a
    ///   role of `roles` by its placeholder (type 0) or the creator (type 1). Positions
    ///   follow the list. Without `channels`, the guild gets one text channel, `general`,
    ///   which receives system messages.
    /// - `system_channel_id`: the placeholder of a text channel of `channels`.
    ///
    /// Placeholders must be unique within their list. Every problem is added to `errs` under
    /// its path (`channels.3.parent_id`), Discord's 400 50035.
    pub fn plan(body: &mut wire::CreateGuildBody, ids: Ids<'_>, errs: &mut FieldErrors) -> Self {
        let Ids {
            guild,
            owner,
            now,
            next,
        } = ids;
        let mut everyone = RoleRow {
            id: guild,
            guild_id: guild,
            name: "@everyone".into(),
            color: 0,
            hoist: false,
            position: 0,
            permissions: perm::EVERYONE_DEFAULT as i64,
            managed: false,
            mentionable: false,
            bot_id: None,
        };
        let mut roles = vec![];
        // Placeholder -> real role id.
        let mut role_ids: HashMap<u64, i64> = HashMap::new();
        let listed = body.roles.take().unwrap_or_default();
        if listed.len() > MAX_ROLES {
            errs.add(
                "roles",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_ROLES} or fewer in length."),
            );
        }
        for (i, r) in listed.iter().enumerate().take(MAX_ROLES) {
            let id = if i == 0 { guild } else { next() };
            if let Some(p) = r.id
                && role_ids.insert(p.0, id).is_some()
            {
                errs.add(
                    format!("roles.{i}.id"),
                    "BASE_TYPE_BAD_VALUE",
                    "Duplicate placeholder id.",
                );
            }
            let color = r.role.color.unwrap_or(0);
            if color > 0xFF_FFFF {
                errs.add(
                    format!("roles.{i}.color"),
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 16777215.",
                );
            }
            let permissions = r.role.permissions.map(|p| (p & perm::ALL) as i64);
            if i == 0 {
                everyone.permissions = permissions.unwrap_or(everyone.permissions);
                everyone.color = i64::from(color);
                continue;
            }
            let name = r.role.name.clone().unwrap_or_default();
            crate::service::Hearth::check_name(&name, &format!("roles.{i}.name"), 1, 100, errs);
            roles.push(RoleRow {
                id,
                guild_id: guild,
                name: name.trim().to_string(),
                color: i64::from(color),
                hoist: r.role.hoist.unwrap_or(false),
                position: i as i64,
                permissions: permissions.unwrap_or(0),
                managed: false,
                mentionable: r.role.mentionable.unwrap_or(false),
                bot_id: None,
            });
        }
        roles.insert(0, everyone);

        let Some(listed) = body.channels.take() else {
            let general = channel_row(guild, next(), ChannelType::GuildText, "general", now);
            let system_channel = Some(general.id);
            if body.system_channel_id.is_some() {
                errs.add(
                    "system_channel_id",
                    "BASE_TYPE_BAD_VALUE",
                    "Names no channel of `channels`.",
                );
            }
            return GuildLayout {
                roles,
                channels: vec![general],
                overwrites: vec![],
                system_channel,
            };
        };
        if listed.len() > MAX_CHANNELS {
            errs.add(
                "channels",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_CHANNELS} or fewer in length."),
            );
        }
        let listed = &listed[..listed.len().min(MAX_CHANNELS)];
        // Placeholder -> (real id, type), known before any parent is resolved: a child may
        // come before its category.
        let mut channel_ids: HashMap<u64, (i64, ChannelType)> = HashMap::new();
        let real: Vec<i64> = listed.iter().map(|_| next()).collect();
        for (i, c) in listed.iter().enumerate() {
            let kind = c.kind.unwrap_or(ChannelType::GuildText);
            if let Some(p) = c.id
                && channel_ids.insert(p.0, (real[i], kind)).is_some()
            {
                errs.add(
                    format!("channels.{i}.id"),
                    "BASE_TYPE_BAD_VALUE",
                    "Duplicate placeholder id.",
                );
            }
        }
        let mut channels = vec![];
        let mut overwrites = vec![];
        for (i, c) in listed.iter().enumerate() {
            let kind = c.kind.unwrap_or(ChannelType::GuildText);
            if !TYPES.contains(&kind) {
                errs.add(
                    format!("channels.{i}.type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (0, 2, 4, 5).",
                );
            }
            let name = c.name.clone().unwrap_or_default();
            crate::service::Hearth::check_name(&name, &format!("channels.{i}.name"), 1, 100, errs);
            let text_like = crate::service::channels::named_like_text(kind);
            let name = crate::service::channels::stored_name(kind, &name);
            if c.topic
                .as_ref()
                .is_some_and(|t| t.chars().count() > MAX_TOPIC)
            {
                errs.add(
                    format!("channels.{i}.topic"),
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {MAX_TOPIC} or fewer in length."),
                );
            }
            let parent = match c.parent_id {
                None => None,
                Some(p) => match channel_ids.get(&p.0) {
                    Some((id, ChannelType::GuildCategory))
                        if kind != ChannelType::GuildCategory =>
                    {
                        Some(*id)
                    }
                    _ => {
                        errs.add(
                            format!("channels.{i}.parent_id"),
                            "CHANNEL_PARENT_INVALID",
                            "Must name a category of `channels`, and not from a category.",
                        );
                        None
                    }
                },
            };
            let mut row = channel_row(guild, real[i], kind, &name, now);
            row.topic = c.topic.clone().filter(|_| text_like);
            row.parent_id = parent;
            row.position = i as i64;
            row.nsfw = c.nsfw.unwrap_or(false);
            for (j, o) in c.permission_overwrites.iter().flatten().enumerate() {
                let target = match o.kind {
                    OverwriteType::Role => role_ids.get(&o.id.0).copied(),
                    OverwriteType::Member => (o.id.db() == owner).then_some(owner),
                    OverwriteType::Unknown(_) => None,
                };
                let Some(target) = target else {
                    errs.add(
                        format!("channels.{i}.permission_overwrites.{j}.id"),
                        "BASE_TYPE_BAD_VALUE",
                        "Must name a role of `roles` or the creator.",
                    );
                    continue;
                };
                // One row per target: the last one given wins, as on PATCH.
                overwrites
                    .retain(|x: &OverwriteRow| !(x.channel_id == row.id && x.target_id == target));
                overwrites.push(OverwriteRow {
                    channel_id: row.id,
                    target_id: target,
                    kind: o.kind.db(),
                    allow_bits: (o.allow.unwrap_or(0) & perm::ALL) as i64,
                    deny_bits: (o.deny.unwrap_or(0) & perm::ALL) as i64,
                });
            }
            channels.push(row);
        }
        let system_channel = match body.system_channel_id {
            None => None,
            Some(p) => match channel_ids.get(&p.0) {
                Some((id, ChannelType::GuildText)) => Some(*id),
                _ => {
                    errs.add(
                        "system_channel_id",
                        "BASE_TYPE_BAD_VALUE",
                        "Must name a text channel of `channels`.",
                    );
                    None
                }
            },
        };
        GuildLayout {
            roles,
            channels,
            overwrites,
            system_channel,
        }
    }
}

/// A new channel of guild `guild` with Hearth's defaults (a voice channel: 64 kbps, no user
/// limit).
fn channel_row(guild: i64, id: i64, kind: ChannelType, name: &str, now: i64) -> ChannelRow {
    ChannelRow {
        id,
        guild_id: Some(guild),
        kind: kind.db(),
        name: Some(name.to_string()),
        topic: None,
        position: 0,
        parent_id: None,
        nsfw: false,
        rate_limit_per_user: 0,
        bitrate: kind.is_voice().then_some(64_000),
        user_limit: kind.is_voice().then_some(0),
        last_message_id: None,
        last_pin_timestamp: None,
        created_at: now,
        flags: 0,
        forum: None,
    }
}
