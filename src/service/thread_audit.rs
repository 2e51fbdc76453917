//! Audit log entries of threads and forum posts (Discord "Audit Log > Audit Log Events":
//! THREAD_CREATE 110, THREAD_UPDATE 111, THREAD_DELETE 112; target: the thread). The
//! changes name the thread's fields as Discord's change keys do: `name`, `type`, `archived`,
//! `locked`, `auto_archive_duration`, `rate_limit_per_user`, `flags`, `invitable` (private
//! threads) and `applied_tags` (posts with tags). A creation lists every field with
//! `old_value` null, a deletion every field with `new_value` null, an update only the fields
//! that changed (no entry when none did). Each entry is written in the transaction of its
//! change; the archiver's automatic archiving is not audited (Discord does not either), nor
//! are posts made by webhooks (no member made them).

use serde_json::{Value, json};

use super::changes_between;
use crate::storage::{ChannelRow, ThreadRow};

/// A thread's audited fields, in Discord's key order.
fn fields(c: &ChannelRow, t: &ThreadRow) -> Vec<(&'static str, Value)> {
    let mut v = vec![
        ("name", json!(c.name)),
        ("type", json!(t.kind)),
        ("archived", json!(t.archived)),
        ("locked", json!(t.locked)),
        ("auto_archive_duration", json!(t.auto_archive_duration)),
        ("rate_limit_per_user", json!(c.rate_limit_per_user)),
        ("flags", json!(c.flags)),
    ];
    if t.kind == 12 {
        v.push(("invitable", json!(t.invitable)));
    }
    let tags: Value = serde_json::from_str(&t.applied_tags).unwrap_or_else(|_| json!([]));
    if tags.as_array().is_some_and(|a| !a.is_empty()) {
        v.push(("applied_tags", tags));
    }
    v
}

/// The changes from `before` to `after` (`None`: the thread did not exist, or no longer
/// does), as `{key, old_value, new_value}` entries (module docs; none when nothing changed).
pub(crate) fn thread_changes(
    before: Option<(&ChannelRow, &ThreadRow)>,
    after: Option<(&ChannelRow, &ThreadRow)>,
) -> Vec<Value> {
    let of =
        |s: Option<(&ChannelRow, &ThreadRow)>| s.map(|(c, t)| fields(c, t)).unwrap_or_default();
    changes_between(&of(before), &of(after))
}
