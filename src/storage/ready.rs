//! Batched reads for a session start (gateway READY and the user's GUILD_CREATEs): each
//! method reads one kind of row for *every* guild, DM or read state of a user in one
//! statement (two for emojis), so building READY costs a fixed number of statements however
//! many guilds, DMs and read states the user has (issue 21). Guild sets are given as
//! "the guilds `user_id` is a member of" (a join on `members`) or as an explicit id list
//! (integers formatted into the statement, as [`Db::users`] does).

use std::collections::HashMap;

use super::emojis::COLS as EMOJI_COLS;
use super::guilds::CHANNEL_COLS;
use super::{ChannelRow, Db, Emoji, EmojiRow, GuildRow, MemberRow, RoleRow, on_db};
use crate::error::Result;
use crate::wire::MENTION_COUNT_CAP;

/// A read state with what READY shows beside it ([`Db::read_states_with_mentions`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReadStateCount {
    pub channel_id: i64,
    /// `None` for DM channels.
    pub guild_id: Option<i64>,
    pub last_message_id: i64,
    pub version: i64,
    /// `pinned_at` (ms) of the channel's newest pin.
    pub last_pin: Option<i64>,
    /// Mentions of the user after `last_message_id`, at most [`MENTION_COUNT_CAP`] (the
    /// rule of [`Db::mention_count`]).
    pub mention_count: i64,
}

