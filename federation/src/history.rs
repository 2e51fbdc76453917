//! Signed history answers (spec §8.2, §8.5): a host signs its join snapshots and history
//! pages (purpose `hearth.history.v1`), binding them to itself, the guild, the channel of a
//! page and the position of its log they were read at (`seq`, `hash`), so a member server
//! trusts them on the host's signature and checks the position against its own verified
//! chain, not on TLS alone.
//!
//! Members added to the answer object before signing:
//! - `host`: the host's server name (the signer);
//! - `guild_id`: the guild id, host id space (decimal string);
//! - `channel_id`: for a history page, the channel (decimal string); absent in snapshots;
//! - `ts`: the host's clock when it answered (ms; the signature's key must be usable then);
//! - `seq`, `hash`: the log position the answer was read at or after (the snapshot carries
//!   them already; `hash` is `null` for an empty log).

use serde_json::Value;

use crate::canonical;
use crate::error::{Error, Result};
use crate::keys::{KeyLookup, ServerKey};
use crate::sign::{self, Purpose};

/// What a signed history answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryScope<'a> {
    /// The host's server name.
    pub host: &'a str,
    /// The guild id (host id space).
    pub guild_id: &'a str,
    /// The channel of a history page; `None` for a join snapshot.
    pub channel_id: Option<&'a str>,
}

/// The log position a verified answer was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPosition {
    /// The host log's `seq` (0: empty log).
    pub seq: i64,
    /// `event_hash` of `seq`; `None` for an empty log.
    pub hash: Option<String>,
}

/// Adds the scope, `ts` and the position to `answer` (a JSON object) and signs it as the host
/// with `key`.
///
/// # Errors
/// [`Error::Malformed`] if `answer` is not an object; canonical JSON errors (content that
/// cannot be hashed).
pub fn sign_history(
    answer: &mut Value,
    scope: HistoryScope<'_>,
    position: &HistoryPosition,
    ts: u64,
    key: &ServerKey,
) -> Result<()> {
    let obj = answer
        .as_object_mut()
        .ok_or_else(|| Error::malformed("a history answer is a JSON object"))?;
    obj.insert("host".into(), scope.host.into());
    obj.insert("guild_id".into(), scope.guild_id.into());
    match scope.channel_id {
        Some(c) => obj.insert("channel_id".into(), c.into()),
        None => obj.remove("channel_id"),
    };
    obj.insert("ts".into(), ts.into());
    obj.insert("seq".into(), position.seq.into());
    obj.insert(
        "hash".into(),
        position.hash.clone().map_or(Value::Null, Value::String),
    );
    sign::sign_json(Purpose::History, answer, scope.host, key)
}

/// Verifies a signed history answer: it names `scope` exactly, and carries a valid signature
/// of `scope.host` by a key usable at its `ts` (spec §3.3). Returns its log position.
///
/// # Errors
/// [`Error::WrongTarget`] when it names another host, guild or channel; [`Error::Malformed`]
/// when `ts`, `seq` or `hash` is missing or of the wrong type; canonical JSON errors; the
/// errors of [`sign::verify_signed_by`].
pub fn verify_history(
    answer: &Value,
    scope: HistoryScope<'_>,
    keys: &impl KeyLookup,
) -> Result<HistoryPosition> {
    canonical::check(answer)?;
    let field = |k: &str| answer.get(k).and_then(Value::as_str);
    if field("host") != Some(scope.host)
        || field("guild_id") != Some(scope.guild_id)
        || field("channel_id") != scope.channel_id
    {
        return Err(Error::WrongTarget(format!(
            "a history answer about {:?}/{:?}/{:?}, asked of {}/{}/{:?}",
            field("host"),
            field("guild_id"),
            field("channel_id"),
            scope.host,
            scope.guild_id,
            scope.channel_id
        )));
    }
    let ts = answer
        .get("ts")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::malformed("ts is required"))?;
    let seq = answer
        .get("seq")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| Error::malformed("seq is required"))?;
    let hash = match answer.get("hash") {
        Some(Value::String(h)) => Some(h.clone()),
        Some(Value::Null) if seq == 0 => None,
        _ => return Err(Error::malformed("hash is required (null only at seq 0)")),
    };
    sign::verify_signed_by(Purpose::History, answer, scope.host, keys, ts)?;
    Ok(HistoryPosition { seq, hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyStore, KnownKey};
    use serde_json::json;

    const SCOPE: HistoryScope<'static> = HistoryScope {
        host: "b.example",
        guild_id: "1001",
        channel_id: Some("2002"),
    };

    fn setup() -> (ServerKey, KeyStore, Value) {
        let k = ServerKey::from_seed("ed25519:b1", [0xb1; 32]).unwrap();
        let mut keys = KeyStore::new();
        keys.insert_key("b.example", "ed25519:b1", KnownKey::current(k.public_key()));
        let mut page = json!({"messages": [{"id": "3003", "content": "old words"}]});
        let pos = HistoryPosition {
            seq: 7,
            hash: Some("h7".into()),
        };
        sign_history(&mut page, SCOPE, &pos, 1_700_000_000_000, &k).unwrap();
        (k, keys, page)
    }

    #[test]
    fn a_signed_page_verifies_with_its_position() {
        let (_, keys, page) = setup();
        let pos = verify_history(&page, SCOPE, &keys.at(0)).unwrap();
        assert_eq!(pos.seq, 7);
        assert_eq!(pos.hash.as_deref(), Some("h7"));
    }

    #[test]
    fn an_altered_or_misdirected_page_is_refused() {
        let (_, keys, page) = setup();
        let mut altered = page.clone();
        altered["messages"][0]["content"] = json!("new words");
        assert_eq!(
            verify_history(&altered, SCOPE, &keys.at(0)),
            Err(Error::BadSignature)
        );
        let mut moved = page.clone();
        moved["seq"] = json!(8);
        assert_eq!(
            verify_history(&moved, SCOPE, &keys.at(0)),
            Err(Error::BadSignature)
        );
        let other = HistoryScope {
            channel_id: Some("2003"),
            ..SCOPE
        };
        assert!(matches!(
            verify_history(&page, other, &keys.at(0)),
            Err(Error::WrongTarget(_))
        ));
        let snapshot = HistoryScope {
            channel_id: None,
            ..SCOPE
        };
        assert!(matches!(
            verify_history(&page, snapshot, &keys.at(0)),
            Err(Error::WrongTarget(_))
        ));
        let mut unsigned = page.clone();
        unsigned.as_object_mut().unwrap().remove("signatures");
        assert!(matches!(
            verify_history(&unsigned, SCOPE, &keys.at(0)),
            Err(Error::MissingSignature(_))
        ));
    }
}
