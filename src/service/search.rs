//! Message search (Discord "Resources > Message > Search Guild Messages"; README "Search"):
//! `GET /guilds/{guild_id}/messages/search` and `GET /channels/{channel_id}/messages/search`.
//! The query string is validated here (Discord's 400 50035 with field errors); the caller's
//! readable channels are computed from one snapshot of the guild (VIEW_CHANNEL and
//! READ_MESSAGE_HISTORY with overwrites, as for history); the full-text search runs in the
//! database's own engine (`storage/search.rs`, migration 0024).

use std::collections::{HashMap, HashSet};

use super::{Actor, GuildAccess, Hearth};
use crate::error::{Error, FieldErrors, Result, Unknown};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{AuthorKind, HasKind, OverwriteRow, SearchFilter, SearchSort, SearchTerm};
use crate::wire::{
    self, SEARCH_CONTENT_MAX, SEARCH_LIMIT_MAX, SEARCH_OFFSET_MAX, SEARCH_VALUES_MAX,
};

/// Where a search looks.
#[derive(Debug, Clone, Copy)]
pub enum SearchScope {
    /// Every channel of the guild the caller may read (`GET /guilds/{id}/messages/search`).
    Guild(Snowflake),
    /// One channel, a DM included (`GET /channels/{id}/messages/search`).
    Channel(Snowflake),
}

/// The permissions a channel's messages need to be searched.
const READ: perm::Permissions = perm::VIEW_CHANNEL | perm::READ_MESSAGE_HISTORY;

fn snowflake(errs: &mut FieldErrors, field: &str, v: &str) -> Option<Snowflake> {
    match v.parse::<Snowflake>() {
        Ok(s) if s.db() >= 0 => Some(s),
        _ => {
            errs.add(
                field,
                "NUMBER_TYPE_COERCE",
                format!("Value \"{v}\" is not snowflake."),
            );
            None
        }
    }
}

fn integer(errs: &mut FieldErrors, field: &str, v: &str, min: i64, max: i64) -> Option<i64> {
    match v.parse::<i64>() {
        Ok(n) if n < min => {
            errs.add(
                field,
                "NUMBER_TYPE_MIN",
                format!("int value should be greater than or equal to {min}."),
            );
            None
        }
        Ok(n) if n > max => {
            errs.add(
                field,
                "NUMBER_TYPE_MAX",
                format!("int value should be less than or equal to {max}."),
            );
            None
        }
        Ok(n) => Some(n),
        Err(_) => {
            errs.add(
                field,
                "NUMBER_TYPE_COERCE",
                format!("Value \"{v}\" is not int."),
            );
            None
        }
    }
}

fn choice(errs: &mut FieldErrors, field: &str, v: &str, choices: &[&str]) -> Option<String> {
    if choices.contains(&v) {
        Some(v.to_owned())
    } else {
        errs.add(
            field,
            "BASE_TYPE_CHOICES",
            format!("Value must be one of {{{}}}.", choices.join(", ")),
        );
        None
    }
}

const AUTHOR_TYPES: &[&str] = &["user", "bot", "webhook", "-user", "-bot", "-webhook"];
const HAS: &[&str] = &[
    "link",
    "embed",
    "file",
    "image",
    "video",
    "sound",
    "sticker",
    "poll",
    "snapshot",
    "-link",
    "-embed",
    "-file",
    "-image",
    "-video",
    "-sound",
    "-sticker",
    "-poll",
    "-snapshot",
];

/// Parses the query string's `(key, value)` pairs (repeatable keys as lists; unknown keys
/// ignored, as Discord does). Errors: 400 50035 with the field of each bad value.
pub fn parse_query(pairs: &[(String, String)]) -> Result<wire::MessageSearchQuery> {
    let mut q = wire::MessageSearchQuery::default();
    let mut errs = FieldErrors::new();
    for (k, v) in pairs {
        let k = k.strip_suffix("[]").unwrap_or(k);
        match k {
            "content" => {
                if v.chars().count() > SEARCH_CONTENT_MAX {
                    errs.add(
                        "content",
                        "BASE_TYPE_MAX_LENGTH",
                        format!("Must be {SEARCH_CONTENT_MAX} or fewer in length."),
                    );
                } else {
                    q.content = Some(v.clone());
                }
            }
            "author_id" => q.author_id.extend(snowflake(&mut errs, k, v)),
            "mentions" => q.mentions.extend(snowflake(&mut errs, k, v)),
            "channel_id" => q.channel_id.extend(snowflake(&mut errs, k, v)),
            "author_type" => q.author_type.extend(choice(&mut errs, k, v, AUTHOR_TYPES)),
            "has" => q.has.extend(choice(&mut errs, k, v, HAS)),
            "min_id" => q.min_id = snowflake(&mut errs, k, v),
            "max_id" => q.max_id = snowflake(&mut errs, k, v),
            "pinned" => match v.as_str() {
                "true" | "True" | "1" => q.pinned = Some(true),
                "false" | "False" | "0" => q.pinned = Some(false),
                _ => errs.add(k, "BASE_TYPE_BOOLEAN", "Must be either true or false."),
            },
            "sort_by" => q.sort_by = choice(&mut errs, k, v, &["timestamp", "relevance"]),
            "sort_order" => q.sort_order = choice(&mut errs, k, v, &["desc", "asc"]),
            "offset" => q.offset = integer(&mut errs, k, v, 0, SEARCH_OFFSET_MAX),
            "limit" => q.limit = integer(&mut errs, k, v, 1, SEARCH_LIMIT_MAX),
            _ => {}
        }
    }
    for (field, n) in [
        ("author_id", q.author_id.len()),
        ("author_type", q.author_type.len()),
        ("mentions", q.mentions.len()),
        ("has", q.has.len()),
        ("channel_id", q.channel_id.len()),
    ] {
        if n > SEARCH_VALUES_MAX {
            errs.add(
                field,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {SEARCH_VALUES_MAX} or fewer in length."),
            );
        }
    }
    errs.into_result()?;
    Ok(q)
}

