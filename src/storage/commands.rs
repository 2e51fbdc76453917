//! Application commands and their guild permissions (migration 0016; Discord "Interactions >
//! Application Commands"). A command's scope is its application and either no guild
//! (`scope` 0: global) or one guild; `(application, scope, kind, name)` is unique. Writes
//! that count or replace commands run in ONE transaction that first locks the application's
//! row (PostgreSQL; SQLite's `BEGIN IMMEDIATE` holds the only writer lock), so the per-scope
//! limits hold under concurrency and a bulk overwrite is seen whole or not at all. Deleting
//! or renaming a command deletes its permissions in the same transaction; a guild's or an
//! application's deletion takes their commands and permissions with it (foreign keys).

use super::atomic::write_tx;
use super::{AuditRow, Db, on_db};
use crate::error::Result;

/// A stored command: `body` is the validated command object's JSON without the columns.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommandRow {
    pub id: i64,
    pub application_id: i64,
    /// 0 for a global command, else the guild's id.
    pub scope: i64,
    pub guild_id: Option<i64>,
    /// Discord's application command type (1 CHAT_INPUT, 2 USER, 3 MESSAGE).
    pub kind: i64,
    pub name: String,
    /// A snowflake, new at every change.
    pub version: i64,
    pub body: String,
}

/// What [`Db::upsert_command`] and [`Db::update_command`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandWrite {
    /// Stored; `true` when a new command was created (not an existing one of the same name
    /// and type replaced).
    Stored(CommandRow, bool),
    /// The scope already holds its maximum of commands of that type; nothing written.
    Limit,
    /// Another command of the scope has that name and type; nothing written.
    NameTaken,
    /// No such command in the scope.
    Missing,
}

const COLS: &str = "id, application_id, scope, guild_id, kind, name, version, body";

