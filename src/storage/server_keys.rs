//! Federation signing keys of this server (`server_keys`, migration 0002).

use super::{Db, on_db};
use crate::error::Result;

/// A row of `server_keys`. `seed` is the secret: unpadded base64 of the ed25519 seed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerKeyRow {
    pub key_id: String,
    pub seed: String,
    pub created_at: i64,
    /// Set when the key was rotated out: it verifies objects timestamped before this.
    pub expired_at: Option<i64>,
    /// Set when the key was revoked: nothing it signed is accepted any more.
    pub revoked_at: Option<i64>,
}

impl Db {
    /// Every key of this server, oldest first.
    pub async fn server_keys(&self) -> Result<Vec<ServerKeyRow>> {
        Ok(on_db!(self, p => sqlx::query_as::<_, ServerKeyRow>(
            "SELECT key_id, seed, created_at, expired_at, revoked_at FROM server_keys ORDER BY created_at, key_id"
        ).fetch_all(p).await?))
    }

    /// Stores a new key (a key id that already exists is left unchanged).
    pub async fn insert_server_key(&self, row: &ServerKeyRow) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO server_keys (key_id, seed, created_at, expired_at, revoked_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_id) DO NOTHING"
        ).bind(&row.key_id).bind(&row.seed).bind(row.created_at).bind(row.expired_at).bind(row.revoked_at)
            .execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Retires every current key except `keep` at `at` (rotation). Returns how many keys changed.
    pub async fn expire_server_keys_except(&self, keep: &str, at: i64) -> Result<u64> {
        Ok(on_db!(self, p => sqlx::query(
            "UPDATE server_keys SET expired_at = $1 WHERE key_id <> $2 AND expired_at IS NULL AND revoked_at IS NULL"
        ).bind(at).bind(keep).execute(p).await?.rows_affected()))
    }

    /// Revokes `key_id` at `at` (idempotent). Returns `false` if no such key exists.
    pub async fn revoke_server_key(&self, key_id: &str, at: i64) -> Result<bool> {
        Ok(on_db!(self, p => {
            sqlx::query("UPDATE server_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL")
                .bind(at).bind(key_id).execute(p).await?;
            let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM server_keys WHERE key_id = $1")
                .bind(key_id).fetch_one(p).await?;
            n.0 > 0
        }))
    }
}
