-- Message search (issue 15): prefix indexes of 2 and 3 characters on the full-text index, so
-- a short prefix query (`he*`, `hel*`), which matches many words, reads one list instead of
-- merging the lists of every word that starts with it (BENCHMARKS.md "Message search": the
-- tail of search latency at 1,000,000 messages). FTS5 options cannot be altered: the
-- external-content table is made again with the same columns, tokenizer and secure-delete,
-- and rebuilt from `messages` (a one-off cost at upgrade, proportional to the messages
-- stored). The triggers of 0024 name the table and keep working.
DROP TABLE messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);

INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', 1);

INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
