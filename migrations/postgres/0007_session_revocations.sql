-- Login-session revocations recorded by whichever process made them (the running server, or
-- `hearth admin reset-password` in another process), in the transaction that deleted the
-- sessions. The running server watches this table by increasing id and closes the gateway
-- connections of the revoked sessions with 4004. Rows are pruned after an hour.
CREATE TABLE session_revocations (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    session_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX session_revocations_created ON session_revocations(created_at);
