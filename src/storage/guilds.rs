//! Guilds, roles, channels, overwrites, members, invites, bans and the audit log.

use super::atomic::{lock_row, write_tx};
use super::{Db, Lock, on_db};
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuildRow {
    pub id: i64,
    pub name: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub owner_id: i64,
    pub system_channel_id: Option<i64>,
    pub verification_level: i64,
    pub default_message_notifications: i64,
    pub explicit_content_filter: i64,
    pub preferred_locale: String,
    pub created_at: i64,
    /// The server hosting this guild when it is a replica; `None` when hosted here.
    pub host_server: Option<String>,
    /// Discord's MFA level: 0 none, 1 elevated (migration 0011).
    pub mfa_level: i64,
    /// Banner and invite splash image hashes (migration 0010).
    pub banner: Option<String>,
    pub splash: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleRow {
    pub id: i64,
    pub guild_id: i64,
    pub name: String,
    pub color: i64,
    pub hoist: bool,
    pub position: i64,
    pub permissions: i64,
    pub managed: bool,
    pub mentionable: bool,
    pub bot_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub guild_id: Option<i64>,
    #[sqlx(rename = "type")]
    pub kind: i64,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub position: i64,
    pub parent_id: Option<i64>,
    pub nsfw: bool,
    pub rate_limit_per_user: i64,
    pub bitrate: Option<i64>,
    pub user_limit: Option<i64>,
    pub last_message_id: Option<i64>,
    pub last_pin_timestamp: Option<i64>,
    pub created_at: i64,
    /// Discord's channel flags (migration 0034): PINNED, REQUIRE_TAG, HIDE_MEDIA_DOWNLOAD_OPTIONS.
    pub flags: i64,
    /// Forum and media channels: their settings as JSON (`service::forums::ForumSettings`).
    pub forum: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverwriteRow {
    pub channel_id: i64,
    pub target_id: i64,
    pub kind: i64,
    pub allow_bits: i64,
    pub deny_bits: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub guild_id: i64,
    pub user_id: i64,
    pub nick: Option<String>,
    pub joined_at: i64,
    /// End of the member's timeout, ms; `None` or past when not timed out (migration 0021).
    #[sqlx(default)]
    pub communication_disabled_until: Option<i64>,
    /// Discord's guild member flags that Hearth keeps: AUTOMOD_QUARANTINED_USERNAME
    /// (migration 0043).
    #[sqlx(default)]
    pub flags: i64,
}

/// A guild as one user sees it ([`Db::guild_view`]).
#[derive(Debug, Clone)]
pub struct GuildView {
    pub guild: GuildRow,
    /// The user's member row; `None` if the user is not a member.
    pub member: Option<MemberRow>,
    /// Every role of the guild, ordered by position then id.
    pub roles: Vec<RoleRow>,
    /// Ids of the roles the user has, ascending.
    pub member_roles: Vec<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct GuildViewRow {
    #[sqlx(flatten)]
    guild: GuildRow,
    m_user: Option<i64>,
    m_nick: Option<String>,
    m_joined_at: Option<i64>,
    m_timeout: Option<i64>,
    m_flags: Option<i64>,
    r_id: Option<i64>,
    r_name: Option<String>,
    r_color: Option<i64>,
    r_hoist: Option<bool>,
    r_position: Option<i64>,
    r_permissions: Option<i64>,
    r_managed: Option<bool>,
    r_mentionable: Option<bool>,
    r_bot_id: Option<i64>,
    r_mine: Option<bool>,
}

/// One row of [`CHANNEL_VIEW_SQL`]: the channel's columns under a `c_` prefix (the guild's
/// columns keep their names), then either an overwrite (`ow_*`) or a role (`r_*` of the
/// flattened [`GuildViewRow`]).
#[derive(sqlx::FromRow)]
pub(super) struct ChannelViewRow {
    c_id: i64,
    c_guild_id: Option<i64>,
    c_type: i64,
    c_name: Option<String>,
    c_topic: Option<String>,
    c_position: i64,
    c_parent_id: Option<i64>,
    c_nsfw: bool,
    c_rate_limit_per_user: i64,
    c_bitrate: Option<i64>,
    c_user_limit: Option<i64>,
    c_last_message_id: Option<i64>,
    c_last_pin_timestamp: Option<i64>,
    c_created_at: i64,
    c_flags: i64,
    c_forum: Option<String>,
    ow_target: Option<i64>,
    ow_kind: Option<i64>,
    ow_allow: Option<i64>,
    ow_deny: Option<i64>,
    #[sqlx(flatten)]
    view: GuildViewRow,
}

#[derive(sqlx::FromRow)]
pub(super) struct ChannelOverwriteRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    ow_target: Option<i64>,
    ow_kind: Option<i64>,
    ow_allow: Option<i64>,
    ow_deny: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub code: String,
    pub guild_id: i64,
    pub channel_id: i64,
    pub inviter_id: i64,
    pub max_age: i64,
    pub max_uses: i64,
    pub uses: i64,
    pub temporary: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BanRow {
    pub guild_id: i64,
    pub user_id: i64,
    pub reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub guild_id: i64,
    pub user_id: i64,
    pub target_id: Option<i64>,
    pub action_type: i64,
    pub changes: String,
    pub options: Option<String>,
    pub reason: Option<String>,
}

pub(super) const CHANNEL_COLS: &str = "id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, last_message_id, last_pin_timestamp, created_at, flags, forum";

macro_rules! insert_channel_q {
    ($c:expr) => {
        sqlx::query("INSERT INTO channels (id, guild_id, type, name, topic, position, parent_id, nsfw, rate_limit_per_user, bitrate, user_limit, created_at, flags, forum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
            .bind($c.id).bind($c.guild_id).bind($c.kind).bind(&$c.name).bind(&$c.topic).bind($c.position)
            .bind($c.parent_id).bind($c.nsfw).bind($c.rate_limit_per_user).bind($c.bitrate).bind($c.user_limit).bind($c.created_at)
            .bind($c.flags).bind(&$c.forum)
    };
}

macro_rules! insert_role_q {
    ($r:expr) => {
        sqlx::query("INSERT INTO roles (id, guild_id, name, color, hoist, position, permissions, managed, mentionable, bot_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind($r.id).bind($r.guild_id).bind(&$r.name).bind($r.color).bind($r.hoist).bind($r.position)
            .bind($r.permissions).bind($r.managed).bind($r.mentionable).bind($r.bot_id)
    };
}

impl Db {
    // ---- guilds ---------------------------------------------------------------------

    /// Creates a guild with its roles (`@everyone` among them), its channels and their
    /// overwrites, and its owner as first member, in one transaction, unless the owner is in
    /// `max_guilds` guilds already (`Ok(false)`, nothing written; counted under the owner's
    /// lock, see `storage/atomic.rs`).
    pub async fn create_guild(
        &self,
        g: &GuildRow,
        (roles, channels, overwrites): (&[RoleRow], &[ChannelRow], &[OverwriteRow]),
        max_guilds: i64,
    ) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_row!(self, tx, users, g.owner_id);
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members WHERE user_id = $1")
                .bind(g.owner_id).fetch_one(&mut *tx).await?;
            if n >= max_guilds {
                return Ok(false);
            }
            sqlx::query("INSERT INTO guilds (id, name, icon, description, owner_id, system_channel_id, verification_level, default_message_notifications, explicit_content_filter, preferred_locale, created_at, banner, splash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                .bind(g.id).bind(&g.name).bind(&g.icon).bind(&g.description).bind(g.owner_id).bind(g.system_channel_id)
                .bind(g.verification_level).bind(g.default_message_notifications).bind(g.explicit_content_filter)
                .bind(&g.preferred_locale).bind(g.created_at).bind(&g.banner).bind(&g.splash).execute(&mut *tx).await?;
            for r in roles {
                insert_role_q!(r).execute(&mut *tx).await?;
            }
            for c in channels {
                insert_channel_q!(c).execute(&mut *tx).await?;
            }
            for o in overwrites {
                sqlx::query("INSERT INTO overwrites (channel_id, target_id, kind, allow_bits, deny_bits) VALUES ($1, $2, $3, $4, $5)")
                    .bind(o.channel_id).bind(o.target_id).bind(o.kind).bind(o.allow_bits).bind(o.deny_bits)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO members (guild_id, user_id, nick, joined_at) VALUES ($1, $2, NULL, $3)")
                .bind(g.id).bind(g.owner_id).bind(g.created_at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn guild(&self, id: i64) -> Result<Option<GuildRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM guilds WHERE id = $1").bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn update_guild(&self, g: &GuildRow) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE guilds SET name = $1, icon = $2, description = $3, owner_id = $4, system_channel_id = $5, verification_level = $6, default_message_notifications = $7, explicit_content_filter = $8, preferred_locale = $9 WHERE id = $10")
            .bind(&g.name).bind(&g.icon).bind(&g.description).bind(g.owner_id).bind(g.system_channel_id)
            .bind(g.verification_level).bind(g.default_message_notifications).bind(g.explicit_content_filter)
            .bind(&g.preferred_locale).bind(g.id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Guilds `user_id` is a member of, ids in `(after, before)`, ascending, at most `limit`.
    pub async fn guilds_of(
        &self,
        user_id: i64,
        after: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<GuildRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT g.* FROM guilds g JOIN members m ON m.guild_id = g.id WHERE m.user_id = $1 AND g.id > $2 AND g.id < $3 ORDER BY g.id LIMIT $4")
            .bind(user_id).bind(after).bind(before).bind(limit).fetch_all(p).await)?)
    }

    /// Ids of every guild (hosted here or replicated) above `after`, ascending, at most
    /// `limit` (operator listing).
    pub async fn list_guild_ids(&self, after: i64, limit: i64) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT id FROM guilds WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after).bind(limit).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    pub async fn guild_ids_of(&self, user_id: i64) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT guild_id FROM members WHERE user_id = $1 ORDER BY guild_id")
            .bind(user_id).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    pub async fn count_guilds_of(&self, user_id: i64) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM members WHERE user_id = $1").bind(user_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Whether two users share at least one guild.
    pub async fn share_guild(&self, a: i64, b: i64) -> Result<bool> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as(
            "SELECT m1.guild_id FROM members m1 JOIN members m2 ON m1.guild_id = m2.guild_id WHERE m1.user_id = $1 AND m2.user_id = $2 LIMIT 1")
            .bind(a).bind(b).fetch_optional(p).await)?;
        Ok(r.is_some())
    }

    // ---- roles ----------------------------------------------------------------------

    pub async fn roles(&self, guild_id: i64) -> Result<Vec<RoleRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM roles WHERE guild_id = $1 ORDER BY position, id").bind(guild_id).fetch_all(p).await)?,
        )
    }

    pub async fn insert_role(&self, r: &RoleRow) -> Result<()> {
        on_db!(self, p => insert_role_q!(r).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes a role and the overwrites targeting it, in one transaction ([`Change::delete_role`]).
    pub async fn delete_role(&self, id: i64) -> Result<bool> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.delete_role(id).await?;
        c.commit().await?;
        Ok(r)
    }

    // ---- channels -------------------------------------------------------------------

    pub async fn channels(&self, guild_id: i64) -> Result<Vec<ChannelRow>> {
        let q = format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12) ORDER BY position, id"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).fetch_all(p).await)?,
        )
    }

    /// A channel with its permission overwrites (ordered by target), in one statement.
    /// `None` if the channel does not exist. Permission checks use [`Db::channel_view`].
    pub async fn channel_with_overwrites(
        &self,
        id: i64,
    ) -> Result<Option<(ChannelRow, Vec<OverwriteRow>)>> {
        let q = channel_with_overwrites_sql();
        let rows: Vec<ChannelOverwriteRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_all(p).await)?;
        Ok(channel_with_overwrites_of(rows))
    }

    /// A guild as seen by `user_id`, in one statement (`guild_access`): the guild row, the
    /// user's member row (`None` if not a member), every role (ordered by position, id) and
    /// the ids of the roles the user has. `None` if the guild does not exist.
    pub async fn guild_view(&self, guild_id: i64, user_id: i64) -> Result<Option<GuildView>> {
        let rows: Vec<GuildViewRow> = on_db!(self, p => sqlx::query_as(GUILD_VIEW_SQL)
            .bind(guild_id).bind(user_id).fetch_all(p).await)?;
        Ok(guild_view_of(guild_id, rows))
    }

    pub async fn channel(&self, id: i64) -> Result<Option<ChannelRow>> {
        let q = format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn insert_channel(&self, c: &ChannelRow) -> Result<()> {
        on_db!(self, p => insert_channel_q!(c).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes a channel and unparents its children, in one transaction
    /// ([`Change::delete_channel`]).
    pub async fn delete_channel(&self, id: i64) -> Result<bool> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.delete_channel(id).await?;
        c.commit().await?;
        Ok(r.is_some())
    }

    pub async fn count_channels(&self, guild_id: i64) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM channels WHERE guild_id = $1 AND type NOT IN (10, 11, 12)").bind(guild_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    pub async fn set_last_message(&self, channel_id: i64, message_id: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE channels SET last_message_id = $1 WHERE id = $2").bind(message_id).bind(channel_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    // ---- overwrites -----------------------------------------------------------------

    pub async fn overwrites(&self, channel_id: i64) -> Result<Vec<OverwriteRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM overwrites WHERE channel_id = $1 ORDER BY target_id").bind(channel_id).fetch_all(p).await)?,
        )
    }

    /// Every overwrite of every channel of a guild.
    pub async fn guild_overwrites(&self, guild_id: i64) -> Result<Vec<OverwriteRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT o.* FROM overwrites o JOIN channels c ON c.id = o.channel_id WHERE c.guild_id = $1 ORDER BY o.channel_id, o.target_id")
            .bind(guild_id).fetch_all(p).await)?,
        )
    }

    // ---- members --------------------------------------------------------------------

    pub async fn member(&self, guild_id: i64, user_id: i64) -> Result<Option<MemberRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM members WHERE guild_id = $1 AND user_id = $2")
            .bind(guild_id).bind(user_id).fetch_optional(p).await)?,
        )
    }

    pub async fn member_role_ids(&self, guild_id: i64, user_id: i64) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT role_id FROM member_roles WHERE guild_id = $1 AND user_id = $2 ORDER BY role_id")
            .bind(guild_id).bind(user_id).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }

    /// `(user_id, role_id)` pairs for the given members of a guild.
    pub async fn member_roles_of(
        &self,
        guild_id: i64,
        user_ids: &[i64],
    ) -> Result<Vec<(i64, i64)>> {
        if user_ids.is_empty() {
            return Ok(vec![]);
        }
        let list = user_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q = format!(
            "SELECT user_id, role_id FROM member_roles WHERE guild_id = $1 AND user_id IN ({list})"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).fetch_all(p).await)?,
        )
    }

    /// Inserts a member; `false` if already a member.
    pub async fn insert_member(&self, guild_id: i64, user_id: i64, joined_at: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("INSERT INTO members (guild_id, user_id, nick, joined_at) VALUES ($1, $2, NULL, $3) ON CONFLICT DO NOTHING")
            .bind(guild_id).bind(user_id).bind(joined_at).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Removes a membership ([`Change::delete_member`]).
    pub async fn delete_member(&self, guild_id: i64, user_id: i64) -> Result<bool> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.delete_member(guild_id, user_id).await?;
        c.commit().await?;
        Ok(r)
    }

    /// Members with user id > `after`, ascending (Discord "List Guild Members").
    pub async fn members_page(
        &self,
        guild_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<MemberRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM members WHERE guild_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3")
            .bind(guild_id).bind(after).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Members whose username or nickname starts with `prefix` (case-insensitive).
    pub async fn search_members(
        &self,
        guild_id: i64,
        prefix: &str,
        limit: i64,
    ) -> Result<Vec<MemberRow>> {
        let pat = format!(
            "{}%",
            prefix
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT m.* FROM members m JOIN users u ON u.id = m.user_id WHERE m.guild_id = $1
             AND (u.username_lower LIKE $2 ESCAPE '\\' OR lower(COALESCE(m.nick, '')) LIKE $2 ESCAPE '\\' OR lower(COALESCE(u.global_name, '')) LIKE $2 ESCAPE '\\')
             ORDER BY m.user_id LIMIT $3")
            .bind(guild_id).bind(&pat).bind(limit).fetch_all(p).await)?)
    }

    pub async fn member_count(&self, guild_id: i64) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM members WHERE guild_id = $1").bind(guild_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    pub async fn set_nick(&self, guild_id: i64, user_id: i64, nick: Option<&str>) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE members SET nick = $1 WHERE guild_id = $2 AND user_id = $3")
            .bind(nick).bind(guild_id).bind(user_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    // ---- invites --------------------------------------------------------------------

    /// Stores an invite ([`Change::insert_invite`]).
    pub async fn insert_invite(&self, i: &InviteRow) -> Result<()> {
        let mut c = self.change(Lock::Nothing).await?;
        c.insert_invite(i).await?;
        c.commit().await
    }

    pub async fn invite(&self, code: &str) -> Result<Option<InviteRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM invites WHERE code = $1").bind(code).fetch_optional(p).await)?,
        )
    }

    /// A reusable invite of `inviter` for `channel` with these settings (Discord reuses one
    /// unless `unique` is set).
    pub async fn find_invite(
        &self,
        channel_id: i64,
        inviter: i64,
        max_age: i64,
        max_uses: i64,
        temporary: bool,
    ) -> Result<Option<InviteRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM invites WHERE channel_id = $1 AND inviter_id = $2 AND max_age = $3 AND max_uses = $4 AND temporary = $5 AND uses = 0 ORDER BY created_at DESC LIMIT 1")
            .bind(channel_id).bind(inviter).bind(max_age).bind(max_uses).bind(temporary).fetch_optional(p).await)?,
        )
    }

    pub async fn invites_of_channel(&self, channel_id: i64) -> Result<Vec<InviteRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM invites WHERE channel_id = $1 ORDER BY created_at").bind(channel_id).fetch_all(p).await)?,
        )
    }

    pub async fn invites_of_guild(&self, guild_id: i64) -> Result<Vec<InviteRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM invites WHERE guild_id = $1 ORDER BY created_at").bind(guild_id).fetch_all(p).await)?,
        )
    }

    /// Deletes an invite ([`Change::delete_invite`]).
    pub async fn delete_invite(&self, code: &str) -> Result<bool> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.delete_invite(code).await?;
        c.commit().await?;
        Ok(r)
    }

    // ---- bans -----------------------------------------------------------------------

    pub async fn ban(&self, guild_id: i64, user_id: i64) -> Result<Option<BanRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM bans WHERE guild_id = $1 AND user_id = $2").bind(guild_id).bind(user_id).fetch_optional(p).await)?,
        )
    }

    pub async fn bans(
        &self,
        guild_id: i64,
        after: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<BanRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM bans WHERE guild_id = $1 AND user_id > $2 AND user_id < $3 ORDER BY user_id LIMIT $4")
            .bind(guild_id).bind(after).bind(before).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Lifts a ban ([`Change::delete_ban`]).
    pub async fn delete_ban(&self, guild_id: i64, user_id: i64) -> Result<bool> {
        let mut c = self.change(Lock::Nothing).await?;
        let r = c.delete_ban(guild_id, user_id).await?;
        c.commit().await?;
        Ok(r)
    }

    // ---- audit log ------------------------------------------------------------------

    /// Audit entries, newest first, with optional filters (Discord "Get Guild Audit Log").
    pub async fn audit_log(
        &self,
        guild_id: i64,
        user_id: Option<i64>,
        action_type: Option<i64>,
        before: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT * FROM audit_log WHERE guild_id = $1 AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR action_type = $3) AND id < $4 AND id > $5 ORDER BY id DESC LIMIT $6")
            .bind(guild_id).bind(user_id).bind(action_type).bind(before).bind(after).bind(limit).fetch_all(p).await)?)
    }
}

