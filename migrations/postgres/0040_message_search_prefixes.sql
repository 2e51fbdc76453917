-- Message search prefixes (issue 15): SQLite's full-text table gets prefix indexes in this
-- step (migrations/sqlite/0040). PostgreSQL's GIN index over `to_tsvector('simple', content)`
-- answers prefix queries (`word:*`) from the same index, so nothing changes here; the file
-- keeps both folders in step (tests/it/migrations.rs).
SELECT 1;
