//! Canonical JSON (spec §4): the one byte encoding of a JSON value that Hearth signs and hashes.
//!
//! Rules (Matrix-style):
//! - objects: keys sorted by their UTF-8 bytes (equivalently by Unicode code point), no
//!   duplicate keys, no whitespace anywhere (`{"a":1,"b":[true,null]}`);
//! - numbers: integers only, in `-(2^53-1) ..= 2^53-1`, written in shortest decimal form; a
//!   number token with a fraction or exponent (`1.0`, `1E0`) and the token `-0` are floats and
//!   rejected;
//! - strings: UTF-8, with the minimal escaping of `serde_json`: `"` → `\"`, `\` → `\\`,
//!   U+0008/U+0009/U+000A/U+000C/U+000D → `\b` `\t` `\n` `\f` `\r`, other code points below
//!   U+0020 → `\u00XX` (lower-case hex); everything else, `/` and non-ASCII included, is written
//!   as is;
//! - nesting: at most [`MAX_DEPTH`] levels of objects/arrays.
//!
//! The output never contains a raw NUL byte, which is what makes the `context || 0x00 || json`
//! framing of [`crate::sign`] unambiguous.

use serde_json::Value;

use crate::error::{Error, Result};

/// Largest magnitude of an integer allowed in canonical JSON: 2^53 - 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Deepest nesting of objects and arrays accepted (`[[1]]` has depth 2; scalars do not count).
pub const MAX_DEPTH: usize = 64;

/// Encodes `value` as canonical JSON bytes (spec §4).
///
/// # Errors
/// [`Error::Float`] for a non-integer number, [`Error::IntegerOutOfRange`] for an integer beyond
/// ±(2^53-1), [`Error::TooDeep`] for nesting beyond [`MAX_DEPTH`].
pub fn canonical_json(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write_value(value, &mut out, 1)?;
    Ok(out)
}

/// [`canonical_json`] as a `String` (the bytes are always valid UTF-8).
///
/// # Errors
/// As [`canonical_json`].
pub fn canonical_string(value: &Value) -> Result<String> {
    let bytes = canonical_json(value)?;
    String::from_utf8(bytes).map_err(|_| Error::malformed("canonical JSON is not UTF-8"))
}

/// Checks that `value` can be canonicalised (integers in range, depth) without encoding it.
///
/// # Errors
/// As [`canonical_json`].
pub fn check(value: &Value) -> Result<()> {
    check_value(value, 1)
}

/// Parses received JSON bytes strictly (spec §4.3): like `serde_json::from_slice`, but a
/// duplicated object key is an error (canonical JSON has none, and two parsers keeping
/// different duplicates would see different signed data), and the result must pass [`check`]
/// (integers only, range, depth). Receivers parse signed bodies with this.
///
/// # Errors
/// [`Error::Malformed`] for invalid JSON or a duplicate key; the errors of [`check`].
pub fn parse_strict(bytes: &[u8]) -> Result<Value> {
    let v = parse_with(bytes, StrictSeed { floats: false })?;
    check(&v)?;
    Ok(v)
}

/// Parses received JSON bytes refusing duplicated object keys (spec §4.3), numbers otherwise
/// as `serde_json::from_slice` reads them (floats kept): for answers that carry signed data
/// among free-form Discord objects, whose signed parts are then checked with [`check`].
///
/// # Errors
/// [`Error::Malformed`] for invalid JSON or a duplicate key.
pub fn parse_unique_keys(bytes: &[u8]) -> Result<Value> {
    parse_with(bytes, StrictSeed { floats: true })
}

