//! Stage instances (Discord "Resources > Stage Instance"): the live stage of a stage channel
//! (type 13), with its topic. Rows in `stage_instances` (`storage/stage_instances.rs`,
//! migration 0042), at most one per channel.
//!
//! - **Routes**: `POST /stage-instances` `{channel_id, topic, privacy_level,
//!   send_start_notification, guild_scheduled_event_id}` (the instance), `GET`, `PATCH
//!   {topic, privacy_level}` and `DELETE` (204) of `/stage-instances/{channel_id}`.
//! - **Access**: the caller must see the channel (404 10003 unknown, 403 50001 for an
//!   outsider or without VIEW_CHANNEL, as every channel route); a channel without a live
//!   instance is 404 10067 (Unknown Stage Instance). Creating, modifying and deleting need
//!   the stage moderator permissions in the channel, MANAGE_CHANNELS, MUTE_MEMBERS and
//!   MOVE_MEMBERS (403 50013; Discord "Stage Instance > Definitions"). A channel that is not a
//!   stage channel is 400 50024; a second instance in a channel is 400 150006 ("The Stage is
//!   already open"), checked under the guild's lock.
//! - **Checks** (400 50035 at the field): `channel_id` required; `topic` required on create,
//!   1-[`MAX_TOPIC`] characters (trimmed); `privacy_level` 2 (GUILD_ONLY, the default): 1
//!   (PUBLIC) is deprecated by Discord and refused. `send_start_notification` is accepted and
//!   ignored (Hearth sends no notifications).
//! - **Scheduled events**: `guild_scheduled_event_id` names a STAGE_INSTANCE event of the same
//!   channel (50035 at the field otherwise) that is SCHEDULED or ACTIVE (400 180000 once
//!   finished). In the creating transaction the event's `entity_id` becomes the instance's id
//!   and a SCHEDULED event becomes ACTIVE (GUILD_SCHEDULED_EVENT_UPDATE), as Discord starts
//!   an event with its stage. When the instance ends, however it ends (deleted, emptied), its
//!   ACTIVE event becomes COMPLETED in the same transaction (GUILD_SCHEDULED_EVENT_UPDATE).
//!   A channel's deletion deletes its events with it instead.
//! - **Ends**: `DELETE`; the deletion of the channel (STAGE_INSTANCE_DELETE before its
//!   CHANNEL_DELETE, in the channel's transaction: [`Hearth::channel_stage_gone`]); the last
//!   voice state leaving the channel ([`Hearth::end_empty_stage`], called by
//!   [`super::voice`] wherever a state leaves or moves out of a channel; the count is taken
//!   under the channel's lock, so a concurrent join keeps the stage). An instance created
//!   while nobody is in the channel stays until it is deleted or someone joins and the last
//!   one leaves (Discord closes an empty stage after a while).
//!
//! Every change is one transaction with its audit entry (STAGE_INSTANCE_CREATE 83, _UPDATE
//! 84, _DELETE 85: changes of `topic` and `privacy_level`, `options.channel_id`, target the
//! instance, with `X-Audit-Log-Reason`; the automatic ends are not audited) and is announced
//! with STAGE_INSTANCE_CREATE/UPDATE/DELETE (intent GUILDS) to the sessions that can see the
//! channel; GUILD_CREATE's `stage_instances` lists those of the channels the session sees.
//! Stage instances belong to the guild's host and are not federated: in a guild hosted on
//! another server the writes answer 403 50001, and their dispatches are never logged.

use serde_json::json;

use super::to_value;
use super::{Actor, ChannelAccess, GuildAccess, Hearth, audit_action as A, changes_between};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions::{self as perm, Permissions};
use crate::snowflake::Snowflake;
use crate::storage::{Change, Lock, StageInstanceRow};
use crate::wire::{self, ChannelType, ScheduledEventEntityType as Kind};

/// Longest topic, characters.
pub const MAX_TOPIC: usize = 120;
/// The only privacy level accepted (GUILD_ONLY); 1 (PUBLIC) is deprecated.
pub const GUILD_ONLY: u8 = 2;
/// What a stage moderator holds in the channel (Discord "Stage Instance > Definitions").
pub const STAGE_MODERATOR: Permissions =
    perm::MANAGE_CHANNELS | perm::MUTE_MEMBERS | perm::MOVE_MEMBERS;

/// The wire object of a row.
pub(crate) fn stage_wire(r: &StageInstanceRow) -> wire::StageInstance {
    wire::StageInstance {
        id: Snowflake::from_db(r.id),
        guild_id: Snowflake::from_db(r.guild_id),
        channel_id: Snowflake::from_db(r.channel_id),
        topic: r.topic.clone(),
        privacy_level: r.privacy_level as u8,
        discoverable_disabled: false,
        guild_scheduled_event_id: r.scheduled_event_id.map(Snowflake::from_db),
    }
}

