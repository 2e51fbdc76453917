-- Account deletion across servers and message removal on request (issue 17; spec/account.md
-- §6, spec/federation.md §18).

-- Outbound federation notices (spec/federation.md §18): one row per (notice, destination),
-- written by the transaction of the change it announces (an account deletion), delivered by
-- a signed POST to `path` with `body` and deleted once the peer answered 2xx (or refused it
-- for good). `next_attempt_at` (ms) moves forward with exponential backoff on failures.
CREATE TABLE federation_notices (
    id BIGINT PRIMARY KEY,
    destination TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX federation_notices_next ON federation_notices(next_attempt_at);

-- Removal of every message of a (deleted) user, done in batches by a background job: one
-- row per user while messages remain; `deleted` counts the messages removed so far. The
-- row is written with the account's anonymisation (or a peer's deletion notice) and
-- removed when no message of the user is left, so the job resumes after a restart.
CREATE TABLE message_purges (
    user_id BIGINT PRIMARY KEY,
    requested_at BIGINT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- The job finds a user's messages oldest first.
CREATE INDEX messages_author ON messages(author_id, id);
