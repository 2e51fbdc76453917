//! The registrar protocol's shapes that both sides check (spec/registrar.md §4
//! "Registration with proof of domain control"): where a homeserver serves a challenge
//! document and what a challenge token looks like.

/// Where a homeserver serves challenge documents (followed by `/{token}`).
pub const CHALLENGE_PATH: &str = "/.well-known/hearth/registrar-challenge";

/// Whether `token` has the shape of a registrar challenge token: 22-128 characters of
/// `[A-Za-z0-9_-]`.
pub fn valid_token(token: &str) -> bool {
    (22..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_shape() {
        assert!(super::valid_token(&"a".repeat(22)));
        assert!(super::valid_token("AbC-_0123456789abcdefgh"));
        assert!(!super::valid_token(&"a".repeat(21)));
        assert!(!super::valid_token(&"a".repeat(129)));
        assert!(!super::valid_token("abcdefghijklmnopqrstu/v"));
    }
}
