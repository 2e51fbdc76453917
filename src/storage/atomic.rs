//! Multi-row writes of a guild's structure, each in ONE transaction, with the limits that
//! must hold under concurrency checked inside it; and the one-snapshot read that permission
//! checks use.
//!
//! The rule (ARCHITECTURE.md, "Invariants"): a service call that writes several rows commits
//! them together, so a reader (another connection) sees all of them or none, and a crash
//! leaves all or none. How each backend keeps count-then-insert atomic:
//!
//! - **SQLite**: write transactions begin with `BEGIN IMMEDIATE` ([`write_tx!`]), which takes
//!   the database's single writer lock before the first read, so what the transaction counts
//!   cannot change before it commits (and it never fails with `SQLITE_BUSY_SNAPSHOT` on its
//!   first write). Readers keep reading the last committed state (WAL).
//! - **PostgreSQL**: the transaction first locks the row everything hangs on
//!   ([`lock_row!`]: the guild for channels, roles, joins and bans; the user for the guilds a
//!   user is in) with `SELECT .. FOR NO KEY UPDATE`, which serializes such writers without
//!   blocking foreign-key checks (message inserts) on the same row. Later statements of a
//!   READ COMMITTED transaction see what the previous lock holder committed.
//!
//! Lock order, to stay free of deadlocks: a guild row before a user row.

use super::users::insert_user_q;
use super::{
    ApplicationRow, ChannelRow, Db, GuildRow, GuildView, OverwriteRow, RoleRow, UserRow, on_db,
};
use crate::error::Result;

/// Opens a write transaction on pool `$p` of `$db` (see the module docs).
macro_rules! write_tx {
    ($db:expr, $p:expr) => {
        $p.begin_with(if $db.is_postgres() {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        })
        .await?
    };
}
pub(crate) use write_tx;

/// Opens a read transaction whose statements all see one snapshot: REPEATABLE READ READ
/// ONLY on PostgreSQL; a deferred transaction on SQLite (its snapshot starts at the first
/// read and lasts until the end).
macro_rules! read_tx {
    ($db:expr, $p:expr) => {
        $p.begin_with(if $db.is_postgres() {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        })
        .await?
    };
}
pub(crate) use read_tx;

