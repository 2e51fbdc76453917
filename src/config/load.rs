//! Loading and checking a configuration (issue 19): unknown keys and unknown `HEARTH_*`
//! variables are errors with the closest valid name suggested, values that cannot work are
//! errors naming the setting, the value and the path or host, risky combinations are
//! warnings, and where each value came from is kept for `hearth config show`.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

use super::{BlobBackend, Config, RegistrationPolicy};

/// Where the value of a setting came from (`hearth config show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The `--config` file.
    File,
    /// A `HEARTH_*` environment variable.
    Env,
    /// An `AWS_*` environment variable (the S3 settings left unset, [`super::S3Config::fill_from_env`]).
    AwsEnv,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
            Source::AwsEnv => "env (AWS_*)",
        })
    }
}

/// Everything wrong with a configuration, each problem a sentence naming the setting, the
/// value and the file, variable, path or host involved.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// `HEARTH_*` environment variables that are not settings: read by the binary itself
/// (`HEARTH_CONFIG`, `HEARTH_LOG`, `HEARTH_LOG_FORMAT`, `HEARTH_NEW_PASSWORD`) or by other programs of the project
/// (the registrar's `HEARTH_REGISTRAR_*` with one underscore, the test suite's `HEARTH_TEST_*`,
/// the web build's `HEARTH_WEB_*`, the web client's tools, the bench).
fn is_other_program_variable(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "HEARTH_CONFIG",
        "HEARTH_LOG",
        "HEARTH_LOG_FORMAT",
        "HEARTH_NEW_PASSWORD",
        "HEARTH_BIN",
        "HEARTH_CLI_BIN",
        "HEARTH_DEV_SERVER",
        "HEARTH_CHROMIUM",
        "HEARTH_WS",
        "HEARTH_HTTP",
    ];
    const PREFIXES: &[&str] = &["HEARTH_TEST_", "HEARTH_WEB_", "HEARTH_BENCH_"];
    EXACT.contains(&name)
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || (name.starts_with("HEARTH_REGISTRAR_") && !name.starts_with("HEARTH_REGISTRAR__"))
}

/// The environment variable of setting `key` (`rate_limits.global_per_second` ->
/// `HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND`).
pub fn env_name(key: &str) -> String {
    format!("HEARTH_{}", key.to_uppercase().replace('.', "__"))
}

/// Metadata name of the `HEARTH_*` variables' provider.
const ENV_SOURCE: &str = "HEARTH_* environment variables";

/// The `HEARTH_*` setting variables as a figment provider: (dotted key, raw value) pairs,
/// values parsed as figment's `Env` does (numbers, booleans, arrays, `{k = v}` tables).
struct EnvVars(Vec<(String, String)>);

impl figment::Provider for EnvVars {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(ENV_SOURCE)
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (k, v) in &self.0 {
            let value: figment::value::Value = v.parse().expect("infallible");
            if let Some(nested) = figment::util::nest(k, value).into_dict() {
                merge_dict(&mut dict, nested);
            }
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// Merges `add` into `into`, tables recursively, `add` winning on leaves.
fn merge_dict(into: &mut figment::value::Dict, add: figment::value::Dict) {
    for (k, v) in add {
        match (into.get_mut(&k), v) {
            (Some(figment::value::Value::Dict(_, a)), figment::value::Value::Dict(_, b)) => {
                merge_dict(a, b)
            }
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Settings whose values `hearth config show` masks.
const SECRETS: &[&str] = &[
    "mail.password",
    "media.s3.secret_access_key",
    "media.s3.session_token",
];

/// `url` with the password of its `user:password@` part replaced by `***`.
pub fn mask_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            return format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]);
        }
    }
    url.to_string()
}

/// Checks the scheme of a database URL: `sqlite:` (or a plain file path) or `postgres://` /
/// `postgresql://`. Errors: a sentence naming `database_url` and the (masked) value.
pub fn check_database_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://")
        || lower.starts_with("postgresql://")
        || lower.starts_with("sqlite:")
    {
        return Ok(());
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(format!(
            "database_url = {} uses the unsupported scheme `{scheme}`: Hearth stores its data in \
             SQLite (sqlite://PATH) or PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)",
            mask_url(url)
        ));
    }
    if url.trim().is_empty() {
        return Err(
            "database_url is empty: leave it unset for SQLite under data_dir, or give \
             sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
                .into(),
        );
    }
    Ok(())
}

