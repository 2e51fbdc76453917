//! Accounts, login sessions, bot applications and relationships.

use super::atomic::write_tx;
use super::{Db, SecurityEntry, log_security, on_db};
use crate::error::Result;

/// A row of `users`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub global_name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub avatar: Option<String>,
    pub bio: String,
    pub bot: bool,
    pub admin: bool,
    pub suspended: bool,
    pub dm_policy: i64,
    pub created_at: i64,
    /// The user's home server when it is a remote user; `None` for local users.
    pub home_server: Option<String>,
    /// TOTP two-factor is enabled (migration 0011; set only by `Db::enable_totp`).
    pub mfa_enabled: bool,
    /// The current email was confirmed by a mailed token (migration 0013).
    pub email_verified: bool,
    /// The profile banner's image hash (migration 0010).
    pub banner: Option<String>,
    /// The user has at least one passkey (migration 0014; kept by `Db::insert_passkey` and
    /// `Db::delete_passkey`). With `mfa_enabled`, the account has a second factor.
    pub webauthn_enabled: bool,
}

impl UserRow {
    /// Whether the account has any second factor (TOTP or a passkey): Discord's
    /// `mfa_enabled`, which security keys also turn on.
    pub fn has_mfa(&self) -> bool {
        self.mfa_enabled || self.webauthn_enabled
    }
}

pub(super) const USER_COLS: &str = "id, username, global_name, email, password_hash, avatar, bio, bot, admin, suspended, dm_policy, created_at, home_server, mfa_enabled, email_verified, banner, webauthn_enabled";

/// `USER_COLS` qualified by the alias `u` (`u.id, u.username, ...`), built once.
fn user_cols_u() -> &'static str {
    static COLS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        USER_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    COLS.as_str()
}

/// A row of `sessions`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub refresh_hash: String,
    pub created_at: i64,
    pub refreshed_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A row of `applications`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub owner_id: i64,
    pub bot_user_id: i64,
    pub bot_token_hash: String,
    pub bot_public: bool,
    pub flags: i64,
    pub created_at: i64,
}

/// Fields of a user a `PATCH /users/@me` may change (`None` = unchanged).
#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    pub username: Option<String>,
    pub global_name: Option<Option<String>>,
    pub avatar: Option<Option<String>>,
    pub banner: Option<Option<String>>,
    pub bio: Option<String>,
    pub password_hash: Option<String>,
    pub dm_policy: Option<i64>,
    /// A new email (unverified until a mailed token confirms it).
    pub email: Option<String>,
}

/// The unique lookup key of a user: `name` for local users, `name@server` for remote ones
/// (local names cannot contain `@`, so the two never collide).
pub fn lower_name(u: &UserRow) -> String {
    match &u.home_server {
        Some(s) => format!("{}@{}", u.username.to_lowercase(), s.to_lowercase()),
        None => u.username.to_lowercase(),
    }
}