/// PostgreSQL: locks the application's row until the transaction ends (serializes every
/// command write of the application); SQLite: nothing (`BEGIN IMMEDIATE`).
macro_rules! lock_app {
    ($db:expr, $tx:expr, $id:expr) => {
        if $db.is_postgres() {
            sqlx::query("SELECT id FROM applications WHERE id = $1 FOR NO KEY UPDATE")
                .bind($id)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// The INSERT of one command row.
macro_rules! insert_q {
    ($r:expr) => {
        sqlx::query(
            "INSERT INTO application_commands (id, application_id, scope, guild_id, kind, name, version, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind($r.id).bind($r.application_id).bind($r.scope).bind($r.guild_id)
            .bind($r.kind).bind(&$r.name).bind($r.version).bind(&$r.body)
    };
}

impl Db {
    /// The commands of an application in a scope (0: global), by id.
    pub async fn commands(&self, app_id: i64, scope: i64) -> Result<Vec<CommandRow>> {
        let q = format!(
            "SELECT {COLS} FROM application_commands WHERE application_id = $1 AND scope = $2 ORDER BY id"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(app_id).bind(scope).fetch_all(p).await)?,
        )
    }

    /// The commands usable in guild `guild_id`: global ones and the guild's, of the
    /// applications whose bot is a member of the guild, by name then id.
    pub async fn guild_command_index(&self, guild_id: i64) -> Result<Vec<CommandRow>> {
        let q = "SELECT c.id, c.application_id, c.scope, c.guild_id, c.kind, c.name, c.version, c.body \
            FROM application_commands c JOIN applications a ON a.id = c.application_id \
            JOIN members m ON m.guild_id = $1 AND m.user_id = a.bot_user_id \
            WHERE c.scope = 0 OR c.scope = $1 ORDER BY c.name, c.id";
        Ok(on_db!(self, p => sqlx::query_as(q).bind(guild_id).fetch_all(p).await)?)
    }

    /// One command of an application in a scope, `None` when there is none.
    pub async fn command(&self, app_id: i64, scope: i64, id: i64) -> Result<Option<CommandRow>> {
        let q = format!(
            "SELECT {COLS} FROM application_commands WHERE id = $1 AND application_id = $2 AND scope = $3"
        );
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).bind(app_id).bind(scope).fetch_optional(p).await)?,
        )
    }

    /// Creates `row`, or replaces the command of the same name and type in its scope
    /// (keeping its id), unless the scope already holds `max` commands of that type.
    /// `row.id` is used only for a new command.
    pub async fn upsert_command(&self, row: &CommandRow, max: i64) -> Result<CommandWrite> {
        let find = format!(
            "SELECT {COLS} FROM application_commands WHERE application_id = $1 AND scope = $2 AND kind = $3 AND name = $4"
        );
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_app!(self, tx, row.application_id);
            let old: Option<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(find.as_str()))
                .bind(row.application_id).bind(row.scope).bind(row.kind).bind(&row.name)
                .fetch_optional(&mut *tx).await?;
            let out = if let Some(old) = old {
                sqlx::query("UPDATE application_commands SET version = $2, body = $3 WHERE id = $1")
                    .bind(old.id).bind(row.version).bind(&row.body).execute(&mut *tx).await?;
                CommandWrite::Stored(CommandRow { id: old.id, ..row.clone() }, false)
            } else {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM application_commands WHERE application_id = $1 AND scope = $2 AND kind = $3")
                    .bind(row.application_id).bind(row.scope).bind(row.kind).fetch_one(&mut *tx).await?;
                if n >= max {
                    return Ok(CommandWrite::Limit);
                }
                insert_q!(row).execute(&mut *tx).await?;
                CommandWrite::Stored(row.clone(), true)
            };
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Replaces the name, body and version of command `row.id` of `row`'s scope; a rename
    /// deletes its permissions in every guild (as Discord does).
    pub async fn update_command(&self, row: &CommandRow) -> Result<CommandWrite> {
        let find = format!(
            "SELECT {COLS} FROM application_commands WHERE id = $1 AND application_id = $2 AND scope = $3"
        );
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_app!(self, tx, row.application_id);
            let old: Option<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(find.as_str()))
                .bind(row.id).bind(row.application_id).bind(row.scope)
                .fetch_optional(&mut *tx).await?;
            let Some(old) = old else {
                return Ok(CommandWrite::Missing);
            };
            if old.name != row.name {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM application_commands WHERE application_id = $1 AND scope = $2 AND kind = $3 AND name = $4")
                    .bind(row.application_id).bind(row.scope).bind(old.kind).bind(&row.name).fetch_one(&mut *tx).await?;
                if n > 0 {
                    return Ok(CommandWrite::NameTaken);
                }
                sqlx::query("DELETE FROM application_command_permissions WHERE command_id = $1")
                    .bind(row.id).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE application_commands SET name = $2, version = $3, body = $4 WHERE id = $1")
                .bind(row.id).bind(&row.name).bind(row.version).bind(&row.body).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(CommandWrite::Stored(CommandRow { kind: old.kind, guild_id: old.guild_id, ..row.clone() }, false))
        })
    }

    /// Deletes a command of a scope with its permissions; whether it existed.
    pub async fn delete_command(&self, app_id: i64, scope: i64, id: i64) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM application_commands WHERE id = $1 AND application_id = $2 AND scope = $3")
                .bind(id).bind(app_id).bind(scope).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM application_command_permissions WHERE command_id = $1 AND application_id = $2")
                .bind(id).bind(app_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(n > 0)
        })
    }

    /// Bulk overwrite: in ONE transaction, the scope's commands become `rows`. A row whose
    /// type and name match a stored command keeps that command's id (and its version when
    /// its body is unchanged); the others are inserted with their own id; stored commands not
    /// in `rows` are deleted with their permissions. Returns the commands as stored, in the
    /// order of `rows`. `rows` must have unique (kind, name) pairs.
    pub async fn overwrite_commands(
        &self,
        app_id: i64,
        scope: i64,
        rows: &[CommandRow],
    ) -> Result<Vec<CommandRow>> {
        let all = format!(
            "SELECT {COLS} FROM application_commands WHERE application_id = $1 AND scope = $2"
        );
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_app!(self, tx, app_id);
            let old: Vec<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(all.as_str()))
                .bind(app_id).bind(scope).fetch_all(&mut *tx).await?;
            for o in &old {
                if !rows.iter().any(|r| r.kind == o.kind && r.name == o.name) {
                    sqlx::query("DELETE FROM application_commands WHERE id = $1").bind(o.id).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM application_command_permissions WHERE command_id = $1 AND application_id = $2")
                        .bind(o.id).bind(app_id).execute(&mut *tx).await?;
                }
            }
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                match old.iter().find(|o| o.kind == r.kind && o.name == r.name) {
                    Some(o) if o.body == r.body => out.push(o.clone()),
                    Some(o) => {
                        sqlx::query("UPDATE application_commands SET version = $2, body = $3 WHERE id = $1")
                            .bind(o.id).bind(r.version).bind(&r.body).execute(&mut *tx).await?;
                        out.push(CommandRow { id: o.id, ..r.clone() });
                    }
                    None => {
                        insert_q!(r).execute(&mut *tx).await?;
                        out.push(r.clone());
                    }
                }
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// The permissions of an application's commands in a guild: `(command id, JSON array)`,
    /// by command id.
    pub async fn command_permissions(
        &self,
        guild_id: i64,
        app_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        Ok(on_db!(self, p => sqlx::query_as(
            "SELECT command_id, permissions FROM application_command_permissions WHERE guild_id = $1 AND application_id = $2 ORDER BY command_id")
            .bind(guild_id).bind(app_id).fetch_all(p).await)?)
    }

    /// The permissions of one command (or of the application, by its id) in a guild.
    pub async fn command_permission(
        &self,
        guild_id: i64,
        app_id: i64,
        command_id: i64,
    ) -> Result<Option<String>> {
        let r: Option<(String,)> = on_db!(self, p => sqlx::query_as(
            "SELECT permissions FROM application_command_permissions WHERE guild_id = $1 AND application_id = $2 AND command_id = $3")
            .bind(guild_id).bind(app_id).bind(command_id).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// Replaces the permissions of `command_id` in a guild: in one transaction, checks that
    /// it is the application's id or one of its global commands or commands of that guild
    /// (`false`, nothing written, otherwise) and stores `permissions` (a JSON array) with
    /// the audit entry `audit` makes of the list it replaces (`[]` when there was none), if
    /// it makes one.
    pub async fn set_command_permissions(
        &self,
        guild_id: i64,
        app_id: i64,
        command_id: i64,
        permissions: &str,
        audit: impl FnOnce(&str) -> Option<AuditRow>,
    ) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            lock_app!(self, tx, app_id);
            if command_id != app_id {
                let found: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM application_commands WHERE id = $1 AND application_id = $2 AND (scope = 0 OR scope = $3)")
                    .bind(command_id).bind(app_id).bind(guild_id).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Ok(false);
                }
            }
            let old: Option<(String,)> = sqlx::query_as(
                "SELECT permissions FROM application_command_permissions WHERE guild_id = $1 AND command_id = $2")
                .bind(guild_id).bind(command_id).fetch_optional(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO application_command_permissions (guild_id, command_id, application_id, permissions) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (guild_id, command_id) DO UPDATE SET permissions = excluded.permissions")
                .bind(guild_id).bind(command_id).bind(app_id).bind(permissions).execute(&mut *tx).await?;
            if let Some(a) = audit(old.as_ref().map_or("[]", |o| o.0.as_str())) {
                super::change::insert_audit!(&mut *tx, &a)?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}
