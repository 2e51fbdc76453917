//! Registrar storage: one [`Db`] over SQLite or PostgreSQL (sqlx), every statement written in
//! SQL both accept (`$n` placeholders, `ON CONFLICT`), migrations in
//! `registrar/migrations/{sqlite,postgres}`.

use hearth_db::on_db;

use crate::config::RegistrarConfig;

/// A database error (logged, answered as 500 `R_INTERNAL`).
pub type DbResult<T> = Result<T, sqlx::Error>;

/// The registrar's database: the shared [`hearth_db::Db`] handle (SQLite or PostgreSQL pool,
/// cheap to clone) with the registrar's statements as methods; dereferences to the pool.
#[derive(Clone, Debug)]
pub struct Db(hearth_db::Db);

impl std::ops::Deref for Db {
    type Target = hearth_db::Db;
    fn deref(&self) -> &hearth_db::Db {
        &self.0
    }
}

impl AsRef<hearth_db::Db> for Db {
    fn as_ref(&self) -> &hearth_db::Db {
        &self.0
    }
}

/// The registrar's migrations (`registrar/migrations/{sqlite,postgres}`).
pub static MIGRATIONS: hearth_db::Migrations = hearth_db::Migrations {
    sqlite: &SQLITE_MIGRATIONS,
    postgres: &POSTGRES_MIGRATIONS,
};
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A registered server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerRow {
    pub server_name: String,
    pub endpoint: String,
    pub software_name: String,
    pub software_version: String,
    pub registration_policy: String,
    pub key_document: String,
    pub registered_at: i64,
    pub verified_at: i64,
    pub checked_at: i64,
    pub failures: i64,
    pub status: String,
    pub locked: bool,
    pub delisted_reason: Option<String>,
}

/// One row of the append-only key history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyHistoryRow {
    pub key_id: String,
    pub public_key: String,
    pub state: String,
    pub state_ts: Option<i64>,
    pub observed_at: i64,
}

/// A stored guild summary.
#[derive(Debug, Clone)]
pub struct GuildEntry {
    pub server_name: String,
    pub guild_id: String,
    pub name: String,
    pub member_count: i64,
    pub online_count: i64,
    pub tags: String,
    pub language: String,
    pub last_activity_ts: i64,
    pub search_text: String,
    pub summary: String,
}

