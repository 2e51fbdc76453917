//! Group DMs (Discord channel type 3, "Resources > Channel": Group DM Add Recipient, Group DM
//! Remove Recipient, Modify Channel's group DM fields, Delete/Close Channel; "Resources >
//! User > Create Group DM" in its user-account form; "Gateway Events" CHANNEL_RECIPIENT_ADD
//! and CHANNEL_RECIPIENT_REMOVE).
//!
//! A group DM is a private channel like a 1:1 DM: [`Hearth::channel_access`] gives its
//! recipients the DM rights, so messages, reactions, typing, pins, read states and search work
//! unchanged, and a user who is no recipient any more gets 403 50001. What is its own:
//! - at most [`MAX_RECIPIENTS`] users, the owner included; local users only (no bots, no
//!   users of other servers: 400 50033); adding someone follows the 1:1 DM rule (neither
//!   blocked the other, the added user's DM policy admits the adder: 403 50007);
//! - any recipient adds people and renames it; only the owner removes others (403 50013);
//!   leaving (`DELETE /channels/{id}`) passes the ownership to the earliest remaining
//!   recipient, and the last one leaving deletes the channel;
//! - each change is one transaction holding the channel's row lock, its system message
//!   (RECIPIENT_ADD 1, RECIPIENT_REMOVE 2, CHANNEL_NAME_CHANGE 4) included;
//! - events: CHANNEL_CREATE to who joins, CHANNEL_DELETE to who leaves, CHANNEL_RECIPIENT_ADD
//!   and _REMOVE and CHANNEL_UPDATE to the others, each rendered for its addressee
//!   (`recipients` lists the others, as Discord does); MESSAGE_CREATE of the system message.

use std::collections::HashMap;

