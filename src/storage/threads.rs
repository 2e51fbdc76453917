//! Threads and thread members (migration 0029; Discord "Topics > Threads"). A thread is a
//! row of `channels` (type 10, 11 or 12) plus a row of `threads`; guild channel lists leave
//! thread types out (`type NOT IN (10, 11, 12)` in their statements).

use std::collections::HashMap;

use super::change::{Tx, on_tx};
use super::guilds::CHANNEL_COLS;
use super::{Change, ChannelRow, Db, MessageRow, on_db};
use crate::error::Result;

/// A thread's metadata (`threads`). Times in ms since the epoch; `auto_archive_duration`
/// in minutes; `kind` is the channel type (10, 11, 12).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreadRow {
    pub channel_id: i64,
    pub guild_id: i64,
    pub parent_id: i64,
    #[sqlx(rename = "type")]
    pub kind: i64,
    pub owner_id: i64,
    pub archived: bool,
    pub auto_archive_duration: i64,
    pub archive_timestamp: i64,
    pub locked: bool,
    pub invitable: bool,
    pub created_at: i64,
    /// The forum tags of a post: a JSON array of snowflake strings (migration 0034).
    pub applied_tags: String,
}

/// One thread member (`thread_members`); `join_timestamp` in ms.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreadMemberRow {
    pub thread_id: i64,
    pub user_id: i64,
    pub join_timestamp: i64,
    pub flags: i64,
}

pub(super) const THREAD_COLS: &str = "channel_id, guild_id, parent_id, type, owner_id, archived, auto_archive_duration, archive_timestamp, locked, invitable, created_at, applied_tags";

/// `1, 2, 3` of integer ids (safe to splice: integers only); `NULL` for none.
fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row of [`Db::unarchived_threads`].
#[derive(sqlx::FromRow)]
struct UnarchivedRow {
    #[sqlx(flatten)]
    t: ThreadRow,
    last_msg: Option<i64>,
}