/// The terms of a content query: `"quoted words"` are a phrase; other whitespace-separated
/// tokens are split into words at anything but letters and digits (the words of one token
/// form a phrase, as `red-fox` is stored); a token ending in `*` is a prefix. Words are
/// lower-cased. A query without any word has no terms.
pub fn content_terms(content: &str) -> Vec<SearchTerm> {
    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }
    let mut terms = vec![];
    for (i, part) in content.split('"').enumerate() {
        if i % 2 == 1 {
            // Inside quotes: one phrase.
            let w = words(part);
            if !w.is_empty() {
                terms.push(SearchTerm {
                    words: w,
                    prefix: false,
                });
            }
            continue;
        }
        for token in part.split_whitespace() {
            let w = words(token);
            if !w.is_empty() {
                terms.push(SearchTerm {
                    words: w,
                    prefix: token.ends_with('*'),
                });
            }
        }
    }
    terms
}

fn has_kind(v: &str) -> HasKind {
    match v {
        "link" => HasKind::Link,
        "embed" => HasKind::Embed,
        "file" => HasKind::File,
        "image" => HasKind::Image,
        "video" => HasKind::Video,
        "sound" => HasKind::Sound,
        "poll" => HasKind::Poll,
        _ => HasKind::Never,
    }
}

fn author_kind(v: &str) -> AuthorKind {
    match v {
        "bot" => AuthorKind::Bot,
        "webhook" => AuthorKind::Webhook,
        _ => AuthorKind::User,
    }
}

/// `(value without '-', wanted)`.
fn negatable(v: &str) -> (&str, bool) {
    match v.strip_prefix('-') {
        Some(rest) => (rest, false),
        None => (v, true),
    }
}