/// Checks a `topic` (required on create), adding what is wrong to `errs`; the trimmed topic.
fn check_topic(topic: Option<&str>, required: bool, errs: &mut FieldErrors) -> Option<String> {
    match topic {
        None if required => {
            errs.add("topic", "BASE_TYPE_REQUIRED", "This field is required");
            None
        }
        None => None,
        Some(t) => {
            let t = t.trim();
            let n = t.chars().count();
            if n == 0 || n > MAX_TOPIC {
                errs.add(
                    "topic",
                    "BASE_TYPE_BAD_LENGTH",
                    format!("Must be between 1 and {MAX_TOPIC} in length."),
                );
            }
            Some(t.to_owned())
        }
    }
}

/// Checks a `privacy_level`: 2, or absent.
fn check_privacy(level: Option<u8>, errs: &mut FieldErrors) {
    match level {
        None | Some(GUILD_ONLY) => {}
        Some(1) => errs.add(
            "privacy_level",
            "BASE_TYPE_CHOICES",
            "PUBLIC (1) is deprecated: the only privacy level is GUILD_ONLY (2).",
        ),
        Some(_) => errs.add(
            "privacy_level",
            "BASE_TYPE_CHOICES",
            "Value must be one of (2,).",
        ),
    }
}

/// The audit changes between two renderings of an instance (`None`: it did not exist yet,
/// or no longer does).
fn stage_changes(
    old: Option<&StageInstanceRow>,
    new: Option<&StageInstanceRow>,
) -> Vec<serde_json::Value> {
    let pick = |r: Option<&StageInstanceRow>| match r {
        None => vec![],
        Some(r) => vec![
            ("topic", json!(r.topic)),
            ("privacy_level", json!(r.privacy_level)),
        ],
    };
    changes_between(&pick(old), &pick(new))
}

impl Hearth {
    /// A STAGE_INSTANCE_* dispatch of `r`, to those who can see its channel (intent GUILDS).
    pub(crate) fn stage_dispatch(event: Event, r: &StageInstanceRow) -> Dispatch {
        Self::event_of(
            event,
            Audience::Guild {
                guild_id: Snowflake::from_db(r.guild_id),
                channel: Some(Snowflake::from_db(r.channel_id)),
            },
            intents::GUILDS,
            to_value(&stage_wire(r)),
        )
    }

