-- Cover images of guild scheduled events (issue 15; Discord "Guild Scheduled Event Object"
-- `image`): the hash of the stored picture, whose bytes are `guild-events/{id}/{hash}` in the
-- blob store; NULL for none.
ALTER TABLE scheduled_events ADD COLUMN image TEXT;
