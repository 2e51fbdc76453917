//! Databases of a test run: the backend (`HEARTH_TEST_DATABASE`), unique names, and
//! PostgreSQL databases at 127.0.0.1:5432 (user `postgres`, trust auth) created for one
//! server and dropped afterwards.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use crate::{Res, ctx};

/// Admin connection of the PostgreSQL server tests and benchmarks use.
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Base of a test database's URL (`{PG_BASE_URL}/{name}`).
pub const PG_BASE_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// The database backend of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `HEARTH_TEST_DATABASE`: unset or `sqlite` -> SQLite, `postgres` -> PostgreSQL.
///
/// # Panics
/// Anything else is a mistake and fails the test rather than silently testing SQLite.
pub fn backend() -> Backend {
    match std::env::var("HEARTH_TEST_DATABASE") {
        Err(_) => Backend::Sqlite,
        Ok(v) if v.is_empty() || v.eq_ignore_ascii_case("sqlite") => Backend::Sqlite,
        Ok(v) if v.eq_ignore_ascii_case("postgres") || v.eq_ignore_ascii_case("postgresql") => {
            Backend::Postgres
        }
        Ok(v) => panic!("HEARTH_TEST_DATABASE={v:?}: expected `sqlite` or `postgres`"),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A suffix unique in this machine's runs: `{pid}_{counter}_{random}`.
pub fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: u32 = rand::random();
    format!("{}_{}_{:08x}", std::process::id(), n, r)
}

/// The URL of test database `name`.
pub fn pg_url(name: &str) -> String {
    format!("{PG_BASE_URL}/{name}")
}

/// Runs one statement on the admin connection.
///
/// # Errors
/// PostgreSQL unreachable or the statement failing, described.
pub async fn pg_exec(sql: &str) -> Res<()> {
    let mut conn = sqlx::PgConnection::connect(PG_ADMIN_URL)
        .await
        .map_err(ctx(&format!("PostgreSQL at {PG_ADMIN_URL}")))?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .map_err(ctx(sql))?;
    let _ = conn.close().await;
    Ok(())
}

/// Creates database `name`.
///
/// # Errors
/// As [`pg_exec`].
pub async fn create_pg_database(name: &str) -> Res<()> {
    pg_exec(&format!("CREATE DATABASE \"{name}\"")).await
}

/// Drops database `name` (forcing its connections closed) from a separate thread with its
/// own runtime, so it works from `Drop` inside or outside any async runtime. Failures are
/// printed, not raised.
pub fn drop_pg_database(name: String) {
    let res = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(pg_exec(&format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
    })
    .join();
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: could not drop test database: {e}"),
        Err(_) => eprintln!("warning: thread dropping the test database panicked"),
    }
}
