-- End-to-end-encrypted DMs with MLS (spec/mls.md). The server stores public MLS objects
-- (KeyPackages, the hub's public group state) and ciphertext only; binary values are
-- unpadded base64 text.

-- A user's devices and the device credentials this server signed for them.
CREATE TABLE mls_devices (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    signature_key TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mls_devices_user ON mls_devices(user_id);

-- Uploaded KeyPackages; a claimed one is never handed out again (the row is kept with the
-- claimer, to route the Welcome and for audit). One last-resort package per device.
CREATE TABLE mls_key_packages (
    id BIGINT PRIMARY KEY,
    device_id BIGINT NOT NULL,
    kp_ref TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL,
    last_resort BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_at BIGINT
);
CREATE INDEX mls_key_packages_device ON mls_key_packages(device_id, last_resort, claimed_at);

-- Hub side: groups whose hub is this server, with their public state.
CREATE TABLE mls_groups (
    group_id TEXT PRIMARY KEY,
    epoch BIGINT NOT NULL,
    next_seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Hub side: every accepted message of a group, in order.
CREATE TABLE mls_group_log (
    group_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    kind TEXT NOT NULL,
    sender TEXT NOT NULL,
    message TEXT NOT NULL,
    welcome TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, seq)
);

-- Per-device inboxes, read by cursor (`id` grows in insertion order).
CREATE TABLE mls_inbox (
    id BIGINT PRIMARY KEY,
    device_id BIGINT NOT NULL,
    group_id TEXT NOT NULL,
    hub TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    sender TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (device_id, group_id, seq, kind)
);

-- Hub side: deliveries to member servers, retried with backoff until acknowledged.
CREATE TABLE mls_outbox (
    id BIGINT PRIMARY KEY,
    destination TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mls_outbox_next ON mls_outbox(next_attempt_at);
