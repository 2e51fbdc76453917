-- Leases shared by the nodes of one deployment (README "Scale-out", ARCHITECTURE.md
-- "Nodes and leases"). One row per leased name: `worker:N` (snowflake worker id N, 0-1023),
-- `job:NAME` (a background job that runs on one node at a time) and `sequencer:GUILD` (the
-- node that appends to a hosted guild's federation log). `holder` is the node id holding
-- it, `token` the fencing token (raised each time the lease changes hands), `expires_at`
-- when it lapses unless renewed (ms since the Unix epoch, the holder's clock).
CREATE TABLE node_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX node_leases_holder ON node_leases (holder);

-- The gateway state saved by a graceful shutdown (migration 0019) is kept per node, so
-- nodes restarting one after the other each take back their own sessions. `node` is the
-- saving node's id; '' for a document saved before this migration (taken by any node).
CREATE TABLE gateway_states (
    node TEXT PRIMARY KEY,
    saved_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO gateway_states (node, saved_at, body) SELECT '', saved_at, body FROM gateway_state;
DROP TABLE gateway_state;
