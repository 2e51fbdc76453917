//! [`Change`]: the ONE write transaction of a service call that changes a guild's structure,
//! membership, moderation state, pins or reactions: the rows, the audit entry recording them
//! (Discord "Audit Log") and the federation log entries describing them (the outbox,
//! spec/federation.md §8) commit together or not at all.
//!
//! The rule (ARCHITECTURE.md, "Invariants"): a reader on another connection sees all of a
//! change or none of it, a crash leaves all or none, and an audit entry or a log entry never
//! exists without its change (nor the change without them). How each backend keeps the
//! count-then-write limits atomic is described in [`super::atomic`]: `BEGIN IMMEDIATE` on
//! SQLite, a `FOR NO KEY UPDATE` lock on the row named by [`Lock`] on PostgreSQL.
//!
//! Reads through a `Change` see its own writes, so an event built from them (a channel with
//! its new overwrites, a member with the new role set) describes exactly what commits.
//!
//! A `Change` dropped without [`Change::commit`] rolls back (an early `return Err(..)`).
//!
//! Rule for callers: while a `Change` is open, use only it. Read what else is needed before
//! opening it, and commit, roll back or drop it before reading more through [`Db`]: on SQLite
//! the open change holds the only write lock, other writers wait for it on their pooled
//! connections, and a holder that waits for a free connection itself would stall them all
//! until their busy timeout.

use sqlx::{Postgres, Sqlite, Transaction};

use super::atomic::{JoinOutcome, lock_row, write_tx};
use super::{
    AuditRow, BanRow, ChannelRow, Db, GuildRow, InviteRow, MemberRow, OutboxItem, OverwriteRow,
    RoleRow, on_db, outbox::push_outbox,
};
use crate::error::Result;

pub(super) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl From<Transaction<'static, Sqlite>> for Tx {
    fn from(t: Transaction<'static, Sqlite>) -> Tx {
        Tx::Sqlite(t)
    }
}

impl From<Transaction<'static, Postgres>> for Tx {
    fn from(t: Transaction<'static, Postgres>) -> Tx {
        Tx::Postgres(t)
    }
}

/// Runs `$body` with `$t` bound to the open transaction's connection (`&mut` of the
/// backend's connection type), the same code expanded for each backend (like `on_db!`).
macro_rules! on_tx {
    ($c:expr, $t:ident => $body:expr) => {{
        ::hearth_db::count_call();
        match $c.tx.as_mut() {
            Some(Tx::Sqlite(tx)) => {
                let $t = &mut **tx;
                $body
            }
            Some(Tx::Postgres(tx)) => {
                let $t = &mut **tx;
                $body
            }
            None => unreachable!("a Change is only taken apart by commit or drop"),
        }
    }};
}
pub(super) use on_tx;

/// The row a [`Change`] locks before anything else, on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already serializes every writer). Lock order: guild, then user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// No row: changes whose statements lock what they touch.
    Nothing,
    /// The guild row: every change to a guild's channels, roles, members, bans, invites
    /// runs one after the other, so counts (limits) and positions read inside stay true.
    Guild(i64),
    /// A channel row (DM pins).
    Channel(i64),
}

/// An open write transaction (see the module docs).
pub struct Change {
    /// `None` only while [`Change::commit`] or the drop takes it.
    pub(super) tx: Option<Tx>,
}

/// A change dropped without its commit (an early error) rolls back at once: its ROLLBACK is
/// sent from a task, because sqlx would only send it when the pooled connection is used
/// again, and until then SQLite's write lock (`BEGIN IMMEDIATE`) or PostgreSQL's row lock
/// would stay taken.
impl Drop for Change {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let r = match tx {
                    Tx::Sqlite(t) => t.rollback().await,
                    Tx::Postgres(t) => t.rollback().await,
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, "rollback of an abandoned change failed");
                }
            });
        }
    }
}

