//! Guild scheduled events (Discord "Resources > Guild Scheduled Event"): list, get, create,
//! modify and delete a guild's events. Interested users and the status automation are in
//! [`super::scheduled_event_users`].
//!
//! Access (Discord "Guild Scheduled Event Permissions Requirements"): an outsider gets 403
//! 50001, an unknown guild 404 10004. A member sees an EXTERNAL event always and a stage or
//! voice event when they have VIEW_CHANNEL in its channel; an event they cannot see is 404
//! 10070 (Unknown Guild Scheduled Event), as an unknown one. Creating needs CREATE_EVENTS
//! (guild level for EXTERNAL; in the channel, with VIEW_CHANNEL and CONNECT for VOICE, with
//! VIEW_CHANNEL, MANAGE_CHANNELS, MUTE_MEMBERS and MOVE_MEMBERS for STAGE_INSTANCE).
//! Modifying and deleting need MANAGE_EVENTS, or CREATE_EVENTS for the event's creator,
//! with the same channel permissions (in the old and the new channel); 403 50013 otherwise.
//!
//! Checks (400 50035 at the field's path): `name` 1-[`MAX_NAME`] characters; `description`
//! at most [`MAX_DESCRIPTION`]; `privacy_level` 2 (GUILD_ONLY); `scheduled_start_time` ISO
//! 8601 and in the future when set (`GUILD_SCHEDULED_EVENT_SCHEDULE_PAST`);
//! `scheduled_end_time` after the start; `entity_type` 1, 2 or 3; STAGE_INSTANCE and VOICE
//! need `channel_id`, a stage (13) or voice (2) channel of the guild, and no
//! `entity_metadata` (a modify silently discards it, as Discord's does); EXTERNAL needs
//! `channel_id` null, `entity_metadata.location` (1-[`MAX_LOCATION`]) and an end time.
//! `recurrence_rule` is a rule, or null/absent for a one-off event (a modify's `null` stops
//! the recurrence), checked per Discord's "System limitations" at `recurrence_rule.*`
//! ([`recurrence`]); a modify that does not send it keeps the stored
//! rule (its `start` following a new `scheduled_start_time`).
//!
//! Cover images: `image` is a data URI checked as every image ([`super::images`]: PNG, JPEG,
//! GIF or WebP, `media.max_image_bytes`, `media.max_image_pixels`; 50035 at `image`), stored
//! as `guild-events/{event_id}/{hash}` once the other checks passed and served at Discord's
//! CDN path `/guild-events/{event_id}/{hash}.{png|jpg|webp|gif}`; the event's `image` is the
//! hash. A modify replaces it (`null` removes it; the current hash sent back keeps it); the
//! replaced picture's bytes are deleted once the change is committed (as a guild icon's), a
//! deleted event's cover (or those of a deleted channel's or guild's events) goes to the file
//! collector, and a picture stored for a change that failed is deleted. Audited as
//! `image_hash`.
//!
//! Stage instances ([`super::stage_instances`]): a stage started for a STAGE_INSTANCE event
//! sets the event's `entity_id` (kept by edits and once the stage ended), starts it, and
//! completes it when it ends.
//!
//! Status: a modify may move SCHEDULED -> ACTIVE, ACTIVE -> COMPLETED and SCHEDULED ->
//! CANCELED (others: 50035 on `status`); a recurring event moved to COMPLETED goes back to
//! SCHEDULED at its next occurrence instead, in the same transaction, while its rule has one
//! left. Any change of a COMPLETED or CANCELED event is 400
//! 180000. A guild holds at most [`MAX_OPEN_EVENTS`] SCHEDULED or ACTIVE events (400
//! 30038), counted in the creating transaction under the guild's lock.
//!
//! Every change is one transaction with its audit entry (GUILD_SCHEDULED_EVENT_CREATE 100,
//! _UPDATE 101, _DELETE 102, with `X-Audit-Log-Reason`) and is announced with
//! GUILD_SCHEDULED_EVENT_CREATE/UPDATE/DELETE (intent GUILD_SCHEDULED_EVENTS) to the sessions
//! that can see the event's channel (all members for EXTERNAL events). Deleting a channel
//! deletes its events, each announced. Events belong to the guild's host and are not
//! federated: on a replica the writes answer 403 50001 and the lists are empty.

