-- Interactions (Bots II; Discord "Interactions > Receiving and Responding"). One row per
-- interaction a user created with `POST /interactions`: the application it goes to, the
-- SHA-256 (hex) of its token (the token itself is only in INTERACTION_CREATE to the bot),
-- the command's type and name, who invoked it where, and its state: `state` 0 pending, 1 acknowledged, 2 failed (no
-- callback within 3 s). `response_type` is the callback's type; `original_id` the message
-- of a type 4 callback (or of the first edit of a deferred one); `ephemeral` 1 when that
-- response is ephemeral. The token is honoured until `expires_at` (15 minutes, ms).
CREATE TABLE interactions (
    id BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    kind BIGINT NOT NULL,
    command_type BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    guild_id BIGINT REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    nonce TEXT,
    state BIGINT NOT NULL DEFAULT 0,
    response_type BIGINT,
    ephemeral BIGINT NOT NULL DEFAULT 0,
    original_id BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX interactions_expiry ON interactions(expires_at);
CREATE INDEX interactions_token ON interactions(token_hash);

-- Ephemeral responses and follow-ups: shown only to the invoking user, never stored with
-- the channel's messages. `message` is the message object as sent to that user.
CREATE TABLE ephemeral_messages (
    id BIGINT PRIMARY KEY,
    interaction_id BIGINT NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    message TEXT NOT NULL
);
CREATE INDEX ephemeral_messages_interaction ON ephemeral_messages(interaction_id);

-- A message answering an interaction: its `interaction_metadata` (JSON, Discord "Message
-- Interaction Metadata Object", with the command's name for the legacy `interaction`).
ALTER TABLE messages ADD COLUMN interaction TEXT;
