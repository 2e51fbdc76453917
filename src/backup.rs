//! `hearth admin backup DIR` and `hearth admin restore DIR` (issue 19, README "Backups").
//!
//! A backup is a folder:
//! - `manifest.json`: `{"format": 1, "hearth_version", "created_at" (ISO 8601),
//!   "server_name", "database": "sqlite" | "postgres", "media": "local" | "s3"}`;
//! - `hearth.db` (SQLite): a consistent snapshot taken with `VACUUM INTO` while the server
//!   runs, or `hearth.pgdump` (PostgreSQL): `pg_dump --format=custom`, which needs the
//!   PostgreSQL client tools on `PATH`;
//! - `media/`: the local file store (attachments, avatars, icons, emoji), copied after the
//!   snapshot so every file the snapshot refers to is there. With `media.store = "s3"` the
//!   bucket is not copied: back it up with the store's own tools.
//!
//! The database holds everything else: the federation signing keys (`server_keys`), the
//! secrets Hearth generated at first start, accounts, guilds and messages. The federation
//! TLS files named in the configuration, if any, are the operator's to keep.
//!
//! Restore goes into a fresh place only (an absent or empty SQLite file and media folder, or
//! a PostgreSQL database without tables) with the same `server_name`: federation identities
//! (`user@server`) and signed history belong to that name. The server must not be running;
//! migrations then bring an older backup up to this version.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{Value, json};

use crate::config::{BlobBackend, Config};
use crate::error::{Error, Result};
use crate::storage::{Db, now_ms};

/// The manifest version this build writes and reads.
pub const BACKUP_FORMAT: i64 = 1;

/// What a backup or a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The backup folder.
    pub dir: PathBuf,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// Files of the local store copied (0 with S3).
    pub media_files: u64,
    /// `local` or `s3`.
    pub media: &'static str,
}

fn fail(what: impl std::fmt::Display) -> Error {
    Error::Internal(what.to_string())
}

fn is_postgres(config: &Config) -> bool {
    config.database_url().starts_with("postgres")
}

fn media_kind(config: &Config) -> &'static str {
    match config.media.store {
        BlobBackend::Local => "local",
        BlobBackend::S3 => "s3",
    }
}

