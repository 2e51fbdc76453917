-- Deleted content leaves the federation log in the deletion's append transaction
-- (spec/federation.md §6.4 `removed` stubs, storage `scrub_log!`):
-- a deleted channel's message events are found by channel,
CREATE INDEX guild_events_channel ON guild_events(guild_id, channel_id) WHERE object_id IS NOT NULL;
-- and replies that may still quote a deleted message (logged before quotes were left out)
-- by the message they reply to. Partial: only replies carry a reference.
CREATE INDEX messages_reference ON messages(reference_message_id) WHERE reference_message_id IS NOT NULL;
