//! Server names and user handles (spec §2).
//!
//! A **server name** is the DNS name users see in handles: lower-case LDH labels separated by
//! dots (`chat.example.org`), optionally followed by `:port` (then discovery skips delegation
//! and SRV, spec §2.2). IP literals are not server names. At most 255 bytes in total.
//!
//! A **user handle** is `localpart@server_name`, the localpart being 1-64 characters of
//! `[a-z0-9_.]` (a superset of the homeserver's username rule, so reserved names such as
//! `deleted_user` or `_host` fit).

use crate::error::{Error, Result};

/// Longest accepted server name, port included, in bytes.
pub const MAX_SERVER_NAME_LEN: usize = 255;
/// Longest accepted localpart, in bytes.
pub const MAX_LOCALPART_LEN: usize = 64;

/// Validates a server name (spec §2.1).
///
/// # Errors
/// [`Error::Malformed`] explaining the problem.
pub fn validate_server_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_SERVER_NAME_LEN {
        return Err(Error::malformed(format!(
            "server name must be 1-{MAX_SERVER_NAME_LEN} bytes"
        )));
    }
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (name, None),
    };
    if let Some(p) = port {
        let ok = !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && !p.starts_with('0')
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
        if !ok {
            return Err(Error::malformed(format!("server name {name:?}: bad port")));
        }
    }
    let labels: Vec<&str> = host.split('.').collect();
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(Error::malformed(format!(
                "server name {name:?}: labels must be 1-63 characters of [a-z0-9-], not starting or ending with '-'"
            )));
        }
    }
    // The last label of a DNS name is never all digits; this also rules out IPv4 literals.
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::malformed(format!(
            "server name {name:?}: IP literals are not server names"
        )));
    }
    Ok(())
}

/// Splits and validates a user handle `localpart@server_name` (spec §2.3).
///
/// # Errors
/// [`Error::Malformed`] if there is no `@`, the localpart is empty, too long or has characters
/// outside `[a-z0-9_.]`, or the server name is invalid.
pub fn parse_handle(handle: &str) -> Result<(&str, &str)> {
    let (local, server) = handle
        .split_once('@')
        .ok_or_else(|| Error::malformed(format!("user handle {handle:?} has no '@'")))?;
    let ok = !local.is_empty()
        && local.len() <= MAX_LOCALPART_LEN
        && local
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !ok {
        return Err(Error::malformed(format!(
            "user handle {handle:?}: localpart must be 1-{MAX_LOCALPART_LEN} characters of [a-z0-9_.]"
        )));
    }
    validate_server_name(server)?;
    Ok((local, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        for ok in [
            "a.example",
            "localhost",
            "b-1.example.org",
            "a.example:8448",
            "x1",
        ] {
            assert!(validate_server_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A.example",
            "a..example",
            "-a.example",
            "a.example:",
            "a.example:0",
            "a.example:65536",
            "a.example:08448",
            "127.0.0.1",
            "[::1]:8448",
            "a_b.example",
            "a.example.",
        ] {
            assert!(validate_server_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn handles() {
        assert_eq!(
            parse_handle("alice@a.example").unwrap(),
            ("alice", "a.example")
        );
        assert_eq!(
            parse_handle("deleted_user@b.example:8448").unwrap(),
            ("deleted_user", "b.example:8448")
        );
        for bad in [
            "alice",
            "@a.example",
            "Alice@a.example",
            "a b@a.example",
            "a@b@c",
        ] {
            assert!(parse_handle(bad).is_err(), "{bad}");
        }
    }
}
