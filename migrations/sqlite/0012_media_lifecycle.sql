-- The life of stored files (issue 13): two-step uploads and the blob ledger.
--
-- `pending_uploads`: files announced by `POST /channels/{id}/attachments` and PUT to their
-- signed `upload_url`, not yet claimed by a message (`size` is NULL until the PUT completed).
-- The row's `id` becomes the attachment's id and `blob_key` its key; a message send claims it
-- (the row is deleted), the collector deletes expired ones (`expires_at`, Unix ms).
--
-- `media_blobs`: one row per blob stored under `attachments/` (by message uploads and two-step
-- uploads), written BEFORE the bytes: who is charged (`user_id`, `guild_id`, NULL in DMs) and
-- how much (`size`, bytes). Quotas sum the rows with `released_at` NULL. A row no attachment
-- or pending upload refers to is marked `released_at` (at once by the deleting request, or by
-- the collector's scan for cascades and crashes, never before it is `created_at` + the grace
-- age old, so a blob being uploaded right now is never taken); its bytes are deleted and the
-- row removed once `released_at` is older than `media.delete_grace_seconds`.
CREATE TABLE pending_uploads (
    id BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    filename TEXT NOT NULL,
    declared_size BIGINT NOT NULL,
    size BIGINT,
    content_type TEXT,
    width BIGINT,
    height BIGINT,
    blob_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_uploads_expiry ON pending_uploads(expires_at);
CREATE INDEX pending_uploads_blob ON pending_uploads(blob_key);

CREATE TABLE media_blobs (
    blob_key TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    guild_id BIGINT,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    released_at BIGINT
);
CREATE INDEX media_blobs_user ON media_blobs(user_id);
CREATE INDEX media_blobs_guild ON media_blobs(guild_id);
CREATE INDEX media_blobs_released ON media_blobs(released_at);
CREATE INDEX attachments_blob ON attachments(blob_key);

-- Blobs stored before this migration are charged to their message's author and guild.
INSERT INTO media_blobs (blob_key, user_id, guild_id, size, created_at, released_at)
SELECT a.blob_key, m.author_id, m.guild_id, a.size, 0, NULL
FROM attachments a JOIN messages m ON m.id = a.message_id;
