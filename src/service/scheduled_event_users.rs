//! Guild scheduled events, continued ([`super::scheduled_events`] has the events themselves):
//! interested users, the status automation, and the events' parts of GUILD_CREATE and
//! channel deletion.
//!
//! - **Interest**: `PUT`/`DELETE /guilds/{id}/scheduled-events/{event_id}/users/@me` (the
//!   routes Discord's own client uses; Hearth's, not in Discord's public reference): any
//!   member who can see the event (404 10070 otherwise); 204, idempotent. Only SCHEDULED or
//!   ACTIVE events take new interest (400 180000 otherwise). Each change is announced with
//!   GUILD_SCHEDULED_EVENT_USER_ADD/_REMOVE (`{guild_scheduled_event_id, user_id,
//!   guild_id}`, intent GUILD_SCHEDULED_EVENTS) to those who can see the event. A member who
//!   leaves the guild stays counted until they remove their interest or their account goes.
//! - **Users**: `GET .../users` (`limit` 1-[`MAX_USERS_PAGE`], default 100; `before` or
//!   `after` a user id, `before` winning; ascending by user id; `with_member`).
//! - **Status automation** (Discord "Guild Scheduled Event Status Update Automation"), run
//!   every [`STATUS_JOB_PERIOD`] by the composition root (job `scheduled_events`): an
//!   EXTERNAL event becomes ACTIVE at its start and COMPLETED at its end; any event still
//!   SCHEDULED [`CANCEL_UNSTARTED_AFTER_MS`] after its start becomes CANCELED; an ACTIVE
//!   stage or voice event whose channel the job has seen without anyone in voice for
//!   [`END_EMPTY_AFTER_MS`] becomes COMPLETED. A recurring event goes back to SCHEDULED at
//!   its next occurrence instead of becoming COMPLETED or CANCELED, while its rule has one
//!   left ([`super::scheduled_events::recurrence`]). Each move is one conditional update and
//!   is announced with GUILD_SCHEDULED_EVENT_UPDATE; no audit entry (no one acted).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::ports::{RelayAction, RelayOp};
use super::scheduled_events::event_wire;
use super::{Actor, GuildAccess, Hearth, to_value};
use crate::error::{Error, Result, Rule, field_error};
use crate::events::{Dispatch, Event, intents};
use crate::snowflake::Snowflake;
use crate::storage::{Change, ScheduledEventRow, now_ms};
use crate::wire::{self, ScheduledEventEntityType as Kind, ScheduledEventStatus as Status};

/// Largest page of `GET .../users` (and its default).
pub const MAX_USERS_PAGE: i64 = 100;
/// How often the status job runs.
pub const STATUS_JOB_PERIOD: Duration = Duration::from_secs(60);
/// How long after its start an event that was never started is canceled (Discord: "on the
/// order of hours"), ms: 3 hours.
pub const CANCEL_UNSTARTED_AFTER_MS: i64 = 3 * 3600 * 1000;
/// How long an ACTIVE stage or voice event's channel stays empty before the event is
/// completed (Discord: "on the order of minutes"), ms: 5 minutes.
pub const END_EMPTY_AFTER_MS: i64 = 5 * 60 * 1000;
/// Events moved per query of a pass (the next pass takes the rest).
const DUE_BATCH: i64 = 500;

impl Hearth {
    /// A GUILD_SCHEDULED_EVENT_USER_ADD/_REMOVE of `user_id` on event `r`.
    fn interest_dispatch(event: Event, r: &ScheduledEventRow, user_id: i64) -> Dispatch {
        Self::event_of(
            event,
            Self::scheduled_event_audience(r),
            intents::GUILD_SCHEDULED_EVENTS,
            to_value(&wire::ScheduledEventUserChange {
                guild_scheduled_event_id: Snowflake::from_db(r.id),
                user_id: Snowflake::from_db(user_id),
                guild_id: Snowflake::from_db(r.guild_id),
            }),
        )
    }

    /// In a guild hosted on another server, relays the caller's interest (or its end) in
    /// `event_id` to the host, which answers for it (spec/federation.md §8.6); `false` in a
    /// guild hosted here.
    async fn relay_interest(
        &self,
        actor: &Actor,
        ga: &GuildAccess,
        event_id: Snowflake,
        add: bool,
    ) -> Result<bool> {
        let Some(rg) = self.relay_target(&ga.guild).await? else {
            return Ok(false);
        };
        let op = if add {
            RelayOp::EventInterestAdd
        } else {
            RelayOp::EventInterestRemove
        };
        let body = serde_json::json!({ "event_id": event_id });
        self.host
            .relay(self, actor, &rg, RelayAction::new(op).body(body))
            .await?;
        Ok(true)
    }

