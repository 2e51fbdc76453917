//! Auto Moderation enforcement on messages (Discord "Resources > Auto Moderation"): a new
//! or edited message of a guild hosted here is checked against the guild's enabled
//! MESSAGE_SEND rules before anything of it is stored or dispatched
//! ([`Hearth::automod_message`], called by `messages::send_with` and
//! `message_edit::edit_with`; relayed sends of remote members arrive there too).
//!
//! Exempt, as on Discord: the owner, members with MANAGE_GUILD or ADMINISTRATOR, members
//! with one of a rule's `exempt_roles`, and messages in one of its `exempt_channels` (or a
//! channel of an exempt category). Webhook and interaction messages are not checked (no
//! member sends them).
//!
//! SPAM rules flag the third send of the same text within 30 s ([`super::automod_spam`]).
//!
//! The actions of every triggered rule run: BLOCK_MESSAGE refuses the message (400 200000
//! "Message was blocked by automatic moderation"; the rule's `custom_message` is stored and
//! shown in the rule, not in the error, which keeps Discord's shape); SEND_ALERT_MESSAGE
//! posts a system message (type 24, AUTO_MODERATION_ACTION) by the member in the alert
//! channel, with an `auto_moderation_message` embed naming the rule, channel, keyword and
//! matched content (through the group commit, as every message); TIMEOUT sets the member's
//! `communication_disabled_until` (GUILD_MEMBER_UPDATE). The timeout and the audit entries
//! (AUTO_MODERATION_BLOCK_MESSAGE 143, AUTO_MODERATION_FLAG_TO_CHANNEL 144,
//! AUTO_MODERATION_USER_COMMUNICATION_DISABLED 145; by the member, with the rule's name,
//! trigger type and channel in `options`) are one transaction. Each action run is announced
//! with AUTO_MODERATION_ACTION_EXECUTION to members with MANAGE_GUILD (intent
//! AUTO_MODERATION_EXECUTION; `content` and `matched_content` emptied for bots without
//! MESSAGE_CONTENT).

use std::collections::HashMap;

use serde_json::json;

use super::automod_match::{Compiled, Hit};
use super::messages::parse_mentions;
use super::{Actor, ChannelAccess, Hearth, audit_action as A, to_value};
use crate::error::{Error, Refusal, Result, Rule};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AuditRow, Lock, MessageRow, now_ms};
use crate::wire::{
    self, AutoModActionType as Act, AutoModEventType, AutoModTriggerType, MessageType,
};

