//! Voice states (migration 0038; Discord "Resources > Voice"; spec/gateway.md "Voice
//! states"): one row per (guild, user) in voice, written by the service's voice calls.
//!
//! A join or move checks the channel's `user_limit` and writes the row in ONE write
//! transaction: on SQLite `BEGIN IMMEDIATE` ([`write_tx!`]) holds the only writer lock from
//! the count to the commit; on PostgreSQL the target channel's row is locked first
//! (`FOR NO KEY UPDATE`), so two joins of the same channel are serialized and the second
//! counts the first. Two concurrent joins can never both take the last place.

use super::{Db, on_db, write_tx};
use crate::error::Result;

/// One voice state row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoiceStateRow {
    pub guild_id: i64,
    pub user_id: i64,
    pub channel_id: i64,
    /// The gateway session that holds it.
    pub session_id: String,
    /// The node (process) of that session.
    pub node_id: String,
    pub self_mute: bool,
    pub self_deaf: bool,
    pub self_video: bool,
    pub mute: bool,
    pub deaf: bool,
    pub suppress: bool,
    /// When the user asked to speak (stage), ms since the Unix epoch.
    pub request_to_speak: Option<i64>,
}

/// A join or move ([`Db::voice_join`]).
#[derive(Debug, Clone)]
pub struct VoiceJoin<'a> {
    pub guild_id: i64,
    pub user_id: i64,
    pub channel_id: i64,
    pub session_id: &'a str,
    pub node_id: &'a str,
    pub self_mute: bool,
    pub self_deaf: bool,
    /// `None` keeps the current value (false for a new state).
    pub self_video: Option<bool>,
    /// `suppress` when the state enters `channel_id` (stage audience).
    pub suppress: bool,
    /// Whether the channel's `user_limit` applies (false with MOVE_MEMBERS, in stages).
    pub limited: bool,
    /// Whether a new state may be created (false for a moderator's move: only an existing
    /// state moves, and `session_id`/`node_id` are then ignored).
    pub create: bool,
}

/// What [`Db::voice_join`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinResult {
    /// The state as it now is, and as it was before (`None`: it is new).
    Joined {
        old: Option<VoiceStateRow>,
        new: VoiceStateRow,
    },
    /// The channel holds `user_limit` users already.
    Full,
    /// The channel no longer exists.
    NoChannel,
    /// `create` was false and the user is not in voice.
    NotInVoice,
}

/// A change of flags ([`Db::voice_set`]); `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct VoiceFlags {
    pub mute: Option<bool>,
    pub deaf: Option<bool>,
    pub suppress: Option<bool>,
    pub request_to_speak: Option<Option<i64>>,
}

/// The columns of [`VoiceStateRow`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "guild_id, user_id, channel_id, session_id, node_id, self_mute, self_deaf, self_video, \
         mute, deaf, suppress, request_to_speak"
    };
}

