//! Auto Moderation rules (Discord "Resources > Auto Moderation"): list, get, create, modify
//! and delete a guild's rules, by a member with MANAGE_GUILD (403 50013 otherwise; an
//! outsider gets 403 50001, an unknown guild 404 10004, an unknown rule 404 10000, Hearth's
//! code: Discord documents none). Matching is in [`super::automod_match`], enforcement on
//! messages in [`super::automod_exec`].
//!
//! Checks (400 50035 at the field's path): `name` 1-100 characters; `trigger_type` KEYWORD
//! (6 per guild), KEYWORD_PRESET (1), MENTION_SPAM (1), SPAM (1; Hearth's documented repeat
//! rule, [`super::automod_spam`]) with `event_type` MESSAGE_SEND, or MEMBER_PROFILE (1) with
//! MEMBER_UPDATE ([`super::automod_profile`]; `AUTO_MODERATION_EVENT_TYPE_INVALID`
//! otherwise) — the per-guild count is decided in the writing transaction (code
//! `AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED`). Trigger metadata per Discord's field
//! limits ([`MAX_KEYWORDS`] ...; MEMBER_PROFILE's as KEYWORD's), regular expressions
//! compiled with a size limit; actions: BLOCK_MESSAGE (`custom_message` ≤ 150),
//! SEND_ALERT_MESSAGE (`channel_id`: a text channel of the guild), TIMEOUT (KEYWORD and
//! MENTION_SPAM only, 1-2419200 s, needs MODERATE_MEMBERS: 403 50013) for message rules;
//! BLOCK_MEMBER_INTERACTION, and only it, for MEMBER_PROFILE rules
//! (`AUTO_MODERATION_ACTION_INVALID` otherwise). `exempt_roles` (≤ 20) and
//! `exempt_channels` (≤ 50) must name roles and channels of the guild.
//!
//! Every change is one transaction with its audit entry (AUTO_MODERATION_RULE_CREATE 140,
//! _UPDATE 141, _DELETE 142) and is announced with AUTO_MODERATION_RULE_CREATE/UPDATE/DELETE
//! (the rule) to the members holding MANAGE_GUILD (intent AUTO_MODERATION_CONFIGURATION).
//! Rules belong to the guild's host: on a replica the writes answer 403 50001 and the list
//! is empty. The compiled rules of each guild are cached in memory ([`RuleCache`]) and
//! dropped at every change.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;

use super::automod_match::{Compiled, compile_regex, rule_wire};
use super::{Actor, GuildAccess, Hearth, audit_action as A, change, to_value};
use crate::error::{Error, FieldErrors, Result, Unknown};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AutomodRuleRow, Lock};
use crate::wire::{
    self, AutoModActionType as Act, AutoModEventType, AutoModPreset, AutoModTriggerType as Trig,
};

/// Longest rule name, characters.
pub const MAX_NAME: usize = 100;
/// `keyword_filter` entries (each ≤ [`MAX_KEYWORD_CHARS`]).
pub const MAX_KEYWORDS: usize = 1000;
/// Characters per keyword or allow-list entry.
pub const MAX_KEYWORD_CHARS: usize = 60;
/// `regex_patterns` entries (each ≤ [`MAX_REGEX_CHARS`]).
pub const MAX_REGEXES: usize = 10;
/// Characters per regular expression.
pub const MAX_REGEX_CHARS: usize = 260;
/// `allow_list` entries of KEYWORD rules (KEYWORD_PRESET: [`MAX_ALLOW_PRESET`]).
pub const MAX_ALLOW_KEYWORD: usize = 100;
/// `allow_list` entries of KEYWORD_PRESET rules.
pub const MAX_ALLOW_PRESET: usize = 1000;
/// Largest `mention_total_limit`.
pub const MAX_MENTION_LIMIT: i64 = 50;
/// Longest timeout of a TIMEOUT action, seconds (4 weeks).
pub const MAX_TIMEOUT_SECONDS: i64 = 2_419_200;
/// Longest `custom_message` of a BLOCK_MESSAGE action, characters.
pub const MAX_CUSTOM_MESSAGE: usize = 150;
/// `exempt_roles` entries.
pub const MAX_EXEMPT_ROLES: usize = 20;
/// `exempt_channels` entries.
pub const MAX_EXEMPT_CHANNELS: usize = 50;

