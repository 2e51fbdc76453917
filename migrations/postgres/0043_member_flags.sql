-- Guild member flags (Discord "Guild Member Object > Guild Member Flags"): Hearth sets
-- AUTOMOD_QUARANTINED_USERNAME (1 << 7) while a MEMBER_PROFILE Auto Moderation rule with a
-- BLOCK_MEMBER_INTERACTION action matches the member's username, display name or
-- nickname (issue 15; src/service/automod_profile.rs). Other bits are kept as 0.
ALTER TABLE members ADD COLUMN flags BIGINT NOT NULL DEFAULT 0;
