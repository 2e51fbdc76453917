-- Auto Moderation rules (issue 15; Discord "Resources > Auto Moderation"). One row per rule
-- of a guild hosted here; a rule goes with its guild. `trigger_metadata` and `actions` are
-- the JSON objects of the rule as Discord shows them (checked by the service before they are
-- stored), `exempt_roles` and `exempt_channels` JSON arrays of snowflake strings. Channels
-- and roles named in them are not foreign keys: a deleted one simply matches nothing.
CREATE TABLE automod_rules (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    creator_id BIGINT NOT NULL,
    event_type BIGINT NOT NULL,
    trigger_type BIGINT NOT NULL,
    trigger_metadata TEXT NOT NULL,
    actions TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    exempt_roles TEXT NOT NULL,
    exempt_channels TEXT NOT NULL
);
CREATE INDEX automod_rules_guild ON automod_rules(guild_id, id);
