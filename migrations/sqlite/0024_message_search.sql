-- Message search (issue 15; README "Search"): a full-text index of `messages.content` in
-- SQLite's FTS5, as an external-content table (it stores only the index; the text stays in
-- `messages`), rowid = `messages.id`. Triggers keep it in step inside the transaction of
-- every write of a message: inserts (the group commit included), edits of the content, and
-- deletes (single, bulk, purge jobs, and the cascades of a channel or guild deletion).
-- Words are split by `unicode61` (letters and digits; case folded, diacritics kept, as
-- PostgreSQL's `simple` configuration does).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);

-- Deletes remove a message's terms from the index's pages at once (FTS5 'secure-delete',
-- SQLite 3.44+), instead of leaving them until segments merge: with the connection's
-- `secure_delete` pragma, a deleted message leaves no word in the file (README "Deleted
-- content").
INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', 1);

-- Index the messages already stored.
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