impl Db {
    /// Every `(user_id, role_id)` of a guild (gateway permission cache).
    pub async fn all_member_roles(&self, guild_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT user_id, role_id FROM member_roles WHERE guild_id = $1").bind(guild_id).fetch_all(p).await)?,
        )
    }

    /// Every member user id of a guild, ascending.
    pub async fn member_ids(&self, guild_id: i64) -> Result<Vec<i64>> {
        let r: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT user_id FROM members WHERE guild_id = $1 ORDER BY user_id").bind(guild_id).fetch_all(p).await)?;
        Ok(r.into_iter().map(|r| r.0).collect())
    }
}

/// `SELECT` of a channel (`$1`) left-joined with its overwrites, ordered by target.
pub(super) fn channel_with_overwrites_sql() -> String {
    let cols = CHANNEL_COLS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols}, o.target_id AS ow_target, o.kind AS ow_kind, o.allow_bits AS ow_allow, o.deny_bits AS ow_deny
         FROM channels c LEFT JOIN overwrites o ON o.channel_id = c.id WHERE c.id = $1 ORDER BY o.target_id"
    )
}

/// The channel and its overwrites out of the rows of [`channel_with_overwrites_sql`].
pub(super) fn channel_with_overwrites_of(
    rows: Vec<ChannelOverwriteRow>,
) -> Option<(ChannelRow, Vec<OverwriteRow>)> {
    let mut it = rows.into_iter();
    let first = it.next()?;
    let channel = first.channel.clone();
    let overwrites = std::iter::once(first)
        .chain(it)
        .filter_map(|r| {
            Some(OverwriteRow {
                channel_id: channel.id,
                target_id: r.ow_target?,
                kind: r.ow_kind?,
                allow_bits: r.ow_allow?,
                deny_bits: r.ow_deny?,
            })
        })
        .collect();
    Some((channel, overwrites))
}