pub mod recurrence;
mod render;

pub(crate) use render::event_wire;

use std::collections::HashMap;

use serde_json::{Value, json};

use self::recurrence::{checked_rule, next_of};
use super::images::ImageKind;
use super::scheduled_event_covers::Cover;
use super::{Actor, GuildAccess, Hearth, audit_action as A, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions::{self as perm, Permissions};
use crate::snowflake::Snowflake;
use crate::storage::{Change, Lock, ScheduledEventRow, now_ms};
use crate::wire::{
    self, ChannelType, ScheduledEventEntityType as Kind, ScheduledEventStatus as Status,
};

/// Longest event name, characters.
pub const MAX_NAME: usize = 100;
/// Longest description, characters.
pub const MAX_DESCRIPTION: usize = 1000;
/// Longest `entity_metadata.location`, characters.
pub const MAX_LOCATION: usize = 100;
/// SCHEDULED or ACTIVE events a guild may hold (Discord's limit, error 30038).
pub const MAX_OPEN_EVENTS: i64 = 100;
/// Rounds of a PATCH that found the event changed under it before the answer is 503
/// ([`Hearth::modify_scheduled_event`]).
pub const MAX_EDIT_ATTEMPTS: usize = 5;
/// The only privacy level (GUILD_ONLY).
pub const GUILD_ONLY: u8 = 2;

/// Channel permissions an event of `kind` needs besides CREATE_EVENTS/MANAGE_EVENTS.
fn channel_needs(kind: Kind) -> Permissions {
    match kind {
        Kind::StageInstance => {
            perm::VIEW_CHANNEL | perm::MANAGE_CHANNELS | perm::MUTE_MEMBERS | perm::MOVE_MEMBERS
        }
        Kind::Voice => perm::VIEW_CHANNEL | perm::CONNECT,
        _ => 0,
    }
}

/// Parses an ISO 8601 time of `field` into ms.
fn parse_time(field: &str, text: &str, errs: &mut FieldErrors) -> Option<i64> {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errs.add(field, "DATE_TIME_INVALID", "Invalid ISO 8601 timestamp.");
            None
        }
    }
}

/// An event's fields as asked (create, or a modify merged over the stored event).
struct Asked {
    kind: Option<Kind>,
    channel_id: Option<Snowflake>,
    location: Option<String>,
    /// `entity_metadata` was given non-null.
    has_metadata: bool,
    name: Option<String>,
    description: Option<String>,
    privacy_level: Option<u8>,
    start: Option<String>,
    end: Option<String>,
    /// The recurrence rule: sent (checked) or kept from the stored event.
    rule: Option<wire::RecurrenceRule>,
    /// `rule` was sent in the request (else it is the stored one, not checked again).
    rule_sent: bool,
    /// A modify: the stored start and the stored rule's `start`.
    old_start: Option<i64>,
    kept_rule_start: Option<String>,
}

impl Hearth {
    /// The audience of an event's dispatches: who can see its channel, or the whole guild.
    pub(crate) fn scheduled_event_audience(r: &ScheduledEventRow) -> Audience {
        Audience::Guild {
            guild_id: Snowflake::from_db(r.guild_id),
            channel: r.channel_id.map(Snowflake::from_db),
        }
    }

    /// A GUILD_SCHEDULED_EVENT_* dispatch of `r`.
    pub(crate) fn scheduled_event_dispatch(event: Event, r: &ScheduledEventRow) -> Dispatch {
        Self::event_of(
            event,
            Self::scheduled_event_audience(r),
            intents::GUILD_SCHEDULED_EVENTS,
            to_value(&event_wire(r)),
        )
    }

