-- Message search (issue 15): PostgreSQL keeps each message's words in a stored column in this
-- step (migrations/postgres/0045). SQLite's FTS5 table (migrations 0024, 0040) already stores
-- the words apart from the content, so nothing changes here; the file keeps both folders in
-- step (tests/it/migrations.rs).
SELECT 1;
