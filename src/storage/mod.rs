//! Storage: the only module that speaks SQL.
//!
//! [`Db`] is the shared storage foundation ([`hearth_db::Db`]: a SQLite or a PostgreSQL pool,
//! sqlx) with every statement of the homeserver as a method. Queries are written once in the
//! SQL both engines accept (`$n` placeholders, `ON CONFLICT`, `RETURNING`) and run on
//! whichever pool is configured through the [`on_db!`] macro, which expands the same code for
//! each backend. Migrations live in `migrations/sqlite` and `migrations/postgres` and are
//! applied by [`Db::migrate`] at start-up and by `hearth migrate`.
//!
//! Durability: SQLite runs in WAL mode with `synchronous=NORMAL` (an acknowledged commit
//! survives `kill -9`) or `FULL` (also survives power loss); PostgreSQL commits are durable.

use crate::config::{Config, SqliteSync};
use crate::error::{Error, Result};

mod account;
mod atomic;
pub(crate) mod attachments;
mod automod;
mod change;
mod chat;
mod commands;
mod deletion;
mod emojis;
mod federation;
/// The scrubbing helpers [`federation`]'s `scrub_log!` expands to (used by the outbox too).
pub(crate) mod federation_scrub {
    pub(crate) use super::federation::{Quoting, id_list, removed_stub};
}
mod gateway;
mod group_dms;
mod guilds;
mod interactions;
mod leases;
mod media;
mod mfa;
mod mls;
mod operator;
mod outbox;
mod passkeys;
mod peer_states;
mod polls;
mod read_states;
mod ready;
mod registrar;
mod replica_locks;
mod revocations;
mod scheduled_events;
mod search;
mod search_backlog;
mod server_keys;
mod stage_instances;
mod threads;
mod users;
mod voice;
mod webhooks;

use account::log_security;
pub use account::*;
pub use atomic::*;
pub use attachments::AttachmentRow;
pub use automod::*;
pub use change::{Change, Lock};
pub use chat::*;
pub use commands::*;
pub use deletion::*;
pub use emojis::*;
pub use federation::*;
pub use group_dms::*;
pub use guilds::*;
pub use interactions::*;
pub(crate) use leases::fenced;
pub use leases::{LeaseFence, LeaseRow, RENEW_BATCH, lease_lost};
pub use media::*;
pub use mfa::*;
pub use mls::*;
pub use operator::*;
pub use outbox::*;
pub use passkeys::*;
pub use peer_states::*;
pub use polls::*;
pub use read_states::*;
pub use ready::*;
pub use registrar::*;
pub use replica_locks::{REPLICA_LOCK_WAIT, ReplicaGuard, ReplicaLocks};
pub use revocations::*;
pub use scheduled_events::*;
pub use search::*;
pub use search_backlog::INDEX_CHUNK;
pub use server_keys::*;
pub use stage_instances::*;
pub use threads::*;
pub use users::*;
pub use voice::*;
pub use webhooks::*;

pub use hearth_db::{counting, is_unique_violation, now_ms, on_db};

/// The homeserver's database: the shared [`hearth_db::Db`] handle (a SQLite or PostgreSQL
/// pool, cheap to clone) with every statement of the homeserver as a method. Dereferences to
/// the pool for `ping`, `close` and direct access (`match &*db { hearth_db::Db::Sqlite(p) ..`).
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

/// The homeserver's migrations (`migrations/sqlite`, `migrations/postgres`).
pub static MIGRATIONS: hearth_db::Migrations = hearth_db::Migrations {
    sqlite: &SQLITE_MIGRATIONS,
    postgres: &POSTGRES_MIGRATIONS,
};
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Longest wait for the first TCP connection to PostgreSQL's host at start (5 s).
pub const PG_REACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Tries a TCP connection to the host and port of PostgreSQL URL `url` (not for Unix socket
/// hosts). Errors: a sentence naming `database_url`, the host and the port.
async fn reach_postgres(url: &str) -> Result<()> {
    use std::str::FromStr;
    let opts = sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| {
        Error::Internal(format!(
            "database_url = {} is not a valid PostgreSQL URL: {e}",
            crate::config::mask_url(url)
        ))
    })?;
    let (host, port) = (opts.get_host().to_string(), opts.get_port());
    if host.starts_with('/') {
        return Ok(());
    }
    let unreachable = |why: String| {
        Error::Internal(format!(
            "cannot reach PostgreSQL at {host}:{port} (database_url = {}): {why}",
            crate::config::mask_url(url)
        ))
    };
    match tokio::time::timeout(
        PG_REACH_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            PG_REACH_TIMEOUT.as_secs()
        ))),
    }
}

impl Db {
    /// Connects to `config.database_url()`: `postgres://` or `postgresql://` selects
    /// PostgreSQL (`database_max_connections`, 10 s acquire timeout), anything else is a
    /// SQLite path (`data_dir` created if missing, WAL, `sqlite_synchronous`, foreign keys
    /// on, 5 s busy timeout); see [`hearth_db::Db::connect`].
    ///
    /// Errors are sentences naming the setting and the place: an unsupported scheme, the
    /// PostgreSQL host and port that cannot be reached (a TCP connection is tried first, for
    /// at most [`PG_REACH_TIMEOUT`], so a wrong host fails at once rather than after the
    /// pool's acquire timeout), or the SQLite file that cannot be opened.
    pub async fn connect(config: &Config) -> Result<Db> {
        let url = config.database_url();
        let shown = crate::config::mask_url(&url);
        if let Err(e) = crate::config::check_database_url(&url) {
            return Err(Error::Internal(e));
        }
        let pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if pg {
            reach_postgres(&url).await?;
        }
        let mut opts = hearth_db::ConnectOptions::new(url.clone(), config.database_max_connections);
        opts.durability = match config.sqlite_synchronous {
            SqliteSync::Normal => hearth_db::Durability::Normal,
            SqliteSync::Full => hearth_db::Durability::Full,
        };
        // A fresh machine has no data folder yet (`hearth migrate` runs before `serve`).
        opts.create_dir = Some(config.data_dir.clone());
        hearth_db::Db::connect(&opts).await.map(Db).map_err(|e| {
            Error::Internal(if pg {
                format!("cannot connect to PostgreSQL (database_url = {shown}): {e}")
            } else {
                format!(
                    "cannot open the SQLite database {shown} (database_url; data_dir = {}): {e}",
                    config.data_dir.display()
                )
            })
        })
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        self.0
            .migrate(MIGRATIONS)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Tables in the database's default schema (`public` on PostgreSQL, `main` on SQLite):
    /// 0 for a fresh database (`hearth admin restore` refuses any other).
    pub async fn count_tables(&self) -> Result<i64> {
        let n: (i64,) =
            match &self.0 {
                hearth_db::Db::Sqlite(p) => {
                    sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
                        .fetch_one(p)
                        .await?
                }
                hearth_db::Db::Postgres(p) => sqlx::query_as(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .fetch_one(p)
                .await?,
            };
        Ok(n.0)
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
