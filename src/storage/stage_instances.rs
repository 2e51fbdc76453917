//! Stage instances (migration 0042; Discord "Resources > Stage Instance"): at most one row
//! per stage channel (`channel_id` UNIQUE). Reads go through [`Db`]; every write goes through
//! a [`Change`] that locks the guild's row, so the one-per-channel check, the row, the linked
//! scheduled event's status and the audit entry commit together. Ending an emptied stage
//! counts the channel's voice states in the same change, after locking the channel's row on
//! PostgreSQL (as a voice join does, `Db::voice_join`), so a join cannot slip between the
//! count and the delete; SQLite's `BEGIN IMMEDIATE` already serializes them.

use super::change::{Tx, on_tx};
use super::{Change, Db, on_db};
use crate::error::Result;

/// One stage instance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StageInstanceRow {
    pub id: i64,
    pub guild_id: i64,
    pub channel_id: i64,
    pub topic: String,
    /// 2 (GUILD_ONLY).
    pub privacy_level: i64,
    /// The scheduled event it was started for (`NULL` once that event is deleted).
    pub scheduled_event_id: Option<i64>,
}

/// The columns of [`StageInstanceRow`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "id, guild_id, channel_id, topic, privacy_level, scheduled_event_id"
    };
}

/// The instance of a channel (`$1`), read by [`Db::stage_instance`] and
/// [`Change::stage_instance`].
const BY_CHANNEL_SQL: &str = concat!(
    "SELECT ",
    cols!(),
    " FROM stage_instances WHERE channel_id = $1"
);

impl Db {
    /// The stage instance of channel `channel_id`, if it is live.
    pub async fn stage_instance(&self, channel_id: i64) -> Result<Option<StageInstanceRow>> {
        on_db!(self, p => Ok(sqlx::query_as(BY_CHANNEL_SQL).bind(channel_id).fetch_optional(p).await?))
    }

    /// A guild's stage instances, by id (GUILD_CREATE).
    pub async fn stage_instances(&self, guild_id: i64) -> Result<Vec<StageInstanceRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM stage_instances WHERE guild_id = $1 ORDER BY id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(guild_id).fetch_all(p).await?))
    }

    /// The stage instances of every guild `user_id` is a member of (READY), by guild and id,
    /// in one statement.
    pub async fn stage_instances_of_guilds_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<StageInstanceRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM stage_instances WHERE guild_id IN \
             (SELECT guild_id FROM members WHERE user_id = $1) ORDER BY guild_id, id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(user_id).fetch_all(p).await?))
    }
}

impl Change {
    /// The stage instance of channel `channel_id`, read in the writing change.
    pub async fn stage_instance(&mut self, channel_id: i64) -> Result<Option<StageInstanceRow>> {
        Ok(
            on_tx!(self, tx => sqlx::query_as(BY_CHANNEL_SQL).bind(channel_id).fetch_optional(&mut *tx).await)?,
        )
    }

    /// Stores a new stage instance (the caller checked that its channel has none).
    pub async fn insert_stage_instance(&mut self, r: &StageInstanceRow) -> Result<()> {
        let q = concat!(
            "INSERT INTO stage_instances (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        );
        on_tx!(self, tx => sqlx::query(q)
            .bind(r.id).bind(r.guild_id).bind(r.channel_id).bind(&r.topic)
            .bind(r.privacy_level).bind(r.scheduled_event_id)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores an instance's topic and privacy level; whether it still existed.
    pub async fn update_stage_instance(&mut self, r: &StageInstanceRow) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("UPDATE stage_instances SET topic = $1, privacy_level = $2 WHERE id = $3")
            .bind(&r.topic).bind(r.privacy_level).bind(r.id)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes stage instance `id`; whether it existed.
    pub async fn delete_stage_instance(&mut self, id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM stage_instances WHERE id = $1")
            .bind(id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// The users in voice in channel `channel_id`, counted after locking the channel's row on
    /// PostgreSQL (the lock a voice join takes first), so that no join commits between this
    /// count and the end of the change.
    pub async fn voice_users_locked(&mut self, channel_id: i64) -> Result<i64> {
        if self.is_postgres() {
            on_tx!(self, tx => sqlx::query("SELECT id FROM channels WHERE id = $1 FOR NO KEY UPDATE")
                .bind(channel_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        }
        let (n,): (i64,) = on_tx!(self, tx => sqlx::query_as("SELECT COUNT(*) FROM voice_states WHERE channel_id = $1")
            .bind(channel_id).fetch_one(&mut *tx).await)?;
        Ok(n)
    }
}
