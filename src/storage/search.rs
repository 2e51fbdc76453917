//! Message search (migration 0024; README "Search"): one statement for the page and one for
//! the total, through each database's own full-text engine: SQLite's FTS5 table
//! `messages_fts` (external content, kept in step by triggers) and PostgreSQL's GIN index
//! over `to_tsvector('simple', content)`.

use super::atomic::read_tx;
use super::chat::{PageRow, page_cols};
use super::{Db, PageMessage, on_db};
use crate::error::Result;

/// A phrase of the content query: its words in order (letters and digits only, already
/// lower-cased), the last one a prefix when `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm {
    pub words: Vec<String>,
    pub prefix: bool,
}

/// Who wrote a message (Discord's `author_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorKind {
    /// A user account that is not a bot (and not a webhook).
    User,
    /// A bot account.
    Bot,
    /// A webhook.
    Webhook,
}

/// What a message has (Discord's `has`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasKind {
    /// `http://` or `https://` in the content.
    Link,
    /// At least one embed.
    Embed,
    /// At least one attachment.
    File,
    /// An attachment whose content type is `image/*`.
    Image,
    /// An attachment whose content type is `video/*`.
    Video,
    /// An attachment whose content type is `audio/*`.
    Sound,
    /// A poll (migration 0031).
    Poll,
    /// Stickers and forwarded snapshots: Hearth stores none, so nothing has them.
    Never,
}

/// Whether results are sorted by id (time) or by the engine's rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchSort {
    Timestamp,
    Relevance,
}

/// A validated search ([`Db::search_messages`]). Lists of ids are any-of; `has` entries are
/// all-of; a `false` in `(kind, wanted)` excludes the kind.
#[derive(Debug, Clone)]
pub struct SearchFilter {
    /// The channels searched: only those the caller may read. Never empty.
    pub channels: Vec<i64>,
    /// The content query: every term must match (none: any content).
    pub terms: Vec<SearchTerm>,
    pub author_ids: Vec<i64>,
    pub author_kinds: Vec<(AuthorKind, bool)>,
    pub mentions: Vec<i64>,
    pub has: Vec<(HasKind, bool)>,
    /// Exclusive id bounds.
    pub min_id: Option<i64>,
    pub max_id: Option<i64>,
    pub pinned: Option<bool>,
    pub sort: SearchSort,
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A page of results and how many messages match in all.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub total: i64,
    pub messages: Vec<PageMessage>,
}

