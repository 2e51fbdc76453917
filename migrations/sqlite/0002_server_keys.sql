-- Federation server signing keys (issue 4, spec/federation.md "Server keys").
-- seed: unpadded standard base64 of the 32-byte ed25519 seed (secret).
-- A key with expired_at NULL and revoked_at NULL is current; expired_at set: an old key that
-- still verifies objects timestamped before it; revoked_at set: never accepted again.
CREATE TABLE server_keys (
    key_id TEXT PRIMARY KEY,
    seed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expired_at BIGINT,
    revoked_at BIGINT
);
