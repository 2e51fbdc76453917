//! Guild scheduled events (migration 0032; Discord "Resources > Guild Scheduled Event"): one
//! row per event and one per interested user. Reads go through [`Db`]; the writes of a
//! request go through its [`Change`] (which locks the guild's row), so the count of open
//! events checked against the limit, the row and its audit entry commit together. The
//! status job's changes are single conditional updates ([`Db::set_scheduled_event_status`]):
//! a concurrent edit and the job never both apply a transition from the same status, and so
//! is the move of a recurring event to its next occurrence
//! ([`Db::move_scheduled_event_to`]; the rule is the `recurrence_rule` JSON of migration
//! 0044).

use super::change::{Tx, on_tx};
use super::{Change, Db, MemberRow, on_db};
use crate::error::Result;

/// One scheduled event. Times in ms since the Unix epoch; `status` and `entity_type` are
/// Discord's values (`wire::ScheduledEventStatus`, `wire::ScheduledEventEntityType`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduledEventRow {
    pub id: i64,
    pub guild_id: i64,
    pub channel_id: Option<i64>,
    pub creator_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub start_at: i64,
    pub end_at: Option<i64>,
    pub privacy_level: i64,
    pub status: i64,
    pub entity_type: i64,
    pub location: Option<String>,
    /// ACTIVE stage/voice events: since when the job saw the channel empty.
    pub empty_since: Option<i64>,
    /// The cover image's hash (migration 0039), `guild-events/{id}/{hash}` in the blob store.
    pub image: Option<String>,
    /// STAGE_INSTANCE events: the stage instance started for it (migration 0042), written by
    /// [`Change::link_stage_event`] only (an edit keeps it).
    pub entity_id: Option<i64>,
    /// The recurrence rule as JSON (`wire::RecurrenceRule`, migration 0044); `None`: the
    /// event does not recur.
    pub recurrence_rule: Option<String>,
}

/// An ACTIVE stage or voice event with whether anyone is in voice in its channel
/// ([`Db::active_channel_events`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveChannelEvent {
    #[sqlx(flatten)]
    pub row: ScheduledEventRow,
    pub occupied: bool,
}

/// The columns of [`ScheduledEventRow`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "id, guild_id, channel_id, creator_id, name, description, start_at, end_at, \
         privacy_level, status, entity_type, location, empty_since, image, entity_id, recurrence_rule"
    };
}

/// One event of a guild (`$1` guild, `$2` event), read by [`Db::scheduled_event`] and
/// [`Change::scheduled_event`].
const ONE_EVENT_SQL: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM scheduled_events WHERE guild_id = $1 AND id = $2"
);