    /// The caller's view of `channel_id` as a stage write needs it: the channel access and
    /// its guild's. Errors: 404 10003, 403 50001 (channel routes' rules), 403 50001 in a guild
    /// hosted on another server, 400 50024 for a DM or a channel that is not a stage channel.
    async fn stage_channel(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<(ChannelAccess, GuildAccess)> {
        let ca = self.channel_access(actor, channel_id).await?;
        let Some(ga) = ca.guild.clone() else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        Self::hosted_here(&ga.guild)?;
        if ChannelType::from_db(ca.channel.kind) != ChannelType::GuildStageVoice {
            return Err(Error::Rule(Rule::ChannelType));
        }
        Ok((ca, ga))
    }

    /// The stage moderator permissions, read again inside the guild-locked change `ch` that
    /// writes: a channel deleted since the first checks is 404 10003, and overwrites changed
    /// since count. 403 50013 (or 60003 for the guild's MFA level) without them.
    async fn locked_stage_moderator(
        ch: &mut Change,
        ga: &GuildAccess,
        channel_id: i64,
    ) -> Result<()> {
        let Some((_, ows)) = ch.channel_with_overwrites(channel_id).await? else {
            return Err(Error::Unknown(Unknown::Channel));
        };
        if !perm::has(ga.in_channel(&ows), STAGE_MODERATOR) {
            return Err(Error::MissingPermissions);
        }
        super::mfa::check_level(ga.mfa_missing, STAGE_MODERATOR)
    }

    /// The stage instance of `channel_id` read in a guild-locked change for a PATCH or DELETE,
    /// with the caller's guild access, after the stage moderator checks (before and under the
    /// lock). Errors: those of [`Self::stage_channel`] and [`Self::locked_stage_moderator`],
    /// 404 10067 without an instance.
    async fn locked_stage(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<(GuildAccess, Change, StageInstanceRow)> {
        let (ca, ga) = self.stage_channel(actor, channel_id).await?;
        ca.require(STAGE_MODERATOR)?;
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        Self::locked_stage_moderator(&mut ch, &ga, ca.channel.id).await?;
        let old = ch
            .stage_instance(ca.channel.id)
            .await?
            .ok_or(Error::Unknown(Unknown::StageInstance))?;
        Ok((ga, ch, old))
    }

    /// `POST /stage-instances` (Discord "Create Stage Instance"): the new instance. Checks and
    /// errors: module docs.
    pub async fn create_stage_instance(
        &self,
        actor: &Actor,
        body: wire::CreateStageInstanceBody,
        reason: Option<&str>,
    ) -> Result<wire::StageInstance> {
        let mut errs = FieldErrors::new();
        if body.channel_id.is_none() {
            errs.add("channel_id", "BASE_TYPE_REQUIRED", "This field is required");
        }
        let topic = check_topic(body.topic.as_deref(), true, &mut errs);
        check_privacy(body.privacy_level, &mut errs);
        // Either missing has its error in `errs`.
        let (Some(channel_id), Some(topic)) = (body.channel_id, topic) else {
            return Err(Error::InvalidForm(errs));
        };
        errs.into_result()?;
        let (ca, ga) = self.stage_channel(actor, channel_id).await?;
        ca.require(STAGE_MODERATOR)?;
        let row = StageInstanceRow {
            id: self.next_id(),
            guild_id: ga.guild.id,
            channel_id: ca.channel.id,
            topic,
            privacy_level: i64::from(GUILD_ONLY),
            scheduled_event_id: body.guild_scheduled_event_id.map(Snowflake::db),
        };
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(row.id),
            A::STAGE_INSTANCE_CREATE,
            json!(stage_changes(None, Some(&row))),
            Some(json!({"channel_id": Snowflake::from_db(row.channel_id)})),
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        Self::locked_stage_moderator(&mut ch, &ga, row.channel_id).await?;
        if ch.stage_instance(row.channel_id).await?.is_some() {
            return Err(Error::Rule(Rule::StageAlreadyOpen));
        }
        let mut events = vec![];
        if let Some(event_id) = row.scheduled_event_id {
            let ev = ch
                .scheduled_event(ga.guild.id, event_id)
                .await?
                .filter(|e| {
                    e.channel_id == Some(row.channel_id)
                        && Kind::from_db(e.entity_type) == Kind::StageInstance
                });
            if ev.is_none() {
                return Err(crate::error::field_error(
                    "guild_scheduled_event_id",
                    "GUILD_SCHEDULED_EVENT_INVALID",
                    "Must be a stage instance event of this channel.",
                ));
            }
            let Some(started) = ch.link_stage_event(event_id, row.id).await? else {
                return Err(Error::Rule(Rule::EventFinished));
            };
            events.push(Self::scheduled_event_dispatch(
                Event::GuildScheduledEventUpdate,
                &started,
            ));
        }
        ch.insert_stage_instance(&row).await?;
        ch.audit(&audit).await?;
        events.insert(0, Self::stage_dispatch(Event::StageInstanceCreate, &row));
        self.commit(ch, events).await?;
        Ok(stage_wire(&row))
    }

    /// `GET /stage-instances/{channel_id}` (Discord "Get Stage Instance"): the channel's live
    /// instance. Errors: 404 10003, 403 50001 (cannot see the channel), 404 10067 (none).
    pub async fn get_stage_instance(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
    ) -> Result<wire::StageInstance> {
        let ca = self.channel_access(actor, channel_id).await?;
        let r = self
            .db
            .stage_instance(ca.channel.id)
            .await?
            .ok_or(Error::Unknown(Unknown::StageInstance))?;
        Ok(stage_wire(&r))
    }

    /// `PATCH /stage-instances/{channel_id}` (Discord "Modify Stage Instance") `{topic,
    /// privacy_level}`: the instance as changed. Only a change is written, audited (with the
    /// keys that changed) and announced (STAGE_INSTANCE_UPDATE). Errors: the checks of the
    /// module docs; 404 10067 when the channel has no instance (also when it ended
    /// meanwhile).
    pub async fn modify_stage_instance(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        body: wire::ModifyStageInstanceBody,
        reason: Option<&str>,
    ) -> Result<wire::StageInstance> {
        let mut errs = FieldErrors::new();
        let topic = check_topic(body.topic.as_deref(), false, &mut errs);
        check_privacy(body.privacy_level, &mut errs);
        errs.into_result()?;
        let (ga, mut ch, old) = self.locked_stage(actor, channel_id).await?;
        let new = StageInstanceRow {
            topic: topic.unwrap_or_else(|| old.topic.clone()),
            ..old.clone()
        };
        let changes = stage_changes(Some(&old), Some(&new));
        if changes.is_empty() {
            ch.rollback().await?;
            return Ok(stage_wire(&old));
        }
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(new.id),
            A::STAGE_INSTANCE_UPDATE,
            json!(changes),
            Some(json!({"channel_id": Snowflake::from_db(new.channel_id)})),
            reason,
        );
        if !ch.update_stage_instance(&new).await? {
            return Err(Error::Unknown(Unknown::StageInstance));
        }
        ch.audit(&audit).await?;
        let d = Self::stage_dispatch(Event::StageInstanceUpdate, &new);
        self.commit(ch, vec![d]).await?;
        Ok(stage_wire(&new))
    }

    /// `DELETE /stage-instances/{channel_id}` (Discord "Delete Stage Instance", 204): ends the
    /// stage; its ACTIVE scheduled event becomes COMPLETED. Errors: as the PATCH's.
    pub async fn delete_stage_instance(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let (ga, mut ch, old) = self.locked_stage(actor, channel_id).await?;
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(old.id),
            A::STAGE_INSTANCE_DELETE,
            json!(stage_changes(Some(&old), None)),
            Some(json!({"channel_id": Snowflake::from_db(old.channel_id)})),
            reason,
        );
        let events = Self::end_stage(&mut ch, &old).await?;
        ch.audit(&audit).await?;
        self.commit(ch, events).await
    }

