-- Message search (issue 15; README "Search"): a full-text index of `messages.content` as a
-- GIN index over its tsvector in the `simple` configuration (words lower-cased, no stemming,
-- no stop words, as SQLite's FTS5 `unicode61` tokenizer does). An expression index: no
-- column is added, PostgreSQL maintains it in the transaction of every insert, edit and
-- delete, and a query uses it when it repeats the expression exactly:
-- `to_tsvector('simple', content) @@ <tsquery>`.
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', content));