impl Db {
    /// A guild's open (SCHEDULED or ACTIVE) events, by id: at most `MAX_OPEN_EVENTS` (100).
    /// Finished ones stay readable by id ([`Db::scheduled_event`]) but leave the lists.
    pub async fn scheduled_events(&self, guild_id: i64) -> Result<Vec<ScheduledEventRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM scheduled_events WHERE guild_id = $1 AND status IN (1, 2) ORDER BY id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(guild_id).fetch_all(p).await?))
    }

    /// One event of a guild.
    pub async fn scheduled_event(
        &self,
        guild_id: i64,
        id: i64,
    ) -> Result<Option<ScheduledEventRow>> {
        on_db!(self, p => Ok(sqlx::query_as(ONE_EVENT_SQL).bind(guild_id).bind(id).fetch_optional(p).await?))
    }

    /// `(event id, cover hash)` of a guild's events that have a cover, finished ones
    /// included (their images go when the guild does).
    pub async fn scheduled_event_images(&self, guild_id: i64) -> Result<Vec<(i64, String)>> {
        on_db!(self, p => Ok(sqlx::query_as("SELECT id, image FROM scheduled_events WHERE guild_id = $1 AND image IS NOT NULL ORDER BY id")
            .bind(guild_id).fetch_all(p).await?))
    }

    /// The open (SCHEDULED or ACTIVE) events of every guild `user_id` is a member of
    /// (READY), by guild and id.
    pub async fn scheduled_events_of_guilds_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<ScheduledEventRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM scheduled_events WHERE status IN (1, 2) AND guild_id IN \
             (SELECT guild_id FROM members WHERE user_id = $1) ORDER BY guild_id, id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(user_id).fetch_all(p).await?))
    }

    /// Interested users per event among `ids`: `(event_id, count)`, events without users
    /// left out.
    pub async fn scheduled_event_user_counts(&self, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let q = format!(
            "SELECT event_id, COUNT(*) FROM scheduled_event_users WHERE event_id IN ({list}) GROUP BY event_id"
        );
        on_db!(self, p => Ok(sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).persistent(false).fetch_all(p).await?))
    }

    /// A page of an event's interested user ids, ascending: after `after`, or the last
    /// `limit` before `before` (which wins when both are given).
    pub async fn scheduled_event_user_ids(
        &self,
        event_id: i64,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<i64>> {
        let mut ids: Vec<i64> = if let Some(b) = before {
            on_db!(self, p => sqlx::query_scalar("SELECT user_id FROM scheduled_event_users WHERE event_id = $1 AND user_id < $2 ORDER BY user_id DESC LIMIT $3")
                .bind(event_id).bind(b).bind(limit).fetch_all(p).await)?
        } else {
            on_db!(self, p => sqlx::query_scalar("SELECT user_id FROM scheduled_event_users WHERE event_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3")
                .bind(event_id).bind(after.unwrap_or(0)).bind(limit).fetch_all(p).await)?
        };
        ids.sort_unstable();
        Ok(ids)
    }

    /// The member rows of `user_ids` in a guild (those still members).
    pub async fn members_among(&self, guild_id: i64, user_ids: &[i64]) -> Result<Vec<MemberRow>> {
        if user_ids.is_empty() {
            return Ok(vec![]);
        }
        let list = user_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let q = format!(
            "SELECT * FROM members WHERE guild_id = $1 AND user_id IN ({list}) ORDER BY user_id"
        );
        on_db!(self, p => Ok(sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).persistent(false).bind(guild_id).fetch_all(p).await?))
    }

    /// Events due for an automatic transition at `now` (ms): EXTERNAL events SCHEDULED whose
    /// start passed, EXTERNAL events ACTIVE whose end passed, and other events still
    /// SCHEDULED more than `cancel_after` ms after their start, of guilds hosted here (a
    /// replica's events change with its host's log). At most `limit`, oldest first.
    pub async fn scheduled_events_due(
        &self,
        now: i64,
        cancel_after: i64,
        limit: i64,
    ) -> Result<Vec<ScheduledEventRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM scheduled_events WHERE \
             ((status = 1 AND entity_type = 3 AND start_at <= $1) \
             OR (status = 2 AND entity_type = 3 AND end_at IS NOT NULL AND end_at <= $1) \
             OR (status = 1 AND entity_type <> 3 AND start_at <= $1 - $2)) \
             AND guild_id NOT IN (SELECT guild_id FROM remote_guilds) \
             ORDER BY start_at, id LIMIT $3"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(now).bind(cancel_after).bind(limit).fetch_all(p).await?))
    }

    /// ACTIVE stage and voice events of guilds hosted here, with whether their channel has
    /// anyone in voice.
    pub async fn active_channel_events(&self) -> Result<Vec<ActiveChannelEvent>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            ", EXISTS (SELECT 1 FROM voice_states v \
             WHERE v.channel_id = e.channel_id) AS occupied \
             FROM scheduled_events e WHERE e.status = 2 AND e.entity_type IN (1, 2) \
             AND e.guild_id NOT IN (SELECT guild_id FROM remote_guilds) ORDER BY e.id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).fetch_all(p).await?))
    }

    /// Records since when an ACTIVE event's channel is empty (`None`: it is not).
    pub async fn set_scheduled_event_empty_since(&self, id: i64, at: Option<i64>) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE scheduled_events SET empty_since = $1 WHERE id = $2 AND status = 2")
            .bind(at).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Moves an event from status `from` to `to` in one statement; the row as it now is,
    /// `None` when it was no longer in `from` (or is gone).
    pub async fn set_scheduled_event_status(
        &self,
        id: i64,
        from: i64,
        to: i64,
    ) -> Result<Option<ScheduledEventRow>> {
        let q = concat!(
            "UPDATE scheduled_events SET status = $1, empty_since = NULL WHERE id = $2 AND status = $3 RETURNING ",
            cols!()
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(to).bind(id).bind(from).fetch_optional(p).await?))
    }
}

