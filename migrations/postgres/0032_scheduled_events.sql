-- Guild scheduled events (issue 15; Discord "Resources > Guild Scheduled Event").
--
-- Added after 0038 under its reserved number: sqlx applies every migration not yet applied
-- whatever its place, so databases already at 0038 take it at their next start.
--
-- One row per event. Times are ms since the Unix epoch. `status`: 1 SCHEDULED, 2 ACTIVE,
-- 3 COMPLETED, 4 CANCELED; `entity_type`: 1 STAGE_INSTANCE, 2 VOICE (with `channel_id`),
-- 3 EXTERNAL (with `location` and `end_at`). `creator_id` keeps the id of a deleted account.
-- `empty_since`: for an ACTIVE stage or voice event, since when the status job has seen its
-- channel without anyone in voice (it completes the event after a while). Deleting the
-- channel deletes its events (the service announces each deletion first).
CREATE TABLE scheduled_events (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT REFERENCES channels(id) ON DELETE CASCADE,
    creator_id BIGINT,
    name TEXT NOT NULL,
    description TEXT,
    start_at BIGINT NOT NULL,
    end_at BIGINT,
    privacy_level BIGINT NOT NULL,
    status BIGINT NOT NULL,
    entity_type BIGINT NOT NULL,
    location TEXT,
    empty_since BIGINT
);
CREATE INDEX scheduled_events_guild ON scheduled_events (guild_id, status);
CREATE INDEX scheduled_events_status ON scheduled_events (status, start_at);
CREATE INDEX scheduled_events_channel ON scheduled_events (channel_id);

-- Users interested in an event ("Guild Scheduled Event User"), listed by user id.
CREATE TABLE scheduled_event_users (
    event_id BIGINT NOT NULL REFERENCES scheduled_events(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, user_id)
);