/// Rules of a trigger type a guild may have (Discord "Trigger Types", Max per Guild).
fn max_per_guild(t: Trig) -> i64 {
    match t {
        Trig::Keyword => 6,
        _ => 1,
    }
}

/// The compiled rules of each guild seen since the last change of its rules, and a counter
/// of rule changes: a read that raced with a change (the change's `forget` ran between the
/// read and the insert) is not kept, so the cache never holds rules older than a change made
/// through this node. On PostgreSQL, where other nodes may change the rules (README
/// "Scale-out"), an entry is also kept at most [`SHARED_RULES_TTL`].
#[derive(Default)]
pub struct RuleCache(Mutex<(CompiledByGuild, u64)>);

/// Compiled rules by guild id, with when they were read.
type CompiledByGuild = HashMap<i64, (Arc<Vec<Compiled>>, std::time::Instant)>;

/// How long a node keeps a guild's rules read from a shared (PostgreSQL) database: the
/// longest a rule change made through another node waits to apply on this one (1 s).
pub const SHARED_RULES_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Hearth {
    /// The guild's rules, compiled (from the cache, else read once).
    pub(super) async fn automod_compiled(&self, guild_id: i64) -> Result<Arc<Vec<Compiled>>> {
        let shared = matches!(&*self.db, hearth_db::Db::Postgres(_));
        let seen = {
            let cache = self.automod.0.lock();
            if let Some((r, at)) = cache.0.get(&guild_id)
                && (!shared || at.elapsed() < SHARED_RULES_TTL)
            {
                return Ok(r.clone());
            }
            cache.1
        };
        let rows = self.db.automod_rules(guild_id).await?;
        let compiled = Arc::new(rows.iter().map(Compiled::new).collect::<Vec<_>>());
        let mut cache = self.automod.0.lock();
        if cache.1 == seen {
            cache
                .0
                .insert(guild_id, (compiled.clone(), std::time::Instant::now()));
        }
        Ok(compiled)
    }

    /// Drops the guild's cached rules after a committed change of them.
    fn automod_forget(&self, guild_id: i64) {
        let mut cache = self.automod.0.lock();
        cache.0.remove(&guild_id);
        cache.1 += 1;
    }

    /// The users who receive Auto Moderation events of a guild: members with MANAGE_GUILD
    /// (or ADMINISTRATOR, or the owner).
    pub(super) async fn automod_audience(&self, guild_id: i64) -> Result<Audience> {
        let users = self
            .db
            .members_with_permission(guild_id, (perm::MANAGE_GUILD | perm::ADMINISTRATOR) as i64)
            .await?;
        Ok(Audience::Users(
            users.into_iter().map(Snowflake::from_db).collect(),
        ))
    }

    /// The caller's access where it manages rules: MANAGE_GUILD.
    async fn automod_access(&self, actor: &Actor, guild_id: Snowflake) -> Result<GuildAccess> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        ga.require(perm::MANAGE_GUILD)?;
        Ok(ga)
    }

    /// `GET /guilds/{id}/auto-moderation/rules`: the guild's rules, by id.
    pub async fn automod_rules(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
    ) -> Result<Vec<wire::AutoModerationRule>> {
        let ga = self.automod_access(actor, guild_id).await?;
        let rows = self.db.automod_rules(ga.guild.id).await?;
        Ok(rows.iter().map(rule_wire).collect())
    }

    /// `GET /guilds/{id}/auto-moderation/rules/{rule_id}`.
    pub async fn automod_rule(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        rule_id: Snowflake,
    ) -> Result<wire::AutoModerationRule> {
        let ga = self.automod_access(actor, guild_id).await?;
        let row = self
            .db
            .automod_rule(ga.guild.id, rule_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::AutomodRule))?;
        Ok(rule_wire(&row))
    }

    /// `POST /guilds/{id}/auto-moderation/rules`: the new rule. Checks: module docs.
    pub async fn create_automod_rule(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::AutoModRuleBody,
        reason: Option<&str>,
    ) -> Result<wire::AutoModerationRule> {
        let ga = self.automod_access(actor, guild_id).await?;
        Self::hosted_here(&ga.guild)?;
        let mut errs = FieldErrors::new();
        let trigger = body.trigger_type.unwrap_or_else(|| {
            errs.add(
                "trigger_type",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
            Trig::Unknown(0)
        });
        let mut row = self.checked_row(&ga, &body, trigger, &mut errs).await?;
        errs.into_result()?;
        row.id = self.next_id();
        row.creator_id = actor.user.id;
        let w = rule_wire(&row);
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(row.id),
            A::AUTO_MODERATION_RULE_CREATE,
            json!([
                change("name", None::<()>, &w.name),
                change("event_type", None::<()>, w.event_type),
                change("trigger_type", None::<()>, w.trigger_type),
                change("enabled", None::<()>, w.enabled),
            ]),
            None,
            reason,
        );
        let audience = self.automod_audience(ga.guild.id).await?;
        // The per-type count, the row and the audit entry in one transaction under the
        // guild's lock.
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if ch.count_automod_rules(ga.guild.id, trigger.db()).await? >= max_per_guild(trigger) {
            let mut e = FieldErrors::new();
            e.add(
                "trigger_type",
                "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
                format!(
                    "Maximum number of rules of this type reached ({}).",
                    max_per_guild(trigger)
                ),
            );
            return Err(Error::InvalidForm(e));
        }
        ch.insert_automod_rule(&row).await?;
        ch.audit(&audit).await?;
        let d = Self::rule_event(Event::AutoModerationRuleCreate, audience, &w);
        self.commit(ch, vec![d]).await?;
        self.automod_forget(ga.guild.id);
        Ok(w)
    }

    /// `PATCH /guilds/{id}/auto-moderation/rules/{rule_id}`: every field optional,
    /// `trigger_type` cannot change (ignored); the result is checked as a new rule.
    pub async fn modify_automod_rule(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        rule_id: Snowflake,
        body: wire::AutoModRuleBody,
        reason: Option<&str>,
    ) -> Result<wire::AutoModerationRule> {
        let ga = self.automod_access(actor, guild_id).await?;
        Self::hosted_here(&ga.guild)?;
        let old_row = self
            .db
            .automod_rule(ga.guild.id, rule_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::AutomodRule))?;
        let old = rule_wire(&old_row);
        let merged = wire::AutoModRuleBody {
            name: body.name.or(Some(old.name.clone())),
            event_type: body.event_type.or(Some(old.event_type)),
            trigger_type: Some(old.trigger_type),
            trigger_metadata: body.trigger_metadata.or(Some(old.trigger_metadata.clone())),
            actions: body.actions.or(Some(old.actions.clone())),
            enabled: body.enabled.or(Some(old.enabled)),
            exempt_roles: body.exempt_roles.or(Some(old.exempt_roles.clone())),
            exempt_channels: body.exempt_channels.or(Some(old.exempt_channels.clone())),
        };
        let mut errs = FieldErrors::new();
        let mut row = self
            .checked_row(&ga, &merged, old.trigger_type, &mut errs)
            .await?;
        errs.into_result()?;
        row.id = old_row.id;
        row.creator_id = old_row.creator_id;
        let w = rule_wire(&row);
        let mut changes = vec![];
        let pairs = [
            ("name", json!(old.name), json!(w.name)),
            ("event_type", json!(old.event_type), json!(w.event_type)),
            (
                "trigger_metadata",
                to_value(&old.trigger_metadata),
                to_value(&w.trigger_metadata),
            ),
            ("actions", to_value(&old.actions), to_value(&w.actions)),
            ("enabled", json!(old.enabled), json!(w.enabled)),
            (
                "exempt_roles",
                to_value(&old.exempt_roles),
                to_value(&w.exempt_roles),
            ),
            (
                "exempt_channels",
                to_value(&old.exempt_channels),
                to_value(&w.exempt_channels),
            ),
        ];
        for (k, a, b) in pairs {
            if a != b {
                changes.push(change(k, a, b));
            }
        }
        let audit = (!changes.is_empty()).then(|| {
            self.audit_row(
                ga.guild.id,
                actor,
                Some(row.id),
                A::AUTO_MODERATION_RULE_UPDATE,
                json!(changes),
                None,
                reason,
            )
        });
        let audience = self.automod_audience(ga.guild.id).await?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if !ch.update_automod_rule(&row).await? {
            return Err(Error::Unknown(Unknown::AutomodRule));
        }
        if let Some(a) = &audit {
            ch.audit(a).await?;
        }
        let d = Self::rule_event(Event::AutoModerationRuleUpdate, audience, &w);
        self.commit(ch, vec![d]).await?;
        self.automod_forget(ga.guild.id);
        Ok(w)
    }

    /// `DELETE /guilds/{id}/auto-moderation/rules/{rule_id}` (204).
    pub async fn delete_automod_rule(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        rule_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.automod_access(actor, guild_id).await?;
        Self::hosted_here(&ga.guild)?;
        let row = self
            .db
            .automod_rule(ga.guild.id, rule_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::AutomodRule))?;
        let w = rule_wire(&row);
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(row.id),
            A::AUTO_MODERATION_RULE_DELETE,
            json!([
                change("name", &w.name, None::<()>),
                change("trigger_type", w.trigger_type, None::<()>),
            ]),
            None,
            reason,
        );
        let audience = self.automod_audience(ga.guild.id).await?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        if !ch.delete_automod_rule(ga.guild.id, row.id).await? {
            return Err(Error::Unknown(Unknown::AutomodRule));
        }
        ch.audit(&audit).await?;
        let d = Self::rule_event(Event::AutoModerationRuleDelete, audience, &w);
        self.commit(ch, vec![d]).await?;
        self.automod_forget(ga.guild.id);
        Ok(())
    }

    fn rule_event(event: Event, audience: Audience, w: &wire::AutoModerationRule) -> Dispatch {
        Self::event_of(
            event,
            audience,
            intents::AUTO_MODERATION_CONFIGURATION,
            to_value(w),
        )
    }

    /// Checks a whole rule body (`trigger` its trigger type) into a row (id and creator
    /// left 0), adding what is wrong to `errs`.
    async fn checked_row(
        &self,
        ga: &GuildAccess,
        body: &wire::AutoModRuleBody,
        trigger: Trig,
        errs: &mut FieldErrors,
    ) -> Result<AutomodRuleRow> {
        let name = body.name.clone().unwrap_or_default();
        let n = name.trim().chars().count();
        if body.name.is_none() {
            errs.add("name", "BASE_TYPE_REQUIRED", "This field is required");
        } else if n == 0 || n > MAX_NAME {
            errs.add(
                "name",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {MAX_NAME} in length."),
            );
        }
        // MEMBER_PROFILE rules run when a member's profile changes, the others on messages.
        let profile = trigger == Trig::MemberProfile;
        match body.event_type {
            None => errs.add("event_type", "BASE_TYPE_REQUIRED", "This field is required"),
            Some(AutoModEventType::MessageSend) if !profile => {}
            Some(AutoModEventType::MemberUpdate) if profile => {}
            Some(_) => errs.add(
                "event_type",
                "AUTO_MODERATION_EVENT_TYPE_INVALID",
                if profile {
                    "MEMBER_PROFILE rules take the MEMBER_UPDATE (2) event type."
                } else {
                    "Only MEMBER_PROFILE rules take MEMBER_UPDATE (2); use MESSAGE_SEND (1)."
                },
            ),
        }
        match trigger {
            Trig::Keyword | Trig::KeywordPreset | Trig::MentionSpam | Trig::Spam => {}
            Trig::MemberProfile => {}
            Trig::Unknown(_) if body.trigger_type.is_none() => {}
            Trig::Unknown(_) => errs.add(
                "trigger_type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (1, 3, 4, 5, 6).",
            ),
        }
        let meta = check_metadata(trigger, body.trigger_metadata.clone(), errs);
        let channels = self.db.channels(ga.guild.id).await?;
        let actions = body.actions.clone();
        match &actions {
            None => errs.add("actions", "BASE_TYPE_REQUIRED", "This field is required"),
            Some(list) if list.is_empty() || list.len() > 3 => errs.add(
                "actions",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 3 in length.",
            ),
            Some(list) => {
                for (i, a) in list.iter().enumerate() {
                    let p = format!("actions.{i}");
                    if list[..i].iter().any(|b| b.kind == a.kind) {
                        errs.add(
                            format!("{p}.type"),
                            "AUTO_MODERATION_ACTION_DUPLICATE",
                            "Each action type may appear once.",
                        );
                    }
                    let md = &a.metadata;
                    // A profile rule only quarantines; message rules never do.
                    if profile != (a.kind == Act::BlockMemberInteraction) {
                        errs.add(
                            format!("{p}.type"),
                            "AUTO_MODERATION_ACTION_INVALID",
                            if profile {
                                "MEMBER_PROFILE rules take BLOCK_MEMBER_INTERACTION (4) only."
                            } else {
                                "BLOCK_MEMBER_INTERACTION (4) is for MEMBER_PROFILE rules."
                            },
                        );
                        continue;
                    }
                    match a.kind {
                        Act::BlockMemberInteraction => {}
                        Act::BlockMessage => {
                            if md
                                .custom_message
                                .as_ref()
                                .is_some_and(|m| m.chars().count() > MAX_CUSTOM_MESSAGE)
                            {
                                errs.add(
                                    format!("{p}.metadata.custom_message"),
                                    "BASE_TYPE_MAX_LENGTH",
                                    format!("Must be {MAX_CUSTOM_MESSAGE} or fewer in length."),
                                );
                            }
                        }
                        Act::SendAlertMessage => {
                            let ok = md.channel_id.is_some_and(|c| {
                                channels.iter().any(|ch| {
                                    ch.id == c.db() && wire::ChannelType::from_db(ch.kind).is_text()
                                })
                            });
                            if !ok {
                                errs.add(
                                    format!("{p}.metadata.channel_id"),
                                    "CHANNEL_TYPE_INVALID",
                                    "Must be a text channel of this guild.",
                                );
                            }
                        }
                        Act::Timeout => {
                            if !matches!(trigger, Trig::Keyword | Trig::MentionSpam) {
                                errs.add(
                                    format!("{p}.type"),
                                    "AUTO_MODERATION_ACTION_INVALID",
                                    "TIMEOUT actions are for KEYWORD and MENTION_SPAM rules.",
                                );
                            }
                            if !md
                                .duration_seconds
                                .is_some_and(|d| (1..=MAX_TIMEOUT_SECONDS).contains(&d))
                            {
                                errs.add(
                                    format!("{p}.metadata.duration_seconds"),
                                    "NUMBER_TYPE_MAX",
                                    format!(
                                        "int value should be between 1 and {MAX_TIMEOUT_SECONDS}."
                                    ),
                                );
                            }
                            ga.require(perm::MODERATE_MEMBERS)?;
                        }
                        Act::Unknown(_) => errs.add(
                            format!("{p}.type"),
                            "AUTO_MODERATION_ACTION_INVALID",
                            "Unsupported action type for this rule.",
                        ),
                    }
                }
            }
        }
        let exempt_roles = body.exempt_roles.clone().unwrap_or_default();
        if exempt_roles.len() > MAX_EXEMPT_ROLES {
            errs.add(
                "exempt_roles",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_EXEMPT_ROLES} or fewer in length."),
            );
        }
        for (i, r) in exempt_roles.iter().enumerate() {
            if ga.role(r.db()).is_none() {
                errs.add(format!("exempt_roles.{i}"), "ROLE_INVALID", "Unknown role.");
            }
        }
        let exempt_channels = body.exempt_channels.clone().unwrap_or_default();
        if exempt_channels.len() > MAX_EXEMPT_CHANNELS {
            errs.add(
                "exempt_channels",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_EXEMPT_CHANNELS} or fewer in length."),
            );
        }
        for (i, c) in exempt_channels.iter().enumerate() {
            if !channels.iter().any(|ch| ch.id == c.db()) {
                errs.add(
                    format!("exempt_channels.{i}"),
                    "CHANNEL_INVALID",
                    "Unknown channel.",
                );
            }
        }
        Ok(AutomodRuleRow {
            id: 0,
            guild_id: ga.guild.id,
            name: name.trim().to_string(),
            creator_id: 0,
            event_type: body.event_type.map_or(1, |e| e.db()),
            trigger_type: trigger.db(),
            trigger_metadata: json(&meta),
            actions: json(&actions.unwrap_or_default()),
            enabled: body.enabled.unwrap_or(false),
            exempt_roles: json(&exempt_roles),
            exempt_channels: json(&exempt_channels),
        })
    }
}

