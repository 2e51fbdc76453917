//! Reactions (Discord "Resources > Message > Create Reaction" and the reaction routes), with
//! Unicode emoji (the route's segment, URL-decoded) and custom emoji (`name:id`). A reaction
//! is stored under its emoji's key: the Unicode emoji itself, or `:{id}` for a custom emoji
//! ([`custom_key`]; a Unicode key never holds `:`), so a renamed emoji keeps its reactions.
//! Reacting with a custom emoji needs an emoji of the channel's guild, and one of its roles
//! when it is role-restricted (else 400 10014 Unknown Emoji, as Discord answers for emoji the
//! caller may not use); events and message objects carry `{id, name, animated}` (`name` null
//! once the emoji is deleted).

use super::ports::{RelayAction, RelayOp};
use super::{Actor, ChannelAccess, Hearth, to_value, writer};
use crate::error::{Error, Result, Rule, field_error};
use crate::events::{Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, UserRow, now_ms};
use crate::wire::{self, dispatch};
use std::collections::HashMap;

use super::messages::parse_emoji;

/// The stored reaction key of the custom emoji `id`.
pub fn custom_key(id: i64) -> String {
    format!(":{id}")
}

/// The custom emoji id of a stored reaction key (`:{id}`, [`custom_key`]); `None` for a
/// Unicode emoji.
pub fn custom_id_of_key(key: &str) -> Option<i64> {
    key.strip_prefix(':').and_then(|i| i.parse().ok())
}

/// The key of a reaction's emoji object (a host's event: custom emoji by id).
pub fn key_of(e: &wire::Emoji) -> Option<String> {
    match e.id {
        Some(id) => Some(custom_key(id.db())),
        None => e.name.clone(),
    }
}

/// The name and custom emoji id of a route segment `name:id` (also `a:name:id`); `None`
/// when the segment is no custom emoji. Errors: 10014 when it looks like one but the id is
/// bad.
fn custom_emoji(raw: &str) -> Result<Option<(&str, i64)>> {
    let Some((rest, id)) = raw.trim().rsplit_once(':') else {
        return Ok(None);
    };
    let name = rest.rsplit(':').next().unwrap_or(rest);
    id.parse::<u64>()
        .ok()
        .filter(|i| *i > 0)
        .map(|i| Some((name, i as i64)))
        .ok_or(Error::Unknown(crate::error::Unknown::Emoji))
}

impl Hearth {
    // ---- reactions ------------------------------------------------------------------

    /// The stored key and the emoji object of a reaction route's `{emoji}` segment in `ca`'s
    /// channel. A custom emoji (`name:id`) is described by its row (current name,
    /// `animated`); with `using` (adding a reaction) it must be an emoji of the channel's
    /// guild and, when role-restricted, one whose roles the caller holds one of.
    ///
    /// # Errors
    /// 400 10014 for an invalid Unicode emoji, an unknown custom emoji, or (with `using`)
    /// one of another guild or restricted to roles the caller lacks.
    async fn reaction_emoji(
        &self,
        ca: &ChannelAccess,
        raw: &str,
        using: bool,
    ) -> Result<(String, wire::Emoji)> {
        let Some((name, id)) = custom_emoji(raw)? else {
            return parse_emoji(raw);
        };
        let unknown = || Error::Unknown(crate::error::Unknown::Emoji);
        let row = match ca.channel.guild_id {
            Some(g) => self.db.emoji(g, id).await?,
            None => None,
        };
        let usable = row.as_ref().is_some_and(|e| {
            e.roles.is_empty()
                || ca
                    .guild
                    .as_ref()
                    .is_some_and(|g| g.member_roles.iter().any(|r| e.roles.contains(r)))
        });
        if using && !usable {
            return Err(unknown());
        }
        Ok((
            custom_key(id),
            wire::Emoji {
                id: Some(Snowflake::from_db(id)),
                name: Some(
                    row.as_ref()
                        .map_or(name, |e| e.row.name.as_str())
                        .to_string(),
                ),
                animated: row.as_ref().is_some_and(|e| e.row.animated),
            },
        ))
    }

    /// A reaction's `{emoji}` segment as the host of replica `rg` names it: a custom
    /// emoji's local id mapped back to the host's (the name kept); Unicode unchanged.
    ///
    /// # Errors
    /// 400 10014 for a custom emoji the host never sent.
    async fn emoji_for_host(
        &self,
        rg: &crate::storage::RemoteGuildRow,
        raw: &str,
    ) -> Result<String> {
        let Some((name, id)) = custom_emoji(raw)? else {
            return Ok(raw.to_string());
        };
        let host_id = self
            .db
            .map_reverse(&rg.host, id)
            .await?
            .ok_or(Error::Unknown(crate::error::Unknown::Emoji))?;
        Ok(format!("{name}:{}", host_id as u64))
    }

    pub(super) fn reaction_intent(ca: &ChannelAccess) -> u64 {
        if ca.guild.is_some() {
            intents::GUILD_MESSAGE_REACTIONS
        } else {
            intents::DIRECT_MESSAGE_REACTIONS
        }
    }

