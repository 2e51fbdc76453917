//! Message search (migration 0024; README "Search"): one statement for the page and one for
//! the total, through each database's own full-text engine: SQLite's FTS5 table
//! `messages_fts` (external content, kept in step by triggers; new messages reach it through
//! the backlog of [`super::search_backlog`]) and PostgreSQL's GIN index
//! over the stored column `search_vector` = `to_tsvector('simple', content)` (migration 0045).
//!
//! Counting on PostgreSQL ([`Db::search_messages`]): `total_results` is exact up to
//! [`MAX_COUNTED`]. A GIN index cannot stop early (it decodes every match of a term before the
//! first row comes out: ~15 ms per 100,000 matches here), while a walk over the newest
//! messages testing each stored vector stops at the cap but reads `1 / share` messages per
//! match. So the newest [`PROBE_ROWS`] candidates are tested first (when the other filters
//! are ones an index serves, [`SearchFilter::probe_suits`]); a query matching at least
//! [`WALK_SHARE`] of them ([`WALK_SHARE_PREFIX`] with a prefix) is counted (and paged) by
//! walking on, any other through the index.

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
        self.sql_from_where_text(postgres, with_authors, true)
    }

    /// [`SearchFilter::sql_from_where`], without the content query when `!text` (PostgreSQL
    /// only: the probe tests it in its select list).
    fn sql_from_where_text(&self, postgres: bool, with_authors: bool, text: bool) -> String {
        let mut w: Vec<String> = vec![format!("m.channel_id IN ({})", id_list(&self.channels))];
        let from = if self.terms.is_empty() {
            "messages m".to_owned()
        } else if postgres {
            if text {
                w.push(PG_MATCH.into());
            }
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
    /// counted (fewer than [`MAX_COUNTED`]) through the index (not `walked`),
    /// [`SearchFilter::collected_page_sql`]; otherwise the plain `ORDER BY ... LIMIT ...
    /// OFFSET`, which walks the newest messages for a frequent term.
    fn page_sql(&self, postgres: bool, total: i64, walked: bool) -> String {
        if postgres
            && !walked
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
                    format!("ts_rank(m.search_vector, to_tsquery('simple', $1)) {dir}, m.id DESC")
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

/// Matches counted for `total_results` at most: a query matching more reports this many
/// (Discord: `total_results` "may not be accurate"). Pages are not bounded by it: `offset`
/// still reaches 9,975 (`limit` ≤ 25, Discord's bounds). Counting costs time in proportion
/// to the cap (a walk reads `cap / share` messages, the index's rows are read up to the cap):
/// 5,000 keeps a search of 1,000,000 messages within 50 ms at p99 on PostgreSQL
/// (BENCHMARKS.md "Message search on PostgreSQL, stored vector").
pub const MAX_COUNTED: i64 = 5_000;

/// PostgreSQL: the content query as a condition on the stored vector (migration 0045).
const PG_MATCH: &str = "m.search_vector @@ to_tsquery('simple', $1)";

/// PostgreSQL: how many of the newest candidate messages (every filter but the content query)
/// the probe tests against the content query before a count is chosen. About 2 ms.
pub const PROBE_ROWS: i64 = 5_000;

/// PostgreSQL: the share of probed messages matching from which a query of whole words is
/// counted by walking the newest messages rather than through the GIN index: where the two
/// cost about the same over 1,000,000 messages. Measured here: a walk tests a stored vector
/// in ~0.38 µs, so counting [`MAX_COUNTED`] matches reads `MAX_COUNTED / s` messages; the
/// index decodes ~0.15 µs per match of each word, all of them: 0.38 × 5,000 / s =
/// 0.15 × s × 1,000,000 at s ≈ 0.11.
pub const WALK_SHARE: f64 = 0.11;

/// [`WALK_SHARE`] for a query with a prefix (`word*`): the index merges the lists of every
/// word starting with it, about twice the cost per match (~0.3 µs), so s ≈ 0.08; 0.07 was
/// the better of the two tried.
pub const WALK_SHARE_PREFIX: f64 = 0.07;

/// How the PostgreSQL probe decided to count.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PgCount {
    /// Fewer than [`PROBE_ROWS`] candidates: the probe's matches are the total.
    Exact(i64),
    /// A frequent term: `found` matches in the probe, then walk on below `below`.
    Walk { found: i64, below: i64 },
    /// Count through the GIN index.
    Index,
}

impl SearchFilter {
    /// Whether the probe suits this search: a content query and no filter that only a test
    /// of each message can apply (`has`, `mentions`, `author_type`, `pinned:true`), since the
    /// probe walks the candidates newest first and a rare one of those could make it read
    /// every message; such searches count through the index as before.
    fn probe_suits(&self) -> bool {
        !self.terms.is_empty()
            && self.has.is_empty()
            && self.mentions.is_empty()
            && self.author_kinds.is_empty()
            && self.pinned != Some(true)
    }

    /// PostgreSQL, with a content query: the newest [`PROBE_ROWS`] candidates, how many match,
    /// how many there were and the oldest id among them.
    fn probe_sql(&self) -> String {
        format!(
            "SELECT COUNT(*) FILTER (WHERE hit), COUNT(*), MIN(id) FROM \
             (SELECT m.id, {PG_MATCH} AS hit {} ORDER BY m.id DESC LIMIT {PROBE_ROWS}) AS probe",
            self.sql_from_where_text(true, false, false)
        )
    }

    /// PostgreSQL: the walk's count of at most `cap` matches below id `below`.
    fn walk_count_sql(&self, below: i64, cap: i64) -> String {
        format!(
            "SELECT COUNT(*) FROM (SELECT 1 {} AND m.id < {below} LIMIT {cap}) AS hits",
            self.sql_from_where(true, false)
        )
    }
}

/// The choice after a probe found `found` matches among `probed` candidates, the oldest
/// `oldest`, for a query with a prefix term or not.
fn pg_count(found: i64, probed: i64, oldest: Option<i64>, prefix: bool) -> PgCount {
    let share = if prefix {
        WALK_SHARE_PREFIX
    } else {
        WALK_SHARE
    };
    match oldest {
        _ if probed < PROBE_ROWS => PgCount::Exact(found),
        Some(below) if found as f64 >= share * probed as f64 => PgCount::Walk { found, below },
        _ => PgCount::Index,
    }
}

impl Db {
    /// Runs a search: the number of matches (at most [`MAX_COUNTED`]; on PostgreSQL
    /// counted as the module doc says) and the page at `offset` (`limit` rows),
    /// each message with its author and whether it has reactions, both read from one
    /// snapshot. On SQLite a content query first indexes the search backlog
    /// ([`Db::flush_search_backlog`]), so every message stored before the call is found.
    pub async fn search_messages(&self, f: &SearchFilter) -> Result<SearchPage> {
        let pg = self.is_postgres();
        if !pg && !f.terms.is_empty() {
            self.flush_search_backlog().await?;
        }
        let text = if pg {
            tsquery(&f.terms)
        } else {
            fts5_query(&f.terms)
        };
        let with_text = !f.terms.is_empty();
        let (total, rows): (i64, Vec<PageRow>) = on_db!(self, p => {
            let mut tx = read_tx!(self, p);
            // PostgreSQL with a content query: probe the newest candidates first (module doc).
            let choice = if pg && f.probe_suits() {
                let q = f.probe_sql();
                let (found, probed, oldest): (i64, i64, Option<i64>) =
                    sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
                        .persistent(false)
                        .bind(&text)
                        .fetch_one(&mut *tx)
                        .await?;
                pg_count(found, probed, oldest, f.terms.iter().any(|t| t.prefix))
            } else {
                PgCount::Index
            };
            let total = match choice {
                PgCount::Exact(n) => n,
                PgCount::Walk { found, .. } if found >= MAX_COUNTED => found,
                PgCount::Walk { found, below } => {
                    // The planner prices a GIN bitmap below a walk that stops at the cap.
                    sqlx::query("SET LOCAL enable_bitmapscan = off").execute(&mut *tx).await?;
                    let q = f.walk_count_sql(below, MAX_COUNTED - found);
                    let (more,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(q.as_str()))
                        .persistent(false)
                        .bind(&text)
                        .fetch_one(&mut *tx)
                        .await?;
                    if f.sort == SearchSort::Relevance {
                        // Ranking reads every match: the index is the way there.
                        sqlx::query("SET LOCAL enable_bitmapscan = on").execute(&mut *tx).await?;
                    }
                    found + more
                }
                PgCount::Index => {
                    // Counted up to MAX_COUNTED.
                    let q = format!(
                        "SELECT COUNT(*) FROM (SELECT 1 {} LIMIT {MAX_COUNTED}) AS hits",
                        f.sql_from_where(pg, false)
                    );
                    let mut cq = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(q.as_str())).persistent(false);
                    if with_text {
                        cq = cq.bind(&text);
                    }
                    cq.fetch_one(&mut *tx).await?.0
                }
            };
            // Past the cap there may be more: the page is read.
            let rows = if total > f.offset || total >= MAX_COUNTED {
                let walked = matches!(choice, PgCount::Walk { .. });
                let q = f.page_sql(pg, total, walked);
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

    #[test]
    fn the_probe_chooses_how_to_count() {
        // Fewer candidates than the probe reads: its matches are the exact total.
        assert_eq!(pg_count(12, 40, Some(7), false), PgCount::Exact(12));
        assert_eq!(pg_count(0, 0, None, true), PgCount::Exact(0));
        // A term in at least WALK_SHARE of the newest candidates: walk on below the oldest.
        assert_eq!(
            pg_count(551, PROBE_ROWS, Some(99), false),
            PgCount::Walk {
                found: 551,
                below: 99
            }
        );
        // A rarer term: the index.
        assert_eq!(pg_count(549, PROBE_ROWS, Some(99), false), PgCount::Index);
        // A prefix walks from a lower share (its index lookup costs more).
        assert_eq!(
            pg_count(351, PROBE_ROWS, Some(99), true),
            PgCount::Walk {
                found: 351,
                below: 99
            }
        );
        assert_eq!(pg_count(349, PROBE_ROWS, Some(99), true), PgCount::Index);
    }

    #[test]
    fn the_probe_and_the_walk_test_the_stored_vector() {
        let f = SearchFilter {
            channels: vec![3, 4],
            terms: vec![t(&["fox"], false)],
            author_ids: vec![],
            author_kinds: vec![],
            mentions: vec![],
            has: vec![],
            min_id: None,
            max_id: None,
            pinned: None,
            sort: SearchSort::Timestamp,
            ascending: false,
            offset: 0,
            limit: 25,
        };
        let probe = f.probe_sql();
        assert!(
            probe.contains("m.search_vector @@ to_tsquery('simple', $1) AS hit"),
            "{probe}"
        );
        assert!(
            probe.contains(&format!("ORDER BY m.id DESC LIMIT {PROBE_ROWS}")),
            "{probe}"
        );
        // The content query is in the select list only.
        assert_eq!(probe.matches("@@").count(), 1, "{probe}");
        let walk = f.walk_count_sql(99, 4_300);
        assert!(walk.contains("m.channel_id IN (3,4)"), "{walk}");
        assert!(walk.contains("AND m.id < 99 LIMIT 4300"), "{walk}");
        assert!(!walk.contains("to_tsvector"), "{walk}");
        assert!(f.probe_suits());
        // Filters tested message by message keep the index.
        for g in [
            SearchFilter {
                has: vec![(HasKind::File, true)],
                ..f.clone()
            },
            SearchFilter {
                mentions: vec![5],
                ..f.clone()
            },
            SearchFilter {
                author_kinds: vec![(AuthorKind::Bot, true)],
                ..f.clone()
            },
            SearchFilter {
                pinned: Some(true),
                ..f.clone()
            },
            SearchFilter {
                terms: vec![],
                ..f.clone()
            },
        ] {
            assert!(!g.probe_suits(), "{g:?}");
        }
        assert!(
            SearchFilter {
                author_ids: vec![7],
                min_id: Some(1),
                ..f.clone()
            }
            .probe_suits()
        );
    }
}
