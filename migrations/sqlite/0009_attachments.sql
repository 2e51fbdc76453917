-- Message attachments (issue 13, Discord "Resources > Message > Attachment Object"). The
-- bytes live in the blob store under `blob_key`; they are written before the row, which is
-- inserted in the message's own transaction, so a row never points at missing bytes (a crash
-- between the two leaves orphan bytes, which the orphan collector of issue 13 will remove).
CREATE TABLE attachments (
    id BIGINT PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    filename TEXT NOT NULL,
    description TEXT,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    width BIGINT,
    height BIGINT,
    blob_key TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
