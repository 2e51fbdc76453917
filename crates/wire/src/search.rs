//! Message search (Discord "Resources > Message > Search Guild Messages"): the query of
//! `GET /guilds/{guild_id}/messages/search` and `GET /channels/{channel_id}/messages/search`
//! and their answer. Searches are answered by the server the caller is on and never cross
//! federation, so these types have no [`crate::ids::Ids`].

use serde::{Deserialize, Serialize};

use crate::Message;
use crate::Snowflake;

/// Most results in one page (`limit`, default and maximum: 25).
pub const SEARCH_LIMIT_MAX: i64 = 25;
/// Largest `offset` (9975, so at most the first 10,000 results can be paged through).
pub const SEARCH_OFFSET_MAX: i64 = 9975;
/// Longest `content` query, in characters (1024).
pub const SEARCH_CONTENT_MAX: usize = 1024;
/// Most values of one repeatable parameter (`author_id`, `mentions`, `channel_id` ...): 100.
pub const SEARCH_VALUES_MAX: usize = 100;

/// The query string of a search, as parsed. Repeatable parameters (`author_id=1&author_id=2`)
/// are lists; ids are any-of, `has` values all-of, and a value of `author_type` or `has`
/// prefixed with `-` excludes instead.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageSearchQuery {
    /// Words the content must hold (1-1024 characters): every word, in any order; a quoted
    /// `"two words"` as a phrase; `word*` as a prefix.
    pub content: Option<String>,
    /// Messages by any of these users (or webhooks).
    pub author_id: Vec<Snowflake>,
    /// `user`, `bot`, `webhook`, or `-user` ... to exclude.
    pub author_type: Vec<String>,
    /// Messages mentioning any of these users.
    pub mentions: Vec<Snowflake>,
    /// `link`, `embed`, `file`, `image`, `video`, `sound`, `sticker`, `poll`, `snapshot`, or
    /// negated with `-`.
    pub has: Vec<String>,
    /// Only messages with a larger id (exclusive).
    pub min_id: Option<Snowflake>,
    /// Only messages with a smaller id (exclusive).
    pub max_id: Option<Snowflake>,
    /// Only these channels (of the guild).
    pub channel_id: Vec<Snowflake>,
    /// Only pinned (`true`) or unpinned (`false`) messages.
    pub pinned: Option<bool>,
    /// `timestamp` (default) or `relevance`.
    pub sort_by: Option<String>,
    /// `desc` (default) or `asc`.
    pub sort_order: Option<String>,
    /// Results to skip, 0-9975 (default 0).
    pub offset: Option<i64>,
    /// Results in the page, 1-25 (default 25).
    pub limit: Option<i64>,
}

/// The answer of a search (Discord's search results object).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageSearchResult {
    /// Whether the index is still being built: always `false` (the index is written with
    /// each message).
    pub doing_deep_historical_index: bool,
    /// How many messages match, over every page.
    pub total_results: i64,
    /// The page: one list per result holding just that message (Discord's former
    /// surrounding context); messages come without `reactions`.
    pub messages: Vec<Vec<Message>>,
    /// The threads that contain the returned messages (thread channel objects with their
    /// counts, as the thread lists give them).
    pub threads: Vec<crate::Channel>,
    /// A thread member object for each of `threads` the caller has joined (Discord's shape:
    /// thread members, not guild members).
    pub members: Vec<crate::ThreadMember>,
}
