//! The storage foundation of Hearth's services: one [`Db`] handle over a SQLite or a
//! PostgreSQL pool (sqlx), shared by the homeserver (`src/storage/`) and the registrar
//! (`registrar/src/storage.rs`). Each service wraps it in its own store type that adds its
//! statements; this crate knows no table.
//!
//! - [`Db::connect`] opens the pool described by [`ConnectOptions`]: `postgres://` or
//!   `postgresql://` selects PostgreSQL (pool with an acquire timeout), anything else is a
//!   SQLite path (created if missing, WAL, `synchronous` per [`Durability`], foreign keys on,
//!   busy timeout).
//! - [`Db::migrate`] applies a service's embedded migrations ([`Migrations`]: one
//!   `sqlx::migrate!` set per backend).
//! - [`on_db!`] runs the same code on whichever pool is configured; the code is compiled once
//!   per backend, so it must be SQL both accept (`$n` placeholders, `ON CONFLICT`,
//!   `RETURNING`).
//!
//! Durability: SQLite in WAL mode with `synchronous=NORMAL` keeps an acknowledged commit
//! across `kill -9`, `FULL` also across power loss; PostgreSQL commits are durable.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// A database handle (cheap to clone): the pool of the configured backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl AsRef<Db> for Db {
    fn as_ref(&self) -> &Db {
        self
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db` (a [`Db`] or a service's
/// store type that is `AsRef<Db>`, by reference); the body is compiled once per backend, so
/// it must be SQL both accept.
///
/// Each expansion counts one storage call for [`counting`].
///
/// ```ignore
/// on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
/// ```
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {{
        $crate::count_call();
        match ::core::convert::AsRef::<$crate::Db>::as_ref($db) {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    }};
}

tokio::task_local! {
    static CALLS: std::cell::Cell<u64>;
}

/// Runs `f` and returns its output with the number of storage calls ([`on_db!`] expansions,
/// each one statement or one short transaction) it made on its own task; calls made by
/// tasks it spawned are not counted. Used to hold a path to a fixed number of calls (the
/// gateway's READY).
pub async fn counting<F: std::future::Future>(f: F) -> (F::Output, u64) {
    CALLS
        .scope(std::cell::Cell::new(0), async move {
            let out = f.await;
            (out, CALLS.with(|c| c.get()))
        })
        .await
}

/// Counts one storage call in the enclosing [`counting`] scope, if any (used by [`on_db!`]).
#[doc(hidden)]
pub fn count_call() {
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

/// SQLite's `synchronous` pragma (WAL mode): how much an acknowledged commit survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `NORMAL`: survives `kill -9` of the process (default).
    #[default]
    Normal,
    /// `FULL`: also survives power loss (an fsync per commit).
    Full,
}

/// How to open a database (see [`Db::connect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `postgres://...` / `postgresql://...`, or a SQLite URL or path (`sqlite://dir/x.db`).
    pub url: String,
    /// Connections in the pool (at least 1).
    pub max_connections: u32,
    /// SQLite only: the `synchronous` pragma.
    pub durability: Durability,
    /// SQLite only: a folder created before the database is opened (the service's data
    /// folder; a fresh machine has none yet).
    pub create_dir: Option<PathBuf>,
    /// SQLite only: how long a statement waits for a lock held by another connection
    /// (default 5 s).
    pub busy_timeout: Duration,
    /// PostgreSQL only: how long a query waits for a free pooled connection (default 10 s).
    pub acquire_timeout: Duration,
}