    /// The caller's permissions where event `r` lives: its channel's (`None` when the
    /// channel is gone), or guild level for EXTERNAL events.
    async fn event_perms(&self, ga: &GuildAccess, channel_id: Option<i64>) -> Result<Permissions> {
        match channel_id {
            None => Ok(ga.base()),
            Some(c) => {
                let ows = self.db.overwrites(c).await?;
                Ok(ga.in_channel(&ows))
            }
        }
    }

    /// The caller's permissions for an event in `channel_id`, read again inside the
    /// guild-locked change `ch` that writes it: a channel deleted since the first checks is
    /// 10003 (not a foreign-key failure), and overwrites changed since then count.
    async fn locked_event_perms(
        ch: &mut Change,
        ga: &GuildAccess,
        channel_id: Option<i64>,
    ) -> Result<Permissions> {
        match channel_id {
            None => Ok(ga.base()),
            Some(c) => match ch.channel_with_overwrites(c).await? {
                None => Err(Error::Unknown(Unknown::Channel)),
                Some((_, ows)) => Ok(ga.in_channel(&ows)),
            },
        }
    }

    /// Whether the member sees event `r` (VIEW_CHANNEL in its channel, or EXTERNAL).
    async fn sees_event(&self, ga: &GuildAccess, r: &ScheduledEventRow) -> Result<bool> {
        Ok(r.channel_id.is_none()
            || self.event_perms(ga, r.channel_id).await? & perm::VIEW_CHANNEL != 0)
    }

