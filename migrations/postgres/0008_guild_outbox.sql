-- The federation outbox (spec/federation.md §8): a change to a guild with member servers
-- writes its log entry here in the same transaction as the change itself; the log writer
-- moves entries, in `id` order, into the signed log (`guild_events`) and deletes them in one
-- transaction. A crash between a commit and the log append therefore loses nothing.
CREATE TABLE guild_outbox (
    id BIGSERIAL PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    channel_id BIGINT,
    -- Gateway event name (`t`) and payload (`d`, JSON).
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    -- The acting local user, and for a relayed action `[signed action, request content]`.
    actor_id BIGINT,
    origin TEXT,
    created_at BIGINT NOT NULL
);

-- Hosted guilds that keep a log (from the first member server's join until the last one
-- leaves). Only their changes are written to the outbox.
CREATE TABLE federated_guilds (
    guild_id BIGINT PRIMARY KEY
);
INSERT INTO federated_guilds (guild_id) SELECT DISTINCT guild_id FROM guild_peers;
