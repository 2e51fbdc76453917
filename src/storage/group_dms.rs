//! Group DMs (migration 0037; Discord channel type 3): a `channels` row (type 3, no guild,
//! its `name`), its `group_dms` row (owner, icon) and one `group_dm_recipients` row per
//! recipient. Every membership change runs in one [`Change`] locking the channel row, with
//! its system message (RECIPIENT_ADD, RECIPIENT_REMOVE, CHANNEL_NAME_CHANGE) stored in the
//! same transaction.

use super::change::{Tx, on_tx};
use super::{Change, Db, MessageRow, on_db};
use crate::error::Result;

/// A group DM's owner, icon and recipients (ordered by when they were added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDmRow {
    pub channel_id: i64,
    pub owner_id: i64,
    pub icon: Option<String>,
    pub recipients: Vec<i64>,
}

type Joined = (i64, i64, Option<String>, i64);

/// Folds rows of `(channel, owner, icon, recipient)` ordered by channel into groups.
fn fold(rows: Vec<Joined>) -> Vec<GroupDmRow> {
    let mut out: Vec<GroupDmRow> = vec![];
    for (channel_id, owner_id, icon, user) in rows {
        match out.last_mut() {
            Some(g) if g.channel_id == channel_id => g.recipients.push(user),
            _ => out.push(GroupDmRow {
                channel_id,
                owner_id,
                icon,
                recipients: vec![user],
            }),
        }
    }
    out
}

const JOINED: &str = "SELECT g.channel_id, g.owner_id, g.icon, r.user_id FROM group_dms g \
    JOIN group_dm_recipients r ON r.channel_id = g.channel_id";