/// Writes a backup of the server configured by `config` (database `db`, open and migrated)
/// into `dir`, which must be absent or empty. Safe while the server runs.
///
/// # Errors
/// A sentence naming the path or the tool: `dir` not empty or not writable, `pg_dump`
/// missing or failing, a media file unreadable.
pub async fn backup(config: &Config, db: &Db, dir: &Path) -> Result<Report> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| fail(format!("cannot read {}: {e}", dir.display())))?
            .next()
            .is_some()
    {
        return Err(fail(format!(
            "{} is not empty: back up into a new folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| fail(format!("cannot resolve {}: {e}", dir.display())))?;
    let database = if is_postgres(config) {
        let file = dir.join("hearth.pgdump");
        run_tool(
            "pg_dump",
            &[
                "--format=custom".into(),
                "--no-owner".into(),
                format!("--file={}", file.display()),
                config.database_url(),
            ],
        )
        .await?;
        "postgres"
    } else {
        let file = dir.join("hearth.db");
        let hearth_db::Db::Sqlite(pool) = &**db else {
            return Err(fail("the database is not SQLite"));
        };
        sqlx::query("VACUUM INTO $1")
            .bind(file.display().to_string())
            .execute(pool)
            .await
            .map_err(|e| fail(format!("snapshot into {} failed: {e}", file.display())))?;
        "sqlite"
    };
    let media_files = match config.media.store {
        BlobBackend::Local => copy_tree(&config.media_dir(), &dir.join("media"))?,
        BlobBackend::S3 => 0,
    };
    let manifest = json!({
        "format": BACKUP_FORMAT,
        "hearth_version": env!("CARGO_PKG_VERSION"),
        "created_at": crate::wire::iso(now_ms()),
        "server_name": config.server_name,
        "database": database,
        "media": media_kind(config),
    });
    write_json(&dir.join("manifest.json"), &manifest)?;
    Ok(Report {
        dir,
        database,
        media_files,
        media: media_kind(config),
    })
}

/// Restores the backup in `dir` into the (stopped) server configured by `config`, then
/// applies migrations.
///
/// # Errors
/// A sentence: no or unreadable manifest, another format, server name or database kind; the
/// target database or media folder not empty; `pg_restore` missing or failing.
pub async fn restore(config: &Config, dir: &Path) -> Result<Report> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        fail(format!(
            "{} is not a Hearth backup (cannot read {}: {e})",
            dir.display(),
            manifest_path.display()
        ))
    })?;
    let m: Value = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "{} is not valid JSON: {e}",
            manifest_path.display()
        ))
    })?;
    if m["format"].as_i64() != Some(BACKUP_FORMAT) {
        return Err(fail(format!(
            "{} has backup format {}; this version reads format {BACKUP_FORMAT}",
            manifest_path.display(),
            m["format"]
        )));
    }
    let name = m["server_name"].as_str().unwrap_or_default();
    if name != config.server_name {
        return Err(fail(format!(
            "the backup is of server_name {name:?} but this configuration has {:?}: identities and signed history belong to the name, so restore with server_name = {name:?}",
            config.server_name
        )));
    }
    let want = if is_postgres(config) {
        "postgres"
    } else {
        "sqlite"
    };
    let database = match m["database"].as_str() {
        Some("sqlite") => "sqlite",
        Some("postgres") => "postgres",
        other => {
            return Err(fail(format!(
                "unknown database kind {other:?} in the manifest"
            )));
        }
    };
    if database != want {
        return Err(fail(format!(
            "the backup is of a {database} database but database_url names {want}; restore into the same kind (pg_dump/pg_restore or sqlite3 convert between them)"
        )));
    }
    // Nothing is written before every check passed: the database first, then the files.
    let sqlite_target = if database == "postgres" {
        let db = Db::connect(config).await?;
        let tables = db.count_tables().await?;
        db.close().await;
        if tables > 0 {
            return Err(fail(format!(
                "the PostgreSQL database of database_url has {tables} tables: restore into a new, empty database"
            )));
        }
        None
    } else {
        let target = sqlite_file(&config.database_url())?;
        if target.exists() {
            return Err(fail(format!(
                "{} exists: restore into a fresh data directory (move the old database away first, with the server stopped)",
                target.display()
            )));
        }
        Some(target)
    };
    let media_dir = config.media_dir();
    let restore_media = m["media"] == "local" && config.media.store == BlobBackend::Local;
    if restore_media && dir_has_files(&media_dir) {
        return Err(fail(format!(
            "{} is not empty: restore into a fresh data directory",
            media_dir.display()
        )));
    }
    match sqlite_target {
        None => {
            run_tool(
                "pg_restore",
                &[
                    "--no-owner".into(),
                    "--exit-on-error".into(),
                    format!("--dbname={}", config.database_url()),
                    dir.join("hearth.pgdump").display().to_string(),
                ],
            )
            .await?
        }
        Some(target) => {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
            }
            let from = dir.join("hearth.db");
            std::fs::copy(&from, &target).map_err(|e| {
                fail(format!(
                    "cannot copy {} to {}: {e}",
                    from.display(),
                    target.display()
                ))
            })?;
        }
    }
    let media_files = if restore_media {
        copy_tree(&dir.join("media"), &media_dir)?
    } else {
        0
    };
    let db = Db::connect(config).await?;
    db.migrate().await?;
    db.close().await;
    Ok(Report {
        dir: dir.to_path_buf(),
        database,
        media_files,
        media: media_kind(config),
    })
}

/// The file of a `sqlite:` URL.
fn sqlite_file(url: &str) -> Result<PathBuf> {
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| fail(format!("database_url {url:?}: {e}")))?;
    Ok(opts.get_filename().to_path_buf())
}

fn dir_has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Copies the files under `from` (absent: nothing) to `to`, keeping the layout; returns the
/// number of files copied.
fn copy_tree(from: &Path, to: &Path) -> Result<u64> {
    if !from.exists() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)
        .map_err(|e| fail(format!("cannot create {}: {e}", to.display())))?;
    let mut n = 0;
    let entries = std::fs::read_dir(from)
        .map_err(|e| fail(format!("cannot read {}: {e}", from.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| fail(format!("cannot read {}: {e}", from.display())))?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        if kind.is_dir() {
            n += copy_tree(&path, &dest)?;
        } else if kind.is_file() {
            std::fs::copy(&path, &dest).map_err(|e| {
                fail(format!(
                    "cannot copy {} to {}: {e}",
                    path.display(),
                    dest.display()
                ))
            })?;
            n += 1;
        }
    }
    Ok(n)
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(Error::internal)?;
    std::fs::write(path, text).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}

/// Runs a PostgreSQL client tool; its stderr becomes the error.
async fn run_tool(tool: &str, args: &[String]) -> Result<()> {
    let out = tokio::process::Command::new(tool)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| {
            fail(format!(
                "cannot run {tool} ({e}): install the PostgreSQL client tools (Debian: postgresql-client) or back up with your own {tool}"
            ))
        })?;
    if !out.status.success() {
        return Err(fail(format!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
