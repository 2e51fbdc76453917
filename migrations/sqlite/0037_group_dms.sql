-- Group DMs (Discord channel type 3, "Resources > Channel"): the `channels` row (type 3, no
-- guild, its `name`) plus its owner and icon here and one row per recipient. Local users
-- only; at most 10 recipients, checked by the service inside the writing transaction.
CREATE TABLE group_dms (
    channel_id BIGINT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    icon TEXT
);

CREATE TABLE group_dm_recipients (
    channel_id BIGINT NOT NULL REFERENCES group_dms(channel_id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX group_dm_recipients_user ON group_dm_recipients(user_id);