/// Guild search parameters (already validated).
#[derive(Debug, Clone, Default)]
pub struct GuildQuery {
    /// Lower-cased words; each must occur in the name, description or tags.
    pub words: Vec<String>,
    pub tag: Option<String>,
    pub language: Option<String>,
    pub server: Option<String>,
    pub min_members: Option<i64>,
    /// `relevance` (default), `members` or `activity`.
    pub sort: String,
    pub limit: i64,
    pub offset: i64,
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Db {
    /// Connects to `config.database_url()` (`postgres://` selects PostgreSQL; anything else is
    /// a SQLite path, `data_dir` created if missing, WAL, foreign keys on); see
    /// [`hearth_db::Db::connect`].
    ///
    /// # Errors
    /// Connection errors, described.
    pub async fn connect(config: &RegistrarConfig) -> Result<Db, String> {
        let mut opts =
            hearth_db::ConnectOptions::new(config.database_url(), config.database_max_connections);
        opts.create_dir = Some(config.data_dir.clone());
        hearth_db::Db::connect(&opts)
            .await
            .map(Db)
            .map_err(|e| e.to_string())
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// Migration errors, described.
    pub async fn migrate(&self) -> Result<(), String> {
        self.0.migrate(MIGRATIONS).await.map_err(|e| e.to_string())
    }

    // ---- signing key ----------------------------------------------------------------

    /// The newest signing key `(key_id, seed)`, if any.
    pub async fn signing_key(&self) -> DbResult<Option<(String, String)>> {
        on_db!(self, p => sqlx::query_as("SELECT key_id, seed FROM signing_keys ORDER BY created_at DESC, key_id LIMIT 1").fetch_optional(p).await)
    }

    /// Stores a signing key.
    pub async fn insert_signing_key(&self, key_id: &str, seed: &str, at: i64) -> DbResult<()> {
        on_db!(self, p => sqlx::query("INSERT INTO signing_keys (key_id, seed, created_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING")
            .bind(key_id).bind(seed).bind(at).execute(p).await.map(|_| ()))
    }

    // ---- servers --------------------------------------------------------------------

    /// One server.
    pub async fn server(&self, name: &str) -> DbResult<Option<ServerRow>> {
        on_db!(self, p => sqlx::query_as("SELECT * FROM servers WHERE server_name = $1").bind(name).fetch_optional(p).await)
    }

    /// Listed servers (not delisted; stale ones only with `include_stale`), by name.
    pub async fn servers(
        &self,
        include_stale: bool,
        limit: i64,
        offset: i64,
    ) -> DbResult<Vec<ServerRow>> {
        let q = if include_stale {
            "SELECT * FROM servers WHERE status <> 'delisted' ORDER BY server_name LIMIT $1 OFFSET $2"
        } else {
            "SELECT * FROM servers WHERE status = 'active' ORDER BY server_name LIMIT $1 OFFSET $2"
        };
        on_db!(self, p => sqlx::query_as(q).bind(limit).bind(offset).fetch_all(p).await)
    }

    /// Every server, delisted ones included (admin CLI).
    pub async fn all_servers(&self, limit: i64, offset: i64) -> DbResult<Vec<ServerRow>> {
        on_db!(self, p => sqlx::query_as("SELECT * FROM servers ORDER BY server_name LIMIT $1 OFFSET $2").bind(limit).bind(offset).fetch_all(p).await)
    }

    /// Every server that is not delisted and was last checked before `before`.
    pub async fn servers_to_check(&self, before: i64) -> DbResult<Vec<ServerRow>> {
        on_db!(self, p => sqlx::query_as("SELECT * FROM servers WHERE status <> 'delisted' AND checked_at < $1 ORDER BY checked_at LIMIT 100")
            .bind(before).fetch_all(p).await)
    }

    /// Inserts or updates a server after a successful registration (status active).
    pub async fn upsert_server(&self, s: &ServerRow) -> DbResult<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO servers (server_name, endpoint, software_name, software_version, registration_policy, key_document, registered_at, verified_at, checked_at, failures, status, locked, delisted_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'active', FALSE, NULL) \
             ON CONFLICT (server_name) DO UPDATE SET endpoint = $2, software_name = $3, software_version = $4, registration_policy = $5, key_document = $6, verified_at = $8, checked_at = $9, failures = 0, status = 'active', delisted_reason = NULL"
        ).bind(&s.server_name).bind(&s.endpoint).bind(&s.software_name).bind(&s.software_version).bind(&s.registration_policy)
            .bind(&s.key_document).bind(s.registered_at).bind(s.verified_at).bind(s.checked_at)
            .execute(p).await.map(|_| ()))
    }

    /// Records a successful re-verification: the key document (and endpoint) as fetched.
    pub async fn server_verified(
        &self,
        name: &str,
        endpoint: &str,
        key_document: &str,
        at: i64,
    ) -> DbResult<()> {
        on_db!(self, p => sqlx::query(
            "UPDATE servers SET endpoint = $2, key_document = $3, verified_at = $4, checked_at = $4, failures = 0, \
             status = CASE WHEN locked THEN status ELSE 'active' END WHERE server_name = $1"
        ).bind(name).bind(endpoint).bind(key_document).bind(at).execute(p).await.map(|_| ()))
    }

    /// Records a failed re-verification and updates the status from the last success.
    pub async fn server_check_failed(
        &self,
        name: &str,
        at: i64,
        stale_before: i64,
        delist_before: i64,
    ) -> DbResult<()> {
        on_db!(self, p => sqlx::query(
            "UPDATE servers SET checked_at = $2, failures = failures + 1, \
             status = CASE WHEN verified_at < $4 THEN 'delisted' WHEN verified_at < $3 THEN 'stale' ELSE status END, \
             delisted_reason = CASE WHEN verified_at < $4 THEN 'unreachable' ELSE delisted_reason END \
             WHERE server_name = $1 AND NOT locked"
        ).bind(name).bind(at).bind(stale_before).bind(delist_before).execute(p).await.map(|_| ()))
    }

    /// Removes a server (its guilds and handles go with it; its key history stays).
    pub async fn delete_server(&self, name: &str) -> DbResult<bool> {
        on_db!(self, p => sqlx::query("DELETE FROM servers WHERE server_name = $1").bind(name).execute(p).await.map(|r| r.rows_affected() > 0))
    }

    /// Operator delisting (`locked`) or relisting.
    pub async fn set_delisted(&self, name: &str, delisted: bool, reason: &str) -> DbResult<bool> {
        let n = if delisted {
            on_db!(self, p => sqlx::query("UPDATE servers SET status = 'delisted', locked = TRUE, delisted_reason = $2 WHERE server_name = $1")
                .bind(name).bind(reason).execute(p).await?.rows_affected())
        } else {
            on_db!(self, p => sqlx::query("UPDATE servers SET status = 'active', locked = FALSE, delisted_reason = NULL, failures = 0 WHERE server_name = $1")
                .bind(name).execute(p).await?.rows_affected())
        };
        Ok(n > 0)
    }

    // ---- key history ----------------------------------------------------------------

    /// Appends `(key_id, key, state)` unless that exact entry was already observed.
    pub async fn append_key_history(
        &self,
        server: &str,
        key_id: &str,
        key: &str,
        state: &str,
        state_ts: Option<i64>,
        at: i64,
    ) -> DbResult<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO key_history (server_name, key_id, public_key, state, state_ts, observed_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (server_name, key_id, public_key, state) DO NOTHING"
        ).bind(server).bind(key_id).bind(key).bind(state).bind(state_ts).bind(at).execute(p).await.map(|_| ()))
    }

    /// The key history of a server, oldest first.
    pub async fn key_history(&self, server: &str) -> DbResult<Vec<KeyHistoryRow>> {
        on_db!(self, p => sqlx::query_as("SELECT key_id, public_key, state, state_ts, observed_at FROM key_history WHERE server_name = $1 ORDER BY id")
            .bind(server).fetch_all(p).await)
    }

    // ---- challenges -----------------------------------------------------------------

    /// Stores a challenge token (and drops expired ones).
    pub async fn insert_challenge(
        &self,
        token: &str,
        server: &str,
        at: i64,
        expires: i64,
    ) -> DbResult<()> {
        on_db!(self, p => {
            sqlx::query("DELETE FROM challenges WHERE expires_at <= $1").bind(at).execute(p).await?;
            sqlx::query("INSERT INTO challenges (token, server_name, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(token).bind(server).bind(at).bind(expires).execute(p).await.map(|_| ())
        })
    }

    /// Pending challenges of a server (to cap them).
    pub async fn pending_challenges(&self, server: &str, now: i64) -> DbResult<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM challenges WHERE server_name = $1 AND expires_at > $2")
            .bind(server).bind(now).fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Consumes a token of `server` if it exists and has not expired.
    pub async fn take_challenge(&self, token: &str, server: &str, now: i64) -> DbResult<bool> {
        on_db!(self, p => sqlx::query("DELETE FROM challenges WHERE token = $1 AND server_name = $2 AND expires_at > $3")
            .bind(token).bind(server).bind(now).execute(p).await.map(|r| r.rows_affected() > 0))
    }

    // ---- guilds ---------------------------------------------------------------------

    /// Inserts or replaces a summary.
    pub async fn upsert_guild(&self, g: &GuildEntry, at: i64) -> DbResult<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO guilds (server_name, guild_id, name, name_lc, member_count, online_count, tags, language, last_activity_ts, search_text, summary, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (server_name, guild_id) DO UPDATE SET name = $3, name_lc = $4, member_count = $5, online_count = $6, tags = $7, language = $8, \
             last_activity_ts = $9, search_text = $10, summary = $11, updated_at = $12"
        ).bind(&g.server_name).bind(&g.guild_id).bind(&g.name).bind(g.name.to_lowercase()).bind(g.member_count).bind(g.online_count)
            .bind(&g.tags).bind(&g.language).bind(g.last_activity_ts).bind(&g.search_text).bind(&g.summary).bind(at)
            .execute(p).await.map(|_| ()))
    }

    /// Whether a summary exists, and how many a server has.
    pub async fn guild_counts(&self, server: &str, guild_id: &str) -> DbResult<(bool, i64)> {
        let r: (i64, i64) = on_db!(self, p => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN guild_id = $2 THEN 1 ELSE 0 END), 0) FROM guilds WHERE server_name = $1"
        ).bind(server).bind(guild_id).fetch_one(p).await)?;
        Ok((r.1 > 0, r.0))
    }

    /// Removes a summary.
    pub async fn delete_guild(&self, server: &str, guild_id: &str) -> DbResult<bool> {
        on_db!(self, p => sqlx::query("DELETE FROM guilds WHERE server_name = $1 AND guild_id = $2")
            .bind(server).bind(guild_id).execute(p).await.map(|r| r.rows_affected() > 0))
    }

    /// Searches summaries of listed (not delisted) servers; returns `(total, page of summary
    /// JSON texts)`. See [`GuildQuery`] and spec/registrar.md "Search".
    pub async fn search_guilds(&self, q: &GuildQuery) -> DbResult<(i64, Vec<String>)> {
        let mut conds = vec!["s.status <> 'delisted'".to_owned()];
        let mut binds: Vec<String> = Vec::new();
        let mut int_binds: Vec<i64> = Vec::new();
        for w in &q.words {
            binds.push(format!("%{}%", like_escape(w)));
            conds.push(format!("g.search_text LIKE ${} ESCAPE '\\'", binds.len()));
        }
        if let Some(t) = &q.tag {
            binds.push(format!("% {} %", like_escape(t)));
            conds.push(format!("g.tags LIKE ${} ESCAPE '\\'", binds.len()));
        }
        if let Some(l) = &q.language {
            binds.push(format!("{}%", like_escape(l)));
            conds.push(format!("g.language LIKE ${} ESCAPE '\\'", binds.len()));
        }
        if let Some(s) = &q.server {
            binds.push(s.clone());
            conds.push(format!("g.server_name = ${}", binds.len()));
        }
        let n_text = binds.len();
        if let Some(m) = q.min_members {
            int_binds.push(m);
            conds.push(format!("g.member_count >= ${}", n_text + int_binds.len()));
        }
        let where_sql = conds.join(" AND ");
        // Relevance: a name containing the whole query first, then every word in the name,
        // then size and recent activity.
        let order = match q.sort.as_str() {
            "members" => "g.member_count DESC, g.last_activity_ts DESC".to_owned(),
            "activity" => "g.last_activity_ts DESC, g.member_count DESC".to_owned(),
            _ if !q.words.is_empty() => {
                let mut parts = Vec::new();
                for i in 1..=q.words.len() {
                    parts.push(format!(
                        "(CASE WHEN g.name_lc LIKE ${i} ESCAPE '\\' THEN 1 ELSE 0 END)"
                    ));
                }
                format!(
                    "({}) DESC, g.member_count DESC, g.last_activity_ts DESC",
                    parts.join(" + ")
                )
            }
            _ => "g.member_count DESC, g.last_activity_ts DESC".to_owned(),
        };
        let base = n_text + int_binds.len();
        let count_sql = format!(
            "SELECT COUNT(*) FROM guilds g JOIN servers s ON s.server_name = g.server_name WHERE {where_sql}"
        );
        let page_sql = format!(
            "SELECT g.summary FROM guilds g JOIN servers s ON s.server_name = g.server_name WHERE {where_sql} \
             ORDER BY {order}, g.server_name, g.guild_id LIMIT ${} OFFSET ${}",
            base + 1,
            base + 2
        );
        on_db!(self, p => {
            let mut cq = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_sql));
            for b in &binds { cq = cq.bind(b); }
            for b in &int_binds { cq = cq.bind(b); }
            let total = cq.fetch_one(p).await?.0;
            let mut pq = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(page_sql));
            for b in &binds { pq = pq.bind(b); }
            for b in &int_binds { pq = pq.bind(b); }
            let rows = pq.bind(q.limit).bind(q.offset).fetch_all(p).await?;
            Ok((total, rows.into_iter().map(|r| r.0).collect()))
        })
    }

    // ---- handles --------------------------------------------------------------------

    /// Inserts or replaces a handle card; returns how many handles the server has.
    pub async fn upsert_handle(
        &self,
        handle: &str,
        server: &str,
        card: &str,
        at: i64,
    ) -> DbResult<()> {
        on_db!(self, p => sqlx::query(
            "INSERT INTO handles (handle, server_name, card, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (handle) DO UPDATE SET card = $3, updated_at = $4"
        ).bind(handle).bind(server).bind(card).bind(at).execute(p).await.map(|_| ()))
    }

    /// Handles of a server.
    pub async fn handle_count(&self, server: &str) -> DbResult<i64> {
        let r: (i64,) = on_db!(self, p => sqlx::query_as("SELECT COUNT(*) FROM handles WHERE server_name = $1").bind(server).fetch_one(p).await)?;
        Ok(r.0)
    }

    /// Removes a handle of `server`.
    pub async fn delete_handle(&self, handle: &str, server: &str) -> DbResult<bool> {
        on_db!(self, p => sqlx::query("DELETE FROM handles WHERE handle = $1 AND server_name = $2")
            .bind(handle).bind(server).execute(p).await.map(|r| r.rows_affected() > 0))
    }

    /// The card of a handle whose server is listed.
    pub async fn handle(&self, handle: &str) -> DbResult<Option<String>> {
        let r: Option<(String,)> = on_db!(self, p => sqlx::query_as(
            "SELECT h.card FROM handles h JOIN servers s ON s.server_name = h.server_name WHERE h.handle = $1 AND s.status <> 'delisted'"
        ).bind(handle).fetch_optional(p).await)?;
        Ok(r.map(|r| r.0))
    }

    // ---- deny list ------------------------------------------------------------------

    /// Adds a pattern to the deny list.
    pub async fn deny(&self, pattern: &str, reason: &str, at: i64) -> DbResult<()> {
        on_db!(self, p => sqlx::query("INSERT INTO denied_domains (pattern, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT (pattern) DO UPDATE SET reason = $2")
            .bind(pattern).bind(reason).bind(at).execute(p).await.map(|_| ()))
    }

    /// Removes a pattern from the deny list.
    pub async fn undeny(&self, pattern: &str) -> DbResult<bool> {
        on_db!(self, p => sqlx::query("DELETE FROM denied_domains WHERE pattern = $1").bind(pattern).execute(p).await.map(|r| r.rows_affected() > 0))
    }

    /// The deny list `(pattern, reason)`.
    pub async fn denied(&self) -> DbResult<Vec<(String, String)>> {
        on_db!(self, p => sqlx::query_as("SELECT pattern, reason FROM denied_domains ORDER BY pattern").fetch_all(p).await)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_escape_escapes_wildcards() {
        assert_eq!(super::like_escape("a%b_c\\d"), "a\\%b\\_c\\\\d");
    }
}