/// The FTS5 query of `terms`: each term a quoted phrase (`"a b"`, `"a"*` for a prefix),
/// all of them required. The words hold letters and digits only, so quoting is exact.
pub fn fts5_query(terms: &[SearchTerm]) -> String {
    terms
        .iter()
        .map(|t| {
            let star = if t.prefix { "*" } else { "" };
            format!("\"{}\"{star}", t.words.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The PostgreSQL `to_tsquery` text of `terms`: words as quoted lexemes joined by `<->`
/// within a phrase (`:*` on a prefix), phrases joined by `&`.
pub fn tsquery(terms: &[SearchTerm]) -> String {
    terms
        .iter()
        .map(|t| {
            let n = t.words.len();
            let words: Vec<String> = t
                .words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let star = if t.prefix && i + 1 == n { ":*" } else { "" };
                    format!("'{w}'{star}")
                })
                .collect();
            format!("({})", words.join(" <-> "))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The SQL condition for `kind` on message `m` (its attachments, content, embeds).
fn has_sql(kind: HasKind) -> &'static str {
    match kind {
        HasKind::Link => {
            "(LOWER(m.content) LIKE '%http://%' OR LOWER(m.content) LIKE '%https://%')"
        }
        HasKind::Embed => "m.embeds <> '[]'",
        HasKind::File => "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)",
        HasKind::Image => {
            "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.content_type LIKE 'image/%')"
        }
        HasKind::Video => {
            "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.content_type LIKE 'video/%')"
        }
        HasKind::Sound => {
            "EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id AND a.content_type LIKE 'audio/%')"
        }
        HasKind::Poll => "m.poll IS NOT NULL",
        HasKind::Never => "1 = 0",
    }
}

fn author_sql(kind: AuthorKind) -> &'static str {
    match kind {
        AuthorKind::Webhook => "m.webhook_id IS NOT NULL",
        AuthorKind::Bot => "(m.webhook_id IS NULL AND u.bot)",
        AuthorKind::User => "(m.webhook_id IS NULL AND NOT COALESCE(u.bot, FALSE))",
    }
}

impl SearchFilter {
    /// `FROM ... WHERE ...` of the search; `$1` is the content query when there are terms.
    /// Every value but the content query is an integer written into the text. The authors
    /// (`u`) are joined for the page's columns (`with_authors`) and for `author_type`.
    fn sql_from_where(&self, postgres: bool, with_authors: bool) -> String {
        let mut w: Vec<String> = vec![format!("m.channel_id IN ({})", id_list(&self.channels))];
        let from = if self.terms.is_empty() {
            "messages m".to_owned()
        } else if postgres {
            w.push("to_tsvector('simple', m.content) @@ to_tsquery('simple', $1)".into());
            "messages m".to_owned()
        } else {
            w.push("messages_fts MATCH $1".into());
            // CROSS JOIN fixes SQLite's join order: the full-text query runs once and each
            // hit is looked up by id. With a plain JOIN the planner may walk the channel's
            // messages and run the MATCH again for every one of them (seconds at 3,000).
            "messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid".to_owned()
        };
        if !self.author_ids.is_empty() {
            w.push(format!("m.author_id IN ({})", id_list(&self.author_ids)));
        }
        let wanted: Vec<&str> = self
            .author_kinds
            .iter()
            .filter(|(_, yes)| *yes)
            .map(|(k, _)| author_sql(*k))
            .collect();
        if !wanted.is_empty() {
            w.push(format!("({})", wanted.join(" OR ")));
        }
        for (k, _) in self.author_kinds.iter().filter(|(_, yes)| !*yes) {
            w.push(format!("NOT {}", author_sql(*k)));
        }
        if !self.mentions.is_empty() {
            let any: Vec<String> = self
                .mentions
                .iter()
                .map(|id| format!("m.mentions LIKE '%\"{id}\"%'"))
                .collect();
            w.push(format!("({})", any.join(" OR ")));
        }
        for (k, yes) in &self.has {
            let c = has_sql(*k);
            w.push(if *yes {
                c.to_owned()
            } else {
                format!("NOT {c}")
            });
        }
        if let Some(id) = self.min_id {
            w.push(format!("m.id > {id}"));
        }
        if let Some(id) = self.max_id {
            w.push(format!("m.id < {id}"));
        }
        match self.pinned {
            Some(true) => w.push("m.pinned_at IS NOT NULL".into()),
            Some(false) => w.push("m.pinned_at IS NULL".into()),
            None => {}
        }
        let users = if with_authors || !self.author_kinds.is_empty() {
            " LEFT JOIN users u ON u.id = m.author_id"
        } else {
            ""
        };
        format!("FROM {from}{users} WHERE {}", w.join(" AND "))
    }

    /// PostgreSQL, a content query sorted by time: the page as "collect every match through
    /// the GIN index, then sort the ids". Used once the count found fewer than
    /// [`MAX_COUNTED`] matches. For such a term PostgreSQL's planner tends to walk the
    /// primary key newest first and test every message against the query until a page is
    /// full, which for a term in one message of a few hundred reads (and tokenizes) tens of
    /// thousands of messages; a GIN index returns its matches unordered, so collecting the
    /// few thousand and sorting their ids is cheaper. A frequent term (the count reached its
    /// cap) keeps the walk, which stops after a page of them. `None` otherwise.
    fn collected_page_sql(&self) -> Option<String> {
        if self.terms.is_empty() || self.sort != SearchSort::Timestamp {
            return None;
        }
        let dir = if self.ascending { "ASC" } else { "DESC" };
        Some(format!(
            "WITH hits AS MATERIALIZED (SELECT m.id {}) \
             SELECT {} FROM messages m LEFT JOIN users u ON u.id = m.author_id \
             WHERE m.id IN (SELECT id FROM hits ORDER BY id {dir} LIMIT {} OFFSET {}) \
             ORDER BY m.id {dir}",
            self.sql_from_where(true, false),
            page_cols(),
            self.limit,
            self.offset
        ))
    }

    /// The page statement once `total` matches were counted: on PostgreSQL, every match
    /// counted (fewer than [`MAX_COUNTED`]), [`SearchFilter::collected_page_sql`]; otherwise
    /// the plain `ORDER BY ... LIMIT ... OFFSET`.
    fn page_sql(&self, postgres: bool, total: i64) -> String {
        if postgres
            && total < MAX_COUNTED
            && let Some(q) = self.collected_page_sql()
        {
            return q;
        }
        format!(
            "SELECT {} {} ORDER BY {} LIMIT {} OFFSET {}",
            page_cols(),
            self.sql_from_where(postgres, true),
            self.order_by(postgres),
            self.limit,
            self.offset
        )
    }

    fn order_by(&self, postgres: bool) -> String {
        let dir = if self.ascending { "ASC" } else { "DESC" };
        match self.sort {
            SearchSort::Relevance if !self.terms.is_empty() => {
                // bm25(): lower is better; ts_rank(): higher is better. Ties newest first.
                if postgres {
                    format!(
                        "ts_rank(to_tsvector('simple', m.content), to_tsquery('simple', $1)) {dir}, m.id DESC"
                    )
                } else {
                    let inv = if self.ascending { "DESC" } else { "ASC" };
                    format!("bm25(messages_fts) {inv}, m.id DESC")
                }
            }
            // Without a content query every result is as relevant as the next: newest first.
            SearchSort::Relevance => "m.id DESC".to_owned(),
            // SQLite: by the full-text rowid (the message id), which FTS5 yields in either
            // order without sorting, so a page of a frequent term stops after its rows
            // instead of sorting every match.
            SearchSort::Timestamp if !postgres && !self.terms.is_empty() => {
                format!("messages_fts.rowid {dir}")
            }
            SearchSort::Timestamp => format!("m.id {dir}"),
        }
    }
}

/// Matches counted for `total_results` at most: one more than the last match a page can
/// reach (`offset` ≤ 9,975 with `limit` ≤ 25, Discord's bounds), so counting a frequent term
/// stops there instead of joining every match with its message.
pub const MAX_COUNTED: i64 = 10_000;

impl Db {
    /// Runs a search: the number of matches (at most [`MAX_COUNTED`]) and the page at
    /// `offset` (`limit` rows),
    /// each message with its author and whether it has reactions, both read from one
    /// snapshot.
    pub async fn search_messages(&self, f: &SearchFilter) -> Result<SearchPage> {
        let pg = self.is_postgres();
        let text = if pg {
            tsquery(&f.terms)
        } else {
            fts5_query(&f.terms)
        };
        // Counted up to MAX_COUNTED: past it the pages cannot be reached anyway.
        let count_q = format!(
            "SELECT COUNT(*) FROM (SELECT 1 {} LIMIT {MAX_COUNTED}) AS hits",
            f.sql_from_where(pg, false)
        );
        let with_text = !f.terms.is_empty();
        let (total, rows): (i64, Vec<PageRow>) = on_db!(self, p => {
            let mut tx = read_tx!(self, p);
            let mut cq = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_q.as_str())).persistent(false);
            if with_text {
                cq = cq.bind(&text);
            }
            let (total,) = cq.fetch_one(&mut *tx).await?;
            let rows = if total > f.offset {
                let q = f.page_sql(pg, total);
                let mut pq = sqlx::query_as::<_, PageRow>(sqlx::AssertSqlSafe(q.as_str())).persistent(false);
                if with_text {
                    pq = pq.bind(&text);
                }
                pq.fetch_all(&mut *tx).await?
            } else {
                vec![]
            };
            tx.commit().await?;
            (total, rows)
        });
        Ok(SearchPage {
            total,
            messages: rows.into_iter().map(PageRow::into_page_message).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[&str], prefix: bool) -> SearchTerm {
        SearchTerm {
            words: words.iter().map(|w| w.to_string()).collect(),
            prefix,
        }
    }

    #[test]
    fn queries_of_terms() {
        let terms = [t(&["red", "fox"], false), t(&["jump"], true)];
        assert_eq!(fts5_query(&terms), "\"red fox\" AND \"jump\"*");
        assert_eq!(tsquery(&terms), "('red' <-> 'fox') & ('jump':*)");
    }
}