/// `a,b,c` of integer ids, for an `IN (...)` list.
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Db {
    /// [`Db::read_states_of`] with each entry's mention count ([`Db::mention_count`]) in the
    /// same statement, by channel id.
    pub async fn read_states_with_mentions(&self, user_id: i64) -> Result<Vec<ReadStateCount>> {
        let q = r#"SELECT rs.channel_id, c.guild_id, rs.last_message_id, rs.version,
                (SELECT MAX(p.pinned_at) FROM messages p WHERE p.channel_id = rs.channel_id) AS last_pin,
                (SELECT COUNT(*) FROM (SELECT 1 FROM messages m
                    WHERE m.channel_id = rs.channel_id AND m.id > rs.last_message_id
                      AND (m.mention_everyone OR m.mentions <> '[]' OR m.mention_roles <> '[]')
                      AND m.author_id <> $1
                      AND (m.mention_everyone OR m.mentions LIKE $2
                           OR EXISTS (SELECT 1 FROM member_roles mr
                                      WHERE mr.guild_id = m.guild_id AND mr.user_id = $1
                                        AND m.mention_roles LIKE '%"' || CAST(mr.role_id AS TEXT) || '"%'))
                    LIMIT $3) x) AS mention_count
            FROM read_states rs JOIN channels c ON c.id = rs.channel_id
            WHERE rs.user_id = $1
              AND ((c.guild_id IS NULL
                    AND (c.type <> 3 OR EXISTS (SELECT 1 FROM group_dm_recipients g WHERE g.channel_id = c.id AND g.user_id = $1)))
                   OR EXISTS (SELECT 1 FROM members mb WHERE mb.guild_id = c.guild_id AND mb.user_id = $1))
            ORDER BY rs.channel_id"#;
        let pattern = format!("%\"{user_id}\"%");
        Ok(on_db!(self, p => sqlx::query_as(q)
            .bind(user_id).bind(&pattern).bind(MENTION_COUNT_CAP)
            .fetch_all(p).await)?)
    }

    /// The channels with the given ids (any order; unknown ids are left out).
    pub async fn channels_by_ids(&self, ids: &[i64]) -> Result<Vec<ChannelRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let q = format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE id IN ({})",
            id_list(ids)
        );
        Ok(on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?)
    }

    /// The guilds `user_id` is a member of, by id.
    pub async fn guilds_of_member(&self, user_id: i64) -> Result<Vec<GuildRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT g.* FROM guilds g JOIN members m ON m.guild_id = g.id WHERE m.user_id = $1 ORDER BY g.id")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// The member rows of `user_id`, one per guild.
    pub async fn member_rows_of(&self, user_id: i64) -> Result<Vec<MemberRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM members WHERE user_id = $1 ORDER BY guild_id")
            .bind(user_id).fetch_all(p).await)?,
        )
    }

    /// Every role of the guilds `user_id` is a member of, by guild, then position and id
    /// (the order of [`Db::roles`] within a guild).
    pub async fn roles_of_guilds_of(&self, user_id: i64) -> Result<Vec<RoleRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT r.* FROM roles r JOIN members m ON m.guild_id = r.guild_id AND m.user_id = $1
             ORDER BY r.guild_id, r.position, r.id")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// `(guild_id, member count)` of the guilds `user_id` is a member of.
    pub async fn member_counts_of_guilds_of(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT m.guild_id, COUNT(*) FROM members m
             JOIN members me ON me.guild_id = m.guild_id AND me.user_id = $1
             GROUP BY m.guild_id")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// Every member of the given guilds, by guild then user id (the order of
    /// [`Db::members_page`] within a guild).
    pub async fn members_of_guilds(&self, guild_ids: &[i64]) -> Result<Vec<MemberRow>> {
        if guild_ids.is_empty() {
            return Ok(vec![]);
        }
        let q = format!(
            "SELECT * FROM members WHERE guild_id IN ({}) ORDER BY guild_id, user_id",
            id_list(guild_ids)
        );
        Ok(on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?)
    }

    /// `(guild_id, user_id, role_id)` of every member of the given guilds and of `user_id`
    /// in any guild, by guild, user, role.
    pub async fn member_roles_for_ready(
        &self,
        guild_ids: &[i64],
        user_id: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let q = if guild_ids.is_empty() {
            "SELECT guild_id, user_id, role_id FROM member_roles WHERE user_id = $1
             ORDER BY guild_id, user_id, role_id"
                .to_string()
        } else {
            format!(
                "SELECT guild_id, user_id, role_id FROM member_roles
                 WHERE guild_id IN ({}) OR user_id = $1 ORDER BY guild_id, user_id, role_id",
                id_list(guild_ids)
            )
        };
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(user_id).fetch_all(p).await)?,
        )
    }

    /// `(guild_id, channel_id, last_message_id)` of every channel of the guilds `user_id` is
    /// a member of, read fresh ([`Db::last_message_ids`] for all of them at once).
    pub async fn last_message_ids_of_guilds_of(
        &self,
        user_id: i64,
    ) -> Result<Vec<(i64, i64, Option<i64>)>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT c.guild_id, c.id, c.last_message_id FROM channels c
             JOIN members m ON m.guild_id = c.guild_id AND m.user_id = $1")
            .bind(user_id).fetch_all(p).await)?)
    }

    /// The emojis of the guilds `user_id` is a member of, by guild ([`Db::emojis`] for all
    /// of them at once: by id, each with its role ids ascending). Two statements.
    pub async fn emojis_of_guilds_of(&self, user_id: i64) -> Result<HashMap<i64, Vec<Emoji>>> {
        let q = format!(
            "SELECT {} FROM emojis e JOIN members m ON m.guild_id = e.guild_id AND m.user_id = $1 ORDER BY e.id",
            EMOJI_COLS
                .split(", ")
                .map(|c| format!("e.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows: Vec<EmojiRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(user_id).fetch_all(p).await)?;
        let links: Vec<(i64, i64)> = on_db!(self, p => sqlx::query_as(
            "SELECT er.emoji_id, er.role_id FROM emoji_roles er JOIN emojis e ON e.id = er.emoji_id
             JOIN members m ON m.guild_id = e.guild_id AND m.user_id = $1 ORDER BY er.role_id")
            .bind(user_id).fetch_all(p).await)?;
        let mut roles: HashMap<i64, Vec<i64>> = HashMap::new();
        for (e, r) in links {
            roles.entry(e).or_default().push(r);
        }
        let mut out: HashMap<i64, Vec<Emoji>> = HashMap::new();
        for row in rows {
            out.entry(row.guild_id).or_default().push(Emoji {
                roles: roles.remove(&row.id).unwrap_or_default(),
                row,
            });
        }
        Ok(out)
    }
}
