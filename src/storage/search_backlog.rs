//! The SQLite search backlog (migration 0046; README "Search"): messages stored but not yet
//! in the FTS5 index. The insert trigger adds a message's id to `search_backlog` in the
//! transaction that stores the message; [`Db::index_search_backlog`] moves the oldest ids
//! into `messages_fts` in one transaction, called by the message writer when sends pause
//! (`crate::service::writer`) and by a search for whatever is left
//! ([`Db::flush_search_backlog`]). PostgreSQL has no backlog: its vector is computed as the
//! row is written (migration 0045), so both calls do nothing there.

use super::Db;
use super::atomic::write_tx;
use crate::error::Result;

/// Messages indexed by one backlog transaction: long enough to amortize FTS5's segment
/// write, short enough (a few milliseconds) that a send arriving meanwhile barely waits for
/// SQLite's write lock.
pub const INDEX_CHUNK: i64 = 500;

impl Db {
    /// Indexes up to `limit` of the oldest messages of the backlog in ONE transaction (their
    /// current content goes into `messages_fts`; their ids leave the backlog). Returns
    /// `(indexed, more)`: how many were indexed and whether any stay in the backlog (not how
    /// many: counting a large backlog would cost more than indexing a chunk of it). A backlog
    /// found empty costs one read and no write lock. PostgreSQL: `(0, false)`.
    pub async fn index_search_backlog(&self, limit: i64) -> Result<(u64, bool)> {
        let hearth_db::Db::Sqlite(p) = &**self else {
            return Ok((0, false));
        };
        let (any,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM search_backlog)")
            .fetch_one(p)
            .await?;
        if !any {
            return Ok((0, false));
        }
        let mut tx = write_tx!(self, p);
        let (upto,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(message_id) FROM (SELECT message_id FROM search_backlog ORDER BY message_id LIMIT $1)",
        )
        .bind(limit)
        .fetch_one(&mut *tx)
        .await?;
        let Some(upto) = upto else {
            // Another caller indexed it between the read and the write lock.
            return Ok((0, false));
        };
        // CROSS JOIN keeps the backlog as the outer loop: with a plain JOIN SQLite turns
        // `b.message_id <= $1` into a range over `messages` and scans every older message
        // for each chunk (a drain of 1,000,000 slowed to ~1,400 messages a second).
        sqlx::query(
            "INSERT INTO messages_fts(rowid, content) \
             SELECT m.id, m.content FROM search_backlog b CROSS JOIN messages m ON m.id = b.message_id \
             WHERE b.message_id <= $1",
        )
        .bind(upto)
        .execute(&mut *tx)
        .await?;
        let indexed = sqlx::query("DELETE FROM search_backlog WHERE message_id <= $1")
            .bind(upto)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let (more,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM search_backlog)")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((indexed, more))
    }

    /// Indexes the whole backlog, [`INDEX_CHUNK`] messages per transaction, so that a search
    /// that follows finds every stored message. Returns how many were indexed. PostgreSQL: 0.
    pub async fn flush_search_backlog(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let (n, more) = self.index_search_backlog(INDEX_CHUNK).await?;
            total += n;
            if !more || n == 0 {
                return Ok(total);
            }
        }
    }
}
