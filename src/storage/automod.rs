//! Auto Moderation rules (migration 0030; Discord "Resources > Auto Moderation"): one row per
//! rule, its trigger metadata, actions and exemptions as JSON text. Reads go through [`Db`];
//! writes through the request's [`Change`], so the row, its audit entry and the per-type
//! count it was checked against commit together (the change locks the guild's row).

use super::change::{Tx, on_tx};
use super::{Change, Db, on_db};
use crate::error::Result;

/// A stored rule. `trigger_metadata` and `actions` are JSON (`wire::TriggerMetadata`,
/// `[wire::AutoModerationAction]`), `exempt_roles` and `exempt_channels` JSON arrays of
/// snowflake strings.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AutomodRuleRow {
    pub id: i64,
    pub guild_id: i64,
    pub name: String,
    pub creator_id: i64,
    pub event_type: i64,
    pub trigger_type: i64,
    pub trigger_metadata: String,
    pub actions: String,
    pub enabled: bool,
    pub exempt_roles: String,
    pub exempt_channels: String,
}

const COLS: &str = "id, guild_id, name, creator_id, event_type, trigger_type, trigger_metadata, actions, enabled, exempt_roles, exempt_channels";

impl Db {
    /// A guild's rules, by id.
    pub async fn automod_rules(&self, guild_id: i64) -> Result<Vec<AutomodRuleRow>> {
        let q = format!("SELECT {COLS} FROM automod_rules WHERE guild_id = $1 ORDER BY id");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).fetch_all(p).await)?,
        )
    }

    /// One rule of a guild.
    pub async fn automod_rule(&self, guild_id: i64, id: i64) -> Result<Option<AutomodRuleRow>> {
        let q = format!("SELECT {COLS} FROM automod_rules WHERE guild_id = $1 AND id = $2");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).bind(id).fetch_optional(p).await)?,
        )
    }

    /// The members of a guild holding any bit of `bits` at guild level: the owner, and
    /// members whose roles (or @everyone) grant one of them. `bits` should include
    /// ADMINISTRATOR. One statement.
    pub async fn members_with_permission(&self, guild_id: i64, bits: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = on_db!(self, p => sqlx::query_as(
            "SELECT m.user_id FROM members m WHERE m.guild_id = $1 AND (
                m.user_id = (SELECT owner_id FROM guilds WHERE id = $1)
                OR EXISTS (SELECT 1 FROM roles r WHERE r.id = $1 AND (r.permissions & $2) <> 0)
                OR EXISTS (SELECT 1 FROM member_roles mr JOIN roles r ON r.id = mr.role_id
                    WHERE mr.guild_id = $1 AND mr.user_id = m.user_id AND (r.permissions & $2) <> 0))
             ORDER BY m.user_id")
            .bind(guild_id).bind(bits).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }
}

impl Change {
    /// Sets the guild member flags of `user_id` in `guild_id` (migration 0043); whether the
    /// member exists.
    pub async fn set_member_flags(
        &mut self,
        guild_id: i64,
        user_id: i64,
        flags: i64,
    ) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("UPDATE members SET flags = $1 WHERE guild_id = $2 AND user_id = $3")
            .bind(flags).bind(guild_id).bind(user_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// The number of rules of `trigger_type` in a guild (for the per-guild limits, inside
    /// the writing change).
    pub async fn count_automod_rules(&mut self, guild_id: i64, trigger_type: i64) -> Result<i64> {
        let (n,): (i64,) = on_tx!(self, tx => sqlx::query_as("SELECT COUNT(*) FROM automod_rules WHERE guild_id = $1 AND trigger_type = $2")
            .bind(guild_id).bind(trigger_type).fetch_one(&mut *tx).await)?;
        Ok(n)
    }

    /// Stores a new rule.
    pub async fn insert_automod_rule(&mut self, r: &AutomodRuleRow) -> Result<()> {
        on_tx!(self, tx => sqlx::query("INSERT INTO automod_rules (id, guild_id, name, creator_id, event_type, trigger_type, trigger_metadata, actions, enabled, exempt_roles, exempt_channels) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(r.id).bind(r.guild_id).bind(&r.name).bind(r.creator_id).bind(r.event_type).bind(r.trigger_type)
            .bind(&r.trigger_metadata).bind(&r.actions).bind(r.enabled).bind(&r.exempt_roles).bind(&r.exempt_channels)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores a rule's changeable fields; whether it still existed.
    pub async fn update_automod_rule(&mut self, r: &AutomodRuleRow) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("UPDATE automod_rules SET name = $1, event_type = $2, trigger_metadata = $3, actions = $4, enabled = $5, exempt_roles = $6, exempt_channels = $7 WHERE id = $8 AND guild_id = $9")
            .bind(&r.name).bind(r.event_type).bind(&r.trigger_metadata).bind(&r.actions).bind(r.enabled)
            .bind(&r.exempt_roles).bind(&r.exempt_channels).bind(r.id).bind(r.guild_id)
            .execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes a rule; whether it existed.
    pub async fn delete_automod_rule(&mut self, guild_id: i64, id: i64) -> Result<bool> {
        let n = on_tx!(self, tx => sqlx::query("DELETE FROM automod_rules WHERE id = $1 AND guild_id = $2").bind(id).bind(guild_id).execute(&mut *tx).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
