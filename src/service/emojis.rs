//! Custom emoji (Discord "Resources > Emoji"): `GET/POST /guilds/{id}/emojis`,
//! `GET/PATCH/DELETE /guilds/{id}/emojis/{emoji_id}`.
//!
//! Permissions as Discord's: any member lists and reads; creating needs
//! CREATE_GUILD_EXPRESSIONS or MANAGE_GUILD_EXPRESSIONS; changing and deleting need
//! MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for an emoji the caller created.
//! The creator (`user`) is shown to members holding either permission.
//!
//! A guild holds at most [`MAX_STATIC_EMOJIS`] static and [`MAX_ANIMATED_EMOJIS`] animated
//! emoji (Discord's figures without boosts), counted in the inserting transaction. Names are
//! 2-32 characters of ASCII letters, digits and `_`. The image is a data URI checked as
//! every image ([`super::images`]) under `media.max_emoji_bytes`; an animated GIF or WebP
//! makes an animated emoji. Every change writes its audit entry (EMOJI_CREATE 60,
//! EMOJI_UPDATE 61, EMOJI_DELETE 62) and, for a guild with member servers, the federation
//! log entry of its `GUILD_EMOJIS_UPDATE` (the whole list; intent GUILD_EXPRESSIONS) in one
//! `storage::Change`, and is announced after the commit. A deleted emoji's image goes after
//! the commit.

use std::collections::HashMap;

use serde_json::json;

use super::images::ImageKind;
use super::ports::BlobKey;
use super::{Actor, GuildAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Change, Emoji, EmojiLimit, EmojiRow, now_ms};
use crate::wire;

/// Static emoji a guild may hold (Discord: 50 without boosts).
pub const MAX_STATIC_EMOJIS: i64 = 50;
/// Animated emoji a guild may hold (Discord: 50 without boosts).
pub const MAX_ANIMATED_EMOJIS: i64 = 50;

/// Checks an emoji name (2-32 of `[A-Za-z0-9_]`) into `errs` at `name`.
fn check_emoji_name(name: &str, errs: &mut FieldErrors) {
    if !(2..=32).contains(&name.chars().count()) {
        errs.add(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 2 and 32 in length.",
        );
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        errs.add(
            "name",
            "STRING_TYPE_REGEX",
            "String value did not match validation regex.",
        );
    }
}

/// Checks that every role is one of the guild's, into `errs` at `roles`; the ids.
fn check_roles(ga: &GuildAccess, roles: &[Snowflake], errs: &mut FieldErrors) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    for r in roles {
        if !ga.roles.iter().any(|x| x.id == r.db()) {
            errs.add("roles", "INVALID_ROLE", format!("Unknown role {r}."));
        } else if !out.contains(&r.db()) {
            out.push(r.db());
        }
    }
    out.sort_unstable();
    out
}

/// Whether the caller may see creators and create emoji.
fn creates(ga: &GuildAccess) -> bool {
    let base = ga.base();
    perm::has(base, perm::MANAGE_GUILD_EXPRESSIONS)
        || perm::has(base, perm::CREATE_GUILD_EXPRESSIONS)
}

impl Hearth {
    pub(super) fn emoji_wire(e: &Emoji, user: Option<wire::User>) -> wire::GuildEmoji {
        wire::GuildEmoji {
            id: Snowflake::from_db(e.row.id),
            name: e.row.name.clone(),
            roles: e.roles.iter().copied().map(Snowflake::from_db).collect(),
            user,
            require_colons: true,
            managed: false,
            animated: e.row.animated,
            available: true,
        }
    }

    /// The emoji objects of `emojis`, with their creators when `with_user`.
    async fn emojis_wire(
        &self,
        emojis: &[Emoji],
        with_user: bool,
    ) -> Result<Vec<wire::GuildEmoji>> {
        let mut users: HashMap<i64, Option<wire::User>> = HashMap::new();
        let mut out = Vec::with_capacity(emojis.len());
        for e in emojis {
            let user = if with_user {
                if let std::collections::hash_map::Entry::Vacant(slot) = users.entry(e.row.user_id)
                {
                    let u = self.db.user(e.row.user_id).await?;
                    slot.insert(u.map(|u| self.user_wire(&u, false)));
                }
                users[&e.row.user_id].clone()
            } else {
                None
            };
            out.push(Self::emoji_wire(e, user));
        }
        Ok(out)
    }