/// PostgreSQL: locks row `$id` of `guilds` or `users` (`$table`, a literal) until the
/// transaction ends; SQLite: nothing (its `BEGIN IMMEDIATE` holds the only writer lock).
macro_rules! lock_row {
    ($db:expr, $tx:expr, guilds, $id:expr) => {
        if $db.is_postgres() {
            sqlx::query("SELECT id FROM guilds WHERE id = $1 FOR NO KEY UPDATE")
                .bind($id)
                .execute(&mut *$tx)
                .await?;
        }
    };
    ($db:expr, $tx:expr, users, $id:expr) => {
        if $db.is_postgres() {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind($id)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(crate) use lock_row;

/// What [`super::Change::join_guild`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// A member row was created and one use of the invite consumed.
    Joined,
    /// The user already was a member; nothing changed.
    AlreadyMember,
    /// The invite is used up or gone.
    InviteGone,
    /// The user is banned from the guild.
    Banned,
    /// The user is in `max_guilds` guilds already.
    TooManyGuilds,
}

impl Db {
    /// Creates an application and its bot user in one transaction (no bot user without its
    /// application after a crash). Errors: a unique violation when the bot's username exists.
    pub async fn create_application(
        &self,
        bot: &UserRow,
        app: &ApplicationRow,
    ) -> std::result::Result<(), sqlx::Error> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            insert_user_q!(bot).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO applications (id, name, description, owner_id, bot_user_id, bot_token_hash, bot_public, flags, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(app.id).bind(&app.name).bind(&app.description).bind(app.owner_id).bind(app.bot_user_id)
                .bind(&app.bot_token_hash).bind(app.bot_public).bind(app.flags).bind(app.created_at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// A channel with its overwrites and, for a guild channel, the guild as `user_id` sees it
    /// ([`Db::guild_view`]), read from ONE snapshot: a guild channel in one statement
    /// (`guilds::CHANNEL_VIEW_SQL`), a DM in another. So a permission check never combines
    /// overwrites from before a change with roles from after another, and costs one round
    /// trip. `None` if the channel does not exist.
    pub async fn channel_view(
        &self,
        channel_id: i64,
        user_id: i64,
    ) -> Result<Option<(ChannelRow, Vec<OverwriteRow>, Option<GuildView>)>> {
        let rows: Vec<super::guilds::ChannelViewRow> = on_db!(self, p => sqlx::query_as(super::guilds::CHANNEL_VIEW_SQL)
            .bind(channel_id).bind(user_id).fetch_all(p).await)?;
        if let Some((channel, overwrites, view)) = super::guilds::channel_view_of(rows) {
            return Ok(Some((channel, overwrites, Some(view))));
        }
        // No row: a DM channel (no guild) or no channel at all. A guild channel seen only
        // now was created after the first statement's snapshot: it did not exist then.
        Ok(self
            .channel_with_overwrites(channel_id)
            .await?
            .filter(|(channel, _)| channel.guild_id.is_none())
            .map(|(channel, overwrites)| (channel, overwrites, None)))
    }
}

/// A guild's permission structure read from one snapshot ([`Db::guild_structure`]).
#[derive(Debug, Clone)]
pub struct GuildStructure {
    pub guild: GuildRow,
    /// Every role, ordered by position then id.
    pub roles: Vec<RoleRow>,
    /// Every channel, ordered by position then id.
    pub channels: Vec<ChannelRow>,
    /// Every overwrite of every channel, ordered by channel then target.
    pub overwrites: Vec<OverwriteRow>,
    /// Every `(user_id, role_id)`.
    pub member_roles: Vec<(i64, i64)>,
    /// The number of members (the gateway's passive-guild threshold).
    pub member_count: i64,
}

impl Db {
    /// A guild's roles, channels, overwrites, member roles and member count from ONE snapshot (see
    /// [`Db::channel_view`]), for the gateway's per-guild permission cache. `None` if the guild
    /// does not exist.
    pub async fn guild_structure(&self, guild_id: i64) -> Result<Option<GuildStructure>> {
        let cq = format!(
            "SELECT {} FROM channels WHERE guild_id = $1 ORDER BY position, id",
            super::guilds::CHANNEL_COLS
        );
        on_db!(self, p => {
            let mut tx = read_tx!(self, p);
            let guild: Option<GuildRow> = sqlx::query_as("SELECT * FROM guilds WHERE id = $1")
                .bind(guild_id).fetch_optional(&mut *tx).await?;
            let Some(guild) = guild else {
                return Ok(None);
            };
            let roles = sqlx::query_as("SELECT * FROM roles WHERE guild_id = $1 ORDER BY position, id")
                .bind(guild_id).fetch_all(&mut *tx).await?;
            let channels = sqlx::query_as(sqlx::AssertSqlSafe(cq.as_str()))
                .bind(guild_id).fetch_all(&mut *tx).await?;
            let overwrites = sqlx::query_as("SELECT o.* FROM overwrites o JOIN channels c ON c.id = o.channel_id WHERE c.guild_id = $1 ORDER BY o.channel_id, o.target_id")
                .bind(guild_id).fetch_all(&mut *tx).await?;
            let member_roles = sqlx::query_as("SELECT user_id, role_id FROM member_roles WHERE guild_id = $1")
                .bind(guild_id).fetch_all(&mut *tx).await?;
            let (member_count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members WHERE guild_id = $1")
                .bind(guild_id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(GuildStructure { guild, roles, channels, overwrites, member_roles, member_count }))
        })
    }

    /// The guild as `user_id` sees it ([`Db::guild_view`]) with every channel and overwrite
    /// of the guild, from ONE snapshot (`GET /guilds/{id}/channels`). `None` if the guild does
    /// not exist.
    pub async fn guild_channels_view(
        &self,
        guild_id: i64,
        user_id: i64,
    ) -> Result<Option<(GuildView, Vec<ChannelRow>, Vec<OverwriteRow>)>> {
        let cq = format!(
            "SELECT {} FROM channels WHERE guild_id = $1 ORDER BY position, id",
            super::guilds::CHANNEL_COLS
        );
        on_db!(self, p => {
            let mut tx = read_tx!(self, p);
            let rows = sqlx::query_as(super::guilds::GUILD_VIEW_SQL).bind(guild_id).bind(user_id).fetch_all(&mut *tx).await?;
            let Some(view) = super::guilds::guild_view_of(guild_id, rows) else {
                return Ok(None);
            };
            let channels = sqlx::query_as(sqlx::AssertSqlSafe(cq.as_str()))
                .bind(guild_id).fetch_all(&mut *tx).await?;
            let overwrites = sqlx::query_as("SELECT o.* FROM overwrites o JOIN channels c ON c.id = o.channel_id WHERE c.guild_id = $1 ORDER BY o.channel_id, o.target_id")
                .bind(guild_id).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some((view, channels, overwrites)))
        })
    }
}
