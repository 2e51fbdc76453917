-- Incoming webhooks (Bots II; Discord "Resources > Webhook"). `kind` is Discord's webhook
-- type (1: incoming). Only the SHA-256 (hex) of a webhook's token is kept. A webhook goes
-- with its channel and with its guild. `creator_id` is the user who created it.
CREATE TABLE webhooks (
    id BIGINT PRIMARY KEY,
    kind BIGINT NOT NULL DEFAULT 1,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    creator_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    avatar TEXT,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_channel ON webhooks(channel_id);
CREATE INDEX webhooks_guild ON webhooks(guild_id);

-- A message sent by a webhook: `author_id` is the webhook's id, `webhook_id` marks it, and
-- the author shown (the name given at execution or the webhook's, its avatar) is kept with
-- the message, as Discord shows it even after the webhook changed or went.
ALTER TABLE messages ADD COLUMN webhook_id BIGINT;
ALTER TABLE messages ADD COLUMN webhook_name TEXT;
ALTER TABLE messages ADD COLUMN webhook_avatar TEXT;