/// JSON text of a stored value (serializing these types cannot fail).
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Checks `trigger_metadata` for trigger type `t` (Discord's "Trigger Metadata Field
/// Limits") and keeps only the fields of that type, with Discord's defaults.
fn check_metadata(
    t: Trig,
    meta: Option<wire::TriggerMetadata>,
    errs: &mut FieldErrors,
) -> wire::TriggerMetadata {
    let m = meta.unwrap_or_default();
    let base = "trigger_metadata";
    let list = |field: &str,
                v: Option<Vec<String>>,
                max: usize,
                chars: usize,
                errs: &mut FieldErrors|
     -> Vec<String> {
        let v = v.unwrap_or_default();
        if v.len() > max {
            errs.add(
                format!("{base}.{field}"),
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
        for (i, s) in v.iter().enumerate() {
            let n = s.chars().count();
            if n == 0 || n > chars {
                errs.add(
                    format!("{base}.{field}.{i}"),
                    "BASE_TYPE_BAD_LENGTH",
                    format!("Must be between 1 and {chars} in length."),
                );
            }
        }
        v
    };
    match t {
        Trig::Keyword | Trig::MemberProfile => {
            let keyword_filter = list(
                "keyword_filter",
                m.keyword_filter,
                MAX_KEYWORDS,
                MAX_KEYWORD_CHARS,
                errs,
            );
            let regex_patterns = list(
                "regex_patterns",
                m.regex_patterns,
                MAX_REGEXES,
                MAX_REGEX_CHARS,
                errs,
            );
            for (i, p) in regex_patterns.iter().enumerate() {
                if let Err(e) = compile_regex(p) {
                    errs.add(
                        format!("{base}.regex_patterns.{i}"),
                        "AUTO_MODERATION_INVALID_REGEX",
                        e,
                    );
                }
            }
            let allow_list = list(
                "allow_list",
                m.allow_list,
                MAX_ALLOW_KEYWORD,
                MAX_KEYWORD_CHARS,
                errs,
            );
            wire::TriggerMetadata {
                keyword_filter: Some(keyword_filter),
                regex_patterns: Some(regex_patterns),
                allow_list: Some(allow_list),
                ..Default::default()
            }
        }
        Trig::KeywordPreset => {
            let presets = m.presets.unwrap_or_default();
            if presets.is_empty() {
                errs.add(
                    format!("{base}.presets"),
                    "BASE_TYPE_REQUIRED",
                    "At least one preset is required.",
                );
            }
            for (i, p) in presets.iter().enumerate() {
                if matches!(p, AutoModPreset::Unknown(_)) {
                    errs.add(
                        format!("{base}.presets.{i}"),
                        "BASE_TYPE_CHOICES",
                        "Value must be one of (1, 2, 3).",
                    );
                }
            }
            let allow_list = list(
                "allow_list",
                m.allow_list,
                MAX_ALLOW_PRESET,
                MAX_KEYWORD_CHARS,
                errs,
            );
            wire::TriggerMetadata {
                presets: Some(presets),
                allow_list: Some(allow_list),
                ..Default::default()
            }
        }
        Trig::MentionSpam => {
            match m.mention_total_limit {
                Some(l) if (1..=MAX_MENTION_LIMIT).contains(&l) => {}
                Some(_) => errs.add(
                    format!("{base}.mention_total_limit"),
                    "NUMBER_TYPE_MAX",
                    format!("int value should be between 1 and {MAX_MENTION_LIMIT}."),
                ),
                None => errs.add(
                    format!("{base}.mention_total_limit"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ),
            }
            wire::TriggerMetadata {
                mention_total_limit: m.mention_total_limit,
                mention_raid_protection_enabled: Some(
                    m.mention_raid_protection_enabled.unwrap_or(false),
                ),
                ..Default::default()
            }
        }
        Trig::Spam | Trig::Unknown(_) => wire::TriggerMetadata::default(),
    }
}
