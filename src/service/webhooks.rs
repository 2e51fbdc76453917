//! Incoming webhooks (Discord "Resources > Webhook"): create, list (by channel and by
//! guild), get, modify and delete, by a member with MANAGE_WEBHOOKS (in the channel, with
//! its overwrites; at guild level for the guild's list), or by whoever holds the webhook's
//! token (`/webhooks/{id}/{token}`: no authentication, no `user` in the answers).
//! Executing a webhook and its messages are in [`super::webhook_exec`].
//!
//! Rules: a name of 1 to [`MAX_NAME`] characters that does not contain "clyde" or "discord"
//! (any case; 400 50035), an optional data-URI avatar checked as every image
//! ([`super::images`], served at `/avatars/{webhook_id}/{hash}`), at most
//! [`MAX_PER_CHANNEL`] webhooks per channel (400 30007, counted in the writing
//! transaction), text, announcement, forum and media channels of guilds hosted here only (400 50024;
//! a replica's guild: 403 50001). The token is 256 random bits shown once, in the answer of
//! the creation (and echoed by the token routes): only its SHA-256 is stored, so unlike
//! Discord `GET /webhooks/{id}` cannot show it. A token that is not the webhook's answers
//! 401 50027, an unknown webhook 404 10015. Changes by members are recorded in the audit log
//! (WEBHOOK_CREATE 50, WEBHOOK_UPDATE 51, WEBHOOK_DELETE 52) in the change's transaction;
//! changes through the token have no actor and no audit entry. Every change is announced
//! with WEBHOOKS_UPDATE `{guild_id, channel_id}` (intent GUILD_WEBHOOKS) to those who see
//! the channel; webhooks never cross federation.

use serde_json::{Value, json};

use super::images::ImageKind;
use super::{Actor, ChannelAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, UserRow, WebhookRow, now_ms};
use crate::wire::{self, ChannelType};

/// Longest webhook name, characters (Discord: 80).
pub const MAX_NAME: usize = 80;
/// Webhooks per channel (Discord: 15).
pub const MAX_PER_CHANNEL: i64 = 15;
/// Discord's webhook type of incoming webhooks.
const INCOMING: i64 = 1;

/// Checks a webhook name (or an execution's `username`) at `field`: 1..=[`MAX_NAME`]
/// characters, without "clyde" or "discord" in any case (Discord "Create Webhook").
pub(super) fn check_webhook_name(name: &str, field: &str, errs: &mut FieldErrors) {
    let n = name.trim().chars().count();
    if n == 0 || n > MAX_NAME {
        errs.add(
            field,
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between 1 and {MAX_NAME} in length."),
        );
    }
    let lower = name.to_lowercase();
    for word in ["clyde", "discord"] {
        if lower.contains(word) {
            errs.add(
                field,
                "USERNAME_INVALID_CONTAINS",
                format!("Username cannot contain \"{word}\""),
            );
        }
    }
}