impl Db {
    /// Moves a recurring event from status `from` to its next occurrence in one statement:
    /// SCHEDULED again, starting at `start_at` and ending at `end_at`; the row as it now is,
    /// `None` when it was no longer in `from` (or is gone).
    pub async fn move_scheduled_event_to(
        &self,
        id: i64,
        from: i64,
        start_at: i64,
        end_at: Option<i64>,
    ) -> Result<Option<ScheduledEventRow>> {
        let q = concat!(
            "UPDATE scheduled_events SET status = 1, start_at = $1, end_at = $2, empty_since = NULL \
             WHERE id = $3 AND status = $4 RETURNING ",
            cols!()
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(start_at).bind(end_at).bind(id).bind(from).fetch_optional(p).await?))
    }
}

impl Change {
    /// The guild's events that are SCHEDULED or ACTIVE (for the limit, in the writing change).
    pub async fn count_open_scheduled_events(&mut self, guild_id: i64) -> Result<i64> {
        let (n,): (i64,) = on_tx!(self, tx => sqlx::query_as("SELECT COUNT(*) FROM scheduled_events WHERE guild_id = $1 AND status IN (1, 2)")
            .bind(guild_id).fetch_one(&mut *tx).await)?;
        Ok(n)
    }

    /// One event of a guild, read in the writing change (under the guild's lock, so no
    /// request changes it until this change ends; the status job's conditional updates
    /// still may, which the update's status guard catches).
    pub async fn scheduled_event(
        &mut self,
        guild_id: i64,
        id: i64,
    ) -> Result<Option<ScheduledEventRow>> {
        Ok(
            on_tx!(self, tx => sqlx::query_as(ONE_EVENT_SQL).bind(guild_id).bind(id).fetch_optional(&mut *tx).await)?,
        )
    }

