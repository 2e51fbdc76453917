-- Account security (issue 17, "Recovery and email" and "User data"): re-authentication
-- time of a session, email verification, single-use account tokens (password reset, email
-- verification), the user's security log, and deleted (anonymised) accounts.

-- When the session last proved its user's password or second factor (login, POST
-- /mfa/finish), ms since the epoch; sensitive actions need it within the last 5 minutes.
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT;

-- TRUE once the user followed the link of a verification mail to the current email.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- When the account was deleted (anonymised as "Deleted User"), ms; NULL for live accounts.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;

-- Single-use, expiring tokens sent by mail: SHA-256 of the token, never the token itself.
-- purpose: 'reset' (password reset) or 'verify' (email verification of `email`).
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    email TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens(user_id);

-- What happened to an account, for its owner (GET /users/@me/security-log): kind is
-- 'login', 'mfa_enabled', 'mfa_disabled', 'backup_codes', 'password_changed',
-- 'password_reset', 'email_changed', 'email_verified', 'sessions_revoked',
-- 'account_deleted'; detail is a small JSON object (or NULL).
CREATE TABLE security_log (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    detail TEXT
);
CREATE INDEX security_log_user ON security_log(user_id, id);