impl Hearth {
    /// The webhook `id` if `token` is its token. Errors: 404 10015, 401 50027.
    pub(super) async fn webhook_by_token(&self, id: Snowflake, token: &str) -> Result<WebhookRow> {
        let w = self
            .db
            .webhook(id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Webhook))?;
        // SHA-256 digests are compared in constant time: how long the comparison takes
        // says nothing about the token.
        if !super::auth::token_hash_matches(token, &w.token_hash) {
            return Err(Error::Rule(Rule::InvalidWebhookToken));
        }
        Ok(w)
    }

    /// The caller's access to a channel where it manages webhooks: a guild text,
    /// announcement, forum or media channel hosted here, MANAGE_WEBHOOKS there. Errors: see the module docs.
    async fn webhook_channel(&self, actor: &Actor, channel_id: Snowflake) -> Result<ChannelAccess> {
        let ca = self.channel_access(actor, channel_id).await?;
        let Some(ga) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        if ga.guild.host_server.is_some() {
            return Err(Error::Rule(Rule::RemoteGuild));
        }
        ca.require(perm::MANAGE_WEBHOOKS)?;
        if !matches!(
            ChannelType::from_db(ca.channel.kind),
            ChannelType::GuildText
                | ChannelType::GuildAnnouncement
                | ChannelType::GuildForum
                | ChannelType::GuildMedia
        ) {
            return Err(Error::Rule(Rule::ChannelType));
        }
        Ok(ca)
    }

    /// A webhook managed by the caller (MANAGE_WEBHOOKS in its channel). Errors: 404 10015;
    /// those of the channel access.
    async fn managed_webhook(&self, actor: &Actor, id: Snowflake) -> Result<WebhookRow> {
        let w = self
            .db
            .webhook(id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Webhook))?;
        self.webhook_channel(actor, Snowflake::from_db(w.channel_id))
            .await?;
        Ok(w)
    }

    /// The webhook object; `user` (its creator) when `with_user`, `token` when known.
    async fn webhook_wire(
        &self,
        w: &WebhookRow,
        with_user: bool,
        token: Option<&str>,
    ) -> Result<wire::Webhook> {
        let user = if with_user {
            self.db.user(w.creator_id).await?
        } else {
            None
        };
        Ok(self.webhook_object(w, user.as_ref(), token))
    }

    /// The webhook objects of a list route, with their creators read in one query.
    async fn webhooks_wire(&self, rows: &[WebhookRow]) -> Result<Vec<wire::Webhook>> {
        let ids: Vec<i64> = rows.iter().map(|w| w.creator_id).collect();
        let users: std::collections::HashMap<i64, UserRow> = self
            .db
            .users(&ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        Ok(rows
            .iter()
            .map(|w| self.webhook_object(w, users.get(&w.creator_id), None))
            .collect())
    }

    fn webhook_object(
        &self,
        w: &WebhookRow,
        creator: Option<&UserRow>,
        token: Option<&str>,
    ) -> wire::Webhook {
        let base = self.config.media.public_url.as_deref().unwrap_or("");
        wire::Webhook {
            id: Snowflake::from_db(w.id),
            kind: w.kind as u8,
            guild_id: Some(Snowflake::from_db(w.guild_id)),
            channel_id: Some(Snowflake::from_db(w.channel_id)),
            user: creator.map(|u| self.user_wire(u, false)),
            name: Some(w.name.clone()),
            avatar: w.avatar.clone(),
            token: token.map(str::to_string),
            application_id: None,
            url: token.map(|t| format!("{base}/api/webhooks/{}/{t}", w.id)),
        }
    }

    /// Announces that `channel_id`'s webhooks changed (WEBHOOKS_UPDATE).
    fn webhooks_update(&self, guild_id: i64, channel_id: i64) {
        self.dispatch(
            Event::WebhooksUpdate,
            Audience::Guild {
                guild_id: Snowflake::from_db(guild_id),
                channel: Some(Snowflake::from_db(channel_id)),
            },
            intents::GUILD_WEBHOOKS,
            to_value(&wire::WebhooksUpdate {
                guild_id: Snowflake::from_db(guild_id),
                channel_id: Snowflake::from_db(channel_id),
            }),
        );
    }

    /// `POST /channels/{id}/webhooks` ("Create Webhook"): the webhook with its `token`.
    /// Errors: see the module docs.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::CreateWebhookBody,
        reason: Option<&str>,
    ) -> Result<wire::Webhook> {
        let ca = self.webhook_channel(actor, channel_id).await?;
        let guild_id = ca.channel.guild_id.unwrap_or_default();
        let mut errs = FieldErrors::new();
        let name = body.name.unwrap_or_default();
        check_webhook_name(&name, "name", &mut errs);
        errs.into_result()?;
        let id = self.next_id();
        let avatar = match body.avatar.filter(|a| !a.is_empty()) {
            Some(uri) => Some(
                self.store_image(ImageKind::Avatar, id, "avatar", uri)
                    .await?
                    .hash,
            ),
            None => None,
        };
        let token = super::auth::random_token();
        let row = WebhookRow {
            id,
            kind: INCOMING,
            guild_id,
            channel_id: ca.channel.id,
            creator_id: actor.user.id,
            name: name.trim().to_string(),
            avatar,
            token_hash: super::auth::token_hash(&token),
            created_at: now_ms(),
        };
        let audit = self.audit_row(
            guild_id,
            actor,
            Some(id),
            A::WEBHOOK_CREATE,
            json!([
                change("name", Value::Null, &row.name),
                change("type", Value::Null, INCOMING),
                change("channel_id", Value::Null, channel_id),
            ]),
            None,
            reason,
        );
        let r = async {
            let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
            if ch.count_webhooks(ca.channel.id).await? >= MAX_PER_CHANNEL {
                return Err(Error::Rule(Rule::MaxWebhooks));
            }
            ch.insert_webhook(&row).await?;
            ch.audit(&audit).await?;
            self.commit(ch, vec![]).await
        }
        .await;
        let new = Some(row.avatar.clone());
        self.settle_image(ImageKind::Avatar, id, None, &new, r.is_ok());
        r?;
        self.webhooks_update(guild_id, ca.channel.id);
        self.webhook_wire(&row, true, Some(token.as_str())).await
    }

    /// `GET /channels/{id}/webhooks` ("Get Channel Webhooks"): MANAGE_WEBHOOKS there.
    pub async fn channel_webhooks(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<Vec<wire::Webhook>> {
        let ca = self.webhook_channel(actor, channel_id).await?;
        let rows = self.db.channel_webhooks(ca.channel.id).await?;
        self.webhooks_wire(&rows).await
    }

    /// `GET /guilds/{id}/webhooks` ("Get Guild Webhooks"): MANAGE_WEBHOOKS at guild level.
    pub async fn guild_webhooks(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::Webhook>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::MANAGE_WEBHOOKS)?;
        let rows = self.db.guild_webhooks(ga.guild.id).await?;
        self.webhooks_wire(&rows).await
    }

    /// `GET /webhooks/{id}` ("Get Webhook"): MANAGE_WEBHOOKS in its channel; no `token`.
    pub async fn get_webhook(&self, actor: &Actor, id: Snowflake) -> Result<wire::Webhook> {
        let w = self.managed_webhook(actor, id).await?;
        self.webhook_wire(&w, true, None).await
    }

    /// `GET /webhooks/{id}/{token}` ("Get Webhook with Token"): no `user`.
    pub async fn get_webhook_with_token(
        &self,
        id: Snowflake,
        token: &str,
    ) -> Result<wire::Webhook> {
        let w = self.webhook_by_token(id, token).await?;
        self.webhook_wire(&w, false, Some(token)).await
    }

    /// `PATCH /webhooks/{id}` ("Modify Webhook"): name, avatar, and `channel_id` (a channel
    /// of the same guild where the caller also has MANAGE_WEBHOOKS; else 400 50035).
    pub async fn modify_webhook(
        &self,
        actor: &Actor,
        id: Snowflake,
        body: wire::ModifyWebhookBody,
        reason: Option<&str>,
    ) -> Result<wire::Webhook> {
        let w = self.managed_webhook(actor, id).await?;
        if let Some(c) = body.channel_id
            && c.db() != w.channel_id
        {
            let target = self.webhook_channel(actor, c).await;
            match target {
                Ok(ca) if ca.channel.guild_id == Some(w.guild_id) => {}
                Ok(_) | Err(Error::Unknown(_)) | Err(Error::MissingAccess) => {
                    return Err(crate::error::field_error(
                        "channel_id",
                        "CHANNEL_INVALID",
                        "Unknown channel in this guild.",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        let out = self.change_webhook(Some(actor), w, body, reason).await?;
        self.webhook_wire(&out, true, None).await
    }

    /// `PATCH /webhooks/{id}/{token}` ("Modify Webhook with Token"): name and avatar only
    /// (`channel_id` is ignored, as Discord does).
    pub async fn modify_webhook_with_token(
        &self,
        id: Snowflake,
        token: &str,
        mut body: wire::ModifyWebhookBody,
    ) -> Result<wire::Webhook> {
        let w = self.webhook_by_token(id, token).await?;
        body.channel_id = None;
        let out = self.change_webhook(None, w, body, None).await?;
        self.webhook_wire(&out, false, Some(token)).await
    }

    /// Stores a webhook's new name, avatar and channel (with an audit entry when `actor` is
    /// a member), then announces the old and the new channel.
    async fn change_webhook(
        &self,
        actor: Option<&Actor>,
        w: WebhookRow,
        body: wire::ModifyWebhookBody,
        reason: Option<&str>,
    ) -> Result<WebhookRow> {
        let mut errs = FieldErrors::new();
        if let Some(n) = &body.name {
            check_webhook_name(n, "name", &mut errs);
        }
        errs.into_result()?;
        let avatar = self
            .image_field(
                ImageKind::Avatar,
                w.id,
                "avatar",
                body.avatar,
                w.avatar.as_deref(),
            )
            .await?;
        let mut next = w.clone();
        if let Some(n) = &body.name {
            next.name = n.trim().to_string();
        }
        if let Some(a) = &avatar {
            next.avatar = a.clone();
        }
        if let Some(c) = body.channel_id {
            next.channel_id = c.db();
        }
        let mut changes = vec![];
        if next.name != w.name {
            changes.push(change("name", &w.name, &next.name));
        }
        if next.avatar != w.avatar {
            changes.push(change("avatar_hash", &w.avatar, &next.avatar));
        }
        if next.channel_id != w.channel_id {
            changes.push(change(
                "channel_id",
                Snowflake::from_db(w.channel_id),
                Snowflake::from_db(next.channel_id),
            ));
        }
        let r = async {
            let mut ch = self.db.change(Lock::Guild(w.guild_id)).await?;
            if next.channel_id != w.channel_id
                && ch.count_webhooks(next.channel_id).await? >= MAX_PER_CHANNEL
            {
                return Err(Error::Rule(Rule::MaxWebhooks));
            }
            if !ch.update_webhook(&next).await? {
                return Err(Error::Unknown(Unknown::Webhook));
            }
            if let Some(actor) = actor {
                ch.audit(&self.audit_row(
                    w.guild_id,
                    actor,
                    Some(w.id),
                    A::WEBHOOK_UPDATE,
                    Value::Array(changes),
                    None,
                    reason,
                ))
                .await?;
            }
            self.commit(ch, vec![]).await
        }
        .await;
        self.settle_image(
            ImageKind::Avatar,
            w.id,
            w.avatar.as_deref(),
            &avatar,
            r.is_ok(),
        );
        r?;
        self.webhooks_update(w.guild_id, w.channel_id);
        if next.channel_id != w.channel_id {
            self.webhooks_update(w.guild_id, next.channel_id);
        }
        Ok(next)
    }

    /// `DELETE /webhooks/{id}` ("Delete Webhook"): MANAGE_WEBHOOKS in its channel; 204.
    /// Its messages stay (with the author they were sent with).
    pub async fn delete_webhook(
        &self,
        actor: &Actor,
        id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let w = self.managed_webhook(actor, id).await?;
        self.remove_webhook(Some(actor), w, reason).await
    }

    /// `DELETE /webhooks/{id}/{token}` ("Delete Webhook with Token"); 204.
    pub async fn delete_webhook_with_token(&self, id: Snowflake, token: &str) -> Result<()> {
        let w = self.webhook_by_token(id, token).await?;
        self.remove_webhook(None, w, None).await
    }

    async fn remove_webhook(
        &self,
        actor: Option<&Actor>,
        w: WebhookRow,
        reason: Option<&str>,
    ) -> Result<()> {
        let mut ch = self.db.change(Lock::Guild(w.guild_id)).await?;
        if !ch.delete_webhook(w.id).await? {
            return Err(Error::Unknown(Unknown::Webhook));
        }
        if let Some(actor) = actor {
            ch.audit(&self.audit_row(
                w.guild_id,
                actor,
                Some(w.id),
                A::WEBHOOK_DELETE,
                json!([
                    change("name", &w.name, Value::Null),
                    change("type", INCOMING, Value::Null),
                    change("channel_id", Snowflake::from_db(w.channel_id), Value::Null),
                ]),
                None,
                reason,
            ))
            .await?;
        }
        self.commit(ch, vec![]).await?;
        // Messages sent by it keep their own copy of its avatar's hash: the bytes stay.
        self.webhooks_update(w.guild_id, w.channel_id);
        Ok(())
    }
}
