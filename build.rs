//! Builds the web client (`web/`, TypeScript + Vite) and embeds its assets in the `hearth`
//! binary, so that `cargo run --release` on a fresh machine serves the client at `/`.
//!
//! - By default it runs `npm ci` (only when `web/package-lock.json` is newer than
//!   `web/node_modules`) and `npm run build` into `$OUT_DIR/web`. Cargo reruns this script only
//!   when a file under `web/src`, `web/public` or one of the config files changed (or a
//!   migration was added: `migrations/` is watched for `sqlx::migrate!`), so a build of the
//!   crate with nothing changed there costs nothing here. Node.js ≥ 20.19 and npm are
//!   needed; without them the build stops with a message saying so.
//! - `HEARTH_WEB_DIST=<dir>` embeds an already built client from `<dir>` (must hold
//!   `index.html`) and runs no npm (the Dockerfile builds the client in a Node stage).
//! - `HEARTH_WEB_BUILD=skip` runs no npm: it embeds `web/dist` when a `npm run build` left one,
//!   otherwise a one-page placeholder that says how to build the client.
//!
//! The generated `$OUT_DIR/web_assets.rs` is a table of `(path, bytes)` pairs read by
//! `src/web.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const WATCHED: &[&str] = &[
    // `sqlx::migrate!` embeds these at compile time but does not tell cargo on stable Rust:
    // a new migration file rebuilds the crate through this script.
    "migrations",
    "web/src",
    "web/public",
    "web/index.html",
    "web/package.json",
    "web/package-lock.json",
    "web/vite.config.ts",
    "web/tsconfig.json",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=HEARTH_WEB_BUILD");
    println!("cargo:rerun-if-env-changed=HEARTH_WEB_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let web = manifest.join("web");
    // Only existing paths: cargo reruns a script on every build while a watched path is missing.
    for w in WATCHED {
        let p = manifest.join(w);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }

    let dist = if let Ok(dir) = std::env::var("HEARTH_WEB_DIST") {
        println!("cargo:rerun-if-changed={dir}");
        let dir = PathBuf::from(dir);
        if !dir.join("index.html").is_file() {
            panic!("HEARTH_WEB_DIST={} holds no index.html", dir.display());
        }
        Some(dir)
    } else if std::env::var("HEARTH_WEB_BUILD").is_ok_and(|v| v == "skip" || v == "0") {
        let prebuilt = web.join("dist");
        // Watched only when present (see above): a `web/dist` made later is embedded at the
        // next build that reruns this script (a watched file changed, or `touch build.rs`).
        if prebuilt.exists() {
            println!("cargo:rerun-if-changed={}", prebuilt.display());
        }
        prebuilt.join("index.html").is_file().then_some(prebuilt)
    } else if web.join("package.json").is_file() {
        Some(npm_build(&web, &out.join("web")))
    } else {
        None
    };

    let mut files = Vec::new();
    if let Some(dist) = &dist {
        collect(dist, dist, &mut files);
    }
    files.sort();
    let mut code =
        String::from("/// The web client's files: (path relative to the site root, bytes).\n");
    code.push_str("pub static ASSETS: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .expect("write to a string");
    }
    code.push_str("];\n");
    writeln!(
        code,
        "/// Whether the real client was embedded (false: the placeholder page is served)."
    )
    .expect("write to a string");
    writeln!(code, "pub const BUILT: bool = {};", dist.is_some()).expect("write to a string");
    std::fs::write(out.join("web_assets.rs"), code).expect("write web_assets.rs");
}

/// Runs `npm ci` when needed and `npm run build` with the output in `dest`.
fn npm_build(web: &Path, dest: &Path) -> PathBuf {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let lock = mtime(&web.join("package-lock.json"));
    let installed = mtime(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < lock {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
                .current_dir(web),
            "npm ci",
        );
    }
    run(
        Command::new(npm)
            .args(["run", "build", "--silent"])
            .env("HEARTH_WEB_OUT", dest)
            .current_dir(web),
        "npm run build",
    );
    if !dest.join("index.html").is_file() {
        panic!("npm run build left no index.html in {}", dest.display());
    }
    dest.to_path_buf()
}

fn run(cmd: &mut Command, what: &str) {
    let help = "Building hearth builds its web client (web/) with Node.js >= 20.19 and npm. \
                Install them, or set HEARTH_WEB_BUILD=skip to embed a placeholder page instead \
                (or HEARTH_WEB_DIST=<dir> to embed a client built elsewhere).";
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`{what}` in web/ failed ({s}). {help}"),
        Err(e) => panic!("cannot run `{what}` in web/: {e}. {help}"),
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, files);
        } else if let Ok(rel) = p.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = std::fs::canonicalize(&p).unwrap_or(p);
            files.push((rel, abs));
        }
    }
}
