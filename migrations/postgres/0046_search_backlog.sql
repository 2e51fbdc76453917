-- Message search (issue 15): SQLite now indexes new messages after their send, through a
-- backlog table (migrations/sqlite/0046). PostgreSQL computes each message's vector as the
-- row is written (0045) and its GIN index takes new entries into a pending list that is
-- merged later (GIN's `fastupdate`), so nothing changes here; the file keeps both folders
-- in step (tests/it/migrations.rs).
SELECT 1;
