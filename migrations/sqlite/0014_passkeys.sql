-- Passkeys (issue 17): WebAuthn credentials verified by webauthn-rs, their user handles and
-- the server-side state of pending ceremonies.

-- TRUE while the user has at least one passkey (kept in step with `passkeys` in the
-- transaction that adds or deletes one). A passkey is a second factor: the user object's
-- `mfa_enabled` is `mfa_enabled OR webauthn_enabled`.
ALTER TABLE users ADD COLUMN webauthn_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- The WebAuthn user handle of an account (a random UUID, base64url of its 16 bytes): what
-- authenticators store as `user.id`, so a discoverable credential names its account without
-- revealing the account's id.
CREATE TABLE webauthn_handles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle TEXT NOT NULL UNIQUE
);

-- One registered passkey. `passkey` is webauthn-rs's `Passkey` as JSON: credential id, the
-- COSE public key, sign counter, backup eligibility and state, registration policy. The
-- columns beside it are copies for listing. No private key is ever held by the server.
CREATE TABLE passkeys (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    cred_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    passkey TEXT NOT NULL,
    counter BIGINT NOT NULL DEFAULT 0,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backed_up BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A pending WebAuthn ceremony (SHA-256 of its ticket): `kind` is `register`, `mfa` (second
-- factor at login, keyed by the MFA ticket's hash), `reauth` or `login` (discoverable, no
-- user yet); `state` is webauthn-rs's ceremony state as JSON. Single-use (deleted when
-- taken), expiring.
CREATE TABLE webauthn_ceremonies (
    ticket_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_user ON webauthn_ceremonies(user_id);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies(expires_at);