impl Hearth {
    /// Checks message `content` posted (or, with `message_id`, edited) by `actor` through
    /// `ca` against the guild's rules and runs the actions of those it triggers (module
    /// docs). Errors: 400 200000 when a BLOCK_MESSAGE action ran; storage errors.
    pub(super) async fn automod_message(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        content: &str,
        message_id: Option<i64>,
    ) -> Result<()> {
        let Some(ga) = &ca.guild else { return Ok(()) };
        if content.is_empty() || ga.guild.host_server.is_some() {
            return Ok(());
        }
        let rules = self.automod_compiled(ga.guild.id).await?;
        if rules.is_empty() || perm::has(ga.base(), perm::MANAGE_GUILD) {
            return Ok(());
        }
        // The channel and its ancestors: a thread's parent's category exempts it too.
        let mut place = vec![ca.channel.id];
        place.extend(ca.channel.parent_id);
        if let (Some(_), Some(parent)) = (&ca.thread, ca.channel.parent_id)
            && let Some(p) = self.db.channel(parent).await?
        {
            place.extend(p.parent_id);
        }
        let parsed = parse_mentions(content);
        let mentions = parsed.users.len() + parsed.roles.len();
        let applicable: Vec<&Compiled> = rules
            .iter()
            .filter(|r| r.rule.enabled && r.rule.event_type == AutoModEventType::MessageSend)
            .filter(|r| !r.exempt(&ga.member_roles, &place))
            .collect();
        // New messages only, and only where a SPAM rule applies ([`super::automod_spam`]).
        let spam = message_id.is_none()
            && applicable
                .iter()
                .any(|r| r.rule.trigger_type == AutoModTriggerType::Spam)
            && self
                .spam
                .record(ga.guild.id, actor.user.id, content, now_ms());
        let hits: Vec<(&Compiled, Hit)> = applicable
            .into_iter()
            .filter_map(|r| {
                match r.rule.trigger_type {
                    AutoModTriggerType::Spam => spam.then_some(Hit {
                        keyword: None,
                        content: None,
                    }),
                    _ => r.check(content, mentions),
                }
                .map(|h| (r, h))
            })
            .collect();
        if hits.is_empty() {
            return Ok(());
        }
        let guild_id = ga.guild.id;
        let mut blocked = false;
        let mut timeout: Option<i64> = None;
        let mut audits: Vec<AuditRow> = vec![];
        let mut runs: Vec<wire::AutoModerationActionExecution> = vec![];
        for (r, hit) in &hits {
            let options = json!({
                "auto_moderation_rule_name": r.rule.name,
                "auto_moderation_rule_trigger_type": r.rule.trigger_type.value().to_string(),
                "channel_id": Snowflake::from_db(ca.channel.id),
            });
            for action in &r.rule.actions {
                let mut alert = None;
                let kind = match action.kind {
                    Act::BlockMessage => {
                        blocked = true;
                        A::AUTO_MODERATION_BLOCK_MESSAGE
                    }
                    Act::SendAlertMessage => {
                        let Some(c) = action.metadata.channel_id else {
                            continue;
                        };
                        alert = self
                            .automod_alert(ca, actor, c.db(), content, &r.rule, hit, message_id)
                            .await?;
                        if alert.is_none() {
                            continue;
                        }
                        A::AUTO_MODERATION_FLAG_TO_CHANNEL
                    }
                    Act::Timeout => {
                        let secs = action.metadata.duration_seconds.unwrap_or(0).max(0);
                        let until = now_ms() + secs * 1000;
                        timeout = Some(timeout.map_or(until, |t| t.max(until)));
                        A::AUTO_MODERATION_USER_COMMUNICATION_DISABLED
                    }
                    _ => continue,
                };
                audits.push(self.audit_row(
                    guild_id,
                    actor,
                    Some(actor.user.id),
                    kind,
                    json!([]),
                    Some(options.clone()),
                    None,
                ));
                runs.push(wire::AutoModerationActionExecution {
                    guild_id: Snowflake::from_db(guild_id),
                    action: action.clone(),
                    rule_id: r.rule.id,
                    rule_trigger_type: r.rule.trigger_type,
                    user_id: actor.id(),
                    channel_id: Some(Snowflake::from_db(ca.channel.id)),
                    message_id: message_id.map(Snowflake::from_db),
                    alert_system_message_id: alert.map(Snowflake::from_db),
                    content: content.to_string(),
                    matched_keyword: hit.keyword.clone(),
                    matched_content: hit.content.clone(),
                });
            }
        }
        let audience = self.automod_audience(guild_id).await?;
        let mut events: Vec<Dispatch> = vec![];
        // The timeout and every audit entry in one transaction under the guild's lock.
        let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
        if let Some(until) = timeout {
            ch.set_member_timeout(guild_id, actor.user.id, Some(until))
                .await?;
            if let Some((m, roles)) = ch.member(guild_id, actor.user.id).await? {
                let w = self.member_wire(&m, Some(&actor.user), roles, true);
                events.push(Self::event_of(
                    Event::GuildMemberUpdate,
                    Self::guild_audience(guild_id),
                    intents::GUILD_MEMBERS,
                    to_value(&w),
                ));
            }
        }
        for a in &audits {
            ch.audit(a).await?;
        }
        for run in &runs {
            let mut d = Self::event_of(
                Event::AutoModerationActionExecution,
                audience.clone(),
                intents::AUTO_MODERATION_EXECUTION,
                to_value(run),
            );
            d.has_content = true;
            events.push(d);
        }
        self.commit(ch, events).await?;
        if blocked {
            return Err(Error::Rule(Rule::Refused(Refusal::AutomodBlocked)));
        }
        Ok(())
    }

    /// Posts the alert of a SEND_ALERT_MESSAGE action in `channel_id` (a text channel of the
    /// guild; `None` if it is gone): a type-24 message by the member with an
    /// `auto_moderation_message` embed. Returns its id.
    #[allow(clippy::too_many_arguments)]
    async fn automod_alert(
        &self,
        ca: &ChannelAccess,
        actor: &Actor,
        channel_id: i64,
        content: &str,
        rule: &wire::AutoModerationRule,
        hit: &Hit,
        message_id: Option<i64>,
    ) -> Result<Option<i64>> {
        let Some(guild_id) = ca.channel.guild_id else {
            return Ok(None);
        };
        let Some(target) = self.db.channel(channel_id).await? else {
            return Ok(None);
        };
        if target.guild_id != Some(guild_id) {
            return Ok(None);
        }
        let field =
            |name: &str, value: String| json!({"name": name, "value": value, "inline": false});
        let mut fields = vec![
            field("rule_name", rule.name.clone()),
            field("channel_id", ca.channel.id.to_string()),
        ];
        if let Some(k) = &hit.keyword {
            fields.push(field("keyword", k.clone()));
        }
        if let Some(c) = &hit.content {
            fields.push(field("keyword_matched_content", c.clone()));
        }
        if let Some(m) = message_id {
            fields.push(field("flagged_message_id", m.to_string()));
        }
        let embeds = json!([{
            "type": "auto_moderation_message",
            "description": content,
            "fields": fields,
        }]);
        let m = MessageRow {
            embeds: embeds.to_string(),
            ..MessageRow::system(
                channel_id,
                Some(guild_id),
                actor.user.id,
                MessageType::AutoModerationAction.db(),
            )
        };
        let users: HashMap<_, _> = [(actor.user.id, actor.user.clone())].into();
        let w = self.message_wire(&m, &users, vec![]);
        let event = Dispatch {
            event: Event::MessageCreate,
            data: to_value(&w),
            audience: Audience::Guild {
                guild_id: Snowflake::from_db(guild_id),
                channel: Some(Snowflake::from_db(channel_id)),
            },
            intent: intents::GUILD_MESSAGES,
            has_content: true,
            lossy: false,
            cause: crate::events::current_cause(),
            logged: false,
            entry: None,
        };
        Ok(Some(self.writer.submit(m, Some(event)).await?))
    }
}
