//! Test settings of a homeserver: rate limits out of the way of functional tests and load,
//! cheap password hashing, and the `HEARTH_*` environment form of settings for servers
//! spawned as processes.

use hearth::Config;
use hearth::config::{Bucket, PasswordHashing, RateLimits};
use serde_json::Value;

/// Rate limits so high that functional tests and benchmarks never see a 429 (100 million
/// per second in every bucket, a million failed logins before any backoff).
pub fn unlimited() -> RateLimits {
    let big = Bucket {
        limit: 100_000_000,
        per_seconds: 1.0,
    };
    RateLimits {
        global_per_second: 100_000_000,
        default_route: big,
        message_create: big,
        reactions: big,
        webhook_execute: big,
        register_per_ip: big,
        login_per_ip: big,
        login_backoff: hearth::config::LoginBackoff {
            free_per_pair: 1_000_000,
            free_per_address: 1_000_000,
            free_per_account: 1_000_000,
            ..Default::default()
        },
    }
}

/// Argon2 at its minimum cost (8 KiB, 1 pass), 4 at a time: registering thousands of users
/// through the real API stays fast.
pub fn cheap_hashing(h: &mut PasswordHashing) {
    h.memory_kib = 8;
    h.iterations = 1;
    h.max_concurrent = 4;
}

/// A configuration for tests: `listen` on 127.0.0.1:0, `data_dir`, [`unlimited`] rate
/// limits, [`cheap_hashing`]; everything else default.
pub fn test_config(data_dir: std::path::PathBuf) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir,
        rate_limits: unlimited(),
        ..Config::default()
    };
    cheap_hashing(&mut c.password_hashing);
    c
}

/// The `HEARTH_*` environment variables that set `value` at `prefix` (e.g.
/// `env_vars("HEARTH_RATE_LIMITS", &unlimited())` gives
/// `HEARTH_RATE_LIMITS__DEFAULT_ROUTE__LIMIT=100000000`, ...): nested keys joined with `__`,
/// upper-cased, as the configuration loader reads them.
///
/// # Panics
/// When `value` does not serialize (a bug).
pub fn env_vars(prefix: &str, value: &impl serde::Serialize) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{prefix}__{}", k.to_ascii_uppercase()), v, out);
                }
            }
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            Value::Null => {}
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(
        prefix,
        &serde_json::to_value(value).expect("settings serialize"),
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_form_of_rate_limits() {
        let vars = env_vars("HEARTH_RATE_LIMITS", &unlimited());
        assert!(vars.contains(&(
            "HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND".into(),
            "100000000".into()
        )));
        assert!(vars.contains(&(
            "HEARTH_RATE_LIMITS__LOGIN_PER_IP__PER_SECONDS".into(),
            "1.0".into()
        )));
        assert!(vars.contains(&(
            "HEARTH_RATE_LIMITS__LOGIN_BACKOFF__FREE_PER_PAIR".into(),
            "1000000".into()
        )));
        assert_eq!(vars.len(), 1 + 6 * 2 + 6);
    }
}
