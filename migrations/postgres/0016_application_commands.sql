-- Application commands (issue 14; Discord "Interactions > Application Commands"). `scope` is
-- 0 for a global command and the guild's id for a guild command (so that one unique index
-- covers both: NULLs would be distinct), `guild_id` the same guild with its foreign key, so a
-- guild's commands go with the guild's deletion, and an application's with the application.
-- `body` is the command object's JSON (name, description, options, localizations, flags)
-- as validated; id, application, guild and version are the columns.
CREATE TABLE application_commands (
    id BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    scope BIGINT NOT NULL,
    guild_id BIGINT REFERENCES guilds(id) ON DELETE CASCADE,
    kind BIGINT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX application_commands_name ON application_commands(application_id, scope, kind, name);
CREATE INDEX application_commands_guild ON application_commands(guild_id);

-- Command permissions in a guild (Discord "Application Command Permissions Object"):
-- `command_id` is a command of the application or the application's id (its defaults for
-- every command); `permissions` the JSON array of `{id, type, permission}`.
CREATE TABLE application_command_permissions (
    guild_id BIGINT NOT NULL REFERENCES guilds(id) ON DELETE CASCADE,
    command_id BIGINT NOT NULL,
    application_id BIGINT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    permissions TEXT NOT NULL,
    PRIMARY KEY (guild_id, command_id)
);
CREATE INDEX application_command_permissions_app ON application_command_permissions(application_id, guild_id);
