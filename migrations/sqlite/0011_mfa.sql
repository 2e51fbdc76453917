-- Two-factor authentication (issue 17, first slice): TOTP (RFC 6238), backup codes, login
-- tickets, and the guild MFA level (Discord "Guild Resource > MFA Level").

-- TRUE while the user has TOTP enabled (kept in step with user_totp in one transaction).
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- 0: none; 1: elevated (moderation actions need an MFA-enabled account, error 60003).
ALTER TABLE guilds ADD COLUMN mfa_level BIGINT NOT NULL DEFAULT 0;

-- A user's TOTP secret, AES-256-GCM encrypted with a key derived from the server secret
-- ("v1." + base64(nonce || ciphertext), the user id as associated data). last_step is the
-- highest time step accepted: a code of that step or an earlier one is refused (no replay).
CREATE TABLE user_totp (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Single-use backup codes, argon2id PHC strings (salted).
CREATE TABLE mfa_backup_codes (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    consumed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX mfa_backup_codes_user ON mfa_backup_codes(user_id);

-- Login tickets handed out by POST /auth/login for MFA accounts (SHA-256 of the ticket),
-- single-use, expiring, deleted after too many wrong codes.
CREATE TABLE mfa_tickets (
    ticket_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX mfa_tickets_user ON mfa_tickets(user_id);