/// `SELECT` of a guild channel (`$1`) with its overwrites and its guild as user `$2` sees it
/// (member row, roles, the user's roles), in ONE statement and so from one snapshot on both
/// backends. Rows: first the overwrites ordered by target (`part` 0), then the roles ordered by
/// position, id (`part` 1); at least one row for a guild channel (a guild has @everyone), none
/// for a DM or an unknown channel. Decoded by [`channel_view_of`].
pub(super) const CHANNEL_VIEW_SQL: &str = "SELECT c.id AS c_id, c.guild_id AS c_guild_id, c.type AS c_type, c.name AS c_name,
        c.topic AS c_topic, c.position AS c_position, c.parent_id AS c_parent_id, c.nsfw AS c_nsfw,
        c.rate_limit_per_user AS c_rate_limit_per_user, c.bitrate AS c_bitrate, c.user_limit AS c_user_limit,
        c.last_message_id AS c_last_message_id, c.last_pin_timestamp AS c_last_pin_timestamp, c.created_at AS c_created_at,
        c.flags AS c_flags, c.forum AS c_forum,
        x.ow_target, x.ow_kind, x.ow_allow, x.ow_deny,
        g.*, m.user_id AS m_user, m.nick AS m_nick, m.joined_at AS m_joined_at, m.communication_disabled_until AS m_timeout, m.flags AS m_flags,
        r.id AS r_id, r.name AS r_name, r.color AS r_color, r.hoist AS r_hoist, r.position AS r_position,
        r.permissions AS r_permissions, r.managed AS r_managed, r.mentionable AS r_mentionable, r.bot_id AS r_bot_id,
        EXISTS (SELECT 1 FROM member_roles mr WHERE mr.guild_id = g.id AND mr.user_id = $2 AND mr.role_id = r.id) AS r_mine
     FROM channels c
     JOIN guilds g ON g.id = c.guild_id
     LEFT JOIN members m ON m.guild_id = g.id AND m.user_id = $2
     LEFT JOIN (
        SELECT 0 AS part, o.target_id AS ow_target, o.kind AS ow_kind, o.allow_bits AS ow_allow, o.deny_bits AS ow_deny, NULL AS role_id
          FROM overwrites o
          WHERE o.channel_id = $1 OR o.channel_id = (SELECT t.parent_id FROM threads t WHERE t.channel_id = $1)
        UNION ALL
        SELECT 1, NULL, NULL, NULL, NULL, rr.id
          FROM roles rr JOIN channels cc ON cc.guild_id = rr.guild_id WHERE cc.id = $1
     ) x ON TRUE
     LEFT JOIN roles r ON r.id = x.role_id
     WHERE c.id = $1
     ORDER BY x.part, x.ow_target, r.position, r.id";

