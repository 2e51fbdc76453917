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

/// The OpenAPI schema of a permission set in a request body, as [`de_permissions`] reads it:
/// a decimal string (Discord's form) or a non-negative integer (older libraries).
pub struct PermissionBits;

impl utoipa::PartialSchema for PermissionBits {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::ObjectBuilder;
        use utoipa::openapi::schema::{OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+$")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .description(Some(
                "A permission set (Discord \"Topics > Permissions\"): a decimal string, or an integer",
            ))
            .into()
    }
}
impl utoipa::ToSchema for PermissionBits {}

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
