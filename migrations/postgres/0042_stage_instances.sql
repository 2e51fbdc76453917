-- Stage instances (issue 15; Discord "Resources > Stage Instance").
--
-- One row per live stage: at most one per stage channel (`channel_id` UNIQUE). `topic` is
-- 1-120 characters; `privacy_level` is 2 (GUILD_ONLY). `scheduled_event_id`: the scheduled
-- event the stage was started for (`guild_scheduled_event_id`), whose status the service
-- moves (ACTIVE when the stage starts, COMPLETED when it ends). Deleting the channel or the
-- guild deletes the instance (the service announces a channel's instance first); deleting
-- the event forgets the link.
CREATE TABLE stage_instances (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL UNIQUE REFERENCES channels(id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    privacy_level BIGINT NOT NULL,
    scheduled_event_id BIGINT REFERENCES scheduled_events(id) ON DELETE SET NULL
);
CREATE INDEX stage_instances_guild ON stage_instances (guild_id);
CREATE INDEX stage_instances_event ON stage_instances (scheduled_event_id);

-- A STAGE_INSTANCE scheduled event's `entity_id`: the stage instance started for it (no
-- foreign key: the id stays on the event once the stage ended, as a record).
ALTER TABLE scheduled_events ADD COLUMN entity_id BIGINT;