    /// The events hosted in a channel (before the channel is deleted).
    pub async fn scheduled_events_in_channel(
        &mut self,
        channel_id: i64,
    ) -> Result<Vec<ScheduledEventRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM scheduled_events WHERE channel_id = $1 ORDER BY id"
        );
        Ok(on_tx!(self, tx => sqlx::query_as(q).bind(channel_id).fetch_all(&mut *tx).await)?)
    }

    /// Stores a new event.
    pub async fn insert_scheduled_event(&mut self, r: &ScheduledEventRow) -> Result<()> {
        let q = concat!(
            "INSERT INTO scheduled_events (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        on_tx!(self, tx => sqlx::query(q)
            .bind(r.id).bind(r.guild_id).bind(r.channel_id).bind(r.creator_id).bind(&r.name)
            .bind(&r.description).bind(r.start_at).bind(r.end_at).bind(r.privacy_level)
            .bind(r.status).bind(r.entity_type).bind(&r.location).bind(r.empty_since).bind(&r.image)
            .bind(r.entity_id).bind(&r.recurrence_rule)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores an event's changeable fields if its status is still `status_was`; whether it
    /// did (a concurrent transition or deletion makes it `false`). `empty_since` (the status
    /// job's clock, which the job moves without the guild's lock) is written only with a
    /// change of status; otherwise the stored value stays.
    pub async fn update_scheduled_event(
        &mut self,
        r: &ScheduledEventRow,
        status_was: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("UPDATE scheduled_events SET channel_id = $1, name = $2, description = $3, start_at = $4, end_at = $5, privacy_level = $6, status = $7, entity_type = $8, location = $9, empty_since = CASE WHEN $13 = $7 THEN empty_since ELSE $10 END, image = $14, recurrence_rule = $15 WHERE id = $11 AND guild_id = $12 AND status = $13")
            .bind(r.channel_id).bind(&r.name).bind(&r.description).bind(r.start_at).bind(r.end_at)
            .bind(r.privacy_level).bind(r.status).bind(r.entity_type).bind(&r.location)
            .bind(r.empty_since).bind(r.id).bind(r.guild_id).bind(status_was).bind(&r.image)
            .bind(&r.recurrence_rule)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Links STAGE_INSTANCE event `id` to the stage instance `instance_id` started for it
    /// (its `entity_id`) and starts it (SCHEDULED -> ACTIVE; an ACTIVE event stays so), in one
    /// statement guarded by the status: the event as it now is, `None` when it is finished or
    /// gone (the status job may have moved it since it was read).
    pub async fn link_stage_event(
        &mut self,
        id: i64,
        instance_id: i64,
    ) -> Result<Option<ScheduledEventRow>> {
        let q = concat!(
            "UPDATE scheduled_events SET entity_id = $2, \
             empty_since = CASE WHEN status = 1 THEN NULL ELSE empty_since END, \
             status = 2 WHERE id = $1 AND status IN (1, 2) RETURNING ",
            cols!()
        );
        Ok(
            on_tx!(self, tx => sqlx::query_as(q).bind(id).bind(instance_id).fetch_optional(&mut *tx).await)?,
        )
    }

    /// Completes event `id` if it is ACTIVE (its stage instance ended): the event as it now
    /// is, `None` when it was not ACTIVE (or is gone).
    pub async fn complete_stage_event(&mut self, id: i64) -> Result<Option<ScheduledEventRow>> {
        let q = concat!(
            "UPDATE scheduled_events SET status = 3, empty_since = NULL \
             WHERE id = $1 AND status = 2 RETURNING ",
            cols!()
        );
        Ok(on_tx!(self, tx => sqlx::query_as(q).bind(id).fetch_optional(&mut *tx).await)?)
    }

    /// Deletes an event (its interested users go with it); whether it existed.
    pub async fn delete_scheduled_event(&mut self, guild_id: i64, id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM scheduled_events WHERE id = $1 AND guild_id = $2")
            .bind(id).bind(guild_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}

impl Db {
    /// Inserts or replaces an event of a replica as its host describes it
    /// (spec/federation.md §6.5), in one statement.
    pub async fn upsert_replica_scheduled_event(&self, r: &ScheduledEventRow) -> Result<()> {
        let q = concat!(
            "INSERT INTO scheduled_events (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id, name = excluded.name, \
             description = excluded.description, start_at = excluded.start_at, end_at = excluded.end_at, \
             privacy_level = excluded.privacy_level, status = excluded.status, \
             entity_type = excluded.entity_type, location = excluded.location, image = excluded.image, \
             entity_id = excluded.entity_id, recurrence_rule = excluded.recurrence_rule"
        );
        on_db!(self, p => sqlx::query(q)
            .bind(r.id).bind(r.guild_id).bind(r.channel_id).bind(r.creator_id).bind(&r.name)
            .bind(&r.description).bind(r.start_at).bind(r.end_at).bind(r.privacy_level)
            .bind(r.status).bind(r.entity_type).bind(&r.location).bind(r.empty_since).bind(&r.image)
            .bind(r.entity_id).bind(&r.recurrence_rule)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes an event of a replica (its interested users go with it).
    pub async fn delete_replica_scheduled_event(&self, guild_id: i64, id: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("DELETE FROM scheduled_events WHERE id = $1 AND guild_id = $2")
            .bind(id).bind(guild_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks `user_id` interested in event `event_id` if the event is still SCHEDULED or
    /// ACTIVE, in one statement: `Some(true)` when added, `Some(false)` when already there,
    /// `None` when the event is finished or gone.
    pub async fn add_scheduled_event_user(
        &self,
        event_id: i64,
        user_id: i64,
    ) -> Result<Option<bool>> {
        let n = on_db!(self, p => sqlx::query("INSERT INTO scheduled_event_users (event_id, user_id) SELECT id, $2 FROM scheduled_events WHERE id = $1 AND status IN (1, 2) ON CONFLICT DO NOTHING")
            .bind(event_id).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
        if n > 0 {
            return Ok(Some(true));
        }
        let there: Option<i64> = on_db!(self, p => sqlx::query_scalar("SELECT user_id FROM scheduled_event_users WHERE event_id = $1 AND user_id = $2")
            .bind(event_id).bind(user_id).fetch_optional(p).await)?;
        Ok(there.map(|_| false))
    }

    /// Removes `user_id`'s interest; whether it was there.
    pub async fn remove_scheduled_event_user(&self, event_id: i64, user_id: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("DELETE FROM scheduled_event_users WHERE event_id = $1 AND user_id = $2")
            .bind(event_id).bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
