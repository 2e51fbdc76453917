//! Account security rows (migration 0013): sessions' re-authentication time, mailed
//! single-use tokens, the security log, deleted accounts.

use super::{Db, on_db};
use crate::error::Result;

impl Db {
    /// When session `id` last proved its user's password or second factor (ms), if ever.
    pub async fn session_reauth_at(&self, id: i64) -> Result<Option<i64>> {
        let r: Option<(Option<i64>,)> = on_db!(self, p => sqlx::query_as("SELECT reauth_at FROM sessions WHERE id = $1")
            .bind(id).fetch_optional(p).await)?;
        Ok(r.and_then(|r| r.0))
    }

    /// Records a password or second-factor proof on session `id` at `now` (ms).
    pub async fn mark_reauth(&self, id: i64, now: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(now).bind(id).execute(p).await)?;
        Ok(())
    }
}
