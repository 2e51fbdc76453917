//! Auto Moderation matching (Discord "Resources > Auto Moderation > Keyword Matching
//! Strategies"), pure: a rule compiled once ([`Compiled`]) and checked against a message's
//! content ([`Compiled::check`]).
//!
//! - **Keywords** are case-insensitive (Unicode lower case). `word` matches a whole word or
//!   phrase; `word*` a word starting with it, `*word` a word ending with it, `*word*`
//!   anywhere. A word boundary is any character that is not a letter or a digit (Discord
//!   says "whitespace"; punctuation next to a word counts as a boundary here, so `cat!`
//!   matches `cat`). The matched content is the whole word(s) around the match.
//! - **Allow list**: a match whose matched content itself matches an allow-list keyword
//!   (same wildcard rules) does not trigger; the next match is tried.
//! - **Regular expressions** (`regex_patterns`) use the `regex` crate (Rust flavour, as
//!   Discord), case-insensitive, compiled with a size limit of [`REGEX_SIZE_LIMIT`] bytes; the
//!   crate matches in linear time, so no pattern can make a message slow to check.
//! - **Presets** are Hearth's own short baseline lists ([`preset_words`]), not Discord's
//!   (which are not public); operators wanting more use KEYWORD rules.
//! - **Mention spam** counts unique user and role mentions (`<@id>`, `<@!id>`, `<@&id>`)
//!   in the content, whether or not they would notify.

use std::collections::HashSet;

use regex::{Regex, RegexBuilder};

use crate::storage::AutomodRuleRow;
use crate::wire::{self, AutoModEventType, AutoModPreset, AutoModTriggerType};

/// Largest compiled size of one regular expression, bytes (the `regex` crate's
/// `size_limit`; its lazy DFA gets the same).
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Compiles one `regex_patterns` entry (case-insensitive, size-limited); the error's text.
pub fn compile_regex(p: &str) -> Result<Regex, String> {
    RegexBuilder::new(p)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "Regex pattern is too large.".to_string(),
            _ => "Invalid regex pattern.".to_string(),
        })
}

/// Hearth's baseline word lists of the KEYWORD_PRESET presets, in keyword syntax. Short
/// on purpose (a starting point, English only): PROFANITY swearing, SEXUAL_CONTENT sexually
/// explicit terms, SLURS a few common slurs. Listed in docs/discord-compatibility.md.
pub fn preset_words(p: AutoModPreset) -> &'static [&'static str] {
    match p {
        AutoModPreset::Profanity => &[
            "fuck*",
            "*fucker",
            "shit*",
            "bullshit",
            "bitch*",
            "asshole*",
            "bastard*",
            "cunt*",
            "dickhead*",
            "motherfuck*",
            "wanker*",
        ],
        AutoModPreset::SexualContent => &[
            "porn*", "nude", "nudes", "blowjob*", "handjob*", "dildo*", "hentai", "xxx", "sexting",
            "cumshot*",
        ],
        AutoModPreset::Slurs => &[
            "nigger*", "nigga*", "faggot*", "fag", "fags", "retard", "retards", "tranny*", "kike*",
            "spic", "spics", "chink*", "wetback*",
        ],
        AutoModPreset::Unknown(_) => &[],
    }
}

/// What triggered a rule: the rule's keyword (or pattern) and the content it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub keyword: Option<String>,
    pub content: Option<String>,
}

/// A rule ready to be checked: its wire form and its compiled trigger.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub rule: wire::AutoModerationRule,
    keywords: Vec<String>,
    regexes: Vec<(String, Regex)>,
    allow: Vec<String>,
    mention_limit: Option<usize>,
    exempt_roles: HashSet<i64>,
    exempt_channels: HashSet<i64>,
}

/// The wire form of a stored rule (fields that do not parse are shown empty).
pub fn rule_wire(r: &AutomodRuleRow) -> wire::AutoModerationRule {
    use crate::snowflake::Snowflake;
    wire::AutoModerationRule {
        id: Snowflake::from_db(r.id),
        guild_id: Snowflake::from_db(r.guild_id),
        name: r.name.clone(),
        creator_id: Snowflake::from_db(r.creator_id),
        event_type: AutoModEventType::from_db(r.event_type),
        trigger_type: AutoModTriggerType::from_db(r.trigger_type),
        trigger_metadata: serde_json::from_str(&r.trigger_metadata).unwrap_or_default(),
        actions: serde_json::from_str(&r.actions).unwrap_or_default(),
        enabled: r.enabled,
        exempt_roles: serde_json::from_str(&r.exempt_roles).unwrap_or_default(),
        exempt_channels: serde_json::from_str(&r.exempt_channels).unwrap_or_default(),
    }
}

