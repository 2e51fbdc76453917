//! Account deletion beyond this server, and message removal (migration 0015): the servers to
//! tell of a deletion, the durable queue of outbound federation notices
//! (`federation_notices`, spec/federation.md §18), a remote user's anonymisation when her
//! home server announces her deletion, and the resumable message purge jobs
//! (`message_purges`, spec/account.md §6).

use super::atomic::write_tx;
use super::change::{Change, Tx, on_tx};
use super::{Db, on_db};
use crate::error::Result;

/// Stores a message purge job `($1 user id, $2 now)`, kept if one exists.
pub(super) const START_PURGE_SQL: &str = "INSERT INTO message_purges (user_id, requested_at, deleted, updated_at) VALUES ($1, $2, 0, $2) ON CONFLICT (user_id) DO NOTHING";

/// A notice to store for delivery (written by the transaction of the change it announces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub id: i64,
    /// The peer's server name.
    pub destination: String,
    /// The federation path it is POSTed to (`/_hearth/federation/v1/users/deleted`).
    pub path: String,
    /// The JSON body.
    pub body: String,
}

/// A stored notice (`federation_notices`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoticeRow {
    pub id: i64,
    pub destination: String,
    pub path: String,
    pub body: String,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Not before this time, ms.
    pub next_attempt_at: i64,
}

/// One message a purge job removes next: its channel, the channel's guild (`None` in a DM)
/// and, in a DM, both participants.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PurgeMessage {
    pub id: i64,
    pub channel_id: i64,
    pub guild_id: Option<i64>,
    pub user_low: Option<i64>,
    pub user_high: Option<i64>,
}

/// Queues one federation notice: `$1` id, `$2` destination, `$3` path, `$4` body, `$5` now.
pub(super) const INSERT_NOTICE_SQL: &str = "INSERT INTO federation_notices (id, destination, path, body, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5)";

const RELAY_PEERS_MEMBER: &str = "SELECT gp.server FROM members m JOIN guild_peers gp ON gp.guild_id = m.guild_id WHERE m.user_id = $1 AND gp.final_seq IS NULL";
const RELAY_PEERS_AUTHOR: &str = "SELECT server FROM guild_peers WHERE final_seq IS NULL AND guild_id IN (SELECT DISTINCT guild_id FROM messages WHERE author_id = $1)";

/// The server part of a handle (`name@server` → `server`); a plain server name as it is.
fn server_of(s: &str) -> &str {
    s.rsplit_once('@').map_or(s, |(_, server)| server)
}

impl Db {
    /// The other servers that know user `user_id` (local), lower-cased, sorted, without
    /// duplicates: hosts of the replicas she is a member of or wrote in, peer servers of the
    /// guilds hosted here that she is a member of or wrote in (not those already leaving),
    /// home servers of remote users who share a guild with her, and for her MLS devices the
    /// servers of the users who claimed her KeyPackages, of the hubs of her groups and of
    /// the senders of what her devices received. Read before her memberships, messages and
    /// devices go.
    pub async fn deletion_peers(&self, user_id: i64) -> Result<Vec<String>> {
        self.servers_knowing(user_id, &[
            "SELECT rg.host FROM members m JOIN remote_guilds rg ON rg.guild_id = m.guild_id WHERE m.user_id = $1",
            "SELECT host FROM remote_guilds WHERE guild_id IN (SELECT DISTINCT guild_id FROM messages WHERE author_id = $1)",
            RELAY_PEERS_MEMBER,
            RELAY_PEERS_AUTHOR,
            "SELECT DISTINCT u.home_server FROM members m JOIN members o ON o.guild_id = m.guild_id JOIN users u ON u.id = o.user_id \
             WHERE m.user_id = $1 AND u.home_server IS NOT NULL",
            "SELECT DISTINCT k.claimed_by FROM mls_key_packages k JOIN mls_devices d ON d.id = k.device_id \
             WHERE d.user_id = $1 AND k.claimed_by IS NOT NULL",
            "SELECT DISTINCT i.hub FROM mls_inbox i JOIN mls_devices d ON d.id = i.device_id WHERE d.user_id = $1",
            "SELECT DISTINCT i.sender FROM mls_inbox i JOIN mls_devices d ON d.id = i.device_id WHERE d.user_id = $1",
        ])
        .await
    }

    /// The member servers (not already leaving) of the guilds hosted here that user
    /// `user_id` (remote) is a member of or wrote in, lower-cased, sorted, without
    /// duplicates: where a host relays her home's deletion notice (spec/federation.md §18.3).
    /// Read before her memberships go.
    pub async fn deletion_relay_peers(&self, user_id: i64) -> Result<Vec<String>> {
        self.servers_knowing(user_id, &[RELAY_PEERS_MEMBER, RELAY_PEERS_AUTHOR])
            .await
    }

