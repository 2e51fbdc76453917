//! The SQLite and PostgreSQL migration sets stay in step (issue 11): for the homeserver
//! (`migrations/`) and the registrar (`registrar/migrations/`), both folders hold the same
//! file names, the embedded sets the same versions, and applying each set to a fresh
//! database (a SQLite file, and a PostgreSQL database at 127.0.0.1:5432 whatever
//! `HEARTH_TEST_DATABASE` says) yields the same tables with the same columns of the same
//! type class. Types are compared after normalisation (integer, text, boolean, bytes, float),
//! the classes the two engines share. SQLite's virtual tables and their shadow tables (the
//! FTS5 index of message search, migration 0024) are indexes, not tables, for this check, and
//! so is its queue `search_backlog` (migration 0046).

use std::collections::BTreeMap;
use std::path::Path;

use hearth_db::{ConnectOptions, Db, Migrations, on_db};

use crate::harness::{create_pg_database, drop_pg_database, unique_suffix};

/// Every table: its columns `(name, type class)`, sorted by name.
type Schema = BTreeMap<String, Vec<(String, String)>>;

/// The type class of a declared SQLite type or a PostgreSQL `information_schema` data type.
fn type_class(t: &str) -> String {
    let t = t.trim().to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim();
    match base {
        "integer" | "int" | "int4" | "int8" | "bigint" | "smallint" | "bigserial" | "serial" => {
            "integer".into()
        }
        "text" | "varchar" | "character varying" | "char" | "character" => "text".into(),
        "boolean" | "bool" => "boolean".into(),
        "blob" | "bytea" => "bytes".into(),
        "real" | "double" | "double precision" | "float" | "numeric" => "float".into(),
        other => other.to_owned(),
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    v.sort();
    v
}

fn versions(m: &sqlx::migrate::Migrator) -> Vec<(i64, String)> {
    m.iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}

async fn schema(db: &Db) -> Schema {
    let rows: Vec<(String, String, String)> = on_db!(db, p => {
        let q = if db.is_postgres() {
            // Stored columns only: a generated one is derived search data, as SQLite's
            // full-text table below (`messages.search_vector`, migration 0045).
            "SELECT table_name::TEXT, column_name::TEXT, data_type::TEXT FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
             AND is_generated = 'NEVER'"
        } else {
            // Ordinary tables only: the full-text index of migration 0024 is a virtual table
            // (with its shadow tables), PostgreSQL's is an index; and `search_backlog`
            // (migration 0046) is that index's queue of messages still to index, which
            // PostgreSQL, indexing as it writes, has no use for.
            "SELECT m.name, c.name, c.type FROM sqlite_master m JOIN pragma_table_info(m.name) c \
             JOIN pragma_table_list t ON t.name = m.name AND t.schema = 'main' \
             WHERE m.type = 'table' AND t.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name NOT IN ('_sqlx_migrations', 'search_backlog')"
        };
        sqlx::query_as(q).fetch_all(p).await
    })
    .expect("schema query");
    let mut out = Schema::new();
    for (table, column, ty) in rows {
        out.entry(table)
            .or_default()
            .push((column, type_class(&ty)));
    }
    for cols in out.values_mut() {
        cols.sort();
    }
    out
}

/// Drops the PostgreSQL database when the test ends, passed or not.
struct PgGuard(Option<String>);

impl Drop for PgGuard {
    fn drop(&mut self) {
        if let Some(name) = self.0.take() {
            drop_pg_database(name);
        }
    }
}

async fn applied(migrations: Migrations, postgres: bool) -> Schema {
    let suffix = unique_suffix();
    let dir = std::env::temp_dir().join(format!("hearth_mig_{suffix}"));
    let mut guard = PgGuard(None);
    let opts = if postgres {
        let name = format!("hearth_mig_{suffix}");
        create_pg_database(&name).await;
        guard.0 = Some(name.clone());
        ConnectOptions::new(format!("postgres://postgres@127.0.0.1:5432/{name}"), 2)
    } else {
        let mut o = ConnectOptions::new(format!("sqlite://{}/m.db", dir.display()), 2);
        o.create_dir = Some(dir.clone());
        o
    };
    let db = Db::connect(&opts).await.expect("connect");
    db.migrate(migrations).await.expect("migrate");
    let s = schema(&db).await;
    db.close().await;
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
    s
}

async fn check_in_step(folder: &str, migrations: Migrations) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let lite_files = file_names(&root.join("sqlite"));
    assert!(!lite_files.is_empty(), "no migrations in {folder}/sqlite");
    assert_eq!(
        lite_files,
        file_names(&root.join("postgres")),
        "{folder}/sqlite and {folder}/postgres hold different files"
    );
    assert_eq!(
        versions(migrations.sqlite),
        versions(migrations.postgres),
        "the embedded sets of {folder} differ"
    );
    assert_eq!(versions(migrations.sqlite).len(), lite_files.len());

    let lite = applied(migrations, false).await;
    let pg = applied(migrations, true).await;
    assert!(!lite.is_empty(), "{folder}: no table after migrating");
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        pg.keys().collect::<Vec<_>>(),
        "{folder}: tables differ between SQLite (left) and PostgreSQL (right)"
    );
    for (table, cols) in &lite {
        assert_eq!(
            cols, &pg[table],
            "{folder}: columns of {table} differ between SQLite (left) and PostgreSQL (right)"
        );
    }
}

#[test]
fn type_classes() {
    assert_eq!(type_class("BIGINT"), "integer");
    assert_eq!(type_class("INTEGER"), "integer");
    assert_eq!(type_class("bigint"), "integer");
    assert_eq!(type_class("TEXT"), "text");
    assert_eq!(type_class("character varying"), "text");
    assert_eq!(type_class("VARCHAR(32)"), "text");
    assert_eq!(type_class("BOOLEAN"), "boolean");
    assert_eq!(type_class("bytea"), "bytes");
    assert_eq!(type_class("BLOB"), "bytes");
    assert_eq!(type_class("jsonb"), "jsonb");
}

#[tokio::test]
async fn homeserver_migrations_are_in_step_on_sqlite_and_postgres() {
    check_in_step("migrations", hearth::storage::MIGRATIONS).await;
}

#[tokio::test]
async fn registrar_migrations_are_in_step_on_sqlite_and_postgres() {
    check_in_step(
        "registrar/migrations",
        hearth_registrar::storage::MIGRATIONS,
    )
    .await;
}
