-- Forum and media channels (Discord "Resources > Channel": Channel Object, Forum Tag
-- Object, Default Reaction Object, Channel Flags; "Topics > Threads > Forums").
-- `channels.flags`: Discord's channel flags (PINNED 1<<1 on a forum's posts, REQUIRE_TAG
-- 1<<4 on forum and media channels, HIDE_MEDIA_DOWNLOAD_OPTIONS 1<<15 on media channels).
-- `channels.forum`: the settings of a forum or media channel (type 15, 16) as JSON
-- `{available_tags, default_reaction_emoji, default_sort_order, default_forum_layout,
-- default_thread_rate_limit_per_user}`; NULL for other channels.
-- `threads.applied_tags`: the ids of the forum tags of a post, a JSON array of snowflake
-- strings (at most 5); `[]` for threads of other channels.
ALTER TABLE channels ADD COLUMN flags BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN forum TEXT;
ALTER TABLE threads ADD COLUMN applied_tags TEXT NOT NULL DEFAULT '[]';