/// Every setting's dotted key, with `true` for the leaves (values) and `false` for the
/// sections (tables), from the shape of [`Config::default`].
fn known_keys() -> Vec<(String, bool)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, bool)>) {
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let section = v.is_object();
                out.push((key.clone(), !section));
                if section {
                    walk(&key, v, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    let v = serde_json::to_value(Config::default()).expect("the default configuration serializes");
    walk("", &v, &mut out);
    out
}

/// The known key closest to `unknown` (edit distance on the whole dotted key, or the same
/// words in another order, as in `public_gateway_url` for `gateway.public_url`), if close.
fn closest_key<'a>(unknown: &str, known: &'a [(String, bool)]) -> Option<&'a str> {
    let words = |k: &str| {
        let mut w: Vec<String> = k
            .split(['.', '_'])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        w.sort();
        w
    };
    let mine = words(unknown);
    let mut best: Option<(f64, &str)> = None;
    for (k, _) in known {
        let score = if words(k) == mine {
            1.0
        } else {
            strsim::normalized_damerau_levenshtein(unknown, k)
                .max(strsim::jaro_winkler(unknown, k) - 0.15)
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, k.as_str()));
        }
    }
    best.filter(|(score, _)| *score >= 0.6).map(|(_, k)| k)
}

/// The dotted keys of a figment dictionary (leaves and tables).
fn dict_keys(prefix: &str, d: &figment::value::Dict, out: &mut Vec<String>) {
    for (k, v) in d {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        out.push(key.clone());
        if let figment::value::Value::Dict(_, inner) = v {
            dict_keys(&key, inner, out);
        }
    }
}

/// A loaded configuration with where each value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Keys set by the file (tables and leaves).
    file_keys: Vec<String>,
    /// Keys set by `HEARTH_*` variables (tables and leaves).
    env_keys: Vec<String>,
    /// S3 keys filled from `AWS_*` variables.
    aws_keys: Vec<String>,
}

impl Loaded {
    /// Where the value of `key` came from: the environment overrides the file, which
    /// overrides the default (a table given whole counts for its leaves).
    pub fn source(&self, key: &str) -> Source {
        let covers = |keys: &[String]| {
            keys.iter()
                .any(|k| k == key || key.starts_with(&format!("{k}.")))
        };
        if self.aws_keys.iter().any(|k| k == key) {
            Source::AwsEnv
        } else if covers(&self.env_keys) {
            Source::Env
        } else if covers(&self.file_keys) {
            Source::File
        } else {
            Source::Default
        }
    }

    /// The effective configuration as `key = value  # source` lines, every setting in
    /// order, secrets (`mail.password`, `media.s3.secret_access_key`,
    /// `media.s3.session_token`, the password in `database_url`) masked as `***`.
    pub fn show(&self) -> String {
        let mut config = self.config.clone();
        if config.database_url.is_none() {
            config.database_url = Some(self.config.database_url());
        }
        let v = serde_json::to_value(&config).expect("a configuration serializes");
        let mut out = String::new();
        for (key, leaf) in known_keys() {
            if !leaf {
                continue;
            }
            let mut value = key.split('.').fold(&v, |v, k| &v[k]).clone();
            if SECRETS.contains(&key.as_str()) && !value.is_null() {
                value = serde_json::Value::String("***".into());
            }
            if key == "database_url"
                && let Some(u) = value.as_str()
            {
                value = serde_json::Value::String(mask_url(u));
            }
            let shown = if value.is_null() {
                "(unset)".to_string()
            } else {
                value.to_string()
            };
            out.push_str(&format!("{key} = {shown}  # {}\n", self.source(&key)));
        }
        out
    }
}