impl Db {
    /// A group DM with its recipients; `None` when the channel is not one (or is gone).
    pub async fn group_dm(&self, channel_id: i64) -> Result<Option<GroupDmRow>> {
        let q = format!("{JOINED} WHERE g.channel_id = $1 ORDER BY r.added_at, r.user_id");
        let rows: Vec<Joined> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(channel_id).fetch_all(p).await)?;
        Ok(fold(rows).pop())
    }

    /// Every private channel of `user_id` in ONE statement (READY): the 1:1 DMs as
    /// `(channel, user_low, user_high)` and the group DMs with all their recipients, each by
    /// channel id.
    pub async fn private_channels_of(
        &self,
        user_id: i64,
    ) -> Result<(Vec<(i64, i64, i64)>, Vec<GroupDmRow>)> {
        type Row = (i64, i64, Option<i64>, Option<String>, i64, i64, i64);
        let rows: Vec<Row> = on_db!(self, p => sqlx::query_as(
            "SELECT channel_id, CAST(1 AS BIGINT) AS kind, CAST(NULL AS BIGINT) AS owner_id, CAST(NULL AS TEXT) AS icon, \
                    user_low AS a, user_high AS b, CAST(0 AS BIGINT) AS added_at \
               FROM dm_channels WHERE user_low = $1 OR user_high = $1 \
             UNION ALL \
             SELECT g.channel_id, CAST(3 AS BIGINT), g.owner_id, g.icon, r.user_id, CAST(0 AS BIGINT), r.added_at \
               FROM group_dms g JOIN group_dm_recipients r ON r.channel_id = g.channel_id \
              WHERE g.channel_id IN (SELECT channel_id FROM group_dm_recipients WHERE user_id = $1) \
             ORDER BY 1, 7, 5")
            .bind(user_id).fetch_all(p).await)?;
        let mut dms = vec![];
        let mut groups = vec![];
        for (channel, kind, owner, icon, a, b, _) in rows {
            if kind == 1 {
                dms.push((channel, a, b));
            } else {
                groups.push((channel, owner.unwrap_or(0), icon, a));
            }
        }
        Ok((dms, fold(groups)))
    }

    /// The recipients of any private channel: both users of a DM, every recipient of a
    /// group DM; empty for guild channels and unknown ids.
    pub async fn private_recipients(&self, channel_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = on_db!(self, p => sqlx::query_as(
            "SELECT user_low FROM dm_channels WHERE channel_id = $1 UNION ALL \
             SELECT user_high FROM dm_channels WHERE channel_id = $1 UNION ALL \
             SELECT user_id FROM group_dm_recipients WHERE channel_id = $1")
            .bind(channel_id).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

impl Change {
    /// Creates a group DM: the channel (type 3), its owner and its recipients (`owner`
    /// included in `recipients`).
    pub async fn create_group_dm(
        &mut self,
        channel_id: i64,
        owner: i64,
        name: Option<&str>,
        recipients: &[i64],
        now: i64,
    ) -> Result<()> {
        on_tx!(self, tx => {
            sqlx::query("INSERT INTO channels (id, guild_id, type, name, created_at) VALUES ($1, NULL, 3, $2, $3)")
                .bind(channel_id).bind(name).bind(now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO group_dms (channel_id, owner_id) VALUES ($1, $2)")
                .bind(channel_id).bind(owner).execute(&mut *tx).await?;
            for u in recipients {
                sqlx::query("INSERT INTO group_dm_recipients (channel_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(channel_id).bind(u).bind(now).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The group DM as this change sees it (after the channel lock: its current members).
    pub async fn group_dm(&mut self, channel_id: i64) -> Result<Option<GroupDmRow>> {
        let q = format!("{JOINED} WHERE g.channel_id = $1 ORDER BY r.added_at, r.user_id");
        let rows: Vec<Joined> = on_tx!(self, tx => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(channel_id).fetch_all(&mut *tx).await)?;
        Ok(fold(rows).pop())
    }

    /// Adds a recipient; whether it was added (false: already one).
    pub async fn add_group_recipient(
        &mut self,
        channel_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<bool> {
        Ok(
            on_tx!(self, tx => sqlx::query("INSERT INTO group_dm_recipients (channel_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(channel_id).bind(user_id).bind(now).execute(&mut *tx).await?.rows_affected())
                == 1,
        )
    }

    /// Removes a recipient; whether they were one.
    pub async fn remove_group_recipient(&mut self, channel_id: i64, user_id: i64) -> Result<bool> {
        Ok(
            on_tx!(self, tx => sqlx::query("DELETE FROM group_dm_recipients WHERE channel_id = $1 AND user_id = $2")
            .bind(channel_id).bind(user_id).execute(&mut *tx).await?.rows_affected())
                == 1,
        )
    }

    /// Gives the group DM to `owner`.
    pub async fn set_group_owner(&mut self, channel_id: i64, owner: i64) -> Result<()> {
        on_tx!(self, tx => sqlx::query("UPDATE group_dms SET owner_id = $1 WHERE channel_id = $2")
            .bind(owner).bind(channel_id).execute(&mut *tx).await.map(|_| ()))?;
        Ok(())
    }

    /// Renames the group DM (`None`: no name, clients show the recipients).
    pub async fn set_group_name(&mut self, channel_id: i64, name: Option<&str>) -> Result<()> {
        on_tx!(self, tx => sqlx::query("UPDATE channels SET name = $1 WHERE id = $2 AND type = 3")
            .bind(name).bind(channel_id).execute(&mut *tx).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes the group DM (its last recipient left): channel, messages, recipients.
    pub async fn delete_group_dm(&mut self, channel_id: i64) -> Result<()> {
        on_tx!(self, tx => sqlx::query("DELETE FROM channels WHERE id = $1 AND type = 3")
            .bind(channel_id).execute(&mut *tx).await.map(|_| ()))?;
        Ok(())
    }

    /// Stores a system message of the change (and the channel's `last_message_id`).
    pub async fn insert_system_message(&mut self, m: &MessageRow) -> Result<()> {
        on_tx!(self, tx => {
            super::chat::store_message!(tx, m);
        });
        Ok(())
    }
}
