-- Polls (issue 15; Discord "Resources > Poll").
--
-- `messages.poll`: the message's poll as sent (JSON of the poll object without results:
-- question, answers with their answer_id, expiry, allow_multiselect, layout_type); NULL for
-- messages without a poll.
-- `messages.poll_open_until`: while the poll is open, its end (ms since the Unix epoch);
-- NULL once it was finalized (ended and counted) and for messages without a poll. The
-- expiry job finds polls to finalize through the partial index.
ALTER TABLE messages ADD COLUMN poll TEXT;
ALTER TABLE messages ADD COLUMN poll_open_until BIGINT;
CREATE INDEX messages_open_polls ON messages (poll_open_until) WHERE poll_open_until IS NOT NULL;

-- One row per (poll message, answer, voter); a voter's votes change in one transaction.
CREATE TABLE poll_votes (
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    answer_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (message_id, answer_id, user_id)
);
CREATE INDEX poll_votes_by_voter ON poll_votes (message_id, user_id);
