-- Message search on PostgreSQL (issue 15; README "Search"; BENCHMARKS.md "Message search on
-- PostgreSQL, stored vector"): the words of each message kept in a stored generated column,
-- computed once when the row is written (insert or content edit, in that transaction), with
-- the GIN index over it instead of migration 0024's expression index. A search can then test
-- a message against a query without tokenizing its content again, which is what makes
-- counting a frequent term by walking the newest messages cheap (src/storage/search.rs).
-- The vector keeps positions (phrases are `a <-> b`). Cost: the column roughly doubles the
-- heap of short messages; adding it rewrites the table once, at upgrade.
ALTER TABLE messages
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED;

CREATE INDEX messages_search_vector ON messages USING GIN (search_vector);

DROP INDEX messages_search;