impl Compiled {
    /// Compiles a stored rule (patterns that no longer compile are skipped).
    pub fn new(r: &AutomodRuleRow) -> Compiled {
        let rule = rule_wire(r);
        let m = &rule.trigger_metadata;
        let lower = |v: &Option<Vec<String>>| -> Vec<String> {
            v.iter()
                .flatten()
                .map(|k| k.to_lowercase())
                .filter(|k| !k.trim_matches('*').is_empty())
                .collect()
        };
        let mut keywords = lower(&m.keyword_filter);
        if rule.trigger_type == AutoModTriggerType::KeywordPreset {
            for p in m.presets.iter().flatten() {
                keywords.extend(preset_words(*p).iter().map(|w| w.to_string()));
            }
        }
        let regexes = m
            .regex_patterns
            .iter()
            .flatten()
            .filter_map(|p| compile_regex(p).ok().map(|r| (p.clone(), r)))
            .collect();
        Compiled {
            keywords,
            regexes,
            allow: lower(&m.allow_list),
            mention_limit: m.mention_total_limit.and_then(|l| usize::try_from(l).ok()),
            exempt_roles: rule.exempt_roles.iter().map(|r| r.db()).collect(),
            exempt_channels: rule.exempt_channels.iter().map(|c| c.db()).collect(),
            rule,
        }
    }

    /// Whether a member with `roles` posting in `channels` is exempt from this rule:
    /// `channels` is the channel and its ancestors (its category; for a thread, the parent
    /// channel and the parent's category), any of which may be an exempt channel.
    pub fn exempt(&self, roles: &[i64], channels: &[i64]) -> bool {
        roles.iter().any(|r| self.exempt_roles.contains(r))
            || channels.iter().any(|c| self.exempt_channels.contains(c))
    }

    /// Checks message content (or, for a MEMBER_PROFILE rule, one field of a profile)
    /// against the rule's trigger; `mentions`: the number of unique user and role mentions
    /// in it. `None` when it does not trigger (or the trigger type checks no text).
    pub fn check(&self, content: &str, mentions: usize) -> Option<Hit> {
        match self.rule.trigger_type {
            AutoModTriggerType::Keyword
            | AutoModTriggerType::KeywordPreset
            | AutoModTriggerType::MemberProfile => {
                let text = Lowered::new(content);
                for k in &self.keywords {
                    for (s, e) in find_keyword(&text.lower, k) {
                        let matched = text.original(content, s, e);
                        if !self.allowed(matched) {
                            return Some(Hit {
                                keyword: Some(k.clone()),
                                content: Some(matched.to_string()),
                            });
                        }
                    }
                }
                for (p, re) in &self.regexes {
                    for m in re.find_iter(content) {
                        if !self.allowed(m.as_str()) {
                            return Some(Hit {
                                keyword: Some(p.clone()),
                                content: Some(m.as_str().to_string()),
                            });
                        }
                    }
                }
                None
            }
            AutoModTriggerType::MentionSpam => {
                let limit = self.mention_limit?;
                (mentions > limit).then_some(Hit {
                    keyword: None,
                    content: None,
                })
            }
            _ => None,
        }
    }

    /// Whether matched content is exempted by the allow list.
    fn allowed(&self, matched: &str) -> bool {
        let m = matched.to_lowercase();
        self.allow.iter().any(|a| !find_keyword(&m, a).is_empty())
    }
}

/// Content in lower case with the byte offset in the original of each lower-case byte.
struct Lowered {
    lower: String,
    map: Vec<usize>,
}

impl Lowered {
    fn new(s: &str) -> Lowered {
        let mut lower = String::with_capacity(s.len());
        let mut map = Vec::with_capacity(s.len() + 1);
        for (i, c) in s.char_indices() {
            let before = lower.len();
            lower.extend(c.to_lowercase());
            map.extend(std::iter::repeat_n(i, lower.len() - before));
        }
        map.push(s.len());
        Lowered { lower, map }
    }

