//! The `changes` of audit log entries (Discord "Audit Log Change Object"): one entry per
//! changed key, and the difference between two renderings of an object.

use serde_json::{Value, json};

/// A change entry `{key, old_value?, new_value?}` for the audit log.
pub(crate) fn change(key: &str, old: impl serde::Serialize, new: impl serde::Serialize) -> Value {
    json!({"key": key, "old_value": old, "new_value": new})
}

/// The audit changes from `before` to `after`, each a list of `(key, value)` in Discord's
/// key order (`[]`: the object did not exist yet, or no longer does): one [`change`] per key
/// whose value differs, a key missing on one side counting as `null`; `after`'s keys first,
/// then those only `before` has.
pub(crate) fn changes_between<K: AsRef<str>>(
    before: &[(K, Value)],
    after: &[(K, Value)],
) -> Vec<Value> {
    let get = |list: &'_ [(K, Value)], k: &str| -> Option<Value> {
        list.iter()
            .find(|(x, _)| x.as_ref() == k)
            .map(|(_, v)| v.clone())
    };
    let only_before = before
        .iter()
        .map(|(k, _)| k.as_ref())
        .filter(|k| get(after, k).is_none());
    after
        .iter()
        .map(|(k, _)| k.as_ref())
        .chain(only_before)
        .filter_map(|k| {
            let old = get(before, k).unwrap_or(Value::Null);
            let new = get(after, k).unwrap_or(Value::Null);
            (old != new).then(|| change(k, old, new))
        })
        .collect()
}
