-- Read states (issue 16; README "Read states"): per (user, channel), the last message the
-- user acknowledged (`POST /channels/{id}/messages/{id}/ack`) and a version. `version` is
-- the user's counter: each ack gives its row the user's highest version + 1, so the highest
-- version of a user's rows is READY's `read_state.version`. Rows go with the user or the
-- channel. Bots have none.
CREATE TABLE read_states (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    last_message_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);

-- The messages that mention anyone (a user, a role or @everyone), by channel and id: the
-- mention count of a read state reads only these, after the acknowledged message.
CREATE INDEX messages_mentioning ON messages(channel_id, id)
    WHERE mention_everyone OR mentions <> '[]' OR mention_roles <> '[]';
