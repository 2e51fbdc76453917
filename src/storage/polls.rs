//! Polls' votes and state (migration 0031; Discord "Resources > Poll"): a voter's choice
//! replaced in one transaction while the poll is open, the counts of a page of messages,
//! the voters of one answer, and the finalization of ended polls.
//!
//! A vote and a finalization of the same poll are serialized: on SQLite by `BEGIN
//! IMMEDIATE` ([`write_tx!`]), on PostgreSQL by the message row, which a vote locks
//! (`FOR NO KEY UPDATE`) before reading whether the poll is open and which the
//! finalization updates. Counts are always computed from the vote rows, so they are
//! consistent whatever the number of concurrent voters.

use super::{Db, OutboxItem, Written, on_db, push_outbox, write_tx};
use crate::error::Result;

/// Votes of one answer of one poll: `me` > 0 when the viewer is among them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PollCount {
    pub message_id: i64,
    pub answer_id: i64,
    pub count: i64,
    pub me: i64,
}

/// What [`Db::set_poll_votes`] changed: answer ids added and removed, ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoteChange {
    pub added: Vec<i64>,
    pub removed: Vec<i64>,
}

impl Db {
    /// Replaces the votes of `user_id` on the poll of message `message_id` by `answers`
    /// (deduplicated, already checked against the poll) in ONE transaction, if the poll is
    /// still open at `now` (ms): `None` when it is not (ended, finalized or no poll).
    pub async fn set_poll_votes(
        &self,
        message_id: i64,
        user_id: i64,
        answers: &[i64],
        now: i64,
    ) -> Result<Option<VoteChange>> {
        let open_q = if self.is_postgres() {
            "SELECT poll_open_until FROM messages WHERE id = $1 FOR NO KEY UPDATE"
        } else {
            "SELECT poll_open_until FROM messages WHERE id = $1"
        };
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let open: Option<Option<i64>> = sqlx::query_scalar(open_q)
                .bind(message_id).fetch_optional(&mut *tx).await?;
            if open.flatten().is_none_or(|t| t <= now) {
                return Ok(None);
            }
            let old: Vec<i64> = sqlx::query_scalar("SELECT answer_id FROM poll_votes WHERE message_id = $1 AND user_id = $2 ORDER BY answer_id")
                .bind(message_id).bind(user_id).fetch_all(&mut *tx).await?;
            let mut change = VoteChange {
                added: answers.iter().copied().filter(|a| !old.contains(a)).collect(),
                removed: old.iter().copied().filter(|a| !answers.contains(a)).collect(),
            };
            change.added.sort_unstable();
            for a in &change.removed {
                sqlx::query("DELETE FROM poll_votes WHERE message_id = $1 AND answer_id = $2 AND user_id = $3")
                    .bind(message_id).bind(*a).bind(user_id).execute(&mut *tx).await?;
            }
            for a in &change.added {
                sqlx::query("INSERT INTO poll_votes (message_id, answer_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(message_id).bind(*a).bind(user_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Some(change))
        })
    }

    /// A vote on a replica's poll as its host logged it (spec/federation.md §6.5): with
    /// `add`, `user_id`'s vote for `answer_id` is recorded, else removed; one statement.
    pub async fn replica_poll_vote(
        &self,
        message_id: i64,
        answer_id: i64,
        user_id: i64,
        add: bool,
    ) -> Result<()> {
        let q = if add {
            "INSERT INTO poll_votes (message_id, answer_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM poll_votes WHERE message_id = $1 AND answer_id = $2 AND user_id = $3"
        };
        on_db!(self, p => sqlx::query(q).bind(message_id).bind(answer_id).bind(user_id)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The vote counts of the polls among `message_ids`, with whether `viewer` voted each
    /// answer (answers without votes have no row).
    pub async fn poll_counts(&self, message_ids: &[i64], viewer: i64) -> Result<Vec<PollCount>> {
        if message_ids.is_empty() {
            return Ok(vec![]);
        }
        let list = message_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q = format!("SELECT message_id, answer_id, COUNT(*) AS count, SUM(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) AS me
            FROM poll_votes WHERE message_id IN ({list}) GROUP BY message_id, answer_id ORDER BY message_id, answer_id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(viewer).fetch_all(p).await)?,
        )
    }

    /// Up to `limit` voters of answer `answer_id` with ids above `after`, ascending.
    pub async fn poll_voters(
        &self,
        message_id: i64,
        answer_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>> {
        Ok(
            on_db!(self, p => sqlx::query_scalar("SELECT user_id FROM poll_votes WHERE message_id = $1 AND answer_id = $2 AND user_id > $3 ORDER BY user_id LIMIT $4")
            .bind(message_id).bind(answer_id).bind(after).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Finalizes the poll of message `message_id` if it is still open: stores `poll` (its
    /// JSON, with the expiry it ended at) and closes it, with the MESSAGE_UPDATE's log entry
    /// `log`, in one transaction. `changed` is false when it was finalized already.
    pub async fn finalize_poll(
        &self,
        message_id: i64,
        poll: &str,
        log: Option<OutboxItem<'_>>,
    ) -> Result<Written> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("UPDATE messages SET poll = $1, poll_open_until = NULL WHERE id = $2 AND poll_open_until IS NOT NULL")
                .bind(poll).bind(message_id).execute(&mut *tx).await?.rows_affected();
            let logged = n > 0 && !push_outbox!(tx, log.as_slice()).is_empty();
            tx.commit().await?;
            Ok(Written { changed: n > 0, logged })
        })
    }

    /// Ends the open poll of message `message_id` early (its author's "End Poll"): stores
    /// `poll` (with its new expiry) and closes it to votes (`poll_open_until` 0, so the
    /// finalization takes it), if it was open at `now`. Whether it was.
    pub async fn close_poll(&self, message_id: i64, poll: &str, now: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("UPDATE messages SET poll = $1, poll_open_until = 0 WHERE id = $2 AND poll_open_until > $3")
            .bind(poll).bind(message_id).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Up to `limit` open polls that ended at or before `now`: `(message id, channel id)`,
    /// the earliest first; a replica's polls are finalized by their host, which logs it.
    pub async fn due_polls(&self, now: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT id, channel_id FROM messages WHERE poll_open_until IS NOT NULL AND poll_open_until <= $1 \
             AND (guild_id IS NULL OR guild_id NOT IN (SELECT guild_id FROM remote_guilds)) ORDER BY poll_open_until LIMIT $2")
            .bind(now).bind(limit).fetch_all(p).await)?,
        )
    }

    /// When the next open poll of a message of this server or a DM ends (ms), if any is open.
    pub async fn next_poll_end(&self) -> Result<Option<i64>> {
        Ok(
            on_db!(self, p => sqlx::query_scalar("SELECT MIN(poll_open_until) FROM messages WHERE poll_open_until IS NOT NULL \
             AND (guild_id IS NULL OR guild_id NOT IN (SELECT guild_id FROM remote_guilds))")
            .fetch_one(p).await)?,
        )
    }
}
