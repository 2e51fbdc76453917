-- Dead peers and delivery per (peer, guild) (spec/federation.md §9.3, §9.4).
-- One row per member server whose deliveries went unanswered: when the current run of
-- unanswered deliveries started (`failing_since`, ms; NULL once it answers again), when the
-- server was marked dead (`dead_at`, ms; NULL: alive; no pushes while set), and the probes
-- sent to it while dead (running total, last one's time in ms).
CREATE TABLE federation_peer_states (
    server TEXT PRIMARY KEY,
    failing_since BIGINT,
    dead_at BIGINT,
    probes BIGINT NOT NULL DEFAULT 0,
    last_probe_at BIGINT
);
-- Servers marked dead before (the mark was per guild and informational) stay dead from now:
-- they are probed, and revived when they answer.
INSERT INTO federation_peer_states (server, failing_since, dead_at)
    SELECT DISTINCT server, CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT),
           CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
    FROM guild_peers WHERE dead;
-- The dead mark is the server's now (above); backoff stays per (guild, server).
ALTER TABLE guild_peers DROP COLUMN dead;
-- Push requests attempted per (guild, server), answered or not (running total).
ALTER TABLE guild_peers ADD COLUMN push_attempts BIGINT NOT NULL DEFAULT 0;
