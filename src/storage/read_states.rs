//! Read states (migration 0023): per (user, channel), the last acknowledged message and the
//! user's version counter; the bounded mention count after a message.

use super::{Db, on_db};
use crate::error::Result;
use crate::wire::MENTION_COUNT_CAP;

/// One stored read state, with what READY shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReadStateRow {
    pub channel_id: i64,
    /// `None` for DM channels.
    pub guild_id: Option<i64>,
    pub last_message_id: i64,
    pub version: i64,
    /// `pinned_at` (ms) of the channel's newest pin.
    pub last_pin: Option<i64>,
}

impl Db {
    /// Records an ack of `message_id` in `channel_id` by `user_id` in one statement: the
    /// stored message moves forward only, or to exactly `message_id` when `manual`; the row
    /// gets the user's highest version + 1. Returns `(last_message_id, version)` as stored.
    pub async fn ack_read_state(
        &self,
        user_id: i64,
        channel_id: i64,
        message_id: i64,
        manual: bool,
        now: i64,
    ) -> Result<(i64, i64)> {
        let q = "INSERT INTO read_states (user_id, channel_id, last_message_id, version, updated_at)
            VALUES ($1, $2, $3, (SELECT COALESCE(MAX(v.version), 0) + 1 FROM read_states v WHERE v.user_id = $1), $5)
            ON CONFLICT (user_id, channel_id) DO UPDATE SET
                last_message_id = CASE WHEN $4 OR excluded.last_message_id > read_states.last_message_id
                    THEN excluded.last_message_id ELSE read_states.last_message_id END,
                version = excluded.version,
                updated_at = excluded.updated_at
            RETURNING last_message_id, version";
        Ok(on_db!(self, p => sqlx::query_as(q)
            .bind(user_id).bind(channel_id).bind(message_id).bind(manual).bind(now)
            .fetch_one(p).await)?)
    }

    /// A user's read states in the channels of guilds they are a member of, in DMs and in
    /// the group DMs they are still a recipient of, by
    /// channel id, with each channel's newest pin.
    pub async fn read_states_of(&self, user_id: i64) -> Result<Vec<ReadStateRow>> {
        let q = "SELECT rs.channel_id, c.guild_id, rs.last_message_id, rs.version,
                (SELECT MAX(p.pinned_at) FROM messages p WHERE p.channel_id = rs.channel_id) AS last_pin
            FROM read_states rs JOIN channels c ON c.id = rs.channel_id
            WHERE rs.user_id = $1
              AND ((c.guild_id IS NULL
                    AND (c.type <> 3 OR EXISTS (SELECT 1 FROM group_dm_recipients g WHERE g.channel_id = c.id AND g.user_id = $1)))
                   OR EXISTS (SELECT 1 FROM members mb WHERE mb.guild_id = c.guild_id AND mb.user_id = $1))
            ORDER BY rs.channel_id";
        Ok(on_db!(self, p => sqlx::query_as(q).bind(user_id).fetch_all(p).await)?)
    }

    /// `(channel id, last_message_id)` of a guild's channels, read fresh for GUILD_CREATE (the
    /// gateway's structure cache is not reloaded by messages), so clients compare read states
    /// with the real newest message.
    pub async fn last_message_ids(&self, guild_id: i64) -> Result<Vec<(i64, Option<i64>)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT id, last_message_id FROM channels WHERE guild_id = $1")
            .bind(guild_id).fetch_all(p).await)?,
        )
    }

    /// Messages of `channel_id` after `after` that mention `user_id`, one of the user's roles
    /// in the message's guild, or @everyone (stored only when its author could), not sent by
    /// the user; at most [`MENTION_COUNT_CAP`]. Reads the partial index `messages_mentioning`
    /// (messages that mention anyone), never the channel's other messages.
    pub async fn mention_count(&self, user_id: i64, channel_id: i64, after: i64) -> Result<i64> {
        let q = "SELECT COUNT(*) FROM (SELECT 1 FROM messages m
                WHERE m.channel_id = $1 AND m.id > $2
                  AND (m.mention_everyone OR m.mentions <> '[]' OR m.mention_roles <> '[]')
                  AND m.author_id <> $3
                  AND (m.mention_everyone OR m.mentions LIKE $4
                       OR EXISTS (SELECT 1 FROM member_roles mr
                                  WHERE mr.guild_id = m.guild_id AND mr.user_id = $3
                                    AND m.mention_roles LIKE '%\"' || CAST(mr.role_id AS TEXT) || '\"%'))
                LIMIT $5) x";
        let pattern = format!("%\"{user_id}\"%");
        let (n,): (i64,) = on_db!(self, p => sqlx::query_as(q)
            .bind(channel_id).bind(after).bind(user_id).bind(&pattern).bind(MENTION_COUNT_CAP)
            .fetch_one(p).await)?;
        Ok(n)
    }
}
