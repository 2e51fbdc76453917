//! Custom emoji of guilds (migration 0010): one row per emoji, its allowed roles in
//! `emoji_roles`. Creation checks the guild's limits (static and animated apart) inside its
//! transaction and writes the audit entry with it, as do updates and deletions.

use std::collections::HashMap;

use super::change::{Tx, on_tx};
use super::{AuditRow, Change, Db, Lock, on_db};
use crate::error::Result;

/// A custom emoji (Discord "Emoji Object"); `blob_key` names its image in the blob store.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmojiRow {
    pub id: i64,
    pub guild_id: i64,
    pub name: String,
    /// The creator.
    pub user_id: i64,
    pub animated: bool,
    pub blob_key: String,
    pub created_at: i64,
}

/// An emoji with the ids of the roles allowed to use it (empty: everyone), ascending.
#[derive(Debug, Clone)]
pub struct Emoji {
    pub row: EmojiRow,
    pub roles: Vec<i64>,
}

/// Why [`Db::create_emoji`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmojiLimit {
    /// The guild has its maximum of static emoji.
    Static,
    /// The guild has its maximum of animated emoji.
    Animated,
}

pub(super) const COLS: &str = "id, guild_id, name, user_id, animated, blob_key, created_at";

impl Db {
    /// The emoji of a guild, by id, with their roles.
    pub async fn emojis(&self, guild_id: i64) -> Result<Vec<Emoji>> {
        let q = format!("SELECT {COLS} FROM emojis WHERE guild_id = $1 ORDER BY id");
        let rows: Vec<EmojiRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).fetch_all(p).await)?;
        let links: Vec<(i64, i64)> = on_db!(self, p => sqlx::query_as(
            "SELECT er.emoji_id, er.role_id FROM emoji_roles er JOIN emojis e ON e.id = er.emoji_id WHERE e.guild_id = $1 ORDER BY er.role_id")
            .bind(guild_id).fetch_all(p).await)?;
        let mut roles: HashMap<i64, Vec<i64>> = HashMap::new();
        for (e, r) in links {
            roles.entry(e).or_default().push(r);
        }
        Ok(rows
            .into_iter()
            .map(|row| Emoji {
                roles: roles.remove(&row.id).unwrap_or_default(),
                row,
            })
            .collect())
    }

    /// One emoji of a guild with its roles, `None` when the guild has no such emoji.
    pub async fn emoji(&self, guild_id: i64, id: i64) -> Result<Option<Emoji>> {
        let q = format!("SELECT {COLS} FROM emojis WHERE id = $1 AND guild_id = $2");
        let row: Option<EmojiRow> = on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).bind(guild_id).fetch_optional(p).await)?;
        let Some(row) = row else { return Ok(None) };
        let roles: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT role_id FROM emoji_roles WHERE emoji_id = $1 ORDER BY role_id")
            .bind(id).fetch_all(p).await)?;
        Ok(Some(Emoji {
            row,
            roles: roles.into_iter().map(|r| r.0).collect(),
        }))
    }

    /// An emoji row by id alone (the CDN route), `None` when there is none.
    pub async fn emoji_by_id(&self, id: i64) -> Result<Option<EmojiRow>> {
        let q = format!("SELECT {COLS} FROM emojis WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }
}

impl Db {
    /// Inserts an emoji with its roles and the audit entry in a [`Change`] that first counts
    /// the guild's emoji of the same kind (under the guild's lock): `Err(limit)` (nothing
    /// written) when `max_static` static or `max_animated` animated emoji exist already.
    /// Roles that are not the guild's are skipped. The change is returned open: the caller
    /// adds its federation log entry and commits (`Hearth::commit`).
    pub async fn create_emoji(
        &self,
        e: &Emoji,
        max_static: i64,
        max_animated: i64,
        audit: &AuditRow,
    ) -> Result<std::result::Result<Change, EmojiLimit>> {
        let mut ch = self.change(Lock::Guild(e.row.guild_id)).await?;
        if let Err(l) = ch.insert_emoji(e, max_static, max_animated).await? {
            return Ok(Err(l));
        }
        ch.audit(audit).await?;
        Ok(Ok(ch))
    }

    /// Renames an emoji and (with `roles`) replaces its role list, with the audit entry, in a
    /// [`Change`] returned open (as [`Db::create_emoji`]). `None` (nothing written) when the
    /// guild has no such emoji.
    pub async fn update_emoji(
        &self,
        guild_id: i64,
        id: i64,
        name: &str,
        roles: Option<&[i64]>,
        audit: &AuditRow,
    ) -> Result<Option<Change>> {
        let mut ch = self.change(Lock::Guild(guild_id)).await?;
        if !ch.update_emoji(guild_id, id, name, roles).await? {
            return Ok(None);
        }
        ch.audit(audit).await?;
        Ok(Some(ch))
    }

    /// Deletes an emoji (its roles cascade) with the audit entry, in a [`Change`] returned
    /// open (as [`Db::create_emoji`]) with the deleted row; `None` (nothing written) when
    /// the guild has no such emoji.
    pub async fn delete_emoji(
        &self,
        guild_id: i64,
        id: i64,
        audit: &AuditRow,
    ) -> Result<Option<(Change, EmojiRow)>> {
        let mut ch = self.change(Lock::Guild(guild_id)).await?;
        let Some(row) = ch.delete_emoji(guild_id, id).await? else {
            return Ok(None);
        };
        ch.audit(audit).await?;
        Ok(Some((ch, row)))
    }
}

impl Change {
    /// The emoji of a guild with their roles, by id, as this change sees them.
    pub async fn emojis(&mut self, guild_id: i64) -> Result<Vec<Emoji>> {
        let q = format!("SELECT {COLS} FROM emojis WHERE guild_id = $1 ORDER BY id");
        let (rows, links): (Vec<EmojiRow>, Vec<(i64, i64)>) = on_tx!(self, tx => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(guild_id).fetch_all(&mut *tx).await?;
            let links = sqlx::query_as("SELECT er.emoji_id, er.role_id FROM emoji_roles er JOIN emojis e ON e.id = er.emoji_id WHERE e.guild_id = $1 ORDER BY er.role_id")
                .bind(guild_id).fetch_all(&mut *tx).await?;
            (rows, links)
        });
        let mut roles: HashMap<i64, Vec<i64>> = HashMap::new();
        for (e, r) in links {
            roles.entry(e).or_default().push(r);
        }
        Ok(rows
            .into_iter()
            .map(|row| Emoji {
                roles: roles.remove(&row.id).unwrap_or_default(),
                row,
            })
            .collect())
    }

    /// The rows of [`Db::create_emoji`] (limit counted first).
    async fn insert_emoji(
        &mut self,
        e: &Emoji,
        max_static: i64,
        max_animated: i64,
    ) -> Result<std::result::Result<(), EmojiLimit>> {
        let r = &e.row;
        let q = format!("INSERT INTO emojis ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        Ok(on_tx!(self, tx => {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM emojis WHERE guild_id = $1 AND animated = $2")
                .bind(r.guild_id).bind(r.animated).fetch_one(&mut *tx).await?;
            if r.animated && n >= max_animated {
                Err(EmojiLimit::Animated)
            } else if !r.animated && n >= max_static {
                Err(EmojiLimit::Static)
            } else {
                sqlx::query(sqlx::AssertSqlSafe(q.as_str()))
                    .bind(r.id).bind(r.guild_id).bind(&r.name).bind(r.user_id).bind(r.animated).bind(&r.blob_key).bind(r.created_at)
                    .execute(&mut *tx).await?;
                for role in &e.roles {
                    sqlx::query("INSERT INTO emoji_roles (emoji_id, role_id) SELECT $1, id FROM roles WHERE id = $2 AND guild_id = $3")
                        .bind(r.id).bind(role).bind(r.guild_id).execute(&mut *tx).await?;
                }
                Ok(())
            }
        }))
    }

    /// The rows of [`Db::update_emoji`].
    async fn update_emoji(
        &mut self,
        guild_id: i64,
        id: i64,
        name: &str,
        roles: Option<&[i64]>,
    ) -> Result<bool> {
        Ok(on_tx!(self, tx => {
            let n = sqlx::query("UPDATE emojis SET name = $1 WHERE id = $2 AND guild_id = $3")
                .bind(name).bind(id).bind(guild_id).execute(&mut *tx).await?.rows_affected();
            if n > 0 && let Some(roles) = roles {
                sqlx::query("DELETE FROM emoji_roles WHERE emoji_id = $1").bind(id).execute(&mut *tx).await?;
                for role in roles {
                    sqlx::query("INSERT INTO emoji_roles (emoji_id, role_id) SELECT $1, id FROM roles WHERE id = $2 AND guild_id = $3")
                        .bind(id).bind(role).bind(guild_id).execute(&mut *tx).await?;
                }
            }
            n > 0
        }))
    }

    /// The row of [`Db::delete_emoji`].
    async fn delete_emoji(&mut self, guild_id: i64, id: i64) -> Result<Option<EmojiRow>> {
        let q = format!("DELETE FROM emojis WHERE id = $1 AND guild_id = $2 RETURNING {COLS}");
        Ok(
            on_tx!(self, tx => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
            .bind(id).bind(guild_id).fetch_optional(&mut *tx).await)?,
        )
    }
}