/// The stored overwrite rule: one row per `(channel, target)`, the last one given wins.
macro_rules! upsert_overwrite_q {
    ($o:expr) => {
        sqlx::query("INSERT INTO overwrites (channel_id, target_id, kind, allow_bits, deny_bits) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (channel_id, target_id) DO UPDATE SET kind = excluded.kind, allow_bits = excluded.allow_bits, deny_bits = excluded.deny_bits")
            .bind($o.channel_id).bind($o.target_id).bind($o.kind).bind($o.allow_bits).bind($o.deny_bits)
    };
}

impl Db {
    /// Opens a [`Change`], first locking `lock`'s row on PostgreSQL.
    pub async fn change(&self, lock: Lock) -> Result<Change> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            match lock {
                Lock::Nothing => {}
                Lock::Guild(id) => lock_row!(self, tx, guilds, id),
                Lock::Channel(id) => {
                    if self.is_postgres() {
                        sqlx::query("SELECT id FROM channels WHERE id = $1 FOR NO KEY UPDATE")
                            .bind(id).execute(&mut *tx).await?;
                    }
                }
            }
            Change { tx: Some(tx.into()) }
        }))
    }
}

/// Inserts one audit log entry ([`AuditRow`]'s fields in order).
pub(super) const INSERT_AUDIT_SQL: &str = "INSERT INTO audit_log (id, guild_id, user_id, target_id, action_type, changes, options, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Writes the audit entry `$a` ([`AuditRow`]) through `$tx`, a transaction of either backend
/// ([`Change::audit`], and writes that keep their own transaction).
macro_rules! insert_audit {
    ($tx:expr, $a:expr) => {{
        let a: &$crate::storage::AuditRow = $a;
        sqlx::query(super::change::INSERT_AUDIT_SQL)
            .bind(a.id)
            .bind(a.guild_id)
            .bind(a.user_id)
            .bind(a.target_id)
            .bind(a.action_type)
            .bind(&a.changes)
            .bind(&a.options)
            .bind(&a.reason)
            .execute($tx)
            .await
            .map(|_| ())
    }};
}
pub(super) use insert_audit;

/// Drops a former member's interest in the guild's scheduled events (`$1` guild, `$2` user):
/// a member who leaves, is kicked or banned no longer counts in `user_count` or the event's
/// user list (no USER_REMOVE is sent: the user no longer sees the guild).
const FORGET_EVENT_INTEREST_SQL: &str = "DELETE FROM scheduled_event_users WHERE user_id = $2 AND event_id IN (SELECT id FROM scheduled_events WHERE guild_id = $1)";

impl Change {
    /// Commits everything written through this change.
    pub async fn commit(mut self) -> Result<()> {
        match self.tx.take() {
            Some(Tx::Sqlite(t)) => t.commit().await?,
            Some(Tx::Postgres(t)) => t.commit().await?,
            None => {}
        }
        Ok(())
    }

    /// Ends the change without writing anything (what a drop also does, but awaited).
    pub async fn rollback(mut self) -> Result<()> {
        match self.tx.take() {
            Some(Tx::Sqlite(t)) => t.rollback().await?,
            Some(Tx::Postgres(t)) => t.rollback().await?,
            None => {}
        }
        Ok(())
    }

    pub(super) fn is_postgres(&self) -> bool {
        matches!(self.tx, Some(Tx::Postgres(_)))
    }

    // ---- audit and federation log ---------------------------------------------------

    /// Writes an audit log entry (Discord "Audit Log Events").
    pub async fn audit(&mut self, a: &AuditRow) -> Result<()> {
        on_tx!(self, tx => insert_audit!(&mut *tx, a))?;
        Ok(())
    }