impl Db {
    /// A thread's metadata; `None` if `id` is not a thread.
    pub async fn thread(&self, id: i64) -> Result<Option<ThreadRow>> {
        let q = format!("SELECT {THREAD_COLS} FROM threads WHERE channel_id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    /// The threads among `ids` (a message's thread has the message's id), in no order.
    pub async fn threads_by_ids(&self, ids: &[i64]) -> Result<Vec<ThreadRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let q = format!(
            "SELECT {THREAD_COLS} FROM threads WHERE channel_id IN ({})",
            id_list(ids)
        );
        Ok(on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?)
    }

    /// The thread member row of `user` in `thread`, if they joined.
    pub async fn thread_member(&self, thread: i64, user: i64) -> Result<Option<ThreadMemberRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT thread_id, user_id, join_timestamp, flags FROM thread_members WHERE thread_id = $1 AND user_id = $2")
            .bind(thread).bind(user).fetch_optional(p).await)?,
        )
    }

    /// Members of `thread` with user id above `after`, by user id, at most `limit`.
    pub async fn thread_members(
        &self,
        thread: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ThreadMemberRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT thread_id, user_id, join_timestamp, flags FROM thread_members WHERE thread_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3")
            .bind(thread).bind(after).bind(limit).fetch_all(p).await)?,
        )
    }

    /// The ids of the threads (active and archived) under `parents` that `user` may read:
    /// public and announcement threads, and private ones `user` joined or whose parent is
    /// among `manage_parents` (MANAGE_THREADS there). One statement over the parents'
    /// index; only ids are read.
    pub async fn readable_thread_ids(
        &self,
        parents: &[i64],
        manage_parents: &[i64],
        user: i64,
    ) -> Result<Vec<i64>> {
        if parents.is_empty() {
            return Ok(vec![]);
        }
        let q = format!(
            "SELECT t.channel_id FROM threads t WHERE t.parent_id IN ({}) AND (t.type <> 12 OR t.parent_id IN ({}) \
             OR EXISTS (SELECT 1 FROM thread_members m WHERE m.thread_id = t.channel_id AND m.user_id = $1)) \
             ORDER BY t.channel_id",
            id_list(parents),
            id_list(manage_parents)
        );
        let rows: Vec<(i64,)> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(user).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The membership rows of `user` in `threads`.
    pub async fn thread_memberships(
        &self,
        user: i64,
        threads: &[i64],
    ) -> Result<Vec<ThreadMemberRow>> {
        if threads.is_empty() {
            return Ok(vec![]);
        }
        let q = format!(
            "SELECT thread_id, user_id, join_timestamp, flags FROM thread_members WHERE user_id = $1 AND thread_id IN ({})",
            id_list(threads)
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(user).fetch_all(p).await)?,
        )
    }

    /// Member and message counts of `threads`: `id -> (members, messages)`; a forum post's
    /// starter message (the one with the thread's id) is not counted, as in Discord.
    pub async fn thread_counts(&self, threads: &[i64]) -> Result<HashMap<i64, (i64, i64)>> {
        if threads.is_empty() {
            return Ok(HashMap::new());
        }
        let list = id_list(threads);
        let q = format!(
            "SELECT c.id, (SELECT COUNT(*) FROM thread_members tm WHERE tm.thread_id = c.id),
                    (SELECT COUNT(*) FROM messages m WHERE m.channel_id = c.id AND m.id <> c.id)
             FROM channels c WHERE c.id IN ({list})"
        );
        let rows: Vec<(i64, i64, i64)> =
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(i, a, b)| (i, (a, b))).collect())
    }

    /// The channel rows of `ids` (threads), in no particular order.
    pub async fn channels_by_id(&self, ids: &[i64]) -> Result<Vec<ChannelRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let q = format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE id IN ({})",
            id_list(ids)
        );
        Ok(on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?)
    }

    /// Every thread of the guild, archived or not, by id.
    pub async fn guild_threads(&self, guild: i64) -> Result<Vec<ThreadRow>> {
        let q =
            format!("SELECT {THREAD_COLS} FROM threads WHERE guild_id = $1 ORDER BY channel_id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild).fetch_all(p).await)?,
        )
    }

    /// The guild's active (not archived) threads, by id.
    pub async fn active_threads(&self, guild: i64) -> Result<Vec<ThreadRow>> {
        let q = format!(
            "SELECT {THREAD_COLS} FROM threads WHERE guild_id = $1 AND archived = FALSE ORDER BY channel_id"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild).fetch_all(p).await)?,
        )
    }

    /// Archived threads of `parent` of the given channel types, newest archive first, archived
    /// before `before` (ms), at most `limit`; with `joined_by`, only threads that user joined.
    pub async fn archived_threads(
        &self,
        parent: i64,
        kinds: &[i64],
        before: i64,
        limit: i64,
        joined_by: Option<i64>,
    ) -> Result<Vec<ThreadRow>> {
        // `$4` is 0 for every thread, else the user who must have joined.
        let q = format!(
            "SELECT {THREAD_COLS} FROM threads WHERE parent_id = $1 AND archived = TRUE AND archive_timestamp < $2 AND type IN ({})
               AND ($4 = 0 OR EXISTS (SELECT 1 FROM thread_members tm WHERE tm.thread_id = threads.channel_id AND tm.user_id = $4))
             ORDER BY archive_timestamp DESC, channel_id DESC LIMIT $3",
            id_list(kinds)
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(parent).bind(before).bind(limit).bind(joined_by.unwrap_or(0)).fetch_all(p).await)?,
        )
    }

    /// Active threads of guilds hosted here with their channel's `last_message_id` (for the
    /// archiver; a replica's threads are archived by their host, which logs it).
    pub async fn unarchived_threads(&self) -> Result<Vec<(ThreadRow, Option<i64>)>> {
        let cols = THREAD_COLS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let q = format!(
            "SELECT {cols}, c.last_message_id AS last_msg FROM threads t JOIN channels c ON c.id = t.channel_id WHERE t.archived = FALSE \
             AND NOT EXISTS (SELECT 1 FROM remote_guilds r WHERE r.guild_id = t.guild_id)"
        );
        let rows: Vec<UnarchivedRow> =
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| (r.t, r.last_msg)).collect())
    }
}

