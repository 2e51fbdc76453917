-- Message search (issue 15; README "Search"; BENCHMARKS.md "Message search: indexing after
-- the send"): a new message is no longer indexed inside the transaction that stores it.
-- The insert trigger records its id in `search_backlog` (one small row, in the same
-- transaction, so a crash can never lose it), and the message writer indexes the backlog in
-- batches when sends pause (src/service/writer.rs); a search indexes whatever is left
-- before it reads (src/storage/search_backlog.rs), so every acknowledged message is found.
-- The edit and delete triggers leave a message still in the backlog out of the FTS5 table
-- (it holds nothing of it yet; FTS5's 'delete' of terms that were never added would corrupt
-- the index) and let the backlog take the edited text.
CREATE TABLE search_backlog (
    message_id INTEGER PRIMARY KEY
);

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO search_backlog(message_id) VALUES (new.id);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content
        WHERE NOT EXISTS (SELECT 1 FROM search_backlog WHERE message_id = old.id);
    DELETE FROM search_backlog WHERE message_id = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content
        WHERE NOT EXISTS (SELECT 1 FROM search_backlog WHERE message_id = old.id);
    INSERT INTO messages_fts(rowid, content)
        SELECT new.id, new.content
        WHERE NOT EXISTS (SELECT 1 FROM search_backlog WHERE message_id = new.id);
END;