    /// Deletes instance `r` in `ch` and completes its ACTIVE scheduled event: the dispatches
    /// to publish once `ch` commits (STAGE_INSTANCE_DELETE, then the event's update).
    async fn end_stage(ch: &mut Change, r: &StageInstanceRow) -> Result<Vec<Dispatch>> {
        if !ch.delete_stage_instance(r.id).await? {
            return Err(Error::Unknown(Unknown::StageInstance));
        }
        let mut events = vec![Self::stage_dispatch(Event::StageInstanceDelete, r)];
        if let Some(e) = r.scheduled_event_id
            && let Some(done) = ch.complete_stage_event(e).await?
        {
            events.push(Self::scheduled_event_dispatch(
                Event::GuildScheduledEventUpdate,
                &done,
            ));
        }
        Ok(events)
    }

    /// The STAGE_INSTANCE_DELETE of the instance of a channel about to be deleted in `ch`
    /// (the row goes with the channel's; its scheduled event too), to publish before the
    /// CHANNEL_DELETE.
    pub(crate) async fn channel_stage_gone(
        ch: &mut Change,
        channel_id: i64,
    ) -> Result<Option<Dispatch>> {
        Ok(ch
            .stage_instance(channel_id)
            .await?
            .map(|r| Self::stage_dispatch(Event::StageInstanceDelete, &r)))
    }

    /// Ends the stage instance of channel `channel_id` of `guild_id` if nobody is in voice
    /// there any more (Discord closes an empty stage): called after a voice state left or
    /// moved out of that channel. Not audited: nobody acted. A failure is logged (the voice
    /// change stands).
    pub(crate) async fn end_empty_stage(&self, guild_id: i64, channel_id: i64) {
        if let Err(e) = self.try_end_empty_stage(guild_id, channel_id).await {
            tracing::warn!(error = %e, channel = channel_id, "ending an empty stage failed");
        }
    }

    async fn try_end_empty_stage(&self, guild_id: i64, channel_id: i64) -> Result<()> {
        // Most channels left have no stage: one indexed read, no lock.
        if self.db.stage_instance(channel_id).await?.is_none() {
            return Ok(());
        }
        let mut ch = self.db.change(Lock::Guild(guild_id)).await?;
        let live = ch.stage_instance(channel_id).await?;
        let Some(r) = live.filter(|r| r.guild_id == guild_id) else {
            return ch.rollback().await;
        };
        if ch.voice_users_locked(channel_id).await? > 0 {
            return ch.rollback().await;
        }
        let events = Self::end_stage(&mut ch, &r).await?;
        self.commit(ch, events).await
    }

    /// The guild's stage instances as GUILD_CREATE lists them; the payload keeps those whose
    /// channel the session can see.
    pub async fn guild_create_stage_instances(
        &self,
        guild_id: i64,
    ) -> Result<Vec<wire::StageInstance>> {
        Ok(self
            .db
            .stage_instances(guild_id)
            .await?
            .iter()
            .map(stage_wire)
            .collect())
    }

    /// The stage instances of every guild of `user_id`, by guild (READY's GUILD_CREATEs; one
    /// call).
    pub async fn ready_stage_instances(
        &self,
        user_id: i64,
    ) -> Result<std::collections::HashMap<i64, Vec<wire::StageInstance>>> {
        let mut out: std::collections::HashMap<i64, Vec<wire::StageInstance>> =
            std::collections::HashMap::new();
        for r in self.db.stage_instances_of_guilds_of(user_id).await? {
            out.entry(r.guild_id).or_default().push(stage_wire(&r));
        }
        Ok(out)
    }
}