impl Change {
    /// Creates a thread: its channel row, its metadata and its first members. Returns
    /// `false` (and writes nothing) when a channel with its id exists already (a message's
    /// thread).
    pub async fn insert_thread(
        &mut self,
        c: &ChannelRow,
        t: &ThreadRow,
        members: &[ThreadMemberRow],
    ) -> Result<bool> {
        Ok(on_tx!(self, tx => {
            let n = sqlx::query("INSERT INTO channels (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, created_at, flags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING")
                .bind(c.id).bind(c.guild_id).bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position)
                .bind(c.parent_id).bind(c.nsfw).bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.created_at)
                .bind(c.flags)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                false
            } else {
                sqlx::query("INSERT INTO threads (channel_id, guild_id, parent_id, type, owner_id, archived, auto_archive_duration, archive_timestamp, locked, invitable, created_at, applied_tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(t.channel_id).bind(t.guild_id).bind(t.parent_id).bind(t.kind).bind(t.owner_id).bind(t.archived)
                    .bind(t.auto_archive_duration).bind(t.archive_timestamp).bind(t.locked).bind(t.invitable).bind(t.created_at)
                    .bind(&t.applied_tags)
                    .execute(&mut *tx).await?;
                for m in members {
                    sqlx::query("INSERT INTO thread_members (thread_id, user_id, join_timestamp, flags) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                        .bind(m.thread_id).bind(m.user_id).bind(m.join_timestamp).bind(m.flags).execute(&mut *tx).await?;
                }
                true
            }
        }))
    }

    /// Stores a thread's metadata `t` if the stored row (its applied tags included) still
    /// equals `read` (compare-and-set),
    /// and then the `name`, slow mode and channel `flags` given (`None`: unchanged) and
    /// `t.applied_tags`. `false`: the row changed
    /// (or is gone) since `read`; nothing was written.
    pub async fn update_thread(
        &mut self,
        read: &ThreadRow,
        t: &ThreadRow,
        name: Option<&str>,
        rate_limit_per_user: Option<i64>,
        flags: Option<i64>,
    ) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("UPDATE threads SET archived = $1, auto_archive_duration = $2, archive_timestamp = $3, locked = $4, invitable = $5 WHERE channel_id = $6 AND archived = $7 AND auto_archive_duration = $8 AND archive_timestamp = $9 AND locked = $10 AND invitable = $11 AND applied_tags = $12")
            .bind(t.archived).bind(t.auto_archive_duration).bind(t.archive_timestamp).bind(t.locked).bind(t.invitable).bind(t.channel_id)
            .bind(read.archived).bind(read.auto_archive_duration).bind(read.archive_timestamp).bind(read.locked).bind(read.invitable).bind(&read.applied_tags)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Ok(false);
        }
        on_tx!(self, tx => {
            sqlx::query("UPDATE channels SET name = COALESCE($1, name), rate_limit_per_user = COALESCE($2, rate_limit_per_user), flags = COALESCE($4, flags) WHERE id = $3")
                .bind(name).bind(rate_limit_per_user).bind(t.channel_id).bind(flags).execute(&mut *tx).await?;
            sqlx::query("UPDATE threads SET applied_tags = $1 WHERE channel_id = $2")
                .bind(&t.applied_tags).bind(t.channel_id).execute(&mut *tx).await?;
        });
        Ok(true)
    }

    /// Archives thread `id` at `now` (ms) if it is still active and unchanged since the
    /// archiver listed it: its `archive_timestamp` is still `seen_archive_ts` and its
    /// channel's `last_message_id` still `seen_last` (a message or an unarchive in between
    /// keeps it active). Returns whether it was archived.
    pub async fn archive_idle_thread(
        &mut self,
        id: i64,
        now: i64,
        seen_archive_ts: i64,
        seen_last: Option<i64>,
    ) -> Result<bool> {
        Ok(
            on_tx!(self, tx => sqlx::query("UPDATE threads SET archived = TRUE, archive_timestamp = $1 WHERE channel_id = $2 AND archived = FALSE AND archive_timestamp = $3 AND (SELECT last_message_id FROM channels WHERE id = $2) IS NOT DISTINCT FROM $4")
            .bind(now).bind(id).bind(seen_archive_ts).bind(seen_last).execute(&mut *tx).await.map(|r| r.rows_affected()))?
                > 0,
        )
    }

    /// Adds a member; returns whether they were not one already.
    pub async fn add_thread_member(&mut self, m: &ThreadMemberRow) -> Result<bool> {
        Ok(
            on_tx!(self, tx => sqlx::query("INSERT INTO thread_members (thread_id, user_id, join_timestamp, flags) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(m.thread_id).bind(m.user_id).bind(m.join_timestamp).bind(m.flags).execute(&mut *tx).await.map(|r| r.rows_affected()))?
                > 0,
        )
    }

    /// Removes a member; returns whether they were one.
    pub async fn remove_thread_member(&mut self, thread: i64, user: i64) -> Result<bool> {
        Ok(
            on_tx!(self, tx => sqlx::query("DELETE FROM thread_members WHERE thread_id = $1 AND user_id = $2")
            .bind(thread).bind(user).execute(&mut *tx).await.map(|r| r.rows_affected()))?
                > 0,
        )
    }

    /// The thread member rows of `thread` (all of them), seeing this change's writes.
    pub async fn thread_member_ids(&mut self, thread: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = on_tx!(self, tx => sqlx::query_as("SELECT user_id FROM thread_members WHERE thread_id = $1 ORDER BY user_id")
            .bind(thread).fetch_all(&mut *tx).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

impl Change {
    /// Stores a forum post's starter message `m` (its id is the thread's, its channel the
    /// thread) with its attachment rows and the thread's `last_message_id`, inside the
    /// change that creates the thread.
    pub async fn insert_starter_message(&mut self, m: &MessageRow) -> Result<()> {
        on_tx!(self, tx => {
            super::chat::store_message!(tx, m);
        });
        Ok(())
    }

    /// Whether another post of forum `parent` than `except` has the PINNED flag (`flag`).
    pub async fn pinned_post(&mut self, parent: i64, except: i64, flag: i64) -> Result<bool> {
        let r: Option<(i64,)> = on_tx!(self, tx => sqlx::query_as("SELECT id FROM channels WHERE parent_id = $1 AND id <> $2 AND type IN (10, 11, 12) AND (flags & $3) <> 0 LIMIT 1")
            .bind(parent).bind(except).bind(flag).fetch_optional(&mut *tx).await)?;
        Ok(r.is_some())
    }

    /// The posts of forum `parent` that carry tags (`applied_tags` not `[]`), by id.
    pub async fn tagged_posts(&mut self, parent: i64) -> Result<Vec<ThreadRow>> {
        let q = format!(
            "SELECT {THREAD_COLS} FROM threads WHERE parent_id = $1 AND applied_tags <> '[]' ORDER BY channel_id"
        );
        Ok(
            on_tx!(self, tx => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(parent).fetch_all(&mut *tx).await)?,
        )
    }

    /// Sets the tags of post `thread` (a JSON array of snowflake strings).
    pub async fn set_applied_tags(&mut self, thread: i64, tags: &str) -> Result<()> {
        on_tx!(self, tx => sqlx::query("UPDATE threads SET applied_tags = $1 WHERE channel_id = $2")
            .bind(tags).bind(thread).execute(&mut *tx).await.map(|_| ()))?;
        Ok(())
    }
}

impl Change {
    /// Inserts or replaces a replica's thread as its host describes it (spec/federation.md
    /// §6.5): the channel row (name, slow mode, flags, forum settings) and the thread's
    /// metadata; `members` are added (the creator of a thread just created).
    pub async fn upsert_replica_thread(
        &mut self,
        c: &ChannelRow,
        t: &ThreadRow,
        members: &[ThreadMemberRow],
    ) -> Result<()> {
        on_tx!(self, tx => {
            sqlx::query("INSERT INTO channels (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, created_at, flags, forum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, nsfw = excluded.nsfw, rate_limit_per_user = excluded.rate_limit_per_user, flags = excluded.flags")
                .bind(c.id).bind(c.guild_id).bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position)
                .bind(c.parent_id).bind(c.nsfw).bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.created_at)
                .bind(c.flags).bind(&c.forum)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO threads (channel_id, guild_id, parent_id, type, owner_id, archived, auto_archive_duration, archive_timestamp, locked, invitable, created_at, applied_tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (channel_id) DO UPDATE SET archived = excluded.archived, auto_archive_duration = excluded.auto_archive_duration, archive_timestamp = excluded.archive_timestamp, locked = excluded.locked, invitable = excluded.invitable, applied_tags = excluded.applied_tags")
                .bind(t.channel_id).bind(t.guild_id).bind(t.parent_id).bind(t.kind).bind(t.owner_id).bind(t.archived)
                .bind(t.auto_archive_duration).bind(t.archive_timestamp).bind(t.locked).bind(t.invitable).bind(t.created_at)
                .bind(&t.applied_tags)
                .execute(&mut *tx).await?;
        });
        for m in members {
            self.add_thread_member(m).await?;
        }
        Ok(())
    }
}