    /// Writes the federation log entries of `items` whose guild is federated to the outbox,
    /// in slice order; returns those guilds' ids (their dispatches are `logged`).
    pub async fn log(&mut self, items: &[OutboxItem<'_>]) -> Result<Vec<i64>> {
        if items.is_empty() {
            return Ok(vec![]);
        }
        Ok(on_tx!(self, tx => push_outbox!(tx, items)))
    }

    // ---- reads (seeing this change's writes) ----------------------------------------

    /// A channel with its overwrites (ordered by target), `None` if it does not exist.
    pub async fn channel_with_overwrites(
        &mut self,
        id: i64,
    ) -> Result<Option<(ChannelRow, Vec<OverwriteRow>)>> {
        let q = super::guilds::channel_with_overwrites_sql();
        let rows = on_tx!(self, tx => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_all(&mut *tx).await)?;
        Ok(super::guilds::channel_with_overwrites_of(rows))
    }

    /// A guild's channels (ordered by position, id) and all their overwrites (ordered by
    /// channel, target).
    pub async fn channels_with_overwrites(
        &mut self,
        guild_id: i64,
    ) -> Result<(Vec<ChannelRow>, Vec<OverwriteRow>)> {
        let cq = format!(
            "SELECT {} FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12) ORDER BY position, id",
            super::guilds::CHANNEL_COLS
        );
        Ok(on_tx!(self, tx => {
            let channels = sqlx::query_as(sqlx::AssertSqlSafe(cq.as_str())).bind(guild_id).fetch_all(&mut *tx).await?;
            let ows = sqlx::query_as("SELECT o.* FROM overwrites o JOIN channels c ON c.id = o.channel_id WHERE c.guild_id = $1 ORDER BY o.channel_id, o.target_id")
                .bind(guild_id).fetch_all(&mut *tx).await?;
            (channels, ows)
        }))
    }

    /// A guild's roles, ordered by position then id.
    pub async fn roles(&mut self, guild_id: i64) -> Result<Vec<RoleRow>> {
        Ok(
            on_tx!(self, tx => sqlx::query_as("SELECT * FROM roles WHERE guild_id = $1 ORDER BY position, id")
                .bind(guild_id).fetch_all(&mut *tx).await)?,
        )
    }

    /// A member row and the member's role ids (ascending); `None` if not a member.
    pub async fn member(
        &mut self,
        guild_id: i64,
        user_id: i64,
    ) -> Result<Option<(MemberRow, Vec<i64>)>> {
        Ok(on_tx!(self, tx => {
            let m: Option<MemberRow> = sqlx::query_as("SELECT * FROM members WHERE guild_id = $1 AND user_id = $2")
                .bind(guild_id).bind(user_id).fetch_optional(&mut *tx).await?;
            match m {
                None => None,
                Some(m) => {
                    let r: Vec<(i64,)> = sqlx::query_as("SELECT role_id FROM member_roles WHERE guild_id = $1 AND user_id = $2 ORDER BY role_id")
                        .bind(guild_id).bind(user_id).fetch_all(&mut *tx).await?;
                    Some((m, r.into_iter().map(|x| x.0).collect()))
                }
            }
        }))
    }

    // ---- guilds ---------------------------------------------------------------------

    /// Guild `id` as this change sees it (after the lock).
    pub async fn guild(&mut self, id: i64) -> Result<Option<GuildRow>> {
        Ok(
            on_tx!(self, tx => sqlx::query_as("SELECT * FROM guilds WHERE id = $1")
            .bind(id).fetch_optional(&mut *tx).await?),
        )
    }

    /// Updates a guild's settings, its discovery flag and tags. An ownership transfer
    /// (`g.owner_id` differing from the stored owner) only applies while the new owner is a
    /// member: `Ok(false)` and nothing written otherwise.
    pub async fn update_guild(
        &mut self,
        g: &GuildRow,
        discoverable: Option<bool>,
        tags: Option<&str>,
    ) -> Result<bool> {
        Ok(on_tx!(self, tx => {
            let n = sqlx::query("UPDATE guilds SET name = $1, icon = $2, description = $3, owner_id = $4, system_channel_id = $5, verification_level = $6, default_message_notifications = $7, explicit_content_filter = $8, preferred_locale = $9, banner = $11, splash = $12
                 WHERE id = $10 AND (owner_id = $4 OR EXISTS (SELECT 1 FROM members WHERE guild_id = $10 AND user_id = $4))")
                .bind(&g.name).bind(&g.icon).bind(&g.description).bind(g.owner_id).bind(g.system_channel_id)
                .bind(g.verification_level).bind(g.default_message_notifications).bind(g.explicit_content_filter)
                .bind(&g.preferred_locale).bind(g.id).bind(&g.banner).bind(&g.splash).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                if let Some(d) = discoverable {
                    sqlx::query("UPDATE guilds SET discoverable = $1 WHERE id = $2").bind(d).bind(g.id).execute(&mut *tx).await?;
                }
                if let Some(t) = tags {
                    sqlx::query("UPDATE guilds SET discovery_tags = $1 WHERE id = $2").bind(t).bind(g.id).execute(&mut *tx).await?;
                }
            }
            n > 0
        }))
    }

    /// Deletes a guild with everything in it (its messages first, the rest cascades);
    /// whether it existed.
    pub async fn delete_guild(&mut self, id: i64) -> Result<bool> {
        Ok(on_tx!(self, tx => {
            sqlx::query("DELETE FROM messages WHERE guild_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM guilds WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected() > 0
        }))
    }

    /// Sets a guild's `mfa_level` (0 none, 1 elevated).
    pub async fn set_guild_mfa_level(&mut self, guild_id: i64, level: i64) -> Result<()> {
        on_tx!(self, tx => sqlx::query("UPDATE guilds SET mfa_level = $2 WHERE id = $1")
            .bind(guild_id).bind(level).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    // ---- channels and overwrites ----------------------------------------------------

    /// Creates a guild channel with its overwrites, unless the guild already has
    /// `max_channels` channels (`Ok(false)`). With `auto_position`, `c.position` becomes one
    /// past the guild's highest position. Needs [`Lock::Guild`].
    pub async fn create_channel(
        &mut self,
        c: &mut ChannelRow,
        auto_position: bool,
        overwrites: &[OverwriteRow],
        max_channels: i64,
    ) -> Result<bool> {
        let guild_id = c.guild_id;
        Ok(on_tx!(self, tx => {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12)")
                .bind(guild_id).fetch_one(&mut *tx).await?;
            if n >= max_channels {
                false
            } else {
                if auto_position {
                    let (next,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(position) + 1, 0) FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12)")
                        .bind(guild_id).fetch_one(&mut *tx).await?;
                    c.position = next;
                }
                sqlx::query("INSERT INTO channels (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, created_at, flags, forum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                    .bind(c.id).bind(c.guild_id).bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position)
                    .bind(c.parent_id).bind(c.nsfw).bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.created_at)
                    .bind(c.flags).bind(&c.forum)
                    .execute(&mut *tx).await?;
                for o in overwrites {
                    upsert_overwrite_q!(o).execute(&mut *tx).await?;
                }
                true
            }
        }))
    }

    /// Updates a channel and, with `overwrites`, replaces its whole overwrite list (a reader
    /// sees the old list or the new one, never a channel without its `@everyone` deny).
    pub async fn update_channel(
        &mut self,
        c: &ChannelRow,
        overwrites: Option<&[OverwriteRow]>,
    ) -> Result<()> {
        on_tx!(self, tx => {
            sqlx::query("UPDATE channels SET type = $1, name = $2, topic = $3, position = $4, parent_id = $5, nsfw = $6, rate_limit_per_user = $7, bitrate = $8, user_limit = $9, flags = $11, forum = $12 WHERE id = $10")
                .bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position).bind(c.parent_id).bind(c.nsfw)
                .bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.id).bind(c.flags).bind(&c.forum).execute(&mut *tx).await?;
            if let Some(list) = overwrites {
                sqlx::query("DELETE FROM overwrites WHERE channel_id = $1").bind(c.id).execute(&mut *tx).await?;
                for o in list {
                    upsert_overwrite_q!(o).execute(&mut *tx).await?;
                }
            }
        });
        Ok(())
    }

