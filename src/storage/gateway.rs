//! The gateway's sessions saved across a graceful restart (migration 0019,
//! `gateway_state`: at most one row, written at shutdown and taken at start; see
//! `crate::gateway::restart`).

use super::atomic::write_tx;
use super::{Db, on_db};
use crate::error::Result;

impl Db {
    /// Replaces the saved gateway state with `body` (JSON), saved at `saved_at` (ms). One
    /// transaction: a reader finds the old document or the new one.
    pub async fn save_gateway_state(&self, saved_at: i64, body: &str) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("DELETE FROM gateway_state").execute(&mut *tx).await?;
            sqlx::query("INSERT INTO gateway_state (id, saved_at, body) VALUES (1, $1, $2)")
                .bind(saved_at).bind(body).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Takes the saved gateway state `(saved_at ms, body)`: it is deleted in the same
    /// transaction, so a document is restored at most once.
    pub async fn take_gateway_state(&self) -> Result<Option<(i64, String)>> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let row: Option<(i64, String)> =
                sqlx::query_as("DELETE FROM gateway_state RETURNING saved_at, body")
                    .fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        })?)
    }
}
