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
    ApplicationRow, AuditRow, ChannelRow, Db, GuildRow, GuildView, OverwriteRow, RoleRow, UserRow,
    on_db,
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

macro_rules! insert_audit_q {
    ($a:expr) => {
        sqlx::query("INSERT INTO audit_log (id, guild_id, user_id, target_id, action_type, changes, options, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind($a.id).bind($a.guild_id).bind($a.user_id).bind($a.target_id).bind($a.action_type)
            .bind(&$a.changes).bind(&$a.options).bind(&$a.reason)
    };
}
pub(super) use insert_audit_q;

macro_rules! upsert_overwrite_q {
    ($o:expr) => {
        sqlx::query("INSERT INTO overwrites (channel_id, target_id, kind, allow_bits, deny_bits) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (channel_id, target_id) DO UPDATE SET kind = excluded.kind, allow_bits = excluded.allow_bits, deny_bits = excluded.deny_bits")
            .bind($o.channel_id).bind($o.target_id).bind($o.kind).bind($o.allow_bits).bind($o.deny_bits)
    };
}

/// What [`Db::join_guild`] did.
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
    /// Creates a guild channel with its overwrites and its audit entry in one transaction,
    /// unless the guild already has `max_channels` channels (`Ok(false)`, nothing written).
    /// With `auto_position`, `c.position` is set to one past the guild's highest position,
    /// read inside the transaction.
    pub async fn create_channel_atomic(
        &self,
        c: &mut ChannelRow,
        auto_position: bool,
        overwrites: &[OverwriteRow],
        max_channels: i64,
        audit: &AuditRow,
    ) -> Result<bool> {
        let guild_id = c.guild_id;
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_row!(self, tx, guilds, guild_id);
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM channels WHERE guild_id = $1")
                .bind(guild_id).fetch_one(&mut *tx).await?;
            if n >= max_channels {
                return Ok(false);
            }
            if auto_position {
                let (next,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(position) + 1, 0) FROM channels WHERE guild_id = $1")
                    .bind(guild_id).fetch_one(&mut *tx).await?;
                c.position = next;
            }
            sqlx::query("INSERT INTO channels (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .bind(c.id).bind(c.guild_id).bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position)
                .bind(c.parent_id).bind(c.nsfw).bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.created_at)
                .execute(&mut *tx).await?;
            for o in overwrites {
                upsert_overwrite_q!(o).execute(&mut *tx).await?;
            }
            insert_audit_q!(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Updates a channel and, with `overwrites`, replaces its whole overwrite list, with the
    /// audit entry, in one transaction: a reader sees the old list or the new one, never a
    /// channel without its `@everyone` deny in between. The channel row is written first,
    /// which locks it against a concurrent replacement on PostgreSQL.
    pub async fn update_channel_atomic(
        &self,
        c: &ChannelRow,
        overwrites: Option<&[OverwriteRow]>,
        audit: &AuditRow,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("UPDATE channels SET type = $1, name = $2, topic = $3, position = $4, parent_id = $5, nsfw = $6, rate_limit_per_user = $7, bitrate = $8, user_limit = $9 WHERE id = $10")
                .bind(c.kind).bind(&c.name).bind(&c.topic).bind(c.position).bind(c.parent_id).bind(c.nsfw)
                .bind(c.rate_limit_per_user).bind(c.bitrate).bind(c.user_limit).bind(c.id).execute(&mut *tx).await?;
            if let Some(list) = overwrites {
                sqlx::query("DELETE FROM overwrites WHERE channel_id = $1").bind(c.id).execute(&mut *tx).await?;
                for o in list {
                    upsert_overwrite_q!(o).execute(&mut *tx).await?;
                }
            }
            insert_audit_q!(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Inserts `role` at position 1 of its guild, shifting every role at position >= 1 up
    /// by one in the same statement (positions stay unique under concurrent creation), unless
    /// the guild has `max_roles` roles already (`Ok(None)`, nothing written). With `member`,
    /// that user is also made a member (if not yet) holding the role (a bot's managed role,
    /// Discord's OAuth2 bot flow). The audit entry is written in the same transaction.
    /// Returns the roles whose position changed, with their new positions.
    pub async fn create_role_atomic(
        &self,
        role: &RoleRow,
        max_roles: Option<i64>,
        member: Option<(i64, i64)>,
        audit: Option<&AuditRow>,
    ) -> Result<Option<Vec<RoleRow>>> {
        let guild_id = role.guild_id;
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_row!(self, tx, guilds, guild_id);
            if let Some(max) = max_roles {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM roles WHERE guild_id = $1")
                    .bind(guild_id).fetch_one(&mut *tx).await?;
                if n >= max {
                    return Ok(None);
                }
            }
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
            if let Some(a) = audit {
                insert_audit_q!(a).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Some(shifted))
        })
    }

    /// Changes a member's nickname and/or replaces their role set, with the audit entry, in
    /// one transaction (a reader never sees the member between the old and the new set).
    pub async fn update_member_atomic(
        &self,
        guild_id: i64,
        user_id: i64,
        nick: Option<Option<&str>>,
        roles: Option<&[i64]>,
        audit: Option<&AuditRow>,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if let Some(nick) = nick {
                sqlx::query("UPDATE members SET nick = $1 WHERE guild_id = $2 AND user_id = $3")
                    .bind(nick).bind(guild_id).bind(user_id).execute(&mut *tx).await?;
            }
            if let Some(roles) = roles {
                // Lock the member row first (PostgreSQL), so two concurrent replacements
                // run one after the other instead of interleaving their deletes and inserts.
                sqlx::query("UPDATE members SET nick = nick WHERE guild_id = $1 AND user_id = $2")
                    .bind(guild_id).bind(user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2")
                    .bind(guild_id).bind(user_id).execute(&mut *tx).await?;
                for r in roles {
                    sqlx::query("INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(guild_id).bind(user_id).bind(r).execute(&mut *tx).await?;
                }
            }
            if let Some(a) = audit {
                insert_audit_q!(a).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Consumes one use of invite `code` and adds `user_id` to `guild_id`, in one
    /// transaction that also re-checks, under the guild's and the user's locks, that the user
    /// is not banned (a concurrent ban cannot be overtaken) and is in fewer than `max_guilds`
    /// guilds. Joining a guild one is in consumes nothing.
    pub async fn join_guild(
        &self,
        code: &str,
        guild_id: i64,
        user_id: i64,
        max_guilds: i64,
        now: i64,
    ) -> Result<JoinOutcome> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_row!(self, tx, guilds, guild_id);
            lock_row!(self, tx, users, user_id);
            let existing: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM members WHERE guild_id = $1 AND user_id = $2")
                .bind(guild_id).bind(user_id).fetch_optional(&mut *tx).await?;
            if existing.is_some() {
                return Ok(JoinOutcome::AlreadyMember);
            }
            let banned: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM bans WHERE guild_id = $1 AND user_id = $2")
                .bind(guild_id).bind(user_id).fetch_optional(&mut *tx).await?;
            if banned.is_some() {
                return Ok(JoinOutcome::Banned);
            }
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members WHERE user_id = $1")
                .bind(user_id).fetch_one(&mut *tx).await?;
            if n >= max_guilds {
                return Ok(JoinOutcome::TooManyGuilds);
            }
            let used = sqlx::query("UPDATE invites SET uses = uses + 1 WHERE code = $1 AND guild_id = $2 AND (max_uses = 0 OR uses < max_uses)")
                .bind(code).bind(guild_id).execute(&mut *tx).await?.rows_affected();
            if used == 0 {
                return Ok(JoinOutcome::InviteGone);
            }
            sqlx::query("INSERT INTO members (guild_id, user_id, nick, joined_at) VALUES ($1, $2, NULL, $3)")
                .bind(guild_id).bind(user_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM invites WHERE code = $1 AND max_uses > 0 AND uses >= max_uses").bind(code).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(JoinOutcome::Joined)
        })
    }

    /// Updates a guild's settings, its discovery flag and tags, with the audit entry, in one
    /// transaction. An ownership transfer (`g.owner_id` differing from the stored owner) only
    /// applies while the new owner is a member: `Ok(false)` and nothing written otherwise.
    pub async fn update_guild_atomic(
        &self,
        g: &GuildRow,
        discoverable: Option<bool>,
        tags: Option<&str>,
        audit: &AuditRow,
    ) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("UPDATE guilds SET name = $1, icon = $2, description = $3, owner_id = $4, system_channel_id = $5, verification_level = $6, default_message_notifications = $7, explicit_content_filter = $8, preferred_locale = $9, banner = $11, splash = $12
                 WHERE id = $10 AND (owner_id = $4 OR EXISTS (SELECT 1 FROM members WHERE guild_id = $10 AND user_id = $4))")
                .bind(&g.name).bind(&g.icon).bind(&g.description).bind(g.owner_id).bind(g.system_channel_id)
                .bind(g.verification_level).bind(g.default_message_notifications).bind(g.explicit_content_filter)
                .bind(&g.preferred_locale).bind(g.id).bind(&g.banner).bind(&g.splash).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            if let Some(d) = discoverable {
                sqlx::query("UPDATE guilds SET discoverable = $1 WHERE id = $2").bind(d).bind(g.id).execute(&mut *tx).await?;
            }
            if let Some(t) = tags {
                sqlx::query("UPDATE guilds SET discovery_tags = $1 WHERE id = $2").bind(t).bind(g.id).execute(&mut *tx).await?;
            }
            insert_audit_q!(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

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
    /// ([`Db::guild_view`]), read from ONE snapshot: a read-only REPEATABLE READ transaction on
    /// PostgreSQL, one deferred transaction on SQLite (its snapshot starts at the first read
    /// and holds to the end). So a permission check never combines overwrites from before a
    /// change with roles from after another. `None` if the channel does not exist.
    pub async fn channel_view(
        &self,
        channel_id: i64,
        user_id: i64,
    ) -> Result<Option<(ChannelRow, Vec<OverwriteRow>, Option<GuildView>)>> {
        let cq = super::guilds::channel_with_overwrites_sql();
        on_db!(self, p => {
            let mut tx = read_tx!(self, p);
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(cq.as_str())).bind(channel_id).fetch_all(&mut *tx).await?;
            let Some((channel, overwrites)) = super::guilds::channel_with_overwrites_of(rows) else {
                return Ok(None);
            };
            let view = match channel.guild_id {
                Some(gid) => {
                    let rows = sqlx::query_as(super::guilds::GUILD_VIEW_SQL).bind(gid).bind(user_id).fetch_all(&mut *tx).await?;
                    super::guilds::guild_view_of(gid, rows)
                }
                None => None,
            };
            tx.commit().await?;
            Ok(Some((channel, overwrites, view)))
        })
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
}

impl Db {
    /// A guild's roles, channels, overwrites and member roles from ONE snapshot (see
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
            tx.commit().await?;
            Ok(Some(GuildStructure { guild, roles, channels, overwrites, member_roles }))
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