impl Config {
    /// Loads defaults, then `file` (if any), then `HEARTH_*` variables; see [`Config::load_from`].
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars()).map(|l| l.config)
    }

    /// Loads defaults, then `file` (if any), then the `HEARTH_*` variables among `vars`
    /// (nested keys joined with `__`), then fills unset S3 settings from `AWS_*` variables.
    ///
    /// Errors (all of them at once, each a sentence): an unreadable or invalid file; a key in
    /// the file or a `HEARTH_*` variable that names no setting, with the closest valid name
    /// suggested; a value of the wrong type, naming the key and where it came from; the
    /// checks of [`Config::validate`].
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let known = known_keys();
        let is_known = |k: &str| known.iter().any(|(key, _)| key == k);
        let mut problems = Vec::new();
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let mut file_keys = Vec::new();
        if let Some(f) = file {
            let toml = Toml::file_exact(f);
            match figment::Provider::data(&toml) {
                Ok(data) => {
                    for dict in data.values() {
                        dict_keys("", dict, &mut file_keys);
                    }
                }
                Err(e) => problems.push(format!(
                    "cannot read the configuration file {}: {e}",
                    f.display()
                )),
            }
            for k in &file_keys {
                // Report the outermost unknown key only.
                let parent_known = k.rsplit_once('.').is_none_or(|(p, _)| is_known(p));
                if !is_known(k) && parent_known {
                    problems.push(match closest_key(k, &known) {
                        Some(s) => format!(
                            "unknown setting `{k}` in {}: did you mean `{s}`?",
                            f.display()
                        ),
                        None => format!(
                            "unknown setting `{k}` in {} (see `hearth --help` or README \
                             \"Configuration\" for the settings)",
                            f.display()
                        ),
                    });
                }
            }
            fig = fig.merge(toml);
        }
        let mut env_keys = Vec::new();
        for (name, _) in &vars {
            let Some(rest) = name.strip_prefix("HEARTH_") else {
                continue;
            };
            if is_other_program_variable(name) {
                continue;
            }
            let key = rest.to_lowercase().replace("__", ".");
            if is_known(&key) {
                env_keys.push(key);
                continue;
            }
            problems.push(match closest_key(&key, &known) {
                Some(s) => format!(
                    "unknown environment variable {name} (no setting `{key}`): did you mean {} \
                     (setting `{s}`)?",
                    env_name(s)
                ),
                None => format!(
                    "unknown environment variable {name}: no setting `{key}` (nested settings \
                     join their parts with __, e.g. HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND)"
                ),
            });
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        fig = fig.merge(EnvVars(
            vars.iter()
                .filter(|(n, _)| n.starts_with("HEARTH_") && !is_other_program_variable(n))
                .map(|(n, v)| {
                    (
                        n["HEARTH_".len()..].to_lowercase().replace("__", "."),
                        v.clone(),
                    )
                })
                .collect(),
        ));
        let mut c: Config = fig.extract().map_err(|e| ConfigError {
            problems: e
                .into_iter()
                .map(|e| {
                    let key = e.path.join(".");
                    let from = e
                        .metadata
                        .as_ref()
                        .map(|m| match &m.source {
                            Some(src) => format!(" (from {} {src})", m.name),
                            None if m.name == ENV_SOURCE => {
                                format!(" (from the environment variable {})", env_name(&key))
                            }
                            None => format!(" (from {})", m.name),
                        })
                        .unwrap_or_default();
                    if key.is_empty() {
                        format!("invalid configuration{from}: {}", e.kind)
                    } else {
                        format!("invalid value for setting `{key}`{from}: {}", e.kind)
                    }
                })
                .collect(),
        })?;
        let before = c.media.s3.clone();
        let lookup = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        c.media.s3.fill_from_env(lookup);
        let mut aws_keys = Vec::new();
        for (k, was, now) in [
            ("endpoint", &before.endpoint, &c.media.s3.endpoint),
            ("region", &before.region, &c.media.s3.region),
            (
                "access_key_id",
                &before.access_key_id,
                &c.media.s3.access_key_id,
            ),
            (
                "secret_access_key",
                &before.secret_access_key,
                &c.media.s3.secret_access_key,
            ),
            (
                "session_token",
                &before.session_token,
                &c.media.s3.session_token,
            ),
        ] {
            if was != now {
                aws_keys.push(format!("media.s3.{k}"));
            }
        }
        let loaded = Loaded {
            config: c,
            file_keys,
            env_keys,
            aws_keys,
        };
        let problems = loaded.config.validate();
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(loaded)
    }

    /// Checks values that parse but cannot work, each problem a sentence naming the setting
    /// and the value: the scheme of `database_url`, an empty `server_name`, only one of
    /// `federation.tls_cert` / `federation.tls_key`, `federation.dead_peer_after_ms` or
    /// `federation.dead_peer_probe_ms` below one second, `federation.key_reload_ms` outside
    /// 50..=10000, `media.store = "s3"` without a bucket,
    /// `node.lease_seconds` outside 3..=3600, `node.drain_delay_ms` over 60000, a `node.id`
    /// empty or over 100 characters,
    /// `limits.interaction_token_seconds` outside 1..=86400.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(u) = &self.database_url
            && let Err(e) = check_database_url(u)
        {
            problems.push(e);
        }
        if self.server_name.trim().is_empty() {
            problems
                .push("server_name is empty: give this server's DNS name (or localhost)".into());
        }
        if self.federation.tls_cert.is_some() != self.federation.tls_key.is_some() {
            problems.push(
                "federation.tls_cert and federation.tls_key go together: set both (HTTPS on the \
                 federation listener) or neither"
                    .into(),
            );
        }
        for (key, v) in [
            ("dead_peer_after_ms", self.federation.dead_peer_after_ms),
            ("dead_peer_probe_ms", self.federation.dead_peer_probe_ms),
        ] {
            if v < 1000 {
                problems.push(format!(
                    "federation.{key} = {v} is below 1000 (milliseconds): give at least one second"
                ));
            }
        }
        if !(50..=10_000).contains(&self.federation.key_reload_ms) {
            problems.push(format!(
                "federation.key_reload_ms = {} is outside 50..=10000 (milliseconds)",
                self.federation.key_reload_ms
            ));
        }
        if !(1..=86_400).contains(&self.limits.interaction_token_seconds) {
            problems.push(format!(
                "limits.interaction_token_seconds = {} is outside 1..=86400: give one second to a day",
                self.limits.interaction_token_seconds
            ));
        }
        if !(3..=3600).contains(&self.node.lease_seconds) {
            problems.push(format!(
                "node.lease_seconds = {} is outside 3..=3600: give three seconds to an hour",
                self.node.lease_seconds
            ));
        }
        if self.node.drain_delay_ms > 60_000 {
            problems.push(format!(
                "node.drain_delay_ms = {} is over 60000: give at most a minute",
                self.node.drain_delay_ms
            ));
        }
        if let Some(id) = &self.node.id
            && (id.trim().is_empty() || id.len() > 100)
        {
            problems.push("node.id must be 1 to 100 characters (or unset)".into());
        }
        problems.extend(self.cluster.problems(&self.database_url()));
        if self.media.store == BlobBackend::S3 && self.media.s3.bucket.is_empty() {
            problems
                .push("media.store = \"s3\" needs media.s3.bucket (the bucket must exist)".into());
        }
        problems
    }

    /// Risky but working combinations, each a sentence: listening on every address with open
    /// registration; listening on every address without `gateway.public_url` (clients would
    /// be told `ws://0.0.0.0:...`).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.listen.ip().is_unspecified() && self.registration == RegistrationPolicy::Open {
            w.push(format!(
                "listen = {} accepts connections from other hosts and registration = open: \
                 anyone who reaches this server can create an account. Set registration = \
                 \"invite_only\" or \"closed\" (HEARTH_REGISTRATION) unless that is intended",
                self.listen
            ));
        }
        if self.listen.ip().is_unspecified() && self.gateway.public_url.is_none() {
            w.push(format!(
                "listen = {} and gateway.public_url is unset: clients are told to connect to \
                 ws://{}/gateway, which other hosts cannot use. Set gateway.public_url \
                 (HEARTH_GATEWAY__PUBLIC_URL), e.g. wss://chat.example.org/gateway",
                self.listen, self.listen
            ));
        }
        w
    }

    /// Whether this configuration keeps files under `data_dir` (SQLite or the local store).
    fn uses_data_dir(&self) -> bool {
        !self.database_url().starts_with("postgres") || self.media.store == BlobBackend::Local
    }

    /// Checks that `data_dir` is (or can be made) a writable directory, creating it if
    /// missing when `create` is set (a probe file is written and removed).
    ///
    /// Errors: a sentence naming `data_dir` and the path.
    pub fn check_data_dir(&self, create: bool) -> Result<(), String> {
        if !self.uses_data_dir() {
            return Ok(());
        }
        let dir = &self.data_dir;
        let shown = dir.display();
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(format!("data_dir = {shown} is not a directory"));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if create {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        format!("data_dir = {shown} does not exist and cannot be created: {e}")
                    })?;
                } else {
                    // Where it would be created: the nearest existing ancestor must be a
                    // writable directory.
                    let mut up = dir.parent();
                    while let Some(p) = up {
                        if p.as_os_str().is_empty() || p.exists() {
                            break;
                        }
                        up = p.parent();
                    }
                    let base = up
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."));
                    return match std::fs::metadata(base) {
                        Ok(m) if m.is_dir() && probe(base).is_ok() => Ok(()),
                        Ok(m) if !m.is_dir() => Err(format!(
                            "data_dir = {shown} cannot be created: {} is not a directory",
                            base.display()
                        )),
                        Ok(_) => Err(format!(
                            "data_dir = {shown} cannot be created: {} is not writable",
                            base.display()
                        )),
                        Err(e) => Err(format!("data_dir = {shown} cannot be created: {e}")),
                    };
                }
            }
            Err(e) => return Err(format!("data_dir = {shown} cannot be read: {e}")),
        }
        probe(dir).map_err(|e| format!("data_dir = {shown} is not writable: {e}"))
    }
}

/// Writes and removes a small file in `dir` (a write test that also holds for root on a
/// read-only mount).
fn probe(dir: &Path) -> std::io::Result<()> {
    let p = dir.join(format!(".hearth-write-test-{}", std::process::id()));
    std::fs::write(&p, b"ok")?;
    std::fs::remove_file(&p)
}
