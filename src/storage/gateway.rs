//! The gateway's sessions saved across a graceful restart (migrations 0019 and 0035,
//! `gateway_states`: one row per node, written at its shutdown and taken at its next start;
//! see `crate::gateway::restart`).

use super::atomic::write_tx;
use super::{Db, on_db};
use crate::error::Result;

impl Db {
    /// Replaces the gateway state saved by node `node` with `body` (JSON), saved at
    /// `saved_at` (ms). One statement: a reader finds the old document or the new one.
    pub async fn save_gateway_state(&self, node: &str, saved_at: i64, body: &str) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO gateway_states (node, saved_at, body) VALUES ($1, $2, $3) \
             ON CONFLICT (node) DO UPDATE SET saved_at = excluded.saved_at, body = excluded.body")
            .bind(node).bind(saved_at).bind(body).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Takes the gateway state saved by node `node` (or, with `any_node`, by any node: a
    /// single node on SQLite, whose id may have changed) and any document saved before
    /// node ids: `(saved_at ms, body)`, the newest of them. What it takes is deleted in the
    /// same transaction, so a document is restored at most once.
    pub async fn take_gateway_state(
        &self,
        node: &str,
        any_node: bool,
    ) -> Result<Option<(i64, String)>> {
        let mut rows: Vec<(i64, String)> = on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "DELETE FROM gateway_states WHERE node = $1 OR node = '' OR $2 \
                 RETURNING saved_at, body")
                .bind(node).bind(any_node).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        })?;
        rows.sort_by_key(|r| r.0);
        Ok(rows.pop())
    }
}
