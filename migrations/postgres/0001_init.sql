-- Hearth core schema (issue: homeserver core). Ids are snowflakes (BIGINT), times are
-- milliseconds since the Unix epoch (BIGINT), permissions are BIGINT bit sets.

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    global_name TEXT,
    email TEXT,
    password_hash TEXT,
    avatar TEXT,
    bio TEXT NOT NULL DEFAULT '',
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    suspended BOOLEAN NOT NULL DEFAULT FALSE,
    -- 0: anyone may open a DM; 1: only users who share a guild
    dm_policy BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    refreshed_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Refresh tokens already rotated away; presenting one again revokes its session.
CREATE TABLE spent_refresh_tokens (
    refresh_hash TEXT PRIMARY KEY,
    session_id BIGINT NOT NULL,
    spent_at BIGINT NOT NULL
);

CREATE TABLE applications (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bot_user_id BIGINT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    bot_token_hash TEXT NOT NULL UNIQUE,
    bot_public BOOLEAN NOT NULL DEFAULT TRUE,
    flags BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE guilds (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    icon TEXT,
    description TEXT,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    system_channel_id BIGINT,
    verification_level BIGINT NOT NULL DEFAULT 0,
    default_message_notifications BIGINT NOT NULL DEFAULT 0,
    explicit_content_filter BIGINT NOT NULL DEFAULT 0,
    preferred_locale TEXT NOT NULL DEFAULT 'en-US',
    created_at BIGINT NOT NULL
);

CREATE TABLE roles (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color BIGINT NOT NULL DEFAULT 0,
    hoist BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL DEFAULT 0,
    permissions BIGINT NOT NULL DEFAULT 0,
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    mentionable BOOLEAN NOT NULL DEFAULT FALSE,
    bot_id BIGINT
);
CREATE INDEX roles_guild ON roles(guild_id);

CREATE TABLE channels (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT REFERENCES guilds(id) ON DELETE CASCADE,
    type BIGINT NOT NULL,
    name TEXT,
    topic TEXT,
    position BIGINT NOT NULL DEFAULT 0,
    parent_id BIGINT,
    nsfw BOOLEAN NOT NULL DEFAULT FALSE,
    rate_limit_per_user BIGINT NOT NULL DEFAULT 0,
    bitrate BIGINT,
    user_limit BIGINT,
    last_message_id BIGINT,
    last_pin_timestamp BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX channels_guild ON channels(guild_id);

CREATE TABLE overwrites (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    allow_bits BIGINT NOT NULL DEFAULT 0,
    deny_bits BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, target_id)
);

CREATE TABLE members (
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    nick TEXT,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE member_roles (
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (guild_id, user_id, role_id),
    FOREIGN KEY (guild_id, user_id) REFERENCES members(guild_id, user_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role ON member_roles(role_id);

CREATE TABLE dm_channels (
    channel_id BIGINT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    user_low BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_high BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    UNIQUE (user_low, user_high)
);

CREATE TABLE messages (
    id BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    guild_id BIGINT,
    author_id BIGINT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    embeds TEXT NOT NULL DEFAULT '[]',
    kind BIGINT NOT NULL DEFAULT 0,
    flags BIGINT NOT NULL DEFAULT 0,
    tts BOOLEAN NOT NULL DEFAULT FALSE,
    mention_everyone BOOLEAN NOT NULL DEFAULT FALSE,
    mentions TEXT NOT NULL DEFAULT '[]',
    mention_roles TEXT NOT NULL DEFAULT '[]',
    reference_message_id BIGINT,
    reference_channel_id BIGINT,
    reference_guild_id BIGINT,
    nonce TEXT,
    edited_at BIGINT,
    pinned_at BIGINT
);
CREATE INDEX messages_channel ON messages(channel_id, id);
CREATE INDEX messages_nonce ON messages(author_id, nonce);
CREATE INDEX messages_pins ON messages(channel_id, pinned_at);

CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    inviter_id BIGINT NOT NULL,
    max_age BIGINT NOT NULL,
    max_uses BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    temporary BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX invites_guild ON invites(guild_id);

CREATE TABLE bans (
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    reason TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    target_id BIGINT,
    action_type BIGINT NOT NULL,
    changes TEXT NOT NULL DEFAULT '[]',
    options TEXT,
    reason TEXT
);
CREATE INDEX audit_log_guild ON audit_log(guild_id, id);

CREATE TABLE relationships (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, target_id)
);