    /// One event the caller can see; 404 10070 otherwise.
    pub(crate) async fn visible_event(
        &self,
        ga: &GuildAccess,
        event_id: Snowflake,
    ) -> Result<ScheduledEventRow> {
        let r = self
            .db
            .scheduled_event(ga.guild.id, event_id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::ScheduledEvent))?;
        if !self.sees_event(ga, &r).await? {
            return Err(Error::Unknown(Unknown::ScheduledEvent));
        }
        Ok(r)
    }

    /// Renders events with their creators and, when asked, their user counts.
    async fn events_wire(
        &self,
        rows: &[ScheduledEventRow],
        with_user_count: bool,
    ) -> Result<Vec<wire::GuildScheduledEvent>> {
        let creators: Vec<i64> = rows.iter().filter_map(|r| r.creator_id).collect();
        let users = self.db.users_by_id(&creators).await?;
        let counts: HashMap<i64, i64> = if with_user_count {
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            self.db
                .scheduled_event_user_counts(&ids)
                .await?
                .into_iter()
                .collect()
        } else {
            HashMap::new()
        };
        Ok(rows
            .iter()
            .map(|r| {
                let mut w = event_wire(r);
                w.creator = r
                    .creator_id
                    .and_then(|c| users.get(&c))
                    .map(|u| self.user_wire(u, false));
                if with_user_count {
                    w.user_count = Some(counts.get(&r.id).copied().unwrap_or(0));
                }
                w
            })
            .collect())
    }

    /// `GET /guilds/{id}/scheduled-events` (`?with_user_count`): the events the caller can
    /// see, by id.
    pub async fn list_scheduled_events(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        with_user_count: bool,
    ) -> Result<Vec<wire::GuildScheduledEvent>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let rows = self.db.scheduled_events(ga.guild.id).await?;
        let mut seen: HashMap<i64, bool> = HashMap::new();
        let mut visible = vec![];
        for r in rows {
            let ok = match r.channel_id {
                None => true,
                Some(c) => match seen.get(&c) {
                    Some(v) => *v,
                    None => {
                        let v = self.sees_event(&ga, &r).await?;
                        seen.insert(c, v);
                        v
                    }
                },
            };
            if ok {
                visible.push(r);
            }
        }
        self.events_wire(&visible, with_user_count).await
    }

    /// `GET /guilds/{id}/scheduled-events/{event_id}` (`?with_user_count`).
    pub async fn get_scheduled_event(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
        with_user_count: bool,
    ) -> Result<wire::GuildScheduledEvent> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let r = self.visible_event(&ga, event_id).await?;
        Ok(self.events_wire(&[r], with_user_count).await?.remove(0))
    }

    /// Checks `asked` into a row (id, creator, status left to the caller), adding what is
    /// wrong to `errs`. `start_must_be_future`: the start was given (create, or a modify
    /// that sets it). Channel errors are checked against the guild's channels.
    async fn checked_event(
        &self,
        ga: &GuildAccess,
        asked: Asked,
        start_must_be_future: bool,
        errs: &mut FieldErrors,
    ) -> Result<ScheduledEventRow> {
        let name = asked.name.unwrap_or_default();
        let n = name.trim().chars().count();
        if n == 0 || n > MAX_NAME {
            errs.add(
                "name",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {MAX_NAME} in length."),
            );
        }
        let description = asked.description.filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            errs.add(
                "description",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {MAX_DESCRIPTION} in length."),
            );
        }
        match asked.privacy_level {
            None => errs.add(
                "privacy_level",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ),
            Some(GUILD_ONLY) => {}
            Some(_) => errs.add(
                "privacy_level",
                "BASE_TYPE_CHOICES",
                "Value must be one of (2,).",
            ),
        }
        let now = now_ms();
        let start = match &asked.start {
            None => {
                errs.add(
                    "scheduled_start_time",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
                None
            }
            Some(t) => parse_time("scheduled_start_time", t, errs),
        };
        if start_must_be_future && start.is_some_and(|s| s <= now) {
            errs.add(
                "scheduled_start_time",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                "Cannot schedule event in the past.",
            );
        }
        let end = asked
            .end
            .as_deref()
            .and_then(|t| parse_time("scheduled_end_time", t, errs));
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            errs.add(
                "scheduled_end_time",
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot schedule an event to end before it starts.",
            );
        }
        let rule = match (asked.rule, start) {
            (Some(r), Some(s)) if asked.rule_sent => {
                checked_rule(r, s, asked.kept_rule_start.as_deref(), errs)
            }
            // The stored rule: its series starts again where a new start puts it.
            (Some(mut r), Some(s)) => {
                if asked.old_start != Some(s) {
                    r.start = wire::iso(s);
                }
                Some(r)
            }
            _ => None,
        };
        let mut location = None;
        let mut channel_id = None;
        match asked.kind {
            None => errs.add(
                "entity_type",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ),
            Some(Kind::External) => {
                if asked.channel_id.is_some() {
                    errs.add(
                        "channel_id",
                        "GUILD_SCHEDULED_EVENT_CHANNEL_NOT_NULL",
                        "External events have no channel: send null.",
                    );
                }
                let loc = asked.location.unwrap_or_default();
                let l = loc.trim().chars().count();
                if l == 0 || l > MAX_LOCATION {
                    errs.add(
                        "entity_metadata.location",
                        "BASE_TYPE_BAD_LENGTH",
                        format!("Must be between 1 and {MAX_LOCATION} in length."),
                    );
                }
                location = Some(loc);
                if asked.end.is_none() {
                    errs.add(
                        "scheduled_end_time",
                        "BASE_TYPE_REQUIRED",
                        "External events need an end time.",
                    );
                }
            }
            Some(k @ (Kind::StageInstance | Kind::Voice)) => {
                if asked.has_metadata {
                    errs.add(
                        "entity_metadata",
                        "GUILD_SCHEDULED_EVENT_METADATA_NOT_NULL",
                        "Only external events have entity metadata.",
                    );
                }
                let want = if k == Kind::Voice {
                    ChannelType::GuildVoice
                } else {
                    ChannelType::GuildStageVoice
                };
                match asked.channel_id {
                    None => errs.add("channel_id", "BASE_TYPE_REQUIRED", "This field is required"),
                    Some(c) => match self.db.channel(c.db()).await? {
                        Some(row)
                            if row.guild_id == Some(ga.guild.id)
                                && ChannelType::from_db(row.kind) == want =>
                        {
                            channel_id = Some(row.id);
                        }
                        _ => errs.add(
                            "channel_id",
                            "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL",
                            if k == Kind::Voice {
                                "Must be a voice channel of this guild."
                            } else {
                                "Must be a stage channel of this guild."
                            },
                        ),
                    },
                }
            }
            Some(Kind::Unknown(_)) => errs.add(
                "entity_type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (1, 2, 3).",
            ),
        }
        Ok(ScheduledEventRow {
            id: 0,
            guild_id: ga.guild.id,
            channel_id,
            creator_id: None,
            name: name.trim().to_owned(),
            description,
            start_at: start.unwrap_or(0),
            end_at: end,
            privacy_level: i64::from(GUILD_ONLY),
            status: Status::Scheduled.db(),
            entity_type: asked.kind.map(Kind::db).unwrap_or(0),
            location,
            empty_since: None,
            image: None,
            entity_id: None,
            recurrence_rule: rule.map(|r| to_value(&r).to_string()),
        })
    }

    /// Fails with 50013 unless `perms` holds every bit of `need`, and with 60003 when the
    /// guild's MFA level applies to one of them and the caller has no MFA (`ga.mfa_missing`).
    fn need(ga: &GuildAccess, perms: Permissions, need: Permissions) -> Result<()> {
        if !perm::has(perms, need) {
            return Err(Error::MissingPermissions);
        }
        super::mfa::check_level(ga.mfa_missing, need)
    }

    /// `POST /guilds/{id}/scheduled-events`: the new event (SCHEDULED). Checks: module docs.
    pub async fn create_scheduled_event(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        body: wire::CreateScheduledEventBody,
        reason: Option<&str>,
    ) -> Result<wire::GuildScheduledEvent> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let asked = Asked {
            kind: body.entity_type,
            channel_id: body.channel_id,
            has_metadata: body.entity_metadata.is_some(),
            location: body.entity_metadata.and_then(|m| m.location),
            name: body.name,
            description: body.description,
            privacy_level: body.privacy_level,
            start: body.scheduled_start_time,
            end: body.scheduled_end_time,
            rule_sent: body.recurrence_rule.is_some(),
            rule: body.recurrence_rule,
            old_start: None,
            kept_rule_start: None,
        };
        let mut errs = FieldErrors::new();
        let mut row = self.checked_event(&ga, asked, true, &mut errs).await?;
        errs.into_result()?;
        let kind = Kind::from_db(row.entity_type);
        let perms = self.event_perms(&ga, row.channel_id).await?;
        Self::need(&ga, perms, perm::CREATE_EVENTS | channel_needs(kind))?;
        row.id = self.next_id();
        row.creator_id = Some(actor.user.id);
        // The cover last: its bytes are written before the row names them.
        let cover = self
            .image_field(
                ImageKind::EventCover,
                row.id,
                "image",
                body.image.map(Some),
                None,
            )
            .await?;
        row.image = cover.clone().flatten();
        let r = self.insert_event(&ga, actor, &row, reason).await;
        self.settle_image(ImageKind::EventCover, row.id, None, &cover, r.is_ok());
        r?;
        Ok(self.events_wire(&[row], false).await?.remove(0))
    }

    /// The writing part of [`Self::create_scheduled_event`]: the row with its audit entry,
    /// under the guild's lock, with the channel and the limit checked again there.
    async fn insert_event(
        &self,
        ga: &GuildAccess,
        actor: &Actor,
        row: &ScheduledEventRow,
        reason: Option<&str>,
    ) -> Result<()> {
        let kind = Kind::from_db(row.entity_type);
        let w = event_wire(row);
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(row.id),
            A::GUILD_SCHEDULED_EVENT_CREATE,
            json!(Self::event_changes(None, Some(&w))),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        let perms = Self::locked_event_perms(&mut ch, ga, row.channel_id).await?;
        Self::need(ga, perms, perm::CREATE_EVENTS | channel_needs(kind))?;
        if ch.count_open_scheduled_events(ga.guild.id).await? >= MAX_OPEN_EVENTS {
            return Err(Error::Rule(Rule::MaxScheduledEvents));
        }
        ch.insert_scheduled_event(row).await?;
        ch.audit(&audit).await?;
        let d = Self::scheduled_event_dispatch(Event::GuildScheduledEventCreate, row);
        self.commit(ch, vec![d]).await
    }

    /// The audit changes between two renderings of an event (`None`: it did not exist yet,
    /// or no longer does).
    fn event_changes(
        old: Option<&wire::GuildScheduledEvent>,
        new: Option<&wire::GuildScheduledEvent>,
    ) -> Vec<Value> {
        let pick = |w: Option<&wire::GuildScheduledEvent>| match w {
            None => vec![],
            Some(w) => vec![
                ("name", json!(w.name)),
                ("description", json!(w.description)),
                ("channel_id", json!(w.channel_id)),
                (
                    "location",
                    json!(w.entity_metadata.as_ref().and_then(|m| m.location.clone())),
                ),
                ("entity_type", json!(w.entity_type)),
                ("status", json!(w.status)),
                ("privacy_level", json!(w.privacy_level)),
                ("scheduled_start_time", json!(w.scheduled_start_time)),
                ("scheduled_end_time", json!(w.scheduled_end_time)),
                ("image_hash", json!(w.image)),
                ("recurrence_rule", json!(w.recurrence_rule)),
            ],
        };
        super::changes_between(&pick(old), &pick(new))
    }

    /// Whether the caller may manage event `r` with `perms` (its channel's or guild level):
    /// MANAGE_EVENTS, or CREATE_EVENTS as its creator, plus the channel permissions of its
    /// kind. 403 50013 otherwise; 403 60003 when the guild's MFA level applies to one of
    /// them and the caller has no MFA.
    fn may_manage(
        ga: &GuildAccess,
        actor: &Actor,
        r: &ScheduledEventRow,
        perms: Permissions,
    ) -> Result<()> {
        let own = r.creator_id == Some(actor.user.id) && perms & perm::CREATE_EVENTS != 0;
        let manage = if own { 0 } else { perm::MANAGE_EVENTS };
        Self::need(
            ga,
            perms,
            manage | channel_needs(Kind::from_db(r.entity_type)),
        )
    }

    /// `PATCH /guilds/{id}/scheduled-events/{event_id}`: every field optional; status moves
    /// per the module docs. The result is checked as a whole event.
    ///
    /// The event is read, checked, then read again under the guild's lock: if another
    /// request or the status job changed it in between, the whole edit starts over from
    /// what is stored now (so two edits of different fields both stay, and a transition
    /// made meanwhile is judged as it is). After [`MAX_EDIT_ATTEMPTS`] such rounds: 503.
    pub async fn modify_scheduled_event(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
        body: wire::ModifyScheduledEventBody,
        reason: Option<&str>,
    ) -> Result<wire::GuildScheduledEvent> {
        // A new cover is stored once, by the first round that passes the checks, and kept
        // (or deleted) by how the whole edit ends.
        let mut cover: Cover = None;
        let mut outcome = Err(Error::Unavailable(
            "the scheduled event kept changing while it was edited".into(),
        ));
        for _ in 0..MAX_EDIT_ATTEMPTS {
            // `None`: the event changed under this round; another one starts.
            let round = self
                .try_modify_scheduled_event(
                    actor,
                    guild_id,
                    event_id,
                    body.clone(),
                    reason,
                    &mut cover,
                )
                .await;
            if let Some(done) = round.transpose() {
                outcome = done;
                break;
            }
        }
        // Settled on the commit alone: rendering the answer below cannot undo it.
        self.settle_cover(event_id.db(), &cover, outcome.as_ref().map(|(_, r)| r));
        let (row, _) = outcome?;
        Ok(self.events_wire(&[row], false).await?.remove(0))
    }

    /// One round of [`Self::modify_scheduled_event`]: `None` when the event changed between
    /// the first read and the locked one (nothing written); with the stored event, the cover
    /// hash it replaced. `cover`: the new cover stored by an earlier round (with the hash it was
    /// stored against), or stored here.
    async fn try_modify_scheduled_event(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
        body: wire::ModifyScheduledEventBody,
        reason: Option<&str>,
        cover: &mut Cover,
    ) -> Result<Option<(ScheduledEventRow, Option<String>)>> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let old = self.visible_event(&ga, event_id).await?;
        let perms = self.event_perms(&ga, old.channel_id).await?;
        Self::may_manage(&ga, actor, &old, perms)?;
        let old_status = Status::from_db(old.status);
        if matches!(old_status, Status::Completed | Status::Canceled) {
            return Err(Error::Rule(Rule::EventFinished));
        }
        let kind = body.entity_type.unwrap_or(Kind::from_db(old.entity_type));
        let wo = event_wire(&old);
        let to_external =
            kind == Kind::External && Kind::from_db(old.entity_type) != Kind::External;
        let mut errs = FieldErrors::new();
        if to_external && body.channel_id != Some(None) {
            errs.add(
                "channel_id",
                "BASE_TYPE_REQUIRED",
                "Changing to an external event needs channel_id set to null.",
            );
        }
        let channel_id = match body.channel_id {
            Some(c) => c,
            None if kind == Kind::External => None,
            None => old.channel_id.map(Snowflake::from_db),
        };
        // Entity metadata is kept for EXTERNAL events only (discarded for the others).
        let location = if kind == Kind::External {
            match &body.entity_metadata {
                Some(m) => m.as_ref().and_then(|m| m.location.clone()),
                None => old.location.clone(),
            }
        } else {
            None
        };
        let asked = Asked {
            kind: Some(kind),
            channel_id,
            location,
            has_metadata: false,
            name: body.name.or(Some(old.name.clone())),
            description: match body.description {
                Some(d) => d,
                None => old.description.clone(),
            },
            privacy_level: body.privacy_level.or(Some(old.privacy_level as u8)),
            // The start of a running event is what it was (the end is checked against it).
            start: match body.scheduled_start_time.clone() {
                Some(s) if old_status != Status::Active => Some(s),
                _ => Some(wire::iso(old.start_at)),
            },
            end: match body.scheduled_end_time {
                Some(e) => e,
                None => old.end_at.map(wire::iso),
            },
            rule_sent: body.recurrence_rule.is_some(),
            rule: match body.recurrence_rule.clone() {
                Some(r) => r,
                None => wo.recurrence_rule.clone(),
            },
            old_start: Some(old.start_at),
            kept_rule_start: wo.recurrence_rule.as_ref().map(|r| r.start.clone()),
        };
        let new_start = body.scheduled_start_time.is_some() && old_status == Status::Scheduled;
        let mut row = self.checked_event(&ga, asked, new_start, &mut errs).await?;
        let status = body.status.unwrap_or(old_status);
        let allowed = status == old_status
            || matches!(
                (old_status, status),
                (Status::Scheduled, Status::Active)
                    | (Status::Active, Status::Completed)
                    | (Status::Scheduled, Status::Canceled)
            );
        if !allowed {
            errs.add(
                "status",
                "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
                "Allowed: SCHEDULED to ACTIVE or CANCELED, ACTIVE to COMPLETED.",
            );
        }
        errs.into_result()?;
        let probe = ScheduledEventRow {
            creator_id: old.creator_id,
            ..row.clone()
        };
        if row.channel_id != old.channel_id || row.entity_type != old.entity_type {
            let perms = self.event_perms(&ga, row.channel_id).await?;
            Self::may_manage(&ga, actor, &probe, perms)?;
        }
        row.id = old.id;
        row.creator_id = old.creator_id;
        // Set by a stage instance only ([`super::stage_instances`]).
        row.entity_id = old.entity_id;
        // The cover last (its bytes before the row names them), once for all rounds.
        row.image = self.cover_for(&old, body.image.clone(), cover).await?;
        row.status = status.db();
        // Ending an occurrence of a recurring event moves it to the next one.
        if status == Status::Completed
            && let Some((start, end)) = next_of(&row, now_ms())
        {
            row.status = Status::Scheduled.db();
            row.start_at = start;
            row.end_at = end;
        }
        // The status job's empty-channel clock: kept as stored while the status stays
        // (the update does not write it then), cleared by a transition.
        row.empty_since = None;
        let wn = event_wire(&row);
        let changes = Self::event_changes(Some(&wo), Some(&wn));
        let audit = (!changes.is_empty()).then(|| {
            self.audit_row(
                ga.guild.id,
                actor,
                Some(row.id),
                A::GUILD_SCHEDULED_EVENT_UPDATE,
                json!(changes),
                None,
                reason,
            )
        });
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        // Unchanged since the checks (the job's empty-channel clock aside)?
        let now = ch.scheduled_event(ga.guild.id, old.id).await?;
        let same = now.as_ref().is_some_and(|n| {
            *n == ScheduledEventRow {
                empty_since: n.empty_since,
                ..old.clone()
            }
        });
        if !same {
            return Ok(None);
        }
        // Both channels as they are now: the old one for the right to manage, the new one
        // for the right to host it there.
        Self::may_manage(
            &ga,
            actor,
            &old,
            Self::locked_event_perms(&mut ch, &ga, old.channel_id).await?,
        )?;
        if row.channel_id != old.channel_id || row.entity_type != old.entity_type {
            let perms = Self::locked_event_perms(&mut ch, &ga, row.channel_id).await?;
            Self::may_manage(&ga, actor, &probe, perms)?;
        }
        if !ch.update_scheduled_event(&row, old.status).await? {
            // The status job moved it after the locked read: start over.
            return Ok(None);
        }
        if let Some(a) = &audit {
            ch.audit(a).await?;
        }
        let mut events = vec![];
        if row.channel_id != old.channel_id {
            // Those who could see it in its old channel and not in the new one lose it.
            events.push(Self::scheduled_event_dispatch(
                Event::GuildScheduledEventDelete,
                &old,
            ));
            events.push(Self::scheduled_event_dispatch(
                Event::GuildScheduledEventCreate,
                &row,
            ));
        }
        events.push(Self::scheduled_event_dispatch(
            Event::GuildScheduledEventUpdate,
            &row,
        ));
        self.commit(ch, events).await?;
        Ok(Some((row, old.image)))
    }

    /// `DELETE /guilds/{id}/scheduled-events/{event_id}` (204).
    pub async fn delete_scheduled_event(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
        reason: Option<&str>,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        Self::hosted_here(&ga.guild)?;
        let old = self.visible_event(&ga, event_id).await?;
        let perms = self.event_perms(&ga, old.channel_id).await?;
        Self::may_manage(&ga, actor, &old, perms)?;
        let w = event_wire(&old);
        let audit = self.audit_row(
            ga.guild.id,
            actor,
            Some(old.id),
            A::GUILD_SCHEDULED_EVENT_DELETE,
            json!(Self::event_changes(Some(&w), None)),
            None,
            reason,
        );
        let mut ch = self.db.change(Lock::Guild(ga.guild.id)).await?;
        // As it is now, under the lock: gone (10070), or moved to a channel where the
        // caller may not manage it.
        let now = ch
            .scheduled_event(ga.guild.id, old.id)
            .await?
            .ok_or(Error::Unknown(Unknown::ScheduledEvent))?;
        let perms = Self::locked_event_perms(&mut ch, &ga, now.channel_id).await?;
        Self::may_manage(&ga, actor, &now, perms)?;
        if !ch.delete_scheduled_event(ga.guild.id, old.id).await? {
            return Err(Error::Unknown(Unknown::ScheduledEvent));
        }
        ch.audit(&audit).await?;
        let d = Self::scheduled_event_dispatch(Event::GuildScheduledEventDelete, &now);
        self.commit(ch, vec![d]).await?;
        if let Some(key) = now
            .image
            .as_deref()
            .and_then(|h| ImageKind::EventCover.blob_key(now.id, h))
        {
            self.release_images(vec![key]);
        }
        Ok(())
    }
}
