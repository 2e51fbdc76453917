-- Operator controls (issue 19, README "Administration"), written by `hearth admin ...` in its
-- own process and read by the running server.
--
-- federation_blocks: servers the operator blocked (`hearth admin federation block`): no
-- federation request is sent to them or accepted from them, beside `federation.deny_domains`.
-- The running server re-reads the table every 500 ms.
CREATE TABLE federation_blocks (
    server TEXT PRIMARY KEY,
    reason TEXT,
    created_at BIGINT NOT NULL
);

-- registrar_link_state: the outcome of the registrar link's last registration attempt,
-- written by the running server (`hearth admin registrar status` reads it).
CREATE TABLE registrar_link_state (
    registrar TEXT PRIMARY KEY,
    registrations BIGINT NOT NULL DEFAULT 0,
    registered_key TEXT,
    last_attempt_at BIGINT NOT NULL,
    last_success_at BIGINT,
    last_error TEXT
);

-- operator_events: what an operator command published on its own event bus (a guild deleted,
-- an owner changed ...), as JSON, for the running server to publish on its bus so connected
-- clients see the change live. Read by increasing id; pruned after an hour.
CREATE TABLE operator_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