    /// The servers named by the first column of each of `qs` (bound to `user_id`).
    async fn servers_knowing(&self, user_id: i64, qs: &[&'static str]) -> Result<Vec<String>> {
        let mut out: Vec<String> = vec![];
        for q in qs {
            let rows: Vec<(String,)> =
                on_db!(self, p => sqlx::query_as(*q).bind(user_id).fetch_all(p).await)?;
            out.extend(rows.iter().map(|r| server_of(&r.0).to_lowercase()));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Queues `notices` (due at once), in one transaction.
    pub async fn queue_notices(&self, notices: &[super::NewNotice], now: i64) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            for n in notices {
                sqlx::query(INSERT_NOTICE_SQL)
                    .bind(n.id).bind(&n.destination).bind(&n.path).bind(&n.body).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Up to `limit` notices whose next attempt is due at `now` (ms), oldest first.
    pub async fn notices_due(&self, now: i64, limit: i64) -> Result<Vec<NoticeRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, destination, path, body, attempts, next_attempt_at FROM federation_notices \
             WHERE next_attempt_at <= $1 ORDER BY id LIMIT $2")
            .bind(now).bind(limit).fetch_all(p).await)?)
    }

    /// Every stored notice, oldest first (operators, tests).
    pub async fn notices(&self) -> Result<Vec<NoticeRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, destination, path, body, attempts, next_attempt_at FROM federation_notices ORDER BY id")
            .fetch_all(p).await)?)
    }

    /// The earliest next attempt of any stored notice, ms.
    pub async fn notices_next(&self) -> Result<Option<i64>> {
        let r: (Option<i64>,) = on_db!(self, p => sqlx::query_as("SELECT MIN(next_attempt_at) FROM federation_notices")
            .fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Removes a delivered (or refused) notice.
    pub async fn notice_done(&self, id: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("DELETE FROM federation_notices WHERE id = $1")
            .bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Records a failed attempt: `attempts` so far, next attempt at `next_at` (ms).
    pub async fn notice_retry(&self, id: i64, attempts: i64, next_at: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE federation_notices SET attempts = $2, next_attempt_at = $3 WHERE id = $1")
            .bind(id).bind(attempts).bind(next_at).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Anonymises the remote user `user_id` whose home server announced her deletion, in one
    /// transaction: `username` becomes `anon_name` and her lookup key `anon_key` (the new
    /// handle; if another row holds that key already, `anon_key/<id>`, so she never takes
    /// over a row her new handle created), `global_name` "Deleted User", no avatar, banner or
    /// bio, `deleted_at` set (kept if set before); with `purge`, a message purge job for her
    /// (kept if one exists). Local users are never touched.
    pub async fn anonymise_remote_user(
        &self,
        user_id: i64,
        anon_name: &str,
        anon_key: &str,
        deleted_at: i64,
        purge: bool,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => {
            // It reads before it writes: SQLite's write lock is taken first (BEGIN IMMEDIATE).
            let mut tx = write_tx!(self, p);
            let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username_lower = $1 AND id <> $2")
                .bind(anon_key).bind(user_id).fetch_optional(&mut *tx).await?;
            let key = match taken {
                Some(_) => format!("{anon_key}/{user_id}"),
                None => anon_key.to_owned(),
            };
            let n = sqlx::query(
                "UPDATE users SET username = $2, username_lower = $3, global_name = 'Deleted User', avatar = NULL, \
                 banner = NULL, bio = '', deleted_at = COALESCE(deleted_at, $4) WHERE id = $1 AND home_server IS NOT NULL")
                .bind(user_id).bind(anon_name).bind(&key).bind(deleted_at).execute(&mut *tx).await?.rows_affected();
            if n > 0 && purge {
                sqlx::query(START_PURGE_SQL)
                    .bind(user_id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores a message purge job for `user_id` (kept if one exists).
    pub async fn start_message_purge(&self, user_id: i64, now: i64) -> Result<()> {
        on_db!(self, p => sqlx::query(START_PURGE_SQL)
            .bind(user_id).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The stored purge jobs: (user id, messages removed so far), oldest request first.
    pub async fn message_purges(&self) -> Result<Vec<(i64, i64)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT user_id, deleted FROM message_purges ORDER BY requested_at, user_id")
            .fetch_all(p).await)?,
        )
    }

    /// The oldest `limit` messages of `user_id` (any channel stored here).
    pub async fn purge_candidates(&self, user_id: i64, limit: i64) -> Result<Vec<PurgeMessage>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT m.id, m.channel_id, c.guild_id, d.user_low, d.user_high FROM messages m JOIN channels c ON c.id = m.channel_id \
             LEFT JOIN dm_channels d ON d.channel_id = m.channel_id WHERE m.author_id = $1 ORDER BY m.id LIMIT $2")
            .bind(user_id).bind(limit).fetch_all(p).await)?)
    }

    /// Ends the purge job of `user_id` if no message of hers is left; whether it ended.
    pub async fn finish_message_purge(&self, user_id: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query(
            "DELETE FROM message_purges WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM messages WHERE author_id = $1)")
            .bind(user_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}

impl Change {
    /// Counts `n` more messages removed by the purge job of `user_id`.
    pub async fn purge_progress(&mut self, user_id: i64, n: i64, now: i64) -> Result<()> {
        on_tx!(self, tx => sqlx::query("UPDATE message_purges SET deleted = deleted + $2, updated_at = $3 WHERE user_id = $1")
            .bind(user_id).bind(n).bind(now).execute(&mut *tx).await.map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn servers_of_handles() {
        assert_eq!(super::server_of("alice@a.example:8448"), "a.example:8448");
        assert_eq!(super::server_of("b.example"), "b.example");
    }
}