impl ConnectOptions {
    /// Options for `url` with `max_connections` and the defaults: [`Durability::Normal`], no
    /// folder to create, 5 s busy timeout, 10 s acquire timeout.
    pub fn new(url: impl Into<String>, max_connections: u32) -> Self {
        ConnectOptions {
            url: url.into(),
            max_connections,
            durability: Durability::Normal,
            create_dir: None,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// One service's embedded migrations: the same file names in a SQLite and a PostgreSQL
/// folder (`sqlx::migrate!("./migrations/sqlite")`, `sqlx::migrate!("./migrations/postgres")`).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data folder could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A URL that does not parse, or a connection that failed.
    #[error("database: {0}")]
    Connect(#[from] sqlx::Error),
    /// A migration did not apply (or the applied ones differ from the embedded ones).
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens the database described by `opts` (see the crate docs for what the URL selects).
    ///
    /// # Errors
    /// [`Error::CreateDir`], or [`Error::Connect`] for a URL that does not parse or a server
    /// or file that cannot be opened.
    pub async fn connect(opts: &ConnectOptions) -> Result<Db, Error> {
        let url = opts.url.as_str();
        let max = opts.max_connections.max(1);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(pg)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            if let Some(dir) = &opts.create_dir {
                std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
            }
            let lite = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(match opts.durability {
                    Durability::Normal => SqliteSynchronous::Normal,
                    Durability::Full => SqliteSynchronous::Full,
                })
                .foreign_keys(true)
                // Deleted rows are overwritten with zeros, not left in free space.
                .pragma("secure_delete", "on")
                .busy_timeout(opts.busy_timeout);
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .connect_with(lite)
                .await?;
            Ok(Db::Sqlite(pool))
        }
    }

    /// Applies the pending migrations of this backend's set.
    ///
    /// # Errors
    /// [`Error::Migrate`].
    pub async fn migrate(&self, migrations: Migrations) -> Result<(), Error> {
        match self {
            Db::Sqlite(p) => migrations.sqlite.run(p).await?,
            Db::Postgres(p) => migrations.postgres.run(p).await?,
        }
        Ok(())
    }

    /// SQLite: `PRAGMA wal_checkpoint(TRUNCATE)`, which copies the write-ahead log into the
    /// database file and empties it, so no older copy of a page survives there (deleted rows
    /// are zeroed in the pages themselves by `secure_delete`). Returns `false` when other
    /// connections kept it from completing (it is safe to retry). PostgreSQL: nothing to do,
    /// `true` (its dead rows go with VACUUM; README "Deleted content").
    ///
    /// # Errors
    /// The statement's [`sqlx::Error`].
    pub async fn checkpoint(&self) -> Result<bool, sqlx::Error> {
        match self {
            Db::Sqlite(p) => {
                let (busy, _, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(p)
                        .await?;
                Ok(busy == 0)
            }
            Db::Postgres(_) => Ok(true),
        }
    }

    /// `true` when a trivial query succeeds (readiness probe).
    pub async fn ping(&self) -> bool {
        on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.is_ok())
    }

    /// Closes every connection (graceful shutdown); waits for connections in use.
    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }

    /// Whether this is the PostgreSQL backend.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

/// Whether a sqlx error is a unique-constraint violation (services map such races to 4xx).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Milliseconds since the Unix epoch (the unit of every timestamp column).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    static EMPTY: Migrator = Migrator::DEFAULT;

    #[tokio::test]
    async fn sqlite_connects_creates_its_folder_and_pings() {
        let dir =
            std::env::temp_dir().join(format!("hearth_db_{}_{}", std::process::id(), now_ms()));
        let mut opts = ConnectOptions::new(format!("sqlite://{}/t.db", dir.display()), 2);
        opts.create_dir = Some(dir.clone());
        opts.durability = Durability::Full;
        let db = Db::connect(&opts).await.unwrap();
        assert!(!db.is_postgres());
        assert!(db.ping().await);
        db.migrate(Migrations {
            sqlite: &EMPTY,
            postgres: &EMPTY,
        })
        .await
        .unwrap();
        let mode: String =
            on_db!(&db, p => sqlx::query_scalar("PRAGMA journal_mode").fetch_one(p).await).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 =
            on_db!(&db, p => sqlx::query_scalar("PRAGMA synchronous").fetch_one(p).await).unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 =
            on_db!(&db, p => sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(p).await).unwrap();
        assert_eq!(fk, 1);
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(match &db {
                Db::Sqlite(p) => p,
                Db::Postgres(_) => unreachable!(),
            })
            .await
            .unwrap();
        let ins = |db: Db| async move {
            on_db!(&db, p => sqlx::query("INSERT INTO t (k) VALUES ('a')").execute(p).await.map(|_| ()))
        };
        ins(db.clone()).await.unwrap();
        let dup = ins(db.clone()).await.unwrap_err();
        assert!(is_unique_violation(&dup), "{dup}");
        db.close().await;
        assert!(!db.ping().await);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_bad_url_is_a_connect_error() {
        let e = Db::connect(&ConnectOptions::new("postgres://%zz", 1))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Connect(_)), "{e}");
    }
}
