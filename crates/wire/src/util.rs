//! Serde helpers shared by the wire types: Discord's permission strings, ISO timestamps and
//! fields that tell "absent" from `null`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserializes a field that distinguishes "absent" (`None`) from `null` (`Some(None)`).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Serializes a permission set as Discord does: a decimal string.
pub fn perm_string(p: u64) -> String {
    p.to_string()
}

/// ISO 8601 timestamp with microseconds and `+00:00`, as Discord sends.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Accepts a permission set given as a string (Discord) or a number (older libraries).
pub fn de_permissions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("permissions must be an integer string")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("permissions must be a non-negative integer")),
        Some(_) => Err(serde::de::Error::custom("permissions must be a string")),
    }
}
