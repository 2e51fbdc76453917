//! Incoming webhooks (migration 0020; Discord "Resources > Webhook"): one row per webhook
//! with the SHA-256 (hex) of its token. Reads go through [`Db`]; writes through the
//! request's [`Change`], so the row, its audit entry and the per-channel count it was
//! checked against commit together (the change locks the guild's row).

use super::change::{Tx, on_tx};
use super::{Change, Db, on_db};
use crate::error::Result;

/// A stored webhook.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    /// Discord's webhook type (1: incoming).
    pub kind: i64,
    pub guild_id: i64,
    pub channel_id: i64,
    pub creator_id: i64,
    pub name: String,
    pub avatar: Option<String>,
    pub token_hash: String,
    pub created_at: i64,
}

const COLS: &str =
    "id, kind, guild_id, channel_id, creator_id, name, avatar, token_hash, created_at";

impl Db {
    /// A webhook by id.
    pub async fn webhook(&self, id: i64) -> Result<Option<WebhookRow>> {
        let q = format!("SELECT {COLS} FROM webhooks WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    /// A channel's webhooks, by id.
    pub async fn channel_webhooks(&self, channel_id: i64) -> Result<Vec<WebhookRow>> {
        let q = format!("SELECT {COLS} FROM webhooks WHERE channel_id = $1 ORDER BY id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(channel_id).fetch_all(p).await)?,
        )
    }

    /// A guild's webhooks, by id.
    pub async fn guild_webhooks(&self, guild_id: i64) -> Result<Vec<WebhookRow>> {
        let q = format!("SELECT {COLS} FROM webhooks WHERE guild_id = $1 ORDER BY id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).fetch_all(p).await)?,
        )
    }
}

impl Change {
    /// The number of webhooks of a channel (for the limit, inside the writing change).
    pub async fn count_webhooks(&mut self, channel_id: i64) -> Result<i64> {
        let (n,): (i64,) = on_tx!(self, tx => sqlx::query_as("SELECT COUNT(*) FROM webhooks WHERE channel_id = $1")
            .bind(channel_id).fetch_one(&mut *tx).await)?;
        Ok(n)
    }

    pub async fn insert_webhook(&mut self, w: &WebhookRow) -> Result<()> {
        on_tx!(self, tx => sqlx::query("INSERT INTO webhooks (id, kind, guild_id, channel_id, creator_id, name, avatar, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(w.id).bind(w.kind).bind(w.guild_id).bind(w.channel_id).bind(w.creator_id).bind(&w.name)
            .bind(&w.avatar).bind(&w.token_hash).bind(w.created_at).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores a webhook's channel, name and avatar; whether it still existed.
    pub async fn update_webhook(&mut self, w: &WebhookRow) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("UPDATE webhooks SET channel_id = $1, name = $2, avatar = $3 WHERE id = $4")
            .bind(w.channel_id).bind(&w.name).bind(&w.avatar).bind(w.id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes a webhook; whether it existed.
    pub async fn delete_webhook(&mut self, id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