    /// `PUT /guilds/{id}/scheduled-events/{event_id}/users/@me` (204): the caller is
    /// interested.
    pub async fn add_scheduled_event_interest(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let r = self.visible_event(&ga, event_id).await?;
        if self.relay_interest(actor, &ga, event_id, true).await? {
            return Ok(());
        }
        match self
            .db
            .add_scheduled_event_user(r.id, actor.user.id)
            .await?
        {
            None => Err(Error::Rule(Rule::EventFinished)),
            Some(false) => Ok(()),
            Some(true) => {
                self.publish(Self::interest_dispatch(
                    Event::GuildScheduledEventUserAdd,
                    &r,
                    actor.user.id,
                ));
                Ok(())
            }
        }
    }

    /// `DELETE /guilds/{id}/scheduled-events/{event_id}/users/@me` (204): the caller is no
    /// longer interested.
    pub async fn remove_scheduled_event_interest(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
    ) -> Result<()> {
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let r = self.visible_event(&ga, event_id).await?;
        if self.relay_interest(actor, &ga, event_id, false).await? {
            return Ok(());
        }
        if self
            .db
            .remove_scheduled_event_user(r.id, actor.user.id)
            .await?
        {
            self.publish(Self::interest_dispatch(
                Event::GuildScheduledEventUserRemove,
                &r,
                actor.user.id,
            ));
        }
        Ok(())
    }

