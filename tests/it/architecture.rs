//! Architecture invariants (ARCHITECTURE.md "Invariants"), checked on the source text: the
//! layers import only downward, only the composition root mounts feature routers, and no
//! source file grows past the size a reader can hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively, with its text.
fn sources(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.insert(p, text);
            }
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The homeserver modules a file refers to through `crate::<module>` in code (comments and
/// doc comments are not imports).
fn crate_refs(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut out = vec![];
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The module of a file under `src/` (`service` for `src/service/guilds.rs`, `app` for
/// `src/app.rs`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("src")).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The features: each may use the layers below it, never another feature's routes, and
/// nothing below the features may use them.
const FEATURES: &[&str] = &[
    "api",
    "gateway",
    "s2s",
    "mls",
    "registrar",
    "media",
    "mail",
    "web",
    "app",
];

#[test]
fn service_and_storage_import_nothing_above_them() {
    let mut violations = vec![];
    for (path, text) in sources(&root().join("src")) {
        let module = module_of(&path);
        let forbidden: &[&str] = match module.as_str() {
            // The service layer calls outward only through its ports.
            "service" => &[
                "api",
                "gateway",
                "s2s",
                "mls",
                "registrar",
                "media",
                "mail",
                "web",
                "app",
                "http",
            ],
            // Storage speaks SQL and knows no rule.
            "storage" => &[
                "api",
                "gateway",
                "s2s",
                "mls",
                "registrar",
                "media",
                "mail",
                "web",
                "app",
                "http",
                "service",
                "events",
            ],
            // The foundation below everything.
            "config" | "error" | "snowflake" | "permissions" | "wire" | "events" | "ratelimit"
            | "cluster" => &[
                "api",
                "gateway",
                "s2s",
                "mls",
                "registrar",
                "media",
                "web",
                "app",
                "http",
                "service",
                "storage",
            ],
            _ => &[],
        };
        for r in crate_refs(&text) {
            if forbidden.contains(&r.as_str()) {
                violations.push(format!("{} uses crate::{r}", path.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports that run upward:\n{}",
        violations.join("\n")
    );
}

#[test]
fn only_the_composition_root_knows_every_feature() {
    let mut violations = vec![];
    for (path, text) in sources(&root().join("src")) {
        let module = module_of(&path);
        if module == "app" || module == "lib" || module == "main" {
            continue;
        }
        for r in crate_refs(&text) {
            // A feature may use the federation transport (s2s) below it, but never the
            // composition root, the client API, or the gateway.
            let upward = match r.as_str() {
                "app" => true,
                "api" | "gateway" => r != module,
                "mls" | "registrar" | "media" | "mail" | "web" => r != module,
                _ => false,
            };
            if upward && FEATURES.contains(&r.as_str()) {
                violations.push(format!("{} uses crate::{r}", path.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "features that reach into other features:\n{}",
        violations.join("\n")
    );
}

#[test]
fn only_the_composition_root_mounts_routers() {
    let mounts = [
        "api::routes(",
        "api::top_routes(",
        "::client_routes(",
        "::federation_routes(",
        "s2s::router(",
        "::api_routes(",
        "::socket_routes(",
        "web::routes(",
        "web::serve",
    ];
    let mut violations = vec![];
    for (path, text) in sources(&root().join("src")) {
        if module_of(&path) == "app" {
            continue;
        }
        for m in mounts {
            // `guild_api::routes(` is a feature's own sub-router, not `api::routes(`.
            let called = text.match_indices(m).any(|(i, _)| {
                m.starts_with("::")
                    || !text[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if called {
                violations.push(format!("{} calls {m}", path.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "routers mounted outside src/app.rs:\n{}",
        violations.join("\n")
    );
}

#[test]
fn no_source_file_is_over_900_lines() {
    let mut long = vec![];
    for dir in [
        "src",
        "crates",
        "federation/src",
        "registrar/src",
        "client/src",
        "bench/src",
    ] {
        for (path, text) in sources(&root().join(dir)) {
            let n = text.lines().count();
            if n > 900 {
                long.push(format!("{} has {n} lines", path.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these along the resources they hold:\n{}",
        long.join("\n")
    );
}
