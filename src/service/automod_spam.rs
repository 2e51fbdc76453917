//! The SPAM trigger of Auto Moderation (Discord "Resources > Auto Moderation > Trigger
//! Types", SPAM = 3: "check if content represents generic spam"). Discord's classifier is
//! its own and unpublished; Hearth's is a documented rule instead: a new message is spam
//! when its author has sent the same text [`REPEATS`] times within [`WINDOW_MS`] in the
//! guild, in any of its channels, this message included. "The same text" ignores case and
//! runs of whitespace; texts shorter than [`MIN_CHARS`] characters never count ("ok", "lol").
//! Edits are not counted.
//!
//! What members sent recently is kept in memory on the node that checked it ([`SpamWatch`],
//! only for guilds with an enabled SPAM rule): a hash per message, at most
//! [`KEPT_PER_MEMBER`] per member and never older than the window, for at most
//! [`MAX_MEMBERS`] members (when full, members with nothing left in the window are dropped
//! first). A member whose messages are spread over several nodes is counted per node.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use parking_lot::Mutex;

/// How far back repeats count, ms.
pub const WINDOW_MS: i64 = 30_000;
/// Sends of the same text within the window that make the last one spam.
pub const REPEATS: usize = 3;
/// Shortest text that counts, characters (after folding whitespace).
pub const MIN_CHARS: usize = 8;
/// Recent messages remembered per member.
pub const KEPT_PER_MEMBER: usize = 16;
/// Members remembered at once.
pub const MAX_MEMBERS: usize = 50_000;

/// A member's recent sends: `(time in ms, hash of the folded text)`, oldest first.
type Sends = VecDeque<(i64, u64)>;

/// Recent sends per `(guild, author)`.
#[derive(Default)]
pub struct SpamWatch {
    recent: Mutex<HashMap<(i64, i64), Sends>>,
}

/// The text as compared: lower case, whitespace runs folded to one space, trimmed.
fn folded(content: &str) -> String {
    content
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl SpamWatch {
    /// Records a new message `content` by `user_id` in `guild_id` at `now` (ms since the
    /// epoch) and tells whether it is spam (module docs).
    pub fn record(&self, guild_id: i64, user_id: i64, content: &str, now: i64) -> bool {
        let text = folded(content);
        if text.chars().count() < MIN_CHARS {
            return false;
        }
        let mut h = DefaultHasher::new();
        text.hash(&mut h);
        let hash = h.finish();
        let fresh = |q: &Sends| q.back().is_some_and(|(t, _)| now - t < WINDOW_MS);
        let mut recent = self.recent.lock();
        let key = (guild_id, user_id);
        if recent.len() >= MAX_MEMBERS && !recent.contains_key(&key) {
            recent.retain(|_, q| fresh(q));
            while recent.len() >= MAX_MEMBERS {
                let Some(k) = recent.keys().next().copied() else {
                    break;
                };
                recent.remove(&k);
            }
        }
        let q = recent.entry(key).or_default();
        while q.front().is_some_and(|(t, _)| now - t >= WINDOW_MS) {
            q.pop_front();
        }
        q.push_back((now, hash));
        if q.len() > KEPT_PER_MEMBER {
            q.pop_front();
        }
        q.iter().filter(|(_, x)| *x == hash).count() >= REPEATS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_third_same_text_within_the_window_is_spam() {
        let w = SpamWatch::default();
        assert!(!w.record(1, 7, "Buy cheap gold now", 0));
        assert!(!w.record(1, 7, "buy  CHEAP gold now ", 1_000));
        assert!(w.record(1, 7, "BUY cheap gold now", 2_000));
        // Another member, another guild: counted apart.
        assert!(!w.record(1, 8, "Buy cheap gold now", 2_000));
        assert!(!w.record(2, 7, "Buy cheap gold now", 2_000));
    }

    #[test]
    fn old_sends_and_short_texts_do_not_count() {
        let w = SpamWatch::default();
        assert!(!w.record(1, 7, "same words again", 0));
        assert!(!w.record(1, 7, "same words again", 10_000));
        // The first is out of the window by now.
        assert!(!w.record(1, 7, "same words again", WINDOW_MS + 1));
        assert!(w.record(1, 7, "same words again", WINDOW_MS + 2));
        for t in 0..5 {
            assert!(!w.record(1, 9, "lol", t));
        }
    }
}
