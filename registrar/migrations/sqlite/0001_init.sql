-- hearth-registrar schema (spec/registrar.md). Times are ms since the Unix epoch.

-- The registrar's own signing keys (the newest is used); seed is unpadded base64 (secret).
CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    seed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Registered servers. key_document: the server's self-signed key document as last verified.
-- status: active | stale (verification failing) | delisted (gone from the directory).
-- locked: delisted by the operator (admin CLI); re-registration is refused until relisted.
CREATE TABLE servers (
    server_name TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    software_name TEXT NOT NULL DEFAULT '',
    software_version TEXT NOT NULL DEFAULT '',
    registration_policy TEXT NOT NULL DEFAULT 'unknown',
    key_document TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    verified_at BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    delisted_reason TEXT
);

-- Append-only: one row per (key, state) ever observed; never updated or deleted.
CREATE TABLE key_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    state TEXT NOT NULL,
    state_ts BIGINT,
    observed_at BIGINT NOT NULL,
    UNIQUE (server_name, key_id, public_key, state)
);

-- Challenge tokens issued and not yet used.
CREATE TABLE challenges (
    token TEXT PRIMARY KEY,
    server_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX challenges_server ON challenges (server_name);

-- Signed public guild summaries. search_text: lower-cased name, description and tags (the
-- portable LIKE search); tags: ' tag1 tag2 ' (spaces around every tag).
CREATE TABLE guilds (
    server_name TEXT NOT NULL REFERENCES servers (server_name) ON DELETE CASCADE,
    guild_id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_lc TEXT NOT NULL,
    member_count BIGINT NOT NULL,
    online_count BIGINT NOT NULL,
    tags TEXT NOT NULL,
    language TEXT NOT NULL,
    last_activity_ts BIGINT NOT NULL,
    search_text TEXT NOT NULL,
    summary TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (server_name, guild_id)
);
CREATE INDEX guilds_members ON guilds (member_count);
CREATE INDEX guilds_activity ON guilds (last_activity_ts);

-- Opted-in user handles (exact lookup only).
CREATE TABLE handles (
    handle TEXT PRIMARY KEY,
    server_name TEXT NOT NULL REFERENCES servers (server_name) ON DELETE CASCADE,
    card TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX handles_server ON handles (server_name);

-- Operator deny list: `example.org` or `*.example.org`.
CREATE TABLE denied_domains (
    pattern TEXT PRIMARY KEY,
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