macro_rules! insert_user_q {
    ($u:expr) => {
        sqlx::query(
            "INSERT INTO users (id, username, username_lower, global_name, email, password_hash, avatar, bio, bot, admin, suspended, dm_policy, created_at, home_server)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
            .bind($u.id).bind(&$u.username).bind($crate::storage::lower_name($u)).bind(&$u.global_name)
            .bind(&$u.email).bind(&$u.password_hash).bind(&$u.avatar).bind(&$u.bio).bind($u.bot)
            .bind($u.admin).bind($u.suspended).bind($u.dm_policy).bind($u.created_at).bind(&$u.home_server)
    };
}
pub(super) use insert_user_q;

impl Db {
    /// Inserts a user. Errors: unique violation when the username (case-insensitive) exists.
    pub async fn insert_user(&self, u: &UserRow) -> Result<(), sqlx::Error> {
        on_db!(self, p => insert_user_q!(u).execute(p).await.map(|_| ()))
    }

    pub async fn user(&self, id: i64) -> Result<Option<UserRow>> {
        let q = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(id).fetch_optional(p).await)?,
        )
    }

    /// The rows of `ids` that exist, by id (one query; see [`Db::users`]).
    pub async fn users_by_id(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, UserRow>> {
        Ok(self
            .users(ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }

    pub async fn users(&self, ids: &[i64]) -> Result<Vec<UserRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let q = format!("SELECT {USER_COLS} FROM users WHERE id IN ({list})");
        Ok(on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).fetch_all(p).await)?)
    }

    /// A user by username (case-insensitive) or email, for login.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>> {
        let q = format!(
            "SELECT {USER_COLS} FROM users WHERE username_lower = $1 OR (email IS NOT NULL AND lower(email) = $1) ORDER BY id LIMIT 1"
        );
        let l = login.to_lowercase();
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(&l).fetch_optional(p).await)?,
        )
    }

    pub async fn count_users(&self) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM users WHERE bot = FALSE AND home_server IS NULL").fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Users with id > `after`, ascending, at most `limit` (admin listing).
    pub async fn list_users(&self, after: i64, limit: i64) -> Result<Vec<UserRow>> {
        let q = format!("SELECT {USER_COLS} FROM users WHERE id > $1 ORDER BY id LIMIT $2");
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(after).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Applies a patch. Errors: unique violation on a taken username.
    /// Applies `patch` to user `id` with the security log entries `log` (an email change), in
    /// one transaction.
    pub async fn update_user(
        &self,
        id: i64,
        patch: &UserPatch,
        log: &[SecurityEntry],
    ) -> Result<(), sqlx::Error> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            if let Some(u) = &patch.username {
                sqlx::query("UPDATE users SET username = $1, username_lower = $2 WHERE id = $3")
                    .bind(u).bind(u.to_lowercase()).bind(id).execute(&mut *tx).await?;
            }
            if let Some(g) = &patch.global_name {
                sqlx::query("UPDATE users SET global_name = $1 WHERE id = $2").bind(g).bind(id).execute(&mut *tx).await?;
            }
            if let Some(a) = &patch.avatar {
                sqlx::query("UPDATE users SET avatar = $1 WHERE id = $2").bind(a).bind(id).execute(&mut *tx).await?;
            }
            if let Some(b) = &patch.banner {
                sqlx::query("UPDATE users SET banner = $1 WHERE id = $2").bind(b).bind(id).execute(&mut *tx).await?;
            }
            if let Some(b) = &patch.bio {
                sqlx::query("UPDATE users SET bio = $1 WHERE id = $2").bind(b).bind(id).execute(&mut *tx).await?;
            }
            if let Some(h) = &patch.password_hash {
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(h).bind(id).execute(&mut *tx).await?;
            }
            if let Some(e) = &patch.email {
                sqlx::query("UPDATE users SET email = $1, email_verified = FALSE WHERE id = $2").bind(e).bind(id).execute(&mut *tx).await?;
            }
            if let Some(d) = patch.dm_policy {
                sqlx::query("UPDATE users SET dm_policy = $1 WHERE id = $2").bind(d).bind(id).execute(&mut *tx).await?;
            }
            for e in log {
                log_security!(tx, e);
            }
            tx.commit().await
        })
    }

    pub async fn set_user_flags(
        &self,
        id: i64,
        admin: Option<bool>,
        suspended: Option<bool>,
    ) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query(
            "UPDATE users SET admin = COALESCE($1, admin), suspended = COALESCE($2, suspended) WHERE id = $3")
            .bind(admin).bind(suspended).bind(id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    // ---- sessions -------------------------------------------------------------------

    /// Stores a new login session; its re-authentication time is its creation (a session is
    /// only opened after the password, and the second factor if any, were proven).
    pub async fn insert_session(&self, s: &SessionRow) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO sessions (id, user_id, refresh_hash, created_at, refreshed_at, ip, user_agent, reauth_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $4)")
            .bind(s.id).bind(s.user_id).bind(&s.refresh_hash).bind(s.created_at).bind(s.refreshed_at)
            .bind(&s.ip).bind(&s.user_agent).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn session(&self, id: i64) -> Result<Option<SessionRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT id, user_id, refresh_hash, created_at, refreshed_at, ip, user_agent FROM sessions WHERE id = $1")
            .bind(id).fetch_optional(p).await)?,
        )
    }

    /// The user of login session `id` (sessions joined with users: one statement for
    /// `authenticate`); `None` when the session was revoked or the user is gone.
    pub async fn session_user(&self, id: i64) -> Result<Option<UserRow>> {
        self.joined_user(
            "sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
            id,
        )
        .await
    }

    /// The bot user of the application whose token hashes to `hash` (one statement for
    /// `authenticate`); `None` for an unknown or reset token.
    pub async fn bot_user_by_token(&self, hash: &str) -> Result<Option<UserRow>> {
        self.joined_user(
            "applications a JOIN users u ON u.id = a.bot_user_id WHERE a.bot_token_hash = $1",
            hash,
        )
        .await
    }

    /// `SELECT u.<user columns> FROM {from_where}` with `$1` bound to `key`: one user row
    /// reached through a join (the users table must be aliased `u`).
    async fn joined_user<K>(&self, from_where: &str, key: K) -> Result<Option<UserRow>>
    where
        K: for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>
            + Send,
    {
        let q = format!("SELECT {} FROM {from_where}", user_cols_u());
        Ok(
            on_db!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(q.as_str())).bind(key).fetch_optional(p).await)?,
        )
    }

    pub async fn session_by_refresh(&self, hash: &str) -> Result<Option<SessionRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT id, user_id, refresh_hash, created_at, refreshed_at, ip, user_agent FROM sessions WHERE refresh_hash = $1")
            .bind(hash).fetch_optional(p).await)?,
        )
    }

    /// Whether `user_id` has a login session opened from address `ip` (the login backoff's
    /// "known address").
    pub async fn logged_in_from(&self, user_id: i64, ip: &str) -> Result<bool> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT id FROM sessions WHERE user_id = $1 AND ip = $2 LIMIT 1")
            .bind(user_id).bind(ip).fetch_optional(p).await)?;
        Ok(r.is_some())
    }

    pub async fn sessions_of(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT id, user_id, refresh_hash, created_at, refreshed_at, ip, user_agent FROM sessions WHERE user_id = $1 ORDER BY id")
            .bind(user_id).fetch_all(p).await)?,
        )
    }

    /// Atomically replaces the refresh token of a session: succeeds only if `old` is still the
    /// current one (a concurrent rotation loses), and records `old` as spent.
    pub async fn rotate_refresh(
        &self,
        session_id: i64,
        old: &str,
        new: &str,
        now: i64,
    ) -> Result<bool> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("UPDATE sessions SET refresh_hash = $1, refreshed_at = $2 WHERE id = $3 AND refresh_hash = $4")
                .bind(new).bind(now).bind(session_id).bind(old).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("INSERT INTO spent_refresh_tokens (refresh_hash, session_id, spent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(old).bind(session_id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// The session a spent refresh token belonged to.
    pub async fn spent_refresh(&self, hash: &str) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT session_id FROM spent_refresh_tokens WHERE refresh_hash = $1")
            .bind(hash).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    /// Deletes a session of `user_id`; `false` if there was none.
    pub async fn delete_session(&self, user_id: i64, id: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id).bind(user_id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Deletes every session of `user_id` except `keep`; returns the deleted ids.
    pub async fn delete_sessions_except(
        &self,
        user_id: i64,
        keep: Option<i64>,
    ) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = on_db!(self, p => sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
            .bind(user_id).bind(keep.unwrap_or(-1)).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    // ---- applications ---------------------------------------------------------------

    pub async fn insert_application(&self, a: &ApplicationRow) -> Result<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO applications (id, name, description, owner_id, bot_user_id, bot_token_hash, bot_public, flags, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(a.id).bind(&a.name).bind(&a.description).bind(a.owner_id).bind(a.bot_user_id)
            .bind(&a.bot_token_hash).bind(a.bot_public).bind(a.flags).bind(a.created_at).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn application(&self, id: i64) -> Result<Option<ApplicationRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM applications WHERE id = $1").bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn application_by_bot(&self, bot_user_id: i64) -> Result<Option<ApplicationRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM applications WHERE bot_user_id = $1").bind(bot_user_id).fetch_optional(p).await)?,
        )
    }

    pub async fn application_by_token(&self, hash: &str) -> Result<Option<ApplicationRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM applications WHERE bot_token_hash = $1").bind(hash).fetch_optional(p).await)?,
        )
    }

    pub async fn applications_of(&self, owner: i64) -> Result<Vec<ApplicationRow>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT * FROM applications WHERE owner_id = $1 ORDER BY id").bind(owner).fetch_all(p).await)?,
        )
    }

    pub async fn set_bot_token(&self, app_id: i64, hash: &str) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE applications SET bot_token_hash = $1 WHERE id = $2").bind(hash).bind(app_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn update_application(
        &self,
        app_id: i64,
        name: Option<&str>,
        description: Option<&str>,
        flags: Option<i64>,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("UPDATE applications SET name = COALESCE($1, name), description = COALESCE($2, description), flags = COALESCE($3, flags) WHERE id = $4")
            .bind(name).bind(description).bind(flags).bind(app_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    // ---- relationships --------------------------------------------------------------

    /// Relationship type `user_id` has set towards `target_id` (2 = blocked).
    pub async fn relationship(&self, user_id: i64, target_id: i64) -> Result<Option<i64>> {
        let r: Option<(i64,)> = on_db!(self, p => sqlx::query_as("SELECT kind FROM relationships WHERE user_id = $1 AND target_id = $2")
            .bind(user_id).bind(target_id).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    pub async fn relationships_of(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(
            on_db!(self, p => sqlx::query_as("SELECT target_id, kind FROM relationships WHERE user_id = $1 ORDER BY target_id")
            .bind(user_id).fetch_all(p).await)?,
        )
    }

    pub async fn set_relationship(
        &self,
        user_id: i64,
        target_id: i64,
        kind: i64,
        now: i64,
    ) -> Result<()> {
        on_db!(self, p => sqlx::query("INSERT INTO relationships (user_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (user_id, target_id) DO UPDATE SET kind = excluded.kind")
            .bind(user_id).bind(target_id).bind(kind).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn delete_relationship(&self, user_id: i64, target_id: i64) -> Result<bool> {
        let n = on_db!(self, p => sqlx::query("DELETE FROM relationships WHERE user_id = $1 AND target_id = $2")
            .bind(user_id).bind(target_id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }
}

// ---- first start: the setup token (migration 0018) ------------------------------------------

impl Db {
    /// Local human accounts that are instance administrators.
    pub async fn count_admins(&self) -> Result<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM users WHERE admin = TRUE AND bot = FALSE AND home_server IS NULL AND deleted_at IS NULL")
            .fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Replaces the setup token by one whose SHA-256 is `hash`, valid until `expires_at` (ms),
    /// in one transaction.
    pub async fn replace_setup_token(
        &self,
        hash: &str,
        created_at: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
            sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
                .bind(hash).bind(created_at).bind(expires_at).execute(&mut *tx).await?;
            tx.commit().await
        })?;
        Ok(())
    }

    /// Forgets every setup token (an administrator exists now).
    pub async fn clear_setup_tokens(&self) -> Result<()> {
        on_db!(self, p => sqlx::query("DELETE FROM setup_tokens").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Makes local user `user_id` an instance administrator with the setup token whose
    /// SHA-256 is `hash`, if it is known and unexpired at `now` (ms): the token and any other
    /// are deleted and the flag set in one transaction. `false`: unknown, used or expired
    /// token (nothing changed).
    pub async fn claim_setup_token(&self, hash: &str, now: i64, user_id: i64) -> Result<bool> {
        Ok(on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
                .bind(hash).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                Ok::<bool, sqlx::Error>(false)
            } else {
                sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
                sqlx::query("UPDATE users SET admin = TRUE WHERE id = $1 AND home_server IS NULL AND bot = FALSE")
                    .bind(user_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }
        })?)
    }

    /// Inserts user `u` (an administrator) with the setup token whose SHA-256 is `hash`, if
    /// it is known and unexpired at `now` (ms): the token is deleted and the user inserted in
    /// one transaction. `Ok(false)`: unknown, used or expired token (nothing inserted).
    /// Errors: unique violation when the username is taken (the token stays).
    pub async fn insert_user_with_setup_token(
        &self,
        u: &UserRow,
        hash: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        on_db!(self, p => {
            let mut tx = write_tx!(self, p);
            let n = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
                .bind(hash).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                Ok(false)
            } else {
                sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
                insert_user_q!(u).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }
        })
    }
}
