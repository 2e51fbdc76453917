-- Member timeouts (Discord "Modify Guild Member" `communication_disabled_until`): the end of
-- the member's timeout in ms since the epoch, NULL when not timed out. While it is in the
-- future the member keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY (src/permissions.rs).
ALTER TABLE members ADD COLUMN communication_disabled_until INTEGER;
