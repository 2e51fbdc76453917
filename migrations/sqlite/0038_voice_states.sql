-- Voice states (Discord "Resources > Voice"; spec/gateway.md "Voice states").
--
-- One row per (guild, user) connected to a voice or stage channel: which channel, which
-- gateway session holds it (`session_id`) and on which node that session lives (`node_id`,
-- so a node's start can end the states of its sessions that did not survive), the user's
-- own flags and the guild's (server mute and deafen, stage `suppress`, the stage request to
-- speak in ms since the Unix epoch). Joins check a channel's `user_limit` and insert in one
-- write transaction. `channel_id` has no foreign key: when a channel is deleted or a member
-- leaves, the service ends the states itself and announces each (VOICE_STATE_UPDATE).
CREATE TABLE voice_states (
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    self_mute BOOLEAN NOT NULL DEFAULT FALSE,
    self_deaf BOOLEAN NOT NULL DEFAULT FALSE,
    self_video BOOLEAN NOT NULL DEFAULT FALSE,
    mute BOOLEAN NOT NULL DEFAULT FALSE,
    deaf BOOLEAN NOT NULL DEFAULT FALSE,
    suppress BOOLEAN NOT NULL DEFAULT FALSE,
    request_to_speak BIGINT,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX voice_states_channel ON voice_states (channel_id);
CREATE INDEX voice_states_user ON voice_states (user_id, session_id);
CREATE INDEX voice_states_node ON voice_states (node_id);
