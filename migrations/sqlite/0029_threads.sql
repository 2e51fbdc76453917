-- Threads (Discord "Topics > Threads", "Resources > Channel"): a thread is a row of
-- `channels` (type 10, 11 or 12, `guild_id` and `parent_id` set, so messages, pins,
-- reactions and read states work unchanged) plus its metadata here. Times in ms since the
-- epoch; `type` repeats the channel's (10, 11, 12). `auto_archive_duration` in minutes (60, 1440, 4320, 10080). A thread created from
-- a message has that message's id. Guild channel lists leave threads out.
CREATE TABLE threads (
    channel_id BIGINT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    guild_id BIGINT NOT NULL,
    parent_id BIGINT NOT NULL,
    type BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    auto_archive_duration BIGINT NOT NULL DEFAULT 4320,
    archive_timestamp BIGINT NOT NULL,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    invitable BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX threads_guild ON threads(guild_id, archived);
CREATE INDEX threads_parent ON threads(parent_id, archive_timestamp);

-- Thread members (Discord "Thread Member Object"): `join_timestamp` in ms, `flags` as given.
CREATE TABLE thread_members (
    thread_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    join_timestamp BIGINT NOT NULL,
    flags BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_members_user ON thread_members(user_id);