use super::{Actor, ChannelAccess, Hearth, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::snowflake::Snowflake;
use crate::storage::{ChannelRow, GroupDmRow, Lock, MessageRow, UserRow, now_ms};
use crate::wire::{self, MessageType};

/// Discord's limit: a group DM holds at most 10 users, its owner included.
pub const MAX_RECIPIENTS: usize = 10;
/// A group DM's name: at most 100 characters.
const MAX_NAME: usize = 100;

impl Hearth {
    /// `POST /users/@me/channels` with `recipients` (none or 2..=9 ids; see
    /// [`wire::CreateDmBody`]): a group DM owned by the caller, with the caller and the
    /// recipients. The caller and each recipient get CHANNEL_CREATE.
    /// Errors: 403 20001 for bots; 400 50035 `recipients` over 9 or `name` over 100
    /// characters; 404 10013 unknown user; 400 50033 a bot, the caller or a user of another
    /// server; 403 50007 a block either way or the recipient's DM policy.
    pub async fn create_group_dm(
        &self,
        actor: &Actor,
        ids: Vec<Snowflake>,
        name: Option<String>,
    ) -> Result<wire::Channel> {
        if actor.user.bot {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        let mut others: Vec<i64> = vec![];
        for id in ids {
            if !others.contains(&id.db()) {
                others.push(id.db());
            }
        }
        let mut errs = FieldErrors::new();
        if others.len() > MAX_RECIPIENTS - 1 {
            errs.add(
                "recipients",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {} or fewer in length.", MAX_RECIPIENTS - 1),
            );
        }
        let name = Self::group_name(name, &mut errs);
        errs.into_result()?;
        for &u in &others {
            self.check_group_recipient(actor, u).await?;
        }
        let id = self.next_id();
        let mut all = vec![actor.user.id];
        all.extend(&others);
        let mut ch = self.db.change(Lock::Nothing).await?;
        ch.create_group_dm(id, actor.user.id, name.as_deref(), &all, now_ms())
            .await?;
        ch.commit().await?;
        let (c, g, users) = self.group_state(id).await?;
        for &u in &g.recipients {
            self.to_user(
                u,
                Event::ChannelCreate,
                to_value(&self.group_wire(&c, &g, &users, u)),
            );
        }
        Ok(self.group_wire(&c, &g, &users, actor.user.id))
    }

    /// `PUT /channels/{id}/recipients/{user_id}`: any recipient adds a user (204; nothing
    /// happens when they are one already). The added user gets CHANNEL_CREATE, the others
    /// CHANNEL_RECIPIENT_ADD, everyone the RECIPIENT_ADD system message.
    /// Errors: 404 10003 unknown channel; 403 50001 not a recipient; 400 50024 not a group
    /// DM; 404 10013 unknown user; 400 50033 a bot or a user of another server; 403 50007
    /// blocked or the user's DM policy; 400 30004 the group already holds 10 users.
    pub async fn add_group_recipient(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        Self::require_group(&ca)?;
        let target = user_id.db();
        if ca.recipients.contains(&target) {
            return Ok(());
        }
        self.check_group_recipient(actor, target).await?;
        let mut ch = self.db.change(Lock::Channel(ca.channel.id)).await?;
        let g = ch
            .group_dm(ca.channel.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        if !g.recipients.contains(&actor.user.id) {
            return Err(Error::MissingAccess);
        }
        if g.recipients.contains(&target) {
            return Ok(());
        }
        if g.recipients.len() >= MAX_RECIPIENTS {
            return Err(Error::Rule(Rule::MaxRecipients));
        }
        ch.add_group_recipient(ca.channel.id, target, now_ms())
            .await?;
        let m = self.system_message(
            ca.channel.id,
            actor.user.id,
            MessageType::RecipientAdd,
            "",
            Some(target),
        );
        ch.insert_system_message(&m).await?;
        ch.commit().await?;
        let (c, g, users) = self.group_state(ca.channel.id).await?;
        self.to_user(
            target,
            Event::ChannelCreate,
            to_value(&self.group_wire(&c, &g, &users, target)),
        );
        let others: Vec<i64> = g
            .recipients
            .iter()
            .copied()
            .filter(|&u| u != target)
            .collect();
        if let Some(u) = users.get(&target) {
            self.to_users(
                &others,
                Event::ChannelRecipientAdd,
                to_value(&wire::dispatch::ChannelRecipient {
                    channel_id,
                    user: self.user_wire(u, false),
                }),
            );
        }
        self.publish_system_message(&m, &g.recipients, &users);
        Ok(())
    }

    /// `DELETE /channels/{id}/recipients/{user_id}`: the owner removes a recipient (204); a
    /// recipient naming themselves leaves ([`Self::leave_group_dm`]). The removed user gets
    /// CHANNEL_DELETE, the others CHANNEL_RECIPIENT_REMOVE and the RECIPIENT_REMOVE system
    /// message. Errors: 404 10003, 403 50001, 400 50024 as adding; 403 50013 the caller is
    /// not the owner; 404 10013 the user is no recipient.
    pub async fn remove_group_recipient(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        Self::require_group(&ca)?;
        let target = user_id.db();
        if target == actor.user.id {
            self.leave_group_dm(actor, &ca).await?;
            return Ok(());
        }
        let mut ch = self.db.change(Lock::Channel(ca.channel.id)).await?;
        let g = ch
            .group_dm(ca.channel.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        if g.owner_id != actor.user.id {
            return Err(if g.recipients.contains(&actor.user.id) {
                Error::MissingPermissions
            } else {
                Error::MissingAccess
            });
        }
        if !ch.remove_group_recipient(ca.channel.id, target).await? {
            return Err(Error::Unknown(Unknown::User));
        }
        let m = self.system_message(
            ca.channel.id,
            actor.user.id,
            MessageType::RecipientRemove,
            "",
            Some(target),
        );
        ch.insert_system_message(&m).await?;
        ch.commit().await?;
        self.after_removal(&ca.channel, &g, target, &m, false).await
    }

    /// `DELETE /channels/{id}` on a group DM: the caller leaves it (Discord's "Close
    /// Channel"); answers the channel as the caller saw it. The owner's leaving passes the
    /// ownership to the earliest-added remaining recipient (CHANNEL_UPDATE to the others);
    /// the last recipient's leaving deletes the channel and its messages.
    pub async fn leave_group_dm(&self, actor: &Actor, ca: &ChannelAccess) -> Result<wire::Channel> {
        let me = actor.user.id;
        // Read before the change holds a connection: the users of the recipients as the
        // access check saw them.
        let users = self.db.users_by_id(&ca.recipients).await?;
        let mut ch = self.db.change(Lock::Channel(ca.channel.id)).await?;
        let g = ch
            .group_dm(ca.channel.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        if !g.recipients.contains(&me) {
            return Err(Error::MissingAccess);
        }
        let before = self.group_wire(&ca.channel, &g, &users, me);
        ch.remove_group_recipient(ca.channel.id, me).await?;
        let rest: Vec<i64> = g.recipients.iter().copied().filter(|&u| u != me).collect();
        let Some(&heir) = rest.first() else {
            ch.delete_group_dm(ca.channel.id).await?;
            ch.commit().await?;
            self.to_user(me, Event::ChannelDelete, to_value(&before));
            return Ok(before);
        };
        let new_owner = g.owner_id == me;
        if new_owner {
            ch.set_group_owner(ca.channel.id, heir).await?;
        }
        let m = self.system_message(
            ca.channel.id,
            me,
            MessageType::RecipientRemove,
            "",
            Some(me),
        );
        ch.insert_system_message(&m).await?;
        ch.commit().await?;
        self.after_removal(&ca.channel, &g, me, &m, new_owner)
            .await?;
        Ok(before)
    }

    /// `PATCH /channels/{id}` on a group DM: any recipient renames it (`name`, 1 to 100
    /// characters; `""` or `null` removes the name); `icon` is accepted only as `null`.
    /// CHANNEL_UPDATE to each recipient and the CHANNEL_NAME_CHANGE system message.
    /// Errors: 400 50035 the name's length or an icon.
    pub async fn modify_group_dm(
        &self,
        actor: &Actor,
        ca: &ChannelAccess,
        body: wire::ChannelBody,
    ) -> Result<wire::Channel> {
        let mut errs = FieldErrors::new();
        let name = Self::group_name(body.name.clone(), &mut errs);
        errs.into_result()?;
        if body.name.is_none() {
            let (c, g, users) = self.group_state(ca.channel.id).await?;
            return Ok(self.group_wire(&c, &g, &users, actor.user.id));
        }
        let mut ch = self.db.change(Lock::Channel(ca.channel.id)).await?;
        let g = ch
            .group_dm(ca.channel.id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        if !g.recipients.contains(&actor.user.id) {
            return Err(Error::MissingAccess);
        }
        ch.set_group_name(ca.channel.id, name.as_deref()).await?;
        let m = self.system_message(
            ca.channel.id,
            actor.user.id,
            MessageType::ChannelNameChange,
            name.as_deref().unwrap_or(""),
            None,
        );
        ch.insert_system_message(&m).await?;
        ch.commit().await?;
        let (c, g, users) = self.group_state(ca.channel.id).await?;
        for &u in &g.recipients {
            self.to_user(
                u,
                Event::ChannelUpdate,
                to_value(&self.group_wire(&c, &g, &users, u)),
            );
        }
        self.publish_system_message(&m, &g.recipients, &users);
        Ok(self.group_wire(&c, &g, &users, actor.user.id))
    }

    /// A group DM as `viewer` sees it: `recipients` are the other users, `owner_id`, `name`
    /// (absent when unset), `icon` null.
    pub(super) fn group_wire(
        &self,
        c: &ChannelRow,
        g: &GroupDmRow,
        users: &HashMap<i64, UserRow>,
        viewer: i64,
    ) -> wire::Channel {
        let recipients = g
            .recipients
            .iter()
            .filter(|&&u| u != viewer)
            .filter_map(|u| users.get(u))
            .map(|u| self.user_wire(u, false))
            .collect();
        let mut w = Self::channel_wire(c, &[], Some(recipients));
        w.owner_id = Some(Snowflake::from_db(g.owner_id));
        w.icon = Some(g.icon.clone());
        w
    }

    /// `GET /channels/{id}` of a group DM.
    pub(super) async fn render_group(
        &self,
        ca: &ChannelAccess,
        viewer: i64,
    ) -> Result<wire::Channel> {
        let (c, g, users) = self.group_state(ca.channel.id).await?;
        Ok(self.group_wire(&c, &g, &users, viewer))
    }

    /// 400 50024 unless the channel is a group DM.
    fn require_group(ca: &ChannelAccess) -> Result<()> {
        if ca.owner_id.is_none() {
            return Err(Error::Rule(Rule::ChannelType));
        }
        Ok(())
    }

    /// A name given to a group DM: trimmed, `""` meaning none; over 100 characters is a
    /// field error.
    fn group_name(name: Option<String>, errs: &mut FieldErrors) -> Option<String> {
        let n = name?.trim().to_string();
        if n.chars().count() > MAX_NAME {
            errs.add(
                "name",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {MAX_NAME} in length."),
            );
        }
        (!n.is_empty()).then_some(n)
    }

    /// Whether `actor` may put `user` in a group DM: a known local user, not a bot, not the
    /// caller, and the 1:1 DM rule ([`Hearth::check_dm_allowed`]).
    async fn check_group_recipient(&self, actor: &Actor, user: i64) -> Result<()> {
        if user == actor.user.id {
            return Err(Error::Rule(Rule::InvalidRecipient));
        }
        let u = self
            .db
            .user(user)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        if u.home_server.is_some() {
            return Err(Error::Rule(Rule::RemoteRecipient));
        }
        if u.bot {
            return Err(Error::Rule(Rule::InvalidRecipient));
        }
        self.check_dm_allowed(actor.user.id, user).await
    }

    /// The group DM as stored now: channel, owner and recipients, the recipients' users.
    async fn group_state(
        &self,
        channel_id: i64,
    ) -> Result<(ChannelRow, GroupDmRow, HashMap<i64, UserRow>)> {
        let c = self
            .db
            .channel(channel_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let g = self
            .db
            .group_dm(channel_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        let users = self.db.users_by_id(&g.recipients).await?;
        Ok((c, g, users))
    }

    /// The events of a removal (`gone` left or was removed; `before` is the group before):
    /// CHANNEL_DELETE to `gone`, CHANNEL_RECIPIENT_REMOVE (and CHANNEL_UPDATE when the owner
    /// changed) and the system message to the others.
    async fn after_removal(
        &self,
        channel: &ChannelRow,
        before: &GroupDmRow,
        gone: i64,
        m: &MessageRow,
        new_owner: bool,
    ) -> Result<()> {
        let users = self.db.users_by_id(&before.recipients).await?;
        self.to_user(
            gone,
            Event::ChannelDelete,
            to_value(&self.group_wire(channel, before, &users, gone)),
        );
        let (c, g, _) = self.group_state(channel.id).await?;
        if let Some(u) = users.get(&gone) {
            self.to_users(
                &g.recipients,
                Event::ChannelRecipientRemove,
                to_value(&wire::dispatch::ChannelRecipient {
                    channel_id: Snowflake::from_db(channel.id),
                    user: self.user_wire(u, false),
                }),
            );
        }
        if new_owner {
            for &u in &g.recipients {
                self.to_user(
                    u,
                    Event::ChannelUpdate,
                    to_value(&self.group_wire(&c, &g, &users, u)),
                );
            }
        }
        self.publish_system_message(m, &g.recipients, &users);
        Ok(())
    }

    /// A system message of a group DM (types 1, 2 and 4): by `author`, mentioning `user`.
    fn system_message(
        &self,
        channel_id: i64,
        author: i64,
        kind: MessageType,
        content: &str,
        user: Option<i64>,
    ) -> MessageRow {
        let mentions: Vec<Snowflake> = user.into_iter().map(Snowflake::from_db).collect();
        MessageRow {
            id: self.next_id(),
            content: content.to_string(),
            mentions: serde_json::to_string(&mentions).unwrap_or_else(|_| "[]".into()),
            ..MessageRow::system(channel_id, None, author, kind.db())
        }
    }

    /// MESSAGE_CREATE of a stored system message to `to`.
    fn publish_system_message(&self, m: &MessageRow, to: &[i64], users: &HashMap<i64, UserRow>) {
        let w = self.message_wire(m, users, vec![]);
        self.publish(Dispatch {
            has_content: true,
            ..Self::event_of(
                Event::MessageCreate,
                Audience::Users(to.iter().map(|&u| Snowflake::from_db(u)).collect()),
                intents::DIRECT_MESSAGES,
                to_value(&w),
            )
        });
    }

    /// A dispatch to one user's sessions, whatever their intents (as DM CHANNEL_CREATE).
    fn to_user(&self, user: i64, event: Event, data: serde_json::Value) {
        self.to_users(&[user], event, data);
    }

    fn to_users(&self, users: &[i64], event: Event, data: serde_json::Value) {
        if users.is_empty() {
            return;
        }
        self.dispatch(
            event,
            Audience::Users(users.iter().map(|&u| Snowflake::from_db(u)).collect()),
            0,
            data,
        );
    }
}
