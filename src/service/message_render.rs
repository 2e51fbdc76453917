//! Rendering messages for a viewer (Discord "Resources > Message > Message Object"): authors,
//! mentions, reactions with `me`, replies' referenced messages, and the gateway payload of a
//! message event; plus who a message event goes to.

use super::reactions::custom_id_of_key;
use super::{Actor, ChannelAccess, Hearth};
use crate::error::{Error, Result, Rule, Unknown};
use crate::events::Audience;
use crate::snowflake::Snowflake;
use crate::storage::{MessageRow, UserRow};
use crate::wire::{self, MessageType};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

impl Hearth {
    /// Renders a message the host created or changed, from the replica (already caught up).
    pub(super) async fn replicated_message(
        &self,
        ca: &ChannelAccess,
        result: Option<wire::Message>,
        actor: &Actor,
    ) -> Result<wire::Message> {
        let id = result
            .ok_or_else(|| Error::internal("host result without a message"))?
            .id;
        let m = self
            .db
            .message(ca.channel.id, id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Message))?;
        self.render_one(&m, actor.user.id).await
    }

    pub(super) fn message_audience(ca: &ChannelAccess) -> (Audience, bool) {
        match ca.channel.guild_id {
            Some(g) => (
                Audience::Guild {
                    guild_id: Snowflake::from_db(g),
                    channel: Some(Snowflake::from_db(ca.channel.id)),
                },
                true,
            ),
            None => (
                Audience::Users(
                    ca.recipients
                        .iter()
                        .map(|r| Snowflake::from_db(*r))
                        .collect(),
                ),
                false,
            ),
        }
    }

    /// Checks that a DM between `from` and `to` is allowed: neither blocked the other and
    /// `to`'s DM policy admits `from`. Errors: 403 50007.
    pub(super) async fn check_dm_allowed(&self, from: i64, to: i64) -> Result<()> {
        if self.db.relationship(to, from).await? == Some(2)
            || self.db.relationship(from, to).await? == Some(2)
        {
            return Err(Error::Rule(Rule::CannotMessageUser));
        }
        let target = self
            .db
            .user(to)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        if target.dm_policy == 1 && !self.db.share_guild(from, to).await? {
            return Err(Error::Rule(Rule::CannotMessageUser));
        }
        Ok(())
    }

    /// Renders messages for `viewer`, loading authors, mentions, references and reactions in
    /// batches.
    pub async fn render_messages(
        &self,
        rows: &[MessageRow],
        viewer: i64,
    ) -> Result<Vec<wire::Message>> {
        self.render_with(rows, viewer, HashMap::new(), None).await
    }

    /// [`Self::render_messages`] with users already in hand (`known`, only the others are
    /// loaded) and, when `reacted` is given, the only messages that can have reactions (an
    /// empty list skips the reaction query).
    pub(super) async fn render_with(
        &self,
        rows: &[MessageRow],
        viewer: i64,
        known: HashMap<i64, UserRow>,
        reacted: Option<Vec<i64>>,
    ) -> Result<Vec<wire::Message>> {
        let mut refs: Vec<i64> = rows
            .iter()
            .filter_map(|m| {
                if MessageType::from_db(m.kind) == MessageType::Reply {
                    m.reference_message_id
                } else {
                    None
                }
            })
            .collect();
        refs.sort_unstable();
        refs.dedup();
        let referenced: HashMap<i64, MessageRow> = self
            .db
            .messages_by_ids(&refs)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut uids: HashSet<i64> = HashSet::new();
        for m in rows.iter().chain(referenced.values()) {
            uids.insert(m.author_id);
            for u in serde_json::from_str::<Vec<Snowflake>>(&m.mentions).unwrap_or_default() {
                uids.insert(u.db());
            }
            if let (_, Some(meta), _) =
                super::interactions::interaction_fields(m.interaction.as_deref())
            {
                uids.insert(meta.user.id.db());
            }
        }
        let uids: Vec<i64> = uids
            .into_iter()
            .filter(|u| !known.contains_key(u))
            .collect();
        let mut users = known;
        users.extend(self.db.users(&uids).await?.into_iter().map(|u| (u.id, u)));
        let ids: Vec<i64> = reacted.unwrap_or_else(|| rows.iter().map(|m| m.id).collect());
        let mut reactions: HashMap<i64, Vec<wire::Reaction>> = HashMap::new();
        let counts = self.db.reaction_counts(&ids, viewer).await?;
        // Custom emoji (key `:{id}`) are shown as they are now: name, animation.
        let mut custom: HashMap<i64, Option<crate::storage::EmojiRow>> = HashMap::new();
        for id in counts.iter().filter_map(|r| custom_id_of_key(&r.emoji)) {
            if let std::collections::hash_map::Entry::Vacant(v) = custom.entry(id) {
                v.insert(self.db.emoji_by_id(id).await?);
            }
        }
        for r in counts {
            let emoji = match custom_id_of_key(&r.emoji) {
                Some(id) => {
                    let row = custom.get(&id).and_then(Option::as_ref);
                    wire::Emoji {
                        id: Some(Snowflake::from_db(id)),
                        name: row.map(|e| e.name.clone()),
                        animated: row.is_some_and(|e| e.animated),
                    }
                }
                None => wire::Emoji {
                    id: None,
                    name: Some(r.emoji),
                    animated: false,
                },
            };
            reactions
                .entry(r.message_id)
                .or_default()
                .push(wire::Reaction {
                    count: r.count,
                    count_details: wire::ReactionCountDetails {
                        burst: 0,
                        normal: r.count,
                    },
                    me: r.me > 0,
                    me_burst: false,
                    burst_colors: vec![],
                    emoji,
                });
        }
        let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
        let mut files = self.db.attachments_of(&ids).await?;
        let mut out: Vec<wire::Message> = rows
            .iter()
            .map(|m| {
                let mut w =
                    self.message_wire(m, &users, reactions.remove(&m.id).unwrap_or_default());
                if let Some(f) = files.remove(&m.id) {
                    w.attachments = f.iter().map(|a| self.attachment_wire(a)).collect();
                }
                if MessageType::from_db(m.kind) == MessageType::Reply {
                    w.referenced_message = Some(
                        m.reference_message_id
                            .and_then(|r| referenced.get(&r))
                            .map(|r| Box::new(self.message_wire(r, &users, vec![]))),
                    );
                }
                w
            })
            .collect();
        self.add_poll_counts(rows, &mut out, viewer).await?;
        self.add_started_threads(rows, &mut out, viewer).await?;
        Ok(out)
    }

    pub(super) fn message_wire(
        &self,
        m: &MessageRow,
        users: &HashMap<i64, UserRow>,
        reactions: Vec<wire::Reaction>,
    ) -> wire::Message {
        let author = if let Some(wid) = m.webhook_id {
            self.webhook_author(wid, m)
        } else {
            users
                .get(&m.author_id)
                .map(|u| self.user_wire(u, false))
                .unwrap_or_else(|| self.deleted_author(m.author_id))
        };
        let mentions = serde_json::from_str::<Vec<Snowflake>>(&m.mentions)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|u| users.get(&u.db()).map(|u| self.user_wire(u, false)))
            .collect();
        let (application_id, mut interaction_metadata, mut interaction) =
            super::interactions::interaction_fields(m.interaction.as_deref());
        // The invoker as the user is now (renamed, or "Deleted User" after account deletion)
        // where the caller loaded them (history does), else the snapshot stored with it.
        if let Some(meta) = interaction_metadata.as_mut()
            && let Some(u) = users.get(&meta.user.id.db())
        {
            meta.user = self.user_wire(u, false);
            if let Some(legacy) = interaction.as_mut() {
                legacy.user = meta.user.clone();
            }
        }
        wire::Message {
            id: Snowflake::from_db(m.id),
            channel_id: Snowflake::from_db(m.channel_id),
            guild_id: m.guild_id.map(Snowflake::from_db),
            author,
            member: None,
            webhook_id: m.webhook_id.map(Snowflake::from_db),
            content: m.content.clone(),
            timestamp: wire::iso(Snowflake::from_db(m.id).timestamp_ms() as i64),
            edited_timestamp: m.edited_at.map(wire::iso),
            tts: m.tts,
            mention_everyone: m.mention_everyone,
            mentions,
            mention_roles: serde_json::from_str(&m.mention_roles).unwrap_or_default(),
            attachments: m
                .attachments
                .iter()
                .map(|a| self.attachment_wire(a))
                .collect(),
            embeds: serde_json::from_str(&m.embeds).unwrap_or_default(),
            reactions,
            nonce: m.nonce.clone().map(Value::String),
            pinned: m.pinned_at.is_some(),
            kind: MessageType::from_db(m.kind),
            flags: m.flags as u64,
            components: super::components::components_of(m.components.as_deref()),
            // A THREAD_CREATED message refers to its thread only (no message id).
            message_reference: (m.reference_message_id.is_some()
                || m.reference_channel_id.is_some())
            .then(|| wire::MessageReference {
                kind: Some(0),
                message_id: m.reference_message_id.map(Snowflake::from_db),
                channel_id: m.reference_channel_id.map(Snowflake::from_db),
                guild_id: m.reference_guild_id.map(Snowflake::from_db),
                fail_if_not_exists: None,
            }),
            referenced_message: None,
            application_id,
            interaction_metadata,
            interaction,
            poll: super::polls::poll_wire(m),
            thread: None,
        }
    }

    /// The author object of a message of a deleted account.
    fn deleted_author(&self, id: i64) -> wire::User {
        wire::User {
            id: Snowflake::from_db(id),
            username: "deleted_user".into(),
            discriminator: "0".into(),
            global_name: Some("Deleted User".into()),
            avatar: None,
            banner: None,
            bot: false,
            system: false,
            public_flags: 0,
            flags: 0,
            handle: format!("deleted_user@{}", self.config.server_name),
            email: None,
            verified: None,
            mfa_enabled: None,
            totp_enabled: None,
            bio: None,
            dm_policy: None,
        }
    }

    /// The author object of a webhook's message (Discord "Resources > Webhook"): the webhook's
    /// id, the name and avatar kept with the message, `bot`, discriminator `"0000"`.
    fn webhook_author(&self, webhook_id: i64, m: &MessageRow) -> wire::User {
        wire::User {
            id: Snowflake::from_db(webhook_id),
            username: m.webhook_name.clone().unwrap_or_default(),
            discriminator: "0000".into(),
            global_name: None,
            avatar: m.webhook_avatar.clone(),
            banner: None,
            bot: true,
            system: false,
            public_flags: 0,
            flags: 0,
            handle: format!("{webhook_id}.webhook@{}", self.config.server_name),
            email: None,
            verified: None,
            mfa_enabled: None,
            totp_enabled: None,
            bio: None,
            dm_policy: None,
        }
    }

    /// The quoted original of `reply` as this server holds it, for a reply's event that does
    /// not carry one (a member server's copy of a host's reply: the host's log leaves quotes
    /// out, spec/federation.md §6.5): `None` when `reply` is not a reply (no
    /// `referenced_message`), `Some(None)` when its original is gone (Discord's `null`), else
    /// the original rendered as a host renders it in a reply (author and mentions, no
    /// reactions).
    pub(crate) async fn quoted_original(
        &self,
        reply: &MessageRow,
    ) -> Result<Option<Option<Box<wire::Message>>>> {
        if MessageType::from_db(reply.kind) != MessageType::Reply {
            return Ok(None);
        }
        let original = match reply.reference_message_id {
            Some(id) => self.db.messages_by_ids(&[id]).await?.pop(),
            None => None,
        };
        let Some(o) = original else {
            return Ok(Some(None));
        };
        let mut uids: Vec<i64> = serde_json::from_str::<Vec<Snowflake>>(&o.mentions)
            .unwrap_or_default()
            .into_iter()
            .map(Snowflake::db)
            .collect();
        uids.push(o.author_id);
        let users: HashMap<i64, UserRow> = self
            .db
            .users(&uids)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        Ok(Some(Some(Box::new(self.message_wire(&o, &users, vec![])))))
    }

    pub(super) async fn render_one(&self, m: &MessageRow, viewer: i64) -> Result<wire::Message> {
        Ok(self
            .render_messages(std::slice::from_ref(m), viewer)
            .await?
            .remove(0))
    }

    /// The gateway form of a message event: adds `member` (guild messages) so clients can
    /// render without another request.
    pub(super) async fn message_event(&self, m: &MessageRow, w: &wire::Message) -> Result<Value> {
        let mut w = w.clone();
        if let Some(g) = m.guild_id
            && let Ok(mut mem) = self.member_wire_by_id(g, m.author_id, false).await
        {
            mem.user = None;
            w.member = Some(mem);
        }
        serde_json::to_value(&w).map_err(Error::internal)
    }
}