/// The channel, its overwrites and the guild view out of the rows of [`CHANNEL_VIEW_SQL`].
pub(super) fn channel_view_of(
    rows: Vec<ChannelViewRow>,
) -> Option<(ChannelRow, Vec<OverwriteRow>, GuildView)> {
    let first = rows.first()?;
    let channel = ChannelRow {
        id: first.c_id,
        guild_id: first.c_guild_id,
        kind: first.c_type,
        name: first.c_name.clone(),
        topic: first.c_topic.clone(),
        position: first.c_position,
        parent_id: first.c_parent_id,
        nsfw: first.c_nsfw,
        rate_limit_per_user: first.c_rate_limit_per_user,
        bitrate: first.c_bitrate,
        user_limit: first.c_user_limit,
        last_message_id: first.c_last_message_id,
        last_pin_timestamp: first.c_last_pin_timestamp,
        created_at: first.c_created_at,
        flags: first.c_flags,
        forum: first.c_forum.clone(),
    };
    let guild_id = channel.guild_id?;
    let mut overwrites = vec![];
    let mut views = Vec::with_capacity(rows.len());
    for r in rows {
        if let (Some(target_id), Some(kind), Some(allow_bits), Some(deny_bits)) =
            (r.ow_target, r.ow_kind, r.ow_allow, r.ow_deny)
        {
            overwrites.push(OverwriteRow {
                channel_id: channel.id,
                target_id,
                kind,
                allow_bits,
                deny_bits,
            });
        }
        views.push(r.view);
    }
    let view = guild_view_of(guild_id, views)?;
    Some((channel, overwrites, view))
}

