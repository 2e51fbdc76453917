-- Images (issue 13): user banners, guild banners and splashes (avatars and icons already have
-- their columns), and custom emoji. Image columns hold the hash Discord's clients put in CDN
-- paths (`a_` prefix when animated); the bytes live in the blob store under
-- `{avatars|banners|icons|splashes}/{owner id}/{hash}` (content-addressed per owner).
ALTER TABLE users ADD COLUMN banner TEXT;
ALTER TABLE guilds ADD COLUMN banner TEXT;
ALTER TABLE guilds ADD COLUMN splash TEXT;

-- Custom emoji of a guild (Discord "Resources > Emoji"). `user_id` is the creator (kept when
-- the account is gone: no foreign key), `blob_key` the image in the blob store. The per-guild
-- limits (static and animated counted apart) are checked in the inserting transaction.
CREATE TABLE emojis (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    animated BOOLEAN NOT NULL,
    blob_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX emojis_guild ON emojis(guild_id);

-- The roles allowed to use an emoji (none: everyone).
CREATE TABLE emoji_roles (
    emoji_id BIGINT NOT NULL REFERENCES emojis(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (emoji_id, role_id)
);