impl Db {
    /// Joins or moves `j.user_id` to `j.channel_id` in one write transaction: the channel's
    /// `user_limit` (read in the transaction; 0 or `NULL` is unlimited) is checked against
    /// the other users in it when `j.limited`, then the row is inserted or updated. A move
    /// to another channel resets `suppress` and the request to speak; a state re-sent for
    /// the same channel only changes the user's own flags and its session.
    pub async fn voice_join(&self, j: &VoiceJoin<'_>) -> Result<JoinResult> {
        let limit_q = if self.is_postgres() {
            "SELECT user_limit FROM channels WHERE id = $1 AND guild_id = $2 FOR NO KEY UPDATE"
        } else {
            "SELECT user_limit FROM channels WHERE id = $1 AND guild_id = $2"
        };
        let old_q = concat!(
            "SELECT ",
            cols!(),
            " FROM voice_states WHERE guild_id = $1 AND user_id = $2"
        );
        let ins_q = concat!(
            "INSERT INTO voice_states (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, FALSE, $9, NULL) \
             ON CONFLICT (guild_id, user_id) DO UPDATE SET channel_id = excluded.channel_id, \
             session_id = excluded.session_id, node_id = excluded.node_id, \
             self_mute = excluded.self_mute, self_deaf = excluded.self_deaf, \
             self_video = excluded.self_video, \
             suppress = CASE WHEN voice_states.channel_id = excluded.channel_id THEN voice_states.suppress ELSE excluded.suppress END, \
             request_to_speak = CASE WHEN voice_states.channel_id = excluded.channel_id THEN voice_states.request_to_speak ELSE NULL END \
             RETURNING ",
            cols!()
        );
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let limit: Option<Option<i64>> = sqlx::query_scalar(limit_q)
                .bind(j.channel_id).bind(j.guild_id).fetch_optional(&mut *tx).await?;
            let Some(limit) = limit else {
                return Ok(JoinResult::NoChannel);
            };
            let old: Option<VoiceStateRow> = sqlx::query_as(old_q)
                .bind(j.guild_id).bind(j.user_id).fetch_optional(&mut *tx).await?;
            let (session, node, self_mute, self_deaf) = match (&old, j.create) {
                (None, false) => return Ok(JoinResult::NotInVoice),
                (Some(o), false) => (o.session_id.clone(), o.node_id.clone(), o.self_mute, o.self_deaf),
                (_, true) => (j.session_id.to_owned(), j.node_id.to_owned(), j.self_mute, j.self_deaf),
            };
            let moving = old.as_ref().is_none_or(|o| o.channel_id != j.channel_id);
            if let Some(limit) = limit.filter(|l| *l > 0 && j.limited && moving) {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM voice_states WHERE channel_id = $1 AND user_id <> $2")
                    .bind(j.channel_id).bind(j.user_id).fetch_one(&mut *tx).await?;
                if n >= limit {
                    return Ok(JoinResult::Full);
                }
            }
            let video = j.self_video.unwrap_or_else(|| old.as_ref().is_some_and(|o| o.self_video));
            let new: VoiceStateRow = sqlx::query_as(ins_q)
                .bind(j.guild_id).bind(j.user_id).bind(j.channel_id).bind(session).bind(node)
                .bind(self_mute).bind(self_deaf).bind(video).bind(j.suppress)
                .fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(JoinResult::Joined { old, new })
        })
    }

    /// The voice state of `user_id` in `guild_id`.
    pub async fn voice_state(&self, guild_id: i64, user_id: i64) -> Result<Option<VoiceStateRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM voice_states WHERE guild_id = $1 AND user_id = $2"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(guild_id).bind(user_id).fetch_optional(p).await?))
    }

    /// Every voice state of a guild, by user id.
    pub async fn voice_states_of_guild(&self, guild_id: i64) -> Result<Vec<VoiceStateRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM voice_states WHERE guild_id = $1 ORDER BY user_id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(guild_id).fetch_all(p).await?))
    }

    /// The voice states of every guild `user_id` is a member of (READY), in one statement.
    pub async fn voice_states_of_guilds_of(&self, user_id: i64) -> Result<Vec<VoiceStateRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM voice_states WHERE guild_id IN \
             (SELECT guild_id FROM members WHERE user_id = $1) ORDER BY guild_id, user_id"
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(user_id).fetch_all(p).await?))
    }

    /// The guilds with at least one voice state.
    pub async fn voice_guilds(&self) -> Result<Vec<i64>> {
        on_db!(self, p => Ok(sqlx::query_scalar("SELECT DISTINCT guild_id FROM voice_states")
            .fetch_all(p).await?))
    }

    /// Ends the voice state of `user_id` in `guild_id`; with `channel_id`, only if it is
    /// still in that channel (a concurrent move wins). Returns the row removed.
    pub async fn voice_leave(
        &self,
        guild_id: i64,
        user_id: i64,
        channel_id: Option<i64>,
    ) -> Result<Option<VoiceStateRow>> {
        let q = concat!(
            "DELETE FROM voice_states WHERE guild_id = $1 AND user_id = $2 \
             AND ($3 IS NULL OR channel_id = $3) RETURNING ",
            cols!()
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(guild_id).bind(user_id).bind(channel_id)
            .fetch_optional(p).await?))
    }

    /// Ends every voice state held by gateway session `session_id` of `user_id`.
    pub async fn voice_end_session(
        &self,
        user_id: i64,
        session_id: &str,
    ) -> Result<Vec<VoiceStateRow>> {
        let q = concat!(
            "DELETE FROM voice_states WHERE user_id = $1 AND session_id = $2 RETURNING ",
            cols!()
        );
        on_db!(self, p => Ok(sqlx::query_as(q).bind(user_id).bind(session_id).fetch_all(p).await?))
    }

    /// The voice states of gateway session `session_id` belong to node `node_id` from now on
    /// (the session moved there).
    pub async fn voice_move_session(&self, session_id: &str, node_id: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE voice_states SET node_id = $1 WHERE session_id = $2")
            .bind(node_id).bind(session_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The gateway sessions holding voice states of node `node_id`.
    pub async fn voice_sessions_of_node(&self, node_id: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_db!(self, p => sqlx::query_as("SELECT session_id FROM voice_states WHERE node_id = $1")
            .bind(node_id).fetch_all(p).await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Ends the voice states of node `node_id` (every node's: `None`) whose session is not
    /// in `keep` (a start: sessions that did not survive the restart).
    pub async fn voice_end_node(
        &self,
        node_id: Option<&str>,
        keep: &[String],
    ) -> Result<Vec<VoiceStateRow>> {
        let q = concat!(
            "SELECT ",
            cols!(),
            " FROM voice_states WHERE $1 IS NULL OR node_id = $1"
        );
        let rows: Vec<VoiceStateRow> =
            on_db!(self, p => sqlx::query_as(q).bind(node_id).fetch_all(p).await?);
        let mut out = vec![];
        for r in rows.into_iter().filter(|r| !keep.contains(&r.session_id)) {
            out.extend(self.voice_end_session(r.user_id, &r.session_id).await?);
        }
        Ok(out)
    }

    /// Changes the guild's flags of a voice state (`None` keeps each); when `channel_id` is
    /// given, only a state in that channel. Returns the state after the change.
    pub async fn voice_set(
        &self,
        guild_id: i64,
        user_id: i64,
        channel_id: Option<i64>,
        f: &VoiceFlags,
    ) -> Result<Option<VoiceStateRow>> {
        let q = concat!(
            "UPDATE voice_states SET mute = COALESCE($3, mute), deaf = COALESCE($4, deaf), \
             suppress = COALESCE($5, suppress), \
             request_to_speak = CASE WHEN $6 THEN $7 ELSE request_to_speak END \
             WHERE guild_id = $1 AND user_id = $2 AND ($8 IS NULL OR channel_id = $8) \
             RETURNING ",
            cols!()
        );
        let rts = f.request_to_speak.flatten();
        on_db!(self, p => Ok(sqlx::query_as(q).bind(guild_id).bind(user_id)
            .bind(f.mute).bind(f.deaf).bind(f.suppress)
            .bind(f.request_to_speak.is_some()).bind(rts).bind(channel_id)
            .fetch_optional(p).await?))
    }
}