    /// `PUT .../reactions/{emoji}/@me`: READ_MESSAGE_HISTORY, and ADD_REACTIONS when nobody
    /// has reacted with that emoji yet. Errors: 10014 unknown emoji, 30010 too many.
    pub async fn add_reaction(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
            // The replica's rule first (the host checks again with its own rows).
            self.reaction_emoji(&ca, emoji, true).await?;
            let emoji = self.emoji_for_host(&rg, emoji).await?;
            self.host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(RelayOp::ReactionAdd)
                        .channel(ca.channel.id)
                        .message(message_id.db())
                        .emoji(&emoji),
                )
                .await?;
            return Ok(());
        }
        ca.require(perm::READ_MESSAGE_HISTORY)?;
        let m = self.message_in(&ca, message_id).await?;
        let (key, emoji) = self.reaction_emoji(&ca, emoji, true).await?;
        if !self.db.has_reaction(m.id, &key).await? {
            ca.require(perm::ADD_REACTIONS)?;
            if self.db.count_distinct_reactions(m.id).await?
                >= i64::from(self.config.limits.max_reactions_per_message)
            {
                return Err(Error::Rule(Rule::MaxReactions));
            }
        }
        // The event is made before the reaction is stored, so that its log entry goes into
        // the same transaction (the federation outbox).
        let member = match ca.channel.guild_id {
            Some(g) => Some(self.member_wire_by_id(g, actor.user.id, false).await?),
            None => None,
        };
        let data = to_value(&dispatch::ReactionAdd {
            user_id: actor.id(),
            channel_id,
            message_id,
            guild_id: ca.guild_id(),
            member,
            emoji,
            message_author_id: Snowflake::from_db(m.author_id),
            burst: false,
            kind: 0,
        });
        let (audience, _) = Self::message_audience(&ca);
        let mut d = Self::event_of(
            Event::MessageReactionAdd,
            audience,
            Self::reaction_intent(&ca),
            data,
        );
        let w = self
            .db
            .add_reaction(m.id, &key, actor.user.id, now_ms(), writer::outbox_item(&d))
            .await?;
        if w.changed {
            d.logged = w.logged;
            self.publish(d);
        }
        Ok(())
    }

    /// `DELETE .../reactions/{emoji}/@me` or `/{user_id}` (MANAGE_MESSAGES for others).
    pub async fn remove_reaction(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
        user: Option<Snowflake>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
            if user.is_some_and(|u| u.db() != actor.user.id) {
                return Err(Error::Rule(Rule::RemoteGuild));
            }
            let emoji = self.emoji_for_host(&rg, emoji).await?;
            self.host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(RelayOp::ReactionRemove)
                        .channel(ca.channel.id)
                        .message(message_id.db())
                        .emoji(&emoji),
                )
                .await?;
            return Ok(());
        }
        let target = user.map_or(actor.user.id, |u| u.db());
        if target != actor.user.id {
            ca.require(perm::MANAGE_MESSAGES)?;
        }
        let m = self.message_in(&ca, message_id).await?;
        let (key, emoji) = self.reaction_emoji(&ca, emoji, false).await?;
        let (audience, _) = Self::message_audience(&ca);
        let mut d = Self::event_of(
            Event::MessageReactionRemove,
            audience,
            Self::reaction_intent(&ca),
            to_value(&dispatch::ReactionRemove {
                user_id: Snowflake::from_db(target),
                channel_id,
                message_id,
                guild_id: ca.guild_id(),
                emoji,
                burst: false,
                kind: 0,
            }),
        );
        let w = self
            .db
            .remove_reaction(m.id, &key, target, writer::outbox_item(&d))
            .await?;
        if w.changed {
            d.logged = w.logged;
            self.publish(d);
        }
        Ok(())
    }

    /// `GET .../reactions/{emoji}` (`after`, `limit` 1-100 default 25).
    pub async fn reaction_users(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: &str,
        after: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<Vec<wire::User>> {
        let ca = self.channel_access(actor, channel_id).await?;
        ca.require(perm::READ_MESSAGE_HISTORY)?;
        let m = self.message_in(&ca, message_id).await?;
        let (key, _) = self.reaction_emoji(&ca, emoji, false).await?;
        let limit = limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 100.",
            ));
        }
        let ids = self
            .db
            .reaction_users(m.id, &key, after.map_or(0, |a| a.db()), limit)
            .await?;
        let users: HashMap<i64, UserRow> = self.db.users_by_id(&ids).await?;
        Ok(ids
            .iter()
            .filter_map(|i| users.get(i))
            .map(|u| self.user_wire(u, false))
            .collect())
    }

    /// `DELETE .../reactions` or `.../reactions/{emoji}`: MANAGE_MESSAGES.
    pub async fn clear_reactions(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        emoji: Option<&str>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if ca
            .guild
            .as_ref()
            .is_some_and(|g| g.guild.host_server.is_some())
        {
            return Err(Error::Rule(Rule::RemoteGuild));
        }
        ca.require(perm::MANAGE_MESSAGES)?;
        let m = self.message_in(&ca, message_id).await?;
        let parsed = match emoji {
            Some(e) => Some(self.reaction_emoji(&ca, e, false).await?),
            None => None,
        };
        let mut ch = self.db.change(Lock::Nothing).await?;
        ch.clear_reactions(m.id, parsed.as_ref().map(|p| p.0.as_str()))
            .await?;
        let (audience, _) = Self::message_audience(&ca);
        let d = match parsed {
            None => Self::event_of(
                Event::MessageReactionRemoveAll,
                audience,
                Self::reaction_intent(&ca),
                to_value(&dispatch::ReactionRemoveAll {
                    channel_id,
                    message_id,
                    guild_id: ca.guild_id(),
                }),
            ),
            Some((_, emoji)) => Self::event_of(
                Event::MessageReactionRemoveEmoji,
                audience,
                Self::reaction_intent(&ca),
                to_value(&dispatch::ReactionRemoveEmoji {
                    channel_id,
                    message_id,
                    guild_id: ca.guild_id(),
                    emoji,
                }),
            ),
        };
        self.commit(ch, vec![d]).await
    }
}
