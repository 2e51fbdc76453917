-- Outgoing interactions (Discord "Interactions > Receiving and Responding > Receiving an
-- Interaction", "Overview of Interactions > Setting Up an Endpoint"). One row per
-- application that has shown its `verify_key` or set an endpoint: `signing_key` is the
-- ed25519 seed (32 bytes) that signs what Hearth posts to the application, sealed with
-- AES-256-GCM under a key derived from the server secret (`v1.` + base64 of nonce and
-- ciphertext); `endpoint_url` the application's `interactions_endpoint_url` (NULL: the
-- application receives interactions over the gateway).
CREATE TABLE application_endpoints (
    application_id BIGINT PRIMARY KEY REFERENCES applications(id) ON DELETE CASCADE,
    signing_key TEXT NOT NULL,
    endpoint_url TEXT
);
