//! Auto Moderation of member profiles (Discord "Resources > Auto Moderation": trigger type
//! MEMBER_PROFILE (6), event type MEMBER_UPDATE (2), action BLOCK_MEMBER_INTERACTION (4)).
//!
//! A member's profile is her username, her display name (`global_name`) and her nickname in
//! the guild. It is checked against the guild's enabled MEMBER_PROFILE rule (at most one;
//! its `keyword_filter`, `regex_patterns` and `allow_list` match as a KEYWORD rule's do)
//! right after she joins a guild hosted here and after each change of any of the three
//! ([`Hearth::automod_profile`]). While the rule matches, she carries the guild member flag
//! AUTOMOD_QUARANTINED_USERNAME (`1 << 7`, [`QUARANTINED_USERNAME`]) and is held like a
//! timed-out member: in every channel she keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY
//! (Discord "Permissions > Permissions for Timed Out Members"), so sending, reacting,
//! threads, voice and interactions are refused (403 50013). Once her profile no longer
//! matches (or the rule is gone or disabled when her profile next changes), the flag goes.
//!
//! Exempt, as for messages: the owner, MANAGE_GUILD or ADMINISTRATOR holders and the rule's
//! `exempt_roles`. Each quarantine is audited (AUTO_MODERATION_QUARANTINE_USER, 146, by the
//! member, with the rule's name and trigger type in `options`) in the transaction that sets
//! the flag, with its GUILD_MEMBER_UPDATE (the member's `flags`) and an
//! AUTO_MODERATION_ACTION_EXECUTION (no channel; `content` the matched profile field) to the
//! members holding MANAGE_GUILD. Rules change nobody's flag by themselves: a member's
//! profile is checked on her next join or profile change.

use serde_json::json;

use super::automod_match::Hit;
use super::{Actor, Hearth, audit_action as A, to_value};
use crate::error::Result;
use crate::events::{Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, MemberRow};
use crate::wire::{self, AutoModActionType as Act, AutoModEventType, AutoModTriggerType};

/// Guild member flag AUTOMOD_QUARANTINED_USERNAME (Discord "Guild Member Flags").
pub const QUARANTINED_USERNAME: i64 = 1 << 7;

/// Whether AutoMod holds member `m` for her profile.
pub fn quarantined(m: &MemberRow) -> bool {
    m.flags & QUARANTINED_USERNAME != 0
}

impl Hearth {
    /// Checks the profile of member `user_id` of `guild_id` against the guild's
    /// MEMBER_PROFILE rule and sets or clears her quarantine (module docs). Nothing for a
    /// guild hosted elsewhere (its host checks) or someone who is not a member.
    ///
    /// Errors: storage errors.
    pub(crate) async fn automod_profile(&self, guild_id: i64, user_id: i64) -> Result<()> {
        let ga = match self
            .guild_access(Snowflake::from_db(guild_id), user_id)
            .await
        {
            Ok(ga) => ga,
            Err(crate::error::Error::Unknown(_) | crate::error::Error::MissingAccess) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let Some(member) = ga.member.clone() else {
            return Ok(());
        };
        if ga.guild.host_server.is_some() {
            return Ok(());
        }
        let Some(user) = self.db.user(user_id).await? else {
            return Ok(());
        };
        let rules = self.automod_compiled(guild_id).await?;
        let exempt = ga.is_owner() || perm::has(ga.base(), perm::MANAGE_GUILD);
        let hit = rules
            .iter()
            .filter(|r| {
                r.rule.enabled
                    && r.rule.trigger_type == AutoModTriggerType::MemberProfile
                    && r.rule.event_type == AutoModEventType::MemberUpdate
                    && r.rule
                        .actions
                        .iter()
                        .any(|a| a.kind == Act::BlockMemberInteraction)
            })
            .filter(|r| !exempt && !r.exempt(&ga.member_roles, &[]))
            .find_map(|r| {
                [
                    Some(user.username.as_str()),
                    user.global_name.as_deref(),
                    member.nick.as_deref(),
                ]
                .into_iter()
                .flatten()
                .find_map(|text| r.check(text, 0).map(|h| (text.to_string(), h)))
                .map(|(text, h)| (r, text, h))
            });
        let was = quarantined(&member);
        if hit.is_some() == was {
            return Ok(());
        }
        let flags = member.flags ^ QUARANTINED_USERNAME;
        let actor = Actor {
            user: user.clone(),
            session_id: None,
        };
        let mut events: Vec<Dispatch> = vec![];
        let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
        if !ch.set_member_flags(guild_id, user_id, flags).await? {
            return Ok(());
        }
        let Some((m, roles)) = ch.member(guild_id, user_id).await? else {
            return Ok(());
        };
        events.push(Self::event_of(
            Event::GuildMemberUpdate,
            Self::guild_audience(guild_id),
            intents::GUILD_MEMBERS,
            to_value(&self.member_wire(&m, Some(&user), roles, true)),
        ));
        if let Some((r, text, Hit { keyword, content })) = hit {
            let audit = self.audit_row(
                guild_id,
                &actor,
                Some(user_id),
                A::AUTO_MODERATION_QUARANTINE_USER,
                json!([]),
                Some(json!({
                    "auto_moderation_rule_name": r.rule.name,
                    "auto_moderation_rule_trigger_type": r.rule.trigger_type.value().to_string(),
                })),
                None,
            );
            ch.audit(&audit).await?;
            let action = r
                .rule
                .actions
                .iter()
                .find(|a| a.kind == Act::BlockMemberInteraction)
                .cloned();
            if let Some(action) = action {
                let run = wire::AutoModerationActionExecution {
                    guild_id: Snowflake::from_db(guild_id),
                    action,
                    rule_id: r.rule.id,
                    rule_trigger_type: r.rule.trigger_type,
                    user_id: Snowflake::from_db(user_id),
                    channel_id: None,
                    message_id: None,
                    alert_system_message_id: None,
                    content: text,
                    matched_keyword: keyword,
                    matched_content: content,
                };
                let mut d = Self::event_of(
                    Event::AutoModerationActionExecution,
                    self.automod_audience(guild_id).await?,
                    intents::AUTO_MODERATION_EXECUTION,
                    to_value(&run),
                );
                d.has_content = true;
                events.push(d);
            }
        }
        self.commit(ch, events).await?;
        // Permissions of a quarantined member change everywhere in the guild.
        self.control(crate::events::Control::PermissionsChanged {
            guild_id: Snowflake::from_db(guild_id),
        });
        Ok(())
    }
}
