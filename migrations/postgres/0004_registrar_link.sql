-- Registrar integration (issue 5, spec/registrar.md).
-- guilds.discoverable: the owner lists the guild in the registrar's public directory.
-- guilds.discovery_tags: space-separated directory tags.
-- users.discoverable: the user opts in to handle lookup at the registrar.
-- registrar_challenges: challenge tokens of this server's own pending registrations; the
-- challenge document is only served for a token listed here (never for bytes a registrar chose).
ALTER TABLE guilds ADD COLUMN discoverable BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE guilds ADD COLUMN discovery_tags TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN discoverable BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE registrar_challenges (
    token TEXT PRIMARY KEY,
    registrar TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
