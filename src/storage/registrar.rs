//! Registrar integration (migration 0004): discoverable guilds, handle opt-in, and this
//! server's pending registrar challenge tokens.

use super::{Db, on_db};
use crate::error::Result;

/// A guild listed in the registrar directory, with what its summary needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscoverableGuildRow {
    pub id: i64,
    pub name: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub owner_id: i64,
    pub system_channel_id: Option<i64>,
    pub preferred_locale: String,
    pub discoverable: bool,
    /// Space-separated directory tags.
    pub discovery_tags: String,
    pub host_server: Option<String>,
}

/// A user who opted in to handle lookup.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscoverableUserRow {
    pub id: i64,
    pub username: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub bio: String,
}

impl Db {
    /// Sets `guilds.discoverable`.
    pub async fn set_guild_discoverable(&self, guild_id: i64, on: bool) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE guilds SET discoverable = $1 WHERE id = $2")
            .bind(on).bind(guild_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Sets `guilds.discovery_tags` (space-separated).
    pub async fn set_guild_discovery_tags(&self, guild_id: i64, tags: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE guilds SET discovery_tags = $1 WHERE id = $2")
            .bind(tags).bind(guild_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The summary fields of guild `guild_id` (discoverable or not), if it exists.
    pub async fn discoverable_guild(&self, guild_id: i64) -> Result<Option<DiscoverableGuildRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, name, icon, description, owner_id, system_channel_id, preferred_locale, discoverable, discovery_tags, host_server FROM guilds WHERE id = $1"
        ).bind(guild_id).fetch_optional(p).await)?)
    }

    /// Every guild hosted here and marked discoverable.
    pub async fn discoverable_guilds(&self) -> Result<Vec<DiscoverableGuildRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, name, icon, description, owner_id, system_channel_id, preferred_locale, discoverable, discovery_tags, host_server FROM guilds WHERE discoverable AND host_server IS NULL ORDER BY id"
        ).fetch_all(p).await)?)
    }

    /// Id (a snowflake, so a time) of the newest message of a guild, if any.
    pub async fn guild_last_message_id(&self, guild_id: i64) -> Result<Option<i64>> {
        let r: (Option<i64>,) = on_db!(self, p => sqlx::query_as(
            "SELECT MAX(id) FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = $1)"
        ).bind(guild_id).fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Sets `users.discoverable` (handle lookup opt-in).
    pub async fn set_user_discoverable(&self, user_id: i64, on: bool) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE users SET discoverable = $1 WHERE id = $2")
            .bind(on).bind(user_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Whether a user opted in to handle lookup.
    pub async fn user_discoverable(&self, user_id: i64) -> Result<bool> {
        let r: Option<(bool,)> = on_db!(self, p => sqlx::query_as("SELECT discoverable FROM users WHERE id = $1")
            .bind(user_id).fetch_optional(p).await)?;
        Ok(r.is_some_and(|r| r.0))
    }

    /// Every local user who opted in to handle lookup.
    pub async fn discoverable_users(&self) -> Result<Vec<DiscoverableUserRow>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT id, username, global_name, avatar, bio FROM users WHERE discoverable AND home_server IS NULL ORDER BY id"
        ).fetch_all(p).await)?)
    }

    /// Records a challenge token this server asked a registrar for.
    pub async fn insert_registrar_challenge(
        &self,
        token: &str,
        registrar: &str,
        created_at: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO registrar_challenges (token, registrar, created_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (token) DO NOTHING"
        ).bind(token).bind(registrar).bind(created_at).bind(expires_at).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The registrar a pending, unexpired token was issued by.
    pub async fn registrar_challenge(&self, token: &str, now: i64) -> Result<Option<String>> {
        let r: Option<(String,)> = on_db!(self, p => sqlx::query_as(
            "SELECT registrar FROM registrar_challenges WHERE token = $1 AND expires_at > $2"
        ).bind(token).bind(now).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// Forgets a token (registration finished) and every expired one.
    pub async fn delete_registrar_challenge(&self, token: &str, now: i64) -> Result<()> {
        on_db!(self, p => sqlx::query("DELETE FROM registrar_challenges WHERE token = $1 OR expires_at <= $2")
            .bind(token).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
