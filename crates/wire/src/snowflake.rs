//! Snowflake ids: 64-bit, time-ordered, serialized as decimal strings.
//!
//! Layout follows Discord's "Reference > Snowflakes":
//! `(ms since 2015-01-01T00:00:00Z << 22) | (worker << 17) | (process << 12) | increment`.
//! The Discord epoch (1420070400000 ms) is used so that libraries deriving `created_at`
//! from an id get the right time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Discord's epoch, milliseconds since the Unix epoch.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A snowflake id. Serializes as a string; deserializes from a string or a number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Snowflake(pub u64);

impl Snowflake {
    /// Milliseconds since the Unix epoch at which this id was minted.
    pub fn timestamp_ms(self) -> u64 {
        (self.0 >> 22) + DISCORD_EPOCH_MS
    }
    /// The smallest id that could have been minted at `unix_ms` (for time-based queries).
    pub fn from_timestamp_ms(unix_ms: u64) -> Snowflake {
        Snowflake(unix_ms.saturating_sub(DISCORD_EPOCH_MS) << 22)
    }
    /// The id as stored in the database (`BIGINT`); snowflakes stay below 2^63 until 2084.
    pub fn db(self) -> i64 {
        self.0 as i64
    }
    /// Reads an id stored with [`Snowflake::db`].
    pub fn from_db(v: i64) -> Snowflake {
        Snowflake(v as u64)
    }
}

/// The OpenAPI schema (src/http/openapi.rs): a decimal string.
impl utoipa::PartialSchema for Snowflake {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9]+$"))
            .description(Some("A snowflake id as a decimal string"))
            .into()
    }
}
impl utoipa::ToSchema for Snowflake {}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Debug for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Snowflake {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>().map(Snowflake)
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Snowflake;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake (string or integer)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Snowflake, E> {
                u64::try_from(v)
                    .map(Snowflake)
                    .map_err(|_| E::custom("snowflake must not be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Snowflake, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("Value \"{v}\" is not snowflake.")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips_through_the_discord_epoch() {
        let id = Snowflake(175928847299117063); // Discord's documented example
        assert_eq!(id.timestamp_ms(), 1462015105796);
        assert_eq!(
            Snowflake::from_timestamp_ms(1462015105796).0 >> 22,
            id.0 >> 22
        );
    }

    #[test]
    fn serializes_as_string_and_parses_both_forms() {
        let id = Snowflake(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<Snowflake>("\"42\"").unwrap(), id);
        assert_eq!(serde_json::from_str::<Snowflake>("42").unwrap(), id);
        assert!(serde_json::from_str::<Snowflake>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Snowflake>("-1").is_err());
    }
}