    /// `GET /guilds/{id}/scheduled-events/{event_id}/users`: a page of interested users
    /// (module docs). Errors: 50035 on `limit` outside 1-100.
    pub async fn scheduled_event_users(
        &self,
        actor: &Actor,
        guild_id: Snowflake,
        event_id: Snowflake,
        page: UsersPage,
    ) -> Result<Vec<wire::GuildScheduledEventUser>> {
        let limit = page.limit.unwrap_or(MAX_USERS_PAGE);
        if !(1..=MAX_USERS_PAGE).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                format!("Must be between 1 and {MAX_USERS_PAGE}."),
            ));
        }
        let ga = self.guild_access(guild_id, actor.user.id).await?;
        let r = self.visible_event(&ga, event_id).await?;
        let ids = self
            .db
            .scheduled_event_user_ids(
                r.id,
                page.before.map(Snowflake::db),
                page.after.map(Snowflake::db),
                limit,
            )
            .await?;
        let users = self.db.users_by_id(&ids).await?;
        let mut members: HashMap<i64, wire::Member> = HashMap::new();
        if page.with_member {
            let rows = self.db.members_among(r.guild_id, &ids).await?;
            for (row, m) in rows
                .iter()
                .zip(self.members_wire(r.guild_id, &rows, false).await?)
            {
                members.insert(row.user_id, m);
            }
        }
        Ok(ids
            .iter()
            .filter_map(|id| {
                users.get(id).map(|u| wire::GuildScheduledEventUser {
                    guild_scheduled_event_id: Snowflake::from_db(r.id),
                    user: self.user_wire(u, false),
                    member: members.remove(id),
                })
            })
            .collect())
    }

    /// The guild's events as GUILD_CREATE lists them (without `creator` and `user_count`);
    /// the gateway keeps those whose channel the session can see.
    pub async fn guild_create_scheduled_events(
        &self,
        guild_id: i64,
    ) -> Result<Vec<wire::GuildScheduledEvent>> {
        let rows = self.db.scheduled_events(guild_id).await?;
        Ok(rows.iter().map(event_wire).collect())
    }

    /// The events of every guild of `user_id`, by guild (READY's GUILD_CREATEs; one call).
    pub async fn ready_scheduled_events(
        &self,
        user_id: i64,
    ) -> Result<HashMap<i64, Vec<wire::GuildScheduledEvent>>> {
        let mut out: HashMap<i64, Vec<wire::GuildScheduledEvent>> = HashMap::new();
        for r in self.db.scheduled_events_of_guilds_of(user_id).await? {
            out.entry(r.guild_id).or_default().push(event_wire(&r));
        }
        Ok(out)
    }

    /// The GUILD_SCHEDULED_EVENT_DELETEs of the events of a channel about to be deleted in
    /// `ch` (the rows go with the channel's), to publish before its CHANNEL_DELETE, and the
    /// blob keys of their covers, to release once the change is committed.
    pub(crate) async fn channel_events_gone(
        &self,
        ch: &mut Change,
        channel_id: i64,
    ) -> Result<(Vec<Dispatch>, Vec<crate::service::ports::BlobKey>)> {
        let rows = ch.scheduled_events_in_channel(channel_id).await?;
        let covers = rows
            .iter()
            .filter_map(|r| {
                r.image
                    .as_deref()
                    .and_then(|h| super::images::ImageKind::EventCover.blob_key(r.id, h))
            })
            .collect();
        let gone = rows
            .iter()
            .map(|r| Self::scheduled_event_dispatch(Event::GuildScheduledEventDelete, r))
            .collect();
        Ok((gone, covers))
    }

    /// Moves event `r` from `from` to `to` if it is still in `from`, announcing it.
    async fn auto_move(&self, r: &ScheduledEventRow, from: Status, to: Status) -> Result<bool> {
        match self
            .db
            .set_scheduled_event_status(r.id, from.db(), to.db())
            .await?
        {
            Some(moved) => {
                self.publish(Self::scheduled_event_dispatch(
                    Event::GuildScheduledEventUpdate,
                    &moved,
                ));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// One pass of the status automation at `now` (ms; module docs): the number of events
    /// moved.
    pub async fn scheduled_event_pass(&self, now: i64) -> Result<usize> {
        let mut moved = 0;
        for r in self
            .db
            .scheduled_events_due(now, CANCEL_UNSTARTED_AFTER_MS, DUE_BATCH)
            .await?
        {
            let kind = Kind::from_db(r.entity_type);
            match (kind, Status::from_db(r.status)) {
                (Kind::External, Status::Scheduled) => {
                    // Not a guard: a refused start must not fall through to the cancel arm.
                    let started = self
                        .auto_move(&r, Status::Scheduled, Status::Active)
                        .await?;
                    if started {
                        moved += 1;
                        if r.end_at.is_some_and(|e| e <= now)
                            && self
                                .end_occurrence(&r, Status::Active, Status::Completed, now)
                                .await?
                        {
                            moved += 1;
                        }
                    }
                }
                (Kind::External, Status::Active) => {
                    moved += usize::from(
                        self.end_occurrence(&r, Status::Active, Status::Completed, now)
                            .await?,
                    );
                }
                (_, Status::Scheduled) => {
                    moved += usize::from(
                        self.end_occurrence(&r, Status::Scheduled, Status::Canceled, now)
                            .await?,
                    );
                }
                _ => {}
            }
        }
        for a in self.db.active_channel_events().await? {
            let r = &a.row;
            match (a.occupied, r.empty_since) {
                (true, Some(_)) => self.db.set_scheduled_event_empty_since(r.id, None).await?,
                (false, None) => {
                    self.db
                        .set_scheduled_event_empty_since(r.id, Some(now))
                        .await?
                }
                (false, Some(t)) if now - t >= END_EMPTY_AFTER_MS => {
                    moved += usize::from(
                        self.end_occurrence(r, Status::Active, Status::Completed, now)
                            .await?,
                    );
                }
                _ => {}
            }
        }
        Ok(moved)
    }

    /// The status job (spawned by the composition root, job `scheduled_events`): a pass
    /// every [`STATUS_JOB_PERIOD`]; a failure is logged and retried at the next one.
    pub async fn run_scheduled_event_status(self: Arc<Self>) {
        let mut tick = tokio::time::interval(STATUS_JOB_PERIOD);
        loop {
            tick.tick().await;
            let r = self.scheduled_event_pass(now_ms()).await;
            if let Err(e) = &r {
                tracing::warn!(error = %e, "scheduled event status pass failed");
            }
            self.jobs.record("scheduled_events", r.is_ok());
        }
    }
}

/// The query of `GET .../users`.
#[derive(Debug, Clone, Default)]
pub struct UsersPage {
    pub limit: Option<i64>,
    pub before: Option<Snowflake>,
    pub after: Option<Snowflake>,
    pub with_member: bool,
}