    /// Sets `(channel, position, parent)` rows and replaces the overwrites of each channel in
    /// `synced` (category sync, `lock_permissions`).
    pub async fn set_channel_positions(
        &mut self,
        rows: &[(i64, i64, Option<Option<i64>>)],
        synced: &[(i64, Vec<OverwriteRow>)],
    ) -> Result<()> {
        on_tx!(self, tx => {
            for (id, pos, parent) in rows {
                sqlx::query("UPDATE channels SET position = $1 WHERE id = $2").bind(pos).bind(id).execute(&mut *tx).await?;
                if let Some(parent) = parent {
                    sqlx::query("UPDATE channels SET parent_id = $1 WHERE id = $2").bind(parent).bind(id).execute(&mut *tx).await?;
                }
            }
            for (id, ows) in synced {
                sqlx::query("DELETE FROM overwrites WHERE channel_id = $1").bind(id).execute(&mut *tx).await?;
                for o in ows {
                    debug_assert_eq!(o.channel_id, *id);
                    upsert_overwrite_q!(o).execute(&mut *tx).await?;
                }
            }
        });
        Ok(())
    }

    /// Deletes a channel (its messages and overwrites cascade) with its threads (and theirs)
    /// and clears `parent_id` of its children (a category). Returns the ids of the threads
    /// deleted with it (their files are released by the caller), or `None` when the channel
    /// did not exist.
    pub async fn delete_channel(&mut self, id: i64) -> Result<Option<Vec<i64>>> {
        Ok(on_tx!(self, tx => {
            let guild: Option<(Option<i64>,)> = sqlx::query_as("SELECT guild_id FROM channels WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            let threads: Vec<(i64,)> = sqlx::query_as("DELETE FROM channels WHERE parent_id = $1 AND type IN (10, 11, 12) RETURNING id").bind(id).fetch_all(&mut *tx).await?;
            sqlx::query("UPDATE channels SET parent_id = NULL WHERE parent_id = $1").bind(id).execute(&mut *tx).await?;
            let gone = sqlx::query("DELETE FROM channels WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected() > 0;
            let threads: Vec<i64> = threads.into_iter().map(|t| t.0).collect();
            // The message events of the channel and of its threads leave the guild's
            // federation log with them (spec/federation.md §6.4; threads have no logged
            // deletion of their own, and their rows are gone once this commits).
            if gone && let Some((Some(g),)) = guild {
                let scrub = super::LogScrub::Channels(std::iter::once(id).chain(threads.iter().copied()).collect());
                super::federation::scrub_log!(tx, g, &scrub);
            }
            gone.then_some(threads)
        }))
    }

    /// Creates or replaces one overwrite.
    pub async fn upsert_overwrite(&mut self, o: &OverwriteRow) -> Result<()> {
        on_tx!(self, tx => upsert_overwrite_q!(o).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes one overwrite; whether it existed.
    pub async fn delete_overwrite(&mut self, channel_id: i64, target_id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM overwrites WHERE channel_id = $1 AND target_id = $2")
            .bind(channel_id).bind(target_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    // ---- roles ----------------------------------------------------------------------

    /// Inserts `role` at position 1, shifting every role at position >= 1 up by one in the
    /// same statement (positions stay unique), unless the guild has `max_roles` roles
    /// (`Ok(None)`). With `member` (user id, joined at), that user is made a member holding
    /// the role (a bot's managed role). Returns the shifted roles with their new positions.
    /// Needs [`Lock::Guild`].
    pub async fn create_role(
        &mut self,
        role: &RoleRow,
        max_roles: Option<i64>,
        member: Option<(i64, i64)>,
    ) -> Result<Option<Vec<RoleRow>>> {
        let guild_id = role.guild_id;
        Ok(on_tx!(self, tx => {
            let full = match max_roles {
                Some(max) => {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM roles WHERE guild_id = $1")
                        .bind(guild_id).fetch_one(&mut *tx).await?;
                    n >= max
                }
                None => false,
            };
            if full {
                None
            } else {
                let shifted: Vec<RoleRow> = sqlx::query_as("UPDATE roles SET position = position + 1 WHERE guild_id = $1 AND position >= 1 RETURNING *")
                    .bind(guild_id).fetch_all(&mut *tx).await?;
                sqlx::query("INSERT INTO roles (id, guild_id, name, color, hoist, position, permissions, managed, mentionable, bot_id) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9)")
                    .bind(role.id).bind(role.guild_id).bind(&role.name).bind(role.color).bind(role.hoist)
                    .bind(role.permissions).bind(role.managed).bind(role.mentionable).bind(role.bot_id)
                    .execute(&mut *tx).await?;
                if let Some((user_id, joined_at)) = member {
                    sqlx::query("INSERT INTO members (guild_id, user_id, nick, joined_at) VALUES ($1, $2, NULL, $3) ON CONFLICT DO NOTHING")
                        .bind(guild_id).bind(user_id).bind(joined_at).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(guild_id).bind(user_id).bind(role.id).execute(&mut *tx).await?;
                }
                Some(shifted)
            }
        }))
    }

    /// Updates a role's fields (not its position: [`Change::set_role_positions`]).
    pub async fn update_role(&mut self, r: &RoleRow) -> Result<()> {
        on_tx!(self, tx => sqlx::query("UPDATE roles SET name = $1, color = $2, hoist = $3, permissions = $4, mentionable = $5 WHERE id = $6")
            .bind(&r.name).bind(r.color).bind(r.hoist).bind(r.permissions).bind(r.mentionable).bind(r.id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes a role and the overwrites that target it; whether it existed.
    pub async fn delete_role(&mut self, id: i64) -> Result<bool> {
        Ok(on_tx!(self, tx => {
            sqlx::query("DELETE FROM overwrites WHERE target_id = $1 AND kind = 0").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected() > 0
        }))
    }

    /// Sets the positions of roles of `guild_id` (`(role, position)`).
    pub async fn set_role_positions(
        &mut self,
        guild_id: i64,
        positions: &[(i64, i64)],
    ) -> Result<()> {
        on_tx!(self, tx => {
            for (id, pos) in positions {
                sqlx::query("UPDATE roles SET position = $1 WHERE id = $2 AND guild_id = $3").bind(pos).bind(id).bind(guild_id).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    // ---- members and bans -----------------------------------------------------------

    /// Changes a member's nickname and/or replaces their role set.
    pub async fn update_member(
        &mut self,
        guild_id: i64,
        user_id: i64,
        nick: Option<Option<&str>>,
        roles: Option<&[i64]>,
    ) -> Result<()> {
        on_tx!(self, tx => {
            if let Some(nick) = nick {
                sqlx::query("UPDATE members SET nick = $1 WHERE guild_id = $2 AND user_id = $3")
                    .bind(nick).bind(guild_id).bind(user_id).execute(&mut *tx).await?;
            }
            if let Some(roles) = roles {
                // Lock the member row first (PostgreSQL), so two concurrent replacements
                // run one after the other instead of interleaving.
                sqlx::query("UPDATE members SET nick = nick WHERE guild_id = $1 AND user_id = $2")
                    .bind(guild_id).bind(user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2")
                    .bind(guild_id).bind(user_id).execute(&mut *tx).await?;
                for r in roles {
                    sqlx::query("INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(guild_id).bind(user_id).bind(r).execute(&mut *tx).await?;
                }
            }
        });
        Ok(())
    }

    /// Sets or clears (`None`) the end of a member's timeout, ms (migration 0021).
    pub async fn set_member_timeout(
        &mut self,
        guild_id: i64,
        user_id: i64,
        until: Option<i64>,
    ) -> Result<()> {
        on_tx!(self, tx => {
            sqlx::query("UPDATE members SET communication_disabled_until = $1 WHERE guild_id = $2 AND user_id = $3")
                .bind(until).bind(guild_id).bind(user_id).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Gives a member a role (`add`) or takes it away; whether anything changed.
    pub async fn member_role(
        &mut self,
        guild_id: i64,
        user_id: i64,
        role_id: i64,
        add: bool,
    ) -> Result<bool> {
        let q = if add {
            "INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2 AND role_id = $3"
        };
        let n = on_tx!(self, tx => sqlx::query(q).bind(guild_id).bind(user_id).bind(role_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Consumes one use of invite `code` and adds `user_id` to `guild_id`, re-checking under
    /// the guild's and the user's locks that the user is not banned and is in fewer than
    /// `max_guilds` guilds. Joining a guild one is in consumes nothing. Needs
    /// [`Lock::Guild`]; locks the user row itself.
    pub async fn join_guild(
        &mut self,
        code: &str,
        guild_id: i64,
        user_id: i64,
        max_guilds: i64,
        now: i64,
    ) -> Result<JoinOutcome> {
        let pg = self.is_postgres();
        Ok(on_tx!(self, tx => {
            if pg {
                sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE").bind(user_id).execute(&mut *tx).await?;
            }
            let existing: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM members WHERE guild_id = $1 AND user_id = $2")
                .bind(guild_id).bind(user_id).fetch_optional(&mut *tx).await?;
            let banned: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM bans WHERE guild_id = $1 AND user_id = $2")
                .bind(guild_id).bind(user_id).fetch_optional(&mut *tx).await?;
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members WHERE user_id = $1")
                .bind(user_id).fetch_one(&mut *tx).await?;
            if existing.is_some() {
                JoinOutcome::AlreadyMember
            } else if banned.is_some() {
                JoinOutcome::Banned
            } else if n >= max_guilds {
                JoinOutcome::TooManyGuilds
            } else if sqlx::query("UPDATE invites SET uses = uses + 1 WHERE code = $1 AND guild_id = $2 AND (max_uses = 0 OR uses < max_uses)")
                .bind(code).bind(guild_id).execute(&mut *tx).await?.rows_affected() == 0
            {
                JoinOutcome::InviteGone
            } else {
                sqlx::query("INSERT INTO members (guild_id, user_id, nick, joined_at) VALUES ($1, $2, NULL, $3)")
                    .bind(guild_id).bind(user_id).bind(now).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM invites WHERE code = $1 AND max_uses > 0 AND uses >= max_uses").bind(code).execute(&mut *tx).await?;
                JoinOutcome::Joined
            }
        }))
    }

    /// Removes a membership (and so the member's roles, and their interest in the guild's
    /// scheduled events); whether it existed.
    pub async fn delete_member(&mut self, guild_id: i64, user_id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => {
            let n = sqlx::query("DELETE FROM members WHERE guild_id = $1 AND user_id = $2")
                .bind(guild_id).bind(user_id).execute(&mut *tx).await?.rows_affected();
            sqlx::query(FORGET_EVENT_INTEREST_SQL).bind(guild_id).bind(user_id).execute(&mut *tx).await?;
            n
        });
        Ok(n > 0)
    }

    /// Bans a user: records the ban, removes the membership and deletes their messages in
    /// the guild newer than `delete_after` (a snowflake bound). Returns the deleted
    /// `(channel, message)` ids and whether the user was a member. Needs [`Lock::Guild`]
    /// (a concurrent invite acceptance cannot slip in between).
    pub async fn insert_ban(
        &mut self,
        b: &BanRow,
        delete_after: Option<i64>,
    ) -> Result<(Vec<(i64, i64)>, bool)> {
        Ok(on_tx!(self, tx => {
            sqlx::query("INSERT INTO bans (guild_id, user_id, reason, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, user_id) DO UPDATE SET reason = excluded.reason")
                .bind(b.guild_id).bind(b.user_id).bind(&b.reason).bind(b.created_at).execute(&mut *tx).await?;
            let was_member = sqlx::query("DELETE FROM members WHERE guild_id = $1 AND user_id = $2").bind(b.guild_id).bind(b.user_id)
                .execute(&mut *tx).await?.rows_affected() > 0;
            sqlx::query(FORGET_EVENT_INTEREST_SQL).bind(b.guild_id).bind(b.user_id).execute(&mut *tx).await?;
            let mut deleted = vec![];
            if let Some(after) = delete_after {
                deleted = sqlx::query_as("DELETE FROM messages WHERE guild_id = $1 AND author_id = $2 AND id > $3 RETURNING channel_id, id")
                    .bind(b.guild_id).bind(b.user_id).bind(after).fetch_all(&mut *tx).await?;
            }
            (deleted, was_member)
        }))
    }

    /// Lifts a ban; whether there was one.
    pub async fn delete_ban(&mut self, guild_id: i64, user_id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM bans WHERE guild_id = $1 AND user_id = $2")
            .bind(guild_id).bind(user_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    // ---- invites ----------------------------------------------------------------------

    pub async fn insert_invite(&mut self, i: &InviteRow) -> Result<()> {
        on_tx!(self, tx => sqlx::query("INSERT INTO invites (code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, temporary, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&i.code).bind(i.guild_id).bind(i.channel_id).bind(i.inviter_id).bind(i.max_age).bind(i.max_uses)
            .bind(i.uses).bind(i.temporary).bind(i.created_at).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes an invite; whether it existed.
    pub async fn delete_invite(&mut self, code: &str) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM invites WHERE code = $1").bind(code).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    // ---- messages: pins, bulk deletion, reactions ------------------------------------

    /// Pins (`pinned_at` set) or unpins a message and updates the channel's
    /// `last_pin_timestamp`. Pinning fails with `Ok(false)` (nothing written) when the
    /// channel already has `max_pins` pins; needs a lock on the channel or its guild.
    pub async fn set_pinned(
        &mut self,
        channel_id: i64,
        id: i64,
        pinned_at: Option<i64>,
        max_pins: i64,
    ) -> Result<bool> {
        Ok(on_tx!(self, tx => {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages WHERE channel_id = $1 AND pinned_at IS NOT NULL")
                .bind(channel_id).fetch_one(&mut *tx).await?;
            if pinned_at.is_some() && n >= max_pins {
                false
            } else {
                sqlx::query("UPDATE messages SET pinned_at = $1 WHERE id = $2 AND channel_id = $3").bind(pinned_at).bind(id).bind(channel_id).execute(&mut *tx).await?;
                sqlx::query("UPDATE channels SET last_pin_timestamp = (SELECT MAX(pinned_at) FROM messages WHERE channel_id = $1) WHERE id = $1")
                    .bind(channel_id).execute(&mut *tx).await?;
                true
            }
        }))
    }

    /// The channel's `last_pin_timestamp` (ms).
    pub async fn last_pin(&mut self, channel_id: i64) -> Result<Option<i64>> {
        let r: Option<(Option<i64>,)> = on_tx!(self, tx => sqlx::query_as("SELECT last_pin_timestamp FROM channels WHERE id = $1")
            .bind(channel_id).fetch_optional(&mut *tx).await)?;
        Ok(r.and_then(|r| r.0))
    }

    /// Deletes the listed messages of a channel; returns the ids actually deleted.
    pub async fn delete_messages(&mut self, channel_id: i64, ids: &[i64]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q =
            format!("DELETE FROM messages WHERE channel_id = $1 AND id IN ({list}) RETURNING id");
        let r: Vec<(i64,)> = on_tx!(self, tx => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(channel_id).fetch_all(&mut *tx).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    /// Removes every reaction of a message, or those with `emoji`; how many.
    pub async fn clear_reactions(&mut self, message_id: i64, emoji: Option<&str>) -> Result<u64> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND ($2 IS NULL OR emoji = $2)")
            .bind(message_id).bind(emoji).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n)
    }
}