    /// The original text of lower-case bytes `s..e`.
    fn original<'a>(&self, original: &'a str, s: usize, e: usize) -> &'a str {
        let (os, oe) = (self.map[s], self.map[e]);
        original.get(os..oe.max(os)).unwrap_or("")
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// Byte ranges in `text` (lower case) matched by `keyword` (lower case, wildcard syntax),
/// widened to the whole words around each match.
pub fn find_keyword(text: &str, keyword: &str) -> Vec<(usize, usize)> {
    let prefix = keyword.ends_with('*');
    let suffix = keyword.starts_with('*');
    let k = keyword.trim_matches('*');
    if k.is_empty() {
        return vec![];
    }
    let mut out = vec![];
    let mut from = 0;
    while let Some(pos) = text[from..].find(k) {
        let s = from + pos;
        let e = s + k.len();
        let starts_word = text[..s].chars().next_back().is_none_or(|c| !is_word(c))
            || !k.chars().next().is_some_and(is_word);
        let ends_word = text[e..].chars().next().is_none_or(|c| !is_word(c))
            || !k.chars().next_back().is_some_and(is_word);
        let ok = match (suffix, prefix) {
            (true, true) => true,
            (false, true) => starts_word,
            (true, false) => ends_word,
            (false, false) => starts_word && ends_word,
        };
        if ok {
            let ws = text[..s]
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_word(*c))
                .last()
                .map_or(s, |(i, _)| i);
            let we = text[e..]
                .char_indices()
                .take_while(|(_, c)| is_word(*c))
                .last()
                .map_or(e, |(i, c)| e + i + c.len_utf8());
            out.push((ws, we));
        }
        from = s + text[s..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &str, k: &str) -> Vec<String> {
        let t = text.to_lowercase();
        find_keyword(&t, k)
            .into_iter()
            .map(|(s, e)| t[s..e].to_string())
            .collect()
    }

    #[test]
    fn wildcards_follow_discords_matching_strategies() {
        // Prefix.
        assert_eq!(
            hits("catch the Catapult, CAttLE", "cat*"),
            ["catch", "catapult", "cattle"]
        );
        assert!(hits("wildcat", "cat*").is_empty());
        assert_eq!(hits("the matrix", "the mat*"), ["the matrix"]);
        // Suffix.
        assert_eq!(hits("wildcat copyCat", "*cat"), ["wildcat", "copycat"]);
        assert!(hits("catch", "*cat").is_empty());
        assert_eq!(hits("breathe mat", "*the mat"), ["breathe mat"]);
        // Anywhere.
        assert_eq!(
            hits("location education", "*cat*"),
            ["location", "education"]
        );
        // Whole word.
        assert_eq!(hits("a cat!", "cat"), ["cat"]);
        assert!(hits("catch wildcat location", "cat").is_empty());
        assert_eq!(hits("on the mat", "the mat"), ["the mat"]);
        assert!(hits("i like c++ a lot", "i like c++").len() == 1);
    }

    fn rule(kind: i64, meta: serde_json::Value) -> Compiled {
        Compiled::new(&AutomodRuleRow {
            id: 1,
            guild_id: 2,
            name: "r".into(),
            creator_id: 3,
            event_type: 1,
            trigger_type: kind,
            trigger_metadata: meta.to_string(),
            actions: "[]".into(),
            enabled: true,
            exempt_roles: "[\"7\"]".into(),
            exempt_channels: "[\"8\"]".into(),
        })
    }

    #[test]
    fn allow_list_regex_presets_mentions_and_exemptions() {
        let r = rule(
            1,
            serde_json::json!({"keyword_filter": ["*ana*"], "regex_patterns": ["b[0-9]+x"], "allow_list": ["banana"]}),
        );
        assert_eq!(r.check("I ate a BANANA", 0), None);
        let h = r.check("a banana and an Anaconda", 0).unwrap();
        assert_eq!(h.content.as_deref(), Some("Anaconda"));
        assert_eq!(h.keyword.as_deref(), Some("*ana*"));
        let h = r.check("code B42X here", 0).unwrap();
        assert_eq!(h.content.as_deref(), Some("B42X"));
        assert!(r.exempt(&[7], &[1]) && r.exempt(&[], &[8]) && r.exempt(&[], &[1, 8]));
        assert!(!r.exempt(&[6], &[1, 9, 10]) && r.exempt(&[], &[1, 9, 8]));
        let p = rule(4, serde_json::json!({"presets": [1], "allow_list": []}));
        assert!(p.check("oh SHIT!", 0).is_some());
        assert!(p.check("shiitake", 0).is_none());
        let m = rule(5, serde_json::json!({"mention_total_limit": 2}));
        assert!(m.check("", 2).is_none());
        assert!(m.check("", 3).is_some());
    }

    #[test]
    fn oversized_or_invalid_patterns_are_refused() {
        assert!(compile_regex("(").is_err());
        assert!(compile_regex("\\w{1000}\\w{1000}\\w{1000}").is_err());
        assert!(compile_regex("^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$").is_ok());
    }
}
