//! Storage: the only module that speaks SQL.
//!
//! One [`Db`] value wraps either a SQLite or a PostgreSQL pool (sqlx). Queries are written
//! once in the SQL both engines accept (`$n` placeholders, `ON CONFLICT`, `RETURNING`) and
//! run on whichever pool is configured through the [`on_db!`] macro, which expands the same
//! code for each backend. Migrations live in `migrations/sqlite` and `migrations/postgres`
//! and are applied by [`Db::migrate`] at start-up and by `hearth migrate`.
//!
//! Durability: SQLite runs in WAL mode with `synchronous=NORMAL` (an acknowledged commit
//! survives `kill -9`) or `FULL` (also survives power loss); PostgreSQL commits are durable.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::{Config, SqliteSync};
use crate::error::{Error, Result};

mod chat;
mod federation;
mod guilds;
mod mls;
mod registrar;
mod server_keys;
mod users;

pub use chat::*;
pub use federation::*;
pub use guilds::*;
pub use mls::*;
pub use registrar::*;
pub use server_keys::*;
pub use users::*;

/// A database handle (cheap to clone).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db`; the body is compiled once
/// per backend, so it must be SQL both accept.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Db::Sqlite($pool) => $body,
            $crate::storage::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

impl Db {
    /// Connects to `config.database_url()`: `postgres://` or `postgresql://` selects
    /// PostgreSQL, anything else is a SQLite path (created if missing, WAL, foreign keys on,
    /// 5 s busy timeout).
    pub async fn connect(config: &Config) -> Result<Db> {
        let url = config.database_url();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(&url).map_err(Error::internal)?;
            let pool = PgPoolOptions::new()
                .max_connections(config.database_max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            // A fresh machine has no data folder yet (`hearth migrate` runs before `serve`).
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                Error::internal(format!("cannot create {}: {e}", config.data_dir.display()))
            })?;
            let opts = SqliteConnectOptions::from_str(&url)
                .map_err(Error::internal)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(match config.sqlite_synchronous {
                    SqliteSync::Normal => SqliteSynchronous::Normal,
                    SqliteSync::Full => SqliteSynchronous::Full,
                })
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(config.database_max_connections.max(1))
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        }
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await,
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
        }
        .map_err(|e| Error::internal(format!("migration failed: {e}")))
    }

    /// `true` when a trivial query succeeds (readiness probe).
    pub async fn ping(&self) -> bool {
        on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.is_ok())
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }

    /// The value of secret `name`, created with `make` and stored on first use; concurrent
    /// first uses agree on one value.
    pub async fn secret(&self, name: &str, make: impl FnOnce() -> String) -> Result<String> {
        let candidate = make();
        on_db!(self, p => {
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(&candidate).execute(p).await?;
            let v: (String,) = sqlx::query_as("SELECT value FROM secrets WHERE name = $1")
                .bind(name).fetch_one(p).await?;
            Ok(v.0)
        })
    }
}

/// Whether a sqlx error is a unique-constraint violation (used to map races to 4xx).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