/// `SELECT` of a guild (`$1`) as user `$2` sees it: member row, roles, the user's roles.
pub(super) const GUILD_VIEW_SQL: &str = "SELECT g.*, m.user_id AS m_user, m.nick AS m_nick, m.joined_at AS m_joined_at, m.communication_disabled_until AS m_timeout, m.flags AS m_flags,
        r.id AS r_id, r.name AS r_name, r.color AS r_color, r.hoist AS r_hoist, r.position AS r_position,
        r.permissions AS r_permissions, r.managed AS r_managed, r.mentionable AS r_mentionable, r.bot_id AS r_bot_id,
        EXISTS (SELECT 1 FROM member_roles mr WHERE mr.guild_id = g.id AND mr.user_id = $2 AND mr.role_id = r.id) AS r_mine
     FROM guilds g
     LEFT JOIN members m ON m.guild_id = g.id AND m.user_id = $2
     LEFT JOIN roles r ON r.guild_id = g.id
     WHERE g.id = $1 ORDER BY r.position, r.id";

/// The [`GuildView`] out of the rows of [`GUILD_VIEW_SQL`].
pub(super) fn guild_view_of(guild_id: i64, rows: Vec<GuildViewRow>) -> Option<GuildView> {
    let first = rows.first()?;
    let guild = first.guild.clone();
    let member = match (first.m_user, first.m_joined_at) {
        (Some(u), Some(joined_at)) => Some(MemberRow {
            guild_id,
            user_id: u,
            nick: first.m_nick.clone(),
            joined_at,
            communication_disabled_until: first.m_timeout,
            flags: first.m_flags.unwrap_or(0),
        }),
        _ => None,
    };
    let mut roles = Vec::with_capacity(rows.len());
    let mut member_roles = vec![];
    for r in rows {
        let Some(id) = r.r_id else { continue };
        if r.r_mine == Some(true) {
            member_roles.push(id);
        }
        roles.push(RoleRow {
            id,
            guild_id,
            name: r.r_name.unwrap_or_default(),
            color: r.r_color.unwrap_or_default(),
            hoist: r.r_hoist.unwrap_or_default(),
            position: r.r_position.unwrap_or_default(),
            permissions: r.r_permissions.unwrap_or_default(),
            managed: r.r_managed.unwrap_or_default(),
            mentionable: r.r_mentionable.unwrap_or_default(),
            bot_id: r.r_bot_id,
        });
    }
    member_roles.sort_unstable();
    Some(GuildView {
        guild,
        member,
        roles,
        member_roles,
    })
}
