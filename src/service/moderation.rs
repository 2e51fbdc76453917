//! Bans and the audit log (Discord "Resources > Guild > Ban", "Resources > Audit Log").

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Actor, Hearth, audit_action as A, to_value};
use crate::error::{Error, Result, Unknown, field_error};
use crate::events::{Audience, Control, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{BanRow, Lock, now_ms};
use crate::wire::{self, dispatch};

impl Hearth {
    /// `GET /guilds/{id}/bans` (`limit` 1-1000 default 1000, `before`, `after`): BAN_MEMBERS.
    pub async fn list_bans(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        limit: Option<i64>,
        before: Option<Snowflake>,
        after: Option<Snowflake>,
    ) -> Result<Vec<wire::Ban>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::BAN_MEMBERS)?;
        let limit = limit.unwrap_or(1000);
        if !(1..=1000).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 1000.",
            ));
        }
        let rows = self
            .db
            .bans(
                ga.guild.id,
                after.map_or(0, |a| a.db()),
                before.map_or(i64::MAX, |b| b.db()),
                limit,
            )
            .await?;
        let mut out = vec![];
        for b in rows {
            out.push(wire::Ban {
                reason: b.reason,
                user: self.user_wire_by_id(b.user_id).await?,
            });
        }
        Ok(out)
    }

    /// `GET /guilds/{id}/bans/{user_id}`: BAN_MEMBERS. Errors: 404 Unknown Ban.
    pub async fn get_ban(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
    ) -> Result<wire::Ban> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::BAN_MEMBERS)?;
        let b = self
            .db
            .ban(ga.guild.id, user_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Ban))?;
        Ok(wire::Ban {
            reason: b.reason,
            user: self.user_wire_by_id(b.user_id).await?,
        })
    }

    /// `PUT /guilds/{id}/bans/{user_id}`: BAN_MEMBERS and hierarchy when the target is a
    /// member. `delete_message_seconds` 0-604800 deletes that much of the user's recent
    /// history in the guild. A banned user can rejoin by no invite.
    pub async fn ban(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        body: wire::BanBody,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::BAN_MEMBERS)?;
        let target = user_id.db();
        if self.db.user(target).await?.is_none() {
            return Err(Error::Unknown(Unknown::User));
        }
        if target == ga.guild.owner_id || target == actor.user.id {
            return Err(Error::MissingPermissions);
        }
        if self.db.member(ga.guild.id, target).await?.is_some() && !ga.is_owner() {
            let roles = self.db.member_role_ids(ga.guild.id, target).await?;
            if ga.top_position_of(target, &roles) >= ga.top_position() {
                return Err(Error::MissingPermissions);
            }
        }
        let secs = body
            .delete_message_seconds
            .or(body.delete_message_days.map(|d| d * 86_400))
            .unwrap_or(0);
        if !(0..=604_800).contains(&secs) {
            return Err(field_error(
                "delete_message_seconds",
                "NUMBER_TYPE_MAX",
                "int value should be between 0 and 604800.",
            ));
        }
        let delete_after = (secs > 0)
            .then(|| Snowflake::from_timestamp_ms((now_ms() - secs * 1000).max(0) as u64).db());
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(target),
            A::MEMBER_BAN_ADD,
            json!([]),
            Some(json!({"delete_message_seconds": secs.to_string()})),
            reason,
        );
        // Ban, membership removal, message deletion, the audit entry and the log entries in
        // one transaction under the guild's lock.
        let user = self.user_wire_by_id(target).await?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        let (deleted, was_member) = ch
            .insert_ban(
                &BanRow {
                    guild_id: ga.guild.id,
                    user_id: target,
                    reason: reason.map(|r| r.chars().take(512).collect()),
                    created_at: now_ms(),
                },
                delete_after,
            )
            .await?;
        ch.audit(&audit).await?;
        let ga_aud = Audience::Guild {
            guild_id,
            channel: None,
        };
        // Deleted messages, grouped per channel.
        let mut by_channel: HashMap<i64, Vec<Snowflake>> = HashMap::new();
        for (c, m) in deleted {
            by_channel.entry(c).or_default().push(Snowflake::from_db(m));
        }
        let mut events: Vec<_> = by_channel
            .into_iter()
            .map(|(c, ids)| {
                Self::event_of(
                    Event::MessageDeleteBulk,
                    Audience::Guild {
                        guild_id,
                        channel: Some(Snowflake::from_db(c)),
                    },
                    intents::GUILD_MESSAGES,
                    to_value(&dispatch::MessageDeleteBulk {
                        ids,
                        channel_id: Snowflake::from_db(c),
                        guild_id,
                    }),
                )
            })
            .collect();
        events.push(Self::event_of(
            Event::GuildBanAdd,
            ga_aud.clone(),
            intents::GUILD_MODERATION,
            to_value(&dispatch::GuildBan {
                guild_id,
                user: user.clone(),
            }),
        ));
        if was_member {
            events.push(Self::event_of(
                Event::GuildMemberRemove,
                ga_aud,
                intents::GUILD_MEMBERS,
                to_value(&dispatch::GuildMemberRemove { guild_id, user }),
            ));
        }
        self.commit(ch, events).await?;
        if was_member {
            self.control(Control::MemberLeft { guild_id, user_id });
        }
        Ok(())
    }

    /// `DELETE /guilds/{id}/bans/{user_id}`: BAN_MEMBERS. Errors: 404 Unknown Ban.
    pub async fn unban(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        ga.require(perm::BAN_MEMBERS)?;
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(user_id.db()),
            A::MEMBER_BAN_REMOVE,
            json!([]),
            None,
            reason,
        );
        // A user that does not exist has no ban either.
        let user = self
            .user_wire_by_id(user_id.db())
            .await
            .map_err(|e| match e {
                Error::Unknown(Unknown::User) => Error::Unknown(Unknown::Ban),
                e => e,
            })?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if !ch.delete_ban(ga.guild.id, user_id.db()).await? {
            return Err(Error::Unknown(Unknown::Ban));
        }
        ch.audit(&audit).await?;
        let d = Self::event_of(
            Event::GuildBanRemove,
            Audience::Guild {
                guild_id,
                channel: None,
            },
            intents::GUILD_MODERATION,
            to_value(&dispatch::GuildBan { guild_id, user }),
        );
        self.commit(ch, vec![d]).await
    }

    /// `GET /guilds/{id}/audit-logs` (`user_id`, `action_type`, `before`, `after`, `limit`
    /// 1-100 default 50): VIEW_AUDIT_LOG.
    #[allow(clippy::too_many_arguments)]
    pub async fn audit_log(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        user_id: Option<Snowflake>,
        action_type: Option<i64>,
        before: Option<Snowflake>,
        after: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<wire::AuditLog> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::VIEW_AUDIT_LOG)?;
        let limit = limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 100.",
            ));
        }
        let rows = self
            .db
            .audit_log(
                ga.guild.id,
                user_id.map(|u| u.db()),
                action_type,
                before.map_or(i64::MAX, |b| b.db()),
                after.map_or(0, |a| a.db()),
                limit,
            )
            .await?;
        let mut uids: Vec<i64> = rows
            .iter()
            .flat_map(|r| [Some(r.user_id), r.target_id])
            .flatten()
            .collect();
        uids.sort_unstable();
        uids.dedup();
        // Rules named by the entries (Discord: the audit log's `auto_moderation_rules`).
        let rule_ids: Vec<i64> = rows
            .iter()
            .filter(|r| {
                (A::AUTO_MODERATION_RULE_CREATE..=A::AUTO_MODERATION_RULE_DELETE)
                    .contains(&r.action_type)
            })
            .filter_map(|r| r.target_id)
            .collect();
        let auto_moderation_rules = if rule_ids.is_empty() {
            vec![]
        } else {
            self.db
                .automod_rules(ga.guild.id)
                .await?
                .iter()
                .filter(|r| rule_ids.contains(&r.id))
                .map(|r| to_value(&super::automod_match::rule_wire(r)))
                .collect()
        };
        // Threads named by the entries that still exist (Discord: the audit log's `threads`).
        let mut thread_ids: Vec<i64> = rows
            .iter()
            .filter(|r| (A::THREAD_CREATE..=A::THREAD_DELETE).contains(&r.action_type))
            .filter_map(|r| r.target_id)
            .collect();
        thread_ids.sort_unstable();
        thread_ids.dedup();
        let threads = if thread_ids.is_empty() {
            vec![]
        } else {
            let channels = self.db.channels_by_id(&thread_ids).await?;
            self.db
                .threads_by_ids(&thread_ids)
                .await?
                .iter()
                .filter(|t| t.guild_id == ga.guild.id)
                .filter_map(|t| {
                    let c = channels.iter().find(|c| c.id == t.channel_id)?;
                    Some(to_value(&Self::thread_wire(c, t, None, None)))
                })
                .collect()
        };
        let users = self
            .db
            .users(&uids)
            .await?
            .iter()
            .map(|u| self.user_wire(u, false))
            .collect();
        Ok(wire::AuditLog {
            audit_log_entries: rows
                .into_iter()
                .map(|r| wire::AuditLogEntry {
                    id: Snowflake::from_db(r.id),
                    guild_id,
                    user_id: Snowflake::from_db(r.user_id),
                    target_id: r.target_id.map(|t| t.to_string()),
                    action_type: r.action_type,
                    changes: serde_json::from_str(&r.changes).unwrap_or(Value::Array(vec![])),
                    options: r.options.and_then(|o| serde_json::from_str(&o).ok()),
                    reason: r.reason,
                })
                .collect(),
            users,
            integrations: vec![],
            threads,
            webhooks: vec![],
            application_commands: vec![],
            auto_moderation_rules,
            guild_scheduled_events: vec![],
        })
    }
}