impl Hearth {
    /// `GET /guilds/{guild_id}/messages/search` and `GET /channels/{channel_id}/messages/search`
    /// with the query string's pairs. Searches only the channels where the caller has
    /// VIEW_CHANNEL and READ_MESSAGE_HISTORY (overwrites included; a DM's recipients);
    /// `channel_id` narrows that set (a channel outside it adds nothing). The guild form also
    /// searches the threads (active and archived) of those channels: public ones, and private
    /// ones the caller joined or, with MANAGE_THREADS in the parent, all. Answers Discord's
    /// search results object, newest first unless asked otherwise, at most 25 a page, with
    /// `threads` (the threads holding results) and `members` (the caller's thread member
    /// objects among those threads).
    ///
    /// Errors: 400 50035 for bad parameters; 404 10004 Unknown Guild / 10003 Unknown
    /// Channel; 403 50001 Missing Access when the caller is not a member (or not a DM's
    /// recipient, or cannot view the channel); 403 50013 when the caller cannot read the
    /// history of the channel searched.
    pub async fn search_messages(
        &self,
        actor: &Actor,
        scope: SearchScope,
        pairs: &[(String, String)],
    ) -> Result<wire::MessageSearchResult> {
        let q = parse_query(pairs)?;
        let readable: Vec<i64> = match scope {
            SearchScope::Guild(guild_id) => {
                let (view, channels, ows) = self
                    .db
                    .guild_channels_view(guild_id.db(), actor.user.id)
                    .await?
                    .ok_or(Error::Unknown(Unknown::Guild))?;
                let mfa_missing = self.mfa_missing(&view.guild, actor.user.id).await?;
                let ga = GuildAccess::of_view(view, actor.user.id, mfa_missing)?;
                let mut by_channel: HashMap<i64, Vec<OverwriteRow>> = HashMap::new();
                for o in ows {
                    by_channel.entry(o.channel_id).or_default().push(o);
                }
                let parents: Vec<(i64, u64)> = channels
                    .iter()
                    .map(|c| {
                        let co = by_channel.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
                        (c.id, ga.in_channel(co))
                    })
                    .filter(|(_, p)| perm::has(*p, READ))
                    .collect();
                // Their threads too: public ones, private ones to members and MANAGE_THREADS.
                let threads = self.readable_threads(&parents, actor.user.id).await?;
                parents.into_iter().map(|(c, _)| c).chain(threads).collect()
            }
            SearchScope::Channel(channel_id) => {
                let ca = self.channel_access(actor, channel_id).await?;
                if ca.guild.is_some() && !perm::has(ca.perms, READ) {
                    return Err(Error::MissingPermissions);
                }
                vec![ca.channel.id]
            }
        };
        let channels: Vec<i64> = if q.channel_id.is_empty() {
            readable
        } else {
            let asked: HashSet<i64> = q.channel_id.iter().map(|c| c.db()).collect();
            readable.into_iter().filter(|c| asked.contains(c)).collect()
        };
        let empty = wire::MessageSearchResult {
            doing_deep_historical_index: false,
            total_results: 0,
            messages: vec![],
            threads: vec![],
            members: vec![],
        };
        if channels.is_empty() {
            return Ok(empty);
        }
        let mut has: Vec<(HasKind, bool)> = q
            .has
            .iter()
            .map(|v| {
                let (v, yes) = negatable(v);
                (has_kind(v), yes)
            })
            .collect();
        has.dedup();
        let filter = SearchFilter {
            channels,
            terms: q.content.as_deref().map(content_terms).unwrap_or_default(),
            author_ids: q.author_id.iter().map(|a| a.db()).collect(),
            author_kinds: q
                .author_type
                .iter()
                .map(|v| {
                    let (v, yes) = negatable(v);
                    (author_kind(v), yes)
                })
                .collect(),
            mentions: q.mentions.iter().map(|m| m.db()).collect(),
            has,
            min_id: q.min_id.map(|i| i.db()),
            max_id: q.max_id.map(|i| i.db()),
            pinned: q.pinned,
            sort: match q.sort_by.as_deref() {
                Some("relevance") => SearchSort::Relevance,
                _ => SearchSort::Timestamp,
            },
            ascending: q.sort_order.as_deref() == Some("asc"),
            offset: q.offset.unwrap_or(0),
            limit: q.limit.unwrap_or(SEARCH_LIMIT_MAX),
        };
        let page = self.db.search_messages(&filter).await?;
        let mut known = HashMap::new();
        let mut rows = Vec::with_capacity(page.messages.len());
        for p in page.messages {
            if let Some(a) = p.author {
                known.insert(a.id, a);
            }
            rows.push(p.row);
        }
        // The threads the results are in (all readable: the results come only from
        // readable channels) with the caller's memberships among them.
        let mut in_threads: Vec<i64> = rows
            .iter()
            .filter(|m| m.guild_id.is_some())
            .map(|m| m.channel_id)
            .collect();
        in_threads.sort_unstable();
        in_threads.dedup();
        let threads = self.db.threads_by_ids(&in_threads).await?;
        let threads = self.thread_list(actor.user.id, &threads, None).await?;
        // Search results come without reactions (Discord's documented shape).
        let rendered = self
            .render_with(&rows, actor.user.id, known, Some(vec![]))
            .await?;
        Ok(wire::MessageSearchResult {
            total_results: page.total,
            messages: rendered.into_iter().map(|m| vec![m]).collect(),
            threads: threads.threads,
            members: threads.members,
            ..empty
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn terms_of_content() {
        let t = content_terms("Red-Fox \"lazy  DOG\" jum* !!");
        let w: Vec<(Vec<String>, bool)> = t.into_iter().map(|t| (t.words, t.prefix)).collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            w,
            vec![
                (s(&["red", "fox"]), false),
                (s(&["lazy", "dog"]), false),
                (s(&["jum"]), true),
            ]
        );
        assert!(content_terms("?? --").is_empty());
    }

    #[test]
    fn bad_values_are_field_errors() {
        assert!(parse_query(&pairs(&[("limit", "26")])).is_err());
        assert!(parse_query(&pairs(&[("offset", "9976")])).is_err());
        assert!(parse_query(&pairs(&[("author_id", "x")])).is_err());
        assert!(parse_query(&pairs(&[("has", "nothing")])).is_err());
        let q = parse_query(&pairs(&[
            ("author_id", "1"),
            ("author_id", "2"),
            ("has", "-link"),
            ("include_nsfw", "true"),
        ]))
        .expect("valid");
        assert_eq!(q.author_id.len(), 2);
        assert_eq!(q.has, vec!["-link".to_string()]);
    }
}