fn parse_with(bytes: &[u8], seed: StrictSeed) -> Result<Value> {
    use serde::de::DeserializeSeed;
    let fail = |e: serde_json::Error| {
        let msg = e.to_string();
        if msg.contains("non-integer number") {
            Error::Float(msg)
        } else {
            Error::malformed(format!("invalid JSON: {msg}"))
        }
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = seed.deserialize(&mut de).map_err(fail)?;
    de.end().map_err(fail)?;
    Ok(v)
}

/// Reads a `Value`, refusing duplicated object keys and, unless `floats`, non-integer numbers.
#[derive(Clone, Copy)]
struct StrictSeed {
    floats: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictSeed {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        if self.floats {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        } else {
            Err(E::custom(format!("non-integer number {v}")))
        }
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            let v = map.next_value_seed(self)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

fn check_value(value: &Value, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH && (value.is_array() || value.is_object()) {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    match value {
        Value::Number(n) => check_number(n).map(|_| ()),
        Value::Array(items) => items.iter().try_for_each(|v| check_value(v, depth + 1)),
        Value::Object(map) => map.values().try_for_each(|v| check_value(v, depth + 1)),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

fn check_number(n: &serde_json::Number) -> Result<i64> {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(Error::IntegerOutOfRange(n.to_string()));
        }
        Ok(i)
    } else if n.is_u64() {
        // Only values above i64::MAX land here, all of them out of range.
        Err(Error::IntegerOutOfRange(n.to_string()))
    } else {
        Err(Error::Float(n.to_string()))
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH && (value.is_array() || value.is_object()) {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let i = check_number(n)?;
            out.extend_from_slice(i.to_string().as_bytes());
        }
        Value::String(s) => write_string(s, out)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out, depth + 1)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sort explicitly: serde_json's map keeps insertion order when some crate in the
            // build enables its `preserve_order` feature. `str` ordering is byte-wise, which for
            // UTF-8 equals code point order.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out)?;
                out.push(b':');
                write_value(v, out, depth + 1)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) -> Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(|e| Error::malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        canonical_string(v).unwrap()
    }

    #[test]
    fn sorts_keys_and_strips_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b" : 2, "a" : [1, 2, {"z": null, "y": true}] }"#).unwrap();
        assert_eq!(canon(&v), r#"{"a":[1,2,{"y":true,"z":null}],"b":2}"#);
    }

    #[test]
    fn orders_non_ascii_keys_by_code_point() {
        // U+00E9 (é) < U+4E2D (中) < U+1F600 (😀); 'Z' (0x5A) < 'a' (0x61) < '~' (0x7E).
        let v = json!({"😀": 1, "中": 2, "é": 3, "a": 4, "Z": 5, "~": 6, "": 7});
        assert_eq!(canon(&v), r#"{"":7,"Z":5,"a":4,"~":6,"é":3,"中":2,"😀":1}"#);
    }

    #[test]
    fn code_point_order_differs_from_utf16_order() {
        // U+FF61 sorts before U+1F600 by code point, but after it in UTF-16 units.
        let v = json!({"\u{1F600}": 1, "\u{FF61}": 2});
        assert_eq!(canon(&v), "{\"\u{FF61}\":2,\"\u{1F600}\":1}");
    }

    #[test]
    fn nested_objects_are_sorted_at_every_level() {
        let v = json!({"outer": {"b": {"d": 1, "c": 2}, "a": [{"y": 1, "x": 2}]}});
        assert_eq!(
            canon(&v),
            r#"{"outer":{"a":[{"x":2,"y":1}],"b":{"c":2,"d":1}}}"#
        );
    }

    #[test]
    fn escapes_minimally() {
        let v = json!({"s": "quote\" back\\ nl\n tab\t nul\u{0} bell\u{7} slash/ é \u{2028}"});
        assert_eq!(
            canon(&v),
            "{\"s\":\"quote\\\" back\\\\ nl\\n tab\\t nul\\u0000 bell\\u0007 slash/ é \u{2028}\"}"
        );
    }

    #[test]
    fn integers_at_the_limits() {
        let v = json!([0, -1, 9007199254740991_i64, -9007199254740991_i64]);
        assert_eq!(canon(&v), "[0,-1,9007199254740991,-9007199254740991]");
        assert!(matches!(
            canonical_json(&json!(9007199254740992_i64)),
            Err(Error::IntegerOutOfRange(_))
        ));
        assert!(matches!(
            canonical_json(&json!(-9007199254740992_i64)),
            Err(Error::IntegerOutOfRange(_))
        ));
        assert!(matches!(
            canonical_json(&json!(u64::MAX)),
            Err(Error::IntegerOutOfRange(_))
        ));
    }

    #[test]
    fn rejects_floats() {
        for text in [
            "1.5",
            "1.0",
            "1e3",
            "1E0",
            "-0",
            "-0.0",
            r#"{"a":[{"b":0.1}]}"#,
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(
                matches!(canonical_json(&v), Err(Error::Float(_))),
                "{text} must be rejected"
            );
            assert!(check(&v).is_err());
        }
    }

    #[test]
    fn rejects_excessive_depth() {
        let mut ok = json!(1);
        for _ in 0..MAX_DEPTH {
            ok = json!([ok]);
        }
        assert!(canonical_json(&ok).is_ok());
        assert!(check(&ok).is_ok());
        let too_deep = json!({ "a": ok });
        assert_eq!(canonical_json(&too_deep), Err(Error::TooDeep(MAX_DEPTH)));
        assert_eq!(check(&too_deep), Err(Error::TooDeep(MAX_DEPTH)));
    }

    #[test]
    fn strict_parse() {
        let v = parse_strict(br#"{"b": [1, {"c": null}], "a": "x"}"#).unwrap();
        assert_eq!(canon(&v), r#"{"a":"x","b":[1,{"c":null}]}"#);
        assert!(matches!(
            parse_strict(br#"{"a": 1, "a": 2}"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse_strict(br#"{"x": {"a": 1, "b": 2, "a": 1}}"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(parse_strict(b"[1.5]"), Err(Error::Float(_))));
        assert!(matches!(parse_strict(b"-0"), Err(Error::Float(_))));
        assert!(matches!(
            parse_strict(b"9007199254740992"),
            Err(Error::IntegerOutOfRange(_))
        ));
        assert!(matches!(parse_strict(b"{"), Err(Error::Malformed(_))));
        assert!(matches!(parse_strict(b"1 2"), Err(Error::Malformed(_))));
        // Answers: duplicates refused, floats kept.
        assert_eq!(
            parse_unique_keys(br#"{"a": [1.5, {"b": 2}]}"#).unwrap(),
            serde_json::json!({"a": [1.5, {"b": 2}]})
        );
        assert!(matches!(
            parse_unique_keys(br#"[{"a": 1, "a": 1}]"#),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse_unique_keys(b"{} x"),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn output_never_contains_nul() {
        let v = json!({"\u{0}": "\u{0}"});
        assert!(!canonical_json(&v).unwrap().contains(&0));
    }
}
