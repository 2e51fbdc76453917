-- The gateway's resumable sessions and shared replay log, saved as one JSON document by a
-- graceful shutdown and taken (deleted) by the next start, so that clients told to
-- RECONNECT can RESUME after a restart (src/gateway/restart.rs). At most one row.
CREATE TABLE gateway_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
