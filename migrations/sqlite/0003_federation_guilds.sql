-- Federation of guilds (spec/federation.md §§6-9).
-- A guild hosted elsewhere is kept here as a replica in the ordinary tables, with local ids;
-- `host_server` says where it lives. Remote users are ordinary rows with `home_server`.
ALTER TABLE guilds ADD COLUMN host_server TEXT;
ALTER TABLE users ADD COLUMN home_server TEXT;

-- Host side: the signed, gapless event log of each guild hosted here.
CREATE TABLE guild_events (
    guild_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    event TEXT NOT NULL,
    hash TEXT NOT NULL,
    channel_id BIGINT,
    -- The message an event carries (so its content can be dropped when it is deleted).
    object_id BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, seq)
);
CREATE INDEX guild_events_object ON guild_events(guild_id, object_id);

-- Host side: member servers of each hosted guild and their delivery cursor.
CREATE TABLE guild_peers (
    guild_id BIGINT NOT NULL,
    server TEXT NOT NULL,
    acked_seq BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    dead BOOLEAN NOT NULL DEFAULT FALSE,
    -- Set when the server's last member left: deliver up to here, then drop the peer.
    final_seq BIGINT,
    -- The log position the server joined at: it may not pull events before it.
    since_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, server)
);
CREATE INDEX guild_peers_server ON guild_peers(server);

-- Host side: origin transactions already applied (an action is accepted once).
CREATE TABLE federation_txns (
    origin TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (origin, txn_id)
);

-- Member side: replicas of guilds hosted elsewhere.
CREATE TABLE remote_guilds (
    guild_id BIGINT PRIMARY KEY,
    host TEXT NOT NULL,
    host_guild_id BIGINT NOT NULL,
    applied_seq BIGINT NOT NULL,
    last_hash TEXT,
    UNIQUE (host, host_guild_id)
);

-- Member side: hashes of applied events (equivocation detection).
CREATE TABLE replica_events (
    guild_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    event TEXT NOT NULL,
    object_id BIGINT,
    PRIMARY KEY (guild_id, seq)
);
CREATE INDEX replica_events_object ON replica_events(guild_id, object_id);

-- Member side: proofs that a host signed two different events at one position.
CREATE TABLE equivocations (
    id BIGINT PRIMARY KEY,
    host TEXT NOT NULL,
    host_guild_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    proof TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Ids of another server's id space mapped to local snowflakes.
CREATE TABLE id_map (
    server TEXT NOT NULL,
    remote_id BIGINT NOT NULL,
    local_id BIGINT NOT NULL,
    PRIMARY KEY (server, remote_id)
);
CREATE INDEX id_map_local ON id_map(server, local_id);
CREATE INDEX id_map_local_only ON id_map(local_id);