    /// The emoji of a guild as the guild object and `GUILD_CREATE` carry them (no `user`).
    pub async fn guild_emojis_wire(&self, guild_id: i64) -> Result<Vec<wire::GuildEmoji>> {
        self.emojis_wire(&self.db.emojis(guild_id).await?, false)
            .await
    }

    /// Commits an emoji change with `GUILD_EMOJIS_UPDATE` (the guild's list as the change
    /// sees it): its federation log entry goes to the outbox in the same transaction, the
    /// dispatch is published after the commit ([`Hearth::commit`]).
    async fn commit_emojis(&self, mut ch: Change, guild_id: i64) -> Result<()> {
        let emojis = match ch.emojis(guild_id).await {
            Ok(e) => self.emojis_wire(&e, false).await?,
            Err(e) => {
                ch.rollback().await?;
                return Err(e);
            }
        };
        let d = Self::event_of(
            Event::GuildEmojisUpdate,
            Self::guild_audience(guild_id),
            intents::GUILD_EXPRESSIONS,
            to_value(&wire::dispatch::GuildEmojisUpdate {
                guild_id: Snowflake::from_db(guild_id),
                emojis,
            }),
        );
        self.commit(ch, vec![d]).await
    }

    /// The emoji `id` of the guild, 404 10014 Unknown Emoji when none.
    async fn emoji_of(&self, guild_id: i64, id: Snowflake) -> Result<Emoji> {
        self.db
            .emoji(guild_id, id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Emoji))
    }

    /// MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS on one's own emoji.
    fn may_change_emoji(ga: &GuildAccess, e: &EmojiRow) -> Result<()> {
        ga.require(perm::MANAGE_GUILD_EXPRESSIONS).or_else(|err| {
            if e.user_id == ga.user_id {
                ga.require(perm::CREATE_GUILD_EXPRESSIONS)
            } else {
                Err(err)
            }
        })
    }

    /// `GET /guilds/{id}/emojis`: any member.
    pub async fn list_emojis(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::GuildEmoji>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let emojis = self.db.emojis(ga.guild.id).await?;
        self.emojis_wire(&emojis, creates(&ga)).await
    }

    /// `GET /guilds/{id}/emojis/{emoji_id}`: any member. Errors: 404 10014.
    pub async fn get_emoji(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        emoji_id: Snowflake,
    ) -> Result<wire::GuildEmoji> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let e = self.emoji_of(ga.guild.id, emoji_id).await?;
        Ok(self.emojis_wire(&[e], creates(&ga)).await?.remove(0))
    }

    /// `POST /guilds/{id}/emojis` with `name`, `image` (data URI) and `roles`.
    ///
    /// # Errors
    /// 403 50013 without CREATE_GUILD_EXPRESSIONS or MANAGE_GUILD_EXPRESSIONS; 400 50035 for
    /// a bad name, an unknown role or a bad image (see [`super::images`]); 400 30008 / 30018
    /// at the guild's static / animated limit.
    pub async fn create_emoji(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::CreateEmojiBody,
        reason: Option<&str>,
    ) -> Result<wire::GuildEmoji> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::MANAGE_GUILD_EXPRESSIONS)
            .or_else(|_| ga.require(perm::CREATE_GUILD_EXPRESSIONS))?;
        let mut errs = FieldErrors::new();
        let name = body.name.unwrap_or_default();
        check_emoji_name(&name, &mut errs);
        let roles = check_roles(&ga, body.roles.as_deref().unwrap_or(&[]), &mut errs);
        if body.image.is_none() {
            errs.add("image", "BASE_TYPE_REQUIRED", "This field is required");
        }
        errs.into_result()?;
        let id = self.next_id();
        let img = self
            .store_image(
                ImageKind::Emoji,
                id,
                "image",
                body.image.unwrap_or_default(),
            )
            .await?;
        let e = Emoji {
            row: EmojiRow {
                id,
                guild_id: ga.guild.id,
                name: name.clone(),
                user_id: actor.user.id,
                animated: img.animated,
                blob_key: img.key.as_str().to_string(),
                created_at: now_ms(),
            },
            roles,
        };
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(id),
            A::EMOJI_CREATE,
            json!([{"key": "name", "new_value": name}]),
            None,
            reason,
        );
        let stored = self
            .db
            .create_emoji(&e, MAX_STATIC_EMOJIS, MAX_ANIMATED_EMOJIS, &audit)
            .await;
        let ch = match stored {
            Ok(Ok(ch)) => ch,
            Ok(Err(l)) => {
                self.forget_image(img.key);
                return Err(Error::Rule(match l {
                    EmojiLimit::Static => Rule::MaxEmojis,
                    EmojiLimit::Animated => Rule::MaxAnimatedEmojis,
                }));
            }
            Err(err) => {
                self.forget_image(img.key);
                return Err(err);
            }
        };
        if let Err(err) = self.commit_emojis(ch, ga.guild.id).await {
            self.forget_image(img.key);
            return Err(err);
        }
        Ok(Self::emoji_wire(
            &e,
            Some(self.user_wire(&actor.user, false)),
        ))
    }

    /// `PATCH /guilds/{id}/emojis/{emoji_id}` with `name` and `roles` (`null`: everyone).
    ///
    /// # Errors
    /// 404 10014; 403 50013 (see the module documentation); 400 50035 for a bad name or an
    /// unknown role.
    pub async fn modify_emoji(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        emoji_id: Snowflake,
        body: wire::ModifyEmojiBody,
        reason: Option<&str>,
    ) -> Result<wire::GuildEmoji> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let mut e = self.emoji_of(ga.guild.id, emoji_id).await?;
        Self::may_change_emoji(&ga, &e.row)?;
        let mut errs = FieldErrors::new();
        let mut changes = vec![];
        if let Some(n) = body.name {
            check_emoji_name(&n, &mut errs);
            if n != e.row.name {
                changes.push(change("name", &e.row.name, &n));
            }
            e.row.name = n;
        }
        let roles = body
            .roles
            .map(|r| check_roles(&ga, r.as_deref().unwrap_or(&[]), &mut errs));
        errs.into_result()?;
        if let Some(r) = &roles {
            if *r != e.roles {
                changes.push(change("roles", &e.roles, r));
            }
            e.roles = r.clone();
        }
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(e.row.id),
            A::EMOJI_UPDATE,
            json!(changes),
            None,
            reason,
        );
        let ch = self
            .db
            .update_emoji(ga.guild.id, e.row.id, &e.row.name, roles.as_deref(), &audit)
            .await?
            .ok_or(Error::Unknown(Unknown::Emoji))?;
        self.commit_emojis(ch, ga.guild.id).await?;
        Ok(self.emojis_wire(&[e], true).await?.remove(0))
    }

    /// `DELETE /guilds/{id}/emojis/{emoji_id}`: the row and its audit entry in one
    /// transaction, then the image's bytes.
    ///
    /// # Errors
    /// 404 10014; 403 50013 (see the module documentation).
    pub async fn delete_emoji(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        emoji_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let e = self.emoji_of(ga.guild.id, emoji_id).await?;
        Self::may_change_emoji(&ga, &e.row)?;
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(e.row.id),
            A::EMOJI_DELETE,
            json!([{"key": "name", "old_value": e.row.name}]),
            None,
            reason,
        );
        let (ch, row) = self
            .db
            .delete_emoji(ga.guild.id, e.row.id, &audit)
            .await?
            .ok_or(Error::Unknown(Unknown::Emoji))?;
        self.commit_emojis(ch, ga.guild.id).await?;
        // Emoji ids are never reused: the bytes go to the collector (grace period).
        if let Ok(key) = BlobKey::new(row.blob_key) {
            self.release_images(vec![key]);
        }
        Ok(())
    }

    /// The blob keys of a guild's images (icon, banner, splash, emoji, scheduled events'
    /// covers), to release once the guild is deleted.
    pub(super) async fn guild_image_keys(
        &self,
        g: &crate::storage::GuildRow,
    ) -> Result<Vec<BlobKey>> {
        let mut keys: Vec<BlobKey> = [
            (ImageKind::Icon, &g.icon),
            (ImageKind::Banner, &g.banner),
            (ImageKind::Splash, &g.splash),
        ]
        .into_iter()
        .filter_map(|(k, h)| k.blob_key(g.id, h.as_deref()?))
        .collect();
        for e in self.db.emojis(g.id).await? {
            keys.extend(BlobKey::new(e.row.blob_key).ok());
        }
        for (event, hash) in self.db.scheduled_event_images(g.id).await? {
            keys.extend(ImageKind::EventCover.blob_key(event, &hash));
        }
        Ok(keys)
    }
}
