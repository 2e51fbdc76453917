-- A safe first start (issue 19; README "First start"): no account becomes an instance
-- administrator by registering. While no administrator exists, `hearth serve` makes a
-- one-time setup token and prints it in its log; only its SHA-256 (hex) is kept here, with
-- its expiry (ms). Using it (registration with `setup_token`, or `POST /admin/setup` by a
-- logged-in user) makes that account an administrator and deletes every row, in one
-- transaction. At most one row: a new start replaces it.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
